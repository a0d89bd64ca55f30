//! Test support for the CWMP agent (not published).
//!
//! * [`sim`]: a simulated clock and a SOAP-level scripted ACS that drive the sans-IO engine
//!   through days of simulated time in milliseconds.
//! * [`acs`]: a scripted fake ACS speaking exact CWMP over real loopback HTTP and HTTPS.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod acs;
pub mod sim;

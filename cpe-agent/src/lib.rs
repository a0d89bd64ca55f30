//! The simulated Unify Desk Phone CP: the pieces of the `cpe-agent` daemon that are worth
//! testing and fuzzing on their own (parsers of untrusted input first).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dhcp;
pub mod firmware;
pub mod items;
pub mod vendor_config;

//! The blocking CWMP (TR-069) client: the HTTP(S) transport of a session to the ACS and the
//! driver loop around the sans-IO session engine (`cwmp-engine`).
//!
//! * [`Client`]: owns the engine, the clocks and the RNG; runs the engine against the
//!   network, the store and the embedder's [`Device`] until shutdown, reboot or factory
//!   reset. Other threads feed it through a [`ClientHandle`].
//! * [`HttpSession`]: one CWMP session's HTTP side (digest §1.4): one keep-alive connection,
//!   cookies, Basic/Digest authentication, Inform redirects, timeouts, bounded bodies.
//! * [`TlsSettings`], [`ClientIdentity`]: trust anchors and client certificate (digest §10).
//!
//! ```no_run
//! use cwmp_client::{Client, ClientConfig, Device, Exit, ClientHandle};
//! use cwmp_engine::{BootReason, DownloadRequest, PersistentState};
//! # fn store() -> cwmp_model::MemoryStore { unimplemented!() }
//!
//! struct Phone;
//! impl<S: cwmp_model::ParameterStore> Device<S> for Phone {
//!     fn persist(&mut self, _state: &PersistentState) -> std::io::Result<()> {
//!         Ok(()) // write it atomically to flash
//!     }
//!     fn download(&mut self, _req: DownloadRequest, _handle: &ClientHandle) {
//!         // fetch on another thread, then handle.transfer_complete(…)
//!     }
//! }
//!
//! let mut store = store();
//! let mut client = Client::new(
//!     ClientConfig::default(),
//!     PersistentState::new(),
//!     BootReason::PowerOn,
//!     cwmp_client::os_seed(),
//! )?;
//! let handle = client.handle(); // give clones to the connection-request listener, STUN …
//! match client.run(&mut store, &mut Phone)? {
//!     Exit::Reboot { .. } | Exit::FactoryReset => { /* reboot the device */ }
//!     _ => {}
//! }
//! # Ok::<(), cwmp_client::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod cookies;
mod driver;
mod error;
mod tls;
mod transport;

pub use auth::Credentials;
pub use driver::{
    os_seed, system_wall_clock, Client, ClientConfig, ClientHandle, Device, Exit, StoreJob,
    TlsSources, WallClock,
};
pub use error::Error;
pub use tls::{parse_certificates, parse_private_key, ClientIdentity, TlsSettings};
#[cfg(test)]
mod proptests;

pub use transport::{HttpResponse, HttpSession, SessionAbort, TransportConfig, CONTENT_TYPE_XML};

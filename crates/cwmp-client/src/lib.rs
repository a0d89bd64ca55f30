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
//! let handle = client.handle(); // give clones to an admin interface, download threads …
//! match client.run(&mut store, &mut Phone)? {
//!     Exit::Reboot { .. } | Exit::FactoryReset => { /* reboot the device */ }
//!     _ => {}
//! }
//! # Ok::<(), cwmp_client::Error>(())
//! ```
//!
//! # Connection requests (digest §7, §8)
//!
//! Turn them on in [`ClientConfig::connection_requests`]; [`Client::run`] then owns the
//! sockets for as long as it runs and keeps them in step with the store:
//!
//! * `http_bind`: the HTTP listener (Digest-authenticated with ConnectionRequestUsername /
//!   Password, 200 then a `6 CONNECTION REQUEST` session, 503 when rate-limited, bounded
//!   connections, head size and time). `HTTPConnectionRequestEnable` opens/closes it;
//!   `ConnectionRequestURL` is written as `http://<local IP towards the ACS>:<port>/cr-<hex>`
//!   (the path is kept from the stored URL across restarts), empty while closed.
//! * `udp_bind`: the UDP socket for STUN (`STUNEnable` and the other `STUN*` parameters,
//!   run by the engine) and signed UDP connection requests; the engine writes
//!   `UDPConnectionRequestAddress` and `NATDetected`.
//!
//! ```no_run
//! use cwmp_client::{Client, ClientConfig, ConnectionRequestConfig};
//! # use cwmp_engine::{BootReason, PersistentState};
//! let config = ClientConfig {
//!     connection_requests: ConnectionRequestConfig {
//!         http_bind: Some("0.0.0.0:7547".parse().unwrap()),
//!         udp_bind: Some("0.0.0.0:7547".parse().unwrap()),
//!         ..ConnectionRequestConfig::default() // 16 connections, 5 s per head
//!     },
//!     ..ClientConfig::default()
//! };
//! let client = Client::new(config, PersistentState::new(), BootReason::PowerOn, 7)?;
//! // client.run(&mut store, &mut device) as above.
//! # Ok::<(), cwmp_client::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod connreq;
mod cookies;
pub mod download;
mod driver;
mod error;
mod listener;
mod tls;
mod transport;
mod udp;

pub use auth::Credentials;
pub use connreq::BIND_RETRY;
pub use driver::{
    os_seed, system_wall_clock, Client, ClientConfig, ClientHandle, Device, Exit, StoreJob,
    TlsSources, WallClock,
};
pub use error::Error;
pub use listener::{ConnectionRequestConfig, MAX_REQUESTS_PER_CONNECTION};
pub use tls::{parse_certificates, parse_private_key, ClientIdentity, TlsSettings};
pub use udp::MAX_DATAGRAMS_PER_SECOND;
#[cfg(test)]
mod proptests;

pub use transport::{HttpResponse, HttpSession, SessionAbort, TransportConfig, CONTENT_TYPE_XML};

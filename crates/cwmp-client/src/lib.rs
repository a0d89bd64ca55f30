//! The blocking CWMP (TR-069) client: the HTTP(S) transport of a session to the ACS and the
//! driver loop around the sans-IO session engine (`cwmp-engine`).
//!
//! * [`Client`]: owns the engine, the clocks and the RNG; runs the engine against the
//!   network, the store and the embedder's [`Device`] until shutdown, reboot or factory
//!   reset. Other threads feed it through a [`ClientHandle`].
//! * [`HttpSession`]: one CWMP session's HTTP side (TR-069 §3.4): one keep-alive connection,
//!   Basic/Digest authentication, the engine's cookies and timeouts, bounded bodies (the
//!   engine decides redirects, cookies and the timeout; the session performs them).
//! * [`TlsSettings`], [`ClientIdentity`]: trust anchors and client certificate (TR-069 §3.3).
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
//! # What the data model must define
//!
//! The Inform reads [`cwmp_engine::REQUIRED_PARAMETERS`] (below the root, `Device.`):
//! `DeviceInfo.Manufacturer`, `ManufacturerOUI`, `ProductClass`, `SerialNumber` (the
//! `DeviceId`) and `ManagementServer.URL`; [`Client::run`] refuses a store without them
//! ([`Error::Engine`]). The rest of the Inform's `ParameterList` is the table's
//! forced-inform parameters (TR-069 asks for `HardwareVersion`, `SoftwareVersion`,
//! `ProvisioningCode`, `ParameterKey`, `ConnectionRequestURL`; mark them `forced_inform`).
//! The periodic, retry and connection-request parameters of `ManagementServer.` are read when
//! present and take their TR-069 defaults otherwise.
//!
//! # Examples
//!
//! In the repository's `examples/` (each run against the fake ACS by a test):
//! `minimal_agent.rs` (this client with an in-memory table) and `own_event_loop.rs` (the
//! sans-IO engine driven by the embedder's own loop). `cpe-agent` is the complete device.
//!
//! # After a Download that needs a reboot (firmware)
//!
//! The result of a firmware install is reported after the reboot, in the boot session, with
//! `1 BOOT`, `7 TRANSFER COMPLETE` and `M Download` together (TR-069 Annex A.3.2.8):
//!
//! 1. [`Device::download`] hands you the request; fetch and verify the image on your own
//!    thread, and keep a journal of your own (accepted → downloading → installing → done).
//! 2. Install it, mark it done in the journal, then call [`ClientHandle::shutdown`]: `run`
//!    returns, and you reboot (in process or for real). Do not call
//!    [`ClientHandle::transfer_complete`] for it: the engine still holds the transfer as in
//!    progress in the [`cwmp_engine::PersistentState`] it persisted.
//! 3. At the next boot, before [`Client::new`], move the journal's result into the loaded
//!    state with [`cwmp_engine::PersistentState::complete_transfer`] and persist it; then
//!    build the client from it. The boot Inform carries the result and the TransferComplete
//!    follows in that session. A crash anywhere in between repeats step 3 harmlessly: the
//!    state holds either the transfer or its result, never both.
//!
//! ```no_run
//! # fn load_state() -> cwmp_engine::PersistentState { unimplemented!() }
//! # fn save_state(_: &cwmp_engine::PersistentState) {}
//! # struct Journal { key: String, ok: bool, start: cwmp_model::DateTime, end: cwmp_model::DateTime }
//! # fn finished_install() -> Option<Journal> { None }
//! use cwmp_model::{Fault, FaultCode};
//! let mut state = load_state();
//! if let Some(j) = finished_install() {
//!     let fault = (!j.ok).then(|| Fault::with_message(FaultCode::FileTransferFailure, "image refused"));
//!     if state.complete_transfer(&j.key, fault.as_ref(), j.start, j.end) {
//!         save_state(&state); // before the client runs: the boot Inform carries it
//!     }
//! }
//! // … Client::new(config, state, BootReason::PowerOn, seed)
//! ```
//!
//! `cpe-agent`'s `transfer.rs` is the complete implementation of this flow.
//!
//! # Connection requests (TR-069 §3.2.2, Annex G)
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
pub mod download;
mod driver;
mod error;
pub mod http1;
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
pub use error::{Detail, Error};
pub use listener::{ConnectionRequestConfig, MAX_REQUESTS_PER_CONNECTION};
pub use tls::{parse_certificates, parse_private_key, server_name, ClientIdentity, TlsSettings};
pub use udp::MAX_DATAGRAMS_PER_SECOND;
#[cfg(test)]
mod proptests;

pub use transport::{
    resolve, HttpResponse, HttpSession, PostRequest, SessionAbort, TransportConfig,
    CONTENT_TYPE_XML,
};

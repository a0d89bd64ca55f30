//! The sans-IO CWMP (TR-069) CPE session engine (design invariant 1).
//!
//! [`Agent`] is a pure state machine: [`Input`]s in ([`Agent::handle_input`], with the current
//! time and the [`ParameterStore`](cwmp_model::ParameterStore)), [`Output`]s out
//! ([`Agent::poll_output`]: send this POST, persist this state, reboot now, download this),
//! one deadline to wait for ([`Agent::poll_timeout`]). It owns no socket, thread, clock, file
//! or OS randomness, so a week of periodic informs runs in milliseconds in tests, and one
//! process can drive thousands of simulated phones. The blocking driver (`cwmp-client`) does
//! HTTP, TLS, authentication, cookies and redirects.
//!
//! What it implements, by TR-069 (Amendment 6) section:
//! * §3.7.1 the session: Inform, CPE requests (TransferComplete), empty POST, ACS requests,
//!   termination (§3.7.1.4), HoldRequests, method retry on 8005, namespace negotiation (§3.5);
//! * Annex A.3.3.1 the Inform: DeviceId, events with CommandKeys and their rules
//!   (single/multiple, retry and persistence, BOOTSTRAP), forced-inform and notified parameters;
//! * §3.2.1.1 retry waits and RetryCount; §3.2.1 the active-notification throttle and periodic
//!   informs anchored to `PeriodicInformTime`;
//! * Annex A every CPE RPC in [`RPC_METHODS`]; 9000 for the others.
//!
//! All deadlines live in one timer table ([`Timer`], design invariant 3); what must survive a
//! restart goes out as [`Output::Persist`] (design invariant 7).
//!
//! # Embedding (what a driver does)
//!
//! * Build the agent with [`Agent::new`] from the last persisted state
//!   ([`PersistentState::new`] on a factory-new device), a [`BootReason`], a random seed and
//!   [`Now`]. Then follow the drain rule documented on [`Agent`]: after every call, drain
//!   [`Agent::poll_output`], then sleep until [`Agent::poll_timeout`] or the next event.
//! * [`Output::SessionStarted`]: a fresh cookie jar and connection. [`Output::SendPost`]: POST
//!   the body (`Content-Type: text/xml; charset="utf-8"` when there is one, the
//!   [`SoapAction`] header as given), handle 401 challenges (Basic or Digest), cookies and
//!   redirects of the Inform, and feed exactly one [`Input::HttpResponse`] (the final status
//!   and body) or [`Input::HttpFailed`]. [`Output::SessionEnded`]: drop cookies, close.
//! * [`Output::Persist`]: write the state atomically before acting on later outputs.
//! * [`Output::Reboot`] / [`Output::FactoryReset`]: do it, then start a new agent from the
//!   persisted state with [`BootReason::PowerOn`].
//! * [`Output::Download`]: fetch and apply the file, then feed [`Input::TransferComplete`].
//! * Connection requests: authenticate them (Digest), answer 200 (or 503 when rate-limited),
//!   then feed [`Input::ConnectionRequest`]. The store's change listener feeds
//!   [`Input::ValueChanged`].
//! * [`Output::Trace`] (only with [`AgentConfig::trace`]): per-session JSON records.
//! * Annex G (TR-069 Annex G), optional: bind a UDP socket and feed [`Input::UdpBound`]; feed
//!   every datagram as [`Input::Datagram`]; send [`Output::SendDatagram`] from that socket;
//!   resolve [`Output::ResolveStunServer`] and feed [`Input::StunServerResolved`]. The engine
//!   runs the STUN binding from the `ManagementServer.STUN*` parameters, writes
//!   `UDPConnectionRequestAddress` / `NATDetected`, and turns authentic UDP connection
//!   requests into `6 CONNECTION REQUEST`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod agent;
mod clock;
mod config;
mod connreq;
mod cookies;
mod error;
mod event;
mod inform;
mod io;
mod periodic;
mod retry;
mod rpc;
mod state;
mod stun;
mod timer;
mod trace;

pub use agent::{
    Agent, MAX_INFORM_EVENTS, MAX_REDIRECTS, MAX_RESTORED_ENTRIES, REQUIRED_PARAMETERS,
    SUPPORTED_CWMP_VERSIONS,
};
pub use clock::{Now, CLOCK_STEP_TOLERANCE};
pub use config::{AgentConfig, MIN_RESPONSE_TIMEOUT};
pub use connreq::LISTEN_RETRY;

/// Entry points for the fuzz targets (`fuzz/`): parsers of network input that are otherwise
/// private to the engine.
#[doc(hidden)]
pub mod fuzzing {
    /// Every `Set-Cookie` value (one per line of `data`) into one session's jar: never a
    /// panic, the jar stays within its bounds, and the `Cookie` header it sends is one line.
    pub fn cookie_jar(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let mut jar = crate::cookies::CookieJar::default();
        for line in text.lines() {
            let _ = jar.store(line);
        }
        for https in [false, true] {
            if let Some(h) = jar.header(https) {
                assert!(!h.contains(['\r', '\n']) && h.len() <= 64 * 1024);
            }
        }
    }
}
pub use error::Error;
pub use event::{EventCode, QueuedEvent};
pub use io::{BootReason, DownloadRequest, HttpCredentials, Input, Output, SoapAction};
pub use periodic::next_on_grid;
pub use retry::{
    retry_wait_range, DEFAULT_RETRY_MINIMUM_WAIT, DEFAULT_RETRY_MULTIPLIER, MAX_RETRY_WAIT,
};
pub use rpc::RPC_METHODS;
pub use state::{
    PersistentState, QueuedTransfer, ScheduledInform, TransferKind, TransferResult, TransferState,
    STATE_VERSION,
};
pub use stun::{DEFAULT_STUN_PORT, RESOLVE_RETRY};
pub use timer::Timer;
pub use trace::TraceEvent;

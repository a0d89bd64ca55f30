//! The engine's one input enum and one output enum (design invariant 2).

use crate::state::{PersistentState, TransferKind};
use crate::trace::TraceEvent;
use cwmp_model::{DateTime, Fault, Secret};
use std::net::SocketAddr;

/// Something that happened, handed to [`crate::Agent::handle_input`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// The deadline from [`crate::Agent::poll_timeout`] was reached (or the embedder woke up
    /// for any reason: an early or spurious timeout does nothing).
    Timeout,
    /// The final HTTP response to the last [`Output::SendPost`]: after the driver has dealt
    /// with authentication (401 challenges), redirects of the Inform and TLS. `body` is the
    /// decoded (de-chunked, decompressed) body.
    ///
    /// Redirects (301, 302, 307) are not followed by the driver: it hands them in with their
    /// `Location`, and the engine decides (TR-069 §3.4: only the Inform, at most 5). Every
    /// `Set-Cookie` header goes in `set_cookie`: the engine keeps the session's cookies.
    HttpResponse {
        /// The HTTP status code.
        status: u16,
        /// The response body (empty for 204).
        body: Vec<u8>,
        /// The values of every `Set-Cookie` header, in order.
        set_cookie: Vec<String>,
        /// The `Location` header, if any.
        location: Option<String>,
    },
    /// The last [`Output::SendPost`] got no usable response: connect, DNS or TLS failure, the
    /// connection closed, no response within the POST's `timeout`, a 401 after credentials
    /// were sent (TR-069 §3.4, §3.2.1.1). The session fails.
    HttpFailed {
        /// Why, for traces (must not contain secrets).
        reason: String,
    },
    /// An authenticated Connection Request arrived (TR-069 §3.2.2; the driver checked the Digest
    /// credentials and answered 200 already). Raises `6 CONNECTION REQUEST`.
    ConnectionRequest,
    /// The connection-request listener asked for with [`Output::ListenConnectionRequests`] is
    /// open. `local` is the address the ACS must use: the IP of the interface towards the ACS
    /// host (never `0.0.0.0`) and the bound port. The engine writes `ConnectionRequestURL`.
    ConnectionRequestListening {
        /// The listener's address as the ACS reaches it.
        local: SocketAddr,
    },
    /// The listener asked for could not be opened (the port is taken, no permission); the
    /// engine asks again later.
    ConnectionRequestListenFailed {
        /// Why, for the log.
        reason: String,
    },
    /// Parameters changed by a means other than the ACS (the store's
    /// [`cwmp_model::ChangeListener`], relayed by the driver). Passive and active notification
    /// are decided here from the parameters' attributes; changes to the periodic inform or ACS
    /// URL parameters re-arm the schedule or raise BOOTSTRAP.
    ValueChanged {
        /// Full parameter names.
        names: Vec<String>,
    },
    /// The embedder finished (successfully or not) a transfer it got from
    /// [`Output::Download`]: raises `7 TRANSFER COMPLETE` + `M Download` until the ACS
    /// acknowledges the TransferComplete (TR-069 Annex A.3.3.2).
    TransferComplete {
        /// The transfer's CommandKey.
        command_key: String,
        /// `None` on success; else a transfer fault (9001, 9002, 9010–9012, 9014–9020, or
        /// vendor codes) with its string.
        fault: Option<Fault>,
        /// When the transfer started.
        start: DateTime,
        /// When it completed.
        complete: DateTime,
        /// What kind of transfer.
        kind: TransferKind,
    },
    /// A diagnostic the ACS requested finished: raises `8 DIAGNOSTICS COMPLETE`.
    DiagnosticsComplete,
    /// The driver bound the UDP connection-request socket (TR-069 Annex G): STUN (when
    /// `STUNEnable`) runs from it and UDP connection requests are accepted on it. `local` is
    /// the socket's address as the outside sees it before any NAT: the IP of the interface
    /// towards the ACS / STUN server (not `0.0.0.0`) and the bound port. Send it again when
    /// that IP changes.
    UdpBound {
        /// Local IP and port of the socket.
        local: SocketAddr,
    },
    /// A datagram arrived on the UDP connection-request socket (a STUN response or a UDP
    /// connection request; anything else is dropped). Never answered.
    Datagram {
        /// The sender.
        from: SocketAddr,
        /// The datagram (the driver reads at most 2048 bytes).
        payload: Vec<u8>,
    },
    /// The answer to the last [`Output::ResolveStunServer`]: the first address, or `None`
    /// when resolution failed (the engine asks again later).
    StunServerResolved {
        /// The STUN server's address.
        addr: Option<SocketAddr>,
    },
}

impl Input {
    /// An [`Input::HttpResponse`] without cookies or `Location`.
    pub fn http_response(status: u16, body: Vec<u8>) -> Input {
        Input::HttpResponse {
            status,
            body,
            set_cookie: Vec::new(),
            location: None,
        }
    }
}

/// What the embedder must do, drained with [`crate::Agent::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// A session begins: start a fresh cookie jar and connection (TR-069 §3.4).
    SessionStarted {
        /// The session's number.
        session_id: u64,
    },
    /// POST this to the ACS and answer with [`Input::HttpResponse`] or [`Input::HttpFailed`].
    ///
    /// Add `Content-Type: text/xml; charset="utf-8"` when `body` is `Some`, nothing when it is
    /// `None` (an empty POST: `Content-Length: 0`). Send `cookie` as the `Cookie` header. Keep
    /// one connection per session and origin (keep-alive); answer a 401 challenge (Basic or
    /// Digest) with `credentials` on the same connection; give up after `timeout` without a
    /// response. Everything else is the engine's: redirects, cookies, the timeout's value.
    SendPost {
        /// Where to POST: `ManagementServer.URL` as read when the session started, or where
        /// the Inform was redirected.
        url: String,
        /// The SOAP envelope, or `None` for an empty POST.
        body: Option<Vec<u8>>,
        /// The `SOAPAction` header to send.
        soap_action: SoapAction,
        /// The session this POST belongs to.
        session_id: u64,
        /// The `Cookie` header value (the cookies the ACS set in this session), if any.
        cookie: Option<String>,
        /// How long to wait for the response: 30 s, or what the ACS asked for with
        /// `cwmp:SessionTimeout` (TR-069 §3.4, clamped to the configured maximum).
        timeout: std::time::Duration,
        /// The ACS credentials (`ManagementServer.Username` / `Password` at session start),
        /// `None` when no user name is configured.
        credentials: Option<HttpCredentials>,
    },
    /// Open the HTTP connection-request listener (or keep it open) and check every request
    /// against `credentials` from now on; then answer with [`Input::ConnectionRequestListening`]
    /// giving the address towards `acs_host:acs_port` (TR-069 §3.2.2), or
    /// [`Input::ConnectionRequestListenFailed`]. Sent again whenever the credentials or the ACS
    /// change. Only with [`crate::AgentConfig::connection_requests`].
    ListenConnectionRequests {
        /// Digest credentials the requests must carry.
        credentials: HttpCredentials,
        /// The request path to serve (any other path is 404); the same for the whole run.
        path: String,
        /// The ACS host (its interface decides the reported address); empty when unknown.
        acs_host: String,
        /// The ACS port.
        acs_port: u16,
    },
    /// Close the HTTP connection-request listener (`HTTPConnectionRequestEnable` is false).
    StopConnectionRequests,
    /// The session is over: drop its cookies and close the connection.
    SessionEnded {
        /// The session's number.
        session_id: u64,
        /// Whether it ended successfully (TR-069 §3.7.1.4).
        ok: bool,
    },
    /// Persistent state changed: write it atomically before acting on any later output.
    Persist(PersistentState),
    /// Reboot the device now (a Reboot RPC, after its session ended). The engine starts no
    /// more sessions; after the restart construct a new agent with
    /// [`crate::BootReason::PowerOn`] and the last persisted state: its Inform carries
    /// `1 BOOT` + `M Reboot <command_key>` (TR-069 Annex A.3.2.9).
    Reboot {
        /// The Reboot's CommandKey.
        command_key: String,
    },
    /// Reset the device to factory defaults now ([`cwmp_model::ParameterStore::factory_reset`]
    /// and whatever else the device keeps), then reboot. The persisted state already says
    /// `0 BOOTSTRAP`; restart with [`crate::BootReason::PowerOn`] (TR-069 Annex A (FactoryReset)).
    FactoryReset,
    /// Perform this download now (the session has ended and DelaySeconds has passed), then
    /// report it with [`Input::TransferComplete`] (TR-069 Annex A.3.2.8).
    Download(DownloadRequest),
    /// A trace event (only with [`crate::AgentConfig::trace`]); never contains secrets.
    Trace(TraceEvent),
    /// Send this datagram from the UDP connection-request socket (a STUN Binding Request,
    /// TR-069 Annex G).
    SendDatagram {
        /// The destination (the STUN server).
        to: SocketAddr,
        /// The datagram.
        payload: Vec<u8>,
    },
    /// Resolve STUNServerAddress (DNS is I/O) and answer with [`Input::StunServerResolved`].
    ResolveStunServer {
        /// The host name.
        host: String,
        /// The port.
        port: u16,
    },
}

/// The `SOAPAction` HTTP header of a POST (TR-069 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SoapAction {
    /// No header at all: empty POSTs.
    Absent,
    /// `SOAPAction:` with an empty value.
    ///
    /// Required for POSTs carrying a response or a fault. Decision for POSTs carrying a CPE
    /// request (Inform, TransferComplete), where the spec text is silent: the same empty
    /// header, as catawampus sends and every ACS accepts.
    Empty,
}

impl SoapAction {
    /// The header value to send, `None` when no header is sent.
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            SoapAction::Absent => None,
            SoapAction::Empty => Some(""),
        }
    }
}

/// A user name and password for HTTP authentication: the project's one credentials type,
/// [`cwmp_connreq::Credentials`] (the password is a [`cwmp_model::Secret`], so `Debug` redacts it).
pub use cwmp_connreq::Credentials as HttpCredentials;

/// A Download the embedder is to perform (TR-069 Annex A.3.2.8). The password is a
/// [`Secret`], so `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct DownloadRequest {
    /// `CommandKey`: pass it back in [`Input::TransferComplete`].
    pub command_key: String,
    /// `FileType`, e.g. `1 Firmware Upgrade Image`, `3 Vendor Configuration File`.
    pub file_type: String,
    /// `URL` (http or https).
    pub url: String,
    /// `Username` for the file server (may be empty).
    pub username: String,
    /// `Password` for the file server (may be empty).
    pub password: Secret,
    /// `FileSize` in bytes (0 = not specified).
    pub file_size: u32,
    /// `TargetFileName` (may be empty).
    pub target_file_name: String,
    /// True when the transfer was already handed out before a restart: it may have been
    /// interrupted (resume or restart it, or report its failure), or it may have finished
    /// with the restart (a firmware image now running: report its success).
    pub resumed: bool,
}

/// Why the engine is starting (given to [`crate::Agent::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BootReason {
    /// The device powered up or restarted (including after [`Output::Reboot`] or
    /// [`Output::FactoryReset`]): the first Inform carries `1 BOOT` (TR-069 Annex A.3.3.1).
    PowerOn,
    /// The device was reset to factory defaults by local means (a menu, a button) and
    /// restarted: `1 BOOT` plus `0 BOOTSTRAP`, and every pending event, ScheduleInform and
    /// transfer is dropped (TR-069 Annex A (FactoryReset)).
    FactoryReset,
    /// Only the agent restarted (e.g. the daemon was restarted), the device did not: no
    /// `1 BOOT`; pending events are still delivered.
    AgentRestart,
}

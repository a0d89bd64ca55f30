//! Trace events: what the engine did and why, for the daemon's per-session JSON trace.
//!
//! They name messages, event codes, parameter names, fault codes and timer decisions, never
//! parameter values (an ACS may set passwords) and never credentials.

use crate::timer::Timer;
use serde::Serialize;

/// One trace record ([`crate::Output::Trace`]). Serializes to JSON as an object with a
/// `"type"` tag, e.g. `{"type":"message_sent","session_id":1,"method":"Inform",…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TraceEvent {
    /// An event was queued for delivery.
    EventQueued {
        /// The event code, e.g. `6 CONNECTION REQUEST`.
        code: String,
        /// Its CommandKey.
        command_key: String,
    },
    /// An HTTP connection request the phone refused (emitted by the driver that owns the
    /// listener, not by the engine): why an ACS "cannot reach the device". The usual first
    /// request without credentials, answered by a Digest challenge, is not one.
    ConnectionRequestRefused {
        /// The HTTP status sent (401, 404, 405, 400, 503).
        status: u16,
        /// Why, e.g. `wrong password or tampered request`.
        reason: String,
    },
    /// A session started.
    SessionStarted {
        /// The session.
        session_id: u64,
        /// The ACS URL.
        url: String,
        /// The Inform's RetryCount.
        retry_count: u32,
    },
    /// A SOAP message (or an empty POST) was sent.
    MessageSent {
        /// The session.
        session_id: u64,
        /// The Body element's name, or `empty` for an empty POST.
        method: String,
        /// The `cwmp:ID` header.
        cwmp_id: Option<String>,
        /// Body size in bytes.
        bytes: usize,
        /// Event codes (Inform), parameter names (responses), fault codes.
        detail: Vec<String>,
    },
    /// An HTTP response arrived.
    MessageReceived {
        /// The session.
        session_id: u64,
        /// HTTP status.
        status: u16,
        /// The Body element's name, `empty`, or `unparsable`.
        method: String,
        /// The `cwmp:ID` header.
        cwmp_id: Option<String>,
        /// Body size in bytes.
        bytes: usize,
        /// Parameter names, fault codes, header notes.
        detail: Vec<String>,
    },
    /// A session ended.
    SessionEnded {
        /// The session.
        session_id: u64,
        /// Whether it succeeded.
        ok: bool,
        /// Why it ended.
        reason: String,
    },
    /// A timer was armed.
    TimerArmed {
        /// Which one.
        timer: Timer,
        /// Milliseconds from now.
        in_ms: u64,
    },
    /// A timer fired.
    TimerFired {
        /// Which one.
        timer: Timer,
    },
    /// Any other decision worth recording (BOOTSTRAP raised, namespace fallback, …).
    Note {
        /// What happened.
        text: String,
    },
}

//! The crate's one error enum (design invariant 8).

use std::fmt;

/// Everything that can go wrong in the client, for the embedder and for the logs.
///
/// Every variant that a session can hit (all but [`Error::InvalidConfig`] and
/// [`Error::InvalidPem`]) makes the session fail (TR-069 §3.7.1.4, §3.2.1.1); the driver reports it
/// to the engine, which keeps the undelivered events and retries with back-off.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value cannot be used (a URL that is not http/https, an empty host …).
    InvalidConfig(String),
    /// A certificate or key in PEM form cannot be used.
    InvalidPem(String),
    /// The host name of the ACS URL could not be resolved.
    Dns(String),
    /// The TCP connection could not be opened.
    Connect(String),
    /// The TLS handshake failed: an untrusted certificate, a host-name mismatch, no common
    /// protocol version … The message says which (TR-069 §3.3: "on failure do not send the
    /// Inform").
    Tls(String),
    /// No answer (or no complete answer) within the configured time (TR-069 §3.4: at least
    /// 30 s per response).
    Timeout(String),
    /// The connection failed while sending or receiving, or was closed without a response.
    Io(String),
    /// The ACS's HTTP response was not valid HTTP/1.1.
    Protocol(String),
    /// The response body was larger than the configured limit.
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// HTTP authentication failed: a 401 after credentials were sent (TR-069 §3.4, §3.7.1.4), a
    /// 401 without credentials to answer it, or a challenge with no supported scheme.
    Authentication(String),
    /// More than the allowed number of redirects in one session (TR-069 §3.4: at most 5).
    TooManyRedirects {
        /// The limit.
        limit: u32,
    },
    /// A redirect that CWMP does not allow: after the Inform, a status other than 301, 302 or
    /// 307, no or a bad `Location` (TR-069 §3.4 "Redirects").
    Redirect(String),
    /// The driver was asked to shut down while a session was running, or the client is gone.
    Shutdown,
    /// The engine refused its configuration, persisted state or data model
    /// ([`cwmp_engine::Error`], the source).
    Engine(cwmp_engine::Error),
    /// [`crate::ClientHandle::with_store_as`] asked for a store type the client does not run
    /// with.
    WrongStoreType {
        /// The type asked for.
        requested: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig(m) => write!(f, "invalid configuration: {m}"),
            Error::InvalidPem(m) => write!(f, "invalid certificate or key: {m}"),
            Error::Dns(m) => write!(f, "ACS host name not resolved: {m}"),
            Error::Connect(m) => write!(f, "cannot connect to the ACS: {m}"),
            Error::Tls(m) => write!(f, "TLS with the ACS failed: {m}"),
            Error::Timeout(m) => write!(f, "ACS did not answer in time: {m}"),
            Error::Io(m) => write!(f, "connection to the ACS failed: {m}"),
            Error::Protocol(m) => write!(f, "invalid HTTP from the ACS: {m}"),
            Error::BodyTooLarge { limit } => {
                write!(f, "ACS response body larger than {limit} bytes")
            }
            Error::Authentication(m) => write!(f, "HTTP authentication failed: {m}"),
            Error::TooManyRedirects { limit } => {
                write!(f, "more than {limit} redirects in one session")
            }
            Error::Redirect(m) => write!(f, "redirect refused: {m}"),
            Error::Shutdown => write!(f, "client shut down"),
            Error::Engine(e) => write!(f, "engine: {e}"),
            Error::WrongStoreType { requested } => {
                write!(f, "the client's store is not a {requested}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Engine(e) => Some(e),
            _ => None,
        }
    }
}

/// Map a ureq error to ours. TLS failures arrive either as `Error::Rustls` or wrapped in an
/// `io::Error` by rustls' `complete_io`; both become [`Error::Tls`].
pub(crate) fn from_ureq(e: ureq::Error) -> Error {
    match e {
        ureq::Error::Timeout(t) => Error::Timeout(t.to_string()),
        ureq::Error::HostNotFound => Error::Dns("host not found".into()),
        ureq::Error::ConnectionFailed => Error::Connect("connection failed".into()),
        ureq::Error::Rustls(r) => Error::Tls(r.to_string()),
        ureq::Error::Tls(m) => Error::Tls(m.to_string()),
        ureq::Error::Pem(p) => Error::InvalidPem(p.to_string()),
        ureq::Error::TlsRequired => Error::Tls("TLS required but not established".into()),
        ureq::Error::BodyExceedsLimit(limit) => Error::BodyTooLarge { limit },
        ureq::Error::Protocol(p) => Error::Protocol(p.to_string()),
        ureq::Error::LargeResponseHeader(n, max) => {
            Error::Protocol(format!("response header of {n} bytes exceeds {max}"))
        }
        ureq::Error::BadUri(m) => Error::InvalidConfig(format!("bad URL: {m}")),
        ureq::Error::Http(h) => Error::InvalidConfig(format!("bad request: {h}")),
        ureq::Error::Io(io) => from_io(io),
        other => Error::Io(other.to_string()),
    }
}

fn from_io(io: std::io::Error) -> Error {
    if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return Error::Tls(r.to_string());
    }
    match io.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            Error::Timeout(io.to_string())
        }
        std::io::ErrorKind::ConnectionRefused => Error::Connect(io.to_string()),
        _ => Error::Io(io.to_string()),
    }
}

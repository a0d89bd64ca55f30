//! The crate's one error enum (design invariant 8).

use std::fmt;
use std::sync::Arc;

/// What a transport, TLS or configuration [`Error`] variant carries: a message for logs and
/// fault strings and, where the failure came from a typed error (`ureq::Error`,
/// `std::io::Error`, `rustls::Error`, `cwmp_model::pem::PemError`, `cwmp_model::UrlError`),
/// that error as the [`Error`]'s [`source()`](std::error::Error::source), so an embedder can
/// downcast to it. Two details are equal when their messages are.
#[derive(Clone)]
pub struct Detail {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Detail {
    /// A message without a typed cause.
    pub fn new(message: impl Into<String>) -> Detail {
        Detail {
            message: message.into(),
            source: None,
        }
    }

    /// A message and the typed error it came from.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Detail {
        Detail {
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The typed error it came from, if any.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "{:?} (source: {s:?})", self.message),
            None => write!(f, "{:?}", self.message),
        }
    }
}

impl PartialEq for Detail {
    fn eq(&self, other: &Detail) -> bool {
        self.message == other.message
    }
}

impl Eq for Detail {}

impl From<String> for Detail {
    fn from(message: String) -> Detail {
        Detail::new(message)
    }
}

impl From<&str> for Detail {
    fn from(message: &str) -> Detail {
        Detail::new(message)
    }
}

/// Everything that can go wrong in the client, for the embedder and for the logs.
///
/// Every variant that a session can hit (all but [`Error::InvalidConfig`] and
/// [`Error::InvalidPem`]) makes the session fail (TR-069 §3.7.1.4, §3.2.1.1); the driver reports it
/// to the engine, which keeps the undelivered events and retries with back-off.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value cannot be used (a URL that is not http/https, an empty host …).
    InvalidConfig(Detail),
    /// A certificate or key in PEM form cannot be used.
    InvalidPem(Detail),
    /// The host name of the ACS URL could not be resolved.
    Dns(Detail),
    /// The TCP connection could not be opened.
    Connect(Detail),
    /// The TLS handshake failed: an untrusted certificate, a host-name mismatch, no common
    /// protocol version … The message says which (TR-069 §3.3: "on failure do not send the
    /// Inform").
    Tls(Detail),
    /// No answer (or no complete answer) within the configured time (TR-069 §3.4: at least
    /// 30 s per response).
    Timeout(Detail),
    /// The connection failed while sending or receiving, or was closed without a response.
    Io(Detail),
    /// The ACS's HTTP response was not valid HTTP/1.1.
    Protocol(Detail),
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
            Error::InvalidConfig(d)
            | Error::InvalidPem(d)
            | Error::Dns(d)
            | Error::Connect(d)
            | Error::Tls(d)
            | Error::Timeout(d)
            | Error::Io(d)
            | Error::Protocol(d) => d.source().map(|e| e as &(dyn std::error::Error + 'static)),
            _ => None,
        }
    }
}

/// Map a ureq error to ours. TLS failures arrive either as `Error::Rustls` or wrapped in an
/// `io::Error` by rustls' `complete_io`; both become [`Error::Tls`].
pub(crate) fn from_ureq(e: ureq::Error) -> Error {
    type Make = fn(Detail) -> Error;
    let (make, message): (Make, String) = match &e {
        ureq::Error::Io(_) => match e {
            ureq::Error::Io(io) => return from_io(io),
            _ => unreachable!("matched above"),
        },
        ureq::Error::BodyExceedsLimit(limit) => return Error::BodyTooLarge { limit: *limit },
        ureq::Error::Timeout(t) => (Error::Timeout, t.to_string()),
        ureq::Error::HostNotFound => (Error::Dns, "host not found".into()),
        ureq::Error::ConnectionFailed => (Error::Connect, "connection failed".into()),
        ureq::Error::Rustls(r) => (Error::Tls, r.to_string()),
        ureq::Error::Tls(m) => (Error::Tls, m.to_string()),
        ureq::Error::Pem(p) => (Error::InvalidPem, p.to_string()),
        ureq::Error::TlsRequired => (Error::Tls, "TLS required but not established".into()),
        ureq::Error::Protocol(p) => (Error::Protocol, p.to_string()),
        ureq::Error::LargeResponseHeader(n, max) => (
            Error::Protocol,
            format!("response header of {n} bytes exceeds {max}"),
        ),
        ureq::Error::BadUri(m) => (Error::InvalidConfig, format!("bad URL: {m}")),
        ureq::Error::Http(h) => (Error::InvalidConfig, format!("bad request: {h}")),
        other => (Error::Io, other.to_string()),
    };
    make(Detail::with_source(message, e))
}

impl From<std::io::Error> for Error {
    /// An I/O error of a connection to the ACS: a rustls error inside it is [`Error::Tls`],
    /// a timeout [`Error::Timeout`], a refused connect [`Error::Connect`], the rest
    /// [`Error::Io`]; the `io::Error` is the source.
    fn from(io: std::io::Error) -> Error {
        from_io(io)
    }
}

pub(crate) fn from_io(io: std::io::Error) -> Error {
    if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        let message = r.to_string();
        return Error::Tls(Detail::with_source(message, io));
    }
    let make: fn(Detail) -> Error = match io.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Error::Timeout,
        std::io::ErrorKind::ConnectionRefused => Error::Connect,
        _ => Error::Io,
    };
    make(Detail::with_source(io.to_string(), io))
}

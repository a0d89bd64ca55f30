//! The TR-064 HTTP and HTTPS listeners: blocking `TcpListener`s, one thread per connection,
//! requests answered by a [`Handler`]: [`Tr064::handle`] for TR-064, and the web-based
//! management (`crate::web`) over the same bounded listener.
//!
//! Bounds (decisions): at most [`MAX_CONNECTIONS`] connections per listener (one more is
//! closed at once); a request head within [`HEAD_TIMEOUT`] and [`MAX_HEAD`] bytes (also the
//! idle time allowed between two requests on a kept-alive connection); a body of at most
//! [`super::soap::MAX_BODY`] bytes with `Content-Length` (no chunked bodies: 411), arriving
//! within [`BODY_TIMEOUT`]; at most [`MAX_REQUESTS`] requests per connection. The TLS
//! handshake counts against the head timeout.

use super::{Reply, Request, Tr064};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Connections served at once per listener.
pub const MAX_CONNECTIONS: usize = 16;
/// Time for a whole request head (and idle time between requests).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a whole body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head.
pub const MAX_HEAD: usize = 8 * 1024;
/// Requests per connection.
pub const MAX_REQUESTS: usize = 100;
/// Header lines accepted.
const MAX_HEADERS: usize = 32;
/// The `SERVER` header (UPnP form: OS/version UPnP/1.0 product/version).
pub const SERVER: &str = "Linux UPnP/1.0 Unify-OpenScape-Desk-Phone-CP/1.0";

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Method.
    pub method: String,
    /// Target.
    pub target: String,
    /// HTTP/1.x minor version.
    pub minor: u8,
    /// `Content-Length` (0 when absent).
    pub content_length: usize,
    /// `Authorization`.
    pub authorization: Option<String>,
    /// `SOAPAction`.
    pub soap_action: Option<String>,
    /// `Cookie` (several headers joined with `; `).
    pub cookie: Option<String>,
    /// Whether the client wants the connection kept.
    pub keep_alive: bool,
    /// Bytes of the head.
    pub len: usize,
}

/// Why a head was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// More bytes needed.
    Incomplete,
    /// Malformed, too large, or framing we do not accept; the reply to send.
    Refuse(u16, &'static str),
}

/// Parse a request head (httparse, bounded).
pub fn parse_head(bytes: &[u8]) -> Result<Head, HeadError> {
    let window = bytes.get(..MAX_HEAD).unwrap_or(bytes);
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let len = match req.parse(window) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if bytes.len() < MAX_HEAD => {
            return Err(HeadError::Incomplete)
        }
        Ok(httparse::Status::Partial) => {
            return Err(HeadError::Refuse(431, "Request Header Fields Too Large"))
        }
        Err(_) => return Err(HeadError::Refuse(400, "Bad Request")),
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Refuse(400, "Bad Request"));
    };
    let mut head = Head {
        method: method.to_owned(),
        target: target.to_owned(),
        minor,
        content_length: 0,
        authorization: None,
        soap_action: None,
        cookie: None,
        keep_alive: minor >= 1,
        len,
    };
    let mut seen_length = false;
    for h in req.headers.iter() {
        let value = || String::from_utf8_lossy(h.value).trim().to_owned();
        let name = h.name;
        if name.eq_ignore_ascii_case("Content-Length") {
            if std::mem::replace(&mut seen_length, true) {
                return Err(HeadError::Refuse(400, "Bad Request"));
            }
            head.content_length = value()
                .parse()
                .map_err(|_| HeadError::Refuse(400, "Bad Request"))?;
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            return Err(HeadError::Refuse(411, "Length Required"));
        } else if name.eq_ignore_ascii_case("Authorization") {
            if head.authorization.is_some() {
                return Err(HeadError::Refuse(400, "Bad Request"));
            }
            head.authorization = Some(value());
        } else if name.eq_ignore_ascii_case("SOAPAction") {
            head.soap_action = Some(value());
        } else if name.eq_ignore_ascii_case("Cookie") {
            head.cookie = Some(match head.cookie.take() {
                Some(c) => format!("{c}; {}", value()),
                None => value(),
            });
        } else if name.eq_ignore_ascii_case("Connection") {
            let v = value().to_ascii_lowercase();
            if v.contains("close") {
                head.keep_alive = false;
            } else if v.contains("keep-alive") {
                head.keep_alive = true;
            }
        }
    }
    if head.content_length > super::soap::MAX_BODY {
        return Err(HeadError::Refuse(413, "Payload Too Large"));
    }
    Ok(head)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// The bytes of `reply` (`head_only` for HEAD).
pub fn reply_bytes(reply: &Reply, keep_alive: bool, head_only: bool) -> Vec<u8> {
    let mut s = format!(
        "HTTP/1.1 {} {}\r\nSERVER: {SERVER}\r\nCONTENT-TYPE: {}\r\nCONTENT-LENGTH: {}\r\nEXT:\r\n",
        reply.status,
        reason(reply.status),
        reply.content_type,
        reply.body.len()
    );
    if let Some(w) = &reply.www_authenticate {
        s.push_str(&format!("WWW-Authenticate: {w}\r\n"));
    }
    s.push_str(if keep_alive {
        "CONNECTION: keep-alive\r\n\r\n"
    } else {
        "CONNECTION: close\r\n\r\n"
    });
    let mut out = s.into_bytes();
    if !head_only {
        out.extend_from_slice(&reply.body);
    }
    out
}

/// What answers the requests of a [`Listener`].
pub trait Handler: Send + Sync {
    /// The complete response bytes to a request (`head.keep_alive` says whether the
    /// connection stays open; `tls` whether it came over TLS).
    fn respond(&self, peer: IpAddr, head: &Head, body: &[u8], tls: bool) -> Vec<u8>;
}

impl Handler for Tr064 {
    fn respond(&self, peer: IpAddr, head: &Head, body: &[u8], tls: bool) -> Vec<u8> {
        let req = Request {
            method: &head.method,
            target: &head.target,
            authorization: head.authorization.as_deref(),
            soap_action: head.soap_action.as_deref(),
            body,
            tls,
        };
        let reply = self.handle(Instant::now(), peer, &req);
        reply_bytes(&reply, head.keep_alive, head.method == "HEAD")
    }
}

/// How to make a connection's stream (plain TCP or TLS).
pub type Wrap = Arc<dyn Fn(TcpStream) -> io::Result<Box<dyn Stream>> + Send + Sync>;

/// A connection's byte stream.
pub trait Stream: Read + Write + Send {
    /// Set the read timeout of the socket underneath.
    fn set_timeout(&self, t: Duration) -> io::Result<()>;
}

impl Stream for TcpStream {
    fn set_timeout(&self, t: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(t))
    }
}

impl Stream for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn set_timeout(&self, t: Duration) -> io::Result<()> {
        self.sock.set_read_timeout(Some(t))
    }
}

/// The plain-TCP wrapper.
pub fn plain() -> Wrap {
    Arc::new(|s: TcpStream| Ok(Box::new(s) as Box<dyn Stream>))
}

/// The TLS wrapper with the device certificate (`cert_pem`, `key_pem`).
pub fn tls(cert_pem: &str, key_pem: &str) -> io::Result<Wrap> {
    let certs = cwmp_client::parse_certificates(cert_pem)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let key = cwmp_client::parse_private_key(key_pem)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let config = Arc::new(config);
    Ok(Arc::new(move |s: TcpStream| {
        s.set_read_timeout(Some(HEAD_TIMEOUT))?;
        s.set_write_timeout(Some(HEAD_TIMEOUT))?;
        let conn = rustls::ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        let mut stream = rustls::StreamOwned::new(conn, s);
        // Complete the handshake now, under the timeout.
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(Box::new(stream) as Box<dyn Stream>)
    }))
}

/// A running listener; dropping it closes the port.
pub struct Listener {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Bind `addr` and serve `core` over `wrap`; `label` names the service in the log
    /// (`<label> HTTP on <address>`) and the threads.
    pub fn start(
        addr: SocketAddr,
        core: Arc<dyn Handler>,
        wrap: Wrap,
        tls: bool,
        label: &'static str,
    ) -> io::Result<Listener> {
        let listener = TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let active = Arc::new(AtomicUsize::new(0));
        let thread = std::thread::Builder::new()
            .name(format!("{label}-{}", if tls { "https" } else { "http" }))
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                        continue; // dropped: closed at once
                    }
                    active.fetch_add(1, Ordering::SeqCst);
                    let (core, wrap, active) = (core.clone(), wrap.clone(), active.clone());
                    let spawned = std::thread::Builder::new()
                        .name(format!("{label}-conn"))
                        .spawn(move || {
                            serve(conn, &*core, &wrap, tls);
                            active.fetch_sub(1, Ordering::SeqCst);
                        });
                    if spawned.is_err() {
                        log::warn!("{label}: no thread for a connection");
                    }
                }
            })?;
        log::info!("{label} {} on {local}", if tls { "HTTPS" } else { "HTTP" });
        Ok(Listener {
            local,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let wake = if self.local.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], self.local.port()))
        } else {
            self.local
        };
        if TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// Read until `buf` holds `want` bytes or the deadline passes.
fn fill(
    stream: &mut dyn Stream,
    buf: &mut Vec<u8>,
    want: usize,
    deadline: Instant,
) -> io::Result<bool> {
    let mut chunk = [0u8; 4096];
    while buf.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        stream.set_timeout(left)?;
        let n = stream.read(&mut chunk[..(want - buf.len()).min(4096)])?;
        if n == 0 {
            return Ok(false);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(true)
}

fn serve(conn: TcpStream, core: &dyn Handler, wrap: &Wrap, tls: bool) {
    let Ok(peer) = conn.peer_addr() else { return };
    let _ = conn.set_write_timeout(Some(HEAD_TIMEOUT));
    let _ = conn.set_nodelay(true);
    let mut stream = match wrap(conn) {
        Ok(s) => s,
        Err(e) => {
            log::debug!("connection from {peer}: {e}");
            return;
        }
    };
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    for _ in 0..MAX_REQUESTS {
        // The head, byte chunks until it parses (or the deadline).
        let deadline = Instant::now() + HEAD_TIMEOUT;
        let head = loop {
            match parse_head(&buf) {
                Ok(h) => break h,
                Err(HeadError::Incomplete) => {}
                Err(HeadError::Refuse(status, why)) => {
                    let _ = stream.write_all(&reply_bytes(&Reply::html(status, why), false, false));
                    return;
                }
            }
            let mut chunk = [0u8; 2048];
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || stream.set_timeout(left).is_err() {
                return;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        buf.drain(..head.len);
        let want = head.content_length;
        match fill(&mut *stream, &mut buf, want, Instant::now() + BODY_TIMEOUT) {
            Ok(true) => {}
            _ => return,
        }
        let body: Vec<u8> = buf.drain(..want).collect();
        let keep = head.keep_alive;
        if stream
            .write_all(&core.respond(peer.ip(), &head, &body, tls))
            .and_then(|_| stream.flush())
            .is_err()
            || !keep
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        let h = parse_head(
            b"POST /upnp/control/deviceinfo HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\
              SOAPAction: \"urn:x#A\"\r\n\r\nbody",
        )
        .unwrap();
        assert_eq!(h.content_length, 12);
        assert_eq!(h.soap_action.as_deref(), Some("\"urn:x#A\""));
        assert!(h.keep_alive);
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\n"),
            Err(HeadError::Incomplete)
        );
        assert!(matches!(
            parse_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(HeadError::Refuse(411, _))
        ));
        assert!(matches!(
            parse_head(b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
            Err(HeadError::Refuse(413, _))
        ));
        assert!(matches!(
            parse_head(&vec![b'a'; MAX_HEAD + 10]),
            Err(HeadError::Refuse(400 | 431, _))
        ));
    }
}

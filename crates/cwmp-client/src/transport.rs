//! The HTTP(S) transport of one CWMP session (TR-069 §3.4), blocking.
//!
//! An [`HttpSession`] is created when a session starts and dropped when it ends. It is the
//! blocking driver of the sans-IO [`crate::http1::SessionHttp`] (which decides the request
//! heads, authentication and keep-alive; see there): it opens the session's one keep-alive
//! TCP (TLS) connection, writes each POST, reads until the response is complete, and opens a
//! new connection only when the ACS closed the old one. Dropping the session closes it.
//!
//! Every status but a 401 challenge (200, 204, 3xx with its `Location`, 4xx, 5xx) is
//! returned to the caller as it is: the engine decides what a status means for the session,
//! including whether a redirect is followed (TR-069 §3.4).
//!
//! ```text
//!  send(request) ──► POST ──► 401 ──► challenge answered? ──no──► Error::Authentication
//!                     ▲        │              │yes (once, same connection when it stays open)
//!                     └────────┴──────────────┘
//!                              └─ anything else ──► HttpResponse { status, body, set_cookie, location }
//! ```
//!
//! Decision: the session's HTTP is the project's own driver over `ureq-proto` rather than a
//! ureq agent per session (as before): the same sans-IO core then serves the fleet's event
//! loop, and a session no longer builds an agent, a pool and a resolver thread. ureq stays
//! for downloads ([`crate::download`]).
use crate::auth::Credentials;
use crate::error::{from_io, Detail, Error};
use crate::http1::{Received, SessionHttp};
use crate::tls::TlsSettings;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Tuning of the session transport. Every field has a documented default.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// How long [`HttpSession::post`] waits for each HTTP response (and for its body),
    /// default 30 s, the floor TR-069 §3.4 sets ("wait at least 30 s"). The driver uses the
    /// engine's timeout of each POST instead ([`PostRequest::timeout`]).
    pub response_timeout: Duration,
    /// How long to wait for the TCP connection and the TLS handshake, default 30 s.
    pub connect_timeout: Duration,
    /// Largest response body accepted, default 4 MiB; a larger one fails the session.
    pub max_response_body: u64,
    /// Send Basic credentials in the first request when the URL is https (TR-069 §3.4: "Over
    /// TLS the CPE SHOULD send Basic credentials pre-emptively"), default true. Over plain
    /// HTTP credentials are only ever sent in answer to a challenge.
    pub preemptive_basic_over_tls: bool,
    /// The `User-Agent` header, default `cwmp-client/<version>`.
    pub user_agent: String,
    /// How many bytes one read from the connection asks for (the session's input buffer
    /// grows by this much while a response arrives), default 16 KiB.
    pub io_buffer_size: usize,
}

impl Default for TransportConfig {
    fn default() -> TransportConfig {
        TransportConfig {
            response_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            max_response_body: 4 * 1024 * 1024,
            preemptive_basic_over_tls: true,
            user_agent: concat!("cwmp-client/", env!("CARGO_PKG_VERSION")).to_string(),
            io_buffer_size: 16 * 1024,
        }
    }
}

/// The final HTTP response to one POST, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code (200, 204, 3xx, 4xx, 5xx; never a 401 challenge that was answered).
    pub status: u16,
    /// The body, read completely (at most [`TransportConfig::max_response_body`] bytes).
    pub body: Vec<u8>,
    /// Every `Set-Cookie` header value, in order.
    pub set_cookie: Vec<String>,
    /// The `Location` header, if any.
    pub location: Option<String>,
}

impl HttpResponse {
    /// The engine input for this response.
    pub fn into_input(self) -> cwmp_engine::Input {
        cwmp_engine::Input::HttpResponse {
            status: self.status,
            body: self.body,
            set_cookie: self.set_cookie,
            location: self.location,
        }
    }
}

/// One POST of a session, as the engine's [`cwmp_engine::Output::SendPost`] describes it.
#[derive(Debug, Clone, Copy)]
pub struct PostRequest<'a> {
    /// Where to POST (the ACS URL or the Inform's redirect target).
    pub url: &'a str,
    /// The envelope, `None` for an empty POST.
    pub body: Option<&'a [u8]>,
    /// The `SOAPAction` value (`Some("")` = the header with an empty value).
    pub soap_action: Option<&'a str>,
    /// The `Cookie` header value.
    pub cookie: Option<&'a str>,
    /// How long to wait for the response.
    pub timeout: Duration,
}

/// The media type of every POST that carries an envelope (TR-069 §3.4 "Content-Type").
pub const CONTENT_TYPE_XML: &str = "text/xml; charset=\"utf-8\"";

/// The HTTP side of one CWMP session. Create one per session, call [`post`](Self::post) or
/// [`send`](Self::send) for each message, drop it when the session ends (that closes the
/// connection and forgets the redirect target and the authentication state).
pub struct HttpSession {
    core: SessionHttp,
    tls: TlsSettings,
    tls_config: Option<Arc<rustls::ClientConfig>>,
    stream: Option<Stream>,
    /// Bytes read and not yet used.
    input: Vec<u8>,
    resolved: Option<(String, u16, Vec<SocketAddr>)>,
    abort: SessionAbort,
}

impl std::fmt::Debug for HttpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSession")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

/// A connection: plain TCP or TLS over it.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(t) => t.flush(),
        }
    }
}

/// How one attempt on a connection ended.
enum Attempt {
    Done(HttpResponse),
    Resend,
    /// A reused connection was found closed before any answer.
    Stale(Error),
}

impl HttpSession {
    /// Prepare a session with the ACS at `url` (http or https). No connection is opened until
    /// the first [`post`](Self::post). `seed` feeds the Digest cnonce generator.
    pub fn new(
        config: &TransportConfig,
        tls: &TlsSettings,
        url: &str,
        credentials: Option<Credentials>,
        seed: u64,
    ) -> Result<HttpSession, Error> {
        Ok(HttpSession {
            core: SessionHttp::new(config, url, credentials, seed)?,
            tls: tls.clone(),
            tls_config: None,
            stream: None,
            input: Vec::new(),
            resolved: None,
            abort: SessionAbort::default(),
        })
    }

    /// The URL of the last POST (the ACS URL, or where the engine was redirected).
    pub fn url(&self) -> String {
        self.core.url().to_string()
    }

    /// How many TCP connections the session has opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.core.connections_opened()
    }

    /// A handle that can abort this session's I/O from another thread (see
    /// [`SessionAbort::abort`]).
    pub fn abort_handle(&self) -> SessionAbort {
        self.abort.clone()
    }

    /// Send one POST to the session's URL with the configured response timeout and no
    /// cookie, and return the final response (see [`send`](Self::send)).
    ///
    /// `body` is the envelope (`None` = empty POST: `Content-Length: 0`, no `Content-Type`, no
    /// `SOAPAction`); `soap_action` is the `SOAPAction` value (`Some("")` sends the header
    /// with an empty value, `None` sends none). Ignored for an empty POST.
    pub fn post(
        &mut self,
        body: Option<&[u8]>,
        soap_action: Option<&str>,
    ) -> Result<HttpResponse, Error> {
        let url = self.url();
        let timeout = self.core.config().response_timeout;
        self.send(&PostRequest {
            url: &url,
            body,
            soap_action,
            cookie: None,
            timeout,
        })
    }

    /// Send one POST of the session as the engine asked ([`cwmp_engine::Output::SendPost`])
    /// and return the final response. The request's timeout bounds the whole exchange
    /// (connecting, sending, the response and its body). A URL of another origin than the
    /// previous POST's (the engine followed a redirect) starts unauthenticated: credentials
    /// answer a challenge of one server.
    pub fn send(&mut self, request: &PostRequest<'_>) -> Result<HttpResponse, Error> {
        if self.abort.aborted() {
            return Err(Error::Shutdown);
        }
        let deadline = Instant::now() + request.timeout;
        let body = request.body.unwrap_or(&[]);
        self.core.begin(request)?;
        let mut retried = false;
        loop {
            let mut fresh = false;
            if self.core.needs_connection() || self.stream.is_none() {
                self.close();
                let s = self.connect(deadline)?;
                self.stream = Some(s);
                self.core.connected();
                fresh = true;
            }
            let attempt = self.attempt(body, deadline);
            let attempt = match attempt {
                Err(e) => {
                    self.close();
                    return Err(if self.abort.aborted() {
                        Error::Shutdown
                    } else {
                        e
                    });
                }
                Ok(a) => a,
            };
            if self.core.must_close() {
                self.close();
            }
            match attempt {
                Attempt::Done(r) => return Ok(r),
                Attempt::Resend => {}
                Attempt::Stale(e) => {
                    self.close();
                    if fresh || retried {
                        return Err(e);
                    }
                    // An idle keep-alive connection the ACS dropped: once more on a new one.
                    retried = true;
                    self.core.retry_on_new_connection(body)?;
                }
            }
        }
    }

    fn close(&mut self) {
        if self.stream.take().is_some() {
            self.core.connection_lost();
        }
        self.input.clear();
        self.abort.set_socket(None);
    }

    /// Write the request and read until the core has an answer.
    fn attempt(&mut self, body: &[u8], deadline: Instant) -> Result<Attempt, Error> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(Error::Io(Detail::new("no connection")));
        };
        let timeout = remaining(deadline)?;
        stream
            .tcp()
            .set_write_timeout(Some(timeout))
            .map_err(from_io)?;
        let written = write_all(stream, self.core.head())
            .and_then(|_| write_all(stream, body))
            .and_then(|_| stream.flush());
        if let Err(e) = written {
            return Ok(Attempt::Stale(from_io(e)));
        }
        let mut got_any = false;
        let chunk = self.core.config().io_buffer_size.clamp(4096, 1 << 20);
        loop {
            if !self.input.is_empty() {
                let (used, r) = self.core.receive(&self.input, body)?;
                self.input.drain(..used);
                match r {
                    Received::More => {}
                    Received::Resend => return Ok(Attempt::Resend),
                    Received::Response(r) => return Ok(Attempt::Done(r)),
                }
            }
            let timeout = remaining(deadline)?;
            stream
                .tcp()
                .set_read_timeout(Some(timeout))
                .map_err(from_io)?;
            let old = self.input.len();
            self.input.resize(old + chunk, 0);
            let n = stream.read(&mut self.input[old..]);
            self.input.truncate(old + *n.as_ref().unwrap_or(&0));
            match n {
                Ok(0) if !got_any => {
                    return Ok(Attempt::Stale(Error::Io(Detail::new(
                        "the ACS closed the connection before answering",
                    ))))
                }
                Ok(0) => {
                    return match self.core.end_of_input(body)? {
                        Received::Response(r) => Ok(Attempt::Done(r)),
                        Received::Resend => Ok(Attempt::Resend),
                        Received::More => Err(Error::Io(Detail::new("connection closed"))),
                    }
                }
                Ok(_) => got_any = true,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if !got_any && is_reset(&e) => return Ok(Attempt::Stale(from_io(e))),
                Err(e) => return Err(from_io(e)),
            }
        }
    }

    /// Open the connection to the session's URL (TCP, then TLS for https).
    fn connect(&mut self, deadline: Instant) -> Result<Stream, Error> {
        let url = self.core.url().clone();
        let (host, port) = (url.host().to_owned(), url.port());
        let addrs = match &self.resolved {
            Some((h, p, a)) if *h == host && *p == port => a.clone(),
            _ => {
                let a = resolve(&host, port)?;
                self.resolved = Some((host.clone(), port, a.clone()));
                a
            }
        };
        let connect_timeout = self.core.config().connect_timeout;
        let mut last = None;
        let mut sock = None;
        for addr in addrs {
            let t = remaining(deadline)?.min(connect_timeout);
            match TcpStream::connect_timeout(&addr, t) {
                Ok(s) => {
                    sock = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let sock = match (sock, last) {
            (Some(s), _) => s,
            (None, Some(e)) => {
                let make: fn(Detail) -> Error = match e.kind() {
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => Error::Timeout,
                    _ => Error::Connect,
                };
                return Err(make(Detail::with_source(format!("{host}:{port}: {e}"), e)));
            }
            (None, None) => return Err(Error::Dns(Detail::new(format!("{host}: no address")))),
        };
        // Head and body are written separately: without TCP_NODELAY Nagle would hold the
        // body until the head is acknowledged.
        sock.set_nodelay(true).map_err(from_io)?;
        self.abort.set_socket(sock.try_clone().ok());
        if self.abort.aborted() {
            return Err(Error::Shutdown);
        }
        if !url.is_https() {
            return Ok(Stream::Plain(sock));
        }
        let config = match &self.tls_config {
            Some(c) => c.clone(),
            None => {
                let c = self.tls.client_config()?;
                self.tls_config = Some(c.clone());
                c
            }
        };
        let timeout = remaining(deadline)?.min(connect_timeout);
        sock.set_read_timeout(Some(timeout)).map_err(from_io)?;
        sock.set_write_timeout(Some(timeout)).map_err(from_io)?;
        let conn = rustls::ClientConnection::new(config, crate::tls::server_name(&host)?)
            .map_err(|e| Error::Tls(Detail::with_source(e.to_string(), e)))?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        // The handshake completes before any request is written (TR-069 §3.3: on failure
        // do not send the Inform).
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).map_err(from_io)?;
        }
        Ok(Stream::Tls(Box::new(tls)))
    }
}

/// The addresses of `host` (an IP literal needs no lookup).
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| Error::Dns(Detail::with_source(format!("{host}: {e}"), e)))?
        .collect();
    if addrs.is_empty() {
        return Err(Error::Dns(Detail::new(format!("{host}: no address"))));
    }
    Ok(addrs)
}

fn remaining(deadline: Instant) -> Result<Duration, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::Timeout(Detail::new("no complete answer in time")));
    }
    Ok(left)
}

fn write_all(w: &mut Stream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        match w.write(data) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
    )
}

/// Aborts the I/O of one [`HttpSession`] from another thread (used by the driver's shutdown
/// and the fleet's stop).
#[derive(Debug, Clone, Default)]
pub struct SessionAbort(Arc<AbortState>);

#[derive(Debug, Default)]
struct AbortState {
    aborted: AtomicBool,
    socket: Mutex<Option<TcpStream>>,
}

impl SessionAbort {
    /// Close the session's connection; a POST blocked on it fails at once and later POSTs
    /// fail with [`Error::Shutdown`].
    pub fn abort(&self) {
        self.0.aborted.store(true, Ordering::SeqCst);
        if let Some(s) = self
            .0
            .socket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn aborted(&self) -> bool {
        self.0.aborted.load(Ordering::SeqCst)
    }

    fn set_socket(&self, s: Option<TcpStream>) {
        *self.0.socket.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }
}

#[cfg(test)]
mod tests {
    use crate::http1::parse_url;

    #[test]
    fn post_urls_are_http_without_user_information() {
        assert!(parse_url("https://ACS.example.com:7548/cwmp?x=1").is_ok());
        for bad in [
            "",
            "ftp://x/",
            "http://",
            "http://:80/",
            "http://h:x/",
            "http://u@h/",
            "h/x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}

//! A scripted fake ACS over real loopback HTTP and HTTPS.
//!
//! [`FakeAcs`] listens on `127.0.0.1:0`, serves each TCP connection on its own thread
//! (keep-alive, `Content-Length` bodies, a cap on concurrent connections), records every
//! request (connection id, method, path, headers, body, client certificate) and answers
//! according to its configuration:
//!
//! 1. a queue of [`Fault`]s applied to the next requests (500, garbage, silence, stall …);
//! 2. authentication ([`AcsAuth`]): Basic, or Digest the GenieACS way, with the nonce bound to
//!    the connection;
//! 3. redirects of a path ([`Redirect`]);
//! 4. the behaviour: exact CWMP sessions ([`Behaviour::Cwmp`]: InformResponse with
//!    `Set-Cookie`, scripted ACS requests, `204` with `Connection: close`), a queue of fixed
//!    [`Reply`]s, or a closure.
//!
//! HTTPS uses certificates made by rcgen ([`TestCa`]); the server can require a client
//! certificate (rustls `WebPkiClientVerifier`) and records the one presented.
//!
//! ```text
//!   request ─► record ─► fault queue? ─► auth ok? ─► redirect? ─► behaviour ─► reply
//!                           │ yes          │ no        │ yes
//!                           ▼              ▼           ▼
//!                     500/garbage/…   401 (+challenge)  3xx Location
//! ```

mod auth;
mod cwmp;
mod http;
mod pki;

pub use auth::AcsAuth;
pub use cwmp::{AcsMessage, CwmpScript, SessionLog};
pub use pki::{IssuedCert, TestCa};

use http::{read_request, write_response, ReadOutcome, WireRequest};
use rustls::server::WebPkiClientVerifier;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One HTTP request as the fake ACS received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Index of the request over the server's life, from 0.
    pub seq: usize,
    /// The TCP connection it arrived on, numbered from 1 in accept order.
    pub connection: u64,
    /// The method (`POST`).
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// The headers in wire order, names as received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Whether the connection was TLS.
    pub tls: bool,
    /// The client certificate (DER, leaf) presented in the TLS handshake, if any.
    pub client_cert: Option<Vec<u8>>,
    /// The server name the client sent in the TLS handshake (SNI), if any.
    pub sni: Option<String>,
    /// When the whole request had arrived.
    pub received_at: Instant,
}

impl RecordedRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a header of that name is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP response the fake ACS sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Headers besides `Content-Length` (always sent).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Wait this long before answering (a slow ACS; the CPE's response timeout).
    pub delay: Duration,
}

impl Reply {
    /// A reply with this status and no body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// `200` with an XML body and GenieACS's `Content-Type`.
    pub fn xml(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/xml; charset=\"utf-8\"".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// `204 No Content` with `Connection: close`: the end of a session, as GenieACS sends it.
    pub fn no_content() -> Reply {
        Reply::status(204).with_header("Connection", "close")
    }

    /// Add a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Answer only after `delay` (or at shutdown, without answering).
    pub fn with_delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Replace the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    fn closes(&self) -> bool {
        self.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close"))
    }
}

/// A misbehaviour applied to one request, taken from the fault queue in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status (e.g. 500) and a short text body, then close.
    Status(u16),
    /// Answer bytes that are not HTTP, then close.
    GarbageHttp,
    /// Answer `200` with `text/xml` that is not XML (the HTTP layer is fine).
    GarbageBody,
    /// Close the connection without answering.
    Close,
    /// Send half a response (`Content-Length` larger than the body), then close.
    Truncated,
    /// Say nothing for this long (or until shutdown), then close.
    Stall(Duration),
}

/// A redirect rule: POSTs to `path` get `status` with `Location: location`, `times` times
/// (`None`: always).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The request path the rule applies to.
    pub path: String,
    /// The `Location` value (absolute URL or path).
    pub location: String,
    /// 301, 302, 307 …
    pub status: u16,
    /// How many times the rule fires; `None` = forever.
    pub times: Option<u32>,
}

/// A closure that answers a request.
pub type Handler = Box<dyn FnMut(&RecordedRequest) -> Reply + Send>;

/// A closure told of every request and the reply sent to it, as it happens (a live
/// transcript: `cpe-agent demo` prints one line per CWMP message from it). It runs on the
/// connection's thread, after the reply was decided and before it is written; requests
/// closed without a reply (faults) are not passed.
pub type Observer = Arc<dyn Fn(&RecordedRequest, &Reply) + Send + Sync>;

/// What the fake ACS does with a request that passed faults, authentication and redirects.
pub enum Behaviour {
    /// Exact CWMP sessions following scripts (see [`CwmpScript`]).
    Cwmp(CwmpScript),
    /// These replies in order; `204` + `Connection: close` once they run out.
    Replies(VecDeque<Reply>),
    /// A closure per request.
    Handler(Handler),
}

impl std::fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Behaviour::Cwmp(_) => write!(f, "Cwmp"),
            Behaviour::Replies(r) => write!(f, "Replies({})", r.len()),
            Behaviour::Handler(_) => write!(f, "Handler"),
        }
    }
}

/// HTTPS settings of the fake ACS.
#[derive(Debug)]
pub struct HttpsOptions {
    /// The server certificate and key.
    pub server: IssuedCert,
    /// When set, a client certificate issued by this CA (DER) is required.
    pub client_ca: Option<Vec<u8>>,
}

/// Builder of a [`FakeAcs`].
#[derive(Debug)]
pub struct FakeAcsBuilder {
    path: String,
    auth: AcsAuth,
    redirects: Vec<Redirect>,
    faults: VecDeque<Fault>,
    behaviour: Behaviour,
    https: Option<HttpsOptions>,
    ca: Option<TestCa>,
    max_connections: usize,
    host_in_url: Option<String>,
    history: usize,
    response_delay: Duration,
    observer: ObserverSlot,
}

/// An optional [`Observer`] (with a `Debug` that says whether there is one).
#[derive(Clone, Default)]
struct ObserverSlot(Option<Observer>);

impl std::fmt::Debug for ObserverSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}",
            if self.0.is_some() {
                "Some(Observer)"
            } else {
                "None"
            }
        )
    }
}

impl Default for FakeAcsBuilder {
    fn default() -> FakeAcsBuilder {
        FakeAcsBuilder {
            path: "/acs".into(),
            auth: AcsAuth::None,
            redirects: Vec::new(),
            faults: VecDeque::new(),
            behaviour: Behaviour::Cwmp(CwmpScript::default()),
            https: None,
            ca: None,
            max_connections: 16,
            host_in_url: None,
            history: usize::MAX,
            response_delay: Duration::ZERO,
            observer: ObserverSlot::default(),
        }
    }
}

impl FakeAcsBuilder {
    /// The path of [`FakeAcs::url`] (default `/acs`).
    pub fn path(mut self, path: &str) -> FakeAcsBuilder {
        self.path = path.to_string();
        self
    }

    /// Require HTTP Basic authentication.
    pub fn basic_auth(mut self, username: &str, password: &str) -> FakeAcsBuilder {
        self.auth = AcsAuth::Basic {
            username: username.into(),
            password: password.into(),
        };
        self
    }

    /// Require HTTP Digest authentication, GenieACS style (no `algorithm` in the challenge).
    pub fn digest_auth(mut self, username: &str, password: &str) -> FakeAcsBuilder {
        self.auth = AcsAuth::Digest {
            username: username.into(),
            password: password.into(),
            algorithm: None,
        };
        self
    }

    /// Any authentication setting.
    pub fn auth(mut self, auth: AcsAuth) -> FakeAcsBuilder {
        self.auth = auth;
        self
    }

    /// Add a redirect rule.
    pub fn redirect(mut self, rule: Redirect) -> FakeAcsBuilder {
        self.redirects.push(rule);
        self
    }

    /// Queue faults for the next requests (in order, one per request).
    pub fn faults(mut self, faults: impl IntoIterator<Item = Fault>) -> FakeAcsBuilder {
        self.faults.extend(faults);
        self
    }

    /// Set the behaviour (default: CWMP with an empty script).
    pub fn behaviour(mut self, b: Behaviour) -> FakeAcsBuilder {
        self.behaviour = b;
        self
    }

    /// Shorthand for [`Behaviour::Replies`].
    pub fn replies(self, replies: impl IntoIterator<Item = Reply>) -> FakeAcsBuilder {
        self.behaviour(Behaviour::Replies(replies.into_iter().collect()))
    }

    /// Shorthand for [`Behaviour::Handler`].
    pub fn handler(
        self,
        f: impl FnMut(&RecordedRequest) -> Reply + Send + 'static,
    ) -> FakeAcsBuilder {
        self.behaviour(Behaviour::Handler(Box::new(f)))
    }

    /// Shorthand for [`Behaviour::Cwmp`].
    pub fn cwmp(self, script: CwmpScript) -> FakeAcsBuilder {
        self.behaviour(Behaviour::Cwmp(script))
    }

    /// Serve HTTPS with a fresh CA and a server certificate for `localhost` and `127.0.0.1`
    /// (the URL then uses `localhost`).
    pub fn https(mut self) -> FakeAcsBuilder {
        let ca = TestCa::new("fake ACS test CA");
        let server = ca.issue_server(&["localhost", "127.0.0.1"]);
        self.https = Some(HttpsOptions {
            server,
            client_ca: None,
        });
        self.ca = Some(ca);
        self
    }

    /// Serve HTTPS with this server certificate (e.g. one for another host name).
    pub fn https_with(mut self, options: HttpsOptions) -> FakeAcsBuilder {
        self.https = Some(options);
        self.ca = None;
        self
    }

    /// Require a client certificate issued by this CA (HTTPS only).
    pub fn require_client_cert(mut self, ca_der: Vec<u8>) -> FakeAcsBuilder {
        if let Some(h) = self.https.as_mut() {
            h.client_ca = Some(ca_der);
        }
        self
    }

    /// Put this host in [`FakeAcs::url`] instead of the default (`127.0.0.1` for HTTP,
    /// `localhost` for HTTPS). The server still listens on 127.0.0.1.
    pub fn url_host(mut self, host: &str) -> FakeAcsBuilder {
        self.host_in_url = Some(host.to_string());
        self
    }

    /// At most this many connections served at once; more are closed at accept (default 16).
    pub fn max_connections(mut self, n: usize) -> FakeAcsBuilder {
        self.max_connections = n.max(1);
        self
    }

    /// Keep only the last `n` recorded requests and ended sessions (default: all), so that a
    /// long benchmark does not grow without bound. Counters stay exact.
    pub fn history_limit(mut self, n: usize) -> FakeAcsBuilder {
        self.history = n.max(1);
        self
    }

    /// Wait this long before writing each reply (a slow ACS, for load tests); the wait is
    /// per connection, outside the server's lock, so concurrent sessions wait in parallel.
    pub fn response_delay(mut self, delay: Duration) -> FakeAcsBuilder {
        self.response_delay = delay;
        self
    }

    /// Call `f` with every request and the reply sent to it (see [`Observer`]).
    pub fn observe(
        mut self,
        f: impl Fn(&RecordedRequest, &Reply) + Send + Sync + 'static,
    ) -> FakeAcsBuilder {
        self.observer = ObserverSlot(Some(Arc::new(f)));
        self
    }

    /// Bind to `127.0.0.1:0` and start serving.
    pub fn start(self) -> io::Result<FakeAcs> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let tls = match &self.https {
            None => None,
            Some(h) => Some(Arc::new(server_config(h)?)),
        };
        let host = self.host_in_url.clone().unwrap_or_else(|| {
            if tls.is_some() {
                "localhost".into()
            } else {
                "127.0.0.1".into()
            }
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{host}:{}{}", addr.port(), self.path);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                auth: self.auth,
                redirects: self.redirects,
                faults: self.faults,
                behaviour: self.behaviour,
                requests: VecDeque::new(),
                request_count: 0,
                history: self.history,
                cwmp: cwmp::Engine::new(self.history),
                tls_failures: 0,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            next_conn: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            max_connections: self.max_connections,
            response_delay: self.response_delay,
            peak: AtomicUsize::new(0),
            threads: Mutex::new(Vec::new()),
            observer: self.observer,
        });
        let s2 = shared.clone();
        let accept = std::thread::Builder::new()
            .name("fake-acs-accept".into())
            .spawn(move || accept_loop(listener, s2, tls))?;
        Ok(FakeAcs {
            addr,
            url,
            shared,
            accept: Some(accept),
            ca: self.ca,
        })
    }
}

/// The running fake ACS. Dropping it stops the server and joins its threads.
#[derive(Debug)]
pub struct FakeAcs {
    addr: SocketAddr,
    url: String,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    ca: Option<TestCa>,
}

impl FakeAcs {
    /// A builder with the defaults: plain HTTP, no authentication, CWMP with an empty script.
    pub fn builder() -> FakeAcsBuilder {
        FakeAcsBuilder::default()
    }

    /// The ACS URL (`http://127.0.0.1:<port>/acs` or `https://localhost:<port>/acs`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A URL on the same server with another path.
    pub fn url_for(&self, path: &str) -> String {
        let base = self
            .url
            .rfind(':')
            .and_then(|i| self.url[i..].find('/').map(|j| &self.url[..i + j]))
            .unwrap_or(&self.url);
        format!("{base}{path}")
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA that issued the server certificate (from [`FakeAcsBuilder::https`]).
    pub fn ca(&self) -> Option<&TestCa> {
        self.ca.as_ref()
    }

    /// Every request received so far (the last ones, with [`FakeAcsBuilder::history_limit`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    /// The CWMP sessions seen so far (in [`Behaviour::Cwmp`]; the last ones with
    /// [`FakeAcsBuilder::history_limit`]).
    pub fn sessions(&self) -> Vec<SessionLog> {
        self.lock().cwmp.sessions.iter().cloned().collect()
    }

    /// Every TransferComplete received for `command_key`, in order, each with whether the CPE
    /// went on in that session after the ACS acknowledged it (see [`TransferCompleteSeen`]).
    pub fn transfer_completes_for(&self, command_key: &str) -> Vec<TransferCompleteSeen> {
        let mut out = Vec::new();
        for s in self.lock().cwmp.sessions.iter() {
            for (i, env) in s.received.iter().enumerate() {
                if let Some(cwmp_soap::Envelope {
                    body: cwmp_soap::Body::TransferComplete(tc),
                    ..
                }) = env
                {
                    if tc.command_key == command_key {
                        out.push(TransferCompleteSeen {
                            message: tc.clone(),
                            cpe_went_on: i + 1 < s.received.len(),
                        });
                    }
                }
            }
        }
        out
    }

    /// How many requests were received in total.
    pub fn request_count(&self) -> usize {
        self.lock().request_count
    }

    /// How many CWMP sessions ended with a 204 in total.
    pub fn sessions_ended(&self) -> usize {
        self.lock().cwmp.ended_total
    }

    /// The most CWMP sessions that were open at once (an Inform seen, the closing 204 not
    /// yet sent). A session the CPE abandoned stays open here for good, so this is meant for
    /// tests whose sessions all end normally ("never more than one session at a time").
    pub fn max_open_sessions(&self) -> usize {
        self.lock().cwmp.max_open
    }

    /// Queue a script for a later CWMP session.
    pub fn push_script(&self, script: CwmpScript) {
        let mut st = self.lock();
        if let Behaviour::Cwmp(s) = &mut st.behaviour {
            s.append(script);
        }
    }

    /// Queue faults for the next requests.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().faults.extend(faults);
    }

    /// The most TCP connections served at once so far.
    pub fn peak_connections(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.next_conn.load(Ordering::SeqCst)
    }

    /// TLS handshakes that failed (the client refused the certificate, or vice versa).
    pub fn tls_failures(&self) -> usize {
        self.lock().tls_failures
    }

    /// Wait until at least `n` requests were recorded, or `timeout` passed. Returns whether
    /// they were.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |st| st.request_count >= n)
    }

    /// Wait until at least `n` CWMP sessions ended (204 sent), or `timeout` passed.
    pub fn wait_for_sessions(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |st| st.cwmp.ended_total >= n)
    }

    fn wait_until(&self, timeout: Duration, mut f: impl FnMut(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if f(&st) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = match self.shared.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }
}

impl Drop for FakeAcs {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        let threads = std::mem::take(
            &mut *self
                .shared
                .threads
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for t in threads {
            let _ = t.join();
        }
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
    next_conn: AtomicU64,
    active: AtomicUsize,
    max_connections: usize,
    response_delay: Duration,
    /// The most connections served at once.
    peak: AtomicUsize,
    threads: Mutex<Vec<JoinHandle<()>>>,
    observer: ObserverSlot,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not wedge the server.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug)]
struct State {
    auth: AcsAuth,
    redirects: Vec<Redirect>,
    faults: VecDeque<Fault>,
    behaviour: Behaviour,
    requests: VecDeque<RecordedRequest>,
    request_count: usize,
    history: usize,
    cwmp: cwmp::Engine,
    tls_failures: usize,
}

fn server_config(h: &HttpsOptions) -> io::Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?;
    let builder = match &h.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(rustls_pki_types::CertificateDer::from(ca.clone()))
                .map_err(io::Error::other)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(io::Error::other)?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder
        .with_single_cert(h.server.rustls_chain(), h.server.rustls_key())
        .map_err(io::Error::other)
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<Arc<rustls::ServerConfig>>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        if shared.active.load(Ordering::SeqCst) >= shared.max_connections {
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        }
        let id = shared.next_conn.fetch_add(1, Ordering::SeqCst) + 1;
        let now = shared.active.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak.fetch_max(now, Ordering::SeqCst);
        let s2 = shared.clone();
        let tls = tls.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("fake-acs-conn-{id}"))
            .spawn(move || {
                serve_connection(stream, id, &s2, tls);
                s2.active.fetch_sub(1, Ordering::SeqCst);
                s2.changed.notify_all();
            });
        match spawned {
            Ok(h) => {
                let mut threads = shared.threads.lock().unwrap_or_else(|p| p.into_inner());
                threads.retain(|t| !t.is_finished());
                threads.push(h);
            }
            Err(_) => {
                shared.active.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// A byte stream: plain TCP or TLS over TCP.
trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

/// Per-connection authentication state (GenieACS binds its Digest nonce to the connection).
#[derive(Debug, Default)]
struct ConnAuth {
    nonce: Option<String>,
    authed: bool,
}

fn serve_connection(
    tcp: TcpStream,
    id: u64,
    shared: &Shared,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    // A short read timeout lets the thread notice shutdown.
    let _ = tcp.set_read_timeout(Some(Duration::from_millis(100)));
    // A client that stops reading must not wedge the thread (and the server's shutdown).
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
    let _ = tcp.set_nodelay(true);
    let shutdown_handle = tcp.try_clone().ok();
    let is_tls = tls.is_some();
    let (mut stream, client_cert, sni): (Box<dyn Conn>, Option<Vec<u8>>, Option<String>) = match tls
    {
        None => (Box::new(tcp), None, None),
        Some(cfg) => {
            let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                return;
            };
            let mut s = rustls::StreamOwned::new(conn, tcp);
            // Finish the handshake first, so that a refused certificate is counted even when
            // no request follows.
            loop {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                if !s.conn.is_handshaking() {
                    break;
                }
                match s.conn.complete_io(&mut s.sock) {
                    Ok(_) => {}
                    Err(e)
                        if e.kind() == io::ErrorKind::WouldBlock
                            || e.kind() == io::ErrorKind::TimedOut => {}
                    Err(_) => {
                        shared.lock().tls_failures += 1;
                        shared.changed.notify_all();
                        return;
                    }
                }
            }
            let cert = s
                .conn
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.as_ref().to_vec());
            let sni = s.conn.server_name().map(str::to_string);
            (Box::new(s), cert, sni)
        }
    };
    let mut buf = Vec::new();
    let mut conn_auth = ConnAuth::default();
    loop {
        let req = match read_request(&mut *stream, &mut buf, &shared.stop) {
            Ok(ReadOutcome::Request(r)) => r,
            Ok(ReadOutcome::Bad(msg)) => {
                let _ = write_response(
                    &mut *stream,
                    400,
                    &[("Connection".into(), "close".into())],
                    msg.as_bytes(),
                );
                break;
            }
            Ok(ReadOutcome::Closed) | Ok(ReadOutcome::Stopped) | Err(_) => break,
        };
        let client_close = req.wants_close();
        let tls_info = TlsInfo {
            tls: is_tls,
            client_cert: client_cert.clone(),
            sni: sni.clone(),
        };
        let (action, recorded) = handle_request(shared, id, tls_info, &req, &mut conn_auth);
        let keep = match action {
            Action::Reply(r) => {
                // The reply's own delay plus the server-wide one (a slow ACS).
                let end = Instant::now() + r.delay + shared.response_delay;
                loop {
                    let now = Instant::now();
                    if now >= end || shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep((end - now).min(Duration::from_millis(20)));
                }
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                if let (Some(f), Some(rec)) = (&shared.observer.0, recorded) {
                    f(&rec, &r);
                }
                let close = r.closes() || client_close;
                if write_response(&mut *stream, r.status, &r.headers, &r.body).is_err() {
                    break;
                }
                !close
            }
            Action::Raw(bytes) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                false
            }
            Action::Close => false,
            Action::Stall(d) => {
                let end = Instant::now() + d;
                while Instant::now() < end && !shared.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                false
            }
        };
        if !keep {
            break;
        }
    }
    if let Some(h) = shutdown_handle {
        let _ = h.shutdown(Shutdown::Both);
    }
}

enum Action {
    Reply(Reply),
    Raw(Vec<u8>),
    Close,
    Stall(Duration),
}

/// What a request's connection negotiated.
struct TlsInfo {
    tls: bool,
    client_cert: Option<Vec<u8>>,
    sni: Option<String>,
}

fn handle_request(
    shared: &Shared,
    conn: u64,
    tls: TlsInfo,
    req: &WireRequest,
    conn_auth: &mut ConnAuth,
) -> (Action, Option<RecordedRequest>) {
    let mut st = shared.lock();
    let seq = st.request_count;
    st.request_count += 1;
    let rec = RecordedRequest {
        seq,
        connection: conn,
        method: req.method.clone(),
        path: req.target.clone(),
        headers: req.headers.clone(),
        body: req.body.clone(),
        tls: tls.tls,
        client_cert: tls.client_cert,
        sni: tls.sni,
        received_at: Instant::now(),
    };
    st.requests.push_back(rec.clone());
    while st.requests.len() > st.history {
        st.requests.pop_front();
    }
    let action = decide(shared, st, &rec, req, conn_auth);
    (action, shared.observer.0.is_some().then_some(rec))
}

fn decide(
    shared: &Shared,
    mut st: MutexGuard<'_, State>,
    rec: &RecordedRequest,
    req: &WireRequest,
    conn_auth: &mut ConnAuth,
) -> Action {
    shared.changed.notify_all();

    if let Some(f) = st.faults.pop_front() {
        return match f {
            Fault::Status(code) => Action::Reply(
                Reply::status(code)
                    .with_header("Connection", "close")
                    .with_body(http::reason(code)),
            ),
            Fault::GarbageHttp => Action::Raw(b"\x00\x01 this is not HTTP \xff\r\n\r\n".to_vec()),
            Fault::GarbageBody => Action::Reply(Reply::xml("<not-xml <<<")),
            Fault::Close => Action::Close,
            Fault::Truncated => Action::Raw(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<soap"
                    .to_vec(),
            ),
            Fault::Stall(d) => Action::Stall(d),
        };
    }

    let auth = st.auth.clone();
    match auth::check(
        &auth,
        &req.method,
        req.header("authorization"),
        &mut conn_auth.nonce,
        &mut conn_auth.authed,
    ) {
        auth::Verdict::Ok => {}
        auth::Verdict::Challenge(c) => {
            return Action::Reply(
                Reply::status(401)
                    .with_header("WWW-Authenticate", &c)
                    .with_header("Connection", "keep-alive")
                    .with_body("Unauthorized"),
            )
        }
        auth::Verdict::Rejected => {
            return Action::Reply(
                Reply::status(401)
                    .with_header("Connection", "close")
                    .with_body("Unauthorized"),
            )
        }
    }

    let path_only = req.target.split('?').next().unwrap_or("");
    if let Some(rule) = st
        .redirects
        .iter_mut()
        .find(|r| r.path == path_only && r.times != Some(0))
    {
        if let Some(t) = rule.times.as_mut() {
            *t -= 1;
        }
        return Action::Reply(
            Reply::status(rule.status)
                .with_header("Location", &rule.location)
                .with_header("Connection", "keep-alive"),
        );
    }

    let State {
        behaviour, cwmp, ..
    } = &mut *st;
    let reply = match behaviour {
        Behaviour::Replies(q) => q.pop_front().unwrap_or_else(Reply::no_content),
        Behaviour::Handler(f) => f(rec),
        Behaviour::Cwmp(script) => cwmp.handle(script, rec),
    };
    shared.changed.notify_all();
    Action::Reply(reply)
}

/// One TransferComplete the fake ACS received and acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferCompleteSeen {
    /// The message.
    pub message: cwmp_soap::TransferComplete,
    /// The CPE sent another message in the same session after the TransferCompleteResponse:
    /// proof that it processed the acknowledgement (the engine persists it before its next
    /// POST). Without it, the CPE may have died with the response unread.
    pub cpe_went_on: bool,
}

/// Check CWMP's delivery rule for the TransferCompletes of one CommandKey (TR-069 Annex A.3.3.2):
/// delivery is at-least-once, so the CPE may re-send a TransferComplete it could not know was
/// acknowledged (it died with the TransferCompleteResponse unread), but never one it provably
/// processed, and every copy carries the same result. Returns the acknowledged-and-processed
/// TransferComplete if there is one, or a description of the violation.
pub fn check_transfer_complete_delivery(
    seen: &[TransferCompleteSeen],
) -> Result<Option<&cwmp_soap::TransferComplete>, String> {
    if let Some(first) = seen.first() {
        if let Some(other) = seen.iter().find(|s| s.message != first.message) {
            return Err(format!(
                "copies differ: {:?} vs {:?}",
                first.message, other.message
            ));
        }
    }
    match seen.iter().position(|s| s.cpe_went_on) {
        Some(i) if i + 1 < seen.len() => Err(format!(
            "re-sent after the CPE had processed its acknowledgement ({} copies, processed at #{})",
            seen.len(),
            i + 1
        )),
        Some(i) => Ok(Some(&seen[i].message)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod delivery_tests {
    use super::*;

    fn seen(code: u32, went_on: bool) -> TransferCompleteSeen {
        TransferCompleteSeen {
            message: cwmp_soap::TransferComplete {
                command_key: "k".into(),
                fault_struct: cwmp_soap::TransferCompleteFaultStruct {
                    fault_code: code,
                    fault_string: String::new(),
                },
                start_time: cwmp_model::DateTime::UNKNOWN,
                complete_time: cwmp_model::DateTime::UNKNOWN,
            },
            cpe_went_on: went_on,
        }
    }

    #[test]
    fn at_least_once_but_never_after_processing() {
        assert_eq!(check_transfer_complete_delivery(&[]), Ok(None));
        // Died with the response unread, re-sent, then processed: fine.
        let ok = [seen(0, false), seen(0, false), seen(0, true)];
        assert!(check_transfer_complete_delivery(&ok).unwrap().is_some());
        // Re-sent after it was processed: the bug this guards against.
        assert!(check_transfer_complete_delivery(&[seen(0, true), seen(0, false)]).is_err());
        // A different result the second time.
        assert!(check_transfer_complete_delivery(&[seen(0, false), seen(9010, true)]).is_err());
    }
}

//! The HTTP connection-request listener (TR-069 §3.2.2): a blocking `TcpListener` on its own
//! thread, decisions by [`cwmp_connreq::ConnectionRequestServer`].
//!
//! ```text
//!  accept thread ──(≤ max_connections, else close at once)──► one thread per connection
//!     │                                                         read head (≤ 8 KiB, whole
//!     │ stop flag + a wake-up connection                        head within head_timeout)
//!     ▼                                                         ConnectionRequestServer
//!  dropped ⇒ port closed                                        write 200/401/503/404/405/400
//!                                                               accepted ⇒ handle.connection_request()
//!                                                               keep-alive only after a 401
//! ```
//!
//! Decisions where the spec is silent:
//! * **Bounds.** At most [`ConnectionRequestConfig::max_connections`] connections are served
//!   at once; one more is accepted and closed without a byte (the kernel backlog holds the
//!   rest). Each request head must arrive completely within
//!   [`ConnectionRequestConfig::head_timeout`] (slowloris) and within
//!   [`MAX_HEAD_SIZE`](cwmp_connreq::MAX_HEAD_SIZE); a connection serves at most
//!   [`MAX_REQUESTS_PER_CONNECTION`] requests (a 401 keeps it open, because GenieACS retries
//!   on the same socket; everything else closes it).
//! * **Credentials** are the engine's decision: every `ListenConnectionRequests` output
//!   carries them, and the driver replaces the snapshot here ([`Credentials`]), so an ACS
//!   change applies to the next request. Server nonces come from the client's one seed.
//! * **Order.** The engine hears of an accepted request only after its 200 was written
//!   (TR-069 §3.2.2: answer before starting the session).
//! * **Rate limit.** The driver reports every session start (`HttpListener::session_started`):
//!   each session period has one free request, further ones spend the token bucket
//!   ([`ConnectionRequestConfig::burst`], [`ConnectionRequestConfig::refill_every`]); the
//!   rule is [`cwmp_connreq::ConnectionRequestServer`]'s.

use cwmp_connreq::{
    parse_request, ConnectionRequestServer, RateLimiter, RequestError, DEFAULT_BURST,
    DEFAULT_REFILL, MAX_HEAD_SIZE,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::driver::ClientHandle;

/// Requests one connection may carry (the first, and retries after 401 challenges).
pub const MAX_REQUESTS_PER_CONNECTION: usize = 4;

/// How the driver receives connection requests (TR-069 §3.2.2, Annex G). Both are off by default,
/// so embedders that bring their own listener, and tests, are unaffected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRequestConfig {
    /// Where the HTTP connection-request listener binds (e.g. `0.0.0.0:7547`, the IANA
    /// `cwmp` port); `None` = no listener. Port 0 picks a free port (ConnectionRequestURL
    /// reports the real one). `ManagementServer.HTTPConnectionRequestEnable` (absent = true)
    /// opens and closes it at run time.
    pub http_bind: Option<SocketAddr>,
    /// Where the UDP connection-request socket binds (STUN and UDP connection requests,
    /// TR-069 Annex G; e.g. `0.0.0.0:7547`); `None` = no socket, no STUN.
    pub udp_bind: Option<SocketAddr>,
    /// Connections served at once (default 16).
    pub max_connections: usize,
    /// Time allowed for a whole request head (default 5 s).
    pub head_timeout: Duration,
    /// The Digest realm (default `"cwmp"`).
    pub realm: String,
    /// Connection requests accepted back to back beyond each session's free one (default
    /// [`DEFAULT_BURST`], 10). See [`cwmp_connreq::ConnectionRequestServer`] for what counts.
    pub burst: u32,
    /// One more request accepted per this interval in the long run (default
    /// [`DEFAULT_REFILL`], one a second; zero = no limit).
    pub refill_every: Duration,
}

impl Default for ConnectionRequestConfig {
    fn default() -> Self {
        ConnectionRequestConfig {
            http_bind: None,
            udp_bind: None,
            max_connections: 16,
            head_timeout: Duration::from_secs(5),
            realm: "cwmp".to_owned(),
            burst: DEFAULT_BURST,
            refill_every: DEFAULT_REFILL,
        }
    }
}

/// The credentials a request must carry (the engine's, from its last
/// `ListenConnectionRequests`): the one `cwmp_connreq::Credentials`.
pub(crate) use cwmp_connreq::Credentials;

struct Shared {
    server: Mutex<ConnectionRequestServer>,
    credentials: Arc<Mutex<Credentials>>,
    handle: ClientHandle,
    active: AtomicUsize,
    stop: AtomicBool,
    head_timeout: Duration,
    /// Server nonces, from the client's one seed.
    rng: Mutex<ChaCha8Rng>,
}

/// A running listener; dropping it closes the port (the accept thread is woken by a
/// connection of our own; connections in progress end within their head timeout).
pub(crate) struct HttpListener {
    local: SocketAddr,
    path: String,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for HttpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl HttpListener {
    /// Binds `bind` and serves `path`.
    pub(crate) fn start(
        bind: SocketAddr,
        path: &str,
        config: &ConnectionRequestConfig,
        credentials: Arc<Mutex<Credentials>>,
        handle: ClientHandle,
        seed: u64,
    ) -> io::Result<HttpListener> {
        let listener = TcpListener::bind(bind)?;
        let local = listener.local_addr()?;
        let shared = Arc::new(Shared {
            server: Mutex::new(
                ConnectionRequestServer::new(path, &config.realm)
                    .with_rate_limiter(RateLimiter::new(config.burst, config.refill_every)),
            ),
            credentials,
            handle,
            active: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            head_timeout: config.head_timeout,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        });
        let max = config.max_connections.max(1);
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("cwmp-connreq-http".into())
            .spawn(move || accept_loop(&listener, &s, max))?;
        log::info!("connection-request listener on {local}");
        Ok(HttpListener {
            local,
            path: path.to_owned(),
            shared,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The path served.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// A CWMP session started: a new period for the rate limit (see
    /// [`ConnectionRequestServer::session_started`]).
    pub(crate) fn session_started(&self) {
        self.shared
            .server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .session_started();
    }
}

impl Drop for HttpListener {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // The accept thread blocks in accept(): wake it with a connection of our own.
        let wake = match self.local.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => {
                SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), self.local.port())
            }
            ip if ip.is_unspecified() => {
                SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), self.local.port())
            }
            _ => self.local,
        };
        let woke = TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok();
        if let Some(t) = self.thread.take() {
            if woke {
                let _ = t.join();
            }
            // Otherwise the thread is left to end at the next connection attempt; it owns
            // the socket, so the port stays open until then (logged).
        }
        if !woke {
            log::warn!(
                "connection-request listener on {}: accept thread not woken",
                self.local
            );
        }
        log::info!("connection-request listener on {} closed", self.local);
    }
}

/// Decrements the connection count when a connection thread ends, however it ends.
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, max: usize) {
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return; // dropping the listener closes the port
        }
        match accepted {
            Ok((stream, _peer)) => {
                if shared.active.load(Ordering::SeqCst) >= max {
                    // Over the cap: close at once (the client sees a reset or EOF).
                    drop(stream);
                    continue;
                }
                shared.active.fetch_add(1, Ordering::SeqCst);
                let slot = Slot(Arc::clone(shared));
                let spawned = std::thread::Builder::new()
                    .name("cwmp-connreq-conn".into())
                    .spawn(move || {
                        let slot = slot;
                        serve(stream, &slot.0);
                    });
                if let Err(e) = spawned {
                    // The closure (and its slot) was dropped: the count is right again.
                    log::warn!("connection-request connection not served: {e}");
                }
            }
            Err(e) => {
                log::debug!("connection-request accept: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Why a request was refused, for the log and the trace; `None` for the steps of a normal
/// Digest exchange (the first request without credentials, a stale nonce).
fn refusal_reason(outcome: &cwmp_connreq::Outcome) -> Option<String> {
    use cwmp_connreq::{Outcome, Refusal};
    Some(match outcome {
        Outcome::Accepted | Outcome::Stale => return None,
        Outcome::Challenged(Refusal::MissingCredentials) => return None,
        Outcome::Challenged(r) => format!(
            "authentication failed: {}",
            match r {
                Refusal::WrongResponse => "wrong password (or a tampered request)".to_owned(),
                Refusal::WrongUsername => "unknown user name".to_owned(),
                Refusal::Replay => "a replayed nonce count".to_owned(),
                Refusal::WrongRealm => "another realm".to_owned(),
                Refusal::UriMismatch => "the digest uri is not the request's".to_owned(),
                Refusal::UnsupportedAlgorithm => "an algorithm other than MD5".to_owned(),
                Refusal::UnsupportedQop => "a qop other than auth".to_owned(),
                other => format!("{other:?}"),
            }
        ),
        Outcome::RateLimited => "too many connection requests (rate limit)".to_owned(),
        Outcome::NotFound => "not the ConnectionRequestURL's path".to_owned(),
        Outcome::MethodNotAllowed => "a method other than GET".to_owned(),
        Outcome::BadRequest(e) => format!("not a valid HTTP request ({e:?})"),
        other => format!("{other:?}"),
    })
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(shared.head_timeout));
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        let Some(reply) = read_and_decide(&mut stream, &mut buf, shared) else {
            return;
        };
        if stream.write_all(&reply.to_bytes()).is_err() || stream.flush().is_err() {
            return;
        }
        if reply.accepted() {
            shared.handle.connection_request();
        } else if let Some(reason) = refusal_reason(&reply.outcome) {
            shared
                .handle
                .connection_request_refused(reply.response.status_code(), reason);
        }
        if !reply.keep_alive || shared.stop.load(Ordering::SeqCst) {
            return;
        }
    }
}

/// Reads one request head (bounded in size and time) and decides the answer; `None` closes
/// the connection without an answer (timeout, EOF, I/O error).
fn read_and_decide(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    shared: &Shared,
) -> Option<cwmp_connreq::Reply> {
    let deadline = Instant::now() + shared.head_timeout;
    let mut chunk = [0u8; 2048];
    loop {
        match parse_request(buf) {
            Err(RequestError::Incomplete) => {}
            Err(e) => {
                let server = shared.server.lock().unwrap_or_else(|p| p.into_inner());
                return server.handle_parse_error(&e);
            }
            Ok(request) => {
                buf.drain(..request.head_len().min(buf.len()));
                let creds = shared
                    .credentials
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                let random: [u8; 16] = shared
                    .rng
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .random();
                let mut server = shared.server.lock().unwrap_or_else(|p| p.into_inner());
                return Some(server.handle(Instant::now(), &request, &creds, random));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || shared.stop.load(Ordering::SeqCst) {
            return None;
        }
        // Read no further than one byte past the head limit: the parser then reports
        // TooLarge.
        let room = (MAX_HEAD_SIZE + 1)
            .saturating_sub(buf.len())
            .min(chunk.len());
        if room == 0 {
            return None;
        }
        stream.set_read_timeout(Some(left)).ok()?;
        match stream.read(chunk.get_mut(..room)?) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(chunk.get(..n)?),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

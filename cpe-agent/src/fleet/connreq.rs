//! The fleet's one HTTP connection-request listener (TR-069 §3.2.2).
//!
//! Every phone's `ConnectionRequestURL` is `http://<address>:<port>/cr/<serial>` on the one
//! listener (`connection-request-address`); the path picks the phone, and the phone's own
//! `ConnectionRequestUsername` / `ConnectionRequestPassword` are checked by a
//! [`ConnectionRequestServer`] (Digest, rate limit) of that phone, created on its first
//! request (so idle phones that are never asked cost nothing here).
//!
//! Decisions:
//! * **Credentials.** A phone starts with `ConnectionRequestUsername` = its serial number
//!   and `ConnectionRequestPassword` = the file's `acs-request-password` item, or its serial
//!   number when the file sets none; the ACS may change both (SetParameterValues). Each
//!   phone's engine says when to listen and with which credentials
//!   (`Output::ListenConnectionRequests` / `StopConnectionRequests`); the table keeps what it
//!   last said, and a phone told to stop answers 404 like a closed port's path.
//! * **Bounds.** As the single phone's listener: at most [`MAX_CONNECTIONS`] connections at
//!   once (one more is closed at once), a whole head within [`HEAD_TIMEOUT`] and
//!   [`cwmp_connreq::MAX_HEAD_SIZE`], at most 4 requests per connection.
//! * UDP connection requests and STUN (`udp-port-range`) are not this listener's: each phone
//!   has its own UDP socket in the event loop ([`super::phone::Udp`]).

use super::config::Identities;
use super::stats::Stats;
use super::{Event, EventSender};
use cwmp_connreq::{
    parse_request, ConnectionRequestServer, Credentials, RateLimiter, RequestError, Response,
    MAX_HEAD_SIZE,
};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Time allowed for a whole request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests one connection may carry.
const MAX_REQUESTS: usize = 4;

/// The path of a phone's ConnectionRequestURL.
pub fn path_of(serial: &str) -> String {
    format!("/cr/{serial}")
}

/// What the listener knows of the phones.
pub struct CrTable {
    ids: Identities,
    credentials: Mutex<Vec<(Box<str>, Box<str>)>>,
    /// Phones whose engine said StopConnectionRequests (HTTPConnectionRequestEnable false).
    stopped: Mutex<std::collections::HashSet<u32>>,
    servers: Mutex<HashMap<u32, ConnectionRequestServer>>,
    burst: u32,
    refill: Duration,
    events: EventSender,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    active: AtomicUsize,
}

impl std::fmt::Debug for CrTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrTable").finish_non_exhaustive()
    }
}

impl CrTable {
    /// A table for the phones of `ids`.
    pub fn new(
        ids: Identities,
        burst: u32,
        refill: Duration,
        events: EventSender,
        stats: Arc<Stats>,
        stop: Arc<AtomicBool>,
    ) -> CrTable {
        let n = ids.len();
        CrTable {
            ids,
            credentials: Mutex::new(vec![(Box::from(""), Box::from("")); n]),
            stopped: Mutex::new(std::collections::HashSet::new()),
            servers: Mutex::new(HashMap::new()),
            burst,
            refill,
            events,
            stats,
            stop,
            active: AtomicUsize::new(0),
        }
    }

    /// Phone `k` listens (`true`) or not (its engine's Listen/StopConnectionRequests).
    pub fn set_listening(&self, k: u32, on: bool) {
        let mut s = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            s.remove(&k);
        } else {
            s.insert(k);
        }
    }

    /// Phone `k`'s current credentials.
    pub fn set_credentials(&self, k: u32, user: &str, pass: &str) {
        let mut c = self.credentials.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = c.get_mut(k as usize) {
            if &*e.0 != user || &*e.1 != pass {
                *e = (user.into(), pass.into());
            }
        }
    }

    /// Phone `k` started a session: a new rate-limit period.
    pub fn session_started(&self, k: u32) {
        let mut s = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(server) = s.get_mut(&k) {
            server.session_started();
        }
    }

    /// Decide one request.
    /// The reply, the head's length, and the phone to tell when the request was accepted.
    fn decide(
        &self,
        buffer: &[u8],
    ) -> Result<(cwmp_connreq::Reply, usize, Option<u32>), RequestError> {
        let request = parse_request(buffer)?;
        let len = request.head_len();
        let path = request.path().into_owned();
        let k = path
            .strip_prefix("/cr/")
            .and_then(|serial| self.ids.local_of_serial(serial))
            .filter(|k| {
                !self
                    .stopped
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains(k)
            });
        let Some(k) = k else {
            let reply = cwmp_connreq::Reply {
                response: Response::NotFound,
                keep_alive: false,
                outcome: cwmp_connreq::Outcome::NotFound,
            };
            return Ok((reply, len, None));
        };
        let (user, pass) = {
            let c = self.credentials.lock().unwrap_or_else(|p| p.into_inner());
            c.get(k as usize)
                .map(|(u, p)| (u.to_string(), p.to_string()))
                .unwrap_or_default()
        };
        let mut servers = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        let server = servers.entry(k).or_insert_with(|| {
            ConnectionRequestServer::new(&path, "cwmp")
                .with_rate_limiter(RateLimiter::new(self.burst, self.refill))
        });
        let reply = server.handle(
            Instant::now(),
            &request,
            &Credentials::new(user, pass),
            rand::random(),
        );
        drop(servers);
        if reply.accepted() {
            self.stats
                .connection_requests
                .fetch_add(1, Ordering::Relaxed);
        } else if !matches!(
            reply.outcome,
            cwmp_connreq::Outcome::Challenged(cwmp_connreq::Refusal::MissingCredentials)
                | cwmp_connreq::Outcome::Stale
        ) {
            self.stats
                .connection_requests_refused
                .fetch_add(1, Ordering::Relaxed);
        }
        // After the 200 is written (see `serve`), the phone hears of it.
        let tell = reply.accepted().then_some(k);
        Ok((reply, len, tell))
    }
}

/// Bind `addr` and serve until `table.stop`; returns the bound address.
pub fn start(addr: SocketAddr, table: Arc<CrTable>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("fleet-connreq".into())
        .spawn(move || accept_loop(listener, table))?;
    Ok(local)
}

fn accept_loop(listener: TcpListener, table: Arc<CrTable>) {
    while !table.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if table.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                    table.active.fetch_sub(1, Ordering::SeqCst);
                    drop(stream);
                    continue;
                }
                let t = table.clone();
                let spawned = std::thread::Builder::new()
                    .name("fleet-connreq-conn".into())
                    .stack_size(128 * 1024)
                    .spawn(move || {
                        serve(stream, &t);
                        t.active.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    table.active.fetch_sub(1, Ordering::SeqCst);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn serve(mut stream: TcpStream, table: &CrTable) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let mut buffer: Vec<u8> = Vec::with_capacity(1024);
    for _ in 0..MAX_REQUESTS {
        let deadline = Instant::now() + HEAD_TIMEOUT;
        let decided = loop {
            match table.decide(&buffer) {
                Err(RequestError::Incomplete) => {}
                Err(e) => {
                    if let Some(r) = e.response() {
                        let _ = stream.write_all(&r.to_bytes(false));
                    }
                    return;
                }
                Ok(d) => break d,
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || buffer.len() > MAX_HEAD_SIZE {
                return;
            }
            let _ = stream.set_read_timeout(Some(left));
            let mut chunk = [0u8; 2048];
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let (reply, len, tell) = decided;
        if stream.write_all(&reply.to_bytes()).is_err() {
            return;
        }
        if let Some(k) = tell {
            table.events.send(Event::ConnectionRequest(k));
        }
        if !reply.keep_alive {
            return;
        }
        buffer.drain(..len.min(buffer.len()));
    }
}

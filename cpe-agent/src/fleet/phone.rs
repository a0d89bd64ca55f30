//! One simulated phone of the fleet: a sans-IO [`Agent`] over its own Desk Phone store, and
//! the one place where engine outputs are handled ([`FleetPhone::drain`]).
//!
//! A phone lives in the event loop's table. Idle, it is only its agent and store (no socket,
//! no buffer). In a session it also holds the session's sans-IO HTTP core
//! ([`SessionHttp`]) and its one keep-alive connection ([`Conn`]), driven by the loop's
//! readiness events ([`FleetPhone::begin_post`], [`FleetPhone::on_ready`]). A download is
//! the one blocking job: the phone goes to a download worker and comes back. Outputs that
//! need no I/O (persist, reboot, factory reset, session bookkeeping) are handled in
//! [`FleetPhone::drain`].

use super::config::StateMode;
use super::net::Conn;
use super::stats::Outcome;
use super::Shared;
use cwmp_client::http1::{Received, SessionHttp};
use cwmp_client::{Credentials, HttpResponse, PostRequest, TlsSettings};
use cwmp_engine::{
    Agent, BootReason, DownloadRequest, HttpCredentials, Input, Now, Output, SoapAction,
};
use cwmp_model::{BackendError, DateTime, ItemBackend, ItemBatch, ParameterStore, SchemaStore};
use deskphone_datamodel::{DeskPhoneLive, FileBackend};
use std::path::PathBuf;
use std::time::Instant;

/// The items of an in-memory phone: only what differs from the shared factory defaults
/// (its MAC address, its connection-request credentials and URL, what the ACS set), in a
/// sorted vector: a few hundred bytes for an idle phone.
#[derive(Debug, Default)]
pub struct MemItems(Vec<(Box<str>, Box<str>)>);

impl ItemBackend for MemItems {
    fn get(&self, key: &str) -> Option<String> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| self.0[i].1.to_string())
    }

    fn commit(&mut self, batch: ItemBatch) -> Result<(), BackendError> {
        // Nothing here can fail, so applying in place is all-or-nothing.
        for (key, value) in batch {
            match (self.0.binary_search_by(|(k, _)| (**k).cmp(&key)), value) {
                (Ok(i), Some(v)) => self.0[i].1 = v.into(),
                (Ok(i), None) => {
                    self.0.remove(i);
                }
                (Err(i), Some(v)) => self.0.insert(i, (key.into(), v.into())),
                (Err(_), None) => {}
            }
        }
        self.0.shrink_to_fit();
        Ok(())
    }

    fn keys(&self) -> Vec<String> {
        self.0.iter().map(|(k, _)| k.to_string()).collect()
    }
}

/// A phone's items: in memory, or in `state-dir/phones/<serial>/items.toml`.
#[derive(Debug)]
pub enum PhoneBackend {
    /// `state = "memory"`.
    Memory(MemItems),
    /// `state = "disk"`.
    Disk(FileBackend),
}

impl ItemBackend for PhoneBackend {
    fn get(&self, key: &str) -> Option<String> {
        match self {
            PhoneBackend::Memory(m) => m.get(key),
            PhoneBackend::Disk(d) => d.get(key),
        }
    }

    fn commit(&mut self, batch: ItemBatch) -> Result<(), BackendError> {
        match self {
            PhoneBackend::Memory(m) => m.commit(batch),
            PhoneBackend::Disk(d) => d.commit(batch),
        }
    }

    fn keys(&self) -> Vec<String> {
        match self {
            PhoneBackend::Memory(m) => m.keys(),
            PhoneBackend::Disk(d) => d.keys(),
        }
    }
}

/// The phone's parameter store.
pub type PhoneStore = SchemaStore<PhoneBackend>;

/// One POST as the engine asked for it ([`Output::SendPost`]).
#[derive(Debug)]
pub struct Post {
    /// Where to POST (the ACS URL, or where the Inform was redirected).
    pub url: String,
    /// The envelope, `None` for an empty POST.
    pub body: Option<Vec<u8>>,
    /// The SOAPAction header.
    pub soap_action: SoapAction,
    /// The session.
    pub session_id: u64,
    /// The `Cookie` header the engine keeps for the session.
    pub cookie: Option<String>,
    /// How long to wait for the response (30 s, or the ACS's `cwmp:SessionTimeout`).
    pub timeout: std::time::Duration,
    /// The ACS credentials.
    pub credentials: Option<HttpCredentials>,
}

/// What the engine needs done with I/O.
#[derive(Debug)]
pub enum Job {
    /// POST this (the first POST of a session, or the next one): the event loop.
    Post(Post),
    /// Perform this download: a download worker.
    Download(DownloadRequest),
}

/// The session in progress.
#[derive(Debug)]
struct SessionState {
    id: u64,
    /// The first POST's start.
    started: Option<Instant>,
    http: Option<SessionHttp>,
    conn: Option<Conn>,
    /// The body of the POST in flight (kept to answer a challenge).
    body: Vec<u8>,
    /// When the POST in flight times out.
    deadline: Option<Instant>,
    /// Why the session is failing, from the last exchange.
    failure: Option<(Outcome, String)>,
}

impl SessionState {
    fn new(id: u64) -> Box<SessionState> {
        Box::new(SessionState {
            id,
            started: None,
            http: None,
            conn: None,
            body: Vec::new(),
            deadline: None,
            failure: None,
        })
    }
}

/// A phone's UDP connection-request socket (TR-069 Annex G: STUN goes out from it, UDP
/// connection requests come in on it), when the fleet has `udp-port-range`.
#[derive(Debug)]
pub struct Udp {
    sock: mio::net::UdpSocket,
    /// The address the engine was told (`Input::UdpBound`).
    local: std::net::SocketAddr,
    /// Datagrams forwarded in the current second, and when that second began.
    forwarded: u32,
    window: Instant,
}

impl Udp {
    /// Bind `bind`, register it under `token` and remember `local` as what the ACS sees.
    pub fn bind(
        registry: &mio::Registry,
        token: mio::Token,
        bind: std::net::SocketAddr,
        local: std::net::SocketAddr,
    ) -> std::io::Result<Udp> {
        let mut sock = mio::net::UdpSocket::bind(bind)?;
        registry.register(&mut sock, token, mio::Interest::READABLE)?;
        Ok(Udp {
            sock,
            local,
            forwarded: 0,
            window: Instant::now(),
        })
    }
}

/// One phone.
pub struct FleetPhone {
    /// Index in this process's table.
    pub k: u32,
    /// The engine.
    pub agent: Agent,
    /// The store.
    pub store: PhoneStore,
    /// A small counter-based seed source (HTTP cnonces, reboots).
    seed: u64,
    session: Option<Box<SessionState>>,
    /// When the last session failed (for the retry-window check in the summary).
    failed_at: Option<Instant>,
    /// The engine's retry deadline before the last input: a session that starts before it
    /// was started by a new event, which cuts the wait short (TR-069 §3.2.1.1 as the digest
    /// §3.3 reads it), not an early retry.
    retry_deadline: Option<Instant>,
    /// The UDP connection-request socket, when the fleet has `udp-port-range`.
    udp: Option<Udp>,
}

impl std::fmt::Debug for FleetPhone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetPhone")
            .field("k", &self.k)
            .finish_non_exhaustive()
    }
}

/// The items a phone starts with beyond the fleet's factory defaults.
fn identity_items(sh: &Shared, k: u32) -> Vec<(String, String)> {
    let serial = sh.ids.serial(k);
    let mut items = vec![
        (
            "mac-address".to_owned(),
            super::config::format_mac(sh.ids.mac(k)),
        ),
        ("acs-request-username".to_owned(), serial.clone()),
    ];
    if sh.default_cr_password.is_none() {
        items.push(("acs-request-password".to_owned(), serial.clone()));
    }
    if let Some(base) = &sh.cr_base {
        items.push((
            "acs-request-address".to_owned(),
            format!("{base}{}", super::connreq::path_of(&serial)),
        ));
    }
    items
}

/// The per-phone state directory (disk mode).
pub fn phone_dir(sh: &Shared, k: u32) -> PathBuf {
    sh.state_dir.join("phones").join(sh.ids.serial(k))
}

fn now_of(sh: &Shared) -> Now {
    Now::new(Instant::now(), (sh.wall_clock)())
}

impl FleetPhone {
    /// Create (memory) or open (disk) phone `k` and start its engine.
    pub fn boot(sh: &Shared, k: u32) -> Result<FleetPhone, String> {
        let serial = sh.ids.serial(k);
        let (backend, state, first) = match sh.state_mode {
            StateMode::Memory => (
                PhoneBackend::Memory(MemItems::default()),
                cwmp_engine::PersistentState::new(),
                true,
            ),
            StateMode::Disk => {
                let dir = phone_dir(sh, k);
                crate::state::ensure_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let first = !dir.join(crate::state::ITEMS_FILE).exists();
                let backend = FileBackend::open(&dir).map_err(|e| format!("{serial}: {e}"))?;
                let state = crate::state::load_cwmp_state(&dir)
                    .map_err(|e| format!("{serial}: CWMP state: {e}"))?;
                (PhoneBackend::Disk(backend), state, first)
            }
        };
        let mut store = open_store(sh, backend, &serial)?;
        if first {
            let mut items = identity_items(sh, k);
            if sh.state_mode == StateMode::Disk {
                // Explicit on disk, as the single phone writes its file's items at first
                // start; in memory the shared factory defaults already read as them.
                items.extend(sh.phone_items.iter().cloned());
            }
            let mut seen = std::collections::HashSet::new();
            items.retain(|(n, _)| seen.insert(n.clone()));
            deskphone_datamodel::apply_items(&mut store, &sh.model, &items)
                .map_err(|e| format!("{serial}: {}", crate::phone::set_error_text(&e)))?;
            if let Some(anchor) = sh.periodic_anchor(k) {
                store
                    .set_internal("Device.ManagementServer.PeriodicInformTime", &anchor)
                    .map_err(|f| format!("{serial}: PeriodicInformTime: {}", f.message))?;
            }
        } else if let Some(base) = &sh.cr_base {
            // The listener's address may differ from the last run's.
            let url = format!("{base}{}", super::connreq::path_of(&serial));
            let item = [("acs-request-address".to_owned(), url)];
            if sh.model.item_value(store.backend(), &item[0].0).as_deref() != Some(&item[0].1) {
                let _ = deskphone_datamodel::apply_items(&mut store, &sh.model, &item);
            }
        }
        let seed = splitmix(u64::from(k) ^ sh.seed);
        let agent = Agent::new(
            sh.agent_config.clone(),
            state,
            BootReason::PowerOn,
            seed,
            now_of(sh),
        )
        .map_err(|e| format!("{serial}: {e}"))?;
        let phone = FleetPhone {
            k,
            agent,
            store,
            seed,
            session: None,
            failed_at: None,
            retry_deadline: None,
            udp: None,
        };
        Ok(phone)
    }

    fn next_seed(&mut self) -> u64 {
        self.seed = splitmix(self.seed);
        self.seed
    }

    /// Feed one input now.
    pub fn input(&mut self, sh: &Shared, input: Input) {
        let now = now_of(sh);
        self.retry_deadline = self.agent.timer(cwmp_engine::Timer::Retry);
        self.agent.handle_input(&mut self.store, now, input);
    }

    /// The drain rule: act on every output until the engine needs blocking I/O (returned)
    /// or has nothing more to say (`None`).
    pub fn drain(&mut self, sh: &Shared) -> Option<Job> {
        while let Some(out) = self.agent.poll_output() {
            match out {
                Output::SessionStarted { session_id } => {
                    self.check_retry_window(sh);
                    self.session = Some(SessionState::new(session_id));
                    if let Some(cr) = &sh.connreq {
                        cr.session_started(self.k);
                    }
                }
                Output::SendPost {
                    url,
                    body,
                    soap_action,
                    session_id,
                    cookie,
                    timeout,
                    credentials,
                    ..
                } => {
                    return Some(Job::Post(Post {
                        url,
                        body,
                        soap_action,
                        session_id,
                        cookie,
                        timeout,
                        credentials,
                    }))
                }
                Output::SessionEnded { ok, .. } => self.session_ended(sh, ok),
                // In memory the engine's own copy is the state (a reboot starts the new
                // engine from `Agent::persistent_state`); on disk it is written atomically.
                Output::Persist(state) if sh.state_mode == StateMode::Disk => {
                    let dir = phone_dir(sh, self.k);
                    if let Err(e) = crate::state::save_cwmp_state(&dir, &state) {
                        log::error!("{}: persisting the CWMP state: {e}", sh.ids.serial(self.k));
                    }
                }
                Output::Reboot { .. } => self.reboot(sh, false),
                Output::FactoryReset => self.reboot(sh, true),
                Output::Download(req) => return Some(Job::Download(req)),
                // The engine decides listening and credentials; the fleet's one listener
                // performs it and answers with its address (the engine writes the URL).
                Output::ListenConnectionRequests {
                    credentials, path, ..
                } => {
                    let input = match (&sh.connreq, sh.cr_local) {
                        (Some(cr), Some(local)) => {
                            let expected = super::connreq::path_of(&sh.ids.serial(self.k));
                            if path != expected {
                                log::warn!(
                                    "{}: the engine asks for path {path}, the fleet serves {expected}",
                                    sh.ids.serial(self.k)
                                );
                            }
                            cr.set_credentials(
                                self.k,
                                &credentials.username,
                                credentials.password.expose(),
                            );
                            cr.set_listening(self.k, true);
                            Input::ConnectionRequestListening { local }
                        }
                        _ => Input::ConnectionRequestListenFailed {
                            reason: "the fleet has no connection-request-address".into(),
                        },
                    };
                    self.input(sh, input);
                }
                Output::StopConnectionRequests => {
                    if let Some(cr) = &sh.connreq {
                        cr.set_listening(self.k, false);
                    }
                }
                // STUN Binding Requests (TR-069 Annex G) from the phone's UDP socket.
                Output::SendDatagram { to, payload } => {
                    if let Some(u) = &self.udp {
                        if let Err(e) = u.sock.send_to(&payload, to) {
                            log::debug!("{}: datagram to {to}: {e}", sh.ids.serial(self.k));
                        }
                    }
                }
                Output::ResolveStunServer { host, port } => {
                    let addr = sh.resolve(&host, port).ok();
                    self.input(sh, Input::StunServerResolved { addr });
                }
                // Trace is off.
                _ => {}
            }
        }
        None
    }

    /// A session that follows a failed one is a retry: was it started within the TR-069
    /// §3.2.1.1 window for its RetryCount (`ManagementServer.CWMPRetryMinimumWaitInterval`,
    /// `CWMPRetryIntervalMultiplier`)? Counted in the summary (`retries`). A retry caused by
    /// a connection request or another new event comes before the wait's end, legitimately
    /// (counted apart as `started_by_new_event`).
    fn check_retry_window(&mut self, sh: &Shared) {
        let Some(failed) = self.failed_at.take() else {
            return;
        };
        if self.retry_deadline.is_some_and(|d| Instant::now() < d) {
            sh.stats.retry_cut_short();
            return;
        }
        let gap = failed.elapsed();
        let item = |name: &str, default: u32| {
            sh.model
                .item_value(self.store.backend(), name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let m = item(
            "acs-retry-min-wait-interval",
            cwmp_engine::DEFAULT_RETRY_MINIMUM_WAIT,
        );
        let k = item(
            "acs-retry-interval-multiplier",
            cwmp_engine::DEFAULT_RETRY_MULTIPLIER,
        );
        let (lo, hi) = cwmp_engine::retry_wait_range(self.agent.retry_count(), m, k);
        sh.stats.retry(gap, lo, hi);
    }

    fn session_ended(&mut self, sh: &Shared, ok: bool) {
        if !ok && !sh.stopping() {
            self.failed_at = Some(Instant::now());
        }
        let s = self.session.take();
        let serial = sh.ids.serial(self.k);
        let latency = s.as_ref().and_then(|s| s.started).map(|t| t.elapsed());
        let (outcome, why) = if ok {
            (Outcome::Ok, String::new())
        } else if sh.stopping() {
            (Outcome::Stopped, "fleet stopping".into())
        } else {
            s.and_then(|s| s.failure)
                .unwrap_or((Outcome::CwmpFault, "session failed".into()))
        };
        sh.stats.session(&serial, outcome, latency, &why);
    }

    /// Reboot (or factory reset, then reboot) in process: a new store view (UpTime from
    /// zero) and a new engine from the state it persisted, started for `PowerOn`.
    pub fn reboot(&mut self, sh: &Shared, factory_reset: bool) {
        sh.stats
            .reboots
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let serial = sh.ids.serial(self.k);
        if factory_reset {
            if let Err(f) = self.store.factory_reset() {
                log::error!("{serial}: factory reset: {}", f.message);
            }
            // The phone's identity survives a reset (hardware), like the single phone's
            // configuration-file items.
            let mut items = identity_items(sh, self.k);
            if sh.state_mode == StateMode::Disk {
                items.extend(sh.phone_items.iter().cloned());
            }
            let mut seen = std::collections::HashSet::new();
            items.retain(|(n, _)| seen.insert(n.clone()));
            let _ = deskphone_datamodel::apply_items(&mut self.store, &sh.model, &items);
        }
        let state = self.agent.persistent_state();
        self.restart_engine(sh, state);
    }

    /// Start a new engine from `state` (a boot).
    pub fn restart_engine(&mut self, sh: &Shared, state: cwmp_engine::PersistentState) {
        let serial = sh.ids.serial(self.k);
        let backend = std::mem::replace(
            self.store.backend_mut(),
            PhoneBackend::Memory(MemItems::default()),
        );
        match open_store(sh, backend, &serial) {
            Ok(s) => self.store = s,
            Err(e) => log::error!("{serial}: reopening the store: {e}"),
        }
        self.session = None;
        let seed = self.next_seed();
        match Agent::new(
            sh.agent_config.clone(),
            state,
            BootReason::PowerOn,
            seed,
            now_of(sh),
        ) {
            Ok(a) => self.agent = a,
            Err(e) => log::error!("{serial}: restarting the engine: {e}"),
        }
        // A new engine learns the UDP socket again, then the boot session starts at once
        // (the engine's first Timeout).
        if let Some(local) = self.udp.as_ref().map(|u| u.local) {
            self.input(sh, Input::UdpBound { local });
        }
        self.input(sh, Input::Timeout);
    }

    /// Give the phone its UDP socket and tell the engine where it is.
    pub fn attach_udp(&mut self, sh: &Shared, udp: Udp) {
        let local = udp.local;
        self.udp = Some(udp);
        self.input(sh, Input::UdpBound { local });
    }

    /// Read every datagram waiting on the phone's UDP socket (edge-triggered readiness: until
    /// it would block) and hand at most [`cwmp_client::MAX_DATAGRAMS_PER_SECOND`] a second
    /// to the engine (STUN responses, UDP connection requests); the rest are dropped, so a
    /// flood costs reads, never memory. Returns whether the engine got any.
    pub fn on_udp(&mut self, sh: &Shared) -> bool {
        let mut got = Vec::new();
        let Some(u) = self.udp.as_mut() else {
            return false;
        };
        let mut buf = [0u8; 2048];
        let mut errors = 0;
        loop {
            match u.sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    if u.window.elapsed() >= std::time::Duration::from_secs(1) {
                        u.window = Instant::now();
                        u.forwarded = 0;
                    }
                    if u.forwarded < cwmp_client::MAX_DATAGRAMS_PER_SECOND {
                        u.forwarded += 1;
                        got.push((from, buf[..n].to_vec()));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // An ICMP error of an earlier send (a STUN server down) reads as an error
                // once; the datagrams behind it are still there.
                Err(_) => {
                    errors += 1;
                    if errors > 8 {
                        break;
                    }
                }
            }
        }
        let any = !got.is_empty();
        for (from, payload) in got {
            self.input(sh, Input::Datagram { from, payload });
        }
        any
    }

    /// Whether the phone is in a CWMP session.
    pub fn in_session(&self) -> bool {
        self.session.is_some()
    }

    /// The deadline of the POST on the wire, if one is.
    pub fn post_in_flight(&self) -> Option<Instant> {
        self.session.as_ref().and_then(|s| s.deadline)
    }

    /// Start one POST of the current session: the session's HTTP core frames it and the
    /// request is queued on the session's connection (opened, with TLS for https, when there
    /// is none or the ACS closed it). On an error the POST has failed: the caller feeds it
    /// to [`finish_post`](Self::finish_post).
    pub fn begin_post(
        &mut self,
        sh: &Shared,
        post: Post,
        registry: &mio::Registry,
    ) -> Result<(), cwmp_client::Error> {
        if sh.stopping() {
            return Err(cwmp_client::Error::Shutdown);
        }
        let seed = self.next_seed();
        let s = match &mut self.session {
            Some(s) if s.id == post.session_id => s,
            other => other.insert(SessionState::new(post.session_id)),
        };
        let now = Instant::now();
        s.started.get_or_insert(now);
        s.deadline = Some(now + post.timeout);
        if s.http.is_none() {
            let credentials = post
                .credentials
                .as_ref()
                .map(|c| Credentials::new(c.username.clone(), c.password.clone()));
            s.http = Some(SessionHttp::new(
                &sh.transport,
                &post.url,
                credentials,
                seed,
            )?);
        }
        let Some(http) = s.http.as_mut() else {
            return Err(cwmp_client::Error::Shutdown);
        };
        http.begin(&PostRequest {
            url: &post.url,
            body: post.body.as_deref(),
            soap_action: post.soap_action.header_value(),
            cookie: post.cookie.as_deref(),
            timeout: post.timeout,
        })?;
        s.body = post.body.unwrap_or_default();
        self.send_attempt(sh, registry)
    }

    /// Queue the HTTP core's current request, on a new connection when it needs one.
    fn send_attempt(
        &mut self,
        sh: &Shared,
        registry: &mio::Registry,
    ) -> Result<(), cwmp_client::Error> {
        let token = mio::Token(self.k as usize);
        let target = match self.session.as_deref() {
            Some(SessionState {
                http: Some(h),
                conn,
                ..
            }) if h.needs_connection() || conn.is_none() => Some(h.url().clone()),
            Some(_) => None,
            None => return Err(cwmp_client::Error::Shutdown),
        };
        if let Some(url) = target {
            let tls = if url.is_https() {
                Some((self.tls_config(sh)?, cwmp_client::server_name(url.host())?))
            } else {
                None
            };
            let addr = sh.resolve(url.host(), url.port())?;
            let Some(s) = self.session.as_mut() else {
                return Err(cwmp_client::Error::Shutdown);
            };
            if let Some(old) = s.conn.take() {
                old.close();
            }
            s.conn = Some(Conn::connect(registry, token, addr, tls)?);
            if let Some(h) = s.http.as_mut() {
                h.connected();
            }
        }
        let Some(s) = self.session.as_mut() else {
            return Err(cwmp_client::Error::Shutdown);
        };
        let (Some(http), Some(conn)) = (s.http.as_ref(), s.conn.as_mut()) else {
            return Err(cwmp_client::Error::Shutdown);
        };
        conn.queue(http.head(), &s.body)?;
        // A new connection is written when its connect completes (the first writable event).
        if conn.established() {
            conn.pump(false)?;
        }
        Ok(())
    }

    /// Readiness on the session's connection: move bytes, and return the POST's result once
    /// there is one (`None`: not yet).
    /// `closed`: the readiness event said the peer closed its side.
    pub fn on_ready(
        &mut self,
        sh: &Shared,
        registry: &mio::Registry,
        closed: bool,
    ) -> Option<Result<HttpResponse, cwmp_client::Error>> {
        loop {
            let s = self.session.as_mut()?;
            let (http, conn) = (s.http.as_mut()?, s.conn.as_mut()?);
            if let Err(e) = conn.pump(closed) {
                return Some(Err(e));
            }
            // The core uses all it can of the input at once; `More` means "read more".
            let mut resend = false;
            if !conn.input().is_empty() {
                match http.receive(conn.input(), &s.body) {
                    Err(e) => return Some(Err(e)),
                    Ok((used, r)) => {
                        conn.consume(used);
                        match r {
                            Received::More => {}
                            Received::Response(r) => return Some(Ok(r)),
                            Received::Resend => resend = true,
                        }
                    }
                }
            }
            if !resend && conn.eof {
                return Some(match http.end_of_input(&s.body) {
                    Ok(Received::Response(r)) => Ok(r),
                    Ok(_) => Err(cwmp_client::Error::Io(cwmp_client::Detail::new(
                        "the ACS closed the connection",
                    ))),
                    Err(e) => Err(e),
                });
            }
            if !resend {
                if conn.more {
                    continue; // the read budget ran out: read on
                }
                return None;
            }
            // A 401 answered: the request again (on a new connection when the ACS closed).
            if let Err(e) = self.send_attempt(sh, registry) {
                return Some(Err(e));
            }
        }
    }

    /// The POST's result: count it, close the connection when it is finished, and feed the
    /// engine.
    pub fn finish_post(&mut self, sh: &Shared, result: Result<HttpResponse, cwmp_client::Error>) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.deadline = None;
        let keep = result.is_ok()
            && s.http.as_ref().is_some_and(|h| !h.must_close())
            && s.conn.as_ref().is_some_and(|c| !c.eof);
        if !keep {
            if let Some(c) = s.conn.take() {
                c.close();
            }
            if let Some(h) = s.http.as_mut() {
                h.connection_lost();
            }
        }
        let input = match result {
            Ok(r) => {
                if let Some(m) = body_method(&r.body) {
                    sh.stats.rpc(m);
                }
                s.failure = match r.status {
                    200 | 204 => Some((
                        Outcome::CwmpFault,
                        "the ACS's answer failed the session".into(),
                    )),
                    st => Some((Outcome::HttpStatus(st), format!("HTTP status {st}"))),
                };
                r.into_input()
            }
            Err(e) => {
                s.failure = Some((classify(&e), e.to_string()));
                Input::HttpFailed {
                    reason: e.to_string(),
                }
            }
        };
        self.input(sh, input);
    }

    /// Close the session's connection (the session ended, or the fleet stops).
    pub fn close_connection(&mut self) {
        if let Some(s) = self.session.as_mut() {
            s.deadline = None;
            if let Some(c) = s.conn.take() {
                c.close();
            }
        }
    }

    /// The rustls configuration for this phone's certificate items (shared by every phone
    /// with the same items: building one copies the trust anchors).
    fn tls_config(
        &self,
        sh: &Shared,
    ) -> Result<std::sync::Arc<rustls::ClientConfig>, cwmp_client::Error> {
        let item = |name: &str| sh.model.item_value(self.store.backend(), name);
        let key = [
            "acs-server-ca-certificate-1",
            "acs-server-ca-certificate-2",
            "acs-client-certificate",
            "acs-client-key",
        ]
        .iter()
        .map(|n| item(n).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\u{0}");
        sh.tls_config(&key, || self.tls(sh)?.client_config())
    }

    /// TLS settings from the phone's certificate items (no default device certificate in
    /// the fleet: generating 10,000 keys would dominate the start-up).
    pub fn tls(&self, sh: &Shared) -> Result<TlsSettings, cwmp_client::Error> {
        let item = |name: &str| {
            sh.model
                .item_value(self.store.backend(), name)
                .filter(|v| !v.trim().is_empty())
        };
        let mut tls = TlsSettings::new();
        for ca in ["acs-server-ca-certificate-1", "acs-server-ca-certificate-2"] {
            if let Some(pem) = item(ca) {
                tls = tls.with_ca_pem(&pem)?;
            }
        }
        if let (Some(c), Some(k)) = (item("acs-client-certificate"), item("acs-client-key")) {
            tls = tls.with_identity(cwmp_client::ClientIdentity::from_pem(&c, &k)?);
        }
        Ok(tls)
    }
}

fn open_store(sh: &Shared, backend: PhoneBackend, serial: &str) -> Result<PhoneStore, String> {
    let live = DeskPhoneLive::new(&super::config::format_mac(
        super::config::parse_mac(serial).unwrap_or(0),
    ))
    .map_err(|e| format!("{serial}: {e}"))?;
    Ok(
        SchemaStore::with_shared(&sh.schema, backend, Box::new(live))
            .with_extra_reset_keys(sh.extra_reset_keys.iter().cloned()),
    )
}

/// How a transport error counts in the summary.
pub fn classify(e: &cwmp_client::Error) -> Outcome {
    use cwmp_client::Error as E;
    match e {
        E::Timeout(_) => Outcome::Timeout,
        E::Connect(m) if m.message().to_ascii_lowercase().contains("refused") => {
            Outcome::ConnectionRefused
        }
        E::Shutdown => Outcome::Stopped,
        _ => Outcome::Transport,
    }
}

/// The local name of the SOAP Body's first child element (the RPC the ACS sent), found by
/// a bounded scan of the first 8 KiB; `None` when there is none. Only for statistics: the
/// engine parses the message properly.
pub fn body_method(body: &[u8]) -> Option<&str> {
    let head = &body[..body.len().min(8192)];
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // Cut inside a multi-byte character: use the valid prefix.
        std::str::from_utf8(&head[..head.len().saturating_sub(3)]).ok()
    })?;
    let mut rest = text;
    // Find the Body start tag (any prefix), then the next element start tag.
    loop {
        let i = rest.find('<')?;
        rest = &rest[i + 1..];
        let end = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
        let name = &rest[..end];
        let local = name.rsplit(':').next().unwrap_or(name);
        if local == "Body" && !name.starts_with('/') {
            break;
        }
    }
    loop {
        let i = rest.find('<')?;
        rest = &rest[i + 1..];
        if rest.starts_with('!') || rest.starts_with('?') {
            continue;
        }
        if rest.starts_with('/') {
            return None;
        }
        let end = rest.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
        let name = &rest[..end];
        let local = name.rsplit(':').next().unwrap_or(name);
        return (!local.is_empty()
            && local.len() <= 64
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        .then_some(local);
    }
}

/// A periodic-inform anchor `offset` seconds after 2001-01-01T00:00:00Z.
pub fn anchor_time(offset: u32) -> String {
    DateTime::from_unix(978_307_200 + i64::from(offset))
        .unwrap_or(DateTime::UNKNOWN)
        .to_xsd()
}

/// SplitMix64: a tiny, well-mixed step for per-phone seeds.
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_items_commit_and_read() {
        let mut m = MemItems::default();
        m.commit(vec![
            ("b".into(), Some("2".into())),
            ("a".into(), Some("1".into())),
        ])
        .unwrap();
        assert_eq!(m.get("a").as_deref(), Some("1"));
        m.commit(vec![("a".into(), None), ("c".into(), Some("3".into()))])
            .unwrap();
        assert_eq!(m.get("a"), None);
        assert_eq!(m.keys(), ["b", "c"]);
    }

    #[test]
    fn body_methods() {
        let gpv = br#"<soap:Envelope xmlns:soap="x"><soap:Header><cwmp:ID>1</cwmp:ID></soap:Header><soap:Body><cwmp:GetParameterValues><x/></cwmp:GetParameterValues></soap:Body></soap:Envelope>"#;
        assert_eq!(body_method(gpv), Some("GetParameterValues"));
        assert_eq!(body_method(b""), None);
        assert_eq!(body_method(b"<Body></Body>"), None);
        assert_eq!(body_method(b"<Body><"), None);
        assert_eq!(body_method(&[0xff; 100]), None);
        assert_eq!(anchor_time(0), "2001-01-01T00:00:00Z");
    }
}

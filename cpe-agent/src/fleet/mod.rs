//! `cpe-agent fleet`: thousands of simulated Desk Phone CPs in one process, for load-testing
//! an ACS.
//!
//! ```text
//!              ┌──────────────────── event loop (the calling thread) ────────────────────┐
//!   boot-rate  │ table: phone k = Idle | in a session | at a download worker | not booted │
//!   ─────────► │ timer heap over idle phones' poll_timeout; due → Input::Timeout          │
//!              │ mio poll: phone k's connection is token k; readiness → on_ready → the    │
//!              │ session's sans-IO HTTP core → Input::HttpResponse → drain → next POST    │
//!              │ POST deadlines heap; ≤ max-sessions sessions, the rest wait their turn   │
//!              └──────▲──────────────────────────────────────────┬──────────────────────┘
//!                     │ Event::ConnectionRequest(k), Event::Back  │ Job::Download
//!                     │ (channel + mio waker)                     ▼
//!   connection-request listener (one port,       download workers (blocking fetch,
//!   path /cr/<serial>, Digest per phone)          verify, install; then back)
//! ```
//!
//! * Each phone is a sans-IO [`cwmp_engine::Agent`] over its own Desk Phone store
//!   ([`phone::FleetPhone`]); the data model is loaded once and shared
//!   ([`cwmp_model::SharedSchema`]), so an idle phone costs its agent, its changed items and a
//!   timer-heap entry.
//! * No thread per phone and none per session: one event loop drives every session's
//!   non-blocking connection ([`net::Conn`]) through the same sans-IO HTTP core the single
//!   phone uses ([`cwmp_client::http1::SessionHttp`]); downloads go to a few workers; one
//!   listener thread (plus a short-lived thread per connection-request connection, at most
//!   64).
//! * A phone does one thing at a time: while it is in a session or downloading, a
//!   connection request for it is held and delivered when it is free (one session for
//!   several requests, as TR-069 §3.2.2 allows).
//! * SIGTERM / SIGINT (or `--duration`): sessions in flight fail as "stopping", the summary
//!   is written, exit 0 within a few seconds.

pub mod config;
pub mod connreq;
pub mod net;
pub mod phone;
pub mod stats;
pub mod transfer;

use crate::fleet::config::{FleetConfig, Identities, Shard, StateMode};
use crate::fleet::phone::{FleetPhone, Job, Post};
use crate::fleet::stats::Stats;
use cwmp_client::TransportConfig;
use cwmp_engine::{AgentConfig, Input};
use cwmp_model::{DateTime, SharedSchema};
use deskphone_datamodel::DeskPhoneModel;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the progress line is printed.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How long a stop waits for downloads in flight to come back.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// Download workers at most (fewer when max-sessions is smaller).
const DOWNLOAD_WORKERS: usize = 16;

/// The command line of `cpe-agent fleet`.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// `--count N` (overrides `[fleet] count`).
    pub count: Option<u32>,
    /// `--shard I/N`.
    pub shard: Shard,
    /// `--duration SECS`.
    pub duration: Option<Duration>,
    /// `--summary FILE` (default `state-dir/fleet-summary.json`).
    pub summary: Option<PathBuf>,
}

/// What the scheduler hears.
#[derive(Debug)]
pub enum Event {
    /// A worker is done with a phone.
    Back(Box<FleetPhone>),
    /// An authenticated connection request for local phone k.
    ConnectionRequest(u32),
}

/// Everything the phones, workers and listener share (read-only after start, plus counters).
pub struct Shared {
    /// The Desk Phone model with the file's `[items]` as factory defaults.
    pub model: Arc<DeskPhoneModel>,
    /// Its schema, shared by every store.
    pub schema: SharedSchema,
    /// Items with no TR-069 name that a factory reset clears.
    pub extra_reset_keys: Vec<String>,
    /// The file's `[items]` (written to a disk phone's store at its first start).
    pub phone_items: Vec<(String, String)>,
    /// The file's `acs-request-password`, if it sets one.
    pub default_cr_password: Option<String>,
    /// Who the phones are.
    pub ids: Identities,
    /// Memory or disk.
    pub state_mode: StateMode,
    /// The state directory.
    pub state_dir: PathBuf,
    /// Where downloads stream to.
    pub tmp_dir: PathBuf,
    /// `inform-jitter` seconds.
    pub inform_jitter: u32,
    /// The engine's configuration (shared by every agent).
    pub agent_config: AgentConfig,
    /// The HTTP transport's configuration.
    pub transport: TransportConfig,
    /// `config-encryption-key`.
    pub config_key: Option<cwmp_model::Secret>,
    /// The wall clock.
    pub wall_clock: cwmp_client::WallClock,
    /// `http://host:port` of the connection-request listener (`None`: no listener).
    pub cr_base: Option<String>,
    /// The listener's address as the ACS reaches it: what every phone's engine gets with
    /// `Input::ConnectionRequestListening` (the engine then writes ConnectionRequestURL).
    pub cr_local: Option<SocketAddr>,
    /// The listener's table.
    pub connreq: Option<Arc<connreq::CrTable>>,
    /// UDP connection requests and STUN (`udp-port-range`), when on.
    pub udp: Option<UdpPlan>,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Set when stopping.
    pub stop: Arc<AtomicBool>,
    /// Per-process seed.
    pub seed: u64,
    /// ACS host names looked up (the loop must not block on DNS for every session).
    resolved: Mutex<HashMap<(String, u16), (SocketAddr, Instant)>>,
    /// rustls configurations by certificate items (phones with the same items share one).
    tls_configs: Mutex<HashMap<String, Arc<rustls::ClientConfig>>>,
}

/// Where the phones' UDP sockets go (`[fleet] udp-port-range`).
#[derive(Debug, Clone, Copy)]
pub struct UdpPlan {
    /// The address bound (the connection-request address's IP, or all interfaces).
    pub bind_ip: std::net::IpAddr,
    /// The IP the ACS sees (what the engine is told).
    pub report_ip: std::net::IpAddr,
    /// The port of the phone with global index 0.
    pub first_port: u16,
}

/// How long a looked-up ACS address is used before it is looked up again.
const DNS_TTL: Duration = Duration::from_secs(60);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Whether the fleet is stopping.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The PeriodicInformTime a new phone `k` starts with: `inform-jitter` spreads the
    /// phases deterministically over `0..jitter` seconds (by the phone's global index, so
    /// shards agree); 0 puts every phone on one grid. `None` keeps the single phone's rule
    /// (phase from its boot) — never used by the fleet, which always anchors.
    pub fn periodic_anchor(&self, k: u32) -> Option<String> {
        let g = u64::from(self.ids.range.start) + u64::from(k);
        let offset = if self.inform_jitter == 0 {
            0
        } else {
            (phone::splitmix(g) % u64::from(self.inform_jitter)) as u32
        };
        Some(phone::anchor_time(offset))
    }

    /// The address to connect to for `host:port`: an IP literal as it is, a name looked up
    /// at most once a minute (the first address).
    pub fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, cwmp_client::Error> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let key = (bare.to_owned(), port);
        let mut cache = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((a, at)) = cache.get(&key) {
            if at.elapsed() < DNS_TTL {
                return Ok(*a);
            }
        }
        let addr = cwmp_client::resolve(bare, port)?[0];
        if cache.len() > 1024 {
            cache.clear();
        }
        cache.insert(key, (addr, Instant::now()));
        Ok(addr)
    }

    /// The rustls configuration for certificate items `key` (built by `build` once).
    pub fn tls_config(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<Arc<rustls::ClientConfig>, cwmp_client::Error>,
    ) -> Result<Arc<rustls::ClientConfig>, cwmp_client::Error> {
        let mut cache = self.tls_configs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(key) {
            return Ok(c.clone());
        }
        let c = build()?;
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(key.to_owned(), c.clone());
        Ok(c)
    }
}

enum Slot {
    NotBooted,
    /// In the loop's hands: idle, or in a session the loop drives.
    Idle(Box<FleetPhone>),
    /// With a download worker.
    Busy,
    /// Could not be started (its error was logged).
    Failed,
}

/// Run the fleet until SIGTERM/SIGINT or `--duration`. Returns an error message for start-up
/// failures.
pub fn run(cfg: FleetConfig, opts: FleetOptions) -> Result<(), String> {
    let count = opts
        .count
        .or(cfg.fleet.count)
        .ok_or("fleet: no count ([fleet] count or --count)")?;
    let ids = Identities::new(cfg.fleet.first_mac, count, opts.shard)?;
    let dir = cfg.phone.state_dir.clone();
    crate::state::ensure_dir(&dir)
        .map_err(|e| format!("state directory {}: {e}", dir.display()))?;
    let _lock = crate::state::StateLock::try_acquire(&dir)
        .map_err(|e| format!("state directory {}: {e}", dir.display()))?
        .ok_or_else(|| format!("another cpe-agent is running on {}", dir.display()))?;
    let model = DeskPhoneModel::builtin()
        .with_factory_defaults(&cfg.phone.items)
        .map_err(|f| format!("configuration [items]: {}", f.message))?;
    let stop = Arc::new(AtomicBool::new(false));
    start_signal_thread(stop.clone())?;
    let stats = Arc::new(Stats::new(ids.len() as u64));
    let (tx, rx) = mpsc::channel::<Event>();
    let poll = mio::Poll::new().map_err(|e| format!("event loop: {e}"))?;
    let waker =
        Arc::new(mio::Waker::new(poll.registry(), WAKER).map_err(|e| format!("event loop: {e}"))?);
    let tx = EventSender { tx, waker };

    let (connreq, cr_base) = match cfg.phone.connection_request_address {
        Some(addr) => {
            let table = Arc::new(connreq::CrTable::new(
                ids.clone(),
                cfg.phone.connection_request_burst,
                cfg.phone.connection_request_refill,
                tx.clone(),
                stats.clone(),
                stop.clone(),
            ));
            let bound = connreq::start(addr, table.clone())
                .map_err(|e| format!("connection-request-address {addr}: cannot listen: {e}"))?;
            let host = towards_acs(bound.ip(), &model).to_string();
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host
            };
            log::info!("connection requests on {bound}");
            eprintln!("fleet: connection requests on {bound}");
            (Some(table), Some(format!("http://{host}:{}", bound.port())))
        }
        None => (None, None),
    };
    let udp = match cfg.fleet.udp_ports {
        None => None,
        Some((first, last)) => {
            let ports = u32::from(last - first) + 1;
            if ports < ids.range.end {
                return Err(format!(
                    "fleet.udp-port-range: {ports} ports for {} phones (one port per phone \
                     of the whole range, so that shards on one host never collide)",
                    ids.range.end
                ));
            }
            let bind_ip = cfg
                .phone
                .connection_request_address
                .map(|a| a.ip())
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            Some(UdpPlan {
                bind_ip,
                report_ip: towards_acs(bind_ip, &model),
                first_port: first,
            })
        }
    };
    raise_file_limit(cfg.fleet.max_sessions + if udp.is_some() { ids.len() } else { 0 });
    // The address the ACS reaches (the URL's host is an IP literal, see above).
    let cr_local: Option<SocketAddr> = cr_base.as_deref().and_then(|b| {
        let u = cwmp_model::Url::parse_http(b).ok()?;
        Some(SocketAddr::new(u.host().parse().ok()?, u.port()))
    });

    let schema = SharedSchema::new(model.schema().clone());
    let extra_reset_keys = model
        .items()
        .iter()
        .filter(|it| it.params().is_empty())
        .map(|it| it.name().to_owned())
        .collect();
    let mut agent_config = AgentConfig::new();
    // The engine decides when a phone listens and with which credentials
    // (HTTPConnectionRequestEnable, ConnectionRequestUsername/Password) and writes its
    // ConnectionRequestURL; the fleet's one listener performs it (`phone.rs`, `connreq.rs`).
    agent_config.connection_requests = cr_local.is_some();
    let transport = TransportConfig {
        response_timeout: agent_config.response_timeout,
        connect_timeout: Duration::from_secs(30),
        user_agent: concat!("cpe-agent-fleet/", env!("CARGO_PKG_VERSION")).into(),
        // Decision: 16 KiB instead of 128 KiB per direction: zeroing 256 KiB for every
        // session's connection was a tenth of the fleet's CPU; CWMP response heads are far
        // smaller, bodies are read in pieces.
        io_buffer_size: 16 * 1024,
        ..TransportConfig::default()
    };
    let sh = Arc::new(Shared {
        default_cr_password: cfg
            .phone
            .items
            .iter()
            .find(|(k, v)| k == "acs-request-password" && !v.is_empty())
            .map(|(_, v)| v.clone()),
        phone_items: cfg.phone.items.clone(),
        model: Arc::new(model),
        schema,
        extra_reset_keys,
        ids,
        state_mode: cfg.fleet.state,
        tmp_dir: dir.join("fleet-tmp"),
        state_dir: dir.clone(),
        inform_jitter: cfg.fleet.inform_jitter,
        agent_config,
        transport,
        config_key: cfg.phone.config_encryption_key.clone(),
        wall_clock: cwmp_client::system_wall_clock,
        cr_base,
        cr_local,
        connreq,
        udp,
        stats: stats.clone(),
        stop: stop.clone(),
        seed: cwmp_client::os_seed(),
        resolved: Mutex::new(HashMap::new()),
        tls_configs: Mutex::new(HashMap::new()),
    });

    // Downloads block (fetch, verify, install): a few workers, at most max-sessions.
    let (job_tx, job_rx) = mpsc::channel::<(Box<FleetPhone>, cwmp_engine::DownloadRequest)>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    for i in 0..cfg.fleet.max_sessions.clamp(1, DOWNLOAD_WORKERS) {
        let (sh, rx, back) = (sh.clone(), job_rx.clone(), tx.clone());
        std::thread::Builder::new()
            .name(format!("fleet-download-{i}"))
            .stack_size(512 * 1024)
            .spawn(move || download_worker(&sh, &rx, &back))
            .map_err(|e| format!("download worker: {e}"))?;
    }
    drop(tx);
    let started = Instant::now();
    eprintln!(
        "fleet: {} phones ({} to {}), boot-rate {}/s, max-sessions {}, state {:?}",
        sh.ids.len(),
        sh.ids.serial(0),
        sh.ids.serial(sh.ids.len().saturating_sub(1) as u32),
        cfg.fleet.boot_rate,
        cfg.fleet.max_sessions,
        cfg.fleet.state
    );
    let n = sh.ids.len();
    let mut sched = Scheduler {
        sh: sh.clone(),
        poll,
        slots: (0..n).map(|_| Slot::NotBooted).collect(),
        armed: vec![None; n],
        heap: BinaryHeap::new(),
        io_heap: BinaryHeap::new(),
        downloads: job_tx,
        busy: 0,
        in_session: vec![false; n],
        sessions: 0,
        max_sessions: cfg.fleet.max_sessions.max(1),
        waiting: VecDeque::new(),
        cr_pending: vec![false; n],
    };
    sched.run(&rx, started, cfg.fleet.boot_rate, opts.duration);

    // Stop: sessions on the wire fail as "stopping"; wait briefly for the downloads.
    stop.store(true, Ordering::SeqCst);
    sched.stop();
    let grace = Instant::now() + STOP_GRACE;
    while sched.busy > 0 && Instant::now() < grace {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Event::Back(_)) => sched.busy -= 1,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(sched);
    let summary_path = opts
        .summary
        .unwrap_or_else(|| dir.join("fleet-summary.json"));
    write_summary(&sh, &summary_path, count, opts.shard)?;
    eprintln!("{}", stats.progress_line(&mut (started, 0)));
    eprintln!("fleet: stopped; summary in {}", summary_path.display());
    let _ = std::fs::remove_dir_all(&sh.tmp_dir);
    Ok(())
}

/// The IP the ACS reaches this host at: `bound` itself, or for the unspecified address the
/// IP of the interface towards the ACS (as the single phone reports it).
fn towards_acs(bound: std::net::IpAddr, model: &DeskPhoneModel) -> std::net::IpAddr {
    if !bound.is_unspecified() {
        return bound;
    }
    let acs = model
        .item_value(&cwmp_model::MemoryBackend::new(), "acs-server-address")
        .unwrap_or_default();
    crate::netinfo::for_acs(&acs)
        .and_then(|n| {
            n.items()
                .into_iter()
                .find(|(k, _)| k == "ipaddress")
                .and_then(|(_, v)| v.parse().ok())
        })
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
}

/// Raise the soft limit of open files towards what the fleet needs (a connection per session
/// in flight, a UDP socket per phone, listener and files): the common default of 1,024 is far
/// below a fleet's. Only up to the hard limit; a shortfall is logged, and then connects or
/// binds fail with their own errors.
fn raise_file_limit(sockets: usize) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let need = sockets as u64 + 256;
    let lim = getrlimit(Resource::Nofile);
    if lim.current.is_none_or(|c| c >= need) {
        return;
    }
    let target = lim.maximum.map_or(need, |m| m.min(need));
    let new = rustix::process::Rlimit {
        current: Some(target),
        maximum: lim.maximum,
    };
    if let Err(e) = setrlimit(Resource::Nofile, new) {
        log::warn!("open-file limit: {e}");
    }
    if target < need {
        log::warn!("open-file limit {target} is below the {need} the fleet may need (ulimit -n)");
        eprintln!("fleet: open-file limit {target} is below the {need} it may need (ulimit -n)");
    }
}

fn write_summary(
    sh: &Shared,
    path: &std::path::Path,
    count: u32,
    shard: Shard,
) -> Result<(), String> {
    let extra = serde_json::json!({
        "count": count,
        "shard": format!("{}/{}", shard.index, shard.total),
        "first_serial": sh.ids.serial(0),
        "last_serial": sh.ids.serial(sh.ids.len().saturating_sub(1) as u32),
        "state": format!("{:?}", sh.state_mode).to_lowercase(),
        "finished": DateTime((cwmp_client::system_wall_clock)().0).to_xsd(),
    });
    let summary = sh.stats.summary(extra);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("--summary {}: not a file name", path.display()))?;
    let text = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
    crate::state::write_atomic(dir, name, &text, 0o644)
        .map_err(|e| format!("summary {}: {e}", path.display()))?;
    let html_name = match name.strip_suffix(".json") {
        Some(stem) => format!("{stem}.html"),
        None => format!("{name}.html"),
    };
    crate::state::write_atomic(dir, &html_name, sh.stats.html(&summary).as_bytes(), 0o644)
        .map_err(|e| format!("report {}: {e}", dir.join(&html_name).display()))?;
    Ok(())
}

/// The poll token of the waker (events from the listener and the download workers).
const WAKER: mio::Token = mio::Token(usize::MAX);

/// Sends an [`Event`] to the event loop and wakes its poll.
#[derive(Clone)]
pub struct EventSender {
    tx: Sender<Event>,
    waker: Arc<mio::Waker>,
}

impl std::fmt::Debug for EventSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSender").finish_non_exhaustive()
    }
}

impl EventSender {
    /// Deliver `ev` (dropped when the loop is gone).
    pub fn send(&self, ev: Event) {
        if self.tx.send(ev).is_ok() {
            let _ = self.waker.wake();
        }
    }
}

fn download_worker(
    sh: &Shared,
    rx: &Mutex<Receiver<(Box<FleetPhone>, cwmp_engine::DownloadRequest)>>,
    back: &EventSender,
) {
    loop {
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((mut phone, req)) = next else { return };
        transfer::perform(&mut phone, sh, req);
        back.send(Event::Back(phone));
    }
}

struct Scheduler {
    sh: Arc<Shared>,
    poll: mio::Poll,
    slots: Vec<Slot>,
    /// The deadline each idle phone's heap entry stands for (stale entries are skipped).
    armed: Vec<Option<Instant>>,
    /// Engine timers of idle phones.
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
    /// Deadlines of POSTs on the wire (an entry is stale when the phone's POST is not that
    /// one any more).
    io_heap: BinaryHeap<Reverse<(Instant, u32)>>,
    downloads: Sender<(Box<FleetPhone>, cwmp_engine::DownloadRequest)>,
    /// Phones with a download worker.
    busy: usize,
    /// Phones in a session (counted against `max-sessions`).
    in_session: Vec<bool>,
    sessions: usize,
    max_sessions: usize,
    /// Sessions waiting for a slot, with their first POST.
    waiting: VecDeque<(u32, Post)>,
    /// A connection request for a phone in a session or at a download worker, delivered
    /// when it is free (one session for several requests, TR-069 §3.2.2).
    cr_pending: Vec<bool>,
}

impl Scheduler {
    fn run(
        &mut self,
        rx: &Receiver<Event>,
        started: Instant,
        boot_rate: f64,
        duration: Option<Duration>,
    ) {
        let total = self.slots.len();
        let mut booted = 0usize;
        let end = duration.map(|d| started + d);
        let mut next_progress = started + PROGRESS_EVERY;
        let mut last = (started, 0u64);
        let mut events = mio::Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            if self.sh.stopping() || end.is_some_and(|e| now >= e) {
                return;
            }
            // Boot the phones whose time has come.
            let due = ((now - started).as_secs_f64() * boot_rate).floor() as usize + 1;
            // At most 1,000 per turn, so a boot storm of 100,000 still serves sessions,
            // timers and a stop in between.
            let mut batch = 0;
            while booted < total.min(due) && batch < 1000 && !self.sh.stopping() {
                self.boot(booted as u32);
                booted += 1;
                batch += 1;
            }
            self.fire_timers(now);
            self.admit();
            if now >= next_progress {
                eprintln!("{}", self.sh.stats.progress_line(&mut last));
                next_progress = now + PROGRESS_EVERY;
            }
            // Sleep until the next thing to do, or an event.
            let mut wake = next_progress;
            if let Some(Reverse((t, _))) = self.heap.peek() {
                wake = wake.min(*t);
            }
            if let Some(Reverse((t, _))) = self.io_heap.peek() {
                wake = wake.min(*t);
            }
            if booted < total {
                wake = wake.min(started + Duration::from_secs_f64(booted as f64 / boot_rate));
            }
            if let Some(e) = end {
                wake = wake.min(e);
            }
            // Wake at least every 200 ms to notice a stop.
            let wait = wake
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(200));
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    log::error!("fleet event loop: {e}");
                    return;
                }
            }
            let n = self.slots.len();
            for ev in events.iter() {
                match ev.token() {
                    WAKER => {}
                    mio::Token(t) if t < n => {
                        self.ready(t as u32, ev.is_read_closed() || ev.is_error())
                    }
                    mio::Token(t) if t < 2 * n => self.udp_ready((t - n) as u32),
                    _ => {}
                }
            }
            // Events from the listener and the download workers, bounded per turn.
            for _ in 0..4096 {
                match rx.try_recv() {
                    Ok(ev) => self.event(ev),
                    Err(_) => break,
                }
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(Reverse((t, k))) = self.heap.peek().copied() {
            if t > now {
                break;
            }
            self.heap.pop();
            if self.armed[k as usize] == Some(t) {
                self.armed[k as usize] = None;
                self.step(k, Input::Timeout);
            }
        }
        while let Some(Reverse((t, k))) = self.io_heap.peek().copied() {
            if t > now {
                break;
            }
            self.io_heap.pop();
            if let Slot::Idle(phone) = &mut self.slots[k as usize] {
                if phone.post_in_flight() == Some(t) {
                    let e = cwmp_client::Error::Timeout(cwmp_client::Detail::new(
                        "no complete answer from the ACS in time",
                    ));
                    phone.finish_post(&self.sh, Err(e));
                    self.pump(k);
                }
            }
        }
    }

    /// Readiness on phone k's connection (`closed`: the peer closed its side).
    fn ready(&mut self, k: u32, closed: bool) {
        let Some(Slot::Idle(phone)) = self.slots.get_mut(k as usize) else {
            return;
        };
        if let Some(result) = phone.on_ready(&self.sh, self.poll.registry(), closed) {
            phone.finish_post(&self.sh, result);
            self.pump(k);
        }
    }

    /// Datagrams on phone k's UDP socket (not read while the phone is at a download worker:
    /// then when it is back).
    fn udp_ready(&mut self, k: u32) {
        let Some(Slot::Idle(phone)) = self.slots.get_mut(k as usize) else {
            return;
        };
        if phone.on_udp(&self.sh) {
            self.pump(k);
        }
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Back(mut phone) => {
                self.busy -= 1;
                let k = phone.k;
                phone.on_udp(&self.sh);
                self.slots[k as usize] = Slot::Idle(phone);
                self.pump(k);
            }
            Event::ConnectionRequest(k) => {
                let i = k as usize;
                match self.slots.get(i) {
                    Some(Slot::Idle(p)) if !self.in_session[i] && !p.in_session() => {
                        self.step(k, Input::ConnectionRequest)
                    }
                    Some(Slot::Idle(_) | Slot::Busy) => self.cr_pending[i] = true,
                    _ => {}
                }
            }
        }
    }

    fn boot(&mut self, k: u32) {
        match FleetPhone::boot(&self.sh, k) {
            Ok(mut phone) => {
                if let Some(plan) = self.sh.udp {
                    let port = plan.first_port as u32 + self.sh.ids.range.start + k;
                    let port = port as u16;
                    let token = mio::Token(self.slots.len() + k as usize);
                    let bind = SocketAddr::new(plan.bind_ip, port);
                    match phone::Udp::bind(
                        self.poll.registry(),
                        token,
                        bind,
                        SocketAddr::new(plan.report_ip, port),
                    ) {
                        Ok(u) => phone.attach_udp(&self.sh, u),
                        Err(e) => log::error!(
                            "{}: UDP connection-request socket {bind}: {e}",
                            self.sh.ids.serial(k)
                        ),
                    }
                }
                self.slots[k as usize] = Slot::Idle(Box::new(phone));
                self.sh.stats.booted.fetch_add(1, Ordering::Relaxed);
                self.step(k, Input::Timeout);
            }
            Err(e) => {
                log::error!("phone {k} not started: {e}");
                self.slots[k as usize] = Slot::Failed;
            }
        }
    }

    /// Feed `input` to phone k and act on what follows.
    fn step(&mut self, k: u32, input: Input) {
        let Some(Slot::Idle(phone)) = self.slots.get_mut(k as usize) else {
            return;
        };
        phone.input(&self.sh, input);
        self.pump(k);
    }

    /// Act on phone k's outputs until it waits for I/O, a slot, or a timer.
    fn pump(&mut self, k: u32) {
        let i = k as usize;
        loop {
            let Some(Slot::Idle(phone)) = self.slots.get_mut(i) else {
                return;
            };
            match phone.drain(&self.sh) {
                Some(Job::Post(post)) => {
                    self.armed[i] = None;
                    if !self.in_session[i] {
                        if self.sessions >= self.max_sessions {
                            self.waiting.push_back((k, post));
                            return;
                        }
                        self.enter_session(k);
                    }
                    if self.launch(k, post) {
                        return;
                    }
                }
                Some(Job::Download(req)) => {
                    self.armed[i] = None;
                    // A download holds a slot like a session (it is a connection too); the
                    // slot is released when the phone is back and has nothing more to do.
                    self.enter_session(k);
                    let Slot::Idle(phone) = std::mem::replace(&mut self.slots[i], Slot::Busy)
                    else {
                        return;
                    };
                    self.busy += 1;
                    if let Err(mpsc::SendError((phone, _))) = self.downloads.send((phone, req)) {
                        self.busy -= 1;
                        self.slots[i] = Slot::Idle(phone);
                        return;
                    }
                    return;
                }
                None => {
                    if !phone.in_session() {
                        phone.close_connection();
                        let cr = std::mem::take(&mut self.cr_pending[i]);
                        if cr {
                            phone.input(&self.sh, Input::ConnectionRequest);
                        }
                        self.leave_session(k);
                        if cr {
                            continue;
                        }
                    }
                    let Some(Slot::Idle(phone)) = self.slots.get_mut(i) else {
                        return;
                    };
                    // In a session (a datagram arrived meanwhile): its timers wait for the
                    // session's end; the loop never feeds a Timeout mid-session.
                    if phone.in_session() {
                        self.armed[i] = None;
                        return;
                    }
                    let deadline = phone.agent.poll_timeout();
                    if let Some(d) = deadline {
                        if self.armed[i] != Some(d) {
                            self.armed[i] = Some(d);
                            self.heap.push(Reverse((d, k)));
                        }
                    } else {
                        self.armed[i] = None;
                    }
                    return;
                }
            }
        }
    }

    /// Put phone k's POST on the wire. `false`: it failed at once (already fed to the
    /// engine), so the phone has more outputs.
    fn launch(&mut self, k: u32, post: Post) -> bool {
        let Some(Slot::Idle(phone)) = self.slots.get_mut(k as usize) else {
            return true;
        };
        match phone.begin_post(&self.sh, post, self.poll.registry()) {
            Ok(()) => {
                if let Some(d) = phone.post_in_flight() {
                    self.io_heap.push(Reverse((d, k)));
                }
                true
            }
            Err(e) => {
                phone.finish_post(&self.sh, Err(e));
                false
            }
        }
    }

    fn enter_session(&mut self, k: u32) {
        if !std::mem::replace(&mut self.in_session[k as usize], true) {
            self.sessions += 1;
            self.sh.stats.job_started();
        }
    }

    fn leave_session(&mut self, k: u32) {
        if std::mem::replace(&mut self.in_session[k as usize], false) {
            self.sessions -= 1;
            self.sh.stats.job_finished();
        }
    }

    /// Start waiting sessions while there are free slots.
    fn admit(&mut self) {
        while self.sessions < self.max_sessions {
            let Some((k, post)) = self.waiting.pop_front() else {
                return;
            };
            self.enter_session(k);
            if !self.launch(k, post) {
                self.pump(k);
            }
        }
    }

    /// Stop: every POST on the wire and every waiting session fails as "stopping" (counted
    /// as such), connections are closed.
    fn stop(&mut self) {
        let waiting: Vec<(u32, Post)> = self.waiting.drain(..).collect();
        for (k, _) in waiting {
            if let Some(Slot::Idle(phone)) = self.slots.get_mut(k as usize) {
                phone.finish_post(&self.sh, Err(cwmp_client::Error::Shutdown));
                phone.drain(&self.sh);
            }
        }
        for k in 0..self.slots.len() {
            if let Slot::Idle(phone) = &mut self.slots[k] {
                if phone.post_in_flight().is_some() {
                    phone.finish_post(&self.sh, Err(cwmp_client::Error::Shutdown));
                    phone.drain(&self.sh);
                }
                phone.close_connection();
            }
        }
    }
}

fn start_signal_thread(stop: Arc<AtomicBool>) -> Result<(), String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])
        .map_err(|e| format!("signal handlers: {e}"))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                log::info!("signal {sig}: stopping the fleet");
                stop.store(true, Ordering::SeqCst);
            }
        })
        .map_err(|e| format!("signal thread: {e}"))?;
    Ok(())
}

//! `cpe-agent fleet`: thousands of simulated Desk Phone CPs in one process, for load-testing
//! an ACS.
//!
//! ```text
//!            ┌──────────────── scheduler (the calling thread) ────────────────┐
//!  boot-rate │ table: Idle(phone) | Busy | not booted     timer heap (deadline, │
//!  ────────► │ phone) over every idle phone's poll_timeout; due → Timeout input │
//!            │ drain (FleetPhone::drain): persist, reboot, reset handled here;  │
//!            │ SendPost / Download → the phone goes to a worker                 │
//!            └───────▲──────────────────────────────┬─────────────────────────┘
//!                    │ Event::Back(phone)           │ jobs (bounded by max-sessions
//!                    │ Event::ConnectionRequest(k)  ▼ workers: ≤ max-sessions in flight)
//!   connection-request listener           session workers: the session's POSTs over one
//!   (one port, path /cr/<serial>)         keep-alive HttpSession, or a download, then back
//! ```
//!
//! * Each phone is a sans-IO [`cwmp_engine::Agent`] over its own Desk Phone store
//!   ([`phone::FleetPhone`]); the data model is loaded once and shared
//!   ([`cwmp_model::SharedSchema`]), so an idle phone costs its agent, its changed items and a
//!   timer-heap entry.
//! * No thread per phone: one scheduler, `max-sessions` workers, one listener thread (plus a
//!   short-lived thread per connection-request connection, at most 64).
//! * A phone does one thing at a time: while a worker has it (a session or a download), a
//!   connection request for it is held and delivered when it is back (one session for
//!   several requests, as TR-069 §3.2.2 allows).
//! * SIGTERM / SIGINT (or `--duration`): sessions in flight are aborted, the summary is
//!   written, exit 0 within a few seconds.

pub mod config;
pub mod connreq;
pub mod phone;
pub mod stats;
pub mod transfer;

use crate::fleet::config::{FleetConfig, Identities, Shard, StateMode};
use crate::fleet::phone::{FleetPhone, Job};
use crate::fleet::stats::Stats;
use cwmp_client::{SessionAbort, TransportConfig};
use cwmp_engine::{AgentConfig, Input};
use cwmp_model::{DateTime, SharedSchema};
use deskphone_datamodel::DeskPhoneModel;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the progress line is printed.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How long a stop waits for sessions in flight to come back.
const STOP_GRACE: Duration = Duration::from_secs(2);

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
    /// Counters.
    pub stats: Arc<Stats>,
    /// Set when stopping.
    pub stop: Arc<AtomicBool>,
    /// Per-process seed.
    pub seed: u64,
    aborts: Mutex<Vec<(std::thread::ThreadId, SessionAbort)>>,
}

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

    fn register_abort(&self, a: SessionAbort) {
        let mut v = self.aborts.lock().unwrap_or_else(|p| p.into_inner());
        let id = std::thread::current().id();
        v.retain(|(t, _)| *t != id);
        v.push((id, a));
        if self.stopping() {
            for (_, a) in v.iter() {
                a.abort();
            }
        }
    }

    fn unregister_abort(&self) {
        let id = std::thread::current().id();
        self.aborts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(t, _)| *t != id);
    }

    fn abort_all(&self) {
        for (_, a) in self.aborts.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            a.abort();
        }
    }
}

enum Slot {
    NotBooted,
    Idle(Box<FleetPhone>),
    /// With a worker; `true` when a connection request waits for it.
    Busy(bool),
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
            let host = if bound.ip().is_unspecified() {
                let acs = model
                    .item_value(&cwmp_model::MemoryBackend::new(), "acs-server-address")
                    .unwrap_or_default();
                crate::netinfo::for_acs(&acs)
                    .and_then(|n| {
                        n.items()
                            .into_iter()
                            .find(|(k, _)| k == "ipaddress")
                            .map(|(_, v)| v)
                    })
                    .unwrap_or_else(|| "127.0.0.1".into())
            } else {
                bound.ip().to_string()
            };
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
        stats: stats.clone(),
        stop: stop.clone(),
        seed: cwmp_client::os_seed(),
        aborts: Mutex::new(Vec::new()),
    });

    let (job_tx, job_rx) = mpsc::channel::<(Box<FleetPhone>, Job)>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let mut workers = Vec::new();
    for i in 0..cfg.fleet.max_sessions {
        let (sh, rx, back) = (sh.clone(), job_rx.clone(), tx.clone());
        let w = std::thread::Builder::new()
            .name(format!("fleet-worker-{i}"))
            .stack_size(512 * 1024)
            .spawn(move || worker(&sh, &rx, &back))
            .map_err(|e| format!("session worker: {e}"))?;
        workers.push(w);
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
    let mut sched = Scheduler {
        sh: sh.clone(),
        slots: (0..sh.ids.len()).map(|_| Slot::NotBooted).collect(),
        armed: vec![None; sh.ids.len()],
        heap: BinaryHeap::new(),
        jobs: job_tx,
        busy: 0,
    };
    sched.run(&rx, started, cfg.fleet.boot_rate, opts.duration);

    // Stop: abort sessions in flight, wait briefly for the workers' phones.
    stop.store(true, Ordering::SeqCst);
    sh.abort_all();
    let grace = Instant::now() + STOP_GRACE;
    while sched.busy > 0 && Instant::now() < grace {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(Event::Back(_)) => sched.busy -= 1,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => sh.abort_all(),
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

fn worker(sh: &Shared, rx: &Mutex<Receiver<(Box<FleetPhone>, Job)>>, back: &Sender<Event>) {
    loop {
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((mut phone, job)) = next else { return };
        sh.stats.job_started();
        let mut job = Some(job);
        while let Some(j) = job.take() {
            match j {
                Job::Post(post) => phone.post(sh, post),
                Job::Download(req) => transfer::perform(&mut phone, sh, req),
            }
            job = phone.drain(sh);
        }
        sh.stats.job_finished();
        if back.send(Event::Back(phone)).is_err() {
            return;
        }
    }
}

struct Scheduler {
    sh: Arc<Shared>,
    slots: Vec<Slot>,
    /// The deadline each idle phone's heap entry stands for (stale entries are skipped).
    armed: Vec<Option<Instant>>,
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
    jobs: Sender<(Box<FleetPhone>, Job)>,
    busy: usize,
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
        loop {
            let now = Instant::now();
            if self.sh.stopping() || end.is_some_and(|e| now >= e) {
                return;
            }
            // Boot the phones whose time has come.
            let due = ((now - started).as_secs_f64() * boot_rate).floor() as usize + 1;
            // At most 1,000 per turn, so a boot storm of 100,000 still serves sessions coming
            // back, timers and a stop in between.
            let mut batch = 0;
            while booted < total.min(due) && batch < 1000 && !self.sh.stopping() {
                self.boot(booted as u32);
                booted += 1;
                batch += 1;
            }
            // Fire due timers.
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
            if now >= next_progress {
                eprintln!("{}", self.sh.stats.progress_line(&mut last));
                next_progress = now + PROGRESS_EVERY;
            }
            // Sleep until the next thing to do, or an event.
            let mut wake = next_progress;
            if let Some(Reverse((t, _))) = self.heap.peek() {
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
            match rx.recv_timeout(wait) {
                Ok(ev) => {
                    self.event(ev);
                    // Take what else is waiting, bounded, before looking at timers again.
                    for _ in 0..1024 {
                        match rx.try_recv() {
                            Ok(ev) => self.event(ev),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Back(phone) => {
                self.busy -= 1;
                let k = phone.k;
                let pending = matches!(self.slots[k as usize], Slot::Busy(true));
                self.slots[k as usize] = Slot::Idle(phone);
                let input = if pending {
                    Input::ConnectionRequest
                } else {
                    Input::Timeout
                };
                self.step(k, input);
            }
            Event::ConnectionRequest(k) => match self.slots.get_mut(k as usize) {
                Some(Slot::Idle(_)) => self.step(k, Input::ConnectionRequest),
                Some(Slot::Busy(pending)) => *pending = true,
                _ => {}
            },
        }
    }

    fn boot(&mut self, k: u32) {
        match FleetPhone::boot(&self.sh, k) {
            Ok(phone) => {
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

    /// Feed `input` to idle phone k, drain, and either re-arm its timer or hand it to a
    /// worker.
    fn step(&mut self, k: u32, input: Input) {
        let slot = std::mem::replace(&mut self.slots[k as usize], Slot::Busy(false));
        let Slot::Idle(mut phone) = slot else {
            self.slots[k as usize] = slot;
            return;
        };
        phone.input(&self.sh, input);
        match phone.drain(&self.sh) {
            Some(job) => {
                self.busy += 1;
                self.armed[k as usize] = None;
                if let Err(mpsc::SendError((phone, _))) = self.jobs.send((phone, job)) {
                    self.busy -= 1;
                    self.slots[k as usize] = Slot::Idle(phone);
                }
            }
            None => {
                let deadline = phone.agent.poll_timeout();
                self.slots[k as usize] = Slot::Idle(phone);
                if let Some(d) = deadline {
                    if self.armed[k as usize] != Some(d) {
                        self.armed[k as usize] = Some(d);
                        self.heap.push(Reverse((d, k)));
                    }
                } else {
                    self.armed[k as usize] = None;
                }
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

//! The agent: events, scheduling and the session state machine.
//!
//! ```text
//!                 trigger (boot, periodic, scheduled, connection request,
//!                 transfer result, active change after throttle, BOOTSTRAP)
//!   ┌──────┐ ─────────────────────────────────────────────┐
//!   │ Idle │◄──────────── retry timer ◄──┐                │
//!   └──────┘                              │ failed         ▼
//!      ▲                                  │          ┌──────────────────┐  fault / 4xx-5xx /
//!      │ ok (+ follow-up session if       ├──────────│ AwaitInformResp. │  garbage / timeout
//!      │ events arrived meanwhile)        │          └──────────────────┘
//!      │                                  │                │ InformResponse: events delivered
//!      │                                  │                ▼
//!      │                                  │          ┌──────────────────┐  8005 → same request
//!      │                                  ├──────────│ CPE requests     │  again (bounded)
//!      │                                  │          │ (TransferComplete│
//!      │                                  │          │  each, unless    │
//!      │                                  │          │  HoldRequests)   │
//!      │                                  │          └──────────────────┘
//!      │                                  │                │ empty POST
//!      │                                  │                ▼
//!      │  empty response (204) and        │          ┌──────────────────┐
//!      └───────────── nothing left ───────┴──────────│ ACS requests     │ request → response
//!                                                    └──────────────────┘ (cwmp:ID echoed)
//! ```
//!
//! After the session: `Reboot` / `FactoryReset` (the engine then halts) or the accepted
//! Downloads, once their DelaySeconds have passed.

use crate::clock::{self, Now, CLOCK_STEP_TOLERANCE};
use crate::config::AgentConfig;
use crate::connreq::ConnReq;
use crate::cookies::CookieJar;
use crate::error::Error;
use crate::event::{EventCode, EventQueue, QueuedEvent};
use crate::io::{BootReason, DownloadRequest, HttpCredentials, Input, Output, SoapAction};
use crate::periodic::{self, PeriodicConfig};
use crate::retry::{self, DEFAULT_RETRY_MINIMUM_WAIT, DEFAULT_RETRY_MULTIPLIER};
use crate::state::{
    PersistentState, QueuedTransfer, ScheduledInform, TransferResult, TransferState, STATE_VERSION,
};
use crate::stun::{self, Gate, StunHost};
use crate::timer::{Timer, TimerTable};
use crate::trace::TraceEvent;
use cwmp_model::{DateTime, ParameterStore, Secret, Url, Value};
use cwmp_soap::{Body, CwmpNamespace, Envelope, Header};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// `SupportedCWMPVersions` sent in every Inform in the `cwmp-1-2` namespace (TR-069 §3.5).
pub const SUPPORTED_CWMP_VERSIONS: &str = "1.0,1.1,1.2,1.3,1.4";

/// The Inform carries at most 64 events (TR-069 Annex A.3.3.1).
pub const MAX_INFORM_EVENTS: usize = 64;

/// Bound of [`PersistentState::reported_values`] (a data model has far fewer notified
/// parameters; the bound only keeps a hostile ACS from growing the state without limit).
const MAX_REPORTED_VALUES: usize = 4096;

/// The most entries of each kind [`Agent::new`] accepts in a restored [`PersistentState`].
pub const MAX_RESTORED_ENTRIES: usize = 1024;

/// Namespaces tried for the Inform, newest first (TR-069 §3.5, §3.5).
///
/// Decision (TR-069 §3: negotiation rules unverified): the Inform goes out in `cwmp-1-2` with
/// `SupportedCWMPVersions`. If the ACS answers the Inform with fault 8006, the session fails
/// (normal retry wait) and the next attempt steps down one namespace (`cwmp-1-1`, then
/// `cwmp-1-0`), without the CWMP 1.4 header. That is at most two steps, it is kept while
/// sessions succeed, and it resets to `cwmp-1-2` when the ACS URL changes or the agent
/// restarts. Other Inform faults and HTTP errors never change the namespace: GenieACS, for
/// one, answers 400 for reasons that have nothing to do with versions.
const NAMESPACE_LADDER: [CwmpNamespace; 3] = [
    CwmpNamespace::V1_2,
    CwmpNamespace::V1_1,
    CwmpNamespace::V1_0,
];

/// The `ManagementServer.` parameters the engine itself reads (relative to the root).
pub(crate) mod names {
    pub(crate) const URL: &str = "ManagementServer.URL";
    pub(crate) const ENABLE_CWMP: &str = "ManagementServer.EnableCWMP";
    pub(crate) const PERIODIC_ENABLE: &str = "ManagementServer.PeriodicInformEnable";
    pub(crate) const PERIODIC_INTERVAL: &str = "ManagementServer.PeriodicInformInterval";
    pub(crate) const PERIODIC_TIME: &str = "ManagementServer.PeriodicInformTime";
    pub(crate) const RETRY_MIN_WAIT: &str = "ManagementServer.CWMPRetryMinimumWaitInterval";
    pub(crate) const RETRY_MULTIPLIER: &str = "ManagementServer.CWMPRetryIntervalMultiplier";
    pub(crate) const THROTTLE: &str = "ManagementServer.DefaultActiveNotificationThrottle";
    pub(crate) const MANUFACTURER: &str = "DeviceInfo.Manufacturer";
    pub(crate) const OUI: &str = "DeviceInfo.ManufacturerOUI";
    pub(crate) const PRODUCT_CLASS: &str = "DeviceInfo.ProductClass";
    pub(crate) const SERIAL_NUMBER: &str = "DeviceInfo.SerialNumber";
}

/// The parameters every data model must define for the Inform (names relative to
/// [`AgentConfig::root`]): the `DeviceId` (Manufacturer, ManufacturerOUI, ProductClass,
/// SerialNumber; TR-069 Annex A.3.3.1) and the ACS URL. The rest of the Inform's
/// `ParameterList` are the data model's forced-inform parameters (for Device:1:
/// `DeviceInfo.HardwareVersion`, `SoftwareVersion`, `ProvisioningCode`,
/// `ManagementServer.ParameterKey`, `ConnectionRequestURL`, `DeviceSummary`), which the store
/// reports through [`ParameterStore::forced_inform`]. [`Agent::check_store`] refuses a store
/// without the required ones.
pub const REQUIRED_PARAMETERS: &[&str] = &[
    names::MANUFACTURER,
    names::OUI,
    names::PRODUCT_CLASS,
    names::SERIAL_NUMBER,
    names::URL,
];

/// The sans-IO CWMP agent (design invariant 1).
///
/// # Drain rule (design invariant 2)
///
/// After constructing the agent and after every [`handle_input`](Agent::handle_input), call
/// [`poll_output`](Agent::poll_output) until it returns `None` and act on each output in
/// order (persist before acting on what follows a [`Output::Persist`]); then wait until
/// [`poll_timeout`](Agent::poll_timeout) or until something happens (an HTTP response, a
/// connection request, a local change) and call `handle_input` again. `Input::Timeout` may
/// come early or twice: the engine only fires deadlines that have passed.
///
/// ```
/// use cwmp_engine::{Agent, AgentConfig, BootReason, Input, Now, Output, PersistentState};
/// use cwmp_model::{
///     Access, DateTime, MemoryStore, ObjectDef, ObjectKind, ParamDef, ParamType, BaseType,
///     Schema, Source,
/// };
/// use std::time::{Duration, Instant};
///
/// // A two-parameter data model: just enough for an ACS URL.
/// let obj = |p: &str| ObjectDef { path: p.into(), kind: ObjectKind::Single };
/// let mut url = ParamDef::new(
///     "Device.ManagementServer.URL",
///     ParamType::new(BaseType::String),
///     Access::ReadWrite,
///     Source::Item("acs_url".into()),
/// );
/// url.default = Some("http://acs.example/".into());
/// let schema = Schema::new(vec![url], vec![obj("Device."), obj("Device.ManagementServer.")])
///     .unwrap();
/// let mut store = MemoryStore::in_memory(schema);
///
/// let t0 = Instant::now(); // the embedder owns the clocks
/// let now = |mono| Now::new(mono, DateTime::parse("2024-05-01T10:00:00Z").unwrap());
/// let mut agent =
///     Agent::new(AgentConfig::default(), PersistentState::new(), BootReason::PowerOn, 42, now(t0))
///         .unwrap();
///
/// // The loop every driver runs (here for a few turns, with an ACS that never answers).
/// let mut mono = t0;
/// let mut posts = 0;
/// for _ in 0..4 {
///     let input = Input::Timeout; // …or an HTTP response, a connection request, a change
///     agent.handle_input(&mut store, now(mono), input);
///     while let Some(out) = agent.poll_output() {
///         match out {
///             Output::SendPost { .. } => posts += 1, // POST it, later feed the response
///             Output::Persist(_state) => {}          // write atomically first
///             _ => {}
///         }
///     }
///     match agent.poll_timeout() {
///         Some(deadline) => mono = mono.max(deadline), // sleep until then (or an event)
///         None => break,
///     }
/// }
/// // The boot Inform went out and its response timeout (30 s) failed the session; after the
/// // retry wait (5–10 s) the second attempt went out and timed out too.
/// assert_eq!(posts, 2);
/// assert_eq!(agent.retry_count(), 2);
/// // This toy table has no DeviceId: a real device is refused until it defines one.
/// let err = agent.check_store(&mut store).unwrap_err().to_string();
/// assert!(err.contains("Device.DeviceInfo.Manufacturer"), "{err}");
/// ```
pub struct Agent {
    config: AgentConfig,
    rng: ChaCha8Rng,
    boot: BootReason,
    started: bool,
    halted: bool,
    /// The monotonic instant of construction: the origin for clock-step detection.
    epoch: Instant,
    /// `wall − mono` (ns) at the last check, `None` while the wall clock is unknown.
    clock_offset: Option<i128>,
    timers: TimerTable,
    outputs: VecDeque<Output>,

    // --- persistent (design invariant 7) ---
    bootstrap_url: Option<String>,
    bootstrap_pending: bool,
    events: EventQueue,
    scheduled: Vec<(ScheduledInform, Instant)>,
    transfers: Vec<(QueuedTransfer, Instant)>,
    results: Vec<(u64, TransferResult)>,
    next_result_id: u64,
    dirty: bool,
    /// Transfers handed out before a restart, announced again once started.
    resumed: Vec<String>,
    /// Notified parameters' values as the ACS was last told them
    /// ([`PersistentState::reported_values`]).
    reported: BTreeMap<String, String>,

    // --- volatile ---
    /// Whether this boot's values were compared with `reported` (at the first Inform).
    boot_diff_done: bool,
    changed: Vec<Changed>,
    change_gen: u64,
    retry_count: u32,
    last_success_end: Option<Instant>,
    periodic: Option<PeriodicConfig>,
    periodic_phase: Option<Instant>,
    ns_level: usize,
    session: Option<Session>,
    next_session_id: u64,
    next_cwmp_id: u64,
    /// A session should start as soon as the engine is idle.
    pending_start: bool,
    /// Something that needs a session happened during the current one.
    follow_up: bool,
    /// STUN binding and UDP connection requests (TR-069 Annex G).
    stun: StunHost,
    /// The HTTP connection-request listener's settings (TR-069 §3.2.2).
    connreq: ConnReq,
    /// The ConnectionRequestURL value the engine wrote before the boot diff: its echo from the
    /// store's listener is not a change (the boot Inform's diff covers it).
    connreq_url_echo: Option<String>,
}

/// A parameter changed by non-ACS means, remembered for the next Inform (TR-069 Annex A.3.3.1).
#[derive(Debug, Clone)]
struct Changed {
    name: String,
    active: bool,
    /// Bumped on every change, so a change during the session is not cleared by the
    /// delivery of an Inform that carried an older value.
    generation: u64,
}

/// What the outstanding POST is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    InformResponse,
    TransferCompleteResponse(u64),
    /// After an empty POST or a response to an ACS request: an ACS request or an empty response.
    AcsMessage,
}

#[derive(Debug)]
struct Session {
    id: u64,
    /// `ManagementServer.URL` as read when the session started (what BOOTSTRAP is tied to).
    acs_url: String,
    /// Where the POSTs go: `acs_url`, or where the Inform was redirected.
    url: String,
    ns: CwmpNamespace,
    awaiting: Option<Awaiting>,
    hold_requests: bool,
    carried_events: Vec<u64>,
    carried_changes: Vec<(String, u64)>,
    carried_bootstrap: bool,
    /// What the ACS learns when this Inform is delivered (see [`crate::inform::Built`]).
    reported_update: crate::inform::ReportedUpdate,
    /// TransferComplete requests to send, by result id, fixed when the Inform was built.
    transfer_requests: VecDeque<u64>,
    request_retries: u32,
    acs_requests: u32,
    response_timeout: Duration,
    /// Whether this session delivered anything (events, bootstrap, changes, transfer results).
    progress: bool,
    reboot: Option<String>,
    factory_reset: bool,
    /// The session's cookies (TR-069 §3.4), dropped with the session.
    cookies: CookieJar,
    /// Redirects of the Inform followed so far (at most [`MAX_REDIRECTS`]).
    redirects: u32,
    /// The Inform envelope, kept until its response arrives: a redirect re-sends it.
    inform_body: Option<Vec<u8>>,
    /// `ManagementServer.Username` / `Password` as read when the session started.
    credentials: Option<HttpCredentials>,
}

/// Redirects of the Inform followed in one session (TR-069 §3.4: "at most 5").
pub const MAX_REDIRECTS: u32 = 5;

/// How a session ended.
enum End {
    Ok,
    Failed(String),
}

impl Agent {
    /// Create the agent from its persisted state.
    ///
    /// `seed` feeds the RNG for retry waits (the embedder draws it from the OS; tests fix it).
    /// The agent reads nothing until the first [`handle_input`](Agent::handle_input): it arms
    /// a timer at `now` so that [`poll_timeout`](Agent::poll_timeout) asks for that call.
    ///
    /// # Errors
    /// [`Error::UnsupportedStateVersion`] for a state written by a newer version,
    /// [`Error::InvalidState`] when it exceeds the configured bounds, and
    /// [`Error::InvalidConfig`] for an unusable configuration.
    pub fn new(
        config: AgentConfig,
        state: PersistentState,
        boot: BootReason,
        seed: u64,
        now: Now,
    ) -> Result<Agent, Error> {
        config.validate()?;
        if state.version > STATE_VERSION {
            return Err(Error::UnsupportedStateVersion {
                found: state.version,
                supported: STATE_VERSION,
            });
        }
        // The engine itself stays far below these (16 transfers, 32 ScheduleInforms, a few
        // dozen events); the bound only keeps a corrupt or hostile state file from costing
        // unbounded memory. Entries beyond the configured limits are kept, not dropped: they
        // are undelivered events.
        if state.transfers.len() > MAX_RESTORED_ENTRIES
            || state.scheduled_informs.len() > MAX_RESTORED_ENTRIES
            || state.transfer_results.len() > MAX_RESTORED_ENTRIES
            || state.events.len() > MAX_RESTORED_ENTRIES
        {
            return Err(Error::InvalidState(format!(
                "more than {MAX_RESTORED_ENTRIES} pending events, transfers or ScheduleInforms"
            )));
        }
        let mut events = EventQueue::default();
        for e in state.events {
            events.push(e);
        }
        // Deadlines of persisted items: the wall time still to go, or now when it is past or
        // unknown (documented on `ScheduledInform::due`).
        let remaining = |due: DateTime| -> Duration {
            match now.wall_nanos() {
                Some(w) if !due.is_unknown() => {
                    let d = due.0.unix_timestamp_nanos() - w;
                    Duration::from_nanos(u64::try_from(d.max(0)).unwrap_or(u64::MAX))
                }
                _ => Duration::ZERO,
            }
        };
        let scheduled = state
            .scheduled_informs
            .into_iter()
            .map(|s| {
                let at = clock::add(now.mono, remaining(s.due));
                (s, at)
            })
            .collect();
        let mut resumed = Vec::new();
        let transfers = state
            .transfers
            .into_iter()
            .map(|t| {
                if t.state == TransferState::InProgress {
                    resumed.push(t.command_key.clone());
                }
                let at = clock::add(now.mono, remaining(t.due));
                (t, at)
            })
            .collect();
        let results: Vec<(u64, TransferResult)> = state
            .transfer_results
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as u64 + 1, r))
            .collect();
        let next_result_id = results.len() as u64 + 1;
        let mut timers = TimerTable::default();
        timers.set(Timer::Start, now.mono);
        Ok(Agent {
            rng: ChaCha8Rng::seed_from_u64(seed),
            boot,
            started: false,
            halted: false,
            epoch: now.mono,
            clock_offset: now.wall_nanos(),
            timers,
            outputs: VecDeque::new(),
            bootstrap_url: state.bootstrap_url,
            bootstrap_pending: state.bootstrap_pending,
            events,
            scheduled,
            transfers,
            results,
            next_result_id,
            dirty: false,
            resumed,
            reported: state.reported_values,
            boot_diff_done: false,
            changed: Vec::new(),
            change_gen: 0,
            retry_count: 0,
            last_success_end: None,
            periodic: None,
            periodic_phase: None,
            ns_level: 0,
            session: None,
            next_session_id: 0,
            next_cwmp_id: 0,
            pending_start: false,
            follow_up: false,
            stun: StunHost::new(seed),
            connreq: ConnReq::default(),
            connreq_url_echo: None,
            config,
        })
    }

    /// Feed one input. Then drain [`poll_output`](Agent::poll_output) (see the drain rule on
    /// [`Agent`]).
    ///
    /// Never panics, whatever the network sent: protocol violations fail the session.
    pub fn handle_input<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        input: Input,
    ) {
        self.ensure_started(store, now);
        self.check_clock(store, now);
        match input {
            Input::Timeout => self.handle_timeout(store, now),
            Input::HttpResponse {
                status,
                body,
                set_cookie,
                location,
            } => self.handle_http_response(store, now, status, &body, &set_cookie, location),
            Input::ConnectionRequestListening { local } => {
                let root = self.config.root.clone();
                let written = self.connreq.listening(store, &root, local);
                self.connreq_url_written(store, now, written);
            }
            Input::ConnectionRequestListenFailed { reason } => {
                self.note(|| format!("connection-request listener not open: {reason}"));
                let root = self.config.root.clone();
                let written = self.connreq.listen_failed(store, &root, now.mono);
                self.connreq_url_written(store, now, written);
            }
            Input::HttpFailed { reason } => {
                if self.session.as_ref().is_some_and(|s| s.awaiting.is_some()) {
                    self.end_session(store, now, End::Failed(format!("HTTP failure: {reason}")));
                }
            }
            Input::ConnectionRequest => self.connection_request(store),
            Input::UdpBound { local } => {
                let root = self.config.root.clone();
                self.stun.bind(store, &root, now.mono, local);
            }
            Input::StunServerResolved { addr } => {
                let root = self.config.root.clone();
                self.stun.handle_resolved(store, &root, now.mono, addr);
            }
            Input::Datagram { from, payload } => {
                let root = self.config.root.clone();
                if self.stun.handle_datagram(store, &root, now, from, &payload) {
                    self.connection_request(store);
                }
            }
            Input::ValueChanged { names } => self.handle_value_changed(store, now, &names),
            Input::TransferComplete {
                command_key,
                fault,
                start,
                complete,
                kind,
            } => self.handle_transfer_complete(command_key, fault, start, complete, kind),
            Input::DiagnosticsComplete => {
                self.queue_event(EventCode::DiagnosticsComplete, "");
                self.trigger();
            }
        }
        self.stun_sync(store, now);
        self.connreq_sync(store, now);
        self.maybe_start_session(store, now);
        self.flush_persist();
    }

    /// Keeps the connection-request listener in step with the store (see `connreq.rs`).
    fn connreq_sync<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now) {
        if !self.config.connection_requests {
            return;
        }
        let root = self.config.root.clone();
        let mut out = Vec::new();
        let written = self
            .connreq
            .sync(store, &root, now.mono, &mut self.rng, &mut out);
        self.outputs.extend(out);
        match self.connreq.deadline() {
            Some(at) => self.timers.set(Timer::ConnectionRequestListen, at),
            None => self.timers.stop(Timer::ConnectionRequestListen),
        }
        self.connreq_url_written(store, now, written);
    }

    /// The engine rewrote ConnectionRequestURL: a value change like any other, except before
    /// the first Inform, whose boot diff reports it.
    fn connreq_url_written<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        written: Option<String>,
    ) {
        let Some(name) = written else { return };
        if self.boot_diff_done {
            self.handle_value_changed(store, now, &[name]);
        } else {
            self.connreq_url_echo = match store.internal_value(&name) {
                Some(Value::String(v)) => Some(v),
                _ => None,
            };
        }
    }

    /// An authenticated connection request, HTTP (TR-069 §3.2.2) or UDP (§8.3).
    fn connection_request<S: ParameterStore + ?Sized>(&mut self, store: &mut S) {
        if self.cwmp_enabled(store) {
            self.queue_event(EventCode::ConnectionRequest, "");
            self.trigger();
        }
    }

    /// Takes the STUN host's outputs and deadline, and notifies address changes it made.
    fn stun_sync<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now) {
        while let Some(o) = self.stun.poll_output() {
            self.outputs.push_back(o);
        }
        match self.stun.poll_timeout() {
            Some(at) => self.timers.set(Timer::Stun, at),
            None => self.timers.stop(Timer::Stun),
        }
        if self.stun.take_address_changed() {
            let root = &self.config.root;
            let names = vec![
                format!("{root}{}", stun::names::UDP_ADDRESS),
                format!("{root}{}", stun::names::NAT_DETECTED),
            ];
            self.handle_value_changed(store, now, &names);
        }
    }

    /// Check that `store`'s data model defines [`REQUIRED_PARAMETERS`], so that a device
    /// built on an incomplete table is refused at start instead of sending an Inform with
    /// empty identity fields. The blocking client calls it in `Client::run`; an embedder
    /// with its own loop calls it once before the first input.
    pub fn check_store<S: ParameterStore + ?Sized>(&self, store: &mut S) -> Result<(), Error> {
        let missing: Vec<String> = REQUIRED_PARAMETERS
            .iter()
            .map(|rel| format!("{}{rel}", self.config.root))
            .filter(|name| store.internal_value(name).is_none())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidConfig(format!(
                "the data model lacks {} (the Inform needs them)",
                missing.join(", ")
            )))
        }
    }

    /// The next output, `None` when drained.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest deadline: call [`handle_input`](Agent::handle_input) with
    /// [`Input::Timeout`] then (or earlier, harmlessly). `None` = no deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// The state to persist, as of now (the same value the last [`Output::Persist`] carried,
    /// plus anything changed since).
    pub fn persistent_state(&self) -> PersistentState {
        let mut s = PersistentState::new();
        s.bootstrap_url = self.bootstrap_url.clone();
        s.bootstrap_pending = self.bootstrap_pending;
        s.events = self.events.persistent();
        s.scheduled_informs = self.scheduled.iter().map(|(s, _)| s.clone()).collect();
        s.transfers = self.transfers.iter().map(|(t, _)| t.clone()).collect();
        s.transfer_results = self.results.iter().map(|(_, r)| r.clone()).collect();
        s.reported_values = self.reported.clone();
        s
    }

    /// Every undelivered event the next Inform would carry (derived ones included: `0
    /// BOOTSTRAP`, `4 VALUE CHANGE`, `7 TRANSFER COMPLETE` and its `M Download`s).
    pub fn pending_events(&self) -> Vec<QueuedEvent> {
        let mut v = Vec::new();
        if self.bootstrap_pending {
            v.push(QueuedEvent::new(EventCode::Bootstrap, ""));
        }
        v.extend(self.events.all().cloned());
        if !self.changed.is_empty() {
            v.push(QueuedEvent::new(EventCode::ValueChange, ""));
        }
        if !self.results.is_empty() {
            v.push(QueuedEvent::new(EventCode::TransferComplete, ""));
            v.extend(
                self.results
                    .iter()
                    .map(|(_, r)| QueuedEvent::new(r.kind.event_code(), r.command_key.clone())),
            );
        }
        v
    }

    /// The number of consecutive failed sessions (the next Inform's RetryCount, TR-069 §3.2.1.1).
    pub fn retry_count(&self) -> u32 {
        self.retry_count
    }

    /// The running session's id, if a session is in progress.
    pub fn session_id(&self) -> Option<u64> {
        self.session.as_ref().map(|s| s.id)
    }

    /// True after [`Output::Reboot`] or [`Output::FactoryReset`]: no session starts any more.
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    /// The deadline of one timer (for diagnostics and tests).
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    // -----------------------------------------------------------------------------------------
    // Start-up, clock, timers
    // -----------------------------------------------------------------------------------------

    fn ensure_started<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now) {
        if self.started {
            return;
        }
        self.started = true;
        self.timers.stop(Timer::Start);
        if self.boot == BootReason::FactoryReset {
            self.drop_for_factory_reset();
        }
        if matches!(self.boot, BootReason::PowerOn | BootReason::FactoryReset) {
            self.queue_event(EventCode::Boot, "");
        }
        self.refresh_periodic(store, now, true);
        self.check_bootstrap(store);
        let root = self.config.root.clone();
        self.stun.configure(store, &root, now.mono);
        self.arm_scheduled(now);
        self.arm_transfers(now);
        if self.has_urgent_reasons() {
            self.trigger();
        }
    }

    /// Detect a wall-clock step (or the wall clock becoming known) and re-anchor what depends
    /// on it.
    fn check_clock<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now) {
        let mono_ns = now.mono.saturating_duration_since(self.epoch).as_nanos() as i128;
        let offset = now.wall_nanos().map(|w| w - mono_ns);
        let stepped = match (self.clock_offset, offset) {
            (None, None) => false,
            (Some(a), Some(b)) => (a - b).abs() > CLOCK_STEP_TOLERANCE.as_nanos() as i128,
            _ => true,
        };
        if !stepped {
            return;
        }
        self.clock_offset = offset;
        self.note(|| "wall clock stepped: re-anchoring the periodic schedule".into());
        self.refresh_periodic(store, now, true);
        // Relative deadlines stay; only their persisted wall dates move.
        for (s, at) in &mut self.scheduled {
            s.due = now.wall_plus(at.saturating_duration_since(now.mono));
        }
        for (t, at) in &mut self.transfers {
            t.due = now.wall_plus(at.saturating_duration_since(now.mono));
        }
        if !self.scheduled.is_empty() || !self.transfers.is_empty() {
            self.dirty = true;
        }
    }

    fn handle_timeout<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now) {
        for t in self.timers.take_expired(now.mono) {
            self.trace(|| TraceEvent::TimerFired { timer: t });
            match t {
                Timer::Start => {}
                Timer::Periodic => {
                    if self.cwmp_enabled(store) {
                        self.queue_event(EventCode::Periodic, "");
                        self.trigger();
                    }
                    self.arm_periodic_after_fire(now);
                }
                Timer::Retry => {
                    if self.session.is_none()
                        && (self.has_urgent_reasons() || self.has_active_changes())
                    {
                        self.pending_start = true;
                    }
                }
                Timer::ScheduledInform => {
                    let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.scheduled)
                        .into_iter()
                        .partition(|(_, at)| *at <= now.mono);
                    self.scheduled = rest;
                    if !due.is_empty() {
                        self.dirty = true;
                        self.queue_event(EventCode::Scheduled, "");
                        for (s, _) in due {
                            self.queue_event(EventCode::MScheduleInform, &s.command_key);
                        }
                        self.trigger();
                    }
                    self.arm_scheduled(now);
                }
                Timer::NotificationThrottle => {
                    if self.has_active_changes() {
                        self.trigger();
                    }
                }
                Timer::Response => {
                    if let Some(s) = &self.session {
                        let secs = s.response_timeout.as_secs();
                        self.end_session(
                            store,
                            now,
                            End::Failed(format!("no HTTP response within {secs} s")),
                        );
                    }
                }
                Timer::TransferStart => self.start_due_transfers(now),
                Timer::ConnectionRequestListen => {} // connreq_sync asks again
                Timer::Stun => {
                    let root = self.config.root.clone();
                    self.stun.handle_timeout(store, &root, now.mono);
                }
                Timer::UdpAddressNotification => {
                    let value = self
                        .param(store, stun::names::UDP_ADDRESS)
                        .map(|v| v.to_lexical())
                        .unwrap_or_default();
                    if self.stun.release_address(now.mono, value) {
                        let name = format!("{}{}", self.config.root, stun::names::UDP_ADDRESS);
                        self.record_value_changes(store, now, &[name]);
                    }
                }
            }
        }
    }

    fn arm(&mut self, t: Timer, at: Instant, now: Now) {
        self.timers.set(t, at);
        self.trace(|| TraceEvent::TimerArmed {
            timer: t,
            in_ms: at.saturating_duration_since(now.mono).as_millis() as u64,
        });
    }

    // -----------------------------------------------------------------------------------------
    // Periodic inform (TR-069 §3.2.1)
    // -----------------------------------------------------------------------------------------

    fn read_periodic<S: ParameterStore + ?Sized>(&self, store: &mut S) -> PeriodicConfig {
        PeriodicConfig {
            enable: self
                .param(store, names::PERIODIC_ENABLE)
                .and_then(|v| as_bool(&v))
                .unwrap_or(false),
            interval: self
                .param(store, names::PERIODIC_INTERVAL)
                .and_then(|v| as_u64(&v))
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                .unwrap_or(0),
            anchor: self
                .param(store, names::PERIODIC_TIME)
                .and_then(|v| as_datetime(&v))
                .unwrap_or(DateTime::UNKNOWN),
        }
    }

    /// Re-read the three parameters and re-arm when they changed (or when `force`d).
    ///
    /// The phase is kept across interval changes: with a known anchor it is the anchor; with
    /// the Unknown Time it is the monotonic phase picked when the anchor became unknown.
    fn refresh_periodic<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        force: bool,
    ) {
        let cfg = self.read_periodic(store);
        let old = self.periodic;
        if !force && old == Some(cfg) {
            return;
        }
        let anchor_changed = old.map(|o| o.anchor) != Some(cfg.anchor);
        if self.periodic_phase.is_none() || (anchor_changed && cfg.anchor.is_unknown()) {
            self.periodic_phase = Some(now.mono);
        }
        self.periodic = Some(cfg);
        self.arm_periodic(now, now);
    }

    /// Arm the periodic timer for the first grid point strictly after `after` (≥ `now`).
    fn arm_periodic(&mut self, now: Now, after: Now) {
        let Some(cfg) = self.periodic else { return };
        let phase = self.periodic_phase.unwrap_or(now.mono);
        match periodic::next_deadline(&cfg, after.mono, after.wall_nanos(), phase) {
            Some(at) => self.arm(Timer::Periodic, at, now),
            None => self.timers.stop(Timer::Periodic),
        }
    }

    /// After a periodic inform fired: the next grid point after half an interval from now, so a
    /// small disagreement between the monotonic and the wall clock cannot fire the same grid
    /// point twice.
    fn arm_periodic_after_fire(&mut self, now: Now) {
        let Some(cfg) = self.periodic else { return };
        let half = Duration::from_secs(u64::from(cfg.interval.max(1))) / 2;
        let after = Now {
            mono: clock::add(now.mono, half),
            wall: now.wall_plus(half),
        };
        let after = if now.wall_known() && after.wall.is_unknown() {
            Now {
                wall: now.wall,
                ..after
            }
        } else {
            after
        };
        self.arm_periodic(now, after);
    }

    // -----------------------------------------------------------------------------------------
    // Events, triggers, BOOTSTRAP
    // -----------------------------------------------------------------------------------------

    fn queue_event(&mut self, code: EventCode, command_key: &str) {
        let persistent = code.persistence() == crate::event::Persistence::RetryReboot;
        let ev = QueuedEvent::new(code, command_key);
        let trace = self.config.trace.then(|| ev.clone());
        if self.events.push(ev) {
            if persistent {
                self.dirty = true;
            }
            if let Some(ev) = trace {
                self.trace(|| TraceEvent::EventQueued {
                    code: ev.code.as_str().to_owned(),
                    command_key: ev.command_key,
                });
            }
        }
    }

    /// Something that needs a session happened.
    ///
    /// During a session it asks for one follow-up session. Otherwise a session starts at the
    /// end of this input, also cutting a retry wait short (TR-069 §3.2.1.1: "if a new event that
    /// requires a session occurs during the wait, the connection is retried immediately";
    /// RetryCount keeps counting).
    fn trigger(&mut self) {
        if self.session.is_some() {
            self.follow_up = true;
        } else {
            self.pending_start = true;
            self.timers.stop(Timer::Retry);
        }
    }

    fn has_urgent_reasons(&self) -> bool {
        self.bootstrap_pending || !self.events.is_empty() || !self.results.is_empty()
    }

    fn has_active_changes(&self) -> bool {
        self.changed.iter().any(|c| c.active)
    }

    /// Raise `0 BOOTSTRAP` on first contact or when the ACS URL differs from the one last
    /// bootstrapped to (TR-069 Annex A.3.3.1). Only called while no session runs.
    fn check_bootstrap<S: ParameterStore + ?Sized>(&mut self, store: &mut S) {
        if self.bootstrap_pending || self.session.is_some() {
            return;
        }
        let url = self.acs_url(store);
        if url.is_empty() || self.bootstrap_url.as_deref() == Some(url.as_str()) {
            return;
        }
        let discard = self.bootstrap_url.is_some();
        self.raise_bootstrap(discard);
    }

    /// Decision (TR-069 Annex A.3.3.1, icwmp): a URL change discards everything queued for the old ACS
    /// (events except `1 BOOT`, which is a fact of this boot; pending ScheduleInforms;
    /// undelivered transfer results) and resets the namespace fallback. Transfers the device
    /// is performing go on; their TransferComplete goes to the new ACS.
    fn raise_bootstrap(&mut self, discard: bool) {
        self.bootstrap_pending = true;
        if discard {
            self.events.retain(|e| e.code == EventCode::Boot);
            self.scheduled.clear();
            self.timers.stop(Timer::ScheduledInform);
            self.results.clear();
            self.ns_level = 0;
        }
        self.dirty = true;
        self.note(|| {
            format!(
                "0 BOOTSTRAP raised{}",
                if discard {
                    " (ACS URL changed: queue discarded)"
                } else {
                    ""
                }
            )
        });
        self.trigger();
    }

    /// Forget everything a factory reset forgets (TR-069 Annex A (FactoryReset)).
    fn drop_for_factory_reset(&mut self) {
        self.bootstrap_url = None;
        self.bootstrap_pending = true;
        self.events.retain(|_| false);
        self.scheduled.clear();
        self.transfers.clear();
        self.results.clear();
        self.resumed.clear();
        self.changed.clear();
        self.timers.stop(Timer::ScheduledInform);
        self.timers.stop(Timer::TransferStart);
        self.dirty = true;
    }

    /// Local changes: STUN settings reconfigure the binding; changes of
    /// UDPConnectionRequestAddress pass the notification limit (TR-069 Annex G) first, the rest
    /// is recorded for notification.
    fn handle_value_changed<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        changed: &[String],
    ) {
        let root = self.config.root.clone();
        let rel = |name: &str| name.strip_prefix(root.as_str()).unwrap_or("").to_owned();
        let mut names = Vec::with_capacity(changed.len());
        let mut settings = false;
        for name in changed {
            let r = rel(name);
            if r == crate::connreq::names::URL {
                if let Some(echo) = self.connreq_url_echo.take() {
                    if matches!(store.internal_value(name), Some(Value::String(v)) if v == echo) {
                        continue;
                    }
                }
            }
            if r == stun::names::UDP_ADDRESS {
                let value = self
                    .param(store, stun::names::UDP_ADDRESS)
                    .map(|v| v.to_lexical())
                    .unwrap_or_default();
                let limit = self
                    .param(store, stun::names::UDP_NOTIFY_LIMIT)
                    .and_then(|v| as_u64(&v))
                    .unwrap_or(0);
                match self.stun.gate_address(now.mono, value, limit) {
                    Gate::Now => names.push(name.clone()),
                    Gate::Later(at) => self.arm(Timer::UdpAddressNotification, at, now),
                    Gate::Skip => {}
                }
                continue;
            }
            settings |= stun::names::SETTINGS.contains(&r.as_str());
            names.push(name.clone());
        }
        if settings {
            self.stun.configure(store, &root, now.mono);
        }
        self.record_value_changes(store, now, &names);
    }

    fn record_value_changes<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        changed: &[String],
    ) {
        let root = self.config.root.clone();
        let is = |name: &str, rel: &str| name.strip_prefix(root.as_str()).is_some_and(|r| r == rel);
        let mut periodic = false;
        let mut url = false;
        let mut any_active = false;
        for name in changed {
            if is(name, names::PERIODIC_ENABLE)
                || is(name, names::PERIODIC_INTERVAL)
                || is(name, names::PERIODIC_TIME)
            {
                periodic = true;
            }
            if is(name, names::URL) {
                url = true;
            }
            if name.is_empty() || name.ends_with('.') {
                continue;
            }
            let notification = match store.get_attributes(std::slice::from_ref(name)) {
                Ok(attrs) => attrs.first().map(|a| a.notification),
                Err(_) => None,
            };
            let (passive, active) = match notification.map(|n| n.as_i32()) {
                Some(1) | Some(4) | Some(6) => (true, false),
                Some(2) => (false, true),
                _ => (false, false),
            };
            if !(passive || active) {
                continue;
            }
            if self.reported.contains_key(name) && self.is_as_reported(store, name) {
                // Back at (or still at) the value the ACS knows: nothing to tell it.
                self.changed.retain(|c| &c.name != name);
                continue;
            }
            self.change_gen += 1;
            let generation = self.change_gen;
            if let Some(c) = self.changed.iter_mut().find(|c| &c.name == name) {
                c.generation = generation;
                c.active |= active;
            } else if self.changed.len() < self.config.max_changed_parameters {
                self.changed.push(Changed {
                    name: name.clone(),
                    active,
                    generation,
                });
            } else {
                continue;
            }
            any_active |= active;
        }
        if periodic {
            self.refresh_periodic(store, now, false);
        }
        if url {
            self.check_bootstrap(store);
        }
        if any_active {
            self.request_active_session(store, now);
        }
    }

    /// An active notification asks for a session, no sooner than
    /// `DefaultActiveNotificationThrottle` after the end of the last successful session
    /// (TR-069 §3.2.1). During a session the decision waits for its end.
    ///
    /// Decision: unlike other events, an active notification does not cut a retry wait short;
    /// the retry carries it. A flapping parameter must not turn the back-off against an
    /// unreachable ACS into a storm.
    fn request_active_session<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now) {
        if self.session.is_some() || self.timers.get(Timer::Retry).is_some() {
            return;
        }
        let throttle = self
            .param(store, names::THROTTLE)
            .and_then(|v| as_u64(&v))
            .unwrap_or(0);
        if let Some(end) = self.last_success_end {
            let due = clock::add(end, Duration::from_secs(throttle));
            if due > now.mono {
                self.arm(Timer::NotificationThrottle, due, now);
                return;
            }
        }
        self.timers.stop(Timer::NotificationThrottle);
        self.trigger();
    }

    fn handle_transfer_complete(
        &mut self,
        command_key: String,
        fault: Option<cwmp_model::Fault>,
        start: DateTime,
        complete: DateTime,
        kind: crate::state::TransferKind,
    ) {
        let mut file_type = String::new();
        let known = self
            .transfers
            .iter()
            .position(|(t, _)| t.command_key == command_key && t.state == TransferState::InProgress)
            .or_else(|| {
                self.transfers
                    .iter()
                    .position(|(t, _)| t.command_key == command_key)
            });
        match known {
            Some(i) => {
                file_type = self.transfers.remove(i).0.file_type;
            }
            // An unknown key (state lost, or an embedder's own transfer) is still reported,
            // within a bound so a confused embedder cannot grow the state without limit.
            None if self.results.len() >= 2 * self.config.max_queued_transfers => {
                self.note(|| format!("transfer result for unknown CommandKey {command_key:?} dropped: queue full"));
                return;
            }
            None => {}
        }
        self.resumed.retain(|k| k != &command_key);
        let (fault_code, fault_string) = match fault {
            None => (0, String::new()),
            Some(f) => (f.code.code(), f.message),
        };
        let id = self.next_result_id;
        self.next_result_id += 1;
        self.results.push((
            id,
            TransferResult {
                command_key,
                kind,
                file_type,
                fault_code,
                fault_string,
                start,
                complete,
            },
        ));
        self.dirty = true;
        self.trigger();
    }

    // -----------------------------------------------------------------------------------------
    // Scheduled informs and transfers
    // -----------------------------------------------------------------------------------------

    fn arm_scheduled(&mut self, now: Now) {
        match self.scheduled.iter().map(|(_, at)| *at).min() {
            Some(at) => self.arm(Timer::ScheduledInform, at, now),
            None => self.timers.stop(Timer::ScheduledInform),
        }
    }

    fn arm_transfers(&mut self, now: Now) {
        let next = self
            .transfers
            .iter()
            .filter(|(t, _)| t.state == TransferState::NotStarted)
            .map(|(_, at)| *at)
            .min();
        let next = if self.resumed.is_empty() {
            next
        } else {
            Some(now.mono)
        };
        match next {
            Some(at) => self.arm(Timer::TransferStart, at, now),
            None => self.timers.stop(Timer::TransferStart),
        }
    }

    /// Hand out the transfers whose time has come, never during a session (TR-069 Annex A.3.2.8: the
    /// session ends before the download starts) and never after a Reboot or FactoryReset.
    fn start_due_transfers(&mut self, now: Now) {
        if self.session.is_some() || self.halted {
            return;
        }
        let mut out = Vec::new();
        for (t, at) in &mut self.transfers {
            let resumed = self.resumed.contains(&t.command_key);
            if resumed || (t.state == TransferState::NotStarted && *at <= now.mono) {
                t.state = TransferState::InProgress;
                out.push(DownloadRequest {
                    command_key: t.command_key.clone(),
                    file_type: t.file_type.clone(),
                    url: t.url.clone(),
                    username: t.username.clone(),
                    password: t.password.clone(),
                    file_size: t.file_size,
                    target_file_name: t.target_file_name.clone(),
                    resumed,
                });
            }
        }
        self.resumed.clear();
        if !out.is_empty() {
            self.dirty = true;
        }
        for d in out {
            self.emit_action(Output::Download(d));
        }
        self.arm_transfers(now);
    }

    // -----------------------------------------------------------------------------------------
    // Session
    // -----------------------------------------------------------------------------------------

    fn maybe_start_session<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now) {
        if self.session.is_some() || self.halted || !self.pending_start {
            return;
        }
        if self.connreq.holds_session() {
            // The listener's address is on its way: the Inform must carry it.
            return;
        }
        if !(self.has_urgent_reasons() || self.has_active_changes()) {
            self.pending_start = false;
            return;
        }
        if !self.cwmp_enabled(store) {
            return;
        }
        let url = self.acs_url(store);
        if url.is_empty() {
            return;
        }
        self.check_bootstrap(store);
        self.start_session(store, now, url);
    }

    fn start_session<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now, url: String) {
        self.pending_start = false;
        self.follow_up = false;
        self.timers.stop(Timer::Retry);
        self.timers.stop(Timer::NotificationThrottle);
        self.next_session_id += 1;
        let id = self.next_session_id;
        let ns = NAMESPACE_LADDER
            .get(self.ns_level)
            .copied()
            .unwrap_or(CwmpNamespace::V1_0);
        if !self.boot_diff_done {
            self.boot_diff_done = true;
            if !self.bootstrap_pending {
                self.collect_boot_changes(store, now);
            }
        }
        let built = crate::inform::build(self, store, now);
        let root = &self.config.root;
        let username = self.param(store, "ManagementServer.Username");
        let credentials = match username {
            Some(Value::String(u)) if !u.is_empty() => Some(HttpCredentials {
                username: u,
                password: match store.internal_value(&format!("{root}ManagementServer.Password")) {
                    Some(Value::String(p)) => p.into(),
                    _ => Secret::default(),
                },
            }),
            _ => None,
        };
        self.session = Some(Session {
            id,
            acs_url: url.clone(),
            url: url.clone(),
            ns,
            awaiting: None,
            hold_requests: false,
            carried_events: built.carried_events,
            carried_changes: built.carried_changes,
            carried_bootstrap: built.carried_bootstrap,
            reported_update: built.reported_update,
            transfer_requests: built.transfer_requests.into(),
            request_retries: 0,
            acs_requests: 0,
            response_timeout: self.config.base_response_timeout(),
            progress: false,
            reboot: None,
            factory_reset: false,
            cookies: CookieJar::default(),
            redirects: 0,
            inform_body: None,
            credentials,
        });
        self.emit_action(Output::SessionStarted { session_id: id });
        let retry_count = self.retry_count;
        self.trace(|| TraceEvent::SessionStarted {
            session_id: id,
            url,
            retry_count,
        });
        let mut header = Header {
            id: Some(self.next_id()),
            ..Header::default()
        };
        if ns == CwmpNamespace::V1_2 {
            header.supported_cwmp_versions = Some(SUPPORTED_CWMP_VERSIONS.to_owned());
        }
        let detail = built
            .inform
            .event
            .iter()
            .map(|e| {
                format!("{} {}", e.event_code, e.command_key)
                    .trim_end()
                    .to_owned()
            })
            .collect();
        let env = Envelope {
            namespace: ns,
            header,
            body: Body::Inform(built.inform),
        };
        self.send_envelope(store, now, &env, Awaiting::InformResponse, detail);
    }

    fn next_id(&mut self) -> String {
        self.next_cwmp_id += 1;
        self.next_cwmp_id.to_string()
    }

    /// Encode and send an envelope; an encoding failure (which the codec reports for values it
    /// cannot write, never for our own messages in practice) fails the session.
    fn send_envelope<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        env: &Envelope,
        awaiting: Awaiting,
        detail: Vec<String>,
    ) {
        let mut buf = Vec::with_capacity(1024);
        match cwmp_soap::write(env, &mut buf) {
            Ok(()) => {
                let method = env.body.name().to_owned();
                let id = env.header.id.clone();
                self.send_post(now, Some(buf), awaiting, method, id, detail);
            }
            Err(e) => {
                self.end_session(
                    store,
                    now,
                    End::Failed(format!("cannot encode message: {e}")),
                );
            }
        }
    }

    fn send_post(
        &mut self,
        now: Now,
        body: Option<Vec<u8>>,
        awaiting: Awaiting,
        method: String,
        cwmp_id: Option<String>,
        detail: Vec<String>,
    ) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.awaiting = Some(awaiting);
        if awaiting == Awaiting::InformResponse {
            s.inform_body = body.clone();
        }
        let (url, sid, timeout) = (s.url.clone(), s.id, s.response_timeout);
        let https = Url::parse(&url).is_ok_and(|u| u.is_https());
        let cookie = s.cookies.header(https);
        let credentials = s.credentials.clone();
        let bytes = body.as_ref().map_or(0, Vec::len);
        self.trace(|| TraceEvent::MessageSent {
            session_id: sid,
            method,
            cwmp_id,
            bytes,
            detail,
        });
        let soap_action = if body.is_some() {
            SoapAction::Empty
        } else {
            SoapAction::Absent
        };
        self.emit_action(Output::SendPost {
            url,
            body,
            soap_action,
            session_id: sid,
            cookie,
            timeout,
            credentials,
        });
        self.arm(Timer::Response, clock::add(now.mono, timeout), now);
    }

    fn send_empty_post(&mut self, now: Now) {
        self.send_post(
            now,
            None,
            Awaiting::AcsMessage,
            "empty".into(),
            None,
            Vec::new(),
        );
    }

    /// After an InformResponse or TransferCompleteResponse: the next CPE request unless the
    /// ACS holds requests, else the empty POST (TR-069 §3.7.1, §3.7.1.4).
    fn next_cpe_post<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now) {
        let Some(s) = &self.session else { return };
        if !s.hold_requests {
            if let Some(rid) = s.transfer_requests.front().copied() {
                self.send_transfer_complete(store, now, rid);
                return;
            }
        }
        self.send_empty_post(now);
    }

    fn send_transfer_complete<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        rid: u64,
    ) {
        let Some(r) = self
            .results
            .iter()
            .find(|(i, _)| *i == rid)
            .map(|(_, r)| r.clone())
        else {
            // The result is gone (cannot happen while a session runs); skip it.
            if let Some(s) = self.session.as_mut() {
                s.transfer_requests.retain(|i| *i != rid);
            }
            self.next_cpe_post(store, now);
            return;
        };
        let Some(ns) = self.session.as_ref().map(|s| s.ns) else {
            return;
        };
        let detail = vec![format!("{} {}", r.command_key, r.fault_code)];
        let env = Envelope::new(
            ns,
            Body::TransferComplete(cwmp_soap::TransferComplete {
                command_key: r.command_key,
                fault_struct: cwmp_soap::TransferCompleteFaultStruct {
                    fault_code: r.fault_code,
                    fault_string: r.fault_string,
                },
                start_time: r.start,
                complete_time: r.complete,
            }),
        )
        .with_id(self.next_id());
        self.send_envelope(
            store,
            now,
            &env,
            Awaiting::TransferCompleteResponse(rid),
            detail,
        );
    }

    fn handle_http_response<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        status: u16,
        body: &[u8],
        set_cookie: &[String],
        location: Option<String>,
    ) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let Some(awaiting) = s.awaiting.take() else {
            return;
        };
        let sid = s.id;
        let mut refused = Vec::new();
        for c in set_cookie {
            if let Err(why) = s.cookies.store(c) {
                refused.push(why);
            }
        }
        self.timers.stop(Timer::Response);
        for why in refused {
            self.note(|| why.to_owned());
        }
        if matches!(status, 300..=399) {
            // The target as the engine would follow it; Display of a Url masks a password.
            let base = self
                .session
                .as_ref()
                .map(|s| s.url.clone())
                .unwrap_or_default();
            let shown: Vec<String> = location
                .iter()
                .map(|l| match Url::parse(&base).and_then(|b| b.join(l)) {
                    Ok(u) => format!("Location {u}"),
                    Err(_) => "an unusable Location".to_owned(),
                })
                .collect();
            self.trace(|| TraceEvent::MessageReceived {
                session_id: sid,
                status,
                cwmp_id: None,
                detail: shown,
                method: "redirect".to_owned(),
                bytes: body.len(),
            });
            return self.redirect(store, now, awaiting, status, location);
        }

        let empty = body.iter().all(|b| b.is_ascii_whitespace());
        let parsed = if empty {
            None
        } else {
            Some(cwmp_soap::parse(body, &self.config.soap_limits))
        };
        let method = match &parsed {
            None => "empty".to_owned(),
            Some(Ok(env)) => env.body.name().to_owned(),
            Some(Err(_)) => "unparsable".to_owned(),
        };
        self.trace(|| TraceEvent::MessageReceived {
            session_id: sid,
            status,
            cwmp_id: parsed
                .as_ref()
                .and_then(|p| p.as_ref().ok())
                .and_then(|e| e.header.id.clone()),
            detail: parsed
                .as_ref()
                .and_then(|p| p.as_ref().ok())
                .map(trace_detail_in)
                .unwrap_or_default(),
            method,
            bytes: body.len(),
        });

        // Classify (TR-069 §3.4, §3.7.1.4): 204 or 200 without body = empty; 200 with a SOAP
        // envelope = a message; a SOAP Fault is also accepted under 500; anything else fails.
        let env = match (status, parsed) {
            (204, _) | (200, None) => None,
            (200, Some(Ok(env))) => Some(env),
            (500, Some(Ok(env))) if env.body.is_fault() => Some(env),
            (_, Some(Err(e))) if status == 200 => {
                return self.end_session(
                    store,
                    now,
                    End::Failed(format!("unparsable ACS message: {e}")),
                );
            }
            (status, _) => {
                return self.end_session(store, now, End::Failed(format!("HTTP status {status}")));
            }
        };

        match awaiting {
            Awaiting::InformResponse => self.on_inform_reply(store, now, env),
            Awaiting::TransferCompleteResponse(rid) => {
                self.on_transfer_complete_reply(store, now, env, rid)
            }
            Awaiting::AcsMessage => self.on_acs_message(store, now, env),
        }
    }

    /// A 3xx (TR-069 §3.4): only the Inform is redirected, only with 301, 302 or 307, at
    /// most [`MAX_REDIRECTS`] times; the target holds for the rest of the session. Cookies
    /// belong to one server: a new origin starts with none.
    fn redirect<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        awaiting: Awaiting,
        status: u16,
        location: Option<String>,
    ) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let failure = if awaiting != Awaiting::InformResponse {
            Some(format!(
                "HTTP {status} after the Inform (only the Inform may be redirected)"
            ))
        } else if !matches!(status, 301 | 302 | 307) {
            Some(format!(
                "HTTP {status} is not a redirect CWMP follows (301, 302, 307)"
            ))
        } else if s.redirects >= MAX_REDIRECTS {
            Some(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            match (location, Url::parse_http(&s.url)) {
                (None, _) => Some(format!("HTTP {status} without Location")),
                (Some(_), Err(e)) => Some(format!("ACS URL: {e}")),
                (Some(loc), Ok(base)) => match base.join(&loc) {
                    Ok(target) if target.is_http() => {
                        if !target.same_origin(&base) {
                            s.cookies.clear();
                        }
                        s.redirects += 1;
                        s.url = target.serialize();
                        None
                    }
                    Ok(target) => Some(format!("Location {target} is not an http or https URL")),
                    Err(e) => Some(format!("bad Location: {e}")),
                },
            }
        };
        if let Some(reason) = failure {
            return self.end_session(store, now, End::Failed(reason));
        }
        let url = s.url.clone();
        let body = s.inform_body.clone();
        self.note(|| format!("Inform redirected ({status}) to {url}"));
        self.send_post(
            now,
            body,
            Awaiting::InformResponse,
            "Inform".into(),
            None,
            vec![format!("redirected to {url}")],
        );
    }

    fn on_inform_reply<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        env: Option<Envelope>,
    ) {
        let Some(env) = env else {
            return self.end_session(
                store,
                now,
                End::Failed("empty response to the Inform".into()),
            );
        };
        if let Some(h) = env.header.unknown_must_understand.first() {
            let reason = format!("InformResponse carries a header we do not understand: {h}");
            return self.end_session(store, now, End::Failed(reason));
        }
        match env.body {
            Body::InformResponse(_) => {}
            Body::Fault(f) => {
                let code = f.detail.as_ref().map_or(0, |d| d.code);
                if code == 8006 && self.ns_level + 1 < NAMESPACE_LADDER.len() {
                    self.ns_level += 1;
                    let ns = NAMESPACE_LADDER[self.ns_level];
                    self.note(|| format!("ACS fault 8006: next Inform in {ns}"));
                }
                return self.end_session(
                    store,
                    now,
                    End::Failed(format!("ACS fault {code} on Inform")),
                );
            }
            other => {
                let reason = format!("{} received instead of InformResponse", other.name());
                return self.end_session(store, now, End::Failed(reason));
            }
        }
        // Namespace for the rest of the session: UseCWMPVersion, else the response's (TR-069 §3.5).
        let mut ns = env.namespace;
        if let Some(v) = &env.header.use_cwmp_version {
            match parse_version(v).and_then(|(a, b)| CwmpNamespace::for_version(a, b)) {
                Some(n) => ns = n,
                None => {
                    let reason = format!("unsupported UseCWMPVersion {v:?}");
                    return self.end_session(store, now, End::Failed(reason));
                }
            }
        }
        let max_timeout = self
            .config
            .max_response_timeout
            .max(self.config.base_response_timeout());
        let base_timeout = self.config.base_response_timeout();
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.ns = ns;
        s.hold_requests = env.header.hold_requests == Some(true);
        if let Some(t) = env.header.session_timeout {
            s.response_timeout = Duration::from_secs(u64::from(t)).clamp(base_timeout, max_timeout);
        }
        // Delivery (TR-069 Annex A.3.3.1): events on the InformResponse.
        let carried = std::mem::take(&mut s.carried_events);
        let changes = std::mem::take(&mut s.carried_changes);
        let bootstrap = s.carried_bootstrap;
        let reported_update = std::mem::take(&mut s.reported_update);
        let url = s.acs_url.clone();
        let before = self.events.persistent().len();
        let removed = self.events.remove_ids(&carried);
        if self.events.persistent().len() != before {
            self.dirty = true;
        }
        if bootstrap {
            self.bootstrap_pending = false;
            self.bootstrap_url = Some(url);
            self.dirty = true;
        }
        if self.apply_reported_update(reported_update) {
            self.dirty = true;
        }
        let n_changed = self.changed.len();
        self.changed.retain(|c| {
            !changes
                .iter()
                .any(|(n, g)| *n == c.name && *g == c.generation)
        });
        let progress = removed > 0 || bootstrap || self.changed.len() != n_changed;
        if let Some(s) = self.session.as_mut() {
            s.progress |= progress;
        }
        self.next_cpe_post(store, now);
    }

    fn on_transfer_complete_reply<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        env: Option<Envelope>,
        rid: u64,
    ) {
        let Some(env) = env else {
            return self.end_session(
                store,
                now,
                End::Failed("empty response to TransferComplete".into()),
            );
        };
        match env.body {
            Body::TransferCompleteResponse => {
                let hold = env.header.hold_requests == Some(true);
                self.results.retain(|(i, _)| *i != rid);
                self.dirty = true;
                if let Some(s) = self.session.as_mut() {
                    s.transfer_requests.retain(|i| *i != rid);
                    s.request_retries = 0;
                    s.progress = true;
                    s.hold_requests = hold;
                }
                self.next_cpe_post(store, now);
            }
            Body::Fault(f) => {
                let code = f.detail.as_ref().map_or(0, |d| d.code);
                let max = self.config.max_request_retries;
                let retry = match self.session.as_mut() {
                    Some(s) if code == 8005 && s.request_retries < max => {
                        s.request_retries += 1;
                        true
                    }
                    _ => false,
                };
                if retry {
                    // Method retry (TR-069 §3.7.1.4): the same request again, in this session.
                    self.send_transfer_complete(store, now, rid);
                } else {
                    let reason = format!("ACS fault {code} on TransferComplete");
                    self.end_session(store, now, End::Failed(reason));
                }
            }
            other => {
                let reason = format!(
                    "{} received instead of TransferCompleteResponse",
                    other.name()
                );
                self.end_session(store, now, End::Failed(reason));
            }
        }
    }

    fn on_acs_message<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        env: Option<Envelope>,
    ) {
        let Some(env) = env else {
            // Empty response: the ACS has nothing more (TR-069 §3.7.1.4). Send what is left, or end.
            let Some(s) = self.session.as_mut() else {
                return;
            };
            s.hold_requests = false;
            if let Some(rid) = s.transfer_requests.front().copied() {
                self.send_transfer_complete(store, now, rid);
            } else {
                self.end_session(store, now, End::Ok);
            }
            return;
        };
        if !crate::rpc::is_acs_request(&env.body) {
            let reason = format!("unexpected {} from the ACS", env.body.name());
            return self.end_session(store, now, End::Failed(reason));
        }
        let max = self.config.max_acs_requests_per_session;
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.acs_requests += 1;
        if s.acs_requests > max {
            return self.end_session(
                store,
                now,
                End::Failed(format!("more than {max} ACS requests")),
            );
        }
        s.hold_requests = env.header.hold_requests == Some(true);
        let ns = s.ns;
        let (reply, detail) = crate::rpc::dispatch(self, store, now, &env);
        let header = Header {
            id: env.header.id.clone(),
            ..Header::default()
        };
        match reply.encode(ns, header) {
            Ok((bytes, method)) => {
                let id = env.header.id;
                self.send_post(
                    now,
                    Some(bytes),
                    Awaiting::AcsMessage,
                    method.to_owned(),
                    id,
                    detail,
                );
            }
            Err(e) => {
                self.end_session(
                    store,
                    now,
                    End::Failed(format!("cannot encode response: {e}")),
                );
            }
        }
    }

    fn end_session<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now, end: End) {
        let Some(s) = self.session.take() else { return };
        self.timers.stop(Timer::Response);
        let ok = matches!(end, End::Ok);
        let reason = match &end {
            End::Ok => "ok".to_owned(),
            End::Failed(r) => r.clone(),
        };
        self.trace(|| TraceEvent::SessionEnded {
            session_id: s.id,
            ok,
            reason,
        });
        self.emit_action(Output::SessionEnded {
            session_id: s.id,
            ok,
        });
        let follow_up = std::mem::take(&mut self.follow_up);
        if ok {
            self.retry_count = 0;
            self.last_success_end = Some(now.mono);
        } else {
            self.retry_count = self.retry_count.saturating_add(1);
            // `6 CONNECTION REQUEST` is never retried (TR-069 Annex A.3.3.1).
            self.events
                .retain(|e| e.code != EventCode::ConnectionRequest);
        }

        // Actions the ACS asked for run after the session, whatever its outcome: the CPE has
        // answered them, and the persisted events tell the ACS what happened.
        if s.factory_reset {
            self.drop_for_factory_reset();
            self.halted = true;
            self.emit_action(Output::FactoryReset);
            return;
        }
        if let Some(command_key) = s.reboot {
            self.halted = true;
            self.emit_action(Output::Reboot { command_key });
            return;
        }
        if ok {
            // Another session right away if something arrived meanwhile, or if this one made
            // progress and events are left (more than 64, or TransferCompletes held back);
            // a session that delivered nothing is not repeated until the next trigger.
            if self.has_urgent_reasons() && (follow_up || s.progress) {
                self.pending_start = true;
            } else {
                self.pending_start = false;
                if self.has_active_changes() {
                    self.request_active_session(store, now);
                }
            }
        } else {
            self.pending_start = false;
            if self.has_urgent_reasons() || self.has_active_changes() {
                let m = self
                    .param(store, names::RETRY_MIN_WAIT)
                    .and_then(|v| as_u64(&v))
                    .map_or(DEFAULT_RETRY_MINIMUM_WAIT, |n| {
                        u32::try_from(n).unwrap_or(u32::MAX)
                    });
                let k = self
                    .param(store, names::RETRY_MULTIPLIER)
                    .and_then(|v| as_u64(&v))
                    .map_or(DEFAULT_RETRY_MULTIPLIER, |n| {
                        u32::try_from(n).unwrap_or(u32::MAX)
                    });
                let wait = retry::retry_wait(self.retry_count, m, k, &mut self.rng);
                self.arm(Timer::Retry, clock::add(now.mono, wait), now);
            }
        }
        // The ACS may have changed ManagementServer.URL in this session: a BOOTSTRAP to the
        // new ACS starts at once (the retry wait was for the old one).
        self.check_bootstrap(store);
        self.start_due_transfers(now);
    }

    // -----------------------------------------------------------------------------------------
    // Helpers used by the RPC and Inform modules
    // -----------------------------------------------------------------------------------------

    pub(crate) fn config(&self) -> &AgentConfig {
        &self.config
    }

    pub(crate) fn bootstrap_pending(&self) -> bool {
        self.bootstrap_pending
    }

    pub(crate) fn queued_events(&self) -> Vec<(u64, QueuedEvent)> {
        self.events
            .ordered()
            .into_iter()
            .map(|(i, e)| (i, e.clone()))
            .collect()
    }

    pub(crate) fn changed_names(&self) -> Vec<(String, u64)> {
        self.changed
            .iter()
            .map(|c| (c.name.clone(), c.generation))
            .collect()
    }

    pub(crate) fn transfer_results(&self) -> Vec<(u64, TransferResult)> {
        self.results.clone()
    }

    pub(crate) fn retry_count_now(&self) -> u32 {
        self.retry_count
    }

    /// A `ManagementServer.`/`DeviceInfo.` parameter's real value.
    pub(crate) fn param<S: ParameterStore + ?Sized>(
        &self,
        store: &mut S,
        rel: &str,
    ) -> Option<Value> {
        store.internal_value(&format!("{}{rel}", self.config.root))
    }

    fn acs_url<S: ParameterStore + ?Sized>(&self, store: &mut S) -> String {
        self.param(store, names::URL)
            .map(|v| v.to_lexical().trim().to_owned())
            .unwrap_or_default()
    }

    /// `ManagementServer.EnableCWMP` (Device:1.14; absent = enabled, TR-069 §3.3).
    fn cwmp_enabled<S: ParameterStore + ?Sized>(&self, store: &mut S) -> bool {
        self.param(store, names::ENABLE_CWMP)
            .and_then(|v| as_bool(&v))
            .unwrap_or(true)
    }

    pub(crate) fn session_reboot(&mut self, command_key: &str) {
        if let Some(s) = self.session.as_mut() {
            s.reboot = Some(command_key.to_owned());
        }
        self.queue_event(EventCode::MReboot, command_key);
    }

    pub(crate) fn session_factory_reset(&mut self) {
        if let Some(s) = self.session.as_mut() {
            s.factory_reset = true;
        }
    }

    pub(crate) fn transfers(&self) -> &[(QueuedTransfer, Instant)] {
        &self.transfers
    }

    pub(crate) fn pending_results(&self) -> &[(u64, TransferResult)] {
        &self.results
    }

    pub(crate) fn accept_transfer(&mut self, t: QueuedTransfer, at: Instant, now: Now) {
        self.transfers.push((t, at));
        self.dirty = true;
        self.arm_transfers(now);
    }

    /// Cancel the not-started transfers with this key; see `rpc::cancel_transfer`.
    pub(crate) fn remove_transfers(&mut self, command_key: &str, now: Now) {
        self.transfers.retain(|(t, _)| t.command_key != command_key);
        self.dirty = true;
        self.arm_transfers(now);
    }

    pub(crate) fn scheduled_count(&self) -> usize {
        self.scheduled.len()
    }

    pub(crate) fn accept_schedule_inform(&mut self, command_key: &str, delay: Duration, now: Now) {
        self.scheduled.push((
            ScheduledInform {
                command_key: command_key.to_owned(),
                due: now.wall_plus(delay),
            },
            clock::add(now.mono, delay),
        ));
        self.dirty = true;
        self.arm_scheduled(now);
    }

    /// At the first Inform of a boot (not a bootstrap): every parameter whose value differs
    /// from what the ACS was last told changed while the engine was not running (a new LAN
    /// address, a ConnectionRequestURL on a new port) and is recorded like a local change;
    /// parameters that no longer exist are forgotten.
    fn collect_boot_changes<S: ParameterStore + ?Sized>(&mut self, store: &mut S, now: Now) {
        let mut differ = Vec::new();
        let mut gone = Vec::new();
        for (name, old) in &self.reported {
            match store.get_values(std::slice::from_ref(name)) {
                Ok(v) if v.len() == 1 => {
                    if v[0].value.to_lexical() != *old {
                        differ.push(name.clone());
                    }
                }
                _ => gone.push(name.clone()),
            }
        }
        for name in gone {
            self.reported.remove(&name);
            self.dirty = true;
        }
        if !differ.is_empty() {
            self.record_value_changes(store, now, &differ);
        }
    }

    /// Whether `name` reads as the value the ACS was last told.
    fn is_as_reported<S: ParameterStore + ?Sized>(&self, store: &mut S, name: &str) -> bool {
        let Some(old) = self.reported.get(name) else {
            return false;
        };
        match store.get_values(&[name.to_owned()]) {
            Ok(v) => v.len() == 1 && v[0].value.to_lexical() == *old,
            Err(_) => false,
        }
    }

    /// Record the current values of `names` (full names or partial paths) as known to the
    /// ACS. Returns whether `reported` changed.
    fn note_reported<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        names: Vec<String>,
    ) -> bool {
        if names.is_empty() {
            return false;
        }
        let mut changed = false;
        if let Ok(values) = store.get_values(&names) {
            for p in values {
                let v = p.value.to_lexical();
                changed |= self.set_reported(p.name, v);
            }
        }
        changed
    }

    /// One entry of `reported`: values that read as `""` are not kept (see
    /// [`PersistentState::reported_values`]), and the map stays bounded.
    fn set_reported(&mut self, name: String, value: String) -> bool {
        if value.is_empty() {
            return self.reported.remove(&name).is_some();
        }
        if !self.reported.contains_key(&name) && self.reported.len() >= MAX_REPORTED_VALUES {
            return false;
        }
        self.reported.insert(name, value.clone()).as_ref() != Some(&value)
    }

    /// The delivery of an Inform: what the ACS has now been told. Returns whether `reported`
    /// changed.
    fn apply_reported_update(&mut self, u: crate::inform::ReportedUpdate) -> bool {
        let mut changed = false;
        if let Some(snapshot) = u.snapshot {
            changed = true;
            self.reported.clear();
            for (n, v) in snapshot {
                self.set_reported(n, v);
            }
        }
        for (n, v) in u.values {
            changed |= self.set_reported(n, v);
        }
        changed
    }

    /// SetParameterAttributes succeeded: a parameter whose notification the ACS turned on is
    /// known to it at its current value; one turned off is forgotten.
    pub(crate) fn after_set_attributes<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        changes: &[cwmp_model::SetAttributes],
    ) {
        let mut on = Vec::new();
        for c in changes {
            match c.notification.map(|n| n.as_i32()) {
                Some(0) => {
                    let before = self.reported.len();
                    self.reported.retain(|n, _| {
                        !(n == &c.name || (c.name.ends_with('.') && n.starts_with(&c.name)))
                    });
                    self.dirty |= self.reported.len() != before;
                }
                Some(_) => on.push(c.name.clone()),
                None => {}
            }
        }
        if self.note_reported(store, on) {
            self.dirty = true;
        }
    }

    /// The periodic inform parameters may have been written by the ACS.
    /// So may the STUN settings (TR-069 Annex G).
    pub(crate) fn after_set_values<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        now: Now,
        names: &[String],
    ) {
        // The ACS knows the values it set itself.
        if self.note_reported(
            store,
            names
                .iter()
                .filter(|n| self.reported.contains_key(*n))
                .cloned()
                .collect(),
        ) {
            self.dirty = true;
        }
        self.refresh_periodic(store, now, false);
        let root = self.config.root.clone();
        self.stun.configure(store, &root, now.mono);
    }

    // -----------------------------------------------------------------------------------------
    // Outputs
    // -----------------------------------------------------------------------------------------

    /// Queue an output that acts on persistent state: any pending `Persist` goes first.
    fn emit_action(&mut self, o: Output) {
        self.flush_persist();
        self.outputs.push_back(o);
    }

    fn flush_persist(&mut self) {
        if self.dirty {
            self.dirty = false;
            let state = self.persistent_state();
            self.outputs.push_back(Output::Persist(state));
        }
    }

    pub(crate) fn trace(&mut self, ev: impl FnOnce() -> TraceEvent) {
        if self.config.trace {
            self.outputs.push_back(Output::Trace(ev()));
        }
    }

    fn note(&mut self, text: impl FnOnce() -> String) {
        self.trace(|| TraceEvent::Note { text: text() });
    }
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("session", &self.session.as_ref().map(|s| s.id))
            .field("retry_count", &self.retry_count)
            .field("halted", &self.halted)
            .field("pending_events", &self.pending_events())
            .finish_non_exhaustive()
    }
}

/// Names (never values) for the trace of a received message.
fn trace_detail_in(env: &Envelope) -> Vec<String> {
    let mut d: Vec<String> = match &env.body {
        Body::GetParameterValues(r) => r.parameter_names.clone(),
        Body::SetParameterValues(r) => r.parameter_list.iter().map(|p| p.name.clone()).collect(),
        Body::GetParameterAttributes(r) => r.parameter_names.clone(),
        Body::SetParameterAttributes(r) => {
            r.parameter_list.iter().map(|p| p.name.clone()).collect()
        }
        Body::GetParameterNames(r) => {
            vec![format!("{} next_level={}", r.parameter_path, r.next_level)]
        }
        Body::AddObject(r) => vec![r.object_name.clone()],
        Body::DeleteObject(r) => vec![r.object_name.clone()],
        Body::Fault(f) => f
            .detail
            .as_ref()
            .map(|d| vec![format!("{} {}", d.code, d.string)])
            .unwrap_or_else(|| vec![f.faultcode.clone()]),
        _ => Vec::new(),
    };
    if env.header.hold_requests == Some(true) {
        d.push("HoldRequests".into());
    }
    if let Some(v) = &env.header.use_cwmp_version {
        d.push(format!("UseCWMPVersion {v}"));
    }
    d.extend(
        env.header
            .unknown_must_understand
            .iter()
            .map(|h| format!("mustUnderstand {h}")),
    );
    d
}

/// `"1.4"` → `(1, 4)`.
fn parse_version(v: &str) -> Option<(u8, u8)> {
    let (a, b) = v.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

pub(crate) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Boolean(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::UnsignedInt(n) => Some(u64::from(*n)),
        Value::UnsignedLong(n) => Some(*n),
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::Long(n) => u64::try_from(*n).ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn as_datetime(v: &Value) -> Option<DateTime> {
    match v {
        Value::DateTime(d) => Some(*d),
        Value::String(s) => DateTime::parse(s),
        _ => None,
    }
}

//! The blocking driver: runs the sans-IO engine against the real clock, the real network
//! and the embedder's device (design invariants 1, 2 and 7).
//!
//! ```text
//!            ClientHandle (cloneable, any thread)
//!   connection request ─┐  value change ─┐  transfer done ─┐  shutdown ─┐
//!                       ▼                ▼                 ▼            ▼
//!                  ┌────────────── std::sync::mpsc channel ───────────────┐
//!                  └──────────────────────────┬───────────────────────────┘
//!                                             │ recv_timeout(until the engine's deadline)
//!                                             ▼
//!   ┌─────────┐  handle_input(store, now, …)  ┌────────┐  poll_output()  ┌────────────────────┐
//!   │ Client  │ ─────────────────────────────►│ Agent  │────────────────►│ SendPost → HTTP    │
//!   │ (clock, │◄───────────── HttpResponse / HttpFailed ─────────────────│ Persist → Device   │
//!   │  RNG)   │                               └────────┘                 │ Download → Device  │
//!   └─────────┘                                                          │ Reboot/Reset → Exit│
//!                                                                        └────────────────────┘
//! ```
//!
//! The driver makes no protocol decision: the engine says where to POST, with which cookies,
//! credentials and timeout, when to listen for connection requests and with which
//! credentials; the driver performs it. The connection-request listener and the UDP (STUN)
//! socket, when configured in [`ClientConfig::connection_requests`], run on their own threads
//! and only send events through a [`ClientHandle`] (`connreq.rs`).

use crate::connreq::ConnReqRuntime;
use crate::error::Error;
use crate::listener::ConnectionRequestConfig;
use crate::tls::{ClientIdentity, TlsSettings};
use crate::transport::{HttpSession, PostRequest, SessionAbort, TransportConfig};
use cwmp_engine::{
    Agent, AgentConfig, BootReason, DownloadRequest, HttpCredentials, Input, Now, Output,
    PersistentState, TraceEvent,
};
use cwmp_model::{ChangeListener, DateTime, ParameterStore, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// Where the driver finds TLS material in the store, and the device's default identity.
///
/// On the Desk Phone CP the ACS may provision "ACS server CA certificate 1/2", "ACS client
/// certificate" and "ACS client key"; the data model decides their parameter names, so they
/// are configured here (full names). Values are read at the start of every session, so a
/// certificate the ACS sets applies from the next session on.
#[derive(Debug, Clone, Default)]
pub struct TlsSources {
    /// Parameters holding trusted CA certificates (PEM). Empty values are skipped; when all
    /// are empty the default root set is used.
    pub ca_certificate_params: Vec<String>,
    /// Parameter holding the client certificate (PEM).
    pub client_certificate_param: Option<String>,
    /// Parameter holding the client key (PEM).
    pub client_key_param: Option<String>,
    /// The device's default certificate and key, presented when no client certificate is
    /// provisioned (the embedder supplies it; the simulator generates its own).
    pub default_identity: Option<ClientIdentity>,
}

/// Reads the wall clock for the engine.
pub type WallClock = fn() -> DateTime;

/// The system clock as UTC, or [`DateTime::UNKNOWN`] when it reads before 2001-01-01.
///
/// Decision (TR-069 §3.2.1 speaks of a CPE "without absolute time"): an embedded device whose
/// real-time clock has not been set yet boots at the Unix epoch, so any time before 2001 is
/// treated as unknown rather than as a real date.
pub fn system_wall_clock() -> DateTime {
    let t = time::OffsetDateTime::from(SystemTime::now());
    if t.year() < 2001 {
        DateTime::UNKNOWN
    } else {
        DateTime(t)
    }
}

/// Everything the driver needs besides the store and the device.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The engine's configuration (data-model root, response timeout, limits). Its
    /// `connection_requests` is set by [`Client::new`] from
    /// [`ClientConfig::connection_requests`] (on when an HTTP listen address is configured).
    pub agent: AgentConfig,
    /// The HTTP transport's configuration (connect timeout, body limit, pre-emptive Basic).
    /// Each POST waits as long as the engine says (`cwmp:SessionTimeout`), not
    /// `response_timeout`.
    pub transport: TransportConfig,
    /// TLS material.
    pub tls: TlsSources,
    /// The wall clock (default [`system_wall_clock`]).
    pub wall_clock: WallClock,
    /// The HTTP connection-request listener and the UDP (STUN) socket; both off by default
    /// (see [`ConnectionRequestConfig`]).
    pub connection_requests: ConnectionRequestConfig,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            agent: AgentConfig::default(),
            transport: TransportConfig::default(),
            tls: TlsSources::default(),
            wall_clock: system_wall_clock,
            connection_requests: ConnectionRequestConfig::default(),
        }
    }
}

/// What the driver asks of the device. `S` is the store type the client runs with
/// (implement it for every store with `impl<S: ParameterStore> Device<S> for MyDevice`).
pub trait Device<S: ?Sized> {
    /// Write the engine's state durably and atomically before returning (design invariant
    /// 7). An error is logged; the engine keeps running on its in-memory state.
    fn persist(&mut self, state: &PersistentState) -> std::io::Result<()>;

    /// Perform a Download the ACS asked for (the session has ended and DelaySeconds has
    /// passed). Do it on another thread and report the result with
    /// [`ClientHandle::transfer_complete`] (or [`ClientHandle::input`]).
    fn download(&mut self, request: DownloadRequest, handle: &ClientHandle);

    /// The TLS settings for the session about to start (called once per session, before its
    /// first POST). Return `None` to let the driver build them from [`TlsSources`] (the
    /// default); return them yourself when the certificates live outside the parameter
    /// tree, e.g. as configuration items with no TR-069 name. An `Err` fails the session.
    fn tls_settings(&mut self, _store: &mut S) -> Option<Result<TlsSettings, Error>> {
        None
    }

    /// A session ended (successfully or not). Default: nothing.
    fn session_ended(&mut self, _session_id: u64, _ok: bool) {}

    /// A trace event (only with `AgentConfig::trace`). Default: logged at debug level.
    fn trace(&mut self, event: &TraceEvent) {
        log::debug!("{event:?}");
    }
}

/// Why [`Client::run`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// [`ClientHandle::shutdown`] was called.
    Shutdown,
    /// The ACS asked for a reboot (its session has ended). Reboot the device, then construct
    /// a new client with `BootReason::PowerOn` and the last persisted state.
    Reboot {
        /// The Reboot's CommandKey.
        command_key: String,
    },
    /// The ACS asked for a factory reset: the store has been reset
    /// ([`ParameterStore::factory_reset`]); reset whatever else the device keeps and reboot.
    FactoryReset,
}

/// A closure run on the driver's thread with the store (see [`ClientHandle::with_store`]).
pub type StoreJob = Box<dyn FnOnce(&mut dyn ParameterStore) + Send>;

enum Command {
    Input(Input),
    WithStore(StoreJob),
    Shutdown,
    /// A connection request the listener refused, for the trace and the log.
    Refused {
        status: u16,
        reason: String,
    },
}

/// A cloneable, thread-safe handle that feeds the driver: connection requests, value
/// changes, transfer results, shutdown. Every method returns `false` once the client is gone.
#[derive(Clone)]
pub struct ClientHandle {
    tx: Sender<Command>,
    stopping: Arc<AtomicBool>,
    abort: Arc<Mutex<Option<SessionAbort>>>,
    /// The concrete type of the store [`Client::run`] last ran with (for `with_store_as`).
    store_type: Arc<Mutex<Option<(std::any::TypeId, &'static str)>>>,
}

impl fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHandle")
            .field("stopping", &self.stopping.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl ClientHandle {
    /// Hand any engine input to the driver.
    pub fn input(&self, input: Input) -> bool {
        self.tx.send(Command::Input(input)).is_ok()
    }

    /// An authenticated Connection Request arrived (TR-069 §3.2.2).
    pub fn connection_request(&self) -> bool {
        self.input(Input::ConnectionRequest)
    }

    /// The listener refused a connection request (reported to the trace and the log).
    pub(crate) fn connection_request_refused(&self, status: u16, reason: String) -> bool {
        self.tx.send(Command::Refused { status, reason }).is_ok()
    }

    /// Parameters changed by other means than the ACS.
    pub fn values_changed(&self, names: Vec<String>) -> bool {
        self.input(Input::ValueChanged { names })
    }

    /// A Download finished (`fault: None` on success).
    pub fn transfer_complete(
        &self,
        command_key: String,
        fault: Option<cwmp_model::Fault>,
        start: DateTime,
        complete: DateTime,
    ) -> bool {
        self.input(Input::TransferComplete {
            command_key,
            fault,
            start,
            complete,
            kind: cwmp_engine::TransferKind::Download,
        })
    }

    /// Run `job` on the driver's thread with the store, between two engine steps (for a local
    /// admin interface: the store is never shared between threads, design invariant 5).
    pub fn with_store(&self, job: impl FnOnce(&mut dyn ParameterStore) + Send + 'static) -> bool {
        self.tx.send(Command::WithStore(Box::new(job))).is_ok()
    }

    /// [`with_store`](Self::with_store) for a job that needs the concrete store type `T` (its
    /// own methods beyond [`ParameterStore`], e.g. a batch of configuration items), reached
    /// through [`ParameterStore::as_any_mut`].
    ///
    /// Fails with [`Error::WrongStoreType`] when the store [`Client::run`] runs with is not a
    /// `T` (decided here, before the job is sent, once `run` has started; a job queued before
    /// that is checked on the driver's thread and dropped unrun, so a result channel it holds
    /// disconnects), and with [`Error::Shutdown`] once the client is gone.
    pub fn with_store_as<T: 'static>(
        &self,
        job: impl FnOnce(&mut T) + Send + 'static,
    ) -> Result<(), Error> {
        let wrong = || Error::WrongStoreType {
            requested: std::any::type_name::<T>(),
        };
        let known = *self.store_type.lock().unwrap_or_else(|p| p.into_inner());
        if known.is_some_and(|(id, _)| id != std::any::TypeId::of::<T>()) {
            return Err(wrong());
        }
        let sent = self.with_store(move |store: &mut dyn ParameterStore| {
            match store.as_any_mut().and_then(|any| any.downcast_mut::<T>()) {
                Some(concrete) => job(concrete),
                None => log::error!("store job skipped: {}", wrong()),
            }
        });
        if sent {
            Ok(())
        } else {
            Err(Error::Shutdown)
        }
    }

    /// A [`ChangeListener`] for the store that relays changes to the driver.
    pub fn change_listener(&self) -> ChangeListener {
        let h = self.clone();
        Box::new(move |names: &[String]| {
            h.values_changed(names.to_vec());
        })
    }

    /// Ask [`Client::run`] to return [`Exit::Shutdown`]. A POST in flight is aborted (its
    /// session fails; undelivered events stay queued in the persisted state).
    pub fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = self.tx.send(Command::Shutdown);
        if let Some(a) = self
            .abort
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            a.abort();
        }
    }
}

/// The session in progress on the HTTP side.
struct ActiveSession {
    id: u64,
    http: HttpSession,
}

/// The blocking CWMP client: owns the engine, the clocks and the RNG; borrows the store and
/// the device while it runs.
pub struct Client {
    agent: Agent,
    config: ClientConfig,
    rng: ChaCha8Rng,
    rx: Receiver<Command>,
    handle: ClientHandle,
    session: Option<ActiveSession>,
    /// The connection-request sockets, while [`Client::run`] runs.
    connreq: Option<ConnReqRuntime>,
    /// Refused connection requests not yet reported (see `report_refusals`).
    refused: Vec<(u16, String)>,
    /// When each kind of refusal was last logged, and how many since.
    refusal_log: std::collections::HashMap<(u16, String), (Instant, u64)>,
}

/// A kind of refused connection request is logged at most this often.
const REFUSAL_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("agent", &self.agent)
            .field("session", &self.session.as_ref().map(|s| s.id))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for a device that starts for `boot`, with the state it last persisted
    /// (`PersistentState::new()` for a factory-new device). `seed` feeds every random choice
    /// (retry waits, Digest cnonces): draw it from the OS ([`os_seed`]) outside tests.
    pub fn new(
        config: ClientConfig,
        state: PersistentState,
        boot: BootReason,
        seed: u64,
    ) -> Result<Client, Error> {
        let mut config = config;
        config.agent.connection_requests = config.connection_requests.http_bind.is_some();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let now = Now::new(Instant::now(), (config.wall_clock)());
        let agent = Agent::new(config.agent.clone(), state, boot, rng.random(), now)
            .map_err(Error::Engine)?;
        let (tx, rx) = mpsc::channel();
        let handle = ClientHandle {
            tx,
            stopping: Arc::new(AtomicBool::new(false)),
            abort: Arc::new(Mutex::new(None)),
            store_type: Arc::new(Mutex::new(None)),
        };
        Ok(Client {
            agent,
            config,
            rng,
            rx,
            handle,
            session: None,
            connreq: None,
            refused: Vec::new(),
            refusal_log: std::collections::HashMap::new(),
        })
    }

    /// A handle for other threads (connection-request listener, STUN, admin interface).
    pub fn handle(&self) -> ClientHandle {
        self.handle.clone()
    }

    /// The engine (for diagnostics: pending events, retry count, timers).
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    fn now(&self) -> Now {
        Now::new(Instant::now(), (self.config.wall_clock)())
    }

    /// Run until shutdown, a reboot or a factory reset. Installs the store's change listener
    /// (relaying to this client) first.
    pub fn run<S, D>(&mut self, store: &mut S, device: &mut D) -> Result<Exit, Error>
    where
        S: ParameterStore,
        D: Device<S> + ?Sized,
    {
        // A data model without the Inform's identity is refused before anything starts.
        self.agent.check_store(store).map_err(Error::Engine)?;
        *self
            .handle
            .store_type
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = store
            .as_any_mut()
            .map(|any| ((*any).type_id(), std::any::type_name::<S>()));
        // The connection-request sockets live as long as this call (TR-069 §3.2.2, Annex G).
        self.connreq = None;
        self.connreq = Some(ConnReqRuntime::new(
            self.config.connection_requests.clone(),
            self.handle.clone(),
        ));
        let result = self.run_loop(store, device);
        self.connreq = None; // closes the listener and the UDP socket
        result
    }

    fn run_loop<S, D>(&mut self, store: &mut S, device: &mut D) -> Result<Exit, Error>
    where
        S: ParameterStore,
        D: Device<S> + ?Sized,
    {
        // The engine asks for the connection-request listener on its first input and holds
        // the boot session until the listener's address is known, so the boot Inform carries
        // the right ConnectionRequestURL.
        store.set_change_listener(self.handle.change_listener());
        self.sync_udp(store);
        let now = self.now();
        self.agent.handle_input(store, now, Input::Timeout);
        loop {
            self.sync_udp(store);
            if let Some(exit) = self.drain(store, device) {
                return Ok(exit);
            }
            if self.handle.stopping.load(Ordering::SeqCst) {
                return Ok(Exit::Shutdown);
            }
            let cmd = match self.agent.poll_timeout() {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    match self.rx.recv_timeout(wait) {
                        Ok(c) => Some(c),
                        Err(RecvTimeoutError::Timeout) => None,
                        // Unreachable while `self.handle` holds a sender.
                        Err(RecvTimeoutError::Disconnected) => return Ok(Exit::Shutdown),
                    }
                }
                None => match self.rx.recv() {
                    Ok(c) => Some(c),
                    Err(_) => return Ok(Exit::Shutdown),
                },
            };
            let input = match cmd {
                None => Input::Timeout,
                Some(Command::Input(i)) => i,
                Some(Command::WithStore(job)) => {
                    job(store);
                    Input::Timeout
                }
                Some(Command::Shutdown) => return Ok(Exit::Shutdown),
                Some(Command::Refused { status, reason }) => {
                    self.refused.push((status, reason));
                    Input::Timeout
                }
            };
            self.report_refusals(device);
            let now = self.now();
            self.agent.handle_input(store, now, input);
        }
    }

    /// Refused connection requests go to the trace, each one, and to the log, at most once
    /// per reason every [`REFUSAL_LOG_INTERVAL`] with the count since (a flood must not
    /// flood the log).
    fn report_refusals<S, D>(&mut self, device: &mut D)
    where
        S: ParameterStore,
        D: Device<S> + ?Sized,
    {
        for (status, reason) in std::mem::take(&mut self.refused) {
            device.trace(&cwmp_engine::TraceEvent::ConnectionRequestRefused {
                status,
                reason: reason.clone(),
            });
            let now = Instant::now();
            let entry = self
                .refusal_log
                .entry((status, reason.clone()))
                .or_insert((now - REFUSAL_LOG_INTERVAL, 0));
            entry.1 += 1;
            if now.duration_since(entry.0) >= REFUSAL_LOG_INTERVAL {
                let more = if entry.1 > 1 {
                    format!(" ({} like it since the last report)", entry.1 - 1)
                } else {
                    String::new()
                };
                log::warn!("connection request refused with {status}: {reason}{more}");
                *entry = (now, 0);
            }
        }
        if self.refusal_log.len() > 64 {
            self.refusal_log.clear();
        }
    }

    /// Feeds the commands that arrived while a POST was in flight, so the engine sees them
    /// during the session: connection requests accepted meanwhile become one follow-up
    /// session instead of one session each (TR-069 §3.2.2: several requests, one session).
    /// Bounded; a shutdown is left to the `stopping` flag that `shutdown` set first.
    fn pump_commands<S: ParameterStore>(&mut self, store: &mut S) {
        for _ in 0..256 {
            let input = match self.rx.try_recv() {
                Ok(Command::Input(i)) => i,
                Ok(Command::WithStore(job)) => {
                    job(store);
                    Input::Timeout
                }
                Ok(Command::Shutdown) | Err(_) => return,
                Ok(Command::Refused { status, reason }) => {
                    if self.refused.len() < 1024 {
                        self.refused.push((status, reason));
                    }
                    Input::Timeout
                }
            };
            let now = self.now();
            self.agent.handle_input(store, now, input);
        }
    }

    /// Opens (or re-tries) the UDP socket and reports its address (see `connreq.rs`).
    fn sync_udp<S: ParameterStore>(&mut self, store: &mut S) {
        let inputs = match self.connreq.as_mut() {
            Some(c) => c.sync_udp(),
            None => return,
        };
        for input in inputs {
            let now = self.now();
            self.agent.handle_input(store, now, input);
        }
    }

    /// Act on every pending output (the drain rule). HTTP is done inline: the response goes
    /// straight back into the engine, whose new outputs are drained in the same loop.
    fn drain<S, D>(&mut self, store: &mut S, device: &mut D) -> Option<Exit>
    where
        S: ParameterStore,
        D: Device<S> + ?Sized,
    {
        let mut exit = None;
        while let Some(out) = self.agent.poll_output() {
            match out {
                Output::SessionStarted { session_id } => {
                    // Debug: an embedder's log gets one line per session from the trace
                    // events (cpe-agent's session_log), not three.
                    log::debug!("CWMP session {session_id} started");
                    self.end_http();
                    if let Some(c) = &self.connreq {
                        c.session_started();
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
                    if let Some(c) = self.connreq.as_mut() {
                        c.acs_url(&url);
                    }
                    let input = if self.handle.stopping.load(Ordering::SeqCst) {
                        Input::HttpFailed {
                            reason: Error::Shutdown.to_string(),
                        }
                    } else {
                        let request = PostRequest {
                            url: &url,
                            body: body.as_deref(),
                            soap_action: soap_action.header_value(),
                            cookie: cookie.as_deref(),
                            timeout,
                        };
                        match self.post(store, device, &request, credentials, session_id) {
                            Ok(r) => r.into_input(),
                            Err(e) => {
                                log::debug!("session {session_id}: {e}");
                                Input::HttpFailed {
                                    reason: e.to_string(),
                                }
                            }
                        }
                    };
                    self.pump_commands(store);
                    let now = self.now();
                    self.agent.handle_input(store, now, input);
                }
                Output::SessionEnded { session_id, ok } => {
                    log::debug!(
                        "CWMP session {session_id} ended {}",
                        if ok { "successfully" } else { "with a failure" }
                    );
                    self.end_http();
                    device.session_ended(session_id, ok);
                }
                Output::Persist(state) => {
                    if let Err(e) = device.persist(&state) {
                        log::error!("persisting the CWMP state failed: {e}");
                    }
                }
                Output::Reboot { command_key } => {
                    exit = Some(Exit::Reboot { command_key });
                }
                Output::FactoryReset => {
                    if let Err(f) = store.factory_reset() {
                        log::error!("factory reset of the parameter store failed: {f:?}");
                    }
                    exit = Some(Exit::FactoryReset);
                }
                Output::Download(req) => device.download(req, &self.handle),
                Output::Trace(ev) => device.trace(&ev),
                Output::SendDatagram { to, payload } => {
                    if let Some(c) = &self.connreq {
                        c.send_datagram(to, &payload);
                    }
                }
                Output::ListenConnectionRequests {
                    credentials,
                    path,
                    acs_host,
                    acs_port,
                    ..
                } => {
                    let seed = self.rng.random();
                    let input = match self.connreq.as_mut() {
                        Some(c) => c.listen(credentials, &path, acs_host, acs_port, seed),
                        None => Input::ConnectionRequestListenFailed {
                            reason: "the client is not running".into(),
                        },
                    };
                    let now = self.now();
                    self.agent.handle_input(store, now, input);
                }
                Output::StopConnectionRequests => {
                    if let Some(c) = self.connreq.as_mut() {
                        c.stop();
                    }
                }
                Output::ResolveStunServer { host, port } => {
                    let inputs = match self.connreq.as_mut() {
                        Some(c) => c.resolve(&host, port),
                        None => vec![Input::StunServerResolved { addr: None }],
                    };
                    for input in inputs {
                        let now = self.now();
                        self.agent.handle_input(store, now, input);
                    }
                }
                other => log::debug!("unhandled engine output {other:?}"),
            }
        }
        exit
    }

    fn end_http(&mut self) {
        *self.handle.abort.lock().unwrap_or_else(|p| p.into_inner()) = None;
        // Dropping the session closes its connection and forgets its cookies.
        self.session = None;
    }

    fn post<S, D>(
        &mut self,
        store: &mut S,
        device: &mut D,
        request: &PostRequest<'_>,
        credentials: Option<HttpCredentials>,
        session_id: u64,
    ) -> Result<crate::HttpResponse, Error>
    where
        S: ParameterStore,
        D: Device<S> + ?Sized,
    {
        if self.session.as_ref().map(|s| s.id) != Some(session_id) {
            self.end_http();
            let tls = match device.tls_settings(store) {
                Some(t) => t?,
                None => self.tls_from_store(store)?,
            };
            let http = HttpSession::new(
                &self.config.transport,
                &tls,
                request.url,
                credentials,
                self.rng.random(),
            )?;
            *self.handle.abort.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(http.abort_handle());
            self.session = Some(ActiveSession {
                id: session_id,
                http,
            });
        }
        match self.session.as_mut() {
            Some(s) => s.http.send(request),
            None => Err(Error::Shutdown),
        }
    }

    /// TLS settings from the parameters named in [`TlsSources`].
    fn tls_from_store<S: ParameterStore>(&self, store: &mut S) -> Result<TlsSettings, Error> {
        let src = &self.config.tls;
        let mut tls = TlsSettings::new();
        for p in &src.ca_certificate_params {
            if let Some(pem) = string_value(store, p).filter(|v| !v.trim().is_empty()) {
                tls = tls.with_ca_pem(&pem)?;
            }
        }
        let cert = src
            .client_certificate_param
            .as_ref()
            .and_then(|p| string_value(store, p))
            .filter(|v| !v.trim().is_empty());
        let key = src
            .client_key_param
            .as_ref()
            .and_then(|p| string_value(store, p))
            .filter(|v| !v.trim().is_empty());
        let identity = match (cert, key) {
            (Some(c), Some(k)) => Some(ClientIdentity::from_pem(&c, &k)?),
            _ => src.default_identity.clone(),
        };
        Ok(match identity {
            Some(id) => tls.with_identity(id),
            None => tls,
        })
    }
}

fn string_value<S: ParameterStore>(store: &mut S, name: &str) -> Option<String> {
    match store.internal_value(name)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// A seed from the operating system's randomness, for [`Client::new`].
pub fn os_seed() -> u64 {
    rand::random()
}

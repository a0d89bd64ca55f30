//! Simulated time and a SOAP-level scripted ACS that drive the sans-IO engine.
//!
//! * [`SimClock`]: monotonic and wall time that only move when told to.
//! * [`ScriptedAcs`]: answers the CPE's POSTs like an ACS would, from per-session scripts
//!   ([`SessionScript`]), building its messages with the `cwmp-soap` writer and parsing the
//!   CPE's with its parser (design invariant 4: both directions of the codec are exercised).
//! * [`Sim`]: the engine, a parameter store, the clock and the ACS in one loop;
//!   [`Sim::run_for`] jumps from deadline to deadline, so a simulated week takes milliseconds.
//!
//! The loop checks the engine's invariants as it goes and panics (failing the test) when one
//! breaks: two sessions at once, a POST outside a session, a session ended twice.
//!
//! ```
//! use cwmp_testkit::sim::Sim;
//! use std::time::Duration;
//!
//! let mut sim = Sim::with_conformance_store();
//! sim.run_for(Duration::from_secs(3600));
//! // The boot session (0 BOOTSTRAP, 1 BOOT), then a periodic inform every 300 s.
//! assert_eq!(sim.acs.informs.len(), 13);
//! assert!(sim.acs.informs[0].has_event("0 BOOTSTRAP"));
//! ```

use cwmp_engine::{
    Agent, AgentConfig, BootReason, DownloadRequest, Input, Now, Output, PersistentState,
};
use cwmp_model::{
    conformance, Access, BaseType, DateTime, Fault, MemoryStore, ParamDef, ParamType,
    ParameterStore, Schema, Source,
};
use cwmp_soap::{
    Body, CwmpFault, CwmpNamespace, Envelope, EventStruct, Header, Inform, InformResponse, Limits,
    SoapFault, TransferComplete,
};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Clock
// ---------------------------------------------------------------------------------------------

/// A clock that moves only when told to.
///
/// The monotonic clock starts at a real `Instant` taken once (an `Instant` cannot be built
/// otherwise) and is advanced by simulated durations; the wall clock starts at a chosen UTC
/// time (or is unknown) and moves with it, plus any steps ([`SimClock::step_wall`]).
#[derive(Debug, Clone)]
pub struct SimClock {
    base: Instant,
    elapsed: Duration,
    wall_start: Option<i64>,
    wall_step: i64,
}

impl SimClock {
    /// A clock whose wall time starts at `wall` (`DateTime::UNKNOWN` = no wall clock).
    pub fn new(wall: DateTime) -> SimClock {
        SimClock {
            base: Instant::now(),
            elapsed: Duration::ZERO,
            wall_start: (!wall.is_unknown()).then(|| wall.unix()),
            wall_step: 0,
        }
    }

    /// The default start: 2024-05-01T10:00:00Z.
    pub fn default_start() -> DateTime {
        DateTime::from_unix(1_714_557_600).unwrap_or(DateTime::UNKNOWN)
    }

    /// Both clocks now.
    pub fn now(&self) -> Now {
        let mono = self.base + self.elapsed;
        let wall = match self.wall_start {
            None => DateTime::UNKNOWN,
            Some(start) => {
                let nanos = i128::from(start + self.wall_step) * 1_000_000_000
                    + self.elapsed.as_nanos() as i128;
                time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
                    .map(DateTime)
                    .unwrap_or(DateTime::UNKNOWN)
            }
        };
        Now::new(mono, wall)
    }

    /// Simulated time since the start.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Move forward by `d`.
    pub fn advance(&mut self, d: Duration) {
        self.elapsed += d;
    }

    /// Move forward to `t` (never backwards).
    pub fn advance_to(&mut self, t: Instant) {
        let target = t.saturating_duration_since(self.base);
        if target > self.elapsed {
            self.elapsed = target;
        }
    }

    /// Step the wall clock by `secs` (an NTP correction); the monotonic clock does not move.
    pub fn step_wall(&mut self, secs: i64) {
        self.wall_step += secs;
    }

    /// Make the wall clock known from now on, reading `wall` at this instant.
    pub fn set_wall(&mut self, wall: DateTime) {
        self.wall_start = Some(wall.unix() - self.elapsed.as_secs() as i64);
        self.wall_step = 0;
    }
}

// ---------------------------------------------------------------------------------------------
// Scripted ACS
// ---------------------------------------------------------------------------------------------

/// How the ACS answers one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The ordinary answer: InformResponse to an Inform, TransferCompleteResponse to a
    /// TransferComplete, GetRPCMethodsResponse to GetRPCMethods, and for an empty POST or a
    /// CPE response the next scripted request (204 when there is none).
    Normal,
    /// An ACS request (or any message) in the session's namespace, with a generated `cwmp:ID`.
    Request(Body),
    /// This exact envelope (namespace and header as given; a missing ID is generated).
    Message(Envelope),
    /// `204 No Content`.
    NoContent,
    /// A SOAP fault with this CWMP fault code, under HTTP 200.
    Fault(u32),
    /// This HTTP status with a short text body.
    Http(u16),
    /// `200` with a body that is not XML.
    Garbage,
    /// No response at all: the engine's response timeout has to fire.
    Timeout,
    /// The connection is closed: the driver reports [`Input::HttpFailed`].
    Close,
    /// These exact bytes under this status (real captured envelopes, malformed documents).
    Raw {
        /// HTTP status.
        status: u16,
        /// Body bytes.
        body: Vec<u8>,
    },
}

/// The script of one session: how the ACS answers the Inform, the CPE's requests, and the
/// empty POST / CPE responses.
#[derive(Debug, Clone, Default)]
pub struct SessionScript {
    /// The answer to the Inform (`None` = [`Reply::Normal`]).
    pub inform: Option<Reply>,
    /// Extra header fields for a normal InformResponse (HoldRequests, UseCWMPVersion,
    /// SessionTimeout).
    pub inform_header: Header,
    /// The namespace of every ACS message of the session (`None` = mirror the Inform's).
    pub namespace: Option<CwmpNamespace>,
    /// Answers to the CPE's requests (TransferComplete, GetRPCMethods), in order.
    pub cpe_requests: VecDeque<Reply>,
    /// Answers to the empty POST and to each CPE response, in order; 204 when exhausted.
    pub acs: VecDeque<Reply>,
    /// HoldRequests on every ACS request of the session.
    pub hold_requests: bool,
}

impl SessionScript {
    /// A script with every answer normal and no ACS requests.
    pub fn new() -> SessionScript {
        SessionScript::default()
    }

    /// Builder: the answer to the Inform.
    pub fn inform(mut self, r: Reply) -> SessionScript {
        self.inform = Some(r);
        self
    }

    /// Builder: an ACS request sent after the empty POST (or after the previous response).
    pub fn request(mut self, body: Body) -> SessionScript {
        self.acs.push_back(Reply::Request(body));
        self
    }

    /// Builder: any answer in the ACS-request phase.
    pub fn then(mut self, r: Reply) -> SessionScript {
        self.acs.push_back(r);
        self
    }

    /// Builder: the answer to the next CPE request (TransferComplete).
    pub fn cpe_request(mut self, r: Reply) -> SessionScript {
        self.cpe_requests.push_back(r);
        self
    }

    /// Builder: answer in this namespace.
    pub fn namespace(mut self, ns: CwmpNamespace) -> SessionScript {
        self.namespace = Some(ns);
        self
    }

    /// Builder: set HoldRequests=true on the InformResponse and on every ACS request.
    pub fn hold_requests(mut self) -> SessionScript {
        self.inform_header.hold_requests = Some(true);
        self.hold_requests = true;
        self
    }

    /// Builder: `UseCWMPVersion` in the InformResponse.
    pub fn use_cwmp_version(mut self, v: &str) -> SessionScript {
        self.inform_header.use_cwmp_version = Some(v.to_owned());
        self
    }
}

/// An Inform the ACS received.
#[derive(Debug, Clone)]
pub struct InformRecord {
    /// Simulated time it arrived.
    pub at: Duration,
    /// The CPE's session number.
    pub session_id: u64,
    /// The namespace it used.
    pub namespace: CwmpNamespace,
    /// Its header.
    pub header: Header,
    /// The Inform.
    pub inform: Inform,
    /// Whether the ACS answered it with an InformResponse.
    pub acknowledged: bool,
}

impl InformRecord {
    /// Whether the Inform carries this event code.
    pub fn has_event(&self, code: &str) -> bool {
        self.inform.event.iter().any(|e| e.event_code == code)
    }

    /// Whether it carries this event code with this CommandKey.
    pub fn has_event_key(&self, code: &str, key: &str) -> bool {
        self.inform
            .event
            .iter()
            .any(|e| e.event_code == code && e.command_key == key)
    }

    /// The event codes, in order.
    pub fn event_codes(&self) -> Vec<String> {
        self.inform.event_codes()
    }

    /// The value of a parameter in its ParameterList.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inform
            .parameter_list
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }
}

/// One POST the ACS received and what it did.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Simulated time.
    pub at: Duration,
    /// The CPE's session number.
    pub session_id: u64,
    /// The parsed CPE message (`None` for an empty POST).
    pub request: Option<Envelope>,
    /// The SOAPAction header value the CPE sent (`None` = no header).
    pub soap_action: Option<&'static str>,
    /// The ACS's answer.
    pub reply: Reply,
}

/// What the ACS does with one POST (resolved from a [`Reply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcsAction {
    /// An HTTP response.
    Respond {
        /// Status.
        status: u16,
        /// Body.
        body: Vec<u8>,
    },
    /// No response.
    Timeout,
    /// Connection closed.
    Close,
}

/// A scripted ACS at the SOAP level.
#[derive(Debug, Default)]
pub struct ScriptedAcs {
    /// Scripts for the next sessions, one per Inform (a retried session takes the next one).
    pub scripts: VecDeque<SessionScript>,
    /// The script used when `scripts` is empty.
    pub default_script: SessionScript,
    /// Every Inform received.
    pub informs: Vec<InformRecord>,
    /// Every TransferComplete received, and whether it was acknowledged.
    pub transfer_completes: Vec<(TransferComplete, bool)>,
    /// Every CPE response or fault to an ACS request.
    pub responses: Vec<Envelope>,
    /// Every POST.
    pub exchanges: Vec<Exchange>,
    current: Option<SessionScript>,
    namespace: Option<CwmpNamespace>,
    next_id: u64,
}

impl ScriptedAcs {
    /// An ACS that answers every session normally.
    pub fn new() -> ScriptedAcs {
        ScriptedAcs::default()
    }

    /// Queue a script for a coming session.
    pub fn push(&mut self, s: SessionScript) {
        self.scripts.push_back(s);
    }

    /// Every event of every acknowledged Inform.
    pub fn delivered_events(&self) -> Vec<EventStruct> {
        self.informs
            .iter()
            .filter(|i| i.acknowledged)
            .flat_map(|i| i.inform.event.iter().cloned())
            .collect()
    }

    /// Answer one POST.
    pub fn handle_post(
        &mut self,
        at: Duration,
        session_id: u64,
        body: Option<&[u8]>,
        soap_action: Option<&'static str>,
    ) -> AcsAction {
        let request = match body {
            None => None,
            Some(b) => match cwmp_soap::parse(b, &Limits::default()) {
                Ok(env) => Some(env),
                Err(e) => panic!(
                    "the CPE sent an unparsable message ({e}):\n{}",
                    String::from_utf8_lossy(b)
                ),
            },
        };
        let (reply, action) = self.answer(at, session_id, request.as_ref());
        self.exchanges.push(Exchange {
            at,
            session_id,
            request,
            soap_action,
            reply,
        });
        action
    }

    fn answer(
        &mut self,
        at: Duration,
        session_id: u64,
        req: Option<&Envelope>,
    ) -> (Reply, AcsAction) {
        let Some(env) = req else {
            let r = self.next_acs_reply();
            let a = self.resolve(&r, None);
            return (r, a);
        };
        match &env.body {
            Body::Inform(inform) => {
                let script = self
                    .scripts
                    .pop_front()
                    .unwrap_or_else(|| self.default_script.clone());
                self.namespace = Some(script.namespace.unwrap_or(env.namespace));
                let r = script.inform.clone().unwrap_or(Reply::Normal);
                let header = script.inform_header.clone();
                self.current = Some(script);
                let acknowledged = r == Reply::Normal;
                self.informs.push(InformRecord {
                    at,
                    session_id,
                    namespace: env.namespace,
                    header: env.header.clone(),
                    inform: inform.clone(),
                    acknowledged,
                });
                let a = match r {
                    Reply::Normal => {
                        let mut h = header;
                        h.id = env.header.id.clone();
                        self.encode(h, Body::InformResponse(InformResponse { max_envelopes: 1 }))
                    }
                    ref other => self.resolve(other, env.header.id.clone()),
                };
                (r, a)
            }
            Body::TransferComplete(tc) => {
                let r = self
                    .current
                    .as_mut()
                    .and_then(|s| s.cpe_requests.pop_front())
                    .unwrap_or(Reply::Normal);
                self.transfer_completes
                    .push((tc.clone(), r == Reply::Normal));
                let a = match r {
                    Reply::Normal => {
                        let h = Header {
                            id: env.header.id.clone(),
                            ..Header::default()
                        };
                        self.encode(h, Body::TransferCompleteResponse)
                    }
                    ref other => self.resolve(other, env.header.id.clone()),
                };
                (r, a)
            }
            Body::GetRPCMethods => {
                let h = Header {
                    id: env.header.id.clone(),
                    ..Header::default()
                };
                let body = Body::GetRPCMethodsResponse(cwmp_soap::GetRPCMethodsResponse {
                    method_list: vec![
                        "Inform".into(),
                        "GetRPCMethods".into(),
                        "TransferComplete".into(),
                    ],
                });
                (Reply::Normal, self.encode(h, body))
            }
            _ => {
                // A CPE response or fault to our last request.
                self.responses.push(env.clone());
                let r = self.next_acs_reply();
                let a = self.resolve(&r, None);
                (r, a)
            }
        }
    }

    fn next_acs_reply(&mut self) -> Reply {
        self.current
            .as_mut()
            .and_then(|s| s.acs.pop_front())
            .unwrap_or(Reply::NoContent)
    }

    fn hold(&self) -> bool {
        self.current.as_ref().is_some_and(|s| s.hold_requests)
    }

    fn resolve(&mut self, r: &Reply, echo_id: Option<String>) -> AcsAction {
        match r {
            Reply::Normal | Reply::NoContent => AcsAction::Respond {
                status: 204,
                body: Vec::new(),
            },
            Reply::Request(body) => {
                self.next_id += 1;
                let h = Header {
                    id: Some(format!("acs-{}", self.next_id)),
                    hold_requests: self.hold().then_some(true),
                    ..Header::default()
                };
                self.encode(h, body.clone())
            }
            Reply::Message(env) => {
                let mut env = env.clone();
                if env.header.id.is_none() {
                    self.next_id += 1;
                    env.header.id = Some(format!("acs-{}", self.next_id));
                }
                AcsAction::Respond {
                    status: 200,
                    body: cwmp_soap::to_vec(&env).unwrap_or_default(),
                }
            }
            Reply::Fault(code) => {
                let h = Header {
                    id: echo_id,
                    ..Header::default()
                };
                let fault = SoapFault {
                    faultcode: "Server".into(),
                    faultstring: "CWMP fault".into(),
                    detail: Some(CwmpFault {
                        code: *code,
                        string: format!("fault {code}"),
                        set_parameter_values_faults: Vec::new(),
                    }),
                };
                self.encode(h, Body::Fault(fault))
            }
            Reply::Http(status) => AcsAction::Respond {
                status: *status,
                body: format!("{status} error").into_bytes(),
            },
            Reply::Garbage => AcsAction::Respond {
                status: 200,
                body: b"<html><body>not soap</body".to_vec(),
            },
            Reply::Timeout => AcsAction::Timeout,
            Reply::Close => AcsAction::Close,
            Reply::Raw { status, body } => AcsAction::Respond {
                status: *status,
                body: body.clone(),
            },
        }
    }

    fn encode(&self, header: Header, body: Body) -> AcsAction {
        let env = Envelope {
            namespace: self.namespace.unwrap_or(CwmpNamespace::V1_2),
            header,
            body,
        };
        match cwmp_soap::to_vec(&env) {
            Ok(body) => AcsAction::Respond { status: 200, body },
            Err(e) => panic!("the scripted ACS cannot encode its message: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The simulation loop
// ---------------------------------------------------------------------------------------------

/// A session as observed from the outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session's number.
    pub id: u64,
    /// When it started (simulated time).
    pub started: Duration,
    /// When it ended and whether it succeeded.
    pub ended: Option<(Duration, bool)>,
}

/// What to do when the engine asks for a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferBehaviour {
    /// Nothing: the test reports the result itself.
    Manual,
    /// Report success after this long.
    SucceedAfter(Duration),
    /// Report this fault after this long.
    FailAfter(Duration, Fault),
}

/// The engine, a store, a clock and a scripted ACS in one loop.
pub struct Sim<S: ParameterStore> {
    /// The clock.
    pub clock: SimClock,
    /// The engine.
    pub agent: Agent,
    /// The device's parameters.
    pub store: S,
    /// The ACS.
    pub acs: ScriptedAcs,
    /// The configuration used when the agent is (re)created.
    pub config: AgentConfig,
    /// The last persisted state.
    pub persisted: PersistentState,
    /// Every session, in order.
    pub sessions: Vec<SessionRecord>,
    /// Every Reboot CommandKey the engine asked for.
    pub reboots: Vec<String>,
    /// How many factory resets the engine asked for.
    pub factory_resets: usize,
    /// Every download the engine handed out.
    pub downloads: Vec<DownloadRequest>,
    /// How downloads complete.
    pub transfers: TransferBehaviour,
    /// Restart the agent (from the persisted state, with `BootReason::PowerOn`) when it asks
    /// for a reboot or factory reset, after [`Sim::reboot_time`].
    pub auto_restart: bool,
    /// How long a simulated reboot takes.
    pub reboot_time: Duration,
    /// Every trace event (when the config enables them).
    pub traces: Vec<cwmp_engine::TraceEvent>,
    /// How many `Persist` outputs were seen.
    pub persist_count: usize,
    /// Simulated network and ACS time per POST: the answer is delivered this long after the
    /// POST, by the run loop ([`Sim::run_for`]). Zero (the default) answers at once.
    pub latency: Duration,
    seed: u64,
    inputs: VecDeque<Input>,
    scheduled: Vec<(Instant, Input)>,
    changes: Arc<Mutex<Vec<String>>>,
    restart_due: Option<Instant>,
    open_session: Option<u64>,
}

impl Sim<MemoryStore> {
    /// A simulation over [`sim_schema`] in memory, starting factory-new at
    /// [`SimClock::default_start`].
    pub fn with_conformance_store() -> Sim<MemoryStore> {
        Sim::new(
            MemoryStore::in_memory(sim_schema()),
            AgentConfig::default(),
            PersistentState::new(),
            SimClock::new(SimClock::default_start()),
            1,
        )
    }
}

/// The `cwmp_model::conformance` schema plus the few `ManagementServer.` and `DeviceInfo.`
/// parameters the engine reads that it lacks (`DefaultActiveNotificationThrottle`,
/// `ProductClass`).
pub fn sim_schema() -> Schema {
    let base = conformance::schema();
    let mut params: Vec<ParamDef> = base.params().to_vec();
    let objects = base.objects().to_vec();
    let have = |n: &str| params.iter().any(|p| p.name == n);
    let mut extra = Vec::new();
    if !have("Device.ManagementServer.DefaultActiveNotificationThrottle") {
        let mut p = ParamDef::new(
            "Device.ManagementServer.DefaultActiveNotificationThrottle",
            ParamType::new(BaseType::UnsignedInt),
            Access::ReadWrite,
            Source::Item("acs-notification-throttle".into()),
        );
        p.default = Some("0".into());
        extra.push(p);
    }
    if !have("Device.DeviceInfo.ProductClass") {
        extra.push(ParamDef::new(
            "Device.DeviceInfo.ProductClass",
            ParamType::new(BaseType::String).with_max_length(64),
            Access::ReadOnly,
            Source::Constant("SimPhone".into()),
        ));
    }
    params.extend(extra);
    match Schema::new(params, objects) {
        Ok(s) => s,
        Err(e) => panic!("sim schema: {e}"),
    }
}

impl<S: ParameterStore> Sim<S> {
    /// A simulation of `store` with the agent built from `state` (booting with
    /// `BootReason::PowerOn`).
    pub fn new(
        mut store: S,
        config: AgentConfig,
        state: PersistentState,
        clock: SimClock,
        seed: u64,
    ) -> Sim<S> {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&changes);
        store.set_change_listener(Box::new(move |names: &[String]| {
            if let Ok(mut v) = sink.lock() {
                v.extend(names.iter().cloned());
            }
        }));
        let agent = match Agent::new(
            config.clone(),
            state.clone(),
            BootReason::PowerOn,
            seed,
            clock.now(),
        ) {
            Ok(a) => a,
            Err(e) => panic!("Agent::new: {e}"),
        };
        Sim {
            clock,
            agent,
            store,
            acs: ScriptedAcs::new(),
            config,
            persisted: state,
            sessions: Vec::new(),
            reboots: Vec::new(),
            factory_resets: 0,
            downloads: Vec::new(),
            transfers: TransferBehaviour::Manual,
            auto_restart: true,
            reboot_time: Duration::from_secs(30),
            traces: Vec::new(),
            persist_count: 0,
            latency: Duration::ZERO,
            seed,
            inputs: VecDeque::new(),
            scheduled: Vec::new(),
            changes,
            restart_due: None,
            open_session: None,
        }
    }

    /// Feed an input now and process everything that follows at this instant.
    pub fn input(&mut self, input: Input) {
        self.inputs.push_back(input);
        self.pump();
    }

    /// Feed an input `after` from now (processed by the run loop).
    pub fn input_at(&mut self, after: Duration, input: Input) {
        let at = self.clock.now().mono + after;
        self.scheduled.push((at, input));
    }

    /// A device-side change (local menu, DHCP): written with `set_internal`, reported through
    /// the store's change listener, and fed to the engine.
    pub fn set_local(&mut self, name: &str, value: &str) {
        if let Err(e) = self.store.set_internal(name, value) {
            panic!("set_internal({name}): {e}");
        }
        self.pump();
    }

    /// Run until `d` of simulated time has passed.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.clock.now().mono + d;
        self.run_until(end);
    }

    /// Run until the monotonic clock reaches `end`, jumping from deadline to deadline.
    pub fn run_until(&mut self, end: Instant) {
        self.pump();
        loop {
            let next_agent = self.agent.poll_timeout();
            let next_input = self.scheduled.iter().map(|(t, _)| *t).min();
            let next = [next_agent, next_input, self.restart_due]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.clock.advance_to(t);
                    let now = self.clock.now().mono;
                    if self.restart_due.is_some_and(|r| r <= now) {
                        self.restart_due = None;
                        self.restart(BootReason::PowerOn);
                        continue;
                    }
                    let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.scheduled)
                        .into_iter()
                        .partition(|(t, _)| *t <= now);
                    self.scheduled = rest;
                    let had_inputs = !due.is_empty();
                    for (_, i) in due {
                        self.inputs.push_back(i);
                    }
                    if !had_inputs || next_agent.is_some_and(|a| a <= now) {
                        self.inputs.push_back(Input::Timeout);
                    }
                    self.pump();
                }
                _ => {
                    self.clock.advance_to(end);
                    break;
                }
            }
        }
    }

    /// Replace the agent with a new one built from the last persisted state (after a JSON
    /// round trip, as a real embedder would store it).
    pub fn restart(&mut self, boot: BootReason) {
        let json = match serde_json::to_string(&self.persisted) {
            Ok(j) => j,
            Err(e) => panic!("persisted state does not serialize: {e}"),
        };
        let state: PersistentState = match serde_json::from_str(&json) {
            Ok(s) => s,
            Err(e) => panic!("persisted state does not deserialize: {e}"),
        };
        self.seed += 1;
        self.agent = match Agent::new(
            self.config.clone(),
            state,
            boot,
            self.seed,
            self.clock.now(),
        ) {
            Ok(a) => a,
            Err(e) => panic!("Agent::new after restart: {e}"),
        };
        // A reboot ends whatever was in flight.
        self.open_session = None;
        self.inputs.clear();
        self.scheduled
            .retain(|(_, i)| !matches!(i, Input::HttpResponse { .. } | Input::HttpFailed { .. }));
        self.inputs.push_back(Input::Timeout);
        self.pump();
    }

    /// Sessions that ended successfully.
    pub fn ok_sessions(&self) -> usize {
        self.sessions
            .iter()
            .filter(|s| s.ended.is_some_and(|(_, ok)| ok))
            .count()
    }

    /// Sessions that failed.
    pub fn failed_sessions(&self) -> usize {
        self.sessions
            .iter()
            .filter(|s| s.ended.is_some_and(|(_, ok)| !ok))
            .count()
    }

    /// Drain outputs and feed inputs until the engine is quiet at this instant.
    fn pump(&mut self) {
        loop {
            let changed: Vec<String> = match self.changes.lock() {
                Ok(mut v) => std::mem::take(&mut *v),
                Err(_) => Vec::new(),
            };
            if !changed.is_empty() {
                self.inputs
                    .push_back(Input::ValueChanged { names: changed });
            }
            while let Some(o) = self.agent.poll_output() {
                self.on_output(o);
            }
            match self.inputs.pop_front() {
                Some(i) => {
                    let now = self.clock.now();
                    self.agent.handle_input(&mut self.store, now, i);
                }
                None => break,
            }
        }
    }

    fn on_output(&mut self, o: Output) {
        let at = self.clock.elapsed();
        match o {
            Output::SessionStarted { session_id } => {
                if let Some(open) = self.open_session {
                    panic!("session {session_id} started while session {open} is open");
                }
                self.open_session = Some(session_id);
                self.sessions.push(SessionRecord {
                    id: session_id,
                    started: at,
                    ended: None,
                });
            }
            Output::SessionEnded { session_id, ok } => {
                if self.open_session != Some(session_id) {
                    panic!(
                        "session {session_id} ended but {:?} is open",
                        self.open_session
                    );
                }
                self.open_session = None;
                if let Some(s) = self.sessions.iter_mut().rev().find(|s| s.id == session_id) {
                    s.ended = Some((at, ok));
                }
            }
            Output::SendPost {
                body,
                soap_action,
                session_id,
                ..
            } => {
                if self.open_session != Some(session_id) {
                    panic!(
                        "POST for session {session_id} outside it ({:?} open)",
                        self.open_session
                    );
                }
                if body.is_none() != (soap_action.header_value().is_none()) {
                    panic!("SOAPAction must be absent exactly on empty POSTs");
                }
                let action = self.acs.handle_post(
                    at,
                    session_id,
                    body.as_deref(),
                    soap_action.header_value(),
                );
                let input = match action {
                    AcsAction::Respond { status, body } => Input::http_response(status, body),
                    AcsAction::Close => Input::HttpFailed {
                        reason: "connection closed".into(),
                    },
                    AcsAction::Timeout => return,
                };
                if self.latency.is_zero() {
                    self.inputs.push_back(input);
                } else {
                    // The answer arrives later, through the run loop, so other inputs can
                    // interleave with the session.
                    let due = self.clock.now().mono + self.latency;
                    self.scheduled.push((due, input));
                }
            }
            Output::Persist(state) => {
                self.persist_count += 1;
                self.persisted = state;
            }
            Output::Reboot { command_key } => {
                self.reboots.push(command_key);
                if self.auto_restart {
                    self.restart_due = Some(self.clock.now().mono + self.reboot_time);
                }
            }
            Output::FactoryReset => {
                self.factory_resets += 1;
                if let Err(e) = self.store.factory_reset() {
                    panic!("factory_reset: {e}");
                }
                if self.auto_restart {
                    self.restart_due = Some(self.clock.now().mono + self.reboot_time);
                }
            }
            Output::Download(d) => {
                let key = d.command_key.clone();
                self.downloads.push(d);
                let start = self.clock.now().wall;
                let (after, fault) = match &self.transfers {
                    TransferBehaviour::Manual => return,
                    TransferBehaviour::SucceedAfter(t) => (*t, None),
                    TransferBehaviour::FailAfter(t, f) => (*t, Some(f.clone())),
                };
                let complete =
                    DateTime::from_unix(start.unix() + after.as_secs() as i64).unwrap_or(start);
                self.input_at(
                    after,
                    Input::TransferComplete {
                        command_key: key,
                        fault,
                        start,
                        complete,
                        kind: cwmp_engine::TransferKind::Download,
                    },
                );
            }
            Output::Trace(t) => self.traces.push(t),
            _ => {}
        }
    }
}

//! Annex G in the engine (TR-069 Annex G) on simulated time: the STUN keepalive schedule, binding
//! change detection, UDPConnectionRequestAddress / NATDetected, the notification limit, and
//! signed UDP connection requests.
//!
//! A small loop of its own (the testkit's `Sim` drops datagram outputs): the engine, the
//! Desk Phone data model in memory, a scripted ACS, and a simulated NAT + STUN server that
//! answers every Binding Request with a mapped address the test controls.
// The harness is a driver: it relays the store's change listener through a Mutex, as the
// testkit's `Sim` does; the engine itself never sees it.
#![allow(clippy::disallowed_types)]

use cwmp_connreq::{build_udp_request, decode, Attribute, MessageType, StunFormat, StunMessage};
use cwmp_engine::{Agent, AgentConfig, BootReason, Input, Output, PersistentState, Timer};
use cwmp_model::{MemoryStore, ParameterStore};
use cwmp_testkit::sim::{AcsAction, ScriptedAcs, SimClock};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MS: &str = "Device.ManagementServer.";
const LOCAL: &str = "192.168.1.20:7547";
const SERVER: &str = "198.51.100.1:3478";

fn p(leaf: &str) -> String {
    format!("{MS}{leaf}")
}

/// A Binding Request the agent sent, as the server saw it.
#[derive(Debug, Clone)]
struct Sent {
    at: Duration,
    message: StunMessage,
}

struct Harness {
    clock: SimClock,
    agent: Agent,
    store: MemoryStore,
    acs: ScriptedAcs,
    changes: Arc<Mutex<Vec<String>>>,
    inputs: VecDeque<Input>,
    /// Binding Requests received by the simulated server.
    sent: Vec<Sent>,
    /// The public address the simulated NAT maps the agent's socket to; `None` = the server
    /// does not answer.
    mapping: Option<SocketAddr>,
    resolves: Vec<(String, u16)>,
    sessions: usize,
}

impl Harness {
    fn new(setup: &[(&str, &str)]) -> Harness {
        let model = deskphone_datamodel::DeskPhoneModel::builtin();
        let mut store = MemoryStore::in_memory(model.schema().clone());
        store
            .set_internal(&p("URL"), "http://acs.example:7547/")
            .unwrap();
        store
            .set_internal(&p("PeriodicInformEnable"), "false")
            .unwrap();
        store
            .set_internal(&p("ConnectionRequestUsername"), "cpe")
            .unwrap();
        store
            .set_internal(&p("ConnectionRequestPassword"), "s3cret")
            .unwrap();
        for (k, v) in setup {
            store.set_internal(&p(k), v).unwrap();
        }
        let changes = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&changes);
        store.set_change_listener(Box::new(move |names: &[String]| {
            sink.lock().unwrap().extend(names.iter().cloned());
        }));
        let clock = SimClock::new(SimClock::default_start());
        let agent = Agent::new(
            AgentConfig::default(),
            PersistentState::new(),
            BootReason::PowerOn,
            3,
            clock.now(),
        )
        .unwrap();
        let mut h = Harness {
            clock,
            agent,
            store,
            acs: ScriptedAcs::new(),
            changes,
            inputs: VecDeque::new(),
            sent: Vec::new(),
            mapping: Some("203.0.113.7:40001".parse().unwrap()),
            resolves: Vec::new(),
            sessions: 0,
        };
        h.input(Input::UdpBound {
            local: LOCAL.parse().unwrap(),
        });
        h
    }

    fn input(&mut self, i: Input) {
        self.inputs.push_back(i);
        self.pump();
    }

    fn pump(&mut self) {
        for _ in 0..10_000 {
            let changed = std::mem::take(&mut *self.changes.lock().unwrap());
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
                None => return,
            }
        }
        panic!("the engine never went quiet");
    }

    fn on_output(&mut self, o: Output) {
        let at = self.clock.elapsed();
        match o {
            Output::SessionStarted { .. } => self.sessions += 1,
            Output::SendPost {
                body,
                soap_action,
                session_id,
                ..
            } => {
                let input = match self.acs.handle_post(
                    at,
                    session_id,
                    body.as_deref(),
                    soap_action.header_value(),
                ) {
                    AcsAction::Respond { status, body } => Input::http_response(status, body),
                    _ => Input::HttpFailed {
                        reason: "closed".into(),
                    },
                };
                self.inputs.push_back(input);
            }
            Output::SendDatagram { to, payload } => {
                assert_eq!(to, SERVER.parse::<SocketAddr>().unwrap());
                let d = decode(&payload).expect("the agent sends valid STUN");
                let m = d.message;
                assert_eq!(m.message_type, MessageType::BindingRequest);
                assert!(m.has_connection_request_binding(), "Annex G attribute");
                self.sent.push(Sent {
                    at,
                    message: m.clone(),
                });
                if let Some(mapped) = self.mapping {
                    let mut r = StunMessage::new(MessageType::BindingResponse, m.transaction_id);
                    r.attributes.push(Attribute::MappedAddress(mapped));
                    let bytes = r.encode(StunFormat::Classic, None).unwrap();
                    self.inputs.push_back(Input::Datagram {
                        from: to,
                        payload: bytes,
                    });
                }
            }
            Output::ResolveStunServer { host, port } => {
                self.resolves.push((host, port));
                self.inputs.push_back(Input::StunServerResolved {
                    addr: Some(SERVER.parse().unwrap()),
                });
            }
            _ => {}
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.clock.now().mono + d;
        for _ in 0..100_000 {
            self.pump();
            match self.agent.poll_timeout() {
                Some(t) if t <= end => {
                    self.clock.advance_to(t);
                    self.inputs.push_back(Input::Timeout);
                }
                _ => {
                    self.clock.advance_to(end);
                    self.pump();
                    return;
                }
            }
        }
        panic!("too many wake-ups");
    }

    fn value(&mut self, leaf: &str) -> String {
        self.store.internal_value(&p(leaf)).unwrap().to_lexical()
    }

    fn informs_with(&self, code: &str) -> usize {
        self.acs
            .informs
            .iter()
            .filter(|i| i.has_event(code))
            .count()
    }
}

fn stun_on(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("STUNEnable", "true"),
        ("STUNServerAddress", "198.51.100.1"),
        ("STUNServerPort", "3478"),
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn keepalive_schedule_stays_within_min_and_max() {
    let mut h = Harness::new(&stun_on(&[
        ("STUNMinimumKeepAlivePeriod", "20"),
        ("STUNMaximumKeepAlivePeriod", "45"),
    ]));
    h.run_for(Duration::from_secs(600));
    assert!(h.sent.len() >= 10, "{} requests in 10 min", h.sent.len());
    for w in h.sent.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(
            gap >= Duration::from_secs(20) && gap <= Duration::from_secs(45),
            "gap {gap:?}"
        );
    }
    assert!(h.agent.timer(Timer::Stun).is_some());
    assert_eq!(h.value("UDPConnectionRequestAddress"), "203.0.113.7:40001");
    assert_eq!(h.value("NATDetected"), "true");
    assert!(h.resolves.is_empty(), "an IP literal needs no DNS");
}

#[test]
fn binding_change_is_detected_reported_and_notified_within_the_limit() {
    let mut h = Harness::new(&stun_on(&[
        ("STUNMaximumKeepAlivePeriod", "30"),
        ("UDPConnectionRequestAddressNotificationLimit", "300"),
    ]));
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.value("UDPConnectionRequestAddress"), "203.0.113.7:40001");
    // The first learned address is a change with Active notification (the DM default).
    assert_eq!(h.informs_with("4 VALUE CHANGE"), 1);
    let first = h.acs.informs.last().unwrap();
    assert_eq!(
        first.param(&p("UDPConnectionRequestAddress")),
        Some("203.0.113.7:40001")
    );

    // The NAT re-maps the binding.
    h.mapping = Some("203.0.113.7:40999".parse().unwrap());
    let before = h.sent.len();
    h.run_for(Duration::from_secs(31));
    assert_eq!(h.value("UDPConnectionRequestAddress"), "203.0.113.7:40999");
    let bc: Vec<_> = h.sent[before..]
        .iter()
        .filter(|s| s.message.has_binding_change())
        .collect();
    assert_eq!(bc.len(), 1, "one BINDING-CHANGE request at once");
    // Within the 300 s limit: no second notification yet.
    assert_eq!(h.informs_with("4 VALUE CHANGE"), 1);

    // A third mapping inside the window: still one pending notification.
    h.mapping = Some("203.0.113.7:41000".parse().unwrap());
    h.run_for(Duration::from_secs(31));
    assert_eq!(h.value("UDPConnectionRequestAddress"), "203.0.113.7:41000");
    assert_eq!(h.informs_with("4 VALUE CHANGE"), 1);

    // When the limit has run out, exactly one notification with the latest value.
    h.run_for(Duration::from_secs(300));
    assert_eq!(h.informs_with("4 VALUE CHANGE"), 2);
    let second = h.acs.informs.last().unwrap();
    assert!(second.has_event("4 VALUE CHANGE"));
    assert_eq!(
        second.param(&p("UDPConnectionRequestAddress")),
        Some("203.0.113.7:41000")
    );
    // Nothing more while the mapping is stable.
    h.run_for(Duration::from_secs(900));
    assert_eq!(h.informs_with("4 VALUE CHANGE"), 2);
}

#[test]
fn stun_off_reports_local_address_and_no_nat() {
    let mut h = Harness::new(&stun_on(&[]));
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.value("NATDetected"), "true");
    // The ACS turns STUN off (a local change here; SetParameterValues takes the same path).
    h.store.set_internal(&p("STUNEnable"), "false").unwrap();
    let before = h.sent.len();
    h.run_for(Duration::from_secs(600));
    assert_eq!(h.sent.len(), before, "no Binding Request once off");
    assert_eq!(h.value("NATDetected"), "false");
    assert_eq!(h.value("UDPConnectionRequestAddress"), LOCAL);
    assert_eq!(h.agent.timer(Timer::Stun), None);
}

#[test]
fn no_nat_when_the_mapping_equals_the_local_address() {
    let mut h = Harness::new(&stun_on(&[("STUNMaximumKeepAlivePeriod", "30")]));
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.value("NATDetected"), "true");
    // The next keepalive sees the socket's own address: no NAT (any more).
    h.mapping = Some(LOCAL.parse().unwrap());
    h.run_for(Duration::from_secs(60));
    assert_eq!(h.value("NATDetected"), "false");
    assert_eq!(h.value("UDPConnectionRequestAddress"), LOCAL);
}

#[test]
fn server_name_is_resolved_by_the_driver_and_defaults_to_the_acs_host() {
    let mut h = Harness::new(&[("STUNEnable", "true"), ("STUNServerAddress", "")]);
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.resolves, vec![("acs.example".to_owned(), 3478)]);
    assert!(!h.sent.is_empty());
    assert_eq!(h.value("UDPConnectionRequestAddress"), "203.0.113.7:40001");
}

fn udp_cr(ts: u64, id: &str, un: &str, password: &str) -> Input {
    Input::Datagram {
        from: "198.51.100.9:5000".parse().unwrap(),
        payload: build_udp_request("203.0.113.7:40001", ts, id, un, "cn1", password),
    }
}

#[test]
fn udp_connection_request_copies_open_one_session() {
    let mut h = Harness::new(&[]);
    h.run_for(Duration::from_secs(5));
    let boot_sessions = h.sessions;
    let ts = h.clock.now().wall.unix() as u64;
    for _ in 0..3 {
        h.input(udp_cr(ts, "77", "cpe", "s3cret"));
    }
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.sessions, boot_sessions + 1);
    assert_eq!(h.informs_with("6 CONNECTION REQUEST"), 1);

    // Refused: bad signature, wrong username, replayed id, stale ts.
    h.input(udp_cr(ts + 1, "78", "cpe", "wrong"));
    h.input(udp_cr(ts + 1, "79", "intruder", "s3cret"));
    h.input(udp_cr(ts + 1, "77", "cpe", "s3cret"));
    h.input(udp_cr(ts - 3600, "80", "cpe", "s3cret"));
    h.input(Input::Datagram {
        from: "198.51.100.9:5000".parse().unwrap(),
        payload: b"junk that is no request".to_vec(),
    });
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.informs_with("6 CONNECTION REQUEST"), 1);
    assert_eq!(h.sessions, boot_sessions + 1);

    // A new valid message opens a new session.
    h.input(udp_cr(ts + 2, "81", "cpe", "s3cret"));
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.informs_with("6 CONNECTION REQUEST"), 2);
}

#[test]
fn acs_set_parameter_values_reconfigures_the_binding() {
    use cwmp_model::XsdType;
    use cwmp_soap::{Body, ParameterValueStruct, SetParameterValues};
    use cwmp_testkit::sim::SessionScript;
    let mut h = Harness::new(&[]);
    h.run_for(Duration::from_secs(5));
    assert!(h.sent.is_empty(), "STUN is off by default");
    assert_eq!(h.value("UDPConnectionRequestAddress"), LOCAL);
    h.acs.push(
        SessionScript::new().request(Body::SetParameterValues(SetParameterValues {
            parameter_list: vec![
                ParameterValueStruct::new(p("STUNServerAddress"), "198.51.100.1", XsdType::String),
                ParameterValueStruct::new(p("STUNEnable"), "true", XsdType::Boolean),
            ],
            parameter_key: "stun-on".into(),
        })),
    );
    h.input(Input::ConnectionRequest);
    h.run_for(Duration::from_secs(5));
    assert!(!h.sent.is_empty(), "the SPV turned STUN on");
    assert_eq!(h.value("UDPConnectionRequestAddress"), "203.0.113.7:40001");
    assert_eq!(h.value("NATDetected"), "true");
}

//! The embedder-facing contract: construction, the drain rule, spurious inputs, errors and the
//! trace (design invariants 1, 2, 3, 8).

use cwmp_engine::{
    Agent, AgentConfig, BootReason, Error, Input, Output, PersistentState, TraceEvent,
    STATE_VERSION,
};
use cwmp_model::{MemoryStore, ParameterStore, XsdType};
use cwmp_soap::{Body, ParameterValueStruct, SetParameterValues};
use cwmp_testkit::sim::{sim_schema, SessionScript, Sim, SimClock};
use std::time::Duration;

#[test]
fn construction_asks_for_one_call_at_once_and_reads_nothing_before() {
    let clock = SimClock::new(SimClock::default_start());
    let mut agent = Agent::new(
        AgentConfig::default(),
        PersistentState::new(),
        BootReason::PowerOn,
        1,
        clock.now(),
    )
    .unwrap();
    assert_eq!(agent.poll_timeout(), Some(clock.now().mono));
    assert!(agent.poll_output().is_none());
}

#[test]
fn newer_state_and_bad_config_are_refused() {
    let clock = SimClock::new(SimClock::default_start());
    let mut st = PersistentState::new();
    st.version = STATE_VERSION + 1;
    let e = Agent::new(
        AgentConfig::default(),
        st,
        BootReason::PowerOn,
        1,
        clock.now(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::UnsupportedStateVersion { .. }));
    let e = Agent::new(
        AgentConfig::default().with_root("Device"),
        PersistentState::new(),
        BootReason::PowerOn,
        1,
        clock.now(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidConfig(_)));
    // A state from an older or foreign writer with missing fields still loads.
    let st: PersistentState = serde_json::from_str(r#"{"version":1}"#).unwrap();
    assert!(Agent::new(
        AgentConfig::default(),
        st,
        BootReason::PowerOn,
        1,
        clock.now()
    )
    .is_ok());
}

#[test]
fn spurious_and_early_inputs_do_nothing() {
    let mut sim = Sim::with_conformance_store();
    sim.run_for(Duration::from_secs(1));
    let deadline = sim.agent.poll_timeout().unwrap();
    let before = sim.acs.exchanges.len();
    for _ in 0..5 {
        let now = sim.clock.now();
        sim.agent.handle_input(&mut sim.store, now, Input::Timeout);
        assert!(
            sim.agent.poll_output().is_none(),
            "an early timeout produced output"
        );
        sim.agent.handle_input(
            &mut sim.store,
            now,
            Input::http_response(200, b"<garbage".to_vec()),
        );
        sim.agent.handle_input(
            &mut sim.store,
            now,
            Input::HttpFailed {
                reason: "late".into(),
            },
        );
        assert!(
            sim.agent.poll_output().is_none(),
            "a stray response produced output"
        );
        sim.clock.advance(Duration::from_secs(10));
    }
    assert_eq!(sim.agent.poll_timeout(), Some(deadline));
    assert_eq!(sim.acs.exchanges.len(), before);
}

#[test]
fn trace_names_messages_but_never_values() {
    let mut sim = Sim::new(
        MemoryStore::in_memory(sim_schema()),
        AgentConfig::default().with_trace(true),
        PersistentState::new(),
        SimClock::new(SimClock::default_start()),
        1,
    );
    sim.acs.push(
        SessionScript::new().request(Body::SetParameterValues(SetParameterValues {
            parameter_list: vec![ParameterValueStruct::new(
                "Device.ManagementServer.ConnectionRequestPassword",
                "s3cr3t-value",
                XsdType::String,
            )],
            parameter_key: "k".into(),
        })),
    );
    sim.run_for(Duration::from_secs(1));
    let json = serde_json::to_string(&sim.traces).unwrap();
    assert!(!json.contains("s3cr3t-value"), "{json}");
    assert!(json.contains("\"type\":\"session_started\""));
    assert!(json.contains("\"type\":\"message_sent\""));
    assert!(json.contains("Device.ManagementServer.ConnectionRequestPassword"));
    assert!(sim
        .traces
        .iter()
        .any(|t| matches!(t, TraceEvent::MessageSent { method, .. } if method == "SetParameterValuesResponse")));
    assert!(sim
        .traces
        .iter()
        .any(|t| matches!(t, TraceEvent::SessionEnded { ok: true, .. })));
    assert_eq!(
        sim.store
            .internal_value("Device.ManagementServer.ConnectionRequestPassword")
            .map(|v| v.to_lexical()),
        Some("s3cr3t-value".into())
    );
    // Debug output of the agent never shows the secret either.
    assert!(!format!("{:?}", sim.agent).contains("s3cr3t"));
}

#[test]
fn outputs_come_in_a_usable_order() {
    // SessionStarted, then POSTs, then SessionEnded; Persist before the POST that follows a
    // change of persistent state.
    let mut sim = Sim::with_conformance_store();
    let clock_now = sim.clock.now();
    sim.agent
        .handle_input(&mut sim.store, clock_now, Input::Timeout);
    let outs: Vec<Output> = std::iter::from_fn(|| sim.agent.poll_output()).collect();
    let kinds: Vec<&str> = outs
        .iter()
        .map(|o| match o {
            Output::Persist(_) => "persist",
            Output::SessionStarted { .. } => "started",
            Output::SendPost { .. } => "post",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["persist", "started", "post"]);
}

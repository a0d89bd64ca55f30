//! Event rules (TR-069 Annex A.3.3.1, Annex A.3.2.9–Annex A (ScheduleInform)): BOOTSTRAP, BOOT, M Reboot, connection requests,
//! scheduled informs, persistence across restarts.

use cwmp_engine::{BootReason, Input, Output, PersistentState};
use cwmp_model::{MemoryStore, ParameterStore, XsdType};
use cwmp_soap::{Body, ParameterValueStruct, Reboot, ScheduleInform, SetParameterValues};
use cwmp_testkit::sim::{Reply, SessionScript, Sim};
use std::time::Duration;

const MS: &str = "Device.ManagementServer.";

fn sim() -> Sim<MemoryStore> {
    let mut sim = Sim::with_conformance_store();
    // Quiet: no periodic informs unless a test wants them.
    sim.store
        .set_internal(&format!("{MS}PeriodicInformEnable"), "false")
        .unwrap();
    sim
}

fn schedule_inform(delay: u32, key: &str) -> Body {
    Body::ScheduleInform(ScheduleInform {
        delay_seconds: delay,
        command_key: key.into(),
    })
}

fn set_url(url: &str) -> Body {
    Body::SetParameterValues(SetParameterValues {
        parameter_list: vec![ParameterValueStruct::new(
            format!("{MS}URL"),
            url,
            XsdType::String,
        )],
        parameter_key: "url-change".into(),
    })
}

#[test]
fn first_contact_carries_bootstrap_and_boot_once() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    let first = &sim.acs.informs[0];
    assert_eq!(first.event_codes(), ["0 BOOTSTRAP", "1 BOOT"]);
    assert_eq!(first.inform.retry_count, 0);
    assert_eq!(
        sim.persisted.bootstrap_url.as_deref(),
        Some("https://acs.example.invalid:7547/")
    );
    assert!(!sim.persisted.bootstrap_pending);

    sim.input(Input::ConnectionRequest);
    assert_eq!(sim.acs.informs[1].event_codes(), ["6 CONNECTION REQUEST"]);

    // After a power cycle: BOOT but no BOOTSTRAP (the state says it was delivered).
    sim.restart(BootReason::PowerOn);
    assert_eq!(sim.acs.informs[2].event_codes(), ["1 BOOT"]);
    // A restart of the agent alone: no BOOT, and nothing to say, so no session.
    sim.restart(BootReason::AgentRestart);
    assert_eq!(sim.acs.informs.len(), 3);
}

#[test]
fn bootstrap_is_retried_until_delivered_and_survives_a_restart() {
    let mut sim = sim();
    sim.acs.push(SessionScript::new().inform(Reply::Http(500)));
    sim.acs.push(SessionScript::new().inform(Reply::Timeout));
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.acs.informs.len(), 1);
    assert!(sim.persisted.bootstrap_pending || sim.persisted.bootstrap_url.is_none());
    // The device restarts before the retry: BOOTSTRAP is still owed.
    sim.restart(BootReason::PowerOn);
    sim.run_for(Duration::from_secs(600));
    let codes: Vec<Vec<String>> = sim.acs.informs.iter().map(|i| i.event_codes()).collect();
    assert_eq!(codes[1], ["0 BOOTSTRAP", "1 BOOT"], "{codes:?}");
    assert_eq!(codes[2], ["0 BOOTSTRAP", "1 BOOT"], "{codes:?}");
    assert_eq!(sim.acs.informs[2].inform.retry_count, 1);
    assert_eq!(codes.len(), 3);
}

#[test]
fn url_change_by_the_acs_raises_bootstrap_to_the_new_acs_and_discards_the_queue() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    // One session schedules an inform for later and moves the device to a new ACS.
    sim.acs.push(
        SessionScript::new()
            .request(schedule_inform(600, "old-acs"))
            .request(set_url("http://new-acs.example/cwmp")),
    );
    sim.input(Input::ConnectionRequest);
    let n = sim.acs.informs.len();
    assert!(
        sim.acs.informs[n - 1].has_event("0 BOOTSTRAP"),
        "a BOOTSTRAP session follows at once"
    );
    let posts_to_new = sim
        .acs
        .exchanges
        .iter()
        .filter(|e| e.session_id == 3)
        .count();
    assert!(posts_to_new > 0);
    assert_eq!(
        sim.persisted.bootstrap_url.as_deref(),
        Some("http://new-acs.example/cwmp")
    );
    assert!(
        sim.persisted.scheduled_informs.is_empty(),
        "old ScheduleInform discarded"
    );
    sim.run_for(Duration::from_secs(3600));
    assert!(sim
        .acs
        .informs
        .iter()
        .all(|i| !i.has_event("M ScheduleInform")));
}

#[test]
fn local_url_change_discards_queued_events() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    // A ScheduleInform fires while the ACS is down: 3 SCHEDULED + M ScheduleInform queued.
    sim.acs
        .push(SessionScript::new().request(schedule_inform(60, "k1")));
    sim.input(Input::ConnectionRequest);
    for _ in 0..3 {
        sim.acs.push(SessionScript::new().inform(Reply::Http(503)));
    }
    sim.run_for(Duration::from_secs(70));
    assert!(sim.persisted.events.iter().any(|e| e.command_key == "k1"));
    // The user types a new ACS URL in the phone's menu.
    sim.set_local(&format!("{MS}URL"), "http://other-acs.example/");
    let last = sim.acs.informs.last().unwrap();
    assert_eq!(
        last.event_codes(),
        ["0 BOOTSTRAP"],
        "queue discarded, BOOTSTRAP sent at once"
    );
    assert!(sim.persisted.events.is_empty());
}

#[test]
fn factory_reset_gives_bootstrap_and_boot_and_drops_everything() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    sim.acs.push(
        SessionScript::new()
            .request(schedule_inform(600, "before-reset"))
            .request(Body::FactoryReset),
    );
    sim.input(Input::ConnectionRequest);
    assert_eq!(sim.factory_resets, 1);
    assert!(sim.agent.is_halted());
    assert!(sim.persisted.bootstrap_pending);
    assert!(sim.persisted.scheduled_informs.is_empty());
    sim.run_for(Duration::from_secs(3600)); // the simulated device restarts after 30 s
    let after = &sim.acs.informs[2];
    assert_eq!(after.event_codes(), ["0 BOOTSTRAP", "1 BOOT"]);
    assert_eq!(after.param(&format!("{MS}ParameterKey")), Some(""));
    assert!(sim
        .acs
        .informs
        .iter()
        .all(|i| !i.has_event("M ScheduleInform")));
}

#[test]
fn local_factory_reset_boot_reason() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    sim.acs
        .push(SessionScript::new().request(schedule_inform(600, "x")));
    sim.input(Input::ConnectionRequest);
    assert_eq!(sim.persisted.scheduled_informs.len(), 1);
    sim.store.factory_reset().unwrap();
    sim.store
        .set_internal(&format!("{MS}PeriodicInformEnable"), "false")
        .unwrap();
    sim.restart(BootReason::FactoryReset);
    let last = sim.acs.informs.last().unwrap();
    assert_eq!(last.event_codes(), ["0 BOOTSTRAP", "1 BOOT"]);
    assert!(sim.persisted.scheduled_informs.is_empty());
}

#[test]
fn reboot_rpc_gives_boot_and_m_reboot_with_the_command_key() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    sim.acs.push(
        SessionScript::new()
            .request(Body::Reboot(Reboot {
                command_key: "rb-42".into(),
            }))
            .request(Body::GetRPCMethods),
    );
    sim.input(Input::ConnectionRequest);
    // The reboot comes only after the whole session (GetRPCMethods answered too).
    assert_eq!(sim.reboots, ["rb-42"]);
    assert_eq!(sim.acs.responses.len(), 2);
    assert_eq!(sim.sessions[1].ended.map(|(_, ok)| ok), Some(true));
    assert!(sim
        .persisted
        .events
        .iter()
        .any(|e| e.code.as_str() == "M Reboot" && e.command_key == "rb-42"));
    sim.run_for(Duration::from_secs(60));
    let after = &sim.acs.informs[2];
    assert_eq!(after.event_codes(), ["1 BOOT", "M Reboot"]);
    assert!(after.has_event_key("M Reboot", "rb-42"));
    // Delivered: not repeated.
    sim.input(Input::ConnectionRequest);
    assert_eq!(sim.acs.informs[3].event_codes(), ["6 CONNECTION REQUEST"]);
}

#[test]
fn connection_request_is_not_retried() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    // A connection request whose session fails: nothing else is owed, so no retry at all.
    sim.acs.push(SessionScript::new().inform(Reply::Http(500)));
    sim.input(Input::ConnectionRequest);
    sim.run_for(Duration::from_secs(3600));
    assert_eq!(sim.acs.informs.len(), 2);

    // With a persistent event in the same failed session, the retry carries only that one.
    sim.store
        .set_internal(&format!("{MS}PeriodicInformEnable"), "true")
        .unwrap();
    sim.store
        .set_internal(&format!("{MS}PeriodicInformInterval"), "300")
        .unwrap();
    sim.acs.push(SessionScript::new().inform(Reply::Http(500)));
    sim.acs.push(SessionScript::new().inform(Reply::Http(500)));
    sim.run_for(Duration::from_secs(299));
    sim.input(Input::ConnectionRequest); // fails (500)
    sim.run_for(Duration::from_secs(2)); // periodic at 300 s: fails too, queue = 6 + 2
    let failed = sim.acs.informs.last().unwrap().clone();
    assert!(failed.has_event("2 PERIODIC"));
    sim.run_for(Duration::from_secs(60));
    let retry = sim.acs.informs.last().unwrap();
    assert_eq!(retry.event_codes(), ["2 PERIODIC"]);
    assert!(retry.inform.retry_count >= 1);
}

#[test]
fn several_connection_requests_make_one_session() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    sim.acs.push(SessionScript::new().inform(Reply::Timeout));
    sim.input(Input::ConnectionRequest);
    // During the hanging session: three more requests.
    sim.input(Input::ConnectionRequest);
    sim.input(Input::ConnectionRequest);
    sim.input(Input::ConnectionRequest);
    assert_eq!(sim.acs.informs.len(), 2);
    sim.run_for(Duration::from_secs(31)); // the timeout fails session 2
    sim.run_for(Duration::from_secs(3600));
    // Connection requests are dropped with the failed session; none is carried further.
    assert_eq!(sim.acs.informs.len(), 2);
}

#[test]
fn events_arriving_during_a_session_give_exactly_one_follow_up() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    // A slow session (each answer takes 10 s) with one ACS request: 30 s in all.
    sim.latency = Duration::from_secs(10);
    sim.acs
        .push(SessionScript::new().request(Body::GetRPCMethods));
    sim.input(Input::ConnectionRequest);
    sim.input_at(Duration::from_secs(5), Input::ConnectionRequest);
    sim.input_at(Duration::from_secs(6), Input::DiagnosticsComplete);
    sim.input_at(Duration::from_secs(15), Input::ConnectionRequest);
    sim.run_for(Duration::from_secs(100));
    let codes: Vec<Vec<String>> = sim.acs.informs.iter().map(|i| i.event_codes()).collect();
    assert_eq!(codes.len(), 3, "{codes:?}");
    assert_eq!(codes[2], ["6 CONNECTION REQUEST", "8 DIAGNOSTICS COMPLETE"]);
    // The follow-up started right when the first ended.
    assert_eq!(sim.sessions[2].started, sim.sessions[1].ended.unwrap().0);
}

#[test]
fn schedule_inform_fires_with_scheduled_and_its_key() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    sim.acs.push(
        SessionScript::new()
            .request(schedule_inform(120, "a"))
            .request(schedule_inform(120, "b"))
            .request(schedule_inform(0, "zero")),
    );
    sim.input(Input::ConnectionRequest);
    let zero = &sim.acs.responses[2];
    match &zero.body {
        Body::Fault(f) => assert_eq!(f.detail.as_ref().unwrap().code, 9003),
        other => panic!("DelaySeconds 0 must be refused with 9003, got {other:?}"),
    }
    assert_eq!(sim.persisted.scheduled_informs.len(), 2);
    let t_req = sim.acs.informs[1].at;
    sim.run_for(Duration::from_secs(200));
    let fired = &sim.acs.informs[2];
    assert_eq!(fired.at - t_req, Duration::from_secs(120));
    assert_eq!(
        fired.event_codes(),
        ["3 SCHEDULED", "M ScheduleInform", "M ScheduleInform"]
    );
    assert!(fired.has_event_key("M ScheduleInform", "a"));
    assert!(fired.has_event_key("M ScheduleInform", "b"));
    assert!(sim.persisted.events.is_empty());
}

#[test]
fn schedule_inform_survives_a_restart() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    sim.acs
        .push(SessionScript::new().request(schedule_inform(3600, "later")));
    sim.input(Input::ConnectionRequest);
    sim.run_for(Duration::from_secs(600));
    sim.restart(BootReason::PowerOn); // boot session: 1 BOOT only
    assert_eq!(sim.acs.informs.last().unwrap().event_codes(), ["1 BOOT"]);
    sim.run_for(Duration::from_secs(3000));
    let last = sim.acs.informs.last().unwrap();
    assert!(
        last.has_event_key("M ScheduleInform", "later"),
        "{:?}",
        last.event_codes()
    );
    // It fired one hour after the request, by the wall clock.
    let req = sim.acs.informs[1].inform.current_time.unix();
    assert_eq!(last.inform.current_time.unix() - req, 3600);
}

#[test]
fn persistent_events_survive_a_persist_restore_round_trip() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    // Queue: M ScheduleInform fired while the ACS is down, plus a pending reboot key.
    sim.acs
        .push(SessionScript::new().request(schedule_inform(10, "s1")));
    sim.input(Input::ConnectionRequest);
    for _ in 0..5 {
        sim.acs.push(SessionScript::new().inform(Reply::Close));
    }
    sim.run_for(Duration::from_secs(11));
    let state = sim.agent.persistent_state();
    let json = serde_json::to_string(&state).unwrap();
    let back: PersistentState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
    assert!(json.contains("M ScheduleInform"), "{json}");
    assert_eq!(
        sim.persisted, state,
        "the last Persist output matches the state"
    );
    sim.restart(BootReason::PowerOn);
    sim.run_for(Duration::from_secs(3600));
    let delivered = sim.acs.delivered_events();
    assert!(delivered
        .iter()
        .any(|e| e.event_code == "M ScheduleInform" && e.command_key == "s1"));
    assert!(sim.persisted.events.is_empty());
}

#[test]
fn persist_comes_before_the_action_it_protects() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1));
    // Drive the agent by hand to see the output order around a Reboot.
    sim.acs
        .push(SessionScript::new().request(Body::Reboot(Reboot {
            command_key: "k".into(),
        })));
    sim.auto_restart = false;
    let mut outs = Vec::new();
    let now = sim.clock.now();
    sim.agent
        .handle_input(&mut sim.store, now, Input::ConnectionRequest);
    // Play the ACS by hand through the testkit's ACS.
    loop {
        let mut next = None;
        while let Some(o) = sim.agent.poll_output() {
            if let Output::SendPost {
                body,
                soap_action,
                session_id,
                ..
            } = &o
            {
                next = Some(sim.acs.handle_post(
                    sim.clock.elapsed(),
                    *session_id,
                    body.as_deref(),
                    soap_action.header_value(),
                ));
            }
            outs.push(o);
        }
        match next {
            Some(cwmp_testkit::sim::AcsAction::Respond { status, body }) => {
                let now = sim.clock.now();
                sim.agent
                    .handle_input(&mut sim.store, now, Input::http_response(status, body));
            }
            _ => break,
        }
    }
    let reboot = outs
        .iter()
        .position(|o| matches!(o, Output::Reboot { .. }))
        .unwrap();
    let persist = outs
        .iter()
        .rposition(
            |o| matches!(o, Output::Persist(s) if s.events.iter().any(|e| e.command_key == "k")),
        )
        .unwrap();
    assert!(persist < reboot);
    let ended = outs
        .iter()
        .position(|o| matches!(o, Output::SessionEnded { .. }))
        .unwrap();
    assert!(ended < reboot, "reboot only after the session ended");
}

#[test]
fn a_complete_data_model_passes_the_store_check() {
    let mut sim = sim();
    let agent = cwmp_engine::Agent::new(
        cwmp_engine::AgentConfig::default(),
        PersistentState::new(),
        BootReason::PowerOn,
        1,
        sim.clock.now(),
    )
    .unwrap();
    assert!(agent.check_store(&mut sim.store).is_ok());
}

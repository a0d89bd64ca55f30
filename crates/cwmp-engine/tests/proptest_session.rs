//! Property: whatever the ACS does (good answers, HTTP errors, garbage, faults, silence,
//! closed connections) and whatever happens around it (connection requests, local changes,
//! power cycles, reboots, downloads, scheduled informs), the engine never panics, never runs
//! two sessions at once (the simulator checks that on every output), and never loses a
//! persistent event: every one that was ever queued is delivered once the ACS behaves.

use cwmp_engine::{BootReason, Input};
use cwmp_model::{MemoryStore, Notification, ParameterStore, SetAttributes};
use cwmp_soap::{Body, Download, Reboot, ScheduleInform};
use cwmp_testkit::sim::{Reply, SessionScript, Sim, TransferBehaviour};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::time::Duration;

const MS: &str = "Device.ManagementServer.";

#[derive(Debug, Clone)]
enum Acs {
    Good,
    Http(u16),
    Garbage,
    Fault(u32),
    Timeout,
    Close,
    /// A good InformResponse, then a failure in the ACS-request phase.
    FailLater(Box<Acs>),
    /// A good InformResponse, then this answer to the CPE's TransferComplete.
    TransferCompleteAnswer(Box<Acs>),
    HoldRequests,
}

#[derive(Debug, Clone)]
enum Op {
    Run(u32),
    Session(Acs),
    ConnectionRequest,
    LocalChange(bool),
    PowerCycle,
    AgentRestart,
    ScheduleInform(u32),
    Reboot,
    Download(u32),
}

fn acs_simple() -> impl Strategy<Value = Acs> {
    prop_oneof![
        3 => Just(Acs::Good),
        1 => prop::sample::select(vec![400u16, 401, 404, 500, 503, 302]).prop_map(Acs::Http),
        1 => Just(Acs::Garbage),
        1 => prop::sample::select(vec![8000u32, 8002, 8005, 8006, 9001]).prop_map(Acs::Fault),
        1 => Just(Acs::Timeout),
        1 => Just(Acs::Close),
        1 => Just(Acs::HoldRequests),
    ]
}

fn acs() -> impl Strategy<Value = Acs> {
    prop_oneof![
        4 => acs_simple(),
        1 => acs_simple().prop_map(|a| Acs::FailLater(Box::new(a))),
        1 => acs_simple().prop_map(|a| Acs::TransferCompleteAnswer(Box::new(a))),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u32..7200).prop_map(Op::Run),
        4 => acs().prop_map(Op::Session),
        2 => Just(Op::ConnectionRequest),
        1 => any::<bool>().prop_map(Op::LocalChange),
        1 => Just(Op::PowerCycle),
        1 => Just(Op::AgentRestart),
        1 => (1u32..3000).prop_map(Op::ScheduleInform),
        1 => Just(Op::Reboot),
        1 => (0u32..600).prop_map(Op::Download),
    ]
}

fn reply(a: &Acs) -> Reply {
    match a {
        Acs::Good | Acs::HoldRequests => Reply::Normal,
        Acs::Http(s) => Reply::Http(*s),
        Acs::Garbage => Reply::Garbage,
        Acs::Fault(c) => Reply::Fault(*c),
        Acs::Timeout => Reply::Timeout,
        Acs::Close => Reply::Close,
        Acs::FailLater(a) | Acs::TransferCompleteAnswer(a) => reply(a),
    }
}

fn script(a: &Acs) -> SessionScript {
    match a {
        Acs::FailLater(inner) => SessionScript::new()
            .request(Body::GetRPCMethods)
            .then(reply(inner)),
        Acs::TransferCompleteAnswer(inner) => SessionScript::new().cpe_request(reply(inner)),
        Acs::HoldRequests => SessionScript::new()
            .hold_requests()
            .request(Body::GetRPCMethods),
        other => SessionScript::new().inform(reply(other)),
    }
}

/// The persistent events with unique CommandKeys that are pending now (queued, scheduled, or
/// accepted transfers).
fn pending_keys(sim: &Sim<MemoryStore>) -> BTreeSet<(String, String)> {
    let st = sim.agent.persistent_state();
    let mut v: BTreeSet<(String, String)> = st
        .events
        .iter()
        .filter(|e| e.code.is_multiple())
        .map(|e| (e.code.as_str().to_owned(), e.command_key.clone()))
        .collect();
    v.extend(
        st.scheduled_informs
            .iter()
            .map(|s| ("M ScheduleInform".to_owned(), s.command_key.clone())),
    );
    v.extend(
        st.transfers
            .iter()
            .map(|t| ("M Download".to_owned(), t.command_key.clone())),
    );
    v.extend(
        st.transfer_results
            .iter()
            .map(|t| ("M Download".to_owned(), t.command_key.clone())),
    );
    v
}

fn run(ops: Vec<Op>) {
    let mut sim = Sim::with_conformance_store();
    sim.store
        .set_internal(&format!("{MS}PeriodicInformInterval"), "3600")
        .unwrap();
    sim.store
        .set_attributes(&[SetAttributes {
            name: "Device.DeviceInfo.ProvisioningCode".into(),
            notification: Some(Notification::Passive),
            access_list: None,
        }])
        .unwrap();
    sim.transfers = TransferBehaviour::SucceedAfter(Duration::from_secs(45));
    let mut ever: BTreeSet<(String, String)> = BTreeSet::new();
    let mut n = 0u32;
    for op in ops {
        n += 1;
        match op {
            Op::Run(s) => sim.run_for(Duration::from_secs(u64::from(s))),
            Op::Session(a) => sim.acs.push(script(&a)),
            Op::ConnectionRequest => sim.input(Input::ConnectionRequest),
            Op::LocalChange(active) => {
                if active {
                    sim.set_local(
                        "Device.ManagementServer.ConnectionRequestURL",
                        &format!("http://10.0.0.{}:7547/", n % 250),
                    );
                } else {
                    sim.set_local("Device.DeviceInfo.ProvisioningCode", &format!("p{n}"));
                }
            }
            Op::PowerCycle => sim.restart(BootReason::PowerOn),
            Op::AgentRestart => sim.restart(BootReason::AgentRestart),
            Op::ScheduleInform(d) => sim.acs.push(SessionScript::new().request(
                Body::ScheduleInform(ScheduleInform {
                    delay_seconds: d,
                    command_key: format!("s{n}"),
                }),
            )),
            Op::Reboot => sim
                .acs
                .push(SessionScript::new().request(Body::Reboot(Reboot {
                    command_key: format!("r{n}"),
                }))),
            Op::Download(d) => {
                sim.acs
                    .push(SessionScript::new().request(Body::Download(Download {
                        command_key: format!("d{n}"),
                        file_type: "3 Vendor Configuration File".into(),
                        url: "http://fs.example/cfg".into(),
                        username: String::new(),
                        password: Default::default(),
                        file_size: 0,
                        target_file_name: String::new(),
                        delay_seconds: d,
                        success_url: String::new(),
                        failure_url: String::new(),
                    })))
            }
        }
        ever.extend(pending_keys(&sim));
        assert!(sim.agent.retry_count() <= 10_000);
    }
    // From now on the ACS behaves: everything ever queued gets delivered.
    sim.acs.scripts.clear();
    sim.run_for(Duration::from_secs(3 * 86_400));
    assert!(
        pending_keys(&sim).is_empty(),
        "still pending: {:?}",
        pending_keys(&sim)
    );
    let delivered: BTreeSet<(String, String)> = sim
        .acs
        .delivered_events()
        .into_iter()
        .filter(|e| e.event_code.starts_with("M "))
        .map(|e| (e.event_code, e.command_key))
        .collect();
    let acked_tc: BTreeSet<String> = sim
        .acs
        .transfer_completes
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(t, _)| t.command_key.clone())
        .collect();
    for (code, key) in &ever {
        assert!(
            delivered.contains(&(code.clone(), key.clone())),
            "{code} {key} was never delivered"
        );
        if code == "M Download" {
            assert!(
                acked_tc.contains(key),
                "TransferComplete {key} never acknowledged"
            );
        }
    }
    // Sessions strictly alternate (the simulator also panics on overlap).
    for w in sim.sessions.windows(2) {
        if let Some((end, _)) = w[0].ended {
            assert!(w[1].started >= end);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn engine_survives_any_acs(ops in prop::collection::vec(op(), 1..40)) {
        run(ops);
    }
}

#[test]
fn regression_reboot_then_power_cycle_before_restart() {
    run(vec![
        Op::Reboot,
        Op::ConnectionRequest,
        Op::PowerCycle,
        Op::Session(Acs::Http(500)),
        Op::Run(100),
    ]);
}

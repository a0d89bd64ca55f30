//! Value-change notifications (TR-069 Annex A.3.3.1, §3.2.1): passive changes wait for the next session,
//! active ones start a session no sooner than `DefaultActiveNotificationThrottle` after the last
//! successful one; secrets are reported as "".

use cwmp_engine::Input;
use cwmp_model::{MemoryStore, Notification, ParameterStore, SetAttributes};
use cwmp_testkit::sim::Sim;
use std::time::Duration;

const MS: &str = "Device.ManagementServer.";
const PROV: &str = "Device.DeviceInfo.ProvisioningCode";
const CR_URL: &str = "Device.ManagementServer.ConnectionRequestURL";

fn sim() -> Sim<MemoryStore> {
    let mut sim = Sim::with_conformance_store();
    sim.store
        .set_internal(&format!("{MS}PeriodicInformEnable"), "false")
        .unwrap();
    sim.run_for(Duration::from_secs(1));
    sim
}

fn notify(sim: &mut Sim<MemoryStore>, name: &str, n: Notification) {
    sim.store
        .set_attributes(&[SetAttributes {
            name: name.into(),
            notification: Some(n),
            access_list: None,
        }])
        .unwrap();
}

#[test]
fn passive_change_waits_for_the_next_session() {
    let mut sim = sim();
    notify(&mut sim, PROV, Notification::Passive);
    sim.set_local(PROV, "site-7");
    sim.run_for(Duration::from_secs(3600));
    assert_eq!(sim.acs.informs.len(), 1, "passive: no session of its own");
    sim.input(Input::ConnectionRequest);
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(i.event_codes(), ["4 VALUE CHANGE", "6 CONNECTION REQUEST"]);
    assert_eq!(i.param(PROV), Some("site-7"));
    // Delivered: the next Inform does not repeat it.
    sim.input(Input::ConnectionRequest);
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(i.event_codes(), ["6 CONNECTION REQUEST"]);
    assert_eq!(i.param(PROV), None);
}

#[test]
fn notification_off_reports_nothing() {
    let mut sim = sim();
    sim.set_local(PROV, "quiet");
    sim.input(Input::ConnectionRequest);
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(i.event_codes(), ["6 CONNECTION REQUEST"]);
    assert_eq!(i.param(PROV), None);
}

#[test]
fn active_change_starts_a_session_and_forced_parameters_are_not_duplicated() {
    let mut sim = sim();
    // ConnectionRequestURL is forced-inform and active by default.
    sim.set_local(CR_URL, "http://10.0.0.9:7547/cr");
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(sim.acs.informs.len(), 2);
    assert_eq!(i.event_codes(), ["4 VALUE CHANGE"]);
    assert_eq!(i.param(CR_URL), Some("http://10.0.0.9:7547/cr"));
    let n = i
        .inform
        .parameter_list
        .iter()
        .filter(|p| p.name == CR_URL)
        .count();
    assert_eq!(n, 1);
}

#[test]
fn active_notifications_are_throttled_after_a_successful_session() {
    let mut sim = sim();
    sim.store
        .set_internal(&format!("{MS}DefaultActiveNotificationThrottle"), "600")
        .unwrap();
    let end = sim.sessions[0].ended.unwrap().0;
    sim.run_for(Duration::from_secs(10));
    sim.set_local(CR_URL, "http://10.0.0.9:7547/a");
    sim.run_for(Duration::from_secs(100));
    sim.set_local(CR_URL, "http://10.0.0.9:7547/b");
    sim.run_for(Duration::from_secs(1000));
    assert_eq!(sim.acs.informs.len(), 2, "one session for both changes");
    let i = &sim.acs.informs[1];
    assert_eq!(i.at - end, Duration::from_secs(600));
    assert_eq!(
        i.param(CR_URL),
        Some("http://10.0.0.9:7547/b"),
        "only the latest value"
    );
    // A session for another reason is not throttled and carries pending changes.
    sim.set_local(CR_URL, "http://10.0.0.9:7547/c");
    sim.input(Input::ConnectionRequest);
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(i.event_codes(), ["4 VALUE CHANGE", "6 CONNECTION REQUEST"]);
    sim.run_for(Duration::from_secs(1000));
    assert_eq!(sim.acs.informs.len(), 3, "nothing left to notify");
}

#[test]
fn a_secret_is_notified_with_an_empty_value() {
    let mut sim = sim();
    let pw = format!("{MS}ConnectionRequestPassword");
    notify(&mut sim, &pw, Notification::Passive);
    sim.set_local(&pw, "hunter2");
    sim.input(Input::ConnectionRequest);
    let i = sim.acs.informs.last().unwrap();
    assert!(i.has_event("4 VALUE CHANGE"));
    assert_eq!(i.param(&pw), Some(""));
}

#[test]
fn a_change_during_the_session_is_reported_again() {
    let mut sim = sim();
    notify(&mut sim, PROV, Notification::Passive);
    sim.set_local(PROV, "one");
    sim.latency = Duration::from_secs(10);
    sim.input(Input::ConnectionRequest); // Inform with "one" leaves now
    sim.run_for(Duration::from_secs(5));
    sim.set_local(PROV, "two"); // before the InformResponse arrives
    sim.run_for(Duration::from_secs(100));
    sim.latency = Duration::ZERO;
    assert_eq!(sim.acs.informs[1].param(PROV), Some("one"));
    sim.input(Input::ConnectionRequest);
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(i.param(PROV), Some("two"));
    assert!(i.has_event("4 VALUE CHANGE"));
}

#[test]
fn enable_cwmp_false_stops_sessions() {
    use cwmp_model::{Access, BaseType, ParamDef, ParamType, Schema, Source};
    let base = cwmp_testkit::sim::sim_schema();
    let mut params = base.params().to_vec();
    let mut p = ParamDef::new(
        format!("{MS}EnableCWMP"),
        ParamType::new(BaseType::Boolean),
        Access::ReadWrite,
        Source::Item("acs-enable".into()),
    );
    p.default = Some("true".into());
    params.push(p);
    let schema = Schema::new(params, base.objects().to_vec()).unwrap();
    let mut sim = Sim::new(
        MemoryStore::in_memory(schema),
        cwmp_engine::AgentConfig::default(),
        cwmp_engine::PersistentState::new(),
        cwmp_testkit::sim::SimClock::new(cwmp_testkit::sim::SimClock::default_start()),
        1,
    );
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.acs.informs.len(), 1);
    sim.set_local(&format!("{MS}EnableCWMP"), "false");
    sim.input(Input::ConnectionRequest);
    sim.run_for(Duration::from_secs(3600)); // periodic informs every 300 s would be due
    assert_eq!(sim.acs.informs.len(), 1, "no Inform while CWMP is disabled");
    sim.set_local(&format!("{MS}EnableCWMP"), "true");
    sim.run_for(Duration::from_secs(300));
    assert_eq!(sim.acs.informs.len(), 2);
    let i = sim.acs.informs.last().unwrap();
    assert!(
        !i.has_event("6 CONNECTION REQUEST"),
        "refused while disabled"
    );
}

#[test]
fn active_change_does_not_cut_a_retry_wait_short() {
    use cwmp_testkit::sim::{Reply, SessionScript};
    let mut sim = sim();
    for _ in 0..3 {
        sim.acs.push(SessionScript::new().inform(Reply::Http(503)));
    }
    sim.input(Input::ConnectionRequest); // fails: nothing else owed, no retry armed
    sim.input(Input::DiagnosticsComplete); // fails: retry armed (8 DIAGNOSTICS COMPLETE is retried)
    let n = sim.acs.informs.len();
    let retry_at = sim
        .agent
        .timer(cwmp_engine::Timer::Retry)
        .expect("retry armed");
    sim.set_local(CR_URL, "http://10.0.0.7:7547/");
    assert_eq!(
        sim.acs.informs.len(),
        n,
        "the active change waits for the retry"
    );
    sim.run_until(retry_at);
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(sim.acs.informs.len(), n + 1);
    assert_eq!(
        i.event_codes(),
        ["4 VALUE CHANGE", "8 DIAGNOSTICS COMPLETE"]
    );
}

/// A fresh simulator whose first session has not run yet, with ProvisioningCode passive and
/// set (so the bootstrap tells the ACS its value).
fn fresh_with_passive_code() -> Sim<MemoryStore> {
    let mut sim = Sim::with_conformance_store();
    sim.store
        .set_internal(&format!("{MS}PeriodicInformEnable"), "false")
        .unwrap();
    notify(&mut sim, PROV, Notification::Passive);
    sim.store.set_internal(PROV, "site-1").unwrap();
    sim
}

#[test]
fn a_bootstrap_inform_carries_no_value_change() {
    let mut sim = fresh_with_passive_code();
    // The boot itself establishes addresses (the driver writes ConnectionRequestURL).
    sim.set_local(CR_URL, "http://10.0.0.9:7547/cr");
    sim.run_for(Duration::from_secs(1));
    let first = &sim.acs.informs[0];
    assert_eq!(first.event_codes(), ["0 BOOTSTRAP", "1 BOOT"]);
    assert_eq!(first.param(CR_URL), Some("http://10.0.0.9:7547/cr"));
    // Nothing is owed afterwards either.
    sim.input(Input::ConnectionRequest);
    assert_eq!(
        sim.acs.informs.last().unwrap().event_codes(),
        ["6 CONNECTION REQUEST"]
    );
    assert_eq!(
        sim.persisted.reported_values.get(PROV).map(String::as_str),
        Some("site-1")
    );
}

#[test]
fn after_a_boot_only_values_that_differ_from_the_last_reported_are_value_changes() {
    let mut sim = fresh_with_passive_code();
    sim.set_local(CR_URL, "http://10.0.0.9:7547/cr");
    sim.run_for(Duration::from_secs(1));
    // A plain reboot with the same address: 1 BOOT alone.
    sim.restart(cwmp_engine::BootReason::PowerOn);
    sim.set_local(CR_URL, "http://10.0.0.9:7547/cr");
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.acs.informs.last().unwrap().event_codes(), ["1 BOOT"]);
    // A value changed while the engine was not running (written behind its back, as a
    // daemon does with the LAN addresses before its client starts): the boot Inform reports it.
    sim.store
        .set_values(
            &[cwmp_model::SetValue {
                name: PROV.into(),
                value: "site-9".into(),
                xsi_type: None,
            }],
            "",
        )
        .unwrap();
    sim.restart(cwmp_engine::BootReason::PowerOn);
    sim.run_for(Duration::from_secs(1));
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(i.event_codes(), ["1 BOOT", "4 VALUE CHANGE"]);
    assert_eq!(i.param(PROV), Some("site-9"));
    // Delivered: the next boot is quiet again.
    sim.restart(cwmp_engine::BootReason::PowerOn);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.acs.informs.last().unwrap().event_codes(), ["1 BOOT"]);
}

#[test]
fn a_value_changed_and_changed_back_is_not_reported() {
    let mut sim = fresh_with_passive_code();
    sim.run_for(Duration::from_secs(1));
    sim.set_local(PROV, "site-2");
    sim.set_local(PROV, "site-1");
    sim.input(Input::ConnectionRequest);
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(i.event_codes(), ["6 CONNECTION REQUEST"]);
    assert_eq!(i.param(PROV), None);
    // A real change still is.
    sim.set_local(PROV, "site-3");
    sim.input(Input::ConnectionRequest);
    let i = sim.acs.informs.last().unwrap();
    assert_eq!(i.event_codes(), ["4 VALUE CHANGE", "6 CONNECTION REQUEST"]);
    assert_eq!(i.param(PROV), Some("site-3"));
}

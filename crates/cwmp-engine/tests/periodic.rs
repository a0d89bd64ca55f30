//! Periodic informs (TR-069 §3.2.1): the phase comes from `PeriodicInformTime` (or from the CPE
//! when it is the Unknown Time), survives sessions of any length and interval changes.

use cwmp_model::{DateTime, MemoryStore, ParameterStore};
use cwmp_soap::{Body, ParameterValueStruct, SetParameterValues};
use cwmp_testkit::sim::{SessionScript, Sim};
use std::time::Duration;

const MS: &str = "Device.ManagementServer.";

fn sim() -> Sim<MemoryStore> {
    Sim::with_conformance_store()
}

fn set(sim: &mut Sim<MemoryStore>, rel: &str, v: &str) {
    sim.store.set_internal(&format!("{MS}{rel}"), v).unwrap();
}

fn periodic_wall_times(sim: &Sim<MemoryStore>) -> Vec<i64> {
    sim.acs
        .informs
        .iter()
        .filter(|i| i.has_event("2 PERIODIC"))
        .map(|i| i.inform.current_time.unix())
        .collect()
}

fn spv(name: &str, value: &str, ty: cwmp_model::XsdType) -> Body {
    Body::SetParameterValues(SetParameterValues {
        parameter_list: vec![ParameterValueStruct::new(format!("{MS}{name}"), value, ty)],
        parameter_key: "k".into(),
    })
}

#[test]
fn unknown_anchor_phase_is_kept_across_slow_sessions() {
    let mut sim = sim();
    set(&mut sim, "PeriodicInformInterval", "300");
    // Every POST takes 7 s: a schedule restarted at the end of each session would drift.
    sim.latency = Duration::from_secs(7);
    sim.run_for(Duration::from_secs(3 * 3600));
    let start = sim.acs.informs[0].inform.current_time.unix();
    let times = periodic_wall_times(&sim);
    assert_eq!(times.len(), 36);
    for (j, t) in times.iter().enumerate() {
        assert_eq!(t - start, 300 * (j as i64 + 1), "periodic inform {j}");
    }
    // The sessions really took time: three POSTs each.
    let s = &sim.sessions[1];
    assert_eq!(s.ended.unwrap().0 - s.started, Duration::from_secs(14));
}

#[test]
fn anchor_in_the_past_sets_the_phase() {
    let mut sim = sim();
    set(&mut sim, "PeriodicInformInterval", "300");
    set(&mut sim, "PeriodicInformTime", "2020-01-01T00:00:07Z");
    sim.run_for(Duration::from_secs(7200));
    let times = periodic_wall_times(&sim);
    assert_eq!(times.len(), 24);
    assert!(times.iter().all(|t| t.rem_euclid(300) == 7), "{times:?}");
}

#[test]
fn anchor_in_the_future_sets_the_phase() {
    let mut sim = sim();
    set(&mut sim, "PeriodicInformInterval", "3600");
    set(&mut sim, "PeriodicInformTime", "2031-07-04T00:17:00Z");
    sim.run_for(Duration::from_secs(86_400));
    let times = periodic_wall_times(&sim);
    assert_eq!(times.len(), 24);
    assert!(
        times.iter().all(|t| t.rem_euclid(3600) == 17 * 60),
        "{times:?}"
    );
    // The first one comes at the next grid point, not at the anchor years ahead.
    let start = SimClockStart::unix();
    assert!(times[0] - start <= 3600);
}

struct SimClockStart;
impl SimClockStart {
    fn unix() -> i64 {
        cwmp_testkit::sim::SimClock::default_start().unix()
    }
}

#[test]
fn daily_inform_at_utc_midnight() {
    // The DM's own example: interval 86400 and a midnight anchor.
    let mut sim = sim();
    set(&mut sim, "PeriodicInformInterval", "86400");
    set(&mut sim, "PeriodicInformTime", "2000-01-01T00:00:00Z");
    sim.run_for(Duration::from_secs(5 * 86_400));
    let times = periodic_wall_times(&sim);
    assert_eq!(times.len(), 5);
    for t in &times {
        assert_eq!(
            DateTime::from_unix(*t).unwrap().to_xsd()[11..],
            *"00:00:00Z"
        );
    }
}

#[test]
fn interval_change_by_the_acs_keeps_the_phase() {
    let mut sim = sim();
    set(&mut sim, "PeriodicInformInterval", "300");
    set(&mut sim, "PeriodicInformTime", "2020-01-01T00:01:40Z"); // phase 100 s
                                                                 // The third periodic session sets the interval to 1200 s.
    sim.acs.push(SessionScript::new());
    sim.acs.push(SessionScript::new());
    sim.acs.push(SessionScript::new());
    sim.acs.push(SessionScript::new().request(spv(
        "PeriodicInformInterval",
        "1200",
        cwmp_model::XsdType::UnsignedInt,
    )));
    sim.run_for(Duration::from_secs(4 * 3600));
    let times = periodic_wall_times(&sim);
    let (before, after): (Vec<i64>, Vec<i64>) = times.iter().partition(|t| **t <= times[2]);
    assert_eq!(before.len(), 3);
    assert!(before.iter().all(|t| t.rem_euclid(300) == 100));
    assert!(!after.is_empty());
    assert!(after.iter().all(|t| t.rem_euclid(1200) == 100), "{after:?}");
    for w in after.windows(2) {
        assert_eq!(w[1] - w[0], 1200);
    }
}

#[test]
fn interval_change_with_unknown_anchor_keeps_the_cpe_phase() {
    let mut sim = sim();
    set(&mut sim, "PeriodicInformInterval", "300");
    let start = SimClockStart::unix();
    sim.run_for(Duration::from_secs(1000)); // periodic at 300, 600, 900
    set(&mut sim, "PeriodicInformInterval", "500"); // a local change
    sim.run_for(Duration::from_secs(2000));
    let times: Vec<i64> = periodic_wall_times(&sim)
        .iter()
        .map(|t| t - start)
        .collect();
    // Before: every 300 s from the boot. After: every 500 s on the same phase (the boot).
    assert_eq!(times, vec![300, 600, 900, 1500, 2000, 2500, 3000]);
}

#[test]
fn disabling_stops_periodic_informs() {
    let mut sim = sim();
    sim.run_for(Duration::from_secs(1000));
    let n = periodic_wall_times(&sim).len();
    assert_eq!(n, 3);
    set(&mut sim, "PeriodicInformEnable", "false");
    sim.run_for(Duration::from_secs(10_000));
    assert_eq!(periodic_wall_times(&sim).len(), n);
    assert_eq!(sim.agent.timer(cwmp_engine::Timer::Periodic), None);
}

#[test]
fn a_week_of_periodic_informs_every_minute() {
    let mut sim = sim();
    set(&mut sim, "PeriodicInformInterval", "60");
    sim.run_for(Duration::from_secs(7 * 86_400));
    // The boot inform plus one per minute for a week.
    assert_eq!(sim.acs.informs.len(), 1 + 7 * 24 * 60);
    assert_eq!(periodic_wall_times(&sim).len(), 7 * 24 * 60);
    assert_eq!(sim.failed_sessions(), 0);
}

#[test]
fn wall_clock_step_reanchors_the_schedule() {
    let mut sim = sim();
    set(&mut sim, "PeriodicInformInterval", "3600");
    set(&mut sim, "PeriodicInformTime", "2000-01-01T00:00:00Z");
    sim.run_for(Duration::from_secs(1800));
    // NTP moves the wall clock 20 minutes ahead.
    sim.clock.step_wall(1200);
    sim.run_for(Duration::from_secs(4 * 3600));
    // The engine learns of the step at its next wake-up (the 11:00 deadline, now 11:20 on the
    // wall), re-anchors, and informs at 12:00, 13:00 and 14:00 wall time.
    let times = periodic_wall_times(&sim);
    assert_eq!(times.len(), 3, "{times:?}");
    assert!(times.iter().all(|t| t.rem_euclid(3600) == 0), "{times:?}");
}

/// GenieACS's default `inform` provision sets `PeriodicInformTime` with milliseconds
/// (issue 10 part 3): the phase is that exact instant, not the whole second before it.
#[test]
fn sub_second_anchor_sets_the_exact_phase() {
    let mut sim = sim();
    set(&mut sim, "PeriodicInformInterval", "300");
    sim.acs.push(SessionScript::new().request(spv(
        "PeriodicInformTime",
        "1970-01-01T17:11:09.346Z",
        cwmp_model::XsdType::DateTime,
    )));
    sim.run_for(Duration::from_secs(3600));
    // The value reads back as set.
    assert_eq!(
        sim.store
            .get_values(&[format!("{MS}PeriodicInformTime")])
            .unwrap()[0]
            .value
            .to_lexical(),
        "1970-01-01T17:11:09.346Z"
    );
    let times: Vec<i128> = sim
        .acs
        .informs
        .iter()
        .filter(|i| i.has_event("2 PERIODIC"))
        .map(|i| i.inform.current_time.0.unix_timestamp_nanos())
        .collect();
    assert!(times.len() >= 11, "{times:?}");
    // 17:11:09.346 is 61 869.346 s after the epoch: 69.346 s into every 300 s period.
    for t in &times {
        assert_eq!(t.rem_euclid(300_000_000_000), 69_346_000_000, "{times:?}");
    }
}

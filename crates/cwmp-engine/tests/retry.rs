//! Session retry (TR-069 §3.2.1.1, §3.2.1.1): the wait before retry n lies in the spec's range for the
//! store's `CWMPRetryMinimumWaitInterval` / `CWMPRetryIntervalMultiplier`, RetryCount counts
//! the failed attempts and resets after a successful session.

use cwmp_engine::{retry_wait_range, Input};
use cwmp_model::{MemoryStore, ParameterStore};
use cwmp_testkit::sim::{Reply, SessionScript, Sim};
use std::time::Duration;

const MS: &str = "Device.ManagementServer.";

fn sim_with(m: Option<u32>, k: Option<u32>, seed: u64) -> Sim<MemoryStore> {
    let mut sim = Sim::with_conformance_store();
    sim.agent = cwmp_engine::Agent::new(
        sim.config.clone(),
        cwmp_engine::PersistentState::new(),
        cwmp_engine::BootReason::PowerOn,
        seed,
        sim.clock.now(),
    )
    .unwrap();
    // No periodic informs: they would cut long retry waits short (TR-069 §3.2.1.1).
    sim.store
        .set_internal(&format!("{MS}PeriodicInformEnable"), "false")
        .unwrap();
    if let Some(m) = m {
        sim.store
            .set_internal(&format!("{MS}CWMPRetryMinimumWaitInterval"), &m.to_string())
            .unwrap();
    }
    if let Some(k) = k {
        sim.store
            .set_internal(&format!("{MS}CWMPRetryIntervalMultiplier"), &k.to_string())
            .unwrap();
    }
    sim
}

/// Fail 12 sessions in a row with assorted failures, then succeed; check every wait.
fn check_waits(m: Option<u32>, k: Option<u32>, seed: u64) {
    let mut sim = sim_with(m, k, seed);
    let failures = [
        Reply::Http(500),
        Reply::Garbage,
        Reply::Fault(8002),
        Reply::Close,
        Reply::Http(404),
        Reply::Timeout,
    ];
    for i in 0..12 {
        sim.acs
            .push(SessionScript::new().inform(failures[i % failures.len()].clone()));
    }
    sim.run_for(Duration::from_secs(20 * 86_400));
    let informs = &sim.acs.informs;
    assert_eq!(informs.len(), 13, "12 failed attempts and one success");
    let (m, k) = (m.unwrap_or(5), k.unwrap_or(2000));
    for n in 1..=12u32 {
        let prev = &informs[n as usize - 1];
        let this = &informs[n as usize];
        assert_eq!(this.inform.retry_count, n, "RetryCount of attempt {n}");
        // The failed attempt ended when its reply came, or 30 s later for a timeout.
        let timeout = if failures[(n as usize - 1) % failures.len()] == Reply::Timeout {
            Duration::from_secs(30)
        } else {
            Duration::ZERO
        };
        let wait = this.at - prev.at - timeout;
        let (lo, hi) = retry_wait_range(n, m, k);
        assert!(
            wait >= lo && wait <= hi,
            "m={m} k={k} retry {n}: waited {wait:?}, spec range {lo:?}..={hi:?}"
        );
    }
    assert_eq!(sim.failed_sessions(), 12);
    assert_eq!(sim.ok_sessions(), 1);
    assert_eq!(
        sim.agent.retry_count(),
        0,
        "reset after the successful session"
    );

    // The next session after success starts again at 0.
    sim.input(Input::ConnectionRequest);
    let last = sim.acs.informs.last().unwrap();
    assert_eq!(last.inform.retry_count, 0);
    assert!(last.has_event("6 CONNECTION REQUEST"));
}

#[test]
fn default_retry_waits() {
    for seed in 1..=4 {
        check_waits(None, None, seed);
    }
}

#[test]
fn retry_waits_m10_k3000() {
    for seed in 1..=3 {
        check_waits(Some(10), Some(3000), seed);
    }
}

#[test]
fn retry_waits_m1_k1000() {
    check_waits(Some(1), Some(1000), 9);
}

#[test]
fn waits_are_random_within_the_range() {
    // Same configuration, different seeds: the first retry does not always wait the same.
    let mut firsts = std::collections::BTreeSet::new();
    for seed in 0..8 {
        let mut sim = sim_with(None, None, seed);
        sim.acs.push(SessionScript::new().inform(Reply::Http(503)));
        sim.run_for(Duration::from_secs(60));
        let i = &sim.acs.informs;
        assert_eq!(i.len(), 2);
        firsts.insert(i[1].at - i[0].at);
    }
    assert!(firsts.len() >= 6, "waits look fixed: {firsts:?}");
}

#[test]
fn a_new_event_cuts_the_wait_short_and_retry_count_keeps_counting() {
    let mut sim = sim_with(None, None, 3);
    for _ in 0..5 {
        sim.acs.push(SessionScript::new().inform(Reply::Http(500)));
    }
    // Five failures: the sixth attempt would wait 80..160 s.
    sim.run_for(Duration::from_secs(5 + 10 + 20 + 40 + 80));
    let before = sim.acs.informs.len();
    assert!(before <= 5);
    sim.input(Input::ConnectionRequest);
    let last = sim.acs.informs.last().unwrap();
    assert_eq!(
        sim.acs.informs.len(),
        before + 1,
        "the connection request retried at once"
    );
    assert_eq!(last.inform.retry_count as usize, before);
}

#[test]
fn an_ok_session_after_failures_resets_and_no_retry_is_armed() {
    let mut sim = sim_with(None, None, 5);
    sim.acs.push(SessionScript::new().inform(Reply::Http(500)));
    sim.run_for(Duration::from_secs(30));
    assert_eq!(sim.acs.informs.len(), 2);
    assert_eq!(sim.agent.retry_count(), 0);
    assert_eq!(sim.agent.timer(cwmp_engine::Timer::Retry), None);
    // Nothing else happens without a reason.
    sim.run_for(Duration::from_secs(86_400));
    assert_eq!(sim.acs.informs.len(), 2);
}

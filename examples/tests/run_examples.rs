//! The examples really talk CWMP: each runs against the fake ACS and completes a boot
//! session with `0 BOOTSTRAP` and `1 BOOT`.

use cwmp_testkit::acs::FakeAcs;
use std::process::{Command, Stdio};
use std::time::Duration;

fn check_bootstrap(acs: &FakeAcs) {
    let s = &acs.sessions()[0];
    let codes: Vec<&str> = s
        .inform
        .event
        .iter()
        .map(|e| e.event_code.as_str())
        .collect();
    assert!(
        codes.contains(&"0 BOOTSTRAP") && codes.contains(&"1 BOOT"),
        "{codes:?}"
    );
    assert_eq!(s.inform.device_id.serial_number, "001AE8A1B2C3");
}

#[test]
fn own_event_loop_runs_one_session_and_exits() {
    let acs = FakeAcs::builder().start().expect("acs");
    let st = Command::new(env!("CARGO_BIN_EXE_own_event_loop"))
        .arg(acs.url())
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert!(st.success());
    assert!(acs.wait_for_sessions(1, Duration::from_secs(5)));
    check_bootstrap(&acs);
}

#[test]
fn minimal_agent_bootstraps() {
    let acs = FakeAcs::builder().start().expect("acs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_minimal_agent"))
        .arg(acs.url())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let ok = acs.wait_for_sessions(1, Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "no session");
    check_bootstrap(&acs);
}

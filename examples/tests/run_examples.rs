//! The examples really talk CWMP: each runs against the fake ACS and completes a boot
//! session with `0 BOOTSTRAP` and `1 BOOT`.

use cwmp_model::XsdType;
use cwmp_soap::{Body, ParameterValueStruct, SetParameterValues};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs};
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

/// The embedding with its own data model: the Inform carries the example's identity, and a
/// SetParameterValues on the writable valve table lands in the device's JSON file.
#[test]
fn custom_store_bootstraps_and_keeps_values_in_its_json_file() {
    let spv = AcsMessage::Request(Body::SetParameterValues(SetParameterValues {
        parameter_list: vec![ParameterValueStruct::new(
            "Device.Valve.2.Open",
            "true",
            XsdType::Boolean,
        )],
        parameter_key: "k1".into(),
    }));
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([spv]))
        .start()
        .expect("acs");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("valve.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_custom_store"))
        .arg(acs.url())
        .arg(&file)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let ok = acs.wait_for_sessions(1, Duration::from_secs(20));
    let mut ended = false;
    for _ in 0..200 {
        if acs.sessions_ended() >= 1 {
            ended = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok && ended, "no complete session");
    let s = &acs.sessions()[0];
    assert_eq!(s.inform.device_id.serial_number, "V2-0001");
    assert_eq!(s.inform.device_id.product_class, "Valve2");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("json written")).expect("json");
    assert_eq!(json["valve-2-open"], "true", "{json}");
    assert_eq!(json["acs-url"], acs.url(), "{json}");
}

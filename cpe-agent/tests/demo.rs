//! `cpe-agent demo` on a fresh checkout: the real binary, no configuration, exits 0 with the
//! tour's transcript (one line per CWMP message).

use std::process::Command;

#[test]
fn demo_runs_the_tour_and_exits_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_cpe-agent"))
        .args(["demo", "--color", "never"])
        .env_remove("RUST_LOG")
        .output()
        .expect("run cpe-agent demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // No colour when told so (and not a terminal).
    assert!(!text.contains('\x1b'), "{text}");
    // Each step of the tour, as CWMP messages in both directions.
    for want in [
        "phone → ACS    Inform  events: 0 BOOTSTRAP, 1 BOOT",
        "ACS → phone  GetParameterNames  Device. NextLevel=false",
        "GetParameterNamesResponse",
        "ACS → phone  GetParameterValues  Device.",
        "GetParameterValuesResponse",
        "SIP.RegisterExpires 9007",
        "phone → ACS    SetParameterValuesResponse  Status",
        "Inform  events: 6 CONNECTION REQUEST",
        "ACS → phone  Download  \"1 Firmware Upgrade Image\"",
        "phone → files  GET /fw/",
        "7 TRANSFER COMPLETE",
        "M Download (demo-firmware)",
        "TransferComplete  CommandKey \"demo-firmware\", FaultCode 0 (success)",
        "ACS → phone  FactoryReset",
        "phone → ACS    FactoryResetResponse",
        "ACS → phone  204 No Content",
        "Summary",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // The bootstrap after the factory reset comes after the FactoryReset.
    let reset = text.find("FactoryResetResponse").expect("reset");
    assert!(
        text[reset..].contains("Inform  events: 0 BOOTSTRAP, 1 BOOT"),
        "{text}"
    );
    // The temporary state directory is gone.
    let state = text
        .lines()
        .find_map(|l| l.split("state       ").nth(1))
        .expect("state line");
    assert!(!std::path::Path::new(state.trim()).exists(), "{state}");
}

//! Real GenieACS 1.2.16 messages (the shared captures) driving the engine against the Desk Phone
//! data model: the engine must answer them as the captured CPE session went.
//!
//! The captures live in `../shared/envelopes/genieacs-1.2.16/` relative to the workspace root
//! (or `$CWMP_SHARED_DIR/envelopes/…`). Outside CI a missing directory skips the test with a
//! message; with `CI=true` it fails.
// The engine's clippy.toml bans file and environment access for the engine; this test reads
// its fixtures and the CI flag, which is what tests are for.
#![allow(clippy::disallowed_methods)]

use cwmp_engine::{AgentConfig, Input, PersistentState};
use cwmp_model::{MemoryStore, ParameterStore, Value};
use cwmp_soap::Body;
use cwmp_testkit::sim::{Reply, SessionScript, Sim, SimClock};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn captures() -> PathBuf {
    test_peers::shared_dir(env!("CARGO_MANIFEST_DIR")).join("envelopes/genieacs-1.2.16")
}

fn raw(dir: &Path, file: &str) -> Reply {
    let body = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    Reply::Raw { status: 200, body }
}

fn deskphone_sim() -> Sim<MemoryStore> {
    let model = deskphone_datamodel::DeskPhoneModel::builtin();
    let mut store = MemoryStore::in_memory(model.schema().clone());
    // The phone ships without an ACS URL (DHCP or the admin sets it).
    store
        .set_internal("Device.ManagementServer.URL", "http://127.0.0.1:7547/")
        .unwrap();
    Sim::new(
        store,
        AgentConfig::default(),
        PersistentState::new(),
        SimClock::new(SimClock::default_start()),
        7,
    )
}

#[test]
#[cfg_attr(
    peer_missing_shared,
    ignore = "../shared not found (set CWMP_SHARED_DIR)"
)]
fn bootstrap_session_as_captured() {
    let dir = captures();
    let mut sim = deskphone_sim();
    sim.acs.push(
        SessionScript::new()
            .inform(raw(&dir, "001-InformResponse-bootstrap-boot-cwmp-1-2.xml"))
            .then(raw(&dir, "003-GetParameterNames-nextlevel-true-root.xml"))
            .then(raw(
                &dir,
                "004-GetParameterNames-nextlevel-true-ManagementServer.xml",
            ))
            .then(raw(&dir, "005-GetParameterValues-many-4.xml"))
            .then(raw(&dir, "006-SetParameterValues-string-unsignedInt.xml")),
    );
    sim.run_for(Duration::from_secs(1));
    let inform = &sim.acs.informs[0];
    assert_eq!(inform.event_codes(), ["0 BOOTSTRAP", "1 BOOT"]);
    assert_eq!(
        sim.ok_sessions(),
        1,
        "the session ended with GenieACS's 204"
    );
    let r = &sim.acs.responses;
    assert_eq!(r.len(), 4);
    match &r[0].body {
        Body::GetParameterNamesResponse(g) => {
            assert_eq!(g.parameter_list.len(), 1);
            assert_eq!(g.parameter_list[0].name, "Device.");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r[0].header.id.as_deref(), Some("1a2051a21190000"));
    match &r[1].body {
        Body::GetParameterNamesResponse(g) => {
            assert!(g
                .parameter_list
                .iter()
                .any(|p| p.name == "Device.ManagementServer.PeriodicInformInterval" && p.writable));
        }
        other => panic!("{other:?}"),
    }
    match &r[2].body {
        Body::GetParameterValuesResponse(g) => {
            assert_eq!(g.parameter_list.len(), 4);
            assert_eq!(
                g.parameter_list[1].name,
                "Device.ManagementServer.ConnectionRequestPassword"
            );
            assert_eq!(g.parameter_list[1].value, "");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(r[3].body, Body::SetParameterValuesResponse(_)),
        "{:?}",
        r[3].body
    );
    assert_eq!(
        sim.store
            .internal_value("Device.ManagementServer.ConnectionRequestPassword"),
        Some(Value::String("1ew2c0ranq4".into()))
    );
    // The interval written by the ACS now drives the periodic informs.
    sim.run_for(Duration::from_secs(301));
    assert!(sim.acs.informs.last().unwrap().has_event("2 PERIODIC"));
}

#[test]
#[cfg_attr(
    peer_missing_shared,
    ignore = "../shared not found (set CWMP_SHARED_DIR)"
)]
fn download_and_reboot_as_captured() {
    let dir = captures();
    let mut sim = deskphone_sim();
    sim.run_for(Duration::from_secs(1));
    sim.acs.push(
        SessionScript::new()
            .inform(raw(&dir, "010-InformResponse-connreq-cwmp-1-2.xml"))
            .then(raw(&dir, "099-Download-firmware.xml"))
            .then(raw(&dir, "114-Reboot.xml")),
    );
    sim.input(Input::ConnectionRequest);
    let r = &sim.acs.responses;
    assert!(matches!(r[0].body, Body::DownloadResponse(ref d) if d.status == 1));
    assert!(matches!(r[1].body, Body::RebootResponse));
    assert_eq!(sim.reboots, [""], "GenieACS sends an empty CommandKey");
    // The download waits for the reboot: handed out (resumed: false) after the restart.
    sim.run_for(Duration::from_secs(60));
    let after = &sim.acs.informs[2];
    assert_eq!(after.event_codes(), ["1 BOOT", "M Reboot"]);
    assert_eq!(sim.downloads.len(), 1);
    assert_eq!(sim.downloads[0].command_key, "1a2051adfdb0000");
    assert_eq!(
        sim.downloads[0].url,
        "http://127.0.0.1:7567/cp600-V1R5.2.0.img"
    );
}

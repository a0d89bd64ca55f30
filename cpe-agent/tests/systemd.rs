//! The packaged systemd unit: `systemd-analyze verify` accepts it, and
//! `systemd-analyze security` rates its exposure at 2.5 or lower.

use std::path::PathBuf;
use std::process::Command;

fn unit() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cpe-agent.service")
}

#[test]
#[cfg_attr(peer_missing_systemd_analyze, ignore = "systemd-analyze not installed")]
fn the_unit_verifies() {
    let tool = test_peers::program("systemd-analyze");
    // verify checks that ExecStart exists: point it at the binary this build made.
    let dir = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(unit()).expect("unit");
    let text = text.replace("/usr/local/bin/cpe-agent", env!("CARGO_BIN_EXE_cpe-agent"));
    let copy = dir.path().join("cpe-agent.service");
    std::fs::write(&copy, text).expect("copy");
    let out = Command::new(&tool)
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg_attr(peer_missing_systemd_analyze, ignore = "systemd-analyze not installed")]
fn the_unit_is_sandboxed() {
    let tool = test_peers::program("systemd-analyze");
    // The threshold is on a 0–100 scale: 25 = an exposure of 2.5.
    let out = Command::new(&tool)
        .args(["security", "--offline=yes", "--threshold=25"])
        .arg(unit())
        .output()
        .expect("systemd-analyze");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
    );
}

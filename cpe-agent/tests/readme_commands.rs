//! The README's shell commands, run as a new user would run them, so that they cannot rot.
//!
//! Blocks marked `<!-- readme-commands: NAME -->` in README.md are extracted (the indented
//! block that follows the marker) and run with bash from a scratch "repository root" holding a
//! copy of the example configuration, against the real binary and the fake ACS. Two changes
//! to the copy, both ports: the ACS URL points at the fake ACS and the connection-request and
//! UDP ports are free ones, so the test never collides with a GenieACS or a phone on the
//! machine. `cpe-agent` and `target/release/cpe-agent` in a command mean the binary under
//! test; `FILE` means the example configuration. A comment "prints `X`" is checked.

use cwmp_testkit::acs::{CwmpScript, FakeAcs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cpe-agent");
const CONFIG: &str = "cpe-agent/cpe-agent.example.toml";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The command lines of the block after `<!-- readme-commands: name`.
fn block(readme: &str, name: &str) -> Vec<String> {
    let marker = format!("<!-- readme-commands: {name}");
    let start = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README has no readme-commands block {name}"));
    let mut lines = Vec::new();
    let mut started = false;
    for line in readme[start..].lines().skip(1) {
        match line.strip_prefix("    ") {
            Some(cmd) => {
                started = true;
                if !cmd.trim_start().starts_with('#') {
                    lines.push(cmd.to_owned());
                }
            }
            None if line.trim().is_empty() => {
                if started {
                    break;
                }
            }
            None => break,
        }
    }
    assert!(!lines.is_empty(), "block {name} is empty");
    lines
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// Run one README line with bash from `root`; returns stdout. Fails on a non-zero status.
fn run(root: &Path, line: &str) -> String {
    let cmd = line
        .replace("target/release/cpe-agent", BIN)
        .replacen("cpe-agent admin", &format!("{BIN} admin"), 1)
        .replacen("cpe-agent dhcp", &format!("{BIN} dhcp"), 1)
        .replace(" FILE ", &format!(" {CONFIG} "));
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", &cmd])
        .current_dir(root)
        .env("PATH", path_with_peers())
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "README command failed: {line}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // A comment "prints `X`" promises X.
    if let Some((_, comment)) = line.split_once(" # ") {
        if let Some(rest) = comment.split("prints `").nth(1) {
            let want = rest.split('`').next().unwrap_or_default();
            assert!(stdout.contains(want), "{line}: printed {stdout:?}");
        }
    }
    stdout
}

fn path_with_peers() -> String {
    let jq = test_peers::program("jq");
    let dir = jq
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

#[test]
#[cfg_attr(peer_missing_jq, ignore = "jq not installed (apt-get install jq)")]
fn the_readme_commands_work_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new())
        .start()
        .expect("acs");
    let root = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(root.path().join("cpe-agent")).expect("dir");
    let example = std::fs::read_to_string(repo().join(CONFIG)).expect("example config");
    let cr = free_port();
    let config = example
        .replace("http://127.0.0.1:7547/", acs.url())
        .replace("0.0.0.0:7548", &format!("127.0.0.1:{cr}"));
    assert_ne!(config, example, "the example configuration changed shape");
    std::fs::write(root.path().join(CONFIG), config).expect("config");

    // "RUST_LOG=info target/release/cpe-agent --config cpe-agent/cpe-agent.example.toml"
    assert!(readme.contains(&format!(
        "RUST_LOG=info target/release/cpe-agent --config {CONFIG}"
    )));
    let mut daemon = Command::new(BIN)
        .args(["--config", CONFIG])
        .current_dir(root.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("daemon");
    let ok = acs.wait_for_sessions(1, Duration::from_secs(20));
    // The admin and DHCP commands, while the phone runs.
    let admin: Vec<String> = if ok {
        block(&readme, "admin")
    } else {
        Vec::new()
    };
    let outputs: Vec<String> = admin.iter().map(|l| run(root.path(), l)).collect();
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let t0 = Instant::now();
    while daemon.try_wait().ok().flatten().is_none() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = daemon.kill();
    assert!(ok, "the example configuration did not reach the ACS");
    assert!(outputs
        .iter()
        .any(|o| o.contains("no change") || o.contains("→")));

    // The trace commands, after the phone ran.
    let trace = block(&readme, "trace");
    let latest = run(root.path(), &trace[0]);
    assert!(latest.trim().ends_with(".jsonl"), "{latest}");
    let rows = run(root.path(), &trace[1]);
    assert!(!rows.is_empty());
    for row in rows.lines() {
        let v: serde_json::Value = serde_json::from_str(row).expect("jq row");
        assert!(!v[2].is_null(), "a row with nothing to say: {row}");
    }
    let received = run(root.path(), &trace[2]);
    assert!(received.contains("InformResponse"), "{received}");
}

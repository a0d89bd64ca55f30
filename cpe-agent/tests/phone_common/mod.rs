//! The real `cpe-agent` binary in a temporary directory, shared by the tests that drive it
//! (`acs_compat.rs`, `cloud_deployment.rs`, the TR-064 tests through `tr064_common`): a
//! configuration file, start, stop, the daemon's log and trace, and `admin`.
//! (`e2e.rs` has its own, larger harness.)
#![allow(dead_code)]

use cwmp_testkit::acs::{FakeAcs, SessionLog};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_cpe-agent");
pub const WAIT: Duration = Duration::from_secs(20);

/// One simulated phone: its directory, configuration and (while running) process.
pub struct Phone {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Phone {
    /// A phone with extra top-level keys `top` and `[items]` lines `items`; periodic informs
    /// off, so every session is one the test caused.
    pub fn new(acs_url: &str, top: &str, items: &str) -> Phone {
        Phone::from_config(&format!(
            "{top}\n[items]\nacs-server-address = \"{acs_url}\"\n\
             acs-periodic-inform-enabled = false\nacs-retry-min-wait-interval = 1\n\
             acs-retry-interval-multiplier = 1000\n{items}\n"
        ))
    }

    /// A phone whose configuration is `text` (top-level keys, then `[items]` …) with
    /// `state-dir = "state"` in front.
    pub fn from_config(text: &str) -> Phone {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = format!("state-dir = \"state\"\n{text}");
        std::fs::write(dir.path().join("cpe-agent.toml"), cfg).expect("config");
        Phone { dir, child: None }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("cpe-agent.toml")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("agent.log"))
            .expect("log");
        let child = Command::new(BIN)
            .arg("--config")
            .arg(self.config())
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn cpe-agent");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        while !self.state().join("control.sock").exists() {
            assert!(
                Instant::now() < deadline,
                "agent did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.log")).unwrap_or_default()
    }

    /// Every trace file's text (boot and session files).
    pub fn trace_text(&self) -> String {
        let mut all = String::new();
        if let Ok(rd) = std::fs::read_dir(self.state().join("trace")) {
            for f in rd.flatten() {
                all.push_str(&std::fs::read_to_string(f.path()).unwrap_or_default());
            }
        }
        all
    }

    /// The address the daemon logged after `prefix` (listeners log where they bound).
    pub fn addr(&self, prefix: &str) -> SocketAddr {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(a) = self
                .log()
                .lines()
                .rev()
                .find_map(|l| l.split(prefix).nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok())
            {
                return a;
            }
            assert!(
                Instant::now() < deadline,
                "no `{prefix}` in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `cpe-agent admin --config … <args>`, whatever its outcome.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .arg("admin")
            .arg("--config")
            .arg(self.config())
            .args(args)
            .output()
            .expect("run cpe-agent admin")
    }

    /// `cpe-agent admin --config … <args>`, stdout on success.
    pub fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "admin {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) {
        let child = self.child.take().expect("running");
        sigterm_and_wait(
            child,
            Duration::from_secs(5),
            &self.dir.path().join("agent.log"),
        );
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn codes(s: &SessionLog) -> Vec<String> {
    s.event_codes()
}

pub fn wait_sessions(acs: &FakeAcs, n: usize, phone: &Phone) {
    assert!(
        acs.wait_for_sessions(n, WAIT),
        "expected {n} sessions, got {}: {:?}\n{}",
        acs.sessions_ended(),
        acs.sessions().iter().map(codes).collect::<Vec<_>>(),
        phone.log()
    );
}

/// SIGTERM `child` and wait up to `limit` for a successful exit; the log file at `log`
/// explains a failure.
pub fn sigterm_and_wait(mut child: Child, limit: Duration, log: &std::path::Path) {
    let log = || std::fs::read_to_string(log).unwrap_or_default();
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            assert!(st.success(), "{st:?}: {}", log());
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no exit within {limit:?} of SIGTERM: {}", log());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

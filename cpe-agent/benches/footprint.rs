//! The daemon's footprint: the real (release) binary runs against the fake ACS on loopback
//! with periodic informs only, and this reports its resident memory and the CPU time it used.
//!
//! ```text
//! cargo bench -p cpe-agent --bench footprint
//! FOOTPRINT_SECS=600 FOOTPRINT_INTERVAL=60 cargo bench -p cpe-agent --bench footprint
//! ```
//!
//! * `FOOTPRINT_SECS` (default 120): the measured window, after the boot session.
//! * `FOOTPRINT_INTERVAL` (default 10): `acs-periodic-inform-interval`, seconds.
//!
//! CPU is `utime + stime` from `/proc/<pid>/stat` over the window (clock ticks converted with
//! the usual 100 Hz `USER_HZ`); the hourly figure scales the window to one hour at the same
//! inform interval, an upper bound for the phone's default of one inform per hour. RSS is
//! `VmRSS` from `/proc/<pid>/status` at the end (and its peak, `VmHWM`). Linux only.

use cwmp_testkit::acs::FakeAcs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// utime + stime in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !std::path::Path::new("/proc/self/stat").exists() {
        eprintln!("footprint: needs Linux /proc; skipped");
        return;
    }
    let secs = env_u64("FOOTPRINT_SECS", 120);
    let interval = env_u64("FOOTPRINT_INTERVAL", 10);
    let acs = FakeAcs::builder().start().expect("fake ACS");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cpe-agent.toml");
    std::fs::write(
        &cfg,
        format!(
            "state-dir = \"state\"\nconnection-request-address = \"127.0.0.1:0\"\n\
             udp-address = \"127.0.0.1:0\"\n[items]\nacs-server-address = \"{}\"\n\
             acs-periodic-inform-interval = {interval}\n",
            acs.url()
        ),
    )
    .expect("config");
    let bin = env!("CARGO_BIN_EXE_cpe-agent");
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(&cfg)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cpe-agent");
    let pid = child.id();
    assert!(
        acs.wait_for_sessions(1, Duration::from_secs(20)),
        "no boot session"
    );
    let t0 = Instant::now();
    let c0 = cpu_ticks(pid).expect("cpu");
    let s0 = acs.sessions_ended();
    std::thread::sleep(Duration::from_secs(secs));
    let c1 = cpu_ticks(pid).expect("cpu");
    let elapsed = t0.elapsed().as_secs_f64();
    let sessions = acs.sessions_ended() - s0;
    let rss = status_kib(pid, "VmRSS:").unwrap_or(0);
    let hwm = status_kib(pid, "VmHWM:").unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    let cpu_s = (c1 - c0) as f64 / 100.0;
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0);
    println!("binary (as built, not stripped): {bin} {size} bytes");
    println!("window: {elapsed:.0} s, periodic interval {interval} s, {sessions} sessions");
    println!("CPU in the window: {cpu_s:.2} s");
    println!(
        "CPU per hour at this interval: {:.2} s",
        cpu_s * 3600.0 / elapsed
    );
    println!("RSS at the end: {rss} KiB (peak {hwm} KiB)");
}

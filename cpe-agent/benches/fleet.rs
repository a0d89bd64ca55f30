//! `cpe-agent fleet` under load: the real (release) binary against the fake ACS running in a
//! SEPARATE process (this bench binary re-executed with `--fake-acs`), on loopback, so the
//! CPU and memory figures are the fleet's own.
//!
//! ```text
//! cargo bench -p cpe-agent --bench fleet                      # everything
//! FLEET_BENCH=idle cargo bench -p cpe-agent --bench fleet     # idle memory: 1k, 10k, 100k
//! FLEET_BENCH=cpu cargo bench -p cpe-agent --bench fleet      # CPU per session, throughput
//! FLEET_BENCH=storm cargo bench -p cpe-agent --bench fleet    # 10k boot storm, slow ACS
//! FLEET_SIZES=1000,10000 FLEET_BENCH=idle cargo bench -p cpe-agent --bench fleet
//! ```
//!
//! * **idle**: N phones boot (boot-rate N, max-sessions 256) against a fast ACS, periodic
//!   informs every hour spread over the hour; once every phone has had its boot session and
//!   nothing is in flight, `VmRSS` of the fleet process is read from `/proc/<pid>/status`;
//!   the same for a fleet of 1 phone gives the empty process. Then the fleet's CPU over 10 s
//!   of idling is the timer cost.
//! * **cpu**: 1,000 phones inform every 5 s (jitter 5 s: 200 sessions/s offered); each session
//!   is Inform + GetParameterValues `Device.` (the whole tree) + SetParameterValues + end.
//!   CPU = utime + stime of the fleet process over a 20 s window / sessions completed in it.
//!   **throughput**: the same with every phone informing every second (2,000 phones: 2,000
//!   sessions/s offered): sessions/s completed.
//! * **storm**: 10,000 phones, boot-rate 10,000, max-sessions 256, every ACS response delayed
//!   50 ms: time until every phone has bootstrapped, failures (each failure is a retry later),
//!   the fleet's most sessions in flight and the ACS's most connections at once.

use cwmp_soap::{Body, GetParameterValues, ParameterValueStruct, SetParameterValues};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cpe-agent");

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--fake-acs") {
        fake_acs(&args[i + 1], args[i + 2].parse().unwrap_or(0));
        return;
    }
    let which = std::env::var("FLEET_BENCH").unwrap_or_else(|_| "all".into());
    if which == "all" || which == "idle" {
        idle();
    }
    if which == "all" || which == "cpu" {
        cpu();
    }
    if which == "all" || which == "storm" {
        storm();
    }
}

/// The fake ACS process: prints its URL, then answers `stats` lines on stdin with a JSON
/// line; exits at EOF.
fn fake_acs(mode: &str, delay_ms: u64) {
    let max_connections: usize = std::env::var("FAKE_ACS_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8192);
    let mut script = CwmpScript::new();
    if mode == "gpv-spv" {
        script = script.every_session([
            AcsMessage::Request(Body::GetParameterValues(GetParameterValues {
                parameter_names: vec!["Device.".into()],
            })),
            AcsMessage::Request(Body::SetParameterValues(SetParameterValues {
                parameter_list: vec![ParameterValueStruct::new(
                    "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegisterExpires",
                    "600",
                    cwmp_model::XsdType::UnsignedInt,
                )],
                parameter_key: "bench".into(),
            })),
        ]);
    }
    let acs = FakeAcs::builder()
        .max_connections(max_connections)
        .history_limit(20_000)
        .response_delay(Duration::from_millis(delay_ms))
        .cwmp(script)
        .start()
        .expect("fake ACS");
    println!("{}", acs.url());
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "stats" {
            let sessions = acs.sessions();
            let serials: std::collections::BTreeSet<String> = sessions
                .iter()
                .map(|s| s.inform.device_id.serial_number.clone())
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "sessions_ended": acs.sessions_ended(),
                    "distinct_serials_in_history": serials.len(),
                    "peak_connections": acs.peak_connections(),
                    "connections": acs.connections(),
                })
            );
        }
    }
}

struct Acs {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    url: String,
}

impl Acs {
    fn start(mode: &str, delay_ms: u64) -> Acs {
        Acs::start_limited(mode, delay_ms, 8192)
    }

    fn start_limited(mode: &str, delay_ms: u64, max_connections: usize) -> Acs {
        let mut child = Command::new(std::env::current_exe().expect("exe"))
            .args(["--fake-acs", mode, &delay_ms.to_string()])
            .env("FAKE_ACS_MAX_CONNECTIONS", max_connections.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn fake ACS");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut url = String::new();
        stdout.read_line(&mut url).expect("url");
        Acs {
            child,
            stdin,
            stdout,
            url: url.trim().to_owned(),
        }
    }

    fn stats(&mut self) -> serde_json::Value {
        writeln!(self.stdin, "stats").expect("ask");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("stats");
        serde_json::from_str(&line).expect("json")
    }
}

impl Drop for Acs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running fleet and its progress lines.
struct Fleet {
    child: Child,
    lines: mpsc::Receiver<(Instant, String)>,
    dir: tempfile::TempDir,
}

/// Numbers of a progress line: (booted, ok, in flight, failures).
fn parse_progress(line: &str) -> Option<(u64, u64, u64, u64)> {
    let rest = line.strip_prefix("fleet: ")?;
    let booted: u64 = rest.split('/').next()?.trim().parse().ok()?;
    let num_before = |word: &str| -> Option<u64> {
        let i = rest.find(word)?;
        rest[..i].split_whitespace().last()?.parse().ok()
    };
    let ok = num_before(" ok")?;
    let in_flight = num_before(" in flight")?;
    let failures = rest
        .split("failures: ")
        .nth(1)
        .map(|f| {
            f.split(", ")
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Some((booted, ok, in_flight, failures))
}

impl Fleet {
    fn start(acs: &str, fleet: &str, items: &str) -> Fleet {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = format!(
            "state-dir = \"state\"\n[items]\nacs-server-address = \"{acs}\"\n{items}\n[fleet]\n{fleet}\n"
        );
        std::fs::write(dir.path().join("fleet.toml"), cfg).expect("config");
        let mut child = Command::new(BIN)
            .arg("fleet")
            .arg("--config")
            .arg(dir.path().join("fleet.toml"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fleet");
        let err = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { return };
                if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        Fleet {
            child,
            lines: rx,
            dir,
        }
    }

    /// Wait for a progress line satisfying `f`; returns it and its numbers.
    fn until(&self, f: impl Fn(u64, u64, u64) -> bool) -> (Instant, (u64, u64, u64, u64)) {
        loop {
            let (t, line) = self
                .lines
                .recv_timeout(Duration::from_secs(900))
                .expect("fleet progress");
            if let Some(p) = parse_progress(&line) {
                if f(p.0, p.1, p.2) {
                    return (t, p);
                }
            }
        }
    }

    fn next_progress(&self) -> (Instant, (u64, u64, u64, u64)) {
        self.until(|_, _, _| true)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) -> serde_json::Value {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(self.dir.path().join("state/fleet-summary.json"))
            .unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }
}

/// utime + stime in seconds (USER_HZ 100).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|r| r.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

const HOURLY: &str = "acs-periodic-inform-interval = 3600";

/// Boot `n` phones, wait until idle; (RSS KiB, idle CPU seconds over 10 s, boot seconds).
fn booted_idle(acs: &str, n: u64) -> (u64, f64, f64) {
    let fleet = Fleet::start(
        acs,
        &format!("count = {n}\nboot-rate = {n}\nmax-sessions = 256\ninform-jitter = 3600"),
        HOURLY,
    );
    let t0 = Instant::now();
    let (t, _) = fleet.until(|b, ok, inf| b == n && ok >= n && inf == 0);
    let boot = t.duration_since(t0).as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    let rss = rss_kib(fleet.pid());
    let c0 = cpu_seconds(fleet.pid());
    std::thread::sleep(Duration::from_secs(10));
    let idle_cpu = cpu_seconds(fleet.pid()) - c0;
    fleet.stop();
    (rss, idle_cpu, boot)
}

fn idle() {
    let sizes: Vec<u64> = std::env::var("FLEET_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let acs = Acs::start("empty", 0);
    let (base, _, _) = booted_idle(&acs.url, 1);
    println!("idle: empty process (1 phone): VmRSS {base} KiB");
    for n in sizes {
        let (rss, cpu, boot) = booted_idle(&acs.url, n);
        let per = (rss.saturating_sub(base)) as f64 * 1024.0 / (n - 1) as f64;
        println!(
            "idle: {n} phones: VmRSS {rss} KiB, {:.1} KiB per phone above the empty process; \
             boot of all {:.1} s; idle CPU {:.3} s over 10 s ({:.2}% of one core)",
            per / 1024.0,
            boot,
            cpu,
            cpu * 10.0
        );
    }
}

/// Sessions/s and CPU µs per session over a 20 s window with `n` phones informing every
/// `interval` seconds.
fn session_load(acs: &mut Acs, n: u64, interval: u64) {
    let fleet = Fleet::start(
        &acs.url,
        &format!("count = {n}\nboot-rate = {n}\nmax-sessions = 64\ninform-jitter = {interval}"),
        &format!("acs-periodic-inform-interval = {interval}"),
    );
    // Warm-up: everything booted and two progress periods after.
    fleet.until(|b, _, _| b == n);
    fleet.next_progress();
    let (t1, p1) = fleet.next_progress();
    let c1 = cpu_seconds(fleet.pid());
    let a1 = acs.stats()["sessions_ended"].as_u64().unwrap_or(0);
    let (mut t2, mut p2) = (t1, p1);
    for _ in 0..4 {
        (t2, p2) = fleet.next_progress();
    }
    let c2 = cpu_seconds(fleet.pid());
    let a2 = acs.stats()["sessions_ended"].as_u64().unwrap_or(0);
    let secs = t2.duration_since(t1).as_secs_f64();
    let sessions = p2.1 - p1.1;
    let summary = fleet.stop();
    println!(
        "load: {n} phones informing every {interval} s: {:.0} sessions/s completed \
         ({} ACS-side), CPU {:.0} µs per session (fleet process, {:.2} cores), \
         failures {}; latency ms p50 {} p90 {} p99 {} max {}",
        sessions as f64 / secs,
        a2 - a1,
        (c2 - c1) * 1e6 / sessions.max(1) as f64,
        (c2 - c1) / secs,
        p2.3,
        summary["latency_ms"]["p50"],
        summary["latency_ms"]["p90"],
        summary["latency_ms"]["p99"],
        summary["latency_ms"]["max"],
    );
}

fn cpu() {
    let mut acs = Acs::start("gpv-spv", 0);
    session_load(&mut acs, 1_000, 5);
    session_load(&mut acs, 2_000, 1);
}

fn storm() {
    storm_with(8192);
    // An ACS that turns connections away: sessions fail and are retried by each phone's
    // engine; the summary checks every retry against its TR-069 window.
    storm_with(64);
}

fn storm_with(acs_max_connections: usize) {
    let mut acs = Acs::start_limited("empty", 50, acs_max_connections);
    let n = 10_000u64;
    let fleet = Fleet::start(
        &acs.url,
        &format!("count = {n}\nboot-rate = {n}\nmax-sessions = 256\ninform-jitter = 3600"),
        &format!("{HOURLY}\nacs-retry-min-wait-interval = 5\nacs-retry-interval-multiplier = 2000"),
    );
    let t0 = Instant::now();
    let (t, p) = fleet.until(|b, ok, _| b == n && ok >= n);
    let secs = t.duration_since(t0).as_secs_f64();
    let stats = acs.stats();
    let summary = fleet.stop();
    println!(
        "storm: {n} phones, ACS 50 ms per response and at most {acs_max_connections} \
         connections, max-sessions 256: all bootstrapped within {secs:.1} s (progress \
         resolution 5 s); failed sessions {}; retries {}; fleet's most sessions in flight {}; \
         ACS's most connections at once {}; ACS sessions ended {}; latency ms p50 {} p99 {} \
         max {}",
        p.3,
        summary["retries"],
        summary["max_sessions_in_flight"],
        stats["peak_connections"],
        stats["sessions_ended"],
        summary["latency_ms"]["p50"],
        summary["latency_ms"]["p99"],
        summary["latency_ms"]["max"],
    );
}

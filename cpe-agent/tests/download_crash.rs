//! Crash safety of downloads: the phone (`Client` + `OcmsStore` + `cpe_agent::transfer`, the
//! engine state persisted to a file) runs in a child process (this test binary re-executed)
//! and is killed with SIGKILL at random moments during the download, the install, the reboot
//! and the reporting session, many times. After every restart the phone runs the old or the
//! new firmware, never anything else, and in the end the ACS has exactly one TransferComplete
//! per Download, whose FaultCode is 0 exactly when the new version runs.
//!
//! This is the library-level crash test: it exercises the same `transfer` module the daemon
//! calls, with the same state-directory files, but not the daemon binary itself.

mod download_common;

use cpe_agent::transfer::FIRMWARE;
use cwmp_soap::Body;
use cwmp_testkit::acs::{check_transfer_complete_delivery, AcsMessage, CwmpScript, FakeAcs};
use download_common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_DIR: &str = "DL_CRASH_CHILD_DIR";
const CHILD_ACS: &str = "DL_CRASH_CHILD_ACS";

/// The phone in the child process: boot, and boot again after every reboot, until killed.
#[test]
fn crash_child() {
    let (Ok(dir), Ok(url)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ACS)) else {
        return; // run as a normal test: nothing to do
    };
    loop {
        let r = boot_url(
            Path::new(&dir),
            &url,
            &[],
            None,
            &[],
            Duration::from_secs(120),
            || false,
        );
        if !r.rebooted {
            return;
        }
    }
}

fn spawn_child(dir: &Path, acs_url: &str) -> Child {
    Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_ACS, acs_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child")
}

fn download_response_seen(acs: &FakeAcs, session_index: usize) -> bool {
    acs.sessions().get(session_index..).is_some_and(|ss| {
        ss.iter().any(|s| {
            s.received
                .iter()
                .flatten()
                .any(|e| matches!(e.body, Body::DownloadResponse(_)))
        })
    })
}

/// A small deterministic RNG (xorshift), seeded from the clock and printed for reproduction.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn sigkill_at_random_moments_never_loses_or_duplicates_a_transfer_complete() {
    let seed = std::env::var("DL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    println!("crash test seed {seed} (set DL_CRASH_SEED to repeat)");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().expect("tmp");
    let dir: PathBuf = tmp.path().to_path_buf();
    let files = slow_file_server();
    let acs = FakeAcs::builder().start().expect("acs");
    let rounds = 6;
    let mut kills = 0;
    let mut running = OLD_VERSION.to_string();
    for round in 0..rounds {
        let key = format!("fw-{round}");
        let version = format!("V9.{round}");
        let start_sessions = acs.sessions().len();
        acs.push_script(
            CwmpScript::new().session([AcsMessage::Request(Body::Download(download_rpc(
                &key,
                FIRMWARE,
                &format!("{files}/fw/{version}.img"),
            )))]),
        );
        // One to three kills at random moments after the ACS got its DownloadResponse.
        let n_kills = 1 + rng.next(3);
        for _ in 0..n_kills {
            let mut child = spawn_child(&dir, acs.url());
            let t0 = Instant::now();
            while !download_response_seen(&acs, start_sessions)
                && t0.elapsed() < Duration::from_secs(20)
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(Duration::from_millis(rng.next(1200)));
            child.kill().expect("SIGKILL");
            let _ = child.wait();
            kills += 1;
            // After each kill the phone boots the old or the new version, nothing else.
            let now = active_version(&dir);
            assert!(
                now == running || now == version,
                "round {round}: active {now:?}, expected {running:?} or {version:?}"
            );
            // At-least-once: a copy the phone died before processing may be re-sent, one it
            // processed never is, and every copy carries the same result.
            check_transfer_complete_delivery(&acs.transfer_completes_for(&key))
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        // Then let the phone run until the result is delivered.
        let mut child = spawn_child(&dir, acs.url());
        let t0 = Instant::now();
        while !(delivered(&acs, &key).is_some() && acs.sessions().last().is_some_and(|s| s.ended))
            && t0.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        // A little longer, so that a duplicate would show.
        std::thread::sleep(Duration::from_millis(300));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let tc = delivered(&acs, &key)
            .unwrap_or_else(|| panic!("round {round}: no acknowledged TransferComplete"));
        let tcs = [tc];
        let now = active_version(&dir);
        let code = tcs[0].fault_struct.fault_code;
        if code == 0 {
            assert_eq!(
                now, version,
                "round {round}: success reported, new version runs"
            );
        } else {
            assert_eq!(
                now, running,
                "round {round}: failure {code} reported, old version runs"
            );
            assert!(
                tcs[0].fault_struct.fault_string.contains("interrupted"),
                "{:?}",
                tcs[0].fault_struct
            );
        }
        println!("round {round}: {n_kills} kills, fault {code}, running {now}");
        running = now;
    }
    // Over all rounds: TransferCompletes for exactly the Downloads made, none for anything
    // else (each key's copies were checked against the delivery rule above).
    let keys: std::collections::BTreeSet<String> = transfer_completes(&acs)
        .into_iter()
        .map(|t| t.command_key)
        .collect();
    assert_eq!(keys.len(), rounds, "{keys:?}");
    println!("{kills} kills in {rounds} rounds");
}

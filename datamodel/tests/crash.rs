//! Crash safety of the file backend: a child process (this test binary, re-executed in
//! "writer" mode) commits two complete configurations alternately, as fast as it can; the
//! parent kills it with SIGKILL at random moments. After every kill the backend must open and
//! hold exactly one of the two configurations, never a mix, never an error.

use cwmp_model::{ItemBackend, ItemBatch};
use deskphone_datamodel::FileBackend;
use rand::Rng;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child: the state directory to write to.
const WRITER_DIR_ENV: &str = "DESKPHONE_CRASH_WRITER_DIR";
/// What the child prints once its first commit is durable.
const READY: &str = "CRASH-WRITER-READY";
const KILLS: usize = 60;
const ITEMS: usize = 48;

/// Configuration `which` (0 or 1): every item differs between the two, and a few values are
/// large (PEM-sized) so that a commit takes long enough to be interrupted half-way.
fn config(which: u8) -> BTreeMap<String, String> {
    (0..ITEMS)
        .map(|i| {
            let size = if i % 12 == 0 { 16 * 1024 } else { 16 + i };
            let fill: String = std::iter::repeat_n(char::from(b'a' + which), size).collect();
            (format!("item-{i:02}"), format!("config-{which}-{i}-{fill}"))
        })
        .chain([("cwmp:parameter-key".to_owned(), format!("key-{which}"))])
        .collect()
}

fn batch(which: u8) -> ItemBatch {
    config(which)
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect()
}

fn contents(b: &FileBackend) -> BTreeMap<String, String> {
    b.keys()
        .into_iter()
        .map(|k| {
            let v = b.get(&k).unwrap_or_default();
            (k, v)
        })
        .collect()
}

/// The child: run only when the parent re-executes this binary with `--ignored`.
#[test]
#[ignore = "the writer process of kill_writer_at_random_moments; run by it"]
fn crash_writer_child() {
    let Some(dir) = std::env::var_os(WRITER_DIR_ENV) else {
        return;
    };
    let mut b = FileBackend::open(&dir).expect("child: open");
    let mut which: u8 = if b.get("cwmp:parameter-key").as_deref() == Some("key-0") {
        1
    } else {
        0
    };
    let mut first = true;
    loop {
        b.commit(batch(which)).expect("child: commit");
        if first {
            println!("{READY}");
            first = false;
        }
        which = 1 - which;
    }
}

#[test]
fn kill_writer_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (config(0), config(1));
    FileBackend::open(dir.path())
        .unwrap()
        .commit(batch(0))
        .unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rng();
    let started = Instant::now();
    let (mut seen_a, mut seen_b, mut leftover_temp) = (0, 0, 0);
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "crash_writer_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the writer is committing (libtest prints READY after its own
        // "test crash_writer_child ... " on the same line), then let it run a random while.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let ready = BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .any(|l| l.contains(READY));
            let _ = tx.send(ready);
        });
        if rx.recv_timeout(Duration::from_secs(30)) != Ok(true) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("round {round}: the writer never became ready");
        }
        std::thread::sleep(Duration::from_micros(rng.random_range(0..15_000)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();

        if dir.path().join(FileBackend::TEMP_FILE_NAME).exists() {
            leftover_temp += 1;
        }
        let backend = FileBackend::open(dir.path())
            .unwrap_or_else(|e| panic!("round {round}: open after SIGKILL failed: {e}"));
        assert!(!dir.path().join(FileBackend::TEMP_FILE_NAME).exists());
        let got = contents(&backend);
        if got == a {
            seen_a += 1;
        } else if got == b {
            seen_b += 1;
        } else {
            panic!("round {round}: the store holds a mix of the two configurations");
        }
    }
    println!(
        "{KILLS} kills in {:?}: configuration A {seen_a} times, B {seen_b} times, \
         {leftover_temp} kills interrupted a commit (temp file left)",
        started.elapsed()
    );
    assert_eq!(seen_a + seen_b, KILLS);
    assert!(
        seen_a > 0 && seen_b > 0,
        "kills always landed on the same configuration"
    );
}

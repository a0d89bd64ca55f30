//! A phone in-process for the download tests: the real `Client` with the phone's `OcmsStore`
//! in a state directory, `cpe_agent::transfer` for downloads, the engine state persisted to a
//! file, against the testkit's fake ACS and a loopback file server. One [`boot`] is one run of
//! the phone until a condition holds, a reboot, or a deadline.
#![allow(dead_code)]

use cpe_agent::firmware::build_image;
use cpe_agent::transfer::{self, TransferEnv};
use cwmp_client::{Client, ClientConfig, ClientHandle, Device, Exit, TlsSettings, TransportConfig};
use cwmp_engine::{BootReason, DownloadRequest, PersistentState};
use cwmp_model::{ParameterStore, Value};
use cwmp_soap::{Body, Download, TransferComplete};
use cwmp_testkit::acs::{check_transfer_complete_delivery, FakeAcs};
use deskphone_datamodel::{apply_items, open_phone, DeskPhoneModel};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MODEL: &str = "OpenScape Desk Phone CP600";
pub const MAC: &str = "00:1A:E8:A1:B2:C3";
pub const OLD_VERSION: &str = "V1R9.5.0";
pub const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The engine state file of the test phone.
fn state_file(dir: &Path) -> PathBuf {
    dir.join("cwmp-state.json")
}

pub fn load_state(dir: &Path) -> PersistentState {
    std::fs::read(state_file(dir))
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default()
}

fn save_state(dir: &Path, s: &PersistentState) -> std::io::Result<()> {
    let data = serde_json::to_vec(s).map_err(std::io::Error::other)?;
    cwmp_model::atomic::write_atomic(&state_file(dir), &data, 0o600)
}

struct TestPhone {
    dir: PathBuf,
    config_key: Option<String>,
    rebooted: Arc<AtomicBool>,
}

impl<S: ParameterStore> Device<S> for TestPhone {
    fn persist(&mut self, state: &PersistentState) -> std::io::Result<()> {
        save_state(&self.dir, state)
    }

    fn download(&mut self, request: DownloadRequest, handle: &ClientHandle) {
        let rebooted = self.rebooted.clone();
        let h = handle.clone();
        transfer::start(
            TransferEnv {
                state_dir: self.dir.clone(),
                handle: handle.clone(),
                tls: TlsSettings::new(),
                device_type: MODEL.into(),
                mac_address: MAC.into(),
                config_key: self.config_key.clone().map(cwmp_model::Secret::from),
                reboot: Box::new(move || {
                    rebooted.store(true, Ordering::SeqCst);
                    h.shutdown();
                }),
            },
            request,
        );
    }
}

/// How one boot ended.
pub struct BootResult {
    pub rebooted: bool,
    /// `standard-software-version` (via `Device.DeviceInfo.SoftwareVersion`) at the end.
    pub software_version: String,
    /// The store's values of these items at the end.
    pub items: Vec<(String, String)>,
}

/// Boot the phone in `dir` against `acs`, with extra items set before the client runs, until
/// `done(acs)` holds, the phone reboots, or `deadline` passes.
pub fn boot(
    dir: &Path,
    acs: &Arc<FakeAcs>,
    extra_items: &[(&str, &str)],
    config_key: Option<&str>,
    watch_items: &[&str],
    deadline: Duration,
    done: impl Fn(&FakeAcs) -> bool + Send + 'static,
) -> BootResult {
    let a = acs.clone();
    boot_url(
        dir,
        acs.url(),
        extra_items,
        config_key,
        watch_items,
        deadline,
        move || done(&a),
    )
}

/// [`boot`] against an ACS given by its URL (e.g. in a child process).
pub fn boot_url(
    dir: &Path,
    acs_url: &str,
    extra_items: &[(&str, &str)],
    config_key: Option<&str>,
    watch_items: &[&str],
    deadline: Duration,
    done: impl Fn() -> bool + Send + 'static,
) -> BootResult {
    let recovery = transfer::recover(dir).expect("recover");
    let model = DeskPhoneModel::builtin();
    let (mut store, _status) = open_phone(dir.join("store"), &model, None).expect("store");
    let mut items: Vec<(String, String)> = vec![
        ("acs-server-address".into(), acs_url.to_string()),
        ("acs-periodic-inform-enabled".into(), "false".into()),
    ];
    if let Some(v) = &recovery.software_version {
        items.push(("standard-software-version".into(), v.clone()));
    }
    for (k, v) in extra_items {
        items.push(((*k).into(), (*v).into()));
    }
    apply_items(&mut store, &model, &items).expect("items");
    let config = ClientConfig {
        transport: TransportConfig {
            response_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            ..TransportConfig::default()
        },
        ..ClientConfig::default()
    };
    let mut state = load_state(dir);
    recovery.settle(&mut state);
    let mut client = Client::new(config, state, BootReason::PowerOn, 7).expect("client");
    let handle = client.handle();
    let rebooted = Arc::new(AtomicBool::new(false));
    let mut phone = TestPhone {
        dir: dir.to_path_buf(),
        config_key: config_key.map(str::to_string),
        rebooted: rebooted.clone(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let h2 = handle.clone();
    let watcher = std::thread::spawn(move || {
        let t0 = Instant::now();
        while !stop2.load(Ordering::SeqCst) {
            if done() || t0.elapsed() > deadline {
                // Let the session finish cleanly before stopping.
                std::thread::sleep(Duration::from_millis(100));
                h2.shutdown();
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    });
    let exit = client.run(&mut store, &mut phone).expect("run");
    stop.store(true, Ordering::SeqCst);
    let _ = watcher.join();
    assert_eq!(exit, Exit::Shutdown);
    let software_version = match store.internal_value("Device.DeviceInfo.SoftwareVersion") {
        Some(Value::String(s)) => s,
        other => format!("{other:?}"),
    };
    let items = watch_items
        .iter()
        .map(|n| {
            (
                (*n).to_string(),
                model.item_value(store.backend(), n).unwrap_or_default(),
            )
        })
        .collect();
    BootResult {
        rebooted: rebooted.load(Ordering::SeqCst),
        software_version,
        items,
    }
}

/// Every TransferComplete the ACS received, in order.
pub fn transfer_completes(acs: &FakeAcs) -> Vec<TransferComplete> {
    let mut out = Vec::new();
    for s in acs.sessions() {
        for env in s.received.iter().flatten() {
            if let Body::TransferComplete(tc) = &env.body {
                out.push(tc.clone());
            }
        }
    }
    out
}

/// TransferCompletes for this CommandKey.
pub fn completes_for(acs: &FakeAcs, key: &str) -> Vec<TransferComplete> {
    transfer_completes(acs)
        .into_iter()
        .filter(|t| t.command_key == key)
        .collect()
}

/// Event codes of every session's Inform.
pub fn inform_events(acs: &FakeAcs) -> Vec<Vec<(String, String)>> {
    acs.sessions()
        .iter()
        .map(|s| {
            s.inform
                .event
                .iter()
                .map(|e| (e.event_code.clone(), e.command_key.clone()))
                .collect()
        })
        .collect()
}

pub fn download_rpc(key: &str, file_type: &str, url: &str) -> Download {
    Download::new(key, file_type, url)
}

pub fn image_for(version: &str) -> Vec<u8> {
    let payload: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    build_image(MODEL, version, &payload)
}

/// A file server that sends `/fw/<version>.img` slowly (32 KiB every 3 ms), so that kills
/// land inside the download too.
pub fn slow_file_server() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut s) = c else { return };
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().expect("clone"));
                let mut first = String::new();
                let _ = r.read_line(&mut first);
                let mut line = String::new();
                while r.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                let path = first.split_whitespace().nth(1).unwrap_or("");
                let Some(version) = path
                    .strip_prefix("/fw/")
                    .and_then(|p| p.strip_suffix(".img"))
                else {
                    let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                    return;
                };
                let body = image_for(version);
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                for chunk in body.chunks(32 * 1024) {
                    if s.write_all(chunk).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(3));
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// The version the phone boots: the active firmware pointer, or the factory version.
pub fn active_version(dir: &Path) -> String {
    std::fs::read(dir.join("transfer/firmware/active"))
        .ok()
        .and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok())
        .and_then(|v| {
            v.get("version")
                .and_then(|s| s.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| OLD_VERSION.to_string())
}

/// The TransferComplete for `key` that the phone sent and demonstrably processed the
/// acknowledgement of, after checking the delivery rule over every copy the ACS received.
pub fn delivered(acs: &FakeAcs, key: &str) -> Option<cwmp_soap::TransferComplete> {
    let seen = acs.transfer_completes_for(key);
    check_transfer_complete_delivery(&seen)
        .unwrap_or_else(|e| panic!("{e}"))
        .cloned()
}

//! Downloads end to end (TR-069 Annex A.3.2.8, Annex A.3.3.2): fetch, verify, install or apply, report the
//! TransferComplete exactly once, and survive a crash (`kill -9`) at any moment.
//!
//! # The journal
//!
//! `<state_dir>/transfer/journal.json` holds one entry per transfer, replaced atomically
//! (temp file, fsync, rename, fsync of the directory) at every phase change:
//!
//! ```text
//!  accepted ─► downloading ─► installing ─► done ───────┐
//!      │            │              │                     ├─► reported
//!      └────────────┴──────────────┴─────► failed ───────┘
//! ```
//!
//! # Exactly once
//!
//! The engine's persisted state is the truth about delivery: it keeps a handed-out transfer
//! (`InProgress`) until it receives our result, and it replaces the transfer by the result in
//! one persisted state, which it then keeps until the ACS acknowledges the TransferComplete.
//! After a restart it hands every transfer it still holds out again with `resumed = true`.
//!
//! At start-up, [`recover`] settles the journal and [`Recovery::settle`] moves the result of
//! every finished transfer the engine state still holds into that state
//! ([`cwmp_engine::PersistentState::complete_transfer`]) before the client is built, so the
//! first Inform after the boot carries `1 BOOT`, `7 TRANSFER COMPLETE` and `M Download`
//! together. If the phone dies before the engine persists that state, the next boot does the
//! same again: the result is recorded once. What `settle` did not cover reaches [`start`] as
//! a `resumed` request, which decides from the journal alone:
//!
//! * a finished entry (done or failed) is reported, and marked `reported`; the report is
//!   repeated only when the engine asks again with `resumed` (it never got the first one);
//! * an entry that was still working when the phone stopped was marked failed by [`recover`]
//!   ("interrupted by a restart"; for a firmware install, done if the new image had already
//!   become the active one) and is then reported like any other;
//! * a `reported` entry met by a request that is not `resumed` is an ACS reusing its
//!   CommandKey: a new transfer;
//! * no entry: a new transfer (also when `resumed`: the phone stopped before it began).
//!
//! A firmware image is never reported before the reboot: its entry is `done`, the phone
//! reboots, the engine hands the transfer out again, and the report goes out in the first
//! session after the boot (`1 BOOT`, `7 TRANSFER COMPLETE`, `M Download`).
//!
//! # Installing firmware atomically
//!
//! The image is verified while it streams in ([`ImageVerifier`]), renamed to
//! `transfer/firmware/<id>.img`, and then becomes the running version when the pointer file
//! `transfer/firmware/active` is replaced by rename. A crash before that rename leaves the old
//! pointer, so the old version boots; [`recover`] returns the active version, which the
//! daemon writes to the `standard-software-version` item at start-up.
//!
//! # Vendor configuration files and crashes
//!
//! The items are committed by the store in one atomic write; the journal is updated after
//! it. A crash between the two is reported as 9010 "interrupted by a restart while applying"
//! although the items were applied (the journal cannot tell, and the store and the journal
//! are two files). Re-sending the file is harmless: applying the same items again changes
//! nothing.
//!
//! # Fault codes (besides the file server's, see [`cwmp_client::download`])
//!
//! | Refusal | Code |
//! |---|---|
//! | firmware header malformed, truncated image, payload SHA-256 mismatch | 9018 file corrupted |
//! | firmware image for another model | 9010, FaultString names both models |
//! | configuration file not decryptable (wrong key, not encrypted), not UTF-8 TOML of flat items | 9018 file corrupted |
//! | configuration item unknown or value invalid (nothing applied) | 9010, FaultString lists the items and why: the file arrived intact, its content is what the operator must fix |
//! | FileType other than 1 and 3 | 9010 "unsupported FileType" (the phone has no web content, tones or ringers to replace) |
//! | phone's configuration key is not 64 hex digits | 9002 internal error |
//! | interrupted by a restart (not installed) | 9010 "interrupted by a restart" |
//!
//! 9019 (file authentication failure) is not used: the image format carries a hash, not a
//! signature, so a hash mismatch is a corrupted file (9018).

use crate::firmware::{ImageError, ImageVerifier};
use crate::vendor_config::{self, ConfigFileError, MAX_CONFIG_FILE};
use cwmp_client::download::{download, DownloadLimits, FetchRequest, TransferFault};
use cwmp_client::{system_wall_clock, ClientHandle, TlsSettings};
use cwmp_engine::DownloadRequest;
use cwmp_model::{DateTime, FaultCode, Secret, SetError};
use deskphone_datamodel::{DeskPhoneModel, OcmsStore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

/// `FileType` of a firmware image.
pub const FIRMWARE: &str = "1 Firmware Upgrade Image";
/// `FileType` of a vendor configuration file.
pub const VENDOR_CONFIG: &str = "3 Vendor Configuration File";
/// The largest firmware image the phone stores.
pub const MAX_FIRMWARE: u64 = 128 * 1024 * 1024;
/// Entries kept in the journal; the oldest reported ones go first.
const MAX_JOURNAL: usize = 32;

/// Everything a transfer needs from the daemon.
pub struct TransferEnv {
    /// The daemon's state directory (the journal and images live under `transfer/`).
    pub state_dir: PathBuf,
    /// The running client: results go through [`ClientHandle::transfer_complete`], items
    /// through [`ClientHandle::with_store_as`].
    pub handle: ClientHandle,
    /// TLS settings for https file servers (the same trust as for the ACS).
    pub tls: TlsSettings,
    /// The phone's `device-type` (firmware images must name it).
    pub device_type: String,
    /// The phone's `mac-address` (for `$mac` in URLs).
    pub mac_address: String,
    /// The configuration encryption key (64 hex digits), if the phone has one.
    pub config_key: Option<Secret>,
    /// Reboot the phone (after a firmware install). It may return; the transfer thread ends.
    pub reboot: Box<dyn Fn() + Send>,
}

impl std::fmt::Debug for TransferEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferEnv")
            .field("state_dir", &self.state_dir)
            .field("device_type", &self.device_type)
            .field("mac_address", &self.mac_address)
            .field("config_key", &self.config_key)
            .finish_non_exhaustive()
    }
}

/// What [`recover`] found at start-up.
///
/// Call [`Recovery::settle`] on the engine state before building the client from it, so that
/// finished transfers are reported in the first session after the boot, with `1 BOOT`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The firmware version now running (set `standard-software-version` to it), or `None`
    /// when no image was ever installed (the configured version stays).
    pub software_version: Option<String>,
    /// CommandKeys of transfers that were cut short by the restart and are now failed (their
    /// TransferComplete goes out when the engine hands them out again).
    pub interrupted: Vec<String>,
    /// CommandKeys of firmware installs that completed with the restart.
    pub installed: Vec<String>,
    /// The latest finished (done or failed) journal entry of every CommandKey.
    finished: Vec<Entry>,
}

impl Recovery {
    /// Hand the results of finished transfers to the engine state before the
    /// [`cwmp_engine::Agent`] is built from it ([`cwmp_engine::PersistentState::complete_transfer`]):
    /// every transfer the engine still holds as in progress whose journal entry is finished.
    /// The engine state is the truth about delivery: it holds the transfer until the result
    /// replaced it in a persisted state, so a result is recorded exactly once even when the
    /// phone crashes before persisting the state this returns. Returns the CommandKeys
    /// settled.
    ///
    /// An entry already reported counts only when it is the same transfer (same `URL` and
    /// `FileType`, started after the engine's due time): an ACS may reuse a CommandKey.
    pub fn settle(&self, state: &mut cwmp_engine::PersistentState) -> Vec<String> {
        let mut done = Vec::new();
        for e in &self.finished {
            let Some(t) = state.transfers.iter().find(|t| {
                t.command_key == e.command_key && t.state == cwmp_engine::TransferState::InProgress
            }) else {
                continue;
            };
            if e.reported && !same_transfer(e, &t.url, &t.file_type, t.due) {
                continue;
            }
            let fault = fault_of(e);
            if state.complete_transfer(
                &e.command_key,
                fault.as_ref(),
                to_datetime(e.start),
                to_datetime(e.complete),
            ) {
                done.push(e.command_key.clone());
            }
        }
        done
    }
}

/// After [`Recovery::settle`] and after the settled engine state was persisted: mark the
/// journal entries of `keys` reported, so that an ACS reusing one of those CommandKeys later
/// gets a new transfer instead of the old result. A crash before this only leaves entries
/// unreported that the engine no longer holds: nothing asks for them again.
pub fn mark_settled(state_dir: &Path, keys: &[String]) -> io::Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let _g = JOURNAL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut j = Journal::load(state_dir)?;
    for k in keys {
        if let Some(e) = j.latest(k) {
            e.reported = true;
        }
    }
    j.save(state_dir)
}

/// Whether journal entry `e` is the transfer the engine describes (see [`Recovery::settle`]).
fn same_transfer(e: &Entry, url: &str, file_type: &str, due: DateTime) -> bool {
    let started_after_due = match (e.start, due.is_unknown()) {
        (Some(s), false) => s + 2 >= due.0.unix_timestamp(),
        _ => true,
    };
    e.url == url && e.file_type == file_type && started_after_due
}

fn fault_of(e: &Entry) -> Option<cwmp_model::Fault> {
    (e.phase == Phase::Failed).then(|| {
        cwmp_model::Fault::with_message(FaultCode::from_code(e.fault_code), e.fault_string.clone())
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Accepted,
    Downloading,
    Installing,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    command_key: String,
    file_type: String,
    /// The Download's URL as the ACS sent it.
    #[serde(default)]
    url: String,
    phase: Phase,
    /// Unix seconds; `None` = unknown time.
    start: Option<i64>,
    complete: Option<i64>,
    fault_code: u32,
    fault_string: String,
    /// Firmware: the version being installed.
    version: Option<String>,
    reported: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Journal {
    entries: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ActivePointer {
    version: String,
    image: String,
}

/// One journal writer at a time in this process (several transfers may run at once).
static JOURNAL_LOCK: Mutex<()> = Mutex::new(());

/// One transfer performed at a time: the phone has one download slot, and a firmware
/// install must not race another transfer's journal entry.
static RUN_LOCK: Mutex<()> = Mutex::new(());

/// Bumped by every [`recover`] (every boot of the daemon, which may reboot without leaving
/// the process): a transfer thread of an earlier boot that is still running must not touch
/// the journal any more, since `recover` has already settled its entry.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Distinguishes the partial files of transfers in this process.
static PART_SEQ: AtomicU64 = AtomicU64::new(0);

fn part_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}.part",
        std::process::id(),
        PART_SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

fn transfer_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("transfer")
}

fn firmware_dir(state_dir: &Path) -> PathBuf {
    transfer_dir(state_dir).join("firmware")
}

/// Write `data` to `path` atomically and durably with the project's one implementation
/// ([`cwmp_model::atomic::write_atomic`]: temp file, fsync, rename, fsync of the directory),
/// creating the directory first. Mode 0600: applied configuration files hold passwords.
fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    cwmp_model::atomic::write_atomic(path, data, 0o600)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Journal {
    fn path(state_dir: &Path) -> PathBuf {
        transfer_dir(state_dir).join("journal.json")
    }

    fn load(state_dir: &Path) -> io::Result<Journal> {
        match fs::read(Journal::path(state_dir)) {
            Ok(data) => serde_json::from_slice(&data).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("transfer journal: {e}"))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Journal::default()),
            Err(e) => Err(e),
        }
    }

    fn save(&mut self, state_dir: &Path) -> io::Result<()> {
        while self.entries.len() > MAX_JOURNAL {
            match self.entries.iter().position(|e| e.reported) {
                Some(i) => {
                    self.entries.remove(i);
                }
                None => {
                    self.entries.remove(0);
                }
            }
        }
        let data = serde_json::to_vec_pretty(self)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        write_atomic(&Journal::path(state_dir), &data)
    }

    fn latest(&mut self, key: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().rev().find(|e| e.command_key == key)
    }
}

/// Change the latest entry of `key` under the journal lock and save; refused for a thread of
/// an earlier boot (`gen` is the generation the transfer started in).
fn update(state_dir: &Path, gen: u64, key: &str, f: impl FnOnce(&mut Entry)) -> io::Result<()> {
    let _g = JOURNAL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if GENERATION.load(Ordering::SeqCst) != gen {
        return Err(io::Error::other(
            "transfer superseded by a restart of the phone",
        ));
    }
    let mut j = Journal::load(state_dir)?;
    if let Some(e) = j.latest(key) {
        f(e);
    }
    j.save(state_dir)
}

fn read_active(state_dir: &Path) -> Option<ActivePointer> {
    let data = fs::read(firmware_dir(state_dir).join("active")).ok()?;
    serde_json::from_slice(&data).ok()
}

fn now_secs() -> Option<i64> {
    let t = system_wall_clock();
    (!t.is_unknown()).then(|| t.0.unix_timestamp())
}

fn to_datetime(secs: Option<i64>) -> DateTime {
    secs.and_then(DateTime::from_unix)
        .unwrap_or(DateTime::UNKNOWN)
}

/// At start-up, before the client runs: settle what a crash left behind. Transfers that were
/// downloading become failed; a firmware install becomes done if its image is the active one
/// and failed otherwise; partial files are removed. Returns the running firmware version.
pub fn recover(state_dir: &Path) -> io::Result<Recovery> {
    let _g = JOURNAL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    GENERATION.fetch_add(1, Ordering::SeqCst);
    let mut j = Journal::load(state_dir)?;
    let active = read_active(state_dir);
    let mut rec = Recovery {
        software_version: active.as_ref().map(|a| a.version.clone()),
        ..Recovery::default()
    };
    let mut changed = false;
    for e in &mut j.entries {
        match e.phase {
            Phase::Accepted | Phase::Downloading => {
                fail(
                    e,
                    FaultCode::FileTransferFailure,
                    "interrupted by a restart",
                );
                rec.interrupted.push(e.command_key.clone());
                changed = true;
            }
            Phase::Installing => {
                let now_active = active.is_some()
                    && active.as_ref().map(|a| Some(&a.version)) == Some(e.version.as_ref());
                if now_active && e.file_type == FIRMWARE {
                    e.phase = Phase::Done;
                    e.complete = now_secs();
                    rec.installed.push(e.command_key.clone());
                } else {
                    let what = if e.file_type == FIRMWARE {
                        "firmware install interrupted by a restart; the previous version runs"
                    } else {
                        "interrupted by a restart while applying"
                    };
                    fail(e, FaultCode::FileTransferFailure, what);
                    rec.interrupted.push(e.command_key.clone());
                }
                changed = true;
            }
            Phase::Done | Phase::Failed => {}
        }
    }
    if changed {
        j.save(state_dir)?;
    }
    for e in j.entries.iter().rev() {
        if matches!(e.phase, Phase::Done | Phase::Failed)
            && !rec.finished.iter().any(|f| f.command_key == e.command_key)
        {
            rec.finished.push(e.clone());
        }
    }
    // Partial files of interrupted transfers (bounded disk).
    for dir in [firmware_dir(state_dir), transfer_dir(state_dir)] {
        if let Ok(rd) = fs::read_dir(&dir) {
            for f in rd.flatten() {
                if f.file_name().to_string_lossy().ends_with(".part") {
                    let _ = fs::remove_file(f.path());
                }
            }
        }
    }
    Ok(rec)
}

/// At boot: verify the firmware image the phone runs (the one the `active` pointer names)
/// again, as a phone's boot loader checks its image. `Ok(None)`: no image was ever installed
/// (the configured version runs); `Err`: the image is missing, unreadable, for another model
/// or corrupt, which the daemon reports as `DeviceStatus` `Error`.
pub fn verify_active_image(state_dir: &Path, model: &str) -> Result<Option<String>, String> {
    let Some(active) = read_active(state_dir) else {
        return Ok(None);
    };
    let path = firmware_dir(state_dir).join(&active.image);
    let mut f = File::open(&path).map_err(|e| {
        format!(
            "firmware image {} of version {}: {e}",
            active.image, active.version
        )
    })?;
    let mut v = ImageVerifier::new(model);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = io::Read::read(&mut f, &mut buf).map_err(|e| {
            format!(
                "firmware image {} of version {}: {e}",
                active.image, active.version
            )
        })?;
        if n == 0 {
            break;
        }
        v.update(&buf[..n])
            .map_err(|e| format!("firmware image of version {}: {e}", active.version))?;
    }
    let header = v
        .finish()
        .map_err(|e| format!("firmware image of version {}: {e}", active.version))?;
    Ok(Some(header.version))
}

fn fail(e: &mut Entry, code: FaultCode, msg: &str) {
    e.phase = Phase::Failed;
    e.fault_code = code.code();
    e.fault_string = msg.chars().take(256).collect();
    e.complete = now_secs();
}

/// Perform (or report) a Download the engine handed out, on a new thread. The result goes to
/// the engine through `env.handle.transfer_complete(…)`; a firmware install reboots instead,
/// and is reported after the boot when the engine hands the transfer out again.
pub fn start(env: TransferEnv, request: DownloadRequest) {
    let name = format!("download-{}", request.command_key);
    let spawned = std::thread::Builder::new()
        .name(name)
        .spawn(move || run(env, request));
    if let Err(e) = spawned {
        log::error!("cannot start the download thread: {e}");
    }
}

/// What to do with a request, decided from the journal under its lock.
enum Plan {
    Report(Entry),
    Fresh,
}

fn plan(env: &TransferEnv, req: &DownloadRequest) -> io::Result<Plan> {
    let _g = JOURNAL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut j = Journal::load(&env.state_dir)?;
    if let Some(e) = j.latest(&req.command_key) {
        match e.phase {
            Phase::Done | Phase::Failed
                if !e.reported
                    || (req.resumed && e.url == req.url && e.file_type == req.file_type) =>
            {
                return Ok(Plan::Report(e.clone()))
            }
            Phase::Accepted | Phase::Downloading | Phase::Installing => {
                // Still marked as working although no thread of this process runs it (recover
                // was not called, or the engine handed it out twice): it is interrupted.
                fail(
                    e,
                    FaultCode::FileTransferFailure,
                    "interrupted by a restart",
                );
                let out = e.clone();
                j.save(&env.state_dir)?;
                return Ok(Plan::Report(out));
            }
            _ => {}
        }
    }
    j.entries.push(Entry {
        command_key: req.command_key.clone(),
        file_type: req.file_type.clone(),
        url: req.url.clone(),
        phase: Phase::Accepted,
        start: now_secs(),
        complete: None,
        fault_code: 0,
        fault_string: String::new(),
        version: None,
        reported: false,
    });
    j.save(&env.state_dir)?;
    Ok(Plan::Fresh)
}

fn run(env: TransferEnv, req: DownloadRequest) {
    let key = req.command_key.clone();
    let _slot = RUN_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let gen = GENERATION.load(Ordering::SeqCst);
    // Waiting for the slot may have outlived the client (a firmware install rebooted the
    // phone meanwhile): the engine hands the transfer out again after the boot.
    if !env.handle.with_store(|_| {}) {
        log::info!("Download {key:?} left for the next boot");
        return;
    }
    match plan(&env, &req) {
        Ok(Plan::Report(e)) => report(&env, gen, &e),
        Ok(Plan::Fresh) => {
            let result = perform(&env, gen, &req);
            let finished = match result {
                Ok(Outcome::Reboot) => {
                    log::info!("firmware installed for Download {key:?}; rebooting");
                    (env.reboot)();
                    return;
                }
                Ok(Outcome::Applied) => update(&env.state_dir, gen, &key, |e| {
                    e.phase = Phase::Done;
                    e.complete = now_secs();
                }),
                Err(f) => {
                    log::warn!("Download {key:?} failed: {f}");
                    update(&env.state_dir, gen, &key, |e| fail(e, f.code, &f.message))
                }
            };
            if let Err(e) = finished {
                // Not reported: after a restart the engine asks again and the journal answers.
                log::error!("transfer journal: {e}");
                return;
            }
            let entry = {
                let _g = JOURNAL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
                Journal::load(&env.state_dir)
                    .ok()
                    .and_then(|mut j| j.latest(&key).cloned())
            };
            match entry {
                Some(e) => report(&env, gen, &e),
                None => log::error!("transfer journal lost the entry of {key:?}"),
            }
        }
        Err(e) => {
            // Without a journal exactly-once cannot be promised; report nothing now: the
            // engine keeps the transfer and hands it out again after a restart.
            log::error!("transfer journal unusable, Download {key:?} not started: {e}");
        }
    }
}

/// Hand a finished entry to the engine, then mark it reported.
fn report(env: &TransferEnv, gen: u64, e: &Entry) {
    let fault = fault_of(e);
    if env.handle.transfer_complete(
        e.command_key.clone(),
        fault,
        to_datetime(e.start),
        to_datetime(e.complete),
    ) {
        if let Err(err) = update(&env.state_dir, gen, &e.command_key, |x| x.reported = true) {
            log::error!("transfer journal: {err}");
        }
    }
}

enum Outcome {
    /// A firmware image is active: reboot, report after the boot.
    Reboot,
    /// Done without a reboot (a configuration file applied or already applied).
    Applied,
}

fn local(e: io::Error) -> TransferFault {
    log::error!("transfer storage: {e}");
    TransferFault::new(
        FaultCode::InternalError,
        "the phone could not store the file",
    )
}

/// The FileTypes this phone downloads (firmware images and configuration files); any other
/// fails the transfer with 9010 (the fleet checks the same way).
pub(crate) fn check_file_type(file_type: &str) -> Result<(), TransferFault> {
    if file_type != FIRMWARE && file_type != VENDOR_CONFIG {
        return Err(TransferFault::new(
            FaultCode::FileTransferFailure,
            format!(
                "unsupported FileType {file_type:?}: this phone accepts {FIRMWARE:?} and \
                 {VENDOR_CONFIG:?}"
            ),
        ));
    }
    Ok(())
}

fn perform(env: &TransferEnv, gen: u64, req: &DownloadRequest) -> Result<Outcome, TransferFault> {
    check_file_type(&req.file_type)?;
    let url = vendor_config::expand_mac(&req.url, &env.mac_address);
    update(&env.state_dir, gen, &req.command_key, |e| {
        e.phase = Phase::Downloading
    })
    .map_err(local)?;
    if req.file_type == FIRMWARE {
        install_firmware(env, gen, req, &url)
    } else {
        apply_config(env, gen, req, &url)
    }
}

fn fetch_request<'a>(
    env: &'a TransferEnv,
    req: &'a DownloadRequest,
    url: &'a str,
    max_size: u64,
) -> FetchRequest<'a> {
    FetchRequest {
        url,
        username: &req.username,
        password: Secret::from(req.password.as_str()),
        file_size: u64::from(req.file_size),
        tls: &env.tls,
        limits: DownloadLimits {
            max_size,
            ..DownloadLimits::default()
        },
    }
}

/// The fault of a firmware image that failed verification (the fleet uses it too).
pub(crate) fn image_fault(e: ImageError) -> TransferFault {
    match e {
        ImageError::WrongModel { .. } => {
            TransferFault::new(FaultCode::FileTransferFailure, e.to_string())
        }
        _ => TransferFault::new(FaultCode::FileCorrupted, e.to_string()),
    }
}

fn install_firmware(
    env: &TransferEnv,
    gen: u64,
    req: &DownloadRequest,
    url: &str,
) -> Result<Outcome, TransferFault> {
    let dir = firmware_dir(&env.state_dir);
    fs::create_dir_all(&dir).map_err(local)?;
    let part = dir.join(part_name("incoming"));
    let mut verifier = Some(ImageVerifier::new(&env.device_type));
    let mut inspect = |chunk: &[u8]| -> Result<(), TransferFault> {
        match verifier.as_mut() {
            Some(v) => v.update(chunk).map_err(image_fault),
            None => Ok(()),
        }
    };
    let fetched = download(
        &fetch_request(env, req, url, MAX_FIRMWARE),
        &part,
        &mut inspect,
    )?;
    let header = match verifier.take().map(ImageVerifier::finish) {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            let _ = fs::remove_file(&part);
            return Err(image_fault(e));
        }
        None => return Err(TransferFault::new(FaultCode::InternalError, "no verifier")),
    };
    log::info!(
        "firmware {} for {} downloaded ({} bytes, target file name {:?})",
        header.version,
        header.model,
        fetched.size,
        req.target_file_name
    );
    // The image's file name: derived from its version, which may contain any character.
    let id = hex::encode(Sha256::digest(header.version.as_bytes()));
    let image_name = format!("{}.img", id.get(..16).unwrap_or(&id));
    update(&env.state_dir, gen, &req.command_key, |e| {
        e.phase = Phase::Installing;
        e.version = Some(header.version.clone());
    })
    .map_err(local)?;
    activate_image(&env.state_dir, &part, &header.version, &image_name).map_err(local)?;
    update(&env.state_dir, gen, &req.command_key, |e| {
        e.phase = Phase::Done;
        e.complete = now_secs();
    })
    .map_err(local)?;
    remove_other_images(&dir, &image_name);
    Ok(Outcome::Reboot)
}

/// Make a verified image (the file `part` under `transfer/firmware/`) the version that boots:
/// rename it to `image_name`, then replace the `active` pointer by rename. Shared by the
/// TR-069 Download and the auto-provisioning follow-up (`Auto Image Url`).
fn activate_image(
    state_dir: &Path,
    part: &Path,
    version: &str,
    image_name: &str,
) -> io::Result<()> {
    let dir = firmware_dir(state_dir);
    fs::rename(part, dir.join(image_name))?;
    sync_dir(&dir)?;
    let pointer = serde_json::to_vec(&ActivePointer {
        version: version.to_owned(),
        image: image_name.to_owned(),
    })
    .map_err(io::Error::other)?;
    // The switch: once this rename is durable, the new version is the one that boots.
    write_atomic(&dir.join("active"), &pointer)
}

/// Bounded disk: only the active image is kept.
fn remove_other_images(dir: &Path, image_name: &str) {
    if let Ok(rd) = fs::read_dir(dir) {
        for f in rd.flatten() {
            let n = f.file_name();
            let n = n.to_string_lossy();
            if n.ends_with(".img") && n != image_name {
                let _ = fs::remove_file(f.path());
            }
        }
    }
}

/// Verify and install a firmware image fetched by auto provisioning (`Auto Image Url`): the
/// same verification ([`ImageVerifier`] for `device_type`) and the same atomic switch as a
/// TR-069 Download; the caller reboots. Returns the installed version.
pub fn install_provisioned_image(
    state_dir: &Path,
    device_type: &str,
    image: &[u8],
) -> Result<String, String> {
    let mut v = ImageVerifier::new(device_type);
    v.update(image).map_err(|e| e.to_string())?;
    let header = v.finish().map_err(|e| e.to_string())?;
    let dir = firmware_dir(state_dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let part = dir.join(part_name("provisioned"));
    write_atomic(&part, image).map_err(|e| e.to_string())?;
    let id = hex::encode(Sha256::digest(header.version.as_bytes()));
    let image_name = format!("{}.img", id.get(..16).unwrap_or(&id));
    activate_image(state_dir, &part, &header.version, &image_name).map_err(|e| e.to_string())?;
    remove_other_images(&dir, &image_name);
    Ok(header.version)
}

/// The fault of a configuration file that cannot be used (the fleet uses it too).
pub(crate) fn config_fault(e: ConfigFileError) -> TransferFault {
    match e {
        ConfigFileError::BadKey => TransferFault::new(
            FaultCode::InternalError,
            "the phone's configuration encryption key is not 64 hex digits",
        ),
        other => TransferFault::new(FaultCode::FileCorrupted, other.to_string()),
    }
}

/// A `TargetFileName` as a plain file name (no directories), or a default.
fn safe_name(target: &str) -> String {
    let base = target.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        "vendor.cfg".into()
    } else {
        clean
    }
}

fn apply_config(
    env: &TransferEnv,
    gen: u64,
    req: &DownloadRequest,
    url: &str,
) -> Result<Outcome, TransferFault> {
    let dir = transfer_dir(&env.state_dir);
    fs::create_dir_all(&dir).map_err(local)?;
    let part = dir.join(part_name("config"));
    download(
        &fetch_request(env, req, url, MAX_CONFIG_FILE as u64),
        &part,
        &mut |_| Ok(()),
    )?;
    let data = fs::read(&part).map_err(local);
    let _ = fs::remove_file(&part);
    let data = data?;
    // The key: the phone's `config-encryption-key` item, else the daemon configuration's
    // top-level `config-encryption-key` (the place it had before the item existed).
    let fallback = env.config_key.clone();
    let key = crate::cloud::on_store(&env.handle, move |store| {
        let model = DeskPhoneModel::builtin();
        model
            .item_value(
                store.backend(),
                crate::provision::FileKind::Device.key_item(),
            )
            .filter(|k| !k.is_empty())
            .or(fallback.map(|k| k.expose().to_owned()))
    })
    .ok_or_else(|| TransferFault::new(FaultCode::InternalError, "the phone is shutting down"))?;
    let model = DeskPhoneModel::builtin();
    // One reading, validation and apply for every configuration file: the TOML vendor files,
    // and the auto-provisioning text and XML forms (crate::provision).
    let prepared =
        crate::provision::prepare(&data, key.as_deref(), &model).map_err(|e| match e {
            crate::provision::ReadError::Decrypt(c) => config_fault(c),
            crate::provision::ReadError::Refused(m) => TransferFault::new(
                FaultCode::FileTransferFailure,
                format!("configuration file refused, nothing applied: {m}"),
            ),
            other => TransferFault::new(FaultCode::FileCorrupted, other.to_string()),
        })?;
    for s in &prepared.resolved.skipped {
        log::info!("vendor configuration file: skipped {s}");
    }
    let digest = prepared.digest.clone();
    let applied_path = dir.join("config-applied.sha256");
    if fs::read_to_string(&applied_path).ok().as_deref() == Some(digest.as_str()) {
        log::info!("vendor configuration file identical to the last one applied: not re-applied");
        return Ok(Outcome::Applied);
    }
    update(&env.state_dir, gen, &req.command_key, |e| {
        e.phase = Phase::Installing
    })
    .map_err(local)?;
    let (tx, rx) = mpsc::channel();
    let job = prepared.clone();
    let queued = env.handle.with_store_as::<OcmsStore>(move |store| {
        let model = DeskPhoneModel::builtin();
        let _ = tx.send(crate::provision::apply_prepared(
            store,
            &model,
            &job,
            crate::provision::FileKind::Device,
            cwmp_model::ValueOrigin::Acs,
        ));
    });
    if queued.is_err() {
        return Err(TransferFault::new(
            FaultCode::InternalError,
            "the phone is shutting down",
        ));
    }
    let file = prepared;
    match rx.recv_timeout(Duration::from_secs(300)) {
        Ok(Ok(changed)) => {
            log::info!(
                "vendor configuration applied: {} items, {} parameters changed",
                file.resolved.items.len(),
                changed.len()
            );
            write_atomic(&applied_path, digest.as_bytes()).map_err(local)?;
            // The applied file is kept under its TargetFileName, for the admin to inspect;
            // only the last one (bounded disk).
            let keep = dir.join("vendor-config");
            let name = safe_name(&req.target_file_name);
            write_atomic(&keep.join(&name), &file.plaintext).map_err(local)?;
            if let Ok(rd) = fs::read_dir(&keep) {
                for f in rd.flatten() {
                    if f.file_name().to_string_lossy() != name.as_str() {
                        let _ = fs::remove_file(f.path());
                    }
                }
            }
            Ok(Outcome::Applied)
        }
        Ok(Err(SetError::Parameters(faults))) => {
            let list: Vec<String> = faults
                .iter()
                .map(|f| format!("{}: {}", f.name, f.message))
                .collect();
            Err(TransferFault::new(
                FaultCode::FileTransferFailure,
                format!(
                    "configuration file refused, nothing applied: {}",
                    list.join("; ")
                ),
            ))
        }
        Ok(Err(SetError::Fault(f))) => Err(TransferFault::new(
            if f.code == FaultCode::InternalError {
                FaultCode::InternalError
            } else {
                FaultCode::FileTransferFailure
            },
            format!("configuration file refused, nothing applied: {}", f.message),
        )),
        Ok(Err(other)) => Err(TransferFault::new(
            FaultCode::FileTransferFailure,
            format!("configuration file refused, nothing applied: {other:?}"),
        )),
        Err(_) => Err(TransferFault::new(
            FaultCode::InternalError,
            "the configuration could not be applied to the phone's store",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_file_names_stay_in_the_directory() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name(""), "vendor.cfg");
        assert_eq!(safe_name(".."), "vendor.cfg");
        assert_eq!(safe_name("cp600 cfg.toml"), "cp600cfg.toml");
    }

    #[test]
    fn recover_settles_interrupted_entries() {
        let dir = std::env::temp_dir().join(format!("transfer-recover-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let entry = |key: &str, ft: &str, phase, version: Option<&str>| Entry {
            command_key: key.into(),
            file_type: ft.into(),
            url: String::new(),
            phase,
            start: Some(1_700_000_000),
            complete: None,
            fault_code: 0,
            fault_string: String::new(),
            version: version.map(str::to_string),
            reported: false,
        };
        let mut j = Journal {
            entries: vec![
                entry("a", FIRMWARE, Phase::Downloading, None),
                entry("b", FIRMWARE, Phase::Installing, Some("V2")),
                entry("c", FIRMWARE, Phase::Installing, Some("V3")),
                entry("d", VENDOR_CONFIG, Phase::Done, None),
            ],
        };
        j.save(&dir).unwrap();
        write_atomic(
            &firmware_dir(&dir).join("active"),
            br#"{"version":"V2","image":"x.img"}"#,
        )
        .unwrap();
        let rec = recover(&dir).unwrap();
        assert_eq!(rec.software_version.as_deref(), Some("V2"));
        assert_eq!(rec.installed, vec!["b".to_string()]);
        assert_eq!(rec.interrupted, vec!["a".to_string(), "c".to_string()]);
        let j = Journal::load(&dir).unwrap();
        let phases: Vec<Phase> = j.entries.iter().map(|e| e.phase).collect();
        assert_eq!(
            phases,
            vec![Phase::Failed, Phase::Done, Phase::Failed, Phase::Done]
        );
        assert_eq!(j.entries[0].fault_code, 9010);
        // A second recovery changes nothing.
        assert_eq!(recover(&dir).unwrap().interrupted, Vec::<String>::new());
        let _ = fs::remove_dir_all(&dir);
    }

    fn engine_state(transfers: &[(&str, &str, &str)]) -> cwmp_engine::PersistentState {
        // QueuedTransfer is non-exhaustive: build the state from its persisted form.
        let list: Vec<serde_json::Value> = transfers
            .iter()
            .map(|(key, url, state)| {
                serde_json::json!({
                    "command_key": key, "file_type": FIRMWARE, "url": url, "username": "",
                    "password": "", "file_size": 0, "target_file_name": "",
                    "due": "2023-11-14T22:00:00Z", "state": state,
                })
            })
            .collect();
        let mut v = serde_json::to_value(cwmp_engine::PersistentState::new()).unwrap();
        v["transfers"] = serde_json::Value::Array(list);
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn settle_records_each_finished_transfer_once() {
        let entry = |key: &str, url: &str, phase, reported| Entry {
            command_key: key.into(),
            file_type: FIRMWARE.into(),
            url: url.into(),
            phase,
            start: Some(1_700_000_000),
            complete: Some(1_700_000_100),
            fault_code: if phase == Phase::Failed { 9018 } else { 0 },
            fault_string: String::new(),
            version: None,
            reported,
        };
        let rec = Recovery {
            finished: vec![
                entry("ok", "http://f/a", Phase::Done, false),
                entry("bad", "http://f/b", Phase::Failed, true),
                // Reported, and the engine's transfer of that key has another URL: an ACS
                // reusing the CommandKey, not this transfer.
                entry("reused", "http://f/old", Phase::Done, true),
                entry("waiting", "http://f/w", Phase::Done, false),
            ],
            ..Recovery::default()
        };
        let mut st = engine_state(&[
            ("ok", "http://f/a", "InProgress"),
            ("bad", "http://f/b", "InProgress"),
            ("reused", "http://f/new", "InProgress"),
            ("waiting", "http://f/w", "NotStarted"),
        ]);
        assert_eq!(
            rec.settle(&mut st),
            vec!["ok".to_string(), "bad".to_string()]
        );
        let codes: Vec<(String, u32)> = st
            .transfer_results
            .iter()
            .map(|r| (r.command_key.clone(), r.fault_code))
            .collect();
        assert_eq!(codes, vec![("ok".into(), 0), ("bad".into(), 9018)]);
        assert_eq!(st.transfers.len(), 2);
        // Settling again (a crash before the engine persisted, then the same state) records
        // nothing twice.
        assert!(rec.settle(&mut st).is_empty());
    }
}

//! The provisioning check and when it runs.
//!
//! **When**: at boot, every `auto-provision-update-interval` hours in `periodic` mode, when
//! the DHCP hook passes a URL (`cpe-agent dhcp --option66 …`, a renewal), when a SIP PnP
//! NOTIFY brings one, and on `cpe-agent provision`. With `auto-provision-update-mode` `off`
//! only `cpe-agent provision` runs a check (the operator asked explicitly).
//!
//! **Which URL** (seed §1.2, §2.3): the highest-priority source that has one: the DHCP option
//! selected by `auto-provision-dhcp-option` (the URL the hook last passed, kept in
//! `state-dir/provisioning-dhcp-url`), then SIP PnP (the URL of the last NOTIFY of this boot),
//! then `auto-provision-server`.
//!
//! **What**: the general file of the model ([`super::general_file_name`]) from the URL's
//! directory, then the device file (the URL's file part, `<mac>.cfg` when blank); one download
//! when the names are equal. A general file the server does not have is normal (`not-found`);
//! a missing device file is a failure. Each file: decrypted with its key, parsed, validated;
//! equal to the last applied file of its kind → `unchanged`; else applied as a local change.
//! Then the follow-ups of the applied files: `Auto Image Url` (firmware: verified, installed,
//! reboot), `Auto Pbook Url` (the phone book is kept as `state-dir/provisioning/phonebook`,
//! its entry count logged), `Auto Etc Url` (a PEM certificate into
//! `acs-server-ca-certificate-1`). Every attempt is a line of `provisioning.jsonl`.

use super::access_log::{self, FileRecord, Record};
use super::fetch::{fetch, FetchEnv};
use super::keys::FollowUp;
use super::url::{self, ProvUrl};
use super::{apply_prepared, general_file_name, prepare, FileKind};
use crate::phone;
use cwmp_client::{ClientHandle, ClientIdentity, TlsSettings};
use deskphone_datamodel::{DeskPhoneModel, OcmsStore};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The DHCP URL's file in the state directory.
pub const DHCP_URL_FILE: &str = "provisioning-dhcp-url";
/// The directory of kept files and applied digests.
pub const KEPT_DIR: &str = "provisioning";

/// What started a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The phone booted.
    Boot,
    /// The DHCP hook passed a URL (lease or renewal).
    Dhcp,
    /// A SIP PnP NOTIFY brought a URL.
    PnpNotify,
    /// The update interval passed.
    Periodic,
    /// `cpe-agent provision`.
    Command,
}

impl Trigger {
    fn name(self) -> &'static str {
        match self {
            Trigger::Boot => "boot",
            Trigger::Dhcp => "dhcp",
            Trigger::PnpNotify => "pnp-notify",
            Trigger::Periodic => "periodic",
            Trigger::Command => "command",
        }
    }
}

type Waiter = mpsc::Sender<Record>;

#[derive(Default)]
struct Shared {
    queue: VecDeque<(Trigger, Option<Waiter>)>,
    pnp_url: Option<String>,
}

/// The phone's provisioning inbox: shared by the control socket, the PnP client and the
/// worker of the current boot. It outlives reboots (so does the control socket).
#[derive(Default)]
pub struct Provisioner {
    shared: Mutex<Shared>,
    cv: Condvar,
}

impl std::fmt::Debug for Provisioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioner").finish_non_exhaustive()
    }
}

impl Provisioner {
    /// A new, empty inbox.
    pub fn new() -> Arc<Provisioner> {
        Arc::new(Provisioner::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ask for a check; `waiter` receives its record.
    pub fn trigger(&self, t: Trigger, waiter: Option<Waiter>) {
        self.lock().queue.push_back((t, waiter));
        self.cv.notify_all();
    }

    /// A PnP NOTIFY brought `url`: remember it for this boot and check.
    pub fn pnp_url(&self, url: String) {
        self.lock().pnp_url = Some(url);
        self.trigger(Trigger::PnpNotify, None);
    }

    /// Forget the PnP URL (every boot learns it anew; called before the boot's PnP client
    /// and worker start).
    pub fn forget_pnp(&self) {
        self.lock().pnp_url = None;
    }

    /// Wait up to `timeout` for a trigger.
    fn next(&self, timeout: Duration) -> Option<(Trigger, Option<Waiter>)> {
        let mut g = self.lock();
        if g.queue.is_empty() {
            g = self
                .cv
                .wait_timeout(g, timeout)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        g.queue.pop_front()
    }
}

/// Store the URL the DHCP hook passed (atomically; empty text clears it).
pub fn save_dhcp_url(state_dir: &Path, url: &str) -> std::io::Result<()> {
    if url.is_empty() {
        match std::fs::remove_file(state_dir.join(DHCP_URL_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => return Ok(()),
        }
    }
    crate::state::write_atomic(state_dir, DHCP_URL_FILE, url.as_bytes(), 0o600)
}

fn dhcp_url(state_dir: &Path) -> Option<String> {
    std::fs::read_to_string(state_dir.join(DHCP_URL_FILE))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Everything the worker needs from the daemon for one boot.
pub struct WorkerEnv {
    /// The state directory.
    pub state_dir: PathBuf,
    /// The running client (store jobs).
    pub handle: ClientHandle,
    /// The phone's model.
    pub model: Arc<DeskPhoneModel>,
    /// The default device certificate (https client identity when none is installed).
    pub default_identity: ClientIdentity,
    /// The inbox.
    pub provisioner: Arc<Provisioner>,
    /// Set when the daemon stops or the client ends.
    pub stop: Arc<AtomicBool>,
    /// Reboot the phone (after a firmware follow-up).
    pub reboot: Box<dyn Fn() + Send>,
}

impl std::fmt::Debug for WorkerEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerEnv")
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

/// The settings of one check, read on the driver's thread.
struct Settings {
    mode: String,
    interval_hours: u64,
    dhcp_option: String,
    server: String,
    username: String,
    password: String,
    input: String,
    device_key: String,
    common_key: String,
    mac: String,
    device_type: String,
    running_version: String,
    tls: Result<TlsSettings, String>,
}

fn read_settings(
    store: &mut OcmsStore,
    model: &DeskPhoneModel,
    ident: &ClientIdentity,
) -> Settings {
    let item = |n: &str| model.item_value(store.backend(), n).unwrap_or_default();
    Settings {
        mode: item("auto-provision-update-mode"),
        interval_hours: item("auto-provision-update-interval").parse().unwrap_or(1),
        dhcp_option: item("auto-provision-dhcp-option"),
        server: item("auto-provision-server"),
        username: item("auto-provision-username"),
        password: item("auto-provision-password"),
        input: item("auto-provision-input"),
        device_key: item("config-encryption-key"),
        common_key: item("common-config-encryption-key"),
        mac: item("mac-address"),
        device_type: item("device-type"),
        running_version: item("standard-software-version"),
        tls: crate::daemon::tls_from_items(store, model, ident).map_err(|e| e.to_string()),
    }
}

/// Start the worker of this boot.
pub fn start(env: WorkerEnv) {
    let spawned = std::thread::Builder::new()
        .name("provisioning".into())
        .spawn(move || run(env));
    if let Err(e) = spawned {
        log::error!("cannot start auto provisioning: {e}");
    }
}

fn settings(env: &WorkerEnv) -> Option<Settings> {
    let model = env.model.clone();
    let ident = env.default_identity.clone();
    crate::cloud::on_store(&env.handle, move |s| read_settings(s, &model, &ident))
}

fn run(env: WorkerEnv) {
    let Some(first) = settings(&env) else { return };
    if check(&env, Trigger::Boot, None) {
        return;
    }
    let mut next_periodic = Instant::now() + Duration::from_secs(first.interval_hours * 3600);
    loop {
        if env.stop.load(Ordering::SeqCst) || !env.handle.with_store(|_| {}) {
            return;
        }
        if let Some((t, waiter)) = env.provisioner.next(Duration::from_millis(200)) {
            if check(&env, t, waiter) {
                return;
            }
            continue;
        }
        if Instant::now() >= next_periodic {
            let Some(s) = settings(&env) else { return };
            next_periodic = Instant::now() + Duration::from_secs(s.interval_hours.max(1) * 3600);
            if s.mode == "periodic" && check(&env, Trigger::Periodic, None) {
                return;
            }
        }
    }
}

fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One check; logs its record and hands it to the waiter. Returns true when the phone
/// reboots (a firmware follow-up): the worker of this boot ends.
fn check(env: &WorkerEnv, trigger: Trigger, waiter: Option<Waiter>) -> bool {
    let mut rec = Record {
        time: now_text(),
        trigger: trigger.name().into(),
        source: "none".into(),
        ..Record::default()
    };
    let reboot = match settings(env) {
        // Update mode `off`: no check of its own (boot, interval, DHCP, PnP); the operator's
        // `cpe-agent provision` still runs one.
        Some(s) if s.mode == "off" && trigger != Trigger::Command => {
            if let Some(w) = waiter {
                let _ = w.send(rec);
            }
            return false;
        }
        Some(s) => attempt(env, &s, &mut rec),
        None => {
            rec.result = "failed".into();
            rec.fault = "the phone is restarting".into();
            false
        }
    };
    rec.bytes = rec.files.iter().map(|f| f.bytes).sum();
    if let Err(e) = access_log::append(&env.state_dir, &rec) {
        log::error!("provisioning log: {e}");
    }
    let line = format!(
        "auto provisioning ({}, {}): {} {}{}",
        rec.trigger,
        rec.source,
        rec.result,
        rec.url,
        if rec.fault.is_empty() {
            String::new()
        } else {
            format!(": {}", rec.fault)
        }
    );
    if rec.result == "ok" || rec.result == "no-url" {
        log::info!("{line}");
    } else {
        log::warn!("{line}");
    }
    if let Some(w) = waiter {
        let _ = w.send(rec);
    }
    if reboot {
        (env.reboot)();
    }
    reboot
}

/// The URL to use and its source, by priority: DHCP, PnP, static.
fn pick_url(env: &WorkerEnv, s: &Settings) -> Option<(&'static str, String)> {
    if s.dhcp_option != "off" {
        if let Some(u) = dhcp_url(&env.state_dir) {
            return Some(("dhcp", u));
        }
    }
    if let Some(u) = env.provisioner.lock().pnp_url.clone() {
        return Some(("pnp", u));
    }
    (!s.server.trim().is_empty()).then(|| ("static", s.server.trim().to_owned()))
}

fn applied_digest_path(state_dir: &Path, kind: FileKind) -> PathBuf {
    state_dir.join(KEPT_DIR).join(match kind {
        FileKind::General => "general.sha256",
        FileKind::Device => "device.sha256",
    })
}

fn attempt(env: &WorkerEnv, s: &Settings, rec: &mut Record) -> bool {
    let Some((source, text)) = pick_url(env, s) else {
        rec.result = "no-url".into();
        rec.fault = "no DHCP, PnP or static provisioning URL".into();
        return false;
    };
    rec.source = source.into();
    let base = match url::expand(&text, &s.mac, &s.input) {
        Ok(u) => u,
        Err(e) => {
            rec.url = crate::trace::redact_url(&text);
            rec.result = "refused".into();
            rec.fault = e.to_string();
            return false;
        }
    };
    rec.url = base.shown();
    let tls = match &s.tls {
        Ok(t) => t.clone(),
        Err(e) => {
            rec.result = "failed".into();
            rec.fault = format!("TLS settings: {e}");
            return false;
        }
    };
    let kept = env.state_dir.join(KEPT_DIR);
    if let Err(e) = std::fs::create_dir_all(&kept) {
        rec.result = "failed".into();
        rec.fault = format!("state directory: {e}");
        return false;
    }
    let fenv = FetchEnv {
        username: &s.username,
        password: &s.password,
        tls: &tls,
        tmp_dir: &kept,
        max: crate::vendor_config::MAX_CONFIG_FILE as u64,
    };
    let general = general_file_name(&s.device_type);
    let device = base.device_file(&s.mac);
    let mut files = vec![(FileKind::Device, device.clone())];
    if general != device {
        files.insert(0, (FileKind::General, general));
    }
    let mut follow_ups = Vec::new();
    rec.result = "ok".into();
    for (kind, name) in files {
        let mut fr = FileRecord {
            kind: match kind {
                FileKind::General => "general",
                FileKind::Device => "device",
            }
            .into(),
            name: name.clone(),
            ..FileRecord::default()
        };
        let u = base.with_file(&name);
        let data = match fetch(&u, &fenv) {
            Ok(d) => d,
            Err(e) if e.not_found && kind == FileKind::General => {
                fr.result = "not-found".into();
                rec.files.push(fr);
                continue;
            }
            Err(e) => {
                fr.result = "failed".into();
                fr.notes.push(e.message.clone());
                rec.files.push(fr);
                rec.result = "failed".into();
                rec.fault = format!("{name}: {}", e.message);
                continue;
            }
        };
        fr.bytes = data.len() as u64;
        let key = match kind {
            FileKind::General => &s.common_key,
            FileKind::Device => &s.device_key,
        };
        let prepared = match prepare(&data, Some(key.as_str()), &env.model) {
            Ok(p) => p,
            Err(e) => {
                fr.result = "refused".into();
                fr.notes.push(e.to_string());
                rec.files.push(fr);
                rec.result = "refused".into();
                rec.fault = format!("{name}: {e}");
                continue;
            }
        };
        fr.version = prepared.version.clone();
        fr.notes.extend(
            prepared
                .resolved
                .skipped
                .iter()
                .map(|k| format!("skipped {k}")),
        );
        let digest_path = applied_digest_path(&env.state_dir, kind);
        if std::fs::read_to_string(&digest_path).ok().as_deref() == Some(&prepared.digest) {
            fr.result = "unchanged".into();
            rec.files.push(fr);
            continue;
        }
        let model = env.model.clone();
        let job = prepared.clone();
        let applied = crate::cloud::on_store(&env.handle, move |store| {
            apply_prepared(
                store,
                &model,
                &job,
                kind,
                cwmp_model::ValueOrigin::Provisioning,
            )
            .map_err(|e| phone::set_error_text(&e))
        });
        match applied {
            Some(Ok(params)) => {
                fr.result = "applied".into();
                fr.notes.push(format!(
                    "{} items, {} parameters changed",
                    prepared.resolved.items.len(),
                    params.len()
                ));
                let file_name = digest_path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("");
                let kept_name = file_name.replace(".sha256", ".cfg");
                let _ = crate::state::write_atomic(&kept, &kept_name, &prepared.plaintext, 0o600);
                if let Err(e) =
                    crate::state::write_atomic(&kept, file_name, prepared.digest.as_bytes(), 0o600)
                {
                    log::error!("provisioning: recording the applied file: {e}");
                }
                follow_ups.extend(prepared.resolved.follow_ups.clone());
            }
            Some(Err(e)) => {
                fr.result = "refused".into();
                fr.notes.push(e.clone());
                rec.result = "refused".into();
                rec.fault = format!("{name}: {e}");
            }
            None => {
                fr.result = "failed".into();
                rec.result = "failed".into();
                rec.fault = "the phone is restarting".into();
            }
        }
        rec.files.push(fr);
    }
    let mut reboot = false;
    for (kind, raw) in follow_ups {
        let (fr, r) = follow_up(env, s, &fenv, kind, &raw);
        if fr.result == "failed" && rec.result == "ok" {
            rec.result = "failed".into();
            rec.fault = format!("{}: {}", kind.key(), fr.notes.join("; "));
        }
        rec.files.push(fr);
        reboot |= r;
    }
    reboot
}

/// Entries of a phone book file: vCards, XML contact elements, else non-empty CSV lines after
/// a header line.
pub fn phonebook_entries(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let vcards = text.matches("BEGIN:VCARD").count();
    if vcards > 0 {
        return vcards;
    }
    if text.trim_start().starts_with('<') {
        return text.matches("<Contact").count() + text.matches("<contact").count();
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .count()
        .saturating_sub(1)
}

fn follow_up(
    env: &WorkerEnv,
    s: &Settings,
    fenv: &FetchEnv<'_>,
    kind: FollowUp,
    raw: &str,
) -> (FileRecord, bool) {
    let mut fr = FileRecord {
        kind: match kind {
            FollowUp::Image => "image",
            FollowUp::Pbook => "pbook",
            FollowUp::Etc => "etc",
        }
        .into(),
        ..FileRecord::default()
    };
    let u: ProvUrl = match url::expand(raw, &s.mac, &s.input) {
        Ok(u) => u,
        Err(e) => {
            fr.result = "failed".into();
            fr.notes.push(e.to_string());
            return (fr, false);
        }
    };
    fr.name = u.shown();
    let max = match kind {
        FollowUp::Image => crate::transfer::MAX_FIRMWARE,
        _ => crate::vendor_config::MAX_CONFIG_FILE as u64,
    };
    let data = match fetch(
        &u,
        &FetchEnv {
            max,
            ..fenv.clone()
        },
    ) {
        Ok(d) => d,
        Err(e) => {
            fr.result = "failed".into();
            fr.notes.push(e.message);
            return (fr, false);
        }
    };
    fr.bytes = data.len() as u64;
    match kind {
        FollowUp::Image => {
            let mut v = crate::firmware::ImageVerifier::new(&s.device_type);
            let header = v.update(&data).and_then(|_| v.finish());
            match header {
                Ok(h) if h.version == s.running_version => {
                    fr.version = h.version;
                    fr.result = "unchanged".into();
                    (fr, false)
                }
                Ok(_) => match crate::transfer::install_provisioned_image(
                    &env.state_dir,
                    &s.device_type,
                    &data,
                ) {
                    Ok(version) => {
                        fr.version = version;
                        fr.result = "installed".into();
                        fr.notes.push("rebooting into the new firmware".into());
                        (fr, true)
                    }
                    Err(e) => {
                        fr.result = "failed".into();
                        fr.notes.push(e);
                        (fr, false)
                    }
                },
                Err(e) => {
                    fr.result = "failed".into();
                    fr.notes.push(e.to_string());
                    (fr, false)
                }
            }
        }
        FollowUp::Pbook => {
            let dir = env.state_dir.join(KEPT_DIR);
            match crate::state::write_atomic(&dir, "phonebook", &data, 0o600) {
                Ok(()) => {
                    fr.result = "kept".into();
                    fr.notes
                        .push(format!("{} phone book entries", phonebook_entries(&data)));
                }
                Err(e) => {
                    fr.result = "failed".into();
                    fr.notes.push(format!("keeping the phone book: {e}"));
                }
            }
            (fr, false)
        }
        FollowUp::Etc => {
            let pem = String::from_utf8_lossy(&data).into_owned();
            let model = env.model.clone();
            let r = crate::cloud::on_store(&env.handle, move |store| {
                phone::set_items_as(
                    store,
                    &model,
                    &[("acs-server-ca-certificate-1".to_owned(), pem)],
                    cwmp_model::ValueOrigin::Provisioning,
                )
            });
            match r {
                Some(Ok(_)) => {
                    fr.result = "installed".into();
                    fr.notes
                        .push("certificate in acs-server-ca-certificate-1".into());
                }
                Some(Err(e)) => {
                    fr.result = "failed".into();
                    fr.notes.push(e);
                }
                None => {
                    fr.result = "failed".into();
                    fr.notes.push("the phone is restarting".into());
                }
            }
            (fr, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phonebook_counts() {
        assert_eq!(phonebook_entries(b"name,number\na,1\nb,2\n\n"), 2);
        assert_eq!(
            phonebook_entries(b"BEGIN:VCARD\nEND:VCARD\nBEGIN:VCARD\nEND:VCARD\n"),
            2
        );
        assert_eq!(
            phonebook_entries(b"<PhoneBook><Contact/><Contact/></PhoneBook>"),
            2
        );
    }

    #[test]
    fn dhcp_url_file() {
        let d = tempfile::tempdir().unwrap();
        save_dhcp_url(d.path(), "tftp://h/x.cfg").unwrap();
        assert_eq!(dhcp_url(d.path()).as_deref(), Some("tftp://h/x.cfg"));
        save_dhcp_url(d.path(), "").unwrap();
        save_dhcp_url(d.path(), "").unwrap();
        assert_eq!(dhcp_url(d.path()), None);
    }
}

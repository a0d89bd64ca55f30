//! Cloud Deployment: the zero-touch way a phone out of the box finds its ACS (seed 000 names
//! it beside the admin menu, the web page and DHCP; the certificate items "can only be
//! configured via Cloud Deployment or ACS").
//!
//! The product page does not publish the service's protocol, so this one is **this
//! project's**, in the spirit of the redirect servers phones use (README, "Zero-touch: Cloud
//! Deployment"):
//!
//! * It runs while the phone has no ACS address (`acs-server-address` empty: factory state, or
//!   a factory reset whose defaults have none), `cloud-deployment-enable` is true and
//!   `cloud-deployment-url` is set (an `https://` URL).
//! * `GET <cloud-deployment-url>?mac=…&model=…&version=…&serial=…` over HTTPS, presenting the
//!   phone's client certificate (the installed `acs-client-certificate`, else the default
//!   device certificate) and verifying the server against `acs-server-ca-certificate-1/2`, or
//!   the platform roots when both are empty. Up to 5 redirects.
//! * `200`: a provisioning document, TOML `item = value` lines (the format of the
//!   configuration file's `[items]` and of vendor configuration files; one parser,
//!   [`crate::items::parse_item_lines`]), restricted to [`ALLOWED_ITEMS`]. It must set
//!   `acs-server-address`. Anything else refuses the whole document. Certificates are checked
//!   (they parse, are valid now, the client key matches the client certificate) before
//!   anything is applied; then every item is applied at once, as a local change: the new ACS
//!   address makes the phone inform `0 BOOTSTRAP` there, and Cloud Deployment is not asked
//!   again while the phone has an ACS address (until a factory reset clears it).
//! * `404`: not claimed yet. Any other failure (TLS, DNS, other statuses, a refused document)
//!   is retried the same way: after the TR-069 retry wait (TR-069 §3.2.1.1 / TR-069 §3.2.1.1,
//!   with the phone's `acs-retry-min-wait-interval` and `acs-retry-interval-multiplier`),
//!   capped at one hour. The log says a failure once and then only when it changes; every
//!   attempt is a `cloud_deployment` record in the trace.
//!
//! Decision: the identity goes in query parameters (not a body): the request is a plain GET
//! that any static file server with per-MAC rewriting can answer, and the proof of identity
//! is the TLS client certificate, not the parameters.

use crate::phone;
use crate::trace::TraceWriter;
use cwmp_client::download::{download, DownloadLimits, FetchRequest, TransferFault};
use cwmp_client::{ClientHandle, ClientIdentity, TlsSettings};
use deskphone_datamodel::{DeskPhoneModel, OcmsStore};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The items a Cloud Deployment document may set (seed 000: the ACS address and credentials,
/// the connection-request credentials, the four certificate items, periodic inform).
pub const ALLOWED_ITEMS: &[&str] = &[
    "acs-server-address",
    "acs-username",
    "acs-password",
    "acs-request-username",
    "acs-request-password",
    "acs-server-ca-certificate-1",
    "acs-server-ca-certificate-2",
    "acs-client-certificate",
    "acs-client-key",
    "acs-periodic-inform-enabled",
    "acs-periodic-inform-interval",
];

/// The largest document accepted (a few certificates fit many times over).
pub const MAX_DOCUMENT: u64 = 256 * 1024;

/// The longest wait between two attempts.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Who the phone is, sent as query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneId {
    /// MAC address, 12 lower-case hex digits.
    pub mac: String,
    /// `device-type` (the model).
    pub model: String,
    /// `standard-software-version`.
    pub version: String,
    /// The serial number.
    pub serial: String,
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request URL: `base` with the identity appended as query parameters.
pub fn request_url(base: &str, id: &PhoneId) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!(
        "{base}{sep}mac={}&model={}&version={}&serial={}",
        encode(&id.mac),
        encode(&id.model),
        encode(&id.version),
        encode(&id.serial)
    )
}

/// Parse and check a provisioning document at `now_unix` (seconds): every key allowed,
/// `acs-server-address` set, certificates valid now, the client key matching the client
/// certificate. The error never contains a value.
pub fn parse_document(data: &[u8], now_unix: i64) -> Result<Vec<(String, String)>, String> {
    if data.len() as u64 > MAX_DOCUMENT {
        return Err(format!("document larger than {MAX_DOCUMENT} bytes"));
    }
    let text = std::str::from_utf8(data).map_err(|_| "document is not UTF-8".to_owned())?;
    // A TOML syntax error quotes the offending line, which may hold a secret: say less.
    let items = crate::items::parse_item_lines(text).map_err(|e| {
        if e.starts_with("item ") {
            e
        } else {
            "the document is not TOML `item = value` lines".to_owned()
        }
    })?;
    let refused: Vec<&str> = items
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !ALLOWED_ITEMS.contains(k))
        .collect();
    if !refused.is_empty() {
        return Err(format!(
            "Cloud Deployment may not set {}; nothing applied",
            refused.join(", ")
        ));
    }
    let get = |k: &str| items.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("acs-server-address").is_none_or(|v| v.trim().is_empty()) {
        return Err("the document sets no acs-server-address".into());
    }
    for ca in ["acs-server-ca-certificate-1", "acs-server-ca-certificate-2"] {
        if let Some(pem) = get(ca).filter(|v| !v.trim().is_empty()) {
            check_certificates(ca, pem, now_unix)?;
        }
    }
    match (
        get("acs-client-certificate").filter(|v| !v.trim().is_empty()),
        get("acs-client-key").filter(|v| !v.trim().is_empty()),
    ) {
        (None, None) => {}
        (Some(cert), Some(key)) => {
            check_certificates("acs-client-certificate", cert, now_unix)?;
            ClientIdentity::from_pem(cert, key)
                .map_err(|e| format!("acs-client-certificate and acs-client-key: {e}"))?;
        }
        _ => {
            return Err(
                "acs-client-certificate and acs-client-key come together or not at all".into(),
            )
        }
    }
    Ok(items)
}

/// Every certificate of a PEM bundle parses as X.509 and is valid at `now_unix`.
fn check_certificates(item: &str, pem: &str, now_unix: i64) -> Result<(), String> {
    let ders = cwmp_client::parse_certificates(pem).map_err(|e| format!("{item}: {e}"))?;
    if ders.is_empty() {
        return Err(format!("{item}: no certificate"));
    }
    for (i, der) in ders.iter().enumerate() {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("{item}: certificate {}: {e}", i + 1))?;
        let v = cert.validity();
        if now_unix < v.not_before.timestamp() {
            return Err(format!("{item}: certificate {} is not valid yet", i + 1));
        }
        if now_unix > v.not_after.timestamp() {
            return Err(format!("{item}: certificate {} has expired", i + 1));
        }
    }
    Ok(())
}

/// What one attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The document was applied; the phone now has this ACS address.
    Applied(String),
    /// 404: the phone is not claimed yet.
    NotClaimed,
    /// Anything else, with why (no secret).
    Failed(String),
}

/// The settings one attempt needs, read from the store on the driver's thread.
#[derive(Debug, Clone)]
struct Settings {
    url: String,
    id: PhoneId,
    tls: TlsSettings,
    retry_min: u32,
    retry_multiplier: u32,
}

/// What the worker needs from the daemon.
pub struct CloudEnv {
    /// The state directory (the document is fetched into a temporary file there).
    pub state_dir: PathBuf,
    /// The running client: store jobs read the settings and apply the document.
    pub handle: ClientHandle,
    /// The phone's model.
    pub model: Arc<DeskPhoneModel>,
    /// The default device certificate, presented when no client certificate is installed.
    pub default_identity: ClientIdentity,
    /// The daemon's trace.
    pub trace: Arc<Mutex<TraceWriter>>,
    /// Set when the daemon stops or the client ends.
    pub stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for CloudEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudEnv")
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

/// Run a job on the driver's thread and wait for its answer; `None` when the client is gone.
pub(crate) fn on_store<T: Send + 'static>(
    handle: &ClientHandle,
    job: impl FnOnce(&mut OcmsStore) -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    if handle
        .with_store_as::<OcmsStore>(move |s| {
            let _ = tx.send(job(s));
        })
        .is_err()
    {
        return None;
    }
    rx.recv_timeout(Duration::from_secs(100)).ok()
}

/// The settings when Cloud Deployment should run now, `Ok(None)` when it should not.
fn read_settings(
    store: &mut OcmsStore,
    model: &DeskPhoneModel,
    default_identity: &ClientIdentity,
) -> Result<Option<Settings>, String> {
    let serial =
        match cwmp_model::ParameterStore::internal_value(store, "Device.DeviceInfo.SerialNumber") {
            Some(cwmp_model::Value::String(s)) => s,
            _ => String::new(),
        };
    let item = |name: &str| model.item_value(store.backend(), name).unwrap_or_default();
    let url = item("cloud-deployment-url");
    if url.is_empty()
        || item("cloud-deployment-enable") != "true"
        || !item("acs-server-address").trim().is_empty()
    {
        return Ok(None);
    }
    let tls = crate::daemon::tls_from_items(store, model, default_identity)
        .map_err(|e| format!("TLS settings: {e}"))?;
    let mac: String = item("mac-address")
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase();
    Ok(Some(Settings {
        url,
        id: PhoneId {
            mac,
            model: item("device-type"),
            version: item("standard-software-version"),
            serial,
        },
        tls,
        retry_min: item("acs-retry-min-wait-interval").parse().unwrap_or(5),
        retry_multiplier: item("acs-retry-interval-multiplier")
            .parse()
            .unwrap_or(2000),
    }))
}

/// One attempt: fetch, check, apply.
fn attempt(env: &CloudEnv, s: &Settings) -> Outcome {
    let url = request_url(&s.url, &s.id);
    // Unique per attempt: the worker of an earlier boot may still be finishing its fetch.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dest = env.state_dir.join(format!(
        "cloud-deployment-{}-{}.part",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    ));
    let req = FetchRequest {
        url: &url,
        username: "",
        password: cwmp_model::Secret::default(),
        file_size: 0,
        tls: &s.tls,
        limits: DownloadLimits {
            max_size: MAX_DOCUMENT,
            stall_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(30),
            max_redirects: 5,
        },
    };
    let fetched = download(&req, &dest, &mut |_| Ok(()));
    let data = match fetched {
        Ok(_) => {
            let d = std::fs::read(&dest);
            let _ = std::fs::remove_file(&dest);
            match d {
                Ok(d) => d,
                Err(e) => return Outcome::Failed(format!("reading the document: {e}")),
            }
        }
        Err(TransferFault {
            http_status: Some(404),
            ..
        }) => return Outcome::NotClaimed,
        Err(f) => return Outcome::Failed(f.message.replace("file server", "deployment server")),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let items = match parse_document(&data, now) {
        Ok(items) => items,
        Err(e) => return Outcome::Failed(format!("document refused: {e}")),
    };
    let model = env.model.clone();
    let applied = on_store(&env.handle, move |store| {
        phone::set_items_as(store, &model, &items, cwmp_model::ValueOrigin::Provisioning).map(
            |_| {
                model
                    .item_value(store.backend(), "acs-server-address")
                    .unwrap_or_default()
            },
        )
    });
    match applied {
        Some(Ok(acs)) => Outcome::Applied(acs),
        Some(Err(e)) => Outcome::Failed(format!("document refused: {e}")),
        None => Outcome::Failed("the phone is restarting".into()),
    }
}

/// The wait before attempt `n + 1` after `n` failed ones: the TR-069 retry wait, capped at
/// [`MAX_WAIT`].
pub fn wait_after(failures: u32, retry_min: u32, retry_multiplier: u32) -> Duration {
    let (lo, hi) = cwmp_engine::retry_wait_range(failures, retry_min, retry_multiplier);
    let (lo, hi) = (lo.min(MAX_WAIT), hi.min(MAX_WAIT));
    let span = hi.saturating_sub(lo).as_millis() as u64;
    let jitter = if span == 0 {
        0
    } else {
        rand::random_range(0..=span)
    };
    lo + Duration::from_millis(jitter)
}

/// Start the worker for this boot. It ends on its own when the phone has an ACS address,
/// the feature is off, or the client ends.
pub fn start(env: CloudEnv) {
    let spawned = std::thread::Builder::new()
        .name("cloud-deployment".into())
        .spawn(move || run(env));
    if let Err(e) = spawned {
        log::error!("cannot start Cloud Deployment: {e}");
    }
}

fn note(env: &CloudEnv, text: &str) {
    env.trace
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .note_kind("cloud_deployment", text);
}

fn run(env: CloudEnv) {
    let mut failures = 0u32;
    let mut last_said = String::new();
    loop {
        if env.stop.load(Ordering::SeqCst) {
            return;
        }
        let model = env.model.clone();
        let ident = env.default_identity.clone();
        let settings = match on_store(&env.handle, move |s| read_settings(s, &model, &ident)) {
            None => return,
            Some(Ok(None)) => return,
            Some(Ok(Some(s))) => s,
            Some(Err(e)) => {
                log::warn!("Cloud Deployment: {e}");
                return;
            }
        };
        let shown = crate::trace::redact_url(&settings.url);
        let outcome = attempt(&env, &settings);
        let said = match &outcome {
            Outcome::Applied(acs) => {
                log::info!("Cloud Deployment: {shown} assigned the ACS {acs}");
                note(&env, &format!("{shown}: ACS address assigned: {acs}"));
                return;
            }
            Outcome::NotClaimed => "not claimed yet (404)".to_owned(),
            Outcome::Failed(why) => why.clone(),
        };
        failures = failures.saturating_add(1);
        let wait = wait_after(failures, settings.retry_min, settings.retry_multiplier);
        note(
            &env,
            &format!(
                "{shown}: attempt {failures}: {said}; next in {} s",
                wait.as_secs()
            ),
        );
        if said != last_said {
            log::warn!(
                "Cloud Deployment {shown}: {said}; asking again in {} s",
                wait.as_secs()
            );
            last_said = said;
        } else {
            log::debug!("Cloud Deployment {shown}: {said} (attempt {failures})");
        }
        let until = Instant::now() + wait;
        while Instant::now() < until {
            if env.stop.load(Ordering::SeqCst) || !env.handle.with_store(|_| {}) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_query_encoded() {
        let id = PhoneId {
            mac: "001ae8a1b2c3".into(),
            model: "OpenScape Desk Phone CP600".into(),
            version: "V1 R9&x".into(),
            serial: "001AE8A1B2C3".into(),
        };
        assert_eq!(
            request_url("https://zt.example/claim", &id),
            "https://zt.example/claim?mac=001ae8a1b2c3&model=OpenScape%20Desk%20Phone%20CP600\
             &version=V1%20R9%26x&serial=001AE8A1B2C3"
        );
        assert!(request_url("https://zt.example/c?t=1", &id)
            .starts_with("https://zt.example/c?t=1&mac="));
    }

    #[test]
    fn documents_outside_the_allowed_set_are_refused_whole() {
        let ok =
            b"acs-server-address = \"https://acs.example/\"\nacs-periodic-inform-interval = 300\n";
        assert_eq!(parse_document(ok, 0).unwrap().len(), 2);
        let bad = b"acs-server-address = \"https://acs.example/\"\nsip-pwd = \"x\"\n";
        let e = parse_document(bad, 0).unwrap_err();
        assert!(e.contains("sip-pwd") && !e.contains("\"x\""), "{e}");
        assert!(
            parse_document(b"acs-username = \"u\"\n", 0).is_err(),
            "no ACS address"
        );
        assert!(parse_document(b"\xff", 0).is_err());
        assert!(parse_document(b"not toml at all [", 0).is_err());
    }

    #[test]
    fn certificates_are_checked_before_anything_is_applied() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["acs.example".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        let pem = cert.pem();
        let doc = |extra: &str| {
            format!("acs-server-address = \"https://acs.example/\"\n{extra}").into_bytes()
        };
        let q = |s: &str| toml::Value::String(s.into()).to_string();
        let in_2025 = 1_735_689_600;
        let in_2031 = 1_924_992_000;
        let ca = doc(&format!("acs-server-ca-certificate-1 = {}\n", q(&pem)));
        assert!(parse_document(&ca, in_2025).is_ok());
        let e = parse_document(&ca, in_2031).unwrap_err();
        assert!(e.contains("expired"), "{e}");
        let garbage = doc(&format!(
            "acs-server-ca-certificate-1 = {}\n",
            q("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        ));
        assert!(parse_document(&garbage, in_2025).is_err());
        // A client certificate with the wrong key.
        let other = rcgen::KeyPair::generate().unwrap();
        let mismatch = doc(&format!(
            "acs-client-certificate = {}\nacs-client-key = {}\n",
            q(&pem),
            q(&other.serialize_pem())
        ));
        assert!(parse_document(&mismatch, in_2025).is_err());
        let good = doc(&format!(
            "acs-client-certificate = {}\nacs-client-key = {}\n",
            q(&pem),
            q(&key.serialize_pem())
        ));
        assert!(parse_document(&good, in_2025).is_ok());
        let half = doc(&format!("acs-client-certificate = {}\n", q(&pem)));
        assert!(parse_document(&half, in_2025).is_err());
    }

    #[test]
    fn waits_follow_the_retry_formula_capped_at_an_hour() {
        for n in 1..=20 {
            let (lo, hi) = cwmp_engine::retry_wait_range(n, 5, 2000);
            let w = wait_after(n, 5, 2000);
            assert!(w >= lo.min(MAX_WAIT) && w <= hi.min(MAX_WAIT), "{n}: {w:?}");
            assert!(w <= MAX_WAIT);
        }
        assert!(wait_after(2, 5, 2000) >= Duration::from_secs(10));
    }
}

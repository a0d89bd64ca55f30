//! TR-064: LAN-side management of the phone (seed 003, AVM's "TR-064 first steps").
//!
//! ```text
//!  SSDP (udp, ssdp.rs)  M-SEARCH ─► 200 OK  LOCATION http://<addr>:<port>/tr64desc.xml
//!  HTTP / HTTPS (http.rs)           GET /tr64desc.xml, GET /<svc>SCPD.xml   (services.rs)
//!                                   POST <controlURL> ─► Tr064::handle
//!       parse (soap.rs) → service/action/arguments (401, 402) → authentication (auth.rs:
//!       HTTP Digest or content level; 401 / 503, no admin-password → 606) → transaction lock
//!       → actions.rs: a read job or a validated Change → PhoneAccess (store jobs on the CWMP
//!       driver's thread, like `cpe-agent admin`) → response or UPnPError fault
//! ```
//!
//! Everything works on the phone's one parameter store through [`PhoneAccess`]: the daemon
//! runs each job on the CWMP driver's thread ([`cwmp_client::ClientHandle::with_store_as`]),
//! so a TR-064 change is exactly a local change (`apply_items`: validated like a CWMP set,
//! all or nothing, reported to the engine: `4 VALUE CHANGE` under the notification rules, and
//! a new ACS URL means `0 BOOTSTRAP`). Reboot and FactoryReset are the admin menu's.
//!
//! **Transactions** (seed 003 §9): `ConfigurationStarted(NewSessionID)` gives its client the
//! configuration lock. The holder is recognised by a `SessionID` SOAP header equal to the
//! session ID, or, when a call has none, by its IP address (decision: TR-064 clients such as
//! fritzconnection send no header). While the lock is held, other clients' writes and
//! `ConfigurationStarted` are refused with [`LOCKED`]; reads still work. The holder's writes
//! are validated at once (a bad value is refused at once, 600/601) and kept; they are applied
//! together, all or nothing, by `ConfigurationFinished` (`NewStatus` `ChangesApplied`, or
//! `RebootRequired` when the transaction asked for a Reboot, which then follows). A
//! transaction not finished within the configured timeout (45 s, seed 003 §9, counted from
//! `ConfigurationStarted`) is rolled back: its kept writes are dropped.
//!
//! Decision on [`LOCKED`]: a write against another client's transaction is refused with UPnP
//! 501 "Action Failed" (description "configuration locked by another session").

pub mod actions;
pub mod auth;
pub mod http;
pub mod services;
pub mod soap;
pub mod ssdp;

use auth::{AdminCredentials, Authenticator, ContentVerdict};
use cwmp_connreq::Verdict;
use deskphone_datamodel::{DeskPhoneModel, OcmsStore};
use services::ServiceDef;
use soap::{ActionCall, ActionParseError, AuthHeader, ResponseAuth};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The refusal code for a write against another client's transaction (see the module doc).
pub const LOCKED: u16 = 501;
/// The transaction timeout of seed 003 §9.
pub const DEFAULT_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(45);
/// Lines kept in the device log (GetDeviceLog).
pub const DEVICE_LOG_LINES: usize = 100;
/// How long a request waits for the driver to run its store job.
const JOB_TIMEOUT: Duration = Duration::from_secs(100);

/// The `[tr064]` section of the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tr064Config {
    /// `http-address`: tr64desc.xml, SCPD files, control URLs.
    pub http_address: Option<SocketAddr>,
    /// `https-address`: the same over TLS with the device certificate.
    pub https_address: Option<SocketAddr>,
    /// `ssdp`: answer M-SEARCH.
    pub ssdp: bool,
    /// `ssdp-address`: the SSDP socket (unicast M-SEARCH to it is always answered).
    pub ssdp_address: SocketAddr,
    /// `ssdp-interfaces`: where to join 239.255.255.250 (by interface name).
    pub ssdp_interfaces: Vec<String>,
    /// `ssdp-notify`: send NOTIFY ssdp:alive on the joined interfaces (default off, seed 003
    /// §2.1.1).
    pub ssdp_notify: bool,
    /// `transaction-timeout` (seconds): when an unfinished transaction is rolled back.
    pub transaction_timeout: Duration,
}

impl Default for Tr064Config {
    fn default() -> Self {
        Tr064Config {
            http_address: None,
            https_address: None,
            ssdp: false,
            ssdp_address: SocketAddr::from(([0, 0, 0, 0], 1900)),
            ssdp_interfaces: Vec::new(),
            ssdp_notify: false,
            transaction_timeout: DEFAULT_TRANSACTION_TIMEOUT,
        }
    }
}

/// A store job.
pub type StoreJob = Box<dyn FnOnce(&mut OcmsStore) + Send>;

/// How TR-064 reaches the phone.
pub trait PhoneAccess: Send + Sync {
    /// Run `job` with the store (on the CWMP driver's thread); `false` when the phone is
    /// restarting (the job is dropped).
    fn run(&self, job: StoreJob) -> bool;
    /// Reboot as from the admin menu.
    fn reboot(&self) -> Result<(), String>;
    /// Factory reset as from the admin menu.
    fn factory_reset(&self) -> Result<(), String>;
}

/// Run `f` on the store and wait for its result.
pub fn on_store<T: Send + 'static>(
    phone: &dyn PhoneAccess,
    f: impl FnOnce(&mut OcmsStore) -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    if !phone.run(Box::new(move |s| {
        let _ = tx.send(f(s));
    })) {
        return Err("the phone is restarting".into());
    }
    rx.recv_timeout(JOB_TIMEOUT)
        .map_err(|_| "the phone did not answer".into())
}

/// A UPnP error (seed 003 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpnpFault {
    /// `errorCode`.
    pub code: u16,
    /// `errorDescription`.
    pub description: String,
}

impl UpnpFault {
    /// A fault.
    pub fn new(code: u16, description: impl Into<String>) -> UpnpFault {
        UpnpFault {
            code,
            description: description.into(),
        }
    }
}

/// An HTTP request as the core sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Method.
    pub method: &'a str,
    /// Request target as sent (the Digest `uri`).
    pub target: &'a str,
    /// `Authorization` header.
    pub authorization: Option<&'a str>,
    /// `SOAPAction` header.
    pub soap_action: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// Whether it came over TLS.
    pub tls: bool,
}

/// An HTTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `WWW-Authenticate`, with a 401.
    pub www_authenticate: Option<String>,
    /// Body.
    pub body: Vec<u8>,
}

const XML: &str = "text/xml; charset=\"utf-8\"";

impl Reply {
    fn xml(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: XML,
            www_authenticate: None,
            body: body.into_bytes(),
        }
    }

    /// An HTML error page (the FRITZ!Box's form, which clients such as fritzconnection
    /// recognise: `text/html` for a missing resource, an HTML 401 for refused credentials).
    pub fn html(status: u16, reason: &str) -> Reply {
        Reply {
            status,
            content_type: "text/html",
            www_authenticate: None,
            body: format!(
                "<HTML><HEAD><TITLE>{status} {reason}</TITLE></HEAD><BODY><H1>{status} {reason}</H1></BODY></HTML>\n"
            )
            .into_bytes(),
        }
    }

    fn fault(f: &UpnpFault, auth: Option<&ResponseAuth>) -> Reply {
        Reply::xml(500, soap::write_fault(f.code, &f.description, auth))
    }
}

/// A transaction in progress.
#[derive(Debug)]
struct Transaction {
    session_id: String,
    owner: IpAddr,
    started: Instant,
    pending: actions::Change,
    reboot: bool,
}

impl Transaction {
    fn owned_by(&self, call: &ActionCall, peer: IpAddr) -> bool {
        match &call.session_id {
            Some(id) => normalize_uuid(id).as_deref() == Some(self.session_id.as_str()),
            None => peer == self.owner,
        }
    }
}

/// `uuid:` prefix dropped, lower case, checked 8-4-4-4-12 hex.
fn normalize_uuid(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix("uuid:").unwrap_or(s).to_ascii_lowercase();
    let groups: Vec<&str> = s.split('-').collect();
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    ok.then_some(s)
}

/// A random (version 4) UUID.
pub fn random_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The TR-064 request handler, shared by the HTTP and HTTPS listeners.
pub struct Tr064 {
    model: Arc<DeskPhoneModel>,
    phone: Arc<dyn PhoneAccess>,
    auth: Mutex<Authenticator>,
    txn: Mutex<Option<Transaction>>,
    log: Mutex<VecDeque<String>>,
    facts: Mutex<services::DeviceFacts>,
    security_port: AtomicU16,
    txn_timeout: Duration,
}

impl std::fmt::Debug for Tr064 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tr064")
            .field("txn_timeout", &self.txn_timeout)
            .finish_non_exhaustive()
    }
}

/// Lock a mutex, ignoring poisoning (a panicking request thread leaves consistent state:
/// every critical section here is a few assignments).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Tr064 {
    /// A handler over `phone` with `model`'s items.
    pub fn new(
        model: Arc<DeskPhoneModel>,
        phone: Arc<dyn PhoneAccess>,
        txn_timeout: Duration,
    ) -> Tr064 {
        Tr064 {
            model,
            phone,
            auth: Mutex::new(Authenticator::new()),
            txn: Mutex::new(None),
            log: Mutex::new(VecDeque::new()),
            facts: Mutex::new(services::DeviceFacts::default()),
            security_port: AtomicU16::new(0),
            txn_timeout,
        }
    }

    /// Set the HTTPS port GetSecurityPort reports.
    pub fn set_security_port(&self, port: u16) {
        self.security_port.store(port, Ordering::SeqCst);
    }

    /// Add a line to the device log.
    pub fn note(&self, line: impl Into<String>) {
        let mut log = lock(&self.log);
        if log.len() >= DEVICE_LOG_LINES {
            log.pop_front();
        }
        let ts = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        log.push_back(format!("{ts} {}", line.into()));
    }

    fn device_log(&self) -> String {
        lock(&self.log)
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The device facts as `store` has them (for [`Tr064::set_facts`] before the phone runs).
    pub fn read_facts(s: &mut OcmsStore) -> services::DeviceFacts {
        let p = |s: &mut OcmsStore, n: &str| {
            cwmp_model::ParameterStore::internal_value(s, n)
                .map(|v| v.to_lexical())
                .unwrap_or_default()
        };
        services::DeviceFacts {
            manufacturer: p(s, "Device.DeviceInfo.Manufacturer"),
            model_name: p(s, "Device.DeviceInfo.ModelName"),
            description: p(s, "Device.DeviceInfo.Description"),
            serial_number: p(s, "Device.DeviceInfo.SerialNumber"),
            software_version: p(s, "Device.DeviceInfo.SoftwareVersion"),
        }
    }

    /// Set the facts the description shows while the phone is restarting.
    pub fn set_facts(&self, facts: services::DeviceFacts) {
        *lock(&self.facts) = facts;
    }

    /// The device facts (refreshed from the store when the phone answers; the last known
    /// ones while it restarts).
    pub fn facts(&self) -> services::DeviceFacts {
        let fresh = on_store(&*self.phone, Tr064::read_facts);
        let mut cached = lock(&self.facts);
        if let Ok(f) = fresh {
            *cached = f;
        }
        cached.clone()
    }

    fn credentials(&self) -> Result<AdminCredentials, UpnpFault> {
        let model = self.model.clone();
        on_store(&*self.phone, move |s| AdminCredentials {
            username: model
                .item_value(s.backend(), "admin-username")
                .unwrap_or_default(),
            password: model
                .item_value(s.backend(), "admin-password")
                .unwrap_or_default()
                .into(),
        })
        .map_err(|e| UpnpFault::new(501, format!("Action Failed: {e}")))
    }

    /// Answer one HTTP request from `peer`.
    pub fn handle(&self, now: Instant, peer: IpAddr, req: &Request<'_>) -> Reply {
        let path = req.target.split('?').next().unwrap_or("");
        if req.method == "GET" || req.method == "HEAD" {
            if path == "/tr64desc.xml" {
                return Reply::xml(200, services::root_description(&self.facts()));
            }
            if let Some(svc) = services::by_scpd_url(path) {
                return Reply::xml(200, services::scpd(svc));
            }
            return Reply::html(404, "Not Found");
        }
        if req.method != "POST" {
            return Reply::html(405, "Method Not Allowed");
        }
        let Some(svc) = services::by_control_url(path) else {
            return Reply::html(404, "Not Found");
        };
        if lock(&self.auth).throttled(now, peer) {
            return Reply::html(503, "Service Unavailable");
        }
        let call = match soap::parse_action(req.body) {
            Ok(c) => c,
            Err(ActionParseError::TooLarge) => return Reply::html(413, "Payload Too Large"),
            Err(e @ ActionParseError::NotAnAction(_)) => {
                return Reply::fault(&UpnpFault::new(401, format!("Invalid Action: {e}")), None)
            }
            Err(e) => {
                return Reply::fault(&UpnpFault::new(402, format!("Invalid Args: {e}")), None)
            }
        };
        match self.call(now, peer, req, svc, &call) {
            Ok(r) | Err(r) => r,
        }
    }

    fn call(
        &self,
        now: Instant,
        peer: IpAddr,
        req: &Request<'_>,
        svc: &'static ServiceDef,
        call: &ActionCall,
    ) -> Result<Reply, Reply> {
        let invalid = || Reply::fault(&UpnpFault::new(401, "Invalid Action"), None);
        if call.service_type != svc.service_type() {
            return Err(invalid());
        }
        if let Some(sa) = req.soap_action {
            let sa = sa.trim().trim_matches('"');
            if !sa.is_empty() && sa != format!("{}#{}", svc.service_type(), call.action) {
                return Err(invalid());
            }
        }
        let action = svc.action(&call.action).ok_or_else(invalid)?;
        // Exactly the in arguments, each once (seed 003 §6: otherwise 402).
        let mut expected: Vec<&str> = action.inputs().collect();
        let mut given: Vec<&str> = call.args.iter().map(|(n, _)| n.as_str()).collect();
        expected.sort_unstable();
        given.sort_unstable();
        if expected != given {
            return Err(Reply::fault(&UpnpFault::new(402, "Invalid Args"), None));
        }

        let mut response_auth = None;
        let mut user = String::new();
        if !action.no_auth {
            let creds = self.credentials().map_err(|f| Reply::fault(&f, None))?;
            if creds.password.is_empty() {
                return Err(Reply::fault(
                    &UpnpFault::new(
                        606,
                        "Action not authorized: no admin-password is set on the phone",
                    ),
                    None,
                ));
            }
            match &call.auth {
                Some(AuthHeader::InitChallenge { .. }) => {
                    let mut a = lock(&self.auth);
                    let nonce = a.content_nonce(now, rand::random());
                    return Err(self.auth_failed(nonce));
                }
                Some(AuthHeader::ClientAuth {
                    nonce,
                    auth,
                    user: uid,
                    realm,
                }) => {
                    let mut a = lock(&self.auth);
                    match a.verify_content(
                        now,
                        nonce,
                        auth.expose(),
                        uid,
                        realm,
                        &creds,
                        rand::random(),
                    ) {
                        ContentVerdict::Ok { next_nonce } => {
                            response_auth = Some(ResponseAuth::NextChallenge {
                                nonce: next_nonce,
                                realm: auth::CONTENT_REALM.to_owned(),
                            })
                        }
                        ContentVerdict::Refused { nonce } => {
                            a.note_refused(now, peer);
                            return Err(self.auth_failed(nonce));
                        }
                    }
                }
                None => {
                    let mut a = lock(&self.auth);
                    match a.verify_http(now, req.method, req.target, req.authorization, &creds) {
                        Verdict::Ok => {}
                        Verdict::Stale => {
                            let mut r = Reply::html(401, "Unauthorized");
                            r.www_authenticate = Some(a.http_challenge(now, rand::random(), true));
                            return Err(r);
                        }
                        _ => {
                            // Only credentials that failed count towards the 503 limit: the
                            // first, credential-less request of the Digest exchange does not.
                            if req.authorization.is_some() {
                                a.note_refused(now, peer);
                            }
                            let mut r = Reply::html(401, "Unauthorized");
                            r.www_authenticate = Some(a.http_challenge(now, rand::random(), false));
                            return Err(r);
                        }
                    }
                }
            }
            user = creds.username;
        }
        let out = self
            .execute(now, peer, svc, action, call, &user)
            .map_err(|f| Reply::fault(&f, response_auth.as_ref()))?;
        if action.write || svc.name == "DeviceConfig" {
            self.note(format!("{user}@{peer}: {}:{}", svc.name, action.name));
        }
        Ok(Reply::xml(
            200,
            soap::write_response(
                &svc.service_type(),
                action.name,
                &out,
                response_auth.as_ref(),
            ),
        ))
    }

    fn auth_failed(&self, nonce: String) -> Reply {
        Reply::fault(
            &UpnpFault::new(503, "Auth. failed"),
            Some(&ResponseAuth::Challenge {
                nonce,
                realm: auth::CONTENT_REALM.to_owned(),
            }),
        )
    }

    /// The transaction, after rolling back an expired one.
    fn current_txn(&self, now: Instant) -> std::sync::MutexGuard<'_, Option<Transaction>> {
        let mut t = lock(&self.txn);
        if let Some(tx) = t.as_ref() {
            if now.saturating_duration_since(tx.started) >= self.txn_timeout {
                log::info!(
                    "TR-064: transaction {} abandoned: rolled back",
                    tx.session_id
                );
                *t = None;
                drop(t);
                self.note("transaction abandoned: rolled back");
                t = lock(&self.txn);
            }
        }
        t
    }

    fn execute(
        &self,
        now: Instant,
        peer: IpAddr,
        svc: &'static ServiceDef,
        action: &'static services::ActionDef,
        call: &ActionCall,
        user: &str,
    ) -> Result<Vec<(&'static str, String)>, UpnpFault> {
        let locked = || {
            UpnpFault::new(
                LOCKED,
                "Action Failed: configuration locked by another session",
            )
        };
        let failed = |e: String| UpnpFault::new(501, format!("Action Failed: {e}"));
        let arg = |n: &str| {
            call.args
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        // DeviceConfig's control actions.
        match (svc.name, action.name) {
            ("DeviceConfig", "X_GenerateUUID") => return Ok(vec![("NewUUID", random_uuid())]),
            ("DeviceConfig", "ConfigurationStarted") => {
                let id = normalize_uuid(&arg("NewSessionID")).ok_or_else(|| {
                    UpnpFault::new(600, "Argument Value Invalid: NewSessionID is not a UUID")
                })?;
                let mut t = self.current_txn(now);
                if let Some(tx) = t.as_ref() {
                    if tx.session_id != id && !tx.owned_by(call, peer) {
                        return Err(locked());
                    }
                }
                *t = Some(Transaction {
                    session_id: id,
                    owner: peer,
                    started: now,
                    pending: actions::Change::default(),
                    reboot: false,
                });
                return Ok(Vec::new());
            }
            ("DeviceConfig", "ConfigurationFinished") => {
                let tx = {
                    let mut t = self.current_txn(now);
                    match t.as_ref() {
                        Some(tx) if tx.owned_by(call, peer) => t.take(),
                        Some(_) => return Err(locked()),
                        None => None,
                    }
                };
                let Some(tx) = tx else {
                    return Err(UpnpFault::new(
                        501,
                        "Action Failed: no configuration session (ConfigurationStarted first)",
                    ));
                };
                if !tx.pending.is_empty() {
                    let model = self.model.clone();
                    let change = tx.pending.clone();
                    on_store(&*self.phone, move |s| change.apply(s, &model))
                        .and_then(|r| r)
                        .map_err(failed)?;
                }
                let status = if tx.reboot {
                    self.phone.reboot().map_err(failed)?;
                    "RebootRequired"
                } else {
                    "ChangesApplied"
                };
                return Ok(vec![("NewStatus", status.to_owned())]);
            }
            _ => {}
        }
        // The lock.
        if action.write {
            let mut t = self.current_txn(now);
            if let Some(tx) = t.as_mut() {
                if !tx.owned_by(call, peer) {
                    return Err(locked());
                }
                match (svc.name, action.name) {
                    ("DeviceConfig", "Reboot") => {
                        tx.reboot = true;
                        return Ok(Vec::new());
                    }
                    ("DeviceConfig", "FactoryReset") => {
                        *t = None;
                    }
                    _ => {
                        let ctx = self.context(user);
                        match actions::plan(svc.name, action, &call.args, &self.model, &ctx)? {
                            actions::Outcome::Write(c) => {
                                tx.pending.merge(c);
                                return Ok(Vec::new());
                            }
                            actions::Outcome::Read(_) => {}
                        }
                    }
                }
            }
        }
        match (svc.name, action.name) {
            ("DeviceConfig", "Reboot") => {
                log::info!("TR-064: reboot asked by {user}@{peer}");
                self.phone.reboot().map_err(failed)?;
                return Ok(Vec::new());
            }
            ("DeviceConfig", "FactoryReset") => {
                log::info!("TR-064: factory reset asked by {user}@{peer}");
                self.phone.factory_reset().map_err(failed)?;
                return Ok(Vec::new());
            }
            _ => {}
        }
        let ctx = self.context(user);
        match actions::plan(svc.name, action, &call.args, &self.model, &ctx)? {
            actions::Outcome::Read(job) => {
                let model = self.model.clone();
                on_store(&*self.phone, move |s| job(s, &model)).map_err(failed)
            }
            actions::Outcome::Write(change) => {
                let model = self.model.clone();
                let changed = on_store(&*self.phone, move |s| change.apply(s, &model))
                    .and_then(|r| r)
                    .map_err(failed)?;
                log::info!("TR-064 change by {user}@{peer}: {changed:?}");
                Ok(Vec::new())
            }
        }
    }

    fn context(&self, user: &str) -> actions::Context {
        actions::Context {
            security_port: self.security_port.load(Ordering::SeqCst),
            device_log: self.device_log(),
            user: user.to_owned(),
        }
    }
}

/// The running TR-064 interface: HTTP and HTTPS listeners and the SSDP responder. Dropping it
/// closes them.
#[derive(Debug)]
pub struct Tr064Server {
    /// The handler.
    pub core: Arc<Tr064>,
    /// The HTTP listener.
    pub http: Option<http::Listener>,
    /// The HTTPS listener.
    pub https: Option<http::Listener>,
    /// The SSDP responder.
    pub ssdp: Option<ssdp::Responder>,
}

impl Tr064Server {
    /// Open what `cfg` asks for. `tls` is the device certificate and key (PEM) for HTTPS;
    /// `serial_number` makes the UDN.
    pub fn start(
        cfg: &Tr064Config,
        core: Arc<Tr064>,
        tls: Option<(&str, &str)>,
        serial_number: &str,
    ) -> std::io::Result<Tr064Server> {
        let http = cfg
            .http_address
            .map(|a| http::Listener::start(a, core.clone(), http::plain(), false, "TR-064"))
            .transpose()?;
        let https = match (cfg.https_address, tls) {
            (Some(a), Some((cert, key))) => Some(http::Listener::start(
                a,
                core.clone(),
                http::tls(cert, key)?,
                true,
                "TR-064",
            )?),
            _ => None,
        };
        if let Some(l) = &https {
            core.set_security_port(l.local_addr().port());
        }
        let ssdp = match (&http, cfg.ssdp) {
            (Some(h), true) => Some(ssdp::Responder::start(
                cfg.ssdp_address,
                &cfg.ssdp_interfaces,
                cfg.ssdp_notify,
                ssdp::SsdpInfo {
                    udn: services::udn(serial_number),
                    http: h.local_addr(),
                },
            )?),
            (None, true) => {
                log::warn!("TR-064: ssdp needs http-address (LOCATION); not started");
                None
            }
            _ => None,
        };
        Ok(Tr064Server {
            core,
            http,
            https,
            ssdp,
        })
    }
}

#[cfg(test)]
mod tests;

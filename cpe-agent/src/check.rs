//! `cpe-agent check --config FILE`: what the phone would do to reach its ACS, step by step,
//! with what fails and what to do about it in plain words.
//!
//! ```text
//!  configuration ─► DNS ─► TCP ─► TLS (https) ─► HTTP authentication ─► connection request ─► STUN
//!   Config::load    host    connect  chain, name,   an Inform the ACS      the reported URL's      a binding
//!                   lookup  (each    client cert    answers (cwmp-client   address and port         request
//!                           address)                HttpSession)           reachable here          (when enabled)
//! ```
//!
//! The first failing step stops the check; its name is in the last line and the exit status
//! is non-zero.
//!
//! # What the check uses, and what it leaves alone
//!
//! The values are the phone's current ones: the configuration's `[items]` (factory defaults)
//! in a temporary store, overlaid with the state directory's values when the phone has state
//! (read through `admin get`'s path: the running daemon's control socket, or the stored
//! state under the lock). A phone that never started is not started or written to.
//!
//! The HTTP step sends one real Inform through `cwmp_client::HttpSession` (the phone's own
//! session code: cookies, Basic/Digest, redirects, TLS settings from the certificate items
//! through [`crate::daemon::tls_from_items`]), with the event `2 PERIODIC`. Decision: the
//! check never reads or writes the engine's persisted state (`cwmp-state.json`), so pending
//! events, retry counts and unacknowledged transfers stay the phone's to deliver; `2 PERIODIC`
//! is the event that claims nothing happened (no BOOT, no BOOTSTRAP that would make an ACS
//! re-provision, no VALUE CHANGE). After the InformResponse the check sends the empty POST
//! and stops: a request the ACS then sends is left unanswered (the ACS sees an abandoned
//! session and sends it again in the phone's next session) and the check says that the ACS
//! has work queued.

use crate::config::Config;
use crate::netinfo;
use cwmp_client::{ClientIdentity, Credentials, HttpSession, TransportConfig};
use cwmp_model::{DateTime, ParameterStore, Value};
use cwmp_soap::{Body, Envelope, EventStruct, Header, Inform, Limits, ParameterValueStruct};
use deskphone_datamodel::{apply_items, DeskPhoneModel, OcmsStore};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long a TCP connect, a TLS handshake or an HTTP answer may take.
const NET_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a STUN answer.
const STUN_TIMEOUT: Duration = Duration::from_secs(3);

/// The items the check reads from the phone.
const ITEMS: &[&str] = &[
    "acs-server-address",
    "acs-username",
    "acs-password",
    "acs-server-ca-certificate-1",
    "acs-server-ca-certificate-2",
    "acs-client-certificate",
    "acs-client-key",
    "mac-address",
    "device-type",
    "standard-software-version",
    "acs-request-address",
    "acs-stun-enable",
    "acs-stun-server-address",
    "acs-stun-server-port",
    "acs-stun-username",
];

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It worked; what was seen.
    Ok(String),
    /// Not applicable or not configured; why (not a failure).
    Skipped(String),
    /// It failed: what happened, and what to do.
    Failed {
        /// What went wrong.
        what: String,
        /// What to do about it.
        todo: String,
    },
}

/// A step and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step's name (`DNS`, `TCP`, `TLS`, `HTTP authentication` …).
    pub name: &'static str,
    /// What happened.
    pub outcome: Outcome,
}

/// The whole check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The steps run, in order; the last one failed if any did.
    pub steps: Vec<Step>,
}

impl Report {
    /// The first failing step's name.
    pub fn failed_step(&self) -> Option<&'static str> {
        self.steps
            .iter()
            .find(|s| matches!(s.outcome, Outcome::Failed { .. }))
            .map(|s| s.name)
    }

    /// The report as text, one line per step (and a "what to do" line for a failure).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.steps {
            match &s.outcome {
                Outcome::Ok(m) => {
                    let _ = writeln!(out, "ok    {:<20} {m}", s.name);
                }
                Outcome::Skipped(m) => {
                    let _ = writeln!(out, "skip  {:<20} {m}", s.name);
                }
                Outcome::Failed { what, todo } => {
                    let _ = writeln!(out, "FAIL  {:<20} {what}", s.name);
                    let _ = writeln!(out, "      {:<20} what to do: {todo}", "");
                }
            }
        }
        match self.failed_step() {
            Some(name) => {
                let _ = writeln!(out, "check failed at step: {name}");
            }
            None => {
                let _ = writeln!(out, "all checks passed");
            }
        }
        out
    }

    fn push(&mut self, name: &'static str, outcome: Outcome) -> bool {
        let ok = !matches!(outcome, Outcome::Failed { .. });
        self.steps.push(Step { name, outcome });
        ok
    }
}

fn failed(what: impl Into<String>, todo: impl Into<String>) -> Outcome {
    Outcome::Failed {
        what: what.into(),
        todo: todo.into(),
    }
}

/// Check the configuration file at `path`: every step until the first failure.
pub fn run(path: &Path) -> Report {
    let mut report = Report::default();
    let model = DeskPhoneModel::builtin();
    let cfg = match Config::load(path, &model) {
        Ok(c) => c,
        Err(e) => {
            report.push(
                "configuration",
                failed(
                    e.to_string(),
                    "fix the key named above (README: Running the simulated phone)",
                ),
            );
            return report;
        }
    };
    let mut phone = match PhoneView::read(&cfg) {
        Ok(p) => p,
        Err(e) => {
            report.push(
                "configuration",
                failed(e, "fix the state directory or the [items] named above"),
            );
            return report;
        }
    };
    report.push(
        "configuration",
        Outcome::Ok(format!(
            "valid ({} items in the file; values from {})",
            cfg.items.len(),
            phone.source
        )),
    );
    let _ = check_acs(&mut report, &mut phone)
        && check_connection_request(&mut report, &cfg, &phone)
        && check_stun(&mut report, &phone);
    report
}

/// The phone's values as the check sees them: a temporary store with the configuration's
/// factory items and the phone's current values of [`ITEMS`].
struct PhoneView {
    _tmp: tempfile::TempDir,
    store: OcmsStore,
    model: DeskPhoneModel,
    identity: ClientIdentity,
    /// Where the values came from, in words.
    source: &'static str,
}

impl PhoneView {
    fn read(cfg: &Config) -> Result<PhoneView, String> {
        let tmp = tempfile::Builder::new()
            .prefix("cpe-agent-check-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let model = DeskPhoneModel::builtin()
            .with_factory_defaults(&cfg.items)
            .map_err(|f| format!("configuration [items]: {}", f.message))?;
        let scratch = Config {
            state_dir: tmp.path().join("state"),
            ..cfg.clone()
        };
        crate::state::ensure_dir(&scratch.state_dir)
            .map_err(|e| format!("temporary directory: {e}"))?;
        let (mut store, _) = crate::phone::open_store(&scratch, &model)?;
        let has_state = cfg.state_dir.join(crate::state::ITEMS_FILE).exists();
        let source = if has_state {
            let mut current = Vec::new();
            for item in ITEMS {
                let v = crate::daemon::local_request(
                    cfg,
                    crate::control::Request::Get {
                        item: (*item).to_string(),
                    },
                )?;
                current.push(((*item).to_string(), v));
            }
            apply_items(&mut store, &model, &current)
                .map_err(|e| format!("the phone's items: {}", crate::phone::set_error_text(&e)))?;
            "the phone's state directory"
        } else {
            "the configuration file (the phone has not started yet)"
        };
        let serial = match store.internal_value("Device.DeviceInfo.SerialNumber") {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        // The phone's own device certificate when it has one; else one made for the check
        // (the phone makes its own at first start).
        let cert = std::fs::read_to_string(cfg.state_dir.join(crate::identity::DEVICE_CERT_FILE));
        let key = std::fs::read_to_string(cfg.state_dir.join(crate::identity::DEVICE_KEY_FILE));
        let identity = match (cert, key) {
            (Ok(c), Ok(k)) => ClientIdentity::from_pem(&c, &k)
                .map_err(|e| format!("the phone's device certificate: {e}"))?,
            _ => crate::identity::default_identity(tmp.path(), &serial)
                .map_err(|e| format!("device certificate: {e}"))?,
        };
        Ok(PhoneView {
            _tmp: tmp,
            store,
            model,
            identity,
            source,
        })
    }

    fn item(&self, name: &str) -> String {
        self.model
            .item_value(self.store.backend(), name)
            .unwrap_or_default()
    }

    fn value(&mut self, param: &str) -> Option<Value> {
        self.store.internal_value(param)
    }

    fn string(&mut self, param: &str) -> String {
        self.value(param)
            .map(|v| v.to_lexical())
            .unwrap_or_default()
    }
}

/// DNS, TCP, TLS and HTTP authentication against the ACS URL.
fn check_acs(report: &mut Report, phone: &mut PhoneView) -> bool {
    let url = phone.item("acs-server-address");
    if url.trim().is_empty() {
        return report.push(
            "DNS",
            failed(
                "the phone has no ACS URL (acs-server-address is empty)",
                "set acs-server-address in [items], by DHCP option 43 or Cloud Deployment",
            ),
        );
    }
    let Some((host, port)) = netinfo::url_host_port(&url) else {
        return report.push(
            "DNS",
            failed(
                format!("acs-server-address {url:?} is not an http(s) URL with a host"),
                "write it as http://host:port/path or https://host:port/path",
            ),
        );
    };
    let addrs: Vec<SocketAddr> = match (host.as_str(), port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            return report.push(
                "DNS",
                failed(
                    format!("cannot resolve {host}: {e}"),
                    "check the host name in acs-server-address and this machine's DNS server (/etc/resolv.conf)",
                ),
            )
        }
    };
    if addrs.is_empty() {
        return report.push(
            "DNS",
            failed(
                format!("{host} has no address"),
                "check the host name in acs-server-address and the DNS records",
            ),
        );
    }
    report.push(
        "DNS",
        Outcome::Ok(format!(
            "{host} → {}",
            addrs
                .iter()
                .map(|a| a.ip().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    );
    let mut errors = Vec::new();
    let connected = addrs
        .iter()
        .find(|a| match TcpStream::connect_timeout(a, NET_TIMEOUT) {
            Ok(_) => true,
            Err(e) => {
                errors.push(format!("{a}: {e}"));
                false
            }
        });
    match connected {
        Some(a) => report.push("TCP", Outcome::Ok(format!("connected to {a}"))),
        None => {
            let refused = errors.iter().any(|e| e.contains("refused"));
            return report.push(
                "TCP",
                failed(
                    format!("cannot connect: {}", errors.join("; ")),
                    if refused {
                        format!("nothing listens on port {port} there: check the port in acs-server-address and that the ACS is running")
                    } else {
                        "no answer: check the route and firewalls between this machine and the ACS".to_string()
                    },
                ),
            );
        }
    };
    let https = url.to_ascii_lowercase().starts_with("https://");
    check_inform(report, phone, &url, https)
}

/// What a TLS failure means in words.
fn tls_advice(message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if m.contains("unknownissuer") || m.contains("unknown issuer") {
        "the ACS's certificate is not signed by a CA the phone trusts: put the CA that issued it (PEM) in acs-server-ca-certificate-1 or -2 (when both are empty the phone trusts the usual public roots)".into()
    } else if m.contains("not valid for name") || m.contains("notvalidforname") {
        "the ACS's certificate does not name the host in acs-server-address: use the name the certificate was issued for, or issue one with this name".into()
    } else if m.contains("expired") || m.contains("notvalidyet") {
        "the ACS's certificate is outside its validity period (or this machine's clock is wrong)"
            .into()
    } else if m.contains("certificaterequired")
        || m.contains("badcertificate")
        || m.contains("unknownca")
        || m.contains("alert")
    {
        "the ACS refused the phone's client certificate: set acs-client-certificate and acs-client-key to a certificate the ACS trusts (else the phone's default device certificate is sent)".into()
    } else {
        "check the ACS's TLS setup and the phone's certificate items".into()
    }
}

/// One Inform through the phone's own HTTP session code.
fn check_inform(report: &mut Report, phone: &mut PhoneView, url: &str, https: bool) -> bool {
    let tls = match crate::daemon::tls_from_items(&phone.store, &phone.model, &phone.identity) {
        Ok(t) => t,
        Err(e) => {
            return report.push(
                "TLS",
                failed(
                    format!("the certificate items cannot be used: {e}"),
                    "fix acs-server-ca-certificate-1/-2 or acs-client-certificate/-key (PEM)",
                ),
            )
        }
    };
    let user = phone.item("acs-username");
    let credentials =
        (!user.is_empty()).then(|| Credentials::new(user.clone(), phone.item("acs-password")));
    let config = TransportConfig {
        connect_timeout: NET_TIMEOUT,
        response_timeout: NET_TIMEOUT,
        ..TransportConfig::default()
    };
    let mut session =
        match HttpSession::new(&config, &tls, url, credentials, cwmp_client::os_seed()) {
            Ok(s) => s,
            Err(e) => {
                return report.push(
                    "HTTP authentication",
                    failed(e.to_string(), "fix acs-server-address"),
                )
            }
        };
    let inform = match inform_envelope(phone) {
        Ok(b) => b,
        Err(e) => return report.push("HTTP authentication", failed(e, "report this as a bug")),
    };
    let answer = session.post(Some(&inform), Some(""));
    let answer = match answer {
        Err(cwmp_client::Error::Tls(m)) => {
            return report.push(
                "TLS",
                failed(format!("handshake failed: {m}"), tls_advice(m.message())),
            )
        }
        other => other,
    };
    if https {
        report.push(
            "TLS",
            Outcome::Ok(format!(
                "certificate trusted ({}), client certificate {}",
                if tls.has_custom_cas() {
                    "by the CA items"
                } else {
                    "by the default roots"
                },
                if phone.item("acs-client-certificate").is_empty() {
                    "the default device certificate"
                } else {
                    "from acs-client-certificate"
                }
            )),
        );
    } else {
        report.push(
            "TLS",
            Outcome::Skipped("http:// URL: no TLS (TR-069 §3.3 recommends https)".into()),
        );
    }
    let response = match answer {
        Ok(r) => r,
        Err(cwmp_client::Error::Authentication(m)) => {
            return report.push(
                "HTTP authentication",
                failed(
                    format!("the ACS refused the phone: {m}"),
                    if user.is_empty() {
                        "the ACS wants credentials: set acs-username and acs-password".to_string()
                    } else {
                        format!("check acs-username ({user:?}) and acs-password against the ACS's settings for this phone")
                    },
                ),
            )
        }
        Err(e) => {
            return report.push(
                "HTTP authentication",
                failed(
                    format!("no answer to the Inform: {e}"),
                    "check that acs-server-address is the ACS's CWMP URL (path included)",
                ),
            )
        }
    };
    let parsed = cwmp_soap::parse(&response.body, &Limits::default());
    match (response.status, parsed) {
        (
            200,
            Ok(Envelope {
                body: Body::InformResponse(_),
                ..
            }),
        ) => {}
        (status, parsed) => {
            let what = match parsed {
                Ok(e) => format!("HTTP {status} with {}", e.body.name()),
                Err(_) => format!("HTTP {status} without an InformResponse"),
            };
            return report.push(
                "HTTP authentication",
                failed(
                    format!("the ACS did not accept the Inform: {what}"),
                    "check that acs-server-address is the ACS's CWMP URL (path included) and the ACS's log for this device",
                ),
            );
        }
    }
    // End the session politely; whatever the ACS wants next is left for the phone.
    let queued = match session.post(None, None) {
        Ok(r) if r.status == 200 && !r.body.is_empty() => {
            match cwmp_soap::parse(&r.body, &Limits::default()) {
                Ok(e) => format!(
                    "; the ACS has work queued for the phone ({})",
                    e.body.name()
                ),
                Err(_) => String::new(),
            }
        }
        _ => String::new(),
    };
    report.push(
        "HTTP authentication",
        Outcome::Ok(format!(
            "the ACS answered an Inform with InformResponse{}{queued}",
            if user.is_empty() {
                " (no credentials configured)".to_string()
            } else {
                format!(" as {user:?}")
            }
        )),
    )
}

/// The Inform the check sends: the phone's DeviceId and forced parameters, `2 PERIODIC`.
fn inform_envelope(phone: &mut PhoneView) -> Result<Vec<u8>, String> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let forced: Vec<String> = phone
        .model
        .schema()
        .params()
        .iter()
        .filter(|p| p.forced_inform)
        .map(|p| p.name.clone())
        .collect();
    let parameter_list = forced
        .iter()
        .filter_map(|p| {
            let v = phone.value(p)?;
            Some(ParameterValueStruct::new(
                p.clone(),
                v.to_lexical(),
                v.xsd_type(),
            ))
        })
        .collect();
    let inform = Inform {
        device_id: cwmp_soap::DeviceIdStruct {
            manufacturer: phone.string("Device.DeviceInfo.Manufacturer"),
            oui: phone.string("Device.DeviceInfo.ManufacturerOUI"),
            product_class: phone.string("Device.DeviceInfo.ProductClass"),
            serial_number: phone.string("Device.DeviceInfo.SerialNumber"),
        },
        event: vec![EventStruct {
            event_code: "2 PERIODIC".into(),
            command_key: String::new(),
        }],
        max_envelopes: 1,
        current_time: DateTime::from_unix(now).unwrap_or(DateTime::UNKNOWN),
        retry_count: 0,
        parameter_list,
    };
    cwmp_soap::to_vec(&Envelope {
        namespace: cwmp_soap::CwmpNamespace::V1_2,
        header: Header {
            id: Some("cpe-agent-check".into()),
            ..Header::default()
        },
        body: Body::Inform(inform),
    })
    .map_err(|e| format!("writing the Inform: {e}"))
}

/// Whether the connection-request URL the phone reports can be reached.
fn check_connection_request(report: &mut Report, cfg: &Config, phone: &PhoneView) -> bool {
    let Some(bind) = cfg.connection_request_address else {
        return report.push(
            "connection request",
            Outcome::Skipped(
                "no connection-request-address: the ACS cannot call the phone, it hears from it only when the phone calls"
                    .into(),
            ),
        );
    };
    let acs = phone.item("acs-server-address");
    let Some(local) = netinfo::for_acs(&acs).map(|n| n.ip) else {
        return report.push(
            "connection request",
            failed(
                "this machine has no route to the ACS",
                "check the network configuration",
            ),
        );
    };
    // The URL the running phone reports, else the one it would report (its address towards
    // the ACS and the configured port).
    let reported = phone.item("acs-request-address");
    let running = crate::state::StateLock::try_acquire(&cfg.state_dir)
        .map(|l| l.is_none())
        .unwrap_or(false);
    if running && !reported.is_empty() {
        let Some((host, port)) = netinfo::url_host_port(&reported) else {
            return report.push(
                "connection request",
                failed(
                    format!("the phone reports {reported:?}, not a URL"),
                    "restart the phone",
                ),
            );
        };
        let target = (host.as_str(), port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next());
        return match target.map(|t| TcpStream::connect_timeout(&t, NET_TIMEOUT)) {
            Some(Ok(_)) => report.push(
                "connection request",
                Outcome::Ok(format!(
                    "the phone reports {reported} and it answers here{}",
                    nat_note(local, &acs)
                )),
            ),
            Some(Err(e)) => report.push(
                "connection request",
                failed(
                    format!("the phone reports {reported} but it cannot be reached: {e}"),
                    "check connection-request-address and the firewall on this machine",
                ),
            ),
            None => report.push(
                "connection request",
                failed(
                    format!("the phone reports {reported}, whose host does not resolve"),
                    "restart the phone",
                ),
            ),
        };
    }
    // Not running: the listener the phone would open, tried for a moment.
    if !bind.ip().is_unspecified() && bind.ip() != local {
        return report.push(
            "connection request",
            failed(
                format!(
                    "the phone would report {local} (its address towards the ACS) but listens on {bind}"
                ),
                format!(
                    "set connection-request-address to 0.0.0.0:{} or {local}:{}",
                    bind.port(),
                    bind.port()
                ),
            ),
        );
    }
    let listener = match TcpListener::bind(bind) {
        Ok(l) => l,
        Err(e) => {
            return report.push(
                "connection request",
                failed(
                    format!("cannot listen on {bind}: {e}"),
                    "another program uses that port: choose another connection-request-address",
                ),
            )
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let target = SocketAddr::new(local, port);
    match TcpStream::connect_timeout(&target, NET_TIMEOUT) {
        Ok(_) => report.push(
            "connection request",
            Outcome::Ok(format!(
                "the phone would report http://{target}/… and it is reachable here{}",
                nat_note(local, &acs)
            )),
        ),
        Err(e) => report.push(
            "connection request",
            failed(
                format!("{target} cannot be reached from this machine: {e}"),
                "check the firewall on this machine",
            ),
        ),
    }
}

/// A note when the phone's address is private and the ACS's is not: the ACS cannot reach
/// a private address without STUN or port forwarding.
fn nat_note(local: std::net::IpAddr, acs_url: &str) -> String {
    let acs_ip = netinfo::url_host_port(acs_url)
        .and_then(|(h, p)| (h.as_str(), p).to_socket_addrs().ok()?.next())
        .map(|a| a.ip());
    let private = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        std::net::IpAddr::V6(v6) => v6.is_loopback(),
    };
    match acs_ip {
        Some(a) if private(local) && !private(a) => format!(
            " (note: {local} is a private address and the ACS is not: behind NAT the ACS needs STUN, acs-stun-enable, or a port forwarding)"
        ),
        _ => String::new(),
    }
}

/// A STUN binding request to the configured server, when STUN is on.
fn check_stun(report: &mut Report, phone: &PhoneView) -> bool {
    if phone.item("acs-stun-enable") != "true" && phone.item("acs-stun-enable") != "1" {
        return report.push("STUN", Outcome::Skipped("acs-stun-enable is off".into()));
    }
    let host = phone.item("acs-stun-server-address");
    let host = if host.is_empty() {
        netinfo::url_host_port(&phone.item("acs-server-address"))
            .map(|(h, _)| h)
            .unwrap_or_default()
    } else {
        host
    };
    let port: u16 = phone.item("acs-stun-server-port").parse().unwrap_or(3478);
    let server = match (host.as_str(), port)
        .to_socket_addrs()
        .map(|mut a| a.next())
    {
        Ok(Some(a)) => a,
        _ => {
            return report.push(
                "STUN",
                failed(
                    format!("cannot resolve the STUN server {host}:{port}"),
                    "check acs-stun-server-address",
                ),
            )
        }
    };
    let id =
        cwmp_connreq::TransactionId::from_random(rand::random(), cwmp_connreq::StunFormat::Classic);
    let request =
        cwmp_connreq::StunMessage::binding_request(id, false, &phone.item("acs-stun-username"));
    let outcome = (|| -> Result<SocketAddr, String> {
        let bytes = request
            .encode(cwmp_connreq::StunFormat::Classic, None)
            .map_err(|e| format!("{e:?}"))?;
        let any: SocketAddr = if server.is_ipv4() {
            "0.0.0.0:0".parse().map_err(|_| "address")?
        } else {
            "[::]:0".parse().map_err(|_| "address")?
        };
        let sock = UdpSocket::bind(any).map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(STUN_TIMEOUT))
            .map_err(|e| e.to_string())?;
        sock.send_to(&bytes, server).map_err(|e| e.to_string())?;
        let mut buf = [0u8; 1500];
        loop {
            let (n, from) = sock
                .recv_from(&mut buf)
                .map_err(|_| format!("no answer from {server} within {STUN_TIMEOUT:?}"))?;
            if from != server {
                continue;
            }
            let decoded = cwmp_connreq::decode(&buf[..n]).map_err(|e| format!("{e:?}"))?;
            if decoded.message.transaction_id != id {
                continue;
            }
            if let Some((code, text)) = decoded.message.error_code() {
                return Err(format!("the server answered error {code} {text}"));
            }
            return decoded
                .message
                .mapped_address()
                .ok_or_else(|| "the answer has no MAPPED-ADDRESS".to_string());
        }
    })();
    match outcome {
        Ok(mapped) => report.push(
            "STUN",
            Outcome::Ok(format!("{server} sees the phone as {mapped}")),
        ),
        Err(e) => report.push(
            "STUN",
            failed(
                format!("binding request to {server}: {e}"),
                "check acs-stun-server-address/-port and that UDP reaches the server",
            ),
        ),
    }
}

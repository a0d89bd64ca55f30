//! `cpe-agent demo`: a phone and its ACS in one command, nothing installed, no configuration.
//!
//! The ACS is the project's scripted fake ACS (`cwmp_testkit::acs::FakeAcs`, a real CWMP peer
//! over loopback HTTP written with the project's codec), and a second one serves the firmware
//! image. The phone is the daemon itself ([`crate::daemon::run`] in a thread, a temporary state
//! directory, connection requests on a free port of 127.0.0.1). The tour:
//!
//! ```text
//!  1 bootstrap         phone → ACS  Inform 0 BOOTSTRAP, 1 BOOT
//!  2 read the tree     ACS → phone  GetParameterNames Device., GetParameterValues Device.
//!  3 SIP settings      ACS → phone  SetParameterValues (one refused with 9007, then good ones)
//!  4 connection req.   demo → phone HTTP GET with Digest → Inform 6 CONNECTION REQUEST
//!  5 firmware          ACS → phone  Download; the phone fetches, verifies, installs, reboots
//!                      phone → ACS  Inform 1 BOOT, 7 TRANSFER COMPLETE, M Download + TransferComplete
//!  6 factory reset     ACS → phone  FactoryReset → Inform 0 BOOTSTRAP, 1 BOOT
//! ```
//!
//! Every CWMP message is printed as it crosses the wire (the fake ACS's observer, see
//! [`cwmp_testkit::acs::Observer`]): one line each, with direction, method, key arguments,
//! events and faults; colour only when standard output is a terminal. The phone is stopped
//! the way the daemon is always stopped, by SIGTERM (raised in this process, handled by the
//! daemon's signal thread).

use crate::config::Config;
use crate::firmware::build_image;
use crate::transfer::FIRMWARE;
use cwmp_model::XsdType;
use cwmp_soap::{
    Body, Download, Envelope, GetParameterNames, GetParameterValues, Limits, ParameterValueStruct,
    SetParameterValues,
};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, RecordedRequest, Reply, SessionLog};
use deskphone_datamodel::DeskPhoneModel;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one step of the tour may take before the demo gives up.
const STEP_LIMIT: Duration = Duration::from_secs(30);
/// The firmware version the tour installs.
const NEW_VERSION: &str = "V2.0.0-demo";
/// The Download's CommandKey.
const DOWNLOAD_KEY: &str = "demo-firmware";
/// The connection-request credentials of the demo phone.
const CR_USER: &str = "demo-acs";
const CR_PASSWORD: &str = "demo-cr-secret";

/// What `cpe-agent demo` does besides the tour.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Colour the transcript (the caller decides; `None`: when stdout is a terminal).
    pub colour: Option<bool>,
    /// Keep the phone running after the tour with its web-based management on this address
    /// (user `admin`, password [`WEB_PASSWORD`]) until Ctrl-C.
    pub web: Option<std::net::SocketAddr>,
}

/// The demo phone's admin password (its web page's login).
pub const WEB_PASSWORD: &str = "demo";

/// The transcript: one line per CWMP message, shared by the observers of both servers.
struct Transcript {
    t0: Instant,
    colour: bool,
    out: Mutex<()>,
    messages: AtomicUsize,
    faults: AtomicUsize,
}

const CYAN: &str = "\x1b[36m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl Transcript {
    fn paint(&self, colour: &str, text: &str) -> String {
        if self.colour {
            format!("{colour}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn line(&self, text: &str) {
        let _g = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn step(&self, n: usize, title: &str) {
        self.line("");
        self.line(&self.paint(BOLD, &format!("── {n}. {title}")));
    }

    fn note(&self, text: &str) {
        let t = self.t0.elapsed().as_secs_f64();
        self.line(&self.paint(DIM, &format!("{t:7.3}s   {text}")));
    }

    /// One message: `from → to  Method  details`.
    fn message(&self, from_phone: bool, peer: &str, what: &Described) {
        self.messages.fetch_add(1, Ordering::SeqCst);
        if what.fault {
            self.faults.fetch_add(1, Ordering::SeqCst);
        }
        let t = self.t0.elapsed().as_secs_f64();
        let arrow = if from_phone {
            self.paint(CYAN, &format!("phone → {peer:<5}"))
        } else {
            self.paint(YELLOW, &format!("{peer:>5} → phone"))
        };
        let method = if what.fault {
            self.paint(RED, &what.method)
        } else {
            self.paint(BOLD, &what.method)
        };
        let details = if what.details.is_empty() {
            String::new()
        } else {
            format!("  {}", what.details)
        };
        self.line(&format!("{t:7.3}s   {arrow}  {method}{details}"));
    }
}

/// A message in words.
struct Described {
    method: String,
    details: String,
    fault: bool,
}

fn described(method: impl Into<String>, details: impl Into<String>) -> Described {
    Described {
        method: method.into(),
        details: details.into(),
        fault: false,
    }
}

/// A parameter name without the `Device.Services.VoiceService.1.VoiceProfile.1.` noise.
fn short(name: &str) -> &str {
    name.strip_prefix("Device.Services.VoiceService.1.VoiceProfile.1.")
        .unwrap_or(name)
}

fn list<T>(items: &[T], max: usize, f: impl Fn(&T) -> String) -> String {
    let mut parts: Vec<String> = items.iter().take(max).map(f).collect();
    if items.len() > max {
        parts.push(format!("… ({} more)", items.len() - max));
    }
    parts.join(", ")
}

fn values(list_: &[ParameterValueStruct], max: usize) -> String {
    list(list_, max, |p| {
        format!("{} = {:?}", short(&p.name), p.value)
    })
}

/// One CWMP body in words: the method and its key arguments.
fn describe_body(body: &Body) -> Described {
    match body {
        Body::Inform(i) => described(
            "Inform",
            format!(
                "events: {}; {} {} serial {}",
                list(&i.event, 8, |e| if e.command_key.is_empty() {
                    e.event_code.clone()
                } else {
                    format!("{} ({})", e.event_code, e.command_key)
                }),
                i.device_id.manufacturer,
                i.device_id.product_class,
                i.device_id.serial_number
            ),
        ),
        Body::InformResponse(_) => described("InformResponse", ""),
        Body::GetParameterNames(g) => described(
            "GetParameterNames",
            format!("{} NextLevel={}", g.parameter_path, g.next_level),
        ),
        Body::GetParameterNamesResponse(r) => described(
            "GetParameterNamesResponse",
            format!(
                "{} names, {} writable",
                r.parameter_list.len(),
                r.parameter_list.iter().filter(|p| p.writable).count()
            ),
        ),
        Body::GetParameterValues(g) => described(
            "GetParameterValues",
            list(&g.parameter_names, 4, |n| n.clone()),
        ),
        Body::GetParameterValuesResponse(r) => {
            let pick: Vec<ParameterValueStruct> = r
                .parameter_list
                .iter()
                .filter(|p| {
                    p.name.ends_with("DeviceInfo.SoftwareVersion")
                        || p.name.ends_with("SIP.RegisterExpires")
                })
                .cloned()
                .collect();
            described(
                "GetParameterValuesResponse",
                format!(
                    "{} values, e.g. {}",
                    r.parameter_list.len(),
                    values(&pick, 2)
                ),
            )
        }
        Body::SetParameterValues(s) => described(
            "SetParameterValues",
            format!(
                "{} (ParameterKey {:?})",
                values(&s.parameter_list, 4),
                s.parameter_key
            ),
        ),
        Body::SetParameterValuesResponse(r) => {
            described("SetParameterValuesResponse", format!("Status {}", r.status))
        }
        Body::Download(d) => described(
            "Download",
            format!(
                "{:?} {} from {} (CommandKey {:?})",
                d.file_type, d.file_size, d.url, d.command_key
            )
            .replacen(" 0 from", " from", 1),
        ),
        Body::DownloadResponse(r) => described(
            "DownloadResponse",
            format!(
                "Status {} ({})",
                r.status,
                if r.status == 1 {
                    "will be done after the session"
                } else {
                    "done"
                }
            ),
        ),
        Body::TransferComplete(t) => Described {
            method: "TransferComplete".into(),
            details: format!(
                "CommandKey {:?}, FaultCode {}{}",
                t.command_key,
                t.fault_struct.fault_code,
                if t.fault_struct.fault_code == 0 {
                    " (success)".to_string()
                } else {
                    format!(" {:?}", t.fault_struct.fault_string)
                }
            ),
            fault: t.fault_struct.fault_code != 0,
        },
        Body::Fault(f) => Described {
            method: "Fault".into(),
            details: match &f.detail {
                Some(d) => format!(
                    "{} {}{}",
                    d.code,
                    d.string,
                    if d.set_parameter_values_faults.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ": {}",
                            list(&d.set_parameter_values_faults, 4, |p| format!(
                                "{} {} {}",
                                short(&p.name),
                                p.code,
                                p.string
                            ))
                        )
                    }
                ),
                None => f.faultstring.clone(),
            },
            fault: true,
        },
        other => described(other.name(), ""),
    }
}

/// A request to the ACS in words.
fn describe_request(req: &RecordedRequest) -> Described {
    if req.body.is_empty() {
        return described("(empty POST)", "nothing more from the phone");
    }
    match cwmp_soap::parse(&req.body, &Limits::default()) {
        Ok(Envelope { body, .. }) => describe_body(&body),
        Err(e) => Described {
            method: "(unparsable)".into(),
            details: format!("{e:?}"),
            fault: true,
        },
    }
}

/// The ACS's reply in words.
fn describe_reply(reply: &Reply) -> Described {
    match reply.status {
        200 if !reply.body.is_empty() => match cwmp_soap::parse(&reply.body, &Limits::default()) {
            Ok(Envelope { body, .. }) => describe_body(&body),
            Err(e) => Described {
                method: "(unparsable)".into(),
                details: format!("{e:?}"),
                fault: true,
            },
        },
        204 => described("204 No Content", "the session is over"),
        s => Described {
            method: format!("HTTP {s}"),
            details: String::from_utf8_lossy(&reply.body).into_owned(),
            fault: s >= 400,
        },
    }
}

/// The firmware image the built-in file server serves (a small payload: the tour is quick).
fn demo_image(model: &DeskPhoneModel) -> Vec<u8> {
    let device_type = model
        .item("device-type")
        .map(|i| i.default().to_string())
        .unwrap_or_default();
    let payload: Vec<u8> = (0..256 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    build_image(&device_type, NEW_VERSION, &payload)
}

fn request(body: Body) -> AcsMessage {
    AcsMessage::Request(body)
}

/// A SetParameterValues of SIP parameters, each with its `xsi:type` as an ACS sends it.
fn sip_set(values: &[(&str, &str, XsdType)], key: &str) -> AcsMessage {
    request(Body::SetParameterValues(SetParameterValues {
        parameter_list: values
            .iter()
            .map(|(n, v, ty)| {
                ParameterValueStruct::new(
                    format!("Device.Services.VoiceService.1.VoiceProfile.1.SIP.{n}"),
                    *v,
                    *ty,
                )
            })
            .collect(),
        parameter_key: key.into(),
    }))
}

fn events(s: &SessionLog) -> Vec<String> {
    s.inform
        .event
        .iter()
        .map(|e| e.event_code.clone())
        .collect()
}

fn inform_value(s: &SessionLog, suffix: &str) -> Option<String> {
    s.inform
        .parameter_list
        .iter()
        .find(|p| p.name.ends_with(suffix))
        .map(|p| p.value.clone())
}

/// Wait until `f` finds something in the ACS's sessions, or fail naming the step.
fn wait_for<T>(
    acs: &FakeAcs,
    step: &str,
    daemon_done: &dyn Fn() -> bool,
    f: impl Fn(&[SessionLog]) -> Option<T>,
) -> Result<T, String> {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f(&acs.sessions()) {
            return Ok(v);
        }
        if daemon_done() {
            return Err(format!("{step}: the phone stopped"));
        }
        if t0.elapsed() > STEP_LIMIT {
            return Err(format!("{step}: nothing within {STEP_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait until the ACS has seen no request for `quiet` and every session has ended.
fn settle(acs: &FakeAcs, quiet: Duration) {
    let t0 = Instant::now();
    let mut last = acs.request_count();
    let mut since = Instant::now();
    while t0.elapsed() < STEP_LIMIT {
        std::thread::sleep(Duration::from_millis(20));
        let n = acs.request_count();
        if n != last {
            last = n;
            since = Instant::now();
        } else if since.elapsed() >= quiet && acs.sessions().iter().all(|s| s.ended) {
            return;
        }
    }
}

/// Send a connection request the way an ACS does: HTTP GET with Digest, through the same
/// HTTP client code the phone uses for file servers (`cwmp_client::download`).
fn connection_request(url: &str, dir: &std::path::Path) -> Result<(), String> {
    let tls = cwmp_client::TlsSettings::new();
    let req = cwmp_client::download::FetchRequest {
        url,
        username: CR_USER,
        password: CR_PASSWORD.into(),
        file_size: 0,
        tls: &tls,
        limits: cwmp_client::download::DownloadLimits {
            max_size: 64 * 1024,
            ..Default::default()
        },
    };
    let dest = dir.join("connection-request.reply");
    cwmp_client::download::download(&req, &dest, &mut |_| Ok(()))
        .map(|_| ())
        .map_err(|f| format!("connection request to {url}: {}", f.message))
}

/// The phone's configuration: a temporary state directory, the fake ACS, connection requests
/// on a free loopback port, no periodic informs (every session is one of the tour's).
fn demo_config(
    dir: &std::path::Path,
    acs_url: &str,
    web: Option<std::net::SocketAddr>,
) -> Result<Config, String> {
    let web = web
        .map(|a| format!("web-address = \"{a}\"\n"))
        .unwrap_or_default();
    let text = format!(
        "state-dir = {dir:?}\nconnection-request-address = \"127.0.0.1:0\"\n{web}\n[items]\n\
         acs-server-address = {acs_url:?}\nacs-periodic-inform-enabled = false\n\
         acs-request-username = {CR_USER:?}\nacs-request-password = {CR_PASSWORD:?}\n\
         admin-password = {WEB_PASSWORD:?}\n",
        dir = dir.join("state").display().to_string(),
    );
    Config::parse(&text, &DeskPhoneModel::builtin()).map_err(|e| format!("demo config: {e}"))
}

/// Run the tour and print its transcript. `Ok` when every step did what it should.
pub fn run(opts: &DemoOptions) -> Result<(), String> {
    let t = Arc::new(Transcript {
        t0: Instant::now(),
        colour: opts
            .colour
            .unwrap_or_else(|| std::io::stdout().is_terminal()),
        out: Mutex::new(()),
        messages: AtomicUsize::new(0),
        faults: AtomicUsize::new(0),
    });
    let tmp = tempfile::Builder::new()
        .prefix("cpe-agent-demo-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let model = DeskPhoneModel::builtin();

    // The file server: one image at /fw/<version>.img.
    let image = demo_image(&model);
    let image_len = image.len();
    let path = format!("/fw/{NEW_VERSION}.img");
    let served = path.clone();
    let tf = t.clone();
    let files = FakeAcs::builder()
        .handler(move |r| {
            if r.method == "GET" && r.path == served {
                Reply::status(200).with_body(image.clone())
            } else {
                Reply::status(404)
            }
        })
        .observe(move |req, reply| {
            tf.message(
                true,
                "files",
                &described(
                    format!("{} {}", req.method, req.path),
                    format!("→ {} ({} bytes)", reply.status, reply.body.len()),
                ),
            );
        })
        .start()
        .map_err(|e| format!("file server: {e}"))?;
    let image_url = files.url_for(&path);

    // The ACS: the first session reads the tree and sets SIP values; later sessions are
    // queued as the tour goes.
    let ta = t.clone();
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([
            request(Body::GetParameterNames(GetParameterNames {
                parameter_path: "Device.".into(),
                next_level: false,
            })),
            request(Body::GetParameterValues(GetParameterValues {
                parameter_names: vec!["Device.".into()],
            })),
            // RegisterExpires is 60..7200 on this phone: refused with 9007, nothing applied.
            sip_set(
                &[
                    ("RegistrarServer", "sip.demo.example", XsdType::String),
                    ("RegisterExpires", "10", XsdType::UnsignedInt),
                ],
                "demo-sip-1",
            ),
            sip_set(
                &[
                    ("RegistrarServer", "sip.demo.example", XsdType::String),
                    ("ProxyServer", "sip.demo.example", XsdType::String),
                    ("RegisterExpires", "600", XsdType::UnsignedInt),
                    ("X_UNIFY_Transport", "1", XsdType::UnsignedInt),
                ],
                "demo-sip-2",
            ),
        ]))
        .observe(move |req, reply| {
            ta.message(true, "ACS", &describe_request(req));
            ta.message(false, "ACS", &describe_reply(reply));
        })
        .start()
        .map_err(|e| format!("fake ACS: {e}"))?;

    t.line(&t.paint(
        BOLD,
        "cpe-agent demo: a simulated Desk Phone CP and a scripted ACS",
    ));
    t.note(&format!("ACS         {}", acs.url()));
    t.note(&format!("file server {}", files.url_for("/fw/")));
    t.note(&format!("state       {}", tmp.path().display()));

    let cfg = demo_config(tmp.path(), acs.url(), opts.web)?;
    let daemon = std::thread::Builder::new()
        .name("demo-phone".into())
        .spawn(move || crate::daemon::run(cfg))
        .map_err(|e| format!("phone thread: {e}"))?;
    let daemon_done = || daemon.is_finished();
    let result = tour(&t, &acs, &image_url, tmp.path(), &daemon_done);

    if let (Some(addr), Ok(())) = (opts.web, &result) {
        t.line("");
        t.line(&t.paint(
            BOLD,
            &format!(
                "The phone runs on: its web page is http://{addr}/ (user admin, password {WEB_PASSWORD}); Ctrl-C stops it."
            ),
        ));
        // The daemon's signal thread stops the phone on Ctrl-C.
        let _ = daemon.join();
        return Ok(());
    }
    // Stop the phone as it is always stopped: SIGTERM, handled by the daemon's signal thread.
    if !daemon.is_finished() {
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGTERM);
    }
    let stopped = daemon
        .join()
        .map_err(|_| "the phone thread panicked".to_string())?;
    result?;
    stopped?;

    let sessions = acs.sessions();
    t.line("");
    t.line(&t.paint(BOLD, "Summary"));
    t.line(&format!(
        "  {} CWMP sessions, {} messages, {} faults (the refused RegisterExpires, on purpose), {:.1} s",
        sessions.len(),
        t.messages.load(Ordering::SeqCst),
        t.faults.load(Ordering::SeqCst),
        t.t0.elapsed().as_secs_f64()
    ));
    t.line(&format!(
        "  firmware {} installed from the file server ({image_len} bytes), reported by TransferComplete",
        NEW_VERSION
    ));
    t.line("  the factory reset brought the phone back to 0 BOOTSTRAP with its factory items");
    t.line("  Next: `cpe-agent --config FILE` against your own ACS (README: Quick start).");
    Ok(())
}

/// The steps after the start; the bootstrap session's script is already queued.
fn tour(
    t: &Transcript,
    acs: &FakeAcs,
    image_url: &str,
    tmp: &std::path::Path,
    daemon_done: &dyn Fn() -> bool,
) -> Result<(), String> {
    t.step(
        1,
        "Bootstrap: the phone's first contact; the ACS reads the tree and sets SIP values",
    );
    wait_for(acs, "bootstrap", daemon_done, |s| {
        s.first()
            .filter(|s| s.ended && events(s).contains(&"0 BOOTSTRAP".into()))
            .map(|_| ())
    })?;
    // The connection-request URL may be new to the ACS after the first Inform (Active
    // notification: a session of its own); let that happen before the tour goes on.
    settle(acs, Duration::from_millis(300));
    let cr_url = acs
        .sessions()
        .iter()
        .rev()
        .find_map(|s| inform_value(s, "ManagementServer.ConnectionRequestURL"))
        .filter(|u| !u.is_empty())
        .ok_or("the phone reported no ConnectionRequestURL")?;

    t.step(
        2,
        "Connection request: the ACS calls the phone in and sends a firmware Download",
    );
    let before = acs.sessions().len();
    acs.push_script(
        CwmpScript::new()
            .session([request(Body::Download(Download::new(
                DOWNLOAD_KEY,
                FIRMWARE,
                image_url,
            )))])
            // The session after the firmware reboot: the TransferComplete, then a reset.
            .session([request(Body::FactoryReset)]),
    );
    t.note(&format!(
        "ACS   → phone  HTTP GET {cr_url} (Digest, user {CR_USER})"
    ));
    connection_request(&cr_url, tmp)?;
    t.note("phone → ACS    200 OK: the phone opens a session");
    wait_for(acs, "connection request", daemon_done, |s| {
        s.get(before..)?
            .iter()
            .find(|s| s.ended && events(s).contains(&"6 CONNECTION REQUEST".into()))
            .map(|_| ())
    })?;

    t.step(
        3,
        "Firmware: fetch, verify, install, reboot, TransferComplete; then a FactoryReset",
    );
    let version = wait_for(acs, "firmware download", daemon_done, |s| {
        s.iter()
            .find(|s| {
                s.received.iter().flatten().any(|e| {
                    matches!(&e.body, Body::TransferComplete(tc) if tc.command_key == DOWNLOAD_KEY)
                })
            })
            .map(|s| inform_value(s, "DeviceInfo.SoftwareVersion").unwrap_or_default())
    })?;
    let tc = acs.transfer_completes_for(DOWNLOAD_KEY);
    match tc.first() {
        Some(c) if c.message.fault_struct.fault_code == 0 && version == NEW_VERSION => {}
        Some(c) => {
            return Err(format!(
                "firmware: the phone runs {version:?}, TransferComplete fault {} {:?}",
                c.message.fault_struct.fault_code, c.message.fault_struct.fault_string
            ))
        }
        None => return Err("firmware: no TransferComplete".into()),
    }
    t.note(&format!("the phone rebooted into {version}"));

    t.step(
        4,
        "Factory reset: back to factory settings, a new bootstrap",
    );
    let resets = wait_for(acs, "factory reset", daemon_done, |s| {
        let first_reset = s
            .iter()
            .position(|s| s.sent.iter().any(|m| m == "FactoryReset"))?;
        s[first_reset + 1..]
            .iter()
            .find(|s| s.ended && events(s).contains(&"0 BOOTSTRAP".into()))
            .map(|_| ())
    });
    resets?;
    settle(acs, Duration::from_millis(200));
    Ok(())
}

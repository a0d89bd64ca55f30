//! `cpe-agent fleet` end to end: the real binary runs a fleet of simulated phones against the
//! fake ACS on loopback.

mod phone_common;

use cpe_agent::firmware::build_image;
use cwmp_connreq::{authorization_header, parse_challenge};
use cwmp_soap::{Body, Download, Reboot};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, Fault, Reply, SessionLog};
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cpe-agent");
/// How long a test waits for something to happen (not a performance bound).
const WAIT: Duration = Duration::from_secs(90);
const CR_PASSWORD: &str = "crpass";
const CRU: &str = "Device.ManagementServer.ConnectionRequestURL";

struct Fleet {
    dir: tempfile::TempDir,
    child: Option<Child>,
    runs: u32,
}

impl Fleet {
    fn new(acs_url: &str, fleet: &str) -> Fleet {
        Fleet::with_items(acs_url, fleet, "")
    }

    /// A fleet whose phones also get `items` (TOML lines of `[items]`).
    fn with_items(acs_url: &str, fleet: &str, items: &str) -> Fleet {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = format!(
            "state-dir = \"state\"\nconnection-request-address = \"127.0.0.1:0\"\n\
             connection-request-burst = 100\n\
             [items]\nacs-server-address = \"{acs_url}\"\nacs-periodic-inform-enabled = false\n\
             acs-retry-min-wait-interval = 5\nacs-retry-interval-multiplier = 2000\n\
             acs-request-password = \"{CR_PASSWORD}\"\n{items}\n[fleet]\n{fleet}\n"
        );
        std::fs::write(dir.path().join("fleet.toml"), cfg).expect("config");
        Fleet {
            dir,
            child: None,
            runs: 0,
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("fleet-{}.log", self.runs)))
            .unwrap_or_default()
    }

    fn start(&mut self, args: &[&str]) {
        self.runs += 1;
        let log = std::fs::File::create(self.dir.path().join(format!("fleet-{}.log", self.runs)))
            .expect("log");
        let child = Command::new(BIN)
            .arg("fleet")
            .arg("--config")
            .arg(self.dir.path().join("fleet.toml"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn");
        self.child = Some(child);
    }

    /// Run to completion (with `--duration`) and return the exit status's success.
    fn wait(&mut self) -> bool {
        let mut c = self.child.take().expect("running");
        c.wait().expect("wait").success()
    }

    fn terminate(&mut self) {
        let child = self.child.take().expect("running");
        let log = self.dir.path().join(format!("fleet-{}.log", self.runs));
        phone_common::sigterm_and_wait(child, Duration::from_secs(20), &log);
    }

    fn summary(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.state().join("fleet-summary.json"))
            .expect("summary written");
        serde_json::from_str(&text).expect("summary is JSON")
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn acs() -> FakeAcs {
    FakeAcs::builder()
        .max_connections(256)
        .start()
        .expect("acs")
}

fn serial(s: &SessionLog) -> String {
    s.inform.device_id.serial_number.clone()
}

fn codes(s: &SessionLog) -> Vec<String> {
    s.event_codes()
}

fn wait_sessions(acs: &FakeAcs, n: usize, fleet: &Fleet) {
    assert!(
        acs.wait_for_sessions(n, WAIT),
        "expected {n} sessions, got {}\n{}",
        acs.sessions_ended(),
        fleet.log()
    );
}

/// One connection request as an ACS sends it: bare GET, 401, Digest retry. The final status.
fn connection_request(url: &str, user: &str) -> u16 {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest.split_at(rest.find('/').expect("path"));
    let mut s = TcpStream::connect(authority).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = |s: &mut TcpStream| -> (u16, String) {
        let mut buf = Vec::new();
        let mut b = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut b).expect("read");
            assert!(n > 0, "closed");
            buf.extend_from_slice(&b[..n]);
        }
        let text = String::from_utf8_lossy(&buf).to_string();
        let status = text[9..12].parse().expect("status");
        (status, text)
    };
    write!(s, "GET {path} HTTP/1.1\r\nHost: {authority}\r\n\r\n").unwrap();
    let (status, text) = head(&mut s);
    assert_eq!(status, 401, "{text}");
    let challenge = text
        .lines()
        .find_map(|l| l.strip_prefix("WWW-Authenticate: "))
        .expect("challenge");
    let ch = parse_challenge(challenge).expect("digest challenge");
    let auth = authorization_header(&ch, user, CR_PASSWORD, "GET", path, "0a4f113b", 1);
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    head(&mut s).0
}

/// Serial number → ConnectionRequestURL, from the boot Informs.
fn cr_urls(acs: &FakeAcs) -> HashMap<String, String> {
    acs.sessions()
        .iter()
        .filter_map(|s| {
            let url = s
                .inform
                .parameter_list
                .iter()
                .find(|p| p.name == CRU)?
                .value
                .clone();
            Some((serial(s), url))
        })
        .collect()
}

#[test]
fn two_hundred_phones_boot_once_and_answer_their_own_connection_requests() {
    let acs = acs();
    let image = build_image(
        "OpenScape Desk Phone CP600",
        "V9 R9.9.9",
        b"payload of the image",
    );
    let files = FakeAcs::builder()
        .handler(move |_| Reply::status(200).with_body(image.clone()))
        .start()
        .expect("file server");
    let mut fleet = Fleet::new(acs.url(), "count = 200\nboot-rate = 500\nmax-sessions = 16");
    fleet.start(&[]);
    wait_sessions(&acs, 200, &fleet);
    let sessions = acs.sessions();
    let serials: BTreeSet<String> = sessions.iter().map(serial).collect();
    assert_eq!(serials.len(), 200, "every phone has its own serial number");
    for s in &sessions {
        assert!(
            codes(s).contains(&"0 BOOTSTRAP".to_string()),
            "{:?}",
            codes(s)
        );
    }
    let urls = cr_urls(&acs);
    assert_eq!(urls.len(), 200);
    assert_eq!(
        urls.values().collect::<BTreeSet<_>>().len(),
        200,
        "each phone has its own ConnectionRequestURL"
    );

    // Connection requests to three chosen phones reach exactly those three.
    let chosen: Vec<String> = serials.iter().step_by(67).take(3).cloned().collect();
    for s in &chosen {
        assert_eq!(connection_request(&urls[s], s), 200, "{}", fleet.log());
    }
    wait_sessions(&acs, 203, &fleet);
    let after: Vec<SessionLog> = acs.sessions()[200..].to_vec();
    assert_eq!(
        after.iter().map(serial).collect::<BTreeSet<_>>(),
        chosen.iter().cloned().collect::<BTreeSet<_>>()
    );
    for s in &after {
        assert!(codes(s).contains(&"6 CONNECTION REQUEST".to_string()));
    }
    // Wrong password: refused, no session.
    let other = serials.iter().nth(5).unwrap().clone();
    let wrong = connection_request(&urls[&other], "not-the-user");
    assert_eq!(wrong, 401);

    // A Download (firmware) and then a Reboot on one phone leave the others alone.
    let target = serials.iter().nth(100).unwrap().clone();
    acs.push_script(
        CwmpScript::new()
            .session([AcsMessage::Request(Body::Download(Download::new(
                "fw-1",
                "1 Firmware Upgrade Image",
                files.url_for("/fw.img"),
            )))])
            .session([])
            .session([AcsMessage::Request(Body::Reboot(Reboot {
                command_key: "rb-1".into(),
            }))]),
    );
    assert_eq!(connection_request(&urls[&target], &target), 200);
    // Download session, then the boot after the install (1 BOOT, 7 TRANSFER COMPLETE).
    wait_sessions(&acs, 205, &fleet);
    assert_eq!(connection_request(&urls[&target], &target), 200);
    // Reboot session, then the boot after it (1 BOOT, M Reboot).
    wait_sessions(&acs, 207, &fleet);
    let tail: Vec<SessionLog> = acs.sessions()[203..].to_vec();
    assert!(
        tail.iter().all(|s| serial(s) == target),
        "{:?}",
        tail.iter()
            .map(|s| (serial(s), codes(s)))
            .collect::<Vec<_>>()
    );
    let all: Vec<Vec<String>> = tail.iter().map(codes).collect();
    assert!(
        all[1].contains(&"7 TRANSFER COMPLETE".to_string()),
        "{all:?}"
    );
    assert!(all[1].contains(&"1 BOOT".to_string()), "{all:?}");
    assert!(all[3].contains(&"M Reboot".to_string()), "{all:?}");
    let tc = acs.transfer_completes_for("fw-1");
    assert_eq!(tc.len(), 1);
    assert_eq!(
        tc[0].message.fault_struct.fault_code, 0,
        "{:?}",
        tc[0].message
    );
    let version = tail[3]
        .inform
        .parameter_list
        .iter()
        .find(|p| p.name == "Device.DeviceInfo.SoftwareVersion")
        .map(|p| p.value.clone());
    assert_eq!(version.as_deref(), Some("V9 R9.9.9"));

    fleet.terminate();
    assert_eq!(
        acs.sessions().len(),
        207,
        "no session beyond the ones caused"
    );
    let summary = fleet.summary();
    assert_eq!(summary["phones"], 200);
    assert_eq!(summary["sessions_by_outcome"]["ok"], 207);
    assert_eq!(summary["connection_requests_served"], 5);
    assert!(summary["latency_ms"]["p50"].as_f64().is_some());
    assert!(fleet.state().join("fleet-summary.html").exists());
}

#[test]
fn disk_state_survives_a_restart_without_bootstrap_and_keeps_pending_events() {
    let acs = acs();
    let mut fleet = Fleet::new(
        acs.url(),
        "count = 20\nboot-rate = 1000\nmax-sessions = 4\nstate = \"disk\"",
    );
    fleet.start(&[]);
    wait_sessions(&acs, 20, &fleet);
    let urls = cr_urls(&acs);
    let target = urls.keys().nth(7).unwrap().clone();
    // A Reboot whose boot Inform the ACS refuses (503): "1 BOOT" and "M Reboot" stay pending
    // (the next retry is at least 5 s away, and the fleet is stopped before).
    acs.push_script(
        CwmpScript::new()
            .session([AcsMessage::Request(Body::Reboot(Reboot {
                command_key: "keep-me".into(),
            }))])
            .session_with_inform_reply(AcsMessage::Reply(Reply::status(503)), []),
    );
    let before = acs.request_count();
    assert_eq!(connection_request(&urls[&target], &target), 200);
    // Inform, empty POST, RebootResponse; then the refused boot Inform.
    let deadline = Instant::now() + WAIT;
    while acs.request_count() < before + 4 {
        assert!(Instant::now() < deadline, "{}", fleet.log());
        std::thread::sleep(Duration::from_millis(10));
    }
    fleet.terminate();
    let stored = std::fs::read_to_string(
        fleet
            .state()
            .join("phones")
            .join(&target)
            .join("cwmp-state.json"),
    );
    assert!(stored.is_ok(), "the phone's state is on disk");

    let n = acs.sessions().len();
    fleet.start(&[]);
    wait_sessions(&acs, 41, &fleet);
    let again: Vec<SessionLog> = acs.sessions()[n..].to_vec();
    assert_eq!(again.len(), 20);
    for s in &again {
        let c = codes(s);
        assert!(!c.contains(&"0 BOOTSTRAP".to_string()), "{c:?}");
        assert!(c.contains(&"1 BOOT".to_string()), "{c:?}");
        if serial(s) == target {
            assert!(c.contains(&"M Reboot".to_string()), "pending kept: {c:?}");
        }
    }
    fleet.terminate();
}

#[test]
fn shards_are_disjoint_and_cover_the_range() {
    let acs = acs();
    let mut all = Vec::new();
    for i in 0..3 {
        let mut fleet = Fleet::new(acs.url(), "count = 30\nboot-rate = 1000\nmax-sessions = 4");
        let before = acs.sessions().len();
        fleet.start(&["--shard", &format!("{i}/3"), "--duration", "600"]);
        wait_sessions(&acs, before + 10, &fleet);
        fleet.terminate();
        let mine: Vec<String> = acs.sessions()[before..].iter().map(serial).collect();
        assert_eq!(mine.len(), 10);
        all.extend(mine);
    }
    let distinct: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(distinct.len(), 30, "disjoint");
    let expected: BTreeSet<String> = (1..=30u64).map(|k| format!("001AE8{:06X}", k)).collect();
    assert_eq!(distinct, expected, "covering first-mac .. first-mac + 29");
}

#[test]
fn duration_ends_the_run_with_a_summary() {
    let acs = acs();
    let mut fleet = Fleet::new(acs.url(), "count = 5\nboot-rate = 1000\nmax-sessions = 2");
    fleet.start(&["--duration", "3"]);
    assert!(fleet.wait(), "{}", fleet.log());
    assert_eq!(fleet.summary()["phones"], 5);
}

/// The event loop's TLS and authentication. Over HTTPS: 30 phones trust the ACS through the
/// CA in their items and send Basic pre-emptively (TR-069 §3.4), which this ACS accepts as
/// GenieACS does. Over plain HTTP: every first POST is challenged with Digest and answered on
/// the same connection. Every phone bootstraps once, and no session fails.
#[test]
fn https_and_digest_through_the_event_loop() {
    for https in [true, false] {
        let mut builder = FakeAcs::builder()
            .digest_auth("fleet-user", "fleet-secret")
            .max_connections(256);
        if https {
            builder = builder.https();
        }
        let acs = builder.start().expect("acs");
        let ca = match acs.ca() {
            Some(ca) => format!(
                "acs-server-ca-certificate-1 = \'\'\'\n{}\'\'\'",
                ca.cert_pem()
            ),
            None => String::new(),
        };
        let mut fleet = Fleet::with_items(
            acs.url(),
            "count = 30\nboot-rate = 1000\nmax-sessions = 8",
            &format!("acs-username = \"fleet-user\"\nacs-password = \"fleet-secret\"\n{ca}"),
        );
        fleet.start(&[]);
        wait_sessions(&acs, 30, &fleet);
        fleet.terminate();
        let sessions = acs.sessions();
        let serials: BTreeSet<String> = sessions.iter().map(serial).collect();
        assert_eq!(serials.len(), 30, "https {https}: {}", fleet.log());
        assert!(sessions
            .iter()
            .all(|s| codes(s).contains(&"0 BOOTSTRAP".to_string())));
        let scheme = if https { "Basic " } else { "Digest " };
        let requests = acs.requests();
        let authorized = requests
            .iter()
            .filter(|r| {
                r.header("authorization")
                    .is_some_and(|a| a.starts_with(scheme))
            })
            .count();
        assert!(
            authorized >= 30,
            "https {https}: {authorized} requests with {scheme}"
        );
        if !https {
            assert!(requests.iter().all(|r| !r
                .header("authorization")
                .is_some_and(|a| a.contains("fleet-secret"))));
        }
        let summary = fleet.summary();
        assert_eq!(summary["sessions_by_outcome"]["ok"], 30, "{summary}");
        assert_eq!(acs.tls_failures(), 0);
    }
}

/// `count` consecutive free UDP ports on 127.0.0.1 (probed by binding them all).
fn free_udp_ports(count: u16) -> u16 {
    for _ in 0..100 {
        let base = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("probe")
            .port();
        if u32::from(base) + u32::from(count) > 65_535 {
            continue;
        }
        let all: Vec<_> = (0..count)
            .map(|i| UdpSocket::bind(("127.0.0.1", base + i)))
            .collect();
        if all.iter().all(Result::is_ok) {
            return base;
        }
    }
    panic!("no {count} consecutive free UDP ports");
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Sessions opened by a connection request, by serial number.
fn cr_sessions_by_serial(acs: &FakeAcs) -> Vec<String> {
    acs.sessions()
        .iter()
        .filter(|s| codes(s).contains(&"6 CONNECTION REQUEST".to_string()))
        .map(serial)
        .collect()
}

/// UDP connection requests (TR-069 Annex G) with `udp-port-range`: phone k listens on
/// FIRST + k and reports it as its UDPConnectionRequestAddress; signed requests (three
/// copies, as ACSs send them) to two chosen phones open exactly one session on each of those
/// two, and a request with a wrong signature opens none.
#[test]
fn udp_connection_requests_reach_exactly_the_chosen_phones() {
    let acs = acs();
    let base = free_udp_ports(10);
    let mut fleet = Fleet::new(
        acs.url(),
        &format!(
            "count = 10\nboot-rate = 1000\nmax-sessions = 4\nudp-port-range = \"{base}-{}\"",
            base + 9
        ),
    );
    fleet.start(&[]);
    wait_sessions(&acs, 10, &fleet);
    let client = UdpSocket::bind("127.0.0.1:0").expect("acs socket");
    let send = |k: u16, password: &str, id: &str| {
        let target = format!("127.0.0.1:{}", base + k);
        let serial = format!("001AE8{:06X}", 1 + u32::from(k));
        let d =
            cwmp_connreq::build_udp_request(&target, unix_now(), id, &serial, "cnonce", password);
        for _ in 0..3 {
            client.send_to(&d, &target).expect("send");
        }
    };
    send(3, CR_PASSWORD, "101");
    send(7, CR_PASSWORD, "102");
    send(5, "wrong", "103");
    let deadline = Instant::now() + WAIT;
    while cr_sessions_by_serial(&acs).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Time for a wrong or duplicate request to show up, if it would.
    std::thread::sleep(Duration::from_millis(1500));
    let mut got = cr_sessions_by_serial(&acs);
    got.sort();
    assert_eq!(got, ["001AE8000004", "001AE8000008"], "{}", fleet.log());
    fleet.terminate();
}

/// A NAT in a test: datagrams from each client to `front` leave from that client's own
/// `back` socket towards `server`; whatever reaches a `back` socket goes to its client.
/// Records every datagram a client sent.
struct Nat {
    front: SocketAddr,
    /// Client → its back socket's address (the mapping STUN reveals).
    mapped: Arc<Mutex<HashMap<SocketAddr, SocketAddr>>>,
    sent: Arc<Mutex<Vec<Datagram>>>,
    stop: Arc<AtomicBool>,
}

/// A datagram a client sent through the NAT, with its sender.
type Datagram = (SocketAddr, Vec<u8>);

impl Nat {
    fn start(server: SocketAddr) -> Nat {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("front"));
        front
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let nat = Nat {
            front: front.local_addr().expect("addr"),
            mapped: Arc::default(),
            sent: Arc::default(),
            stop: Arc::default(),
        };
        let (mapped, sent, stop) = (nat.mapped.clone(), nat.sent.clone(), nat.stop.clone());
        std::thread::spawn(move || {
            let mut backs: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::SeqCst) {
                let Ok((n, client)) = front.recv_from(&mut buf) else {
                    continue;
                };
                let back = backs.entry(client).or_insert_with(|| {
                    let b = Arc::new(UdpSocket::bind("127.0.0.1:0").expect("back"));
                    b.set_read_timeout(Some(Duration::from_millis(50)))
                        .expect("timeout");
                    mapped
                        .lock()
                        .unwrap()
                        .insert(client, b.local_addr().expect("addr"));
                    let (b2, f2, st) = (b.clone(), front.clone(), stop.clone());
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 2048];
                        while !st.load(Ordering::SeqCst) {
                            if let Ok((n, _)) = b2.recv_from(&mut buf) {
                                let _ = f2.send_to(&buf[..n], client);
                            }
                        }
                    });
                    b
                });
                sent.lock().unwrap().push((client, buf[..n].to_vec()));
                let _ = back.send_to(&buf[..n], server);
            }
        });
        nat
    }
}

impl Drop for Nat {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// STUN (TR-069 Annex G) from every phone's UDP socket against a real coturn behind a NAT:
/// each phone's Binding Requests carry CONNECTION-REQUEST-BINDING, each phone learns its own
/// mapping (UDPConnectionRequestAddress = its NAT address, NATDetected = true, read back by
/// the ACS), and a UDP connection request sent to that NAT address reaches that phone.
#[test]
#[cfg_attr(
    peer_missing_turnserver,
    ignore = "turnserver not installed (apt-get install coturn)"
)]
fn stun_through_a_nat_against_coturn() {
    let coturn_port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("probe")
        .port();
    let turn_dir = tempfile::tempdir().expect("tempdir");
    let mut coturn = test_peers::coturn(coturn_port, turn_dir.path())
        .spawn()
        .expect("spawn turnserver");
    let nat = Nat::start(SocketAddr::from(([127, 0, 0, 1], coturn_port)));
    let acs = FakeAcs::builder()
        .max_connections(64)
        .cwmp(
            CwmpScript::new().every_session([AcsMessage::Request(Body::GetParameterValues(
                cwmp_soap::GetParameterValues {
                    parameter_names: vec![
                        "Device.ManagementServer.UDPConnectionRequestAddress".into(),
                        "Device.ManagementServer.NATDetected".into(),
                    ],
                },
            ))]),
        )
        .start()
        .expect("acs");
    let base = free_udp_ports(3);
    let mut fleet = Fleet::with_items(
        acs.url(),
        &format!(
            "count = 3\nboot-rate = 1000\nmax-sessions = 3\nudp-port-range = \"{base}-{}\"",
            base + 2
        ),
        &format!(
            "acs-stun-enable = true\nacs-stun-server-address = \"127.0.0.1\"\n\
             acs-stun-server-port = {}\nacs-stun-max-keepalive = 1\nacs-stun-min-keepalive = 1",
            nat.front.port()
        ),
    );
    fleet.start(&[]);
    // Every phone's socket gets a mapping (coturn may need a moment to listen: the binding
    // retransmits and keeps alive every second).
    let deadline = Instant::now() + WAIT;
    while nat.mapped.lock().unwrap().len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mapped = nat.mapped.lock().unwrap().clone();
    let phones: BTreeSet<u16> = mapped.keys().map(|a| a.port()).collect();
    assert_eq!(
        phones,
        (base..base + 3).collect::<BTreeSet<_>>(),
        "{}",
        fleet.log()
    );
    for (_, d) in nat.sent.lock().unwrap().iter() {
        let m = cwmp_connreq::decode(d).expect("a STUN message").message;
        assert!(m.has_connection_request_binding(), "{m:?}");
    }
    // Each phone learns its own mapping: ask through connection requests until every phone
    // reported UDPConnectionRequestAddress = its NAT address and NATDetected = true.
    let reported = |acs: &FakeAcs| -> HashMap<String, (String, String)> {
        let mut out = HashMap::new();
        for s in acs.sessions() {
            for env in s.received.iter().flatten() {
                if let Body::GetParameterValuesResponse(r) = &env.body {
                    let v = |suffix: &str| {
                        r.parameter_list
                            .iter()
                            .find(|p| p.name.ends_with(suffix))
                            .map(|p| p.value.clone())
                            .unwrap_or_default()
                    };
                    out.insert(
                        serial(&s),
                        (v("UDPConnectionRequestAddress"), v("NATDetected")),
                    );
                }
            }
        }
        out
    };
    let expected: HashMap<String, (String, String)> = mapped
        .iter()
        .map(|(client, back)| {
            let k = client.port() - base;
            (
                format!("001AE8{:06X}", 1 + u32::from(k)),
                (back.to_string(), "true".to_string()),
            )
        })
        .collect();
    let client = UdpSocket::bind("127.0.0.1:0").expect("acs socket");
    let mut id = 200;
    while reported(&acs) != expected && Instant::now() < deadline {
        // A UDP connection request to each phone's NAT address: the NAT forwards it.
        for (phone, back) in &mapped {
            id += 1;
            let serial = format!("001AE8{:06X}", 1 + u32::from(phone.port() - base));
            let d = cwmp_connreq::build_udp_request(
                &back.to_string(),
                unix_now(),
                &id.to_string(),
                &serial,
                "cnonce",
                CR_PASSWORD,
            );
            client.send_to(&d, back).expect("send");
        }
        std::thread::sleep(Duration::from_millis(1000));
    }
    assert_eq!(reported(&acs), expected, "{}", fleet.log());
    fleet.terminate();
    let _ = coturn.kill();
    let _ = coturn.wait();
}

/// The loop's POST deadline: an ACS that never answers one phone's Inform fails that session
/// as `timeout` after the engine's 30 s (TR-069 §3.4's floor), while the other phones' sessions
/// go on; the phone retries later.
#[test]
fn a_silent_acs_times_the_post_out() {
    let acs = FakeAcs::builder()
        .max_connections(64)
        .faults([Fault::Stall(Duration::from_secs(120))])
        .start()
        .expect("acs");
    let mut fleet = Fleet::new(acs.url(), "count = 3\nboot-rate = 1000\nmax-sessions = 3");
    fleet.start(&[]);
    wait_sessions(&acs, 2, &fleet);
    let t0 = Instant::now();
    let deadline = t0 + WAIT;
    let timed_out = || {
        fleet
            .log()
            .lines()
            .filter_map(|l| l.split("failures: ").nth(1))
            .any(|f| f.contains("timeout"))
    };
    while !timed_out() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    fleet.terminate();
    let summary = fleet.summary();
    assert_eq!(summary["sessions_by_outcome"]["timeout"], 1, "{summary}");
    assert!(
        summary["sessions_by_outcome"]["ok"].as_u64() >= Some(2),
        "{summary}"
    );
}

/// The loop's error paths: answers that are not HTTP, a body cut short, a connection closed
/// without an answer. Each fails its own session as a transport error, nothing else stops,
/// and every phone still bootstraps on its retry.
#[test]
fn broken_answers_fail_only_their_sessions() {
    let acs = FakeAcs::builder()
        .max_connections(64)
        .faults([Fault::GarbageHttp, Fault::Truncated, Fault::Close])
        .start()
        .expect("acs");
    let mut fleet = Fleet::new(acs.url(), "count = 6\nboot-rate = 1000\nmax-sessions = 6");
    fleet.start(&[]);
    wait_sessions(&acs, 6, &fleet);
    fleet.terminate();
    let serials: BTreeSet<String> = acs.sessions().iter().map(serial).collect();
    assert_eq!(serials.len(), 6, "{}", fleet.log());
    let summary = fleet.summary();
    assert_eq!(
        summary["sessions_by_outcome"]["transport_error"], 3,
        "{summary}"
    );
    assert_eq!(summary["sessions_by_outcome"]["ok"], 6, "{summary}");
}

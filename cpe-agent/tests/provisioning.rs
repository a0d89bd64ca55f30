//! Auto provisioning end to end (issue 14, seed 001): the real `cpe-agent` binary against
//! real file servers on 127.0.0.1 started here: Python's `http.server` (HTTP), `in.tftpd`
//! from tftpd-hpa (TFTP, as root), and the phone's DHCP hook `cpe-agent dhcp`.

mod phone_common;

use cpe_agent::firmware::build_image;
use cpe_agent::provision::access_log::{self, Record};
use cpe_agent::provision::file::{write_text, write_xml};
use phone_common::Phone;
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
const MAC: &str = "001ae8a1b2c3";
const GENERAL: &str = "F0VCP6000000.cfg";
const MODEL: &str = "OpenScape Desk Phone CP600";
const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// A server process killed (and reaped) on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `python3 -m http.server` serving `dir` on 127.0.0.1; its port. The server binds port 0
/// and says which port it got (no race with a port picked beforehand).
fn http_server(dir: &Path) -> (Server, u16) {
    use std::io::BufRead;
    let mut child = Command::new(test_peers::program("python3"))
        .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
        .arg("--directory")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m http.server");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("http.server output");
    let port = line
        .split(" port ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("http.server said {line:?}"));
    (server, port)
}

/// `in.tftpd` (tftpd-hpa) in the foreground serving `dir` on 127.0.0.1; its port.
fn tftp_server(dir: &Path) -> (Server, u16) {
    let port = free_udp_port();
    let child = Command::new(test_peers::program("in.tftpd"))
        .args(["-L", "-u", "root", "-s"])
        .arg(dir)
        .arg("-a")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("in.tftpd");
    // Ready when it holds the port.
    let t0 = Instant::now();
    while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(t0.elapsed() < WAIT, "in.tftpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Server(child), port)
}

fn new_phone(items: &str) -> Phone {
    Phone::from_config(&format!(
        "connection-request-address = \"127.0.0.1:0\"\nudp-address = \"127.0.0.1:0\"\n\
         [items]\nacs-server-address = \"\"\ncloud-deployment-enable = false\n\
         mac-address = \"00:1A:E8:A1:B2:C3\"\nacs-periodic-inform-enabled = false\n{items}\n"
    ))
}

fn item(phone: &Phone, name: &str) -> String {
    phone.admin_ok(&["get", name]).trim().to_owned()
}

fn records(phone: &Phone) -> Vec<Record> {
    access_log::read(&phone.state())
}

/// Wait until the access log has `n` records.
fn wait_records(phone: &Phone, n: usize) -> Vec<Record> {
    let t0 = Instant::now();
    loop {
        let r = records(phone);
        if r.len() >= n {
            return r;
        }
        assert!(
            t0.elapsed() < WAIT,
            "expected {n} provisioning records, got {r:?}\n{}",
            phone.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run(phone: &Phone, args: &[&str]) -> std::process::Output {
    Command::new(phone_common::BIN)
        .args(args)
        .arg("--config")
        .arg(phone.config())
        .output()
        .expect("cpe-agent")
}

fn provision(phone: &Phone) -> (bool, String) {
    let out = run(phone, &["provision"]);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn file_results(r: &Record) -> Vec<(String, String)> {
    r.files
        .iter()
        .map(|f| (f.kind.clone(), f.result.clone()))
        .collect()
}

#[test]
#[cfg_attr(peer_missing_python3, ignore = "python3 not installed")]
fn static_http_general_and_device_files_text_and_xml_then_unchanged() {
    let www = tempfile::tempdir().unwrap();
    let prov = www.path().join("prov");
    std::fs::create_dir_all(&prov).unwrap();
    // The general file: text; a seed key this phone lacks, an unknown module, a table key.
    std::fs::write(
        prov.join(GENERAL),
        write_text(
            "2.0002",
            &[
                ("GLOBAL CONFIG MODULE", &[("Time Zone", "32")]),
                ("SIP CONFIG MODULE", &[("SIP1 Register TTL", "900")]),
                ("FOO CONFIG MODULE", &[("reg-ttl", "700")]),
            ],
        ),
    )
    .unwrap();
    // The device file: XML with item names.
    std::fs::write(
        prov.join(format!("{MAC}.cfg")),
        write_xml(
            "7",
            &[(
                "SIP CONFIG MODULE",
                &[("reg-addr", "sip.example.net"), ("Mystery", "1")],
            )],
        ),
    )
    .unwrap();
    let (_http, port) = http_server(www.path());
    let mut phone = new_phone(&format!(
        "auto-provision-server = \"http://127.0.0.1:{port}/prov/\""
    ));
    phone.start();
    let recs = wait_records(&phone, 1);
    let r = &recs[0];
    assert_eq!(
        (r.source.as_str(), r.trigger.as_str(), r.result.as_str()),
        ("static", "boot", "ok"),
        "{r:?}"
    );
    assert_eq!(r.url, format!("http://127.0.0.1:{port}/prov/"));
    assert_eq!(
        file_results(r),
        vec![
            ("general".into(), "applied".into()),
            ("device".into(), "applied".into())
        ]
    );
    let notes = format!("{:?}", r.files);
    assert!(
        notes.contains("Time Zone")
            && notes.contains("unknown module")
            && notes.contains("Mystery"),
        "{notes}"
    );
    assert_eq!(item(&phone, "reg-ttl"), "900");
    assert_eq!(item(&phone, "reg-addr"), "sip.example.net");
    assert_eq!(
        item(&phone, "auto-provision-common-config-version"),
        "2.0002"
    );
    assert_eq!(item(&phone, "auto-provision-config-version"), "7");
    // The same files again: skipped.
    let (ok, out) = provision(&phone);
    assert!(ok, "{out}");
    let r = wait_records(&phone, 2).pop().unwrap();
    assert_eq!(r.trigger, "command");
    assert_eq!(
        file_results(&r),
        vec![
            ("general".into(), "unchanged".into()),
            ("device".into(), "unchanged".into())
        ]
    );
    let table = phone.admin_ok(&["provisioning"]);
    assert!(
        table.contains("static (boot) ok") && table.contains("static (command) ok"),
        "{table}"
    );
    phone.terminate();
}

#[test]
#[cfg_attr(peer_missing_python3, ignore = "python3 not installed")]
#[cfg_attr(peer_missing_in_tftpd, ignore = "in.tftpd (tftpd-hpa) not installed")]
fn dhcp_option66_over_tftp_beats_static_with_input_and_mac() {
    let www = tempfile::tempdir().unwrap();
    // The static server's file, which must lose to DHCP.
    std::fs::write(
        www.path().join(format!("{MAC}.cfg")),
        write_text("s", &[("SIP CONFIG MODULE", &[("reg-ttl", "111")])]),
    )
    .unwrap();
    let (_http, http_port) = http_server(www.path());
    let tftp_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        tftp_dir.path().join("room12.cfg"),
        write_text(
            "d1",
            &[("SIP CONFIG MODULE", &[("reg-ttl", "1800"), ("e164", MAC)])],
        ),
    )
    .unwrap();
    let (_tftp, tftp_port) = tftp_server(tftp_dir.path());
    let mut phone = new_phone(&format!(
        "auto-provision-server = \"http://127.0.0.1:{http_port}/\""
    ));
    phone.start();
    let r = wait_records(&phone, 1).pop().unwrap();
    assert_eq!(
        (r.source.as_str(), r.result.as_str()),
        ("static", "ok"),
        "{r:?}"
    );
    assert_eq!(item(&phone, "reg-ttl"), "111");
    // The DHCP lease brings a URL with $input while auto-provision-input is empty: refused.
    let url = format!("tftp://127.0.0.1:{tftp_port}/$input.cfg");
    let out = run(&phone, &["dhcp", "--option66", &url]);
    assert!(out.status.success(), "{out:?}");
    let r = wait_records(&phone, 2).pop().unwrap();
    assert_eq!(
        (r.source.as_str(), r.trigger.as_str(), r.result.as_str()),
        ("dhcp", "dhcp", "refused")
    );
    assert!(r.fault.contains("auto-provision-input"), "{r:?}");
    phone.admin_ok(&["set", "auto-provision-input", "room12"]);
    // A renewal: the same URL again, now with an input.
    let out = run(&phone, &["dhcp", "--option66", &url]);
    assert!(out.status.success(), "{out:?}");
    let r = wait_records(&phone, 3).pop().unwrap();
    assert_eq!(
        (r.source.as_str(), r.result.as_str()),
        ("dhcp", "ok"),
        "{r:?}"
    );
    assert_eq!(r.url, format!("tftp://127.0.0.1:{tftp_port}/room12.cfg"));
    assert_eq!(
        file_results(&r),
        vec![
            ("general".into(), "not-found".into()),
            ("device".into(), "applied".into())
        ]
    );
    assert_eq!(item(&phone, "reg-ttl"), "1800");
    // The DHCP URL keeps priority over the static server at the next boot too.
    phone.terminate();
    phone.start();
    let r = wait_records(&phone, 4).pop().unwrap();
    assert_eq!((r.source.as_str(), r.trigger.as_str()), ("dhcp", "boot"));
    assert_eq!(item(&phone, "reg-ttl"), "1800");
    // An option the phone does not read for provisioning is ignored.
    let out = run(&phone, &["dhcp", "--option", "160:7466"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ignored"),
        "{out:?}"
    );
    phone.terminate();
}

#[test]
#[cfg_attr(peer_missing_python3, ignore = "python3 not installed")]
fn encrypted_good_plain_refused_and_invalid_value_refuses_the_file() {
    let www = tempfile::tempdir().unwrap();
    let device = www.path().join("cfg").join("phone-a.cfg");
    std::fs::create_dir_all(device.parent().unwrap()).unwrap();
    let good = write_text("e1", &[("SIP CONFIG MODULE", &[("reg-ttl", "1200")])]);
    std::fs::write(
        &device,
        cpe_agent::vendor_config::encrypt(good.as_bytes(), KEY, [9; 16]).unwrap(),
    )
    .unwrap();
    let (_http, port) = http_server(www.path());
    let mut phone = new_phone(&format!(
        "auto-provision-server = \"http://127.0.0.1:{port}/cfg/phone-a.cfg\"\n\
         config-encryption-key = \"{KEY}\""
    ));
    phone.start();
    let r = wait_records(&phone, 1).pop().unwrap();
    assert_eq!(r.result, "ok", "{r:?}");
    assert_eq!(item(&phone, "reg-ttl"), "1200");
    // A plain file while the key is set: refused clearly.
    std::fs::write(
        &device,
        write_text("p", &[("SIP CONFIG MODULE", &[("reg-ttl", "1300")])]),
    )
    .unwrap();
    let (ok, out) = provision(&phone);
    assert!(!ok && out.contains("not encrypted"), "{out}");
    // Encrypted with another key: refused.
    let other = KEY.replace("1f", "1e");
    std::fs::write(
        &device,
        cpe_agent::vendor_config::encrypt(good.replace("1200", "1250").as_bytes(), &other, [1; 16])
            .unwrap(),
    )
    .unwrap();
    let (ok, out) = provision(&phone);
    assert!(!ok && out.contains("refused"), "{out}");
    // One invalid value among valid ones: nothing of the file is applied.
    let bad = write_text(
        "e2",
        &[(
            "SIP CONFIG MODULE",
            &[("reg-addr", "new.example"), ("reg-ttl", "5")],
        )],
    );
    std::fs::write(
        &device,
        cpe_agent::vendor_config::encrypt(bad.as_bytes(), KEY, [2; 16]).unwrap(),
    )
    .unwrap();
    let (ok, out) = provision(&phone);
    assert!(!ok && out.contains("reg-ttl"), "{out}");
    phone.terminate();
    // Checked after a restart (the boot check refuses the same file again).
    phone.start();
    wait_records(&phone, 5);
    assert_eq!(item(&phone, "reg-ttl"), "1200");
    assert_eq!(item(&phone, "reg-addr"), "");
    assert_eq!(item(&phone, "auto-provision-config-version"), "e1");
    phone.terminate();
}

#[test]
#[cfg_attr(peer_missing_python3, ignore = "python3 not installed")]
fn firmware_follow_up_is_installed_and_reported() {
    let www = tempfile::tempdir().unwrap();
    let payload: Vec<u8> = (0..64 * 1024u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(
        www.path().join("fw.img"),
        build_image(MODEL, "V9 R9.9.9", &payload),
    )
    .unwrap();
    std::fs::write(www.path().join("book.csv"), "name,number\nA,1\nB,2\nC,3\n").unwrap();
    let (_http, port) = http_server(www.path());
    std::fs::write(
        www.path().join(format!("{MAC}.cfg")),
        write_text(
            "f1",
            &[(
                "AUTOUPDATE CONFIG MODULE",
                &[
                    ("Auto Image Url", &format!("http://127.0.0.1:{port}/fw.img")),
                    (
                        "Auto Pbook Url",
                        &format!("http://127.0.0.1:{port}/book.csv"),
                    ),
                ],
            )],
        ),
    )
    .unwrap();
    let mut phone = new_phone(&format!(
        "auto-provision-server = \"http://127.0.0.1:{port}\""
    ));
    phone.start();
    // The check installs the image and reboots; the boot after it finds the file unchanged.
    let recs = wait_records(&phone, 2);
    let r = &recs[0];
    let kinds: Vec<(String, String)> = file_results(r);
    assert!(
        kinds.contains(&("image".into(), "installed".into())),
        "{r:?}"
    );
    assert!(kinds.contains(&("pbook".into(), "kept".into())), "{r:?}");
    assert!(format!("{r:?}").contains("3 phone book entries"), "{r:?}");
    assert_eq!(recs[1].trigger, "boot");
    let t0 = Instant::now();
    while item(&phone, "standard-software-version") != "V9 R9.9.9" {
        assert!(t0.elapsed() < WAIT, "{}", phone.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(std::fs::read(phone.state().join("provisioning/phonebook")).is_ok());
    phone.terminate();
}

/// The PnP server: sipp (Debian's sip-tester) answers the phone's SUBSCRIBE and sends the
/// NOTIFY of the seed's Figure 13 with the provisioning URL.
const PNP_SCENARIO: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="SIP PnP server">
  <recv request="SUBSCRIBE" crlf="true"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Event:]
Expires: 0
Content-Length: 0

]]>
  </send>
  <send>
    <![CDATA[
NOTIFY sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:pnp@[local_ip]>;tag=[pid]SIPpTag01[call_number]
To: <sip:phone@[remote_ip]>
[last_Call-ID:]
CSeq: 1 NOTIFY
Max-Forwards: 70
Content-Type: application/url
Subscription-State: terminated;reason=timeout
Event: ua-profile;profile-type="device";vendor="Unify";model="CP600";version="1"
Content-Length: [len]

PNP_URL
]]>
  </send>
  <recv response="200"/>
</scenario>
"#;

#[test]
#[cfg_attr(peer_missing_python3, ignore = "python3 not installed")]
#[cfg_attr(peer_missing_sipp, ignore = "sipp (sip-tester) not installed")]
fn sip_pnp_notify_from_sipp_provisions_the_phone() {
    pnp_case("udp");
}

#[test]
#[cfg_attr(peer_missing_python3, ignore = "python3 not installed")]
#[cfg_attr(peer_missing_sipp, ignore = "sipp (sip-tester) not installed")]
fn sip_pnp_over_tcp() {
    pnp_case("tcp");
}

fn pnp_case(transport: &str) {
    let www = tempfile::tempdir().unwrap();
    std::fs::write(
        www.path().join(format!("{MAC}.cfg")),
        write_text(
            "pnp1",
            &[("SIP CONFIG MODULE", &[("reg-addr", "pnp.example")])],
        ),
    )
    .unwrap();
    let (_http, port) = http_server(www.path());
    let sipp_dir = tempfile::tempdir().unwrap();
    let scenario = sipp_dir.path().join("pnp.xml");
    std::fs::write(
        &scenario,
        PNP_SCENARIO.replace("PNP_URL", &format!("http://127.0.0.1:{port}/$mac.cfg")),
    )
    .unwrap();
    let sip_port = if transport == "tcp" {
        free_tcp_port()
    } else {
        free_udp_port()
    };
    let _sipp = Server(
        Command::new(test_peers::program("sipp"))
            .current_dir(sipp_dir.path())
            .arg("-sf")
            .arg(&scenario)
            .args(["-i", "127.0.0.1", "-p", &sip_port.to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", "60s"])
            .args(["-t", if transport == "tcp" { "t1" } else { "u1" }])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp"),
    );
    // The static server is there too, and loses to PnP.
    let mut phone = new_phone(&format!(
        "auto-provision-server = \"http://127.0.0.1:1/\"\n\
         auto-provision-pnp-enable = true\n\
         auto-provision-pnp-server = \"127.0.0.1:{sip_port}\"\n\
         auto-provision-pnp-transport = \"{transport}\"\n\
         auto-provision-pnp-interval = 1"
    ));
    phone.start();
    let t0 = Instant::now();
    let rec = loop {
        if let Some(r) = records(&phone).into_iter().find(|r| r.source == "pnp") {
            break r;
        }
        assert!(
            t0.elapsed() < WAIT,
            "no PnP provisioning: {:?}\n{}",
            records(&phone),
            phone.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The NOTIFY may land before the boot check runs (which then uses it) or after it.
    assert!(
        ["pnp-notify", "boot"].contains(&rec.trigger.as_str()) && rec.result == "ok",
        "{rec:?}"
    );
    assert_eq!(rec.url, format!("http://127.0.0.1:{port}/{MAC}.cfg"));
    assert_eq!(item(&phone, "reg-addr"), "pnp.example");
    phone.terminate();
}

/// A network namespace with a veth pair to the host, removed on drop.
struct NetNs {
    name: String,
    host_if: String,
}

fn ip(args: &[&str]) {
    let out = Command::new(test_peers::program("ip"))
        .args(args)
        .output()
        .expect("ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl NetNs {
    fn new(host_addr: &str) -> NetNs {
        let id = std::process::id() % 100_000;
        let ns = NetNs {
            name: format!("cpe14-{id}"),
            host_if: format!("vh{id}"),
        };
        let phone_if = format!("vp{id}");
        ip(&["netns", "add", &ns.name]);
        ip(&[
            "link",
            "add",
            &ns.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &phone_if,
        ]);
        ip(&["link", "set", &phone_if, "netns", &ns.name]);
        ip(&["addr", "add", host_addr, "dev", &ns.host_if]);
        ip(&["link", "set", &ns.host_if, "up"]);
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ip(&["-n", &ns.name, "link", "set", &phone_if, "up"]);
        ns
    }

    fn phone_if(&self) -> String {
        self.host_if.replacen("vh", "vp", 1)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// One real DHCP exchange: dnsmasq offers option 66 on the host side of a veth pair, busybox
/// udhcpc asks for it in a network namespace, and its script is the phone's DHCP hook.
/// busybox passes option 66 only when it is a host name (a URL becomes "bad"), so the option
/// names the TFTP server, as RFC 2132 defines it: the phone fetches `tftp://SERVER/<mac>.cfg`
/// from in.tftpd on 127.0.0.1:69.
#[test]
#[cfg_attr(peer_missing_root, ignore = "needs root (creates a network namespace)")]
#[cfg_attr(peer_missing_dnsmasq, ignore = "dnsmasq not installed")]
#[cfg_attr(peer_missing_udhcpc, ignore = "udhcpc (busybox) not installed")]
#[cfg_attr(peer_missing_in_tftpd, ignore = "in.tftpd (tftpd-hpa) not installed")]
#[cfg_attr(peer_missing_ip, ignore = "ip (iproute2) not installed")]
fn real_dhcp_exchange_option66_provisions_the_phone() {
    let tftp_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        tftp_dir.path().join(format!("{MAC}.cfg")),
        write_text(
            "dhcp1",
            &[("SIP CONFIG MODULE", &[("reg-addr", "dhcp.example")])],
        ),
    )
    .unwrap();
    let _tftp = Server(
        Command::new(test_peers::program("in.tftpd"))
            .args(["-L", "-u", "root", "-s"])
            .arg(tftp_dir.path())
            .args(["-a", "127.0.0.1:69"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("in.tftpd"),
    );
    let mut phone = new_phone("");
    phone.start();
    wait_records(&phone, 1); // the boot check: no URL yet
    let ns = NetNs::new("10.214.7.1/24");
    let tmp = tempfile::tempdir().unwrap();
    let _dnsmasq = Server(
        Command::new(test_peers::program("dnsmasq"))
            .arg("--no-daemon")
            .arg("--conf-file=/dev/null")
            .arg(format!("--interface={}", ns.host_if))
            .args(["--bind-interfaces", "--except-interface=lo", "--port=0"])
            .args(["--no-resolv", "--no-hosts"])
            .arg("--dhcp-range=10.214.7.10,10.214.7.20,1h")
            // Unquoted: dnsmasq would keep quotes, and busybox refuses them as "bad".
            .arg("--dhcp-option=66,localhost")
            .arg(format!(
                "--dhcp-leasefile={}",
                tmp.path().join("leases").display()
            ))
            .arg(format!("--pid-file={}", tmp.path().join("pid").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq"),
    );
    // udhcpc's script: busybox passes option 66 as $tftp.
    let script = tmp.path().join("udhcpc.script");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$1\" in bound|renew) exec {} dhcp --config {} --option66 \"$tftp\" ;; esac\nexit 0\n",
            phone_common::BIN,
            phone.config().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new(test_peers::program("ip"))
        .args(["netns", "exec", &ns.name])
        .arg(test_peers::program("udhcpc"))
        .args([
            "-i",
            &ns.phone_if(),
            "-f",
            "-q",
            "-n",
            "-t",
            "10",
            "-T",
            "1",
            "-O",
            "66",
            "-s",
        ])
        .arg(&script)
        .output()
        .expect("udhcpc");
    assert!(
        out.status.success(),
        "udhcpc: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r = wait_records(&phone, 2).pop().unwrap();
    assert_eq!(
        (r.source.as_str(), r.trigger.as_str(), r.result.as_str()),
        ("dhcp", "dhcp", "ok"),
        "{r:?}"
    );
    assert_eq!(r.url, "tftp://localhost/");
    assert_eq!(item(&phone, "reg-addr"), "dhcp.example");
    phone.terminate();
}

/// The python with pyftpdlib: `CPE_TEST_PYTHON`, else the venv `.ci/run` makes in
/// `target/py` (as for the TR-064 client tests).
fn venv_python() -> std::path::PathBuf {
    std::env::var_os("CPE_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/py/bin/python")
        })
}

/// FTP (pyftpdlib with a user and password; passive mode, binary): the general file is
/// missing (550), the device file applies, and its `Auto Etc Url` installs a CA certificate.
#[test]
#[cfg_attr(
    peer_missing_pyftpdlib,
    ignore = "python with pyftpdlib not installed (CPE_TEST_PYTHON)"
)]
fn ftp_with_credentials_and_certificate_follow_up() {
    let ftp_dir = tempfile::tempdir().unwrap();
    let port = free_tcp_port();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["prov.example".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::create_dir_all(ftp_dir.path().join("cfg")).unwrap();
    std::fs::write(ftp_dir.path().join("cfg/ca.pem"), cert.pem()).unwrap();
    std::fs::write(
        ftp_dir.path().join(format!("cfg/{MAC}.cfg")),
        write_text(
            "ftp1",
            &[
                ("SIP CONFIG MODULE", &[("reg-ttl", "2400")]),
                (
                    "AUTOUPDATE CONFIG MODULE",
                    &[(
                        "Auto Etc Url",
                        &format!("ftp://prov:secret@127.0.0.1:{port}/cfg/ca.pem"),
                    )],
                ),
            ],
        ),
    )
    .unwrap();
    let _ftp = Server(
        Command::new(venv_python())
            .args([
                "-m",
                "pyftpdlib",
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .arg("-d")
            .arg(ftp_dir.path())
            .args(["-u", "prov", "-P", "secret"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pyftpdlib"),
    );
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < WAIT, "pyftpdlib did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The credentials come from the items here (the URL carries none).
    let mut phone = new_phone(&format!(
        "auto-provision-server = \"ftp://127.0.0.1:{port}/cfg/\"\n\
         auto-provision-username = \"prov\"\nauto-provision-password = \"secret\""
    ));
    phone.start();
    let r = wait_records(&phone, 1).pop().unwrap();
    assert_eq!(r.result, "ok", "{r:?}\n{}", phone.log());
    assert_eq!(
        file_results(&r),
        vec![
            ("general".into(), "not-found".into()),
            ("device".into(), "applied".into()),
            ("etc".into(), "installed".into())
        ]
    );
    assert!(!format!("{r:?}").contains("secret"));
    assert_eq!(item(&phone, "reg-ttl"), "2400");
    assert!(item(&phone, "acs-server-ca-certificate-1").contains("BEGIN CERTIFICATE"));
    phone.terminate();
}

/// Provisioned values are local changes: a parameter with active notification reaches the
/// ACS as `4 VALUE CHANGE`.
#[test]
#[cfg_attr(peer_missing_python3, ignore = "python3 not installed")]
fn provisioned_values_reach_the_acs_as_value_change() {
    use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs};
    const EXPIRES: &str = "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegisterExpires";
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([AcsMessage::notify(EXPIRES, 2)]))
        .start()
        .expect("acs");
    let www = tempfile::tempdir().unwrap();
    std::fs::write(
        www.path().join(format!("{MAC}.cfg")),
        write_text("v1", &[("SIP CONFIG MODULE", &[("reg-ttl", "1500")])]),
    )
    .unwrap();
    let (_http, port) = http_server(www.path());
    // Update mode off: no check at boot; the operator's `provision` runs one after the ACS
    // has switched notification on.
    let mut phone = Phone::new(
        acs.url(),
        "connection-request-address = \"127.0.0.1:0\"\nudp-address = \"127.0.0.1:0\"",
        &format!(
            "mac-address = \"00:1A:E8:A1:B2:C3\"\nauto-provision-update-mode = \"off\"\n\
             auto-provision-server = \"http://127.0.0.1:{port}/\""
        ),
    );
    phone.start();
    phone_common::wait_sessions(&acs, 1, &phone);
    let (ok, out) = provision(&phone);
    assert!(ok, "{out}");
    phone_common::wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[1];
    assert_eq!(phone_common::codes(s), ["4 VALUE CHANGE"]);
    let p = s
        .inform
        .parameter_list
        .iter()
        .find(|p| p.name == EXPIRES)
        .expect("changed parameter in the Inform");
    assert_eq!(p.value, "1500");
    phone.terminate();
}

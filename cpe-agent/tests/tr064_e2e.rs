//! End-to-end: TR-064 on the real `cpe-agent` binary, with the fake ACS on loopback. A
//! TR-064 change is a local change: notified parameters reach the ACS as `4 VALUE CHANGE`, a
//! new ACS URL makes the phone `0 BOOTSTRAP` there; the transaction lock and its timeout;
//! HTTPS with the device certificate; SSDP by unicast.

mod phone_common;
mod tr064_common;

use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, SessionLog};
use std::net::UdpSocket;
use std::time::{Duration, Instant};
use tr064_common::*;

const REGISTRAR: &str = "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegistrarServer";

fn codes(s: &SessionLog) -> Vec<String> {
    s.event_codes()
}

fn wait_sessions(acs: &FakeAcs, n: usize, phone: &Phone) {
    assert!(
        acs.wait_for_sessions(n, WAIT),
        "expected {n} sessions, got {:?}\n{}",
        acs.sessions().iter().map(codes).collect::<Vec<_>>(),
        phone.log()
    );
}

#[test]
fn tr064_changes_reach_the_acs_as_value_change_and_a_new_url_bootstraps() {
    let acs2 = FakeAcs::builder().start().expect("acs2");
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().session([AcsMessage::notify(REGISTRAR, 2)]))
        .start()
        .expect("acs");
    let mut phone = tr064_phone(acs.url(), "", "admin-password = \"s3cret\"");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    let http = phone.http();

    let r = call(
        http,
        "admin",
        "s3cret",
        "X_VoIP",
        "X_AVM-DE_AddVoIPAccount",
        &[
            ("NewVoIPAccountIndex", "0"),
            ("NewVoIPRegistrar", "registrar.example"),
            ("NewVoIPNumber", "+4989700"),
            ("NewVoIPUsername", "700"),
            ("NewVoIPPassword", "sip-secret"),
            ("NewVoIPOutboundProxy", ""),
            ("NewVoIPSTUNServer", ""),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[1];
    assert_eq!(codes(s), ["4 VALUE CHANGE"]);
    let p = s
        .inform
        .parameter_list
        .iter()
        .find(|p| p.name == REGISTRAR)
        .expect("the registrar in the Inform");
    assert_eq!(p.value, "registrar.example");
    assert_eq!(
        phone.admin_ok(&["get", "sip-pwd", "--reveal"]),
        "sip-secret\n"
    );

    // A new ACS URL over TR-064: the new ACS sees 0 BOOTSTRAP.
    let r = call(
        http,
        "admin",
        "s3cret",
        "ManagementServer",
        "SetManagementServerURL",
        &[("NewURL", acs2.url())],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    wait_sessions(&acs2, 1, &phone);
    assert!(codes(&acs2.sessions()[0]).contains(&"0 BOOTSTRAP".to_owned()));

    // A value out of range: 601, nothing changed.
    let r = call(
        http,
        "admin",
        "s3cret",
        "ManagementServer",
        "SetPeriodicInform",
        &[
            ("NewPeriodicInformEnable", "1"),
            ("NewPeriodicInformInterval", "100000"),
            ("NewPeriodicInformTime", "0001-01-01T00:00:00Z"),
        ],
    );
    assert_eq!(r.value("errorCode").as_deref(), Some("601"), "{}", r.body);
    assert_eq!(
        phone.admin_ok(&["get", "acs-periodic-inform-interval"]),
        "3600\n"
    );

    // Reboot over TR-064: the phone comes back with 1 BOOT.
    let r = call(http, "admin", "s3cret", "DeviceConfig", "Reboot", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    wait_sessions(&acs2, 2, &phone);
    assert!(codes(&acs2.sessions()[1]).contains(&"1 BOOT".to_owned()));
    phone.terminate();
}

#[test]
fn transaction_lock_and_timeout_over_http() {
    let acs = FakeAcs::builder().start().expect("acs");
    let mut phone = tr064_phone(
        acs.url(),
        "transaction-timeout = 2",
        "admin-password = \"pw\"",
    );
    phone.start();
    wait_sessions(&acs, 1, &phone);
    let http = phone.http();
    let c = |service: &str, action: &str, args: &[(&str, &str)]| {
        call(http, "admin", "pw", service, action, args)
    };
    let uuid = c("DeviceConfig", "X_GenerateUUID", &[])
        .value("NewUUID")
        .expect("a UUID");
    let r = c(
        "DeviceConfig",
        "ConfigurationStarted",
        &[("NewSessionID", uuid.as_str())],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c(
        "Time",
        "SetNTPServers",
        &[("NewNTPServer1", "ntp.example"), ("NewNTPServer2", "")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Not applied until ConfigurationFinished.
    assert_eq!(phone.admin_ok(&["get", "ntp-server-1"]), "\n");
    let r = c("DeviceConfig", "ConfigurationFinished", &[]);
    assert_eq!(r.value("NewStatus").as_deref(), Some("ChangesApplied"));
    assert_eq!(phone.admin_ok(&["get", "ntp-server-1"]), "ntp.example\n");

    // Abandoned: while it is open another client (another SessionID) is refused; after the
    // configured timeout (2 s) it is rolled back and the other client's write goes through.
    let r = c(
        "DeviceConfig",
        "ConfigurationStarted",
        &[("NewSessionID", uuid.as_str())],
    );
    assert_eq!(r.status, 200);
    c(
        "Time",
        "SetNTPServers",
        &[
            ("NewNTPServer1", "abandoned.example"),
            ("NewNTPServer2", ""),
        ],
    );
    let other =
        "<s:Header><SessionID>uuid:00000000-0000-4000-8000-000000000001</SessionID></s:Header>";
    let r = call_with_header(
        http,
        "admin",
        "pw",
        "Time",
        "SetNTPServers",
        &[("NewNTPServer1", "other.example"), ("NewNTPServer2", "")],
        other,
    );
    assert_eq!(r.value("errorCode").as_deref(), Some("501"), "{}", r.body);
    let deadline = Instant::now() + WAIT;
    loop {
        let r = call_with_header(
            http,
            "admin",
            "pw",
            "Time",
            "SetNTPServers",
            &[("NewNTPServer1", "other.example"), ("NewNTPServer2", "")],
            other,
        );
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never rolled back: {}", r.body);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(phone.admin_ok(&["get", "ntp-server-1"]), "other.example\n");
    let r = c("DeviceConfig", "ConfigurationFinished", &[]);
    assert_eq!(r.value("errorCode").as_deref(), Some("501"), "{}", r.body);
    phone.terminate();
}

#[test]
fn https_ssdp_and_the_no_password_rule() {
    let acs = FakeAcs::builder().start().expect("acs");
    let mut phone = tr064_phone(acs.url(), "", "");
    phone.start();
    let http = phone.http();
    let https = phone.https();
    // GetSecurityPort needs no authentication and names the HTTPS port.
    let r = call(http, "admin", "", "DeviceInfo", "GetSecurityPort", &[]);
    assert_eq!(
        r.value("NewSecurityPort"),
        Some(https.port().to_string()),
        "{}",
        r.body
    );
    // No admin-password: everything else is refused (606).
    let r = call(http, "admin", "", "DeviceInfo", "GetInfo", &[]);
    assert_eq!(r.value("errorCode").as_deref(), Some("606"), "{}", r.body);

    // HTTPS: the same description over TLS with the device certificate (openssl-free: a
    // rustls client trusting the generated certificate).
    let pem = std::fs::read_to_string(phone.state().join("device-cert.pem")).unwrap();
    let certs = cwmp_client::parse_certificates(&pem).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs[0].clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let serial = "001AE8A1B2C3";
    let name = rustls::pki_types::ServerName::try_from(serial).unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let sock = std::net::TcpStream::connect(https).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    use std::io::{Read, Write};
    tls.write_all(b"GET /tr64desc.xml HTTP/1.1\r\nHost: phone\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("urn:dslforum-org:device:InternetGatewayDevice:1"));

    // SSDP: a unicast M-SEARCH on loopback is answered with the seed's headers.
    let ssdp = phone.ssdp();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    sock.send_to(
        b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n\
          ST: urn:dslforum-org:device:InternetGatewayDevice:1\r\n\r\n",
        ssdp,
    )
    .unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    for h in [
        format!("LOCATION: http://{http}/tr64desc.xml\r\n"),
        "CACHE-CONTROL: max-age=1800\r\n".to_owned(),
        "EXT:\r\n".to_owned(),
        "ST: urn:dslforum-org:device:InternetGatewayDevice:1\r\n".to_owned(),
        "USN: uuid:75f5e2d0-5a1d-4e0b-8d3c-001ae8a1b2c3::urn:dslforum-org:device:InternetGatewayDevice:1\r\n"
            .to_owned(),
    ] {
        assert!(answer.contains(&h), "{h} missing in {answer}");
    }
    phone.terminate();
}

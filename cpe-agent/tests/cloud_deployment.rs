//! Cloud Deployment end to end: the real `cpe-agent` binary, a deployment server on 127.0.0.1
//! over HTTPS that requires the phone's device certificate, and the fake ACS over HTTPS.

mod phone_common;

use cwmp_soap::Body;
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, RecordedRequest, Reply};
use phone_common::Phone;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
/// The MAC of the test phones (the example configuration's).
const MAC: &str = "001ae8a1b2c3";

fn toml_string(s: &str) -> String {
    toml::Value::String(s.into()).to_string()
}

/// A factory-new phone with no ACS address and these `[items]`; its default device
/// certificate is made here (self-signed, as the daemon would make it) so that the deployment
/// server can pin it before the phone first starts.
fn new_phone(items: &str) -> (Phone, Vec<u8>) {
    let phone = Phone::from_config(&format!(
        "connection-request-address = \"127.0.0.1:0\"\nudp-address = \"127.0.0.1:0\"\n\
         [items]\nacs-server-address = \"\"\nmac-address = \"00:1A:E8:A1:B2:C3\"\n\
         acs-periodic-inform-enabled = false\nacs-retry-min-wait-interval = 1\n\
         acs-retry-interval-multiplier = 1500\n{items}\n"
    ));
    let state = phone.state();
    std::fs::create_dir_all(&state).expect("state");
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "001AE8A1B2C3");
    let cert = params.self_signed(&key).expect("cert");
    std::fs::write(state.join("device-cert.pem"), cert.pem()).expect("cert");
    std::fs::write(state.join("device-key.pem"), key.serialize_pem()).expect("key");
    (phone, cert.der().to_vec())
}

/// `admin get ITEM`'s value.
fn item(phone: &Phone, name: &str) -> String {
    phone.admin_ok(&["get", name]).trim().to_owned()
}

fn wait(mut cond: impl FnMut() -> bool, limit: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// A deployment server answering `doc` for this phone's MAC and 404 otherwise.
fn deployment_server(client_cert: Option<Vec<u8>>, doc: Option<String>) -> FakeAcs {
    let mut b = FakeAcs::builder().https();
    if let Some(der) = client_cert {
        b = b.require_client_cert(der);
    }
    b.handler(move |r: &RecordedRequest| match &doc {
        Some(d) if r.path.contains(&format!("mac={MAC}")) => {
            Reply::status(200).with_body(d.clone().into_bytes())
        }
        _ => Reply::status(404),
    })
    .start()
    .expect("deployment server")
}

#[test]
fn a_claimed_phone_gets_its_acs_and_bootstraps_there_again_after_a_factory_reset() {
    // The ACS (HTTPS with its own CA) orders a factory reset in the first session only.
    let acs = FakeAcs::builder()
        .https()
        .cwmp(
            CwmpScript::new()
                .session([AcsMessage::Request(Body::FactoryReset)])
                .session([]),
        )
        .start()
        .expect("acs");
    let acs_ca = acs.ca().expect("acs ca").cert_pem();
    let doc = format!(
        "acs-server-address = {}\nacs-server-ca-certificate-2 = {}\nacs-periodic-inform-interval = 600\n",
        toml_string(acs.url()),
        toml_string(&acs_ca)
    );
    // The phone's items name the deployment server and trust its CA (factory defaults,
    // so a factory reset keeps them).
    let (mut phone, der) = new_phone("");
    let dep = deployment_server(Some(der.clone()), Some(doc));
    let dep_ca = dep.ca().expect("dep ca").cert_pem();
    let cfg = std::fs::read_to_string(phone.config()).expect("cfg");
    std::fs::write(
        phone.config(),
        format!(
            "{cfg}cloud-deployment-url = {}\nacs-server-ca-certificate-1 = {}\n",
            toml_string(&dep.url_for("/zt/claim")),
            toml_string(&dep_ca)
        ),
    )
    .expect("cfg");
    phone.start();

    // Claimed: the ACS gets 0 BOOTSTRAP twice (before and after the factory reset).
    let ok = wait(|| acs.sessions_ended() >= 2, WAIT);
    assert!(ok, "sessions {}\n{}", acs.sessions_ended(), phone.log());
    let sessions = acs.sessions();
    for s in &sessions[..2] {
        assert!(
            s.inform.event.iter().any(|e| e.event_code == "0 BOOTSTRAP"),
            "{:?}",
            s.inform.event
        );
    }
    let reqs = dep.requests();
    assert_eq!(reqs.len(), 2, "asked once per factory state: {reqs:?}");
    for r in &reqs {
        assert_eq!(r.method, "GET");
        assert_eq!(r.client_cert.as_deref(), Some(der.as_slice()));
        for p in [
            "mac=001ae8a1b2c3",
            "model=",
            "version=",
            "serial=001AE8A1B2C3",
        ] {
            assert!(r.path.contains(p), "{}", r.path);
        }
    }
    phone.terminate();
    assert_eq!(item(&phone, "acs-server-address"), acs.url());
    assert_eq!(item(&phone, "acs-periodic-inform-interval"), "600");
    assert!(phone.trace_text().contains("cloud_deployment"));

    // A restart with an ACS address does not ask again.
    phone.start();
    assert!(acs.wait_for_sessions(3, WAIT), "{}", phone.log());
    phone.terminate();
    assert_eq!(dep.requests().len(), 2);
}

#[test]
fn an_unclaimed_phone_asks_again_with_growing_waits() {
    let dep = deployment_server(None, None);
    let dep_ca = dep.ca().expect("ca").cert_pem();
    let (mut phone, _) = new_phone(&format!(
        "cloud-deployment-url = {}\nacs-server-ca-certificate-1 = {}\n",
        toml_string(&dep.url_for("/zt")),
        toml_string(&dep_ca)
    ));
    phone.start();
    // Waits of the TR-069 formula with m = 1 s, k = 1.5: [1, 1.5], [1.5, 2.25], [2.25, 3.4] s.
    let ok = wait(|| dep.requests().len() >= 4, WAIT);
    phone.terminate();
    assert!(ok, "{}", phone.log());
    let times: Vec<Instant> = dep
        .requests()
        .iter()
        .map(|r| r.received_at)
        .collect::<Vec<_>>();
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let floors = [1.0, 1.5, 2.25];
    for (g, f) in gaps.iter().zip(floors) {
        assert!(g.as_secs_f64() >= f - 0.05, "gaps {gaps:?}");
    }
    // 404 is said once at warning level, not at every attempt.
    let warned = phone
        .log()
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("not claimed yet"))
        .count();
    assert_eq!(warned, 1, "{}", phone.log());
    assert_eq!(item(&phone, "acs-server-address"), "");
}

#[test]
fn a_document_outside_the_allowed_items_changes_nothing() {
    let doc =
        "acs-server-address = \"https://acs.example/\"\nsip-pwd = \"secret-sip\"\n".to_owned();
    let dep = deployment_server(None, Some(doc));
    let dep_ca = dep.ca().expect("ca").cert_pem();
    let (mut phone, _) = new_phone(&format!(
        "cloud-deployment-url = {}\nacs-server-ca-certificate-1 = {}\n",
        toml_string(&dep.url_for("/zt")),
        toml_string(&dep_ca)
    ));
    phone.start();
    let ok = wait(|| dep.requests().len() >= 2, WAIT);
    phone.terminate();
    assert!(ok, "asked again after a refused document: {}", phone.log());
    assert_eq!(item(&phone, "acs-server-address"), "");
    assert!(phone.log().contains("sip-pwd"), "{}", phone.log());
    assert!(!phone.log().contains("secret-sip"), "no value in the log");
}

#[test]
fn an_untrusted_deployment_server_is_refused() {
    let doc = "acs-server-address = \"https://acs.example/\"\n".to_owned();
    let dep = deployment_server(None, Some(doc));
    // Its CA is not among the phone's trust anchors (the platform roots apply).
    let (mut phone, _) = new_phone(&format!(
        "cloud-deployment-url = {}\n",
        toml_string(&dep.url_for("/zt"))
    ));
    phone.start();
    let ok = wait(|| dep.tls_failures() >= 2, WAIT);
    phone.terminate();
    assert!(ok, "{}", phone.log());
    assert!(dep.requests().is_empty());
    assert_eq!(item(&phone, "acs-server-address"), "");
    assert!(phone.log().contains("TLS"), "{}", phone.log());
}

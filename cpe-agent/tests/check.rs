//! `cpe-agent check --config FILE`, the real binary against the fake ACS: passes when the
//! phone can reach its ACS, and names the first failing step otherwise (a wrong port, an
//! untrusted certificate, wrong credentials). The check leaves the phone's CWMP state alone.

mod phone_common;

use cwmp_testkit::acs::FakeAcs;
use phone_common::{wait_sessions, Phone, BIN};
use std::process::Command;

const TOP: &str = "connection-request-address = \"127.0.0.1:0\"";
const CREDS: &str = "acs-username = \"phone\"\nacs-password = \"s3cret\"";

/// Run `check`; returns (success, stdout).
fn check(phone: &Phone) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("check")
        .arg("--config")
        .arg(phone.config())
        .output()
        .expect("run cpe-agent check");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), text)
}

fn assert_fails_at(phone: &Phone, step: &str, advice: &str) -> String {
    let (ok, text) = check(phone);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("check failed at step: {step}\n")),
        "{text}"
    );
    assert!(text.contains(&format!("FAIL  {step}")), "{text}");
    assert!(text.contains(advice), "{text}");
    text
}

#[test]
fn passes_against_the_fake_acs_and_leaves_the_cwmp_state_alone() {
    let acs = FakeAcs::builder()
        .digest_auth("phone", "s3cret")
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), TOP, CREDS);
    // Before the first start: the configuration's items; nothing written.
    let (ok, text) = check(&phone);
    assert!(ok, "{text}");
    for want in [
        "ok    configuration",
        "ok    DNS                  127.0.0.1 → 127.0.0.1",
        "ok    TCP",
        "skip  TLS",
        "ok    HTTP authentication  the ACS answered an Inform with InformResponse as \"phone\"",
        "ok    connection request",
        "skip  STUN",
        "all checks passed",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    assert!(!phone.state().join("items.toml").exists(), "{text}");
    let inform = &acs.sessions()[0].inform;
    let codes: Vec<&str> = inform.event.iter().map(|e| e.event_code.as_str()).collect();
    assert_eq!(codes, ["2 PERIODIC"]);

    // While the phone runs: its reported connection-request URL answers.
    phone.start();
    wait_sessions(&acs, 2, &phone);
    let (ok, text) = check(&phone);
    assert!(ok, "{text}\n{}", phone.log());
    assert!(
        text.contains("the phone reports http://127.0.0.1:"),
        "{text}"
    );
    phone.terminate();

    // Stopped, with state: the CWMP state file is byte for byte the same afterwards.
    let state = phone.state().join("cwmp-state.json");
    let before = std::fs::read(&state).expect("state");
    let (ok, text) = check(&phone);
    assert!(ok, "{text}");
    assert!(
        text.contains("values from the phone's state directory"),
        "{text}"
    );
    assert_eq!(std::fs::read(&state).expect("state"), before);
}

#[test]
fn a_wrong_port_fails_at_tcp() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    // The listener is dropped: nothing listens there now.
    let phone = Phone::new(&format!("http://127.0.0.1:{port}/acs"), TOP, CREDS);
    assert_fails_at(&phone, "TCP", &format!("nothing listens on port {port}"));
}

#[test]
fn an_untrusted_certificate_fails_at_tls_and_the_right_ca_passes() {
    // Basic: over TLS the phone sends it pre-emptively (TR-069 §3.4).
    let acs = FakeAcs::builder()
        .https()
        .basic_auth("phone", "s3cret")
        .start()
        .expect("acs");
    // The ACS's own CA is not in the configuration: the default roots do not know it.
    let phone = Phone::new(acs.url(), TOP, CREDS);
    assert_fails_at(&phone, "TLS", "acs-server-ca-certificate-1");
    assert_eq!(
        acs.request_count(),
        0,
        "no Inform over an untrusted connection"
    );
    // With the CA: TLS and the Inform pass.
    let ca = acs.ca().expect("ca").cert_pem();
    let trusted = Phone::new(
        acs.url(),
        TOP,
        &format!("{CREDS}\nacs-server-ca-certificate-1 = '''\n{ca}'''"),
    );
    let (ok, text) = check(&trusted);
    assert!(ok, "{text}");
    assert!(
        text.contains("ok    TLS                  certificate trusted (by the CA items)"),
        "{text}"
    );
}

#[test]
fn wrong_credentials_fail_at_http_authentication() {
    let acs = FakeAcs::builder()
        .digest_auth("phone", "s3cret")
        .start()
        .expect("acs");
    let phone = Phone::new(
        acs.url(),
        TOP,
        "acs-username = \"phone\"\nacs-password = \"wrong\"",
    );
    let text = assert_fails_at(
        &phone,
        "HTTP authentication",
        "check acs-username (\"phone\")",
    );
    assert!(
        !text.contains("wrong"),
        "the password is never printed: {text}"
    );
}

//! The session transport against the fake ACS over real loopback HTTP and HTTPS.
//!
//! Every test is bounded in time: the fake ACS stops when dropped, and the transport's
//! timeouts are shortened where a test waits for one.

use cwmp_client::{
    ClientIdentity, Credentials, Error, HttpSession, PostRequest, TlsSettings, TransportConfig,
};
use cwmp_testkit::acs::{FakeAcs, Fault, HttpsOptions, RecordedRequest, Reply, TestCa};
use std::time::{Duration, Instant};

const INFORM: &[u8] = b"<soap-env:Envelope>Inform placeholder</soap-env:Envelope>";

fn config() -> TransportConfig {
    TransportConfig {
        response_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        ..TransportConfig::default()
    }
}

fn session(acs: &FakeAcs, creds: Option<Credentials>) -> HttpSession {
    session_tls(acs, creds, &TlsSettings::new())
}

fn session_tls(acs: &FakeAcs, creds: Option<Credentials>, tls: &TlsSettings) -> HttpSession {
    HttpSession::new(&config(), tls, acs.url(), creds, 7).expect("session")
}

fn trust(acs: &FakeAcs) -> TlsSettings {
    let ca = acs.ca().expect("https ACS has a CA");
    TlsSettings::new().with_ca_pem(&ca.cert_pem()).expect("CA")
}

fn creds() -> Credentials {
    Credentials::new("001AE8-001AE8A1B2C3", "acs-secret")
}

fn ok_reply() -> Reply {
    Reply::xml("<ok/>")
}

fn header_names(r: &RecordedRequest) -> Vec<String> {
    r.headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect()
}

#[test]
fn cwmp_headers_on_envelope_and_empty_posts() {
    let acs = FakeAcs::builder()
        .replies([ok_reply(), ok_reply(), ok_reply()])
        .start()
        .expect("acs");
    let mut s = session(&acs, None);
    let r = s.post(Some(INFORM), Some("")).expect("post");
    assert_eq!((r.status, r.body.as_slice()), (200, b"<ok/>".as_slice()));
    s.post(Some(b"<response/>"), Some("")).expect("post");
    s.post(None, None).expect("empty post");
    let reqs = acs.requests();
    assert_eq!(reqs.len(), 3);
    let first = &reqs[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/acs");
    assert_eq!(
        first.header("content-type"),
        Some("text/xml; charset=\"utf-8\"")
    );
    assert_eq!(first.header("soapaction"), Some(""));
    assert_eq!(first.body, INFORM);
    let empty = &reqs[2];
    assert_eq!(empty.header("content-length"), Some("0"));
    assert!(
        !empty.has_header("content-type"),
        "{:?}",
        header_names(empty)
    );
    assert!(!empty.has_header("soapaction"), "{:?}", header_names(empty));
    assert!(empty.body.is_empty());
    // One keep-alive connection for the whole session.
    assert!(reqs.iter().all(|r| r.connection == reqs[0].connection));
    assert_eq!(s.connections_opened(), 1);
}

#[test]
fn session_continues_on_a_new_connection_after_connection_close() {
    let acs = FakeAcs::builder()
        .replies([ok_reply().with_header("Connection", "close"), ok_reply()])
        .start()
        .expect("acs");
    let mut s = session(&acs, None);
    s.post(Some(INFORM), Some("")).expect("first");
    s.post(None, None).expect("second, on a new connection");
    let reqs = acs.requests();
    assert_ne!(reqs[0].connection, reqs[1].connection);
    assert_eq!(s.connections_opened(), 2);
}

#[test]
fn basic_challenge_answered_on_the_same_connection() {
    let acs = FakeAcs::builder()
        .basic_auth("001AE8-001AE8A1B2C3", "acs-secret")
        .replies([ok_reply(), ok_reply()])
        .start()
        .expect("acs");
    let mut s = session(&acs, Some(creds()));
    assert_eq!(s.post(Some(INFORM), Some("")).expect("post").status, 200);
    assert_eq!(s.post(None, None).expect("post").status, 200);
    let reqs = acs.requests();
    assert_eq!(reqs.len(), 3, "challenge, retry, empty POST");
    // Over plain HTTP no credentials go out before the challenge.
    assert!(!reqs[0].has_header("authorization"));
    assert_eq!(
        reqs[1].header("authorization"),
        Some("Basic MDAxQUU4LTAwMUFFOEExQjJDMzphY3Mtc2VjcmV0")
    );
    assert_eq!(reqs[1].body, INFORM, "the same body is resent");
    assert!(
        reqs[2].has_header("authorization"),
        "sent on every later request"
    );
    assert!(reqs.iter().all(|r| r.connection == reqs[0].connection));
}

#[test]
fn basic_wrong_password_fails_the_session() {
    let acs = FakeAcs::builder()
        .basic_auth("001AE8-001AE8A1B2C3", "acs-secret")
        .start()
        .expect("acs");
    let mut s = session(&acs, Some(Credentials::new("001AE8-001AE8A1B2C3", "wrong")));
    let e = s.post(Some(INFORM), Some("")).expect_err("rejected");
    assert!(matches!(e, Error::Authentication(_)), "{e}");
    assert_eq!(acs.requests().len(), 2);
}

#[test]
fn challenge_without_credentials_fails_the_session() {
    let acs = FakeAcs::builder()
        .digest_auth("u", "p")
        .start()
        .expect("acs");
    let mut s = session(&acs, None);
    let e = s.post(Some(INFORM), Some("")).expect_err("no credentials");
    assert!(matches!(e, Error::Authentication(_)), "{e}");
    assert_eq!(acs.requests().len(), 1);
}

#[test]
fn digest_genieacs_style_on_the_same_connection() {
    let acs = FakeAcs::builder()
        .digest_auth("001AE8-001AE8A1B2C3", "acs-secret")
        .replies([ok_reply(), ok_reply(), ok_reply()])
        .start()
        .expect("acs");
    let mut s = session(&acs, Some(creds()));
    assert_eq!(s.post(Some(INFORM), Some("")).expect("inform").status, 200);
    assert_eq!(s.post(Some(b"<r/>"), Some("")).expect("post").status, 200);
    assert_eq!(s.post(None, None).expect("empty").status, 200);
    let reqs = acs.requests();
    assert_eq!(reqs.len(), 4);
    // The nonce is bound to the connection: the retry must use the same one, and the fake
    // ACS (like GenieACS) would refuse the response on another connection.
    assert!(reqs.iter().all(|r| r.connection == reqs[0].connection));
    let a1 = reqs[1].header("authorization").expect("digest");
    assert!(
        a1.starts_with("Digest username=\"001AE8-001AE8A1B2C3\""),
        "{a1}"
    );
    assert!(a1.contains("realm=\"GenieACS\""));
    assert!(a1.contains("uri=\"/acs\""));
    assert!(a1.contains("qop=auth"));
    assert!(a1.contains("nc=00000001"));
    // Later requests of the connection carry Authorization too, with the count going up
    // and the same cnonce.
    let a2 = reqs[2].header("authorization").expect("digest");
    assert!(a2.contains("nc=00000002"), "{a2}");
    let a3 = reqs[3].header("authorization").expect("digest");
    assert!(a3.contains("nc=00000003"), "{a3}");
    let cnonce = |a: &str| a.split("cnonce=\"").nth(1).map(|r| r[..16].to_string());
    assert_eq!(cnonce(a1), cnonce(a3));
    assert_eq!(s.connections_opened(), 1);
}

#[test]
fn digest_answers_a_new_challenge_after_the_connection_closed() {
    let acs = FakeAcs::builder()
        .digest_auth("001AE8-001AE8A1B2C3", "acs-secret")
        .replies([ok_reply().with_header("Connection", "close"), ok_reply()])
        .start()
        .expect("acs");
    let mut s = session(&acs, Some(creds()));
    assert_eq!(s.post(Some(INFORM), Some("")).expect("inform").status, 200);
    assert_eq!(s.post(None, None).expect("empty").status, 200);
    let reqs = acs.requests();
    assert_eq!(
        reqs.len(),
        4,
        "challenge, Inform, new connection: challenge, empty POST"
    );
    assert_eq!(reqs[0].connection, reqs[1].connection);
    assert_eq!(reqs[2].connection, reqs[3].connection);
    assert_ne!(reqs[1].connection, reqs[2].connection);
    // No credentials computed for the old connection's nonce go out on the new one.
    assert!(!reqs[2].has_header("authorization"));
    let field = |r: &RecordedRequest, k: &str| {
        let a = r
            .header("authorization")
            .expect("authorization")
            .to_string();
        let start = a.find(&format!("{k}=")).expect("field") + k.len() + 1;
        a[start..]
            .trim_start_matches('"')
            .split(['"', ','])
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert_ne!(field(&reqs[1], "nonce"), field(&reqs[3], "nonce"));
    assert_ne!(field(&reqs[1], "cnonce"), field(&reqs[3], "cnonce"));
    assert_eq!(field(&reqs[3], "nc"), "00000001");
}

#[test]
fn digest_md5_sess_accepted_by_the_server() {
    let acs = FakeAcs::builder()
        .auth(cwmp_testkit::acs::AcsAuth::Digest {
            username: "u".into(),
            password: "p".into(),
            algorithm: Some("MD5-sess".into()),
        })
        .replies([ok_reply()])
        .start()
        .expect("acs");
    let mut s = session(&acs, Some(Credentials::new("u", "p")));
    assert_eq!(s.post(Some(INFORM), Some("")).expect("inform").status, 200);
    let reqs = acs.requests();
    assert!(reqs[1]
        .header("authorization")
        .is_some_and(|a| a.contains("algorithm=MD5-sess")));
}

#[test]
fn digest_wrong_password_fails_the_session() {
    let acs = FakeAcs::builder()
        .digest_auth("001AE8-001AE8A1B2C3", "acs-secret")
        .start()
        .expect("acs");
    let mut s = session(&acs, Some(Credentials::new("001AE8-001AE8A1B2C3", "nope")));
    let e = s.post(Some(INFORM), Some("")).expect_err("rejected");
    assert!(matches!(e, Error::Authentication(_)), "{e}");
    let reqs = acs.requests();
    assert_eq!(
        reqs.len(),
        2,
        "one challenge, one rejected answer, no third try"
    );
}

/// Cookies and redirects are the engine's (TR-069 §3.4): the transport sends the `Cookie`
/// header it is given and hands every `Set-Cookie`, a 3xx and its `Location` back as they are.
/// The rules themselves are tested in the engine and in the behavioural suite.
#[test]
fn cookies_and_redirects_are_handed_to_the_engine() {
    let acs = FakeAcs::builder()
        .replies([
            ok_reply()
                .with_header("Set-Cookie", "session=d9b1768a150193b5")
                .with_header("Set-Cookie", "b=2; Path=/"),
            Reply::status(307).with_header("Location", "/moved"),
            Reply::status(303).with_header("Location", "/x"),
        ])
        .start()
        .expect("acs");
    let mut s = session(&acs, None);
    let r = s.post(Some(INFORM), Some("")).expect("inform");
    assert_eq!(
        r.set_cookie,
        ["session=d9b1768a150193b5", "b=2; Path=/"],
        "every Set-Cookie, in order"
    );
    let request = PostRequest {
        url: acs.url(),
        body: None,
        soap_action: None,
        cookie: Some("session=d9b1768a150193b5; b=2"),
        timeout: Duration::from_secs(5),
    };
    let r = s.send(&request).expect("empty");
    assert_eq!((r.status, r.location.as_deref()), (307, Some("/moved")));
    let r = s.send(&request).expect("303 is passed on too");
    assert_eq!(r.status, 303);
    let reqs = acs.requests();
    assert!(!reqs[0].has_header("cookie"));
    assert_eq!(
        reqs[1].header("cookie"),
        Some("session=d9b1768a150193b5; b=2")
    );
    assert_eq!(
        acs.requests().len(),
        3,
        "no redirect followed by the transport"
    );
}

/// A POST waits as long as its request says: the engine's timeout, which follows
/// `cwmp:SessionTimeout`, not the transport's default.
#[test]
fn each_post_waits_as_long_as_the_engine_says() {
    let acs = FakeAcs::builder()
        .replies([Reply::xml("<late/>").with_delay(Duration::from_secs(2))])
        .start()
        .expect("acs");
    let cfg = TransportConfig {
        response_timeout: Duration::from_millis(500),
        ..config()
    };
    let mut s = HttpSession::new(&cfg, &TlsSettings::new(), acs.url(), None, 1).expect("s");
    let r = s
        .send(&PostRequest {
            url: acs.url(),
            body: Some(INFORM),
            soap_action: Some(""),
            cookie: None,
            timeout: Duration::from_secs(10),
        })
        .expect("the request's own timeout, not the configured 0.5 s");
    assert_eq!(r.body, b"<late/>");
}

#[test]
fn http_500_is_passed_to_the_engine() {
    let acs = FakeAcs::builder()
        .faults([Fault::Status(500)])
        .start()
        .expect("acs");
    let r = session(&acs, None)
        .post(Some(INFORM), Some(""))
        .expect("a status, not a transport error");
    assert_eq!(r.status, 500);
}

#[test]
fn garbage_silence_and_truncation_are_transport_errors() {
    for (fault, what) in [
        (Fault::GarbageHttp, "garbage"),
        (Fault::Close, "closed without answer"),
        (Fault::Truncated, "truncated body"),
    ] {
        let acs = FakeAcs::builder().faults([fault]).start().expect("acs");
        let e = session(&acs, None)
            .post(Some(INFORM), Some(""))
            .expect_err(what);
        assert!(
            matches!(e, Error::Io(_) | Error::Protocol(_)),
            "{what}: {e:?}"
        );
    }
}

#[test]
fn stalled_acs_times_out() {
    let acs = FakeAcs::builder()
        .faults([Fault::Stall(Duration::from_secs(20))])
        .start()
        .expect("acs");
    let cfg = TransportConfig {
        response_timeout: Duration::from_millis(300),
        ..config()
    };
    let mut s = HttpSession::new(&cfg, &TlsSettings::new(), acs.url(), None, 1).expect("s");
    let t0 = Instant::now();
    let e = s.post(Some(INFORM), Some("")).expect_err("timeout");
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn oversized_body_is_refused() {
    let acs = FakeAcs::builder()
        .replies([Reply::xml(vec![b'x'; 5000])])
        .start()
        .expect("acs");
    let cfg = TransportConfig {
        max_response_body: 4096,
        ..config()
    };
    let mut s = HttpSession::new(&cfg, &TlsSettings::new(), acs.url(), None, 1).expect("s");
    let e = s.post(Some(INFORM), Some("")).expect_err("too big");
    assert_eq!(e, Error::BodyTooLarge { limit: 4096 });
}

#[test]
fn connection_refused_is_a_connect_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/acs");
    let mut s = HttpSession::new(&config(), &TlsSettings::new(), &url, None, 1).expect("s");
    let e = s.post(Some(INFORM), Some("")).expect_err("refused");
    assert!(matches!(e, Error::Connect(_) | Error::Io(_)), "{e:?}");
    // The typed cause is the source: ureq's error or the io::Error under it.
    let source = std::error::Error::source(&e).expect("typed source");
    assert!(
        source.downcast_ref::<ureq::Error>().is_some()
            || source.downcast_ref::<std::io::Error>().is_some(),
        "{source:?}"
    );
}

#[test]
fn abort_interrupts_a_blocked_post() {
    let acs = FakeAcs::builder()
        .faults([Fault::Stall(Duration::from_secs(20))])
        .start()
        .expect("acs");
    let mut s = session(&acs, None);
    let abort = s.abort_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        abort.abort();
    });
    let t0 = Instant::now();
    assert!(s.post(Some(INFORM), Some("")).is_err());
    assert!(t0.elapsed() < Duration::from_secs(4));
    t.join().expect("join");
}

#[test]
fn https_with_the_acs_ca_and_preemptive_basic() {
    let acs = FakeAcs::builder()
        .https()
        .basic_auth("001AE8-001AE8A1B2C3", "acs-secret")
        .replies([ok_reply(), ok_reply()])
        .start()
        .expect("acs");
    assert!(acs.url().starts_with("https://localhost:"));
    let mut s = session_tls(&acs, Some(creds()), &trust(&acs));
    assert_eq!(s.post(Some(INFORM), Some("")).expect("inform").status, 200);
    s.post(None, None).expect("empty");
    let reqs = acs.requests();
    assert_eq!(
        reqs.len(),
        2,
        "no challenge needed: Basic was sent pre-emptively"
    );
    assert!(reqs[0].tls);
    assert_eq!(
        reqs[0].sni.as_deref(),
        Some("localhost"),
        "SNI = host of the URL"
    );
    assert!(reqs[0]
        .header("authorization")
        .is_some_and(|a| a.starts_with("Basic ")));
    assert_eq!(reqs[0].connection, reqs[1].connection);
}

/// Pre-emptive Basic over TLS meets an ACS that wants Digest and says so with a challenge:
/// the challenge is answered on the same connection instead of failing the session.
#[test]
fn preemptive_basic_then_a_digest_challenge_is_answered() {
    let challenge = "Digest realm=\"acs\",qop=\"auth\",nonce=\"0123456789abcdef\"";
    let acs = FakeAcs::builder()
        .https()
        .replies([
            Reply::status(401)
                .with_header("WWW-Authenticate", challenge)
                .with_body("Unauthorized"),
            ok_reply(),
        ])
        .start()
        .expect("acs");
    let mut s = session_tls(&acs, Some(creds()), &trust(&acs));
    assert_eq!(s.post(Some(INFORM), Some("")).expect("inform").status, 200);
    let reqs = acs.requests();
    assert!(reqs[0]
        .header("authorization")
        .is_some_and(|a| a.starts_with("Basic ")));
    assert!(reqs[1]
        .header("authorization")
        .is_some_and(|a| a.starts_with("Digest ")));
    assert_eq!(reqs[0].connection, reqs[1].connection);
}

/// The fake ACS in Digest mode, like GenieACS, accepts pre-emptive Basic with the right
/// credentials (captured envelope 151).
#[test]
fn preemptive_basic_accepted_by_a_digest_acs_like_genieacs() {
    let acs = FakeAcs::builder()
        .https()
        .digest_auth("001AE8-001AE8A1B2C3", "acs-secret")
        .replies([ok_reply()])
        .start()
        .expect("acs");
    let mut s = session_tls(&acs, Some(creds()), &trust(&acs));
    assert_eq!(s.post(Some(INFORM), Some("")).expect("inform").status, 200);
    assert_eq!(acs.requests().len(), 1);
}

#[test]
fn https_on_an_ip_address_url() {
    let acs = FakeAcs::builder()
        .https()
        .url_host("127.0.0.1")
        .replies([ok_reply()])
        .start()
        .expect("acs");
    let mut s = session_tls(&acs, None, &trust(&acs));
    assert_eq!(s.post(Some(INFORM), Some("")).expect("inform").status, 200);
}

#[test]
fn wrong_ca_is_refused_before_any_request() {
    let acs = FakeAcs::builder().https().start().expect("acs");
    let other = TestCa::new("some other CA");
    let tls = TlsSettings::new()
        .with_ca_pem(&other.cert_pem())
        .expect("CA");
    let e = session_tls(&acs, None, &tls)
        .post(Some(INFORM), Some(""))
        .expect_err("untrusted");
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
    assert!(e.to_string().to_ascii_lowercase().contains("issuer"), "{e}");
    // The default root set does not know a test CA either.
    let e = session(&acs, None)
        .post(Some(INFORM), Some(""))
        .expect_err("untrusted by webpki roots");
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
    assert!(acs.requests().is_empty(), "the Inform was never sent");
    // CA 1 wrong, CA 2 right: either provisioned CA is trusted.
    let tls = TlsSettings::new()
        .with_ca_pem(&other.cert_pem())
        .expect("CA 1")
        .with_ca_pem(&acs.ca().expect("ca").cert_pem())
        .expect("CA 2");
    let mut s = session_tls(&acs, None, &tls);
    assert!(s.post(Some(INFORM), Some("")).is_ok());
}

#[test]
fn wrong_host_name_is_refused() {
    let ca = TestCa::new("CA");
    let acs = FakeAcs::builder()
        .https_with(HttpsOptions {
            server: ca.issue_server(&["acs.example.com"]),
            client_ca: None,
        })
        .start()
        .expect("acs");
    let tls = TlsSettings::new().with_ca_pem(&ca.cert_pem()).expect("CA");
    let e = session_tls(&acs, None, &tls)
        .post(Some(INFORM), Some(""))
        .expect_err("name mismatch");
    assert!(matches!(e, Error::Tls(_)), "{e:?}");
    assert!(e.to_string().contains("not valid for name"), "{e}");
    assert!(acs.requests().is_empty());
}

#[test]
fn client_certificate_is_presented_and_seen_by_the_server() {
    let ca = TestCa::new("ACS and device CA");
    let device = ca.issue_client("001AE8-001AE8A1B2C3");
    let acs = FakeAcs::builder()
        .https_with(HttpsOptions {
            server: ca.issue_server(&["localhost"]),
            client_ca: Some(ca.cert_der()),
        })
        .replies([ok_reply()])
        .start()
        .expect("acs");
    let identity = ClientIdentity::from_pem(&device.cert_pem, &device.key_pem).expect("identity");
    let tls = TlsSettings::new()
        .with_ca_pem(&ca.cert_pem())
        .expect("CA")
        .with_identity(identity);
    let mut s = session_tls(&acs, None, &tls);
    assert_eq!(s.post(Some(INFORM), Some("")).expect("inform").status, 200);
    let reqs = acs.requests();
    assert_eq!(
        reqs[0].client_cert.as_deref(),
        Some(device.cert_der.as_slice())
    );

    // Without an identity the server refuses the handshake.
    let tls = TlsSettings::new().with_ca_pem(&ca.cert_pem()).expect("CA");
    let e = session_tls(&acs, None, &tls)
        .post(Some(INFORM), Some(""))
        .expect_err("no client certificate");
    assert!(matches!(e, Error::Tls(_) | Error::Io(_)), "{e:?}");
    assert_eq!(acs.requests().len(), 1);
}

#[test]
fn identity_key_must_match_certificate() {
    let ca = TestCa::new("CA");
    let a = ca.issue_client("a");
    let b = ca.issue_client("b");
    assert!(matches!(
        ClientIdentity::from_pem(&a.cert_pem, &b.key_pem),
        Err(Error::InvalidPem(_))
    ));
}

#[test]
fn bad_urls_are_configuration_errors() {
    for url in [
        "ftp://acs/",
        "acs.example.com",
        "http://",
        "http://h:99999/",
    ] {
        let e = HttpSession::new(&config(), &TlsSettings::new(), url, None, 1).expect_err(url);
        assert!(matches!(e, Error::InvalidConfig(_)), "{url}: {e:?}");
    }
}

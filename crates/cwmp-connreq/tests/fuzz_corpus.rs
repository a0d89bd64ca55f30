//! Replays the checked-in fuzz seed corpora (`fuzz/corpus/{connreq_http,stun_decode,
//! udp_connreq}`) through the same calls as the fuzz targets: no input panics, and the seeds
//! that are meant to be valid are.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cwmp_connreq::{
    classify, decode, parse_authorization, parse_challenge, parse_request, parse_udp_request,
    ConnectionRequestServer, Credentials, DigestAuth, StunBinding, StunConfig, StunFormat,
    UdpRequestValidator, UdpVerdict, Verdict,
};

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {} missing: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{target}: only {} seeds", files.len());
    files
}

#[test]
fn connreq_http_corpus() {
    let mut digest_seen = false;
    for (name, data) in corpus("connreq_http") {
        // As the fuzz target does.
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = parse_authorization(text);
            let _ = parse_challenge(text);
            let mut auth = DigestAuth::new("realm", Duration::from_secs(60));
            let now = Instant::now();
            let _ = auth.challenge(now, [0; 16]);
            let _ = auth.verify(now, "GET", "/cr", Some(text), "user", "pw");
        }
        if let Ok(req) = parse_request(&data) {
            assert!(req.head_len() <= data.len());
            let mut server = ConnectionRequestServer::new("/cr", "realm");
            let creds = Credentials::new("user", "pw");
            let reply = server.handle(Instant::now(), &req, &creds, [1; 16]);
            assert!(reply.to_bytes().starts_with(b"HTTP/1.1 "));
        }
        // Seeds meant to be valid.
        if name == "genieacs-digest.http" {
            digest_seen = true;
            let req = parse_request(&data).unwrap();
            let mut auth = DigestAuth::new("OpenScape Desk Phone CP600", Duration::from_secs(60));
            // The seed's nonce was never issued here, but the response is right for password
            // "pw": exactly the Stale case.
            let v = auth.verify(
                Instant::now(),
                req.method(),
                req.target(),
                req.authorization(),
                "001AE8-OpenScape%20Desk%20Phone%20CP600-001AE8A1B2C3",
                "pw",
            );
            assert_eq!(v, Verdict::Stale);
        }
        if name.starts_with("genieacs-noauth") || name == "post.http" {
            assert!(parse_request(&data).is_ok(), "{name}");
        }
        if ["body.http", "chunked.http", "duplicate-authorization.http"].contains(&name.as_str()) {
            assert!(parse_request(&data).is_err(), "{name}");
        }
    }
    assert!(digest_seen);
}

#[test]
fn stun_decode_corpus() {
    let server = "127.0.0.1:3478".parse().unwrap();
    let local = "127.0.0.1:7547".parse().unwrap();
    for (name, data) in corpus("stun_decode") {
        let _ = classify(&data);
        if let Ok(d) = decode(&data) {
            let _ = d.verify_integrity(b"key");
            for format in [StunFormat::Classic, StunFormat::Rfc5389Compatible] {
                if let Ok(bytes) = d.message.encode(format, None) {
                    let again = decode(&bytes).expect("an encoded message decodes");
                    assert_eq!(again.message.attributes.len(), d.message.attributes.len());
                    assert_eq!(again.message.mapped_address(), d.message.mapped_address());
                }
            }
        }
        let now = Instant::now();
        let mut b = StunBinding::new(StunConfig::new(server, local), [0; 32], now);
        while b.poll_transmit().is_some() {}
        let _ = b.handle_datagram(now, server, &data);
        while b.poll_event().is_some() {}

        let expect_ok = !matches!(name.as_str(), "truncated.bin" | "not-stun.bin");
        assert_eq!(decode(&data).is_ok(), expect_ok, "{name}");
    }
    let corpus = corpus("stun_decode");
    let mi = &corpus
        .iter()
        .find(|(n, _)| n == "binding-request-username-mi.bin")
        .unwrap()
        .1;
    assert_eq!(
        decode(mi).unwrap().verify_integrity(b"stun-pw"),
        cwmp_connreq::IntegrityCheck::Valid
    );
}

#[test]
fn udp_connreq_corpus() {
    let mut accepted = 0;
    for (name, data) in corpus("udp_connreq") {
        let parsed = parse_udp_request(&data);
        let mut v = UdpRequestValidator::new();
        let user = if name.contains("percent20") {
            "001AE8-OpenScape%20Desk%20Phone%20CP600-001AE8A1B2C3"
        } else if name == "encoded.txt" {
            "a b"
        } else {
            "user"
        };
        match v.handle_datagram(Some(1_700_000_000), &data, user, "pw") {
            UdpVerdict::Accepted(r) => {
                assert_eq!(Ok(r), parsed);
                accepted += 1;
            }
            other => assert!(
                [
                    "missing-sig.txt",
                    "duplicate-field.txt",
                    "bad-percent.txt",
                    "http10.txt"
                ]
                .contains(&name.as_str()),
                "{name}: {other:?}"
            ),
        }
    }
    assert_eq!(accepted, 4);
}

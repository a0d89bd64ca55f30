//! HTTP connection requests end to end (TR-069 §3.2.2): `curl --digest` and raw TCP against the
//! listener of the real `Client`, sessions observed at the fake ACS. Loopback only.

mod connreq_common;

use connreq_common::*;
use cwmp_client::ConnectionRequestConfig;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

fn http_config() -> ConnectionRequestConfig {
    ConnectionRequestConfig {
        http_bind: Some("127.0.0.1:0".parse().unwrap()),
        ..ConnectionRequestConfig::default()
    }
}

/// Runs curl; returns (HTTP status, stderr).
fn curl(args: &[&str], url: &str) -> (u16, String) {
    let out = Command::new(test_peers::program("curl"))
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs");
    let code = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Sends raw bytes on a new connection and returns the whole answer (bounded).
fn raw(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < 65536 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
#[cfg_attr(
    peer_missing_curl,
    ignore = "curl not installed (apt-get install curl)"
)]
fn curl_digest_against_the_listener() {
    let rig = Rig::start(http_config(), &[]);
    let url = rig.cr_url();
    let (authority, path) = split_url(&url);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // The boot Inform already carried it (forced-inform parameter), without an extra session.
    let boot = &rig.acs.sessions()[0];
    let sent = boot
        .inform
        .parameter_list
        .iter()
        .find(|v| v.name == p("ConnectionRequestURL"))
        .map(|v| v.value.clone());
    assert_eq!(sent.as_deref(), Some(url.as_str()));
    assert!(path.starts_with("/cr-") && path.len() == 20, "{path}");

    // No credentials, wrong password: 401 and no session.
    assert_eq!(curl(&[], &url).0, 401);
    let wrong = format!("{CR_USER}:nope");
    assert_eq!(curl(&["--digest", "-u", &wrong], &url).0, 401);
    assert_eq!(rig.cr_sessions(), 0);

    // The right password (curl retries on the same socket after the 401).
    let right = format!("{CR_USER}:{CR_PASS}");
    let (code, trace) = curl(&["-v", "--digest", "-u", &right], &url);
    assert!(code == 200 || code == 204, "{code}");
    rig.wait_until(
        "a 6 CONNECTION REQUEST session",
        Duration::from_secs(15),
        |r| r.cr_sessions() == 1,
    );

    // Replay the Authorization header curl sent (same nonce and nc): refused.
    let auth = trace
        .lines()
        .find_map(|l| l.strip_prefix("> Authorization: "))
        .expect("curl -v shows the Authorization it sent")
        .trim()
        .to_owned();
    let replay = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    );
    let answer = raw(&authority, replay.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rig.cr_sessions(), 1, "a replay opens no session");

    // Another method, another path.
    let post = format!("POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\n\r\n");
    assert!(raw(&authority, post.as_bytes()).starts_with("HTTP/1.1 405"));
    let other = format!("GET /elsewhere HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    assert!(raw(&authority, other.as_bytes()).starts_with("HTTP/1.1 404"));
    rig.stop();
}

#[test]
fn bounded_heads_slow_clients_and_connection_cap() {
    let cfg = ConnectionRequestConfig {
        max_connections: 3,
        head_timeout: Duration::from_millis(700),
        ..http_config()
    };
    let rig = Rig::start(cfg, &[]);
    let (authority, path) = split_url(&rig.cr_url());

    // A head over 8 KiB: an error status, connection closed.
    let mut big = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nX-Pad: ").into_bytes();
    big.resize(9000, b'a');
    let answer = raw(&authority, &big);
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");

    // (Its connection thread frees its slot just after closing: give it a moment.)
    std::thread::sleep(Duration::from_millis(200));

    // Slowloris: half a head, then silence. Closed after the head timeout.
    let mut slow: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(&authority).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(150));
    // The cap is reached: one more is closed at once, without an answer.
    let mut extra = TcpStream::connect(&authority).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    let _ = extra.write_all(b"GET / HTTP/1.1\r\n\r\n");
    let mut b = [0u8; 64];
    let t = Instant::now();
    let r = extra.read(&mut b);
    assert!(
        matches!(r, Ok(0) | Err(_)) && t.elapsed() < Duration::from_millis(390),
        "over the cap: closed at once ({r:?}, {:?}, {:?})",
        t.elapsed(),
        String::from_utf8_lossy(&b)
    );
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let t = Instant::now();
        let r = s.read(&mut b);
        assert!(
            matches!(r, Ok(0) | Err(_)),
            "slow client closed without answer"
        );
        assert!(t.elapsed() < Duration::from_millis(1500));
    }
    // Capacity is back.
    std::thread::sleep(Duration::from_millis(100));
    let get = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    assert!(raw(&authority, get.as_bytes()).starts_with("HTTP/1.1 401"));
    rig.stop();
}

#[test]
fn http_connection_request_enable_closes_and_reopens_the_port() {
    let rig = Rig::start(http_config(), &[]);
    let url = rig.cr_url();
    let (authority, path) = split_url(&url);
    rig.set(&p("HTTPConnectionRequestEnable"), "false");
    rig.wait_until("the URL is emptied", Duration::from_secs(5), |r| {
        r.value(&p("ConnectionRequestURL")).is_empty()
    });
    assert!(TcpStream::connect(&authority).is_err(), "port closed");
    rig.set(&p("HTTPConnectionRequestEnable"), "true");
    let again = rig.cr_url();
    assert_eq!(split_url(&again).1, path, "the path stays");
    let (authority2, _) = split_url(&again);
    let get = format!("GET {path} HTTP/1.1\r\nHost: {authority2}\r\nConnection: close\r\n\r\n");
    assert!(raw(&authority2, get.as_bytes()).starts_with("HTTP/1.1 401"));
    rig.stop();
}

#[test]
fn the_path_of_the_stored_url_is_kept_across_restarts() {
    let stored = "http://10.9.9.9:7547/cr-00112233aabbccdd";
    let rig = Rig::start(http_config(), &[("ConnectionRequestURL", stored)]);
    let url = rig.cr_url();
    assert!(url.ends_with("/cr-00112233aabbccdd"), "{url}");
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the local address is current: {url}"
    );
    rig.stop();
}

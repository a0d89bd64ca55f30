//! The Download file fetcher against real loopback servers: the testkit's fake server (plain,
//! Basic, Digest, HTTPS) and a raw TCP server in this file for what a well-behaved server
//! never does (stall, truncate, lie about its length).

use cwmp_client::download::{download, DownloadLimits, FetchRequest, TransferFault};
use cwmp_client::TlsSettings;
use cwmp_model::FaultCode;
use cwmp_testkit::acs::{FakeAcs, Reply};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cwmp-dl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(name)
}

fn limits() -> DownloadLimits {
    DownloadLimits {
        max_size: 1024 * 1024,
        stall_timeout: Duration::from_millis(700),
        total_timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(3),
        max_redirects: 5,
    }
}

fn fetch(
    url: &str,
    user: &str,
    pass: &str,
    file_size: u64,
    tls: &TlsSettings,
    dest: &str,
) -> Result<cwmp_client::download::DownloadedFile, TransferFault> {
    let req = FetchRequest {
        url,
        username: user,
        password: pass.into(),
        file_size,
        tls,
        limits: limits(),
    };
    download(&req, &tmp(dest), &mut |_| Ok(()))
}

fn file_server(body: Vec<u8>) -> FakeAcsBuilderResult {
    FakeAcs::builder().handler(move |r| {
        if r.path == "/fw.img" {
            Reply::status(200).with_body(body.clone())
        } else {
            Reply::status(404)
        }
    })
}
type FakeAcsBuilderResult = cwmp_testkit::acs::FakeAcsBuilder;

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn plain_success_streams_to_disk_with_hash() {
    let body = payload(300_000);
    let srv = file_server(body.clone()).start().expect("server");
    let url = srv.url_for("/fw.img");
    let f = fetch(&url, "", "", 0, &TlsSettings::new(), "ok.bin").expect("download");
    assert_eq!(f.size, body.len() as u64);
    assert_eq!(f.sha256, <[u8; 32]>::from(Sha256::digest(&body)));
    assert_eq!(std::fs::read(&f.path).expect("read"), body);
    // The exact FileSize is accepted.
    fetch(
        &url,
        "",
        "",
        body.len() as u64,
        &TlsSettings::new(),
        "ok2.bin",
    )
    .expect("exact");
}

#[test]
fn not_found_is_9016_and_leaves_no_file() {
    let srv = file_server(payload(10)).start().expect("server");
    let e = fetch(
        &srv.url_for("/nope"),
        "",
        "",
        0,
        &TlsSettings::new(),
        "404.bin",
    )
    .unwrap_err();
    assert_eq!(e.code, FaultCode::FileAccessFailure, "{e}");
    assert!(!tmp("404.bin").exists());
}

#[test]
fn unreachable_server_is_9015() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let e = fetch(
        &format!("http://127.0.0.1:{port}/x"),
        "",
        "",
        0,
        &TlsSettings::new(),
        "unreach.bin",
    )
    .unwrap_err();
    assert_eq!(e.code, FaultCode::FileServerUnreachable, "{e}");
}

#[test]
fn basic_auth_right_and_wrong_and_missing() {
    let srv = file_server(payload(1000))
        .basic_auth("fw", "s3cret")
        .start()
        .expect("server");
    let url = srv.url_for("/fw.img");
    let tls = TlsSettings::new();
    fetch(&url, "fw", "s3cret", 0, &tls, "basic.bin").expect("basic");
    let last = srv.requests().into_iter().last().expect("request");
    assert!(last
        .header("authorization")
        .unwrap_or("")
        .starts_with("Basic "));
    let e = fetch(&url, "fw", "wrong", 0, &tls, "basic-bad.bin").unwrap_err();
    assert_eq!(
        e.code,
        FaultCode::FileTransferServerAuthenticationFailure,
        "{e}"
    );
    let e = fetch(&url, "", "", 0, &tls, "basic-none.bin").unwrap_err();
    assert_eq!(
        e.code,
        FaultCode::FileTransferServerAuthenticationFailure,
        "{e}"
    );
    assert!(!e.message.contains("s3cret"));
}

#[test]
fn digest_auth_right_and_wrong() {
    let body = payload(5000);
    let srv = file_server(body.clone())
        .digest_auth("fw", "s3cret")
        .start()
        .expect("server");
    let url = srv.url_for("/fw.img");
    let tls = TlsSettings::new();
    let f = fetch(&url, "fw", "s3cret", 0, &tls, "digest.bin").expect("digest");
    assert_eq!(f.size, body.len() as u64);
    let last = srv.requests().into_iter().last().expect("request");
    assert!(last
        .header("authorization")
        .unwrap_or("")
        .starts_with("Digest "));
    let e = fetch(&url, "fw", "nope", 0, &tls, "digest-bad.bin").unwrap_err();
    assert_eq!(
        e.code,
        FaultCode::FileTransferServerAuthenticationFailure,
        "{e}"
    );
}

#[test]
fn https_with_the_test_ca_and_untrusted_without() {
    let body = payload(70_000);
    let srv = file_server(body.clone()).https().start().expect("server");
    let ca = srv.ca().expect("ca").cert_pem();
    let url = srv.url_for("/fw.img");
    let tls = TlsSettings::new().with_ca_pem(&ca).expect("ca");
    let f = fetch(&url, "", "", 0, &tls, "tls.bin").expect("https");
    assert_eq!(f.size, body.len() as u64);
    // The default roots do not trust the test CA: 9015.
    let other = TlsSettings::new()
        .with_ca_pem(&cwmp_testkit::acs::TestCa::new("other").cert_pem())
        .expect("ca");
    let e = fetch(&url, "", "", 0, &other, "tls-bad.bin").unwrap_err();
    assert_eq!(e.code, FaultCode::FileServerUnreachable, "{e}");
}

#[test]
fn file_size_and_max_size_are_enforced() {
    let body = payload(5000);
    let srv = file_server(body.clone()).start().expect("server");
    let url = srv.url_for("/fw.img");
    let tls = TlsSettings::new();
    // More bytes than FileSize.
    let e = fetch(&url, "", "", 4000, &tls, "fs-small.bin").unwrap_err();
    assert_eq!(e.code, FaultCode::FileCorrupted, "{e}");
    // Fewer bytes than FileSize.
    let e = fetch(&url, "", "", 6000, &tls, "fs-big.bin").unwrap_err();
    assert_eq!(e.code, FaultCode::FileCorrupted, "{e}");
    // Over the phone's limit.
    let req = FetchRequest {
        url: &url,
        username: "",
        password: Default::default(),
        file_size: 0,
        tls: &tls,
        limits: DownloadLimits {
            max_size: 4096,
            ..limits()
        },
    };
    let e = download(&req, &tmp("max.bin"), &mut |_| Ok(())).unwrap_err();
    assert_eq!(e.code, FaultCode::FileTransferFailure, "{e}");
    assert!(e.message.contains("4096"), "{e}");
    assert!(!tmp("max.bin").exists());
}

/// A raw server: answers every connection with `head` then `body`, then either closes or
/// keeps the connection open without sending more (stall).
fn raw_server(head: String, body: Vec<u8>, stall: bool) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { return };
            let head = head.clone();
            let body = body.clone();
            std::thread::spawn(move || {
                read_head(&s);
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
                let _ = s.flush();
                if stall {
                    std::thread::sleep(Duration::from_secs(5));
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}/file")
}

fn read_head(s: &TcpStream) {
    let mut r = BufReader::new(s);
    let mut line = String::new();
    while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
        if line == "\r\n" || line == "\n" {
            break;
        }
        line.clear();
    }
}

#[test]
fn truncated_body_is_9017() {
    let url = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\nConnection: close\r\n\r\n".into(),
        payload(4000),
        false,
    );
    let e = fetch(&url, "", "", 0, &TlsSettings::new(), "trunc.bin").unwrap_err();
    assert_eq!(e.code, FaultCode::DownloadIncomplete, "{e}");
    assert!(!tmp("trunc.bin").exists());
}

#[test]
fn announced_length_over_the_limit_is_refused_before_reading() {
    let url = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n".into(),
        payload(10),
        true,
    );
    let t = Instant::now();
    let e = fetch(&url, "", "", 0, &TlsSettings::new(), "huge.bin").unwrap_err();
    assert_eq!(e.code, FaultCode::FileTransferFailure, "{e}");
    assert!(t.elapsed() < Duration::from_millis(600), "refused up front");
}

#[test]
fn stalled_body_is_9017_after_the_stall_timeout() {
    let url = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n".into(),
        payload(100),
        true,
    );
    let t = Instant::now();
    let e = fetch(&url, "", "", 0, &TlsSettings::new(), "stall.bin").unwrap_err();
    assert_eq!(e.code, FaultCode::DownloadIncomplete, "{e}");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn stall_before_the_response_head_is_9017() {
    let url = raw_server(String::new(), Vec::new(), true);
    let e = fetch(&url, "", "", 0, &TlsSettings::new(), "stall-head.bin").unwrap_err();
    assert_eq!(e.code, FaultCode::DownloadIncomplete, "{e}");
}

#[test]
fn redirects_are_followed_and_inspect_can_refuse() {
    let body = payload(2000);
    let srv = file_server(body.clone()).start().expect("server");
    let target = srv.url_for("/fw.img");
    let url = raw_server(
        format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"),
        Vec::new(),
        false,
    );
    let f = fetch(&url, "", "", 0, &TlsSettings::new(), "redir.bin").expect("redirect");
    assert_eq!(f.size, 2000);
    let tls = TlsSettings::new();
    let req = FetchRequest {
        url: &target,
        username: "",
        password: Default::default(),
        file_size: 0,
        tls: &tls,
        limits: limits(),
    };
    let e = download(&req, &tmp("inspect.bin"), &mut |_| {
        Err(TransferFault::new(FaultCode::FileCorrupted, "bad header"))
    })
    .unwrap_err();
    assert_eq!(e.code, FaultCode::FileCorrupted);
    assert!(!tmp("inspect.bin").exists());
}

#[test]
fn server_error_is_9010() {
    let srv = FakeAcs::builder()
        .handler(|_| Reply::status(503))
        .start()
        .expect("server");
    let e = fetch(
        &srv.url_for("/x"),
        "",
        "",
        0,
        &TlsSettings::new(),
        "503.bin",
    )
    .unwrap_err();
    assert_eq!(e.code, FaultCode::FileTransferFailure, "{e}");
}

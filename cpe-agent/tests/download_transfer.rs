//! Downloads end to end at the library level: the phone (`Client` + `OcmsStore` +
//! `cpe_agent::transfer`) against the fake ACS and a loopback file server.

mod download_common;

use cpe_agent::firmware::build_image;
use cpe_agent::transfer::{FIRMWARE, VENDOR_CONFIG};
use cpe_agent::vendor_config::encrypt;
use cwmp_soap::{Body, Download};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, Reply};
use download_common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A loopback file server: fixed files by path (404 otherwise), recording when each was fetched.
struct Files {
    srv: FakeAcs,
    fetched: Fetched,
}

/// The paths fetched, with when.
type Fetched = Arc<Mutex<Vec<(String, Instant)>>>;

fn builder(files: Vec<(&str, Vec<u8>)>) -> (cwmp_testkit::acs::FakeAcsBuilder, Fetched) {
    let map: HashMap<String, Vec<u8>> =
        files.into_iter().map(|(p, b)| (p.to_string(), b)).collect();
    let fetched = Arc::new(Mutex::new(Vec::new()));
    let f2 = fetched.clone();
    let b = FakeAcs::builder().handler(move |r| {
        f2.lock().unwrap().push((r.path.clone(), Instant::now()));
        match map.get(&r.path) {
            Some(body) => Reply::status(200).with_body(body.clone()),
            None => Reply::status(404),
        }
    });
    (b, fetched)
}

fn files(list: Vec<(&str, Vec<u8>)>) -> Files {
    let (b, fetched) = builder(list);
    Files {
        srv: b.start().expect("file server"),
        fetched,
    }
}

fn acs_with(downloads: Vec<Download>) -> Arc<FakeAcs> {
    let msgs: Vec<AcsMessage> = downloads
        .into_iter()
        .map(|d| AcsMessage::Request(Body::Download(d)))
        .collect();
    Arc::new(
        FakeAcs::builder()
            .cwmp(CwmpScript::new().session(msgs))
            .start()
            .expect("acs"),
    )
}

/// True once the ACS holds `n` TransferCompletes for each key and its last session ended.
fn reported(keys: &[&str]) -> impl Fn(&FakeAcs) -> bool + Send + 'static {
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    move |a: &FakeAcs| {
        keys.iter().all(|k| !completes_for(a, k).is_empty())
            && a.sessions().last().is_some_and(|s| s.ended)
    }
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 256) as u8).collect()
}

fn code_of(acs: &FakeAcs, key: &str) -> u32 {
    let tcs = completes_for(acs, key);
    assert_eq!(
        tcs.len(),
        1,
        "exactly one TransferComplete for {key}: {tcs:?}"
    );
    tcs[0].fault_struct.fault_code
}

#[test]
fn firmware_upgrade_reboots_and_reports_once_after_the_boot() {
    let dir = tempfile::tempdir().expect("tmp");
    let image = build_image(MODEL, "V2.0.0", &payload(300_000));
    let fs = files(vec![("/fw/cp600.img", image.clone())]);
    let mut d = download_rpc("fw-1", FIRMWARE, &fs.srv.url_for("/fw/cp600.img"));
    d.file_size = image.len() as u32;
    d.target_file_name = "cp600.img".into();
    let acs = acs_with(vec![d]);

    let r1 = boot(
        dir.path(),
        &acs,
        &[],
        None,
        &[],
        Duration::from_secs(20),
        |_| false,
    );
    assert!(r1.rebooted, "the phone reboots after installing");
    assert_eq!(r1.software_version, OLD_VERSION);
    assert!(
        completes_for(&acs, "fw-1").is_empty(),
        "not reported before the reboot"
    );

    let r2 = boot(
        dir.path(),
        &acs,
        &[],
        None,
        &[],
        Duration::from_secs(20),
        reported(&["fw-1"]),
    );
    assert!(!r2.rebooted);
    assert_eq!(r2.software_version, "V2.0.0");
    let tcs = completes_for(&acs, "fw-1");
    assert_eq!(tcs.len(), 1);
    assert_eq!(tcs[0].fault_struct.fault_code, 0);
    assert!(!tcs[0].start_time.is_unknown() && tcs[0].start_time <= tcs[0].complete_time);
    let events = inform_events(&acs);
    let with_tc = events
        .iter()
        .find(|ev| ev.iter().any(|(c, _)| c == "7 TRANSFER COMPLETE"))
        .expect("a session with 7 TRANSFER COMPLETE");
    for want in [("1 BOOT", ""), ("M Download", "fw-1")] {
        assert!(
            with_tc.iter().any(|(c, k)| c == want.0 && k == want.1),
            "{want:?} in {with_tc:?}"
        );
    }

    // A third boot: the version stays, nothing is reported again.
    let r3 = boot(
        dir.path(),
        &acs,
        &[],
        None,
        &[],
        Duration::from_millis(1500),
        |_| false,
    );
    assert_eq!(r3.software_version, "V2.0.0");
    assert_eq!(completes_for(&acs, "fw-1").len(), 1);
}

/// A server whose response head announces `len` bytes and then sends nothing.
fn announcing_server(len: u64) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut s) = c else { return };
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
            std::thread::sleep(Duration::from_secs(2));
        }
    });
    format!("http://127.0.0.1:{port}/huge.img")
}

#[test]
fn firmware_refusals_keep_the_old_version() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = build_image(MODEL, "V3", &payload(50_000));
    let mut bad_hash = good.clone();
    if let Some(b) = bad_hash.last_mut() {
        *b ^= 0xff;
    }
    let fs = files(vec![
        (
            "/other.img",
            build_image("OpenScape Desk Phone CP400", "V3", &payload(1000)),
        ),
        ("/badhash.img", bad_hash),
        ("/short.img", good[..good.len() - 1000].to_vec()),
        ("/garbage.img", b"<html>not an image</html>".to_vec()),
    ]);
    let u = |p: &str| fs.srv.url_for(p);
    let mut truncated_sized = download_rpc("fw-short-sized", FIRMWARE, &u("/short.img"));
    truncated_sized.file_size = good.len() as u32;
    let acs = acs_with(vec![
        download_rpc("fw-model", FIRMWARE, &u("/other.img")),
        download_rpc("fw-hash", FIRMWARE, &u("/badhash.img")),
        download_rpc("fw-short", FIRMWARE, &u("/short.img")),
        truncated_sized,
        download_rpc("fw-garbage", FIRMWARE, &u("/garbage.img")),
        download_rpc("fw-404", FIRMWARE, &u("/missing.img")),
        download_rpc("fw-huge", FIRMWARE, &announcing_server(200 * 1024 * 1024)),
        download_rpc("web", "2 Web Content", &u("/other.img")),
    ]);
    let keys = [
        "fw-model",
        "fw-hash",
        "fw-short",
        "fw-short-sized",
        "fw-garbage",
        "fw-404",
        "fw-huge",
        "web",
    ];
    let r = boot(
        dir.path(),
        &acs,
        &[],
        None,
        &[],
        Duration::from_secs(30),
        reported(&keys),
    );
    assert!(!r.rebooted);
    assert_eq!(r.software_version, OLD_VERSION);
    assert_eq!(code_of(&acs, "fw-model"), 9010);
    assert_eq!(code_of(&acs, "fw-hash"), 9018);
    assert_eq!(code_of(&acs, "fw-short"), 9018);
    assert_eq!(code_of(&acs, "fw-short-sized"), 9018);
    assert_eq!(code_of(&acs, "fw-garbage"), 9018);
    assert_eq!(code_of(&acs, "fw-404"), 9016);
    assert_eq!(code_of(&acs, "fw-huge"), 9010);
    assert_eq!(code_of(&acs, "web"), 9010);
    let msg = &completes_for(&acs, "fw-model")[0].fault_struct.fault_string;
    assert!(msg.contains("CP400"), "{msg}");
    assert!(!dir.path().join("transfer/firmware/active").exists());
    // No partial file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("transfer/firmware"))
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn vendor_configuration_good_bad_identical_and_mac_url() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = b"sip-transport = 1\nreg-ttl = 600\n".to_vec();
    let fs = files(vec![
        ("/cfg/001ae8a1b2c3.toml", good.clone()),
        (
            "/cfg/unknown.toml",
            b"reg-ttl = 900\nno-such-item = 1\n".to_vec(),
        ),
        ("/cfg/invalid.toml", b"reg-ttl = 5\n".to_vec()),
        ("/cfg/syntax.toml", b"reg-ttl = [1, 2]\n".to_vec()),
    ]);
    let u = |p: &str| fs.srv.url_for(p);
    let mut good_rpc = download_rpc("cfg-good", VENDOR_CONFIG, &u("/cfg/$mac.toml"));
    good_rpc.target_file_name = "cp600.toml".into();
    let acs = acs_with(vec![
        good_rpc,
        download_rpc("cfg-unknown", VENDOR_CONFIG, &u("/cfg/unknown.toml")),
        download_rpc("cfg-invalid", VENDOR_CONFIG, &u("/cfg/invalid.toml")),
        download_rpc("cfg-syntax", VENDOR_CONFIG, &u("/cfg/syntax.toml")),
    ]);
    let watch = ["sip-transport", "reg-ttl"];
    let r = boot(
        dir.path(),
        &acs,
        &[],
        None,
        &watch,
        Duration::from_secs(30),
        reported(&["cfg-good", "cfg-unknown", "cfg-invalid", "cfg-syntax"]),
    );
    assert_eq!(code_of(&acs, "cfg-good"), 0);
    assert_eq!(code_of(&acs, "cfg-unknown"), 9010);
    assert_eq!(code_of(&acs, "cfg-invalid"), 9010);
    assert_eq!(code_of(&acs, "cfg-syntax"), 9018);
    let msg = &completes_for(&acs, "cfg-unknown")[0]
        .fault_struct
        .fault_string;
    assert!(
        msg.contains("no-such-item") && msg.contains("nothing applied"),
        "{msg}"
    );
    // Only the good file's values are in the store (the bad ones applied nothing).
    assert_eq!(
        r.items,
        vec![
            ("sip-transport".to_string(), "1".to_string()),
            ("reg-ttl".to_string(), "600".to_string())
        ]
    );
    assert!(fs
        .fetched
        .lock()
        .unwrap()
        .iter()
        .any(|(p, _)| p == "/cfg/001ae8a1b2c3.toml"));
    let kept: Vec<String> = std::fs::read_dir(dir.path().join("transfer/vendor-config"))
        .expect("kept copy")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, vec!["cp600.toml".to_string()]);
    assert_eq!(
        std::fs::read(dir.path().join("transfer/vendor-config/cp600.toml")).expect("copy"),
        good
    );

    // The same file again: acknowledged without re-applying (a local change survives).
    acs.push_script(
        CwmpScript::new().session([AcsMessage::Request(Body::Download(download_rpc(
            "cfg-same",
            VENDOR_CONFIG,
            &u("/cfg/001ae8a1b2c3.toml"),
        )))]),
    );
    let r = boot(
        dir.path(),
        &acs,
        &[("reg-ttl", "1200")],
        None,
        &watch,
        Duration::from_secs(30),
        reported(&["cfg-same"]),
    );
    assert_eq!(code_of(&acs, "cfg-same"), 0);
    assert_eq!(r.items[1], ("reg-ttl".to_string(), "1200".to_string()));
    // Nothing from the first boot was reported twice.
    assert_eq!(completes_for(&acs, "cfg-good").len(), 1);
}

#[test]
fn encrypted_vendor_configuration() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = b"reg-ttl = 700\n".to_vec();
    let enc = encrypt(&plain, KEY, [9; 16]).expect("encrypt");
    let other_key = KEY.replace("1f", "00");
    let enc_other = encrypt(b"reg-ttl = 800\n", &other_key, [3; 16]).expect("encrypt");
    let fs = files(vec![
        ("/enc.bin", enc),
        ("/enc-other.bin", enc_other),
        ("/plain.toml", b"reg-ttl = 900\n".to_vec()),
    ]);
    let u = |p: &str| fs.srv.url_for(p);
    let acs = acs_with(vec![
        download_rpc("enc-good", VENDOR_CONFIG, &u("/enc.bin")),
        download_rpc("enc-wrong-key", VENDOR_CONFIG, &u("/enc-other.bin")),
        download_rpc("enc-plain", VENDOR_CONFIG, &u("/plain.toml")),
    ]);
    let r = boot(
        dir.path(),
        &acs,
        &[],
        Some(KEY),
        &["reg-ttl"],
        Duration::from_secs(30),
        reported(&["enc-good", "enc-wrong-key", "enc-plain"]),
    );
    assert_eq!(code_of(&acs, "enc-good"), 0);
    assert_eq!(code_of(&acs, "enc-wrong-key"), 9018);
    assert_eq!(code_of(&acs, "enc-plain"), 9018);
    assert_eq!(r.items, vec![("reg-ttl".to_string(), "700".to_string())]);
}

#[test]
fn basic_and_digest_file_servers_and_refused_credentials() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = b"reg-ttl = 650\n".to_vec();
    let (b, _) = builder(vec![("/c.toml", file.clone())]);
    let basic = b.basic_auth("prov", "pw1").start().expect("basic");
    let (b, _) = builder(vec![("/c.toml", b"reg-ttl = 660\n".to_vec())]);
    let digest = b.digest_auth("prov", "pw2").start().expect("digest");
    let with = |key: &str, url: String, user: &str, pass: &str| {
        let mut d = download_rpc(key, VENDOR_CONFIG, &url);
        d.username = user.into();
        d.password = pass.into();
        d
    };
    let acs = acs_with(vec![
        with("basic-ok", basic.url_for("/c.toml"), "prov", "pw1"),
        with("basic-bad", basic.url_for("/c.toml"), "prov", "nope"),
        with("digest-bad", digest.url_for("/c.toml"), "prov", "nope"),
        with("none", digest.url_for("/c.toml"), "", ""),
    ]);
    boot(
        dir.path(),
        &acs,
        &[],
        None,
        &[],
        Duration::from_secs(30),
        reported(&["basic-ok", "basic-bad", "digest-bad", "none"]),
    );
    assert_eq!(code_of(&acs, "basic-ok"), 0);
    assert_eq!(code_of(&acs, "basic-bad"), 9012);
    assert_eq!(code_of(&acs, "digest-bad"), 9012);
    assert_eq!(code_of(&acs, "none"), 9012);
    // Digest success in a boot of its own (the file differs, so it is applied).
    acs.push_script(
        CwmpScript::new().session([AcsMessage::Request(Body::Download(with(
            "digest-ok",
            digest.url_for("/c.toml"),
            "prov",
            "pw2",
        )))]),
    );
    let r = boot(
        dir.path(),
        &acs,
        &[],
        None,
        &["reg-ttl"],
        Duration::from_secs(30),
        reported(&["digest-ok"]),
    );
    assert_eq!(code_of(&acs, "digest-ok"), 0);
    assert_eq!(r.items, vec![("reg-ttl".to_string(), "660".to_string())]);
    let auth = digest
        .requests()
        .into_iter()
        .filter_map(|r| r.header("authorization").map(str::to_string))
        .collect::<Vec<_>>();
    assert!(auth.iter().any(|a| a.starts_with("Digest ")), "{auth:?}");
}

#[test]
fn delay_seconds_is_honoured() {
    let dir = tempfile::tempdir().expect("tmp");
    let fs = files(vec![
        ("/now.toml", b"reg-ttl = 610\n".to_vec()),
        ("/later.toml", b"reg-ttl = 620\n".to_vec()),
    ]);
    let mut later = download_rpc("later", VENDOR_CONFIG, &fs.srv.url_for("/later.toml"));
    later.delay_seconds = 2;
    let acs = acs_with(vec![
        download_rpc("now", VENDOR_CONFIG, &fs.srv.url_for("/now.toml")),
        later,
    ]);
    let t0 = Instant::now();
    boot(
        dir.path(),
        &acs,
        &[],
        None,
        &[],
        Duration::from_secs(30),
        reported(&["now", "later"]),
    );
    let fetched = fs.fetched.lock().unwrap().clone();
    let at = |p: &str| {
        fetched
            .iter()
            .find(|(q, _)| q == p)
            .map(|(_, t)| t.duration_since(t0))
            .expect("fetched")
    };
    assert!(
        at("/now.toml") < Duration::from_millis(1500),
        "{:?}",
        at("/now.toml")
    );
    assert!(
        at("/later.toml") >= Duration::from_secs(2),
        "{:?}",
        at("/later.toml")
    );
    assert_eq!(code_of(&acs, "now"), 0);
    assert_eq!(code_of(&acs, "later"), 0);
}

/// A TR-069 Download of the auto-provisioning text and XML forms goes through the same reader
/// and apply path (issue 14): unknown keys skipped, an invalid value refusing the file.
#[test]
fn vendor_configuration_in_the_provisioning_text_and_xml_forms() {
    use cpe_agent::provision::file::{write_text, write_xml};
    let dir = tempfile::tempdir().expect("tmp");
    let text = write_text(
        "t1",
        &[
            ("SIP CONFIG MODULE", &[("SIP1 Register TTL", "720")]),
            ("GLOBAL CONFIG MODULE", &[("Time Zone", "32")]),
        ],
    );
    let xml = write_xml("x1", &[("SIP CONFIG MODULE", &[("sip-transport", "1")])]);
    let bad = write_text("b1", &[("SIP CONFIG MODULE", &[("reg-ttl", "5")])]);
    let fs = files(vec![
        ("/p.cfg", text.into_bytes()),
        ("/p.xml", xml.into_bytes()),
        ("/bad.cfg", bad.into_bytes()),
    ]);
    let u = |p: &str| fs.srv.url_for(p);
    let acs = acs_with(vec![
        download_rpc("txt", VENDOR_CONFIG, &u("/p.cfg")),
        download_rpc("xml", VENDOR_CONFIG, &u("/p.xml")),
        download_rpc("bad", VENDOR_CONFIG, &u("/bad.cfg")),
    ]);
    let r = boot(
        dir.path(),
        &acs,
        &[],
        None,
        &["reg-ttl", "sip-transport"],
        Duration::from_secs(30),
        reported(&["txt", "xml", "bad"]),
    );
    assert_eq!(code_of(&acs, "txt"), 0);
    assert_eq!(code_of(&acs, "xml"), 0);
    assert_eq!(code_of(&acs, "bad"), 9010);
    assert_eq!(
        r.items,
        vec![
            ("reg-ttl".to_string(), "720".to_string()),
            ("sip-transport".to_string(), "1".to_string())
        ]
    );
}

//! What a real ACS (GenieACS) does, end to end: the real `cpe-agent` binary against the fake
//! ACS on loopback (issue 10, parts 2 and 3).

mod phone_common;

use cwmp_connreq::{authorization_header, parse_challenge};
use cwmp_model::XsdType;
use cwmp_soap::{Body, GetParameterValues, ParameterValueStruct, SetParameterValues};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, SessionLog};
use phone_common::{codes, wait_sessions, Phone, WAIT};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PIT: &str = "Device.ManagementServer.PeriodicInformTime";

fn gpv(names: &[&str]) -> AcsMessage {
    AcsMessage::Request(Body::GetParameterValues(GetParameterValues {
        parameter_names: names.iter().map(|n| n.to_string()).collect(),
    }))
}

fn spv(name: &str, value: &str, ty: XsdType, key: &str) -> AcsMessage {
    AcsMessage::Request(Body::SetParameterValues(SetParameterValues {
        parameter_list: vec![ParameterValueStruct::new(name, value, ty)],
        parameter_key: key.into(),
    }))
}

/// The CPE's message at `index` of the session's answers (0 is the empty POST).
fn answer(s: &SessionLog, index: usize) -> &Body {
    &s.received
        .get(index)
        .and_then(|e| e.as_ref())
        .unwrap_or_else(|| panic!("no answer {index}: {:?}", s.received))
        .body
}

/// The single value of the GetParameterValuesResponse at `index`.
fn gpv_value(s: &SessionLog, index: usize) -> (String, XsdType) {
    match answer(s, index) {
        Body::GetParameterValuesResponse(r) => {
            assert_eq!(r.parameter_list.len(), 1, "{r:?}");
            let p = &r.parameter_list[0];
            (p.value.clone(), p.xsi_type.expect("typed"))
        }
        other => panic!("expected a GetParameterValuesResponse, got {other:?}"),
    }
}

fn spv_status(s: &SessionLog, index: usize) -> i32 {
    match answer(s, index) {
        Body::SetParameterValuesResponse(r) => r.status,
        other => panic!("expected a SetParameterValuesResponse, got {other:?}"),
    }
}

/// GenieACS's default `inform` provision sets `PeriodicInformTime` to a value with
/// milliseconds and reads it back at every refresh: the phone must return exactly what was
/// set (issue 10 part 3), also after a restart, and an offset is normalised to `Z`.
#[test]
fn periodic_inform_time_reads_back_what_genieacs_set() {
    let acs = FakeAcs::builder()
        .cwmp(
            CwmpScript::new()
                .session([
                    spv(PIT, "1970-01-01T17:11:09.346Z", XsdType::DateTime, "k1"),
                    gpv(&[PIT]),
                    spv(
                        PIT,
                        "2024-05-01T12:00:00.250+02:00",
                        XsdType::DateTime,
                        "k2",
                    ),
                    gpv(&[PIT]),
                    spv(PIT, "1970-01-01T17:11:09.346Z", XsdType::DateTime, "k3"),
                ])
                .session([gpv(&[PIT])]),
        )
        .start()
        .expect("acs");
    let mut phone = Phone::new(acs.url(), "", "");
    phone.start();
    wait_sessions(&acs, 1, &phone);
    let s = &acs.sessions()[0];
    assert_eq!(spv_status(s, 1), 0);
    assert_eq!(
        gpv_value(s, 2),
        ("1970-01-01T17:11:09.346Z".to_owned(), XsdType::DateTime)
    );
    assert_eq!(spv_status(s, 3), 0);
    assert_eq!(
        gpv_value(s, 4),
        ("2024-05-01T10:00:00.25Z".to_owned(), XsdType::DateTime)
    );
    assert_eq!(spv_status(s, 5), 0);
    // Kept across a restart (the store writes the canonical form).
    phone.terminate();
    phone.start();
    wait_sessions(&acs, 2, &phone);
    let s = &acs.sessions()[1];
    assert_eq!(
        gpv_value(s, 1),
        ("1970-01-01T17:11:09.346Z".to_owned(), XsdType::DateTime)
    );
    phone.terminate();
}

// ---------------------------------------------------------------------------------------------
// Connection-request throttling (issue 10 part 2)
// ---------------------------------------------------------------------------------------------

const CR_USER: &str = "acs";
const CR_PASS: &str = "cr-secret";

/// A phone with the HTTP connection-request listener on a free loopback port.
fn cr_phone(acs: &FakeAcs, top: &str) -> Phone {
    Phone::new(
        acs.url(),
        &format!("connection-request-address = \"127.0.0.1:0\"\n{top}"),
        &format!("acs-request-username = \"{CR_USER}\"\nacs-request-password = \"{CR_PASS}\""),
    )
}

/// `host:port` and path of the phone's ConnectionRequestURL.
fn cr_target(phone: &Phone) -> (String, String) {
    let url = phone.admin_ok(&["get", "acs-request-address"]);
    let rest = url
        .trim()
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{url:?}"));
    let i = rest.find('/').expect("path");
    (rest[..i].to_owned(), rest[i..].to_owned())
}

/// Reads one response head (and its Content-Length body): status and headers.
fn read_response(s: &mut TcpStream) -> Option<(u16, Vec<(String, String)>)> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 16 * 1024 {
            return None;
        }
        match s.read(&mut b) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < len.min(65536) {
        match s.read(&mut b) {
            Ok(0) | Err(_) => return None,
            Ok(n) => have += n,
        }
    }
    Some((status, headers))
}

/// One connection request the way GenieACS sends it: a bare GET, the 401 challenge, the
/// Digest retry on the same connection. Returns the final status and whether it carried a
/// `Retry-After` (0 = closed without an answer).
fn connection_request(target: &(String, String), password: &str, n: u32) -> (u16, bool) {
    let (authority, path) = target;
    let Ok(mut s) = TcpStream::connect(authority) else {
        return (0, false);
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let bare =
        format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: keep-alive\r\n\r\n");
    if s.write_all(bare.as_bytes()).is_err() {
        return (0, false);
    }
    let Some((status, headers)) = read_response(&mut s) else {
        return (0, false);
    };
    if status != 401 {
        return (status, false);
    }
    let Some(challenge) = headers
        .iter()
        .find(|(k, _)| k == "www-authenticate")
        .and_then(|(_, v)| parse_challenge(v).ok())
    else {
        return (1, false);
    };
    let auth = authorization_header(
        &challenge,
        CR_USER,
        password,
        "GET",
        path,
        &format!("{n:08x}"),
        1,
    );
    let second = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(second.as_bytes()).is_err() {
        return (0, false);
    }
    read_response(&mut s).map_or((0, false), |(st, h)| {
        (st, h.iter().any(|(k, _)| k == "retry-after"))
    })
}

/// Ended sessions whose Inform carried `6 CONNECTION REQUEST`.
fn cr_sessions(acs: &FakeAcs) -> usize {
    acs.sessions()
        .iter()
        .filter(|s| s.ended && codes(s).iter().any(|c| c == "6 CONNECTION REQUEST"))
        .count()
}

fn wait_cr_sessions(acs: &FakeAcs, n: usize, phone: &Phone) {
    let end = Instant::now() + WAIT;
    while cr_sessions(acs) < n {
        assert!(
            Instant::now() < end,
            "expected {n} connection-request sessions, got {}: {:?}\n{}",
            cr_sessions(acs),
            acs.sessions().iter().map(codes).collect::<Vec<_>>(),
            phone.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The phone after its boot session, with the first `4 VALUE CHANGE` (its new
/// ConnectionRequestURL) settled.
fn booted(acs: &FakeAcs, phone: &mut Phone) -> (String, String) {
    phone.start();
    wait_sessions(acs, 1, phone);
    let target = cr_target(phone);
    std::thread::sleep(Duration::from_millis(500));
    let settled = acs.sessions().len();
    assert!(acs.wait_for_sessions(settled, WAIT));
    target
}

/// GenieACS posts tasks one after another, each with a connection request, each waiting for
/// its session: 30 in a row (as fast as the sessions go, well within 30 s) are all answered
/// 200 and give 30 sessions. Before issue 10 the sixth got 503 ("Device is offline").
#[test]
fn task_style_connection_requests_are_never_refused() {
    // Every session carries a task (a GetParameterValues), like GenieACS's.
    let acs = FakeAcs::builder()
        .cwmp(CwmpScript::new().every_session([gpv(&[PIT])]))
        .start()
        .expect("acs");
    let mut phone = cr_phone(&acs, "");
    let target = booted(&acs, &mut phone);
    let before = cr_sessions(&acs);
    for i in 0..30u32 {
        let (status, retry_after) = connection_request(&target, CR_PASS, i);
        assert_eq!(status, 200, "task {i}: {}", phone.log());
        assert!(!retry_after);
        wait_cr_sessions(&acs, before + i as usize + 1, &phone);
    }
    assert_eq!(cr_sessions(&acs), before + 30);
    assert_eq!(acs.max_open_sessions(), 1);
    phone.terminate();
}

/// Hundreds of requests a second from several threads, good and bad credentials mixed: the
/// good ones beyond the limit get 503 (never with Retry-After), the bad ones only ever 401,
/// and the phone is never in more than one session at a time.
#[test]
fn a_flood_gets_503_and_one_session_at_a_time() {
    let acs = FakeAcs::builder().start().expect("acs");
    let mut phone = cr_phone(&acs, "");
    let target = booted(&acs, &mut phone);
    let results: Arc<Mutex<Vec<(bool, u16, bool)>>> = Arc::default();
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let (target, results) = (target.clone(), Arc::clone(&results));
            std::thread::spawn(move || {
                let mut local = Vec::new();
                for i in 0..60u32 {
                    let good = (t + i) % 2 == 0;
                    let pw = if good { CR_PASS } else { "wrong" };
                    let (status, retry_after) = connection_request(&target, pw, t * 1000 + i);
                    local.push((good, status, retry_after));
                }
                results.lock().unwrap().extend(local);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("flood thread");
    }
    let results = results.lock().unwrap().clone();
    let count = |good: bool, status: u16| {
        results
            .iter()
            .filter(|r| r.0 == good && r.1 == status)
            .count()
    };
    assert!(results.iter().all(|r| !r.2), "no Retry-After");
    assert_eq!(
        count(false, 401) + count(false, 0),
        results.iter().filter(|r| !r.0).count(),
        "bad credentials get 401 only"
    );
    assert!(count(true, 200) >= 1, "{results:?}");
    assert!(
        count(true, 503) > 0,
        "the flood is refused beyond the limit"
    );
    // Let the sessions it caused run out: never two at once.
    let end = Instant::now() + WAIT;
    while !acs.sessions().iter().all(|s| s.ended) {
        assert!(Instant::now() < end, "sessions did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(acs.max_open_sessions(), 1);
    assert!(
        cr_sessions(&acs) <= count(true, 200),
        "{} sessions",
        cr_sessions(&acs)
    );
    // The phone still serves connection requests.
    let (status, _) = connection_request(&target, "wrong", 1);
    assert_eq!(status, 401);
    phone.terminate();
}

/// Bad credentials never use up the good clients' allowance: after a flood of wrong
/// passwords the ACS still gets its session's free request and the whole burst.
#[test]
fn bad_credentials_do_not_use_the_allowance() {
    let acs = FakeAcs::builder().start().expect("acs");
    let mut phone = cr_phone(
        &acs,
        "connection-request-burst = 3\nconnection-request-rate = 0.01",
    );
    let target = booted(&acs, &mut phone);
    // A session that stays open (the ACS stalls its Inform), so that no session starts
    // during the count below: one session period throughout.
    acs.push_faults([cwmp_testkit::acs::Fault::Stall(Duration::from_secs(30))]);
    let n0 = acs.request_count();
    assert_eq!(connection_request(&target, CR_PASS, 1).0, 200);
    assert!(acs.wait_for_requests(n0 + 1, WAIT), "{}", phone.log());
    for i in 0..200 {
        assert_eq!(connection_request(&target, "wrong", i).0, 401);
    }
    // The period's free request and the burst of 3 (set in the config file); then 503.
    let statuses: Vec<u16> = (0..5)
        .map(|i| connection_request(&target, CR_PASS, 500 + i).0)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 503]);
    phone.terminate();
}

//! The UDP connection-request socket end to end (TR-069 Annex G): signed UDP connection requests
//! from a test ACS, and the Annex G binding against a real coturn through a recording relay.
//! Loopback only; every loop is bounded.

mod connreq_common;

use connreq_common::*;
use cwmp_client::ConnectionRequestConfig;
use cwmp_connreq::{
    build_udp_request, classify, decode, DatagramKind, CONNECTION_REQUEST_BINDING_VALUE,
};
use std::net::{SocketAddr, UdpSocket};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn udp_config() -> ConnectionRequestConfig {
    ConnectionRequestConfig {
        udp_bind: Some("127.0.0.1:0".parse().unwrap()),
        ..ConnectionRequestConfig::default()
    }
}

/// UDPConnectionRequestAddress once written (STUN off: the socket's local address).
fn udp_address(rig: &Rig) -> SocketAddr {
    rig.wait_until(
        "UDPConnectionRequestAddress is set",
        Duration::from_secs(10),
        |r| !r.value(&p("UDPConnectionRequestAddress")).is_empty(),
    );
    rig.value(&p("UDPConnectionRequestAddress"))
        .parse()
        .expect("host:port")
}

#[test]
fn signed_udp_requests_open_one_session_and_bad_ones_none() {
    let rig = Rig::start(udp_config(), &[]);
    let target = udp_address(&rig);
    assert_eq!(rig.value(&p("NATDetected")), "false");
    let acs = UdpSocket::bind("127.0.0.1:0").unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let send = |ts: u64, id: &str, un: &str, pw: &str| {
        let d = build_udp_request(&target.to_string(), ts, id, un, "c-nonce", pw);
        acs.send_to(&d, target).unwrap();
    };
    // Three copies of one message (GenieACS's habit): exactly one session.
    for _ in 0..3 {
        send(now, "1001", CR_USER, CR_PASS);
    }
    rig.wait_until(
        "a 6 CONNECTION REQUEST session",
        Duration::from_secs(15),
        |r| r.cr_sessions() == 1 && r.acs.sessions_ended() >= 2,
    );
    // Bad signature, wrong username, replayed id, stale ts.
    send(now + 1, "1002", CR_USER, "wrong-password");
    send(now + 1, "1003", "someone-else", CR_PASS);
    send(now + 1, "1001", CR_USER, CR_PASS);
    send(now - 3600, "1004", CR_USER, CR_PASS);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rig.cr_sessions(), 1, "refused requests open no session");
    // A fresh valid message does.
    send(now + 2, "1005", CR_USER, CR_PASS);
    rig.wait_until("a second session", Duration::from_secs(15), |r| {
        r.cr_sessions() == 2
    });
    rig.stop();
}

// ---------------------------------------------------------------------------------------------
// coturn through a recording relay
// ---------------------------------------------------------------------------------------------

struct Coturn {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_coturn() -> Coturn {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = test_peers::coturn(port, dir.path())
        .spawn()
        .expect("spawn turnserver");
    Coturn {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        _dir: dir,
    }
}

/// A one-client UDP relay (a NAT, in effect): datagrams to `front` go to `server` from
/// `back`, answers on `back` go to the last client. Records what the client sent.
struct Relay {
    front: SocketAddr,
    back: SocketAddr,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    fn start(server: SocketAddr) -> Relay {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let back = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        for s in [&front, &back] {
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
        }
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let sent: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        {
            let (f, b, c, rec, st) = (
                Arc::clone(&front),
                Arc::clone(&back),
                Arc::clone(&client),
                Arc::clone(&sent),
                Arc::clone(&stop),
            );
            threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                while !st.load(Ordering::SeqCst) {
                    if let Ok((n, from)) = f.recv_from(&mut buf) {
                        *c.lock().unwrap() = Some(from);
                        let mut r = rec.lock().unwrap();
                        if r.len() < 1000 {
                            r.push(buf[..n].to_vec());
                        }
                        let _ = b.send_to(&buf[..n], server);
                    }
                }
            }));
        }
        {
            let (f, b, c, st) = (
                Arc::clone(&front),
                Arc::clone(&back),
                Arc::clone(&client),
                Arc::clone(&stop),
            );
            threads.push(std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                while !st.load(Ordering::SeqCst) {
                    if let Ok((n, _)) = b.recv_from(&mut buf) {
                        if let Some(to) = *c.lock().unwrap() {
                            let _ = f.send_to(&buf[..n], to);
                        }
                    }
                }
            }));
        }
        Relay {
            front: front.local_addr().unwrap(),
            back: back.local_addr().unwrap(),
            sent,
            stop,
            threads,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[test]
#[cfg_attr(
    peer_missing_turnserver,
    ignore = "turnserver not installed (apt-get install coturn)"
)]
fn annex_g_binding_against_coturn_through_a_relay() {
    let coturn = start_coturn();
    let relay = Relay::start(coturn.addr);
    let port = relay.front.port().to_string();
    let rig = Rig::start(
        udp_config(),
        &[
            ("STUNEnable", "true"),
            ("STUNServerAddress", "127.0.0.1"),
            ("STUNServerPort", port.as_str()),
            ("STUNMaximumKeepAlivePeriod", "1"),
            ("STUNMinimumKeepAlivePeriod", "1"),
        ],
    );
    // coturn may need a moment to listen; the binding retransmits (RFC 3489 timing) and
    // keeps alive every second.
    let mapped = relay.back.to_string();
    rig.wait_until(
        "UDPConnectionRequestAddress is coturn's MAPPED-ADDRESS",
        Duration::from_secs(20),
        |r| r.value(&p("UDPConnectionRequestAddress")) == mapped,
    );
    // Through the relay, coturn sees the relay's back socket, not the agent's own socket:
    // the mapping differs from the local address, which is what a NAT looks like.
    assert_eq!(rig.value(&p("NATDetected")), "true");

    // The wire: every Binding Request carries CONNECTION-REQUEST-BINDING.
    let sent = relay.sent.lock().unwrap().clone();
    assert!(!sent.is_empty());
    for d in &sent {
        assert_eq!(classify(d), DatagramKind::Stun);
        let m = decode(d).expect("a STUN message").message;
        assert!(m.has_connection_request_binding(), "{m:?}");
        let needle = [
            &[0xC0, 0x01, 0x00, 0x14][..],
            &CONNECTION_REQUEST_BINDING_VALUE[..],
        ]
        .concat();
        assert!(
            d.windows(needle.len()).any(|w| w == needle.as_slice()),
            "0xC001 'dslforum.org/TR-111 ' on the wire"
        );
        assert_eq!(&d[..2], &[0x00, 0x01], "Binding Request");
    }
    // The first UDPConnectionRequestAddress change was notified (Active by default).
    rig.wait_until("a 4 VALUE CHANGE session", Duration::from_secs(15), |r| {
        r.acs.sessions().iter().any(|s| {
            s.inform
                .event
                .iter()
                .any(|e| e.event_code == "4 VALUE CHANGE")
        })
    });

    // STUN off: the local address and no NAT.
    rig.set(&p("STUNEnable"), "false");
    rig.wait_until("NATDetected false", Duration::from_secs(10), |r| {
        r.value(&p("NATDetected")) == "false"
    });
    let local = rig.value(&p("UDPConnectionRequestAddress"));
    assert!(
        local.starts_with("127.0.0.1:") && local != mapped,
        "{local}"
    );
    rig.stop();
}

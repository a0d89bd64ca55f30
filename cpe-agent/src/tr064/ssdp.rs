//! SSDP discovery (seed 003 §2, §10.1–10.2): answer M-SEARCH for `ssdp:all`,
//! `upnp:rootdevice`, the root device type and the UDN (and, under `ssdp:all`, the service
//! types) with LOCATION, SERVER, CACHE-CONTROL `max-age=1800`, EXT, ST and USN.
//!
//! Decisions:
//! * A unicast M-SEARCH to `ssdp-address` is always answered; the multicast group
//!   239.255.255.250 is joined only on the interfaces listed in `ssdp-interfaces` (by name:
//!   the interface's IPv4 address is the source address of the route to its on-link network,
//!   from `/proc/net/route`; `lo` is 127.0.0.1; an IPv4 address is also accepted).
//! * Answers go out at once (MX is an upper bound on the wait, so no wait is allowed), to at
//!   most [`MAX_ANSWERS_PER_SECOND`] requests a second (an amplification bound).
//! * LOCATION names the address the phone would use to reach the searcher (or the HTTP
//!   listener's address when it is bound to one), and the HTTP listener's port.
//! * No NOTIFY unless `ssdp-notify = true` (AVM omits it, seed 003 §2.1.1); then
//!   `ssdp:alive` for the root device, UDN and device type every 900 s (half the max-age).

use super::services::{self, DEVICE_TYPE};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The SSDP multicast group.
pub const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// Largest datagram read.
pub const MAX_DATAGRAM: usize = 2048;
/// Requests answered per second at most.
pub const MAX_ANSWERS_PER_SECOND: u32 = 50;
/// `CACHE-CONTROL: max-age`.
pub const MAX_AGE: u32 = 1800;

/// A parsed M-SEARCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MSearch {
    /// The search target.
    pub st: String,
    /// MX, when given.
    pub mx: Option<u32>,
}

/// Parse an M-SEARCH datagram; `None` for anything else (other methods, no `MAN:
/// "ssdp:discover"`, no ST, not UTF-8, too large).
pub fn parse_msearch(datagram: &[u8]) -> Option<MSearch> {
    if datagram.len() > MAX_DATAGRAM {
        return None;
    }
    let text = std::str::from_utf8(datagram).ok()?;
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let first = lines.next()?.trim();
    let mut parts = first.split_whitespace();
    if parts.next()? != "M-SEARCH" || parts.next()? != "*" || !parts.next()?.starts_with("HTTP/1.")
    {
        return None;
    }
    let (mut st, mut man, mut mx) = (None, false, None);
    for line in lines.take(32) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_uppercase().as_str() {
            "ST" => st = Some(value.to_owned()),
            "MAN" => man = value.trim_matches('"') == "ssdp:discover",
            "MX" => mx = value.parse().ok(),
            _ => {}
        }
    }
    let st = st.filter(|s| !s.is_empty() && s.len() <= 256)?;
    man.then_some(MSearch { st, mx })
}

/// The (ST, USN) pairs to answer `st` with, for the device with `udn`.
pub fn answers(st: &str, udn: &str) -> Vec<(String, String)> {
    let pair = |t: &str| (t.to_owned(), format!("{udn}::{t}"));
    let mut out = Vec::new();
    if st == "ssdp:all" {
        out.push(pair("upnp:rootdevice"));
        out.push((udn.to_owned(), udn.to_owned()));
        out.push(pair(DEVICE_TYPE));
        for s in services::SERVICES {
            out.push(pair(&s.service_type()));
        }
    } else if st == "upnp:rootdevice" || st == DEVICE_TYPE {
        out.push(pair(st));
    } else if st.eq_ignore_ascii_case(udn) {
        out.push((udn.to_owned(), udn.to_owned()));
    } else if let Some(s) = services::SERVICES.iter().find(|s| s.service_type() == st) {
        out.push(pair(&s.service_type()));
    }
    out
}

/// The response datagram.
pub fn response(location: &str, st: &str, usn: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nLOCATION: {location}\r\nSERVER: {}\r\nCACHE-CONTROL: max-age={MAX_AGE}\r\n\
         EXT:\r\nST: {st}\r\nUSN: {usn}\r\nCONTENT-LENGTH: 0\r\n\r\n",
        super::http::SERVER
    )
}

fn notify(location: &str, nt: &str, usn: &str) -> String {
    format!(
        "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nLOCATION: {location}\r\n\
         SERVER: {}\r\nCACHE-CONTROL: max-age={MAX_AGE}\r\nNT: {nt}\r\nNTS: ssdp:alive\r\nUSN: {usn}\r\n\r\n",
        super::http::SERVER
    )
}

/// The IPv4 address of interface `name` (see the module doc).
pub fn interface_ipv4(name: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Some(ip);
    }
    if name == "lo" {
        return Some(Ipv4Addr::LOCALHOST);
    }
    let routes = std::fs::read_to_string("/proc/net/route").ok()?;
    for line in routes.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 || f[0] != name {
            continue;
        }
        // The hex of the in-memory (network-order) value, read as a little-endian number.
        let parse = |h: &str| {
            u32::from_str_radix(h, 16)
                .ok()
                .map(|v| u32::from_be_bytes(v.to_le_bytes()))
        };
        let (Some(dest), Some(mask)) = (parse(f[1]), parse(f[7])) else {
            continue;
        };
        if mask == 0 {
            continue;
        }
        // Any host of the on-link network: the kernel picks the interface's address.
        let probe = Ipv4Addr::from(dest | 1);
        let sock = UdpSocket::bind("0.0.0.0:0").ok()?;
        sock.connect((probe, 9)).ok()?;
        if let IpAddr::V4(ip) = sock.local_addr().ok()?.ip() {
            return Some(ip);
        }
    }
    None
}

/// The address this host uses to reach `peer`.
fn local_for(peer: SocketAddr) -> Option<IpAddr> {
    let bind: SocketAddr = if peer.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let s = UdpSocket::bind(bind).ok()?;
    s.connect(peer).ok()?;
    Some(s.local_addr().ok()?.ip())
}

/// What the responder needs to know.
#[derive(Debug, Clone)]
pub struct SsdpInfo {
    /// The UDN.
    pub udn: String,
    /// The HTTP listener's address.
    pub http: SocketAddr,
}

/// The running SSDP responder; stops when dropped.
#[derive(Debug)]
pub struct Responder {
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    /// Bind `addr`, join the group on `interfaces`, answer with `info`.
    pub fn start(
        addr: SocketAddr,
        interfaces: &[String],
        send_notify: bool,
        info: SsdpInfo,
    ) -> io::Result<Responder> {
        let sock = UdpSocket::bind(addr)?;
        let local = sock.local_addr()?;
        let mut joined = Vec::new();
        for name in interfaces {
            match interface_ipv4(name) {
                Some(ip) => match sock.join_multicast_v4(&GROUP, &ip) {
                    Ok(()) => {
                        log::info!("SSDP: joined {GROUP} on {name} ({ip})");
                        joined.push(ip);
                    }
                    Err(e) => log::warn!("SSDP: joining {GROUP} on {name}: {e}"),
                },
                None => log::warn!("SSDP: interface {name} has no IPv4 address"),
            }
        }
        sock.set_read_timeout(Some(Duration::from_millis(250)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let info = Arc::new(Mutex::new(info));
        let thread = std::thread::Builder::new()
            .name("tr064-ssdp".into())
            .spawn(move || run(&sock, &stop2, &info, send_notify && !joined.is_empty()))?;
        log::info!("SSDP responder on {local}");
        Ok(Responder {
            local,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn location(info: &SsdpInfo, peer: SocketAddr) -> String {
    let ip = if info.http.ip().is_unspecified() {
        local_for(peer).unwrap_or(info.http.ip())
    } else {
        info.http.ip()
    };
    format!(
        "http://{}/tr64desc.xml",
        SocketAddr::new(ip, info.http.port())
    )
}

fn run(sock: &UdpSocket, stop: &AtomicBool, info: &Mutex<SsdpInfo>, send_notify: bool) {
    let mut buf = [0u8; MAX_DATAGRAM + 1];
    let mut window = Instant::now();
    let mut answered = 0u32;
    let mut next_notify = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        if send_notify && Instant::now() >= next_notify {
            let info = info.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let group = SocketAddr::from((GROUP, 1900));
            let loc = location(&info, group);
            for (nt, usn) in answers("upnp:rootdevice", &info.udn)
                .into_iter()
                .chain(answers(&info.udn, &info.udn))
                .chain(answers(DEVICE_TYPE, &info.udn))
            {
                let _ = sock.send_to(notify(&loc, &nt, &usn).as_bytes(), group);
            }
            next_notify = Instant::now() + Duration::from_secs(u64::from(MAX_AGE / 2));
        }
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => continue,
        };
        let Some(search) = parse_msearch(&buf[..n]) else {
            continue;
        };
        if window.elapsed() >= Duration::from_secs(1) {
            window = Instant::now();
            answered = 0;
        }
        if answered >= MAX_ANSWERS_PER_SECOND {
            continue;
        }
        answered += 1;
        let info = info.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let loc = location(&info, peer);
        for (st, usn) in answers(&search.st, &info.udn) {
            let _ = sock.send_to(response(&loc, &st, &usn).as_bytes(), peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UDN: &str = "uuid:75f5e2d0-5a1d-4e0b-8d3c-001ae8a1b2c3";

    #[test]
    fn seed_search_is_answered() {
        // Seed 003 §10.1.
        let m = parse_msearch(
            b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 5\r\n\
              ST: urn:dslforum-org:device:InternetGatewayDevice:1\r\n\r\n",
        )
        .unwrap();
        assert_eq!(m.mx, Some(5));
        let a = answers(&m.st, UDN);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].1, format!("{UDN}::{DEVICE_TYPE}"));
        let r = response("http://192.0.2.1:49000/tr64desc.xml", &a[0].0, &a[0].1);
        for h in [
            "LOCATION: http://192.0.2.1:49000/tr64desc.xml\r\n",
            "CACHE-CONTROL: max-age=1800\r\n",
            "EXT:\r\n",
            "SERVER: ",
            &format!("ST: {DEVICE_TYPE}\r\n"),
        ] {
            assert!(r.contains(h), "{h}");
        }
    }

    #[test]
    fn targets() {
        assert_eq!(answers("ssdp:all", UDN).len(), 3 + services::SERVICES.len());
        assert_eq!(answers("upnp:rootdevice", UDN).len(), 1);
        assert_eq!(answers(UDN, UDN), [(UDN.to_owned(), UDN.to_owned())]);
        assert!(answers("urn:other:device:x:1", UDN).is_empty());
        assert_eq!(answers("urn:dslforum-org:service:X_VoIP:1", UDN).len(), 1);
    }

    #[test]
    fn refusals() {
        assert!(parse_msearch(
            b"NOTIFY * HTTP/1.1\r\nST: ssdp:all\r\nMAN: \"ssdp:discover\"\r\n\r\n"
        )
        .is_none());
        assert!(parse_msearch(b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n").is_none());
        assert!(parse_msearch(b"M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\n\r\n").is_none());
        assert!(parse_msearch(&[0xff; 10]).is_none());
        assert!(parse_msearch(&vec![b'a'; MAX_DATAGRAM + 1]).is_none());
    }
}

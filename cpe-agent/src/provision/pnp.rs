//! SIP PnP (seed 001 §4.3.2): the phone sends a SUBSCRIBE with
//! `Event: ua-profile;profile-type="device";vendor=…;model=…;version=…` every
//! `auto-provision-pnp-interval` seconds to `auto-provision-pnp-server` (by default the SIP
//! PnP multicast group `224.0.1.75:5060`; a unicast `host:port` works too) over UDP or TCP
//! (`auto-provision-pnp-transport`). A NOTIFY with `Content-Type: application/url` is
//! answered `200 OK` and its body becomes the PnP provisioning URL; any other NOTIFY is
//! answered `200 OK` and ignored; other requests get `405`.
//!
//! The SIP parser ([`parse_message`]) is this project's: the messages involved are two, the
//! Rust SIP crates (`rsip`) are unmaintained, and a small bounded parser is easy to fuzz
//! (`sip_message`). Bounds: [`MAX_MESSAGE`] bytes, 64 header lines, a body within the
//! message.

use std::fmt;

/// The largest SIP message accepted.
pub const MAX_MESSAGE: usize = 8192;
/// The largest provisioning URL accepted from a NOTIFY.
pub const MAX_URL: usize = 2048;

/// A request or response start line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD uri SIP/2.0`.
    Request {
        /// The method, upper case as written.
        method: String,
        /// The Request-URI.
        uri: String,
    },
    /// `SIP/2.0 code reason`.
    Response {
        /// The status code.
        code: u16,
    },
}

/// A parsed SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    /// The start line.
    pub start: StartLine,
    /// Headers in order, names in their long form, lower case.
    pub headers: Vec<(String, String)>,
    /// The body (Content-Length bytes).
    pub body: Vec<u8>,
}

impl SipMessage {
    /// The first header named `name` (lower-case long form).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipError(pub String);

impl fmt::Display for SipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP: {}", self.0)
    }
}

impl std::error::Error for SipError {}

fn long_name(n: &str) -> String {
    let n = n.trim().to_ascii_lowercase();
    match n.as_str() {
        "c" => "content-type".into(),
        "l" => "content-length".into(),
        "v" => "via".into(),
        "f" => "from".into(),
        "t" => "to".into(),
        "i" => "call-id".into(),
        "o" => "event".into(),
        "m" => "contact".into(),
        _ => n,
    }
}

/// Where the head of a message ends (after the blank line), if it is complete.
pub fn head_end(data: &[u8]) -> Option<usize> {
    data.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| data.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
}

/// Parse one complete SIP message. Never panics; bounded.
pub fn parse_message(data: &[u8]) -> Result<SipMessage, SipError> {
    let bad = |m: &str| SipError(m.to_owned());
    if data.len() > MAX_MESSAGE {
        return Err(bad("message too large"));
    }
    let end = head_end(data).ok_or_else(|| bad("incomplete head"))?;
    let head = std::str::from_utf8(&data[..end]).map_err(|_| bad("head not UTF-8"))?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let start = if let Some(rest) = first.strip_prefix("SIP/2.0 ") {
        let code = rest
            .split(' ')
            .next()
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|c| (100..=699).contains(c))
            .ok_or_else(|| bad("bad status code"))?;
        StartLine::Response { code }
    } else {
        let mut parts = first.split(' ');
        let (Some(method), Some(uri), Some("SIP/2.0"), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("bad request line"));
        };
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(bad("bad method"));
        }
        StartLine::Request {
            method: method.to_owned(),
            uri: uri.to_owned(),
        }
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            // A folded line continues the previous header.
            let last = headers
                .last_mut()
                .ok_or_else(|| bad("folded first header"))?;
            last.1.push(' ');
            last.1.push_str(line.trim());
            continue;
        }
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| bad("header without ':'"))?;
        if headers.len() >= 64 {
            return Err(bad("too many headers"));
        }
        headers.push((long_name(n), v.trim().to_owned()));
    }
    let rest = &data[end..];
    let len = match headers.iter().find(|(n, _)| n == "content-length") {
        Some((_, v)) => v.parse::<usize>().map_err(|_| bad("bad Content-Length"))?,
        None => rest.len(),
    };
    let body = rest
        .get(..len)
        .ok_or_else(|| bad("body shorter than Content-Length"))?
        .to_vec();
    Ok(SipMessage {
        start,
        headers,
        body,
    })
}

/// The URL a NOTIFY carries, when it is a PnP NOTIFY with `Content-Type: application/url`.
pub fn notify_url(m: &SipMessage) -> Option<String> {
    match &m.start {
        StartLine::Request { method, .. } if method.eq_ignore_ascii_case("NOTIFY") => {}
        _ => return None,
    }
    let ct = m.header("content-type")?;
    if !ct
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/url"))
    {
        return None;
    }
    let text = std::str::from_utf8(&m.body).ok()?.trim();
    (!text.is_empty() && text.len() <= MAX_URL && !text.chars().any(char::is_control))
        .then(|| text.to_owned())
}

/// The answer to a request: `200 OK` for a NOTIFY of our subscription (its Call-ID is the
/// SUBSCRIBE's, `call_id`), `481` for a NOTIFY of any other dialog (RFC 6665 §4.1.3),
/// `405` otherwise (headers copied as RFC 3261 §8.2.6 asks).
pub fn response_to(m: &SipMessage, call_id: &str) -> Option<Vec<u8>> {
    let StartLine::Request { method, .. } = &m.start else {
        return None;
    };
    let (code, reason) = if !method.eq_ignore_ascii_case("NOTIFY") {
        (405, "Method Not Allowed")
    } else if in_dialog(m, call_id) {
        (200, "OK")
    } else {
        (481, "Subscription Does Not Exist")
    };
    let mut out = format!("SIP/2.0 {code} {reason}\r\n");
    for (n, v) in &m.headers {
        let name = match n.as_str() {
            "via" => "Via",
            "from" => "From",
            "to" => "To",
            "call-id" => "Call-ID",
            "cseq" => "CSeq",
            _ => continue,
        };
        out.push_str(&format!("{name}: {v}\r\n"));
    }
    if code == 405 {
        out.push_str("Allow: NOTIFY\r\n");
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

/// Who the phone says it is in the SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// MAC, lower-case hex without separators.
    pub mac: String,
    /// Vendor (`Unify`).
    pub vendor: String,
    /// `device-type`.
    pub model: String,
    /// `standard-software-version`.
    pub version: String,
}

/// The dialog identifiers of one SUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialog<'a> {
    /// `CSeq` number.
    pub cseq: u32,
    /// `Call-ID` (kept for the boot).
    pub call_id: &'a str,
    /// The `From` tag (kept for the boot).
    pub tag: &'a str,
    /// The `Via` branch (new per request).
    pub branch: &'a str,
}

/// The SUBSCRIBE (seed §4.3.2).
pub fn subscribe(
    id: &Identity,
    server: &str,
    local: std::net::SocketAddr,
    transport: &str,
    d: Dialog<'_>,
) -> Vec<u8> {
    let (cseq, call_id, tag, branch) = (d.cseq, d.call_id, d.tag, d.branch);
    let q = |s: &str| s.replace(['"', '\\', '\r', '\n'], "");
    format!(
        "SUBSCRIBE sip:{mac}@{server} SIP/2.0\r\n\
         Via: SIP/2.0/{tr} {local};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{mac}@{lip}>;tag={tag}\r\n\
         To: <sip:{mac}@{server}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} SUBSCRIBE\r\n\
         Contact: <sip:{mac}@{local}>\r\n\
         Event: ua-profile;profile-type=\"device\";vendor=\"{vendor}\";model=\"{model}\";version=\"{version}\"\r\n\
         Accept: application/url\r\n\
         Expires: 0\r\n\
         Content-Length: 0\r\n\r\n",
        mac = id.mac,
        tr = transport.to_ascii_uppercase(),
        lip = local.ip(),
        vendor = q(&id.vendor),
        model = q(&id.model),
        version = q(&id.version),
    )
    .into_bytes()
}

/// What the PnP client needs from the daemon for one boot.
pub struct PnpEnv {
    /// The running client (store jobs read the settings).
    pub handle: cwmp_client::ClientHandle,
    /// The phone's model.
    pub model: std::sync::Arc<deskphone_datamodel::DeskPhoneModel>,
    /// Where a NOTIFY's URL goes.
    pub provisioner: std::sync::Arc<super::worker::Provisioner>,
    /// Set when the daemon stops or the client ends.
    pub stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl fmt::Debug for PnpEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PnpEnv").finish_non_exhaustive()
    }
}

struct PnpSettings {
    enable: bool,
    server: String,
    transport: String,
    interval: u64,
    id: Identity,
}

/// Start this boot's PnP client (it ends at once when `auto-provision-pnp-enable` is false).
pub fn start(env: PnpEnv) {
    let spawned = std::thread::Builder::new()
        .name("sip-pnp".into())
        .spawn(move || run(env));
    if let Err(e) = spawned {
        log::error!("cannot start SIP PnP: {e}");
    }
}

fn random_token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn run(env: PnpEnv) {
    use std::sync::atomic::Ordering;
    let model = env.model.clone();
    let Some(s) = crate::cloud::on_store(&env.handle, move |store| {
        let item = |n: &str| model.item_value(store.backend(), n).unwrap_or_default();
        PnpSettings {
            enable: item("auto-provision-pnp-enable") == "true",
            server: item("auto-provision-pnp-server"),
            transport: item("auto-provision-pnp-transport"),
            interval: item("auto-provision-pnp-interval").parse().unwrap_or(3600),
            id: Identity {
                mac: super::url::bare_mac(&item("mac-address")),
                vendor: "Unify".into(),
                model: item("device-type"),
                version: item("standard-software-version"),
            },
        }
    }) else {
        return;
    };
    if !s.enable {
        return;
    }
    let server = match std::net::ToSocketAddrs::to_socket_addrs(&s.server)
        .ok()
        .and_then(|mut a| a.next())
    {
        Some(a) => a,
        None => {
            log::warn!("SIP PnP: cannot resolve {}", s.server);
            return;
        }
    };
    log::info!(
        "SIP PnP: subscribing to {server} over {} every {} s",
        s.transport,
        s.interval
    );
    let alive = || !env.stop.load(Ordering::SeqCst) && env.handle.with_store(|_| {});
    let mut cseq = 0u32;
    let call_id = format!("{}@cpe-agent", random_token());
    let tag = random_token();
    while alive() {
        cseq += 1;
        let until = std::time::Instant::now() + std::time::Duration::from_secs(s.interval.max(1));
        let r = if s.transport == "tcp" {
            round_tcp(
                &env,
                &s,
                &Round {
                    server,
                    cseq,
                    call_id: &call_id,
                    tag: &tag,
                    until,
                },
                &alive,
            )
        } else {
            round_udp(
                &env,
                &s,
                &Round {
                    server,
                    cseq,
                    call_id: &call_id,
                    tag: &tag,
                    until,
                },
                &alive,
            )
        };
        if let Err(e) = r {
            log::warn!("SIP PnP {server}: {e}");
            while alive() && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
    }
}

/// One SUBSCRIBE round: where, its dialog ids, and until when to listen for answers.
#[derive(Clone, Copy)]
struct Round<'a> {
    server: std::net::SocketAddr,
    cseq: u32,
    call_id: &'a str,
    tag: &'a str,
    until: std::time::Instant,
}

/// Whether `m` belongs to the subscription whose Call-ID is `call_id`.
pub fn in_dialog(m: &SipMessage, call_id: &str) -> bool {
    m.header("call-id").is_some_and(|c| c.trim() == call_id)
}

/// One message from the PnP server's side: only a NOTIFY of this round's subscription may set
/// the provisioning URL (anyone can send a datagram to the phone's port).
fn handle_message(env: &PnpEnv, data: &[u8], call_id: &str) -> Option<Vec<u8>> {
    let m = match parse_message(data) {
        Ok(m) => m,
        Err(e) => {
            log::debug!("SIP PnP: {e}");
            return None;
        }
    };
    let url = notify_url(&m);
    if url.is_some() && !in_dialog(&m, call_id) {
        log::warn!("SIP PnP: NOTIFY outside the subscription's dialog ignored (481)");
    } else if let Some(url) = url {
        log::info!(
            "SIP PnP: NOTIFY with provisioning URL {}",
            crate::trace::redact_url(&url)
        );
        env.provisioner.pnp_url(url);
    }
    response_to(&m, call_id)
}

fn round_udp(
    env: &PnpEnv,
    s: &PnpSettings,
    r: &Round<'_>,
    alive: &dyn Fn() -> bool,
) -> std::io::Result<()> {
    let Round {
        server,
        cseq,
        call_id,
        tag,
        until,
    } = *r;
    use std::net::UdpSocket;
    let any = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let sock = UdpSocket::bind(any)?;
    // The address the phone is reached at: the route's source address, the socket's port.
    let probe = UdpSocket::bind(any)?;
    probe.connect(server)?;
    let local = std::net::SocketAddr::new(probe.local_addr()?.ip(), sock.local_addr()?.port());
    sock.set_read_timeout(Some(std::time::Duration::from_millis(200)))?;
    let branch = random_token();
    let d = Dialog {
        cseq,
        call_id,
        tag,
        branch: &branch,
    };
    let msg = subscribe(&s.id, &s.server, local, "udp", d);
    sock.send_to(&msg, server)?;
    let mut buf = vec![0u8; MAX_MESSAGE];
    while alive() && std::time::Instant::now() < until {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                if let Some(answer) = handle_message(env, &buf[..n], call_id) {
                    sock.send_to(&answer, from)?;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn round_tcp(
    env: &PnpEnv,
    s: &PnpSettings,
    r: &Round<'_>,
    alive: &dyn Fn() -> bool,
) -> std::io::Result<()> {
    let Round {
        server,
        cseq,
        call_id,
        tag,
        until,
    } = *r;
    use std::io::{Read, Write};
    let mut stream =
        std::net::TcpStream::connect_timeout(&server, std::time::Duration::from_secs(10))?;
    stream.set_read_timeout(Some(std::time::Duration::from_millis(200)))?;
    let local = stream.local_addr()?;
    let branch = random_token();
    let d = Dialog {
        cseq,
        call_id,
        tag,
        branch: &branch,
    };
    let msg = subscribe(&s.id, &s.server, local, "tcp", d);
    stream.write_all(&msg)?;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 2048];
    while alive() && std::time::Instant::now() < until {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => return Err(e),
        }
        if buf.len() > MAX_MESSAGE * 2 {
            return Err(std::io::Error::other("SIP stream: message too large"));
        }
        // Complete messages: the head, then Content-Length bytes.
        while let Some(end) = head_end(&buf) {
            let len = std::str::from_utf8(&buf[..end])
                .ok()
                .and_then(|h| {
                    h.lines().find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        matches!(
                            n.trim().to_ascii_lowercase().as_str(),
                            "content-length" | "l"
                        )
                        .then(|| v.trim().parse::<usize>().ok())?
                    })
                })
                .unwrap_or(0);
            if buf.len() < end + len {
                break;
            }
            let one: Vec<u8> = buf.drain(..end + len).collect();
            if let Some(answer) = handle_message(env, &one, call_id) {
                stream.write_all(&answer)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTIFY: &[u8] = b"NOTIFY sip:172.16.2.243:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 172.16.7.87:5060;branch=z9hG4bK1\r\nFrom: <sip:pnp@x>;tag=1\r\nTo: <sip:p@y>\r\nCall-ID: abc\r\nCSeq: 1 NOTIFY\r\nMax-Forwards: 70\r\nContent-Type: application/url\r\nSubscription-State: terminated;reason=timeout\r\nEvent: ua-profile;profile-type=\"device\"\r\nContent-Length: 47\r\n\r\nhttp://172.16.7.87:5000/provisioning/zheisBy8j/";

    #[test]
    fn seed_notify_is_answered_and_read() {
        let m = parse_message(NOTIFY).unwrap();
        assert_eq!(
            notify_url(&m).as_deref(),
            Some("http://172.16.7.87:5000/provisioning/zheisBy8j/")
        );
        let r = String::from_utf8(response_to(&m, "abc").unwrap()).unwrap();
        assert!(r.starts_with("SIP/2.0 200 OK\r\n"));
        // A NOTIFY of another dialog (anyone can send to the phone's port) is refused.
        assert!(!in_dialog(&m, "ours@cpe-agent"));
        let r = String::from_utf8(response_to(&m, "ours@cpe-agent").unwrap()).unwrap();
        assert!(r.starts_with("SIP/2.0 481 "), "{r}");
        assert!(r.contains("Call-ID: abc\r\n") && r.contains("CSeq: 1 NOTIFY\r\n"));
        let short = String::from_utf8_lossy(NOTIFY).replace("Content-Length: 47", "l: 99");
        assert!(parse_message(short.as_bytes()).is_err());
        let compact = String::from_utf8_lossy(NOTIFY).replace("Content-Type:", "c:");
        assert!(notify_url(&parse_message(compact.as_bytes()).unwrap()).is_some());
        let other = String::from_utf8_lossy(NOTIFY).replace("application/url", "text/plain");
        assert!(notify_url(&parse_message(other.as_bytes()).unwrap()).is_none());
        assert!(parse_message(b"SIP/2.0 200 OK\r\n\r\n").is_ok());
        assert!(parse_message(b"GARBAGE\r\n\r\n").is_err());
        assert!(parse_message(b"NOTIFY x SIP/2.0\r\n").is_err());
    }

    #[test]
    fn subscribe_carries_the_ua_profile_event() {
        let id = Identity {
            mac: "001ae8a1b2c3".into(),
            vendor: "Unify".into(),
            model: "OpenScape Desk Phone CP600".into(),
            version: "V1 R0.0.0".into(),
        };
        let d = Dialog {
            cseq: 1,
            call_id: "c@h",
            tag: "t",
            branch: "b",
        };
        let s = subscribe(
            &id,
            "224.0.1.75:5060",
            "127.0.0.1:5555".parse().unwrap(),
            "udp",
            d,
        );
        let m = parse_message(&s).unwrap();
        assert_eq!(
            m.header("event"),
            Some("ua-profile;profile-type=\"device\";vendor=\"Unify\";model=\"OpenScape Desk Phone CP600\";version=\"V1 R0.0.0\"")
        );
        assert!(matches!(m.start, StartLine::Request { ref method, .. } if method == "SUBSCRIBE"));
    }
}

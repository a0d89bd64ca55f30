//! A small TFTP client (RFC 1350, with the RFC 2347 option extension, RFC 2348 `blksize` and
//! RFC 2349 `tsize`): read requests in octet mode, one block in flight, retransmission on
//! timeout, a bounded file size.
//!
//! Why our own: the Rust TFTP crates are servers (`async-tftp`) or unmaintained clients; the
//! client side is a small loop, and its one parser of untrusted input ([`parse_packet`]) is
//! fuzzed (`tftp_packet`).
//!
//! Behaviour: the RRQ asks for `blksize` [`BLKSIZE`] and `tsize 0`. An OACK is checked (a
//! `blksize` between 8 and what was asked, a `tsize` within the bound) and acknowledged with
//! ACK 0; a server without options answers DATA 1 and 512-byte blocks are used. Packets from
//! another port than the server's first answer get ERROR 5 (unknown transfer ID) and are
//! otherwise ignored. A timeout resends the last packet, [`RETRIES`] times. A file above the
//! bound is abandoned with ERROR 3.

use super::url::ProvUrl;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// The block size asked for (fits an Ethernet MTU with IP and UDP headers).
pub const BLKSIZE: u16 = 1428;
/// Resends before giving up.
pub const RETRIES: u32 = 5;
/// Wait for an answer before resending.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// A TFTP packet as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// DATA: block number and payload.
    Data(u16, &'a [u8]),
    /// ACK.
    Ack(u16),
    /// ERROR: code and message.
    Error(u16, String),
    /// OACK: the options the server accepted.
    Oack(Vec<(String, String)>),
    /// RRQ or WRQ (a client never expects one).
    Request,
}

/// Parse one packet. Never panics; bounded by the datagram.
pub fn parse_packet(p: &[u8]) -> Result<Packet<'_>, String> {
    if p.len() < 2 {
        return Err("short packet".into());
    }
    let op = u16::from_be_bytes([p[0], p[1]]);
    let rest = &p[2..];
    let word = |r: &[u8]| -> Result<u16, String> {
        match r {
            [a, b, ..] => Ok(u16::from_be_bytes([*a, *b])),
            _ => Err("short packet".into()),
        }
    };
    match op {
        1 | 2 => Ok(Packet::Request),
        3 => Ok(Packet::Data(word(rest)?, &rest[2..])),
        4 if rest.len() == 2 => Ok(Packet::Ack(word(rest)?)),
        4 => Err("bad ACK length".into()),
        5 => {
            let code = word(rest)?;
            let msg = &rest[2..];
            let end = msg.iter().position(|b| *b == 0).unwrap_or(msg.len());
            let text: String = String::from_utf8_lossy(&msg[..end])
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect();
            Ok(Packet::Error(code, text))
        }
        6 => {
            let mut fields = rest.split(|b| *b == 0).collect::<Vec<_>>();
            // The last field ends with the final NUL: split leaves an empty tail.
            if fields.last().is_some_and(|f| f.is_empty()) {
                fields.pop();
            } else {
                return Err("OACK not NUL-terminated".into());
            }
            if fields.len() % 2 != 0 || fields.len() > 16 {
                return Err("OACK options not in pairs".into());
            }
            let text = |b: &[u8]| {
                std::str::from_utf8(b)
                    .map(|s| s.to_ascii_lowercase())
                    .map_err(|_| "OACK option not text".to_owned())
            };
            let mut out = Vec::new();
            for pair in fields.chunks(2) {
                out.push((text(pair[0])?, text(pair[1])?));
            }
            Ok(Packet::Oack(out))
        }
        _ => Err(format!("unknown opcode {op}")),
    }
}

/// The RRQ for `file` with the options.
pub fn read_request(file: &str) -> Vec<u8> {
    let mut p = vec![0, 1];
    for f in [file, "octet", "tsize", "0", "blksize", &BLKSIZE.to_string()] {
        p.extend_from_slice(f.as_bytes());
        p.push(0);
    }
    p
}

fn ack(block: u16) -> [u8; 4] {
    let b = block.to_be_bytes();
    [0, 4, b[0], b[1]]
}

fn error_packet(code: u16, msg: &str) -> Vec<u8> {
    let mut p = vec![0, 5];
    p.extend_from_slice(&code.to_be_bytes());
    p.extend_from_slice(msg.as_bytes());
    p.push(0);
    p
}

/// Why a TFTP transfer failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TftpError {
    /// The server's ERROR packet.
    Server(u16, String),
    /// No answer after the retries.
    Timeout,
    /// The file is larger than the bound.
    TooLarge(u64),
    /// A protocol violation or a socket error.
    Protocol(String),
}

impl TftpError {
    /// The server said "file not found" (error code 1).
    pub fn not_found(&self) -> bool {
        matches!(self, TftpError::Server(1, _))
    }
}

impl fmt::Display for TftpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TftpError::Server(c, m) => write!(f, "TFTP server error {c}: {m}"),
            TftpError::Timeout => write!(f, "TFTP server did not answer ({RETRIES} retries)"),
            TftpError::TooLarge(n) => write!(f, "TFTP file larger than {n} bytes"),
            TftpError::Protocol(m) => write!(f, "TFTP: {m}"),
        }
    }
}

impl std::error::Error for TftpError {}

/// Fetch the file of `url` (port 69 unless given), at most `max` bytes.
pub fn fetch(url: &ProvUrl, max: u64) -> Result<Vec<u8>, TftpError> {
    let io = |e: std::io::Error| TftpError::Protocol(e.to_string());
    // An IPv4 address first: TFTP servers commonly listen on IPv4 only, and `localhost`
    // resolves to ::1 first on many hosts.
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port.unwrap_or(69))
        .to_socket_addrs()
        .map_err(io)?
        .collect();
    let server = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| TftpError::Protocol(format!("{}: no address", url.host)))?;
    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let sock = UdpSocket::bind(bind).map_err(io)?;
    sock.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    // TFTP has no directories of its own: the path is the file name on the server.
    let name = format!("{}{}", url.dir.trim_start_matches('/'), url.file);
    let rrq = read_request(&name);
    transfer(&sock, server, &rrq, max)
}

fn transfer(
    sock: &UdpSocket,
    server: SocketAddr,
    rrq: &[u8],
    max: u64,
) -> Result<Vec<u8>, TftpError> {
    let io = |e: std::io::Error| TftpError::Protocol(e.to_string());
    let mut last: Vec<u8> = rrq.to_vec();
    let mut last_to = server;
    sock.send_to(&last, last_to).map_err(io)?;
    let mut peer: Option<SocketAddr> = None;
    let mut blksize = 512usize;
    let mut expected: u16 = 1;
    let mut data = Vec::new();
    let mut retries = 0;
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                retries += 1;
                if retries > RETRIES {
                    return Err(TftpError::Timeout);
                }
                sock.send_to(&last, last_to).map_err(io)?;
                continue;
            }
            Err(e) => return Err(io(e)),
        };
        // The server answers from its own transfer port (its TID); the first answer fixes it.
        match peer {
            Some(p) if p != from => {
                let _ = sock.send_to(&error_packet(5, "unknown transfer ID"), from);
                continue;
            }
            None if from.ip() != server.ip() => continue,
            _ => {}
        }
        let packet = match parse_packet(&buf[..n]) {
            Ok(p) => p,
            Err(m) => {
                let _ = sock.send_to(&error_packet(4, "illegal TFTP operation"), from);
                return Err(TftpError::Protocol(m));
            }
        };
        match packet {
            Packet::Error(code, msg) => return Err(TftpError::Server(code, msg)),
            Packet::Oack(opts) if peer.is_none() => {
                peer = Some(from);
                for (k, v) in &opts {
                    match k.as_str() {
                        "blksize" => match v.parse::<u16>() {
                            Ok(b) if (8..=BLKSIZE).contains(&b) => blksize = b.into(),
                            _ => {
                                let _ = sock.send_to(&error_packet(8, "bad blksize"), from);
                                return Err(TftpError::Protocol(format!("OACK blksize {v:?}")));
                            }
                        },
                        "tsize" => {
                            if v.parse::<u64>().map_or(true, |t| t > max) {
                                let _ = sock.send_to(&error_packet(3, "file too large"), from);
                                return Err(TftpError::TooLarge(max));
                            }
                        }
                        _ => {
                            let _ = sock.send_to(&error_packet(8, "option not asked"), from);
                            return Err(TftpError::Protocol(format!("OACK option {k:?}")));
                        }
                    }
                }
                last = ack(0).to_vec();
                last_to = from;
                sock.send_to(&last, last_to).map_err(io)?;
                retries = 0;
            }
            Packet::Data(block, payload) => {
                if peer.is_none() {
                    peer = Some(from);
                    last_to = from;
                }
                if block == expected {
                    if payload.len() > blksize {
                        return Err(TftpError::Protocol(
                            "DATA longer than the block size".into(),
                        ));
                    }
                    if (data.len() + payload.len()) as u64 > max {
                        let _ = sock.send_to(&error_packet(3, "file too large"), from);
                        return Err(TftpError::TooLarge(max));
                    }
                    data.extend_from_slice(payload);
                    last = ack(block).to_vec();
                    sock.send_to(&last, last_to).map_err(io)?;
                    retries = 0;
                    if payload.len() < blksize {
                        return Ok(data);
                    }
                    expected = expected.wrapping_add(1);
                } else if block == expected.wrapping_sub(1) {
                    // Our ACK was lost: the server resent the block. Acknowledge it again.
                    sock.send_to(&last, last_to).map_err(io)?;
                }
            }
            Packet::Oack(_) | Packet::Ack(_) | Packet::Request => {
                let _ = sock.send_to(&error_packet(4, "illegal TFTP operation"), from);
                return Err(TftpError::Protocol("unexpected packet".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets() {
        assert_eq!(parse_packet(&[0, 3, 0, 1, b'x']), Ok(Packet::Data(1, b"x")));
        assert_eq!(parse_packet(&[0, 4, 1, 0]), Ok(Packet::Ack(256)));
        assert_eq!(
            parse_packet(b"\x00\x05\x00\x01File not found\x00"),
            Ok(Packet::Error(1, "File not found".into()))
        );
        assert_eq!(
            parse_packet(b"\x00\x06tsize\x0012\x00blksize\x001428\x00"),
            Ok(Packet::Oack(vec![
                ("tsize".into(), "12".into()),
                ("blksize".into(), "1428".into())
            ]))
        );
        assert!(parse_packet(b"\x00\x06tsize\x0012").is_err());
        assert!(parse_packet(b"\x00\x06tsize\x00").is_err());
        assert!(parse_packet(&[0]).is_err());
        assert!(parse_packet(&[0, 3, 0]).is_err());
        assert!(parse_packet(&[0, 9]).is_err());
        assert_eq!(
            read_request("a.cfg"),
            b"\x00\x01a.cfg\x00octet\x00tsize\x000\x00blksize\x001428\x00"
        );
    }

    /// A scripted server on loopback: OACK, a lost ACK (duplicate block), a stray packet from
    /// another port, and the last short block.
    #[test]
    fn transfer_with_options_duplicates_and_strays() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let content: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let expect = content.clone();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let (_, client) = server.recv_from(&mut buf).unwrap();
            let tid = UdpSocket::bind("127.0.0.1:0").unwrap();
            tid.send_to(b"\x00\x06blksize\x001000\x00tsize\x003000\x00", client)
                .unwrap();
            let (n, _) = tid.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &[0, 4, 0, 0]);
            let stray = UdpSocket::bind("127.0.0.1:0").unwrap();
            stray.send_to(&[0, 3, 0, 1, 9], client).unwrap();
            let (n, _) = stray.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..4], &[0, 5, 0, 5], "{:?}", &buf[..n]);
            for (i, chunk) in content.chunks(1000).chain([&[][..]]).enumerate() {
                let block = (i + 1) as u16;
                let mut p = vec![0, 3];
                p.extend_from_slice(&block.to_be_bytes());
                p.extend_from_slice(chunk);
                tid.send_to(&p, client).unwrap();
                if block == 2 {
                    // Pretend block 2's ACK was lost.
                    tid.recv_from(&mut buf).unwrap();
                    tid.send_to(&p, client).unwrap();
                }
                let (n, _) = tid.recv_from(&mut buf).unwrap();
                assert_eq!(&buf[..n], &ack(block));
            }
        });
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        let got = transfer(&sock, addr, &read_request("x"), 10_000).unwrap();
        t.join().unwrap();
        assert_eq!(got, expect);
    }

    #[test]
    fn too_large_by_tsize() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let (_, client) = server.recv_from(&mut buf).unwrap();
            server
                .send_to(b"\x00\x06tsize\x0099999\x00", client)
                .unwrap();
            let (n, _) = server.recv_from(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        assert_eq!(
            transfer(&sock, addr, &read_request("x"), 100),
            Err(TftpError::TooLarge(100))
        );
        assert_eq!(&t.join().unwrap()[..4], &[0, 5, 0, 3]);
    }
}

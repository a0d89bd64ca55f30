//! Minimal blocking HTTP/1.1 server side: read one request (Content-Length bodies), write one
//! response. Enough for a CPE's POSTs; bounded in size, never panics on what the client sends.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A request as parsed off the wire.
#[derive(Debug, Clone)]
pub(crate) struct WireRequest {
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl WireRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client asked to close after this exchange.
    pub fn wants_close(&self) -> bool {
        let conn = self.header("connection").unwrap_or("");
        let close = conn
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("close"));
        close || (self.version == "HTTP/1.0" && !conn.eq_ignore_ascii_case("keep-alive"))
    }
}

/// Why reading a request stopped.
#[derive(Debug)]
pub(crate) enum ReadOutcome {
    /// A complete request.
    Request(WireRequest),
    /// The peer closed the connection between requests.
    Closed,
    /// The server is shutting down.
    Stopped,
    /// The bytes were not a request we accept (answer 400 and close).
    Bad(String),
}

/// Read one request. `buf` keeps bytes that arrived after it (pipelining is not expected from
/// a CPE, but bytes are never dropped). The stream has a short read timeout so that `stop` is
/// noticed.
pub(crate) fn read_request(
    stream: &mut dyn Read,
    buf: &mut Vec<u8>,
    stop: &AtomicBool,
) -> io::Result<ReadOutcome> {
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Ok(ReadOutcome::Bad("request head too large".into()));
        }
        match fill(stream, buf, stop)? {
            Fill::Data => {}
            Fill::Eof if buf.is_empty() => return Ok(ReadOutcome::Closed),
            Fill::Eof => return Ok(ReadOutcome::Bad("connection closed mid-request".into())),
            Fill::Stopped => return Ok(ReadOutcome::Stopped),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(ReadOutcome::Bad(format!(
            "bad request line {request_line:?}"
        )));
    };
    if !version.starts_with("HTTP/1.") {
        return Ok(ReadOutcome::Bad(format!("bad version {version:?}")));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((n, v)) = line.split_once(':') else {
            return Ok(ReadOutcome::Bad(format!("bad header line {line:?}")));
        };
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    let mut req = WireRequest {
        method: method.to_string(),
        target: target.to_string(),
        version: version.to_string(),
        headers,
        body: Vec::new(),
    };
    if req.header("transfer-encoding").is_some() {
        return Ok(ReadOutcome::Bad(
            "chunked request bodies are not supported".into(),
        ));
    }
    let len: usize = match req.header("content-length") {
        None => 0,
        Some(v) => match v.parse() {
            Ok(n) if n <= MAX_BODY => n,
            _ => return Ok(ReadOutcome::Bad(format!("bad Content-Length {v:?}"))),
        },
    };
    buf.drain(..head_end + 4);
    while buf.len() < len {
        match fill(stream, buf, stop)? {
            Fill::Data => {}
            Fill::Eof => return Ok(ReadOutcome::Bad("connection closed mid-body".into())),
            Fill::Stopped => return Ok(ReadOutcome::Stopped),
        }
    }
    req.body = buf.drain(..len).collect();
    Ok(ReadOutcome::Request(req))
}

enum Fill {
    Data,
    Eof,
    Stopped,
}

fn fill(stream: &mut dyn Read, buf: &mut Vec<u8>, stop: &AtomicBool) -> io::Result<Fill> {
    let mut chunk = [0u8; 8192];
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(Fill::Stopped);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(Fill::Eof),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(Fill::Data);
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::TimedOut
                    || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The reason phrase for the statuses the fake ACS sends.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Write a response with a `Content-Length` (always, like GenieACS).
pub(crate) fn write_response(
    stream: &mut dyn Write,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    for (n, v) in headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    stream.write_all(&out)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> ReadOutcome {
        let stop = AtomicBool::new(false);
        let mut buf = Vec::new();
        let mut r = bytes;
        read_request(&mut r, &mut buf, &stop).expect("no I/O error")
    }

    #[test]
    fn keep_alive_requests_in_one_buffer() {
        let stop = AtomicBool::new(false);
        let wire: &[u8] = b"POST /acs HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcPOST /acs HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        let mut r = wire;
        let mut buf = Vec::new();
        let ReadOutcome::Request(a) = read_request(&mut r, &mut buf, &stop).expect("ok") else {
            panic!("first request")
        };
        assert_eq!(
            (a.method.as_str(), a.target.as_str(), a.body.as_slice()),
            ("POST", "/acs", b"abc".as_slice())
        );
        assert_eq!(a.header("HOST"), Some("x"));
        let ReadOutcome::Request(b) = read_request(&mut r, &mut buf, &stop).expect("ok") else {
            panic!("second request")
        };
        assert!(b.body.is_empty());
        assert!(matches!(
            read_request(&mut r, &mut buf, &stop),
            Ok(ReadOutcome::Closed)
        ));
    }

    #[test]
    fn bad_requests_are_refused_not_panics() {
        for bad in [
            &b"garbage\r\n\r\n"[..],
            b"POST / SPDY/3\r\n\r\n",
            b"POST / HTTP/1.1\r\nno colon\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
            b"POST / HTTP/1.1\r\n",
        ] {
            assert!(
                matches!(read(bad), ReadOutcome::Bad(_)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let huge = vec![b'a'; MAX_HEAD + 10];
        assert!(matches!(read(&huge), ReadOutcome::Bad(_)));
    }

    #[test]
    fn close_semantics() {
        let ReadOutcome::Request(r) = read(b"POST / HTTP/1.0\r\n\r\n") else {
            panic!()
        };
        assert!(r.wants_close());
        let ReadOutcome::Request(r) =
            read(b"POST / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n")
        else {
            panic!()
        };
        assert!(r.wants_close());
        let ReadOutcome::Request(r) = read(b"POST / HTTP/1.1\r\n\r\n") else {
            panic!()
        };
        assert!(!r.wants_close());
    }
}

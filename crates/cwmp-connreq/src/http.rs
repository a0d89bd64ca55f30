//! HTTP connection-request heads and the responses to them (TR-069 §3.2.2).
//!
//! The ACS sends an HTTP/1.1 `GET` with no body to `ManagementServer.ConnectionRequestURL`.
//! [`parse_request`] turns the bytes a listener has read so far into an [`HttpRequest`], or says
//! that more bytes are needed ([`RequestError::Incomplete`]) so that the reader can loop with its
//! own timeout. [`Response`] renders the few answers a connection-request listener ever sends.
//!
//! Parsing uses `httparse` (no allocation while scanning, no `unsafe` here) inside a fixed bound:
//! at most [`MAX_HEAD_SIZE`] bytes and [`MAX_HEADERS`] header lines.
//!
//! # Keep-alive (decision)
//!
//! GenieACS sends `Connection: keep-alive` and, after a `401`, retries with `Authorization` on the
//! **same** connection (capture `153`/`154`). So a `401` keeps the connection open whenever the
//! request allows it ([`HttpRequest::keep_alive`]): no `Connection: close` header is sent and the
//! listener reads the next request from the same socket. Every other response ends the exchange:
//! it carries `Connection: close` and the listener closes. A connection request is one
//! authenticated `GET`; nothing is gained by keeping the socket after the final answer, and
//! closing bounds what an idle client can hold.

use std::fmt;

/// Largest request head accepted, in bytes (request line + headers + the blank line).
///
/// A GenieACS connection request head is about 400 bytes; 8 KiB leaves room for long
/// `Authorization` headers and proxies while bounding memory per connection.
pub const MAX_HEAD_SIZE: usize = 8 * 1024;

/// Largest number of header lines accepted.
pub const MAX_HEADERS: usize = 32;

/// A parsed HTTP request head.
///
/// `Debug` redacts the `Authorization` value: a Digest response is an offline-guessable hash of
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    method: String,
    target: String,
    minor_version: u8,
    headers: Vec<(String, Vec<u8>)>,
    head_len: usize,
}

impl HttpRequest {
    /// The request method as sent (`GET` for a connection request; compared case-sensitively,
    /// as RFC 9110 §9.1 requires).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Whether the method is `GET`.
    pub fn is_get(&self) -> bool {
        self.method == "GET"
    }

    /// The request target exactly as sent, e.g. `/tr069/cr-001AE8A1B2C3`. The Digest `uri`
    /// directive is compared against this string.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path part of the target: the query is dropped (the spec says anything carried in the
    /// request SHOULD be ignored), and an absolute-form target (`http://host:port/path`, which
    /// RFC 9112 §3.2.2 requires servers to accept) is reduced to its path (`/` when empty).
    ///
    /// An absolute-form target is parsed by the one URL parser ([`cwmp_model::Url`]); one
    /// that is not an http(s) URL has no path (`""`, which matches nothing).
    pub fn path(&self) -> std::borrow::Cow<'_, str> {
        let t = self.target.as_str();
        if t.starts_with('/') {
            return std::borrow::Cow::Borrowed(t.split('?').next().unwrap_or(t));
        }
        match cwmp_model::Url::parse(t) {
            Ok(u) if u.is_http() => std::borrow::Cow::Owned(u.path().to_owned()),
            _ => std::borrow::Cow::Borrowed(""),
        }
    }

    /// The HTTP minor version: `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub fn minor_version(&self) -> u8 {
        self.minor_version
    }

    /// The first header with this name (ASCII case-insensitive), if its value is valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// All header lines in order, values as raw bytes.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The `Authorization` header value, if present.
    pub fn authorization(&self) -> Option<&str> {
        self.header("Authorization")
    }

    /// Whether the client allows the connection to stay open after the response: HTTP/1.1
    /// unless a `Connection` header lists `close`; HTTP/1.0 only if it lists `keep-alive`.
    pub fn keep_alive(&self) -> bool {
        let mut close = false;
        let mut keep = false;
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("Connection") {
                continue;
            }
            let Ok(value) = std::str::from_utf8(value) else {
                continue;
            };
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
        if close {
            false
        } else {
            self.minor_version >= 1 || keep
        }
    }

    /// How many bytes of the input the head took. Bytes after it belong to the next request on
    /// the same connection (connection requests have no body).
    pub fn head_len(&self) -> usize {
        self.head_len
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a [(String, Vec<u8>)]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut list = f.debug_list();
                for (n, v) in self.0 {
                    if n.eq_ignore_ascii_case("Authorization") {
                        list.entry(&(n, cwmp_model::REDACTED));
                    } else {
                        list.entry(&(n, String::from_utf8_lossy(v)));
                    }
                }
                list.finish()
            }
        }
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("minor_version", &self.minor_version)
            .field("headers", &Headers(&self.headers))
            .field("head_len", &self.head_len)
            .finish()
    }
}

/// Why a request head could not be parsed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The head is not complete yet: read more bytes and call [`parse_request`] again.
    Incomplete,
    /// The head does not end within [`MAX_HEAD_SIZE`] bytes.
    TooLarge,
    /// More than [`MAX_HEADERS`] header lines.
    TooManyHeaders,
    /// Not an HTTP/1.x request head; the text says which part was wrong.
    Malformed(&'static str),
    /// A header that must appear at most once (`Host`, `Authorization`, `Content-Length`)
    /// appears twice: ambiguous credentials or framing are refused (RFC 9112 §3.2, §6.3).
    DuplicateHeader(&'static str),
    /// The request announces a body (`Content-Length` > 0 or any `Transfer-Encoding`):
    /// a connection request carries no data (TR-069 §3.2.2).
    BodyNotAllowed,
}

impl RequestError {
    /// The response a listener sends for this error before closing, or `None` for
    /// [`RequestError::Incomplete`] (keep reading).
    pub fn response(&self) -> Option<Response> {
        match self {
            RequestError::Incomplete => None,
            _ => Some(Response::BadRequest),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Incomplete => f.write_str("incomplete request head"),
            RequestError::TooLarge => write!(f, "request head larger than {MAX_HEAD_SIZE} bytes"),
            RequestError::TooManyHeaders => write!(f, "more than {MAX_HEADERS} header lines"),
            RequestError::Malformed(what) => write!(f, "malformed request head: {what}"),
            RequestError::DuplicateHeader(h) => write!(f, "duplicate {h} header"),
            RequestError::BodyNotAllowed => f.write_str("connection requests carry no body"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Parses an HTTP/1.x request head from the start of `bytes` (TR-069 §3.2.2).
///
/// Returns [`RequestError::Incomplete`] while the blank line ending the head has not arrived
/// and fewer than [`MAX_HEAD_SIZE`] bytes are buffered. Any method is accepted here (the caller
/// answers `405` to non-`GET`); a body is refused.
pub fn parse_request(bytes: &[u8]) -> Result<HttpRequest, RequestError> {
    let window = bytes.get(..MAX_HEAD_SIZE).unwrap_or(bytes);
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let head_len = match req.parse(window) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err(if bytes.len() >= MAX_HEAD_SIZE {
                RequestError::TooLarge
            } else {
                RequestError::Incomplete
            })
        }
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooManyHeaders),
        Err(e) => return Err(RequestError::Malformed(httparse_error_text(e))),
    };
    let (Some(method), Some(target), Some(minor_version)) = (req.method, req.path, req.version)
    else {
        return Err(RequestError::Malformed("request line"));
    };
    if target.is_empty() {
        return Err(RequestError::Malformed("empty request target"));
    }

    let mut headers = Vec::with_capacity(req.headers.len());
    let mut seen_host = false;
    let mut seen_auth = false;
    let mut seen_length = false;
    for h in req.headers.iter() {
        let once = |seen: &mut bool, name: &'static str| {
            if std::mem::replace(seen, true) {
                Err(RequestError::DuplicateHeader(name))
            } else {
                Ok(())
            }
        };
        if h.name.eq_ignore_ascii_case("Host") {
            once(&mut seen_host, "Host")?;
        } else if h.name.eq_ignore_ascii_case("Authorization") {
            once(&mut seen_auth, "Authorization")?;
        } else if h.name.eq_ignore_ascii_case("Content-Length") {
            once(&mut seen_length, "Content-Length")?;
            let text = std::str::from_utf8(h.value)
                .map_err(|_| RequestError::Malformed("Content-Length"))?
                .trim();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(RequestError::Malformed("Content-Length"));
            }
            if text.bytes().any(|b| b != b'0') {
                return Err(RequestError::BodyNotAllowed);
            }
        } else if h.name.eq_ignore_ascii_case("Transfer-Encoding") {
            return Err(RequestError::BodyNotAllowed);
        }
        headers.push((h.name.to_owned(), h.value.to_vec()));
    }

    Ok(HttpRequest {
        method: method.to_owned(),
        target: target.to_owned(),
        minor_version,
        headers,
        head_len,
    })
}

fn httparse_error_text(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "header name",
        httparse::Error::HeaderValue => "header value",
        httparse::Error::NewLine => "line ending",
        httparse::Error::Status => "status",
        httparse::Error::Token => "method or target",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "HTTP version",
    }
}

/// A response a connection-request listener sends (TR-069 §3.2.2). Every one has an empty body.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `200 OK`: authenticated connection request accepted.
    Ok,
    /// `204 No Content`: the other success answer the spec allows.
    NoContent,
    /// `400 Bad Request`: unparseable head, a body, duplicate credentials.
    BadRequest,
    /// `401 Unauthorized` with `WWW-Authenticate: <challenge>`.
    Unauthorized {
        /// The header value, from [`DigestAuth::challenge`](crate::DigestAuth::challenge).
        challenge: String,
    },
    /// `404 Not Found`: a path other than the connection-request path.
    NotFound,
    /// `405 Method Not Allowed` with `Allow: GET`.
    MethodNotAllowed,
    /// `503 Service Unavailable`: rate limit reached; no `Retry-After` (TR-069 §3.2.2 says the CPE
    /// SHOULD NOT send one).
    ServiceUnavailable,
}

impl Response {
    /// The status code.
    pub fn status_code(&self) -> u16 {
        match self {
            Response::Ok => 200,
            Response::NoContent => 204,
            Response::BadRequest => 400,
            Response::Unauthorized { .. } => 401,
            Response::NotFound => 404,
            Response::MethodNotAllowed => 405,
            Response::ServiceUnavailable => 503,
        }
    }

    /// The reason phrase.
    pub fn reason(&self) -> &'static str {
        match self {
            Response::Ok => "OK",
            Response::NoContent => "No Content",
            Response::BadRequest => "Bad Request",
            Response::Unauthorized { .. } => "Unauthorized",
            Response::NotFound => "Not Found",
            Response::MethodNotAllowed => "Method Not Allowed",
            Response::ServiceUnavailable => "Service Unavailable",
        }
    }

    /// Whether this response may leave the connection open (only a `401`, so that the client
    /// can answer the challenge on the same connection; see the module doc).
    pub fn allows_keep_alive(&self) -> bool {
        matches!(self, Response::Unauthorized { .. })
    }

    /// The response bytes. `keep_alive` = `false` adds `Connection: close`; it is ignored (treated
    /// as `false`) for responses that do not [allow keep-alive](Self::allows_keep_alive).
    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        response_bytes(self, keep_alive)
    }
}

/// Renders `response` as HTTP/1.1 bytes with `Content-Length: 0`.
///
/// With `keep_alive` false, or for any response other than `401`, the head carries
/// `Connection: close` and the caller closes the connection after writing it.
pub fn response_bytes(response: &Response, keep_alive: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status_code(),
        response.reason()
    );
    match response {
        Response::Unauthorized { challenge } => {
            // The challenge is built by this crate, but a header value must never carry a line
            // break (header injection), whatever the caller passed in.
            let clean: String = challenge
                .chars()
                .filter(|c| *c != '\r' && *c != '\n')
                .collect();
            out.push_str("WWW-Authenticate: ");
            out.push_str(&clean);
            out.push_str("\r\n");
        }
        Response::MethodNotAllowed => out.push_str("Allow: GET\r\n"),
        _ => {}
    }
    out.push_str("Content-Length: 0\r\n");
    if !(keep_alive && response.allows_keep_alive()) {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOAUTH: &[u8] =
        b"GET /tr069/cr-001AE8A1B2C3 HTTP/1.1\r\nHost: 127.0.0.1:7548\r\nConnection: keep-alive\r\n\r\n";

    #[test]
    fn parses_genieacs_noauth_request() {
        let r = parse_request(NOAUTH).unwrap();
        assert_eq!(r.method(), "GET");
        assert!(r.is_get());
        assert_eq!(r.target(), "/tr069/cr-001AE8A1B2C3");
        assert_eq!(r.path(), "/tr069/cr-001AE8A1B2C3");
        assert_eq!(r.minor_version(), 1);
        assert_eq!(r.header("host"), Some("127.0.0.1:7548"));
        assert_eq!(r.authorization(), None);
        assert!(r.keep_alive());
        assert_eq!(r.head_len(), NOAUTH.len());
    }

    #[test]
    fn every_truncation_is_incomplete() {
        for n in 0..NOAUTH.len() {
            assert_eq!(
                parse_request(&NOAUTH[..n]),
                Err(RequestError::Incomplete),
                "prefix of {n} bytes"
            );
        }
    }

    #[test]
    fn pipelined_bytes_are_left_alone() {
        let mut two = NOAUTH.to_vec();
        two.extend_from_slice(b"GET /x HTTP/1.1\r\n");
        let r = parse_request(&two).unwrap();
        assert_eq!(r.head_len(), NOAUTH.len());
    }

    #[test]
    fn oversized_head_is_refused() {
        let mut big = b"GET / HTTP/1.1\r\nX-Fill: ".to_vec();
        big.resize(MAX_HEAD_SIZE + 10, b'a');
        assert_eq!(parse_request(&big), Err(RequestError::TooLarge));
        // A complete head that ends just past the bound is refused too.
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_request(&big), Err(RequestError::TooLarge));
    }

    #[test]
    fn too_many_headers() {
        let mut req = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            req.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        assert_eq!(parse_request(&req), Err(RequestError::TooManyHeaders));
    }

    #[test]
    fn malformed_heads() {
        for bad in [
            &b"GET\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / FTP/1.1\r\n\r\n",
            b"G\x01T / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        ] {
            assert!(
                matches!(parse_request(bad), Err(RequestError::Malformed(_))),
                "{:?} -> {:?}",
                String::from_utf8_lossy(bad),
                parse_request(bad)
            );
        }
    }

    #[test]
    fn other_methods_parse_for_a_405() {
        let r = parse_request(b"POST /cr HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        assert!(!r.is_get());
        assert_eq!(r.method(), "POST");
        // Methods are case-sensitive: "get" is not GET.
        assert!(!parse_request(b"get /cr HTTP/1.1\r\n\r\n").unwrap().is_get());
    }

    #[test]
    fn duplicate_sensitive_headers_are_refused() {
        for (req, name) in [
            (&b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"[..], "Host"),
            (
                b"GET / HTTP/1.1\r\nAuthorization: Digest a=b\r\nAuthorization: Digest c=d\r\n\r\n",
                "Authorization",
            ),
            (
                b"GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
                "Content-Length",
            ),
        ] {
            assert_eq!(parse_request(req), Err(RequestError::DuplicateHeader(name)));
        }
        // Repeated ordinary headers are fine.
        let r = parse_request(b"GET / HTTP/1.1\r\nX: 1\r\nX: 2\r\n\r\n").unwrap();
        assert_eq!(r.header("x"), Some("1"));
        assert_eq!(r.headers().count(), 2);
    }

    #[test]
    fn bodies_are_refused() {
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
            Err(RequestError::BodyNotAllowed)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(RequestError::BodyNotAllowed)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\n"),
            Err(RequestError::Malformed("Content-Length"))
        );
        assert!(parse_request(b"GET / HTTP/1.1\r\nContent-Length: 000\r\n\r\n").is_ok());
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |raw: &[u8]| parse_request(raw).unwrap().keep_alive();
        assert!(ka(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.1\r\nConnection: TE, Close\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    #[test]
    fn path_forms() {
        let p = |t: &str| {
            parse_request(format!("GET {t} HTTP/1.1\r\n\r\n").as_bytes())
                .unwrap()
                .path()
                .into_owned()
        };
        assert_eq!(p("/cr?x=1"), "/cr");
        assert_eq!(p("http://10.0.0.1:7547/cr?x"), "/cr");
        assert_eq!(p("http://10.0.0.1:7547"), "/");
        assert_eq!(p("http://10.0.0.1:7547?q"), "/");
        assert_eq!(p("*"), "", "the asterisk form has no path");
    }

    #[test]
    fn debug_redacts_authorization() {
        let r =
            parse_request(b"GET / HTTP/1.1\r\nAuthorization: Digest response=\"deadbeef\"\r\n\r\n")
                .unwrap();
        let d = format!("{r:?}");
        assert!(!d.contains("deadbeef"), "{d}");
        assert!(d.contains("<redacted>"));
    }

    #[test]
    fn response_bytes_exact() {
        assert_eq!(
            response_bytes(&Response::Ok, true),
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            response_bytes(&Response::NoContent, false),
            b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            response_bytes(&Response::MethodNotAllowed, false),
            b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            response_bytes(&Response::ServiceUnavailable, false),
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            response_bytes(&Response::NotFound, false),
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            response_bytes(&Response::BadRequest, false),
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let c = Response::Unauthorized {
            challenge: "Digest realm=\"r\"\r\nX-Evil: 1".into(),
        };
        assert_eq!(
            response_bytes(&c, true),
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"r\"X-Evil: 1\r\nContent-Length: 0\r\n\r\n"
        );
        assert!(response_bytes(&c, false).ends_with(b"Connection: close\r\n\r\n"));
        // The 401 bytes parse back as a response with the challenge intact.
        let ok = Response::Unauthorized {
            challenge: "Digest realm=\"r\", nonce=\"n\"".into(),
        };
        let bytes = ok.to_bytes(true);
        let mut h = [httparse::EMPTY_HEADER; 8];
        let mut resp = httparse::Response::new(&mut h);
        assert!(resp.parse(&bytes).unwrap().is_complete());
        assert_eq!(resp.code, Some(401));
        assert_eq!(resp.headers[0].value, b"Digest realm=\"r\", nonce=\"n\"");
    }

    #[test]
    fn error_responses() {
        assert_eq!(RequestError::Incomplete.response(), None);
        assert_eq!(
            RequestError::TooLarge.response(),
            Some(Response::BadRequest)
        );
    }
}

//! The one URL parser of the tree: every URL the agent reads (the ACS URL, a redirect's
//! `Location`, a Download's file URL, the ConnectionRequestURL, a provisioning server, a
//! connection request's request target) goes through [`Url::parse`], one set of rules tested
//! once.
//!
//! Built on `http::Uri` (RFC 3986 syntax, already in the tree through the HTTP client; the
//! `url` crate would add the IDNA/ICU tables for host names a CPE never needs). On top of it:
//! a host is required; spaces and control characters are refused; the scheme is compared
//! without case; IPv6 literals keep their brackets only where an authority needs them; a
//! missing path is `/`; the default port follows the scheme; a reference is resolved against
//! a base as RFC 3986 §5.2 says ([`Url::join`], for `Location` headers).

use std::fmt;

/// Why a text is not a URL this agent accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// Not a URL at all (no scheme, bad characters, bad authority, too long).
    Syntax(String),
    /// A URL, but its scheme is not one the caller accepts.
    Scheme(String),
    /// No host in the authority.
    NoHost,
    /// The port is not a number from 0 to 65535.
    Port,
    /// The caller refuses user information (`user:password@`) in this URL.
    UserInfo,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::Syntax(m) => write!(f, "not a URL: {m}"),
            UrlError::Scheme(s) => write!(f, "unsupported scheme {s:?}"),
            UrlError::NoHost => f.write_str("no host"),
            UrlError::Port => f.write_str("bad port"),
            UrlError::UserInfo => f.write_str("user information in the URL is not supported"),
        }
    }
}

impl std::error::Error for UrlError {}

/// An absolute URL with an authority (`scheme://[userinfo@]host[:port][/path][?query]`).
///
/// `Debug` and `Display` never show the password of the user information.
#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    /// Lower-case scheme.
    scheme: String,
    /// `user` and `password`, percent-decoded.
    user: Option<(String, Option<String>)>,
    /// Host as written, lower-cased; IPv6 literals without brackets.
    host: String,
    port: Option<u16>,
    /// Path and query as on a request line (`/` when the URL has no path).
    target: String,
}

impl Url {
    /// Parse an absolute URL with any scheme.
    pub fn parse(text: &str) -> Result<Url, UrlError> {
        let text = text.trim();
        if text.chars().any(|c| c.is_control() || c == ' ') {
            return Err(UrlError::Syntax("spaces or control characters".into()));
        }
        // A fragment is never sent (RFC 7230 §5.1); http::Uri refuses one.
        let text = text.split('#').next().unwrap_or_default();
        let uri: http::Uri = text
            .parse()
            .map_err(|e: http::uri::InvalidUri| UrlError::Syntax(e.to_string()))?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| UrlError::Syntax("no scheme".into()))?
            .to_ascii_lowercase();
        let authority = uri
            .authority()
            .ok_or_else(|| UrlError::Syntax("no authority".into()))?;
        let user =
            authority
                .as_str()
                .rsplit_once('@')
                .map(|(info, _)| match info.split_once(':') {
                    Some((u, p)) => (lenient_decode(u), Some(lenient_decode(p))),
                    None => (lenient_decode(info), None),
                });
        let raw_host = uri.host().unwrap_or_default();
        let host = match raw_host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            // An IP literal in brackets must be an IPv6 address (RFC 3986 §3.2.2).
            Some(v6) if v6.parse::<std::net::Ipv6Addr>().is_ok() => v6.to_ascii_lowercase(),
            Some(_) => return Err(UrlError::Syntax("bad IPv6 literal".into())),
            None if raw_host.contains(['[', ']', '@']) => {
                return Err(UrlError::Syntax("bad host".into()))
            }
            None => raw_host.to_ascii_lowercase(),
        };
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        // `host:` with an empty port is allowed by RFC 3986 and means the default.
        let host_port = authority
            .as_str()
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, h)| h);
        let port_text = match host_port.strip_prefix('[') {
            Some(v6) => v6.split_once(']').and_then(|(_, p)| p.strip_prefix(':')),
            None => host_port.split_once(':').map(|(_, p)| p),
        };
        let port = match port_text {
            Some("") | None => None,
            Some(p) => Some(p.parse::<u16>().map_err(|_| UrlError::Port)?),
        };
        let target = match uri.path_and_query() {
            Some(pq) if !pq.as_str().is_empty() && pq.as_str().starts_with('/') => {
                pq.as_str().to_owned()
            }
            Some(pq) if !pq.as_str().is_empty() => format!("/{}", pq.as_str()),
            _ => "/".to_owned(),
        };
        Ok(Url {
            scheme,
            user,
            host,
            port,
            target,
        })
    }

    /// Parse an `http://` or `https://` URL without user information (the ACS URL, a
    /// connection-request URL, a redirect target).
    pub fn parse_http(text: &str) -> Result<Url, UrlError> {
        let url = Url::parse(text)?;
        if !url.is_http() {
            return Err(UrlError::Scheme(url.scheme));
        }
        if url.user.is_some() {
            return Err(UrlError::UserInfo);
        }
        Ok(url)
    }

    /// The scheme, lower case.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether the scheme is `http` or `https`.
    pub fn is_http(&self) -> bool {
        self.scheme == "http" || self.scheme == "https"
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The host, lower case; an IPv6 literal without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host as it appears in an authority (an IPv6 literal in brackets).
    pub fn host_for_authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// The port written in the URL, if any.
    pub fn explicit_port(&self) -> Option<u16> {
        self.port
    }

    /// The port: the one written, else the scheme's default (http 80, https 443, ftp 21,
    /// tftp 69, sip 5060); 0 for a scheme without a known default.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.scheme.as_str() {
            "http" => 80,
            "https" => 443,
            "ftp" => 21,
            "tftp" => 69,
            "sip" => 5060,
            _ => 0,
        })
    }

    /// Path and query as on an HTTP request line (`/` when the URL has none).
    pub fn request_target(&self) -> &str {
        &self.target
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }

    /// The user name of the user information, percent-decoded.
    pub fn username(&self) -> Option<&str> {
        self.user.as_ref().map(|(u, _)| u.as_str())
    }

    /// The password of the user information, percent-decoded (a secret: never log it).
    pub fn password(&self) -> Option<&str> {
        self.user.as_ref().and_then(|(_, p)| p.as_deref())
    }

    /// `scheme://host[:port]` without user information (the port only when written).
    pub fn origin(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{p}", self.scheme, self.host_for_authority()),
            None => format!("{}://{}", self.scheme, self.host_for_authority()),
        }
    }

    /// Same scheme, host and port (RFC 6454 origin).
    pub fn same_origin(&self, other: &Url) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port() == other.port()
    }

    /// The whole URL as text to use (user information included, percent-encoded); unlike
    /// `Display`, this shows the password: never log it.
    pub fn serialize(&self) -> String {
        let user = match &self.user {
            Some((u, Some(p))) => format!("{}:{}@", percent_encode(u), percent_encode(p)),
            Some((u, None)) => format!("{}@", percent_encode(u)),
            None => String::new(),
        };
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{user}{}{port}{}",
            self.scheme,
            self.host_for_authority(),
            self.target
        )
    }

    /// The URL without user information, as text safe for a log.
    pub fn without_credentials(&self) -> String {
        format!("{}{}", self.origin(), self.target)
    }

    /// Resolve `reference` (a `Location` header: absolute, network-path, absolute-path or
    /// relative) against this URL (RFC 3986 §5.2.2, with dot-segment removal).
    pub fn join(&self, reference: &str) -> Result<Url, UrlError> {
        let r = reference.trim();
        if r.is_empty() {
            return Err(UrlError::Syntax("empty reference".into()));
        }
        if r.chars().any(|c| c.is_control() || c == ' ') {
            return Err(UrlError::Syntax("spaces or control characters".into()));
        }
        let r = r.split('#').next().unwrap_or_default();
        // A scheme: letters, digits, + - . before the first ':' that precedes any '/'.
        let has_scheme = r.split_once(':').is_some_and(|(s, _)| {
            !s.is_empty()
                && s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        if has_scheme {
            return Url::parse(r);
        }
        if let Some(rest) = r.strip_prefix("//") {
            return Url::parse(&format!("{}://{rest}", self.scheme));
        }
        let mut joined = self.clone();
        joined.target = if r.starts_with('/') {
            split_query(r, remove_dot_segments)
        } else if let Some(q) = r.strip_prefix('?') {
            format!("{}?{q}", self.path())
        } else {
            let base = self.path();
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            split_query(&format!("{dir}{r}"), remove_dot_segments)
        };
        Ok(joined)
    }
}

impl fmt::Display for Url {
    /// The URL with the password of the user information replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.user {
            Some((u, Some(_))) => write!(f, "{}://{u}:***@", self.scheme)?,
            Some((u, None)) => write!(f, "{}://{u}@", self.scheme)?,
            None => write!(f, "{}://", self.scheme)?,
        }
        f.write_str(&self.host_for_authority())?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(&self.target)
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Url({self})")
    }
}

/// User information as written when it is not valid percent-encoding.
fn lenient_decode(s: &str) -> String {
    percent_decode(s).unwrap_or_else(|| s.to_owned())
}

/// Apply `f` to the path of `path?query`, keeping the query.
fn split_query(target: &str, f: fn(&str) -> String) -> String {
    match target.split_once('?') {
        Some((p, q)) => format!("{}?{q}", f(p)),
        None => f(target),
    }
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

/// Strict RFC 3986 percent-decoding: `%` must be followed by two hex digits and the result
/// must be UTF-8; `None` otherwise.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = hex_digit(*bytes.get(i + 1)?)?;
            let lo = hex_digit(*bytes.get(i + 2)?)?;
            out.push((hi << 4) | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes everything outside RFC 3986 `unreserved`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let u = Url::parse("HTTPS://ACS.Example.com:7548/cwmp?x=1#frag").unwrap();
        assert_eq!(u.scheme(), "https");
        assert!(u.is_https());
        assert_eq!(u.host(), "acs.example.com");
        assert_eq!(u.port(), 7548);
        assert_eq!(u.request_target(), "/cwmp?x=1");
        assert_eq!(u.path(), "/cwmp");
        let u = Url::parse("http://[fe80::1]/").unwrap();
        assert_eq!(u.host(), "fe80::1");
        assert_eq!(u.host_for_authority(), "[fe80::1]");
        assert_eq!(u.port(), 80);
        assert_eq!(Url::parse("http://h").unwrap().request_target(), "/");
        assert_eq!(Url::parse("http://h?q").unwrap().request_target(), "/?q");
        let u = Url::parse("ftp://us%40r:p%3Aw@files:2121/dir/").unwrap();
        assert_eq!(u.username(), Some("us@r"));
        assert_eq!(u.password(), Some("p:w"));
        assert_eq!(u.port(), 2121);
        assert_eq!(u.to_string(), "ftp://us@r:***@files:2121/dir/");
        assert_eq!(u.without_credentials(), "ftp://files:2121/dir/");
        assert_eq!(u.serialize(), "ftp://us%40r:p%3Aw@files:2121/dir/");
        assert_eq!(Url::parse(&u.serialize()).unwrap(), u);
        assert!(!format!("{u:?}").contains("p:w"));
        assert_eq!(Url::parse("tftp://10.0.0.1/x.cfg").unwrap().port(), 69);
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "acs.example.com",
            "http://",
            "http://:80/",
            "http://h:99999/",
            "http://h:port/",
            "http://a b/",
            "http://h/a\nb",
            "/just/a/path",
            "\r://U[@]",
            "http://u[@]/",
            "http://[not-v6]/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Url::parse_http("ftp://h/").unwrap_err(),
            UrlError::Scheme("ftp".into())
        );
        assert_eq!(
            Url::parse_http("http://u:p@h/").unwrap_err(),
            UrlError::UserInfo
        );
        assert!(Url::parse_http("http://h/").is_ok());
    }

    #[test]
    fn join_follows_rfc3986() {
        let base = Url::parse("http://a/b/c/d;p?q").unwrap();
        let cases = [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../../g", "http://a/g"),
            ("https://other:8443/acs", "https://other:8443/acs"),
        ];
        for (r, want) in cases {
            assert_eq!(base.join(r).unwrap().to_string(), want, "{r}");
        }
        assert!(base.join("").is_err());
        assert!(base.join("http://bad host/").is_err());
    }

    #[test]
    fn origin() {
        let a = Url::parse("http://h/x").unwrap();
        assert!(a.same_origin(&Url::parse("http://H:80/y").unwrap()));
        assert!(!a.same_origin(&Url::parse("https://h/x").unwrap()));
        assert!(!a.same_origin(&Url::parse("http://h:81/x").unwrap()));
    }

    proptest::proptest! {
        #[test]
        fn url_and_join_never_panic(url in "\\PC{0,120}", loc in "\\PC{0,120}") {
            if let Ok(u) = Url::parse(&url) {
                let _ = u.join(&loc);
                let _ = u.to_string();
            }
            let base = Url::parse("http://acs.example:7547/cwmp/x").expect("valid");
            let _ = base.join(&loc);
        }
    }
}

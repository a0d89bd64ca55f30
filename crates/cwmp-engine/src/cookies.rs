//! The per-session cookie jar (TR-069 §3.4 "Cookies").
//!
//! CWMP asks the CPE to store every `Set-Cookie` of the ACS and return the cookies on the later
//! POSTs of the same session, with room for several cookies and at least 512 bytes. A session
//! talks to one ACS URL, so the jar does not implement the browser rules for `Domain` and
//! `Path` (a cookie set by the ACS is returned on every later POST of the session); it honours
//! `Max-Age=0` (deletion) and `Secure` (never sent over plain HTTP). The jar lives exactly as
//! long as the session: a new session starts with an empty jar.

/// Limits chosen well above the spec's floor (512 bytes), and small enough that a hostile ACS
/// cannot grow the CPE's memory.
const MAX_COOKIES: usize = 32;
/// Bytes of `name=value` for one cookie (RFC 6265 §6.1 asks for at least 4096).
const MAX_COOKIE_BYTES: usize = 4096;
/// Bytes of all cookies together.
const MAX_TOTAL_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Cookie {
    name: String,
    value: String,
    secure: bool,
}

/// Cookies of one CWMP session.
#[derive(Debug, Default, Clone)]
pub(crate) struct CookieJar {
    cookies: Vec<Cookie>,
}

impl CookieJar {
    /// Store one `Set-Cookie` header value. Malformed values and cookies past the limits are
    /// ignored, never an error: the session goes on without them; the returned text says why
    /// (for the trace).
    pub fn store(&mut self, set_cookie: &str) -> Result<(), &'static str> {
        let mut parts = set_cookie.split(';');
        let Some(pair) = parts.next() else {
            return Err("empty Set-Cookie ignored");
        };
        let Some((name, value)) = pair.split_once('=') else {
            return Err("Set-Cookie without '=' ignored");
        };
        let name = name.trim();
        let value = value.trim();
        if name.is_empty() || !name.bytes().all(is_token_char) || !value.bytes().all(is_value_char)
        {
            return Err("malformed Set-Cookie ignored");
        }
        let mut secure = false;
        let mut delete = false;
        for attr in parts {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            let k = k.trim();
            if k.eq_ignore_ascii_case("secure") {
                secure = true;
            } else if k.eq_ignore_ascii_case("max-age") {
                // RFC 6265 §5.2.2: zero or negative means "expire now".
                let v = v.trim();
                if v.starts_with('-') || v.parse::<u64>() == Ok(0) {
                    delete = true;
                }
            }
        }
        self.cookies.retain(|c| c.name != name);
        if delete {
            return Ok(());
        }
        let size = name.len() + value.len();
        let total: usize = self
            .cookies
            .iter()
            .map(|c| c.name.len() + c.value.len())
            .sum();
        if size > MAX_COOKIE_BYTES
            || total + size > MAX_TOTAL_BYTES
            || self.cookies.len() >= MAX_COOKIES
        {
            return Err("cookie dropped: cookie storage limits reached");
        }
        self.cookies.push(Cookie {
            name: name.to_string(),
            value: value.to_string(),
            secure,
        });
        Ok(())
    }

    /// The `Cookie` header value for the next request, if any cookie applies.
    pub fn header(&self, https: bool) -> Option<String> {
        let mut out = String::new();
        for c in self.cookies.iter().filter(|c| https || !c.secure) {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(&c.name);
            out.push('=');
            out.push_str(&c.value);
        }
        (!out.is_empty()).then_some(out)
    }

    /// Forget every cookie.
    pub fn clear(&mut self) {
        self.cookies.clear();
    }

    /// Number of cookies held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.cookies.len()
    }
}

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// RFC 6265 cookie-octet, plus the DQUOTE that may wrap the value.
fn is_value_char(c: u8) -> bool {
    matches!(c, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E | b'"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genieacs_cookie_is_returned() {
        let mut j = CookieJar::default();
        let _ = j.store("session=d9b1768a150193b5");
        assert_eq!(j.header(false).as_deref(), Some("session=d9b1768a150193b5"));
    }

    #[test]
    fn several_cookies_replace_and_delete() {
        let mut j = CookieJar::default();
        let _ = j.store("a=1; Path=/; HttpOnly");
        let _ = j.store("b=2");
        let _ = j.store("a=3");
        assert_eq!(j.header(false).as_deref(), Some("b=2; a=3"));
        let _ = j.store("b=; Max-Age=0");
        assert_eq!(j.header(false).as_deref(), Some("a=3"));
        let _ = j.store("s=x; Secure");
        assert_eq!(j.header(false).as_deref(), Some("a=3"));
        assert_eq!(j.header(true).as_deref(), Some("a=3; s=x"));
        j.clear();
        assert_eq!(j.header(true), None);
    }

    #[test]
    fn at_least_512_bytes_and_bounded() {
        let mut j = CookieJar::default();
        let big = "v".repeat(600);
        let _ = j.store(&format!("big={big}"));
        let _ = j.store("small=1");
        assert_eq!(j.len(), 2);
        assert!(j.header(false).is_some_and(|h| h.len() > 600));
        for i in 0..100 {
            let _ = j.store(&format!("c{i}={}", "x".repeat(1000)));
        }
        let total: usize = j.header(false).map(|h| h.len()).unwrap_or(0);
        assert!(total <= MAX_TOTAL_BYTES + 2 * MAX_COOKIES);
        assert!(j.len() <= MAX_COOKIES);
        let _ = j.store(&format!("huge={}", "x".repeat(MAX_COOKIE_BYTES + 1)));
        assert!(!j.header(false).unwrap_or_default().contains("huge="));
    }

    #[test]
    fn malformed_ignored() {
        let mut j = CookieJar::default();
        for s in ["", "novalue", "=x", "a b=c", "a=b c", "a=\u{e9}", ";;;"] {
            let _ = j.store(s);
        }
        assert_eq!(j.header(true), None);
    }

    proptest::proptest! {
        #[test]
        fn cookie_parsing_never_panics(values in proptest::collection::vec("\\PC{0,200}", 0..20)) {
            let mut jar = CookieJar::default();
            for v in &values {
                let _ = jar.store(v);
            }
            let _ = jar.header(true);
        }
    }
}

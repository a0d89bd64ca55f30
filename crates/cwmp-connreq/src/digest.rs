//! HTTP Digest authentication of connection requests (TR-069 §3.2.2, §3.3; RFC 7616 / RFC 2617,
//! algorithm MD5, `qop="auth"`).
//!
//! [`DigestAuth`] is the server side a CPE needs: it issues challenges and verifies
//! `Authorization` headers, with time passed in. It keeps one table of the nonces it issued,
//! each with its issue time and the highest nonce-count (`nc`) accepted with it:
//!
//! ```text
//!   challenge(now, random) ──► nonce N issued at `now`, highest nc = 0
//!                                 │
//!   verify(now, …, header) ───────┤ header well-formed, realm, algorithm, qop, uri, username?
//!                                 │        no ──► Refused(reason)
//!                                 │ response = MD5 digest of the password? (constant time)
//!                                 │        no ──► Refused(WrongResponse)
//!                                 │ N known and younger than the lifetime?
//!                                 │        no ──► Stale (answer with stale=true)
//!                                 │ nc > highest nc of N?
//!                                 │        no ──► Refused(Replay)
//!                                 └──────────────► Ok (highest nc of N := nc)
//! ```
//!
//! Decisions where the spec is silent:
//! * **Nonces** are 32 hex digits of caller-supplied random bytes (no OS randomness here). The
//!   table maps them to their issue time; it holds at most `capacity` entries (default 1024) and
//!   evicts the oldest first, so memory is bounded whatever a client does.
//! * **Stale** is only answered when the response is otherwise correct for that nonce (RFC 7616
//!   §3.3: the client knew the password, the nonce was merely old or forgotten), so it never
//!   tells an attacker anything.
//! * **RFC 2069 form** (no `qop`, no `nc`/`cnonce`) is accepted, but its nonce is single-use:
//!   the entry is removed on success. Without `nc` there is nothing else that stops a replay
//!   within the nonce lifetime; with single use the replay protection equals the `qop=auth` case.
//!   Every challenge this type issues offers `qop="auth"`, so modern clients never use this form.
//! * `nc` must strictly increase per nonce; out-of-order use of the same nonce is refused, which
//!   costs a compliant client at most one extra round trip.
//! * `uri` must equal the request target exactly as sent (GenieACS sends
//!   `url.pathname + url.search`, curl the path).
//! * The username is compared byte for byte: GenieACS sends its device id with `%20` in it and
//!   means those three characters.
//! * `algorithm=MD5-sess`, SHA-256 and `userhash=true` are not offered and are refused.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::challenge::DigestChallenge;
use crate::digest_hash::{digest_response, DigestAlgorithm, DigestInput, DigestQop};
use cwmp_model::Secret;
use subtle::ConstantTimeEq;

/// Default nonce lifetime (TR-069 §3.2.2 leaves it to the CPE): long enough for an ACS to answer a
/// challenge, short enough that a captured nonce is soon useless.
pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(60);

/// Default bound on the nonce table.
pub const DEFAULT_NONCE_CAPACITY: usize = 1024;

/// Longest `Authorization` / `WWW-Authenticate` value parsed.
pub const MAX_AUTH_HEADER_LEN: usize = 4096;

/// Most auth-params accepted in one header.
pub const MAX_AUTH_PARAMS: usize = 32;

/// Why a Digest header could not be parsed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DigestParseError {
    /// Longer than [`MAX_AUTH_HEADER_LEN`].
    TooLong,
    /// The scheme is not `Digest` (e.g. `Basic`).
    NotDigest,
    /// Not `name=value` pairs separated by commas; the text says where.
    Syntax(&'static str),
    /// More than [`MAX_AUTH_PARAMS`] parameters.
    TooManyParams,
    /// A required parameter is missing.
    Missing(&'static str),
    /// A parameter appears twice.
    Duplicate(&'static str),
    /// A parameter has an impossible value (`nc` not 8 hex digits, `response` not 32).
    BadValue(&'static str),
}

impl fmt::Display for DigestParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestParseError::TooLong => f.write_str("header too long"),
            DigestParseError::NotDigest => f.write_str("not a Digest header"),
            DigestParseError::Syntax(w) => write!(f, "syntax error: {w}"),
            DigestParseError::TooManyParams => f.write_str("too many parameters"),
            DigestParseError::Missing(p) => write!(f, "missing parameter {p}"),
            DigestParseError::Duplicate(p) => write!(f, "duplicate parameter {p}"),
            DigestParseError::BadValue(p) => write!(f, "bad value for {p}"),
        }
    }
}

impl std::error::Error for DigestParseError {}

/// The parameters of an `Authorization: Digest …` header (RFC 7616 §3.4).
///
/// `Debug` redacts `response` (an offline-guessable function of the password).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DigestCredentials {
    /// `username`, unquoted, exactly as sent.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri` (the request target the client signed).
    pub uri: String,
    /// `response`: 32 hex digits (checked by the parser).
    pub response: Secret,
    /// `algorithm`, if sent (absent means MD5).
    pub algorithm: Option<String>,
    /// `qop`, if sent.
    pub qop: Option<String>,
    /// `nc`: the nonce count, parsed from its 8 hex digits (required with `qop`).
    pub nc: Option<u32>,
    /// `nc` exactly as sent (the response hash covers the text).
    pub nc_text: Option<String>,
    /// `cnonce` (required with `qop`).
    pub cnonce: Option<String>,
    /// `opaque`, if sent (this server issues none and ignores it).
    pub opaque: Option<String>,
    /// `userhash=true` was sent (RFC 7616 §3.4.4; not supported).
    pub userhash: bool,
}

/// Parses an `Authorization` header value of the Digest scheme.
///
/// Accepts any whitespace around `=` and `,`, quoted or token values, backslash escapes in
/// quoted strings and parameters in any order; unknown parameters are ignored (RFC 7616 §3.4).
pub fn parse_authorization(header: &str) -> Result<DigestCredentials, DigestParseError> {
    let params = parse_params(header)?;
    let mut username = None;
    let mut realm = None;
    let mut nonce = None;
    let mut uri = None;
    let mut response = None;
    let mut algorithm = None;
    let mut qop = None;
    let mut nc_text = None;
    let mut cnonce = None;
    let mut opaque = None;
    let mut userhash = None;
    for (name, value) in params {
        let slot = match name.as_str() {
            "username" => (&mut username, "username"),
            "realm" => (&mut realm, "realm"),
            "nonce" => (&mut nonce, "nonce"),
            "uri" => (&mut uri, "uri"),
            "response" => (&mut response, "response"),
            "algorithm" => (&mut algorithm, "algorithm"),
            "qop" => (&mut qop, "qop"),
            "nc" => (&mut nc_text, "nc"),
            "cnonce" => (&mut cnonce, "cnonce"),
            "opaque" => (&mut opaque, "opaque"),
            "userhash" => (&mut userhash, "userhash"),
            _ => continue,
        };
        if slot.0.replace(value).is_some() {
            return Err(DigestParseError::Duplicate(slot.1));
        }
    }
    let response = response.ok_or(DigestParseError::Missing("response"))?;
    if response.len() != 32 || !response.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DigestParseError::BadValue("response"));
    }
    let nc = match &nc_text {
        Some(t) => {
            if t.len() != 8 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DigestParseError::BadValue("nc"));
            }
            Some(u32::from_str_radix(t, 16).map_err(|_| DigestParseError::BadValue("nc"))?)
        }
        None => None,
    };
    Ok(DigestCredentials {
        username: username.ok_or(DigestParseError::Missing("username"))?,
        realm: realm.ok_or(DigestParseError::Missing("realm"))?,
        nonce: nonce.ok_or(DigestParseError::Missing("nonce"))?,
        uri: uri.ok_or(DigestParseError::Missing("uri"))?,
        response: response.into(),
        algorithm,
        qop,
        nc,
        nc_text,
        cnonce,
        opaque,
        userhash: userhash.is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

/// Builds the `Authorization` value answering `challenge` (client side), in the exact shape
/// GenieACS sends (capture `154`: no spaces, `algorithm=MD5,qop=auth,nc=…,cnonce="…"`).
/// With a qop other than `auth` the RFC 2069 form is produced; the hash is the challenge's
/// algorithm (`MD5` unless it named another).
pub fn authorization_header(
    challenge: &DigestChallenge,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> String {
    let use_qop = challenge.qop == DigestQop::Auth;
    let nc = format!("{nc:08x}");
    let response = digest_response(&DigestInput {
        algorithm: challenge.algorithm,
        username,
        realm: &challenge.realm,
        password,
        nonce: &challenge.nonce,
        cnonce,
        nc: &nc,
        qop: if use_qop {
            DigestQop::Auth
        } else {
            DigestQop::None
        },
        method,
        uri,
        body: b"",
    });
    let mut out = format!(
        "Digest username={},realm={},nonce={},uri={},algorithm={}",
        quote(username),
        quote(&challenge.realm),
        quote(&challenge.nonce),
        quote(uri),
        challenge.algorithm.name()
    );
    if use_qop {
        out.push_str(&format!(
            ",qop=auth,nc={nc},cnonce={},response=\"{response}\"",
            quote(cnonce)
        ));
    } else {
        out.push_str(&format!(",response=\"{response}\""));
    }
    if let Some(opaque) = &challenge.opaque {
        out.push_str(&format!(",opaque={}", quote(opaque)));
    }
    out
}

/// The result of [`DigestAuth::verify`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated: accept the connection request.
    Ok,
    /// The credentials are right but the nonce expired or is unknown: answer `401` with
    /// [`DigestAuth::stale_challenge`] so the client retries without asking its user.
    Stale,
    /// Not authenticated: answer `401` with a fresh [`DigestAuth::challenge`].
    Refused(Refusal),
}

impl Verdict {
    /// Whether the request is authenticated.
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Ok)
    }
}

/// Why [`DigestAuth::verify`] refused a request (for logs; the client only sees a `401`).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header.
    MissingCredentials,
    /// The header did not parse (or is not Digest).
    Malformed(DigestParseError),
    /// `realm` is not this server's.
    WrongRealm,
    /// `algorithm` other than MD5, or `userhash=true`.
    UnsupportedAlgorithm,
    /// `qop` other than `auth`, or `qop` without `nc`/`cnonce`.
    UnsupportedQop,
    /// `uri` differs from the request target.
    UriMismatch,
    /// `username` differs from ConnectionRequestUsername.
    WrongUsername,
    /// `response` does not match (wrong password, or a tampered request).
    WrongResponse,
    /// The (nonce, nc) pair was already used, or nc did not increase.
    Replay,
}

/// The Digest verifier: issues nonces and checks `Authorization` headers (see the module doc).
pub struct DigestAuth {
    realm: String,
    lifetime: Duration,
    capacity: usize,
    next_seq: u64,
    // BTreeMap rather than HashMap: no OS-seeded hasher state (design invariant 1) and
    // O(log n) with n ≤ capacity.
    nonces: BTreeMap<String, NonceState>,
    order: BTreeMap<u64, String>,
}

#[derive(Clone, Copy, Debug)]
struct NonceState {
    seq: u64,
    issued: Instant,
    highest_nc: u32,
}

impl fmt::Debug for DigestAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestAuth")
            .field("realm", &self.realm)
            .field("lifetime", &self.lifetime)
            .field("capacity", &self.capacity)
            .field("live_nonces", &self.nonces.len())
            .finish()
    }
}

impl DigestAuth {
    /// A verifier for `realm` whose nonces expire after `nonce_lifetime`.
    ///
    /// Control characters in `realm` are dropped so the challenge is always a valid header.
    pub fn new(realm: &str, nonce_lifetime: Duration) -> Self {
        DigestAuth {
            realm: realm.chars().filter(|c| !c.is_control()).collect(),
            lifetime: nonce_lifetime,
            capacity: DEFAULT_NONCE_CAPACITY,
            next_seq: 0,
            nonces: BTreeMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// Sets the bound on remembered nonces (at least 1; default [`DEFAULT_NONCE_CAPACITY`]).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The nonce lifetime.
    pub fn nonce_lifetime(&self) -> Duration {
        self.lifetime
    }

    /// How many nonces are remembered now.
    pub fn live_nonces(&self) -> usize {
        self.nonces.len()
    }

    /// Issues a nonce made from `random` and returns the `WWW-Authenticate` value:
    /// `Digest realm="…", qop="auth", nonce="…", algorithm=MD5` (the shape of capture `153`).
    pub fn challenge(&mut self, now: Instant, random: [u8; 16]) -> String {
        self.make_challenge(now, random, false)
    }

    /// Like [`challenge`](Self::challenge) with `, stale=true` appended: the answer to
    /// [`Verdict::Stale`].
    pub fn stale_challenge(&mut self, now: Instant, random: [u8; 16]) -> String {
        self.make_challenge(now, random, true)
    }

    fn make_challenge(&mut self, now: Instant, random: [u8; 16], stale: bool) -> String {
        let nonce = hex::encode(random);
        self.register_nonce(now, &nonce);
        let mut out = format!(
            "Digest realm={}, qop=\"auth\", nonce=\"{nonce}\", algorithm=MD5",
            quote(&self.realm)
        );
        if stale {
            out.push_str(", stale=true");
        }
        out
    }

    fn register_nonce(&mut self, now: Instant, nonce: &str) {
        self.purge(now);
        if let Some(old) = self.nonces.remove(nonce) {
            self.order.remove(&old.seq);
        }
        while self.nonces.len() >= self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.nonces.remove(&oldest);
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.nonces.insert(
            nonce.to_owned(),
            NonceState {
                seq,
                issued: now,
                highest_nc: 0,
            },
        );
        self.order.insert(seq, nonce.to_owned());
    }

    fn expired(&self, state: &NonceState, now: Instant) -> bool {
        now.saturating_duration_since(state.issued) > self.lifetime
    }

    /// Drops expired nonces, oldest first.
    fn purge(&mut self, now: Instant) {
        while let Some((&seq, nonce)) = self.order.first_key_value() {
            match self.nonces.get(nonce) {
                Some(state) if !self.expired(state, now) => break,
                _ => {
                    if let Some(n) = self.order.remove(&seq) {
                        self.nonces.remove(&n);
                    }
                }
            }
        }
    }

    fn forget(&mut self, nonce: &str) {
        if let Some(state) = self.nonces.remove(nonce) {
            self.order.remove(&state.seq);
        }
    }

    /// Verifies `authorization` (the header value, `None` when absent) for a request with
    /// `method` and request target `uri`, against the configured ConnectionRequestUsername and
    /// ConnectionRequestPassword.
    pub fn verify(
        &mut self,
        now: Instant,
        method: &str,
        uri: &str,
        authorization: Option<&str>,
        username: &str,
        password: &str,
    ) -> Verdict {
        let Some(header) = authorization else {
            return Verdict::Refused(Refusal::MissingCredentials);
        };
        let creds = match parse_authorization(header) {
            Ok(c) => c,
            Err(e) => return Verdict::Refused(Refusal::Malformed(e)),
        };
        if creds.realm != self.realm {
            return Verdict::Refused(Refusal::WrongRealm);
        }
        if creds.userhash
            || creds
                .algorithm
                .as_deref()
                .is_some_and(|a| !a.eq_ignore_ascii_case("MD5"))
        {
            return Verdict::Refused(Refusal::UnsupportedAlgorithm);
        }
        let qop_auth = match creds.qop.as_deref() {
            None => false,
            Some(q) if q.eq_ignore_ascii_case("auth") => true,
            Some(_) => return Verdict::Refused(Refusal::UnsupportedQop),
        };
        if creds.uri != uri {
            return Verdict::Refused(Refusal::UriMismatch);
        }
        if creds.username != username {
            return Verdict::Refused(Refusal::WrongUsername);
        }

        let (nc_text, cnonce) = if qop_auth {
            let (Some(nc_text), Some(cnonce)) = (&creds.nc_text, &creds.cnonce) else {
                return Verdict::Refused(Refusal::UnsupportedQop);
            };
            (nc_text.as_str(), cnonce.as_str())
        } else {
            ("", "")
        };
        let expected = digest_response(&DigestInput {
            algorithm: DigestAlgorithm::Md5,
            username,
            realm: &self.realm,
            password,
            nonce: &creds.nonce,
            cnonce,
            nc: nc_text,
            qop: if qop_auth {
                DigestQop::Auth
            } else {
                DigestQop::None
            },
            method,
            uri,
            body: b"",
        });
        let given = creds.response.expose().to_ascii_lowercase();
        if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Verdict::Refused(Refusal::WrongResponse);
        }

        self.purge(now);
        let Some(state) = self.nonces.get_mut(&creds.nonce) else {
            return Verdict::Stale;
        };
        if now.saturating_duration_since(state.issued) > self.lifetime {
            self.forget(&creds.nonce);
            return Verdict::Stale;
        }
        if qop_auth {
            let nc = creds.nc.unwrap_or(0);
            if nc <= state.highest_nc {
                return Verdict::Refused(Refusal::Replay);
            }
            state.highest_nc = nc;
        } else {
            // RFC 2069 form: single use (see the module doc).
            self.forget(&creds.nonce);
        }
        Verdict::Ok
    }

    #[cfg(test)]
    fn insert_nonce_for_test(&mut self, now: Instant, nonce: &str) {
        self.register_nonce(now, nonce);
    }
}

/// A quoted-string (RFC 9110 §5.6.4) holding `s`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn trim_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// Splits `Digest name=value, …` into lower-cased names and unquoted values.
fn parse_params(header: &str) -> Result<Vec<(String, String)>, DigestParseError> {
    if header.len() > MAX_AUTH_HEADER_LEN {
        return Err(DigestParseError::TooLong);
    }
    let s = trim_ws(header);
    let scheme_end = s.find([' ', '\t']).unwrap_or(s.len());
    let (scheme, mut rest) = s.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestParseError::NotDigest);
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let name_end = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
        if name_end == 0 {
            return Err(DigestParseError::Syntax("parameter name"));
        }
        let (name, after) = rest.split_at(name_end);
        let after = trim_ws(after)
            .strip_prefix('=')
            .ok_or(DigestParseError::Syntax("expected '='"))?;
        let after = trim_ws(after);
        let value;
        if let Some(quoted) = after.strip_prefix('"') {
            let mut out = String::new();
            let mut end = None;
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, escaped)) => out.push(escaped),
                        None => break,
                    },
                    c if c.is_control() && c != '\t' => {
                        return Err(DigestParseError::Syntax("control character in value"))
                    }
                    c => out.push(c),
                }
            }
            let end = end.ok_or(DigestParseError::Syntax("unterminated quoted string"))?;
            value = out;
            rest = quoted.get(end..).unwrap_or("");
        } else {
            let end = after.find(|c: char| !is_tchar(c)).unwrap_or(after.len());
            if end == 0 {
                return Err(DigestParseError::Syntax("parameter value"));
            }
            let (v, r) = after.split_at(end);
            value = v.to_owned();
            rest = r;
        }
        if params.len() == MAX_AUTH_PARAMS {
            return Err(DigestParseError::TooManyParams);
        }
        params.push((name.to_ascii_lowercase(), value));
        rest = trim_ws(rest);
        if !rest.is_empty() && !rest.starts_with(',') {
            return Err(DigestParseError::Syntax("expected ','"));
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::parse_challenge;

    const REALM: &str = "OpenScape Desk Phone CP600";
    const USER: &str = "001AE8-OpenScape%20Desk%20Phone%20CP600-001AE8A1B2C3";
    const PATH: &str = "/tr069/cr-001AE8A1B2C3";
    const PW: &str = "s3cret";

    fn auth() -> DigestAuth {
        DigestAuth::new(REALM, Duration::from_secs(60))
    }

    /// An `Authorization` value in GenieACS's exact shape (capture 154), computed by the
    /// client-side code path of this module.
    fn genieacs_header(challenge: &str, nc: u32, password: &str) -> String {
        let c = parse_challenge(challenge).unwrap();
        authorization_header(&c, USER, password, "GET", PATH, "f0899adb81930597", nc)
    }

    #[test]
    fn rfc2617_section_3_5_example() {
        // RFC 2617 §3.5: the response value published in the RFC.
        let mut a = DigestAuth::new("testrealm@host.com", Duration::from_secs(60));
        let t0 = Instant::now();
        a.insert_nonce_for_test(t0, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
        let header = r#"Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#
            .replace('\n', " ");
        assert_eq!(
            a.verify(
                t0,
                "GET",
                "/dir/index.html",
                Some(&header),
                "Mufasa",
                "Circle Of Life"
            ),
            Verdict::Ok
        );
    }

    #[test]
    fn rfc7616_section_3_9_1_md5_example() {
        // RFC 7616 §3.9.1, the MD5 variant, published response value.
        let mut a = DigestAuth::new("http-auth@example.org", Duration::from_secs(60));
        let t0 = Instant::now();
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        a.insert_nonce_for_test(t0, nonce);
        let header = format!(
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", \
             algorithm=MD5, nonce=\"{nonce}\", nc=00000001, \
             cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
             response=\"8ca523f5e9506fed4657c9700eebdbec\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
        let v = a.verify(
            t0,
            "GET",
            "/dir/index.html",
            Some(&header),
            "Mufasa",
            "Circle of Life",
        );
        assert_eq!(v, Verdict::Ok);
    }

    #[test]
    fn challenge_has_the_capture_shape() {
        let mut a = auth();
        let c = a.challenge(Instant::now(), [0xf1; 16]);
        assert_eq!(
            c,
            "Digest realm=\"OpenScape Desk Phone CP600\", qop=\"auth\", \
             nonce=\"f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1\", algorithm=MD5"
        );
        let s = a.stale_challenge(Instant::now(), [2; 16]);
        assert!(s.ends_with(", stale=true"));
        assert!(parse_challenge(&s).unwrap().stale);
    }

    #[test]
    fn genieacs_shape_parses_exactly() {
        // The header of capture 154, byte for byte.
        let h = "Digest username=\"001AE8-OpenScape%20Desk%20Phone%20CP600-001AE8A1B2C3\",realm=\"OpenScape Desk Phone CP600\",nonce=\"f1a064d9abd15869207bc655ed8e5cb7\",uri=\"/tr069/cr-001AE8A1B2C3\",algorithm=MD5,qop=auth,nc=00000001,cnonce=\"f0899adb81930597\",response=\"5d4648818f51122c296929c32ef2a9bf\"";
        let c = parse_authorization(h).unwrap();
        assert_eq!(c.username, USER);
        assert_eq!(c.realm, REALM);
        assert_eq!(c.nonce, "f1a064d9abd15869207bc655ed8e5cb7");
        assert_eq!(c.uri, PATH);
        assert_eq!(c.algorithm.as_deref(), Some("MD5"));
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.nc, Some(1));
        assert_eq!(c.cnonce.as_deref(), Some("f0899adb81930597"));
        assert_eq!(c.response.expose(), "5d4648818f51122c296929c32ef2a9bf");
        assert!(!format!("{c:?}").contains("5d4648818f51"));
    }

    #[test]
    fn independently_computed_genieacs_header_verifies() {
        // Capture 154's exact header with only the response replaced: computed with Python's
        // hashlib for password "Desk-Phone-CR-pw" (the capture's password is unknown).
        let h = "Digest username=\"001AE8-OpenScape%20Desk%20Phone%20CP600-001AE8A1B2C3\",realm=\"OpenScape Desk Phone CP600\",nonce=\"f1a064d9abd15869207bc655ed8e5cb7\",uri=\"/tr069/cr-001AE8A1B2C3\",algorithm=MD5,qop=auth,nc=00000001,cnonce=\"f0899adb81930597\",response=\"f1069f091c893a7c1bc077c7e1f12d0c\"";
        let mut a = auth();
        let t0 = Instant::now();
        a.insert_nonce_for_test(t0, "f1a064d9abd15869207bc655ed8e5cb7");
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(h), USER, "Desk-Phone-CR-pw"),
            Verdict::Ok
        );
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(h), USER, "Desk-Phone-CR-pw"),
            Verdict::Refused(Refusal::Replay)
        );
    }

    #[test]
    fn our_client_header_has_genieacs_shape_and_verifies() {
        let mut a = auth();
        let t0 = Instant::now();
        let ch = a.challenge(t0, [0x11; 16]);
        let h = genieacs_header(&ch, 1, PW);
        // Same layout as capture 154: no spaces after commas, order of parameters.
        assert!(h.starts_with(&format!(
            "Digest username=\"{USER}\",realm=\"{REALM}\",nonce=\""
        )));
        assert!(h.contains(&format!(",uri=\"{PATH}\",algorithm=MD5,qop=auth,nc=00000001,cnonce=\"f0899adb81930597\",response=\"")));
        assert!(!h.contains(", "));
        assert_eq!(a.verify(t0, "GET", PATH, Some(&h), USER, PW), Verdict::Ok);
    }

    #[test]
    fn replayed_nonce_and_nc_is_refused() {
        let mut a = auth();
        let t0 = Instant::now();
        let ch = a.challenge(t0, [1; 16]);
        let h1 = genieacs_header(&ch, 1, PW);
        assert_eq!(a.verify(t0, "GET", PATH, Some(&h1), USER, PW), Verdict::Ok);
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h1), USER, PW),
            Verdict::Refused(Refusal::Replay)
        );
        let h3 = genieacs_header(&ch, 3, PW);
        assert_eq!(a.verify(t0, "GET", PATH, Some(&h3), USER, PW), Verdict::Ok);
        // nc going backwards is a reuse too.
        let h2 = genieacs_header(&ch, 2, PW);
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h2), USER, PW),
            Verdict::Refused(Refusal::Replay)
        );
    }

    #[test]
    fn expired_nonce_is_stale_only_with_the_right_password() {
        let mut a = auth();
        let t0 = Instant::now();
        let ch = a.challenge(t0, [1; 16]);
        let h = genieacs_header(&ch, 1, PW);
        let later = t0 + Duration::from_secs(61);
        let bad = genieacs_header(&ch, 1, "wrong");
        assert_eq!(
            a.verify(later, "GET", PATH, Some(&bad), USER, PW),
            Verdict::Refused(Refusal::WrongResponse)
        );
        assert_eq!(
            a.verify(later, "GET", PATH, Some(&h), USER, PW),
            Verdict::Stale
        );
        // Exactly at the lifetime it is still valid.
        let ch2 = a.challenge(later, [2; 16]);
        let h2 = genieacs_header(&ch2, 1, PW);
        assert_eq!(
            a.verify(
                later + Duration::from_secs(60),
                "GET",
                PATH,
                Some(&h2),
                USER,
                PW
            ),
            Verdict::Ok
        );
    }

    #[test]
    fn unknown_nonce_is_stale() {
        let mut a = auth();
        let t0 = Instant::now();
        let forged = DigestChallenge {
            realm: REALM.into(),
            nonce: "never-issued".into(),
            qop: DigestQop::Auth,
            algorithm: DigestAlgorithm::Md5,
            opaque: None,
            stale: false,
        };
        let h = authorization_header(&forged, USER, PW, "GET", PATH, "c", 1);
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h), USER, PW),
            Verdict::Stale
        );
    }

    #[test]
    fn wrong_uri_password_username_realm() {
        let mut a = auth();
        let t0 = Instant::now();
        let ch = a.challenge(t0, [1; 16]);
        let c = parse_challenge(&ch).unwrap();
        let h = authorization_header(&c, USER, PW, "GET", "/other", "c", 1);
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h), USER, PW),
            Verdict::Refused(Refusal::UriMismatch)
        );
        let h = genieacs_header(&ch, 1, "not-the-password");
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h), USER, PW),
            Verdict::Refused(Refusal::WrongResponse)
        );
        // The username with the %20 decoded is a different username.
        let decoded = USER.replace("%20", " ");
        let h = authorization_header(&c, &decoded, PW, "GET", PATH, "c", 1);
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h), USER, PW),
            Verdict::Refused(Refusal::WrongUsername)
        );
        let mut other_realm = c.clone();
        other_realm.realm = "elsewhere".into();
        let h = authorization_header(&other_realm, USER, PW, "GET", PATH, "c", 1);
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h), USER, PW),
            Verdict::Refused(Refusal::WrongRealm)
        );
        // A different method changes HA2.
        let h = authorization_header(&c, USER, PW, "POST", PATH, "c", 1);
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h), USER, PW),
            Verdict::Refused(Refusal::WrongResponse)
        );
        // Nothing above consumed the nonce.
        let h = genieacs_header(&ch, 1, PW);
        assert_eq!(a.verify(t0, "GET", PATH, Some(&h), USER, PW), Verdict::Ok);
    }

    #[test]
    fn response_is_case_insensitive_hex() {
        let mut a = auth();
        let t0 = Instant::now();
        let ch = a.challenge(t0, [1; 16]);
        let h = genieacs_header(&ch, 1, PW);
        let (head, resp) = h.split_once("response=\"").unwrap();
        let upper = format!("{head}response=\"{}", resp.to_ascii_uppercase());
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&upper), USER, PW),
            Verdict::Ok
        );
    }

    #[test]
    fn rfc2069_form_is_single_use() {
        let mut a = auth();
        let t0 = Instant::now();
        let ch = a.challenge(t0, [9; 16]);
        let mut c = parse_challenge(&ch).unwrap();
        c.qop = DigestQop::None;
        let h = authorization_header(&c, USER, PW, "GET", PATH, "unused", 1);
        assert!(!h.contains("qop"));
        assert_eq!(a.verify(t0, "GET", PATH, Some(&h), USER, PW), Verdict::Ok);
        // Replaying it finds no nonce any more: Stale (a fresh challenge), never Ok.
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h), USER, PW),
            Verdict::Stale
        );
    }

    #[test]
    fn unsupported_options_are_refused() {
        let mut a = auth();
        let t0 = Instant::now();
        let ch = a.challenge(t0, [1; 16]);
        let h = genieacs_header(&ch, 1, PW);
        let sha = h.replace("algorithm=MD5", "algorithm=SHA-256");
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&sha), USER, PW),
            Verdict::Refused(Refusal::UnsupportedAlgorithm)
        );
        let int = h.replace("qop=auth", "qop=auth-int");
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&int), USER, PW),
            Verdict::Refused(Refusal::UnsupportedQop)
        );
        let no_nc = h.replace(",nc=00000001", "");
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&no_nc), USER, PW),
            Verdict::Refused(Refusal::UnsupportedQop)
        );
        let hashed = format!("{h},userhash=true");
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&hashed), USER, PW),
            Verdict::Refused(Refusal::UnsupportedAlgorithm)
        );
        assert_eq!(
            a.verify(t0, "GET", PATH, None, USER, PW),
            Verdict::Refused(Refusal::MissingCredentials)
        );
        assert_eq!(
            a.verify(t0, "GET", PATH, Some("Basic dXNlcjpwdw=="), USER, PW),
            Verdict::Refused(Refusal::Malformed(DigestParseError::NotDigest))
        );
    }

    #[test]
    fn nonce_table_is_bounded_oldest_first() {
        let mut a = auth().with_capacity(4);
        let t0 = Instant::now();
        let first = a.challenge(t0, [0; 16]);
        for i in 1..=4u8 {
            a.challenge(t0, [i; 16]);
        }
        assert_eq!(a.live_nonces(), 4);
        // The first nonce was evicted: correct credentials on it are merely Stale.
        let h = genieacs_header(&first, 1, PW);
        assert_eq!(
            a.verify(t0, "GET", PATH, Some(&h), USER, PW),
            Verdict::Stale
        );
        // The newest still works.
        let newest = a.challenge(t0, [7; 16]);
        let h = genieacs_header(&newest, 1, PW);
        assert_eq!(a.verify(t0, "GET", PATH, Some(&h), USER, PW), Verdict::Ok);
        // Expired ones are purged when time moves on.
        a.challenge(t0 + Duration::from_secs(120), [8; 16]);
        assert_eq!(a.live_nonces(), 1);
    }

    #[test]
    fn param_parser_edge_cases() {
        let ok = |h: &str| parse_authorization(h);
        let base = "username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/\", response=\"0123456789abcdef0123456789abcdef\"";
        assert!(ok(&format!("Digest {base}")).is_ok());
        assert!(ok(&format!("digest   {base} ,  ")).is_ok());
        assert!(ok(&format!("Digest {base}, qop = auth , nc = 0000000a")).is_ok());
        let esc = ok(&format!("Digest {base}, cnonce=\"a\\\"b\\\\c\"")).unwrap();
        assert_eq!(esc.cnonce.as_deref(), Some("a\"b\\c"));
        assert_eq!(
            ok(&format!("Digest {base}, nc=1")),
            Err(DigestParseError::BadValue("nc"))
        );
        assert_eq!(
            ok(&format!("Digest {base}, nc=0000000g")),
            Err(DigestParseError::BadValue("nc"))
        );
        assert_eq!(
            ok(&format!("Digest {base}, realm=\"x\"")),
            Err(DigestParseError::Duplicate("realm"))
        );
        assert_eq!(
            ok("Digest username=\"u"),
            Err(DigestParseError::Syntax("unterminated quoted string"))
        );
        assert_eq!(
            ok("Digest username"),
            Err(DigestParseError::Syntax("expected '='"))
        );
        assert_eq!(
            ok("Digest =x"),
            Err(DigestParseError::Syntax("parameter name"))
        );
        assert_eq!(
            ok("Digest a=\"x\" b=\"y\""),
            Err(DigestParseError::Syntax("expected ','"))
        );
        assert_eq!(
            ok("Digest a=\"x\r\n\""),
            Err(DigestParseError::Syntax("control character in value"))
        );
        assert_eq!(ok("Digest"), Err(DigestParseError::Missing("response")));
        assert_eq!(ok(""), Err(DigestParseError::NotDigest));
        assert_eq!(
            ok(&format!("Digest {}", "a=b,".repeat(33))),
            Err(DigestParseError::TooManyParams)
        );
        assert_eq!(
            ok(&"x".repeat(MAX_AUTH_HEADER_LEN + 1)),
            Err(DigestParseError::TooLong)
        );
        assert_eq!(
            ok("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/\", response=\"xyz\""),
            Err(DigestParseError::BadValue("response"))
        );
        // Non-ASCII inside quoted strings is fine; the parser never splits a character.
        assert!(ok(&format!("Digest {base}, opaque=\"é€\"")).is_ok());
    }
}

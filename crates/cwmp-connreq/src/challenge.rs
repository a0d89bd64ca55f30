//! `WWW-Authenticate` challenges (RFC 7235 §4.1) and the Digest challenge (RFC 7616 §3.3):
//! the project's one challenge parser, used by the client (answering the ACS and file servers)
//! and by test ACSs.
//!
//! The parser never fails: the header is network input, so a part it cannot read is skipped,
//! the work is bounded (the first 8 KiB of a header, [`MAX_AUTH_PARAMS`] parameters per
//! challenge) and nothing panics. Several challenges in one header, several headers,
//! quoted strings with escapes and token68 (`Negotiate abc==`) are handled.

use crate::digest::{DigestParseError, MAX_AUTH_PARAMS};
use crate::digest_hash::{DigestAlgorithm, DigestQop};

/// One challenge of a `WWW-Authenticate` header (RFC 7235 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lower-cased (`basic`, `digest`, …).
    pub scheme: String,
    /// `name=value` parameters; names lower-cased, quoted values unescaped.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (lower-case), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse every challenge in the `WWW-Authenticate` header values. Unparsable parts are
/// skipped: the header is network input and never causes a panic or an error by itself.
pub fn parse_challenges<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in values {
        parse_one_header(value, &mut out);
    }
    out
}

/// A small tokenizer for `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`, with
/// several challenges separated by commas. A token that is not followed by `=` starts a new
/// challenge.
fn parse_one_header(value: &str, out: &mut Vec<Challenge>) {
    let b = value.as_bytes();
    let mut i = 0;
    let mut current: Option<Challenge> = None;
    // Bound the work on hostile input: a header longer than this is cut (on a character
    // boundary, so that slicing the text below cannot panic).
    let mut end = b.len().min(8 * 1024);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    while i < end {
        // Skip separators.
        while i < end && (b[i] == b' ' || b[i] == b'\t' || b[i] == b',') {
            i += 1;
        }
        if i >= end {
            break;
        }
        let start = i;
        while i < end && is_tchar(b[i]) {
            i += 1;
        }
        if i == start {
            // Not a token: skip one byte and carry on.
            i += 1;
            continue;
        }
        let token = &value[start..i];
        // Look past optional whitespace for '='.
        let mut j = i;
        while j < end && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        if j < end && b[j] == b'=' && current.is_some() {
            // An auth-param (or a token68 ending in '=' that we do not need).
            j += 1;
            while j < end && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
            let (val, next) = if j < end && b[j] == b'"' {
                parse_quoted(value, j, end)
            } else {
                let vs = j;
                while j < end && b[j] != b',' && b[j] != b' ' && b[j] != b'\t' {
                    j += 1;
                }
                (value[vs..j].to_string(), j)
            };
            if let Some(c) = current.as_mut() {
                if c.params.len() < MAX_AUTH_PARAMS {
                    c.params.push((token.to_ascii_lowercase(), val));
                }
            }
            i = next;
        } else {
            // A new scheme; whatever follows without '=' (token68) is ignored.
            if let Some(c) = current.take() {
                out.push(c);
            }
            current = Some(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            });
            // Swallow a token68 (e.g. `Negotiate abc==`): it ends at a comma.
            let mut k = i;
            while k < end && (b[k] == b' ' || b[k] == b'\t') {
                k += 1;
            }
            let t68 = k;
            while k < end && (is_tchar(b[k]) || b[k] == b'/' || b[k] == b'=') {
                k += 1;
            }
            let mut after = k;
            while after < end && (b[after] == b' ' || b[after] == b'\t') {
                after += 1;
            }
            if k > t68 && value[t68..k].ends_with('=') && (after >= end || b[after] == b',') {
                i = k;
            }
        }
    }
    if let Some(c) = current.take() {
        out.push(c);
    }
}

fn parse_quoted(value: &str, open: usize, end: usize) -> (String, usize) {
    let b = value.as_bytes();
    let mut s = Vec::new();
    let mut i = open + 1;
    while i < end {
        match b[i] {
            b'\\' if i + 1 < end => {
                s.push(b[i + 1]);
                i += 2;
            }
            b'"' => {
                i += 1;
                break;
            }
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    (String::from_utf8_lossy(&s).into_owned(), i)
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// A Digest challenge this project can answer (a supported algorithm and qop), from
/// [`DigestChallenge::from_challenge`] or [`parse_challenge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// `realm` (empty when absent).
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, if given (to be echoed).
    pub opaque: Option<String>,
    /// `algorithm` (absent means MD5).
    pub algorithm: DigestAlgorithm,
    /// The qop to answer with: `auth` when offered, else `auth-int`, else none (RFC 2069).
    pub qop: DigestQop,
    /// `stale=true` was given.
    pub stale: bool,
}

impl DigestChallenge {
    /// The Digest challenge in `c`, or `None` when `c` is another scheme, has no nonce, or
    /// asks for an algorithm or qop this project does not implement.
    pub fn from_challenge(c: &Challenge) -> Option<DigestChallenge> {
        if c.scheme != "digest" {
            return None;
        }
        let nonce = c.param("nonce")?.to_string();
        let algorithm = DigestAlgorithm::parse(c.param("algorithm"))?;
        let qop = match c.param("qop") {
            None => DigestQop::None,
            Some(list) => {
                let opts: Vec<String> = list
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect();
                if opts.iter().any(|o| o == "auth") {
                    DigestQop::Auth
                } else if opts.iter().any(|o| o == "auth-int") {
                    DigestQop::AuthInt
                } else {
                    return None;
                }
            }
        };
        // `userhash=true` asks for a hashed user name (RFC 7616 §3.4.4); the plain name is
        // still accepted by servers that do not insist, so it is not implemented.
        Some(DigestChallenge {
            realm: c.param("realm").unwrap_or("").to_string(),
            nonce,
            opaque: c.param("opaque").map(str::to_string),
            algorithm,
            qop,
            stale: c
                .param("stale")
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }
}

/// The first Digest challenge this project can answer in a `WWW-Authenticate` value.
///
/// Fails with [`DigestParseError::NotDigest`] when the value has no Digest challenge, and
/// [`DigestParseError::BadValue`] when its Digest challenges all lack a nonce or ask for an
/// unsupported algorithm or qop.
pub fn parse_challenge(header: &str) -> Result<DigestChallenge, DigestParseError> {
    let all = parse_challenges([header]);
    if !all.iter().any(|c| c.scheme == "digest") {
        return Err(DigestParseError::NotDigest);
    }
    all.iter()
        .find_map(DigestChallenge::from_challenge)
        .ok_or(DigestParseError::BadValue("challenge"))
}

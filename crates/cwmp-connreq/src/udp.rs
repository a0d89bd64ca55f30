//! Signed UDP connection requests (Annex G, TR-069 Annex G).
//!
//! One datagram in HTTP/1.1 request syntax:
//!
//! ```text
//! GET http://<host>:<port>?ts=<ts>&id=<id>&un=<un>&cn=<cn>&sig=<sig> HTTP/1.1\r\n
//! Host: <host>:<port>\r\n
//! \r\n
//! ```
//!
//! [`parse_udp_request`] is the pure parser; [`UdpRequestValidator`] decides, with the wall
//! clock passed in, whether a parsed request is a new authentic connection request. The CPE
//! never replies to the datagram, whatever the verdict.
//!
//! Decisions where the spec is silent:
//! * **Values as transmitted.** GenieACS writes the values into the URL without
//!   percent-encoding and signs exactly those characters (`lib/connection-request.ts`); its
//!   usual ConnectionRequestUsername is the device id with a literal `%20` in it. An ACS that
//!   percent-encodes would sign the decoded values. So the validator accepts a request when
//!   either reading is consistent: (`un` as transmitted = username and `sig` over the values as
//!   transmitted) or (`un` decoded = username and `sig` over the decoded values). Both need the
//!   password; neither weakens the check. [`UdpConnRequest`] carries both forms.
//! * **Spaces.** A raw space in a value (GenieACS does not encode) would split the request
//!   line; the target is therefore everything between `GET ` and the last ` HTTP/1.1`.
//! * **`+`** is not a space: RFC 3986 query decoding, not HTML forms.
//! * **Replay protection** (TR-069 Annex G checks 5, 6): the `id` must not be among the last
//!   [`RECENT_IDS`] accepted ids (the ACS sends each message several times, the copies are
//!   dropped silently as [`UdpVerdict::Duplicate`]); `ts` must not be older than the last
//!   accepted `ts` (equal is allowed: GenieACS's `ts` has one-second resolution and two
//!   requests can share it); and when the CPE's wall clock is trusted, `ts` must be within
//!   [`DEFAULT_MAX_CLOCK_SKEW`] (configurable) of it. A `ts` of 10^11 or more is read as
//!   milliseconds (some ACSs send those; 10^11 s is the year 5138) for both comparisons.
//! * Bounds: at most [`MAX_UDP_REQUEST_SIZE`] bytes, fields at most [`MAX_FIELD_LEN`] bytes,
//!   at most [`MAX_QUERY_PAIRS`] query pairs.

use cwmp_model::url::{percent_decode, percent_encode};
use std::collections::VecDeque;
use std::fmt;

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Largest datagram considered (a GenieACS request is about 200 bytes).
pub const MAX_UDP_REQUEST_SIZE: usize = 2048;
/// Longest value of one field, as transmitted (the data model's string(256) for usernames).
pub const MAX_FIELD_LEN: usize = 256;
/// Most `name=value` pairs in the query.
pub const MAX_QUERY_PAIRS: usize = 16;
/// Default tolerance between `ts` and the CPE's trusted wall clock, in seconds.
pub const DEFAULT_MAX_CLOCK_SKEW: u64 = 300;
/// How many accepted ids are remembered for duplicate suppression.
pub const RECENT_IDS: usize = 64;

const MILLIS_THRESHOLD: u64 = 100_000_000_000;

/// A parsed UDP connection request. Fields are percent-decoded; [`raw`](Self::raw) has them
/// as transmitted. `Debug` shows everything (the signature is not a secret: it is sent in clear
/// and covers a random cnonce).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpConnRequest {
    /// `ts`: the ACS's timestamp (seconds since the epoch; see the module doc for milliseconds).
    pub ts: u64,
    /// `id`: message ID, identical in all copies of one message.
    pub id: String,
    /// `un`: username (ConnectionRequestUsername).
    pub un: String,
    /// `cn`: cnonce.
    pub cn: String,
    /// `sig`: 40 hex digits.
    pub sig: String,
    /// The five values exactly as transmitted.
    pub raw: UdpRawFields,
}

/// The fields of a UDP connection request as transmitted (before percent-decoding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpRawFields {
    /// `ts`.
    pub ts: String,
    /// `id`.
    pub id: String,
    /// `un`.
    pub un: String,
    /// `cn`.
    pub cn: String,
    /// `sig`.
    pub sig: String,
}

/// Why a datagram is not a well-formed UDP connection request.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UdpRequestError {
    /// Larger than [`MAX_UDP_REQUEST_SIZE`].
    TooLarge,
    /// The request line is not UTF-8 text.
    NotText,
    /// Does not start with `GET `.
    NotGet,
    /// The request line does not end with ` HTTP/1.1`.
    BadVersion,
    /// The target has no query.
    NoQuery,
    /// More than [`MAX_QUERY_PAIRS`] query pairs.
    TooManyPairs,
    /// A required field is absent.
    MissingField(&'static str),
    /// A field appears twice.
    DuplicateField(&'static str),
    /// A field is empty.
    EmptyField(&'static str),
    /// A field is longer than [`MAX_FIELD_LEN`].
    FieldTooLong(&'static str),
    /// Bad percent-encoding, or not UTF-8 once decoded.
    BadEncoding(&'static str),
    /// `ts` is not a decimal u64.
    BadTimestamp,
    /// `sig` is not 40 hex digits.
    BadSignature,
}

impl fmt::Display for UdpRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UdpRequestError::TooLarge => write!(f, "larger than {MAX_UDP_REQUEST_SIZE} bytes"),
            UdpRequestError::NotText => f.write_str("request line is not text"),
            UdpRequestError::NotGet => f.write_str("not a GET request"),
            UdpRequestError::BadVersion => f.write_str("not HTTP/1.1"),
            UdpRequestError::NoQuery => f.write_str("no query string"),
            UdpRequestError::TooManyPairs => f.write_str("too many query pairs"),
            UdpRequestError::MissingField(n) => write!(f, "missing field {n}"),
            UdpRequestError::DuplicateField(n) => write!(f, "duplicate field {n}"),
            UdpRequestError::EmptyField(n) => write!(f, "empty field {n}"),
            UdpRequestError::FieldTooLong(n) => write!(f, "field {n} too long"),
            UdpRequestError::BadEncoding(n) => write!(f, "bad percent-encoding in {n}"),
            UdpRequestError::BadTimestamp => f.write_str("ts is not an unsigned integer"),
            UdpRequestError::BadSignature => f.write_str("sig is not 40 hex digits"),
        }
    }
}

impl std::error::Error for UdpRequestError {}

/// Parses a UDP connection request datagram (TR-069 Annex G). Headers after the request line are
/// ignored; unknown query fields are ignored.
pub fn parse_udp_request(bytes: &[u8]) -> Result<UdpConnRequest, UdpRequestError> {
    if bytes.len() > MAX_UDP_REQUEST_SIZE {
        return Err(UdpRequestError::TooLarge);
    }
    let line_end = bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .or_else(|| bytes.iter().position(|b| *b == b'\n'))
        .unwrap_or(bytes.len());
    let line = bytes.get(..line_end).unwrap_or(bytes);
    let line = std::str::from_utf8(line).map_err(|_| UdpRequestError::NotText)?;
    let rest = line.strip_prefix("GET ").ok_or(UdpRequestError::NotGet)?;
    let target = rest
        .strip_suffix(" HTTP/1.1")
        .ok_or(UdpRequestError::BadVersion)?;
    let (_, query) = target.split_once('?').ok_or(UdpRequestError::NoQuery)?;
    // A fragment is never sent, but must not become part of `sig`.
    let query = query.split_once('#').map_or(query, |(q, _)| q);

    let mut ts = None;
    let mut id = None;
    let mut un = None;
    let mut cn = None;
    let mut sig = None;
    for (n, pair) in query.split('&').enumerate() {
        if n >= MAX_QUERY_PAIRS {
            return Err(UdpRequestError::TooManyPairs);
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (slot, field) = match name {
            "ts" => (&mut ts, "ts"),
            "id" => (&mut id, "id"),
            "un" => (&mut un, "un"),
            "cn" => (&mut cn, "cn"),
            "sig" => (&mut sig, "sig"),
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(UdpRequestError::DuplicateField(field));
        }
    }
    let field = |v: Option<&str>, name: &'static str, allow_empty: bool| {
        let v = v.ok_or(UdpRequestError::MissingField(name))?;
        if v.len() > MAX_FIELD_LEN {
            return Err(UdpRequestError::FieldTooLong(name));
        }
        if v.is_empty() && !allow_empty {
            return Err(UdpRequestError::EmptyField(name));
        }
        let decoded = percent_decode(v).ok_or(UdpRequestError::BadEncoding(name))?;
        Ok((v.to_owned(), decoded))
    };
    let (ts_raw, ts_text) = field(ts, "ts", false)?;
    let (id_raw, id) = field(id, "id", false)?;
    // An empty username is what GenieACS sends when none is configured.
    let (un_raw, un) = field(un, "un", true)?;
    let (cn_raw, cn) = field(cn, "cn", false)?;
    let (sig_raw, sig) = field(sig, "sig", false)?;
    if ts_text.is_empty() || !ts_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UdpRequestError::BadTimestamp);
    }
    let ts = ts_text
        .parse::<u64>()
        .map_err(|_| UdpRequestError::BadTimestamp)?;
    if sig.len() != 40 || !sig.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(UdpRequestError::BadSignature);
    }
    Ok(UdpConnRequest {
        ts,
        id,
        un,
        cn,
        sig,
        raw: UdpRawFields {
            ts: ts_raw,
            id: id_raw,
            un: un_raw,
            cn: cn_raw,
            sig: sig_raw,
        },
    })
}

/// The signature of TR-069 Annex G: lower-case hex HMAC-SHA1 keyed with ConnectionRequestPassword
/// over `ts ‖ id ‖ un ‖ cn`.
pub fn udp_signature(password: &str, ts: &str, id: &str, un: &str, cn: &str) -> String {
    hex::encode(signature_bytes(password, ts, id, un, cn))
}

fn signature_mac(password: &str, ts: &str, id: &str, un: &str, cn: &str) -> Option<Hmac<Sha1>> {
    let mut m = Hmac::<Sha1>::new_from_slice(password.as_bytes()).ok()?;
    for part in [ts, id, un, cn] {
        m.update(part.as_bytes());
    }
    Some(m)
}

fn signature_bytes(password: &str, ts: &str, id: &str, un: &str, cn: &str) -> Vec<u8> {
    signature_mac(password, ts, id, un, cn)
        .map(|m| m.finalize().into_bytes().to_vec())
        .unwrap_or_default()
}

/// Builds a UDP connection request datagram the way a standards-following ACS would:
/// values percent-encoded where needed, the signature over the decoded values. For test ACSs
/// and property tests (GenieACS's unencoded form is also accepted by the validator).
pub fn build_udp_request(
    authority: &str,
    ts: u64,
    id: &str,
    un: &str,
    cn: &str,
    password: &str,
) -> Vec<u8> {
    let ts_text = ts.to_string();
    let sig = udp_signature(password, &ts_text, id, un, cn);
    format!(
        "GET http://{authority}?ts={ts_text}&id={}&un={}&cn={}&sig={sig} HTTP/1.1\r\nHost: {authority}\r\n\r\n",
        percent_encode(id),
        percent_encode(un),
        percent_encode(cn)
    )
    .into_bytes()
}

/// The verdict on one datagram. None of them is answered on the wire.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UdpVerdict {
    /// A new, authentic connection request: start a session (after the rate limiter).
    Accepted(UdpConnRequest),
    /// An authentic copy of an already accepted request: drop silently.
    Duplicate,
    /// Not acceptable: drop silently (log the reason).
    Rejected(UdpRejection),
}

/// Why a UDP connection request was rejected.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UdpRejection {
    /// Not a well-formed request.
    Malformed(UdpRequestError),
    /// `un` is not ConnectionRequestUsername.
    WrongUsername,
    /// `sig` does not match.
    BadSignature,
    /// `ts` is older than the last accepted one.
    Stale,
    /// `ts` is too far from the CPE's trusted wall clock.
    ClockSkew,
}

/// Replay and authenticity checks for UDP connection requests (see the module doc).
#[derive(Clone, Debug)]
pub struct UdpRequestValidator {
    max_skew: u64,
    last_ts: Option<u64>,
    recent_ids: VecDeque<String>,
}

impl Default for UdpRequestValidator {
    fn default() -> Self {
        UdpRequestValidator::new()
    }
}

impl UdpRequestValidator {
    /// A validator with the default clock tolerance and no history.
    pub fn new() -> Self {
        UdpRequestValidator {
            max_skew: DEFAULT_MAX_CLOCK_SKEW,
            last_ts: None,
            recent_ids: VecDeque::new(),
        }
    }

    /// Sets the tolerance between `ts` and the trusted wall clock, in seconds.
    #[must_use]
    pub fn with_max_clock_skew(mut self, seconds: u64) -> Self {
        self.max_skew = seconds;
        self
    }

    /// Parses and validates one datagram. `wall_now` is the CPE's wall clock in seconds since
    /// the Unix epoch when it is trusted (e.g. NTP-synchronised), `None` otherwise.
    pub fn handle_datagram(
        &mut self,
        wall_now: Option<u64>,
        datagram: &[u8],
        username: &str,
        password: &str,
    ) -> UdpVerdict {
        match parse_udp_request(datagram) {
            Ok(r) => self.validate(wall_now, r, username, password),
            Err(e) => UdpVerdict::Rejected(UdpRejection::Malformed(e)),
        }
    }

    /// Validates a parsed request (see the module doc for the rules and their order:
    /// username, signature, duplicate, freshness).
    pub fn validate(
        &mut self,
        wall_now: Option<u64>,
        request: UdpConnRequest,
        username: &str,
        password: &str,
    ) -> UdpVerdict {
        let raw = &request.raw;
        let raw_user = raw.un == username;
        let decoded_user = request.un == username;
        if !raw_user && !decoded_user {
            return UdpVerdict::Rejected(UdpRejection::WrongUsername);
        }
        let Ok(sig) = hex::decode(&request.sig) else {
            return UdpVerdict::Rejected(UdpRejection::BadSignature);
        };
        let check = |ts: &str, id: &str, un: &str, cn: &str| {
            signature_mac(password, ts, id, un, cn).is_some_and(|m| m.verify_slice(&sig).is_ok())
        };
        let ts_text = request.ts.to_string();
        let raw_ok = raw_user && check(&raw.ts, &raw.id, &raw.un, &raw.cn);
        let decoded_ok = decoded_user && check(&ts_text, &request.id, &request.un, &request.cn);
        if !raw_ok && !decoded_ok {
            return UdpVerdict::Rejected(UdpRejection::BadSignature);
        }
        if self.recent_ids.iter().any(|i| *i == request.id) {
            return UdpVerdict::Duplicate;
        }
        let ts = normalise_ts(request.ts);
        if self.last_ts.is_some_and(|last| ts < last) {
            return UdpVerdict::Rejected(UdpRejection::Stale);
        }
        if let Some(now) = wall_now {
            if ts.abs_diff(now) > self.max_skew {
                return UdpVerdict::Rejected(UdpRejection::ClockSkew);
            }
        }
        self.last_ts = Some(ts);
        if self.recent_ids.len() == RECENT_IDS {
            self.recent_ids.pop_front();
        }
        self.recent_ids.push_back(request.id.clone());
        UdpVerdict::Accepted(request)
    }
}

fn normalise_ts(ts: u64) -> u64 {
    if ts >= MILLIS_THRESHOLD {
        ts / 1000
    } else {
        ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "001AE8-OpenScape%20Desk%20Phone%20CP600-001AE8A1B2C3";
    const PW: &str = "cr-password";
    const NOW: u64 = 1_700_000_000;

    /// Exactly what GenieACS's `udpConnectionRequest` sends (values not encoded).
    fn genieacs(ts: u64, id: u32, un: &str, cn: &str, pw: &str) -> Vec<u8> {
        let sig = udp_signature(pw, &ts.to_string(), &id.to_string(), un, cn);
        format!(
            "GET http://203.0.113.7:61000?ts={ts}&id={id}&un={un}&cn={cn}&sig={sig} HTTP/1.1\r\nHost: 203.0.113.7:61000\r\n\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn signature_matches_the_digest_recipe() {
        // Independent computation with the crates directly, as in TR-069 Annex G.
        let mut m = Hmac::<Sha1>::new_from_slice(b"pw").unwrap();
        m.update(b"1700000000" as &[u8]);
        m.update(b"42userabc");
        let expect = hex::encode(m.finalize().into_bytes());
        assert_eq!(
            udp_signature("pw", "1700000000", "42", "user", "abc"),
            expect
        );
        assert_eq!(expect.len(), 40);
    }

    #[test]
    fn parses_genieacs_datagram() {
        let d = genieacs(NOW, 3_000_000_000, USER, "0123456789abcdef", PW);
        let r = parse_udp_request(&d).unwrap();
        assert_eq!(r.ts, NOW);
        assert_eq!(r.id, "3000000000");
        assert_eq!(r.raw.un, USER);
        assert_eq!(r.un, "001AE8-OpenScape Desk Phone CP600-001AE8A1B2C3");
        assert_eq!(r.cn, "0123456789abcdef");
        assert_eq!(r.sig.len(), 40);
    }

    #[test]
    fn three_copies_give_one_request() {
        let mut v = UdpRequestValidator::new();
        let d = genieacs(NOW, 7, USER, "c0ffee", PW);
        assert!(matches!(
            v.handle_datagram(Some(NOW), &d, USER, PW),
            UdpVerdict::Accepted(_)
        ));
        assert_eq!(
            v.handle_datagram(Some(NOW), &d, USER, PW),
            UdpVerdict::Duplicate
        );
        assert_eq!(
            v.handle_datagram(Some(NOW + 1), &d, USER, PW),
            UdpVerdict::Duplicate
        );
        // A new message in the same second is a new request.
        let d2 = genieacs(NOW, 8, USER, "beef", PW);
        assert!(matches!(
            v.handle_datagram(Some(NOW), &d2, USER, PW),
            UdpVerdict::Accepted(_)
        ));
    }

    #[test]
    fn bad_signature_wrong_user_stale_and_skew() {
        let mut v = UdpRequestValidator::new();
        let forged = genieacs(NOW, 1, USER, "c", "not-the-password");
        assert_eq!(
            v.handle_datagram(Some(NOW), &forged, USER, PW),
            UdpVerdict::Rejected(UdpRejection::BadSignature)
        );
        let other = genieacs(NOW, 1, "someone", "c", PW);
        assert_eq!(
            v.handle_datagram(Some(NOW), &other, USER, PW),
            UdpVerdict::Rejected(UdpRejection::WrongUsername)
        );
        // Tampering with ts after signing.
        let good = String::from_utf8(genieacs(NOW, 2, USER, "c", PW)).unwrap();
        let tampered = good.replace(&format!("ts={NOW}"), &format!("ts={}", NOW + 5));
        assert_eq!(
            v.handle_datagram(Some(NOW), tampered.as_bytes(), USER, PW),
            UdpVerdict::Rejected(UdpRejection::BadSignature)
        );
        assert!(matches!(
            v.handle_datagram(Some(NOW), good.as_bytes(), USER, PW),
            UdpVerdict::Accepted(_)
        ));
        // Older than the last accepted: stale, even with a fresh id.
        let old = genieacs(NOW - 10, 3, USER, "c", PW);
        assert_eq!(
            v.handle_datagram(Some(NOW), &old, USER, PW),
            UdpVerdict::Rejected(UdpRejection::Stale)
        );
        // Far from the trusted clock.
        let future = genieacs(NOW + 3600, 4, USER, "c", PW);
        assert_eq!(
            v.handle_datagram(Some(NOW), &future, USER, PW),
            UdpVerdict::Rejected(UdpRejection::ClockSkew)
        );
        // Without a trusted clock only the ordering applies.
        assert!(matches!(
            v.handle_datagram(None, &future, USER, PW),
            UdpVerdict::Accepted(_)
        ));
    }

    #[test]
    fn replayed_id_is_dropped() {
        let mut v = UdpRequestValidator::new();
        let first = genieacs(NOW, 99, USER, "a", PW);
        assert!(matches!(
            v.handle_datagram(None, &first, USER, PW),
            UdpVerdict::Accepted(_)
        ));
        // Same id re-signed with a newer ts (e.g. a captured id reused): still dropped.
        let again = genieacs(NOW + 60, 99, USER, "b", PW);
        assert_eq!(
            v.handle_datagram(None, &again, USER, PW),
            UdpVerdict::Duplicate
        );
    }

    #[test]
    fn signature_is_case_insensitive() {
        let mut v = UdpRequestValidator::new();
        let d = String::from_utf8(genieacs(NOW, 5, USER, "c", PW)).unwrap();
        let (head, tail) = d.split_once("sig=").unwrap();
        let (sig, rest) = tail.split_at(40);
        let upper = format!("{head}sig={}{rest}", sig.to_ascii_uppercase());
        assert!(matches!(
            v.handle_datagram(Some(NOW), upper.as_bytes(), USER, PW),
            UdpVerdict::Accepted(_)
        ));
    }

    #[test]
    fn encoded_values_signed_decoded_are_accepted() {
        let mut v = UdpRequestValidator::new();
        let un = "user name&=?";
        let d = build_udp_request("198.51.100.1:7547", NOW, "17", un, "c n", PW);
        let r = parse_udp_request(&d).unwrap();
        assert_eq!(r.un, un);
        assert!(matches!(
            v.handle_datagram(Some(NOW), &d, un, PW),
            UdpVerdict::Accepted(_)
        ));
    }

    #[test]
    fn milliseconds_timestamps() {
        let mut v = UdpRequestValidator::new();
        let d = genieacs(NOW * 1000 + 123, 1, USER, "c", PW);
        assert!(matches!(
            v.handle_datagram(Some(NOW), &d, USER, PW),
            UdpVerdict::Accepted(_)
        ));
        let d = genieacs(NOW + 1, 2, USER, "c", PW);
        assert!(matches!(
            v.handle_datagram(Some(NOW), &d, USER, PW),
            UdpVerdict::Accepted(_)
        ));
    }

    #[test]
    fn raw_spaces_in_values() {
        // GenieACS would put a raw space in the line if the username had one.
        let d = genieacs(NOW, 1, "a b", "c", PW);
        let r = parse_udp_request(&d).unwrap();
        assert_eq!(r.un, "a b");
        let mut v = UdpRequestValidator::new();
        assert!(matches!(
            v.handle_datagram(Some(NOW), &d, "a b", PW),
            UdpVerdict::Accepted(_)
        ));
    }

    #[test]
    fn parser_errors() {
        let sig = "0".repeat(40);
        let ok = format!("GET http://h:1?ts=1&id=2&un=u&cn=c&sig={sig} HTTP/1.1\r\n\r\n");
        assert!(parse_udp_request(ok.as_bytes()).is_ok());
        let err = |s: &str| parse_udp_request(s.as_bytes()).unwrap_err();
        assert_eq!(err(&ok.replace("GET ", "POST ")), UdpRequestError::NotGet);
        assert_eq!(
            err(&ok.replace("HTTP/1.1", "HTTP/1.0")),
            UdpRequestError::BadVersion
        );
        assert_eq!(
            err("GET http://h:1 HTTP/1.1\r\n\r\n"),
            UdpRequestError::NoQuery
        );
        for f in ["ts", "id", "un", "cn", "sig"] {
            let without = ok.replace(&format!("{f}="), "xx=");
            assert_eq!(err(&without), UdpRequestError::MissingField(f), "{f}");
        }
        assert_eq!(
            err(&ok.replace("id=2", "id=2&id=3")),
            UdpRequestError::DuplicateField("id")
        );
        assert_eq!(
            err(&ok.replace("cn=c", "cn=")),
            UdpRequestError::EmptyField("cn")
        );
        assert!(parse_udp_request(ok.replace("un=u", "un=").as_bytes()).is_ok());
        assert_eq!(
            err(&ok.replace("ts=1", "ts=-1")),
            UdpRequestError::BadTimestamp
        );
        assert_eq!(
            err(&ok.replace("ts=1", "ts=1.5")),
            UdpRequestError::BadTimestamp
        );
        assert_eq!(
            err(&ok.replace("ts=1", "ts=99999999999999999999")),
            UdpRequestError::BadTimestamp
        );
        assert_eq!(
            err(&ok.replace("un=u", "un=%zz")),
            UdpRequestError::BadEncoding("un")
        );
        assert_eq!(
            err(&ok.replace("un=u", "un=%4")),
            UdpRequestError::BadEncoding("un")
        );
        assert_eq!(
            err(&ok.replace("un=u", "un=%ff")),
            UdpRequestError::BadEncoding("un")
        );
        assert_eq!(err(&ok.replace(&sig, "abc")), UdpRequestError::BadSignature);
        assert_eq!(
            err(&ok.replace(&sig, &"g".repeat(40))),
            UdpRequestError::BadSignature
        );
        let long = ok.replace("cn=c", &format!("cn={}", "c".repeat(MAX_FIELD_LEN + 1)));
        assert_eq!(err(&long), UdpRequestError::FieldTooLong("cn"));
        let many = ok.replace("?", &format!("?{}", "x=1&".repeat(MAX_QUERY_PAIRS)));
        assert_eq!(err(&many), UdpRequestError::TooManyPairs);
        assert_eq!(
            parse_udp_request(&vec![b'G'; MAX_UDP_REQUEST_SIZE + 1]).unwrap_err(),
            UdpRequestError::TooLarge
        );
        assert_eq!(
            parse_udp_request(b"GET \xff HTTP/1.1\r\n").unwrap_err(),
            UdpRequestError::NotText
        );
        // Truncated datagram: the request line is cut before the version.
        assert_eq!(err(&ok[..30]), UdpRequestError::BadVersion);
        // Bare LF line ending and no headers are tolerated.
        assert!(parse_udp_request(ok.replace("\r\n", "\n").as_bytes()).is_ok());
    }
}

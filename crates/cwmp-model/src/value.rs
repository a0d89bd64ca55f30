//! Lexical forms of CWMP values: parsing with the right fault code, canonical formatting and
//! type defaults (TR-069 Annex A.2, TR-106, Annex A.3.2.1).
//!
//! Fault codes follow TR-069 Annex A.3.2.1: a value that is not a lexical form of the parameter's wire
//! type at all (or that carries a different `xsi:type`) is **9006**; a value of the right type
//! that breaks a data-model constraint (range, length, enumeration, TR-106 `IPAddress` /
//! `MACAddress` syntax) is **9007**.
//!
//! Decisions where TR-069 is silent:
//! * Whitespace: XML Schema's `whiteSpace` facet is `collapse` for every primitive except
//!   `string`, so surrounding XML whitespace (space, tab, CR, LF) is trimmed from numbers,
//!   booleans, dateTimes, base64 and hexBinary, and kept in strings (including `IPAddress` and
//!   `MACAddress`, where it then fails the syntax check with 9007).
//! * A number outside its wire type's range (`4294967296` for `xsd:unsignedInt`, `-1` for
//!   `xsd:unsignedInt`) is not a lexical form of that type, so it is 9006; outside the data
//!   model's range (`0` for `[1:65535]`) it is 9007.
//! * Bad `IPAddress` / `MACAddress` syntax is 9007, not 9006: the wire type (`xsd:string`) is
//!   right, the value is not acceptable for the parameter.
//! * Canonical output is XML Schema's canonical form: booleans `true`/`false`, integers without
//!   `+` or leading zeros, dateTime in UTC with `Z` and no fraction, base64 padded with no line
//!   breaks, hexBinary upper-case.

use crate::fault::{Fault, FaultCode};
use crate::types::{BaseType, DateTime, ParamType, Value, XsdType};
use base64::Engine as _;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Why a lexical value was refused: the fault code to send and a reason for the `FaultString`.
///
/// The reason never contains the value itself, which may be a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// 9006 (wrong type) or 9007 (right type, refused value).
    pub code: FaultCode,
    /// A short explanation without the value, e.g. `above maximum 65535`.
    pub reason: String,
}

impl ValueError {
    fn wrong_type(reason: impl Into<String>) -> ValueError {
        ValueError {
            code: FaultCode::InvalidParameterType,
            reason: reason.into(),
        }
    }

    fn bad_value(reason: impl Into<String>) -> ValueError {
        ValueError {
            code: FaultCode::InvalidParameterValue,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

impl std::error::Error for ValueError {}

impl From<ValueError> for Fault {
    fn from(e: ValueError) -> Fault {
        Fault::with_message(e.code, format!("{}: {}", e.code.description(), e.reason))
    }
}

/// XML Schema whitespace (the characters `collapse` removes at the ends).
fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn trim_xml(text: &str) -> &str {
    text.trim_matches(is_xml_space)
}

/// An XML Schema integer lexical form (`[+-]?[0-9]+`) as an `i128`, `None` when it is not one
/// or has more than 38 significant digits (far beyond every CWMP integer type).
fn parse_integer(text: &str) -> Option<i128> {
    let t = trim_xml(text);
    let (negative, digits) = match t.as_bytes().first()? {
        b'+' => (false, t.get(1..)?),
        b'-' => (true, t.get(1..)?),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > 38 {
        return None;
    }
    let magnitude: i128 = if significant.is_empty() {
        0
    } else {
        significant.parse().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Base64 as received: RFC 2045 allows line breaks, and senders disagree on padding, so
/// whitespace is dropped and padding is optional; but padding that is present must be right
/// (`AQ=` is refused), and so must the unused bits of the last symbol.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    let compact: String = text.chars().filter(|c| !is_xml_space(*c)).collect();
    if compact.len() % 4 == 0 {
        STANDARD.decode(compact.as_bytes()).ok()
    } else {
        STANDARD_NO_PAD.decode(compact.as_bytes()).ok()
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(trim_xml(text)).ok()
}

/// TR-106 `IPAddress` (TR-106): IPv4 dotted quad or RFC 4291 §2.2 IPv6 text; empty = none.
fn is_ip_address(s: &str) -> bool {
    s.is_empty() || s.parse::<Ipv4Addr>().is_ok() || s.parse::<Ipv6Addr>().is_ok()
}

/// The scheme (`"http"` or `"https"`, lower case) of an absolute URL with a host, parsed by
/// [`crate::Url::parse`]; `None` for anything else (no scheme, another scheme, no host, not a
/// URL). The one URL rule of the data model: `ManagementServer.URL` and every item holding a URL.
pub fn http_url_scheme(s: &str) -> Option<&'static str> {
    let url = crate::Url::parse(s).ok()?;
    match url.scheme() {
        "http" => Some("http"),
        "https" => Some("https"),
        _ => None,
    }
}

/// TR-106 `MACAddress` (TR-106): `([0-9A-Fa-f][0-9A-Fa-f]:){5}[0-9A-Fa-f][0-9A-Fa-f]`;
/// empty = unknown.
fn is_mac_address(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let b = s.as_bytes();
    b.len() == 17
        && b.iter().enumerate().all(|(i, c)| {
            if i % 3 == 2 {
                *c == b':'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

impl Value {
    /// Parse the lexical form of a wire type, checking only the type itself (no data-model
    /// constraints). `None` when `text` is not a lexical form of `ty` (TR-069 Annex A.2).
    ///
    /// Used for values read back from storage and for values received from a peer; values
    /// from the ACS for a parameter go through [`ParamType::parse`] instead.
    pub fn parse(ty: XsdType, text: &str) -> Option<Value> {
        Some(match ty {
            XsdType::String => Value::String(text.to_owned()),
            XsdType::Int => Value::Int(i32::try_from(parse_integer(text)?).ok()?),
            XsdType::UnsignedInt => Value::UnsignedInt(u32::try_from(parse_integer(text)?).ok()?),
            XsdType::Long => Value::Long(i64::try_from(parse_integer(text)?).ok()?),
            XsdType::UnsignedLong => Value::UnsignedLong(u64::try_from(parse_integer(text)?).ok()?),
            XsdType::Boolean => Value::Boolean(match trim_xml(text) {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return None,
            }),
            XsdType::DateTime => Value::DateTime(DateTime::parse(text)?),
            XsdType::Base64 => Value::Base64(decode_base64(text)?),
            XsdType::HexBinary => Value::HexBinary(decode_hex(text)?),
        })
    }

    /// The canonical lexical form (XML Schema canonical representation): booleans `true` /
    /// `false`, integers without sign or leading zeros, dateTime via [`DateTime::to_xsd`],
    /// padded base64, upper-case hexBinary.
    ///
    /// `Value::parse(v.xsd_type(), &v.to_lexical()) == Some(v)` holds for every value, a
    /// dateTime with fractional seconds included ([`DateTime::to_xsd`]).
    pub fn to_lexical(&self) -> String {
        match self {
            Value::String(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            Value::UnsignedInt(n) => n.to_string(),
            Value::Long(n) => n.to_string(),
            Value::UnsignedLong(n) => n.to_string(),
            Value::Boolean(b) => if *b { "true" } else { "false" }.to_owned(),
            Value::DateTime(d) => d.to_xsd(),
            Value::Base64(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
            Value::HexBinary(bytes) => hex::encode_upper(bytes),
        }
    }

    /// The value as an integer, for range checks (`None` for non-numeric values).
    fn as_integer(&self) -> Option<i128> {
        match self {
            Value::Int(n) => Some(i128::from(*n)),
            Value::UnsignedInt(n) => Some(i128::from(*n)),
            Value::Long(n) => Some(i128::from(*n)),
            Value::UnsignedLong(n) => Some(i128::from(*n)),
            _ => None,
        }
    }
}

impl ParamType {
    /// Parse a value the ACS sent for a parameter of this type (SetParameterValues, TR-069 Annex A.3.2.1).
    ///
    /// * 9006 when `xsi_type` is given and is not this parameter's wire type, or when the text
    ///   is not a lexical form of the wire type (`abc` or `4294967296` for `unsignedInt`, `2`
    ///   for `boolean`);
    /// * 9007 when it is, but breaks a constraint (range, maximum length, enumeration,
    ///   `IPAddress` / `MACAddress` syntax).
    ///
    /// See [`parse_with_reason`](Self::parse_with_reason) for an explanation to put in the
    /// `FaultString`.
    pub fn parse(&self, lexical: &str, xsi_type: Option<XsdType>) -> Result<Value, FaultCode> {
        self.parse_with_reason(lexical, xsi_type)
            .map_err(|e| e.code)
    }

    /// [`parse`](Self::parse) with a reason (never containing the value) for the fault.
    pub fn parse_with_reason(
        &self,
        lexical: &str,
        xsi_type: Option<XsdType>,
    ) -> Result<Value, ValueError> {
        let wire = self.xsd_type();
        if let Some(sent) = xsi_type {
            if sent != wire {
                return Err(ValueError::wrong_type(format!(
                    "xsi:type {sent} does not match the parameter's type {wire}"
                )));
            }
        }
        let value = Value::parse(wire, lexical)
            .ok_or_else(|| ValueError::wrong_type(format!("not a valid {wire} value")))?;
        self.check(&value)?;
        Ok(value)
    }

    /// Check a typed value against this type: 9006 if its wire type differs, 9007 if it breaks
    /// a constraint (range, maximum length, enumeration, `IPAddress` / `MACAddress` syntax).
    pub fn check(&self, value: &Value) -> Result<(), ValueError> {
        let wire = self.xsd_type();
        if value.xsd_type() != wire {
            return Err(ValueError::wrong_type(format!(
                "a {} value where {wire} is expected",
                value.xsd_type()
            )));
        }
        if let Some(n) = value.as_integer() {
            if let Some(min) = self.min {
                if n < min {
                    return Err(ValueError::bad_value(format!("below minimum {min}")));
                }
            }
            if let Some(max) = self.max {
                if n > max {
                    return Err(ValueError::bad_value(format!("above maximum {max}")));
                }
            }
        }
        if let Some(max_len) = self.max_length {
            let len = match value {
                Value::String(s) => Some(s.chars().count()),
                Value::Base64(b) | Value::HexBinary(b) => Some(b.len()),
                _ => None,
            };
            if let Some(len) = len {
                if len > max_len {
                    let unit = if matches!(value, Value::String(_)) {
                        "characters"
                    } else {
                        "bytes"
                    };
                    return Err(ValueError::bad_value(format!(
                        "longer than {max_len} {unit}"
                    )));
                }
            }
        }
        if let Value::String(s) = value {
            match self.base {
                BaseType::IpAddress if !is_ip_address(s) => {
                    return Err(ValueError::bad_value(
                        "not an IPv4 or IPv6 address (IPAddress)",
                    ));
                }
                BaseType::MacAddress if !is_mac_address(s) => {
                    return Err(ValueError::bad_value(
                        "not a MAC address xx:xx:xx:xx:xx:xx (MACAddress)",
                    ));
                }
                BaseType::Url if !s.is_empty() && http_url_scheme(s).is_none() => {
                    return Err(ValueError::bad_value(
                        "not an http:// or https:// URL with a host",
                    ));
                }
                _ => {}
            }
        }
        if !self.enumeration.is_empty() {
            let allowed = match value {
                Value::String(s) => self.enumeration.iter().any(|e| e == s),
                other => {
                    let lexical = other.to_lexical();
                    self.enumeration.contains(&lexical)
                }
            };
            if !allowed {
                return Err(ValueError::bad_value(format!(
                    "not one of the allowed values {}",
                    self.enumeration.join(",")
                )));
            }
        }
        Ok(())
    }

    /// The value of a parameter that has no stored value and no default: the type's neutral
    /// value (empty string, `0`, `false`, the Unknown Time, no bytes), moved inside the type's
    /// constraints where that is possible (the nearest range bound; the first enumeration value
    /// when the neutral value is not one of them), so a value read back can be written back.
    pub fn default_value(&self) -> Value {
        let neutral = match self.base {
            BaseType::String | BaseType::IpAddress | BaseType::MacAddress | BaseType::Url => {
                Value::String(String::new())
            }
            BaseType::Int => Value::Int(clamp(self, i32::MIN, i32::MAX)),
            BaseType::UnsignedInt => Value::UnsignedInt(clamp(self, u32::MIN, u32::MAX)),
            BaseType::Long => Value::Long(clamp(self, i64::MIN, i64::MAX)),
            BaseType::UnsignedLong => Value::UnsignedLong(clamp(self, u64::MIN, u64::MAX)),
            BaseType::Boolean => Value::Boolean(false),
            BaseType::DateTime => Value::DateTime(DateTime::UNKNOWN),
            BaseType::Base64 => Value::Base64(Vec::new()),
            BaseType::HexBinary => Value::HexBinary(Vec::new()),
        };
        if self.check(&neutral).is_ok() {
            return neutral;
        }
        self.enumeration
            .iter()
            .find_map(|e| Value::parse(self.xsd_type(), e).filter(|v| self.check(v).is_ok()))
            .unwrap_or(neutral)
    }
}

/// Zero moved into `[min, max]` of the type's range, kept inside the integer type `T`.
fn clamp<T>(ty: &ParamType, type_min: T, type_max: T) -> T
where
    T: Copy + TryFrom<i128> + Into<i128>,
{
    let lo = ty.min.unwrap_or(i128::MIN).max(type_min.into());
    let hi = ty.max.unwrap_or(i128::MAX).min(type_max.into());
    let v = 0i128.clamp(lo.min(hi), hi.max(lo));
    T::try_from(v).unwrap_or(type_min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BaseType as B;
    use FaultCode::{InvalidParameterType as E9006, InvalidParameterValue as E9007};

    fn ty(base: B) -> ParamType {
        ParamType::new(base)
    }

    /// Check accepted and refused lexical forms for one type.
    fn table(t: &ParamType, ok: &[(&str, Value)], bad: &[(&str, FaultCode)]) {
        for (text, want) in ok {
            assert_eq!(t.parse(text, None).as_ref(), Ok(want), "{t:?} {text:?}");
            assert_eq!(
                t.parse(text, Some(t.xsd_type())).as_ref(),
                Ok(want),
                "{t:?} {text:?} with xsi:type"
            );
        }
        for (text, code) in bad {
            assert_eq!(t.parse(text, None), Err(*code), "{t:?} {text:?}");
        }
    }

    #[test]
    fn booleans() {
        table(
            &ty(B::Boolean),
            &[
                ("true", Value::Boolean(true)),
                ("1", Value::Boolean(true)),
                ("false", Value::Boolean(false)),
                ("0", Value::Boolean(false)),
                (" true\n", Value::Boolean(true)),
            ],
            &[
                ("2", E9006),
                ("TRUE", E9006),
                ("yes", E9006),
                ("", E9006),
                ("01", E9006),
            ],
        );
        assert_eq!(Value::Boolean(true).to_lexical(), "true");
        assert_eq!(Value::Boolean(false).to_lexical(), "false");
    }

    #[test]
    fn unsigned_ints() {
        let u = ty(B::UnsignedInt);
        table(
            &u,
            &[
                ("0", Value::UnsignedInt(0)),
                ("+7", Value::UnsignedInt(7)),
                ("007", Value::UnsignedInt(7)),
                ("-0", Value::UnsignedInt(0)),
                (" 42 ", Value::UnsignedInt(42)),
                ("4294967295", Value::UnsignedInt(u32::MAX)),
            ],
            &[
                ("abc", E9006),
                ("", E9006),
                ("+", E9006),
                ("-1", E9006),
                ("4294967296", E9006),
                ("1.5", E9006),
                ("1e3", E9006),
                ("0x10", E9006),
                ("1 2", E9006),
                ("++1", E9006),
                ("99999999999999999999999999999999999999999999999999", E9006),
            ],
        );
        // Ranges of the Desk Phone table (seed) and of TR-069.
        // (min, max, accepted, refused with 9007)
        type Case<'a> = (Option<i128>, Option<i128>, &'a [&'a str], &'a [&'a str]);
        let cases: &[Case<'_>] = &[
            (Some(0), Some(99999), &["0", "99999", "300"], &["100000"]),
            (
                Some(1),
                Some(65535),
                &["1", "65535", "5060"],
                &["0", "65536"],
            ),
            (
                Some(1000),
                Some(65535),
                &["1000", "2000"],
                &["999", "0", "65536"],
            ),
            (
                Some(60),
                Some(7200),
                &["60", "3600", "7200"],
                &["59", "7201", "0"],
            ),
            (Some(0), Some(3600), &["0", "3600"], &["3601"]),
        ];
        for (min, max, good, refused) in cases {
            let t = u.clone().with_range(*min, *max);
            for g in *good {
                assert!(t.parse(g, None).is_ok(), "{min:?}:{max:?} {g}");
            }
            for r in *refused {
                assert_eq!(t.parse(r, None), Err(E9007), "{min:?}:{max:?} {r}");
            }
            // Still 9006 for text that is no number at all.
            assert_eq!(t.parse("abc", None), Err(E9006));
        }
    }

    #[test]
    fn ints_longs() {
        let i = ty(B::Int).with_range(Some(-1), None);
        table(
            &i,
            &[
                ("-1", Value::Int(-1)),
                ("0", Value::Int(0)),
                ("2147483647", Value::Int(i32::MAX)),
                ("+30", Value::Int(30)),
            ],
            &[
                ("-2", E9007),
                ("-2147483648", E9007),
                ("-2147483649", E9006),
                ("2147483648", E9006),
                ("x", E9006),
                ("-", E9006),
            ],
        );
        table(
            &ty(B::Long),
            &[
                ("-9223372036854775808", Value::Long(i64::MIN)),
                ("9223372036854775807", Value::Long(i64::MAX)),
            ],
            &[("9223372036854775808", E9006), ("1.0", E9006)],
        );
        table(
            &ty(B::UnsignedLong),
            &[("18446744073709551615", Value::UnsignedLong(u64::MAX))],
            &[("18446744073709551616", E9006), ("-5", E9006)],
        );
    }

    #[test]
    fn enumerations() {
        let t = ty(B::UnsignedInt).with_enumeration(["0", "1", "2"]);
        for g in ["0", "1", "2", "+1", "02"] {
            assert!(t.parse(g, None).is_ok(), "{g}");
        }
        assert_eq!(t.parse("3", None), Err(E9007));
        assert_eq!(t.parse("UDP", None), Err(E9006));
        let t = ty(B::UnsignedInt).with_enumeration(["0", "1", "2", "4", "5", "6"]);
        for g in ["0", "1", "2", "4", "5", "6"] {
            assert!(t.parse(g, None).is_ok(), "{g}");
        }
        for r in ["3", "7", "100"] {
            assert_eq!(t.parse(r, None), Err(E9007), "{r}");
        }
        let t = ty(B::String).with_enumeration(["Up", "Initializing", "Error", "Disabled"]);
        assert!(t.parse("Up", None).is_ok());
        assert_eq!(t.parse("up", None), Err(E9007));
        assert_eq!(t.parse(" Up", None), Err(E9007));
        assert_eq!(t.parse("", None), Err(E9007));
    }

    #[test]
    fn strings() {
        let t = ty(B::String).with_max_length(4);
        table(
            &t,
            &[
                ("", Value::String(String::new())),
                ("abcd", Value::String("abcd".into())),
                ("äöüß", Value::String("äöüß".into())),
                (" a ", Value::String(" a ".into())),
            ],
            &[("abcde", E9007)],
        );
        assert_eq!(t.parse("x", Some(XsdType::UnsignedInt)), Err(E9006));
        assert_eq!(t.parse("x", Some(XsdType::Boolean)), Err(E9006));
    }

    #[test]
    fn xsi_type_mismatch_is_9006() {
        // GenieACS capture 037: xsd:string for an unsignedInt parameter.
        let t = ty(B::UnsignedInt);
        assert_eq!(t.parse("60", Some(XsdType::String)), Err(E9006));
        assert_eq!(t.parse("60", Some(XsdType::Int)), Err(E9006));
        assert_eq!(
            ty(B::IpAddress).parse("1.2.3.4", Some(XsdType::String)),
            Ok(Value::String("1.2.3.4".into()))
        );
        let e = t
            .parse_with_reason("60", Some(XsdType::String))
            .unwrap_err();
        assert!(e.reason.contains("xsd:string"), "{e}");
    }

    #[test]
    fn ip_addresses() {
        let t = ty(B::IpAddress);
        for g in [
            "",
            "192.168.1.10",
            "255.255.255.0",
            "0.0.0.0",
            "::",
            "fe80::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:192.0.2.1",
        ] {
            assert_eq!(t.parse(g, None), Ok(Value::String(g.into())), "{g}");
        }
        for r in [
            "1.2.3",
            "256.1.1.1",
            "1.2.3.4.5",
            "a.b.c.d",
            " 1.2.3.4",
            "1.2.3.4/24",
            "fe80::1%eth0",
            "::g",
            "host.example",
        ] {
            assert_eq!(t.parse(r, None), Err(E9007), "{r}");
        }
    }

    #[test]
    fn mac_addresses() {
        let t = ty(B::MacAddress);
        for g in ["", "00:1a:e8:A1:B2:C3", "FF:FF:FF:FF:FF:FF"] {
            assert_eq!(t.parse(g, None), Ok(Value::String(g.into())), "{g}");
        }
        for r in [
            "001AE8A1B2C3",
            "00-1a-e8-a1-b2-c3",
            "00:1a:e8:a1:b2",
            "00:1a:e8:a1:b2:c3:d4",
            "0g:1a:e8:a1:b2:c3",
            "00:1a:e8:a1:b2:c3 ",
        ] {
            assert_eq!(t.parse(r, None), Err(E9007), "{r}");
        }
    }

    #[test]
    fn date_times() {
        let t = ty(B::DateTime);
        let d = DateTime::parse("2024-05-01T10:00:00Z").unwrap();
        table(
            &t,
            &[
                ("2024-05-01T10:00:00Z", Value::DateTime(d)),
                ("2024-05-01T12:00:00+02:00", Value::DateTime(d)),
                ("0001-01-01T00:00:00Z", Value::DateTime(DateTime::UNKNOWN)),
            ],
            &[("yesterday", E9006), ("", E9006), ("2024-05-01", E9006)],
        );
        assert_eq!(Value::DateTime(d).to_lexical(), "2024-05-01T10:00:00Z");
        // Fractional seconds are kept and offsets normalised (issue 10 part 3).
        let set = t.parse("1970-01-01T19:11:09.346+02:00", None).unwrap();
        assert_eq!(set.to_lexical(), "1970-01-01T17:11:09.346Z");
        assert_eq!(t.parse(&set.to_lexical(), None), Ok(set));
    }

    #[test]
    fn binaries() {
        let t = ty(B::Base64).with_max_length(3);
        table(
            &t,
            &[
                ("", Value::Base64(vec![])),
                ("AQID", Value::Base64(vec![1, 2, 3])),
                ("AQ==", Value::Base64(vec![1])),
                ("AQ", Value::Base64(vec![1])),
                ("AQ\nID", Value::Base64(vec![1, 2, 3])),
            ],
            &[
                ("AQIDBA==", E9007),
                ("!!!!", E9006),
                ("AQ=", E9006),
                ("AR==", E9006),
            ],
        );
        assert_eq!(Value::Base64(vec![1]).to_lexical(), "AQ==");
        let t = ty(B::HexBinary).with_max_length(2);
        table(
            &t,
            &[
                ("", Value::HexBinary(vec![])),
                ("0aFF", Value::HexBinary(vec![0x0a, 0xff])),
                (" 0a ", Value::HexBinary(vec![0x0a])),
            ],
            &[("0a0b0c", E9007), ("0", E9006), ("zz", E9006)],
        );
        assert_eq!(Value::HexBinary(vec![0x0a, 0xff]).to_lexical(), "0AFF");
    }

    #[test]
    fn defaults() {
        assert_eq!(ty(B::String).default_value(), Value::String(String::new()));
        assert_eq!(ty(B::UnsignedInt).default_value(), Value::UnsignedInt(0));
        assert_eq!(ty(B::Boolean).default_value(), Value::Boolean(false));
        assert_eq!(
            ty(B::DateTime).default_value(),
            Value::DateTime(DateTime::UNKNOWN)
        );
        assert_eq!(ty(B::Base64).default_value(), Value::Base64(vec![]));
        assert_eq!(ty(B::HexBinary).default_value(), Value::HexBinary(vec![]));
        assert_eq!(
            ty(B::IpAddress).default_value(),
            Value::String(String::new())
        );
        // Moved inside the range.
        assert_eq!(
            ty(B::UnsignedInt)
                .with_range(Some(1000), Some(65535))
                .default_value(),
            Value::UnsignedInt(1000)
        );
        assert_eq!(
            ty(B::Int).with_range(None, Some(-5)).default_value(),
            Value::Int(-5)
        );
        assert_eq!(
            ty(B::Int).with_range(Some(-1), None).default_value(),
            Value::Int(0)
        );
        // First allowed value of an enumeration.
        assert_eq!(
            ty(B::String)
                .with_enumeration(["Up", "Error"])
                .default_value(),
            Value::String("Up".into())
        );
        assert_eq!(
            ty(B::UnsignedInt)
                .with_enumeration(["4", "5"])
                .default_value(),
            Value::UnsignedInt(4)
        );
        // Every default satisfies its type.
        for base in [
            B::String,
            B::Int,
            B::UnsignedInt,
            B::Long,
            B::UnsignedLong,
            B::Boolean,
            B::DateTime,
            B::Base64,
            B::HexBinary,
            B::IpAddress,
            B::MacAddress,
        ] {
            let t = ty(base);
            assert_eq!(t.check(&t.default_value()), Ok(()));
        }
    }

    #[test]
    fn fault_from_value_error_has_no_value() {
        let t = ty(B::String).with_max_length(3);
        let e = t.parse_with_reason("secret-password", None).unwrap_err();
        let f = Fault::from(e);
        assert_eq!(f.code, E9007);
        assert!(!f.message.contains("secret"), "{}", f.message);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn any_value() -> impl Strategy<Value = Value> {
            prop_oneof![
                ".*".prop_map(Value::String),
                any::<i32>().prop_map(Value::Int),
                any::<u32>().prop_map(Value::UnsignedInt),
                any::<i64>().prop_map(Value::Long),
                any::<u64>().prop_map(Value::UnsignedLong),
                any::<bool>().prop_map(Value::Boolean),
                // Year 1 to 9999, to the nanosecond (the canonical form keeps the fraction).
                (-62_135_596_800i64..=253_402_300_799i64, 0u32..1_000_000_000).prop_map(
                    |(s, n)| {
                        Value::DateTime(DateTime(
                            DateTime::from_unix(s)
                                .unwrap()
                                .0
                                .replace_nanosecond(n)
                                .unwrap(),
                        ))
                    }
                ),
                proptest::collection::vec(any::<u8>(), 0..64).prop_map(Value::Base64),
                proptest::collection::vec(any::<u8>(), 0..64).prop_map(Value::HexBinary),
            ]
        }

        proptest! {
            #[test]
            fn lexical_round_trip(v in any_value()) {
                let text = v.to_lexical();
                prop_assert_eq!(Value::parse(v.xsd_type(), &text), Some(v.clone()));
                // Through an unconstrained parameter type with the right xsi:type, too.
                let base = match v.xsd_type() {
                    XsdType::String => B::String,
                    XsdType::Int => B::Int,
                    XsdType::UnsignedInt => B::UnsignedInt,
                    XsdType::Long => B::Long,
                    XsdType::UnsignedLong => B::UnsignedLong,
                    XsdType::Boolean => B::Boolean,
                    XsdType::DateTime => B::DateTime,
                    XsdType::Base64 => B::Base64,
                    XsdType::HexBinary => B::HexBinary,
                };
                prop_assert_eq!(ty(base).parse(&text, Some(v.xsd_type())), Ok(v));
            }

            #[test]
            fn parse_never_panics(text in "\\PC{0,80}", idx in 0usize..9) {
                let tys = [XsdType::String, XsdType::Int, XsdType::UnsignedInt, XsdType::Long,
                    XsdType::UnsignedLong, XsdType::Boolean, XsdType::DateTime, XsdType::Base64,
                    XsdType::HexBinary];
                let _ = Value::parse(tys[idx], &text);
                let _ = ty(B::IpAddress).parse(&text, None);
                let _ = ty(B::MacAddress).parse(&text, None);
            }

            #[test]
            fn signs_and_leading_zeros(n in any::<i64>()) {
                let (sign, digits) = if n < 0 { ("-", n.unsigned_abs()) } else { ("+", n.unsigned_abs()) };
                prop_assert_eq!(
                    Value::parse(XsdType::Long, &format!("{sign}000{digits}")),
                    Some(Value::Long(n))
                );
            }
        }
    }
}

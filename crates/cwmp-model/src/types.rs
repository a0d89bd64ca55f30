//! CWMP data types: the wire (`xsi:type`) types, the schema types with their constraints, and
//! typed values (TR-069 Annex A.2).

use std::fmt;

/// The XML Schema type a CWMP value carries on the wire as `xsi:type` (TR-069 Annex A.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum XsdType {
    /// `xsd:string`
    String,
    /// `xsd:int` (signed 32-bit)
    Int,
    /// `xsd:unsignedInt` (unsigned 32-bit)
    UnsignedInt,
    /// `xsd:long` (signed 64-bit)
    Long,
    /// `xsd:unsignedLong` (unsigned 64-bit)
    UnsignedLong,
    /// `xsd:boolean`
    Boolean,
    /// `xsd:dateTime`
    DateTime,
    /// `xsd:base64` (`xsd:base64Binary` and `soap-enc:base64` are accepted on input)
    Base64,
    /// `xsd:hexBinary`
    HexBinary,
}

impl XsdType {
    /// The canonical `xsi:type` attribute value the CPE emits, e.g. `xsd:unsignedInt`
    /// (`soap-enc:base64` for base64, the form the BBF schemas accept).
    pub fn as_xsi(self) -> &'static str {
        match self {
            XsdType::String => "xsd:string",
            XsdType::Int => "xsd:int",
            XsdType::UnsignedInt => "xsd:unsignedInt",
            XsdType::Long => "xsd:long",
            XsdType::UnsignedLong => "xsd:unsignedLong",
            XsdType::Boolean => "xsd:boolean",
            XsdType::DateTime => "xsd:dateTime",
            // `xsd:base64` is what many CPEs send, but XML Schema has no such type and the BBF
            // schemas refuse it; `soap-enc:base64` is valid and has the same local name.
            XsdType::Base64 => "soap-enc:base64",
            XsdType::HexBinary => "xsd:hexBinary",
        }
    }

    /// The type named by a local name (the part after the prefix), e.g. `unsignedInt`.
    ///
    /// The codec resolves the prefix to the XML Schema or SOAP-encoding namespace first; this
    /// function only looks at the local name. `base64Binary` maps to [`XsdType::Base64`].
    pub fn from_local_name(local: &str) -> Option<XsdType> {
        Some(match local {
            "string" => XsdType::String,
            "int" => XsdType::Int,
            "unsignedInt" => XsdType::UnsignedInt,
            "long" => XsdType::Long,
            "unsignedLong" => XsdType::UnsignedLong,
            "boolean" => XsdType::Boolean,
            "dateTime" => XsdType::DateTime,
            "base64" | "base64Binary" => XsdType::Base64,
            "hexBinary" => XsdType::HexBinary,
            _ => return None,
        })
    }

    /// The local name, e.g. `unsignedInt`.
    pub fn local_name(self) -> &'static str {
        let xsi = self.as_xsi();
        xsi.split_once(':').map_or(xsi, |(_, local)| local)
    }
}

impl fmt::Display for XsdType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_xsi())
    }
}

/// The base of a parameter's type in the data model: a CWMP primitive or a TR-106 named type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BaseType {
    /// `string`
    String,
    /// `int`
    Int,
    /// `unsignedInt`
    UnsignedInt,
    /// `long`
    Long,
    /// `unsignedLong`
    UnsignedLong,
    /// `boolean`
    Boolean,
    /// `dateTime`
    DateTime,
    /// `base64`
    Base64,
    /// `hexBinary`
    HexBinary,
    /// TR-106 `IPAddress` (string(45): IPv4 dotted quad or IPv6 text, empty = none)
    IpAddress,
    /// TR-106 `MACAddress` (string(17): `xx:xx:xx:xx:xx:xx`, empty = unknown)
    MacAddress,
    /// A URL the device connects to (`ManagementServer.URL`): empty, or an absolute
    /// `http://` or `https://` URL with a host (see [`crate::http_url_scheme`]).
    Url,
}

impl BaseType {
    /// The wire type values of this base carry.
    pub fn xsd_type(self) -> XsdType {
        match self {
            BaseType::String | BaseType::IpAddress | BaseType::MacAddress | BaseType::Url => {
                XsdType::String
            }
            BaseType::Int => XsdType::Int,
            BaseType::UnsignedInt => XsdType::UnsignedInt,
            BaseType::Long => XsdType::Long,
            BaseType::UnsignedLong => XsdType::UnsignedLong,
            BaseType::Boolean => XsdType::Boolean,
            BaseType::DateTime => XsdType::DateTime,
            BaseType::Base64 => XsdType::Base64,
            BaseType::HexBinary => XsdType::HexBinary,
        }
    }
}

/// A parameter's full type: base type plus the data model's constraints.
///
/// Constraints that do not apply to a base are ignored (a range on a string, a length on an int).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamType {
    /// The base type.
    pub base: BaseType,
    /// Maximum length in characters (strings) or decoded bytes (base64, hexBinary).
    pub max_length: Option<usize>,
    /// Inclusive lower bound for numeric types.
    pub min: Option<i128>,
    /// Inclusive upper bound for numeric types.
    pub max: Option<i128>,
    /// Allowed values (an enumeration), compared on the canonical lexical form; empty = any.
    pub enumeration: Vec<String>,
}

impl ParamType {
    /// A type with no constraints.
    pub fn new(base: BaseType) -> ParamType {
        ParamType {
            base,
            max_length: None,
            min: None,
            max: None,
            enumeration: Vec::new(),
        }
    }

    /// The base type.
    pub fn base(&self) -> BaseType {
        self.base
    }

    /// The wire type values of this parameter carry.
    pub fn xsd_type(&self) -> XsdType {
        self.base.xsd_type()
    }

    /// Builder: set an inclusive numeric range (either end optional).
    pub fn with_range(mut self, min: Option<i128>, max: Option<i128>) -> ParamType {
        self.min = min;
        self.max = max;
        self
    }

    /// Builder: set the maximum length.
    pub fn with_max_length(mut self, max: usize) -> ParamType {
        self.max_length = Some(max);
        self
    }

    /// Builder: set the allowed values.
    pub fn with_enumeration<I, S>(mut self, values: I) -> ParamType
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.enumeration = values.into_iter().map(Into::into).collect();
        self
    }
}

/// An `xsd:dateTime` value. CWMP's Unknown Time is `0001-01-01T00:00:00Z`
/// ([`DateTime::UNKNOWN`]); a value without a time zone is taken as UTC.
///
/// Precision and canonical form (decision; TR-069 Annex A.2 allows fractional seconds but fixes no
/// precision): a value keeps its fractional seconds to the nanosecond (the precision of
/// [`time::OffsetDateTime`]; digits after the ninth are dropped), so an ACS that sets
/// `1970-01-01T17:11:09.346Z` reads back exactly that (GenieACS sets milliseconds and compares
/// the string it reads back). The canonical form ([`DateTime::to_xsd`]) is UTC with `Z`; the
/// fraction has its trailing zeros trimmed and is left out, with its `.`, when it is zero, so
/// every whole-second value (the Unknown Time included) keeps its familiar
/// `YYYY-MM-DDThh:mm:ssZ` form. A value set with an offset (`+02:00`) reads back as the same
/// instant in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub time::OffsetDateTime);

impl DateTime {
    /// The Unknown Time `0001-01-01T00:00:00Z`.
    pub const UNKNOWN: DateTime = DateTime(time::macros::datetime!(0001-01-01 00:00:00 UTC));

    /// Seconds since the Unix epoch, as a `DateTime`.
    pub fn from_unix(secs: i64) -> Option<DateTime> {
        time::OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .map(DateTime)
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// Whether this is the Unknown Time.
    pub fn is_unknown(self) -> bool {
        self == DateTime::UNKNOWN
    }

    /// Parse an `xsd:dateTime` (TR-069 Annex A.2): `YYYY-MM-DDThh:mm:ss`, optional fractional
    /// seconds, optional zone (`Z` or `±hh:mm`; none means UTC). Surrounding whitespace is
    /// ignored. Returns `None` for anything else.
    pub fn parse(text: &str) -> Option<DateTime> {
        use time::format_description::well_known::Rfc3339;
        let t = text.trim();
        // RFC 3339 requires a zone; xsd:dateTime does not. Lowercase `t`/`z` are RFC 3339 but
        // not xsd, so they are refused.
        if t.contains('t') || t.contains('z') || t.len() > 64 {
            return None;
        }
        let has_zone = t.ends_with('Z') || {
            let tail = t.rsplit('T').next().unwrap_or("");
            tail.contains('+') || tail.contains('-')
        };
        let parsed = if has_zone {
            time::OffsetDateTime::parse(t, &Rfc3339).ok()?
        } else {
            time::OffsetDateTime::parse(&format!("{t}Z"), &Rfc3339).ok()?
        };
        // An offset can move the instant outside the representable years (9999-12-31T23:59:59-05:00);
        // such a value is refused rather than allowed to panic.
        let utc = parsed.checked_to_offset(time::UtcOffset::UTC)?;
        if !(1..=9999).contains(&utc.year()) {
            return None;
        }
        Some(DateTime(utc))
    }

    /// The canonical wire form: UTC with `Z`, fractional seconds with trailing zeros trimmed and
    /// none at all when they are zero, e.g. `2024-05-01T10:00:00Z`,
    /// `1970-01-01T17:11:09.346Z`. `DateTime::parse(&d.to_xsd()) == Some(d)` for every `d`.
    pub fn to_xsd(self) -> String {
        let t = self.0.to_offset(time::UtcOffset::UTC);
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        let nanos = t.nanosecond();
        if nanos != 0 {
            let digits = format!(".{nanos:09}");
            out.push_str(digits.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_xsd())
    }
}

#[cfg(test)]
mod datetime_tests {
    use super::DateTime;

    #[test]
    fn unknown_time_round_trips() {
        assert_eq!(
            DateTime::parse("0001-01-01T00:00:00Z"),
            Some(DateTime::UNKNOWN)
        );
        assert_eq!(DateTime::UNKNOWN.to_xsd(), "0001-01-01T00:00:00Z");
    }

    #[test]
    fn forms() {
        let a = DateTime::parse("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(a.to_xsd(), "2024-05-01T10:00:00Z");
        assert_eq!(DateTime::parse("2024-05-01T10:00:00"), Some(a));
        assert_eq!(DateTime::parse("2024-05-01T12:00:00+02:00"), Some(a));
        assert_eq!(
            DateTime::parse(" 2024-05-01T10:00:00.250Z ")
                .unwrap()
                .to_xsd(),
            "2024-05-01T10:00:00.25Z"
        );
        assert_eq!(
            DateTime::parse("2024-05-01T10:00:00.000Z"),
            Some(a),
            "a zero fraction is the whole second"
        );
        for bad in [
            "",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "2024-05-01t10:00:00z",
            "yesterday",
            "2024-05-01T25:00:00Z",
        ] {
            assert_eq!(DateTime::parse(bad), None, "{bad}");
        }
        // Offsets that leave the representable years are refused, never a panic.
        assert_eq!(DateTime::parse("9999-12-31T23:59:59-05:00"), None);
        assert_eq!(DateTime::parse("0001-01-01T00:00:00+05:00"), None);
        assert!(DateTime::parse("9999-12-31T23:59:59Z").is_some());
    }

    /// GenieACS's default `inform` provision sets this value and compares what it reads back
    /// (issue 10 part 3): the fraction must survive.
    #[test]
    fn fractional_seconds_are_kept() {
        for (set, canonical) in [
            ("1970-01-01T17:11:09.346Z", "1970-01-01T17:11:09.346Z"),
            ("1970-01-01T17:11:09.346000Z", "1970-01-01T17:11:09.346Z"),
            ("1970-01-01T19:11:09.346+02:00", "1970-01-01T17:11:09.346Z"),
            ("1970-01-01T12:11:09.346-05:00", "1970-01-01T17:11:09.346Z"),
            ("1970-01-01T17:11:09.346", "1970-01-01T17:11:09.346Z"),
            ("2024-05-01T10:00:00.000001Z", "2024-05-01T10:00:00.000001Z"),
            (
                "2024-05-01T10:00:00.123456789Z",
                "2024-05-01T10:00:00.123456789Z",
            ),
            // Digits after the ninth are beyond the kept precision and dropped.
            (
                "2024-05-01T10:00:00.1234567891Z",
                "2024-05-01T10:00:00.123456789Z",
            ),
            ("2024-05-01T10:00:00.0Z", "2024-05-01T10:00:00Z"),
            ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999Z"),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ] {
            let d = DateTime::parse(set).unwrap_or_else(|| panic!("{set}"));
            assert_eq!(d.to_xsd(), canonical, "{set}");
            assert_eq!(DateTime::parse(canonical), Some(d), "{canonical}");
        }
        assert!(DateTime::parse("0001-01-01T00:00:00.000Z")
            .unwrap()
            .is_unknown());
        assert_eq!(
            DateTime::parse("1970-01-01T17:11:09.346Z")
                .unwrap()
                .0
                .unix_timestamp_nanos(),
            61_869_346_000_000
        );
        // A fraction without digits, or a dot without a fraction, is not a dateTime.
        assert_eq!(DateTime::parse("2024-05-01T10:00:00.Z"), None);
    }

    mod props {
        use super::DateTime;
        use proptest::prelude::*;

        proptest! {
            /// Any instant from year 1 to 9999 at nanosecond precision reads back exactly,
            /// through its canonical form and through any offset form of it.
            #[test]
            fn canonical_round_trip(
                secs in -62_135_596_800i64..=253_402_300_799i64,
                nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000, (0u32..1000).prop_map(|ms| ms * 1_000_000)],
                offset_min in -(14 * 60i32)..=(14 * 60),
            ) {
                let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap()
                    .replace_nanosecond(nanos).unwrap();
                let d = DateTime(t);
                let text = d.to_xsd();
                prop_assert!(text.ends_with('Z'));
                // Trailing zeros trimmed; no fraction at all for a whole second.
                prop_assert_eq!(text.contains('.'), nanos != 0);
                if nanos != 0 {
                    prop_assert!(!text.ends_with("0Z"), "{}", text);
                }
                prop_assert_eq!(DateTime::parse(&text), Some(d));
                // The same instant written with an offset normalises to the same value.
                let off = time::UtcOffset::from_whole_seconds(offset_min * 60).unwrap();
                if let Some(local) = t.checked_to_offset(off).filter(|l| (1..=9999).contains(&l.year())) {
                    let text = local
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap();
                    prop_assert_eq!(DateTime::parse(&text), Some(d), "{}", text);
                }
            }
        }
    }
}

/// A typed parameter value.
///
/// `IPAddress` and `MACAddress` values are [`Value::String`]s (their wire type is `xsd:string`);
/// their syntax is checked by [`ParamType`]. Secrets are never special here: masking is the
/// store's job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// `xsd:string`
    String(String),
    /// `xsd:int`
    Int(i32),
    /// `xsd:unsignedInt`
    UnsignedInt(u32),
    /// `xsd:long`
    Long(i64),
    /// `xsd:unsignedLong`
    UnsignedLong(u64),
    /// `xsd:boolean`
    Boolean(bool),
    /// `xsd:dateTime`
    DateTime(DateTime),
    /// `xsd:base64` (decoded bytes)
    Base64(Vec<u8>),
    /// `xsd:hexBinary` (decoded bytes)
    HexBinary(Vec<u8>),
}

impl Value {
    /// The wire type of this value.
    pub fn xsd_type(&self) -> XsdType {
        match self {
            Value::String(_) => XsdType::String,
            Value::Int(_) => XsdType::Int,
            Value::UnsignedInt(_) => XsdType::UnsignedInt,
            Value::Long(_) => XsdType::Long,
            Value::UnsignedLong(_) => XsdType::UnsignedLong,
            Value::Boolean(_) => XsdType::Boolean,
            Value::DateTime(_) => XsdType::DateTime,
            Value::Base64(_) => XsdType::Base64,
            Value::HexBinary(_) => XsdType::HexBinary,
        }
    }
}

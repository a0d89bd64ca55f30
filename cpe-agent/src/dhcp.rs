//! DHCP vendor-specific option 43 for CWMP (TR-069 §3.1, vendor class `dslforum.org`).
//!
//! The option payload is a sequence of encapsulated sub-options, each a 1-byte code, a 1-byte
//! length and that many bytes of value (RFC 2132 §8.4). TR-069 assigns:
//!
//! | code | meaning | OCMS item |
//! |---|---|---|
//! | 1 | URL of the ACS | `acs-server-address` |
//! | 2 | ProvisioningCode | (`Device.DeviceInfo.ProvisioningCode`) |
//! | 3 | CWMPRetryMinimumWaitInterval | `acs-retry-min-wait-interval` |
//! | 4 | CWMPRetryIntervalMultiplier | `acs-retry-interval-multiplier` |
//!
//! Encoding decision: every sub-option value is text (the URL and ProvisioningCode are strings;
//! 3 and 4 are the decimal digits of the number, the way DHCP servers are configured for them and
//! the way icwmp's DHCP hook reads them). A binary integer form is not accepted: a 2-byte value
//! `0x00 0x05` would otherwise be ambiguous with the text `"\0\x05"`, and a refusal with a clear
//! message is better than a guess. Pad (0) is skipped and End (255) stops parsing, as in the
//! main options field. Unknown sub-options (5–255) are ignored, as RFC 2132 asks of clients.
//! A sub-option given twice is refused: the payload is then ambiguous.

use std::fmt;

/// The CWMP settings carried by one option 43 payload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Option43 {
    /// Sub-option 1: the ACS URL.
    pub acs_url: Option<String>,
    /// Sub-option 2: the ProvisioningCode.
    pub provisioning_code: Option<String>,
    /// Sub-option 3: CWMPRetryMinimumWaitInterval, seconds, 1–65535.
    pub retry_min_wait_interval: Option<u32>,
    /// Sub-option 4: CWMPRetryIntervalMultiplier, 1000–65535.
    pub retry_interval_multiplier: Option<u32>,
}

/// Why an option 43 payload was refused. Nothing is applied when parsing fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Option43Error {
    /// The hex text has an odd number of digits or a non-hex character.
    BadHex(String),
    /// The payload is empty or holds no CWMP sub-option.
    NoCwmpSubOptions,
    /// A sub-option's length runs past the end of the payload.
    Truncated {
        /// Sub-option code.
        code: u8,
        /// Byte offset of the sub-option in the payload.
        offset: usize,
    },
    /// A CWMP sub-option appears twice.
    Duplicate(u8),
    /// A sub-option's value is not valid for it.
    BadValue {
        /// Sub-option code.
        code: u8,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for Option43Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Option43Error::BadHex(m) => write!(f, "option 43 is not valid hex: {m}"),
            Option43Error::NoCwmpSubOptions => {
                write!(
                    f,
                    "option 43 carries no CWMP sub-option (1 ACS URL, 2 ProvisioningCode, 3, 4)"
                )
            }
            Option43Error::Truncated { code, offset } => {
                write!(
                    f,
                    "option 43 sub-option {code} at byte {offset} runs past the end of the payload"
                )
            }
            Option43Error::Duplicate(c) => {
                write!(f, "option 43 sub-option {c} appears more than once")
            }
            Option43Error::BadValue { code, reason } => {
                write!(f, "option 43 sub-option {code}: {reason}")
            }
        }
    }
}

impl std::error::Error for Option43Error {}

/// The longest payload accepted: an option's length byte allows 255, long options (RFC 3396)
/// concatenate several; 4 KiB is far above any real ACS configuration.
pub const MAX_PAYLOAD: usize = 4096;

/// Parse the payload given as hex digits (whitespace and `:` separators allowed).
pub fn parse_hex(hex_text: &str) -> Result<Option43, Option43Error> {
    let digits: String = hex_text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if digits.len() > MAX_PAYLOAD * 2 {
        return Err(Option43Error::BadHex(format!(
            "longer than {MAX_PAYLOAD} bytes"
        )));
    }
    let bytes = hex::decode(&digits).map_err(|e| Option43Error::BadHex(e.to_string()))?;
    parse(&bytes)
}

/// Parse the raw payload bytes.
pub fn parse(payload: &[u8]) -> Result<Option43, Option43Error> {
    if payload.len() > MAX_PAYLOAD {
        return Err(Option43Error::BadHex(format!(
            "longer than {MAX_PAYLOAD} bytes"
        )));
    }
    let mut out = Option43::default();
    let mut seen = [false; 5];
    let mut i = 0;
    while i < payload.len() {
        let code = payload[i];
        match code {
            0 => {
                i += 1;
                continue;
            }
            255 => break,
            _ => {}
        }
        let offset = i;
        let len = *payload
            .get(i + 1)
            .ok_or(Option43Error::Truncated { code, offset })? as usize;
        let value = payload
            .get(i + 2..i + 2 + len)
            .ok_or(Option43Error::Truncated { code, offset })?;
        i += 2 + len;
        if !(1..=4).contains(&code) {
            continue;
        }
        if std::mem::replace(&mut seen[code as usize], true) {
            return Err(Option43Error::Duplicate(code));
        }
        let text = std::str::from_utf8(value).map_err(|_| Option43Error::BadValue {
            code,
            reason: "not UTF-8 text".into(),
        })?;
        if text.chars().any(|c| c.is_control()) {
            return Err(Option43Error::BadValue {
                code,
                reason: "contains control characters".into(),
            });
        }
        match code {
            1 => {
                if !(text.starts_with("http://") || text.starts_with("https://"))
                    || text.len() > 256
                {
                    return Err(Option43Error::BadValue {
                        code,
                        reason: format!("ACS URL must be an http or https URL of at most 256 characters, got {text:?}"),
                    });
                }
                out.acs_url = Some(text.to_owned());
            }
            2 => {
                if text.chars().count() > 64 {
                    return Err(Option43Error::BadValue {
                        code,
                        reason: "ProvisioningCode longer than 64 characters".into(),
                    });
                }
                out.provisioning_code = Some(text.to_owned());
            }
            3 => out.retry_min_wait_interval = Some(decimal(code, text, 1, 65535)?),
            4 => out.retry_interval_multiplier = Some(decimal(code, text, 1000, 65535)?),
            _ => {}
        }
    }
    if out == Option43::default() {
        return Err(Option43Error::NoCwmpSubOptions);
    }
    Ok(out)
}

fn decimal(code: u8, text: &str, min: u32, max: u32) -> Result<u32, Option43Error> {
    let bad = || Option43Error::BadValue {
        code,
        reason: format!("expected a decimal number {min}–{max}, got {text:?}"),
    };
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u32 = text.parse().map_err(|_| bad())?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(bad())
    }
}

/// Encode settings as an option 43 payload (used by tests and by anyone scripting a DHCP server).
pub fn encode(o: &Option43) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |code: u8, v: &str| {
        let b = v.as_bytes();
        let len = b.len().min(255);
        out.push(code);
        out.push(len as u8);
        out.extend_from_slice(&b[..len]);
    };
    if let Some(v) = &o.acs_url {
        put(1, v);
    }
    if let Some(v) = &o.provisioning_code {
        put(2, v);
    }
    if let Some(v) = o.retry_min_wait_interval {
        put(3, &v.to_string());
    }
    if let Some(v) = o.retry_interval_multiplier {
        put(4, &v.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_of(o: &Option43) -> String {
        hex::encode(encode(o))
    }

    #[test]
    fn all_four_sub_options() {
        let o = Option43 {
            acs_url: Some("http://acs.example:7547/".into()),
            provisioning_code: Some("CP600.lab".into()),
            retry_min_wait_interval: Some(10),
            retry_interval_multiplier: Some(3000),
        };
        assert_eq!(parse_hex(&hex_of(&o)).unwrap(), o);
        // Upper case, spaces and colons are fine.
        assert_eq!(parse_hex(&hex_of(&o).to_uppercase()).unwrap(), o);
    }

    #[test]
    fn pad_end_and_unknown_sub_options() {
        let mut p = vec![0, 0, 7, 2, 0xAA, 0xBB];
        p.extend(encode(&Option43 {
            acs_url: Some("https://a/".into()),
            ..Default::default()
        }));
        p.extend([255, 1, 200]);
        assert_eq!(parse(&p).unwrap().acs_url.as_deref(), Some("https://a/"));
    }

    #[test]
    fn refusals() {
        assert!(matches!(parse_hex("0"), Err(Option43Error::BadHex(_))));
        assert!(matches!(parse_hex("zz"), Err(Option43Error::BadHex(_))));
        assert_eq!(parse(&[]), Err(Option43Error::NoCwmpSubOptions));
        assert_eq!(parse(&[7, 1, 1]), Err(Option43Error::NoCwmpSubOptions));
        assert_eq!(
            parse(&[1]),
            Err(Option43Error::Truncated { code: 1, offset: 0 })
        );
        assert_eq!(
            parse(&[1, 5, b'h']),
            Err(Option43Error::Truncated { code: 1, offset: 0 })
        );
        assert!(matches!(
            parse(&[1, 3, b'f', b't', b'p']),
            Err(Option43Error::BadValue { code: 1, .. })
        ));
        assert!(matches!(
            parse(&[3, 1, b'0']),
            Err(Option43Error::BadValue { code: 3, .. })
        ));
        assert!(matches!(
            parse(&[3, 5, b'6', b'5', b'5', b'3', b'6']),
            Err(Option43Error::BadValue { code: 3, .. })
        ));
        assert!(matches!(
            parse(&[4, 3, b'9', b'9', b'9']),
            Err(Option43Error::BadValue { code: 4, .. })
        ));
        assert!(matches!(
            parse(&[4, 2, 0x0B, 0xB8]),
            Err(Option43Error::BadValue { code: 4, .. })
        ));
        assert!(matches!(
            parse(&[2, 2, 0xff, 0xfe]),
            Err(Option43Error::BadValue { code: 2, .. })
        ));
        assert_eq!(
            parse(&[3, 1, b'5', 3, 1, b'6']),
            Err(Option43Error::Duplicate(3))
        );
        assert!(matches!(
            parse(&vec![2; MAX_PAYLOAD + 1]),
            Err(Option43Error::BadHex(_))
        ));
    }

    #[test]
    fn never_panics_on_any_short_payload() {
        // Exhaustive over every 1- and 2-byte payload and a sample of 3-byte ones.
        for a in 0..=255u8 {
            let _ = parse(&[a]);
            for b in 0..=255u8 {
                let _ = parse(&[a, b]);
                let _ = parse(&[a, b, b'7']);
            }
        }
    }
}

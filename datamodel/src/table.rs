//! The TOML table's rows as read by serde, before they become `cwmp_model` definitions.
//!
//! Every row kind refuses unknown keys. Rows are deserialized one at a time so that an error
//! names the row (its kind, position and path or item name), not just a line number.

use serde::Deserialize;

/// Where a row comes from (see the crate README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A row of the product page's TR-069 tables or item lists, with its standard name.
    Seed,
    /// A standard Device:1 / VoiceService:1 node the seed lacks but an ACS expects.
    Addition,
    /// A vendor extension (`X_UNIFY_…`), as the seed lists it.
    Vendor,
}

impl Origin {
    /// The keyword used in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Seed => "seed",
            Origin::Addition => "addition",
            Origin::Vendor => "vendor",
        }
    }
}

/// The whole file: `format`, then arrays of rows kept as raw tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub format: u32,
    #[serde(default)]
    pub object: Vec<toml::Table>,
    #[serde(default)]
    pub param: Vec<toml::Table>,
    #[serde(default)]
    pub item: Vec<toml::Table>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawObjectKind {
    Single,
    Table,
    Instance,
}

/// One `[[object]]` row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawObject {
    pub path: String,
    pub kind: RawObjectKind,
    pub origin: Origin,
    pub addable: Option<bool>,
    pub max_instances: Option<u32>,
    pub deletable: Option<bool>,
    pub deviation: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum RawAccess {
    #[serde(rename = "R")]
    ReadOnly,
    #[serde(rename = "RW")]
    ReadWrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawSource {
    Item,
    Constant,
    Live,
    Internal,
}

/// The `type` key: CWMP primitive types and the TR-106 named types the phone uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum RawType {
    #[serde(rename = "string")]
    String,
    #[serde(rename = "int")]
    Int,
    #[serde(rename = "unsignedInt")]
    UnsignedInt,
    #[serde(rename = "long")]
    Long,
    #[serde(rename = "unsignedLong")]
    UnsignedLong,
    #[serde(rename = "boolean")]
    Boolean,
    #[serde(rename = "dateTime")]
    DateTime,
    #[serde(rename = "base64")]
    Base64,
    #[serde(rename = "hexBinary")]
    HexBinary,
    #[serde(rename = "IPAddress")]
    IpAddress,
    #[serde(rename = "MACAddress")]
    MacAddress,
    #[serde(rename = "URL")]
    Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub(crate) enum RawActiveNotify {
    #[default]
    #[serde(rename = "normal")]
    Normal,
    #[serde(rename = "canDeny")]
    CanDeny,
    #[serde(rename = "forceEnabled")]
    ForceEnabled,
    #[serde(rename = "forceDefaultEnabled")]
    ForceDefaultEnabled,
}

/// One `[[param]]` row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParam {
    pub path: String,
    pub origin: Origin,
    pub access: RawAccess,
    #[serde(rename = "type")]
    pub ty: RawType,
    pub source: RawSource,
    pub item: Option<String>,
    pub value: Option<String>,
    pub derived_from: Option<String>,
    pub range: Option<String>,
    pub values: Option<Vec<String>>,
    pub max_length: Option<usize>,
    #[serde(default)]
    pub list: bool,
    pub default: Option<String>,
    #[serde(default)]
    pub notification: u8,
    #[serde(default)]
    pub active_notify: RawActiveNotify,
    #[serde(default)]
    pub forced_inform: bool,
    #[serde(default)]
    pub secret: bool,
    pub seed_row: Option<String>,
    pub seed_deviation: Option<String>,
    pub deviation: Option<String>,
    pub note: Option<String>,
}

/// The `format` key of an `[[item]]` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum RawItemFormat {
    #[serde(rename = "pem-certificates")]
    PemCertificates,
    #[serde(rename = "pem-private-key")]
    PemPrivateKey,
    #[serde(rename = "https-url")]
    HttpsUrl,
    #[serde(rename = "provisioning-url")]
    ProvisioningUrl,
    #[serde(rename = "dhcp-option")]
    DhcpOption,
    #[serde(rename = "host-port")]
    HostPort,
    #[serde(rename = "aes-256-key")]
    Aes256Key,
}

/// One `[[item]]` row (an OCMS item with no TR-069 name).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawItem {
    pub name: String,
    pub origin: Origin,
    #[serde(rename = "type")]
    pub ty: RawType,
    pub max_length: Option<usize>,
    pub range: Option<String>,
    pub values: Option<Vec<String>>,
    pub format: Option<RawItemFormat>,
    pub default: Option<String>,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub read_only: bool,
    pub note: Option<String>,
}

/// Parse the seed's range syntax `min:max` (either side may be empty, e.g. `-1:`).
pub(crate) fn parse_range(text: &str) -> Result<(Option<i128>, Option<i128>), String> {
    let (lo, hi) = text
        .split_once(':')
        .ok_or_else(|| format!("range `{text}` is not of the form min:max"))?;
    let bound = |s: &str| -> Result<Option<i128>, String> {
        let s = s.trim();
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse::<i128>()
                .map(Some)
                .map_err(|_| format!("range bound `{s}` is not an integer"))
        }
    };
    let (lo, hi) = (bound(lo)?, bound(hi)?);
    if lo.is_none() && hi.is_none() {
        return Err(format!("range `{text}` has no bound"));
    }
    if let (Some(a), Some(b)) = (lo, hi) {
        if a > b {
            return Err(format!("range `{text}` has min above max"));
        }
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0:99999"), Ok((Some(0), Some(99999))));
        assert_eq!(parse_range("-1:"), Ok((Some(-1), None)));
        assert_eq!(parse_range(":5"), Ok((None, Some(5))));
        for bad in ["", ":", "5", "a:b", "5:1", "1:2:3"] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
    }
}

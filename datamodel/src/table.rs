//! The TOML table's rows as read by serde, before they become `cwmp_model` definitions. The
//! generic keys' types and their meaning are `cwmp_model::table`'s (the library's loader);
//! this file adds the Desk Phone's own keys (`origin`, `seed_row`, `[[item]]` rows …).
//!
//! Every row kind refuses unknown keys. Rows are deserialized one at a time so that an error
//! names the row (its kind, position and path or item name), not just a line number.

use cwmp_model::table::TableType as RawType;
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

/// The Desk Phone's own keys of an `[[object]]` or `[[param]]` row, read with the product's
/// rules (`origin` required and one of three). The generic keys (and the refusal of unknown
/// ones) are `cwmp_model::table::ObjectRow` / `ParamRow`'s.
#[derive(Debug, Deserialize)]
pub(crate) struct RawNotes {
    pub origin: Origin,
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

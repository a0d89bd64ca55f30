//! [`DeskPhoneModel`]: the table loaded into a `cwmp_model::Schema` plus the OCMS item catalogue.

use crate::error::Error;
use crate::table::{Origin, RawItem, RawItemFormat, RawNotes};
use cwmp_model::table::{param_type, row, ObjectRow, ParamRow, TableFile, TableType as RawType};
use cwmp_model::{
    BaseType, Fault, FaultCode, ItemBackend, ParamDef, ParamType, Schema, SchemaError, Source,
};
use std::collections::HashMap;
use std::fmt;

/// The Desk Phone CP table shipped with the crate (`datamodel/deskphone.toml`).
pub const BUILTIN_TABLE: &str = include_str!("../deskphone.toml");

/// The table format version this loader reads.
pub const TABLE_FORMAT: u32 = cwmp_model::table::TABLE_FORMAT;

/// Extra syntax an item's value must have on top of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemFormat {
    /// Only the type's rules.
    Plain,
    /// Empty, or one or more PEM `CERTIFICATE` blocks (a CA bundle or a certificate chain).
    PemCertificates,
    /// Empty, or exactly one PEM block whose label ends in `PRIVATE KEY`.
    PemPrivateKey,
    /// Empty, or an absolute `https://` URL with a host (parsed by `cwmp_model::Url`).
    HttpsUrl,
    /// Empty, or an auto-provisioning URL `proto://[user:password@]host[:port][/path/name]`
    /// with `proto` one of `tftp`, `ftp`, `http`, `https` (parsed by `cwmp_model::Url`; `$mac` and
    /// `$input` may appear in the path).
    ProvisioningUrl,
    /// The DHCP option auto-provisioning reads: `66`, `43`, `128`…`254` or `off`.
    DhcpOption,
    /// `host:port` (an IPv4 address or a host name, a port 1–65535).
    HostPort,
    /// Empty, or an AES-256 key as 64 hex digits.
    Aes256Key,
}

/// One OCMS configuration item: the key of the phone's configuration (the daemon's
/// `admin set ITEM VALUE`, its configuration file's `[items]`, vendor configuration files).
///
/// `Debug` redacts the default of a secret item.
#[derive(Clone, PartialEq, Eq)]
pub struct ItemDef {
    name: String,
    ty: ParamType,
    default: String,
    secret: bool,
    read_only: bool,
    format: ItemFormat,
    origin: Origin,
    params: Vec<String>,
    derived: Vec<String>,
    note: Option<String>,
}

impl ItemDef {
    /// The item name, e.g. `acs-server-address`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its type and constraints: those of the TR-069 parameter it backs, or of its `[[item]]` row.
    pub fn param_type(&self) -> &ParamType {
        &self.ty
    }

    /// The factory default (lexical form).
    pub fn default(&self) -> &str {
        &self.default
    }

    /// Whether the value is a secret (password, private key).
    pub fn is_secret(&self) -> bool {
        self.secret
    }

    /// Whether only the phone itself writes the item (a status item with no TR-069 name, such
    /// as the version of the last applied provisioning file).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Extra syntax rules for the value.
    pub fn format(&self) -> ItemFormat {
        self.format
    }

    /// Where the row comes from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The TR-069 parameters stored in this item (empty for items with no TR-069 name), in
    /// data-model order.
    pub fn params(&self) -> &[String] {
        &self.params
    }

    /// The `[[item]]` row's free text (`None` for parameter-backed items).
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Live parameters computed from this item (`DeviceInfo.SerialNumber` from `mac-address`).
    pub fn derived_params(&self) -> &[String] {
        &self.derived
    }
}

impl fmt::Debug for ItemDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default: &dyn fmt::Debug = if self.secret {
            &cwmp_model::REDACTED
        } else {
            &self.default
        };
        f.debug_struct("ItemDef")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("default", default)
            .field("secret", &self.secret)
            .field("format", &self.format)
            .field("origin", &self.origin)
            .field("params", &self.params)
            .field("derived", &self.derived)
            .finish()
    }
}

/// What the table says about a parameter or object beyond its schema definition: where the
/// row comes from and how it departs from the Broadband Forum definition or the seed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RowInfo {
    /// Parameter name or object path.
    pub path: String,
    /// `true` for an object row.
    pub is_object: bool,
    /// Where the row comes from.
    pub origin: Origin,
    /// The seed's table row, verbatim (seed and vendor parameter rows).
    pub seed_row: Option<String>,
    /// How and why the row departs from the BBF definition.
    pub deviation: Option<String>,
    /// How and why the row departs from the seed's table.
    pub seed_deviation: Option<String>,
    /// A TR-106 comma-separated list.
    pub list: bool,
    /// The item a live parameter is computed from.
    pub derived_from: Option<String>,
    /// Free text.
    pub note: Option<String>,
}

/// The Desk Phone CP data model: the `cwmp_model::Schema` and the OCMS item catalogue, loaded
/// from the TOML table (format in the crate README).
#[derive(Debug, Clone)]
pub struct DeskPhoneModel {
    schema: Schema,
    rows: Vec<RowInfo>,
    row_index: HashMap<String, usize>,
    items: Vec<ItemDef>,
    item_index: HashMap<String, usize>,
}

fn row_err(kind: &str, index: usize, name: Option<&str>, message: impl Into<String>) -> Error {
    cwmp_model::table::row_error(kind, index, name, message).into()
}

/// OCMS item names: lower-case letters, digits and `-`, starting with a letter. They never
/// contain `:`, so they cannot collide with the store's reserved `cwmp:` keys.
fn valid_item_name(name: &str) -> bool {
    name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An item as first declared, with the row it came from (for error messages).
struct ItemDraft {
    def: ItemDef,
    first_row: String,
}

impl DeskPhoneModel {
    /// The model of the shipped table ([`BUILTIN_TABLE`]).
    ///
    /// # Panics
    ///
    /// Never in a released crate: the embedded table is fixed at compile time and loading it
    /// is covered by the crate's tests.
    pub fn builtin() -> DeskPhoneModel {
        match DeskPhoneModel::from_toml(BUILTIN_TABLE) {
            Ok(m) => m,
            Err(e) => panic!("the embedded deskphone.toml is invalid: {e}"),
        }
    }

    /// Load a table (format in the crate README). Unknown keys, missing keys, values that do
    /// not fit their type, inconsistent item declarations and schema errors are refused with a
    /// message naming the row.
    pub fn from_toml(text: &str) -> Result<DeskPhoneModel, Error> {
        let file = TableFile::parse(text)?;
        let mut rows = Vec::new();
        let mut objects = Vec::new();
        for (i, t) in file.object.iter().enumerate() {
            let o: ObjectRow = row("object", i, "path", t)?;
            let x: RawNotes = row("object", i, "path", t)?;
            let err = |m: &str| row_err("object", i, Some(&o.path), m);
            let def = o.to_def().map_err(err)?;
            check_origin(x.origin, &o.path, None).map_err(|m| err(&m))?;
            check_text("deviation", x.deviation.as_deref()).map_err(|m| err(&m))?;
            rows.push(RowInfo {
                path: o.path.clone(),
                is_object: true,
                origin: x.origin,
                seed_row: None,
                deviation: x.deviation,
                seed_deviation: None,
                list: false,
                derived_from: None,
                note: x.note,
            });
            objects.push(def);
        }

        let mut params = Vec::new();
        let mut drafts: Vec<ItemDraft> = Vec::new();
        let mut draft_index: HashMap<String, usize> = HashMap::new();
        let mut derived: Vec<(usize, String, String)> = Vec::new();
        for (i, t) in file.param.iter().enumerate() {
            let p: ParamRow = row("param", i, "path", t)?;
            let x: RawNotes = row("param", i, "path", t)?;
            let err = |m: &str| row_err("param", i, Some(&p.path), m);
            // The generic rules (types, sources, defaults, notification) are the library's.
            let def = p.to_def().map_err(|m| err(&m))?;
            // The Desk Phone's own rules: origins, the seed's rows, OCMS item names.
            check_origin(x.origin, &p.path, x.seed_row.as_deref()).map_err(|m| err(&m))?;
            check_seed_row(x.origin, x.seed_row.as_deref()).map_err(|m| err(&m))?;
            for (key, text) in [
                ("deviation", &x.deviation),
                ("seed_deviation", &x.seed_deviation),
                ("seed_row", &x.seed_row),
            ] {
                check_text(key, text.as_deref()).map_err(|m| err(&m))?;
            }
            if let Source::Item(name) = &def.source {
                if !valid_item_name(name) {
                    return Err(err(&format!(
                        "item name `{name}` must be lower-case letters, digits and '-'"
                    )));
                }
            }
            let (ty, source, default) = (def.ty.clone(), def.source.clone(), def.default.clone());
            if let Source::Item(name) = &source {
                let this_row = format!("param #{} `{}`", i + 1, p.path);
                match draft_index.get(name) {
                    Some(&k) => {
                        let d = &mut drafts[k];
                        if d.def.ty != ty
                            || d.def.default != default.clone().unwrap_or_default()
                            || d.def.secret != p.secret
                        {
                            return Err(err(&format!(
                                "item `{name}` is also stored by {}, with a different type, default or secret flag",
                                d.first_row
                            )));
                        }
                        d.def.params.push(p.path.clone());
                    }
                    None => {
                        draft_index.insert(name.clone(), drafts.len());
                        drafts.push(ItemDraft {
                            def: ItemDef {
                                name: name.clone(),
                                ty: ty.clone(),
                                default: default.clone().unwrap_or_default(),
                                secret: p.secret,
                                read_only: false,
                                format: ItemFormat::Plain,
                                origin: x.origin,
                                params: vec![p.path.clone()],
                                derived: Vec::new(),
                                note: None,
                            },
                            first_row: this_row,
                        });
                    }
                }
            }
            if let Some(from) = &p.derived_from {
                derived.push((i, p.path.clone(), from.clone()));
            }
            rows.push(RowInfo {
                path: p.path.clone(),
                is_object: false,
                origin: x.origin,
                seed_row: x.seed_row,
                deviation: x.deviation,
                seed_deviation: x.seed_deviation,
                list: p.list,
                derived_from: p.derived_from,
                note: x.note,
            });
            params.push(def);
        }

        for (i, t) in file.item.iter().enumerate() {
            let it: RawItem = row("item", i, "name", t)?;
            let err = |m: &str| row_err("item", i, Some(&it.name), m);
            if !valid_item_name(&it.name) {
                return Err(err("item names are lower-case letters, digits and '-'"));
            }
            if let Some(&k) = draft_index.get(&it.name) {
                return Err(err(&format!(
                    "already declared as the item of {}; [[item]] rows are for items with no TR-069 name",
                    drafts[k].first_row
                )));
            }
            if it.secret && it.ty != RawType::String {
                return Err(err("a secret must be a string"));
            }
            let ty = param_type(
                it.ty,
                it.range.as_deref(),
                it.values.as_deref(),
                it.max_length,
            )
            .map_err(|m| err(&m))?;
            let format = match it.format {
                None => ItemFormat::Plain,
                Some(f) => {
                    if it.ty != RawType::String {
                        return Err(err("`format` applies only to string items"));
                    }
                    match f {
                        RawItemFormat::PemCertificates => ItemFormat::PemCertificates,
                        RawItemFormat::PemPrivateKey => ItemFormat::PemPrivateKey,
                        RawItemFormat::HttpsUrl => ItemFormat::HttpsUrl,
                        RawItemFormat::ProvisioningUrl => ItemFormat::ProvisioningUrl,
                        RawItemFormat::DhcpOption => ItemFormat::DhcpOption,
                        RawItemFormat::HostPort => ItemFormat::HostPort,
                        RawItemFormat::Aes256Key => ItemFormat::Aes256Key,
                    }
                }
            };
            let default = it
                .default
                .clone()
                .ok_or_else(|| err("a factory `default` is required"))?;
            if let Err(e) = ty.parse_with_reason(&default, None) {
                return Err(err(&format!("default refused: {}", e.reason)));
            }
            if let Err(m) = check_format(format, &default) {
                return Err(err(&format!("default refused: {m}")));
            }
            draft_index.insert(it.name.clone(), drafts.len());
            drafts.push(ItemDraft {
                def: ItemDef {
                    name: it.name.clone(),
                    ty,
                    default,
                    secret: it.secret,
                    read_only: it.read_only,
                    format,
                    origin: it.origin,
                    params: Vec::new(),
                    derived: Vec::new(),
                    note: it.note.clone(),
                },
                first_row: format!("item #{} `{}`", i + 1, it.name),
            });
        }

        for (i, path, from) in derived {
            match draft_index.get(&from) {
                // The one derivation there is: a serial number from a MAC address.
                Some(&k) if drafts[k].def.ty.base != BaseType::MacAddress => {
                    return Err(row_err(
                        "param",
                        i,
                        Some(&path),
                        format!("derived_from names `{from}`, which is not a MACAddress item"),
                    ))
                }
                Some(&k) => drafts[k].def.derived.push(path),
                None => {
                    return Err(row_err(
                        "param",
                        i,
                        Some(&path),
                        format!("derived_from names `{from}`, which no row declares"),
                    ))
                }
            }
        }

        let mut row_index = HashMap::with_capacity(rows.len());
        for (k, r) in rows.iter().enumerate() {
            if row_index.insert(r.path.clone(), k).is_some() {
                return Err(SchemaError::Duplicate(r.path.clone()).into());
            }
        }
        let schema = Schema::new(params, objects)?;
        let items: Vec<ItemDef> = drafts.into_iter().map(|d| d.def).collect();
        let item_index = items
            .iter()
            .enumerate()
            .map(|(k, it)| (it.name.clone(), k))
            .collect();
        Ok(DeskPhoneModel {
            schema,
            rows,
            row_index,
            items,
            item_index,
        })
    }

    /// The schema a `SchemaStore` is built from.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Every item, in table order (parameter-backed items first, then `[[item]]` rows).
    pub fn items(&self) -> &[ItemDef] {
        &self.items
    }

    /// One item by name.
    pub fn item(&self, name: &str) -> Option<&ItemDef> {
        self.item_index.get(name).map(|&k| &self.items[k])
    }

    /// Whether the phone's local management (`cpe-agent admin set`, DHCP, Cloud Deployment,
    /// TR-064) may change this item. Decision: an item whose every TR-069 parameter is
    /// read-only for the ACS is an identity or status item (`device-type`, `mac-address`,
    /// `standard-software-version`, `acs-request-address`, the LAN addresses): only the
    /// configuration file's factory values and the phone itself (a firmware install, the
    /// network) set it; changing it locally would make the ACS see another device. Items with
    /// no TR-069 name (certificates, Cloud Deployment) and items the ACS may write are
    /// locally writable.
    pub fn is_locally_writable(&self, name: &str) -> bool {
        let Some(item) = self.item(name) else {
            return false;
        };
        (item.params().is_empty() && !item.read_only)
            || item.params().iter().any(|p| {
                self.schema
                    .param(p)
                    .is_some_and(|d| d.access == cwmp_model::Access::ReadWrite)
            })
    }

    /// The (first, in data-model order) TR-069 parameter stored in an item; `None` for unknown
    /// items and items with no TR-069 name. [`ItemDef::params`] lists them all.
    pub fn param_for_item(&self, item: &str) -> Option<&ParamDef> {
        self.item(item)
            .and_then(|it| it.params.first())
            .and_then(|p| self.schema.param(p))
    }

    /// The item a TR-069 parameter is stored in (`None` for constant, live and internal
    /// parameters and for unknown names).
    pub fn item_for_param(&self, param: &str) -> Option<&ItemDef> {
        match &self.schema.param(param)?.source {
            Source::Item(name) => self.item(name),
            _ => None,
        }
    }

    /// The table's extra facts about a parameter or object (origin, deviations, seed row).
    pub fn row_info(&self, path: &str) -> Option<&RowInfo> {
        self.row_index.get(path).map(|&k| &self.rows[k])
    }

    /// Every row's extra facts, objects first, then parameters, in table order.
    pub fn rows(&self) -> &[RowInfo] {
        &self.rows
    }

    /// An item's current value in `backend`: the stored value, else the factory default.
    /// `None` for an unknown item. Secrets included: this is for the agent's own use (TLS
    /// client key, SIP password), never for an answer to the ACS.
    pub fn item_value(&self, backend: &dyn ItemBackend, name: &str) -> Option<String> {
        let item = self.item(name)?;
        Some(backend.get(name).unwrap_or_else(|| item.default.clone()))
    }

    /// This model with the device's own factory defaults: each `(item, value)` (validated with
    /// [`validate_item`](Self::validate_item), stored canonically) becomes the item's default
    /// and the default of every parameter it backs.
    ///
    /// The daemon's configuration file `[items]` are the phone's factory defaults. Building the
    /// store from this model means that after a FactoryReset (which removes the stored items)
    /// the phone reads those values at once: there is no window in which a crash could leave
    /// the phone on the table's bare defaults (no ACS URL) before the items are written again.
    ///
    /// # Errors
    /// The first item that is unknown or invalid, with its fault.
    pub fn with_factory_defaults(
        &self,
        items: &[(String, String)],
    ) -> Result<DeskPhoneModel, Fault> {
        let mut model = self.clone();
        let mut params: Vec<ParamDef> = self.schema.params().to_vec();
        for (name, value) in items {
            let canonical = self.validate_item(name, value)?;
            let Some(&i) = self.item_index.get(name) else {
                continue; // validate_item refused unknown names already
            };
            for p in &model.items[i].params {
                if let Some(def) = params.iter_mut().find(|d| &d.name == p) {
                    def.default = Some(canonical.clone());
                }
            }
            model.items[i].default = canonical;
        }
        model.schema = Schema::new(params, self.schema.objects().to_vec()).map_err(|e| {
            Fault::with_message(FaultCode::InternalError, format!("factory defaults: {e}"))
        })?;
        Ok(model)
    }

    /// Every item's factory default, as a batch a backend can commit.
    pub fn factory_items(&self) -> Vec<(String, String)> {
        self.items
            .iter()
            .map(|it| (it.name.clone(), it.default.clone()))
            .collect()
    }

    /// Validate a value for an item exactly as a CWMP SetParameterValues (without `xsi:type`)
    /// validates it for the parameter the item backs (TR-069 Annex A.3.2.1, Annex A.2), plus the item's
    /// [`ItemFormat`]. Returns the canonical lexical form to store (`1` → `true` for a
    /// boolean, `007` → `7` for a number).
    ///
    /// Faults: 9005 for an unknown item, 9006 for a value that is not of the item's type,
    /// 9007 for one that breaks a constraint. Fault strings name the item, never the value.
    pub fn validate_item(&self, name: &str, value: &str) -> Result<String, Fault> {
        let item = self.item(name).ok_or_else(|| {
            Fault::with_message(
                FaultCode::InvalidParameterName,
                format!("unknown configuration item `{name}`"),
            )
        })?;
        let parsed = item
            .ty
            .parse_with_reason(value, None)
            .map_err(|e| Fault::with_message(e.code, format!("item `{name}`: {}", e.reason)))?;
        // A live parameter is derived from this item (SerialNumber from mac-address): an
        // empty MAC, which the MACAddress type allows, would leave the phone without one.
        if !item.derived.is_empty() && crate::live::serial_number_from_mac(value).is_none() {
            return Err(Fault::with_message(
                FaultCode::InvalidParameterValue,
                format!(
                    "item `{name}`: {} is derived from it, so it must be a MAC address",
                    item.derived.join(", ")
                ),
            ));
        }
        check_format(item.format, value).map_err(|m| {
            Fault::with_message(
                FaultCode::InvalidParameterValue,
                format!("item `{name}`: {m}"),
            )
        })?;
        Ok(parsed.to_lexical())
    }
}

/// `vendor` rows and only they carry an `X_` name segment; `seed` and `vendor` parameter rows
/// quote the seed.
fn check_origin(origin: Origin, path: &str, seed_row: Option<&str>) -> Result<(), String> {
    let vendor_name = path.split('.').any(|s| s.starts_with("X_"));
    match origin {
        Origin::Vendor if !vendor_name => {
            Err("origin = \"vendor\" is for X_ vendor extensions".into())
        }
        Origin::Seed | Origin::Addition if vendor_name => {
            Err("an X_ name is a vendor extension: origin = \"vendor\"".into())
        }
        Origin::Addition if seed_row.is_some() => {
            Err("an addition is not in the seed, so it has no `seed_row`".into())
        }
        _ => Ok(()),
    }
}

/// Seed and vendor parameter rows quote the seed's table row.
fn check_seed_row(origin: Origin, seed_row: Option<&str>) -> Result<(), String> {
    match (origin, seed_row) {
        (Origin::Seed | Origin::Vendor, None) => {
            Err("a seed or vendor parameter row quotes the seed's table row in `seed_row`".into())
        }
        _ => Ok(()),
    }
}

fn check_text(key: &str, text: Option<&str>) -> Result<(), String> {
    match text {
        Some(t) if t.trim().is_empty() => Err(format!("`{key}` must not be empty")),
        _ => Ok(()),
    }
}

/// Check the [`ItemFormat`] of a value. The message never contains the value.
pub(crate) fn check_format(format: ItemFormat, value: &str) -> Result<(), String> {
    match format {
        ItemFormat::Plain => Ok(()),
        ItemFormat::PemCertificates => {
            let blocks = cwmp_model::pem::parse_strict(value).map_err(|e| e.to_string())?;
            if blocks.iter().all(|b| b.label == "CERTIFICATE") {
                Ok(())
            } else {
                Err("only PEM CERTIFICATE blocks are accepted".into())
            }
        }
        ItemFormat::PemPrivateKey => {
            let blocks = cwmp_model::pem::parse_strict(value).map_err(|e| e.to_string())?;
            match blocks.as_slice() {
                [] => Ok(()),
                [one] if one.label.ends_with("PRIVATE KEY") => Ok(()),
                _ => Err("exactly one PEM PRIVATE KEY block is accepted".into()),
            }
        }
        ItemFormat::HttpsUrl => match cwmp_model::http_url_scheme(value) {
            _ if value.is_empty() => Ok(()),
            Some("https") => Ok(()),
            Some(_) => Err("only an https:// URL is accepted".into()),
            None => Err("not an https:// URL with a host".into()),
        },
        ItemFormat::ProvisioningUrl => {
            if value.is_empty() || provisioning_url_scheme(value).is_some() {
                Ok(())
            } else {
                Err("not a tftp://, ftp://, http:// or https:// URL with a host".into())
            }
        }
        ItemFormat::DhcpOption => match value {
            "66" | "43" | "off" => Ok(()),
            v if v.parse::<u8>().is_ok_and(|n| (128..=254).contains(&n)) && !v.starts_with('0') => {
                Ok(())
            }
            _ => Err("expected 66, 43, a custom option 128-254, or off".into()),
        },
        ItemFormat::HostPort => match value.rsplit_once(':') {
            Some((host, port))
                if !host.is_empty()
                    && host.len() <= 253
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                    && port.parse::<u16>().is_ok_and(|p| p > 0)
                    && !port.starts_with('0') =>
            {
                Ok(())
            }
            _ => Err("expected host:port (a port 1-65535)".into()),
        },
        ItemFormat::Aes256Key => {
            if value.is_empty()
                || (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                Ok(())
            } else {
                Err("expected 64 hex digits (an AES-256 key) or nothing".into())
            }
        }
    }
}

/// The scheme of an auto-provisioning URL (`tftp`, `ftp`, `http` or `https`, lower case) when
/// `s` is one with a host (parsed by the one URL parser, [`cwmp_model::Url`]); `None` otherwise.
pub fn provisioning_url_scheme(s: &str) -> Option<&'static str> {
    match cwmp_model::Url::parse(s).ok()?.scheme() {
        "tftp" => Some("tftp"),
        "ftp" => Some("ftp"),
        "http" => Some("http"),
        "https" => Some("https"),
        _ => None,
    }
}

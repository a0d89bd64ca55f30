//! A device's parameter table as TOML → [`Schema`] (feature `toml`, on by default): the
//! generic loader an embedder uses for their own data model (the `custom_store` example), and
//! the building blocks the Desk Phone's loader (`deskphone_datamodel::DeskPhoneModel`) adds its
//! product rules on top of.
//!
//! The format (`format = 1`, `[[object]]` and `[[param]]` rows) is the one documented in
//! `datamodel/README.md`. [`schema_from_toml`] reads the generic keys; the documentation keys
//! a product table carries (`origin`, `note`, `deviation`, `seed_row`, `seed_deviation`,
//! `list`) are accepted and not interpreted, `[[item]]` rows (a product's item catalogue)
//! are skipped. Any other key is refused with a message naming the row.
//!
//! ```
//! let schema = cwmp_model::table::schema_from_toml(r#"
//!     format = 1
//!     [[object]]
//!     path = "Device."
//!     kind = "single"
//!     [[param]]
//!     path = "Device.Name"
//!     access = "RW"
//!     type = "string"
//!     source = "item"
//!     item = "name"
//!     default = "pump"
//! "#).unwrap();
//! assert!(schema.param("Device.Name").is_some());
//! ```

use crate::{
    Access, ActiveNotify, BaseType, Notification, ObjectDef, ObjectKind, ParamDef, ParamType,
    Schema, SchemaError, Source,
};
use serde::Deserialize;
use std::fmt;

/// The table format version this loader reads.
pub const TABLE_FORMAT: u32 = 1;

/// Why a table could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableError {
    /// Not TOML, or not the table's top-level shape (the TOML parser's message).
    Toml(String),
    /// A row is invalid; `row` names it (`param #3 \`Device.X\``).
    Row {
        /// The row: its kind, position and path.
        row: String,
        /// What is wrong.
        message: String,
    },
    /// The rows do not form a valid schema.
    Schema(SchemaError),
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::Toml(m) => write!(f, "table: {m}"),
            TableError::Row { row, message } => write!(f, "{row}: {message}"),
            TableError::Schema(_) => f.write_str("table: invalid schema"),
        }
    }
}

impl std::error::Error for TableError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TableError::Schema(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SchemaError> for TableError {
    fn from(e: SchemaError) -> TableError {
        TableError::Schema(e)
    }
}

/// The error for a row: `kind #n \`name\``.
pub fn row_error(
    kind: &str,
    index: usize,
    name: Option<&str>,
    message: impl Into<String>,
) -> TableError {
    let row = match name {
        Some(n) => format!("{kind} #{} `{n}`", index + 1),
        None => format!("{kind} #{}", index + 1),
    };
    TableError::Row {
        row,
        message: message.into(),
    }
}

/// Deserializes one raw row, prefixing serde's message with the row's identity.
pub fn row<T: for<'de> Deserialize<'de>>(
    kind: &str,
    index: usize,
    key: &str,
    table: &toml::Table,
) -> Result<T, TableError> {
    let name = table.get(key).and_then(|v| v.as_str());
    toml::Value::Table(table.clone())
        .try_into::<T>()
        .map_err(|e| row_error(kind, index, name, e.message().to_owned()))
}

/// The `kind` key of an `[[object]]` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableObjectKind {
    /// A single object.
    Single,
    /// A multi-instance table (`addable`, `max_instances`).
    Table,
    /// An instance of a table (`deletable`).
    Instance,
}

/// The `access` key: `R` or `RW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TableAccess {
    /// `R`.
    #[serde(rename = "R")]
    ReadOnly,
    /// `RW`.
    #[serde(rename = "RW")]
    ReadWrite,
}

/// The `source` key: where a value lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableSource {
    /// Stored under `item` in the device's configuration.
    Item,
    /// A fixed `value`.
    Constant,
    /// Computed by the device (`LiveValues`).
    Live,
    /// The store's own bookkeeping (ParameterKey).
    Internal,
}

/// The `type` key: CWMP primitive types and the TR-106 named types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TableType {
    /// `string`.
    #[serde(rename = "string")]
    String,
    /// `int`.
    #[serde(rename = "int")]
    Int,
    /// `unsignedInt`.
    #[serde(rename = "unsignedInt")]
    UnsignedInt,
    /// `long`.
    #[serde(rename = "long")]
    Long,
    /// `unsignedLong`.
    #[serde(rename = "unsignedLong")]
    UnsignedLong,
    /// `boolean`.
    #[serde(rename = "boolean")]
    Boolean,
    /// `dateTime`.
    #[serde(rename = "dateTime")]
    DateTime,
    /// `base64`.
    #[serde(rename = "base64")]
    Base64,
    /// `hexBinary`.
    #[serde(rename = "hexBinary")]
    HexBinary,
    /// `IPAddress`.
    #[serde(rename = "IPAddress")]
    IpAddress,
    /// `MACAddress`.
    #[serde(rename = "MACAddress")]
    MacAddress,
    /// `URL`.
    #[serde(rename = "URL")]
    Url,
}

impl TableType {
    /// The schema's base type.
    pub fn base(self) -> BaseType {
        match self {
            TableType::String => BaseType::String,
            TableType::Int => BaseType::Int,
            TableType::UnsignedInt => BaseType::UnsignedInt,
            TableType::Long => BaseType::Long,
            TableType::UnsignedLong => BaseType::UnsignedLong,
            TableType::Boolean => BaseType::Boolean,
            TableType::DateTime => BaseType::DateTime,
            TableType::Base64 => BaseType::Base64,
            TableType::HexBinary => BaseType::HexBinary,
            TableType::IpAddress => BaseType::IpAddress,
            TableType::MacAddress => BaseType::MacAddress,
            TableType::Url => BaseType::Url,
        }
    }

    fn is_numeric(self) -> bool {
        matches!(
            self,
            TableType::Int | TableType::UnsignedInt | TableType::Long | TableType::UnsignedLong
        )
    }

    fn has_length(self) -> bool {
        matches!(
            self,
            TableType::String
                | TableType::Base64
                | TableType::HexBinary
                | TableType::IpAddress
                | TableType::MacAddress
                | TableType::Url
        )
    }
}

/// The `active_notify` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum TableActiveNotify {
    /// `normal` (the default).
    #[default]
    #[serde(rename = "normal")]
    Normal,
    /// `canDeny`.
    #[serde(rename = "canDeny")]
    CanDeny,
    /// `forceEnabled`.
    #[serde(rename = "forceEnabled")]
    ForceEnabled,
    /// `forceDefaultEnabled`.
    #[serde(rename = "forceDefaultEnabled")]
    ForceDefaultEnabled,
}

/// Parses the range syntax `min:max` (either side may be empty, e.g. `-1:`).
pub fn parse_range(text: &str) -> Result<(Option<i128>, Option<i128>), String> {
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

/// The type of a parameter or item row.
pub fn param_type(
    ty: TableType,
    range: Option<&str>,
    values: Option<&[String]>,
    max_length: Option<usize>,
) -> Result<ParamType, String> {
    let mut t = ParamType::new(ty.base());
    if let Some(r) = range {
        if !ty.is_numeric() {
            return Err("`range` applies only to int, unsignedInt, long and unsignedLong".into());
        }
        let (min, max) = parse_range(r)?;
        t = t.with_range(min, max);
    }
    if let Some(v) = values {
        if v.is_empty() {
            return Err("`values` must list at least one value".into());
        }
        t = t.with_enumeration(v.iter().cloned());
    }
    if let Some(n) = max_length {
        if !ty.has_length() {
            return Err("`max_length` applies only to string, base64 and hexBinary types".into());
        }
        t = t.with_max_length(n);
    }
    // Every enumerated value must itself be valid (a range and an enumeration together must
    // agree, and numeric enumerations must be canonical numbers).
    for v in &t.enumeration {
        let parsed = t
            .parse_with_reason(v, None)
            .map_err(|e| format!("enumerated value `{v}` is not valid: {}", e.reason))?;
        if parsed.to_lexical() != *v {
            return Err(format!(
                "enumerated value `{v}` is not in canonical form `{}`",
                parsed.to_lexical()
            ));
        }
    }
    Ok(t)
}

/// The kind of an `[[object]]` row from its keys.
pub fn object_kind(
    kind: TableObjectKind,
    addable: Option<bool>,
    max_instances: Option<u32>,
    deletable: Option<bool>,
) -> Result<ObjectKind, &'static str> {
    Ok(match kind {
        TableObjectKind::Single => {
            if addable.is_some() || max_instances.is_some() || deletable.is_some() {
                return Err("a single object takes no addable, max_instances or deletable");
            }
            ObjectKind::Single
        }
        TableObjectKind::Table => {
            if deletable.is_some() {
                return Err("`deletable` belongs on instance rows");
            }
            ObjectKind::Table {
                addable: addable.ok_or("a table needs `addable`")?,
                max_instances,
            }
        }
        TableObjectKind::Instance => {
            if addable.is_some() || max_instances.is_some() {
                return Err("`addable` and `max_instances` belong on table rows");
            }
            ObjectKind::Instance {
                deletable: deletable.ok_or("an instance needs `deletable`")?,
            }
        }
    })
}

/// One `[[param]]` row as read (every key of the format; unknown keys are refused). The
/// documentation keys (`origin`, `seed_row`, `seed_deviation`, `deviation`, `note`) are kept
/// as text and not interpreted here; a product loader reads them with its own rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ParamRow {
    /// `path`.
    pub path: String,
    /// `access`.
    pub access: TableAccess,
    /// `type`.
    #[serde(rename = "type")]
    pub ty: TableType,
    /// `source`.
    pub source: TableSource,
    /// `item` (source = item).
    pub item: Option<String>,
    /// `value` (source = constant).
    pub value: Option<String>,
    /// `derived_from` (source = live: the item a live value is computed from).
    pub derived_from: Option<String>,
    /// `range`.
    pub range: Option<String>,
    /// `values` (an enumeration).
    pub values: Option<Vec<String>>,
    /// `max_length`.
    pub max_length: Option<usize>,
    /// `list` (a TR-106 comma-separated list; strings only).
    #[serde(default)]
    pub list: bool,
    /// `default` (the factory default).
    pub default: Option<String>,
    /// `notification` (0, 1 or 2).
    #[serde(default)]
    pub notification: u8,
    /// `active_notify`.
    #[serde(default)]
    pub active_notify: TableActiveNotify,
    /// `forced_inform`.
    #[serde(default)]
    pub forced_inform: bool,
    /// `secret`.
    #[serde(default)]
    pub secret: bool,
    /// `origin` (documentation).
    pub origin: Option<String>,
    /// `seed_row` (documentation).
    pub seed_row: Option<String>,
    /// `seed_deviation` (documentation).
    pub seed_deviation: Option<String>,
    /// `deviation` (documentation).
    pub deviation: Option<String>,
    /// `note` (documentation).
    pub note: Option<String>,
}

/// One `[[object]]` row as read (unknown keys are refused; `origin`, `deviation` and `note`
/// are documentation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ObjectRow {
    /// `path`.
    pub path: String,
    /// `kind`.
    pub kind: TableObjectKind,
    /// `addable` (tables).
    pub addable: Option<bool>,
    /// `max_instances` (tables).
    pub max_instances: Option<u32>,
    /// `deletable` (instances).
    pub deletable: Option<bool>,
    /// `origin` (documentation).
    pub origin: Option<String>,
    /// `deviation` (documentation).
    pub deviation: Option<String>,
    /// `note` (documentation).
    pub note: Option<String>,
}

impl ObjectRow {
    /// The schema definition of the row, or what is wrong with it.
    pub fn to_def(&self) -> Result<ObjectDef, &'static str> {
        Ok(ObjectDef {
            path: self.path.clone(),
            kind: object_kind(self.kind, self.addable, self.max_instances, self.deletable)?,
        })
    }
}

impl ParamRow {
    /// The schema definition of the row, or what is wrong with it.
    pub fn to_def(&self) -> Result<ParamDef, String> {
        let ty = param_type(
            self.ty,
            self.range.as_deref(),
            self.values.as_deref(),
            self.max_length,
        )?;
        if self.list && self.ty != TableType::String {
            return Err("`list` applies only to string parameters".into());
        }
        if self.secret && self.ty != TableType::String {
            return Err("a secret must be a string".into());
        }
        let forbid = |key: &str, present: bool| -> Result<(), String> {
            if present {
                Err(format!(
                    "`{key}` does not go with source = {:?}",
                    self.source
                ))
            } else {
                Ok(())
            }
        };
        let source = match self.source {
            TableSource::Item => {
                forbid("value", self.value.is_some())?;
                forbid("derived_from", self.derived_from.is_some())?;
                Source::Item(self.item.clone().ok_or("source = \"item\" needs `item`")?)
            }
            TableSource::Constant => {
                forbid("item", self.item.is_some())?;
                forbid("derived_from", self.derived_from.is_some())?;
                forbid("default", self.default.is_some())?;
                Source::Constant(
                    self.value
                        .clone()
                        .ok_or("source = \"constant\" needs `value`")?,
                )
            }
            TableSource::Live => {
                forbid("item", self.item.is_some())?;
                forbid("value", self.value.is_some())?;
                Source::Live
            }
            TableSource::Internal => {
                forbid("item", self.item.is_some())?;
                forbid("value", self.value.is_some())?;
                forbid("derived_from", self.derived_from.is_some())?;
                Source::Internal
            }
        };
        let default = match &source {
            Source::Constant(v) => v.clone(),
            _ => self
                .default
                .clone()
                .ok_or("a factory `default` is required (constants use `value`)")?,
        };
        // Checked here too (Schema::new does) so that the message names the row.
        if let Err(e) = ty.parse_with_reason(&default, None) {
            return Err(format!("default/value refused: {}", e.reason));
        }
        let default_notification = Notification::from_i32(i32::from(self.notification))
            .filter(|n| n.as_i32() <= 2)
            .ok_or("`notification` must be 0, 1 or 2")?;
        let active_notify = match self.active_notify {
            TableActiveNotify::Normal => ActiveNotify::Normal,
            TableActiveNotify::CanDeny => ActiveNotify::CanDeny,
            TableActiveNotify::ForceEnabled => ActiveNotify::ForceEnabled,
            TableActiveNotify::ForceDefaultEnabled => ActiveNotify::ForceDefaultEnabled,
        };
        if active_notify == ActiveNotify::CanDeny && default_notification == Notification::Active {
            return Err("a canDeny parameter cannot default to Active notification".into());
        }
        Ok(ParamDef {
            name: self.path.clone(),
            ty,
            access: match self.access {
                TableAccess::ReadOnly => Access::ReadOnly,
                TableAccess::ReadWrite => Access::ReadWrite,
            },
            source,
            default: Some(default),
            default_notification,
            active_notify,
            forced_inform: self.forced_inform,
            secret: self.secret,
        })
    }
}

/// A table file split into its rows (kept as TOML tables so each row is read on its own and an
/// error names it), the `format` checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TableFile {
    /// `format` (always [`TABLE_FORMAT`] after [`TableFile::parse`]).
    pub format: u32,
    /// The `[[object]]` rows.
    #[serde(default)]
    pub object: Vec<toml::Table>,
    /// The `[[param]]` rows.
    #[serde(default)]
    pub param: Vec<toml::Table>,
    /// The `[[item]]` rows (a product's item catalogue; the generic loader skips them).
    #[serde(default)]
    pub item: Vec<toml::Table>,
}

impl TableFile {
    /// Parses the TOML text and checks the format version.
    pub fn parse(text: &str) -> Result<TableFile, TableError> {
        let file: TableFile =
            toml::from_str(text).map_err(|e| TableError::Toml(e.message().to_owned()))?;
        if file.format != TABLE_FORMAT {
            return Err(TableError::Toml(format!(
                "format {} is not the supported format {TABLE_FORMAT}",
                file.format
            )));
        }
        Ok(file)
    }
}

/// Loads a device's parameter table (TOML) into a [`Schema`]: the generic loader (see the
/// module documentation for the keys).
pub fn schema_from_toml(text: &str) -> Result<Schema, TableError> {
    let file = TableFile::parse(text)?;
    let mut objects = Vec::with_capacity(file.object.len());
    for (i, t) in file.object.iter().enumerate() {
        let o: ObjectRow = row("object", i, "path", t)?;
        objects.push(
            o.to_def()
                .map_err(|m| row_error("object", i, Some(&o.path), m))?,
        );
    }
    let mut params = Vec::with_capacity(file.param.len());
    for (i, t) in file.param.iter().enumerate() {
        let p: ParamRow = row("param", i, "path", t)?;
        params.push(
            p.to_def()
                .map_err(|m| row_error("param", i, Some(&p.path), m))?,
        );
    }
    Ok(Schema::new(params, objects)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0:99999"), Ok((Some(0), Some(99999))));
        assert_eq!(parse_range("-1:"), Ok((Some(-1), None)));
        assert_eq!(parse_range(":5"), Ok((None, Some(5))));
        for bad in ["", ":", "5", "a:b", "5:1", "1:2:3"] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_row() {
        let head = "format = 1\n[[object]]\npath = \"Device.\"\nkind = \"single\"\n";
        let bad = format!(
            "{head}[[param]]\npath = \"Device.A\"\naccess = \"R\"\ntype = \"int\"\nsource = \"item\"\nitem = \"a\"\ndefault = \"x\"\n"
        );
        let e = schema_from_toml(&bad).unwrap_err();
        assert!(
            matches!(&e, TableError::Row { row, .. } if row == "param #1 `Device.A`"),
            "{e}"
        );
        let unknown = format!("{head}typo = 1\n");
        assert!(matches!(
            schema_from_toml(&unknown),
            Err(TableError::Row { .. })
        ));
        assert!(matches!(
            schema_from_toml("format = 2"),
            Err(TableError::Toml(_))
        ));
        let orphan = "format = 1\n[[object]]\npath = \"Device.X.\"\nkind = \"single\"\n";
        assert!(matches!(
            schema_from_toml(orphan),
            Err(TableError::Schema(_))
        ));
    }
}

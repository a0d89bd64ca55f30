//! The small key-value interface a device's configuration system implements.
//!
//! A firmware engineer whose phone already keeps its configuration as items (OCMS on the Desk
//! Phone CP) implements only [`ItemBackend`]; `SchemaStore` turns TR-069 names into items
//! through the [`Schema`](crate::Schema) and does all CWMP validation, ordering, masking and
//! attribute handling itself.

use crate::fault::Fault;
use std::fmt;

/// Keys under this prefix belong to the CWMP store itself (attributes, `ParameterKey`,
/// internal values). OCMS item names never contain `:`, so they cannot collide.
pub const RESERVED_PREFIX: &str = "cwmp:";

/// Who last wrote an item's value, kept beside it under the reserved key
/// [`ValueOrigin::key_for`] in the same commit (shown by local management pages: "where it
/// came from"). No record = the factory value (or a value the device itself keeps, such as
/// its addresses). A factory reset removes every record with the other reserved keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueOrigin {
    /// A SetParameterValues of the ACS, or a configuration file it had downloaded.
    Acs,
    /// A local change: an admin command, the web page, TR-064, Cloud Deployment.
    Local,
    /// An auto-provisioning file (DHCP, SIP PnP or static server).
    Provisioning,
}

/// Prefix of the origin records (see [`ValueOrigin`]).
pub const ORIGIN_PREFIX: &str = "cwmp:origin:";

impl ValueOrigin {
    /// The word stored and shown: `acs`, `local`, `provisioning`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueOrigin::Acs => "acs",
            ValueOrigin::Local => "local",
            ValueOrigin::Provisioning => "provisioning",
        }
    }

    /// The origin a stored word names; `None` for anything else.
    pub fn parse(s: &str) -> Option<ValueOrigin> {
        match s {
            "acs" => Some(ValueOrigin::Acs),
            "local" => Some(ValueOrigin::Local),
            "provisioning" => Some(ValueOrigin::Provisioning),
            _ => None,
        }
    }

    /// The reserved key recording the origin of item `key`.
    pub fn key_for(key: &str) -> String {
        format!("{ORIGIN_PREFIX}{key}")
    }

    /// The batch entries recording this origin for every item value `batch` sets (reserved
    /// keys are skipped).
    pub fn records(self, batch: &ItemBatch) -> ItemBatch {
        batch
            .iter()
            .filter(|(k, v)| v.is_some() && !k.starts_with(RESERVED_PREFIX))
            .map(|(k, _)| (ValueOrigin::key_for(k), Some(self.as_str().to_owned())))
            .collect()
    }

    /// The origin recorded for item `key` in `backend`, if any.
    pub fn of<B: ItemBackend + ?Sized>(backend: &B, key: &str) -> Option<ValueOrigin> {
        backend
            .get(&ValueOrigin::key_for(key))
            .and_then(|v| ValueOrigin::parse(&v))
    }
}

/// A batch of item changes committed together: `Some(value)` sets, `None` removes.
pub type ItemBatch = Vec<(String, Option<String>)>;

/// Where configuration items live.
///
/// `commit` must be atomic and durable: after it returns `Ok`, a crash at any moment leaves
/// all of the batch or none of it (the file backend writes a temp file, fsyncs, renames and
/// fsyncs the directory).
pub trait ItemBackend {
    /// The stored value of an item, if any.
    fn get(&self, key: &str) -> Option<String>;

    /// Apply a batch of changes atomically and durably.
    fn commit(&mut self, batch: ItemBatch) -> Result<(), BackendError>;

    /// Every stored key (used for factory reset and diagnostics).
    fn keys(&self) -> Vec<String>;
}

/// A backend failure (I/O, corruption). The store reports it to the ACS as 9002.
#[derive(Debug)]
#[non_exhaustive]
pub enum BackendError {
    /// An I/O error while reading or writing.
    Io(std::io::Error),
    /// Stored data could not be understood.
    Corrupt(String),
    /// The device's own configuration system refused values of the batch (a check beyond the
    /// schema's, e.g. a SIP server it cannot resolve): `(key, fault)` per refused item, and
    /// nothing of the batch was applied. SetParameterValues reports each as the fault of the
    /// parameters stored under that key (9007 is the usual code); other writes fail with the
    /// first fault.
    Refused(Vec<(String, Fault)>),
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Io(e) => write!(f, "configuration storage I/O error: {e}"),
            BackendError::Corrupt(m) => write!(f, "configuration storage corrupt: {m}"),
            BackendError::Refused(list) => {
                write!(f, "configuration storage refused {} item(s)", list.len())
            }
        }
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BackendError::Io(e) => Some(e),
            BackendError::Corrupt(_) | BackendError::Refused(_) => None,
        }
    }
}

impl From<std::io::Error> for BackendError {
    fn from(e: std::io::Error) -> BackendError {
        BackendError::Io(e)
    }
}

/// Values the device computes on read (`Source::Live` parameters such as `UpTime` or
/// `DeviceStatus`). Returns the lexical value, or `None` when unknown (the store then uses the
/// parameter's default, or the type's empty value).
pub trait LiveValues {
    /// The current value of a live parameter.
    fn live_value(&mut self, name: &str) -> Option<String>;
}

/// A [`LiveValues`] that knows nothing (every live parameter reads as its default).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLiveValues;

impl LiveValues for NoLiveValues {
    fn live_value(&mut self, _name: &str) -> Option<String> {
        None
    }
}

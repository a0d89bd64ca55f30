//! The crate's one error enum (design invariant 8).

use crate::live::InvalidMacAddress;
use cwmp_model::{BackendError, SchemaError};
use std::fmt;

/// Why the Desk Phone's data-model table could not be loaded or its store could not be opened.
/// Table messages name the offending row.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The table text is not TOML, or its top level is wrong (unknown key, wrong `format`).
    Toml(String),
    /// One row of the table is wrong.
    Row {
        /// The row: kind, position (1-based, per kind) and path or item name,
        /// e.g. ``param #12 `Device.ManagementServer.URL` ``.
        row: String,
        /// What is wrong.
        message: String,
    },
    /// The rows are individually fine but do not form a valid schema (the source).
    Schema(SchemaError),
    /// The item file could not be read (the source).
    Backend(BackendError),
    /// The stored `mac-address` yields no serial number (the source).
    Mac(InvalidMacAddress),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Toml(m) => write!(f, "data-model table: {m}"),
            Error::Row { row, message } => write!(f, "data-model table, {row}: {message}"),
            Error::Schema(e) => write!(f, "data-model table: {e}"),
            Error::Backend(e) => e.fmt(f),
            Error::Mac(e) => write!(f, "item mac-address: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Schema(e) => Some(e),
            Error::Backend(e) => Some(e),
            Error::Mac(e) => Some(e),
            Error::Toml(_) | Error::Row { .. } => None,
        }
    }
}

impl From<SchemaError> for Error {
    fn from(e: SchemaError) -> Error {
        Error::Schema(e)
    }
}

impl From<BackendError> for Error {
    fn from(e: BackendError) -> Error {
        Error::Backend(e)
    }
}

/// The library loader's errors keep their shape: the Desk Phone table is the same format.
impl From<cwmp_model::table::TableError> for Error {
    fn from(e: cwmp_model::table::TableError) -> Error {
        use cwmp_model::table::TableError;
        match e {
            TableError::Toml(m) => Error::Toml(m),
            TableError::Row { row, message } => Error::Row { row, message },
            TableError::Schema(e) => Error::Schema(e),
            other => Error::Toml(other.to_string()),
        }
    }
}

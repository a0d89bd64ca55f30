//! [`Error`]: the one error enum of `cwmp-model` for an embedder to match on.

use crate::backend::BackendError;
use crate::pem::PemError;
use crate::schema::SchemaError;
use crate::store::SetError;
use crate::url::UrlError;
use crate::value::ValueError;
use crate::Fault;
use std::fmt;

/// Every failure `cwmp-model` reports, one variant per kind (ARCHITECTURE.md invariant 8).
///
/// Each fallible function returns the typed error of its own kind (a [`SchemaError`] from
/// [`crate::Schema::new`], a [`UrlError`] from [`crate::Url::parse`] …), so the signature says
/// exactly what can go wrong; every kind converts into this enum with `?`, and the kind is the
/// enum's [`source()`](std::error::Error::source). Decision (issue 11 part 3): the kinds stay
/// separate types rather than variants flattened into one enum, because the store trait needs
/// [`SetError`] (per-parameter faults the engine turns into a 9003 response) and
/// [`crate::ItemBackend`] implementors return [`BackendError`] to the store: an embedder writing
/// a backend must not be able to return, say, a URL error where the store expects a backend
/// failure.
///
/// ```
/// use cwmp_model::{Error, Url};
/// fn acs(text: &str) -> Result<Url, Error> {
///     Ok(Url::parse_http(text)?)
/// }
/// let e = acs("ftp://x/").unwrap_err();
/// assert!(matches!(e, Error::Url(_)));
/// assert!(std::error::Error::source(&e).is_some());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A SetParameterValues changed nothing ([`crate::ParameterStore::set_values`]).
    Set(SetError),
    /// A CWMP fault from a store operation.
    Fault(Fault),
    /// The device's configuration storage failed ([`crate::ItemBackend`]).
    Backend(BackendError),
    /// A list of definitions is not a valid [`crate::Schema`].
    Schema(SchemaError),
    /// A value does not parse as its type ([`crate::Value`]).
    Value(ValueError),
    /// A URL is not an acceptable URL ([`crate::Url`]).
    Url(UrlError),
    /// PEM text is not acceptable ([`crate::pem`]).
    Pem(PemError),
    /// A parameter table (TOML) could not be loaded ([`crate::table`]).
    #[cfg(feature = "toml")]
    Table(crate::table::TableError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Set(_) => f.write_str("SetParameterValues refused"),
            Error::Fault(_) => f.write_str("CWMP fault"),
            Error::Backend(_) => f.write_str("configuration storage failed"),
            Error::Schema(_) => f.write_str("invalid data model"),
            Error::Value(_) => f.write_str("invalid value"),
            Error::Url(_) => f.write_str("invalid URL"),
            Error::Pem(_) => f.write_str("invalid PEM"),
            #[cfg(feature = "toml")]
            Error::Table(_) => f.write_str("invalid parameter table"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(match self {
            Error::Set(e) => e,
            Error::Fault(e) => e,
            Error::Backend(e) => e,
            Error::Schema(e) => e,
            Error::Value(e) => e,
            Error::Url(e) => e,
            Error::Pem(e) => e,
            #[cfg(feature = "toml")]
            Error::Table(e) => e,
        })
    }
}

macro_rules! from_kind {
    ($($kind:ty => $variant:ident),* $(,)?) => {$(
        impl From<$kind> for Error {
            fn from(e: $kind) -> Error {
                Error::$variant(e)
            }
        }
    )*};
}

from_kind!(
    SetError => Set,
    Fault => Fault,
    BackendError => Backend,
    SchemaError => Schema,
    ValueError => Value,
    UrlError => Url,
    PemError => Pem,
);

#[cfg(feature = "toml")]
from_kind!(crate::table::TableError => Table);

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::Parameters(list) => write!(f, "{} parameter(s) refused", list.len()),
            SetError::Fault(fault) => write!(f, "{fault}"),
        }
    }
}

impl std::error::Error for SetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetError::Fault(fault) => Some(fault),
            SetError::Parameters(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FaultCode, ParameterFault};
    use std::error::Error as _;

    #[test]
    fn every_kind_converts_and_is_the_source() {
        let set: Error = SetError::Parameters(vec![ParameterFault {
            name: "Device.X".into(),
            code: FaultCode::InvalidParameterValue,
            message: "bad".into(),
        }])
        .into();
        assert!(matches!(set, Error::Set(_)));
        assert_eq!(
            set.source().map(|s| s.to_string()).as_deref(),
            Some("1 parameter(s) refused")
        );
        let io = std::io::Error::other("disk");
        let backend: Error = BackendError::Io(io).into();
        // The chain reaches the io::Error.
        let inner = backend
            .source()
            .and_then(|s| s.source())
            .expect("io source");
        assert_eq!(inner.to_string(), "disk");
        let schema: Error = SchemaError::Duplicate("Device.A".into()).into();
        assert!(schema
            .source()
            .is_some_and(|s| s.to_string().contains("Device.A")));
        let fault: Error = Fault::new(FaultCode::InternalError).into();
        assert!(matches!(fault, Error::Fault(_)));
    }
}

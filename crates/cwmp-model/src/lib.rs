//! The CWMP (TR-069) parameter model shared by every crate of the agent.
//!
//! * [`FaultCode`] and [`Fault`]: the spec's fault numbers (TR-069 Annex A.5).
//! * [`XsdType`], [`BaseType`], [`ParamType`], [`Value`], [`DateTime`]: wire and schema types
//!   (TR-069 Annex A.2), with parsing that yields the right fault ([`ParamType::parse`]: 9006 / 9007)
//!   and canonical formatting ([`Value::to_lexical`]).
//! * [`Schema`], [`ParamDef`], [`ObjectDef`]: the data model as data (design invariant 6), in
//!   data-model order, with GetParameterNames logic ([`Schema::names`]).
//! * [`ParameterStore`]: the trait the session engine calls (design invariant 5).
//! * [`SchemaStore`]: the one implementation of it, generic over an [`ItemBackend`] (where the
//!   device keeps configuration items) and [`LiveValues`] (what it computes on read);
//!   [`MemoryBackend`] / [`MemoryStore`] keep items in memory.
//! * [`atomic`]: the one durable, atomic file write (temp file, fsync, rename, fsync dir).
//! * [`pem`]: the one PEM parser (on rustls-pki-types), with the product page's one-line form.
//! * [`Secret`]: a password or key whose `Debug` / `Display` print [`REDACTED`].
//! * [`conformance`]: a suite any [`ParameterStore`] implementation runs to prove it keeps the
//!   trait's rules (ordering, masking, all-or-nothing writes, faults, persistence).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod atomic;
mod backend;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod fault;
mod memory;
pub mod pem;
mod schema;
mod schema_store;
mod secret;
mod store;
#[cfg(feature = "toml")]
pub mod table;
mod types;
pub mod url;
mod value;

pub use backend::{
    BackendError, ItemBackend, ItemBatch, LiveValues, NoLiveValues, ValueOrigin, ORIGIN_PREFIX,
    RESERVED_PREFIX,
};
pub use error::Error;
pub use fault::{Fault, FaultCode};
pub use memory::{MemoryBackend, MemoryStore};
pub use schema::{
    Access, ActiveNotify, Notification, ObjectDef, ObjectKind, ParamDef, Schema, SchemaError,
    Source, MAX_NAME_LENGTH,
};
pub use schema_store::{SchemaStore, SharedSchema, SUBSCRIBER};
pub use secret::{Secret, REDACTED};
pub use store::{
    ApplyStatus, ChangeListener, ParameterAttributes, ParameterFault, ParameterInfo,
    ParameterStore, ParameterValue, SetAttributes, SetError, SetValue,
};
pub use types::{BaseType, DateTime, ParamType, Value, XsdType};
pub use url::{Url, UrlError};
pub use value::{http_url_scheme, ValueError};

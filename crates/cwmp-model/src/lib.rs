//! The CWMP (TR-069) parameter model shared by every crate of the agent.
//!
//! * [`FaultCode`] and [`Fault`]: the spec's fault numbers (digest §6).
//! * [`XsdType`], [`BaseType`], [`ParamType`], [`Value`], [`DateTime`]: wire and schema types (digest §9).
//! * [`Schema`], [`ParamDef`], [`ObjectDef`]: the data model as data (design invariant 6).
//! * [`ParameterStore`]: the trait the session engine calls (design invariant 5), with an
//!   in-memory implementation ([`MemoryStore`]) and a conformance suite ([`conformance`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backend;
mod fault;
mod schema;
mod store;
mod types;

pub use backend::{
    BackendError, ItemBackend, ItemBatch, LiveValues, NoLiveValues, RESERVED_PREFIX,
};
pub use fault::{Fault, FaultCode};
pub use schema::{Access, ActiveNotify, Notification, ObjectDef, ObjectKind, ParamDef, Source};
pub use store::{
    ApplyStatus, ChangeListener, ParameterAttributes, ParameterFault, ParameterInfo,
    ParameterStore, ParameterValue, SetAttributes, SetError, SetValue,
};
pub use types::{BaseType, DateTime, ParamType, Value, XsdType};

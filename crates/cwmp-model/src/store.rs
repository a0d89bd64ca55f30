//! The `ParameterStore` trait: the only way the session engine reads and writes the device
//! (design invariant 5), and the records it exchanges.

use crate::fault::{Fault, FaultCode};
use crate::schema::Notification;
use crate::types::{Value, XsdType};
use std::fmt;

/// A name and its typed value (GetParameterValues, Inform).
#[derive(Clone, PartialEq, Eq)]
pub struct ParameterValue {
    /// Full parameter name.
    pub name: String,
    /// The value; a secret parameter reads as `Value::String("")`.
    pub value: Value,
}

impl fmt::Debug for ParameterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {:?}", self.name, self.value)
    }
}

/// One entry of a SetParameterValues request, as received.
#[derive(Clone, PartialEq, Eq)]
pub struct SetValue {
    /// Full parameter name.
    pub name: String,
    /// The lexical value as received.
    pub value: String,
    /// The `xsi:type` the ACS sent, if any; a mismatch with the parameter's type is 9006.
    pub xsi_type: Option<XsdType>,
}

impl fmt::Debug for SetValue {
    /// The value is not shown: it may be a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = <{} chars>", self.name, self.value.chars().count())
    }
}

/// `ParameterInfoStruct` (GetParameterNames).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInfo {
    /// Full parameter name, or object path ending in `.`.
    pub name: String,
    /// Whether the ACS may write it (objects: AddObject / DeleteObject allowed).
    pub writable: bool,
}

/// `ParameterAttributeStruct` (GetParameterAttributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterAttributes {
    /// Full parameter name.
    pub name: String,
    /// The notification attribute.
    pub notification: Notification,
    /// Who besides the ACS may write it; the only defined entry is `Subscriber`.
    pub access_list: Vec<String>,
}

/// One `SetParameterAttributesStruct`, with the `…Change` flags folded into `Option`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAttributes {
    /// Full parameter name or partial path ending in `.` (applies to the whole subtree).
    pub name: String,
    /// `Some` when `NotificationChange` was true.
    pub notification: Option<Notification>,
    /// `Some` when `AccessListChange` was true.
    pub access_list: Option<Vec<String>>,
}

/// The `Status` of SetParameterValues, AddObject and DeleteObject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplyStatus {
    /// 0: validated and applied.
    Applied,
    /// 1: validated and committed, takes effect later (e.g. after a reboot).
    Committed,
}

impl ApplyStatus {
    /// The wire number.
    pub fn as_i32(self) -> i32 {
        match self {
            ApplyStatus::Applied => 0,
            ApplyStatus::Committed => 1,
        }
    }
}

/// A fault for one parameter of a SetParameterValues (`SetParameterValuesFault`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterFault {
    /// The parameter name as sent by the ACS.
    pub name: String,
    /// 9005, 9006, 9007 or 9008.
    pub code: FaultCode,
    /// The `FaultString` (never contains the value, which may be a secret).
    pub message: String,
}

/// Why a SetParameterValues changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetError {
    /// One or more parameters were refused; the engine sends 9003 with one
    /// `SetParameterValuesFault` per entry.
    Parameters(Vec<ParameterFault>),
    /// The request as a whole failed (9003 for a duplicate name, 9002 when persisting failed …).
    Fault(Fault),
}

impl From<Fault> for SetError {
    fn from(f: Fault) -> SetError {
        SetError::Fault(f)
    }
}

/// A callback the store calls with the names of parameters whose values changed by a means
/// other than the ACS (local admin menu, DHCP, the device itself). The driver turns each call
/// into an engine input, so changes are pushed, never polled.
pub type ChangeListener = Box<dyn FnMut(&[String]) + Send>;

/// The device's parameters, as the session engine sees them.
///
/// Implementations must:
/// * keep data-model order in every list they return;
/// * read secrets as `""` in [`get_values`](Self::get_values) and [`forced_inform`](Self::forced_inform);
/// * make [`set_values`](Self::set_values) all-or-nothing and durable before returning `Ok`;
/// * never call the [`ChangeListener`] for changes made through the CWMP methods of this trait
///   (the ACS does not get notified of its own changes).
///
/// `cwmp_model::conformance::run` checks an implementation against these rules.
pub trait ParameterStore {
    /// Values of full names or partial paths (ending in `.`, `""` = everything), in the order
    /// of `names` and, within a partial path, in data-model order. Any unknown name → 9005.
    fn get_values(&mut self, names: &[String]) -> Result<Vec<ParameterValue>, Fault>;

    /// GetParameterNames: `path` is `""`, an object path or a full parameter name.
    /// Unknown path → 9005; a parameter name with `next_level` true → 9003.
    fn get_names(&mut self, path: &str, next_level: bool) -> Result<Vec<ParameterInfo>, Fault>;

    /// SetParameterValues: validate every entry (9005 unknown, 9008 read-only, 9006 type,
    /// 9007 value), then commit all, persist, and set `ParameterKey` to `parameter_key`; or
    /// change nothing.
    fn set_values(
        &mut self,
        values: &[SetValue],
        parameter_key: &str,
    ) -> Result<ApplyStatus, SetError>;

    /// GetParameterAttributes for full names or partial paths. Unknown name → 9005.
    fn get_attributes(&mut self, names: &[String]) -> Result<Vec<ParameterAttributes>, Fault>;

    /// SetParameterAttributes, all-or-nothing and persisted. Unknown name → 9005; refused
    /// notification (active on a `CanDeny` parameter, lightweight kinds) → 9009.
    fn set_attributes(&mut self, changes: &[SetAttributes]) -> Result<(), Fault>;

    /// AddObject on a table path; returns the new instance number. Sets `ParameterKey` on success.
    fn add_object(
        &mut self,
        object: &str,
        parameter_key: &str,
    ) -> Result<(u32, ApplyStatus), Fault>;

    /// DeleteObject on an instance path. Sets `ParameterKey` on success.
    fn delete_object(&mut self, object: &str, parameter_key: &str) -> Result<ApplyStatus, Fault>;

    /// The parameters to put in every Inform (forced-inform), in data-model order, secrets as `""`.
    fn forced_inform(&mut self) -> Result<Vec<ParameterValue>, Fault>;

    /// The real value of one parameter, secrets included, for the agent's own use (credentials,
    /// timers). `None` if the parameter does not exist.
    fn internal_value(&mut self, name: &str) -> Option<Value>;

    /// A write by the device itself (local admin, DHCP, a live value such as the IP address):
    /// validated against the type but not against ACS access rights, persisted, and reported
    /// to the [`ChangeListener`] when the value changed.
    fn set_internal(&mut self, name: &str, value: &str) -> Result<(), Fault>;

    /// Restore factory defaults: values, attributes and `ParameterKey`. Persisted.
    fn factory_reset(&mut self) -> Result<(), Fault>;

    /// Install the listener for changes made by other means than the ACS (replaces any earlier one).
    fn set_change_listener(&mut self, listener: ChangeListener);

    /// The store as [`Any`](std::any::Any), so an embedder holding only a
    /// `&mut dyn ParameterStore` (e.g. a job run on the driver's thread) can reach its concrete
    /// store type and use what that type offers beyond this trait. Default: `None`.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }
}

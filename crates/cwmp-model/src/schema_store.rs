//! [`SchemaStore`]: the one [`ParameterStore`] implementation, generic over where items live
//! ([`ItemBackend`]). All CWMP rules (validation, atomicity, ordering, masking, attributes,
//! `ParameterKey`) live here once; a device only supplies a backend and its live values.
//!
//! # Storage layout
//!
//! | what | backend key | stored when |
//! |---|---|---|
//! | a `Source::Item(key)` value | `key` (the OCMS item name) | written by SetParameterValues / `set_internal` |
//! | a `Source::Internal` value | `cwmp:value:<name>` | idem |
//! | notification attribute | `cwmp:notification:<name>` = `0`…`2` | only while it differs from the default |
//! | access list | `cwmp:access-list:<name>` = `Subscriber` | only while non-empty |
//! | `ParameterKey` without a schema parameter | `cwmp:parameter-key` | on every successful SetParameterValues |
//!
//! Values are stored in their canonical lexical form ([`Value::to_lexical`]) and read back
//! leniently ([`Value::parse`] on the wire type, constraints not re-checked), so an item the
//! device wrote as `1` still reads as boolean `true`. A stored value that does not parse at all
//! reads as the parameter's default and is logged (without the value).

use crate::backend::{BackendError, ItemBackend, ItemBatch, LiveValues, RESERVED_PREFIX};
use crate::fault::{Fault, FaultCode};
use crate::schema::{
    unknown, Access, ActiveNotify, Notification, ObjectKind, ParamDef, Schema, Source,
};
use crate::store::{
    ApplyStatus, ChangeListener, ParameterAttributes, ParameterFault, ParameterInfo,
    ParameterStore, ParameterValue, SetAttributes, SetError, SetValue,
};
use crate::types::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// The only access-list entry CWMP defines (TR-069 Annex A.3.2.4).
pub const SUBSCRIBER: &str = "Subscriber";

/// The longest `ParameterKey` (`string(32)`, TR-069 Annex A), when the schema has no
/// `ParameterKey` parameter whose type would say so.
const PARAMETER_KEY_MAX: usize = 32;

const VALUE_PREFIX: &str = "cwmp:value:";
const NOTIFICATION_PREFIX: &str = "cwmp:notification:";
const ACCESS_PREFIX: &str = "cwmp:access-list:";
const PARAMETER_KEY_KEY: &str = "cwmp:parameter-key";

/// A [`ParameterStore`] driven by a [`Schema`] over an [`ItemBackend`].
///
/// Behaviour where TR-069 leaves a choice (each documented on the method too):
/// * **SetParameterValues** (TR-069 Annex A.3.2.1) checks, per entry and in this order: the name exists
///   (9005, partial paths included), it is writable (9008), the value parses (9006 / 9007, see
///   [`ParamType::parse`](crate::ParamType::parse)). A name given twice is a whole-request 9003.
///   Any failure → every failing entry reported, nothing changed. Otherwise one backend commit
///   holds all values and the new `ParameterKey`. A value equal to the current one still counts
///   as set. The status is always [`ApplyStatus::Applied`]: the backend's commit is the apply.
/// * **SetParameterAttributes** (TR-069 Annex A.3.2.4) is all-or-nothing. Unknown name → 9005;
///   notification 3–6 (lightweight) → 9009, as this agent has no UDP lightweight notification;
///   Active on a `CanDeny` parameter → 9009; anything but Active on a `ForceEnabled` one → 9009
///   (requesting Active there is accepted and changes nothing); an access-list entry other than
///   exactly `Subscriber` → 9003. A partial path applies to every parameter below it, and is
///   refused as a whole if any of them would refuse. Later entries override earlier ones.
/// * **AddObject / DeleteObject** (TR-069 Annex A.3.2.6–A.3.2.7): this store has the schema's fixed set of objects
///   and never creates or removes instances. AddObject on a table → 9004 (a full or fixed table,
///   as GenieACS capture 079 shows for the Desk Phone's one VoiceProfile); DeleteObject on an
///   instance → 9001 "Request denied" (the path is valid, so not 9005; nothing is exhausted, so
///   not 9004; 9001 is the spec's code for a refusal without a more specific reason). Any other
///   path (unknown, not ending in `.`, a table for DeleteObject, a non-table for AddObject) →
///   9005. Accordingly [`get_names`](ParameterStore::get_names) reports every object as
///   `Writable = false`, whatever the schema's `addable` / `deletable` flags say, so the ACS is
///   never told it may do what will be refused.
/// * **ChangeListener** is called only by [`set_internal`](ParameterStore::set_internal), once
///   per call whose value differs from the current one.
/// * **Factory reset** removes every reserved key (values of `Internal` parameters, attributes,
///   `ParameterKey`) and the items of writable `Item` parameters, in one commit. Items of
///   read-only parameters are device facts (serial number, MAC address, firmware version) that
///   the device, not the ACS, owns, so they stay.
///
/// `Debug` shows only sizes, never values.
pub struct SchemaStore<B: ItemBackend> {
    /// Shared between stores over the same schema ([`SharedSchema`]): a simulator with
    /// thousands of devices keeps one copy.
    schema: Arc<Schema>,
    backend: B,
    live: Box<dyn LiveValues + Send>,
    /// Each parameter's default as a value (schema default, else the type default).
    defaults: Arc<[Value]>,
    /// The last value seen or reported for each `Live` parameter, so that `set_internal` on a
    /// live parameter can tell whether it changed, and reads have a value when the device's
    /// [`LiveValues`] knows none.
    live_last: HashMap<usize, Value>,
    listener: Option<ChangeListener>,
    /// Backend keys outside the schema that a factory reset removes too (e.g. certificates kept
    /// as configuration items with no TR-069 name), in the same commit.
    extra_reset_keys: Vec<String>,
}

/// A [`Schema`] and its parameters' default values, prepared once and shared by every
/// [`SchemaStore`] built from it with [`SchemaStore::with_shared`]. Cloning is cheap (two
/// reference counts).
#[derive(Clone)]
pub struct SharedSchema {
    schema: Arc<Schema>,
    defaults: Arc<[Value]>,
}

impl SharedSchema {
    /// Prepare `schema` for sharing.
    pub fn new(schema: Schema) -> SharedSchema {
        let defaults = schema
            .params()
            .iter()
            .map(|p| {
                p.default
                    .as_deref()
                    .and_then(|d| Value::parse(p.ty.xsd_type(), d))
                    .unwrap_or_else(|| p.ty.default_value())
            })
            .collect();
        SharedSchema {
            schema: Arc::new(schema),
            defaults,
        }
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

impl fmt::Debug for SharedSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSchema")
            .field("params", &self.schema.params().len())
            .finish_non_exhaustive()
    }
}

impl<B: ItemBackend> fmt::Debug for SchemaStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaStore")
            .field("params", &self.schema.params().len())
            .field("objects", &self.schema.objects().len())
            .field("change_listener", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

fn internal_error(what: &str, e: &BackendError) -> Fault {
    if let BackendError::Refused(list) = e {
        // The device refused a value: its own fault, not a storage failure.
        if let Some((_, fault)) = list.first() {
            return fault.clone();
        }
    }
    log::error!("{what}: {e}");
    Fault::with_message(
        FaultCode::InternalError,
        format!("Internal error: {what}: configuration storage failed"),
    )
}

impl<B: ItemBackend> SchemaStore<B> {
    /// A store over `schema`, with values in `backend` and live values from `live`.
    ///
    /// # Errors
    /// None today: [`ItemBackend`] reads cannot fail, and unreadable stored values are
    /// tolerated (they read as defaults). The `Result` leaves room for checks at start-up
    /// without changing the signature.
    pub fn open(
        schema: Schema,
        backend: B,
        live: Box<dyn LiveValues + Send>,
    ) -> Result<SchemaStore<B>, BackendError> {
        Ok(SchemaStore::with_backend(schema, backend, live))
    }

    /// [`open`](Self::open) for callers that need no `Result` (the same store, infallibly).
    pub fn with_backend(
        schema: Schema,
        backend: B,
        live: Box<dyn LiveValues + Send>,
    ) -> SchemaStore<B> {
        SchemaStore::with_shared(&SharedSchema::new(schema), backend, live)
    }

    /// A store over a schema prepared once with [`SharedSchema::new`] and shared with other
    /// stores (the schema and its default values are not copied): what a process simulating
    /// many devices of one model uses.
    pub fn with_shared(
        shared: &SharedSchema,
        backend: B,
        live: Box<dyn LiveValues + Send>,
    ) -> SchemaStore<B> {
        SchemaStore {
            schema: shared.schema.clone(),
            backend,
            live,
            defaults: shared.defaults.clone(),
            live_last: HashMap::new(),
            listener: None,
            extra_reset_keys: Vec::new(),
        }
    }

    /// Builder: backend keys that are not parameter items but belong to the device's
    /// configuration, so [`ParameterStore::factory_reset`] removes them in the same atomic
    /// commit as everything else.
    pub fn with_extra_reset_keys<I, S>(mut self, keys: I) -> SchemaStore<B>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_reset_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Report parameters whose values changed by a write the store did not see (a batch the
    /// embedder committed through [`backend_mut`](Self::backend_mut) after validating it) to
    /// the [`ChangeListener`], exactly as [`ParameterStore::set_internal`] would. Names are
    /// reported in the order given; an empty list calls nothing.
    pub fn notify_changed(&mut self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        if let Some(listener) = self.listener.as_mut() {
            listener(names);
        }
    }

    /// The schema this store serves.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The backend (to inspect items, e.g. in tests).
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The backend, mutably. Writes made here bypass the store: no validation and no
    /// [`ChangeListener`] call; use [`ParameterStore::set_internal`] for device-side changes.
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// Give the backend back (e.g. to reopen a store over the same storage).
    pub fn into_backend(self) -> B {
        self.backend
    }

    /// Every reserved key (prefix [`RESERVED_PREFIX`]) a store over `schema` may write: the
    /// values of `Internal` parameters, each parameter's notification and access-list
    /// attributes, and the `ParameterKey` when the schema has no parameter for it.
    ///
    /// For a backend that cannot list its keys (one over a foreign configuration system):
    /// its [`ItemBackend::keys`] may return these, filtered to the ones it holds.
    pub fn reserved_keys(schema: &Schema) -> Vec<String> {
        let mut keys = Vec::with_capacity(schema.params().len() * 2 + 1);
        for def in schema.params() {
            if let Source::Internal = def.source {
                keys.push(format!("{VALUE_PREFIX}{}", def.name));
            }
            if let Source::Item(key) = &def.source {
                keys.push(crate::backend::ValueOrigin::key_for(key));
            }
            keys.push(format!("{NOTIFICATION_PREFIX}{}", def.name));
            keys.push(format!("{ACCESS_PREFIX}{}", def.name));
        }
        if schema.parameter_key().is_none() {
            keys.push(PARAMETER_KEY_KEY.to_owned());
        }
        keys
    }

    /// The current `ParameterKey` (TR-069 Annex A.3.2.1): the value of
    /// `<root>.ManagementServer.ParameterKey` when the schema has it, else the reserved key.
    pub fn parameter_key(&mut self) -> String {
        match self
            .schema
            .parameter_key()
            .and_then(|p| self.schema.param_index(&p.name))
        {
            Some(i) => self.read(i).to_lexical(),
            None => self.backend.get(PARAMETER_KEY_KEY).unwrap_or_default(),
        }
    }

    /// The backend key holding a stored parameter's value (`None` for constants and live values).
    fn value_key(def: &ParamDef) -> Option<String> {
        match &def.source {
            Source::Item(key) => Some(key.clone()),
            Source::Internal => Some(format!("{VALUE_PREFIX}{}", def.name)),
            Source::Constant(_) | Source::Live => None,
        }
    }

    /// The real (unmasked) value of parameter `i`.
    fn read(&mut self, i: usize) -> Value {
        let def = &self.schema.params()[i];
        let wire = def.ty.xsd_type();
        let from_text = |text: Option<String>, what: &str| -> Option<Value> {
            let text = text?;
            let parsed = Value::parse(wire, &text);
            if parsed.is_none() {
                log::warn!(
                    "{}: {what} is not a valid {wire}; using the default",
                    def.name
                );
            }
            parsed
        };
        let value = match &def.source {
            Source::Item(key) => from_text(self.backend.get(key), "stored item"),
            Source::Internal => from_text(
                self.backend.get(&format!("{VALUE_PREFIX}{}", def.name)),
                "stored value",
            ),
            Source::Constant(text) => from_text(Some(text.clone()), "constant"),
            Source::Live => {
                let live = from_text(self.live.live_value(&def.name), "live value");
                match live {
                    Some(v) => {
                        self.live_last.insert(i, v.clone());
                        Some(v)
                    }
                    None => self.live_last.get(&i).cloned(),
                }
            }
        };
        value.unwrap_or_else(|| self.defaults[i].clone())
    }

    /// The value of parameter `i` as the ACS sees it: secrets read as `""` (TR-069 Annex A.3.3.1, §3.3).
    fn read_masked(&mut self, i: usize) -> ParameterValue {
        let def = &self.schema.params()[i];
        if def.secret {
            return ParameterValue {
                name: def.name.clone(),
                value: Value::String(String::new()),
            };
        }
        let name = def.name.clone();
        ParameterValue {
            name,
            value: self.read(i),
        }
    }

    /// Resolve every name (full or partial) or fail with 9005 for the first unknown one.
    fn select_all(&self, names: &[String]) -> Result<Vec<Range<usize>>, Fault> {
        names
            .iter()
            .map(|n| self.schema.select(n).ok_or_else(|| unknown(n)))
            .collect()
    }

    fn notification(&self, i: usize) -> Notification {
        let def = &self.schema.params()[i];
        if def.active_notify == ActiveNotify::ForceEnabled {
            return Notification::Active;
        }
        self.backend
            .get(&format!("{NOTIFICATION_PREFIX}{}", def.name))
            .and_then(|s| s.trim().parse::<i32>().ok())
            .filter(|n| (0..=2).contains(n))
            .and_then(Notification::from_i32)
            .unwrap_or(def.default_notification)
    }

    fn access_list(&self, i: usize) -> Vec<String> {
        let def = &self.schema.params()[i];
        match self.backend.get(&format!("{ACCESS_PREFIX}{}", def.name)) {
            Some(s) if s.split(',').any(|e| e.trim() == SUBSCRIBER) => vec![SUBSCRIBER.to_owned()],
            _ => Vec::new(),
        }
    }

    /// The batch entry that sets the `ParameterKey`, after checking it fits its type (9003).
    fn parameter_key_entry(&self, key: &str) -> Result<(String, Option<String>), Fault> {
        match self.schema.parameter_key() {
            Some(def) => {
                def.ty.parse_with_reason(key, None).map_err(|e| {
                    Fault::with_message(
                        FaultCode::InvalidArguments,
                        format!("Invalid arguments: ParameterKey {}", e.reason),
                    )
                })?;
                // `Schema::new` guarantees a stored source.
                let k = Self::value_key(def).unwrap_or_else(|| PARAMETER_KEY_KEY.to_owned());
                Ok((k, Some(key.to_owned())))
            }
            None => {
                if key.chars().count() > PARAMETER_KEY_MAX {
                    return Err(Fault::with_message(
                        FaultCode::InvalidArguments,
                        "Invalid arguments: ParameterKey longer than 32 characters",
                    ));
                }
                Ok((PARAMETER_KEY_KEY.to_owned(), Some(key.to_owned())))
            }
        }
    }
}

impl<B: ItemBackend + 'static> ParameterStore for SchemaStore<B> {
    /// GetParameterValues (TR-069 Annex A.3.2.2): every name is checked first (any unknown → 9005),
    /// then values are read in request order, data-model order within a partial path.
    fn get_values(&mut self, names: &[String]) -> Result<Vec<ParameterValue>, Fault> {
        let ranges = self.select_all(names)?;
        let mut out = Vec::with_capacity(ranges.iter().map(|r| r.len()).sum());
        for range in ranges {
            for i in range {
                out.push(self.read_masked(i));
            }
        }
        Ok(out)
    }

    /// GetParameterNames (TR-069 Annex A.3.2.3) via [`Schema::names`], with every object reported as
    /// not writable, since this store never adds or deletes instances.
    fn get_names(&mut self, path: &str, next_level: bool) -> Result<Vec<ParameterInfo>, Fault> {
        let mut infos = self.schema.names(path, next_level)?;
        for info in &mut infos {
            if info.name.ends_with('.') {
                info.writable = false;
            }
        }
        Ok(infos)
    }

    fn set_values(
        &mut self,
        values: &[SetValue],
        parameter_key: &str,
    ) -> Result<ApplyStatus, SetError> {
        let mut seen = HashSet::with_capacity(values.len());
        for v in values {
            if !seen.insert(v.name.as_str()) {
                return Err(SetError::Fault(Fault::with_message(
                    FaultCode::InvalidArguments,
                    format!("Invalid arguments: {} appears twice", v.name),
                )));
            }
        }
        let key_entry = self.parameter_key_entry(parameter_key)?;

        let mut faults = Vec::new();
        let mut batch: ItemBatch = Vec::with_capacity(values.len() + 1);
        // Which request entry each batch entry came from, to name refused items.
        let mut origin: Vec<&str> = Vec::with_capacity(values.len());
        for v in values {
            let fault = |code: FaultCode, why: &str| ParameterFault {
                name: v.name.clone(),
                code,
                message: format!("{}: {why}", code.description()),
            };
            let Some(def) = self.schema.param(&v.name) else {
                faults.push(fault(FaultCode::InvalidParameterName, "no such parameter"));
                continue;
            };
            if def.access != Access::ReadWrite {
                faults.push(fault(FaultCode::NonWritableParameter, "read-only"));
                continue;
            }
            match def.ty.parse_with_reason(&v.value, v.xsi_type) {
                Err(e) => faults.push(fault(e.code, &e.reason)),
                Ok(value) => match Self::value_key(def) {
                    Some(key) => {
                        batch.push((key, Some(value.to_lexical())));
                        origin.push(v.name.as_str());
                    }
                    // `Schema::new` refuses writable constants and live values.
                    None => faults.push(fault(FaultCode::NonWritableParameter, "not stored")),
                },
            }
        }
        if !faults.is_empty() {
            return Err(SetError::Parameters(faults));
        }
        // Who wrote them (shown by local management pages), in the same atomic commit.
        let records = crate::backend::ValueOrigin::Acs.records(&batch);
        batch.extend(records);
        // The key goes last so it wins should the schema make ParameterKey itself writable.
        batch.push(key_entry);
        let keys: Vec<String> = batch.iter().map(|(k, _)| k.clone()).collect();
        match self.backend.commit(batch) {
            Ok(()) => Ok(ApplyStatus::Applied),
            Err(BackendError::Refused(refused)) => {
                // Each refused key becomes the fault of the request entries stored under it;
                // a refused key no entry names (the ParameterKey) fails the whole request.
                let mut faults = Vec::new();
                for (key, fault) in &refused {
                    let names: Vec<&str> = keys
                        .iter()
                        .zip(origin.iter())
                        .filter(|(k, _)| *k == key)
                        .map(|(_, n)| *n)
                        .collect();
                    if names.is_empty() {
                        return Err(SetError::Fault(fault.clone()));
                    }
                    faults.extend(names.into_iter().map(|name| ParameterFault {
                        name: name.to_owned(),
                        code: fault.code,
                        message: fault.message.clone(),
                    }));
                }
                if faults.is_empty() {
                    return Err(SetError::Fault(internal_error(
                        "SetParameterValues",
                        &BackendError::Refused(refused),
                    )));
                }
                Err(SetError::Parameters(faults))
            }
            Err(e) => Err(internal_error("SetParameterValues", &e).into()),
        }
    }

    fn get_attributes(&mut self, names: &[String]) -> Result<Vec<ParameterAttributes>, Fault> {
        let ranges = self.select_all(names)?;
        let mut out = Vec::with_capacity(ranges.iter().map(|r| r.len()).sum());
        for range in ranges {
            for i in range {
                out.push(ParameterAttributes {
                    name: self.schema.params()[i].name.clone(),
                    notification: self.notification(i),
                    access_list: self.access_list(i),
                });
            }
        }
        Ok(out)
    }

    fn set_attributes(&mut self, changes: &[SetAttributes]) -> Result<(), Fault> {
        let rejected = |name: &str, why: &str| {
            Fault::with_message(
                FaultCode::NotificationRequestRejected,
                format!("Notification request rejected: {name}: {why}"),
            )
        };
        // New attributes per parameter, built on the current ones; applied only if all pass.
        let mut pending: BTreeMap<usize, (Notification, bool)> = BTreeMap::new();
        for change in changes {
            let range = self
                .schema
                .select(&change.name)
                .ok_or_else(|| unknown(&change.name))?;
            if let Some(n) = change.notification {
                if n.as_i32() > 2 {
                    return Err(rejected(
                        &change.name,
                        "lightweight notification is not supported",
                    ));
                }
            }
            let subscriber = match &change.access_list {
                None => None,
                Some(list) => {
                    if let Some(bad) = list.iter().find(|e| e.as_str() != SUBSCRIBER) {
                        return Err(Fault::with_message(
                            FaultCode::InvalidArguments,
                            format!(
                                "Invalid arguments: access list entry {bad:?} (only {SUBSCRIBER} is defined)"
                            ),
                        ));
                    }
                    Some(!list.is_empty())
                }
            };
            for i in range {
                let def = &self.schema.params()[i];
                if let Some(n) = change.notification {
                    match def.active_notify {
                        ActiveNotify::CanDeny if n == Notification::Active => {
                            return Err(rejected(&def.name, "active notification is denied"));
                        }
                        ActiveNotify::ForceEnabled if n != Notification::Active => {
                            return Err(rejected(&def.name, "active notification is forced on"));
                        }
                        _ => {}
                    }
                }
                let current = match pending.get(&i) {
                    Some(&state) => state,
                    None => (self.notification(i), !self.access_list(i).is_empty()),
                };
                let next = (
                    change.notification.unwrap_or(current.0),
                    subscriber.unwrap_or(current.1),
                );
                pending.insert(i, next);
            }
        }
        let mut batch: ItemBatch = Vec::new();
        for (i, (notification, subscriber)) in pending {
            let def = &self.schema.params()[i];
            let stored_n = (def.active_notify != ActiveNotify::ForceEnabled
                && notification != def.default_notification)
                .then(|| notification.as_i32().to_string());
            batch.push((format!("{NOTIFICATION_PREFIX}{}", def.name), stored_n));
            batch.push((
                format!("{ACCESS_PREFIX}{}", def.name),
                subscriber.then(|| SUBSCRIBER.to_owned()),
            ));
        }
        // Drop entries that would not change the backend, so a no-op request writes nothing.
        batch.retain(|(k, v)| self.backend.get(k) != *v);
        if batch.is_empty() {
            return Ok(());
        }
        self.backend
            .commit(batch)
            .map_err(|e| internal_error("SetParameterAttributes", &e))
    }

    /// AddObject (TR-069 Annex A.3.2.6–A.3.2.7): 9004 on a table (this store's objects are fixed), 9005 on
    /// anything else. See [`SchemaStore`] for why.
    fn add_object(
        &mut self,
        object: &str,
        _parameter_key: &str,
    ) -> Result<(u32, ApplyStatus), Fault> {
        let obj = self.schema.object(object).ok_or_else(|| unknown(object))?;
        let ObjectKind::Table {
            addable,
            max_instances,
        } = obj.kind
        else {
            return Err(Fault::with_message(
                FaultCode::InvalidParameterName,
                format!("Invalid parameter name: {object} is not a multi-instance table"),
            ));
        };
        let count = self.schema.instance_count(object).unwrap_or(0);
        let why = if !addable {
            "the table has a fixed set of instances".to_owned()
        } else if max_instances.is_some_and(|m| count >= m as usize) {
            format!("the table is full ({count} instances)")
        } else {
            "this device does not create instances".to_owned()
        };
        Err(Fault::with_message(
            FaultCode::ResourcesExceeded,
            format!("Resources exceeded: {object}: {why}"),
        ))
    }

    /// DeleteObject (TR-069 Annex A.3.2.6–A.3.2.7): 9001 on an instance (this store's objects are fixed), 9005
    /// on anything else. See [`SchemaStore`] for why.
    fn delete_object(&mut self, object: &str, _parameter_key: &str) -> Result<ApplyStatus, Fault> {
        let obj = self.schema.object(object).ok_or_else(|| unknown(object))?;
        match obj.kind {
            ObjectKind::Instance { .. } => Err(Fault::with_message(
                FaultCode::RequestDenied,
                format!("Request denied: {object} cannot be deleted"),
            )),
            _ => Err(Fault::with_message(
                FaultCode::InvalidParameterName,
                format!("Invalid parameter name: {object} is not a table instance"),
            )),
        }
    }

    fn forced_inform(&mut self) -> Result<Vec<ParameterValue>, Fault> {
        let forced: Vec<usize> = (0..self.schema.params().len())
            .filter(|&i| self.schema.params()[i].forced_inform)
            .collect();
        Ok(forced.into_iter().map(|i| self.read_masked(i)).collect())
    }

    fn internal_value(&mut self, name: &str) -> Option<Value> {
        let i = self.schema.param_index(name)?;
        Some(self.read(i))
    }

    /// A device-side write: 9005 unknown, 9008 for a firmware constant, 9006 / 9007 for a
    /// value the type refuses (constraints included; access rights are not checked). A live
    /// parameter's new value is remembered in memory only (the device owns it); a stored one is
    /// committed. The listener hears the name iff the value differs from the current one (for
    /// a live parameter: from the last value the store saw, else its default).
    fn set_internal(&mut self, name: &str, value: &str) -> Result<(), Fault> {
        let i = self.schema.param_index(name).ok_or_else(|| unknown(name))?;
        let def = &self.schema.params()[i];
        if let Source::Constant(_) = def.source {
            return Err(Fault::with_message(
                FaultCode::NonWritableParameter,
                format!("{name} is a firmware constant"),
            ));
        }
        let new = def.ty.parse_with_reason(value, None).map_err(Fault::from)?;
        let key = Self::value_key(def);
        let changed = match key {
            None => {
                // A live parameter: the device owns the value; remember what it reported.
                let old = self
                    .live_last
                    .insert(i, new.clone())
                    .unwrap_or_else(|| self.defaults[i].clone());
                old != new
            }
            Some(key) => {
                if self.read(i) == new {
                    false
                } else {
                    self.backend
                        .commit(vec![(key, Some(new.to_lexical()))])
                        .map_err(|e| internal_error("set_internal", &e))?;
                    true
                }
            }
        };
        if changed {
            let name = self.schema.params()[i].name.clone();
            if let Some(listener) = self.listener.as_mut() {
                listener(&[name]);
            }
        }
        Ok(())
    }

    fn factory_reset(&mut self) -> Result<(), Fault> {
        let mut keys: Vec<String> = self
            .backend
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(RESERVED_PREFIX))
            .collect();
        for def in self.schema.params() {
            if let (Source::Item(key), Access::ReadWrite) = (&def.source, def.access) {
                keys.push(key.clone());
            }
        }
        keys.extend(self.extra_reset_keys.iter().cloned());
        keys.sort();
        keys.dedup();
        self.backend
            .commit(keys.into_iter().map(|k| (k, None)).collect())
            .map_err(|e| internal_error("FactoryReset", &e))
    }

    fn set_change_listener(&mut self, listener: ChangeListener) {
        self.listener = Some(listener);
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryBackend, MemoryStore};
    use crate::types::{BaseType, ParamType};
    use crate::ObjectDef;
    use std::sync::{Arc, Mutex};

    /// A small schema without a ParameterKey parameter, with addable / deletable objects.
    fn schema() -> Schema {
        let p = |name: &str, base, access, source| {
            ParamDef::new(name, ParamType::new(base), access, source)
        };
        let mut pw = p(
            "Device.X.Password",
            BaseType::String,
            Access::ReadWrite,
            Source::Item("pw".into()),
        );
        pw.secret = true;
        let mut flag = p(
            "Device.X.Flag",
            BaseType::Boolean,
            Access::ReadWrite,
            Source::Item("flag".into()),
        );
        flag.default = Some("true".into());
        let params = vec![
            flag,
            pw,
            p(
                "Device.X.Serial",
                BaseType::String,
                Access::ReadOnly,
                Source::Item("serial".into()),
            ),
            p(
                "Device.X.Count",
                BaseType::UnsignedInt,
                Access::ReadWrite,
                Source::Item("count".into()),
            ),
            p(
                "Device.X.Const",
                BaseType::String,
                Access::ReadOnly,
                Source::Constant("c".into()),
            ),
            p(
                "Device.X.Live",
                BaseType::String,
                Access::ReadOnly,
                Source::Live,
            ),
            p(
                "Device.X.Internal",
                BaseType::String,
                Access::ReadOnly,
                Source::Internal,
            ),
            p(
                "Device.T.1.Name",
                BaseType::String,
                Access::ReadWrite,
                Source::Internal,
            ),
        ];
        let o = |path: &str, kind| ObjectDef {
            path: path.into(),
            kind,
        };
        let objects = vec![
            o("Device.", ObjectKind::Single),
            o("Device.X.", ObjectKind::Single),
            o(
                "Device.T.",
                ObjectKind::Table {
                    addable: true,
                    max_instances: Some(4),
                },
            ),
            o("Device.T.1.", ObjectKind::Instance { deletable: true }),
            o(
                "Device.U.",
                ObjectKind::Table {
                    addable: true,
                    max_instances: Some(0),
                },
            ),
        ];
        Schema::new(params, objects).unwrap()
    }

    /// Live values the test can change.
    #[derive(Clone, Default)]
    struct Lives(Arc<Mutex<Option<String>>>);
    impl LiveValues for Lives {
        fn live_value(&mut self, name: &str) -> Option<String> {
            assert_eq!(name, "Device.X.Live");
            self.0.lock().unwrap().clone()
        }
    }

    fn store() -> (MemoryStore, MemoryBackend, Lives) {
        let backend = MemoryBackend::new();
        let lives = Lives::default();
        let s = SchemaStore::open(schema(), backend.clone(), Box::new(lives.clone())).unwrap();
        (s, backend, lives)
    }

    /// A backend whose device refuses `count` values above 10 (a check beyond the schema).
    struct Picky(MemoryBackend);
    impl ItemBackend for Picky {
        fn get(&self, key: &str) -> Option<String> {
            self.0.get(key)
        }
        fn commit(&mut self, batch: ItemBatch) -> Result<(), BackendError> {
            let refused: Vec<(String, Fault)> = batch
                .iter()
                .filter(|(k, v)| {
                    k == "count" && v.as_deref().and_then(|v| v.parse::<u32>().ok()) > Some(10)
                })
                .map(|(k, _)| {
                    let f = Fault::with_message(FaultCode::InvalidParameterValue, "too many");
                    (k.clone(), f)
                })
                .collect();
            if refused.is_empty() {
                self.0.commit(batch)
            } else {
                Err(BackendError::Refused(refused))
            }
        }
        fn keys(&self) -> Vec<String> {
            self.0.keys()
        }
    }

    #[test]
    fn a_refusing_backend_gives_per_parameter_faults_and_changes_nothing() {
        let b = MemoryBackend::new();
        let mut s =
            SchemaStore::with_backend(schema(), Picky(b.clone()), Box::new(Lives::default()));
        let err = s
            .set_values(
                &[sv("Device.X.Flag", "false"), sv("Device.X.Count", "11")],
                "k1",
            )
            .unwrap_err();
        let SetError::Parameters(faults) = err else {
            panic!("{err:?}")
        };
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].name, "Device.X.Count");
        assert_eq!(faults[0].code, FaultCode::InvalidParameterValue);
        assert!(b.snapshot().is_empty(), "nothing applied");
        assert_eq!(
            s.set_internal("Device.X.Count", "12").unwrap_err().code,
            FaultCode::InvalidParameterValue
        );
        s.set_values(&[sv("Device.X.Count", "9")], "k2").unwrap();
        assert_eq!(b.get("count").as_deref(), Some("9"));
    }

    #[test]
    fn reserved_keys_cover_everything_the_store_writes() {
        let (mut s, b, _) = store();
        s.set_values(&[sv("Device.T.1.Name", "x")], "key").unwrap();
        s.set_attributes(&[SetAttributes {
            name: "Device.X.".into(),
            notification: Some(Notification::Passive),
            access_list: Some(vec![SUBSCRIBER.into()]),
        }])
        .unwrap();
        let all = MemoryStore::reserved_keys(s.schema());
        for k in b
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(RESERVED_PREFIX))
        {
            assert!(all.contains(&k), "{k}");
        }
    }

    fn sv(name: &str, value: &str) -> SetValue {
        SetValue {
            name: name.into(),
            value: value.into(),
            xsi_type: None,
        }
    }

    fn calls(s: &mut MemoryStore) -> Arc<Mutex<Vec<String>>> {
        let c: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&c);
        s.set_change_listener(Box::new(move |n| sink.lock().unwrap().extend_from_slice(n)));
        c
    }

    #[test]
    fn values_are_stored_canonical_and_read_leniently() {
        let (mut s, b, _) = store();
        s.set_values(
            &[sv("Device.X.Flag", "0"), sv("Device.X.Count", "+007")],
            "k",
        )
        .unwrap();
        let items = b.snapshot();
        assert_eq!(items.get("flag").map(String::as_str), Some("false"));
        assert_eq!(items.get("count").map(String::as_str), Some("7"));
        assert_eq!(items.get(PARAMETER_KEY_KEY).map(String::as_str), Some("k"));
        assert_eq!(s.parameter_key(), "k");
        // The device's own spelling reads fine; garbage reads as the default.
        b.insert("flag", "1");
        assert_eq!(
            s.internal_value("Device.X.Flag"),
            Some(Value::Boolean(true))
        );
        b.insert("flag", "yes please");
        assert_eq!(
            s.internal_value("Device.X.Flag"),
            Some(Value::Boolean(true))
        );
        b.insert("count", "-3");
        assert_eq!(
            s.internal_value("Device.X.Count"),
            Some(Value::UnsignedInt(0))
        );
        // A ParameterKey over 32 characters is refused when the schema has no parameter for it.
        let r = s.set_values(&[], &"k".repeat(33));
        assert!(matches!(r, Err(SetError::Fault(f)) if f.code == FaultCode::InvalidArguments));
    }

    #[test]
    fn attributes_are_stored_only_when_not_default() {
        let (mut s, b, _) = store();
        let sa = |n: Option<Notification>, acl: Option<Vec<String>>| SetAttributes {
            name: "Device.X.Flag".into(),
            notification: n,
            access_list: acl,
        };
        s.set_attributes(&[sa(
            Some(Notification::Passive),
            Some(vec![SUBSCRIBER.into(), SUBSCRIBER.into()]),
        )])
        .unwrap();
        let items = b.snapshot();
        assert_eq!(
            items
                .get("cwmp:notification:Device.X.Flag")
                .map(String::as_str),
            Some("1")
        );
        assert_eq!(
            items
                .get("cwmp:access-list:Device.X.Flag")
                .map(String::as_str),
            Some("Subscriber")
        );
        let got = s.get_attributes(&["Device.X.Flag".into()]).unwrap();
        assert_eq!(got[0].access_list, vec![SUBSCRIBER.to_owned()]);
        s.set_attributes(&[sa(Some(Notification::Off), Some(vec![]))])
            .unwrap();
        assert!(b
            .keys()
            .iter()
            .all(|k| !k.starts_with("cwmp:notification:") && !k.starts_with("cwmp:access-list:")));
        // A request that changes nothing writes nothing.
        let commits = b.commits();
        s.set_attributes(&[sa(Some(Notification::Off), None)])
            .unwrap();
        s.set_attributes(&[]).unwrap();
        assert_eq!(b.commits(), commits);
    }

    #[test]
    fn factory_reset_keeps_device_facts_and_foreign_items() {
        let (mut s, b, _) = store();
        b.insert("serial", "SN42");
        b.insert("ocms-only-item", "x");
        s.set_values(
            &[sv("Device.X.Flag", "false"), sv("Device.T.1.Name", "n")],
            "k",
        )
        .unwrap();
        s.set_internal("Device.X.Internal", "i").unwrap();
        s.factory_reset().unwrap();
        let items = b.snapshot();
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items.get("serial").map(String::as_str), Some("SN42"));
        assert_eq!(items.get("ocms-only-item").map(String::as_str), Some("x"));
        assert_eq!(
            s.internal_value("Device.X.Flag"),
            Some(Value::Boolean(true))
        );
        assert_eq!(s.parameter_key(), "");
    }

    /// An ACS write records its origin beside the value in the same commit; a factory reset
    /// clears the record with the value.
    #[test]
    fn acs_writes_record_their_origin() {
        let (mut s, b, _) = store();
        assert_eq!(crate::ValueOrigin::of(s.backend(), "flag"), None);
        s.set_values(&[sv("Device.X.Flag", "false")], "k").unwrap();
        assert_eq!(
            crate::ValueOrigin::of(s.backend(), "flag"),
            Some(crate::ValueOrigin::Acs)
        );
        assert_eq!(
            b.snapshot().get("cwmp:origin:flag").map(String::as_str),
            Some("acs")
        );
        s.factory_reset().unwrap();
        assert_eq!(crate::ValueOrigin::of(s.backend(), "flag"), None);
    }

    #[test]
    fn live_and_constant_parameters() {
        let (mut s, _, lives) = store();
        let c = calls(&mut s);
        let live = "Device.X.Live";
        assert_eq!(s.internal_value(live), Some(Value::String(String::new())));
        // The device reports a value: remembered, reported once, and read when LiveValues has none.
        s.set_internal(live, "10.0.0.1").unwrap();
        s.set_internal(live, "10.0.0.1").unwrap();
        assert_eq!(*c.lock().unwrap(), vec![live.to_owned()]);
        assert_eq!(
            s.internal_value(live),
            Some(Value::String("10.0.0.1".into()))
        );
        // LiveValues wins when it knows, and what it said counts as seen.
        *lives.0.lock().unwrap() = Some("10.0.0.2".into());
        assert_eq!(
            s.internal_value(live),
            Some(Value::String("10.0.0.2".into()))
        );
        s.set_internal(live, "10.0.0.2").unwrap();
        assert_eq!(c.lock().unwrap().len(), 1);
        let f = s.set_internal("Device.X.Const", "d").unwrap_err();
        assert_eq!(f.code, FaultCode::NonWritableParameter);
        assert_eq!(
            s.internal_value("Device.X.Const"),
            Some(Value::String("c".into()))
        );
    }

    #[test]
    fn objects_are_fixed_and_reported_so() {
        let (mut s, _, _) = store();
        // The schema says addable / deletable, the store cannot: GPN says not writable.
        let infos = s.get_names("Device.", false).unwrap();
        assert!(infos
            .iter()
            .filter(|i| i.name.ends_with('.'))
            .all(|i| !i.writable));
        assert!(infos
            .iter()
            .any(|i| i.name == "Device.T.1.Name" && i.writable));
        let f = s.add_object("Device.T.", "k").unwrap_err();
        assert_eq!(f.code, FaultCode::ResourcesExceeded);
        assert!(f.message.contains("does not create"), "{}", f.message);
        let f = s.add_object("Device.U.", "k").unwrap_err();
        assert_eq!(f.code, FaultCode::ResourcesExceeded);
        assert!(f.message.contains("full"), "{}", f.message);
        let f = s.delete_object("Device.T.1.", "k").unwrap_err();
        assert_eq!(f.code, FaultCode::RequestDenied);
        assert_eq!(s.parameter_key(), "");
    }

    #[test]
    fn stores_can_move_to_another_thread() {
        fn is_send<T: Send>() {}
        is_send::<MemoryStore>();
        is_send::<Schema>();
    }

    #[test]
    fn debug_never_shows_values() {
        let (mut s, b, _) = store();
        s.set_values(&[sv("Device.X.Password", "very-secret")], "k")
            .unwrap();
        assert_eq!(
            s.internal_value("Device.X.Password"),
            Some(Value::String("very-secret".into()))
        );
        let shown = format!("{s:?} {b:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("pw"), "keys are shown: {shown}");
        let got = s.get_values(&["Device.X.".into()]).unwrap();
        assert!(!format!("{got:?}").contains("very-secret"));
    }
}

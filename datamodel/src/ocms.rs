//! [`OcmsStore`]: the phone's [`ParameterStore`](cwmp_model::ParameterStore), a
//! `SchemaStore` over the [`FileBackend`], and the item-level operations the daemon needs on
//! top of it (admin / configuration-file / vendor-configuration-file writes, factory reset of
//! the items that have no TR-069 name).
//!
//! # How items with no TR-069 name are persisted
//!
//! `acs-server-ca-certificate-1/-2`, `acs-client-certificate` and `acs-client-key` live in the
//! same [`FileBackend`] as every other item, under their own names. The `SchemaStore` never
//! sees them (no parameter names them), so the ACS can neither read nor write them, and they
//! are never part of a GetParameterValues answer. [`apply_items`] writes any mix of items, with
//! and without TR-069 names, in **one** backend commit, so a vendor configuration file that
//! changes the SIP registrar and installs a client certificate and key is applied entirely or
//! not at all.

use crate::error::Error;
use crate::file_backend::FileBackend;
use crate::live::{DeskPhoneLive, InvalidMacAddress};
use crate::model::DeskPhoneModel;
use cwmp_model::{
    BackendError, Fault, FaultCode, ItemBackend, ItemBatch, LiveValues, ParameterFault,
    ParameterStore, SchemaStore, SetError, ValueOrigin,
};
use std::collections::HashSet;
use std::path::Path;

/// The Desk Phone's parameter store: CWMP rules from `SchemaStore`, items in a [`FileBackend`].
pub type OcmsStore = SchemaStore<FileBackend>;

/// The item whose value `DeviceInfo.SerialNumber` is derived from.
const MAC_ITEM: &str = "mac-address";

/// Open the phone's store in `state_dir` (created if missing) with the given live values.
///
/// Errors are the [`FileBackend::open`] ones: I/O, or [`BackendError::Corrupt`] for an item
/// file that cannot be read (never silently reset).
pub fn open_store(
    state_dir: impl AsRef<Path>,
    model: &DeskPhoneModel,
    live: Box<dyn LiveValues + Send>,
) -> Result<OcmsStore, BackendError> {
    let backend = FileBackend::open(state_dir)?;
    // Items with no TR-069 name (certificates, keys) are configuration too: FactoryReset
    // clears them in the same commit as the parameters.
    Ok(SchemaStore::open(model.schema().clone(), backend, live)?
        .with_extra_reset_keys(item_only_keys(model)))
}

/// The items with no TR-069 name (certificates and keys).
fn item_only_keys(model: &DeskPhoneModel) -> Vec<String> {
    model
        .items()
        .iter()
        .filter(|it| it.params().is_empty())
        .map(|it| it.name().to_owned())
        .collect()
}

/// The [`DeskPhoneLive`] of the phone whose items are in `backend`: its serial number comes
/// from the stored `mac-address` item, or the table's default when none is stored.
pub fn live_for_backend(
    model: &DeskPhoneModel,
    backend: &dyn ItemBackend,
) -> Result<DeskPhoneLive, InvalidMacAddress> {
    let mac = model.item_value(backend, MAC_ITEM).unwrap_or_default();
    DeskPhoneLive::new(&mac)
}

/// Open the phone's store with [`DeskPhoneLive`] values built from its stored MAC address;
/// `fallback`, if given, is asked first for every live value (see [`DeskPhoneLive`]).
/// Returns the store and the handle that changes `DeviceStatus`.
pub fn open_phone(
    state_dir: impl AsRef<Path>,
    model: &DeskPhoneModel,
    fallback: Option<Box<dyn LiveValues + Send>>,
) -> Result<(OcmsStore, crate::DeviceStatusHandle), Error> {
    let backend = FileBackend::open(state_dir).map_err(Error::Backend)?;
    let mut live = live_for_backend(model, &backend).map_err(Error::Mac)?;
    if let Some(f) = fallback {
        live = live.with_fallback(f);
    }
    let status = live.status_handle();
    let store = SchemaStore::open(model.schema().clone(), backend, Box::new(live))
        .map_err(Error::Backend)?
        .with_extra_reset_keys(item_only_keys(model));
    Ok((store, status))
}

/// Write configuration items (the local admin, the daemon's configuration file, a vendor
/// configuration file) in one atomic, durable commit.
///
/// Every value is checked with [`DeskPhoneModel::validate_item`] first; any failure changes
/// nothing and returns [`SetError::Parameters`] with one entry per refused item (the entry's
/// `name` is the item name). An item given twice is [`SetError::Fault`] 9003, a storage failure
/// 9002. Access rights do not apply: the local side may set read-only parameters' items
/// (`ipaddress`, `device-type`) and items with no TR-069 name.
///
/// Returns the TR-069 parameters whose value changed, in data-model order, and reports the same
/// names to the store's `ChangeListener` (design invariant 5: pushed, not polled), so the engine
/// hears of them like any other device-side change.
///
/// Generic over the backend so stores kept elsewhere than in a [`FileBackend`] (the fleet
/// simulator's in-memory phones) apply items the same way.
pub fn apply_items<B: ItemBackend + 'static>(
    store: &mut SchemaStore<B>,
    model: &DeskPhoneModel,
    items: &[(String, String)],
) -> Result<Vec<String>, SetError> {
    apply(store, model, items, None)
}

/// [`apply_items`] for a write that has an author (a local change, an ACS configuration
/// file, a provisioning file): each item's [`ValueOrigin`] is recorded in the same commit.
/// Plain [`apply_items`] records none: factory defaults and values the phone keeps itself.
pub fn apply_items_as<B: ItemBackend + 'static>(
    store: &mut SchemaStore<B>,
    model: &DeskPhoneModel,
    items: &[(String, String)],
    origin: ValueOrigin,
) -> Result<Vec<String>, SetError> {
    apply(store, model, items, Some(origin))
}

fn apply<B: ItemBackend + 'static>(
    store: &mut SchemaStore<B>,
    model: &DeskPhoneModel,
    items: &[(String, String)],
    origin: Option<ValueOrigin>,
) -> Result<Vec<String>, SetError> {
    let mut seen = HashSet::with_capacity(items.len());
    for (name, _) in items {
        if !seen.insert(name.as_str()) {
            return Err(SetError::Fault(Fault::with_message(
                FaultCode::InvalidArguments,
                format!("Invalid arguments: item {name} appears twice"),
            )));
        }
    }
    let mut faults = Vec::new();
    let mut batch: ItemBatch = Vec::with_capacity(items.len());
    for (name, value) in items {
        match model.validate_item(name, value) {
            Ok(canonical) => batch.push((name.clone(), Some(canonical))),
            Err(f) => faults.push(ParameterFault {
                name: name.clone(),
                code: f.code,
                message: f.message,
            }),
        }
    }
    if !faults.is_empty() {
        return Err(SetError::Parameters(faults));
    }
    // Which parameters change: compare what the store reads now with what it will read.
    let before: Vec<(String, Option<cwmp_model::Value>)> = changed_candidates(model, &batch)
        .into_iter()
        .map(|p| {
            let v = store.internal_value(&p);
            (p, v)
        })
        .collect();
    if let Some(o) = origin {
        let records = o.records(&batch);
        batch.extend(records);
    }
    store.backend_mut().commit(batch).map_err(|e| {
        log::error!("writing configuration items: {e}");
        SetError::Fault(Fault::with_message(
            FaultCode::InternalError,
            "Internal error: configuration storage failed",
        ))
    })?;
    let mut changed: Vec<String> = before
        .into_iter()
        .filter(|(p, old)| store.internal_value(p) != *old)
        .map(|(p, _)| p)
        .collect();
    changed.sort_by_key(|p| model.schema().param_index(p));
    // Changes by other means than the ACS reach the engine through the store's listener,
    // like every other device-side write.
    store.notify_changed(&changed);
    Ok(changed)
}

/// The parameters stored in the items of `batch`.
fn changed_candidates(model: &DeskPhoneModel, batch: &ItemBatch) -> Vec<String> {
    batch
        .iter()
        .filter_map(|(name, _)| model.item(name))
        .flat_map(|it| it.params().iter().cloned())
        .collect()
}

/// Factory reset of the whole phone: values of ACS-writable parameters, attributes,
/// `ParameterKey` (TR-069 Annex A (FactoryReset)) and the items with no TR-069 name (installed certificates and
/// the client key, so the phone falls back to its default client certificate, as the product
/// page describes), in one atomic commit. The same happens when the engine calls
/// [`ParameterStore::factory_reset`](cwmp_model::ParameterStore::factory_reset) on a store
/// from [`open_store`] or [`open_phone`].
pub fn factory_reset(store: &mut OcmsStore, _model: &DeskPhoneModel) -> Result<(), Fault> {
    // The store was opened with the item-only keys as extra reset keys (see `open_store`), so
    // one atomic commit clears parameters, attributes, certificates and keys together.
    store.factory_reset()
}

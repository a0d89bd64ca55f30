//! Building the Inform (TR-069 Annex A.3.3.1).

use crate::agent::{names, Agent, MAX_INFORM_EVENTS};
use crate::clock::Now;
use crate::event::EventCode;
use cwmp_model::{ParameterStore, ParameterValue};
use cwmp_soap::{DeviceIdStruct, EventStruct, Inform, ParameterValueStruct};
use std::collections::HashSet;

/// An Inform and what its delivery will settle.
pub(crate) struct Built {
    pub(crate) inform: Inform,
    /// Ids of queued events it carries (removed on InformResponse).
    pub(crate) carried_events: Vec<u64>,
    /// Changed parameters it reports, with their change generation.
    pub(crate) carried_changes: Vec<(String, u64)>,
    /// Whether it carries `0 BOOTSTRAP`.
    pub(crate) carried_bootstrap: bool,
    /// Transfer results whose `M Download` it carries: their TransferComplete follows the
    /// InformResponse in this session (TR-069 Annex A.3.3.2).
    pub(crate) transfer_requests: Vec<u64>,
    /// What the ACS will have been told once it is delivered.
    pub(crate) reported_update: ReportedUpdate,
}

/// Values the ACS learns from an Inform (see `PersistentState::reported_values`).
#[derive(Debug, Default)]
pub(crate) struct ReportedUpdate {
    /// A `0 BOOTSTRAP` Inform: every notified parameter's value, replacing what was known.
    pub(crate) snapshot: Option<Vec<(String, String)>>,
    /// The changed parameters it reports, with the values it reports.
    pub(crate) values: Vec<(String, String)>,
}

/// Notified parameters (passive or active, TR-069 Annex A.3.3.1) with their current values.
fn notified_values<S: ParameterStore + ?Sized>(store: &mut S, root: &str) -> Vec<(String, String)> {
    let Ok(attrs) = store.get_attributes(&[root.to_owned()]) else {
        return Vec::new();
    };
    let names: Vec<String> = attrs
        .into_iter()
        .filter(|a| a.notification.as_i32() != 0)
        .map(|a| a.name)
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    store
        .get_values(&names)
        .map(|v| {
            v.into_iter()
                .map(|p| (p.name, p.value.to_lexical()))
                .collect()
        })
        .unwrap_or_default()
}

/// What an EventStruct stands for.
enum Carry {
    Bootstrap,
    Event(u64),
    ValueChange,
    TransferComplete,
    Transfer(u64),
}

pub(crate) fn build<S: ParameterStore + ?Sized>(agent: &Agent, store: &mut S, now: Now) -> Built {
    let lexical = |store: &mut S, rel: &str| {
        agent
            .param(store, rel)
            .map(|v| v.to_lexical())
            .unwrap_or_default()
    };
    let device_id = DeviceIdStruct {
        manufacturer: lexical(store, names::MANUFACTURER),
        oui: lexical(store, names::OUI),
        product_class: lexical(store, names::PRODUCT_CLASS),
        serial_number: lexical(store, names::SERIAL_NUMBER),
    };

    // ParameterList (TR-069 Annex A.3.3.1, Annex A.3.3.1): forced-inform parameters, then every notified change
    // with its current value (read through get_values, so secrets read as "").
    let mut params: Vec<ParameterValueStruct> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let forced: Vec<ParameterValue> = store.forced_inform().unwrap_or_default();
    for p in forced {
        if seen.insert(p.name.clone()) {
            params.push(to_struct(p));
        }
    }
    // A `0 BOOTSTRAP` Inform carries no `4 VALUE CHANGE`: every value is new to the ACS
    // (the changes are still "carried", so its delivery clears them).
    let carried_changes = agent.changed_names();
    let bootstrap = agent.bootstrap_pending();
    let mut reported_update = ReportedUpdate::default();
    let mut reported_change = false;
    if bootstrap {
        reported_update.snapshot = Some(notified_values(store, &agent.config().root));
    } else {
        for (name, _) in &carried_changes {
            // A parameter that no longer exists (its object was deleted) is dropped silently.
            if let Ok(values) = store.get_values(std::slice::from_ref(name)) {
                for p in values {
                    reported_change = true;
                    if seen.insert(p.name.clone()) {
                        reported_update
                            .values
                            .push((p.name.clone(), p.value.to_lexical()));
                        params.push(to_struct(p));
                    }
                }
            }
        }
    }

    // Events (TR-069 Annex A.3.3.1), in rank order, at most 64. Singles rank first, so a cut only ever
    // drops `M …` events, which stay queued for the next session.
    let mut entries: Vec<(u32, EventStruct, Carry)> = Vec::new();
    if bootstrap {
        entries.push((0, ev(&EventCode::Bootstrap, ""), Carry::Bootstrap));
    }
    for (id, e) in agent.queued_events() {
        entries.push((e.code.rank(), ev(&e.code, &e.command_key), Carry::Event(id)));
    }
    if reported_change {
        entries.push((
            EventCode::ValueChange.rank(),
            ev(&EventCode::ValueChange, ""),
            Carry::ValueChange,
        ));
    }
    let results = agent.transfer_results();
    if !results.is_empty() {
        entries.push((
            EventCode::TransferComplete.rank(),
            ev(&EventCode::TransferComplete, ""),
            Carry::TransferComplete,
        ));
        for (rid, r) in &results {
            let code = r.kind.event_code();
            entries.push((
                code.rank(),
                ev(&code, &r.command_key),
                Carry::Transfer(*rid),
            ));
        }
    }
    entries.sort_by_key(|(rank, _, _)| *rank);
    entries.truncate(MAX_INFORM_EVENTS);

    let mut carried_events = Vec::new();
    let mut carried_bootstrap = false;
    let mut transfer_requests = Vec::new();
    let mut has_tc = false;
    let mut event = Vec::with_capacity(entries.len());
    for (_, e, carry) in entries {
        match carry {
            Carry::Bootstrap => carried_bootstrap = true,
            Carry::Event(id) => carried_events.push(id),
            Carry::ValueChange => {}
            Carry::TransferComplete => has_tc = true,
            Carry::Transfer(rid) => transfer_requests.push(rid),
        }
        event.push(e);
    }
    if !has_tc {
        transfer_requests.clear();
    }

    Built {
        inform: Inform {
            device_id,
            event,
            max_envelopes: 1,
            current_time: now.wall,
            retry_count: agent.retry_count_now(),
            parameter_list: params,
        },
        carried_events,
        carried_changes,
        carried_bootstrap,
        transfer_requests,
        reported_update: if carried_bootstrap || !bootstrap {
            reported_update
        } else {
            ReportedUpdate::default()
        },
    }
}

fn ev(code: &EventCode, key: &str) -> EventStruct {
    EventStruct::new(code.as_str(), key)
}

pub(crate) fn to_struct(p: ParameterValue) -> ParameterValueStruct {
    let ty = p.value.xsd_type();
    ParameterValueStruct::new(p.name, p.value.to_lexical(), ty)
}

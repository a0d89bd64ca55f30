//! The conformance suite against the in-memory store, and against deliberately broken stores
//! (each must make the suite fail, so the suite is shown to catch what it claims to).

use cwmp_model::conformance::{self, MemoryFactory, StoreFactory};
use cwmp_model::{
    ApplyStatus, ChangeListener, Fault, MemoryStore, ParameterAttributes, ParameterInfo,
    ParameterStore, ParameterValue, SetAttributes, SetError, SetValue, Value,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

#[test]
fn memory_store_passes_the_conformance_suite() {
    let report = conformance::run(&mut MemoryFactory::new());
    assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
    assert_eq!(report.passed, conformance::CHECKS);
}

/// One rule a [`Broken`] store breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bug {
    ShowsSecrets,
    ReversedOrder,
    PartialSet,
    NoParameterKey,
    ListenerOnSpv,
    ForgetsOnReopen,
    IgnoresCommitFailure,
    NextLevelOnParameterIsOk,
    AcceptsActiveOnCanDeny,
    NoResetOfAttributes,
}

/// A [`MemoryStore`] wrapper that breaks one rule.
struct Broken {
    inner: MemoryStore,
    bug: Bug,
    listener_spy: Option<Arc<Mutex<ChangeListener>>>,
}

impl ParameterStore for Broken {
    fn get_values(&mut self, names: &[String]) -> Result<Vec<ParameterValue>, Fault> {
        let mut v = self.inner.get_values(names)?;
        match self.bug {
            Bug::ShowsSecrets => {
                for p in &mut v {
                    if p.name.ends_with("Password") {
                        if let Some(real) = self.inner.internal_value(&p.name) {
                            p.value = real;
                        }
                    }
                }
            }
            Bug::ReversedOrder if names.iter().any(|n| n.is_empty()) => v.reverse(),
            _ => {}
        }
        Ok(v)
    }
    fn get_names(&mut self, path: &str, next_level: bool) -> Result<Vec<ParameterInfo>, Fault> {
        if self.bug == Bug::NextLevelOnParameterIsOk
            && next_level
            && !path.ends_with('.')
            && !path.is_empty()
        {
            return self.inner.get_names(path, false);
        }
        self.inner.get_names(path, next_level)
    }
    fn set_values(&mut self, values: &[SetValue], key: &str) -> Result<ApplyStatus, SetError> {
        match self.bug {
            Bug::PartialSet => {
                let r = self.inner.set_values(values, key);
                if r.is_err() {
                    for v in values {
                        let _ = self.inner.set_values(std::slice::from_ref(v), key);
                    }
                }
                r
            }
            Bug::NoParameterKey => {
                let old = self
                    .inner
                    .internal_value("Device.ManagementServer.ParameterKey")
                    .map(|v| v.to_lexical())
                    .unwrap_or_default();
                self.inner.set_values(values, &old)
            }
            Bug::ListenerOnSpv => {
                let r = self.inner.set_values(values, key);
                if let Some(l) = &self.listener_spy {
                    let names: Vec<String> = values.iter().map(|v| v.name.clone()).collect();
                    (l.lock().unwrap())(&names);
                }
                r
            }
            _ => self.inner.set_values(values, key),
        }
    }
    fn get_attributes(&mut self, names: &[String]) -> Result<Vec<ParameterAttributes>, Fault> {
        self.inner.get_attributes(names)
    }
    fn set_attributes(&mut self, changes: &[SetAttributes]) -> Result<(), Fault> {
        if self.bug == Bug::AcceptsActiveOnCanDeny {
            let tolerated: Vec<SetAttributes> = changes
                .iter()
                .filter(|c| {
                    let can_deny = c.name.ends_with("UpTime") || c.name == "Device.DeviceInfo.";
                    !(can_deny && c.notification == Some(cwmp_model::Notification::Active))
                })
                .cloned()
                .collect();
            return self.inner.set_attributes(&tolerated);
        }
        self.inner.set_attributes(changes)
    }
    fn add_object(&mut self, object: &str, key: &str) -> Result<(u32, ApplyStatus), Fault> {
        self.inner.add_object(object, key)
    }
    fn delete_object(&mut self, object: &str, key: &str) -> Result<ApplyStatus, Fault> {
        self.inner.delete_object(object, key)
    }
    fn forced_inform(&mut self) -> Result<Vec<ParameterValue>, Fault> {
        self.inner.forced_inform()
    }
    fn internal_value(&mut self, name: &str) -> Option<Value> {
        self.inner.internal_value(name)
    }
    fn set_internal(&mut self, name: &str, value: &str) -> Result<(), Fault> {
        self.inner.set_internal(name, value)
    }
    fn factory_reset(&mut self) -> Result<(), Fault> {
        if self.bug == Bug::NoResetOfAttributes {
            // Reset values only: re-apply the attributes afterwards.
            let attrs = self.inner.get_attributes(&[String::new()])?;
            self.inner.factory_reset()?;
            let back: Vec<SetAttributes> = attrs
                .into_iter()
                .filter(|a| !a.name.ends_with("SoftwareVersion"))
                .map(|a| SetAttributes {
                    name: a.name,
                    notification: Some(a.notification),
                    access_list: Some(a.access_list),
                })
                .collect();
            return self.inner.set_attributes(&back);
        }
        self.inner.factory_reset()
    }
    fn set_change_listener(&mut self, listener: ChangeListener) {
        if self.bug == Bug::ListenerOnSpv {
            // Share the listener between the inner store and the bug.
            let shared = Arc::new(Mutex::new(listener));
            let forward = Arc::clone(&shared);
            self.listener_spy = Some(shared);
            self.inner
                .set_change_listener(Box::new(move |names| (forward.lock().unwrap())(names)));
        } else {
            self.inner.set_change_listener(listener);
        }
    }
}

struct BrokenFactory {
    memory: MemoryFactory,
    bug: Bug,
}

impl StoreFactory for BrokenFactory {
    type Store = Broken;
    fn open(&mut self) -> Broken {
        if self.bug == Bug::ForgetsOnReopen {
            self.memory.reset_storage();
        }
        Broken {
            inner: self.memory.open(),
            bug: self.bug,
            listener_spy: None,
        }
    }
    fn reset_storage(&mut self) {
        self.memory.reset_storage();
    }
    fn fail_next_commit(&mut self) -> bool {
        if self.bug == Bug::IgnoresCommitFailure {
            // Claims to arm a failure but does not: the store "succeeds" and the suite must notice.
            return true;
        }
        self.memory.fail_next_commit()
    }
}

#[test]
fn the_suite_catches_broken_stores() {
    let bugs = [
        (Bug::ShowsSecrets, "typed_values"),
        (Bug::ReversedOrder, "data_model_order"),
        (Bug::PartialSet, "set_values_all_or_nothing"),
        (Bug::NoParameterKey, "set_values_applies"),
        (Bug::ListenerOnSpv, "change_listener"),
        (Bug::ForgetsOnReopen, "set_values_all_or_nothing"),
        (Bug::IgnoresCommitFailure, "commit_failure"),
        (Bug::NextLevelOnParameterIsOk, "get_parameter_names"),
        (Bug::AcceptsActiveOnCanDeny, "notification_rules"),
        (Bug::NoResetOfAttributes, "factory_reset"),
    ];
    for (bug, check) in bugs {
        let mut factory = BrokenFactory {
            memory: MemoryFactory::new(),
            bug,
        };
        let result = catch_unwind(AssertUnwindSafe(|| conformance::run(&mut factory)));
        let panic = result.expect_err(&format!("the suite missed {bug:?}"));
        let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.starts_with(&format!("conformance check '{check}' failed")),
            "{bug:?} was caught by the wrong check: {msg}"
        );
    }
}

#[test]
fn schema_checks_on_the_memory_store() {
    let schema = cwmp_model::conformance::schema();
    let report = cwmp_model::conformance::run_on(
        &schema,
        &mut cwmp_model::conformance::MemoryFactory::new(),
    );
    assert_eq!(
        report.passed.len(),
        cwmp_model::conformance::SCHEMA_CHECKS.len(),
        "{report:?}"
    );
}

//! The store conformance suite of cwmp-model on the custom_store example's own configuration
//! backend (a JSON file): a device's own `ItemBackend` keeps the same rules as the Desk Phone's.

#[path = "../custom_store.rs"]
#[allow(dead_code)]
mod custom_store;

use custom_store::JsonConfig;
use cwmp_model::conformance::{self, StoreFactory};
use cwmp_model::SchemaStore;

struct JsonFactory {
    dir: tempfile::TempDir,
}

impl JsonFactory {
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("config.json")
    }
}

impl StoreFactory for JsonFactory {
    type Store = SchemaStore<JsonConfig>;

    fn open(&mut self) -> Self::Store {
        let backend = JsonConfig::open(self.path()).expect("open json config");
        SchemaStore::open(conformance::schema(), backend, conformance::live_values())
            .expect("open store")
    }

    fn reset_storage(&mut self) {
        let _ = std::fs::remove_file(self.path());
    }

    /// A directory where the JSON file goes makes the next commit's rename fail; removing it
    /// afterwards is the suite's job (`reset_storage` is not enough), so it is not offered.
    fn fail_next_commit(&mut self) -> bool {
        false
    }
}

#[test]
fn conformance_suite_on_the_json_backend() {
    let mut factory = JsonFactory {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let report = conformance::run(&mut factory);
    // A failing check panics; only the failure-injection check may be skipped.
    assert_eq!(
        report.passed.len() + report.skipped.len(),
        conformance::CHECKS.len(),
        "{report:?}"
    );
    assert!(report.skipped.len() <= 1, "{report:?}");
}

/// The schema-generic checks on the example's own schema (its TOML table, loaded by the
/// library's generic loader) and its JSON store: parameters picked from the valve table.
struct ValveFactory {
    dir: tempfile::TempDir,
    schema: cwmp_model::Schema,
}

impl StoreFactory for ValveFactory {
    type Store = SchemaStore<JsonConfig>;

    fn open(&mut self) -> Self::Store {
        let backend = JsonConfig::open(self.dir.path().join("valve.json")).expect("open json");
        SchemaStore::open(
            self.schema.clone(),
            backend,
            Box::new(cwmp_model::NoLiveValues),
        )
        .expect("open store")
    }

    fn reset_storage(&mut self) {
        let _ = std::fs::remove_file(self.dir.path().join("valve.json"));
    }

    fn fail_next_commit(&mut self) -> bool {
        false
    }
}

#[test]
fn schema_checks_on_the_valve_store() {
    let schema = cwmp_model::table::schema_from_toml(custom_store::TABLE).expect("table");
    let mut factory = ValveFactory {
        dir: tempfile::tempdir().expect("tempdir"),
        schema: schema.clone(),
    };
    let report = conformance::run_on(&schema, &mut factory);
    assert_eq!(
        report.passed.len(),
        conformance::SCHEMA_CHECKS.len(),
        "{report:?}"
    );
}

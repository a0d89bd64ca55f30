//! A conformance suite for [`ParameterStore`] implementations.
//!
//! Any store (the in-memory one, a file-backed one, a device's own) proves it keeps the trait's
//! rules by running [`run`] from a test. The full suite needs to know the data model, so it
//! brings its own: the store under test must be built from [`schema()`] with live values from
//! [`live_values()`]. [`run_on`] runs the checks that hold for any data model against a store
//! built from the embedder's own schema ([`SCHEMA_CHECKS`]: data-model order, unknown names,
//! secrets, read-only refusal, a set that persists, all-or-nothing), picking the parameters
//! from that schema. It also needs to reopen the store over the same storage (to check
//! durability), to start from empty storage, and to make a write fail; a [`StoreFactory`]
//! provides those three things.
//!
//! ```
//! use cwmp_model::conformance::{self, MemoryFactory};
//!
//! let report = conformance::run(&mut MemoryFactory::new());
//! assert_eq!(report.passed.len(), conformance::CHECKS.len());
//! ```
//!
//! For a file-backed store, the factory keeps a directory: `open` builds a store over it
//! (dropping nothing itself: the suite drops every store before opening the next one),
//! `reset_storage` empties it, and `fail_next_commit` arranges for the next commit to fail
//! (a test hook in the backend, or making the directory unwritable).
//!
//! Each check is named ([`CHECKS`]), starts from empty storage, prints `conformance: <name> ok`,
//! and panics with `conformance check '<name>' failed: …` when the store breaks a rule. The
//! behaviours checked are the trait's documented rules plus the decisions documented on
//! [`SchemaStore`] (fault codes for attributes and objects), which every
//! store of this project shares.

use crate::backend::LiveValues;
use crate::fault::Fault;
use crate::memory::{MemoryBackend, MemoryStore};
use crate::schema::{
    Access, ActiveNotify, Notification, ObjectDef, ObjectKind, ParamDef, Schema, Source,
};
use crate::schema_store::SchemaStore;
use crate::store::{
    ParameterAttributes, ParameterStore, ParameterValue, SetAttributes, SetError, SetValue,
};
use crate::types::{BaseType, DateTime, ParamType, Value, XsdType};
use std::fmt::Debug;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

/// How the suite gets stores to test.
pub trait StoreFactory {
    /// The store under test.
    type Store: ParameterStore;

    /// A store over [`schema()`] with [`live_values()`], on the factory's storage as it is now
    /// (so a second `open` sees what the first store persisted). The suite drops the previous
    /// store before calling this again.
    fn open(&mut self) -> Self::Store;

    /// Empty the storage (factory state) and cancel any failure armed by
    /// [`fail_next_commit`](Self::fail_next_commit). Called with no store open.
    fn reset_storage(&mut self);

    /// Make the next persisting write of the currently open store fail (e.g. an I/O error),
    /// changing nothing stored. Return `false` if the factory cannot do that; the
    /// `commit_failure` check is then reported as skipped.
    fn fail_next_commit(&mut self) -> bool;
}

/// What [`run`] did: the checks that passed and those skipped (with the reason).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Names of the checks that passed.
    pub passed: Vec<&'static str>,
    /// Names of the checks that could not run, with why.
    pub skipped: Vec<(&'static str, String)>,
}

/// The names of every check, in the order [`run`] runs them.
pub const CHECKS: &[&str] = &[
    "data_model_order",
    "typed_values",
    "partial_paths",
    "unknown_names",
    "get_parameter_names",
    "set_values_applies",
    "set_values_all_or_nothing",
    "set_values_duplicate_name",
    "set_values_same_value",
    "parameter_key",
    "secrets",
    "forced_inform",
    "attributes",
    "notification_rules",
    "add_delete_object",
    "change_listener",
    "persistence",
    "commit_failure",
    "factory_reset",
];

/// Run every check against stores from `factory`. Panics on the first failure.
pub fn run<F: StoreFactory>(factory: &mut F) -> Report {
    let checks: [Check<F>; 19] = [
        ("data_model_order", data_model_order),
        ("typed_values", typed_values),
        ("partial_paths", partial_paths),
        ("unknown_names", unknown_names),
        ("get_parameter_names", get_parameter_names),
        ("set_values_applies", set_values_applies),
        ("set_values_all_or_nothing", set_values_all_or_nothing),
        ("set_values_duplicate_name", set_values_duplicate_name),
        ("set_values_same_value", set_values_same_value),
        ("parameter_key", parameter_key),
        ("secrets", secrets),
        ("forced_inform", forced_inform),
        ("attributes", attributes),
        ("notification_rules", notification_rules),
        ("add_delete_object", add_delete_object),
        ("change_listener", change_listener),
        ("persistence", persistence),
        ("commit_failure", commit_failure),
        ("factory_reset", factory_reset),
    ];
    debug_assert!(checks.iter().map(|c| c.0).eq(CHECKS.iter().copied()));
    let mut report = Report::default();
    for (name, check) in checks {
        run_one(factory, &mut report, name, check);
    }
    factory.reset_storage();
    report
}

/// Runs one check from empty storage and records it; a failing check panics with its name.
fn run_one<F: StoreFactory>(
    factory: &mut F,
    report: &mut Report,
    name: &'static str,
    check: impl FnOnce(&mut F) -> Outcome,
) {
    factory.reset_storage();
    match catch_unwind(AssertUnwindSafe(|| check(factory))) {
        Ok(Outcome::Passed) => {
            println!("conformance: {name} ok");
            report.passed.push(name);
        }
        Ok(Outcome::Skipped(why)) => {
            println!("conformance: {name} SKIPPED: {why}");
            report.skipped.push((name, why));
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()));
            match msg {
                Some(m) => panic!("conformance check '{name}' failed: {m}"),
                None => resume_unwind(panic),
            }
        }
    }
}

enum Outcome {
    Passed,
    Skipped(String),
}

/// A named check.
type Check<F> = (&'static str, fn(&mut F) -> Outcome);

// ---------------------------------------------------------------------------------------------
// The test schema.

/// Root of every name in the test schema.
const MS: &str = "Device.ManagementServer.";
const DI: &str = "Device.DeviceInfo.";
const LAN: &str = "Device.LAN.";
const VP_TABLE: &str = "Device.Services.VoiceService.1.VoiceProfile.";
const VP1: &str = "Device.Services.VoiceService.1.VoiceProfile.1.";
const SIP: &str = "Device.Services.VoiceService.1.VoiceProfile.1.SIP.";

fn n(prefix: &str, leaf: &str) -> String {
    format!("{prefix}{leaf}")
}

/// The value [`live_values()`] gives `Device.DeviceInfo.UpTime`.
pub const LIVE_UPTIME: u32 = 3600;

/// The data model every store under test is built from: a small Device:1 phone with every
/// base type, ranges (`0:99999`, `1:65535`, `1000:65535`, `60:7200`, `-1:`), enumerations
/// (`0,1,2`, `0,1,2,4,5,6`, strings), length limits, secrets, read-only, live and constant
/// parameters, `CanDeny` / `ForceEnabled` / `ForceDefaultEnabled` notification, forced-inform
/// parameters, a fixed table with one instance inside another, and `ParameterKey`.
pub fn schema() -> Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(build_schema).clone()
}

fn build_schema() -> Schema {
    use Access::{ReadOnly as R, ReadWrite as W};
    let string = |len| ParamType::new(BaseType::String).with_max_length(len);
    let uint = |min, max| ParamType::new(BaseType::UnsignedInt).with_range(min, max);
    let item = |k: &str| Source::Item(k.to_owned());
    let constant = |v: &str| Source::Constant(v.to_owned());
    let p = |name: String, ty: ParamType, access, source| ParamDef::new(name, ty, access, source);
    let with_default = |mut d: ParamDef, v: &str| {
        d.default = Some(v.to_owned());
        d
    };
    let forced = |mut d: ParamDef| {
        d.forced_inform = true;
        d
    };
    let secret = |mut d: ParamDef| {
        d.secret = true;
        d
    };
    let notify = |mut d: ParamDef, policy: ActiveNotify, default: Notification| {
        d.active_notify = policy;
        d.default_notification = default;
        d
    };
    let enumeration =
        |base, values: &[&str]| ParamType::new(base).with_enumeration(values.iter().copied());

    let params = vec![
        forced(p(
            "Device.DeviceSummary".into(),
            string(1024),
            R,
            constant("Device:1.1[](Baseline:1), VoiceService:1.0[1](SIPEndpoint:1)"),
        )),
        p(n(DI, "Manufacturer"), string(64), R, constant("Example")),
        p(n(DI, "ManufacturerOUI"), string(6), R, constant("00A0BC")),
        with_default(
            p(n(DI, "SerialNumber"), string(64), R, item("serial-number")),
            "SN0001",
        ),
        forced(p(n(DI, "HardwareVersion"), string(64), R, constant("HW1"))),
        notify(
            forced(with_default(
                p(
                    n(DI, "SoftwareVersion"),
                    string(64),
                    R,
                    item("software-version"),
                ),
                "1.2.3",
            )),
            ActiveNotify::ForceEnabled,
            Notification::Active,
        ),
        p(
            n(DI, "ProvisioningCode"),
            string(64),
            W,
            item("provisioning-code"),
        ),
        p(
            n(DI, "DeviceStatus"),
            enumeration(
                BaseType::String,
                &["Up", "Initializing", "Error", "Disabled"],
            ),
            R,
            Source::Live,
        ),
        notify(
            p(
                n(DI, "UpTime"),
                ParamType::new(BaseType::UnsignedInt),
                R,
                Source::Live,
            ),
            ActiveNotify::CanDeny,
            Notification::Off,
        ),
        p(
            n(DI, "FirstUseDate"),
            ParamType::new(BaseType::DateTime),
            R,
            Source::Internal,
        ),
        notify(
            p(
                n(DI, "X_EXAMPLE_BytesSent"),
                ParamType::new(BaseType::UnsignedLong),
                R,
                Source::Live,
            ),
            ActiveNotify::CanDeny,
            Notification::Off,
        ),
        with_default(
            p(n(MS, "URL"), string(256), W, item("acs-url")),
            "https://acs.example.invalid:7547/",
        ),
        p(n(MS, "Username"), string(256), W, item("acs-username")),
        secret(with_default(
            p(n(MS, "Password"), string(256), W, item("acs-password")),
            "factory-secret",
        )),
        with_default(
            p(
                n(MS, "PeriodicInformEnable"),
                ParamType::new(BaseType::Boolean),
                W,
                item("acs-periodic-inform-enabled"),
            ),
            "true",
        ),
        with_default(
            p(
                n(MS, "PeriodicInformInterval"),
                uint(Some(0), Some(99999)),
                W,
                item("acs-periodic-inform-interval"),
            ),
            "300",
        ),
        p(
            n(MS, "PeriodicInformTime"),
            ParamType::new(BaseType::DateTime),
            W,
            item("acs-periodic-inform-time"),
        ),
        notify(
            forced(p(n(MS, "ParameterKey"), string(32), R, Source::Internal)),
            ActiveNotify::CanDeny,
            Notification::Off,
        ),
        notify(
            forced(p(
                n(MS, "ConnectionRequestURL"),
                string(256),
                R,
                Source::Internal,
            )),
            ActiveNotify::ForceDefaultEnabled,
            Notification::Active,
        ),
        p(
            n(MS, "ConnectionRequestUsername"),
            string(256),
            W,
            item("acs-request-username"),
        ),
        secret(p(
            n(MS, "ConnectionRequestPassword"),
            string(256),
            W,
            item("acs-request-password"),
        )),
        p(
            n(MS, "NATDetected"),
            ParamType::new(BaseType::Boolean),
            R,
            Source::Internal,
        ),
        with_default(
            p(
                n(MS, "STUNServerPort"),
                uint(Some(1), Some(65535)),
                W,
                item("acs-stun-server-port"),
            ),
            "3478",
        ),
        with_default(
            p(
                n(MS, "STUNMaximumKeepAlivePeriod"),
                ParamType::new(BaseType::Int).with_range(Some(-1), None),
                W,
                item("acs-stun-max-keepalive"),
            ),
            "-1",
        ),
        with_default(
            p(
                n(MS, "CWMPRetryMinimumWaitInterval"),
                uint(Some(1), Some(65535)),
                W,
                item("acs-retry-min-wait-interval"),
            ),
            "5",
        ),
        with_default(
            p(
                n(MS, "CWMPRetryIntervalMultiplier"),
                uint(Some(1000), Some(65535)),
                W,
                item("acs-retry-interval-multiplier"),
            ),
            "2000",
        ),
        p(
            n(MS, "X_EXAMPLE_ClockOffset"),
            ParamType::new(BaseType::Long).with_range(Some(-86400), Some(86400)),
            W,
            Source::Internal,
        ),
        p(
            n(MS, "X_EXAMPLE_ClientCertificate"),
            ParamType::new(BaseType::Base64).with_max_length(16),
            W,
            item("acs-client-certificate"),
        ),
        p(
            n(MS, "X_EXAMPLE_DeviceKeyId"),
            ParamType::new(BaseType::HexBinary).with_max_length(4),
            W,
            item("acs-device-key-id"),
        ),
        forced(with_default(
            p(
                n(LAN, "IPAddress"),
                ParamType::new(BaseType::IpAddress),
                W,
                item("ipaddress"),
            ),
            "192.0.2.10",
        )),
        with_default(
            p(
                n(LAN, "SubnetMask"),
                ParamType::new(BaseType::IpAddress),
                W,
                item("default-mask"),
            ),
            "255.255.255.0",
        ),
        p(
            n(LAN, "DefaultGateway"),
            ParamType::new(BaseType::IpAddress),
            W,
            item("default-gw"),
        ),
        with_default(
            p(
                n(LAN, "MACAddress"),
                ParamType::new(BaseType::MacAddress),
                W,
                item("mac-address"),
            ),
            "00:00:5E:00:53:01",
        ),
        with_default(
            p(
                n(VP1, "Enable"),
                enumeration(BaseType::String, &["Disabled", "Quiescent", "Enabled"]),
                W,
                item("voice-profile-enable"),
            ),
            "Enabled",
        ),
        p(n(SIP, "ProxyServer"), string(256), W, item("reg-addr")),
        with_default(
            p(
                n(SIP, "ProxyServerPort"),
                uint(Some(1), Some(65535)),
                W,
                item("sip-server-port"),
            ),
            "5060",
        ),
        with_default(
            p(
                n(SIP, "RegisterExpires"),
                uint(Some(60), Some(7200)),
                W,
                item("reg-ttl"),
            ),
            "3600",
        ),
        p(
            n(SIP, "X_EXAMPLE_Transport"),
            enumeration(BaseType::UnsignedInt, &["0", "1", "2"]),
            W,
            item("sip-transport"),
        ),
        p(
            n(SIP, "X_EXAMPLE_ServerType"),
            enumeration(BaseType::UnsignedInt, &["0", "1", "2", "4", "5", "6"]),
            W,
            item("server-type"),
        ),
        secret(p(
            n(SIP, "X_EXAMPLE_SipPassword"),
            string(128),
            W,
            item("sip-pwd"),
        )),
        p(
            n(SIP, "X_EXAMPLE_SessionTimer"),
            ParamType::new(BaseType::Boolean),
            W,
            item("session-timer"),
        ),
    ];
    let obj = |path: &str, kind| ObjectDef {
        path: path.to_owned(),
        kind,
    };
    let fixed_table = ObjectKind::Table {
        addable: false,
        max_instances: Some(1),
    };
    let fixed_instance = ObjectKind::Instance { deletable: false };
    let objects = vec![
        obj("Device.", ObjectKind::Single),
        obj(DI, ObjectKind::Single),
        obj(MS, ObjectKind::Single),
        obj(LAN, ObjectKind::Single),
        obj("Device.Services.", ObjectKind::Single),
        obj("Device.Services.VoiceService.", fixed_table),
        obj("Device.Services.VoiceService.1.", fixed_instance),
        obj(VP_TABLE, fixed_table),
        obj(VP1, fixed_instance),
        obj(SIP, ObjectKind::Single),
    ];
    match Schema::new(params, objects) {
        Ok(s) => s,
        Err(e) => panic!("the conformance schema is invalid: {e}"),
    }
}

/// The [`LiveValues`] every store under test must use (see [`live_values()`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConformanceLive;

impl LiveValues for ConformanceLive {
    fn live_value(&mut self, name: &str) -> Option<String> {
        match name {
            "Device.DeviceInfo.UpTime" => Some(LIVE_UPTIME.to_string()),
            "Device.DeviceInfo.DeviceStatus" => Some("Up".to_owned()),
            "Device.DeviceInfo.X_EXAMPLE_BytesSent" => Some(u64::MAX.to_string()),
            _ => None,
        }
    }
}

/// Live values for the test schema: `UpTime` = [`LIVE_UPTIME`], `DeviceStatus` = `Up`,
/// `X_EXAMPLE_BytesSent` = `u64::MAX`.
pub fn live_values() -> Box<dyn LiveValues + Send> {
    Box::new(ConformanceLive)
}

/// The [`StoreFactory`] for [`MemoryStore`]: every store shares one [`MemoryBackend`].
#[derive(Debug, Default)]
pub struct MemoryFactory {
    backend: MemoryBackend,
}

impl MemoryFactory {
    /// A factory over empty storage.
    pub fn new() -> MemoryFactory {
        MemoryFactory::default()
    }
}

impl StoreFactory for MemoryFactory {
    type Store = MemoryStore;

    fn open(&mut self) -> MemoryStore {
        SchemaStore::with_backend(schema(), self.backend.clone(), live_values())
    }

    fn reset_storage(&mut self) {
        self.backend.clear();
    }

    fn fail_next_commit(&mut self) -> bool {
        self.backend.fail_next_commit();
        true
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn gpv<S: ParameterStore>(s: &mut S, names: &[&str]) -> Vec<ParameterValue> {
    s.get_values(&owned(names))
        .unwrap_or_else(|f| panic!("GetParameterValues {names:?} failed: {f}"))
}

fn value<S: ParameterStore>(s: &mut S, name: &str) -> Value {
    let mut v = gpv(s, &[name]);
    assert_eq!(
        v.len(),
        1,
        "GetParameterValues of one full name returned {v:?}"
    );
    v.remove(0).value
}

fn gpa<S: ParameterStore>(s: &mut S, names: &[&str]) -> Vec<ParameterAttributes> {
    s.get_attributes(&owned(names))
        .unwrap_or_else(|f| panic!("GetParameterAttributes {names:?} failed: {f}"))
}

fn key<S: ParameterStore>(s: &mut S) -> Value {
    value(s, &n(MS, "ParameterKey"))
}

fn text(v: &str) -> Value {
    Value::String(v.to_owned())
}

fn sv(name: &str, value: &str, xsi: Option<XsdType>) -> SetValue {
    SetValue {
        name: name.to_owned(),
        value: value.to_owned(),
        xsi_type: xsi,
    }
}

fn sa(name: &str, notification: Option<Notification>, access: Option<&[&str]>) -> SetAttributes {
    SetAttributes {
        name: name.to_owned(),
        notification,
        access_list: access.map(owned),
    }
}

fn spv<S: ParameterStore>(s: &mut S, values: &[SetValue], pk: &str) {
    if let Err(e) = s.set_values(values, pk) {
        panic!("SetParameterValues {values:?} failed: {e:?}");
    }
}

fn spa<S: ParameterStore>(s: &mut S, changes: &[SetAttributes]) {
    if let Err(e) = s.set_attributes(changes) {
        panic!("SetParameterAttributes {changes:?} failed: {e}");
    }
}

#[track_caller]
fn expect_fault<T: Debug>(r: Result<T, Fault>, code: u32, what: &str) {
    match r {
        Ok(v) => panic!("{what}: expected fault {code}, got Ok({v:?})"),
        Err(f) => assert_eq!(
            f.code.code(),
            code,
            "{what}: expected fault {code}, got {f}"
        ),
    }
}

/// Everything observable: values (masked), attributes, and real values (secrets included).
#[derive(Debug, PartialEq)]
struct Snapshot {
    values: Vec<ParameterValue>,
    attributes: Vec<ParameterAttributes>,
    internal: Vec<(String, Option<Value>)>,
}

fn snapshot<S: ParameterStore>(s: &mut S) -> Snapshot {
    let values = gpv(s, &[""]);
    let attributes = gpa(s, &[""]);
    let internal = schema()
        .params()
        .iter()
        .map(|p| (p.name.clone(), s.internal_value(&p.name)))
        .collect();
    Snapshot {
        values,
        attributes,
        internal,
    }
}

type Calls = Arc<Mutex<Vec<Vec<String>>>>;

fn listen<S: ParameterStore>(s: &mut S) -> Calls {
    let calls: Calls = Arc::default();
    let sink = Arc::clone(&calls);
    s.set_change_listener(Box::new(move |names: &[String]| {
        sink.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(names.to_vec());
    }));
    calls
}

fn take_calls(calls: &Calls) -> Vec<Vec<String>> {
    std::mem::take(&mut *calls.lock().unwrap_or_else(|e| e.into_inner()))
}

// ---------------------------------------------------------------------------------------------
// The checks.

fn data_model_order<F: StoreFactory>(f: &mut F) -> Outcome {
    let schema = schema();
    let mut s = f.open();
    let want: Vec<&str> = schema.params().iter().map(|p| p.name.as_str()).collect();
    let got = gpv(&mut s, &[""]);
    let got: Vec<&str> = got.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        got, want,
        "GetParameterValues(\"\") is not in data-model order"
    );
    let attrs = gpa(&mut s, &[""]);
    let got: Vec<&str> = attrs.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        got, want,
        "GetParameterAttributes(\"\") is not in data-model order"
    );
    let names = s
        .get_names("", false)
        .unwrap_or_else(|e| panic!("GPN(\"\", false): {e}"));
    let want = schema.names("", false).unwrap_or_default();
    let got: Vec<&str> = names.iter().map(|i| i.name.as_str()).collect();
    let want: Vec<&str> = want.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        got, want,
        "GetParameterNames(\"\", false) is not in data-model order"
    );
    // Spot checks of the tree order itself: each object, its parameters, then its children.
    assert_eq!(got.first(), Some(&"Device."));
    assert_eq!(got.get(1), Some(&"Device.DeviceSummary"));
    assert_eq!(got.get(2), Some(&DI));
    assert_eq!(
        got.last().copied(),
        Some(format!("{SIP}X_EXAMPLE_SessionTimer").as_str())
    );
    Outcome::Passed
}

fn typed_values<F: StoreFactory>(f: &mut F) -> Outcome {
    let schema = schema();
    let mut s = f.open();
    for v in gpv(&mut s, &[""]) {
        let def = schema
            .param(&v.name)
            .unwrap_or_else(|| panic!("unknown {}", v.name));
        if def.secret {
            assert_eq!(
                v.value,
                text(""),
                "{} is a secret and must read as \"\"",
                v.name
            );
        } else {
            assert_eq!(
                v.value.xsd_type(),
                def.ty.xsd_type(),
                "{} has the wrong type: {:?}",
                v.name,
                v.value
            );
        }
    }
    let expect = [
        (n(MS, "PeriodicInformEnable"), Value::Boolean(true)),
        (n(MS, "PeriodicInformInterval"), Value::UnsignedInt(300)),
        (
            n(MS, "PeriodicInformTime"),
            Value::DateTime(DateTime::UNKNOWN),
        ),
        (n(MS, "STUNMaximumKeepAlivePeriod"), Value::Int(-1)),
        (n(MS, "X_EXAMPLE_ClockOffset"), Value::Long(0)),
        (
            n(MS, "X_EXAMPLE_ClientCertificate"),
            Value::Base64(Vec::new()),
        ),
        (n(MS, "X_EXAMPLE_DeviceKeyId"), Value::HexBinary(Vec::new())),
        (n(MS, "ParameterKey"), text("")),
        (n(MS, "URL"), text("https://acs.example.invalid:7547/")),
        (n(DI, "Manufacturer"), text("Example")),
        (n(DI, "SerialNumber"), text("SN0001")),
        (n(DI, "UpTime"), Value::UnsignedInt(LIVE_UPTIME)),
        (n(DI, "DeviceStatus"), text("Up")),
        (n(DI, "X_EXAMPLE_BytesSent"), Value::UnsignedLong(u64::MAX)),
        (n(DI, "FirstUseDate"), Value::DateTime(DateTime::UNKNOWN)),
        (n(LAN, "IPAddress"), text("192.0.2.10")),
        (n(SIP, "ProxyServerPort"), Value::UnsignedInt(5060)),
        (n(SIP, "X_EXAMPLE_Transport"), Value::UnsignedInt(0)),
        (n(SIP, "X_EXAMPLE_SessionTimer"), Value::Boolean(false)),
    ];
    for (name, want) in expect {
        assert_eq!(value(&mut s, &name), want, "default of {name}");
    }
    Outcome::Passed
}

fn partial_paths<F: StoreFactory>(f: &mut F) -> Outcome {
    let schema = schema();
    let mut s = f.open();
    let under =
        |path: &str| -> Vec<String> { schema.params_under(path).map(|p| p.name.clone()).collect() };
    let names = |v: Vec<ParameterValue>| -> Vec<String> { v.into_iter().map(|p| p.name).collect() };
    assert_eq!(names(gpv(&mut s, &[LAN])), under(LAN));
    assert_eq!(under(LAN).len(), 4);
    let uptime = n(DI, "UpTime");
    let got = names(gpv(&mut s, &[LAN, &uptime, MS]));
    let mut want = under(LAN);
    want.push(uptime.clone());
    want.extend(under(MS));
    assert_eq!(
        got, want,
        "names must come in request order, subtrees in data-model order"
    );
    let got = names(gpv(&mut s, &["Device.Services."]));
    assert_eq!(got, under(VP1), "a subtree includes table instances");
    assert_eq!(got.len(), 8);
    let got: Vec<String> = gpa(&mut s, &[SIP]).into_iter().map(|a| a.name).collect();
    assert_eq!(got, under(SIP), "GetParameterAttributes on a partial path");
    Outcome::Passed
}

fn unknown_names<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    let bad = [
        "Device.Nope",
        "Device.Nope.",
        "Device.LAN",
        "device.LAN.",
        "Device.LAN.IPAddress.",
        "Device..",
        ".",
        "Device.Services.VoiceService.1.VoiceProfile.2.",
        "Device.Services.VoiceService.1.VoiceProfile.1.SIP.Nope",
        "InternetGatewayDevice.",
    ];
    for name in bad {
        expect_fault(
            s.get_values(&owned(&[name])),
            9005,
            &format!("GPV {name:?}"),
        );
        expect_fault(
            s.get_values(&owned(&[LAN, name])),
            9005,
            &format!("GPV [valid, {name:?}]"),
        );
        expect_fault(
            s.get_attributes(&owned(&[name])),
            9005,
            &format!("GPA {name:?}"),
        );
        expect_fault(
            s.set_attributes(&[sa(name, Some(Notification::Passive), None)]),
            9005,
            &format!("SPA {name:?}"),
        );
        expect_fault(
            s.get_names(name, false),
            9005,
            &format!("GPN {name:?} false"),
        );
        expect_fault(s.get_names(name, true), 9005, &format!("GPN {name:?} true"));
    }
    Outcome::Passed
}

fn get_parameter_names<F: StoreFactory>(f: &mut F) -> Outcome {
    let schema = schema();
    let mut s = f.open();
    let gpn = |s: &mut F::Store, path: &str, next: bool| -> Vec<(String, bool)> {
        s.get_names(path, next)
            .unwrap_or_else(|e| panic!("GPN({path:?}, {next}) failed: {e}"))
            .into_iter()
            .map(|i| (i.name, i.writable))
            .collect()
    };
    let obj = |p: &str| (p.to_owned(), false);
    assert_eq!(
        gpn(&mut s, "", true),
        vec![obj("Device.")],
        "GPN(\"\", true) is the root only"
    );
    let all = gpn(&mut s, "", false);
    assert_eq!(all.len(), schema.params().len() + schema.objects().len());
    let lan = vec![
        obj(LAN),
        (n(LAN, "IPAddress"), true),
        (n(LAN, "SubnetMask"), true),
        (n(LAN, "DefaultGateway"), true),
        (n(LAN, "MACAddress"), true),
    ];
    assert_eq!(gpn(&mut s, LAN, false), lan, "object + descendants");
    assert_eq!(
        gpn(&mut s, LAN, true),
        lan[1..].to_vec(),
        "immediate children"
    );
    assert_eq!(
        gpn(&mut s, "Device.", true),
        vec![
            ("Device.DeviceSummary".to_owned(), false),
            obj(DI),
            obj(MS),
            obj(LAN),
            obj("Device.Services.")
        ]
    );
    assert_eq!(
        gpn(&mut s, VP_TABLE, true),
        vec![obj(VP1)],
        "a table's children are instances"
    );
    let vp = gpn(&mut s, VP_TABLE, false);
    assert_eq!(vp.first(), Some(&obj(VP_TABLE)));
    assert_eq!(vp.get(1), Some(&obj(VP1)));
    assert_eq!(vp.get(2), Some(&(n(VP1, "Enable"), true)));
    assert_eq!(vp.get(3), Some(&obj(SIP)));
    assert_eq!(vp.len(), 4 + 7);
    assert_eq!(
        gpn(&mut s, &n(DI, "UpTime"), false),
        vec![(n(DI, "UpTime"), false)]
    );
    assert_eq!(
        gpn(&mut s, &n(MS, "URL"), false),
        vec![(n(MS, "URL"), true)]
    );
    expect_fault(
        s.get_names(&n(MS, "URL"), true),
        9003,
        "GPN(parameter, true)",
    );
    // Objects: nothing in the test schema may be added or deleted.
    for (name, writable) in &all {
        if name.ends_with('.') {
            assert!(
                !writable,
                "{name} is reported writable but cannot be added or deleted"
            );
        } else {
            let def = schema
                .param(name)
                .unwrap_or_else(|| panic!("unknown {name}"));
            assert_eq!(
                *writable,
                def.access == Access::ReadWrite,
                "Writable of {name}"
            );
        }
    }
    Outcome::Passed
}

fn set_values_applies<F: StoreFactory>(f: &mut F) -> Outcome {
    use XsdType as X;
    let mut s = f.open();
    let values = [
        sv(
            &n(MS, "URL"),
            "https://acs.example.invalid/cwmp?a=1&b=<2>",
            Some(X::String),
        ),
        sv(&n(MS, "PeriodicInformEnable"), "0", Some(X::Boolean)),
        sv(
            &n(MS, "PeriodicInformInterval"),
            " +060 ",
            Some(X::UnsignedInt),
        ),
        sv(
            &n(MS, "PeriodicInformTime"),
            "2024-05-01T12:00:00+02:00",
            Some(X::DateTime),
        ),
        sv(&n(MS, "STUNMaximumKeepAlivePeriod"), "-1", Some(X::Int)),
        sv(&n(MS, "CWMPRetryIntervalMultiplier"), "65535", None),
        sv(&n(MS, "X_EXAMPLE_ClockOffset"), "-86400", Some(X::Long)),
        sv(
            &n(MS, "X_EXAMPLE_ClientCertificate"),
            "AQID",
            Some(X::Base64),
        ),
        sv(&n(MS, "X_EXAMPLE_DeviceKeyId"), "0aFF", Some(X::HexBinary)),
        sv(&n(LAN, "SubnetMask"), "255.255.0.0", Some(X::String)),
        sv(&n(LAN, "DefaultGateway"), "2001:db8::1", None),
        sv(&n(LAN, "MACAddress"), "00:1a:e8:A1:B2:C3", None),
        sv(&n(VP1, "Enable"), "Disabled", None),
        sv(&n(SIP, "RegisterExpires"), "60", None),
        sv(&n(SIP, "X_EXAMPLE_ServerType"), "6", None),
        sv(&n(SIP, "X_EXAMPLE_Transport"), "2", None),
        sv(&n(SIP, "X_EXAMPLE_SessionTimer"), "true", None),
        sv(&n(DI, "ProvisioningCode"), "", None),
    ];
    spv(&mut s, &values, "set-1");
    let expect = [
        (
            n(MS, "URL"),
            text("https://acs.example.invalid/cwmp?a=1&b=<2>"),
        ),
        (n(MS, "PeriodicInformEnable"), Value::Boolean(false)),
        (n(MS, "PeriodicInformInterval"), Value::UnsignedInt(60)),
        (
            n(MS, "PeriodicInformTime"),
            Value::DateTime(DateTime::parse("2024-05-01T10:00:00Z").unwrap_or(DateTime::UNKNOWN)),
        ),
        (n(MS, "STUNMaximumKeepAlivePeriod"), Value::Int(-1)),
        (
            n(MS, "CWMPRetryIntervalMultiplier"),
            Value::UnsignedInt(65535),
        ),
        (n(MS, "X_EXAMPLE_ClockOffset"), Value::Long(-86400)),
        (
            n(MS, "X_EXAMPLE_ClientCertificate"),
            Value::Base64(vec![1, 2, 3]),
        ),
        (
            n(MS, "X_EXAMPLE_DeviceKeyId"),
            Value::HexBinary(vec![0x0a, 0xff]),
        ),
        (n(LAN, "SubnetMask"), text("255.255.0.0")),
        (n(LAN, "DefaultGateway"), text("2001:db8::1")),
        (n(LAN, "MACAddress"), text("00:1a:e8:A1:B2:C3")),
        (n(VP1, "Enable"), text("Disabled")),
        (n(SIP, "RegisterExpires"), Value::UnsignedInt(60)),
        (n(SIP, "X_EXAMPLE_ServerType"), Value::UnsignedInt(6)),
        (n(SIP, "X_EXAMPLE_Transport"), Value::UnsignedInt(2)),
        (n(SIP, "X_EXAMPLE_SessionTimer"), Value::Boolean(true)),
        (n(DI, "ProvisioningCode"), text("")),
    ];
    for (name, want) in expect {
        assert_eq!(
            value(&mut s, &name),
            want,
            "{name} after SetParameterValues"
        );
    }
    assert_eq!(key(&mut s), text("set-1"));
    Outcome::Passed
}

fn set_values_all_or_nothing<F: StoreFactory>(f: &mut F) -> Outcome {
    use XsdType as X;
    let mut s = f.open();
    spv(
        &mut s,
        &[sv(&n(DI, "ProvisioningCode"), "before", None)],
        "k0",
    );
    let before = snapshot(&mut s);
    let long_secret = "hunter2-".repeat(20);
    let request = [
        (sv(&n(DI, "ProvisioningCode"), "after", None), None),
        (sv(&n(MS, "Nope"), "1", None), Some(9005)),
        (sv(LAN, "1", None), Some(9005)),
        (sv(&n(DI, "UpTime"), "5", Some(X::UnsignedInt)), Some(9008)),
        (sv(&n(MS, "ParameterKey"), "x", None), Some(9008)),
        (sv(&n(DI, "Manufacturer"), "x", None), Some(9008)),
        (
            sv(&n(MS, "PeriodicInformInterval"), "abc", None),
            Some(9006),
        ),
        (
            sv(&n(MS, "STUNServerPort"), "3479", Some(X::String)),
            Some(9006),
        ),
        (sv(&n(MS, "PeriodicInformEnable"), "2", None), Some(9006)),
        (
            sv(&n(MS, "STUNMaximumKeepAlivePeriod"), "2147483648", None),
            Some(9006),
        ),
        (
            sv(&n(MS, "PeriodicInformTime"), "tomorrow", None),
            Some(9006),
        ),
        (sv(&n(MS, "X_EXAMPLE_DeviceKeyId"), "0g", None), Some(9006)),
        (sv(&n(SIP, "RegisterExpires"), "59", None), Some(9007)),
        (sv(&n(SIP, "ProxyServerPort"), "0", None), Some(9007)),
        (
            sv(&n(MS, "CWMPRetryIntervalMultiplier"), "999", None),
            Some(9007),
        ),
        (
            sv(&n(MS, "CWMPRetryMinimumWaitInterval"), "", None),
            Some(9006),
        ),
        (sv(&n(SIP, "X_EXAMPLE_ServerType"), "3", None), Some(9007)),
        (sv(&n(SIP, "X_EXAMPLE_Transport"), "3", None), Some(9007)),
        (sv(&n(VP1, "Enable"), "enabled", None), Some(9007)),
        (sv(&n(MS, "Username"), &"u".repeat(257), None), Some(9007)),
        (
            sv(&n(SIP, "X_EXAMPLE_SipPassword"), &long_secret, None),
            Some(9007),
        ),
        (
            sv(&n(LAN, "SubnetMask"), "255.255.255.256", None),
            Some(9007),
        ),
        (sv(&n(LAN, "MACAddress"), "001AE8A1B2C3", None), Some(9007)),
        (
            sv(&n(MS, "X_EXAMPLE_ClientCertificate"), &"A".repeat(24), None),
            Some(9007),
        ),
    ];
    let (values, expected): (Vec<SetValue>, Vec<Option<u32>>) = request.into_iter().unzip();
    match s.set_values(&values, "k1") {
        Ok(st) => panic!("SetParameterValues with bad entries returned Ok({st:?})"),
        Err(SetError::Parameters(faults)) => {
            let got: Vec<(String, u32)> = faults
                .iter()
                .map(|f| (f.name.clone(), f.code.code()))
                .collect();
            let want: Vec<(String, u32)> = values
                .iter()
                .zip(&expected)
                .filter_map(|(v, c)| c.map(|c| (v.name.clone(), c)))
                .collect();
            assert_eq!(got, want, "one fault per bad parameter, in request order");
            for f in &faults {
                assert!(
                    !f.message.contains("hunter2"),
                    "a fault message shows a value: {f:?}"
                );
            }
        }
        Err(other) => panic!("expected per-parameter faults, got {other:?}"),
    }
    assert_eq!(
        snapshot(&mut s),
        before,
        "a refused SetParameterValues changed something"
    );
    drop(s);
    let mut s = f.open();
    assert_eq!(
        snapshot(&mut s),
        before,
        "a refused SetParameterValues changed storage"
    );
    Outcome::Passed
}

fn set_values_duplicate_name<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    let before = snapshot(&mut s);
    let url = n(MS, "URL");
    let r = s.set_values(
        &[
            sv(&url, "https://a.example.invalid/", None),
            sv(&n(MS, "Username"), "u", None),
            sv(&url, "https://b.example.invalid/", None),
        ],
        "dup",
    );
    match r {
        Err(SetError::Fault(f)) => assert_eq!(f.code.code(), 9003, "duplicate name: {f}"),
        other => panic!("a name given twice must be a whole-request 9003, got {other:?}"),
    }
    assert_eq!(
        snapshot(&mut s),
        before,
        "a refused SetParameterValues changed something"
    );
    Outcome::Passed
}

fn set_values_same_value<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    let url = n(MS, "URL");
    let current = value(&mut s, &url).to_lexical();
    spv(&mut s, &[sv(&url, &current, None)], "same");
    assert_eq!(
        key(&mut s),
        text("same"),
        "setting a value to itself still counts as set"
    );
    assert_eq!(value(&mut s, &url), text(&current));
    spv(&mut s, &[], "empty");
    assert_eq!(
        key(&mut s),
        text("empty"),
        "an empty SetParameterValues succeeds"
    );
    Outcome::Passed
}

fn parameter_key<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    assert_eq!(key(&mut s), text(""), "ParameterKey starts empty");
    spv(&mut s, &[sv(&n(MS, "Username"), "a", None)], "key-1");
    assert_eq!(key(&mut s), text("key-1"));
    let _ = s.set_values(&[sv(&n(MS, "STUNServerPort"), "0", None)], "key-2");
    assert_eq!(
        key(&mut s),
        text("key-1"),
        "a failed SetParameterValues must keep ParameterKey"
    );
    let _ = s.add_object(VP_TABLE, "key-3");
    let _ = s.delete_object(VP1, "key-4");
    assert_eq!(
        key(&mut s),
        text("key-1"),
        "a failed AddObject/DeleteObject must keep it"
    );
    spa(
        &mut s,
        &[sa(&n(MS, "URL"), Some(Notification::Passive), None)],
    );
    assert_eq!(
        key(&mut s),
        text("key-1"),
        "SetParameterAttributes has no ParameterKey"
    );
    let r = s.set_values(&[sv(&n(MS, "Username"), "b", None)], &"k".repeat(33));
    match r {
        Err(SetError::Fault(f)) => assert_eq!(f.code.code(), 9003, "ParameterKey too long: {f}"),
        other => panic!("a ParameterKey over 32 characters must be 9003, got {other:?}"),
    }
    assert_eq!(value(&mut s, &n(MS, "Username")), text("a"));
    assert_eq!(key(&mut s), text("key-1"));
    Outcome::Passed
}

fn secrets<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    let pw = n(MS, "Password");
    let sip = n(SIP, "X_EXAMPLE_SipPassword");
    assert_eq!(
        s.internal_value(&pw),
        Some(text("factory-secret")),
        "internal value of a default"
    );
    spv(
        &mut s,
        &[sv(&pw, "s3cr3t", None), sv(&sip, "sip-s3cr3t", None)],
        "",
    );
    assert_eq!(value(&mut s, &pw), text(""), "a secret reads as \"\"");
    assert_eq!(value(&mut s, &sip), text(""));
    for v in gpv(&mut s, &[""]) {
        if v.name == pw || v.name == sip || v.name == n(MS, "ConnectionRequestPassword") {
            assert_eq!(
                v.value,
                text(""),
                "{} must read as \"\" in a partial path",
                v.name
            );
        }
    }
    for v in s
        .forced_inform()
        .unwrap_or_else(|e| panic!("forced_inform: {e}"))
    {
        assert_ne!(v.value, text("s3cr3t"));
    }
    assert_eq!(
        s.internal_value(&pw),
        Some(text("s3cr3t")),
        "internal_value shows the secret"
    );
    assert_eq!(s.internal_value(&sip), Some(text("sip-s3cr3t")));
    assert_eq!(s.internal_value("Device.Nope"), None);
    Outcome::Passed
}

fn forced_inform<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    let want = [
        "Device.DeviceSummary".to_owned(),
        n(DI, "HardwareVersion"),
        n(DI, "SoftwareVersion"),
        n(MS, "ParameterKey"),
        n(MS, "ConnectionRequestURL"),
        n(LAN, "IPAddress"),
    ];
    let check = |s: &mut F::Store| {
        let got = s
            .forced_inform()
            .unwrap_or_else(|e| panic!("forced_inform: {e}"));
        let names: Vec<&str> = got.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, want.iter().map(String::as_str).collect::<Vec<_>>());
        let refs: Vec<&str> = want.iter().map(String::as_str).collect();
        assert_eq!(
            got,
            gpv(s, &refs),
            "forced_inform values must match GetParameterValues"
        );
    };
    check(&mut s);
    s.set_internal(&n(MS, "ConnectionRequestURL"), "http://192.0.2.10:7547/cr")
        .unwrap_or_else(|e| panic!("set_internal: {e}"));
    spv(
        &mut s,
        &[sv(&n(LAN, "IPAddress"), "192.0.2.99", None)],
        "fi",
    );
    check(&mut s);
    let got = s.forced_inform().unwrap_or_default();
    assert!(got.contains(&ParameterValue {
        name: n(MS, "ConnectionRequestURL"),
        value: text("http://192.0.2.10:7547/cr")
    }));
    assert!(got.contains(&ParameterValue {
        name: n(MS, "ParameterKey"),
        value: text("fi")
    }));
    Outcome::Passed
}

fn attributes<F: StoreFactory>(f: &mut F) -> Outcome {
    let schema = schema();
    let mut s = f.open();
    for a in gpa(&mut s, &[""]) {
        let def = schema
            .param(&a.name)
            .unwrap_or_else(|| panic!("unknown {}", a.name));
        assert_eq!(
            a.notification, def.default_notification,
            "default notification of {}",
            a.name
        );
        assert!(
            a.access_list.is_empty(),
            "default access list of {}",
            a.name
        );
    }
    let url = n(MS, "URL");
    spa(
        &mut s,
        &[
            sa(&url, Some(Notification::Passive), Some(&["Subscriber"])),
            sa(LAN, Some(Notification::Active), None),
        ],
    );
    let got = gpa(&mut s, &[&url]);
    assert_eq!(got[0].notification, Notification::Passive);
    assert_eq!(got[0].access_list, vec!["Subscriber".to_owned()]);
    for a in gpa(&mut s, &[LAN]) {
        assert_eq!(
            a.notification,
            Notification::Active,
            "partial path applies to {}",
            a.name
        );
        assert!(
            a.access_list.is_empty(),
            "access list untouched without AccessListChange"
        );
    }
    // Only what the change flags say changes.
    spa(&mut s, &[sa(&url, None, Some(&[]))]);
    let got = gpa(&mut s, &[&url]);
    assert_eq!(
        got[0].notification,
        Notification::Passive,
        "notification kept"
    );
    assert!(got[0].access_list.is_empty(), "access list cleared");
    // A later entry overrides an earlier one for the same parameter.
    let ip = n(LAN, "IPAddress");
    spa(
        &mut s,
        &[
            sa(LAN, Some(Notification::Passive), None),
            sa(&ip, Some(Notification::Off), None),
        ],
    );
    assert_eq!(gpa(&mut s, &[&ip])[0].notification, Notification::Off);
    assert_eq!(
        gpa(&mut s, &[&n(LAN, "SubnetMask")])[0].notification,
        Notification::Passive
    );
    // ForceDefaultEnabled may be turned off; CanDeny accepts Passive.
    let crurl = n(MS, "ConnectionRequestURL");
    spa(
        &mut s,
        &[
            sa(&crurl, Some(Notification::Off), None),
            sa(&n(DI, "UpTime"), Some(Notification::Passive), None),
        ],
    );
    assert_eq!(gpa(&mut s, &[&crurl])[0].notification, Notification::Off);
    assert_eq!(
        gpa(&mut s, &[&n(DI, "UpTime")])[0].notification,
        Notification::Passive
    );
    // ForceEnabled accepts Active (no change).
    spa(
        &mut s,
        &[sa(
            &n(DI, "SoftwareVersion"),
            Some(Notification::Active),
            None,
        )],
    );
    assert_eq!(
        gpa(&mut s, &[&n(DI, "SoftwareVersion")])[0].notification,
        Notification::Active
    );
    Outcome::Passed
}

fn notification_rules<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    let before = snapshot(&mut s);
    let url = n(MS, "URL");
    for raw in 3..=6 {
        let kind = Notification::from_i32(raw);
        expect_fault(
            s.set_attributes(&[sa(&url, kind, None)]),
            9009,
            &format!("lightweight notification {raw}"),
        );
    }
    let uptime = n(DI, "UpTime");
    expect_fault(
        s.set_attributes(&[sa(&uptime, Some(Notification::Active), None)]),
        9009,
        "Active on a CanDeny parameter",
    );
    expect_fault(
        s.set_attributes(&[sa(DI, Some(Notification::Active), None)]),
        9009,
        "Active on a partial path holding a CanDeny parameter",
    );
    for kind in [Notification::Off, Notification::Passive] {
        expect_fault(
            s.set_attributes(&[sa(&n(DI, "SoftwareVersion"), Some(kind), None)]),
            9009,
            "changing a ForceEnabled parameter",
        );
    }
    expect_fault(
        s.set_attributes(&[sa(&url, None, Some(&["Subscriber", "Admin"]))]),
        9003,
        "an access list entry other than Subscriber",
    );
    expect_fault(
        s.set_attributes(&[
            sa(&url, Some(Notification::Passive), Some(&["Subscriber"])),
            sa(&uptime, Some(Notification::Active), None),
        ]),
        9009,
        "a valid entry followed by a refused one",
    );
    expect_fault(
        s.set_attributes(&[
            sa(&url, Some(Notification::Passive), None),
            sa("Device.Nope", Some(Notification::Passive), None),
        ]),
        9005,
        "a valid entry followed by an unknown name",
    );
    assert_eq!(
        snapshot(&mut s),
        before,
        "a refused SetParameterAttributes changed something"
    );
    Outcome::Passed
}

fn add_delete_object<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    let before = snapshot(&mut s);
    for table in [VP_TABLE, "Device.Services.VoiceService."] {
        expect_fault(
            s.add_object(table, "a"),
            9004,
            &format!("AddObject {table} (fixed, full)"),
        );
    }
    for path in [
        LAN,
        "Device.",
        VP1,
        "Device.Nope.",
        "Device.LAN.IPAddress",
        "Device.Services.VoiceService.1.VoiceProfile",
        "",
    ] {
        expect_fault(
            s.add_object(path, "a"),
            9005,
            &format!("AddObject {path:?}"),
        );
    }
    expect_fault(
        s.delete_object(VP1, "d"),
        9001,
        "DeleteObject of a fixed instance",
    );
    for path in [
        "Device.Services.VoiceService.1.VoiceProfile.2.",
        VP_TABLE,
        LAN,
        "Device.Services.VoiceService.1.VoiceProfile.1",
        "Device.LAN.IPAddress",
        "",
    ] {
        expect_fault(
            s.delete_object(path, "d"),
            9005,
            &format!("DeleteObject {path:?}"),
        );
    }
    assert_eq!(
        snapshot(&mut s),
        before,
        "a refused AddObject/DeleteObject changed something"
    );
    Outcome::Passed
}

fn change_listener<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    let calls = listen(&mut s);
    let crurl = n(MS, "ConnectionRequestURL");
    let set = |s: &mut F::Store, name: &str, v: &str| {
        s.set_internal(name, v)
            .unwrap_or_else(|e| panic!("set_internal({name}) failed: {e}"))
    };
    set(&mut s, &crurl, "http://192.0.2.10:7547/cr");
    assert_eq!(
        take_calls(&calls),
        vec![vec![crurl.clone()]],
        "a changed value is reported"
    );
    assert_eq!(value(&mut s, &crurl), text("http://192.0.2.10:7547/cr"));
    set(&mut s, &crurl, "http://192.0.2.10:7547/cr");
    assert_eq!(
        take_calls(&calls),
        Vec::<Vec<String>>::new(),
        "an unchanged value is not"
    );
    let nat = n(MS, "NATDetected");
    set(&mut s, &nat, "1");
    assert_eq!(take_calls(&calls), vec![vec![nat.clone()]]);
    set(&mut s, &nat, "true");
    assert!(
        take_calls(&calls).is_empty(),
        "1 and true are the same boolean"
    );
    assert_eq!(value(&mut s, &nat), Value::Boolean(true));
    // Access rights do not apply to the device itself, types do.
    let interval = n(MS, "PeriodicInformInterval");
    set(&mut s, &interval, "120");
    assert_eq!(take_calls(&calls), vec![vec![interval.clone()]]);
    assert_eq!(value(&mut s, &interval), Value::UnsignedInt(120));
    expect_fault(
        s.set_internal(&nat, "maybe"),
        9006,
        "set_internal with a bad boolean",
    );
    expect_fault(
        s.set_internal(&n(MS, "STUNServerPort"), "0"),
        9007,
        "set_internal out of range",
    );
    expect_fault(
        s.set_internal("Device.Nope", "1"),
        9005,
        "set_internal of an unknown name",
    );
    assert!(
        take_calls(&calls).is_empty(),
        "refused set_internal calls are not reported"
    );
    let pw = n(MS, "Password");
    set(&mut s, &pw, "local-admin-secret");
    assert_eq!(take_calls(&calls), vec![vec![pw.clone()]]);
    assert_eq!(s.internal_value(&pw), Some(text("local-admin-secret")));
    // The ACS's own changes are never reported back.
    spv(
        &mut s,
        &[sv(&n(MS, "URL"), "https://new.example.invalid/", None)],
        "x",
    );
    spv(&mut s, &[sv(&interval, "300", None)], "y");
    spa(&mut s, &[sa(&interval, Some(Notification::Active), None)]);
    let _ = s.set_values(&[sv(&interval, "bad", None)], "z");
    assert!(
        take_calls(&calls).is_empty(),
        "CWMP writes must not call the listener"
    );
    if let Err(e) = s.factory_reset() {
        panic!("factory_reset: {e}");
    }
    assert!(
        take_calls(&calls).is_empty(),
        "FactoryReset must not call the listener"
    );
    Outcome::Passed
}

fn persistence<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    spv(
        &mut s,
        &[
            sv(&n(MS, "URL"), "https://persist.example.invalid/", None),
            sv(&n(MS, "Password"), "persisted-secret", None),
            sv(&n(MS, "X_EXAMPLE_ClockOffset"), "42", None),
            sv(&n(SIP, "X_EXAMPLE_ServerType"), "4", None),
        ],
        "persist-key",
    );
    spa(
        &mut s,
        &[
            sa(
                &n(MS, "URL"),
                Some(Notification::Active),
                Some(&["Subscriber"]),
            ),
            sa(SIP, Some(Notification::Passive), None),
            sa(
                &n(MS, "ConnectionRequestURL"),
                Some(Notification::Off),
                None,
            ),
        ],
    );
    s.set_internal(&n(DI, "FirstUseDate"), "2024-01-01T00:00:00Z")
        .unwrap_or_else(|e| panic!("set_internal: {e}"));
    s.set_internal(&n(MS, "NATDetected"), "true")
        .unwrap_or_else(|e| panic!("set_internal: {e}"));
    let before = snapshot(&mut s);
    drop(s);
    let mut s = f.open();
    assert_eq!(snapshot(&mut s), before, "state after reopening differs");
    assert_eq!(key(&mut s), text("persist-key"));
    assert_eq!(
        s.internal_value(&n(MS, "Password")),
        Some(text("persisted-secret"))
    );
    Outcome::Passed
}

fn commit_failure<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    spv(&mut s, &[sv(&n(MS, "Username"), "before", None)], "k0");
    let calls = listen(&mut s);
    let before = snapshot(&mut s);
    if !f.fail_next_commit() {
        return Outcome::Skipped("the factory cannot make a commit fail".to_owned());
    }
    match s.set_values(&[sv(&n(MS, "Username"), "after", None)], "k1") {
        Err(SetError::Fault(e)) => assert_eq!(e.code.code(), 9002, "SPV on a failing commit: {e}"),
        other => panic!("SetParameterValues on a failing commit must be 9002, got {other:?}"),
    }
    assert_eq!(
        snapshot(&mut s),
        before,
        "a failed commit changed SetParameterValues state"
    );
    f.fail_next_commit();
    expect_fault(
        s.set_attributes(&[sa(&n(MS, "Username"), Some(Notification::Active), None)]),
        9002,
        "SetParameterAttributes on a failing commit",
    );
    assert_eq!(
        snapshot(&mut s),
        before,
        "a failed commit changed attributes"
    );
    f.fail_next_commit();
    expect_fault(
        s.set_internal(&n(MS, "NATDetected"), "true"),
        9002,
        "set_internal on a failing commit",
    );
    assert!(
        take_calls(&calls).is_empty(),
        "a failed set_internal must not be reported"
    );
    assert_eq!(
        snapshot(&mut s),
        before,
        "a failed commit changed set_internal state"
    );
    f.fail_next_commit();
    expect_fault(s.factory_reset(), 9002, "FactoryReset on a failing commit");
    assert_eq!(
        snapshot(&mut s),
        before,
        "a failed commit changed FactoryReset state"
    );
    drop(s);
    let mut s = f.open();
    assert_eq!(
        snapshot(&mut s),
        before,
        "storage changed by failed commits"
    );
    // The failure was one-off: the next write works.
    spv(&mut s, &[sv(&n(MS, "Username"), "after", None)], "k2");
    assert_eq!(value(&mut s, &n(MS, "Username")), text("after"));
    Outcome::Passed
}

fn factory_reset<F: StoreFactory>(f: &mut F) -> Outcome {
    let mut s = f.open();
    let fresh = snapshot(&mut s);
    spv(
        &mut s,
        &[
            sv(&n(MS, "URL"), "https://changed.example.invalid/", None),
            sv(&n(MS, "Password"), "changed", None),
            sv(&n(MS, "X_EXAMPLE_ClockOffset"), "7", None),
            sv(&n(LAN, "IPAddress"), "192.0.2.77", None),
        ],
        "before-reset",
    );
    spa(
        &mut s,
        &[sa(MS, Some(Notification::Passive), Some(&["Subscriber"]))],
    );
    s.set_internal(&n(MS, "NATDetected"), "true")
        .unwrap_or_else(|e| panic!("set_internal: {e}"));
    s.set_internal(&n(MS, "ConnectionRequestURL"), "http://x.example.invalid/")
        .unwrap_or_else(|e| panic!("set_internal: {e}"));
    assert_ne!(snapshot(&mut s), fresh);
    if let Err(e) = s.factory_reset() {
        panic!("factory_reset: {e}");
    }
    assert_eq!(
        snapshot(&mut s),
        fresh,
        "FactoryReset must restore every default"
    );
    assert_eq!(key(&mut s), text(""), "FactoryReset empties ParameterKey");
    drop(s);
    let mut s = f.open();
    assert_eq!(snapshot(&mut s), fresh, "FactoryReset must be persisted");
    Outcome::Passed
}

// ---------------------------------------------------------------------------------------------
// Checks on any schema.

/// The names of the checks [`run_on`] runs, in order.
pub const SCHEMA_CHECKS: &[&str] = &[
    "schema_order",
    "schema_unknown_name",
    "schema_secrets_read_empty",
    "schema_read_only_refused",
    "schema_set_persists",
    "schema_set_all_or_nothing",
];

/// Runs the checks that need no particular data model against a store built from `schema`
/// (any device's: the Desk Phone's, an embedder's own). The factory's `open` must build the
/// store from that same schema; the parameters each check uses are picked from it (the first
/// writable stored parameter a new value can be found for, the first read-only one …). A
/// check whose kind of parameter the schema lacks is reported as skipped.
///
/// [`run`] stays the full suite on the suite's own schema ([`schema()`]); this is the part of
/// it that holds for every schema.
pub fn run_on<F: StoreFactory>(schema: &Schema, factory: &mut F) -> Report {
    type SchemaCheck<F> = (&'static str, fn(&Schema, &mut F) -> Outcome);
    let checks: [SchemaCheck<F>; 6] = [
        ("schema_order", schema_order),
        ("schema_unknown_name", schema_unknown_name),
        ("schema_secrets_read_empty", schema_secrets_read_empty),
        ("schema_read_only_refused", schema_read_only_refused),
        ("schema_set_persists", schema_set_persists),
        ("schema_set_all_or_nothing", schema_set_all_or_nothing),
    ];
    debug_assert!(checks.iter().map(|c| c.0).eq(SCHEMA_CHECKS.iter().copied()));
    let mut report = Report::default();
    for (name, check) in checks {
        run_one(factory, &mut report, name, |f: &mut F| check(schema, f));
    }
    factory.reset_storage();
    report
}

/// The root object of the schema (`Device.` or `InternetGatewayDevice.`).
fn root_of(schema: &Schema) -> String {
    schema
        .roots()
        .next()
        .map(|o| o.path.clone())
        .unwrap_or_else(|| "Device.".to_owned())
}

/// The values of the stored parameters (live ones may change between two reads).
fn stored<S: ParameterStore>(schema: &Schema, s: &mut S) -> Vec<ParameterValue> {
    let names: Vec<&str> = schema
        .params()
        .iter()
        .filter(|p| matches!(p.source, Source::Item(_) | Source::Internal))
        .map(|p| p.name.as_str())
        .collect();
    gpv(s, &names)
}

/// The current lexical value of a parameter (as read over CWMP; secrets are never picked).
fn lexical<S: ParameterStore>(s: &mut S, name: &str) -> String {
    value(s, name).to_lexical()
}

/// A writable, non-secret stored parameter and a valid value different from its current one.
fn writable_with_new_value<S: ParameterStore>(
    schema: &Schema,
    s: &mut S,
) -> Option<(String, String)> {
    const CANDIDATES: &[&str] = &[
        "true",
        "false",
        "0",
        "1",
        "2",
        "conformance",
        "http://conformance.example/",
        "192.0.2.1",
    ];
    for p in schema.params() {
        if p.access != Access::ReadWrite || p.secret || !matches!(p.source, Source::Item(_)) {
            continue;
        }
        let current = lexical(s, &p.name);
        let enumerated = p.ty.enumeration.iter().map(String::as_str);
        for v in enumerated.chain(CANDIDATES.iter().copied()) {
            if v != current && p.ty.parse_with_reason(v, None).is_ok() {
                return Some((p.name.clone(), v.to_owned()));
            }
        }
    }
    None
}

fn schema_order<F: StoreFactory>(schema: &Schema, f: &mut F) -> Outcome {
    let mut s = f.open();
    let got: Vec<String> = gpv(&mut s, &[""]).into_iter().map(|v| v.name).collect();
    let want: Vec<&str> = schema.params().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        got, want,
        "GetParameterValues(\"\") is not the schema's order"
    );
    Outcome::Passed
}

fn schema_unknown_name<F: StoreFactory>(schema: &Schema, f: &mut F) -> Outcome {
    let mut s = f.open();
    let name = format!("{}NoSuchParameterConformance", root_of(schema));
    expect_fault(
        s.get_values(std::slice::from_ref(&name)),
        9005,
        "an unknown name",
    );
    expect_fault(
        s.get_names(&format!("{name}."), false),
        9005,
        "an unknown path",
    );
    Outcome::Passed
}

fn schema_secrets_read_empty<F: StoreFactory>(schema: &Schema, f: &mut F) -> Outcome {
    let secrets: Vec<&str> = schema
        .params()
        .iter()
        .filter(|p| p.secret)
        .map(|p| p.name.as_str())
        .collect();
    if secrets.is_empty() {
        return Outcome::Skipped("the schema has no secret parameter".into());
    }
    let mut s = f.open();
    for v in gpv(&mut s, &secrets) {
        assert_eq!(v.value, text(""), "{} must read as \"\"", v.name);
    }
    Outcome::Passed
}

fn schema_read_only_refused<F: StoreFactory>(schema: &Schema, f: &mut F) -> Outcome {
    let Some(p) = schema
        .params()
        .iter()
        .find(|p| p.access == Access::ReadOnly)
    else {
        return Outcome::Skipped("the schema has no read-only parameter".into());
    };
    let mut s = f.open();
    let before = stored(schema, &mut s);
    let current = lexical(&mut s, &p.name);
    match s.set_values(&[sv(&p.name, &current, None)], "pk-read-only") {
        Err(SetError::Parameters(faults)) => {
            assert!(
                faults
                    .iter()
                    .any(|x| x.name == p.name && x.code.code() == 9008),
                "{}: expected 9008, got {faults:?}",
                p.name
            );
        }
        other => panic!("{}: expected 9008, got {other:?}", p.name),
    }
    assert_eq!(
        stored(schema, &mut s),
        before,
        "a refused set changed values"
    );
    Outcome::Passed
}

fn schema_set_persists<F: StoreFactory>(schema: &Schema, f: &mut F) -> Outcome {
    let mut s = f.open();
    let Some((name, new)) = writable_with_new_value(schema, &mut s) else {
        return Outcome::Skipped("no writable stored parameter to set".into());
    };
    spv(&mut s, &[sv(&name, &new, None)], "pk-conformance");
    assert_eq!(lexical(&mut s, &name), new, "{name} after the set");
    drop(s);
    let mut s = f.open();
    assert_eq!(lexical(&mut s, &name), new, "{name} after reopening");
    if let Some(pk) = schema.parameter_key() {
        assert_eq!(
            lexical(&mut s, &pk.name),
            "pk-conformance",
            "ParameterKey after reopening"
        );
    }
    Outcome::Passed
}

fn schema_set_all_or_nothing<F: StoreFactory>(schema: &Schema, f: &mut F) -> Outcome {
    let mut s = f.open();
    let Some((name, new)) = writable_with_new_value(schema, &mut s) else {
        return Outcome::Skipped("no writable stored parameter to set".into());
    };
    let unknown = format!("{}NoSuchParameterConformance", root_of(schema));
    let before = stored(schema, &mut s);
    let r = s.set_values(&[sv(&name, &new, None), sv(&unknown, "1", None)], "pk-x");
    assert!(r.is_err(), "a set with an unknown name must fail");
    assert_eq!(
        stored(schema, &mut s),
        before,
        "a failed set changed values"
    );
    Outcome::Passed
}

//! End-to-end: the blocking `Client` runs the real engine against the fake ACS over loopback
//! HTTP and HTTPS, with an in-memory store. Every test is bounded by a watchdog that shuts
//! the client down.

use cwmp_client::{
    Client, ClientConfig, ClientHandle, ClientIdentity, Device, Exit, TlsSettings, TlsSources,
    TransportConfig,
};
use cwmp_engine::{BootReason, DownloadRequest, PersistentState};
use cwmp_model::{
    Access, BaseType, MemoryStore, ObjectDef, ObjectKind, ParamDef, ParamType, ParameterStore,
    Schema, Source, Value, XsdType,
};
use cwmp_soap::{Body, GetParameterValues, ParameterValueStruct, SetParameterValues};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs, Fault, SessionLog};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CA_PARAM: &str = "Device.X_Test_ACS.CACertificate1";

fn schema() -> Schema {
    let obj = |p: &str| ObjectDef {
        path: p.into(),
        kind: ObjectKind::Single,
    };
    let p = |name: &str, base: BaseType, access: Access, default: &str| {
        let mut d = ParamDef::new(
            name,
            ParamType::new(base),
            access,
            Source::Item(name.to_string()),
        );
        d.default = Some(default.to_string());
        d
    };
    let mut params = vec![
        p(
            "Device.DeviceInfo.Manufacturer",
            BaseType::String,
            Access::ReadOnly,
            "Unify",
        ),
        p(
            "Device.DeviceInfo.ManufacturerOUI",
            BaseType::String,
            Access::ReadOnly,
            "001AE8",
        ),
        p(
            "Device.DeviceInfo.ProductClass",
            BaseType::String,
            Access::ReadOnly,
            "OpenScape Desk Phone CP600",
        ),
        p(
            "Device.DeviceInfo.SerialNumber",
            BaseType::String,
            Access::ReadOnly,
            "001AE8A1B2C3",
        ),
        p(
            "Device.ManagementServer.URL",
            BaseType::String,
            Access::ReadWrite,
            "",
        ),
        p(
            "Device.ManagementServer.Username",
            BaseType::String,
            Access::ReadWrite,
            "",
        ),
        p(
            "Device.ManagementServer.Password",
            BaseType::String,
            Access::ReadWrite,
            "",
        ),
        p(
            "Device.ManagementServer.PeriodicInformEnable",
            BaseType::Boolean,
            Access::ReadWrite,
            "false",
        ),
        p(
            "Device.ManagementServer.PeriodicInformInterval",
            BaseType::UnsignedInt,
            Access::ReadWrite,
            "3600",
        ),
        p(
            "Device.ManagementServer.CWMPRetryMinimumWaitInterval",
            BaseType::UnsignedInt,
            Access::ReadWrite,
            "1",
        ),
        p(
            "Device.ManagementServer.CWMPRetryIntervalMultiplier",
            BaseType::UnsignedInt,
            Access::ReadWrite,
            "1000",
        ),
        p(CA_PARAM, BaseType::String, Access::ReadWrite, ""),
    ];
    for d in params.iter_mut() {
        if d.name.ends_with("Password") {
            d.secret = true;
        }
        if d.name.starts_with("Device.DeviceInfo.") || d.name.ends_with(".URL") {
            d.forced_inform = true;
        }
    }
    let mut key = ParamDef::new(
        "Device.ManagementServer.ParameterKey",
        ParamType::new(BaseType::String),
        Access::ReadOnly,
        Source::Internal,
    );
    key.forced_inform = true;
    params.push(key);
    Schema::new(
        params,
        vec![
            obj("Device."),
            obj("Device.DeviceInfo."),
            obj("Device.ManagementServer."),
            obj("Device.X_Test_ACS."),
        ],
    )
    .expect("schema")
}

fn store(url: &str, user: &str, pass: &str) -> MemoryStore {
    let mut s = MemoryStore::in_memory(schema());
    s.set_internal("Device.ManagementServer.URL", url)
        .expect("url");
    s.set_internal("Device.ManagementServer.Username", user)
        .expect("user");
    s.set_internal("Device.ManagementServer.Password", pass)
        .expect("pass");
    s
}

/// A device that records what the driver told it and stops the client after `stop_after`
/// successful sessions.
#[derive(Clone, Default)]
struct Recorder {
    persisted: Arc<Mutex<Vec<PersistentState>>>,
    sessions: Arc<Mutex<Vec<(u64, bool)>>>,
    handle: Arc<Mutex<Option<ClientHandle>>>,
    stop_after: usize,
    /// Returned from `Device::tls_settings` when set.
    tls: Option<TlsSettings>,
}

impl<S: ParameterStore> Device<S> for Recorder {
    fn persist(&mut self, state: &PersistentState) -> std::io::Result<()> {
        self.persisted.lock().expect("lock").push(state.clone());
        Ok(())
    }

    fn download(&mut self, _request: DownloadRequest, _handle: &ClientHandle) {}

    fn tls_settings(&mut self, _store: &mut S) -> Option<Result<TlsSettings, cwmp_client::Error>> {
        self.tls.clone().map(Ok)
    }

    fn session_ended(&mut self, session_id: u64, ok: bool) {
        let mut s = self.sessions.lock().expect("lock");
        s.push((session_id, ok));
        if s.iter().filter(|(_, ok)| *ok).count() >= self.stop_after {
            if let Some(h) = self.handle.lock().expect("lock").as_ref() {
                h.shutdown();
            }
        }
    }
}

fn config() -> ClientConfig {
    ClientConfig {
        transport: TransportConfig {
            response_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            ..TransportConfig::default()
        },
        ..ClientConfig::default()
    }
}

/// Run the client until the recorder stops it, with a watchdog.
fn run(
    config: ClientConfig,
    store: &mut MemoryStore,
    stop_after: usize,
    watchdog: Duration,
) -> (Exit, Recorder) {
    run_with(config, store, stop_after, watchdog, None)
}

fn run_with(
    config: ClientConfig,
    store: &mut MemoryStore,
    stop_after: usize,
    watchdog: Duration,
    tls: Option<TlsSettings>,
) -> (Exit, Recorder) {
    let mut client =
        Client::new(config, PersistentState::new(), BootReason::PowerOn, 42).expect("client");
    let handle = client.handle();
    let mut rec = Recorder {
        stop_after,
        tls,
        ..Recorder::default()
    };
    *rec.handle.lock().expect("lock") = Some(handle.clone());
    let dog = std::thread::spawn(move || {
        std::thread::sleep(watchdog);
        handle.shutdown();
    });
    let exit = client.run(store, &mut rec).expect("run");
    drop(dog); // the watchdog thread ends on its own; the test does not wait for it
    (exit, rec)
}

fn event_codes(s: &SessionLog) -> Vec<String> {
    s.inform
        .event
        .iter()
        .map(|e| e.event_code.clone())
        .collect()
}

fn gpv_and_spv() -> Vec<AcsMessage> {
    vec![
        AcsMessage::Request(Body::GetParameterValues(GetParameterValues {
            parameter_names: vec!["Device.ManagementServer.".into()],
        })),
        AcsMessage::Request(Body::SetParameterValues(SetParameterValues {
            parameter_list: vec![ParameterValueStruct::new(
                "Device.ManagementServer.PeriodicInformInterval",
                "300",
                XsdType::UnsignedInt,
            )],
            parameter_key: "k1".into(),
        })),
    ]
}

fn check_bootstrap_session(acs: &FakeAcs, store: &mut MemoryStore) {
    let sessions = acs.sessions();
    assert!(!sessions.is_empty());
    let s = &sessions[0];
    let codes = event_codes(s);
    assert!(codes.contains(&"0 BOOTSTRAP".to_string()), "{codes:?}");
    assert!(codes.contains(&"1 BOOT".to_string()), "{codes:?}");
    assert_eq!(s.inform.device_id.serial_number, "001AE8A1B2C3");
    assert!(s.ended, "{s:?}");
    assert_eq!(
        s.sent,
        [
            "InformResponse",
            "GetParameterValues",
            "SetParameterValues",
            "204"
        ]
    );
    // The CPE's answers: empty POST, GPV response, SPV response.
    assert_eq!(s.received.len(), 3, "{:?}", s.received);
    assert!(s.received[0].is_none());
    let gpv = s.received[1].as_ref().expect("GPV response");
    let Body::GetParameterValuesResponse(r) = &gpv.body else {
        panic!("expected GetParameterValuesResponse, got {gpv:?}");
    };
    let pw = r
        .parameter_list
        .iter()
        .find(|p| p.name == "Device.ManagementServer.Password")
        .expect("password listed");
    assert_eq!(pw.value, "", "secrets read back as empty");
    assert!(matches!(
        s.received[2].as_ref().map(|e| &e.body),
        Some(Body::SetParameterValuesResponse(_))
    ));
    assert_eq!(
        store.internal_value("Device.ManagementServer.PeriodicInformInterval"),
        Some(Value::UnsignedInt(300))
    );
    // Every POST of the session used one connection, and every POST after the Inform the
    // session cookie.
    let reqs = acs.requests();
    assert!(reqs.iter().all(|r| r.connection == reqs[0].connection));
    let cookie = format!("session={}", s.cookie);
    for r in reqs.iter().filter(|r| !r.body_text().contains(":Inform>")) {
        assert_eq!(r.header("cookie"), Some(cookie.as_str()), "{r:?}");
    }
}

#[test]
fn bootstrap_session_over_http_with_digest() {
    let acs = FakeAcs::builder()
        .digest_auth("001AE8-001AE8A1B2C3", "acs-secret")
        .cwmp(
            CwmpScript::new()
                .require_cookie(true)
                .session(gpv_and_spv()),
        )
        .start()
        .expect("acs");
    let mut st = store(acs.url(), "001AE8-001AE8A1B2C3", "acs-secret");
    let (exit, rec) = run(config(), &mut st, 1, Duration::from_secs(30));
    assert_eq!(exit, Exit::Shutdown);
    assert_eq!(rec.sessions.lock().expect("lock").first(), Some(&(1, true)));
    check_bootstrap_session(&acs, &mut st);
    // The delivered BOOTSTRAP was persisted.
    let persisted = rec.persisted.lock().expect("lock");
    let last = persisted.last().expect("state persisted");
    assert!(!last.bootstrap_pending);
    assert_eq!(last.bootstrap_url.as_deref(), Some(acs.url()));
}

#[test]
fn bootstrap_session_over_https_with_the_provisioned_ca() {
    let acs = FakeAcs::builder()
        .https()
        .basic_auth("001AE8-001AE8A1B2C3", "acs-secret")
        .cwmp(
            CwmpScript::new()
                .require_cookie(true)
                .session(gpv_and_spv()),
        )
        .start()
        .expect("acs");
    let mut st = store(acs.url(), "001AE8-001AE8A1B2C3", "acs-secret");
    let ca = acs.ca().expect("ca").cert_pem();
    st.set_internal(CA_PARAM, &ca).expect("CA");
    let cfg = ClientConfig {
        tls: TlsSources {
            ca_certificate_params: vec![CA_PARAM.into()],
            ..TlsSources::default()
        },
        ..config()
    };
    let (exit, _rec) = run(cfg, &mut st, 1, Duration::from_secs(30));
    assert_eq!(exit, Exit::Shutdown);
    check_bootstrap_session(&acs, &mut st);
    assert!(acs.requests().iter().all(|r| r.tls));
}

#[test]
fn failed_session_is_retried_and_recovers() {
    let acs = FakeAcs::builder()
        .faults([Fault::Status(500), Fault::GarbageHttp, Fault::GarbageBody])
        .start()
        .expect("acs");
    let mut st = store(acs.url(), "", "");
    // HTTP 500, bytes that are not HTTP, then a 200 whose body is not XML: three failed
    // sessions. CWMPRetryMinimumWaitInterval = 1 s and multiplier 1.000: retries after 1 s.
    let (exit, rec) = run(config(), &mut st, 1, Duration::from_secs(30));
    assert_eq!(exit, Exit::Shutdown);
    let sessions = rec.sessions.lock().expect("lock").clone();
    assert_eq!(
        sessions.iter().map(|(_, ok)| *ok).collect::<Vec<_>>(),
        [false, false, false, true]
    );
    let acs_sessions = acs.sessions();
    assert_eq!(
        acs_sessions.len(),
        1,
        "only the fourth Inform reached the CWMP layer"
    );
    assert_eq!(acs_sessions[0].inform.retry_count, 3);
    assert!(event_codes(&acs_sessions[0]).contains(&"0 BOOTSTRAP".to_string()));
    let reqs = acs.requests();
    assert_eq!(
        reqs.len(),
        5,
        "three failed Informs, one good Inform, one empty POST"
    );
}

#[test]
fn wrong_ca_fails_the_session_without_sending_the_inform() {
    let acs = FakeAcs::builder().https().start().expect("acs");
    let mut st = store(acs.url(), "", "");
    let other = cwmp_testkit::acs::TestCa::new("not the ACS's CA");
    st.set_internal(CA_PARAM, &other.cert_pem()).expect("CA");
    let cfg = ClientConfig {
        tls: TlsSources {
            ca_certificate_params: vec![CA_PARAM.into()],
            ..TlsSources::default()
        },
        ..config()
    };
    // No session can succeed; the watchdog stops the client after a few retries.
    let (exit, rec) = run(cfg, &mut st, 1, Duration::from_millis(2500));
    assert_eq!(exit, Exit::Shutdown);
    let sessions = rec.sessions.lock().expect("lock").clone();
    assert!(!sessions.is_empty());
    assert!(sessions.iter().all(|(_, ok)| !ok));
    assert!(
        acs.requests().is_empty(),
        "no Inform over an untrusted connection"
    );
    assert!(acs.tls_failures() >= 1);
}

#[test]
fn connection_request_from_another_thread_starts_a_session() {
    let acs = FakeAcs::builder().start().expect("acs");
    let mut st = store(acs.url(), "", "");
    let mut client =
        Client::new(config(), PersistentState::new(), BootReason::PowerOn, 7).expect("client");
    let handle = client.handle();
    let mut rec = Recorder {
        stop_after: 2,
        ..Recorder::default()
    };
    *rec.handle.lock().expect("lock") = Some(handle.clone());
    let h2 = handle.clone();
    let poker = std::thread::spawn(move || {
        // After the boot session, poke the client like the connection-request listener.
        std::thread::sleep(Duration::from_millis(500));
        h2.connection_request();
        std::thread::sleep(Duration::from_secs(20));
        h2.shutdown();
    });
    let exit = client.run(&mut st, &mut rec).expect("run");
    assert_eq!(exit, Exit::Shutdown);
    drop(poker);
    let sessions = acs.sessions();
    assert_eq!(sessions.len(), 2);
    assert!(event_codes(&sessions[1]).contains(&"6 CONNECTION REQUEST".to_string()));
    assert_ne!(sessions[0].cookie, sessions[1].cookie);
}

#[test]
fn default_identity_presented_and_tls_from_the_device_hook() {
    let ca = cwmp_testkit::acs::TestCa::new("operator CA");
    let device_cert = ca.issue_client("001AE8-001AE8A1B2C3");
    let acs = FakeAcs::builder()
        .https_with(cwmp_testkit::acs::HttpsOptions {
            server: ca.issue_server(&["localhost"]),
            client_ca: Some(ca.cert_der()),
        })
        .start()
        .expect("acs");
    let mut st = store(acs.url(), "", "");

    // 1. CA from the store parameter, identity from the configured default.
    st.set_internal(CA_PARAM, &ca.cert_pem()).expect("CA");
    let identity =
        ClientIdentity::from_pem(&device_cert.cert_pem, &device_cert.key_pem).expect("identity");
    let cfg = ClientConfig {
        tls: TlsSources {
            ca_certificate_params: vec![CA_PARAM.into()],
            default_identity: Some(identity.clone()),
            ..TlsSources::default()
        },
        ..config()
    };
    let (exit, _) = run(cfg, &mut st, 1, Duration::from_secs(30));
    assert_eq!(exit, Exit::Shutdown);
    let reqs = acs.requests();
    assert!(!reqs.is_empty());
    assert!(reqs
        .iter()
        .all(|r| r.client_cert.as_deref() == Some(device_cert.cert_der.as_slice())));

    // 2. Everything from the device hook (certificates kept outside the parameter tree).
    st.set_internal(CA_PARAM, "").expect("clear CA");
    let tls = TlsSettings::new()
        .with_ca_pem(&ca.cert_pem())
        .expect("CA")
        .with_identity(identity);
    let before = acs.sessions_ended();
    let (exit, rec) = run_with(config(), &mut st, 1, Duration::from_secs(30), Some(tls));
    assert_eq!(exit, Exit::Shutdown);
    assert_eq!(
        rec.sessions.lock().expect("lock").first().map(|s| s.1),
        Some(true)
    );
    assert_eq!(acs.sessions_ended(), before + 1);
}

#[test]
fn typed_store_jobs_reach_the_concrete_store_on_the_driver_thread() {
    let acs = FakeAcs::builder().start().expect("acs");
    let mut st = store(acs.url(), "", "");
    let mut client =
        Client::new(config(), PersistentState::new(), BootReason::PowerOn, 9).expect("client");
    let handle = client.handle();
    let mut rec = Recorder {
        stop_after: usize::MAX,
        ..Recorder::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let h2 = handle.clone();
    let worker = std::thread::spawn(move || {
        // The right type: the job runs with the MemoryStore itself.
        let tx2 = tx.clone();
        let (ran_tx, ran_rx) = std::sync::mpsc::channel();
        h2.with_store_as::<MemoryStore>(move |s: &mut MemoryStore| {
            let n = s.schema().params().len();
            tx2.send(Some(n)).expect("send");
            ran_tx.send(()).expect("send");
        })
        .expect("the right type");
        // Another type: refused before anything is sent (run has started: the job above ran).
        ran_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("first job ran");
        let (tx3, rx3) = std::sync::mpsc::channel::<()>();
        let err = h2
            .with_store_as::<String>(move |_s: &mut String| {
                tx3.send(()).expect("never runs");
            })
            .expect_err("another type");
        assert!(
            matches!(err, cwmp_client::Error::WrongStoreType { .. }),
            "{err}"
        );
        let skipped = rx3.recv_timeout(Duration::from_secs(1)).is_err();
        tx.send(if skipped { None } else { Some(0) }).expect("send");
        h2.shutdown();
    });
    let exit = client.run(&mut st, &mut rec).expect("run");
    assert_eq!(exit, Exit::Shutdown);
    worker.join().expect("worker");
    let ran = rx.recv().expect("typed job ran");
    assert_eq!(ran, Some(st.schema().params().len()));
    assert_eq!(rx.recv().expect("mismatch reported"), None);
}

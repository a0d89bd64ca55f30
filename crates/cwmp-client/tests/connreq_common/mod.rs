//! Shared rig for the connection-request tests: the real `Client` on its own thread with the
//! Desk Phone data model in memory, the fake ACS on loopback, and helpers to read the store
//! through the client's handle. Every wait is bounded.
#![allow(dead_code)]

use cwmp_client::{
    Client, ClientConfig, ClientHandle, ConnectionRequestConfig, Device, Exit, TransportConfig,
};
use cwmp_engine::{BootReason, DownloadRequest, PersistentState};
use cwmp_model::{MemoryStore, ParameterStore};
use cwmp_testkit::acs::{CwmpScript, FakeAcs};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const MS: &str = "Device.ManagementServer.";
pub const CR_USER: &str = "acs-cr";
pub const CR_PASS: &str = "cr-s3cret";

pub fn p(leaf: &str) -> String {
    format!("{MS}{leaf}")
}

struct Quiet;

impl<S: ParameterStore> Device<S> for Quiet {
    fn persist(&mut self, _state: &PersistentState) -> std::io::Result<()> {
        Ok(())
    }
    fn download(&mut self, _request: DownloadRequest, _handle: &ClientHandle) {}
}

pub struct Rig {
    pub acs: FakeAcs,
    pub handle: ClientHandle,
    thread: Option<JoinHandle<(Exit, MemoryStore)>>,
}

impl Rig {
    /// Starts the client with `setup` (leaf, value) written to the store first.
    pub fn start(cr: ConnectionRequestConfig, setup: &[(&str, &str)]) -> Rig {
        let acs = FakeAcs::builder()
            .cwmp(CwmpScript::new())
            .start()
            .expect("fake ACS");
        let model = deskphone_datamodel::DeskPhoneModel::builtin();
        let mut store = MemoryStore::in_memory(model.schema().clone());
        store.set_internal(&p("URL"), acs.url()).expect("URL");
        store
            .set_internal(&p("PeriodicInformEnable"), "false")
            .expect("periodic");
        store
            .set_internal(&p("ConnectionRequestUsername"), CR_USER)
            .expect("user");
        store
            .set_internal(&p("ConnectionRequestPassword"), CR_PASS)
            .expect("pass");
        for (k, v) in setup {
            store.set_internal(&p(k), v).expect("setup");
        }
        let config = ClientConfig {
            transport: TransportConfig {
                response_timeout: Duration::from_secs(10),
                connect_timeout: Duration::from_secs(5),
                ..TransportConfig::default()
            },
            connection_requests: cr,
            ..ClientConfig::default()
        };
        let mut client =
            Client::new(config, PersistentState::new(), BootReason::PowerOn, 11).expect("client");
        let handle = client.handle();
        let thread = std::thread::spawn(move || {
            let exit = client.run(&mut store, &mut Quiet).expect("run");
            (exit, store)
        });
        let rig = Rig {
            acs,
            handle,
            thread: Some(thread),
        };
        rig.wait_until("the boot session ended", Duration::from_secs(15), |r| {
            r.acs.sessions_ended() >= 1
        });
        rig
    }

    /// A parameter's value, read on the driver's thread.
    pub fn value(&self, name: &str) -> String {
        let (tx, rx) = mpsc::channel();
        let n = name.to_owned();
        assert!(self.handle.with_store(move |s| {
            let _ = tx.send(s.internal_value(&n).map(|v| v.to_lexical()));
        }));
        rx.recv_timeout(Duration::from_secs(10))
            .expect("driver answered")
            .unwrap_or_default()
    }

    /// A device-side write, on the driver's thread.
    pub fn set(&self, name: &str, value: &str) {
        let (tx, rx) = mpsc::channel();
        let (n, v) = (name.to_owned(), value.to_owned());
        assert!(self.handle.with_store(move |s| {
            let _ = tx.send(s.set_internal(&n, &v).is_ok());
        }));
        assert!(rx
            .recv_timeout(Duration::from_secs(10))
            .expect("driver answered"));
    }

    pub fn wait_until(&self, what: &str, limit: Duration, f: impl Fn(&Rig) -> bool) {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if f(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("timed out waiting until {what}");
    }

    /// Sessions whose Inform carried `6 CONNECTION REQUEST`.
    pub fn cr_sessions(&self) -> usize {
        self.acs
            .sessions()
            .iter()
            .filter(|s| {
                s.inform
                    .event
                    .iter()
                    .any(|e| e.event_code == "6 CONNECTION REQUEST")
            })
            .count()
    }

    /// Waits for ConnectionRequestURL to be non-empty and returns it.
    pub fn cr_url(&self) -> String {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let u = self.value(&p("ConnectionRequestURL"));
            if !u.is_empty() {
                return u;
            }
            assert!(Instant::now() < end, "ConnectionRequestURL stayed empty");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(mut self) -> MemoryStore {
        self.handle.shutdown();
        let (exit, store) = self.thread.take().expect("running").join().expect("client");
        assert_eq!(exit, Exit::Shutdown);
        store
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// `host:port` and path of an `http://host:port/path` URL.
pub fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let i = rest.find('/').expect("path");
    (rest[..i].to_owned(), rest[i..].to_owned())
}

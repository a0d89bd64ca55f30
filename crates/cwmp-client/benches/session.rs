//! Cost of one complete CWMP session on loopback, end to end: the real `Client` (engine,
//! codec, store, ureq transport) against the fake ACS in the same process.
//!
//! Each iteration asks for a session (a connection request through the `ClientHandle`) and
//! waits until it has ended: Inform → InformResponse, empty POST → GetParameterValues of the
//! whole tree (`Device.`, the Desk Phone CP model) → its response → SetParameterValues of one
//! parameter → its response → 204. The time includes both sides (the fake ACS parses and
//! writes with the same codec) and the loopback TCP exchanges; on an idle machine it is the
//! CPU cost of a session.
//!
//! Run: `cargo bench -p cwmp-client --bench session`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use cwmp_client::{Client, ClientConfig, ClientHandle, Device};
use cwmp_engine::{BootReason, DownloadRequest, PersistentState};
use cwmp_model::{MemoryStore, ParameterStore, XsdType};
use cwmp_soap::{Body, GetParameterValues, ParameterValueStruct, SetParameterValues};
use cwmp_testkit::acs::{AcsMessage, CwmpScript, FakeAcs};
use deskphone_datamodel::DeskPhoneModel;
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Signal(mpsc::Sender<bool>);

impl<S: ParameterStore> Device<S> for Signal {
    fn persist(&mut self, _state: &PersistentState) -> std::io::Result<()> {
        Ok(())
    }
    fn download(&mut self, _request: DownloadRequest, _handle: &ClientHandle) {}
    fn session_ended(&mut self, _session_id: u64, ok: bool) {
        let _ = self.0.send(ok);
    }
}

fn session(c: &mut Criterion) {
    let script = CwmpScript::new().every_session([
        AcsMessage::Request(Body::GetParameterValues(GetParameterValues {
            parameter_names: vec!["Device.".into()],
        })),
        AcsMessage::Request(Body::SetParameterValues(SetParameterValues {
            parameter_list: vec![ParameterValueStruct::new(
                "Device.ManagementServer.PeriodicInformInterval",
                "600",
                XsdType::UnsignedInt,
            )],
            parameter_key: "bench".into(),
        })),
    ]);
    let acs = FakeAcs::builder()
        .cwmp(script)
        .history_limit(4)
        .start()
        .expect("fake ACS");
    let model = DeskPhoneModel::builtin();
    let mut store = MemoryStore::in_memory(model.schema().clone());
    store
        .set_internal("Device.ManagementServer.URL", acs.url())
        .expect("URL");
    let mut client = Client::new(
        ClientConfig::default(),
        PersistentState::new(),
        BootReason::PowerOn,
        1,
    )
    .expect("client");
    let handle = client.handle();
    let (tx, rx) = mpsc::channel();
    // A named thread, so that a profiler can tell the client's share from the fake ACS's.
    let driver = std::thread::Builder::new()
        .name("cwmp-client".into())
        .spawn(move || {
            let mut dev = Signal(tx);
            let _ = client.run(&mut store, &mut dev);
        })
        .expect("driver thread");
    // The boot session.
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(true));

    let cpu0 = process_cpu();
    let sessions0 = acs.sessions_ended();
    let mut group = c.benchmark_group("client");
    group.sample_size(30);
    group.bench_function("loopback_session_inform_gpv_all_spv", |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                handle.connection_request();
                assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(true));
            }
            t0.elapsed()
        })
    });
    group.finish();
    let sessions = acs.sessions_ended() - sessions0;
    if let (Some(a), Some(b)) = (cpu0, process_cpu()) {
        if sessions > 0 {
            eprintln!(
                "process CPU (client and fake ACS together) per session: {:.0} µs over {sessions} sessions",
                (b - a).as_secs_f64() * 1e6 / sessions as f64
            );
        }
    }
    handle.shutdown();
    let _ = driver.join();
    let gpv = acs
        .sessions()
        .last()
        .and_then(|s| s.received.get(1).cloned().flatten());
    if let Some(Body::GetParameterValuesResponse(r)) = gpv.map(|e| e.body) {
        eprintln!(
            "parameters in each GetParameterValuesResponse: {}",
            r.parameter_list.len()
        );
    }
}

/// User + system CPU time of this process (Linux `/proc/self/stat`, in clock ticks of
/// 10 ms), `None` elsewhere. Coarse, so only meaningful over thousands of sessions.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

criterion_group!(benches, session);
criterion_main!(benches);

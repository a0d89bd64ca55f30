//! Per-call cost of the store operations the session engine issues most: GetParameterValues of
//! the whole tree and a 20-parameter SetParameterValues, on the conformance schema over
//! [`MemoryBackend`](cwmp_model::MemoryBackend).
//!
//! Run with `cargo bench -p cwmp-model --bench store`.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use cwmp_model::conformance::{live_values, schema};
use cwmp_model::{MemoryBackend, ParameterStore, SchemaStore, SetValue};
use std::hint::black_box;

fn twenty_values(round: u32) -> Vec<SetValue> {
    let ms = "Device.ManagementServer.";
    let sip = "Device.Services.VoiceService.1.VoiceProfile.1.SIP.";
    let v = |name: String, value: String| SetValue {
        name,
        value,
        xsi_type: None,
    };
    vec![
        v(
            format!("{ms}URL"),
            format!("https://acs{round}.example.invalid/"),
        ),
        v(format!("{ms}Username"), format!("user{round}")),
        v(format!("{ms}Password"), format!("pw{round}")),
        v(format!("{ms}PeriodicInformEnable"), "true".into()),
        v(
            format!("{ms}PeriodicInformInterval"),
            (60 + round % 1000).to_string(),
        ),
        v(
            format!("{ms}PeriodicInformTime"),
            "2024-05-01T10:00:00Z".into(),
        ),
        v(
            format!("{ms}ConnectionRequestUsername"),
            format!("cr{round}"),
        ),
        v(
            format!("{ms}ConnectionRequestPassword"),
            format!("crpw{round}"),
        ),
        v(
            format!("{ms}STUNServerPort"),
            (1 + round % 65535).to_string(),
        ),
        v(format!("{ms}STUNMaximumKeepAlivePeriod"), "-1".into()),
        v(format!("{ms}CWMPRetryMinimumWaitInterval"), "5".into()),
        v(format!("{ms}CWMPRetryIntervalMultiplier"), "2000".into()),
        v(format!("{ms}X_EXAMPLE_ClockOffset"), "-30".into()),
        v("Device.LAN.SubnetMask".into(), "255.255.255.0".into()),
        v("Device.LAN.DefaultGateway".into(), "192.0.2.1".into()),
        v(format!("{sip}ProxyServer"), "sip.example.invalid".into()),
        v(format!("{sip}ProxyServerPort"), "5060".into()),
        v(format!("{sip}RegisterExpires"), "3600".into()),
        v(format!("{sip}X_EXAMPLE_ServerType"), "4".into()),
        v(format!("{sip}X_EXAMPLE_Transport"), "1".into()),
    ]
}

fn bench(c: &mut Criterion) {
    let mut store = SchemaStore::with_backend(schema(), MemoryBackend::new(), live_values());
    let all = vec![String::new()];
    let n = match store.get_values(&all) {
        Ok(v) => v.len(),
        Err(e) => panic!("GetParameterValues(\"\") failed: {e}"),
    };
    c.bench_function(&format!("get_values(\"\") {n} params"), |b| {
        b.iter(|| black_box(store.get_values(black_box(&all))))
    });
    // Benchmark the success path: make sure the request is valid.
    if let Err(e) = store.set_values(&twenty_values(0), "check") {
        panic!("the benchmark's SetParameterValues is refused: {e:?}");
    }
    let mut round = 0u32;
    c.bench_function("set_values 20 params", |b| {
        b.iter(|| {
            round = round.wrapping_add(1);
            let values = twenty_values(round);
            black_box(store.set_values(&values, "bench"))
        })
    });
    c.bench_function("get_names(\"\", false)", |b| {
        b.iter(|| black_box(store.get_names(black_box(""), false)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The Desk Phone store on the file backend, per call:
//! * GetParameterValues of the whole tree (`""`);
//! * a 20-parameter SetParameterValues (validate, one atomic file commit with fsyncs).
//!
//! Run: `cargo bench -p deskphone-datamodel --bench store`.

// criterion_group! and criterion_main! generate undocumented public items.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use cwmp_model::{NoLiveValues, ParameterStore, SetValue};
use deskphone_datamodel::{open_store, DeskPhoneModel};
use std::hint::black_box;

const SIP: &str = "Device.Services.VoiceService.1.VoiceProfile.1.SIP.";
const MS: &str = "Device.ManagementServer.";

/// 20 writable parameters with two alternative values each, so that every iteration changes
/// every value (a set of unchanged values would be cheaper than a real configuration change).
fn twenty(round: usize) -> Vec<SetValue> {
    let odd = round % 2 == 1;
    let pick = |a: &str, b: &str| if odd { b.to_owned() } else { a.to_owned() };
    let rows: Vec<(String, String)> = vec![
        (
            format!("{MS}URL"),
            pick(
                "https://acs-a.example.com:7547/",
                "https://acs-b.example.com:7547/",
            ),
        ),
        (format!("{MS}Username"), pick("user-a", "user-b")),
        (format!("{MS}Password"), pick("secret-a", "secret-b")),
        (format!("{MS}PeriodicInformEnable"), pick("true", "false")),
        (format!("{MS}PeriodicInformInterval"), pick("300", "600")),
        (
            format!("{MS}ConnectionRequestUsername"),
            pick("cr-a", "cr-b"),
        ),
        (
            format!("{MS}ConnectionRequestPassword"),
            pick("crp-a", "crp-b"),
        ),
        (format!("{MS}STUNEnable"), pick("true", "false")),
        (
            format!("{MS}STUNServerAddress"),
            pick("stun-a.example.com", "stun-b.example.com"),
        ),
        (format!("{MS}STUNServerPort"), pick("3478", "3479")),
        (
            format!("{SIP}ProxyServer"),
            pick("proxy-a.example.com", "proxy-b.example.com"),
        ),
        (format!("{SIP}ProxyServerPort"), pick("5060", "5061")),
        (
            format!("{SIP}RegistrarServer"),
            pick("reg-a.example.com", "reg-b.example.com"),
        ),
        (format!("{SIP}RegistrarServerPort"), pick("5060", "5061")),
        (format!("{SIP}UserAgentPort"), pick("5060", "5062")),
        (format!("{SIP}RegisterExpires"), pick("3600", "1800")),
        (format!("{SIP}X_UNIFY_Transport"), pick("0", "2")),
        (format!("{SIP}X_UNIFY_ServerType"), pick("1", "4")),
        (
            format!("{SIP}X_UNIFY_SipUserId"),
            pick("4930100", "4930200"),
        ),
        (format!("{SIP}X_UNIFY_SipPwd"), pick("sip-a", "sip-b")),
    ];
    rows.into_iter()
        .map(|(name, value)| SetValue {
            name,
            value,
            xsi_type: None,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let model = DeskPhoneModel::builtin();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_store(dir.path(), &model, Box::new(NoLiveValues)).expect("store");
    let all = vec![String::new()];
    let n = store.get_values(&all).expect("gpv").len();
    c.bench_function(&format!("gpv_whole_tree_{n}_params"), |b| {
        b.iter(|| black_box(store.get_values(black_box(&all)).expect("gpv")))
    });
    let batches = [twenty(0), twenty(1)];
    let mut round = 0usize;
    c.bench_function("spv_20_params_file_commit", |b| {
        b.iter(|| {
            round += 1;
            let batch = &batches[round % 2];
            black_box(store.set_values(black_box(batch), "bench").expect("spv"))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);

//! Codec throughput (criterion): parse and write an Inform, a 1,000-parameter
//! GetParameterValuesResponse and a 10,000-entry GetParameterNamesResponse. Throughput is
//! reported per byte of the encoded envelope.
//!
//! Run: `cargo bench -p cwmp-soap --bench codec -- --warm-up-time 1 --measurement-time 2`.

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use cwmp_model::{DateTime, XsdType};
use cwmp_soap::*;
use std::hint::black_box;

fn inform() -> Envelope {
    let mut params = vec![
        ParameterValueStruct::new(
            "Device.DeviceSummary",
            "Device:1.1[](Baseline:1), VoiceService:1.0[1](SIPEndpoint:1)",
            XsdType::String,
        ),
        ParameterValueStruct::new("Device.DeviceInfo.HardwareVersion", "HW1", XsdType::String),
        ParameterValueStruct::new(
            "Device.DeviceInfo.SoftwareVersion",
            "V1 R5.2.0",
            XsdType::String,
        ),
        ParameterValueStruct::new(
            "Device.DeviceInfo.ProvisioningCode",
            "site=A&B",
            XsdType::String,
        ),
        ParameterValueStruct::new("Device.ManagementServer.ParameterKey", "", XsdType::String),
        ParameterValueStruct::new(
            "Device.ManagementServer.ConnectionRequestURL",
            "http://192.0.2.10:7547/tr069/cr-001AE8A1B2C3",
            XsdType::String,
        ),
        ParameterValueStruct::new("Device.LAN.IPAddress", "192.0.2.10", XsdType::String),
    ];
    params.push(ParameterValueStruct::new(
        "Device.DeviceInfo.UpTime",
        "123456",
        XsdType::UnsignedInt,
    ));
    Envelope {
        namespace: CwmpNamespace::V1_2,
        header: Header {
            id: Some("cpe-1".into()),
            supported_cwmp_versions: Some("1.0,1.1,1.2,1.3,1.4".into()),
            ..Header::default()
        },
        body: Body::Inform(Inform {
            device_id: DeviceIdStruct {
                manufacturer: "Unify".into(),
                oui: "001AE8".into(),
                product_class: "OpenScape Desk Phone CP600".into(),
                serial_number: "001AE8A1B2C3".into(),
            },
            event: vec![
                EventStruct::new("1 BOOT", ""),
                EventStruct::new("M Reboot", "rb-1"),
            ],
            max_envelopes: 1,
            current_time: DateTime::parse("2024-05-01T10:00:00Z").unwrap(),
            retry_count: 0,
            parameter_list: params,
        }),
    }
}

fn gpv(n: usize) -> Envelope {
    Envelope::new(
        CwmpNamespace::V1_2,
        Body::GetParameterValuesResponse(GetParameterValuesResponse {
            parameter_list: (0..n)
                .map(|i| {
                    ParameterValueStruct::new(
                        format!("Device.Services.VoiceService.1.VoiceProfile.1.Line.{i}.SIP.AuthUserName"),
                        format!("user-{i}@example.net"),
                        if i % 3 == 0 { XsdType::UnsignedInt } else { XsdType::String },
                    )
                })
                .collect(),
        }),
    )
    .with_id("1a2051a49ee0000")
}

fn gpn(n: usize) -> Envelope {
    Envelope::new(
        CwmpNamespace::V1_2,
        Body::GetParameterNamesResponse(GetParameterNamesResponse {
            parameter_list: (0..n)
                .map(|i| ParameterInfoStruct {
                    name: format!("Device.X_Test.Table.{i}.Name"),
                    writable: i % 2 == 0,
                })
                .collect(),
        }),
    )
    .with_id("1a2051a49ee0001")
}

fn codec(c: &mut Criterion) {
    let cases = [
        ("inform", inform()),
        ("gpv_response_1000", gpv(1_000)),
        ("gpn_response_10000", gpn(10_000)),
    ];
    let limits = Limits::default();
    let mut g = c.benchmark_group("parse");
    for (name, env) in &cases {
        let bytes = to_vec(env).unwrap();
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &bytes, |b, bytes| {
            b.iter(|| parse(black_box(bytes), &limits).unwrap())
        });
    }
    g.finish();
    let mut g = c.benchmark_group("write");
    for (name, env) in &cases {
        let len = to_vec(env).unwrap().len();
        g.throughput(Throughput::Bytes(len as u64));
        let mut buf = Vec::with_capacity(len);
        g.bench_with_input(BenchmarkId::from_parameter(name), env, |b, env| {
            b.iter(|| {
                buf.clear();
                write(black_box(env), &mut buf).unwrap();
            })
        });
    }
    g.finish();
}

// The macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::codec);
}
use group::benches;
criterion_main!(benches);

//! Every message the CPE emits, written by the codec, validates with `xmllint` against the
//! Broadband Forum schemas of its namespace (TR-069 §3.5): `cwmp-1-0` against
//! `envelope-cwmp-1-0.xsd`, `cwmp-1-1` against `envelope-cwmp-1-1.xsd`, `cwmp-1-2` against
//! both `envelope-cwmp-1-2.xsd` and `envelope-cwmp-1-4.xsd` (the 1.3/1.4 headers).
//!
//! The SOAP Body is `processContents="lax"`, so an element the schema does not declare
//! would "validate" vacuously; each run therefore also includes a deliberately invalid
//! message and asserts that it fails, proving the schema was applied.
//!
//! Needs `xmllint` (Debian `libxml2-utils`) and the shared schemas: skipped with a message
//! when either is missing outside CI, a failure when `CI=true`.

mod common;

use cwmp_model::{DateTime, FaultCode, XsdType};
use cwmp_soap::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn t(s: &str) -> DateTime {
    DateTime::parse(s).unwrap()
}

fn every_type_values() -> Vec<ParameterValueStruct> {
    vec![
        ParameterValueStruct::new(
            "Device.DeviceSummary",
            "Device:1.1[](Baseline:1), VoiceService:1.0[1](SIPEndpoint:1)",
            XsdType::String,
        ),
        ParameterValueStruct::new(
            "Device.DeviceInfo.ProvisioningCode",
            "site=A&B <lab> \"q\" 'a' é中",
            XsdType::String,
        ),
        ParameterValueStruct::new("Device.X_Test.Int", "-5", XsdType::Int),
        ParameterValueStruct::new(
            "Device.DeviceInfo.UpTime",
            "4294967295",
            XsdType::UnsignedInt,
        ),
        ParameterValueStruct::new("Device.X_Test.Long", "-9000000000", XsdType::Long),
        ParameterValueStruct::new(
            "Device.X_Test.Counter",
            "18446744073709551615",
            XsdType::UnsignedLong,
        ),
        ParameterValueStruct::new(
            "Device.ManagementServer.PeriodicInformEnable",
            "true",
            XsdType::Boolean,
        ),
        ParameterValueStruct::new(
            "Device.ManagementServer.PeriodicInformTime",
            "0001-01-01T00:00:00Z",
            XsdType::DateTime,
        ),
        ParameterValueStruct::new(
            "Device.X_Test.Set",
            t("1970-01-01T19:11:09.346+02:00").to_xsd(),
            XsdType::DateTime,
        ),
        ParameterValueStruct::new("Device.X_Test.Blob", "AAECAwQ=", XsdType::Base64),
        ParameterValueStruct::new("Device.X_Test.Hex", "0a0bFF", XsdType::HexBinary),
        ParameterValueStruct {
            name: "Device.X_Test.Untyped".into(),
            value: "written as xsd:string".into(),
            xsi_type: None,
        },
    ]
}

fn inform() -> Body {
    Body::Inform(Inform {
        device_id: DeviceIdStruct {
            manufacturer: "Unify".into(),
            oui: "001AE8".into(),
            product_class: "OpenScape Desk Phone CP600".into(),
            serial_number: "001AE8A1B2C3".into(),
        },
        event: vec![
            EventStruct::new("0 BOOTSTRAP", ""),
            EventStruct::new("1 BOOT", ""),
            EventStruct::new("7 TRANSFER COMPLETE", ""),
            EventStruct::new("M Download", "dl-1"),
            EventStruct::new("M Reboot", "rb<&>"),
        ],
        max_envelopes: 1,
        // A fraction in a dateTime field must validate too (issue 10 part 3).
        current_time: t("2024-05-01T10:00:00.123456Z"),
        retry_count: 0,
        parameter_list: every_type_values(),
    })
}

fn op_result(i: u32) -> OpResultStruct {
    OpResultStruct {
        uuid: format!("6ba7b810-9dad-11d1-80b4-00c04fd430c{i}"),
        deployment_unit_ref: format!("Device.SoftwareModules.DeploymentUnit.{i}"),
        version: "1.0".into(),
        current_state: "Installed".into(),
        resolved: true,
        execution_unit_ref_list: "Device.SoftwareModules.ExecutionUnit.1".into(),
        start_time: t("2024-05-01T10:00:00Z"),
        complete_time: t("2024-05-01T10:00:05.5Z"),
        fault: DeploymentUnitFaultStruct {
            fault_code: if i == 0 { 0 } else { 9018 },
            fault_string: (i != 0).then(|| "File transfer failure: file corrupted".into()),
        },
    }
}

/// (label, body, first namespace whose schema defines it)
fn cpe_messages() -> Vec<(&'static str, Body, CwmpNamespace)> {
    use CwmpNamespace::*;
    let transfer_fault = |code: u32, s: &str| TransferCompleteFaultStruct {
        fault_code: code,
        fault_string: s.into(),
    };
    vec![
        ("Inform", inform(), V1_0),
        (
            "Inform-empty-lists",
            Body::Inform(Inform {
                device_id: DeviceIdStruct {
                    manufacturer: "".into(),
                    oui: "00A0BC".into(),
                    product_class: "".into(),
                    serial_number: "S".into(),
                },
                event: vec![],
                max_envelopes: 1,
                current_time: DateTime::UNKNOWN,
                retry_count: 7,
                parameter_list: vec![],
            }),
            V1_0,
        ),
        ("GetRPCMethods", Body::GetRPCMethods, V1_0),
        (
            "GetRPCMethodsResponse",
            Body::GetRPCMethodsResponse(GetRPCMethodsResponse {
                method_list: [
                    "GetRPCMethods",
                    "SetParameterValues",
                    "GetParameterValues",
                    "GetParameterNames",
                    "SetParameterAttributes",
                    "GetParameterAttributes",
                    "AddObject",
                    "DeleteObject",
                    "Reboot",
                    "Download",
                    "FactoryReset",
                ]
                .map(String::from)
                .to_vec(),
            }),
            V1_0,
        ),
        (
            "SetParameterValuesResponse",
            Body::SetParameterValuesResponse(SetParameterValuesResponse { status: 1 }),
            V1_0,
        ),
        (
            "GetParameterValuesResponse",
            Body::GetParameterValuesResponse(GetParameterValuesResponse {
                parameter_list: every_type_values(),
            }),
            V1_0,
        ),
        (
            "GetParameterNamesResponse",
            Body::GetParameterNamesResponse(GetParameterNamesResponse {
                parameter_list: vec![
                    ParameterInfoStruct {
                        name: "Device.".into(),
                        writable: false,
                    },
                    ParameterInfoStruct {
                        name: "Device.Services.VoiceService.1.VoiceProfile.".into(),
                        writable: true,
                    },
                ],
            }),
            V1_0,
        ),
        (
            "SetParameterAttributesResponse",
            Body::SetParameterAttributesResponse,
            V1_0,
        ),
        (
            "GetParameterAttributesResponse",
            Body::GetParameterAttributesResponse(GetParameterAttributesResponse {
                parameter_list: vec![
                    ParameterAttributeStruct {
                        name: "Device.DeviceInfo.SoftwareVersion".into(),
                        notification: 2,
                        access_list: vec![],
                    },
                    ParameterAttributeStruct {
                        name: "Device.DeviceInfo.ProvisioningCode".into(),
                        notification: 1,
                        access_list: vec!["Subscriber".into()],
                    },
                ],
            }),
            V1_0,
        ),
        (
            "AddObjectResponse",
            Body::AddObjectResponse(AddObjectResponse {
                instance_number: 2,
                status: 0,
            }),
            V1_0,
        ),
        (
            "DeleteObjectResponse",
            Body::DeleteObjectResponse(DeleteObjectResponse { status: 0 }),
            V1_0,
        ),
        ("RebootResponse", Body::RebootResponse, V1_0),
        (
            "DownloadResponse",
            Body::DownloadResponse(TransferResponse {
                status: 1,
                start_time: DateTime::UNKNOWN,
                complete_time: DateTime::UNKNOWN,
            }),
            V1_0,
        ),
        (
            "UploadResponse",
            Body::UploadResponse(TransferResponse {
                status: 0,
                start_time: t("2024-05-01T10:00:00Z"),
                complete_time: t("2024-05-01T10:00:02Z"),
            }),
            V1_0,
        ),
        ("FactoryResetResponse", Body::FactoryResetResponse, V1_0),
        ("ScheduleInformResponse", Body::ScheduleInformResponse, V1_0),
        (
            "GetQueuedTransfersResponse",
            Body::GetQueuedTransfersResponse(GetQueuedTransfersResponse {
                transfer_list: vec![
                    QueuedTransferStruct {
                        command_key: "dl-1".into(),
                        state: 2,
                    },
                    QueuedTransferStruct {
                        command_key: "".into(),
                        state: 1,
                    },
                ],
            }),
            V1_0,
        ),
        (
            "GetAllQueuedTransfersResponse",
            Body::GetAllQueuedTransfersResponse(GetAllQueuedTransfersResponse {
                transfer_list: vec![AllQueuedTransferStruct {
                    command_key: "dl-1".into(),
                    state: 1,
                    is_download: true,
                    file_type: "1 Firmware Upgrade Image".into(),
                    file_size: 4096,
                    target_file_name: "fw.img".into(),
                }],
            }),
            V1_1,
        ),
        (
            "ScheduleDownloadResponse",
            Body::ScheduleDownloadResponse,
            V1_2,
        ),
        ("CancelTransferResponse", Body::CancelTransferResponse, V1_2),
        ("ChangeDUStateResponse", Body::ChangeDUStateResponse, V1_2),
        (
            "Fault-9000",
            Body::Fault(SoapFault::cwmp(
                FaultCode::MethodNotSupported,
                "Method not supported",
            )),
            V1_0,
        ),
        (
            "Fault-9003-SetParameterValuesFault",
            Body::Fault(SoapFault {
                faultcode: "Client".into(),
                faultstring: "CWMP fault".into(),
                detail: Some(CwmpFault {
                    code: 9003,
                    string: "Invalid arguments".into(),
                    set_parameter_values_faults: vec![
                        SetParameterValuesFault {
                            name:
                                "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegisterExpires"
                                    .into(),
                            code: 9007,
                            string: "Invalid parameter value".into(),
                        },
                        SetParameterValuesFault {
                            name: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.UserAgentPort"
                                .into(),
                            code: 9006,
                            string: "Invalid parameter type".into(),
                        },
                    ],
                }),
            }),
            V1_0,
        ),
        (
            "Fault-vendor-9801",
            Body::Fault(SoapFault::cwmp(FaultCode::Other(9801), "vendor <&>")),
            V1_0,
        ),
        (
            "TransferComplete-success",
            Body::TransferComplete(TransferComplete {
                command_key: "dl-1".into(),
                fault_struct: transfer_fault(0, ""),
                start_time: t("2024-05-01T10:00:00Z"),
                complete_time: t("2024-05-01T10:01:00Z"),
            }),
            V1_0,
        ),
        (
            "TransferComplete-9010",
            Body::TransferComplete(TransferComplete {
                command_key: "dl-2".into(),
                fault_struct: transfer_fault(9010, "File transfer failure"),
                start_time: DateTime::UNKNOWN,
                complete_time: DateTime::UNKNOWN,
            }),
            V1_0,
        ),
        (
            "AutonomousTransferComplete",
            Body::AutonomousTransferComplete(AutonomousTransferComplete {
                announce_url: "".into(),
                transfer_url: "http://files.example.net/cfg.xml".into(),
                is_download: true,
                file_type: "3 Vendor Configuration File".into(),
                file_size: 1234,
                target_file_name: "".into(),
                fault_struct: transfer_fault(9017, "unable to complete download"),
                start_time: t("2024-05-01T10:00:00Z"),
                complete_time: t("2024-05-01T10:00:01Z"),
            }),
            V1_1,
        ),
        (
            "RequestDownload",
            Body::RequestDownload(RequestDownload {
                file_type: "3 Vendor Configuration File".into(),
                file_type_arg: vec![ArgStruct {
                    name: "Version".into(),
                    value: "V1 R5".into(),
                }],
            }),
            V1_0,
        ),
        (
            "RequestDownload-no-args",
            Body::RequestDownload(RequestDownload {
                file_type: "1 Firmware Upgrade Image".into(),
                file_type_arg: vec![],
            }),
            V1_0,
        ),
        (
            "Kicked",
            Body::Kicked(Kicked {
                command: "provision".into(),
                referer: "http://portal.example.net/".into(),
                arg: "a=1&b=2".into(),
                next: "http://portal.example.net/next".into(),
            }),
            V1_0,
        ),
        (
            "DUStateChangeComplete",
            Body::DUStateChangeComplete(DUStateChangeComplete {
                results: vec![op_result(0), op_result(1)],
                command_key: Some("du-1".into()),
            }),
            V1_2,
        ),
        (
            "AutonomousDUStateChangeComplete",
            Body::AutonomousDUStateChangeComplete(AutonomousDUStateChangeComplete {
                results: vec![AutonOpResultStruct {
                    result: op_result(0),
                    operation_performed: "Install".into(),
                }],
            }),
            V1_2,
        ),
    ]
}

fn header_for(label: &str, ns: CwmpNamespace) -> Header {
    let mut h = Header {
        id: Some(format!("cpe-{label}-a&b<1>")),
        ..Header::default()
    };
    if label.starts_with("Inform") && ns == CwmpNamespace::V1_2 {
        h.supported_cwmp_versions = Some("1.0,1.1,1.2,1.3,1.4".into());
        h.session_timeout = Some(60);
    }
    h
}

/// An Inform whose OUI breaks the schema's pattern: must fail validation.
fn invalid_control(ns: CwmpNamespace) -> Envelope {
    let Body::Inform(mut i) = inform() else {
        unreachable!()
    };
    i.device_id.oui = "not-an-oui".into();
    Envelope::new(ns, Body::Inform(i))
}

/// Runs xmllint on `files` with `schema`; returns the files it reported as failing, and
/// its report.
fn xmllint(shared: &Path, schema: &str, files: &[PathBuf]) -> (Vec<String>, String) {
    let xsd = shared.join("spec/xsd");
    let out = Command::new(test_peers::program("xmllint"))
        .env("XML_CATALOG_FILES", xsd.join("catalog.xml"))
        .arg("--nonet")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd.join(schema))
        .args(files)
        .output()
        .expect("run xmllint");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failed: Vec<String> = files
        .iter()
        .filter(|f| !stderr.contains(&format!("{} validates", f.display())))
        .map(|f| f.display().to_string())
        .collect();
    (failed, stderr.into_owned())
}

#[test]
#[cfg_attr(
    peer_missing_shared,
    ignore = "../shared not found (set CWMP_SHARED_DIR)"
)]
#[cfg_attr(
    peer_missing_xmllint,
    ignore = "xmllint not installed (apt-get install libxml2-utils)"
)]
fn cpe_messages_validate_against_bbf_schemas() {
    let shared = common::shared_dir();
    let dir = tempfile::tempdir().unwrap();
    let runs: [(CwmpNamespace, &[&str]); 3] = [
        (CwmpNamespace::V1_0, &["envelope-cwmp-1-0.xsd"]),
        (CwmpNamespace::V1_1, &["envelope-cwmp-1-1.xsd"]),
        (
            CwmpNamespace::V1_2,
            &["envelope-cwmp-1-2.xsd", "envelope-cwmp-1-4.xsd"],
        ),
    ];
    let mut checked = 0;
    for (ns, schemas) in runs {
        let mut files = Vec::new();
        for (label, body, since) in cpe_messages() {
            if ns < since {
                continue;
            }
            let env = Envelope {
                namespace: ns,
                header: header_for(label, ns),
                body,
            };
            let bytes = to_vec(&env).unwrap();
            // Every validated message also parses back to itself.
            let back = parse(&bytes, &Limits::default()).unwrap();
            let mut expected = env.clone();
            normalise_untyped(&mut expected);
            assert_eq!(back, expected, "{label} in {ns}");
            let path = dir.path().join(format!("{}-{label}.xml", ns_tag(ns)));
            std::fs::write(&path, &bytes).unwrap();
            files.push(path);
        }
        let control = dir
            .path()
            .join(format!("{}-INVALID-control.xml", ns_tag(ns)));
        std::fs::write(&control, to_vec(&invalid_control(ns)).unwrap()).unwrap();
        for schema in schemas {
            let (failed, report) = xmllint(&shared, schema, &files);
            assert!(
                failed.is_empty(),
                "failed against {schema}: {failed:?}\n{report}"
            );
            let (control_failed, report) = xmllint(&shared, schema, std::slice::from_ref(&control));
            assert_eq!(
                control_failed.len(),
                1,
                "the invalid control message validated against {schema}: the schema is not \
                 applied\n{report}"
            );
            checked += files.len();
        }
    }
    let all = cpe_messages();
    let since = |ns: CwmpNamespace| all.iter().filter(|(_, _, s)| *s <= ns).count();
    let expected =
        since(CwmpNamespace::V1_0) + since(CwmpNamespace::V1_1) + 2 * since(CwmpNamespace::V1_2);
    assert_eq!(checked, expected);
    assert_eq!(expected, 25 + 27 + 2 * 32);
}

/// A `Value` written without `xsi:type` reads back as `xsd:string`.
fn normalise_untyped(env: &mut Envelope) {
    let list = match &mut env.body {
        Body::Inform(i) => &mut i.parameter_list,
        Body::GetParameterValuesResponse(r) => &mut r.parameter_list,
        _ => return,
    };
    for p in list {
        p.xsi_type.get_or_insert(XsdType::String);
    }
}

fn ns_tag(ns: CwmpNamespace) -> &'static str {
    match ns {
        CwmpNamespace::V1_0 => "cwmp-1-0",
        CwmpNamespace::V1_1 => "cwmp-1-1",
        _ => "cwmp-1-2",
    }
}

/// The streamed form of a large response validates too (same code path, checked once).
#[test]
#[cfg_attr(
    peer_missing_shared,
    ignore = "../shared not found (set CWMP_SHARED_DIR)"
)]
#[cfg_attr(
    peer_missing_xmllint,
    ignore = "xmllint not installed (apt-get install libxml2-utils)"
)]
fn streamed_gpn_response_validates() {
    let shared = common::shared_dir();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gpn-stream.xml");
    let mut file = std::fs::File::create(&path).unwrap();
    let header = Header {
        id: Some("1".into()),
        ..Header::default()
    };
    let items = (0..2000).map(|i| ParameterInfoStruct {
        name: format!("Device.X_Test.Item.{i}.Name"),
        writable: i % 2 == 0,
    });
    write_get_parameter_names_response(&mut file, CwmpNamespace::V1_2, &header, items).unwrap();
    drop(file);
    let (failed, report) = xmllint(&shared, "envelope-cwmp-1-2.xsd", &[path]);
    assert!(failed.is_empty(), "{report}");
}

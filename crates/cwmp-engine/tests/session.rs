//! The session flow (TR-069 §3.5–§3.7.1.4) and the CPE's RPCs (TR-069 Annex A, Annex A.5).

use cwmp_engine::{Input, TransferKind, RPC_METHODS};
use cwmp_model::{DateTime, Fault, FaultCode, MemoryStore, ParameterStore, XsdType};
use cwmp_soap::{
    Body, CancelTransfer, CwmpNamespace, Download, Envelope, GetParameterAttributes,
    GetParameterNames, GetParameterValues, Header, ParameterValueStruct, ScheduleDownload,
    SetParameterAttributes, SetParameterAttributesStruct, SetParameterValues, Upload,
};
use cwmp_testkit::sim::{Reply, SessionScript, Sim, TransferBehaviour};
use std::time::Duration;

const MS: &str = "Device.ManagementServer.";

fn sim() -> Sim<MemoryStore> {
    let mut sim = Sim::with_conformance_store();
    sim.store
        .set_internal(&format!("{MS}PeriodicInformEnable"), "false")
        .unwrap();
    sim.run_for(Duration::from_secs(1)); // the boot session
    assert_eq!(sim.ok_sessions(), 1);
    sim
}

/// Run one connection-request session with this script; return the CPE's responses to the
/// ACS requests.
fn session(sim: &mut Sim<MemoryStore>, script: SessionScript) -> Vec<Envelope> {
    let before = sim.acs.responses.len();
    sim.acs.push(script);
    sim.input(Input::ConnectionRequest);
    sim.run_for(Duration::from_secs(1));
    sim.acs.responses[before..].to_vec()
}

fn fault_code(env: &Envelope) -> u32 {
    match &env.body {
        Body::Fault(f) => f.detail.as_ref().map(|d| d.code).unwrap_or(0),
        other => panic!("expected a fault, got {}", other.name()),
    }
}

fn download(url: &str, key: &str, delay: u32) -> Body {
    Body::Download(Download {
        command_key: key.into(),
        file_type: "1 Firmware Upgrade Image".into(),
        url: url.into(),
        username: "fw".into(),
        password: "fw-secret".into(),
        file_size: 4096,
        target_file_name: "image.bin".into(),
        delay_seconds: delay,
        success_url: String::new(),
        failure_url: String::new(),
    })
}

fn spv(list: Vec<ParameterValueStruct>, key: &str) -> Body {
    Body::SetParameterValues(SetParameterValues {
        parameter_list: list,
        parameter_key: key.into(),
    })
}

#[test]
fn a_quiet_session_is_inform_empty_post_204() {
    let sim = sim();
    let ex: Vec<_> = sim
        .acs
        .exchanges
        .iter()
        .filter(|e| e.session_id == 1)
        .collect();
    assert_eq!(ex.len(), 2);
    assert!(matches!(
        ex[0].request.as_ref().unwrap().body,
        Body::Inform(_)
    ));
    assert_eq!(
        ex[0].soap_action,
        Some(""),
        "SOAPAction: with no value on requests"
    );
    assert!(ex[1].request.is_none(), "then an empty POST");
    assert_eq!(ex[1].soap_action, None, "no SOAPAction on the empty POST");
    let inform = &sim.acs.informs[0];
    assert_eq!(inform.namespace, CwmpNamespace::V1_2);
    assert_eq!(
        inform.header.supported_cwmp_versions.as_deref(),
        Some("1.0,1.1,1.2,1.3,1.4")
    );
    assert!(inform.header.id.is_some());
    let i = &inform.inform;
    assert_eq!(i.max_envelopes, 1);
    assert_eq!(i.device_id.manufacturer, "Example");
    assert_eq!(i.device_id.oui, "00A0BC");
    assert_eq!(i.device_id.product_class, "SimPhone");
    assert_eq!(i.device_id.serial_number, "SN0001");
    assert_eq!(i.current_time.to_xsd(), "2024-05-01T10:00:00Z");
    // Forced-inform parameters, in data-model order, with their xsi:types.
    let names: Vec<&str> = i.parameter_list.iter().map(|p| p.name.as_str()).collect();
    for n in [
        "Device.DeviceSummary",
        "Device.DeviceInfo.HardwareVersion",
        "Device.DeviceInfo.SoftwareVersion",
        "Device.ManagementServer.ParameterKey",
        "Device.ManagementServer.ConnectionRequestURL",
        "Device.LAN.IPAddress",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(i.parameter_list.iter().all(|p| p.xsi_type.is_some()));
}

#[test]
fn acs_requests_are_answered_with_the_same_cwmp_id_and_an_empty_soapaction() {
    let mut sim = sim();
    let r = session(
        &mut sim,
        SessionScript::new()
            .request(Body::GetRPCMethods)
            .request(Body::GetParameterValues(GetParameterValues {
                parameter_names: vec![format!("{MS}URL")],
            })),
    );
    assert_eq!(r.len(), 2);
    let ids: Vec<Option<String>> = sim
        .acs
        .exchanges
        .iter()
        .filter(|e| e.session_id == 2)
        .filter_map(|e| e.request.as_ref())
        .filter(|e| !matches!(e.body, Body::Inform(_)))
        .map(|e| e.header.id.clone())
        .collect();
    assert_eq!(ids, [Some("acs-1".to_owned()), Some("acs-2".to_owned())]);
    match &r[0].body {
        Body::GetRPCMethodsResponse(m) => assert_eq!(m.method_list, RPC_METHODS),
        other => panic!("{other:?}"),
    }
    let responses = sim.acs.exchanges.iter().filter(|e| {
        e.session_id == 2
            && e.request
                .as_ref()
                .is_some_and(|r| !matches!(r.body, Body::Inform(_)))
    });
    assert!(responses.into_iter().all(|e| e.soap_action == Some("")));
}

#[test]
fn get_parameter_values_of_the_whole_tree_masks_secrets() {
    let mut sim = sim();
    let r = session(
        &mut sim,
        SessionScript::new().request(Body::GetParameterValues(GetParameterValues {
            parameter_names: vec![String::new()],
        })),
    );
    let Body::GetParameterValuesResponse(g) = &r[0].body else {
        panic!("{:?}", r[0].body)
    };
    let schema_len = cwmp_testkit::sim::sim_schema().params().len();
    assert_eq!(g.parameter_list.len(), schema_len);
    let pw = g
        .parameter_list
        .iter()
        .find(|p| p.name == format!("{MS}Password"))
        .unwrap();
    assert_eq!(pw.value, "");
    assert!(g.parameter_list.iter().all(|p| p.xsi_type.is_some()));
}

#[test]
fn get_parameter_values_unknown_name_is_9005() {
    let mut sim = sim();
    let r = session(
        &mut sim,
        SessionScript::new().request(Body::GetParameterValues(GetParameterValues {
            parameter_names: vec!["Device.Nope".into()],
        })),
    );
    assert_eq!(fault_code(&r[0]), 9005);
    assert!(
        sim.sessions.last().unwrap().ended.unwrap().1,
        "a CPE fault does not fail the session"
    );
}

#[test]
fn set_parameter_values_success_and_per_parameter_faults() {
    let mut sim = sim();
    let good = spv(
        vec![ParameterValueStruct::new(
            format!("{MS}PeriodicInformInterval"),
            "600",
            XsdType::UnsignedInt,
        )],
        "pk-1",
    );
    let bad = spv(
        vec![
            ParameterValueStruct::new(
                format!("{MS}PeriodicInformInterval"),
                "abc",
                XsdType::UnsignedInt,
            ),
            ParameterValueStruct::new("Device.DeviceInfo.Nope", "1", XsdType::String),
            ParameterValueStruct::new("Device.DeviceInfo.Manufacturer", "x", XsdType::String),
            ParameterValueStruct::new(format!("{MS}Username"), "ok", XsdType::String),
        ],
        "pk-2",
    );
    let r = session(&mut sim, SessionScript::new().request(good).request(bad));
    match &r[0].body {
        Body::SetParameterValuesResponse(s) => assert_eq!(s.status, 0),
        other => panic!("{other:?}"),
    }
    let Body::Fault(f) = &r[1].body else {
        panic!("{:?}", r[1].body)
    };
    assert_eq!(f.faultcode, "Client");
    let d = f.detail.as_ref().unwrap();
    assert_eq!(d.code, 9003);
    let entries: Vec<(&str, u32)> = d
        .set_parameter_values_faults
        .iter()
        .map(|e| (e.name.as_str(), e.code))
        .collect();
    assert!(
        entries.contains(&("Device.ManagementServer.PeriodicInformInterval", 9006)),
        "{entries:?}"
    );
    assert!(
        entries.contains(&("Device.DeviceInfo.Nope", 9005)),
        "{entries:?}"
    );
    assert!(
        entries.contains(&("Device.DeviceInfo.Manufacturer", 9008)),
        "{entries:?}"
    );
    // Nothing of the failed request was applied; the good one was, with its ParameterKey.
    let v = sim
        .store
        .get_values(&[
            format!("{MS}PeriodicInformInterval"),
            format!("{MS}ParameterKey"),
            format!("{MS}Username"),
        ])
        .unwrap();
    assert_eq!(v[0].value.to_lexical(), "600");
    assert_eq!(v[1].value.to_lexical(), "pk-1");
    assert_eq!(v[2].value.to_lexical(), "");
}

#[test]
fn parameter_names_and_attributes() {
    let mut sim = sim();
    let r = session(
        &mut sim,
        SessionScript::new()
            .request(Body::GetParameterNames(GetParameterNames {
                parameter_path: String::new(),
                next_level: true,
            }))
            .request(Body::SetParameterAttributes(SetParameterAttributes {
                parameter_list: vec![SetParameterAttributesStruct {
                    name: "Device.DeviceInfo.ProvisioningCode".into(),
                    notification_change: true,
                    notification: 1,
                    access_list_change: false,
                    access_list: Vec::new(),
                }],
            }))
            .request(Body::GetParameterAttributes(GetParameterAttributes {
                parameter_names: vec!["Device.DeviceInfo.ProvisioningCode".into()],
            }))
            .request(Body::SetParameterAttributes(SetParameterAttributes {
                parameter_list: vec![SetParameterAttributesStruct {
                    name: "Device.DeviceInfo.ProvisioningCode".into(),
                    notification_change: true,
                    notification: 9,
                    access_list_change: false,
                    access_list: Vec::new(),
                }],
            })),
    );
    match &r[0].body {
        Body::GetParameterNamesResponse(g) => {
            assert_eq!(g.parameter_list.len(), 1);
            assert_eq!(g.parameter_list[0].name, "Device.");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(r[1].body, Body::SetParameterAttributesResponse));
    match &r[2].body {
        Body::GetParameterAttributesResponse(g) => assert_eq!(g.parameter_list[0].notification, 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(fault_code(&r[3]), 9003);
}

#[test]
fn unknown_and_unimplemented_methods_get_9000() {
    let mut sim = sim();
    let unknown = br#"<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">
<soap:Header><cwmp:ID soap:mustUnderstand="1">u-1</cwmp:ID></soap:Header>
<soap:Body><cwmp:X_VENDOR_Frobnicate><Level>3</Level></cwmp:X_VENDOR_Frobnicate></soap:Body></soap:Envelope>"#;
    let r = session(
        &mut sim,
        SessionScript::new()
            .then(Reply::Raw {
                status: 200,
                body: unknown.to_vec(),
            })
            .request(Body::Upload(Upload {
                command_key: "u".into(),
                file_type: "2 Vendor Log File".into(),
                url: "http://x/".into(),
                username: String::new(),
                password: Default::default(),
                delay_seconds: 0,
            }))
            .request(Body::ScheduleDownload(ScheduleDownload {
                command_key: "s".into(),
                file_type: "1 Firmware Upgrade Image".into(),
                url: "http://x/".into(),
                username: String::new(),
                password: Default::default(),
                file_size: 0,
                target_file_name: String::new(),
                time_window_list: Vec::new(),
            })),
    );
    assert_eq!(r.len(), 3);
    for e in &r {
        assert_eq!(fault_code(e), 9000);
    }
    assert_eq!(r[0].header.id.as_deref(), Some("u-1"));
    assert_eq!(sim.ok_sessions(), 2);
}

#[test]
fn unknown_must_understand_header_is_refused_without_processing() {
    let mut sim = sim();
    let msg = br#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2" xmlns:x="urn:example">
<soap:Header><cwmp:ID soap:mustUnderstand="1">m-1</cwmp:ID><x:Transaction soap:mustUnderstand="1">5</x:Transaction></soap:Header>
<soap:Body><cwmp:FactoryReset/></soap:Body></soap:Envelope>"#;
    let r = session(
        &mut sim,
        SessionScript::new().then(Reply::Raw {
            status: 200,
            body: msg.to_vec(),
        }),
    );
    let Body::Fault(f) = &r[0].body else {
        panic!("{:?}", r[0].body)
    };
    assert_eq!(f.faultcode, "MustUnderstand");
    assert_eq!(f.detail.as_ref().unwrap().code, 9003);
    assert_eq!(sim.factory_resets, 0, "the request was not processed");
}

#[test]
fn cwmp_1_0_acs_is_answered_in_kind() {
    let mut sim = sim();
    let r = session(
        &mut sim,
        SessionScript::new()
            .namespace(CwmpNamespace::V1_0)
            .request(Body::GetParameterValues(GetParameterValues {
                parameter_names: vec![format!("{MS}URL")],
            })),
    );
    assert_eq!(r[0].namespace, CwmpNamespace::V1_0);
    assert!(matches!(r[0].body, Body::GetParameterValuesResponse(_)));
    // The next session starts in cwmp-1-2 again (the InformResponse decides each time).
    sim.input(Input::ConnectionRequest);
    assert_eq!(
        sim.acs.informs.last().unwrap().namespace,
        CwmpNamespace::V1_2
    );
}

#[test]
fn use_cwmp_version_selects_the_namespace() {
    let mut sim = sim();
    let r = session(
        &mut sim,
        SessionScript::new()
            .use_cwmp_version("1.1")
            .request(Body::GetRPCMethods),
    );
    assert_eq!(r[0].namespace, CwmpNamespace::V1_1);
}

#[test]
fn fault_8006_on_inform_steps_the_namespace_down_boundedly() {
    let mut sim = sim();
    for _ in 0..4 {
        sim.acs
            .push(SessionScript::new().inform(Reply::Fault(8006)));
    }
    sim.input(Input::ConnectionRequest);
    sim.store
        .set_internal(&format!("{MS}PeriodicInformEnable"), "true")
        .unwrap();
    sim.run_for(Duration::from_secs(3 * 3600));
    let ns: Vec<CwmpNamespace> = sim.acs.informs[1..].iter().map(|i| i.namespace).collect();
    assert_eq!(
        ns[..5],
        [
            CwmpNamespace::V1_2,
            CwmpNamespace::V1_1,
            CwmpNamespace::V1_0,
            CwmpNamespace::V1_0,
            CwmpNamespace::V1_0
        ]
    );
    assert!(sim.acs.informs[2].header.supported_cwmp_versions.is_none());
    assert!(sim.acs.informs.last().unwrap().acknowledged);
}

#[test]
fn hold_requests_delays_transfer_complete_until_the_acs_is_done() {
    let mut sim = sim();
    sim.transfers = TransferBehaviour::SucceedAfter(Duration::from_secs(60));
    session(
        &mut sim,
        SessionScript::new().request(download("http://fs.example/fw.bin", "dl-1", 0)),
    );
    assert_eq!(sim.downloads.len(), 1);
    assert_eq!(sim.downloads[0].command_key, "dl-1");
    // The transfer finishes after 60 s; its session is held by the ACS.
    sim.acs.push(
        SessionScript::new()
            .hold_requests()
            .request(Body::GetRPCMethods),
    );
    sim.run_for(Duration::from_secs(61));
    let inform = sim.acs.informs.last().unwrap();
    assert_eq!(inform.event_codes(), ["7 TRANSFER COMPLETE", "M Download"]);
    let kinds: Vec<&str> = sim
        .acs
        .exchanges
        .iter()
        .filter(|e| e.session_id == inform.session_id)
        .map(|e| e.request.as_ref().map_or("empty", |r| r.body.name()))
        .collect();
    assert_eq!(
        kinds,
        [
            "Inform",
            "empty",
            "GetRPCMethodsResponse",
            "TransferComplete",
            "empty"
        ],
        "no request while held; TransferComplete after the ACS's empty response"
    );
    assert_eq!(sim.acs.transfer_completes.len(), 1);
    assert!(sim.persisted.transfer_results.is_empty());
}

#[test]
fn transfer_complete_events_clear_only_on_transfer_complete_response() {
    let mut sim = sim();
    sim.transfers = TransferBehaviour::FailAfter(
        Duration::from_secs(30),
        Fault::new(FaultCode::FileServerUnreachable),
    );
    session(
        &mut sim,
        SessionScript::new().request(download("https://fs.example/fw.bin", "dl-2", 0)),
    );
    // Session 1 after the transfer: InformResponse, then no answer to the TransferComplete.
    sim.acs
        .push(SessionScript::new().cpe_request(Reply::Timeout));
    // Session 2: the TransferComplete is answered with a fault other than 8005: fails too.
    sim.acs
        .push(SessionScript::new().cpe_request(Reply::Fault(8002)));
    sim.run_for(Duration::from_secs(31 + 31));
    sim.run_for(Duration::from_secs(3600));
    let with_tc: Vec<_> = sim
        .acs
        .informs
        .iter()
        .filter(|i| i.has_event("7 TRANSFER COMPLETE"))
        .collect();
    assert_eq!(with_tc.len(), 3, "repeated until acknowledged");
    assert!(with_tc
        .iter()
        .all(|i| i.has_event_key("M Download", "dl-2")));
    assert!(with_tc.iter().all(|i| i.acknowledged));
    let tcs = &sim.acs.transfer_completes;
    assert_eq!(tcs.len(), 3);
    assert_eq!(tcs[2].0.fault_struct.fault_code, 9015);
    assert_eq!(tcs[2].0.command_key, "dl-2");
    assert!(tcs[2].1);
    assert!(sim.persisted.transfer_results.is_empty());
    assert!(sim.persisted.transfers.is_empty());
    // And never again.
    sim.input(Input::ConnectionRequest);
    assert!(!sim
        .acs
        .informs
        .last()
        .unwrap()
        .has_event("7 TRANSFER COMPLETE"));
}

#[test]
fn fault_8005_retries_the_same_request_in_session() {
    // Two 8005s, then acknowledged: three TransferCompletes in one successful session.
    let mut sim = sim();
    sim.acs.push(
        SessionScript::new()
            .cpe_request(Reply::Fault(8005))
            .cpe_request(Reply::Fault(8005)),
    );
    sim.input(Input::TransferComplete {
        command_key: "k".into(),
        fault: None,
        start: DateTime::UNKNOWN,
        complete: DateTime::UNKNOWN,
        kind: TransferKind::Download,
    });
    assert_eq!(sim.acs.transfer_completes.len(), 3);
    assert!(sim.sessions.last().unwrap().ended.unwrap().1);
    assert!(sim.persisted.transfer_results.is_empty());
    // Too many 8005s: the session fails, the result stays queued.
    let mut sim = self::sim();
    sim.acs.push(
        SessionScript::new()
            .cpe_request(Reply::Fault(8005))
            .cpe_request(Reply::Fault(8005))
            .cpe_request(Reply::Fault(8005))
            .cpe_request(Reply::Fault(8005)),
    );
    sim.input(Input::TransferComplete {
        command_key: "k".into(),
        fault: None,
        start: DateTime::UNKNOWN,
        complete: DateTime::UNKNOWN,
        kind: TransferKind::Download,
    });
    assert_eq!(sim.acs.transfer_completes.len(), 4);
    assert!(!sim.sessions.last().unwrap().ended.unwrap().1);
    assert_eq!(sim.persisted.transfer_results.len(), 1);
}

#[test]
fn fault_8005_on_inform_fails_the_session() {
    let mut sim = sim();
    sim.acs
        .push(SessionScript::new().inform(Reply::Fault(8005)));
    sim.input(Input::ConnectionRequest);
    assert_eq!(sim.failed_sessions(), 1);
}

#[test]
fn download_validation_queue_and_cancel() {
    let mut sim = sim();
    let r = session(
        &mut sim,
        SessionScript::new()
            .request(download("ftp://fs.example/fw.bin", "bad", 0))
            .request(download("https://fs.example/a.bin", "a", 3600))
            .request(download("http://fs.example/b.bin", "b", 3600))
            .request(Body::GetAllQueuedTransfers)
            .request(Body::CancelTransfer(CancelTransfer {
                command_key: "a".into(),
            }))
            .request(Body::CancelTransfer(CancelTransfer {
                command_key: "nope".into(),
            }))
            .request(Body::GetQueuedTransfers),
    );
    assert_eq!(fault_code(&r[0]), 9013);
    match &r[1].body {
        Body::DownloadResponse(d) => {
            assert_eq!(d.status, 1);
            assert!(d.start_time.is_unknown() && d.complete_time.is_unknown());
        }
        other => panic!("{other:?}"),
    }
    match &r[3].body {
        Body::GetAllQueuedTransfersResponse(q) => {
            let keys: Vec<(&str, i32)> = q
                .transfer_list
                .iter()
                .map(|t| (t.command_key.as_str(), t.state))
                .collect();
            assert_eq!(keys, [("a", 1), ("b", 1)]);
            assert!(q
                .transfer_list
                .iter()
                .all(|t| t.is_download && t.file_size == 4096));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(r[4].body, Body::CancelTransferResponse));
    assert_eq!(fault_code(&r[5]), 9003);
    match &r[6].body {
        Body::GetQueuedTransfersResponse(q) => assert_eq!(q.transfer_list.len(), 1),
        other => panic!("{other:?}"),
    }
    // The password is persisted for the embedder but never printed.
    assert!(!format!("{:?}", sim.persisted).contains("fw-secret"));
    // "b" starts after its delay, not before.
    assert!(sim.downloads.is_empty());
    sim.run_for(Duration::from_secs(3600));
    assert_eq!(sim.downloads.len(), 1);
    assert_eq!(sim.downloads[0].command_key, "b");
    assert!(!format!("{:?}", sim.downloads[0]).contains("fw-secret"));
    // Started: cancelling it now is refused.
    let r = session(
        &mut sim,
        SessionScript::new().request(Body::CancelTransfer(CancelTransfer {
            command_key: "b".into(),
        })),
    );
    assert_eq!(fault_code(&r[0]), 9021);
}

#[test]
fn transfer_queue_is_bounded() {
    let mut sim = sim();
    let mut s = SessionScript::new();
    for i in 0..17 {
        s = s.request(download("http://fs.example/x", &format!("k{i}"), 86_400));
    }
    let r = session(&mut sim, s);
    assert!(r[..16]
        .iter()
        .all(|e| matches!(e.body, Body::DownloadResponse(_))));
    assert_eq!(fault_code(&r[16]), 9004);
}

#[test]
fn in_progress_downloads_are_resumed_after_a_restart() {
    let mut sim = sim();
    session(
        &mut sim,
        SessionScript::new().request(download("http://fs.example/fw", "fw", 0)),
    );
    assert_eq!(sim.downloads.len(), 1);
    assert!(!sim.downloads[0].resumed);
    sim.restart(cwmp_engine::BootReason::PowerOn);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.downloads.len(), 2);
    assert!(sim.downloads[1].resumed);
}

#[test]
fn bad_acs_answers_fail_the_session() {
    for bad in [
        Reply::Http(500),
        Reply::Http(401),
        Reply::Http(302),
        Reply::Garbage,
        Reply::Close,
        Reply::NoContent,
        Reply::Request(Body::GetRPCMethods),
        Reply::Raw {
            status: 200,
            body:
                b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>"
                    .to_vec(),
        },
    ] {
        let mut sim = sim();
        sim.acs.push(SessionScript::new().inform(bad.clone()));
        sim.input(Input::ConnectionRequest);
        assert_eq!(sim.failed_sessions(), 1, "{bad:?}");
    }
    // In the ACS-request phase: an InformResponse, a fault, garbage.
    for bad in [
        Reply::Fault(8002),
        Reply::Garbage,
        Reply::Http(503),
        Reply::Request(Body::TransferCompleteResponse),
    ] {
        let mut sim = sim();
        sim.acs.push(SessionScript::new().then(bad.clone()));
        sim.input(Input::ConnectionRequest);
        assert_eq!(sim.failed_sessions(), 1, "{bad:?}");
    }
}

#[test]
fn no_answer_fails_after_the_response_timeout() {
    let mut sim = sim();
    sim.acs.push(
        SessionScript::new()
            .request(Body::GetRPCMethods)
            .then(Reply::Timeout),
    );
    sim.input(Input::ConnectionRequest);
    let started = sim.sessions[1].started;
    sim.run_for(Duration::from_secs(29));
    assert!(sim.sessions[1].ended.is_none(), "still waiting at 29 s");
    sim.run_for(Duration::from_secs(2));
    assert_eq!(
        sim.sessions[1].ended.unwrap(),
        (started + Duration::from_secs(30), false)
    );
}

#[test]
fn session_timeout_header_extends_the_wait() {
    let mut sim = sim();
    let mut s = SessionScript::new().then(Reply::Timeout);
    s.inform_header.session_timeout = Some(120);
    sim.acs.push(s);
    sim.input(Input::ConnectionRequest);
    let started = sim.sessions[1].started;
    sim.run_for(Duration::from_secs(200));
    assert_eq!(
        sim.sessions[1].ended.unwrap(),
        (started + Duration::from_secs(120), false)
    );
}

#[test]
fn a_fault_from_a_real_genieacs_ends_the_session() {
    // GenieACS 1.2.16's malformed fault (`<soap-env:Body:Fault>`) must fail the session
    // cleanly, not panic (README quirk, exchange 121).
    let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<soap-env:Envelope xmlns:soap-enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">1</cwmp:ID></soap-env:Header><soap-env:Body><soap-env:Body:Fault><faultcode>Server</faultcode><faultstring>CWMP fault</faultstring><detail><cwmp:Fault><FaultCode>8000</FaultCode><FaultString>Method not supported</FaultString></cwmp:Fault></detail></soap-env:Body:Fault></soap-env:Body></soap-env:Envelope>"#;
    let mut sim = sim();
    sim.acs.push(SessionScript::new().inform(Reply::Raw {
        status: 200,
        body: body.to_vec(),
    }));
    sim.input(Input::ConnectionRequest);
    assert_eq!(sim.failed_sessions(), 1);
}

#[test]
fn every_message_the_cpe_sends_parses_and_validates_shape() {
    // The scripted ACS parses every CPE message with the codec and panics otherwise; run a
    // busy session to cover all response kinds.
    let mut sim = sim();
    let r = session(
        &mut sim,
        SessionScript::new()
            .request(Body::GetParameterNames(GetParameterNames {
                parameter_path: "Device.".into(),
                next_level: false,
            }))
            .request(Body::GetParameterAttributes(GetParameterAttributes {
                parameter_names: vec!["Device.".into()],
            }))
            .request(Body::AddObject(cwmp_soap::AddObject {
                object_name: "Device.Services.VoiceService.".into(),
                parameter_key: String::new(),
            }))
            .request(Body::DeleteObject(cwmp_soap::DeleteObject {
                object_name: "Device.Services.VoiceService.1.".into(),
                parameter_key: String::new(),
            }))
            .request(Body::GetAllQueuedTransfers),
    );
    assert_eq!(r.len(), 5);
    assert!(matches!(r[0].body, Body::GetParameterNamesResponse(_)));
    assert!(matches!(r[1].body, Body::GetParameterAttributesResponse(_)));
    let _: &Header = &r[0].header;
}

//! Property tests: every message type written by the encoder parses back to an equal value,
//! for arbitrary strings (markup characters, quotes, CR/LF/tab, any Unicode) and arbitrary
//! array lengths; the streaming writers produce the same bytes as the one-shot writer.

use cwmp_model::{DateTime, XsdType};
use cwmp_soap::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Union};

/// Characters XML 1.0 can carry (the writer replaces the others with U+FFFD).
fn xml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec!['&', '<', '>', '"', '\'', ' ', '\t', '\n', '\r', ';', '#', ']', 'é', '中', '😀']),
        2 => prop::char::range('a', 'z'),
        2 => any::<char>().prop_filter("XML 1.0 character", |c| {
            matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        }),
    ]
}

fn text() -> impl Strategy<Value = String> {
    vec(xml_char(), 0..24).prop_map(String::from_iter)
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn texts() -> impl Strategy<Value = Vec<String>> {
    vec(text(), 0..6)
}

fn datetime() -> impl Strategy<Value = DateTime> {
    // Year 0001 to 9999, whole seconds or a fraction to the nanosecond (the wire form keeps it).
    (
        -62_135_596_800i64..=253_402_300_799i64,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
    )
        .prop_map(|(s, n)| {
            DateTime(
                DateTime::from_unix(s)
                    .unwrap()
                    .0
                    .replace_nanosecond(n)
                    .unwrap(),
            )
        })
}

fn xsd_type() -> impl Strategy<Value = XsdType> {
    prop::sample::select(vec![
        XsdType::String,
        XsdType::Int,
        XsdType::UnsignedInt,
        XsdType::Long,
        XsdType::UnsignedLong,
        XsdType::Boolean,
        XsdType::DateTime,
        XsdType::Base64,
        XsdType::HexBinary,
    ])
}

fn pvs() -> impl Strategy<Value = ParameterValueStruct> {
    (text(), text(), xsd_type()).prop_map(|(name, value, t)| ParameterValueStruct {
        name,
        value,
        xsi_type: Some(t),
    })
}

fn pvs_list() -> impl Strategy<Value = Vec<ParameterValueStruct>> {
    vec(pvs(), 0..8)
}

fn transfer_fault() -> impl Strategy<Value = TransferCompleteFaultStruct> {
    (any::<u32>(), text()).prop_map(|(fault_code, fault_string)| TransferCompleteFaultStruct {
        fault_code,
        fault_string,
    })
}

fn op_result() -> impl Strategy<Value = OpResultStruct> {
    (
        (text(), text(), text(), text(), any::<bool>()),
        (text(), datetime(), datetime(), any::<u32>(), opt_text()),
    )
        .prop_map(
            |(
                (uuid, deployment_unit_ref, version, current_state, resolved),
                (execution_unit_ref_list, start_time, complete_time, fault_code, fault_string),
            )| OpResultStruct {
                uuid,
                deployment_unit_ref,
                version,
                current_state,
                resolved,
                execution_unit_ref_list,
                start_time,
                complete_time,
                fault: DeploymentUnitFaultStruct {
                    fault_code,
                    fault_string,
                },
            },
        )
}

fn du_operation() -> impl Strategy<Value = DuOperation> {
    prop_oneof![
        (text(), opt_text(), opt_text(), opt_text(), opt_text()).prop_map(
            |(url, uuid, username, password, execution_env_ref)| DuOperation::Install(
                InstallOpStruct {
                    url,
                    uuid,
                    username,
                    password,
                    execution_env_ref
                }
            )
        ),
        (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()).prop_map(
            |(uuid, version, url, username, password)| DuOperation::Update(UpdateOpStruct {
                uuid,
                version,
                url,
                username,
                password
            })
        ),
        (text(), opt_text(), opt_text()).prop_map(|(uuid, version, execution_env_ref)| {
            DuOperation::Uninstall(UninstallOpStruct {
                uuid,
                version,
                execution_env_ref,
            })
        }),
    ]
}

fn soap_fault() -> impl Strategy<Value = SoapFault> {
    let spvf = (text(), any::<u32>(), text())
        .prop_map(|(name, code, string)| SetParameterValuesFault { name, code, string });
    (
        prop::sample::select(vec!["Client", "Server"]),
        text(),
        proptest::option::of((any::<u32>(), text(), vec(spvf, 0..4))),
    )
        .prop_map(|(faultcode, faultstring, detail)| SoapFault {
            faultcode: faultcode.to_owned(),
            faultstring,
            detail: detail.map(|(code, string, set_parameter_values_faults)| CwmpFault {
                code,
                string,
                set_parameter_values_faults,
            }),
        })
}

/// One strategy per `Body` variant (all but `Unknown`, which is never written).
fn body() -> impl Strategy<Value = Body> {
    let arms: Vec<BoxedStrategy<Body>> = vec![
        Just(Body::GetRPCMethods).boxed(),
        texts()
            .prop_map(|method_list| {
                Body::GetRPCMethodsResponse(GetRPCMethodsResponse { method_list })
            })
            .boxed(),
        (pvs_list(), text())
            .prop_map(|(parameter_list, parameter_key)| {
                Body::SetParameterValues(SetParameterValues {
                    parameter_list,
                    parameter_key,
                })
            })
            .boxed(),
        any::<i32>()
            .prop_map(|status| {
                Body::SetParameterValuesResponse(SetParameterValuesResponse { status })
            })
            .boxed(),
        texts()
            .prop_map(|parameter_names| {
                Body::GetParameterValues(GetParameterValues { parameter_names })
            })
            .boxed(),
        pvs_list()
            .prop_map(|parameter_list| {
                Body::GetParameterValuesResponse(GetParameterValuesResponse { parameter_list })
            })
            .boxed(),
        (text(), any::<bool>())
            .prop_map(|(parameter_path, next_level)| {
                Body::GetParameterNames(GetParameterNames {
                    parameter_path,
                    next_level,
                })
            })
            .boxed(),
        vec((text(), any::<bool>()), 0..8)
            .prop_map(|v| {
                Body::GetParameterNamesResponse(GetParameterNamesResponse {
                    parameter_list: v
                        .into_iter()
                        .map(|(name, writable)| ParameterInfoStruct { name, writable })
                        .collect(),
                })
            })
            .boxed(),
        vec(
            (text(), any::<bool>(), any::<i32>(), any::<bool>(), texts()),
            0..5,
        )
        .prop_map(|v| {
            Body::SetParameterAttributes(SetParameterAttributes {
                parameter_list: v
                    .into_iter()
                    .map(
                        |(
                            name,
                            notification_change,
                            notification,
                            access_list_change,
                            access_list,
                        )| {
                            SetParameterAttributesStruct {
                                name,
                                notification_change,
                                notification,
                                access_list_change,
                                access_list,
                            }
                        },
                    )
                    .collect(),
            })
        })
        .boxed(),
        Just(Body::SetParameterAttributesResponse).boxed(),
        texts()
            .prop_map(|parameter_names| {
                Body::GetParameterAttributes(GetParameterAttributes { parameter_names })
            })
            .boxed(),
        vec((text(), any::<i32>(), texts()), 0..5)
            .prop_map(|v| {
                Body::GetParameterAttributesResponse(GetParameterAttributesResponse {
                    parameter_list: v
                        .into_iter()
                        .map(
                            |(name, notification, access_list)| ParameterAttributeStruct {
                                name,
                                notification,
                                access_list,
                            },
                        )
                        .collect(),
                })
            })
            .boxed(),
        (text(), text())
            .prop_map(|(object_name, parameter_key)| {
                Body::AddObject(AddObject {
                    object_name,
                    parameter_key,
                })
            })
            .boxed(),
        (any::<u32>(), any::<i32>())
            .prop_map(|(instance_number, status)| {
                Body::AddObjectResponse(AddObjectResponse {
                    instance_number,
                    status,
                })
            })
            .boxed(),
        (text(), text())
            .prop_map(|(object_name, parameter_key)| {
                Body::DeleteObject(DeleteObject {
                    object_name,
                    parameter_key,
                })
            })
            .boxed(),
        any::<i32>()
            .prop_map(|status| Body::DeleteObjectResponse(DeleteObjectResponse { status }))
            .boxed(),
        text()
            .prop_map(|command_key| Body::Reboot(Reboot { command_key }))
            .boxed(),
        Just(Body::RebootResponse).boxed(),
        (
            (text(), text(), text(), text(), text()),
            (any::<u32>(), text(), any::<u32>(), text(), text()),
        )
            .prop_map(
                |(
                    (command_key, file_type, url, username, password),
                    (file_size, target_file_name, delay_seconds, success_url, failure_url),
                )| {
                    Body::Download(Download {
                        command_key,
                        file_type,
                        url,
                        username,
                        password: password.into(),
                        file_size,
                        target_file_name,
                        delay_seconds,
                        success_url,
                        failure_url,
                    })
                },
            )
            .boxed(),
        (any::<i32>(), datetime(), datetime(), any::<bool>())
            .prop_map(|(status, start_time, complete_time, upload)| {
                let r = TransferResponse {
                    status,
                    start_time,
                    complete_time,
                };
                if upload {
                    Body::UploadResponse(r)
                } else {
                    Body::DownloadResponse(r)
                }
            })
            .boxed(),
        (text(), text(), text(), text(), text(), any::<u32>())
            .prop_map(
                |(command_key, file_type, url, username, password, delay_seconds)| {
                    Body::Upload(Upload {
                        command_key,
                        file_type,
                        url,
                        username,
                        password: password.into(),
                        delay_seconds,
                    })
                },
            )
            .boxed(),
        Just(Body::FactoryReset).boxed(),
        Just(Body::FactoryResetResponse).boxed(),
        (any::<u32>(), text())
            .prop_map(|(delay_seconds, command_key)| {
                Body::ScheduleInform(ScheduleInform {
                    delay_seconds,
                    command_key,
                })
            })
            .boxed(),
        Just(Body::ScheduleInformResponse).boxed(),
        Just(Body::GetQueuedTransfers).boxed(),
        vec((text(), any::<i32>()), 0..5)
            .prop_map(|v| {
                Body::GetQueuedTransfersResponse(GetQueuedTransfersResponse {
                    transfer_list: v
                        .into_iter()
                        .map(|(command_key, state)| QueuedTransferStruct { command_key, state })
                        .collect(),
                })
            })
            .boxed(),
        Just(Body::GetAllQueuedTransfers).boxed(),
        vec(
            (
                text(),
                any::<i32>(),
                any::<bool>(),
                text(),
                any::<u32>(),
                text(),
            ),
            0..5,
        )
        .prop_map(|v| {
            Body::GetAllQueuedTransfersResponse(GetAllQueuedTransfersResponse {
                transfer_list: v
                    .into_iter()
                    .map(
                        |(
                            command_key,
                            state,
                            is_download,
                            file_type,
                            file_size,
                            target_file_name,
                        )| {
                            AllQueuedTransferStruct {
                                command_key,
                                state,
                                is_download,
                                file_type,
                                file_size,
                                target_file_name,
                            }
                        },
                    )
                    .collect(),
            })
        })
        .boxed(),
        (
            (text(), text(), text(), text(), text()),
            (
                any::<u32>(),
                text(),
                vec(
                    (any::<u32>(), any::<u32>(), text(), text(), any::<i32>()),
                    0..3,
                ),
            ),
        )
            .prop_map(
                |(
                    (command_key, file_type, url, username, password),
                    (file_size, target_file_name, w),
                )| {
                    Body::ScheduleDownload(ScheduleDownload {
                        command_key,
                        file_type,
                        url,
                        username,
                        password: password.into(),
                        file_size,
                        target_file_name,
                        time_window_list: w
                            .into_iter()
                            .map(
                                |(
                                    window_start,
                                    window_end,
                                    window_mode,
                                    user_message,
                                    max_retries,
                                )| {
                                    TimeWindowStruct {
                                        window_start,
                                        window_end,
                                        window_mode,
                                        user_message,
                                        max_retries,
                                    }
                                },
                            )
                            .collect(),
                    })
                },
            )
            .boxed(),
        Just(Body::ScheduleDownloadResponse).boxed(),
        text()
            .prop_map(|command_key| Body::CancelTransfer(CancelTransfer { command_key }))
            .boxed(),
        Just(Body::CancelTransferResponse).boxed(),
        (vec(du_operation(), 1..4), opt_text())
            .prop_map(|(operations, command_key)| {
                Body::ChangeDUState(ChangeDUState {
                    operations,
                    command_key,
                })
            })
            .boxed(),
        Just(Body::ChangeDUStateResponse).boxed(),
        (
            (text(), text(), text(), text()),
            vec((text(), text()), 0..5),
            (any::<u32>(), datetime(), any::<u32>(), pvs_list()),
        )
            .prop_map(
                |(
                    (manufacturer, oui, product_class, serial_number),
                    ev,
                    (max_envelopes, current_time, retry_count, parameter_list),
                )| {
                    Body::Inform(Inform {
                        device_id: DeviceIdStruct {
                            manufacturer,
                            oui,
                            product_class,
                            serial_number,
                        },
                        event: ev
                            .into_iter()
                            .map(|(c, k)| EventStruct::new(c, k))
                            .collect(),
                        max_envelopes,
                        current_time,
                        retry_count,
                        parameter_list,
                    })
                },
            )
            .boxed(),
        any::<u32>()
            .prop_map(|max_envelopes| Body::InformResponse(InformResponse { max_envelopes }))
            .boxed(),
        (text(), transfer_fault(), datetime(), datetime())
            .prop_map(|(command_key, fault_struct, start_time, complete_time)| {
                Body::TransferComplete(TransferComplete {
                    command_key,
                    fault_struct,
                    start_time,
                    complete_time,
                })
            })
            .boxed(),
        Just(Body::TransferCompleteResponse).boxed(),
        (
            (text(), text(), any::<bool>(), text(), any::<u32>()),
            (text(), transfer_fault(), datetime(), datetime()),
        )
            .prop_map(
                |(
                    (announce_url, transfer_url, is_download, file_type, file_size),
                    (target_file_name, fault_struct, start_time, complete_time),
                )| {
                    Body::AutonomousTransferComplete(AutonomousTransferComplete {
                        announce_url,
                        transfer_url,
                        is_download,
                        file_type,
                        file_size,
                        target_file_name,
                        fault_struct,
                        start_time,
                        complete_time,
                    })
                },
            )
            .boxed(),
        Just(Body::AutonomousTransferCompleteResponse).boxed(),
        (text(), vec((text(), text()), 0..5))
            .prop_map(|(file_type, args)| {
                Body::RequestDownload(RequestDownload {
                    file_type,
                    file_type_arg: args
                        .into_iter()
                        .map(|(name, value)| ArgStruct { name, value })
                        .collect(),
                })
            })
            .boxed(),
        Just(Body::RequestDownloadResponse).boxed(),
        (text(), text(), text(), text())
            .prop_map(|(command, referer, arg, next)| {
                Body::Kicked(Kicked {
                    command,
                    referer,
                    arg,
                    next,
                })
            })
            .boxed(),
        text()
            .prop_map(|next_url| Body::KickedResponse(KickedResponse { next_url }))
            .boxed(),
        (vec(op_result(), 1..3), opt_text())
            .prop_map(|(results, command_key)| {
                Body::DUStateChangeComplete(DUStateChangeComplete {
                    results,
                    command_key,
                })
            })
            .boxed(),
        Just(Body::DUStateChangeCompleteResponse).boxed(),
        vec((op_result(), text()), 1..3)
            .prop_map(|v| {
                Body::AutonomousDUStateChangeComplete(AutonomousDUStateChangeComplete {
                    results: v
                        .into_iter()
                        .map(|(result, operation_performed)| AutonOpResultStruct {
                            result,
                            operation_performed,
                        })
                        .collect(),
                })
            })
            .boxed(),
        Just(Body::AutonomousDUStateChangeCompleteResponse).boxed(),
        soap_fault().prop_map(Body::Fault).boxed(),
    ];
    Union::new(arms)
}

fn header() -> impl Strategy<Value = Header> {
    (
        opt_text(),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<u32>()),
        opt_text(),
        opt_text(),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(id, hold_requests, session_timeout, supported, use_version, no_more)| Header {
                id,
                hold_requests,
                session_timeout,
                supported_cwmp_versions: supported,
                use_cwmp_version: use_version,
                no_more_requests: no_more,
                unknown_must_understand: Vec::new(),
            },
        )
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        prop::sample::select(CwmpNamespace::ALL.to_vec()),
        header(),
        body(),
    )
        .prop_map(|(namespace, header, body)| Envelope {
            namespace,
            header,
            body,
        })
}

proptest! {
    // ~50 variants: enough cases that every one is drawn many times.
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_message_round_trips(env in envelope()) {
        let bytes = to_vec(&env).unwrap();
        let back = parse(&bytes, &Limits::default());
        prop_assert_eq!(back.as_ref(), Ok(&env), "{}", String::from_utf8_lossy(&bytes));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The streaming writers and the one-shot writer produce identical bytes.
    #[test]
    fn streaming_matches_one_shot(
        ns in prop::sample::select(CwmpNamespace::ALL.to_vec()),
        id in opt_text(),
        values in pvs_list(),
        names in vec((text(), any::<bool>()), 0..8),
        attrs in vec((text(), any::<i32>(), texts()), 0..5),
    ) {
        let header = Header { id, ..Header::default() };

        let env = Envelope { namespace: ns, header: header.clone(), body: Body::GetParameterValuesResponse(GetParameterValuesResponse { parameter_list: values.clone() }) };
        let mut streamed = Vec::new();
        write_get_parameter_values_response(&mut streamed, ns, &header, values.iter()).unwrap();
        prop_assert_eq!(&streamed, &to_vec(&env).unwrap());

        let infos: Vec<ParameterInfoStruct> = names.into_iter().map(|(name, writable)| ParameterInfoStruct { name, writable }).collect();
        let env = Envelope { namespace: ns, header: header.clone(), body: Body::GetParameterNamesResponse(GetParameterNamesResponse { parameter_list: infos.clone() }) };
        let mut streamed = Vec::new();
        // Owned items produced on the fly work as well as borrowed ones.
        write_get_parameter_names_response(&mut streamed, ns, &header, infos.clone().into_iter()).unwrap();
        prop_assert_eq!(&streamed, &to_vec(&env).unwrap());

        let attrs: Vec<ParameterAttributeStruct> = attrs.into_iter().map(|(name, notification, access_list)| ParameterAttributeStruct { name, notification, access_list }).collect();
        let env = Envelope { namespace: ns, header: header.clone(), body: Body::GetParameterAttributesResponse(GetParameterAttributesResponse { parameter_list: attrs.clone() }) };
        let mut streamed = Vec::new();
        write_get_parameter_attributes_response(&mut streamed, ns, &header, &attrs).unwrap();
        prop_assert_eq!(&streamed, &to_vec(&env).unwrap());
    }

    /// Characters XML 1.0 cannot carry become U+FFFD; everything else survives.
    #[test]
    fn unrepresentable_characters_become_replacement(s in vec(any::<char>(), 0..32).prop_map(String::from_iter)) {
        let env = Envelope::new(CwmpNamespace::V1_2, Body::Reboot(Reboot { command_key: s.clone() }));
        let back = parse(&to_vec(&env).unwrap(), &Limits::default()).unwrap();
        let expected: String = s.chars().map(|c| if matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..) { c } else { '\u{FFFD}' }).collect();
        prop_assert_eq!(back.body, Body::Reboot(Reboot { command_key: expected }));
    }
}

/// A value without `xsi:type` is written as `xsd:string` and reads back as such.
#[test]
fn missing_xsi_type_is_written_as_string() {
    let env = Envelope::new(
        CwmpNamespace::V1_2,
        Body::GetParameterValuesResponse(GetParameterValuesResponse {
            parameter_list: vec![ParameterValueStruct {
                name: "Device.X".into(),
                value: "v".into(),
                xsi_type: None,
            }],
        }),
    );
    let bytes = to_vec(&env).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains(r#"<Value xsi:type="xsd:string">v</Value>"#),
        "{text}"
    );
    let Body::GetParameterValuesResponse(r) = parse(&bytes, &Limits::default()).unwrap().body
    else {
        panic!("wrong body")
    };
    assert_eq!(r.parameter_list[0].xsi_type, Some(XsdType::String));
}

/// An iterator that lies about its length is reported, not silently written.
#[test]
fn streaming_detects_a_lying_iterator() {
    struct Liar(usize);
    impl Iterator for Liar {
        type Item = ParameterInfoStruct;
        fn next(&mut self) -> Option<ParameterInfoStruct> {
            if self.0 == 0 {
                return None;
            }
            self.0 -= 1;
            Some(ParameterInfoStruct {
                name: "Device.".into(),
                writable: false,
            })
        }
        fn size_hint(&self) -> (usize, Option<usize>) {
            (5, Some(5))
        }
    }
    impl ExactSizeIterator for Liar {}
    let mut out = Vec::new();
    let err = write_get_parameter_names_response(
        &mut out,
        CwmpNamespace::V1_2,
        &Header::default(),
        Liar(3),
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

/// Exact output of a small message: prefixes, header attributes, escaping of cwmp:ID,
/// arrayType with the count.
#[test]
fn exact_wire_form() {
    let env = Envelope {
        namespace: CwmpNamespace::V1_2,
        header: Header {
            id: Some("a&b<1>".into()),
            supported_cwmp_versions: Some("1.0,1.1,1.2,1.3,1.4".into()),
            ..Header::default()
        },
        body: Body::GetParameterNamesResponse(GetParameterNamesResponse {
            parameter_list: vec![ParameterInfoStruct {
                name: "Device.".into(),
                writable: false,
            }],
        }),
    };
    let text = String::from_utf8(to_vec(&env).unwrap()).unwrap();
    assert_eq!(
        text,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:soap-enc=\"http://schemas.xmlsoap.org/soap/encoding/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:cwmp=\"urn:dslforum-org:cwmp-1-2\">\
         <soap:Header><cwmp:ID soap:mustUnderstand=\"1\">a&amp;b&lt;1&gt;</cwmp:ID>\
         <cwmp:SupportedCWMPVersions soap:mustUnderstand=\"0\">1.0,1.1,1.2,1.3,1.4</cwmp:SupportedCWMPVersions>\
         </soap:Header><soap:Body><cwmp:GetParameterNamesResponse>\
         <ParameterList soap-enc:arrayType=\"cwmp:ParameterInfoStruct[1]\">\
         <ParameterInfoStruct><Name>Device.</Name><Writable>false</Writable></ParameterInfoStruct>\
         </ParameterList></cwmp:GetParameterNamesResponse></soap:Body></soap:Envelope>"
    );
}

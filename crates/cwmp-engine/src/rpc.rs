//! Answering ACS requests (TR-069 Annex A): each request is dispatched to the store or to the
//! engine's own queues and answered with its response or a CWMP fault.

use crate::agent::Agent;
use crate::clock::{self, Now};
use crate::inform::to_struct;
use crate::state::{QueuedTransfer, TransferState};
use cwmp_model::{
    ApplyStatus, DateTime, Fault, FaultCode, Notification, ParameterAttributes, ParameterInfo,
    ParameterStore, ParameterValue, SetAttributes, SetError, SetValue,
};
use cwmp_soap::{
    AddObjectResponse, AllQueuedTransferStruct, Body, CwmpFault, CwmpNamespace,
    DeleteObjectResponse, Envelope, GetAllQueuedTransfersResponse, GetQueuedTransfersResponse,
    GetRPCMethodsResponse, Header, ParameterAttributeStruct, ParameterInfoStruct,
    QueuedTransferStruct, SetParameterValuesFault, SetParameterValuesResponse, SoapFault,
    TransferResponse,
};
use std::io;
use std::time::Duration;

/// The methods this CPE implements, as GetRPCMethods lists them (TR-069 Annex A.3.1.1: exactly the
/// implemented ones). Everything else is answered with 9000.
pub const RPC_METHODS: &[&str] = &[
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
    "ScheduleInform",
    "GetQueuedTransfers",
    "GetAllQueuedTransfers",
    "CancelTransfer",
];

/// `CommandKey` and `ParameterKey` are `string(32)` in the XSD (TR-069 Annex A).
const MAX_KEY_CHARS: usize = 32;

/// A response, possibly still to be streamed.
pub(crate) enum Reply {
    Body(Body),
    Values(Vec<ParameterValue>),
    Names(Vec<ParameterInfo>),
    Attributes(Vec<ParameterAttributes>),
}

impl Reply {
    /// Encode as a complete envelope; the big responses go through the codec's streaming
    /// writers so no second copy of the parameter list is built.
    pub(crate) fn encode(
        self,
        ns: CwmpNamespace,
        header: Header,
    ) -> io::Result<(Vec<u8>, &'static str)> {
        let mut buf = Vec::with_capacity(1024);
        let name = match self {
            Reply::Body(body) => {
                let name = static_name(&body);
                cwmp_soap::write(
                    &Envelope {
                        namespace: ns,
                        header,
                        body,
                    },
                    &mut buf,
                )?;
                name
            }
            Reply::Values(v) => {
                cwmp_soap::write_get_parameter_values_response(
                    &mut buf,
                    ns,
                    &header,
                    v.into_iter().map(to_struct),
                )?;
                "GetParameterValuesResponse"
            }
            Reply::Names(v) => {
                cwmp_soap::write_get_parameter_names_response(
                    &mut buf,
                    ns,
                    &header,
                    v.into_iter().map(|p| ParameterInfoStruct {
                        name: p.name,
                        writable: p.writable,
                    }),
                )?;
                "GetParameterNamesResponse"
            }
            Reply::Attributes(v) => {
                cwmp_soap::write_get_parameter_attributes_response(
                    &mut buf,
                    ns,
                    &header,
                    v.into_iter().map(|a| ParameterAttributeStruct {
                        name: a.name,
                        notification: a.notification.as_i32(),
                        access_list: a.access_list,
                    }),
                )?;
                "GetParameterAttributesResponse"
            }
        };
        Ok((buf, name))
    }
}

fn static_name(body: &Body) -> &'static str {
    match body {
        Body::GetRPCMethodsResponse(_) => "GetRPCMethodsResponse",
        Body::SetParameterValuesResponse(_) => "SetParameterValuesResponse",
        Body::SetParameterAttributesResponse => "SetParameterAttributesResponse",
        Body::AddObjectResponse(_) => "AddObjectResponse",
        Body::DeleteObjectResponse(_) => "DeleteObjectResponse",
        Body::RebootResponse => "RebootResponse",
        Body::DownloadResponse(_) => "DownloadResponse",
        Body::FactoryResetResponse => "FactoryResetResponse",
        Body::ScheduleInformResponse => "ScheduleInformResponse",
        Body::GetQueuedTransfersResponse(_) => "GetQueuedTransfersResponse",
        Body::GetAllQueuedTransfersResponse(_) => "GetAllQueuedTransfersResponse",
        Body::CancelTransferResponse => "CancelTransferResponse",
        Body::Fault(_) => "Fault",
        _ => "response",
    }
}

/// Whether a Body is a request the ACS may send to a CPE (or an unknown element, which is
/// answered with 9000). Responses, faults and the ACS's own methods are protocol violations
/// when they arrive where an ACS request is expected.
pub(crate) fn is_acs_request(body: &Body) -> bool {
    matches!(
        body,
        Body::GetRPCMethods
            | Body::SetParameterValues(_)
            | Body::GetParameterValues(_)
            | Body::GetParameterNames(_)
            | Body::SetParameterAttributes(_)
            | Body::GetParameterAttributes(_)
            | Body::AddObject(_)
            | Body::DeleteObject(_)
            | Body::Reboot(_)
            | Body::Download(_)
            | Body::Upload(_)
            | Body::FactoryReset
            | Body::ScheduleInform(_)
            | Body::GetQueuedTransfers
            | Body::GetAllQueuedTransfers
            | Body::ScheduleDownload(_)
            | Body::CancelTransfer(_)
            | Body::ChangeDUState(_)
            | Body::Unknown { .. }
    )
}

fn fault(f: Fault) -> Reply {
    Reply::Body(Body::Fault(SoapFault::cwmp(f.code, f.message)))
}

fn fault_code(code: FaultCode) -> Reply {
    fault(Fault::new(code))
}

fn invalid_args(msg: &str) -> Reply {
    fault(Fault::with_message(FaultCode::InvalidArguments, msg))
}

fn key_too_long(key: &str) -> bool {
    key.chars().count() > MAX_KEY_CHARS
}

/// Answer one ACS request. Returns the reply and trace details (names and codes, no values).
pub(crate) fn dispatch<S: ParameterStore + ?Sized>(
    agent: &mut Agent,
    store: &mut S,
    now: Now,
    env: &Envelope,
) -> (Reply, Vec<String>) {
    // SOAP 1.1 §4.2.3: a mandatory header we do not know means the message must not be
    // processed. Decision (TR-069 silent): a SOAP fault with faultcode `MustUnderstand`, and,
    // for ACSs that only read the CWMP detail, a cwmp:Fault 9003 naming the header.
    if let Some(h) = env.header.unknown_must_understand.first() {
        let mut f = SoapFault::cwmp(
            FaultCode::InvalidArguments,
            format!("Invalid arguments: header {h} not understood"),
        );
        f.faultcode = "MustUnderstand".to_owned();
        return (
            Reply::Body(Body::Fault(f)),
            vec![format!("mustUnderstand {h}")],
        );
    }
    let reply = match &env.body {
        Body::GetRPCMethods => Reply::Body(Body::GetRPCMethodsResponse(GetRPCMethodsResponse {
            method_list: RPC_METHODS.iter().map(|s| (*s).to_owned()).collect(),
        })),
        Body::GetParameterValues(r) => match store.get_values(&r.parameter_names) {
            Ok(v) => Reply::Values(v),
            Err(f) => fault(f),
        },
        Body::GetParameterNames(r) => match store.get_names(&r.parameter_path, r.next_level) {
            Ok(v) => Reply::Names(v),
            Err(f) => fault(f),
        },
        Body::GetParameterAttributes(r) => match store.get_attributes(&r.parameter_names) {
            Ok(v) => Reply::Attributes(v),
            Err(f) => fault(f),
        },
        Body::SetParameterValues(r) => set_values(agent, store, now, r),
        Body::SetParameterAttributes(r) => {
            let mut changes = Vec::with_capacity(r.parameter_list.len());
            let mut bad = None;
            for p in &r.parameter_list {
                let notification = if p.notification_change {
                    match Notification::from_i32(p.notification) {
                        Some(n) => Some(n),
                        None => {
                            bad = Some(p.name.clone());
                            break;
                        }
                    }
                } else {
                    None
                };
                changes.push(SetAttributes {
                    name: p.name.clone(),
                    notification,
                    access_list: p.access_list_change.then(|| p.access_list.clone()),
                });
            }
            match bad {
                Some(name) => invalid_args(&format!(
                    "Invalid arguments: Notification of {name} is not 0-6"
                )),
                None => match store.set_attributes(&changes) {
                    Ok(()) => {
                        agent.after_set_attributes(store, &changes);
                        Reply::Body(Body::SetParameterAttributesResponse)
                    }
                    Err(f) => fault(f),
                },
            }
        }
        Body::AddObject(r) => {
            if key_too_long(&r.parameter_key) {
                invalid_args("Invalid arguments: ParameterKey longer than 32 characters")
            } else {
                match store.add_object(&r.object_name, &r.parameter_key) {
                    Ok((n, st)) => Reply::Body(Body::AddObjectResponse(AddObjectResponse {
                        instance_number: n,
                        status: st.as_i32(),
                    })),
                    Err(f) => fault(f),
                }
            }
        }
        Body::DeleteObject(r) => {
            if key_too_long(&r.parameter_key) {
                invalid_args("Invalid arguments: ParameterKey longer than 32 characters")
            } else {
                match store.delete_object(&r.object_name, &r.parameter_key) {
                    Ok(st) => Reply::Body(Body::DeleteObjectResponse(DeleteObjectResponse {
                        status: st.as_i32(),
                    })),
                    Err(f) => fault(f),
                }
            }
        }
        Body::Reboot(r) => {
            if key_too_long(&r.command_key) {
                invalid_args("Invalid arguments: CommandKey longer than 32 characters")
            } else {
                // TR-069 Annex A.3.2.9: reboot after the session; `M Reboot` persisted now.
                agent.session_reboot(&r.command_key);
                Reply::Body(Body::RebootResponse)
            }
        }
        Body::FactoryReset => {
            agent.session_factory_reset();
            Reply::Body(Body::FactoryResetResponse)
        }
        Body::Download(d) => download(agent, now, d),
        Body::ScheduleInform(r) => {
            if r.delay_seconds == 0 {
                // TR-069 Annex A (ScheduleInform): DelaySeconds must be > 0.
                invalid_args("Invalid arguments: DelaySeconds must be greater than 0")
            } else if key_too_long(&r.command_key) {
                invalid_args("Invalid arguments: CommandKey longer than 32 characters")
            } else if agent.scheduled_count() >= agent.config().max_scheduled_informs {
                fault_code(FaultCode::ResourcesExceeded)
            } else {
                let delay = Duration::from_secs(u64::from(r.delay_seconds));
                agent.accept_schedule_inform(&r.command_key, delay, now);
                Reply::Body(Body::ScheduleInformResponse)
            }
        }
        Body::GetQueuedTransfers => {
            let list = queued(agent)
                .into_iter()
                .map(|q| QueuedTransferStruct {
                    command_key: q.command_key,
                    state: q.state,
                })
                .collect();
            Reply::Body(Body::GetQueuedTransfersResponse(
                GetQueuedTransfersResponse {
                    transfer_list: list,
                },
            ))
        }
        Body::GetAllQueuedTransfers => Reply::Body(Body::GetAllQueuedTransfersResponse(
            GetAllQueuedTransfersResponse {
                transfer_list: queued(agent),
            },
        )),
        Body::CancelTransfer(r) => cancel_transfer(agent, now, &r.command_key),
        // Upload, ScheduleDownload, ChangeDUState and unknown elements (TR-069 Annex A).
        _ => fault_code(FaultCode::MethodNotSupported),
    };
    let detail = match &reply {
        Reply::Body(Body::Fault(f)) => f
            .detail
            .as_ref()
            .map(|d| {
                let mut v = vec![format!("fault {}", d.code)];
                v.extend(
                    d.set_parameter_values_faults
                        .iter()
                        .map(|p| format!("{} {}", p.name, p.code)),
                );
                v
            })
            .unwrap_or_default(),
        Reply::Values(v) => vec![format!("{} values", v.len())],
        Reply::Names(v) => vec![format!("{} names", v.len())],
        Reply::Attributes(v) => vec![format!("{} attributes", v.len())],
        Reply::Body(_) => Vec::new(),
    };
    (reply, detail)
}

/// SetParameterValues (TR-069 Annex A.3.2.1): all-or-nothing in the store; per-parameter faults become
/// 9003 with one `SetParameterValuesFault` each.
fn set_values<S: ParameterStore + ?Sized>(
    agent: &mut Agent,
    store: &mut S,
    now: Now,
    r: &cwmp_soap::SetParameterValues,
) -> Reply {
    if key_too_long(&r.parameter_key) {
        return invalid_args("Invalid arguments: ParameterKey longer than 32 characters");
    }
    let values: Vec<SetValue> = r
        .parameter_list
        .iter()
        .map(|p| SetValue {
            name: p.name.clone(),
            value: p.value.clone(),
            xsi_type: p.xsi_type,
        })
        .collect();
    match store.set_values(&values, &r.parameter_key) {
        Ok(status) => {
            let names: Vec<String> = values.iter().map(|v| v.name.clone()).collect();
            agent.after_set_values(store, now, &names);
            Reply::Body(Body::SetParameterValuesResponse(
                SetParameterValuesResponse {
                    status: match status {
                        ApplyStatus::Applied => 0,
                        _ => 1,
                    },
                },
            ))
        }
        Err(SetError::Parameters(faults)) => {
            let code = FaultCode::InvalidArguments;
            Reply::Body(Body::Fault(SoapFault {
                faultcode: "Client".to_owned(),
                faultstring: "CWMP fault".to_owned(),
                detail: Some(CwmpFault {
                    code: code.code(),
                    string: code.description().to_owned(),
                    set_parameter_values_faults: faults
                        .into_iter()
                        .map(|f| SetParameterValuesFault {
                            name: f.name,
                            code: f.code.code(),
                            string: f.message,
                        })
                        .collect(),
                }),
            }))
        }
        Err(SetError::Fault(f)) => fault(f),
        Err(_) => fault_code(FaultCode::InternalError),
    }
}

/// Download (TR-069 Annex A.3.2.8): validate, queue, answer Status 1 with Unknown times; the engine
/// hands it to the embedder after the session and DelaySeconds.
fn download(agent: &mut Agent, now: Now, d: &cwmp_soap::Download) -> Reply {
    let url = d.url.trim();
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        None => {
            return fault(Fault::with_message(
                FaultCode::UnsupportedProtocol,
                "Unsupported protocol for file transfer: only http and https",
            ))
        }
        Some("") => return invalid_args("Invalid arguments: URL has no host"),
        Some(_) => {}
    }
    if key_too_long(&d.command_key) {
        return invalid_args("Invalid arguments: CommandKey longer than 32 characters");
    }
    if agent.transfers().len() + agent.pending_results().len()
        >= agent.config().max_queued_transfers
    {
        return fault(Fault::with_message(
            FaultCode::ResourcesExceeded,
            "Resources exceeded: transfer queue full",
        ));
    }
    let delay = Duration::from_secs(u64::from(d.delay_seconds));
    let t = QueuedTransfer {
        command_key: d.command_key.clone(),
        file_type: d.file_type.clone(),
        url: url.to_owned(),
        username: d.username.clone(),
        password: d.password.clone(),
        file_size: d.file_size,
        target_file_name: d.target_file_name.clone(),
        success_url: d.success_url.clone(),
        failure_url: d.failure_url.clone(),
        due: now.wall_plus(delay),
        state: TransferState::NotStarted,
    };
    agent.accept_transfer(t, clock::add(now.mono, delay), now);
    Reply::Body(Body::DownloadResponse(TransferResponse {
        status: 1,
        start_time: DateTime::UNKNOWN,
        complete_time: DateTime::UNKNOWN,
    }))
}

/// CancelTransfer (TR-069 Annex A).
///
/// Decisions: every not-started transfer with the key is cancelled; if one with the key is in
/// progress or already completed (its TransferComplete pending), nothing is cancelled and the
/// answer is 9021; an unknown key is 9003.
fn cancel_transfer(agent: &mut Agent, now: Now, key: &str) -> Reply {
    let started = agent
        .transfers()
        .iter()
        .any(|(t, _)| t.command_key == key && t.state != TransferState::NotStarted)
        || agent
            .pending_results()
            .iter()
            .any(|(_, r)| r.command_key == key);
    if started {
        return fault_code(FaultCode::CancelNotPermitted);
    }
    if !agent.transfers().iter().any(|(t, _)| t.command_key == key) {
        return invalid_args("Invalid arguments: no queued transfer with this CommandKey");
    }
    agent.remove_transfers(key, now);
    Reply::Body(Body::CancelTransferResponse)
}

/// The transfer queue as GetAllQueuedTransfers shows it (TR-069 Annex A (GetQueuedTransfers)): accepted transfers
/// (1 not yet started, 2 in progress) and finished ones awaiting acknowledgement (3), at most 16.
fn queued(agent: &Agent) -> Vec<AllQueuedTransferStruct> {
    let mut v: Vec<AllQueuedTransferStruct> = agent
        .transfers()
        .iter()
        .map(|(t, _)| AllQueuedTransferStruct {
            command_key: t.command_key.clone(),
            state: match t.state {
                TransferState::NotStarted => 1,
                _ => 2,
            },
            is_download: true,
            file_type: t.file_type.clone(),
            file_size: t.file_size,
            target_file_name: t.target_file_name.clone(),
        })
        .collect();
    v.extend(
        agent
            .pending_results()
            .iter()
            .map(|(_, r)| AllQueuedTransferStruct {
                command_key: r.command_key.clone(),
                state: 3,
                is_download: true,
                file_type: r.file_type.clone(),
                file_size: 0,
                target_file_name: String::new(),
            }),
    );
    v.truncate(16);
    v
}

//! Typed CWMP messages: the envelope, its header, and one body variant per RPC of
//! `cwmp-1-2.xsd` / `cwmp-1-4.xsd` (TR-069 §3.5, Annex A.3.3.1, Annex A, Annex A.5).
//!
//! Field names follow the XSD element names in snake case; field types follow the XSD primitive
//! types (`xs:unsignedInt` → `u32`, `xs:int` → `i32`, `xs:boolean` → `bool`, `xs:dateTime` →
//! [`DateTime`]). Enumerations that restrict a primitive (`Status` ∈ {0, 1}, `Notification` ∈
//! 0..=6, `State` ∈ 1..=3, fault-code sets) are **not** checked by the codec: the value is kept
//! as received so that the session engine can answer a bad value with the right CWMP fault
//! (9003) instead of failing the whole session on a parse error.
//!
//! Secrets (`Password` of Download, Upload, ScheduleDownload and the DU operations) print as
//! `"<redacted>"` in `Debug`; so do the values of parameters whose name looks like a secret
//! (see [`ParameterValueStruct`]).

use cwmp_model::{DateTime, Secret, XsdType};
use std::fmt;

/// The `urn:dslforum-org:cwmp-1-x` namespace of an envelope (TR-069 §3.5).
///
/// CWMP 1.2, 1.3 and 1.4 all use `urn:dslforum-org:cwmp-1-2`; the protocol version inside it
/// is negotiated with the `SupportedCWMPVersions` / `UseCWMPVersion` headers.
///
/// Decision (TR-069 silent): `urn:dslforum-org:cwmp-1-3` is not a BBF namespace, but
/// GenieACS 1.2.16 mirrors it when a CPE uses it and treats it as CWMP 1.4. It is accepted on
/// input as [`CwmpNamespace::V1_3Nonstandard`] and written back verbatim, so a session can
/// answer in kind. Our CPE never starts a session in it. `urn:dslforum-org:cwmp-1-4` and any
/// other URI are not CWMP namespaces (GenieACS refuses `cwmp-1-4` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CwmpNamespace {
    /// `urn:dslforum-org:cwmp-1-0` (CWMP 1.0).
    V1_0,
    /// `urn:dslforum-org:cwmp-1-1` (CWMP 1.1).
    V1_1,
    /// `urn:dslforum-org:cwmp-1-2` (CWMP 1.2, 1.3 and 1.4).
    V1_2,
    /// `urn:dslforum-org:cwmp-1-3`: not standard; accepted because GenieACS uses it.
    V1_3Nonstandard,
}

impl CwmpNamespace {
    /// Every namespace the codec recognises, oldest first.
    pub const ALL: [CwmpNamespace; 4] = [
        CwmpNamespace::V1_0,
        CwmpNamespace::V1_1,
        CwmpNamespace::V1_2,
        CwmpNamespace::V1_3Nonstandard,
    ];

    /// The namespace URI, e.g. `urn:dslforum-org:cwmp-1-2`.
    pub fn uri(self) -> &'static str {
        match self {
            CwmpNamespace::V1_0 => "urn:dslforum-org:cwmp-1-0",
            CwmpNamespace::V1_1 => "urn:dslforum-org:cwmp-1-1",
            CwmpNamespace::V1_2 => "urn:dslforum-org:cwmp-1-2",
            CwmpNamespace::V1_3Nonstandard => "urn:dslforum-org:cwmp-1-3",
        }
    }

    /// The namespace with this exact URI, if it is one of [`CwmpNamespace::ALL`].
    pub fn from_uri(uri: &str) -> Option<CwmpNamespace> {
        CwmpNamespace::ALL.into_iter().find(|n| n.uri() == uri)
    }

    /// The namespace in which a session of CWMP version `major.minor` is carried
    /// (1.0 → `cwmp-1-0`, 1.1 → `cwmp-1-1`, 1.2–1.4 → `cwmp-1-2`).
    pub fn for_version(major: u8, minor: u8) -> Option<CwmpNamespace> {
        match (major, minor) {
            (1, 0) => Some(CwmpNamespace::V1_0),
            (1, 1) => Some(CwmpNamespace::V1_1),
            (1, 2..=4) => Some(CwmpNamespace::V1_2),
            _ => None,
        }
    }
}

impl fmt::Display for CwmpNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri())
    }
}

/// A whole SOAP envelope carrying one CWMP message (TR-069 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The cwmp namespace of the message.
    ///
    /// On input it is the namespace of the RPC element in the Body; when that is not a cwmp
    /// namespace (a [`Body::Unknown`], or a SOAP Fault), the namespace of the first cwmp
    /// header element; else the first cwmp namespace the Envelope element declares (matched
    /// by URI; the prefix does not matter); else [`CwmpNamespace::V1_2`].
    pub namespace: CwmpNamespace,
    /// The SOAP Header's CWMP elements.
    pub header: Header,
    /// The message.
    pub body: Body,
}

impl Envelope {
    /// An envelope with an empty header.
    pub fn new(namespace: CwmpNamespace, body: Body) -> Envelope {
        Envelope {
            namespace,
            header: Header::default(),
            body,
        }
    }

    /// Builder: set the `cwmp:ID` header.
    pub fn with_id(mut self, id: impl Into<String>) -> Envelope {
        self.header.id = Some(id.into());
        self
    }
}

/// The CWMP elements of the SOAP Header (TR-069 §3.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// `cwmp:ID` (written with `soap:mustUnderstand="1"`).
    pub id: Option<String>,
    /// `cwmp:HoldRequests` (ACS → CPE; written with `soap:mustUnderstand="1"`).
    pub hold_requests: Option<bool>,
    /// `cwmp:SessionTimeout` in seconds (CWMP 1.3+; written with `soap:mustUnderstand="0"`).
    pub session_timeout: Option<u32>,
    /// `cwmp:SupportedCWMPVersions`, e.g. `1.0,1.1,1.2,1.3,1.4` (CPE → ACS in the Inform;
    /// written with `soap:mustUnderstand="0"`).
    pub supported_cwmp_versions: Option<String>,
    /// `cwmp:UseCWMPVersion`, e.g. `1.4` (ACS → CPE in the InformResponse; written with
    /// `soap:mustUnderstand="1"`).
    pub use_cwmp_version: Option<String>,
    /// `cwmp:NoMoreRequests`: deprecated since CWMP 1.0 Amendment 1 and in no XSD; recorded
    /// when received so it can be logged, to be ignored by the session (TR-069 §3.5).
    pub no_more_requests: Option<bool>,
    /// Header elements the codec does not know that carry `soap:mustUnderstand="1"` (or
    /// `"true"`), as `{namespace-uri}LocalName` (Clark notation; `{}LocalName` when
    /// unqualified). SOAP 1.1 requires such a message to be answered with a `MustUnderstand`
    /// fault; it is the session's job. Never written.
    pub unknown_must_understand: Vec<String>,
}

/// The one element of the SOAP Body: a CWMP request, response or a SOAP fault.
///
/// The variants hold messages of both directions, so the fake ACS in the tests uses the same
/// codec as the CPE (design invariant 4). `SetVouchers` and `GetOptions` (optional and
/// deprecated, TR-069 Annex A) are not modelled: they parse as [`Body::Unknown`], which the
/// engine answers with 9000.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    // --- Methods both sides may call (A.3.1) -------------------------------------------
    /// `GetRPCMethods` (no arguments).
    GetRPCMethods,
    /// `GetRPCMethodsResponse`.
    GetRPCMethodsResponse(GetRPCMethodsResponse),

    // --- CPE methods: requests from the ACS and the CPE's responses (A.3.2, A.4.1) -----
    /// `SetParameterValues`.
    SetParameterValues(SetParameterValues),
    /// `SetParameterValuesResponse`.
    SetParameterValuesResponse(SetParameterValuesResponse),
    /// `GetParameterValues`.
    GetParameterValues(GetParameterValues),
    /// `GetParameterValuesResponse`.
    GetParameterValuesResponse(GetParameterValuesResponse),
    /// `GetParameterNames`.
    GetParameterNames(GetParameterNames),
    /// `GetParameterNamesResponse`.
    GetParameterNamesResponse(GetParameterNamesResponse),
    /// `SetParameterAttributes`.
    SetParameterAttributes(SetParameterAttributes),
    /// `SetParameterAttributesResponse` (empty).
    SetParameterAttributesResponse,
    /// `GetParameterAttributes`.
    GetParameterAttributes(GetParameterAttributes),
    /// `GetParameterAttributesResponse`.
    GetParameterAttributesResponse(GetParameterAttributesResponse),
    /// `AddObject`.
    AddObject(AddObject),
    /// `AddObjectResponse`.
    AddObjectResponse(AddObjectResponse),
    /// `DeleteObject`.
    DeleteObject(DeleteObject),
    /// `DeleteObjectResponse`.
    DeleteObjectResponse(DeleteObjectResponse),
    /// `Reboot`.
    Reboot(Reboot),
    /// `RebootResponse` (empty).
    RebootResponse,
    /// `Download`.
    Download(Download),
    /// `DownloadResponse`.
    DownloadResponse(TransferResponse),
    /// `Upload`.
    Upload(Upload),
    /// `UploadResponse`.
    UploadResponse(TransferResponse),
    /// `FactoryReset` (no arguments).
    FactoryReset,
    /// `FactoryResetResponse` (empty).
    FactoryResetResponse,
    /// `ScheduleInform`.
    ScheduleInform(ScheduleInform),
    /// `ScheduleInformResponse` (empty).
    ScheduleInformResponse,
    /// `GetQueuedTransfers` (no arguments; deprecated).
    GetQueuedTransfers,
    /// `GetQueuedTransfersResponse`.
    GetQueuedTransfersResponse(GetQueuedTransfersResponse),
    /// `GetAllQueuedTransfers` (no arguments).
    GetAllQueuedTransfers,
    /// `GetAllQueuedTransfersResponse`.
    GetAllQueuedTransfersResponse(GetAllQueuedTransfersResponse),
    /// `ScheduleDownload` (CWMP 1.2+).
    ScheduleDownload(ScheduleDownload),
    /// `ScheduleDownloadResponse` (empty).
    ScheduleDownloadResponse,
    /// `CancelTransfer` (CWMP 1.2+).
    CancelTransfer(CancelTransfer),
    /// `CancelTransferResponse` (empty).
    CancelTransferResponse,
    /// `ChangeDUState` (CWMP 1.2+).
    ChangeDUState(ChangeDUState),
    /// `ChangeDUStateResponse` (empty).
    ChangeDUStateResponse,

    // --- ACS methods: requests from the CPE and the ACS's responses (A.3.3, A.4.2) -----
    /// `Inform`.
    Inform(Inform),
    /// `InformResponse`.
    InformResponse(InformResponse),
    /// `TransferComplete`.
    TransferComplete(TransferComplete),
    /// `TransferCompleteResponse` (empty).
    TransferCompleteResponse,
    /// `AutonomousTransferComplete` (CWMP 1.1+).
    AutonomousTransferComplete(AutonomousTransferComplete),
    /// `AutonomousTransferCompleteResponse` (empty).
    AutonomousTransferCompleteResponse,
    /// `RequestDownload`.
    RequestDownload(RequestDownload),
    /// `RequestDownloadResponse` (empty).
    RequestDownloadResponse,
    /// `Kicked` (deprecated).
    Kicked(Kicked),
    /// `KickedResponse`.
    KickedResponse(KickedResponse),
    /// `DUStateChangeComplete` (CWMP 1.2+).
    DUStateChangeComplete(DUStateChangeComplete),
    /// `DUStateChangeCompleteResponse` (empty).
    DUStateChangeCompleteResponse,
    /// `AutonomousDUStateChangeComplete` (CWMP 1.2+).
    AutonomousDUStateChangeComplete(AutonomousDUStateChangeComplete),
    /// `AutonomousDUStateChangeCompleteResponse` (empty).
    AutonomousDUStateChangeCompleteResponse,

    // --- Others --------------------------------------------------------------------------
    /// A SOAP `Fault` (TR-069 Annex A.5).
    Fault(SoapFault),
    /// A Body element the codec does not know (an unknown or unimplemented RPC, or an element
    /// outside the cwmp namespaces). Its content is skipped. The CPE answers a request it does
    /// not know with fault 9000. Never written.
    Unknown {
        /// The element's local name.
        name: String,
        /// The element's namespace URI, `None` when unqualified.
        namespace: Option<String>,
    },
}

impl Body {
    /// The local name of the Body element, e.g. `"Inform"`, `"Fault"`.
    pub fn name(&self) -> &str {
        match self {
            Body::GetRPCMethods => "GetRPCMethods",
            Body::GetRPCMethodsResponse(_) => "GetRPCMethodsResponse",
            Body::SetParameterValues(_) => "SetParameterValues",
            Body::SetParameterValuesResponse(_) => "SetParameterValuesResponse",
            Body::GetParameterValues(_) => "GetParameterValues",
            Body::GetParameterValuesResponse(_) => "GetParameterValuesResponse",
            Body::GetParameterNames(_) => "GetParameterNames",
            Body::GetParameterNamesResponse(_) => "GetParameterNamesResponse",
            Body::SetParameterAttributes(_) => "SetParameterAttributes",
            Body::SetParameterAttributesResponse => "SetParameterAttributesResponse",
            Body::GetParameterAttributes(_) => "GetParameterAttributes",
            Body::GetParameterAttributesResponse(_) => "GetParameterAttributesResponse",
            Body::AddObject(_) => "AddObject",
            Body::AddObjectResponse(_) => "AddObjectResponse",
            Body::DeleteObject(_) => "DeleteObject",
            Body::DeleteObjectResponse(_) => "DeleteObjectResponse",
            Body::Reboot(_) => "Reboot",
            Body::RebootResponse => "RebootResponse",
            Body::Download(_) => "Download",
            Body::DownloadResponse(_) => "DownloadResponse",
            Body::Upload(_) => "Upload",
            Body::UploadResponse(_) => "UploadResponse",
            Body::FactoryReset => "FactoryReset",
            Body::FactoryResetResponse => "FactoryResetResponse",
            Body::ScheduleInform(_) => "ScheduleInform",
            Body::ScheduleInformResponse => "ScheduleInformResponse",
            Body::GetQueuedTransfers => "GetQueuedTransfers",
            Body::GetQueuedTransfersResponse(_) => "GetQueuedTransfersResponse",
            Body::GetAllQueuedTransfers => "GetAllQueuedTransfers",
            Body::GetAllQueuedTransfersResponse(_) => "GetAllQueuedTransfersResponse",
            Body::ScheduleDownload(_) => "ScheduleDownload",
            Body::ScheduleDownloadResponse => "ScheduleDownloadResponse",
            Body::CancelTransfer(_) => "CancelTransfer",
            Body::CancelTransferResponse => "CancelTransferResponse",
            Body::ChangeDUState(_) => "ChangeDUState",
            Body::ChangeDUStateResponse => "ChangeDUStateResponse",
            Body::Inform(_) => "Inform",
            Body::InformResponse(_) => "InformResponse",
            Body::TransferComplete(_) => "TransferComplete",
            Body::TransferCompleteResponse => "TransferCompleteResponse",
            Body::AutonomousTransferComplete(_) => "AutonomousTransferComplete",
            Body::AutonomousTransferCompleteResponse => "AutonomousTransferCompleteResponse",
            Body::RequestDownload(_) => "RequestDownload",
            Body::RequestDownloadResponse => "RequestDownloadResponse",
            Body::Kicked(_) => "Kicked",
            Body::KickedResponse(_) => "KickedResponse",
            Body::DUStateChangeComplete(_) => "DUStateChangeComplete",
            Body::DUStateChangeCompleteResponse => "DUStateChangeCompleteResponse",
            Body::AutonomousDUStateChangeComplete(_) => "AutonomousDUStateChangeComplete",
            Body::AutonomousDUStateChangeCompleteResponse => {
                "AutonomousDUStateChangeCompleteResponse"
            }
            Body::Fault(_) => "Fault",
            Body::Unknown { name, .. } => name,
        }
    }

    /// Whether this is a SOAP fault.
    pub fn is_fault(&self) -> bool {
        matches!(self, Body::Fault(_))
    }
}

// ---------------------------------------------------------------------------------------------
// Shared structures
// ---------------------------------------------------------------------------------------------

/// `ParameterValueStruct`: a name and a lexical value (TR-069 Annex A.3.3.1, Annex A.3.2.1, Annex A.3.2.2, Annex A.2).
///
/// `value` is the text as it appears on the wire (unescaped). `xsi_type` is the `Value`'s
/// `xsi:type`: optional on input (`None` when absent, or when it names a type outside
/// [`XsdType`], e.g. `xsd:integer`: the engine then validates the lexical value); always
/// written on output (`None` is written as `xsd:string`).
///
/// `Debug` redacts the value when the last segment of the name looks like a secret
/// (`…Password`, `…Passphrase`, `…Secret…`, `…PreSharedKey…`, `…PSK`), since an ACS may set
/// passwords with SetParameterValues.
#[derive(Clone, PartialEq, Eq)]
pub struct ParameterValueStruct {
    /// Full parameter name (`string(256)`).
    pub name: String,
    /// The lexical value (`anySimpleType`).
    pub value: String,
    /// The `xsi:type` of the value.
    pub xsi_type: Option<XsdType>,
}

impl ParameterValueStruct {
    /// A struct with an explicit `xsi:type`.
    pub fn new(
        name: impl Into<String>,
        value: impl Into<String>,
        xsi_type: XsdType,
    ) -> ParameterValueStruct {
        ParameterValueStruct {
            name: name.into(),
            value: value.into(),
            xsi_type: Some(xsi_type),
        }
    }
}

impl fmt::Debug for ParameterValueStruct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ParameterValueStruct");
        d.field("name", &self.name);
        if looks_secret(&self.name) {
            d.field("value", &Redacted(&self.value));
        } else {
            d.field("value", &self.value);
        }
        d.field("xsi_type", &self.xsi_type).finish()
    }
}

/// Whether a parameter name's last segment looks like it holds a secret (for `Debug` only;
/// the data model's secret flag is authoritative, this is a second line of defence).
fn looks_secret(name: &str) -> bool {
    let last = name
        .trim_end_matches('.')
        .rsplit('.')
        .next()
        .unwrap_or(name);
    last.ends_with("Password")
        || last.ends_with("Passphrase")
        || last.contains("Secret")
        || last.contains("PreSharedKey")
        || last.ends_with("PSK")
}

/// Prints `"<redacted>"` for a non-empty secret and `""` for an empty one.
struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            write!(f, "{:?}", cwmp_model::REDACTED)
        }
    }
}

/// Redacts an optional secret.
struct RedactedOpt<'a>(&'a Option<String>);

impl fmt::Debug for RedactedOpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("None"),
            Some(s) => write!(f, "Some({:?})", Redacted(s)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GetRPCMethods
// ---------------------------------------------------------------------------------------------

/// `GetRPCMethodsResponse` (TR-069 Annex A.3.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetRPCMethodsResponse {
    /// `MethodList`: array of `string(64)`.
    pub method_list: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Parameter RPCs
// ---------------------------------------------------------------------------------------------

/// `SetParameterValues` (TR-069 Annex A.3.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetParameterValues {
    /// `ParameterList`.
    pub parameter_list: Vec<ParameterValueStruct>,
    /// `ParameterKey` (`string(32)`).
    pub parameter_key: String,
}

/// `SetParameterValuesResponse` (TR-069 Annex A.3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetParameterValuesResponse {
    /// `Status`: 0 applied, 1 committed but not yet applied.
    pub status: i32,
}

/// `GetParameterValues` (TR-069 Annex A.3.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetParameterValues {
    /// `ParameterNames`: full names or partial paths ending in `.` (`""` = whole tree).
    pub parameter_names: Vec<String>,
}

/// `GetParameterValuesResponse` (TR-069 Annex A.3.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetParameterValuesResponse {
    /// `ParameterList`.
    pub parameter_list: Vec<ParameterValueStruct>,
}

/// `GetParameterNames` (TR-069 Annex A.3.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetParameterNames {
    /// `ParameterPath` (`""` = root).
    pub parameter_path: String,
    /// `NextLevel`.
    pub next_level: bool,
}

/// `ParameterInfoStruct` (TR-069 Annex A.3.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInfoStruct {
    /// Full parameter name or object path ending in `.`.
    pub name: String,
    /// `Writable`.
    pub writable: bool,
}

/// `GetParameterNamesResponse` (TR-069 Annex A.3.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetParameterNamesResponse {
    /// `ParameterList`.
    pub parameter_list: Vec<ParameterInfoStruct>,
}

/// `SetParameterAttributesStruct` (TR-069 Annex A.3.2.4).
///
/// `notification` is the `Notification` value as received; when `notification_change` is
/// false it is ignored, and an empty `<Notification></Notification>` (GenieACS) is then read
/// as 0. `access_list` likewise only matters when `access_list_change` is true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetParameterAttributesStruct {
    /// Full name or partial path ending in `.`.
    pub name: String,
    /// `NotificationChange`.
    pub notification_change: bool,
    /// `Notification` (0..=6 in CWMP 1.4; not range-checked by the codec).
    pub notification: i32,
    /// `AccessListChange`.
    pub access_list_change: bool,
    /// `AccessList` (only defined entry: `Subscriber`).
    pub access_list: Vec<String>,
}

/// `SetParameterAttributes` (TR-069 Annex A.3.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetParameterAttributes {
    /// `ParameterList` (at least one entry per the XSD; an empty list is accepted and left to
    /// the engine).
    pub parameter_list: Vec<SetParameterAttributesStruct>,
}

/// `GetParameterAttributes` (TR-069 Annex A.3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetParameterAttributes {
    /// `ParameterNames`.
    pub parameter_names: Vec<String>,
}

/// `ParameterAttributeStruct` (TR-069 Annex A.3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterAttributeStruct {
    /// Full parameter name.
    pub name: String,
    /// `Notification`.
    pub notification: i32,
    /// `AccessList`.
    pub access_list: Vec<String>,
}

/// `GetParameterAttributesResponse` (TR-069 Annex A.3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetParameterAttributesResponse {
    /// `ParameterList`.
    pub parameter_list: Vec<ParameterAttributeStruct>,
}

/// `AddObject` (TR-069 Annex A.3.2.6–A.3.2.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddObject {
    /// `ObjectName`: the table path ending in `.`.
    pub object_name: String,
    /// `ParameterKey`.
    pub parameter_key: String,
}

/// `AddObjectResponse` (TR-069 Annex A.3.2.6–A.3.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddObjectResponse {
    /// `InstanceNumber` (≥ 1).
    pub instance_number: u32,
    /// `Status`: 0 created, 1 committed but not yet applied.
    pub status: i32,
}

/// `DeleteObject` (TR-069 Annex A.3.2.6–A.3.2.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteObject {
    /// `ObjectName`: the instance path ending in `.`.
    pub object_name: String,
    /// `ParameterKey`.
    pub parameter_key: String,
}

/// `DeleteObjectResponse` (TR-069 Annex A.3.2.6–A.3.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteObjectResponse {
    /// `Status`: 0 deleted, 1 committed but not yet applied.
    pub status: i32,
}

// ---------------------------------------------------------------------------------------------
// Reboot, transfers, scheduling
// ---------------------------------------------------------------------------------------------

/// `Reboot` (TR-069 Annex A.3.2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reboot {
    /// `CommandKey`.
    pub command_key: String,
}

/// `Download` (TR-069 Annex A.3.2.8). The password is a [`Secret`]: `Debug` redacts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// `CommandKey`.
    pub command_key: String,
    /// `FileType`, e.g. `1 Firmware Upgrade Image`.
    pub file_type: String,
    /// `URL`.
    pub url: String,
    /// `Username`.
    pub username: String,
    /// `Password`.
    pub password: Secret,
    /// `FileSize` (0 = not specified).
    pub file_size: u32,
    /// `TargetFileName`.
    pub target_file_name: String,
    /// `DelaySeconds`.
    pub delay_seconds: u32,
    /// `SuccessURL`.
    pub success_url: String,
    /// `FailureURL`.
    pub failure_url: String,
}

impl Download {
    /// A Download of `url` as `file_type` with no credentials, size, target name, delay or
    /// success/failure URLs: what an ACS (the demo, the test ACSs) most often sends.
    pub fn new(
        command_key: impl Into<String>,
        file_type: impl Into<String>,
        url: impl Into<String>,
    ) -> Download {
        Download {
            command_key: command_key.into(),
            file_type: file_type.into(),
            url: url.into(),
            username: String::new(),
            password: Secret::default(),
            file_size: 0,
            target_file_name: String::new(),
            delay_seconds: 0,
            success_url: String::new(),
            failure_url: String::new(),
        }
    }
}

/// `DownloadResponse` / `UploadResponse` (TR-069 Annex A.3.2.8, Annex A (Upload)): same arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferResponse {
    /// `Status`: 0 completed and applied, 1 not yet (then both times are the Unknown Time).
    pub status: i32,
    /// `StartTime`.
    pub start_time: DateTime,
    /// `CompleteTime`.
    pub complete_time: DateTime,
}

/// `Upload` (TR-069 Annex A (Upload)). The password is a [`Secret`]: `Debug` redacts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// `CommandKey`.
    pub command_key: String,
    /// `FileType`, e.g. `2 Vendor Log File`.
    pub file_type: String,
    /// `URL`.
    pub url: String,
    /// `Username`.
    pub username: String,
    /// `Password`.
    pub password: Secret,
    /// `DelaySeconds`.
    pub delay_seconds: u32,
}

/// `ScheduleInform` (TR-069 Annex A (ScheduleInform)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleInform {
    /// `DelaySeconds` (> 0, else the engine answers 9003).
    pub delay_seconds: u32,
    /// `CommandKey`.
    pub command_key: String,
}

/// `QueuedTransferStruct` (TR-069 Annex A (GetQueuedTransfers)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedTransferStruct {
    /// `CommandKey`.
    pub command_key: String,
    /// `State`: 1 not yet started, 2 in progress, 3 completed.
    pub state: i32,
}

/// `GetQueuedTransfersResponse` (TR-069 Annex A (GetQueuedTransfers)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetQueuedTransfersResponse {
    /// `TransferList` (0..16 entries).
    pub transfer_list: Vec<QueuedTransferStruct>,
}

/// `AllQueuedTransferStruct` (TR-069 Annex A (GetQueuedTransfers)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllQueuedTransferStruct {
    /// `CommandKey`.
    pub command_key: String,
    /// `State`: 1 not yet started, 2 in progress, 3 completed.
    pub state: i32,
    /// `IsDownload`.
    pub is_download: bool,
    /// `FileType`.
    pub file_type: String,
    /// `FileSize`.
    pub file_size: u32,
    /// `TargetFileName`.
    pub target_file_name: String,
}

/// `GetAllQueuedTransfersResponse` (TR-069 Annex A (GetQueuedTransfers)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetAllQueuedTransfersResponse {
    /// `TransferList` (0..16 entries).
    pub transfer_list: Vec<AllQueuedTransferStruct>,
}

/// `TimeWindowStruct` (TR-069 Annex A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindowStruct {
    /// `WindowStart` (seconds after the request).
    pub window_start: u32,
    /// `WindowEnd`.
    pub window_end: u32,
    /// `WindowMode`, e.g. `1 At Any Time`.
    pub window_mode: String,
    /// `UserMessage`.
    pub user_message: String,
    /// `MaxRetries`.
    pub max_retries: i32,
}

/// `ScheduleDownload` (TR-069 Annex A). The password is a [`Secret`]: `Debug` redacts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDownload {
    /// `CommandKey`.
    pub command_key: String,
    /// `FileType`.
    pub file_type: String,
    /// `URL`.
    pub url: String,
    /// `Username`.
    pub username: String,
    /// `Password`.
    pub password: Secret,
    /// `FileSize`.
    pub file_size: u32,
    /// `TargetFileName`.
    pub target_file_name: String,
    /// `TimeWindowList` (1..2 entries per the XSD).
    pub time_window_list: Vec<TimeWindowStruct>,
}

/// `CancelTransfer` (TR-069 Annex A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelTransfer {
    /// `CommandKey` of the transfer to cancel.
    pub command_key: String,
}

// ---------------------------------------------------------------------------------------------
// Software module management (ChangeDUState and its completions)
// ---------------------------------------------------------------------------------------------

/// `ChangeDUState` (TR-069 Annex A).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeDUState {
    /// `Operations` (one element per operation, typed by `xsi:type`).
    pub operations: Vec<DuOperation>,
    /// `CommandKey` (optional in the XSD).
    pub command_key: Option<String>,
}

/// One `Operations` element of ChangeDUState: the XSD's abstract `OperationStruct`, whose
/// concrete type is named by `xsi:type` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DuOperation {
    /// `cwmp:InstallOpStruct`.
    Install(InstallOpStruct),
    /// `cwmp:UpdateOpStruct`.
    Update(UpdateOpStruct),
    /// `cwmp:UninstallOpStruct`.
    Uninstall(UninstallOpStruct),
}

/// `InstallOpStruct`. `Debug` redacts `password`.
#[derive(Clone, PartialEq, Eq)]
pub struct InstallOpStruct {
    /// `URL`.
    pub url: String,
    /// `UUID`.
    pub uuid: Option<String>,
    /// `Username`.
    pub username: Option<String>,
    /// `Password` (secret).
    pub password: Option<String>,
    /// `ExecutionEnvRef`.
    pub execution_env_ref: Option<String>,
}

impl fmt::Debug for InstallOpStruct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallOpStruct")
            .field("url", &self.url)
            .field("uuid", &self.uuid)
            .field("username", &self.username)
            .field("password", &RedactedOpt(&self.password))
            .field("execution_env_ref", &self.execution_env_ref)
            .finish()
    }
}

/// `UpdateOpStruct`. `Debug` redacts `password`.
#[derive(Clone, PartialEq, Eq)]
pub struct UpdateOpStruct {
    /// `UUID`.
    pub uuid: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `URL`.
    pub url: Option<String>,
    /// `Username`.
    pub username: Option<String>,
    /// `Password` (secret).
    pub password: Option<String>,
}

impl fmt::Debug for UpdateOpStruct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateOpStruct")
            .field("uuid", &self.uuid)
            .field("version", &self.version)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &RedactedOpt(&self.password))
            .finish()
    }
}

/// `UninstallOpStruct`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UninstallOpStruct {
    /// `UUID`.
    pub uuid: String,
    /// `Version`.
    pub version: Option<String>,
    /// `ExecutionEnvRef`.
    pub execution_env_ref: Option<String>,
}

/// `DeploymentUnitFaultStruct`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentUnitFaultStruct {
    /// `FaultCode` (0 = success).
    pub fault_code: u32,
    /// `FaultString` (optional in the XSD).
    pub fault_string: Option<String>,
}

/// `OpResultStruct` (the result of one DU operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpResultStruct {
    /// `UUID`.
    pub uuid: String,
    /// `DeploymentUnitRef`.
    pub deployment_unit_ref: String,
    /// `Version`.
    pub version: String,
    /// `CurrentState`: `Installed`, `Uninstalled` or `Failed`.
    pub current_state: String,
    /// `Resolved`.
    pub resolved: bool,
    /// `ExecutionUnitRefList` (comma-separated).
    pub execution_unit_ref_list: String,
    /// `StartTime`.
    pub start_time: DateTime,
    /// `CompleteTime`.
    pub complete_time: DateTime,
    /// `Fault`.
    pub fault: DeploymentUnitFaultStruct,
}

/// `AutonOpResultStruct`: an [`OpResultStruct`] plus `OperationPerformed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutonOpResultStruct {
    /// The common result fields.
    pub result: OpResultStruct,
    /// `OperationPerformed`: `Install`, `Update`, `Uninstall` or an extension.
    pub operation_performed: String,
}

/// `DUStateChangeComplete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DUStateChangeComplete {
    /// `Results` (one element per operation).
    pub results: Vec<OpResultStruct>,
    /// `CommandKey` (optional in the XSD).
    pub command_key: Option<String>,
}

/// `AutonomousDUStateChangeComplete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutonomousDUStateChangeComplete {
    /// `Results` (one element per operation).
    pub results: Vec<AutonOpResultStruct>,
}

// ---------------------------------------------------------------------------------------------
// ACS methods
// ---------------------------------------------------------------------------------------------

/// `DeviceIdStruct` (TR-069 Annex A.3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdStruct {
    /// `Manufacturer`.
    pub manufacturer: String,
    /// `OUI` (6 upper-case hex digits).
    pub oui: String,
    /// `ProductClass`.
    pub product_class: String,
    /// `SerialNumber`.
    pub serial_number: String,
}

/// `EventStruct` (TR-069 Annex A.3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventStruct {
    /// `EventCode`, e.g. `1 BOOT`, `M Reboot`.
    pub event_code: String,
    /// `CommandKey` (empty when not applicable).
    pub command_key: String,
}

impl EventStruct {
    /// An event with a command key.
    pub fn new(event_code: impl Into<String>, command_key: impl Into<String>) -> EventStruct {
        EventStruct {
            event_code: event_code.into(),
            command_key: command_key.into(),
        }
    }
}

/// `Inform` (TR-069 Annex A.3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inform {
    /// `DeviceId`.
    pub device_id: DeviceIdStruct,
    /// `Event`.
    pub event: Vec<EventStruct>,
    /// `MaxEnvelopes` (the CPE sends 1).
    pub max_envelopes: u32,
    /// `CurrentTime`.
    pub current_time: DateTime,
    /// `RetryCount`.
    pub retry_count: u32,
    /// `ParameterList`.
    pub parameter_list: Vec<ParameterValueStruct>,
}

impl Inform {
    /// The event codes, in order (`0 BOOTSTRAP`, `1 BOOT`, …).
    pub fn event_codes(&self) -> Vec<String> {
        self.event.iter().map(|e| e.event_code.clone()).collect()
    }
}

/// `InformResponse` (TR-069 Annex A.3.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InformResponse {
    /// `MaxEnvelopes` (ignored by the CPE).
    pub max_envelopes: u32,
}

/// `FaultStruct` of TransferComplete / AutonomousTransferComplete (TR-069 Annex A.3.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCompleteFaultStruct {
    /// `FaultCode`: 0 = success.
    pub fault_code: u32,
    /// `FaultString` (empty on success).
    pub fault_string: String,
}

/// `TransferComplete` (TR-069 Annex A.3.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferComplete {
    /// `CommandKey` of the Download / Upload / ScheduleDownload.
    pub command_key: String,
    /// `FaultStruct`.
    pub fault_struct: TransferCompleteFaultStruct,
    /// `StartTime`.
    pub start_time: DateTime,
    /// `CompleteTime`.
    pub complete_time: DateTime,
}

/// `AutonomousTransferComplete` (TR-069 Annex A.3.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutonomousTransferComplete {
    /// `AnnounceURL`.
    pub announce_url: String,
    /// `TransferURL`.
    pub transfer_url: String,
    /// `IsDownload`.
    pub is_download: bool,
    /// `FileType`.
    pub file_type: String,
    /// `FileSize`.
    pub file_size: u32,
    /// `TargetFileName`.
    pub target_file_name: String,
    /// `FaultStruct`.
    pub fault_struct: TransferCompleteFaultStruct,
    /// `StartTime`.
    pub start_time: DateTime,
    /// `CompleteTime`.
    pub complete_time: DateTime,
}

/// `ArgStruct` of RequestDownload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgStruct {
    /// `Name`.
    pub name: String,
    /// `Value`.
    pub value: String,
}

/// `RequestDownload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDownload {
    /// `FileType`.
    pub file_type: String,
    /// `FileTypeArg` (0..16 entries).
    pub file_type_arg: Vec<ArgStruct>,
}

/// `Kicked` (deprecated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kicked {
    /// `Command`.
    pub command: String,
    /// `Referer`.
    pub referer: String,
    /// `Arg`.
    pub arg: String,
    /// `Next`.
    pub next: String,
}

/// `KickedResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KickedResponse {
    /// `NextURL`.
    pub next_url: String,
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

/// A SOAP 1.1 `Fault` (TR-069 Annex A.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// `faultcode`: `Client` or `Server`. On input a prefix (`SOAP-ENV:Server`) is removed.
    pub faultcode: String,
    /// `faultstring`; CWMP implementations send `CWMP fault`.
    pub faultstring: String,
    /// `detail/cwmp:Fault`, absent for a plain SOAP fault.
    pub detail: Option<CwmpFault>,
}

impl SoapFault {
    /// The standard CWMP fault envelope body for a code: `faultcode` `Client` or `Server`
    /// (by [`cwmp_model::FaultCode::is_client_fault`]), `faultstring` `CWMP fault`, and a
    /// `cwmp:Fault` with the given string.
    pub fn cwmp(code: cwmp_model::FaultCode, string: impl Into<String>) -> SoapFault {
        SoapFault {
            faultcode: if code.is_client_fault() {
                "Client"
            } else {
                "Server"
            }
            .to_owned(),
            faultstring: "CWMP fault".to_owned(),
            detail: Some(CwmpFault {
                code: code.code(),
                string: string.into(),
                set_parameter_values_faults: Vec::new(),
            }),
        }
    }
}

/// `cwmp:Fault`: the CWMP fault inside a SOAP fault's `detail` (TR-069 Annex A.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CwmpFault {
    /// `FaultCode`.
    pub code: u32,
    /// `FaultString` (optional in the XSD: empty when absent; always written).
    pub string: String,
    /// `SetParameterValuesFault` entries (SetParameterValues only).
    pub set_parameter_values_faults: Vec<SetParameterValuesFault>,
}

/// `SetParameterValuesFault`: one failing parameter of a SetParameterValues (TR-069 Annex A.3.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetParameterValuesFault {
    /// `ParameterName`.
    pub name: String,
    /// `FaultCode` (9005–9008, …).
    pub code: u32,
    /// `FaultString` (empty when absent; always written).
    pub string: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_round_trip() {
        for ns in CwmpNamespace::ALL {
            assert_eq!(CwmpNamespace::from_uri(ns.uri()), Some(ns));
        }
        assert_eq!(CwmpNamespace::from_uri("urn:dslforum-org:cwmp-1-4"), None);
        assert_eq!(CwmpNamespace::for_version(1, 4), Some(CwmpNamespace::V1_2));
        assert_eq!(CwmpNamespace::for_version(1, 0), Some(CwmpNamespace::V1_0));
        assert_eq!(CwmpNamespace::for_version(2, 0), None);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let d = Download {
            command_key: "k".into(),
            file_type: "1 Firmware Upgrade Image".into(),
            url: "http://x/".into(),
            username: "u".into(),
            password: "hunter2".into(),
            file_size: 0,
            target_file_name: String::new(),
            delay_seconds: 0,
            success_url: String::new(),
            failure_url: String::new(),
        };
        let s = format!("{d:?}");
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("<redacted>"));
        let u = Upload {
            command_key: "k".into(),
            file_type: "2 Vendor Log File".into(),
            url: "http://x/".into(),
            username: "u".into(),
            password: "hunter2".into(),
            delay_seconds: 0,
        };
        assert!(!format!("{u:?}").contains("hunter2"));
        let i = InstallOpStruct {
            url: "http://x/".into(),
            uuid: None,
            username: None,
            password: Some("hunter2".into()),
            execution_env_ref: None,
        };
        assert!(!format!("{i:?}").contains("hunter2"));
        let p = ParameterValueStruct::new(
            "Device.ManagementServer.ConnectionRequestPassword",
            "hunter2",
            XsdType::String,
        );
        assert!(!format!("{p:?}").contains("hunter2"));
        let q = ParameterValueStruct::new("Device.DeviceInfo.UpTime", "42", XsdType::UnsignedInt);
        assert!(format!("{q:?}").contains("42"));
    }
}

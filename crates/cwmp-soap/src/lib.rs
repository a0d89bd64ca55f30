//! The CWMP 1.0–1.4 SOAP codec, both directions (TR-069 §3.4–§3.7, Annex A.3.3.1, Annex A, Annex A.5, Annex A.2).
//!
//! A stateless pair of pure functions (design invariant 4): [`parse`] turns untrusted bytes
//! into a typed [`Envelope`] or a typed [`ParseError`] (never a panic, bounded by
//! [`Limits`]); [`write()`] turns an [`Envelope`] into exact CWMP that validates against the
//! Broadband Forum schemas. The large responses (GetParameterValues, GetParameterNames,
//! GetParameterAttributes) can be streamed from an iterator with
//! [`write_get_parameter_values_response`] and its siblings, in memory independent of the
//! number of entries; [`write()`] uses the same code for them.
//!
//! ```
//! use cwmp_soap::{parse, write, Body, CwmpNamespace, Envelope, InformResponse, Limits};
//!
//! let env = Envelope::new(
//!     CwmpNamespace::V1_2,
//!     Body::InformResponse(InformResponse { max_envelopes: 1 }),
//! )
//! .with_id("a&b<1>");
//! let mut bytes = Vec::new();
//! write(&env, &mut bytes).unwrap();
//! assert_eq!(parse(&bytes, &Limits::default()).unwrap(), env);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod lexer;
mod message;
mod parse;
mod write;

pub use error::{Limits, ParseError, ParseErrorKind};
pub use message::{
    AddObject, AddObjectResponse, AllQueuedTransferStruct, ArgStruct, AutonOpResultStruct,
    AutonomousDUStateChangeComplete, AutonomousTransferComplete, Body, CancelTransfer,
    ChangeDUState, CwmpFault, CwmpNamespace, DUStateChangeComplete, DeleteObject,
    DeleteObjectResponse, DeploymentUnitFaultStruct, DeviceIdStruct, Download, DuOperation,
    Envelope, EventStruct, GetAllQueuedTransfersResponse, GetParameterAttributes,
    GetParameterAttributesResponse, GetParameterNames, GetParameterNamesResponse,
    GetParameterValues, GetParameterValuesResponse, GetQueuedTransfersResponse,
    GetRPCMethodsResponse, Header, Inform, InformResponse, InstallOpStruct, Kicked, KickedResponse,
    OpResultStruct, ParameterAttributeStruct, ParameterInfoStruct, ParameterValueStruct,
    QueuedTransferStruct, Reboot, RequestDownload, ScheduleDownload, ScheduleInform,
    SetParameterAttributes, SetParameterAttributesStruct, SetParameterValues,
    SetParameterValuesFault, SetParameterValuesResponse, SoapFault, TimeWindowStruct,
    TransferComplete, TransferCompleteFaultStruct, TransferResponse, UninstallOpStruct,
    UpdateOpStruct, Upload,
};
pub use parse::parse;
pub use write::{
    to_vec, write, write_get_parameter_attributes_response, write_get_parameter_names_response,
    write_get_parameter_values_response, xsi_type_name,
};

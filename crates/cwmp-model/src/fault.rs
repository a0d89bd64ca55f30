//! CWMP fault codes (TR-069 §A.5.1 / the `FaultCode` documentation in `cwmp-1-2.xsd`, TR-069 Annex A.5.1).

use std::fmt;

/// A CWMP fault code with the spec's number.
///
/// CPE faults are 9000–9899, ACS faults 8000–8899. Codes without a named variant (reserved or
/// vendor-specific ranges) are kept in [`FaultCode::Other`], so a value read from the wire is never lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultCode {
    /// 8000 Method not supported (ACS).
    AcsMethodNotSupported,
    /// 8001 Request denied (ACS).
    AcsRequestDenied,
    /// 8002 Internal error (ACS).
    AcsInternalError,
    /// 8003 Invalid arguments (ACS).
    AcsInvalidArguments,
    /// 8004 Resources exceeded (ACS).
    AcsResourcesExceeded,
    /// 8005 Retry request (ACS): the CPE retries the same request.
    AcsRetryRequest,
    /// 8006 ACS version incompatible with CPE (CWMP 1.4).
    AcsVersionIncompatible,
    /// 9000 Method not supported.
    MethodNotSupported,
    /// 9001 Request denied (no reason specified).
    RequestDenied,
    /// 9002 Internal error.
    InternalError,
    /// 9003 Invalid arguments.
    InvalidArguments,
    /// 9004 Resources exceeded.
    ResourcesExceeded,
    /// 9005 Invalid parameter name.
    InvalidParameterName,
    /// 9006 Invalid parameter type.
    InvalidParameterType,
    /// 9007 Invalid parameter value.
    InvalidParameterValue,
    /// 9008 Attempt to set a non-writable parameter.
    NonWritableParameter,
    /// 9009 Notification request rejected.
    NotificationRequestRejected,
    /// 9010 File transfer failure.
    FileTransferFailure,
    /// 9011 Upload failure.
    UploadFailure,
    /// 9012 File transfer server authentication failure.
    FileTransferServerAuthenticationFailure,
    /// 9013 Unsupported protocol for file transfer.
    UnsupportedProtocol,
    /// 9014 File transfer failure: unable to join multicast group.
    MulticastJoinFailure,
    /// 9015 File transfer failure: unable to contact file server.
    FileServerUnreachable,
    /// 9016 File transfer failure: unable to access file.
    FileAccessFailure,
    /// 9017 File transfer failure: unable to complete download.
    DownloadIncomplete,
    /// 9018 File transfer failure: file corrupted.
    FileCorrupted,
    /// 9019 File transfer failure: file authentication failure.
    FileAuthenticationFailure,
    /// 9020 File transfer failure: unable to complete download within specified time windows.
    TimeWindowExceeded,
    /// 9021 Cancelation of file transfer not permitted in current transfer state.
    CancelNotPermitted,
    /// Any other code (reserved, DU faults 9022–9032, vendor 8800–8899 / 9800–9899).
    Other(u32),
}

const TABLE: &[(FaultCode, u32, &str)] = &[
    (
        FaultCode::AcsMethodNotSupported,
        8000,
        "Method not supported",
    ),
    (FaultCode::AcsRequestDenied, 8001, "Request denied"),
    (FaultCode::AcsInternalError, 8002, "Internal error"),
    (FaultCode::AcsInvalidArguments, 8003, "Invalid arguments"),
    (FaultCode::AcsResourcesExceeded, 8004, "Resources exceeded"),
    (FaultCode::AcsRetryRequest, 8005, "Retry request"),
    (
        FaultCode::AcsVersionIncompatible,
        8006,
        "ACS version incompatible with CPE",
    ),
    (FaultCode::MethodNotSupported, 9000, "Method not supported"),
    (FaultCode::RequestDenied, 9001, "Request denied"),
    (FaultCode::InternalError, 9002, "Internal error"),
    (FaultCode::InvalidArguments, 9003, "Invalid arguments"),
    (FaultCode::ResourcesExceeded, 9004, "Resources exceeded"),
    (
        FaultCode::InvalidParameterName,
        9005,
        "Invalid parameter name",
    ),
    (
        FaultCode::InvalidParameterType,
        9006,
        "Invalid parameter type",
    ),
    (
        FaultCode::InvalidParameterValue,
        9007,
        "Invalid parameter value",
    ),
    (
        FaultCode::NonWritableParameter,
        9008,
        "Attempt to set a non-writable parameter",
    ),
    (
        FaultCode::NotificationRequestRejected,
        9009,
        "Notification request rejected",
    ),
    (
        FaultCode::FileTransferFailure,
        9010,
        "File transfer failure",
    ),
    (FaultCode::UploadFailure, 9011, "Upload failure"),
    (
        FaultCode::FileTransferServerAuthenticationFailure,
        9012,
        "File transfer server authentication failure",
    ),
    (
        FaultCode::UnsupportedProtocol,
        9013,
        "Unsupported protocol for file transfer",
    ),
    (
        FaultCode::MulticastJoinFailure,
        9014,
        "File transfer failure: unable to join multicast group",
    ),
    (
        FaultCode::FileServerUnreachable,
        9015,
        "File transfer failure: unable to contact file server",
    ),
    (
        FaultCode::FileAccessFailure,
        9016,
        "File transfer failure: unable to access file",
    ),
    (
        FaultCode::DownloadIncomplete,
        9017,
        "File transfer failure: unable to complete download",
    ),
    (
        FaultCode::FileCorrupted,
        9018,
        "File transfer failure: file corrupted",
    ),
    (
        FaultCode::FileAuthenticationFailure,
        9019,
        "File transfer failure: file authentication failure",
    ),
    (
        FaultCode::TimeWindowExceeded,
        9020,
        "File transfer failure: unable to complete download within specified time windows",
    ),
    (
        FaultCode::CancelNotPermitted,
        9021,
        "Cancelation of file transfer not permitted in current transfer state",
    ),
];

impl FaultCode {
    /// The spec's number.
    pub fn code(self) -> u32 {
        match self {
            FaultCode::Other(c) => c,
            known => TABLE
                .iter()
                .find(|(f, _, _)| *f == known)
                .map(|(_, c, _)| *c)
                .unwrap_or(9002),
        }
    }

    /// The variant for a number; unnamed numbers become [`FaultCode::Other`].
    pub fn from_code(code: u32) -> FaultCode {
        TABLE
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(f, _, _)| *f)
            .unwrap_or(FaultCode::Other(code))
    }

    /// The spec's short description, used as the `FaultString` (empty for unnamed codes).
    pub fn description(self) -> &'static str {
        let code = self.code();
        TABLE
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(_, _, d)| *d)
            .unwrap_or("")
    }

    /// Whether the SOAP `faultcode` is `Client` (the request was wrong) rather than `Server`.
    ///
    /// TR-069 Annex A.5.1: 8003, 9003, 9005–9008 and 9021 are `Client`; everything else is `Server`.
    pub fn is_client_fault(self) -> bool {
        matches!(self.code(), 8003 | 9003 | 9005..=9008 | 9021)
    }
}

impl fmt::Display for FaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.description();
        if d.is_empty() {
            write!(f, "{}", self.code())
        } else {
            write!(f, "{} {}", self.code(), d)
        }
    }
}

/// A CWMP fault: a code and a human-readable string, as sent to the ACS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The fault code.
    pub code: FaultCode,
    /// The `FaultString`; defaults to the code's description.
    pub message: String,
}

impl Fault {
    /// A fault with the code's standard description.
    pub fn new(code: FaultCode) -> Fault {
        Fault {
            code,
            message: code.description().to_owned(),
        }
    }

    /// A fault with a specific message (which must not contain secrets).
    pub fn with_message(code: FaultCode, message: impl Into<String>) -> Fault {
        Fault {
            code,
            message: message.into(),
        }
    }
}

impl From<FaultCode> for Fault {
    fn from(code: FaultCode) -> Fault {
        Fault::new(code)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.code(), self.message)
    }
}

impl std::error::Error for Fault {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for (f, c, _) in TABLE {
            assert_eq!(f.code(), *c);
            assert_eq!(FaultCode::from_code(*c), *f);
        }
        assert_eq!(FaultCode::from_code(9801), FaultCode::Other(9801));
        assert_eq!(FaultCode::Other(9801).code(), 9801);
    }

    #[test]
    fn client_or_server() {
        assert!(FaultCode::InvalidArguments.is_client_fault());
        assert!(FaultCode::InvalidParameterValue.is_client_fault());
        assert!(!FaultCode::MethodNotSupported.is_client_fault());
        assert!(!FaultCode::NotificationRequestRejected.is_client_fault());
    }
}

//! [`Error`]: the one error enum of `cwmp-connreq` for an embedder to match on.

use crate::digest::DigestParseError;
use crate::http::RequestError;
use crate::stun::StunError;
use crate::udp::UdpRequestError;
use std::fmt;

/// Every failure `cwmp-connreq` reports, one variant per codec (ARCHITECTURE.md invariant 8).
///
/// Each parser returns the typed error of its own format ([`crate::parse_request`] a
/// [`RequestError`], [`crate::parse_authorization`] a [`DigestParseError`],
/// [`crate::decode`] a [`StunError`], [`crate::parse_udp_request`] an [`UdpRequestError`]),
/// because the caller answers each differently ([`RequestError::response`] says which HTTP
/// status, `Incomplete` means "read more"); every kind converts into this enum with `?` and is
/// its [`source()`](std::error::Error::source).
///
/// ```
/// use cwmp_connreq::{parse_request, Error, HttpRequest};
/// fn head(bytes: &[u8]) -> Result<HttpRequest, Error> {
///     Ok(parse_request(bytes)?)
/// }
/// let e = head(b"NOT HTTP\r\n\r\n").unwrap_err();
/// assert!(matches!(e, Error::Request(_)));
/// assert!(std::error::Error::source(&e).is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An HTTP connection-request head did not parse.
    Request(RequestError),
    /// An `Authorization: Digest` header did not parse.
    Digest(DigestParseError),
    /// A STUN message did not decode (or would not encode).
    Stun(StunError),
    /// A UDP connection request did not parse.
    UdpRequest(UdpRequestError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Request(_) => f.write_str("bad connection-request head"),
            Error::Digest(_) => f.write_str("bad Digest header"),
            Error::Stun(_) => f.write_str("bad STUN message"),
            Error::UdpRequest(_) => f.write_str("bad UDP connection request"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(match self {
            Error::Request(e) => e,
            Error::Digest(e) => e,
            Error::Stun(e) => e,
            Error::UdpRequest(e) => e,
        })
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Error {
        Error::Request(e)
    }
}

impl From<DigestParseError> for Error {
    fn from(e: DigestParseError) -> Error {
        Error::Digest(e)
    }
}

impl From<StunError> for Error {
    fn from(e: StunError) -> Error {
        Error::Stun(e)
    }
}

impl From<UdpRequestError> for Error {
    fn from(e: UdpRequestError) -> Error {
        Error::UdpRequest(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn every_kind_converts_and_is_the_source() {
        let cases: [(Error, &str); 4] = [
            (RequestError::TooLarge.into(), "request head larger"),
            (DigestParseError::NotDigest.into(), "not a Digest header"),
            (StunError::TooShort.into(), "shorter than a STUN header"),
            (UdpRequestError::NotGet.into(), "not a GET request"),
        ];
        for (e, inner) in cases {
            let source = e.source().expect("source").to_string();
            assert!(source.starts_with(inner), "{e}: {source}");
        }
    }
}

//! Sans-IO connection-request codecs for a TR-069 CPE (TR-069 §3.2.2, Annex G).
//!
//! Everything here is either a pure function from bytes to typed values or a small state
//! machine with the time passed in (design invariants 1 and 4). No socket, thread, clock or
//! OS randomness: the blocking listeners and the engine's STUN timing are built on top.
//!
//! * HTTP connection requests (TR-069 §3.2.2): [`parse_request`] → [`HttpRequest`];
//!   [`ConnectionRequestServer`] decides the answer (path, method, [`DigestAuth`],
//!   [`RateLimiter`]) and renders it ([`Reply`], [`Response`]).
//! * Digest authentication (RFC 7616 / 2617, MD5, `qop=auth`): [`DigestAuth`] (server),
//!   [`parse_authorization`], and the client side [`parse_challenge`] +
//!   [`authorization_header`] for test ACSs.
//! * STUN (Annex G on RFC 3489, TR-069 Annex G): the codec [`StunMessage`] / [`decode`] with the
//!   TR-111 attributes, [`classify`] to demultiplex the UDP socket, and the binding state
//!   machine [`StunBinding`] (retransmission, keepalive, binding change, NATDetected,
//!   UDPConnectionRequestAddress).
//! * UDP connection requests (TR-069 Annex G): [`parse_udp_request`] and
//!   [`UdpRequestValidator`] (signature, username, replay, freshness; never answered).
//!
//! A blocking HTTP listener, in outline:
//!
//! ```
//! use std::time::Instant;
//! use cwmp_connreq::{parse_request, ConnectionRequestServer, Credentials, RequestError};
//!
//! let mut server = ConnectionRequestServer::new("/cr-1234", "Desk Phone");
//! let creds = Credentials::new("acs", "secret");
//! let mut buffer = b"GET /cr-1234 HTTP/1.1\r\nHost: 10.0.0.2:7547\r\n\r\n".to_vec();
//! // loop { read more into `buffer` (with a timeout) …
//! let reply = match parse_request(&buffer) {
//!     Err(RequestError::Incomplete) => return, // keep reading
//!     Err(e) => server.handle_parse_error(&e).expect("not Incomplete"),
//!     Ok(request) => {
//!         buffer.drain(..request.head_len());
//!         server.handle(Instant::now(), &request, &creds, [7; 16] /* fresh random bytes */)
//!     }
//! };
//! let bytes = reply.to_bytes(); // write them
//! assert!(bytes.starts_with(b"HTTP/1.1 401 "));
//! if reply.accepted() { /* tell the engine: 6 CONNECTION REQUEST */ }
//! if !reply.keep_alive { /* close */ }
//! // }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod binding;
mod challenge;
mod digest;
mod digest_hash;
mod error;
mod http;
mod rate;
mod server;
mod stun;
mod udp;

pub use binding::{
    StunBinding, StunConfig, StunEvent, Transmit, DEFAULT_KEEPALIVE, KEEPALIVE_FLOOR, MAX_SENDS,
    RETRANSMIT_INITIAL, RETRANSMIT_MAX, RETRY_BACKOFF_INITIAL, RETRY_BACKOFF_MAX,
};
pub use challenge::{parse_challenge, parse_challenges, Challenge, DigestChallenge};
pub use digest::{
    authorization_header, parse_authorization, DigestAuth, DigestCredentials, DigestParseError,
    Refusal, Verdict, DEFAULT_NONCE_CAPACITY, DEFAULT_NONCE_LIFETIME, MAX_AUTH_HEADER_LEN,
    MAX_AUTH_PARAMS,
};
pub use digest_hash::{digest_response, DigestAlgorithm, DigestInput, DigestQop};
pub use error::Error;
pub use http::{
    parse_request, response_bytes, HttpRequest, RequestError, Response, MAX_HEADERS, MAX_HEAD_SIZE,
};
pub use rate::{RateLimiter, DEFAULT_BURST, DEFAULT_REFILL};
pub use server::{ConnectionRequestServer, Credentials, Outcome, Reply};
pub use stun::{
    attr, classify, decode, Attribute, DatagramKind, DecodedStun, IntegrityCheck, MessageType,
    StunError, StunFormat, StunMessage, TransactionId, CONNECTION_REQUEST_BINDING_VALUE,
    HEADER_LEN, MAGIC_COOKIE, MAX_ATTRIBUTES,
};
pub use udp::{
    build_udp_request, parse_udp_request, udp_signature, UdpConnRequest, UdpRawFields,
    UdpRejection, UdpRequestError, UdpRequestValidator, UdpVerdict, DEFAULT_MAX_CLOCK_SKEW,
    MAX_FIELD_LEN, MAX_QUERY_PAIRS, MAX_UDP_REQUEST_SIZE, RECENT_IDS,
};

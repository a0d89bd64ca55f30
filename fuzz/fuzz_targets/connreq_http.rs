//! Fuzz target for the HTTP connection-request parsers (design invariant 4): the request-head
//! parser, the Digest `Authorization` and `WWW-Authenticate` parsers and the whole verifier
//! never panic; a parsed head's `head_len` never exceeds the input.
//!
//! Run: `cargo +nightly fuzz run connreq_http fuzz/corpus/connreq_http` from the repository
//! root.
#![no_main]

use std::time::{Duration, Instant};

use cwmp_connreq::{
    parse_authorization, parse_challenge, parse_request, ConnectionRequestServer, Credentials,
    DigestAuth,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_authorization(text);
        let _ = parse_challenge(text);
        let mut auth = DigestAuth::new("realm", Duration::from_secs(60));
        let now = Instant::now();
        let _ = auth.challenge(now, [0; 16]);
        let _ = auth.verify(now, "GET", "/cr", Some(text), "user", "pw");
    }
    if let Ok(req) = parse_request(data) {
        assert!(req.head_len() <= data.len());
        let _ = req.path();
        let _ = req.keep_alive();
        let mut server = ConnectionRequestServer::new("/cr", "realm");
        let creds = Credentials::new("user", "pw");
        let reply = server.handle(Instant::now(), &req, &creds, [1; 16]);
        let bytes = reply.to_bytes();
        assert!(bytes.starts_with(b"HTTP/1.1 "));
    }
});

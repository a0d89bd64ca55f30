//! Fuzz target for the session's handling of what the ACS answers a POST with
//! (`cwmp_client::http1::SessionHttp`: the ureq-proto response parser, bodies by length,
//! chunks or close, 401 challenges answered as a driver would), in pieces of any size. Never
//! a panic; a response body stays within the configured limit.
//!
//! Run: `cargo +nightly fuzz run http_response` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cwmp_client::http1::fuzz_responses(data);
});

//! Fuzz target: `cpe_agent::fuzzing::cloud_document` (the invariants live there, shared with the
//! ordinary test that replays `fuzz/corpus/cloud_document`).
//!
//! Run: `cargo +nightly fuzz run cloud_document fuzz/corpus/cloud_document` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::cloud_document(data);
});

//! Fuzz target: `cpe_agent::fuzzing::ssdp_msearch` (SSDP M-SEARCH datagrams; the invariants live there, shared
//! with the ordinary test that replays `fuzz/corpus/ssdp_msearch`).
//!
//! Run: `cargo +nightly fuzz run ssdp_msearch fuzz/corpus/ssdp_msearch` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::ssdp_msearch(data);
});

//! Fuzz target: `cpe_agent::fuzzing::vendor_config` (the invariants live there, shared with the
//! ordinary test that replays `fuzz/corpus/vendor_config`).
//!
//! Run: `cargo +nightly fuzz run vendor_config fuzz/corpus/vendor_config` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::vendor_config(data);
});

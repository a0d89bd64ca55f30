//! Fuzz target: `cpe_agent::fuzzing::provisioning_file` (the invariants live there, shared
//! with the ordinary test that replays `fuzz/corpus/provisioning_file`).
//!
//! Run: `cargo +nightly fuzz run provisioning_file fuzz/corpus/provisioning_file` from the
//! repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::provisioning_file(data);
});

//! Fuzz target: `cpe_agent::fuzzing::firmware_image` (the invariants live there, shared with the
//! ordinary test that replays `fuzz/corpus/firmware_image`).
//!
//! Run: `cargo +nightly fuzz run firmware_image fuzz/corpus/firmware_image` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::firmware_image(data);
});

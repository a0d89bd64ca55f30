//! Fuzz target: `cpe_agent::fuzzing::tftp_packet` (the invariants live there, shared with the
//! ordinary test that replays `fuzz/corpus/tftp_packet`).
//!
//! Run: `cargo +nightly fuzz run tftp_packet fuzz/corpus/tftp_packet` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::tftp_packet(data);
});

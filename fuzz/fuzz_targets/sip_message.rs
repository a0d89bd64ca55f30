//! Fuzz target: `cpe_agent::fuzzing::sip_message` (the invariants live there, shared with the
//! ordinary test that replays `fuzz/corpus/sip_message`).
//!
//! Run: `cargo +nightly fuzz run sip_message fuzz/corpus/sip_message` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::sip_message(data);
});

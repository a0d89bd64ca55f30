//! Fuzz target: `cpe_agent::fuzzing::fleet_body_method` (the fleet's scan of ACS bodies for the
//! RPC name; the invariants live there, shared with the ordinary test that replays
//! `fuzz/corpus/fleet_body_method`).
//!
//! Run: `cargo +nightly fuzz run fleet_body_method fuzz/corpus/fleet_body_method` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::fleet_body_method(data);
});

//! Fuzz target: `cpe_agent::fuzzing::dhcp_option43` (the invariants live there, shared with the
//! ordinary test that replays `fuzz/corpus/dhcp_option43`).
//!
//! Run: `cargo +nightly fuzz run dhcp_option43 fuzz/corpus/dhcp_option43` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::dhcp_option43(data);
});

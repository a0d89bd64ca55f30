//! Fuzz target: `cpe_agent::fuzzing::tr064_soap` (TR-064 request heads and SOAP action calls; the invariants live there, shared
//! with the ordinary test that replays `fuzz/corpus/tr064_soap`).
//!
//! Run: `cargo +nightly fuzz run tr064_soap fuzz/corpus/tr064_soap` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::tr064_soap(data);
});

//! Fuzz target: `cpe_agent::fuzzing::web_form` (the web-based management's form bodies and
//! `Cookie` headers; the invariants live there, shared with the ordinary test that replays
//! `fuzz/corpus/web_form`).
//!
//! Run: `cargo +nightly fuzz run web_form fuzz/corpus/web_form` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cpe_agent::fuzzing::web_form(data);
});

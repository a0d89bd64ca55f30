//! Fuzz target for the CWMP SOAP parser (design invariant 4): any input either parses or
//! is refused with a typed error, never a panic; whatever parses can be written, and the
//! written form is a fixed point (parse → write → parse → write gives the same bytes).
//!
//! Run: `cargo +nightly fuzz run soap_parse fuzz/corpus/soap_parse` from the repository root.
#![no_main]

use cwmp_soap::{parse, to_vec, Body, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(env) = parse(data, &limits) else {
        return;
    };
    if matches!(env.body, Body::Unknown { .. }) {
        return;
    }
    let first = to_vec(&env).expect("a parsed envelope can be written");
    let again = parse(&first, &limits).expect("a written envelope parses");
    let second = to_vec(&again).expect("write again");
    assert_eq!(first, second, "the written form is not a fixed point");
});

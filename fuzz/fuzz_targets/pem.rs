//! Fuzz target for the one PEM parser (`cwmp_model::pem`): any text parses or is refused with
//! an error, never a panic; strict parsing accepts nothing lax parsing refuses, and an error
//! message never quotes the body (a key is a secret).
//!
//! Run: `cargo +nightly fuzz run pem` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lax = cwmp_model::pem::parse(text);
    match cwmp_model::pem::parse_strict(text) {
        Ok(strict) => assert_eq!(lax.as_ref().ok(), Some(&strict)),
        Err(e) => assert!(e.to_string().len() < 200),
    }
    if let Ok(blocks) = lax {
        assert!(blocks.len() <= cwmp_model::pem::MAX_BLOCKS);
    }
});

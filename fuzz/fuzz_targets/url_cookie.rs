//! Fuzz target for the one URL parser (`cwmp_model::Url`: ACS URL, redirect `Location`, file
//! and provisioning URLs) and the engine's session cookie jar (`Set-Cookie` from the ACS).
//! Any text parses or is refused, never a panic; a parsed URL re-parses from its own
//! serialization to the same URL; `Display` masks a password; joining any reference
//! gives a URL or an error.
//!
//! Run: `cargo +nightly fuzz run url_cookie` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    cwmp_engine::fuzzing::cookie_jar(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('\n').unwrap_or((text, "/"));
    if let Ok(u) = cwmp_model::Url::parse(a) {
        let again = cwmp_model::Url::parse(&u.serialize()).expect("own serialization parses");
        assert_eq!(again, u);
        if u.password().is_some() {
            assert!(u.to_string().contains(":***@"), "Display masks the password");
        }
        let _ = u.join(b);
    }
});

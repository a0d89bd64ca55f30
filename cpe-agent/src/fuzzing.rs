//! Entry points for the daemon's fuzz targets (design invariant 4: every parser of untrusted
//! input has one). Each function feeds arbitrary bytes to a parser and checks its invariants
//! with assertions; the cargo-fuzz targets in `fuzz/fuzz_targets/` call them, and an ordinary
//! test replays the checked-in seed corpora through the same functions, so CI exercises them
//! without nightly.

use crate::{dhcp, firmware, vendor_config};

/// The model name the firmware target checks images against.
pub const FUZZ_MODEL: &str = "OpenScape Desk Phone CP600";

/// The key the vendor-configuration target decrypts with.
pub const FUZZ_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// DHCP option 43 payloads (raw and as hex text): anything parses or is refused, and what
/// parses survives encoding again unchanged.
pub fn dhcp_option43(data: &[u8]) {
    if let Ok(o) = dhcp::parse(data) {
        let again = dhcp::parse(&dhcp::encode(&o));
        assert_eq!(again.as_ref(), Ok(&o), "re-encoded option 43 differs");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dhcp::parse_hex(text);
    }
}

/// Firmware images: the header parser never panics, and verifying in small chunks gives the
/// same verdict as verifying in one piece.
pub fn firmware_image(data: &[u8]) {
    let _ = firmware::parse_header(data);
    let verify = |chunk: usize| {
        let mut v = firmware::ImageVerifier::new(FUZZ_MODEL);
        for c in data.chunks(chunk.max(1)) {
            v.update(c)?;
        }
        v.finish()
    };
    let chunk = data.first().map_or(1, |b| usize::from(*b) % 7 + 1);
    assert_eq!(
        verify(data.len().max(1)),
        verify(chunk),
        "chunking changed the verdict"
    );
}

/// Vendor configuration files, plain and encrypted: reading never panics, and a file that
/// reads in plain text reads identically after encryption with the phone's key.
pub fn vendor_config(data: &[u8]) {
    let _ = vendor_config::read(data, Some(FUZZ_KEY));
    if let Ok(plain) = vendor_config::read(data, None) {
        let encrypted = vendor_config::encrypt(data, FUZZ_KEY, [0x5a; 16]).expect("valid key");
        assert_eq!(vendor_config::read(&encrypted, Some(FUZZ_KEY)), Ok(plain));
    }
}

/// Cloud Deployment documents: checking never panics; an accepted document sets
/// `acs-server-address` and only allowed items; the verdict does not depend on the clock for
/// a document without certificates.
pub fn cloud_document(data: &[u8]) {
    let now = 1_767_225_600; // 2026-01-01
    if let Ok(items) = crate::cloud::parse_document(data, now) {
        assert!(items
            .iter()
            .all(|(k, _)| crate::cloud::ALLOWED_ITEMS.contains(&k.as_str())));
        assert!(items
            .iter()
            .any(|(k, v)| k == "acs-server-address" && !v.trim().is_empty()));
        if !items.iter().any(|(k, _)| k.contains("certificate")) {
            assert!(crate::cloud::parse_document(data, 0).is_ok());
        }
    }
}

//! Fuzz target for the STUN codec (design invariant 4): any datagram decodes or is refused
//! with a typed error, never a panic; whatever decodes re-encodes, and the re-encoded message
//! decodes to the same message; MESSAGE-INTEGRITY checks never panic; the binding state
//! machine swallows any datagram.
//!
//! Run: `cargo +nightly fuzz run stun_decode fuzz/corpus/stun_decode` from the repository root.
#![no_main]

use std::time::Instant;

use cwmp_connreq::{classify, decode, StunBinding, StunConfig, StunFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = classify(data);
    if let Ok(d) = decode(data) {
        let _ = d.verify_integrity(b"key");
        let _ = d.message.mapped_address();
        for format in [StunFormat::Classic, StunFormat::Rfc5389Compatible] {
            if let Ok(bytes) = d.message.encode(format, None) {
                let again = decode(&bytes).expect("an encoded message decodes");
                // Classic padding may add trailing NULs to raw values; compare what survives.
                assert_eq!(again.message.message_type, d.message.message_type);
                assert_eq!(again.message.transaction_id, d.message.transaction_id);
                assert_eq!(again.message.attributes.len(), d.message.attributes.len());
                assert_eq!(again.message.mapped_address(), d.message.mapped_address());
            }
        }
    }
    let server = "127.0.0.1:3478".parse().unwrap();
    let local = "127.0.0.1:7547".parse().unwrap();
    let now = Instant::now();
    let mut binding = StunBinding::new(StunConfig::new(server, local), [0; 32], now);
    while binding.poll_transmit().is_some() {}
    let _ = binding.handle_datagram(now, server, data);
    while binding.poll_event().is_some() {}
});

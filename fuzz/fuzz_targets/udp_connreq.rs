//! Fuzz target for the UDP connection-request parser and validator (design invariant 4): any
//! datagram parses or is refused with a typed error, never a panic, and the validator never
//! accepts a datagram whose signature it did not check.
//!
//! Run: `cargo +nightly fuzz run udp_connreq fuzz/corpus/udp_connreq` from the repository root.
#![no_main]

use cwmp_connreq::{parse_udp_request, udp_signature, UdpRequestValidator, UdpVerdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_udp_request(data);
    let mut v = UdpRequestValidator::new();
    let verdict = v.handle_datagram(Some(1_700_000_000), data, "user", "pw");
    if let UdpVerdict::Accepted(req) = verdict {
        let req2 = parsed.expect("accepted implies parsed");
        assert_eq!(req, req2);
        let raw = udp_signature("pw", &req.raw.ts, &req.raw.id, &req.raw.un, &req.raw.cn);
        let dec = udp_signature("pw", &req.ts.to_string(), &req.id, &req.un, &req.cn);
        let sig = req.sig.to_ascii_lowercase();
        assert!(
            sig == raw || sig == dec,
            "accepted without a valid signature"
        );
    }
});

//! Property tests: the challenge parser and the session's response handling
//! ([`crate::http1`]) never panic, whatever the bytes; a response arrives the same in any
//! pieces. (Cookies and URLs
//! are parsed by the engine and `cwmp-model`, and property-tested there.)

use crate::auth::{choose, parse_challenges};
use proptest::prelude::*;

proptest! {
    #[test]
    fn challenge_parsing_never_panics(s in "\\PC{0,400}", t in "[ -~]{0,400}") {
        let _ = choose(&parse_challenges([s.as_str(), t.as_str()]));
        let prefixed = format!("Digest {s}");
        let _ = choose(&parse_challenges([prefixed.as_str()]));
    }
}

proptest! {
    #[test]
    fn responses_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = crate::http1::fuzz_responses(&data);
    }

    #[test]
    fn a_response_reads_the_same_in_any_pieces(
        step in 0u8..255,
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        chunked in any::<bool>(),
    ) {
        let mut wire = vec![step];
        if chunked {
            wire.extend_from_slice(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            for c in body.chunks(700) {
                wire.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                wire.extend_from_slice(c);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
        } else {
            wire.extend_from_slice(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
            );
            wire.extend_from_slice(&body);
        }
        let r = crate::http1::fuzz_responses(&wire).expect("a response");
        prop_assert_eq!(r.status, 200);
        prop_assert_eq!(r.body, body);
    }
}

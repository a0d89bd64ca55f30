//! Property tests: the challenge parser never panics, whatever the bytes. (Cookies and URLs
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

//! Property tests: the parsers of network input (challenges, cookies, URLs and `Location`)
//! never panic, whatever the bytes.

use crate::auth::{choose, parse_challenges};
use crate::cookies::CookieJar;
use crate::transport::ParsedUrl;
use proptest::prelude::*;

proptest! {
    #[test]
    fn challenge_parsing_never_panics(s in "\\PC{0,400}", t in "[ -~]{0,400}") {
        let _ = choose(&parse_challenges([s.as_str(), t.as_str()]));
        let prefixed = format!("Digest {s}");
        let _ = choose(&parse_challenges([prefixed.as_str()]));
    }

    #[test]
    fn cookie_parsing_never_panics(values in proptest::collection::vec("\\PC{0,200}", 0..20)) {
        let mut jar = CookieJar::default();
        for v in &values {
            jar.store(v);
        }
        let _ = jar.header(true);
    }

    #[test]
    fn url_and_location_never_panic(url in "\\PC{0,120}", loc in "\\PC{0,120}") {
        if let Ok(u) = ParsedUrl::parse(&url) {
            let _ = u.resolve(&loc);
        }
        let base = ParsedUrl::parse("http://acs.example:7547/cwmp/x").expect("valid");
        let _ = base.resolve(&loc);
    }
}

//! HTTP authentication of the CPE to the ACS: Basic and Digest (TR-069 §3.4 "Authentication",
//! "Digest details"; RFC 7235, RFC 7617, RFC 7616 and RFC 2617).
//!
//! The Digest computation is written here rather than taken from a crate: the one candidate
//! (`digest_auth`) draws its cnonce from its own thread RNG and pulls a second `rand` major
//! version, while CWMP needs the cnonce from the driver's seeded RNG (design invariant 1) and
//! a fresh one per TCP connection. The code is checked against the RFC 2617 §3.5 and
//! RFC 7616 §3.9.1 example vectors.
//!
//! ```text
//!            no credentials sent
//!   request ─────────────────────► 401 + challenge ──► answer it once (same connection)
//!      │                                                      │
//!      │ credentials sent                                     ▼
//!      └──────────────────────────► 401 ─────────────► failed session
//!                                   (except Digest `stale=true`, or a nonce that belonged
//!                                    to a connection that has since been replaced)
//! ```

use base64::Engine as _;

/// The user name and password the CPE presents to the ACS (`ManagementServer.Username` and
/// `ManagementServer.Password`) and to file servers: the project's one credentials type,
/// whose password is a [`cwmp_model::Secret`].
pub use cwmp_connreq::Credentials;

/// The `WWW-Authenticate` parser and the Digest challenge type are `cwmp-connreq`'s (one of
/// each in the project).
pub(crate) use cwmp_connreq::{parse_challenges, Challenge, DigestChallenge};

/// The hash algorithm and quality of protection of a Digest response come from `cwmp-connreq`,
/// which also computes the response for every Digest user in the project (one formula).
pub(crate) use cwmp_connreq::DigestAlgorithm;

/// Preference when the server offers several Digest challenges: the stronger first.
fn rank(alg: DigestAlgorithm) -> u8 {
    match alg {
        DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => 2,
        _ => 1,
    }
}

/// What to answer a 401 with, chosen from its challenges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chosen {
    /// Answer with Digest (preferred whenever offered with a supported algorithm).
    Digest(DigestChallenge),
    /// Answer with Basic.
    Basic,
}

/// Pick the challenge to answer. Digest is preferred to Basic whenever both are offered,
/// because Basic sends the password in clear text; among Digest challenges the strongest
/// supported algorithm wins.
pub(crate) fn choose(challenges: &[Challenge]) -> Option<Chosen> {
    let best_digest = challenges
        .iter()
        .filter_map(DigestChallenge::from_challenge)
        .max_by_key(|d| rank(d.algorithm));
    if let Some(d) = best_digest {
        return Some(Chosen::Digest(d));
    }
    if challenges.iter().any(|c| c.scheme == "basic") {
        return Some(Chosen::Basic);
    }
    None
}

/// The `Authorization` value for Basic (RFC 7617).
pub(crate) fn basic_authorization(creds: &Credentials) -> String {
    let raw = format!("{}:{}", creds.username, creds.password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
    )
}

/// The parts of one request a Digest response covers.
pub(crate) struct DigestRequest<'a> {
    pub method: &'a str,
    /// The request-target (path and query) exactly as sent on the request line.
    pub uri: &'a str,
    /// The entity body (only hashed with `qop=auth-int`).
    pub body: &'a [u8],
    /// The client nonce.
    pub cnonce: &'a str,
    /// The nonce count (1 for the first request with this nonce).
    pub nc: u32,
}

/// The `Authorization` value for Digest (RFC 7616 §3.4, RFC 2617 §3.2.2).
pub(crate) fn digest_authorization(
    creds: &Credentials,
    ch: &DigestChallenge,
    req: &DigestRequest<'_>,
) -> String {
    let alg = ch.algorithm;
    let nc = format!("{:08x}", req.nc);
    let qop_name = ch.qop.name();
    let response = cwmp_connreq::digest_response(&cwmp_connreq::DigestInput {
        algorithm: alg,
        username: &creds.username,
        realm: &ch.realm,
        password: creds.password.expose(),
        nonce: &ch.nonce,
        cnonce: req.cnonce,
        nc: &nc,
        qop: ch.qop,
        method: req.method,
        uri: req.uri,
        body: req.body,
    });
    let mut h = format!(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm={}",
        quote_escape(&creds.username),
        quote_escape(&ch.realm),
        quote_escape(&ch.nonce),
        quote_escape(req.uri),
        alg.name()
    );
    if let Some(q) = qop_name {
        h.push_str(&format!(
            ", qop={q}, nc={nc}, cnonce=\"{}\"",
            quote_escape(req.cnonce)
        ));
    }
    h.push_str(&format!(", response=\"{response}\""));
    if let Some(o) = &ch.opaque {
        h.push_str(&format!(", opaque=\"{}\"", quote_escape(o)));
    }
    h
}

fn quote_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        // Control characters would break the header line; they cannot be sent.
        if !c.is_control() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(h: &'a str, name: &str) -> &'a str {
        let key = format!("{name}=");
        let start = h.find(&key).expect("field present") + key.len();
        let rest = &h[start..];
        let rest = rest.strip_prefix('"').unwrap_or(rest);
        let end = rest.find(['"', ',']).unwrap_or(rest.len());
        &rest[..end]
    }

    #[test]
    fn rfc2617_example_vector() {
        // RFC 2617 §3.5.
        let ch = parse_challenges([
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        ]);
        let Some(Chosen::Digest(d)) = choose(&ch) else {
            panic!("digest expected")
        };
        assert_eq!(d.qop, cwmp_connreq::DigestQop::Auth);
        let creds = Credentials::new("Mufasa", "Circle Of Life");
        let h = digest_authorization(
            &creds,
            &d,
            &DigestRequest {
                method: "GET",
                uri: "/dir/index.html",
                body: b"",
                cnonce: "0a4f113b",
                nc: 1,
            },
        );
        assert_eq!(field(&h, "response"), "6629fae49393a05397450978507c4ef1");
        assert_eq!(field(&h, "opaque"), "5ccc069c403ebaf9f0171e9517f40e41");
        assert_eq!(field(&h, "nc"), "00000001");
    }

    #[test]
    fn rfc7616_example_vectors_md5_and_sha256() {
        // RFC 7616 §3.9.1: the server offers SHA-256 and MD5 in two challenges.
        let ch = parse_challenges([
            "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
            "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
        ]);
        assert_eq!(ch.len(), 2);
        let creds = Credentials::new("Mufasa", "Circle of Life");
        let req = DigestRequest {
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            nc: 1,
        };
        let Some(Chosen::Digest(best)) = choose(&ch) else {
            panic!("digest expected")
        };
        assert_eq!(best.algorithm, DigestAlgorithm::Sha256);
        let h = digest_authorization(&creds, &best, &req);
        assert_eq!(
            field(&h, "response"),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let md5 = DigestChallenge::from_challenge(&ch[1]).expect("md5 challenge");
        let h = digest_authorization(&creds, &md5, &req);
        assert_eq!(field(&h, "response"), "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn md5_sess_vector() {
        // Computed independently (Python hashlib) from the RFC 2617 example inputs:
        // HA1 = MD5(MD5("Mufasa:testrealm@host.com:Circle Of Life") ":" nonce ":" cnonce).
        let ch = parse_challenges([
            "Digest realm=\"testrealm@host.com\",qop=\"auth\",algorithm=MD5-sess,\
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
        ]);
        let Some(Chosen::Digest(d)) = choose(&ch) else {
            panic!("digest expected")
        };
        assert_eq!(d.algorithm, DigestAlgorithm::Md5Sess);
        let h = digest_authorization(
            &Credentials::new("Mufasa", "Circle Of Life"),
            &d,
            &DigestRequest {
                method: "GET",
                uri: "/dir/index.html",
                body: b"",
                cnonce: "0a4f113b",
                nc: 1,
            },
        );
        assert!(h.contains("algorithm=MD5-sess"));
        assert_eq!(field(&h, "response"), MD5_SESS_EXPECTED);
    }

    /// See `md5_sess_vector`.
    const MD5_SESS_EXPECTED: &str = "8e3825c57e897f5a0dec6c2d4e5059d0";

    #[test]
    fn genieacs_challenge_without_spaces() {
        // 146-Unauthorized-digest-challenge.http
        let ch = parse_challenges([
            "Digest realm=\"GenieACS\",qop=\"auth,auth-int\",nonce=\"9e336408f4c3bb351a1c33450d2ea1a3\"",
        ]);
        let Some(Chosen::Digest(d)) = choose(&ch) else {
            panic!("digest expected")
        };
        assert_eq!(d.realm, "GenieACS");
        assert_eq!(d.nonce, "9e336408f4c3bb351a1c33450d2ea1a3");
        assert_eq!(d.qop, cwmp_connreq::DigestQop::Auth);
        assert_eq!(d.algorithm, DigestAlgorithm::Md5);
        assert!(!d.stale);
    }

    #[test]
    fn genieacs_captured_digest_response() {
        // 147-…-digest-auth-cpe-request.http: GenieACS accepted this response, computed by
        // python-requests for user 001AE8-001AE8A1B2C3, password acs-secret.
        let ch = parse_challenges([
            "Digest realm=\"GenieACS\",qop=\"auth,auth-int\",nonce=\"9e336408f4c3bb351a1c33450d2ea1a3\"",
        ]);
        let Some(Chosen::Digest(d)) = choose(&ch) else {
            panic!("digest expected")
        };
        let h = digest_authorization(
            &Credentials::new("001AE8-001AE8A1B2C3", "acs-secret"),
            &d,
            &DigestRequest {
                method: "POST",
                uri: "/",
                body: b"",
                cnonce: "9dc69a3872a549ea",
                nc: 1,
            },
        );
        assert_eq!(field(&h, "response"), "9d7b61617536f767e04e36ffe643a350");
    }

    #[test]
    fn basic_and_mixed_challenges() {
        let ch = parse_challenges(["Basic realm=\"acs\", Digest realm=\"x\", nonce=\"n1\""]);
        assert_eq!(ch.len(), 2);
        assert_eq!(ch[0].scheme, "basic");
        assert!(matches!(choose(&ch), Some(Chosen::Digest(_))));
        let ch = parse_challenges(["Basic realm=\"acs\""]);
        assert_eq!(choose(&ch), Some(Chosen::Basic));
        let ch = parse_challenges(["Negotiate abc==, Basic realm=\"r\""]);
        assert_eq!(choose(&ch), Some(Chosen::Basic));
        let ch = parse_challenges(["Bearer"]);
        assert_eq!(choose(&ch), None);
        // An unsupported algorithm is not answerable.
        let ch = parse_challenges(["Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512-256"]);
        assert_eq!(choose(&ch), None);
        // Quoted strings with escapes and commas.
        let ch = parse_challenges([r#"Digest realm="a\"b,c", nonce="n", stale=TRUE"#]);
        let Some(Chosen::Digest(d)) = choose(&ch) else {
            panic!("digest expected")
        };
        assert_eq!(d.realm, "a\"b,c");
        assert!(d.stale);
        assert_eq!(
            basic_authorization(&Credentials::new("001AE8-001AE8A1B2C3", "acs-secret")),
            "Basic MDAxQUU4LTAwMUFFOEExQjJDMzphY3Mtc2VjcmV0"
        );
    }

    #[test]
    fn hostile_headers_do_not_panic() {
        for h in [
            "",
            ",",
            "=",
            "Digest",
            "Digest =",
            "Digest a=\"",
            "Digest a=\"\\",
            "\u{e9}\u{e9}=",
            "Digest realm=\"x\" nonce",
            "  ,, Basic,,, Digest nonce=,",
        ] {
            let _ = choose(&parse_challenges([h]));
        }
        // A cut in the middle of a multi-byte character.
        let long = "Digest a=".to_string() + &"\u{e9}".repeat(5_000);
        let _ = parse_challenges([long.as_str()]);
        let long = "Digest ".to_string() + &"a=b,".repeat(10_000);
        let ch = parse_challenges([long.as_str()]);
        assert!(ch[0].params.len() <= 32);
    }

    #[test]
    fn debug_redacts_password() {
        let s = format!("{:?}", Credentials::new("u", "hunter2"));
        assert!(!s.contains("hunter2"));
    }
}

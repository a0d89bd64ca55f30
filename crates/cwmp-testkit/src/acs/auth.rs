//! Server-side HTTP authentication of the fake ACS, modelled on GenieACS 1.2.16: a Digest
//! challenge `Digest realm="GenieACS",qop="auth,auth-int",nonce="<32 hex>"` whose nonce is
//! bound to the TCP connection, wrong credentials answered by a 401 without a challenge and
//! with `Connection: close`, and an authenticated connection needing no further credentials.

use base64::Engine as _;

/// How the fake ACS authenticates the CPE.
#[derive(Clone, PartialEq, Eq)]
pub enum AcsAuth {
    /// No authentication.
    None,
    /// HTTP Basic.
    Basic {
        /// Expected user name.
        username: String,
        /// Expected password.
        password: String,
    },
    /// HTTP Digest (MD5 or MD5-sess, qop `auth`), GenieACS style.
    Digest {
        /// Expected user name.
        username: String,
        /// Expected password.
        password: String,
        /// The `algorithm` parameter to put in the challenge (`None`: omitted, as GenieACS).
        algorithm: Option<String>,
    },
}

impl std::fmt::Debug for AcsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AcsAuth::None => write!(f, "None"),
            AcsAuth::Basic { username, .. } => write!(f, "Basic({username})"),
            AcsAuth::Digest { username, .. } => write!(f, "Digest({username})"),
        }
    }
}

/// The verdict on one request's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Let the request through.
    Ok,
    /// No credentials: answer 401 with this `WWW-Authenticate` value.
    Challenge(String),
    /// Wrong credentials: 401 without a challenge, `Connection: close`.
    Rejected,
}

/// The realm of every challenge, as GenieACS.
pub(crate) const REALM: &str = "GenieACS";

/// Check one request. `nonce` is the connection's nonce (created on first use), `authed` the
/// connection's authenticated flag.
pub(crate) fn check(
    auth: &AcsAuth,
    method: &str,
    authorization: Option<&str>,
    nonce: &mut Option<String>,
    authed: &mut bool,
) -> Verdict {
    match auth {
        AcsAuth::None => Verdict::Ok,
        AcsAuth::Basic { username, password } => match authorization {
            None if *authed => Verdict::Ok,
            None => Verdict::Challenge(format!("Basic realm=\"{REALM}\"")),
            Some(a) => check_basic(a, username, password, authed),
        },
        AcsAuth::Digest {
            username,
            password,
            algorithm,
        } => {
            let n = nonce
                .get_or_insert_with(|| hex::encode(rand::random::<[u8; 16]>()))
                .clone();
            match authorization {
                None if *authed => Verdict::Ok,
                None => {
                    let alg = algorithm
                        .as_ref()
                        .map(|a| format!(",algorithm={a}"))
                        .unwrap_or_default();
                    Verdict::Challenge(format!(
                        "Digest realm=\"{REALM}\",qop=\"auth,auth-int\",nonce=\"{n}\"{alg}"
                    ))
                }
                // GenieACS accepts pre-emptive Basic with the right credentials even when its
                // challenge offers Digest (captured envelopes, 151).
                Some(a) if a.trim_start().starts_with("Basic ") => {
                    check_basic(a, username, password, authed)
                }
                Some(a) => {
                    if verify_digest(a, method, username, password, &n) {
                        *authed = true;
                        Verdict::Ok
                    } else {
                        Verdict::Rejected
                    }
                }
            }
        }
    }
}

/// Verify a Digest `Authorization` value against the connection's nonce, with the project's
/// one Digest parser and response formula (`cwmp-connreq`). MD5 and MD5-sess, `qop=auth` or
/// none, like GenieACS.
fn verify_digest(header: &str, method: &str, user: &str, pass: &str, nonce: &str) -> bool {
    use cwmp_connreq::{digest_response, DigestAlgorithm, DigestInput, DigestQop};
    let Ok(c) = cwmp_connreq::parse_authorization(header) else {
        return false;
    };
    if c.username != user || c.realm != REALM || c.nonce != nonce {
        return false;
    }
    let algorithm = match DigestAlgorithm::parse(c.algorithm.as_deref()) {
        Some(a @ (DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess)) => a,
        _ => return false,
    };
    let qop = match c.qop.as_deref() {
        Some("auth") => DigestQop::Auth,
        None => DigestQop::None,
        Some(_) => return false,
    };
    let expected = digest_response(&DigestInput {
        algorithm,
        username: user,
        realm: REALM,
        password: pass,
        nonce,
        cnonce: c.cnonce.as_deref().unwrap_or(""),
        nc: c.nc_text.as_deref().unwrap_or(""),
        qop,
        method,
        uri: &c.uri,
        body: b"",
    });
    expected == c.response.expose().to_ascii_lowercase()
}

/// A Basic `Authorization` value against the configured credentials (the session is
/// authenticated from then on when it matches).
fn check_basic(authorization: &str, username: &str, password: &str, authed: &mut bool) -> Verdict {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
    );
    if authorization.trim() == expected {
        *authed = true;
        Verdict::Ok
    } else {
        Verdict::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_genieacs_capture() {
        // 146/147 of the GenieACS capture: the nonce GenieACS issued and the answer it took.
        let auth = AcsAuth::Digest {
            username: "001AE8-001AE8A1B2C3".into(),
            password: "acs-secret".into(),
            algorithm: None,
        };
        let mut nonce = Some("9e336408f4c3bb351a1c33450d2ea1a3".to_string());
        let mut authed = false;
        let header = "Digest username=\"001AE8-001AE8A1B2C3\", realm=\"GenieACS\", nonce=\"9e336408f4c3bb351a1c33450d2ea1a3\", uri=\"/\", response=\"9d7b61617536f767e04e36ffe643a350\", qop=\"auth\", nc=00000001, cnonce=\"9dc69a3872a549ea\"";
        assert_eq!(
            check(&auth, "POST", Some(header), &mut nonce, &mut authed),
            Verdict::Ok
        );
        assert!(authed);
        // Another connection has another nonce: the same answer is refused there.
        let mut other = Some("00000000000000000000000000000000".to_string());
        let mut authed2 = false;
        assert_eq!(
            check(&auth, "POST", Some(header), &mut other, &mut authed2),
            Verdict::Rejected
        );
    }

    #[test]
    fn challenge_shape_and_basic() {
        let auth = AcsAuth::Digest {
            username: "u".into(),
            password: "p".into(),
            algorithm: None,
        };
        let (mut nonce, mut authed) = (None, false);
        let Verdict::Challenge(c) = check(&auth, "POST", None, &mut nonce, &mut authed) else {
            panic!("challenge expected")
        };
        let n = nonce.expect("nonce made");
        assert_eq!(n.len(), 32);
        assert_eq!(
            c,
            format!("Digest realm=\"GenieACS\",qop=\"auth,auth-int\",nonce=\"{n}\"")
        );
        let basic = AcsAuth::Basic {
            username: "u".into(),
            password: "p".into(),
        };
        let (mut nonce, mut authed) = (None, false);
        assert_eq!(
            check(&basic, "POST", Some("Basic dTpw"), &mut nonce, &mut authed),
            Verdict::Ok
        );
        assert_eq!(
            check(&basic, "POST", None, &mut nonce, &mut authed),
            Verdict::Ok,
            "connection stays authenticated"
        );
        let mut fresh = false;
        assert_eq!(
            check(&basic, "POST", Some("Basic eDp5"), &mut nonce, &mut fresh),
            Verdict::Rejected
        );
    }
}

//! TR-064 authentication (seed 003 §4.1): HTTP Digest (MD5, `qop=auth`) through the one Digest
//! implementation in `cwmp-connreq`, and content-level authentication (SOAPAUTH01:
//! `InitChallenge` → `Challenge`, `ClientAuth` → `NextChallenge`).
//!
//! Decisions where the documents are silent:
//! * **Content-level nonces are single use**: a `ClientAuth` consumes its nonce whatever the
//!   outcome, and the answer carries the next one. They expire after [`CONTENT_NONCE_LIFETIME`]
//!   and at most [`MAX_CONTENT_NONCES`] are remembered (oldest dropped first).
//! * **HTTP Digest nonces** are `cwmp-connreq`'s: they expire after its lifetime, and each
//!   `(nonce, nc)` is accepted once (the nonce count must grow: RFC 7616 §3.4's replay rule),
//!   which is how HTTP clients such as `requests` reuse a nonce.
//! * **Too many unauthenticated requests** (seed 003 §4.1.1): every request whose credentials
//!   failed (an `Authorization` header or a `ClientAuth` that did not verify; the first,
//!   credential-less step of either exchange does not count) takes a token from its client
//!   address's bucket
//!   ([`REFUSED_BURST`], one back every [`REFUSED_REFILL`]); a client with an empty bucket gets
//!   HTTP 503 for every request until it refills. At most [`MAX_CLIENTS`] addresses are
//!   tracked (the least recently refused is forgotten first).

use cwmp_connreq::{DigestAlgorithm, DigestAuth, RateLimiter, Verdict};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The HTTP Digest realm.
pub const HTTP_REALM: &str = "Desk Phone TR-064";
/// The content-level authentication realm (AVM's is `F!Box SOAP-Auth`).
pub const CONTENT_REALM: &str = "Desk Phone SOAP-Auth";
/// How long a content-level nonce stays valid.
pub const CONTENT_NONCE_LIFETIME: Duration = Duration::from_secs(60);
/// Content-level nonces remembered at once.
pub const MAX_CONTENT_NONCES: usize = 256;
/// HTTP Digest nonce lifetime.
pub const HTTP_NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// Refused requests a client may make back to back.
pub const REFUSED_BURST: u32 = 20;
/// One more refused request allowed per this period.
pub const REFUSED_REFILL: Duration = Duration::from_secs(3);
/// Client addresses tracked for the refusal limit.
pub const MAX_CLIENTS: usize = 1024;

/// The content-level response hash (seed 003 §4.1.2):
/// `MD5(MD5(uid ":" realm ":" pwd) ":" sn)`, lower-case hex.
pub fn content_auth_response(uid: &str, realm: &str, pwd: &str, sn: &str) -> String {
    let secret =
        DigestAlgorithm::Md5.hash_parts(&[uid.as_bytes(), realm.as_bytes(), pwd.as_bytes()]);
    DigestAlgorithm::Md5.hash_parts(&[secret.as_bytes(), sn.as_bytes()])
}

/// The administrator's credentials as last read from the store: `admin-username` and
/// `admin-password` (empty: no password set), in the project's one credentials type.
pub type AdminCredentials = cwmp_connreq::Credentials;

/// What a content-level `ClientAuth` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentVerdict {
    /// Authenticated; the next nonce.
    Ok {
        /// The nonce for the client's next call.
        next_nonce: String,
    },
    /// Refused; a fresh nonce to retry with.
    Refused {
        /// The fresh nonce.
        nonce: String,
    },
}

/// The authentication state of one TR-064 server (HTTP and HTTPS share it).
pub struct Authenticator {
    digest: DigestAuth,
    content: BTreeMap<String, Instant>,
    refused: BTreeMap<IpAddr, (RateLimiter, Instant)>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("digest", &self.digest)
            .field("content_nonces", &self.content.len())
            .field("clients", &self.refused.len())
            .finish()
    }
}

impl Default for Authenticator {
    fn default() -> Self {
        Authenticator::new()
    }
}

impl Authenticator {
    /// A fresh state.
    pub fn new() -> Authenticator {
        Authenticator {
            digest: DigestAuth::new(HTTP_REALM, HTTP_NONCE_LIFETIME),
            content: BTreeMap::new(),
            refused: BTreeMap::new(),
        }
    }

    /// Whether `client` has used up its refused requests (answer HTTP 503).
    pub fn throttled(&mut self, now: Instant, client: IpAddr) -> bool {
        match self.refused.get_mut(&client) {
            Some((limiter, _)) => limiter.available(now) == 0,
            None => false,
        }
    }

    /// Count a refused request from `client`.
    pub fn note_refused(&mut self, now: Instant, client: IpAddr) {
        if !self.refused.contains_key(&client) && self.refused.len() >= MAX_CLIENTS {
            if let Some(oldest) = self
                .refused
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(ip, _)| *ip)
            {
                self.refused.remove(&oldest);
            }
        }
        let entry = self
            .refused
            .entry(client)
            .or_insert_with(|| (RateLimiter::new(REFUSED_BURST, REFUSED_REFILL), now));
        entry.1 = now;
        let _ = entry.0.try_acquire(now);
    }

    /// A `WWW-Authenticate` value with a fresh nonce (`stale` after an expired one).
    pub fn http_challenge(&mut self, now: Instant, random: [u8; 16], stale: bool) -> String {
        if stale {
            self.digest.stale_challenge(now, random)
        } else {
            self.digest.challenge(now, random)
        }
    }

    /// Verify an HTTP `Authorization` header.
    pub fn verify_http(
        &mut self,
        now: Instant,
        method: &str,
        uri: &str,
        authorization: Option<&str>,
        creds: &AdminCredentials,
    ) -> Verdict {
        self.digest.verify(
            now,
            method,
            uri,
            authorization,
            &creds.username,
            creds.password.expose(),
        )
    }

    /// Issue a content-level nonce (16 upper-case hex digits, like the seed's).
    pub fn content_nonce(&mut self, now: Instant, random: [u8; 8]) -> String {
        self.content
            .retain(|_, issued| now.saturating_duration_since(*issued) <= CONTENT_NONCE_LIFETIME);
        while self.content.len() >= MAX_CONTENT_NONCES {
            let Some(oldest) = self
                .content
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(n, _)| n.clone())
            else {
                break;
            };
            self.content.remove(&oldest);
        }
        let nonce = hex::encode_upper(random);
        self.content.insert(nonce.clone(), now);
        nonce
    }

    /// Verify a `ClientAuth`; the nonce is consumed either way. `random` makes the next nonce.
    #[allow(clippy::too_many_arguments)] // the ClientAuth fields, spelled out
    pub fn verify_content(
        &mut self,
        now: Instant,
        nonce: &str,
        auth: &str,
        user: &str,
        realm: &str,
        creds: &AdminCredentials,
        random: [u8; 8],
    ) -> ContentVerdict {
        let fresh = match self.content.remove(nonce) {
            Some(issued) => now.saturating_duration_since(issued) <= CONTENT_NONCE_LIFETIME,
            None => false,
        };
        let expected = content_auth_response(
            &creds.username,
            CONTENT_REALM,
            creds.password.expose(),
            nonce,
        );
        let good = fresh
            && !creds.password.is_empty()
            && user == creds.username
            && realm == CONTENT_REALM
            && bool::from(
                expected
                    .as_bytes()
                    .ct_eq(auth.to_ascii_lowercase().as_bytes()),
            );
        let next = self.content_nonce(now, random);
        if good {
            ContentVerdict::Ok { next_nonce: next }
        } else {
            ContentVerdict::Refused { nonce: next }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_test_vector() {
        // Seed 003 §4.1.2 / §10.7.
        assert_eq!(
            content_auth_response(
                "admin",
                "F!Box SOAP-Auth",
                "gurkensalat",
                "F758BE72FB999CEA"
            ),
            "b4f67585f22b0af7c4615db5a18faa14"
        );
    }

    fn creds() -> AdminCredentials {
        AdminCredentials {
            username: "admin".into(),
            password: "gurkensalat".into(),
        }
    }

    #[test]
    fn content_nonces_are_single_use_and_expire() {
        let t0 = Instant::now();
        let mut a = Authenticator::new();
        let n = a.content_nonce(t0, [1; 8]);
        assert_eq!(n, "0101010101010101");
        let auth = content_auth_response("admin", CONTENT_REALM, "gurkensalat", &n);
        let v = a.verify_content(t0, &n, &auth, "admin", CONTENT_REALM, &creds(), [2; 8]);
        assert_eq!(
            v,
            ContentVerdict::Ok {
                next_nonce: "0202020202020202".into()
            }
        );
        // Replay of the same nonce: refused.
        let v = a.verify_content(t0, &n, &auth, "admin", CONTENT_REALM, &creds(), [3; 8]);
        assert!(matches!(v, ContentVerdict::Refused { .. }));
        // Expired.
        let n = a.content_nonce(t0, [4; 8]);
        let auth = content_auth_response("admin", CONTENT_REALM, "gurkensalat", &n);
        let late = t0 + CONTENT_NONCE_LIFETIME + Duration::from_secs(1);
        let v = a.verify_content(late, &n, &auth, "admin", CONTENT_REALM, &creds(), [5; 8]);
        assert!(matches!(v, ContentVerdict::Refused { .. }));
        // Wrong password.
        let n = a.content_nonce(t0, [6; 8]);
        let auth = content_auth_response("admin", CONTENT_REALM, "wrong", &n);
        let v = a.verify_content(t0, &n, &auth, "admin", CONTENT_REALM, &creds(), [7; 8]);
        assert!(matches!(v, ContentVerdict::Refused { .. }));
        // No password set: never authenticated.
        let n = a.content_nonce(t0, [8; 8]);
        let none = AdminCredentials {
            username: "admin".into(),
            password: Default::default(),
        };
        let auth = content_auth_response("admin", CONTENT_REALM, "", &n);
        let v = a.verify_content(t0, &n, &auth, "admin", CONTENT_REALM, &none, [9; 8]);
        assert!(matches!(v, ContentVerdict::Refused { .. }));
    }

    #[test]
    fn content_nonces_are_bounded() {
        let t0 = Instant::now();
        let mut a = Authenticator::new();
        for i in 0..(MAX_CONTENT_NONCES as u64 + 50) {
            a.content_nonce(t0, i.to_be_bytes());
        }
        assert!(a.content.len() <= MAX_CONTENT_NONCES);
    }

    #[test]
    fn refused_requests_throttle_one_client_only() {
        let t0 = Instant::now();
        let mut a = Authenticator::new();
        let bad: IpAddr = "192.0.2.1".parse().unwrap();
        let good: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..REFUSED_BURST {
            assert!(!a.throttled(t0, bad));
            a.note_refused(t0, bad);
        }
        assert!(a.throttled(t0, bad));
        assert!(!a.throttled(t0, good));
        assert!(!a.throttled(t0 + REFUSED_REFILL, bad));
    }
}

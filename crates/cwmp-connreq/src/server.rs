//! The whole HTTP connection-request decision in one sans-IO call (TR-069 §3.2.2).
//!
//! A blocking listener only moves bytes: it reads until [`parse_request`](crate::parse_request)
//! stops saying `Incomplete`, hands the [`HttpRequest`] to
//! [`ConnectionRequestServer::handle`], writes [`Reply::to_bytes`], tells the engine when
//! [`Reply::accepted`] is true, and closes unless [`Reply::keep_alive`] is true (then it reads
//! the next request from the same connection, as GenieACS expects after a `401`).
//!
//! ```text
//!  request ─► path = ConnectionRequestURL path? ── no ──► 404
//!                 │ yes
//!             method GET? ─────────────────────── no ──► 405 (Allow: GET)
//!                 │ yes
//!             Digest verify ── Refused ──► 401 + fresh challenge (keep-alive if allowed)
//!                 │          ── Stale ────► 401 + challenge with stale=true
//!                 │ Ok
//!             this session's free request unused? ─ yes ─► 200 (free)
//!                 │ no
//!             rate limiter has a token? ────────── no ──► 503 (no Retry-After)
//!                 │ yes
//!                 └─► 200, accepted = true: the engine starts a "6 CONNECTION REQUEST" session
//!                     (or folds it into the one it already has pending)
//! ```
//!
//! **What counts against the limit** (decision; issue 10). An ACS that sends one connection
//! request per task and waits for each session (GenieACS does; its next request often arrives
//! while the previous session is still ending) must never be refused, however fast its tasks
//! come, while a flood must still get `503` and cause no more than one session at a time. The
//! listener cannot tell the two apart by rate, since sessions run one after another either way; it can by
//! *requests per session*:
//!
//! * **One free request per session.** The first authenticated request after a session
//!   started (or after start-up) is always accepted and costs nothing: it starts the next
//!   session, or is folded into the follow-up of the running one. The driver reports session
//!   starts with [`ConnectionRequestServer::session_started`].
//! * **Every further request** before the next session starts adds no session (the engine
//!   folds it into the one already asked for, TR-069 §3.2.2: several requests, one session). It is
//!   answered `200` while the token bucket ([`RateLimiter`]: a burst, then a sustained rate)
//!   has a token, and `503` beyond that.
//! * **A flood loses its free request.** A session period in which a request was refused does
//!   not give the next period a free request, so a sustained flood causes sessions only at the
//!   bucket's rate, one at a time. The free request comes back after a period without a
//!   refusal.
//!
//! The rate limiter only counts authenticated requests, and a request with bad credentials
//! never uses the free request either: a client without the credentials can never use up the
//! ACS's budget and so cannot block real connection requests with a flood.
//! Path and method are checked before authentication: the answers reveal nothing secret (the
//! right path is not disclosed by a 404 for a wrong one).

use std::time::Instant;

use crate::digest::{DigestAuth, Refusal, Verdict, DEFAULT_NONCE_LIFETIME};
use crate::http::{HttpRequest, RequestError, Response};
use crate::rate::RateLimiter;
use cwmp_model::Secret;

/// A user name and password: the one credentials type of the project. The connection-request
/// listener checks requests against ConnectionRequestUsername / ConnectionRequestPassword, the
/// client answers the ACS's and file servers' challenges with ManagementServer.Username /
/// Password, the TR-064 server checks its administrator. The password is a [`Secret`], so
/// `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Credentials {
    /// The user name (e.g. ConnectionRequestUsername).
    pub username: String,
    /// The password (e.g. ConnectionRequestPassword).
    pub password: Secret,
}

impl Credentials {
    /// Credentials from a user name and a password.
    pub fn new(username: impl Into<String>, password: impl Into<Secret>) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password's plain text (a secret: never log it).
    pub fn password(&self) -> &str {
        self.password.expose()
    }
}

/// What happened to a request (for logs and tests).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Authenticated and within the rate limit: start a session.
    Accepted,
    /// Not authenticated; the reason (`MissingCredentials` for the usual first, bare request).
    Challenged(Refusal),
    /// Right credentials on an expired or unknown nonce; challenged again with `stale=true`.
    Stale,
    /// Authenticated, but over the rate limit: `503`.
    RateLimited,
    /// Another path: `404`.
    NotFound,
    /// Another method: `405`.
    MethodNotAllowed,
    /// The head did not parse: `400`.
    BadRequest(RequestError),
}

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The response to send.
    pub response: Response,
    /// Whether to keep the connection open for another request afterwards.
    pub keep_alive: bool,
    /// What happened.
    pub outcome: Outcome,
}

impl Reply {
    /// Whether the engine must be told about a connection request.
    pub fn accepted(&self) -> bool {
        self.outcome == Outcome::Accepted
    }

    /// The bytes to write.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.response.to_bytes(self.keep_alive)
    }
}

/// Path check, Digest authentication and rate limiting for HTTP connection requests.
#[derive(Debug)]
pub struct ConnectionRequestServer {
    path: String,
    digest: DigestAuth,
    limiter: RateLimiter,
    /// The free request of this session period is still unused.
    free: bool,
    /// A request was refused (`503`) in this session period.
    refused: bool,
}

impl ConnectionRequestServer {
    /// A server answering on `path` (the path of ConnectionRequestURL, e.g.
    /// `/tr069/cr-001AE8A1B2C3`) in Digest `realm`, with the default nonce lifetime
    /// ([`DEFAULT_NONCE_LIFETIME`]) and the default [`RateLimiter`].
    ///
    /// An empty path (a ConnectionRequestURL without one) means `/`.
    pub fn new(path: &str, realm: &str) -> Self {
        ConnectionRequestServer {
            path: normalise_path(path),
            digest: DigestAuth::new(realm, DEFAULT_NONCE_LIFETIME),
            limiter: RateLimiter::default(),
            free: true,
            refused: false,
        }
    }

    /// A CWMP session started (for any reason): a new session period begins, with its free
    /// request unless a request was refused in the period that ends (see the module
    /// documentation).
    pub fn session_started(&mut self) {
        self.free = !self.refused;
        self.refused = false;
    }

    /// Replaces the Digest verifier (to change the nonce lifetime or table size).
    #[must_use]
    pub fn with_digest(mut self, digest: DigestAuth) -> Self {
        self.digest = digest;
        self
    }

    /// Replaces the rate limiter.
    #[must_use]
    pub fn with_rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = limiter;
        self
    }

    /// The connection-request path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Changes the connection-request path (ConnectionRequestURL changed; empty means `/`).
    pub fn set_path(&mut self, path: &str) {
        self.path = normalise_path(path);
    }

    /// The rate limiter, to share its budget with UDP connection requests.
    pub fn rate_limiter(&mut self) -> &mut RateLimiter {
        &mut self.limiter
    }

    /// Decides the answer to `request`. `random` seeds the nonce of a new challenge (used only
    /// when one is issued); pass fresh random bytes every time.
    pub fn handle(
        &mut self,
        now: Instant,
        request: &HttpRequest,
        credentials: &Credentials,
        random: [u8; 16],
    ) -> Reply {
        let final_reply = |response, outcome| Reply {
            response,
            keep_alive: false,
            outcome,
        };
        if request.path() != self.path {
            return final_reply(Response::NotFound, Outcome::NotFound);
        }
        if !request.is_get() {
            return final_reply(Response::MethodNotAllowed, Outcome::MethodNotAllowed);
        }
        let verdict = self.digest.verify(
            now,
            request.method(),
            request.target(),
            request.authorization(),
            &credentials.username,
            credentials.password.expose(),
        );
        let (challenge, outcome) = match verdict {
            Verdict::Ok => {
                return if std::mem::take(&mut self.free) || self.limiter.try_acquire(now) {
                    final_reply(Response::Ok, Outcome::Accepted)
                } else {
                    self.refused = true;
                    final_reply(Response::ServiceUnavailable, Outcome::RateLimited)
                };
            }
            Verdict::Stale => (self.digest.stale_challenge(now, random), Outcome::Stale),
            Verdict::Refused(reason) => (
                self.digest.challenge(now, random),
                Outcome::Challenged(reason),
            ),
        };
        Reply {
            response: Response::Unauthorized { challenge },
            keep_alive: request.keep_alive(),
            outcome,
        }
    }

    /// The answer to a head that did not parse, or `None` for
    /// [`RequestError::Incomplete`] (keep reading). Always closes the connection.
    pub fn handle_parse_error(&self, error: &RequestError) -> Option<Reply> {
        error.response().map(|response| Reply {
            response,
            keep_alive: false,
            outcome: Outcome::BadRequest(error.clone()),
        })
    }
}

fn normalise_path(path: &str) -> String {
    if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::parse_challenge;
    use crate::digest::authorization_header;
    use crate::http::parse_request;
    use std::time::Duration;

    const PATH: &str = "/tr069/cr-001AE8A1B2C3";
    const USER: &str = "001AE8-OpenScape%20Desk%20Phone%20CP600-001AE8A1B2C3";

    fn creds() -> Credentials {
        Credentials::new(USER, "pw")
    }

    fn server() -> ConnectionRequestServer {
        ConnectionRequestServer::new(PATH, "OpenScape Desk Phone CP600")
            .with_rate_limiter(RateLimiter::new(2, Duration::from_secs(60)))
    }

    fn challenge_of(reply: &Reply) -> String {
        match &reply.response {
            Response::Unauthorized { challenge } => challenge.clone(),
            other => panic!("expected 401, got {other:?}"),
        }
    }

    fn authed_request(challenge: &str, nc: u32) -> HttpRequest {
        let c = parse_challenge(challenge).unwrap();
        let auth = authorization_header(&c, USER, "pw", "GET", PATH, "0a4f113b", nc);
        let raw = format!(
            "GET {PATH} HTTP/1.1\r\nAuthorization: {auth}\r\nHost: 127.0.0.1:7548\r\nConnection: keep-alive\r\n\r\n"
        );
        parse_request(raw.as_bytes()).unwrap()
    }

    #[test]
    fn genieacs_two_step_exchange_on_one_connection() {
        let mut s = server();
        let t0 = Instant::now();
        let bare = parse_request(
            b"GET /tr069/cr-001AE8A1B2C3 HTTP/1.1\r\nHost: 127.0.0.1:7548\r\nConnection: keep-alive\r\n\r\n",
        )
        .unwrap();
        let r1 = s.handle(t0, &bare, &creds(), [0xf1; 16]);
        assert_eq!(r1.outcome, Outcome::Challenged(Refusal::MissingCredentials));
        assert!(r1.keep_alive, "GenieACS retries on the same connection");
        assert!(!r1.accepted());
        let bytes = String::from_utf8(r1.to_bytes()).unwrap();
        assert!(bytes.starts_with("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"OpenScape Desk Phone CP600\", qop=\"auth\", nonce=\"f1f1"));
        assert!(!bytes.contains("Connection: close"));

        let r2 = s.handle(
            t0,
            &authed_request(&challenge_of(&r1), 1),
            &creds(),
            [2; 16],
        );
        assert_eq!(r2.outcome, Outcome::Accepted);
        assert!(r2.accepted());
        assert!(!r2.keep_alive);
        assert_eq!(
            r2.to_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn rate_limit_gives_503_only_after_authentication() {
        let mut s = server();
        let t0 = Instant::now();
        let ch = s.digest.challenge(t0, [1; 16]);
        // The session's free request, then the bucket's two tokens.
        for nc in 1..=3 {
            assert!(s
                .handle(t0, &authed_request(&ch, nc), &creds(), [0; 16])
                .accepted());
        }
        let third = s.handle(t0, &authed_request(&ch, 4), &creds(), [0; 16]);
        assert_eq!(third.outcome, Outcome::RateLimited);
        let bytes = String::from_utf8(third.to_bytes()).unwrap();
        assert!(bytes.starts_with("HTTP/1.1 503 "));
        assert!(!bytes.to_ascii_lowercase().contains("retry-after"));
        // Unauthenticated requests do not consume tokens.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..10 {
            let bad = parse_request(format!("GET {PATH} HTTP/1.1\r\n\r\n").as_bytes()).unwrap();
            assert!(!s.handle(later, &bad, &creds(), [3; 16]).accepted());
        }
        let ch = s.digest.challenge(later, [4; 16]);
        assert!(s
            .handle(later, &authed_request(&ch, 1), &creds(), [0; 16])
            .accepted());
    }

    /// `n` authenticated requests at `now` on one nonce (fresh nonce counts from `nc`); how
    /// many were accepted.
    fn accepted_of(s: &mut ConnectionRequestServer, now: Instant, n: u32) -> u32 {
        let ch = s.digest.challenge(now, rand_bytes(n));
        (1..=n)
            .filter(|nc| {
                let r = s.handle(now, &authed_request(&ch, *nc), &creds(), [0; 16]);
                assert_ne!(r.response.status_code(), 401, "{r:?}");
                r.accepted()
            })
            .count() as u32
    }

    fn rand_bytes(n: u32) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&n.to_be_bytes());
        b
    }

    /// Issue 10: GenieACS posted six tasks in under three seconds and the sixth got 503. The
    /// defaults take at least ten at once and one a second after that.
    #[test]
    fn defaults_take_a_burst_of_ten_then_one_a_second() {
        let mut s = ConnectionRequestServer::new(PATH, "r");
        let t0 = Instant::now();
        assert!(accepted_of(&mut s, t0, 10) == 10);
        // The rest of the burst: at most the free request and the bucket.
        assert!(accepted_of(&mut s, t0, 100) <= 1);
        for k in 1..=20u64 {
            assert_eq!(
                accepted_of(&mut s, t0 + Duration::from_secs(k), 1),
                1,
                "{k} s"
            );
        }
    }

    /// An ACS that sends one request per task and waits for its session is never refused,
    /// however fast the sessions go (no time passes here at all).
    #[test]
    fn one_request_per_session_is_never_refused() {
        let mut s = server();
        let t0 = Instant::now();
        for i in 0..500 {
            assert_eq!(accepted_of(&mut s, t0, 1), 1, "request {i}");
            s.session_started();
        }
        // GenieACS's variant: the next request arrives while the previous session still runs
        // (after it started) and is folded into its follow-up.
        for i in 0..500 {
            s.session_started();
            assert_eq!(accepted_of(&mut s, t0, 1), 1, "request {i}");
        }
    }

    /// A flood of good requests gets 503 beyond the free request and the bucket, and once it
    /// has been refused it causes sessions only at the bucket's rate.
    #[test]
    fn a_flood_is_refused_and_loses_its_free_request() {
        // A burst of 2, one token a minute.
        let mut s = server();
        let t0 = Instant::now();
        assert_eq!(accepted_of(&mut s, t0, 300), 3);
        // The flood goes on through the sessions it caused: no free request any more.
        s.session_started();
        assert_eq!(accepted_of(&mut s, t0, 300), 0);
        s.session_started();
        assert_eq!(accepted_of(&mut s, t0 + Duration::from_secs(30), 300), 0);
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(accepted_of(&mut s, t1, 300), 1, "one token a minute");
        s.session_started();
        // A calm period (one request, no refusal) gives the free request back.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(accepted_of(&mut s, t2, 1), 1);
        s.session_started();
        assert_eq!(accepted_of(&mut s, t2, 1), 1, "free again");
        s.session_started();
        assert_eq!(accepted_of(&mut s, t2, 1), 1, "free again");
    }

    /// Bad credentials use neither the free request nor the bucket.
    #[test]
    fn bad_credentials_use_no_allowance() {
        let mut s = server();
        let t0 = Instant::now();
        let ch = s.digest.challenge(t0, [9; 16]);
        let c = parse_challenge(&ch).unwrap();
        for nc in 1..=500 {
            let auth = authorization_header(&c, &creds().username, "wrong", "GET", PATH, "ab", nc);
            let raw = format!("GET {PATH} HTTP/1.1\r\nAuthorization: {auth}\r\n\r\n");
            let r = s.handle(
                t0,
                &parse_request(raw.as_bytes()).unwrap(),
                &creds(),
                [1; 16],
            );
            assert_eq!(r.response.status_code(), 401);
        }
        assert_eq!(
            accepted_of(&mut s, t0, 100),
            3,
            "free request and a burst of 2"
        );
    }

    #[test]
    fn wrong_path_method_and_stale() {
        let mut s = server();
        let t0 = Instant::now();
        let r = s.handle(
            t0,
            &parse_request(b"GET /other HTTP/1.1\r\n\r\n").unwrap(),
            &creds(),
            [0; 16],
        );
        assert_eq!((r.response.status_code(), r.keep_alive), (404, false));
        let r = s.handle(
            t0,
            &parse_request(format!("POST {PATH} HTTP/1.1\r\n\r\n").as_bytes()).unwrap(),
            &creds(),
            [0; 16],
        );
        assert_eq!(r.response, Response::MethodNotAllowed);
        assert!(String::from_utf8(r.to_bytes())
            .unwrap()
            .contains("Allow: GET\r\n"));
        // A query on the right path is ignored for routing but signed in the Digest uri.
        let ch = s.digest.challenge(t0, [5; 16]);
        let late = t0 + Duration::from_secs(61);
        let r = s.handle(late, &authed_request(&ch, 1), &creds(), [6; 16]);
        assert_eq!(r.outcome, Outcome::Stale);
        assert!(challenge_of(&r).ends_with("stale=true"));
        // Connection: close from the client turns keep-alive off even on a 401.
        let close =
            parse_request(format!("GET {PATH} HTTP/1.1\r\nConnection: close\r\n\r\n").as_bytes())
                .unwrap();
        assert!(!s.handle(late, &close, &creds(), [7; 16]).keep_alive);
    }

    #[test]
    fn empty_path_means_root() {
        let mut s = ConnectionRequestServer::new("", "r");
        assert_eq!(s.path(), "/");
        let r = s.handle(
            Instant::now(),
            &parse_request(b"GET / HTTP/1.1\r\n\r\n").unwrap(),
            &creds(),
            [0; 16],
        );
        assert_eq!(r.response.status_code(), 401);
        s.set_path("/x");
        assert_eq!(s.path(), "/x");
    }

    #[test]
    fn parse_errors_map_to_400_or_keep_reading() {
        let s = server();
        assert_eq!(s.handle_parse_error(&RequestError::Incomplete), None);
        let r = s.handle_parse_error(&RequestError::BodyNotAllowed).unwrap();
        assert_eq!(r.response.status_code(), 400);
        assert!(!r.keep_alive);
    }
}

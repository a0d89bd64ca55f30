//! The sans-IO HTTP/1.1 side of one CWMP session: request heads, response parsing, Basic and
//! Digest authentication, keep-alive decisions. No sockets, no clock.
//!
//! [`SessionHttp`] is the one implementation of "POST this envelope to the ACS and give the
//! engine the final response" in the project. Two drivers move its bytes:
//!
//! * [`crate::HttpSession`]: blocking, over `std::net` and a rustls stream (the single phone,
//!   `cwmp_client::Client`, `cpe-agent check`);
//! * the fleet's event loop (`cpe-agent fleet`): non-blocking sockets under one `mio` poll,
//!   thousands of sessions on one thread.
//!
//! The HTTP/1.1 framing is `ureq-proto`'s (the protocol state machine ureq itself runs on;
//! chosen over hand-written parsing: one HTTP parser in the tree). What CWMP adds on top:
//! the CWMP headers (`Content-Type: text/xml; charset="utf-8"` and `SOAPAction` on an
//! envelope, neither on an empty POST, TR-069 §3.4), the engine's `Cookie`, and
//! authentication (the crate's `auth` module): a 401 is answered on the same connection when it can be,
//! at most twice per POST; a new origin (after a redirect the engine followed) starts
//! unauthenticated; a Digest nonce from a connection that has since closed is not reused
//! (GenieACS binds nonces to the connection).
//!
//! ```text
//!  begin(request) ─► needs_connection()? ─yes─► driver connects, connected()
//!        │                     │no
//!        ▼                     ▼
//!  driver writes head() + body, then feeds what it reads to receive() (end_of_input() at EOF)
//!        │
//!        ├─ Received::Resend    a 401 was answered: write head() + body again
//!        │                      (after a new connection when needs_connection() says so)
//!        └─ Received::Response  the final response for the engine; must_close() says whether
//!                               the connection is finished
//! ```

use crate::auth::{self, Chosen, Credentials, DigestChallenge, DigestRequest};
use crate::error::{Detail, Error};
use crate::transport::{PostRequest, TransportConfig, CONTENT_TYPE_XML};
use crate::HttpResponse;
use cwmp_model::Url;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ureq_proto::client::state::{RecvBody, RecvResponse};
use ureq_proto::client::{Call, RecvBodyResult, RecvResponseResult, SendRequestResult};
use ureq_proto::BodyMode;

/// The largest response head (status line and headers) accepted, in bytes.
pub const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// What the session remembers about authentication.
#[derive(Debug, Clone)]
enum AuthState {
    /// No challenge answered yet.
    None,
    /// Send Basic on every request (after a Basic challenge, or pre-emptively over TLS).
    Basic,
    /// Answer with Digest on every request.
    Digest(DigestState),
}

#[derive(Debug, Clone)]
struct DigestState {
    challenge: DigestChallenge,
    cnonce: String,
    /// The last nonce count used.
    nc: u32,
    /// The connection the challenge arrived on (GenieACS binds its nonce to it).
    conn: u64,
}

/// What [`SessionHttp::receive`] found.
#[derive(Debug)]
pub enum Received {
    /// Not complete yet: read more.
    More,
    /// A 401 challenge was answered: send [`SessionHttp::head`] and the body again (on a new
    /// connection when [`SessionHttp::needs_connection`] says so).
    Resend,
    /// The final response to the POST.
    Response(HttpResponse),
}

/// The parts of a response kept while its body arrives.
#[derive(Debug)]
struct Head {
    status: u16,
    set_cookie: Vec<String>,
    location: Option<String>,
    challenges: Vec<String>,
}

enum Recv {
    Head(Call<RecvResponse>),
    Body(Call<RecvBody>, Head),
}

/// The POST in flight.
struct InFlight {
    target: Url,
    soap_action: Option<String>,
    cookie: Option<String>,
    has_body: bool,
    /// The request head of the current attempt.
    head: Vec<u8>,
    sent_credentials: bool,
    /// 401s answered for this POST.
    rounds: u32,
    recv: Option<Recv>,
    body: Vec<u8>,
}

/// The sans-IO HTTP side of one CWMP session (see the module documentation). Create one per
/// session; it forgets cookies, redirects and authentication when dropped.
pub struct SessionHttp {
    config: TransportConfig,
    /// The URL of the last POST (the ACS URL, or where the engine was redirected).
    url: Url,
    credentials: Option<Credentials>,
    auth: AuthState,
    /// Basic is being sent pre-emptively (TLS) and no server has challenged yet: a Digest
    /// challenge in answer is the server's choice of scheme, not a rejection.
    basic_unchallenged: bool,
    rng: ChaCha8Rng,
    /// Connections opened so far; the current one is number `connections`.
    connections: u64,
    /// A connection is open and may carry the next request.
    open: bool,
    /// The last response ended its connection (`Connection: close`, HTTP/1.0, a body delimited
    /// by the close).
    last_close: bool,
    post: Option<InFlight>,
}

impl std::fmt::Debug for SessionHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHttp")
            .field("url", &self.url)
            .field("credentials", &self.credentials)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

impl SessionHttp {
    /// A session with the ACS at `url` (http or https). `seed` feeds the Digest cnonces.
    pub fn new(
        config: &TransportConfig,
        url: &str,
        credentials: Option<Credentials>,
        seed: u64,
    ) -> Result<SessionHttp, Error> {
        let url = parse_url(url)?;
        let auth = initial_auth(&credentials, &url, config);
        Ok(SessionHttp {
            basic_unchallenged: matches!(auth, AuthState::Basic),
            config: config.clone(),
            url,
            credentials,
            auth,
            rng: ChaCha8Rng::seed_from_u64(seed),
            connections: 0,
            open: false,
            last_close: false,
            post: None,
        })
    }

    /// The URL of the last POST.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The transport configuration.
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// How many connections the session has opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.connections
    }

    /// Start a POST as the engine asked ([`cwmp_engine::Output::SendPost`]). A URL of another
    /// origin than the previous POST's starts unauthenticated and on a new connection.
    pub fn begin(&mut self, request: &PostRequest<'_>) -> Result<(), Error> {
        let target = parse_url(request.url)?;
        if !target.same_origin(&self.url) {
            self.auth = initial_auth(&self.credentials, &target, &self.config);
            self.basic_unchallenged = matches!(self.auth, AuthState::Basic);
            self.last_close = false;
            self.open = false;
        }
        self.url = target.clone();
        // The previous response closed the connection, so this POST opens a new one. A Digest
        // nonce may be bound to the old connection (GenieACS does that), so credentials are
        // withheld until the server challenges again on the new connection; a server that
        // keeps the session authenticated by its cookie simply does not challenge.
        if self.last_close && matches!(self.auth, AuthState::Digest(_)) {
            self.auth = AuthState::None;
        }
        let body = request.body.unwrap_or(&[]);
        self.post = Some(InFlight {
            target,
            soap_action: request.soap_action.map(str::to_owned),
            cookie: request.cookie.map(str::to_owned),
            has_body: request.body.is_some(),
            head: Vec::new(),
            sent_credentials: false,
            rounds: 0,
            recv: None,
            body: Vec::new(),
        });
        self.prepare(body)
    }

    /// Whether the next write needs a new connection (none is open, or the last response
    /// closed it). The driver connects (to [`url`](Self::url)'s host and port, with TLS for
    /// https) and calls [`connected`](Self::connected).
    pub fn needs_connection(&self) -> bool {
        !self.open || self.last_close
    }

    /// The driver opened a new connection for the next write.
    pub fn connected(&mut self) {
        self.connections += 1;
        self.open = true;
        self.last_close = false;
    }

    /// The connection broke outside a response (the driver closed it, or it failed): the next
    /// POST opens a new one.
    pub fn connection_lost(&mut self) {
        self.open = false;
    }

    /// The head of the request to write now (the body follows it unchanged).
    pub fn head(&self) -> &[u8] {
        self.post.as_ref().map_or(&[], |p| p.head.as_slice())
    }

    /// Whether the last response ended its connection: the driver closes it.
    pub fn must_close(&self) -> bool {
        self.last_close
    }

    /// Feed bytes read from the connection. `body` is the request body of the POST (needed
    /// to answer a challenge). Returns how much of `input` was used and what it completed;
    /// unused bytes stay with the caller (they belong to the next read, or are garbage).
    pub fn receive(&mut self, input: &[u8], body: &[u8]) -> Result<(usize, Received), Error> {
        let max_body = self.config.max_response_body;
        let Some(post) = self.post.as_mut() else {
            return Err(Error::Protocol(Detail::new(
                "data from the ACS while no request is outstanding",
            )));
        };
        let mut pos = 0;
        loop {
            match post.recv.take() {
                None => {
                    return Err(Error::Protocol(Detail::new(
                        "data from the ACS while no request is outstanding",
                    )))
                }
                Some(Recv::Head(mut call)) => {
                    let (used, response) =
                        call.try_response(&input[pos..], false).map_err(protocol)?;
                    pos += used;
                    let Some(response) = response else {
                        post.recv = Some(Recv::Head(call));
                        if used > 0 {
                            continue; // an interim 1xx response was consumed
                        }
                        if input.len() - pos > MAX_RESPONSE_HEAD {
                            return Err(Error::Protocol(Detail::new(format!(
                                "response head larger than {MAX_RESPONSE_HEAD} bytes"
                            ))));
                        }
                        return Ok((pos, Received::More));
                    };
                    let values = |name: &str| -> Vec<String> {
                        response
                            .headers()
                            .get_all(name)
                            .iter()
                            .filter_map(|v| v.to_str().ok().map(str::to_owned))
                            .collect()
                    };
                    let head = Head {
                        status: response.status().as_u16(),
                        set_cookie: values("set-cookie"),
                        location: values("location").into_iter().next(),
                        challenges: values("www-authenticate"),
                    };
                    match call.proceed() {
                        Some(RecvResponseResult::RecvBody(c)) => {
                            if let BodyMode::LengthDelimited(n) = c.body_mode() {
                                if n > max_body {
                                    return Err(Error::BodyTooLarge { limit: max_body });
                                }
                                post.body.reserve_exact(n as usize);
                            }
                            post.recv = Some(Recv::Body(c, head));
                        }
                        Some(RecvResponseResult::Redirect(c)) => {
                            let close = c.must_close_connection();
                            return self.finish(head, close, body).map(|r| (pos, r));
                        }
                        Some(RecvResponseResult::Cleanup(c)) => {
                            let close = c.must_close_connection();
                            return self.finish(head, close, body).map(|r| (pos, r));
                        }
                        None => {
                            return Err(Error::Protocol(Detail::new("incomplete response head")))
                        }
                    }
                }
                Some(Recv::Body(mut call, head)) => {
                    let close_delimited = matches!(call.body_mode(), BodyMode::CloseDelimited);
                    if !close_delimited && call.can_proceed() {
                        let close = match call.proceed() {
                            Some(RecvBodyResult::Redirect(c)) => c.must_close_connection(),
                            Some(RecvBodyResult::Cleanup(c)) => c.must_close_connection(),
                            None => true,
                        };
                        return self.finish(head, close, body).map(|r| (pos, r));
                    }
                    if pos == input.len() {
                        post.recv = Some(Recv::Body(call, head));
                        return Ok((pos, Received::More));
                    }
                    let old = post.body.len();
                    let room = (input.len() - pos).max(64);
                    post.body.resize(old + room, 0);
                    let (used, produced) = call
                        .read(&input[pos..], &mut post.body[old..])
                        .map_err(protocol)?;
                    post.body.truncate(old + produced);
                    pos += used;
                    if post.body.len() as u64 > max_body {
                        return Err(Error::BodyTooLarge { limit: max_body });
                    }
                    post.recv = Some(Recv::Body(call, head));
                    if used == 0 && produced == 0 {
                        return Ok((pos, Received::More));
                    }
                }
            }
        }
    }

    /// The connection ended (EOF). Completes a body delimited by the close; anything else
    /// was cut short.
    pub fn end_of_input(&mut self, body: &[u8]) -> Result<Received, Error> {
        self.open = false;
        let cut = || {
            Error::Io(Detail::new(
                "the ACS closed the connection before answering",
            ))
        };
        let Some(post) = self.post.as_mut() else {
            return Err(cut());
        };
        match post.recv.take() {
            Some(Recv::Body(call, head))
                if matches!(call.body_mode(), BodyMode::CloseDelimited) =>
            {
                self.finish(head, true, body)
            }
            Some(Recv::Body(..)) => Err(Error::Io(Detail::new(
                "the ACS closed the connection in the middle of the body",
            ))),
            _ => Err(cut()),
        }
    }

    /// Prepare the same POST again for a new connection after the reused one turned out to be
    /// closed before any answer (an idle keep-alive connection the server dropped).
    pub fn retry_on_new_connection(&mut self, body: &[u8]) -> Result<(), Error> {
        self.open = false;
        self.last_close = true;
        self.prepare(body)
    }

    /// A complete response: answer a 401, or hand the response over.
    fn finish(&mut self, head: Head, close: bool, body: &[u8]) -> Result<Received, Error> {
        self.last_close = close;
        if close {
            self.open = false;
        }
        let conn = self.connections;
        let post = self.post.as_mut().ok_or_else(|| {
            Error::Protocol(Detail::new("a response while no request is outstanding"))
        })?;
        if head.status == 401 {
            post.rounds += 1;
            let (sent, rounds) = (post.sent_credentials, post.rounds);
            self.handle_challenge(&head.challenges, sent, conn, rounds)?;
            self.prepare(body)?;
            return Ok(Received::Resend);
        }
        let post = self.post.take().map(|p| p.body).unwrap_or_default();
        Ok(Received::Response(HttpResponse {
            status: head.status,
            body: post,
            set_cookie: head.set_cookie,
            location: head.location,
        }))
    }

    /// Build the head of the next attempt of the POST in flight.
    fn prepare(&mut self, body: &[u8]) -> Result<(), Error> {
        // A request that goes out on a new connection after a close gets a fresh cnonce
        // (TR-069 §3.4 "fresh cnonce per new TCP connection").
        if self.last_close {
            if let AuthState::Digest(d) = &mut self.auth {
                d.cnonce = fresh_cnonce(&mut self.rng);
                d.nc = 0;
            }
        }
        let Some(target) = self.post.as_ref().map(|p| p.target.clone()) else {
            return Ok(());
        };
        let authorization = self.authorization(&target, body);
        let user_agent = self.config.user_agent.clone();
        let post = self.post.as_mut().ok_or(Error::Shutdown)?;
        post.sent_credentials = authorization.is_some();
        post.body.clear();
        let uri = target.to_string();
        let mut req = ureq_proto::http::Request::post(uri.as_str())
            .header("user-agent", user_agent.as_str())
            .header("content-length", body.len());
        if post.has_body {
            req = req.header("content-type", CONTENT_TYPE_XML);
            if let Some(a) = &post.soap_action {
                req = req.header("soapaction", a.as_str());
            }
        }
        if let Some(c) = &post.cookie {
            req = req.header("cookie", c.as_str());
        }
        if let Some(a) = &authorization {
            req = req.header("authorization", a.as_str());
        }
        let req = req.body(()).map_err(|e| {
            Error::InvalidConfig(Detail::with_source(format!("request to {uri}: {e}"), e))
        })?;
        let mut call = Call::new(req).map_err(protocol)?.proceed();
        post.head.clear();
        post.head.resize(1024, 0);
        let mut len = 0;
        while !call.can_proceed() {
            if post.head.len() - len < 512 {
                post.head.resize(post.head.len() * 2, 0);
            }
            match call.write(&mut post.head[len..]) {
                Ok(n) => len += n,
                Err(ureq_proto::Error::OutputOverflow) if post.head.len() < 256 * 1024 => {
                    post.head.resize(post.head.len() * 2, 0)
                }
                Err(e) => return Err(protocol(e)),
            }
        }
        post.head.truncate(len);
        let recv = match call.proceed().map_err(protocol)? {
            Some(SendRequestResult::SendBody(mut c)) => {
                c.consume_direct_write(body.len()).map_err(protocol)?;
                c.proceed()
            }
            Some(SendRequestResult::RecvResponse(c)) => Some(c),
            _ => None,
        }
        .ok_or_else(|| Error::Protocol(Detail::new("request could not be framed")))?;
        post.recv = Some(Recv::Head(recv));
        Ok(())
    }

    /// The `Authorization` header for the next request, if any.
    fn authorization(&mut self, url: &Url, body: &[u8]) -> Option<String> {
        let creds = self.credentials.as_ref()?;
        match &mut self.auth {
            AuthState::None => None,
            AuthState::Basic => Some(auth::basic_authorization(creds)),
            AuthState::Digest(d) => {
                d.nc = d.nc.saturating_add(1);
                Some(auth::digest_authorization(
                    creds,
                    &d.challenge,
                    &DigestRequest {
                        method: "POST",
                        uri: url.request_target(),
                        body,
                        cnonce: &d.cnonce,
                        nc: d.nc,
                    },
                ))
            }
        }
    }

    /// Decide what a 401 means: answer a challenge, or fail the session.
    fn handle_challenge(
        &mut self,
        header_values: &[String],
        sent_credentials: bool,
        conn: u64,
        rounds: u32,
    ) -> Result<(), Error> {
        if self.credentials.is_none() {
            return Err(Error::Authentication(
                "the ACS requires authentication and no credentials are configured".into(),
            ));
        }
        let challenges = auth::parse_challenges(header_values.iter().map(String::as_str));
        let chosen = auth::choose(&challenges);
        if sent_credentials {
            // A 401 after credentials is a failed session (TR-069 §3.4, §3.7.1.4), except when
            // the nonce was not the server's to judge: it came from another connection
            // (GenieACS binds nonces to the TCP connection) or the server says it went stale.
            let retry_ok = match (&self.auth, &chosen) {
                (AuthState::Digest(d), Some(Chosen::Digest(new))) => {
                    (new.stale || d.conn != conn) && rounds <= 2
                }
                // Pre-emptive Basic over TLS (TR-069 §3.4 SHOULD) met an ACS that wants
                // Digest: its first challenge is answered, as if nothing had been sent.
                (AuthState::Basic, Some(Chosen::Digest(_))) => self.basic_unchallenged,
                _ => false,
            };
            self.basic_unchallenged = false;
            if !retry_ok {
                return Err(Error::Authentication(
                    "the ACS rejected the credentials".into(),
                ));
            }
        }
        if rounds > 2 {
            return Err(Error::Authentication(
                "too many challenges for one request".into(),
            ));
        }
        match chosen {
            Some(Chosen::Digest(challenge)) => {
                self.auth = AuthState::Digest(DigestState {
                    challenge,
                    cnonce: fresh_cnonce(&mut self.rng),
                    nc: 0,
                    conn,
                });
                Ok(())
            }
            Some(Chosen::Basic) => {
                // TR-069 §3.4: the ACS chooses the scheme; Basic without TLS is the ACS's
                // choice (it MUST NOT make it), so it is answered but logged.
                if !self.url.is_https() {
                    log::warn!("the ACS asks for Basic authentication over plain HTTP");
                }
                self.auth = AuthState::Basic;
                Ok(())
            }
            None => Err(Error::Authentication(
                "the ACS offered no supported authentication scheme".into(),
            )),
        }
    }
}

fn protocol(e: ureq_proto::Error) -> Error {
    Error::Protocol(Detail::with_source(e.to_string(), e))
}

/// A fresh client nonce: 16 hex digits (64 bits) from the session's RNG.
fn fresh_cnonce(rng: &mut ChaCha8Rng) -> String {
    format!("{:016x}", rng.random::<u64>())
}

/// The URL of a POST: http or https, no user information (the one URL parser,
/// [`cwmp_model::Url`]).
pub(crate) fn parse_url(url: &str) -> Result<Url, Error> {
    Url::parse_http(url)
        .map_err(|e| Error::InvalidConfig(Detail::with_source(format!("ACS URL {url:?}: {e}"), e)))
}

/// The authentication state a session (or a new origin) starts with: pre-emptive Basic over
/// TLS when credentials are configured (TR-069 §3.4), else none until challenged.
fn initial_auth(
    credentials: &Option<Credentials>,
    url: &Url,
    config: &TransportConfig,
) -> AuthState {
    match (
        credentials,
        url.is_https() && config.preemptive_basic_over_tls,
    ) {
        (Some(_), true) => AuthState::Basic,
        _ => AuthState::None,
    }
}

/// Feed `data` as an ACS's answer (in pieces of the sizes its first byte picks) to a session
/// with credentials that just sent a POST, answering challenges as a driver would: for the
/// fuzz target `http_response` and the property tests. Never panics; returns the final
/// response when the bytes made one.
pub fn fuzz_responses(data: &[u8]) -> Option<HttpResponse> {
    let config = TransportConfig {
        max_response_body: 64 * 1024,
        ..TransportConfig::default()
    };
    let creds = Some(Credentials::new("cpe", "secret"));
    let mut s = SessionHttp::new(&config, "http://acs.example/cwmp", creds, 7).ok()?;
    let body = b"<Envelope/>";
    s.begin(&PostRequest {
        url: "http://acs.example/cwmp",
        body: Some(body),
        soap_action: Some(""),
        cookie: None,
        timeout: std::time::Duration::from_secs(30),
    })
    .ok()?;
    s.connected();
    let (step, mut rest) = match data.split_first() {
        Some((b, r)) => (usize::from(*b % 64) + 1, r),
        None => return None,
    };
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let take = step.min(rest.len());
        pending.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        let (used, r) = s.receive(&pending, body).ok()?;
        assert!(used <= pending.len());
        pending.drain(..used);
        match r {
            Received::Response(r) => {
                assert!(r.body.len() as u64 <= config.max_response_body);
                return Some(r);
            }
            Received::Resend => {
                assert!(!s.head().is_empty());
                if s.needs_connection() {
                    s.connected();
                }
            }
            Received::More if rest.is_empty() => {
                return match s.end_of_input(body).ok()? {
                    Received::Response(r) => Some(r),
                    _ => None,
                }
            }
            Received::More => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn post<'a>(body: Option<&'a [u8]>) -> PostRequest<'a> {
        PostRequest {
            url: "http://acs.example:7547/cwmp",
            body,
            soap_action: Some(""),
            cookie: Some("s=1"),
            timeout: Duration::from_secs(30),
        }
    }

    fn session(creds: Option<Credentials>) -> SessionHttp {
        SessionHttp::new(
            &TransportConfig::default(),
            "http://acs.example:7547/cwmp",
            creds,
            1,
        )
        .expect("session")
    }

    fn feed(s: &mut SessionHttp, bytes: &[u8], body: &[u8]) -> Received {
        let mut rest = bytes;
        loop {
            let (used, r) = s.receive(rest, body).expect("receive");
            rest = &rest[used..];
            match r {
                Received::More if !rest.is_empty() && used > 0 => continue,
                r => return r,
            }
        }
    }

    #[test]
    fn head_carries_the_cwmp_headers() {
        let mut s = session(None);
        s.begin(&post(Some(b"<x/>"))).expect("begin");
        assert!(s.needs_connection());
        s.connected();
        let head = String::from_utf8(s.head().to_vec()).expect("text");
        assert!(head.starts_with("POST /cwmp HTTP/1.1\r\n"), "{head}");
        for h in [
            "host: acs.example:7547\r\n",
            "content-length: 4\r\n",
            "content-type: text/xml; charset=\"utf-8\"\r\n",
            "soapaction: \r\n",
            "cookie: s=1\r\n",
        ] {
            assert!(head.to_ascii_lowercase().contains(h), "{h} in {head}");
        }
        assert!(head.ends_with("\r\n\r\n"));
        // Empty POST: neither Content-Type nor SOAPAction.
        let r = feed(
            &mut s,
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
            b"",
        );
        assert!(
            matches!(r, Received::Response(ref r) if r.body == b"abc"),
            "{r:?}"
        );
        assert!(!s.needs_connection());
        s.begin(&post(None)).expect("begin");
        let head = String::from_utf8(s.head().to_vec())
            .expect("text")
            .to_ascii_lowercase();
        assert!(head.contains("content-length: 0\r\n"), "{head}");
        assert!(!head.contains("content-type") && !head.contains("soapaction"));
    }

    #[test]
    fn bodies_in_pieces_chunked_and_close_delimited() {
        let mut s = session(None);
        s.begin(&post(None)).expect("begin");
        s.connected();
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let mut buf = Vec::new();
        let mut out = None;
        for b in wire.iter() {
            buf.push(*b);
            let (used, r) = s.receive(&buf, b"").expect("receive");
            buf.drain(..used);
            if let Received::Response(r) = r {
                out = Some(r);
            }
        }
        let r = out.expect("response");
        assert_eq!(r.body, b"abcde");
        assert_eq!(r.set_cookie, ["a=1", "b=2"]);
        assert!(!s.must_close());
        // HTTP/1.0 without length: the body ends with the connection.
        s.begin(&post(None)).expect("begin");
        let r = feed(&mut s, b"HTTP/1.0 200 OK\r\n\r\nxyz", b"");
        assert!(matches!(r, Received::More));
        match s.end_of_input(b"").expect("eof") {
            Received::Response(r) => assert_eq!(r.body, b"xyz"),
            other => panic!("{other:?}"),
        }
        assert!(s.needs_connection());
    }

    #[test]
    fn cut_and_oversized_answers_are_errors() {
        let mut s = session(None);
        s.begin(&post(None)).expect("begin");
        s.connected();
        let r = feed(
            &mut s,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            b"",
        );
        assert!(matches!(r, Received::More));
        assert!(matches!(s.end_of_input(b""), Err(Error::Io(_))));
        let cfg = TransportConfig {
            max_response_body: 4,
            ..TransportConfig::default()
        };
        let mut s = SessionHttp::new(&cfg, "http://a/", None, 1).expect("s");
        s.begin(&PostRequest {
            url: "http://a/",
            ..post(None)
        })
        .expect("begin");
        let e = s
            .receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", b"")
            .expect_err("too big");
        assert_eq!(e, Error::BodyTooLarge { limit: 4 });
        let mut s = session(None);
        s.begin(&post(None)).expect("begin");
        let e = s.receive(b"garbage\r\n\r\n", b"").expect_err("garbage");
        assert!(matches!(e, Error::Protocol(_)), "{e:?}");
        let mut s = session(None);
        s.begin(&post(None)).expect("begin");
        let huge = vec![b'a'; MAX_RESPONSE_HEAD + 10];
        let mut wire = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        wire.extend(huge);
        assert!(s.receive(&wire, b"").is_err());
    }

    #[test]
    fn digest_challenge_answered_then_rejection_fails() {
        let creds = Credentials::new("cpe", "secret");
        let mut s = session(Some(creds));
        s.begin(&post(Some(b"<x/>"))).expect("begin");
        s.connected();
        assert!(!String::from_utf8_lossy(s.head())
            .to_ascii_lowercase()
            .contains("authorization"));
        let challenge = b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(feed(&mut s, challenge, b"<x/>"), Received::Resend));
        assert!(!s.needs_connection(), "answered on the same connection");
        let head = String::from_utf8_lossy(s.head()).to_string();
        assert!(head.contains("Digest username=\"cpe\""), "{head}");
        assert!(head.contains("nc=00000001"), "{head}");
        assert!(!head.contains("secret"));
        let e = s.receive(challenge, b"<x/>").expect_err("rejected");
        assert!(matches!(e, Error::Authentication(_)), "{e:?}");
    }

    #[test]
    fn challenge_with_close_is_answered_on_a_new_connection() {
        let mut s = session(Some(Credentials::new("cpe", "secret")));
        s.begin(&post(None)).expect("begin");
        s.connected();
        let challenge = b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(feed(&mut s, challenge, b""), Received::Resend));
        assert!(s.needs_connection());
        s.connected();
        assert_eq!(s.connections_opened(), 2);
        let ok = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert!(matches!(
            feed(&mut s, ok, b""),
            Received::Response(HttpResponse { status: 204, .. })
        ));
    }
}

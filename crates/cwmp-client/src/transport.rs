//! The HTTP(S) transport of one CWMP session (TR-069 §3.4).
//!
//! An [`HttpSession`] is created when a session starts and dropped when it ends. It owns a
//! fresh ureq agent whose pool holds one connection, so every POST of the session reuses the
//! same keep-alive TCP (TLS) connection, and dropping the session closes it. On top of ureq it
//! adds what CWMP needs and a generic HTTP client does not do for it:
//!
//! * the CWMP headers: `Content-Type: text/xml; charset="utf-8"` and `SOAPAction` as the
//!   caller asks; an empty POST carries neither (TR-069 §3.4 "Empty POST");
//! * the `Cookie` header the engine gives (the engine keeps the session's cookie jar and
//!   gets every `Set-Cookie` back in [`HttpResponse::set_cookie`]);
//! * Basic and Digest authentication on a 401, answered on the same connection
//!   ([`crate::auth`]); pre-emptive Basic over TLS; a new origin (after the engine followed a
//!   redirect) starts unauthenticated;
//! * the response timeout of each POST (the engine's, which follows `cwmp:SessionTimeout`)
//!   and a bound on the body size.
//!
//! Every status but a 401 challenge (200, 204, 3xx with its `Location`, 4xx, 5xx) is
//! returned to the caller as it is: the engine decides what a status means for the session,
//! including whether a redirect is followed (TR-069 §3.4).
//!
//! ```text
//!  send(request) ──► POST ──► 401 ──► challenge answered? ──no──► Error::Authentication
//!                     ▲        │              │yes (once, same connection)
//!                     └────────┴──────────────┘
//!                              └─ anything else ──► HttpResponse { status, body, set_cookie, location }
//! ```
//!
//! Connection identity: ureq does not say which connection a request used, so the session
//! chains a tiny connector after ureq's default one that counts the connections it opens.
//! That connector uses ureq's `unversioned` transport API (exempt from semver); the exact
//! ureq version is pinned by `Cargo.lock`.

use crate::auth::{self, Chosen, Credentials, DigestChallenge, DigestRequest};
use crate::error::{from_ureq, Detail, Error};
use crate::tls::TlsSettings;
use cwmp_model::Url;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

/// Tuning of the session transport. Every field has a documented default.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// How long [`HttpSession::post`] waits for each HTTP response (and for its body),
    /// default 30 s, the floor TR-069 §3.4 sets ("wait at least 30 s"). The driver uses the
    /// engine's timeout of each POST instead ([`PostRequest::timeout`]).
    pub response_timeout: Duration,
    /// How long to wait for the TCP connection and the TLS handshake, default 30 s.
    pub connect_timeout: Duration,
    /// Largest response body accepted, default 4 MiB; a larger one fails the session.
    pub max_response_body: u64,
    /// Send Basic credentials in the first request when the URL is https (TR-069 §3.4: "Over
    /// TLS the CPE SHOULD send Basic credentials pre-emptively"), default true. Over plain
    /// HTTP credentials are only ever sent in answer to a challenge.
    pub preemptive_basic_over_tls: bool,
    /// The `User-Agent` header, default `cwmp-client/<version>`.
    pub user_agent: String,
    /// Size of the connection's input and output buffers, each allocated (and zeroed) when
    /// the session opens its connection; default 128 KiB (ureq's default). A process that
    /// runs thousands of sessions (the fleet simulator) sets it lower: a response head must
    /// fit in the input buffer.
    pub io_buffer_size: usize,
}

impl Default for TransportConfig {
    fn default() -> TransportConfig {
        TransportConfig {
            response_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            max_response_body: 4 * 1024 * 1024,
            preemptive_basic_over_tls: true,
            user_agent: concat!("cwmp-client/", env!("CARGO_PKG_VERSION")).to_string(),
            io_buffer_size: 128 * 1024,
        }
    }
}

/// The final HTTP response to one POST, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code (200, 204, 3xx, 4xx, 5xx; never a 401 challenge that was answered).
    pub status: u16,
    /// The body, read completely (at most [`TransportConfig::max_response_body`] bytes).
    pub body: Vec<u8>,
    /// Every `Set-Cookie` header value, in order.
    pub set_cookie: Vec<String>,
    /// The `Location` header, if any.
    pub location: Option<String>,
}

impl HttpResponse {
    /// The engine input for this response.
    pub fn into_input(self) -> cwmp_engine::Input {
        cwmp_engine::Input::HttpResponse {
            status: self.status,
            body: self.body,
            set_cookie: self.set_cookie,
            location: self.location,
        }
    }
}

/// One POST of a session, as the engine's [`cwmp_engine::Output::SendPost`] describes it.
#[derive(Debug, Clone, Copy)]
pub struct PostRequest<'a> {
    /// Where to POST (the ACS URL or the Inform's redirect target).
    pub url: &'a str,
    /// The envelope, `None` for an empty POST.
    pub body: Option<&'a [u8]>,
    /// The `SOAPAction` value (`Some("")` = the header with an empty value).
    pub soap_action: Option<&'a str>,
    /// The `Cookie` header value.
    pub cookie: Option<&'a str>,
    /// How long to wait for the response.
    pub timeout: Duration,
}

/// The media type of every POST that carries an envelope (TR-069 §3.4 "Content-Type").
pub const CONTENT_TYPE_XML: &str = "text/xml; charset=\"utf-8\"";

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

/// Counts the connections ureq opens; chained after its default connector, it is called once
/// per new connection and never for a pooled one.
#[derive(Debug)]
struct CountConnections(Arc<AtomicU64>);

impl Connector<Box<dyn Transport>> for CountConnections {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        _details: &ConnectionDetails<'_>,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if chained.is_some() {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        Ok(chained)
    }
}

/// ureq resolves the host before every request (even when the pooled connection is reused)
/// and, with a resolve timeout set, on a new thread each time. For a session that is waste:
/// an IP literal needs no lookup, and a name is looked up once per session (a session lasts
/// seconds to minutes, far below any DNS TTL that matters here).
#[derive(Debug, Default)]
struct SessionResolver {
    cache: Mutex<Option<(String, ResolvedSocketAddrs)>>,
    inner: DefaultResolver,
}

impl Resolver for SessionResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or("");
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let mut out = self.empty();
            out.push(SocketAddr::new(ip, port));
            return Ok(out);
        }
        let key = format!("{host}:{port}");
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((k, addrs)) = cache.as_ref() {
            if *k == key {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        *cache = Some((key, addrs.clone()));
        Ok(addrs)
    }
}

/// The HTTP side of one CWMP session. Create one per session, call [`post`](Self::post) for
/// each message, drop it when the session ends (that closes the connection and forgets the
/// cookies, the redirect target and the authentication state).
pub struct HttpSession {
    agent: ureq::Agent,
    config: TransportConfig,
    /// The URL of the last POST (the ACS URL, or where the engine was redirected).
    url: Url,
    credentials: Option<Credentials>,
    auth: AuthState,
    /// Basic is being sent pre-emptively (TLS) and no server has challenged yet: a Digest
    /// challenge in answer is the server's choice of scheme, not a rejection.
    basic_unchallenged: bool,
    rng: ChaCha8Rng,
    connections: Arc<AtomicU64>,
    /// Connection the previous response arrived on, and whether it announced `Connection: close`.
    last_conn: u64,
    last_close: bool,
}

impl std::fmt::Debug for HttpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSession")
            .field("url", &self.url)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl HttpSession {
    /// Prepare a session with the ACS at `url` (http or https). No connection is opened until
    /// the first [`post`](Self::post). `seed` feeds the Digest cnonce generator.
    pub fn new(
        config: &TransportConfig,
        tls: &TlsSettings,
        url: &str,
        credentials: Option<Credentials>,
        seed: u64,
    ) -> Result<HttpSession, Error> {
        let parsed = parse_url(url)?;
        let connections = Arc::new(AtomicU64::new(0));
        let agent_config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .save_redirect_history(false)
            .proxy(None)
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            // Between two POSTs the CPE may work for a while (a large GetParameterValues); the
            // liveness of the pooled connection is checked before reuse anyway.
            .max_idle_age(Duration::from_secs(3600))
            .timeout_resolve(Some(config.connect_timeout))
            .timeout_connect(Some(config.connect_timeout))
            .timeout_send_request(Some(config.response_timeout))
            .timeout_send_body(Some(config.response_timeout))
            .timeout_recv_response(Some(config.response_timeout))
            .timeout_recv_body(Some(config.response_timeout))
            .user_agent(config.user_agent.as_str())
            .input_buffer_size(config.io_buffer_size)
            .output_buffer_size(config.io_buffer_size)
            .tls_config(tls.ureq_config())
            .build();
        let connector = DefaultConnector::new().chain(CountConnections(connections.clone()));
        let agent = ureq::Agent::with_parts(agent_config, connector, SessionResolver::default());
        let auth = initial_auth(&credentials, &parsed, config);
        let basic_unchallenged = matches!(auth, AuthState::Basic);
        Ok(HttpSession {
            basic_unchallenged,
            agent,
            config: config.clone(),
            url: parsed,
            credentials,
            auth,
            rng: ChaCha8Rng::seed_from_u64(seed),
            connections,
            last_conn: 0,
            last_close: false,
        })
    }

    /// The URL of the last POST (the ACS URL, or where the engine was redirected).
    pub fn url(&self) -> String {
        self.url.to_string()
    }

    /// How many TCP connections the session has opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// A handle that can abort this session's I/O from another thread (see
    /// [`SessionAbort::abort`]).
    pub fn abort_handle(&self) -> SessionAbort {
        SessionAbort(self.agent.clone())
    }

    /// Send one POST to the session's URL with the configured response timeout and no
    /// cookie, and return the final response (see [`send`](Self::send)).
    ///
    /// `body` is the envelope (`None` = empty POST: `Content-Length: 0`, no `Content-Type`, no
    /// `SOAPAction`); `soap_action` is the `SOAPAction` value (`Some("")` sends the header
    /// with an empty value, `None` sends none). Ignored for an empty POST.
    pub fn post(
        &mut self,
        body: Option<&[u8]>,
        soap_action: Option<&str>,
    ) -> Result<HttpResponse, Error> {
        let url = self.url.to_string();
        let timeout = self.config.response_timeout;
        self.send(&PostRequest {
            url: &url,
            body,
            soap_action,
            cookie: None,
            timeout,
        })
    }

    /// Send one POST of the session as the engine asked ([`cwmp_engine::Output::SendPost`])
    /// and return the final response. A URL of another origin than the previous POST's (the
    /// engine followed a redirect) starts unauthenticated: credentials answer a challenge of
    /// one server.
    pub fn send(&mut self, request: &PostRequest<'_>) -> Result<HttpResponse, Error> {
        let target = parse_url(request.url)?;
        if !target.same_origin(&self.url) {
            self.auth = initial_auth(&self.credentials, &target, &self.config);
            self.basic_unchallenged = matches!(self.auth, AuthState::Basic);
            self.last_close = false;
        }
        self.url = target;
        let (body, soap_action) = (request.body, request.soap_action);
        // A 401 is answered at most this often per POST (a first challenge, plus one more when
        // the connection changed under a Digest nonce), so a confused ACS cannot loop us.
        let mut auth_rounds = 0u32;
        // The previous response closed the connection, so this POST opens a new one. A Digest
        // nonce may be bound to the old connection (GenieACS does that), so credentials are
        // withheld until the server challenges again on the new connection; a server that
        // keeps the session authenticated by its cookie simply does not challenge.
        if self.last_close && matches!(self.auth, AuthState::Digest(_)) {
            self.auth = AuthState::None;
        }
        loop {
            let url = self.url.clone();
            // A challenge that came with `Connection: close` is answered on a new connection:
            // with a fresh cnonce (TR-069 §3.4 "fresh cnonce per new TCP connection").
            if self.last_close {
                if let AuthState::Digest(d) = &mut self.auth {
                    d.cnonce = fresh_cnonce(&mut self.rng);
                    d.nc = 0;
                }
            }
            let authorization = self.authorization(&url, body.unwrap_or(&[]));
            let sent_credentials = authorization.is_some();

            let timeout = Some(request.timeout);
            let mut req = self
                .agent
                .post(url.to_string())
                .config()
                .timeout_send_request(timeout)
                .timeout_send_body(timeout)
                .timeout_recv_response(timeout)
                .timeout_recv_body(timeout)
                .build();
            if body.is_some() {
                req = req.header("Content-Type", CONTENT_TYPE_XML);
                if let Some(a) = soap_action {
                    req = req.header("SOAPAction", a);
                }
            }
            if let Some(c) = request.cookie {
                req = req.header("Cookie", c);
            }
            if let Some(a) = &authorization {
                req = req.header("Authorization", a);
            }
            let before = self.connections.load(Ordering::SeqCst);
            let sent = match body {
                Some(b) => req.send(b),
                None => req.send_empty(),
            };
            let mut resp = sent.map_err(from_ureq)?;
            let conn = self.connections.load(Ordering::SeqCst);
            let new_connection = conn != before;
            if new_connection {
                log::debug!("session uses connection #{conn} to {}", url.host());
            }
            self.last_conn = conn;

            let status = resp.status().as_u16();
            let set_cookie: Vec<String> = resp
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_string))
                .collect();
            self.last_close = resp
                .headers()
                .get_all("connection")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
            let challenges: Vec<String> = resp
                .headers()
                .get_all("www-authenticate")
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_string))
                .collect();
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            // Read the whole body, also for a 401 or a 3xx: only a fully read response
            // returns the connection to the pool, and the 401 retry must reuse it.
            let body_bytes = resp
                .body_mut()
                .with_config()
                .limit(self.config.max_response_body)
                .read_to_vec()
                .map_err(from_ureq)?;

            if status == 401 {
                auth_rounds += 1;
                self.handle_challenge(&challenges, sent_credentials, conn, auth_rounds)?;
                continue;
            }
            return Ok(HttpResponse {
                status,
                body: body_bytes,
                set_cookie,
                location,
            });
        }
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
            // A 401 after credentials is a failed session (TR-069 §3.4, §3.7.1.4), except when the
            // nonce was not the server's to judge: it came from another connection (GenieACS
            // binds nonces to the TCP connection) or the server says it went stale.
            let retry_ok = match (&self.auth, &chosen) {
                (AuthState::Digest(d), Some(Chosen::Digest(new))) => {
                    (new.stale || d.conn != conn) && rounds <= 2
                }
                // Pre-emptive Basic over TLS (TR-069 §3.4 SHOULD) met an ACS that wants Digest:
                // its first challenge is answered, as if nothing had been sent.
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

/// Aborts the I/O of one [`HttpSession`] from another thread (used by the driver's shutdown).
#[derive(Debug, Clone)]
pub struct SessionAbort(ureq::Agent);

impl SessionAbort {
    /// Close the session's connections; a POST blocked on them fails at once.
    pub fn abort(&self) {
        self.0.clone().shutdown();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_urls_are_http_without_user_information() {
        assert!(parse_url("https://ACS.example.com:7548/cwmp?x=1").is_ok());
        for bad in [
            "",
            "ftp://x/",
            "http://",
            "http://:80/",
            "http://h:x/",
            "http://u@h/",
            "h/x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}

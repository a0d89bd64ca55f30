//! The HTTP(S) transport of one CWMP session (TR-069 §3.4).
//!
//! An [`HttpSession`] is created when a session starts and dropped when it ends. It owns a
//! fresh ureq agent whose pool holds one connection, so every POST of the session reuses the
//! same keep-alive TCP (TLS) connection, and dropping the session closes it. On top of ureq it
//! adds what CWMP needs and a generic HTTP client does not do for it:
//!
//! * the CWMP headers: `Content-Type: text/xml; charset="utf-8"` and `SOAPAction` as the
//!   caller asks; an empty POST carries neither (TR-069 §3.4 "Empty POST");
//! * the session's cookies ([`crate::cookies`]), dropped with the session;
//! * Basic and Digest authentication on a 401, answered on the same connection
//!   ([`crate::auth`]); pre-emptive Basic over TLS;
//! * redirects (301, 302, 307) of the Inform only, at most `max_redirects` per session, the new
//!   URL kept for this session only;
//! * a per-response timeout and a bound on the body size.
//!
//! Every other status (200, 204, 4xx, 5xx) is returned to the caller as it is: the engine
//! decides what a status means for the session.
//!
//! ```text
//!  post(body) ──► send ──► 401 ──► challenge answered? ──no──► Error::Authentication
//!                  ▲        │              │yes (once, same connection)
//!                  │        │              └──────────────────────┐
//!                  │        ├─ 301/302/307 on the Inform ──► new URL (≤ 5) ─┤
//!                  │        │                                                │
//!                  └────────┴────────────────────────────────────────────────┘
//!                           └─ anything else ──► HttpResponse { status, body }
//! ```
//!
//! Connection identity: ureq does not say which connection a request used, so the session
//! chains a tiny connector after ureq's default one that counts the connections it opens.
//! That connector uses ureq's `unversioned` transport API (exempt from semver); the exact
//! ureq version is pinned by `Cargo.lock`.

use crate::auth::{self, Chosen, Credentials, DigestChallenge, DigestRequest};
use crate::cookies::CookieJar;
use crate::error::{from_ureq, Error};
use crate::tls::TlsSettings;
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
    /// How long to wait for each HTTP response (and for its body), default 30 s, the floor
    /// TR-069 §3.4 sets ("wait at least 30 s").
    pub response_timeout: Duration,
    /// How long to wait for the TCP connection and the TLS handshake, default 30 s.
    pub connect_timeout: Duration,
    /// Largest response body accepted, default 4 MiB; a larger one fails the session.
    pub max_response_body: u64,
    /// Redirects followed in one session, default 5 (TR-069 §3.4).
    pub max_redirects: u32,
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
            max_redirects: 5,
            preemptive_basic_over_tls: true,
            user_agent: concat!("cwmp-client/", env!("CARGO_PKG_VERSION")).to_string(),
            io_buffer_size: 128 * 1024,
        }
    }
}

/// The final HTTP response to one POST, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code (200, 204, 4xx, 5xx; never a 401 challenge or a followed redirect).
    pub status: u16,
    /// The body, read completely (at most [`TransportConfig::max_response_body`] bytes).
    pub body: Vec<u8>,
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
    /// The URL in use: the ACS URL, or where the Inform was redirected.
    url: String,
    credentials: Option<Credentials>,
    jar: CookieJar,
    auth: AuthState,
    rng: ChaCha8Rng,
    connections: Arc<AtomicU64>,
    /// Connection the previous response arrived on, and whether it announced `Connection: close`.
    last_conn: u64,
    last_close: bool,
    /// POSTs that got a final answer (or failed); redirects are allowed only while this is 0.
    posts_done: u32,
    redirects: u32,
}

impl std::fmt::Debug for HttpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSession")
            .field("url", &self.url)
            .field("credentials", &self.credentials)
            .field("posts_done", &self.posts_done)
            .field("redirects", &self.redirects)
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
        let parsed = ParsedUrl::parse(url)?;
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
        let auth = match (
            &credentials,
            parsed.https && config.preemptive_basic_over_tls,
        ) {
            (Some(_), true) => AuthState::Basic,
            _ => AuthState::None,
        };
        Ok(HttpSession {
            agent,
            config: config.clone(),
            url: url.to_string(),
            credentials,
            jar: CookieJar::default(),
            auth,
            rng: ChaCha8Rng::seed_from_u64(seed),
            connections,
            last_conn: 0,
            last_close: false,
            posts_done: 0,
            redirects: 0,
        })
    }

    /// The URL the session talks to (the ACS URL, or the redirect target of the Inform).
    pub fn url(&self) -> &str {
        &self.url
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

    /// Send one POST of the session and return the final response.
    ///
    /// `body` is the envelope (`None` = empty POST: `Content-Length: 0`, no `Content-Type`, no
    /// `SOAPAction`); `soap_action` is the `SOAPAction` value (`Some("")` sends the header
    /// with an empty value, `None` sends none). Ignored for an empty POST.
    pub fn post(
        &mut self,
        body: Option<&[u8]>,
        soap_action: Option<&str>,
    ) -> Result<HttpResponse, Error> {
        let result = self.post_inner(body, soap_action);
        self.posts_done = self.posts_done.saturating_add(1);
        result
    }

    fn post_inner(
        &mut self,
        body: Option<&[u8]>,
        soap_action: Option<&str>,
    ) -> Result<HttpResponse, Error> {
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
            let url = ParsedUrl::parse(&self.url)?;
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

            let mut req = self.agent.post(&self.url);
            if body.is_some() {
                req = req.header("Content-Type", CONTENT_TYPE_XML);
                if let Some(a) = soap_action {
                    req = req.header("SOAPAction", a);
                }
            }
            if let Some(c) = self.jar.header(url.https) {
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
                log::debug!("session uses connection #{conn} to {}", url.host);
            }
            self.last_conn = conn;

            let status = resp.status().as_u16();
            for v in resp.headers().get_all("set-cookie") {
                if let Ok(s) = v.to_str() {
                    self.jar.store(s);
                }
            }
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

            match status {
                401 => {
                    auth_rounds += 1;
                    self.handle_challenge(&challenges, sent_credentials, conn, auth_rounds)?;
                }
                301 | 302 | 307 => {
                    if self.posts_done > 0 {
                        return Err(Error::Redirect(format!(
                            "HTTP {status} after the Inform (only the Inform may be redirected)"
                        )));
                    }
                    self.redirects += 1;
                    if self.redirects > self.config.max_redirects {
                        return Err(Error::TooManyRedirects {
                            limit: self.config.max_redirects,
                        });
                    }
                    let Some(loc) = location else {
                        return Err(Error::Redirect(format!("HTTP {status} without Location")));
                    };
                    let target = url.resolve(&loc)?;
                    let new = ParsedUrl::parse(&target)?;
                    if !new.same_origin(&url) {
                        // Cookies and credentials answer a challenge of one server; another
                        // server gets none of them until it asks.
                        self.jar.clear();
                        self.auth = match (&self.credentials, new.https) {
                            (Some(_), true) if self.config.preemptive_basic_over_tls => {
                                AuthState::Basic
                            }
                            _ => AuthState::None,
                        };
                    }
                    log::info!("Inform redirected ({status}) to {target}");
                    self.url = target;
                }
                300..=399 => {
                    return Err(Error::Redirect(format!(
                        "HTTP {status} is not a redirect CWMP follows (301, 302, 307)"
                    )));
                }
                _ => {
                    return Ok(HttpResponse {
                        status,
                        body: body_bytes,
                    })
                }
            }
        }
    }

    /// The `Authorization` header for the next request, if any.
    fn authorization(&mut self, url: &ParsedUrl, body: &[u8]) -> Option<String> {
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
                        uri: &url.request_target,
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
                _ => false,
            };
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
                if !self.url.to_ascii_lowercase().starts_with("https:") {
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

/// The parts of an http(s) URL the transport needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedUrl {
    https: bool,
    /// Host as written (lower-cased), IPv6 literals with brackets.
    host: String,
    port: u16,
    /// `scheme://authority`, for resolving absolute-path references.
    origin: String,
    /// Path and query, as on the request line (`/` when empty).
    request_target: String,
}

impl ParsedUrl {
    pub(crate) fn parse(url: &str) -> Result<ParsedUrl, Error> {
        let bad = |m: &str| Error::InvalidConfig(format!("ACS URL {url:?}: {m}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(bad("scheme must be http or https")),
        };
        let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..auth_end];
        let mut path = &rest[auth_end..];
        if let Some(h) = path.find('#') {
            path = &path[..h];
        }
        if authority.contains('@') {
            return Err(bad("user information in the URL is not supported"));
        }
        let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
            let close = stripped.find(']').ok_or_else(|| bad("bad IPv6 literal"))?;
            let host = &authority[..close + 2];
            let after = &stripped[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None if after.is_empty() => default_port(https),
                None => return Err(bad("bad authority")),
            };
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_string(), default_port(https)),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if url.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad("spaces or control characters"));
        }
        let request_target = if path.is_empty() || path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        Ok(ParsedUrl {
            https,
            host: host.to_ascii_lowercase(),
            port,
            origin: format!("{}://{}", if https { "https" } else { "http" }, authority),
            request_target,
        })
    }

    fn same_origin(&self, other: &ParsedUrl) -> bool {
        self.https == other.https && self.host == other.host && self.port == other.port
    }

    /// Resolve a `Location` value (RFC 7231 §7.1.2 allows a relative reference).
    pub(crate) fn resolve(&self, location: &str) -> Result<String, Error> {
        let loc = location.trim();
        let lower = loc.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(loc.to_string());
        }
        if loc.contains("://") {
            return Err(Error::Redirect(format!(
                "Location {loc:?} is not an http or https URL"
            )));
        }
        if let Some(rest) = loc.strip_prefix("//") {
            return Ok(format!(
                "{}://{rest}",
                if self.https { "https" } else { "http" }
            ));
        }
        if loc.starts_with('/') {
            return Ok(format!("{}{loc}", self.origin));
        }
        if loc.is_empty() {
            return Err(Error::Redirect("empty Location".into()));
        }
        // A relative path: replace the last segment of the current path.
        let path = self.request_target.split('?').next().unwrap_or("/");
        let dir = &path[..path.rfind('/').map(|i| i + 1).unwrap_or(0)];
        Ok(format!("{}{dir}{loc}", self.origin))
    }
}

fn default_port(https: bool) -> u16 {
    if https {
        443
    } else {
        80
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing() {
        let u = ParsedUrl::parse("https://ACS.example.com:7548/cwmp?x=1").expect("ok");
        assert!(u.https);
        assert_eq!(u.host, "acs.example.com");
        assert_eq!(u.port, 7548);
        assert_eq!(u.request_target, "/cwmp?x=1");
        let u = ParsedUrl::parse("http://127.0.0.1").expect("ok");
        assert_eq!((u.port, u.request_target.as_str()), (80, "/"));
        let u = ParsedUrl::parse("http://[::1]:8080/a").expect("ok");
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 8080));
        for bad in [
            "",
            "ftp://x/",
            "http://",
            "http://:80/",
            "http://h:x/",
            "http://u@h/",
            "h/x",
        ] {
            assert!(ParsedUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn location_resolution() {
        let u = ParsedUrl::parse("http://acs:7547/a/b").expect("ok");
        assert_eq!(u.resolve("https://other/x").expect("ok"), "https://other/x");
        assert_eq!(u.resolve("/c").expect("ok"), "http://acs:7547/c");
        assert_eq!(u.resolve("c").expect("ok"), "http://acs:7547/a/c");
        assert_eq!(u.resolve("//h2:1/z").expect("ok"), "http://h2:1/z");
        assert!(u.resolve("ftp://x/").is_err());
        assert!(u.resolve("").is_err());
    }
}

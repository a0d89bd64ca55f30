//! The phone's web-based management (seed 000: "Configuration parameters set via TR-069 can
//! be overwritten via local admin menu or web based management").
//!
//! ```text
//!  browser ──► http::Listener (TR-064's bounded listener, HTTP or HTTPS with the device
//!              certificate) ──► Web::respond ──► login? ──► session cookie ok? ──► CSRF ok?
//!                                                  │             │ no: 303 /login   │ no: 403
//!                                                  ▼             ▼                  ▼
//!                                   pages: Status, Configuration, Actions, Sessions, TR-064
//!                                   writes: phone::set_items as a store job (= admin set)
//! ```
//!
//! Decisions (where the issue is silent):
//! * **Server**: the TR-064 listener (`tr064::http`), generalised to any [`http::Handler`]:
//!   it already bounds connections, head and body sizes and times, and does TLS with the
//!   device certificate; a crate server (tiny_http) would bring a second, older rustls.
//! * **Login**: `admin-username`/`admin-password`, the identity every local management
//!   interface shares. An empty `admin-password` (the factory value) refuses every login:
//!   the page says to set one (`cpe-agent admin set admin-password …`).
//! * **Rate limit**: per client address, [`MAX_FAILURES`] failed logins, then every login
//!   from it is refused for [`LOCKOUT`] (also a right one); at most [`MAX_CLIENTS`] addresses
//!   are tracked.
//! * **Sessions**: a random 128-bit token in cookie `cpe_session` (HttpOnly, SameSite=Strict,
//!   Secure over HTTPS), at most [`MAX_SESSIONS`] (the oldest goes), idle timeout
//!   [`IDLE_TIMEOUT`]. Each session has its CSRF token, a hidden field of every form; the
//!   login form has its own, bound to a pre-login cookie (double submit).
//! * **Inform now** opens a session the way a connection request does (the engine has no
//!   other input for it), so the Inform carries `6 CONNECTION REQUEST` along with whatever is
//!   pending (a local change's `4 VALUE CHANGE`).
//! * **Origin** of a value: the store records who wrote each item with the write
//!   ([`cwmp_model::ValueOrigin`]: acs, local, provisioning); no record is `factory`, or
//!   `device` for identity and status items the phone keeps.
//! * **Provisioning**: the `auto-provision-*` settings and the access table
//!   (`provisioning.jsonl`), newest first.

pub mod form;
mod pages;

use crate::tr064::http::{self, Handler, Head, Listener};
use crate::tr064::PhoneAccess;
use deskphone_datamodel::DeskPhoneModel;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failed logins from one address before it is locked out.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked-out address is refused.
pub const LOCKOUT: Duration = Duration::from_secs(60);
/// Addresses whose failures are tracked.
pub const MAX_CLIENTS: usize = 256;
/// Logged-in sessions at once.
pub const MAX_SESSIONS: usize = 16;
/// A session unused this long is logged out.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// The session cookie.
pub const SESSION_COOKIE: &str = "cpe_session";
/// The pre-login cookie that the login form's CSRF token is bound to.
pub const LOGIN_COOKIE: &str = "cpe_login";

/// What the web pages need from the daemon.
pub struct WebEnv {
    /// The phone's model (factory defaults included).
    pub model: Arc<DeskPhoneModel>,
    /// Store jobs, reboot and factory reset (the same access TR-064 has).
    pub phone: Arc<dyn PhoneAccess>,
    /// Open a session now; `Err` when the phone is restarting.
    pub inform_now: Box<dyn Fn() -> Result<(), String> + Send + Sync>,
    /// The state directory (traces, CWMP state).
    pub state_dir: PathBuf,
    /// The TR-064 listeners' addresses, when `[tr064]` is on.
    pub tr064: Option<crate::tr064::Tr064Config>,
}

/// A logged-in browser.
struct Session {
    csrf: String,
    last_seen: Instant,
}

/// Failed logins of one address.
struct Failures {
    count: u32,
    last: Instant,
}

/// The web interface: routing, login, sessions.
pub struct Web {
    env: WebEnv,
    started: Instant,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

/// The running listeners; dropping it closes the ports.
#[derive(Debug)]
pub struct WebServer {
    /// The HTTP listener.
    pub http: Option<Listener>,
    /// The HTTPS listener.
    pub https: Option<Listener>,
}

impl WebServer {
    /// Listen on `http` and/or `https` (the latter with the device certificate
    /// `tls = (cert PEM, key PEM)`).
    pub fn start(
        env: WebEnv,
        http_addr: Option<SocketAddr>,
        https_addr: Option<SocketAddr>,
        tls: Option<(&str, &str)>,
    ) -> std::io::Result<WebServer> {
        let web: Arc<Web> = Arc::new(Web {
            env,
            started: Instant::now(),
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        });
        let http = http_addr
            .map(|a| Listener::start(a, web.clone(), http::plain(), false, "web"))
            .transpose()?;
        let https = match (https_addr, tls) {
            (Some(a), Some((c, k))) => Some(Listener::start(
                a,
                web.clone(),
                http::tls(c, k)?,
                true,
                "web",
            )?),
            (Some(a), None) => {
                log::warn!("web-https-address {a}: no device certificate, HTTPS not started");
                None
            }
            _ => None,
        };
        Ok(WebServer { http, https })
    }
}

/// A response before it becomes bytes.
pub(crate) struct Resp {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Resp {
    fn page(status: u16, body: String) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body,
        }
    }

    fn redirect(to: &str) -> Resp {
        Resp {
            status: 303,
            headers: vec![("Location", to.to_string())],
            body: String::new(),
        }
    }

    fn with(mut self, name: &'static str, value: String) -> Resp {
        self.headers.push((name, value));
        self
    }

    fn bytes(&self, keep_alive: bool, head_only: bool) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            303 => "See Other",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            422 => "Unprocessable Content",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let mut s = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n\
             Content-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
             X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n\
             Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; \
             form-action 'self'; frame-ancestors 'none'\r\n",
            self.status,
            self.body.len()
        );
        for (n, v) in &self.headers {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
        s.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        let mut out = s.into_bytes();
        if !head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
        out
    }
}

/// A fresh random token (128 bits, hex).
fn token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn cookie_attrs(tls: bool) -> &'static str {
    if tls {
        "; Path=/; HttpOnly; SameSite=Strict; Secure"
    } else {
        "; Path=/; HttpOnly; SameSite=Strict"
    }
}

impl Handler for Web {
    fn respond(&self, peer: IpAddr, head: &Head, body: &[u8], tls: bool) -> Vec<u8> {
        let resp = self.route(peer, head, body, tls);
        resp.bytes(head.keep_alive, head.method == "HEAD")
    }
}

impl Web {
    fn route(&self, peer: IpAddr, head: &Head, body: &[u8], tls: bool) -> Resp {
        let path = head.target.split('?').next().unwrap_or("");
        let query = head.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        let get = head.method == "GET" || head.method == "HEAD";
        let post = head.method == "POST";
        if !get && !post {
            return Resp::page(
                405,
                pages::message("Method not allowed", "GET or POST only."),
            )
            .with("Allow", "GET, HEAD, POST".into());
        }
        let cookie = |name: &str| {
            head.cookie
                .as_deref()
                .and_then(|c| form::cookie(c, name))
                .map(str::to_string)
        };
        let form = if post {
            match form::parse_form(body) {
                Ok(f) => f,
                Err(e) => return Resp::page(400, pages::message("Bad request", &e.to_string())),
            }
        } else {
            Vec::new()
        };
        if path == "/login" {
            return if post {
                self.login(peer, &form, cookie(LOGIN_COOKIE), tls)
            } else {
                self.login_page(None, tls)
            };
        }
        // Everything else needs a session.
        let Some(csrf) = cookie(SESSION_COOKIE).and_then(|t| self.session(&t)) else {
            return if get {
                Resp::redirect("/login")
            } else {
                Resp::page(403, pages::message("Forbidden", "Log in first."))
            };
        };
        if post {
            let ok = form::field(&form, "csrf").is_some_and(|t| same(t, &csrf));
            if !ok {
                return Resp::page(
                    403,
                    pages::message(
                        "Forbidden",
                        "The form's security token is missing or stale: reload the page and try again.",
                    ),
                );
            }
        }
        let ctx = pages::Ctx {
            csrf: &csrf,
            tr064: self.env.tr064.is_some(),
        };
        match (path, post) {
            ("/", false) | ("/status", false) => Resp::page(200, self.status_page(&ctx)),
            ("/config", false) => {
                let saved = query.strip_prefix("saved=").map(str::to_string);
                Resp::page(200, self.config_page(&ctx, None, saved.as_deref()))
            }
            ("/config", true) => self.config_set(&ctx, &form),
            ("/actions", false) => Resp::page(200, pages::actions(&ctx, None)),
            ("/action", true) => self.action(&ctx, &form),
            ("/sessions", false) => Resp::page(
                200,
                pages::sessions(&ctx, &pages::session_list(&self.trace_dir())),
            ),
            (p, false) if p.starts_with("/sessions/") => {
                let name = &p["/sessions/".len()..];
                match pages::session_detail(&ctx, &self.trace_dir(), name) {
                    Some(page) => Resp::page(200, page),
                    None => Resp::page(404, pages::message("Not found", "No such session.")),
                }
            }
            ("/provisioning", false) => Resp::page(200, self.provisioning_page(&ctx)),
            ("/tr064", false) if self.env.tr064.is_some() => Resp::page(
                200,
                pages::tr064(&ctx, self.env.tr064.as_ref().expect("checked")),
            ),
            ("/logout", true) => {
                if let Some(t) = cookie(SESSION_COOKIE) {
                    self.lock_sessions().remove(&t);
                }
                Resp::redirect("/login").with(
                    "Set-Cookie",
                    format!("{SESSION_COOKIE}=; Max-Age=0{}", cookie_attrs(tls)),
                )
            }
            _ => Resp::page(404, pages::message("Not found", "No such page.")),
        }
    }

    /// The provisioning page: the `auto-provision-*` items (read on the driver's thread,
    /// secrets masked) and the access log.
    fn provisioning_page(&self, ctx: &pages::Ctx<'_>) -> String {
        let model = self.env.model.clone();
        let settings = crate::tr064::on_store(&*self.env.phone, move |s| {
            model
                .items()
                .iter()
                .filter(|it| {
                    it.name().starts_with("auto-provision-")
                        || it.name().ends_with("encryption-key")
                })
                .map(|it| {
                    let v = model.item_value(s.backend(), it.name()).unwrap_or_default();
                    let shown = if it.is_secret() && !v.is_empty() {
                        crate::phone::MASK.to_owned()
                    } else {
                        v
                    };
                    (it.name().to_owned(), shown)
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
        let records = crate::provision::access_log::read(&self.env.state_dir);
        pages::provisioning(ctx, &settings, &records)
    }

    fn trace_dir(&self) -> PathBuf {
        self.env.state_dir.join("trace")
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The CSRF token of a live session (and mark it used).
    fn session(&self, token: &str) -> Option<String> {
        let mut s = self.lock_sessions();
        s.retain(|_, v| v.last_seen.elapsed() < IDLE_TIMEOUT);
        let found = s.iter_mut().find(|(k, _)| same(k, token))?;
        found.1.last_seen = Instant::now();
        Some(found.1.csrf.clone())
    }

    fn login_page(&self, error: Option<&str>, tls: bool) -> Resp {
        let pre = token();
        Resp::page(
            if error.is_some() { 403 } else { 200 },
            pages::login(&pre, error),
        )
        .with(
            "Set-Cookie",
            format!("{LOGIN_COOKIE}={pre}{}", cookie_attrs(tls)),
        )
    }

    fn locked_out(&self, peer: IpAddr) -> bool {
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.get(&peer)
            .is_some_and(|x| x.count >= MAX_FAILURES && x.last.elapsed() < LOCKOUT)
    }

    fn note_failure(&self, peer: IpAddr) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.retain(|_, x| x.last.elapsed() < LOCKOUT);
        if f.len() >= MAX_CLIENTS && !f.contains_key(&peer) {
            // Full: forget the oldest.
            if let Some(oldest) = f.iter().min_by_key(|(_, x)| x.last).map(|(k, _)| *k) {
                f.remove(&oldest);
            }
        }
        let e = f.entry(peer).or_insert(Failures {
            count: 0,
            last: Instant::now(),
        });
        e.count += 1;
        e.last = Instant::now();
    }

    fn login(
        &self,
        peer: IpAddr,
        form: &[(String, String)],
        pre: Option<String>,
        tls: bool,
    ) -> Resp {
        let token_ok = match (form::field(form, "csrf"), pre.as_deref()) {
            (Some(a), Some(b)) => same(a, b),
            _ => false,
        };
        if !token_ok {
            return self.login_page(
                Some("The form's security token is missing or stale: try again."),
                tls,
            );
        }
        if self.locked_out(peer) {
            log::warn!("web: login from {peer} refused (too many failures)");
            let mut r = self.login_page(
                Some("Too many failed logins from this address: wait a minute and try again."),
                tls,
            );
            r.status = 429;
            return r;
        }
        let user = form::field(form, "username").unwrap_or("").to_string();
        let password = form::field(form, "password").unwrap_or("").to_string();
        let model = self.env.model.clone();
        let stored = crate::tr064::on_store(&*self.env.phone, move |s| {
            (
                model
                    .item_value(s.backend(), "admin-username")
                    .unwrap_or_default(),
                model
                    .item_value(s.backend(), "admin-password")
                    .unwrap_or_default(),
            )
        });
        let (want_user, want_password) = match stored {
            Ok(v) => v,
            Err(e) => {
                let mut r =
                    self.login_page(Some(&format!("The phone is busy ({e}); try again.")), tls);
                r.status = 503;
                return r;
            }
        };
        if want_password.is_empty() {
            return self.login_page(
                Some("No admin password is set on this phone, so the web interface is closed. Set one with `cpe-agent admin --config FILE set admin-password …`."),
                tls,
            );
        }
        if !(same(&user, &want_user) & same(&password, &want_password)) {
            self.note_failure(peer);
            log::warn!("web: failed login from {peer}");
            return self.login_page(Some("Wrong user name or password."), tls);
        }
        let t = token();
        {
            let mut s = self.lock_sessions();
            if s.len() >= MAX_SESSIONS {
                if let Some(oldest) = s
                    .iter()
                    .min_by_key(|(_, v)| v.last_seen)
                    .map(|(k, _)| k.clone())
                {
                    s.remove(&oldest);
                }
            }
            s.insert(
                t.clone(),
                Session {
                    csrf: token(),
                    last_seen: Instant::now(),
                },
            );
        }
        log::info!("web: {user:?} logged in from {peer}");
        Resp::redirect("/").with(
            "Set-Cookie",
            format!("{SESSION_COOKIE}={t}{}", cookie_attrs(tls)),
        )
    }

    fn status_page(&self, ctx: &pages::Ctx<'_>) -> String {
        let model = self.env.model.clone();
        let facts =
            crate::tr064::on_store(&*self.env.phone, move |s| pages::status_facts(s, &model));
        let pending = crate::state::load_cwmp_state(&self.env.state_dir)
            .map(|s| s.pending_event_codes())
            .unwrap_or_default();
        let last = pages::session_list(&self.trace_dir()).into_iter().next();
        match facts {
            Ok(f) => pages::status(ctx, &f, self.started.elapsed(), &pending, last.as_ref()),
            Err(e) => pages::message("The phone is restarting", &e),
        }
    }

    fn config_page(
        &self,
        ctx: &pages::Ctx<'_>,
        error: Option<(&str, &str, &str)>,
        saved: Option<&str>,
    ) -> String {
        let model = self.env.model.clone();
        match crate::tr064::on_store(&*self.env.phone, move |s| pages::item_rows(s, &model)) {
            Ok(rows) => pages::config(ctx, &self.env.model, &rows, error, saved),
            Err(e) => pages::message("The phone is restarting", &e),
        }
    }

    /// One item written as `admin set` writes it (validated like a CWMP set, refused for
    /// identity items; the store's listener tells the engine, which notifies the ACS).
    fn config_set(&self, ctx: &pages::Ctx<'_>, form: &[(String, String)]) -> Resp {
        let item = form::field(form, "item").unwrap_or("").to_string();
        let value = form::field(form, "value").unwrap_or("").to_string();
        let Some(def) = self.env.model.item(&item) else {
            return Resp::page(404, pages::message("Not found", "No such item."));
        };
        if def.is_secret() && value.is_empty() {
            // Write-only: an empty field leaves the secret as it is.
            return Resp::redirect(&format!("/config?saved={item}#{item}"));
        }
        let model = self.env.model.clone();
        let items = vec![(item.clone(), value.clone())];
        let result = crate::tr064::on_store(&*self.env.phone, move |s| {
            crate::phone::set_items(s, &model, &items)
        });
        match result {
            Ok(Ok(change)) => {
                log::info!("web: local change: {}", change.report.trim_end());
                Resp::redirect(&format!("/config?saved={item}#{item}"))
            }
            Ok(Err(e)) => {
                let shown = if def.is_secret() { "" } else { value.as_str() };
                Resp::page(422, self.config_page(ctx, Some((&item, shown, &e)), None))
            }
            Err(e) => Resp::page(503, pages::message("The phone is restarting", &e)),
        }
    }

    fn action(&self, ctx: &pages::Ctx<'_>, form: &[(String, String)]) -> Resp {
        let what = form::field(form, "what").unwrap_or("");
        if !matches!(what, "inform" | "reboot" | "factory-reset") {
            return Resp::page(404, pages::message("Not found", "No such action."));
        }
        if form::field(form, "confirm") != Some("yes") {
            return Resp::page(200, pages::confirm(ctx, what));
        }
        let result = match what {
            "inform" => {
                (self.env.inform_now)().map(|()| "The phone opens a session with its ACS now.")
            }
            "reboot" => self
                .env
                .phone
                .reboot()
                .map(|()| "The phone reboots now; this page answers again in a few seconds."),
            _ => self
                .env
                .phone
                .factory_reset()
                .map(|()| "The phone resets to its factory settings and reboots now."),
        };
        log::info!("web: action {what}: {result:?}");
        match result {
            Ok(done) => Resp::page(200, pages::actions(ctx, Some(done))),
            Err(e) => Resp::page(503, pages::actions(ctx, Some(&e))),
        }
    }
}

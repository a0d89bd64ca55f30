//! The driver's side of connection requests: keeps the HTTP listener, the UDP socket and the
//! store in step (TR-069 §3.2.2, Annex G). Runs on the driver's thread only, once per turn of
//! [`Client::run`](crate::Client::run)'s loop.
//!
//! * `HTTPConnectionRequestEnable` (absent = true) opens and closes the listener.
//! * `ConnectionRequestURL` = `http://<local IP towards the ACS>:<port><path>`, empty while
//!   the listener is closed. The local IP is the one the OS would use towards the ACS host
//!   (a UDP socket connected to it, no packet sent), or the bind address when it is not a
//!   wildcard.
//! * The path is `/cr-<16 hex digits>`, random per device; the path of the stored URL is
//!   reused, so it survives restarts as long as the URL was not empty (the listener was on).
//! * A bind failure is logged and retried at most every [`BIND_RETRY`] (while the loop wakes).
//! * The listener's credentials snapshot follows ConnectionRequestUsername / Password.

use crate::driver::ClientHandle;
use crate::listener::{ConnectionRequestConfig, Credentials, HttpListener};
use crate::udp::UdpEndpoint;
use cwmp_engine::Input;
use cwmp_model::{ParameterStore, Value};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long after a failed bind the driver tries again.
pub const BIND_RETRY: Duration = Duration::from_secs(30);

const MS: &str = "ManagementServer.";

/// What the store said last time.
#[derive(Clone, PartialEq, Eq, Default)]
struct Snapshot {
    enable: bool,
    credentials: Credentials,
    acs_url: String,
}

pub(crate) struct ConnReqRuntime {
    config: ConnectionRequestConfig,
    root: String,
    handle: ClientHandle,
    credentials: Arc<Mutex<Credentials>>,
    last: Option<Snapshot>,
    http: Option<HttpListener>,
    http_retry_at: Option<Instant>,
    path: Option<String>,
    udp: Option<UdpEndpoint>,
    udp_retry_at: Option<Instant>,
    /// The local address last given to the engine with `Input::UdpBound`.
    udp_reported: Option<SocketAddr>,
}

impl fmt::Debug for ConnReqRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnReqRuntime")
            .field("http", &self.http)
            .field("udp", &self.udp)
            .finish_non_exhaustive()
    }
}

fn value<S: ParameterStore + ?Sized>(store: &mut S, name: &str) -> Option<Value> {
    store.internal_value(name)
}

fn text<S: ParameterStore + ?Sized>(store: &mut S, name: &str) -> String {
    match value(store, name) {
        Some(Value::String(s)) => s,
        Some(v) => v.to_lexical(),
        None => String::new(),
    }
}

/// `host` and port of an `http(s)://` URL (`[v6]` without brackets; default ports 80/443).
fn url_host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let default = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .unwrap_or(default);
        return Some((host.to_owned(), port));
    }
    match authority.split_once(':') {
        Some((h, p)) => Some((h.to_owned(), p.parse().ok()?)),
        None => Some((authority.to_owned(), default)),
    }
}

/// The path of a stored ConnectionRequestURL, when it has a usable one.
fn stored_path(url: &str) -> Option<String> {
    let (_, rest) = url.trim().split_once("://")?;
    let i = rest.find('/')?;
    let path = rest.get(i..)?;
    let ok = path.len() > 1
        && path.len() <= 128
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
    ok.then(|| path.to_owned())
}

fn random_path() -> String {
    format!("/cr-{:016x}", rand::random::<u64>())
}

/// The IP the OS would use to reach `host:port` from a socket of `bind`'s family; `None`
/// when it cannot tell (no route, no DNS). A UDP `connect` sends nothing.
pub(crate) fn local_ip_towards(bind: IpAddr, host: &str, port: u16) -> Option<IpAddr> {
    if !bind.is_unspecified() {
        return Some(bind);
    }
    let target = (host, port)
        .to_socket_addrs()
        .ok()?
        .find(|a| a.is_ipv4() == bind.is_ipv4())?;
    let any: IpAddr = if bind.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let s = UdpSocket::bind(SocketAddr::new(any, 0)).ok()?;
    s.connect(target).ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

fn http_url(ip: IpAddr, port: u16, path: &str) -> String {
    match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{port}{path}"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}{path}"),
    }
}

impl ConnReqRuntime {
    pub(crate) fn new(
        config: ConnectionRequestConfig,
        root: String,
        handle: ClientHandle,
    ) -> ConnReqRuntime {
        ConnReqRuntime {
            config,
            root,
            handle,
            credentials: Arc::new(Mutex::new(Credentials::default())),
            last: None,
            http: None,
            http_retry_at: None,
            path: None,
            udp: None,
            udp_retry_at: None,
            udp_reported: None,
        }
    }

    fn name(&self, leaf: &str) -> String {
        format!("{}{MS}{leaf}", self.root)
    }

    /// Brings sockets and store in step; returns the inputs the engine must get
    /// (`UdpBound` when the UDP socket's local address is new).
    pub(crate) fn sync<S: ParameterStore + ?Sized>(&mut self, store: &mut S) -> Vec<Input> {
        let mut inputs = Vec::new();
        if self.config.http_bind.is_none() && self.config.udp_bind.is_none() {
            return inputs;
        }
        let enable = match value(store, &self.name("HTTPConnectionRequestEnable")) {
            Some(Value::Boolean(b)) => b,
            Some(Value::String(s)) => !matches!(s.trim(), "false" | "0"),
            _ => true,
        };
        let snap = Snapshot {
            enable,
            credentials: Credentials {
                username: text(store, &self.name("ConnectionRequestUsername")),
                password: text(store, &self.name("ConnectionRequestPassword")).into(),
            },
            acs_url: text(store, &self.name("URL")).trim().to_owned(),
        };
        let now = Instant::now();
        let retry_due = |at: Option<Instant>| at.is_none_or(|t| t <= now);
        let changed = self.last.as_ref() != Some(&snap);
        let url_changed = self.last.as_ref().map(|l| &l.acs_url) != Some(&snap.acs_url);
        if changed {
            *self.credentials.lock().unwrap_or_else(|p| p.into_inner()) = snap.credentials.clone();
        }
        let mut update_url = url_changed;

        if let Some(bind) = self.config.http_bind {
            if snap.enable && self.http.is_none() && retry_due(self.http_retry_at) {
                let path = match &self.path {
                    Some(p) => p.clone(),
                    None => {
                        let stored = text(store, &self.name("ConnectionRequestURL"));
                        let p = stored_path(&stored).unwrap_or_else(random_path);
                        self.path = Some(p.clone());
                        p
                    }
                };
                match HttpListener::start(
                    bind,
                    &path,
                    &self.config,
                    Arc::clone(&self.credentials),
                    self.handle.clone(),
                ) {
                    Ok(l) => {
                        self.http = Some(l);
                        self.http_retry_at = None;
                    }
                    Err(e) => {
                        log::error!("connection-request listener on {bind}: {e}");
                        self.http_retry_at = Some(now + BIND_RETRY);
                    }
                }
                update_url = true;
            } else if !snap.enable && self.http.is_some() {
                self.http = None; // closes the port
                update_url = true;
            }
            if update_url {
                let url = match (&self.http, &self.path) {
                    (Some(l), Some(path)) => {
                        let local = l.local_addr();
                        let ip = url_host_port(&snap.acs_url)
                            .and_then(|(h, p)| local_ip_towards(local.ip(), &h, p))
                            .unwrap_or_else(|| local.ip());
                        http_url(ip, local.port(), path)
                    }
                    _ => String::new(),
                };
                let name = self.name("ConnectionRequestURL");
                if text(store, &name) != url {
                    if let Err(f) = store.set_internal(&name, &url) {
                        log::warn!("ConnectionRequestURL not written: {f:?}");
                    }
                }
            }
        }

        if let Some(bind) = self.config.udp_bind {
            if self.udp.is_none() && retry_due(self.udp_retry_at) {
                match UdpEndpoint::start(bind, self.handle.clone()) {
                    Ok(u) => {
                        self.udp = Some(u);
                        self.udp_retry_at = None;
                    }
                    Err(e) => {
                        log::error!("UDP connection-request socket on {bind}: {e}");
                        self.udp_retry_at = Some(now + BIND_RETRY);
                    }
                }
            }
            if let Some(u) = &self.udp {
                if url_changed || self.udp_reported.is_none() {
                    let local = u.local_addr();
                    let ip = url_host_port(&snap.acs_url)
                        .and_then(|(h, p)| local_ip_towards(local.ip(), &h, p))
                        .unwrap_or_else(|| local.ip());
                    let addr = SocketAddr::new(ip, local.port());
                    if self.udp_reported != Some(addr) {
                        self.udp_reported = Some(addr);
                        inputs.push(Input::UdpBound { local: addr });
                    }
                }
            }
        }
        self.last = Some(snap);
        inputs
    }

    /// A CWMP session started: tells the HTTP listener's rate limit (a new session period).
    pub(crate) fn session_started(&self) {
        if let Some(l) = &self.http {
            l.session_started();
        }
    }

    /// [`cwmp_engine::Output::SendDatagram`].
    pub(crate) fn send_datagram(&self, to: SocketAddr, payload: &[u8]) {
        match &self.udp {
            Some(u) => u.send(to, payload),
            None => log::debug!("datagram to {to} dropped: no UDP socket"),
        }
    }

    /// [`cwmp_engine::Output::ResolveStunServer`]: the inputs to feed back (a new
    /// `UdpBound` when the route to the server uses another local IP, then the answer).
    pub(crate) fn resolve(&mut self, host: &str, port: u16) -> Vec<Input> {
        let mut inputs = Vec::new();
        let Some(u) = &self.udp else {
            return vec![Input::StunServerResolved { addr: None }];
        };
        let local = u.local_addr();
        let addr = match (host, port).to_socket_addrs() {
            Ok(mut it) => it.find(|a| a.is_ipv4() == local.is_ipv4()),
            Err(e) => {
                log::warn!("STUN server {host}:{port} not resolved: {e}");
                None
            }
        };
        if let Some(a) = addr {
            if let Some(ip) = local_ip_towards(local.ip(), &a.ip().to_string(), a.port()) {
                let bound = SocketAddr::new(ip, local.port());
                if self.udp_reported != Some(bound) {
                    self.udp_reported = Some(bound);
                    inputs.push(Input::UdpBound { local: bound });
                }
            }
        }
        inputs.push(Input::StunServerResolved { addr });
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths() {
        assert_eq!(
            url_host_port("http://acs.example:7547/cwmp"),
            Some(("acs.example".into(), 7547))
        );
        assert_eq!(
            url_host_port("https://acs.example/"),
            Some(("acs.example".into(), 443))
        );
        assert_eq!(url_host_port("http://[::1]:80/x"), Some(("::1".into(), 80)));
        assert_eq!(url_host_port("nonsense"), None);
        assert_eq!(
            stored_path("http://10.0.0.2:7547/cr-0123456789abcdef"),
            Some("/cr-0123456789abcdef".into())
        );
        assert_eq!(stored_path("http://10.0.0.2:7547/"), None);
        assert_eq!(stored_path(""), None);
        assert_eq!(stored_path("http://h/a b"), None);
        let p = random_path();
        assert!(p.starts_with("/cr-") && p.len() == 20, "{p}");
        assert_eq!(
            http_url("::1".parse().unwrap(), 7547, "/x"),
            "http://[::1]:7547/x"
        );
    }

    #[test]
    fn local_ip_of_loopback() {
        let ip = local_ip_towards(Ipv4Addr::UNSPECIFIED.into(), "127.0.0.1", 9);
        assert_eq!(ip, Some(Ipv4Addr::LOCALHOST.into()));
        let fixed: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(local_ip_towards(fixed, "unused.invalid", 1), Some(fixed));
    }
}

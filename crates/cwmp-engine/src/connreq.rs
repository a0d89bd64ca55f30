//! The engine's side of HTTP connection requests (TR-069 §3.2.2): whether the CPE listens,
//! with which credentials, and what `ConnectionRequestURL` says. The embedder only performs
//! it: it opens a socket when told [`Output::ListenConnectionRequests`], reports the address
//! the ACS must use with [`Input::ConnectionRequestListening`] (or the failure with
//! [`Input::ConnectionRequestListenFailed`]), checks every request with the credentials of the
//! last `ListenConnectionRequests`, and closes the socket on
//! [`Output::StopConnectionRequests`].
//!
//! Rules (active only with [`crate::AgentConfig::connection_requests`]):
//! * `HTTPConnectionRequestEnable` (absent = true) opens and closes the listener.
//! * `ConnectionRequestURL` = `http://<reported address><path>`, empty while closed. The path
//!   is `/cr-<16 hex digits>` drawn from the engine's seeded RNG; the path of the stored URL
//!   is reused, so it survives restarts.
//! * The credentials follow `ConnectionRequestUsername` / `ConnectionRequestPassword`, and
//!   the address follows the ACS URL (the interface towards the ACS may change): any change
//!   repeats `ListenConnectionRequests`.
//! * A failed bind is retried after [`LISTEN_RETRY`].
//! * The first session waits for the listener's answer, so the boot Inform already carries
//!   the right URL.

use crate::io::{HttpCredentials, Output};
use cwmp_model::{ParameterStore, Url, Value};
use rand::Rng;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How long after a failed bind the engine asks again.
pub const LISTEN_RETRY: Duration = Duration::from_secs(30);

pub(crate) mod names {
    pub(crate) const ENABLE: &str = "ManagementServer.HTTPConnectionRequestEnable";
    pub(crate) const USERNAME: &str = "ManagementServer.ConnectionRequestUsername";
    pub(crate) const PASSWORD: &str = "ManagementServer.ConnectionRequestPassword";
    pub(crate) const URL: &str = "ManagementServer.ConnectionRequestURL";
}

/// What the store said when the listener was last configured.
#[derive(Clone, PartialEq, Eq)]
struct Wanted {
    enable: bool,
    credentials: HttpCredentials,
    acs: Option<(String, u16)>,
}

/// The connection-request state of one agent.
#[derive(Default)]
pub(crate) struct ConnReq {
    last: Option<Wanted>,
    /// A `ListenConnectionRequests` was emitted and not answered yet.
    awaiting: bool,
    path: Option<String>,
    /// When to ask again after a failed bind.
    retry_at: Option<Instant>,
}

fn text<S: ParameterStore + ?Sized>(store: &mut S, name: &str) -> String {
    match store.internal_value(name) {
        Some(Value::String(s)) => s,
        Some(v) => v.to_lexical(),
        None => String::new(),
    }
}

/// The path of a stored ConnectionRequestURL, when it has a usable one.
fn stored_path(url: &str) -> Option<String> {
    let path = Url::parse_http(url).ok()?.path().to_owned();
    let ok = path.len() > 1
        && path.len() <= 128
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
    ok.then_some(path)
}

fn http_url(ip: IpAddr, port: u16, path: &str) -> String {
    match ip {
        IpAddr::V4(v4) => format!("http://{v4}:{port}{path}"),
        IpAddr::V6(v6) => format!("http://[{v6}]:{port}{path}"),
    }
}

impl ConnReq {
    /// Whether the first session must wait for the listener's answer.
    pub(crate) fn holds_session(&self) -> bool {
        self.awaiting
    }

    /// The retry deadline after a failed bind.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.retry_at
    }

    /// Compare the store with what the listener was told; emit what changed. Returns the
    /// name of `ConnectionRequestURL` when the engine rewrote it.
    pub(crate) fn sync<S: ParameterStore + ?Sized, R: Rng>(
        &mut self,
        store: &mut S,
        root: &str,
        now: Instant,
        rng: &mut R,
        out: &mut Vec<Output>,
    ) -> Option<String> {
        let enable = match store.internal_value(&format!("{root}{}", names::ENABLE)) {
            Some(Value::Boolean(b)) => b,
            Some(Value::String(s)) => !matches!(s.trim(), "false" | "0"),
            _ => true,
        };
        let acs = Url::parse_http(&text(store, &format!("{root}{}", crate::agent::names::URL)))
            .ok()
            .map(|u| (u.host().to_owned(), u.port()));
        let wanted = Wanted {
            enable,
            credentials: HttpCredentials {
                username: text(store, &format!("{root}{}", names::USERNAME)),
                password: text(store, &format!("{root}{}", names::PASSWORD)).into(),
            },
            acs,
        };
        let retry_due = self.retry_at.is_some_and(|t| t <= now);
        if self.last.as_ref() == Some(&wanted) && !retry_due {
            return None;
        }
        let was_enabled = self.last.as_ref().is_some_and(|l| l.enable);
        self.last = Some(wanted.clone());
        self.retry_at = None;
        if wanted.enable {
            let (acs_host, acs_port) = wanted.acs.unwrap_or_default();
            let path = self.path(store, root, rng);
            out.push(Output::ListenConnectionRequests {
                credentials: wanted.credentials,
                path,
                acs_host,
                acs_port,
            });
            self.awaiting = true;
            None
        } else {
            self.awaiting = false;
            if was_enabled {
                out.push(Output::StopConnectionRequests);
            }
            self.write_url(store, root, String::new())
        }
    }

    /// The path: the stored URL's, else a random one, then the same for the whole run.
    fn path<S: ParameterStore + ?Sized, R: Rng>(
        &mut self,
        store: &mut S,
        root: &str,
        rng: &mut R,
    ) -> String {
        if let Some(p) = &self.path {
            return p.clone();
        }
        let stored = text(store, &format!("{root}{}", names::URL));
        let p = stored_path(&stored).unwrap_or_else(|| format!("/cr-{:016x}", rng.random::<u64>()));
        self.path = Some(p.clone());
        p
    }

    /// The listener answered with its address (as the ACS must reach it).
    pub(crate) fn listening<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        root: &str,
        local: SocketAddr,
    ) -> Option<String> {
        self.awaiting = false;
        if !self.last.as_ref().is_some_and(|l| l.enable) {
            return None;
        }
        let path = self.path.clone().unwrap_or_default();
        self.write_url(store, root, http_url(local.ip(), local.port(), &path))
    }

    /// The listener could not be opened: no URL, ask again later.
    pub(crate) fn listen_failed<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        root: &str,
        now: Instant,
    ) -> Option<String> {
        self.awaiting = false;
        self.retry_at = Some(now + LISTEN_RETRY);
        self.write_url(store, root, String::new())
    }

    fn write_url<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        root: &str,
        url: String,
    ) -> Option<String> {
        let name = format!("{root}{}", names::URL);
        if store.internal_value(&name).is_none() || text(store, &name) == url {
            return None;
        }
        match store.set_internal(&name, &url) {
            Ok(()) => Some(name),
            Err(f) => {
                // The data model refuses the value: nothing the ACS could fix either.
                let _ = f;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            stored_path("http://10.0.0.2:7547/cr-0123456789abcdef"),
            Some("/cr-0123456789abcdef".into())
        );
        assert_eq!(stored_path("http://10.0.0.2:7547/"), None);
        assert_eq!(stored_path(""), None);
        assert_eq!(stored_path("http://h/a%20b"), None);
        assert_eq!(
            http_url("::1".parse().unwrap(), 7547, "/x"),
            "http://[::1]:7547/x"
        );
    }
}

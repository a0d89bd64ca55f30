//! The driver's side of connection requests: performs what the engine decides (TR-069
//! §3.2.2, Annex G). Runs on the driver's thread only.
//!
//! * [`cwmp_engine::Output::ListenConnectionRequests`]: open the HTTP listener at the
//!   configured address (or keep it), serve the path and check the credentials the engine
//!   gave, and answer with the address the ACS must use: the IP the OS would use towards the
//!   ACS host (a UDP socket connected to it, no packet sent), or the bind address when it is
//!   not a wildcard. A bind failure is answered with `ConnectionRequestListenFailed` (the
//!   engine asks again later).
//! * [`cwmp_engine::Output::StopConnectionRequests`]: close the port.
//! * The UDP socket (STUN, UDP connection requests) is opened when the run starts and
//!   reported with `UdpBound` towards the ACS host the engine last named (or the STUN
//!   server, once resolved).

use crate::driver::ClientHandle;
use crate::listener::{ConnectionRequestConfig, Credentials, HttpListener};
use crate::udp::UdpEndpoint;
use cwmp_engine::{HttpCredentials, Input};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long after a failed UDP bind the driver tries again (the HTTP listener's retry is the
/// engine's, [`cwmp_engine::LISTEN_RETRY`]).
pub const BIND_RETRY: Duration = Duration::from_secs(30);

pub(crate) struct ConnReqRuntime {
    config: ConnectionRequestConfig,
    handle: ClientHandle,
    credentials: Arc<Mutex<Credentials>>,
    http: Option<HttpListener>,
    /// The ACS host and port the engine last named.
    acs: Option<(String, u16)>,
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

impl ConnReqRuntime {
    pub(crate) fn new(config: ConnectionRequestConfig, handle: ClientHandle) -> ConnReqRuntime {
        ConnReqRuntime {
            config,
            handle,
            credentials: Arc::new(Mutex::new(Credentials::default())),
            http: None,
            acs: None,
            udp: None,
            udp_retry_at: None,
            udp_reported: None,
        }
    }

    /// The address `local` as the ACS sees it (before any NAT).
    fn towards_acs(&self, local: SocketAddr) -> SocketAddr {
        let ip = self
            .acs
            .as_ref()
            .filter(|(h, _)| !h.is_empty())
            .and_then(|(h, p)| local_ip_towards(local.ip(), h, *p))
            .unwrap_or_else(|| local.ip());
        SocketAddr::new(ip, local.port())
    }

    /// [`cwmp_engine::Output::ListenConnectionRequests`]: the input to feed back.
    pub(crate) fn listen(
        &mut self,
        credentials: HttpCredentials,
        path: &str,
        acs_host: String,
        acs_port: u16,
        seed: u64,
    ) -> Input {
        *self.credentials.lock().unwrap_or_else(|p| p.into_inner()) = credentials;
        self.acs = Some((acs_host, acs_port));
        let Some(bind) = self.config.http_bind else {
            return Input::ConnectionRequestListenFailed {
                reason: "no listen address configured".into(),
            };
        };
        if self.http.as_ref().is_some_and(|l| l.path() != path) {
            self.http = None;
        }
        if self.http.is_none() {
            match HttpListener::start(
                bind,
                path,
                &self.config,
                Arc::clone(&self.credentials),
                self.handle.clone(),
                seed,
            ) {
                Ok(l) => self.http = Some(l),
                Err(e) => {
                    log::error!("connection-request listener on {bind}: {e}");
                    return Input::ConnectionRequestListenFailed {
                        reason: format!("{bind}: {e}"),
                    };
                }
            }
        }
        match &self.http {
            Some(l) => Input::ConnectionRequestListening {
                local: self.towards_acs(l.local_addr()),
            },
            None => Input::ConnectionRequestListenFailed {
                reason: "listener closed".into(),
            },
        }
    }

    /// [`cwmp_engine::Output::StopConnectionRequests`].
    pub(crate) fn stop(&mut self) {
        self.http = None; // closes the port
    }

    /// The UDP socket: opened (or re-tried) on every turn; returns `UdpBound` when its
    /// address as the ACS sees it is new.
    pub(crate) fn sync_udp(&mut self) -> Vec<Input> {
        let mut inputs = Vec::new();
        let Some(bind) = self.config.udp_bind else {
            return inputs;
        };
        let now = Instant::now();
        if self.udp.is_none() && self.udp_retry_at.is_none_or(|t| t <= now) {
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
            let addr = self.towards_acs(u.local_addr());
            if self.udp_reported != Some(addr) && !addr.ip().is_unspecified() {
                self.udp_reported = Some(addr);
                inputs.push(Input::UdpBound { local: addr });
            }
        }
        inputs
    }

    /// The ACS a POST goes to (for the UDP socket's address when no listener named it).
    pub(crate) fn acs_url(&mut self, url: &str) {
        if self.acs.is_none() {
            if let Ok(u) = cwmp_model::Url::parse_http(url) {
                self.acs = Some((u.host().to_owned(), u.port()));
            }
        }
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
    fn local_ip_of_loopback() {
        let ip = local_ip_towards(Ipv4Addr::UNSPECIFIED.into(), "127.0.0.1", 9);
        assert_eq!(ip, Some(Ipv4Addr::LOCALHOST.into()));
        let fixed: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(local_ip_towards(fixed, "unused.invalid", 1), Some(fixed));
    }
}

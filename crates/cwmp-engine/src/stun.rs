//! The engine's side of Annex G (TR-069 Annex G): it hosts the STUN binding
//! ([`cwmp_connreq::StunBinding`]) and validates UDP connection requests
//! ([`cwmp_connreq::UdpRequestValidator`]) for the driver's UDP connection-request socket.
//!
//! The driver owns the socket and DNS; everything else happens here, sans-IO:
//!
//! ```text
//!   driver                          engine (StunHost)
//!   bind UDP socket ── UdpBound ──► local address known ─┐
//!                                    read ManagementServer.STUN* (start, SPV, ValueChanged)
//!                  ◄── ResolveStunServer{host,port} ─────┤ (a name, not an IP literal)
//!   ToSocketAddrs ── StunServerResolved{addr} ──────────►│
//!                                    StunBinding (keepalive, retransmit: Timer::Stun)
//!                  ◄── SendDatagram{to,payload} ─────────┤
//!   recv_from ── Datagram{from,payload} ──► classify ─┬─► STUN: binding
//!                                                     └─► "GET …": UdpRequestValidator
//!                                                          → 6 CONNECTION REQUEST
//!   AddressChanged ─► set_internal(UDPConnectionRequestAddress, NATDetected)
//!                  ─► active notification, at most one per
//!                     UDPConnectionRequestAddressNotificationLimit s (Timer::UdpAddressNotification)
//! ```
//!
//! Decisions where the spec is silent:
//! * **Without a UDP socket** (the driver never sent [`Input::UdpBound`](crate::Input::UdpBound))
//!   no STUN runs; only `NATDetected` is kept `false` when STUN is off.
//! * **STUN off** with a socket: `UDPConnectionRequestAddress` = the socket's local address
//!   (TR-069 Annex G: "STUN off: local IP and listening port"), `NATDetected` = false.
//! * **UDP connection requests are accepted whenever the socket is open**, whatever
//!   `STUNEnable` says: without a NAT the ACS can reach the local address directly, which is
//!   what `UDPConnectionRequestAddress` reports then.
//! * **Rate limiting** of UDP requests uses its own [`RateLimiter`] (default budget), apart from
//!   the HTTP listener's, which lives on another thread in the driver; duplicates of one
//!   message never reach it (the validator drops them first).
//! * **DNS failures** are retried every [`RESOLVE_RETRY`]; the binding keeps its previous
//!   server meanwhile.
//! * **STUNServerPort** 0 or absent means 3478 (the DM's default).

use crate::clock;
use crate::io::Output;
use cwmp_connreq::{
    classify, DatagramKind, RateLimiter, StunBinding, StunConfig, StunEvent, UdpRequestValidator,
    UdpVerdict,
};
use cwmp_model::{ParameterStore, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// The default STUN port (TR-069 Annex G: STUNServerPort SHOULD default to 3478).
pub const DEFAULT_STUN_PORT: u16 = 3478;

/// How long after a failed resolution of STUNServerAddress the engine asks again.
pub const RESOLVE_RETRY: Duration = Duration::from_secs(30);

/// Parameter names (relative to the root) this module reads or writes.
pub(crate) mod names {
    pub(crate) const STUN_ENABLE: &str = "ManagementServer.STUNEnable";
    pub(crate) const STUN_SERVER_ADDRESS: &str = "ManagementServer.STUNServerAddress";
    pub(crate) const STUN_SERVER_PORT: &str = "ManagementServer.STUNServerPort";
    pub(crate) const STUN_USERNAME: &str = "ManagementServer.STUNUsername";
    pub(crate) const STUN_PASSWORD: &str = "ManagementServer.STUNPassword";
    pub(crate) const STUN_MIN: &str = "ManagementServer.STUNMinimumKeepAlivePeriod";
    pub(crate) const STUN_MAX: &str = "ManagementServer.STUNMaximumKeepAlivePeriod";
    pub(crate) const NAT_DETECTED: &str = "ManagementServer.NATDetected";
    pub(crate) const UDP_ADDRESS: &str = "ManagementServer.UDPConnectionRequestAddress";
    pub(crate) const UDP_NOTIFY_LIMIT: &str =
        "ManagementServer.UDPConnectionRequestAddressNotificationLimit";
    pub(crate) const CR_USERNAME: &str = "ManagementServer.ConnectionRequestUsername";
    pub(crate) const CR_PASSWORD: &str = "ManagementServer.ConnectionRequestPassword";
    pub(crate) const URL: &str = "ManagementServer.URL";

    /// The parameters whose change reconfigures the binding.
    pub(crate) const SETTINGS: [&str; 8] = [
        STUN_ENABLE,
        STUN_SERVER_ADDRESS,
        STUN_SERVER_PORT,
        STUN_USERNAME,
        STUN_PASSWORD,
        STUN_MIN,
        STUN_MAX,
        URL,
    ];
}

/// The STUN settings as read from the store.
#[derive(Clone, PartialEq, Eq)]
struct Settings {
    enabled: bool,
    host: String,
    port: u16,
    username: String,
    password: String,
    min: u32,
    max: i32,
}

/// What [`StunHost::gate_address`] decided about a change of UDPConnectionRequestAddress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Notify now.
    Now,
    /// Within the limit: notify at this instant.
    Later(Instant),
    /// Already notified for this value (the store's echo of the engine's own write).
    Skip,
}

/// The STUN binding, the UDP request validator and the notification limit.
pub(crate) struct StunHost {
    rng: ChaCha8Rng,
    local: Option<SocketAddr>,
    settings: Option<Settings>,
    binding: Option<StunBinding>,
    /// The (host, port) last resolved, and the answer.
    resolved: Option<((String, u16), SocketAddr)>,
    /// A resolution asked for and not answered yet.
    resolving: Option<(String, u16)>,
    resolve_retry_at: Option<Instant>,
    validator: UdpRequestValidator,
    limiter: RateLimiter,
    outputs: VecDeque<Output>,
    /// The UDPConnectionRequestAddress / NATDetected values changed (by this module).
    address_changed: bool,
    /// The UDPConnectionRequestAddress value last notified, and when.
    notified: Option<(String, Instant)>,
    notify_pending: bool,
}

impl std::fmt::Debug for StunHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StunHost")
            .field("local", &self.local)
            .field("binding", &self.binding)
            .field("resolving", &self.resolving)
            .finish_non_exhaustive()
    }
}

fn string<S: ParameterStore + ?Sized>(store: &mut S, root: &str, rel: &str) -> String {
    match store.internal_value(&format!("{root}{rel}")) {
        Some(Value::String(s)) => s,
        Some(v) => v.to_lexical(),
        None => String::new(),
    }
}

fn integer<S: ParameterStore + ?Sized>(store: &mut S, root: &str, rel: &str) -> Option<i64> {
    match store.internal_value(&format!("{root}{rel}"))? {
        Value::Int(n) => Some(i64::from(n)),
        Value::UnsignedInt(n) => Some(i64::from(n)),
        Value::Long(n) => Some(n),
        Value::UnsignedLong(n) => i64::try_from(n).ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The host part of a URL (`[v6]` without brackets), by the one URL parser; empty when it
/// is not a URL.
pub(crate) fn url_host(url: &str) -> String {
    cwmp_model::Url::parse(url)
        .map(|u| u.host().to_owned())
        .unwrap_or_default()
}

fn set<S: ParameterStore + ?Sized>(store: &mut S, root: &str, rel: &str, value: &str) -> bool {
    let name = format!("{root}{rel}");
    let before = store.internal_value(&name).map(|v| v.to_lexical());
    if before.as_deref() == Some(value) {
        return false;
    }
    // A data model without the parameter simply does not report it.
    store.set_internal(&name, value).is_ok()
}

impl StunHost {
    pub(crate) fn new(seed: u64) -> StunHost {
        StunHost {
            // Its own stream, so the agent's retry waits stay what they were without STUN.
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5354_554e_5354_554e),
            local: None,
            settings: None,
            binding: None,
            resolved: None,
            resolving: None,
            resolve_retry_at: None,
            validator: UdpRequestValidator::new(),
            limiter: RateLimiter::default(),
            outputs: VecDeque::new(),
            address_changed: false,
            notified: None,
            notify_pending: false,
        }
    }

    fn read<S: ParameterStore + ?Sized>(store: &mut S, root: &str) -> Settings {
        let enabled = matches!(
            store.internal_value(&format!("{root}{}", names::STUN_ENABLE)),
            Some(Value::Boolean(true))
        ) || string(store, root, names::STUN_ENABLE).trim() == "1";
        let mut host = string(store, root, names::STUN_SERVER_ADDRESS)
            .trim()
            .to_owned();
        if host.is_empty() {
            host = url_host(string(store, root, names::URL).trim());
        }
        let port = integer(store, root, names::STUN_SERVER_PORT)
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .unwrap_or(DEFAULT_STUN_PORT);
        Settings {
            enabled,
            host,
            port,
            username: string(store, root, names::STUN_USERNAME),
            password: string(store, root, names::STUN_PASSWORD),
            min: integer(store, root, names::STUN_MIN)
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            max: integer(store, root, names::STUN_MAX)
                .map(|v| i32::try_from(v).unwrap_or(i32::MAX))
                .unwrap_or(-1),
        }
    }

    /// The driver bound the UDP connection-request socket.
    pub(crate) fn bind<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        root: &str,
        now: Instant,
        local: SocketAddr,
    ) {
        if self.local != Some(local) {
            self.local = Some(local);
            self.settings = None;
        }
        self.configure(store, root, now);
    }

    /// (Re)reads the settings and applies them when they changed.
    pub(crate) fn configure<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        root: &str,
        now: Instant,
    ) {
        let s = Self::read(store, root);
        if self.settings.as_ref() == Some(&s) {
            return;
        }
        self.settings = Some(s.clone());
        if !s.enabled {
            self.binding = None;
            self.resolving = None;
            self.resolve_retry_at = None;
            let mut changed = set(store, root, names::NAT_DETECTED, "false");
            if let Some(local) = self.local {
                changed |= set(store, root, names::UDP_ADDRESS, &local.to_string());
            }
            self.address_changed |= changed;
            return;
        }
        if self.local.is_none() || s.host.is_empty() {
            return;
        }
        let target = (s.host.clone(), s.port);
        if let Ok(ip) = s.host.parse::<IpAddr>() {
            self.apply(store, root, now, SocketAddr::new(ip, s.port));
            return;
        }
        match &self.resolved {
            Some((t, addr)) if *t == target => {
                let addr = *addr;
                self.apply(store, root, now, addr);
            }
            _ => self.ask_resolve(target),
        }
    }

    fn ask_resolve(&mut self, target: (String, u16)) {
        self.resolve_retry_at = None;
        self.outputs.push_back(Output::ResolveStunServer {
            host: target.0.clone(),
            port: target.1,
        });
        self.resolving = Some(target);
    }

    /// The driver's answer to [`Output::ResolveStunServer`].
    pub(crate) fn handle_resolved<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        root: &str,
        now: Instant,
        addr: Option<SocketAddr>,
    ) {
        let Some(target) = self.resolving.take() else {
            return;
        };
        match addr {
            Some(a) => {
                self.resolved = Some((target, a));
                if self.settings.as_ref().is_some_and(|s| s.enabled) {
                    self.apply(store, root, now, a);
                }
            }
            None => {
                self.resolving = Some(target);
                self.resolve_retry_at = Some(clock::add(now, RESOLVE_RETRY));
            }
        }
    }

    fn apply<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        root: &str,
        now: Instant,
        server: SocketAddr,
    ) {
        let (Some(local), Some(s)) = (self.local, self.settings.clone()) else {
            return;
        };
        let mut config = StunConfig::new(server, local);
        config.username = s.username;
        config.password = s.password.into();
        config.set_keepalive_parameters(s.min, s.max);
        match self.binding.as_mut() {
            Some(b) => b.set_config(now, config),
            None => {
                let seed: [u8; 32] = self.rng.random();
                // UDPConnectionRequestAddress keeps its value until the first mapping is
                // learned: reporting the local address in between would cost an active
                // notification of a value that is about to change.
                self.binding = Some(StunBinding::new(config, seed, now));
            }
        }
        self.pump(store, root);
    }

    /// Takes the binding's datagrams and events.
    fn pump<S: ParameterStore + ?Sized>(&mut self, store: &mut S, root: &str) {
        let Some(b) = self.binding.as_mut() else {
            return;
        };
        while let Some(t) = b.poll_transmit() {
            self.outputs.push_back(Output::SendDatagram {
                to: t.destination,
                payload: t.payload,
            });
        }
        let mut events = Vec::new();
        while let Some(e) = b.poll_event() {
            events.push(e);
        }
        for e in events {
            if let StunEvent::AddressChanged {
                udp_connection_request_address,
                nat_detected,
            } = e
            {
                let mut changed = set(
                    store,
                    root,
                    names::UDP_ADDRESS,
                    &udp_connection_request_address,
                );
                changed |= set(
                    store,
                    root,
                    names::NAT_DETECTED,
                    if nat_detected { "true" } else { "false" },
                );
                self.address_changed |= changed;
            }
        }
    }

    /// Timer input.
    pub(crate) fn handle_timeout<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        root: &str,
        now: Instant,
    ) {
        if self.resolve_retry_at.is_some_and(|t| t <= now) {
            if let Some(target) = self.resolving.take() {
                self.ask_resolve(target);
            }
        }
        if let Some(b) = self.binding.as_mut() {
            b.handle_timeout(now);
        }
        self.pump(store, root);
    }

    /// A datagram on the UDP connection-request socket. Returns `true` for an accepted UDP
    /// connection request (TR-069 Annex G: it then acts like an HTTP one).
    pub(crate) fn handle_datagram<S: ParameterStore + ?Sized>(
        &mut self,
        store: &mut S,
        root: &str,
        now: crate::Now,
        from: SocketAddr,
        payload: &[u8],
    ) -> bool {
        match classify(payload) {
            DatagramKind::Stun => {
                if let Some(b) = self.binding.as_mut() {
                    b.handle_datagram(now.mono, from, payload);
                }
                self.pump(store, root);
                false
            }
            DatagramKind::UdpConnectionRequest => {
                let username = string(store, root, names::CR_USERNAME);
                let password = string(store, root, names::CR_PASSWORD);
                let wall = if now.wall_known() {
                    u64::try_from(now.wall.unix()).ok()
                } else {
                    None
                };
                match self
                    .validator
                    .handle_datagram(wall, payload, &username, &password)
                {
                    UdpVerdict::Accepted(_) => self.limiter.try_acquire(now.mono),
                    _ => false,
                }
            }
            DatagramKind::Other => false,
        }
    }

    pub(crate) fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest STUN deadline (binding or DNS retry).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let b = self.binding.as_ref().and_then(|b| b.poll_timeout());
        [b, self.resolve_retry_at].into_iter().flatten().min()
    }

    /// Whether this module changed UDPConnectionRequestAddress / NATDetected since the last
    /// call.
    pub(crate) fn take_address_changed(&mut self) -> bool {
        std::mem::take(&mut self.address_changed)
    }

    /// Decides whether a change of UDPConnectionRequestAddress to `value` may be notified now
    /// (TR-069 Annex G: at most one active notification per
    /// UDPConnectionRequestAddressNotificationLimit seconds).
    pub(crate) fn gate_address(&mut self, now: Instant, value: String, limit: u64) -> Gate {
        if let Some((last, at)) = &self.notified {
            if *last == value {
                return Gate::Skip;
            }
            let due = clock::add(*at, Duration::from_secs(limit));
            if now < due {
                self.notify_pending = true;
                return Gate::Later(due);
            }
        }
        self.notify_pending = false;
        self.notified = Some((value, now));
        Gate::Now
    }

    /// The limit's timer fired: `true` when the current `value` must be notified now.
    pub(crate) fn release_address(&mut self, now: Instant, value: String) -> bool {
        if !std::mem::take(&mut self.notify_pending) {
            return false;
        }
        if self.notified.as_ref().is_some_and(|(v, _)| *v == value) {
            return false;
        }
        self.notified = Some((value, now));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("http://acs.example:7547/cwmp"), "acs.example");
        assert_eq!(url_host("https://10.0.0.1/"), "10.0.0.1");
        assert_eq!(url_host("http://[2001:db8::1]:80/x"), "2001:db8::1");
        assert_eq!(url_host("http://u:p@h/x"), "h");
        assert_eq!(url_host(""), "");
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a test needs some base instant
    fn gate_limits_notifications() {
        let t0 = Instant::now();
        let mut h = StunHost::new(1);
        assert_eq!(h.gate_address(t0, "a:1".into(), 60), Gate::Now);
        assert_eq!(h.gate_address(t0, "a:1".into(), 60), Gate::Skip);
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            h.gate_address(t0 + Duration::from_secs(5), "b:2".into(), 60),
            Gate::Later(later)
        );
        assert!(h.release_address(later, "b:2".into()));
        assert!(!h.release_address(later, "b:2".into()));
        assert_eq!(
            h.gate_address(later + Duration::from_secs(61), "c:3".into(), 60),
            Gate::Now
        );
    }
}

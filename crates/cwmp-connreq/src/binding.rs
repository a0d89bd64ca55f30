//! The Annex G STUN binding state machine (TR-069 Annex G, Annex G), sans-IO.
//!
//! [`StunBinding`] keeps the NAT binding of the UDP connection-request socket open and learns
//! its public address. The engine hosts it; the driver owns the socket. Time comes in with every
//! input; transaction IDs come from a ChaCha RNG seeded by the caller (no OS randomness here).
//!
//! Drain rule (the same as the engine's): after constructing it and after every `handle_*` /
//! `set_*` call, take [`poll_transmit`](StunBinding::poll_transmit) until `None` (send each
//! payload from the UDP connection-request socket), take
//! [`poll_event`](StunBinding::poll_event) until `None`, then arm a timer for
//! [`poll_timeout`](StunBinding::poll_timeout) and call
//! [`handle_timeout`](StunBinding::handle_timeout) when it fires. An early or spurious
//! `handle_timeout` does nothing.
//!
//! ```text
//!              enabled ┌──────────┐ set_config(enabled=false)
//!   new/set_config ───►│ InFlight │◄─────────────────────────── from any state ──► Disabled
//!          ┌──────────►│ txid T   │── timeout: resend (100,200,…,1600 ms; 9 sends) ─┐
//!          │           └──────────┘◄────────────────────────────────────────────────┘
//!          │        response T │   │ 9.5 s without answer / error response
//!          │    (MI checked when │   ▼
//!          │          sent with) │ ServerUnreachable / ErrorResponse / AuthenticationFailed
//!          │                     │   │ back off 10 s, 20 s, … 300 s (never below the minimum
//!          │                     ▼   ▼ period after the previous request)
//!          │  mapping      ┌──────────┐
//!          └── keepalive ──│ Waiting  │
//!              period      └──────────┘
//!   401 to a request without MESSAGE-INTEGRITY ─► new transaction at once with USERNAME and
//!   MESSAGE-INTEGRITY (kept for all later requests until the credentials change)
//!   mapping differs from the previous one ─► AddressChanged, and a new request with
//!   BINDING-CHANGE at once (exempt from the minimum period)
//! ```
//!
//! Decisions where the spec is silent:
//! * **Keepalive period.** Without binding-timeout discovery (optional in Annex G, not done
//!   here) the request after a successful one is sent [`StunConfig::keepalive_interval`] after
//!   it: STUNMaximumKeepAlivePeriod when set (but never below STUNMinimumKeepAlivePeriod), else
//!   STUNMinimumKeepAlivePeriod, else [`DEFAULT_KEEPALIVE`] (30 s: below common UDP NAT
//!   timeouts), and never below 1 s. Using the maximum keeps traffic lowest while honouring
//!   what the ACS said the binding survives.
//! * **Retransmission** follows RFC 3489 §9.3: sends at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 4.7, 6.3 and
//!   7.9 s, failure at 9.5 s. Retransmissions are byte-identical (same transaction ID).
//! * **After a failure** the last known address is kept (the binding may still be alive) and the
//!   next attempt comes after an exponential back-off (10 s doubling to 300 s, reset by any
//!   success), never earlier than the minimum period after the previous request. A failed
//!   request's BINDING-CHANGE is carried into the next attempt.
//! * **Responses** are accepted only from the server address (IPv4-mapped IPv6 compared as
//!   IPv4) with the current transaction ID; once MESSAGE-INTEGRITY is being sent, a success
//!   response must carry a valid one, and an error response with an invalid one is ignored.
//! * **USERNAME** is sent whenever STUNUsername is non-empty (the safe choice of TR-069 Annex G);
//!   MESSAGE-INTEGRITY only after the server answered 401 (or 432 Missing Username) and never
//!   without a username. A 401/430/431 to a request that had MESSAGE-INTEGRITY means the
//!   credentials are wrong: [`StunEvent::AuthenticationFailed`], then back-off.
//! * **NATDetected** is true when the mapped address differs from the local address; when the
//!   configured local IP is unspecified (`0.0.0.0`), only the ports are compared.
//! * **Reported values.** [`udp_connection_request_address`](StunBinding::udp_connection_request_address)
//!   and [`nat_detected`](StunBinding::nat_detected) always hold the current values (the local
//!   address and `false` until a mapping is learned, and whenever STUN is disabled);
//!   [`StunEvent::AddressChanged`] is emitted each time they change, never at construction.
//!   A response whose mapping does not change them emits nothing.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::stun::{decode, IntegrityCheck, MessageType, StunFormat, StunMessage, TransactionId};
use cwmp_model::Secret;

/// First retransmission interval (RFC 3489 §9.3).
pub const RETRANSMIT_INITIAL: Duration = Duration::from_millis(100);
/// Largest retransmission interval (RFC 3489 §9.3).
pub const RETRANSMIT_MAX: Duration = Duration::from_millis(1600);
/// Sends per transaction, the first included (RFC 3489 §9.3).
pub const MAX_SENDS: u32 = 9;
/// Keepalive period when neither STUNMaximumKeepAlivePeriod nor STUNMinimumKeepAlivePeriod
/// gives one.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(30);
/// Floor of every keepalive period, so that zero settings cannot make a busy loop.
pub const KEEPALIVE_FLOOR: Duration = Duration::from_secs(1);
/// First retry delay after a failed transaction.
pub const RETRY_BACKOFF_INITIAL: Duration = Duration::from_secs(10);
/// Largest retry delay after failed transactions.
pub const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(300);

const MAX_QUEUED: usize = 16;

/// The STUN configuration (ManagementServer.STUN* parameters, TR-069 Annex G), with the server
/// name already resolved by the driver. `Debug` redacts the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunConfig {
    /// STUNEnable.
    pub enabled: bool,
    /// STUNServerAddress:STUNServerPort, resolved (empty address ⇒ host of ManagementServer.URL,
    /// default port 3478: the driver's job).
    pub server: SocketAddr,
    /// The UDP connection-request socket's local address (IP of the interface towards the
    /// server, and the listening port).
    pub local: SocketAddr,
    /// STUNUsername; empty ⇒ no USERNAME and never MESSAGE-INTEGRITY.
    pub username: String,
    /// STUNPassword: the MESSAGE-INTEGRITY key.
    pub password: Secret,
    /// STUNMinimumKeepAlivePeriod.
    pub min_keepalive: Duration,
    /// STUNMaximumKeepAlivePeriod; `None` for −1 (no maximum).
    pub max_keepalive: Option<Duration>,
    /// Wire format of the requests (default [`StunFormat::Classic`], Annex G's RFC 3489).
    pub format: StunFormat,
}

impl StunConfig {
    /// Enabled, no credentials, no keepalive limits, classic format.
    pub fn new(server: SocketAddr, local: SocketAddr) -> Self {
        StunConfig {
            enabled: true,
            server,
            local,
            username: String::new(),
            password: Secret::default(),
            min_keepalive: Duration::ZERO,
            max_keepalive: None,
            format: StunFormat::Classic,
        }
    }

    /// Sets both periods from the data-model values: STUNMinimumKeepAlivePeriod (seconds) and
    /// STUNMaximumKeepAlivePeriod (seconds, −1 or any negative value = no maximum).
    pub fn set_keepalive_parameters(&mut self, minimum: u32, maximum: i32) {
        self.min_keepalive = Duration::from_secs(u64::from(minimum));
        self.max_keepalive = u64::try_from(maximum).ok().map(Duration::from_secs);
    }

    /// The time from one maintenance request to the next (see the module doc).
    pub fn keepalive_interval(&self) -> Duration {
        let base = match self.max_keepalive {
            Some(max) => max.max(self.min_keepalive),
            None if self.min_keepalive.is_zero() => DEFAULT_KEEPALIVE,
            None => self.min_keepalive,
        };
        base.max(KEEPALIVE_FLOOR)
    }
}

/// A datagram to send from the UDP connection-request socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to (the STUN server).
    pub destination: SocketAddr,
    /// The STUN message.
    pub payload: Vec<u8>,
}

/// Something the engine must know.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StunEvent {
    /// UDPConnectionRequestAddress and/or NATDetected changed (the engine updates the
    /// parameters; an Active notification on the address becomes a `4 VALUE CHANGE`).
    AddressChanged {
        /// New UDPConnectionRequestAddress: `host:port` (`[v6]:port` for IPv6).
        udp_connection_request_address: String,
        /// New NATDetected.
        nat_detected: bool,
    },
    /// A transaction got no answer within 9.5 s; retrying after a back-off.
    ServerUnreachable,
    /// The server answered with an error other than an authentication one.
    ErrorResponse {
        /// ERROR-CODE (0 when the attribute was missing).
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// The server wants MESSAGE-INTEGRITY and STUNUsername is empty, or it refused our
    /// credentials (401/430/431 to a request that carried MESSAGE-INTEGRITY).
    AuthenticationFailed {
        /// ERROR-CODE.
        code: u16,
    },
    /// The configuration cannot be encoded (a username longer than a STUN attribute can hold);
    /// nothing is sent until [`StunBinding::set_config`] is called again.
    InvalidConfiguration,
}

#[derive(Clone, Debug)]
struct Transaction {
    id: TransactionId,
    payload: Vec<u8>,
    sends: u32,
    next_at: Instant,
    started: Instant,
    binding_change: bool,
    with_integrity: bool,
}

#[derive(Clone, Debug)]
enum State {
    Disabled,
    Waiting { at: Instant, binding_change: bool },
    InFlight(Transaction),
    Stopped,
}

/// The binding state machine (see the module doc).
pub struct StunBinding {
    config: StunConfig,
    rng: ChaCha8Rng,
    state: State,
    transmits: VecDeque<Transmit>,
    events: VecDeque<StunEvent>,
    mapped: Option<SocketAddr>,
    reported: (String, bool),
    integrity: bool,
    last_start: Option<Instant>,
    failures: u32,
}

impl fmt::Debug for StunBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StunBinding")
            .field("config", &self.config)
            .field("state", &self.state)
            .field("mapped", &self.mapped)
            .field("integrity", &self.integrity)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(t)
}

fn canonical(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => a,
        },
        IpAddr::V4(_) => a,
    }
}

impl StunBinding {
    /// A binding for `config`; `seed` seeds the transaction-ID generator (derive it from the
    /// engine's RNG). When enabled, the first Binding Request is queued at once.
    pub fn new(config: StunConfig, seed: [u8; 32], now: Instant) -> Self {
        let mut b = StunBinding {
            reported: (config.local.to_string(), false),
            config,
            rng: ChaCha8Rng::from_seed(seed),
            state: State::Disabled,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            mapped: None,
            integrity: false,
            last_start: None,
            failures: 0,
        };
        if b.config.enabled {
            b.start(now, false);
        }
        b
    }

    /// The configuration in force.
    pub fn config(&self) -> &StunConfig {
        &self.config
    }

    /// Applies a new configuration. Enabling, or changing the server, local address,
    /// credentials or format, restarts discovery at once (TR-069 Annex G: re-run discovery when
    /// the local IP or STUN parameters change); changing only the keepalive periods reschedules
    /// the next request. Disabling stops everything and reports the local address.
    pub fn set_config(&mut self, now: Instant, config: StunConfig) {
        let old = std::mem::replace(&mut self.config, config);
        if !self.config.enabled {
            self.state = State::Disabled;
            self.transmits.clear();
            self.mapped = None;
            self.integrity = false;
            self.failures = 0;
            self.report();
            return;
        }
        if old.username != self.config.username || old.password != self.config.password {
            self.integrity = false;
        }
        let rediscover = !old.enabled
            || matches!(self.state, State::Disabled | State::Stopped)
            || old.server != self.config.server
            || old.local != self.config.local
            || old.username != self.config.username
            || old.password != self.config.password
            || old.format != self.config.format;
        if old.local != self.config.local {
            self.report();
        }
        if rediscover {
            self.failures = 0;
            self.transmits.clear();
            self.start(now, false);
            return;
        }
        if let State::Waiting { at, .. } = &mut self.state {
            if self.failures == 0 {
                let base = self.last_start.unwrap_or(now);
                *at = later(base, self.config.keepalive_interval()).max(now);
            }
        }
    }

    /// The local address changed (new IP on the interface): re-runs discovery.
    pub fn set_local_addr(&mut self, now: Instant, local: SocketAddr) {
        let mut c = self.config.clone();
        c.local = local;
        self.set_config(now, c);
    }

    /// The next datagram to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<StunEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next (`None` when
    /// disabled).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Disabled | State::Stopped => None,
            State::Waiting { at, .. } => Some(*at),
            State::InFlight(t) => Some(t.next_at),
        }
    }

    /// Current UDPConnectionRequestAddress.
    pub fn udp_connection_request_address(&self) -> String {
        self.current().0
    }

    /// Current NATDetected.
    pub fn nat_detected(&self) -> bool {
        self.current().1
    }

    /// The public address learned from the latest Binding Response, if any.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        self.mapped
    }

    /// Whether requests now carry MESSAGE-INTEGRITY (the server asked for it).
    pub fn integrity_in_use(&self) -> bool {
        self.integrity
    }

    /// Timer input: retransmits, gives up on a silent server, or sends the next keepalive.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &mut self.state {
            State::Disabled | State::Stopped => {}
            State::Waiting { at, binding_change } => {
                if now >= *at {
                    let bc = *binding_change;
                    self.start(now, bc);
                }
            }
            State::InFlight(t) => {
                if now < t.next_at {
                    return;
                }
                if t.sends < MAX_SENDS {
                    t.sends += 1;
                    let shift = (t.sends - 1).min(16);
                    let interval = RETRANSMIT_INITIAL
                        .saturating_mul(1u32 << shift)
                        .min(RETRANSMIT_MAX);
                    t.next_at = later(now, interval);
                    let payload = t.payload.clone();
                    self.push_transmit(payload);
                } else {
                    let bc = t.binding_change;
                    log::debug!(
                        "STUN: no answer from {} after {MAX_SENDS} sends",
                        self.config.server
                    );
                    self.back_off(now, bc);
                    self.push_event(StunEvent::ServerUnreachable);
                }
            }
        }
    }

    /// Datagram input: a datagram received on the UDP connection-request socket that
    /// [`classify`](crate::classify) called STUN. Returns `true` when it was an answer to the
    /// current transaction from the server (whether or not it was usable).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> bool {
        if canonical(from) != canonical(self.config.server) {
            return false;
        }
        let State::InFlight(t) = &self.state else {
            return false;
        };
        let Ok(d) = decode(bytes) else {
            return false;
        };
        if d.message.transaction_id != t.id {
            return false;
        }
        let (started, bc, with_integrity) = (t.started, t.binding_change, t.with_integrity);
        let key = self.config.password.expose().as_bytes();
        match d.message.message_type {
            MessageType::BindingResponse => {
                if with_integrity && d.verify_integrity(key) != IntegrityCheck::Valid {
                    log::warn!("STUN: Binding Response without valid MESSAGE-INTEGRITY ignored");
                    return true;
                }
                let Some(mapped) = d.message.mapped_address() else {
                    log::warn!("STUN: Binding Response without MAPPED-ADDRESS ignored");
                    return true;
                };
                self.on_success(now, canonical(mapped), started, bc);
            }
            MessageType::BindingErrorResponse => {
                if with_integrity && d.verify_integrity(key) == IntegrityCheck::Invalid {
                    log::warn!("STUN: Binding Error Response with bad MESSAGE-INTEGRITY ignored");
                    return true;
                }
                let (code, reason) = d
                    .message
                    .error_code()
                    .map(|(c, r)| (c, r.to_owned()))
                    .unwrap_or((0, String::new()));
                match code {
                    401 | 432 if !with_integrity && !self.config.username.is_empty() => {
                        // The server asks for MESSAGE-INTEGRITY: resend at once, as part of
                        // the same attempt (exempt from the minimum period).
                        self.integrity = true;
                        self.start(now, bc);
                    }
                    401 | 430 | 431 | 432 => {
                        self.back_off(now, bc);
                        self.push_event(StunEvent::AuthenticationFailed { code });
                    }
                    _ => {
                        self.back_off(now, bc);
                        self.push_event(StunEvent::ErrorResponse { code, reason });
                    }
                }
            }
            _ => return false,
        }
        true
    }

    fn current(&self) -> (String, bool) {
        match (self.config.enabled, self.mapped) {
            (true, Some(m)) => {
                let local = canonical(self.config.local);
                let nat = if local.ip().is_unspecified() {
                    m.port() != local.port()
                } else {
                    m != local
                };
                (m.to_string(), nat)
            }
            _ => (self.config.local.to_string(), false),
        }
    }

    fn report(&mut self) {
        let cur = self.current();
        if cur != self.reported {
            self.reported = cur.clone();
            self.push_event(StunEvent::AddressChanged {
                udp_connection_request_address: cur.0,
                nat_detected: cur.1,
            });
        }
    }

    fn push_event(&mut self, e: StunEvent) {
        if self.events.len() == MAX_QUEUED {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    fn push_transmit(&mut self, payload: Vec<u8>) {
        if self.transmits.len() == MAX_QUEUED {
            self.transmits.pop_front();
        }
        self.transmits.push_back(Transmit {
            destination: self.config.server,
            payload,
        });
    }

    fn start(&mut self, now: Instant, binding_change: bool) {
        let mut random = [0u8; 16];
        self.rng.fill_bytes(&mut random);
        let id = TransactionId::from_random(random, self.config.format);
        let with_integrity = self.integrity && !self.config.username.is_empty();
        let msg = StunMessage::binding_request(id, binding_change, &self.config.username);
        let key = with_integrity.then_some(self.config.password.expose().as_bytes());
        match msg.encode(self.config.format, key) {
            Ok(payload) => {
                self.push_transmit(payload.clone());
                self.state = State::InFlight(Transaction {
                    id,
                    payload,
                    sends: 1,
                    next_at: later(now, RETRANSMIT_INITIAL),
                    started: now,
                    binding_change,
                    with_integrity,
                });
                self.last_start = Some(now);
            }
            Err(e) => {
                log::warn!("STUN: cannot encode a Binding Request: {e}");
                self.state = State::Stopped;
                self.push_event(StunEvent::InvalidConfiguration);
            }
        }
    }

    fn back_off(&mut self, now: Instant, binding_change: bool) {
        self.failures = self.failures.saturating_add(1);
        let shift = (self.failures - 1).min(16);
        let delay = RETRY_BACKOFF_INITIAL
            .saturating_mul(1u32 << shift)
            .min(RETRY_BACKOFF_MAX);
        let mut at = later(now, delay);
        if let Some(last) = self.last_start {
            at = at.max(later(last, self.config.min_keepalive));
        }
        self.state = State::Waiting { at, binding_change };
    }

    fn on_success(&mut self, now: Instant, mapped: SocketAddr, started: Instant, was_change: bool) {
        self.failures = 0;
        let changed = self.mapped.is_some_and(|m| m != mapped);
        self.mapped = Some(mapped);
        self.report();
        if changed && !was_change {
            log::info!("STUN: NAT binding changed to {mapped}");
            self.start(now, true);
        } else if changed {
            // Changed again right after a BINDING-CHANGE request: do not loop; tell the server
            // at the minimum period instead.
            let at = later(started, self.config.min_keepalive.max(KEEPALIVE_FLOOR)).max(now);
            self.state = State::Waiting {
                at,
                binding_change: true,
            };
        } else {
            let at = later(started, self.config.keepalive_interval()).max(now);
            self.state = State::Waiting {
                at,
                binding_change: false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stun::{Attribute, DecodedStun};

    fn server() -> SocketAddr {
        "192.0.2.10:3478".parse().unwrap()
    }
    fn local() -> SocketAddr {
        "10.0.0.2:7547".parse().unwrap()
    }

    fn cfg() -> StunConfig {
        let mut c = StunConfig::new(server(), local());
        c.set_keepalive_parameters(20, 60);
        c
    }

    fn drain(b: &mut StunBinding) -> Vec<DecodedStun> {
        let mut v = Vec::new();
        while let Some(t) = b.poll_transmit() {
            assert_eq!(t.destination, server());
            v.push(decode(&t.payload).unwrap());
        }
        v
    }

    fn events(b: &mut StunBinding) -> Vec<StunEvent> {
        std::iter::from_fn(|| b.poll_event()).collect()
    }

    fn response(req: &DecodedStun, mapped: &str, key: Option<&[u8]>) -> Vec<u8> {
        let mut m = StunMessage::new(MessageType::BindingResponse, req.message.transaction_id);
        m.attributes
            .push(Attribute::MappedAddress(mapped.parse().unwrap()));
        m.encode(StunFormat::Classic, key).unwrap()
    }

    fn error(req: &DecodedStun, code: u16) -> Vec<u8> {
        let mut m = StunMessage::new(
            MessageType::BindingErrorResponse,
            req.message.transaction_id,
        );
        m.attributes.push(Attribute::ErrorCode {
            code,
            reason: "x".into(),
        });
        m.encode(StunFormat::Classic, None).unwrap()
    }

    #[test]
    fn first_request_then_keepalive_at_the_maximum_period() {
        let t0 = Instant::now();
        let mut b = StunBinding::new(cfg(), [1; 32], t0);
        let sent = drain(&mut b);
        assert_eq!(sent.len(), 1);
        let req = &sent[0];
        assert_eq!(req.message.message_type, MessageType::BindingRequest);
        assert!(req.message.has_connection_request_binding());
        assert!(!req.message.has_binding_change());
        assert!(!req.has_integrity());
        assert!(!req.message.transaction_id.has_magic_cookie());
        assert_eq!(b.udp_connection_request_address(), "10.0.0.2:7547");
        assert!(!b.nat_detected());

        let t1 = t0 + Duration::from_millis(40);
        assert!(b.handle_datagram(t1, server(), &response(req, "203.0.113.7:61000", None)));
        assert_eq!(
            events(&mut b),
            vec![StunEvent::AddressChanged {
                udp_connection_request_address: "203.0.113.7:61000".into(),
                nat_detected: true
            }]
        );
        assert!(b.nat_detected());
        assert_eq!(b.poll_timeout(), Some(t0 + Duration::from_secs(60)));
        // Early and spurious wake-ups do nothing.
        b.handle_timeout(t0 + Duration::from_secs(30));
        assert!(b.poll_transmit().is_none());
        b.handle_timeout(t0 + Duration::from_secs(60));
        let sent = drain(&mut b);
        assert_eq!(sent.len(), 1);
        assert_ne!(sent[0].message.transaction_id, req.message.transaction_id);
        // Same mapping: no event.
        b.handle_datagram(
            t0 + Duration::from_secs(60),
            server(),
            &response(&sent[0], "203.0.113.7:61000", None),
        );
        assert!(events(&mut b).is_empty());
    }

    #[test]
    fn rfc3489_retransmission_schedule_and_failure() {
        let t0 = Instant::now();
        let mut b = StunBinding::new(cfg(), [2; 32], t0);
        let first = drain(&mut b).remove(0);
        let mut times = vec![0u64];
        while let Some(at) = b.poll_timeout() {
            let ms = at.duration_since(t0).as_millis() as u64;
            if ms > 9_500 {
                break;
            }
            b.handle_timeout(at);
            for again in drain(&mut b) {
                // Retransmissions are identical.
                assert_eq!(again, first);
                times.push(ms);
            }
            if !events(&mut b).is_empty() {
                assert_eq!(ms, 9_500);
                break;
            }
        }
        assert_eq!(times, vec![0, 100, 300, 700, 1500, 3100, 4700, 6300, 7900]);
        // Back-off: 10 s after the failure, but not before the 20 s minimum period.
        assert_eq!(b.poll_timeout(), Some(t0 + Duration::from_secs(20)));
        // A late answer to the failed transaction is not ours any more.
        assert!(!b.handle_datagram(
            t0 + Duration::from_secs(11),
            server(),
            &response(&first, "1.2.3.4:5", None)
        ));
    }

    #[test]
    fn binding_change_is_sent_at_once() {
        let t0 = Instant::now();
        let mut b = StunBinding::new(cfg(), [3; 32], t0);
        let r1 = drain(&mut b).remove(0);
        b.handle_datagram(t0, server(), &response(&r1, "203.0.113.7:61000", None));
        events(&mut b);
        let t1 = t0 + Duration::from_secs(60);
        b.handle_timeout(t1);
        let r2 = drain(&mut b).remove(0);
        // The NAT now maps us elsewhere.
        b.handle_datagram(t1, server(), &response(&r2, "203.0.113.7:62000", None));
        assert_eq!(
            events(&mut b),
            vec![StunEvent::AddressChanged {
                udp_connection_request_address: "203.0.113.7:62000".into(),
                nat_detected: true
            }]
        );
        let r3 = drain(&mut b);
        assert_eq!(
            r3.len(),
            1,
            "BINDING-CHANGE request immediately, exempt from the minimum"
        );
        assert!(r3[0].message.has_binding_change());
        assert!(r3[0].message.has_connection_request_binding());
        b.handle_datagram(t1, server(), &response(&r3[0], "203.0.113.7:62000", None));
        assert_eq!(b.poll_timeout(), Some(t1 + Duration::from_secs(60)));
        b.handle_timeout(t1 + Duration::from_secs(60));
        assert!(!drain(&mut b)[0].message.has_binding_change());
    }

    #[test]
    fn integrity_after_401() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.username = "cpe-user".into();
        c.password = "stun-pw".into();
        let mut b = StunBinding::new(c, [4; 32], t0);
        let r1 = drain(&mut b).remove(0);
        assert_eq!(r1.message.username(), Some("cpe-user"));
        assert!(!r1.has_integrity());
        assert!(b.handle_datagram(t0, server(), &error(&r1, 401)));
        let r2 = drain(&mut b).remove(0);
        assert!(b.integrity_in_use());
        assert_eq!(r2.verify_integrity(b"stun-pw"), IntegrityCheck::Valid);
        assert_eq!(r2.message.username(), Some("cpe-user"));
        // An unauthenticated response (or one with another key) is ignored.
        assert!(b.handle_datagram(t0, server(), &response(&r2, "198.51.100.1:1", None)));
        assert!(b.handle_datagram(t0, server(), &response(&r2, "198.51.100.1:1", Some(b"bad"))));
        assert_eq!(b.mapped_address(), None);
        assert!(b.handle_datagram(
            t0,
            server(),
            &response(&r2, "198.51.100.1:1", Some(b"stun-pw"))
        ));
        assert_eq!(b.mapped_address(), Some("198.51.100.1:1".parse().unwrap()));
        // Later requests keep MESSAGE-INTEGRITY.
        b.handle_timeout(t0 + Duration::from_secs(60));
        assert!(drain(&mut b)[0].has_integrity());
    }

    #[test]
    fn auth_failures_and_errors_back_off() {
        let t0 = Instant::now();
        // 401 without a username configured: cannot comply.
        let mut b = StunBinding::new(cfg(), [5; 32], t0);
        let r = drain(&mut b).remove(0);
        b.handle_datagram(t0, server(), &error(&r, 401));
        assert_eq!(
            events(&mut b),
            vec![StunEvent::AuthenticationFailed { code: 401 }]
        );
        assert!(drain(&mut b).is_empty());
        assert_eq!(b.poll_timeout(), Some(t0 + Duration::from_secs(20)));
        // 401 again after MESSAGE-INTEGRITY: wrong credentials.
        let mut c = cfg();
        c.username = "u".into();
        let mut b = StunBinding::new(c, [6; 32], t0);
        let r = drain(&mut b).remove(0);
        b.handle_datagram(t0, server(), &error(&r, 401));
        let r = drain(&mut b).remove(0);
        b.handle_datagram(t0, server(), &error(&r, 401));
        assert_eq!(
            events(&mut b),
            vec![StunEvent::AuthenticationFailed { code: 401 }]
        );
        // Other errors.
        let mut b = StunBinding::new(cfg(), [7; 32], t0);
        let r = drain(&mut b).remove(0);
        b.handle_datagram(t0, server(), &error(&r, 500));
        assert_eq!(
            events(&mut b),
            vec![StunEvent::ErrorResponse {
                code: 500,
                reason: "x".into()
            }]
        );
    }

    #[test]
    fn foreign_datagrams_are_not_ours() {
        let t0 = Instant::now();
        let mut b = StunBinding::new(cfg(), [8; 32], t0);
        let r = drain(&mut b).remove(0);
        let other: SocketAddr = "192.0.2.99:3478".parse().unwrap();
        assert!(!b.handle_datagram(t0, other, &response(&r, "1.1.1.1:1", None)));
        let mut wrong_id = r.clone();
        wrong_id.message.transaction_id = TransactionId([0; 16]);
        assert!(!b.handle_datagram(t0, server(), &response(&wrong_id, "1.1.1.1:1", None)));
        assert!(!b.handle_datagram(t0, server(), b"garbage"));
        // The server answering from its IPv4-mapped IPv6 form is the server.
        let mapped_v6: SocketAddr = "[::ffff:192.0.2.10]:3478".parse().unwrap();
        assert!(b.handle_datagram(t0, mapped_v6, &response(&r, "10.0.0.2:7547", None)));
        // Mapping equal to the local address: no NAT, nothing changed, no event.
        assert!(!b.nat_detected());
        assert!(events(&mut b).is_empty());
    }

    #[test]
    fn disable_enable_and_reconfigure() {
        let t0 = Instant::now();
        let mut b = StunBinding::new(cfg(), [9; 32], t0);
        let r = drain(&mut b).remove(0);
        b.handle_datagram(t0, server(), &response(&r, "203.0.113.7:61000", None));
        events(&mut b);
        let mut off = cfg();
        off.enabled = false;
        b.set_config(t0, off.clone());
        assert_eq!(b.poll_timeout(), None);
        assert_eq!(
            events(&mut b),
            vec![StunEvent::AddressChanged {
                udp_connection_request_address: "10.0.0.2:7547".into(),
                nat_detected: false
            }]
        );
        b.handle_timeout(t0 + Duration::from_secs(1000));
        assert!(b.poll_transmit().is_none());
        // Disabled from the start: no traffic at all, local address reported by the getters.
        let mut d = StunBinding::new(off, [10; 32], t0);
        assert!(d.poll_transmit().is_none());
        assert_eq!(d.poll_timeout(), None);
        assert_eq!(d.udp_connection_request_address(), "10.0.0.2:7547");
        // Enabling starts discovery at once.
        d.set_config(t0, cfg());
        assert_eq!(drain(&mut d).len(), 1);
        // Changing only the periods reschedules the next keepalive.
        assert!(d.transmits.is_empty());
        let State::InFlight(t) = &d.state else {
            panic!()
        };
        let id = t.id;
        let mut m = StunMessage::new(MessageType::BindingResponse, id);
        m.attributes
            .push(Attribute::MappedAddress("10.0.0.2:7547".parse().unwrap()));
        d.handle_datagram(t0, server(), &m.encode(StunFormat::Classic, None).unwrap());
        assert_eq!(d.poll_timeout(), Some(t0 + Duration::from_secs(60)));
        let mut c = cfg();
        c.set_keepalive_parameters(20, 25);
        d.set_config(t0, c);
        assert_eq!(d.poll_timeout(), Some(t0 + Duration::from_secs(25)));
        // A new local address restarts discovery.
        d.set_local_addr(t0, "10.0.0.3:7547".parse().unwrap());
        assert_eq!(drain(&mut d).len(), 1);
    }

    #[test]
    fn keepalive_interval_rules() {
        let mut c = cfg();
        c.set_keepalive_parameters(0, -1);
        assert_eq!(c.keepalive_interval(), DEFAULT_KEEPALIVE);
        c.set_keepalive_parameters(45, -1);
        assert_eq!(c.keepalive_interval(), Duration::from_secs(45));
        c.set_keepalive_parameters(45, 30);
        assert_eq!(c.keepalive_interval(), Duration::from_secs(45));
        c.set_keepalive_parameters(10, 120);
        assert_eq!(c.keepalive_interval(), Duration::from_secs(120));
        c.set_keepalive_parameters(0, 0);
        assert_eq!(c.keepalive_interval(), KEEPALIVE_FLOOR);
        assert!(!format!("{c:?}").contains("stun-pw"));
    }

    #[test]
    fn cookie_format_requests() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.format = StunFormat::Rfc5389Compatible;
        let mut b = StunBinding::new(c, [11; 32], t0);
        let r = drain(&mut b).remove(0);
        assert!(r.message.transaction_id.has_magic_cookie());
    }

    #[test]
    fn nat_detection_with_unspecified_local_ip() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.local = "0.0.0.0:7547".parse().unwrap();
        let mut b = StunBinding::new(c, [12; 32], t0);
        let r = drain(&mut b).remove(0);
        b.handle_datagram(t0, server(), &response(&r, "203.0.113.7:7547", None));
        assert!(!b.nat_detected());
        assert_eq!(b.udp_connection_request_address(), "203.0.113.7:7547");
    }
}

//! The one timer table (design invariant 3), after quinn-proto's `TimerTable`.
//!
//! Every deadline the engine has lives here, one slot per [`Timer`]. The embedder only ever sees
//! the earliest ([`crate::Agent::poll_timeout`]). A [`crate::Input::Timeout`] fires exactly
//! the slots whose deadline is not after `now.mono`; an early or spurious wake-up finds none
//! and does nothing.
//!
//! Timers that stand for several pending items (scheduled informs, delayed downloads) hold the
//! earliest item's deadline and are re-armed from the items after they fire.

use serde::Serialize;
use std::time::Instant;

/// The kinds of deadline the engine keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Timer {
    /// Start-up: armed at construction so the embedder calls in once with the store.
    Start,
    /// The next `2 PERIODIC` inform (TR-069 §3.2.1).
    Periodic,
    /// The end of the retry wait after a failed session (TR-069 §3.2.1.1).
    Retry,
    /// The earliest pending ScheduleInform (TR-069 Annex A (ScheduleInform)).
    ScheduledInform,
    /// The end of the active-notification throttle (TR-069 §3.2.1).
    NotificationThrottle,
    /// The wait for the ACS's HTTP response (≥ 30 s, TR-069 §3.4).
    Response,
    /// The earliest accepted Download whose DelaySeconds elapses (TR-069 Annex A.3.2.8).
    TransferStart,
    /// The STUN binding's next retransmission or keepalive, or a DNS retry (TR-069 Annex G).
    Stun,
    /// The end of UDPConnectionRequestAddressNotificationLimit (TR-069 Annex G).
    UdpAddressNotification,
    /// Asking again for the connection-request listener after a failed bind (TR-069 §3.2.2).
    ConnectionRequestListen,
}

impl Timer {
    /// Every timer, in slot order.
    pub const ALL: [Timer; 10] = [
        Timer::Start,
        Timer::Periodic,
        Timer::Retry,
        Timer::ScheduledInform,
        Timer::NotificationThrottle,
        Timer::Response,
        Timer::TransferStart,
        Timer::Stun,
        Timer::UdpAddressNotification,
        Timer::ConnectionRequestListen,
    ];

    fn slot(self) -> usize {
        match self {
            Timer::Start => 0,
            Timer::Periodic => 1,
            Timer::Retry => 2,
            Timer::ScheduledInform => 3,
            Timer::NotificationThrottle => 4,
            Timer::Response => 5,
            Timer::TransferStart => 6,
            Timer::Stun => 7,
            Timer::UdpAddressNotification => 8,
            Timer::ConnectionRequestListen => 9,
        }
    }
}

/// Deadlines by timer kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    pub(crate) fn set(&mut self, t: Timer, at: Instant) {
        self.slots[t.slot()] = Some(at);
    }

    pub(crate) fn stop(&mut self, t: Timer) {
        self.slots[t.slot()] = None;
    }

    pub(crate) fn get(&self, t: Timer) -> Option<Instant> {
        self.slots[t.slot()]
    }

    #[cfg(test)]
    pub(crate) fn is_set(&self, t: Timer) -> bool {
        self.get(t).is_some()
    }

    /// The earliest deadline.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Clear and return the timers whose deadline is not after `now`, in slot order.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Vec<Timer> {
        let mut fired = Vec::new();
        for t in Timer::ALL {
            if let Some(at) = self.slots[t.slot()] {
                if at <= now {
                    self.slots[t.slot()] = None;
                    fired.push(t);
                }
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    #[allow(clippy::disallowed_methods)] // a test needs some base instant; the engine never reads the clock
    fn earliest_and_expiry() {
        let t0 = Instant::now();
        let mut tt = TimerTable::default();
        assert_eq!(tt.next_timeout(), None);
        tt.set(Timer::Periodic, t0 + Duration::from_secs(60));
        tt.set(Timer::Retry, t0 + Duration::from_secs(5));
        assert_eq!(tt.next_timeout(), Some(t0 + Duration::from_secs(5)));
        // Early wake-up: nothing fires.
        assert!(tt.take_expired(t0 + Duration::from_secs(4)).is_empty());
        assert_eq!(
            tt.take_expired(t0 + Duration::from_secs(5)),
            vec![Timer::Retry]
        );
        assert!(!tt.is_set(Timer::Retry));
        assert_eq!(tt.next_timeout(), Some(t0 + Duration::from_secs(60)));
        tt.stop(Timer::Periodic);
        assert_eq!(tt.next_timeout(), None);
    }
}

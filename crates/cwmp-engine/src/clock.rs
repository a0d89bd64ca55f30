//! Time as the engine sees it: both clocks come in with every call (design invariant 1).

use cwmp_model::DateTime;
use std::time::{Duration, Instant};

/// The current time, read by the embedder and passed with every call into the engine.
///
/// * `mono` drives every deadline (retry waits, timeouts, delays): it never jumps.
/// * `wall` is the device's absolute UTC time: it fills Inform `CurrentTime`, anchors the
///   periodic inform phase to `PeriodicInformTime` (TR-069 §3.2.1) and dates persisted deadlines.
///   [`DateTime::UNKNOWN`] means the device has no reliable absolute time yet (no NTP); the
///   engine then behaves as TR-069 §3.2.1 says for a CPE without absolute time.
///
/// The engine notices wall-clock steps (an NTP sync) by comparing `wall − mono` between
/// calls, and re-anchors the periodic schedule when it moves by more than
/// [`CLOCK_STEP_TOLERANCE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// The monotonic clock.
    pub mono: Instant,
    /// The wall clock (UTC), or [`DateTime::UNKNOWN`].
    pub wall: DateTime,
}

/// How far `wall − mono` may drift between two calls before the engine treats it as a clock
/// step and recomputes wall-anchored deadlines.
pub const CLOCK_STEP_TOLERANCE: Duration = Duration::from_secs(2);

impl Now {
    /// Both clocks.
    pub fn new(mono: Instant, wall: DateTime) -> Now {
        Now { mono, wall }
    }

    /// Whether the wall clock is known.
    pub fn wall_known(&self) -> bool {
        !self.wall.is_unknown()
    }

    /// Wall time in nanoseconds since the Unix epoch, when known.
    pub(crate) fn wall_nanos(&self) -> Option<i128> {
        if self.wall_known() {
            Some(self.wall.0.unix_timestamp_nanos())
        } else {
            None
        }
    }

    /// `wall + secs`, or Unknown Time when the wall clock is unknown or the sum overflows.
    pub(crate) fn wall_plus(&self, d: Duration) -> DateTime {
        if !self.wall_known() {
            return DateTime::UNKNOWN;
        }
        let Ok(secs) = i64::try_from(d.as_secs()) else {
            return DateTime::UNKNOWN;
        };
        self.wall
            .0
            .checked_add(::time::Duration::seconds(secs))
            .map(DateTime)
            .unwrap_or(DateTime::UNKNOWN)
    }
}

/// `base + d`, saturating at a far-future instant instead of panicking on overflow.
///
/// `Instant + Duration` panics on overflow; deadlines computed from network or store values
/// (retry multipliers, delays) go through here.
pub(crate) fn add(base: Instant, d: Duration) -> Instant {
    base.checked_add(d)
        .or_else(|| base.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(base)
}

//! The periodic inform schedule (TR-069 §3.2.1).
//!
//! Informs happen at `PeriodicInformTime + j × PeriodicInformInterval` for any integer j: the
//! anchor only sets the phase. The next fire time after `now` is
//! `now + ((anchor − now) mod interval)` with a non-negative modulo, taken strictly after now.
//!
//! Decision (TR-069 §3.2.1 leaves the phase to the CPE): when the anchor is the Unknown Time, or the
//! device has no wall clock, the phase is the monotonic instant at which the engine first
//! needed one (start-up, or the moment the anchor became unknown). It is kept across sessions
//! and across interval changes, and is not persisted: after a restart the phase restarts with
//! the boot session.

use cwmp_model::DateTime;
use std::time::{Duration, Instant};

/// The three `ManagementServer` parameters that define the schedule, as read from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeriodicConfig {
    pub(crate) enable: bool,
    /// Seconds, ≥ 1 (0 is treated as disabled).
    pub(crate) interval: u32,
    pub(crate) anchor: DateTime,
}

/// The first instant strictly after `now_ns` of the grid `anchor_ns + j·interval_ns`
/// (all in nanoseconds on one time axis).
///
/// ```
/// // Anchor at 10 s, interval 60 s, now 200 s → 250 s.
/// assert_eq!(cwmp_engine::next_on_grid(10, 60, 200), 250);
/// // An anchor in the future works the same way.
/// assert_eq!(cwmp_engine::next_on_grid(10_000, 60, 200), 220);
/// // Exactly on the grid → the next point.
/// assert_eq!(cwmp_engine::next_on_grid(10, 60, 250), 310);
/// ```
pub fn next_on_grid(anchor: i128, interval: i128, now: i128) -> i128 {
    if interval <= 0 {
        return now;
    }
    let r = (anchor - now).rem_euclid(interval);
    if r == 0 {
        now + interval
    } else {
        now + r
    }
}

/// The monotonic deadline of the next periodic inform, or `None` when disabled.
///
/// `wall_now` is nanoseconds since the Unix epoch when the wall clock is known; `mono_anchor`
/// is the phase used when the anchor or the wall clock is unknown.
pub(crate) fn next_deadline(
    cfg: &PeriodicConfig,
    mono_now: Instant,
    wall_now: Option<i128>,
    mono_anchor: Instant,
) -> Option<Instant> {
    if !cfg.enable || cfg.interval == 0 {
        return None;
    }
    let interval = i128::from(cfg.interval) * 1_000_000_000;
    let delta_ns = match wall_now {
        Some(wall) if !cfg.anchor.is_unknown() => {
            let anchor = cfg.anchor.0.unix_timestamp_nanos();
            next_on_grid(anchor, interval, wall) - wall
        }
        _ => {
            // Phase from the monotonic anchor (which is never after now).
            let since = mono_now.saturating_duration_since(mono_anchor).as_nanos() as i128;
            next_on_grid(0, interval, since) - since
        }
    };
    let delta = Duration::from_nanos(u64::try_from(delta_ns).unwrap_or(u64::MAX));
    Some(crate::clock::add(mono_now, delta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid() {
        assert_eq!(next_on_grid(0, 10, 0), 10);
        assert_eq!(next_on_grid(0, 10, 1), 10);
        assert_eq!(next_on_grid(-5, 10, 1), 5);
        assert_eq!(next_on_grid(1_000_003, 10, 1), 3);
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a test needs some base instant; the engine never reads the clock
    fn wall_anchor_sets_the_phase() {
        let t0 = Instant::now();
        let cfg = PeriodicConfig {
            enable: true,
            interval: 86_400,
            anchor: DateTime::parse("2020-01-01T00:00:00Z").unwrap(),
        };
        // 2024-05-01T10:00:00Z → next UTC midnight is 14 h later.
        let now = DateTime::parse("2024-05-01T10:00:00Z").unwrap();
        let d = next_deadline(&cfg, t0, Some(now.0.unix_timestamp_nanos()), t0).unwrap();
        assert_eq!(d - t0, Duration::from_secs(14 * 3600));
        // Unknown anchor: phase from the monotonic anchor.
        let cfg = PeriodicConfig {
            anchor: DateTime::UNKNOWN,
            interval: 60,
            ..cfg
        };
        let later = t0 + Duration::from_secs(90);
        let d = next_deadline(&cfg, later, None, t0).unwrap();
        assert_eq!(d - t0, Duration::from_secs(120));
        let off = PeriodicConfig {
            enable: false,
            ..cfg
        };
        assert_eq!(next_deadline(&off, later, None, t0), None);
    }
}

//! Session retry waits (TR-069 §3.2.1.1, §3.2.1.1).
//!
//! After the n-th consecutive failed session the CPE waits a uniformly random time in
//! `[m·(k/1000)^(n−1), m·(k/1000)^n]` seconds, with `n = min(n, 10)`,
//! `m = CWMPRetryMinimumWaitInterval` (default 5, range 1..=65535) and
//! `k = CWMPRetryIntervalMultiplier` (default 2000, range 1000..=65535).

use rand::Rng;
use std::time::Duration;

/// Default `CWMPRetryMinimumWaitInterval` (seconds) when the store has no such parameter.
pub const DEFAULT_RETRY_MINIMUM_WAIT: u32 = 5;
/// Default `CWMPRetryIntervalMultiplier` (thousandths) when the store has no such parameter.
pub const DEFAULT_RETRY_MULTIPLIER: u32 = 2000;

/// The longest retry wait the engine ever arms.
///
/// Decision (TR-069 silent): with extreme but legal values (m = k = 65535) the formula gives
/// more than 10²² seconds. The wait is capped at one year so deadlines stay representable;
/// no realistic configuration comes near it (the defaults top out at 5120 s).
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(365 * 86_400);

/// The inclusive range of the wait before retry number `retry_count` (≥ 1; 0 is treated as 1).
///
/// `m` and `k` are clamped into their data-model ranges first, so a store holding an out-of-range
/// value cannot produce a zero or shrinking wait.
///
/// ```
/// use std::time::Duration;
/// let (lo, hi) = cwmp_engine::retry_wait_range(1, 5, 2000);
/// assert_eq!((lo, hi), (Duration::from_secs(5), Duration::from_secs(10)));
/// let (lo, hi) = cwmp_engine::retry_wait_range(12, 5, 2000); // row "10 and subsequent"
/// assert_eq!((lo, hi), (Duration::from_secs(2560), Duration::from_secs(5120)));
/// ```
pub fn retry_wait_range(retry_count: u32, m: u32, k: u32) -> (Duration, Duration) {
    let n = retry_count.clamp(1, 10) as i32;
    let m = f64::from(m.clamp(1, 65_535));
    let f = f64::from(k.clamp(1000, 65_535)) / 1000.0;
    let lo = m * f.powi(n - 1);
    let hi = m * f.powi(n);
    let cap = MAX_RETRY_WAIT.as_secs_f64();
    (
        Duration::from_secs_f64(lo.min(cap)),
        Duration::from_secs_f64(hi.min(cap)),
    )
}

/// A uniformly random wait in [`retry_wait_range`], at millisecond resolution.
pub(crate) fn retry_wait(retry_count: u32, m: u32, k: u32, rng: &mut impl Rng) -> Duration {
    let (lo, hi) = retry_wait_range(retry_count, m, k);
    // Round the ends inwards so the drawn value never leaves the spec's range.
    let lo_ms = (lo.as_secs_f64() * 1000.0).ceil() as u64;
    let hi_ms = ((hi.as_secs_f64() * 1000.0).floor() as u64).max(lo_ms);
    Duration::from_millis(rng.random_range(lo_ms..=hi_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn default_table() {
        let rows = [
            (1, 5, 10),
            (2, 10, 20),
            (3, 20, 40),
            (4, 40, 80),
            (5, 80, 160),
            (6, 160, 320),
            (7, 320, 640),
            (8, 640, 1280),
            (9, 1280, 2560),
            (10, 2560, 5120),
            (11, 2560, 5120),
            (500, 2560, 5120),
        ];
        for (n, lo, hi) in rows {
            let (a, b) = retry_wait_range(n, 5, 2000);
            assert_eq!(
                (a, b),
                (Duration::from_secs(lo), Duration::from_secs(hi)),
                "{n}"
            );
        }
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (m, k) in [(5, 2000), (10, 3000), (1, 1000), (65_535, 65_535), (0, 0)] {
            for n in 1..=12 {
                let (lo, hi) = retry_wait_range(n, m, k);
                for _ in 0..50 {
                    let w = retry_wait(n, m, k, &mut rng);
                    assert!(
                        w >= lo && w <= hi,
                        "{m} {k} {n}: {w:?} not in {lo:?}..{hi:?}"
                    );
                }
            }
        }
    }
}

//! The connection-request rate limiter (TR-069 §3.2.2: the CPE SHOULD limit how many Connection
//! Requests it accepts per period and answer the others `503` without `Retry-After`).
//!
//! A token bucket with time passed in: `burst` requests may come back to back, then one more
//! each `refill_every`. The same limiter serves HTTP and UDP connection requests (TR-069 Annex G: a
//! UDP request is subject to "the same rate limiting").

use std::time::{Duration, Instant};

/// Default burst: ten connection requests in a row all pass (an ACS that posts several tasks
/// at once, each with its own connection request, as GenieACS does; an operator clicking
/// repeatedly). Raised from 5, which refused GenieACS's sixth task (issue 10).
pub const DEFAULT_BURST: u32 = 10;

/// Default refill: one connection request a second in the long run. How the HTTP listener
/// spends the budget (only requests that add no session count) is in
/// [`ConnectionRequestServer`](crate::ConnectionRequestServer).
pub const DEFAULT_REFILL: Duration = Duration::from_secs(1);

/// A token bucket.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    burst: u32,
    refill_every: Duration,
    tokens: u32,
    last_refill: Option<Instant>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(DEFAULT_BURST, DEFAULT_REFILL)
    }
}

impl RateLimiter {
    /// A full bucket of `burst` tokens, one token back every `refill_every`.
    /// A zero `refill_every` means no limit; a zero `burst` refuses everything.
    pub fn new(burst: u32, refill_every: Duration) -> Self {
        RateLimiter {
            burst,
            refill_every,
            tokens: burst,
            last_refill: None,
        }
    }

    /// Takes one token if there is one: `true` = accept the request, `false` = answer `503`.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        if self.refill_every.is_zero() {
            return self.burst > 0;
        }
        self.refill(now);
        if self.tokens > 0 {
            self.tokens -= 1;
            true
        } else {
            false
        }
    }

    /// Tokens available at `now` (without taking one).
    pub fn available(&mut self, now: Instant) -> u32 {
        self.refill(now);
        self.tokens
    }

    fn refill(&mut self, now: Instant) {
        let Some(last) = self.last_refill else {
            self.last_refill = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(last);
        let step = self.refill_every.as_nanos().max(1);
        let earned = elapsed.as_nanos() / step;
        if earned == 0 {
            return;
        }
        let earned_u32 = u32::try_from(earned).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(earned_u32).min(self.burst);
        if self.tokens >= self.burst {
            // Full: time spent full earns nothing later.
            self.last_refill = Some(now);
        } else {
            // Keep the fractional part of the period so the long-run rate is exact.
            let used = self.refill_every.saturating_mul(earned_u32);
            self.last_refill = Some(last.checked_add(used).unwrap_or(now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(3, Duration::from_secs(10));
        assert!(r.try_acquire(t0));
        assert!(r.try_acquire(t0));
        assert!(r.try_acquire(t0));
        assert!(!r.try_acquire(t0));
        assert!(!r.try_acquire(t0 + Duration::from_secs(9)));
        assert!(r.try_acquire(t0 + Duration::from_secs(10)));
        assert!(!r.try_acquire(t0 + Duration::from_secs(15)));
        // 25 s after t0: tokens earned at 10 s (used) and 20 s.
        assert!(r.try_acquire(t0 + Duration::from_secs(25)));
        assert!(!r.try_acquire(t0 + Duration::from_secs(25)));
        // A long idle period refills only up to the burst.
        let later = t0 + Duration::from_secs(1000);
        assert_eq!(r.available(later), 3);
    }

    #[test]
    fn long_run_rate_is_exact() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(1, Duration::from_secs(10));
        let mut accepted = 0;
        for ms in (0..100_000u64).step_by(700) {
            if r.try_acquire(t0 + Duration::from_millis(ms)) {
                accepted += 1;
            }
        }
        // 100 s at one per 10 s, plus the initial token.
        assert!((10..=11).contains(&accepted), "{accepted}");
    }

    #[test]
    fn zero_settings() {
        let t0 = Instant::now();
        let mut unlimited = RateLimiter::new(1, Duration::ZERO);
        assert!((0..100).all(|_| unlimited.try_acquire(t0)));
        let mut closed = RateLimiter::new(0, Duration::from_secs(1));
        assert!(!closed.try_acquire(t0 + Duration::from_secs(100)));
    }

    #[test]
    fn time_going_backwards_is_harmless() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let mut r = RateLimiter::new(1, Duration::from_secs(10));
        assert!(r.try_acquire(t0));
        assert!(!r.try_acquire(t0 - Duration::from_secs(50)));
        assert!(r.try_acquire(t0 + Duration::from_secs(10)));
    }
}

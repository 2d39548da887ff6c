//! A token bucket in exact integers, so that a flood over `T` seconds admits exactly
//! `burst + floor(rate × T)` requests, whatever the order of the events that ask.

use crate::model::RateLimit;
use crate::time::SimTime;

/// One token in the bucket's unit: nanoseconds × thousandths of a token per second.
const UNIT: u128 = 1_000_000_000_000;

/// The level is refilled lazily, when a request asks: no timer events.
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    /// In `UNIT`s of a token (u128: a billion-token burst is 10^21 units).
    level: u128,
    last: SimTime,
}

impl TokenBucket {
    /// A full bucket at time zero.
    pub fn new(spec: &RateLimit) -> TokenBucket {
        TokenBucket {
            level: u128::from(spec.burst) * UNIT,
            last: SimTime::ZERO,
        }
    }

    /// Takes one token if the bucket holds more than `reserve` tokens beyond it: critical
    /// work passes `0`, sheddable work the bucket's reserve (see [`reserve`]).
    pub fn take(&mut self, spec: &RateLimit, now: SimTime, reserve: u32) -> bool {
        let elapsed = u128::from(now.0.saturating_sub(self.last.0));
        let full = u128::from(spec.burst) * UNIT;
        self.level = (self.level + elapsed * u128::from(spec.rate_milli_per_s)).min(full);
        self.last = now;
        if self.level >= (1 + u128::from(reserve)) * UNIT {
            self.level -= UNIT;
            true
        } else {
            false
        }
    }
}

/// Tokens sheddable work must leave in the bucket: half the burst, rounded down, so critical
/// work keeps a reserve for its own bursts.
pub fn reserve(spec: &RateLimit) -> u32 {
    spec.burst / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rate_milli_per_s: u64, burst: u32) -> RateLimit {
        RateLimit {
            rate_milli_per_s,
            burst,
            per_replica: false,
        }
    }

    #[test]
    fn a_flood_gets_exactly_burst_plus_rate_times_time() {
        // Goal: the defining property of a token bucket. A request every microsecond for
        // 10 s against rate 100/s, burst 20 admits 20 + 100 × 10 = 1,020 (the last refill at
        // t = 10 s exactly is the 1,000th token, and one request asks at that instant).
        let s = spec(100_000, 20);
        let mut b = TokenBucket::new(&s);
        let admitted = (0..=10_000_000u64)
            .filter(|&us| b.take(&s, SimTime(us * 1_000), 0))
            .count();
        assert_eq!(admitted, 1_020);
    }

    #[test]
    fn fractional_rates_are_exact() {
        // Goal: rate 0.5/s, burst 1, asked every millisecond for 9.999 s: 1 + floor(4.9995)
        // = 5 tokens; a float bucket would drift.
        let s = spec(500, 1);
        let mut b = TokenBucket::new(&s);
        let admitted = (0..10_000u64)
            .filter(|&ms| b.take(&s, SimTime(ms * 1_000_000), 0))
            .count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn sheddable_work_leaves_the_reserve() {
        // Goal: with burst 10 (reserve 5), sheddable asks at one instant get 5 tokens, and
        // critical asks then get the remaining 5.
        let s = spec(1_000, 10);
        let mut b = TokenBucket::new(&s);
        let t = SimTime(0);
        let sheddable = (0..20).filter(|_| b.take(&s, t, reserve(&s))).count();
        let critical = (0..20).filter(|_| b.take(&s, t, 0)).count();
        assert_eq!((sheddable, critical), (5, 5));
    }
}

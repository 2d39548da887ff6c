//! Per-caller protection of one call site: circuit breaker, bulkhead and retry budget.
//!
//! One `Guard` exists for each (caller replica, call site) whose call has a breaker, a
//! bulkhead or a retry budget; calls without them never touch this code.

use crate::model::{BreakerSpec, RetryPolicy};
use crate::results::BreakerState;
use crate::time::{SimDuration, SimTime};

/// Whether a breaker lets a call through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Pass; `probe` marks the single half-open trial call.
    Pass { probe: bool },
    /// Fail fast with `circuit_open`.
    Refuse,
}

#[derive(Clone, Debug)]
pub struct Breaker {
    state: BreakerState,
    open_until: SimTime,
    /// Outcomes of the last `window` calls while closed, a set bit = failure, as a ring of
    /// bits. Allocated at the first outcome: 100,000 caller replicas × a window of 10,000
    /// cost nothing until they call (and then 1,250 bytes each, not 10,000).
    ring: Vec<u64>,
    window: usize,
    next: usize,
    filled: usize,
    failures: usize,
    probe_out: bool,
    /// State changes in time order, while the run's shared room for them lasts (see
    /// [`MAX_BREAKER_TRANSITIONS`]).
    pub transitions: Vec<(SimTime, BreakerState)>,
    /// Every opening, listed in `transitions` or not.
    pub opened: u64,
}

/// State changes kept over all breakers of a run: a breaker that flaps for a long run (every
/// cooldown, a failed probe reopens it) would otherwise grow its list with simulated time.
/// Past it, changes are still made and openings counted, but no longer listed.
pub const MAX_BREAKER_TRANSITIONS: u64 = 1_000_000;

impl Breaker {
    pub fn new(spec: &BreakerSpec) -> Breaker {
        Breaker {
            state: BreakerState::Closed,
            open_until: SimTime::ZERO,
            ring: Vec::new(),
            window: spec.window.max(1) as usize,
            next: 0,
            filled: 0,
            failures: 0,
            probe_out: false,
            transitions: Vec::new(),
            opened: 0,
        }
    }

    #[cfg(test)]
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Changes state, listing the change while `room` (shared by the run's breakers) lasts.
    fn set(&mut self, at: SimTime, state: BreakerState, room: &mut u64) {
        self.state = state;
        self.opened += u64::from(state == BreakerState::Open);
        if *room > 0 {
            *room -= 1;
            self.transitions.push((at, state));
        }
    }

    /// Decides whether a call made at `now` may pass.
    pub fn admit(&mut self, now: SimTime, room: &mut u64) -> Admit {
        if self.state == BreakerState::Open && now >= self.open_until {
            // The cooldown ended at `open_until`: the breaker went half-open then.
            self.set(self.open_until, BreakerState::HalfOpen, room);
            self.probe_out = false;
        }
        match self.state {
            BreakerState::Closed => Admit::Pass { probe: false },
            BreakerState::Open => Admit::Refuse,
            BreakerState::HalfOpen if !self.probe_out => {
                self.probe_out = true;
                Admit::Pass { probe: true }
            }
            BreakerState::HalfOpen => Admit::Refuse,
        }
    }

    /// Records the outcome of a call that passed. Outcomes of calls that passed while closed
    /// but end after the breaker opened are ignored: the window restarts at the next close.
    pub fn record(
        &mut self,
        now: SimTime,
        failed: bool,
        probe: bool,
        spec: &BreakerSpec,
        room: &mut u64,
    ) {
        match self.state {
            BreakerState::HalfOpen if probe => {
                self.probe_out = false;
                if failed {
                    self.open(now, spec, room);
                } else {
                    self.clear();
                    self.set(now, BreakerState::Closed, room);
                }
            }
            BreakerState::Closed if !probe => {
                if self.ring.is_empty() {
                    self.ring = vec![0; self.window.div_ceil(64)];
                }
                let (word, bit) = (self.next / 64, 1u64 << (self.next % 64));
                if self.filled == self.window {
                    self.failures -= usize::from(self.ring[word] & bit != 0);
                } else {
                    self.filled += 1;
                }
                if failed {
                    self.ring[word] |= bit;
                } else {
                    self.ring[word] &= !bit;
                }
                self.failures += usize::from(failed);
                self.next = (self.next + 1) % self.window;
                let ratio = self.failures as f64 / self.window as f64;
                if self.filled == self.window && ratio >= spec.threshold {
                    self.open(now, spec, room);
                }
            }
            _ => {}
        }
    }

    fn open(&mut self, now: SimTime, spec: &BreakerSpec, room: &mut u64) {
        self.clear();
        self.open_until = now + spec.cooldown;
        self.set(now, BreakerState::Open, room);
    }

    fn clear(&mut self) {
        self.ring.iter_mut().for_each(|w| *w = 0);
        self.next = 0;
        self.filled = 0;
        self.failures = 0;
    }
}

#[derive(Clone, Debug)]
pub struct Guard {
    pub breaker: Option<Breaker>,
    /// Logical calls in flight (first attempt to final outcome, backoff included).
    pub in_flight: u32,
    /// Retry-budget tokens.
    pub tokens: f64,
}

impl Guard {
    pub fn new(breaker: Option<&BreakerSpec>) -> Guard {
        Guard {
            breaker: breaker.map(Breaker::new),
            in_flight: 0,
            tokens: RetryPolicy::BUDGET_RESERVE,
        }
    }

    /// A first attempt deposits `ratio` tokens.
    pub fn deposit(&mut self, ratio: f64) {
        self.tokens = (self.tokens + ratio).min(RetryPolicy::BUDGET_RESERVE);
    }

    /// A retry withdraws one token, if there is one.
    pub fn withdraw(&mut self) -> bool {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The delay before retry number `retry` (1-based): `backoff * 2^(retry-1)`, capped at
/// `backoff_max`, then jittered with the uniform draw `u` in [0, 1).
pub fn backoff(policy: &RetryPolicy, retry: u32, u: f64) -> SimDuration {
    use crate::model::Jitter;
    let base = policy.backoff.as_nanos() as f64 * 2f64.powi(retry.saturating_sub(1).min(62) as i32);
    let capped = base.min(policy.backoff_max.as_nanos() as f64);
    let ns = match policy.jitter {
        Jitter::None => capped,
        Jitter::Full => capped * u,
        Jitter::Equal => capped / 2.0 + capped / 2.0 * u,
    };
    SimDuration::from_nanos_f64(ns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Jitter;

    fn spec() -> BreakerSpec {
        BreakerSpec {
            threshold: 0.5,
            window: 4,
            cooldown: SimDuration::from_secs(5),
        }
    }

    #[test]
    fn opens_at_threshold_fails_fast_then_probes_and_closes() {
        // Goal: the breaker's state machine: 2 failures in a window of 4 open it; it refuses
        // calls for the cooldown; then exactly one probe passes; its success closes it.
        let s = spec();
        let mut b = Breaker::new(&s);
        let mut room = MAX_BREAKER_TRANSITIONS;
        let t = |s: u64| SimTime(s * 1_000_000_000);
        for (i, failed) in [false, true, false, true].into_iter().enumerate() {
            assert_eq!(
                b.admit(t(i as u64), &mut room),
                Admit::Pass { probe: false }
            );
            b.record(t(i as u64), failed, false, &s, &mut room);
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.admit(t(4), &mut room), Admit::Refuse);
        assert_eq!(b.admit(t(8), &mut room), Admit::Pass { probe: true });
        assert_eq!(
            b.admit(t(8), &mut room),
            Admit::Refuse,
            "one probe at a time"
        );
        b.record(t(8), false, true, &s, &mut room);
        assert_eq!(b.state(), BreakerState::Closed);
        let states: Vec<_> = b
            .transitions
            .iter()
            .map(|(at, st)| (at.0 / 1_000_000_000, *st))
            .collect();
        assert_eq!(
            states,
            vec![
                (3, BreakerState::Open),
                (8, BreakerState::HalfOpen),
                (8, BreakerState::Closed)
            ]
        );
    }

    #[test]
    fn a_failed_probe_reopens() {
        let s = spec();
        let mut b = Breaker::new(&s);
        let mut room = MAX_BREAKER_TRANSITIONS;
        for _ in 0..4 {
            b.admit(SimTime(0), &mut room);
            b.record(SimTime(0), true, false, &s, &mut room);
        }
        assert_eq!(
            b.admit(SimTime(6_000_000_000), &mut room),
            Admit::Pass { probe: true }
        );
        b.record(SimTime(6_000_000_000), true, true, &s, &mut room);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.admit(SimTime(10_000_000_000), &mut room), Admit::Refuse);
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let p = RetryPolicy {
            retries: 5,
            backoff: SimDuration::from_millis(50),
            backoff_max: SimDuration::from_millis(150),
            jitter: Jitter::None,
            budget: None,
        };
        let ms = |d: SimDuration| d.as_millis_f64();
        assert_eq!(ms(backoff(&p, 1, 0.3)), 50.0);
        assert_eq!(ms(backoff(&p, 2, 0.3)), 100.0);
        assert_eq!(ms(backoff(&p, 3, 0.3)), 150.0);
        let full = RetryPolicy {
            jitter: Jitter::Full,
            ..p
        };
        assert_eq!(ms(backoff(&full, 2, 0.25)), 25.0);
        let equal = RetryPolicy {
            jitter: Jitter::Equal,
            ..p
        };
        assert_eq!(ms(backoff(&equal, 2, 0.5)), 75.0);
    }

    #[test]
    fn budget_allows_a_fraction_of_first_attempts_after_the_reserve() {
        let mut g = Guard::new(None);
        let mut retries = 0;
        for _ in 0..1000 {
            g.deposit(0.1);
            if g.withdraw() {
                retries += 1;
            }
        }
        // 10 from the reserve, then one per 10 first attempts (floating sums may round one).
        assert!((108..=110).contains(&retries), "{retries}");
    }
}

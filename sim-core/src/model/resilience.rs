//! Resilience settings of one call: retries with backoff, a circuit breaker, a bulkhead and a
//! fallback. All default to "off", so a call without them behaves as a bare call.

use crate::time::SimDuration;

/// Retries of a failed attempt.
///
/// Retryable: `timeout`, `rejected`, `unavailable` and `error` answers. Not retried: a call
/// refused by the caller's own circuit breaker or bulkhead (`circuit_open`, and `unavailable`
/// from a full bulkhead), since retrying a local refusal only adds load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Extra attempts after the first (0 = no retries).
    pub retries: u32,
    /// Delay before the first retry; doubles for each further retry.
    pub backoff: SimDuration,
    /// Cap on the doubled delay.
    pub backoff_max: SimDuration,
    pub jitter: Jitter,
    /// Retries allowed as a fraction of first attempts (a token bucket per call site and
    /// caller replica: each first attempt adds `budget` tokens, each retry takes one; the
    /// bucket starts with, and holds at most, `RetryPolicy::BUDGET_RESERVE` tokens).
    pub budget: Option<f64>,
}

impl RetryPolicy {
    /// Tokens a retry budget starts with and holds at most: a little slack for low traffic.
    pub const BUDGET_RESERVE: f64 = 10.0;

    pub const NONE: RetryPolicy = RetryPolicy {
        retries: 0,
        backoff: SimDuration::ZERO,
        backoff_max: SimDuration::ZERO,
        jitter: Jitter::None,
        budget: None,
    };
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::NONE
    }
}

/// Randomisation of backoff delays, so that callers that failed together do not retry
/// together (AWS Architecture Blog, "Exponential Backoff and Jitter").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the backoff.
    None,
    /// Uniform between zero and the backoff.
    Full,
    /// Half the backoff plus uniform up to the other half.
    Equal,
}

impl Jitter {
    pub const ALLOWED: &'static str = "none, full, equal";

    pub fn parse(text: &str) -> Option<Jitter> {
        match text {
            "none" => Some(Jitter::None),
            "full" => Some(Jitter::Full),
            "equal" => Some(Jitter::Equal),
            _ => None,
        }
    }
}

/// A circuit breaker on one call site, per caller replica.
///
/// Closed: calls pass and their outcomes fill a sliding window of the last `window` calls;
/// when the window is full and the failure ratio reaches `threshold`, it opens. Open: calls
/// fail fast (`circuit_open`) for `cooldown`. Half-open: one probe call passes (others fail
/// fast); its success closes the breaker with an empty window, its failure opens it again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerSpec {
    pub threshold: f64,
    pub window: u32,
    pub cooldown: SimDuration,
}

/// Everything that wraps one call.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Resilience {
    pub retry: RetryPolicy,
    pub breaker: Option<BreakerSpec>,
    /// Most calls in flight from one caller replica on this call site; excess fails fast as
    /// `unavailable`.
    pub bulkhead: Option<u32>,
    /// A failed call (after its retries) answers with a degraded success instead: the caller
    /// goes on, and the client's request counts as `degraded`, apart from full success.
    pub fallback: bool,
}

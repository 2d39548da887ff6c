//! What a service or a client lets in: token-bucket rate limits, load shedding by queue time,
//! and the priority that decides whose work goes first when something must be dropped.

use crate::time::SimDuration;

/// A token bucket: `burst` tokens at most, refilled at `rate`; each request takes one, and a
/// request that finds no token fails at once (`rate_limited`, like HTTP 429).
///
/// The rate is kept in thousandths of a token per second so the bucket's arithmetic is exact
/// integers: a flood over `T` seconds admits exactly `burst + rate × T` (rounded down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Refill rate in thousandths of a token per second (`rate = 2.5` is 2,500).
    pub rate_milli_per_s: u64,
    /// Tokens the bucket holds when full (and at the start).
    pub burst: u32,
    /// One bucket per replica (`per = "replica"`) instead of one over the whole service.
    pub per_replica: bool,
}

/// `shed = { queue_time = D }`: a request that waited longer than `D` in a replica's accept
/// queue is dropped (cause `shed`) when a worker would take it, instead of being served to a
/// caller that has probably given up. Sheddable work is dropped after half of `D`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shed {
    pub queue_time: SimDuration,
}

impl Shed {
    /// The longest wait before work of this priority starts.
    pub fn bound(&self, sheddable: bool) -> SimDuration {
        if sheddable {
            SimDuration::from_nanos(self.queue_time.as_nanos() / 2)
        } else {
            self.queue_time
        }
    }
}

/// `shed = { concurrency = "adaptive" }`: a per-replica concurrency limit adjusted by
/// additive increase, multiplicative decrease, as Netflix's concurrency-limits `AIMDLimit`.
///
/// Each replica starts with `limit = workers`. A request arriving when the replica already
/// holds `limit` requests (queued or in service) is shed at once. When a request finishes
/// at the replica, its time there (queue + service) is the sample: if it exceeded `timeout`
/// or the request failed, `limit = max(1, floor(limit × 0.9))`; otherwise, if the replica
/// held at least `limit / 2` requests, `limit = min(max, limit + 1)` with `max = 10 ×
/// workers`. Sheddable work is admitted only below half the limit (at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptiveLimit {
    /// A request slower than this at the replica counts as a drop (key `timeout`).
    pub timeout: SimDuration,
    /// The first limit (the service's `workers`).
    pub initial: u32,
    /// The highest limit (10 × `workers`).
    pub max: u32,
}

impl AdaptiveLimit {
    /// Netflix's `AIMDLimit` default backoff ratio.
    pub const BACKOFF_RATIO: f64 = 0.9;

    /// The limit after one sample: `slow_or_failed` decreases it, a success while the
    /// replica held at least half the limit increases it by one.
    pub fn update(&self, limit: u32, in_system: u32, slow_or_failed: bool) -> u32 {
        if slow_or_failed {
            ((f64::from(limit) * Self::BACKOFF_RATIO) as u32).max(1)
        } else if u64::from(in_system) * 2 >= u64::from(limit) {
            limit.saturating_add(1).min(self.max)
        } else {
            limit
        }
    }

    /// Requests a replica with this limit admits of this priority.
    pub fn admits(limit: u32, in_system: u32, sheddable: bool) -> bool {
        let allowed = if sheddable { (limit / 2).max(1) } else { limit };
        in_system < allowed
    }
}

/// A service's admission control; `None` on the service when it has none of these keys, so
/// the event loop decides with one test whether to look further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    pub rate_limit: Option<RateLimit>,
    pub shed: Option<Shed>,
    pub adaptive: Option<AdaptiveLimit>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aimd_steps_as_netflix_aimd_limit() {
        // Goal: the update rule step by step: a drop multiplies by 0.9 (rounded down, at
        // least 1); a success while at least half the limit is in use adds one, up to max;
        // a success with little in use leaves the limit alone.
        let a = AdaptiveLimit {
            timeout: SimDuration::from_millis(50),
            initial: 20,
            max: 200,
        };
        assert_eq!(a.update(20, 5, true), 18);
        assert_eq!(a.update(1, 1, true), 1);
        assert_eq!(a.update(20, 10, false), 21);
        assert_eq!(a.update(20, 9, false), 20);
        assert_eq!(a.update(200, 200, false), 200);
        assert!(AdaptiveLimit::admits(20, 19, false) && !AdaptiveLimit::admits(20, 20, false));
        assert!(AdaptiveLimit::admits(20, 9, true) && !AdaptiveLimit::admits(20, 10, true));
    }
}

/// Whose work is dropped first. Carried by every request a workload starts, down through
/// the service-to-service calls it causes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Priority {
    /// The default: work nobody marked as droppable is never dropped before other work.
    #[default]
    Critical,
    /// May use only the part of a token bucket above its reserve (half the burst, rounded
    /// down), and is shed after half the queue-time bound.
    Sheddable,
}

impl Priority {
    pub const ALLOWED: &'static str = "critical, sheddable";

    pub fn parse(text: &str) -> Option<Priority> {
        match text {
            "critical" => Some(Priority::Critical),
            "sheddable" => Some(Priority::Sheddable),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::Sheddable => "sheddable",
        }
    }
}

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

/// A service's admission control; `None` on the service when it has neither key, so the
/// event loop decides with one test whether to look further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Admission {
    pub rate_limit: Option<RateLimit>,
    pub shed: Option<Shed>,
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

//! Faults as data: what breaks, where, when and for how long.

use crate::time::SimDuration;

use super::{BrokerId, Destination, LinkId, ServiceId};

/// A scheduled fault: active from `at` for `duration` (to the end of the run if `None`).
#[derive(Clone, Debug)]
pub struct Fault {
    pub kind: FaultKind,
    pub at: SimDuration,
    pub duration: Option<SimDuration>,
    /// The target as written in the scenario (`payment`, `payment#1`, `order->payment`).
    pub target: String,
}

/// What a fault does while active.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// The replicas go down: work in flight and queued on them is lost; requests that reach
    /// them are refused (`unavailable`); they restart empty.
    Crash { replicas: Vec<ReplicaRef> },
    /// Work on the service's replicas takes `factor` times longer.
    Slow {
        replicas: Vec<ReplicaRef>,
        factor: f64,
    },
    /// The service's endpoints fail with an extra probability `rate` (`error`): at every
    /// replica, or only at those in `replicas` (`first`, `count` within the service: one
    /// replica `api#0`, or a version `api@canary`).
    Error {
        service: ServiceId,
        rate: f64,
        replicas: Option<(u32, u32)>,
    },
    /// Messages on the links (both directions of a pair) are lost with probability `rate`.
    Loss { links: Vec<LinkId>, rate: f64 },
    /// Latency on the links is multiplied by `factor` (a latency spike).
    SlowLink { links: Vec<LinkId>, factor: f64 },
    /// Messages on the links are all lost: the links cross a partition (one-way or two-way).
    Partition { links: Vec<LinkId> },
    /// The broker stops: publishes to it fail at once (`unavailable`), dispatches pause, acks
    /// and replies sent to it are lost. A non-durable broker loses every message it held.
    BrokerDown { broker: BrokerId },
    /// Each dispatch from the queue (or any group of the topic) is delivered twice with
    /// probability `rate`: the copy is a duplicate with the same message id.
    Duplicate { to: Destination, rate: f64 },
}

impl FaultKind {
    /// The links a fault acts on (loss, slow link, partition), or none: the one place that
    /// says which kinds touch links, so the plain path's "this link is never faulted"
    /// (decided at build) and the faults that act on links cannot disagree. Every kind is
    /// named, so a new one must be decided here.
    pub fn links(&self) -> &[LinkId] {
        match self {
            FaultKind::Loss { links, .. }
            | FaultKind::SlowLink { links, .. }
            | FaultKind::Partition { links } => links,
            FaultKind::Crash { .. }
            | FaultKind::Slow { .. }
            | FaultKind::Error { .. }
            | FaultKind::BrokerDown { .. }
            | FaultKind::Duplicate { .. } => &[],
        }
    }

    /// The `kind` as written in the scenario.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash { .. } => "crash",
            FaultKind::Slow { .. } | FaultKind::SlowLink { .. } => "slow",
            FaultKind::Error { .. } => "error",
            FaultKind::Loss { .. } => "loss",
            FaultKind::Partition { .. } => "partition",
            FaultKind::BrokerDown { .. } => "broker-down",
            FaultKind::Duplicate { .. } => "duplicate",
        }
    }
}

/// One replica of one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplicaRef {
    pub service: ServiceId,
    /// 0-based index within the service (`payment#1` is index 1).
    pub index: u32,
}

/// Random crashes: each target replica fails after an exponential time with mean `mtbf`
/// and restarts after an exponential time with mean `mttr`, independently, from a stream
/// named after the replica (`chaos/payment#0`).
#[derive(Clone, Debug)]
pub struct Chaos {
    /// The targets as written (`payment`, `payment#1`), for the report.
    pub targets: Vec<String>,
    pub replicas: Vec<ReplicaRef>,
    pub mtbf: SimDuration,
    pub mttr: SimDuration,
}

//! `[service.NAME.autoscale]`: a Horizontal Pod Autoscaler for one service.
//!
//! Modelled on the Kubernetes HPA as users run it: every `interval` it reads a per-replica
//! metric averaged over `window` and recommends `ceil(ready × metric / target)` replicas,
//! ignores changes inside the `tolerance` band, scales up at once (to `max`, and by at most
//! `max_step_up` a decision), and scales down only to the highest recommendation of the last
//! `stabilization`. A new replica serves after `provision` (image pull, start, readiness).

use crate::dist::Dist;
use crate::time::SimDuration;

/// What the autoscaler measures, per ready replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleMetric {
    /// Busy workers over the ready replicas' workers (CPU utilization, in the HPA's terms).
    Utilization,
    /// Requests queued or in service per ready replica.
    InSystem,
    /// Requests waiting in accept queues per ready replica.
    Queued,
    /// Requests reaching the service per second per ready replica.
    Rps,
}

impl ScaleMetric {
    pub const NAMES: [&'static str; 4] = ["utilization", "in_system", "queued", "rps"];

    pub fn parse(text: &str) -> Option<ScaleMetric> {
        match text {
            "utilization" => Some(ScaleMetric::Utilization),
            "in_system" => Some(ScaleMetric::InSystem),
            "queued" => Some(ScaleMetric::Queued),
            "rps" => Some(ScaleMetric::Rps),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ScaleMetric::Utilization => "utilization",
            ScaleMetric::InSystem => "in_system",
            ScaleMetric::Queued => "queued",
            ScaleMetric::Rps => "rps",
        }
    }
}

/// What happens to a replica the autoscaler removes. Either way the balancer stops sending
/// it new work at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleIn {
    /// It finishes the work it holds (queued, in service, in transit to it), then is gone.
    Drain,
    /// It is gone at once: every request it holds fails with `unavailable` (the connection
    /// is reset), as a pod killed without a grace period.
    Kill,
}

/// A validated `[service.NAME.autoscale]`. The service's `replicas` is `max` (the slots the
/// run sizes its per-replica state for); `start` is how many of them serve at t = 0.
#[derive(Clone, Debug)]
pub struct Autoscale {
    pub metric: ScaleMetric,
    /// The wanted metric value per ready replica (> 0).
    pub target: f64,
    pub min: u32,
    pub max: u32,
    /// Replicas ready at t = 0 (the service's `replicas` key; default `min`).
    pub start: u32,
    pub interval: SimDuration,
    /// A whole number of intervals (>= 1), so the averages are exact differences of
    /// integrals sampled at the decisions.
    pub window: SimDuration,
    /// No change while `|metric / target - 1| <= tolerance`; in `[0, 1)`.
    pub tolerance: f64,
    pub stabilization: SimDuration,
    /// Decision to ready, per replica.
    pub provision: Dist,
    pub scale_in: ScaleIn,
    /// At most this many replicas added by one decision; `None`: only `max` limits.
    pub max_step_up: Option<u32>,
}

impl Autoscale {
    /// Decisions the metric window spans.
    pub fn window_intervals(&self) -> u64 {
        (self.window.as_nanos() / self.interval.as_nanos().max(1)).max(1)
    }

    /// Decisions the stabilization window can hold at most (the scale-down memory).
    pub fn stabilization_intervals(&self) -> u64 {
        self.stabilization.as_nanos() / self.interval.as_nanos().max(1) + 1
    }
}

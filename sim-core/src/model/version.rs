//! Versions of a service (`[service.NAME.version.V]`): a canary or a blue/green subset with
//! its own replicas and endpoint overrides, sharing the service's traffic by weight.
//!
//! A version is a contiguous range of the service's replica slots, after the base
//! version's: the load balancer first chooses a version by weight (one draw from the
//! service's `version/NAME` stream), then a replica within it with the service's policy. Its
//! endpoints are copies of the base's with the overrides applied (`Endpoint::version_of`),
//! so a replica of the version serves with the version's definition while the report adds
//! the copies back into the service's endpoints.

use crate::time::SimDuration;

use super::EndpointId;

/// Most versions one service may have: a canary, a blue/green pair, a few experiments.
pub const MAX_VERSIONS: usize = 16;

/// Most steps in one version's `rollout`.
pub const MAX_ROLLOUT_STEPS: usize = 1_000;

/// The name the report gives the base version (the service's own replicas).
pub const BASE_VERSION: &str = "base";

/// One `[service.NAME.version.V]`.
#[derive(Clone, Debug)]
pub struct Version {
    pub name: String,
    /// Its first replica, as an index within the service (`api#first`).
    pub first: u32,
    pub replicas: u32,
    /// Concurrent requests per replica (the service's unless overridden).
    pub workers: u32,
    /// Waiting requests per replica (the service's unless overridden); `None` is unbounded.
    pub queue: Option<u32>,
    /// The weight in percent from time 0, then the `rollout` steps (time, percent), times
    /// strictly increasing: the weight jumps at each step (as Argo Rollouts' setWeight).
    pub weight: f64,
    pub rollout: Vec<(SimDuration, f64)>,
    pub rollback: Option<Rollback>,
    /// Its copy of each of the service's endpoints, in `Service::endpoints` order.
    pub endpoints: Vec<EndpointId>,
}

/// `rollback = { error_rate, window, min_requests }`: the weight drops to 0 for good when
/// the failure ratio of the version's requests over the last `window` exceeds `error_rate`,
/// once the window holds at least `min_requests` outcomes (so one early failure is not a
/// 100% ratio).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rollback {
    pub error_rate: f64,
    pub window: SimDuration,
    pub min_requests: u32,
}

/// Slices a rollback window is kept in: the ratio is over the slices that overlap the last
/// window, so the window is exact to a tenth of its length.
pub const ROLLBACK_SLICES: usize = 10;

/// The default `min_requests` of a rollback.
pub const DEFAULT_MIN_REQUESTS: u32 = 10;

impl Version {
    /// The weight in percent at `t` (before any rollback): the last step at or before `t`.
    pub fn weight_at(&self, t: SimDuration) -> f64 {
        self.rollout
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .map_or(self.weight, |&(_, w)| w)
    }
}

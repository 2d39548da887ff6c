//! One service's autoscaler: the HPA's arithmetic and the state it keeps between decisions.
//!
//! Nothing here runs per request. The metric's numerators are the integrals the service's
//! [`Levels`] keep anyway (busy workers, requests in system, queued) and an arrival counter;
//! the denominator is the integral of ready replicas, kept here and changed only when a
//! replica becomes ready, crashes, restarts or is removed. A decision samples them once per
//! `interval` into a ring of `window / interval + 1` samples, so the window's average is one
//! difference of two samples. Scale-down stabilization keeps the highest recommendation of
//! the window in a monotonic queue: O(1) amortized per decision, bounded by the window.

use std::collections::VecDeque;

use super::bit_index::BitIndex;
use super::levels::{Levels, Marks};
use crate::model::{Autoscale, ScaleMetric, ServiceId};
use crate::rng::Stream;
use crate::time::SimTime;

/// Most scale decisions listed per service in the report (all are counted).
pub const MAX_SCALE_EVENTS_LISTED: usize = 10_000;

/// Indices into the autoscaler's levels (`fleet`): replicas ready (in the balancer and up),
/// replicas running (in the balancer, up or crashed: what the fleet costs), and whether
/// fewer are ready than desired (0 or 1: its integral is the time under-provisioned).
pub const READY: usize = 0;
pub const RUNNING: usize = 1;
pub const SHORT: usize = 2;
/// Index into `wanted`: the desired replicas, kept where the per-bucket means are taken.
pub const DESIRED: usize = 1;

/// What one slot of the service's replicas holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// No replica: down for balancers and brokers.
    Free,
    /// A replica starting; ready when `Event::Provisioned` with this generation fires.
    Provisioning(u32),
    /// In the balancer (ready, or crashed and restarting).
    Pooled,
    /// Scaled in: out of the balancer, finishing its work.
    Draining,
}

/// One decision that changed the desired count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleEvent {
    pub at: SimTime,
    pub from: u32,
    pub to: u32,
    /// The metric's average per ready replica over the window, that drove it.
    pub metric: f64,
    pub ready: u32,
    /// Replicas ready on average over the window: what the formula multiplies.
    pub ready_mean: f64,
}

/// The integrals a decision samples.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    at: SimTime,
    /// Busy workers, in system, queued (from the service's levels), worker·ns.
    levels: [u128; 3],
    arrivals: u64,
    /// Ready replicas, replica·ns.
    ready: u128,
}

pub struct Autoscaler {
    pub service: ServiceId,
    pub slots: Vec<Slot>,
    /// Slots provisioning or pooled, oldest first: scale-in removes the newest.
    pub active: Vec<u32>,
    /// Free slots: scale-up takes the lowest.
    pub free: BitIndex,
    /// Bumped at each provisioning, so a cancelled one's event is recognised.
    pub generation: u32,
    /// Per slot, its provisioning stream (`autoscale/SERVICE#I/provision`), made at its
    /// first provisioning; empty when `provision` is a constant.
    pub streams: Vec<Option<Stream>>,
    pub desired: u32,
    pub ready: u32,
    pub running: u32,
    pub running_max: u32,
    /// Requests that reached the service's replicas (every one, warmup included).
    pub arrivals: u64,
    pub fleet: Levels,
    pub wanted: Levels,
    samples: VecDeque<Sample>,
    /// (time, recommendation), recommendations decreasing from front to back.
    highest: VecDeque<(SimTime, u32)>,
    pub scale_events: u64,
    pub listed: Vec<ScaleEvent>,
}

impl Autoscaler {
    pub fn new(service: ServiceId, a: &Autoscale, marks: &Marks) -> Autoscaler {
        let mut slots = vec![Slot::Free; a.max as usize];
        let mut free = BitIndex::new(a.max, true);
        for (i, s) in slots.iter_mut().enumerate().take(a.start as usize) {
            *s = Slot::Pooled;
            free.set(i as u32, false);
        }
        let mut fleet = Levels::new(marks);
        fleet.value[READY] = u64::from(a.start);
        fleet.value[RUNNING] = u64::from(a.start);
        let mut wanted = Levels::new(marks);
        wanted.value[DESIRED] = u64::from(a.start);
        let mut samples = VecDeque::with_capacity(a.window_intervals() as usize + 1);
        samples.push_back(Sample::default());
        // As if the autoscaler had been recommending the starting size: a run that starts
        // lightly loaded scales down only after a full stabilization window.
        let highest = VecDeque::from([(SimTime::ZERO, a.start)]);
        Autoscaler {
            service,
            slots,
            active: (0..a.start).collect(),
            free,
            generation: 0,
            streams: Vec::new(),
            desired: a.start,
            ready: a.start,
            running: a.start,
            running_max: a.start,
            arrivals: 0,
            fleet,
            wanted,
            samples,
            highest,
            scale_events: 0,
            listed: Vec::new(),
        }
    }

    /// Accounts the levels up to `now` and sets them from the counts.
    pub fn update_levels(&mut self, now: SimTime, marks: &Marks) {
        self.fleet.advance(now, marks);
        self.wanted.advance(now, marks);
        self.fleet.value[READY] = u64::from(self.ready);
        self.fleet.value[RUNNING] = u64::from(self.running);
        self.fleet.value[SHORT] = u64::from(self.desired > self.ready);
        self.wanted.value[DESIRED] = u64::from(self.desired);
        self.running_max = self.running_max.max(self.running);
    }

    /// Samples the integrals at a decision and returns the metric averaged over the window
    /// (the samples since the oldest kept one) and the replicas ready on average over it,
    /// or `None` if no replica was ready in it.
    pub fn sample_metric(
        &mut self,
        a: &Autoscale,
        levels: [u128; 3],
        now: SimTime,
        marks: &Marks,
        workers: u32,
    ) -> Option<(f64, f64)> {
        self.update_levels(now, marks);
        let s = Sample {
            at: now,
            levels,
            arrivals: self.arrivals,
            ready: self.fleet.area_now()[READY],
        };
        if self.samples.len() as u64 > a.window_intervals() {
            self.samples.pop_front();
        }
        let first = *self.samples.front().expect("one sample kept");
        self.samples.push_back(s);
        let ready_ns = (s.ready - first.ready) as f64;
        if ready_ns <= 0.0 {
            return None;
        }
        let d = |i: usize| (s.levels[i] - first.levels[i]) as f64;
        use super::levels::{BUSY, IN_SYSTEM, QUEUED};
        let ready_mean = ready_ns / now.since(first.at).as_nanos() as f64;
        let metric = match a.metric {
            ScaleMetric::Utilization => d(BUSY) / (ready_ns * f64::from(workers)),
            ScaleMetric::InSystem => d(IN_SYSTEM) / ready_ns,
            ScaleMetric::Queued => d(QUEUED) / ready_ns,
            ScaleMetric::Rps => (s.arrivals - first.arrivals) as f64 / (ready_ns / 1e9),
        };
        Some((metric, ready_mean))
    }

    /// The HPA's decision at `now` from the metric and the replicas ready on average over
    /// its window: the new desired count.
    pub fn decide(&mut self, a: &Autoscale, metric: f64, ready_mean: f64, now: SimTime) -> u32 {
        let raw = recommend(a, ready_mean, metric, self.desired);
        // The scale-down memory: recommendations of the last `stabilization`, highest first.
        let horizon = now.0.saturating_sub(a.stabilization.as_nanos());
        while self.highest.front().is_some_and(|&(t, _)| t.0 < horizon) {
            self.highest.pop_front();
        }
        while self.highest.back().is_some_and(|&(_, r)| r <= raw) {
            self.highest.pop_back();
        }
        self.highest.push_back((now, raw));
        let current = self.desired;
        if raw > current {
            let step = a.max_step_up.unwrap_or(u32::MAX);
            raw.min(current.saturating_add(step))
        } else {
            let stabilized = self.highest.front().map_or(raw, |&(_, r)| r);
            current.min(stabilized)
        }
    }

    /// Lists a decision that changed the desired count (all are counted).
    pub fn record(&mut self, event: ScaleEvent) {
        self.scale_events += 1;
        if self.listed.len() < MAX_SCALE_EVENTS_LISTED {
            self.listed.push(event);
        }
    }

    /// Seconds of `fleet` level `i` over the measured window, after the run.
    pub fn window_seconds(&self, i: usize, marks: &Marks) -> f64 {
        let span_s = marks.end_of_arrivals.since(marks.warmup).as_secs_f64();
        self.fleet.window_means(marks)[i] * span_s
    }
}

/// The HPA's recommendation: `ceil(ready × metric / target)` clamped to `[min, max]`, or
/// `current` while the ratio is within the tolerance band. `ready` is the mean over the
/// metric's window, the same span as the metric: the count at the decision instead would
/// multiply a window of overload, measured on the few replicas ready then, by the many that
/// just became ready (Kubernetes avoids that by ignoring just-ready pods for a while).
pub fn recommend(a: &Autoscale, ready: f64, metric: f64, current: u32) -> u32 {
    let ratio = metric / a.target;
    if (ratio - 1.0).abs() <= a.tolerance {
        return current;
    }
    let want = (ready * ratio).ceil();
    // `as` saturates: a huge ratio is clamped to max below.
    (want as u32).clamp(a.min, a.max)
}

/// Bytes an autoscaler keeps, for the memory estimate: per slot its state, its stream and its
/// free bit; its samples and recommendations; the listed events; per bucket two levels.
pub fn bytes(a: &Autoscale, buckets: u64) -> u64 {
    let slot = (std::mem::size_of::<Slot>() + std::mem::size_of::<Option<Stream>>() + 4) as u64;
    u64::from(a.max) * slot
        + (a.window_intervals() + 1) * std::mem::size_of::<Sample>() as u64
        + a.stabilization_intervals() * 16
        + MAX_SCALE_EVENTS_LISTED as u64 * std::mem::size_of::<ScaleEvent>() as u64
        + 2 * buckets * 16
        + std::mem::size_of::<Autoscaler>() as u64
}

/// The stream of slot `i`'s provisioning times.
pub fn stream_name(service: &str, i: u32) -> String {
    format!("autoscale/{service}#{i}/provision")
}

//! What a run of a model may hold in memory, estimated from the model before anything is
//! allocated, so that a model too big for `scenario.max_memory` is refused with the reason
//! instead of being killed by the operating system halfway.
//!
//! The estimate is an upper bound of the parts that grow with the model's size (replicas,
//! guards and breaker windows, histograms per endpoint, workload and channel, time buckets,
//! message channels, random streams) plus the run state that grows with time, bounded by
//! `scenario.max_in_flight` (calls, jobs, message copies and their pending events). State
//! allocated lazily (a breaker's window, an endpoint's histogram) is counted as if every
//! part of the model that can use it did; an endpoint nothing calls or consumes never
//! records, so its histogram is not counted.

use std::mem::size_of;

use super::broker::{Channel, ChannelAcc, Copy as MessageCopy, Origin};
use super::guard::Guard;
use super::world;
use crate::model::Model;
use crate::results::{
    BucketLatency, OpenBucket, WorkloadBucket, empty_latency_histogram, full_latency_histogram,
};
use crate::rng::Stream;

/// One part of the estimate: what it is, and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub what: String,
    pub bytes: u64,
}

/// The estimate of a run's memory: its parts, largest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Footprint {
    pub parts: Vec<Part>,
}

impl Footprint {
    pub fn total_bytes(&self) -> u64 {
        self.parts
            .iter()
            .fold(0u64, |sum, p| sum.saturating_add(p.bytes))
    }
}

/// Bytes of the counts of a latency histogram at the most it can grow to (the full range:
/// latencies past an hour are clamped), and of an empty one (one of each is built to
/// measure). A histogram grows only to the latencies it records, so this is a bound, not a
/// guess.
fn histogram_bytes() -> (u64, u64) {
    let full = full_latency_histogram().distinct_values() * size_of::<u64>();
    let empty = empty_latency_histogram().distinct_values() * size_of::<u64>();
    // The struct around the counts.
    let header = 128;
    ((full + header) as u64, (empty + header) as u64)
}

/// `a × b` in 64 bits, saturating: a product of user numbers never wraps.
fn times(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

fn sz<T>() -> u64 {
    size_of::<T>() as u64
}

/// The token buckets (one per limited service, replica with `per = "replica"`, or
/// workload) and, with any adaptive limit, one limit per replica.
fn admission_bytes(model: &Model, replicas: u64) -> u64 {
    let mut buckets = model
        .workloads
        .iter()
        .filter(|w| w.rate_limit.is_some())
        .count() as u64;
    let mut adaptive = false;
    for s in &model.services {
        let Some(a) = s.admission else { continue };
        adaptive |= a.adaptive.is_some();
        buckets += match a.rate_limit {
            Some(r) if r.per_replica => u64::from(s.replicas),
            Some(_) => 1,
            None => 0,
        };
    }
    let limits = if adaptive { times(replicas, 4) } else { 0 };
    times(buckets, sz::<super::token_bucket::TokenBucket>())
        .saturating_add(limits)
        .saturating_add(times(
            model.services.len() as u64 + model.workloads.len() as u64,
            4,
        ))
}

/// Estimates what a run of `model` holds at most.
pub fn estimate(model: &Model) -> Footprint {
    let (hist, empty_hist) = histogram_bytes();
    let mut parts = Vec::new();
    let mut part = |what: String, bytes: u64| parts.push(Part { what, bytes });

    let replicas: u64 = model.services.iter().map(|s| u64::from(s.replicas)).sum();
    part(
        format!("{replicas} replicas over {} services", model.services.len()),
        times(replicas, world::REPLICA_BYTES + 4),
    );

    let versions: u64 = model.services.iter().map(|s| s.versions.len() as u64).sum();
    if versions > 0 {
        let versioned: u64 = model
            .services
            .iter()
            .filter(|s| !s.versions.is_empty())
            .map(|s| s.endpoints.len() as u64 * (24 + 4 * s.versions.len() as u64))
            .sum();
        part(
            format!("{versions} service versions (weights, rollback windows, balancers)"),
            times(versions, world::VERSION_BYTES)
                .saturating_add(times(model.services.len() as u64, sz::<Stream>() + 16))
                .saturating_add(times(model.endpoints.len() as u64, 24))
                .saturating_add(versioned),
        );
    }

    part(
        "rate-limit buckets and adaptive concurrency limits".to_string(),
        admission_bytes(model, replicas),
    );

    let (guards, window_bytes) = guards(model);
    part(
        format!("{guards} breaker/bulkhead/budget guards (one per caller replica and call site)"),
        times(guards, sz::<Guard>()).saturating_add(window_bytes),
    );

    if !model.sidecars.is_empty() {
        let (guards, bytes) = sidecars(model);
        part(
            format!(
                "{} sidecars: {guards} mesh guards (one per replica and outbound call site) and \
                 their streams",
                model.sidecars.len()
            ),
            bytes,
        );
    }

    let reached = reached_endpoints(model);
    let endpoints = model.endpoints.len() as u64;
    let histograms = reached
        + model.workloads.len() as u64
        + 2 * (model.queues.len() as u64
            + model
                .topics
                .iter()
                .map(|t| t.groups.len() as u64)
                .sum::<u64>())
        + 2 * model.flows.len() as u64;
    part(
        format!("{histograms} latency histograms (endpoints called, workloads, queues, flows)"),
        times(histograms, hist)
            .saturating_add(times(endpoints - reached, empty_hist))
            // At the end, the recorded values of the one histogram being made from its
            // counts (`LatencyCounts::into_histogram`): at most an index and a count (16
            // bytes) per count.
            .saturating_add(times(2, hist)),
    );

    let buckets = bucket_count(model);
    let per_bucket: u64 = model
        .workloads
        .iter()
        .map(|w| sz::<WorkloadBucket>() + bucket_latency_bytes(model, w))
        .fold(0, u64::saturating_add);
    let levels = model.services.len() as u64 + model.queues.len() as u64 + topic_groups(model);
    part(
        format!(
            "{buckets} time buckets × ({} workloads, {levels} services and queues)",
            model.workloads.len()
        ),
        times(buckets, per_bucket.saturating_add(times(levels, 24))).saturating_add(times(
            model.workloads.len() as u64,
            OpenBucket::most_bytes(),
        )),
    );

    part(
        "message channels (queues, topic partitions) and message keys".to_string(),
        channels(model),
    );

    let schedules: u64 = model
        .workloads
        .iter()
        .map(|w| match &w.arrival {
            crate::model::Arrival::Varying { curve, .. } => curve.heap_bytes(),
            crate::model::Arrival::ClosedVarying { users, .. } => users.heap_bytes(),
            _ => 0,
        })
        .sum();
    part(
        "load schedules (rate and user curves)".to_string(),
        // Per workload: the time of its last scheduled arrival and how the next is drawn.
        schedules.saturating_add(times(
            model.workloads.len() as u64,
            8 + size_of::<world::NextGap>() as u64,
        )),
    );

    let streams = 3 * endpoints
        + 2 * model.links.len() as u64
        + 2 * model.services.len() as u64
        + 2 * model.workloads.len() as u64
        + model.faults.len() as u64
        + model.chaos.as_ref().map_or(0, |c| c.replicas.len() as u64)
        + model.brokers.len() as u64
        + (model.queues.len() + model.topics.len() + model.flows.len()) as u64;
    let per_endpoint = world::ENDPOINT_BYTES;
    part(
        format!(
            "{endpoints} endpoints, {} links and their random streams",
            model.links.len()
        ),
        times(streams, sz::<Stream>() + 32)
            .saturating_add(times(endpoints, per_endpoint))
            .saturating_add(times(model.links.len() as u64, 64)),
    );

    let autoscaled: Vec<&crate::model::Autoscale> = model
        .services
        .iter()
        .filter_map(|s| s.autoscale.as_deref())
        .collect();
    if !autoscaled.is_empty() {
        // Per autoscaled service: its slots (sized for `max`, counted with the replicas
        // above), their states and provisioning streams, its metric samples and
        // recommendations, the decisions listed, and two levels per time bucket.
        let bytes = autoscaled.iter().fold(0u64, |sum, a| {
            sum.saturating_add(super::autoscaler::bytes(a, buckets))
        });
        part(
            format!(
                "{} autoscalers (slots, samples, decisions)",
                autoscaled.len()
            ),
            bytes,
        );
    }

    let users = closed_users(model);
    if users > 0 {
        part(
            format!("{users} closed-loop users (an event each, scheduled at the start)"),
            times(users, world::PENDING_EVENT_BYTES),
        );
    }

    let m = u64::from(model.limits.max_in_flight);
    let per_in_flight = world::CALL_BYTES
        + world::JOB_BYTES
        + 8 // a queued job's handle
        + sz::<MessageCopy>()
        + 16
        + sz::<Origin>()
        + 16
        + super::PENDING_PER_IN_FLIGHT * world::PENDING_EVENT_BYTES;
    part(
        format!(
            "work in flight: up to scenario.max_in_flight = {m} calls, requests and messages, \
             and their pending events"
        ),
        times(m, per_in_flight),
    );

    // A timer lane per distinct timeout duration: its ring buffer's header and its front in
    // the kernel's tree of lane fronts (at most two leaves of 20 bytes per lane; the lanes'
    // entries are pending events, counted as work in flight).
    let lanes = world::timeout_durations(model).len() as u64;
    if lanes > 0 {
        part(
            format!("timer lanes: one per distinct timeout duration ({lanes})"),
            times(lanes, 64 + world::PENDING_EVENT_BYTES),
        );
    }

    parts.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.what.cmp(&b.what)));
    Footprint { parts }
}

/// Bytes per kept span of a trace: the span, its names and attributes, the maps that follow
/// its calls, jobs and messages, and its printed form. Measured: a trace cut at 100,000
/// spans peaks at 380 MB printing Chrome's JSON (a JSON tree of the whole document), 76 MB
/// writing OTLP (built a span at a time).
const TRACE_SPAN_BYTES: u64 = 4096;

/// [`estimate`] for `meshsim trace`: the run, plus a trace buffer of at most
/// [`crate::trace::MAX_TRACE_SPANS`] spans and what printing them builds.
pub fn estimate_traced(model: &Model) -> Footprint {
    let mut f = estimate(model);
    let spans = crate::trace::MAX_TRACE_SPANS as u64;
    f.parts.push(Part {
        what: format!("a trace of at most {spans} spans"),
        bytes: spans * TRACE_SPAN_BYTES,
    });
    f.parts
        .sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.what.cmp(&b.what)));
    f
}

/// Guards (one per caller replica and call site with a breaker, bulkhead or budget, one per
/// workload with one) and the bytes of their breaker windows (a bit per call remembered).
fn guards(model: &Model) -> (u64, u64) {
    let needs = |c: &crate::model::Call| {
        let r = &c.resilience;
        r.breaker.is_some() || r.bulkhead.is_some() || r.retry.budget.is_some()
    };
    let window = |c: &crate::model::Call| {
        c.resilience
            .breaker
            .as_ref()
            .map_or(0, |b| u64::from(b.window.max(1)).div_ceil(64) * 8 + 24)
    };
    let (mut count, mut bytes) = (0u64, 0u64);
    for ep in &model.endpoints {
        let owners = u64::from(model.service(ep.service).replicas);
        for c in ep.all_calls().filter(|c| needs(c)) {
            count = count.saturating_add(owners);
            bytes = bytes.saturating_add(times(owners, window(c)));
        }
    }
    for w in model.workloads.iter().filter(|w| needs(&w.call)) {
        count += 1;
        bytes = bytes.saturating_add(window(&w.call));
    }
    (count, bytes)
}

/// The sidecars' state: two random streams each (overheads, jitter), the per-service index,
/// per endpoint call a mesh guard base, and the mesh guards of sidecars with a breaker or a
/// retry budget (one per replica and outbound call site, with its breaker window). Mesh calls
/// themselves are pending calls, bounded with the others by `scenario.max_in_flight`.
fn sidecars(model: &Model) -> (u64, u64) {
    let streams = times(model.sidecars.len() as u64, 2 * (sz::<Stream>() + 32));
    let index = times(model.services.len() as u64, 4);
    let (mut count, mut bytes) = (0u64, streams.saturating_add(index));
    let of = model.sidecars_by_service();
    for ep in &model.endpoints {
        let calls = ep.all_calls().count() as u64;
        bytes = bytes.saturating_add(times(calls, 4) + 24);
        let Some(r) = of[ep.service.0 as usize].map(|c| &c.resilience) else {
            continue;
        };
        if r.breaker.is_none() && r.retry.budget.is_none() {
            continue;
        }
        let owners = times(u64::from(model.service(ep.service).replicas), calls);
        let window = r
            .breaker
            .as_ref()
            .map_or(0, |b| u64::from(b.window.max(1)).div_ceil(64) * 8 + 24);
        count = count.saturating_add(owners);
        bytes = bytes.saturating_add(times(owners, sz::<Guard>() + window));
    }
    (count, bytes)
}

/// Endpoints that can record a latency: called by a workload or another endpoint, consuming
/// a queue or topic, or taking part in a flow. (Any new way to reach an endpoint must be
/// added here, or its histogram goes uncounted.)
fn reached_endpoints(model: &Model) -> u64 {
    let mut reached = vec![false; model.endpoints.len()];
    let mut mark = |e: crate::model::EndpointId| {
        if let Some(r) = reached.get_mut(e.0 as usize) {
            *r = true;
        }
    };
    for w in &model.workloads {
        mark(w.call.to);
    }
    for ep in &model.endpoints {
        for c in ep.all_calls() {
            mark(c.to);
        }
    }
    for q in &model.queues {
        if let Some(c) = &q.consumer {
            mark(c.endpoint);
        }
    }
    for t in &model.topics {
        for g in &t.groups {
            mark(g.consumer.endpoint);
        }
    }
    for f in &model.flows {
        mark(f.entry_endpoint);
        for s in &f.steps {
            mark(s.action);
            if let Some(u) = s.undo {
                mark(u);
            }
        }
    }
    reached.iter().filter(|&&r| r).count() as u64
}

/// The most heap bytes of one time bucket's latencies for workload `w`. They are one entry
/// per distinct latency of a request sent in the bucket (requests are placed by their send
/// time), and never more than [`BucketLatency::most_bytes`] (the sparse entries turn into a
/// histogram). An open loop is counted at its highest rate (over the whole curve, spikes and a
/// rate file's rows included) × the bucket's width, `m`: a burst narrower than a bucket is
/// counted at its peak over the whole bucket. What that bounds:
/// - `arrival = "constant"`: strictly. Arrivals come where the integrated rate reaches each
///   whole number, so a bucket holds at most `m + 1` of them, under the `m + 10·√m + 20`
///   counted.
/// - Poisson arrivals: a bucket's count is Poisson of mean at most `m`, which exceeds
///   `m + 10·√m + 20` (more than ten standard deviations, and 20 more) with a probability
///   below 10⁻²⁰ per bucket: never in practice, but not strictly.
///
/// A closed loop's rate depends on its latencies, so it is counted at the most a bucket can
/// take (a full histogram), strictly.
pub fn bucket_latency_bytes(model: &Model, w: &crate::model::Workload) -> u64 {
    let rate_per_s = match &w.arrival {
        crate::model::Arrival::Open { rate_per_s, .. } => *rate_per_s,
        crate::model::Arrival::Varying { curve, .. } => {
            curve.max_rate(model.duration.as_secs_f64())
        }
        crate::model::Arrival::Closed { .. } | crate::model::Arrival::ClosedVarying { .. } => {
            return BucketLatency::most_bytes();
        }
    };
    let mean = rate_per_s * model.bucket.as_secs_f64();
    let most = mean + 10.0 * mean.sqrt() + 20.0;
    if !most.is_finite() {
        return BucketLatency::most_bytes();
    }
    BucketLatency::bytes_for(most.ceil() as u64)
}

fn topic_groups(model: &Model) -> u64 {
    model.topics.iter().map(|t| t.groups.len() as u64).sum()
}

/// Time buckets over duration + drain, as the run keeps them.
fn bucket_count(model: &Model) -> u64 {
    super::levels::Marks::of(model).buckets as u64
}

/// Channels (a queue, or a partition of a topic's group), their per-consumer-replica
/// counters, accounts, and the per-key sequence numbers of keyed queues and topics.
fn channels(model: &Model) -> u64 {
    let mut bytes = 0u64;
    for q in &model.queues {
        let consumers = q.consumer.as_ref().map_or(1, |c| {
            u64::from(model.service(model.endpoint(c.endpoint).service).replicas)
        });
        bytes = bytes
            .saturating_add(sz::<Channel>() + sz::<ChannelAcc>())
            .saturating_add(times(consumers, 4))
            .saturating_add(times(u64::from(q.keys.unwrap_or(0)), 8));
    }
    for t in &model.topics {
        let groups = t.groups.len() as u64;
        let partitions = times(groups, u64::from(t.partitions));
        bytes = bytes
            .saturating_add(times(partitions, sz::<Channel>() + 4 + 4))
            .saturating_add(times(groups, sz::<ChannelAcc>()))
            .saturating_add(times(
                u64::from(t.keys.unwrap_or(0)),
                times(groups, 4).saturating_add(4),
            ));
    }
    bytes
}

/// The most pending events a run may hold (visibility deadlines counted with them), past
/// which it stops with `RunError::TooManyPending`: [`super::PENDING_PER_IN_FLIGHT`] per unit
/// of `scenario.max_in_flight` — the part [`estimate`] sizes as work in flight — plus the
/// events that do not grow with load (arrivals, users thinking, fault starts and ends, chaos
/// crashes, health checks, one timer per message channel) and some slack. Kept here, next to
/// the estimate that sizes it.
pub(super) fn pending_limit(model: &Model, channels: usize) -> u64 {
    let fixed = model.workloads.len() as u64
        + closed_users(model)
        + model.faults.len() as u64 * 2
        + model.chaos.as_ref().map_or(0, |c| c.replicas.len() as u64)
        + model.services.len() as u64
        + channels as u64
        + 1024;
    u64::from(model.limits.max_in_flight)
        .saturating_mul(super::PENDING_PER_IN_FLIGHT)
        .saturating_add(fixed)
}

/// Users of closed-loop workloads: each thinks (a pending event) or waits for its call.
fn closed_users(model: &Model) -> u64 {
    model
        .workloads
        .iter()
        .map(|w| match w.arrival {
            crate::model::Arrival::Closed { users, .. } => u64::from(users),
            crate::model::Arrival::ClosedVarying { ref users, .. } => u64::from(users.max_users()),
            crate::model::Arrival::Open { .. } | crate::model::Arrival::Varying { .. } => 0,
        })
        .sum()
}

/// `1.5 GiB`, `300.0 MiB`, `12.0 KiB`, `512 B`.
pub fn show_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, scale) in UNITS {
        if bytes >= scale {
            return format!("{:.1} {unit}", bytes as f64 / scale as f64);
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_in_binary_units() {
        assert_eq!(show_bytes(512), "512 B");
        assert_eq!(show_bytes(3 << 19), "1.5 MiB");
        assert_eq!(show_bytes(5 << 30), "5.0 GiB");
    }
}

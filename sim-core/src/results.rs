//! What a finished run measured: plain data for the printers in the `reports` crate.
//!
//! Everything is in model order (ids), so anything iterating it for output has a fixed order.
//! Latencies are HDR histograms in nanoseconds, so memory follows the number of distinct
//! latency buckets, never the number of requests.

use hdrhistogram::{Counter, Histogram};

use crate::time::{SimDuration, SimTime};

mod bucket_latency;
mod layout;
mod open_bucket;
mod summary;

pub use bucket_latency::BucketLatency;
pub use layout::LatencyCounts;
pub use open_bucket::OpenBucket;
pub use summary::LatencySummary;

/// Latency histogram: nanoseconds, 3 significant figures, from 1 ns to one hour.
pub type LatencyHistogram = Histogram<u64>;
/// Per-time-bucket latency histogram: 2 significant figures, enough for p50/p99 over time.
pub type BucketHistogram = Histogram<u32>;

/// Longest latency a histogram tracks exactly; longer values are clamped to it.
pub const HISTOGRAM_MAX_NS: u64 = 3_600_000_000_000;

/// The largest value a histogram of the full range (1 ns to [`HISTOGRAM_MAX_NS`]) keeps as it
/// is: its counts end at the power of two above one hour (either precision), and
/// `saturating_record` clamps only what lies beyond. [`RecordNs::record_ns`] draws the same line.
pub const HISTOGRAM_TOP_NS: u64 = (1 << 42) - 1;

/// A latency histogram that holds only the range of values recorded so far (growing by whole
/// powers of two with [`RecordNs::record_ns`]), not the full hour: an endpoint whose latencies
/// stay under 10 ms keeps about 14 of the 32 powers of two, under half the memory. The layout
/// of the counts (lowest value 1, the precision) is the full-range histogram's, so the same
/// recorded values give the same counts at the same indices, hence the same quantiles, mean,
/// max and recorded values; only the counts past the largest value are missing, and they are
/// zeros.
pub fn new_latency_histogram() -> LatencyHistogram {
    growing(3)
}

/// [`new_latency_histogram`] as [`RecordNs::record_ns`] leaves it after recording `ns`
/// (clamped), made at that size at once: the first bucket, or the counts to the end of the
/// power of two holding `ns`.
pub fn latency_histogram_to(ns: u64) -> LatencyHistogram {
    let first = new_latency_histogram();
    if ns <= first.high() {
        return first;
    }
    drop(first);
    let top = (ns.min(HISTOGRAM_TOP_NS) + 1).next_power_of_two() - 1;
    let mut h = Histogram::new_with_bounds(1, top, 3).expect("valid histogram bounds");
    h.auto(true);
    h
}

/// The full-range histogram that [`new_latency_histogram`] stands for: what the memory
/// estimate sizes as the most a latency histogram can grow to, and what tests compare with.
pub fn full_latency_histogram() -> LatencyHistogram {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, 3).expect("valid histogram bounds")
}

/// An empty latency histogram that takes almost no room (a few hundred bytes instead of
/// 264 KiB): what a component that never recorded a latency reports, and what is left behind
/// when a full one is moved into the results. Every summary of it is the empty one. It is
/// for reading and for adding into a full histogram, not for recording (it resizes itself,
/// but at 1 significant figure).
pub fn empty_latency_histogram() -> LatencyHistogram {
    let mut h = Histogram::new_with_bounds(1, 2, 1).expect("valid histogram bounds");
    h.auto(true);
    h
}

/// A per-time-bucket histogram holding only the range recorded, like [`new_latency_histogram`].
pub fn new_bucket_histogram() -> BucketHistogram {
    growing(2)
}

/// The full-range bucket histogram (the memory estimate's bound, and tests' reference).
pub fn full_bucket_histogram() -> BucketHistogram {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, 2).expect("valid histogram bounds")
}

/// One power of two of counts (the values below the first sub-bucket count), growing on
/// demand. Auto-resize is on so that `add` of a wider histogram grows it too.
fn growing<T: Counter>(sigfig: u8) -> Histogram<T> {
    let first = Histogram::<T>::new_with_bounds(1, 2, sigfig).expect("valid histogram bounds");
    // One bucket holds the values below its sub-bucket count (its number of counts).
    let top = first.distinct_values() as u64 - 1;
    let mut h = Histogram::new_with_bounds(1, top, sigfig).expect("valid histogram bounds");
    h.auto(true);
    h
}

/// Recording a latency into a histogram of [`new_latency_histogram`]'s kind.
pub trait RecordNs {
    /// Records `ns` as `saturating_record` records it into a histogram of the full range:
    /// values past [`HISTOGRAM_TOP_NS`] count as [`HISTOGRAM_MAX_NS`]. (`saturating_record`
    /// itself would clamp to the range grown so far, so it is not used on these.)
    fn record_ns(&mut self, ns: u64);
}

impl<T: Counter> RecordNs for Histogram<T> {
    #[inline]
    fn record_ns(&mut self, ns: u64) {
        let ns = if ns > HISTOGRAM_TOP_NS {
            HISTOGRAM_MAX_NS
        } else {
            ns
        };
        if ns > self.high() {
            grow_to(self, ns);
        }
        // In range now: recording cannot fail (a count saturates, as before).
        let recorded = self.record(ns);
        debug_assert!(recorded.is_ok(), "{recorded:?}");
    }
}

/// Grows `h` to the end of the power of two holding `ns`, with an exact allocation: the
/// histogram's own resize would double the vector's capacity, up to twice the counts.
/// At most 32 times in a histogram's life.
#[cold]
#[inline(never)]
pub(crate) fn grow_to<T: Counter>(h: &mut Histogram<T>, ns: u64) {
    // The counts cover [0, 2^k) for the smallest power of two 2^k above `ns` (at least one
    // bucket, which `h` already has).
    let top = (ns + 1).next_power_of_two() - 1;
    let mut wider = Histogram::new_with_bounds(1, top, h.sigfig()).expect("valid histogram bounds");
    wider.auto(true);
    wider.add(&*h).expect("a wider histogram takes every value");
    *h = wider;
}

/// Why a request or call failed. The cause travels up a call chain unchanged, so a client
/// whose request failed because a hop three services down timed out sees `timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// No reply within the caller's timeout (lost message, or too slow).
    Timeout,
    /// A replica's accept queue was full.
    Rejected,
    /// A circuit breaker refused the call without trying.
    CircuitOpen,
    /// No replica could take the call (crashed, bulkhead full).
    Unavailable,
    /// The endpoint answered with an error (`fail`, a business error).
    Error,
    /// A token bucket (`rate_limit`, on the service or the workload's client) had no token:
    /// refused at once, like HTTP 429.
    RateLimited,
    /// Load shedding dropped the request: it waited in the queue past `shed.queue_time`, or
    /// arrived beyond the replica's adaptive concurrency limit.
    Shed,
}

impl Cause {
    pub const ALL: [Cause; 7] = [
        Cause::Timeout,
        Cause::Rejected,
        Cause::CircuitOpen,
        Cause::Unavailable,
        Cause::Error,
        Cause::RateLimited,
        Cause::Shed,
    ];

    /// The JSON field name.
    pub fn name(self) -> &'static str {
        match self {
            Cause::Timeout => "timeout",
            Cause::Rejected => "rejected",
            Cause::CircuitOpen => "circuit_open",
            Cause::Unavailable => "unavailable",
            Cause::Error => "error",
            Cause::RateLimited => "rate_limited",
            Cause::Shed => "shed",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Counts of failures, one per [`Cause`], indexed by `Cause::index`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureCounts(pub [u64; 7]);

impl FailureCounts {
    pub fn add(&mut self, cause: Cause) {
        self.0[cause.index()] += 1;
    }
    pub fn get(&self, cause: Cause) -> u64 {
        self.0[cause.index()]
    }
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct RunResults {
    pub scenario: String,
    pub seed: u64,
    /// When the run stopped: the last event, at most duration + drain.
    pub sim_time: SimTime,
    /// Events handled.
    pub events: u64,
    pub warmup: SimDuration,
    pub duration: SimDuration,
    /// Width of each time bucket; bucket `i` covers `[i*bucket, (i+1)*bucket)`.
    pub bucket: SimDuration,
    pub workloads: Vec<WorkloadStats>,
    pub endpoints: Vec<EndpointStats>,
    pub services: Vec<ServiceStats>,
    pub calls: CallStats,
    /// Scheduled faults in file order, then one entry per chaos target.
    pub faults: Vec<FaultStats>,
    /// Every circuit breaker that changed state, by call site and caller replica.
    pub breakers: Vec<BreakerStats>,
    pub messages: MessageStats,
    /// In model order.
    pub flows: Vec<FlowStats>,
}

impl RunResults {
    /// The measured window for rates: from the end of warmup to the end of arrivals.
    pub fn window_s(&self) -> f64 {
        self.duration.as_secs_f64() - self.warmup.as_secs_f64()
    }
}

/// One workload's requests, counted from the client's side.
#[derive(Clone, Debug)]
pub struct WorkloadStats {
    pub name: String,
    /// Requests sent after warmup.
    pub sent: u64,
    /// Full successes.
    pub ok: u64,
    /// Full successes that ended inside the measured window [warmup, duration), whenever
    /// they were sent: what the window served, so `ok_in_window / (duration - warmup)` can
    /// never exceed the rate the system sustained (a backlog drained after `duration` is
    /// not counted as if it had been served in time).
    pub ok_in_window: u64,
    /// Successes that a fallback answered somewhere along the way: counted apart from `ok`.
    pub degraded: u64,
    pub failed: FailureCounts,
    /// Sent but without an outcome when the run stopped (lost without a timeout, or still
    /// running after the drain). `sent = ok + degraded + failed + in_flight`.
    pub in_flight: u64,
    /// Latency of successful requests.
    pub latency: LatencyHistogram,
    pub buckets: Vec<WorkloadBucket>,
}

/// One time bucket of a workload. Requests are placed by the time they were sent.
#[derive(Clone, Debug, Default)]
pub struct WorkloadBucket {
    pub sent: u64,
    pub ok: u64,
    pub degraded: u64,
    pub failed: FailureCounts,
    /// Latency of the successful requests sent in this bucket (its summary is `None` when
    /// there were none).
    pub latency: BucketLatency,
}

/// One endpoint, counted at the replicas that serve it.
#[derive(Clone, Debug)]
pub struct EndpointStats {
    /// `service/endpoint`.
    pub name: String,
    /// Attempts that reached a replica (retries included), accepted or not.
    pub arrivals: u64,
    /// Requests that finished (successfully or with an error) at a replica.
    pub completed: u64,
    pub rejected: u64,
    /// Completed with an error (own `fail`, or a failed downstream call).
    pub failed: u64,
    /// Requests (arrived after warmup) that a replica served after their caller had given
    /// up on them (timed out, or retried), or that were still at a replica — in transit,
    /// queued or in service — at the end with their caller gone: work nobody waited for.
    pub abandoned: u64,
    /// Time from arrival at the replica to the reply, queue wait included, for successes:
    /// counts in the latency histogram's layout, whose figures ([`LatencyCounts::summary`])
    /// are the histogram's without building it ([`LatencyCounts::histogram`] makes it where
    /// a histogram is needed). A 1,000-service model has thousands of endpoints and no
    /// output that reads more than their figures.
    pub latency: LatencyCounts,
}

/// One service over all its replicas.
#[derive(Clone, Debug)]
pub struct ServiceStats {
    pub name: String,
    pub replicas: u32,
    pub workers: u32,
    /// Which of `replicas` and `workers` were left at their default of 1 (for a warning).
    pub default_keys: Vec<&'static str>,
    pub arrivals: u64,
    pub rejected: u64,
    /// Requests refused by the service's token bucket (`rate_limit`).
    pub rate_limited: u64,
    /// Requests dropped by the service's load shedding (`shed`) before they started.
    pub shed: u64,
    /// Abandoned requests over the service's endpoints (see [`EndpointStats::abandoned`]).
    pub abandoned: u64,
    /// Busy worker time over available worker time, from warmup to the end of the run.
    pub utilization: f64,
    /// Time-average of requests queued or in service, from warmup to the end of the run.
    pub mean_in_system: f64,
    /// Time-average of requests waiting in accept queues.
    pub mean_queued: f64,
    /// Time-average of requests in system, per time bucket.
    pub in_system_buckets: Vec<f64>,
    /// With `[service.NAME.version.V]`: the base version (named `base`), then each version;
    /// empty for a service without versions.
    pub versions: Vec<VersionStats>,
    /// The most replicas in the pool at once during the run (a fixed service: `replicas`).
    pub replicas_max: u32,
    /// Replicas in the pool (ready, or crashed and restarting) × seconds, over the measured
    /// window [warmup, end of arrivals]: what the fleet cost.
    pub replica_seconds: f64,
    /// Autoscaler decisions that changed the desired count (0 without an autoscaler).
    pub scale_events: u64,
    /// What the autoscaler did; `None` for a fixed service.
    pub autoscale: Option<AutoscaleStats>,
}

/// One version of a service: what reached its replicas and how it went.
#[derive(Clone, Debug)]
pub struct VersionStats {
    pub name: String,
    pub replicas: u32,
    /// The weight (percent) at the end of the run: after the last rollout step, 0 after a
    /// rollback. The base version's is what the versions leave.
    pub weight: f64,
    /// Requests that reached its replicas (retries included).
    pub arrivals: u64,
    /// Arrivals it did not answer with a success: an error (its own or downstream), a full
    /// queue, a rate limit or shedding, or a refusal by a crashed replica.
    pub failed: u64,
    /// Latency at its replicas of the requests it answered successfully.
    pub latency: LatencyHistogram,
    /// When an automatic rollback set its weight to 0.
    pub rolled_back_at: Option<SimTime>,
}

/// An autoscaled service's decisions and replicas over time.
#[derive(Clone, Debug, Default)]
pub struct AutoscaleStats {
    pub metric: &'static str,
    pub target: f64,
    /// Every decision that changed the desired count, up to
    /// `engine::MAX_SCALE_EVENTS_LISTED` (all are counted in `scale_events`).
    pub decisions: Vec<ScaleDecision>,
    /// Time with fewer replicas ready than desired, over the measured window.
    pub under_provisioned_s: f64,
    /// Mean replicas in the pool, and mean desired, per time bucket.
    pub replicas_buckets: Vec<f64>,
    pub desired_buckets: Vec<f64>,
}

/// One autoscaler decision that changed the desired count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleDecision {
    pub at: SimTime,
    pub from: u32,
    pub to: u32,
    /// The metric per ready replica, averaged over the window, that drove it.
    pub metric: f64,
    /// Replicas ready when it was taken.
    pub ready: u32,
    /// Replicas ready on average over the metric's window: `to` is
    /// `ceil(ready_mean × metric / target)` unless the tolerance, the stabilization, `min`,
    /// `max` or `max_step_up` said otherwise.
    pub ready_mean: f64,
}

/// Calls between services and from clients, every attempt counted.
#[derive(Clone, Debug, Default)]
pub struct CallStats {
    /// Call attempts made (client requests and service-to-service calls, retries included).
    pub attempts: u64,
    /// Retries made by the applications (a call's `retries`).
    pub retries: u64,
    /// Retries made by sidecars (a `sidecar`'s `retries`), apart from the applications'.
    pub mesh_retries: u64,
    pub timeouts: u64,
    pub circuit_open: u64,
    /// Calls refused by a full bulkhead.
    pub bulkhead_full: u64,
    /// Failed calls answered by a fallback.
    pub fallbacks: u64,
    /// Retries not made because the retry budget was empty.
    pub budget_exhausted: u64,
    /// Of `attempts`, those made by services (calls to other services, retries included);
    /// the rest were made by clients (their requests and their retries).
    pub service_attempts: u64,
    /// Every call attempt below the client — the client's own attempts, its retries
    /// included, and every service-to-service attempt — per client request sent: 1.0 when
    /// each request is one attempt at one service; what the system had to serve per request.
    pub amplification: f64,
}

/// What one fault did.
#[derive(Clone, Debug)]
pub struct FaultStats {
    /// `crash`, `slow`, `error`, `loss`, `partition`, or `chaos` for random crashes.
    pub kind: String,
    /// As written in the scenario (`payment`, `payment#1`, `order->payment`, `order|payment`).
    pub target: String,
    pub at: SimDuration,
    /// `None`: until the end of the run.
    pub duration: Option<SimDuration>,
    /// What it actually hit: requests lost or refused (crash), work slowed (slow), requests
    /// failed (error), messages dropped (loss, partition) or delayed (slow link). Zero means
    /// the fault missed: the report warns about it.
    pub affected: u64,
    /// For chaos: how many crashes happened.
    pub crashes: u64,
}

/// The state of a circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// One circuit breaker's history.
#[derive(Clone, Debug)]
pub struct BreakerStats {
    /// `caller -> target`, e.g. `gateway/checkout -> payment/charge` (or `client:NAME -> …`).
    pub site: String,
    /// The caller replica (`gateway#0`), or the workload for a client's breaker.
    pub owner: String,
    /// Times it opened, all of them.
    pub opened: u64,
    /// Its state changes in time order, while the run's room for them lasted: at most
    /// 1,000,000 changes over all breakers of a run are listed (a breaker flapping every
    /// cooldown for a long run would grow this list with simulated time).
    pub transitions: Vec<(SimTime, BreakerState)>,
}

/// Messaging, counting only messages published at or after warmup (a dead letter counts with
/// its original), like every other counter of a run: one rule, so every queue's and group's
/// counts balance over what is counted:
/// `published + duplicates = acknowledged + dead_lettered + queued + in_flight + lost`.
/// Depths are time averages over the window (warmup to duration) of every copy present.
#[derive(Clone, Debug, Default)]
pub struct MessageStats {
    /// In model order.
    pub brokers: Vec<BrokerStats>,
    /// In model order: declared queues, undeclared dead-letter queues, request queues.
    pub queues: Vec<ChannelStats>,
    pub topics: Vec<TopicStats>,
}

/// One broker.
#[derive(Clone, Debug)]
pub struct BrokerStats {
    pub name: String,
    /// Publishes (and request-reply requests) the broker accepted.
    pub published: u64,
    /// Publishes refused because the broker was down (the publisher saw `unavailable`).
    pub publish_failed: u64,
    /// Dispatches to consumers (redeliveries and duplicates included).
    pub delivered: u64,
    /// Messages lost when the (non-durable) broker went down.
    pub lost: u64,
    /// Dispatch capacity in use: deliveries over capacity × window; `None` when unlimited
    /// (there is no capacity to use a share of).
    pub utilization: Option<f64>,
    /// The broker's dispatch capacity in messages/s; `None`: unlimited.
    pub capacity_per_s: Option<f64>,
}

/// One topic and its consumer groups.
#[derive(Clone, Debug)]
pub struct TopicStats {
    pub name: String,
    /// Messages published to the topic (each group then receives its own copy).
    pub published: u64,
    pub partitions: u32,
    /// In model order.
    pub groups: Vec<ChannelStats>,
}

/// One queue, or one consumer group of a topic (over all its partitions).
#[derive(Clone, Debug)]
pub struct ChannelStats {
    /// The queue's or the group's name.
    pub name: String,
    /// `service/endpoint` of the consumer; `None` for a queue nobody reads.
    pub consumer: Option<String>,
    /// Messages that entered: published or sent to it (a group: one copy per message
    /// published to its topic); for a dead-letter queue, messages dead-lettered into it.
    pub published: u64,
    /// Dispatches to a consumer, redeliveries and duplicates included.
    pub delivered: u64,
    /// Dispatches after the first of the same copy (after a failure or a visibility timeout).
    pub redelivered: u64,
    /// Extra copies made by `duplicate` faults.
    pub duplicates: u64,
    /// Copies acked after processing.
    pub acknowledged: u64,
    /// Copies moved to the dead-letter queue after `max_deliveries`.
    pub dead_lettered: u64,
    /// Copies still waiting to be dispatched when the run ended.
    pub queued: u64,
    /// Copies dispatched and not yet acked when the run ended.
    pub in_flight: u64,
    /// Copies lost when a non-durable broker went down.
    pub lost: u64,
    /// Repeated message ids an idempotent consumer recognised and did not apply again.
    pub deduplicated: u64,
    /// Repeated message ids a non-idempotent `effect` consumer applied again.
    pub duplicate_effects: u64,
    /// Messages processed after a later message of the same key (keyed messages only).
    pub out_of_order: u64,
    /// Publish -> first successful processing.
    pub lag: LatencyHistogram,
    /// Publish -> first dispatch: the time spent waiting in the broker.
    pub wait: LatencyHistogram,
    /// Time-average of copies queued or in flight (consumer lag, in messages) over the
    /// measured window, and its maximum over the run.
    pub mean_depth: f64,
    pub max_depth: u64,
    /// Time-average of copies queued or in flight, per time bucket.
    pub depth_buckets: Vec<f64>,
}

/// One flow's consistency report: what its instances ended as, judged from the effects at the
/// steps' services after the drain, next to what the clients saw.
///
/// Every instance started at or after warmup is counted once, in every figure:
/// `started = completed + compensated + inconsistent + pending`; instances started during
/// warmup are not counted at all (the same rule as for requests and messages).
#[derive(Clone, Debug)]
pub struct FlowStats {
    pub name: String,
    /// `sync`, `async`, `choreography` or `orchestration`.
    pub style: String,
    /// The steps' action endpoints (`inventory/reserve`), in order: names for the breakdown.
    pub steps: Vec<String>,
    pub started: u64,
    /// Every step applied, none compensated.
    pub completed: u64,
    /// Rolled back: no step's effect remains (every applied step was undone, or none was
    /// applied).
    pub compensated: u64,
    /// Some steps' effects remain and others do not: the system does not agree with itself.
    pub inconsistent: u64,
    /// Still moving when the run ended (messages or calls of the instance in flight, or a
    /// coordinator waiting to resume).
    pub pending: u64,
    /// Effects applied a second time for the same instance (a non-idempotent step run twice).
    pub duplicate_effects: u64,
    /// Instances whose client was told ok but that did not complete, or told failed (or
    /// timed out) while effects remain.
    pub client_mismatch: u64,
    /// The client's latency, for requests answered ok.
    pub latency: LatencyHistogram,
    /// From the instance's start to its last effect or compensation, for instances that
    /// settled (completed, compensated or inconsistent).
    pub consistency: LatencyHistogram,
    /// Inconsistent instances by the set of steps left applied (bit `i` = step `i`), in
    /// increasing mask order.
    pub left_applied: Vec<(u32, u64)>,
}

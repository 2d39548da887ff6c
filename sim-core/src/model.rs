//! The validated model of a scenario: what the engine runs.
//!
//! Everything here has been checked (references resolve, numbers are in range, no sync call
//! cycles), and names have been turned into dense ids that index `Vec`s. Names remain only for
//! the reports. The scenario parser (`crate::scenario`) is the only producer of a `Model`.

mod admission;
mod autoscale;
mod fault;
mod flow;
mod messaging;
mod resilience;
mod routing;
mod sidecar;
mod version;

pub use admission::{AdaptiveLimit, Admission, Priority, RateLimit, Shed};
pub use autoscale::{Autoscale, ScaleIn, ScaleMetric};
pub use fault::{Chaos, Fault, FaultKind, ReplicaRef};
pub use flow::{Flow, FlowId, FlowStep, FlowStyle, MAX_FLOW_STEPS};
pub use messaging::{
    Broker, BrokerId, Consumer, DEFAULT_PARTITIONS, DEFAULT_PREFETCH, DEFAULT_PUBLISH_TIMEOUT,
    DEFAULT_VISIBILITY, Destination, Group, Publish, Queue, QueueId, QueueRole, Topic, TopicId,
};
pub use resilience::{BreakerSpec, Jitter, Resilience, RetryPolicy};
pub use routing::{Route, route_stream_name};
pub use sidecar::{Sidecar, sidecar_stream_name};
pub use version::{
    BASE_VERSION, DEFAULT_MIN_REQUESTS, MAX_ROLLOUT_STEPS, MAX_VERSIONS, ROLLBACK_SLICES, Rollback,
    Version,
};

use crate::dist::Dist;
use crate::rate::{RateCurve, UserCurve};
use crate::time::SimDuration;

/// Index of a service in [`Model::services`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(pub u32);
/// Index of an endpoint in [`Model::endpoints`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointId(pub u32);
/// Index of a workload in [`Model::workloads`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadId(pub u32);
/// Index of a directed link in [`Model::links`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u32);

/// A whole scenario, validated.
#[derive(Clone, Debug)]
pub struct Model {
    pub name: String,
    pub description: String,
    /// The default seed; `--seed` overrides it.
    pub seed: u64,
    /// Arrivals stop at `duration`.
    pub duration: SimDuration,
    /// Requests started before `warmup` are not counted; time averages start here.
    pub warmup: SimDuration,
    /// After `duration`, in-flight work may finish for at most this long.
    pub drain: SimDuration,
    /// Width of the time buckets kept for plots and fault windows.
    pub bucket: SimDuration,
    pub limits: Limits,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoint>,
    pub workloads: Vec<Workload>,
    /// Every directed hop that some call or workload uses, resolved from `[network]` defaults
    /// and per-pair overrides. A request and its reply use two links (one each way).
    pub links: Vec<Link>,
    /// Message brokers, in file order.
    pub brokers: Vec<Broker>,
    /// Declared queues in file order, then the step queues of `choreography` flows, then
    /// dead-letter queues named but not declared, then the request queues of calls made `via`
    /// a broker (orchestration flows' step calls included).
    pub queues: Vec<Queue>,
    /// Topics, in file order, then the topics of `async` flows.
    pub topics: Vec<Topic>,
    /// Flows, in file order (their entry endpoints, calls, queues and topics are in the
    /// vectors above).
    pub flows: Vec<Flow>,
    /// Scheduled faults, in file order.
    pub faults: Vec<Fault>,
    /// Random crashes, if `[chaos]` is given.
    pub chaos: Option<Chaos>,
    pub expects: Vec<Expect>,
    /// User-defined protocol profiles (`[protocol.NAME]`), in file order; `Protocol::User(i)`
    /// indexes this.
    pub protocols: Vec<ProtocolProfile>,
    /// How many call sites have a `p` or a `one_of` (each has its own random stream).
    pub routes: u32,
    /// Sidecars (`[service.NAME.sidecar]`), in service order; empty when no service has one,
    /// and then the run makes no sidecar decision at all.
    pub sidecars: Vec<Sidecar>,
}

/// Hard budgets that stop a runaway run (exit code 3) instead of exhausting memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most events one run may handle. Key: `scenario.max_events`.
    pub max_events: u64,
    /// Most requests and calls in flight at once. Key: `scenario.max_in_flight`.
    pub max_in_flight: u32,
    /// Most memory a run may need, as estimated from the model before anything is
    /// allocated (see `engine::footprint`). Key: `scenario.max_memory`.
    pub max_memory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: 2_000_000_000,
            max_in_flight: 1_000_000,
            max_memory_bytes: 1 << 30,
        }
    }
}

/// A service: `replicas` identical replicas behind a load balancer.
#[derive(Clone, Debug)]
pub struct Service {
    pub name: String,
    /// Every replica of the service: the base version's, then each version's in order.
    pub replicas: u32,
    /// Concurrent requests per replica. A synchronous caller keeps its worker while it waits.
    pub workers: u32,
    /// Which of `replicas` and `workers` the file left at their default of 1: a service
    /// declared only through its endpoint is 1 × 1, which the report warns about when it
    /// is saturated.
    pub default_keys: Vec<&'static str>,
    /// Waiting requests per replica; `None` is unbounded. A full queue rejects.
    pub queue: Option<u32>,
    pub lb: LbPolicy,
    /// How often callers' load balancers learn which replicas are up. `None`: never — a
    /// caller keeps sending to a crashed replica and learns only from the failures.
    pub health_check: Option<SimDuration>,
    /// This service's endpoints, in the order the scenario declares them.
    pub endpoints: Vec<EndpointId>,
    /// Rate limit and load shedding (`rate_limit`, `shed`); `None` when neither is given.
    pub admission: Option<Admission>,
    /// `[service.NAME.version.V]`, in file order; their replicas follow the base's.
    pub versions: Vec<Version>,
    /// `[service.NAME.autoscale]`; then `replicas` is its `max` (the slots sized at build),
    /// of which `autoscale.start` serve at t = 0.
    pub autoscale: Option<Box<Autoscale>>,
}

impl Service {
    /// The base version's replicas: those before the first version's.
    pub fn base_replicas(&self) -> u32 {
        self.versions.first().map_or(self.replicas, |v| v.first)
    }

    /// Worker slots over every replica (versions may have their own `workers`), for
    /// utilization. 64-bit: 100,000 replicas × 1,000,000 workers does not fit in 32 bits.
    pub fn worker_slots(&self) -> u64 {
        let versions: u64 = self
            .versions
            .iter()
            .map(|v| u64::from(v.replicas) * u64::from(v.workers))
            .sum();
        u64::from(self.base_replicas()) * u64::from(self.workers) + versions
    }
}

/// How a caller picks one replica of the target service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LbPolicy {
    RoundRobin,
    Random,
    /// The replica with the fewest requests queued or in service (ties: lowest index).
    LeastOutstanding,
    /// Power of two choices: two replicas at random, the less loaded wins.
    PowerOfTwo,
}

impl LbPolicy {
    pub const ALLOWED: &'static str = "round-robin, random, least-outstanding, p2c";

    pub fn parse(text: &str) -> Option<LbPolicy> {
        match text {
            "round-robin" => Some(LbPolicy::RoundRobin),
            "random" => Some(LbPolicy::Random),
            "least-outstanding" => Some(LbPolicy::LeastOutstanding),
            "p2c" => Some(LbPolicy::PowerOfTwo),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LbPolicy::RoundRobin => "round-robin",
            LbPolicy::Random => "random",
            LbPolicy::LeastOutstanding => "least-outstanding",
            LbPolicy::PowerOfTwo => "p2c",
        }
    }
}

/// One endpoint of a service: work, then its downstream calls, then the reply.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The endpoint's own name (`charge`); its full name is `service/endpoint`.
    pub name: String,
    pub service: ServiceId,
    /// Service time, holding one worker.
    pub work: Dist,
    /// Probability the endpoint answers with an error (after its work, before its calls).
    pub fail: f64,
    /// Calls all at once (`true`) or one after another (`false`).
    pub parallel: bool,
    pub calls: Vec<Call>,
    /// Calls reached only through a site of `calls`: the other targets of a `one_of` and the
    /// `fallback` calls. Call index `calls.len() + k` is `routed[k]` (see [`Endpoint::call`]).
    pub routed: Vec<Call>,
    /// Messages published (`publish`, to topics) then sent (`send`, to queues), one after
    /// another after the calls, each a round trip to its broker.
    pub publish: Vec<Publish>,
    /// Processing a message writes local state: a repeated message id applies it again
    /// (`duplicate_effects`) unless the endpoint is `idempotent`.
    pub effect: bool,
    /// A repeated message id is recognised and applied once (`deduplicated`).
    pub idempotent: bool,
    /// For a version's copy of an endpoint: the base endpoint it was copied from (the
    /// report counts it there) and the version's index in its service's `versions`.
    pub version_of: Option<(EndpointId, u16)>,
}

/// A synchronous call from an endpoint (or a workload's client) to another endpoint.
#[derive(Clone, Debug)]
pub struct Call {
    pub to: EndpointId,
    /// The hop the request crosses.
    pub link: LinkId,
    /// The hop the reply crosses (the reverse direction).
    pub reply_link: LinkId,
    pub protocol: Protocol,
    /// How long the caller waits for the reply; `None` waits forever (a lost message then
    /// holds the caller's worker for good, which is exactly what missing timeouts do).
    pub timeout: Option<SimDuration>,
    /// Retries, breaker, bulkhead, fallback (all off by default).
    pub resilience: Resilience,
    /// Request-reply over messaging: the request goes through this request queue (its
    /// consumer is `to`), the reply comes back through the broker. `link` then leads to the
    /// broker and `reply_link` from it.
    pub via: Option<QueueId>,
    /// With `p` or `one_of`: the per-request draw (none: the call is always made as written).
    pub route: Option<Box<Route>>,
    /// With `fallback = { to = … }`: the call (an index for [`Endpoint::call`]) made instead
    /// when this one fails after its retries.
    pub fallback_call: Option<u16>,
}

impl Call {
    /// No resilience setting of any kind (retries, backoff, budget, breaker, bulkhead,
    /// fallback or fallback call) and no request queue: the logical call is exactly one
    /// attempt. A timeout alone keeps a call plain. The engine decides its plain path from
    /// this once, at build (`engine::world::plain`), never per call.
    pub fn is_plain(&self) -> bool {
        self.resilience == Resilience::default()
            && self.fallback_call.is_none()
            && self.via.is_none()
    }
}

impl Link {
    /// A crossing of this link draws nothing and costs nothing: no latency, no loss (faults
    /// that may hit it are checked by the engine at run time).
    pub fn is_instant(&self) -> bool {
        (self.loss <= 0.0 || self.loss.is_nan()) && self.latency.is_zero()
    }
}

impl Endpoint {
    /// Call number `i`: a site of `calls`, or past them one of the `routed` calls.
    #[inline]
    pub fn call(&self, i: u16) -> &Call {
        let i = i as usize;
        match self.calls.get(i) {
            Some(c) => c,
            None => &self.routed[i - self.calls.len()],
        }
    }

    /// Every call the endpoint can make, sites first, with its index for [`Endpoint::call`].
    pub fn all_calls(&self) -> impl Iterator<Item = &Call> {
        self.calls.iter().chain(self.routed.iter())
    }
}

/// A wire protocol profile: per-message serialization and framing overhead.
///
/// Each message (request or reply) that crosses a link pays its overhead on top of the link's
/// latency: encoding at the sender, decoding at the receiver and the extra bytes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// No overhead: an idealised call (the default).
    None,
    /// JSON over HTTP/1.1: text encoding, verbose headers.
    Rest,
    /// Protobuf over HTTP/2: binary encoding, compressed headers.
    Grpc,
    /// A `[protocol.NAME]` profile: index into `Model::protocols`.
    User(u16),
}

impl Protocol {
    pub const ALLOWED: &'static str = "none, rest, grpc";

    /// A built-in protocol by name (user profiles are looked up by the parser).
    pub fn parse(text: &str) -> Option<Protocol> {
        match text {
            "none" => Some(Protocol::None),
            "rest" => Some(Protocol::Rest),
            "grpc" => Some(Protocol::Grpc),
            _ => None,
        }
    }

    /// The name as written; user profiles are named in `Model::protocols`.
    pub fn name(self, model: &Model) -> &str {
        match self {
            Protocol::None => "none",
            Protocol::Rest => "rest",
            Protocol::Grpc => "grpc",
            Protocol::User(i) => &model.protocols[i as usize].name,
        }
    }

    /// Overhead per message crossing a link, for the built-in profiles (a user profile's is
    /// drawn from its distribution: `None` here). Figures follow common serialization
    /// benchmarks for a ~2 KB business payload: JSON encode + decode and HTTP/1.1 framing
    /// about 120 µs, protobuf over HTTP/2 about 30 µs.
    #[inline]
    pub fn per_message(self) -> Option<SimDuration> {
        match self {
            Protocol::None => Some(SimDuration::ZERO),
            Protocol::Rest => Some(SimDuration::from_micros(120)),
            Protocol::Grpc => Some(SimDuration::from_micros(30)),
            Protocol::User(_) => None,
        }
    }
}

/// `[protocol.NAME]`: a user-defined protocol, its overhead per message crossing.
#[derive(Clone, Debug)]
pub struct ProtocolProfile {
    pub name: String,
    pub overhead: Dist,
}

/// Where a message starts or ends: the outside world (workload clients) or a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    Client,
    Service(ServiceId),
    Broker(BrokerId),
}

/// One direction of a network hop.
#[derive(Clone, Debug)]
pub struct Link {
    pub from: Node,
    pub to: Node,
    pub latency: Dist,
    /// Probability a message on this hop is lost.
    pub loss: f64,
}

/// A source of requests.
#[derive(Clone, Debug)]
pub struct Workload {
    pub name: String,
    /// The flow this workload starts (its call then targets the flow's entry endpoint).
    pub flow: Option<FlowId>,
    /// The client's call into the system: target endpoint, links, protocol, timeout.
    pub call: Call,
    pub arrival: Arrival,
    /// The client-side token bucket (`rate_limit`): a request without a token fails at once.
    pub rate_limit: Option<RateLimit>,
    /// Carried by the requests this workload starts (`priority`).
    pub priority: Priority,
}

/// How a workload generates requests.
#[derive(Clone, Debug)]
pub enum Arrival {
    /// Open loop: requests arrive at `rate_per_s` whatever happens to earlier ones.
    Open { rate_per_s: f64, poisson: bool },
    /// Open loop at a rate that changes over time (a schedule, a sine, spikes): a
    /// non-homogeneous Poisson process, or arrivals where the integrated rate reaches each
    /// whole number when not `poisson`.
    Varying { curve: RateCurve, poisson: bool },
    /// Closed loop: `users` each send a request, wait for its outcome, think, repeat.
    Closed { users: u32, think: Dist },
    /// Closed loop whose number of users changes over time: new users join when the curve
    /// rises; when it falls, users leave at their next send.
    ClosedVarying { users: UserCurve, think: Dist },
}

/// Most segments a metric path (`[[expect]]`, `hunt --until`) may have: the report's deepest
/// number is six levels down, so more is a mistake, and the cap bounds the lookup's work.
pub const MAX_METRIC_SEGMENTS: usize = 64;

/// Most bytes a metric path may have (names of services and topics included).
pub const MAX_METRIC_BYTES: usize = 1024;

/// Why a metric path is too long to look up, if it is: its size against the caps.
pub fn metric_path_too_long(metric: &str) -> Option<String> {
    let segments = metric.split('.').count();
    if segments > MAX_METRIC_SEGMENTS {
        return Some(format!(
            "the metric path has {segments} segments; at most {MAX_METRIC_SEGMENTS} are allowed"
        ));
    }
    (metric.len() > MAX_METRIC_BYTES).then(|| {
        format!(
            "the metric path has {} bytes; at most {MAX_METRIC_BYTES} are allowed",
            metric.len()
        )
    })
}

/// A scenario's lesson, checked against the JSON report after every run.
#[derive(Clone, Debug)]
pub struct Expect {
    /// Dotted path into the JSON report (`workloads.checkout.latency_ms.p99`).
    pub metric: String,
    pub bound: Bound,
    pub why: String,
    /// `file:line:column` of the `[[expect]]` entry, for messages.
    pub location: String,
}

/// The comparison an expectation makes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    Below(f64),
    Above(f64),
    Equals(f64),
}

impl Bound {
    pub fn holds(self, value: f64) -> bool {
        match self {
            Bound::Below(b) => value < b,
            Bound::Above(b) => value > b,
            Bound::Equals(b) => (value - b).abs() <= 1e-9 * b.abs().max(1.0),
        }
    }
}

impl Model {
    /// `service/endpoint`, the name users write and reports print (a version's copy is
    /// `service/endpoint@version`).
    pub fn endpoint_name(&self, id: EndpointId) -> String {
        let e = &self.endpoints[id.0 as usize];
        let service = &self.services[e.service.0 as usize];
        match e.version_of {
            Some((_, v)) => format!(
                "{}/{}@{}",
                service.name, e.name, service.versions[v as usize].name
            ),
            None => format!("{}/{}", service.name, e.name),
        }
    }

    /// The endpoints the file declares and flows derive, without the versions' copies
    /// (which come last, see `Endpoint::version_of`): the report's endpoints.
    pub fn own_endpoints(&self) -> usize {
        self.endpoints
            .iter()
            .position(|e| e.version_of.is_some())
            .unwrap_or(self.endpoints.len())
    }

    pub fn node_name(&self, node: Node) -> &str {
        match node {
            Node::Client => "client",
            Node::Service(s) => &self.services[s.0 as usize].name,
            Node::Broker(b) => &self.brokers[b.0 as usize].name,
        }
    }

    /// `from->to`, as link overrides are written.
    pub fn link_name(&self, id: LinkId) -> String {
        let l = &self.links[id.0 as usize];
        format!("{}->{}", self.node_name(l.from), self.node_name(l.to))
    }

    pub fn service(&self, id: ServiceId) -> &Service {
        &self.services[id.0 as usize]
    }

    pub fn endpoint(&self, id: EndpointId) -> &Endpoint {
        &self.endpoints[id.0 as usize]
    }

    pub fn broker(&self, id: BrokerId) -> &Broker {
        &self.brokers[id.0 as usize]
    }

    pub fn flow(&self, id: FlowId) -> &Flow {
        &self.flows[id.0 as usize]
    }

    pub fn queue(&self, id: QueueId) -> &Queue {
        &self.queues[id.0 as usize]
    }

    pub fn topic(&self, id: TopicId) -> &Topic {
        &self.topics[id.0 as usize]
    }

    /// The name of a destination as written (`email-jobs`, `order.placed`).
    pub fn destination_name(&self, d: Destination) -> &str {
        match d {
            Destination::Topic(t) => &self.topics[t.0 as usize].name,
            Destination::Queue(q) => &self.queues[q.0 as usize].name,
        }
    }

    /// The broker a destination lives on.
    pub fn destination_broker(&self, d: Destination) -> BrokerId {
        match d {
            Destination::Topic(t) => self.topics[t.0 as usize].broker,
            Destination::Queue(q) => self.queues[q.0 as usize].broker,
        }
    }

    /// Per service, its sidecar if it has one: built once, looked up by service id.
    pub fn sidecars_by_service(&self) -> Vec<Option<&Sidecar>> {
        let mut of = vec![None; self.services.len()];
        for c in &self.sidecars {
            of[c.service.0 as usize] = Some(c);
        }
        of
    }

    /// Total replicas over all services: replica ids are dense in this range.
    pub fn replica_count(&self) -> usize {
        self.services.iter().map(|s| s.replicas as usize).sum()
    }
}

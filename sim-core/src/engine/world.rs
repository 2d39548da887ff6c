//! The World: all state of a run, changed by one event at a time.
//!
//! A request's life, synchronously: the caller picks a replica (load balancer), the request
//! crosses a link (it may be lost), waits in the replica's accept queue (or is rejected when
//! the queue is full), holds a worker for its `work`, answers with an error with probability
//! `fail`, otherwise makes its downstream calls — one after another or all at once — while
//! still holding the worker, and finally replies across the reverse link. A caller waits for
//! the reply or its timeout, whichever comes first; the other is then ignored.
//!
//! The code is split by side: `calls` is the caller's side (breaker, bulkhead, attempts,
//! retries, fallback), `serve` the replica's side (queue, work, downstream calls, reply), and
//! `faults` what breaks (crashes, slowdowns, errors, lossy or partitioned links, chaos).

mod admission;
mod autoscale;
mod balancer;
mod calls;
mod consumers;
mod faults;
mod fifo;
mod flows;
mod mesh;
mod messaging;
mod plain;
mod serve;
mod timeouts;
mod tracing;
mod versions;

pub(super) use tracing::{Finder, Tracer};

use super::RunError;
use super::broker::{Brokers, Copy as MessageCopy, Origin};
use super::flows::{FlowAcc, Instance};
use super::guard::Guard;
use super::levels::{Marks, ServiceLevels};
use super::slab::{Handle, Slab};
use super::stats::Stats;
use super::token_bucket::TokenBucket;
use crate::dist::Dist;
use crate::kernel::EventQueue;
use crate::model::{Arrival, EndpointId, LinkId, Model, ServiceId, WorkloadId};
use crate::results::{BreakerStats, Cause, FaultStats};
use crate::rng::{Stream, stream};
use crate::time::{SimDuration, SimTime};

/// How a call or a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// A fallback answered for a failed call somewhere along the way.
    Degraded,
    Failed(Cause),
}

impl Outcome {
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

/// Everything that can happen. Small and `Copy`: the heap holds values, not boxes.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// An open-loop workload's next request.
    OpenArrival(WorkloadId),
    /// A closed-loop user has finished thinking.
    UserSend(WorkloadId),
    /// A closed loop's number of users changes (its schedule crossed a whole user).
    UsersChange(WorkloadId),
    /// A request message reaches its replica.
    RequestArrive(Handle),
    /// A job's work is done.
    WorkDone(Handle),
    /// A reply reaches the caller of a pending call.
    Reply(Handle, Outcome),
    /// A pending call's timeout fires.
    Timeout(Handle),
    /// A pending call's backoff is over: make the next attempt.
    Retry(Handle),
    /// A scheduled fault (index into `Model::faults`) begins or ends.
    FaultStart(u32),
    FaultEnd(u32),
    /// A chaos replica (index into `Chaos::replicas`) crashes or restarts.
    ChaosCrash(u32),
    ChaosRestart(u32),
    /// Callers of a service refresh their view of which replicas are up.
    HealthCheck(ServiceId),
    /// A job's `k`-th published message reaches its broker (persisted).
    PublishArrive(Handle, u16),
    /// The broker's answer to a job's `k`-th publish reaches it (or its publish timeout).
    PublishDone(Handle, u16, Outcome),
    /// A request-reply call's request reaches the broker of request queue `u32`.
    ViaArrive(Handle, u32),
    /// A consumer's ack (`true`) or nack of a delivered copy reaches the broker.
    MessageAck(Handle, bool),
    /// The earliest visibility deadline of channel `u32`'s dispatched copies is due.
    VisibilityCheck(u32),
    /// A lost orchestration coordinator resumes its saga (instance handle).
    FlowResume(Handle),
    /// A choreography command (step code) reaches the broker, or its outbox retries.
    FlowCommand(Handle, u16),
    /// A version's next `rollout` step (index into the run's versions) is due.
    VersionStep(u32),
    /// A service's autoscaler decides (every `autoscale.interval`).
    Autoscale(ServiceId),
    /// Replica `u32` finished provisioning (its provisioning's generation: a cancelled one
    /// is ignored).
    Provisioned(u32, u32),
}

/// Which model call a pending call is making.
#[derive(Clone, Copy, Debug)]
enum CallRef {
    Workload(WorkloadId),
    Endpoint(EndpointId, u16),
}

/// Who waits for a pending call's outcome.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Client(WorkloadId),
    Job(Handle),
    /// A sidecar, making the mesh attempts of this application's pending call.
    Mesh(Handle),
}

/// Test-only counts of the paths calls took, so a test can see the plain path taken.
#[cfg(test)]
#[derive(Default)]
struct PathCounts {
    /// Calls started past the guards (`start_call` at a plain site).
    plain_starts: u64,
    /// Calls started through the guard checks.
    general_starts: u64,
    /// Attempts ended on the plain path, and on the general one.
    plain_ends: u64,
    general_ends: u64,
}

/// How far a run has got, for a progress bar (reported every 65,536 events).
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub now: SimTime,
    /// The latest time the run can reach: end of arrivals plus drain.
    pub horizon: SimTime,
    pub events: u64,
}

const PROGRESS_EVERY_MASK: u64 = (1 << 16) - 1;

/// No guard (breaker, bulkhead, budget) on this call.
const NO_GUARD: u32 = u32::MAX;

/// The caller's record of one logical call, across its attempts.
#[derive(Clone, Copy)]
struct PendingCall {
    caller: Caller,
    call: CallRef,
    /// When the first attempt was made: the client's latency runs from here.
    started: SimTime,
    /// 0 for the first attempt.
    attempt: u16,
    guard: u32,
    /// This attempt is a half-open breaker's probe.
    probe: bool,
    /// Made at a plain call site (`plain::Plain`) of an untraced run: its one attempt ends on
    /// the plain path.
    plain: bool,
    /// For client calls: the request's index in send order (for `meshsim trace`).
    request: u32,
    /// For a client call to a flow: the instance its latest attempt started.
    flow: Handle,
    /// The work is sheddable (`priority`), passed on to the job each attempt makes.
    sheddable: bool,
}

/// One request being served by one replica: in transit, queued, working or calling.
/// `Copy`, so a finishing job is read out of its slot once (`finish`).
#[derive(Clone, Copy)]
struct Job {
    endpoint: EndpointId,
    replica: u32,
    /// The pending call to answer; `Handle::NONE` for a message delivery.
    reply_to: Handle,
    /// For a message delivery: the delivered copy (at this delivery's generation) and its
    /// origin; `Handle::NONE` otherwise.
    msg: Handle,
    origin: Handle,
    /// The flow instance this job works for, and which step (`flows::UNDO` bit for an
    /// undo; `flows::NO_STEP` for the flow's entry job); `Handle::NONE` outside flows.
    flow: Handle,
    flow_step: u16,
    arrived: SimTime,
    /// When the publish in progress was sent (for its timeout).
    op_sent: SimTime,
    /// The replica's epoch when the job arrived; a crash bumps the epoch, so a job from
    /// before the crash is recognised as lost when its next event comes.
    epoch: u32,
    next_call: u16,
    outstanding: u16,
    /// A downstream call was answered by a fallback.
    degraded: bool,
    /// Counted at its endpoint and service: a message delivery when its message is counted
    /// (published after warmup), any other job when it arrives after warmup (set then).
    counted: bool,
    /// Sheddable work (`priority = "sheddable"`): shed and rate-limited first.
    sheddable: bool,
}

struct Replica {
    service: ServiceId,
    /// Its load-balancer pool: the service's base (`service`) or a version's.
    pool: u32,
    /// Its version's workers and accept-queue bound (`None`: unbounded).
    workers: u32,
    queue_cap: Option<u32>,
    busy: u32,
    /// Jobs assigned to this replica (in transit, queued or in service): what a load balancer
    /// that counts its outstanding requests sees.
    outstanding: u32,
    queue: fifo::Fifo,
    /// Crash faults (scheduled or chaos) holding this replica down; up when zero.
    crashes: u32,
    epoch: u32,
    /// The fault-stats index of the crash that took it down, for `affected`.
    down_by: u32,
    /// Product of the factors of active slow faults, and those faults.
    slow_factor: f64,
    slow_faults: Vec<u32>,
    /// In its service's pool: balancers and brokers may send it work. Always for a fixed
    /// service; for an autoscaled one, from ready until scaled in.
    pooled: bool,
    /// Scaled in, finishing its work before its slot is freed (`scale_in = "drain"`).
    draining: bool,
}

impl Replica {
    fn is_up(&self) -> bool {
        self.crashes == 0
    }

    /// Up and in the pool: what a broker may deliver to.
    fn serves(&self) -> bool {
        self.crashes == 0 && self.pooled
    }
}

/// A stream and how its draws are made, decided at build (`plain::Plain::work`,
/// `plain::Plain::links`): one record, so a draw indexes one vector, not the plan's and the
/// stream's.
struct Drawn<P> {
    plan: P,
    stream: Stream,
}

/// Each stream of `streams` with its plan in `plans`, in order.
fn drawn<P>(plans: Vec<P>, streams: Vec<Stream>) -> Vec<Drawn<P>> {
    debug_assert_eq!(plans.len(), streams.len());
    let pair = |(plan, stream)| Drawn { plan, stream };
    plans.into_iter().zip(streams).map(pair).collect()
}

/// Random streams, one per component and purpose (see `crate::rng`).
struct Streams {
    workload: Vec<Stream>,
    /// Per endpoint: its work's stream and how it is drawn.
    work: Vec<Drawn<Option<rand_distr::Exp<f64>>>>,
    fail: Vec<Stream>,
    /// Per link: its latency's stream and how a crossing is drawn.
    link_latency: Vec<Drawn<plain::LinkPath>>,
    link_loss: Vec<Stream>,
    lb: Vec<Stream>,
    /// Backoff jitter, per call site owner (endpoint or workload).
    jitter: Vec<Stream>,
    /// Per scheduled fault (error and loss draws).
    fault: Vec<Stream>,
    /// Per chaos replica.
    chaos: Vec<Stream>,
    /// Per service: the phase of its health checks.
    health: Vec<Stream>,
    /// Per broker: its latency.
    broker: Vec<Stream>,
    /// Per queue, then per topic: message keys.
    keys: Vec<Stream>,
    /// Per flow: the steps' business refusals.
    reject: Vec<Stream>,
    /// Per call site with `p` or `one_of` (`call/SERVICE/ENDPOINT/INDEX`): its draws.
    route: Vec<Stream>,
    /// Per `[protocol.NAME]` (`protocol/NAME`): its overheads.
    protocol: Vec<Stream>,
    /// Per sidecar (`sidecar/SERVICE`): its overheads. (Its backoff jitter is in `jitter`,
    /// after the workloads'.)
    sidecar: Vec<Stream>,
}

pub struct World<'m> {
    model: &'m Model,
    q: EventQueue<Event>,
    /// The kernel's timer lane of each timeout duration of the model, sorted by duration.
    timeout_lanes: Vec<(SimDuration, crate::kernel::TimerLane)>,
    /// Whether the run loop drops cancelled timeouts in the kernel (`timeouts.rs`); always,
    /// except in the test that checks it changes nothing.
    pub(in crate::engine) skip_stale: bool,
    end_of_arrivals: SimTime,
    horizon: SimTime,
    warmup: SimTime,
    replica_base: Vec<u32>,
    replicas: Vec<Replica>,
    /// Per pool (each service's base version, then every version): its load balancer's
    /// view of the replicas.
    balancers: Vec<balancer::Balancer>,
    /// Versions' weights and rollbacks (empty without versions).
    versions: versions::Versions,
    jobs: Slab<Job>,
    calls: Slab<PendingCall>,
    brokers: Brokers,
    origins: Slab<Origin>,
    copies: Slab<MessageCopy>,
    instances: Slab<Instance>,
    flow_accs: Vec<FlowAcc>,
    /// Per endpoint: the flow it is the entry of.
    flow_entry: Vec<Option<(u32, crate::model::FlowStyle)>>,
    /// Per flow: the step code of each entry call.
    flow_call_steps: Vec<Vec<u16>>,
    /// Coordinator resumes and choreography commands scheduled: flows still moving.
    flow_timers: u32,
    rng: Streams,
    /// Per workload, how its next arrival is drawn: decided once from its `Arrival`, so
    /// an open-loop arrival reads one small value instead of decoding the model's enum.
    next_gap: Vec<NextGap>,
    /// Guard base index per endpoint call and per workload call (`NO_GUARD` if none).
    call_guard: Vec<Vec<u32>>,
    workload_guard: Vec<u32>,
    guards: Vec<Guard>,
    /// Breaker state changes that may still be listed (`guard::MAX_BREAKER_TRANSITIONS`).
    transitions_room: u64,
    /// Active error faults per service, and active faults per link.
    error_faults: Vec<Vec<u32>>,
    link_faults: Vec<Vec<u32>>,
    /// What each fault hit: scheduled faults first, then one entry per chaos target.
    affected: Vec<u64>,
    chaos_crashes: Vec<u64>,
    /// Per chaos replica: its `[chaos] targets` entry.
    chaos_target: Vec<u32>,
    marks: Marks,
    levels: Vec<ServiceLevels>,
    pub(super) stats: Stats,
    stop: Option<RunError>,
    /// Client requests sent so far (warmup included): the next request's index.
    requests_sent: u64,
    /// Per workload whose users change over time: (users alive, users wanted now).
    users: Vec<(u32, u32)>,
    /// Per workload with a varying rate: the exact time (s) of its last arrival, from which
    /// the next is drawn, so rounding to whole nanoseconds never accumulates.
    last_arrival_s: Vec<f64>,
    /// Token buckets of rate limits, and the first bucket of each service and workload
    /// (`NO_BUCKET` if it has none).
    buckets: Vec<TokenBucket>,
    service_bucket: Vec<u32>,
    workload_bucket: Vec<u32>,
    /// Some workload has a client-side rate limit: decided once, so runs without one do
    /// not look per request.
    client_limits: bool,
    /// Per replica, its adaptive concurrency limit; empty when no service has one.
    concurrency: Vec<u32>,
    /// Some workload is sheddable: only then do calls look up their caller's priority.
    priorities: bool,
    /// The autoscalers, and per service the index of its own (`autoscale::NO_AUTOSCALER`).
    autoscalers: Vec<super::autoscaler::Autoscaler>,
    autoscaler_of: Vec<u32>,
    /// Replicas draining now: only then does a change of a replica's load look for the end
    /// of a drain.
    draining: u32,
    /// The entry of `affected` that no fault reports: what a slot without a replica "hit".
    no_fault: u32,
    seed: u64,
    /// Some service has a sidecar: decided once, so runs without one make no mesh decision.
    mesh: bool,
    /// Some service has `[service.admission]` (a rate limit or an adaptive limit): decided
    /// once, so arrivals and finished jobs elsewhere never look at their service's entry.
    admitting: bool,
    /// Some service has versions: decided once, so an attempt to a service without them
    /// never looks at its service's version list.
    versioned: bool,
    /// Per service, its sidecar (`mesh::NO_SIDECAR` if none).
    sidecar_of: Vec<u32>,
    /// Mesh guard base index per endpoint call (`NO_GUARD` if none); empty without sidecars.
    mesh_guard: Vec<Vec<u32>>,
    /// What the model's sites, endpoints and links do not use, decided at build.
    plain: plain::Plain,
    /// Some pool keeps its replicas' loads (`least-outstanding`): decided at build, so a
    /// change of a replica's load elsewhere costs one test (with `draining`).
    load_watched: bool,
    /// Which path attempts took (tests only: the plain path must really be taken).
    #[cfg(test)]
    paths: PathCounts,
    /// Set only by `meshsim trace`: records one request's spans.
    pub(super) tracer: Option<Box<Tracer>>,
    /// Set only by `meshsim trace --slowest/--failed`: finds which request to trace.
    pub(super) finder: Option<Finder>,
}

/// Sizes of the run's records, for the memory estimate (`engine::footprint`). A slab slot
/// is the value, its generation, and its index on the free list.
pub(super) use versions::VERSION_BYTES;
pub(super) const REPLICA_BYTES: u64 = std::mem::size_of::<Replica>() as u64;
pub(super) const JOB_BYTES: u64 = (std::mem::size_of::<Option<Job>>() + 8) as u64;
pub(super) const CALL_BYTES: u64 = (std::mem::size_of::<Option<PendingCall>>() + 8) as u64;
/// A heap entry: the event, its time and its sequence number.
pub(in crate::engine) use timeouts::timeout_durations;

pub(super) const PENDING_EVENT_BYTES: u64 = (std::mem::size_of::<Event>() + 16) as u64;
/// An endpoint's accounts without its histogram, and its rows in the per-endpoint tables.
pub(super) const ENDPOINT_BYTES: u64 = 256;

/// The run's streams, the plain path's work and link plans beside them.
fn streams(model: &Model, seed: u64) -> Streams {
    let plain = plain::Draws::of(model);
    let named =
        |names: Vec<String>| -> Vec<Stream> { names.iter().map(|n| stream(seed, n)).collect() };
    let endpoints: Vec<String> = (0..model.endpoints.len())
        .map(|e| model.endpoint_name(EndpointId(e as u32)))
        .collect();
    let links: Vec<String> = (0..model.links.len())
        .map(|l| model.link_name(LinkId(l as u32)))
        .collect();
    Streams {
        workload: named(
            model
                .workloads
                .iter()
                .map(|w| format!("workload/{}", w.name))
                .collect(),
        ),
        work: drawn(
            plain.work,
            named(
                endpoints
                    .iter()
                    .map(|e| format!("endpoint/{e}/work"))
                    .collect(),
            ),
        ),
        fail: named(
            endpoints
                .iter()
                .map(|e| format!("endpoint/{e}/fail"))
                .collect(),
        ),
        link_latency: drawn(
            plain.links,
            named(links.iter().map(|l| format!("link/{l}/latency")).collect()),
        ),
        link_loss: named(links.iter().map(|l| format!("link/{l}/loss")).collect()),
        lb: named(
            model
                .services
                .iter()
                .map(|s| format!("service/{}/lb", s.name))
                .collect(),
        ),
        jitter: named(
            endpoints
                .iter()
                .map(|e| format!("endpoint/{e}/jitter"))
                .chain(
                    model
                        .workloads
                        .iter()
                        .map(|w| format!("workload/{}/jitter", w.name)),
                )
                .chain(model.sidecars.iter().map(|c| {
                    let name = crate::model::sidecar_stream_name(&model.service(c.service).name);
                    format!("{name}/jitter")
                }))
                .collect(),
        ),
        fault: named(
            (0..model.faults.len())
                .map(|i| format!("fault/{i}"))
                .collect(),
        ),
        health: named(
            model
                .services
                .iter()
                .map(|s| format!("service/{}/health", s.name))
                .collect(),
        ),
        chaos: named(
            model
                .chaos
                .iter()
                .flat_map(|c| c.replicas.iter())
                .map(|r| format!("chaos/{}#{}", model.service(r.service).name, r.index))
                .collect(),
        ),
        broker: named(
            model
                .brokers
                .iter()
                .map(|b| format!("broker/{}/latency", b.name))
                .collect(),
        ),
        reject: named(
            model
                .flows
                .iter()
                .map(|f| format!("flow/{}/reject", f.name))
                .collect(),
        ),
        keys: named(
            model
                .queues
                .iter()
                .map(|q| format!("queue/{}/keys", q.name))
                .chain(
                    model
                        .topics
                        .iter()
                        .map(|t| format!("topic/{}/keys", t.name)),
                )
                .collect(),
        ),
        route: named(route_names(model, &endpoints)),
        protocol: named(
            model
                .protocols
                .iter()
                .map(|p| format!("protocol/{}", p.name))
                .collect(),
        ),
        sidecar: named(
            model
                .sidecars
                .iter()
                .map(|c| crate::model::sidecar_stream_name(&model.service(c.service).name))
                .collect(),
        ),
    }
}

/// The stream names of the routed call sites, in the order of their `Route::stream`.
fn route_names(model: &Model, endpoints: &[String]) -> Vec<String> {
    let mut names = Vec::with_capacity(model.routes as usize);
    for (e, ep) in model.endpoints.iter().enumerate() {
        for (i, c) in ep.calls.iter().enumerate() {
            if c.route.is_some() {
                names.push(crate::model::route_stream_name(&endpoints[e], i));
            }
        }
    }
    names
}

impl<'m> World<'m> {
    pub fn new(model: &'m Model, seed: u64) -> World<'m> {
        let marks = Marks::of(model);
        let end_of_arrivals = marks.end_of_arrivals;
        let horizon = end_of_arrivals + model.drain;
        let mut replica_base = Vec::with_capacity(model.services.len());
        let mut replicas = Vec::with_capacity(model.replica_count());
        let mut balancers = Vec::with_capacity(model.services.len());
        let mut version_pools = Vec::new();
        for (i, s) in model.services.iter().enumerate() {
            let first = replicas.len() as u32;
            replica_base.push(first);
            balancers.push(balancer::Balancer::new(s, first, s.base_replicas()));
            let pools = std::iter::once((i as u32, s.base_replicas(), s.workers, s.queue));
            let services = model.services.len() as u32;
            let versions = s.versions.iter().map(|v| {
                let pool = services + version_pools.len() as u32;
                version_pools.push(balancer::Balancer::new(s, first + v.first, v.replicas));
                (pool, v.replicas, v.workers, v.queue)
            });
            let pools: Vec<_> = pools.chain(versions).collect();
            for (pool, n, workers, queue_cap) in pools {
                for _ in 0..n {
                    replicas.push(Replica {
                        service: ServiceId(i as u32),
                        pool,
                        workers,
                        queue_cap,
                        busy: 0,
                        outstanding: 0,
                        queue: fifo::Fifo::new(),
                        crashes: 0,
                        epoch: 0,
                        down_by: 0,
                        slow_factor: 1.0,
                        slow_faults: Vec::new(),
                        pooled: true,
                        draining: false,
                    });
                }
            }
        }
        balancers.extend(version_pools);
        let (call_guard, workload_guard, mut guards) = guards(model);
        let mesh_guard = mesh::mesh_guards(model, &mut guards);
        let (buckets, service_bucket, workload_bucket) = admission::buckets(model);
        let chaos_targets = model.chaos.as_ref().map_or(0, |c| c.targets.len());
        let (autoscalers, autoscaler_of) = autoscale::autoscalers(model, &marks);
        let mut q = EventQueue::new();
        let timeout_lanes = timeouts::timeout_lanes(model, &mut q);
        let plain = plain::Plain::of(model);
        let mut world = World {
            model,
            q,
            timeout_lanes,
            skip_stale: true,
            end_of_arrivals,
            horizon,
            warmup: marks.warmup,
            replica_base,
            replicas,
            balancers,
            versions: versions::Versions::new(model, seed),
            jobs: Slab::new(),
            calls: Slab::new(),
            brokers: Brokers::new(model, &marks),
            origins: Slab::new(),
            copies: Slab::new(),
            instances: Slab::new(),
            flow_accs: model.flows.iter().map(|_| FlowAcc::new()).collect(),
            flow_entry: super::flows::entries(model),
            flow_call_steps: super::flows::call_steps(model),
            flow_timers: 0,
            rng: streams(model, seed),
            next_gap: model.workloads.iter().map(NextGap::of).collect(),
            call_guard,
            workload_guard,
            guards,
            transitions_room: super::guard::MAX_BREAKER_TRANSITIONS,
            error_faults: vec![Vec::new(); model.services.len()],
            link_faults: vec![Vec::new(); model.links.len()],
            affected: vec![0; model.faults.len() + chaos_targets + 1],
            chaos_crashes: vec![0; chaos_targets],
            chaos_target: faults::chaos_targets(model),
            levels: model
                .services
                .iter()
                .map(|_| ServiceLevels::new(&marks))
                .collect(),
            stats: Stats::new(model, marks.buckets),
            marks,
            stop: None,
            requests_sent: 0,
            users: vec![(0, 0); model.workloads.len()],
            last_arrival_s: vec![0.0; model.workloads.len()],
            client_limits: workload_bucket.iter().any(|&b| b != admission::NO_BUCKET),
            priorities: model
                .workloads
                .iter()
                .any(|w| w.priority == crate::model::Priority::Sheddable),
            concurrency: admission::concurrency_limits(model),
            mesh: !model.sidecars.is_empty(),
            admitting: model.services.iter().any(|s| s.admission.is_some()),
            versioned: model.services.iter().any(|s| !s.versions.is_empty()),
            sidecar_of: mesh::sidecar_index(model),
            mesh_guard,
            buckets,
            service_bucket,
            workload_bucket,
            autoscalers,
            autoscaler_of,
            draining: 0,
            no_fault: (model.faults.len() + chaos_targets) as u32,
            seed,
            plain,
            load_watched: false,
            #[cfg(test)]
            paths: PathCounts::default(),
            tracer: None,
            finder: None,
        };
        world.load_watched = world.balancers.iter().any(|b| b.watches_load());
        world.plain.targets = plain::targets(model, &world.replica_base);
        world.autoscale_init();
        world
    }

    /// Runs to the end of the drain period, or until a limit stops the run.
    pub fn run(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<(), RunError> {
        self.start();
        // Decided once: a model without timeouts runs the loop that never looks at lanes.
        match (self.q.has_lanes(), self.skip_stale) {
            (true, true) => self.run_events::<true, true>(progress)?,
            (true, false) => self.run_events::<true, false>(progress)?,
            (false, _) => self.run_events::<false, false>(progress)?,
        }
        let end = self.q.now().max(self.end_of_arrivals);
        for l in &mut self.levels {
            l.advance(end, &self.marks);
        }
        for a in &mut self.autoscalers {
            a.update_levels(end, &self.marks);
        }
        Ok(())
    }

    /// The event loop, for a queue with timer lanes (`LANES`) or without, dropping cancelled
    /// timeouts in the kernel (`SKIP`) or handing them to `time_out`.
    #[inline(always)]
    fn run_events<const LANES: bool, const SKIP: bool>(
        &mut self,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(), RunError> {
        let max_events = self.model.limits.max_events;
        let max_pending = super::footprint::pending_limit(self.model, self.brokers.channels.len());
        let skip_before = self.end_of_arrivals.min(self.horizon);
        // The popped count at which the loop next acts on the count (a progress report every
        // 65,536 events, `max_events`): one comparison per event for both, and the count
        // below which a cancelled timeout may be dropped unseen.
        let mut next_check = self.q.popped();
        loop {
            // Where the next event waits is decided once, here, and handed to `pop_next`.
            let next = if SKIP {
                self.peek_skipping_stale(next_check, skip_before)
            } else {
                self.q.peek_in::<LANES>()
            };
            let Some(next) = next else {
                break;
            };
            if next.time > self.horizon {
                break;
            }
            if self.q.popped() >= next_check {
                next_check = self.count_check(progress, max_events)?;
            }
            let event = self.q.pop_next::<LANES>(next);
            self.handle(event);
            // Read first, taken only when set: `take` writes the whole `Option` back each time.
            if self.stop.is_some() {
                return Err(self.stop.take().expect("just checked"));
            }
            if self.q.len() as u64 + self.brokers.deadline_entries > max_pending {
                return Err(RunError::TooManyPending {
                    limit: max_pending,
                    at_s: self.q.now().to_string(),
                });
            }
            // Arrivals have stopped and nothing is in flight: what remains in the queue is
            // stale (timeouts of calls that were answered) or faults nobody will notice, so
            // the run is over. (Orphans, jobs whose caller gave up, still count: their
            // replicas are busy with them.)
            if self.calls.live() == 0
                && self.jobs.live() == 0
                && self.q.now() >= self.end_of_arrivals
                && self.brokers.dispatched == 0
                && self.flow_timers == 0
                && !self.brokers.consumable_waiting()
            {
                break;
            }
        }
        Ok(())
    }

    /// What the loop does when the popped count reaches its next check: a progress report at
    /// every multiple of 65,536 events, the `max_events` stop; and the count of the check
    /// after (above the count now, so the event about to be popped is never checked twice).
    #[cold]
    #[inline(never)]
    fn count_check(
        &mut self,
        progress: &mut dyn FnMut(Progress),
        max_events: u64,
    ) -> Result<u64, RunError> {
        let popped = self.q.popped();
        if popped & PROGRESS_EVERY_MASK == 0 {
            progress(Progress {
                now: self.q.now(),
                horizon: self.horizon,
                events: popped,
            });
        }
        if popped >= max_events {
            return Err(RunError::TooManyEvents {
                limit: max_events,
                at_s: self.q.now().to_string(),
            });
        }
        Ok(((popped | PROGRESS_EVERY_MASK) + 1).min(max_events))
    }

    fn start(&mut self) {
        for (i, w) in self.model.workloads.iter().enumerate() {
            let id = WorkloadId(i as u32);
            match &w.arrival {
                // `rate = 0`: the workload is switched off and sends nothing (a what-if).
                Arrival::Open { rate_per_s, .. } if *rate_per_s <= 0.0 => {}
                Arrival::Open { .. } | Arrival::Varying { .. } => {
                    if let Some(at) = self.next_arrival(id, SimTime::ZERO) {
                        self.schedule_arrival(id, at);
                    }
                }
                Arrival::Closed { users, think } => {
                    for _ in 0..*users {
                        let t = think.sample(&mut self.rng.workload[i]);
                        self.q.schedule(t, Event::UserSend(id));
                    }
                }
                Arrival::ClosedVarying { .. } => self.users_change(id),
            }
        }
        self.schedule_faults();
        self.schedule_rollouts();
        self.schedule_autoscalers();
    }

    /// One event to its handler: a bare dispatch, every arm a call of its own (the two that
    /// would inline a body, an open arrival and a request's arrival, go through out-of-line
    /// wrappers), so `handle` saves no registers and ends in a jump to the handler. The
    /// events of a request's life come first; the rest go through `handle_rest`, out of
    /// line, so that no arm inlined there makes `handle` save registers for every event.
    /// Inlined into the run loop, so the dispatch is the loop's own jump table.
    #[inline(always)]
    fn handle(&mut self, event: Event) {
        match event {
            Event::OpenArrival(w) => self.open_arrival(w),
            Event::UserSend(w) => self.user_send(w),
            Event::RequestArrive(job) => self.request_arrive(job),
            Event::WorkDone(job) => self.work_done(job),
            Event::Reply(call, outcome) => self.attempt_done(call, outcome, false),
            Event::Timeout(call) => self.time_out(call),
            event => self.handle_rest(event),
        }
    }

    /// Every event but those `handle` dispatches itself.
    #[inline(never)]
    fn handle_rest(&mut self, event: Event) {
        match event {
            Event::UsersChange(w) => self.users_change(w),
            Event::Retry(call) => self.send_attempt(call),
            Event::FaultStart(i) => self.fault_start(i),
            Event::FaultEnd(i) => self.fault_end(i),
            Event::ChaosCrash(k) => self.chaos_crash(k),
            Event::ChaosRestart(k) => self.chaos_restart(k),
            Event::HealthCheck(s) => self.health_check(s),
            Event::PublishArrive(job, k) => self.publish_arrive(job, k),
            Event::PublishDone(job, k, outcome) => self.publish_done(job, k, outcome),
            Event::ViaArrive(call, queue) => self.via_arrive(call, queue),
            Event::MessageAck(copy, ok) => self.message_ack(copy, ok),
            Event::VisibilityCheck(ch) => self.visibility_check(ch),
            Event::FlowResume(h) => {
                self.flow_timers -= 1;
                self.flow_resume(h);
            }
            Event::FlowCommand(h, code) => {
                self.flow_timers -= 1;
                self.flow_command(h, code);
            }
            Event::VersionStep(k) => self.version_step(k),
            Event::Autoscale(s) => self.autoscale_tick(s),
            Event::Provisioned(r, generation) => self.provisioned(r, generation),
            Event::OpenArrival(_)
            | Event::UserSend(_)
            | Event::RequestArrive(_)
            | Event::WorkDone(_)
            | Event::Reply(..)
            | Event::Timeout(_) => unreachable!("dispatched by `handle`"),
        }
    }

    /// A closed-loop user has finished thinking: its request goes out, unless arrivals
    /// are over or a user schedule wants one user fewer. Out of line (see `handle`).
    #[inline(never)]
    fn user_send(&mut self, w: WorkloadId) {
        if self.q.now() < self.end_of_arrivals && self.user_stays(w) {
            self.send_request(w);
        }
    }

    /// An open-loop workload's request goes out, and its next arrival is scheduled.
    #[inline(never)]
    fn open_arrival(&mut self, w: WorkloadId) {
        self.send_request(w);
        if let Some(at) = self.next_arrival(w, self.q.now()) {
            self.schedule_arrival(w, at);
        }
    }

    /// A request's hop event: `arrive`, inlined here rather than into `handle`.
    #[inline(never)]
    fn request_arrive(&mut self, job: Handle) {
        self.arrive(job);
    }

    /// An open-loop workload's next arrival after `after`, or `None` when its rate is 0 from
    /// then on. Always inlined into `handle` (once per open arrival): a call of its own cost
    /// ~19 instructions per customer in saved registers; schedules stay out of line.
    #[inline(always)]
    fn next_arrival(&mut self, w: WorkloadId, after: SimTime) -> Option<SimTime> {
        let i = w.0 as usize;
        match self.next_gap[i] {
            // Exponential gaps (ziggurat sampling: no logarithm on the common path), drawn
            // as `Dist::sample` draws them, without deciding the distribution again.
            NextGap::Poisson(exp) => Some(after + Dist::exp_draw(&exp, &mut self.rng.workload[i])),
            NextGap::Fixed(gap) => Some(after + gap),
            NextGap::Varying => self.next_varying_arrival(i),
            NextGap::Closed | NextGap::None => None,
        }
    }

    /// Whether workload `w` is a closed loop (its users think, then send again), from the
    /// value decided at build rather than the model's enum.
    #[inline]
    fn is_closed_loop(&self, w: WorkloadId) -> bool {
        matches!(self.next_gap[w.0 as usize], NextGap::Closed)
    }

    /// The next arrival of a workload with a rate schedule: out of line, so that a constant
    /// rate's arrival (the common case) pays nothing for schedules.
    #[cold]
    #[inline(never)]
    fn next_varying_arrival(&mut self, i: usize) -> Option<SimTime> {
        let Arrival::Varying { curve, poisson } = &self.model.workloads[i].arrival else {
            return None;
        };
        // Inversion of the integrated rate: one unit exponential per arrival (or exactly 1
        // for constant arrivals), see `rate`.
        let mass = if *poisson {
            rand_distr::Distribution::sample(&rand_distr::Exp1, &mut self.rng.workload[i])
        } else {
            1.0
        };
        let at_s = curve.advance(self.last_arrival_s[i], mass)?;
        self.last_arrival_s[i] = at_s;
        Some(SimTime::ZERO + SimDuration::from_nanos_f64(at_s * 1e9))
    }

    /// A closed loop with a user schedule: users join when the wanted count rises (each starts
    /// with a think time, like the first ones); when it falls, the next users to send leave
    /// instead. Then the next change is scheduled.
    fn users_change(&mut self, w: WorkloadId) {
        let i = w.0 as usize;
        let Arrival::ClosedVarying { users, think } = &self.model.workloads[i].arrival else {
            return;
        };
        let now = self.q.now();
        let wanted = users.users_at(now.as_secs_f64());
        let (alive, _) = self.users[i];
        for _ in alive..wanted {
            let t = think.sample(&mut self.rng.workload[i]);
            self.q.schedule(t, Event::UserSend(w));
        }
        self.users[i] = (alive.max(wanted), wanted);
        if let Some(at_s) = users.next_change(now.as_secs_f64()) {
            // At least a nanosecond later, so that rounding can never repeat this event.
            let at = SimTime::ZERO + SimDuration::from_nanos_f64((at_s * 1e9).ceil());
            let at = at.max(now + SimDuration::from_nanos(1));
            if at < self.end_of_arrivals {
                self.q.schedule_at(at, Event::UsersChange(w));
            }
        }
    }

    /// Whether a closed-loop user about to send stays (a user schedule may want fewer).
    fn user_stays(&mut self, w: WorkloadId) -> bool {
        let i = w.0 as usize;
        if !matches!(
            self.model.workloads[i].arrival,
            Arrival::ClosedVarying { .. }
        ) {
            return true;
        }
        let (alive, wanted) = &mut self.users[i];
        if *alive > *wanted {
            *alive -= 1;
            return false;
        }
        true
    }

    fn schedule_arrival(&mut self, w: WorkloadId, at: SimTime) {
        if at < self.end_of_arrivals {
            self.q.schedule_at(at, Event::OpenArrival(w));
        }
    }

    /// A client request of workload `w` goes out. Inlined into its two callers (an open
    /// arrival, a closed-loop user's send) with `start_call`'s body inlined too (one source,
    /// `start_call_inline`, compiled into each), so a request sent is one function: no saved
    /// registers for a call of its own, and the tests of what kind of caller and call site it
    /// is decided by the compiler.
    #[inline(always)]
    fn send_request(&mut self, w: WorkloadId) {
        let now = self.q.now();
        if now >= self.warmup {
            self.stats.request_sent(w, now);
        }
        self.requests_sent += 1;
        self.start_call_inline(Caller::Client(w), CallRef::Workload(w));
    }

    /// A job was just created: requests at replicas (including those whose caller gave
    /// up, and message deliveries) count toward `scenario.max_in_flight`, so a flood of
    /// abandoned work stops the run instead of filling memory.
    #[inline]
    fn job_added(&mut self) {
        if self.jobs.live() > self.model.limits.max_in_flight {
            self.stop_in_flight();
        }
    }

    /// Whether a table holding `live` entries (calls, message copies), bounded by
    /// `scenario.max_in_flight`, is full: then the run stops (`TooManyInFlight`) instead of
    /// adding one more, and the caller adds nothing.
    #[inline]
    fn over_in_flight(&mut self, live: u32) -> bool {
        let full = live >= self.model.limits.max_in_flight;
        if full {
            self.stop_in_flight();
        }
        full
    }

    /// Stops the run at `scenario.max_in_flight`, now. Out of line: a run pays for it once.
    #[cold]
    #[inline(never)]
    fn stop_in_flight(&mut self) {
        self.stop = Some(RunError::TooManyInFlight {
            limit: self.model.limits.max_in_flight,
            at_s: self.q.now().to_string(),
        });
    }

    pub fn now(&self) -> SimTime {
        self.q.now()
    }

    pub fn events(&self) -> u64 {
        self.q.popped()
    }

    pub(super) fn levels(&self) -> (&[ServiceLevels], &Marks) {
        (&self.levels, &self.marks)
    }

    pub(super) fn messages(&mut self) -> crate::results::MessageStats {
        self.message_results()
    }

    pub(super) fn flows(&mut self) -> Vec<crate::results::FlowStats> {
        self.flow_results()
    }

    /// What every fault hit, in `RunResults::faults` order.
    pub(super) fn fault_results(&self) -> Vec<FaultStats> {
        let end = self.q.now().max(self.end_of_arrivals);
        let mut out: Vec<FaultStats> = self
            .model
            .faults
            .iter()
            .zip(&self.affected)
            .map(|(f, &affected)| FaultStats {
                kind: f.kind.name().to_string(),
                target: f.target.clone(),
                at: f.at,
                duration: f.duration,
                affected,
                crashes: 0,
            })
            .collect();
        if let Some(c) = &self.model.chaos {
            for (t, target) in c.targets.iter().enumerate() {
                out.push(FaultStats {
                    kind: "chaos".to_string(),
                    target: target.clone(),
                    at: SimDuration::ZERO,
                    duration: Some(end.since(SimTime::ZERO)),
                    affected: self.affected[self.model.faults.len() + t],
                    crashes: self.chaos_crashes[t],
                });
            }
        }
        out
    }

    /// Every breaker that changed state, by call site, then caller replica.
    pub(super) fn breaker_results(&self) -> Vec<BreakerStats> {
        let model = self.model;
        let mut out = Vec::new();
        let mut push = |g: u32, site: String, owner: String| {
            if let Some(b) = self.guards.get(g as usize).and_then(|g| g.breaker.as_ref())
                && (!b.transitions.is_empty() || b.opened > 0)
            {
                out.push(BreakerStats {
                    site,
                    owner,
                    opened: b.opened,
                    transitions: b.transitions.clone(),
                });
            }
        };
        // The applications' breakers, then the sidecars' (`(sidecar)` after the site).
        for (table, suffix) in [(&self.call_guard, ""), (&self.mesh_guard, " (sidecar)")] {
            for (e, bases) in table.iter().enumerate() {
                let ep = &model.endpoints[e];
                let svc = model.service(ep.service);
                for (i, &base) in bases.iter().enumerate() {
                    if base == NO_GUARD {
                        continue;
                    }
                    let site = format!(
                        "{} -> {}{suffix}",
                        model.endpoint_name(EndpointId(e as u32)),
                        model.endpoint_name(ep.call(i as u16).to)
                    );
                    for r in 0..svc.replicas {
                        push(base + r, site.clone(), format!("{}#{r}", svc.name));
                    }
                }
            }
        }
        for (w, &base) in self.workload_guard.iter().enumerate() {
            if base != NO_GUARD {
                let wl = &model.workloads[w];
                let site = format!("client:{} -> {}", wl.name, model.endpoint_name(wl.call.to));
                push(base, site, format!("client:{}", wl.name));
            }
        }
        out
    }
}

/// Assigns guard state to every call site with a breaker, a bulkhead or a retry budget: one
/// per caller replica (endpoint calls) or one per workload (client calls).
fn guards(model: &Model) -> (Vec<Vec<u32>>, Vec<u32>, Vec<Guard>) {
    let mut guards = Vec::new();
    let needs = |c: &crate::model::Call| {
        let r = &c.resilience;
        r.breaker.is_some() || r.bulkhead.is_some() || r.retry.budget.is_some()
    };
    let call_guard = model
        .endpoints
        .iter()
        .map(|ep| {
            let owners = model.service(ep.service).replicas;
            ep.all_calls()
                .map(|c| {
                    if !needs(c) {
                        return NO_GUARD;
                    }
                    let base = guards.len() as u32;
                    for _ in 0..owners {
                        guards.push(Guard::new(c.resilience.breaker.as_ref()));
                    }
                    base
                })
                .collect()
        })
        .collect();
    let workload_guard = model
        .workloads
        .iter()
        .map(|w| {
            if !needs(&w.call) {
                return NO_GUARD;
            }
            guards.push(Guard::new(w.call.resilience.breaker.as_ref()));
            guards.len() as u32 - 1
        })
        .collect();
    (call_guard, workload_guard, guards)
}

/// How a workload's next arrival is drawn, from its `Arrival` at model build.
#[derive(Clone, Copy, Debug)]
pub(in crate::engine) enum NextGap {
    /// Open loop, exponential gaps of mean 1 / rate (a positive mean in whole nanoseconds).
    Poisson(rand_distr::Exp<f64>),
    /// Open loop, constant gaps of 1 / rate.
    Fixed(SimDuration),
    /// A rate schedule: `next_varying_arrival`.
    Varying,
    /// A closed loop: its users send after a think time, never on a schedule of arrivals.
    Closed,
    /// A rate of 0: no arrivals at all.
    None,
}

impl NextGap {
    fn of(w: &crate::model::Workload) -> NextGap {
        match w.arrival {
            Arrival::Open { rate_per_s, .. } if rate_per_s <= 0.0 => NextGap::None,
            // The exponential `Dist::exp` makes of the mean; one whose mean rounds to 0 ns
            // draws nothing and gives 0 (`Dist::sample`), as a fixed gap of 0 does.
            Arrival::Open {
                rate_per_s,
                poisson: true,
                ..
            } => match Dist::exp(SimDuration::from_nanos_f64(1e9 / rate_per_s)).nonzero_exp() {
                Some(exp) => NextGap::Poisson(exp),
                None => NextGap::Fixed(SimDuration::ZERO),
            },
            Arrival::Open { rate_per_s, .. } => {
                NextGap::Fixed(SimDuration::from_nanos_f64(1e9 / rate_per_s))
            }
            Arrival::Varying { .. } => NextGap::Varying,
            Arrival::Closed { .. } | Arrival::ClosedVarying { .. } => NextGap::Closed,
        }
    }
}

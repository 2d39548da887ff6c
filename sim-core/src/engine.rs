//! Runs a model: the World and its event loop.

mod autoscaler;
mod bit_index;
mod broker;
mod flows;
pub mod footprint;
mod guard;
mod levels;
mod min_tree;
mod slab;
mod stats;
mod token_bucket;
mod up_set;
mod world;

use std::fmt;

use crate::model::Model;
use crate::results::RunResults;
use crate::time::SimDuration;
use crate::trace::{Trace, TraceTarget};
use world::{Finder, Tracer, World};

pub use world::{Event, Progress};

/// Why a run stopped before its end: a budget from [`crate::model::Limits`] was hit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// More events than `scenario.max_events`.
    TooManyEvents { limit: u64, at_s: String },
    /// More requests and calls (or more messages) in flight than `scenario.max_in_flight`.
    /// Requests at replicas count until they leave, even after their caller gave up.
    TooManyInFlight { limit: u32, at_s: String },
    /// More pending events (timers of calls, retries, deliveries and replies) than
    /// `limit`, a multiple of `scenario.max_in_flight`: timeouts of answered calls wait in
    /// the event queue until they fire, so a high rate with long timeouts grows it.
    TooManyPending { limit: u64, at_s: String },
    /// The model would need more memory than `scenario.max_memory`, by the estimate made
    /// before anything was allocated: the run did not start.
    TooMuchMemory {
        estimate_bytes: u64,
        limit_bytes: u64,
        /// The three largest parts of the estimate, largest first: (what, bytes).
        largest: Vec<(String, u64)>,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::TooManyEvents { limit, at_s } => write!(
                f,
                "run stopped at t={at_s}: it handled {limit} events, the limit \
                 scenario.max_events; raise it with --set scenario.max_events=N if the run is \
                 meant to be this long"
            ),
            RunError::TooManyInFlight { limit, at_s } => write!(
                f,
                "run stopped at t={at_s}: {limit} requests and calls (or {limit} messages) were \
                 in flight at once, the limit scenario.max_in_flight (a request counts until a \
                 replica is done with it, even after its caller gave up); the system is \
                 overloaded (arrivals outpace service, retries amplify load, or a queue fills \
                 faster than its consumers drain it). Raise it with --set \
                 scenario.max_in_flight=N if that is intended"
            ),
            RunError::TooManyPending { limit, at_s } => write!(
                f,
                "run stopped at t={at_s}: {limit} events (timeouts, retries, deliveries, \
                 replies) were pending at once, {PENDING_PER_IN_FLIGHT} x \
                 scenario.max_in_flight: the timeouts of answered calls wait until they fire, \
                 so a high rate with long timeouts holds many. Raise it with --set \
                 scenario.max_in_flight=N if that is intended"
            ),
            RunError::TooMuchMemory {
                estimate_bytes,
                limit_bytes,
                largest,
            } => {
                let show = footprint::show_bytes;
                write!(
                    f,
                    "run refused before it started: the model needs an estimated {} of memory, \
                     over scenario.max_memory = {}. The largest parts:",
                    show(*estimate_bytes),
                    show(*limit_bytes)
                )?;
                for (what, bytes) in largest {
                    write!(f, " {what}: {};", show(*bytes))?;
                }
                // The smallest whole number of GiB that would fit.
                let gib = estimate_bytes.div_ceil(1 << 30).max(1);
                write!(
                    f,
                    " make the model smaller, or raise the limit with --set \
                     scenario.max_memory=\"{gib}GiB\" if the machine has the memory"
                )
            }
        }
    }
}

impl std::error::Error for RunError {}

/// Refuses a model whose estimated memory exceeds `scenario.max_memory`.
pub fn check_memory(model: &Model) -> Result<footprint::Footprint, RunError> {
    check_memory_of(footprint::estimate(model), model)
}

fn check_memory_of(
    estimate: footprint::Footprint,
    model: &Model,
) -> Result<footprint::Footprint, RunError> {
    let total = estimate.total_bytes();
    if total > model.limits.max_memory_bytes {
        return Err(RunError::TooMuchMemory {
            estimate_bytes: total,
            limit_bytes: model.limits.max_memory_bytes,
            largest: estimate
                .parts
                .iter()
                .take(3)
                .map(|p| (p.what.clone(), p.bytes))
                .collect(),
        });
    }
    Ok(estimate)
}

/// Pending events allowed per unit of `scenario.max_in_flight`: every call, job and message
/// copy holds a few events, and answered calls leave their timeout behind.
pub const PENDING_PER_IN_FLIGHT: u64 = 4;

/// Runs `model` with master seed `seed` to the end of its drain period.
pub fn run(model: &Model, seed: u64) -> Result<RunResults, RunError> {
    run_with_progress(model, seed, &mut |_| {})
}

/// [`run`], calling `progress` every 65,536 events, so a caller can draw a progress bar.
/// The callback sees only the clock; it cannot change the run.
pub fn run_with_progress(
    model: &Model,
    seed: u64,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunResults, RunError> {
    check_memory(model)?;
    let mut world = World::new(model, seed);
    world.run(progress)?;
    world.count_abandoned_left();
    let sim_time = world.now();
    let events = world.events();
    let faults = world.fault_results();
    let breakers = world.breaker_results();
    let messages = world.messages();
    let flows = world.flows();
    let (levels, marks) = world.levels();
    let means: Vec<[f64; 3]> = levels.iter().map(|l| l.window_means(marks)).collect();
    let buckets: Vec<Vec<f64>> = levels
        .iter()
        .map(|l| l.in_system_per_bucket(marks))
        .collect();
    let runs = world.version_runs();
    let stats = &mut world.stats;
    let workloads = stats.workload_results(model);
    let versions = stats.version_results(model, &runs);
    let endpoints = stats.endpoint_results(model);
    let mut services = stats.service_results(model, &means, buckets);
    for (s, v) in services.iter_mut().zip(versions) {
        s.versions = v;
    }
    let sent: u64 = workloads.iter().map(|w| w.sent).sum();
    let mut calls = stats.calls.clone();
    calls.service_attempts = stats.service_call_attempts;
    calls.amplification = if sent == 0 {
        0.0
    } else {
        calls.attempts as f64 / sent as f64
    };
    world.autoscale_results(&mut services);
    Ok(RunResults {
        scenario: model.name.clone(),
        seed,
        sim_time,
        events,
        warmup: model.warmup,
        duration: model.duration,
        bucket: model.bucket,
        workloads,
        endpoints,
        services,
        calls,
        faults,
        breakers,
        messages,
        flows,
    })
}

/// Re-runs `model` with `seed` and records the life of one client request as spans.
///
/// `--slowest` and `--failed` need to know which request that is: a first run finds it,
/// and a second, identical run records it (runs are deterministic, so both see the same
/// requests). `None` when no request matches (no failure in the run, K past the last one).
pub fn trace(model: &Model, seed: u64, target: TraceTarget) -> Result<Option<Trace>, RunError> {
    check_memory_of(footprint::estimate_traced(model), model)?;
    let mut flow_instance = None;
    let index = match target {
        TraceTarget::Request(k) => match k.checked_sub(1) {
            Some(i) => i,
            None => return Ok(None),
        },
        _ => {
            let mut world = World::new(model, seed);
            let mut finder = Finder::default();
            if let TraceTarget::FlowInstance(k) = target {
                finder.instance_wanted = Some(k);
            }
            world.finder = Some(finder);
            world.run(&mut |_| {})?;
            let finder = world.finder.take().unwrap_or_default();
            let found = match target {
                TraceTarget::Slowest => finder.slowest.map(|(_, i)| i),
                TraceTarget::Failed => finder.first_failed,
                TraceTarget::FlowInstance(_) => finder.instance.map(|(_, i)| i),
                _ => finder.inconsistent.map(|(_, i)| i),
            };
            flow_instance = match target {
                TraceTarget::FlowInstance(_) => finder.instance.map(|(n, _)| n),
                TraceTarget::Inconsistent => finder.inconsistent.map(|(n, _)| n),
                _ => None,
            };
            match found {
                Some(i) => i,
                None => return Ok(None),
            }
        }
    };
    let mut world = World::new(model, seed);
    world.tracer = Some(Box::new(Tracer::new(index)));
    world.run(&mut |_| {})?;
    let tracer = world.tracer.take().expect("tracer set");
    let Some(end) = tracer.end else {
        // Never sent (K too large), or still in flight when the run stopped.
        if tracer.spans.is_empty() {
            return Ok(None);
        }
        let start = tracer
            .spans
            .iter()
            .map(|s| s.start)
            .min()
            .unwrap_or_default();
        return Ok(Some(Trace {
            scenario: model.name.clone(),
            seed,
            request: index + 1,
            flow_instance,
            workload: String::new(),
            outcome: "in flight".to_string(),
            start,
            latency: SimDuration::ZERO,
            spans: tracer.spans,
            truncated: tracer.truncated,
        }));
    };
    Ok(Some(Trace {
        scenario: model.name.clone(),
        seed,
        request: index + 1,
        flow_instance,
        workload: end.workload,
        outcome: end.outcome,
        start: end.start,
        latency: end.end.since(end.start),
        spans: tracer.spans,
        truncated: tracer.truncated,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Dist;
    use crate::model::*;
    use crate::time::SimDuration;

    /// A hand-built M/M/c model: Poisson arrivals at `rate`, `c` workers, exp(mean) work.
    fn mmc(rate: f64, c: u32, mean: SimDuration, secs: u64) -> Model {
        let link = |from, to| Link {
            from,
            to,
            latency: Dist::zero(),
            loss: 0.0,
        };
        Model {
            name: "mmc".into(),
            description: String::new(),
            seed: 1,
            duration: SimDuration::from_secs(secs),
            warmup: SimDuration::from_secs(secs / 20),
            drain: SimDuration::from_secs(30),
            bucket: SimDuration::from_secs(10),
            limits: Limits::default(),
            services: vec![Service {
                name: "server".into(),
                replicas: 1,
                workers: c,
                default_keys: Vec::new(),
                queue: None,
                lb: LbPolicy::RoundRobin,
                health_check: None,
                endpoints: vec![EndpointId(0)],
                admission: None,
                versions: Vec::new(),
                autoscale: None,
            }],
            endpoints: vec![Endpoint {
                name: "serve".into(),
                service: ServiceId(0),
                work: Dist::exp(mean),
                fail: 0.0,
                parallel: false,
                calls: vec![],
                routed: vec![],
                publish: vec![],
                effect: false,
                idempotent: false,
                version_of: None,
            }],
            workloads: vec![Workload {
                name: "load".into(),
                flow: None,
                call: Call {
                    to: EndpointId(0),
                    link: LinkId(0),
                    reply_link: LinkId(1),
                    protocol: Protocol::None,
                    timeout: None,
                    resilience: Default::default(),
                    via: None,
                    route: None,
                    fallback_call: None,
                },
                arrival: Arrival::Open {
                    rate_per_s: rate,
                    poisson: true,
                },
                rate_limit: None,
                priority: Default::default(),
            }],
            links: vec![
                link(Node::Client, Node::Service(ServiceId(0))),
                link(Node::Service(ServiceId(0)), Node::Client),
            ],
            brokers: Vec::new(),
            queues: Vec::new(),
            topics: Vec::new(),
            flows: Vec::new(),
            faults: Vec::new(),
            chaos: None,
            expects: vec![],
            protocols: vec![],
            routes: 0,
            sidecars: vec![],
        }
    }

    #[test]
    fn mm1_mean_sojourn_is_near_theory() {
        // Goal: a smoke check of the engine: M/M/1 at rho = 0.5 has mean sojourn
        // 1/(mu - lambda) = 2 ms for mu = 1000/s, lambda = 500/s. (The precise theory checks
        // live in the integration tests.)
        let m = mmc(500.0, 1, SimDuration::from_millis(1), 200);
        let r = run(&m, 3).unwrap();
        let w = &r.workloads[0];
        assert_eq!(w.in_flight, 0);
        assert_eq!(w.sent, w.ok);
        let mean_ms = w.latency.mean() / 1e6;
        assert!((mean_ms - 2.0).abs() < 0.1, "mean sojourn {mean_ms} ms");
        let u = r.services[0].utilization;
        assert!((u - 0.5).abs() < 0.02, "utilization {u}");
    }

    /// `mmc` whose endpoint only publishes to a queue consumed by `c` workers of exp(mean)
    /// work: the queue is an M/M/c system, the broker's queue its waiting room.
    fn queue_mmc(rate: f64, c: u32, mean: SimDuration, secs: u64) -> Model {
        let mut m = mmc(rate, 1, SimDuration::ZERO, secs);
        m.endpoints[0].work = Dist::zero();
        m.services[0].workers = 1_000;
        m.services.push(Service {
            name: "worker".into(),
            replicas: 1,
            workers: c,
            default_keys: Vec::new(),
            queue: None,
            lb: LbPolicy::RoundRobin,
            health_check: None,
            endpoints: vec![EndpointId(1)],
            admission: None,
            versions: Vec::new(),
            autoscale: None,
        });
        m.endpoints.push(Endpoint {
            name: "handle".into(),
            service: ServiceId(1),
            work: Dist::exp(mean),
            fail: 0.0,
            parallel: false,
            calls: vec![],
            routed: vec![],
            publish: vec![],
            effect: true,
            idempotent: false,
            version_of: None,
        });
        let link = |from, to| Link {
            from,
            to,
            latency: Dist::zero(),
            loss: 0.0,
        };
        let (server, worker, broker) = (
            Node::Service(ServiceId(0)),
            Node::Service(ServiceId(1)),
            Node::Broker(BrokerId(0)),
        );
        m.links.extend([
            link(server, broker),
            link(broker, server),
            link(broker, worker),
            link(worker, broker),
        ]);
        m.endpoints[0].publish.push(Publish {
            to: Destination::Queue(QueueId(0)),
            link: LinkId(2),
            ack_link: LinkId(3),
        });
        m.brokers.push(Broker {
            name: "mq".into(),
            latency: Dist::zero(),
            capacity_per_s: None,
            durable: true,
            publish_timeout: DEFAULT_PUBLISH_TIMEOUT,
        });
        m.queues.push(Queue {
            name: "jobs".into(),
            broker: BrokerId(0),
            role: QueueRole::Declared,
            consumer: Some(Consumer {
                endpoint: EndpointId(1),
                deliver_link: LinkId(4),
                ack_link: LinkId(5),
            }),
            prefetch: 1,
            visibility: DEFAULT_VISIBILITY,
            max_deliveries: None,
            dead_letter: None,
            keys: None,
        });
        m
    }

    #[test]
    fn events_stay_small() {
        // Goal: the heap holds 16-byte events at most (time and sequence make 32 bytes).
        assert!(
            std::mem::size_of::<Event>() <= 16,
            "{}",
            std::mem::size_of::<Event>()
        );
    }

    #[test]
    fn a_queue_with_competing_consumers_waits_like_erlang_c() {
        // Goal: a smoke check that messages flow and balance: every message published is
        // acked by the end, and the mean wait in the queue is near Erlang C for M/M/2 at
        // rho = 0.8 (Wq = 1.778 ms for mu = 1000/s, lambda = 1600/s). The precise checks
        // live in the integration tests.
        let m = queue_mmc(1600.0, 2, SimDuration::from_millis(1), 200);
        let r = run(&m, 5).unwrap();
        let q = &r.messages.queues[0];
        assert!(q.published > 300_000, "{}", q.published);
        assert_eq!(q.published, q.acknowledged);
        assert_eq!(q.queued + q.in_flight + q.redelivered + q.lost, 0);
        let wait_ms = q.wait.mean() / 1e6;
        assert!((wait_ms - 1.778).abs() < 0.1, "wait {wait_ms} ms");
        assert_eq!(r.messages.brokers[0].published, q.published);
    }
}

//! A small hand-built model and run: client -> gateway/checkout -> order/place, with a
//! second workload and one expectation of each kind; and a variant of both with faults, random
//! crashes, a circuit breaker, degraded requests and per-second buckets; and one with a broker,
//! queues and a topic (`messaging`); and one with two flows (`flows`).

mod flows;
mod messaging;

pub use flows::{flow_stats, model_with_flows, results_with_flows};
pub use messaging::{model_with_messaging, results_with_messaging};

use sim_core::dist::Dist;
use sim_core::model::{
    Arrival, Bound, Call, Chaos, Endpoint, EndpointId, Expect, Fault, FaultKind, LbPolicy, Limits,
    Link, LinkId, Model, Node, Protocol, ReplicaRef, Service, ServiceId, Workload,
};
use sim_core::results::{
    BreakerState, BreakerStats, CallStats, Cause, EndpointStats, FailureCounts, FaultStats,
    LatencyCounts, RunResults, ServiceStats, WorkloadBucket, WorkloadStats, new_latency_histogram,
};
use sim_core::{SimDuration, SimTime};

pub fn expect(metric: &str, bound: Bound) -> Expect {
    Expect {
        metric: metric.to_string(),
        bound,
        why: "because".to_string(),
        location: "t.toml:1:1".to_string(),
    }
}

fn link(from: Node, to: Node) -> Link {
    Link {
        from,
        to,
        latency: Dist::zero(),
        loss: 0.0,
    }
}

pub fn model() -> Model {
    let gateway = ServiceId(0);
    let order = ServiceId(1);
    let call = |to: u32, link: u32, protocol, timeout| Call {
        to: EndpointId(to),
        link: LinkId(link),
        reply_link: LinkId(link + 1),
        protocol,
        timeout,
        resilience: Default::default(),
        via: None,
        route: None,
        fallback_call: None,
    };
    Model {
        name: "checkout-sync".to_string(),
        description: "test".to_string(),
        seed: 7,
        duration: SimDuration::from_secs(60),
        warmup: SimDuration::from_secs(10),
        drain: SimDuration::from_secs(30),
        bucket: SimDuration::from_millis(200),
        limits: Limits::default(),
        faults: Vec::new(),
        chaos: None,
        brokers: Vec::new(),
        queues: Vec::new(),
        topics: Vec::new(),
        flows: Vec::new(),
        services: vec![
            Service {
                name: "gateway".to_string(),
                replicas: 2,
                workers: 32,
                default_keys: Vec::new(),
                queue: Some(128),
                lb: LbPolicy::RoundRobin,
                health_check: None,
                endpoints: vec![EndpointId(0)],
                admission: None,
                versions: Vec::new(),
                autoscale: None,
            },
            Service {
                name: "order".to_string(),
                replicas: 1,
                workers: 8,
                default_keys: Vec::new(),
                queue: None,
                lb: LbPolicy::PowerOfTwo,
                health_check: None,
                endpoints: vec![EndpointId(1)],
                admission: None,
                versions: Vec::new(),
                autoscale: None,
            },
        ],
        endpoints: vec![
            Endpoint {
                name: "checkout".to_string(),
                service: gateway,
                work: Dist::exp(SimDuration::from_millis(2)),
                fail: 0.0,
                parallel: false,
                calls: vec![call(1, 2, Protocol::Rest, Some(SimDuration::from_secs(1)))],
                routed: vec![],
                publish: vec![],
                effect: false,
                idempotent: false,
                version_of: None,
            },
            Endpoint {
                name: "place".to_string(),
                service: order,
                work: Dist::Const(SimDuration::from_millis(5)),
                fail: 0.01,
                parallel: false,
                calls: vec![],
                routed: vec![],
                publish: vec![],
                effect: false,
                idempotent: false,
                version_of: None,
            },
        ],
        workloads: vec![
            Workload {
                name: "checkout".to_string(),
                flow: None,
                call: call(0, 0, Protocol::Grpc, Some(SimDuration::from_secs(2))),
                arrival: Arrival::Open {
                    rate_per_s: 200.0,
                    poisson: true,
                },
                rate_limit: None,
                priority: Default::default(),
            },
            Workload {
                name: "browse".to_string(),
                flow: None,
                call: call(0, 0, Protocol::None, None),
                arrival: Arrival::Closed {
                    users: 10,
                    think: Dist::exp(SimDuration::from_secs(1)),
                },
                rate_limit: None,
                priority: Default::default(),
            },
        ],
        links: vec![
            link(Node::Client, Node::Service(gateway)),
            link(Node::Service(gateway), Node::Client),
            link(Node::Service(gateway), Node::Service(order)),
            link(Node::Service(order), Node::Service(gateway)),
        ],
        expects: vec![
            expect("workloads.checkout.failed_by.timeout", Bound::Below(10.0)),
            expect("endpoints.order/place.arrivals", Bound::Above(1000.0)),
            expect("services.gateway.utilization", Bound::Equals(0.5)),
        ],
        protocols: vec![],
        routes: 0,
        sidecars: vec![],
    }
}

pub fn results() -> RunResults {
    let mut latency = new_latency_histogram();
    let mut counts = LatencyCounts::default();
    for ms in 1..=100u64 {
        latency.record(ms * 1_000_000).unwrap();
        counts.record_ns(ms * 1_000_000);
    }
    let mut failed = FailureCounts::default();
    for _ in 0..7 {
        failed.add(Cause::Timeout);
    }
    failed.add(Cause::Error);
    RunResults {
        scenario: "checkout-sync".to_string(),
        seed: 7,
        sim_time: SimTime(60_500_000_000),
        events: 123_456,
        warmup: SimDuration::from_secs(10),
        duration: SimDuration::from_secs(60),
        bucket: SimDuration::from_millis(200),
        faults: Vec::new(),
        breakers: Vec::new(),
        messages: Default::default(),
        flows: Vec::new(),
        workloads: vec![
            WorkloadStats {
                name: "checkout".to_string(),
                sent: 10_000,
                ok: 9_990,
                ok_in_window: 9_990,
                degraded: 0,
                failed,
                in_flight: 2,
                latency: latency.clone(),
                buckets: vec![],
            },
            WorkloadStats {
                name: "browse".to_string(),
                sent: 0,
                ok: 0,
                ok_in_window: 0,
                degraded: 0,
                failed: FailureCounts::default(),
                in_flight: 0,
                latency: new_latency_histogram(),
                buckets: vec![],
            },
        ],
        endpoints: vec![
            EndpointStats {
                name: "gateway/checkout".to_string(),
                arrivals: 10_000,
                completed: 9_998,
                rejected: 0,
                failed: 8,
                abandoned: 0,
                latency: counts.clone(),
            },
            EndpointStats {
                name: "order/place".to_string(),
                arrivals: 9_995,
                completed: 9_993,
                rejected: 0,
                failed: 1,
                abandoned: 0,
                latency: counts,
            },
        ],
        services: vec![
            ServiceStats {
                name: "gateway".to_string(),
                replicas: 2,
                workers: 32,
                default_keys: Vec::new(),
                arrivals: 10_000,
                rejected: 0,
                abandoned: 0,
                rate_limited: 0,
                shed: 0,
                utilization: 0.5,
                mean_in_system: 2.0 / 3.0,
                mean_queued: 0.0,
                in_system_buckets: vec![],
                versions: Vec::new(),
                replicas_max: 2,
                replica_seconds: 0.0,
                scale_events: 0,
                autoscale: None,
            },
            ServiceStats {
                name: "order".to_string(),
                replicas: 1,
                workers: 8,
                default_keys: Vec::new(),
                arrivals: 9_995,
                rejected: 0,
                abandoned: 0,
                rate_limited: 0,
                shed: 0,
                utilization: 0.8125,
                mean_in_system: 7.25,
                mean_queued: 0.75,
                in_system_buckets: vec![],
                versions: Vec::new(),
                replicas_max: 1,
                replica_seconds: 0.0,
                scale_events: 0,
                autoscale: None,
            },
        ],
        calls: CallStats {
            attempts: 19_995,
            retries: 0,
            mesh_retries: 0,
            timeouts: 7,
            circuit_open: 0,
            bulkhead_full: 0,
            fallbacks: 0,
            budget_exhausted: 0,
            service_attempts: 9_995,
            amplification: 1.9995,
        },
    }
}

/// The same model with three scheduled faults and random crashes: a crash of order at 20 s
/// for 10 s, gateway ×10 slower from 40 s to the end, 20% loss on gateway->order at 45 s for
/// 5 s (which hits nothing), and chaos on order.
pub fn model_with_faults() -> Model {
    let order = ServiceId(1);
    let gateway = ServiceId(0);
    let mut m = model();
    m.bucket = SimDuration::from_secs(1);
    m.faults = vec![
        Fault {
            kind: FaultKind::Crash {
                replicas: vec![ReplicaRef {
                    service: order,
                    index: 0,
                }],
            },
            at: SimDuration::from_secs(20),
            duration: Some(SimDuration::from_secs(10)),
            target: "order".to_string(),
        },
        Fault {
            kind: FaultKind::Slow {
                replicas: vec![
                    ReplicaRef {
                        service: gateway,
                        index: 0,
                    },
                    ReplicaRef {
                        service: gateway,
                        index: 1,
                    },
                ],
                factor: 10.0,
            },
            at: SimDuration::from_secs(40),
            duration: None,
            target: "gateway".to_string(),
        },
        Fault {
            kind: FaultKind::Loss {
                links: vec![LinkId(2), LinkId(3)],
                rate: 0.2,
            },
            at: SimDuration::from_secs(45),
            duration: Some(SimDuration::from_secs(5)),
            target: "gateway->order".to_string(),
        },
    ];
    m.chaos = Some(Chaos {
        targets: vec!["order".to_string()],
        replicas: vec![ReplicaRef {
            service: order,
            index: 0,
        }],
        mtbf: SimDuration::from_secs(120),
        mttr: SimDuration::from_secs(10),
    });
    m
}

fn fault_stats(
    kind: &str,
    target: &str,
    at_s: u64,
    for_s: Option<u64>,
    affected: u64,
    crashes: u64,
) -> FaultStats {
    FaultStats {
        kind: kind.to_string(),
        target: target.to_string(),
        at: SimDuration::from_secs(at_s),
        duration: for_s.map(SimDuration::from_secs),
        affected,
        crashes,
    }
}

/// One bucket of 200 requests: `failed` of them unavailable, `degraded` answered by a
/// fallback, the rest ok with latencies around `p_ms`.
fn bucket(sent: u64, failed: u64, degraded: u64, p_ms: u64) -> WorkloadBucket {
    let mut b = WorkloadBucket {
        sent,
        ok: sent - failed - degraded,
        degraded,
        ..WorkloadBucket::default()
    };
    for _ in 0..failed {
        b.failed.add(Cause::Unavailable);
    }
    if sent > failed {
        for i in 1..=(sent - failed) {
            b.latency.record_ns(p_ms * 1_000_000 * i / (sent - failed));
        }
    }
    b
}

/// A run of [`model_with_faults`]: 1 s buckets, 200 requests sent per second from warmup
/// (10 s) to the end of arrivals (60 s); during the crash (20–30 s) 50 of them fail each
/// second and latency rises; while gateway is slow (40 s on) 5 per second are degraded.
pub fn results_with_faults() -> RunResults {
    let mut r = results();
    r.bucket = SimDuration::from_secs(1);
    r.faults = vec![
        fault_stats("crash", "order", 20, Some(10), 1_234, 0),
        fault_stats("slow", "gateway", 40, None, 5_678, 0),
        fault_stats("loss", "gateway->order", 45, Some(5), 0, 0),
        fault_stats("chaos", "order", 0, None, 17, 2),
    ];
    let t = |ms: u64| SimTime(ms * 1_000_000);
    let mut transitions = vec![
        (t(21_300), BreakerState::Open),
        (t(26_300), BreakerState::HalfOpen),
        (t(26_400), BreakerState::Open),
        (t(31_400), BreakerState::HalfOpen),
        (t(31_500), BreakerState::Closed),
    ];
    for k in 0..5u64 {
        let base = 50_000 + k * 2_000;
        transitions.push((t(base), BreakerState::Open));
        transitions.push((t(base + 1_000), BreakerState::HalfOpen));
    }
    r.breakers = vec![BreakerStats {
        site: "gateway/checkout -> order/place".to_string(),
        owner: "gateway#0".to_string(),
        opened: transitions
            .iter()
            .filter(|(_, s)| *s == BreakerState::Open)
            .count() as u64,
        transitions,
    }];
    let checkout = &mut r.workloads[0];
    checkout.ok = 9_890;
    checkout.ok_in_window = 9_890;
    checkout.degraded = 100;
    checkout.buckets = (0..61u64)
        .map(|s| match s {
            0..10 | 60.. => WorkloadBucket::default(),
            20..30 => bucket(200, 50, 0, 900),
            40..60 => bucket(200, 0, 5, 400),
            _ => bucket(200, 0, 0, 100),
        })
        .collect();
    // Like the engine: client buckets up to duration + drain, service buckets only for the
    // buckets whose end the run reached. The report evens them out to the 61 buckets of the run.
    r.workloads[1].buckets = vec![WorkloadBucket::default(); 91];
    for s in &mut r.services {
        s.in_system_buckets = (0..60)
            .map(|i| {
                if (20..30).contains(&i) {
                    12.5
                } else {
                    1.0 / 3.0
                }
            })
            .collect();
    }
    r.calls.fallbacks = 100;
    r.calls.bulkhead_full = 3;
    r.calls.budget_exhausted = 0;
    r
}

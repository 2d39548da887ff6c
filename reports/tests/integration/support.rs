//! A small hand-built model and run: client -> gateway/checkout -> order/place, with a
//! second workload and one expectation of each kind.

use sim_core::dist::Dist;
use sim_core::model::{
    Arrival, Bound, Call, Endpoint, EndpointId, Expect, LbPolicy, Limits, Link, LinkId, Model,
    Node, Protocol, Service, ServiceId, Workload,
};
use sim_core::results::{
    CallStats, Cause, EndpointStats, FailureCounts, RunResults, ServiceStats, WorkloadStats,
    new_latency_histogram,
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
        services: vec![
            Service {
                name: "gateway".to_string(),
                replicas: 2,
                workers: 32,
                queue: Some(128),
                lb: LbPolicy::RoundRobin,
                health_check: None,
                endpoints: vec![EndpointId(0)],
            },
            Service {
                name: "order".to_string(),
                replicas: 1,
                workers: 8,
                queue: None,
                lb: LbPolicy::PowerOfTwo,
                health_check: None,
                endpoints: vec![EndpointId(1)],
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
            },
            Endpoint {
                name: "place".to_string(),
                service: order,
                work: Dist::Const(SimDuration::from_millis(5)),
                fail: 0.01,
                parallel: false,
                calls: vec![],
            },
        ],
        workloads: vec![
            Workload {
                name: "checkout".to_string(),
                call: call(0, 0, Protocol::Grpc, Some(SimDuration::from_secs(2))),
                arrival: Arrival::Open {
                    rate_per_s: 200.0,
                    poisson: true,
                },
            },
            Workload {
                name: "browse".to_string(),
                call: call(0, 0, Protocol::None, None),
                arrival: Arrival::Closed {
                    users: 10,
                    think: Dist::exp(SimDuration::from_secs(1)),
                },
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
    }
}

pub fn results() -> RunResults {
    let mut latency = new_latency_histogram();
    for ms in 1..=100u64 {
        latency.record(ms * 1_000_000).unwrap();
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
        workloads: vec![
            WorkloadStats {
                name: "checkout".to_string(),
                sent: 10_000,
                ok: 9_990,
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
                latency: latency.clone(),
            },
            EndpointStats {
                name: "order/place".to_string(),
                arrivals: 9_995,
                completed: 9_993,
                rejected: 0,
                failed: 1,
                latency,
            },
        ],
        services: vec![
            ServiceStats {
                name: "gateway".to_string(),
                replicas: 2,
                workers: 32,
                arrivals: 10_000,
                rejected: 0,
                utilization: 0.5,
                mean_in_system: 2.0 / 3.0,
                mean_queued: 0.0,
                in_system_buckets: vec![],
            },
            ServiceStats {
                name: "order".to_string(),
                replicas: 1,
                workers: 8,
                arrivals: 9_995,
                rejected: 0,
                utilization: 0.8125,
                mean_in_system: 7.25,
                mean_queued: 0.75,
                in_system_buckets: vec![],
            },
        ],
        calls: CallStats {
            attempts: 19_995,
            retries: 0,
            timeouts: 7,
            circuit_open: 0,
            bulkhead_full: 0,
            fallbacks: 0,
            budget_exhausted: 0,
            amplification: 0.9995,
        },
    }
}

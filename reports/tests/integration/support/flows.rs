//! A hand-built model and run with two flows:
//! - `place-order` (orchestration): the coordinator `order/flow:place-order` reserves stock
//!   (undo: release), charges the card (undo: refund) and ships (no undo). 12,000 instances,
//!   1,187 of them left half-done (775 with only the reservation, 412 reserved and shipped but
//!   not charged), 23 effects applied twice, 57 clients told the wrong outcome;
//! - `cancel-order` (sync): cancels the shipment, then refunds; 300 instances, all settled
//!   cleanly.
//!
//! The model is simplified where the reports do not look: the coordinator's calls are direct
//! (no broker), and the steps do nothing but their work.

use sim_core::dist::Dist;
use sim_core::model::{
    Arrival, Call, Endpoint, EndpointId, Flow, FlowId, FlowStep, FlowStyle, LbPolicy, Link, LinkId,
    Model, Node, Protocol, Service, ServiceId, Workload,
};
use sim_core::results::{
    FailureCounts, FlowStats, LatencyHistogram, RunResults, WorkloadStats, new_latency_histogram,
};
use sim_core::{SimDuration, SimTime};

use super::{model, results};

fn endpoint(name: &str, service: u32, calls: Vec<Call>) -> Endpoint {
    Endpoint {
        name: name.to_string(),
        service: ServiceId(service),
        work: Dist::Const(SimDuration::from_millis(2)),
        fail: 0.0,
        parallel: false,
        calls,
        routed: vec![],
        publish: vec![],
        effect: true,
        idempotent: false,
        version_of: None,
    }
}

fn service(name: &str, endpoints: &[u32]) -> Service {
    Service {
        name: name.to_string(),
        replicas: 1,
        workers: 8,
        default_keys: Vec::new(),
        queue: Some(64),
        lb: LbPolicy::RoundRobin,
        health_check: None,
        endpoints: endpoints.iter().map(|&e| EndpointId(e)).collect(),
        admission: None,
        versions: Vec::new(),
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

/// A call to endpoint `to` over links `link` (there) and `link + 1` (back).
fn call(to: u32, link: u32) -> Call {
    Call {
        to: EndpointId(to),
        link: LinkId(link),
        reply_link: LinkId(link + 1),
        protocol: Protocol::None,
        timeout: Some(SimDuration::from_secs(1)),
        resilience: Default::default(),
        via: None,
        route: None,
        fallback_call: None,
    }
}

fn step(action: u32, undo: Option<u32>, do_call: u16, undo_call: Option<u16>) -> FlowStep {
    FlowStep {
        action: EndpointId(action),
        undo: undo.map(EndpointId),
        reject: 0.0,
        do_call,
        undo_call,
        do_queue: None,
        undo_queue: None,
    }
}

/// [`model`] with 1 s buckets and the two flows. Services 2..: inventory (reserve, release),
/// payment (charge, refund), shipping (ship, cancel); endpoints 2..: the same, then the two
/// entry endpoints on order.
pub fn model_with_flows() -> Model {
    let mut m = model();
    m.name = "orders-saga".to_string();
    m.bucket = SimDuration::from_secs(1);
    m.expects.clear();
    m.services.push(service("inventory", &[2, 3]));
    m.services.push(service("payment", &[4, 5]));
    m.services.push(service("shipping", &[6, 7]));
    // Links 4..: order to and from each step's service.
    let order = Node::Service(ServiceId(1));
    for s in [2, 3, 4] {
        m.links.push(link(order, Node::Service(ServiceId(s))));
        m.links.push(link(Node::Service(ServiceId(s)), order));
    }
    for (name, service) in [
        ("reserve", 2),
        ("release", 2),
        ("charge", 3),
        ("refund", 3),
        ("ship", 4),
        ("cancel", 4),
    ] {
        m.endpoints.push(endpoint(name, service, vec![]));
    }
    // Endpoint 8: order/flow:place-order calls reserve, charge, ship, then release, refund.
    m.endpoints.push(endpoint(
        "flow:place-order",
        1,
        vec![call(2, 4), call(4, 6), call(6, 8), call(3, 4), call(5, 6)],
    ));
    // Endpoint 9: order/flow:cancel-order calls cancel, then refund.
    m.endpoints.push(endpoint(
        "flow:cancel-order",
        1,
        vec![call(7, 8), call(5, 6)],
    ));
    m.services[1]
        .endpoints
        .extend([EndpointId(8), EndpointId(9)]);
    m.flows = vec![
        Flow {
            name: "place-order".to_string(),
            style: FlowStyle::Orchestration,
            entry: ServiceId(1),
            entry_endpoint: EndpointId(8),
            steps: vec![
                step(2, Some(3), 0, Some(3)),
                step(4, Some(5), 1, Some(4)),
                step(6, None, 2, None),
            ],
            reply_early: false,
            recovery: SimDuration::from_secs(1),
            topic: None,
        },
        Flow {
            name: "cancel-order".to_string(),
            style: FlowStyle::Sync,
            entry: ServiceId(1),
            entry_endpoint: EndpointId(9),
            steps: vec![step(7, None, 0, None), step(5, None, 1, None)],
            reply_early: false,
            recovery: SimDuration::from_secs(1),
            topic: None,
        },
    ];
    let mut orders = m.workloads[0].clone();
    orders.name = "orders".to_string();
    orders.flow = Some(FlowId(0));
    orders.call = Call {
        to: EndpointId(8),
        ..orders.call
    };
    let cancellations = Workload {
        name: "cancellations".to_string(),
        flow: Some(FlowId(1)),
        call: Call {
            to: EndpointId(9),
            ..orders.call.clone()
        },
        arrival: Arrival::Open {
            rate_per_s: 5.0,
            poisson: true,
        },
        rate_limit: None,
        priority: Default::default(),
    };
    m.workloads = vec![orders, cancellations];
    m
}

/// `n` latencies spread evenly from `lo_ms` to `hi_ms` (at most 1,000 values recorded).
fn spread(lo_ms: u64, hi_ms: u64, n: u64) -> LatencyHistogram {
    let mut h = new_latency_histogram();
    let n = n.min(1_000);
    for i in 0..n {
        let ns = (lo_ms * 1_000_000) + (hi_ms - lo_ms) * 1_000_000 * i / n.max(2).saturating_sub(1);
        h.record(ns).unwrap();
    }
    h
}

/// One flow's statistics; the latencies spread between the given bounds.
pub fn flow_stats(
    name: &str,
    style: &str,
    steps: &[&str],
    (completed, compensated, inconsistent, pending): (u64, u64, u64, u64),
    client_ms: (u64, u64),
    consistency_ms: (u64, u64),
) -> FlowStats {
    let started = completed + compensated + inconsistent + pending;
    FlowStats {
        name: name.to_string(),
        style: style.to_string(),
        steps: steps.iter().map(|s| s.to_string()).collect(),
        started,
        completed,
        compensated,
        inconsistent,
        pending,
        duplicate_effects: 0,
        client_mismatch: 0,
        latency: spread(client_ms.0, client_ms.1, completed),
        consistency: spread(consistency_ms.0, consistency_ms.1, started - pending),
        left_applied: Vec::new(),
    }
}

/// A run of [`model_with_flows`] (see the module comment for the figures).
pub fn results_with_flows() -> RunResults {
    let mut r = results();
    r.scenario = "orders-saga".to_string();
    r.bucket = SimDuration::from_secs(1);
    r.sim_time = SimTime(61_000_000_000);
    let workload = |name: &str, sent: u64, ok: u64, latency| WorkloadStats {
        name: name.to_string(),
        sent,
        ok,
        ok_in_window: ok,
        degraded: 0,
        failed: FailureCounts::default(),
        in_flight: sent - ok,
        latency,
        buckets: vec![],
    };
    r.workloads = vec![
        workload("orders", 10_000, 10_000, spread(8, 40, 10_000)),
        workload("cancellations", 250, 250, spread(3, 9, 250)),
    ];
    let mut place = flow_stats(
        "place-order",
        "orchestration",
        &["inventory/reserve", "payment/charge", "shipping/ship"],
        (10_790, 13, 1_187, 10),
        (8, 40),
        (9, 60),
    );
    place.duplicate_effects = 23;
    place.client_mismatch = 57;
    // Bit i = step i: 0b001 only the reservation, 0b101 reserved and shipped.
    place.left_applied = vec![(0b001, 775), (0b101, 412)];
    let cancel = flow_stats(
        "cancel-order",
        "sync",
        &["shipping/cancel", "payment/refund"],
        (290, 10, 0, 0),
        (3, 9),
        (3, 9),
    );
    r.flows = vec![place, cancel];
    r
}

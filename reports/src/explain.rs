//! `meshsim explain`: which service saturates first, and at what rate, from the model alone.
//!
//! The layered-queueing view: a worker waiting on a synchronous call is held, so the worker
//! time a visit costs is its work plus the no-queueing response time of its calls (network
//! latency means both ways, protocol and sidecar overheads per crossing, the callee's own
//! held time) and of its publishes (a round trip to the broker). Counting work alone would
//! call a gateway that waits 50 ms on a database idle.
//!
//! Per client request of each workload, every endpoint's visits follow the calls: `fail`
//! stops the calls and publishes, `p` scales a site, `one_of` splits it by the weights'
//! shares, every consumer of a queue or topic group receives each message. Retries (a
//! sidecar's too) and fallbacks are ignored (they happen only on failure). Parallel calls
//! cost the *max of their means*: an approximation, below the expected max of random times,
//! so a parallel fan-out's held time is a slight underestimate. A flow's steps and undos count as often as its
//! `reject`s make them run (see `flows`).
//!
//! A service's capacity is replicas × workers; its utilization per request per second is the
//! worker time per request divided by it. A broker's is its `capacity` in deliveries per
//! second. Everything is computed in model order, so the same file prints the same bytes.

use std::io::{self, Write};

use serde::Serialize;
use sim_core::Model;
use sim_core::model::{Arrival, Call, Destination, EndpointId, Node, Protocol};

use crate::json::{Named, round};

mod flows;
mod text;

pub use text::write_explain_text;

use flows::{FlowEntry, flow_entries};

/// The analysis of one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Explain {
    pub scenario: String,
    /// The resource (service, or `broker:NAME`) that saturates first at the workloads' mix.
    pub bottleneck: Option<String>,
    /// The bottleneck's utilization at the workloads' rates (peak rates for varying ones).
    pub bottleneck_utilization: Option<f64>,
    /// Total client rate at which the bottleneck reaches 100%, the workloads in their mix.
    pub max_rate_rps: Option<f64>,
    /// The workloads' total rate the utilizations are given at.
    pub rate_rps: f64,
    /// How parallel calls are costed.
    pub parallel_calls: &'static str,
    pub services: Named<ServiceExplain>,
    pub brokers: Named<BrokerExplain>,
    pub workloads: Named<WorkloadExplain>,
}

/// One service under the workloads' mix (per client request, weighted by rate).
#[derive(Clone, Debug, Serialize)]
pub struct ServiceExplain {
    pub replicas: u32,
    pub workers: u32,
    /// Visits per client request.
    pub visits: f64,
    /// Worker time held per visit (work plus synchronous calls and publishes), ms.
    pub held_ms: Option<f64>,
    /// Worker time held per client request (visits × held), ms.
    pub held_ms_per_request: Option<f64>,
    /// Utilization at the workloads' rates.
    pub utilization: Option<f64>,
    /// Total client rate at which this service reaches 100%.
    pub max_rate_rps: Option<f64>,
}

/// One broker with a `capacity`.
#[derive(Clone, Debug, Serialize)]
pub struct BrokerExplain {
    pub capacity_per_s: f64,
    /// Deliveries per client request.
    pub deliveries: f64,
    pub utilization: Option<f64>,
    pub max_rate_rps: Option<f64>,
}

/// One workload on its own.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadExplain {
    /// `open`, `peak` (a varying rate's highest point) or `closed` (the closed loop's
    /// throughput bound min(N / (R0 + Z), max_rate_rps), at its peak user count).
    pub rate_basis: &'static str,
    pub rate_rps: Option<f64>,
    /// The no-queueing response time of one request (R0: the D of N* = (D + Z) / Dmax), ms.
    pub response_ms: Option<f64>,
    pub bottleneck: Option<String>,
    /// This workload's rate at which its bottleneck reaches 100%.
    pub max_rate_rps: Option<f64>,
    /// Closed loops: the user count N* = (R0 + Z) / Dmax past which users only queue.
    pub saturation_users: Option<f64>,
    /// Each resource's utilization from this workload alone at its rate.
    pub utilization: Named<Option<f64>>,
}

/// Why explain cannot answer: a messaging cycle makes visits unbounded.
#[derive(Clone, Debug, PartialEq)]
pub struct ExplainError(pub String);

/// A finite number, or absent.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then(|| round(x))
}

/// Per-endpoint held time and per-workload visits, before the summary.
struct Demand<'m> {
    model: &'m Model,
    /// Held time per visit of each endpoint, ns.
    held_ns: Vec<f64>,
    /// Endpoints, every caller (or publisher) before its callees (or consumers).
    order: Vec<EndpointId>,
    /// What each flow entry endpoint sets off instead of the plain walk.
    flows: Vec<FlowEntry>,
    /// Per service, its sidecar's mean overhead per crossing (0 without one).
    sidecar_ns: Vec<f64>,
}

impl<'m> Demand<'m> {
    fn new(model: &'m Model) -> Result<Demand<'m>, ExplainError> {
        let flows = flow_entries(model);
        let order = topological(model, &flows)?;
        let mut d = Demand {
            model,
            held_ns: vec![0.0; model.endpoints.len()],
            order,
            flows,
            sidecar_ns: model
                .sidecars_by_service()
                .iter()
                .map(|c| c.map_or(0.0, |c| c.overhead.mean_ns()))
                .collect(),
        };
        for &e in d.order.clone().iter().rev() {
            d.held_ns[e.0 as usize] = d.endpoint_held_ns(e);
        }
        Ok(d)
    }

    fn link_ns(&self, link: sim_core::model::LinkId) -> f64 {
        self.model.links[link.0 as usize].latency.mean_ns()
    }

    fn overhead_ns(&self, p: Protocol) -> f64 {
        match p {
            Protocol::User(i) => self.model.protocols[i as usize].overhead.mean_ns(),
            other => other.per_message().map_or(0.0, |d| d.as_nanos() as f64),
        }
    }

    /// A call's no-queueing response time as its caller sees it. A synchronous call's request
    /// and reply each cross the caller's and the callee's sidecars, if they have them.
    fn call_ns(&self, c: &Call) -> f64 {
        let mut wire =
            self.link_ns(c.link) + self.link_ns(c.reply_link) + 2.0 * self.overhead_ns(c.protocol);
        if c.via.is_none() {
            let sidecar = |n: Node| match n {
                Node::Service(s) => self.sidecar_ns[s.0 as usize],
                _ => 0.0,
            };
            let callee = Node::Service(self.model.endpoint(c.to).service);
            wire += 2.0 * (sidecar(self.model.links[c.link.0 as usize].from) + sidecar(callee));
        }
        let held: f64 = version_split(self.model, c.to)
            .map(|(t, share)| share * self.held_ns[t.0 as usize])
            .sum();
        match c.via.and_then(|q| {
            let q = self.model.queue(q);
            q.consumer.as_ref().map(|k| (q.broker, k))
        }) {
            Some((b, k)) => {
                wire + self.model.broker(b).latency.mean_ns()
                    + self.link_ns(k.deliver_link)
                    + self.link_ns(k.ack_link)
                    + held
            }
            None => wire + held,
        }
    }

    /// A call site's targets with the probability each is called.
    fn site_targets<'a>(
        &self,
        e: &'a sim_core::model::Endpoint,
        c: &'a Call,
    ) -> Vec<(&'a Call, f64)> {
        match &c.route {
            None => vec![(c, 1.0)],
            Some(r) => {
                let mut out = vec![(c, r.p * r.first_share)];
                let mut start = r.first_share;
                for &(i, end) in &r.others {
                    out.push((e.call(i), r.p * (end - start)));
                    start = end;
                }
                out
            }
        }
    }

    fn endpoint_held_ns(&self, id: EndpointId) -> f64 {
        let e = self.model.endpoint(id);
        let sites = e.calls.iter().enumerate().map(|(i, c)| {
            self.call_weight(id, i)
                * self
                    .site_targets(e, c)
                    .into_iter()
                    .map(|(t, share)| share * self.call_ns(t))
                    .sum::<f64>()
        });
        let calls = if e.parallel {
            sites.fold(0.0, f64::max)
        } else {
            sites.sum()
        };
        let publishes: f64 = e
            .publish
            .iter()
            .map(|p| {
                let b = self.model.destination_broker(p.to);
                self.link_ns(p.link)
                    + self.model.broker(b).latency.mean_ns()
                    + self.link_ns(p.ack_link)
            })
            .sum();
        e.work.mean_ns() + (1.0 - e.fail) * (calls + publishes)
    }

    /// The probability call `i` of endpoint `id` is made (below 1 only for a flow's steps).
    fn call_weight(&self, id: EndpointId, i: usize) -> f64 {
        self.flows[id.0 as usize]
            .call_weights
            .get(i)
            .copied()
            .unwrap_or(1.0)
    }

    /// Visits per endpoint and deliveries per broker for one request into `entry`.
    fn visits(&self, entry: &Call) -> (Vec<f64>, Vec<f64>) {
        let m = self.model;
        let mut visits = vec![0.0; m.endpoints.len()];
        let mut deliveries = vec![0.0; m.brokers.len()];
        let add_call = |visits: &mut Vec<f64>, deliveries: &mut Vec<f64>, c: &Call, n: f64| {
            for (t, share) in version_split(m, c.to) {
                visits[t.0 as usize] += n * share;
            }
            if let Some(q) = c.via {
                deliveries[m.queue(q).broker.0 as usize] += n;
            }
        };
        add_call(&mut visits, &mut deliveries, entry, 1.0);
        for &id in &self.order {
            let v = visits[id.0 as usize];
            if v == 0.0 {
                continue;
            }
            let e = m.endpoint(id);
            let go = v * (1.0 - e.fail);
            for (i, c) in e.calls.iter().enumerate() {
                let weight = self.call_weight(id, i);
                for (t, share) in self.site_targets(e, c) {
                    add_call(&mut visits, &mut deliveries, t, go * weight * share);
                }
            }
            for &(consumer, broker, p) in &self.flows[id.0 as usize].messages {
                visits[consumer.0 as usize] += go * p;
                deliveries[broker.0 as usize] += go * p;
            }
            for p in &e.publish {
                for consumer in consumers(m, p.to) {
                    visits[consumer.0 as usize] += go;
                    deliveries[m.destination_broker(p.to).0 as usize] += go;
                }
            }
        }
        (visits, deliveries)
    }
}

/// Where a call to `to` is served, with the share of each: the endpoint itself and, when its
/// service has versions, each version's copy by its weight at the start of the run (the base
/// keeps what the versions leave). Rollout steps and rollbacks are not followed.
fn version_split(m: &Model, to: EndpointId) -> impl Iterator<Item = (EndpointId, f64)> + '_ {
    let s = m.service(m.endpoint(to).service);
    let k = s.endpoints.iter().position(|&e| e == to);
    let shares: Vec<(EndpointId, f64)> = s
        .versions
        .iter()
        .filter_map(|v| {
            Some((
                *v.endpoints.get(k?)?,
                v.weight_at(Default::default()) / 100.0,
            ))
        })
        .collect();
    let base = 1.0 - shares.iter().map(|(_, w)| w).sum::<f64>();
    std::iter::once((to, base.max(0.0))).chain(shares)
}

/// The endpoints that receive a copy of a message sent to `d`.
fn consumers(m: &Model, d: Destination) -> Vec<EndpointId> {
    match d {
        Destination::Queue(q) => m.queue(q).consumer.iter().map(|k| k.endpoint).collect(),
        Destination::Topic(t) => m
            .topic(t)
            .groups
            .iter()
            .map(|g| g.consumer.endpoint)
            .collect(),
    }
}

/// Endpoints in an order where every caller and publisher comes before what it reaches
/// (Kahn's algorithm: no recursion, so a deep chain cannot overflow the stack).
fn topological(m: &Model, flows: &[FlowEntry]) -> Result<Vec<EndpointId>, ExplainError> {
    let n = m.endpoints.len();
    let edges = |i: usize| -> Vec<EndpointId> {
        let e = &m.endpoints[i];
        let mut out: Vec<EndpointId> = e
            .all_calls()
            .flat_map(|c| version_split(m, c.to).map(|(t, _)| t))
            .collect();
        for p in &e.publish {
            out.extend(consumers(m, p.to));
        }
        out.extend(flows[i].messages.iter().map(|&(c, _, _)| c));
        out
    };
    let mut indegree = vec![0u32; n];
    for i in 0..n {
        for t in edges(i) {
            indegree[t.0 as usize] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..n).rev().filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        order.push(EndpointId(i as u32));
        for t in edges(i) {
            let d = &mut indegree[t.0 as usize];
            *d -= 1;
            if *d == 0 {
                ready.push(t.0 as usize);
            }
        }
    }
    if order.len() < n {
        let stuck = (0..n).find(|&i| indegree[i] > 0).unwrap_or(0);
        return Err(ExplainError(format!(
            "{} is on a cycle of calls or messages: its visits per request are unbounded, so there is no bottleneck to compute",
            m.endpoint_name(EndpointId(stuck as u32))
        )));
    }
    Ok(order)
}

/// One workload's demand: worker ns per request per service, deliveries per broker.
struct WorkloadDemand {
    visits_per_service: Vec<f64>,
    held_ns_per_service: Vec<f64>,
    deliveries: Vec<f64>,
    response_ns: f64,
}

/// Utilization per request per second of each resource (services, then brokers with a
/// capacity), from one workload's demand.
fn per_rps(m: &Model, w: &WorkloadDemand) -> Vec<f64> {
    let services = m
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| w.held_ns_per_service[i] * 1e-9 / s.worker_slots() as f64);
    let brokers = m
        .brokers
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.capacity_per_s.map(|c| w.deliveries[i] / c));
    services.chain(brokers).collect()
}

fn resource_names(m: &Model) -> Vec<String> {
    let services = m.services.iter().map(|s| s.name.clone());
    let brokers = m
        .brokers
        .iter()
        .filter(|b| b.capacity_per_s.is_some())
        .map(|b| format!("broker:{}", b.name));
    services.chain(brokers).collect()
}

/// The largest of `u` (first on ties) with its index, when it is finite and above zero.
fn busiest(u: &[f64]) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &x) in u.iter().enumerate() {
        if x.is_nan() || x <= 0.0 {
            continue;
        }
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best
}

/// The analysis of `model`.
pub fn explain(model: &Model) -> Result<Explain, ExplainError> {
    let d = Demand::new(model)?;
    let names = resource_names(model);
    let ns = model.services.len();
    let demands: Vec<WorkloadDemand> = model
        .workloads
        .iter()
        .map(|w| {
            let (visits, deliveries) = d.visits(&w.call);
            let mut visits_per_service = vec![0.0; ns];
            let mut held_ns_per_service = vec![0.0; ns];
            for (i, &v) in visits.iter().enumerate() {
                if v > 0.0 {
                    let s = model.endpoints[i].service.0 as usize;
                    visits_per_service[s] += v;
                    held_ns_per_service[s] += v * d.held_ns[i];
                }
            }
            WorkloadDemand {
                visits_per_service,
                held_ns_per_service,
                deliveries,
                response_ns: d.call_ns(&w.call),
            }
        })
        .collect();

    let mut workloads = Named::default();
    let mut rates = Vec::with_capacity(demands.len());
    for (w, wd) in model.workloads.iter().zip(&demands) {
        let u = per_rps(model, wd);
        let top = busiest(&u);
        let max_rate = top.map(|(_, x)| 1.0 / x).and_then(finite);
        let response_s = wd.response_ns * 1e-9;
        let (basis, rate, n_star) = match &w.arrival {
            Arrival::Open { rate_per_s, .. } => ("open", Some(*rate_per_s), None),
            Arrival::Varying { curve, .. } => (
                "peak",
                Some(curve.max_rate(model.duration.as_secs_f64())),
                None,
            ),
            Arrival::Closed { users, think } => closed(f64::from(*users), think, response_s, top),
            Arrival::ClosedVarying { users, think } => {
                closed(f64::from(users.max_users()), think, response_s, top)
            }
        };
        let rate = rate.and_then(finite);
        rates.push(rate.unwrap_or(0.0));
        let mut utilization = Named::default();
        for (name, x) in names.iter().zip(&u) {
            utilization
                .0
                .push((name.clone(), rate.and_then(|r| finite(r * x))));
        }
        workloads.0.push((
            w.name.clone(),
            WorkloadExplain {
                rate_basis: basis,
                rate_rps: rate,
                response_ms: finite(wd.response_ns / 1e6),
                bottleneck: top.map(|(i, _)| names[i].clone()),
                max_rate_rps: max_rate,
                saturation_users: n_star,
                utilization,
            },
        ));
    }

    // The mix: each workload weighted by its share of the total rate (equally when all are 0).
    let total: f64 = rates.iter().sum();
    let weights: Vec<f64> = if total > 0.0 {
        rates.iter().map(|r| r / total).collect()
    } else {
        vec![1.0 / demands.len().max(1) as f64; demands.len()]
    };
    let mix = |f: &dyn Fn(&WorkloadDemand) -> f64| -> f64 {
        demands.iter().zip(&weights).map(|(wd, w)| w * f(wd)).sum()
    };
    let mut u_mix = vec![0.0; names.len()];
    for (wd, w) in demands.iter().zip(&weights) {
        for (acc, x) in u_mix.iter_mut().zip(per_rps(model, wd)) {
            *acc += w * x;
        }
    }
    let top = busiest(&u_mix);
    let at_rate = |x: f64| (total > 0.0).then_some(total * x).and_then(finite);

    let mut services = Named::default();
    for (i, s) in model.services.iter().enumerate() {
        let visits = mix(&|wd| wd.visits_per_service[i]);
        let held = mix(&|wd| wd.held_ns_per_service[i]);
        services.0.push((
            s.name.clone(),
            ServiceExplain {
                replicas: s.replicas,
                workers: s.workers,
                visits: round(visits),
                held_ms: (visits > 0.0).then(|| held / visits / 1e6).and_then(finite),
                held_ms_per_request: finite(held / 1e6),
                utilization: at_rate(u_mix[i]),
                max_rate_rps: (u_mix[i] > 0.0).then(|| 1.0 / u_mix[i]).and_then(finite),
            },
        ));
    }
    let mut brokers = Named::default();
    let mut k = ns;
    for (i, b) in model.brokers.iter().enumerate() {
        let Some(capacity) = b.capacity_per_s else {
            continue;
        };
        let x = u_mix[k];
        k += 1;
        brokers.0.push((
            b.name.clone(),
            BrokerExplain {
                capacity_per_s: capacity,
                deliveries: round(mix(&|wd| wd.deliveries[i])),
                utilization: at_rate(x),
                max_rate_rps: (x > 0.0).then(|| 1.0 / x).and_then(finite),
            },
        ));
    }
    Ok(Explain {
        scenario: model.name.clone(),
        bottleneck: top.map(|(i, _)| names[i].clone()),
        bottleneck_utilization: top.and_then(|(_, x)| at_rate(x)),
        max_rate_rps: top.map(|(_, x)| 1.0 / x).and_then(finite),
        rate_rps: round(total),
        parallel_calls: "max of the means (an approximation: at most the expected max)",
        services,
        brokers,
        workloads,
    })
}

/// A closed loop of `users` with `think`: its throughput bound and N* = (R0 + Z) / Dmax.
fn closed(
    users: f64,
    think: &sim_core::dist::Dist,
    response_s: f64,
    top: Option<(usize, f64)>,
) -> (&'static str, Option<f64>, Option<f64>) {
    let cycle_s = response_s + think.mean_ns() * 1e-9;
    let by_users = if cycle_s > 0.0 {
        users / cycle_s
    } else {
        f64::INFINITY
    };
    let rate = match top {
        Some((_, dmax)) => by_users.min(1.0 / dmax),
        None => by_users,
    };
    let n_star = top.map(|(_, dmax)| cycle_s / dmax).and_then(finite);
    ("closed", finite(rate), n_star)
}

/// `--json`.
pub fn write_explain_json<W: Write>(out: &mut W, e: &Explain) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, e)?;
    writeln!(out)
}

/// Below this share of the model's bound, a run's throughput is called well short.
pub const SHORT_OF_BOUND: f64 = 0.8;

/// `run`'s cross-check: a line when the simulated successful throughput falls well short of
/// what the model sustains — min(offered rate, `max_rate_rps`) — so blocking, failures,
/// retries or a cascade is at work. Only for scenarios whose workloads are all open loops at
/// a constant rate (a peak or a closed-loop bound is not an average to compare with).
pub fn cross_check(e: &Explain, report: &crate::Report) -> Option<String> {
    if e.workloads.is_empty() || e.workloads.iter().any(|(_, w)| w.rate_basis != "open") {
        return None;
    }
    let bound = e.max_rate_rps?.min(e.rate_rps);
    let simulated: f64 = report.workloads.iter().map(|(_, w)| w.throughput_rps).sum();
    if bound <= 0.0 || simulated >= SHORT_OF_BOUND * bound {
        return None;
    }
    Some(format!(
        "cross-check: {simulated:.1} rps succeeded, {:.0}% below the {bound:.1} rps the model sustains (meshsim explain): failures, blocking, retries or a cascade is at work",
        100.0 * (1.0 - simulated / bound)
    ))
}

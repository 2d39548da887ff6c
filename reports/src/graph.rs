//! The topology of a scenario as Graphviz DOT (`meshsim graph FILE | dot -Tsvg > topo.svg`).
//!
//! - `client`, an ellipse, is the outside world where workloads start;
//! - each service is a box labelled with its name, `replicas x workers`, its queue and load
//!   balancer, and its endpoints (with their work distribution);
//! - each workload is an edge from `client` to the service it calls, each call an edge from
//!   the calling service to the called one, labelled with the endpoints, protocol and timeout
//!   (and `via BROKER` for request-reply over messaging: its request queue is not drawn);
//!   a call with `p` says `p 0.1`, each target of a `one_of` is an edge with its
//!   `weight 90.0%`, and a `fallback = { to = … }` call is a dashed edge `fallback ->`;
//! - each broker is a 3-D box, joined by dotted lines to its queues (cylinders) and topics
//!   (`cds`, an arrow-shaped box: fan-out); a publishing service has an edge to each topic
//!   (`publish`) and queue (`send`) it writes to, each queue and topic an edge to the service
//!   of each consumer (labelled with the group and the endpoint), and a queue or topic with a
//!   dead-letter queue a dashed edge to it;
//! - each flow is a dashed, coloured path from its entry service through the services of its
//!   steps, in step order (`entry -> step 1 -> step 2 …`): the business sequence, whatever the
//!   style carries it (the calls, queues and topics the flow is compiled into are drawn as
//!   above). The first edge names the flow and its style, every edge the step it leads to and
//!   its undo. A model without flows gets no such line.
//!
//! Written by hand rather than with petgraph: the format is trivial and this keeps every
//! attribute and the order of lines (model order) under our control, so output is stable.

use std::io::{self, Write};

use sim_core::Model;
use sim_core::model::{Arrival, Call, Destination, Endpoint, EndpointId, Node, QueueId, QueueRole};

/// The DOT text for `model`'s topology.
pub fn to_dot(model: &Model) -> String {
    let mut out = Vec::new();
    write_dot(&mut out, model).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("DOT is built from UTF-8 strings")
}

/// Writes `model`'s topology as DOT.
pub fn write_dot<W: Write>(mut w: W, model: &Model) -> io::Result<()> {
    writeln!(w, "digraph {} {{", quote(&model.name))?;
    writeln!(w, "  rankdir=LR;")?;
    writeln!(w, "  node [fontname=\"Helvetica\", fontsize=11];")?;
    writeln!(w, "  edge [fontname=\"Helvetica\", fontsize=9];")?;
    writeln!(
        w,
        "  {} [shape=ellipse, label=\"client\"];",
        node_id(model, Node::Client)
    )?;
    let sidecars = model.sidecars_by_service();
    for (i, service) in model.services.iter().enumerate() {
        let queue = service
            .queue
            .map_or("unbounded".to_string(), |q| q.to_string());
        let mut label = vec![
            service.name.clone(),
            format!(
                "{} x {} worker{}",
                // An autoscaled service: its range (its `replicas` are the slots, `max`).
                service
                    .autoscale
                    .as_ref()
                    .map_or(service.replicas.to_string(), |a| format!(
                        "{}–{} (autoscaled)",
                        a.min, a.max
                    )),
                service.workers,
                if service.workers == 1 { "" } else { "s" }
            ),
            format!("queue {queue}, {}", service.lb.name()),
        ];
        for &ep in &service.endpoints {
            let e = model.endpoint(ep);
            let mut line = format!("/{}: work {}", e.name, e.work);
            if e.fail > 0.0 {
                line.push_str(&format!(", fail {}", e.fail));
            }
            if e.parallel && e.calls.len() > 1 {
                line.push_str(", parallel calls");
            }
            label.push(line);
        }
        label.extend(version_lines(model, service));
        if let Some(c) = sidecars[i] {
            label.push(sidecar_line(c));
        }
        let id = node_id(model, Node::Service(sim_core::model::ServiceId(i as u32)));
        writeln!(w, "  {id} [shape=box, label={}];", quote(&label.join("\n")))?;
    }
    write_messaging_nodes(&mut w, model)?;
    for workload in &model.workloads {
        let load = match &workload.arrival {
            Arrival::Open {
                rate_per_s,
                poisson,
            } => {
                format!(
                    "{rate_per_s} rps {}",
                    if *poisson { "poisson" } else { "constant" }
                )
            }
            Arrival::Varying { curve, poisson } => {
                let horizon = (model.duration.as_secs_f64()).max(f64::MIN_POSITIVE);
                // Rounded to a thousandth and printed shortest: `500 rps`, not `500.0000 rps`.
                let rps = |x: f64| (x * 1000.0).round() / 1000.0;
                format!(
                    "varying rate, mean {} rps, peak {} rps {}",
                    rps(curve.integral(0.0, horizon) / horizon),
                    rps(curve.max_rate(horizon)),
                    if *poisson { "poisson" } else { "constant" }
                )
            }
            Arrival::Closed { users, think } => format!("{users} users, think {think}"),
            Arrival::ClosedVarying { users, think } => {
                format!(
                    "up to {} users (scheduled), think {think}",
                    users.max_users()
                )
            }
        };
        let label = format!(
            "{}: {load}\n{}",
            workload.name,
            call_label(model, &workload.call)
        );
        edge(&mut w, model, Node::Client, &workload.call, &label, "")?;
    }
    for endpoint in model.endpoints.iter().filter(|e| own_calls(model, e)) {
        for call in &endpoint.calls {
            site_edges(&mut w, model, endpoint, call)?;
        }
    }
    write_messaging_edges(&mut w, model)?;
    write_flow_paths(&mut w, model)?;
    writeln!(w, "}}")
}

/// One line per version of `service` (replicas, weight, rollout and rollback), then the
/// endpoints whose work or failure it overrides.
fn version_lines(model: &Model, service: &sim_core::model::Service) -> Vec<String> {
    let mut lines = Vec::new();
    for v in &service.versions {
        let mut line = format!(
            "version {}: {} x {}, weight {}%",
            v.name, v.replicas, v.workers, v.weight
        );
        if let Some(&(_, last)) = v.rollout.last() {
            line.push_str(&format!(", rollout to {last}%"));
        }
        if let Some(r) = &v.rollback {
            line.push_str(&format!(
                ", rollback over {} failed in {}",
                r.error_rate, r.window
            ));
        }
        lines.push(line);
        for (&base, &copy) in service.endpoints.iter().zip(&v.endpoints) {
            let (b, c) = (model.endpoint(base), model.endpoint(copy));
            if b.work.to_string() != c.work.to_string() || b.fail != c.fail {
                lines.push(format!(
                    "@{}/{}: work {}, fail {}",
                    v.name, c.name, c.work, c.fail
                ));
            }
        }
    }
    lines
}

/// Whether an endpoint's calls are drawn: every endpoint's, but a version's copy only when
/// it calls other targets than its base (otherwise the base's edges stand for both).
fn own_calls(model: &Model, e: &sim_core::model::Endpoint) -> bool {
    let Some((base, _)) = e.version_of else {
        return true;
    };
    let targets = |e: &sim_core::model::Endpoint| e.all_calls().map(|c| c.to).collect::<Vec<_>>();
    targets(e) != targets(model.endpoint(base))
}

/// Okabe–Ito colours for flow paths, by flow index (the plots' palette).
const FLOW_COLORS: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999",
];

/// Each flow as a dashed path `entry -> step 1 -> step 2 …` between services, in its own
/// colour: the first edge labelled `place-order (orchestration)`, each edge with the step it
/// leads to (`1. inventory/reserve`) and its undo (`undo inventory/release`).
fn write_flow_paths<W: Write>(w: &mut W, model: &Model) -> io::Result<()> {
    for (k, flow) in model.flows.iter().enumerate() {
        let color = FLOW_COLORS[k % FLOW_COLORS.len()];
        let mut from = Node::Service(flow.entry);
        for (i, step) in flow.steps.iter().enumerate() {
            let to = Node::Service(model.endpoint(step.action).service);
            let head = if i == 0 {
                format!("{} ({})", flow.name, flow.style.name())
            } else {
                flow.name.clone()
            };
            let mut label = vec![
                head,
                format!("{}. {}", i + 1, model.endpoint_name(step.action)),
            ];
            if let Some(undo) = step.undo {
                label.push(format!("undo {}", model.endpoint_name(undo)));
            }
            writeln!(
                w,
                "  {} -> {} [label={}, style=dashed, color=\"{color}\", fontcolor=\"{color}\"];",
                node_id(model, from),
                node_id(model, to),
                quote(&label.join("\n"))
            )?;
            from = to;
        }
    }
    Ok(())
}

/// Brokers, then queues (request queues aside: their calls are drawn as calls), then topics,
/// in model order.
fn write_messaging_nodes<W: Write>(w: &mut W, model: &Model) -> io::Result<()> {
    for broker in &model.brokers {
        let capacity = broker
            .capacity_per_s
            .map_or("unlimited capacity".to_string(), |c| {
                format!("capacity {c}/s")
            });
        let durable = if broker.durable {
            "durable"
        } else {
            "not durable"
        };
        let label = format!(
            "{}\nbroker, latency {}\n{capacity}, {durable}",
            broker.name, broker.latency
        );
        let id = quote(&format!("broker:{}", broker.name));
        writeln!(w, "  {id} [shape=box3d, label={}];", quote(&label))?;
    }
    for queue in model
        .queues
        .iter()
        .filter(|q| q.role != QueueRole::Requests)
    {
        let mut label = vec![queue.name.clone()];
        if queue.role == QueueRole::DeadLetter {
            label.push("dead-letter queue".to_string());
        } else {
            label.push(format!(
                "queue, prefetch {}, visibility {}",
                queue.prefetch, queue.visibility
            ));
        }
        label.extend(delivery_limits(queue.max_deliveries, queue.keys));
        writeln!(
            w,
            "  {} [shape=cylinder, label={}];",
            destination_id(&queue.name, false),
            quote(&label.join("\n"))
        )?;
    }
    for topic in &model.topics {
        let partitions = if topic.partitions == 1 {
            "1 partition".to_string()
        } else {
            format!("{} partitions", topic.partitions)
        };
        let mut label = vec![topic.name.clone(), format!("topic, {partitions}")];
        label.extend(delivery_limits(topic.max_deliveries, topic.keys));
        writeln!(
            w,
            "  {} [shape=cds, label={}];",
            destination_id(&topic.name, true),
            quote(&label.join("\n"))
        )?;
    }
    Ok(())
}

/// `max 3 deliveries, 100 keys`, when either is set.
fn delivery_limits(max_deliveries: Option<u32>, keys: Option<u32>) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(n) = max_deliveries {
        parts.push(format!("max {n} deliveries"));
    }
    if let Some(k) = keys {
        parts.push(format!("{k} keys"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A broker's dotted lines to its queues and topics, publishes and sends, deliveries to
/// consumers, and dead letters.
fn write_messaging_edges<W: Write>(w: &mut W, model: &Model) -> io::Result<()> {
    let queues = || {
        model
            .queues
            .iter()
            .filter(|q| q.role != QueueRole::Requests)
    };
    let holds = queues()
        .map(|q| (q.broker, destination_id(&q.name, false)))
        .chain(
            model
                .topics
                .iter()
                .map(|t| (t.broker, destination_id(&t.name, true))),
        );
    for (broker, id) in holds {
        writeln!(
            w,
            "  {} -> {id} [style=dotted, arrowhead=none];",
            node_id(model, Node::Broker(broker))
        )?;
    }
    // A version's copy publishes what its base does: drawn once.
    for endpoint in model.endpoints.iter().filter(|e| e.version_of.is_none()) {
        for publish in &endpoint.publish {
            let (verb, to) = match publish.to {
                Destination::Topic(_) => ("publish", true),
                Destination::Queue(_) => ("send", false),
            };
            writeln!(
                w,
                "  {} -> {} [label={}];",
                node_id(model, Node::Service(endpoint.service)),
                destination_id(model.destination_name(publish.to), to),
                quote(&format!("{} ->\n{verb}", endpoint.name))
            )?;
        }
    }
    for queue in queues() {
        let from = destination_id(&queue.name, false);
        if let Some(c) = &queue.consumer {
            consumer_edge(
                w,
                model,
                &from,
                c.endpoint,
                &model.endpoint_name(c.endpoint),
            )?;
        }
        dead_letter_edge(w, model, &from, queue.dead_letter, queue.max_deliveries)?;
    }
    for topic in &model.topics {
        let from = destination_id(&topic.name, true);
        for group in &topic.groups {
            let endpoint = group.consumer.endpoint;
            let label = format!("group {}:\n{}", group.name, model.endpoint_name(endpoint));
            consumer_edge(w, model, &from, endpoint, &label)?;
        }
        dead_letter_edge(w, model, &from, topic.dead_letter, topic.max_deliveries)?;
    }
    Ok(())
}

fn consumer_edge<W: Write>(
    w: &mut W,
    model: &Model,
    from: &str,
    endpoint: EndpointId,
    label: &str,
) -> io::Result<()> {
    let to = Node::Service(model.endpoint(endpoint).service);
    writeln!(
        w,
        "  {from} -> {} [label={}];",
        node_id(model, to),
        quote(label)
    )
}

/// The dashed edge to a dead-letter queue, if there is one.
fn dead_letter_edge<W: Write>(
    w: &mut W,
    model: &Model,
    from: &str,
    dead_letter: Option<QueueId>,
    max_deliveries: Option<u32>,
) -> io::Result<()> {
    let Some(dlq) = dead_letter else {
        return Ok(());
    };
    let label = match max_deliveries {
        Some(n) => format!("dead letter after {n}"),
        None => "dead letter".to_string(),
    };
    writeln!(
        w,
        "  {from} -> {} [label={}, style=dashed];",
        destination_id(&model.queue(dlq).name, false),
        quote(&label)
    )
}

/// `"queue:NAME"` or `"topic:NAME"`: prefixed so no queue or topic can clash with a service.
fn destination_id(name: &str, topic: bool) -> String {
    let kind = if topic { "topic" } else { "queue" };
    quote(&format!("{kind}:{name}"))
}

/// One call site's edges: one per target (with `p`, the chance it is made; with `one_of`,
/// each target's share), then each target's fallback calls as dashed edges.
fn site_edges<W: Write>(
    w: &mut W,
    model: &Model,
    endpoint: &Endpoint,
    site: &Call,
) -> io::Result<()> {
    let from = Node::Service(endpoint.service);
    let mut targets = vec![(site, 1.0)];
    let mut draw = String::new();
    if let Some(route) = site.route.as_deref() {
        targets[0].1 = route.first_share;
        let mut start = route.first_share;
        for &(i, end) in &route.others {
            targets.push((endpoint.call(i), end - start));
            start = end;
        }
        if route.p < 1.0 {
            draw = format!("\np {}", route.p);
        }
    }
    let weighted = targets.len() > 1;
    for (call, share) in targets {
        let share = if weighted {
            format!("\nweight {:.1}%", share * 100.0)
        } else {
            String::new()
        };
        let label = format!(
            "{} ->\n{}{draw}{share}",
            endpoint.name,
            call_label(model, call)
        );
        edge(w, model, from, call, &label, "")?;
        let mut next = call.fallback_call;
        while let Some(k) = next {
            let f = endpoint.call(k);
            let label = format!("{} fallback ->\n{}", endpoint.name, call_label(model, f));
            edge(w, model, from, f, &label, ", style=dashed")?;
            next = f.fallback_call;
        }
    }
    Ok(())
}

fn edge<W: Write>(
    w: &mut W,
    model: &Model,
    from: Node,
    call: &Call,
    label: &str,
    style: &str,
) -> io::Result<()> {
    let to = Node::Service(model.endpoint(call.to).service);
    let style = if call.timeout.is_none() && style.is_empty() {
        ", style=bold"
    } else {
        style
    };
    writeln!(
        w,
        "  {} -> {} [label={}{style}];",
        node_id(model, from),
        node_id(model, to),
        quote(label)
    )
}

/// `sidecar: overhead 0.2ms per crossing, timeout 1s, retries 2, breaker`: a service's mesh
/// proxy and the policy it applies to the service's outbound calls.
fn sidecar_line(c: &sim_core::model::Sidecar) -> String {
    let r = &c.resilience;
    let mut line = format!("sidecar: overhead {} per crossing", c.overhead);
    if let Some(t) = c.timeout {
        line.push_str(&format!(", timeout {t}"));
    }
    if r.retry.retries > 0 {
        line.push_str(&format!(", retries {}", r.retry.retries));
    }
    if r.breaker.is_some() {
        line.push_str(", breaker");
    }
    line
}

/// `order/place, rest, timeout 1s` (or `no timeout`), then the resilience settings in use:
/// `retries 2`, `budget 0.1`, `breaker`, `bulkhead 6`, `fallback`.
fn call_label(model: &Model, call: &Call) -> String {
    let timeout = call
        .timeout
        .map_or("no timeout".to_string(), |t| format!("timeout {t}"));
    let r = &call.resilience;
    let mut extra = Vec::new();
    if let Some(q) = call.via {
        let broker = model.broker(model.queue(q).broker);
        extra.push(format!("via {}", broker.name));
    }
    if r.retry.retries > 0 {
        extra.push(format!("retries {}", r.retry.retries));
    }
    if let Some(b) = r.retry.budget {
        extra.push(format!("budget {b}"));
    }
    if r.breaker.is_some() {
        extra.push("breaker".to_string());
    }
    if let Some(n) = r.bulkhead {
        extra.push(format!("bulkhead {n}"));
    }
    if r.fallback {
        extra.push("fallback".to_string());
    }
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("\n{}", extra.join(", "))
    };
    format!(
        "{}, {}, {timeout}{extra}",
        model.endpoint_name(call.to),
        call.protocol.name(model)
    )
}

/// Node ids are quoted names; services are prefixed so none can clash with `client`.
fn node_id(model: &Model, node: Node) -> String {
    match node {
        Node::Client => "\"client\"".to_string(),
        Node::Service(_) => quote(&format!("service:{}", model.node_name(node))),
        Node::Broker(_) => quote(&format!("broker:{}", model.node_name(node))),
    }
}

/// A DOT string literal: quotes and backslashes escaped, newlines as `\n` (centred lines).
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

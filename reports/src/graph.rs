//! The topology of a scenario as Graphviz DOT (`meshsim graph FILE | dot -Tsvg > topo.svg`).
//!
//! - `client`, an ellipse, is the outside world where workloads start;
//! - each service is a box labelled with its name, `replicas x workers`, its queue and load
//!   balancer, and its endpoints (with their work distribution);
//! - each workload is an edge from `client` to the service it calls, each call an edge from
//!   the calling service to the called one, labelled with the endpoints, protocol and timeout.
//!
//! Written by hand rather than with petgraph: the format is trivial and this keeps every
//! attribute and the order of lines (model order) under our control, so output is stable.

use std::io::{self, Write};

use sim_core::Model;
use sim_core::model::{Arrival, Call, Node};

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
    for (i, service) in model.services.iter().enumerate() {
        let queue = service
            .queue
            .map_or("unbounded".to_string(), |q| q.to_string());
        let mut label = vec![
            service.name.clone(),
            format!(
                "{} x {} worker{}",
                service.replicas,
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
        let id = node_id(model, Node::Service(sim_core::model::ServiceId(i as u32)));
        writeln!(w, "  {id} [shape=box, label={}];", quote(&label.join("\n")))?;
    }
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
            Arrival::Closed { users, think } => format!("{users} users, think {think}"),
        };
        let label = format!(
            "{}: {load}\n{}",
            workload.name,
            call_label(model, &workload.call)
        );
        edge(&mut w, model, Node::Client, &workload.call, &label)?;
    }
    for endpoint in &model.endpoints {
        for call in &endpoint.calls {
            let label = format!("{} ->\n{}", endpoint.name, call_label(model, call));
            edge(&mut w, model, Node::Service(endpoint.service), call, &label)?;
        }
    }
    writeln!(w, "}}")
}

fn edge<W: Write>(
    w: &mut W,
    model: &Model,
    from: Node,
    call: &Call,
    label: &str,
) -> io::Result<()> {
    let to = Node::Service(model.endpoint(call.to).service);
    let style = if call.timeout.is_none() {
        ", style=bold"
    } else {
        ""
    };
    writeln!(
        w,
        "  {} -> {} [label={}{style}];",
        node_id(model, from),
        node_id(model, to),
        quote(label)
    )
}

/// `order/place, rest, timeout 1s` (or `no timeout`), then the resilience settings in use:
/// `retries 2`, `budget 0.1`, `breaker`, `bulkhead 6`, `fallback`.
fn call_label(model: &Model, call: &Call) -> String {
    let timeout = call
        .timeout
        .map_or("no timeout".to_string(), |t| format!("timeout {t}"));
    let r = &call.resilience;
    let mut extra = Vec::new();
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
        call.protocol.name()
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

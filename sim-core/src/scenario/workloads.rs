//! `[workload.NAME]`: the sources of requests, each calling one endpoint (`endpoint`) or
//! starting a flow (`flow`, which calls the flow's entry endpoint), open or closed loop.

use toml::Spanned;

use super::Sink;
use super::admission::{read_priority, read_rate_limit};
use super::flows::Flows;
use super::links::LinkTable;
use super::raw::{RawFile, RawWorkload};
use super::resilience::read_resilience;
use super::routing::read_protocol;
use super::schedule::{Rate, Users, read_rate, read_users};
use super::validate::{
    Names, check_name, raw_service_of, read_timeout, resolve_endpoint, val_span,
};
use super::values::seg;
use crate::dist::Dist;
use crate::model::{Arrival, Call, Node, Workload};

/// Every workload, in file order.
pub(super) fn read_workloads(
    sink: &mut Sink,
    raw: &RawFile,
    names: &Names,
    flows: &Flows,
    links: &mut LinkTable,
) -> Vec<Workload> {
    let mut out = Vec::new();
    for (key, w) in &raw.workload.0 {
        check_name(sink, key, "workload");
        let path = format!("workload.{}", seg(key.get_ref()));
        let arrival = read_arrival(sink, key, w, &path);
        let protocol = read_protocol(sink, &w.protocol, &format!("{path}.protocol"), names);
        let timeout = read_timeout(sink, &w.timeout, &format!("{path}.timeout"));
        let resilience = read_resilience(sink, w.into(), &path);
        let rate_limit = w
            .rate_limit
            .as_ref()
            .and_then(|r| read_rate_limit(sink, r, &format!("{path}.rate_limit"), false));
        let priority = read_priority(sink, &w.priority, &path);
        let target = match (&w.endpoint, &w.flow) {
            (Some(_), Some(_)) => {
                let msg = format!(
                    "{path} has both endpoint and flow; give endpoint (call one endpoint) or \
                     flow (start a flow), not both"
                );
                sink.error(val_span(&w.flow), msg);
                continue;
            }
            (None, None) => {
                let msg = format!(
                    "missing required key {path}.endpoint (the target, \"service/endpoint\") \
                     or {path}.flow (the flow it starts)"
                );
                sink.error(key.span(), msg);
                continue;
            }
            (Some(_), None) => {
                let to = resolve_endpoint(sink, &w.endpoint, &format!("{path}.endpoint"), names);
                to.map(|to| (None, raw_service_of(names, to), to))
            }
            (None, Some(_)) => flows
                .resolve(sink, &w.flow, &format!("{path}.flow"))
                .map(|(flow, service, to)| (Some(flow), service, to)),
        };
        let (Some((flow, service, to)), Some(arrival)) = (target, arrival) else {
            continue;
        };
        let link = links.get(Node::Client, Node::Service(service));
        let reply_link = links.get(Node::Service(service), Node::Client);
        let call = Call {
            to,
            link,
            reply_link,
            protocol,
            timeout,
            resilience,
            via: None,
            route: None,
            fallback_call: None,
        };
        out.push(Workload {
            name: key.get_ref().clone(),
            flow,
            call,
            arrival,
            rate_limit,
            priority,
        });
    }
    out
}

/// Open loop (`rate`, `arrival`) or closed loop (`users`, `think`): exactly one.
fn read_arrival(
    sink: &mut Sink,
    key: &Spanned<String>,
    w: &RawWorkload,
    path: &str,
) -> Option<Arrival> {
    let rate = read_rate(sink, (&w.rate, &w.rate_file), &w.spike, path);
    let users = read_users(sink, &w.users, &format!("{path}.users"));
    let think = sink.dist(&w.think, &format!("{path}.think"));
    let arrival = sink.string(&w.arrival, &format!("{path}.arrival"));
    let poisson = match arrival.as_deref() {
        None | Some("poisson") => true,
        Some("constant") => false,
        Some(other) => {
            let msg = format!(
                "unknown arrival \"{other}\" in {path}.arrival; allowed: poisson, constant"
            );
            sink.error(val_span(&w.arrival), msg);
            true
        }
    };
    let open_key = if w.rate.is_none() && w.rate_file.is_some() {
        "rate_file"
    } else {
        "rate"
    };
    match (w.rate.as_ref().or(w.rate_file.as_ref()), &w.users) {
        (Some(_), Some(_)) => {
            let msg = format!(
                "{path} has both {open_key} and users; give {open_key} (open loop) or users \
                 (closed loop), not both"
            );
            sink.error(val_span(&w.users), msg);
            None
        }
        (None, None) => {
            let msg = format!(
                "{path} needs rate (open loop, requests/s) or users (closed loop), or \
                 rate_file (an open loop's rate as CSV)"
            );
            sink.error(key.span(), msg);
            None
        }
        (Some(_), None) => {
            if w.think.is_some() {
                let msg = format!("{path}.think applies to closed-loop workloads (users) only");
                sink.error(val_span(&w.think), msg);
            }
            match rate? {
                Rate::Constant(rate_per_s) => Some(Arrival::Open {
                    rate_per_s,
                    poisson,
                }),
                Rate::Curve(curve) => Some(Arrival::Varying { curve, poisson }),
            }
        }
        (None, Some(_)) => {
            if w.arrival.is_some() {
                let msg = format!("{path}.arrival applies to open-loop workloads (rate) only");
                sink.error(val_span(&w.arrival), msg);
            }
            if let Some(spike) = w.spike.first() {
                let msg = format!(
                    "{path}.spike applies to open-loop workloads (rate) only; a closed loop's \
                     load is its users"
                );
                sink.error(spike.span(), msg);
            }
            let think = think.unwrap_or_else(Dist::zero);
            match users? {
                Users::Fixed(users) => Some(Arrival::Closed { users, think }),
                Users::Curve(users) => Some(Arrival::ClosedVarying { users, think }),
            }
        }
    }
}

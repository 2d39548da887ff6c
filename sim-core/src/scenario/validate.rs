//! Validation: raw structs -> [`Model`], reporting every problem with its location.
//!
//! Each check reports and then carries on with a default, so one run over the file finds
//! every problem; the model is only handed out when nothing was reported.

use std::collections::BTreeMap;

use toml::Spanned;

use super::Sink;
use super::cycles::{self, CallEdge};
use super::faults::{read_chaos, read_faults};
use super::flows::{FLOW_PREFIX, Parts, read_flows};
use super::header::read_header;
use super::links::{LinkTable, read_network};
use super::messaging::{Messaging, read_messaging};
use super::raw::{RawCall, RawEndpoint, RawExpect, RawFile, RawService, Val};
use super::resilience::read_resilience;
use super::routing::{
    Caller, check_call_count, number_routes, offset_routed, read_protocol, read_protocols,
    read_site,
};
use super::targets::Topology;
use super::values::{seg, show};
use super::workloads::read_workloads;
use crate::dist::Dist;
use crate::model::{
    Bound, Call, Destination, Endpoint, EndpointId, Expect, LbPolicy, Model, Node, Publish,
    Service, ServiceId,
};
use crate::time::SimDuration;

/// Largest accepted counts: far beyond any sensible scenario, small enough to stay exact.
pub(super) const MAX_REPLICAS: i64 = 100_000;
pub(super) const MAX_WORKERS: i64 = 1_000_000;
const MAX_QUEUE: i64 = 100_000_000;

/// Services and endpoints by name, with their dense ids in file order.
pub(super) struct Names {
    pub services: BTreeMap<String, ServiceId>,
    /// `service/endpoint` -> id.
    pub endpoints: BTreeMap<String, EndpointId>,
    /// Full endpoint names by id.
    pub endpoint_names: Vec<String>,
    /// Names of the `[protocol.NAME]` profiles, in file order.
    pub protocols: Vec<String>,
}

/// Checks the raw file and builds the model (`None` only when nothing useful could be built;
/// the caller rejects the model anyway if anything was reported).
pub(super) fn validate(sink: &mut Sink, raw: &RawFile) -> Option<Model> {
    let header = read_header(sink, raw.scenario.as_ref());
    let names = collect_names(sink, raw);
    let mut messaging = read_messaging(sink, raw, &names);
    // Flows add queues and topics, which dead letters may then be created for.
    let flows = read_flows(sink, raw, &names, &mut messaging);
    messaging.resolve_dead_letters(sink);
    let brokers = messaging.broker_ids();
    let network = read_network(sink, raw.network.as_ref(), &names.services, brokers);
    let mut links = LinkTable::default();
    let workloads = read_workloads(sink, raw, &names, &flows, &mut links);
    let mut edges = Vec::new();
    let (mut services, mut endpoints, mut sends, copies) =
        read_services(sink, raw, &names, &mut links, &mut messaging, &mut edges);
    let flows = flows.build(Parts {
        services: &mut services,
        endpoints: &mut endpoints,
        sends: &mut sends,
        links: &mut links,
        messaging: &mut messaging,
        edges: &mut edges,
    });
    link_publishes(&mut endpoints, sends, &messaging, &mut links);
    let (brokers, queues, topics) =
        messaging.connect(&mut links, &endpoints, &names.endpoint_names);
    let endpoint_names = full_endpoint_names(&names, &services, &endpoints);
    cycles::check(sink, &edges, &endpoint_names);
    let topo = Topology {
        services: &services,
        ids: &names.services,
        brokers: &brokers,
        queues: &queues,
        topics: &topics,
        links: &links,
        end: header.duration + header.drain,
    };
    let faults = read_faults(sink, &raw.fault, &topo);
    let chaos = read_chaos(sink, raw.chaos.as_ref(), &topo);
    let expects = raw
        .expect
        .iter()
        .enumerate()
        .filter_map(|(i, e)| read_expect(sink, i, e));
    let expects = expects.collect();
    let protocols = read_protocols(sink, raw);
    super::versions::check_reach(sink, raw, &services, &queues, &topics, &flows, &endpoints);
    super::versions::place_copies(&mut services, &mut endpoints, copies);
    let routes = number_routes(&mut endpoints);
    let sidecars = super::sidecar::read_sidecars(sink, raw);
    Some(Model {
        flows,
        faults,
        chaos,
        name: header.name,
        description: header.description,
        seed: header.seed,
        duration: header.duration,
        warmup: header.warmup,
        drain: header.drain,
        bucket: header.bucket,
        limits: header.limits,
        services,
        endpoints,
        workloads,
        links: links.resolve(&network),
        brokers,
        queues,
        topics,
        expects,
        protocols,
        routes,
        sidecars,
    })
}

/// Every endpoint's full name by id: the declared ones, then the flows' entry endpoints.
fn full_endpoint_names(names: &Names, services: &[Service], endpoints: &[Endpoint]) -> Vec<String> {
    let entries = endpoints.iter().skip(names.endpoint_names.len()).map(|e| {
        let service = services.get(e.service.0 as usize);
        format!("{}/{}", service.map_or("?", |s| s.name.as_str()), e.name)
    });
    names
        .endpoint_names
        .iter()
        .cloned()
        .chain(entries)
        .collect()
}

/// The span of a present value (or the start of the file).
pub(super) fn val_span(v: &Val) -> std::ops::Range<usize> {
    v.as_ref().map_or(0..0, Spanned::span)
}

/// Checks a service, workload, broker, queue, topic or flow name: it appears in paths,
/// endpoint names, link names and fault targets.
pub(super) fn check_name(sink: &mut Sink, key: &Spanned<String>, what: &str) {
    let name = key.get_ref();
    let problem = if name.is_empty() {
        "must not be empty"
    } else if name.contains('/') {
        "must not contain '/' (it separates service and endpoint)"
    } else if name.contains("->") {
        "must not contain \"->\" (it separates link ends)"
    } else if name == "client" {
        "must not be \"client\" (the name of the outside world in links)"
    } else {
        return;
    };
    sink.error(key.span(), format!("{what} name \"{name}\" {problem}"));
}

/// Assigns service ids in file order and endpoint ids densely across services.
fn collect_names(sink: &mut Sink, raw: &RawFile) -> Names {
    let mut names = Names {
        services: BTreeMap::new(),
        endpoints: BTreeMap::new(),
        endpoint_names: Vec::new(),
        protocols: raw
            .protocol
            .0
            .iter()
            .map(|(k, _)| k.get_ref().clone())
            .collect(),
    };
    for (i, (key, service)) in raw.service.0.iter().enumerate() {
        check_name(sink, key, "service");
        names
            .services
            .insert(key.get_ref().clone(), ServiceId(id32(i)));
        for (ep_key, _) in &service.endpoint.0 {
            let ep = ep_key.get_ref();
            if ep.is_empty() || ep.contains('/') {
                let msg =
                    format!("endpoint name \"{ep}\" must be non-empty and must not contain '/'");
                sink.error(ep_key.span(), msg);
            }
            if ep.starts_with(FLOW_PREFIX) {
                let msg = format!(
                    "endpoint name \"{ep}\" must not start with \"{FLOW_PREFIX}\" (a flow's entry \
                     endpoint is named \"{FLOW_PREFIX}NAME\")"
                );
                sink.error(ep_key.span(), msg);
            }
            let full = format!("{}/{ep}", key.get_ref());
            names
                .endpoints
                .insert(full.clone(), EndpointId(id32(names.endpoint_names.len())));
            names.endpoint_names.push(full);
        }
    }
    names
}

pub(super) fn id32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Resolves `"service/endpoint"`, or reports it with the known endpoints (`None` also when
/// the key is absent).
pub(super) fn resolve_endpoint(
    sink: &mut Sink,
    v: &Val,
    path: &str,
    names: &Names,
) -> Option<EndpointId> {
    let text = sink.string(v, path)?;
    if let Some(id) = names.endpoints.get(&text) {
        return Some(*id);
    }
    let span = val_span(v);
    let known = if names.endpoint_names.is_empty() {
        "none (declare [service.NAME.endpoint.EP] tables)".to_string()
    } else {
        names.endpoint_names.join(", ")
    };
    let hint = match closest(&text, &names.endpoint_names) {
        Some(best) => format!("; did you mean \"{best}\"?"),
        None if text.contains(&format!("/{FLOW_PREFIX}")) => {
            "; a flow's entry endpoint is not called by name: a workload starts the flow with \
             flow = \"NAME\""
                .to_string()
        }
        None if !text.contains('/') => "; write \"service/endpoint\"".to_string(),
        None => String::new(),
    };
    sink.error(
        span,
        format!("unknown endpoint \"{text}\" in {path}; known: {known}{hint}"),
    );
    None
}

/// The known name closest to `text` by edit distance, if it is a plausible typo (at most two
/// edits): the "did you mean" of every message about a name.
pub fn closest<'n>(text: &str, known: &'n [String]) -> Option<&'n str> {
    let best = known
        .iter()
        .map(|k| (edit_distance(text, k), k))
        .min_by_key(|(d, _)| *d)?;
    (best.0 <= 2).then_some(best.1.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = (diag + usize::from(ca != *cb)).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

/// A call `timeout`: a duration > 0, default none (wait forever).
pub(super) fn read_timeout(sink: &mut Sink, v: &Val, path: &str) -> Option<SimDuration> {
    let d = sink.duration(v, path)?;
    if d == SimDuration::ZERO {
        let msg = format!(
            "{path} = \"0s\" would fail every call; allowed: a duration > 0, or no timeout"
        );
        sink.error(val_span(v), msg);
        return None;
    }
    Some(d)
}

/// The service that owns endpoint `id` (by its name's prefix in `names`).
pub(super) fn raw_service_of(names: &Names, id: EndpointId) -> ServiceId {
    let full = names
        .endpoint_names
        .get(id.0 as usize)
        .map_or("", String::as_str);
    let service = full.rsplit_once('/').map_or("", |(s, _)| s);
    names.services.get(service).copied().unwrap_or(ServiceId(0))
}

/// Services, their endpoints, each endpoint's `publish` then `send` destinations (linked
/// later, by [`link_publishes`]), and the versions' copies of endpoints (placed last, by
/// `versions::place_copies`).
type ServicesRead = (
    Vec<Service>,
    Vec<Endpoint>,
    Vec<Vec<Destination>>,
    Vec<Endpoint>,
);

/// Every service and its endpoints, with each endpoint's `publish` then `send` destinations
/// (linked later, by [`link_publishes`]).
fn read_services(
    sink: &mut Sink,
    raw: &RawFile,
    names: &Names,
    links: &mut LinkTable,
    messaging: &mut Messaging,
    edges: &mut Vec<CallEdge>,
) -> ServicesRead {
    let mut services = Vec::new();
    let mut copies = Vec::new();
    let mut endpoints = Vec::new();
    let mut sends = Vec::new();
    for (i, (key, s)) in raw.service.0.iter().enumerate() {
        let id = ServiceId(id32(i));
        let path = format!("service.{}", seg(key.get_ref()));
        let mut service = read_service(sink, key.get_ref(), s, &path);
        for (ep_key, ep) in &s.endpoint.0 {
            let ep_id = EndpointId(id32(endpoints.len()));
            service.endpoints.push(ep_id);
            let ep_path = format!("{path}.endpoint.{}", seg(ep_key.get_ref()));
            let mut endpoint = read_endpoint(sink, ep_key.get_ref(), ep, &ep_path, id);
            let mut ctx = CallContext {
                names,
                links,
                messaging,
                edges,
            };
            read_calls(sink, ep, &ep_path, &mut endpoint, ep_id, &mut ctx);
            let publish = ep.publish.as_ref();
            let mut to = messaging.destinations(sink, publish, &format!("{ep_path}.publish"), true);
            let send = ep.send.as_ref();
            to.extend(messaging.destinations(sink, send, &format!("{ep_path}.send"), false));
            endpoints.push(endpoint);
            sends.push(to);
        }
        let mut ctx = CallContext {
            names,
            links,
            messaging,
            edges,
        };
        let found =
            super::versions::read_versions(sink, s, &path, &mut service, &endpoints, &mut ctx);
        copies.extend(found);
        services.push(service);
    }
    (services, endpoints, sends, copies)
}

/// What reading an endpoint's calls adds to: links, request queues and call edges.
pub(super) struct CallContext<'a> {
    pub names: &'a Names,
    pub links: &'a mut LinkTable,
    pub messaging: &'a mut Messaging,
    pub edges: &'a mut Vec<CallEdge>,
}

/// Reads `ep.calls` into `endpoint` (its sites, then the calls they route to), as endpoint
/// `ep_id` of its service.
pub(super) fn read_calls(
    sink: &mut Sink,
    ep: &RawEndpoint,
    ep_path: &str,
    endpoint: &mut Endpoint,
    ep_id: EndpointId,
    ctx: &mut CallContext,
) {
    let raw_calls = ep
        .calls
        .as_ref()
        .map_or(&[][..], |c| c.get_ref().as_slice());
    let mut caller = Caller {
        names: ctx.names,
        service: endpoint.service,
        endpoint: ep_id,
        links: ctx.links,
        messaging: ctx.messaging,
        edges: ctx.edges,
        routed: &mut endpoint.routed,
    };
    for (n, c) in raw_calls.iter().enumerate() {
        let call_path = format!("{ep_path}.calls[{n}]");
        if let Some(call) = read_site(sink, c, &call_path, &mut caller) {
            endpoint.calls.push(call);
        }
    }
    offset_routed(&mut endpoint.calls, &mut endpoint.routed);
    if let Some(c) = &ep.calls {
        let (sites, routed) = (raw_calls.len(), endpoint.routed.len());
        check_call_count(sink, sites, routed, ep_path, c.span());
    }
}

/// An endpoint's own settings (its calls and publishes are filled in by the caller).
pub(super) fn read_endpoint(
    sink: &mut Sink,
    name: &str,
    ep: &RawEndpoint,
    path: &str,
    service: ServiceId,
) -> Endpoint {
    let work = sink
        .dist(&ep.work, &format!("{path}.work"))
        .unwrap_or_else(Dist::zero);
    let fail = sink
        .probability(&ep.fail, &format!("{path}.fail"))
        .unwrap_or(0.0);
    let parallel = sink
        .boolean(&ep.parallel, &format!("{path}.parallel"))
        .unwrap_or(false);
    let effect = sink.boolean(&ep.effect, &format!("{path}.effect"));
    let idempotent = sink.boolean(&ep.idempotent, &format!("{path}.idempotent"));
    Endpoint {
        name: name.to_string(),
        service,
        work,
        fail,
        parallel,
        calls: Vec::new(),
        routed: Vec::new(),
        publish: Vec::new(),
        effect: effect.unwrap_or(false),
        idempotent: idempotent.unwrap_or(false),
        version_of: None,
    }
}

/// Links each endpoint's publishes, after every call's links: publisher -> broker, then the
/// broker's ack back.
fn link_publishes(
    endpoints: &mut [Endpoint],
    sends: Vec<Vec<Destination>>,
    messaging: &Messaging,
    links: &mut LinkTable,
) {
    for (endpoint, to) in endpoints.iter_mut().zip(sends) {
        let service = Node::Service(endpoint.service);
        for to in to {
            let broker = Node::Broker(messaging.destination_broker(to));
            let link = links.get(service, broker);
            let ack_link = links.get(broker, service);
            endpoint.publish.push(Publish { to, link, ack_link });
        }
    }
}

/// A service's own settings (its endpoints are filled in by the caller).
fn read_service(sink: &mut Sink, name: &str, s: &RawService, path: &str) -> Service {
    let replicas = sink.int(&s.replicas, &format!("{path}.replicas"), 1, MAX_REPLICAS);
    let workers = sink.int(&s.workers, &format!("{path}.workers"), 1, MAX_WORKERS);
    let queue = read_queue_bound(sink, &s.queue, path);
    let lb = match sink.string(&s.lb, &format!("{path}.lb")) {
        None => LbPolicy::RoundRobin,
        Some(text) => LbPolicy::parse(&text).unwrap_or_else(|| {
            let msg = format!(
                "unknown lb policy \"{text}\" in {path}.lb; allowed: {}",
                LbPolicy::ALLOWED
            );
            sink.error(val_span(&s.lb), msg);
            LbPolicy::RoundRobin
        }),
    };
    let mut health_check = sink.duration(&s.health_check, &format!("{path}.health_check"));
    if health_check == Some(SimDuration::ZERO) {
        let msg =
            format!("{path}.health_check = \"0s\": allowed: a duration > 0, or no health checks");
        sink.error(val_span(&s.health_check), msg);
        health_check = None;
    }
    let default_keys = [("replicas", &s.replicas), ("workers", &s.workers)]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
    let workers = workers.and_then(|n| u32::try_from(n).ok()).unwrap_or(1);
    let autoscale = s.autoscale.as_ref().and_then(|a| {
        super::autoscale::read_autoscale(sink, a, path, (&s.replicas, replicas), MAX_REPLICAS)
    });
    // An autoscaled service is sized for its most replicas: slots beyond the ready ones are
    // not provisioned (down for balancers and brokers) until the autoscaler adds them.
    let replicas = match &autoscale {
        Some(a) => a.max,
        None => replicas.and_then(|n| u32::try_from(n).ok()).unwrap_or(1),
    };
    Service {
        name: name.to_string(),
        replicas,
        workers,
        default_keys,
        queue,
        lb,
        health_check,
        endpoints: Vec::new(),
        admission: super::admission::read_admission(sink, s, path, workers),
        versions: Vec::new(),
        autoscale,
    }
}

/// A replica's accept-queue bound (`queue`): a count, or `None` for "unbounded" or absent.
pub(super) fn read_queue_bound(sink: &mut Sink, v: &Val, path: &str) -> Option<u32> {
    match v.as_ref().map(Spanned::get_ref) {
        Some(toml::Value::String(t)) if t == "unbounded" => None,
        None => None,
        Some(toml::Value::Integer(_)) => sink
            .int(v, &format!("{path}.queue"), 0, MAX_QUEUE)
            .and_then(|n| u32::try_from(n).ok()),
        Some(other) => {
            let msg = format!(
                "{path}.queue = {}: expected an integer from 0 to {MAX_QUEUE} or \"unbounded\"",
                show(other)
            );
            sink.error(val_span(v), msg);
            None
        }
    }
}

/// One call with the settings of `c` to the target `to` (a site's `to`, a `one_of` entry's,
/// or a fallback's), from `caller`'s service. Its draw and fallback are read by `routing`.
pub(super) fn read_call(
    sink: &mut Sink,
    c: &RawCall,
    to: &Val,
    path: &str,
    span: std::ops::Range<usize>,
    caller: &mut Caller,
) -> Option<Call> {
    let via = c.via.as_ref().and_then(|_| {
        caller
            .messaging
            .broker_named(sink, &c.via, &format!("{path}.via"))
    });
    let resilience = read_resilience(sink, c.into(), path);
    let protocol = read_protocol(sink, &c.protocol, &format!("{path}.protocol"), caller.names);
    let timeout = read_timeout(sink, &c.timeout, &format!("{path}.timeout"));
    if to.is_none() {
        let msg = format!("{path} is missing its target: add to = \"service/endpoint\"");
        sink.error(span, msg);
        return None;
    }
    let to = resolve_endpoint(sink, to, &format!("{path}.to"), caller.names)?;
    // Over messaging, the request and the reply each go through the broker.
    let (callee, via) = match via {
        Some(broker) => (
            Node::Broker(broker),
            Some(caller.messaging.request_queue(broker, to)),
        ),
        None => (Node::Service(raw_service_of(caller.names, to)), None),
    };
    let from = Node::Service(caller.service);
    let link = caller.links.get(from, callee);
    let reply_link = caller.links.get(callee, from);
    Some(Call {
        to,
        link,
        reply_link,
        protocol,
        timeout,
        resilience,
        via,
        route: None,
        fallback_call: None,
    })
}

/// One `[[expect]]`: a metric and exactly one bound.
fn read_expect(sink: &mut Sink, i: usize, e: &Spanned<RawExpect>) -> Option<Expect> {
    let (span, raw) = (e.span(), e.get_ref());
    let path = format!("expect[{i}]");
    let metric = sink.string(&raw.metric, &format!("{path}.metric"));
    if raw.metric.is_none() || metric.as_deref() == Some("") {
        let msg = format!("{path} needs metric, a dotted path into the JSON report");
        sink.error(span.clone(), msg);
    }
    if let (Some(m), Some(value)) = (&metric, &raw.metric)
        && let Some(why) = crate::model::metric_path_too_long(m)
    {
        sink.error(value.span(), format!("{path}.metric: {why}"));
        return None;
    }
    let why = sink
        .string(&raw.why, &format!("{path}.why"))
        .unwrap_or_default();
    let below = sink
        .finite(&raw.below, &format!("{path}.below"))
        .map(Bound::Below);
    let above = sink
        .finite(&raw.above, &format!("{path}.above"))
        .map(Bound::Above);
    let equals = sink
        .finite(&raw.equals, &format!("{path}.equals"))
        .map(Bound::Equals);
    let given = [&raw.below, &raw.above, &raw.equals]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if given != 1 {
        let msg = format!("{path} needs exactly one of below, above, equals (found {given})");
        sink.error(span.clone(), msg);
        return None;
    }
    let on = super::faults::enabled(sink, &raw.enabled, &path);
    let bound = below.or(above).or(equals)?;
    if !on {
        return None;
    }
    let location = sink.location(&span);
    Some(Expect {
        metric: metric?,
        bound,
        why,
        location,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_finds_typos() {
        // Goal: "did you mean" suggestions catch one- or two-letter slips only.
        assert_eq!(edit_distance("paymnt/charge", "payment/charge"), 1);
        let known = vec!["payment/charge".to_string(), "order/place".to_string()];
        assert_eq!(closest("paymnt/charge", &known), Some("payment/charge"));
        assert_eq!(closest("shipping/send", &known), None);
    }
}

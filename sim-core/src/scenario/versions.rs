//! `[service.NAME.version.V]`: versions of a service, their weights over time, their
//! rollback, and their copies of the service's endpoints with the overrides applied.
//!
//! A version's replicas are appended to the service's (after the base version's), and each
//! endpoint of the service gets one copy per version, placed after every other endpoint
//! (`place_copies`), so the ids the rest of the file resolved stay as they were.

use std::ops::Range;

use toml::{Spanned, Value};

use super::Sink;
use super::raw::{RawEndpoint, RawFile, RawService, RawVersion, Val};
use super::validate::{
    CallContext, MAX_REPLICAS, MAX_WORKERS, closest, read_calls, read_queue_bound, val_span,
};
use super::values::{seg, show};
use crate::model::{
    BASE_VERSION, DEFAULT_MIN_REQUESTS, Endpoint, EndpointId, Flow, MAX_ROLLOUT_STEPS,
    MAX_VERSIONS, Queue, Rollback, Service, Topic, Version,
};
use crate::time::{SimDuration, parse_duration};

/// Reads the versions of `service` (whose base endpoints are in `endpoints`): adds their
/// replicas to it and returns their endpoint copies, ids to be assigned by `place_copies`.
pub(super) fn read_versions(
    sink: &mut Sink,
    raw: &RawService,
    path: &str,
    service: &mut Service,
    endpoints: &[Endpoint],
    ctx: &mut CallContext,
) -> Vec<Endpoint> {
    let entries = &raw.version.0;
    if entries.len() > MAX_VERSIONS {
        let msg = format!(
            "{path} has {} versions; at most {MAX_VERSIONS} are allowed",
            entries.len()
        );
        sink.error(entries[MAX_VERSIONS].0.span(), msg);
        return Vec::new();
    }
    let mut copies = Vec::new();
    for (v, (key, rv)) in entries.iter().enumerate() {
        let name = key.get_ref();
        let vpath = format!("{path}.version.{}", seg(name));
        check_version_name(sink, key);
        let version = read_version(sink, name, rv, &vpath, service);
        service.replicas = service.replicas.saturating_add(version.replicas);
        service.versions.push(version);
        check_overrides(sink, rv, &vpath, service, endpoints);
        for &base in &service.endpoints {
            let b = &endpoints[base.0 as usize];
            let over = rv.endpoint.0.iter().find(|(k, _)| k.get_ref() == &b.name);
            let mut copy = b.clone();
            copy.version_of = Some((base, u16::try_from(v).unwrap_or(u16::MAX)));
            if let Some((_, over)) = over {
                let epath = format!("{vpath}.endpoint.{}", seg(&b.name));
                apply_overrides(sink, over, &epath, &mut copy, base, ctx);
            }
            copies.push(copy);
        }
    }
    check_weights(sink, raw, path, &service.versions);
    copies
}

fn check_version_name(sink: &mut Sink, key: &Spanned<String>) {
    let name = key.get_ref();
    let problem = if name.is_empty() {
        "must not be empty"
    } else if name.contains(['/', '#', '@']) || name.contains("->") {
        "must not contain '/', '#', '@' or \"->\" (they separate names in targets)"
    } else if name == BASE_VERSION {
        "must not be \"base\" (the report's name for the service's own replicas)"
    } else {
        return;
    };
    sink.error(key.span(), format!("version name \"{name}\" {problem}"));
}

/// One version's own settings; what it does not set it takes from the service.
fn read_version(sink: &mut Sink, name: &str, rv: &RawVersion, path: &str, s: &Service) -> Version {
    let replicas = sink
        .int(&rv.replicas, &format!("{path}.replicas"), 1, MAX_REPLICAS)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1);
    let workers = sink
        .int(&rv.workers, &format!("{path}.workers"), 1, MAX_WORKERS)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(s.workers);
    let queue = match rv.queue {
        None => s.queue,
        Some(_) => read_queue_bound(sink, &rv.queue, path),
    };
    let weight = sink
        .number(&rv.weight, &format!("{path}.weight"), 0.0, 100.0, false)
        .unwrap_or(0.0);
    let rollout = read_rollout(sink, &rv.rollout, &format!("{path}.rollout"));
    let rollback = rv.rollback.as_ref().and_then(|r| {
        let r = r.get_ref();
        let error_rate = sink.number(
            &r.error_rate,
            &format!("{path}.rollback.error_rate"),
            0.0,
            1.0,
            false,
        );
        let window = sink.duration(&r.window, &format!("{path}.rollback.window"));
        let min_requests = sink
            .int(
                &r.min_requests,
                &format!("{path}.rollback.min_requests"),
                1,
                1_000_000,
            )
            .map_or(DEFAULT_MIN_REQUESTS, |n| n as u32);
        let span = rv.rollback.as_ref().map_or(0..0, Spanned::span);
        let (Some(error_rate), Some(window)) = (error_rate, window) else {
            if r.error_rate.is_none() || r.window.is_none() {
                let msg = format!(
                    "{path}.rollback needs error_rate (a ratio from 0 to 1) and window (a \
                     duration such as \"30s\")"
                );
                sink.error(span, msg);
            }
            return None;
        };
        if window < SimDuration::from_millis(1) {
            let msg = format!("{path}.rollback.window must be at least 1ms");
            sink.error(val_span(&r.window), msg);
            return None;
        }
        Some(Rollback {
            error_rate,
            window,
            min_requests,
        })
    });
    Version {
        name: name.to_string(),
        first: s.replicas,
        replicas,
        workers,
        queue,
        weight,
        rollout,
        rollback,
        endpoints: Vec::new(),
    }
}

/// `rollout = [["0s", 5], ["120s", 25]]`: steps with strictly increasing times, weights in
/// percent from 0 to 100.
fn read_rollout(sink: &mut Sink, v: &Val, path: &str) -> Vec<(SimDuration, f64)> {
    let Some(spanned) = v else {
        return Vec::new();
    };
    let span = spanned.span();
    let shape = "a [\"TIME\", WEIGHT] step such as [\"120s\", 25]";
    let Value::Array(steps) = spanned.get_ref() else {
        let msg = format!(
            "{path} = {}: expected an array of {shape}",
            show(spanned.get_ref())
        );
        sink.error(span, msg);
        return Vec::new();
    };
    if steps.len() > MAX_ROLLOUT_STEPS {
        let msg = format!(
            "{path} has {} steps; at most {MAX_ROLLOUT_STEPS} are allowed",
            steps.len()
        );
        sink.error(span, msg);
        return Vec::new();
    }
    let mut out: Vec<(SimDuration, f64)> = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        match read_step(step, out.last().map(|&(t, _)| t)) {
            Ok(s) => out.push(s),
            Err(e) => {
                sink.error(span.clone(), format!("{path}[{i}] = {}: {e}", show(step)));
                return Vec::new();
            }
        }
    }
    out
}

fn read_step(step: &Value, previous: Option<SimDuration>) -> Result<(SimDuration, f64), String> {
    let shape = "expected a [\"TIME\", WEIGHT] step such as [\"120s\", 25]";
    let Some([t, w]) = step
        .as_array()
        .and_then(|a| <&[Value; 2]>::try_from(a.as_slice()).ok())
    else {
        return Err(shape.to_string());
    };
    let Value::String(text) = t else {
        return Err(format!("{shape}; the time must be a duration string"));
    };
    let at = parse_duration(text).map_err(|e| format!("time {e}"))?;
    let weight = match w {
        Value::Integer(n) => *n as f64,
        Value::Float(x) => *x,
        _ => f64::NAN,
    };
    if !(0.0..=100.0).contains(&weight) {
        return Err(format!(
            "weight {} is not allowed; allowed: a percentage from 0 to 100",
            show(w)
        ));
    }
    if let Some(prev) = previous
        && at <= prev
    {
        return Err(format!(
            "time {text} is not after the previous step's ({prev}); step times must increase"
        ));
    }
    Ok((at, weight))
}

/// Every endpoint table of a version overrides an endpoint the service has, and only the
/// keys a version may change.
fn check_overrides(
    sink: &mut Sink,
    rv: &RawVersion,
    path: &str,
    service: &Service,
    endpoints: &[Endpoint],
) {
    let known: Vec<String> = service
        .endpoints
        .iter()
        .map(|e| endpoints[e.0 as usize].name.clone())
        .collect();
    for (key, over) in &rv.endpoint.0 {
        let name = key.get_ref();
        if !known.contains(name) {
            let hint =
                closest(name, &known).map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
            let listed = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            let msg = format!(
                "{path}.endpoint.{}: service {} has no endpoint \"{name}\" to override; \
                 known: {listed}{hint}",
                seg(name),
                service.name
            );
            sink.error(key.span(), msg);
        }
        for (k, v) in [("publish", &over.publish), ("send", &over.send)] {
            if let Some(v) = v {
                let msg = format!(
                    "{path}.endpoint.{}.{k}: a version cannot change what an endpoint \
                     publishes or sends (the base's apply); allowed overrides: work, fail, \
                     parallel, calls, effect, idempotent",
                    seg(name)
                );
                sink.error(v.span(), msg);
            }
        }
    }
}

/// The keys a version's endpoint table sets, over the base's copy.
fn apply_overrides(
    sink: &mut Sink,
    over: &RawEndpoint,
    path: &str,
    copy: &mut Endpoint,
    base: EndpointId,
    ctx: &mut CallContext,
) {
    if over.work.is_some()
        && let Some(d) = sink.dist(&over.work, &format!("{path}.work"))
    {
        copy.work = d;
    }
    if let Some(p) = sink.probability(&over.fail, &format!("{path}.fail")) {
        copy.fail = p;
    }
    if let Some(b) = sink.boolean(&over.parallel, &format!("{path}.parallel")) {
        copy.parallel = b;
    }
    if let Some(b) = sink.boolean(&over.effect, &format!("{path}.effect")) {
        copy.effect = b;
    }
    if let Some(b) = sink.boolean(&over.idempotent, &format!("{path}.idempotent")) {
        copy.idempotent = b;
    }
    if over.calls.is_some() {
        copy.calls.clear();
        copy.routed.clear();
        read_calls(sink, over, path, copy, base, ctx);
    }
}

/// At every moment the versions' weights sum to at most 100 (the base takes the rest).
fn check_weights(sink: &mut Sink, raw: &RawService, path: &str, versions: &[Version]) {
    let mut times: Vec<SimDuration> = vec![SimDuration::ZERO];
    times.extend(
        versions
            .iter()
            .flat_map(|v| v.rollout.iter().map(|&(t, _)| t)),
    );
    times.sort();
    times.dedup();
    for t in times {
        let sum: f64 = versions.iter().map(|v| v.weight_at(t)).sum();
        if sum > 100.0 + 1e-9 {
            let parts: Vec<String> = versions
                .iter()
                .map(|v| format!("{} {}", v.name, v.weight_at(t)))
                .collect();
            let span = raw.version.0.last().map_or(0..0, |(k, _)| k.span());
            let when = if t == SimDuration::ZERO {
                "from the start".to_string()
            } else {
                format!("at {t}")
            };
            let msg = format!(
                "{path}: the versions' weights sum to {sum}% {when} ({}); at most 100% is \
                 allowed (the base version takes the rest)",
                parts.join(" + ")
            );
            sink.error(span, msg);
            return;
        }
    }
}

/// Versions split a load balancer's picks: a service that messages or flows reach without
/// a call (a queue's or a topic group's consumer, a flow's entry) cannot have any.
pub(super) fn check_reach(
    sink: &mut Sink,
    raw: &RawFile,
    services: &[Service],
    queues: &[Queue],
    topics: &[Topic],
    flows: &[Flow],
    endpoints: &[Endpoint],
) {
    let service_of = |e: EndpointId| endpoints.get(e.0 as usize).map(|e| e.service);
    let consumers = queues
        .iter()
        .filter_map(|q| q.consumer.as_ref())
        .chain(
            topics
                .iter()
                .flat_map(|t| t.groups.iter().map(|g| &g.consumer)),
        )
        .filter_map(|c| service_of(c.endpoint).map(|s| (s, "consumes messages")));
    let entries = flows.iter().map(|f| (f.entry, "is the entry of a flow"));
    let mut reported = Vec::new();
    for (s, why) in consumers.chain(entries) {
        let Some(service) = services.get(s.0 as usize) else {
            continue;
        };
        if service.versions.is_empty() || reported.contains(&s) {
            continue;
        }
        reported.push(s);
        let span = version_span(raw, s.0 as usize);
        let msg = format!(
            "service.{}.version: service {} {why}, which reaches its replicas without its \
             load balancer; versions are for services reached by calls",
            seg(&service.name),
            service.name
        );
        sink.error(span, msg);
    }
}

fn version_span(raw: &RawFile, s: usize) -> Range<usize> {
    raw.service
        .0
        .get(s)
        .and_then(|(_, rs)| rs.version.0.first())
        .map_or(0..0, |(k, _)| k.span())
}

/// Appends the versions' endpoint copies after every other endpoint and records their ids
/// in their versions; each copy publishes what its base publishes.
pub(super) fn place_copies(
    services: &mut [Service],
    endpoints: &mut Vec<Endpoint>,
    copies: Vec<Endpoint>,
) {
    for mut copy in copies {
        let Some((base, v)) = copy.version_of else {
            continue;
        };
        copy.publish = endpoints[base.0 as usize].publish.clone();
        let id = EndpointId(u32::try_from(endpoints.len()).unwrap_or(u32::MAX));
        if let Some(version) = services[copy.service.0 as usize]
            .versions
            .get_mut(v as usize)
        {
            version.endpoints.push(id);
        }
        endpoints.push(copy);
    }
}

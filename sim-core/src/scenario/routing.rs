//! Where a call goes: `p` (made with a probability), `one_of` (weighted targets),
//! `fallback = { to = … }` (another call made when this one fails), and the protocol
//! profiles a call may name, built-in or `[protocol.NAME]`.

use std::ops::Range;

use toml::Spanned;

use super::Sink;
use super::cycles::CallEdge;
use super::links::LinkTable;
use super::messaging::Messaging;
use super::raw::{RawCall, RawFallback, RawFile, Val};
use super::validate::{Names, check_name, closest, read_call, val_span};
use super::values::seg;
use crate::model::{Call, EndpointId, Protocol, ProtocolProfile, Route, ServiceId};

/// Most fallbacks chained behind one call (`fallback = { …, fallback = { … } }`).
const MAX_FALLBACK_DEPTH: usize = 4;
/// Most targets in one `one_of`.
const MAX_TARGETS: usize = 64;
/// Most calls one endpoint may make, its sites and their other targets and fallbacks
/// together: calls are numbered with 16 bits in the engine, and no endpoint needs this many.
pub(super) const MAX_ENDPOINT_CALLS: usize = 10_000;

/// The caller's context while its calls are read.
pub(super) struct Caller<'a> {
    pub names: &'a Names,
    pub service: ServiceId,
    pub endpoint: EndpointId,
    pub links: &'a mut LinkTable,
    pub messaging: &'a mut Messaging,
    /// Every sync call edge, for the cycle check (targets of `one_of` and fallbacks too).
    pub edges: &'a mut Vec<CallEdge>,
    /// The endpoint's calls reached through a site; indices here are relative until
    /// [`offset_routed`] adds the number of sites.
    pub routed: &'a mut Vec<Call>,
}

/// One entry of `calls`: the call made for the site's first (or only) target, with its draw
/// (`p`, `one_of`) and fallback; the other targets and fallbacks go to `caller.routed`.
pub(super) fn read_site(
    sink: &mut Sink,
    call: &Spanned<RawCall>,
    path: &str,
    caller: &mut Caller,
) -> Option<Call> {
    let (span, c) = (call.span(), call.get_ref());
    let p =
        c.p.as_ref()
            .and_then(|_| sink.probability(&c.p, &format!("{path}.p")));
    let Some(one_of) = &c.one_of else {
        let mut site = read_with_fallback(sink, c, &c.to, path, span, caller, 0)?;
        site.route = p.map(|p| {
            Box::new(Route {
                stream: 0,
                p,
                others: Vec::new(),
                first_share: 1.0,
            })
        });
        return Some(site);
    };
    if let Some(to) = &c.to {
        let msg = format!(
            "{path} has both to and one_of; give one target (to) or weighted targets (one_of)"
        );
        sink.error(to.span(), msg);
        return None;
    }
    let targets = one_of.get_ref();
    if targets.is_empty() || targets.len() > MAX_TARGETS {
        let msg = format!(
            "{path}.one_of has {} targets; allowed: 1 to {MAX_TARGETS} entries {{ to = \
             \"service/endpoint\", weight = N }}",
            targets.len()
        );
        sink.error(one_of.span(), msg);
        return None;
    }
    let mut weights = Vec::with_capacity(targets.len());
    let mut first = None;
    let mut others = Vec::new();
    for (k, t) in targets.iter().enumerate() {
        let tpath = format!("{path}.one_of[{k}]");
        let w = match &t.get_ref().weight {
            None => Some(1.0),
            Some(_) => sink.number(
                &t.get_ref().weight,
                &format!("{tpath}.weight"),
                0.0,
                1e12,
                false,
            ),
        };
        if t.get_ref().to.is_none() {
            let msg = format!("{tpath} is missing its target: add to = \"service/endpoint\"");
            sink.error(t.span(), msg);
        }
        let made = read_with_fallback(sink, c, &t.get_ref().to, &tpath, t.span(), caller, 0);
        let (Some(w), Some(made)) = (w, made) else {
            continue;
        };
        weights.push(w);
        if first.is_none() {
            first = Some(made);
        } else {
            others.push(push_routed(caller, made));
        }
    }
    if weights.len() != targets.len() {
        return None;
    }
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        let msg =
            format!("{path}.one_of: every weight is 0; at least one target needs a weight > 0");
        sink.error(one_of.span(), msg);
        return None;
    }
    let mut site = first?;
    let mut cum = weights[0];
    let others = others
        .into_iter()
        .zip(&weights[1..])
        .map(|(i, w)| {
            cum += w;
            (i, (cum / total).min(1.0))
        })
        .collect();
    site.route = Some(Box::new(Route {
        stream: 0,
        p: p.unwrap_or(1.0),
        others,
        first_share: weights[0] / total,
    }));
    Some(site)
}

/// A call to `to` with the settings of `c`, and its fallback (flag or call) read.
fn read_with_fallback(
    sink: &mut Sink,
    c: &RawCall,
    to: &Val,
    path: &str,
    span: Range<usize>,
    caller: &mut Caller,
    depth: usize,
) -> Option<Call> {
    let mut call = read_call(sink, c, to, path, span.clone(), caller)?;
    caller.edges.push(CallEdge {
        from: caller.endpoint.0,
        to: call.to.0,
        span,
    });
    let Some(fallback) = &c.fallback else {
        return Some(call);
    };
    let fpath = format!("{path}.fallback");
    match fallback.get_ref() {
        RawFallback::Flag(b) => call.resilience.fallback = *b,
        RawFallback::Other(what) => {
            let msg = format!(
                "{fpath} = {what}: allowed: true (a degraded success), false, or a call \
                 {{ to = \"service/endpoint\", … }} made instead"
            );
            sink.error(fallback.span(), msg);
        }
        RawFallback::Call(f) => {
            if depth + 1 > MAX_FALLBACK_DEPTH {
                let msg = format!(
                    "{fpath}: more than {MAX_FALLBACK_DEPTH} fallbacks chained behind one call"
                );
                sink.error(fallback.span(), msg);
                return Some(call);
            }
            refuse_draws(sink, f, &fpath, fallback.span());
            if f.to.is_none() {
                let msg = format!("{fpath} is missing its target: add to = \"service/endpoint\"");
                sink.error(fallback.span(), msg);
                return Some(call);
            }
            let made =
                read_with_fallback(sink, f, &f.to, &fpath, fallback.span(), caller, depth + 1);
            if let Some(made) = made {
                call.fallback_call = Some(push_routed(caller, made));
            }
        }
    }
    Some(call)
}

/// A fallback is one call: the draw keys belong to the call site.
fn refuse_draws(sink: &mut Sink, f: &RawCall, path: &str, span: Range<usize>) {
    if let Some(p) = &f.p {
        let msg = format!("{path}.p is not allowed: a fallback is made whenever its call fails");
        sink.error(p.span(), msg);
    }
    if f.one_of.is_some() {
        let msg = format!("{path}.one_of is not allowed: a fallback has one target (to)");
        sink.error(span, msg);
    }
}

/// Stores a routed call, returning its index relative to the endpoint's routed calls.
fn push_routed(caller: &mut Caller, call: Call) -> u16 {
    caller.routed.push(call);
    u16::try_from(caller.routed.len() - 1).unwrap_or(u16::MAX)
}

/// Refuses an endpoint with more calls than the engine numbers.
pub(super) fn check_call_count(
    sink: &mut Sink,
    sites: usize,
    routed: usize,
    path: &str,
    span: Range<usize>,
) {
    let total = sites + routed;
    if total > MAX_ENDPOINT_CALLS {
        let msg = format!(
            "{path}.calls: {total} calls ({sites} entries, {routed} more targets of one_of and \
             fallbacks); at most {MAX_ENDPOINT_CALLS} are allowed per endpoint"
        );
        sink.error(span, msg);
    }
}

/// Turns the routed indices of an endpoint's calls (relative while reading) into indices
/// for `Endpoint::call`, now that the number of sites is known.
pub(super) fn offset_routed(sites: &mut [Call], routed: &mut [Call]) {
    let base = u16::try_from(sites.len()).unwrap_or(u16::MAX);
    for c in sites.iter_mut().chain(routed.iter_mut()) {
        if let Some(f) = c.fallback_call.as_mut() {
            *f = f.saturating_add(base);
        }
        if let Some(r) = c.route.as_mut() {
            for (i, _) in r.others.iter_mut() {
                *i = i.saturating_add(base);
            }
        }
    }
}

/// Numbers the draw streams of all routed sites, in endpoint then site order.
pub(super) fn number_routes(endpoints: &mut [crate::model::Endpoint]) -> u32 {
    let mut n = 0u32;
    for ep in endpoints {
        for c in &mut ep.calls {
            if let Some(r) = c.route.as_mut() {
                r.stream = n;
                n += 1;
            }
        }
    }
    n
}

/// `[protocol.NAME]` profiles, in file order.
pub(super) fn read_protocols(sink: &mut Sink, raw: &RawFile) -> Vec<ProtocolProfile> {
    let mut out = Vec::new();
    for (key, p) in &raw.protocol.0 {
        check_name(sink, key, "protocol");
        let name = key.get_ref();
        let path = format!("protocol.{}", seg(name));
        if Protocol::parse(name).is_some() {
            let msg = format!(
                "[{path}] would redefine the built-in protocol \"{name}\"; built-in: {}; give \
                 yours another name",
                Protocol::ALLOWED
            );
            sink.error(key.span(), msg);
            continue;
        }
        if p.overhead.is_none() {
            let msg = format!(
                "missing required key {path}.overhead (the cost per message crossing, a \
                 distribution such as \"0.2ms\" or \"exp(0.2ms)\")"
            );
            sink.error(key.span(), msg);
            continue;
        }
        if let Some(overhead) = sink.dist(&p.overhead, &format!("{path}.overhead")) {
            out.push(ProtocolProfile {
                name: name.clone(),
                overhead,
            });
        }
    }
    out
}

/// A call's `protocol`: built-in or declared with `[protocol.NAME]`; default none.
pub(super) fn read_protocol(sink: &mut Sink, v: &Val, path: &str, names: &Names) -> Protocol {
    let Some(text) = sink.string(v, path) else {
        return Protocol::None;
    };
    if let Some(p) = Protocol::parse(&text) {
        return p;
    }
    if let Some(i) = names.protocols.iter().position(|n| *n == text) {
        return Protocol::User(u16::try_from(i).unwrap_or(u16::MAX));
    }
    let mut known: Vec<String> = ["none", "rest", "grpc"].map(String::from).to_vec();
    known.extend(names.protocols.iter().cloned());
    let hint = closest(&text, &known)
        .map(|b| format!("; did you mean \"{b}\"?"))
        .unwrap_or_default();
    let msg = format!(
        "unknown protocol \"{text}\" in {path}; allowed: {} (or declare [protocol.{}] with an \
         overhead){hint}",
        known.join(", "),
        seg(&text)
    );
    sink.error(val_span(v), msg);
    Protocol::None
}

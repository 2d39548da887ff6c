//! A trace as OpenTelemetry's OTLP JSON (the `ExportTraceServiceRequest` message in its
//! protobuf JSON form): what Jaeger, Grafana Tempo or an OpenTelemetry Collector accept.
//!
//! - One `resourceSpans` entry per service (`service.name`): the client, each service, each
//!   broker; a network hop belongs to the service of the span it is part of (the caller for
//!   a call's hops, the consumer for an ack).
//! - Ids derive from the scenario's name, the seed and the request's number (FNV-1a), so the
//!   same run gives the same bytes: a 32-hex trace id, and 16-hex span ids whose upper half
//!   is the trace's and lower half the span's number + 1 (never zero).
//! - Times are Unix nanoseconds counted from simulated time 0 (a viewer shows 1970-01-01),
//!   or from `--epoch`'s instant, as strings, as the protobuf JSON mapping writes 64-bit
//!   integers.
//! - Kinds: the request and its calls are CLIENT, a replica serving a request SERVER, a
//!   publish PRODUCER, a consumer's delivery CONSUMER, everything else (hops, queue waits,
//!   work, timeouts, waits in a broker, dead-lettering, refusals, and any kind added later,
//!   such as a sidecar crossing) INTERNAL.
//! - Names are the text waterfall's labels, so siblings differ in a viewer's tree:
//!   `gateway/checkout` serves, `gateway/checkout queue wait` and `gateway/checkout work`
//!   are its parts, `timeout (client:checkout)` an attempt's timeout.
//! - Spans are written in start order; at one instant a parent before its child (by the
//!   parent tree, not the text's drawing depth), then hop, queue wait, work.
//! - A failed span has status ERROR with the human reason (a refusal's `meshsim.reason`)
//!   or else the meshsim cause as its message, the cause in `meshsim.cause`; every span
//!   carries `meshsim.kind`, `meshsim.track` and its own
//!   `meshsim.*` attributes.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{Value, json};
use sim_core::rng::fnv1a64;
use sim_core::trace::{Span, SpanKind, Trace};

/// OTLP's `Span.SpanKind` values.
const INTERNAL: u8 = 1;
const SERVER: u8 = 2;
const CLIENT: u8 = 3;
const PRODUCER: u8 = 4;
const CONSUMER: u8 = 5;
/// OTLP's `Status.StatusCode.STATUS_CODE_ERROR`.
const STATUS_ERROR: u8 = 2;

/// The trace id's two halves, from what identifies the traced request.
fn trace_halves(trace: &Trace) -> (u64, u64) {
    let who = format!("{}\0{}\0{}", trace.scenario, trace.seed, trace.request);
    let hi = fnv1a64(format!("meshsim trace\0{who}").as_bytes());
    let lo = fnv1a64(format!("meshsim trace id\0{who}").as_bytes()) | 1;
    (hi, lo)
}

fn span_id(hi: u64, id: u32) -> String {
    format!(
        "{:016x}",
        (hi & 0xffff_ffff_0000_0000) | (u64::from(id) + 1)
    )
}

fn otlp_kind(kind: SpanKind) -> u8 {
    match kind {
        SpanKind::Request | SpanKind::Call => CLIENT,
        SpanKind::Serve => SERVER,
        SpanKind::Publish => PRODUCER,
        SpanKind::Consume => CONSUMER,
        _ => INTERNAL,
    }
}

/// The service a track belongs to: `gateway#1` -> `gateway`, `client:checkout` -> `client`,
/// `kafka/email-jobs` -> `kafka`; `None` for a link (`a->b`).
fn track_service(track: &str) -> Option<&str> {
    if track.starts_with("client:") {
        return Some("client");
    }
    if let Some((service, _)) = track.split_once('#') {
        return Some(service);
    }
    if track.contains("->") {
        return None;
    }
    Some(track.split('/').next().unwrap_or(track))
}

/// A failure cause, or `None` for a success (`ok`, `degraded`) or no outcome.
fn failure(outcome: Option<&str>) -> Option<&str> {
    outcome.filter(|o| !matches!(*o, "ok" | "degraded" | "in flight"))
}

fn string_attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// Writes the trace as an OTLP `ExportTraceServiceRequest` in JSON, on one line: the OTLP
/// file format (JSON Lines, one request a line) that the Collector's file exporter writes
/// and viewers' file upload reads, and plain JSON too. Each span is built and written on
/// its own: a JSON tree of 100,000 spans would hold ~9 KB
/// each, ten times what the written line takes.
pub fn write_otlp_json<W: Write>(w: W, trace: &Trace) -> io::Result<()> {
    write_otlp_json_at(w, trace, 0)
}

/// [`write_otlp_json`] with simulated time 0 at `epoch_ns` Unix nanoseconds (`meshsim
/// trace --epoch`), so a viewer's default "last days" range shows the trace. Times past
/// `u64::MAX` saturate; the command line bounds the epoch far below that.
pub fn write_otlp_json_at<W: Write>(mut w: W, trace: &Trace, epoch_ns: u64) -> io::Result<()> {
    let (hi, lo) = trace_halves(trace);
    let trace_id = format!("{hi:016x}{lo:016x}");
    let by_id: BTreeMap<u32, &Span> = trace.spans.iter().map(|s| (s.id, s)).collect();
    // A hop's service is its parent's (looked up a bounded number of levels).
    let service_of = |s: &Span| -> String {
        let mut cur = s;
        for _ in 0..64 {
            if let Some(svc) = track_service(&cur.track) {
                return svc.to_string();
            }
            match cur.parent.and_then(|p| by_id.get(&p)) {
                Some(p) => cur = p,
                None => break,
            }
        }
        "network".to_string()
    };
    let levels = tree_levels(&trace.spans, &by_id);
    let mut spans: Vec<&Span> = trace.spans.iter().collect();
    spans.sort_by_key(|s| {
        let level = levels.get(&s.id).copied().unwrap_or(0);
        (
            s.start,
            level,
            super::rank(s.kind),
            std::cmp::Reverse(s.end),
            s.id,
        )
    });
    // Services in order of their first span, each with its spans in start order.
    let mut services: Vec<(String, Vec<&Span>)> = Vec::new();
    for s in spans {
        let service = service_of(s);
        match services.iter_mut().find(|(n, _)| *n == service) {
            Some((_, list)) => list.push(s),
            None => services.push((service, vec![s])),
        }
    }
    write!(w, "{{\"resourceSpans\":[")?;
    for (i, (service, spans)) in services.iter().enumerate() {
        let resource = json!({"attributes": [
            string_attr("service.name", service),
            string_attr("meshsim.scenario", &trace.scenario),
        ]});
        let scope = json!({"name": "meshsim", "version": env!("CARGO_PKG_VERSION")});
        let comma = if i > 0 { "," } else { "" };
        write!(
            w,
            "{comma}{{\"resource\":{resource},\"scopeSpans\":[{{\"scope\":{scope},\"spans\":["
        )?;
        for (k, s) in spans.iter().enumerate() {
            let comma = if k > 0 { "," } else { "" };
            write!(w, "{comma}{}", otlp_span(trace, s, hi, &trace_id, epoch_ns))?;
        }
        write!(w, "]}}]}}")?;
    }
    writeln!(w, "]}}")
}

/// Each span's level in the parent tree (0 for the root). `depth` is the drawing depth of
/// the text views, where a serving span and its queue wait share a level; sorting by it let
/// a child precede its parent at the same instant. Walks each chain once (memoised), so
/// O(spans) whatever the shape; a chain that does not end (a cycle) stops at the span count.
fn tree_levels(spans: &[Span], by_id: &BTreeMap<u32, &Span>) -> BTreeMap<u32, u32> {
    let mut levels: BTreeMap<u32, u32> = BTreeMap::new();
    let mut chain = Vec::new();
    for s in spans {
        chain.clear();
        let mut cur = Some(s);
        let mut base = 0;
        while let Some(c) = cur {
            if let Some(&l) = levels.get(&c.id) {
                base = l + 1;
                break;
            }
            if chain.len() > spans.len() {
                break;
            }
            chain.push(c.id);
            cur = c.parent.and_then(|p| by_id.get(&p).copied());
        }
        for (k, id) in chain.iter().rev().enumerate() {
            levels.entry(*id).or_insert(base + k as u32);
        }
    }
    levels
}

/// The span's name in a viewer: the text waterfall's label without its timing, so that
/// siblings differ (a serving span's queue wait and work, a timeout on its track, each
/// delivery of a message), as a viewer's tree shows names only.
fn otlp_name(s: &Span) -> String {
    let name = base_name(s);
    // A retried call's attempts hang from the same call: the second and later say which.
    match s.attribute("meshsim.attempt") {
        Some(n) if n != "1" => format!("{name} (attempt {n})"),
        _ => name,
    }
}

fn base_name(s: &Span) -> String {
    match s.kind {
        SpanKind::Queue => format!("{} queue wait", s.name),
        SpanKind::Work => format!("{} work", s.name),
        SpanKind::Wait | SpanKind::Timeout | SpanKind::Refused => super::shared_label(s),
        _ => s.name.clone(),
    }
}

fn otlp_span(trace: &Trace, s: &Span, hi: u64, trace_id: &str, epoch_ns: u64) -> Value {
    let mut attributes = vec![
        string_attr("meshsim.kind", s.kind.name()),
        string_attr("meshsim.track", &s.track),
        json!({"key": "meshsim.depth", "value": {"intValue": s.depth.to_string()}}),
    ];
    if let Some(o) = &s.outcome {
        attributes.push(string_attr("meshsim.outcome", o));
    }
    let cause = failure(s.outcome.as_deref());
    let has_cause = s.attribute("meshsim.cause").is_some();
    if let (Some(c), false) = (cause, has_cause) {
        attributes.push(string_attr("meshsim.cause", c));
    }
    for (k, v) in &s.attributes {
        attributes.push(string_attr(k, v));
    }
    if s.parent.is_none() {
        attributes.push(string_attr("meshsim.workload", &trace.workload));
        attributes.push(string_attr("meshsim.seed", &trace.seed.to_string()));
        attributes.push(string_attr("meshsim.request", &trace.request.to_string()));
        if let Some(k) = trace.flow_instance {
            attributes.push(string_attr("meshsim.flow_instance", &k.to_string()));
        }
        if trace.truncated {
            attributes.push(json!({"key": "meshsim.truncated", "value": {"boolValue": true}}));
            attributes.push(string_attr("meshsim.note", &super::truncated_note()));
        }
    }
    let mut span = json!({
        "traceId": trace_id,
        "spanId": span_id(hi, s.id),
        "name": otlp_name(s),
        "kind": otlp_kind(s.kind),
        "startTimeUnixNano": epoch_ns.saturating_add(s.start.0).to_string(),
        "endTimeUnixNano": epoch_ns.saturating_add(s.end.0).to_string(),
        "attributes": attributes,
    });
    if let Some(p) = s.parent {
        span["parentSpanId"] = json!(span_id(hi, p));
    }
    if let Some(c) = cause {
        // The human reason where there is one (a refusal's), which viewers show as the
        // error; the cause stays in `meshsim.cause`.
        let message = s.attribute("meshsim.reason").unwrap_or(c);
        span["status"] = json!({"code": STATUS_ERROR, "message": message});
    }
    span
}

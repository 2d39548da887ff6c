//! One request's life, printed: Chrome trace-event JSON (opens in Perfetto or
//! chrome://tracing) and a text waterfall for the terminal.
//!
//! Times in the trace-event file are microseconds from the request's start (fractions keep
//! the nanoseconds); each track (the client, a replica, a link) is one thread row. The
//! OpenTelemetry export (OTLP JSON) is in `trace/otlp.rs`.
//!
//! The serving spans ([`SpanKind::Serve`], [`SpanKind::Consume`]) exist for OTLP's tree;
//! these two views show their parts (queue wait, work, calls) instead, as they always did.

pub mod otlp;

use std::io::{self, Write};

use serde_json::{Value, json};
use sim_core::trace::{SpanKind, Trace};

/// Where a span goes among siblings that start at the same instant: the outer span first,
/// then hop, queue, work (a zero-length queue wait before the work it led to).
pub(crate) fn rank(k: SpanKind) -> u8 {
    match k {
        SpanKind::Request | SpanKind::Call | SpanKind::Publish | SpanKind::Ack => 0,
        SpanKind::Wait | SpanKind::Refused | SpanKind::DeadLetter => 1,
        SpanKind::Network => 2,
        SpanKind::Queue => 3,
        SpanKind::Work => 4,
        _ => 5,
    }
}

/// Spans in start order; at equal starts the outer span first, then hop, queue, work.
fn ordered(trace: &Trace) -> Vec<&sim_core::trace::Span> {
    let mut spans: Vec<_> = trace
        .spans
        .iter()
        .filter(|s| !matches!(s.kind, SpanKind::Serve | SpanKind::Consume))
        .collect();
    spans.sort_by_key(|s| (s.start, s.depth, rank(s.kind), std::cmp::Reverse(s.end)));
    spans
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

/// The trace as a Chrome trace-event JSON document.
pub fn to_chrome_json(trace: &Trace) -> Value {
    let mut tracks: Vec<&str> = Vec::new();
    let spans = ordered(trace);
    for s in &spans {
        if !tracks.contains(&s.track.as_str()) {
            tracks.push(&s.track);
        }
    }
    let mut events: Vec<Value> = tracks
        .iter()
        .enumerate()
        .map(|(tid, name)| {
            json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": name}})
        })
        .collect();
    events.push(json!({"name": "process_name", "ph": "M", "pid": 1, "tid": 0,
        "args": {"name": format!("{} seed={} request #{}", trace.scenario, trace.seed, trace.request)}}));
    for s in spans {
        let tid = tracks.iter().position(|t| *t == s.track).unwrap_or(0);
        let mut args = json!({"depth": s.depth, "start_ns": s.start.0, "duration_ns": s.duration().as_nanos()});
        if let Some(o) = &s.outcome {
            args["outcome"] = json!(o);
        }
        for (k, v) in &s.attributes {
            args[k.trim_start_matches("meshsim.")] = json!(v);
        }
        events.push(json!({
            "name": s.name,
            "cat": s.kind.name(),
            "ph": "X",
            "ts": us(s.start.0.saturating_sub(trace.start.0)),
            "dur": us(s.duration().as_nanos()),
            "pid": 1,
            "tid": tid,
            "args": args,
        }));
    }
    let mut doc = json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "meshsim": env!("CARGO_PKG_VERSION"),
            "scenario": trace.scenario,
            "seed": trace.seed,
            "request": trace.request,
            "workload": trace.workload,
            "outcome": trace.outcome,
            "latency_ms": trace.latency.as_nanos() as f64 / 1e6,
        },
    });
    if let Some(k) = trace.flow_instance {
        doc["otherData"]["flow_instance"] = json!(k);
    }
    if trace.truncated {
        doc["otherData"]["truncated"] = json!(true);
        doc["otherData"]["note"] = json!(truncated_note());
    }
    doc
}

/// `(delivery 2, after a nack)` for a redelivered copy's wait; nothing for a first one.
fn delivery_note(s: &sim_core::trace::Span) -> String {
    match (
        s.attribute("meshsim.delivery"),
        s.attribute("meshsim.redelivered_after"),
    ) {
        (Some(n), Some(why)) => format!(" (delivery {n}, after a {why})"),
        _ => String::new(),
    }
}

/// The label the waterfall and OTLP's span names share, for the kinds whose name alone
/// would repeat among siblings: a timeout names its track, a redelivery its number, a
/// refusal its cause, track and reason.
pub(crate) fn shared_label(s: &sim_core::trace::Span) -> String {
    match s.kind {
        SpanKind::Timeout => format!("timeout ({})", s.track),
        SpanKind::Wait => format!("{}{}", s.name, delivery_note(s)),
        SpanKind::Refused => format!(
            "{} on {}: {}",
            s.outcome.as_deref().unwrap_or("refused"),
            s.track,
            s.name
        ),
        _ => s.name.clone(),
    }
}

/// ` (crashed)` after a queue wait or work its replica's crash cut short.
fn cut_short(s: &sim_core::trace::Span) -> String {
    s.outcome
        .as_deref()
        .map(|o| format!(" ({o})"))
        .unwrap_or_default()
}

/// Said when a trace hit its span cap.
pub(crate) fn truncated_note() -> String {
    format!(
        "truncated: this request caused more than {} spans; only the first ones and the \
         request's own are shown",
        sim_core::trace::MAX_TRACE_SPANS
    )
}

pub fn write_chrome_json<W: Write>(mut w: W, trace: &Trace) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, &to_chrome_json(trace))?;
    writeln!(w)
}

/// The trace as an indented waterfall: one line per span, in start order, with a bar
/// showing where it falls within the request.
pub fn write_waterfall<W: Write>(mut w: W, trace: &Trace) -> io::Result<()> {
    const WIDTH: usize = 40;
    writeln!(
        w,
        "seed={} scenario={} request=#{} workload={} outcome={} latency={:.3} ms",
        trace.seed,
        trace.scenario,
        trace.request,
        trace.workload,
        trace.outcome,
        trace.latency.as_millis_f64()
    )?;
    if let Some(k) = trace.flow_instance {
        writeln!(
            w,
            "flow instance #{k}: the trace follows it past the client's answer, through every \
             step and compensation"
        )?;
    }
    if trace.truncated {
        writeln!(w, "{}", truncated_note())?;
    }
    writeln!(w)?;
    // The bars span the request, or everything it set going when that outlasts it (a
    // consumer still working after the publisher's client had its answer).
    let last = trace
        .spans
        .iter()
        .map(|s| s.end)
        .max()
        .unwrap_or(trace.start);
    let total = last
        .since(trace.start)
        .as_nanos()
        .max(trace.latency.as_nanos())
        .max(1) as f64;
    let spans = ordered(trace);
    writeln!(
        w,
        "  {:>10}  {:>10}  {:<8}  span",
        "start ms", "dur ms", "kind"
    )?;
    for s in spans {
        let from = s.start.0.saturating_sub(trace.start.0) as f64 / total;
        let len = s.duration().as_nanos() as f64 / total;
        let a = ((from * WIDTH as f64).floor() as usize).min(WIDTH);
        let b = (((from + len) * WIDTH as f64).ceil() as usize).clamp(a, WIDTH);
        let bar: String = (0..WIDTH)
            .map(|i| if i >= a && i < b.max(a + 1) { '#' } else { '.' })
            .collect();
        let label = match s.kind {
            SpanKind::Network | SpanKind::Ack => format!("{} (network)", s.name),
            SpanKind::Queue => format!("{} queue wait on {}{}", s.name, s.track, cut_short(s)),
            SpanKind::Work => format!("{} work on {}{}", s.name, s.track, cut_short(s)),
            SpanKind::Request | SpanKind::Call | SpanKind::Publish => {
                format!("{} -> {}", s.name, s.outcome.as_deref().unwrap_or("?"))
            }
            SpanKind::Wait | SpanKind::Timeout | SpanKind::Refused => shared_label(s),
            _ => s.name.clone(),
        };
        writeln!(
            w,
            "  {:>10.3}  {:>10.3}  {:<8}  |{bar}| {}{label}",
            s.start.0.saturating_sub(trace.start.0) as f64 / 1e6,
            s.duration().as_millis_f64(),
            s.kind.name(),
            "  ".repeat(s.depth as usize),
        )?;
    }
    Ok(())
}

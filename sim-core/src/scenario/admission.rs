//! `rate_limit = { rate, burst, per }` (services and workloads), `shed = { queue_time }`
//! (services) and a workload's `priority`.

use toml::Spanned;

use super::Sink;
use super::raw::{RawRateLimit, RawService, RawShed, Val};
use super::validate::val_span;
use crate::model::{AdaptiveLimit, Admission, Priority, RateLimit, Shed};
use crate::time::SimDuration;

/// Highest refill rate, tokens per second (the workloads' highest rate).
const MAX_RATE_PER_S: f64 = 1e9;
/// A request slower than this at the replica counts as a drop for the adaptive limit.
const DEFAULT_ADAPTIVE_TIMEOUT: SimDuration = SimDuration::from_millis(100);
/// Largest bucket.
const MAX_BURST: i64 = 1_000_000_000;

/// A service's `rate_limit` and `shed`; `None` when it has neither.
pub(super) fn read_admission(
    sink: &mut Sink,
    s: &RawService,
    path: &str,
    workers: u32,
) -> Option<Admission> {
    let rate_limit = s
        .rate_limit
        .as_ref()
        .and_then(|r| read_rate_limit(sink, r, &format!("{path}.rate_limit"), true));
    let (shed, adaptive) = s.shed.as_ref().map_or((None, None), |r| {
        read_shed(sink, r, &format!("{path}.shed"), workers)
    });
    (rate_limit.is_some() || shed.is_some() || adaptive.is_some()).then_some(Admission {
        rate_limit,
        shed,
        adaptive,
    })
}

/// `{ rate, burst, per }`: `rate` tokens/s > 0 with at most three decimals (the bucket counts
/// thousandths exactly), `burst` >= 1 (default: 1), `per` only on services.
pub(super) fn read_rate_limit(
    sink: &mut Sink,
    r: &Spanned<RawRateLimit>,
    path: &str,
    on_service: bool,
) -> Option<RateLimit> {
    let raw = r.get_ref();
    let rate = sink.number(
        &raw.rate,
        &format!("{path}.rate"),
        0.0,
        MAX_RATE_PER_S,
        true,
    );
    if raw.rate.is_none() {
        let msg = format!("missing required key {path}.rate (tokens per second, > 0)");
        sink.error(r.span(), msg);
    }
    let milli = rate.and_then(|x| {
        let m = (x * 1000.0).round();
        if (x * 1000.0 - m).abs() > 1e-6 {
            let msg = format!(
                "{path}.rate = {x} has more than three decimals; allowed: a number > 0 in \
                 steps of 0.001"
            );
            sink.error(val_span(&raw.rate), msg);
            return None;
        }
        Some(m as u64)
    });
    let burst = sink.int(&raw.burst, &format!("{path}.burst"), 1, MAX_BURST);
    let per_replica = read_per(sink, &raw.per, path, on_service);
    Some(RateLimit {
        rate_milli_per_s: milli?,
        burst: u32::try_from(burst.unwrap_or(1)).ok()?,
        per_replica,
    })
}

/// `per = "service" | "replica"` (services only).
fn read_per(sink: &mut Sink, v: &Val, path: &str, on_service: bool) -> bool {
    let Some(text) = sink.string(v, &format!("{path}.per")) else {
        return false;
    };
    if !on_service {
        let msg = format!(
            "{path}.per applies to a service's rate_limit only (a workload has one client bucket)"
        );
        sink.error(val_span(v), msg);
        return false;
    }
    match text.as_str() {
        "service" => false,
        "replica" => true,
        other => {
            let msg = format!("unknown {path}.per \"{other}\"; allowed: service, replica");
            sink.error(val_span(v), msg);
            false
        }
    }
}

/// `{ queue_time = D }` with D > 0, and/or `{ concurrency = "adaptive", timeout = T }`.
fn read_shed(
    sink: &mut Sink,
    r: &Spanned<RawShed>,
    path: &str,
    workers: u32,
) -> (Option<Shed>, Option<AdaptiveLimit>) {
    let raw = r.get_ref();
    if raw.queue_time.is_none() && raw.concurrency.is_none() {
        let msg = format!(
            "{path} needs queue_time (a duration > 0) or concurrency = \"adaptive\", or both"
        );
        sink.error(r.span(), msg);
        return (None, None);
    }
    let adaptive = read_adaptive(sink, raw, path, workers);
    let queue_time = sink.duration(&raw.queue_time, &format!("{path}.queue_time"));
    if queue_time == Some(SimDuration::ZERO) {
        let msg = format!(
            "{path}.queue_time = \"0s\" would shed everything that waits; allowed: a duration > 0"
        );
        sink.error(val_span(&raw.queue_time), msg);
        return (None, adaptive);
    }
    (queue_time.map(|queue_time| Shed { queue_time }), adaptive)
}

/// `concurrency = "adaptive"` and its `timeout` (default 100 ms).
fn read_adaptive(
    sink: &mut Sink,
    raw: &RawShed,
    path: &str,
    workers: u32,
) -> Option<AdaptiveLimit> {
    let timeout = sink.duration(&raw.timeout, &format!("{path}.timeout"));
    let concurrency = sink.string(&raw.concurrency, &format!("{path}.concurrency"));
    match concurrency.as_deref() {
        None => {
            if raw.timeout.is_some() {
                let msg = format!("{path}.timeout applies with concurrency = \"adaptive\" only");
                sink.error(val_span(&raw.timeout), msg);
            }
            return None;
        }
        Some("adaptive") => {}
        Some(other) => {
            let msg = format!("unknown {path}.concurrency \"{other}\"; allowed: adaptive");
            sink.error(val_span(&raw.concurrency), msg);
            return None;
        }
    }
    if timeout == Some(SimDuration::ZERO) {
        let msg = format!("{path}.timeout = \"0s\": allowed: a duration > 0");
        sink.error(val_span(&raw.timeout), msg);
        return None;
    }
    Some(AdaptiveLimit {
        timeout: timeout.unwrap_or(DEFAULT_ADAPTIVE_TIMEOUT),
        initial: workers,
        max: workers.saturating_mul(10),
    })
}

/// A workload's `priority` (default `critical`).
pub(super) fn read_priority(sink: &mut Sink, v: &Val, path: &str) -> Priority {
    let Some(text) = sink.string(v, &format!("{path}.priority")) else {
        return Priority::default();
    };
    Priority::parse(&text).unwrap_or_else(|| {
        let msg = format!(
            "unknown priority \"{text}\" in {path}.priority; allowed: {}",
            Priority::ALLOWED
        );
        sink.error(val_span(v), msg);
        Priority::default()
    })
}

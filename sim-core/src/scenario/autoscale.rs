//! `[service.NAME.autoscale]`: the autoscaler's keys, checked where they enter.

use toml::Spanned;

use super::Sink;
use super::raw::{RawAutoscale, Val};
use super::validate::{closest, val_span};
use crate::dist::Dist;
use crate::model::{Autoscale, ScaleIn, ScaleMetric};
use crate::time::SimDuration;

/// Most intervals one metric window may span: the autoscaler keeps one sample per interval
/// of the window (counted in the memory estimate).
pub const MAX_WINDOW_INTERVALS: u64 = 10_000;
/// Most intervals the scale-down stabilization may span: one recommendation each is kept.
pub const MAX_STABILIZATION_INTERVALS: u64 = 100_000;
const DEFAULT_INTERVAL: SimDuration = SimDuration::from_secs(15);
const DEFAULT_STABILIZATION: SimDuration = SimDuration::from_secs(300);
const DEFAULT_PROVISION: SimDuration = SimDuration::from_secs(30);
const DEFAULT_TOLERANCE: f64 = 0.1;
/// The largest metric target: far above any metric a run can produce.
const MAX_TARGET: f64 = 1e12;

/// A service's autoscaler; `replicas` is the service's `replicas` key (the start), checked
/// here against `min` and `max`. `None` after an error (already reported).
pub(super) fn read_autoscale(
    sink: &mut Sink,
    a: &Spanned<RawAutoscale>,
    path: &str,
    replicas: (&Val, Option<i64>),
    max_replicas: i64,
) -> Option<Box<Autoscale>> {
    let raw = a.get_ref();
    let path = format!("{path}.autoscale");
    let key = |k: &str| format!("{path}.{k}");
    let metric = read_metric(sink, &raw.metric, &key("metric"));
    let target = sink.number(&raw.target, &key("target"), 0.0, MAX_TARGET, true);
    let min = sink.int(&raw.min, &key("min"), 1, max_replicas);
    let max = sink.int(&raw.max, &key("max"), 1, max_replicas);
    for (v, k, what) in [
        (
            &raw.target,
            "target",
            "the metric value wanted per ready replica, > 0",
        ),
        (&raw.max, "max", "the most replicas, from 1 to 100000"),
    ] {
        if v.is_none() {
            let msg = format!("missing required key {}: {what}", key(k));
            sink.error(a.span(), msg);
        }
    }
    let min = if raw.min.is_none() { Some(1) } else { min };
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        let msg = format!(
            "{} = {lo} is above {} = {hi}; allowed: min <= max",
            key("min"),
            key("max")
        );
        sink.error(val_span(&raw.min), msg);
    }
    let interval = positive(sink, &raw.interval, &key("interval"), DEFAULT_INTERVAL);
    let window = match interval {
        Some(i) if raw.window.is_none() => Some(SimDuration::from_nanos(2 * i.as_nanos())),
        _ => positive(sink, &raw.window, &key("window"), SimDuration::ZERO),
    };
    check_window(sink, &raw.window, &key("window"), interval, window);
    let tolerance = match &raw.tolerance {
        None => Some(DEFAULT_TOLERANCE),
        Some(t) => in_unit_interval(sink, t, &key("tolerance")),
    };
    let stabilization = sink
        .duration(&raw.stabilization, &key("stabilization"))
        .or(raw.stabilization.is_none().then_some(DEFAULT_STABILIZATION));
    if let (Some(s), Some(i)) = (stabilization, interval)
        && s.as_nanos() / i.as_nanos() >= MAX_STABILIZATION_INTERVALS
    {
        let msg = format!(
            "{} = \"{s}\" spans more than {MAX_STABILIZATION_INTERVALS} intervals of \"{i}\"; \
             allowed: a shorter stabilization or a longer interval",
            key("stabilization")
        );
        sink.error(val_span(&raw.stabilization), msg);
    }
    let provision = match &raw.provision {
        None => Some(Dist::Const(DEFAULT_PROVISION)),
        Some(_) => sink.dist(&raw.provision, &key("provision")),
    };
    let scale_in = read_scale_in(sink, &raw.scale_in, &key("scale_in"));
    let max_step_up = sink.int(&raw.max_step_up, &key("max_step_up"), 1, max_replicas);
    let (min, max) = (u32::try_from(min?).ok()?, u32::try_from(max?).ok()?);
    let start = match replicas.1 {
        None if replicas.0.is_some() => return None,
        None => min,
        Some(n) => {
            let n = u32::try_from(n).ok()?;
            if n < min || n > max {
                let msg = format!(
                    "{}.replicas = {n} is outside the autoscaler's range; allowed: from {} = \
                     {min} to {} = {max} (the replicas ready at the start)",
                    path.trim_end_matches(".autoscale"),
                    key("min"),
                    key("max")
                );
                sink.error(val_span(replicas.0), msg);
                return None;
            }
            n
        }
    };
    if min > max {
        return None;
    }
    Some(Box::new(Autoscale {
        metric: metric?,
        target: target?,
        min,
        max,
        start,
        interval: interval?,
        window: window?,
        tolerance: tolerance?,
        stabilization: stabilization?,
        provision: provision?,
        scale_in: scale_in?,
        max_step_up: max_step_up.and_then(|n| u32::try_from(n).ok()),
    }))
}

fn read_metric(sink: &mut Sink, v: &Val, path: &str) -> Option<ScaleMetric> {
    let Some(text) = sink.string(v, path) else {
        return v.is_none().then_some(ScaleMetric::Utilization);
    };
    ScaleMetric::parse(&text).or_else(|| {
        let known: Vec<String> = ScaleMetric::NAMES.iter().map(|s| s.to_string()).collect();
        let hint =
            closest(&text, &known).map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
        let msg = format!(
            "unknown metric \"{text}\" in {path}; allowed: {}{hint}",
            ScaleMetric::NAMES.join(", ")
        );
        sink.error(val_span(v), msg);
        None
    })
}

fn read_scale_in(sink: &mut Sink, v: &Val, path: &str) -> Option<ScaleIn> {
    let Some(text) = sink.string(v, path) else {
        return v.is_none().then_some(ScaleIn::Drain);
    };
    match text.as_str() {
        "drain" => Some(ScaleIn::Drain),
        "kill" => Some(ScaleIn::Kill),
        _ => {
            let known = ["drain".to_string(), "kill".to_string()];
            let hint = closest(&text, &known)
                .map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
            let msg = format!("unknown scale_in \"{text}\" in {path}; allowed: drain, kill{hint}");
            sink.error(val_span(v), msg);
            None
        }
    }
}

/// A duration > 0, or `default` when the key is absent.
fn positive(sink: &mut Sink, v: &Val, path: &str, default: SimDuration) -> Option<SimDuration> {
    if v.is_none() {
        return Some(default);
    }
    let d = sink.duration(v, path)?;
    if d == SimDuration::ZERO {
        let msg = format!("{path} = \"0s\": allowed: a duration > 0");
        sink.error(val_span(v), msg);
        return None;
    }
    Some(d)
}

/// The window is a whole number of intervals, and not too many.
fn check_window(
    sink: &mut Sink,
    v: &Val,
    path: &str,
    interval: Option<SimDuration>,
    window: Option<SimDuration>,
) {
    let (Some(i), Some(w)) = (interval, window) else {
        return;
    };
    let (i_ns, w_ns) = (i.as_nanos(), w.as_nanos());
    if w_ns % i_ns != 0 {
        let msg = format!(
            "{path} = \"{w}\" is not a whole number of intervals of \"{i}\"; allowed: \"{i}\", \
             \"{}\", \"{}\", … (the metric is averaged over whole intervals)",
            SimDuration::from_nanos(2 * i_ns),
            SimDuration::from_nanos(3 * i_ns)
        );
        sink.error(val_span(v), msg);
    } else if w_ns / i_ns > MAX_WINDOW_INTERVALS {
        let msg = format!(
            "{path} = \"{w}\" spans more than {MAX_WINDOW_INTERVALS} intervals of \"{i}\"; \
             allowed: a shorter window or a longer interval"
        );
        sink.error(val_span(v), msg);
    }
}

/// A number in `[0, 1)`.
fn in_unit_interval(sink: &mut Sink, t: &Spanned<toml::Value>, path: &str) -> Option<f64> {
    let v = Some(t.clone());
    let x = sink.number(&v, path, 0.0, 1.0, false)?;
    if x >= 1.0 {
        let msg = format!("{path} = {x} is out of range; allowed: a number from 0 to below 1");
        sink.error(t.span(), msg);
        return None;
    }
    Some(x)
}

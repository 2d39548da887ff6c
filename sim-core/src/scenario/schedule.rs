//! A workload's `rate` as a number, a schedule of `(time, rate)` points or a `"sine(…)"`,
//! and the `[[workload.NAME.spike]]` multipliers on top of it.

use toml::{Spanned, Value};

use super::Sink;
use super::rate_file::parse_rate_csv;
use super::raw::{RawSpike, Val};
use super::values::show;
use crate::rate::{RateCurve, Spike, UserCurve};
use crate::time::{SimDuration, parse_duration};

/// The most requests per second a rate may reach at any time.
const MAX_RATE_PER_S: f64 = 1e9;
/// The most points a schedule may have (a day at one point a second fits).
const MAX_POINTS: usize = 100_000;
/// The most spikes one workload may have.
const MAX_SPIKES: usize = 1_000;
/// The most users a closed loop may have at once.
const MAX_USERS: f64 = 10_000_000.0;
/// The largest spike factor.
const MAX_FACTOR: f64 = 1e6;

/// What a workload's `rate` says.
pub(super) enum Rate {
    /// One number: the rate never changes (the engine's fast path).
    Constant(f64),
    /// A rate that changes over time.
    Curve(RateCurve),
}

/// Reads `rate` (or `rate_file`) and the spikes; `None` (with errors reported) when any of it
/// is invalid.
pub(super) fn read_rate(
    sink: &mut Sink,
    (rate, rate_file): (&Val, &Val),
    spikes: &[Spanned<RawSpike>],
    path: &str,
) -> Option<Rate> {
    let base = match (rate, rate_file) {
        (Some(_), Some(file)) => {
            let msg = format!(
                "{path} has both rate and rate_file; give the rate inline or in a file, not both"
            );
            sink.error(file.span(), msg);
            return None;
        }
        (None, Some(file)) => Rate::Curve(read_file(sink, file, &format!("{path}.rate_file"))?),
        (Some(_), None) => read_inline(sink, rate, path)?,
        (None, None) => return None,
    };
    with_spikes(sink, base, spikes, path)
}

/// `rate = …` written in the scenario.
fn read_inline(sink: &mut Sink, rate: &Val, path: &str) -> Option<Rate> {
    let spanned = rate.as_ref()?;
    let rate_path = format!("{path}.rate");
    let base = match spanned.get_ref() {
        Value::Integer(_) | Value::Float(_) => {
            Rate::Constant(sink.number(rate, &rate_path, 0.0, MAX_RATE_PER_S, false)?)
        }
        Value::Array(points) => Rate::Curve(read_points(sink, spanned, points, &rate_path)?),
        Value::String(text) => Rate::Curve(read_sine(sink, spanned, text, &rate_path)?),
        other => {
            let msg = format!(
                "{rate_path} = {}: expected a number (requests/s), a schedule of \
                 [\"TIME\", RATE] points or \"sine(MEAN, AMPLITUDE, PERIOD[, PHASE])\"",
                show(other)
            );
            sink.error(spanned.span(), msg);
            return None;
        }
    };
    Some(base)
}

/// `rate_file = "traffic.csv"`, read through the caller's [`SideFiles`](super::SideFiles).
fn read_file(sink: &mut Sink, file: &Spanned<Value>, path: &str) -> Option<RateCurve> {
    let Value::String(name) = file.get_ref() else {
        let msg = format!(
            "{path} = {}: expected a file name such as \"traffic.csv\" (next to the scenario)",
            show(file.get_ref())
        );
        sink.error(file.span(), msg);
        return None;
    };
    let parsed = sink
        .side_files
        .read(name)
        .and_then(|text| parse_rate_csv(name, &text, MAX_RATE_PER_S, MAX_POINTS));
    match parsed {
        Ok(points) => Some(RateCurve::from_points(&points)),
        Err(e) => {
            sink.error(file.span(), format!("{path}: {e}"));
            None
        }
    }
}

/// The `[[workload.NAME.spike]]` multipliers on top of `base`.
fn with_spikes(
    sink: &mut Sink,
    base: Rate,
    spikes: &[Spanned<RawSpike>],
    path: &str,
) -> Option<Rate> {
    if spikes.is_empty() {
        return Some(base);
    }
    let mut curve = match base {
        Rate::Constant(r) => RateCurve::constant(r),
        Rate::Curve(c) => c,
    };
    if spikes.len() > MAX_SPIKES {
        let msg = format!(
            "{path}.spike has {} entries; at most {MAX_SPIKES} are allowed",
            spikes.len()
        );
        sink.error(spikes[MAX_SPIKES].span(), msg);
        return None;
    }
    let mut ok = true;
    for (i, spike) in spikes.iter().enumerate() {
        match read_spike(sink, spike, &format!("{path}.spike[{i}]")) {
            Some(s) => curve = curve.with_spike(s),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let peak = curve.max_rate(f64::INFINITY);
    if peak > MAX_RATE_PER_S {
        let msg = format!(
            "{path}: with its spikes the rate reaches {peak} requests/s; at most \
             {MAX_RATE_PER_S} is allowed"
        );
        sink.error(spikes[0].span(), msg);
        return None;
    }
    Some(Rate::Curve(curve))
}

/// `[["0s", 200], ["60s", 1000], …]`: times non-decreasing, rates finite and ≥ 0.
fn read_points(
    sink: &mut Sink,
    spanned: &Spanned<Value>,
    points: &[Value],
    path: &str,
) -> Option<RateCurve> {
    let what = "rate";
    let allowed = format!("a number from 0 to {MAX_RATE_PER_S} (requests/s; 0 sends nothing)");
    let out = read_pairs(
        sink,
        spanned,
        points,
        path,
        (what, MAX_RATE_PER_S, &allowed),
    )?;
    Some(RateCurve::from_points(&out))
}

/// What a closed loop's `users` says.
pub(super) enum Users {
    Fixed(u32),
    Curve(UserCurve),
}

/// `users = N` (≥ 1) or `users = [["0s", 10], ["60s", 100], …]` (each ≥ 0, rounded).
pub(super) fn read_users(sink: &mut Sink, v: &Val, path: &str) -> Option<Users> {
    let spanned = v.as_ref()?;
    match spanned.get_ref() {
        Value::Array(points) => {
            let allowed = format!("a number from 0 to {MAX_USERS} (users; 0 pauses the loop)");
            let out = read_pairs(sink, spanned, points, path, ("users", MAX_USERS, &allowed))?;
            Some(Users::Curve(UserCurve::from_points(&out)))
        }
        _ => {
            let n = sink.int(v, path, 1, MAX_USERS as i64)?;
            Some(Users::Fixed(u32::try_from(n).ok()?))
        }
    }
}

/// `(time, value)` pairs with non-decreasing times and values in [0, max].
fn read_pairs(
    sink: &mut Sink,
    spanned: &Spanned<Value>,
    points: &[Value],
    path: &str,
    (what, max, allowed): (&str, f64, &str),
) -> Option<Vec<(f64, f64)>> {
    let span = spanned.span();
    let shape = "a [\"TIME\", RATE] pair such as [\"60s\", 200]";
    if points.is_empty() {
        sink.error(
            span,
            format!("{path} = []: a schedule needs at least one point ({shape})"),
        );
        return None;
    }
    if points.len() > MAX_POINTS {
        let msg = format!(
            "{path} has {} points; at most {MAX_POINTS} are allowed",
            points.len()
        );
        sink.error(span, msg);
        return None;
    }
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for (i, point) in points.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let Some([t, r]) = point
            .as_array()
            .and_then(|a| <&[Value; 2]>::try_from(a.as_slice()).ok())
        else {
            sink.error(
                span.clone(),
                format!("{here} = {}: expected {shape}", show(point)),
            );
            return None;
        };
        let time = match t {
            Value::String(text) => parse_duration(text),
            _ => Err(format!(
                "expected a duration string such as \"60s\", found {}",
                show(t)
            )),
        };
        let time_s = match time {
            Ok(d) => d.as_secs_f64(),
            Err(e) => {
                sink.error(span.clone(), format!("{here}: time {e}"));
                return None;
            }
        };
        let rate = match r {
            Value::Integer(n) => *n as f64,
            Value::Float(x) => *x,
            _ => f64::NAN,
        };
        if !(0.0..=max).contains(&rate) {
            let msg = format!(
                "{here}: {what} {} is not allowed; allowed: {allowed}",
                show(r)
            );
            sink.error(span.clone(), msg);
            return None;
        }
        if let Some(&(prev, _)) = out.last()
            && time_s < prev
        {
            let msg = format!(
                "{here}: time {} comes before the previous point's ({}s); times must not \
                 decrease (equal times make a step)",
                show(t),
                prev
            );
            sink.error(span.clone(), msg);
            return None;
        }
        out.push((time_s, rate));
    }
    Some(out)
}

/// `"sine(MEAN, AMPLITUDE, PERIOD[, PHASE])"`, with 0 ≤ AMPLITUDE ≤ MEAN and PHASE in radians.
fn read_sine(
    sink: &mut Sink,
    spanned: &Spanned<Value>,
    text: &str,
    path: &str,
) -> Option<RateCurve> {
    let usage = "\"sine(MEAN, AMPLITUDE, PERIOD[, PHASE])\", e.g. \"sine(500, 300, 24h)\"";
    let fail = |sink: &mut Sink, why: String| {
        sink.error(
            spanned.span(),
            format!("{path} = {text:?}: {why}; expected {usage}"),
        );
        None
    };
    let inner = text.trim();
    let Some(args) = inner
        .strip_prefix("sine(")
        .and_then(|r| r.strip_suffix(')'))
    else {
        return fail(sink, "not a rate".to_string());
    };
    let parts: Vec<&str> = args.split(',').map(str::trim).collect();
    if !(3..=4).contains(&parts.len()) {
        return fail(sink, format!("{} arguments", parts.len()));
    }
    let number = |s: &str| s.parse::<f64>().ok().filter(|x| x.is_finite());
    let (Some(mean), Some(amplitude)) = (number(parts[0]), number(parts[1])) else {
        return fail(sink, "MEAN and AMPLITUDE must be numbers".to_string());
    };
    let period = match parse_duration(parts[2]) {
        Ok(d) if d > SimDuration::ZERO => d.as_secs_f64(),
        Ok(_) => return fail(sink, "PERIOD must be longer than 0".to_string()),
        Err(e) => return fail(sink, format!("PERIOD {e}")),
    };
    let phase = match parts.get(3) {
        None => 0.0,
        Some(p) => match number(p) {
            Some(x) => x,
            None => return fail(sink, "PHASE must be a number (radians)".to_string()),
        },
    };
    if !(0.0..=MAX_RATE_PER_S).contains(&mean) || mean + amplitude > MAX_RATE_PER_S {
        return fail(
            sink,
            format!("MEAN + AMPLITUDE must be from 0 to {MAX_RATE_PER_S}"),
        );
    }
    if !(0.0..=mean).contains(&amplitude) {
        return fail(
            sink,
            "AMPLITUDE must be from 0 to MEAN (a rate is never negative)".to_string(),
        );
    }
    Some(RateCurve::sine(mean, amplitude, period, phase))
}

/// One `[[workload.NAME.spike]]`: `at`, `for` and `factor` (≥ 0; 0 is an outage of the load).
fn read_spike(sink: &mut Sink, spanned: &Spanned<RawSpike>, path: &str) -> Option<Spike> {
    let raw = spanned.get_ref();
    let at = sink.duration(&raw.at, &format!("{path}.at"));
    let length = sink.duration(&raw.for_, &format!("{path}.for"));
    let factor = sink.number(
        &raw.factor,
        &format!("{path}.factor"),
        0.0,
        MAX_FACTOR,
        false,
    );
    for (value, key, example) in [
        (&raw.at, "at", "when it starts, e.g. \"60s\""),
        (&raw.for_, "for", "how long it lasts, e.g. \"120s\""),
        (&raw.factor, "factor", "the rate multiplier, e.g. 5"),
    ] {
        if value.is_none() {
            let msg = format!("missing required key {path}.{key} ({example})");
            sink.error(spanned.span(), msg);
        }
    }
    Some(Spike {
        at_s: at?.as_secs_f64(),
        for_s: length?.as_secs_f64(),
        factor: factor?,
    })
}

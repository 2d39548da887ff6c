//! `[scenario]`: name, seed, run length, time buckets and run budgets.

use toml::Spanned;

use super::Sink;
use super::raw::{RawScenario, Val};
use super::validate::val_span;
use crate::model::Limits;
use crate::time::{NS_PER_MS, NS_PER_S, SimDuration};

/// Automatic buckets aim at no more than this many per run; explicit ones at most the max.
const AUTO_BUCKETS: u64 = 300;
const MAX_BUCKETS: u64 = 10_000;

/// `[scenario]`, checked.
pub(super) struct Header {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub duration: SimDuration,
    pub warmup: SimDuration,
    pub drain: SimDuration,
    pub bucket: SimDuration,
    pub limits: Limits,
}

pub(super) fn read_header(sink: &mut Sink, raw: Option<&Spanned<RawScenario>>) -> Header {
    let Some(table) = raw else {
        sink.error(
            0..0,
            "missing [scenario] table; it needs at least name and duration".into(),
        );
        let d = SimDuration::from_secs(1);
        let limits = Limits::default();
        let (name, description) = (String::new(), String::new());
        let (warmup, drain) = (SimDuration::ZERO, SimDuration::from_secs(30));
        return Header {
            name,
            description,
            seed: 1,
            duration: d,
            warmup,
            drain,
            bucket: d,
            limits,
        };
    };
    let (span, s) = (table.span(), table.get_ref());
    let name = sink.string(&s.name, "scenario.name");
    if s.name.is_none() {
        sink.error(
            span.clone(),
            "missing required key scenario.name (a string)".into(),
        );
    } else if name.as_deref() == Some("") {
        sink.error(val_span(&s.name), "scenario.name must not be empty".into());
    }
    let description = sink
        .string(&s.description, "scenario.description")
        .unwrap_or_default();
    let seed = sink.seed(&s.seed, "scenario.seed").unwrap_or(1);
    if s.duration.is_none() {
        let msg = "missing required key scenario.duration (e.g. \"60s\")".to_string();
        sink.error(span, msg);
    }
    let mut duration = sink.duration(&s.duration, "scenario.duration");
    if duration == Some(SimDuration::ZERO) {
        sink.error(
            val_span(&s.duration),
            "scenario.duration must be longer than 0s".into(),
        );
        duration = None;
    }
    let warmup = sink
        .duration(&s.warmup, "scenario.warmup")
        .unwrap_or(SimDuration::ZERO);
    if let Some(d) = duration.filter(|d| warmup >= *d) {
        let msg =
            format!("scenario.warmup = \"{warmup}\" must be shorter than scenario.duration ({d})");
        sink.error(val_span(&s.warmup), msg);
    }
    let duration = duration.unwrap_or(SimDuration::from_secs(1));
    let drain = sink
        .duration(&s.drain, "scenario.drain")
        .unwrap_or(SimDuration::from_secs(30));
    let bucket = read_bucket(sink, &s.bucket, duration + drain);
    let defaults = Limits::default();
    let max_events = sink.int(&s.max_events, "scenario.max_events", 1, i64::MAX);
    let max_in_flight = sink.int(
        &s.max_in_flight,
        "scenario.max_in_flight",
        1,
        i64::from(u32::MAX),
    );
    let max_memory = read_size(sink, &s.max_memory, "scenario.max_memory");
    let limits = Limits {
        max_memory_bytes: max_memory.unwrap_or(defaults.max_memory_bytes),
        max_events: max_events
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(defaults.max_events),
        max_in_flight: max_in_flight
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(defaults.max_in_flight),
    };
    let name = name.unwrap_or_default();
    Header {
        name,
        description,
        seed,
        duration,
        warmup,
        drain,
        bucket,
        limits,
    }
}

/// Smallest and largest `scenario.max_memory`: below a few MiB no run fits at all, and
/// above 1 TiB the limit protects nothing.
const MIN_MEMORY_BYTES: u64 = 1 << 20;
const MAX_MEMORY_BYTES: u64 = 1 << 40;

/// A size: a plain integer of bytes, or a string of a number and a unit (`"512MiB"`,
/// `"1.5GiB"`, `"4096B"`; units B, KiB, MiB, GiB).
fn read_size(sink: &mut Sink, v: &Val, path: &str) -> Option<u64> {
    let spanned = v.as_ref()?;
    let allowed = "a size from 1MiB to 1024GiB: an integer of bytes, or a string such as \
                   \"512MiB\" or \"4GiB\" (units B, KiB, MiB, GiB)";
    let bytes = match spanned.get_ref() {
        toml::Value::Integer(n) => u64::try_from(*n).ok(),
        toml::Value::String(text) => parse_size(text),
        _ => None,
    };
    match bytes {
        Some(b) if (MIN_MEMORY_BYTES..=MAX_MEMORY_BYTES).contains(&b) => Some(b),
        _ => {
            let shown = super::values::show(spanned.get_ref());
            sink.error(
                spanned.span(),
                format!("{path} = {shown} is not allowed; allowed: {allowed}"),
            );
            None
        }
    }
}

/// `"512MiB"` → bytes; `None` for anything else (no unit, an unknown unit, not finite).
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = (text[..split].trim(), text[split..].trim());
    let scale: u64 = match unit {
        "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    let x: f64 = number.parse().ok()?;
    let bytes = x * scale as f64;
    // Also refuses NaN and negatives; past 2^63 the range check refuses it anyway.
    (0.0..9.2e18).contains(&bytes).then(|| bytes.round() as u64)
}

/// `scenario.bucket`, or the smallest round width giving at most [`AUTO_BUCKETS`] buckets.
fn read_bucket(sink: &mut Sink, v: &Val, span_of_run: SimDuration) -> SimDuration {
    let total = span_of_run.as_nanos();
    if let Some(bucket) = sink.duration(v, "scenario.bucket") {
        if bucket == SimDuration::ZERO {
            let msg = "scenario.bucket must be longer than 0s; leave it out for automatic".into();
            sink.error(val_span(v), msg);
            return auto_bucket(span_of_run);
        }
        let count = if bucket.as_nanos() == 0 {
            u64::MAX
        } else {
            total.div_ceil(bucket.as_nanos())
        };
        if count <= MAX_BUCKETS {
            return bucket;
        }
        let msg = format!(
            "scenario.bucket = \"{bucket}\" gives {count} buckets over duration + drain ({}); \
             allowed: at most {MAX_BUCKETS}, i.e. a width of at least {}",
            SimDuration(total),
            SimDuration(total.div_ceil(MAX_BUCKETS).max(1)),
        );
        sink.error(val_span(v), msg);
    }
    auto_bucket(span_of_run)
}

/// The smallest of 1ms, 2ms, 5ms, …, 30s, 1m, … giving at most [`AUTO_BUCKETS`] buckets.
pub(super) fn auto_bucket(span_of_run: SimDuration) -> SimDuration {
    const MIN: u64 = 60 * NS_PER_S;
    let ladder = [
        NS_PER_MS,
        2 * NS_PER_MS,
        5 * NS_PER_MS,
        10 * NS_PER_MS,
        20 * NS_PER_MS,
        50 * NS_PER_MS,
        100 * NS_PER_MS,
        200 * NS_PER_MS,
        500 * NS_PER_MS,
        NS_PER_S,
        2 * NS_PER_S,
        5 * NS_PER_S,
        10 * NS_PER_S,
        30 * NS_PER_S,
        MIN,
        2 * MIN,
        5 * MIN,
        10 * MIN,
        30 * MIN,
        60 * MIN,
        120 * MIN,
        360 * MIN,
        720 * MIN,
        1440 * MIN,
    ];
    let total = span_of_run.as_nanos();
    let fits = ladder.iter().find(|w| total.div_ceil(**w) <= AUTO_BUCKETS);
    // Past the ladder (over 300 days), whole days.
    let width = fits
        .copied()
        .unwrap_or_else(|| total.div_ceil(AUTO_BUCKETS).div_ceil(1440 * MIN) * 1440 * MIN);
    SimDuration(width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units_and_refuse_the_rest() {
        // Goal: the size strings of scenario.max_memory: binary units, decimals, and a
        // refusal for a missing or unknown unit, a negative or a non-number.
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("1.5 MiB"), Some(3 << 19));
        assert_eq!(parse_size("4096B"), Some(4096));
        assert_eq!(parse_size("2KiB"), Some(2048));
        for bad in ["1", "1GB", "1gib", "-1GiB", "GiB", "nanGiB", "1e400GiB", ""] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn automatic_buckets_are_round_and_at_most_300() {
        // Goal: the bucket ladder picks the smallest round width that fits 300 buckets.
        assert_eq!(
            auto_bucket(SimDuration::from_millis(300)),
            SimDuration::from_millis(1)
        );
        assert_eq!(
            auto_bucket(SimDuration::from_millis(301)),
            SimDuration::from_millis(2)
        );
        assert_eq!(
            auto_bucket(SimDuration::from_secs(90)),
            SimDuration::from_millis(500)
        );
        assert_eq!(
            auto_bucket(SimDuration::from_secs(3600)),
            SimDuration::from_secs(30)
        );
        assert_eq!(auto_bucket(SimDuration::ZERO), SimDuration::from_millis(1));
        let two_years = SimDuration::from_secs(2 * 365 * 86_400);
        assert!(
            two_years
                .as_nanos()
                .div_ceil(auto_bucket(two_years).as_nanos())
                <= 300
        );
    }
}

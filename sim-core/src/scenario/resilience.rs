//! A call's resilience keys (`retries`, `backoff`, `backoff_max`, `jitter`, `retry_budget`,
//! `breaker`, `bulkhead`, `fallback`), the same on `calls` entries, on workloads and on flows
//! (for their step calls; `fallback` is refused there), and all but `bulkhead` and `fallback`
//! on a service's `sidecar`.

use toml::Spanned;

use super::Sink;
use super::raw::{RawBreaker, RawCall, RawFlow, RawSidecar, RawWorkload, Val};
use super::validate::{closest, val_span};
use crate::model::{BreakerSpec, Jitter, Resilience, RetryPolicy};
use crate::time::SimDuration;

const MAX_RETRIES: i64 = 100;
const MAX_BULKHEAD: i64 = 1_000_000;
const MAX_BREAKER_WINDOW: i64 = 10_000;

/// `backoff_max` when not given (raised to `backoff` if that is longer).
pub(super) const DEFAULT_BACKOFF_MAX: SimDuration = SimDuration::from_secs(10);
/// Breaker settings when the `breaker` table leaves them out.
const DEFAULT_THRESHOLD: f64 = 0.5;
const DEFAULT_WINDOW: u32 = 20;
const DEFAULT_COOLDOWN: SimDuration = SimDuration::from_secs(5);

/// The resilience keys of one call, wherever they are written.
pub(super) struct RawResilience<'a> {
    retries: &'a Val,
    backoff: &'a Val,
    backoff_max: &'a Val,
    jitter: &'a Val,
    retry_budget: &'a Val,
    breaker: &'a Option<Spanned<RawBreaker>>,
    bulkhead: &'a Val,
    fallback: &'a Val,
}

/// `From` each raw table that takes the shared resilience keys (written once by
/// `raw::with_resilience`): those six by name, `bulkhead` and `fallback` as the table has
/// them, so each table says only how it differs.
macro_rules! resilience_from {
    ($raw:ty, |$t:ident| bulkhead: $bulkhead:expr, fallback: $fallback:expr) => {
        impl<'a> From<&'a $raw> for RawResilience<'a> {
            fn from($t: &'a $raw) -> Self {
                RawResilience {
                    retries: &$t.retries,
                    backoff: &$t.backoff,
                    backoff_max: &$t.backoff_max,
                    jitter: &$t.jitter,
                    retry_budget: &$t.retry_budget,
                    breaker: &$t.breaker,
                    bulkhead: $bulkhead,
                    fallback: $fallback,
                }
            }
        }
    };
}

// A call's `fallback` may also be a call table: read in `routing`.
resilience_from!(RawCall, |c| bulkhead: &c.bulkhead, fallback: &None);
resilience_from!(RawWorkload, |w| bulkhead: &w.bulkhead, fallback: &w.fallback);
// A proxy neither limits its application's calls nor answers for it: the raw table has no
// such keys.
resilience_from!(RawSidecar, |s| bulkhead: &None, fallback: &None);
resilience_from!(RawFlow, |f| bulkhead: &f.bulkhead, fallback: &f.fallback);

/// Reads the resilience keys of the call at `path`; everything left out is off.
pub(super) fn read_resilience(sink: &mut Sink, r: RawResilience, path: &str) -> Resilience {
    let bulkhead = sink
        .int(r.bulkhead, &format!("{path}.bulkhead"), 1, MAX_BULKHEAD)
        .and_then(|n| u32::try_from(n).ok());
    let fallback = match r.fallback {
        // A client has no endpoint to make another call from.
        Some(v) if v.get_ref().is_table() => {
            let msg = format!(
                "{path}.fallback: a fallback call {{ to = … }} is allowed on an endpoint's calls \
                 only; here: true (a degraded success) or false"
            );
            sink.error(v.span(), msg);
            false
        }
        _ => sink
            .boolean(r.fallback, &format!("{path}.fallback"))
            .unwrap_or(false),
    };
    Resilience {
        retry: read_retry(sink, &r, path),
        breaker: r
            .breaker
            .as_ref()
            .and_then(|b| read_breaker(sink, b.get_ref(), &format!("{path}.breaker"))),
        bulkhead,
        fallback,
    }
}

/// `retries`, `backoff`, `backoff_max`, `jitter`, `retry_budget`; [`RetryPolicy::NONE`] when
/// `retries` is 0.
fn read_retry(sink: &mut Sink, r: &RawResilience, path: &str) -> RetryPolicy {
    let retries = sink
        .int(r.retries, &format!("{path}.retries"), 0, MAX_RETRIES)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    let backoff = sink
        .duration(r.backoff, &format!("{path}.backoff"))
        .unwrap_or(SimDuration::ZERO);
    let backoff_max = match sink.duration(r.backoff_max, &format!("{path}.backoff_max")) {
        Some(max) if max < backoff => {
            let msg = format!(
                "{path}.backoff_max = \"{max}\" is shorter than {path}.backoff ({backoff}); \
                 allowed: a duration >= backoff"
            );
            sink.error(val_span(r.backoff_max), msg);
            backoff
        }
        Some(max) => max,
        None => DEFAULT_BACKOFF_MAX.max(backoff),
    };
    let jitter = match sink.string(r.jitter, &format!("{path}.jitter")) {
        None => Jitter::None,
        Some(text) => Jitter::parse(&text).unwrap_or_else(|| {
            let known: Vec<String> = Jitter::ALLOWED.split(", ").map(String::from).collect();
            let hint = closest(&text, &known)
                .map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
            let msg = format!(
                "unknown jitter \"{text}\" in {path}.jitter; allowed: {}{hint}",
                Jitter::ALLOWED
            );
            sink.error(val_span(r.jitter), msg);
            Jitter::None
        }),
    };
    let budget = sink.number(
        r.retry_budget,
        &format!("{path}.retry_budget"),
        0.0,
        1.0,
        true,
    );
    if retries == 0 {
        // No retries: the other keys are checked but have nothing to act on, so the call is
        // exactly a call without retry keys.
        return RetryPolicy::NONE;
    }
    RetryPolicy {
        retries,
        backoff,
        backoff_max,
        jitter,
        budget,
    }
}

/// `breaker = { threshold, window, cooldown }`; each key has a default.
fn read_breaker(sink: &mut Sink, b: &RawBreaker, path: &str) -> Option<BreakerSpec> {
    let threshold = sink.number(&b.threshold, &format!("{path}.threshold"), 0.0, 1.0, true);
    let window = sink
        .int(&b.window, &format!("{path}.window"), 1, MAX_BREAKER_WINDOW)
        .and_then(|n| u32::try_from(n).ok());
    let mut cooldown = sink.duration(&b.cooldown, &format!("{path}.cooldown"));
    if cooldown == Some(SimDuration::ZERO) {
        let msg = format!(
            "{path}.cooldown = \"0s\" would never hold the breaker open; allowed: a duration > 0"
        );
        sink.error(val_span(&b.cooldown), msg);
        cooldown = None;
    }
    Some(BreakerSpec {
        threshold: threshold.unwrap_or(DEFAULT_THRESHOLD),
        window: window.unwrap_or(DEFAULT_WINDOW),
        cooldown: cooldown.unwrap_or(DEFAULT_COOLDOWN),
    })
}

//! Call resilience keys (on `calls` entries and workloads) become the expected
//! [`Resilience`], with documented defaults, and bad settings are reported.

use sim_core::model::{BreakerSpec, Jitter, Resilience, RetryPolicy};
use sim_core::{Model, Override, SimDuration, parse_scenario};

use crate::faults::FAULTS;

fn parse(sets: &[&str]) -> Model {
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::parse(s).expect("PATH=VALUE"))
        .collect();
    match parse_scenario("faults.toml", FAULTS, &overrides) {
        Ok(m) => m,
        Err(d) => panic!("should parse:\n{d}"),
    }
}

/// The first call of endpoint `name` (`service/endpoint`).
fn call_resilience(m: &Model, name: &str) -> Resilience {
    let i = (0..m.endpoints.len())
        .find(|i| m.endpoint_name(sim_core::model::EndpointId(*i as u32)) == name)
        .expect(name);
    m.endpoints[i].calls[0].resilience
}

#[test]
fn resilience_keys_and_defaults() {
    // Goal: given keys land in the model; left-out ones take the documented defaults
    // (no retries, backoff 0ms, backoff_max 10s, no jitter, no budget, no breaker, no
    // bulkhead, no fallback); a `breaker = {…}` fills its missing keys with 0.5, 20 and 5s.
    let m = parse(&[]);
    assert_eq!(
        m.workloads[0].call.resilience.retry,
        RetryPolicy {
            retries: 1,
            backoff: SimDuration::ZERO,
            backoff_max: SimDuration::from_secs(10),
            jitter: Jitter::None,
            budget: None,
        }
    );
    let r = call_resilience(&m, "gateway/in");
    assert_eq!(
        r.retry,
        RetryPolicy {
            retries: 2,
            backoff: SimDuration::from_millis(10),
            backoff_max: SimDuration::from_secs(10),
            jitter: Jitter::Full,
            budget: None,
        }
    );
    assert_eq!((r.breaker, r.bulkhead, r.fallback), (None, None, false));
    let r = call_resilience(&m, "order/place");
    assert_eq!(r.retry.retries, 0);
    assert_eq!(
        r.breaker,
        Some(BreakerSpec {
            threshold: 0.5,
            window: 10,
            cooldown: SimDuration::from_secs(5),
        })
    );
    assert_eq!((r.bulkhead, r.fallback), (Some(4), true));
    let r = call_resilience(&m, "payment/charge");
    assert_eq!(r.retry.budget, Some(0.2));
    assert_eq!(r.breaker, None);
    // Without retries, the retry keys have nothing to act on: the policy is NONE.
    let m = parse(&["service.payment.endpoint.charge.calls.0.retries=0"]);
    assert_eq!(
        call_resilience(&m, "payment/charge").retry,
        RetryPolicy::NONE
    );
    let bare = parse_scenario("full.toml", crate::parse::FULL, &[]).expect("valid");
    assert_eq!(bare.workloads[0].call.resilience, Resilience::default());
}

#[test]
fn set_reaches_resilience_keys_on_calls_and_workloads() {
    // Goal: `--set` edits keys inside `calls` entries and inline breaker tables, and adds
    // them to workloads.
    let m = parse(&[
        "service.order.endpoint.place.calls.0.breaker.threshold=0.9",
        "service.gateway.endpoint.in.calls.0.backoff_max=1s",
        "service.gateway.endpoint.in.calls.0.jitter=equal",
        "service.gateway.endpoint.in.calls.0.breaker.window=5",
        "workload.w.bulkhead=7",
        "workload.w.backoff=20s",
    ]);
    let r = call_resilience(&m, "order/place");
    assert_eq!(r.breaker.map(|b| b.threshold), Some(0.9));
    let r = call_resilience(&m, "gateway/in");
    assert_eq!(r.retry.backoff_max, SimDuration::from_secs(1));
    assert_eq!(r.retry.jitter, Jitter::Equal);
    // A key set inside a breaker that did not exist adds the breaker, with defaults.
    assert_eq!(
        r.breaker,
        Some(BreakerSpec {
            threshold: 0.5,
            window: 5,
            cooldown: SimDuration::from_secs(5),
        })
    );
    let w = m.workloads[0].call.resilience;
    assert_eq!(w.bulkhead, Some(7));
    // A backoff longer than the default cap raises the cap to it.
    assert_eq!(w.retry.backoff_max, SimDuration::from_secs(20));
}

#[test]
fn bad_resilience_settings_are_all_reported() {
    // Goal: each bad value is named with what is allowed, all in one pass.
    let sets = [
        "service.gateway.endpoint.in.calls.0.retries=101",
        "service.gateway.endpoint.in.calls.0.backoff_max=1ms",
        "service.gateway.endpoint.in.calls.0.jitter=fll",
        "service.order.endpoint.place.calls.0.breaker.window=0",
        "service.order.endpoint.place.calls.0.breaker.cooldown=0s",
        "service.order.endpoint.place.calls.0.bulkhead=0",
        "service.payment.endpoint.charge.calls.0.retry_budget=0",
        "workload.w.fallback=yes",
        "service.payment.health_check=0s",
    ];
    let overrides: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
    let diags = parse_scenario("f.toml", FAULTS, &overrides).expect_err("bad settings");
    let all = diags.to_string();
    for want in [
        "calls[0].retries = 101 is out of range; allowed: an integer from 0 to 100",
        "calls[0].backoff_max = \"1ms\" is shorter than service.gateway.endpoint.in.calls[0].backoff (10ms)",
        "unknown jitter \"fll\" in service.gateway.endpoint.in.calls[0].jitter; allowed: none, full, equal",
        "calls[0].breaker.window = 0 is out of range; allowed: an integer from 1 to 10000",
        "calls[0].breaker.cooldown = \"0s\" would never hold the breaker open",
        "calls[0].bulkhead = 0 is out of range; allowed: an integer from 1 to 1000000",
        "calls[0].retry_budget = 0 is out of range; allowed: a number > 0 and <= 1",
        "workload.w.fallback = \"yes\": expected true or false",
        "service.payment.health_check = \"0s\": allowed: a duration > 0",
    ] {
        assert!(all.contains(want), "missing \"{want}\" in:\n{all}");
    }
    assert_eq!(diags.0.len(), sets.len(), "{all}");
}

//! Retries, breakers, bulkheads and fallbacks against probability and against the lessons
//! they are meant to teach.

use crate::support::{model, run};
use sim_core::results::{BreakerState, Cause, RunResults};

const RETRIES: &str = r#"
[scenario]
name = "retry-arithmetic"
duration = "1000s"
drain = "5s"

[workload.load]
endpoint = "front/handle"
rate = 200
arrival = "constant"

[service.front]
workers = 64
[service.front.endpoint.handle]
work = "100us"
calls = [{ to = "back/work", timeout = "1s", retries = 2, backoff = "1ms" }]

[service.back]
workers = 64
[service.back.endpoint.work]
work = "exp(1ms)"
fail = 0.3
"#;

#[test]
fn two_retries_at_p_03_give_1_minus_p_cubed() {
    // Goal: independent attempts failing with p = 0.3 and two retries succeed with
    // P = 1 - p^3 = 0.973 (within 0.5 points) and cost 1 + p + p^2 = 1.39 attempts per
    // request (within 2%), over 200,000 requests.
    let r = run(RETRIES, 3);
    let w = &r.workloads[0];
    let p_ok = w.ok as f64 / w.sent as f64;
    let back = r.endpoints.iter().find(|e| e.name == "back/work").unwrap();
    let attempts = back.arrivals as f64 / w.sent as f64;
    println!(
        "P(ok) {p_ok:.4} (0.973), attempts/request {attempts:.4} (1.39), retries {}",
        r.calls.retries
    );
    assert!((p_ok - 0.973).abs() < 0.005, "P(ok) = {p_ok}");
    assert!(
        (attempts / 1.39 - 1.0).abs() < 0.02,
        "attempts per request = {attempts}"
    );
    assert_eq!(
        w.failed.total(),
        w.failed.get(Cause::Error),
        "failures are the back end's errors"
    );
    assert_eq!(
        r.calls.retries,
        back.arrivals - w.sent,
        "every extra arrival is a retry"
    );
}

/// The cascade lesson pair, as a test: the same system with and without isolation.
fn cascade(contained: bool) -> RunResults {
    let name = if contained {
        "cascade-contained"
    } else {
        "cascading-failure"
    };
    let text =
        std::fs::read_to_string(crate::support::root().join(format!("scenarios/{name}.toml")))
            .unwrap();
    sim_core::run(&model(&text), 1).unwrap()
}

fn failed_ratio(r: &RunResults, workload: &str) -> f64 {
    let w = r.workloads.iter().find(|w| w.name == workload).unwrap();
    w.failed.total() as f64 / w.sent as f64
}

#[test]
fn a_slow_bank_takes_down_browse_unless_isolated() {
    // Goal: the cascade reproduces — a slow bank exhausts the gateway's workers and the
    // unrelated browse endpoint fails more than 5% of its requests — and is contained by a
    // timeout + bulkhead + breaker on the gateway's payment call: browse fails less than
    // 0.5%, and the breaker is seen opening and closing again.
    let bare = cascade(false);
    let guarded = cascade(true);
    let (b0, b1) = (
        failed_ratio(&bare, "browse"),
        failed_ratio(&guarded, "browse"),
    );
    println!(
        "browse failed: {:.2}% without isolation, {:.3}% with",
        b0 * 100.0,
        b1 * 100.0
    );
    assert!(b0 > 0.05, "the cascade did not happen: browse failed {b0}");
    assert!(
        b1 < 0.005,
        "isolation did not contain it: browse failed {b1}"
    );
    let transitions: Vec<BreakerState> = guarded
        .breakers
        .iter()
        .flat_map(|b| b.transitions.iter().map(|t| t.1))
        .collect();
    assert!(
        transitions.contains(&BreakerState::Open),
        "the breaker never opened"
    );
    let last = guarded
        .breakers
        .iter()
        .filter_map(|b| b.transitions.last())
        .collect::<Vec<_>>();
    assert!(
        !last.is_empty() && last.iter().all(|t| t.1 == BreakerState::Closed),
        "breakers end closed: {last:?}"
    );
    assert!(
        guarded.faults.iter().all(|f| f.affected > 0),
        "the fault hit"
    );
}

/// Failure ratio of `workload` among requests sent in [from_s, to_s).
fn failure_ratio_between(r: &RunResults, workload: &str, from_s: f64, to_s: f64) -> f64 {
    let w = r.workloads.iter().find(|w| w.name == workload).unwrap();
    let width = r.bucket.as_secs_f64();
    let (mut sent, mut failed) = (0u64, 0u64);
    for (i, b) in w.buckets.iter().enumerate() {
        let t = i as f64 * width;
        if t >= from_s && t + width <= to_s {
            sent += b.sent;
            failed += b.failed.total();
        }
    }
    failed as f64 / sent.max(1) as f64
}

#[test]
fn retries_without_budget_stay_failed_after_the_fault_with_budget_recover() {
    // Goal: a metastable failure. A 5 s slowdown (20 s -> 25 s) pushes latency past the
    // clients' timeout; naive immediate retries multiply the load beyond capacity and the
    // failure persists long after the slowdown ends (more than half of all requests still
    // fail from 60 s to the end). With a retry budget and jittered backoff, the failure
    // rate is back to its baseline (below 1%) from 20 s after the fault ends (45 s on).
    let text =
        std::fs::read_to_string(crate::support::root().join("scenarios/retry-storm.toml")).unwrap();
    let r = sim_core::run(&model(&text), 1).unwrap();
    let end = r.duration.as_secs_f64();
    let naive_before = failure_ratio_between(&r, "naive", 5.0, 20.0);
    let naive_after = failure_ratio_between(&r, "naive", 60.0, end);
    let budget_before = failure_ratio_between(&r, "budgeted", 5.0, 20.0);
    let budget_after = failure_ratio_between(&r, "budgeted", 45.0, end);
    println!(
        "naive: {:.2}% before, {:.2}% after; budgeted: {:.2}% before, {:.2}% after",
        naive_before * 100.0,
        naive_after * 100.0,
        budget_before * 100.0,
        budget_after * 100.0
    );
    assert!(
        naive_before < 0.01 && budget_before < 0.01,
        "both healthy before the fault"
    );
    assert!(naive_after > 0.5, "naive retries recovered: {naive_after}");
    assert!(
        budget_after < 0.01,
        "budgeted retries did not recover: {budget_after}"
    );
}

#[test]
fn a_fallback_turns_a_failed_call_into_a_degraded_answer() {
    // Goal: scatter-gather with a fallback on the flaky branch: requests never fail because
    // of it; they are counted as degraded, about as often as the branch fails (20%).
    let text = std::fs::read_to_string(
        crate::support::root().join("scenarios/gateway-scatter-gather.toml"),
    )
    .unwrap();
    let r = sim_core::run(&model(&text), 1).unwrap();
    let w = &r.workloads[0];
    assert_eq!(
        w.sent,
        w.ok + w.degraded + w.failed.total() + w.in_flight,
        "conservation"
    );
    let degraded = w.degraded as f64 / w.sent as f64;
    println!("degraded {degraded:.4}, failed {}", w.failed.total());
    assert!(w.degraded > 0);
    assert!(r.calls.fallbacks >= w.degraded);
}

//! `[[expect]]` evaluation against the JSON report.

use reports::{Report, evaluate, lookup};
use serde_json::json;
use sim_core::model::Bound;

use crate::support::{expect, model, results};

fn report() -> serde_json::Value {
    Report::measured(&results()).to_value()
}

#[test]
fn below_above_and_equals_compare_as_written() {
    // Goal: each bound passes on the right side of its limit and fails on the other.
    let r = report();
    let check = |metric: &str, bound| evaluate(&[expect(metric, bound)], &r)[0].passed;
    assert!(check("workloads.checkout.failed", Bound::Below(9.0)));
    assert!(
        !check("workloads.checkout.failed", Bound::Below(8.0)),
        "below is strict"
    );
    assert!(check("workloads.checkout.ok", Bound::Above(9989.0)));
    assert!(
        !check("workloads.checkout.ok", Bound::Above(9990.0)),
        "above is strict"
    );
    assert!(check("services.order.utilization", Bound::Equals(0.8125)));
    assert!(!check("services.order.utilization", Bound::Equals(0.8)));
}

#[test]
fn endpoint_keys_containing_a_slash_are_found() {
    // Goal: `endpoints.order/place.arrivals` reads the endpoint keyed "order/place".
    assert_eq!(
        lookup(&report(), "endpoints.order/place.arrivals"),
        Ok(9995.0)
    );
    assert_eq!(
        lookup(&report(), "endpoints.gateway/checkout.latency_ms.max").map(|x| x > 99.0),
        Ok(true)
    );
}

#[test]
fn keys_containing_dots_use_the_longest_match() {
    // Goal: a key that itself contains dots (a topic "order.placed") is found, and preferred
    // over a shorter key that is a prefix of it; the shorter key is tried when the longer one
    // leads nowhere.
    let v = json!({"topics": {"order": {"placed": 1}, "order.placed": {"lag": 2}}});
    assert_eq!(lookup(&v, "topics.order.placed.lag"), Ok(2.0));
    // "order.placed" is a section here, so lookup falls back to "order" then "placed".
    assert_eq!(lookup(&v, "topics.order.placed"), Ok(1.0));
    let v = json!({"topics": {"a.b.c": 5}});
    assert_eq!(lookup(&v, "topics.a.b.c"), Ok(5.0));
}

#[test]
fn array_entries_are_indexed_by_number() {
    // Goal: `faults.0.affected` reads the first fault; an empty list says it is empty.
    let v = json!({"faults": [{"affected": 3}]});
    assert_eq!(lookup(&v, "faults.0.affected"), Ok(3.0));
    let err = lookup(&report(), "faults.0.affected").unwrap_err();
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn missing_metric_fails_and_lists_the_available_keys() {
    // Goal: a typo fails the expectation with a message naming the keys at the failing level.
    let results = evaluate(
        &[expect("workloads.chekout.ok", Bound::Above(0.0))],
        &report(),
    );
    let r = &results[0];
    assert!(!r.passed);
    assert_eq!(r.value, None);
    let err = r.error.as_deref().unwrap();
    assert!(err.contains("\"chekout\""), "{err}");
    assert!(err.contains("under \"workloads\""), "{err}");
    assert!(err.contains("checkout, browse"), "{err}");
    assert!(r.describe().contains("workloads.chekout.ok"));

    let err = lookup(&report(), "workload.checkout.ok").unwrap_err();
    assert!(
        err.contains("top of the report") && err.contains("workloads"),
        "{err}"
    );
}

#[test]
fn a_section_is_not_a_number() {
    // Goal: a path that stops at a section fails and lists that section's fields.
    let err = lookup(&report(), "workloads.checkout.latency_ms").unwrap_err();
    assert!(err.contains("not a number") && err.contains("p99"), "{err}");
    assert!(lookup(&report(), "workloads..ok").is_err());
}

#[test]
fn a_missing_metric_fails_the_run() {
    // Goal: a report with a missing metric does not pass overall, and serialises the reason.
    let mut m = model();
    m.expects.push(expect("calls.nope", Bound::Below(1.0)));
    let report = Report::build(&results(), &m);
    assert!(!report.all_passed());
    let failed: Vec<_> = report
        .failed_expectations()
        .map(|e| e.metric.as_str())
        .collect();
    assert_eq!(failed, ["calls.nope"]);
    let v = report.to_value();
    assert_eq!(v["expect"][3]["value"], serde_json::Value::Null);
    assert!(
        v["expect"][3]["error"]
            .as_str()
            .unwrap()
            .contains("attempts")
    );
}

#[test]
fn describe_prints_readable_numbers() {
    // Goal: the one-line description shows six significant digits, not every decimal, and
    // whole numbers without ".0".
    let v = json!({"w": {"p99": 71.303167, "ok": 12, "u": 0.8125}});
    let line = |metric: &str, bound| evaluate(&[expect(metric, bound)], &v)[0].describe();
    assert_eq!(
        line("w.p99", Bound::Above(60.0)),
        "w.p99 = 71.3032, want > 60 (because)"
    );
    assert_eq!(
        line("w.ok", Bound::Equals(12.0)),
        "w.ok = 12, want = 12 (because)"
    );
    assert_eq!(
        line("w.u", Bound::Below(0.9)),
        "w.u = 0.8125, want < 0.9 (because)"
    );
}

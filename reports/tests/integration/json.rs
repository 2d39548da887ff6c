//! The JSON report: every section and field of CONTRACT.md, in order, deterministic.

use reports::{Report, to_json_value, write_json};
use serde_json::Value;

use crate::support::{model, model_with_faults, results, results_with_faults};

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

const LATENCY: [&str; 6] = ["mean", "p50", "p90", "p99", "p999", "max"];

#[test]
fn top_level_sections_are_all_present_in_contract_order() {
    // Goal: the report has exactly the contract's top-level fields, in the contract's order.
    let v = to_json_value(&results(), &model());
    assert_eq!(
        keys(&v),
        [
            "meshsim",
            "scenario",
            "seed",
            "sim_time_s",
            "events",
            "workloads",
            "endpoints",
            "services",
            "calls",
            "messages",
            "flows",
            "faults",
            "breakers",
            "timeline",
            "expect"
        ]
    );
    assert_eq!(v["meshsim"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["scenario"], "checkout-sync");
    assert_eq!(v["seed"], 7);
    assert_eq!(v["sim_time_s"], 60.5);
    assert_eq!(v["events"], 123_456);
    assert_eq!(v["flows"], serde_json::json!({}));
    assert_eq!(v["faults"], serde_json::json!([]));
    assert_eq!(v["breakers"], serde_json::json!([]));
}

#[test]
fn workloads_have_every_field_and_consistent_counts() {
    // Goal: workload entries carry every contract field (plus in_flight), keys in model order,
    // sent = ok + degraded + failed + in_flight, and throughput is ok over the measured window.
    let v = to_json_value(&results(), &model());
    assert_eq!(
        keys(&v["workloads"]),
        ["checkout", "browse"],
        "model order, not sorted"
    );
    let w = &v["workloads"]["checkout"];
    assert_eq!(
        keys(w),
        [
            "sent",
            "ok",
            "degraded",
            "failed",
            "failed_by",
            "in_flight",
            "throughput_rps",
            "latency_ms"
        ]
    );
    assert_eq!(
        keys(&w["failed_by"]),
        [
            "timeout",
            "rejected",
            "circuit_open",
            "unavailable",
            "error",
            "rate_limited",
            "shed"
        ]
    );
    assert_eq!(keys(&w["latency_ms"]), LATENCY);
    let n = |k: &str| w[k].as_u64().unwrap();
    assert_eq!(
        n("sent"),
        n("ok") + n("degraded") + n("failed") + n("in_flight")
    );
    assert_eq!(w["failed_by"]["timeout"], 7);
    assert_eq!(w["failed_by"]["error"], 1);
    // 9990 ok ending inside the 50 s between warmup and duration.
    assert_eq!(w["throughput_rps"], 199.8);
    let p50 = w["latency_ms"]["p50"].as_f64().unwrap();
    assert!((p50 - 50.0).abs() < 0.1, "p50 {p50}");
    // An idle workload keeps every field: counts and rates are 0, the latency of no request
    // is null (a 0 ms p99 would read as "fast").
    let idle = &v["workloads"]["browse"];
    for stat in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(
            idle["latency_ms"][stat].is_null(),
            "{stat}: {}",
            idle["latency_ms"][stat]
        );
    }
    assert_eq!(idle["throughput_rps"], 0.0);
}

#[test]
fn throughput_counts_the_successes_that_ended_inside_the_window() {
    // Goal: throughput_rps is what the window served: successes that ended in [warmup,
    // duration) over its length, not every success of the run (9,000 of the 9,990 ended in
    // the 50 s window: 180/s, where `ok / window` would say 199.8/s).
    let mut r = results();
    r.workloads[0].ok_in_window = 9_000;
    let v = to_json_value(&r, &model());
    assert_eq!(v["workloads"]["checkout"]["throughput_rps"], 180.0);
    assert_eq!(v["workloads"]["checkout"]["ok"], 9_990);
}

#[test]
fn endpoints_services_calls_and_messages_have_every_field() {
    // Goal: the per-endpoint, per-service, calls and messages sections carry every field.
    let v = to_json_value(&results(), &model());
    assert_eq!(keys(&v["endpoints"]), ["gateway/checkout", "order/place"]);
    assert_eq!(
        keys(&v["endpoints"]["order/place"]),
        [
            "arrivals",
            "completed",
            "rejected",
            "ok",
            "failed",
            "latency_ms",
            "abandoned"
        ]
    );
    assert_eq!(keys(&v["services"]), ["gateway", "order"]);
    assert_eq!(
        keys(&v["services"]["order"]),
        [
            "arrivals",
            "rejected",
            "rate_limited",
            "shed",
            "utilization",
            "mean_in_system",
            "mean_queued",
            "abandoned",
            "replicas_max",
            "replica_seconds",
            "scale_events"
        ]
    );
    assert_eq!(
        keys(&v["calls"]),
        [
            "attempts",
            "retries",
            "mesh_retries",
            "timeouts",
            "circuit_open",
            "client_attempts",
            "service_attempts",
            "amplification",
            "bulkhead_full",
            "fallbacks",
            "budget_exhausted"
        ]
    );
    assert_eq!(
        keys(&v["messages"]),
        [
            "published",
            "delivered",
            "redelivered",
            "duplicates",
            "deduplicated",
            "duplicate_effects",
            "dead_lettered",
            "out_of_order",
            "lag_ms",
            "acknowledged",
            "lost",
            "publish_failed",
            "queued",
            "in_flight",
            "wait_ms",
            "brokers",
            "queues",
            "topics"
        ]
    );
    assert_eq!(keys(&v["messages"]["lag_ms"]), LATENCY);
    assert_eq!(keys(&v["messages"]["wait_ms"]), LATENCY);
    // A run without a broker: zeros and empty sections, never missing.
    assert_eq!(v["messages"]["published"], 0);
    for section in ["brokers", "queues", "topics"] {
        assert_eq!(v["messages"][section], serde_json::json!({}), "{section}");
    }
}

#[test]
fn floats_are_rounded_and_integers_stay_integers() {
    // Goal: 2/3 prints with six decimals, counters print without a decimal point.
    let mut out = Vec::new();
    write_json(&mut out, &results(), &model()).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\"mean_in_system\": 0.666667,"), "{text}");
    assert!(text.contains("\"arrivals\": 9995,"), "{text}");
    assert!(text.ends_with("}\n"), "trailing newline");
}

#[test]
fn same_results_give_the_same_bytes() {
    // Goal: determinism: two serialisations of equal results are byte-identical, and the
    // value form prints exactly like the writer.
    let print = || {
        let mut out = Vec::new();
        write_json(&mut out, &results(), &model()).unwrap();
        out
    };
    let first = print();
    assert_eq!(first, print());
    let from_value =
        serde_json::to_string_pretty(&to_json_value(&results(), &model())).unwrap() + "\n";
    assert_eq!(String::from_utf8(first).unwrap(), from_value);
}

#[test]
fn expectations_are_reported_in_order_with_their_bound() {
    // Goal: expect[i] carries metric, value, passed, the bound under its scenario key and why.
    let v = to_json_value(&results(), &model());
    let e = v["expect"].as_array().unwrap();
    assert_eq!(e.len(), 3);
    assert_eq!(keys(&e[0]), ["metric", "value", "passed", "below", "why"]);
    assert_eq!(e[0]["metric"], "workloads.checkout.failed_by.timeout");
    assert_eq!(e[0]["value"], 7.0);
    assert_eq!(e[0]["passed"], true);
    assert_eq!(e[1]["above"], 1000.0);
    assert_eq!(e[2]["equals"], 0.5);
    assert!(Report::build(&results(), &model()).all_passed());
}

#[test]
fn faults_carry_contract_fields_and_open_ended_windows_run_to_the_end() {
    // Goal: faults[i] has kind, target, at_s, for_s, affected (contract order) plus crashes for
    // every entry; an open-ended fault's for_s is sim_time_s - at_s, never null or missing.
    let v = to_json_value(&results_with_faults(), &model_with_faults());
    let faults = v["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 4);
    for f in faults {
        assert_eq!(
            keys(f),
            ["kind", "target", "at_s", "for_s", "affected", "crashes"]
        );
        assert!(f["for_s"].is_f64(), "{f}");
    }
    assert_eq!(faults[0]["kind"], "crash");
    assert_eq!(faults[0]["at_s"], 20.0);
    assert_eq!(faults[0]["for_s"], 10.0);
    assert_eq!(faults[0]["affected"], 1234);
    assert_eq!(faults[0]["crashes"], 0);
    // slow gateway from 40 s with no `for`: the run stopped at 60.5 s.
    assert_eq!(faults[1]["for_s"], 20.5);
    // The chaos entry covers the whole run and counts its crashes.
    assert_eq!(faults[3]["kind"], "chaos");
    assert_eq!(faults[3]["for_s"], 60.5);
    assert_eq!(faults[3]["crashes"], 2);
}

#[test]
fn breakers_list_transitions_and_count_openings() {
    // Goal: breakers[i] is {site, owner, opened, transitions: [{t_s, state}]}, with opened the
    // number of transitions to open, in time order.
    let v = to_json_value(&results_with_faults(), &model_with_faults());
    let b = &v["breakers"][0];
    assert_eq!(keys(b), ["site", "owner", "opened", "transitions"]);
    assert_eq!(b["site"], "gateway/checkout -> order/place");
    assert_eq!(b["owner"], "gateway#0");
    assert_eq!(b["opened"], 7);
    let t = b["transitions"].as_array().unwrap();
    assert_eq!(t.len(), 15);
    assert_eq!(keys(&t[0]), ["t_s", "state"]);
    assert_eq!(t[0]["t_s"], 21.3);
    assert_eq!(t[0]["state"], "open");
    assert_eq!(t[1]["state"], "half-open");
    assert_eq!(t[4]["state"], "closed");
}

#[test]
fn timeline_has_one_number_per_bucket_and_shows_the_fault_window() {
    // Goal: timeline = {bucket_s, workloads: {NAME: {sent, ok, degraded, failed, p50_ms,
    // p99_ms}}, services: {NAME: {in_system}}, queues: {}, topics: {}} (no broker here), every
    // array one entry per bucket, latency 0 in a bucket without successes, and the crash window
    // visible in the numbers.
    let v = to_json_value(&results_with_faults(), &model_with_faults());
    let t = &v["timeline"];
    assert_eq!(
        keys(t),
        ["bucket_s", "workloads", "services", "queues", "topics"]
    );
    assert_eq!(t["queues"], serde_json::json!({}));
    assert_eq!(t["topics"], serde_json::json!({}));
    assert_eq!(t["bucket_s"], 1.0);
    assert_eq!(keys(&t["workloads"]), ["checkout", "browse"]);
    let w = &t["workloads"]["checkout"];
    assert_eq!(
        keys(w),
        ["sent", "ok", "degraded", "failed", "p50_ms", "p99_ms"]
    );
    for k in ["sent", "ok", "degraded", "failed", "p50_ms", "p99_ms"] {
        assert_eq!(w[k].as_array().unwrap().len(), 61, "{k}");
    }
    // Before warmup nothing is sent: the count is 0 and the latency of no request is null.
    assert_eq!(w["sent"][5], 0);
    assert!(w["p99_ms"][5].is_null(), "{}", w["p99_ms"][5]);
    // Outside the crash, everything succeeds; inside it, a quarter fails and p99 jumps.
    assert_eq!(w["failed"][15], 0);
    assert_eq!(w["failed"][25], 50);
    assert_eq!(w["ok"][25], 150);
    assert!(w["p99_ms"][25].as_f64().unwrap() > 5.0 * w["p99_ms"][15].as_f64().unwrap());
    assert_eq!(w["degraded"][45], 5);
    // Per bucket, sent = ok + degraded + failed (nothing in flight here).
    for i in 0..61 {
        let n = |k: &str| w[k][i].as_u64().unwrap();
        assert_eq!(
            n("sent"),
            n("ok") + n("degraded") + n("failed"),
            "bucket {i}"
        );
    }
    // Every array has one entry per bucket of the run (60.5 s in 1 s buckets), however many
    // buckets the engine kept: missing ones are 0, empty ones past the end are dropped.
    for k in ["sent", "p99_ms"] {
        assert_eq!(t["workloads"]["browse"][k].as_array().unwrap().len(), 61);
    }
    assert_eq!(
        t["services"]["order"]["in_system"]
            .as_array()
            .unwrap()
            .len(),
        61
    );
    assert_eq!(t["services"]["order"]["in_system"][60], 0.0);
    assert_eq!(keys(&t["services"]), ["gateway", "order"]);
    assert_eq!(keys(&t["services"]["order"]), ["in_system"]);
    assert_eq!(t["services"]["order"]["in_system"][25], 12.5);
    assert_eq!(t["services"]["order"]["in_system"][15], 0.333333);
}

#[test]
fn expectations_can_read_the_new_fields() {
    // Goal: [[expect]] paths reach the new numbers: degraded, a fault's affected, a breaker's
    // openings and one bucket of the timeline.
    use reports::lookup;
    let v = to_json_value(&results_with_faults(), &model_with_faults());
    assert_eq!(lookup(&v, "workloads.checkout.degraded"), Ok(100.0));
    assert_eq!(lookup(&v, "calls.fallbacks"), Ok(100.0));
    assert_eq!(lookup(&v, "faults.0.affected"), Ok(1234.0));
    assert_eq!(lookup(&v, "breakers.0.opened"), Ok(7.0));
    assert_eq!(
        lookup(&v, "timeline.workloads.checkout.failed.25"),
        Ok(50.0)
    );
}

#[test]
fn the_value_built_with_the_report_is_the_reports_own() {
    // Goal: `Report::build_with_value` (one serialisation, what compare and sweep read their
    // metrics from) gives the same report and exactly the value `Report::build` then
    // `to_value` gives — every key in its place, the evaluated `expect` section included —
    // for expectations that hold, fail and cannot be read, and for a model without any
    // (where `build` serialises nothing).
    let mut model = model();
    model.expects.push(crate::support::expect(
        "workloads.checkout.latency_ms.p99",
        sim_core::model::Bound::Below(0.001),
    ));
    model.expects.push(crate::support::expect(
        "workloads.nobody.sent",
        sim_core::model::Bound::Above(1.0),
    ));
    let mut without = model.clone();
    without.expects.clear();
    for m in [&model, &without] {
        let built = Report::build(&results(), m);
        let (report, value) = Report::build_with_value(&results(), m);
        assert_eq!(report.expect, built.expect);
        assert_eq!(report.to_value(), value);
        assert_eq!(built.to_value(), value);
        let text = |v: &Value| serde_json::to_string_pretty(v).unwrap();
        assert_eq!(
            text(&built.to_value()),
            text(&value),
            "same bytes, same key order"
        );
    }
    let (report, value) = Report::build_with_value(&results(), &model);
    assert_eq!(report.expect.len(), model.expects.len());
    assert!(report.expect.iter().any(|e| e.passed), "one holds");
    assert!(
        report.expect.iter().any(|e| e.error.is_some()),
        "one cannot be read"
    );
    assert_eq!(
        value["expect"].as_array().unwrap().len(),
        model.expects.len()
    );
    assert_eq!(
        keys(&value).last(),
        Some(&"expect"),
        "expect keeps its place"
    );
}

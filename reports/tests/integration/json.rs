//! The JSON report: every section and field of CONTRACT.md, in order, deterministic.

use reports::{Report, to_json_value, write_json};
use serde_json::Value;

use crate::support::{model, results};

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
}

#[test]
fn workloads_have_every_field_and_consistent_counts() {
    // Goal: workload entries carry every contract field (plus in_flight), keys in model order,
    // sent = ok + failed + in_flight, and throughput is ok over the measured window.
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
            "error"
        ]
    );
    assert_eq!(keys(&w["latency_ms"]), LATENCY);
    let n = |k: &str| w[k].as_u64().unwrap();
    assert_eq!(n("sent"), n("ok") + n("failed") + n("in_flight"));
    assert_eq!(w["failed_by"]["timeout"], 7);
    assert_eq!(w["failed_by"]["error"], 1);
    // 9990 ok over the 50 s between warmup and duration.
    assert_eq!(w["throughput_rps"], 199.8);
    let p50 = w["latency_ms"]["p50"].as_f64().unwrap();
    assert!((p50 - 50.0).abs() < 0.1, "p50 {p50}");
    // An idle workload reports zeros, not missing fields.
    assert_eq!(v["workloads"]["browse"]["latency_ms"]["p99"], 0.0);
    assert_eq!(v["workloads"]["browse"]["throughput_rps"], 0.0);
}

#[test]
fn endpoints_services_calls_and_messages_have_every_field() {
    // Goal: the per-endpoint, per-service, calls and messages sections carry every field.
    let v = to_json_value(&results(), &model());
    assert_eq!(keys(&v["endpoints"]), ["gateway/checkout", "order/place"]);
    assert_eq!(
        keys(&v["endpoints"]["order/place"]),
        ["arrivals", "completed", "rejected", "failed", "latency_ms"]
    );
    assert_eq!(keys(&v["services"]), ["gateway", "order"]);
    assert_eq!(
        keys(&v["services"]["order"]),
        [
            "arrivals",
            "rejected",
            "utilization",
            "mean_in_system",
            "mean_queued"
        ]
    );
    assert_eq!(
        keys(&v["calls"]),
        [
            "attempts",
            "retries",
            "timeouts",
            "circuit_open",
            "amplification"
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
            "lag_ms"
        ]
    );
    assert_eq!(keys(&v["messages"]["lag_ms"]), LATENCY);
    assert_eq!(v["messages"]["published"], 0);
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

//! Messaging in the reports: the `messages` and `timeline` sections of the JSON, and
//! `[[expect]]` paths through dotted topic names.

use reports::{evaluate, lookup, to_json_value};
use serde_json::Value;
use sim_core::model::Bound;

use crate::support::{expect, model_with_messaging, results_with_messaging};

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn json() -> Value {
    to_json_value(&results_with_messaging(), &model_with_messaging())
}

/// Every queue, then every group of every topic, as JSON values.
fn channels(v: &Value) -> Vec<&Value> {
    let m = &v["messages"];
    let queues = m["queues"].as_object().unwrap().values();
    let groups = m["topics"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|t| t["groups"].as_object().unwrap().values());
    queues.chain(groups).collect()
}

const CHANNEL_FIELDS: [&str; 17] = [
    "consumer",
    "published",
    "delivered",
    "redelivered",
    "duplicates",
    "acknowledged",
    "dead_lettered",
    "queued",
    "in_flight",
    "lost",
    "deduplicated",
    "duplicate_effects",
    "out_of_order",
    "lag_ms",
    "wait_ms",
    "depth_mean",
    "depth_max",
];

#[test]
fn messages_has_brokers_queues_and_topics_with_every_field() {
    // Goal: messages.{brokers, queues, topics.T.groups} are keyed by name in model order, and
    // every queue and group carries every ChannelReport field, a missing consumer as "".
    let v = json();
    let m = &v["messages"];
    assert_eq!(keys(&m["brokers"]), ["kafka"]);
    assert_eq!(
        keys(&m["brokers"]["kafka"]),
        [
            "published",
            "publish_failed",
            "delivered",
            "lost",
            "utilization"
        ]
    );
    assert_eq!(
        keys(&m["queues"]),
        ["email-jobs", "email-dlq", "requests:pricing/quote"]
    );
    assert_eq!(keys(&m["topics"]), ["order.placed"]);
    let topic = &m["topics"]["order.placed"];
    assert_eq!(keys(topic), ["published", "partitions", "groups"]);
    assert_eq!(topic["partitions"], 6);
    assert_eq!(keys(&topic["groups"]), ["inventory", "notify"]);
    for c in channels(&v) {
        assert_eq!(keys(c), CHANNEL_FIELDS);
        assert_eq!(
            keys(&c["lag_ms"]),
            ["mean", "p50", "p90", "p99", "p999", "max"]
        );
    }
    assert_eq!(m["queues"]["email-dlq"]["consumer"], "");
    assert_eq!(m["queues"]["email-jobs"]["consumer"], "email/send");
    assert_eq!(m["brokers"]["kafka"]["utilization"], 0.0057);
}

#[test]
fn totals_are_the_sums_of_the_parts() {
    // Goal: published, publish_failed and lost are the brokers' sums; every other count is the
    // sum over all queues and groups; the merged lag's max is the largest channel max.
    let v = json();
    let m = &v["messages"];
    let n = |x: &Value| x.as_u64().unwrap();
    let brokers = m["brokers"].as_object().unwrap();
    for field in ["published", "publish_failed", "lost"] {
        let sum: u64 = brokers.values().map(|b| n(&b[field])).sum();
        assert_eq!(n(&m[field]), sum, "{field}");
    }
    assert_eq!(m["published"], 12_000);
    assert_eq!(m["publish_failed"], 40);
    for field in [
        "delivered",
        "redelivered",
        "duplicates",
        "deduplicated",
        "duplicate_effects",
        "dead_lettered",
        "out_of_order",
        "acknowledged",
        "queued",
        "in_flight",
    ] {
        let sum: u64 = channels(&v).iter().map(|c| n(&c[field])).sum();
        assert_eq!(n(&m[field]), sum, "{field}");
    }
    assert_eq!(m["acknowledged"], 17_075);
    assert_eq!(m["queued"], 17);
    let max = |field: &str| {
        channels(&v)
            .iter()
            .map(|c| c[field]["max"].as_f64().unwrap())
            .fold(0.0, f64::max)
    };
    assert_eq!(m["lag_ms"]["max"].as_f64().unwrap(), max("lag_ms"));
    assert_eq!(m["wait_ms"]["max"].as_f64().unwrap(), max("wait_ms"));
    // The merged p99 lies between the channels' own p99s.
    let p99 = m["lag_ms"]["p99"].as_f64().unwrap();
    assert!(p99 > 29.0 && p99 < 120.0, "{p99}");
}

#[test]
fn every_channel_balances() {
    // Goal: the fixture and the report agree with the engine's accounting:
    // published + duplicates = acknowledged + dead_lettered + queued + in_flight + lost.
    let v = json();
    for c in channels(&v) {
        let n = |k: &str| c[k].as_u64().unwrap();
        assert_eq!(
            n("published") + n("duplicates"),
            n("acknowledged") + n("dead_lettered") + n("queued") + n("in_flight") + n("lost"),
            "{c}"
        );
    }
}

#[test]
fn timeline_has_a_depth_array_per_queue_and_group() {
    // Goal: timeline.queues.Q.depth and timeline.topics.T.groups.G.depth exist for every queue
    // and group, as long as every other timeline array (61 buckets of 1 s for 60.5 s).
    let v = json();
    let t = &v["timeline"];
    assert_eq!(
        keys(t),
        ["bucket_s", "workloads", "services", "queues", "topics"]
    );
    assert_eq!(
        keys(&t["queues"]),
        ["email-jobs", "email-dlq", "requests:pricing/quote"]
    );
    assert_eq!(keys(&t["topics"]["order.placed"]), ["groups"]);
    assert_eq!(
        keys(&t["topics"]["order.placed"]["groups"]),
        ["inventory", "notify"]
    );
    let len = t["workloads"]["checkout"]["sent"].as_array().unwrap().len();
    assert_eq!(len, 61);
    for (_, q) in t["queues"].as_object().unwrap() {
        assert_eq!(keys(q), ["depth"]);
        assert_eq!(q["depth"].as_array().unwrap().len(), len);
    }
    let inventory = &t["topics"]["order.placed"]["groups"]["inventory"]["depth"];
    assert_eq!(inventory.as_array().unwrap().len(), len);
    // The broker outage (20–25 s) shows as a backlog that drains afterwards.
    assert_eq!(inventory[15], 2.0);
    assert_eq!(inventory[24], 250.0);
    assert_eq!(inventory[35], 2.0);
    // The last, unfinished bucket the engine did not keep is 0.
    assert_eq!(inventory[60], 0.0);
}

#[test]
fn a_run_with_depth_buckets_only_still_gets_uniform_arrays() {
    // Goal: depth arrays count for the timeline length like any other array: with no
    // workload buckets, every array still has one entry per bucket of the run.
    let mut r = results_with_messaging();
    r.workloads[0].buckets.clear();
    let v = to_json_value(&r, &model_with_messaging());
    let t = &v["timeline"];
    assert_eq!(
        t["workloads"]["checkout"]["sent"].as_array().unwrap().len(),
        61
    );
    assert_eq!(
        t["queues"]["email-jobs"]["depth"].as_array().unwrap().len(),
        61
    );
}

#[test]
fn expect_paths_reach_through_dotted_topic_names() {
    // Goal: [[expect]] reads a group of the topic "order.placed", its depth per bucket, and a
    // request queue whose name holds ':' and '/'; a typo names the level and its keys.
    let v = json();
    let lag = lookup(
        &v,
        "messages.topics.order.placed.groups.inventory.lag_ms.p99",
    )
    .unwrap();
    assert_eq!(
        lag,
        v["messages"]["topics"]["order.placed"]["groups"]["inventory"]["lag_ms"]["p99"]
            .as_f64()
            .unwrap()
    );
    assert_eq!(
        lookup(&v, "messages.topics.order.placed.partitions"),
        Ok(6.0)
    );
    assert_eq!(
        lookup(&v, "timeline.topics.order.placed.groups.inventory.depth.24"),
        Ok(250.0)
    );
    assert_eq!(
        lookup(&v, "messages.queues.requests:pricing/quote.acknowledged"),
        Ok(3000.0)
    );
    let err = lookup(
        &v,
        "messages.topics.order.placed.groups.inventry.lag_ms.p99",
    )
    .unwrap_err();
    assert_eq!(
        err,
        "no \"inventry\" under \"messages.topics.order.placed.groups\"; available: inventory, notify"
    );
    // Through evaluate, as a scenario writes it.
    let results = evaluate(
        &[expect(
            "messages.topics.order.placed.groups.inventory.duplicate_effects",
            Bound::Equals(50.0),
        )],
        &v,
    );
    assert!(results[0].passed, "{:?}", results[0]);
}

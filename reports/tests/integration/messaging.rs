//! Messaging in the reports: the `messages` and `timeline` sections of the JSON, `[[expect]]`
//! paths through dotted topic names, and the Messaging section of the text and Markdown
//! summaries.

use reports::{Report, evaluate, lookup, to_json_value, write_markdown, write_text};
use serde_json::Value;
use sim_core::model::Bound;
use sim_core::results::RunResults;

use crate::support::{expect, model, model_with_messaging, results, results_with_messaging};

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
            "utilization",
            "capacity_per_s"
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
            .filter_map(|c| c[field]["max"].as_f64())
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
        "no \"inventry\" under \"messages.topics.order.placed.groups\"; available: inventory, notify; did you mean \"inventory\"?"
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

fn text_of(results: &RunResults) -> String {
    let mut out = Vec::new();
    let report = Report::build(results, &model_with_messaging());
    write_text(&mut out, &report).unwrap();
    String::from_utf8(out).unwrap()
}

/// The Messaging section's summary, unwrapped.
fn summary(text: &str) -> String {
    let section = text
        .split("\nMessaging\n")
        .nth(1)
        .expect("a Messaging section");
    let paragraph = section.split("\n\n").next().unwrap();
    paragraph.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn text_leads_the_messaging_section_with_the_answer() {
    // Goal: with trouble in the run, the section's first sentences give published and
    // processed, the lag and where it is worst, then every kind of trouble with its count.
    let text = text_of(&results_with_messaging());
    assert_eq!(
        summary(&text),
        "12,000 messages published, 17,075 processed (each group of a topic processes its own \
         copy); lag p99 115 ms, worst at order.placed/inventory (119 ms). 40 publishes refused \
         while their broker was down; 12 dead-lettered; 30 redelivered; 50 duplicates applied \
         twice; 7 processed out of order; 20 still queued or in flight at the end; nothing lost."
    );
    // The section comes right after the workloads, before the faults.
    let (workloads, messaging, faults) = (
        text.find("\nWorkloads\n").unwrap(),
        text.find("\nMessaging\n").unwrap(),
        text.find("\nFaults\n").unwrap(),
    );
    assert!(workloads < messaging && messaging < faults, "{text}");
}

#[test]
fn text_mentions_trouble_only_when_it_happened() {
    // Goal: a clean run says what was published and processed and "Nothing lost", and names no
    // redeliveries, duplicates, dead letters or out-of-order messages; lost messages are
    // counted when there are some.
    let mut r = results_with_messaging();
    let m = &mut r.messages;
    m.brokers[0].publish_failed = 0;
    for c in m
        .queues
        .iter_mut()
        .chain(m.topics.iter_mut().flat_map(|t| t.groups.iter_mut()))
    {
        c.acknowledged = c.published;
        (c.redelivered, c.duplicates, c.dead_lettered) = (0, 0, 0);
        (c.queued, c.in_flight, c.duplicate_effects) = (0, 0, 0);
        (c.out_of_order, c.deduplicated) = (0, 0);
    }
    let clean = summary(&text_of(&r));
    assert!(
        clean.starts_with("12,000 messages published, 17,012 processed"),
        "{clean}"
    );
    assert!(clean.ends_with(". Nothing lost."), "{clean}");
    for word in [
        "redelivered",
        "duplicates",
        "dead-lettered",
        "out of order",
        "refused",
        "queued",
    ] {
        assert!(!clean.contains(word), "{word}: {clean}");
    }
    r.messages.brokers[0].lost = 1_234;
    let lossy = summary(&text_of(&r));
    assert!(lossy.ends_with(". 1,234 lost."), "{lossy}");
}

#[test]
fn lag_is_placed_only_when_there_is_more_than_one_place() {
    // Goal: with a single queue the summary gives its lag without "worst at"; with nothing
    // published it says so.
    let mut r = results_with_messaging();
    r.messages.topics.clear();
    r.messages.queues.truncate(1);
    let one = summary(&text_of(&r));
    assert!(one.contains("; lag p99 49.5 ms."), "{one}");
    assert!(!one.contains("worst at"), "{one}");
    assert!(!one.contains("each group"), "{one}");
    r.messages.brokers[0].published = 0;
    r.messages.brokers[0].publish_failed = 0;
    assert_eq!(summary(&text_of(&r)), "No messages were published.");
}

#[test]
fn text_table_has_one_row_per_queue_and_group() {
    // Goal: one row per queue and per group (named topic/group), with the consumer ("-" when
    // none), counts, what was left at the end, lag and depth; then the brokers.
    let text = text_of(&results_with_messaging());
    let section = text.split("\nMessaging\n").nth(1).unwrap();
    let table: Vec<&str> = section.split("\n\n").nth(1).unwrap().lines().collect();
    assert_eq!(table.len(), 6, "{section}");
    let cells = |i: usize| table[i].split_whitespace().collect::<Vec<_>>();
    assert_eq!(cells(0)[..4], ["queue", "/", "group", "consumer"]);
    assert_eq!(
        cells(1),
        [
            "email-jobs",
            "email/send",
            "4000",
            "3985",
            "30",
            "12",
            "3",
            "25.0",
            "49.5",
            "6.0",
            "40"
        ]
    );
    assert_eq!(cells(2)[..2], ["email-dlq", "-"]);
    assert_eq!(cells(2)[7..9], ["-", "-"], "no lag without processing");
    assert_eq!(
        cells(4)[..2],
        ["order.placed/inventory", "inventory/reserve"]
    );
    assert_eq!(cells(5)[0], "order.placed/notify");
    assert!(
        text.contains("\nBrokers\n  broker  published  refused  delivered  lost  utilization\n"),
        "{text}"
    );
    assert!(text.contains("  kafka       12000       40      17120     0         0.6%\n"));
}

#[test]
fn no_broker_no_messaging_section() {
    // Goal: a run without a broker prints neither a Messaging nor a Brokers section.
    let mut out = Vec::new();
    write_text(&mut out, &Report::build(&results(), &model())).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains("Messaging") && !text.contains("Brokers"),
        "{text}"
    );
    let mut md = Vec::new();
    write_markdown(&mut md, &Report::build(&results(), &model()), &[]).unwrap();
    assert!(!String::from_utf8(md).unwrap().contains("Messaging"));
}

#[test]
fn messaging_faults_read_as_sentences() {
    // Goal: broker-down names the broker, duplicate names the topic and its rate, each with
    // what it hit; a messaging fault that hit nothing gets the usual warning.
    let text = text_of(&results_with_messaging());
    let verdict = text.split("\n\n").nth(1).unwrap().replace('\n', " ");
    assert!(
        verdict.contains(
            "Faults: broker kafka down at 20s for 5s (hit 40 messages); duplicates on \
             order.placed rate 0.1 at 30s for 10s (duplicated 95 deliveries)."
        ),
        "{verdict}"
    );
    assert!(text.contains("  2      duplicate rate 0.1  order.placed  30.0s–40.0s        95\n"));
    assert!(text.contains("<- broker-down kafka"), "{text}");
    let mut r = results_with_messaging();
    r.faults[0].affected = 0;
    let text = text_of(&r);
    assert!(
        text.contains("warning: fault 1 (broker-down kafka at 20s) hit nothing"),
        "{text}"
    );
}

#[test]
fn markdown_has_the_same_messaging_section() {
    // Goal: report.md carries the same summary and the same table as Markdown.
    let report = Report::build(&results_with_messaging(), &model_with_messaging());
    let mut out = Vec::new();
    write_markdown(&mut out, &report, &[]).unwrap();
    let md = String::from_utf8(out).unwrap();
    let text = text_of(&results_with_messaging());
    let section = md.split("\n## Messaging\n\n").nth(1).expect("a section");
    let paragraph = section.split("\n\n").next().unwrap();
    assert_eq!(paragraph, summary(&text));
    assert!(
        section.contains(
            "| queue / group | consumer | published | acked | redelivered | dead-lettered | \
             left at end | lag p50 ms | lag p99 ms | depth mean | depth max |\n\
             |:---|:---|---:|"
        ),
        "{section}"
    );
    assert!(
        section.contains("| order.placed/inventory | inventory/reserve | 5000 | 5050 |"),
        "{section}"
    );
    assert!(md.contains("\n## Brokers\n"), "{md}");
}

//! Flows in the reports: the `flows` section of the JSON (every field, `left_applied` named by
//! step sets, `inconsistent_rate`), `[[expect]]` paths through flow names, and the Consistency
//! section of the text and Markdown summaries.

use reports::{Report, evaluate, lookup, to_json_value, write_markdown, write_text};
use serde_json::{Value, json};
use sim_core::model::Bound;
use sim_core::results::RunResults;

use crate::support::{expect, flow_stats, model, model_with_flows, results, results_with_flows};

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn json_of(results: &RunResults) -> Value {
    to_json_value(results, &model_with_flows())
}

const FLOW_FIELDS: [&str; 13] = [
    "style",
    "steps",
    "started",
    "completed",
    "compensated",
    "inconsistent",
    "pending",
    "duplicate_effects",
    "client_mismatch",
    "latency_ms",
    "consistency_ms",
    "inconsistent_rate",
    "left_applied",
];

#[test]
fn flows_have_every_field_in_model_order() {
    // Goal: flows.NAME is keyed by flow name in model order (not sorted), every field of the
    // contract plus style, steps, inconsistent_rate and left_applied is there, and the counts
    // are the engine's.
    let v = json_of(&results_with_flows());
    let flows = &v["flows"];
    assert_eq!(keys(flows), ["place-order", "cancel-order"]);
    for (_, f) in flows.as_object().unwrap() {
        assert_eq!(keys(f), FLOW_FIELDS);
        for latency in ["latency_ms", "consistency_ms"] {
            assert_eq!(
                keys(&f[latency]),
                ["mean", "p50", "p90", "p99", "p999", "max"]
            );
        }
    }
    let f = &flows["place-order"];
    assert_eq!(f["style"], "orchestration");
    assert_eq!(
        f["steps"],
        json!(["inventory/reserve", "payment/charge", "shipping/ship"])
    );
    let n = |k: &str| f[k].as_u64().unwrap();
    assert_eq!(
        [
            n("started"),
            n("completed"),
            n("compensated"),
            n("inconsistent"),
            n("pending"),
            n("duplicate_effects"),
            n("client_mismatch")
        ],
        [12_000, 10_790, 13, 1_187, 10, 23, 57]
    );
    assert_eq!(
        n("started"),
        n("completed") + n("compensated") + n("inconsistent") + n("pending")
    );
    // The client saw 8–40 ms, the system agreed 9–60 ms after the start.
    assert!(f["latency_ms"]["max"].as_f64().unwrap() < 41.0);
    assert!(f["consistency_ms"]["max"].as_f64().unwrap() > 59.0);
    assert_eq!(flows["cancel-order"]["style"], "sync");
}

#[test]
fn left_applied_names_step_sets_in_increasing_mask_order() {
    // Goal: left_applied maps each set of steps left applied ("A + C", step names in step
    // order) to its count, in increasing mask order whatever order the results gave, and the
    // counts add up to inconsistent; a flow with none has {}.
    let mut r = results_with_flows();
    r.flows[0].left_applied = vec![(0b101, 412), (0b011, 100), (0b001, 675)];
    let v = json_of(&r);
    let left = &v["flows"]["place-order"]["left_applied"];
    assert_eq!(
        keys(left),
        [
            "inventory/reserve",
            "inventory/reserve + payment/charge",
            "inventory/reserve + shipping/ship"
        ]
    );
    assert_eq!(left["inventory/reserve"], 675);
    assert_eq!(left["inventory/reserve + payment/charge"], 100);
    assert_eq!(left["inventory/reserve + shipping/ship"], 412);
    let sum: u64 = left
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(sum, 1_187);
    assert_eq!(v["flows"]["cancel-order"]["left_applied"], json!({}));
}

#[test]
fn inconsistent_rate_is_inconsistent_over_started() {
    // Goal: inconsistent_rate = inconsistent / started, rounded to 6 decimals; 0 for a clean
    // flow and 0 (not NaN, not missing) when nothing started, with every number still there.
    let v = json_of(&results_with_flows());
    assert_eq!(v["flows"]["place-order"]["inconsistent_rate"], 0.098917);
    assert_eq!(v["flows"]["cancel-order"]["inconsistent_rate"], 0.0);
    let mut r = results_with_flows();
    r.flows[1] = flow_stats(
        "cancel-order",
        "sync",
        &["a/b"],
        (0, 0, 0, 0),
        (1, 2),
        (1, 2),
    );
    let v = json_of(&r);
    let f = &v["flows"]["cancel-order"];
    assert_eq!(f["started"], 0);
    // A share and latencies of no instance are null, and every key stays.
    assert!(f["inconsistent_rate"].is_null());
    assert_eq!(keys(f), FLOW_FIELDS);
    for stat in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(f["latency_ms"][stat].is_null(), "{stat}");
        assert!(f["consistency_ms"][stat].is_null(), "{stat}");
    }
}

#[test]
fn expect_paths_reach_flows_with_dashes_in_their_names() {
    // Goal: [[expect]] reads flows.NAME.FIELD for flow names with '-', latencies, the rate and
    // a left_applied set by its name; a typo in the flow name lists the flows.
    let v = json_of(&results_with_flows());
    assert_eq!(lookup(&v, "flows.place-order.inconsistent"), Ok(1187.0));
    assert_eq!(
        lookup(&v, "flows.place-order.inconsistent_rate"),
        Ok(0.098917)
    );
    assert_eq!(lookup(&v, "flows.cancel-order.client_mismatch"), Ok(0.0));
    assert_eq!(
        lookup(
            &v,
            "flows.place-order.left_applied.inventory/reserve + shipping/ship"
        ),
        Ok(412.0)
    );
    assert!(lookup(&v, "flows.place-order.consistency_ms.p99").unwrap() > 59.0);
    assert_eq!(
        lookup(&v, "flows.place-ordr.inconsistent").unwrap_err(),
        "no \"place-ordr\" under \"flows\"; available: place-order, cancel-order; did you mean \"place-order\"?"
    );
    let checked = evaluate(
        &[expect("flows.place-order.inconsistent", Bound::Below(1.0))],
        &v,
    );
    assert!(!checked[0].passed);
    assert_eq!(checked[0].value, Some(1187.0));
    // A run without flows says the section is empty.
    let plain = to_json_value(&results(), &model());
    assert_eq!(
        lookup(&plain, "flows.place-order.inconsistent").unwrap_err(),
        "no \"place-order\" under \"flows\": that section is empty in this run"
    );
}

fn text_of(results: &RunResults) -> String {
    let mut out = Vec::new();
    write_text(&mut out, &Report::build(results, &model_with_flows())).unwrap();
    String::from_utf8(out).unwrap()
}

/// The Consistency section's paragraphs (the blocks before its table), each unwrapped.
fn paragraphs(text: &str) -> Vec<String> {
    let section = text
        .split("\nConsistency\n")
        .nth(1)
        .expect("a Consistency section");
    let section = section.split("\nWorkloads\n").next().unwrap();
    let mut blocks: Vec<&str> = section.trim_end().split("\n\n").collect();
    blocks.pop();
    blocks
        .into_iter()
        .map(|b| b.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn text_says_what_each_flow_ended_as_in_plain_words() {
    // Goal: per flow, one paragraph: started, completed, rolled back, half-done with the step
    // sets left applied (what stayed, then "not" what did not), in progress at the end,
    // duplicate effects and wrong client outcomes, and the client's wait next to the time the
    // system agreed.
    let p = paragraphs(&text_of(&results_with_flows()));
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(
        p[0],
        "place-order (orchestration): of 12,000 started, 10,790 completed and 13 were rolled \
         back cleanly; 10 were still in progress at the end. 1,187 ended half-done — the system \
         disagrees with itself: inventory/reserve, not payment/charge, not shipping/ship: 775; \
         inventory/reserve + shipping/ship, not payment/charge: 412. 23 effects were applied \
         twice (a step that is not idempotent ran again for the same instance). 57 clients were \
         told the wrong outcome: ok for an instance that did not complete, or failed while its \
         effects remain. Clients waited p50 24.0 ms; the system agreed p50 34.5 ms after the \
         start."
    );
    assert_eq!(
        p[1],
        "cancel-order (sync): of 300 started, 290 completed and 10 were rolled back cleanly; 0 \
         ended half-done. Clients waited p50 5.99 ms; the system agreed p50 5.99 ms after the \
         start."
    );
}

#[test]
fn text_mentions_trouble_only_when_it_happened() {
    // Goal: a clean flow says "0 ended half-done" and names no duplicate effects, wrong
    // outcomes or work in progress; single counts read in the singular; unmeasured latencies
    // are said in words, not printed as 0 ms.
    let mut r = results_with_flows();
    let f = &mut r.flows[0];
    (f.compensated, f.inconsistent, f.pending) = (2_400, 0, 0);
    (f.duplicate_effects, f.client_mismatch) = (0, 0);
    f.completed = 9_600;
    f.left_applied.clear();
    let clean = &paragraphs(&text_of(&r))[0];
    assert!(
        clean.starts_with(
            "place-order (orchestration): of 12,000 started, 9,600 completed and 2,400 were \
             rolled back cleanly; 0 ended half-done. Clients waited"
        ),
        "{clean}"
    );
    for word in ["twice", "wrong outcome", "in progress", "disagrees"] {
        assert!(!clean.contains(word), "{word}: {clean}");
    }
    let f = &mut r.flows[0];
    (f.compensated, f.inconsistent, f.pending) = (2_398, 1, 1);
    (f.duplicate_effects, f.client_mismatch) = (1, 1);
    f.left_applied = vec![(0b010, 1)];
    f.latency.reset();
    f.consistency.reset();
    let one = &paragraphs(&text_of(&r))[0];
    for phrase in [
        "; 1 was still in progress at the end.",
        "1 ended half-done — the system disagrees with itself: payment/charge, not \
         inventory/reserve, not shipping/ship: 1.",
        "1 effect was applied twice",
        "1 client was told the wrong outcome",
        "No client was answered ok and no instance started after warmup settled.",
    ] {
        assert!(one.contains(phrase), "{phrase}\n{one}");
    }
    r.flows[1] = flow_stats(
        "cancel-order",
        "sync",
        &["a/b"],
        (0, 0, 0, 0),
        (1, 2),
        (1, 2),
    );
    assert_eq!(
        paragraphs(&text_of(&r))[1],
        "cancel-order (sync): no instance started."
    );
}

#[test]
fn consistency_comes_right_after_the_verdict_with_a_headline() {
    // Goal: the Consistency section is the first section after the verdict (before the
    // workloads), the verdict names each flow with inconsistent instances and its share, and
    // the table has one row per flow with every count and latency.
    let text = text_of(&results_with_flows());
    let verdict = text.split("\n\n").nth(1).unwrap().replace('\n', " ");
    assert!(
        verdict.contains("place-order: 9.9% of instances inconsistent."),
        "{verdict}"
    );
    assert!(!verdict.contains("cancel-order"), "{verdict}");
    let (consistency, workloads) = (
        text.find("\nConsistency\n").unwrap(),
        text.find("\nWorkloads\n").unwrap(),
    );
    assert!(consistency < workloads, "{text}");
    assert!(text[..consistency].ends_with("Failures: none.\n"), "{text}");
    let section = &text[consistency..workloads];
    let table: Vec<Vec<&str>> = section
        .trim_end()
        .rsplit("\n\n")
        .next()
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(table.len(), 3, "{section}");
    assert_eq!(table[0][..3], ["flow", "style", "started"]);
    assert_eq!(
        table[1],
        [
            "place-order",
            "orchestration",
            "12000",
            "10790",
            "13",
            "1187",
            "10",
            "23",
            "57",
            "24.0",
            "39.7",
            "34.5",
            "59.5"
        ]
    );
    assert_eq!(
        table[2][..6],
        ["cancel-order", "sync", "300", "290", "10", "0"]
    );
    // No inconsistent instance: no headline.
    let mut r = results_with_flows();
    r.flows[0].inconsistent = 0;
    let verdict = text_of(&r).split("\n\n").nth(1).unwrap().to_string();
    assert!(!verdict.contains("inconsistent"), "{verdict}");
}

#[test]
fn no_flow_no_consistency_section() {
    // Goal: a scenario without flows prints no Consistency section, in text or Markdown.
    let report = Report::build(&results(), &model());
    let mut out = Vec::new();
    write_text(&mut out, &report).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("Consistency"), "{text}");
    let mut md = Vec::new();
    write_markdown(&mut md, &report, &[]).unwrap();
    assert!(!String::from_utf8(md).unwrap().contains("Consistency"));
}

#[test]
fn markdown_has_the_same_consistency_section() {
    // Goal: report.md carries the same paragraphs and the same table, after the verdict and
    // before the plots.
    let report = Report::build(&results_with_flows(), &model_with_flows());
    let mut out = Vec::new();
    write_markdown(&mut out, &report, &[("consistency.svg", "Consistency")]).unwrap();
    let md = String::from_utf8(out).unwrap();
    let section = md.split("\n## Consistency\n\n").nth(1).expect("a section");
    assert!(
        md.find("## Consistency").unwrap() < md.find("## Plots").unwrap(),
        "{md}"
    );
    let text = paragraphs(&text_of(&results_with_flows()));
    let blocks: Vec<&str> = section.split("\n\n").collect();
    assert_eq!(blocks[0], text[0]);
    assert_eq!(blocks[1], text[1]);
    assert!(
        blocks[2].starts_with(
            "| flow | style | started | completed | compensated | inconsistent | pending | \
             dup effects | client mismatch | client p50 ms | client p99 ms | consistency p50 ms \
             | consistency p99 ms |\n|:---|:---|---:|"
        ),
        "{section}"
    );
    assert!(
        blocks[2].contains("\n| place-order | orchestration | 12000 | 10790 | 13 | 1187 |"),
        "{section}"
    );
}

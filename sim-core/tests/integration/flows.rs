//! Flows of each style compile into the model shape `model::flow` describes (entry endpoints,
//! step calls, request queues, the async topic, the choreography queues), the engine accepts
//! that model, and damaged flow scenarios never panic the parser. The engine does not run
//! flows as flows yet, so no run figure is checked here.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::RngExt;
use sim_core::model::{Destination, EndpointId, FlowId, FlowStyle, QueueRole};
use sim_core::rng::stream;
use sim_core::{Model, Override, SimDuration, parse_scenario};

/// One flow of each style over the same three steps, each started by its own workload.
pub const FLOWS: &str = r#"[scenario]
name = "flows"
duration = "2s"
drain = "2s"

[network]
latency = "1ms"

[workload.sync]
flow = "buy-sync"
rate = 20
timeout = "3s"

[workload.orchestrated]
flow = "buy-saga"
users = 2

[workload.async]
flow = "buy-async"
rate = 20

[workload.choreographed]
flow = "buy-chain"
rate = 20

[service.order.endpoint.place]
work = "1ms"

[service.inventory.endpoint.reserve]
work = "exp(1ms)"
effect = true
[service.inventory.endpoint.release]
effect = true

[service.payment.endpoint.charge]
work = "exp(2ms)"
effect = true
[service.payment.endpoint.refund]
effect = true

[service.shipping.endpoint.ship]
work = "1ms"
effect = true

[broker.kafka]
latency = "1ms"

[flow.buy-sync]
style = "sync"
entry = "order"
timeout = "1s"
retries = 1
steps = [
  { do = "inventory/reserve", undo = "inventory/release" },
  { do = "payment/charge", undo = "payment/refund", reject = 0.1 },
  { do = "shipping/ship" },
]

[flow.buy-saga]
style = "orchestration"
entry = "order"
via = "kafka"
timeout = "2s"
recovery = "500ms"
steps = [
  { do = "inventory/reserve", undo = "inventory/release" },
  { do = "payment/charge", undo = "payment/refund", reject = 0.1 },
  { do = "shipping/ship" },
]

[flow.buy-async]
style = "async"
entry = "order"
partitions = 2
max_deliveries = 3
steps = [
  { do = "inventory/reserve" },
  { do = "payment/charge", reject = 0.1 },
  { do = "shipping/ship" },
]

[flow.buy-chain]
style = "choreography"
entry = "order"
prefetch = 2
visibility = "5s"
steps = [
  { do = "inventory/reserve", undo = "inventory/release" },
  { do = "payment/charge", undo = "payment/refund", reject = 0.1 },
  { do = "shipping/ship" },
]

[[fault]]
kind = "duplicate"
target = "flow:buy-chain/do:2"
at = "1s"
rate = 0.5
"#;

fn parse(text: &str) -> Model {
    match parse_scenario("flows.toml", text, &[]) {
        Ok(m) => m,
        Err(d) => panic!("should parse:\n{d}"),
    }
}

#[test]
fn one_flow_of_each_style_builds_the_documented_model() {
    // Goal: entry endpoints after the six declared ones, in file order; each workload starts
    // its flow through its entry endpoint; sync and orchestration coordinators call every do
    // then every undo (directly, or via request queues); async publishes to its topic with a
    // group per step; choreography sends to the first of its step queues.
    let m = parse(FLOWS);
    let entries: Vec<String> = (6..10).map(|i| m.endpoint_name(EndpointId(i))).collect();
    assert_eq!(
        entries,
        [
            "order/flow:buy-sync",
            "order/flow:buy-saga",
            "order/flow:buy-async",
            "order/flow:buy-chain"
        ]
    );
    let styles: Vec<FlowStyle> = m.flows.iter().map(|f| f.style).collect();
    assert_eq!(
        styles,
        [
            FlowStyle::Sync,
            FlowStyle::Orchestration,
            FlowStyle::Async,
            FlowStyle::Choreography
        ]
    );
    for (i, w) in m.workloads.iter().enumerate() {
        assert_eq!(w.flow, Some(FlowId(i as u32)));
        assert_eq!(w.call.to, m.flows[i].entry_endpoint);
    }

    let sync = m.endpoint(m.flows[0].entry_endpoint);
    let to: Vec<u32> = sync.calls.iter().map(|c| c.to.0).collect();
    assert_eq!(to, [1, 3, 5, 2, 4]);
    assert!(sync.calls.iter().all(|c| c.via.is_none()));
    assert_eq!(sync.calls[0].timeout, Some(SimDuration::from_secs(1)));

    let saga = &m.flows[1];
    assert_eq!(saga.recovery, SimDuration::from_millis(500));
    let via: Vec<String> = m
        .endpoint(saga.entry_endpoint)
        .calls
        .iter()
        .map(|c| m.queue(c.via.expect("via the broker")).name.clone())
        .collect();
    assert_eq!(
        via,
        [
            "requests:inventory/reserve",
            "requests:payment/charge",
            "requests:shipping/ship",
            "requests:inventory/release",
            "requests:payment/refund"
        ]
    );
    let undo_calls: Vec<Option<u16>> = saga.steps.iter().map(|s| s.undo_call).collect();
    assert_eq!(undo_calls, [Some(3), Some(4), None]);

    let topic = m.topic(m.flows[2].topic.expect("async topic"));
    assert_eq!(
        (topic.name.as_str(), topic.partitions),
        ("flow:buy-async", 2)
    );
    let groups: Vec<&str> = topic.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(groups, ["step1", "step2", "step3"]);
    let dlq = m.queue(
        topic
            .dead_letter
            .expect("max_deliveries implies a dead letter"),
    );
    assert_eq!(
        (dlq.name.as_str(), dlq.role),
        ("flow:buy-async-dlq", QueueRole::DeadLetter)
    );

    let chain = &m.flows[3];
    let first = chain.steps[0].do_queue.expect("do queue");
    let publish: Vec<Destination> = m
        .endpoint(chain.entry_endpoint)
        .publish
        .iter()
        .map(|p| p.to)
        .collect();
    assert_eq!(publish, [Destination::Queue(first)]);
    let names: Vec<&str> = m
        .queues
        .iter()
        .filter(|q| q.name.starts_with("flow:buy-chain"))
        .map(|q| q.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "flow:buy-chain/do:1",
            "flow:buy-chain/do:2",
            "flow:buy-chain/do:3",
            "flow:buy-chain/undo:1",
            "flow:buy-chain/undo:2"
        ]
    );
    let q = m.queue(first);
    assert_eq!((q.prefetch, q.visibility), (2, SimDuration::from_secs(5)));
}

#[test]
fn set_reaches_flow_keys_and_steps() {
    // Goal: `--set` edits a flow's keys and its steps by index, and a style-specific key
    // added by `--set` to a style it does not apply to is reported naming the override.
    let set = |path: &str, value: &str| Override {
        path: path.to_string(),
        value: value.to_string(),
    };
    let overrides = [
        set("flow.buy-sync.retries", "3"),
        set("flow.buy-sync.steps.1.reject", "0.5"),
        set("flow.buy-async.partitions", "8"),
    ];
    let m = match parse_scenario("flows.toml", FLOWS, &overrides) {
        Ok(m) => m,
        Err(d) => panic!("should parse:\n{d}"),
    };
    let sync = m.endpoint(m.flows[0].entry_endpoint);
    assert_eq!(sync.calls[4].resilience.retry.retries, 3);
    assert_eq!(m.flows[0].steps[1].reject, 0.5);
    assert_eq!(m.topic(m.flows[2].topic.unwrap()).partitions, 8);
    let bad = [set("flow.buy-async.timeout", "\"0s\"")];
    let d = parse_scenario("flows.toml", FLOWS, &bad).expect_err("a zero timeout");
    let text = d.to_string();
    assert!(
        text.contains("flow.buy-async.timeout") && text.contains("--set"),
        "{text}"
    );
}

#[test]
fn the_engine_accepts_the_compiled_flows() {
    // Goal: a smoke check that the model flows compile into is one the engine can run to the
    // end (it runs the entry endpoints as ordinary endpoints until it runs flows itself).
    let m = parse(FLOWS);
    let outcome = catch_unwind(AssertUnwindSafe(|| sim_core::run(&m, 1)));
    assert!(outcome.is_ok(), "the engine panicked on the flows model");
}

#[test]
fn mutated_flow_scenarios_never_panic_the_parser() {
    // Goal: 1,500 random line deletions, duplications and character edits of the flows
    // scenario (fixed seed) each parse to a model or to diagnostics, never a panic.
    let mut rng = stream(20_260_601, "flow-mutation");
    let edits = ['"', '[', ']', '{', '}', '=', '0', '/', ':', '\n', 'x'];
    let (mut ok, mut err) = (0, 0);
    for case in 0..1500 {
        let mut lines: Vec<String> = FLOWS.lines().map(String::from).collect();
        for _ in 0..rng.random_range(1..=3) {
            let i = rng.random_range(0..lines.len());
            match rng.random_range(0..3) {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let dup = lines[i].clone();
                    lines.insert(i, dup);
                }
                _ => {
                    let line: Vec<char> = lines[i].chars().collect();
                    let at = rng.random_range(0..=line.len());
                    let c = edits[rng.random_range(0..edits.len())];
                    let mut edited: String = line[..at].iter().collect();
                    edited.push(c);
                    edited.extend(&line[at..]);
                    lines[i] = edited;
                }
            }
        }
        let text = lines.join("\n");
        match catch_unwind(AssertUnwindSafe(|| parse_scenario("f.toml", &text, &[]))) {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(d)) => {
                assert!(!d.0.is_empty(), "an error must carry a diagnostic");
                err += 1;
            }
            Err(_) => panic!("parser panicked on mutant {case}:\n{text}"),
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

//! `meshsim trace` follows everything a request sets going: publishes, queue waits,
//! deliveries, consumers, acks, redeliveries, dead letters, request-reply over a broker, flow
//! instances through their steps and compensations, and the reasons for refusals.

use crate::support::{meshsim, model, root};
use sim_core::trace::{Span, SpanKind, Trace, TraceTarget};

fn trace_of(text: &str, target: TraceTarget) -> Trace {
    let m = model(text);
    sim_core::trace(&m, m.seed, target)
        .unwrap()
        .expect("a request to trace")
}

fn scenario(name: &str) -> String {
    std::fs::read_to_string(root().join("scenarios").join(name)).unwrap()
}

fn span(trace: &Trace, id: u32) -> &Span {
    trace
        .spans
        .iter()
        .find(|s| s.id == id)
        .expect("a known span")
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a str> {
    s.attributes
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
}

/// Every span but the request's own hangs from a span of the trace, ids are unique, and
/// the request is the one root.
fn assert_one_tree(trace: &Trace) {
    let mut ids: Vec<u32> = trace.spans.iter().map(|s| s.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), trace.spans.len(), "unique ids");
    let roots: Vec<&Span> = trace.spans.iter().filter(|s| s.parent.is_none()).collect();
    assert_eq!(roots.len(), 1, "one root: {roots:?}");
    assert_eq!(roots[0].kind, SpanKind::Request);
    for s in &trace.spans {
        if let Some(p) = s.parent {
            assert!(
                ids.binary_search(&p).is_ok(),
                "{s:?} hangs from a span of the trace"
            );
        }
    }
}

#[test]
fn a_publish_shows_the_producer_each_groups_wait_and_its_consumer_under_it() {
    // Goal: a request whose endpoint publishes to a topic of three consumer groups shows
    // the publish (the round trip to the broker, inside the publisher's serving), under it
    // one wait in the topic's partition per group and one consumer per group, and under
    // each consumer its queue wait and work on the consumer's replica. Each wait ends
    // before its consumer starts; each consumer is acked.
    let trace = trace_of(&scenario("pubsub-fanout.toml"), TraceTarget::Request(5));
    assert_one_tree(&trace);
    let publish: Vec<&Span> = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Publish)
        .collect();
    assert_eq!(publish.len(), 1);
    let publish = publish[0];
    assert_eq!(publish.outcome.as_deref(), Some("ok"));
    assert_eq!(span(&trace, publish.parent.unwrap()).kind, SpanKind::Serve);
    let waits: Vec<&Span> = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Wait)
        .collect();
    let consumers: Vec<&Span> = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Consume)
        .collect();
    assert_eq!(waits.len(), 3);
    assert_eq!(consumers.len(), 3);
    for s in waits.iter().chain(&consumers) {
        assert_eq!(s.parent, Some(publish.id), "{s:?}");
        assert!(s.start >= publish.start);
    }
    for c in &consumers {
        let work: Vec<&Span> = trace
            .spans
            .iter()
            .filter(|s| s.parent == Some(c.id) && s.kind == SpanKind::Work)
            .collect();
        assert_eq!(work.len(), 1, "{c:?}");
        assert_eq!(
            work[0].track, c.track,
            "the work is on the consumer's replica"
        );
        let acks = trace
            .spans
            .iter()
            .filter(|s| s.parent == Some(c.id) && s.kind == SpanKind::Ack)
            .count();
        assert_eq!(acks, 1, "{c:?}");
        let group = c.name.split('/').next().unwrap();
        let wait = waits
            .iter()
            .find(|w| w.track.ends_with(&format!("/{group}")))
            .expect("its group's wait");
        assert!(wait.end <= c.start, "{wait:?} before {c:?}");
    }
}

/// An API that hands every upload to a consumer that always fails: each message is
/// delivered `max_deliveries` times, nacked each time, then dead-lettered.
const POISON: &str = r#"
[scenario]
name = "poison"
duration = "1s"
[workload.up]
endpoint = "api/upload"
rate = 5
[broker.mq]
latency = "100us"
[queue.jobs]
broker = "mq"
consumer = "worker/load"
max_deliveries = 3
dead_letter = "jobs-dlq"
[service.api.endpoint.upload]
work = "1ms"
send = ["jobs"]
[service.worker.endpoint.load]
work = "2ms"
fail = 1.0
"#;

#[test]
fn a_dead_lettered_message_shows_every_delivery_nack_and_the_dead_letter_queue() {
    // Goal: a message whose consumer always fails shows max_deliveries = 3 waits (numbered
    // 1, 2, 3; the later ones after a nack), three consumers each nacked, and then one
    // dead-letter instant naming the dead-letter queue, after the last nack.
    let trace = trace_of(POISON, TraceTarget::Request(1));
    assert_one_tree(&trace);
    let mut waits: Vec<&Span> = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Wait)
        .collect();
    waits.sort_by_key(|s| s.start);
    let deliveries: Vec<&str> = waits
        .iter()
        .map(|w| attr(w, "meshsim.delivery").unwrap())
        .collect();
    assert_eq!(deliveries, ["1", "2", "3"]);
    assert_eq!(attr(waits[0], "meshsim.redelivered_after"), None);
    assert_eq!(attr(waits[1], "meshsim.redelivered_after"), Some("nack"));
    assert_eq!(attr(waits[2], "meshsim.redelivered_after"), Some("nack"));
    let consumers = trace.spans.iter().filter(|s| s.kind == SpanKind::Consume);
    assert!(
        consumers
            .clone()
            .all(|c| c.outcome.as_deref() == Some("error"))
    );
    assert_eq!(consumers.count(), 3);
    let nacks: Vec<&Span> = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::Ack)
        .collect();
    assert_eq!(nacks.len(), 3);
    assert!(nacks.iter().all(|a| a.name.ends_with(" nack")), "{nacks:?}");
    let dead: Vec<&Span> = trace
        .spans
        .iter()
        .filter(|s| s.kind == SpanKind::DeadLetter)
        .collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(attr(dead[0], "meshsim.dead_letter"), Some("mq/jobs-dlq"));
    assert!(nacks.iter().all(|a| a.end <= dead[0].start));
}

#[test]
fn a_request_reply_call_via_a_broker_shows_its_consumer_under_the_call() {
    // Goal: a call `via` a broker shows, under the call, the request's wait in the queue and
    // the callee's serving as a consumer (its work on a pricing replica), and the call ends
    // after that work.
    let trace = trace_of(&scenario("request-reply.toml"), TraceTarget::Request(600));
    assert_one_tree(&trace);
    let call = trace
        .spans
        .iter()
        .find(|s| s.kind == SpanKind::Call)
        .expect("the call via mq");
    let consumer = trace
        .spans
        .iter()
        .find(|s| s.kind == SpanKind::Consume)
        .expect("its consumer");
    assert_eq!(consumer.parent, Some(call.id));
    assert!(consumer.track.starts_with("pricing#"));
    assert!(
        trace
            .spans
            .iter()
            .any(|s| s.kind == SpanKind::Wait && s.parent == Some(call.id))
    );
    assert!(call.end >= consumer.end);
}

#[test]
fn a_flow_instance_shows_every_step_and_compensation_in_both_saga_styles() {
    // Goal: with the last step always refused, the first flow instance of the four-step
    // saga runs every step and then undoes the three before it in reverse (warehouse, then
    // payment, then inventory) — followed across all five services, past the client's
    // answer, whether orchestrated (calls via the broker) or choreographed (commands). The
    // coordinator retries the refused step (the flow's retries = 3: four attempts); a
    // choreographed refusal is final (one).
    let text =
        scenario("choreography-vs-orchestration.toml").replace("reject = 0.05", "reject = 1.0");
    for (style, refused_attempts) in [("orchestration", 4), ("choreography", 1)] {
        let text = text.replace("style = \"orchestration\"", &format!("style = \"{style}\""));
        let trace = trace_of(&text, TraceTarget::FlowInstance(1));
        assert_eq!(trace.flow_instance, Some(1));
        assert_one_tree(&trace);
        let mut served: Vec<(&str, &str)> = {
            let mut v: Vec<&Span> = trace
                .spans
                .iter()
                .filter(|s| matches!(s.kind, SpanKind::Serve | SpanKind::Consume))
                .filter(|s| attr(s, "meshsim.flow.step").is_some_and(|k| k != "entry"))
                .collect();
            v.sort_by_key(|s| s.start);
            v.iter()
                .map(|s| (s.name.as_str(), attr(s, "meshsim.flow.step").unwrap()))
                .collect()
        };
        let attempts = served.iter().filter(|s| s.0 == "carrier/ship").count();
        assert_eq!(attempts, refused_attempts, "{style}: {served:?}");
        served.dedup();
        assert_eq!(
            served,
            [
                ("inventory/reserve", "do 1"),
                ("payment/charge", "do 2"),
                ("warehouse/pack", "do 3"),
                ("carrier/ship", "do 4"),
                ("warehouse/unpack", "undo 3"),
                ("payment/refund", "undo 2"),
                ("inventory/release", "undo 1"),
            ],
            "{style}"
        );
    }
    // --flow-instance and --inconsistent from the command line.
    let out = meshsim(&[
        "trace",
        "scenarios/saga-crash.toml",
        "--set",
        "flow.place-order.style=async",
        "--inconsistent",
        "--text",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().nth(1).unwrap().starts_with("flow instance #"),
        "{text}"
    );
    let none = meshsim(&["trace", "scenarios/saga-crash.toml", "--inconsistent"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("ended inconsistent"));
}

#[test]
fn a_refused_request_shows_why() {
    // Goal: a request turned away shows a refusal carrying the meshsim cause and the reason
    // in words: a full queue (cascading-failure), a shed after a long wait
    // (load-shedding), a rate limit without a token, and a caller's open breaker.
    let cases = [
        (
            "scenarios/cascading-failure.toml",
            "rejected on gateway#",
            "queue full:",
        ),
        (
            "scenarios/load-shedding.toml",
            "shed on shedding#",
            "shed after waiting",
        ),
    ];
    for (file, who, why) in cases {
        let out = meshsim(&["trace", file, "--failed", "--text"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.contains(" refused "))
            .unwrap_or_else(|| panic!("a refusal in {text}"));
        assert!(line.contains(who) && line.contains(why), "{line}");
    }
    let limited = "[scenario]\nname = \"limited\"\nduration = \"1s\"\n[workload.w]\n\
        endpoint = \"api/x\"\nrate = 200\narrival = \"constant\"\n[service.api]\n\
        rate_limit = { rate = 10, burst = 1 }\n[service.api.endpoint.x]\nwork = \"1ms\"\n";
    let trace = trace_of(limited, TraceTarget::Failed);
    assert_eq!(trace.outcome, "rate_limited");
    let refused = trace
        .spans
        .iter()
        .find(|s| s.kind == SpanKind::Refused)
        .unwrap();
    assert_eq!(attr(refused, "meshsim.cause"), Some("rate_limited"));
    assert!(
        refused
            .name
            .contains("no token in api's rate limit (10 per s, burst 1)"),
        "{}",
        refused.name
    );
    let broken = "[scenario]\nname = \"broken\"\nduration = \"2s\"\n[workload.w]\n\
        endpoint = \"api/x\"\nrate = 100\narrival = \"constant\"\n[service.api.endpoint.x]\n\
        calls = [{ to = \"db/get\", breaker = { threshold = 0.5, window = 4, cooldown = \"10s\" } }]\n\
        [service.db.endpoint.get]\nfail = 1.0\n";
    let trace = trace_of(broken, TraceTarget::Request(50));
    assert_one_tree(&trace);
    let refused = trace
        .spans
        .iter()
        .find(|s| s.kind == SpanKind::Refused)
        .unwrap();
    assert_eq!(refused.outcome.as_deref(), Some("circuit_open"));
    assert!(
        refused.name.contains("breaker on db/get is open"),
        "{}",
        refused.name
    );
    assert_eq!(span(&trace, refused.parent.unwrap()).kind, SpanKind::Call);
}

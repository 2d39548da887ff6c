//! Brokers, queues and topics become the expected model: consumers and publishes with their
//! links, link overrides and link faults naming brokers, `broker-down` and `duplicate`
//! faults; and damaged messaging scenarios never panic the parser.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::RngExt;
use sim_core::model::{Destination, FaultKind, LinkId, QueueId, QueueRole, TopicId};
use sim_core::rng::stream;
use sim_core::{Model, SimDuration, parse_scenario};

/// order publishes `order.placed` (two groups) and sends to `email-jobs`; gateway asks
/// pricing for a quote via kafka.
pub const MESSAGING: &str = r#"[scenario]
name = "messaging"
duration = "60s"

[network]
latency = "1ms"
[network.link."order->kafka"]
latency = "5ms"
loss = 0.01

[workload.w]
endpoint = "gateway/in"
rate = 10

[service.gateway.endpoint.in]
calls = [{ to = "order/place" }, { to = "pricing/quote", via = "kafka", timeout = "2s" }]

[service.order.endpoint.place]
publish = ["order.placed"]
send = ["email-jobs"]

[service.pricing.endpoint.quote]
[service.inventory.endpoint.reserve]
effect = true
idempotent = true
[service.notification.endpoint.send]
[service.email.endpoint.send]
effect = true

[broker.kafka]
latency = "exp(1ms)"
capacity = 50000
durable = false

[topic."order.placed"]
partitions = 6
keys = 100
max_deliveries = 3
[topic."order.placed".subscribers]
inventory = "inventory/reserve"
notify = "notification/send"

[queue.email-jobs]
consumer = "email/send"
prefetch = 4
visibility = "10s"
max_deliveries = 3
dead_letter = "email-dlq"

[[fault]]
kind = "broker-down"
target = "kafka"
at = "10s"
for = "5s"

[[fault]]
kind = "duplicate"
target = "order.placed"
at = "20s"
rate = 0.5

[[fault]]
kind = "duplicate"
target = "requests:pricing/quote"
at = "20s"
rate = 1

[[fault]]
kind = "partition"
groups = [["order"], ["kafka"]]
at = "30s"

[[fault]]
kind = "loss"
target = "kafka->email"
at = "40s"
rate = 0.2
"#;

fn parse(text: &str) -> Model {
    match parse_scenario("messaging.toml", text, &[]) {
        Ok(m) => m,
        Err(d) => panic!("should parse:\n{d}"),
    }
}

fn link(m: &Model, name: &str) -> LinkId {
    let i = (0..m.links.len()).find(|i| m.link_name(LinkId(*i as u32)) == name);
    LinkId(i.unwrap_or_else(|| panic!("no link {name}")) as u32)
}

#[test]
fn messaging_scenario_builds_the_expected_model() {
    // Goal: queues in the documented order (declared, dead letters, request queues), groups
    // from a sub-table in file order, publishes then sends, via calls through the broker.
    let m = parse(MESSAGING);
    let queues: Vec<(&str, QueueRole)> =
        m.queues.iter().map(|q| (q.name.as_str(), q.role)).collect();
    assert_eq!(
        queues,
        [
            ("email-jobs", QueueRole::Declared),
            // Dead letters in the order the file names them: the topic comes first.
            ("order.placed-dlq", QueueRole::DeadLetter),
            ("email-dlq", QueueRole::DeadLetter),
            ("requests:pricing/quote", QueueRole::Requests),
        ]
    );
    let topic = &m.topics[0];
    assert_eq!(topic.dead_letter, Some(QueueId(1)));
    assert_eq!(m.queues[0].dead_letter, Some(QueueId(2)));
    let groups: Vec<(&str, String)> = topic
        .groups
        .iter()
        .map(|g| (g.name.as_str(), m.endpoint_name(g.consumer.endpoint)))
        .collect();
    assert_eq!(
        groups,
        [
            ("inventory", "inventory/reserve".to_string()),
            ("notify", "notification/send".to_string())
        ]
    );
    let place = m.endpoints.iter().find(|e| e.name == "place").unwrap();
    let to: Vec<Destination> = place.publish.iter().map(|p| p.to).collect();
    assert_eq!(
        to,
        [
            Destination::Topic(TopicId(0)),
            Destination::Queue(QueueId(0))
        ]
    );
    let gateway = &m.endpoints[0];
    assert_eq!(gateway.calls[0].via, None);
    assert_eq!(gateway.calls[1].via, Some(QueueId(3)));
    assert_eq!(m.link_name(gateway.calls[1].link), "gateway->kafka");
    assert_eq!(gateway.calls[1].timeout, Some(SimDuration::from_secs(2)));
    let broker = &m.brokers[0];
    assert_eq!(
        (broker.capacity_per_s, broker.durable),
        (Some(50_000.0), false)
    );
}

#[test]
fn link_overrides_and_link_faults_name_brokers() {
    // Goal: "order->kafka" overrides both directions of the order-broker pair, and a
    // partition or a loss can cut a service off its broker.
    let m = parse(MESSAGING);
    for name in ["order->kafka", "kafka->order"] {
        let l = &m.links[link(&m, name).0 as usize];
        assert_eq!(
            (l.latency.to_string(), l.loss),
            ("5ms".to_string(), 0.01),
            "{name}"
        );
    }
    assert_eq!(m.links[link(&m, "kafka->email").0 as usize].loss, 0.0);
    let order_kafka = vec![link(&m, "order->kafka"), link(&m, "kafka->order")];
    let mut sorted = order_kafka.clone();
    sorted.sort();
    assert_eq!(m.faults[3].kind, FaultKind::Partition { links: sorted });
    assert_eq!(m.faults[3].target, "order|kafka");
    let mut email = vec![link(&m, "kafka->email"), link(&m, "email->kafka")];
    email.sort();
    assert_eq!(
        m.faults[4].kind,
        FaultKind::Loss {
            links: email,
            rate: 0.2
        }
    );
}

#[test]
fn broker_down_and_duplicate_faults_resolve_their_targets() {
    // Goal: broker-down names a broker; duplicate names a topic or any queue, request queues
    // included, with its rate.
    let m = parse(MESSAGING);
    assert_eq!(
        m.faults[0].kind,
        FaultKind::BrokerDown {
            broker: sim_core::model::BrokerId(0)
        }
    );
    assert_eq!(m.faults[0].duration, Some(SimDuration::from_secs(5)));
    assert_eq!(
        m.faults[1].kind,
        FaultKind::Duplicate {
            to: Destination::Topic(TopicId(0)),
            rate: 0.5
        }
    );
    assert_eq!(
        m.faults[2].kind,
        FaultKind::Duplicate {
            to: Destination::Queue(QueueId(3)),
            rate: 1.0
        }
    );
}

#[test]
fn messaging_fault_problems_are_all_reported() {
    // Goal: keys that do not apply, missing rates and unknown targets are each reported.
    let text = format!(
        "{MESSAGING}{}",
        r#"
[[fault]]
kind = "broker-down"
target = "kafak"
at = "1s"
factor = 2
groups = [["order"], ["kafka"]]

[[fault]]
kind = "duplicate"
target = "email-job"
at = "1s"

[[fault]]
kind = "broker-down"
at = "1s"

[[fault]]
kind = "slow"
target = "kafka"
factor = 2
at = "1s"
"#
    );
    let diags = parse_scenario("f.toml", &text, &[]).expect_err("bad faults");
    let all = diags.to_string();
    for want in [
        "fault[5].target = \"kafak\": unknown broker \"kafak\"; known: kafka; did you mean \"kafka\"?",
        "fault[5].factor applies to slow faults only",
        "fault[5].groups applies to partition faults only",
        "fault[6] needs rate, the probability in (0, 1] that a delivery is duplicated",
        "fault[6].target = \"email-job\": unknown topic or queue \"email-job\"; known: \
         order.placed, email-jobs, order.placed-dlq, email-dlq, requests:pricing/quote; did you \
         mean \"email-jobs\"?",
        "fault[7] needs target: a broker",
        "fault[8].target = \"kafka\": \"kafka\" is a broker, not a service",
    ] {
        assert!(all.contains(want), "missing \"{want}\" in:\n{all}");
    }
    assert_eq!(diags.0.len(), 7, "{all}");
}

#[test]
fn mutated_messaging_scenarios_never_panic_the_parser() {
    // Goal: 1,500 random line deletions, duplications and character edits of the messaging
    // scenario (fixed seed) each parse to a model or to diagnostics, never a panic. (The
    // engine's own mutation test covers running; this one covers the messaging parser.)
    let mut rng = stream(20_260_501, "messaging-mutation");
    let edits = ['"', '[', ']', '=', '0', '-', '>', '/', '.', '\n', 'x'];
    let (mut ok, mut err) = (0, 0);
    for case in 0..1500 {
        let mut lines: Vec<String> = MESSAGING.lines().map(String::from).collect();
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
        match catch_unwind(AssertUnwindSafe(|| parse_scenario("m.toml", &text, &[]))) {
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

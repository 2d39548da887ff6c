//! The tricky rules of brokers, queues and topics, checked on whole scenarios.

use crate::model::{
    DEFAULT_PARTITIONS, DEFAULT_PREFETCH, DEFAULT_PUBLISH_TIMEOUT, DEFAULT_VISIBILITY, Destination,
    EndpointId, LinkId, Model, QueueId, QueueRole, TopicId,
};
use crate::scenario::{Diagnostics, parse_scenario};
use crate::time::SimDuration;

/// Services `order/place` (called by a workload), `email/send`, `inventory/reserve`,
/// `pricing/quote`; the rest comes from `extra`.
fn scenario(extra: &str) -> String {
    format!(
        r#"[scenario]
name = "m"
duration = "10s"
[workload.w]
endpoint = "order/place"
rate = 10
[service.email.endpoint.send]
[service.inventory.endpoint.reserve]
[service.pricing.endpoint.quote]
{extra}"#
    )
}

fn model(extra: &str) -> Model {
    match parse_scenario("m.toml", &scenario(extra), &[]) {
        Ok(m) => m,
        Err(d) => panic!("should parse:\n{d}"),
    }
}

fn problems(extra: &str) -> Diagnostics {
    match parse_scenario("m.toml", &scenario(extra), &[]) {
        Ok(_) => panic!("should fail:\n{extra}"),
        Err(d) => d,
    }
}

fn assert_says(d: &Diagnostics, want: &str) {
    assert!(d.to_string().contains(want), "missing \"{want}\" in:\n{d}");
}

fn link_names(m: &Model) -> Vec<String> {
    (0..m.links.len())
        .map(|i| m.link_name(LinkId(i as u32)))
        .collect()
}

fn queue_names(m: &Model) -> Vec<&str> {
    m.queues.iter().map(|q| q.name.as_str()).collect()
}

#[test]
fn defaults_fill_what_is_left_out() {
    // Goal: a bare broker, queue and topic get the documented defaults, and the only broker
    // declared is the one a queue or topic without `broker` lives on.
    let m = model(
        r#"[service.order.endpoint.place]
[broker.kafka]
[queue.jobs]
[topic.events]
"#,
    );
    let b = &m.brokers[0];
    assert_eq!(b.latency.to_string(), "0ns");
    assert_eq!((b.capacity_per_s, b.durable), (None, true));
    assert_eq!(b.publish_timeout, DEFAULT_PUBLISH_TIMEOUT);
    let q = &m.queues[0];
    assert_eq!((q.broker.0, q.role), (0, QueueRole::Declared));
    assert!(q.consumer.is_none());
    assert_eq!(
        (q.prefetch, q.visibility),
        (DEFAULT_PREFETCH, DEFAULT_VISIBILITY)
    );
    assert_eq!(
        (q.max_deliveries, q.dead_letter, q.keys),
        (None, None, None)
    );
    let t = &m.topics[0];
    assert_eq!(
        (t.broker.0, t.partitions, t.keys),
        (0, DEFAULT_PARTITIONS, None)
    );
    assert!(
        t.groups.is_empty(),
        "a topic without subscribers is allowed"
    );
    assert_eq!((t.visibility, t.max_deliveries), (DEFAULT_VISIBILITY, None));
    assert_eq!(m.queues.len(), 1);
}

#[test]
fn every_key_is_read() {
    // Goal: each key lands in its model field; subscriber groups keep file order.
    let m = model(
        r#"[service.order.endpoint.place]
publish = ["orders"]
send = ["jobs"]
effect = true
idempotent = true
[broker.kafka]
latency = "exp(1ms)"
capacity = 50000
durable = false
publish_timeout = "2s"
[queue.jobs]
consumer = "email/send"
prefetch = 8
visibility = "10s"
max_deliveries = 3
dead_letter = "jobs-dead"
keys = 100
[topic.orders]
partitions = 6
keys = 50
subscribers = { stock = "inventory/reserve", audit = "email/send" }
visibility = "1s"
"#,
    );
    let b = &m.brokers[0];
    assert_eq!(b.latency.to_string(), "exp(1ms)");
    assert_eq!((b.capacity_per_s, b.durable), (Some(50_000.0), false));
    assert_eq!(b.publish_timeout, SimDuration::from_secs(2));
    let q = &m.queues[0];
    assert_eq!(q.consumer.as_ref().map(|c| c.endpoint), Some(EndpointId(0)));
    assert_eq!((q.prefetch, q.visibility), (8, SimDuration::from_secs(10)));
    assert_eq!((q.max_deliveries, q.keys), (Some(3), Some(100)));
    assert_eq!(q.dead_letter, Some(QueueId(1)));
    let t = &m.topics[0];
    assert_eq!((t.partitions, t.keys), (6, Some(50)));
    let groups: Vec<&str> = t.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(groups, ["stock", "audit"]);
    assert_eq!(t.visibility, SimDuration::from_secs(1));
    let place = &m.endpoints[3];
    assert!(place.effect && place.idempotent);
    let to: Vec<Destination> = place.publish.iter().map(|p| p.to).collect();
    assert_eq!(
        to,
        [
            Destination::Topic(TopicId(0)),
            Destination::Queue(QueueId(0))
        ]
    );
}

#[test]
fn dead_letters_are_declared_implicit_or_named_dlq() {
    // Goal: `max_deliveries` alone dead-letters to NAME-dlq; an undeclared `dead_letter`
    // is created; a declared one is used; created ones follow the declared queues, in the
    // order the file names them, on their first namer's broker, without a consumer.
    let m = model(
        r#"[service.order.endpoint.place]
[broker.a]
[broker.b]
[topic.events]
broker = "b"
max_deliveries = 2
[queue.jobs]
broker = "a"
max_deliveries = 3
[queue.mail]
broker = "a"
max_deliveries = 3
dead_letter = "parked"
[queue.parked]
broker = "a"
[queue.bills]
broker = "a"
max_deliveries = 1
dead_letter = "shared-dlq"
[queue.fees]
broker = "a"
max_deliveries = 1
dead_letter = "shared-dlq"
"#,
    );
    assert_eq!(
        queue_names(&m),
        [
            "jobs",
            "mail",
            "parked",
            "bills",
            "fees",
            "events-dlq",
            "jobs-dlq",
            "shared-dlq"
        ]
    );
    let id = |name: &str| {
        let i = m.queues.iter().position(|q| q.name == name).unwrap();
        Some(QueueId(i as u32))
    };
    assert_eq!(m.queues[0].dead_letter, id("jobs-dlq"));
    assert_eq!(m.queues[1].dead_letter, id("parked"));
    assert_eq!(m.queues[3].dead_letter, id("shared-dlq"));
    assert_eq!(m.queues[4].dead_letter, id("shared-dlq"));
    assert_eq!(m.topics[0].dead_letter, id("events-dlq"));
    let events_dlq = &m.queues[5];
    assert_eq!(
        (events_dlq.role, events_dlq.broker.0),
        (QueueRole::DeadLetter, 1)
    );
    assert!(events_dlq.consumer.is_none() && events_dlq.max_deliveries.is_none());
    assert_eq!(m.queues[2].role, QueueRole::Declared);
}

#[test]
fn dead_letter_mistakes_are_reported() {
    // Goal: a dead letter without max_deliveries, naming its own queue, naming a topic, on
    // another broker, or closing a cycle is an error.
    let d = problems(
        r#"[service.order.endpoint.place]
[broker.a]
[broker.b]
[topic.events]
broker = "a"
[queue.lonely]
broker = "a"
dead_letter = "elsewhere"
[queue.selfish]
broker = "a"
max_deliveries = 2
dead_letter = "selfish"
[queue.mixed]
broker = "a"
max_deliveries = 2
dead_letter = "events"
[queue.far]
broker = "b"
max_deliveries = 2
dead_letter = "lonely"
[queue.ping]
broker = "a"
max_deliveries = 2
dead_letter = "pong"
[queue.pong]
broker = "a"
max_deliveries = 2
dead_letter = "ping"
"#,
    );
    assert_says(
        &d,
        "queue.lonely.dead_letter needs max_deliveries (the number of deliveries before a \
         message is dead-lettered)",
    );
    assert_says(
        &d,
        "queue.selfish.dead_letter = \"selfish\" names the queue itself",
    );
    assert_says(&d, "queue.mixed.dead_letter = \"events\" is a topic");
    assert_says(
        &d,
        "queue.far.dead_letter = \"lonely\" is on broker \"a\", and queue.far is on broker \"b\"",
    );
    assert_says(&d, "dead-letter cycle: ping -> pong -> ping");
    assert_eq!(d.0.len(), 5, "{d}");
}

#[test]
fn via_calls_share_a_request_queue_per_broker_and_endpoint() {
    // Goal: calls via the same broker to the same endpoint share one request queue, named
    // `requests:service/endpoint`, after the declared and dead-letter queues; its consumer is
    // the target; the call's links go to and from the broker.
    let m = model(
        r#"[service.order.endpoint.place]
calls = [{ to = "pricing/quote", via = "kafka" }, { to = "inventory/reserve", via = "kafka" }]
[service.order.endpoint.cancel]
calls = [{ to = "pricing/quote", via = "kafka", timeout = "1s" }]
[broker.kafka]
[queue.jobs]
max_deliveries = 1
"#,
    );
    assert_eq!(
        queue_names(&m),
        [
            "jobs",
            "jobs-dlq",
            "requests:pricing/quote",
            "requests:inventory/reserve"
        ]
    );
    let place = &m.endpoints[3].calls;
    let cancel = &m.endpoints[4].calls;
    assert_eq!(place[0].via, Some(QueueId(2)));
    assert_eq!(cancel[0].via, Some(QueueId(2)));
    assert_eq!(place[1].via, Some(QueueId(3)));
    assert_eq!(m.link_name(place[0].link), "order->kafka");
    assert_eq!(m.link_name(place[0].reply_link), "kafka->order");
    let q = &m.queues[2];
    assert_eq!(q.role, QueueRole::Requests);
    assert_eq!(
        (q.prefetch, q.visibility),
        (DEFAULT_PREFETCH, DEFAULT_VISIBILITY)
    );
    assert_eq!(
        (q.max_deliveries, q.dead_letter, q.keys),
        (None, None, None)
    );
    let consumer = q.consumer.as_ref().expect("the target consumes");
    assert_eq!(m.endpoint_name(consumer.endpoint), "pricing/quote");
    assert_eq!(m.link_name(consumer.deliver_link), "kafka->pricing");
    assert_eq!(m.link_name(consumer.ack_link), "pricing->kafka");
}

#[test]
fn request_queues_via_two_brokers_get_distinct_names() {
    // Goal: one endpoint reached via two brokers has two request queues, named apart.
    let m = model(
        r#"[service.order.endpoint.place]
calls = [{ to = "pricing/quote", via = "a" }, { to = "pricing/quote", via = "b" }]
[broker.a]
[broker.b]
"#,
    );
    assert_eq!(
        queue_names(&m),
        ["requests:pricing/quote@a", "requests:pricing/quote@b"]
    );
}

#[test]
fn links_are_numbered_calls_then_publishes_then_consumers() {
    // Goal: link ids by first use: workloads, calls (via calls to the broker), publishes
    // (publisher->broker, back), queue consumers (broker->consumer, back; request queues
    // last), then topic groups.
    let m = model(
        r#"[service.order.endpoint.place]
calls = [{ to = "pricing/quote", via = "kafka" }]
publish = ["orders"]
send = ["jobs"]
[service.billing.endpoint.charge]
send = ["jobs"]
[broker.kafka]
[queue.jobs]
consumer = "email/send"
[topic.orders]
subscribers = { stock = "inventory/reserve", mail = "email/send" }
"#,
    );
    assert_eq!(
        link_names(&m),
        [
            "client->order",
            "order->client",
            "order->kafka",
            "kafka->order",
            "billing->kafka",
            "kafka->billing",
            "kafka->email",
            "email->kafka",
            "kafka->pricing",
            "pricing->kafka",
            "kafka->inventory",
            "inventory->kafka",
        ]
    );
    let publish = &m.endpoints[3].publish;
    assert_eq!(m.link_name(publish[1].link), "order->kafka");
    assert_eq!(m.link_name(publish[1].ack_link), "kafka->order");
}

#[test]
fn broker_is_required_unless_exactly_one_is_declared() {
    // Goal: with no broker, or several, a queue or topic without `broker` is an error
    // saying which.
    let d = problems("[service.order.endpoint.place]\n[queue.jobs]\n");
    assert_says(
        &d,
        "queue.jobs needs a broker, but no [broker.NAME] is declared",
    );
    let d = problems("[service.order.endpoint.place]\n[broker.a]\n[broker.b]\n[topic.t]\n");
    assert_says(
        &d,
        "missing required key topic.t.broker (several brokers are declared: a, b)",
    );
}

#[test]
fn references_are_checked_with_suggestions() {
    // Goal: unknown brokers, topics, queues and endpoints name the known ones and the
    // likely typo; a topic in `send` (or a queue in `publish`) says which key to use.
    let d = problems(
        r#"[service.order.endpoint.place]
calls = [{ to = "pricing/quote", via = "kafak" }]
publish = ["ordres", "jobs"]
send = ["jbos", "orders", 5]
[broker.kafka]
[queue.jobs]
broker = "kafka"
consumer = "email/sned"
[topic.orders]
subscribers = { stock = "inventry/reserve" }
"#,
    );
    for want in [
        "unknown broker \"kafak\" in service.order.endpoint.place.calls[0].via; known: kafka; \
         did you mean \"kafka\"?",
        "unknown topic \"ordres\" in service.order.endpoint.place.publish; known: orders; did \
         you mean \"orders\"?",
        "\"jobs\" in service.order.endpoint.place.publish is a queue, not a topic; send to it \
         with send = [\"jobs\"]",
        "unknown queue \"jbos\" in service.order.endpoint.place.send; known: jobs; did you mean \
         \"jobs\"?",
        "\"orders\" in service.order.endpoint.place.send is a topic, not a queue",
        "service.order.endpoint.place.send[2] = 5: expected a queue name (a string)",
        "unknown endpoint \"email/sned\" in queue.jobs.consumer",
        "did you mean \"email/send\"?",
        "unknown endpoint \"inventry/reserve\" in topic.orders.subscribers.stock",
    ] {
        assert_says(&d, want);
    }
}

#[test]
fn names_must_not_collide() {
    // Goal: a broker named like a service, a queue named like a topic, and a declared
    // `requests:` queue are errors.
    let d = problems(
        r#"[service.order.endpoint.place]
[broker.email]
[queue.orders]
[queue."requests:x"]
[topic.orders]
"#,
    );
    assert_says(&d, "broker name \"email\" is also a service's name");
    assert_says(&d, "queue name \"orders\" is also a topic's name");
    assert_says(
        &d,
        "queue name \"requests:x\" must not start with \"requests:\"",
    );
}

#[test]
fn ranges_are_checked() {
    // Goal: zero or out-of-range counts and zero durations are rejected with the range.
    let d = problems(
        r#"[service.order.endpoint.place]
[broker.kafka]
capacity = 0
publish_timeout = "0s"
[queue.jobs]
prefetch = 0
visibility = "0s"
max_deliveries = 0
keys = 1000001
[topic.orders]
partitions = 0
"#,
    );
    for want in [
        "broker.kafka.capacity = 0 is out of range; allowed: a number > 0",
        "broker.kafka.publish_timeout = \"0s\": allowed: a duration > 0",
        "queue.jobs.prefetch = 0 is out of range; allowed: an integer from 1 to 100000",
        "queue.jobs.visibility = \"0s\": allowed: a duration > 0",
        "queue.jobs.max_deliveries = 0 is out of range",
        "queue.jobs.keys = 1000001 is out of range; allowed: an integer from 1 to 1000000",
        "topic.orders.partitions = 0 is out of range; allowed: an integer from 1 to 10000",
    ] {
        assert_says(&d, want);
    }
}

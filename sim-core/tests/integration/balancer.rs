//! Picking a replica at model sizes where a scan per pick would show: 100,000 replicas behind
//! health checks and `least-outstanding`, or reading a queue and a topic, must behave exactly
//! as the rules say.

use sim_core::{Override, RunResults, parse_scenario};

/// One request every millisecond, each done in 0.4 ms: a request always finds every replica
/// idle, so `least-outstanding` (ties: lowest index) sends everything to replica 0. Replica 0
/// crashes between two arrivals (nothing in service is lost) for 1 s: until the next health
/// check the callers still send to it and are refused (`unavailable`); after it they use
/// replica 1; after the restart, and the next check, replica 0 again.
const LEAST: &str = r#"[scenario]
name = "least-wide"
duration = "10s"
drain = "1s"

[workload.w]
endpoint = "api/serve"
rate = 1000
arrival = "constant"

[service.api]
replicas = 2
lb = "least-outstanding"
health_check = "100ms"
[service.api.endpoint.serve]
work = "0.4ms"

[[fault]]
kind = "crash"
target = "api#0"
at = "2000.5ms"
for = "1s"
"#;

/// `text` with every service of `services` at `replicas` replicas, run on seed 1.
fn run_sized(text: &str, services: &[&str], replicas: u32) -> RunResults {
    let sets: Vec<Override> = services
        .iter()
        .map(|s| Override::parse(&format!("service.{s}.replicas={replicas}")).expect("PATH=VALUE"))
        .collect();
    let model = parse_scenario("sized.toml", text, &sets).expect("valid");
    sim_core::run(&model, 1).expect("runs")
}

/// What two runs of the same behaviour share, as printed: events, end time, workloads,
/// endpoints, faults, calls and messages (not the per-service figures that count replicas).
fn behaviour(r: &RunResults) -> Vec<String> {
    vec![
        r.events.to_string(),
        r.sim_time.to_string(),
        format!("{:?}", r.workloads),
        format!("{:?}", r.endpoints),
        format!("{:?}", r.faults),
        format!("{:?}", r.calls),
        format!("{:?}", r.messages),
        r.services.iter().map(|s| s.arrivals.to_string()).collect(),
    ]
}

// Goal: with 100,000 replicas the run is the 2-replica run, event for event — only replicas
// 0 and 1 can ever win — so the indexed minimum and the O(changes) health check pick and
// learn exactly what a scan would. A wrong tie-break (another replica), a missed belief
// update (requests still sent to the crashed replica after a check) or a lost restart would
// change the failures, the fault's count or the event count.
#[test]
fn a_hundred_thousand_replicas_behave_like_two_when_two_suffice() {
    let two = run_sized(LEAST, &["api"], 2);
    let wide = run_sized(LEAST, &["api"], 100_000);
    assert_eq!(behaviour(&wide), behaviour(&two));
    assert_eq!(
        wide.services[0].mean_in_system,
        two.services[0].mean_in_system
    );
}

// Goal: the expected behaviour itself, from the rules rather than from another run: 9,999
// requests (at 1 ms, 2 ms, … up to the last before 10 s), the refused ones are exactly those that reached the crashed replica before the
// first check after the crash (at most one check period: 100 at one per ms, and at least one
// since a check phase is random but the crash falls between arrivals), the fault counts each
// of them, and nothing else fails or stays in flight.
#[test]
fn a_crashed_replica_is_avoided_from_the_next_health_check_on() {
    let r = run_sized(LEAST, &["api"], 100_000);
    let w = &r.workloads[0];
    assert_eq!(w.sent, 9_999);
    let refused = w.failed.total();
    assert!((1..=100).contains(&refused), "refused {refused}");
    assert_eq!(r.faults[0].affected, refused);
    assert_eq!(w.ok + refused, w.sent);
    assert_eq!(w.in_flight, 0);
    assert_eq!(r.services[0].arrivals, w.sent);
}

/// A producer sends one message a millisecond to a queue and publishes one to a 2-partition
/// topic; each is handled in 0.4 ms, so every consumer replica is idle whenever the broker
/// picks it. The queue goes round-robin over the replicas with room; partition p to the first
/// replica up from p. The topic's replica 0 is down for 1 s (crashing between two arrivals):
/// partition 0 then goes to replica 1, whatever the number of replicas.
const CONSUMERS: &str = r#"[scenario]
name = "consumers-wide"
duration = "10s"
drain = "1s"

[workload.w]
endpoint = "producer/emit"
rate = 1000
arrival = "constant"

[service.producer.endpoint.emit]
send = ["jobs"]
publish = ["events"]

[broker.mq]

[queue.jobs]
consumer = "worker/handle"

[topic.events]
partitions = 2
[topic.events.subscribers]
readers = "reader/read"

[service.worker]
replicas = 2
[service.worker.endpoint.handle]
work = "0.4ms"

[service.reader]
replicas = 2
[service.reader.endpoint.read]
work = "0.4ms"

[[fault]]
kind = "crash"
target = "reader#0"
at = "4000.5ms"
for = "1s"
"#;

// Goal: the broker's indexed search for a consumer slot (queue) and for the first replica up
// (partition) picks what the rules pick at 100,000 replicas as at 2: identical message
// accounts, fault counts and event counts. A slot wrongly closed (a message waiting) or
// wrongly open (a message sent to the crashed replica and lost) would change them or the
// counts below.
#[test]
fn a_hundred_thousand_consumers_behave_like_two_when_two_suffice() {
    let two = run_sized(CONSUMERS, &["worker", "reader"], 2);
    let wide = run_sized(CONSUMERS, &["worker", "reader"], 100_000);
    assert_eq!(behaviour(&wide), behaviour(&two));
    // And what the rules say outright: every message, sent at 1 ms, 2 ms, … before 10 s, is
    // handled exactly once by the queue's consumers and by the group, the crash included.
    assert_eq!(wide.messages.queues[0].acknowledged, 9_999);
    let readers = &wide.messages.topics[0].groups[0];
    assert_eq!(readers.acknowledged, 9_999);
    assert_eq!(readers.redelivered, 0);
    assert_eq!(wide.messages.queues[0].redelivered, 0);
}

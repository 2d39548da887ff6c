//! Brokers and messaging: conservation, dead letters, fan-out and duplicates, decoupling,
//! competing consumers against Erlang C, per-key ordering, request-reply, broker outages.

use sim_core::results::{ChannelStats, RunResults};

use crate::queueing::erlang_c;
use crate::support::{model, rel, run, scenario_files};

/// Every queue and topic group of a run, named `queue` or `topic/group`.
fn channels(r: &RunResults) -> Vec<(String, &ChannelStats)> {
    let mut out: Vec<(String, &ChannelStats)> = r
        .messages
        .queues
        .iter()
        .map(|q| (q.name.clone(), q))
        .collect();
    for t in &r.messages.topics {
        for g in &t.groups {
            out.push((format!("{}/{}", t.name, g.name), g));
        }
    }
    out
}

fn channel<'r>(r: &'r RunResults, name: &str) -> &'r ChannelStats {
    channels(r)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no queue or group {name}"))
        .1
}

/// Every copy that entered is accounted for exactly once.
pub(crate) fn assert_balanced(what: &str, c: &ChannelStats) {
    let entered = c.published + c.duplicates;
    let accounted = c.acknowledged + c.dead_lettered + c.queued + c.in_flight + c.lost;
    assert_eq!(
        entered, accounted,
        "{what}: published {} + duplicates {} != acknowledged {} + dead_lettered {} + queued {} \
         + in_flight {} + lost {}",
        c.published, c.duplicates, c.acknowledged, c.dead_lettered, c.queued, c.in_flight, c.lost
    );
}

/// Conservation over a whole run: every queue and group balances, dead letters arrive where
/// they were sent, and a topic's groups each received one copy per published message.
fn assert_conserved(what: &str, text: &str, r: &RunResults) {
    let m = model(text);
    for (name, c) in channels(r) {
        assert_balanced(&format!("{what} {name}"), c);
    }
    for (i, q) in m.queues.iter().enumerate() {
        let into: u64 = m
            .queues
            .iter()
            .zip(&r.messages.queues)
            .filter(|(src, _)| src.dead_letter.map(|d| d.0 as usize) == Some(i))
            .map(|(_, s)| s.dead_lettered)
            .chain(
                m.topics
                    .iter()
                    .zip(&r.messages.topics)
                    .filter(|(t, _)| t.dead_letter.map(|d| d.0 as usize) == Some(i))
                    .flat_map(|(_, t)| t.groups.iter().map(|g| g.dead_lettered)),
            )
            .sum();
        let received = r.messages.queues[i].published;
        assert!(
            received >= into,
            "{what}: {} received {received} but {into} were dead-lettered into it",
            q.name
        );
    }
    for t in &r.messages.topics {
        for g in &t.groups {
            assert_eq!(
                g.published, t.published,
                "{what}: {}/{} got one copy per message",
                t.name, g.name
            );
        }
    }
}

#[test]
fn every_queue_and_group_balances_in_every_scenario_and_seed() {
    // Goal (acceptance 1): for every queue and topic group, published (+ duplicates made by
    // faults) = acknowledged + dead-lettered + still queued or in flight + lost, over every
    // scenario with a broker and several seeds. Nothing vanishes unaccounted.
    let mut with_brokers = 0;
    for file in scenario_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        if model(&text).brokers.is_empty() {
            continue;
        }
        with_brokers += 1;
        for seed in [1, 2, 3] {
            let r = run(&text, seed);
            assert_conserved(&format!("{} seed {seed}", file.display()), &text, &r);
        }
    }
    assert!(with_brokers >= 7, "the messaging lessons are in scenarios/");
}

/// A producer sending to one queue with one consumer, plus `extra` TOML.
fn producer_consumer(rate: u32, consumer_fail: f64, queue_keys: &str, extra: &str) -> String {
    format!(
        r#"
[scenario]
name = "pc"
duration = "60s"
warmup = "0s"
drain = "60s"

[workload.w]
endpoint = "producer/emit"
rate = {rate}

[service.producer]
workers = 64
[service.producer.endpoint.emit]
work = "exp(1ms)"
send = ["jobs"]

[broker.mq]
latency = "exp(200us)"

[queue.jobs]
broker = "mq"
consumer = "consumer/handle"
{queue_keys}

[service.consumer]
replicas = 2
workers = 4
[service.consumer.endpoint.handle]
work = "exp(2ms)"
fail = {consumer_fail}
{extra}
"#
    )
}

#[test]
fn a_consumer_that_always_fails_dead_letters_every_message_after_exactly_max_deliveries() {
    // Goal (acceptance 2): max_deliveries = 3 and a consumer that always fails: each message
    // is delivered exactly 3 times, then every one of them is in the dead-letter queue.
    let text = producer_consumer(100, 1.0, "max_deliveries = 3\nvisibility = \"5s\"", "");
    for seed in [1, 2] {
        let r = run(&text, seed);
        let jobs = channel(&r, "jobs");
        let dlq = channel(&r, "jobs-dlq");
        assert!(jobs.published > 5_000, "{}", jobs.published);
        assert_eq!(jobs.delivered, 3 * jobs.published);
        assert_eq!(jobs.redelivered, 2 * jobs.published);
        assert_eq!(jobs.acknowledged, 0);
        assert_eq!(jobs.dead_lettered, jobs.published);
        assert_eq!(jobs.queued + jobs.in_flight, 0, "drained");
        assert_eq!(dlq.published, jobs.published);
        assert_eq!(
            dlq.queued, jobs.published,
            "nobody reads the DLQ: all still there"
        );
        let handle = r
            .endpoints
            .iter()
            .find(|e| e.name == "consumer/handle")
            .unwrap();
        assert_eq!(
            handle.arrivals,
            3 * jobs.published,
            "the consumer saw each 3 times"
        );
    }
}

/// One topic with three groups: `idem` (idempotent effect), `naive` (effect, not
/// idempotent), `plain` (no effect); a duplicate fault at `rate` over the whole run if > 0.
fn fanout(rate: f64) -> String {
    let fault = if rate > 0.0 {
        format!(
            "[[fault]]\nkind = \"duplicate\"\ntarget = \"events\"\nat = \"0s\"\nrate = {rate}\n"
        )
    } else {
        String::new()
    };
    format!(
        r#"
[scenario]
name = "fanout"
duration = "100s"
warmup = "0s"
drain = "30s"

[workload.w]
endpoint = "producer/emit"
rate = 200

[service.producer]
workers = 64
[service.producer.endpoint.emit]
work = "exp(1ms)"
publish = ["events"]

[broker.kafka]
latency = "exp(1ms)"

[topic.events]
broker = "kafka"
partitions = 4
subscribers = {{ idem = "a/apply", naive = "b/apply", plain = "c/apply" }}

[service.a]
replicas = 2
workers = 2
[service.a.endpoint.apply]
work = "exp(1ms)"
effect = true
idempotent = true

[service.b]
replicas = 2
workers = 2
[service.b.endpoint.apply]
work = "exp(1ms)"
effect = true

[service.c]
replicas = 2
workers = 2
[service.c.endpoint.apply]
work = "exp(1ms)"

{fault}
"#
    )
}

#[test]
fn every_group_gets_every_event_and_duplicates_hit_only_non_idempotent_effects() {
    // Goal (acceptance 3): G groups receive G deliveries per event; a duplicate fault at rate
    // r adds about r more per group; idempotent consumers apply nothing twice, non-idempotent
    // ones show duplicate_effects of about r per event.
    let r = run(&fanout(0.0), 1);
    let events = &r.messages.topics[0];
    assert_eq!(events.groups.len(), 3);
    assert!(events.published > 19_000, "{}", events.published);
    let delivered: u64 = events.groups.iter().map(|g| g.delivered).sum();
    assert_eq!(
        delivered,
        3 * events.published,
        "3 groups, 3 deliveries per event"
    );
    for g in &events.groups {
        assert_eq!(g.duplicates + g.deduplicated + g.duplicate_effects, 0);
    }

    let rate = 0.2;
    let r = run(&fanout(rate), 1);
    let events = &r.messages.topics[0];
    let n = events.published as f64;
    // Binomial: 3 standard deviations of the duplicate count.
    let slack = 3.0 * (n * rate * (1.0 - rate)).sqrt();
    for g in &events.groups {
        let extra = g.delivered as f64 - n;
        assert!(
            (extra - n * rate).abs() < slack,
            "{}: {extra} extra deliveries for {n} events at rate {rate}",
            g.name
        );
        assert_eq!(g.delivered, g.published + g.duplicates);
    }
    let idem = &events.groups[0];
    let naive = &events.groups[1];
    assert_eq!(
        idem.duplicate_effects, 0,
        "an idempotent consumer applies once"
    );
    assert_eq!(
        idem.deduplicated, idem.duplicates,
        "and recognises every duplicate"
    );
    assert_eq!(naive.deduplicated, 0);
    assert_eq!(naive.duplicate_effects, naive.duplicates);
    let per_event = naive.duplicate_effects as f64 / n;
    assert!(
        (per_event - rate).abs() < slack / n,
        "duplicate_effects per event {per_event}, rate {rate}"
    );
}

#[test]
fn a_consumer_slowed_50x_becomes_lag_not_producer_latency() {
    // Goal (acceptance 4): with the consumer 50x slower for 10 s, the producer's p99 stays
    // within 2x of the run without the fault, the lag p99 passes a second, and after the
    // fault everything drains and nothing is lost.
    let path = crate::support::root().join("scenarios/async-decoupling.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.find("[[fault]]").expect("the scenario has its fault");
    let end = text[start..].find("[[expect]]").unwrap() + start;
    let baseline_text = format!("{}{}", &text[..start], &text[end..]);
    for seed in [1, 2] {
        let slowed = run(&text, seed);
        let baseline = run(&baseline_text, seed);
        let p99 = |r: &RunResults| {
            sim_core::results::LatencySummary::of(&r.workloads[0].latency)
                .expect("requests succeeded")
                .p99
        };
        assert!(
            p99(&slowed) < 2.0 * p99(&baseline),
            "producer p99 {} ms vs baseline {} ms",
            p99(&slowed),
            p99(&baseline)
        );
        let q = channel(&slowed, "invoices");
        let lag_p99 = q.lag.value_at_quantile(0.99) as f64 / 1e6;
        assert!(lag_p99 > 1000.0, "lag p99 {lag_p99} ms");
        let base_lag = channel(&baseline, "invoices").lag.value_at_quantile(0.99) as f64 / 1e6;
        assert!(base_lag < 100.0, "baseline lag p99 {base_lag} ms");
        assert_eq!(q.queued + q.in_flight + q.lost, 0, "drained, nothing lost");
        assert_eq!(q.acknowledged, q.published);
        assert_eq!(slowed.workloads[0].failed.total(), 0);
    }
}

/// A queue read by `c` single-worker consumers: Poisson arrivals at `lambda`, exp work of
/// mean 1 ms, no latency anywhere, so the queue is an M/M/c waiting room.
fn competing(c: u32, lambda: f64, secs: u32) -> String {
    format!(
        r#"
[scenario]
name = "mmc-queue"
duration = "{secs}s"
warmup = "10s"
drain = "10s"

[workload.w]
endpoint = "producer/emit"
rate = {lambda}

[service.producer]
workers = 100000
[service.producer.endpoint.emit]
send = ["jobs"]

[broker.mq]

[queue.jobs]
broker = "mq"
consumer = "consumer/handle"

[service.consumer]
replicas = {c}
workers = 1
[service.consumer.endpoint.handle]
work = "exp(1ms)"
"#
    )
}

#[test]
fn competing_consumers_wait_as_erlang_c_predicts() {
    // Goal (acceptance 5): c consumers on a queue with Poisson arrivals and exponential work
    // are an M/M/c queue; the mean wait in the broker matches Erlang C within 5%.
    let mu = 1000.0;
    for c in [1u32, 2, 4] {
        let lambda = 0.8 * f64::from(c) * mu;
        let r = run(&competing(c, lambda, 400), 11);
        let q = channel(&r, "jobs");
        let a = lambda / mu;
        let wq_ms = erlang_c(f64::from(c), a) / (f64::from(c) * mu - lambda) * 1e3;
        let wait_ms = q.wait.mean() / 1e6;
        assert!(
            rel(wait_ms, wq_ms) < 0.05,
            "c = {c}: mean wait {wait_ms:.4} ms, Erlang C {wq_ms:.4} ms"
        );
        assert_balanced("mmc", q);
    }
}

/// A keyed topic with one consumer group; `fail` > 0 makes redeliveries.
fn keyed(fail: f64) -> String {
    format!(
        r#"
[scenario]
name = "keyed"
duration = "60s"
warmup = "0s"
drain = "30s"

[workload.w]
endpoint = "producer/emit"
rate = 500

[service.producer]
workers = 64
[service.producer.endpoint.emit]
work = "exp(1ms)"
publish = ["accounts"]

[broker.kafka]
latency = "exp(1ms)"

[topic.accounts]
broker = "kafka"
partitions = 2
keys = 4
subscribers = {{ view = "view/apply" }}

[service.view]
replicas = 3
workers = 4
[service.view.endpoint.apply]
work = "exp(2ms)"
fail = {fail}
"#
    )
}

#[test]
fn per_key_order_holds_without_redelivery_and_breaks_with_it() {
    // Goal (acceptance 6): with keys and no redelivery, out_of_order is 0 (one partition
    // per key, one message at a time); with redeliveries (a failing consumer), order is
    // broken and counted.
    for seed in [1, 2, 3] {
        let r = run(&keyed(0.0), seed);
        let g = channel(&r, "accounts/view");
        assert_eq!(g.redelivered, 0);
        assert!(g.acknowledged > 29_000, "{}", g.acknowledged);
        assert_eq!(g.out_of_order, 0, "seed {seed}");
    }
    let r = run(&keyed(0.05), 1);
    let g = channel(&r, "accounts/view");
    assert!(g.redelivered > 1_000, "{}", g.redelivered);
    assert!(g.out_of_order > 100, "out_of_order {}", g.out_of_order);
    assert!(
        g.out_of_order <= g.redelivered,
        "only a redelivered message can come late"
    );
}

#[test]
fn a_consumer_crash_mid_message_is_redelivered_after_the_visibility_timeout() {
    // Goal: a consumer replica that crashes while holding messages never acks them; the
    // broker redelivers them after the visibility timeout, and nothing is lost.
    let extra =
        "[[fault]]\nkind = \"crash\"\ntarget = \"consumer#0\"\nat = \"10s\"\nfor = \"3s\"\n";
    let text = producer_consumer(500, 0.0, "visibility = \"1s\"\nprefetch = 4", extra);
    let r = run(&text, 1);
    let q = channel(&r, "jobs");
    assert!(
        q.redelivered > 0,
        "the crashed replica's messages came back"
    );
    assert_eq!(
        q.acknowledged, q.published,
        "and were all processed in the end"
    );
    assert_eq!(q.lost + q.dead_lettered + q.queued + q.in_flight, 0);
}

#[test]
fn a_broker_outage_fails_publishes_and_a_non_durable_broker_loses_what_it_held() {
    // Goal: broker-down makes publishes fail at the publisher (unavailable) for its window;
    // a durable broker keeps its messages, a non-durable one loses them, counted as lost.
    let fault = "[[fault]]\nkind = \"broker-down\"\ntarget = \"mq\"\nat = \"20s\"\nfor = \"5s\"\n";
    // A slow consumer keeps a backlog in the broker when it goes down.
    let slow = |durable: bool| {
        producer_consumer(200, 0.0, "", fault)
            .replace("work = \"exp(2ms)\"", "work = \"exp(45ms)\"")
            .replace("[broker.mq]", &format!("[broker.mq]\ndurable = {durable}"))
    };
    for durable in [true, false] {
        let text = slow(durable);
        let r = run(&text, 1);
        let q = channel(&r, "jobs");
        let w = &r.workloads[0];
        let unavailable = w.failed.get(sim_core::results::Cause::Unavailable);
        // 200/s for 5 s.
        assert!(
            (800..1200).contains(&unavailable),
            "durable={durable}: {unavailable} publishes refused"
        );
        assert_eq!(r.messages.brokers[0].publish_failed, unavailable);
        assert_balanced("outage", q);
        if durable {
            assert_eq!(q.lost, 0);
            assert_eq!(
                q.acknowledged, q.published,
                "everything drained after the outage"
            );
        } else {
            assert!(q.lost > 100, "the backlog was lost: {}", q.lost);
            assert_eq!(r.messages.brokers[0].lost, q.lost);
        }
    }
}

#[test]
fn request_reply_over_a_broker_answers_every_caller_with_its_own_reply() {
    // Goal: a call via a broker goes through the request queue and back; every request is
    // answered exactly once (correlation by pending call), and with retries after a lost
    // reply nothing is answered twice.
    let path = crate::support::root().join("scenarios/request-reply.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let no_crash = {
        let start = text.find("[[fault]]").unwrap();
        let end = text[start..].find("[[expect]]").unwrap() + start;
        format!("{}{}", &text[..start], &text[end..])
    };
    let r = run(&no_crash, 1);
    let w = &r.workloads[0];
    assert_eq!(w.failed.total() + w.in_flight, 0);
    let q = channel(&r, "requests:pricing/quote");
    let quote = r
        .endpoints
        .iter()
        .find(|e| e.name == "pricing/quote")
        .unwrap();
    assert_eq!(q.acknowledged, q.published);
    assert_eq!(
        quote.completed, quote.arrivals,
        "every request was processed once"
    );
    // Each page's request went through the queue (warmup excluded from workload counts).
    assert!(
        q.published >= w.sent,
        "{} requests for {} pages",
        q.published,
        w.sent
    );

    let r = run(&text, 1);
    let w = &r.workloads[0];
    assert!(w.failed.total() < 20, "{:?}", w.failed);
    let max_ms = w.latency.max() as f64 / 1e6;
    assert!(
        max_ms > 4000.0,
        "requests waited out the crash: max {max_ms} ms"
    );
}

#[test]
fn messaging_runs_are_byte_identical_for_a_seed() {
    // Goal: determinism holds through brokers, partitions, keys, duplicates, redelivery and
    // dead letters: the same seed gives the same JSON bytes, another seed other bytes.
    for name in ["idempotency", "ordering", "dlq-poison", "request-reply"] {
        let path = crate::support::root().join(format!("scenarios/{name}.toml"));
        let path = path.to_string_lossy().to_string();
        let json =
            |seed: &str| crate::support::meshsim(&["run", &path, "--json", "--seed", seed]).stdout;
        let a = json("5");
        assert!(!a.is_empty());
        assert_eq!(a, json("5"), "{name}: same seed, same bytes");
        assert_ne!(a, json("6"), "{name}: another seed differs");
    }
}

#[test]
fn a_queue_that_fills_faster_than_it_drains_stops_at_the_in_flight_budget() {
    // Goal: messages count toward scenario.max_in_flight, so a queue nobody reads (or a
    // consumer far too slow) ends the run with a message instead of exhausting memory.
    let text = producer_consumer(1000, 0.0, "", "")
        .replace("consumer = \"consumer/handle\"\n", "")
        .replace("[scenario]\n", "[scenario]\nmax_in_flight = 5000\n");
    let err = sim_core::run(&model(&text), 1).expect_err("the budget stops the run");
    assert!(
        matches!(err, sim_core::RunError::TooManyInFlight { limit: 5000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("messages"), "{err}");
}

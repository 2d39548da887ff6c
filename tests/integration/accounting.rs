//! Accounting a learner can trust. One warmup rule: work started before `scenario.warmup` is
//! counted nowhere — not in the workloads, endpoints, calls, messages or flows — and every
//! balance still adds up over what is counted. Amplification counts every attempt below the
//! client. A service left at the default 1 replica × 1 worker says so when it saturates.

use sim_core::results::{ChannelStats, RunResults};

use crate::messaging::assert_balanced;
use crate::support::{meshsim_in, run, scratch_dir};

/// A producer at a constant 100/s sending one message per request to a queue whose consumer
/// fails 30% of its attempts (dead letters after 3 deliveries), with duplicates injected
/// across the end of warmup, and `warmup` as given.
fn producer(warmup: &str) -> String {
    format!(
        r#"
[scenario]
name = "warmup-producer"
duration = "60s"
warmup = "{warmup}"
drain = "60s"

[workload.w]
endpoint = "producer/emit"
rate = 100
arrival = "constant"

[service.producer]
workers = 64
[service.producer.endpoint.emit]
work = "1ms"
send = ["jobs"]

[broker.mq]
latency = "200us"

[queue.jobs]
broker = "mq"
consumer = "consumer/handle"
max_deliveries = 3
visibility = "5s"

[service.consumer]
replicas = 2
workers = 4
[service.consumer.endpoint.handle]
work = "exp(2ms)"
fail = 0.3
effect = true

[[fault]]
kind = "duplicate"
target = "jobs"
at = "5s"
for = "20s"
rate = 0.2
"#
    )
}

fn queue<'r>(r: &'r RunResults, name: &str) -> &'r ChannelStats {
    r.messages
        .queues
        .iter()
        .find(|q| q.name == name)
        .unwrap_or_else(|| panic!("no queue {name}"))
}

#[test]
fn messages_published_during_warmup_are_not_counted_and_every_queue_still_balances() {
    // Goal: with a 10 s warmup, the queue counts exactly the messages of the requests the
    // workload counts (one message per request: 100/s × 50 s), not the 1,000 sent during
    // warmup; redeliveries, duplicates and dead letters of counted messages are all counted
    // and of uncounted ones none, so the queue and its dead-letter queue balance and every
    // message dead-lettered out of `jobs` is one that entered `jobs-dlq`.
    for seed in [1, 2] {
        let r = run(&producer("10s"), seed);
        let w = &r.workloads[0];
        assert_eq!(w.sent, 5_000, "100/s over [10 s, 60 s)");
        let jobs = queue(&r, "jobs");
        let dlq = queue(&r, "jobs-dlq");
        // A request sent just before 10 s publishes just after it (1 ms of work): at most a
        // handful of messages more than requests.
        assert!(
            (w.sent..=w.sent + 2).contains(&jobs.published),
            "seed {seed}: {} messages for {} requests",
            jobs.published,
            w.sent
        );
        assert_balanced("with warmup: jobs", jobs);
        assert_balanced("with warmup: jobs-dlq", dlq);
        assert_eq!(dlq.published, jobs.dead_lettered, "seed {seed}");
        assert!(jobs.duplicates > 0 && jobs.dead_lettered > 0 && jobs.redelivered > 0);
        // The consumer counts a delivery with its message, even one that arrives after warmup
        // for a message published during it: its arrivals are the queue's deliveries.
        let handle = r.endpoints.iter().find(|e| e.name == "consumer/handle");
        assert_eq!(
            handle.expect("consumer/handle").arrivals,
            jobs.delivered,
            "seed {seed}"
        );
        // The uncounted warmup: the same seed without warmup sees 999 more messages.
        let all = run(&producer("0s"), seed);
        let all_jobs = queue(&all, "jobs");
        // The first constant arrival comes one gap (10 ms) after 0: 999 of them in warmup.
        assert_eq!(all.workloads[0].sent, 5_999);
        assert!(
            (997..=999).contains(&(all_jobs.published - jobs.published)),
            "seed {seed}: {} vs {}",
            all_jobs.published,
            jobs.published
        );
        let broker = &r.messages.brokers[0];
        assert_eq!(
            broker.published, jobs.published,
            "the broker counts as its queue"
        );
    }
}

#[test]
fn requests_endpoints_and_calls_share_the_warmup_rule() {
    // Goal: the producer endpoint's arrivals and the client's attempts are the workload's
    // counted requests (each a single attempt here), give or take the one in flight across
    // the end of warmup, so a per-request ratio never mixes counted and uncounted work.
    let r = run(&producer("10s"), 3);
    let w = &r.workloads[0];
    let emit = r
        .endpoints
        .iter()
        .find(|e| e.name == "producer/emit")
        .expect("producer/emit");
    assert!(
        (w.sent..=w.sent + 1).contains(&emit.arrivals),
        "{} arrivals for {} requests",
        emit.arrivals,
        w.sent
    );
    assert_eq!(
        r.calls.attempts, w.sent,
        "one client attempt per counted request"
    );
}

#[test]
fn flow_instances_started_during_warmup_are_not_counted_and_every_instance_is_accounted() {
    // Goal: a flow's instances follow the same rule: with a 10 s warmup only the instances
    // started after it are counted (about one per counted request), and started = completed +
    // compensated + inconsistent + pending still holds exactly.
    let path = crate::support::root().join("scenarios/checkout-flow.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.replace("warmup = \"5s\"", "warmup = \"10s\"");
    for style in ["sync", "async", "choreography", "orchestration"] {
        let styled = text.replace("style = \"sync\" ", &format!("style = \"{style}\" "));
        let r = run(&styled, 1);
        let f = &r.flows[0];
        let w = &r.workloads[0];
        assert_eq!(
            f.started,
            f.completed + f.compensated + f.inconsistent + f.pending,
            "{style}: {f:?}"
        );
        let diff = f.started.abs_diff(w.sent);
        assert!(
            diff <= 3,
            "{style}: {} instances for {} requests",
            f.started,
            w.sent
        );
    }
}

/// A client calling `front/get` (which calls `back/get`) with `retries` retries; `back`
/// fails each attempt with probability `fail`.
fn chain(fail: f64, retries: u32) -> String {
    format!(
        r#"
[scenario]
name = "amplify"
duration = "100s"

[workload.w]
endpoint = "front/get"
rate = 200
retries = {retries}
timeout = "1s"

[service.front]
replicas = 2
workers = 32
[service.front.endpoint.get]
work = "1ms"
calls = [{{ to = "back/get" }}]

[service.back]
replicas = 2
workers = 32
[service.back.endpoint.get]
work = "1ms"
fail = {fail}
"#
    )
}

#[test]
fn amplification_counts_every_attempt_below_the_client_retries_included() {
    // Goal: amplification is every call attempt (the client's, its retries included, and
    // every service-to-service one) per client request. A two-hop chain without failures is
    // exactly 2 attempts per request; with per-attempt failure p = 0.3 and 2 client retries
    // each request makes 1 + p + p² = 1.39 attempts at front, and each of those one at back:
    // 2 × 1.39 = 2.78. (It used to leave client retries out and read 1.00 for both.)
    let r = run(&chain(0.0, 2), 1);
    let c = &r.calls;
    let sent = r.workloads[0].sent;
    assert_eq!(c.attempts, 2 * sent, "{c:?}");
    assert_eq!(c.service_attempts, sent);
    assert!((c.amplification - 2.0).abs() < 1e-12, "{c:?}");
    let r = run(&chain(0.3, 2), 1);
    let c = &r.calls;
    let want = 2.0 * (1.0 + 0.3 + 0.09);
    assert!(
        (c.amplification - want).abs() < 0.02,
        "amplification {} want {want}: {c:?}",
        c.amplification
    );
    assert!(c.retries > 0);
    let client = c.attempts - c.service_attempts;
    assert_eq!(
        client,
        r.workloads[0].sent + c.retries,
        "client attempts = requests + retries"
    );
}

#[test]
fn a_saturated_service_left_at_one_replica_and_one_worker_says_which_keys_to_set() {
    // Goal: a service declared only through its endpoint is 1 replica x 1 worker; fed more
    // than one worker can do, the text report warns about it and names the keys to set. The
    // same service with its size written out gets no warning, nor one whose author chose its
    // workers (its single default replica is deliberate), nor an idle one.
    let dir = scratch_dir("default-capacity");
    let text = |size: &str, rate: u32| {
        format!(
            "[scenario]\nname = \"first\"\nduration = \"10s\"\n\n[workload.w]\n\
             endpoint = \"api/get\"\nrate = {rate}\ntimeout = \"1s\"\n\n{size}\
             [service.api.endpoint.get]\nwork = \"10ms\"\n"
        )
    };
    let report = |name: &str, body: String| {
        std::fs::write(dir.join(name), body).unwrap();
        let out = meshsim_in(&dir, &["run", name]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let bitten = report("default.toml", text("", 500));
    assert!(
        bitten.contains(
            "warning: service api is saturated (100% busy) on 1 replica(s) x 1 worker(s), the \
             default for replicas and workers not set; set service.api.replicas and \
             service.api.workers"
        ),
        "{bitten}"
    );
    let sized = text("[service.api]\nreplicas = 1\nworkers = 1\n", 500);
    assert!(!report("sized.toml", sized).contains("warning: service"));
    let chosen = text("[service.api]\nworkers = 1\n", 500);
    assert!(!report("chosen.toml", chosen).contains("warning: service"));
    assert!(!report("idle.toml", text("", 10)).contains("warning: service"));
}

#[test]
fn the_text_report_states_the_warmup_rule_and_over_time_rows_start_after_it() {
    // Goal: with a warmup, the line after `seed=` states the rule, and the "Over time" rows
    // say the warmup is not counted and begin at its end: cascading-failure's first row is
    // 5.0–10.0 (5 s counted), not a 0.0–10.0 row with half the requests of the others.
    let out = crate::support::meshsim(&["run", "scenarios/cascading-failure.toml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let second = text.lines().nth(1).unwrap();
    assert_eq!(
        second,
        "warmup=5s: work started before it is not counted anywhere; rates and averages cover \
         5s–120s"
    );
    let over_time = text.split("\nOver time\n").nth(1).expect("Over time");
    assert!(
        over_time.contains("the first 5.0s are warmup, not counted: rows start at 5.0s"),
        "{over_time}"
    );
    let first_row = over_time
        .lines()
        .find(|l| l.contains('–') && !l.contains("warmup"))
        .unwrap();
    assert!(
        first_row.trim_start().starts_with("5.0–10.0 "),
        "{first_row}"
    );
}

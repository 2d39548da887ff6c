//! Rate limits (`rate_limit`), load shedding (`shed`) and priorities (issue #12, items 3
//! and 4): checked against what a token bucket and a queue-time bound must do.

use sim_core::RunResults;
use sim_core::model::{Priority, RateLimit};
use sim_core::results::Cause;

fn run(text: &str, sets: &[&str]) -> RunResults {
    sim_core::run(&crate::model_with(text, sets), 1).expect("the run finishes")
}

/// A constant flood of 1,000 requests/s for 10 s (one every millisecond, at 1 ms … 9,999 ms)
/// on a service with ample workers and no latency anywhere.
const FLOOD: &str = r#"
[scenario]
name = "flood"
duration = "10s"
warmup = "0s"
[network]
latency = "0ms"
[workload.w]
endpoint = "api/get"
rate = 1000
arrival = "constant"
[service.api]
replicas = 2
workers = 100
[service.api.endpoint.get]
work = "1ms"
"#;

fn admitted(r: &RunResults) -> u64 {
    let w = &r.workloads[0];
    assert_eq!(w.sent, 9_999);
    assert_eq!(
        w.sent,
        w.ok + w.degraded + w.failed.total() + w.in_flight,
        "conservation"
    );
    assert_eq!(w.failed.total(), w.failed.get(Cause::RateLimited));
    w.ok
}

#[test]
fn a_service_bucket_admits_burst_plus_rate_times_time() {
    // Goal: rate 100/s, burst 20 over the whole service. The first request (1 ms) finds a
    // full bucket; from then on 100 tokens/s accrue, every one taken by the next request,
    // until the last at 9,999 ms: 20 + floor(100 × 9.998) = 1,019 admitted, the rest refused.
    let r = run(
        FLOOD,
        &["service.api.rate_limit={ rate = 100, burst = 20 }"],
    );
    assert_eq!(admitted(&r), 1_019);
    assert_eq!(r.services[0].rate_limited, 9_999 - 1_019);
    assert_eq!(r.services[0].arrivals, 9_999);
}

#[test]
fn per_replica_buckets_each_admit_their_share() {
    // Goal: `per = "replica"`, rate 50/s, burst 10 on each of 2 round-robin replicas. One
    // replica sees 1, 3, …, 9,999 ms: 10 + floor(50 × 9.998) = 509; the other 2, 4, …,
    // 9,998 ms: 10 + floor(50 × 9.996) = 509. Together 1,018.
    let r = run(
        FLOOD,
        &["service.api.rate_limit={ rate = 50, burst = 10, per = \"replica\" }"],
    );
    assert_eq!(admitted(&r), 1_018);
}

#[test]
fn a_client_bucket_refuses_before_the_wire() {
    // Goal: the same bucket on the workload's client: the same 1,019 pass, and the refused
    // requests never reach the service (it counts only the admitted arrivals).
    let r = run(FLOOD, &["workload.w.rate_limit={ rate = 100, burst = 20 }"]);
    assert_eq!(admitted(&r), 1_019);
    assert_eq!(r.services[0].arrivals, 1_019);
    assert_eq!(r.services[0].rate_limited, 0);
}

#[test]
fn rate_limit_keys_reach_the_model() {
    // Goal: fractional rates are kept exactly in thousandths, burst defaults to 1, and the
    // priority defaults to critical.
    let m = crate::model_with(FLOOD, &["service.api.rate_limit={ rate = 2.5 }"]);
    let limit = m.services[0].admission.and_then(|a| a.rate_limit);
    assert_eq!(
        limit,
        Some(RateLimit {
            rate_milli_per_s: 2_500,
            burst: 1,
            per_replica: false
        })
    );
    assert_eq!(m.workloads[0].priority, Priority::Critical);
}

/// One worker, 10 ms of work (100/s capacity), Poisson arrivals at 150/s from a critical
/// and (optionally) a sheddable workload, unbounded queue.
fn overload(shed: &str) -> String {
    format!(
        r#"
[scenario]
name = "overload"
duration = "60s"
warmup = "0s"
[network]
latency = "0ms"
[workload.critical]
endpoint = "api/get"
rate = 75
[workload.sheddable]
endpoint = "api/get"
rate = 75
priority = "sheddable"
[service.api]
workers = 1
{shed}
[service.api.endpoint.get]
work = "10ms"
"#
    )
}

/// The service's `shed` count is the workloads' `shed` failures: each shed request is
/// counted once, at the service and at its client.
fn assert_service_counts_the_shed(r: &RunResults) {
    let by_workloads: u64 = r.workloads.iter().map(|w| w.failed.get(Cause::Shed)).sum();
    assert_eq!(r.services[0].shed, by_workloads);
}

#[test]
fn no_admitted_request_waited_longer_than_the_shedding_bound() {
    // Goal: with shed.queue_time = 50 ms, every request that started waited at most 50 ms
    // (critical) or 25 ms (sheddable), so its time at the replica is at most the bound plus
    // its 10 ms of work. The histogram keeps 3 significant digits (its max may read up to
    // 0.1% high), hence the 0.1% in the comparison. Without shedding the same load queues
    // for tens of seconds.
    let max_ms = |r: &RunResults| r.endpoints[0].latency.histogram().max() as f64 / 1e6;
    let fifo = run(&overload(""), &[]);
    assert!(max_ms(&fifo) > 5_000.0, "fifo max {} ms", max_ms(&fifo));
    let shed = run(&overload("shed = { queue_time = \"50ms\" }"), &[]);
    assert!(
        max_ms(&shed) <= 60.0 * 1.001,
        "shed max {} ms",
        max_ms(&shed)
    );
    for w in &shed.workloads {
        assert_eq!(
            w.sent,
            w.ok + w.failed.total() + w.in_flight,
            "conservation"
        );
        assert_eq!(w.failed.total(), w.failed.get(Cause::Shed));
        let bound_ms = if w.name == "sheddable" { 35.0 } else { 60.0 };
        let p = w.latency.max() as f64 / 1e6;
        assert!(p <= bound_ms * 1.001, "{}: max {p} ms", w.name);
    }
    assert_service_counts_the_shed(&shed);
}

#[test]
fn shedding_drops_sheddable_work_first() {
    // Goal: at 150% load the service serves about its capacity (100/s of 150/s); the lower
    // bound for sheddable work makes it absorb most of the 50/s that must go, so critical
    // traffic is served in a clearly larger share.
    let r = run(&overload("shed = { queue_time = \"50ms\" }"), &[]);
    let share = |i: usize| r.workloads[i].ok as f64 / r.workloads[i].sent as f64;
    let (critical, sheddable) = (share(0), share(1));
    assert!(
        critical > sheddable + 0.2,
        "critical {critical:.3}, sheddable {sheddable:.3}"
    );
    let served: u64 = r.workloads.iter().map(|w| w.ok).sum();
    let rps = served as f64 / 60.0;
    assert!((90.0..=101.0).contains(&rps), "served {rps:.1}/s");
}

/// The messages of the diagnostics `sets` cause on the flood scenario.
fn problems(sets: &[&str]) -> Vec<String> {
    let overrides: Vec<sim_core::Override> = sets
        .iter()
        .map(|s| sim_core::Override::parse(s).expect("PATH=VALUE"))
        .collect();
    match sim_core::parse_scenario("flood.toml", FLOOD, &overrides) {
        Ok(_) => panic!("{sets:?} should be refused"),
        Err(d) => d.0.iter().map(|d| d.message.clone()).collect(),
    }
}

#[test]
fn bad_admission_keys_are_refused_with_what_is_allowed() {
    // Goal: every key checks its value and says what is allowed, naming the key's path.
    let cases: &[(&str, &str)] = &[
        (
            "service.api.rate_limit={ rate = 0 }",
            "service.api.rate_limit.rate = 0 is out of range; allowed: a number > 0",
        ),
        (
            "service.api.rate_limit={ burst = 5 }",
            "missing required key service.api.rate_limit.rate",
        ),
        (
            "service.api.rate_limit={ rate = 1.0005 }",
            "has more than three decimals",
        ),
        (
            "service.api.rate_limit={ rate = 1, burst = 0 }",
            "service.api.rate_limit.burst = 0 is out of range",
        ),
        (
            "service.api.rate_limit={ rate = 1, per = \"pod\" }",
            "unknown service.api.rate_limit.per \"pod\"; allowed: service, replica",
        ),
        (
            "workload.w.rate_limit={ rate = 1, per = \"replica\" }",
            "workload.w.rate_limit.per applies to a service's rate_limit only",
        ),
        (
            "service.api.rate_limit={ rate = 1, bucket = 3 }",
            "unknown key \"bucket\"; known keys here: rate, burst, per",
        ),
        (
            "service.api.shed={ queue_time = \"0s\" }",
            "service.api.shed.queue_time = \"0s\" would shed everything",
        ),
        (
            "service.api.shed={}",
            "service.api.shed needs queue_time (a duration > 0) or concurrency = \"adaptive\"",
        ),
        (
            "service.api.shed={ concurrency = \"fixed\" }",
            "unknown service.api.shed.concurrency \"fixed\"; allowed: adaptive",
        ),
        (
            "service.api.shed={ queue_time = \"1s\", timeout = \"1s\" }",
            "service.api.shed.timeout applies with concurrency = \"adaptive\" only",
        ),
        (
            "workload.w.priority=\"high\"",
            "unknown priority \"high\" in workload.w.priority; allowed: critical, sheddable",
        ),
    ];
    for (set, want) in cases {
        let got = problems(&[set]);
        assert!(
            got.iter().any(|m| m.contains(want)),
            "{set}: wanted \"{want}\", got {got:?}"
        );
    }
    // Independent mistakes are all reported at once.
    let got = problems(&[
        "service.api.rate_limit={ rate = -1 }",
        "workload.w.priority=\"low\"",
    ]);
    assert_eq!(got.len(), 2, "{got:?}");
}

#[test]
fn an_adaptive_limit_keeps_latency_near_its_timeout_at_capacity() {
    // Goal: the AIMD limit at 150% load. Every request slower than the 50 ms timeout shrinks
    // the limit, so the replica holds only a few requests and serves near its capacity of
    // 100/s (1 worker, 10 ms) with a p99 time there of tens of milliseconds, where FIFO
    // queues for tens of seconds. What it turns away fails fast as `shed`, sheddable work
    // (admitted below half the limit) more than critical work.
    let r = run(
        &overload("shed = { concurrency = \"adaptive\", timeout = \"50ms\" }"),
        &[],
    );
    let p99_ms = r.endpoints[0].latency.histogram().value_at_quantile(0.99) as f64 / 1e6;
    assert!(p99_ms < 100.0, "p99 at the replica {p99_ms} ms");
    let served: u64 = r.workloads.iter().map(|w| w.ok).sum();
    let rps = served as f64 / 60.0;
    assert!((90.0..=101.0).contains(&rps), "served {rps:.1}/s");
    for w in &r.workloads {
        assert_eq!(
            w.sent,
            w.ok + w.failed.total() + w.in_flight,
            "conservation"
        );
        assert_eq!(w.failed.total(), w.failed.get(Cause::Shed), "{}", w.name);
    }
    let share = |i: usize| r.workloads[i].ok as f64 / r.workloads[i].sent as f64;
    assert!(
        share(0) > share(1) + 0.1,
        "critical {:.3}, sheddable {:.3}",
        share(0),
        share(1)
    );
    assert_service_counts_the_shed(&r);
}

#[test]
fn a_service_refusal_is_retried_and_a_client_refusal_is_not() {
    // Goal: `rate_limited` from a service is retried like `rejected`: with `retries = 2`
    // every request that finally failed made 3 attempts. The client's own bucket refuses
    // locally, before any attempt, and that is not retried (as a breaker's refusal).
    let retried = run(
        FLOOD,
        &[
            "service.api.rate_limit={ rate = 100, burst = 20 }",
            "workload.w.retries=2",
        ],
    );
    let w = &retried.workloads[0];
    let failed = w.failed.get(Cause::RateLimited);
    assert!(failed > 8_000, "{failed} failed");
    assert!(
        retried.calls.retries >= 2 * failed,
        "{} retries",
        retried.calls.retries
    );
    assert_eq!(retried.calls.attempts, w.sent + retried.calls.retries);
    let local = run(
        FLOOD,
        &[
            "workload.w.rate_limit={ rate = 100, burst = 20 }",
            "workload.w.retries=2",
        ],
    );
    assert_eq!(local.calls.retries, 0);
    assert_eq!(admitted(&local), 1_019);
}

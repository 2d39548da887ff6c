//! What grows with simulated time is bounded (issue #11, A1): work whose caller gave up
//! still costs memory and workers, so it counts toward `scenario.max_in_flight` and is
//! reported as `abandoned`; pending timers and breaker histories have limits too.

use sim_core::{Model, RunError, RunResults};

fn model(text: &str, sets: &[&str]) -> Model {
    crate::model_with(text, sets)
}

/// A scenario of `tests/runaway/` (shared with the CLI's address-space test).
fn runaway(name: &str) -> String {
    let path = crate::workspace_root().join(format!("tests/runaway/{name}.toml"));
    std::fs::read_to_string(path).expect("the runaway scenario exists")
}

fn run(text: &str) -> RunResults {
    sim_core::run(&model(text, &[]), 1).expect("the run finishes")
}

fn stops_in_flight(m: &Model) {
    match sim_core::run(m, 1) {
        Err(RunError::TooManyInFlight { limit, .. }) => {
            assert_eq!(limit, m.limits.max_in_flight);
        }
        Err(e) => panic!("stopped by another limit: {e}"),
        Ok(r) => panic!(
            "the run finished ({} events) instead of stopping at max_in_flight",
            r.events
        ),
    }
}

/// One worker of `work` per request, clients timing out after `timeout`.
fn slow_server(rate: &str, work: &str, timeout: &str, duration: &str, drain: &str) -> String {
    format!(
        r#"
[scenario]
name = "slow"
duration = "{duration}"
drain = "{drain}"

[workload.w]
endpoint = "api/get"
rate = {rate}
arrival = "constant"
timeout = "{timeout}"

[service.api]
workers = 1

[service.api.endpoint.get]
work = "{work}"
"#
    )
}

#[test]
fn work_served_after_the_timeout_is_abandoned_and_nothing_else_is() {
    // Goal: a 100 ms job whose client times out at 50 ms is served for nobody: every
    // completion is abandoned, and every request failed by timeout. With a 200 ms timeout
    // the same jobs are answered in time: none is abandoned.
    let r = run(&slow_server("1", "100ms", "50ms", "20s", "5s"));
    let (e, s, w) = (&r.endpoints[0], &r.services[0], &r.workloads[0]);
    assert!(e.completed >= 19, "completed {}", e.completed);
    assert_eq!(e.abandoned, e.completed);
    assert_eq!(s.abandoned, e.abandoned, "the service sums its endpoints");
    assert_eq!(w.failed.total(), w.sent);
    let r = run(&slow_server("1", "100ms", "200ms", "20s", "5s"));
    assert_eq!(r.endpoints[0].abandoned, 0);
    assert_eq!(r.workloads[0].ok, r.workloads[0].sent);
}

#[test]
fn work_left_in_the_queue_at_the_end_is_abandoned_too() {
    // Goal: 1,000/s into 10 ms of work with a 1 ns timeout and no drain: the replica serves
    // ~100 requests in the second, all after their caller gave up, and the ~900 still
    // queued at the end are abandoned as well: abandoned = arrivals.
    let r = run(&slow_server("1000", "10ms", "1ns", "1s", "0s"));
    let e = &r.endpoints[0];
    assert!(e.arrivals >= 990, "arrivals {}", e.arrivals);
    assert!(e.completed < 150, "completed {}", e.completed);
    assert_eq!(e.abandoned, e.arrivals);
}

#[test]
fn requests_still_on_the_network_at_the_end_are_not_abandoned_work() {
    // Goal: with a 10 s link, every request is still in transit when the run ends (no
    // drain): its caller gave up, but no replica holds it, so nothing is abandoned — the same
    // for a replica that never crashed as for one that did (the count used to depend on it).
    let text = r#"
[scenario]
name = "transit"
duration = "1s"
drain = "0s"
[network]
latency = "10s"
[workload.w]
endpoint = "api/get"
rate = 100
timeout = "1ms"
[service.api.endpoint.get]
work = "1ms"
"#;
    let r = run(text);
    assert!(r.workloads[0].sent >= 80, "sent {}", r.workloads[0].sent);
    assert_eq!(r.endpoints[0].arrivals, 0);
    assert_eq!(r.endpoints[0].abandoned, 0);
}

#[test]
fn a_flood_of_timed_out_requests_stops_at_max_in_flight() {
    // Goal: the observed case: a client with a 1 ns timeout at 1,000,000/s into one
    // unbounded queue. Every call ends at once, so on main the calls in flight stayed ~0 and
    // ~15 M queued jobs filled 2.46 GiB, the run exiting 0 with "in flight 0". The queued
    // jobs count: the run stops at the default max_in_flight (1,000,000).
    let m = model(&runaway("timeout-flood"), &[]);
    stops_in_flight(&m);
}

#[test]
fn redeliveries_piling_up_at_consumers_stop_at_max_in_flight() {
    // Goal: the observed case: a 1 ns visibility redelivers every message at once while its
    // consumer still holds it, so deliveries pile up at the consumer (on main: an abort at
    // 2.8 GiB). The deliveries count: the run stops at max_in_flight.
    let m = model(&runaway("redeliveries"), &["scenario.max_in_flight=100000"]);
    stops_in_flight(&m);
}

#[test]
fn a_long_retry_storm_stops_at_max_in_flight() {
    // Goal: the observed case: retry-storm for 3000 s. The naive service keeps working on
    // requests whose clients gave up: ~1,800 more per second queue up (466 MiB on main, exit
    // 0). That backlog is work in flight: the run stops at max_in_flight.
    let path = crate::workspace_root().join("scenarios/retry-storm.toml");
    let text = std::fs::read_to_string(path).expect("the lesson exists");
    let m = model(&text, &["scenario.duration=\"3000s\""]);
    stops_in_flight(&m);
    // The lesson itself (120 s) stays well inside the limit.
    let r = sim_core::run(&model(&text, &[]), 1).expect("the lesson runs");
    let naive = r.services.iter().find(|s| s.name == "api-naive").unwrap();
    assert!(naive.abandoned > 50_000, "abandoned {}", naive.abandoned);
}

#[test]
fn long_timeouts_at_a_high_rate_stop_at_the_pending_event_limit() {
    // Goal: answered calls leave their timeout in the event queue until it fires: 200,000/s
    // with a 60 s timeout would hold 12 M timers (~400 MB). Pending events are bounded by
    // 4 × max_in_flight, and the run stops with its own message.
    let m = model(
        r#"
[scenario]
name = "timers"
duration = "60s"
max_in_flight = 100000

[workload.w]
endpoint = "api/get"
rate = 200000
timeout = "60s"

[service.api]
workers = 100

[service.api.endpoint.get]
work = "0ms"
"#,
        &[],
    );
    match sim_core::run(&m, 1) {
        Err(e @ RunError::TooManyPending { .. }) => {
            let text = e.to_string();
            assert!(text.contains("--set scenario.max_in_flight="), "{text}");
        }
        other => panic!(
            "expected the pending-event limit, got {:?}",
            other.map(|r| r.events)
        ),
    }
}

#[test]
fn a_breaker_flapping_for_a_long_run_lists_a_bounded_history_and_counts_every_opening() {
    // Goal: state that grows with simulated time is bounded: a client breaker (window 1,
    // cooldown 1 ms) in front of an endpoint that always fails reopens after every failed
    // probe. Requests come every 0.2 ms and take 10 µs, so a probe fails 10 µs after an
    // arrival, the breaker reopens until 1.01 ms later, and the next probe is the arrival
    // 1.2 ms after the last: one opening (two state changes) per 1.2 ms, 583,333 openings
    // and 1.17 M changes over 700 s. At most MAX_BREAKER_TRANSITIONS (1,000,000) are listed,
    // yet `opened` counts every opening. On main the list kept growing with the run (and
    // `opened` was derived from it).
    let r = run(r#"
[scenario]
name = "flapping"
duration = "700s"
drain = "0s"

[workload.w]
endpoint = "api/get"
rate = 5000
arrival = "constant"
breaker = { window = 1, threshold = 1.0, cooldown = "1ms" }

[service.api]
workers = 100

[service.api.endpoint.get]
work = "10us"
fail = 1.0
"#);
    let b = &r.breakers[0];
    assert_eq!(b.transitions.len(), 1_000_000);
    let listed_opens = b
        .transitions
        .iter()
        .filter(|(_, s)| *s == sim_core::results::BreakerState::Open)
        .count() as u64;
    assert!(b.opened > listed_opens, "{} vs {listed_opens}", b.opened);
    assert!(
        (583_300..=583_340).contains(&b.opened),
        "opened {}",
        b.opened
    );
}

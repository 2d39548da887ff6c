//! The load balancer at model sizes where a scan per pick would show: 100,000 replicas behind
//! health checks and `least-outstanding` must behave exactly as the rules say.

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

fn run_with(replicas: u32) -> RunResults {
    let set = Override::parse(&format!("service.api.replicas={replicas}")).expect("PATH=VALUE");
    let model = parse_scenario("least-wide.toml", LEAST, &[set]).expect("valid");
    sim_core::run(&model, 1).expect("runs")
}

// Goal: with 100,000 replicas the run is the 2-replica run, event for event — only replicas
// 0 and 1 can ever win — so the indexed minimum and the O(changes) health check pick and
// learn exactly what a scan would. A wrong tie-break (another replica), a missed belief
// update (requests still sent to the crashed replica after a check) or a lost restart would
// change the failures, the fault's count or the event count.
#[test]
fn a_hundred_thousand_replicas_behave_like_two_when_two_suffice() {
    let two = run_with(2);
    let wide = run_with(100_000);
    assert_eq!(wide.events, two.events);
    assert_eq!(wide.sim_time, two.sim_time);
    assert_eq!(
        format!("{:?}", wide.workloads),
        format!("{:?}", two.workloads)
    );
    assert_eq!(
        format!("{:?}", wide.endpoints),
        format!("{:?}", two.endpoints)
    );
    assert_eq!(format!("{:?}", wide.faults), format!("{:?}", two.faults));
    assert_eq!(format!("{:?}", wide.calls), format!("{:?}", two.calls));
    assert_eq!(wide.services[0].arrivals, two.services[0].arrivals);
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
    let r = run_with(100_000);
    let w = &r.workloads[0];
    assert_eq!(w.sent, 9_999);
    let refused = w.failed.total();
    assert!((1..=100).contains(&refused), "refused {refused}");
    assert_eq!(r.faults[0].affected, refused);
    assert_eq!(w.ok + refused, w.sent);
    assert_eq!(w.in_flight, 0);
    assert_eq!(r.services[0].arrivals, w.sent);
}

//! Runaway scenarios stop at a budget with exit code 3 and a message saying how to raise it.

use crate::support::{meshsim_in, scratch_dir};

const OVERLOAD: &str = r#"
[scenario]
name = "overload"
duration = "600s"
max_in_flight = 20000

[workload.flood]
endpoint = "slow/serve"
rate = 2000           # twice what the service can do; the unbounded queue grows forever

[service.slow]
workers = 1

[service.slow.endpoint.serve]
work = "1ms"
"#;

#[test]
fn exploding_in_flight_work_stops_with_exit_3() {
    // Goal: arrivals at twice the capacity into an unbounded queue grow the work in flight
    // without bound; the run stops at scenario.max_in_flight with exit code 3, names the
    // limit and how to raise it, and writes no report.
    let dir = scratch_dir("limits-in-flight");
    std::fs::write(dir.join("overload.toml"), OVERLOAD).unwrap();
    let out = meshsim_in(&dir, &["run", "overload.toml", "--out", "report"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("scenario.max_in_flight"), "{stderr}");
    assert!(stderr.contains("--set scenario.max_in_flight="), "{stderr}");
    assert!(out.stdout.is_empty(), "no report on stdout");
    assert!(!dir.join("report").exists(), "nothing written");
}

#[test]
fn event_budget_stops_with_exit_3() {
    // Goal: the event budget is a hard stop too, with its own key in the message.
    let dir = scratch_dir("limits-events");
    std::fs::write(dir.join("overload.toml"), OVERLOAD).unwrap();
    let out = meshsim_in(
        &dir,
        &["run", "overload.toml", "--set", "scenario.max_events=1000"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("scenario.max_events"), "{stderr}");
}

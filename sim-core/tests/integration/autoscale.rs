//! Autoscaling (issue #12, item 2): the decisions checked step by step against the
//! Kubernetes HPA's formula, the provisioning delay against the replica-seconds it must
//! produce, scale-in against conservation of requests, and an idle autoscaler against the
//! same run without one.

use sim_core::RunResults;
use sim_core::results::{Cause, ScaleDecision, ServiceStats};

fn run(text: &str, sets: &[&str]) -> RunResults {
    sim_core::run(&crate::model_with(text, sets), 1).expect("the run finishes")
}

fn api(r: &RunResults) -> &ServiceStats {
    r.services.iter().find(|s| s.name == "api").expect("api")
}

/// (time s, from, to) of every decision that changed the desired count.
fn steps(r: &RunResults) -> Vec<(f64, u32, u32)> {
    let a = api(r).autoscale.as_ref().expect("autoscaled");
    a.decisions
        .iter()
        .map(|d: &ScaleDecision| (d.at.as_secs_f64(), d.from, d.to))
        .collect()
}

fn conserved(r: &RunResults) {
    for w in &r.workloads {
        assert_eq!(
            w.sent,
            w.ok + w.degraded + w.failed.total() + w.in_flight,
            "conservation in {}",
            w.name
        );
    }
}

/// A service swamped for good: 10,000 requests/s of 10 ms at replicas of one worker (100/s
/// each) with unbounded queues, so every ready replica is busy all the time: utilization 1,
/// twice the target of 0.5, at every decision.
const SWAMPED: &str = r#"
[scenario]
name = "swamped"
duration = "100s"
warmup = "0s"
drain = "0s"
[network]
latency = "0ms"
[workload.w]
endpoint = "api/get"
rate = 10000
arrival = "constant"
[service.api]
replicas = 1
workers = 1
queue = "unbounded"
[service.api.endpoint.get]
work = "10ms"
[service.api.autoscale]
metric = "utilization"
target = 0.5
max = 10
interval = "15s"
window = "15s"
provision = "1s"
"#;

#[test]
fn a_metric_twice_the_target_doubles_the_replicas_each_interval_up_to_max() {
    // Goal: desired = ceil(ready × metric / target) = 2 × ready at every decision (15, 30,
    // 45, 60 s), clamped to max = 10 at the fourth; nothing after (at max, the recommendation
    // stays 10). The new replicas take their share of the arrivals at once, so the metric
    // stays at 1.
    let r = run(SWAMPED, &[]);
    assert_eq!(
        steps(&r),
        vec![(15.0, 1, 2), (30.0, 2, 4), (45.0, 4, 8), (60.0, 8, 10)]
    );
    for d in &api(&r).autoscale.as_ref().unwrap().decisions {
        assert!((d.metric - 1.0).abs() < 1e-3, "metric {}", d.metric);
    }
    assert_eq!(api(&r).scale_events, 4);
    assert_eq!(api(&r).replicas_max, 10);
}

#[test]
fn a_replica_joins_exactly_provision_after_the_decision() {
    // Goal: each new replica is in the pool from decision + provision on, no earlier, no
    // later: the replica-seconds over [0, 100 s] are exactly
    // 1 × (15 + p) + 2 × 15 + 4 × 15 + 8 × 15 + 10 × (100 − 60 − p), and the time with fewer
    // ready than desired is 4 × p, for p = 1 s and p = 2.5 s.
    for p in [1.0, 2.5] {
        let set = format!("service.api.autoscale.provision=\"{p}s\"");
        let r = run(SWAMPED, &[&set]);
        let want = 15.0 + p + 30.0 + 60.0 + 120.0 + 10.0 * (40.0 - p);
        let s = api(&r);
        assert!(
            (s.replica_seconds - want).abs() < 1e-6,
            "p = {p}: {} replica-seconds, want {want}",
            s.replica_seconds
        );
        let short = s.autoscale.as_ref().unwrap().under_provisioned_s;
        assert!((short - 4.0 * p).abs() < 1e-6, "p = {p}: {short} s short");
    }
}

#[test]
fn a_step_limit_caps_each_scale_up() {
    // Goal: with max_step_up = 3 a decision adds at most 3: 1 → 2 (doubling is less), 2 → 4,
    // 4 → 7 (not 8), 7 → 10 (not 14, and max).
    let r = run(SWAMPED, &["service.api.autoscale.max_step_up=3"]);
    assert_eq!(
        steps(&r),
        vec![(15.0, 1, 2), (30.0, 2, 4), (45.0, 4, 7), (60.0, 7, 10)]
    );
}

/// 400 requests/s until 60 s, then 100/s, on 8 replicas that can take far more; the
/// autoscaler targets 50 requests/s per ready replica, exactly what 400/s on 8 gives.
const STEP_DOWN: &str = r#"
[scenario]
name = "step-down"
duration = "200s"
warmup = "0s"
[network]
latency = "0ms"
[workload.w]
endpoint = "api/get"
rate = [["0s", 400], ["60s", 400], ["60s", 100]]
arrival = "constant"
[service.api]
replicas = 8
workers = 10
[service.api.endpoint.get]
work = "1ms"
[service.api.autoscale]
metric = "rps"
target = 50
min = 1
max = 8
interval = "15s"
window = "15s"
stabilization = "60s"
provision = "5s"
"#;

#[test]
fn scale_down_waits_for_the_stabilization_window() {
    // Goal: from 75 s on the recommendation is ceil(8 × 12.5 / 50) = 2, but the
    // recommendation of 8 made at 60 s (window [45 s, 60 s] still at 400/s) stays in the 60 s
    // stabilization window up to 120 s inclusive: the one scale-down comes at 135 s, to 2.
    let r = run(STEP_DOWN, &[]);
    assert_eq!(steps(&r), vec![(135.0, 8, 2)]);
    conserved(&r);
    // Drained, not killed: nothing failed.
    assert_eq!(r.workloads[0].failed.total(), 0);
    // Without stabilization the first low recommendation acts at once (and the decisions
    // go on in the drain period after the arrivals stop at 200 s).
    let r = run(STEP_DOWN, &["service.api.autoscale.stabilization=\"0s\""]);
    assert_eq!(steps(&r), vec![(75.0, 8, 2), (210.0, 2, 1)]);
}

#[test]
fn no_change_inside_the_tolerance_band() {
    // Goal: 50 requests/s per replica against a target of 46.3 is a ratio of 1.0799: inside
    // a tolerance of 0.1 nothing happens; with 0.05 the HPA scales to ceil(8 × 1.0799) = 9.
    let sets = [
        "workload.w.rate=400",
        "service.api.autoscale.max=12",
        "service.api.autoscale.target=46.3",
    ];
    let r = run(STEP_DOWN, &sets);
    assert_eq!(steps(&r), vec![]);
    let mut tight = sets.to_vec();
    tight.push("service.api.autoscale.tolerance=0.05");
    let r = run(STEP_DOWN, &tight);
    assert_eq!(steps(&r)[0], (15.0, 8, 9));
}

#[test]
fn a_killed_scale_in_accounts_every_request() {
    // Goal: requests of 2 s held by the replicas that a scale-in kills fail at once with
    // `unavailable`; every request sent is ok, failed or (none) in flight at the end, and
    // only those held at the kill failed (the survivors keep serving).
    let sets = [
        "service.api.endpoint.get.work=\"2s\"",
        "service.api.workers=1000",
        "service.api.autoscale.scale_in=\"kill\"",
        "service.api.autoscale.stabilization=\"0s\"",
    ];
    let r = run(STEP_DOWN, &sets);
    conserved(&r);
    let w = &r.workloads[0];
    let killed = w.failed.get(Cause::Unavailable);
    assert_eq!(w.failed.total(), killed);
    assert_eq!(w.in_flight, 0);
    // Six of eight replicas killed at 75 s, each holding 2 s of arrivals at 100/s / 8.
    assert_eq!(steps(&r), vec![(75.0, 8, 2)]);
    assert!((140..=160).contains(&killed), "{killed} killed");
    // The same with drain: nothing fails.
    let mut drain = sets.to_vec();
    drain[2] = "service.api.autoscale.scale_in=\"drain\"";
    let r = run(STEP_DOWN, &drain);
    conserved(&r);
    assert_eq!(r.workloads[0].failed.total(), 0);
}

#[test]
fn an_idle_autoscaler_changes_nothing() {
    // Goal: an autoscaler that never acts (its recommendation is always min = the start)
    // leaves every request where it was: the same counts and latencies as the fixed fleet,
    // for every balancing policy (the balancer then picks among the pooled 3 of 6 slots).
    let fixed = r#"
[scenario]
name = "idle"
duration = "30s"
[workload.w]
endpoint = "api/get"
rate = 500
[service.api]
replicas = 3
workers = 2
queue = 5
[service.api.endpoint.get]
work = "exp(5ms)"
calls = [{ to = "db/q" }]
[service.db]
replicas = 2
[service.db.endpoint.q]
work = "exp(1ms)"
"#;
    let scaled = format!(
        "{fixed}\n[service.api.autoscale]\ntarget = 1e9\nmin = 3\nmax = 6\nprovision = \"1s\"\n"
    );
    for lb in ["round-robin", "random", "least-outstanding", "p2c"] {
        let set = format!("service.api.lb=\"{lb}\"");
        let a = run(fixed, &[&set]);
        let b = run(&scaled, &[&set]);
        assert_eq!(steps(&b), vec![], "{lb}");
        for (x, y) in a.workloads.iter().zip(&b.workloads) {
            assert_eq!(
                (x.sent, x.ok, x.failed.total()),
                (y.sent, y.ok, y.failed.total())
            );
            assert_eq!(x.latency.mean(), y.latency.mean(), "{lb}");
            assert_eq!(x.latency.max(), y.latency.max(), "{lb}");
        }
        for (x, y) in a.endpoints.iter().zip(&b.endpoints) {
            assert_eq!((x.arrivals, x.rejected), (y.arrivals, y.rejected), "{lb}");
        }
        assert_eq!(api(&a).replica_seconds, api(&b).replica_seconds, "{lb}");
    }
}

#[test]
fn a_crashed_replica_is_not_ready() {
    // Goal: while one of the 8 replicas is crashed the autoscaler counts 7 ready: with 400/s
    // over 7 the rps metric is 57.1, and the HPA asks for ceil(7 × 57.1 / 50) = 8, which it
    // already has: no change, and the crash shows as time under-provisioned (8 desired, 7
    // ready) for the fault's 30 s.
    let sets = [
        "workload.w.rate=400",
        "fault=[{ kind = \"crash\", target = \"api#3\", at = \"20s\", for = \"30s\" }]",
    ];
    let r = run(STEP_DOWN, &sets);
    assert_eq!(steps(&r), vec![]);
    let short = api(&r).autoscale.as_ref().unwrap().under_provisioned_s;
    assert!((short - 30.0).abs() < 1e-6, "{short}");
}

#[test]
fn bad_autoscale_keys_are_refused_with_what_is_allowed() {
    // Goal: every out-of-range or misspelt autoscale setting is refused with a located
    // message that names the key and what is allowed (unknown names get a did-you-mean).
    let cases: [(&str, &str); 13] = [
        (
            "service.api.autoscale.min=9",
            "min = 9 is above service.api.autoscale.max = 8",
        ),
        (
            "service.api.autoscale.min=0",
            "min = 0 is out of range; allowed: an integer from 1",
        ),
        (
            "service.api.autoscale.max=1000000",
            "max = 1000000 is out of range",
        ),
        (
            "service.api.autoscale.target=0",
            "target = 0 is out of range; allowed: a number > 0",
        ),
        (
            "service.api.autoscale.interval=\"0s\"",
            "interval = \"0s\": allowed: a duration > 0",
        ),
        (
            "service.api.autoscale.tolerance=1",
            "tolerance = 1 is out of range",
        ),
        (
            "service.api.autoscale.metric=\"utilisation\"",
            "did you mean \"utilization\"?",
        ),
        (
            "service.api.autoscale.scale_in=\"kil\"",
            "did you mean \"kill\"?",
        ),
        (
            "service.api.autoscale.window=\"20s\"",
            "not a whole number of intervals of \"15s\"",
        ),
        (
            "service.api.autoscale.window=\"50000m\"",
            "spans more than 10000 intervals",
        ),
        (
            "service.api.replicas=9",
            "replicas = 9 is outside the autoscaler's range",
        ),
        (
            "service.api.autoscale.provision=\"exp(x)\"",
            "service.api.autoscale.provision",
        ),
        ("service.api.autoscale.cooldown=\"1s\"", "cooldown"),
    ];
    for (set, want) in cases {
        let o = sim_core::Override::parse(set).expect("PATH=VALUE");
        let err = sim_core::parse_scenario("test.toml", STEP_DOWN, &[o])
            .err()
            .unwrap_or_else(|| panic!("{set}: parsed"));
        let text = err.to_string();
        assert!(text.contains(want), "{set}: wanted {want:?} in\n{text}");
        assert!(
            text.contains("test.toml:") || text.contains("--set"),
            "{set}: located\n{text}"
        );
    }
    // A missing target or max is named.
    let no_target = STEP_DOWN.replace("target = 50\n", "");
    let err = sim_core::parse_scenario("test.toml", &no_target, &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("missing required key service.api.autoscale.target")
    );
}

#[test]
fn scaling_by_tens_of_thousands_at_once_is_bounded() {
    // Goal: a tiny target makes the autoscaler add and then remove tens of thousands of
    // replicas in single decisions (max = 100,000): the run ends, without recursion (a scale-in
    // of 50,000 drained replicas once overflowed the stack), with every request accounted.
    let sets = [
        "service.api.autoscale.max=100000",
        "service.api.autoscale.min=1",
        "service.api.autoscale.target=0.00001",
        "service.api.autoscale.stabilization=\"0s\"",
        "service.api.autoscale.metric=\"in_system\"",
    ];
    let r = run(STEP_DOWN, &sets);
    conserved(&r);
    let s = api(&r);
    assert!(s.replicas_max >= 10_000, "{}", s.replicas_max);
    let downs = steps(&r).iter().filter(|(_, from, to)| to < from).count();
    assert!(downs >= 1, "{:?}", steps(&r));
}

#[test]
fn the_memory_estimate_counts_the_autoscalers_slots_and_samples() {
    // Goal: an autoscaler's state grows with `max` (its slots) and with the window and the
    // stabilization in intervals (its samples, its recommendations): the estimate grows with
    // each, and a model past `scenario.max_memory` is refused before the run starts.
    let estimate = |sets: &[&str]| {
        let m = crate::model_with(STEP_DOWN, sets);
        let f = sim_core::engine::footprint::estimate(&m);
        let part = f
            .parts
            .iter()
            .find(|p| p.what.contains("autoscalers"))
            .map(|p| p.bytes)
            .expect("an autoscalers part");
        (f.total_bytes(), part)
    };
    let (total, small) = estimate(&[]);
    let (more_total, slots) = estimate(&["service.api.autoscale.max=100000"]);
    assert!(slots > small + 100_000 * 8 && more_total > total);
    let (_, window) = estimate(&["service.api.autoscale.window=\"150000s\""]);
    assert!(window > small + 9_000 * 16, "{window} vs {small}");
    let (_, stab) = estimate(&["service.api.autoscale.stabilization=\"1000000s\""]);
    assert!(stab > small + 60_000 * 16, "{stab} vs {small}");
    let m = crate::model_with(
        STEP_DOWN,
        &[
            "service.api.autoscale.max=100000",
            "scenario.max_memory=\"1MiB\"",
        ],
    );
    assert!(matches!(
        sim_core::run(&m, 1),
        Err(sim_core::RunError::TooMuchMemory { .. })
    ));
}

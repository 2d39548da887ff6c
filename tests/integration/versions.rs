//! Service versions through the command line: the canary lesson's bytes, its text report and
//! its what-if, and `explain`'s split of a call between versions.

use crate::support::meshsim;

const CANARY: &str = "scenarios/canary.toml";

#[test]
fn canary_same_seed_same_bytes() {
    // Goal: a scenario whose service draws a version per request prints the same JSON bytes on
    // every run with the same seed, and other bytes with another seed.
    let a = meshsim(&["run", CANARY, "--json", "--seed", "5"]);
    let b = meshsim(&["run", CANARY, "--json", "--seed", "5"]);
    let c = meshsim(&["run", CANARY, "--json", "--seed", "6"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout, "same seed, different bytes");
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn the_text_report_compares_the_versions_and_says_when_one_rolled_back() {
    // Goal: a reader sees the canary against the base (weight, arrivals, failed %, p50, p99)
    // and the rollback time, in the opening paragraph and in the Versions table.
    let out = meshsim(&["run", CANARY]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("Rolled back (failure ratio over the bound, weight set to 0): canary of api-guarded at 4.90s."),
        "{text}"
    );
    let table = text
        .split("Versions (weight at the end of the run)")
        .nth(1)
        .expect("table");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .take(7)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "service", "version", "weight", "replicas", "arrivals", "failed", "p50", "ms", "p99",
            "ms", "rolled", "back"
        ]
    );
    assert_eq!(rows[4][..3], ["api-guarded", "canary", "0.0%"]);
    assert_eq!(rows[4].last(), Some(&"4.90s"));
    assert_eq!(rows[1][..3], ["api-canary", "base", "95.0%"]);
    assert_eq!(rows[1].last(), Some(&"-"));
}

#[test]
fn a_fifty_fifty_switch_fails_ten_times_the_canary() {
    // Goal: the lesson's what-if. With the canary at 50% instead of 5%, the canary workload's
    // errors go from ~1% to ~10% (5% × 20% against 50% × 20%), within binomial bounds.
    let out = meshsim(&[
        "run",
        CANARY,
        "--json",
        "--no-expect",
        "--set",
        "service.api-canary.version.canary.weight=50",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = &r["workloads"]["canary"];
    let (sent, failed) = (w["sent"].as_f64().unwrap(), w["failed"].as_f64().unwrap());
    let sd = (sent * 0.1 * 0.9).sqrt();
    assert!((failed - 0.1 * sent).abs() < 4.5 * sd, "{failed} of {sent}");
    let canary = &r["services"]["api-canary"]["versions"]["canary"];
    assert_eq!(canary["weight"], 50.0);
    assert!(canary["rolled_back_at_s"].is_null());
}

#[test]
fn explain_splits_a_call_between_versions_by_weight() {
    // Goal: explain counts a version's overridden work by its share: a 50/50 split between a
    // 2 ms base and a 20 ms version holds a worker 0.5 × 2 + 0.5 × 20 = 11 ms per visit.
    let out = meshsim(&[
        "explain",
        CANARY,
        "--json",
        "--set",
        "service.api-switch.version.new.endpoint.get.work=\"exp(20ms)\"",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &r["services"]["api-switch"];
    assert_eq!(s["held_ms"], 11.0, "{s}");
    assert_eq!(r["services"]["api-canary"]["held_ms"], 2.0);
}

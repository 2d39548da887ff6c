//! Paired verdicts of `compare`: every variant against the baseline by the mean of its
//! per-seed differences with a 95% t interval. Checked against what must hold whatever the
//! code: an A/A comparison covers 0 in about 95% of independent seed sets, and a design that
//! keeps the median but loses the tail is judged on the tail first.

use reports::compare::{Comparison, Judgement, extract};
use reports::many::{Plan, SeedChoice, Shard, Source, run_jobs};
use serde_json::Value;

use crate::compare::{SERVER, json, ok, setup};
use crate::support::{meshsim_in, scratch_dir};

/// One M/M/1 server (ρ = 0.5, 100 requests a run: small and fast), named NAME: its work is
/// drawn from the stream `service/NAME/work`, its arrivals from `workload/load`.
fn server(name: &str) -> String {
    format!(
        r#"
[scenario]
name = "{name}"
duration = "1s"
drain = "1s"

[network]
latency = "0ms"

[workload.load]
endpoint = "{name}/serve"
rate = 100

[service.{name}]
workers = 1
queue = "unbounded"

[service.{name}.endpoint.serve]
work = "exp(5ms)"
"#
    )
}

#[test]
fn an_a_a_comparison_covers_zero_in_95_percent_of_seed_sets() {
    // Goal: two variants that are the same system — the same file but for the server's name,
    // so their work times come from independent streams while the arrivals are common — have
    // no true difference; over 400 independent sets of 10 seeds, the paired 95% interval of
    // the p50 and of the p99 must cover 0 in about 95% of them. The share of covering sets is
    // binomial(400, 0.95) / 400: sd 0.011, so 0.917..0.983 is ±3 sd. An interval too narrow
    // (a z instead of t, pairs counted as more seeds) covers less; a test that never calls a
    // difference covers 100%. Measured: p50 0.955, p99 0.925 here; over 1000 sets 0.953 and
    // 0.941 (the p99 of 100 requests is nearly their maximum, heavy-tailed, and on the HDR
    // histogram's grid, so its t interval is a little short).
    let sources = [
        Source::new("a.toml", server("a")),
        Source::new("b.toml", server("b")),
    ];
    let (sets, per_set) = (400u64, 10u64);
    let mut covered = [0usize; 2];
    let keys = [
        "workloads.load.latency_ms.p50",
        "workloads.load.latency_ms.p99",
    ];
    for set in 0..sets {
        let seeds = SeedChoice {
            first: Some(1 + set * per_set),
            count: per_set,
        };
        let plan = Plan::new("compare", &sources, &[], &[], seeds).expect("valid");
        let jobs = plan.info.jobs(Shard::ALL);
        let results: Vec<_> = run_jobs(&plan, &jobs, 2, &extract, &|| {})
            .unwrap()
            .into_iter()
            .map(|r| r.expect("no run limit"))
            .collect();
        let c = Comparison::build(plan.info, &results);
        for (k, key) in keys.iter().enumerate() {
            let p = c.row(key).unwrap().paired[1].expect("every seed has both values");
            assert_eq!(p.pairs, per_set as usize);
            if p.judgement == Some(Judgement::NoClearDifference) {
                covered[k] += 1;
            }
        }
    }
    for (k, key) in keys.iter().enumerate() {
        let share = covered[k] as f64 / sets as f64;
        assert!(
            (0.917..=0.983).contains(&share),
            "{key}: the paired interval covered 0 in {share} of {sets} A/A seed sets"
        );
    }
}

/// A database answering queries in `work`; 64 workers, so nothing queues and the latency is
/// the work. The lognormals are set so that 8 seeds measure what the issue saw (a sample's
/// p50 and p99 sit a little off the distribution's, on the HDR histogram's grid).
fn database(name: &str, work: &str) -> String {
    format!(
        r#"
[scenario]
name = "{name}"
seed = 1
duration = "10s"
warmup = "1s"

[network]
latency = "0ms"

[workload.query]
endpoint = "db/get"
rate = 400

[service.db]
workers = 64
queue = "unbounded"

[service.db.endpoint.get]
work = "{work}"
"#
    )
}

#[test]
fn the_database_example_is_judged_on_its_tail_first() {
    // Goal: the issue's two database designs — p50 3.70 vs 3.73 ms, p99 11.8 vs 53.8 ms — once
    // named the one with the lower median the winner. The verdict now leads with the p99: the
    // second design is worse on p99 first, with both means; the medians are as built.
    let dir = scratch_dir("paired-database");
    std::fs::write(
        dir.join("db-a.toml"),
        database("db-a", "lognormal(3.68ms, 12.2ms)"),
    )
    .unwrap();
    std::fs::write(
        dir.join("db-b.toml"),
        database("db-b", "lognormal(3.69ms, 57.7ms)"),
    )
    .unwrap();
    let out = meshsim_in(&dir, &["compare", "db-a.toml", "db-b.toml", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mean = |key: &str, label: &str| {
        v["metrics"][key]["variants"][label]["mean"]
            .as_f64()
            .unwrap()
    };
    let p50 = "workloads.query.latency_ms.p50";
    let p99 = "workloads.query.latency_ms.p99";
    assert!((mean(p50, "db-a") - 3.70).abs() < 0.02, "{v}");
    assert!((mean(p50, "db-b") - 3.73).abs() < 0.02, "{v}");
    assert!((mean(p99, "db-a") - 11.8).abs() < 0.5, "{v}");
    assert!((mean(p99, "db-b") - 53.8).abs() < 2.0, "{v}");
    let verdict = v["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with(
            "Against db-a (baseline), paired seed by seed over 8 seeds: db-b: worse on p99 ("
        ),
        "{verdict}"
    );
    assert_eq!(v["metrics"][p99]["paired"]["db-b"]["verdict"], "worse");
}

#[test]
fn the_verdict_judges_every_variant_against_the_baseline() {
    // Goal: with a slow and a fast server at light load, the first line pairs the fast one
    // against the first (the baseline) and calls it better on the tail first, then on the
    // median, with both means; `--baseline` turns the comparison round (the slow one is
    // worse), and the JSON carries the same judgement per metric.
    let dir = setup("compare-verdict");
    let args = [
        "compare",
        "server.toml",
        "--set",
        "workload.load.rate=50",
        "--vary",
        "service.server.endpoint.serve.work=\"exp(8ms)\",\"exp(1ms)\"",
        "--seeds",
        "4",
    ];
    // The first line of `compare` with `extra` flags, checked to open with `opening`.
    let first_line = |extra: &[&str], opening: &str| {
        let text = ok(&meshsim_in(&dir, &[&args[..], extra].concat()));
        let first = text.lines().next().unwrap().to_string();
        assert!(first.starts_with(opening), "{first}");
        first
    };
    let first = first_line(
        &[],
        "Against work=exp(8ms) (baseline), paired seed by seed over 4 seeds: work=exp(1ms): \
         better on p99 (",
    );
    let p99 = first.find("better on p99").unwrap();
    let p50 = first.find("better on p50").expect(&first);
    assert!(p99 < p50, "the tail leads: {first}");
    first_line(
        &["--baseline", "work=exp(1ms)"],
        "Against work=exp(1ms) (baseline), paired seed by seed over 4 seeds: work=exp(8ms): \
         worse on p99 (",
    );
    let v = json(&dir, &args);
    assert_eq!(v["baseline"], "work=exp(8ms)");
    let paired = &v["metrics"]["workloads.load.latency_ms.p50"]["paired"]["work=exp(1ms)"];
    assert_eq!(paired["verdict"], "better", "{paired}");
    assert_eq!(paired["pairs"], 4, "{paired}");
    assert!(paired["mean_diff"].as_f64().unwrap() < 0.0, "{paired}");
    let (d, h) = (
        paired["mean_diff"].as_f64().unwrap(),
        paired["ci95"].as_f64().unwrap(),
    );
    assert!(d + h < 0.0, "the interval excludes 0: {paired}");
}

#[test]
fn pairing_sees_a_small_consistent_difference_through_overlapping_intervals() {
    // Goal: 1% more load (rate 404 against 400, on the same seeds) raises throughput by about
    // 4 rps on every seed; each variant's own interval (±4 rps over 8 seeds of 4 s) is wider
    // than that, so the two intervals overlap, but the paired interval of the per-seed
    // differences excludes 0: the verdict calls it better, as it is.
    let dir = setup("compare-paired");
    let v = json(
        &dir,
        &[
            "compare",
            "server.toml",
            "--vary",
            "workload.load.rate=400,404",
            "--seeds",
            "8",
        ],
    );
    let key = "workloads.load.throughput_rps";
    let cell = |label: &str| {
        let c = &v["metrics"][key]["variants"][label];
        (c["mean"].as_f64().unwrap(), c["ci95"].as_f64().unwrap())
    };
    let ((a, ha), (b, hb)) = (cell("rate=400"), cell("rate=404"));
    assert!(
        a + ha > b - hb,
        "the intervals overlap: {a} ± {ha}, {b} ± {hb}"
    );
    let paired = &v["metrics"][key]["paired"]["rate=404"];
    assert_eq!(paired["verdict"], "better", "{paired}");
    assert_eq!(paired["pairs"], 8, "{paired}");
    let (d, h) = (
        paired["mean_diff"].as_f64().unwrap(),
        paired["ci95"].as_f64().unwrap(),
    );
    assert!(d - h > 0.0 && h < ha.min(hb) / 2.0, "{paired}");
    assert!(
        (d - (b - a)).abs() < 1e-6,
        "the mean difference is the difference of means"
    );
    assert!(
        v["verdict"]
            .as_str()
            .unwrap()
            .contains("better on throughput"),
        "{v}"
    );
}

#[test]
fn a_baseline_typo_is_refused_before_any_run() {
    // Goal: `--baseline` with a label no variant has exits 2 with the labels there are and a
    // did-you-mean, before any run (a million runs with max_events = 1 would exit 3 if any
    // ran) and with nothing written.
    let dir = setup("compare-baseline-typo");
    let out = meshsim_in(
        &dir,
        &[
            "compare",
            "server.toml",
            "--vary",
            "workload.load.rate=200,400",
            "--set",
            "scenario.max_events=1",
            "--seeds",
            "500000",
            "--baseline",
            "rate=40",
            "--out",
            "out",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "--baseline rate=40: no variant has that label; the labels are \"rate=200\", \
             \"rate=400\"; did you mean \"rate=400\"?"
        ),
        "{stderr}"
    );
    assert!(!dir.join("out").exists());
}

#[test]
fn identical_variants_are_the_same_on_every_seed() {
    // Goal: the same scenario as two files (the plainest A/A) runs identically on each seed
    // under common random numbers, so every paired difference is exactly 0: the verdict says
    // the same, never better or worse.
    let dir = setup("compare-a-a");
    std::fs::write(dir.join("twin.toml"), SERVER).unwrap();
    let text = ok(&meshsim_in(
        &dir,
        &["compare", "server.toml", "twin.toml", "--seeds", "4"],
    ));
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        "Against server (baseline), paired seed by seed over 4 seeds: twin: the same on p99, \
         failed %, p50, throughput and messages per request on every seed."
    );
}

//! `rate_file`: a workload's rate as CSV rows read through the caller's `SideFiles`. The rows
//! mean exactly what inline points mean, so a file and the same points inline must draw the
//! same arrivals; every bad file is refused at the `rate_file` key, naming the CSV's line.

use std::collections::BTreeMap;

use sim_core::results::BucketLatency;
use sim_core::{SideFiles, parse_scenario, parse_scenario_with};

use crate::load::scenario_with as scenario;

/// Side files held in memory, by name.
struct Files(BTreeMap<&'static str, String>);

impl SideFiles for Files {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| format!("{path}: cannot read the file: No such file"))
    }
}

fn files(list: &[(&'static str, &str)]) -> Files {
    Files(list.iter().map(|&(n, t)| (n, t.to_string())).collect())
}

/// Requests sent in each 1 s bucket.
fn counts(model: &sim_core::Model, seed: u64) -> Vec<u64> {
    let results = sim_core::run(model, seed).unwrap_or_else(|e| panic!("{e}"));
    results.workloads[0]
        .buckets
        .iter()
        .map(|b| b.sent)
        .collect()
}

const CSV: &str = "# synthetic test curve\ntime_s,rate\n0,100\n10,100\n10,400\n30.5,400\n50,0\n";
const INLINE: &str =
    r#"rate = [["0s", 100], ["10s", 100], ["10s", 400], ["30.5s", 400], ["50s", 0]]"#;

#[test]
fn a_csv_curve_draws_the_same_arrivals_as_the_same_points_inline() {
    // Goal: rows are points — linear in between, equal times a step, flat after the last —
    // so the file and the inline schedule give identical arrivals, seed by seed, with and
    // without a spike on top.
    let side = files(&[("traffic.csv", CSV)]);
    let spike = "[[workload.w.spike]]\nat = \"20s\"\nfor = \"5s\"\nfactor = 3";
    for extra in ["", spike] {
        let from_file = scenario(r#"rate_file = "traffic.csv""#, extra);
        let from_file =
            parse_scenario_with("s.toml", &from_file, &[], &side).unwrap_or_else(|d| panic!("{d}"));
        let inline = parse_scenario("s.toml", &scenario(INLINE, extra), &[])
            .unwrap_or_else(|d| panic!("{d}"));
        for seed in [1, 2, 3] {
            let got = counts(&from_file, seed);
            assert_eq!(got, counts(&inline, seed), "seed {seed}, extra {extra:?}");
            assert!(got[55..].iter().all(|&n| n == 0), "flat 0 after 50 s");
        }
    }
}

/// The one diagnostic of `load` with `side`, as `file:line:column: message`.
fn refusal(load: &str, side: &Files) -> String {
    let text = scenario(load, "");
    let d = parse_scenario_with("s.toml", &text, &[], side).expect_err(load);
    assert_eq!(d.0.len(), 1, "{d}");
    d.0[0].to_string()
}

#[test]
fn bad_rate_files_are_refused_at_the_key_with_the_csv_line() {
    // Goal: each refusal is located at rate_file in the scenario (line 9) and, for a bad
    // row, names the CSV file and its line.
    let many: String = (0..100_001).map(|i| format!("{i},1\n")).collect();
    let side = files(&[
        ("bad-row.csv", "time_s,rate\n0,10\n5;20\n"),
        ("backwards.csv", "0,10\n9,10\n8,10\n"),
        ("negative.csv", "0,-5\n"),
        ("huge.csv", "0,10\n1,2e9\n"),
        ("empty.csv", ""),
        ("good.csv", "0,1\n"),
        ("many.csv", &many),
    ]);
    let at = "s.toml:9:13: workload.w.rate_file: ";
    let cases = [
        ("bad-row.csv", "bad-row.csv:3: 1 fields in \"5;20\""),
        ("backwards.csv", "backwards.csv:3: time 8 comes before"),
        ("negative.csv", "negative.csv:1: rate \"-5\" is not allowed"),
        (
            "huge.csv",
            "huge.csv:2: rate \"2e9\" is not allowed; allowed: a number from 0 to 1000000000",
        ),
        ("empty.csv", "empty.csv: no rows"),
        ("many.csv", "many.csv:100001: more than 100000 rows"),
        ("missing.csv", "missing.csv: cannot read the file"),
    ];
    for (name, want) in cases {
        let got = refusal(&format!("rate_file = \"{name}\""), &side);
        assert!(got.starts_with(&format!("{at}{want}")), "{name}: {got}");
    }
    let got = refusal("rate_file = 5", &side);
    assert!(got.contains("expected a file name"), "{got}");
    let both = refusal("rate = 10\nrate_file = \"negative.csv\"", &side);
    assert!(
        both.starts_with("s.toml:10:13: workload.w has both rate and rate_file"),
        "{both}"
    );
    let closed = refusal("users = 3\nrate_file = \"good.csv\"", &side);
    assert!(closed.contains("has both rate_file and users"), "{closed}");
}

#[test]
fn text_alone_may_name_no_side_file() {
    // Goal: parse_scenario has no directory, so it refuses rate_file with a reason rather
    // than reading a file from wherever the process happens to run.
    let text = scenario(r#"rate_file = "traffic.csv""#, "");
    let d = parse_scenario("s.toml", &text, &[]).expect_err("no side files");
    let msg = d.to_string();
    assert!(msg.contains("it may not name other files"), "{msg}");
}

#[test]
fn a_burst_in_a_rate_file_stays_under_the_memory_estimate_of_its_bucket() {
    // Goal: the memory estimate of a time bucket's latencies bounds what a bursty rate file
    // makes a bucket hold: 10 requests/s, then 5,000/s for 200 ms inside one 1 s bucket (a
    // thousand requests where the mean of the curve is 10), with latencies that differ (exp
    // work) so each request may add an entry. Every bucket's latency heap is at most the
    // estimate, for Poisson and constant arrivals, and the burst's bucket holds more than an
    // estimate taken from the curve's mean rate would allow, so the test tells the two apart.
    const BURST: &str = "time_s,rate\n0,10\n20.4,10\n20.4,5000\n20.6,5000\n20.6,10\n100,10\n";
    let side = files(&[("burst.csv", BURST)]);
    for arrival in ["poisson", "constant"] {
        let load = format!("rate_file = \"burst.csv\"\narrival = \"{arrival}\"");
        let text = scenario(&load, "").replace("work = \"1us\"", "work = \"exp(5ms)\"");
        let model =
            parse_scenario_with("s.toml", &text, &[], &side).unwrap_or_else(|d| panic!("{d}"));
        let most = sim_core::engine::footprint::bucket_latency_bytes(&model, &model.workloads[0]);
        for seed in [1, 2, 3] {
            let results = sim_core::run(&model, seed).unwrap_or_else(|e| panic!("{e}"));
            let buckets = &results.workloads[0].buckets;
            for (i, b) in buckets.iter().enumerate() {
                let held = b.latency.heap_bytes() as u64;
                assert!(
                    held <= most,
                    "{arrival}, seed {seed}, bucket {i}: {held} > {most} bytes"
                );
            }
            let burst = &buckets[20];
            assert!(
                burst.sent > 900,
                "{arrival}: the burst's bucket sent {}",
                burst.sent
            );
            // What an estimate from the curve's mean rate (10/s over a 1 s bucket) would
            // allow, by footprint's own formula: the burst's bucket holds more.
            let from_mean =
                BucketLatency::bytes_for((10.0 + 10.0 * 10f64.sqrt() + 20.0).ceil() as u64);
            let held = burst.latency.heap_bytes() as u64;
            assert!(
                held > from_mean,
                "{arrival}: the burst's bucket holds {held} bytes, no more than a mean-rate estimate's {from_mean}"
            );
        }
    }
}

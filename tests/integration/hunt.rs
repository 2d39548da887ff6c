//! `meshsim hunt`: the smallest seed whose report satisfies an expression, the same whatever
//! `--jobs`, with a replay command that reproduces it; `--shrink`; expression errors.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::{meshsim_in, scratch_dir};

/// Random crashes (MTBF 20 s per replica) over 20 s: in most seeds retries and health checks
/// absorb them (a handful of failures), in some two replicas are down together and hundreds
/// of requests fail. A slow fault that does not matter to failures gives shrink something
/// to drop.
pub(crate) const CHAOS: &str = r#"
[scenario]
name = "chaos"
seed = 1
duration = "20s"
warmup = "2s"
drain = "5s"

[network]
latency = "exp(300us)"

[workload.shop]
endpoint = "orders/place"
rate = 200
timeout = "500ms"
retries = 2
backoff = "20ms"
jitter = "full"

[service.orders]
replicas = 3
workers = 16
health_check = "1s"
[service.orders.endpoint.place]
work = "exp(2ms)"
calls = [{ to = "stock/reserve", timeout = "200ms", retries = 2, backoff = "10ms", jitter = "full" }]

[service.stock]
replicas = 3
workers = 16
health_check = "1s"
[service.stock.endpoint.reserve]
work = "exp(3ms)"

[[fault]]
kind = "slow"
target = "stock"
at = "3s"
for = "1s"
factor = 2

[chaos]
targets = ["orders", "stock"]
mtbf = "20s"
mttr = "5s"
"#;

pub(crate) const UNTIL: &str = "workloads.shop.failed > 50";

fn setup(name: &str) -> PathBuf {
    let dir = scratch_dir(name);
    std::fs::write(dir.join("chaos.toml"), CHAOS).unwrap();
    dir
}

fn stdout(out: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn failed(dir: &Path, file: &str, seed: u64) -> f64 {
    let seed = seed.to_string();
    let out = meshsim_in(dir, &["run", file, "--seed", &seed, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["workloads"]["shop"]["failed"].as_f64().unwrap()
}

/// The seed on the first line, `seed N satisfies …`.
fn found_seed(text: &str) -> u64 {
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn finds_the_smallest_seed_whatever_the_threads() {
    // Goal: the seed found satisfies EXPR when run alone, every smaller seed in the range does
    // not, --jobs 1 and 4 agree byte for byte, and the printed command reproduces it.
    let dir = setup("hunt-smallest");
    let hunt = |jobs: &str| {
        stdout(
            &meshsim_in(
                &dir,
                &[
                    "hunt",
                    "chaos.toml",
                    "--seeds",
                    "1..60",
                    "--until",
                    UNTIL,
                    "--jobs",
                    jobs,
                ],
            ),
            0,
        )
    };
    let one = hunt("1");
    assert_eq!(one, hunt("4"), "--jobs 1 vs 4");
    let seed = found_seed(&one);
    assert!(
        seed > 1,
        "the scenario should need a search (found {seed}):\n{one}"
    );
    assert!(failed(&dir, "chaos.toml", seed) > 50.0);
    for smaller in 1..seed {
        assert!(
            failed(&dir, "chaos.toml", smaller) <= 50.0,
            "seed {smaller} also satisfies it"
        );
    }
    let replay = one
        .lines()
        .find_map(|l| l.strip_prefix("replay: "))
        .unwrap();
    assert_eq!(replay, format!("meshsim run chaos.toml --seed {seed}"));
    let args: Vec<&str> = replay.split_whitespace().skip(1).collect();
    let out = meshsim_in(&dir, &[&args[..], &["--json"]].concat());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["workloads"]["shop"]["failed"].as_f64().unwrap() > 50.0);
}

#[test]
fn no_seed_exits_1() {
    // Goal: a range where nothing satisfies EXPR says so and exits 1.
    let dir = setup("hunt-none");
    let text = stdout(
        &meshsim_in(
            &dir,
            &[
                "hunt",
                "chaos.toml",
                "--seeds",
                "1..3",
                "--until",
                "workloads.shop.sent < 0",
            ],
        ),
        1,
    );
    assert!(text.starts_with("no seed in 1..3 satisfies"), "{text}");
}

#[test]
fn shrink_gives_a_smaller_scenario_that_still_satisfies_it() {
    // Goal: --shrink writes a scenario smaller on the measures it names (shorter duration,
    // lower rate or fewer faults) that still satisfies EXPR at the seed found, run alone.
    let dir = setup("hunt-shrink");
    let text = stdout(
        &meshsim_in(
            &dir,
            &[
                "hunt",
                "chaos.toml",
                "--seeds",
                "1..60",
                "--until",
                UNTIL,
                "--shrink",
            ],
        ),
        0,
    );
    let seed = found_seed(&text);
    let file = format!("chaos-shrunk-seed{seed}.toml");
    assert!(text.contains(&format!("wrote {file}")), "{text}");
    let shrunk = std::fs::read_to_string(dir.join(&file)).unwrap();
    let doc: toml_edit::DocumentMut = shrunk.parse().unwrap();
    let duration = doc["scenario"]["duration"].as_str().unwrap();
    let rate = doc["workload"]["shop"]["rate"]
        .as_float()
        .or_else(|| {
            doc["workload"]["shop"]["rate"]
                .as_integer()
                .map(|r| r as f64)
        })
        .unwrap();
    let faults = doc
        .get("fault")
        .and_then(|f| f.as_array_of_tables())
        .map_or(0, |a| a.len());
    let smaller = duration != "20s" || rate < 200.0 || faults == 0;
    assert!(smaller, "nothing reduced:\n{text}\n{shrunk}");
    assert!(
        failed(&dir, &file, seed) > 50.0,
        "the shrunk scenario no longer satisfies it"
    );
    assert!(
        text.contains(&format!("replay: meshsim run {file} --seed {seed}")),
        "{text}"
    );
}

#[test]
fn expression_errors_exit_2_with_a_position() {
    // Goal: a syntax error names the column and what was expected; an unknown metric path
    // names the keys available; both exit 2 with nothing on stdout.
    let dir = setup("hunt-errors");
    for (until, says) in [
        (
            "workloads.shop.failed >",
            "column 24: expected a number or a metric path",
        ),
        ("(workloads.shop.failed > 1", "expected \")\""),
        ("workloads.shp.failed > 1", "available: shop"),
    ] {
        let out = meshsim_in(
            &dir,
            &["hunt", "chaos.toml", "--seeds", "1..3", "--until", until],
        );
        assert_eq!(out.status.code(), Some(2), "{until}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{until}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_run_limit_before_the_answer_exits_3_with_its_replay() {
    // Goal: a run that hits a limit before any seed satisfies EXPR stops the hunt (exit 3),
    // naming the seed and the command that replays it; nothing on stdout.
    let dir = setup("hunt-limit");
    let out = meshsim_in(
        &dir,
        &[
            "hunt",
            "chaos.toml",
            "--seeds",
            "1..3",
            "--until",
            UNTIL,
            "--set",
            "scenario.max_events=100",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("seed 1 hit a run limit"), "{stderr}");
    assert!(
        stderr.contains("replay: meshsim run chaos.toml --seed 1 --set scenario.max_events=100"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

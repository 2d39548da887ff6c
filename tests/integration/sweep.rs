//! `meshsim sweep`: a load curve on the many-run engine — one row per grid point, the same
//! bytes whatever `--jobs` or sharding, and the `A..B:STEP` range syntax. Small scenarios (a
//! few simulated seconds) keep it fast.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::{meshsim_in, scratch_dir};

/// One queue and one server (M/M/1, mean work 1.25 ms, so mu = 800/s): latency grows with
/// the rate.
const SERVER: &str = r#"
[scenario]
name = "server"
seed = 11
duration = "3s"
warmup = "500ms"
drain = "2s"

[network]
latency = "0ms"

[workload.load]
endpoint = "server/serve"
rate = 400

[service.server]
workers = 1
queue = "unbounded"

[service.server.endpoint.serve]
work = "exp(1.25ms)"
"#;

fn setup(name: &str) -> PathBuf {
    let dir = scratch_dir(name);
    std::fs::write(dir.join("server.toml"), SERVER).unwrap();
    dir
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.is_empty(),
        "nothing on stderr off a terminal: {stderr}"
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

const BASE: [&str; 8] = [
    "sweep",
    "server.toml",
    "--vary",
    "workload.load.rate=100..700:200",
    "--vary",
    "service.server.workers=1,2",
    "--seeds",
    "3",
];

fn with(extra: &[&str]) -> Vec<String> {
    BASE.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn run(dir: &Path, args: &[String]) -> String {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&meshsim_in(dir, &argv))
}

#[test]
fn output_does_not_depend_on_threads_or_shards() {
    // Goal: 1, 2 and 8 threads print the same bytes (text and JSON), and four shards merged
    // print exactly what the unsharded sweep prints, with the same output flags.
    let dir = setup("sweep-jobs");
    for extra in [&[][..], &["--json"]] {
        let outputs: Vec<String> = ["1", "2", "8"]
            .iter()
            .map(|jobs| {
                let mut args = with(extra);
                args.extend(["--jobs".to_string(), jobs.to_string()]);
                run(&dir, &args)
            })
            .collect();
        assert_eq!(outputs[0], outputs[1], "--jobs 1 vs 2 ({extra:?})");
        assert_eq!(outputs[0], outputs[2], "--jobs 1 vs 8 ({extra:?})");
        let mut parts = Vec::new();
        for i in 1..=4 {
            let shard = format!("{i}/4");
            let mut args = with(&["--shard", &shard, "--out", "parts"]);
            args.extend(["--jobs".to_string(), "2".to_string()]);
            assert_eq!(run(&dir, &args), "", "a shard with --out prints nothing");
            parts.push(format!("parts/sweep.part-{i}-of-4.json"));
        }
        parts.reverse();
        let mut merge = vec!["merge".to_string()];
        merge.extend(parts);
        merge.extend(extra.iter().map(|s| s.to_string()));
        assert_eq!(run(&dir, &merge), outputs[0], "merged shards ({extra:?})");
        // A sweep pairs nothing, so merge refuses a --baseline for it rather than ignore it.
        merge.extend(["--baseline".to_string(), "x".to_string()]);
        let out = meshsim_in(&dir, &merge.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("only compare pairs variants"), "{stderr}");
    }
}

#[test]
fn one_row_per_grid_point_and_latency_rises_with_load() {
    // Goal: the grid is rate 100, 300, 500, 700 (700 = 100 + 3 × 200 lands on B) × workers
    // 1, 2, first --vary slowest; p99 rises with the rate at one worker (M/M/1), and --out
    // writes the JSON (same bytes as --json), text, CSV and a deterministic SVG plot.
    let dir = setup("sweep-grid");
    let v: Value = serde_json::from_str(&run(&dir, &with(&["--json"]))).unwrap();
    assert_eq!(v["command"], "sweep");
    let points = v["points"].as_array().unwrap();
    let grid: Vec<(String, String)> = points
        .iter()
        .map(|p| {
            (
                p["vary"]["workload.load.rate"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                p["vary"]["service.server.workers"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = ["100", "300", "500", "700"]
        .iter()
        .flat_map(|r| ["1", "2"].map(|w| (r.to_string(), w.to_string())))
        .collect();
    assert_eq!(grid, want);
    let p99 = |i: usize| {
        points[i]["metrics"]["workloads.load.latency_ms.p99"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert!(
        p99(0) < p99(4) && p99(4) < p99(6),
        "{} {} {}",
        p99(0),
        p99(4),
        p99(6)
    );

    let text = run(&dir, &with(&[]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("sweep of server over"), "{text}");
    for column in [
        "rate",
        "workers",
        "load p50 ms",
        "load p99 ms",
        "load failed %",
    ] {
        assert!(lines[3].contains(column), "{}", lines[3]);
    }
    assert_eq!(
        lines.len(),
        4 + 8,
        "heading, blank, header, 8 points:\n{text}"
    );

    run(&dir, &with(&["--out", "a"]));
    run(&dir, &with(&["--out", "b", "--jobs", "1"]));
    for file in [
        "sweep.json",
        "sweep.txt",
        "sweep.csv",
        "sweep.svg",
        "report.html",
    ] {
        let a = std::fs::read(dir.join("a").join(file)).unwrap();
        let b = std::fs::read(dir.join("b").join(file)).unwrap();
        assert!(a == b, "{file} differs between runs");
    }
    let json = std::fs::read_to_string(dir.join("a/sweep.json")).unwrap();
    assert_eq!(json, run(&dir, &with(&["--json"])));
    let svg = std::fs::read_to_string(dir.join("a/sweep.svg")).unwrap();
    roxmltree::Document::parse(&svg).expect("the plot is well-formed SVG");
    assert!(
        svg.contains("workers=2"),
        "one line per value of the second --vary"
    );
    let csv = std::fs::read_to_string(dir.join("a/sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8);
    assert!(
        csv.starts_with("workload.load.rate,service.server.workers,"),
        "{csv}"
    );
}

#[test]
fn bad_ranges_exit_2_with_the_argument() {
    // Goal: a range that starts above its end, a zero step and a grid of more than 10,000
    // points are refused before anything runs, naming the argument.
    let dir = setup("sweep-bad");
    for (range, says) in [
        ("workload.load.rate=700..100:200", "starts above its end"),
        ("workload.load.rate=100..700:0", "STEP is 0"),
        ("workload.load.rate=1..20000:1", "at most 10000"),
    ] {
        let out = meshsim_in(&dir, &["sweep", "server.toml", "--vary", range]);
        assert_eq!(out.status.code(), Some(2), "{range}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(range) && stderr.contains(says), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

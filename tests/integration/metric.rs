//! `--metric PATH` on `compare` and `sweep`: extra rows read from each run's JSON report,
//! `*` for every key of one section, checked against the report's shape before any run, and
//! carried through `--shard` and `merge`.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{meshsim_in, scratch_dir};

/// A client calling a front service that calls a back one: two services for `*` to range
/// over, in this (report) order.
const CHAIN: &str = r#"
[scenario]
name = "chain"
seed = 5
duration = "3s"
warmup = "1s"
drain = "1s"

[network]
latency = "0ms"

[workload.load]
endpoint = "front/serve"
rate = 300

[service.front]
workers = 2

[service.front.endpoint.serve]
work = "exp(1ms)"
calls = [{ to = "back/serve" }]

[service.back]
workers = 1

[service.back.endpoint.serve]
work = "exp(2ms)"
"#;

fn setup(name: &str) -> std::path::PathBuf {
    let dir = scratch_dir(name);
    std::fs::write(dir.join("chain.toml"), CHAIN).unwrap();
    dir
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut argv = args.to_vec();
    argv.push("--json");
    serde_json::from_str(&ok(&meshsim_in(dir, &argv))).expect("JSON on stdout")
}

#[test]
fn a_metric_is_the_mean_of_the_runs_values() {
    // Goal: a --metric row holds, seed by seed, the value `run --json` reports at that path,
    // and its mean is their arithmetic mean (an outside truth: the single runs).
    let dir = setup("metric-mean");
    let v = json(
        &dir,
        &[
            "compare",
            "chain.toml",
            "--seeds",
            "3",
            "--metric",
            "services.back.utilization",
        ],
    );
    let row = &v["metrics"]["services.back.utilization"]["variants"]["chain"];
    let values: Vec<f64> = row["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let single: Vec<f64> = (5..8)
        .map(|seed| {
            let s = seed.to_string();
            let r = json(&dir, &["run", "chain.toml", "--seed", &s]);
            r["services"]["back"]["utilization"].as_f64().unwrap()
        })
        .collect();
    assert_eq!(values, single);
    let mean = single.iter().sum::<f64>() / 3.0;
    let got = row["mean"].as_f64().unwrap();
    assert!((got - mean).abs() < 1e-6, "mean {got}, runs {single:?}");
    assert!(mean > 0.0, "the back service did work");
}

#[test]
fn a_star_expands_to_one_row_per_key_in_report_order() {
    // Goal: `services.*.utilization` is one row per service, in report order, after the
    // default rows, in compare's JSON, CSV and text and in sweep's table and JSON.
    let dir = setup("metric-star");
    let args = [
        "compare",
        "chain.toml",
        "--seeds",
        "2",
        "--metric",
        "services.*.utilization",
    ];
    let v = json(&dir, &args);
    let keys: Vec<&str> = v["metrics"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let n = keys.len();
    assert!(n > 2, "{keys:?}");
    assert_eq!(
        keys[n - 2..],
        ["services.front.utilization", "services.back.utilization"]
    );
    assert_eq!(keys[0], "workloads.load.latency_ms.p50", "defaults first");
    let text = ok(&meshsim_in(&dir, &[&args[..], &["--out", "out"]].concat()));
    let front = text.find("services.front.utilization").expect("text row");
    let back = text.find("services.back.utilization").expect("text row");
    assert!(front < back, "{text}");
    let csv = std::fs::read_to_string(dir.join("out/compare.csv")).unwrap();
    assert!(csv.contains("\nservices.back.utilization,"), "{csv}");

    let sweep = [
        "sweep",
        "chain.toml",
        "--seeds",
        "2",
        "--vary",
        "workload.load.rate=100..200:100",
        "--metric",
        "services.*.utilization",
    ];
    let s = json(&dir, &sweep);
    for point in s["points"].as_array().unwrap() {
        let m = &point["metrics"];
        for service in ["front", "back"] {
            let key = format!("services.{service}.utilization");
            assert!(m[&key]["mean"].as_f64().unwrap() > 0.0, "{key}: {m}");
        }
    }
    // Utilization grows with the offered rate (twice the load, about twice the busy time).
    let u = |i: usize| s["points"][i]["metrics"]["services.back.utilization"]["mean"].as_f64();
    assert!(u(1).unwrap() > 1.5 * u(0).unwrap(), "{s}");
    let table = ok(&meshsim_in(&dir, &sweep));
    assert!(table.contains("services.back.utilization"), "{table}");
}

#[test]
fn each_metric_row_gets_a_panel_in_the_sweep_plot() {
    // Goal: sweep.svg draws every --metric row in a panel of its own, after the p99 panel and
    // titled by its path, so a utilization curve can be read off the plot as well as the
    // table: three panels of 450 px for p99 and the two services.
    let dir = setup("metric-plot");
    ok(&meshsim_in(
        &dir,
        &[
            "sweep",
            "chain.toml",
            "--seeds",
            "2",
            "--vary",
            "workload.load.rate=100..300:100",
            "--metric",
            "services.*.utilization",
            "--out",
            "out",
            "--quiet",
        ],
    ));
    let svg = std::fs::read_to_string(dir.join("out/sweep.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().attribute("height"), Some("1350"));
    let titles: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .filter(|t| t.contains(" by rate"))
        .collect();
    assert_eq!(
        titles,
        [
            "load p99 latency by rate",
            "services.front.utilization by rate",
            "services.back.utilization by rate"
        ]
    );
}

#[test]
fn an_unknown_metric_exits_2_before_any_run() {
    // Goal: a typo in --metric is refused with a did-you-mean before the runs: a million
    // runs (the most a plan may have) with max_events = 1 would take very long and exit 3 if
    // anything ran.
    let dir = setup("metric-unknown");
    for (command, seeds) in [
        (&["compare", "chain.toml"][..], "1000000"),
        (
            &[
                "sweep",
                "chain.toml",
                "--vary",
                "workload.load.rate=100,200",
            ][..],
            "500000",
        ),
    ] {
        let out = meshsim_in(
            &dir,
            &[
                command,
                &[
                    "--seeds",
                    seeds,
                    "--set",
                    "scenario.max_events=1",
                    "--metric",
                    "services.*.utilisation",
                    "--metric",
                    "services.bak.utilization",
                    "--metric",
                    "services.*.*",
                ],
            ]
            .concat(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("did you mean \"utilization\"?"), "{stderr}");
        assert!(stderr.contains("did you mean \"back\"?"), "{stderr}");
        assert!(stderr.contains("at most one segment may be *"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn shards_with_metrics_merge_into_the_unsharded_output() {
    // Goal: partial results carry the --metric values, and merging every shard prints the
    // same bytes as the unsharded compare and sweep.
    let dir = setup("metric-shards");
    let compare = [
        "compare",
        "chain.toml",
        "--vary",
        "workload.load.rate=100,300",
        "--seeds",
        "3",
        "--metric",
        "services.*.utilization",
        "--metric",
        "workloads.load.sent",
    ];
    let sweep = [
        "sweep",
        "chain.toml",
        "--vary",
        "workload.load.rate=100..300:200",
        "--seeds",
        "3",
        "--metric",
        "services.*.mean_in_system",
    ];
    for (name, args) in [("compare", &compare[..]), ("sweep", &sweep[..])] {
        let out = format!("parts-{name}");
        for shard in ["1/3", "2/3", "3/3"] {
            ok(&meshsim_in(
                &dir,
                &[args, &["--shard", shard, "--out", &out]].concat(),
            ));
        }
        let parts: Vec<String> = (1..=3)
            .map(|i| format!("{out}/{name}.part-{i}-of-3.json"))
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let part = std::fs::read_to_string(dir.join(parts[0])).unwrap();
        assert!(part.contains("services.back."), "{part}");
        let whole_json = ok(&meshsim_in(&dir, &[args, &["--json"]].concat()));
        let merged_json = ok(&meshsim_in(
            &dir,
            &[&["merge"][..], &parts, &["--json"]].concat(),
        ));
        assert_eq!(merged_json, whole_json, "{name}");
        assert!(whole_json.contains("services.back."), "{whole_json}");
        let whole_text = ok(&meshsim_in(&dir, args));
        let merged_text = ok(&meshsim_in(&dir, &[&["merge"][..], &parts].concat()));
        assert_eq!(merged_text, whole_text, "{name}");
    }
}

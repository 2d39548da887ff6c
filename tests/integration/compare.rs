//! `meshsim compare`: variants × seeds on the many-run engine, side by side with confidence
//! intervals; `--shard` and `merge`. Small scenarios (a few simulated seconds) keep it fast.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{meshsim_in, scratch_dir};

/// One queue and one server (M/M/1, mean work 1.25 ms): latency grows with the rate, and
/// p99 is noisy over a 4-second window.
pub(crate) const SERVER: &str = r#"
[scenario]
name = "server"
seed = 11
duration = "4s"
warmup = "1s"
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

/// A scratch directory holding `server.toml`.
pub(crate) fn setup(name: &str) -> std::path::PathBuf {
    let dir = scratch_dir(name);
    std::fs::write(dir.join("server.toml"), SERVER).unwrap();
    dir
}

pub(crate) fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.is_empty(),
        "nothing on stderr off a terminal: {stderr}"
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

pub(crate) fn json(dir: &Path, args: &[&str]) -> Value {
    let mut argv = args.to_vec();
    argv.push("--json");
    serde_json::from_str(&ok(&meshsim_in(dir, &argv))).expect("JSON on stdout")
}

fn mean(v: &Value, metric: &str, variant: &str) -> f64 {
    v["metrics"][metric]["variants"][variant]["mean"]
        .as_f64()
        .unwrap_or_else(|| panic!("no mean for {metric} / {variant}"))
}

#[test]
fn output_does_not_depend_on_the_number_of_threads() {
    // Goal: the jobs are merged in variant then seed order, so 1, 2 and 8 threads print the
    // same bytes, text and JSON.
    let dir = setup("compare-jobs");
    let base = [
        "compare",
        "server.toml",
        "--vary",
        "workload.load.rate=300,500",
        "--seeds",
        "6",
    ];
    for extra in [&[][..], &["--json"]] {
        let outputs: Vec<String> = ["1", "2", "8"]
            .iter()
            .map(|jobs| {
                let mut args = base.to_vec();
                args.extend_from_slice(extra);
                args.extend_from_slice(&["--jobs", jobs]);
                ok(&meshsim_in(&dir, &args))
            })
            .collect();
        assert_eq!(outputs[0], outputs[1], "--jobs 1 vs 2 ({extra:?})");
        assert_eq!(outputs[0], outputs[2], "--jobs 1 vs 8 ({extra:?})");
    }
}

#[test]
fn intervals_narrow_with_more_seeds() {
    // Goal: the 95% interval of a noisy metric (p99 latency) is narrower with 16 seeds than
    // with 4, for every variant: t·s/√n with n four times larger (and t smaller).
    let dir = setup("compare-narrow");
    let args = [
        "compare",
        "server.toml",
        "--vary",
        "workload.load.rate=300,600",
    ];
    let run = |seeds: &str| {
        let mut a = args.to_vec();
        a.extend_from_slice(&["--seeds", seeds]);
        json(&dir, &a)
    };
    let (four, sixteen) = (run("4"), run("16"));
    let p99 = "workloads.load.latency_ms.p99";
    for label in ["rate=300", "rate=600"] {
        let ci = |v: &Value| {
            v["metrics"][p99]["variants"][label]["ci95"]
                .as_f64()
                .unwrap()
        };
        assert!(
            ci(&sixteen) < ci(&four),
            "{label}: ±{} at 16 seeds, ±{} at 4",
            ci(&sixteen),
            ci(&four)
        );
        let values = sixteen["metrics"][p99]["variants"][label]["values"]
            .as_array()
            .unwrap();
        assert_eq!(values.len(), 16);
    }
    let seeds: Vec<u64> = sixteen["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(
        seeds,
        (11..27).collect::<Vec<_>>(),
        "from scenario.seed, in order"
    );
}

#[test]
fn varying_the_rate_moves_latency_up() {
    // Goal: --vary over workload.load.rate makes one labelled variant per value, in the
    // order given, and latency rises with load (M/M/1: W = 1/(mu - lambda), mu = 800/s);
    // the text table has one column per variant and a row per metric.
    let dir = setup("compare-vary-rate");
    let args = [
        "compare",
        "server.toml",
        "--vary",
        "workload.load.rate=200,450,650",
        "--seeds",
        "4",
        "--seed",
        "100",
    ];
    let v = json(&dir, &args);
    let labels: Vec<&str> = v["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["rate=200", "rate=450", "rate=650"]);
    assert_eq!(v["seeds"][0], 100);
    for metric in [
        "workloads.load.latency_ms.p50",
        "workloads.load.latency_ms.p99",
    ] {
        let means: Vec<f64> = labels.iter().map(|l| mean(&v, metric, l)).collect();
        assert!(
            means[0] < means[1] && means[1] < means[2],
            "{metric}: {means:?}"
        );
    }
    let rps: Vec<f64> = labels
        .iter()
        .map(|l| mean(&v, "workloads.load.throughput_rps", l))
        .collect();
    assert!((rps[2] / rps[0] - 650.0 / 200.0).abs() < 0.3, "{rps:?}");

    let text = ok(&meshsim_in(&dir, &args));
    let header = text.lines().nth(3).unwrap();
    for label in &labels {
        assert!(header.contains(label), "{header}");
    }
    assert!(text.contains("load p50 ms"), "{text}");
    assert!(text.contains("messages per request"), "{text}");
    assert!(text.contains(" ± "), "{text}");
}

#[test]
fn bad_vary_syntax_exits_2_and_writes_nothing() {
    // Goal: a --vary without '=' or with an empty value is a usage error naming the flag
    // (exit 2, nothing on stdout, no --out directory).
    let dir = setup("compare-bad-syntax");
    for vary in [
        "workload.load.rate",
        "workload.load.rate=100,,200",
        "a=exp(1ms",
    ] {
        let out = meshsim_in(
            &dir,
            &["compare", "server.toml", "--vary", vary, "--out", "out"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{vary}: {stderr}");
        assert!(stderr.contains(&format!("--vary {vary}")), "{stderr}");
        assert!(out.stdout.is_empty());
        assert!(!dir.join("out").exists(), "nothing written");
    }
}

#[test]
fn a_bad_vary_value_exits_2_with_its_location_before_any_run() {
    // Goal: every variant is validated before anything runs: a value the scenario rejects
    // exits 2, naming the file, the line of the key and the --vary value; nothing is written.
    let dir = setup("compare-bad-value");
    let out = meshsim_in(
        &dir,
        &[
            "compare",
            "server.toml",
            "--vary",
            "workload.load.rate=100,fast",
            "--out",
            "out",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("server.toml:14:"), "located: {stderr}");
    assert!(
        stderr.contains("--vary workload.load.rate=fast"),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 2 variants"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!dir.join("out").exists(), "nothing written");

    let out = meshsim_in(&dir, &["compare", "server.toml", "missing.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("missing.toml: cannot read the file"),
        "{stderr}"
    );
}

#[test]
fn a_vary_may_not_invent_a_service() {
    // Goal: `--vary service.servr.replicas=1,3` (a typo of server) used to add a service to
    // each variant and report a tie; now it exits 2 before any run, blaming the --vary value,
    // with a did-you-mean. `run --set` with the same typo is refused the same way.
    let dir = setup("compare-invented");
    let out = meshsim_in(
        &dir,
        &[
            "compare",
            "server.toml",
            "--vary",
            "service.servr.replicas=1,3",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--vary service.servr.replicas=1: the file declares no service \"servr\""),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean \"server\"?"), "{stderr}");
    assert!(out.stdout.is_empty());
    let out = meshsim_in(
        &dir,
        &["run", "server.toml", "--set", "service.servr.workers=4"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--set service.servr.workers=4: the file declares no service"),
        "{stderr}"
    );
}

#[test]
fn a_run_limit_exits_3_naming_the_variant_and_seed() {
    // Goal: a run that hits a limit stops compare with exit 3, saying which variant and seed
    // and how to replay it; nothing is written.
    let dir = setup("compare-limit");
    let out = meshsim_in(
        &dir,
        &[
            "compare",
            "server.toml",
            "--vary",
            "scenario.max_events=10000000,500",
            "--seeds",
            "2",
            "--out",
            "out",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("variant \"max_events=500\", seed 11"),
        "{stderr}"
    );
    assert!(
        stderr.contains("replay: meshsim run server.toml --seed 11 --set scenario.max_events=500"),
        "{stderr}"
    );
    assert!(stderr.contains("2 of 4 runs"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!dir.join("out").exists(), "nothing written");
}

#[test]
fn failed_expectations_do_not_fail_compare() {
    // Goal: an [[expect]] that fails in some runs is reported (note in the text, seeds in
    // the JSON) but compare still exits 0.
    let dir = setup("compare-expect");
    let text =
        format!("{SERVER}\n[[expect]]\nmetric = \"workloads.load.latency_ms.p50\"\nbelow = 2.0\n");
    std::fs::write(dir.join("strict.toml"), text).unwrap();
    let args = [
        "compare",
        "strict.toml",
        "--vary",
        "workload.load.rate=50,600",
        "--seeds",
        "2",
    ];
    let out = ok(&meshsim_in(&dir, &args));
    assert!(out.contains("an [[expect]] failed in 2 of 4 runs"), "{out}");
    let v = json(&dir, &args);
    assert_eq!(
        v["variants"][1]["expect_failed_seeds"],
        serde_json::json!([11, 12])
    );
    assert_eq!(
        v["variants"][0]["expect_failed_seeds"],
        serde_json::json!([])
    );
}

#[test]
fn out_writes_json_markdown_and_csv() {
    // Goal: --out DIR holds compare.json (the bytes of --json), compare.txt (the text),
    // compare.md and compare.csv (one line per metric and variant, a column per seed).
    let dir = setup("compare-out");
    let args = [
        "compare",
        "server.toml",
        "--vary",
        "workload.load.rate=200,400",
        "--seeds",
        "3",
    ];
    let text = ok(&meshsim_in(&dir, &[&args[..], &["--out", "out"]].concat()));
    let json_text = ok(&meshsim_in(&dir, &[&args[..], &["--json"]].concat()));
    let read = |f: &str| std::fs::read_to_string(dir.join("out").join(f)).unwrap();
    assert_eq!(read("compare.json"), json_text);
    assert_eq!(read("compare.txt"), text);
    let md = read("compare.md");
    assert!(md.starts_with("# meshsim compare"), "{md}");
    assert!(md.contains("|---:|"), "{md}");
    let csv = read("compare.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "metric,label,variant,seeds,mean,ci95,seed_11,seed_12,seed_13,baseline,mean_diff,\
             diff_ci95,pairs,verdict"
        )
    );
    assert!(csv.contains("\nworkloads.load.latency_ms.p50,load p50 ms,rate=200,3,"));
    // The baseline has no paired columns; the other variant is paired on all three seeds
    // (twice the load on one server: a clearly worse p50).
    let p50 = |variant: &str| {
        csv.lines()
            .find(|l| {
                l.starts_with(&format!(
                    "workloads.load.latency_ms.p50,load p50 ms,{variant},"
                ))
            })
            .unwrap()
            .to_string()
    };
    assert!(p50("rate=200").ends_with(",,,,,"), "{csv}");
    assert!(p50("rate=400").contains(",rate=200,"), "{csv}");
    assert!(p50("rate=400").ends_with(",3,worse"), "{csv}");
    // 6 metrics (p50, p99, failed %, throughput, messages per request, busiest utilization)
    // × 2 variants.
    assert_eq!(lines.count(), 12, "{csv}");
    assert!(
        md.contains("Paired against rate=200 (the baseline)"),
        "{md}"
    );
}

#[test]
fn shards_merge_into_exactly_the_unsharded_output() {
    // Goal: --shard I/N runs a slice and writes a partial result; merge of every shard, in
    // any order, prints the same bytes as the unsharded command (text, JSON and --out files),
    // paired verdicts against a --baseline that is not the first variant included: the parts
    // carry each run's values by seed and the baseline.
    let dir = setup("compare-shards");
    let args = [
        "compare",
        "server.toml",
        "--vary",
        "workload.load.rate=200,400,600",
        "--seeds",
        "3",
        "--baseline",
        "rate=400",
    ];
    for i in 1..=4 {
        let shard = format!("{i}/4");
        ok(&meshsim_in(
            &dir,
            &[&args[..], &["--shard", &shard, "--out", "parts"]].concat(),
        ));
    }
    let parts: Vec<String> = (1..=4)
        .rev()
        .map(|i| format!("parts/compare.part-{i}-of-4.json"))
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let whole_text = ok(&meshsim_in(&dir, &args));
    let whole_json = ok(&meshsim_in(&dir, &[&args[..], &["--json"]].concat()));
    let merged_text = ok(&meshsim_in(&dir, &[&["merge"][..], &parts].concat()));
    let merged_json = ok(&meshsim_in(
        &dir,
        &[&["merge"][..], &parts, &["--json", "--out", "merged"]].concat(),
    ));
    assert_eq!(merged_text, whole_text);
    assert_eq!(merged_json, whole_json);
    assert!(
        whole_text.starts_with("Against rate=400 (baseline)"),
        "{whole_text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("merged/compare.json")).unwrap(),
        whole_json
    );

    // merge --baseline pairs against another variant without rerunning: the bytes of the
    // unsharded command with that baseline; a label no variant has is refused (exit 2,
    // nothing written).
    let mut other = args.to_vec();
    *other.last_mut().unwrap() = "rate=600";
    let whole_other = ok(&meshsim_in(&dir, &other));
    let merged_other = ok(&meshsim_in(
        &dir,
        &[&["merge"][..], &parts, &["--baseline", "rate=600"]].concat(),
    ));
    assert_eq!(merged_other, whole_other);
    assert!(merged_other.starts_with("Against rate=600 (baseline)"));
    let out = meshsim_in(
        &dir,
        &[
            &["merge"][..],
            &parts,
            &["--baseline", "rate=6000", "--out", "typo"],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did you mean \"rate=600\"?"), "{stderr}");
    assert!(!dir.join("typo").exists());

    // A missing shard is refused with exit 2.
    let out = meshsim_in(&dir, &[&["merge"][..], &parts[..3]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing shard 1/4"), "{stderr}");
}

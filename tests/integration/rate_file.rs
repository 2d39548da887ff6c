//! `rate_file` through the CLI: the CSV is found next to the scenario (not in the working
//! directory), by `run` and by the many-run engine (`compare`), and means what the same
//! points written inline mean.

use std::path::Path;

use crate::support::{meshsim_in, scratch_dir};

/// A 3 s scenario with `load` as the workload's rate keys.
fn scenario(load: &str) -> String {
    format!(
        r#"[scenario]
name = "replayed"
duration = "3s"
drain = "1s"
[workload.w]
endpoint = "api/get"
{load}
[service.api]
workers = 2
[service.api.endpoint.get]
work = "exp(2ms)"
"#
    )
}

/// `inline/s.toml` with the points written inline, `file/s.toml` with them in
/// `file/traffic.csv`, under a fresh directory.
fn setup(name: &str) -> std::path::PathBuf {
    let dir = scratch_dir(name);
    for sub in ["inline", "file"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let inline = r#"rate = [["0s", 200], ["1s", 200], ["1s", 600], ["2.5s", 50]]"#;
    std::fs::write(dir.join("inline/s.toml"), scenario(inline)).unwrap();
    std::fs::write(
        dir.join("file/s.toml"),
        scenario(r#"rate_file = "traffic.csv""#),
    )
    .unwrap();
    let csv = "# synthetic\ntime_s,rate\n0,200\n1,200\n1,600\n2.5,50\n";
    std::fs::write(dir.join("file/traffic.csv"), csv).unwrap();
    dir
}

fn stdout_ok(dir: &Path, args: &[&str]) -> String {
    let out = meshsim_in(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn run_reads_the_csv_next_to_the_scenario_and_matches_inline_points() {
    // Goal: run from the parent directory, `file/s.toml` finds `file/traffic.csv`, and its
    // JSON report is byte-identical to the inline schedule's, for two seeds.
    let dir = setup("rate-file-run");
    for seed in ["1", "7"] {
        let inline = stdout_ok(&dir, &["run", "inline/s.toml", "--json", "--seed", seed]);
        let file = stdout_ok(&dir, &["run", "file/s.toml", "--json", "--seed", seed]);
        assert!(inline.contains("\"sent\""), "a report: {inline}");
        assert_eq!(inline, file, "seed {seed}");
    }
}

#[test]
fn compare_reads_the_csv_for_every_variant() {
    // Goal: the many-run engine parses each variant with the file's directory, so the
    // inline and CSV scenarios give equal metrics in every variant of a --vary grid.
    let dir = setup("rate-file-compare");
    let out = stdout_ok(
        &dir,
        &[
            "compare",
            "inline/s.toml",
            "file/s.toml",
            "--vary",
            "service.api.workers=1,2",
            "--seeds",
            "3",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let metrics = v["metrics"].as_object().expect("metrics");
    assert!(!metrics.is_empty());
    for (name, m) in metrics {
        let variants = m["variants"].as_object().expect("variants");
        let values: Vec<&serde_json::Value> = variants.values().collect();
        assert_eq!(values.len(), 4, "{name}: {variants:?}");
        assert_eq!(values[0], values[2], "{name}: workers=1, inline vs file");
        assert_eq!(values[1], values[3], "{name}: workers=2, inline vs file");
    }
}

#[test]
fn a_missing_csv_is_refused_with_its_resolved_path() {
    // Goal: a rate file that cannot be read is bad input (exit 2), located at the key and
    // naming the path it was looked for at (the scenario's directory).
    let dir = setup("rate-file-missing");
    std::fs::remove_file(dir.join("file/traffic.csv")).unwrap();
    for args in [
        &["run", "file/s.toml"][..],
        &["compare", "file/s.toml", "--seeds", "2"],
    ] {
        let out = meshsim_in(&dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(
                "file/s.toml:7:13: workload.w.rate_file: file/traffic.csv: cannot read the file"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn an_endless_rate_file_is_refused_at_its_cap() {
    // Goal: the rate file is read through the bounded reader: /dev/zero (an absolute path,
    // used as it is) is refused at 16 MiB with the cap, exit 2, not read forever.
    let dir = scratch_dir("rate-file-endless");
    std::fs::write(dir.join("s.toml"), scenario(r#"rate_file = "/dev/zero""#)).unwrap();
    let out = meshsim_in(&dir, &["run", "s.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let want = "s.toml:7:13: workload.w.rate_file: /dev/zero: more than 16777216 bytes; a rate \
                file may have at most 16777216 bytes (16 MiB)";
    assert!(stderr.contains(want), "{stderr}");
}

#[test]
fn merge_refuses_shards_run_against_a_changed_rate_file() {
    // Goal: the plan's fingerprint covers the rate files its scenarios read, so shards run
    // before and after the CSV changed are refused by merge instead of combined; shards of
    // the same CSV merge.
    let dir = setup("rate-file-merge");
    let shard = |n: &str| {
        let args = [
            "compare",
            "file/s.toml",
            "--seeds",
            "2",
            "--shard",
            n,
            "--out",
            ".",
        ];
        stdout_ok(&dir, &args);
    };
    let parts = ["compare.part-1-of-2.json", "compare.part-2-of-2.json"];
    shard("1/2");
    shard("2/2");
    let merged = meshsim_in(&dir, &["merge", parts[0], parts[1]]);
    assert_eq!(merged.status.code(), Some(0), "{merged:?}");
    std::fs::write(dir.join("file/traffic.csv"), "0,300\n").unwrap();
    shard("2/2");
    let out = meshsim_in(&dir, &["merge", parts[0], parts[1]]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("plan.sources_fnv: the scenario files changed"),
        "{stderr}"
    );
}

//! `meshsim merge` on damaged partial results: each case observed on hand-edited partials
//! (shard index 0 or above the count, count 0, an empty seed list, a deleted metric, values
//! that sum to infinity, duplicate labels) exits 2 with one line naming the file and the
//! field, and nothing on stdout.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{meshsim_in, scratch_dir};

const SERVER: &str = r#"
[scenario]
name = "server"
seed = 5
duration = "1s"
drain = "1s"
[workload.load]
endpoint = "server/serve"
rate = 100
[service.server.endpoint.serve]
work = "exp(2ms)"
"#;

/// A directory with the two partials of a 2-variant × 3-seed compare split in 2.
fn partials(name: &str) -> PathBuf {
    let dir = scratch_dir(name);
    std::fs::write(dir.join("server.toml"), SERVER).unwrap();
    for shard in ["1/2", "2/2"] {
        let out = meshsim_in(
            &dir,
            &[
                "compare",
                "server.toml",
                "--vary",
                "workload.load.rate=50,100",
                "--seeds",
                "3",
                "--shard",
                shard,
                "--out",
                ".",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    dir
}

/// A hand edit of a partial's JSON.
type Edit = Box<dyn FnOnce(&mut Value)>;

const FIRST: &str = "compare.part-1-of-2.json";
const SECOND: &str = "compare.part-2-of-2.json";

/// Edits the first partial with `edit`, merges both and returns (exit code, stderr).
fn merge_edited(dir: &Path, edit: impl FnOnce(&mut Value)) -> (Option<i32>, String) {
    let path = dir.join(FIRST);
    let mut part: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut part);
    std::fs::write(
        dir.join("edited.json"),
        serde_json::to_string(&part).unwrap(),
    )
    .unwrap();
    let out = meshsim_in(dir, &["merge", "edited.json", SECOND]);
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), stderr)
}

#[test]
fn the_undamaged_partials_merge() {
    // Goal: the baseline of the cases below: the same two files, unedited, merge (exit 0).
    let dir = partials("merge-undamaged");
    let out = meshsim_in(&dir, &["merge", FIRST, SECOND]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn each_observed_damage_is_refused_naming_the_file_and_the_field() {
    // Goal: every hand edit that used to panic merge or print a wrong figure exits 2 with a
    // line `edited.json: FIELD: …` (short, whatever the damage).
    let dir = partials("merge-damaged");
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "shard index 0",
            Box::new(|p| p["shard"]["index"] = json!(0)),
            "shard.index: expected an integer from 1 to 2",
        ),
        (
            "index above count",
            Box::new(|p| p["shard"]["index"] = json!(3)),
            "shard.index: expected an integer from 1 to 2",
        ),
        (
            "count 0",
            Box::new(|p| p["shard"]["count"] = json!(0)),
            "shard.count: expected an integer from 1 to 4294967295",
        ),
        (
            "count 2^32-1",
            Box::new(|p| p["shard"]["count"] = json!(4_294_967_295u64)),
            "jobs: 3 runs, but shard 1/4294967295 of this plan has 1",
        ),
        (
            "count 10^7",
            Box::new(|p| p["shard"]["count"] = json!(10_000_000)),
            "jobs: 3 runs, but shard 1/10000000",
        ),
        (
            "empty seed list",
            Box::new(|p| p["plan"]["seeds"] = json!([])),
            "plan.seeds: 0 seeds",
        ),
        (
            "a metric deleted",
            Box::new(|p| {
                let m = p["jobs"][1]["metrics"].as_object_mut().unwrap();
                let key = m.keys().next().unwrap().clone();
                m.shift_remove(&key);
            }),
            "content_fnv: the shard, plan and jobs do not match",
        ),
        (
            "values that sum to inf",
            Box::new(|p| {
                for job in p["jobs"].as_array_mut().unwrap() {
                    job["metrics"]["workloads.load.latency_ms.p50"] = json!(1e308);
                }
            }),
            "jobs[0].metrics.\"workloads.load.latency_ms.p50\": expected a number of magnitude at most 2^64, found 1e+308",
        ),
        (
            "duplicate labels",
            Box::new(|p| {
                let label = p["plan"]["variants"][0]["label"].clone();
                p["plan"]["variants"][1]["label"] = label;
            }),
            "plan.variants[1].label: \"rate=50\" is the label of an earlier variant",
        ),
        (
            "a seed not a number",
            Box::new(|p| p["plan"]["seeds"][1] = json!("12")),
            "plan.seeds[1]: expected an integer",
        ),
        (
            "a field deleted",
            Box::new(|p| {
                p["plan"].as_object_mut().unwrap().shift_remove("command");
            }),
            "plan.command: missing",
        ),
    ];
    for (what, edit, says) in cases {
        let (code, stderr) = merge_edited(&dir, edit);
        assert_eq!(code, Some(2), "{what}: {stderr}");
        assert!(stderr.starts_with("edited.json: "), "{what}: {stderr}");
        assert!(stderr.contains(says), "{what}: {stderr}");
        assert!(
            stderr.len() < 300 && stderr.lines().count() == 1,
            "{what}: {stderr}"
        );
    }
}

#[test]
fn a_truncated_partial_is_refused_with_its_line_and_column() {
    // Goal: a partial cut short (a full disk, a killed job) is not JSON: exit 2 naming the
    // file and where the text stops.
    let dir = partials("merge-truncated");
    let text = std::fs::read_to_string(dir.join(FIRST)).unwrap();
    std::fs::write(dir.join("cut.json"), &text[..text.len() / 2]).unwrap();
    let out = meshsim_in(&dir, &["merge", "cut.json", SECOND]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("cut.json: not a partial result"),
        "{stderr}"
    );
    assert!(
        stderr.contains(" line ") && stderr.contains(" column "),
        "{stderr}"
    );
}

#[test]
fn merge_help_mentions_no_shard_flag() {
    // Goal: merge --help describes merge's own flags: it has no --shard, so its --out text
    // does not offer one.
    let out = meshsim_in(Path::new("."), &["merge", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(help.contains("--out <DIR>"), "{help}");
    assert!(!help.contains("With --shard"), "{help}");
}

//! The cluster recipes in `deploy/` against the README and the docs: the Slurm job script and
//! the Kubernetes Indexed Job run the same `meshsim compare` command, the one the README and
//! docs/cli.md quote, and that command works. (The script itself runs on a real Slurm in
//! `.ci/slurm`, which `.ci/run` calls: too slow and too privileged for `cargo test`.)

use std::fs;

use crate::support::{meshsim_in, root, scratch_dir};

/// Slurm's shard argument, and the Indexed Job's with its count of completions.
const SLURM_SHARD: &str = "--shard \"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\"";

fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The one `meshsim compare` line of the Slurm job script.
fn slurm_command() -> String {
    let script = read("deploy/slurm/compare.sbatch");
    let lines: Vec<&str> = script
        .lines()
        .filter(|l| l.starts_with("meshsim compare "))
        .collect();
    assert_eq!(lines.len(), 1, "one compare command in the script");
    assert!(lines[0].contains(SLURM_SHARD), "{}", lines[0]);
    lines[0].to_string()
}

#[test]
fn the_readme_the_docs_and_both_manifests_run_the_same_command() {
    // Goal: the README and docs/cli.md quote the job script's command verbatim, with the
    // submission the README shows; the Indexed Job runs that command with the shard taken
    // from its completion index over as many shards as it has completions.
    let command = slurm_command();
    let readme = read("README.md");
    let cli = read("docs/cli.md");
    for (name, text) in [("README.md", &readme), ("docs/cli.md", &cli)] {
        assert!(
            text.lines().any(|l| l == command),
            "{name} does not quote the job script's command:\n{command}"
        );
        assert!(
            text.contains("sbatch --array=1-10 --wait deploy/slurm/compare.sbatch"),
            "{name}: the submission"
        );
        assert!(text.contains("deploy/k8s/compare-job.yaml"), "{name}");
    }
    let job = read("deploy/k8s/compare-job.yaml");
    assert!(job.contains("kind: Job") && job.contains("completionMode: Indexed"));
    let completions: u32 = job
        .lines()
        .find_map(|l| l.trim().strip_prefix("completions: "))
        .expect("completions")
        .parse()
        .expect("a number of completions");
    let k8s_shard = format!("--shard \"$((JOB_COMPLETION_INDEX + 1))/{completions}\"");
    let k8s_command = command.replace(SLURM_SHARD, &k8s_shard);
    assert!(
        job.lines().any(|l| l.trim() == format!("- {k8s_command}")),
        "the Indexed Job does not run the script's command:\n{k8s_command}"
    );
    assert!(
        readme.contains(&format!("`{k8s_shard}`")),
        "the README's Kubernetes shard argument"
    );
}

#[test]
fn the_job_scripts_command_runs() {
    // Goal: the command, with Slurm's variables as the first task of an array of 4 would
    // set them, runs from a directory holding scenarios/ and writes its part: a quarter of
    // the runs (that the parts merge into the unsharded output is checked in compare.rs,
    // and on a real Slurm in .ci/slurm).
    let dir = scratch_dir("deploy-command");
    let scenarios = dir.join("scenarios");
    fs::create_dir_all(&scenarios).unwrap();
    for entry in fs::read_dir(root().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            fs::copy(&path, scenarios.join(path.file_name().unwrap())).unwrap();
        }
    }
    let command = slurm_command();
    let args: Vec<&str> = command
        .split_whitespace()
        .skip(1)
        .map(|w| {
            if w.contains("$SLURM_ARRAY_TASK_ID") {
                "1/4"
            } else {
                w
            }
        })
        .collect();
    let out = meshsim_in(&dir, &args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let part = fs::read_to_string(dir.join("parts/compare.part-1-of-4.json")).expect("the part");
    let part: serde_json::Value = serde_json::from_str(&part).expect("JSON");
    let files = args.iter().filter(|w| w.ends_with(".toml")).count();
    let seeds: usize = args[args.iter().position(|w| *w == "--seeds").unwrap() + 1]
        .parse()
        .unwrap();
    let jobs = part["jobs"].as_array().expect("jobs").len();
    assert_eq!(jobs, (files * seeds).div_ceil(4), "a quarter of the runs");
}

//! The instruction-count guard of CI (`benches/guard.sh`, issue 14 goal 5): its verdicts,
//! its update path and its baselines file. The script runs here as CI runs it, but on the
//! test-profile binary (`--meshsim`) and with two stand-ins first on PATH: a `valgrind` that
//! runs the command for real and reports the instruction count the test chose (so every
//! ratio is known exactly), and a `rustc` that reports the toolchain the test chose.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::{meshsim, root, scratch_dir};

/// Runs the command after valgrind's options as valgrind would, then writes the callgrind
/// file with `summary: $FAKE_IR`, the one line the guard reads.
const FAKE_VALGRIND: &str = r#"#!/bin/sh
out=
while [ $# -gt 0 ]; do
    case $1 in
        --callgrind-out-file=*) out=${1#*=}; shift ;;
        --*) shift ;;
        *) break ;;
    esac
done
"$@" || exit $?
printf 'events: Ir\nsummary: %s\n' "$FAKE_IR" > "$out"
"#;

/// `rustc -vV` of the toolchain named by $FAKE_RUSTC.
const FAKE_RUSTC: &str = r#"#!/bin/sh
printf 'rustc %s\nbinary: rustc\nhost: test-host\n' "$FAKE_RUSTC"
"#;

/// Two short runs, not measured yet: M/M/1 and checkout-sync.
const UNMEASURED: &str = "\
# kept by --update

[mm1]
file = \"scenarios/mm1.toml\"
seed = 1
duration = \"30s\"   # past the lesson's 20 s warm-up

[checkout-sync]
file = \"scenarios/checkout-sync.toml\"
seed = 3
duration = \"8s\"
";

/// A scratch directory holding the stand-ins (bin/) and a baselines file.
struct Guard {
    dir: PathBuf,
}

impl Guard {
    fn new(name: &str, baselines: &str) -> Guard {
        let dir = scratch_dir(&format!("guard-{name}"));
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for (tool, text) in [("valgrind", FAKE_VALGRIND), ("rustc", FAKE_RUSTC)] {
            let path = bin.join(tool);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(dir.join("baselines.toml"), baselines).unwrap();
        Guard { dir }
    }

    fn baselines(&self) -> PathBuf {
        self.dir.join("baselines.toml")
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.baselines()).unwrap()
    }

    /// Replaces `from` by `to` in the baselines file (which must contain it).
    fn edit(&self, from: &str, to: &str) {
        let text = self.text();
        assert!(text.contains(from), "no {from:?} in:\n{text}");
        std::fs::write(self.baselines(), text.replacen(from, to, 1)).unwrap();
    }

    /// Runs the guard with `args` on `self`'s baselines, the stand-ins reporting `ir`
    /// instructions for every run and the toolchain `rustc`.
    fn run(&self, ir: u64, rustc: &str, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let baselines = self.baselines();
        Command::new(root().join("benches/guard.sh"))
            .args(["--baselines", baselines.to_str().unwrap()])
            .args(["--meshsim", env!("CARGO_BIN_EXE_meshsim")])
            .args(args)
            .env("PATH", path)
            .env("FAKE_IR", ir.to_string())
            .env("FAKE_RUSTC", rustc)
            .env("TMPDIR", &self.dir)
            .env_remove("RUSTC")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .expect("bash runs benches/guard.sh")
    }

    /// Runs the guard as `run` does, asserts its exit code, and returns stdout then stderr.
    fn exits(&self, code: i32, ir: u64, rustc: &str, args: &[&str]) -> String {
        let out = self.run(ir, rustc, args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{text}");
        text
    }

    /// `UNMEASURED`, measured by `--update` at `ir` instructions with rustc 1.0.0.
    fn measured(name: &str, ir: u64) -> Guard {
        let guard = Guard::new(name, UNMEASURED);
        guard.exits(0, ir, "1.0.0", &["--update"]);
        guard
    }
}

/// The `events` of `meshsim run FILE --json --seed SEED --set scenario.duration=D`.
fn events_of(file: &str, seed: &str, duration: &str) -> u64 {
    let set = format!("scenario.duration={duration}");
    let out = meshsim(&[
        "run",
        file,
        "--json",
        "--seed",
        seed,
        "--no-expect",
        "--set",
        &set,
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    json["events"].as_u64().expect("events")
}

#[test]
fn update_records_each_runs_events_instructions_and_toolchain_and_keeps_the_rest() {
    // Goal: `--update` fills in what each run counted — the events the report gives for that
    // seed and duration (checked against meshsim itself), the instruction count, the rustc
    // and host — and leaves the comments, files, seeds and durations as they were; before
    // it, a scenario without a baseline fails, after it the same counts pass.
    let guard = Guard::new("update", UNMEASURED);
    let before = guard.exits(1, 1_000_000, "1.0.0", &[]);
    assert!(
        before.contains("mm1: 1000000 instructions, no baseline yet"),
        "{before}"
    );

    let updated = guard.exits(0, 1_000_000, "1.0.0", &["--update"]);
    let text = guard.text();
    let mm1 = events_of("scenarios/mm1.toml", "1", "30s");
    let checkout = events_of("scenarios/checkout-sync.toml", "3", "8s");
    assert_ne!(mm1, checkout);
    for (section, events) in [("[mm1]", mm1), ("[checkout-sync]", checkout)] {
        let block = &text[text.find(section).unwrap()..];
        let block = &block[..block[1..].find("\n[").map_or(block.len(), |i| i + 1)];
        for line in [
            format!("events = {events}"),
            "instructions = 1000000".to_string(),
            "rustc = \"rustc 1.0.0\"".to_string(),
            "host = \"test-host\"".to_string(),
        ] {
            assert!(block.contains(&line), "no {line:?} in {section}:\n{text}");
        }
    }
    assert!(text.starts_with("# kept by --update\n\n[mm1]\n"), "{text}");
    assert!(text.contains("duration = \"30s\"   # past the lesson's 20 s warm-up\n"));
    assert!(text.contains("seed = 3\n"));
    let new = format!("mm1 (30s): 1000000 instructions, {mm1} events (new)");
    assert!(updated.contains(&new), "{updated}");

    let after = guard.exits(0, 1_000_000, "1.0.0", &[]);
    assert!(after.contains("passed (0 skipped, 0 notes)"), "{after}");
}

#[test]
fn more_than_five_percent_over_fails_naming_scenario_baseline_measured_and_ratio() {
    // Goal: the tolerance is 5% over the baseline: 4% passes, 6% fails with exit 1 and a
    // message that names the scenario, the baseline, the measured count and their ratio.
    let guard = Guard::measured("over", 1_000_000);
    let within = guard.exits(0, 1_040_000, "1.0.0", &[]);
    assert!(within.contains("1.0400  ok"), "{within}");

    let text = guard.exits(1, 1_060_000, "1.0.0", &[]);
    for name in ["mm1", "checkout-sync"] {
        assert!(
            text.contains(&format!("FAILED: {name}: 1060000 instructions")),
            "{text}"
        );
    }
    assert!(text.contains("baseline 1000000"), "{text}");
    assert!(
        text.contains("ratio 1.0600: more than 5% over the baseline"),
        "{text}"
    );
}

#[test]
fn only_the_scenario_over_its_baseline_fails() {
    // Goal: each scenario is judged against its own baseline: with one baseline lowered so
    // that the same count is 10% over it, only that scenario is named as failing.
    let guard = Guard::measured("one-over", 1_100_000);
    guard.edit("instructions = 1100000", "instructions = 1000000");
    let text = guard.exits(1, 1_100_000, "1.0.0", &[]);
    assert!(text.contains("FAILED: mm1: 1100000 instructions"), "{text}");
    assert!(!text.contains("FAILED: checkout-sync"), "{text}");
}

#[test]
fn far_under_passes_with_a_note_asking_for_a_deliberate_update() {
    // Goal: a run more than 5% cheaper than its baseline passes (exit 0) but says so and
    // asks for the baseline to be updated on purpose, so later regressions are measured
    // from the new level.
    let guard = Guard::measured("under", 1_000_000);
    let text = guard.exits(0, 900_000, "1.0.0", &[]);
    assert!(
        text.contains("note: mm1: 900000 instructions")
            && text.contains("ratio 0.9000: more than 5% under the baseline")
            && text.contains("benches/guard.sh --update"),
        "{text}"
    );
    assert!(text.contains("passed (0 skipped, 2 notes)"), "{text}");
}

#[test]
fn another_toolchain_is_not_compared_and_fails_only_when_strict() {
    // Goal: counts of another compiler are not compared (they differ by the compiler alone):
    // even twice the instructions pass with a message naming both toolchains, and with
    // --strict-toolchain the same run exits 2.
    let guard = Guard::measured("toolchain", 1_000_000);
    let text = guard.exits(0, 2_000_000, "2.0.0", &[]);
    assert!(
        text.contains("skipped: mm1: baseline measured with rustc 1.0.0 on test-host, this is rustc 2.0.0 on test-host"),
        "{text}"
    );
    assert!(text.contains("passed (2 skipped, 0 notes)"), "{text}");

    guard.exits(2, 2_000_000, "2.0.0", &["--strict-toolchain"]);
}

#[test]
fn a_second_update_prints_old_to_new_and_changes_only_the_named_sections_counts() {
    // Goal: an update prints the figures for the commit message (old -> new and the ratio)
    // and rewrites only the counts of the scenarios named, nothing else of the file.
    let guard = Guard::measured("reupdate", 1_000_000);
    let before = guard.text();
    let text = guard.exits(0, 1_100_000, "1.1.0", &["--update", "checkout-sync"]);
    assert!(
        text.contains("checkout-sync (8s): 1000000 -> 1100000 instructions (1.1000)"),
        "{text}"
    );
    assert!(text.contains("(was measured with rustc 1.0.0)"), "{text}");
    assert!(!text.contains("mm1 (30s):"), "{text}");
    let (head, tail) = before.split_at(before.find("[checkout-sync]").unwrap());
    let want = format!(
        "{head}{}",
        tail.replace("instructions = 1000000", "instructions = 1100000")
            .replace("rustc 1.0.0", "rustc 1.1.0")
    );
    assert_eq!(guard.text(), want);
}

#[test]
fn a_run_with_other_events_than_its_baseline_is_compared_per_event_and_named() {
    // Goal: the comparison is per simulated event, and a run that no longer simulates the
    // baseline's events says so: with the baseline's events doubled and the same total
    // count, the run costs twice as much per event and fails.
    let guard = Guard::measured("events", 1_000_000);
    let mm1 = events_of("scenarios/mm1.toml", "1", "30s");
    guard.edit(&format!("events = {mm1}"), &format!("events = {}", 2 * mm1));
    let text = guard.exits(1, 1_000_000, "1.0.0", &[]);
    assert!(text.contains("ratio 2.0000"), "{text}");
    assert!(
        text.contains(&format!(
            "mm1: {mm1} events, the baseline's run had {}",
            2 * mm1
        )),
        "{text}"
    );
}

#[test]
fn an_invalid_baselines_file_is_refused_with_every_problem_located() {
    // Goal: a broken baselines file stops the guard before anything runs (exit 2) with every
    // problem at once, each at its line, with what is allowed.
    let guard = Guard::new(
        "invalid",
        "seed = 1\n[mm1]\nfile = \"scenarios/mm1.toml\"\nsed = 1\nduration = 30s\n[mm1]\n",
    );
    let text = guard.exits(2, 1, "1.0.0", &[]);
    let file = guard.baselines().display().to_string();
    for want in [
        format!("{file}:1: seed outside a [NAME] section"),
        format!("{file}:4: unknown key sed in [mm1], did you mean seed?"),
        format!("{file}:5: duration must be a string"),
        format!("{file}:2: [mm1] has no seed (required: file, seed, duration)"),
        format!("{file}:6: [mm1] again (first at line 2)"),
    ] {
        assert!(text.contains(&want), "no {want:?} in:\n{text}");
    }
    assert!(!text.contains("instructions under callgrind"), "{text}");

    let guard = Guard::new("unknown-name", UNMEASURED);
    let text = guard.exits(2, 1, "1.0.0", &["mm2"]);
    assert!(text.contains("no scenario mm2 in"), "{text}");
}

/// The `file = "…"` of every section of the committed baselines.
fn baseline_files(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("file = \""))
        .map(|l| l[..l.find('"').unwrap()].to_string())
        .collect()
}

#[test]
fn the_committed_baselines_cover_the_four_kinds_and_are_the_runs_of_today() {
    // Goal (issue 14, goal 5): the committed file guards M/M/1, checkout-sync, a messaging
    // lesson and a flow lesson; every section has been measured; and each run, at its seed
    // and duration, still simulates exactly the events of its baseline (the guard's events
    // note would say otherwise) — so the counts are of the runs the file names.
    let committed = root().join("benches/baselines.toml");
    let text = std::fs::read_to_string(&committed).unwrap();
    let files = baseline_files(&text);
    let read = |f: &String| std::fs::read_to_string(root().join(f)).unwrap();
    assert!(
        files
            .iter()
            .any(|f| read(f).contains("[workload.") && f.contains("mm1"))
    );
    assert!(files.iter().any(|f| f == "scenarios/checkout-sync.toml"));
    assert!(files.iter().any(|f| read(f).contains("\n[queue.")));
    assert!(files.iter().any(|f| read(f).contains("\n[flow.")));

    let guard = Guard::new("committed", &text);
    // Another toolchain: every comparison is skipped, so only the structure is judged here.
    let out_text = guard.exits(0, 1, "0.0.0-other", &[]);
    assert_eq!(
        out_text.matches("  skipped\n").count(),
        files.len(),
        "{out_text}"
    );
    assert!(!out_text.contains("no baseline"), "{out_text}");
    assert!(
        !out_text.contains("events, the baseline's run had"),
        "{out_text}"
    );
}

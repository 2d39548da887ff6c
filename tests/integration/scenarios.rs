//! Every scenario in `scenarios/` is valid, runs, and its `[[expect]]` lessons hold.

use crate::support::{meshsim, scenario_files};

#[test]
fn every_scenario_runs_and_its_expectations_pass() {
    // Goal: the scenario library is executable documentation; a lesson that no longer holds
    // fails the build. `meshsim run` exits 1 when an expectation fails.
    let files = scenario_files();
    assert!(files.len() >= 3, "scenarios/ has the lessons");
    for file in files {
        let path = file.to_string_lossy().to_string();
        let out = meshsim(&["run", &path]);
        assert!(
            out.status.success(),
            "{path} exited {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with("seed="),
            "{path}: the report leads with the seed"
        );
    }
}

#[test]
fn every_scenario_teaches_with_comments_and_expectations() {
    // Goal: each lesson file explains itself to a learner and checks its lesson.
    for file in scenario_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let comments = text
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count();
        assert!(
            comments >= 10,
            "{}: only {comments} comment lines",
            file.display()
        );
        assert!(
            text.contains("[[expect]]"),
            "{}: no [[expect]]",
            file.display()
        );
    }
}

#[test]
fn the_lessons_rate_files_say_they_are_synthetic() {
    // Goal: a CSV shipped with the lessons is data, not a scenario (only *.toml files are
    // run as lessons), says in its first line that it was synthesised, and is named by a
    // lesson's rate_file.
    let csvs = crate::support::files_in("scenarios", "csv");
    assert!(!csvs.is_empty(), "scenarios/replay-traffic.csv ships");
    let lessons: String = scenario_files()
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for csv in csvs {
        let text = std::fs::read_to_string(&csv).unwrap();
        let first = text.lines().next().unwrap_or("");
        assert!(first.contains("SYNTHETIC"), "{}: {first}", csv.display());
        let name = csv.file_name().unwrap().to_string_lossy();
        assert!(
            lessons.contains(&format!("rate_file = \"{name}\"")),
            "{name} is used by a lesson"
        );
    }
}

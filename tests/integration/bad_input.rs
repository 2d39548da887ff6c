//! Bad input through the command line: every broken scenario in `tests/bad/` exits 2 with a
//! located message on stderr and writes nothing; a file that is not text at all too.

use crate::support::{meshsim_in, root, scratch_dir};

/// `(file name, expected fragment, expected "LINE:COL")` for each broken scenario.
fn broken_scenarios() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root().join("tests/bad"))
        .expect("tests/bad exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines();
        let expect = lines
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .expect("# expect: line")
            .to_string();
        let at = lines
            .next()
            .and_then(|l| l.strip_prefix("# at: "))
            .expect("# at: line")
            .trim()
            .to_string();
        out.push((
            path.file_name().unwrap().to_string_lossy().to_string(),
            expect,
            at,
        ));
    }
    out
}

#[test]
fn every_broken_scenario_exits_2_located_and_writes_nothing() {
    // Goal: at least 15 kinds of mistakes (misspelt reference, unknown key, bad duration or
    // distribution, negative/NaN/huge numbers, missing key, cycles, truncated file, garbage)
    // each exit 2 from `run --out`, print FILE:LINE:COL and the expected explanation on
    // stderr, print nothing on stdout, and create no output directory.
    let cases = broken_scenarios();
    assert!(cases.len() >= 15, "only {} broken scenarios", cases.len());
    for (name, expect, at) in cases {
        let dir = scratch_dir(&format!("bad-{name}"));
        std::fs::copy(root().join("tests/bad").join(&name), dir.join(&name)).unwrap();
        let out = meshsim_in(&dir, &["run", &name, "--out", "report"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: stderr:\n{stderr}");
        assert!(
            stderr.contains(&format!("{name}:{at}:")),
            "{name}: no location {at} in:\n{stderr}"
        );
        assert!(
            stderr.contains(&expect),
            "{name}: expected {expect:?} in:\n{stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}: stdout not empty");
        assert!(!dir.join("report").exists(), "{name}: wrote output");
    }
}

#[test]
fn a_binary_file_exits_2_with_a_message() {
    // Goal: bytes that are not UTF-8 text (an image, a compiled file) never panic: exit 2,
    // a message naming the file, nothing written.
    let dir = scratch_dir("bad-binary");
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("garbage.toml"), garbage).unwrap();
    let out = meshsim_in(&dir, &["run", "garbage.toml", "--out", "report"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("garbage.toml"), "{stderr}");
    assert!(!dir.join("report").exists());
}

#[test]
fn missing_file_and_bad_arguments_exit_2() {
    // Goal: the other ways to start wrong are also exit 2 with a message on stderr.
    let dir = scratch_dir("bad-args");
    for args in [
        vec!["run", "nope.toml"],
        vec!["run"],
        vec!["frobnicate"],
        vec!["run", "nope.toml", "--seed", "minus-one"],
    ] {
        let out = meshsim_in(&dir, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
        assert!(out.stdout.is_empty(), "{args:?}: stdout not empty");
    }
}

#[test]
fn a_bad_set_override_exits_2() {
    // Goal: a --set that breaks the scenario is a located error too (exit 2, nothing out).
    let out = crate::support::meshsim(&[
        "run",
        "scenarios/mm1.toml",
        "--set",
        "workload.load.rate=-5",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("rate"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn every_problem_of_a_file_is_reported_in_one_run() {
    // Goal: a file with four problems (two unknown keys, a bad value, an unknown endpoint)
    // gets all four in one `check`, each located (it took three runs when serde stopped at
    // the first unknown key).
    let dir = scratch_dir("bad-all-at-once");
    let text = "[scenario]\nname = \"four\"\nduraton = \"1s\"\nduration = \"1s\"\n\n\
                [workload.w]\nendpoint = \"a/bb\"\nrate = -5\n\n\
                [service.a]\nworkrs = 2\n\n[service.a.endpoint.b]\nwork = \"1ms\"\n";
    std::fs::write(dir.join("four.toml"), text).unwrap();
    let out = meshsim_in(&dir, &["check", "four.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for fragment in [
        "four.toml:3:1: unknown key \"duraton\"",
        "four.toml:7:12: unknown endpoint \"a/bb\"",
        "four.toml:8:8: workload.w.rate = -5 is out of range",
        "four.toml:11:1: unknown key \"workrs\"",
        "error: 4 problems in four.toml",
    ] {
        assert!(stderr.contains(fragment), "{fragment}: {stderr}");
    }
}

//! The command line: what goes where, and the exit codes of CONTRACT.md.

use crate::support::{meshsim, meshsim_in, root, scratch_dir};

#[test]
fn run_prints_the_text_report_with_the_seed_first() {
    // Goal: `run` prints the human report on stdout, leading with the seed, nothing on stderr
    // when stderr is not a terminal, and exits 0 when the expectations hold.
    let out = meshsim(&["run", "scenarios/mm1.toml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("seed=1"), "{text}");
    assert!(text.contains("load"), "{text}");
}

#[test]
fn seed_flag_overrides_the_scenario_seed() {
    // Goal: --seed N is what the report says and what the run used.
    let out = meshsim(&["run", "scenarios/mm1.toml", "--seed", "99", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["seed"], 99);
}

#[test]
fn json_report_has_every_section_of_the_contract() {
    // Goal: the JSON report carries every top-level section and the workload fields users
    // script against, with integers as integers.
    let out = meshsim(&["run", "scenarios/checkout-sync.toml", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for key in [
        "meshsim",
        "scenario",
        "seed",
        "sim_time_s",
        "events",
        "workloads",
        "endpoints",
        "services",
        "calls",
        "messages",
        "flows",
        "faults",
        "expect",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let w = &v["workloads"]["checkout"];
    for key in [
        "sent",
        "ok",
        "failed",
        "failed_by",
        "throughput_rps",
        "latency_ms",
    ] {
        assert!(w.get(key).is_some(), "workloads.checkout.{key} missing");
    }
    for cause in [
        "timeout",
        "rejected",
        "circuit_open",
        "unavailable",
        "error",
    ] {
        assert!(w["failed_by"][cause].is_u64(), "failed_by.{cause}");
    }
    for p in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(
            w["latency_ms"][p].is_f64() || w["latency_ms"][p].is_u64(),
            "latency_ms.{p}"
        );
    }
    let sent = w["sent"].as_u64().unwrap();
    let ok = w["ok"].as_u64().unwrap();
    let failed = w["failed"].as_u64().unwrap();
    assert!(sent > 10_000);
    assert_eq!(
        sent,
        ok + failed + w["in_flight"].as_u64().unwrap(),
        "conservation"
    );
    for key in ["arrivals", "rejected", "utilization", "mean_in_system"] {
        assert!(
            v["services"]["bank"].get(key).is_some(),
            "services.bank.{key}"
        );
    }
    for key in [
        "attempts",
        "retries",
        "timeouts",
        "circuit_open",
        "amplification",
    ] {
        assert!(v["calls"].get(key).is_some(), "calls.{key}");
    }
    assert!(
        v["endpoints"]["bank/authorize"]["arrivals"]
            .as_u64()
            .unwrap()
            > 10_000
    );
}

#[test]
fn out_dir_report_json_equals_the_json_flag() {
    // Goal: `--out DIR` writes report.json with exactly the bytes `--json` prints.
    let dir = scratch_dir("cli-out");
    let file = root().join("scenarios/mm1.toml");
    let file = file.to_string_lossy();
    let out = meshsim_in(&dir, &["run", &file, "--out", "report"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = meshsim_in(&dir, &["run", &file, "--json"]);
    let written = std::fs::read(dir.join("report/report.json")).expect("report.json written");
    assert_eq!(written, json.stdout);
}

#[test]
fn stdout_is_the_same_with_and_without_out_dir() {
    // Goal: `run` renders each output once — with `--out DIR`, stdout is the copy in the
    // files — and that changes no byte: `run` and `run --out` print the same text, equal to
    // report.txt; `run --json` and `run --json --out` the same JSON, equal to report.json.
    let dir = scratch_dir("cli-out-stdout");
    let file = root().join("scenarios/checkout-sync.toml");
    let file = file.to_string_lossy();
    let ok = |out: &std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout.clone()
    };
    let text = ok(&meshsim_in(&dir, &["run", &file, "--quiet"]));
    let text_out = ok(&meshsim_in(&dir, &["run", &file, "--quiet", "--out", "t"]));
    let json = ok(&meshsim_in(&dir, &["run", &file, "--quiet", "--json"]));
    let json_out = ok(&meshsim_in(
        &dir,
        &["run", &file, "--quiet", "--json", "--out", "j"],
    ));
    assert!(!text.is_empty());
    assert_eq!(text_out, text);
    assert_eq!(json_out, json);
    assert_ne!(text, json);
    for (sub, name, stdout) in [("t", "report.txt", &text), ("j", "report.json", &json)] {
        let written = std::fs::read(dir.join(sub).join(name)).expect("written");
        assert_eq!(&written, stdout, "{sub}/{name}");
    }
}

#[test]
fn check_validates_without_running() {
    // Goal: `check` says ok for a valid scenario (exit 0), and exits 2 for a broken one.
    let ok = meshsim(&["check", "scenarios/checkout-sync.toml"]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("ok"));
    let bad = meshsim(&["check", "tests/bad/01-unknown-service.toml"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn check_validates_expect_paths_against_the_report() {
    // Goal: a mistyped [[expect]] metric fails `check` (exit 2), located at the expectation
    // with a did-you-mean, instead of failing only after a whole run; every shipped scenario's
    // paths check out.
    let dir = scratch_dir("cli-check-paths");
    let text = std::fs::read_to_string(root().join("scenarios/mm1.toml")).unwrap()
        + "\n[[expect]]\nmetric = \"services.server.utilisation\"\nbelow = 0.5\n";
    let lines = text.lines().count();
    std::fs::write(dir.join("typo.toml"), &text).unwrap();
    let out = meshsim_in(&dir, &["check", "typo.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "typo.toml:{}:1: [[expect]] metric is not in the report",
            lines - 2
        )),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean \"utilization\"?"), "{stderr}");
    for file in crate::support::scenario_files() {
        let out = meshsim(&["check", file.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn graph_prints_dot_naming_every_service() {
    // Goal: `graph` prints a Graphviz digraph with every service of the scenario.
    let out = meshsim(&["graph", "scenarios/checkout-sync.toml"]);
    assert!(out.status.success());
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(dot.trim_start().starts_with("digraph"), "{dot}");
    for svc in ["gateway", "order", "payment", "bank"] {
        assert!(dot.contains(svc), "{svc} missing from\n{dot}");
    }
}

#[test]
fn a_failed_expectation_exits_1_and_says_which() {
    // Goal: a deliberately false [[expect]] makes `run` exit 1 and name it with its why.
    let dir = scratch_dir("cli-expect");
    let text = std::fs::read_to_string(root().join("scenarios/mm1.toml")).unwrap()
        + "\n[[expect]]\nmetric = \"services.server.utilization\"\nbelow = 0.5\nwhy = \"deliberately false\"\n";
    std::fs::write(dir.join("false.toml"), text).unwrap();
    let out = meshsim_in(&dir, &["run", "false.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("deliberately false"), "{all}");
    assert!(all.contains("services.server.utilization"), "{all}");
}

/// A long enough run (about 2 million events) for the progress callback to fire many times.
const LONG_RUN: [&str; 5] = [
    "run",
    "scenarios/mm1.toml",
    "--json",
    "--set",
    "scenario.duration=\"3000s\"",
];

#[test]
fn no_progress_output_when_stderr_is_not_a_terminal() {
    // Goal: with stdout and stderr piped (not terminals) a long run prints the report and
    // nothing else: stdout parses as one JSON document, stderr is empty.
    let out = meshsim(&LONG_RUN);
    assert!(matches!(out.status.code(), Some(0 | 1)));
    assert!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok(),
        "stdout is pure JSON"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("simulated time"),
        "progress on a non-terminal stderr: {stderr}"
    );
}

#[test]
fn progress_bar_on_a_terminal_unless_quiet() {
    // Goal: on a real terminal (a pseudo-terminal from util-linux `script`) the progress bar
    // is drawn, and `--quiet` silences it. Skipped where `script` is not installed.
    let Ok(script) = which_script() else { return };
    let command = |extra: &str| {
        let args: Vec<String> = LONG_RUN.iter().map(|a| format!("'{a}'")).collect();
        format!(
            "{} {} {extra}",
            env!("CARGO_BIN_EXE_meshsim"),
            args.join(" ")
        )
    };
    let on_tty = |cmd: String| {
        let out = std::process::Command::new(&script)
            .current_dir(root())
            .args(["-qec", &cmd, "/dev/null"])
            .output()
            .expect("script runs");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert!(
        on_tty(command("")).contains("% of simulated time"),
        "no bar on a terminal"
    );
    assert!(
        !on_tty(command("--quiet")).contains("simulated time"),
        "--quiet did not silence it"
    );
}

fn which_script() -> Result<std::path::PathBuf, ()> {
    ["/usr/bin/script", "/bin/script"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .ok_or(())
}

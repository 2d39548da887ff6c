//! What-if switches: `rate = 0`, `enabled = false` on a `[[fault]]`, `[chaos]` and an
//! `[[expect]]`, `run --no-expect`, and the note that a `--set` variant's failed
//! expectations belong to the unmodified lesson.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{meshsim_in, scratch_dir};

/// Two workloads into one server; a crash of the server for a second; chaos on it; and an
/// expectation that holds only while nothing fails.
const BASE: &str = r#"
[scenario]
name = "what-if"
seed = 5
duration = "4s"
warmup = "1s"

[network]
latency = "0ms"

[workload.shop]
endpoint = "server/serve"
rate = 300

[workload.admin]
endpoint = "server/serve"
rate = 20

[service.server]
replicas = 2
workers = 4

[service.server.endpoint.serve]
work = "exp(2ms)"
"#;

const FAULT: &str = r#"
[[fault]]
kind = "crash"
target = "server#0"
at = "2s"
for = "1s"
"#;

const CHAOS: &str = r#"
[chaos]
targets = ["server"]
mtbf = "1s"
mttr = "200ms"
"#;

const EXPECT: &str = r#"
[[expect]]
metric = "workloads.shop.failed"
equals = 0
why = "nothing fails while every replica is up"
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut argv = args.to_vec();
    argv.push("--json");
    let out = meshsim_in(dir, &argv);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn rate_zero_switches_a_workload_off_and_leaves_the_others_alone() {
    // Goal: `rate = 0` is allowed; that workload sends nothing (counters 0, latency null),
    // and since every workload draws from its own stream, the other workload's numbers are
    // exactly those of the file without the switched-off one.
    let dir = scratch_dir("what-if-rate");
    write(&dir, "base.toml", BASE);
    write(
        &dir,
        "alone.toml",
        &BASE.replace(
            "[workload.admin]\nendpoint = \"server/serve\"\nrate = 20\n",
            "",
        ),
    );
    let off = json(
        &dir,
        &["run", "base.toml", "--set", "workload.admin.rate=0"],
    );
    let admin = &off["workloads"]["admin"];
    assert_eq!(admin["sent"], 0);
    assert_eq!(admin["ok"], 0);
    assert_eq!(admin["throughput_rps"], 0.0);
    assert!(admin["latency_ms"]["p50"].is_null(), "{admin}");
    let alone = json(&dir, &["run", "alone.toml"]);
    assert_eq!(off["workloads"]["shop"], alone["workloads"]["shop"]);
    assert!(alone["workloads"]["shop"]["sent"].as_u64().unwrap() > 800);
}

#[test]
fn a_disabled_fault_or_chaos_is_the_file_without_it() {
    // Goal: `enabled = false` on a [[fault]] or on [chaos] gives exactly the report of the
    // file without that table; `compare --vary fault.0.enabled=true,false` is therefore the
    // with/without comparison, and only the variant with the fault fails requests.
    let dir = scratch_dir("what-if-fault");
    write(&dir, "base.toml", BASE);
    write(&dir, "fault.toml", &format!("{BASE}{FAULT}"));
    write(&dir, "chaos.toml", &format!("{BASE}{CHAOS}"));
    let without = json(&dir, &["run", "base.toml"]);
    for (file, set) in [
        ("fault.toml", "fault.0.enabled=false"),
        ("chaos.toml", "chaos.enabled=false"),
    ] {
        let off = json(&dir, &["run", file, "--set", set]);
        assert_eq!(off, without, "{file} with {set}");
        let on = json(&dir, &["run", file]);
        assert!(
            on["workloads"]["shop"]["failed"].as_u64().unwrap() > 0,
            "{file}: the fault bites"
        );
    }
    let c = json(
        &dir,
        &[
            "compare",
            "fault.toml",
            "--vary",
            "fault.0.enabled=true,false",
            "--seeds",
            "2",
        ],
    );
    let failed = &c["metrics"]["workloads.shop.failed_pct"]["variants"];
    assert!(
        failed["enabled=true"]["mean"].as_f64().unwrap() > 1.0,
        "{failed}"
    );
    assert_eq!(failed["enabled=false"]["mean"], 0.0, "{failed}");
}

#[test]
fn a_switch_that_is_not_a_boolean_is_refused_where_it_is() {
    // Goal: `enabled` is validated like any key: a non-boolean exits 2 with its location, and
    // a switched-off fault is still validated (a bad target is reported even when off).
    let dir = scratch_dir("what-if-bad");
    let bad = format!(
        "{BASE}{}",
        FAULT.replace("for = \"1s\"", "for = \"1s\"\nenabled = \"no\"")
    );
    write(&dir, "bad.toml", &bad);
    let out = meshsim_in(&dir, &["check", "bad.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml:31:11: fault[0].enabled = \"no\": expected true or false"),
        "{stderr}"
    );
    let off = format!(
        "{BASE}{}",
        FAULT
            .replace("server#0", "sever#0")
            .replace("for = \"1s\"", "for = \"1s\"\nenabled = false")
    );
    write(&dir, "off.toml", &off);
    let out = meshsim_in(&dir, &["check", "off.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sever"));
}

#[test]
fn expectations_can_be_switched_off_one_by_one_or_all_at_once() {
    // Goal: with a fault the lesson's expectation fails (exit 1); `enabled = false` on it or
    // `run --no-expect` leaves it out of the report and exits 0.
    let dir = scratch_dir("what-if-expect");
    write(&dir, "lesson.toml", &format!("{BASE}{FAULT}{EXPECT}"));
    let out = meshsim_in(&dir, &["run", "lesson.toml"]);
    assert_eq!(out.status.code(), Some(1));
    for args in [
        vec!["run", "lesson.toml", "--set", "expect.0.enabled=false"],
        vec!["run", "lesson.toml", "--no-expect"],
    ] {
        let out = meshsim_in(&dir, &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!stdout(&out).contains("Expectations"), "{args:?}");
        let mut argv = args.clone();
        argv.push("--json");
        let v: Value = serde_json::from_slice(&meshsim_in(&dir, &argv).stdout).unwrap();
        assert_eq!(v["expect"], Value::Array(vec![]), "{args:?}");
    }
}

#[test]
fn a_set_variant_that_breaks_the_lesson_says_the_lesson_is_the_unmodified_one() {
    // Goal: a failed expectation after `--set` still exits 1, and the text (and stderr) says
    // the expectations belong to the unmodified scenario and what --no-expect does; without
    // `--set` the note is absent, since then the lesson itself failed.
    let dir = scratch_dir("what-if-lesson");
    write(&dir, "lesson.toml", &format!("{BASE}{EXPECT}"));
    let out = meshsim_in(
        &dir,
        &[
            "run",
            "lesson.toml",
            "--set",
            "service.server.endpoint.serve.fail=0.5",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("Note: these expectations belong to the unmodified scenario; this run changed it (--set service.server.endpoint.serve.fail=0.5)"),
        "{text}"
    );
    assert!(
        text.contains("run --no-expect skips the expectations"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("belong to the unmodified scenario"));
    write(
        &dir,
        "broken.toml",
        &format!("{BASE}{EXPECT}")
            .replace("work = \"exp(2ms)\"", "work = \"exp(2ms)\"\nfail = 0.5"),
    );
    let out = meshsim_in(&dir, &["run", "broken.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stdout(&out).contains("unmodified"));
}

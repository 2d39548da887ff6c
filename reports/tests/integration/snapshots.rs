//! Whole-output snapshots of the hand-built run: text summary, JSON report and DOT topology.
//! A change to any printer shows up here as a readable diff of the whole output.
//!
//! To accept new output: `MESHSIM_UPDATE_SNAPSHOTS=1 cargo test -p reports`, then review the
//! diff of `reports/tests/snapshots/` before committing it.

use std::path::PathBuf;

use reports::{Report, to_dot, write_json_report, write_text};

use crate::support::{
    model, model_with_faults, model_with_flows, model_with_messaging, results, results_with_faults,
    results_with_flows, results_with_messaging,
};

fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("MESHSIM_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a);
        panic!(
            "snapshot {name} differs (first differing line: {line:?}); rerun with \
             MESHSIM_UPDATE_SNAPSHOTS=1 to accept.\n--- expected ---\n{expected}\n--- actual ---\n{actual}"
        );
    }
}

#[test]
fn text_report_snapshot() {
    // Goal: the whole text summary of a known run stays exactly as reviewed.
    let mut out = Vec::new();
    write_text(&mut out, &Report::build(&results(), &model())).unwrap();
    check("report.txt", &String::from_utf8(out).unwrap());
}

#[test]
fn json_report_snapshot() {
    // Goal: the whole JSON report of a known run stays byte-for-byte as reviewed.
    let mut out = Vec::new();
    write_json_report(&mut out, &Report::build(&results(), &model())).unwrap();
    check("report.json", &String::from_utf8(out).unwrap());
}

#[test]
fn text_report_with_faults_snapshot() {
    // Goal: the text summary of a run with faults, random crashes, a flapping breaker and
    // degraded requests (verdict, warning, Faults, Over time, Circuit breakers) stays exactly
    // as reviewed.
    let mut out = Vec::new();
    let report = Report::build(&results_with_faults(), &model_with_faults());
    write_text(&mut out, &report).unwrap();
    check("report-faults.txt", &String::from_utf8(out).unwrap());
}

#[test]
fn json_report_with_faults_snapshot() {
    // Goal: the JSON report of the same run (faults, breakers, timeline) stays byte-for-byte
    // as reviewed.
    let mut out = Vec::new();
    let report = Report::build(&results_with_faults(), &model_with_faults());
    write_json_report(&mut out, &report).unwrap();
    check("report-faults.json", &String::from_utf8(out).unwrap());
}

#[test]
fn dot_snapshot() {
    // Goal: the whole DOT topology of a known model stays exactly as reviewed.
    check("topology.dot", &to_dot(&model()));
}

#[test]
fn text_report_with_messaging_snapshot() {
    // Goal: the text summary of a run with a broker (the Messaging and Brokers sections, the
    // broker-down and duplicate fault lines) stays exactly as reviewed.
    let mut out = Vec::new();
    let report = Report::build(&results_with_messaging(), &model_with_messaging());
    write_text(&mut out, &report).unwrap();
    check("report-messaging.txt", &String::from_utf8(out).unwrap());
}

#[test]
fn json_report_with_messaging_snapshot() {
    // Goal: the JSON report of the same run (messages per broker, queue, topic and group;
    // depth in the timeline) stays byte-for-byte as reviewed.
    let mut out = Vec::new();
    let report = Report::build(&results_with_messaging(), &model_with_messaging());
    write_json_report(&mut out, &report).unwrap();
    check("report-messaging.json", &String::from_utf8(out).unwrap());
}

#[test]
fn dot_with_messaging_snapshot() {
    // Goal: the DOT topology of a model with a broker, queues, a topic and a call via the
    // broker stays exactly as reviewed.
    check("topology-messaging.dot", &to_dot(&model_with_messaging()));
}

#[test]
fn text_report_with_flows_snapshot() {
    // Goal: the text summary of a run with two flows (the verdict's headline for the
    // inconsistent one, the Consistency section right after the verdict) stays exactly as
    // reviewed.
    let mut out = Vec::new();
    let report = Report::build(&results_with_flows(), &model_with_flows());
    write_text(&mut out, &report).unwrap();
    check("report-flows.txt", &String::from_utf8(out).unwrap());
}

#[test]
fn json_report_with_flows_snapshot() {
    // Goal: the JSON report of the same run (flows.NAME with left_applied by step names)
    // stays byte-for-byte as reviewed.
    let mut out = Vec::new();
    let report = Report::build(&results_with_flows(), &model_with_flows());
    write_json_report(&mut out, &report).unwrap();
    check("report-flows.json", &String::from_utf8(out).unwrap());
}

#[test]
fn dot_with_flows_snapshot() {
    // Goal: the DOT topology of a model with two flows (their dashed paths after everything
    // else) stays exactly as reviewed.
    check("topology-flows.dot", &to_dot(&model_with_flows()));
}

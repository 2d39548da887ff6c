//! The text summary: leads with the seed and the answer, then aligned tables.

use reports::{Report, write_text};
use sim_core::model::Bound;

use crate::support::{expect, model, results};

fn text_of(report: &Report) -> String {
    let mut out = Vec::new();
    write_text(&mut out, report).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn first_line_starts_with_the_seed() {
    // Goal: a run can be replayed from the first line: seed first, then the scenario.
    let text = text_of(&Report::build(&results(), &model()));
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("seed=7 scenario=checkout-sync "),
        "{first}"
    );
}

#[test]
fn verdict_leads_with_the_answer() {
    // Goal: the paragraph after the first line gives success rate, latency, throughput,
    // the busiest service and the main failure cause.
    let text = text_of(&Report::build(&results(), &model()));
    let verdict: String = text.split("\n\n").nth(1).unwrap().replace('\n', " ");
    assert!(
        verdict.contains("checkout: 99.9% ok, p50 50.0 ms, p99 99.0 ms at 199.8 rps."),
        "{verdict}"
    );
    assert!(
        verdict.contains("browse: no requests sent after warmup."),
        "{verdict}"
    );
    assert!(
        verdict.contains("Busiest service: order at 81% utilization."),
        "{verdict}"
    );
    assert!(
        verdict.contains("Failures: 0.1%, mostly timeout."),
        "{verdict}"
    );
    assert!(verdict.contains("Expectations: all 3 passed."), "{verdict}");
}

#[test]
fn tables_and_expectations_are_printed() {
    // Goal: every section appears; services busiest first; a failed expectation says FAIL
    // with the value, the bound and why.
    let mut m = model();
    m.expects
        .push(expect("services.order.rejected", Bound::Above(0.0)));
    let text = text_of(&Report::build(&results(), &m));
    for title in [
        "Workloads",
        "Services (busiest first)",
        "Errors by cause",
        "Endpoints",
        "Calls",
        "Expectations",
    ] {
        assert!(
            text.contains(&format!("\n{title}\n")),
            "missing {title}:\n{text}"
        );
    }
    let order = text.find("  order ").unwrap();
    let gateway = text.find("  gateway ").unwrap();
    assert!(order < gateway, "busiest first:\n{text}");
    assert!(
        text.contains("FAIL  services.order.rejected = 0, want > 0 (because)"),
        "{text}"
    );
    assert!(
        text.contains("PASS  workloads.checkout.failed_by.timeout = 7, want < 10"),
        "{text}"
    );
    assert!(
        text.contains("1 of 4 FAILED (services.order.rejected)"),
        "{text}"
    );
}

#[test]
fn columns_are_aligned() {
    // Goal: in the workloads table every row is as wide as the header, so columns line up.
    let text = text_of(&Report::build(&results(), &model()));
    let table: Vec<&str> = text
        .split("\nWorkloads\n")
        .nth(1)
        .unwrap()
        .lines()
        .take(3)
        .collect();
    assert_eq!(table[0].len(), table[1].len(), "{table:?}");
    assert_eq!(table[0].len(), table[2].len(), "{table:?}");
}

#[test]
fn unmeasured_latency_prints_a_dash() {
    // Goal: a workload with no successful request shows "-" for its latencies, not 0.000,
    // which would read as "instant".
    let text = text_of(&Report::build(&results(), &model()));
    let browse = text
        .lines()
        .find(|l| l.trim_start().starts_with("browse "))
        .unwrap();
    let cells: Vec<&str> = browse.split_whitespace().collect();
    assert_eq!(cells, ["browse", "0", "0", "-", "0", "0", "-", "-", "0.0"]);
}

//! The text summary: leads with the seed and the answer, then aligned tables.

use reports::{Report, write_text};
use sim_core::model::Bound;

use crate::support::{expect, model, model_with_faults, results, results_with_faults};

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
fn abandoned_work_is_listed_only_where_there_is_some() {
    // Goal: work served for nobody (its caller gave up) gets its own table, with only the
    // endpoints that had some; a run without any prints no such table.
    let text = text_of(&Report::build(&results(), &model()));
    assert!(!text.contains("Abandoned work"), "{text}");
    let mut r = results();
    r.endpoints[1].abandoned = 1234;
    let text = text_of(&Report::build(&r, &model()));
    let section = text
        .split("\n\n")
        .find(|s| s.starts_with("Abandoned work"))
        .unwrap_or_else(|| panic!("no abandoned section:\n{text}"));
    assert!(section.contains("order/place"), "{section}");
    assert!(section.contains("1234"), "{section}");
    assert!(!section.contains("gateway/checkout"), "{section}");
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

fn faulty_text() -> String {
    text_of(&Report::build(&results_with_faults(), &model_with_faults()))
}

#[test]
fn verdict_names_the_faults_and_what_they_hit() {
    // Goal: the verdict says which faults ran, when, and what each hit, and shows degraded
    // next to ok.
    let text = faulty_text();
    let verdict: String = text.split("\n\n").nth(1).unwrap().replace('\n', " ");
    assert!(
        verdict.contains("checkout: 98.9% ok + 1.0% degraded, p50"),
        "{verdict}"
    );
    assert!(
        verdict.contains("Faults: crash of order at 20s for 10s (hit 1,234 requests); slow gateway ×10 from 40s to the end (slowed 5,678 requests);"),
        "{verdict}"
    );
    assert!(
        verdict.contains("random crashes of order (2 crashes, hit 17 requests)."),
        "{verdict}"
    );
}

#[test]
fn a_fault_that_hit_nothing_gives_a_warning_line() {
    // Goal: every fault with affected = 0 gets its own warning line, and only those do.
    let text = faulty_text();
    let warnings: Vec<&str> = text.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(
        warnings,
        [
            "warning: fault 3 (loss gateway->order at 45s) hit nothing — check its target and \
          window; a lesson must not pass because a fault missed"
        ]
    );
    // A run without faults has no warnings.
    let plain = text_of(&Report::build(&results(), &model()));
    assert!(!plain.contains("warning:"), "{plain}");
}

#[test]
fn faults_section_lists_every_fault_with_its_window() {
    // Goal: one line per fault: number, kind (with its strength), target, window, affected.
    let text = faulty_text();
    let section = text.split("\nFaults\n").nth(1).unwrap();
    let lines: Vec<&str> = section.lines().take(5).collect();
    assert!(
        lines[1].contains("crash") && lines[1].contains("20.0s–30.0s"),
        "{section}"
    );
    assert!(
        lines[2].contains("slow ×10") && lines[2].contains("40.0s–end"),
        "{section}"
    );
    assert!(lines[3].contains("gateway->order") && lines[3].contains("45.0s–50.0s"));
    assert!(
        lines[4].contains("chaos") && lines[4].ends_with("17        2"),
        "{section}"
    );
}

#[test]
fn over_time_table_marks_the_fault_window_rows() {
    // Goal: the over-time table merges buckets into at most ~20 rows and marks exactly the
    // rows in which a fault window is active, so the window and its effect are visible.
    let text = faulty_text();
    let section = text
        .split("\nOver time\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    let row = |start: &str| {
        section
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no row {start} in\n{section}"))
            .to_string()
    };
    assert!(section.contains("p99 ms (max of buckets)"), "{section}");
    assert!(!row("15.0–20.0").contains("<-"), "{section}");
    assert!(row("20.0–25.0").ends_with("<- crash order"), "{section}");
    assert!(row("25.0–30.0").contains("75.0%"), "{section}");
    assert!(row("25.0–30.0").ends_with("<- crash order"), "{section}");
    assert!(!row("30.0–35.0").contains("<-"), "{section}");
    assert!(
        row("45.0–50.0").ends_with("<- slow gateway, loss gateway->order"),
        "{section}"
    );
    // Chaos crashes happen at random times: they mark no row.
    assert!(!section.contains("chaos"), "{section}");
    let rows = section.lines().filter(|l| l.contains('–')).count();
    assert!(rows <= 21, "{rows} rows");
    assert!(
        section.contains("browse: no requests sent after warmup"),
        "{section}"
    );
}

#[test]
fn circuit_breakers_section_shows_openings_and_a_truncated_timeline() {
    // Goal: each breaker that changed state shows how often it opened and its transitions,
    // cut after eight with "… N more".
    let text = faulty_text();
    let section = text.split("\nCircuit breakers\n").nth(1).unwrap();
    assert!(
        section.starts_with("  gateway/checkout -> order/place (gateway#0): opened 7 times\n"),
        "{section}"
    );
    assert!(
        section.contains("open at 21.3s, half-open at 26.3s, open at 26.4s"),
        "{section}"
    );
    assert!(section.contains("open at 52s, … 7 more\n"), "{section}");
    // No breaker changed state: no section.
    assert!(!text_of(&Report::build(&results(), &model())).contains("Circuit breakers"));
}

#[test]
fn calls_line_adds_resilience_counters_only_when_non_zero() {
    // Goal: fallbacks, bulkhead full and budget exhausted appear on the calls line when they
    // happened, and not otherwise.
    let text = faulty_text();
    assert!(
        text.contains("amplification 2.00, fallbacks 100, bulkhead full 3\n"),
        "{text}"
    );
    assert!(!text.contains("budget exhausted"));
    let plain = text_of(&Report::build(&results(), &model()));
    assert!(plain.contains("amplification 2.00\n"), "{plain}");
    assert!(!plain.contains("degraded"), "{plain}");
}

#[test]
fn a_short_run_without_faults_gets_one_row_per_bucket() {
    // Goal: with no faults the over-time table appears only when every bucket fits in its own
    // row: plain "p99 ms", nothing merged, no fault markers; a long run without faults has none.
    use sim_core::SimDuration;
    use sim_core::results::WorkloadBucket;
    let mut r = results();
    r.bucket = SimDuration::from_secs(5);
    r.workloads[0].buckets = (0..13)
        .map(|i| WorkloadBucket {
            sent: if (2..12).contains(&i) { 1000 } else { 0 },
            ok: if (2..12).contains(&i) { 999 } else { 0 },
            ..WorkloadBucket::default()
        })
        .collect();
    let text = text_of(&Report::build(&r, &model()));
    let section = text
        .split("\nOver time\n")
        .nth(1)
        .expect("an Over time section");
    let section = section.split("\n\n").next().unwrap();
    assert!(section.contains("p99 ms"), "{section}");
    assert!(!section.contains("max of buckets"), "{section}");
    assert!(!section.contains("<-"), "{section}");
    let rows: Vec<&str> = section.lines().filter(|l| l.contains('–')).collect();
    assert_eq!(rows.len(), 10, "{section}");
    assert!(
        rows[0].trim_start().starts_with("10.0–15.0  1000  99.9%"),
        "{section}"
    );
    r.bucket = SimDuration::from_secs(1);
    r.workloads[0].buckets = vec![WorkloadBucket::default(); 61];
    assert!(!text_of(&Report::build(&r, &model())).contains("Over time"));
}

//! `report.html` of `compare --out DIR` and `sweep --out DIR` (and of `merge`, which prints
//! what they print): the verdict or heading first, the sweep's plot inline, the table of
//! mean ± 95% interval per metric, the paired differences against the baseline, the notes, then the variants and how to replay each.

use super::Page;
use crate::compare::Comparison;
use crate::compare::print::{notes, paired_heading, paired_table, seeds_line, table};
use crate::compare::verdict;
use crate::sweep::{self, Sweep};

/// The page for a comparison.
pub fn compare_html(c: &Comparison) -> Vec<u8> {
    let mut page = Page::new("meshsim compare");
    page.h1("meshsim compare");
    page.p("verdict", &verdict(c));
    page.p("", &seeds_line(c));
    page.h2("metrics", "Metrics");
    let (header, rows) = table(c);
    page.rows(&header, &[], &rows, &[]);
    let (header, rows) = paired_table(c);
    if !rows.is_empty() {
        page.h2("paired", "Paired differences");
        page.p("", &paired_heading(c));
        page.rows(&header, &[], &rows, &[]);
    }
    for note in notes(c) {
        page.p("", &note);
    }
    variants(&mut page, c);
    page.finish()
}

/// The page for a sweep; `svg` is sweep.svg.
pub fn sweep_html(s: &Sweep, svg: &str) -> Vec<u8> {
    let mut page = Page::new("meshsim sweep");
    page.h1("meshsim sweep");
    let mut heading = sweep::heading(s).into_iter();
    if let Some(first) = heading.next() {
        page.p("verdict", &first);
    }
    for line in heading {
        page.p("", &line);
    }
    page.h2("plot", "Plot");
    page.figure("Sweep", svg);
    page.h2("points", "Grid points");
    let (header, rows) = sweep::table(s);
    // The varied values are numbers or words; either way they read best on the left.
    let left: Vec<usize> = (0..s.paths.len()).collect();
    page.rows(&header, &left, &rows, &[]);
    if let Some(note) = sweep::expect_note(s) {
        page.p("", &note);
    }
    variants(&mut page, &s.comparison);
    page.finish()
}

/// Every variant: its label, file, scenario, settings and the seeds where an `[[expect]]`
/// failed, with the command that replays its first seed.
fn variants(page: &mut Page, c: &Comparison) {
    page.h2("variants", "Variants");
    let first_seed = c.plan.seeds.first().copied().unwrap_or_default();
    let rows: Vec<Vec<String>> = c
        .plan
        .variants
        .iter()
        .zip(&c.expect_failed)
        .map(|(v, failed)| {
            let failed: Vec<String> = failed.iter().map(u64::to_string).collect();
            vec![
                v.label.clone(),
                v.file.clone(),
                v.scenario.clone(),
                if failed.is_empty() {
                    "-".to_string()
                } else {
                    failed.join(", ")
                },
                v.replay(first_seed),
            ]
        })
        .collect();
    let header = [
        "variant",
        "file",
        "scenario",
        "expect failed at seeds",
        "replay (first seed)",
    ];
    page.rows(&header, &[1, 2, 3], &rows, &[4]);
}

//! The first line of a comparison: every variant against the baseline, judged by the paired
//! differences of its headline metrics ([`super::Paired`]): the first workload's p99, failed %,
//! p50 and throughput, the first flow's inconsistent %, messages per request and the message
//! lag. Tails and failures lead: a design that keeps the median and loses the p99 must not read
//! as a tie. The clear differences come first, in that order, then what shows no clear
//! difference, then what cannot be judged (fewer than two seeds with a value on both sides):
//! a missing value is never ranked.

use std::collections::BTreeMap;

use super::print::{decimals, number, with_decimals_of};
use super::{Comparison, LAG_P99, MESSAGES_PER_REQUEST, Paired, Row, Unit};
use crate::many::stats::Summary;

/// One headline metric of one variant: its short name and paired difference.
struct Item<'r> {
    name: String,
    row: &'r Row,
    paired: Option<&'r Paired>,
}

/// Most variants the verdict line names one by one; the paired table and the JSON have
/// every one (a 10,000-variant plan would otherwise print a line of megabytes).
const VARIANTS_IN_VERDICT: usize = 12;

/// The verdict line: one sentence per variant against the baseline (the first
/// [`VARIANTS_IN_VERDICT`]; and, with one seed, a last sentence saying there are no
/// intervals).
pub fn verdict(c: &Comparison) -> String {
    let labels = c.labels();
    if labels.len() == 1 {
        let latency = c.rows.iter().find(|r| r.info.is_workload_p50());
        let flow = c.rows.iter().find(|r| r.info.is_flow_inconsistent());
        return single(c, latency, flow);
    }
    let base = c.baseline();
    let seeds = c.plan.seeds.len();
    let rows = RowIndex::of(c);
    let others: Vec<usize> = (0..labels.len()).filter(|&v| v != base).collect();
    let sentences: Vec<String> = others
        .iter()
        .take(VARIANTS_IN_VERDICT)
        .map(|&v| format!("{}: {}", labels[v], against(c, &rows, v, seeds)))
        .collect();
    let mut line = format!(
        "Against {} (baseline), paired seed by seed over {seeds} seed{}: {}.",
        labels[base],
        if seeds == 1 { "" } else { "s" },
        sentences.join(". ")
    );
    if others.len() > VARIANTS_IN_VERDICT {
        let more = others.len() - VARIANTS_IN_VERDICT;
        line.push_str(&format!(
            " And {more} more variant{}: see the paired table.",
            if more == 1 { "" } else { "s" }
        ));
    }
    if seeds == 1 {
        line.push_str(" One seed only, so no intervals and nothing judged: run more with --seeds.");
    }
    line
}

/// Where the headline rows are, found once for every variant (a lookup per variant and
/// workload made a plan of many variants and workloads quadratic).
struct RowIndex {
    /// Indices of the workload rows (section 0) and flows' inconsistent rows, in row order.
    workload_rows: Vec<usize>,
    inconsistent_rows: Vec<usize>,
    /// (workload name, metric position) → row index.
    by_name: BTreeMap<(String, usize), usize>,
    /// Whether the rows hold more than one workload (then items are named `W p99`).
    several_workloads: bool,
}

impl RowIndex {
    fn of(c: &Comparison) -> RowIndex {
        let mut index = RowIndex {
            workload_rows: Vec::new(),
            inconsistent_rows: Vec::new(),
            by_name: BTreeMap::new(),
            several_workloads: false,
        };
        let mut first: Option<&str> = None;
        for (i, r) in c.rows.iter().enumerate() {
            if r.info.section == 0 {
                index.workload_rows.push(i);
                index.by_name.insert((r.info.name.clone(), r.info.what), i);
                match first {
                    None => first = Some(&r.info.name),
                    Some(f) if f != r.info.name => index.several_workloads = true,
                    Some(_) => {}
                }
            } else if r.info.is_flow_inconsistent() {
                index.inconsistent_rows.push(i);
            }
        }
        index
    }
}

/// The headline metrics of variant `v`, in the order the verdict weighs them.
fn headline<'c>(c: &'c Comparison, rows: &RowIndex, v: usize) -> Vec<Item<'c>> {
    let has = |r: &&Row| r.paired[v].is_some();
    let item = |name: String, row: &'c Row| Item {
        name,
        row,
        paired: row.paired[v].as_ref(),
    };
    let mut items = Vec::new();
    // The first workload the two share: rows are grouped by workload in order, so it is the
    // workload of the first workload row with a paired difference.
    let shared = rows
        .workload_rows
        .iter()
        .map(|&i| &c.rows[i])
        .find(has)
        .map(|r| r.info.name.clone());
    if let Some(w) = shared {
        let prefix = if rows.several_workloads {
            format!("{w} ")
        } else {
            String::new()
        };
        for (what, short) in [(1, "p99"), (2, "failed %"), (0, "p50"), (3, "throughput")] {
            if let Some(&i) = rows.by_name.get(&(w.clone(), what)) {
                items.push(item(format!("{prefix}{short}"), &c.rows[i]));
            }
        }
    }
    if let Some(row) = rows.inconsistent_rows.iter().map(|&i| &c.rows[i]).find(has) {
        items.push(item(format!("{} inconsistent %", row.info.name), row));
    }
    for (key, short) in [
        (MESSAGES_PER_REQUEST, "messages per request"),
        (LAG_P99, "message lag p99"),
    ] {
        if let Some(row) = c.row(key).filter(has) {
            items.push(item(short.to_string(), row));
        }
    }
    items
}

/// What variant `v` is against the baseline: the clear differences, then the rest.
fn against(c: &Comparison, rows: &RowIndex, v: usize, seeds: usize) -> String {
    let items = headline(c, rows, v);
    if items.is_empty() {
        return "nothing in common with the baseline to pair (no shared workload or flow)"
            .to_string();
    }
    if seeds == 1 {
        // One pair has no interval: the figures side by side, nothing judged (the line
        // ends saying so).
        let figures: Vec<String> = items
            .iter()
            .filter_map(|item| {
                let unit = item.row.info.unit;
                item.paired.map(|p| {
                    format!(
                        "{} {} ({})",
                        item.name,
                        versus(unit, p),
                        signed_ci(unit, &p.diff)
                    )
                })
            })
            .collect();
        return names(&figures, "and");
    }
    let mut clear = Vec::new();
    let mut same = Vec::new();
    let mut unclear = Vec::new();
    let mut unjudged = Vec::new();
    for item in &items {
        match item.paired.and_then(|p| p.judgement.map(|j| (p, j))) {
            Some((p, j)) if j.is_clear() => clear.push(format!(
                "{} on {} ({})",
                j.word(),
                item.name,
                figures(item.row.info.unit, p, seeds)
            )),
            Some((p, _)) if p.is_same() => same.push(item.name.clone()),
            Some(_) => unclear.push(item.name.clone()),
            None => unjudged.push(item.name.clone()),
        }
    }
    let mut parts = Vec::new();
    if !clear.is_empty() {
        parts.push(names(&clear, "and"));
    }
    if !unclear.is_empty() {
        parts.push(format!("no clear difference on {}", names(&unclear, "or")));
    }
    if !same.is_empty() {
        parts.push(format!("the same on {} on every seed", names(&same, "and")));
    }
    if !unjudged.is_empty() {
        parts.push(format!(
            "not judged on {} (fewer than 2 seeds have a value on both sides)",
            names(&unjudged, "or")
        ));
    }
    parts.join("; ")
}

/// The two means: `53.8 vs 11.8 ms`.
fn versus(unit: Unit, p: &Paired) -> String {
    let (ours, theirs) = (number(unit, p.mean), number(unit, p.baseline_mean));
    match unit {
        Unit::Ms => format!("{ours} vs {theirs} ms"),
        Unit::Percent => format!("{ours}% vs {theirs}%"),
        Unit::PerSecond => format!("{ours} vs {theirs} rps"),
        _ => format!("{ours} vs {theirs}"),
    }
}

/// `53.8 vs 11.8 ms, +42.0 ± 2.9`, with `; 6 of 8 seeds` when some pairs were dropped.
fn figures(unit: Unit, p: &Paired, seeds: usize) -> String {
    let mut text = format!("{}, {}", versus(unit, p), signed_ci(unit, &p.diff));
    if p.pairs < seeds {
        text.push_str(&format!("; {} of {seeds} seeds", p.pairs));
    }
    text
}

/// A difference with its sign and half-width: `+42.0 ± 2.9`, `-0.030 ± 0.011`. The
/// decimals are the metric's, or more when the half-width would otherwise print as 0 (up to
/// six): `+0.1 ± 0.0` would read as an exact difference where it is `+0.12 ± 0.04`.
pub(crate) fn signed_ci(unit: Unit, d: &Summary) -> String {
    let mut places = decimals(unit, d.mean);
    if let Some(h) = d.ci95.filter(|h| *h > 0.0) {
        while places < 6
            && format!("{h:.places$}")
                .chars()
                .all(|c| c == '0' || c == '.')
        {
            places += 1;
        }
    }
    let fixed = |x: f64| {
        let text = format!("{x:.places$}");
        // "-0.0" reads as a sign where there is none.
        if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
            text[1..].to_string()
        } else {
            text
        }
    };
    let mean = fixed(d.mean);
    let mean = if mean.starts_with('-') || mean.chars().all(|c| c == '0' || c == '.') {
        mean
    } else {
        format!("+{mean}")
    };
    match d.ci95 {
        Some(h) => format!("{mean} ± {}", fixed(h)),
        None => mean,
    }
}

/// `a`, `a and b`, `a, b and c` (or `or`).
fn names(items: &[String], and: &str) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} {and} {last}", rest.join(", ")),
        _ => items.concat(),
    }
}

/// `3.10 ± 0.41 ms`, or `3.10 ms` with one seed; likewise for percentages and messages.
fn with_ci(unit: Unit, s: &Summary, suffix: &str) -> String {
    match s.ci95 {
        Some(h) => format!(
            "{} ± {}{suffix}",
            number(unit, s.mean),
            with_decimals_of(unit, s.mean, h)
        ),
        None => format!("{}{suffix}", number(unit, s.mean)),
    }
}

/// One variant: its figures, and that there is nothing to compare.
fn single(c: &Comparison, latency: Option<&Row>, flow: Option<&Row>) -> String {
    let label = c.labels()[0];
    let summary = |row: Option<&Row>| {
        row.and_then(|r| r.cells[0].as_ref())
            .map(|cell| cell.summary)
    };
    let mut parts = Vec::new();
    if let (Some(row), Some(s)) = (latency, summary(latency)) {
        parts.push(format!(
            "p50 {} on {}",
            with_ci(Unit::Ms, &s, " ms"),
            row.info.name
        ));
    }
    if let Some(s) = summary(flow) {
        parts.push(format!("{} inconsistent", with_ci(Unit::Percent, &s, "%")));
    }
    if let Some(s) = summary(c.row(MESSAGES_PER_REQUEST)) {
        parts.push(format!(
            "{} messages per request",
            with_ci(Unit::PerRequest, &s, "")
        ));
    }
    format!(
        "Only one variant, nothing to compare: {label} has {}.",
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::many::{Job, JobResult, Metrics, PlanInfo, VariantInfo};

    /// A comparison of `labels` over four seeds; `rows` gives each metric key the per-seed
    /// values of each variant (NaN: the run has no value).
    fn comparison(labels: &[&str], rows: &[(&str, Vec<[f64; 4]>)]) -> Comparison {
        let plan = PlanInfo {
            command: "compare".into(),
            variants: labels
                .iter()
                .map(|l| VariantInfo {
                    label: l.to_string(),
                    file: format!("{l}.toml"),
                    scenario: l.to_string(),
                    set: vec![],
                    vary: vec![],
                })
                .collect(),
            seeds: vec![1, 2, 3, 4],
            sources_fnv: String::new(),
            baseline: 0,
        };
        let results: Vec<JobResult> = plan
            .jobs(crate::many::Shard::ALL)
            .into_iter()
            .map(|job: Job| {
                let mut metrics = Metrics::default();
                for (key, values) in rows {
                    let x = values[job.variant][job.index % 4];
                    if !x.is_nan() {
                        metrics.push(key.to_string(), x);
                    }
                }
                JobResult {
                    job,
                    expect_failed: false,
                    metrics,
                }
            })
            .collect();
        Comparison::build(plan, &results)
    }

    const P50: &str = "workloads.db.latency_ms.p50";
    const P99: &str = "workloads.db.latency_ms.p99";
    const FAILED: &str = "workloads.db.failed_pct";
    const INCONSISTENT: &str = "flows.order.inconsistent_pct";

    // Goal: the two database designs — p50 3.70 vs 3.73 ms (noise), p99 11.8 vs 53.8
    // ms — are not called a win on the median: the verdict names the p99 difference first,
    // as worse, with both means and the paired interval, and says the p50 shows no clear
    // difference (and that the failures are equal on every seed). By hand: differences 41, 43, 41.6, 42.4; mean 42.0, s = √(2.32/3) = 0.879,
    // half-width t(3) · s / 2 = 3.182 · 0.879 / 2 = 1.4.
    #[test]
    fn the_tail_leads_the_verdict() {
        let c = comparison(
            &["db-a", "db-b"],
            &[
                (P50, vec![[3.5, 3.9, 3.6, 3.8], [3.9, 3.5, 3.8, 3.72]]),
                (
                    P99,
                    vec![[11.0, 12.6, 11.5, 12.1], [52.0, 55.6, 53.1, 54.5]],
                ),
                (FAILED, vec![[0.0; 4], [0.0; 4]]),
            ],
        );
        let v = verdict(&c);
        assert_eq!(
            v,
            "Against db-a (baseline), paired seed by seed over 4 seeds: db-b: worse on p99 \
             (53.8 vs 11.8 ms, +42.0 ± 1.4); no clear difference on p50; the same on failed % \
             on every seed.",
        );
    }

    // Goal: two variants whose intervals overlap but whose per-seed difference is small and
    // consistent (b is a + 0.1 ms on every seed, give or take 0.01) are told apart by the
    // paired test, which the old interval-overlap rule could not do; a higher throughput is
    // better and a higher inconsistent % worse.
    #[test]
    fn a_consistent_small_difference_is_seen_through_overlapping_intervals() {
        let a = [3.0, 3.4, 2.8, 3.2];
        let b = [3.1, 3.51, 2.9, 3.31];
        let c = comparison(
            &["a", "b"],
            &[
                (P50, vec![a, b]),
                (
                    "workloads.db.throughput_rps",
                    vec![[100.0, 90.0, 95.0, 99.0], [101.0, 91.0, 96.0, 100.0]],
                ),
                (INCONSISTENT, vec![[0.0; 4], [1.0, 1.2, 1.1, 1.1]]),
            ],
        );
        let cells: Vec<Summary> = c
            .row(P50)
            .unwrap()
            .cells
            .iter()
            .map(|c| c.as_ref().unwrap().summary)
            .collect();
        assert!(
            cells[0].interval().1 > cells[1].interval().0,
            "the intervals overlap: {cells:?}"
        );
        assert_eq!(
            verdict(&c),
            "Against a (baseline), paired seed by seed over 4 seeds: b: worse on p50 (3.21 vs \
             3.10 ms, +0.105 ± 0.009), better on throughput (97.0 vs 96.0 rps, +1.0 ± 0.0) and \
             worse on order inconsistent % (1.1% vs 0.0%, +1.1 ± 0.1)."
        );
    }

    // Goal: a missing value is never ranked: a seed without a value on either side drops its
    // pair (and the verdict says on how many seeds it judged); with fewer than two pairs the
    // metric is not judged at all; the baseline can be any variant.
    #[test]
    fn missing_values_drop_pairs_and_are_never_ranked() {
        let nan = f64::NAN;
        let mut c = comparison(
            &["a", "b", "c"],
            &[
                (
                    P99,
                    vec![
                        [10.0, 11.0, 12.0, 13.0],
                        [20.0, nan, 22.0, 23.0],
                        [nan, nan, nan, 1.0],
                    ],
                ),
                (FAILED, vec![[0.0; 4], [0.0; 4], [99.0, 99.0, 99.0, 80.0]]),
            ],
        );
        let v = verdict(&c);
        assert!(
            v.contains("b: worse on p99 (21.7 vs 11.7 ms, +10.0 ± 0.0; 3 of 4 seeds)"),
            "{v}"
        );
        assert!(
            v.contains("c: worse on failed % (94.2% vs 0.0%, +94.2 ± 15.1); not judged on p99"),
            "{v}"
        );
        assert!(
            c.row(P99).unwrap().cells[1].is_none(),
            "no mean over some seeds"
        );
        c.plan.baseline = 2;
        let c = Comparison::build(c.plan.clone(), &[]);
        assert!(verdict(&c).starts_with("Against c (baseline)"));
    }

    // Goal: a paired difference never prints a non-zero half-width as 0 (it would read as an
    // exact difference): decimals are added until it shows, up to six; an exact 0 stays short.
    #[test]
    fn a_small_half_width_gets_the_decimals_it_needs() {
        let s = |mean, h| Summary {
            n: 8,
            mean,
            ci95: Some(h),
        };
        assert_eq!(signed_ci(Unit::PerSecond, &s(0.06, 0.04)), "+0.06 ± 0.04");
        assert_eq!(signed_ci(Unit::PerSecond, &s(0.06, 0.05)), "+0.1 ± 0.1");
        assert_eq!(
            signed_ci(Unit::PerRequest, &s(1.9997, 0.0003)),
            "+1.9997 ± 0.0003"
        );
        assert_eq!(signed_ci(Unit::Ms, &s(-41.9, 3.4)), "-41.9 ± 3.4");
        assert_eq!(signed_ci(Unit::Percent, &s(-100.0, 0.0)), "-100.0 ± 0.0");
        assert_eq!(signed_ci(Unit::Ms, &s(0.0, 1e-12)), "0.000000 ± 0.000000");
    }

    // Goal: with one seed nothing is judged, but the figures are given side by side (a pair
    // has no interval), and the line says to run more seeds.
    #[test]
    fn one_seed_gives_figures_not_judgements() {
        let mut c = comparison(&["a", "b"], &[(P99, vec![[10.0; 4], [12.5; 4]])]);
        c.plan.seeds.truncate(1);
        let results: Vec<JobResult> = c
            .plan
            .jobs(crate::many::Shard::ALL)
            .into_iter()
            .map(|job| {
                let mut metrics = Metrics::default();
                metrics.push(P99.to_string(), [10.0, 12.5][job.variant]);
                JobResult {
                    job,
                    expect_failed: false,
                    metrics,
                }
            })
            .collect();
        let c = Comparison::build(c.plan, &results);
        assert_eq!(
            verdict(&c),
            "Against a (baseline), paired seed by seed over 1 seed: b: p99 12.5 vs 10.0 ms \
             (+2.50). One seed only, so no intervals and nothing judged: run more with --seeds."
        );
    }

    // Goal: a plan of many variants names the first twelve in the verdict and counts the
    // rest (the paired table has them all), so the first line stays readable; several
    // workloads name the workload in each item.
    #[test]
    fn many_variants_are_cut_after_twelve() {
        let labels: Vec<String> = (0..15).map(|i| format!("v{i}")).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let values: Vec<[f64; 4]> = (0..15).map(|i| [i as f64; 4]).collect();
        let other = "workloads.web.latency_ms.p99";
        let c = comparison(&labels, &[(P99, values.clone()), (other, values)]);
        let v = verdict(&c);
        assert!(v.contains("v12: worse on db p99 (12.0 vs 0.000 ms"), "{v}");
        assert!(!v.contains("v13:"), "{v}");
        assert!(
            v.ends_with(". And 2 more variants: see the paired table."),
            "{v}"
        );
    }

    // Goal: the busiest-service markers are no rows but say which service the busiest
    // utilization is, per variant, with the runs it was the busiest in (most first); one
    // service in every run is said in one phrase; the JSON lists them per variant.
    #[test]
    fn the_busiest_service_is_named_per_variant() {
        let busiest = "busiest_utilization_pct";
        let nan = f64::NAN;
        let c = comparison(
            &["a", "b"],
            &[
                (busiest, vec![[50.0; 4], [60.0; 4]]),
                ("busiest_service.db", vec![[1.0; 4], [nan, 1.0, nan, nan]]),
                ("busiest_service.api", vec![[nan; 4], [1.0, nan, 1.0, 1.0]]),
            ],
        );
        assert!(c.row("busiest_service.db").is_none());
        let mut text = Vec::new();
        crate::compare::write_compare_text(&mut text, &c).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains(
                "the busiest, with the runs it was the busiest in (of 4): a: db 4; b: api 3, db 1."
            ),
            "{text}"
        );
        let v = c.to_value();
        assert_eq!(v["variants"][1]["busiest_services"]["api"], 3, "{v}");
        let one = comparison(
            &["a", "b"],
            &[
                (busiest, vec![[50.0; 4], [60.0; 4]]),
                ("busiest_service.db", vec![[1.0; 4], [1.0; 4]]),
            ],
        );
        let mut text = Vec::new();
        crate::compare::write_compare_text(&mut text, &one).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("busiest service utilization % is db's in every run."),
            "{text}"
        );
    }

    // Goal: one variant says there is nothing to compare, with its figures.
    #[test]
    fn one_variant_has_nothing_to_compare() {
        let c = comparison(
            &["solo"],
            &[
                (P50, vec![[3.0, 3.4, 2.8, 3.2]]),
                (MESSAGES_PER_REQUEST, vec![[2.0; 4]]),
            ],
        );
        assert_eq!(
            verdict(&c),
            "Only one variant, nothing to compare: solo has p50 3.10 ± 0.41 ms on db, \
             2.00 ± 0.00 messages per request."
        );
    }
}

//! The first line of a comparison: who wins on latency, who on consistency, at what cost in
//! messages, and whether each difference is clear or within the confidence intervals.
//!
//! A difference is clear when the two 95% intervals do not overlap. That is conservative:
//! the variants share their seeds (common random numbers), so a paired test would call some
//! overlapping differences real; "the intervals overlap" never claims a winner that is not
//! there.

use super::print::{number, percent_text, with_decimals_of};
use super::{Comparison, MESSAGES_PER_REQUEST, Row, Unit};
use crate::many::stats::Summary;

/// How the best of a row compares with another variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Clear,
    Overlap,
    Tie,
}

fn outcome(best: &Summary, other: &Summary) -> Outcome {
    if best.mean == other.mean {
        Outcome::Tie
    } else if best.interval().1 < other.interval().0 {
        Outcome::Clear
    } else {
        Outcome::Overlap
    }
}

/// The variants that have the row, lowest mean first (ties: variant order).
fn ranked(row: &Row) -> Vec<(usize, Summary)> {
    let mut order: Vec<(usize, Summary)> = row
        .cells
        .iter()
        .enumerate()
        .filter_map(|(v, c)| c.as_ref().map(|c| (v, c.summary)))
        .collect();
    order.sort_by(|a, b| a.1.mean.total_cmp(&b.1.mean));
    order
}

/// One clause of the verdict; `fixed` clauses start with our words, not a label, and are
/// capitalised when they open the line.
struct Clause {
    text: String,
    fixed: bool,
}

/// The verdict line: clauses joined with "; " and a period (and, with one seed, a second
/// sentence saying there are no intervals).
pub fn verdict(c: &Comparison) -> String {
    let labels = c.labels();
    let latency_rows: Vec<&Row> = c.rows.iter().filter(|r| r.info.is_workload_p50()).collect();
    let flow_rows: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.info.is_flow_inconsistent())
        .collect();
    if labels.len() == 1 {
        return single(c, latency_rows.first().copied(), flow_rows.first().copied());
    }
    let mut clauses = Vec::new();
    let mut winners = Vec::new();
    let on = |rows: &[&Row], row: &Row| on_name(rows.len(), &row.info.name);
    match shared(&latency_rows) {
        Some(row) => {
            if let Some((mut clause, winner)) = latency(row, &labels, &on(&latency_rows, row)) {
                let untimed = untimed(c, row);
                if !untimed.is_empty() {
                    clause.text.push_str(&format!(
                        " ({} not ranked: no successful request to time on at least one seed)",
                        names(&untimed)
                    ));
                }
                clauses.push(clause);
                winners.extend(winner);
            }
        }
        None if !latency_rows.is_empty() => {
            let untimed = latency_rows
                .iter()
                .map(|row| untimed(c, row))
                .find(|u| !u.is_empty());
            let text = match untimed {
                Some(u) => format!(
                    "latency is not compared: no successful request to time in {} on at least one seed",
                    names(&u)
                ),
                None => "no workload is in two variants, so latency is not compared".to_string(),
            };
            clauses.push(Clause { text, fixed: true });
        }
        None => {}
    }
    match shared(&flow_rows) {
        Some(row) => {
            if let Some((clause, winner)) = consistency(row, &labels, &on(&flow_rows, row)) {
                clauses.push(clause);
                winners.extend(winner);
            }
        }
        None if !flow_rows.is_empty() => clauses.push(Clause {
            text: "no flow is in two variants, so consistency is not compared".to_string(),
            fixed: true,
        }),
        None => {}
    }
    if let Some(clause) = c
        .row(MESSAGES_PER_REQUEST)
        .and_then(|row| cost(row, &labels, &winners))
    {
        clauses.push(clause);
    }
    if clauses.is_empty() {
        return "Nothing to compare: no variant reported a workload or a flow.".to_string();
    }
    let mut line = join(clauses);
    if c.plan.seeds.len() == 1 {
        line.push_str(" One seed only, so no confidence intervals: run more with --seeds.");
    }
    line
}

/// The variants that ran the workload of a latency row (they have its throughput) but have
/// no latency for it on every seed: nothing succeeded there, so they are not ranked.
fn untimed<'c>(c: &'c Comparison, row: &Row) -> Vec<&'c str> {
    let throughput = row
        .key
        .strip_suffix("latency_ms.p50")
        .map(|prefix| format!("{prefix}throughput_rps"));
    let Some(ran) = throughput.and_then(|key| c.row(&key)) else {
        return Vec::new();
    };
    c.labels()
        .into_iter()
        .zip(row.cells.iter().zip(&ran.cells))
        .filter(|(_, (timed, ran))| timed.is_none() && ran.is_some())
        .map(|(label, _)| label)
        .collect()
}

/// `a`, `a and b`, `a, b and c`.
fn names(labels: &[&str]) -> String {
    match labels.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => labels.concat(),
    }
}

/// The first row that at least two variants have.
fn shared<'r>(rows: &[&'r Row]) -> Option<&'r Row> {
    rows.iter()
        .find(|r| r.cells.iter().filter(|c| c.is_some()).count() >= 2)
        .copied()
}

fn on_name(rows: usize, name: &str) -> String {
    if rows > 1 {
        format!(" on {name}")
    } else {
        String::new()
    }
}

/// Clauses joined with "; ", capitalised if the line opens with our words, and a period.
fn join(clauses: Vec<Clause>) -> String {
    let opens_fixed = clauses.first().is_some_and(|c| c.fixed);
    let mut line = clauses
        .into_iter()
        .map(|c| c.text)
        .collect::<Vec<_>>()
        .join("; ");
    if opens_fixed {
        let mut chars = line.chars();
        line = chars
            .next()
            .map(|f| f.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
    }
    line.push('.');
    line
}

fn ms(x: f64) -> String {
    number(Unit::Ms, x)
}

/// A mean in milliseconds: `3.10 ms`.
fn ms_mean(s: &Summary) -> String {
    format!("{} ms", ms(s.mean))
}

/// `3.10 ± 0.41 ms`, or `3.10 ms` with one seed; likewise for percentages and messages.
fn ms_ci(s: &Summary) -> String {
    match s.ci95 {
        Some(h) => format!(
            "{} ± {} ms",
            ms(s.mean),
            with_decimals_of(Unit::Ms, s.mean, h)
        ),
        None => format!("{} ms", ms(s.mean)),
    }
}

fn pct_ci(s: &Summary) -> String {
    match s.ci95 {
        Some(h) => format!(
            "{} ± {}%",
            percent_text(s.mean),
            with_decimals_of(Unit::Percent, s.mean, h)
        ),
        None => format!("{}%", percent_text(s.mean)),
    }
}

/// Whether every variant ties with the best.
fn all_tie(order: &[(usize, Summary)]) -> bool {
    order.iter().all(|(_, s)| s.mean == order[0].1.mean)
}

/// Every variant that ties with the best, in words: `a and b`, `a, b and c`.
fn tied_names(order: &[(usize, Summary)], labels: &[&str]) -> String {
    let tied: Vec<&str> = order
        .iter()
        .filter(|(_, s)| s.mean == order[0].1.mean)
        .map(|(i, _)| labels[*i])
        .collect();
    names(&tied)
}

fn latency(row: &Row, labels: &[&str], on: &str) -> Option<(Clause, Option<usize>)> {
    let order = ranked(row);
    let [(a, sa), (b, sb), ..] = order[..] else {
        return None;
    };
    let (la, lb) = (labels[a], labels[b]);
    Some(match outcome(&sa, &sb) {
        Outcome::Clear => (
            Clause {
                text: format!(
                    "{la} answers clients fastest{on} (p50 {} vs {} for {lb})",
                    ms_mean(&sa),
                    ms_mean(&sb)
                ),
                fixed: false,
            },
            Some(a),
        ),
        Outcome::Overlap => (
            Clause {
                text: format!(
                    "no clear winner on latency{on}: the intervals overlap (p50 {} for {la}, \
                     {} for {lb})",
                    ms_ci(&sa),
                    ms_ci(&sb)
                ),
                fixed: true,
            },
            None,
        ),
        Outcome::Tie if all_tie(&order) && order.len() > 2 => (
            Clause {
                text: format!("all variants tie on latency{on} (p50 {})", ms_mean(&sa)),
                fixed: true,
            },
            None,
        ),
        Outcome::Tie => (
            Clause {
                text: format!(
                    "{} tie on latency{on} (p50 {})",
                    tied_names(&order, labels),
                    ms_mean(&sa)
                ),
                fixed: false,
            },
            None,
        ),
    })
}

fn consistency(row: &Row, labels: &[&str], on: &str) -> Option<(Clause, Option<usize>)> {
    let order = ranked(row);
    let [(a, sa), (b, sb), ..] = order[..] else {
        return None;
    };
    let (la, lb) = (labels[a], labels[b]);
    let (pa, pb) = (percent_text(sa.mean), percent_text(sb.mean));
    Some(match outcome(&sa, &sb) {
        Outcome::Clear => (
            Clause {
                text: format!(
                    "{la} is the most consistent{on} ({pa}% inconsistent vs {pb}% for {lb})"
                ),
                fixed: false,
            },
            Some(a),
        ),
        Outcome::Overlap => (
            Clause {
                text: format!(
                    "no clear winner on consistency{on}: the intervals overlap ({} inconsistent \
                     for {la}, {} for {lb})",
                    pct_ci(&sa),
                    pct_ci(&sb)
                ),
                fixed: true,
            },
            None,
        ),
        Outcome::Tie if all_tie(&order) => (
            Clause {
                text: format!("all variants are equally consistent{on} ({pa}% inconsistent)"),
                fixed: true,
            },
            None,
        ),
        Outcome::Tie => (
            Clause {
                text: format!(
                    "{} are equally consistent{on} ({pa}% inconsistent)",
                    tied_names(&order, labels)
                ),
                fixed: false,
            },
            None,
        ),
    })
}

/// The cheapest variant in messages per request, against a winner named before (the last
/// one that is not the cheapest), or else the runner-up. Nothing when no variant sends any.
fn cost(row: &Row, labels: &[&str], winners: &[usize]) -> Option<Clause> {
    let order = ranked(row);
    if order.len() < 2 || order.iter().all(|(_, s)| s.mean == 0.0) {
        return None;
    }
    let (cheap, sc) = order[0];
    let (other, so) = winners
        .iter()
        .rev()
        .find(|&&w| w != cheap)
        .and_then(|&w| order.iter().find(|(v, _)| *v == w).copied())
        .unwrap_or(order[1]);
    let (lc, lo) = (labels[cheap], labels[other]);
    let per = |s: &Summary| number(Unit::PerRequest, s.mean);
    let also = if winners.contains(&cheap) {
        "also "
    } else {
        ""
    };
    Some(match outcome(&sc, &so) {
        Outcome::Clear => Clause {
            text: format!(
                "{lc} {also}costs the fewest messages ({} per request vs {} for {lo})",
                per(&sc),
                per(&so)
            ),
            fixed: false,
        },
        Outcome::Overlap => Clause {
            text: format!(
                "no clear difference in messages: the intervals overlap ({} per request for \
                 {lc}, {} for {lo})",
                per_ci(&sc),
                per_ci(&so)
            ),
            fixed: true,
        },
        Outcome::Tie if all_tie(&order) => Clause {
            text: format!(
                "all variants cost the same ({} messages per request)",
                per(&sc)
            ),
            fixed: true,
        },
        Outcome::Tie => Clause {
            text: format!(
                "{lc} and {lo} cost the same ({} messages per request)",
                per(&sc)
            ),
            fixed: false,
        },
    })
}

fn per_ci(s: &Summary) -> String {
    match s.ci95 {
        Some(h) => format!(
            "{} ± {}",
            number(Unit::PerRequest, s.mean),
            with_decimals_of(Unit::PerRequest, s.mean, h)
        ),
        None => number(Unit::PerRequest, s.mean),
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
        parts.push(format!("p50 {} on {}", ms_ci(&s), row.info.name));
    }
    if let Some(s) = summary(flow) {
        parts.push(format!("{} inconsistent", pct_ci(&s)));
    }
    if let Some(s) = summary(c.row(MESSAGES_PER_REQUEST)) {
        parts.push(format!("{} messages per request", per_ci(&s)));
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
    /// values of each variant.
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
        };
        let results: Vec<JobResult> = plan
            .jobs(crate::many::Shard::ALL)
            .into_iter()
            .map(|job: Job| {
                let mut metrics = Metrics::default();
                for (key, values) in rows {
                    metrics.push(key.to_string(), values[job.variant][job.index % 4]);
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

    const P50: &str = "workloads.checkout.latency_ms.p50";
    const INCONSISTENT: &str = "flows.order.inconsistent_pct";

    // Goal: clear differences give the three-part verdict of the docs: who answers fastest,
    // who is the most consistent, and the cheapest against the last winner it is not.
    #[test]
    fn clear_winners_in_words() {
        let c = comparison(
            &["sync", "async", "orchestration"],
            &[
                (
                    P50,
                    vec![
                        [12.0, 12.5, 12.3, 12.8],
                        [3.0, 3.2, 3.1, 3.1],
                        [20.0, 21.0, 20.5, 20.5],
                    ],
                ),
                (
                    INCONSISTENT,
                    vec![[5.0, 5.5, 5.2, 5.3], [9.8, 10.0, 9.9, 9.9], [0.0; 4]],
                ),
                (
                    MESSAGES_PER_REQUEST,
                    vec![[4.0; 4], [8.0, 8.1, 8.0, 8.1], [10.2; 4]],
                ),
            ],
        );
        assert_eq!(
            verdict(&c),
            "async answers clients fastest (p50 3.10 ms vs 12.4 ms for sync); orchestration is \
             the most consistent (0.0% inconsistent vs 5.2% for sync); sync costs the fewest \
             messages (4.00 per request vs 10.2 for orchestration)."
        );
    }

    // Goal: overlapping intervals are said to overlap, with both intervals; equal values tie;
    // the cheapest that also won says "also".
    #[test]
    fn overlaps_and_ties_in_words() {
        let c = comparison(
            &["a", "b"],
            &[
                (P50, vec![[3.0, 3.4, 2.8, 3.2], [3.1, 3.5, 2.9, 3.3]]),
                (INCONSISTENT, vec![[0.0; 4], [0.0; 4]]),
                (MESSAGES_PER_REQUEST, vec![[2.0; 4], [2.0; 4]]),
            ],
        );
        let v = verdict(&c);
        assert!(
            v.starts_with(
                "No clear winner on latency: the intervals overlap (p50 3.10 ± 0.41 ms for a, \
                 3.20 ± 0.41 ms for b)"
            ),
            "{v}"
        );
        assert!(
            v.contains("; all variants are equally consistent (0.0% inconsistent); all variants cost the same (2.00 messages per request)."),
            "{v}"
        );
        let c = comparison(
            &["a", "b"],
            &[
                (P50, vec![[3.0; 4], [9.0; 4]]),
                (MESSAGES_PER_REQUEST, vec![[2.0; 4], [6.0; 4]]),
            ],
        );
        assert_eq!(
            verdict(&c),
            "a answers clients fastest (p50 3.00 ms vs 9.00 ms for b); a also costs the fewest \
             messages (2.00 per request vs 6.00 for b)."
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
            "Only one variant, nothing to compare: solo has p50 3.10 ± 0.41 ms on checkout, \
             2.00 ± 0.00 messages per request."
        );
    }
}

//! A [`Comparison`] as text, JSON, Markdown and CSV.

use std::io::{self, Write};

use super::verdict::signed_ci;
use super::{BUSIEST_UTILIZATION, Cell, Comparison, MESSAGES_PER_REQUEST, Paired, Unit, verdict};
use crate::csv;
use crate::markdown::{escape, table_body};
use crate::outputs::rendered;

/// Decimals for a figure of `unit` about the size of `x`: about three significant digits for
/// milliseconds, one decimal for percentages (two below 1%), two for messages per request.
pub(crate) fn decimals(unit: Unit, x: f64) -> usize {
    let a = x.abs();
    match unit {
        Unit::Ms | Unit::Other => {
            if a >= 100.0 {
                0
            } else if a >= 10.0 {
                1
            } else if a >= 1.0 {
                2
            } else {
                3
            }
        }
        Unit::Percent | Unit::Count => {
            if a == 0.0 || a >= 1.0 {
                1
            } else {
                2
            }
        }
        Unit::PerSecond => 1,
        Unit::PerRequest => {
            if a >= 10.0 {
                1
            } else {
                2
            }
        }
    }
}

/// `x` as a figure of `unit`.
pub(crate) fn number(unit: Unit, x: f64) -> String {
    with_decimals_of(unit, x, x)
}

/// `x` with the decimals a figure of `unit` the size of `mean` gets (a half-width prints
/// like its mean).
pub(crate) fn with_decimals_of(unit: Unit, mean: f64, x: f64) -> String {
    let d = decimals(unit, mean);
    let text = format!("{x:.d$}");
    // "-0.0" reads as a sign where there is none.
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        text[1..].to_string()
    } else {
        text
    }
}

/// `mean ± half-width`, the mean alone with one seed, `—` where the variant lacks the metric.
fn cell_text(unit: Unit, cell: &Option<Cell>) -> String {
    match cell {
        None => "—".to_string(),
        Some(c) => match c.summary.ci95 {
            Some(h) => format!(
                "{} ± {}",
                number(unit, c.summary.mean),
                with_decimals_of(unit, c.summary.mean, h)
            ),
            None => number(unit, c.summary.mean),
        },
    }
}

/// The line under the verdict: which seeds, and what the cells are.
pub(crate) fn seeds_line(c: &Comparison) -> String {
    let seeds = &c.plan.seeds;
    let n = seeds.len();
    let (first, last) = (seeds[0], seeds[n - 1]);
    if n == 1 {
        return format!(
            "1 seed ({first}) for every variant: cells are single runs, no confidence intervals."
        );
    }
    format!(
        "{n} seeds ({first} to {last}), the same for every variant; cells are mean ± half-width \
         of the 95% confidence interval over the seeds (Student t, {} degree{} of freedom).",
        n - 1,
        if n == 2 { "" } else { "s" }
    )
}

/// The definition of messages per request, printed under the table when it has that row.
const MESSAGES_DEFINITION: &str = "messages per request = 2 × (call attempts + messages \
     published + messages delivered) / requests sent: every call attempt (clients' requests \
     included, retries too), publish and delivery counts as a message and its answer.";

/// `[[expect]]` failures, which compare reports but does not fail on.
fn expect_note(c: &Comparison) -> Option<String> {
    let total: usize = c.expect_failed.iter().map(Vec::len).sum();
    if total == 0 {
        return None;
    }
    let runs = c.plan.variants.len() * c.plan.seeds.len();
    let which: Vec<String> = c
        .labels()
        .iter()
        .zip(&c.expect_failed)
        .filter(|(_, seeds)| !seeds.is_empty())
        .map(|(label, seeds)| {
            let list: Vec<String> = seeds.iter().map(u64::to_string).collect();
            format!(
                "{label}: seed{} {}",
                if seeds.len() == 1 { "" } else { "s" },
                list.join(", ")
            )
        })
        .collect();
    Some(format!(
        "Note: an [[expect]] failed in {total} of {runs} runs ({}); compare does not fail on \
         them (replay one with meshsim run).",
        which.join("; ")
    ))
}

/// The table: a header row and one row per metric, as cell texts.
pub(crate) fn table(c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    let header = std::iter::once("metric".to_string())
        .chain(c.labels().into_iter().map(String::from))
        .collect();
    let rows = c
        .rows
        .iter()
        .map(|row| {
            std::iter::once(row.info.label.clone())
                .chain(row.cells.iter().map(|cell| cell_text(row.info.unit, cell)))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A paired difference as a cell: `+42.0 ± 2.9 worse`, `+0.030 ± 0.050 unclear`, `same`
/// (equal on every seed), the
/// difference alone with fewer than two pairs (`+1.2, 1 pair`), `—` where no seed has both
/// values; `(6 pairs)` when some seeds were dropped.
fn paired_text(unit: Unit, p: Option<&Paired>, seeds: usize) -> String {
    let Some(p) = p else {
        return "—".to_string();
    };
    let diff = signed_ci(unit, &p.diff);
    let mut text = match p.judgement {
        Some(j) if j.is_clear() => format!("{diff} {}", j.word()),
        // Equal on every seed: no interval to speak of, and nothing unclear about it.
        Some(_) if p.is_same() => "same".to_string(),
        Some(_) => format!("{diff} unclear"),
        None => format!("{diff}, {} pair", p.pairs),
    };
    if p.judgement.is_some() && p.pairs < seeds {
        text.push_str(&format!(" ({} pairs)", p.pairs));
    }
    text
}

/// The paired table: a header row (metric, then every variant but the baseline) and one row
/// per metric that some variant could be paired on.
pub(crate) fn paired_table(c: &Comparison) -> (Vec<String>, Vec<Vec<String>>) {
    let base = c.baseline();
    let others: Vec<usize> = (0..c.plan.variants.len()).filter(|&v| v != base).collect();
    let labels = c.labels();
    let header = std::iter::once("metric".to_string())
        .chain(others.iter().map(|&v| labels[v].to_string()))
        .collect();
    let seeds = c.plan.seeds.len();
    let rows = c
        .rows
        .iter()
        .filter(|row| others.iter().any(|&v| row.paired[v].is_some()))
        .map(|row| {
            std::iter::once(row.info.label.clone())
                .chain(
                    others
                        .iter()
                        .map(|&v| paired_text(row.info.unit, row.paired[v].as_ref(), seeds)),
                )
                .collect()
        })
        .collect();
    (header, rows)
}

/// The sentence over the paired table.
pub(crate) fn paired_heading(c: &Comparison) -> String {
    format!(
        "Paired against {} (the baseline): per metric, the mean over the seeds of (variant − \
         baseline) on the same seed ± the half-width of its 95% interval; better or worse (higher \
         or lower for a metric with no good direction) when the interval excludes 0, unclear when \
         it covers 0, same when equal on every seed.",
        c.labels()[c.baseline()]
    )
}

/// `rows` under `header` as aligned text lines: the first column left-aligned, the others
/// right-aligned.
fn write_aligned<W: Write>(w: &mut W, header: &[String], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            line.push_str("  ");
            if i == 0 {
                line.push_str(cell);
                line.push_str(&pad);
            } else {
                line.push_str(&pad);
                line.push_str(cell);
            }
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The text report: the verdict, the seeds line, the table, the paired table (with two
/// variants or more), then the definitions and notes.
pub fn write_compare_text<W: Write>(mut w: W, c: &Comparison) -> io::Result<()> {
    writeln!(w, "{}", verdict(c))?;
    writeln!(w, "{}", seeds_line(c))?;
    writeln!(w)?;
    let (header, rows) = table(c);
    write_aligned(&mut w, &header, &rows)?;
    let (header, rows) = paired_table(c);
    if !rows.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", paired_heading(c))?;
        writeln!(w)?;
        write_aligned(&mut w, &header, &rows)?;
    }
    write_notes(&mut w, c, "")
}

/// Which service the busiest utilization row is, per variant: `busiest service utilization %
/// is server's in every run.`, or per variant with the runs each service was the busiest in.
fn busiest_note(c: &Comparison) -> Option<String> {
    c.row(BUSIEST_UTILIZATION)?;
    let seeds = c.plan.seeds.len();
    let first = c.busiest.first()?.first()?;
    let everywhere = c
        .busiest
        .iter()
        .all(|b| b.len() == 1 && b[0].0 == first.0 && b[0].1 == seeds);
    if everywhere {
        return Some(format!(
            "busiest service utilization % is {}'s in every run.",
            first.0
        ));
    }
    const LISTED: usize = 12;
    let mut parts: Vec<String> = c
        .labels()
        .iter()
        .zip(&c.busiest)
        .take(LISTED)
        .map(|(label, services)| {
            let mut names: Vec<String> = services
                .iter()
                .take(3)
                .map(|(name, runs)| format!("{name} {runs}"))
                .collect();
            if services.len() > 3 {
                names.push(format!("{} more", services.len() - 3));
            }
            format!("{label}: {}", names.join(", "))
        })
        .collect();
    if c.busiest.len() > LISTED {
        parts.push(format!(
            "{} more variants in the JSON",
            c.busiest.len() - LISTED
        ));
    }
    Some(format!(
        "busiest service utilization % is the busiest service's of each run; the busiest, with \
         the runs it was the busiest in (of {seeds}): {}.",
        parts.join("; ")
    ))
}

fn write_notes<W: Write>(w: &mut W, c: &Comparison, prefix: &str) -> io::Result<()> {
    for note in notes(c) {
        writeln!(w)?;
        writeln!(w, "{prefix}{note}")?;
    }
    Ok(())
}

/// The paragraphs under the table: the definition of messages per request when the table
/// has that row, the `[[expect]]` failures when there were any.
pub(crate) fn notes(c: &Comparison) -> Vec<String> {
    let definition = c
        .row(MESSAGES_PER_REQUEST)
        .map(|_| MESSAGES_DEFINITION.to_string());
    busiest_note(c)
        .into_iter()
        .chain(definition)
        .chain(expect_note(c))
        .collect()
}

/// The JSON (`compare --json`): [`Comparison::to_value`], pretty-printed, trailing newline.
pub fn write_compare_json<W: Write>(mut w: W, c: &Comparison) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, &c.to_value()).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// The Markdown report: the same as the text, as a heading, paragraphs and a table.
pub fn write_compare_markdown<W: Write>(mut w: W, c: &Comparison) -> io::Result<()> {
    writeln!(w, "# meshsim compare\n")?;
    writeln!(w, "{}\n", escape(&verdict(c)))?;
    writeln!(w, "{}\n", escape(&seeds_line(c)))?;
    // The metric column left, the numbers right. A run's workloads always have metrics; a
    // `merge` of hand-made partial files without any prints `table_body`'s "none" row.
    let write_table = |w: &mut W, (header, rows): (Vec<String>, Vec<Vec<String>>)| {
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        table_body(w, &header, &[], rows)
    };
    write_table(&mut w, table(c))?;
    let paired = paired_table(c);
    if !paired.1.is_empty() {
        writeln!(w, "\n{}\n", escape(&paired_heading(c)))?;
        write_table(&mut w, paired)?;
    }
    for note in notes(c) {
        writeln!(w)?;
        writeln!(w, "{}", escape(&note))?;
    }
    Ok(())
}

/// The CSV: one line per metric and variant that has it on every seed or can be paired on
/// it: `metric,label,variant,seeds,mean,ci95,seed_S1,seed_S2,…,baseline,mean_diff,
/// diff_ci95,pairs,verdict` (`ci95` empty with one seed; the summary and seed columns empty
/// when some seed has no value; the paired columns empty for the baseline itself).
pub fn compare_csv(c: &Comparison) -> String {
    let mut out = String::from("metric,label,variant,seeds,mean,ci95");
    for s in &c.plan.seeds {
        out.push_str(&format!(",seed_{s}"));
    }
    out.push_str(",baseline,mean_diff,diff_ci95,pairs,verdict\n");
    let labels = c.labels();
    let base = csv::field(labels[c.baseline()]);
    for row in &c.rows {
        for (v, (label, cell)) in labels.iter().zip(&row.cells).enumerate() {
            let paired = row.paired[v].as_ref();
            if cell.is_none() && paired.is_none() {
                continue;
            }
            let mut fields = vec![
                csv::field(&row.key),
                csv::field(&row.info.label),
                csv::field(label),
            ];
            match cell {
                Some(cell) => {
                    fields.push(cell.summary.n.to_string());
                    fields.push(csv::number(cell.summary.mean));
                    fields.push(cell.summary.ci95.map(csv::number).unwrap_or_default());
                    fields.extend(cell.values.iter().map(|v| csv::number(*v)));
                }
                None => fields.extend((0..3 + c.plan.seeds.len()).map(|_| String::new())),
            }
            match paired {
                Some(p) => fields.extend([
                    base.clone(),
                    csv::number(p.diff.mean),
                    p.diff.ci95.map(csv::number).unwrap_or_default(),
                    p.pairs.to_string(),
                    p.judgement
                        .map(|j| csv::field(j.word()))
                        .unwrap_or_default(),
                ]),
                None => fields.extend((0..5).map(|_| String::new())),
            }
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}

/// Every file `compare --out DIR` writes, computed in memory first: compare.json (the bytes
/// of `--json`), compare.txt (the text report), compare.md, compare.csv and report.html.
pub fn compare_files(c: &Comparison) -> io::Result<Vec<(String, Vec<u8>)>> {
    Ok(vec![
        (
            "compare.json".to_string(),
            rendered(|w| write_compare_json(w, c))?,
        ),
        (
            "compare.txt".to_string(),
            rendered(|w| write_compare_text(w, c))?,
        ),
        (
            "compare.md".to_string(),
            rendered(|w| write_compare_markdown(w, c))?,
        ),
        ("compare.csv".to_string(), compare_csv(c).into_bytes()),
        (crate::html::FILE.to_string(), crate::html::compare_html(c)),
    ])
}

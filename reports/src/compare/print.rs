//! A [`Comparison`] as text, JSON, Markdown and CSV.

use std::io::{self, Write};

use super::{Cell, Comparison, MESSAGES_PER_REQUEST, Unit, verdict};
use crate::csv;
use crate::markdown::escape;

/// Decimals for a figure of `unit` about the size of `x`: about three significant digits for
/// milliseconds, one decimal for percentages (two below 1%), two for messages per request.
fn decimals(unit: Unit, x: f64) -> usize {
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

/// A percentage figure, without the sign.
pub(super) fn percent_text(x: f64) -> String {
    number(Unit::Percent, x)
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

/// The text report: the verdict, the seeds line, the table (first column left-aligned, the
/// others right-aligned), then the definitions and notes.
pub fn write_compare_text<W: Write>(mut w: W, c: &Comparison) -> io::Result<()> {
    writeln!(w, "{}", verdict(c))?;
    writeln!(w, "{}", seeds_line(c))?;
    writeln!(w)?;
    let (header, rows) = table(c);
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
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
    write_notes(&mut w, c, "")
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
    definition.into_iter().chain(expect_note(c)).collect()
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
    let (header, rows) = table(c);
    let line = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
        format!("| {} |", cells.join(" | "))
    };
    writeln!(w, "{}", line(&header))?;
    let align: Vec<&str> = (0..header.len())
        .map(|i| if i == 0 { ":---" } else { "---:" })
        .collect();
    writeln!(w, "|{}|", align.join("|"))?;
    for row in &rows {
        writeln!(w, "{}", line(row))?;
    }
    let mut notes = Vec::new();
    write_notes(&mut notes, c, "")?;
    w.write_all(escape(&String::from_utf8_lossy(&notes)).as_bytes())
}

/// The CSV: one line per metric and variant that has it:
/// `metric,label,variant,seeds,mean,ci95,seed_S1,seed_S2,…` (`ci95` empty with one seed).
pub fn compare_csv(c: &Comparison) -> String {
    let mut out = String::from("metric,label,variant,seeds,mean,ci95");
    for s in &c.plan.seeds {
        out.push_str(&format!(",seed_{s}"));
    }
    out.push('\n');
    let labels = c.labels();
    for row in &c.rows {
        for (label, cell) in labels.iter().zip(&row.cells) {
            let Some(cell) = cell else { continue };
            let mut fields = vec![
                csv::field(&row.key),
                csv::field(&row.info.label),
                csv::field(label),
                cell.summary.n.to_string(),
                csv::number(cell.summary.mean),
                cell.summary.ci95.map(csv::number).unwrap_or_default(),
            ];
            fields.extend(cell.values.iter().map(|v| csv::number(*v)));
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}

/// Every file `compare --out DIR` writes, computed in memory first: compare.json (the bytes
/// of `--json`), compare.txt (the text report), compare.md, compare.csv and report.html.
pub fn compare_files(c: &Comparison) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut json = Vec::new();
    write_compare_json(&mut json, c)?;
    let mut text = Vec::new();
    write_compare_text(&mut text, c)?;
    let mut markdown = Vec::new();
    write_compare_markdown(&mut markdown, c)?;
    Ok(vec![
        ("compare.json".to_string(), json),
        ("compare.txt".to_string(), text),
        ("compare.md".to_string(), markdown),
        ("compare.csv".to_string(), compare_csv(c).into_bytes()),
        (crate::html::FILE.to_string(), crate::html::compare_html(c)),
    ])
}

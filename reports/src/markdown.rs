//! The summary as Markdown (`report.md` in `run --out DIR`), for a pull request or a wiki:
//! the same first line and verdict as the text summary, the consistency section when the
//! scenario has flows, the plots as images, then the tables as Markdown tables (with the
//! messaging summary, when the run had a broker). Every number comes from the [`Report`], like
//! the text summary.

use std::io::{self, Write};

use crate::json::Report;
use crate::tables::{self, Table};
use crate::text::consistency;
use crate::text::{capacity_warnings, fault_warnings, fixed, verdict, warmup_line};

/// Writes the Markdown summary; `plots` are `(file name, title)` pairs linked as images.
pub fn write_markdown<W: Write>(
    mut w: W,
    report: &Report,
    plots: &[(&str, &str)],
) -> io::Result<()> {
    writeln!(w, "# {}\n", escape(&report.scenario))?;
    writeln!(
        w,
        "`seed={} scenario={} meshsim={} sim_time={:.3}s events={}`\n",
        report.seed, report.scenario, report.meshsim, report.sim_time_s, report.events
    )?;
    if let Some(line) = warmup_line(report) {
        writeln!(w, "{}\n", escape(&line))?;
    }
    writeln!(w, "{}", escape(&verdict(report)))?;
    for line in fault_warnings(report)
        .into_iter()
        .chain(capacity_warnings(report))
    {
        writeln!(w, "\n> {}", escape(&line))?;
    }
    write_consistency(&mut w, report)?;
    if !plots.is_empty() {
        writeln!(w, "\n## Plots\n")?;
        for (file, title) in plots {
            writeln!(w, "![{title}]({file})\n")?;
        }
    }
    // Always with the degraded column (the text report drops it when it is all zeros).
    write_table(&mut w, tables::workloads_with(report, true))?;
    write_messaging(&mut w, report)?;
    write_faults(&mut w, report)?;
    write_breakers(&mut w, report)?;
    for table in tables::service_tables(report) {
        write_table(&mut w, table)?;
    }
    let c = &report.calls;
    writeln!(
        w,
        "\n## Calls\n\nattempts {} ({} by clients, {} by services), retries {}, timeouts {}, \
         circuit open {}, amplification {}, fallbacks {}, bulkhead full {}, budget exhausted {}",
        c.attempts,
        c.client_attempts,
        c.service_attempts,
        c.retries,
        c.timeouts,
        c.circuit_open,
        fixed(c.amplification, 2),
        c.fallbacks,
        c.bulkhead_full,
        c.budget_exhausted
    )?;
    if c.mesh_retries > 0 {
        // Only where sidecars retried, so reports without sidecars read as they did.
        writeln!(w, "mesh retries {}", c.mesh_retries)?;
    }
    write_expectations(&mut w, report)
}

/// Per flow, what its instances ended as in words, then one row per flow; only when the
/// scenario has flows. Right after the verdict, as in the text summary.
fn write_consistency<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    if report.flows.is_empty() {
        return Ok(());
    }
    let t = tables::flows(report);
    writeln!(w, "\n## {}\n", t.title)?;
    for paragraph in consistency::paragraphs(report) {
        writeln!(w, "{}\n", escape(&paragraph))?;
    }
    table_body(w, t.header, t.left, t.rows)
}

/// The messaging answer, one row per queue and topic group, and the brokers; only when the
/// run had a broker.
fn write_messaging<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    if !report.messages.any() {
        return Ok(());
    }
    let t = tables::messaging(report);
    writeln!(w, "\n## {}\n", t.title)?;
    writeln!(w, "{}\n", escape(&tables::messaging_summary(report)))?;
    if !t.rows.is_empty() {
        table_body(w, t.header, t.left, t.rows)?;
    }
    write_table(w, tables::brokers(report))
}

fn write_faults<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    if report.faults.is_empty() {
        return Ok(());
    }
    let header = ["fault", "kind", "target", "window", "affected", "crashes"];
    let rows = report.faults.iter().enumerate().map(|(i, f)| {
        let end = if f.open_ended {
            "end".to_string()
        } else {
            format!("{:.1}s", f.at_s + f.for_s)
        };
        vec![
            (i + 1).to_string(),
            format!("{} {}", f.kind, f.detail).trim_end().to_string(),
            f.target.clone(),
            format!("{:.1}s–{end}", f.at_s),
            f.affected.to_string(),
            f.crashes.to_string(),
        ]
    });
    table(w, "Faults", &header, rows.collect())
}

fn write_breakers<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    let t = tables::breakers(report);
    if t.rows.is_empty() {
        return Ok(());
    }
    write_table(w, t)
}

fn write_table<W: Write>(w: &mut W, t: Table) -> io::Result<()> {
    writeln!(w, "\n## {}\n", t.title)?;
    table_body(w, t.header, t.left, t.rows)
}

fn write_expectations<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    if report.expect.is_empty() {
        return Ok(());
    }
    writeln!(w, "\n## Expectations\n")?;
    for e in &report.expect {
        let verdict = if e.passed { "PASS" } else { "**FAIL**" };
        writeln!(w, "- {verdict} {}", escape(&e.describe()))?;
    }
    Ok(())
}

/// A titled Markdown table: the first column left-aligned, the others right-aligned.
fn table<W: Write>(
    w: &mut W,
    title: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> io::Result<()> {
    writeln!(w, "\n## {title}\n")?;
    table_body(w, header, &[], rows)
}

/// A Markdown table (or `none`): the first column and the columns in `left` left-aligned,
/// the others right-aligned.
pub(crate) fn table_body<W: Write>(
    w: &mut W,
    header: &[&str],
    left: &[usize],
    rows: Vec<Vec<String>>,
) -> io::Result<()> {
    if rows.is_empty() {
        return writeln!(w, "none");
    }
    let cells: Vec<String> = header.iter().map(|h| escape(h)).collect();
    writeln!(w, "| {} |", cells.join(" | "))?;
    let align: Vec<&str> = (0..header.len())
        .map(|i| {
            if i == 0 || left.contains(&i) {
                ":---"
            } else {
                "---:"
            }
        })
        .collect();
    writeln!(w, "|{}|", align.join("|"))?;
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
        writeln!(w, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

/// Escapes the characters that would break a table cell or start markup.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

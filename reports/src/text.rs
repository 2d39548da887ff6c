//! The human summary of a run. It leads with the answer:
//!
//! 1. `seed=… scenario=…` first, so any run can be replayed from its first line;
//! 2. a one-paragraph verdict (success rate, latency and throughput per workload, the busiest
//!    service, failures by their main cause, expectations);
//! 3. then the tables: workloads, services (busiest first), errors by cause, endpoints, calls,
//!    expectations with PASS/FAIL and why.
//!
//! Plain text, aligned columns, no colours; every number comes from the [`Report`], so the
//! text and the JSON never disagree.

use std::io::{self, Write};

use crate::json::{Report, ServiceReport};

/// Verdict lines are wrapped at this width.
const WIDTH: usize = 100;

/// Writes the text summary of `report`.
pub fn write_text<W: Write>(mut w: W, report: &Report) -> io::Result<()> {
    writeln!(
        w,
        "seed={} scenario={} meshsim={} sim_time={:.3}s events={}",
        report.seed, report.scenario, report.meshsim, report.sim_time_s, report.events
    )?;
    writeln!(w)?;
    for line in wrap(&verdict(report), WIDTH) {
        writeln!(w, "{line}")?;
    }
    write_workloads(&mut w, report)?;
    write_services(&mut w, report)?;
    write_errors(&mut w, report)?;
    write_endpoints(&mut w, report)?;
    write_calls(&mut w, report)?;
    write_expectations(&mut w, report)
}

/// The answer in a few sentences.
pub fn verdict(report: &Report) -> String {
    let mut parts = Vec::new();
    for (name, wl) in report.workloads.iter() {
        if wl.sent == 0 {
            parts.push(format!("{name}: no requests sent after warmup."));
            continue;
        }
        parts.push(format!(
            "{name}: {} ok, p50 {} ms, p99 {} ms at {} rps.",
            pct(wl.ok, wl.sent),
            ms(wl.latency_ms.p50),
            ms(wl.latency_ms.p99),
            fixed(wl.throughput_rps, 1)
        ));
    }
    if let Some((name, s)) = busiest(report).first() {
        parts.push(format!(
            "Busiest service: {name} at {:.0}% utilization.",
            s.utilization * 100.0
        ));
    }
    parts.push(failures_sentence(report));
    let in_flight: u64 = report.workloads.iter().map(|(_, w)| w.in_flight).sum();
    if in_flight > 0 {
        parts.push(format!(
            "{in_flight} request(s) still had no outcome at the end of the run."
        ));
    }
    if !report.expect.is_empty() {
        let failed: Vec<&str> = report
            .failed_expectations()
            .map(|e| e.metric.as_str())
            .collect();
        parts.push(if failed.is_empty() {
            format!("Expectations: all {} passed.", report.expect.len())
        } else {
            format!(
                "Expectations: {} of {} FAILED ({}).",
                failed.len(),
                report.expect.len(),
                failed.join(", ")
            )
        });
    }
    parts.join(" ")
}

/// `Failures: 0.8%, mostly timeout.` over all workloads.
fn failures_sentence(report: &Report) -> String {
    let sent: u64 = report.workloads.iter().map(|(_, w)| w.sent).sum();
    let failed: u64 = report.workloads.iter().map(|(_, w)| w.failed).sum();
    if failed == 0 {
        return "Failures: none.".to_string();
    }
    let mut by_cause = [0u64; 5];
    let mut names = [""; 5];
    for (_, wl) in report.workloads.iter() {
        for (i, (cause, n)) in wl.failed_by.by_cause().into_iter().enumerate() {
            by_cause[i] += n;
            names[i] = cause;
        }
    }
    // Ties go to the cause listed first, so the sentence is deterministic.
    let top = (0..5).fold(0, |best, i| {
        if by_cause[i] > by_cause[best] {
            i
        } else {
            best
        }
    });
    format!("Failures: {}, mostly {}.", pct(failed, sent), names[top])
}

/// Services by utilization, highest first (ties in model order).
fn busiest(report: &Report) -> Vec<(&str, &ServiceReport)> {
    let mut services: Vec<(&str, &ServiceReport)> = report.services.iter().collect();
    services.sort_by(|a, b| b.1.utilization.total_cmp(&a.1.utilization));
    services
}

fn write_workloads<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    let header = [
        "workload",
        "sent",
        "ok",
        "ok %",
        "failed",
        "in flight",
        "p50 ms",
        "p99 ms",
        "rps",
    ];
    let rows = report.workloads.iter().map(|(name, wl)| {
        vec![
            name.to_string(),
            wl.sent.to_string(),
            wl.ok.to_string(),
            pct(wl.ok, wl.sent),
            wl.failed.to_string(),
            wl.in_flight.to_string(),
            ms_if(wl.ok > 0, wl.latency_ms.p50),
            ms_if(wl.ok > 0, wl.latency_ms.p99),
            fixed(wl.throughput_rps, 1),
        ]
    });
    section(w, "Workloads", &header, rows.collect())
}

fn write_services<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    let header = [
        "service",
        "replicas x workers",
        "utilization",
        "in system",
        "queued",
        "arrivals",
        "rejected",
    ];
    let rows = busiest(report).into_iter().map(|(name, s)| {
        vec![
            name.to_string(),
            format!("{} x {}", s.replicas, s.workers),
            format!("{:.1}%", s.utilization * 100.0),
            fixed(s.mean_in_system, 2),
            fixed(s.mean_queued, 2),
            s.arrivals.to_string(),
            s.rejected.to_string(),
        ]
    });
    section(w, "Services (busiest first)", &header, rows.collect())
}

fn write_errors<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    let header = [
        "workload",
        "failed",
        "timeout",
        "rejected",
        "circuit_open",
        "unavailable",
        "error",
    ];
    let rows: Vec<Vec<String>> = report
        .workloads
        .iter()
        .filter(|(_, wl)| wl.failed > 0)
        .map(|(name, wl)| {
            let mut row = vec![name.to_string(), wl.failed.to_string()];
            row.extend(wl.failed_by.by_cause().iter().map(|(_, n)| n.to_string()));
            row
        })
        .collect();
    if rows.is_empty() {
        writeln!(w, "\nErrors by cause\n  none")
    } else {
        section(w, "Errors by cause", &header, rows)
    }
}

fn write_endpoints<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    let header = [
        "endpoint",
        "arrivals",
        "completed",
        "rejected",
        "failed",
        "p50 ms",
        "p99 ms",
    ];
    let rows = report.endpoints.iter().map(|(name, e)| {
        vec![
            name.to_string(),
            e.arrivals.to_string(),
            e.completed.to_string(),
            e.rejected.to_string(),
            e.failed.to_string(),
            ms_if(e.completed > e.failed, e.latency_ms.p50),
            ms_if(e.completed > e.failed, e.latency_ms.p99),
        ]
    });
    section(w, "Endpoints", &header, rows.collect())
}

fn write_calls<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    let c = &report.calls;
    writeln!(w, "\nCalls")?;
    writeln!(
        w,
        "  attempts {}, retries {}, timeouts {}, circuit open {}, amplification {}",
        c.attempts,
        c.retries,
        c.timeouts,
        c.circuit_open,
        fixed(c.amplification, 2)
    )
}

fn write_expectations<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    if report.expect.is_empty() {
        return Ok(());
    }
    writeln!(w, "\nExpectations")?;
    for e in &report.expect {
        let verdict = if e.passed { "PASS" } else { "FAIL" };
        writeln!(w, "  {verdict}  {}", e.describe())?;
    }
    Ok(())
}

/// A titled table: first column left-aligned, the others right-aligned.
fn section<W: Write>(
    w: &mut W,
    title: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> io::Result<()> {
    writeln!(w, "\n{title}")?;
    if rows.is_empty() {
        return writeln!(w, "  none");
    }
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in std::iter::once(&head).chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            line.push_str("  ");
            if i == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `part` of `whole` as a percentage; never rounds a partial success up to 100%.
pub fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".to_string();
    }
    if part == whole {
        return "100%".to_string();
    }
    let p = part as f64 * 100.0 / whole as f64;
    let p = if p > 99.9 { 99.9 } else { p };
    format!("{p:.1}%")
}

/// Milliseconds with about three significant digits.
pub fn ms(x: f64) -> String {
    let decimals = if x >= 100.0 {
        0
    } else if x >= 10.0 {
        1
    } else if x >= 1.0 {
        2
    } else {
        3
    };
    fixed(x, decimals)
}

/// [`ms`], or `-` when there was no successful request to measure.
fn ms_if(measured: bool, x: f64) -> String {
    if measured { ms(x) } else { "-".to_string() }
}

fn fixed(x: f64, decimals: usize) -> String {
    format!("{x:.decimals$}")
}

/// Greedy word wrap.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

//! The human summary of a run. It leads with the answer:
//!
//! 1. `seed=… scenario=…` first, so any run can be replayed from its first line; then, with a
//!    warmup, the warmup rule in one line (`warmup=5s: …`), so no count is misread;
//! 2. a one-paragraph verdict (success rate, latency and throughput per workload, the share of
//!    each flow's instances left inconsistent when there are any, the busiest service,
//!    failures by their main cause, the faults and what they hit, expectations), then a
//!    warning line for every fault that hit nothing;
//! 3. consistency, when the scenario has flows: per flow, what its instances ended as in
//!    words (`text/consistency.rs`), then one row per flow;
//! 4. then the tables: workloads, messaging (when there is a broker: the answer in two
//!    sentences, then one row per queue and per topic group, then the brokers), faults, the
//!    run over time (when there were faults or breaker changes, or the run is short), circuit
//!    breakers, services (busiest first), errors by cause, endpoints, calls, expectations with
//!    PASS/FAIL and why.
//!
//! Plain text, aligned columns, no colours; every number comes from the [`Report`], so the
//! text and the JSON never disagree.

use std::io::{self, Write};

use crate::json::{FaultReport, Report, ServiceReport};
use crate::tables::{self, Table};
use sim_core::results::Cause;

mod capacity;
pub(crate) mod consistency;
pub(crate) mod over_time;
mod versions;

pub use capacity::capacity_warnings;

use over_time::write_over_time;

/// Verdict lines are wrapped at this width.
const WIDTH: usize = 100;
/// Breaker transitions listed per breaker before "… N more".
const MAX_TRANSITIONS: usize = 8;

/// Writes the text summary of `report`.
pub fn write_text<W: Write>(mut w: W, report: &Report) -> io::Result<()> {
    writeln!(
        w,
        "seed={} scenario={} meshsim={} sim_time={:.3}s events={}",
        report.seed, report.scenario, report.meshsim, report.sim_time_s, report.events
    )?;
    if let Some(line) = warmup_line(report) {
        writeln!(w, "{line}")?;
    }
    writeln!(w)?;
    for line in wrap(&verdict(report), WIDTH) {
        writeln!(w, "{line}")?;
    }
    for line in fault_warnings(report) {
        writeln!(w, "{line}")?;
    }
    for line in capacity_warnings(report) {
        writeln!(w, "{line}")?;
    }
    write_consistency(&mut w, report)?;
    write_table(&mut w, tables::workloads(report))?;
    write_messaging(&mut w, report)?;
    write_faults(&mut w, report)?;
    write_over_time(&mut w, report)?;
    write_breakers(&mut w, report)?;
    for table in tables::service_tables(report) {
        write_table(&mut w, table)?;
    }
    write_calls(&mut w, report)?;
    write_expectations(&mut w, report)
}

/// The warmup rule in one line, when the scenario has a warmup: nothing started before it is
/// counted anywhere, so a reader comparing two counts knows they cover the same work.
pub(crate) fn warmup_line(report: &Report) -> Option<String> {
    let t = &report.timeline;
    (t.warmup_s > 0.0).then(|| {
        format!(
            "warmup={}: work started before it is not counted anywhere; rates and averages \
             cover {}–{}",
            secs(t.warmup_s),
            secs(t.warmup_s),
            secs(t.duration_s)
        )
    })
}

/// The answer in a few sentences.
pub fn verdict(report: &Report) -> String {
    let mut parts = Vec::new();
    for (name, wl) in report.workloads.iter() {
        if wl.sent == 0 {
            parts.push(format!("{name}: no requests sent after warmup."));
            continue;
        }
        let degraded = if wl.degraded > 0 {
            format!(" + {} degraded", pct(wl.degraded, wl.sent))
        } else {
            String::new()
        };
        // No successful request has no latency: say so rather than print a p50.
        let latency = match (wl.latency_ms.p50, wl.latency_ms.p99) {
            (Some(p50), Some(p99)) => format!("p50 {} ms, p99 {} ms", ms(p50), ms(p99)),
            _ => "no latency (no request succeeded)".to_string(),
        };
        parts.push(format!(
            "{name}: {} ok{degraded}, {latency} at {} rps.",
            pct(wl.ok, wl.sent),
            fixed(wl.throughput_rps, 1)
        ));
    }
    parts.extend(consistency::headlines(report));
    if let Some((name, s)) = busiest(report).first() {
        parts.push(format!(
            "Busiest service: {name} at {:.0}% utilization.",
            s.utilization * 100.0
        ));
    }
    parts.push(failures_sentence(report));
    parts.extend(versions::rollback_sentence(report));
    parts.extend(
        report
            .services
            .iter()
            .filter_map(|(n, s)| autoscale_sentence(n, s)),
    );
    if !report.faults.is_empty() {
        let faults: Vec<String> = report.faults.iter().map(fault_sentence).collect();
        parts.push(format!("Faults: {}.", faults.join("; ")));
    }
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

/// `Autoscaler api: 5 scale events, 2 to 10 replicas (1,835 replica-seconds);
/// under-provisioned (fewer ready than desired) for 15 s.`: how long the autoscaler's lag
/// left the service short is the first thing to know about an autoscaled run.
fn autoscale_sentence(name: &str, s: &crate::json::ServiceReport) -> Option<String> {
    let a = s.autoscale.as_ref()?;
    let short = if a.under_provisioned_s > 0.0 {
        format!(
            "under-provisioned (fewer ready than desired) for {} s",
            short_secs(a.under_provisioned_s)
        )
    } else {
        "never under-provisioned".to_string()
    };
    Some(format!(
        "Autoscaler {name}: {} scale event(s), {} to {} replicas ({} replica-seconds); {short}.",
        s.scale_events,
        s.replicas,
        s.replicas_max,
        thousands(s.replica_seconds.round() as u64)
    ))
}

/// `crash of payment at 20s for 10s (hit 1,234 requests)`.
fn fault_sentence(f: &FaultReport) -> String {
    let when = if f.kind == "chaos" {
        String::new()
    } else if f.open_ended {
        format!(" from {} to the end", secs(f.at_s))
    } else {
        format!(" at {} for {}", secs(f.at_s), secs(f.for_s))
    };
    format!("{}{when} ({})", fault_name(f), fault_effect(f))
}

/// What a fault is, in words: `crash of payment`, `slow bank ×10`.
fn fault_name(f: &FaultReport) -> String {
    let detail = if f.detail.is_empty() {
        String::new()
    } else {
        format!(" {}", f.detail)
    };
    match f.kind.as_str() {
        "crash" => format!("crash of {}", f.target),
        "chaos" => format!("random crashes of {}", f.target),
        "partition" => format!("partition {}", f.target),
        "slow" if is_link(&f.target) => format!("slow link {}{detail}", f.target),
        "error" => format!("errors at {}{detail}", f.target),
        "loss" => format!("loss on {}{detail}", f.target),
        "broker-down" => format!("broker {} down", f.target),
        "duplicate" => format!("duplicates on {}{detail}", f.target),
        kind => format!("{kind} {}{detail}", f.target),
    }
}

/// What a fault hit, in words: `hit 1,234 requests`.
fn fault_effect(f: &FaultReport) -> String {
    let n = thousands(f.affected);
    match f.kind.as_str() {
        "crash" => format!("hit {n} requests"),
        "chaos" => format!("{} crashes, hit {n} requests", thousands(f.crashes)),
        "slow" if is_link(&f.target) => format!("delayed {n} messages"),
        "slow" => format!("slowed {n} requests"),
        "error" => format!("failed {n} requests"),
        "loss" | "partition" => format!("dropped {n} messages"),
        "broker-down" => format!("hit {n} messages"),
        "duplicate" => format!("duplicated {n} deliveries"),
        _ => format!("affected {n}"),
    }
}

fn is_link(target: &str) -> bool {
    target.contains("->") || target.contains('|')
}

/// One line per fault that hit nothing: a lesson must not pass because its fault missed.
pub fn fault_warnings(report: &Report) -> Vec<String> {
    report
        .faults
        .iter()
        .enumerate()
        .filter(|(_, f)| f.affected == 0)
        .map(|(i, f)| {
            let what = if f.kind == "chaos" {
                format!("chaos {}", f.target)
            } else {
                format!("{} {} at {}", f.kind, f.target, secs(f.at_s))
            };
            format!(
                "warning: fault {} ({what}) hit nothing — check its target and window; \
                 a lesson must not pass because a fault missed",
                i + 1
            )
        })
        .collect()
}

/// `Failures: 0.8%, mostly timeout.` over all workloads.
fn failures_sentence(report: &Report) -> String {
    let sent: u64 = report.workloads.iter().map(|(_, w)| w.sent).sum();
    let failed: u64 = report.workloads.iter().map(|(_, w)| w.failed).sum();
    if failed == 0 {
        return "Failures: none.".to_string();
    }
    let mut by_cause = [0u64; Cause::ALL.len()];
    let mut names = [""; Cause::ALL.len()];
    for (_, wl) in report.workloads.iter() {
        for (i, (cause, n)) in wl.failed_by.by_cause().into_iter().enumerate() {
            by_cause[i] += n;
            names[i] = cause;
        }
    }
    // Ties go to the cause listed first, so the sentence is deterministic.
    let top = (0..Cause::ALL.len()).fold(0, |best, i| {
        if by_cause[i] > by_cause[best] {
            i
        } else {
            best
        }
    });
    format!("Failures: {}, mostly {}.", pct(failed, sent), names[top])
}

/// Services by utilization, highest first (ties in model order).
pub(crate) fn busiest(report: &Report) -> Vec<(&str, &ServiceReport)> {
    let mut services: Vec<(&str, &ServiceReport)> = report.services.iter().collect();
    services.sort_by(|a, b| b.1.utilization.total_cmp(&a.1.utilization));
    services
}

/// Per flow, what its instances ended as in words, then one row per flow; only when the
/// scenario has flows. It comes right after the verdict: it is what users come for.
fn write_consistency<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    if report.flows.is_empty() {
        return Ok(());
    }
    let t = tables::flows(report);
    writeln!(w, "\n{}", t.title)?;
    for paragraph in consistency::paragraphs(report) {
        for line in wrap(&paragraph, WIDTH - 2) {
            writeln!(w, "  {line}")?;
        }
        writeln!(w)?;
    }
    section_rows(w, "", t.header, t.left, t.rows)
}

/// The messaging answer, one row per queue and topic group, and the brokers; only when the
/// run had a broker.
fn write_messaging<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    if !report.messages.any() {
        return Ok(());
    }
    let t = tables::messaging(report);
    writeln!(w, "\n{}", t.title)?;
    for line in wrap(&tables::messaging_summary(report), WIDTH - 2) {
        writeln!(w, "  {line}")?;
    }
    if !t.rows.is_empty() {
        // No queue or topic (a sync flow with a broker declared): the sentence says it all.
        writeln!(w)?;
        section_rows(w, "", t.header, t.left, t.rows)?;
    }
    write_table(w, tables::brokers(report))
}

fn write_faults<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    if report.faults.is_empty() {
        return Ok(());
    }
    write_table(w, tables::faults(report))
}

fn write_breakers<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    let changed: Vec<_> = report
        .breakers
        .iter()
        .filter(|b| !b.transitions.is_empty())
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    writeln!(w, "\nCircuit breakers")?;
    for b in changed {
        let times = if b.opened == 1 { "time" } else { "times" };
        writeln!(w, "  {} ({}): opened {} {times}", b.site, b.owner, b.opened)?;
        let mut steps: Vec<String> = b
            .transitions
            .iter()
            .take(MAX_TRANSITIONS)
            .map(|t| format!("{} at {}", t.state, secs(t.t_s)))
            .collect();
        if b.transitions.len() > MAX_TRANSITIONS {
            steps.push(format!("… {} more", b.transitions.len() - MAX_TRANSITIONS));
        }
        // Wrapped between transitions, never inside one.
        let mut line = String::new();
        for (i, step) in steps.iter().enumerate() {
            let piece = if i + 1 < steps.len() {
                format!("{step},")
            } else {
                step.clone()
            };
            if !line.is_empty() && line.chars().count() + 1 + piece.chars().count() > WIDTH - 4 {
                writeln!(w, "    {line}")?;
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&piece);
        }
        writeln!(w, "    {line}")?;
    }
    Ok(())
}

fn write_table<W: Write>(w: &mut W, t: Table) -> io::Result<()> {
    writeln!(w, "\n{}", t.title)?;
    section_rows(w, "", t.header, t.left, t.rows)
}

fn write_calls<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    let c = &report.calls;
    writeln!(w, "\nCalls")?;
    let mut line = format!(
        "  attempts {} ({} by clients, {} by services), retries {}, timeouts {}, circuit open {}, \
         amplification {}",
        c.attempts,
        c.client_attempts,
        c.service_attempts,
        c.retries,
        c.timeouts,
        c.circuit_open,
        fixed(c.amplification, 2)
    );
    for (label, n) in [
        ("mesh retries", c.mesh_retries),
        ("fallbacks", c.fallbacks),
        ("bulkhead full", c.bulkhead_full),
        ("budget exhausted", c.budget_exhausted),
    ] {
        if n > 0 {
            line.push_str(&format!(", {label} {n}"));
        }
    }
    writeln!(w, "{line}")
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
    if !report.all_passed() && !report.overrides.is_empty() {
        for line in wrap(&changed_lesson_note(&report.overrides), WIDTH - 2) {
            writeln!(w, "  {line}")?;
        }
    }
    Ok(())
}

/// Said when a variant made with `--set` fails an expectation: the expectations are the
/// lesson of the file as written, so a learner trying a lesson's "Try:" line is not told they
/// broke something.
pub fn changed_lesson_note(overrides: &[String]) -> String {
    format!(
        "Note: these expectations belong to the unmodified scenario; this run changed it \
         (--set {}), so a failure may be the point of the variant. The exit code is still 1; \
         run --no-expect skips the expectations.",
        overrides.join(" --set ")
    )
}

/// A table under an optional subtitle, indented by two more spaces when there is one. The
/// first column and the columns listed in `left` are left-aligned, the others right-aligned.
fn section_rows<W: Write>(
    w: &mut W,
    subtitle: &str,
    header: &[&str],
    left: &[usize],
    rows: Vec<Vec<String>>,
) -> io::Result<()> {
    let indent = if subtitle.is_empty() {
        ""
    } else {
        writeln!(w, "{subtitle}")?;
        "  "
    };
    if rows.is_empty() {
        return writeln!(w, "{indent}  none");
    }
    let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in std::iter::once(&head).chain(rows.iter()) {
        let mut line = indent.to_string();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            line.push_str("  ");
            if i == 0 || left.contains(&i) {
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

/// [`ms`], or `-` when nothing was measured (no successful request, no message).
pub(crate) fn ms_or_dash(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), ms)
}

/// Seconds without trailing zeros: `20s`, `21.3s`.
pub(crate) fn secs(x: f64) -> String {
    format!("{}s", short_secs(x))
}

fn short_secs(x: f64) -> String {
    let text = format!("{x:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn fixed(x: f64, decimals: usize) -> String {
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

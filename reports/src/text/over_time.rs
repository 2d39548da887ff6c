//! The "Over time" section of the text summary: per workload, the run from warmup to the end
//! of arrivals in a bounded number of rows of merged time buckets, each row marked with the
//! fault windows active in it.

use std::io::{self, Write};

use super::{ms_or_dash, pct, section_rows, short_secs};
use crate::json::Report;

/// The "Over time" tables have at most this many rows; adjacent buckets are merged to fit.
const MAX_TIME_ROWS: usize = 20;

/// The "Over time" section as data, for the text summary and report.html: the lines that
/// explain the rows, then one table per workload that sent anything.
pub(crate) struct OverTime {
    pub notes: Vec<String>,
    pub workloads: Vec<WorkloadRows>,
}

/// One workload's rows; `rows` is empty when it sent nothing after warmup.
pub(crate) struct WorkloadRows {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl WorkloadRows {
    /// The faults column, the last one: text, left-aligned.
    pub fn marker(&self) -> usize {
        self.header.len() - 1
    }
}

/// Per workload, the run in at most [`MAX_TIME_ROWS`] rows of merged time buckets, from
/// warmup to the end of arrivals, each row marked with the fault windows active in it.
/// Printed when there were faults or breaker changes, when the load changed over time (a
/// spike's effect, and what outlives it, shows only here), or when the run is short enough
/// to need no merging.
pub(super) fn write_over_time<W: Write>(w: &mut W, report: &Report) -> io::Result<()> {
    let Some(o) = over_time(report) else {
        return Ok(());
    };
    writeln!(w, "\nOver time")?;
    for note in &o.notes {
        writeln!(w, "  {note}")?;
    }
    for wl in &o.workloads {
        if wl.rows.is_empty() {
            writeln!(w, "  {}: no requests sent after warmup", wl.name)?;
            continue;
        }
        let marker = wl.marker();
        section_rows(
            w,
            &format!("  {}", wl.name),
            &wl.header.iter().map(String::as_str).collect::<Vec<_>>(),
            &[marker],
            wl.rows.clone(),
        )?;
    }
    Ok(())
}

/// The "Over time" section, or `None` when the report leaves it out: no faults, no breaker
/// changes, a load that does not change over time, no autoscaler, and a run too long to show
/// without merging buckets.
pub(crate) fn over_time(report: &Report) -> Option<OverTime> {
    let t = &report.timeline;
    let breakers_changed = report.breakers.iter().any(|b| !b.transitions.is_empty());
    let (first, last) = sending_range(report)?;
    let group = group_size(last - first);
    let scaled: Vec<(&str, &[f64])> = t
        .services
        .iter()
        .filter_map(|(n, s)| Some((n, s.replicas.as_deref()?)))
        .collect();
    if report.faults.is_empty()
        && !breakers_changed
        && !report.load_varies()
        && scaled.is_empty()
        && group > 1
    {
        return None;
    }
    let mut notes = Vec::new();
    if group > 1 {
        notes.push(format!(
            "{}s per row ({group} buckets of {}s)",
            short_secs(t.bucket_s * group as f64),
            short_secs(t.bucket_s)
        ));
    }
    if t.warmup_s > 0.0 {
        notes.push(format!(
            "the first {:.1}s are warmup, not counted: rows start at {:.1}s",
            t.warmup_s, t.warmup_s
        ));
    }
    let p99_header = if group > 1 {
        "p99 ms (max of buckets)"
    } else {
        "p99 ms"
    };
    let mut workloads = Vec::new();
    for (name, wl) in t.workloads.iter() {
        if wl.is_empty() {
            continue;
        }
        let upto = last.min(wl.len());
        if wl.sent[first.min(upto)..upto].iter().all(|&n| n == 0) {
            workloads.push(WorkloadRows {
                name: name.to_string(),
                header: Vec::new(),
                rows: Vec::new(),
            });
            continue;
        }
        let any_degraded = wl.degraded.iter().any(|&d| d > 0);
        let mut header: Vec<String> = ["t (s)", "sent", "ok %"].map(String::from).to_vec();
        if any_degraded {
            header.push("degraded %".to_string());
        }
        header.extend(["failed", p99_header].map(String::from));
        header.extend(scaled.iter().map(|(n, _)| format!("{n} replicas")));
        header.push("faults".to_string());
        // Rows start on multiples of the row width, so they read as round times.
        let mut rows = Vec::new();
        let mut start = first / group * group;
        while start < last && start < wl.len() {
            let end = (start + group).min(wl.len());
            let sum = |v: &[u64]| v[start..end].iter().sum::<u64>();
            let (sent, ok, degraded, failed) = (
                sum(&wl.sent),
                sum(&wl.ok),
                sum(&wl.degraded),
                sum(&wl.failed),
            );
            let p99 = wl.p99_ms[start..end]
                .iter()
                .flatten()
                .copied()
                .reduce(f64::max);
            // A row that begins inside the warmup shows only its counted part.
            let from_s = (start as f64 * t.bucket_s).max(t.warmup_s);
            let to_s = end as f64 * t.bucket_s;
            let mut row = vec![
                format!("{from_s:.1}–{to_s:.1}"),
                sent.to_string(),
                pct(ok, sent),
            ];
            if any_degraded {
                row.push(pct(degraded, sent));
            }
            row.push(failed.to_string());
            row.push(ms_or_dash(p99));
            for (_, replicas) in &scaled {
                row.push(mean_replicas(replicas, start, end));
            }
            row.push(active_faults(report, from_s, to_s));
            rows.push(row);
            start = end;
        }
        workloads.push(WorkloadRows {
            name: name.to_string(),
            header,
            rows,
        });
    }
    Some(OverTime { notes, workloads })
}

/// The mean of the autoscaled replicas over buckets `[start, end)`, one decimal (`-` when
/// the run kept none of them).
fn mean_replicas(replicas: &[f64], start: usize, end: usize) -> String {
    let kept = &replicas[start.min(replicas.len())..end.min(replicas.len())];
    if kept.is_empty() {
        return "-".to_string();
    }
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    format!("{mean:.1}")
}

/// Buckets `[first, last)` in which requests could be sent: warmup to the end of arrivals,
/// within the buckets the run kept. `None` when no workload kept any bucket.
fn sending_range(report: &Report) -> Option<(usize, usize)> {
    let t = &report.timeline;
    let len = t.workloads.iter().map(|(_, w)| w.len()).max()?;
    if len == 0 || t.bucket_s <= 0.0 {
        return None;
    }
    let first = ((t.warmup_s / t.bucket_s) + 1e-9).floor() as usize;
    let last = ((t.duration_s / t.bucket_s) - 1e-9).ceil().max(0.0) as usize;
    let last = last.min(len);
    let first = first.min(last.saturating_sub(1));
    Some((first, last.max(first + 1)))
}

/// Buckets per row: the smallest of 1, 2, 5, 10, 20, 50, … that keeps `n` buckets within
/// [`MAX_TIME_ROWS`] rows (one more row may appear when the range starts mid-row).
fn group_size(n: usize) -> usize {
    let mut scale = 1;
    loop {
        for step in [1, 2, 5] {
            let group = step * scale;
            if n.div_ceil(group) <= MAX_TIME_ROWS {
                return group;
            }
        }
        scale *= 10;
    }
}

/// `<- crash payment, slow bank` for the fault windows overlapping `[from_s, to_s)`; chaos
/// crashes happen at random times and are not marked.
fn active_faults(report: &Report, from_s: f64, to_s: f64) -> String {
    let active: Vec<String> = report
        .faults
        .iter()
        .filter(|f| f.kind != "chaos" && f.active_during(from_s, to_s))
        .map(|f| format!("{} {}", f.kind, f.target))
        .collect();
    if active.is_empty() {
        String::new()
    } else {
        format!("<- {}", active.join(", "))
    }
}

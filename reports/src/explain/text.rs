//! `meshsim explain`'s text: the answer first, then a table per resource and per workload.

use std::io::{self, Write};

use super::Explain;

/// A number for the text table: `-` when absent.
fn cell(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

/// A rate for the headline: whole numbers from 100 up, else enough decimals to not read 0.
fn rate(x: f64) -> String {
    if x >= 100.0 || x == 0.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{:.0}%", v * 100.0))
}

/// The text summary: the answer first, then a table per resource and per workload.
pub fn write_explain_text<W: Write>(out: &mut W, e: &Explain) -> io::Result<()> {
    match (&e.bottleneck, e.max_rate_rps) {
        (Some(b), Some(max)) => writeln!(
            out,
            "bottleneck: {b} at {} for {} rps; max sustainable rate \u{2248} {} rps",
            percent(e.bottleneck_utilization),
            rate(e.rate_rps),
            rate(max),
        )?,
        _ => writeln!(
            out,
            "bottleneck: none (no request reaches a service with work)"
        )?,
    }
    writeln!(
        out,
        "From the model alone: no queueing; a worker waiting on a call is held; retries ignored; parallel calls: {}.",
        e.parallel_calls
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "  {:<20} {:>8} {:>8} {:>10} {:>12} {:>8} {:>10}",
        "service", "capacity", "visits", "held ms", "ms/request", "util", "max rps"
    )?;
    for (name, s) in e.services.iter() {
        writeln!(
            out,
            "  {:<20} {:>8} {:>8.3} {:>10} {:>12} {:>8} {:>10}",
            name,
            format!("{}x{}", s.replicas, s.workers),
            s.visits,
            cell(s.held_ms, 3),
            cell(s.held_ms_per_request, 3),
            percent(s.utilization),
            cell(s.max_rate_rps, 1),
        )?;
    }
    for (name, b) in e.brokers.iter() {
        writeln!(
            out,
            "  {:<20} {:>8} {:>8.3} {:>10} {:>12} {:>8} {:>10}",
            format!("broker:{name}"),
            format!("{}/s", b.capacity_per_s),
            b.deliveries,
            "-",
            "-",
            percent(b.utilization),
            cell(b.max_rate_rps, 1),
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "  {:<20} {:>10} {:>12} {:>20} {:>10} {:>8}",
        "workload", "rate rps", "response ms", "bottleneck", "max rps", "N*"
    )?;
    for (name, w) in e.workloads.iter() {
        let rate = match w.rate_basis {
            "open" => cell(w.rate_rps, 1),
            basis => format!("{} ({basis})", cell(w.rate_rps, 1)),
        };
        writeln!(
            out,
            "  {:<20} {:>10} {:>12} {:>20} {:>10} {:>8}",
            name,
            rate,
            cell(w.response_ms, 3),
            w.bottleneck.as_deref().unwrap_or("-"),
            cell(w.max_rate_rps, 1),
            cell(w.saturation_users, 1),
        )?;
    }
    Ok(())
}

//! Time series as CSV: `timeseries.csv` (one row per time bucket and workload) and
//! `services.csv` (one row per time bucket and service).
//!
//! Rows come bucket by bucket, then in model order within a bucket. Numbers are printed
//! plainly: counts as integers, times and figures as Rust's shortest round-trip form of the
//! value rounded to [`crate::json::DECIMALS`] decimals (`0.5`, `12.25`, `0`), so the same
//! results always give the same bytes. A bucket starts at `t_s = i * bucket_s`.

use sim_core::results::{Cause, RunResults};

use crate::json::{Report, round};

/// Header of `timeseries.csv`.
pub const TIMESERIES_HEADER: &str = "t_s,workload,sent,ok,degraded,failed,timeout,rejected,circuit_open,unavailable,error,p50_ms,p99_ms";
/// Header of `services.csv`.
pub const SERVICES_HEADER: &str = "t_s,service,in_system";

/// `timeseries.csv`: per bucket and workload, the requests sent in the bucket and their
/// outcomes, failures by cause, and p50/p99 of the successful ones (0 when none).
///
/// The bucket count is the report's timeline length; the per-cause counts come from
/// `results` (the report keeps only the total), 0 for buckets the run did not keep.
pub fn timeseries_csv(results: &RunResults, report: &Report) -> String {
    let t = &report.timeline;
    let mut out = String::from(TIMESERIES_HEADER);
    out.push('\n');
    let n = t.workloads.iter().map(|(_, w)| w.len()).max().unwrap_or(0);
    for i in 0..n {
        let t_s = number(i as f64 * t.bucket_s);
        for (k, (name, wl)) in t.workloads.iter().enumerate() {
            if i >= wl.len() {
                continue;
            }
            let bucket = results.workloads.get(k).and_then(|w| w.buckets.get(i));
            let causes: Vec<String> = Cause::ALL
                .iter()
                .map(|&c| bucket.map_or(0, |b| b.failed.get(c)).to_string())
                .collect();
            out.push_str(&format!(
                "{t_s},{},{},{},{},{},{},{},{}\n",
                field(name),
                wl.sent[i],
                wl.ok[i],
                wl.degraded[i],
                wl.failed[i],
                causes.join(","),
                number(wl.p50_ms[i]),
                number(wl.p99_ms[i]),
            ));
        }
    }
    out
}

/// `services.csv`: per bucket and service, the time-average of requests queued or in service.
pub fn services_csv(report: &Report) -> String {
    let t = &report.timeline;
    let mut out = String::from(SERVICES_HEADER);
    out.push('\n');
    let n = t
        .services
        .iter()
        .map(|(_, s)| s.in_system.len())
        .max()
        .unwrap_or(0);
    for i in 0..n {
        let t_s = number(i as f64 * t.bucket_s);
        for (name, s) in t.services.iter() {
            if let Some(&x) = s.in_system.get(i) {
                out.push_str(&format!("{t_s},{},{}\n", field(name), number(x)));
            }
        }
    }
    out
}

/// A float rounded to the report's decimals, in its shortest form (`0`, `0.5`, `12.25`).
fn number(x: f64) -> String {
    format!("{}", round(x))
}

/// A name as a CSV field: quoted (RFC 4180) only when it holds a comma, quote or newline.
fn field(name: &str) -> String {
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: numbers print plainly and deterministically, names are quoted only when needed.
    #[test]
    fn plain_numbers_and_quoted_names() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(12.25), "12.25");
        assert_eq!(number(1.0 / 3.0), "0.333333");
        assert_eq!(number(f64::NAN), "0");
        assert_eq!(field("checkout"), "checkout");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

//! Time series as CSV: `timeseries.csv` (one row per time bucket and workload) and
//! `services.csv` (one row per time bucket and service); with a broker, also `messages.csv`
//! (one row per queue and topic group, every figure of `messages` in the JSON report) and
//! `queue-depth.csv` (one row per time bucket and queue or topic group); with flows, also
//! `flows.csv` (one row per flow, every number of `flows` in the JSON report) and
//! `flows-inconsistent.csv` (one row per flow and set of steps left applied).
//!
//! Rows come bucket by bucket, then in model order within a bucket. Numbers are printed
//! plainly: counts as integers, times and figures as Rust's shortest round-trip form of the
//! value rounded to [`crate::json::DECIMALS`] decimals (`0.5`, `12.25`, `0`), so the same
//! results always give the same bytes. A bucket starts at `t_s = i * bucket_s`.

use sim_core::results::{Cause, RunResults};

use crate::json::{LatencyMs, Report, round, step_set};

/// Header of `timeseries.csv`.
pub const TIMESERIES_HEADER: &str = "t_s,workload,sent,ok,degraded,failed,timeout,rejected,circuit_open,unavailable,error,rate_limited,shed,p50_ms,p99_ms";
/// Header of `services.csv`.
pub const SERVICES_HEADER: &str = "t_s,service,in_system";

/// Header of `messages.csv`.
pub const MESSAGES_HEADER: &str = "kind,name,group,consumer,published,delivered,redelivered,duplicates,acknowledged,dead_lettered,queued,in_flight,lost,deduplicated,duplicate_effects,out_of_order,lag_mean_ms,lag_p50_ms,lag_p90_ms,lag_p99_ms,lag_p999_ms,lag_max_ms,wait_mean_ms,wait_p50_ms,wait_p90_ms,wait_p99_ms,wait_p999_ms,wait_max_ms,depth_mean,depth_max";
/// Header of `queue-depth.csv`.
pub const QUEUE_DEPTH_HEADER: &str = "t_s,kind,name,group,depth";

/// Header of `flows.csv`.
pub const FLOWS_HEADER: &str = "flow,style,started,completed,compensated,inconsistent,pending,duplicate_effects,client_mismatch,inconsistent_rate,latency_mean_ms,latency_p50_ms,latency_p90_ms,latency_p99_ms,latency_p999_ms,latency_max_ms,consistency_mean_ms,consistency_p50_ms,consistency_p90_ms,consistency_p99_ms,consistency_p999_ms,consistency_max_ms";
/// Header of `flows-inconsistent.csv`.
pub const FLOWS_INCONSISTENT_HEADER: &str = "flow,left_applied,not_applied,count";

/// `timeseries.csv`: per bucket and workload, the requests sent in the bucket and their
/// outcomes, failures by cause, and p50/p99 of the successful ones (`-` when none).
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
                number_or_dash(wl.p50_ms[i]),
                number_or_dash(wl.p99_ms[i]),
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

/// `messages.csv`: one row per queue, then per group of each topic, in model order. `kind` is
/// `queue` or `group`; `name` the queue's or the topic's name; `group` the group's name
/// (empty for a queue); `consumer` is empty for a queue nobody reads.
pub fn messages_csv(report: &Report) -> String {
    let mut out = String::from(MESSAGES_HEADER);
    out.push('\n');
    for (name, c) in report.messages.channels() {
        let counts = [
            c.published,
            c.delivered,
            c.redelivered,
            c.duplicates,
            c.acknowledged,
            c.dead_lettered,
            c.queued,
            c.in_flight,
            c.lost,
            c.deduplicated,
            c.duplicate_effects,
            c.out_of_order,
        ];
        let mut row = vec![
            name.kind().to_string(),
            field(name.name),
            field(name.group.unwrap_or("")),
            field(&c.consumer),
        ];
        row.extend(counts.iter().map(u64::to_string));
        row.extend(latency(&c.lag_ms));
        row.extend(latency(&c.wait_ms));
        row.push(number(c.depth_mean));
        row.push(c.depth_max.to_string());
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// `queue-depth.csv`: per bucket, each queue's then each topic group's time-average of copies
/// queued or in flight (the `timeline` depth arrays).
pub fn queue_depth_csv(report: &Report) -> String {
    let t = &report.timeline;
    let mut out = String::from(QUEUE_DEPTH_HEADER);
    out.push('\n');
    let n = t.depths().map(|(_, d)| d.len()).max().unwrap_or(0);
    for i in 0..n {
        let t_s = number(i as f64 * t.bucket_s);
        for (name, depth) in t.depths() {
            if let Some(&x) = depth.get(i) {
                out.push_str(&format!(
                    "{t_s},{},{},{},{}\n",
                    name.kind(),
                    field(name.name),
                    field(name.group.unwrap_or("")),
                    number(x)
                ));
            }
        }
    }
    out
}

/// `flows.csv`: one row per flow, in model order, with every number of `flows.NAME` in the
/// JSON report (`left_applied` is in `flows-inconsistent.csv`).
pub fn flows_csv(report: &Report) -> String {
    let mut out = String::from(FLOWS_HEADER);
    out.push('\n');
    for (name, f) in report.flows.iter() {
        let counts = [
            f.started,
            f.completed,
            f.compensated,
            f.inconsistent,
            f.pending,
            f.duplicate_effects,
            f.client_mismatch,
        ];
        let mut row = vec![field(name), field(&f.style)];
        row.extend(counts.iter().map(u64::to_string));
        row.push(number_or_dash(f.inconsistent_rate));
        row.extend(latency(&f.latency_ms));
        row.extend(latency(&f.consistency_ms));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// `flows-inconsistent.csv`: per flow, one row per set of steps its inconsistent instances
/// left applied (the JSON's `left_applied`, in the same order): the set as the JSON names it,
/// the steps not applied (joined by ` + ` the same way), and how many instances ended so.
/// Only the header when no instance was inconsistent.
pub fn flows_inconsistent_csv(report: &Report) -> String {
    let mut out = String::from(FLOWS_INCONSISTENT_HEADER);
    out.push('\n');
    for (name, f) in report.flows.iter() {
        let labels = f.step_labels();
        let all = (1u64 << labels.len()) - 1;
        for &(mask, n) in &f.left_applied_masks {
            let missing = (all & !u64::from(mask)) as u32;
            out.push_str(&format!(
                "{},{},{},{n}\n",
                field(name),
                field(&step_set(&labels, mask)),
                field(&step_set(&labels, missing)),
            ));
        }
    }
    out
}

/// The six latency figures, in the order of [`LatencyMs`].
fn latency(l: &LatencyMs) -> [String; 6] {
    [l.mean, l.p50, l.p90, l.p99, l.p999, l.max].map(number_or_dash)
}

/// [`number`], or `-` for a statistic of an empty set (as the text report prints it; an
/// empty field would read as 0 in a spreadsheet's sums).
pub(crate) fn number_or_dash(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), number)
}

/// A float rounded to the report's decimals, in its shortest form (`0`, `0.5`, `12.25`).
pub(crate) fn number(x: f64) -> String {
    format!("{}", round(x))
}

/// A name as a CSV field: quoted (RFC 4180) only when it holds a comma, quote or newline.
pub(crate) fn field(name: &str) -> String {
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
        assert_eq!(number_or_dash(None), "-");
        assert_eq!(field("checkout"), "checkout");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}

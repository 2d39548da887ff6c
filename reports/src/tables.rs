//! The contents of the tables that the text and the Markdown reports both print: one
//! definition of each table's columns and rows, two renderings.

use crate::json::Report;
use crate::text::{busiest, fixed, ms_if};

/// A titled table: a header and rows of cells, first column a name.
pub(crate) struct Table {
    pub title: &'static str,
    pub header: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

/// Services, busiest first.
pub(crate) fn services(report: &Report) -> Table {
    let rows = busiest(report)
        .into_iter()
        .map(|(name, s)| {
            vec![
                name.to_string(),
                format!("{} x {}", s.replicas, s.workers),
                format!("{:.1}%", s.utilization * 100.0),
                fixed(s.mean_in_system, 2),
                fixed(s.mean_queued, 2),
                s.arrivals.to_string(),
                s.rejected.to_string(),
            ]
        })
        .collect();
    Table {
        title: "Services (busiest first)",
        header: &[
            "service",
            "replicas x workers",
            "utilization",
            "in system",
            "queued",
            "arrivals",
            "rejected",
        ],
        rows,
    }
}

/// Failures by cause, for the workloads that had any (no rows: none failed).
pub(crate) fn errors(report: &Report) -> Table {
    let rows = report
        .workloads
        .iter()
        .filter(|(_, wl)| wl.failed > 0)
        .map(|(name, wl)| {
            let mut row = vec![name.to_string(), wl.failed.to_string()];
            row.extend(wl.failed_by.by_cause().iter().map(|(_, n)| n.to_string()));
            row
        })
        .collect();
    Table {
        title: "Errors by cause",
        header: &[
            "workload",
            "failed",
            "timeout",
            "rejected",
            "circuit_open",
            "unavailable",
            "error",
        ],
        rows,
    }
}

/// Every endpoint, as its replicas counted it.
pub(crate) fn endpoints(report: &Report) -> Table {
    let rows = report
        .endpoints
        .iter()
        .map(|(name, e)| {
            vec![
                name.to_string(),
                e.arrivals.to_string(),
                e.completed.to_string(),
                e.rejected.to_string(),
                e.failed.to_string(),
                ms_if(e.completed > e.failed, e.latency_ms.p50),
                ms_if(e.completed > e.failed, e.latency_ms.p99),
            ]
        })
        .collect();
    Table {
        title: "Endpoints",
        header: &[
            "endpoint",
            "arrivals",
            "completed",
            "rejected",
            "failed",
            "p50 ms",
            "p99 ms",
        ],
        rows,
    }
}

//! The contents of the tables (and the messaging summary) that the text and the Markdown
//! reports both print: one definition of each table's columns and rows, two renderings. (The
//! consistency paragraphs live in `text/consistency.rs`.)

use crate::json::Report;
use crate::text::{busiest, fixed, ms, ms_or_dash, pct, secs, thousands};

/// A titled table: a header and rows of cells, first column a name.
pub(crate) struct Table {
    pub title: &'static str,
    pub header: &'static [&'static str],
    /// Columns besides the first that hold text, left-aligned; the others are numbers,
    /// right-aligned.
    pub left: &'static [usize],
    pub rows: Vec<Vec<String>>,
}

/// The tables both reports print, in this order, between the faults and the calls: services,
/// versions, admission, errors, endpoints and abandoned requests. Versions, admission and
/// abandoned requests only when they have rows (a scenario without the feature shows no
/// empty table); the others always, so a reader finds them in the same place.
pub(crate) fn service_tables(report: &Report) -> impl Iterator<Item = Table> {
    let optional = |t: Table| (!t.rows.is_empty()).then_some(t);
    [
        Some(services(report)),
        optional(versions(report)),
        optional(admission(report)),
        Some(errors(report)),
        Some(endpoints(report)),
        optional(abandoned(report)),
    ]
    .into_iter()
    .flatten()
}

/// Services, busiest first.
pub(crate) fn services(report: &Report) -> Table {
    let rows = busiest(report)
        .into_iter()
        .map(|(name, s)| {
            vec![
                name.to_string(),
                // An autoscaled service: from its start to the most it ran.
                match &s.autoscale {
                    Some(_) => format!("{}–{} x {}", s.replicas, s.replicas_max, s.workers),
                    None => format!("{} x {}", s.replicas, s.workers),
                },
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
        left: &[],
        rows,
    }
}

/// Every version of every service that has versions: the base, then each version, with its
/// weight at the end, its traffic, its failures and latency, and when it was rolled back
/// (no rows: no service has versions).
pub(crate) fn versions(report: &Report) -> Table {
    let mut rows = Vec::new();
    for (service, s) in report.services.iter() {
        for (name, v) in s.versions.iter() {
            let failed = if v.arrivals == 0 {
                "-".to_string()
            } else {
                format!("{:.2}%", v.failed as f64 * 100.0 / v.arrivals as f64)
            };
            rows.push(vec![
                service.to_string(),
                name.to_string(),
                format!("{}%", fixed(v.weight, 1)),
                v.replicas.to_string(),
                v.arrivals.to_string(),
                failed,
                ms_or_dash(v.latency_ms.p50),
                ms_or_dash(v.latency_ms.p99),
                v.rolled_back_at_s
                    .map_or("-".to_string(), |t| format!("{}s", fixed(t, 2))),
            ]);
        }
    }
    Table {
        title: "Versions (weight at the end of the run)",
        header: &[
            "service",
            "version",
            "weight",
            "replicas",
            "arrivals",
            "failed",
            "p50 ms",
            "p99 ms",
            "rolled back",
        ],
        left: &[1],
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
            "rate_limited",
            "shed",
        ],
        left: &[],
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
                e.rejected.to_string(),
                e.completed.to_string(),
                e.ok.to_string(),
                e.failed.to_string(),
                ms_or_dash(e.latency_ms.p50),
                ms_or_dash(e.latency_ms.p99),
            ]
        })
        .collect();
    Table {
        title: "Endpoints",
        header: &[
            "endpoint",
            "arrivals",
            "rejected",
            "completed",
            "ok",
            "failed",
            "p50 ms",
            "p99 ms",
        ],
        left: &[],
        rows,
    }
}

/// Services whose admission control turned work away (no rows: none did, or none has
/// `rate_limit` or `shed`).
pub(crate) fn admission(report: &Report) -> Table {
    let rows = report
        .services
        .iter()
        .filter(|(_, s)| s.rate_limited > 0 || s.shed > 0)
        .map(|(name, s)| {
            vec![
                name.to_string(),
                s.arrivals.to_string(),
                s.rate_limited.to_string(),
                s.shed.to_string(),
            ]
        })
        .collect();
    Table {
        title: "Admission control (refused by a rate limit, dropped by load shedding)",
        header: &["service", "arrivals", "rate_limited", "shed"],
        left: &[],
        rows,
    }
}

/// Endpoints that served work nobody waited for any more (no rows: none did).
pub(crate) fn abandoned(report: &Report) -> Table {
    let rows = report
        .endpoints
        .iter()
        .filter(|(_, e)| e.abandoned > 0)
        .map(|(name, e)| {
            vec![
                name.to_string(),
                e.abandoned.to_string(),
                e.arrivals.to_string(),
            ]
        })
        .collect();
    Table {
        title: "Abandoned work (served, or still at a replica at the end, after the caller gave up)",
        header: &["endpoint", "abandoned", "arrivals"],
        left: &[],
        rows,
    }
}

/// Every queue and every consumer group (`topic/group`), in model order: what came in, what
/// was processed, what was left at the end, lag and depth.
pub(crate) fn messaging(report: &Report) -> Table {
    let rows = report
        .messages
        .channels()
        .map(|(name, c)| {
            let consumer = if c.consumer.is_empty() {
                "-".to_string()
            } else {
                c.consumer.clone()
            };
            vec![
                name.to_string(),
                consumer,
                c.published.to_string(),
                c.acknowledged.to_string(),
                c.redelivered.to_string(),
                c.dead_lettered.to_string(),
                (c.queued + c.in_flight).to_string(),
                ms_or_dash(c.lag_ms.p50),
                ms_or_dash(c.lag_ms.p99),
                fixed(c.depth_mean, 1),
                c.depth_max.to_string(),
            ]
        })
        .collect();
    Table {
        title: "Messaging",
        header: &[
            "queue / group",
            "consumer",
            "published",
            "acked",
            "redelivered",
            "dead-lettered",
            "left at end",
            "lag p50 ms",
            "lag p99 ms",
            "depth mean",
            "depth max",
        ],
        left: &[1],
        rows,
    }
}

/// Every broker: publishes accepted and refused, dispatches, messages lost, capacity used.
pub(crate) fn brokers(report: &Report) -> Table {
    let rows = report
        .messages
        .brokers
        .iter()
        .map(|(name, b)| {
            vec![
                name.to_string(),
                b.published.to_string(),
                b.publish_failed.to_string(),
                b.delivered.to_string(),
                b.lost.to_string(),
                match b.utilization {
                    Some(u) => format!("{:.1}%", u * 100.0),
                    None => "unlimited".to_string(),
                },
            ]
        })
        .collect();
    Table {
        title: "Brokers",
        header: &[
            "broker",
            "published",
            "refused",
            "delivered",
            "lost",
            "utilization",
        ],
        left: &[],
        rows,
    }
}

/// The messaging answer in two sentences: how many messages were published and processed,
/// the lag and where it is worst; then what went wrong, each only when it happened
/// (dead-lettered, redelivered, duplicates applied twice, out of order, left at the end), and
/// whether anything was lost.
pub(crate) fn messaging_summary(report: &Report) -> String {
    let m = &report.messages;
    if m.published == 0 && m.publish_failed == 0 {
        return "No messages were published.".to_string();
    }
    let fan_out = m.topics.iter().any(|(_, t)| t.groups.len() > 1);
    let copies = if fan_out {
        " (each group of a topic processes its own copy)"
    } else {
        ""
    };
    let mut first = format!(
        "{} messages published, {} processed{copies}",
        thousands(m.published),
        thousands(m.acknowledged)
    );
    if let Some(lag_p99) = m.lag_ms.p99 {
        first.push_str(&format!("; lag p99 {} ms", ms(lag_p99)));
        // Where it is worst, when there is more than one place to compare (ties: model order).
        let mut worst = None;
        let mut places = 0;
        for (name, p99) in m.channels().filter_map(|(n, c)| Some((n, c.lag_ms.p99?))) {
            places += 1;
            if worst.is_none_or(|(_, worst_p99)| p99 > worst_p99) {
                worst = Some((name, p99));
            }
        }
        if let (true, Some((name, p99))) = (places > 1, worst) {
            first.push_str(&format!(", worst at {name} ({} ms)", ms(p99)));
        }
    }
    let mut trouble = Vec::new();
    let left = m.queued + m.in_flight;
    for (n, what) in [
        (
            m.publish_failed,
            "publishes refused while their broker was down",
        ),
        (m.dead_lettered, "dead-lettered"),
        (m.redelivered, "redelivered"),
        (m.duplicate_effects, "duplicates applied twice"),
        (m.out_of_order, "processed out of order"),
        (left, "still queued or in flight at the end"),
        (m.lost, "lost"),
    ] {
        if n > 0 {
            trouble.push(format!("{} {what}", thousands(n)));
        }
    }
    if m.lost == 0 {
        trouble.push("nothing lost".to_string());
    }
    let second = trouble.join("; ");
    let mut chars = second.chars();
    let second: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    format!("{first}. {second}.")
}

/// Every flow, in model order: what its instances ended as, what went wrong, and the client's
/// latency next to the time the system took to agree (`-` when not measured).
pub(crate) fn flows(report: &Report) -> Table {
    let rows = report
        .flows
        .iter()
        .map(|(name, f)| {
            vec![
                name.to_string(),
                f.style.clone(),
                f.started.to_string(),
                f.completed.to_string(),
                f.compensated.to_string(),
                f.inconsistent.to_string(),
                f.pending.to_string(),
                f.duplicate_effects.to_string(),
                f.client_mismatch.to_string(),
                ms_or_dash(f.latency_ms.p50),
                ms_or_dash(f.latency_ms.p99),
                ms_or_dash(f.consistency_ms.p50),
                ms_or_dash(f.consistency_ms.p99),
            ]
        })
        .collect();
    Table {
        title: "Consistency",
        header: &[
            "flow",
            "style",
            "started",
            "completed",
            "compensated",
            "inconsistent",
            "pending",
            "dup effects",
            "client mismatch",
            "client p50 ms",
            "client p99 ms",
            "consistency p50 ms",
            "consistency p99 ms",
        ],
        left: &[1],
        rows,
    }
}

const WORKLOADS_PLAIN: &[&str] = &[
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
const WORKLOADS_DEGRADED: &[&str] = &[
    "workload",
    "sent",
    "ok",
    "ok %",
    "degraded",
    "failed",
    "in flight",
    "p50 ms",
    "p99 ms",
    "rps",
];

/// Every workload: what was sent and what became of it, latency of the successful ones and
/// throughput; the `degraded` column only when a fallback answered some request.
pub(crate) fn workloads(report: &Report) -> Table {
    let any_degraded = report.workloads.iter().any(|(_, wl)| wl.degraded > 0);
    workloads_with(report, any_degraded)
}

/// [`workloads`], with the `degraded` column or without it.
pub(crate) fn workloads_with(report: &Report, any_degraded: bool) -> Table {
    let rows = report
        .workloads
        .iter()
        .map(|(name, wl)| {
            let mut row = vec![
                name.to_string(),
                wl.sent.to_string(),
                wl.ok.to_string(),
                pct(wl.ok, wl.sent),
                wl.failed.to_string(),
                wl.in_flight.to_string(),
                ms_or_dash(wl.latency_ms.p50),
                ms_or_dash(wl.latency_ms.p99),
                fixed(wl.throughput_rps, 1),
            ];
            if any_degraded {
                row.insert(4, wl.degraded.to_string());
            }
            row
        })
        .collect();
    Table {
        title: "Workloads",
        header: if any_degraded {
            WORKLOADS_DEGRADED
        } else {
            WORKLOADS_PLAIN
        },
        left: &[],
        rows,
    }
}

/// Every fault in report order: its kind and strength, target, window and what it hit; the
/// `crashes` column only when there is chaos.
pub(crate) fn faults(report: &Report) -> Table {
    let any_chaos = report.faults.iter().any(|f| f.kind == "chaos");
    let rows = report
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let kind = if f.detail.is_empty() {
                f.kind.clone()
            } else {
                format!("{} {}", f.kind, f.detail)
            };
            let end = if f.open_ended {
                "end".to_string()
            } else {
                format!("{:.1}s", f.at_s + f.for_s)
            };
            let mut row = vec![
                (i + 1).to_string(),
                kind,
                f.target.clone(),
                format!("{:.1}s–{end}", f.at_s),
                f.affected.to_string(),
            ];
            if any_chaos {
                row.push(f.crashes.to_string());
            }
            row
        })
        .collect();
    Table {
        title: "Faults",
        header: if any_chaos {
            &["fault", "kind", "target", "window", "affected", "crashes"]
        } else {
            &["fault", "kind", "target", "window", "affected"]
        },
        left: &[1, 2, 3],
        rows,
    }
}

/// The circuit breakers that changed state, each with every transition (no rows: none did).
pub(crate) fn breakers(report: &Report) -> Table {
    let rows = report
        .breakers
        .iter()
        .filter(|b| !b.transitions.is_empty())
        .map(|b| {
            let steps: Vec<String> = b
                .transitions
                .iter()
                .map(|t| format!("{} at {}", t.state, secs(t.t_s)))
                .collect();
            vec![
                b.site.clone(),
                b.owner.clone(),
                b.opened.to_string(),
                steps.join(", "),
            ]
        })
        .collect();
    Table {
        title: "Circuit breakers",
        header: &["breaker", "owner", "opened", "transitions"],
        left: &[1, 3],
        rows,
    }
}

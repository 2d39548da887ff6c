//! The metrics `compare` puts side by side, read from each run's JSON report value.
//!
//! Per workload: `latency_ms.p50`, `latency_ms.p99`, `failed_pct` (failed / sent × 100) and
//! `throughput_rps`. Per flow: `completed_pct`, `compensated_pct`, `inconsistent_pct` and
//! `pending_pct` (each / started × 100), `client_mismatch`, `duplicate_effects`,
//! `consistency_ms.p50` and `consistency_ms.p99`. Then [`MESSAGES_PER_REQUEST`]. Keys are
//! dotted like report paths: `workloads.NAME.latency_ms.p50`, `flows.NAME.inconsistent_pct`.
//! A statistic of an empty set is missing, never 0: a latency with no successful request
//! (`null` in the report), a ratio over nothing (no request sent, no flow started), messages
//! per request when no request was sent. A missing metric is left out of the run's
//! [`Metrics`], so it is never ranked.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::many::Metrics;

/// `messages_per_request = (2 × calls.attempts + 2 × messages.published + 2 ×
/// messages.delivered) / Σ workloads.sent`: every call attempt (the clients' requests and
/// service-to-service calls, retries included), publish and delivery is one message and its
/// answer (the response, the broker's ack, the consumer's ack). A lone service answering its
/// clients costs 2 per request; each synchronous hop adds 2.
pub const MESSAGES_PER_REQUEST: &str = "messages_per_request";

/// Which way a metric improves, where the metric itself says so (lower latency and failures,
/// higher throughput). A metric without one (a utilization, a `--metric` path) is only ever
/// called higher or lower, never better or worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// The p99 of `messages.lag_ms` (publish to processed, every queue and topic group), a row
/// only when the scenario has a broker. The key is the report's own path.
pub const LAG_P99: &str = "messages.lag_ms.p99";

/// `busiest_utilization_pct`: in each run, the highest `services.NAME.utilization` over every
/// service, as a percentage. The busiest service may differ from seed to seed (and between
/// variants), so this is the max over services, not one service's figure; `--metric
/// 'services.*.utilization'` gives each service's.
pub const BUSIEST_UTILIZATION: &str = "busiest_utilization_pct";

/// Prefix of the marker `busiest_service.NAME = 1` that a run's metrics carry for the service
/// behind [`BUSIEST_UTILIZATION`]: not a row, but counted per variant
/// ([`super::Comparison::busiest`]) so the table can say which service was the busiest, and
/// carried by partial results like any metric.
pub const BUSIEST_SERVICE: &str = "busiest_service.";

/// How a metric's numbers read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Ms,
    Percent,
    PerSecond,
    Count,
    PerRequest,
    /// A key this version does not know (from a newer partial result): printed plainly.
    Other,
}

/// `(key suffix, label suffix, unit)` for each workload metric, in row order.
const WORKLOAD: [(&str, &str, Unit); 4] = [
    ("latency_ms.p50", "p50 ms", Unit::Ms),
    ("latency_ms.p99", "p99 ms", Unit::Ms),
    ("failed_pct", "failed %", Unit::Percent),
    ("throughput_rps", "throughput rps", Unit::PerSecond),
];

/// Each flow metric, in row order.
const FLOW: [(&str, &str, Unit); 8] = [
    ("completed_pct", "completed %", Unit::Percent),
    ("compensated_pct", "compensated %", Unit::Percent),
    ("inconsistent_pct", "inconsistent %", Unit::Percent),
    ("pending_pct", "pending %", Unit::Percent),
    ("client_mismatch", "client mismatch", Unit::Count),
    ("duplicate_effects", "duplicate effects", Unit::Count),
    ("consistency_ms.p50", "consistency p50 ms", Unit::Ms),
    ("consistency_ms.p99", "consistency p99 ms", Unit::Ms),
];

/// The compared metrics of one run's report value.
pub fn extract(report: &Value) -> Metrics {
    let mut m = Metrics::default();
    let mut sent_total = 0.0;
    for (name, w) in entries(report, "workloads") {
        let sent = num(w, &["sent"]).unwrap_or(0.0);
        sent_total += sent;
        let values = [
            num(w, &["latency_ms", "p50"]),
            num(w, &["latency_ms", "p99"]),
            num(w, &["failed"]).and_then(|f| percent(f, sent)),
            num(w, &["throughput_rps"]),
        ];
        push_all(&mut m, "workloads", name, &WORKLOAD, values);
    }
    for (name, f) in entries(report, "flows") {
        let started = num(f, &["started"]).unwrap_or(0.0);
        let pct = |key: &str| num(f, &[key]).and_then(|x| percent(x, started));
        let values = [
            pct("completed"),
            pct("compensated"),
            pct("inconsistent"),
            pct("pending"),
            num(f, &["client_mismatch"]),
            num(f, &["duplicate_effects"]),
            num(f, &["consistency_ms", "p50"]),
            num(f, &["consistency_ms", "p99"]),
        ];
        push_all(&mut m, "flows", name, &FLOW, values);
    }
    let count = |path: &[&str]| num(report, path).unwrap_or(0.0);
    let messages = 2.0 * count(&["calls", "attempts"])
        + 2.0 * count(&["messages", "published"])
        + 2.0 * count(&["messages", "delivered"]);
    if sent_total > 0.0 {
        m.push(MESSAGES_PER_REQUEST.to_string(), messages / sent_total);
    }
    let has_broker = report
        .pointer("/messages/brokers")
        .and_then(Value::as_object)
        .is_some_and(|b| !b.is_empty());
    if has_broker && let Some(lag) = num(report, &["messages", "lag_ms", "p99"]) {
        m.push(LAG_P99.to_string(), lag);
    }
    let services: Vec<(&String, &Value)> = entries(report, "services").collect();
    let busiest = services
        .iter()
        .filter_map(|(_, s)| num(s, &["utilization"]))
        .reduce(f64::max);
    if let Some(u) = busiest {
        m.push(BUSIEST_UTILIZATION.to_string(), u * 100.0);
        // Which service it was (the first in report order on a tie): a marker, not a row.
        if let Some((name, _)) = services
            .iter()
            .find(|(_, s)| num(s, &["utilization"]) == Some(u))
        {
            m.push(format!("{BUSIEST_SERVICE}{name}"), 1.0);
        }
    }
    for (name, s) in services {
        if let Some(r) = num(s, &["replica_seconds"]) {
            m.push(format!("services.{name}.replica_seconds"), r);
        }
    }
    m
}

fn entries<'v>(report: &'v Value, section: &str) -> impl Iterator<Item = (&'v String, &'v Value)> {
    report
        .get(section)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

fn push_all<const N: usize>(
    m: &mut Metrics,
    section: &str,
    name: &str,
    defs: &[(&str, &str, Unit); N],
    values: [Option<f64>; N],
) {
    for ((suffix, _, _), value) in defs.iter().zip(values) {
        if let Some(v) = value {
            m.push(format!("{section}.{name}.{suffix}"), v);
        }
    }
}

fn num(node: &Value, path: &[&str]) -> Option<f64> {
    path.iter()
        .try_fold(node, |n, key| n.get(key))
        .and_then(Value::as_f64)
}

/// `part` as a percentage of `whole`; `None` (a share of nothing) when `whole` is 0.
fn percent(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| part * 100.0 / whole)
}

/// The section of keys that are no default row: the `--metric` rows, printed last as they came.
pub const PICKED_SECTION: u8 = 4;

/// What a metric key means, for labels, formats and row order.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricInfo {
    /// For people: `checkout p50 ms`, `place-order inconsistent %`, `messages per request`.
    pub label: String,
    pub unit: Unit,
    /// 0 workloads, 1 flows, 2 run-wide rows (messages per request, message lag, busiest
    /// utilization), 3 services' replica-seconds, [`PICKED_SECTION`] any other key (the
    /// `--metric` rows).
    pub section: u8,
    /// The workload or flow name ("" for the others).
    pub name: String,
    /// Position of the metric within its workload or flow.
    pub what: usize,
}

impl MetricInfo {
    /// Which way this metric improves; `None` when it has no known direction.
    pub fn better(&self) -> Option<Better> {
        use Better::{Higher, Lower};
        match (self.section, self.what) {
            // p50, p99, failed %: lower; throughput: higher.
            (0, 3) => Some(Higher),
            (0, _) => Some(Lower),
            // completed % higher; compensated % has no direction (a clean rollback is better
            // than an inconsistent one, worse than a completion); the rest lower.
            (1, 0) => Some(Higher),
            (1, 1) => None,
            (1, _) => Some(Lower),
            // messages per request and lag: lower; the busiest utilization has no direction
            // (idle capacity is not better in itself).
            (2, 2) => None,
            (2, _) | (3, _) => Some(Lower),
            _ => None,
        }
    }

    /// Whether this is the p50 latency of a workload.
    pub fn is_workload_p50(&self) -> bool {
        self.section == 0 && self.what == 0
    }

    /// Whether this is the inconsistent share of a flow.
    pub fn is_flow_inconsistent(&self) -> bool {
        self.section == 1 && self.what == 2
    }
}

/// Reads a key made by [`extract`] back into its parts. Names may hold dots: the known
/// suffix is matched at the end.
pub fn describe(key: &str) -> MetricInfo {
    let run_wide = [
        (
            MESSAGES_PER_REQUEST,
            "messages per request",
            Unit::PerRequest,
        ),
        (LAG_P99, "message lag p99 ms", Unit::Ms),
        (
            BUSIEST_UTILIZATION,
            "busiest service utilization %",
            Unit::Percent,
        ),
    ];
    if let Some(what) = run_wide.iter().position(|(k, _, _)| *k == key) {
        let (_, label, unit) = run_wide[what];
        return MetricInfo {
            label: label.to_string(),
            unit,
            section: 2,
            name: String::new(),
            what,
        };
    }
    if let Some(name) = key
        .strip_prefix("services.")
        .and_then(|r| r.strip_suffix(".replica_seconds"))
        .filter(|n| !n.is_empty())
    {
        return MetricInfo {
            label: format!("{name} replica-seconds"),
            unit: Unit::Count,
            section: 3,
            name: name.to_string(),
            what: 0,
        };
    }
    for (section, prefix, defs) in [(0u8, "workloads.", &WORKLOAD[..]), (1, "flows.", &FLOW[..])] {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        for (what, (suffix, label, unit)) in defs.iter().enumerate() {
            if let Some(name) = rest
                .strip_suffix(suffix)
                .and_then(|r| r.strip_suffix('.'))
                .filter(|n| !n.is_empty())
            {
                return MetricInfo {
                    label: format!("{name} {label}"),
                    unit: *unit,
                    section,
                    name: name.to_string(),
                    what,
                };
            }
        }
    }
    MetricInfo {
        label: key.to_string(),
        unit: Unit::Other,
        section: PICKED_SECTION,
        name: String::new(),
        what: 0,
    }
}

/// The row order of `keys` (given in order of first appearance): workloads, then flows, each
/// in order of first appearance with their metrics in table order; then the run-wide rows;
/// then the services' replica-seconds; then unknown keys as they came.
pub fn row_order(keys: &[String]) -> Vec<(String, MetricInfo)> {
    let infos: Vec<MetricInfo> = keys.iter().map(|k| describe(k)).collect();
    // Each (section, name)'s first appearance, looked up in log time (a scan per comparison
    // made sorting quadratic in the number of keys).
    let mut first: BTreeMap<(u8, &str), usize> = BTreeMap::new();
    for (i, info) in infos.iter().enumerate() {
        first.entry((info.section, info.name.as_str())).or_insert(i);
    }
    let rank = |info: &MetricInfo| {
        first
            .get(&(info.section, info.name.as_str()))
            .copied()
            .unwrap_or(0)
    };
    let mut rows: Vec<(usize, String, MetricInfo)> = keys
        .iter()
        .cloned()
        .zip(infos.iter().cloned())
        .enumerate()
        .map(|(appearance, (k, i))| (appearance, k, i))
        .collect();
    rows.sort_by_key(|(appearance, _, info)| {
        let by_name = if info.section == PICKED_SECTION {
            *appearance
        } else {
            rank(info)
        };
        (info.section, by_name, info.what, *appearance)
    });
    rows.into_iter().map(|(_, k, i)| (k, i)).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // Goal: percentages, messages per request and the flow rows are computed as documented,
    // statistics of an empty set are missing (not 0), and every key reads back to its label.
    #[test]
    fn metrics_of_a_report() {
        let report = json!({
            "workloads": {
                "a.b": {"sent": 200, "failed": 5, "throughput_rps": 19.5,
                        "latency_ms": {"p50": 3.0, "p99": 9.0}},
                "c": {"sent": 0, "failed": 0, "throughput_rps": 0.0,
                      "latency_ms": {"p50": null, "p99": null}}
            },
            "calls": {"attempts": 300},
            "messages": {"published": 50, "delivered": 50},
            "flows": {"order": {"started": 40, "completed": 30, "compensated": 6,
                "inconsistent": 2, "pending": 2, "client_mismatch": 1, "duplicate_effects": 0,
                "consistency_ms": {"p50": 5.0, "p99": 50.0}}}
        });
        let m = extract(&report);
        assert_eq!(m.get("workloads.a.b.failed_pct"), Some(2.5));
        assert_eq!(
            m.get("workloads.c.failed_pct"),
            None,
            "a share of nothing sent"
        );
        assert_eq!(m.get("flows.order.inconsistent_pct"), Some(5.0));
        assert_eq!(m.get("flows.order.consistency_ms.p99"), Some(50.0));
        assert_eq!(
            m.get(MESSAGES_PER_REQUEST),
            Some(4.0),
            "(600 + 100 + 100) / 200"
        );
        assert_eq!(
            m.get("workloads.c.latency_ms.p50"),
            None,
            "no successful request"
        );
        assert_eq!(m.0.len(), 4 + 1 + 8 + 1);
        for (key, _) in &m.0 {
            assert_ne!(describe(key).unit, Unit::Other, "{key}");
        }
        assert_eq!(describe("workloads.a.b.latency_ms.p50").label, "a.b p50 ms");
        assert!(describe("flows.order.inconsistent_pct").is_flow_inconsistent());
    }

    // Goal: the run-wide rows appear when the report has what they need: the message lag's
    // p99 only with a broker (and only when it has a value), the busiest service's
    // utilization as the max over services in percent, and replica-seconds for each service
    // whose report has them (as autoscaled services do: a hand-made value here), each read
    // back to its label, unit and direction.
    #[test]
    fn run_wide_rows_of_a_report() {
        let report = json!({
            "workloads": {"w": {"sent": 10, "failed": 0, "throughput_rps": 1.0,
                                "latency_ms": {"p50": 1.0, "p99": 2.0}}},
            "services": {"api": {"utilization": 0.25},
                         "db": {"utilization": 0.75, "replica_seconds": 1234.5}},
            "messages": {"published": 4, "delivered": 4, "lag_ms": {"p99": 12.5},
                         "brokers": {"mq": {"published": 4}}}
        });
        let m = extract(&report);
        assert_eq!(m.get(LAG_P99), Some(12.5));
        assert_eq!(m.get(BUSIEST_UTILIZATION), Some(75.0));
        assert_eq!(m.get("busiest_service.db"), Some(1.0));
        assert_eq!(m.get("busiest_service.api"), None);
        assert_eq!(m.get("services.db.replica_seconds"), Some(1234.5));
        assert_eq!(m.get("services.api.replica_seconds"), None);
        let info = describe("services.db.replica_seconds");
        assert_eq!(
            (info.label.as_str(), info.section),
            ("db replica-seconds", 3)
        );
        assert_eq!(info.better(), Some(Better::Lower));
        assert_eq!(describe(BUSIEST_UTILIZATION).better(), None);
        assert_eq!(describe(LAG_P99).label, "message lag p99 ms");
        let mut no_broker = report.clone();
        no_broker["messages"]["brokers"] = json!({});
        assert_eq!(
            extract(&no_broker).get(LAG_P99),
            None,
            "no broker, no lag row"
        );
        let mut no_lag = report;
        no_lag["messages"]["lag_ms"]["p99"] = Value::Null;
        assert_eq!(
            extract(&no_lag).get(LAG_P99),
            None,
            "a lag of no message is missing"
        );
    }

    // Goal: rows group by workload then flow whatever order the variants listed them in.
    #[test]
    fn rows_group_by_section_and_name() {
        let keys: Vec<String> = [
            "workloads.x.latency_ms.p50",
            "messages_per_request",
            "flows.f.completed_pct",
            "workloads.y.latency_ms.p50",
            "workloads.x.throughput_rps",
            "something.new",
        ]
        .map(String::from)
        .to_vec();
        let order: Vec<String> = row_order(&keys).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            order,
            [
                "workloads.x.latency_ms.p50",
                "workloads.x.throughput_rps",
                "workloads.y.latency_ms.p50",
                "flows.f.completed_pct",
                "messages_per_request",
                "something.new"
            ]
        );
    }
}

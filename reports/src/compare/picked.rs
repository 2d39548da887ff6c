//! The metrics a user adds to `compare` and `sweep` with `--metric PATH`: dotted paths of the
//! JSON report (read as `[[expect]]` reads them), one segment of which may be `*` for every
//! key of that section in report order. They are extra rows after the default ones, keyed by
//! the concrete path, so partial results carry them like any other metric.

use serde_json::Value;

use crate::expect::{DECIDED_BY_THE_RUN, lookup_node, lookup_statistic};
use crate::many::Metrics;

/// Most `--metric` flags one command takes: each is looked up in every run's report.
pub const MAX_PICKED: usize = 256;

/// The `--metric` paths, as given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Picked(pub Vec<String>);

impl Picked {
    /// One message per path that is malformed or not in `skeleton` (the first variant's
    /// report shape, [`crate::expect::report_skeleton`]), with the keys available and a
    /// did-you-mean, so a typo is refused before any run.
    pub fn check(&self, skeleton: &Value) -> Vec<String> {
        if self.0.len() > MAX_PICKED {
            return vec![format!(
                "--metric: {} given; at most {MAX_PICKED} are allowed",
                self.0.len()
            )];
        }
        let mut problems = Vec::new();
        for path in &self.0 {
            if let Some(why) = sim_core::model::metric_path_too_long(path) {
                problems.push(format!("--metric: {why}"));
                continue;
            }
            let at = format!("--metric {path}");
            if path.split('.').filter(|s| *s == "*").count() > 1 {
                problems.push(format!("{at}: at most one segment may be *"));
                continue;
            }
            if DECIDED_BY_THE_RUN
                .iter()
                .any(|s| path.split('.').next() == Some(*s))
            {
                continue;
            }
            let concrete = match expand(skeleton, path) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("{at}: {e}"));
                    continue;
                }
            };
            if concrete.is_empty() {
                problems.push(format!(
                    "{at}: * matches nothing: that section is empty in this scenario's report"
                ));
            }
            if let Some(e) = concrete
                .iter()
                .find_map(|p| lookup_statistic(skeleton, p).err())
            {
                problems.push(format!(
                    "{at}: not in the report this scenario produces: {e}"
                ));
            }
        }
        problems
    }

    /// Appends every path's value in `report` to `m`, each under its concrete path, `*`
    /// expanded in report order. A statistic of an empty set (`null`), or a path this run's
    /// report lacks, is left out: a missing value, never 0.
    pub fn extract_into(&self, report: &Value, m: &mut Metrics) {
        for path in &self.0 {
            for concrete in expand(report, path).unwrap_or_default() {
                if let Ok(Some(v)) = lookup_statistic(report, &concrete) {
                    m.push(concrete, v);
                }
            }
        }
    }
}

/// The concrete paths `path` names in `report`: itself without a `*`, else one per key (or
/// index) of the section before the `*`, in report order.
fn expand(report: &Value, path: &str) -> Result<Vec<String>, String> {
    let segments: Vec<&str> = path.split('.').collect();
    let Some(star) = segments.iter().position(|s| *s == "*") else {
        return Ok(vec![path.to_string()]);
    };
    let (before, after) = (&segments[..star], &segments[star + 1..]);
    let node = if before.is_empty() {
        report
    } else {
        lookup_node(report, &before.join("."))?
    };
    let keys: Vec<String> = match node {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Array(items) => (0..items.len()).map(|i| i.to_string()).collect(),
        _ => {
            return Err(format!(
                "\"{}\" is a number, not a section * can range over",
                before.join(".")
            ));
        }
    };
    Ok(keys
        .into_iter()
        .map(|k| {
            before
                .iter()
                .copied()
                .chain([k.as_str()])
                .chain(after.iter().copied())
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // Goal: `*` expands in report order, a null statistic is left out, a bad path or a
    // second `*` or an over-long path is refused with what is available.
    #[test]
    fn picked_paths_expand_and_check() {
        let report = json!({
            "services": {"b": {"utilization": 0.5}, "a": {"utilization": null}},
            "workloads": {"w": {"sent": 3}},
        });
        let p = Picked(vec![
            "services.*.utilization".into(),
            "workloads.w.sent".into(),
        ]);
        assert!(p.check(&report).is_empty());
        let mut m = Metrics::default();
        p.extract_into(&report, &mut m);
        assert_eq!(
            m.0,
            vec![
                ("services.b.utilization".to_string(), 0.5),
                ("workloads.w.sent".to_string(), 3.0)
            ]
        );
        let long = vec!["x"; 5000].join(".");
        let bad = Picked(vec!["workloads.w.snt".into(), "*.*.x".into(), long]);
        let problems = bad.check(&report);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[2].contains("at most 64"), "{problems:?}");
        assert!(
            problems[0].contains("did you mean \"sent\""),
            "{problems:?}"
        );
        assert!(problems[1].contains("at most one segment"), "{problems:?}");
    }
}

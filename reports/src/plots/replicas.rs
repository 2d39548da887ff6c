//! The replicas of every autoscaled service over time: in service (solid) against desired
//! (dashed). Where the dashed line is above the solid one the service was under-provisioned,
//! waiting for replicas to provision; the gap's width is the autoscaler's lag.

use super::{Dash, OverTime, YAxis, center, series_lines};
use crate::json::Report;

pub(super) fn replicas(report: &Report) -> OverTime {
    let t = &report.timeline;
    // Colours follow the service's index among all services, as in the in-system plot.
    let lines = series_lines(&t.services, |s| {
        [
            (Dash::Solid, "in service", &s.replicas),
            (Dash::Dashed, "desired", &s.desired),
        ]
        .into_iter()
        .filter_map(|(dash, label, values)| {
            let values = values.as_ref()?;
            // Up to the end of arrivals: a bucket the drain cut short holds no mean (its 0
            // would read as "no replicas").
            let points = (0..values.len())
                .filter(|&i| (i as f64) * t.bucket_s < t.duration_s - 1e-9)
                .map(|i| Some((center(i, t.bucket_s), values[i])))
                .collect();
            Some((dash, label, points))
        })
    });
    OverTime {
        y: ("replicas (time-average per bucket)", YAxis::Linear),
        lines,
    }
}

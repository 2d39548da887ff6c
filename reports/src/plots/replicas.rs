//! The replicas of every autoscaled service over time: in service (solid) against desired
//! (dashed). Where the dashed line is above the solid one the service was under-provisioned,
//! waiting for replicas to provision; the gap's width is the autoscaler's lag.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Dash, Line, PlotResult, YAxis, center, color, time_chart};
use crate::json::Report;

pub(super) fn replicas<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    report: &Report,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let t = &report.timeline;
    let mut lines = Vec::new();
    // Colours follow the service's index among all services, as in the in-system plot.
    for (k, (name, s)) in t.services.iter().enumerate() {
        let series = [
            (Dash::Solid, "in service", &s.replicas),
            (Dash::Dashed, "desired", &s.desired),
        ];
        for (dash, label, values) in series {
            let Some(values) = values else { continue };
            // Up to the end of arrivals: a bucket the drain cut short holds no mean (its 0
            // would read as "no replicas").
            let points = (0..values.len())
                .filter(|&i| (i as f64) * t.bucket_s < t.duration_s - 1e-9)
                .map(|i| Some((center(i, t.bucket_s), values[i])))
                .collect();
            lines.push(Line {
                label: format!("{name} {label}"),
                color: color(k),
                dash,
                points,
            });
        }
    }
    time_chart(
        root,
        title,
        ("replicas (time-average per bucket)", YAxis::Linear),
        report,
        lines,
    )
}

//! `sweep.svg`: the sweep as line plots. x is the first varied parameter; y is the p99 latency
//! of the first workload (and, in a second panel when the scenario has flows, the first flow's
//! inconsistent %), then one panel per `--metric` row (at most [`MAX_PICKED_PANELS`]); one
//! line per value of the other varied parameters, with its 95% confidence band shaded. Same
//! font and determinism as the run plots ([`crate::plots`]).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Sweep;
use crate::compare::PICKED_SECTION;
use crate::plots::{FONT, PlotResult, WIDTH_PX, color, register_embedded_font};

/// Height of one panel, in pixels.
const PANEL_HEIGHT_PX: u32 = 450;

/// Most `--metric` rows drawn, one panel each: `services.*.utilization` over a large model
/// would otherwise make a plot thousands of panels tall. The rest are in the table, JSON and
/// CSV.
pub const MAX_PICKED_PANELS: usize = 16;

/// One panel: a metric row of the comparison, and how its axis reads.
struct Panel {
    title: String,
    y_desc: String,
    row: usize,
}

/// One line: a label and `(x, mean, low, high)` per grid point, in grid order.
struct Line {
    label: String,
    points: Vec<(f64, f64, f64, f64)>,
}

/// The plot as SVG text: the same sweep always gives the same bytes.
pub fn sweep_svg(s: &Sweep) -> PlotResult<String> {
    register_embedded_font()?;
    let panels = panels(s);
    let height = PANEL_HEIGHT_PX * panels.len().max(1) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH_PX, height)).into_drawing_area();
        root.fill(&WHITE)?;
        if panels.is_empty() {
            root.titled("sweep: no workload to plot", (FONT, 22))?;
        }
        let areas = root.split_evenly((panels.len().max(1), 1));
        for (area, panel) in areas.into_iter().zip(&panels) {
            draw_panel(area, s, panel)?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// The first workload's p99, the first flow's inconsistent % if there is a flow, then each
/// `--metric` row (the first [`MAX_PICKED_PANELS`]).
fn panels(s: &Sweep) -> Vec<Panel> {
    let rows = &s.comparison.rows;
    let x = s.path_headers().first().cloned().unwrap_or_default();
    let mut out = Vec::new();
    if let Some(row) = rows
        .iter()
        .position(|r| r.info.section == 0 && r.info.what == 1)
    {
        out.push(Panel {
            title: format!("{} p99 latency by {x}", rows[row].info.name),
            y_desc: "p99 latency (ms)".to_string(),
            row,
        });
    }
    if let Some(row) = rows.iter().position(|r| r.info.is_flow_inconsistent()) {
        out.push(Panel {
            title: format!("{} inconsistent by {x}", rows[row].info.name),
            y_desc: "inconsistent (% of flows started)".to_string(),
            row,
        });
    }
    let picked = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.info.section == PICKED_SECTION)
        .take(MAX_PICKED_PANELS);
    for (row, r) in picked {
        out.push(Panel {
            title: format!("{} by {x}", r.key),
            y_desc: r.key.rsplit('.').next().unwrap_or(&r.key).to_string(),
            row,
        });
    }
    out
}

/// Grid points grouped into lines by the values of every varied path but the first; x is the
/// first path's value when every value is a number, else the point's position.
fn lines(s: &Sweep, row: usize) -> (Vec<Line>, Vec<String>) {
    let points = s.points();
    let firsts: Vec<String> = points
        .iter()
        .map(|p| p.first().cloned().unwrap_or_default())
        .collect();
    let numeric: Option<Vec<f64>> = firsts.iter().map(|v| v.parse::<f64>().ok()).collect();
    let mut distinct: Vec<String> = Vec::new();
    for f in &firsts {
        if !distinct.contains(f) {
            distinct.push(f.clone());
        }
    }
    let headers = s.path_headers();
    let mut out: Vec<Line> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let Some(cell) = &s.comparison.rows[row].cells[i] else {
            continue;
        };
        let x = match &numeric {
            Some(xs) => xs[i],
            None => distinct.iter().position(|d| *d == firsts[i]).unwrap_or(0) as f64,
        };
        let (lo, hi) = cell.summary.interval();
        let label: Vec<String> = headers
            .iter()
            .zip(p)
            .skip(1)
            .map(|(h, v)| format!("{h}={v}"))
            .collect();
        let label = if label.is_empty() {
            "mean, 95% CI shaded".to_string()
        } else {
            label.join(" ")
        };
        let point = (x, cell.summary.mean, lo, hi);
        match out.iter_mut().find(|l| l.label == label) {
            Some(line) => line.points.push(point),
            None => out.push(Line {
                label,
                points: vec![point],
            }),
        }
    }
    let ticks = if numeric.is_some() {
        Vec::new()
    } else {
        distinct
    };
    (out, ticks)
}

fn draw_panel<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    s: &Sweep,
    panel: &Panel,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let (lines, ticks) = lines(s, panel.row);
    let all = lines.iter().flat_map(|l| l.points.iter());
    // y starts at 0 unless a value is below it (a `--metric` row may be negative).
    let (x_lo, x_hi, y_lo, y_hi) = all.fold(
        (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0.0f64),
        |(a, b, lo, hi), p| (a.min(p.0), b.max(p.0), lo.min(p.2), hi.max(p.3)),
    );
    // Categories sit half a step in from the edges, so their labels are not cut off.
    let (x_lo, x_hi) = if !ticks.is_empty() {
        (-0.5, ticks.len() as f64 - 0.5)
    } else if x_lo.is_finite() && x_hi > x_lo {
        (x_lo, x_hi)
    } else if x_lo.is_finite() {
        (x_lo - 0.5, x_lo + 0.5)
    } else {
        (0.0, 1.0)
    };
    let span = y_hi - y_lo;
    let (y_lo, y_hi) = if span > 0.0 {
        (
            if y_lo < 0.0 { y_lo - 0.1 * span } else { 0.0 },
            y_hi + 0.1 * span,
        )
    } else {
        (y_lo, y_lo + 1.0)
    };
    let x_desc = s.paths.first().cloned().unwrap_or_default();
    let mut chart = ChartBuilder::on(&area)
        .caption(&panel.title, (FONT, 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
    let tick_label = |x: &f64| {
        if ticks.is_empty() {
            short(*x)
        } else {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 {
                ticks.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
    };
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(panel.y_desc.as_str())
        .x_labels(if ticks.is_empty() { 10 } else { ticks.len() })
        .x_label_formatter(&tick_label)
        .y_label_formatter(&|y| short(*y))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (k, line) in lines.into_iter().enumerate() {
        let c = color(k);
        let band: Vec<(f64, f64)> = line
            .points
            .iter()
            .map(|p| (p.0, p.3))
            .chain(line.points.iter().rev().map(|p| (p.0, p.2)))
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))?;
        let means: Vec<(f64, f64)> = line.points.iter().map(|p| (p.0, p.1)).collect();
        chart
            .draw_series(LineSeries::new(means.clone(), c.stroke_width(2)))?
            .label(line.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(means.into_iter().map(|p| Circle::new(p, 3, c.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 13))
        .draw()?;
    Ok(())
}

/// An axis number: integers plainly, others with up to three significant decimals.
fn short(x: f64) -> String {
    if x == x.round() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

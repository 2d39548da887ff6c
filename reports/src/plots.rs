//! SVG plots of a run, drawn with plotters: latency CDF per workload, p50/p99 over time,
//! throughput over time, requests in system per service, the client's latency next to the time
//! to consistency per flow (when the scenario has flows), queue depth per queue and topic group
//! (when the run had a broker), the circuit breakers' states, and the replicas of autoscaled
//! services (ready vs desired). Where a workload's rate changes over time, its arrival rate is
//! drawn, light, behind its throughput.
//!
//! Every plot is 800 px wide, with a title, axis labels with units and a legend; workload
//! `k` (and service `k`, flow `k`) has colour `PALETTE[k]` in every plot of a report. Fault
//! windows are shaded and labelled on the plots over time (chaos crashes happen at random
//! times and are not shaded).
//!
//! Determinism: text is measured with `ab_glyph` from DejaVu Sans embedded in the binary
//! (registered once, before the first plot), so layout does not depend on the fonts of the
//! machine; plotters' SVG backend writes integer coordinates and no timestamps, so the same
//! report always gives the same bytes.

use std::error::Error;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use sim_core::results::{LatencyHistogram, RunResults};

use crate::json::{FaultReport, Named, Report};

mod replicas;

/// Width of every plot, in pixels.
pub const WIDTH_PX: u32 = 800;
/// Height of the plots with time or latency on the x axis.
const HEIGHT_PX: u32 = 450;
/// Font family name every text style uses; registered from the embedded font.
pub(crate) const FONT: &str = "sans-serif";
/// DejaVu Sans, embedded so text layout is the same on every machine.
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// Okabe–Ito colours (distinguishable with colour blindness), in model order.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0x99, 0x99, 0x99),
];
/// Fault windows: a light red band.
const FAULT_COLOR: RGBColor = RGBColor(0xD6, 0x27, 0x28);
/// The strip under the breaker timeline that holds its key (closed, half-open, open).
const KEY_HEIGHT_PX: u32 = 28;
/// Breaker rows listed before the plot says "first N of M".
const MAX_BREAKER_ROWS: usize = 16;

pub(crate) type PlotResult<T> = Result<T, Box<dyn Error>>;

/// One plot: its file name (`.svg`), its title, the SVG, and the same drawing as a PNG
/// when asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plot {
    pub file: &'static str,
    pub title: &'static str,
    pub svg: String,
    pub png: Option<Vec<u8>>,
}

impl Plot {
    /// The PNG's file name: the SVG's with `.png` instead of `.svg`.
    pub fn png_file(&self) -> String {
        let stem = self.file.strip_suffix(".svg").unwrap_or(self.file);
        format!("{stem}.png")
    }
}

/// The plots a run can have; each is drawn the same way on any plotters backend.
#[derive(Clone, Copy)]
enum Kind {
    LatencyCdf,
    Consistency,
    LatencyOverTime,
    Throughput,
    InSystem,
    QueueDepth,
    Breakers,
    Replicas,
}

/// Every plot of a run, in a fixed order; consistency only when the scenario has flows, queue
/// depth only when the run had a broker, the breaker timeline only when breakers changed.
/// With `png`, each plot is also rasterised (plotters' bitmap backend, text through the
/// same embedded font) and encoded as a PNG.
pub fn plots(results: &RunResults, report: &Report, png: bool) -> PlotResult<Vec<Plot>> {
    register_embedded_font()?;
    let mut kinds = vec![
        ("latency-cdf.svg", "Latency CDF", Kind::LatencyCdf),
        (
            "latency-over-time.svg",
            "Latency over time",
            Kind::LatencyOverTime,
        ),
        ("throughput.svg", "Throughput over time", Kind::Throughput),
        (
            "in-system.svg",
            "Requests in system per service",
            Kind::InSystem,
        ),
    ];
    if !report.flows.is_empty() {
        // Next to the latency CDF: what the caller saw, then when the system agreed.
        kinds.insert(
            1,
            (
                "consistency.svg",
                "Client latency vs time to consistency",
                Kind::Consistency,
            ),
        );
    }
    if report.messages.any() {
        kinds.push((
            "queue-depth.svg",
            "Queue depth (consumer lag)",
            Kind::QueueDepth,
        ));
    }
    if report.breakers.iter().any(|b| !b.transitions.is_empty()) {
        kinds.push(("breakers.svg", "Circuit breaker states", Kind::Breakers));
    }
    if report.services.iter().any(|(_, s)| s.autoscale.is_some()) {
        kinds.push((
            "replicas.svg",
            "Replicas of autoscaled services",
            Kind::Replicas,
        ));
    }
    kinds
        .into_iter()
        .map(|(file, title, kind)| {
            plot(title, kind, results, report, png)
                .map(|(svg, png)| Plot {
                    file,
                    title,
                    svg,
                    png,
                })
                .map_err(|e| format!("{file}: cannot draw the plot: {e}").into())
        })
        .collect()
}

/// Draws one plot as SVG, and as PNG when asked.
fn plot(
    title: &str,
    kind: Kind,
    results: &RunResults,
    report: &Report,
    png: bool,
) -> PlotResult<(String, Option<Vec<u8>>)> {
    let size = (WIDTH_PX, height(kind, report));
    let mut svg = String::new();
    draw(
        title,
        kind,
        results,
        report,
        SVGBackend::with_string(&mut svg, size).into_drawing_area(),
    )?;
    if !png {
        return Ok((svg, None));
    }
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    draw(
        title,
        kind,
        results,
        report,
        BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area(),
    )?;
    Ok((svg, Some(encode_png(&rgb, size)?)))
}

fn height(kind: Kind, report: &Report) -> u32 {
    match kind {
        Kind::Breakers => 150 + KEY_HEIGHT_PX + 44 * breaker_rows(report).0 as u32,
        _ => HEIGHT_PX,
    }
}

fn draw<DB: DrawingBackend>(
    title: &str,
    kind: Kind,
    results: &RunResults,
    report: &Report,
    root: DrawingArea<DB, Shift>,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    // The plots over time differ only in their lines and y axis: drawn here alike.
    let over_time = match kind {
        Kind::LatencyCdf => return latency_cdf(root, title, results),
        Kind::Consistency => return consistency(root, title, results),
        Kind::Breakers => return breakers(root, title, report),
        Kind::LatencyOverTime => latency_over_time(report),
        Kind::Throughput => throughput(report),
        Kind::InSystem => in_system(report),
        Kind::QueueDepth => queue_depth(report),
        Kind::Replicas => replicas::replicas(report),
    };
    time_chart(root, title, over_time.y, report, over_time.lines)
}

/// 8-bit RGB pixels as PNG bytes; the encoder's settings are fixed, so equal pixels always
/// give equal bytes.
fn encode_png(rgb: &[u8], (width, height): (u32, u32)) -> PlotResult<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Default);
        encoder.set_filter(png::FilterType::Sub);
        encoder.set_adaptive_filter(png::AdaptiveFilterType::NonAdaptive);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

/// Registers the embedded font once per process.
pub(crate) fn register_embedded_font() -> PlotResult<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err("the embedded font could not be loaded".into())
    }
}

pub(crate) fn color(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

/// How a line is drawn: the main series solid, the others dashed or dotted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dash {
    Solid,
    Dashed,
    Dotted,
    /// Wide and pale: a backdrop (the arrival rate behind the throughput).
    Faint,
}

/// What a plot over time shows: its y axis (description, scale) and its lines; drawing them
/// is the same for every such plot (`time_chart`).
struct OverTime {
    y: (&'static str, YAxis),
    lines: Vec<Line>,
}

/// One line of a plot over time: breaks where there is no value (`None`).
struct Line {
    label: String,
    color: RGBColor,
    dash: Dash,
    points: Vec<Option<(f64, f64)>>,
}

/// The lines of a chart with several series per named thing (workload or service): each
/// labelled `NAME SERIES` and coloured by the thing's index, so one thing's lines share a
/// colour and tell their series apart by dash. `series` gives a thing's lines in drawing
/// order.
fn series_lines<'a, T, S>(things: &'a Named<T>, series: impl Fn(&'a T) -> S) -> Vec<Line>
where
    S: IntoIterator<Item = (Dash, &'static str, Vec<Option<(f64, f64)>>)>,
{
    let mut lines = Vec::new();
    for (k, (name, thing)) in things.iter().enumerate() {
        for (dash, label, points) in series(thing) {
            lines.push(Line {
                label: format!("{name} {label}"),
                color: color(k),
                dash,
                points,
            });
        }
    }
    lines
}

/// One curve of a CDF plot: `(value in ms, fraction of values ≤ it)` per recorded value.
struct Curve {
    label: String,
    color: RGBColor,
    dash: Dash,
    points: Vec<(f64, f64)>,
}

/// The CDF of a histogram of nanoseconds, one point per recorded value, in milliseconds;
/// empty for an empty histogram.
fn cdf_points(h: &LatencyHistogram) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    h.iter_recorded()
        .map(|v| (v.value_iterated_to() as f64 / 1e6, v.quantile()))
        .collect()
}

/// Latency CDF of successful requests per workload, on a log x axis, from the whole-run
/// histogram (one point per recorded value).
fn latency_cdf<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    results: &RunResults,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let curves = results
        .workloads
        .iter()
        .enumerate()
        .map(|(k, w)| Curve {
            label: w.name.clone(),
            color: color(k),
            dash: Dash::Solid,
            points: cdf_points(&w.latency),
        })
        .collect();
    cdf_chart(
        root,
        title,
        (
            "latency (ms, log scale)",
            "fraction of successful requests ≤ x",
        ),
        curves,
    )
}

/// Per flow (its colour by model order), the client's latency (solid: requests answered ok)
/// next to the time the system took to agree (dashed: start to the last effect or
/// compensation of each settled instance), on the same log x axis: what the caller saw vs when
/// the system agreed.
fn consistency<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    results: &RunResults,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let curves = results
        .flows
        .iter()
        .enumerate()
        .flat_map(|(k, f)| {
            [
                Curve {
                    label: format!("{} client answered", f.name),
                    color: color(k),
                    dash: Dash::Solid,
                    points: cdf_points(&f.latency),
                },
                Curve {
                    label: format!("{} system agreed", f.name),
                    color: color(k),
                    dash: Dash::Dashed,
                    points: cdf_points(&f.consistency),
                },
            ]
        })
        .collect();
    cdf_chart(
        root,
        title,
        (
            "time from the start (ms, log scale)",
            "fraction ≤ x (answered ok / settled)",
        ),
        curves,
    )
}

/// CDF curves on a log x axis that spans every curve's values, the legend at the lower right.
fn cdf_chart<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    curves: Vec<Curve>,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let all = curves.iter().flat_map(|c| c.points.iter().map(|&(x, _)| x));
    let (lo, hi) = all.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        ((lo / 1.5).max(1e-6), hi * 1.5)
    } else {
        (0.1, 1000.0)
    };
    {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((lo..hi).log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|x| short_number(*x))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()?;
        for curve in curves {
            let c = curve.color;
            let style = c.stroke_width(2);
            let series = match curve.dash {
                Dash::Dashed => {
                    chart.draw_series(DashedLineSeries::new(curve.points, 6, 4, style))?
                }
                Dash::Dotted => {
                    chart.draw_series(DashedLineSeries::new(curve.points, 2, 4, style))?
                }
                Dash::Solid | Dash::Faint => {
                    chart.draw_series(LineSeries::new(curve.points, style))?
                }
            };
            match curve.dash {
                Dash::Solid => series.label(curve.label).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                }),
                dash => {
                    let pieces = dash_pieces(dash);
                    series.label(curve.label).legend(move |(x, y)| {
                        let piece = |(a, b): (i32, i32)| {
                            PathElement::new(vec![(a, 0), (b, 0)], c.stroke_width(2))
                        };
                        EmptyElement::at((x, y))
                            + piece(pieces[0])
                            + piece(pieces[1])
                            + piece(pieces[2])
                    })
                }
            };
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present()?;
    }
    Ok(())
}

/// p99 (solid) and p50 (dashed) per workload, per time bucket of sending, on a log axis.
fn latency_over_time(report: &Report) -> OverTime {
    let t = &report.timeline;
    let lines = series_lines(&t.workloads, |wl| {
        // A bucket without a full success has no latency (degraded answers carry none): a
        // gap, never a point at 0. A 0 ms value cannot sit on the log axis either.
        [
            (Dash::Solid, "p99", &wl.p99_ms),
            (Dash::Dashed, "p50", &wl.p50_ms),
        ]
        .map(|(dash, label, values)| {
            let points = (0..wl.len())
                .map(|i| {
                    values[i]
                        .filter(|&v| v > 0.0)
                        .map(|v| (center(i, t.bucket_s), v))
                })
                .collect();
            (dash, label, points)
        })
    });
    OverTime {
        y: ("latency of successful requests (ms, log scale)", YAxis::Log),
        lines,
    }
}

/// Successful (solid), failed (dashed) and degraded (dotted, when any) requests per second
/// per workload, by time of sending.
fn throughput(report: &Report) -> OverTime {
    let t = &report.timeline;
    let lines = series_lines(&t.workloads, |wl| {
        let mut series = vec![
            (Dash::Solid, "ok", &wl.ok),
            (Dash::Dashed, "failed", &wl.failed),
        ];
        // A rate that changes over time: what arrived, drawn light behind what was served.
        if wl.varying {
            series.insert(0, (Dash::Faint, "arrivals", &wl.sent));
        }
        // Fallback answers are neither ok nor failed: shown when there were any.
        if wl.degraded.iter().any(|&n| n > 0) {
            series.push((Dash::Dotted, "degraded", &wl.degraded));
        }
        series.into_iter().map(|(dash, label, values)| {
            // Only the counted part of each bucket: none in the warmup (which is not an
            // outage at 0 req/s) or after the end of arrivals, the counted share of a bucket
            // that straddles either.
            let points = (0..wl.len())
                .map(|i| {
                    let (from, to) = counted_span(i, t);
                    (to > from).then(|| ((from + to) / 2.0, values[i] as f64 / (to - from)))
                })
                .collect();
            (dash, label, points)
        })
    });
    OverTime {
        y: ("requests per second", YAxis::Linear),
        lines,
    }
}

/// Time-average of requests queued or in service per service.
fn in_system(report: &Report) -> OverTime {
    let t = &report.timeline;
    let lines = t
        .services
        .iter()
        .enumerate()
        .map(|(k, (name, s))| Line {
            label: name.to_string(),
            color: color(k),
            dash: Dash::Solid,
            points: (0..s.in_system.len())
                .map(|i| Some((center(i, t.bucket_s), s.in_system[i])))
                .collect(),
        })
        .collect();
    OverTime {
        y: ("requests in system (time-average)", YAxis::Linear),
        lines,
    }
}

/// Time-average of copies queued or in flight per queue and per topic group (`topic/group`):
/// consumer lag in messages.
fn queue_depth(report: &Report) -> OverTime {
    let t = &report.timeline;
    let lines = t
        .depths()
        .enumerate()
        .map(|(k, (name, depth))| Line {
            label: name.to_string(),
            color: color(k),
            // Past eight lines the colours repeat: the line style tells them apart.
            dash: [Dash::Solid, Dash::Dashed, Dash::Dotted][k / PALETTE.len() % 3],
            points: (0..depth.len())
                .map(|i| Some((center(i, t.bucket_s), depth[i])))
                .collect(),
        })
        .collect();
    OverTime {
        y: ("messages queued or in flight (time-average)", YAxis::Linear),
        lines,
    }
}

/// The part of bucket `i` in which sent requests are counted, in seconds: from warmup to
/// the end of arrivals; empty (`from >= to`) outside it.
fn counted_span(i: usize, t: &crate::json::TimelineReport) -> (f64, f64) {
    let from = (i as f64 * t.bucket_s).max(t.warmup_s);
    let to = ((i + 1) as f64 * t.bucket_s).min(t.duration_s);
    (from, to)
}

/// The middle of bucket `i`, in seconds.
fn center(i: usize, bucket_s: f64) -> f64 {
    (i as f64 + 0.5) * bucket_s
}

/// The end of the x axis of plots over time: the buckets kept, or the run's end.
fn time_axis_end(report: &Report) -> f64 {
    let t = &report.timeline;
    let n = t.workloads.iter().map(|(_, w)| w.len()).max().unwrap_or(0);
    let end = (n as f64 * t.bucket_s).max(report.sim_time_s);
    if end > 0.0 { end } else { 1.0 }
}

/// The y axis of a plot over time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum YAxis {
    /// From 0.
    Linear,
    /// Logarithmic, from just below the smallest value: latencies that spike by orders of
    /// magnitude during a fault without squashing the normal ones.
    Log,
}

/// The share of a plot's height kept free at the top for a legend of `entries` rows (and
/// the fault labels), so that the legend never covers the data.
fn legend_share(entries: usize) -> f64 {
    // A legend row is about 16.5 px, its box and offset about 22 px, the plotting area of a
    // 450 px plot about 350 px.
    ((16.5 * entries as f64 + 22.0) / 350.0).min(0.6)
}

/// A line plot over simulated time with the fault windows shaded.
fn time_chart<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    (y_desc, y_axis): (&str, YAxis),
    report: &Report,
    lines: Vec<Line>,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let x_end = time_axis_end(report);
    let (y_min, y_max) = lines
        .iter()
        .flat_map(|l| l.points.iter().flatten().map(|&(_, y)| y))
        .filter(|&y| y > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
            (lo.min(y), hi.max(y))
        });
    let faults = report.faults.iter().any(|f| f.kind != "chaos");
    let top = legend_share(lines.len() + usize::from(faults));
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64);
    match y_axis {
        YAxis::Log => {
            let (lo, hi) = if y_max > 0.0 {
                // From the power of ten below the data, so at least two decades are labelled.
                let lo = 10f64.powf((y_min / 1.2).log10().floor());
                // Headroom on a log axis: a power of the data's range.
                (lo, y_max * (y_max / lo).powf(top / (1.0 - top)))
            } else {
                (0.1, 10.0)
            };
            let chart = builder.build_cartesian_2d(0.0..x_end, (lo..hi).log_scale())?;
            // Fewer than 10 labels per decade: plotters labels only the powers of ten.
            time_chart_series(chart, (y_desc, 9), report, lines, (lo, hi))?;
        }
        YAxis::Linear => {
            let hi = if y_max > 0.0 {
                y_max / (1.0 - top)
            } else {
                1.0
            };
            let chart = builder.build_cartesian_2d(0.0..x_end, 0.0..hi)?;
            time_chart_series(chart, (y_desc, 10), report, lines, (0.0, hi))?;
        }
    }
    root.present()?;
    Ok(())
}

/// The mesh, fault windows, lines and legend of a plot over time, on either y axis.
fn time_chart_series<
    'a,
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
>(
    mut chart: TimeChart<'a, DB, Y>,
    (y_desc, y_labels): (&str, usize),
    report: &Report,
    lines: Vec<Line>,
    y_range: (f64, f64),
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_mesh()
        .x_desc("simulated time (s)")
        .y_desc(y_desc)
        .y_labels(y_labels)
        .x_label_formatter(&|x| short_number(*x))
        .y_label_formatter(&|y| short_number(*y))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()?;
    shade_warmup(&mut chart, report.timeline.warmup_s, y_range)?;
    shade_faults(&mut chart, &report.faults, y_range)?;
    for line in lines {
        draw_line(&mut chart, line)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

type TimeChart<'a, DB, Y> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>;

/// Draws a line in segments (a gap where a value is missing), with one legend entry.
fn draw_line<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut TimeChart<'a, DB, Y>,
    line: Line,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let width = match line.dash {
        Dash::Dashed => 1,
        Dash::Faint => 6,
        _ => 2,
    };
    let style = if line.dash == Dash::Faint {
        line.color.mix(0.25).stroke_width(width)
    } else {
        line.color.stroke_width(width)
    };
    let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for p in line.points {
        match p {
            Some(p) => segments.last_mut().expect("never empty").push(p),
            None if segments.last().is_some_and(|s| !s.is_empty()) => segments.push(Vec::new()),
            None => {}
        }
    }
    for segment in segments {
        match line.dash {
            Dash::Solid | Dash::Faint => chart.draw_series(LineSeries::new(segment, style))?,
            Dash::Dashed => chart.draw_series(DashedLineSeries::new(segment, 6, 4, style))?,
            Dash::Dotted => chart.draw_series(DashedLineSeries::new(segment, 2, 4, style))?,
        };
    }
    // The legend entry: an empty series that only carries the label; its sample is three
    // pieces of line, touching (solid), or apart like the line's dashes.
    let pieces = dash_pieces(line.dash);
    chart
        .draw_series(LineSeries::new(Vec::<(f64, f64)>::new(), style))?
        .label(line.label)
        .legend(move |(x, y)| {
            let piece = |(a, b): (i32, i32)| PathElement::new(vec![(a, 0), (b, 0)], style);
            EmptyElement::at((x, y)) + piece(pieces[0]) + piece(pieces[1]) + piece(pieces[2])
        });
    Ok(())
}

/// A legend sample as three pieces of a 20 px line: touching (solid), or apart like the
/// line's dashes.
fn dash_pieces(dash: Dash) -> [(i32, i32); 3] {
    match dash {
        Dash::Solid | Dash::Faint => [(0, 7), (7, 14), (14, 20)],
        Dash::Dashed => [(0, 5), (8, 13), (16, 20)],
        Dash::Dotted => [(0, 2), (8, 10), (16, 18)],
    }
}

/// A grey band over the warmup, labelled at the bottom: nothing sent in it is counted, so
/// the lines start after it rather than reading as an outage.
fn shade_warmup<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut TimeChart<'a, DB, Y>,
    warmup_s: f64,
    (y_lo, y_hi): (f64, f64),
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    if warmup_s <= 0.0 {
        return Ok(());
    }
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, y_lo), (warmup_s, y_hi)],
        BLACK.mix(0.07).filled(),
    )))?;
    chart.draw_series(std::iter::once(
        EmptyElement::at((0.0, y_lo))
            + Text::new(
                "warmup: not counted",
                (4, -18),
                (FONT, 12).into_font().color(&BLACK.mix(0.6)),
            ),
    ))?;
    Ok(())
}

/// Light bands over the fault windows, each labelled at the top (a label that would run into
/// an earlier one goes one line lower, up to four lines).
fn shade_faults<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    chart: &mut TimeChart<'a, DB, Y>,
    faults: &[FaultReport],
    (y_lo, y_hi): (f64, f64),
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let shaded: Vec<&FaultReport> = faults.iter().filter(|f| f.kind != "chaos").collect();
    // Labels placed so far: (line, first pixel, last pixel).
    let mut placed: Vec<(i32, i32, i32)> = Vec::new();
    for f in &shaded {
        let (from, to) = (f.at_s, f.at_s + f.for_s);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(from, y_lo), (to, y_hi)],
            FAULT_COLOR.mix(0.10).filled(),
        )))?;
        let label = format!("{} {}", f.kind, f.target);
        // The first of four lines where the label does not run into an earlier one.
        let x = chart.backend_coord(&(from, y_hi)).0 + 4;
        let width = (FONT, 12)
            .into_font()
            .box_size(&label)
            .map_or(0, |(w, _)| w as i32);
        let line = (0..4)
            .find(|&l| {
                placed
                    .iter()
                    .all(|&(pl, a, b)| pl != l || x > b + 6 || x + width + 6 < a)
            })
            .unwrap_or(placed.len() as i32 % 4);
        placed.push((line, x, x + width));
        let offset = 4 + 16 * line;
        chart.draw_series(std::iter::once(
            EmptyElement::at((from, y_hi))
                + Text::new(
                    label,
                    (4, offset),
                    (FONT, 12).into_font().color(&FAULT_COLOR),
                ),
        ))?;
    }
    if !shaded.is_empty() {
        // One legend entry for all windows.
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
            .label("fault window")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 20, y + 5)],
                    FAULT_COLOR.mix(0.25).filled(),
                )
            });
    }
    Ok(())
}

/// The legend, in a corner where the data leaves room.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

/// One row per breaker that changed state: closed, open and half-open as coloured bars.
fn breakers<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    report: &Report,
) -> PlotResult<()>
where
    DB::ErrorType: 'static,
{
    let changed: Vec<_> = report
        .breakers
        .iter()
        .filter(|b| !b.transitions.is_empty())
        .collect();
    let (rows, all) = breaker_rows(report);
    let shown = &changed[..rows];
    let caption = if all > rows {
        format!("{title} (first {rows} of {all})")
    } else {
        title.to_string()
    };
    let x_end = time_axis_end(report);
    let states = [
        ("closed", RGBColor(0x00, 0x9E, 0x73)),
        ("half-open", RGBColor(0x56, 0xB4, 0xE9)),
        ("open", RGBColor(0xD5, 0x5E, 0x00)),
    ];
    let state_color = |s: &str| {
        states
            .iter()
            .find(|(n, _)| *n == s)
            .map_or(BLACK, |(_, c)| *c)
    };
    {
        root.fill(&WHITE)?;
        // The key goes in a strip below the time axis: a legend inside the plot would cover
        // the bars of the top row.
        let height = root.dim_in_pixel().1;
        let (upper, key) = root.split_vertically(height - KEY_HEIGHT_PX);
        let mut chart = ChartBuilder::on(&upper)
            .caption(&caption, (FONT, 22))
            .margin(12)
            .margin_bottom(0)
            .x_label_area_size(48)
            .y_label_area_size(16)
            .build_cartesian_2d(0.0..x_end, 0.0..rows.max(1) as f64)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("simulated time (s)")
            .x_label_formatter(&|x| short_number(*x))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .draw()?;
        for (row, b) in shown.iter().enumerate() {
            // Top row first.
            let y = (rows - 1 - row) as f64;
            let mut from = (0.0, "closed");
            let mut bars = Vec::new();
            for t in &b.transitions {
                bars.push((from.0, t.t_s, from.1));
                from = (t.t_s, t.state.as_str());
            }
            bars.push((from.0, x_end, from.1));
            chart.draw_series(bars.into_iter().filter(|(a, z, _)| z > a).map(|(a, z, s)| {
                Rectangle::new(
                    [(a, y + 0.1), (z, y + 0.5)],
                    state_color(s).mix(0.8).filled(),
                )
            }))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{} ({})", b.site, b.owner),
                (0.0, y + 0.92),
                (FONT, 13),
            )))?;
        }
        // Centred: three entries of about 110 px.
        let mut x = WIDTH_PX as i32 / 2 - 165;
        for (name, c) in states {
            key.draw(
                &(EmptyElement::at((x, 8))
                    + Rectangle::new([(0, 0), (20, 10)], c.mix(0.8).filled())
                    + Text::new(name, (26, -2), (FONT, 13))),
            )?;
            x += 110;
        }
        root.present()?;
    }
    Ok(())
}

/// The breaker rows drawn and the breakers that changed state.
fn breaker_rows(report: &Report) -> (usize, usize) {
    let all = report
        .breakers
        .iter()
        .filter(|b| !b.transitions.is_empty())
        .count();
    (all.min(MAX_BREAKER_ROWS), all)
}

/// An axis label without trailing zeros: `0.5`, `20`, `1000`, `0.001`, `0.00001`. A value
/// under 0.001 keeps two significant digits (a log axis of sub-microsecond latencies has
/// ticks at 0.0001 ms and 0.00001 ms, which three decimals would all print as `0`).
fn short_number(x: f64) -> String {
    let text = if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x != 0.0 && x.abs() < 0.001 && x.is_finite() {
        let decimals = (-x.abs().log10()).ceil().min(300.0) as usize + 1;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" { "0".to_string() } else { text }
}

#[cfg(test)]
mod tests {
    use super::{counted_span, short_number};

    #[test]
    fn axis_labels_tell_small_ticks_apart() {
        // Goal: the ticks of a log axis below 0.001 keep their digits (they printed `0`), and
        // the labels at and above 0.001 are as before.
        let got: Vec<String> = [
            0.00001, 0.0001, 0.00025, 0.001, 0.5, 20.0, 1000.0, 0.0, -0.0,
        ]
        .into_iter()
        .map(short_number)
        .collect();
        let want = [
            "0.00001", "0.0001", "0.00025", "0.001", "0.5", "20", "1000", "0", "0",
        ];
        assert_eq!(got, want);
    }
    use crate::json::TimelineReport;

    #[test]
    fn throughput_counts_only_the_part_of_a_bucket_after_warmup_and_before_duration() {
        // Goal: with 10 s buckets, a 5 s warmup and a 25 s duration, bucket 0 is counted over
        // [5, 10) only (its rate divides by 5 s, not 10 s), bucket 1 whole, bucket 2 over
        // [20, 25), and bucket 3 (the drain) not at all — no line drawn there.
        let t = TimelineReport {
            bucket_s: 10.0,
            warmup_s: 5.0,
            duration_s: 25.0,
            ..TimelineReport::default()
        };
        assert_eq!(counted_span(0, &t), (5.0, 10.0));
        assert_eq!(counted_span(1, &t), (10.0, 20.0));
        assert_eq!(counted_span(2, &t), (20.0, 25.0));
        let (from, to) = counted_span(3, &t);
        assert!(from >= to, "the drain is not counted: {from}..{to}");
    }
}

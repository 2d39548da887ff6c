//! `meshsim sweep`: a load curve or a parameter grid. One scenario file, every combination of
//! the `--vary` values (ranges `A..B:STEP` or lists) run on the same seeds by the many-run
//! engine; per grid point, the same metrics as `compare` (mean and 95% confidence interval
//! over the seeds), printed with one row per grid point and a column per main metric.
//!
//! A sweep is a [`Comparison`] read the other way round: its variants are the grid points, in
//! grid order (the first `--vary` slowest). Everything printed depends only on the plan and the
//! results, so `--jobs` and sharding cannot change a byte.

mod plot;

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::compare::print::{number, with_decimals_of};
use crate::compare::{Cell, Comparison, Row, Unit};
use crate::csv;
use crate::json::round;
use crate::many::stats::{CONFIDENCE, t_quantile};
use crate::many::{JobResult, PlanInfo};
use crate::outputs::rendered;

pub use plot::sweep_svg;

/// The merged result of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub comparison: Comparison,
    /// The varied paths, in `--vary` order.
    pub paths: Vec<String>,
    /// Indices into `comparison.rows` of the table's metric columns: each workload's p50, p99,
    /// failed % and throughput, each flow's inconsistent %, then the run-wide rows (messages
    /// per request, message lag p99, busiest utilization), replica-seconds, then the
    /// `--metric` rows.
    pub columns: Vec<usize>,
}

impl Sweep {
    /// Summarises `results`: every job of `plan`, in job index order.
    pub fn build(plan: PlanInfo, results: &[JobResult]) -> Sweep {
        let paths = plan
            .variants
            .first()
            .map(|v| v.vary.iter().map(|s| s.path.clone()).collect())
            .unwrap_or_default();
        let comparison = Comparison::build(plan, results);
        let columns = comparison
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| is_main(r))
            .map(|(i, _)| i)
            .collect();
        Sweep {
            comparison,
            paths,
            columns,
        }
    }

    /// The grid points' values of each varied path, unquoted, per point.
    pub fn points(&self) -> Vec<Vec<String>> {
        self.comparison
            .plan
            .variants
            .iter()
            .map(|v| v.vary.iter().map(|s| unquote(&s.value)).collect())
            .collect()
    }

    /// The headers of the varied paths: the last segment, or the whole path when two end
    /// alike.
    pub fn path_headers(&self) -> Vec<String> {
        let last = |p: &str| p.rsplit('.').next().unwrap_or(p).to_string();
        self.paths
            .iter()
            .map(|p| {
                let l = last(p);
                if self.paths.iter().filter(|q| last(q) == l).count() > 1 {
                    p.clone()
                } else {
                    l
                }
            })
            .collect()
    }

    fn column_rows(&self) -> impl Iterator<Item = &Row> {
        self.columns.iter().map(|&i| &self.comparison.rows[i])
    }

    /// The sweep as the JSON `sweep --json` prints (keys in this order):
    /// `meshsim, command, scenario, file, set, vary, seeds, confidence, t, points[]`; each
    /// point: `vary{PATH: VALUE}`, `label`, `expect_failed_seeds`, `busiest_services{NAME:
    /// runs}`, `metrics{KEY: {mean, ci95, values}}` with every metric `compare` has.
    pub fn to_value(&self) -> Value {
        let c = &self.comparison;
        let first = c.plan.variants.first();
        let points: Vec<Value> = c
            .plan
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let vary: Map<String, Value> = v
                    .vary
                    .iter()
                    .map(|s| (s.path.clone(), Value::String(s.value.clone())))
                    .collect();
                let mut metrics = Map::new();
                for row in &c.rows {
                    if let Some(cell) = &row.cells[i] {
                        metrics.insert(row.key.clone(), cell_value(cell));
                    }
                }
                let busiest: Map<String, Value> = c.busiest[i]
                    .iter()
                    .map(|(name, runs)| (name.clone(), json!(runs)))
                    .collect();
                json!({
                    "vary": vary,
                    "label": v.label,
                    "expect_failed_seeds": c.expect_failed[i],
                    "busiest_services": busiest,
                    "metrics": metrics,
                })
            })
            .collect();
        json!({
            "meshsim": env!("CARGO_PKG_VERSION"),
            "command": c.plan.command,
            "scenario": first.map(|v| v.scenario.clone()),
            "file": first.map(|v| v.file.clone()),
            "set": first.map(|v| v.set.clone()).unwrap_or_default(),
            "vary": self.paths,
            "seeds": c.plan.seeds,
            "confidence": CONFIDENCE,
            "t": t_quantile(c.plan.seeds.len()).map(round),
            "points": points,
        })
    }
}

/// Whether a row is one of the table's columns: every workload row (p50, p99, failed %,
/// throughput), each flow's inconsistent %, the run-wide rows (messages per request, message
/// lag, busiest utilization), replica-seconds, and the `--metric` rows last, as in compare.
fn is_main(row: &Row) -> bool {
    let i = &row.info;
    i.section == 0 || i.is_flow_inconsistent() || i.section >= 2
}

fn cell_value(cell: &Cell) -> Value {
    json!({
        "mean": round(cell.summary.mean),
        "ci95": cell.summary.ci95.map(round),
        "values": cell.values,
    })
}

/// A `--vary` value as a label shows it: without its TOML quotes.
fn unquote(v: &str) -> String {
    ['"', '\'']
        .iter()
        .find_map(|q| v.strip_prefix(*q).and_then(|s| s.strip_suffix(*q)))
        .unwrap_or(v)
        .to_string()
}

/// `mean ± half-width` (the mean alone with one seed), `—` where the point lacks the metric.
fn cell_text(unit: Unit, cell: &Option<Cell>) -> String {
    match cell {
        None => "—".to_string(),
        Some(c) => match c.summary.ci95 {
            Some(h) => format!(
                "{} ± {}",
                number(unit, c.summary.mean),
                with_decimals_of(unit, c.summary.mean, h)
            ),
            None => number(unit, c.summary.mean),
        },
    }
}

/// The first lines: what was swept, over which seeds, and what the cells are.
pub(crate) fn heading(s: &Sweep) -> Vec<String> {
    let c = &s.comparison;
    let seeds = &c.plan.seeds;
    let (n, first, last) = (seeds.len(), seeds[0], seeds[seeds.len() - 1]);
    let scenario = c.plan.variants.first().map_or("", |v| v.scenario.as_str());
    let over = if s.paths.is_empty() {
        "nothing varied".to_string()
    } else {
        s.paths.join(" × ")
    };
    let points = c.plan.variants.len();
    let cells = if n == 1 {
        format!("1 seed ({first}): cells are single runs, no confidence intervals.")
    } else {
        format!(
            "{n} seeds ({first} to {last}) at every point; cells are mean ± half-width of the \
             95% confidence interval over the seeds."
        )
    };
    vec![
        format!(
            "sweep of {scenario} over {over}: {points} point{}",
            if points == 1 { "" } else { "s" }
        ),
        cells,
    ]
}

/// The table: a header row and one row per grid point, as cell texts.
pub(crate) fn table(s: &Sweep) -> (Vec<String>, Vec<Vec<String>>) {
    let header: Vec<String> = s
        .path_headers()
        .into_iter()
        .chain(s.column_rows().map(|r| r.info.label.clone()))
        .collect();
    let rows = s
        .points()
        .into_iter()
        .enumerate()
        .map(|(i, values)| {
            values
                .into_iter()
                .chain(s.column_rows().map(|r| cell_text(r.info.unit, &r.cells[i])))
                .collect()
        })
        .collect();
    (header, rows)
}

/// The text report: the heading, then the table (every column right-aligned).
pub fn write_sweep_text<W: Write>(mut w: W, s: &Sweep) -> io::Result<()> {
    for line in heading(s) {
        writeln!(w, "{line}")?;
    }
    writeln!(w)?;
    let (header, rows) = table(s);
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str("  ");
            line.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            line.push_str(cell);
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    if let Some(note) = expect_note(s) {
        writeln!(w)?;
        writeln!(w, "{note}")?;
    }
    Ok(())
}

/// The note under the table when an `[[expect]]` failed in some run.
pub(crate) fn expect_note(s: &Sweep) -> Option<String> {
    let failed: usize = s.comparison.expect_failed.iter().map(Vec::len).sum();
    (failed > 0).then(|| {
        format!(
            "Note: an [[expect]] failed in {failed} of {} runs (see expect_failed_seeds in \
             --json); sweep does not fail on them.",
            s.comparison.plan.variants.len() * s.comparison.plan.seeds.len()
        )
    })
}

/// The JSON (`sweep --json`): [`Sweep::to_value`], pretty-printed, trailing newline.
pub fn write_sweep_json<W: Write>(mut w: W, s: &Sweep) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, &s.to_value()).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// The CSV: one line per grid point: each varied path's value, then `KEY_mean,KEY_ci95` for
/// every metric `compare` has (`ci95` empty with one seed, both empty where the point lacks
/// the metric).
pub fn sweep_csv(s: &Sweep) -> String {
    let c = &s.comparison;
    let mut header: Vec<String> = s.paths.iter().map(|p| csv::field(p)).collect();
    for row in &c.rows {
        header.push(csv::field(&format!("{}_mean", row.key)));
        header.push(csv::field(&format!("{}_ci95", row.key)));
    }
    let mut out = header.join(",");
    out.push('\n');
    for (i, values) in s.points().into_iter().enumerate() {
        let mut fields: Vec<String> = values.iter().map(|v| csv::field(v)).collect();
        for row in &c.rows {
            match &row.cells[i] {
                Some(cell) => {
                    fields.push(csv::number(cell.summary.mean));
                    fields.push(cell.summary.ci95.map(csv::number).unwrap_or_default());
                }
                None => fields.extend([String::new(), String::new()]),
            }
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Every file `sweep --out DIR` writes, computed in memory first: sweep.json (the bytes of
/// `--json`), sweep.txt, sweep.csv, the plot sweep.svg and report.html (the plot inline).
pub fn sweep_files(s: &Sweep) -> io::Result<Vec<(String, Vec<u8>)>> {
    let json = rendered(|w| write_sweep_json(w, s))?;
    let text = rendered(|w| write_sweep_text(w, s))?;
    let svg = sweep_svg(s).map_err(|e| io::Error::other(e.to_string()))?;
    let html = crate::html::sweep_html(s, &svg);
    Ok(vec![
        ("sweep.json".to_string(), json),
        ("sweep.txt".to_string(), text),
        ("sweep.csv".to_string(), sweep_csv(s).into_bytes()),
        ("sweep.svg".to_string(), svg.into_bytes()),
        (crate::html::FILE.to_string(), html),
    ])
}

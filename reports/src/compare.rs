//! `meshsim compare`: every variant on the same seeds, side by side with 95% confidence
//! intervals, and a first line that says who wins on what.
//!
//! The runs themselves are the many-run engine's ([`crate::many`]); this module turns their
//! [`JobResult`]s (in job order, from one process or merged from shards) into a
//! [`Comparison`] and prints it as text, JSON, Markdown and CSV. Everything printed depends
//! only on the plan and the results, so `--jobs` and sharding cannot change a byte.

mod metrics;
mod paired;
mod picked;
pub(crate) mod print;
mod verdict;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::json::round;
use crate::many::stats::{CONFIDENCE, Summary, t_quantile};
use crate::many::{JobResult, PlanInfo};

pub use metrics::{
    BUSIEST_SERVICE, BUSIEST_UTILIZATION, Better, LAG_P99, MESSAGES_PER_REQUEST, MetricInfo,
    PICKED_SECTION, Unit, describe, extract,
};
pub use paired::{Judgement, Paired};
pub use picked::{MAX_PICKED, Picked};
pub use print::{
    compare_csv, compare_files, write_compare_json, write_compare_markdown, write_compare_text,
};
pub use verdict::verdict;

/// The merged result of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub plan: PlanInfo,
    /// One per metric, in row order.
    pub rows: Vec<Row>,
    /// Per variant, the seeds whose run had a failed `[[expect]]`.
    pub expect_failed: Vec<Vec<u64>>,
    /// Per variant, each service that was the busiest in some run and in how many, most
    /// often first (ties: by name).
    pub busiest: Vec<Vec<(String, usize)>>,
}

/// One metric across the variants.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Dotted key, as in the JSON (`workloads.checkout.latency_ms.p50`).
    pub key: String,
    pub info: MetricInfo,
    /// One per variant, in variant order; `None` where the variant has no such metric, or
    /// where some of its seeds have no value for it (a statistic of an empty set: a latency
    /// with nothing successful). A mean over only the seeds that had a value would describe a
    /// different population from the others' means, so such a cell is missing as a whole and
    /// never ranked.
    pub cells: Vec<Option<Cell>>,
    /// One per variant: its paired difference against the baseline variant
    /// ([`PlanInfo::baseline`]) over the seeds where both have a value; `None` for the
    /// baseline itself and where no seed has both.
    pub paired: Vec<Option<Paired>>,
}

/// One metric of one variant over the seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub summary: Summary,
    /// In seed order.
    pub values: Vec<f64>,
}

impl Comparison {
    /// Summarises `results`: every job of `plan`, in job index order (variant-major).
    pub fn build(plan: PlanInfo, results: &[JobResult]) -> Comparison {
        let n = plan.variants.len();
        // One pass over the results for each step (keys, runs by variant, values by row and
        // variant): scans per key or per variant made a big merge quadratic.
        let mut keys: Vec<String> = Vec::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut busiest: Vec<BTreeMap<&str, usize>> = vec![BTreeMap::new(); n];
        for r in results {
            for (k, _) in &r.metrics.0 {
                if let Some(name) = k.strip_prefix(BUSIEST_SERVICE) {
                    if let Some(counts) = busiest.get_mut(r.job.variant) {
                        *counts.entry(name).or_default() += 1;
                    }
                } else if seen.insert(k) {
                    keys.push(k.clone());
                }
            }
        }
        let busiest = busiest
            .into_iter()
            .map(|counts| {
                let mut list: Vec<(String, usize)> = counts
                    .into_iter()
                    .map(|(k, c)| (k.to_string(), c))
                    .collect();
                list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                list
            })
            .collect();
        let mut by_variant: Vec<Vec<&JobResult>> = vec![Vec::new(); n];
        for r in results {
            if let Some(runs) = by_variant.get_mut(r.job.variant) {
                runs.push(r);
            }
        }
        let order = metrics::row_order(&keys);
        let row_of: BTreeMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (key.as_str(), i))
            .collect();
        // Per row and variant, each seed's value (by its position in the plan's seeds), so
        // that pairs are formed seed by seed; a row a variant never has stays empty.
        let seeds = plan.seeds.len().max(1);
        let mut values: Vec<Vec<Vec<Option<f64>>>> = vec![vec![Vec::new(); n]; order.len()];
        for (v, runs) in by_variant.iter().enumerate() {
            for r in runs {
                let at = r.job.index % seeds;
                for (k, x) in &r.metrics.0 {
                    let Some(&row) = row_of.get(k.as_str()) else {
                        continue; // a busiest-service marker
                    };
                    let per_seed = &mut values[row][v];
                    if per_seed.is_empty() {
                        per_seed.resize(seeds, None);
                    }
                    // A key repeated in one job counts once (its first value), as
                    // `Metrics::get` reads it.
                    per_seed[at].get_or_insert(*x);
                }
            }
        }
        let baseline = plan.baseline.min(n.saturating_sub(1));
        let rows = order
            .into_iter()
            .zip(values)
            .map(|((key, info), per_variant)| {
                let paired = per_variant
                    .iter()
                    .enumerate()
                    .map(|(v, ours)| {
                        (v != baseline)
                            .then(|| Paired::of(&info, ours, &per_variant[baseline]))
                            .flatten()
                    })
                    .collect();
                let cells = per_variant
                    .into_iter()
                    .zip(&by_variant)
                    .map(|(per_seed, runs)| {
                        // A mean over every seed or none: a mean over only the seeds where
                        // the statistic exists would describe another population.
                        let values: Option<Vec<f64>> = per_seed.into_iter().collect();
                        values
                            .filter(|v| !v.is_empty() && v.len() == runs.len())
                            .map(|values| Cell {
                                summary: Summary::of(&values),
                                values,
                            })
                    })
                    .collect();
                Row {
                    key,
                    info,
                    cells,
                    paired,
                }
            })
            .collect();
        let expect_failed = by_variant
            .iter()
            .map(|runs| {
                runs.iter()
                    .filter(|r| r.expect_failed)
                    .map(|r| r.job.seed)
                    .collect()
            })
            .collect();
        Comparison {
            plan,
            rows,
            expect_failed,
            busiest,
        }
    }

    /// The variants' labels, in order.
    pub fn labels(&self) -> Vec<&str> {
        self.plan
            .variants
            .iter()
            .map(|v| v.label.as_str())
            .collect()
    }

    /// The index of the baseline variant.
    pub fn baseline(&self) -> usize {
        self.plan
            .baseline
            .min(self.plan.variants.len().saturating_sub(1))
    }

    /// The row with `key`.
    pub fn row(&self, key: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.key == key)
    }

    /// The comparison as the JSON `compare --json` prints (keys in this order):
    /// `meshsim, command, seeds, confidence, t, verdict, variants[], metrics{}`.
    pub fn to_value(&self) -> Value {
        let variants: Vec<Value> = self
            .plan
            .variants
            .iter()
            .zip(self.expect_failed.iter().zip(&self.busiest))
            .map(|(v, (failed, busiest))| {
                let busiest: Map<String, Value> = busiest
                    .iter()
                    .map(|(name, seeds)| (name.clone(), json!(seeds)))
                    .collect();
                json!({
                    "label": v.label,
                    "file": v.file,
                    "scenario": v.scenario,
                    "set": v.set,
                    "vary": v.vary,
                    "expect_failed_seeds": failed,
                    "busiest_services": busiest,
                })
            })
            .collect();
        let mut metrics = Map::new();
        for row in &self.rows {
            let mut cells = Map::new();
            for (label, cell) in self.labels().into_iter().zip(&row.cells) {
                let value = match cell {
                    Some(c) => json!({
                        "mean": round(c.summary.mean),
                        "ci95": c.summary.ci95.map(round),
                        "values": c.values,
                    }),
                    None => Value::Null,
                };
                cells.insert(label.to_string(), value);
            }
            let mut paired = Map::new();
            for (v, label) in self.labels().into_iter().enumerate() {
                if v != self.baseline() {
                    paired.insert(label.to_string(), paired_value(row.paired[v].as_ref()));
                }
            }
            metrics.insert(
                row.key.clone(),
                json!({ "label": row.info.label, "variants": cells, "paired": paired }),
            );
        }
        json!({
            "meshsim": env!("CARGO_PKG_VERSION"),
            "command": self.plan.command,
            "seeds": self.plan.seeds,
            "confidence": CONFIDENCE,
            "t": t_quantile(self.plan.seeds.len()).map(round),
            "verdict": verdict(self),
            "baseline": self.labels()[self.baseline()],
            "variants": variants,
            "metrics": metrics,
        })
    }
}

/// A paired difference in the JSON: `{mean_diff, ci95, pairs, verdict}` (`ci95` and
/// `verdict` null with fewer than two pairs), or null when no seed has both values.
fn paired_value(p: Option<&Paired>) -> Value {
    match p {
        Some(p) => json!({
            "mean_diff": round(p.diff.mean),
            "ci95": p.diff.ci95.map(round),
            "pairs": p.pairs,
            "verdict": p.judgement.map(Judgement::word),
        }),
        None => Value::Null,
    }
}

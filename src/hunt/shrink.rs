//! `hunt --shrink`: a smaller scenario that still satisfies the expression on the seed found.
//!
//! Greedy and deterministic, one run per try, in this order: halve `scenario.duration` (and
//! `scenario.warmup` with it) as long as the expression holds; halve each workload's `rate`
//! likewise; drop each `[[fault]]` (last first) and then `[chaos]`, keeping each drop only if
//! the expression still holds. A try whose scenario does not validate or hits a run limit
//! counts as "no longer holds". Settings a `--set` overrides are left alone (the shrunk file
//! is replayed with the same `--set`). The file is edited with `toml_edit`, so comments and
//! layout survive. It is written only into `--out DIR`, by default the current directory —
//! never beside the input, which may be `/dev/stdin` or sit in a directory the user does not
//! expect meshsim to write in — and never through a symlink.

use std::path::Path;
use std::sync::Arc;

use reports::hunt::Expr;
use reports::many::{Plan, SeedChoice, Source, run_jobs};
use sim_core::SideFiles;
use sim_core::time::parse_duration;
use toml_edit::{DocumentMut, Item, Value};

use crate::cli::HuntArgs;
use crate::commands::{Failure, print};
use crate::out_file::OutFile;

/// Most halvings of one measure.
const MAX_HALVINGS: u32 = 16;

/// The shrunk file's place, made before the hunt: a temporary file in `--out DIR` or the
/// current directory.
pub fn prepare(args: &HuntArgs) -> Result<OutFile, Failure> {
    let what = match &args.out {
        Some(dir) => format!("--out {}", dir.display()),
        None => "hunt --shrink (it writes into the current directory without --out)".into(),
    };
    OutFile::prepare(
        what,
        args.out.as_deref().unwrap_or(Path::new("")),
        "shrunk.toml",
    )
}

/// Shrinks, writes the shrunk file into `out` and prints what was reduced and how to run it.
pub fn shrink(
    args: &HuntArgs,
    source: &Source,
    expr: &Expr,
    seed: u64,
    out: OutFile,
) -> Result<(), Failure> {
    let Ok(mut doc) = source.text.parse::<DocumentMut>() else {
        return Err(Failure::BadInput(vec![format!(
            "{}: cannot be edited as TOML",
            source.file
        )]));
    };
    // Keys, not text: `workload."shop".rate` overrides `workload.shop.rate` (issue C7). A
    // setting is overridden by a `--set` below it (`fault.0.at` for `fault`) or above it (a
    // whole table, `workload.shop={…}` for `workload.shop.rate`).
    let set_keys: Vec<Vec<String>> = args.set.iter().filter_map(|o| o.keys().ok()).collect();
    let overridden = |path: &[&str]| {
        set_keys
            .iter()
            .any(|k| k.iter().zip(path).all(|(a, b)| a == b))
    };
    let mut s = Shrinker {
        args,
        file: &source.file,
        side_files: &source.side_files,
        expr,
        seed,
        runs: 0,
        reduced: Vec::new(),
    };
    if !overridden(&["scenario", "duration"]) && !overridden(&["scenario", "warmup"]) {
        s.duration(&mut doc);
    }
    let workloads: Vec<String> = doc
        .get("workload")
        .and_then(Item::as_table_like)
        .map(|t| t.iter().map(|(k, _)| k.to_string()).collect())
        .unwrap_or_default();
    for name in workloads {
        if !overridden(&["workload", &name, "rate"]) {
            s.rate(&mut doc, &name);
        }
    }
    if !overridden(&["fault"]) {
        s.faults(&mut doc);
    }
    if !overridden(&["chaos"]) && doc.contains_key("chaos") {
        s.try_edit(&mut doc, "removed [chaos]".to_string(), |d| {
            d.remove("chaos");
            true
        });
    }
    let path = out.commit(&shrunk_name(&source.file, seed), doc.to_string().as_bytes())?;
    let mut text = format!("shrink ({} runs):\n", s.runs);
    if s.reduced.is_empty() {
        text.push_str("  nothing could be reduced: every smaller try no longer satisfies it\n");
    }
    for line in &s.reduced {
        text.push_str(&format!("  {line}\n"));
    }
    let shown = path.display().to_string();
    text.push_str(&format!("wrote {shown}\n"));
    let mut replay = reports::many::VariantInfo {
        label: String::new(),
        file: shown,
        scenario: String::new(),
        set: args
            .set
            .iter()
            .map(|o| format!("{}={}", o.path, o.value))
            .collect(),
        vary: Vec::new(),
    }
    .replay(seed);
    replay.insert_str(0, "replay: ");
    text.push_str(&replay);
    text.push('\n');
    print(text.as_bytes())
}

/// `FILE-shrunk-seedN.toml`, FILE's stem (`stdin` for `/dev/stdin`).
fn shrunk_name(file: &str, seed: u64) -> String {
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".to_string());
    format!("{stem}-shrunk-seed{seed}.toml")
}

struct Shrinker<'a> {
    args: &'a HuntArgs,
    file: &'a str,
    /// The original's reader of side files (`rate_file`), for every shrunk text.
    side_files: &'a Arc<dyn SideFiles + Send + Sync>,
    expr: &'a Expr,
    seed: u64,
    runs: usize,
    /// What was reduced, for people, in order.
    reduced: Vec<String>,
}

impl Shrinker<'_> {
    /// Whether `text` validates, runs within its limits and satisfies the expression.
    fn holds(&mut self, text: String) -> bool {
        self.runs += 1;
        let source = Source {
            file: self.file.to_string(),
            text,
            side_files: Arc::clone(self.side_files),
        };
        let seeds = SeedChoice {
            first: Some(self.seed),
            count: 1,
        };
        let Ok(plan) = Plan::new("hunt", &[source], &self.args.set, &[], seeds) else {
            return false;
        };
        let extract = |report: &serde_json::Value| self.expr.extract(report);
        let jobs = plan.info.jobs(reports::many::Shard::ALL);
        let Ok(outcomes) = run_jobs(&plan, &jobs, 1, &extract, &|| {}) else {
            return false;
        };
        outcomes
            .into_iter()
            .next()
            .and_then(Result::ok)
            .is_some_and(|r| self.expr.eval(&r.metrics).unwrap_or(false))
    }

    /// Applies `edit` to a copy; keeps it (and says `what`) if the expression still holds.
    fn try_edit(
        &mut self,
        doc: &mut DocumentMut,
        what: String,
        edit: impl FnOnce(&mut DocumentMut) -> bool,
    ) -> bool {
        let mut candidate = doc.clone();
        if !edit(&mut candidate) || !self.holds(candidate.to_string()) {
            return false;
        }
        *doc = candidate;
        self.reduced.push(what);
        true
    }

    fn duration(&mut self, doc: &mut DocumentMut) {
        let read = |doc: &DocumentMut, key: &str| {
            doc.get("scenario")
                .and_then(|s| s.get(key))
                .and_then(Item::as_str)
                .and_then(|t| parse_duration(t).ok())
                .map(|d| d.as_nanos())
        };
        let Some(original) = read(doc, "duration") else {
            return;
        };
        let mut now = original;
        for _ in 0..MAX_HALVINGS {
            let half = now / 2;
            if half == 0 {
                break;
            }
            let warmup = read(doc, "warmup");
            let ok = self.try_edit(doc, String::new(), |d| {
                d["scenario"]["duration"] = toml_edit::value(duration_text(half));
                if let Some(w) = warmup {
                    d["scenario"]["warmup"] = toml_edit::value(duration_text(w / 2));
                }
                true
            });
            if !ok {
                break;
            }
            self.reduced.pop();
            now = half;
        }
        if now < original {
            self.reduced.push(format!(
                "scenario.duration {} -> {} (warmup halved with it)",
                duration_text(original),
                duration_text(now)
            ));
        }
    }

    fn rate(&mut self, doc: &mut DocumentMut, name: &str) {
        let read = |doc: &DocumentMut| {
            doc.get("workload")
                .and_then(|w| w.get(name))
                .and_then(|w| w.get("rate"))
                .and_then(Item::as_value)
                .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
        };
        let Some(original) = read(doc) else {
            return;
        };
        let mut now = original;
        for _ in 0..MAX_HALVINGS {
            let half = now / 2.0;
            let ok = self.try_edit(doc, String::new(), |d| {
                d["workload"][name]["rate"] = toml_edit::value(rate_value(half));
                true
            });
            if !ok {
                break;
            }
            self.reduced.pop();
            now = half;
        }
        if now < original {
            self.reduced.push(format!(
                "workload.{name}.rate {} -> {}",
                rate_value(original),
                rate_value(now)
            ));
        }
    }

    fn faults(&mut self, doc: &mut DocumentMut) {
        let count = doc
            .get("fault")
            .and_then(Item::as_array_of_tables)
            .map_or(0, |a| a.len());
        for i in (0..count).rev() {
            let describe = doc
                .get("fault")
                .and_then(Item::as_array_of_tables)
                .and_then(|a| a.get(i))
                .map(|t| {
                    let field = |k: &str| t.get(k).and_then(Item::as_str).unwrap_or("?");
                    format!("{} on {}", field("kind"), field("target"))
                })
                .unwrap_or_default();
            self.try_edit(
                doc,
                format!("removed [[fault]] {} ({describe})", i + 1),
                |d| match d.get_mut("fault").and_then(Item::as_array_of_tables_mut) {
                    Some(a) => {
                        a.remove(i);
                        if a.is_empty() {
                            d.remove("fault");
                        }
                        true
                    }
                    None => false,
                },
            );
        }
    }
}

/// A duration in the largest unit that divides it: `37500ms`, `2s`, `1500us`.
fn duration_text(ns: u64) -> String {
    for (unit, scale) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
        if ns % scale == 0 {
            return format!("{}{unit}", ns / scale);
        }
    }
    format!("{ns}ns")
}

/// A rate as TOML: an integer when it is one.
fn rate_value(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

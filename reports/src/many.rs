//! The many-run engine behind `compare` (and, next, `sweep`, `hunt`, `--shard` and `merge`).
//!
//! A many-run command is a [`Plan`]: variants (scenario files × the grid of `--vary` values,
//! each validated once into a [`Model`]) and the seeds every variant runs on. The plan lists
//! its [`Job`]s — one per (variant, seed) — in a fixed order, variant-major, each with a
//! stable index. [`run_jobs`] runs any subset of them on a rayon pool: each job runs the model,
//! builds the JSON report value (exactly what `run --json` prints), hands it to the command's
//! `extract` function and keeps only the [`Metrics`] it returns, so memory follows the jobs in
//! flight, not the jobs done. Results come back in job order whatever the number of threads.
//!
//! Cluster runs slice the job list: [`Shard`] `I/N` holds every job whose index is `I-1`
//! modulo `N` (strided, so a slow variant is spread over every shard). A shard's results, with
//! the plan's description, make a [`Partial`] that serialises to JSON with a checksum of its
//! content; [`read_partial`] reads one back checking every field (a damaged file is refused
//! naming the field, never merged), and [`merge`] checks that a set of partials covers every
//! job of one plan exactly once and gives back the same `(PlanInfo, Vec<JobResult>)` the
//! unsharded command had, so every printer downstream is shared and the merged output is byte
//! for byte the unsharded one. Plans are capped ([`MAX_VARIANTS`], [`MAX_RUNS`]) by arithmetic
//! before any variant is built.
//!
//! How the commands plug in: `compare` extracts [`crate::compare::extract`] and summarises
//! per variant; `sweep` is the same plan with a numeric `--vary` range and its own extract;
//! `hunt` is one variant with many seeds, run in chunks of job indices, stopping at the first
//! chunk where its expression holds (the smallest index wins, so the answer does not depend
//! on the threads either).

mod partial;
mod side_files;
pub mod stats;
mod vary;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sim_core::{Model, NoSideFiles, Override, SideFiles, parse_scenario_with};

use crate::json::{Report, round};

pub use partial::{MAX_METRIC_ABS, Partial, merge, read_partial};
pub use vary::{Setting, Vary};

/// A scenario file as the command line read it.
#[derive(Clone)]
pub struct Source {
    /// The path as the user gave it (used in messages and in the JSON).
    pub file: String,
    pub text: String,
    /// Reads the files the scenario names (`rate_file`), resolved where the file lies; every
    /// variant of the file is parsed with it.
    pub side_files: Arc<dyn SideFiles + Send + Sync>,
}

impl Source {
    /// A scenario given as text alone: it may name no other file.
    pub fn new(file: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            file: file.into(),
            text: text.into(),
            side_files: Arc::new(NoSideFiles),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("file", &self.file)
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

/// One variant as outputs and partial results describe it (its model is not serialised).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantInfo {
    /// Unique and readable: the scenario name (or the file stem when files share a name),
    /// then `PATH=VALUE` for each `--vary` dimension.
    pub label: String,
    /// The file as given on the command line.
    pub file: String,
    /// Its `scenario.name`.
    pub scenario: String,
    /// The `--set` overrides (common to every variant), as `PATH=VALUE`, in order.
    pub set: Vec<String>,
    /// This variant's value of each `--vary` dimension, applied after `set`.
    pub vary: Vec<Setting>,
}

impl VariantInfo {
    /// The command that replays this variant at `seed` with `meshsim run`.
    pub fn replay(&self, seed: u64) -> String {
        let mut line = format!("meshsim run {} --seed {seed}", shell_word(&self.file));
        let vary = self.vary.iter().map(|s| format!("{}={}", s.path, s.value));
        for arg in self.set.iter().cloned().chain(vary) {
            line.push_str(&format!(" --set {}", shell_word(&arg)));
        }
        line
    }
}

/// `word`, single-quoted for a POSIX shell when it holds anything but safe characters.
fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// What every variant runs on, and what a partial result must agree on to be merged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInfo {
    /// The command that made the plan (`compare`).
    pub command: String,
    pub variants: Vec<VariantInfo>,
    /// Every variant runs on these seeds, in this order (common random numbers).
    pub seeds: Vec<u64>,
    /// FNV-1a (64 bits, hex) of every file's text, in order: shards run on edited files do
    /// not merge.
    pub sources_fnv: String,
    /// Index of the variant every other is paired against (`compare --baseline LABEL`;
    /// default 0, the first). Recorded in the plan so that `merge` judges against the same.
    pub baseline: usize,
}

impl PlanInfo {
    /// Makes the variant labelled `label` the baseline; an unknown label is refused with the
    /// labels there are and a did-you-mean.
    pub fn set_baseline(&mut self, label: &str) -> Result<(), String> {
        let labels: Vec<String> = self.variants.iter().map(|v| v.label.clone()).collect();
        if let Some(i) = labels.iter().position(|l| l == label) {
            self.baseline = i;
            return Ok(());
        }
        let hint = sim_core::closest(label, &labels)
            .map(|l| format!("; did you mean \"{l}\"?"))
            .unwrap_or_default();
        let shown: Vec<String> = labels.iter().take(10).map(|l| format!("\"{l}\"")).collect();
        let more = if labels.len() > shown.len() {
            format!(" and {} more", labels.len() - shown.len())
        } else {
            String::new()
        };
        Err(format!(
            "--baseline {}: no variant has that label; the labels are {}{more}{hint}",
            crate::clip(label, 80),
            shown.join(", ")
        ))
    }

    /// Every job of the plan, or of one shard, in index order: variant-major, then seed order.
    pub fn jobs(&self, shard: Shard) -> Vec<Job> {
        let n = self.seeds.len();
        let total = self.variants.len().saturating_mul(n);
        let first = (shard.index as usize).saturating_sub(1);
        (first..total)
            .step_by((shard.count as usize).max(1))
            .map(|index| Job {
                index,
                variant: index / n,
                seed: self.seeds[index % n],
            })
            .collect()
    }
}

/// Most variants (files × every combination of `--vary` values) one plan may have: each is a
/// validated model held for the whole command, so the grid is refused before any is built.
pub const MAX_VARIANTS: usize = 10_000;

/// Most runs (variants × seeds) one `compare` or `sweep` may have: every run's metrics are
/// kept until the end, and a million runs is days of simulation.
pub const MAX_RUNS: usize = 1_000_000;

/// The validated plan: its description and one model per variant.
#[derive(Debug)]
pub struct Plan {
    pub info: PlanInfo,
    models: Vec<Model>,
}

/// The seeds to run: `count` seeds from `first` (default: the first variant's `scenario.seed`).
#[derive(Clone, Copy, Debug)]
pub struct SeedChoice {
    pub first: Option<u64>,
    pub count: u64,
}

impl Plan {
    /// Validates every variant (every file × every combination of `--vary` values, `--set`
    /// first) before anything runs. On failure: every problem, one line each (deduplicated:
    /// a bad file fails the same way in each of its variants), then a summary line.
    pub fn new(
        command: &str,
        sources: &[Source],
        set: &[Override],
        vary: &[Vary],
        seeds: SeedChoice,
    ) -> Result<Plan, Vec<String>> {
        vary::check_dimensions(vary)?;
        check_size(sources.len(), vary, seeds.count)?;
        let grid = vary::grid(vary);
        let mut models = Vec::new();
        let mut settings = Vec::new();
        let mut problems = Problems::default();
        let mut bad_variants = 0;
        let mut side_prints = Vec::new();
        for source in sources {
            let side_files = side_files::Fingerprinted::new(source.side_files.as_ref());
            for combo in &grid {
                let mut overrides = set.to_vec();
                overrides.extend(combo.iter().map(Setting::to_override));
                match parse_scenario_with(&source.file, &source.text, &overrides, &side_files) {
                    Ok(model) => models.push(model),
                    Err(diagnostics) => {
                        bad_variants += 1;
                        for d in &diagnostics.0 {
                            problems.add(vary::blame_vary(d.to_string(), combo));
                        }
                    }
                }
                settings.push(combo.clone());
            }
            side_prints.extend(side_files.prints());
        }
        if bad_variants > 0 {
            let total = sources.len() * grid.len();
            return Err(problems.finish(bad_variants, total));
        }
        let names: Vec<&str> = models
            .iter()
            .step_by(grid.len())
            .map(|m| m.name.as_str())
            .collect();
        let file_names = vary::file_names(sources, &names);
        let set_text: Vec<String> = set
            .iter()
            .map(|o| format!("{}={}", o.path, o.value))
            .collect();
        let varied: Vec<&str> = settings
            .first()
            .map(|c| c.iter().map(|s| s.path.as_str()).collect())
            .unwrap_or_default();
        let varied: Vec<String> = varied.into_iter().map(String::from).collect();
        let varied: Vec<&str> = varied.iter().map(String::as_str).collect();
        let several_files = sources.len() > 1;
        let variants: Vec<VariantInfo> = settings
            .into_iter()
            .enumerate()
            .map(|(i, combo)| VariantInfo {
                label: vary::label(&file_names[i / grid.len()], &combo, several_files, &varied),
                file: sources[i / grid.len()].file.clone(),
                scenario: models[i].name.clone(),
                set: set_text.clone(),
                vary: combo,
            })
            .collect();
        vary::check_labels(&variants)?;
        let first = seeds.first.unwrap_or(models[0].seed);
        let last = first
            .checked_add(seeds.count.saturating_sub(1))
            .ok_or_else(|| {
                vec![format!(
                    "--seed {first} with --seeds {}: the last seed would pass {}",
                    seeds.count,
                    u64::MAX
                )]
            })?;
        let info = PlanInfo {
            command: command.to_string(),
            variants,
            seeds: (first..=last).collect(),
            sources_fnv: fnv(sources, &side_prints),
            baseline: 0,
        };
        Ok(Plan { info, models })
    }

    /// The model of variant `i`.
    pub fn model(&self, i: usize) -> &Model {
        &self.models[i]
    }
}

/// Refuses a plan past [`MAX_VARIANTS`] or [`MAX_RUNS`], by arithmetic on the counts
/// (checked: the product of a few `--vary` lists can pass any integer), before any variant is
/// built.
fn check_size(files: usize, vary: &[Vary], seeds: u64) -> Result<(), Vec<String>> {
    let counts: Vec<String> = vary.iter().map(|v| v.values.len().to_string()).collect();
    let variants = vary
        .iter()
        .try_fold(files, |n, v| n.checked_mul(v.values.len()));
    let files_text = format!("{files} file{}", if files == 1 { "" } else { "s" });
    let shape = if vary.is_empty() {
        files_text
    } else {
        format!("{files_text} × the --vary values ({})", counts.join(" × "))
    };
    let Some(variants) = variants.filter(|&n| n <= MAX_VARIANTS) else {
        let n = variants.map_or("more than 2^64".to_string(), |n| n.to_string());
        return Err(vec![format!(
            "{shape} make {n} variants; a plan may have at most {MAX_VARIANTS}: vary fewer \
             values (or split the grid into several commands)"
        )]);
    };
    let runs = u64::try_from(variants)
        .ok()
        .and_then(|v| v.checked_mul(seeds));
    if runs.is_none_or(|r| r > MAX_RUNS as u64) {
        let n = runs.map_or("more than 2^64".to_string(), |n| n.to_string());
        return Err(vec![format!(
            "{variants} variant{} × {seeds} seeds = {n} runs; compare and sweep run at most \
             {MAX_RUNS}: use fewer --seeds or fewer variants",
            if variants == 1 { "" } else { "s" }
        )]);
    }
    Ok(())
}

/// FNV-1a over the files' texts, then the paths and fingerprints of the files they name
/// (`rate_file`; none: the fingerprint of earlier versions), each followed by a 0 byte, as 16
/// hex digits: stable across platforms and Rust versions (unlike `DefaultHasher`).
fn fnv(sources: &[Source], side_prints: &[String]) -> String {
    let texts = sources.iter().map(|s| s.text.as_bytes());
    fnv_hex(texts.chain(side_prints.iter().map(String::as_bytes)))
}

/// FNV-1a (64 bits) over `chunks`, each followed by a 0 byte, as 16 hex digits.
fn fnv_hex<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in chunks.flat_map(|c| c.iter().copied().chain(std::iter::once(0))) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Problem lines in first-seen order, each once.
#[derive(Default)]
struct Problems {
    seen: BTreeSet<String>,
    lines: Vec<String>,
}

impl Problems {
    fn add(&mut self, line: String) {
        if self.seen.insert(line.clone()) {
            self.lines.push(line);
        }
    }

    fn finish(mut self, bad: usize, total: usize) -> Vec<String> {
        let n = self.lines.len();
        self.lines.push(format!(
            "error: {n} problem{} in {bad} of {total} variant{}; nothing was run",
            if n == 1 { "" } else { "s" },
            if total == 1 { "" } else { "s" }
        ));
        self.lines
    }
}

/// `--shard I/N`: the I-th (1-based) of N slices of a plan's jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Every job: the unsharded command.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Parses `I/N` with 1 ≤ I ≤ N.
    pub fn parse(arg: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {arg}: expected I/N with 1 <= I <= N, e.g. 3/10");
        let (i, n) = arg.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether job `index` belongs to this shard (strided: index ≡ I-1 mod N).
    pub fn holds(&self, index: usize) -> bool {
        index % self.count as usize == (self.index - 1) as usize
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One run: a variant at a seed, with its stable index in the plan's job list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub index: usize,
    pub variant: usize,
    pub seed: u64,
}

/// What a finished job leaves behind: the metrics its command extracted, nothing else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    #[serde(flatten)]
    pub job: Job,
    /// Some `[[expect]]` of the scenario failed in this run (many-run commands report it but
    /// do not fail on it).
    pub expect_failed: bool,
    pub metrics: Metrics,
}

/// A job that hit a run limit (`scenario.max_events`, `scenario.max_in_flight`).
#[derive(Clone, Debug, PartialEq)]
pub struct JobLimit {
    pub job: Job,
    pub message: String,
}

/// Named numbers in a fixed order; serialised as a JSON object in that order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics(pub Vec<(String, f64)>);

impl Metrics {
    pub fn push(&mut self, key: String, value: f64) {
        self.0.push((key, value));
    }

    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

impl Serialize for Metrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Metrics;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of metric names and numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metrics, A::Error> {
                let mut out = Metrics::default();
                while let Some((k, v)) = map.next_entry::<String, f64>()? {
                    out.push(k, v);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// The metrics a command keeps from one run's JSON report value.
pub type Extract<'a> = dyn Fn(&Value) -> Metrics + Sync + 'a;

/// Runs `jobs` of `plan` on a pool of `threads` threads (each job independent: one model
/// shared read-only, its own world), calling `done` after each job (from any thread, for a
/// progress bar). Results are in the order of `jobs`, whatever `threads` is; a job that hit a
/// run limit is an `Err` in its place.
pub fn run_jobs(
    plan: &Plan,
    jobs: &[Job],
    threads: usize,
    extract: &Extract<'_>,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<Result<JobResult, JobLimit>>, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("meshsim-job-{i}"))
        .build()
        .map_err(|e| format!("cannot start {threads} worker threads: {e}"))?;
    Ok(pool.install(|| {
        jobs.par_iter()
            .map(|&job| {
                let result = run_job(plan.model(job.variant), job, extract);
                done();
                result
            })
            .collect()
    }))
}

/// One job: run, report, extract; the results and the report are dropped on return.
fn run_job(model: &Model, job: Job, extract: &Extract<'_>) -> Result<JobResult, JobLimit> {
    let results = sim_core::run(model, job.seed).map_err(|e| JobLimit {
        job,
        message: e.to_string(),
    })?;
    // One serialisation serves the expectations and the metrics.
    let (report, value) = Report::build_with_value(&results, model);
    drop(results);
    let expect_failed = !report.all_passed();
    drop(report);
    let mut metrics = extract(&value);
    for (_, v) in &mut metrics.0 {
        *v = round(*v);
    }
    Ok(JobResult {
        job,
        expect_failed,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(variants: usize, seeds: usize) -> PlanInfo {
        PlanInfo {
            command: "compare".into(),
            variants: (0..variants)
                .map(|i| VariantInfo {
                    label: format!("v{i}"),
                    file: "x.toml".into(),
                    scenario: "x".into(),
                    set: vec![],
                    vary: vec![],
                })
                .collect(),
            seeds: (10..10 + seeds as u64).collect(),
            sources_fnv: String::new(),
            baseline: 0,
        }
    }

    // Goal: jobs are variant-major with stable indices, and the shards of any N partition
    // the job list exactly (every job in one shard, none twice).
    #[test]
    fn shards_partition_the_jobs() {
        let plan = info(3, 4);
        let all = plan.jobs(Shard::ALL);
        assert_eq!(all.len(), 12);
        assert_eq!(
            all[5],
            Job {
                index: 5,
                variant: 1,
                seed: 11
            }
        );
        for n in 1..=13 {
            let mut seen: Vec<usize> = (1..=n)
                .flat_map(|i| plan.jobs(Shard { index: i, count: n }))
                .map(|j| j.index)
                .collect();
            seen.sort();
            assert_eq!(seen, (0..12).collect::<Vec<_>>(), "N = {n}");
        }
    }

    // Goal: `--shard` accepts I/N with 1 <= I <= N and nothing else.
    #[test]
    fn shard_syntax() {
        assert_eq!(
            Shard::parse("3/10"),
            Ok(Shard {
                index: 3,
                count: 10
            })
        );
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "-1/3", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    // Goal: metrics keep their order through JSON and read back exactly (partials must
    // merge into the same bytes as an unsharded run).
    #[test]
    fn metrics_round_trip_in_order() {
        let mut m = Metrics::default();
        m.push("z".into(), 0.1 + 0.2);
        m.push("a".into(), 1.0 / 3.0);
        m.push("m".into(), 12345.678901);
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.starts_with("{\"z\""), "{text}");
        let back: Metrics = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
    }

    // Goal: the fingerprint is FNV-1a as published (empty input: the offset basis).
    #[test]
    fn fingerprint_is_fnv_1a() {
        assert_eq!(fnv(&[], &[]), "cbf29ce484222325");
        let a = Source::new("a", "a");
        // FNV-1a of "a\0".
        let mut h: u64 = 0xaf63dc4c8601ec8c; // FNV-1a of "a"
        h = h.wrapping_mul(0x0100_0000_01b3);
        assert_eq!(fnv(&[a], &[]), format!("{h:016x}"));
    }

    // Goal: the replay command quotes what a shell would split or expand.
    #[test]
    fn replay_quotes_for_the_shell() {
        let v = VariantInfo {
            label: "x".into(),
            file: "my dir/x.toml".into(),
            scenario: "x".into(),
            set: vec!["a.b=1".into()],
            vary: vec![Setting {
                path: "s.e.work".into(),
                value: "\"exp(9ms)\"".into(),
            }],
        };
        assert_eq!(
            v.replay(7),
            "meshsim run 'my dir/x.toml' --seed 7 --set a.b=1 --set 's.e.work=\"exp(9ms)\"'"
        );
    }
}

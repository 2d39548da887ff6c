//! The many-run commands on the command line: `compare` and `sweep` (whole, or one
//! `--shard`) and `merge`. Files in, files out; the plan, the thread pool and the printers are in
//! `reports::many` and `reports::compare`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use reports::compare::{
    Comparison, Picked, compare_files, extract, write_compare_json, write_compare_text,
};
use reports::many::{
    JobLimit, JobResult, Partial, Plan, PlanInfo, SeedChoice, Shard, Source, read_partial, run_jobs,
};

use reports::sweep::{Sweep, sweep_files, write_sweep_json, write_sweep_text};

use crate::cli::{CompareArgs, ManyOutput, MergeArgs, SweepArgs};
use crate::commands::{Failure, output_error, print};
use crate::input::{self, Budget, ScenarioDir, read_all};
use crate::out_dir::{self, OutDir};
use crate::out_file::OutFile;
use crate::progress::JobsProgress;

/// How many runs that hit a limit are listed one by one before "and N more".
const LIMITS_LISTED: usize = 5;

/// `meshsim compare`: validate every variant, run every (variant, seed) on the pool, print
/// the comparison (or, with `--shard`, the partial result).
pub fn compare(args: &CompareArgs) -> Result<ExitCode, Failure> {
    let sources = read_sources(&args.files)?;
    let seeds = SeedChoice {
        first: args.seed,
        count: args.seeds,
    };
    let mut plan =
        Plan::new("compare", &sources, &args.set, &args.vary, seeds).map_err(Failure::BadInput)?;
    if let Some(label) = &args.baseline {
        plan.info
            .set_baseline(label)
            .map_err(|e| Failure::BadInput(vec![e]))?;
    }
    let picked = checked_metrics(&plan, &args.metric)?;
    let out = Destination::prepare(&args.output, "compare", args.shard)?;
    let results = run_plan(&plan, &picked, args.shard, args.jobs, args.output.quiet)?;
    match args.shard {
        Some(shard) => write_partial(&Partial::new(&plan.info, shard, results), out),
        None => emit_compare(&Comparison::build(plan.info, &results), &args.output, out),
    }
}

/// `meshsim sweep`: the same plan as compare (one file, the grid of --vary values), printed
/// one row per grid point.
pub fn sweep(args: &SweepArgs) -> Result<ExitCode, Failure> {
    let sources = read_sources(std::slice::from_ref(&args.file))?;
    let seeds = SeedChoice {
        first: args.seed,
        count: args.seeds,
    };
    let plan =
        Plan::new("sweep", &sources, &args.set, &args.vary, seeds).map_err(Failure::BadInput)?;
    let picked = checked_metrics(&plan, &args.metric)?;
    let out = Destination::prepare(&args.output, "sweep", args.shard)?;
    let results = run_plan(&plan, &picked, args.shard, args.jobs, args.output.quiet)?;
    match args.shard {
        Some(shard) => write_partial(&Partial::new(&plan.info, shard, results), out),
        None => emit_sweep(&Sweep::build(plan.info, &results), &args.output, out),
    }
}

/// The `--metric` paths, each checked against the first variant's report shape so that a
/// typo exits 2 before any run (not after hours of them).
fn checked_metrics(plan: &Plan, paths: &[String]) -> Result<Picked, Failure> {
    let picked = Picked(paths.to_vec());
    if picked.0.is_empty() {
        return Ok(picked);
    }
    let Some(skeleton) = reports::expect::report_skeleton(plan.model(0)) else {
        return Ok(picked);
    };
    let problems = picked.check(&skeleton);
    if problems.is_empty() {
        Ok(picked)
    } else {
        Err(Failure::BadInput(problems))
    }
}

/// Runs the plan's jobs (or one shard's) on the pool, with a progress bar on a terminal;
/// each run's metrics are the default ones, then the `--metric` ones.
fn run_plan(
    plan: &Plan,
    picked: &Picked,
    shard: Option<Shard>,
    jobs: Option<u32>,
    quiet: bool,
) -> Result<Vec<JobResult>, Failure> {
    let jobs_list = plan.info.jobs(shard.unwrap_or(Shard::ALL));
    let threads = jobs.map_or_else(default_threads, |n| n as usize);
    let bar = JobsProgress::new(quiet, jobs_list.len());
    let extract_all = |report: &serde_json::Value| {
        let mut m = extract(report);
        picked.extract_into(report, &mut m);
        m
    };
    let outcomes = run_jobs(plan, &jobs_list, threads, &extract_all, &|| bar.inc());
    bar.finish();
    finished(
        &plan.info,
        outcomes.map_err(|e| Failure::BadInput(vec![e]))?,
    )
}

/// `meshsim merge`: read every partial, check they make one whole, print what the unsharded
/// command would have.
pub fn merge(args: &MergeArgs) -> Result<ExitCode, Failure> {
    let out = Destination::prepare(&args.output, "merge", None)?;
    let mut parts = Vec::new();
    let mut problems = Vec::new();
    // One file at a time, its text dropped once parsed: memory follows the runs, and all
    // the files together stay within one budget.
    let mut budget = Budget::new(input::PARTIAL, input::PARTIALS_TOTAL_BYTES);
    for path in &args.parts {
        let name = path.display().to_string();
        let part = budget
            .read(path)
            .and_then(|text| read_partial(&name, &text));
        match part {
            Ok(part) => parts.push((name, part)),
            Err(line) => problems.push(line),
        }
        if budget.spent() {
            break;
        }
    }
    if !problems.is_empty() {
        return Err(Failure::BadInput(problems));
    }
    let (mut plan, results) =
        reports::many::merge(parts).map_err(|e| Failure::BadInput(vec![e]))?;
    if let Some(label) = &args.baseline {
        if plan.command != "compare" {
            return Err(Failure::BadInput(vec![format!(
                "--baseline: these are partial results of `{}`; only compare pairs variants \
                 against a baseline",
                reports::clip(&plan.command, 40)
            )]));
        }
        plan.set_baseline(label)
            .map_err(|e| Failure::BadInput(vec![e]))?;
    }
    match plan.command.as_str() {
        "compare" => emit_compare(&Comparison::build(plan, &results), &args.output, out),
        "sweep" => emit_sweep(&Sweep::build(plan, &results), &args.output, out),
        other => Err(Failure::BadInput(vec![format!(
            "these are partial results of `{other}`; merge combines those of compare and sweep"
        )])),
    }
}

/// Reads every scenario file (within one budget for all), reporting every unreadable one at
/// once.
pub(crate) fn read_sources(files: &[PathBuf]) -> Result<Vec<Source>, Failure> {
    let texts = read_all(files, input::SCENARIO, input::SCENARIOS_TOTAL_BYTES)
        .map_err(Failure::BadInput)?;
    Ok(files
        .iter()
        .zip(texts)
        .map(|(path, text)| Source {
            file: path.display().to_string(),
            text,
            side_files: Arc::new(ScenarioDir::of(path)),
        })
        .collect())
}

pub(crate) fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Every job's result, or exit 3 naming each run that hit a limit (variant, seed, replay).
fn finished(
    plan: &PlanInfo,
    outcomes: Vec<Result<JobResult, JobLimit>>,
) -> Result<Vec<JobResult>, Failure> {
    let (done, limits): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(Result::is_ok);
    if limits.is_empty() {
        return Ok(done.into_iter().flatten().collect());
    }
    let limits: Vec<JobLimit> = limits.into_iter().filter_map(Result::err).collect();
    let mut lines = vec![format!(
        "{} of {} runs hit a run limit; nothing written",
        limits.len(),
        limits.len() + done.len()
    )];
    for limit in limits.iter().take(LIMITS_LISTED) {
        let variant = &plan.variants[limit.job.variant];
        lines.push(format!(
            "  variant \"{}\", seed {}: {}",
            variant.label, limit.job.seed, limit.message
        ));
        lines.push(format!("    replay: {}", variant.replay(limit.job.seed)));
    }
    if limits.len() > LIMITS_LISTED {
        lines.push(format!("  and {} more", limits.len() - LIMITS_LISTED));
    }
    Err(Failure::Limit(lines.join("\n")))
}

/// Where a many-run command's `--out` goes, made before any run so that an unusable place is
/// refused before the work: the whole directory, or for a shard its part file in a directory
/// the other shards share.
enum Destination {
    Stdout,
    Dir(OutDir),
    Part(OutFile, String),
}

impl Destination {
    fn prepare(
        output: &ManyOutput,
        command: &str,
        shard: Option<Shard>,
    ) -> Result<Destination, Failure> {
        let Some(dir) = &output.out else {
            return Ok(Destination::Stdout);
        };
        let Some(shard) = shard else {
            return Ok(Destination::Dir(OutDir::prepare(dir)?));
        };
        let name = format!("{command}.part-{}-of-{}.json", shard.index, shard.count);
        let file = OutFile::prepare(format!("--out {}", dir.display()), dir, &name)?;
        file.check_name(&name)?;
        Ok(Destination::Part(file, name))
    }

    /// The whole `--out` directory, if that is where the output goes.
    fn dir(self) -> Option<OutDir> {
        match self {
            Destination::Dir(dir) => Some(dir),
            Destination::Stdout | Destination::Part(..) => None,
        }
    }
}

/// The comparison on stdout (text or JSON) and, with `--out`, its files.
fn emit_compare(
    c: &Comparison,
    output: &ManyOutput,
    out: Destination,
) -> Result<ExitCode, Failure> {
    let json = |w: &mut Vec<u8>| write_compare_json(w, c);
    let text = |w: &mut Vec<u8>| write_compare_text(w, c);
    emit_many("compare", output, out, || compare_files(c), json, text)
}

/// The sweep on stdout (text or JSON) and, with `--out`, its files.
fn emit_sweep(s: &Sweep, output: &ManyOutput, out: Destination) -> Result<ExitCode, Failure> {
    let json = |w: &mut Vec<u8>| write_sweep_json(w, s);
    let text = |w: &mut Vec<u8>| write_sweep_text(w, s);
    emit_many("sweep", output, out, || sweep_files(s), json, text)
}

/// A many-run result on stdout, `NAME.json` with `--json` and `NAME.txt` otherwise (the
/// bytes of the file of that name), and with `--out` every file, written only when all are
/// computed.
fn emit_many(
    name: &str,
    output: &ManyOutput,
    out: Destination,
    files: impl FnOnce() -> std::io::Result<out_dir::Files>,
    json: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
    text: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> Result<ExitCode, Failure> {
    let alone = |w: &mut Vec<u8>| if output.json { json(w) } else { text(w) };
    out_dir::emit(out.dir(), name, output.json, files, alone)?;
    Ok(ExitCode::SUCCESS)
}

/// A shard's partial result: on stdout, or as `COMMAND.part-I-of-N.json` in `--out DIR`.
fn write_partial(partial: &Partial, out: Destination) -> Result<ExitCode, Failure> {
    let mut bytes =
        serde_json::to_vec_pretty(partial).map_err(|e| output_error("<memory>", &e.into()))?;
    bytes.push(b'\n');
    match out {
        Destination::Part(file, name) => {
            file.commit(&name, &bytes)?;
        }
        _ => print(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

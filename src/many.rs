//! The many-run commands on the command line: `compare` (whole, or one `--shard`) and
//! `merge`. Files in, files out; the plan, the thread pool and the printers are in
//! `reports::many` and `reports::compare`.

use std::path::PathBuf;
use std::process::ExitCode;

use reports::compare::{
    Comparison, compare_files, extract, write_compare_json, write_compare_text,
};
use reports::many::{
    JobLimit, JobResult, Partial, Plan, PlanInfo, SeedChoice, Shard, Source, run_jobs,
};

use crate::cli::{CompareArgs, ManyOutput, MergeArgs};
use crate::commands::{Failure, check_out_dir, output_error, print, read_text, write_out_dir};
use crate::progress::JobsProgress;

/// How many runs that hit a limit are listed one by one before "and N more".
const LIMITS_LISTED: usize = 5;

/// `meshsim compare`: validate every variant, run every (variant, seed) on the pool, print
/// the comparison (or, with `--shard`, the partial result).
pub fn compare(args: &CompareArgs) -> Result<ExitCode, Failure> {
    let sources = read_sources(&args.files)?;
    if let Some(dir) = &args.output.out {
        check_out_dir(dir)?;
    }
    let seeds = SeedChoice {
        first: args.seed,
        count: args.seeds,
    };
    let plan =
        Plan::new("compare", &sources, &args.set, &args.vary, seeds).map_err(Failure::BadInput)?;
    let shard = args.shard.unwrap_or(Shard::ALL);
    let jobs = plan.info.jobs(shard);
    let threads = args.jobs.map_or_else(default_threads, |n| n as usize);
    let bar = JobsProgress::new(args.output.quiet, jobs.len());
    let outcomes = run_jobs(&plan, &jobs, threads, &extract, &|| bar.inc());
    bar.finish();
    let results = finished(
        &plan.info,
        outcomes.map_err(|e| Failure::BadInput(vec![e]))?,
    )?;
    match args.shard {
        Some(shard) => write_partial(&Partial::new(&plan.info, shard, results), &args.output),
        None => emit(&Comparison::build(plan.info, &results), &args.output),
    }
}

/// `meshsim merge`: read every partial, check they make one whole, print what the unsharded
/// command would have.
pub fn merge(args: &MergeArgs) -> Result<ExitCode, Failure> {
    if let Some(dir) = &args.output.out {
        check_out_dir(dir)?;
    }
    let mut parts = Vec::new();
    let mut problems = Vec::new();
    for path in &args.parts {
        let name = path.display().to_string();
        let part = read_text(path).and_then(|text| {
            serde_json::from_str::<Partial>(&text).map_err(|e| {
                format!("{name}: not a partial result of meshsim compare --shard ({e})")
            })
        });
        match part {
            Ok(part) => parts.push((name, part)),
            Err(line) => problems.push(line),
        }
    }
    if !problems.is_empty() {
        return Err(Failure::BadInput(problems));
    }
    let (plan, results) = reports::many::merge(parts).map_err(|e| Failure::BadInput(vec![e]))?;
    if plan.command != "compare" {
        return Err(Failure::BadInput(vec![format!(
            "these are partial results of `{}`; merge combines those of compare",
            plan.command
        )]));
    }
    emit(&Comparison::build(plan, &results), &args.output)
}

/// Reads every file, reporting every unreadable one at once.
fn read_sources(files: &[PathBuf]) -> Result<Vec<Source>, Failure> {
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for path in files {
        match read_text(path) {
            Ok(text) => sources.push(Source {
                file: path.display().to_string(),
                text,
            }),
            Err(line) => problems.push(line),
        }
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(Failure::BadInput(problems))
    }
}

fn default_threads() -> usize {
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

/// The comparison on stdout (text or JSON) and, with `--out`, its files.
fn emit(c: &Comparison, output: &ManyOutput) -> Result<ExitCode, Failure> {
    let mut bytes = Vec::new();
    let written = if output.json {
        write_compare_json(&mut bytes, c)
    } else {
        write_compare_text(&mut bytes, c)
    };
    written.map_err(|e| output_error("<memory>", &e))?;
    if let Some(dir) = &output.out {
        let files = compare_files(c).map_err(|e| output_error("<memory>", &e))?;
        write_out_dir(dir, &files)?;
    }
    print(&bytes)?;
    Ok(ExitCode::SUCCESS)
}

/// A shard's partial result: on stdout, or as `compare.part-I-of-N.json` in `--out DIR`.
fn write_partial(partial: &Partial, output: &ManyOutput) -> Result<ExitCode, Failure> {
    let mut bytes =
        serde_json::to_vec_pretty(partial).map_err(|e| output_error("<memory>", &e.into()))?;
    bytes.push(b'\n');
    match &output.out {
        Some(dir) => {
            let name = format!(
                "compare.part-{}-of-{}.json",
                partial.shard.index, partial.shard.count
            );
            write_out_dir(dir, &[(name, bytes)])?;
        }
        None => print(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

//! `meshsim hunt`: the smallest seed in a range whose report satisfies an expression, run on
//! the many-run engine in chunks of seeds, smallest first; with `--shrink`, a smaller scenario
//! that still satisfies it on that seed.
//!
//! The answer does not depend on `--jobs`: chunks are taken in seed order, each chunk's results
//! come back in job order, and the first job (smallest seed) of the first chunk with a match
//! wins. Runs after the match in the same chunk are discarded.

mod shrink;

use std::process::ExitCode;

use reports::hunt::Expr;
use reports::many::{Job, JobResult, Plan, PlanInfo, SeedChoice, run_jobs};

use crate::cli::HuntArgs;
use crate::commands::{Failure, print};
use crate::many::{default_threads, read_sources};
use crate::progress::JobsProgress;

/// Exit code: no seed in the range satisfies the expression.
const EXIT_NOT_FOUND: u8 = 1;
/// Most seeds one hunt searches.
pub const MAX_HUNT_SEEDS: u64 = 10_000_000;
/// Runs per thread in a chunk: enough to keep the pool busy, few enough to stop soon after a
/// match.
const CHUNK_PER_THREAD: usize = 4;

/// `meshsim hunt`.
pub fn hunt(args: &HuntArgs) -> Result<ExitCode, Failure> {
    let expr = Expr::parse(&args.until)
        .map_err(|e| Failure::BadInput(vec![format!("--until '{}': {e}", shown(&args.until))]))?;
    let (first, last) = args.seeds;
    // Checked: 0..18446744073709551615 is 2^64 seeds, one more than a u64 holds.
    let count = (last - first)
        .checked_add(1)
        .filter(|&n| n <= MAX_HUNT_SEEDS)
        .ok_or_else(|| {
            let n = (last - first).checked_add(1);
            let n = n.map_or("18446744073709551616".to_string(), |n| n.to_string());
            Failure::BadInput(vec![format!(
                "--seeds {first}..{last}: {n} seeds; a hunt searches at most {MAX_HUNT_SEEDS} \
                 (see \"Limits\" in docs/cli.md)"
            )])
        })?;
    let sources = read_sources(std::slice::from_ref(&args.file))?;
    // Where the shrunk file goes is made usable before the hunt, not found unusable after it.
    let shrunk_out = args.shrink.then(|| shrink::prepare(args)).transpose()?;
    let seeds = SeedChoice {
        first: Some(first),
        count: 1,
    };
    // One variant; its seeds are walked in chunks below, not listed in the plan.
    let plan = Plan::new("hunt", &sources, &args.set, &[], seeds).map_err(Failure::BadInput)?;
    let threads = args.jobs.map_or_else(default_threads, |n| n as usize);
    let chunk = (threads * CHUNK_PER_THREAD).max(1) as u64;
    let bar = JobsProgress::new(args.quiet, count as usize);
    let extract = |report: &serde_json::Value| expr.extract(report);
    let mut start = first;
    let found = loop {
        if start > last {
            break None;
        }
        let end = last.min(start.saturating_add(chunk - 1));
        let jobs: Vec<Job> = (start..=end)
            .map(|seed| Job {
                index: (seed - first) as usize,
                variant: 0,
                seed,
            })
            .collect();
        let outcomes = run_jobs(&plan, &jobs, threads, &extract, &|| bar.inc());
        let outcomes = outcomes.map_err(|e| Failure::BadInput(vec![e]))?;
        if let Some(hit) = first_match(&plan.info, &expr, &args.until, outcomes)? {
            break Some(hit);
        }
        match end.checked_add(1) {
            Some(next) => start = next,
            None => break None,
        }
    };
    bar.finish();
    let Some(hit) = found else {
        let text = format!(
            "no seed in {first}..{last} satisfies {} ({count} run{})\n",
            args.until,
            if count == 1 { "" } else { "s" }
        );
        print(text.as_bytes())?;
        return Ok(ExitCode::from(EXIT_NOT_FOUND));
    };
    let variant = &plan.info.variants[0];
    let mut text = format!("seed {} satisfies {}\n", hit.job.seed, args.until);
    for (a, op, b) in expr.comparisons() {
        let side = |o: &reports::hunt::Operand| match o {
            reports::hunt::Operand::Path(p) => {
                format!("{p} = {}", hit.metrics.get(p).unwrap_or(f64::NAN))
            }
            reports::hunt::Operand::Number(x) => x.to_string(),
        };
        let holds = Expr::compare_holds(&a, op, &b, &hit.metrics);
        text.push_str(&format!(
            "  {} {} {}   ({})\n",
            side(&a),
            op.symbol(),
            side(&b),
            if holds { "true" } else { "false" }
        ));
    }
    if hit.job.seed > first {
        text.push_str(&format!("seeds {first} to {} do not.\n", hit.job.seed - 1));
    }
    text.push_str(&format!("replay: {}\n", variant.replay(hit.job.seed)));
    print(text.as_bytes())?;
    if let Some(out) = shrunk_out {
        shrink::shrink(args, &sources[0], &expr, hit.job.seed, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Most characters of an expression echoed in an error (the column locates the problem).
const SHOWN_CHARS: usize = 80;

/// `expr` as an error echoes it: cut to [`SHOWN_CHARS`] with `…`, so a hostile expression does
/// not make a 30 KB error line.
fn shown(expr: &str) -> String {
    reports::clip(expr, SHOWN_CHARS)
}

/// The first run of a chunk (in seed order) that satisfies `expr`. A run before it that hit
/// a limit stops the hunt (exit 3), as does a path missing from its report (exit 2).
fn first_match(
    plan: &PlanInfo,
    expr: &Expr,
    until: &str,
    outcomes: Vec<Result<JobResult, reports::many::JobLimit>>,
) -> Result<Option<JobResult>, Failure> {
    for outcome in outcomes {
        let result = outcome.map_err(|limit| {
            Failure::Limit(format!(
                "seed {} hit a run limit before any seed satisfied the expression: {}\n  \
                 replay: {}",
                limit.job.seed,
                limit.message,
                plan.variants[0].replay(limit.job.seed)
            ))
        })?;
        let holds = expr.eval(&result.metrics).map_err(|e| {
            Failure::BadInput(vec![format!(
                "--until '{}': {e} (in the report of seed {})",
                shown(until),
                result.job.seed
            )])
        })?;
        if holds {
            return Ok(Some(result));
        }
    }
    Ok(None)
}

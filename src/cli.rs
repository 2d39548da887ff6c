//! What the user typed: the command line, parsed by clap. Usage errors exit with code 2
//! (clap's default), before anything is read or written.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use reports::many::{Shard, Vary};
use sim_core::Override;

/// meshsim: a seeded, deterministic discrete-event simulator of distributed systems.
///
/// Exit codes: 0 done, 1 an [[expect]] failed, 2 bad scenario or arguments (nothing written),
/// 3 a run limit was hit.
#[derive(Debug, Parser)]
#[command(name = "meshsim", version, about, long_about = None, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario once and print its report (text summary, or JSON with --json).
    Run(RunArgs),
    /// Validate a scenario without running it.
    Check(ScenarioArgs),
    /// Print the scenario's topology as Graphviz DOT (pipe into `dot -Tsvg`).
    Graph(ScenarioArgs),
    /// From the model alone (no simulation): the bottleneck service and the maximum
    /// sustainable rate, counting workers held while they wait on synchronous calls.
    Explain(ExplainArgs),
    /// One request's life as Chrome trace-event JSON (Perfetto), or a text waterfall.
    Trace(TraceArgs),
    /// Run every variant (files × --vary values) on the same seeds; a side-by-side table
    /// with 95% confidence intervals, led by a one-line verdict.
    Compare(CompareArgs),
    /// A load curve or parameter grid: every combination of the --vary values (ranges
    /// A..B:STEP or lists) on the same seeds, one row per grid point.
    Sweep(SweepArgs),
    /// The smallest seed in a range whose report satisfies an expression, with the command
    /// that replays it (and, with --shrink, a smaller scenario that still does).
    Hunt(HuntArgs),
    /// Combine the partial results of `compare --shard I/N` or `sweep --shard I/N` into
    /// exactly what the unsharded command prints.
    Merge(MergeArgs),
}

/// `meshsim sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// A dimension of the grid: a dotted key path and a numeric range `A..B:STEP` (B included
    /// when it lands on a step) or comma-separated TOML values, e.g.
    /// `--vary workload.checkout.rate=100..1000:100`. Repeatable: the grid is every
    /// combination, the first --vary slowest; the plot's x axis is the first, one line per
    /// value of the others.
    #[arg(long = "vary", value_name = "PATH=A..B:STEP", value_parser = Vary::parse, required = true)]
    pub vary: Vec<Vary>,
    /// Override a setting at every point (as for `run`); repeatable, before --vary.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = Override::parse)]
    pub set: Vec<Override>,
    /// An extra row: a dotted path of the run's JSON report (as [[expect]] reads it), one
    /// segment of which may be `*` for every key there, e.g. `services.*.utilization`.
    /// Repeatable; shown after the default rows. An unknown path is refused before any run.
    #[arg(long = "metric", value_name = "PATH")]
    pub metric: Vec<String>,
    /// How many seeds every grid point runs on: S, S+1, …, S+N-1.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub seeds: u64,
    /// The first seed S; default: the file's `scenario.seed`.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads; default: the available parallelism. The output never depends on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub jobs: Option<u32>,
    /// Run only the I-th of N slices of the runs (grid points × seeds) and print a partial
    /// result as JSON for `meshsim merge`, or write it into --out DIR (which the shards share)
    /// as COMMAND.part-I-of-N.json, under a temporary name renamed into place.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, conflicts_with = "json")]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub output: ManyOutput,
}

/// `meshsim hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// The scenario file (TOML).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The seeds to search, `A..B` (both included), smallest first.
    #[arg(long, value_name = "A..B", value_parser = parse_seed_range)]
    pub seeds: (u64, u64),
    /// What to look for: report metrics by dotted path compared with numbers, combined with
    /// and, or, not and parentheses, e.g.
    /// `'flows.place-order.inconsistent > 0 and workloads.checkout.latency_ms.p99 > 250'`.
    #[arg(long, value_name = "EXPR")]
    pub until: String,
    /// Override a setting (as for `run`); repeatable, applied in order.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = Override::parse)]
    pub set: Vec<Override>,
    /// Worker threads; default: the available parallelism. The answer never depends on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub jobs: Option<u32>,
    /// After a hit, look for a smaller scenario (shorter duration, lower rates, fewer faults)
    /// that still satisfies EXPR on that seed, and write it as FILE-shrunk-seedN.toml (FILE's
    /// stem) into the current directory.
    #[arg(long)]
    pub shrink: bool,
    /// With --shrink: write the shrunk scenario into DIR (created if missing) instead of the
    /// current directory; never through a symlink.
    #[arg(long, value_name = "DIR", requires = "shrink")]
    pub out: Option<PathBuf>,
    /// No progress bar (it is drawn on stderr, and only when stderr is a terminal).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Parses `A..B` with A <= B.
fn parse_seed_range(arg: &str) -> Result<(u64, u64), String> {
    let bad = || format!("expected A..B with 0 <= A <= B, e.g. 1..1000; got \"{arg}\"");
    let (a, b) = arg.split_once("..").ok_or_else(bad)?;
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    if a > b {
        return Err(format!("{a}..{b}: the range starts above its end"));
    }
    Ok((a, b))
}

/// `meshsim compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Scenario files (TOML); each is a variant, or one per combination of --vary values.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Override a setting in every variant (as for `run`); repeatable, applied in order,
    /// before --vary.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = Override::parse)]
    pub set: Vec<Override>,
    /// A dimension of variants: a dotted key path and comma-separated TOML values (a bare
    /// word is a string), e.g. `--vary workload.checkout.rate=100,200,400`, or a numeric
    /// range A..B:STEP. Repeatable: the
    /// variants are every file × every combination.
    #[arg(long = "vary", value_name = "PATH=V1,V2,…", value_parser = Vary::parse)]
    pub vary: Vec<Vary>,
    /// An extra row: a dotted path of the run's JSON report (as [[expect]] reads it), one
    /// segment of which may be `*` for every key there, e.g. `services.*.utilization`.
    /// Repeatable; shown after the default rows. An unknown path is refused before any run.
    #[arg(long = "metric", value_name = "PATH")]
    pub metric: Vec<String>,
    /// The variant every other is judged against, by its label (a column of the table);
    /// default: the first. An unknown label is refused before any run.
    #[arg(long, value_name = "LABEL")]
    pub baseline: Option<String>,
    /// How many seeds every variant runs on: S, S+1, …, S+N-1.
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub seeds: u64,
    /// The first seed S; default: the first file's `scenario.seed`.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads; default: the available parallelism. The output never depends on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub jobs: Option<u32>,
    /// Run only the I-th of N slices of the runs (variants × seeds) and print a partial
    /// result as JSON for `meshsim merge`, or write it into --out DIR (which the shards share)
    /// as COMMAND.part-I-of-N.json, under a temporary name renamed into place.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, conflicts_with = "json")]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub output: ManyOutput,
}

/// `meshsim merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The partial results of every shard, in any order.
    #[arg(value_name = "PART.json", required = true)]
    pub parts: Vec<PathBuf>,
    /// For partial results of compare: pair every variant against this one instead of the
    /// baseline the shards ran with (the runs keep every seed's values, so nothing reruns).
    #[arg(long, value_name = "LABEL")]
    pub baseline: Option<String>,
    #[command(flatten)]
    pub output: ManyOutput,
}

/// Where a many-run command's result goes.
#[derive(Debug, Args)]
pub struct ManyOutput {
    /// Print the result as JSON instead of the text table.
    #[arg(long)]
    pub json: bool,
    /// Also write the result's files into DIR: compare.json (the same bytes as --json), .txt,
    /// .md and .csv; or sweep.json, .txt, .csv and the plot sweep.svg; report.html (one
    /// self-contained page for a browser); and .meshsim-output, the list of those files. All or nothing, as for `run --out`: DIR is created, or
    /// replaced whole if it holds only an earlier meshsim output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress bar (it is drawn on stderr, and only when stderr is a terminal).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["request", "slowest", "failed", "flow_instance", "inconsistent"])))]
pub struct TraceArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Master seed; default: the scenario's `scenario.seed`.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// The K-th client request of the run (1-based, in send order, warmup included).
    #[arg(long, value_name = "K")]
    pub request: Option<u64>,
    /// The successful request (sent after warmup) with the highest latency.
    #[arg(long)]
    pub slowest: bool,
    /// The first request (sent after warmup) that failed.
    #[arg(long)]
    pub failed: bool,
    /// The request that started the K-th flow instance (1-based, in start order over all
    /// flows, warmup included), followed through every step and compensation.
    #[arg(long, value_name = "K")]
    pub flow_instance: Option<u64>,
    /// The request that started the earliest flow instance (after warmup) that ended
    /// inconsistent.
    #[arg(long)]
    pub inconsistent: bool,
    /// Print a text waterfall instead of the trace-event JSON (the same as `--format text`).
    #[arg(long, conflicts_with = "format")]
    pub text: bool,
    /// What to print: `chrome` (trace-event JSON for Perfetto or chrome://tracing), `otlp`
    /// (OpenTelemetry's OTLP JSON, for Jaeger and other OpenTelemetry viewers) or `text`
    /// (a waterfall for the terminal).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<TraceFormat>,
}

/// `meshsim trace --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    Chrome,
    Otlp,
    Text,
}

/// `meshsim explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Print the analysis as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A scenario file and the overrides applied to it.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Override a setting before validation: a dotted key path and a TOML value, e.g.
    /// `--set workload.checkout.rate=500` or `--set 'service.pay.endpoint.charge.work="exp(9ms)"'`
    /// (a bare word is taken as a string). Repeatable; applied in order.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = Override::parse)]
    pub set: Vec<Override>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Master seed; default: the scenario's `scenario.seed`.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Print the JSON report instead of the text summary.
    #[arg(long)]
    pub json: bool,
    /// Also write the run's files into DIR: report.json (the same bytes as --json),
    /// report.txt, report.md, timeseries.csv, services.csv; with a broker messages.csv and
    /// queue-depth.csv; with flows flows.csv and flows-inconsistent.csv; the plots
    /// latency-cdf.svg, latency-over-time.svg, throughput.svg, in-system.svg, and
    /// consistency.svg (flows), queue-depth.svg (a broker), breakers.svg (a breaker changed
    /// state); report.html, one self-contained page for a browser with the verdict, every plot
    /// and every table; and .meshsim-output, the list of those files. All or nothing: written beside DIR
    /// and renamed into place. DIR is created, or replaced whole if it holds only an earlier
    /// meshsim output; anything else (other files, a symlink) is refused.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With --out: also write each plot as a PNG next to its SVG (same drawing, 800 px wide).
    #[arg(long, requires = "out")]
    pub png: bool,
    /// No progress bar (it is drawn on stderr, and only when stderr is a terminal).
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip the scenario's [[expect]]s: the report has none, and the exit code is 0 unless a
    /// run limit stops the run (for a what-if variant that is expected to break the lesson).
    #[arg(long)]
    pub no_expect: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        // Goal: clap's own checks on the definition (no clashing flags or names) pass.
        Cli::command().debug_assert();
    }

    #[test]
    fn run_takes_seed_repeated_sets_json_and_out() {
        // Goal: every run flag parses, and --set keeps the order the user typed.
        let cli = Cli::try_parse_from([
            "meshsim",
            "run",
            "x.toml",
            "--seed",
            "42",
            "--set",
            "a.b=1",
            "--set",
            "c=\"d e\"",
            "--json",
            "--out",
            "dir",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.seed, Some(42));
        assert!(args.json);
        assert_eq!(args.out, Some(PathBuf::from("dir")));
        let paths: Vec<&str> = args.scenario.set.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, ["a.b", "c"]);
        assert_eq!(args.scenario.set[1].value, "\"d e\"");
    }

    #[test]
    fn compare_takes_files_sets_varies_seeds_jobs_and_shard() {
        // Goal: every compare flag parses; --vary keeps its values in order.
        let cli = Cli::try_parse_from([
            "meshsim",
            "compare",
            "a.toml",
            "b.toml",
            "--set",
            "x=1",
            "--vary",
            "workload.w.rate=100,200",
            "--seeds",
            "16",
            "--seed",
            "3",
            "--jobs",
            "2",
            "--shard",
            "2/5",
        ])
        .unwrap();
        let Command::Compare(args) = cli.command else {
            panic!("not compare")
        };
        assert_eq!(args.files.len(), 2);
        assert_eq!(args.vary[0].values, ["100", "200"]);
        assert_eq!((args.seeds, args.seed, args.jobs), (16, Some(3), Some(2)));
        assert_eq!(args.shard, Some(Shard { index: 2, count: 5 }));
    }

    #[test]
    fn sweep_and_hunt_take_their_flags() {
        // Goal: sweep expands a --vary range; hunt reads A..B seeds, EXPR and --shrink.
        let cli = Cli::try_parse_from([
            "meshsim",
            "sweep",
            "x.toml",
            "--vary",
            "w.rate=100..300:100",
            "--seeds",
            "4",
            "--jobs",
            "2",
            "--shard",
            "1/3",
        ])
        .unwrap();
        let Command::Sweep(args) = cli.command else {
            panic!("not sweep")
        };
        assert_eq!(args.vary[0].values, ["100", "200", "300"]);
        assert_eq!(args.shard, Some(Shard { index: 1, count: 3 }));
        let cli = Cli::try_parse_from([
            "meshsim", "hunt", "x.toml", "--seeds", "5..900", "--until", "a.b > 1", "--shrink",
            "--out", "d",
        ])
        .unwrap();
        let Command::Hunt(args) = cli.command else {
            panic!("not hunt")
        };
        assert_eq!(args.seeds, (5, 900));
        assert_eq!(args.until, "a.b > 1");
        assert!(args.shrink);
    }

    #[test]
    fn usage_errors_exit_with_code_2() {
        // Goal: a --set without '=' and a negative seed are usage errors, which exit 2.
        for argv in [
            &["meshsim", "run", "x.toml", "--set", "nothing"][..],
            &["meshsim", "run", "x.toml", "--seed", "-1"],
            &["meshsim", "check"],
            &["meshsim", "run", "x.toml", "--png"],
            &["meshsim", "frobnicate"],
            &["meshsim", "compare"],
            &["meshsim", "compare", "x.toml", "--vary", "nothing"],
            &["meshsim", "compare", "x.toml", "--seeds", "0"],
            &["meshsim", "compare", "x.toml", "--jobs", "0"],
            &["meshsim", "compare", "x.toml", "--shard", "3/2"],
            &["meshsim", "compare", "x.toml", "--shard", "1/2", "--json"],
            &["meshsim", "merge"],
            &["meshsim", "sweep", "x.toml"],
            &["meshsim", "sweep", "x.toml", "--vary", "a=5..1:1"],
            &["meshsim", "sweep", "x.toml", "--vary", "a=1..5:0"],
            &[
                "meshsim", "hunt", "x.toml", "--seeds", "5..1", "--until", "a > 1",
            ],
            &["meshsim", "hunt", "x.toml", "--seeds", "1..5"],
            &[
                "meshsim", "hunt", "x.toml", "--seeds", "1..5", "--until", "a", "--out", "d",
            ],
        ] {
            let err = Cli::try_parse_from(argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}");
        }
    }
}

//! What the user typed: the command line, parsed by clap. Usage errors exit with code 2
//! (clap's default), before anything is read or written.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
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
    /// One request's life as Chrome trace-event JSON (Perfetto), or a text waterfall.
    Trace(TraceArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["request", "slowest", "failed"])))]
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
    /// Print a text waterfall instead of the trace-event JSON.
    #[arg(long)]
    pub text: bool,
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
    /// Also write report.json (the same bytes as --json) and report.txt into DIR (created
    /// if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With --out: also write each plot as a PNG next to its SVG (same drawing, 800 px wide).
    #[arg(long, requires = "out")]
    pub png: bool,
    /// No progress bar (it is drawn on stderr, and only when stderr is a terminal).
    #[arg(long, short)]
    pub quiet: bool,
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
    fn usage_errors_exit_with_code_2() {
        // Goal: a --set without '=' and a negative seed are usage errors, which exit 2.
        for argv in [
            &["meshsim", "run", "x.toml", "--set", "nothing"][..],
            &["meshsim", "run", "x.toml", "--seed", "-1"],
            &["meshsim", "check"],
            &["meshsim", "run", "x.toml", "--png"],
            &["meshsim", "frobnicate"],
        ] {
            let err = Cli::try_parse_from(argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}");
        }
    }
}

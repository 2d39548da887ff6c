//! The `meshsim` command: thin. Parse the arguments, read and validate the scenario, run it,
//! hand the results to the printers in `reports`. Errors go to stderr, the report to stdout.

mod cli;
mod commands;
mod epoch;
mod hunt;
mod input;
mod many;
mod out_dir;
mod out_file;
mod progress;
mod staging;
mod stdout;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Failure;

fn main() -> ExitCode {
    let code = match run() {
        Ok(code) => code,
        Err(failure) => {
            failure.print();
            failure.exit_code()
        }
    };
    report_peak_rss();
    code
}

/// With `MESHSIM_REPORT_PEAK_RSS=1`, prints the process's peak resident memory to stderr as
/// `peak_rss_kib=N` (Linux only; elsewhere nothing). The memory test uses it to show that
/// memory follows work in flight, not the number of requests simulated.
fn report_peak_rss() {
    if std::env::var_os("MESHSIM_REPORT_PEAK_RSS").is_none() {
        return;
    }
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return;
    };
    if let Some(kib) = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    {
        eprintln!("peak_rss_kib={kib}");
    }
}

fn run() -> Result<ExitCode, Failure> {
    // Usage errors print clap's message and exit with code 2.
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Run(args) => commands::run(&args),
        cli::Command::Check(args) => commands::check(&args),
        cli::Command::Graph(args) => commands::graph(&args),
        cli::Command::Explain(args) => commands::explain(&args),
        cli::Command::Trace(args) => commands::trace(&args),
        cli::Command::Compare(args) => many::compare(&args),
        cli::Command::Sweep(args) => many::sweep(&args),
        cli::Command::Hunt(args) => hunt::hunt(&args),
        cli::Command::Merge(args) => many::merge(&args),
    }
}

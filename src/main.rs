//! The `meshsim` command: thin. Parse the arguments, read and validate the scenario, run it,
//! hand the results to the printers in `reports`. Errors go to stderr, the report to stdout.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use crate::commands::Failure;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(failure) => {
            failure.print();
            failure.exit_code()
        }
    }
}

fn run() -> Result<ExitCode, Failure> {
    // Usage errors print clap's message and exit with code 2.
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Run(args) => commands::run(&args),
        cli::Command::Check(args) => commands::check(&args),
        cli::Command::Graph(args) => commands::graph(&args),
    }
}

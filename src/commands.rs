//! What the program does for each command. Every input is validated (file readable, UTF-8,
//! scenario valid, output directory usable — its staging directory made) before the run, and
//! the run finished before any output appears, so a failure leaves nothing behind.

use std::io::{self, Write};
use std::process::ExitCode;

use reports::{
    Report, output_files, write_chrome_json, write_dot, write_json_report, write_text,
    write_waterfall,
};
use sim_core::trace::TraceTarget;
use sim_core::{Model, parse_scenario_with};

use crate::input::{self, ScenarioDir, read_text};
use crate::out_dir::OutDir;
use crate::progress::RunProgress;
pub(crate) use crate::stdout::print;

use crate::cli::{ExplainArgs, RunArgs, ScenarioArgs, TraceArgs, TraceFormat};

/// Exit code: an `[[expect]]` failed.
const EXIT_EXPECT_FAILED: u8 = 1;
/// Exit code: bad scenario or arguments; nothing written.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: a run limit (max_events, max_in_flight) was hit.
const EXIT_LIMIT: u8 = 3;

/// Why a command stopped: the lines for stderr and the exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad scenario, file or arguments (exit 2). Each string is one line for stderr.
    BadInput(Vec<String>),
    /// A run budget was hit (exit 3).
    Limit(String),
}

impl Failure {
    pub fn print(&self) {
        let lines = match self {
            Failure::BadInput(lines) => lines.clone(),
            Failure::Limit(message) => vec![format!("error: {message}")],
        };
        let mut stderr = io::stderr().lock();
        for line in lines {
            // Nothing sensible is left to do if stderr itself is gone.
            let _ = writeln!(stderr, "{line}");
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::BadInput(_) => EXIT_BAD_INPUT,
            Failure::Limit(_) => EXIT_LIMIT,
        })
    }
}

/// `meshsim run`: one run; the report on stdout (and in `--out DIR`); exit 1 if an
/// expectation failed.
pub fn run(args: &RunArgs) -> Result<ExitCode, Failure> {
    let mut model = load(&args.scenario)?;
    if args.no_expect {
        model.expects.clear();
    }
    let out = args.out.as_deref().map(OutDir::prepare).transpose()?;
    let seed = args.seed.unwrap_or(model.seed);
    let bar = RunProgress::new(args.quiet);
    let results = sim_core::run_with_progress(&model, seed, &mut |p| bar.update(p));
    bar.finish();
    let results = results.map_err(|e| Failure::Limit(e.to_string()))?;
    let mut report = Report::build(&results, &model);
    report.overrides = args
        .scenario
        .set
        .iter()
        .map(|o| format!("{}={}", o.path, o.value))
        .collect();

    crate::out_dir::emit(
        out,
        "report",
        args.json,
        || output_files(&results, &report, args.png),
        |bytes| {
            if args.json {
                write_json_report(bytes, &report)
            } else {
                write_text(bytes, &report)
            }
        },
    )?;

    let mut stderr = io::stderr().lock();
    // A model with a message cycle has no bound to compare with: no line.
    if let Some(line) = reports::explain::explain(&model)
        .ok()
        .and_then(|e| reports::explain::cross_check(&e, &report))
    {
        let _ = writeln!(stderr, "{line}");
    }
    if report.all_passed() {
        return Ok(ExitCode::SUCCESS);
    }
    for e in report.failed_expectations() {
        let _ = writeln!(
            stderr,
            "{}: expectation failed: {}",
            e.location,
            e.describe()
        );
    }
    if !report.overrides.is_empty() {
        let _ = writeln!(
            stderr,
            "{}",
            reports::text::changed_lesson_note(&report.overrides)
        );
    }
    Ok(ExitCode::from(EXIT_EXPECT_FAILED))
}

/// `meshsim check`: validate, including every `[[expect]]` metric path against the report the
/// model will produce (so a bad path fails here, not after a whole run).
pub fn check(args: &ScenarioArgs) -> Result<ExitCode, Failure> {
    let model = load(args)?;
    if let Some(skeleton) = reports::expect::report_skeleton(&model) {
        let lines = reports::expect::check_paths(&model.expects, &skeleton);
        if !lines.is_empty() {
            return Err(problems(&args.file.display().to_string(), lines));
        }
    }
    let line = format!(
        "{}: ok ({} services, {} endpoints, {} workloads)\n",
        args.file.display(),
        model.services.len(),
        model.own_endpoints(),
        model.workloads.len()
    );
    print(line.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `meshsim graph`: the topology as DOT.
pub fn graph(args: &ScenarioArgs) -> Result<ExitCode, Failure> {
    let model = load(args)?;
    let mut dot = Vec::new();
    write_dot(&mut dot, &model).map_err(|e| output_error("<memory>", &e))?;
    print(&dot)?;
    Ok(ExitCode::SUCCESS)
}

/// `meshsim explain`: the bottleneck and maximum rate from the model, without a run.
pub fn explain(args: &ExplainArgs) -> Result<ExitCode, Failure> {
    let model = load(&args.scenario)?;
    let analysis = reports::explain::explain(&model).map_err(|e| {
        Failure::BadInput(vec![format!("{}: {}", args.scenario.file.display(), e.0)])
    })?;
    let mut out = Vec::new();
    let written = if args.json {
        reports::explain::write_explain_json(&mut out, &analysis)
    } else {
        reports::explain::write_explain_text(&mut out, &analysis)
    };
    written.map_err(|e| output_error("<memory>", &e))?;
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

pub fn trace(args: &TraceArgs) -> Result<ExitCode, Failure> {
    let model = load(&args.scenario)?;
    let seed = args.seed.unwrap_or(model.seed);
    let target = match (args.request, args.flow_instance) {
        (Some(k), _) => TraceTarget::Request(k),
        (None, Some(k)) => TraceTarget::FlowInstance(k),
        _ if args.slowest => TraceTarget::Slowest,
        _ if args.inconsistent => TraceTarget::Inconsistent,
        _ => TraceTarget::Failed,
    };
    let trace = sim_core::trace(&model, seed, target).map_err(|e| Failure::Limit(e.to_string()))?;
    let Some(trace) = trace else {
        let what = match target {
            TraceTarget::Request(k) => format!("no request #{k} was sent in this run"),
            TraceTarget::Slowest => "no request succeeded after warmup in this run".to_string(),
            TraceTarget::Failed => "no request failed after warmup in this run".to_string(),
            TraceTarget::FlowInstance(k) => {
                format!("no flow instance #{k} was started by a client request in this run")
            }
            TraceTarget::Inconsistent => {
                "no flow instance started after warmup ended inconsistent in this run".to_string()
            }
        };
        return Err(Failure::BadInput(vec![format!(
            "{}: {what} (seed {seed}); nothing to trace",
            args.scenario.file.display()
        )]));
    };
    let mut out = Vec::new();
    let format = match (args.text, args.format) {
        (true, _) => TraceFormat::Text,
        (false, f) => f.unwrap_or(TraceFormat::Chrome),
    };
    if args.epoch.is_some() && format != TraceFormat::Otlp {
        return Err(Failure::BadInput(vec![
            "--epoch applies to --format otlp only (chrome and text times count from the \
             request's start)"
                .to_string(),
        ]));
    }
    let epoch_ns = args.epoch.unwrap_or(0);
    let written = match format {
        TraceFormat::Chrome => write_chrome_json(&mut out, &trace),
        TraceFormat::Otlp => reports::trace::otlp::write_otlp_json_at(&mut out, &trace, epoch_ns),
        TraceFormat::Text => write_waterfall(&mut out, &trace),
    };
    written.map_err(|e| output_error("<memory>", &e))?;
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the scenario file as UTF-8 and validates it with the overrides applied (the files it
/// names, e.g. `rate_file`, are read next to it).
fn load(args: &ScenarioArgs) -> Result<Model, Failure> {
    let name = args.file.display().to_string();
    let text =
        read_text(&args.file, input::SCENARIO).map_err(|line| Failure::BadInput(vec![line]))?;
    parse_scenario_with(&name, &text, &args.set, &ScenarioDir::of(&args.file)).map_err(
        |diagnostics| {
            problems(
                &name,
                diagnostics.0.iter().map(ToString::to_string).collect(),
            )
        },
    )
}

/// Bad input: the problems found in `name`, one a line, then how many there were.
fn problems(name: &str, mut lines: Vec<String>) -> Failure {
    let n = lines.len();
    lines.push(format!(
        "error: {n} problem{} in {name}",
        if n == 1 { "" } else { "s" }
    ));
    Failure::BadInput(lines)
}

pub(crate) fn output_error(what: &str, e: &io::Error) -> Failure {
    Failure::BadInput(vec![format!("{what}: cannot write: {}", io_reason(e))])
}

/// The OS's reason without Rust's " (os error N)" suffix.
pub(crate) fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

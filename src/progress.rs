//! A progress bar for long runs: on stderr, only when stderr is a terminal, never with
//! `--quiet`. stdout carries only the report, so piping or redirecting it is never disturbed.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sim_core::Progress;

/// Steps of the bar: simulated time as a fraction of the run's horizon, in thousandths.
const STEPS: u64 = 1000;

pub struct RunProgress {
    bar: Option<ProgressBar>,
}

impl RunProgress {
    /// A bar if stderr is a terminal and the user did not ask for quiet; otherwise nothing.
    pub fn new(quiet: bool) -> RunProgress {
        if quiet || !std::io::stderr().is_terminal() {
            return RunProgress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(STEPS), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{bar:40} {percent:>3}% of simulated time  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        RunProgress { bar: Some(bar) }
    }

    pub fn update(&self, p: Progress) {
        if let Some(bar) = &self.bar {
            let done = p.now.0 as f64 / p.horizon.0.max(1) as f64;
            bar.set_position((done * STEPS as f64) as u64);
            bar.set_message(format!("t={} events={}", p.now, p.events));
        }
    }

    /// Removes the bar, leaving the terminal as it was.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A progress bar over the runs of a many-run command (`compare`): runs done of the total.
/// Same rules as [`RunProgress`]: stderr, terminal only, never with `--quiet`. Safe to
/// advance from the worker threads.
pub struct JobsProgress {
    bar: Option<ProgressBar>,
}

impl JobsProgress {
    pub fn new(quiet: bool, total: usize) -> JobsProgress {
        if quiet || !std::io::stderr().is_terminal() {
            return JobsProgress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        JobsProgress { bar: Some(bar) }
    }

    /// One more run finished.
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Removes the bar, leaving the terminal as it was.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

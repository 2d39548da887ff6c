//! meshsim's printers: a finished run's [`RunResults`](sim_core::RunResults) as a JSON report,
//! a text summary that leads with the answer, the same summary as Markdown and as one HTML page
//! ([`html`]), CSV time series,
//! SVG plots (all of them at once: [`output_files`], for `run --out DIR`), and the scenario's
//! topology as Graphviz DOT; and the many-run engine ([`many`]) with the comparison of
//! variants over seeds that `meshsim compare` prints ([`compare`]).
//!
//! The printers are separate from the engine and write plain data to any [`std::io::Write`].
//! The flow the command line follows:
//!
//! ```text
//! let report = Report::build(&results, &model);   // numbers + evaluated [[expect]]s
//! write_json_report(&mut out, &report)?;          // or: write_text(&mut out, &report)?
//! if !report.all_passed() { /* exit code 1 */ }
//! ```
//!
//! Every figure is computed once, by [`Report::build`]: the printers (text, JSON, Markdown,
//! CSV, HTML, the plots over time) read the [`Report`], never the histograms again; only the
//! CDF plots walk a whole-run histogram, to draw each recorded value. `compare` and `sweep`
//! read their metrics from the value [`Report::build_with_value`] serialises once per run.
//!
//! Everything iterates in model order (services, endpoints and workloads as the scenario
//! declares them), so the same results always print the same bytes.

pub mod compare;
pub mod expect;
pub mod explain;
pub mod graph;
pub mod html;
pub mod hunt;
pub mod json;
pub mod many;
pub mod sweep;
mod tables;
pub mod text;
pub mod trace;

pub use expect::{ExpectResult, evaluate, lookup};
pub use graph::{to_dot, write_dot};
pub use json::{Report, to_json_value, write_json, write_json_report};
pub use text::write_text;
pub use trace::{to_chrome_json, write_chrome_json, write_waterfall};
pub mod csv;
pub mod markdown;
pub mod outputs;
pub mod plots;

pub use markdown::write_markdown;
pub use outputs::output_files;

/// `text` cut to `max_chars` characters, with `…` when cut: what an error message quotes of
/// a value the user gave, so a damaged file or a hostile argument cannot make a huge line.
pub fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

//! Every file `run --out DIR` writes, computed in memory first so the command line can write
//! them only once everything succeeded.

use std::io;

use sim_core::results::RunResults;

use crate::csv::{
    flows_csv, flows_inconsistent_csv, messages_csv, queue_depth_csv, services_csv, timeseries_csv,
};
use crate::html::run_html;
use crate::json::{Report, write_json_report};
use crate::markdown::write_markdown;
use crate::plots::plots;
use crate::text::write_text;

/// `(file name, bytes)` for every output of a run, in a fixed order: report.json (the bytes
/// of `run --json`), report.txt, report.md, timeseries.csv, services.csv, messages.csv and
/// queue-depth.csv (only when the run had a broker), flows.csv and flows-inconsistent.csv
/// (only when the scenario has flows), then the SVG plots, each followed by its PNG (same
/// name, `.png`) when `png` is set, and last report.html (the page for a browser, every
/// plot inline).
pub fn output_files(
    results: &RunResults,
    report: &Report,
    png: bool,
) -> io::Result<Vec<(String, Vec<u8>)>> {
    let json = rendered(|w| write_json_report(w, report))?;
    let text = rendered(|w| write_text(w, report))?;
    let plots = plots(results, report, png).map_err(|e| io::Error::other(e.to_string()))?;
    let links: Vec<(&str, &str)> = plots.iter().map(|p| (p.file, p.title)).collect();
    let markdown = rendered(|w| write_markdown(w, report, &links))?;
    let html = run_html(report, &plots);
    let mut files = vec![
        ("report.json".to_string(), json),
        ("report.txt".to_string(), text),
        ("report.md".to_string(), markdown),
        (
            "timeseries.csv".to_string(),
            timeseries_csv(results, report).into_bytes(),
        ),
        (
            "services.csv".to_string(),
            services_csv(report).into_bytes(),
        ),
    ];
    if report.messages.any() {
        files.push((
            "messages.csv".to_string(),
            messages_csv(report).into_bytes(),
        ));
        files.push((
            "queue-depth.csv".to_string(),
            queue_depth_csv(report).into_bytes(),
        ));
    }
    if !report.flows.is_empty() {
        files.push(("flows.csv".to_string(), flows_csv(report).into_bytes()));
        files.push((
            "flows-inconsistent.csv".to_string(),
            flows_inconsistent_csv(report).into_bytes(),
        ));
    }
    for plot in plots {
        let png_file = plot.png_file();
        files.push((plot.file.to_string(), plot.svg.into_bytes()));
        if let Some(png) = plot.png {
            files.push((png_file, png));
        }
    }
    files.push((crate::html::FILE.to_string(), html));
    Ok(files)
}

/// The bytes one report writer writes, for a file computed in memory before any is written.
pub(crate) fn rendered(write: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write(&mut bytes)?;
    Ok(bytes)
}

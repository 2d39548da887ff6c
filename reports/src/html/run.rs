//! `report.html` of `run --out DIR`: the run's first line, the verdict and its warnings, the
//! expectations with their why (the lesson, when the scenario is one), consistency when the
//! scenario has flows, every plot inline, then every table of the text summary in its order.

use super::{Page, escape};
use crate::json::Report;
use crate::plots::Plot;
use crate::tables;
use crate::text::over_time::{OverTime, over_time};
use crate::text::{
    capacity_warnings, changed_lesson_note, consistency, fault_warnings, fixed, verdict,
    warmup_line,
};

/// The page for one run; `plots` are the run's plots, in the order `--out` writes them.
pub fn run_html(report: &Report, plots: &[Plot]) -> Vec<u8> {
    let mut page = Page::new(&format!("{} — meshsim run", report.scenario));
    page.h1(&report.scenario);
    if !report.description.is_empty() {
        page.p("description", &report.description);
    }
    page.p(
        "run",
        &format!(
            "seed={} scenario={} meshsim={} sim_time={:.3}s events={}",
            report.seed, report.scenario, report.meshsim, report.sim_time_s, report.events
        ),
    );
    let over = over_time(report);
    page.contents(&contents(report, !plots.is_empty(), over.is_some()));
    if let Some(line) = warmup_line(report) {
        page.p("", &line);
    }
    page.p("verdict", &verdict(report));
    for line in fault_warnings(report)
        .into_iter()
        .chain(capacity_warnings(report))
    {
        page.p("warning", &line);
    }
    expectations(&mut page, report);
    if !report.flows.is_empty() {
        let t = tables::flows(report);
        page.h2("consistency", t.title);
        for paragraph in consistency::paragraphs(report) {
            page.p("", &paragraph);
        }
        page.rows(t.header, t.left, &t.rows, &[]);
    }
    if !plots.is_empty() {
        page.h2("plots", "Plots");
        for plot in plots {
            page.figure(plot.title, &plot.svg);
        }
    }
    run_tables(&mut page, report, over.as_ref());
    page.finish()
}

/// The in-page links, to the sections this report has.
fn contents(report: &Report, plots: bool, over_time: bool) -> Vec<(&'static str, &'static str)> {
    let mut links = Vec::new();
    let mut add = |yes: bool, id, label| {
        if yes {
            links.push((id, label));
        }
    };
    add(!report.expect.is_empty(), "expectations", "Expectations");
    add(!report.flows.is_empty(), "consistency", "Consistency");
    add(plots, "plots", "Plots");
    add(true, "workloads", "Workloads");
    add(report.messages.any(), "messaging", "Messaging");
    add(!report.faults.is_empty(), "faults", "Faults");
    add(over_time, "over-time", "Over time");
    let breakers = report.breakers.iter().any(|b| !b.transitions.is_empty());
    add(breakers, "breakers", "Circuit breakers");
    add(true, "services", "Services");
    add(true, "endpoints", "Endpoints");
    add(true, "calls", "Calls");
    links
}

/// Every table after the plots, in the text summary's order; `over` is the report's
/// [`over_time`], built once for this table and the page's contents.
fn run_tables(page: &mut Page, report: &Report, over: Option<&OverTime>) {
    page.table("workloads", &tables::workloads(report));
    if report.messages.any() {
        let t = tables::messaging(report);
        page.h2("messaging", t.title);
        page.p("", &tables::messaging_summary(report));
        if !t.rows.is_empty() {
            page.rows(t.header, t.left, &t.rows, &[]);
        }
        let b = tables::brokers(report);
        page.h3(b.title);
        page.rows(b.header, b.left, &b.rows, &[]);
    }
    if !report.faults.is_empty() {
        page.table("faults", &tables::faults(report));
    }
    if let Some(o) = over {
        page.h2("over-time", "Over time");
        for note in &o.notes {
            page.p("", note);
        }
        for wl in &o.workloads {
            page.h3(&wl.name);
            if wl.rows.is_empty() {
                page.p("none", "no requests sent after warmup");
            } else {
                page.rows(&wl.header, &[wl.marker()], &wl.rows, &[]);
            }
        }
    }
    let breakers = tables::breakers(report);
    if !breakers.rows.is_empty() {
        let h = breakers.header;
        page.h2("breakers", breakers.title);
        page.rows(h, breakers.left, &breakers.rows, &[h.len() - 1]);
    }
    page.table("services", &tables::services(report));
    let versions = tables::versions(report);
    if !versions.rows.is_empty() {
        page.table("versions", &versions);
    }
    let admission = tables::admission(report);
    if !admission.rows.is_empty() {
        page.table("admission", &admission);
    }
    page.table("errors", &tables::errors(report));
    page.table("endpoints", &tables::endpoints(report));
    let abandoned = tables::abandoned(report);
    if !abandoned.rows.is_empty() {
        page.table("abandoned", &abandoned);
    }
    calls(page, report);
}

/// The calls' counters as one row.
fn calls(page: &mut Page, report: &Report) {
    let c = &report.calls;
    let header = [
        "attempts",
        "by clients",
        "by services",
        "retries",
        "timeouts",
        "circuit open",
        "amplification",
        "fallbacks",
        "bulkhead full",
        "budget exhausted",
    ];
    let row = vec![
        c.attempts.to_string(),
        c.client_attempts.to_string(),
        c.service_attempts.to_string(),
        c.retries.to_string(),
        c.timeouts.to_string(),
        c.circuit_open.to_string(),
        fixed(c.amplification, 2),
        c.fallbacks.to_string(),
        c.bulkhead_full.to_string(),
        c.budget_exhausted.to_string(),
    ];
    page.h2("calls", "Calls");
    page.rows(&header, &[], &[row], &[]);
}

/// One row per `[[expect]]`: PASS or FAIL, the metric, the value found (or why there is
/// none), the bound, and its why; then, when a `--set` variant failed one, the note that the
/// expectations belong to the file as written.
fn expectations(page: &mut Page, report: &Report) {
    if report.expect.is_empty() {
        return;
    }
    page.h2("expectations", "Expectations");
    let mut html = String::from(
        "<div class=\"scroll\"><table>\n<thead><tr><th class=\"l\">result</th>\
         <th class=\"l\">metric</th><th>value</th><th>want</th><th class=\"l\">why</th>\
         </tr></thead>\n<tbody>\n",
    );
    for e in &report.expect {
        let (class, word) = if e.passed {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        // A value is a number; when there is none, the reason is text.
        let value_class = if e.value.is_some() {
            ""
        } else {
            " class=\"l wrap\""
        };
        html.push_str(&format!(
            "<tr><td class=\"l {class}\">{word}</td><td class=\"l\">{}</td><td{value_class}>\
             {}</td><td>{}</td><td class=\"l wrap\">{}</td></tr>\n",
            escape(&e.metric),
            escape(&e.found()),
            escape(&e.want()),
            escape(&e.why)
        ));
    }
    html.push_str("</tbody>\n</table></div>\n");
    page.raw(&html);
    if !report.all_passed() && !report.overrides.is_empty() {
        page.p("warning", &changed_lesson_note(&report.overrides));
    }
}

//! `report.html` from `run`, `compare`, `sweep` and `merge --out DIR`: one self-contained page
//! (nothing loaded from anywhere, no script), every string from the scenario escaped, every
//! plot inline and every table present, the same bytes for the same run. How it renders in a
//! real browser is `browser.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use reports::html::escape;

use crate::support::{meshsim_in, root, scratch_dir};

/// A scenario whose every free string tries to break out of the page: names, description,
/// an endpoint, a fault target and the `why` of expectations (one that fails).
const HOSTILE: &str = r#"
[scenario]
name = "<script>alert('name')</script>"
description = "</p><script>alert(\"description\")</script><img src=x onerror=alert(1)>"
seed = 3
duration = "5s"
drain = "1s"

[workload."<b>w&amp;"]
endpoint = "<i>svc/get<script>"
rate = 50

[service."<i>svc"]
replicas = 1
workers = 4
[service."<i>svc".endpoint."get<script>"]
work = "exp(2ms)"
fail = 0.1

[[fault]]
kind = "slow"
target = "<i>svc"
at = "1s"
for = "1s"
factor = 3

[[expect]]
metric = "workloads.<b>w&amp;.failed"
below = 1
why = "</td></tr></table><script>alert('why')</script>"
"#;

/// Runs meshsim in `dir`, failing the test with its stderr unless it exits with `code`.
fn run_in(dir: &Path, args: &[&str], code: i32) -> String {
    let out = meshsim_in(dir, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

fn page(dir: &Path) -> String {
    fs::read_to_string(dir.join("report.html")).expect("report.html written")
}

/// The `run --out` directory of a lesson at a seed.
pub(crate) fn lesson_out(name: &str, lesson: &str, seed: &str) -> PathBuf {
    let dir = scratch_dir(name);
    let file = root().join(lesson);
    run_in(
        &dir,
        &[
            "run",
            &file.to_string_lossy(),
            "--seed",
            seed,
            "--out",
            "out",
        ],
        0,
    );
    dir.join("out")
}

/// A scratch directory where `sweep --out s` has run: mm1 at three rates, two seeds.
pub(crate) fn sweep_out(name: &str) -> PathBuf {
    let dir = scratch_dir(name);
    let mm1 = root().join("scenarios/mm1.toml");
    let sweep = [
        "sweep",
        &*mm1.to_string_lossy(),
        "--vary",
        "workload.load.rate=200..600:200",
        "--seeds",
        "2",
        "--quiet",
        "--out",
        "s",
    ];
    run_in(&dir, &sweep, 0);
    dir
}

/// Every `.svg` file a `--out` directory holds, sorted.
pub(crate) fn svg_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    names.sort();
    names
}

/// What a self-contained page may not hold: anything that runs or loads. (A `<` or a quote
/// from the scenario is escaped, so these are found only in markup.)
fn assert_self_contained(html: &str) {
    let lower = html.to_lowercase();
    for bad in [
        "<script", "src=\"", "src='", "<link", "<iframe", "<object", "<embed", "<img",
    ] {
        assert!(!lower.contains(bad), "the page holds {bad:?}");
    }
    let css = lower
        .split("<style>")
        .nth(1)
        .and_then(|s| s.split("</style>").next())
        .expect("inline CSS");
    for bad in ["url(", "@import"] {
        assert!(!css.contains(bad), "the CSS holds {bad:?}");
    }
    // In-page anchors are the only links.
    for (i, _) in lower.match_indices("href=") {
        assert!(
            lower[i..].starts_with("href=\"#"),
            "a link leaves the page: {}",
            &html[i..(i + 60).min(html.len())]
        );
    }
    assert!(
        html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'\">"
        ),
        "the page must forbid loading anything"
    );
}

#[test]
fn every_string_from_the_scenario_is_escaped() {
    // Goal: names, the description, an endpoint, a fault target and an expectation's why that
    // hold markup show as text: the page has no <script>, <b>, <i> or <img> element, only
    // their escaped text, and a failed expectation still gets its page (exit 1).
    let dir = scratch_dir("html-escape");
    fs::write(dir.join("hostile.toml"), HOSTILE).unwrap();
    run_in(&dir, &["run", "hostile.toml", "--out", "out"], 1);
    let html = page(&dir.join("out"));
    assert_self_contained(&html);
    for tag in ["<b>", "<i>", "<img", "</p><", "</td></tr></table>"] {
        assert!(!html.contains(tag), "unescaped {tag:?} in the page");
    }
    for text in [
        "<title>&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; — meshsim run</title>",
        "&lt;/p&gt;&lt;script&gt;alert(&quot;description&quot;)&lt;/script&gt;&lt;img src=x \
         onerror=alert(1)&gt;",
        "&lt;b&gt;w&amp;amp;",
        "&lt;i&gt;svc/get&lt;script&gt;",
        "&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(&#39;why&#39;)&lt;/script&gt;",
        "FAIL",
    ] {
        assert!(html.contains(text), "{text:?} missing from the page");
    }
}

#[test]
fn a_run_page_holds_the_verdict_every_plot_and_every_table() {
    // Goal: the verdict comes before the plots and the tables; every plot `--out` wrote is
    // inline (the same SVG as its file); every section of the text summary is there, and
    // every expectation with its why.
    let dir = lesson_out("html-run", "scenarios/checkout-flow.toml", "7");
    let html = page(&dir);
    assert_self_contained(&html);
    let text = fs::read_to_string(dir.join("report.txt")).unwrap();
    let verdict = html.find("<p class=\"verdict\">").expect("a verdict");
    let plots = html.find("<h2 id=\"plots\">").expect("a plots section");
    let tables = html
        .find("<h2 id=\"workloads\">")
        .expect("a workloads table");
    assert!(verdict < plots && plots < tables, "verdict, plots, tables");
    let svgs = svg_files(&dir);
    assert!(svgs.len() >= 6, "flows and a broker: six plots, {svgs:?}");
    assert_eq!(
        html.matches("<svg ").count(),
        svgs.len(),
        "one inline SVG a plot"
    );
    for file in &svgs {
        let svg = fs::read_to_string(dir.join(file)).unwrap();
        let body = svg.trim_end().strip_prefix("<svg ").expect("an SVG");
        assert!(html.contains(body), "{file} is not inline as written");
    }
    for title in [
        "Consistency",
        "Workloads",
        "Messaging",
        "Brokers",
        "Services (busiest first)",
        "Errors by cause",
        "Endpoints",
        "Calls",
        "Expectations",
    ] {
        assert!(text.contains(title), "the text report has no {title}");
        assert!(html.contains(&format!(">{title}</h")), "{title} missing");
    }
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let expects = report["expect"].as_array().expect("expect");
    assert!(!expects.is_empty());
    assert_eq!(
        html.matches("<td class=\"l pass\">PASS</td>").count(),
        expects.len()
    );
    let lesson = fs::read_to_string(root().join("scenarios/checkout-flow.toml")).unwrap();
    for line in lesson.lines().filter(|l| l.starts_with("why = ")) {
        let why = line.trim_start_matches("why = ").trim_matches('"');
        assert!(html.contains(&escape(why)), "the why {why:?} is missing");
    }
}

#[test]
fn the_same_run_gives_the_same_page() {
    // Goal: report.html has nothing that varies between runs (no time, no path): two runs
    // at one seed give the same bytes, another seed other bytes.
    let a = page(&lesson_out(
        "html-same-a",
        "scenarios/circuit-breaker.toml",
        "5",
    ));
    let b = page(&lesson_out(
        "html-same-b",
        "scenarios/circuit-breaker.toml",
        "5",
    ));
    let c = page(&lesson_out(
        "html-same-c",
        "scenarios/circuit-breaker.toml",
        "6",
    ));
    assert!(a == b, "same seed, different pages");
    assert!(a != c, "another seed, the same page");
}

#[test]
fn compare_sweep_and_merge_write_their_page() {
    // Goal: compare --out and sweep --out write report.html led by the verdict (the first
    // line of the text report), with the table's every label, the sweep's plot inline, and
    // merge of the shards writes the same page as the unsharded command.
    let dir = scratch_dir("html-many");
    let mm1 = root().join("scenarios/mm1.toml");
    let mm1 = mm1.to_string_lossy();
    let compare = [
        "compare",
        &*mm1,
        "--vary",
        "workload.load.rate=300,600",
        "--seeds",
        "3",
        "--quiet",
    ];
    let text = run_in(&dir, &[&compare[..], &["--out", "c"]].concat(), 0);
    let html = page(&dir.join("c"));
    assert_self_contained(&html);
    let verdict = escape(text.lines().next().unwrap());
    assert!(
        html.contains(&format!("<p class=\"verdict\">{verdict}</p>")),
        "{verdict}"
    );
    for label in ["rate=300", "rate=600", "load p99 ms", "load failed %"] {
        assert!(html.contains(&format!(">{label}</")), "{label} missing");
    }
    for i in 1..=2 {
        let shard = format!("{i}/2");
        run_in(
            &dir,
            &[&compare[..], &["--shard", &shard, "--out", "parts"]].concat(),
            0,
        );
    }
    run_in(
        &dir,
        &[
            "merge",
            "parts/compare.part-1-of-2.json",
            "parts/compare.part-2-of-2.json",
            "--out",
            "merged",
        ],
        0,
    );
    assert!(page(&dir.join("merged")) == html, "merged page differs");

    let dir = sweep_out("html-sweep");
    let html = page(&dir.join("s"));
    assert_self_contained(&html);
    assert!(html.contains("<p class=\"verdict\">sweep of mm1 over workload.load.rate: 3 points"));
    let svg = fs::read_to_string(dir.join("s/sweep.svg")).unwrap();
    assert!(html.contains(svg.trim_end().strip_prefix("<svg ").unwrap()));
    assert_eq!(html.matches("<svg ").count(), 1);
}

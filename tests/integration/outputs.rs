//! `run --out DIR`: every file written, valid SVG plots with their titles and series, CSV
//! time series with one row per bucket, and byte-identical outputs for equal seeds.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{meshsim_in, root, scratch_dir};

/// The plots every run writes, with their titles.
const PLOTS: [(&str, &str); 4] = [
    ("latency-cdf.svg", "Latency CDF"),
    ("latency-over-time.svg", "Latency over time"),
    ("throughput.svg", "Throughput over time"),
    ("in-system.svg", "Requests in system per service"),
];

/// Runs `scenario` with `--seed` into `<scratch>/<name>/out` and returns that directory.
fn run_out(name: &str, scenario: &str, seed: &str) -> PathBuf {
    run_out_with(name, scenario, seed, &[])
}

/// `run_out` with extra flags.
fn run_out_with(name: &str, scenario: &str, seed: &str, flags: &[&str]) -> PathBuf {
    let dir = scratch_dir(name);
    let file = root().join(scenario);
    let file = file.to_string_lossy();
    let mut args = vec!["run", &*file, "--seed", seed, "--out", "out"];
    args.extend_from_slice(flags);
    let out = meshsim_in(&dir, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("out")
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&read(dir, "report.json")).expect("report.json is JSON")
}

#[test]
fn out_writes_every_file() {
    // Goal: `--out` writes the JSON, text and Markdown reports, both CSVs and every plot,
    // the breaker timeline included when breakers changed state, and the marker that lists
    // exactly those files (so the next --out may replace them); nothing else.
    let dir = run_out("outputs-every-file", "scenarios/circuit-breaker.toml", "7");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".meshsim-output",
            "breakers.svg",
            "in-system.svg",
            "latency-cdf.svg",
            "latency-over-time.svg",
            "report.html",
            "report.json",
            "report.md",
            "report.txt",
            "services.csv",
            "throughput.svg",
            "timeseries.csv",
        ]
    );
    let marker = read(&dir, ".meshsim-output");
    let mut listed: Vec<&str> = marker.lines().skip(1).collect();
    listed.sort();
    assert!(marker.starts_with("meshsim output:"), "{marker}");
    assert_eq!(listed, names[1..], "the marker lists every other file");
}

#[test]
fn no_breaker_plot_without_breakers() {
    // Goal: the breaker timeline is written only when a breaker changed state.
    let dir = run_out("outputs-no-breakers", "scenarios/mm1.toml", "3");
    assert!(!dir.join("breakers.svg").exists());
    for (file, _) in PLOTS {
        assert!(dir.join(file).exists(), "{file} missing");
    }
}

#[test]
fn plots_are_valid_svg_with_title_and_series() {
    // Goal: every plot parses as XML with an <svg> root, and its text holds its title and
    // the names of its series (workloads, or services for the in-system plot).
    let dir = run_out("outputs-svg", "scenarios/checkout-sync.toml", "11");
    let report = json(&dir);
    let names = |section: &str| -> Vec<String> {
        report[section]
            .as_object()
            .expect("section")
            .keys()
            .cloned()
            .collect()
    };
    let (workloads, services) = (names("workloads"), names("services"));
    assert!(!workloads.is_empty() && !services.is_empty());
    for (file, title) in PLOTS {
        let svg = read(&dir, file);
        assert!(svg.starts_with("<svg"), "{file} does not start with <svg");
        assert!(
            svg.trim_end().ends_with("</svg>"),
            "{file} does not end with </svg>"
        );
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert_eq!(doc.root_element().attribute("width"), Some("800"));
        let text: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        let has = |s: &str| text.iter().any(|t| t.contains(s));
        assert!(has(title), "{file}: title {title:?} missing");
        let series = if file == "in-system.svg" {
            &services
        } else {
            &workloads
        };
        for name in series {
            assert!(has(name), "{file}: series {name:?} missing");
        }
    }
}

#[test]
fn csv_has_one_row_per_bucket_and_name() {
    // Goal: timeseries.csv has its header and one row per time bucket × workload whose
    // counts agree with the JSON timeline; services.csv one row per bucket × service.
    let dir = run_out("outputs-csv", "scenarios/circuit-breaker.toml", "7");
    let report = json(&dir);
    let timeline = &report["timeline"];
    let workloads = timeline["workloads"].as_object().expect("workloads");
    let buckets = workloads.values().next().expect("a workload")["sent"]
        .as_array()
        .expect("sent")
        .len();
    assert!(buckets > 0);

    let csv = read(&dir, "timeseries.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "t_s,workload,sent,ok,degraded,failed,timeout,rejected,circuit_open,unavailable,error,rate_limited,shed,p50_ms,p99_ms"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), buckets * workloads.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), 15, "row {i}: {row:?}");
        let (name, wl) = workloads.iter().nth(i % workloads.len()).expect("workload");
        let b = i / workloads.len();
        assert_eq!(row[1], name);
        let n = |k: usize| row[k].parse::<u64>().expect("a count");
        assert_eq!(n(2), wl["sent"][b].as_u64().expect("sent"), "row {i}");
        assert_eq!(n(3), wl["ok"][b].as_u64().expect("ok"), "row {i}");
        assert_eq!(n(5), wl["failed"][b].as_u64().expect("failed"), "row {i}");
        // Failures by cause add up to the failures.
        assert_eq!((6..13).map(n).sum::<u64>(), n(5), "row {i}");
    }

    let services = timeline["services"].as_object().expect("services");
    let csv = read(&dir, "services.csv");
    assert_eq!(csv.lines().next(), Some("t_s,service,in_system"));
    assert_eq!(csv.lines().count(), 1 + buckets * services.len());
}

#[test]
fn markdown_leads_with_the_answer_and_embeds_the_plots() {
    // Goal: report.md starts with the scenario and seed, then the verdict, and shows every
    // plot as an image; tables are Markdown tables.
    let dir = run_out("outputs-md", "scenarios/circuit-breaker.toml", "7");
    let md = read(&dir, "report.md");
    assert!(md.starts_with("# circuit-breaker\n"), "{md}");
    assert!(md.contains("`seed=7 scenario=circuit-breaker"), "{md}");
    for file in ["latency-cdf.svg", "throughput.svg", "breakers.svg"] {
        assert!(
            md.contains(&format!("]({file})")),
            "{file} not linked:\n{md}"
        );
    }
    assert!(md.contains("![Latency CDF](latency-cdf.svg)"));
    assert!(md.contains("| workload | sent |"), "{md}");
    assert!(md.contains("|:---|---:|"), "{md}");
}

#[test]
fn outputs_are_byte_identical_for_equal_seeds() {
    // Goal: two runs with the same seed write the same files, byte for byte.
    let a = run_out("outputs-same-seed-a", "scenarios/circuit-breaker.toml", "5");
    let b = run_out("outputs-same-seed-b", "scenarios/circuit-breaker.toml", "5");
    let mut count = 0;
    for entry in fs::read_dir(&a).expect("out dir") {
        let name = entry.expect("entry").file_name();
        let (x, y) = (fs::read(a.join(&name)), fs::read(b.join(&name)));
        assert_eq!(
            x.expect("first run's file"),
            y.expect("second run's file"),
            "{name:?} differs"
        );
        count += 1;
    }
    assert_eq!(count, 12, "eleven files and the marker");
}

#[test]
fn png_writes_a_png_next_to_every_svg() {
    // Goal: with --png every SVG plot has a PNG sibling: the PNG signature, an IHDR chunk
    // saying 800 px wide; two runs with the same seed give the same PNG bytes.
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
    let scenario = "scenarios/circuit-breaker.toml";
    let a = run_out_with("outputs-png-a", scenario, "5", &["--png"]);
    let b = run_out_with("outputs-png-b", scenario, "5", &["--png"]);
    let mut svgs = 0;
    for entry in fs::read_dir(&a).expect("out dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(stem) = name.strip_suffix(".svg") else {
            continue;
        };
        svgs += 1;
        let png_name = format!("{stem}.png");
        let png = fs::read(a.join(&png_name)).unwrap_or_else(|e| panic!("{png_name}: {e}"));
        assert_eq!(png[..8], SIGNATURE, "{png_name}: not a PNG");
        // The first chunk is IHDR: length (4 bytes), type (4), then width, big-endian.
        assert_eq!(&png[12..16], b"IHDR", "{png_name}");
        let width = u32::from_be_bytes(png[16..20].try_into().expect("4 bytes"));
        assert_eq!(width, 800, "{png_name}: width");
        let again = fs::read(b.join(&png_name)).expect("second run's PNG");
        assert!(png == again, "{png_name} differs between equal seeds");
    }
    assert_eq!(
        svgs, 5,
        "circuit-breaker draws five plots, breakers included"
    );
    // Without --png, no PNG.
    let plain = run_out("outputs-png-none", scenario, "5");
    assert!(!plain.join("latency-cdf.png").exists());
}

#[test]
fn the_readme_plot_is_what_the_tool_draws_today() {
    // Goal: the plot on the README's front page is real and current: the committed SVG is
    // byte-identical to the one `run --out` writes for cascading-failure.toml now.
    let dir = crate::support::scratch_dir("readme-plot");
    let file = crate::support::root().join("scenarios/cascading-failure.toml");
    let out = crate::support::meshsim_in(&dir, &["run", &file.to_string_lossy(), "--out", "out"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let drawn = std::fs::read(dir.join("out/latency-over-time.svg")).unwrap();
    let committed = std::fs::read(
        crate::support::root().join("docs/img/cascading-failure-latency-over-time.svg"),
    )
    .unwrap();
    assert!(
        drawn == committed,
        "docs/img/cascading-failure-latency-over-time.svg is stale; regenerate it (README)"
    );
}

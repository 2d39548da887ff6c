//! `run --out DIR` as files in memory: which files a run gets, the messaging and flow CSVs,
//! the queue-depth and consistency plots.

use reports::csv::{FLOWS_HEADER, FLOWS_INCONSISTENT_HEADER, MESSAGES_HEADER, QUEUE_DEPTH_HEADER};
use reports::{Report, output_files};

use crate::support::{
    model, model_with_flows, model_with_messaging, results, results_with_flows,
    results_with_messaging,
};

fn files(png: bool) -> Vec<(String, Vec<u8>)> {
    let results = results_with_messaging();
    let report = Report::build(&results, &model_with_messaging());
    output_files(&results, &report, png).unwrap()
}

fn file(files: &[(String, Vec<u8>)], name: &str) -> String {
    let (_, bytes) = files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name}"));
    String::from_utf8(bytes.clone()).unwrap()
}

#[test]
fn a_run_with_a_broker_gets_the_messaging_files_in_a_fixed_order() {
    // Goal: with a broker, messages.csv and queue-depth.csv follow the other CSVs and
    // queue-depth.svg follows the other plots (its PNG right after it); without one, none.
    let names: Vec<String> = files(true).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "report.json",
            "report.txt",
            "report.md",
            "timeseries.csv",
            "services.csv",
            "messages.csv",
            "queue-depth.csv",
            "latency-cdf.svg",
            "latency-cdf.png",
            "latency-over-time.svg",
            "latency-over-time.png",
            "throughput.svg",
            "throughput.png",
            "in-system.svg",
            "in-system.png",
            "queue-depth.svg",
            "queue-depth.png",
            "report.html",
        ]
    );
    let report = Report::build(&results(), &model());
    let plain: Vec<String> = output_files(&results(), &report, false)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for name in ["messages.csv", "queue-depth.csv", "queue-depth.svg"] {
        assert!(!plain.iter().any(|n| n == name), "{name} without a broker");
    }
}

#[test]
fn messages_csv_has_one_row_per_queue_and_group_matching_the_json() {
    // Goal: messages.csv has its header, then one row per queue and per group in model order,
    // with every ChannelReport number as in report.json.
    let files = files(false);
    let csv = file(&files, "messages.csv");
    let json: serde_json::Value = serde_json::from_str(&file(&files, "report.json")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(MESSAGES_HEADER));
    let header: Vec<&str> = MESSAGES_HEADER.split(',').collect();
    assert_eq!(header.len(), 30);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let names: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
    assert_eq!(
        names,
        [
            ("queue", "email-jobs", ""),
            ("queue", "email-dlq", ""),
            ("queue", "requests:pricing/quote", ""),
            ("group", "order.placed", "inventory"),
            ("group", "order.placed", "notify"),
        ]
    );
    let m = &json["messages"];
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?}");
        let c = if row[0] == "queue" {
            &m["queues"][row[1]]
        } else {
            &m["topics"][row[1]]["groups"][row[2]]
        };
        assert_eq!(row[3], c["consumer"].as_str().unwrap());
        for (i, col) in header.iter().enumerate().skip(4) {
            // A statistic of an empty set is `-` in the CSV and null in the JSON.
            let value: Option<f64> = (row[i] != "-").then(|| row[i].parse().unwrap());
            let expected = match col.strip_prefix("lag_").or(col.strip_prefix("wait_")) {
                Some(stat) => {
                    let section = if col.starts_with("lag_") {
                        "lag_ms"
                    } else {
                        "wait_ms"
                    };
                    c[section][stat.trim_end_matches("_ms")].as_f64()
                }
                None => c[*col].as_f64(),
            };
            assert_eq!(value, expected, "{} {col}", row[1]);
        }
    }
}

#[test]
fn queue_depth_csv_has_one_row_per_bucket_and_channel() {
    // Goal: queue-depth.csv has one row per bucket × (queue or group), bucket by bucket, with
    // the depth of the JSON timeline.
    let csv = file(&files(false), "queue-depth.csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(QUEUE_DEPTH_HEADER));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 61 * 5);
    assert_eq!(rows[0], "0,queue,email-jobs,,0");
    assert_eq!(rows[24 * 5 + 3], "24,group,order.placed,inventory,250");
    assert_eq!(rows[15 * 5 + 4], "15,group,order.placed,notify,1");
}

#[test]
fn queue_depth_plot_is_drawn_and_deterministic() {
    // Goal: queue-depth.svg is an 800 px SVG with its title, one legend entry per queue and
    // group and the fault windows; two renderings (SVG and PNG) are byte-identical.
    let first = files(true);
    let svg = file(&first, "queue-depth.svg");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().attribute("width"), Some("800"));
    let text: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    for label in [
        "Queue depth (consumer lag)",
        "email-jobs",
        "email-dlq",
        "requests:pricing/quote",
        "order.placed/inventory",
        "order.placed/notify",
        "broker-down kafka",
        "duplicate order.placed",
    ] {
        assert!(text.iter().any(|t| t.contains(label)), "{label} missing");
    }
    let second = files(true);
    for name in ["queue-depth.svg", "queue-depth.png"] {
        let bytes = |f: &[(String, Vec<u8>)]| f.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(bytes(&first), bytes(&second), "{name} differs");
    }
}

fn flow_files(png: bool) -> Vec<(String, Vec<u8>)> {
    let results = results_with_flows();
    let report = Report::build(&results, &model_with_flows());
    output_files(&results, &report, png).unwrap()
}

#[test]
fn a_run_with_flows_gets_the_flow_files_in_a_fixed_order() {
    // Goal: with flows, flows.csv and flows-inconsistent.csv follow the other CSVs and
    // consistency.svg comes right after the latency CDF (its PNG right after it); report.md
    // links it; without flows, none of them.
    let files = flow_files(true);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "report.json",
            "report.txt",
            "report.md",
            "timeseries.csv",
            "services.csv",
            "flows.csv",
            "flows-inconsistent.csv",
            "latency-cdf.svg",
            "latency-cdf.png",
            "consistency.svg",
            "consistency.png",
            "latency-over-time.svg",
            "latency-over-time.png",
            "throughput.svg",
            "throughput.png",
            "in-system.svg",
            "in-system.png",
            "report.html",
        ]
    );
    let md = file(&files, "report.md");
    assert!(
        md.contains("![Client latency vs time to consistency](consistency.svg)"),
        "{md}"
    );
    let report = Report::build(&results(), &model());
    for (name, _) in output_files(&results(), &report, false).unwrap() {
        assert!(
            !name.starts_with("flows") && name != "consistency.svg",
            "{name}"
        );
    }
}

#[test]
fn flows_csv_has_one_row_per_flow_matching_the_json() {
    // Goal: flows.csv has its header, then one row per flow in model order, with every number
    // of flows.NAME in report.json (latency_* from latency_ms, consistency_* from
    // consistency_ms).
    let files = flow_files(false);
    let csv = file(&files, "flows.csv");
    let json: serde_json::Value = serde_json::from_str(&file(&files, "report.json")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(FLOWS_HEADER));
    let header: Vec<&str> = FLOWS_HEADER.split(',').collect();
    assert_eq!(header.len(), 22);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let names: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        names,
        [("place-order", "orchestration"), ("cancel-order", "sync")]
    );
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?}");
        let f = &json["flows"][row[0]];
        assert_eq!(row[1], f["style"].as_str().unwrap());
        for (i, col) in header.iter().enumerate().skip(2) {
            let value: f64 = row[i].parse().unwrap();
            let expected = if let Some(stat) = col.strip_prefix("latency_") {
                f["latency_ms"][stat.trim_end_matches("_ms")].as_f64()
            } else if let Some(stat) = col.strip_prefix("consistency_") {
                f["consistency_ms"][stat.trim_end_matches("_ms")].as_f64()
            } else {
                f[*col].as_f64()
            };
            assert_eq!(Some(value), expected, "{} {col}", row[0]);
        }
    }
    assert!(csv.contains("\nplace-order,orchestration,12000,10790,13,1187,10,23,57,0.098917,"));
}

#[test]
fn flows_inconsistent_csv_has_one_row_per_set_left_applied() {
    // Goal: flows-inconsistent.csv has one row per flow and set of steps left applied, in the
    // JSON's order, naming what stayed applied and what did not; a clean flow has no row, and
    // a run without inconsistent instances gets only the header.
    let csv = file(&flow_files(false), "flows-inconsistent.csv");
    assert_eq!(
        csv,
        format!(
            "{FLOWS_INCONSISTENT_HEADER}\n\
             place-order,inventory/reserve,payment/charge + shipping/ship,775\n\
             place-order,inventory/reserve + shipping/ship,payment/charge,412\n"
        )
    );
    let mut r = results_with_flows();
    r.flows[0].inconsistent = 0;
    r.flows[0].left_applied.clear();
    let report = Report::build(&r, &model_with_flows());
    let files = output_files(&r, &report, false).unwrap();
    assert_eq!(
        file(&files, "flows-inconsistent.csv"),
        format!("{FLOWS_INCONSISTENT_HEADER}\n")
    );
}

#[test]
fn consistency_plot_is_drawn_and_deterministic() {
    // Goal: consistency.svg is an 800 px SVG with its title, log-x axis, and two legend
    // entries per flow (what the client saw, when the system agreed); two renderings (SVG and
    // PNG) are byte-identical.
    let first = flow_files(true);
    let svg = file(&first, "consistency.svg");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().attribute("width"), Some("800"));
    let text: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    for label in [
        "Client latency vs time to consistency",
        "time from the start (ms, log scale)",
        "place-order client answered",
        "place-order system agreed",
        "cancel-order client answered",
        "cancel-order system agreed",
    ] {
        assert!(text.iter().any(|t| t.contains(label)), "{label} missing");
    }
    let second = flow_files(true);
    for name in ["consistency.svg", "consistency.png"] {
        let bytes = |f: &[(String, Vec<u8>)]| f.iter().find(|(n, _)| n == name).unwrap().1.clone();
        assert_eq!(bytes(&first), bytes(&second), "{name} differs");
    }
}

#[test]
fn report_md_and_time_plots_mark_the_warmup_as_not_counted() {
    // Goal: the Markdown report states the warmup rule under its header line, as the text
    // does, and every plot over time labels the warmup band as not counted.
    let results = results_with_messaging();
    let report = Report::build(&results, &model_with_messaging());
    let files = output_files(&results, &report, false).unwrap();
    let md = file(&files, "report.md");
    assert!(
        md.contains("warmup=10s: work started before it is not counted anywhere"),
        "{md}"
    );
    for plot in ["throughput.svg", "latency-over-time.svg", "in-system.svg"] {
        assert!(
            file(&files, plot).contains("warmup: not counted"),
            "{plot} has no warmup band"
        );
    }
}

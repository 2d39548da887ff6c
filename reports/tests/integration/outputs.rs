//! `run --out DIR` as files in memory: which files a run gets, the messaging CSVs and the
//! queue-depth plot.

use reports::csv::{MESSAGES_HEADER, QUEUE_DEPTH_HEADER};
use reports::{Report, output_files};

use crate::support::{model, model_with_messaging, results, results_with_messaging};

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
            let value: f64 = row[i].parse().unwrap();
            let expected = match col.strip_prefix("lag_").or(col.strip_prefix("wait_")) {
                Some(stat) => {
                    let section = if col.starts_with("lag_") {
                        "lag_ms"
                    } else {
                        "wait_ms"
                    };
                    c[section][stat.trim_end_matches("_ms")].as_f64().unwrap()
                }
                None => c[*col].as_f64().unwrap(),
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

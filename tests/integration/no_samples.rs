//! Statistics of an empty set: a workload where no request succeeded has no latency. It is
//! `null` in the JSON and `-` in the text, never 0 ms; `compare` never ranks it (let alone
//! calls it fastest); and an `[[expect]]` on it fails and says there were no samples.

use serde_json::Value;

use crate::support::{meshsim_in, scratch_dir};

/// One server whose endpoint fails every request (`fail = 1`): nothing succeeds.
const ALL_FAIL: &str = r#"
[scenario]
name = "all-fail"
seed = 3
duration = "3s"
warmup = "1s"

[network]
latency = "0ms"

[workload.load]
endpoint = "server/serve"
rate = 200

[service.server]
workers = 4

[service.server.endpoint.serve]
work = "1ms"
fail = 1.0
"#;

fn setup(name: &str, extra: &str) -> std::path::PathBuf {
    let dir = scratch_dir(name);
    std::fs::write(dir.join("s.toml"), format!("{ALL_FAIL}{extra}")).unwrap();
    dir
}

#[test]
fn no_successful_request_has_no_latency_in_json_and_text() {
    // Goal: with every request failed, each latency figure of the workload (and of the
    // endpoint) is null in the JSON and `-` in the text, while the counters stay numbers.
    let dir = setup("no-samples-report", "");
    let out = meshsim_in(&dir, &["run", "s.toml", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = &v["workloads"]["load"];
    assert!(w["sent"].as_u64().unwrap() > 300, "{w}");
    assert_eq!(w["ok"], 0);
    for stat in ["mean", "p50", "p90", "p99", "p999", "max"] {
        assert!(w["latency_ms"][stat].is_null(), "{stat}: {w}");
        let e = &v["endpoints"]["server/serve"]["latency_ms"][stat];
        assert!(e.is_null(), "endpoint {stat}: {e}");
    }
    let out = meshsim_in(&dir, &["run", "s.toml"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("p50 0.000 ms"), "{text}");
    assert!(text.contains("no latency (no request succeeded)"), "{text}");
}

#[test]
fn compare_never_calls_a_variant_where_everything_failed_fastest() {
    // Goal: the variant where 100% failed has no p50, so it is not ranked: the verdict never
    // judges latency against it (it once called it fastest: "fail=1 answers clients fastest
    // (p50 0.000 ms …)") and says latency was not judged, while the failures and throughput
    // it does have are; its cell is `—` and null in the JSON, and it has no pair.
    let dir = setup("no-samples-compare", "");
    let args = [
        "compare",
        "s.toml",
        "--vary",
        "service.server.endpoint.serve.fail=1,0",
        "--seeds",
        "3",
    ];
    let out = meshsim_in(&dir, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(!first.contains("on p50 ("), "{first}");
    assert!(!first.contains("on p99 ("), "{first}");
    assert!(
        first.contains(
            "fail=0: better on failed % (0.0% vs 100.0%, -100.0 ± 0.0) and better on throughput"
        ),
        "{first}"
    );
    assert!(
        first.contains("not judged on p99 or p50 (fewer than 2 seeds have a value on both sides)"),
        "{first}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = meshsim_in(&dir, &json_args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p50 = &v["metrics"]["workloads.load.latency_ms.p50"]["variants"];
    assert!(p50["fail=1"].is_null(), "{p50}");
    assert!(p50["fail=0"]["mean"].as_f64().unwrap() > 0.9, "{p50}");
    let paired = &v["metrics"]["workloads.load.latency_ms.p50"]["paired"];
    assert!(paired["fail=0"].is_null(), "{paired}");
}

#[test]
fn an_expectation_on_a_latency_with_no_samples_fails() {
    // Goal: `latency_ms.p99 below 100` does not pass on a run where nothing succeeded (it
    // used to, on a made-up 0): the run exits 1 and the message says there were no samples.
    let expect = "\n[[expect]]\nmetric = \"workloads.load.latency_ms.p99\"\nbelow = 100\n";
    let dir = setup("no-samples-expect", expect);
    let out = meshsim_in(&dir, &["run", "s.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("no samples"), "{all}");
    let out = meshsim_in(&dir, &["run", "s.toml", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["expect"][0]["passed"], false);
    assert!(v["expect"][0]["value"].is_null());
}

//! `meshsim trace`: one request's life, exactly accounted for, in the trace-event format.

use crate::support::{meshsim, model};
use sim_core::trace::{SpanKind, TraceTarget};

#[test]
fn the_slowest_requests_spans_add_up_to_its_latency_exactly() {
    // Goal: in a sequential chain, the hops, queue waits and work of the slowest request
    // (found by a first run, recorded by a second identical one) sum to its end-to-end
    // latency to the nanosecond, and that latency is the report's maximum (within the HDR
    // histogram's 0.1% resolution).
    let text = std::fs::read_to_string(crate::support::root().join("scenarios/checkout-sync.toml"))
        .unwrap();
    let m = model(&text);
    let trace = sim_core::trace(&m, m.seed, TraceTarget::Slowest)
        .unwrap()
        .expect("a slowest request");
    let leaves: u64 = trace
        .spans
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                SpanKind::Network | SpanKind::Queue | SpanKind::Work | SpanKind::Timeout
            )
        })
        .map(|s| s.duration().as_nanos())
        .sum();
    assert_eq!(
        leaves,
        trace.latency.as_nanos(),
        "hops + waits + work = end to end"
    );
    let request = trace
        .spans
        .iter()
        .find(|s| s.kind == SpanKind::Request)
        .expect("request span");
    assert_eq!(request.duration(), trace.latency);
    assert_eq!(trace.outcome, "ok");
    // Four services, each: a hop in, a queue wait, work; and a hop back out.
    assert_eq!(
        trace
            .spans
            .iter()
            .filter(|s| s.kind == SpanKind::Work)
            .count(),
        4
    );
    assert_eq!(
        trace
            .spans
            .iter()
            .filter(|s| s.kind == SpanKind::Network)
            .count(),
        8
    );
    let results = sim_core::run(&m, m.seed).unwrap();
    let max_ns = results.workloads[0].latency.max() as f64;
    let got = trace.latency.as_nanos() as f64;
    assert!(
        (got / max_ns - 1.0).abs() < 0.001,
        "trace {got} ns vs report max {max_ns} ns"
    );
}

#[test]
fn trace_json_follows_the_trace_event_format() {
    // Goal: the output is a trace-event document: `traceEvents` whose entries have a name,
    // a phase, pid and tid; complete events ("X") have numeric ts and dur >= 0; metadata
    // events ("M") name their thread. Same seed, same bytes.
    let out = meshsim(&["trace", "scenarios/checkout-sync.toml", "--slowest"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = meshsim(&["trace", "scenarios/checkout-sync.toml", "--slowest"]);
    assert_eq!(out.stdout, again.stdout);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let events = v["traceEvents"].as_array().expect("traceEvents array");
    assert!(events.len() > 10);
    let mut complete = 0;
    for e in events {
        assert!(e["name"].is_string(), "{e}");
        assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
        match e["ph"].as_str() {
            Some("X") => {
                complete += 1;
                assert!(e["ts"].as_f64().is_some_and(|t| t >= 0.0), "{e}");
                assert!(e["dur"].as_f64().is_some_and(|d| d >= 0.0), "{e}");
                assert!(e["cat"].is_string());
            }
            Some("M") => assert!(e["args"]["name"].is_string(), "{e}"),
            other => panic!("unexpected phase {other:?}"),
        }
    }
    assert!(
        complete >= 17,
        "request + 3 calls + 8 hops + 4 queue + 4 work spans"
    );
}

#[test]
fn trace_failed_and_request_k_and_nothing_to_trace() {
    // Goal: --failed traces a failed request where there is one (its outcome is a failure
    // cause); --request K traces the K-th request; asking for a failure in a run without
    // any exits 2 with a message and prints nothing.
    let failed = meshsim(&[
        "trace",
        "scenarios/cascading-failure.toml",
        "--failed",
        "--text",
    ]);
    assert!(
        failed.status.success(),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    let text = String::from_utf8_lossy(&failed.stdout);
    assert!(text.starts_with("seed=1 "), "{text}");
    assert!(text.contains("outcome=rejected"), "{text}");
    let first = meshsim(&["trace", "scenarios/mm1.toml", "--request", "1", "--text"]);
    assert!(String::from_utf8_lossy(&first.stdout).contains("request=#1 "));
    let none = meshsim(&["trace", "scenarios/checkout-sync.toml", "--failed"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(none.stdout.is_empty());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no request failed"));
}

/// Five hops of `retries` immediate retries each, the last one always failing: a failed
/// request makes (retries + 1)^5 attempts at the bottom.
fn retry_chain(retries: u32) -> String {
    let mut s = format!(
        "[scenario]\nname = \"chain\"\nduration = \"1s\"\n\n[workload.w]\nendpoint = \"a/x\"\n\
         rate = 10\nretries = {retries}\n\n"
    );
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")] {
        s.push_str(&format!(
            "[service.{from}]\nworkers = 1000\n[service.{from}.endpoint.x]\n\
             calls = [{{ to = \"{to}/x\", retries = {retries} }}]\n\n"
        ));
    }
    s.push_str("[service.e]\nworkers = 1000\n[service.e.endpoint.x]\nwork = \"1us\"\nfail = 1.0\n");
    s
}

#[test]
fn a_trace_of_a_retry_chain_stops_at_its_span_cap_and_says_so() {
    // Goal: the first failed request of a chain of five hops with 8 retries each makes
    // 9^5 = 59,049 attempts at the bottom, several spans each. The trace keeps at most
    // MAX_TRACE_SPANS spans (plus the request's own), knows the request's outcome, and says
    // it is truncated, in the text and in the JSON. On main it kept every span (with more
    // retries, 3.7 GiB and an abort).
    let m = model(&retry_chain(8));
    let trace = sim_core::trace(&m, 1, TraceTarget::Failed)
        .unwrap()
        .expect("a failed request");
    assert!(trace.truncated);
    assert!(trace.spans.len() <= sim_core::trace::MAX_TRACE_SPANS + 1);
    assert_eq!(trace.outcome, "error");
    assert!(trace.spans.iter().any(|s| s.kind == SpanKind::Request));
    let dir = crate::support::scratch_dir("trace-cap");
    std::fs::write(dir.join("chain.toml"), retry_chain(8)).unwrap();
    let out = crate::support::meshsim_in(&dir, &["trace", "chain.toml", "--failed", "--text"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let note = text.lines().nth(1).unwrap_or_default();
    assert!(
        note.starts_with("truncated: this request caused more than 100000 spans"),
        "{note}"
    );
    let out = crate::support::meshsim_in(&dir, &["trace", "chain.toml", "--failed"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["otherData"]["truncated"], true);
}

//! Sidecars through the command line and the reports: the service-mesh lesson reads as it
//! says, is the same bytes for the same seed, `explain` counts the crossings, `graph` shows
//! the proxy, `trace` nests the mesh's attempts, and a memory estimate counts the mesh's state.

use serde_json::Value;

use crate::support::{meshsim, model};

const LESSON: &str = "scenarios/service-mesh.toml";

#[test]
fn the_lesson_multiplies_retries_and_is_the_same_bytes_twice() {
    // Goal: the lesson's backend takes 9 attempts per request (3 application attempts x 3
    // mesh attempts), `amplification` counts them with the other chains' 3 attempts per
    // request, and two runs with one seed print the same bytes.
    let a = meshsim(&["run", LESSON, "--json"]);
    let b = meshsim(&["run", LESSON, "--json"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout, "same seed, different bytes");
    let r: Value = serde_json::from_slice(&a.stdout).expect("JSON");
    let sent = |w: &str| r["workloads"][w]["sent"].as_u64().expect("sent");
    let (plain, mesh, retry) = (sent("plain"), sent("mesh"), sent("retry"));
    let back = r["endpoints"]["retry-back/get"]["arrivals"].as_u64();
    assert_eq!(back, Some(9 * retry));
    let attempts = 3 * plain + 3 * mesh + (1 + 1 + 9) * retry;
    assert_eq!(r["calls"]["attempts"].as_u64(), Some(attempts));
    let want = attempts as f64 / (plain + mesh + retry) as f64;
    let got = r["calls"]["amplification"].as_f64().expect("amplification");
    assert!(
        (got - want).abs() < 0.005,
        "amplification {got}, want {want}"
    );
}

#[test]
fn explain_counts_the_sidecar_crossings_in_the_held_time() {
    // Goal: `explain` holds a meshed caller's worker for its call's sidecar crossings too:
    // mesh-mid's 1 ms of work and its call to back (1 ms of hops, 1 ms of work, 4 crossings
    // of 0.25 ms) hold 4 ms; mesh-front 7 ms; the client's response 8.5 ms (plain: 3, 5, 6).
    let e = reports::explain::explain(&model(
        &std::fs::read_to_string(crate::support::root().join(LESSON)).expect("lesson"),
    ))
    .expect("no cycle");
    let e = serde_json::to_value(&e).expect("JSON");
    let held = |s: &str| e["services"][s]["held_ms"].as_f64().expect("held");
    for (s, want) in [
        ("plain-mid", 3.0),
        ("mesh-mid", 4.0),
        ("plain-front", 5.0),
        ("mesh-front", 7.0),
    ] {
        assert!((held(s) - want).abs() < 1e-9, "{s}: {} ms", held(s));
    }
    let response = e["workloads"]["mesh"]["response_ms"].as_f64();
    assert!(
        response.is_some_and(|r| (r - 8.5).abs() < 1e-9),
        "{response:?}"
    );
}

#[test]
fn graph_shows_each_sidecar_and_its_policy() {
    // Goal: the topology names the proxy on the service that has one, with its policy.
    let out = meshsim(&["graph", LESSON]);
    let dot = String::from_utf8_lossy(&out.stdout);
    assert!(
        dot.contains("sidecar: overhead 250us per crossing, retries 2"),
        "{dot}"
    );
    assert_eq!(dot.matches("sidecar: overhead").count(), 5);
}

#[test]
fn trace_nests_the_mesh_attempts_under_the_application_call() {
    // Goal: a failed request of the lesson shows 3 mesh calls on retry-mid's sidecar track
    // under its application call, with 3 attempts each at the backend (9 work spans there).
    let text = std::fs::read_to_string(crate::support::root().join(LESSON)).expect("lesson");
    let t = sim_core::trace(&model(&text), 1, sim_core::trace::TraceTarget::Failed)
        .expect("runs")
        .expect("a request failed");
    let app = t
        .spans
        .iter()
        .find(|s| s.name == "retry-mid/get -> retry-back/get");
    let app = app.expect("the application's call");
    let mesh: Vec<_> = t
        .spans
        .iter()
        .filter(|s| s.name == "retry-mid/get -> retry-back/get (sidecar)")
        .collect();
    assert_eq!(mesh.len(), 3);
    assert!(
        mesh.iter()
            .all(|s| s.track == "retry-mid#0 sidecar" && s.depth == app.depth + 1)
    );
    let work = t
        .spans
        .iter()
        .filter(|s| s.kind == sim_core::trace::SpanKind::Work && s.name == "retry-back/get");
    assert_eq!(work.count(), 9);
}

#[test]
fn the_memory_estimate_counts_the_mesh_guards() {
    // Goal: a sidecar with a breaker on a service of many replicas costs a guard per
    // replica and call site, and the estimate says so.
    let text = r#"
[scenario]
name = "big-mesh"
duration = "1s"
[workload.w]
endpoint = "front/get"
rate = 1
[service.front]
replicas = 100000
[service.front.sidecar]
breaker = { window = 10000 }
[service.front.endpoint.get]
work = "1ms"
calls = [{ to = "back/get" }]
[service.back.endpoint.get]
work = "1ms"
"#;
    let m = model(text);
    let f = sim_core::engine::footprint::estimate(&m);
    let part = f.parts.iter().find(|p| p.what.contains("mesh guards"));
    let part = part.expect("a sidecar part");
    assert!(part.what.contains("100000 mesh guards"), "{}", part.what);
    assert!(part.bytes > 100_000 * 1_250, "{} bytes", part.bytes);
}

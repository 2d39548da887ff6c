//! Service-mesh sidecars (issue #13, item 5), checked against outside truths: two layers of
//! retries multiply exactly, constant overheads add exactly once per crossing, a sidecar
//! dies with its replica, every attempt on the wire arrives once (conservation), and a
//! sidecar that costs nothing and does nothing changes nothing.

use sim_core::RunResults;
use sim_core::results::Cause;
use sim_core::trace::TraceTarget;

fn run(text: &str, sets: &[&str]) -> RunResults {
    sim_core::run(&crate::model_with(text, sets), 1).expect("the run finishes")
}

fn arrivals(r: &RunResults, endpoint: &str) -> u64 {
    let e = r.endpoints.iter().find(|e| e.name == endpoint);
    e.expect("endpoint in the report").arrivals
}

/// client -> front -> back, both instant over an instant network, back failing every
/// request (a permanent fault); front's call retries `app` times and its sidecar `mesh`
/// times. Constant arrivals, no warmup: every count is exact.
fn failing_chain(app: u32, mesh: u32) -> String {
    format!(
        r#"
[scenario]
name = "mesh-retries"
duration = "10s"
warmup = "0s"

[network]
latency = "0ms"

[workload.w]
endpoint = "front/get"
rate = 100
arrival = "constant"

[service.front]
workers = 1000
[service.front.sidecar]
retries = {mesh}
[service.front.endpoint.get]
work = "0ms"
calls = [{{ to = "back/get", retries = {app} }}]

[service.back]
workers = 1000
[service.back.endpoint.get]
work = "0ms"
fail = 1.0
"#
    )
}

#[test]
fn app_and_mesh_retries_multiply_under_a_permanent_fault() {
    // Goal: under a permanent fault each application attempt becomes 1 + r2 mesh attempts,
    // so the backend sees exactly (1 + r1)(1 + r2) attempts per request; `retries` counts
    // the application's r1 per request and `mesh_retries` the sidecar's (1 + r1) r2, and
    // amplification is (1 + (1 + r1)(1 + r2)) per request (the client's attempt included).
    for (r1, r2) in [(0, 0), (2, 0), (0, 2), (2, 2), (3, 1), (1, 4)] {
        let r = run(&failing_chain(r1, r2), &[]);
        let w = &r.workloads[0];
        let n = w.sent;
        assert!(n > 900, "{n} requests");
        let per = u64::from((1 + r1) * (1 + r2));
        assert_eq!(arrivals(&r, "back/get"), n * per, "r1 = {r1}, r2 = {r2}");
        assert_eq!(arrivals(&r, "front/get"), n);
        assert_eq!(r.calls.retries, n * u64::from(r1));
        assert_eq!(r.calls.mesh_retries, n * u64::from((1 + r1) * r2));
        assert_eq!(r.calls.attempts, n * (1 + per));
        assert_eq!(r.calls.service_attempts, n * per);
        let want = (1 + per) as f64;
        assert!(
            (r.calls.amplification - want).abs() < 1e-12,
            "{}",
            r.calls.amplification
        );
        assert_eq!(w.failed.get(Cause::Error), n);
    }
}

/// client -> a -> b -> c with constant delays: 0.5 ms per hop, 1 ms of work at each; the
/// services in `meshed` have a sidecar of constant overhead 0.25 ms.
fn constant_chain(meshed: &[&str]) -> String {
    let mut text = r#"
[scenario]
name = "mesh-overhead"
duration = "10s"

[network]
latency = "0.5ms"

[workload.w]
endpoint = "a/x"
rate = 100

[service.a]
workers = 1000
[service.a.endpoint.x]
work = "1ms"
calls = [{ to = "b/x" }]

[service.b]
workers = 1000
[service.b.endpoint.x]
work = "1ms"
calls = [{ to = "c/x" }]

[service.c]
workers = 1000
[service.c.endpoint.x]
work = "1ms"
"#
    .to_string();
    for s in meshed {
        text.push_str(&format!("\n[service.{s}.sidecar]\noverhead = \"0.25ms\"\n"));
    }
    text
}

#[test]
fn a_sidecar_adds_its_overhead_once_per_crossing() {
    // Goal: with constant delays, every request of the chain takes 3 ms of hops and 3 ms of
    // work, plus 0.25 ms per sidecar crossing: a message crosses its sender's and its
    // receiver's sidecar, both ways, so the client's call into a crosses a's twice and the
    // call a -> b crosses a's and b's twice each. Exactly, for every set of sidecars.
    let names = ["a", "b", "c"];
    for mask in 0..8u32 {
        let meshed: Vec<&str> = (0..3)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| names[i])
            .collect();
        let has = |s: &str| u64::from(meshed.contains(&s));
        let crossings = 2 * has("a") + 2 * (has("a") + has("b")) + 2 * (has("b") + has("c"));
        let want_ns = 6_000_000 + crossings * 250_000;
        let model = crate::model_with(&constant_chain(&meshed), &[]);
        let trace = sim_core::trace(&model, 1, TraceTarget::Request(10))
            .expect("the run finishes")
            .expect("request 10 was sent");
        assert_eq!(trace.outcome, "ok");
        assert_eq!(trace.latency.as_nanos(), want_ns, "sidecars on {meshed:?}");
        let r = sim_core::run(&model, 1).expect("the run finishes");
        let h = &r.workloads[0].latency;
        assert!(h.len() > 500);
        assert!(h.equivalent(h.min(), want_ns) && h.equivalent(h.max(), want_ns));
    }
}

#[test]
fn a_sidecar_span_nests_each_mesh_attempt_under_its_application_call() {
    // Goal: `trace` shows the sidecar: under the application's call a -> b, one span of the
    // mesh call on a's replica's sidecar track, holding the hops and b's work.
    let model = crate::model_with(&constant_chain(&["a"]), &[]);
    let trace = sim_core::trace(&model, 1, TraceTarget::Request(1))
        .expect("the run finishes")
        .expect("request 1 was sent");
    let app = trace
        .spans
        .iter()
        .find(|s| s.name == "a/x -> b/x")
        .expect("the application's call");
    let mesh = trace
        .spans
        .iter()
        .find(|s| s.name == "a/x -> b/x (sidecar)")
        .expect("the sidecar's call");
    assert_eq!(mesh.track, "a#0 sidecar");
    assert_eq!(mesh.depth, app.depth + 1);
    assert_eq!(mesh.outcome.as_deref(), Some("ok"));
    assert!(mesh.start >= app.start && mesh.end <= app.end);
    let work = trace
        .spans
        .iter()
        .find(|s| s.name == "b/x" && s.track == "b#0");
    assert!(work.is_some_and(|w| w.depth > mesh.depth));
}

/// One request at t = 1 s to front (1 replica), whose sidecar retries back's permanent
/// failure 3 times with 1 s of backoff doubling (mesh attempts at 1, 2, 4 and 8 s); back's
/// work takes `work`. The client gives up after 20 s.
fn lonely_request(work: &str) -> String {
    format!(
        r#"
[scenario]
name = "mesh-crash"
duration = "1.5s"
warmup = "0s"
drain = "60s"

[network]
latency = "0ms"

[workload.w]
endpoint = "front/get"
rate = 1
arrival = "constant"
timeout = "20s"

[service.front]
workers = 10
[service.front.sidecar]
retries = 3
backoff = "1s"
[service.front.endpoint.get]
work = "0ms"
calls = [{{ to = "back/get" }}]

[service.back]
workers = 10
[service.back.endpoint.get]
work = "{work}"
fail = 1.0
"#
    )
}

const CRASH_AT_3S: &str = r#"
[[fault]]
kind = "crash"
target = "front"
at = "3s"
for = "1s"
"#;

const CRASH_AT_2_7S: &str = r#"
[[fault]]
kind = "crash"
target = "front"
at = "2.7s"
for = "1s"
"#;

#[test]
fn a_sidecar_dies_with_its_replica() {
    // Goal: the sidecar shares its replica's crash. Without a crash, back sees all 4 mesh
    // attempts and the client hears the error. With front crashing at 3 s, during the
    // backoff before the third attempt, that retry is never made (2 attempts); with 0.5 s of
    // work at back (attempts at 1 and 2.5 s) and a crash at 2.7 s, while the second attempt
    // is at back, its reply finds the proxy dead and nothing more is sent. Either way the request dies with the replica: the
    // client learns of it only by its timeout, and nothing is left in flight.
    let r = run(&lonely_request("0ms"), &[]);
    assert_eq!(r.workloads[0].sent, 1);
    assert_eq!(arrivals(&r, "back/get"), 4);
    assert_eq!(r.workloads[0].failed.get(Cause::Error), 1);
    for (work, fault) in [("0ms", CRASH_AT_3S), ("0.5s", CRASH_AT_2_7S)] {
        let text = format!("{}{fault}", lonely_request(work));
        let r = run(&text, &[]);
        let w = &r.workloads[0];
        assert_eq!(arrivals(&r, "back/get"), 2, "back work {work}");
        assert_eq!(r.calls.mesh_retries, 1);
        assert_eq!(w.failed.get(Cause::Timeout), 1);
        assert_eq!(w.in_flight, 0);
        assert_eq!(r.faults[0].affected, 1, "the crash took the request");
    }
}

#[test]
fn the_application_giving_up_stops_the_mesh_retries() {
    // Goal: when the application's own timeout fires first, its sidecar sends no more (a
    // proxy resets the upstream request when the downstream one goes away): with a 3 s
    // application timeout only the mesh attempts at 1 s and 2 s are made.
    let text = lonely_request("0ms").replace(
        "calls = [{ to = \"back/get\" }]",
        "calls = [{ to = \"back/get\", timeout = \"3s\" }]",
    );
    let r = run(&text, &[]);
    assert_eq!(arrivals(&r, "back/get"), 2);
    assert_eq!(r.workloads[0].failed.get(Cause::Timeout), 1);
}

#[test]
fn a_mesh_breaker_opens_on_its_own_and_is_reported_as_the_sidecars() {
    // Goal: the sidecar's breaker counts mesh attempts: with a window of 4 failed attempts
    // it opens, later application attempts are refused at the proxy (`circuit_open`), and
    // the report lists it on the site marked `(sidecar)`.
    let text = failing_chain(0, 0).replace(
        "[service.front.sidecar]\nretries = 0",
        "[service.front.sidecar]\nbreaker = { window = 4, threshold = 0.5, cooldown = \"100s\" }",
    );
    let r = run(&text, &[]);
    assert_eq!(arrivals(&r, "back/get"), 4);
    let w = &r.workloads[0];
    assert_eq!(w.failed.get(Cause::CircuitOpen), w.sent - 4);
    let b = r.breakers.iter().find(|b| b.site.ends_with("(sidecar)"));
    let b = b.expect("the sidecar's breaker");
    assert_eq!(b.site, "front/get -> back/get (sidecar)");
    assert_eq!((b.owner.as_str(), b.opened), ("front#0", 1));
}

/// A meshed chain with everything random at once: exponential delays and overheads, both
/// layers' timeouts and retries with jittered backoff, failures, and random crashes.
const BUSY_MESH: &str = r#"
[scenario]
name = "mesh-busy"
duration = "30s"
warmup = "0s"
drain = "60s"

[network]
latency = "exp(1ms)"

[workload.w]
endpoint = "front/get"
rate = 400
timeout = "2s"

[service.front]
replicas = 3
workers = 64
[service.front.sidecar]
overhead = "exp(0.2ms)"
timeout = "40ms"
retries = 2
backoff = "5ms"
jitter = "full"
[service.front.endpoint.get]
work = "exp(1ms)"
calls = [{ to = "back/get", timeout = "300ms", retries = 2, backoff = "20ms", jitter = "equal" }]

[service.back]
replicas = 3
workers = 8
queue = 20
[service.back.sidecar]
overhead = "exp(0.3ms)"
[service.back.endpoint.get]
work = "exp(5ms)"
fail = 0.1

[chaos]
targets = ["front", "back"]
mtbf = "5s"
mttr = "1s"
"#;

#[test]
fn every_attempt_arrives_once_and_every_request_ends_once() {
    // Goal: conservation through both layers: with no loss every attempt put on the wire
    // (the client's, and each mesh attempt) reaches a replica exactly once, so `attempts`
    // equals the endpoints' arrivals; and every request sent ends exactly once (ok +
    // degraded + failed by every cause + in flight).
    let r = run(BUSY_MESH, &[]);
    let w = &r.workloads[0];
    assert!(r.calls.mesh_retries > 100, "{}", r.calls.mesh_retries);
    assert!(r.calls.retries > 10, "{}", r.calls.retries);
    assert!(w.failed.get(Cause::Timeout) > 0);
    let arrived: u64 = r.endpoints.iter().map(|e| e.arrivals).sum();
    assert_eq!(r.calls.attempts, arrived);
    assert_eq!(w.sent, w.ok + w.degraded + w.failed.total() + w.in_flight);
    assert_eq!(w.in_flight, 0);
}

#[test]
fn same_seed_same_results() {
    // Goal: a meshed run is a function of the seed: twice the same seed, the same numbers
    // and latencies; another seed, others.
    let model = crate::model_with(BUSY_MESH, &[]);
    let a = sim_core::run(&model, 7).expect("runs");
    let b = sim_core::run(&model, 7).expect("runs");
    let c = sim_core::run(&model, 8).expect("runs");
    let key = |r: &RunResults| {
        (
            r.events,
            r.calls.attempts,
            r.calls.mesh_retries,
            r.workloads[0].ok,
            r.workloads[0].latency.clone(),
        )
    };
    assert_eq!(key(&a), key(&b));
    assert_ne!(key(&a), key(&c));
}

#[test]
fn a_sidecar_that_costs_nothing_and_does_nothing_changes_nothing() {
    // Goal: the mesh layer adds no randomness of its own to other components and no delay
    // of its own: with a zero overhead and no policy, every count and every latency are
    // those of the same chain without sidecars. (Not the event count: a mesh attempt keeps
    // a timer of the application's timeout, its bound. And without crashes: a crash does
    // change things, since the proxy ends its dead replica's calls at once.)
    let calm = strip_tables(BUSY_MESH, &["[chaos]"]);
    let plain = strip_tables(
        &calm,
        &["[service.front.sidecar]", "[service.back.sidecar]"],
    );
    let idle = strip_keys(&calm);
    let (p, i) = (run(&plain, &[]), run(&idle, &[]));
    assert!(i.events > p.events, "the mesh's timers are events");
    assert_eq!(p.calls.attempts, i.calls.attempts);
    assert_eq!(p.calls.retries, i.calls.retries);
    assert_eq!(i.calls.mesh_retries, 0);
    for (x, y) in p.endpoints.iter().zip(&i.endpoints) {
        assert_eq!((x.arrivals, x.completed), (y.arrivals, y.completed));
        assert_eq!(x.latency.histogram(), y.latency.histogram(), "{}", x.name);
    }
    assert_eq!(p.workloads[0].latency, i.workloads[0].latency);
    assert!(p.workloads[0].ok > 10_000);
}

/// `text` without the given tables (a header and its keys, up to the next header).
fn strip_tables(text: &str, headers: &[&str]) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with('[') {
            skipping = headers.contains(&line);
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `text` with its sidecars kept but emptied (`overhead = "0ms"`, no policy).
fn strip_keys(text: &str) -> String {
    let mut out = String::new();
    let mut in_sidecar = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_sidecar = line.ends_with(".sidecar]");
            out.push_str(line);
            out.push('\n');
            if in_sidecar {
                out.push_str("overhead = \"0ms\"\n");
            }
            continue;
        }
        if !in_sidecar {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn sidecar_keys_are_checked_like_a_calls() {
    // Goal: every sidecar key is validated where it is written: an unknown key gets the
    // known ones and a did-you-mean, a negative overhead, retries past 100, a zero timeout
    // and an unknown jitter are refused with the allowed values.
    let bad = |table: &str| -> String {
        let text = failing_chain(0, 0).replace(
            "retries = 0\n[service.front.endpoint",
            &format!("{table}\n[service.front.endpoint"),
        );
        match sim_core::parse_scenario("mesh.toml", &text, &[]) {
            Ok(_) => panic!("should fail: {table}"),
            Err(d) => d.to_string(),
        }
    };
    let unknown = bad("retrys = 2");
    assert!(unknown.contains("unknown key \"retrys\""), "{unknown}");
    assert!(unknown.contains("did you mean \"retries\"?"), "{unknown}");
    assert!(unknown.contains("overhead, timeout, retries"), "{unknown}");
    let negative = bad("overhead = \"-1ms\"");
    assert!(
        negative.contains("service.front.sidecar.overhead"),
        "{negative}"
    );
    let many = bad("retries = 101");
    assert!(
        many.contains("service.front.sidecar.retries = 101 is out of range"),
        "{many}"
    );
    let zero = bad("timeout = \"0s\"");
    assert!(
        zero.contains("service.front.sidecar.timeout = \"0s\""),
        "{zero}"
    );
    let jitter = bad("retries = 1\njitter = \"ful\"");
    assert!(jitter.contains("did you mean \"full\"?"), "{jitter}");
    let bulkhead = bad("bulkhead = 3");
    assert!(bulkhead.contains("unknown key \"bulkhead\""), "{bulkhead}");
}

#[test]
fn a_mesh_call_nobody_waits_for_ends_with_the_applications_timeout() {
    // Goal: a sidecar without a timeout of its own waits at most the application's: with
    // half the requests and half the replies lost on the hop front <-> back (a call gets
    // through both ways a quarter of the time) and a 10 ms application timeout, the lost
    // mesh calls end
    // when the application gives up, so work in flight stays small (a run limited to 500
    // calls in flight finishes) and every lost request fails as a timeout, once.
    let text = r#"
[scenario]
name = "mesh-loss"
duration = "10s"
warmup = "0s"
max_in_flight = 500

[network]
latency = "1ms"
[network.link."front->back"]
loss = 0.5

[workload.w]
endpoint = "front/get"
rate = 1000
arrival = "constant"

[service.front]
workers = 1000
[service.front.sidecar]
overhead = "0.1ms"
[service.front.endpoint.get]
work = "0ms"
calls = [{ to = "back/get", timeout = "10ms" }]

[service.back]
workers = 1000
[service.back.endpoint.get]
work = "1ms"
"#;
    let r = run(text, &[]);
    let w = &r.workloads[0];
    assert_eq!(w.sent, 9999);
    assert!(within(w.failed.get(Cause::Timeout), w.sent, 0.75));
    assert_eq!(w.ok + w.failed.get(Cause::Timeout), w.sent);
    assert_eq!(
        r.calls.timeouts,
        w.failed.get(Cause::Timeout),
        "counted once, not per layer"
    );
}

/// Whether `k` of `n` is within 4.5 standard deviations of the binomial mean `n p`.
fn within(k: u64, n: u64, p: f64) -> bool {
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (k as f64 - n as f64 * p).abs() <= 4.5 * sd
}

#[test]
fn a_mesh_call_counts_toward_max_in_flight_where_it_starts() {
    // Goal: the mesh call a sidecar starts is a call in flight like any other: with every
    // call held (back serves for 100 s), each request holds three calls (the client's, the
    // application's, the sidecar's), and `max_in_flight = 5` is reached when the second
    // request's application call is handed to its sidecar (calls 0..4 live before it). The
    // run stops then, at the second arrival, not at the third (where the client's or the
    // application's own check would first see 5 or more).
    let text = r#"
[scenario]
name = "mesh-in-flight"
duration = "10s"
warmup = "0s"
max_in_flight = 5

[network]
latency = "0ms"

[workload.w]
endpoint = "front/get"
rate = 100
arrival = "constant"

[service.front]
workers = 1000
[service.front.sidecar]
retries = 0
[service.front.endpoint.get]
work = "0ms"
calls = [{ to = "back/get" }]

[service.back]
workers = 1000
[service.back.endpoint.get]
work = "100s"
"#;
    match sim_core::run(&crate::model_with(text, &[]), 1) {
        Err(sim_core::RunError::TooManyInFlight { limit, at_s }) => {
            assert_eq!(limit, 5);
            assert_eq!(at_s, "0.020s", "the second request's arrival");
        }
        Err(e) => panic!("stopped by another limit: {e}"),
        Ok(r) => panic!("finished ({} events) instead of stopping", r.events),
    }
}

//! Where a request goes (issue #13): calls made with a probability, weighted targets,
//! fallback calls and user-defined protocols, checked against outside truths — binomial
//! intervals, the quantiles of a known mixture, exact sums of constant delays.

use sim_core::RunResults;

fn run(text: &str, sets: &[&str]) -> RunResults {
    sim_core::run(&crate::model_with(text, sets), 1).expect("the run finishes")
}

fn arrivals(r: &RunResults, endpoint: &str) -> u64 {
    let e = r.endpoints.iter().find(|e| e.name == endpoint);
    e.expect("endpoint in the report").arrivals
}

/// Whether `k` out of `n` is within 4.5 standard deviations of `p` (a binomial count; the
/// chance a correct engine fails this is below 1e-5).
pub(crate) fn within_binomial(k: u64, n: u64, p: f64) -> bool {
    let (k, n) = (k as f64, n as f64);
    let sd = (n * p * (1.0 - p)).sqrt();
    (k - n * p).abs() <= 4.5 * sd
}

/// A front that makes one call (`CALL`, a TOML inline table) per request over a zero-latency
/// network, to services with room for everything (no queueing).
fn front(call: &str, duration_s: u32) -> String {
    format!(
        r#"
[scenario]
name = "routing"
duration = "{duration_s}s"

[network]
latency = "0ms"

[workload.w]
endpoint = "front/get"
rate = 1000

[service.front]
workers = 100000

[service.front.endpoint.get]
work = "0ms"
calls = [{call}]

[service.db]
workers = 100000
[service.db.endpoint.get]
work = "1ms"

[service.a]
workers = 100000
[service.a.endpoint.x]
work = "1ms"

[service.b]
workers = 100000
[service.b.endpoint.x]
work = "exp(10ms)"
"#
    )
}

#[test]
fn a_call_with_p_is_made_in_p_of_the_requests() {
    // Goal: a p = 0.2 call site is taken in 20% of its endpoint's requests, within the
    // binomial interval, and p = 0 and p = 1 are exact.
    let text = front(r#"{ to = "db/get", p = 0.2 }"#, 60);
    let r = run(&text, &[]);
    let (n, k) = (arrivals(&r, "front/get"), arrivals(&r, "db/get"));
    assert!(n > 50_000, "{n} requests");
    assert!(within_binomial(k, n, 0.2), "{k} of {n} calls, want 20%");
    let none = run(&text, &["service.front.endpoint.get.calls.0.p=0"]);
    assert_eq!(arrivals(&none, "db/get"), 0);
    assert_eq!(none.workloads[0].ok, none.workloads[0].sent);
    let all = run(&text, &["service.front.endpoint.get.calls.0.p=1"]);
    assert_eq!(arrivals(&all, "db/get"), arrivals(&all, "front/get"));
}

#[test]
fn weights_split_the_requests_in_their_proportions() {
    // Goal: one_of with weights 6, 3, 1 sends 60%, 30% and 10% of the requests to its
    // targets (each within its binomial interval), exactly one target per request; with p
    // on top, the shares apply to the p of requests that make the call.
    let call = r#"{ one_of = [{ to = "db/get", weight = 6 }, { to = "a/x", weight = 3 },
        { to = "b/x", weight = 1 }] }"#;
    let r = run(&front(call, 60), &[]);
    let n = arrivals(&r, "front/get");
    let counts = [
        arrivals(&r, "db/get"),
        arrivals(&r, "a/x"),
        arrivals(&r, "b/x"),
    ];
    assert_eq!(counts.iter().sum::<u64>(), n, "one target per request");
    for (k, p) in counts.into_iter().zip([0.6, 0.3, 0.1]) {
        assert!(within_binomial(k, n, p), "{k} of {n}, want {p}");
    }
    let call =
        r#"{ p = 0.5, one_of = [{ to = "db/get", weight = 1 }, { to = "a/x", weight = 1 }] }"#;
    let r = run(&front(call, 60), &[]);
    let n = arrivals(&r, "front/get");
    assert!(within_binomial(arrivals(&r, "db/get"), n, 0.25));
    assert!(within_binomial(arrivals(&r, "a/x"), n, 0.25));
}

#[test]
fn a_two_way_mixture_has_the_analytic_quantiles() {
    // Goal: 90% of requests take a constant 1 ms, 10% an exp(10 ms): the client's latency
    // is the mixture F(t) = 0.9·[t ≥ 1 ms] + 0.1·(1 − e^(−t/10 ms)). Its median and p90 are
    // 1 ms; its p99 solves 0.1·e^(−t/10) = 0.01, t = 10·ln 10 = 23.03 ms; its p99.9 is
    // 10·ln 100 = 46.05 ms. (Sampling error at ~300,000 requests: about 1.4% and 2.2%.)
    let call = r#"{ one_of = [{ to = "a/x", weight = 9 }, { to = "b/x", weight = 1 }] }"#;
    let r = run(&front(call, 300), &[]);
    let h = &r.workloads[0].latency;
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1e6;
    assert!((ms(0.5) - 1.0).abs() < 0.01, "p50 {} ms", ms(0.5));
    assert!((ms(0.9) - 1.0).abs() < 0.01, "p90 {} ms", ms(0.9));
    let p99 = 10.0 * 10f64.ln();
    assert!(
        (ms(0.99) / p99 - 1.0).abs() < 0.06,
        "p99 {} ms, want {p99}",
        ms(0.99)
    );
    let p999 = 10.0 * 100f64.ln();
    assert!(
        (ms(0.999) / p999 - 1.0).abs() < 0.1,
        "p99.9 {} ms, want {p999}",
        ms(0.999)
    );
}

#[test]
fn a_fallback_call_is_made_when_its_call_fails_after_retries() {
    // Goal: a call failing 50% with one retry fails for good in 25% of requests (binomial);
    // exactly those make the fallback call, every request then succeeds, and the attempts
    // add up: n first attempts + the retries + the fallback calls + the workload's n.
    let call = r#"{ to = "a/x", retries = 1, fallback = { to = "db/get", timeout = "1s" } }"#;
    let text = front(call, 60);
    let r = run(&text, &["service.a.endpoint.x.fail=0.5"]);
    let n = arrivals(&r, "front/get");
    let fallbacks = arrivals(&r, "db/get");
    assert!(within_binomial(fallbacks, n, 0.25), "{fallbacks} of {n}");
    assert_eq!(r.calls.fallbacks, fallbacks);
    assert_eq!(
        r.workloads[0].ok, r.workloads[0].sent,
        "the fallback answers"
    );
    assert_eq!(arrivals(&r, "a/x"), n + r.calls.retries);
    assert_eq!(r.calls.attempts, 2 * n + r.calls.retries + fallbacks);
}

#[test]
fn a_failing_fallback_fails_the_request_unless_it_falls_back_too() {
    // Goal: the fallback's outcome is what the endpoint sees: a fallback that always fails
    // fails every request whose call failed; its own `fallback = true` makes them degraded.
    let call = r#"{ to = "a/x", fallback = { to = "db/get" } }"#;
    let sets = [
        "service.a.endpoint.x.fail=1",
        "service.db.endpoint.get.fail=1",
    ];
    let r = run(&front(call, 10), &sets);
    assert_eq!(r.workloads[0].ok, 0);
    assert_eq!(r.workloads[0].failed.total(), r.workloads[0].sent);
    let call = r#"{ to = "a/x", fallback = { to = "db/get", fallback = true } }"#;
    let r = run(&front(call, 10), &sets);
    assert_eq!(r.workloads[0].degraded, r.workloads[0].sent);
}

/// A chain client -> front -> db with constant delays everywhere: 0.5 ms per hop, 3 ms of
/// work at db, none at front.
fn constant_chain(protocol: &str) -> String {
    format!(
        r#"
[scenario]
name = "protocols"
duration = "10s"

[network]
latency = "0.5ms"

[protocol.one]
overhead = "1ms"

[workload.w]
endpoint = "front/get"
rate = 100

[service.front]
workers = 1000
[service.front.endpoint.get]
work = "0ms"
calls = [{{ to = "db/get", protocol = "{protocol}" }}]

[service.db]
workers = 1000
[service.db.endpoint.get]
work = "3ms"
"#
    )
}

#[test]
fn a_user_protocol_of_1ms_adds_exactly_2ms_per_call() {
    // Goal: with constant latencies every request takes the same time; a 1 ms protocol on
    // the call adds 1 ms to the request and 1 ms to the reply: exactly 2 ms, at every
    // quantile. On the workload too: 2 ms more.
    let base = run(&constant_chain("none"), &[]);
    let user = run(&constant_chain("one"), &[]);
    let both = run(&constant_chain("one"), &["workload.w.protocol=\"one\""]);
    // Every request in one bucket of the histogram (3 significant digits) holding the sum.
    let all_take = |r: &RunResults, want_ns: u64| {
        let h = &r.workloads[0].latency;
        assert!(h.len() > 500, "{} requests", h.len());
        assert!(
            h.equivalent(h.min(), want_ns),
            "min {} ns, want {want_ns}",
            h.min()
        );
        assert!(
            h.equivalent(h.max(), want_ns),
            "max {} ns, want {want_ns}",
            h.max()
        );
    };
    all_take(&base, 5_000_000); // 4 hops of 0.5 ms + 3 ms of work
    all_take(&user, 7_000_000);
    all_take(&both, 9_000_000);
}

#[test]
fn other_call_sites_keep_their_random_numbers() {
    // Goal: a p added to one call site draws from that site's own stream: another
    // endpoint's latencies (its own work draws) and the workload's arrivals are unchanged.
    let text = front(r#"{ to = "b/x" }, { to = "db/get" }"#, 20);
    let plain = run(&text, &[]);
    let drawn = run(&text, &["service.front.endpoint.get.calls.1.p=0.5"]);
    let b = |r: &RunResults| r.endpoints.iter().find(|e| e.name == "b/x").cloned();
    let (x, y) = (b(&plain).expect("b/x"), b(&drawn).expect("b/x"));
    assert_eq!(x.arrivals, y.arrivals);
    assert_eq!(
        x.latency.histogram(),
        y.latency.histogram(),
        "b/x saw the same work draws"
    );
    assert_eq!(plain.workloads[0].sent, drawn.workloads[0].sent);
}

#[test]
fn skipped_sequential_calls_cost_no_stack() {
    // Goal: a sequence of many p = 0 sites is passed over in a loop, not a recursion: 5,000
    // skipped sites end each request at once and successfully.
    let calls = vec![r#"{ to = "db/get", p = 0 }"#; 5000].join(", ");
    let r = run(&front(&calls, 1), &[]);
    assert_eq!(r.workloads[0].ok, r.workloads[0].sent);
    assert_eq!(arrivals(&r, "db/get"), 0);
}

#[test]
fn parallel_calls_draw_each_site_and_finish_when_all_are_skipped() {
    // Goal: in parallel calls each site draws on its own: two p = 0.5 sites are each taken
    // half the time; with p = 0 on both, each request ends at once, successfully.
    let text = front(r#"{ to = "db/get", p = 0.5 }, { to = "a/x", p = 0.5 }"#, 30).replace(
        "work = \"0ms\"\ncalls",
        "work = \"0ms\"\nparallel = true\ncalls",
    );
    assert!(text.contains("parallel = true"));
    let r = run(&text, &[]);
    let n = arrivals(&r, "front/get");
    assert!(within_binomial(arrivals(&r, "db/get"), n, 0.5));
    assert!(within_binomial(arrivals(&r, "a/x"), n, 0.5));
    assert_eq!(r.workloads[0].ok, r.workloads[0].sent);
    let sets = [
        "service.front.endpoint.get.calls.0.p=0",
        "service.front.endpoint.get.calls.1.p=0",
    ];
    let r = run(&text, &sets);
    assert_eq!(arrivals(&r, "db/get") + arrivals(&r, "a/x"), 0);
    assert_eq!(r.workloads[0].ok, r.workloads[0].sent);
}

#[test]
fn a_breaker_refusal_falls_back_too() {
    // Goal: a call refused by its own open breaker has failed as surely as one that was
    // answered with an error: its fallback call is made. With a target that always fails,
    // every request falls back (and succeeds), while the breaker keeps most attempts off
    // the failing target.
    let call = r#"{ to = "a/x", breaker = { threshold = 0.5, window = 5, cooldown = "10s" },
        fallback = { to = "db/get" } }"#;
    let r = run(&front(call, 30), &["service.a.endpoint.x.fail=1"]);
    let n = arrivals(&r, "front/get");
    assert_eq!(arrivals(&r, "db/get"), n, "every request fell back");
    assert_eq!(r.workloads[0].ok, r.workloads[0].sent);
    assert!(
        r.calls.circuit_open > n / 2,
        "{} refusals",
        r.calls.circuit_open
    );
    assert!(
        arrivals(&r, "a/x") < n / 100,
        "{} attempts reached a/x",
        arrivals(&r, "a/x")
    );
}

#[test]
fn an_endpoint_may_make_at_most_10000_calls_counting_targets_and_fallbacks() {
    // Goal: calls are numbered with 16 bits in the engine; more than 10,000 on one endpoint
    // (entries, other targets of one_of and fallback calls together) are refused with the
    // count, where 10,000 plain entries are accepted.
    let parse = |calls: &str| {
        sim_core::parse_scenario("t.toml", &front(calls, 1), &[]).map_err(|d| d.to_string())
    };
    assert!(parse(&vec![r#"{ to = "db/get" }"#; 10_000].join(", ")).is_ok());
    let split = r#"{ one_of = [{ to = "db/get" }, { to = "a/x" }] }"#;
    let err = parse(&vec![split; 5001].join(", ")).expect_err("10,002 calls");
    assert!(
        err.contains("10002 calls (5001 entries, 5001 more targets of one_of and fallbacks)"),
        "{err}"
    );
}

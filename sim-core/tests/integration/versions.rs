//! Service versions (issue #13, item 3): weighted splits, progressive rollout, automatic
//! rollback and faults aimed at a version or a replica, checked against outside truths —
//! binomial intervals, exact sums over versions, the arithmetic of constant arrivals.

use sim_core::RunResults;
use sim_core::results::{ServiceStats, VersionStats};

use crate::routing::within_binomial;

fn run(text: &str, sets: &[&str]) -> RunResults {
    sim_core::run(&crate::model_with(text, sets), 1).expect("the run finishes")
}

fn service<'r>(r: &'r RunResults, name: &str) -> &'r ServiceStats {
    r.services.iter().find(|s| s.name == name).expect("service")
}

fn version<'r>(r: &'r RunResults, s: &str, v: &str) -> &'r VersionStats {
    let s = service(r, s);
    s.versions.iter().find(|x| x.name == v).expect("version")
}

/// `api` with 4 base replicas and the `VERSIONS` tables, 1000 requests/s for `secs`, over a
/// zero-latency network; `ARRIVAL` is poisson or constant.
fn scenario(versions: &str, arrival: &str, secs: u32) -> String {
    format!(
        r#"
[scenario]
name = "versions"
duration = "{secs}s"
drain = "5s"

[network]
latency = "0ms"

[workload.w]
endpoint = "api/get"
rate = 1000
arrival = "{arrival}"

[service.api]
replicas = 4
workers = 1000
lb = "random"
[service.api.endpoint.get]
work = "exp(1ms)"
calls = [{{ to = "db/read" }}]

[service.db]
workers = 100000
[service.db.endpoint.read]
work = "1ms"
{versions}
"#
    )
}

#[test]
fn weights_split_within_their_binomial_intervals() {
    // Goal: two versions at 20% and 30% take those shares of the service's arrivals (each a
    // binomial count), the base the remaining 50%.
    let r = run(
        &scenario(
            r#"
[service.api.version.a]
weight = 20
[service.api.version.b]
weight = 30
replicas = 2
"#,
            "poisson",
            20,
        ),
        &[],
    );
    let n = service(&r, "api").arrivals;
    assert!(n > 15_000, "{n}");
    for (v, p) in [("base", 0.5), ("a", 0.2), ("b", 0.3)] {
        let k = version(&r, "api", v).arrivals;
        assert!(within_binomial(k, n, p), "{v}: {k} of {n}, want {p}");
    }
}

#[test]
fn versions_add_up_to_their_service_exactly() {
    // Goal: conservation. Every arrival, failure and latency sample at the service is at
    // exactly one version: the versions' arrivals, failures and latency histograms sum to
    // the service's (its endpoint's, which the report folds the copies into), here with a
    // failing version, a slow one and a full queue rejecting at a third.
    let r = run(
        &scenario(
            r#"
[service.api.version.buggy]
weight = 10
[service.api.version.buggy.endpoint.get]
fail = 0.3
[service.api.version.slow]
weight = 10
workers = 1
queue = 2
[service.api.version.slow.endpoint.get]
work = "exp(4ms)"
"#,
            "poisson",
            10,
        ),
        &[],
    );
    let s = service(&r, "api");
    let get = r.endpoints.iter().find(|e| e.name == "api/get").unwrap();
    assert_eq!(r.endpoints.len(), 2, "the copies are folded into api/get");
    let vs = &s.versions;
    assert_eq!(vs.iter().map(|v| v.arrivals).sum::<u64>(), s.arrivals);
    assert_eq!(s.arrivals, get.arrivals);
    let failed: u64 = vs.iter().map(|v| v.failed).sum();
    assert_eq!(failed, get.failed + get.rejected);
    assert!(version(&r, "api", "buggy").failed > 0);
    assert!(get.rejected > 0, "the slow version's queue of 2 rejects");
    assert_eq!(version(&r, "api", "base").failed, 0);
    let mut sum = vs[0].latency.clone();
    for v in &vs[1..] {
        sum.add(&v.latency).unwrap();
    }
    let got = get.latency.histogram();
    assert_eq!(sum.len(), got.len());
    for q in [0.5, 0.9, 0.99, 1.0] {
        assert_eq!(sum.value_at_quantile(q), got.value_at_quantile(q), "q{q}");
    }
}

#[test]
fn a_rollback_fires_at_the_documented_time() {
    // Goal: the rollback rule, exactly. Constant arrivals every 1 ms (the first at 1 ms)
    // all go to a version that fails every request after 1 ms of work. The window then holds
    // its 10th outcome (`min_requests`) at 10 ms + 1 ms, with a failure ratio of 1 > 0.5:
    // the weight drops to 0 at 0.011 s, the version has served exactly 10 requests, and
    // every later request goes to the healthy base.
    let r = run(
        &scenario(
            r#"
[service.api.version.bad]
weight = 100
rollback = { error_rate = 0.5, window = "10s", min_requests = 10 }
[service.api.version.bad.endpoint.get]
work = "1ms"
fail = 1.0
"#,
            "constant",
            2,
        ),
        &["service.db.endpoint.read.work=\"0ms\""],
    );
    let bad = version(&r, "api", "bad");
    assert_eq!(bad.rolled_back_at.map(|t| t.0), Some(11_000_000));
    assert_eq!((bad.arrivals, bad.failed, bad.weight), (10, 10, 0.0));
    let w = &r.workloads[0];
    assert_eq!(w.failed.total(), 10);
    assert_eq!(w.ok, w.sent - 10);
}

#[test]
fn a_ratio_under_the_bound_never_rolls_back() {
    // Goal: the other side of the rule: a version failing 20% against a bound of 30% keeps
    // its weight for the whole run.
    let r = run(
        &scenario(
            r#"
[service.api.version.meh]
weight = 50
rollback = { error_rate = 0.3, window = "2s" }
[service.api.version.meh.endpoint.get]
fail = 0.2
"#,
            "poisson",
            10,
        ),
        &[],
    );
    let v = version(&r, "api", "meh");
    assert_eq!((v.rolled_back_at, v.weight), (None, 50.0));
}

#[test]
fn a_rollout_steps_the_weight_at_its_times() {
    // Goal: rollout weights are steps (not ramps). Constant arrivals every 1 ms for 2 s; the
    // weight is 0 before 1 s and 100 from 1 s on: the 999 requests before 1 s go to the base,
    // the 1000 from 1 s (the step comes before the arrival at the same instant) to the new
    // version.
    let r = run(
        &scenario(
            r#"
[service.api.version.new]
rollout = [["1s", 100]]
"#,
            "constant",
            2,
        ),
        &[],
    );
    assert_eq!(version(&r, "api", "base").arrivals, 999);
    assert_eq!(version(&r, "api", "new").arrivals, 1000);
    assert_eq!(version(&r, "api", "new").weight, 100.0);
    assert_eq!(version(&r, "api", "base").weight, 0.0);
}

#[test]
fn a_fault_on_a_version_hits_only_that_version() {
    // Goal: `api@canary` targets only the canary's replicas: an error fault fails every
    // request there and none at the base, and so does a crash; a slow fault slows the
    // canary's work tenfold and leaves the base's as it was.
    let versions = r#"
[service.api.version.canary]
weight = 50
replicas = 2

[[fault]]
kind = "error"
target = "api@canary"
at = "0s"
rate = 1.0
"#;
    let r = run(&scenario(versions, "poisson", 10), &[]);
    let (base, canary) = (version(&r, "api", "base"), version(&r, "api", "canary"));
    assert_eq!(base.failed, 0);
    assert!(canary.arrivals > 4_000);
    assert_eq!(canary.failed, canary.arrivals);
    assert_eq!(r.faults[0].affected, canary.arrivals);

    // A crash of the canary: its replicas refuse every request (`unavailable`), which is
    // every one of its arrivals failed; the base is untouched.
    let crash = versions
        .replace("\"error\"", "\"crash\"")
        .replace("rate = 1.0", "");
    let r = run(&scenario(&crash, "poisson", 10), &[]);
    let (base, canary) = (version(&r, "api", "base"), version(&r, "api", "canary"));
    assert_eq!(base.failed, 0);
    assert!(canary.arrivals > 4_000);
    assert_eq!(canary.failed, canary.arrivals);
    assert_eq!(r.workloads[0].failed.total(), canary.arrivals);

    let slow = versions
        .replace("\"error\"", "\"slow\"")
        .replace("rate = 1.0", "factor = 10");
    let r = run(&scenario(&slow, "poisson", 10), &[]);
    let p50 = |v: &str| version(&r, "api", v).latency.value_at_quantile(0.5) as f64 / 1e6;
    // Base: exp(1ms) work + 1 ms db call, median ~1.7 ms; canary: exp(10ms) + 1 ms, ~7.9 ms.
    assert!((1.4..2.0).contains(&p50("base")), "{}", p50("base"));
    assert!((6.5..9.5).contains(&p50("canary")), "{}", p50("canary"));
    assert_eq!(version(&r, "api", "canary").failed, 0);
}

#[test]
fn an_error_on_one_replica_fails_its_share() {
    // Goal: `api#0` with rate 1 fails exactly the requests the random balancer sends to
    // replica 0: a binomial quarter of them, and the fault counts each.
    let r = run(
        &scenario(
            r#"
[[fault]]
kind = "error"
target = "api#0"
at = "0s"
rate = 1.0
"#,
            "poisson",
            10,
        ),
        &[],
    );
    let w = &r.workloads[0];
    let failed = w.failed.total();
    assert!(
        within_binomial(failed, w.sent, 0.25),
        "{failed} of {}",
        w.sent
    );
    assert_eq!(r.faults[0].affected, failed);
}

#[test]
fn versions_draw_from_their_own_stream() {
    // Goal: a version's draw takes no number from another stream: a service with versions at
    // weight 0 leaves the run exactly as without them (same arrivals, same latencies at the
    // base), so adding a canary to a file is a fair comparison.
    let without = run(&scenario("", "poisson", 5), &[]);
    let with = run(
        &scenario("[service.api.version.idle]\nweight = 0\n", "poisson", 5),
        &[],
    );
    let (a, b) = (&without.endpoints[0], &with.endpoints[0]);
    assert_eq!(a.arrivals, b.arrivals);
    assert_eq!(a.latency.histogram(), b.latency.histogram());
    assert_eq!(version(&with, "api", "idle").arrivals, 0);
}

/// Every problem `text` (with `sets`) is refused with, as one string.
fn refusal(text: &str, sets: &[&str]) -> String {
    let overrides: Vec<sim_core::Override> = sets
        .iter()
        .map(|s| sim_core::Override::parse(s).expect("PATH=VALUE"))
        .collect();
    match sim_core::parse_scenario("v.toml", text, &overrides) {
        Ok(_) => panic!("should be refused"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn bad_versions_are_refused_with_what_is_allowed() {
    // Goal: each mistake with versions gets a located message naming what is allowed, with a
    // did-you-mean for a misspelt version or endpoint, all in one pass.
    let text = scenario(
        r#"
[service.api.version.canary]
weight = 60
rollout = [["10s", 50], ["5s", 20]]
[service.api.version.canary.endpoint.gte]
fail = 0.5
[service.api.version.blue]
weight = 50

[[fault]]
kind = "error"
target = "api@canry"
at = "1s"
rate = 0.5

[[fault]]
kind = "slow"
target = "api#7"
at = "1s"
factor = 2
"#,
        "poisson",
        20,
    );
    let all = refusal(&text, &[]);
    for want in [
        "service.api.version.canary.rollout[1] = [\"5s\", 20]: time 5s is not after the previous step's (10s); step times must increase",
        "service.api.version.canary.endpoint.gte: service api has no endpoint \"gte\" to override; known: get; did you mean \"get\"?",
        "service.api: the versions' weights sum to 110% from the start (canary 60 + blue 50); at most 100% is allowed",
        "fault[0].target = \"api@canry\": unknown version of api \"canry\"; known: canary, blue; did you mean \"canary\"?",
        "fault[1].target = \"api#7\": replica api#7 does not exist: api has 6 replica(s), api#0 to api#5",
    ] {
        assert!(all.contains(want), "missing \"{want}\" in:\n{all}");
    }
    let weight = refusal(&text, &["service.api.version.blue.weight=101"]);
    assert!(
        weight.contains(
            "service.api.version.blue.weight = 101 is out of range; allowed: a number from 0 to 100"
        ),
        "{weight}"
    );
    let invented = refusal(
        &scenario("", "poisson", 5),
        &["service.api.version.x.weight=5"],
    );
    assert!(
        invented.contains("the file declares no version \"api@x\""),
        "{invented}"
    );
}

#[test]
fn versions_of_a_message_consumer_are_refused() {
    // Goal: a service that messages reach without its load balancer (a queue's consumer) has
    // no weighted split to make; its versions are refused rather than silently ignored.
    let text = r#"
[scenario]
name = "v"
duration = "5s"
[workload.w]
endpoint = "api/get"
rate = 10
[service.api.endpoint.get]
work = "1ms"
send = ["jobs"]
[broker.b]
[queue.jobs]
broker = "b"
consumer = "worker/do"
[service.worker.endpoint.do]
work = "1ms"
[service.worker.version.canary]
weight = 5
"#;
    let all = refusal(text, &[]);
    assert!(
        all.contains(
            "service worker consumes messages, which reaches its replicas without its load balancer"
        ),
        "{all}"
    );
}

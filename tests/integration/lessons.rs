//! The lessons of issues #12 and #13 — `retry-spike`, `database-per-service` and
//! `cqrs-read-model`: every request accounted for, the outside truths behind the numbers
//! they teach (token-bucket bounds, the utilization law, Little's law), and the same bytes
//! for the same seed. (`scenarios.rs` checks that their `[[expect]]`s hold; `messaging.rs`
//! that every message of every lesson with a broker balances.)

use serde_json::Value;
use sim_core::results::{Cause, RunResults};

use crate::messaging::assert_balanced;
use crate::support::{meshsim, rel, root, run};

const RETRY_SPIKE: &str = "scenarios/retry-spike.toml";
const DATABASE_PER_SERVICE: &str = "scenarios/database-per-service.toml";
const CQRS: &str = "scenarios/cqrs-read-model.toml";
const LESSONS: [&str; 3] = [RETRY_SPIKE, DATABASE_PER_SERVICE, CQRS];

fn results(file: &str) -> RunResults {
    let text = std::fs::read_to_string(root().join(file)).expect("the lesson exists");
    let seed = crate::support::model(&text).seed;
    run(&text, seed)
}

/// The JSON report of `file` with `--set` overrides (expectations skipped: a variant may
/// break them on purpose).
fn report(file: &str, sets: &[&str]) -> Value {
    let mut args = vec!["run", file, "--json", "--no-expect"];
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = meshsim(&args);
    assert!(
        out.status.success(),
        "{file} {sets:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the report is JSON")
}

fn num(v: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(v, |v, key| &v[key])
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number"))
}

#[test]
fn every_request_of_the_three_lessons_is_accounted_for() {
    // Goal: conservation in each lesson: for every workload, sent = ok + degraded + failed
    // by every cause + in flight; the causes add up to the failures; and in the CQRS lesson
    // every copy of every event is acknowledged (both read models got everything).
    for file in LESSONS {
        let r = results(file);
        for w in &r.workloads {
            let by_cause: u64 = Cause::ALL.iter().map(|&c| w.failed.get(c)).sum();
            assert_eq!(by_cause, w.failed.total(), "{file} {}", w.name);
            assert_eq!(
                w.sent,
                w.ok + w.degraded + by_cause + w.in_flight,
                "{file} {}",
                w.name
            );
            assert!(w.sent > 0, "{file} {} sent nothing", w.name);
        }
        for t in &r.messages.topics {
            for g in &t.groups {
                assert_balanced(&format!("{file} {}/{}", t.name, g.name), g);
                assert_eq!(g.acknowledged, t.published, "{file} {}/{}", t.name, g.name);
            }
        }
    }
}

#[test]
fn the_rate_limit_admits_no_more_than_its_bucket_and_refuses_every_failed_attempt() {
    // Goal: the token bucket's outside truth: over the counted window the database admits
    // at most burst + rate × window queries (90 + 900/s × 110 s; arrivals minus refusals).
    // Each guarded request that failed `rate_limited` had all its 1 + 3 attempts refused,
    // so the service refused at least 4 per such failure; and the naive system, with no
    // limit, refused none and timed out instead.
    let r = results(RETRY_SPIKE);
    let db = r.services.iter().find(|s| s.name == "db-guarded").unwrap();
    let admitted = db.arrivals - db.rate_limited;
    let bound = 90.0 + 900.0 * r.window_s();
    assert!(
        (admitted as f64) <= bound,
        "admitted {admitted} > bucket bound {bound}"
    );
    let guarded = r.workloads.iter().find(|w| w.name == "guarded").unwrap();
    let limited = guarded.failed.get(Cause::RateLimited);
    assert!(limited > 0);
    assert!(
        db.rate_limited >= 4 * limited,
        "{} refusals for {limited} requests failed after 4 attempts",
        db.rate_limited
    );
    let naive = r.workloads.iter().find(|w| w.name == "naive").unwrap();
    assert_eq!(naive.failed.get(Cause::RateLimited), 0);
    assert_eq!(naive.failed.get(Cause::Timeout), naive.failed.total());
}

#[test]
fn each_systems_amplification_is_read_alone_by_silencing_the_other() {
    // Goal: calls.amplification counts every attempt per client request over the whole run,
    // so the lesson reads each system's by setting the other's rate to 0. Without retries
    // the chain is exactly 2 attempts per request; the naive system's immediate retries
    // push it past 3.5 (the outage makes most requests use all 4 database attempts), the
    // guarded one's stays well below, and the lesson's own figure lies between the two.
    let both = num(&report(RETRY_SPIKE, &[]), "calls.amplification");
    let naive = num(
        &report(RETRY_SPIKE, &["workload.guarded.rate=0"]),
        "calls.amplification",
    );
    let guarded = num(
        &report(RETRY_SPIKE, &["workload.naive.rate=0"]),
        "calls.amplification",
    );
    assert!(naive > 3.5, "naive {naive}");
    assert!((2.0..3.0).contains(&guarded), "guarded {guarded}");
    assert!(
        guarded < both && both < naive,
        "{guarded} < {both} < {naive}"
    );
    let no_retries = report(
        RETRY_SPIKE,
        &[
            "workload.guarded.rate=0",
            "workload.naive.spike.0.factor=1",
            "service.api-naive.endpoint.get.calls.0.retries=0",
        ],
    );
    assert_eq!(num(&no_retries, "calls.amplification"), 2.0);
}

#[test]
fn the_shared_databases_utilization_is_the_work_it_was_given() {
    // Goal: the utilization law, U = Σ arrivals × mean work / (workers × window): the shared
    // database's 26% is what its orders lookups (exp(2 ms)) and batch scans (exp(30 ms))
    // ask of 8 workers — moderate, so the orders p99 it causes is not an overload.
    let r = report(DATABASE_PER_SERVICE, &[]);
    let window_s = 110.0;
    let lookups = num(&r, "endpoints.db-shared/order.arrivals");
    let scans = num(&r, "endpoints.db-shared/scan.arrivals");
    let want = (lookups * 0.002 + scans * 0.030) / (8.0 * window_s);
    let got = num(&r, "services.db-shared.utilization");
    assert!(rel(got, want) < 0.05, "utilization {got} want {want}");
    assert!(got < 0.4);
}

#[test]
fn without_the_batch_the_shared_and_split_orders_tails_agree() {
    // Goal: the batch is the whole difference. With it, the shared orders p99 is several
    // times the split one; with the batch silenced (rate 0) the two orders services, which
    // then see the same load on databases that are both far from busy, have p99s within
    // 15% of each other, and the split one's does not depend on the shared side's batch.
    let with = report(DATABASE_PER_SERVICE, &[]);
    let without = report(DATABASE_PER_SERVICE, &["workload.batch-shared.rate=0"]);
    let p99 = |r: &Value, w: &str| num(r, &format!("workloads.{w}.latency_ms.p99"));
    assert!(p99(&with, "orders-shared") > 3.0 * p99(&with, "orders-split"));
    let (shared, split) = (
        p99(&without, "orders-shared"),
        p99(&without, "orders-split"),
    );
    assert!(rel(shared, split) < 0.15, "shared {shared} split {split}");
    assert_eq!(p99(&with, "orders-split"), split);
}

#[test]
fn the_read_models_lag_obeys_littles_law_and_never_slows_a_write() {
    // Goal: the staleness figures agree with each other by Little's law: the search group's
    // mean depth (events not yet applied, a time average) is its arrival rate times the
    // mean time an event waits to be applied (the mean lag), within 5%. And the write side
    // pays nothing for a slow projection: with a fast indexer the writes' latency
    // percentiles are the same (the publish is one broker round trip either way).
    let r = report(CQRS, &[]);
    let group = "messages.topics.order-events.groups.search";
    let rate = num(&r, &format!("{group}.published")) / 110.0;
    let lag_s = num(&r, &format!("{group}.lag_ms.mean")) / 1000.0;
    let depth = num(&r, &format!("{group}.depth_mean"));
    assert!(
        rel(depth, rate * lag_s) < 0.05,
        "depth {depth} vs λW {}",
        rate * lag_s
    );
    assert!(num(&r, &format!("{group}.lag_ms.max")) > 3000.0);
    let fast = report(CQRS, &["service.indexer.endpoint.apply.work=\"exp(1ms)\""]);
    assert!(num(&fast, &format!("{group}.lag_ms.max")) < 1000.0);
    for p in ["p50", "p99"] {
        let path = format!("workloads.place.latency_ms.{p}");
        assert!(
            rel(num(&fast, &path), num(&r, &path)) < 0.05,
            "{path}: {} with a fast indexer, {} with the slow one",
            num(&fast, &path),
            num(&r, &path)
        );
    }
}

#[test]
fn the_three_lessons_give_the_same_bytes_for_the_same_seed() {
    // Goal: determinism with spikes, rate schedules, rate limits, parallel calls and
    // topics with two groups in play.
    for file in LESSONS {
        let a = meshsim(&["run", file, "--json"]);
        let b = meshsim(&["run", file, "--json"]);
        assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
        assert_eq!(a.stdout, b.stdout, "{file}");
    }
}

#[test]
fn a_run_whose_load_changes_shows_its_rows_over_time() {
    // Goal: a spike's effect — and what outlives it — can be read in the text report: a
    // run whose load changes over time (here a spike, and no fault) prints the "Over time"
    // table, in which the naive system's row at 80–90 s, 30 s after the spike, still fails
    // every request. A long run at a constant rate without faults (mm1) prints none.
    let out = meshsim(&["run", RETRY_SPIKE]);
    let text = String::from_utf8(out.stdout).unwrap();
    let over_time = text
        .split("\nOver time\n")
        .nth(1)
        .expect("an Over time table");
    let naive = over_time.split("\n  guarded\n").next().unwrap();
    let row = naive
        .lines()
        .find(|l| l.trim_start().starts_with("80.0–90.0"))
        .expect("a row at 80 s");
    assert!(row.contains(" 0.0% "), "{row}");
    let mm1 = meshsim(&["run", "scenarios/mm1.toml"]);
    assert!(
        !String::from_utf8(mm1.stdout)
            .unwrap()
            .contains("\nOver time\n")
    );
}

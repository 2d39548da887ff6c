//! Numbers that once came out silently wrong (issue #11, C3–C6), checked against theory.

use sim_core::RunResults;

fn run(text: &str) -> RunResults {
    sim_core::run(&crate::model_with(text, &[]), 1).expect("the run finishes")
}

#[test]
fn utilization_of_a_huge_service_uses_64_bit_capacity() {
    // Goal: replicas × workers beyond 32 bits (65,537 × 65,536 = 4.3e9 worker slots). One
    // busy worker on average (1,000/s × 1 ms) is a utilization of 1 / 4.3e9; on main the
    // product wrapped to 65,536 (and overflowed in debug builds), reading 65,536× too high.
    let r = run(r#"
[scenario]
name = "huge"
duration = "20s"
drain = "1s"

[workload.w]
endpoint = "big/get"
rate = 1000

[service.big]
replicas = 65537
workers = 65536

[service.big.endpoint.get]
work = "1ms"
"#);
    let u = r.services[0].utilization;
    let want = 1.0 / (65_537.0 * 65_536.0);
    assert!(
        (u / want - 1.0).abs() < 0.05,
        "utilization {u:e}, theory {want:e}"
    );
}

/// A broker whose only limit is its capacity: Poisson publishes at `rate` through zero
/// latency into a queue whose consumers are always free.
fn paced(rate: f64, capacity: &str, duration_s: u64) -> String {
    format!(
        r#"
[scenario]
name = "paced"
duration = "{duration_s}s"
warmup = "10s"

[workload.w]
endpoint = "shop/order"
rate = {rate}

[service.shop]
workers = 1000

[service.shop.endpoint.order]
work = "0ms"
send = ["jobs"]

[broker.mq]
capacity = {capacity}

[queue.jobs]
consumer = "worker/handle"

[service.worker]
workers = 1000

[service.worker.endpoint.handle]
work = "0ms"
"#
    )
}

#[test]
fn a_tiny_broker_capacity_still_limits_dispatch() {
    // Goal: capacity = 1e-12 per second means one delivery per 1e12 s: in a 30 s run at
    // most the first message leaves the broker. On main the pacing sum wrapped (the gap is
    // near u64::MAX) and the limit vanished: every message was delivered.
    let r = run(&paced(30.0, "1e-12", 30));
    let q = &r.messages.queues[0];
    assert!(q.published > 500, "published {}", q.published);
    assert!(q.acknowledged <= 1, "acknowledged {}", q.acknowledged);
}

#[test]
fn wait_in_the_broker_includes_capacity_pacing_like_md1() {
    // Goal: a broker dispatching at most μ = 1,000/s to free consumers is an M/D/1 queue
    // for Poisson publishes at λ = 800/s (ρ = 0.8). Pollaczek–Khinchine: the mean wait is
    // Wq = ρ / (2 μ (1 − ρ)) = 2 ms. On main `wait_ms` stopped at the dispatch decision,
    // before the pacing, and read 0.
    let r = run(&paced(800.0, "1000", 310));
    let q = &r.messages.queues[0];
    assert!(q.published > 200_000, "published {}", q.published);
    let wait_ms = q.wait.mean() / 1e6;
    assert!(
        (wait_ms - 2.0).abs() < 0.12,
        "mean wait {wait_ms} ms, theory 2 ms"
    );
}

/// One worker with work `work`, fed at `rate` (Poisson) for `duration_s`, no timeout.
fn server(rate: f64, work: &str, duration_s: u64) -> String {
    format!(
        r#"
[scenario]
name = "server"
duration = "{duration_s}s"
warmup = "10s"
drain = "60s"

[workload.w]
endpoint = "one/serve"
rate = {rate}

[service.one]
workers = 1

[service.one.endpoint.serve]
work = "{work}"
"#
    )
}

fn throughput_rps(r: &RunResults) -> f64 {
    r.workloads[0].ok_in_window as f64 / r.window_s()
}

#[test]
fn throughput_of_an_overloaded_server_is_its_capacity() {
    // Goal: a 1-worker server of 1 ms work fed 1,200/s serves 1,000/s; the backlog it
    // drains after `duration` was not served inside the window. On main throughput_rps
    // counted every success over duration − warmup and read 1,200.
    let r = run(&server(1200.0, "1ms", 30));
    let w = &r.workloads[0];
    assert!(
        w.ok as f64 / r.window_s() > 1150.0,
        "every request succeeds in the end"
    );
    let rps = throughput_rps(&r);
    assert!(
        (rps - 1000.0).abs() < 5.0,
        "throughput {rps}/s, capacity 1000/s"
    );
}

#[test]
fn throughput_of_a_stable_mm1_is_its_arrival_rate() {
    // Goal: flow balance: a stable M/M/1 (λ = 500/s, μ = 1,000/s) serves what arrives, so
    // the window's successes per second estimate λ (Poisson count: sd ≈ 0.3% over 190 s).
    let r = run(&server(500.0, "exp(1ms)", 200));
    let rps = throughput_rps(&r);
    assert!(
        (rps / 500.0 - 1.0).abs() < 0.015,
        "throughput {rps}/s, λ = 500/s"
    );
}

//! The load balancer's cost per event must not grow with the number of replicas.
//!
//! The same service behind health checks, with four replicas crashing and restarting at
//! random (so the callers' belief changes at most checks and picks run over partly crashed
//! replicas), at 10 and at 100,000 replicas, for `least-outstanding`, `p2c` and
//! `round-robin`. Counted in events handled: a scan over the replicas per pick or per health
//! check would make the 100,000-replica figure thousands of times smaller; the indexed
//! structures keep it within 2× of the 10-replica one (README, Performance).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim_core::parse_scenario;
use std::hint::black_box;

/// 60 simulated seconds at 5,000 requests/s (about 1.2 million events); at 10 replicas the
/// load is ρ = 0.5 while all are up.
fn scenario(replicas: u32, lb: &str) -> String {
    format!(
        r#"[scenario]
name = "bench-balancer"
duration = "60s"
drain = "1s"
[workload.load]
endpoint = "api/serve"
rate = 5000
timeout = "100ms"
[service.api]
replicas = {replicas}
lb = "{lb}"
health_check = "10ms"
[service.api.endpoint.serve]
work = "exp(1ms)"
[chaos]
targets = ["api#1", "api#3", "api#5", "api#7"]
mtbf = "200ms"
mttr = "100ms"
"#
    )
}

fn balancer(c: &mut Criterion) {
    let mut group = c.benchmark_group("balancer");
    group.sample_size(10);
    for lb in ["least-outstanding", "p2c", "round-robin"] {
        for replicas in [10, 100_000] {
            let text = scenario(replicas, lb);
            let model = parse_scenario("bench-balancer.toml", &text, &[]).expect("valid");
            let events = sim_core::run(&model, 1).expect("runs").events;
            group.throughput(Throughput::Elements(events));
            group.bench_function(format!("{lb}/replicas-{replicas}/events"), |b| {
                b.iter(|| black_box(sim_core::run(&model, 1).expect("runs")))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, balancer);
criterion_main!(benches);

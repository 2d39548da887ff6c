//! Whole runs, end to end: parse once, then simulate, with links, metrics and histograms.
//!
//! The M/M/1 figure is "simulated customers per second", the unit the README compares
//! against SimPy (~60 thousand/s on this kind of machine) and a bare BinaryHeap loop
//! (~10 million/s).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim_core::parse_scenario;
use std::hint::black_box;

/// M/M/1 at rho = 0.8 for 1,250 simulated seconds: about one million customers.
const MM1: &str = r#"
[scenario]
name = "bench-mm1"
duration = "1250s"
drain = "10s"
[workload.load]
endpoint = "server/serve"
rate = 800
[service.server]
[service.server.endpoint.serve]
work = "exp(1ms)"
"#;

fn mm1(c: &mut Criterion) {
    let model = parse_scenario("bench-mm1.toml", MM1, &[]).expect("valid");
    let customers = sim_core::run(&model, 1).expect("runs").workloads[0].sent;
    let mut group = c.benchmark_group("end-to-end");
    group.sample_size(10);
    group.throughput(Throughput::Elements(customers));
    group.bench_function("mm1/customers", |b| {
        b.iter(|| black_box(sim_core::run(&model, 1).expect("runs")))
    });
    group.finish();
}

fn checkout(c: &mut Criterion) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/checkout-sync.toml"
    ))
    .expect("scenario file");
    let model = parse_scenario("checkout-sync.toml", &text, &[]).expect("valid");
    let events = sim_core::run(&model, 7).expect("runs").events;
    let mut group = c.benchmark_group("end-to-end");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("checkout-sync/events", |b| {
        b.iter(|| black_box(sim_core::run(&model, 7).expect("runs")))
    });
    group.finish();
}

criterion_group!(benches, mm1, checkout);
criterion_main!(benches);

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

/// Messages through a broker: a producer sends to a queue read by 4 competing consumers
/// (an M/M/4 at rho = 0.8), for about 800,000 messages. Counted in messages processed.
const QUEUE: &str = r#"
[scenario]
name = "bench-queue"
duration = "250s"
drain = "10s"
[workload.load]
endpoint = "producer/emit"
rate = 3200
[service.producer]
workers = 100000
[service.producer.endpoint.emit]
send = ["jobs"]
[broker.mq]
[queue.jobs]
broker = "mq"
consumer = "consumer/handle"
[service.consumer]
replicas = 4
[service.consumer.endpoint.handle]
work = "exp(1ms)"
"#;

fn queue(c: &mut Criterion) {
    let model = parse_scenario("bench-queue.toml", QUEUE, &[]).expect("valid");
    let messages = sim_core::run(&model, 1).expect("runs").messages.queues[0].acknowledged;
    let mut group = c.benchmark_group("end-to-end");
    group.sample_size(10);
    group.throughput(Throughput::Elements(messages));
    group.bench_function("queue-mm4/messages", |b| {
        b.iter(|| black_box(sim_core::run(&model, 1).expect("runs")))
    });
    group.finish();
}

/// The pubsub-fanout lesson: one topic, three consumer groups. Counted in events handled.
fn fanout(c: &mut Criterion) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/pubsub-fanout.toml"
    ))
    .expect("scenario file");
    let model = parse_scenario("pubsub-fanout.toml", &text, &[]).expect("valid");
    let events = sim_core::run(&model, 1).expect("runs").events;
    let mut group = c.benchmark_group("end-to-end");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("pubsub-fanout/events", |b| {
        b.iter(|| black_box(sim_core::run(&model, 1).expect("runs")))
    });
    group.finish();
}

criterion_group!(benches, mm1, checkout, queue, fanout);
criterion_main!(benches);

//! The kernel alone: events/s for schedule + pop on the event queue, with the queue holding
//! a steady population of pending events (as a simulation with that much work in flight).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::RngExt;
use sim_core::kernel::EventQueue;
use sim_core::rng::stream;
use sim_core::time::SimDuration;
use std::hint::black_box;

const OPS: u64 = 1_000_000;

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(OPS));
    for pending in [16usize, 1024, 65_536] {
        group.bench_function(format!("schedule+pop/pending={pending}"), |b| {
            // The classic "hold" model: pop the earliest event, schedule one at an
            // exponentially distributed distance, so the population stays constant.
            let mut rng = stream(1, "bench/kernel");
            let delays: Vec<SimDuration> = (0..4096)
                .map(|_| SimDuration::from_nanos_f64(-1e6 * (1.0 - rng.random::<f64>()).ln()))
                .collect();
            b.iter(|| {
                let mut q = EventQueue::new();
                for i in 0..pending {
                    q.schedule(delays[i % delays.len()], i as u32);
                }
                for i in 0..OPS as usize {
                    let (_, e) = q.pop().expect("non-empty");
                    q.schedule(delays[i % delays.len()], black_box(e));
                }
                black_box(q.len())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);

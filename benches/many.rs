//! The many-run engine: one compare/sweep job list (2 rates × 8 seeds of an M/M/1-like
//! scenario, each run about 120,000 customers, so each job is long against the pool's start-up)
//! on 1 and on 2 threads. The ratio of
//! the two times is the speed-up from a second core (the goal is at least 1.8×: the jobs are
//! independent and share only the read-only model, so little should be lost but the pool's
//! start-up and the imbalance of the last jobs).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reports::compare::extract;
use reports::many::{Plan, SeedChoice, Shard, Source, Vary, run_jobs};
use std::hint::black_box;

const SERVER: &str = r#"
[scenario]
name = "bench-many"
seed = 1
duration = "300s"
warmup = "1s"
drain = "5s"
[network]
latency = "0ms"
[workload.load]
endpoint = "server/serve"
rate = 400
[service.server]
workers = 1
queue = "unbounded"
[service.server.endpoint.serve]
work = "exp(1.25ms)"
"#;

fn many(c: &mut Criterion) {
    let sources = [Source::new("bench-many.toml", SERVER)];
    // Two close rates: jobs of nearly equal length, so the last ones do not leave a core idle.
    let vary = [Vary::parse("workload.load.rate=390..400:10").expect("valid range")];
    let seeds = SeedChoice {
        first: None,
        count: 8,
    };
    let plan = Plan::new("sweep", &sources, &[], &vary, seeds).expect("valid plan");
    let jobs = plan.info.jobs(Shard::ALL);
    let mut group = c.benchmark_group("many");
    group.sample_size(10);
    group.throughput(Throughput::Elements(jobs.len() as u64));
    for threads in [1, 2] {
        group.bench_function(format!("sweep-16-runs/threads-{threads}"), |b| {
            b.iter(|| black_box(run_jobs(&plan, &jobs, threads, &extract, &|| {}).expect("pool")))
        });
    }
    group.finish();
}

criterion_group!(benches, many);
criterion_main!(benches);

//! Faults hit what they say, and the system recovers from them when it should.

use crate::support::{meshsim_in, run, scratch_dir};
use sim_core::results::Cause;

const CRASH: &str = r#"
[scenario]
name = "crash-10s"
duration = "100s"
drain = "5s"

[workload.load]
endpoint = "svc/handle"
rate = 1000
arrival = "constant"
timeout = "1s"

[service.svc]
replicas = 2
workers = 16

[service.svc.endpoint.handle]
work = "exp(2ms)"

[[fault]]
kind = "crash"
target = "svc"
at = "40s"
for = "10s"
"#;

#[test]
fn a_ten_second_crash_fails_ten_percent_and_the_service_recovers() {
    // Goal: a 10 s crash in a 100 s constant-rate run without retries fails 10% of requests
    // (within 0.5 points): those refused while it is down plus the few in flight when it
    // crashed. Afterwards the service is healthy: nothing sent after 51 s fails.
    let r = run(CRASH, 2);
    let w = &r.workloads[0];
    let failed = w.failed.total() as f64 / w.sent as f64;
    println!(
        "failed {:.4}: {:?}; fault affected {}",
        failed, w.failed, r.faults[0].affected
    );
    assert!((failed - 0.10).abs() < 0.005, "failed ratio {failed}");
    assert!(
        w.failed.get(Cause::Unavailable) > 9_000,
        "refused while down"
    );
    assert_eq!(
        r.faults[0].affected,
        w.failed.total(),
        "the fault accounts for every failure"
    );
    let width = r.bucket.as_secs_f64();
    let after: u64 = w
        .buckets
        .iter()
        .enumerate()
        .filter(|(i, _)| *i as f64 * width >= 51.0)
        .map(|(_, b)| b.failed.total())
        .sum();
    assert_eq!(after, 0, "failures after the restart");
    assert_eq!(
        w.sent,
        w.ok + w.failed.total(),
        "every request accounted for"
    );
}

#[test]
fn a_fault_that_hits_nothing_says_zero_and_warns() {
    // Goal: a fault whose window lies where no traffic flows reports affected = 0 and the
    // text report warns about it, so a lesson can never pass because a fault silently missed.
    let text = format!(
        "{}\n[[fault]]\nkind = \"slow\"\ntarget = \"svc\"\nat = \"101s\"\nfor = \"1s\"\nfactor = 10\n",
        CRASH
    );
    let r = run(&text, 2);
    assert_eq!(r.faults[1].affected, 0);
    let dir = scratch_dir("fault-missed");
    std::fs::write(dir.join("missed.toml"), &text).unwrap();
    let out = meshsim_in(&dir, &["run", "missed.toml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.to_lowercase().contains("warning"), "{stdout}");
}

/// A scenario with every fault kind active at once, and chaos.
pub const EVERY_FAULT: &str = r#"
[scenario]
name = "every-fault"
duration = "60s"
warmup = "2s"

[network]
latency = "exp(200us)"

[workload.shop]
endpoint = "gateway/buy"
rate = 300
timeout = "2s"
retries = 1
backoff = "20ms"
jitter = "full"

[service.gateway]
replicas = 2
workers = 32
health_check = "2s"
[service.gateway.endpoint.buy]
work = "exp(1ms)"
parallel = true
calls = [
  { to = "stock/check", timeout = "300ms", retries = 2, backoff = "10ms", jitter = "equal", retry_budget = 0.2 },
  { to = "price/quote", timeout = "300ms", breaker = { threshold = 0.5, window = 20, cooldown = "2s" }, bulkhead = 8, fallback = true },
]

[service.stock]
replicas = 3
workers = 8
queue = 32
lb = "p2c"
health_check = "1s"
[service.stock.endpoint.check]
work = "exp(2ms)"

[service.price]
replicas = 2
workers = 8
lb = "least-outstanding"
[service.price.endpoint.quote]
work = "lognormal(2ms, 20ms)"
fail = 0.01

[[fault]]
kind = "crash"
target = "stock#1"
at = "10s"
for = "5s"

[[fault]]
kind = "slow"
target = "price"
at = "20s"
for = "10s"
factor = 50

[[fault]]
kind = "error"
target = "stock"
at = "30s"
for = "5s"
rate = 0.3

[[fault]]
kind = "loss"
target = "gateway->stock"
at = "40s"
for = "5s"
rate = 0.2

[[fault]]
kind = "slow"
target = "gateway->price"
at = "45s"
for = "5s"
factor = 20

[[fault]]
kind = "partition"
groups = [["gateway"], ["price"]]
at = "50s"
for = "3s"

[[fault]]
kind = "partition"
from = ["stock"]
to = ["gateway"]
at = "54s"
for = "2s"

[chaos]
targets = ["gateway#1"]
mtbf = "20s"
mttr = "2s"
"#;

#[test]
fn every_fault_kind_at_once_is_deterministic_and_each_hits() {
    // Goal: same seed, same bytes, with every fault kind active (crash, slow, error, loss,
    // slow link, two-way and one-way partition, chaos); another seed differs; and every
    // fault reports having hit something.
    let dir = scratch_dir("every-fault");
    std::fs::write(dir.join("every.toml"), EVERY_FAULT).unwrap();
    let a = meshsim_in(&dir, &["run", "every.toml", "--json", "--seed", "5"]);
    let b = meshsim_in(&dir, &["run", "every.toml", "--json", "--seed", "5"]);
    let c = meshsim_in(&dir, &["run", "every.toml", "--json", "--seed", "6"]);
    assert!(
        matches!(a.status.code(), Some(0)),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    let r = run(EVERY_FAULT, 5);
    for f in &r.faults {
        assert!(f.affected > 0, "fault {} {} hit nothing", f.kind, f.target);
    }
    let w = &r.workloads[0];
    assert_eq!(
        w.sent,
        w.ok + w.degraded + w.failed.total() + w.in_flight,
        "conservation"
    );
}

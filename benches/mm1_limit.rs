//! The reference "limit" for meshsim's speed (issue 14, goal 1): the same M/M/1 as
//! `scenarios/mm1.toml`'s model class — λ = 800/s, exponential 1 ms service — as a bare,
//! hand-written event loop: a `BinaryHeap` of (time, kind) events, arrivals and departures,
//! ChaCha8 random numbers, exponential sampling by `rand_distr` (as meshsim samples), integer
//! nanosecond time and a running mean of the time in system. Nothing else: no links, no
//! timeouts, no histograms, no report. What it costs per customer is what any simulator of
//! this model must at least pay, so meshsim's cost is judged against it.
//!
//! Run: `cargo bench --bench mm1_limit -- [SIMULATED_SECONDS]` (default 2000, ~1.6 M
//! customers); `benches/instructions.sh --limit` counts its instructions per customer with
//! callgrind next to meshsim's. It prints the customers served and the mean time in system
//! beside M/M/1 theory, W = 1 / (μ − λ) = 5 ms, so a wrong loop cannot pass for a fast one.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

const LAMBDA_PER_S: f64 = 800.0;
const MU_PER_S: f64 = 1000.0;
const NS_PER_S: f64 = 1e9;

/// An event's kind, ordered after its time in the heap key (arrivals first at equal times).
const ARRIVAL: u8 = 0;
const DEPARTURE: u8 = 1;

/// What one run measured.
struct Outcome {
    customers: u64,
    events: u64,
    mean_s: f64,
}

fn simulate(seconds: f64, seed: u64) -> Outcome {
    let end_ns = (seconds * NS_PER_S) as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let inter = Exp::new(LAMBDA_PER_S).expect("positive rate");
    let service = Exp::new(MU_PER_S).expect("positive rate");
    let draw_ns = |d: &Exp<f64>, rng: &mut ChaCha8Rng| (d.sample(rng) * NS_PER_S) as u64;
    let mut heap = BinaryHeap::with_capacity(16);
    // Arrival times of the customers in the system, the one in service first.
    let mut waiting: VecDeque<u64> = VecDeque::with_capacity(1024);
    let (mut customers, mut events, mut mean_s) = (0u64, 0u64, 0.0f64);
    heap.push(Reverse((draw_ns(&inter, &mut rng), ARRIVAL)));
    while let Some(Reverse((now, kind))) = heap.pop() {
        if now >= end_ns {
            break;
        }
        events += 1;
        if kind == ARRIVAL {
            waiting.push_back(now);
            if waiting.len() == 1 {
                heap.push(Reverse((now + draw_ns(&service, &mut rng), DEPARTURE)));
            }
            heap.push(Reverse((now + draw_ns(&inter, &mut rng), ARRIVAL)));
        } else {
            let arrived = waiting.pop_front().expect("a departure has a customer");
            customers += 1;
            let sojourn_s = (now - arrived) as f64 / NS_PER_S;
            mean_s += (sojourn_s - mean_s) / customers as f64;
            if !waiting.is_empty() {
                heap.push(Reverse((now + draw_ns(&service, &mut rng), DEPARTURE)));
            }
        }
    }
    Outcome {
        customers,
        events,
        mean_s,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; the only argument of ours is the simulated seconds.
    let seconds = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(|a| a.parse::<f64>().expect("SIMULATED_SECONDS is a number"))
        .unwrap_or(2000.0);
    let out = simulate(seconds, 1);
    let theory_ms = 1e3 / (MU_PER_S - LAMBDA_PER_S);
    println!(
        "customers={} events={} mean_ms={:.3} theory_ms={theory_ms:.3}",
        out.customers,
        out.events,
        out.mean_s * 1e3
    );
}

//! The kernel alone: events/s for schedule + pop on the event queue, with the queue holding
//! a steady population of pending events (as a simulation with that much work in flight),
//! from 16 to a million pending — goal 4 of issue 14, "1 M in flight within 2x the per-event
//! cost of 1 k". Beside the kernel's queue (`std`'s `BinaryHeap` of (time, seq, event)), the
//! same loop on that binary heap bare and on the candidate it was weighed against: a 4-ary
//! heap with (time, seq) folded into one `u128` key, keys apart from the events
//! (docs/design-kernel.md has the figures and why the kernel kept the binary heap).
//!
//! `cargo bench --bench kernel` (criterion); `-- pending=1048576` for one size.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::RngExt;
use sim_core::kernel::EventQueue;
use sim_core::rng::stream;
use sim_core::time::SimDuration;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

const OPS: u64 = 1_000_000;

/// As large as the engine's `Event` (16 bytes), so entries weigh what they weigh in a run.
type Payload = [u32; 4];

/// Exponential delays with a mean that keeps `pending` events spread over a few seconds, as
/// pending work is in a simulation (the mean only scales times; the heap sees the order).
fn delays() -> Vec<SimDuration> {
    let mut rng = stream(1, "bench/kernel");
    (0..4096)
        .map(|_| SimDuration::from_nanos_f64(-1e6 * (1.0 - rng.random::<f64>()).ln()))
        .collect()
}

/// The 4-ary candidate (docs/design-kernel.md), as it was measured inside the kernel.
mod four_ary {
    /// Children per node.
    const ARITY: usize = 4;

    /// `time` in the high half, `seq` in the low: compares by time, then by insertion order.
    #[inline(always)]
    pub fn key(time: u64, seq: u64) -> u128 {
        (u128::from(time) << 64) | u128::from(seq)
    }

    /// The time half of a key.
    #[inline(always)]
    pub fn time_of(key: u128) -> u64 {
        (key >> 64) as u64
    }

    /// A min-heap of `(key, event)`, smallest key first.
    pub struct Heap<E> {
        keys: Vec<u128>,
        events: Vec<E>,
    }

    impl<E> Heap<E> {
        pub fn with_capacity(n: usize) -> Self {
            Heap {
                keys: Vec::with_capacity(n),
                events: Vec::with_capacity(n),
            }
        }

        #[inline(always)]
        pub fn len(&self) -> usize {
            self.keys.len()
        }

        /// Adds an entry: the hole climbs from the end while its parent's key is larger (a new
        /// event is usually later than most pending ones, so it rarely climbs far). Always
        /// inlined: out of line, the call's register saves cost a third of a push.
        #[inline(always)]
        pub fn push(&mut self, key: u128, event: E) {
            let mut hole = self.keys.len();
            self.keys.push(key);
            self.events.push(event);
            // Bound the slices once, so the loop indexes without checks.
            let keys = &mut self.keys[..=hole];
            let events = &mut self.events[..=hole];
            while hole > 0 {
                let parent = (hole - 1) / ARITY;
                if keys[parent] <= key {
                    break;
                }
                keys[hole] = keys[parent];
                events.swap(hole, parent);
                hole = parent;
            }
            keys[hole] = key;
        }

        /// Removes the entry of the smallest key: the last entry takes the root's place and
        /// sinks. Always inlined, as `push`.
        #[inline(always)]
        pub fn pop(&mut self) -> Option<(u128, E)> {
            let last_key = self.keys.pop()?;
            let last_event = self.events.pop().expect("keys and events have one length");
            if self.keys.is_empty() {
                return Some((last_key, last_event));
            }
            let top_key = self.keys[0];
            let top_event = std::mem::replace(&mut self.events[0], last_event);
            self.sink(last_key);
            Some((top_key, top_event))
        }

        /// Puts `key` at the root, whose event is already in place, and moves both down while a
        /// child's key is smaller: at each level the smallest of up to four children, in one
        /// cache line of keys.
        #[inline(always)]
        fn sink(&mut self, key: u128) {
            let n = self.keys.len();
            let keys = &mut self.keys[..n];
            let events = &mut self.events[..n];
            let mut hole = 0;
            loop {
                let first = hole * ARITY + 1;
                if first >= n {
                    break;
                }
                let end = (first + ARITY).min(n);
                let mut child = first;
                let mut child_key = keys[first];
                for (c, &k) in keys[first + 1..end].iter().enumerate() {
                    if k < child_key {
                        child = first + 1 + c;
                        child_key = k;
                    }
                }
                if child_key >= key {
                    break;
                }
                keys[hole] = child_key;
                events.swap(hole, child);
                hole = child;
            }
            keys[hole] = key;
        }
    }
}

/// The candidate pops what the kernel pops, in the same order (checked once, before timing:
/// a faster wrong heap would be no answer).
fn same_order_as_the_kernel(delays: &[SimDuration]) {
    let (mut q, mut h) = (EventQueue::new(), four_ary::Heap::with_capacity(0));
    let (mut now, mut seq) = (0u64, 0u64);
    for i in 0..200_000usize {
        let d = delays[i % delays.len()].0 % 1000;
        q.schedule(SimDuration(d), i);
        h.push(four_ary::key(now + d, seq), i);
        seq += 1;
        if i % 3 != 0 {
            let (t, e) = q.pop().expect("pending");
            let (k, f) = h.pop().expect("pending");
            assert_eq!((t.0, e), (four_ary::time_of(k), f));
            now = t.0;
        }
    }
}

fn hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(OPS));
    group.sample_size(10);
    let delays = delays();
    same_order_as_the_kernel(&delays);
    for pending in [16usize, 1024, 65_536, 1_048_576] {
        group.bench_function(format!("schedule+pop/pending={pending}"), |b| {
            // The classic "hold" model: pop the earliest event, schedule one at an
            // exponentially distributed distance, so the population stays constant.
            b.iter(|| {
                let mut q = EventQueue::new();
                for i in 0..pending {
                    q.schedule(delays[i % delays.len()], [i as u32; 4] as Payload);
                }
                for i in 0..OPS as usize {
                    let (_, e) = q.pop().expect("non-empty");
                    q.schedule(delays[i % delays.len()], black_box(e));
                }
                black_box(q.len())
            });
        });
        group.bench_function(format!("4-ary-u128-keys-apart/pending={pending}"), |b| {
            b.iter(|| {
                let mut q = four_ary::Heap::with_capacity(1024);
                let (mut now, mut seq) = (0u64, 0u64);
                for i in 0..pending {
                    q.push(
                        four_ary::key(delays[i % delays.len()].0, seq),
                        [i as u32; 4] as Payload,
                    );
                    seq += 1;
                }
                for i in 0..OPS as usize {
                    let (k, e) = q.pop().expect("non-empty");
                    now = four_ary::time_of(k);
                    q.push(
                        four_ary::key(now + delays[i % delays.len()].0, seq),
                        black_box(e),
                    );
                    seq += 1;
                }
                black_box((q.len(), now))
            });
        });
        group.bench_function(format!("std-binary-heap/pending={pending}"), |b| {
            // The same loop on the binary heap of (time, seq, event) the kernel replaced.
            b.iter(|| {
                let mut q = BinaryHeap::with_capacity(1024);
                let (mut now, mut seq) = (0u64, 0u64);
                for i in 0..pending {
                    q.push((
                        Reverse(delays[i % delays.len()].0),
                        Reverse(seq),
                        [i as u32; 4] as Payload,
                    ));
                    seq += 1;
                }
                for i in 0..OPS as usize {
                    let (Reverse(t), _, e) = q.pop().expect("non-empty");
                    now = t;
                    let at = now + delays[i % delays.len()].0;
                    q.push((Reverse(at), Reverse(seq), black_box(e)));
                    seq += 1;
                }
                black_box((q.len(), now))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);

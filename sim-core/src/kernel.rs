//! The event queue: one binary heap ordered by (time, insertion sequence).
//!
//! The sequence number is a counter of insertions, so events scheduled for the same instant
//! pop in the order they were scheduled: ties never depend on heap internals, and a run is a
//! pure function of its inputs. Events are plain values (an `enum` in the engine), not boxed
//! closures, so scheduling allocates nothing once the heap has grown to the work in flight.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::{SimDuration, SimTime};

struct Entry<E> {
    /// `time << 0` and `seq` folded into one key: compare time first, then sequence.
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, because `BinaryHeap` is a max-heap and we want the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .cmp(&self.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A future-event list with a simulated clock.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    now: SimTime,
    next_seq: u64,
    popped: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            now: SimTime::ZERO,
            next_seq: 0,
            popped: 0,
        }
    }

    /// The time of the event being handled (the last one popped).
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at absolute time `at`. Scheduling in the past is a programming
    /// error; it is clamped to `now` so time never runs backwards.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        debug_assert!(at >= self.now, "scheduled in the past");
        let time = at.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, seq, event });
    }

    /// Schedules `event` after `delay` from now.
    #[inline]
    pub fn schedule(&mut self, delay: SimDuration, event: E) {
        self.schedule_at(self.now + delay, event);
    }

    /// Removes the earliest event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let Entry { time, event, .. } = self.heap.pop()?;
        self.now = time;
        self.popped += 1;
        Some((time, event))
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// How many events have been handed out so far.
    pub fn popped(&self) -> u64 {
        self.popped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;
    use rand::RngExt;
    use std::collections::BTreeMap;

    #[test]
    fn pops_in_time_then_insertion_order_like_a_sorted_shadow() {
        // Goal: the heap agrees with a BTreeMap keyed (time, seq) over a long random
        // interleaving of pushes and pops, including many equal times.
        let mut rng = stream(42, "kernel-test");
        let mut q = EventQueue::new();
        let mut shadow = BTreeMap::new();
        let mut seq = 0u64;
        for _ in 0..100_000 {
            if rng.random_bool(0.55) {
                let at = q.now() + SimDuration(rng.random_range(0..20));
                q.schedule_at(at, seq);
                shadow.insert((at, seq), seq);
                seq += 1;
            } else {
                let got = q.pop();
                let want = shadow.pop_first().map(|((t, _), e)| (t, e));
                assert_eq!(got, want);
            }
        }
        while let Some(got) = q.pop() {
            let want = shadow.pop_first().map(|((t, _), e)| (t, e)).unwrap();
            assert_eq!(got, want);
        }
        assert!(shadow.is_empty());
    }
}

//! The event queue: one binary heap ordered by (time, insertion sequence).
//!
//! The sequence number is a counter of insertions, so events scheduled for the same instant
//! pop in the order they were scheduled: ties never depend on heap internals, and a run is a
//! pure function of its inputs. Events are plain values (an `enum` in the engine), not boxed
//! closures, so scheduling allocates nothing once the heap has grown to the work in flight.
//!
//! Timeouts go into *lanes* instead (see docs/design-timers.md): a FIFO per delay, whose
//! entries draw their sequence from the same counter. One delay per lane and a clock that never
//! goes back make each lane sorted by (time, seq), so its front is its smallest key; a tiny heap
//! of lane fronts (one entry per non-empty lane) and a comparison with the main heap's top give
//! the smallest pending key overall. Keys are unique and unchanged, so the order handed out is
//! exactly the single heap's, while a timeout costs a ring-buffer append and pop instead of a
//! push and pop in the big heap.

use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, VecDeque};

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

/// Events that all share one delay, in scheduling order — which is (time, seq) order, because
/// the delay is fixed and the clock never goes back.
struct Lane<E> {
    delay: SimDuration,
    queue: VecDeque<Entry<E>>,
}

/// A lane of events with one delay, made by [`EventQueue::timer_lane`] at model build so the
/// hot path reaches it by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerLane(u32);

/// A future-event list with a simulated clock.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    lanes: Vec<Lane<E>>,
    /// The front of each non-empty lane (its key; the event is the lane's index).
    heads: BinaryHeap<Entry<u32>>,
    /// Entries held in all lanes together, so `len` counts them at no scan.
    in_lanes: usize,
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
            lanes: Vec::new(),
            heads: BinaryHeap::new(),
            in_lanes: 0,
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

    /// A new lane for events all scheduled `delay` after their scheduling instant (the
    /// timeouts of call sites with that timeout). Made at model build, one per distinct delay:
    /// a lane must never mix delays, or it would no longer be sorted.
    pub fn timer_lane(&mut self, delay: SimDuration) -> TimerLane {
        let lane = TimerLane(u32::try_from(self.lanes.len()).expect("lanes fit in u32"));
        self.lanes.push(Lane {
            delay,
            queue: VecDeque::new(),
        });
        lane
    }

    /// Schedules `event` after the lane's delay from now, in the same (time, seq) order as
    /// [`EventQueue::schedule`] would: O(1), and no push into the main heap.
    #[inline]
    pub fn schedule_in_lane(&mut self, lane: TimerLane, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let l = &mut self.lanes[lane.0 as usize];
        let time = self.now + l.delay;
        if l.queue.is_empty() {
            self.heads.push(Entry {
                time,
                seq,
                event: lane.0,
            });
        }
        debug_assert!(l.queue.back().is_none_or(|b| b.time <= time));
        l.queue.push_back(Entry { time, seq, event });
        self.in_lanes += 1;
    }

    /// Whether the earliest pending event is a lane's front rather than the main heap's top.
    /// Keys are unique, so `<` decides every case: no tie rule of its own.
    #[inline]
    fn lane_first(&self) -> bool {
        match (self.heads.peek(), self.heap.peek()) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(l), Some(h)) => (l.time, l.seq) < (h.time, h.seq),
        }
    }

    /// Removes the earliest event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let Entry { time, event, .. } = if self.lane_first() {
            self.pop_lane()
        } else {
            self.heap.pop()?
        };
        self.now = time;
        self.popped += 1;
        Some((time, event))
    }

    /// Takes the front of the lane whose front is earliest, and puts the lane's next front
    /// (if any) in its place among the heads.
    fn pop_lane(&mut self) -> Entry<E> {
        let mut head = self.heads.peek_mut().expect("a lane is first");
        let lane = &mut self.lanes[head.event as usize];
        let entry = lane.queue.pop_front().expect("a head's lane is not empty");
        match lane.queue.front() {
            Some(next) => {
                head.time = next.time;
                head.seq = next.seq;
            }
            None => {
                PeekMut::pop(head);
            }
        }
        self.in_lanes -= 1;
        entry
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<SimTime> {
        let heap = self.heap.peek().map(|e| e.time);
        match self.heads.peek() {
            Some(l) => Some(heap.map_or(l.time, |h| h.min(l.time))),
            None => heap,
        }
    }

    /// Pending events, the lanes' with the heap's (so limits on pending work see timeouts).
    pub fn len(&self) -> usize {
        self.heap.len() + self.in_lanes
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    #[test]
    fn lanes_and_heap_pop_in_the_single_heaps_order_like_a_sorted_shadow() {
        // Goal: timeouts scheduled into lanes (one per delay, including delay 0 and delays
        // equal to other events' gaps, so equal times are common) come out interleaved with
        // heap events exactly in (time, seq) order, as if everything were in one heap; and
        // len/peek_time agree with the shadow all along.
        let mut rng = stream(7, "kernel-lanes-test");
        let mut q = EventQueue::new();
        let delays = [0u64, 3, 7, 7, 19];
        let lanes: Vec<_> = delays
            .iter()
            .map(|&d| q.timer_lane(SimDuration(d)))
            .collect();
        let mut shadow = BTreeMap::new();
        let mut seq = 0u64;
        for _ in 0..200_000 {
            let r = rng.random_range(0..100);
            if r < 30 {
                let at = q.now() + SimDuration(rng.random_range(0..20));
                q.schedule_at(at, seq);
                shadow.insert((at, seq), seq);
                seq += 1;
            } else if r < 55 {
                let k = rng.random_range(0..lanes.len());
                q.schedule_in_lane(lanes[k], seq);
                shadow.insert((q.now() + SimDuration(delays[k]), seq), seq);
                seq += 1;
            } else {
                let got = q.pop();
                let want = shadow.pop_first().map(|((t, _), e)| (t, e));
                assert_eq!(got, want);
            }
            assert_eq!(q.len(), shadow.len());
            assert_eq!(q.peek_time(), shadow.first_key_value().map(|(k, _)| k.0));
        }
        while let Some(got) = q.pop() {
            let want = shadow.pop_first().map(|((t, _), e)| (t, e)).unwrap();
            assert_eq!(got, want);
        }
        assert!(shadow.is_empty() && q.is_empty());
    }
}

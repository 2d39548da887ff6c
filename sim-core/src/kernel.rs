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

    /// Whether any lane was made. Decided at model build, so a run whose model has no
    /// timeouts takes [`EventQueue::pop_in`]`::<false>` and pays nothing for lanes.
    #[inline]
    pub fn has_lanes(&self) -> bool {
        !self.lanes.is_empty()
    }

    /// Removes the earliest event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_in::<true>()
    }

    /// [`EventQueue::pop`] for a queue whose lanes are known (`LANES`, from
    /// [`EventQueue::has_lanes`]): with `false` it is the main heap's pop alone, no look at the
    /// lanes' heads.
    #[inline(always)]
    pub fn pop_in<const LANES: bool>(&mut self) -> Option<(SimTime, E)> {
        debug_assert!(LANES || self.lanes.is_empty());
        let Entry { time, event, .. } = if LANES && self.lane_first() {
            self.pop_lane()
        } else {
            self.heap.pop()?
        };
        self.now = time;
        self.popped += 1;
        Some((time, event))
    }

    /// [`EventQueue::peek_time`], first dropping lane fronts that `drop` calls dead, for as
    /// long as one of them is the earliest pending event. `drop(time, popped, event)` is asked
    /// only about a lane front that is due first, with the number of events popped so far; a
    /// dropped one counts as popped and moves the clock exactly as if [`EventQueue::pop`] had
    /// handed it out and the caller had ignored it, so the popped count and every clock
    /// reading stay those of the plain loop. The caller's `drop` refuses any event at which
    /// something it checks between events (a limit, a progress report, an early end) could
    /// act, and it is asked nothing when the heap's top is first: an event from the heap pays
    /// only the comparison `peek_time` makes anyway.
    #[inline(always)]
    pub fn peek_time_dropping(
        &mut self,
        mut drop: impl FnMut(SimTime, u64, &E) -> bool,
    ) -> Option<SimTime> {
        loop {
            let heap = self.heap.peek();
            let Some(head) = self.heads.peek() else {
                return heap.map(|h| h.time);
            };
            if let Some(h) = heap
                && (h.time, h.seq) < (head.time, head.seq)
            {
                return Some(h.time);
            }
            let time = head.time;
            let front = &self.lanes[head.event as usize].queue[0];
            if !drop(time, self.popped, &front.event) {
                return Some(time);
            }
            self.pop_lane();
            self.now = time;
            self.popped += 1;
        }
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
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.peek_time_in::<true>()
    }

    /// [`EventQueue::peek_time`] for a queue whose lanes are known, as [`EventQueue::pop_in`].
    #[inline(always)]
    pub fn peek_time_in<const LANES: bool>(&self) -> Option<SimTime> {
        let heap = self.heap.peek().map(|e| e.time);
        if !LANES {
            return heap;
        }
        match self.heads.peek() {
            Some(l) => Some(heap.map_or(l.time, |h| h.min(l.time))),
            None => heap,
        }
    }

    /// Pending events, the lanes' with the heap's (so limits on pending work see timeouts).
    #[inline]
    pub fn len(&self) -> usize {
        self.len_in::<true>()
    }

    /// [`EventQueue::len`] for a queue whose lanes are known, as [`EventQueue::pop_in`].
    #[inline(always)]
    pub fn len_in<const LANES: bool>(&self) -> usize {
        if LANES {
            self.heap.len() + self.in_lanes
        } else {
            self.heap.len()
        }
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
    #[test]
    fn dropping_stale_lane_fronts_pops_what_pop_would_in_the_same_order() {
        // Goal: `peek_time_dropping` drops exactly a prefix of the (time, seq) order made of
        // lane fronts its `drop` accepts (cancelled, due before a bound, below a popped
        // count), is asked only about lane fronts that are due first, moves the clock and
        // the popped count as `pop` would, and returns the next pending time: every event
        // still comes out once, in the shadow's order, dropped or handed out.
        let mut rng = stream(11, "kernel-skip-test");
        let mut q = EventQueue::new();
        let delays = [0u64, 5, 5, 13];
        let lanes: Vec<_> = delays
            .iter()
            .map(|&d| q.timer_lane(SimDuration(d)))
            .collect();
        let mut shadow = BTreeMap::new();
        // Events are 4 seq + 1 in the heap, 4 seq + 3 (live) or 4 seq (cancelled) in lanes.
        let (mut seq, mut dropped_total) = (0u64, 0usize);
        for _ in 0..200_000 {
            let r = rng.random_range(0..100);
            if r < 25 {
                let at = q.now() + SimDuration(rng.random_range(0..20));
                q.schedule_at(at, 4 * seq + 1);
                shadow.insert((at, seq), 4 * seq + 1);
                seq += 1;
            } else if r < 55 {
                let k = rng.random_range(0..lanes.len());
                let e = 4 * seq + if rng.random_bool(0.5) { 0 } else { 3 };
                q.schedule_in_lane(lanes[k], e);
                shadow.insert((q.now() + SimDuration(delays[k]), seq), e);
                seq += 1;
            } else if r < 75 {
                let before = q.now() + SimDuration(rng.random_range(0..30));
                let stop_at = q.popped() + rng.random_range(0..8);
                let mut asked = Vec::new();
                let next = q.peek_time_dropping(|t, popped, e| {
                    let dead = t < before && popped < stop_at && e % 4 == 0;
                    asked.push((t, *e, dead));
                    dead
                });
                for &(t, e, dead) in &asked {
                    // Asked about lane fronts only, each the earliest pending event then.
                    let (&(want_t, _), &want_e) = shadow.first_key_value().expect("pending");
                    assert_eq!((t, e), (want_t, want_e));
                    assert_ne!(e % 4, 1, "asked about a heap event");
                    if dead {
                        shadow.pop_first();
                        dropped_total += 1;
                    }
                }
                if let Some(&(t, _, true)) = asked.last() {
                    assert_eq!(q.now(), t);
                }
                // It stops at the first one it may not drop, and says when that one is due.
                assert!(asked.iter().filter(|a| !a.2).count() <= 1);
                assert_eq!(next, shadow.first_key_value().map(|(k, _)| k.0));
            } else {
                let got = q.pop();
                let want = shadow.pop_first().map(|((t, _), e)| (t, e));
                assert_eq!(got, want);
            }
            assert_eq!(q.len(), shadow.len());
            assert_eq!(q.popped() + q.len() as u64, seq);
        }
        assert!(dropped_total > 5_000, "dropped {dropped_total}");
    }
}

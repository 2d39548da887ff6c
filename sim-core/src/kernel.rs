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
//!
//! The main heap's root is handed out in place and left *vacant* (see `EventQueue::vacant`):
//! the first event the handler then schedules that belongs above the bottom fills the root
//! with one sift down, so an event that schedules another (a request's hop, its work done,
//! M/M/1's next arrival) costs one sift instead of a pop and a push; one that would stay at a
//! new leaf is added there; only when nothing filled it is the root removed, at the next
//! peek. The heap is a correct min-heap whenever it is read, so the smallest key is still the
//! one handed out.

mod heap;

use std::collections::VecDeque;

use crate::time::{SimDuration, SimTime};
use heap::{Entry, MinHeap, key};

/// The front of each lane, as a tournament tree over the lanes: O(log lanes) per change and
/// O(1) to find the earliest, with a handful of lanes one or two integer comparisons.
///
/// `std`'s `BinaryHeap` of fronts cost ~97 instructions per lane pop (a sift through
/// `PeekMut`, the entry moved as a struct); here a front is one `u128` key (time, seq folded,
/// so a comparison is one integer comparison), and a change walks up from its leaf with no
/// moves of entries at all. Lanes are made at model build, so the tree's shape is fixed while
/// the run goes. An empty lane's key is `u128::MAX`, above every real key (a seq of 2^64 − 1
/// would need that many events).
struct Heads {
    /// Leaf `i` is lane `i`'s front key; padded with `u128::MAX` to a power of two, at least 2.
    key: Vec<u128>,
    /// `win[k]`, `k` in `1..key.len()`: the lane with the smallest key under node `k`, whose
    /// children are nodes `2k` and `2k + 1`, leaves from `key.len()` on (`win[0]` unused).
    win: Vec<u32>,
}

impl Heads {
    fn new() -> Self {
        let mut h = Heads {
            key: Vec::new(),
            win: Vec::new(),
        };
        h.resize(0);
        h
    }

    /// Room for `lanes` leaves, every lane empty (lanes are made before any is used).
    fn resize(&mut self, lanes: usize) {
        let leaves = lanes.next_power_of_two().max(2);
        self.key = vec![u128::MAX; leaves];
        self.win = vec![0; leaves];
        for k in (1..leaves).rev() {
            self.win[k] = self.winner(k);
        }
    }

    /// The lane with the smallest key under node `k`, from its children.
    #[inline(always)]
    fn winner(&self, k: usize) -> u32 {
        let leaves = self.key.len();
        let (a, b) = if 2 * k >= leaves {
            ((2 * k - leaves) as u32, (2 * k + 1 - leaves) as u32)
        } else {
            (self.win[2 * k], self.win[2 * k + 1])
        };
        if self.key[a as usize] <= self.key[b as usize] {
            a
        } else {
            b
        }
    }

    /// The lane whose front is earliest (any lane when all are empty).
    #[inline(always)]
    fn first(&self) -> u32 {
        self.win[1]
    }

    /// The earliest front's key (`u128::MAX` when every lane is empty).
    #[inline(always)]
    fn first_key(&self) -> u128 {
        self.key[self.win[1] as usize]
    }

    /// Lane `lane`'s front is now `key` (`u128::MAX`: the lane is empty).
    #[inline(always)]
    fn set(&mut self, lane: u32, key: u128) {
        self.key[lane as usize] = key;
        let mut k = (self.key.len() + lane as usize) / 2;
        while k >= 1 {
            self.win[k] = self.winner(k);
            k /= 2;
        }
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

/// The earliest pending event as the run loop peeked it: its time, and where it waits, so
/// [`EventQueue::pop_next`] takes it without comparing the heap's top with the lanes' again.
/// Valid until the queue is next changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Next {
    pub time: SimTime,
    lane: bool,
}

impl Next {
    /// The event with key `key`, in a lane or not.
    #[inline(always)]
    fn at(key: u128, lane: bool) -> Self {
        Next {
            time: SimTime((key >> 64) as u64),
            lane,
        }
    }
}

/// A future-event list with a simulated clock.
pub struct EventQueue<E> {
    heap: MinHeap<E>,
    /// The heap's root was handed out and is not yet replaced: the next entry scheduled takes
    /// its place ([`MinHeap::fill_root`], one sift for that pop and push) unless it would stay
    /// at a new leaf (then it is added there and the root stays vacant), or the next peek
    /// removes it ([`MinHeap::remove_root`], the pop's sift, when nothing filled it).
    /// Invariant: while `true` the heap is not empty, its root counts as absent and the rest
    /// is a min-heap below it; nothing reads the heap before the flag is cleared. A push
    /// meanwhile never climbs into the root: the handed-out key there is below every pending
    /// key (it was the smallest, and a new entry has a time no earlier and a larger seq).
    vacant: bool,
    lanes: Vec<Lane<E>>,
    /// The front of each lane, the earliest found in O(1) (`u128::MAX` when all are empty,
    /// so no count of lane entries is kept to tell).
    heads: Heads,
    now: SimTime,
    next_seq: u64,
    popped: u64,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            vacant: false,
            heap: MinHeap::with_capacity(1024),
            lanes: Vec::new(),
            heads: Heads::new(),
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
    #[inline(always)]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        debug_assert!(at >= self.now, "scheduled in the past");
        let time = at.max(self.now);
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry { time, seq, event };
        if self.vacant {
            self.vacant = !self.heap.fill_root(entry);
        } else {
            self.heap.push(entry);
        }
    }

    /// Removes the heap's vacant root, if any, so the heap can be read: the handler of the
    /// event handed out scheduled nothing in its place.
    #[inline(always)]
    fn settle(&mut self) {
        if self.vacant {
            self.vacant = false;
            self.heap.remove_root();
        }
    }

    /// The main heap's earliest entry (the heap settled).
    #[inline(always)]
    fn main_first(&self) -> Option<&Entry<E>> {
        debug_assert!(!self.vacant);
        self.heap.peek()
    }

    /// Hands out the main heap's root's event, leaving the root vacant (the heap settled,
    /// not empty; its time is the peeked one).
    #[inline(always)]
    fn pop_main(&mut self) -> E {
        debug_assert!(!self.vacant);
        self.vacant = true;
        self.heap.peek().expect("a peeked event is pending").event
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
        self.heads.resize(self.lanes.len());
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
            self.heads.set(lane.0, key(time, seq));
        }
        debug_assert!(l.queue.back().is_none_or(|b| b.time <= time));
        l.queue.push_back(Entry { time, seq, event });
    }

    /// Whether any lane was made. Decided at model build, so a run whose model has no
    /// timeouts takes [`EventQueue::peek_in`]`::<false>` and [`EventQueue::pop_next`]`::<false>`
    /// and pays nothing for lanes.
    #[inline]
    pub fn has_lanes(&self) -> bool {
        !self.lanes.is_empty()
    }

    /// Removes the earliest event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let next = self.peek_in::<true>()?;
        Some((next.time, self.pop_next::<true>(next)))
    }

    /// [`EventQueue::peek_in`], first dropping lane fronts that `drop` calls dead, for as
    /// long as one of them is the earliest pending event. `drop(time, popped, event)` is asked
    /// only about a lane front that is due first, with the number of events popped so far; a
    /// dropped one counts as popped and moves the clock exactly as if [`EventQueue::pop`] had
    /// handed it out and the caller had ignored it, so the popped count and every clock
    /// reading stay those of the plain loop. The caller's `drop` refuses any event at which
    /// something it checks between events (a limit, a progress report, an early end) could
    /// act, and it is asked nothing when the heap's top is first: an event from the heap pays
    /// only the comparison `peek_time` makes anyway.
    /// The answer says where that event waits, for [`EventQueue::pop_next`].
    #[inline(always)]
    pub fn peek_dropping(
        &mut self,
        mut drop: impl FnMut(SimTime, u64, &E) -> bool,
    ) -> Option<Next> {
        self.settle();
        loop {
            let main = self.heap.first_key();
            let lanes = self.heads.first_key();
            // Keys are unique, so `<` decides every case (no tie rule of its own); both
            // `u128::MAX` means nothing is pending.
            if main < lanes {
                return Some(Next::at(main, false));
            }
            if lanes == u128::MAX {
                return None;
            }
            let front = &self.lanes[self.heads.first() as usize].queue[0];
            let time = front.time;
            if !drop(time, self.popped, &front.event) {
                return Some(Next { time, lane: true });
            }
            self.pop_lane();
            self.now = time;
            self.popped += 1;
        }
    }

    /// Takes the front of the lane whose front is earliest, and puts the lane's next front
    /// (if any) in its place among the heads.
    #[inline(always)]
    fn pop_lane(&mut self) -> Entry<E> {
        let first = self.heads.first();
        let lane = &mut self.lanes[first as usize];
        let entry = lane.queue.pop_front().expect("the first lane is not empty");
        let next = lane.queue.front().map_or(u128::MAX, Entry::key);
        self.heads.set(first, next);
        entry
    }

    /// The time of the earliest pending event.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.peek_in::<true>().map(|n| n.time)
    }

    /// The earliest pending event's time and place, for [`EventQueue::pop_next`]. `LANES` is
    /// [`EventQueue::has_lanes`]: with `false` only the main heap is looked at.
    #[inline(always)]
    pub fn peek_in<const LANES: bool>(&mut self) -> Option<Next> {
        self.settle();
        if !LANES {
            return self.main_first().map(|h| Next {
                time: h.time,
                lane: false,
            });
        }
        // As in `peek_dropping`: the smaller key is first, `u128::MAX` is nothing pending.
        let (main, lanes) = (self.heap.first_key(), self.heads.first_key());
        let first = main.min(lanes);
        (first != u128::MAX).then(|| Next::at(first, lanes < main))
    }

    /// Removes the event `next` (from [`EventQueue::peek_in`] or [`EventQueue::peek_dropping`],
    /// the queue unchanged since) and advances the clock to its time: the same event
    /// [`EventQueue::pop`] would take, without deciding again between heap and lanes.
    #[inline(always)]
    pub fn pop_next<const LANES: bool>(&mut self, next: Next) -> E {
        debug_assert_eq!(Some(next), self.peek_in::<true>());
        let event = if LANES && next.lane {
            self.pop_lane().event
        } else {
            self.pop_main()
        };
        self.now = next.time;
        self.popped += 1;
        event
    }

    /// Pending events, the lanes' with the main queue's (so limits on pending work see
    /// timeouts). Every event scheduled took a seq and every one handed out (or dropped)
    /// counted as popped, and none leaves any other way: the difference is what is pending,
    /// wherever it waits, with no count kept per structure.
    #[inline(always)]
    pub fn len(&self) -> usize {
        (self.next_seq - self.popped) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many events have been handed out so far, or dropped as stale timeouts (which
    /// `len` relies on: every scheduled event is pending, handed out or dropped).
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
        // interleaving of pushes and pops, including many equal times; the peek of the loop
        // without lanes answers as the full peek, down to nothing pending.
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
                // Without lanes, the loop of a model without timeouts peeks the heap alone.
                assert_eq!(q.peek_in::<false>(), q.peek_in::<true>());
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
        assert_eq!(q.peek_in::<false>(), None);
    }

    #[test]
    fn the_vacant_root_pops_like_a_sorted_shadow_when_each_event_schedules_the_next() {
        // Goal: the vacant root (a popped root filled by the next entry scheduled, or removed
        // at the next peek) never changes the order, in the pattern it is made for — each pop
        // schedules none, one or two events, often the next one due, often at the same
        // instant as now or as another pending event (ties decided by seq), sometimes behind
        // all the rest — and len counts every pending entry all along.
        let mut rng = stream(5, "kernel-front-test");
        let mut q = EventQueue::new();
        let mut shadow = BTreeMap::new();
        let mut seq = 0u64;
        for _ in 0..3 {
            q.schedule_at(SimTime(0), seq);
            shadow.insert((SimTime(0), seq), seq);
            seq += 1;
        }
        for _ in 0..100_000 {
            let got = q.pop();
            assert_eq!(got, shadow.pop_first().map(|((t, _), e)| (t, e)));
            for _ in 0..rng.random_range(0..=2) {
                // Mostly tiny gaps (the next event due), sometimes far (behind the rest).
                let gap = if rng.random_bool(0.8) {
                    rng.random_range(0..3)
                } else {
                    rng.random_range(0..50)
                };
                let at = q.now() + SimDuration(gap);
                q.schedule_at(at, seq);
                shadow.insert((at, seq), seq);
                seq += 1;
            }
            if shadow.is_empty() {
                q.schedule_at(q.now(), seq);
                shadow.insert((q.now(), seq), seq);
                seq += 1;
            }
            assert_eq!(q.len(), shadow.len());
            assert_eq!(q.peek_time(), shadow.first_key_value().map(|(k, _)| k.0));
        }
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
    fn any_number_of_lanes_pops_like_a_sorted_shadow() {
        // Goal: the tree of lane fronts finds the earliest front for every lane count, powers
        // of two and not (1 lane pads to 2 leaves, 3 to 4, 9 to 16), with lanes emptying and
        // refilling all the time; heap events interleaved.
        for lanes_n in 1..=9u64 {
            let mut rng = stream(lanes_n, "kernel-lane-count-test");
            let mut q = EventQueue::new();
            let delays: Vec<u64> = (0..lanes_n).map(|i| (i * 7) % 11).collect();
            let lanes: Vec<_> = delays
                .iter()
                .map(|&d| q.timer_lane(SimDuration(d)))
                .collect();
            let mut shadow = BTreeMap::new();
            for seq in 0..20_000u64 {
                if rng.random_bool(0.2) {
                    let at = q.now() + SimDuration(rng.random_range(0..12));
                    q.schedule_at(at, seq);
                    shadow.insert((at, seq), seq);
                } else if rng.random_bool(0.5) {
                    let k = rng.random_range(0..lanes.len());
                    q.schedule_in_lane(lanes[k], seq);
                    shadow.insert((q.now() + SimDuration(delays[k]), seq), seq);
                }
                while rng.random_bool(0.45) {
                    assert_eq!(q.peek_time(), shadow.first_key_value().map(|(k, _)| k.0));
                    let want = shadow.pop_first().map(|((t, _), e)| (t, e));
                    assert_eq!(q.pop(), want, "{lanes_n} lanes");
                }
            }
            while let Some(got) = q.pop() {
                assert_eq!(Some(got), shadow.pop_first().map(|((t, _), e)| (t, e)));
            }
            assert!(shadow.is_empty() && q.is_empty());
        }
    }

    #[test]
    fn dropping_stale_lane_fronts_pops_what_pop_would_in_the_same_order() {
        // Goal: `peek_dropping` drops exactly a prefix of the (time, seq) order made of
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
                let next = q
                    .peek_dropping(|t, popped, e| {
                        let dead = t < before && popped < stop_at && e % 4 == 0;
                        asked.push((t, *e, dead));
                        dead
                    })
                    .map(|n| n.time);
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

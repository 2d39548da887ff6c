//! The main queue's binary min-heap, written for the kernel's entries instead of `std`'s
//! `BinaryHeap` (docs/design-kernel.md, "A heap of its own"): entries are `Copy`, so a sift
//! moves one entry per level into a hole with plain assignments (no `Hole` guard, no swap
//! of the popped entry through the root, no `Option` wrapping an entry that is then moved
//! again), and a level's comparison is one `u128` key comparison. Keys are unique (seq is an
//! insertion counter), so any correct min-heap hands out the same order: this one cannot
//! change a byte of output, only what a pop costs.

use crate::time::SimTime;

/// The size above which [`MinHeap::fill_root`] leaves an entry that belongs at the bottom at
/// a new leaf: 256 entries, 8 levels (checkout-sync's heap and the 1,000-service DAG's,
/// ~140, stay below; 1 k requests in flight and more above).
const LEAF_FROM: usize = 256;

/// The size above which [`MinHeap::remove_root`] sinks its hole two levels a step
/// ([`MinHeap::remove_deep_root`]): 16,384 entries of 32 bytes, 512 KiB, past what a core's
/// own caches hold (1 k requests in flight stay below, 1 M go far above).
const DEEP_FROM: usize = 1 << 14;

/// One pending event and its key.
#[derive(Clone, Copy)]
pub(super) struct Entry<E> {
    /// Compared with `seq` as one key ([`Entry::key`]): time first, then sequence.
    pub(super) time: SimTime,
    pub(super) seq: u64,
    pub(super) event: E,
}

impl<E> Entry<E> {
    /// (time, seq) as one integer: time-then-seq order is the integer order.
    #[inline(always)]
    pub(super) fn key(&self) -> u128 {
        key(self.time, self.seq)
    }
}

#[inline(always)]
pub(super) fn key(time: SimTime, seq: u64) -> u128 {
    (u128::from(time.0) << 64) | u128::from(seq)
}

/// A binary min-heap by [`Entry::key`]: node `i`'s children are `2i + 1` and `2i + 2`.
pub(super) struct MinHeap<E> {
    data: Vec<Entry<E>>,
}

impl<E: Copy> MinHeap<E> {
    pub(super) fn with_capacity(n: usize) -> Self {
        MinHeap {
            data: Vec::with_capacity(n),
        }
    }

    #[inline(always)]
    pub(super) fn peek(&self) -> Option<&Entry<E>> {
        self.data.first()
    }

    /// The root's key, `u128::MAX` (above every real key) when the heap is empty.
    #[inline(always)]
    pub(super) fn first_key(&self) -> u128 {
        self.data.first().map_or(u128::MAX, Entry::key)
    }

    /// Adds `entry`: a hole climbs from the new leaf while the parent's key is larger. Out of
    /// line: `EventQueue::schedule_at` is inlined into every handler that schedules, and most
    /// of its calls fill the vacant root instead ([`MinHeap::fill_root`]).
    #[inline(never)]
    pub(super) fn push(&mut self, entry: Entry<E>) {
        let hole = self.data.len();
        self.data.push(entry);
        sift_up(&mut self.data, hole, entry);
    }

    /// Removes the entry with the smallest key (tests; the queue hands out the root with
    /// [`MinHeap::peek`] and then fills or removes it, see `EventQueue::vacant`).
    #[cfg(test)]
    pub(super) fn pop(&mut self) -> Option<Entry<E>> {
        let top = *self.data.first()?;
        self.remove_root();
        Some(top)
    }

    /// Removes the root, already handed out (the heap is not empty). Bottom-up, as `std`'s
    /// pop: the hole at the root sinks along the smaller children to a leaf (one comparison
    /// a level), then the last entry climbs back from there (a step or two: it came from the
    /// bottom).
    #[inline(always)]
    pub(super) fn remove_root(&mut self) {
        if self.data.len() > DEEP_FROM {
            return self.remove_deep_root();
        }
        let Some(last) = self.data.pop() else {
            return;
        };
        let data = &mut self.data[..];
        let end = data.len();
        if end == 0 {
            return;
        }
        sink_to_leaf(data, 0, last);
    }

    /// [`MinHeap::remove_root`] in a heap of more than [`DEEP_FROM`] entries: the same path
    /// (the smaller child, then its smaller child), but each step sinks the hole two levels
    /// and reads the two children's and the four grandchildren's keys before choosing. In a
    /// heap far larger than the caches a level is a likely miss, and one level a step waits
    /// for each miss before it knows the next address, where this asks for two levels' lines
    /// at once (the four grandchildren are adjacent), for one comparison more every two
    /// levels. Out of line, so the small heaps of most models pay only the size test.
    #[inline(never)]
    fn remove_deep_root(&mut self) {
        let last = self.data.pop().expect("a big heap");
        let data = &mut self.data[..];
        let end = data.len();
        let mut hole = 0;
        while 4 * hole + 6 < end {
            let kid = 2 * hole + 1;
            let kids = &data[kid..kid + 2];
            let right = kids[1].key() < kids[0].key();
            // Both pairs compared, so all four keys are read before `right` is known.
            let grand = &data[2 * kid + 1..2 * kid + 5];
            let pairs = (
                grand[1].key() < grand[0].key(),
                grand[3].key() < grand[2].key(),
            );
            let child = kid + usize::from(right);
            let grandchild = 2 * child + 1 + usize::from(if right { pairs.1 } else { pairs.0 });
            data[hole] = data[child];
            data[child] = data[grandchild];
            hole = grandchild;
        }
        // The last level or two, one a step.
        sink_to_leaf(data, hole, last);
    }

    /// Puts `entry` in place of the root, already handed out (the heap is not empty), and
    /// says so; or, for an entry that would stay at a new leaf, adds it there and answers
    /// `false` (the root still vacant, for a later entry or the next peek's removal).
    ///
    /// Filling is the pop of one event and the push of the one it schedules as a single
    /// sift: top-down with an early stop, as most new entries are due soon (a hop, a work
    /// done) and stop a level or two down — the one due next at once, after one comparison of
    /// the children and one with the smaller. In a heap of more than [`LEAF_FROM`] entries,
    /// an entry later than a new leaf's parent (a work done 100 s away among a million
    /// shorter ones) would sink through every level, two comparisons each through memory
    /// the caches no longer hold, so it stays at that leaf after one comparison, as a push
    /// would leave it. In a smaller heap the fill goes on: a leaf there costs a removal of
    /// the root later, which measured dearer than the few levels of the fill.
    #[inline(never)]
    pub(super) fn fill_root(&mut self, entry: Entry<E>) -> bool {
        let end = self.data.len();
        let key = entry.key();
        // The parent of the leaf at `end` (never the vacant root, in a heap this size).
        if end > LEAF_FROM && self.data[(end - 1) / 2].key() < key {
            self.data.push(entry);
            return false;
        }
        let data = &mut self.data[..];
        let mut hole = 0;
        let mut child = 1;
        while child < end {
            if child + 1 < end && data[child + 1].key() < data[child].key() {
                child += 1;
            }
            if key < data[child].key() {
                break;
            }
            data[hole] = data[child];
            hole = child;
            child = 2 * hole + 1;
        }
        data[hole] = entry;
        true
    }
}

/// Sinks the hole at `hole` along the smaller children to a leaf (one comparison a level),
/// then puts `last` there or, climbing, above (the end of a removal of the root).
#[inline(always)]
fn sink_to_leaf<E: Copy>(data: &mut [Entry<E>], mut hole: usize, last: Entry<E>) {
    let end = data.len();
    let mut child = 2 * hole + 1;
    while child + 1 < end {
        child += usize::from(data[child + 1].key() < data[child].key());
        data[hole] = data[child];
        hole = child;
        child = 2 * hole + 1;
    }
    if child + 1 == end {
        data[hole] = data[child];
        hole = child;
    }
    sift_up(data, hole, last);
}

/// Puts `entry` in the hole at `hole` or above: the hole climbs while its parent's key is
/// larger (keys are unique: never equal).
#[inline(always)]
fn sift_up<E: Copy>(data: &mut [Entry<E>], mut hole: usize, entry: Entry<E>) {
    let key = entry.key();
    while hole > 0 {
        let parent = (hole - 1) / 2;
        if data[parent].key() < key {
            break;
        }
        data[hole] = data[parent];
        hole = parent;
    }
    data[hole] = entry;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;
    use rand::RngExt;
    use std::collections::BTreeSet;

    #[test]
    fn pops_every_key_in_order_as_it_grows_to_many_thousands_and_back() {
        // Goal: the heap alone (no vacant root in the way) pops the smallest key each time,
        // through sizes from 0 to ~50 k (deep trees, both a two-child and a one-child last
        // parent; past `DEEP_FROM`, so the removal two levels a step is checked too) and with
        // few distinct times, so the order rests on seq in most comparisons.
        let mut rng = stream(3, "kernel-heap-test");
        let mut h = MinHeap::with_capacity(0);
        let mut shadow = std::collections::BTreeSet::new();
        let (mut seq, mut deep_pops) = (0u64, 0);
        for round in 0..4 {
            let grow = if round % 2 == 0 { 0.9 } else { 0.2 };
            for _ in 0..60_000 {
                if rng.random_bool(grow) {
                    let time = SimTime(rng.random_range(0..8));
                    h.push(Entry {
                        time,
                        seq,
                        event: seq,
                    });
                    shadow.insert((time, seq));
                    seq += 1;
                } else {
                    deep_pops += usize::from(shadow.len() > DEEP_FROM);
                    let got = h.pop().map(|e| (e.time, e.event));
                    assert_eq!(got, shadow.pop_first());
                }
                assert_eq!(h.peek().map(|e| (e.time, e.seq)), shadow.first().copied());
            }
        }
        assert!(deep_pops > 10_000, "{deep_pops} pops two levels a step");
        while let Some(e) = h.pop() {
            assert_eq!(Some((e.time, e.event)), shadow.pop_first());
        }
        assert!(shadow.is_empty());
    }

    #[test]
    fn filling_the_handed_out_root_pops_every_key_in_order() {
        // Goal: `fill_root` (the root handed out, a new entry sifted down in its place) keeps
        // a min-heap, whether the new entry is the smallest (stops at once), the largest (sinks
        // to a leaf, through two-child and one-child parents) or anything between, with few
        // distinct times so seq decides most comparisons; an entry it leaves at a new leaf
        // (a heap past `LEAF_FROM`, the entry later than the leaf's parent) with the root
        // still vacant, then removed, keeps one too; and so does `remove_root` after a
        // handed-out root (nothing scheduled in its place). Sizes grow to ~8 k and back.
        let mut rng = stream(4, "kernel-heap-fill-test");
        let mut h = MinHeap::with_capacity(0);
        let mut shadow = BTreeSet::new();
        let (mut seq, mut now) = (0u64, 0u64);
        // One new entry, due at most 7 ns after the last one handed out: into the root's
        // place (`fill`) or pushed.
        let push = |h: &mut MinHeap<u64>, shadow: &mut BTreeSet<_>, seq: &mut u64, time, fill| {
            let entry = Entry {
                time,
                seq: *seq,
                event: *seq,
            };
            // A fill that leaves the root vacant added the entry at a leaf: remove the root.
            let at_leaf = fill && !h.fill_root(entry);
            if at_leaf {
                h.remove_root();
            } else if !fill {
                h.push(entry);
            }
            shadow.insert((time, *seq));
            *seq += 1;
            usize::from(at_leaf)
        };
        let mut at_leaves = 0;
        for round in 0..4 {
            for _ in 0..40_000 {
                let Some(&top) = h.peek() else {
                    let time = SimTime(now + rng.random_range(0..8));
                    push(&mut h, &mut shadow, &mut seq, time, false);
                    continue;
                };
                // Hand out the root; the shadow's first is the same key.
                assert_eq!(Some((top.time, top.seq)), shadow.pop_first());
                now = top.time.0;
                let r = rng.random_range(0..10);
                // Even rounds grow (by 0.2 a step), odd ones shrink (by 0.2).
                if r < 1 + 4 * (round % 2) {
                    h.remove_root();
                } else {
                    let time = SimTime(now + rng.random_range(0..8));
                    at_leaves += push(&mut h, &mut shadow, &mut seq, time, true);
                    if r >= 7 {
                        let time = SimTime(now + rng.random_range(0..8));
                        push(&mut h, &mut shadow, &mut seq, time, false);
                    }
                }
                assert_eq!(h.peek().map(|e| (e.time, e.seq)), shadow.first().copied());
            }
        }
        assert!(seq > 60_000, "{seq} entries");
        // Fills in a heap past `LEAF_FROM` left many entries at a leaf, root still vacant.
        assert!(at_leaves > 1_000, "{at_leaves} left at a leaf");
        while let Some(e) = h.pop() {
            assert_eq!(Some((e.time, e.event)), shadow.pop_first());
        }
        assert!(shadow.is_empty());
    }
}

//! A replica's accept queue: job handles first in, first out, in a ring whose push and pop
//! are inlined. (`VecDeque::push_back` stayed a call of its own, ~25 instructions per
//! queued request, most of an M/M/1 customer's at 80% load.)

use crate::engine::slab::Handle;

/// A ring of handles: `len` of them from `head` on, wrapping at the ring's length, which is
/// 0 or a power of two. 32 bytes, as the `VecDeque` it replaced (`REPLICA_BYTES`).
pub(super) struct Fifo {
    ring: Vec<Handle>,
    head: u32,
    len: u32,
}

// A replica's size (`REPLICA_BYTES`) is in the memory estimate that `explain` prints, which
// stayed the same when this replaced a `VecDeque` of 32 bytes: a change must be a decision.
const _: () = assert!(std::mem::size_of::<Fifo>() == 32);

impl Fifo {
    pub(super) fn new() -> Fifo {
        Fifo {
            ring: Vec::new(),
            head: 0,
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    #[inline(always)]
    pub(super) fn push_back(&mut self, h: Handle) {
        if self.len as usize == self.ring.len() {
            self.grow();
        }
        let mask = self.ring.len() - 1;
        self.ring[(self.head as usize + self.len as usize) & mask] = h;
        self.len += 1;
    }

    #[inline(always)]
    pub(super) fn pop_front(&mut self) -> Option<Handle> {
        if self.len == 0 {
            return None;
        }
        let h = self.ring[self.head as usize];
        self.head = ((self.head as usize + 1) & (self.ring.len() - 1)) as u32;
        self.len -= 1;
        Some(h)
    }

    pub(super) fn front(&self) -> Option<Handle> {
        (self.len > 0).then(|| self.ring[self.head as usize])
    }

    pub(super) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Doubles the ring (at least 4), its handles moved to the front in queue order.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let cap = (self.ring.len() * 2).max(4);
        let mask = self.ring.len().wrapping_sub(1);
        let mut ring = Vec::with_capacity(cap);
        ring.extend((0..self.len as usize).map(|k| self.ring[(self.head as usize + k) & mask]));
        ring.resize(cap, Handle::NONE);
        self.ring = ring;
        self.head = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    // Goal: the ring hands out what a `VecDeque` hands out, op for op, through growth with
    // its head anywhere in the ring, runs of pops to empty, and clears.
    #[test]
    fn the_ring_is_a_fifo() {
        let mut ring = Fifo::new();
        let mut deque = VecDeque::new();
        let mut x: u64 = 14;
        for k in 0..20_000u32 {
            // A fixed pseudo-random walk: pushes a little more often than pops.
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let h = Handle {
                index: k,
                generation: (x >> 40) as u32,
            };
            match x >> 61 {
                0..=3 => {
                    ring.push_back(h);
                    deque.push_back(h);
                }
                4..=6 => assert_eq!(ring.pop_front(), deque.pop_front(), "op {k}"),
                _ if k % 1_000 == 7 => {
                    ring.clear();
                    deque.clear();
                }
                _ => {}
            }
            assert_eq!(ring.len(), deque.len(), "op {k}");
            assert_eq!(ring.front(), deque.front().copied(), "op {k}");
        }
        assert!(deque.len() > 100, "the queue grew past several doublings");
        while let Some(h) = deque.pop_front() {
            assert_eq!(ring.pop_front(), Some(h));
        }
        assert_eq!(ring.pop_front(), None);
    }
}

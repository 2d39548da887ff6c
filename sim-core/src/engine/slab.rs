//! A slab of reusable slots addressed by generation-checked handles.
//!
//! Requests, jobs and pending calls live here while they are in flight. A freed slot is
//! reused, so memory follows work in flight, not work done; and a handle carries the slot's
//! generation, so an event about something that has since finished (a timeout racing a reply,
//! a reply for a caller that gave up) finds a newer generation and is ignored.

/// A reference to a slot at one generation.
#[derive(Clone, Copy, Debug, Eq)]
pub struct Handle {
    pub index: u32,
    pub generation: u32,
}

/// Equal when both fields are: compared as one 64-bit word (the derived comparison tested
/// the two fields one after the other, two tests and branches per `Handle::NONE` check).
impl PartialEq for Handle {
    #[inline(always)]
    fn eq(&self, other: &Handle) -> bool {
        self.key() == other.key()
    }
}

impl Handle {
    /// Refers to nothing: every lookup with it fails.
    pub const NONE: Handle = Handle {
        index: u32::MAX,
        generation: u32::MAX,
    };

    /// Both fields in one word, for `eq`.
    #[inline(always)]
    fn key(self) -> u64 {
        u64::from(self.generation) << 32 | u64::from(self.index)
    }
}

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: u32,
}

impl<T> Slab<T> {
    pub fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// Stores `value` and returns its handle: in the slot freed last, else a new one. The
    /// slot is found first and the value written once, there: written on two paths, it was
    /// built on the stack and copied (~17 instructions per record).
    #[inline]
    pub fn insert(&mut self, value: T) -> Handle {
        self.live += 1;
        let index = match self.free.pop() {
            Some(index) => index,
            None => self.new_slot(),
        };
        let slot = &mut self.slots[index as usize];
        slot.value = Some(value);
        Handle {
            index,
            generation: slot.generation,
        }
    }

    /// A new empty slot at the end, of generation 0; its index.
    #[cold]
    #[inline(never)]
    fn new_slot(&mut self) -> u32 {
        self.slots.push(Slot {
            generation: 0,
            value: None,
        });
        self.slots.len() as u32 - 1
    }

    /// The value behind `h`, if it is still the same generation.
    #[inline]
    pub fn get(&self, h: Handle) -> Option<&T> {
        let slot = self.slots.get(h.index as usize)?;
        if slot.generation == h.generation {
            slot.value.as_ref()
        } else {
            None
        }
    }

    #[inline]
    pub fn get_mut(&mut self, h: Handle) -> Option<&mut T> {
        let slot = self.slots.get_mut(h.index as usize)?;
        if slot.generation == h.generation {
            slot.value.as_mut()
        } else {
            None
        }
    }

    /// Gives the value behind `h` a new generation: events holding `h` (say, the reply or
    /// timeout of an earlier attempt) now find nothing, while the value lives on under the
    /// returned handle.
    #[inline]
    pub fn renew(&mut self, h: Handle) -> Option<Handle> {
        let slot = self.slots.get_mut(h.index as usize)?;
        if slot.generation != h.generation || slot.value.is_none() {
            return None;
        }
        slot.generation = slot.generation.wrapping_add(1);
        Some(Handle {
            index: h.index,
            generation: slot.generation,
        })
    }

    /// Removes the value behind `h`; later lookups with `h` find nothing.
    #[inline]
    pub fn remove(&mut self, h: Handle) -> Option<T> {
        let slot = self.slots.get_mut(h.index as usize)?;
        if slot.generation != h.generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(h.index);
        self.live -= 1;
        Some(value)
    }

    /// The value behind `h`, which the caller has just found live (`get`) and nothing has
    /// freed since: one bounds check, not the generation's again (checked in debug builds).
    #[inline(always)]
    pub fn get_live(&self, h: Handle) -> &T {
        let slot = &self.slots[h.index as usize];
        debug_assert_eq!(slot.generation, h.generation, "a live handle");
        slot.value.as_ref().expect("a live handle")
    }

    /// Frees the slot of a handle the caller has just found live (`get`) and nothing has
    /// freed since, like `remove` but without moving its value out (the caller has read what
    /// it needs) or testing the generation and the value again (both checked in debug
    /// builds). Always inlined: a few stores, which LLVM left as a call in a large caller.
    #[inline(always)]
    pub fn discard_live(&mut self, h: Handle) {
        let slot = &mut self.slots[h.index as usize];
        debug_assert!(slot.generation == h.generation && slot.value.is_some());
        slot.value = None;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(h.index);
        self.live -= 1;
    }

    /// Handles of every stored value, in slot order.
    pub fn handles(&self) -> impl Iterator<Item = Handle> + '_ {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            s.value.as_ref().map(|_| Handle {
                index: i as u32,
                generation: s.generation,
            })
        })
    }

    /// Values currently stored.
    pub fn live(&self) -> u32 {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_find_nothing_after_reuse() {
        let mut s = Slab::new();
        let a = s.insert(1);
        assert_eq!(s.remove(a), Some(1));
        let b = s.insert(2);
        assert_eq!(a.index, b.index, "slot reused");
        assert_eq!(s.get(a), None);
        assert_eq!(s.remove(a), None);
        assert_eq!(s.get(b), Some(&2));
        assert_eq!(s.live(), 1);
        let c = s.renew(b).unwrap();
        assert_eq!(s.get(b), None, "the old generation is stale");
        assert_eq!(s.get(c), Some(&2));
        assert_eq!(s.live(), 1);
    }

    // Goal: `get_live` of a live handle reads what `get` reads, and `discard_live` leaves the
    // slab exactly as `remove` would: the handle stale, the slot reused next, the live count
    // down, the other values untouched.
    #[test]
    fn live_handles_read_and_free_like_checked_ones() {
        let mut s = Slab::new();
        let a = s.insert(1);
        let b = s.insert(2);
        assert_eq!(s.get_live(b), s.get(b).unwrap());
        s.discard_live(a);
        assert_eq!(s.get(a), None);
        assert_eq!(s.live(), 1);
        let c = s.insert(3);
        assert_eq!(c.index, a.index, "the freed slot is reused first");
        assert_ne!(c.generation, a.generation);
        assert_eq!(*s.get_live(c), 3);
        assert_eq!(s.get(b), Some(&2));
    }

    // Goal: the checks that stand for release's trust in a live handle fire in the debug
    // builds the tests run in: a stale handle, its slot freed or reused, is refused by both
    // `get_live` and `discard_live`.
    #[cfg(debug_assertions)]
    #[test]
    fn stale_handles_are_refused_in_debug_builds() {
        let stale = |f: fn(&mut Slab<u32>, Handle)| {
            let mut s = Slab::new();
            let a = s.insert(1);
            s.discard_live(a);
            let freed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut s, a)));
            let _ = s.insert(2);
            let reused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut s, a)));
            (freed.is_err(), reused.is_err())
        };
        assert_eq!(
            stale(|s, h| s.discard_live(h)),
            (true, true),
            "discard_live"
        );
        assert_eq!(
            stale(|s, h| {
                let _ = s.get_live(h);
            }),
            (true, true),
            "get_live"
        );
    }
}

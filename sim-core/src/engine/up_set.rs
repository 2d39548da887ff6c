//! The replicas of one service that its callers believe up, indexed by rank.
//!
//! Round-robin, random and p2c over the believed-up replicas pick "the k-th up replica in
//! index order". A plain list of the up replicas would need a scan (and an allocation) per
//! pick to build; a dense array with swap-removal would change which replica has rank k, and
//! so the picks of every existing scenario. A Fenwick tree over one bit per replica keeps the
//! ranks in index order: insert, remove and pick by rank are O(log n), with 4 bytes and one
//! bit per replica.
//!
//! Usually only a few replicas are down. Then the tree's descent (a cache miss per level at
//! 100,000 replicas) is replaced by a walk over the short sorted list of the missing ones.
//! Only non-members below the highest member count: an autoscaled service's free slots sit
//! above its replicas and never shift a rank, so its picks cost the same whatever `max`.

/// A set of replica indices `0..n` (all in at first) with O(log n) rank selection.
pub struct UpSet {
    /// Fenwick tree, 1-based: `tree[i]` counts the members in `(i - lowbit(i), i]`.
    tree: Vec<u32>,
    /// Membership, one bit per replica.
    bits: Vec<u64>,
    len: u32,
    /// The largest power of two not above `n`: where the descent of `select` starts.
    top: usize,
    /// The non-members below `high` in index order, while there are at most `FEW` of them.
    missing: Vec<u32>,
    /// One past the highest member (0 when empty): non-members from here on shift no rank.
    high: u32,
}

/// Up to this many non-members, `select` walks their list instead of the tree.
const FEW: u32 = 32;

impl UpSet {
    /// All of `0..n` in the set.
    pub fn full(n: u32) -> UpSet {
        let n = n as usize;
        // With every bit set, each node counts exactly the width of its range.
        let tree = (0..=n).map(|i| (i & i.wrapping_neg()) as u32).collect();
        let mut bits = vec![u64::MAX; n.div_ceil(64)];
        if n % 64 != 0
            && let Some(last) = bits.last_mut()
        {
            *last = (1u64 << (n % 64)) - 1;
        }
        let top = if n == 0 { 0 } else { 1 << n.ilog2() };
        UpSet {
            tree,
            bits,
            len: n as u32,
            top,
            missing: Vec::new(),
            high: n as u32,
        }
    }

    /// How many are in.
    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn contains(&self, i: u32) -> bool {
        self.bits[(i / 64) as usize] >> (i % 64) & 1 == 1
    }

    /// Puts `i` in (`true`) or takes it out; does nothing if it already is so.
    pub fn set(&mut self, i: u32, member: bool) {
        if self.contains(i) == member {
            return;
        }
        self.bits[(i / 64) as usize] ^= 1 << (i % 64);
        let mut k = i as usize + 1;
        while k < self.tree.len() {
            if member {
                self.tree[k] += 1;
            } else {
                self.tree[k] -= 1;
            }
            k += k & k.wrapping_neg();
        }
        let was_few = self.few();
        let high = self.high;
        if member {
            self.len += 1;
            self.high = self.high.max(i + 1);
        } else {
            self.len -= 1;
            if i + 1 == self.high {
                // The highest member left: the new one is the member of the last rank.
                self.high = match self.len {
                    0 => 0,
                    n => self.descend(n - 1, false) + 1,
                };
            }
        }
        if !self.few() {
            self.missing.clear();
        } else if !was_few || self.high != high {
            // Back to few, or a new top: list them from the tree (at most FEW descents; the
            // non-members below `high` come first in index order).
            self.missing.clear();
            for j in 0..self.high - self.len {
                let r = self.select_missing(j);
                self.missing.push(r);
            }
        } else {
            let at = self.missing.partition_point(|&r| r < i);
            if member {
                self.missing.remove(at);
            } else {
                self.missing.insert(at, i);
            }
        }
    }

    fn few(&self) -> bool {
        self.high - self.len <= FEW
    }

    /// The member of rank `k` (0-based) in index order. `k` must be below `len()`.
    pub fn select(&self, k: u32) -> u32 {
        debug_assert!(k < self.len);
        if self.few() {
            // Each non-member at or before the candidate pushes it one further.
            let mut r = k;
            for &m in &self.missing {
                if m > r {
                    break;
                }
                r += 1;
            }
            return r;
        }
        self.descend(k, false)
    }

    /// The non-member of rank `j` (0-based) in index order.
    fn select_missing(&self, j: u32) -> u32 {
        self.descend(j, true)
    }

    /// The Fenwick descent for the member (or non-member) of rank `k`: the longest prefix
    /// holding at most `k` of them ends just before it.
    fn descend(&self, k: u32, missing: bool) -> u32 {
        let mut pos = 0;
        let mut rest = k + 1;
        let mut step = self.top;
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() {
                let count = if missing {
                    step as u32 - self.tree[next]
                } else {
                    self.tree[next]
                };
                if count < rest {
                    pos = next;
                    rest -= count;
                }
            }
            step >>= 1;
        }
        pos as u32
    }
}

#[cfg(test)]
mod tests {
    use super::UpSet;
    use crate::rng::stream;
    use rand::RngExt;

    // Goal: the set answers every query exactly as a brute-force scan of a plain bit list
    // does (the order the old code built its Vec of up replicas in), over random
    // insert/remove sequences on sizes from 1 to a few hundred (fixed seed). At 300 and more,
    // mostly members, the number of non-members wanders around `FEW`, so picks by the list,
    // by the tree and the switches between them are all checked.
    #[test]
    fn agrees_with_a_scan_on_random_operations() {
        let mut rng = stream(42, "test/up-set");
        for n in (1..70).chain([127, 128, 129, 300, 301, 330]) {
            let mut set = UpSet::full(n);
            let mut shadow = vec![true; n as usize];
            let p_member = if n >= 300 { 0.9 } else { 0.5 };
            for step in 0..400 {
                // From step 200 on at 300+, changes only in the lowest 40: a mostly empty
                // top (an autoscaled service's free slots) first emptied, then kept empty.
                let i = if n >= 300 && step >= 200 {
                    if step == 200 {
                        for r in 40..n {
                            set.set(r, false);
                            shadow[r as usize] = false;
                        }
                    }
                    rng.random_range(0..40)
                } else {
                    rng.random_range(0..n)
                };
                let member = rng.random_bool(p_member);
                set.set(i, member);
                shadow[i as usize] = member;
                let up: Vec<u32> = (0..n).filter(|&r| shadow[r as usize]).collect();
                assert_eq!(set.len() as usize, up.len(), "n = {n}");
                for r in 0..n {
                    assert_eq!(set.contains(r), shadow[r as usize], "n = {n}, r = {r}");
                }
                for (k, &r) in up.iter().enumerate() {
                    assert_eq!(set.select(k as u32), r, "n = {n}, rank {k}");
                }
            }
        }
    }

    // Goal: a full set of the largest allowed size selects every rank to itself (the build
    // without updates is right, including the last partial word of bits).
    #[test]
    fn a_full_set_ranks_each_index_as_itself() {
        let n = 100_000;
        let set = UpSet::full(n);
        assert_eq!(set.len(), n);
        for k in [0, 1, 63, 64, 65, 65_535, 65_536, 99_999] {
            assert_eq!(set.select(k), k);
            assert!(set.contains(k));
        }
    }
}

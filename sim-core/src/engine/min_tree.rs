//! The least-loaded replica of one service, kept up to date in O(log n).
//!
//! `least-outstanding` picks the replica with the fewest outstanding requests, the lowest
//! index winning ties, among the replicas believed up (or among all of them when none or all
//! are believed down). Scanning every replica per pick made a pick cost O(replicas). Here each
//! replica is one leaf of a segment tree of minima, its key packing (excluded, outstanding,
//! index) so that one integer comparison applies all three rules: a believed-down replica
//! loses to any up one, then fewer outstanding wins, then the lower index. A change of one
//! replica's count or belief is O(log n); the pick is O(1). 16 bytes per replica.

/// Bit set on the key of a replica the callers believe down.
const EXCLUDED: u64 = 1 << 63;
const LOAD_SHIFT: u32 = 31;
const INDEX_MASK: u64 = (1 << LOAD_SHIFT) - 1;

/// Minimum over `n` leaves (n below 2^31), leaf `i` at `node[n + i]`, node `k` the minimum of
/// `2k` and `2k + 1`. With `min` commutative every leaf lies under node 1 whatever `n` is.
pub struct MinTree {
    node: Vec<u64>,
    n: usize,
}

impl MinTree {
    /// `n` replicas, none outstanding, none excluded.
    pub fn new(n: u32) -> MinTree {
        let n = n as usize;
        let mut node = vec![0; 2 * n];
        for i in 0..n {
            node[n + i] = i as u64;
        }
        for k in (1..n).rev() {
            node[k] = node[2 * k].min(node[2 * k + 1]);
        }
        MinTree { node, n }
    }

    /// The winner: fewest outstanding among the not excluded (or among all if every one is
    /// excluded), lowest index on ties.
    pub fn least(&self) -> u32 {
        (self.node[1] & INDEX_MASK) as u32
    }

    /// Replica `i` now has `outstanding` requests.
    pub fn set_load(&mut self, i: u32, outstanding: u32) {
        let leaf = self.node[self.n + i as usize];
        let key = (leaf & EXCLUDED) | (u64::from(outstanding) << LOAD_SHIFT) | u64::from(i);
        self.update(i as usize, key);
    }

    /// Replica `i` is believed down (`true`) or up.
    pub fn set_excluded(&mut self, i: u32, excluded: bool) {
        let leaf = self.node[self.n + i as usize];
        let key = if excluded {
            leaf | EXCLUDED
        } else {
            leaf & !EXCLUDED
        };
        self.update(i as usize, key);
    }

    fn update(&mut self, i: usize, key: u64) {
        let mut k = self.n + i;
        if self.node[k] == key {
            return;
        }
        self.node[k] = key;
        while k > 1 {
            k /= 2;
            let m = self.node[2 * k].min(self.node[2 * k + 1]);
            if self.node[k] == m {
                break;
            }
            self.node[k] = m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MinTree;
    use crate::rng::stream;
    use rand::RngExt;

    /// The rule the old code applied by scanning: among the believed-up replicas if some but
    /// not all are down, else among all; fewest outstanding, then lowest index.
    fn scan(load: &[u32], down: &[bool]) -> u32 {
        let some_up = down.iter().any(|&d| !d);
        let some_down = down.iter().any(|&d| d);
        (0..load.len() as u32)
            .filter(|&r| !(some_up && some_down && down[r as usize]))
            .min_by_key(|&r| (load[r as usize], r))
            .expect("n > 0")
    }

    // Goal: the tree's winner equals the brute-force scan after every step of random
    // sequences of load changes (small counts, so ties are frequent) and belief changes, on
    // sizes from 1 to a few hundred, powers of two and not (fixed seed).
    #[test]
    fn agrees_with_a_scan_on_random_operations() {
        let mut rng = stream(7, "test/min-tree");
        for n in (1..70).chain([127, 128, 129, 300]) {
            let mut tree = MinTree::new(n);
            let mut load = vec![0u32; n as usize];
            let mut down = vec![false; n as usize];
            assert_eq!(tree.least(), 0);
            for step in 0..600 {
                let i = rng.random_range(0..n);
                if rng.random_bool(0.2) {
                    let d = rng.random_bool(0.5);
                    down[i as usize] = d;
                    tree.set_excluded(i, d);
                } else {
                    // Mostly 0..3 (ties), sometimes the extremes of the field.
                    let l = match rng.random_range(0..20) {
                        0 => u32::MAX,
                        1 => u32::MAX - 1,
                        _ => rng.random_range(0..4),
                    };
                    load[i as usize] = l;
                    tree.set_load(i, l);
                }
                assert_eq!(tree.least(), scan(&load, &down), "n = {n}, step {step}");
            }
        }
    }
}

//! Where a value goes in the counts of an HDR histogram of [`super::new_latency_histogram`]'s
//! or [`super::new_bucket_histogram`]'s kind (lowest value 1, 3 or 2 significant figures),
//! and plain counts in that layout.
//!
//! hdrhistogram's own `record` costs about 67 instructions (an index computed through
//! checked conversions, a resize check, the minimum, the maximum and the total kept up to
//! date): three of them per request were a tenth of an M/M/1 customer's cost (issue 14).
//! While a run goes, a latency is an index computation and an increment in [`Counts`]; the
//! histogram is made once at the end from the counts ([`LatencyCounts::into_histogram`]), with the same
//! counts at the same indices as recording every value into it, so every figure — mean,
//! quantiles, max — is the histogram's own, to the bit. The formulas are the crate's
//! (`index_for`, `value_for`, `equivalent_range`, hdrhistogram 7.5.4), checked against it
//! in the tests below.

use hdrhistogram::{Counter, Histogram};

use super::{HISTOGRAM_MAX_NS, HISTOGRAM_TOP_NS, LatencySummary};

/// The layout of a histogram whose first bucket has `2 × 2^HALF` sub-buckets: 3 significant
/// figures is 2048 (`HALF` = 10), 2 is 256 (`HALF` = 7). Every later power of two adds
/// `2^HALF` sub-buckets.
pub struct Layout<const HALF: u32>;

/// [`super::BucketHistogram`]'s layout (2 significant figures).
pub type BucketLayout = Layout<7>;

impl<const HALF: u32> Layout<HALF> {
    const HALF_COUNT: u32 = 1 << HALF;
    const SUB_BUCKET_MASK: u64 = (2 << HALF) - 1;
    /// 64 − log2(sub-bucket count): the leading zeros of a value just past the first bucket.
    const LEADING_ZERO_BASE: u32 = 64 - (HALF + 1);

    /// The index of `ns` in the counts (hdrhistogram's `index_for`).
    #[inline]
    pub fn index_of(ns: u64) -> u32 {
        let bucket = Self::LEADING_ZERO_BASE - (ns | Self::SUB_BUCKET_MASK).leading_zeros();
        let sub_bucket = (ns >> bucket) as u32;
        ((bucket + 1) << HALF) + sub_bucket - Self::HALF_COUNT
    }

    /// How many values index `i` stands for (hdrhistogram's `equivalent_range`).
    pub fn range_of(i: u32) -> u64 {
        let bucket = (i >> HALF).saturating_sub(1);
        1 << bucket
    }

    /// The highest value at index `i` (hdrhistogram's `highest_equivalent`).
    pub fn highest_of(i: u32) -> u64 {
        Self::value_of(i).saturating_add(Self::range_of(i)) - 1
    }

    /// The lowest value at index `i` (hdrhistogram's `value_for`).
    pub fn value_of(i: u32) -> u64 {
        let bucket = (i >> HALF) as i64 - 1;
        let sub_bucket = (i & (Self::HALF_COUNT - 1)) + Self::HALF_COUNT;
        if bucket < 0 {
            u64::from(sub_bucket - Self::HALF_COUNT)
        } else {
            u64::from(sub_bucket) << bucket
        }
    }

    /// The number of counts of a histogram grown to hold `ns` (clamped): the first bucket,
    /// or the counts up to the end of the power of two holding `ns`, as
    /// [`super::RecordNs::record_ns`] grows one.
    pub(super) fn len_for(ns: u64) -> usize {
        let first = 2 * Self::HALF_COUNT as usize;
        let top = (ns + 1).next_power_of_two() - 1;
        (Self::index_of(top) as usize + 1).max(first)
    }
}

/// As [`super::RecordNs::record_ns`] clamps: past [`HISTOGRAM_TOP_NS`] is
/// [`HISTOGRAM_MAX_NS`].
#[inline]
pub fn clamp(ns: u64) -> u64 {
    if ns > HISTOGRAM_TOP_NS {
        HISTOGRAM_MAX_NS
    } else {
        ns
    }
}

/// One count of [`Counts`]: 64-bit, which never overflows, or 8-bit, whose overflow is
/// carried into a short side list (`Counts::carries`).
pub trait Cell:
    Copy + Default + PartialEq + std::fmt::Debug + std::ops::BitOr<Output = Self>
{
    /// Adds `n` and gives how many times the sum passed the cell's width (always 0 for 64
    /// bits, so a `u64` cell's carry code is compiled away).
    fn add(&mut self, n: u64) -> u64;

    /// Adds one, and says whether the cell wrapped to zero (never for 64 bits): the record
    /// path's `add(1)`, one increment and one test.
    fn bump(&mut self) -> bool;

    fn value(self) -> u64;

    /// The count that `n` carries of a cell stand for.
    fn carried(n: u64) -> u64;

    /// Whether any cell of `line` is not zero, or'ed in the cells' own width (which LLVM
    /// turns into a few vector instructions a line).
    #[inline]
    fn any(line: &[Self]) -> bool {
        line.iter().fold(Self::default(), |bits, &c| bits | c) != Self::default()
    }
}

impl Cell for u64 {
    #[inline(always)]
    fn add(&mut self, n: u64) -> u64 {
        *self += n;
        0
    }

    #[inline(always)]
    fn bump(&mut self) -> bool {
        *self += 1;
        false
    }

    #[inline(always)]
    fn value(self) -> u64 {
        self
    }

    /// A 64-bit cell never carries.
    fn carried(_: u64) -> u64 {
        0
    }
}

impl Cell for u8 {
    #[inline(always)]
    fn add(&mut self, n: u64) -> u64 {
        let sum = u64::from(*self) + (n & 0xff);
        *self = sum as u8;
        (n >> 8) + (sum >> 8)
    }

    #[inline(always)]
    fn bump(&mut self) -> bool {
        *self = self.wrapping_add(1);
        *self == 0
    }

    #[inline(always)]
    fn value(self) -> u64 {
        u64::from(self)
    }

    fn carried(n: u64) -> u64 {
        n << 8
    }
}

/// Counts of latencies in a histogram's layout, grown like the histogram (to the end of the
/// power of two holding the largest value, with an exact allocation), in cells of `C`: a
/// count passing a narrow cell is carried into `carries`, so no count ever saturates.
#[derive(Clone, Debug, Default)]
pub struct Counts<const HALF: u32, C: Cell = u64> {
    counts: Vec<C>,
    /// (index, carries) of every index whose count passed its cell, by increasing index:
    /// its count is the cell plus `Cell::carried` of the carries. Empty for 64-bit cells.
    carries: Vec<(u32, u64)>,
}

/// How many cells [`Counts`] tests for a count at once, when copying or walking them.
const LINE: usize = 64;

/// A bit per cell of `line` (at most [`LINE`]) that is not zero.
fn nonzero<C: Cell>(line: &[C]) -> u64 {
    line.iter()
        .enumerate()
        .fold(0, |m, (j, &c)| m | u64::from(c != C::default()) << j)
}

/// A whole-run latency histogram's counts, until [`LatencyCounts::into_histogram`] makes it.
///
/// 8-bit cells: a 1,000-service model keeps one per endpoint, and with 64-bit cells their
/// counts were most of its memory (about 130 of 169 MiB at 60 s) and, recorded a few times a
/// second each, the run's main source of misses past the last-level cache (a record and a
/// growth each touch memory no other event did). A count passes 255 at an index only where
/// that index is recorded often, so its carries (one per 256 records there) are few and
/// cheap; 16-bit cells took 72 MiB there and cost ~8% more CPU at 120 s.
pub type LatencyCounts = Counts<10, u8>;

impl<const HALF: u32, C: Cell> Counts<HALF, C> {
    /// Counts one latency, as [`super::RecordNs::record_ns`] records it.
    #[inline]
    pub fn record_ns(&mut self, ns: u64) {
        let (i, c) = self.slot(ns);
        if c.bump() {
            self.carry(i, 1);
        }
    }

    /// The index of `ns` (clamped) and its cell, grown to hold it.
    /// The common case, an index within the counts, is checked once (a growth first and the
    /// index after made LLVM check it twice).
    #[inline(always)]
    fn slot(&mut self, ns: u64) -> (usize, &mut C) {
        let ns = clamp(ns);
        let i = Layout::<HALF>::index_of(ns) as usize;
        if i < self.counts.len() {
            return (i, &mut self.counts[i]);
        }
        self.grow(ns);
        (i, &mut self.counts[i])
    }

    /// Notes `n` more carries at index `i`: its cell passed its width `n` times.
    #[cold]
    #[inline(never)]
    fn carry(&mut self, i: usize, n: u64) {
        let i = i as u32;
        match self.carries.binary_search_by_key(&i, |&(at, _)| at) {
            Ok(at) => self.carries[at].1 += n,
            Err(at) => self.carries.insert(at, (i, n)),
        }
    }

    /// Adds `n` at index `i` (grown to hold it), as `n` records of a value there would.
    fn add_at(&mut self, i: u32, n: u64) {
        if i as usize >= self.counts.len() {
            self.grow(Layout::<HALF>::value_of(i));
        }
        let carry = self.counts[i as usize].add(n);
        if carry != 0 {
            self.carry(i as usize, carry);
        }
    }

    /// Grows to hold `ns` as the histogram grows: new zeroed counts (memory the system
    /// gives as zeros, resident only where written) with the old ones copied where not
    /// zero, as the histogram's own growth does. Resizing in place wrote every zero: the
    /// 1,000-service DAG (60 s) held 192 MiB resident against 185 MiB this way.
    /// Copied a line of cells at a time, and only the lines holding a count: a cell at a
    /// time, testing each, was ~86 instructions per event of the 1,000-service DAG in a
    /// 20 s run (its endpoints grow a dozen times each, over thousands of mostly empty
    /// cells), and the pages written are still only those holding a count.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, ns: u64) {
        let mut wider = vec![C::default(); Layout::<HALF>::len_for(ns)];
        for (to, from) in wider.chunks_mut(LINE).zip(self.counts.chunks(LINE)) {
            if C::any(from) {
                to[..from.len()].copy_from_slice(from);
            }
        }
        self.counts = wider;
    }

    /// Adds `other`'s counts (a version's copy of an endpoint into its base endpoint).
    pub fn add(&mut self, other: &Counts<HALF, C>) {
        for (i, n) in other.recorded() {
            self.add_at(i, n);
        }
    }

    /// Records every count into `h` (a histogram of this layout), growing it once to the
    /// largest value: as recording each latency there would have.
    pub fn record_into<T: Counter>(&self, h: &mut Histogram<T>) {
        let Some((last, _)) = self.recorded().last() else {
            return;
        };
        let top = Layout::<HALF>::value_of(last);
        if top > h.high() {
            super::grow_to(h, top);
        }
        for (i, c) in self.recorded() {
            record_n(h, Layout::<HALF>::value_of(i), c);
        }
    }

    /// The latency figures of the histogram these counts make ([`LatencySummary::of`] of
    /// it, to the bit), read from the counts: no histogram built and walked for a figure
    /// that needs none (an endpoint's, at thousands of endpoints). `None` when none was
    /// counted.
    pub fn summary(&self) -> Option<LatencySummary> {
        // Two walks of plain counts: the total first, as every term of the mean divides by it.
        LatencySummary::of_recorded::<HALF>(self.recorded(), self.total())
    }

    /// The number of latencies counted.
    fn total(&self) -> u64 {
        let cells: u64 = self.counts.iter().map(|c| c.value()).sum();
        let carried: u64 = self.carries.iter().map(|&(_, n)| C::carried(n)).sum();
        cells + carried
    }

    /// (index, count) of every index with a count, by increasing index. A line of cells
    /// with no count and no carry is passed over with one test: an endpoint of a large
    /// model holds a few hundred latencies in thousands of cells, and a walk of every cell
    /// was most of the report's summaries (1,000-service DAG, 20 s: 239 M instructions).
    fn recorded(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        let mut rest = self.carries.as_slice();
        self.counts
            .chunks(LINE)
            .enumerate()
            .flat_map(move |(k, line)| {
                let first = k * LINE;
                let ends = rest.partition_point(|&(at, _)| (at as usize) < first + line.len());
                let (here, after) = rest.split_at(ends);
                rest = after;
                // A bit per cell with a count: a cell not zero, or one with carries.
                let cells = if C::any(line) { nonzero(line) } else { 0 };
                let mut mask = here
                    .iter()
                    .fold(cells, |m, &(at, _)| m | 1 << (at as usize - first));
                let mut here = here.iter().peekable();
                std::iter::from_fn(move || {
                    if mask == 0 {
                        return None;
                    }
                    let j = mask.trailing_zeros() as usize;
                    mask &= mask - 1;
                    let i = (first + j) as u32;
                    let carried = here.next_if(|&&(at, _)| at == i).map_or(0, |&(_, n)| n);
                    Some((i, line[j].value() + C::carried(carried)))
                })
            })
    }

    /// Whether no latency was counted (counts grow at the first).
    pub fn is_empty(&self) -> bool {
        self.carries.is_empty() && self.counts.iter().all(|&c| c == C::default())
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<C>()
            + self.carries.capacity() * std::mem::size_of::<(u32, u64)>()
    }
}

impl<const HALF: u32> Counts<HALF> {
    /// Counts one latency as [`Counts::record_ns`] does, and gives its index when it is the
    /// first count there (for a list of the indices counted).
    #[inline]
    pub fn record_ns_first(&mut self, ns: u64) -> Option<usize> {
        let (i, c) = self.slot(ns);
        *c += 1;
        (*c == 1).then_some(i)
    }

    /// The counts by index, zeros included.
    pub fn as_mut_slice(&mut self) -> &mut [u64] {
        &mut self.counts
    }
}

impl LatencyCounts {
    /// The histogram these counts make, the counts kept (see
    /// [`LatencyCounts::into_histogram`]): for a reader that needs the histogram itself.
    pub fn histogram(&self) -> super::LatencyHistogram {
        self.clone().into_histogram()
    }

    /// The histogram these counts make: [`super::new_latency_histogram`] grown to the largest
    /// value, with every count recorded at its index. The counts are let go of before the
    /// histogram is made, at its final size at once (the same length as the counts, in
    /// 64-bit counts), so a run's end holds one of the two per endpoint, not both.
    pub fn into_histogram(self) -> super::LatencyHistogram {
        // Sized exactly, so the list is never larger than the counts it stands for in the
        // memory estimate (footprint.rs): a collect could double its room while growing.
        let nonzero = self.recorded().count();
        let mut recorded: Vec<(u32, u64)> = Vec::with_capacity(nonzero);
        recorded.extend(self.recorded());
        drop(self);
        let top = recorded
            .last()
            .map_or(0, |&(last, _)| Layout::<10>::value_of(last));
        let mut h = super::latency_histogram_to(top);
        for (i, c) in recorded {
            record_n(&mut h, Layout::<10>::value_of(i), c);
        }
        h
    }
}

/// Records `count` values `ns` (in range) into `h`, as `count` single records would: in
/// pieces its counter holds (`u32` or wider), so a count saturates and the total goes on, as
/// one at a time.
pub fn record_n<T: Counter>(h: &mut Histogram<T>, ns: u64, mut count: u64) {
    while count > 0 {
        let (piece, n) = match T::from_u64(count) {
            Some(piece) => (piece, count),
            None => {
                let n = u64::from(u32::MAX);
                (T::from_u64(n).expect("a counter holds a u32"), n)
            }
        };
        let recorded = h.record_n(ns, piece);
        debug_assert!(recorded.is_ok(), "{recorded:?}");
        count -= n;
    }
}

/// A small deterministic generator (xorshift64*), enough to scatter test values.
#[cfg(test)]
pub(super) struct Scatter(pub u64);

#[cfg(test)]
impl Scatter {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{
        LatencyHistogram, LatencySummary, RecordNs, full_bucket_histogram, full_latency_histogram,
        new_latency_histogram,
    };

    fn edges() -> Vec<u64> {
        let mut values = vec![0, 1, 2, 127, 128, 255, 256, 257, 511, 512, 2047, 2048, 2049];
        for shift in 0..42 {
            let p = 1u64 << shift;
            values.extend([p - 1, p, p + 1, p + p / 3]);
        }
        values.push(HISTOGRAM_TOP_NS);
        values
    }

    /// Checks layout `HALF` against the full-range histogram `h` of its precision.
    fn agrees<const HALF: u32, T: Counter>(h: &Histogram<T>) {
        for v in edges() {
            let i = Layout::<HALF>::index_of(v);
            assert_eq!(Layout::<HALF>::value_of(i), h.lowest_equivalent(v), "{v}");
            assert_eq!(
                Layout::<HALF>::highest_of(i),
                h.highest_equivalent(v),
                "{v}"
            );
            assert!((i as usize) < h.distinct_values(), "value {v}");
        }
        let top = Layout::<HALF>::index_of(HISTOGRAM_TOP_NS) as usize;
        assert_eq!(top, h.distinct_values() - 1);
    }

    #[test]
    fn indices_are_the_histograms() {
        // Goal: the index and value functions of both layouts agree with hdrhistogram's own
        // at every bucket edge: a value maps to an index whose value is its lowest
        // equivalent, whose last value is its highest, and the top value to the last count.
        agrees::<10, _>(&full_latency_histogram());
        agrees::<7, _>(&full_bucket_histogram());
    }

    #[test]
    fn counts_grow_as_the_histogram_does() {
        // Goal: counts grow as the histogram's counts grow for the same values (the memory
        // estimate counts a histogram's room per endpoint): the same length after every
        // value, in 8-bit cells, an eighth of the histogram's 64-bit room.
        let mut h = new_latency_histogram();
        let mut c = LatencyCounts::default();
        for v in edges() {
            h.record_ns(v);
            c.record_ns(v);
            assert_eq!(c.counts.len(), h.distinct_values(), "after {v}");
        }
        assert_eq!(c.heap_bytes(), full_latency_histogram().distinct_values());
    }

    #[test]
    fn narrow_cells_carry_what_passes_them() {
        // Goal: 8-bit cells count what 64-bit ones count, at every index, past 255 at one
        // index (carries, also with the cell back at zero: 65,536 and 256) and when
        // counts are added (cells summing past the width, added carries), and the histogram
        // and figures they make are the 64-bit counts' to the bit.
        let mut narrow = LatencyCounts::default();
        let mut wide = Counts::<10>::default();
        let mut direct = new_latency_histogram();
        for (ns, n) in [
            (700_000, 65_536),
            (5, 65_535),
            (9_000, 200_001),
            (1 << 30, 1),
            (40_000_000, 256),
            (3_000, 255),
        ] {
            for _ in 0..n {
                narrow.record_ns(ns);
                wide.record_ns(ns);
                direct.record_ns(ns);
            }
        }
        for ns in [700_000, 40_000_000] {
            assert_eq!(narrow.counts[Layout::<10>::index_of(ns) as usize], 0);
        }
        assert_eq!(narrow.carries.len(), 4, "{:?}", narrow.carries);
        let got: Vec<_> = narrow.recorded().collect();
        assert_eq!(got, wide.recorded().collect::<Vec<_>>());
        assert_eq!(narrow.summary(), wide.summary());
        assert_eq!(recorded(&narrow.histogram()), recorded(&direct));
        let mut sum = narrow.clone();
        sum.add(&narrow);
        sum.add_at(3, 70_000 * 65_536 + 40_000);
        let mut wide_sum = wide.clone();
        wide_sum.add(&wide);
        wide_sum.add_at(3, 70_000 * 65_536 + 40_000);
        assert_eq!(
            sum.recorded().collect::<Vec<_>>(),
            wide_sum.recorded().collect::<Vec<_>>()
        );
        assert_eq!(
            sum.total(),
            2 * (65_536 + 65_535 + 200_001 + 1 + 256 + 255) + 70_000 * 65_536 + 40_000
        );
        assert!(!sum.is_empty() && LatencyCounts::default().is_empty());
    }

    #[test]
    fn a_walk_by_lines_finds_every_count_and_carry() {
        // Goal: the walk that passes over lines of cells without a count gives every index
        // a cell-by-cell walk gives, with its carries: counts alone at a line's first or
        // last cell, carries whose cell is back at zero (alone in their line, at its edges,
        // at the last index), through growths, and nothing else.
        let edges = [0usize, 63, 64, 127, 128, 1000, 2047, 2048, 5000, 6143];
        for seed in 1..30u64 {
            let mut rng = Scatter(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut c = LatencyCounts::default();
            for _ in 0..rng.next() % 40 {
                let i = match rng.next() % 3 {
                    0 => edges[(rng.next() % edges.len() as u64) as usize],
                    _ => (rng.next() % 6144) as usize,
                };
                let n = match rng.next() % 4 {
                    0 => 256 * (1 + rng.next() % 3),
                    1 => 255 + rng.next() % 3,
                    _ => 1 + rng.next() % 5,
                };
                c.add_at(i as u32, n);
            }
            let cell_by_cell: Vec<(u32, u64)> = (0..c.counts.len())
                .filter_map(|i| {
                    let carried = c.carries.iter().find(|&&(at, _)| at as usize == i);
                    let n = u64::from(c.counts[i]) + carried.map_or(0, |&(_, n)| n << 8);
                    (n != 0).then_some((i as u32, n))
                })
                .collect();
            assert_eq!(
                c.recorded().collect::<Vec<_>>(),
                cell_by_cell,
                "seed {seed}"
            );
        }
    }

    fn recorded(h: &LatencyHistogram) -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    #[test]
    fn a_histogram_from_counts_is_the_one_recorded_directly() {
        // Goal: the histogram made from counts has the counts, total, minimum, maximum, mean
        // bits and quantiles of recording every latency into it directly, over random sets of
        // values (zeros, repeats, values past the top, the whole range), and adding two
        // counts is recording both sets.
        for seed in 1..60u64 {
            let mut rng = Scatter(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut direct = new_latency_histogram();
            let mut counts = LatencyCounts::default();
            let mut other = LatencyCounts::default();
            let n = rng.next() % 5000;
            for k in 0..n {
                let r = rng.next();
                let ns = match r % 8 {
                    0 => 0,
                    1 => HISTOGRAM_TOP_NS + rng.next() % 1000,
                    2 => 1000 + rng.next() % 4,
                    3 => rng.next() % 3000,
                    _ => rng.next() >> (rng.next() % 64),
                };
                direct.record_ns(ns);
                if k % 3 == 0 {
                    other.record_ns(ns);
                } else {
                    counts.record_ns(ns);
                }
            }
            counts.add(&other);
            let made = counts.into_histogram();
            let what = format!("seed {seed}");
            assert_eq!(recorded(&made), recorded(&direct), "{what}: counts");
            assert_eq!(made.len(), direct.len(), "{what}: total");
            assert_eq!(made.distinct_values(), direct.distinct_values(), "{what}");
            assert_eq!(made.max(), direct.max(), "{what}: max");
            assert_eq!(made.min(), direct.min(), "{what}: min");
            assert_eq!(
                made.mean().to_bits(),
                direct.mean().to_bits(),
                "{what}: mean"
            );
            assert_eq!(
                LatencySummary::of(&made),
                LatencySummary::of(&direct),
                "{what}"
            );
            for q in [0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
                assert_eq!(
                    made.value_at_quantile(q),
                    direct.value_at_quantile(q),
                    "{what}: q {q}"
                );
            }
        }
    }

    /// Checks the summary of counts against the crate's own functions on the histogram
    /// `h` they were also recorded into: `mean()`, `value_at_quantile()`, `max()`.
    fn summary_agrees<const HALF: u32, C: Cell, T: Counter>(
        c: &Counts<HALF, C>,
        h: &Histogram<T>,
        what: &str,
    ) {
        use crate::results::summary::tests::{bits, crate_summary};
        let ms = |ns: u64| ns as f64 / 1e6;
        let want = crate_summary(h);
        assert_eq!(
            bits(c.summary()),
            bits(want),
            "{what}: {:?} vs {want:?}",
            c.summary()
        );
        let total = c.total();
        let quantiles = [0.0, 1e-9, 0.5, 0.5, 0.999_999, 1.0, 1.5];
        let want = (!h.is_empty()).then(|| quantiles.map(|q| ms(h.value_at_quantile(q))));
        let got = LatencySummary::quantiles_of_recorded::<HALF, 7>(c.recorded(), total, quantiles);
        assert_eq!(got, want, "{what}: quantiles");
    }

    #[test]
    fn figures_from_counts_are_the_histograms() {
        // Goal: the summary read straight from counts (no histogram built) is, bit for bit,
        // what hdrhistogram's own mean(), value_at_quantile() and max() give for the
        // histogram of the same values, in both layouts (whole-run latencies, 3 significant
        // figures; time buckets, 2): random sets of many shapes (zeros, repeats, one value,
        // values past the top, the whole range), counts in the billions (where the mean's
        // f64 terms round), and nothing at all.
        let mut whole_empty = LatencyCounts::default();
        summary_agrees(&whole_empty, &whole_empty.clone().into_histogram(), "empty");
        summary_agrees(
            &Counts::<7>::default(),
            &full_bucket_histogram(),
            "empty bucket",
        );
        for seed in 1..120u64 {
            let mut rng = Scatter(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut whole = LatencyCounts::default();
            let mut bucket = Counts::<7>::default();
            let mut direct = new_latency_histogram();
            let n = [1, 2, 3, 10, 100, 5000][seed as usize % 6];
            let shape = seed % 5;
            for _ in 0..rng.next() % n + 1 {
                let r = rng.next();
                let ns = match (shape + r) % 8 {
                    0 => 0,
                    1 if shape != 0 => HISTOGRAM_TOP_NS + rng.next() % 1000,
                    2 => u64::MAX - rng.next() % 3,
                    3 => 1000 + rng.next() % 4,
                    4 => rng.next() % 3000,
                    _ => rng.next() >> (rng.next() % 64),
                };
                direct.record_ns(ns);
                whole.record_ns(ns);
                bucket.record_ns(ns);
            }
            let what = format!("seed {seed}");
            summary_agrees(&whole, &direct, &what);
            let mut h = crate::results::new_bucket_histogram();
            bucket.record_into(&mut h);
            summary_agrees(&bucket, &h, &format!("{what}, bucket layout"));
            // Counts no single run reaches by recording, in the billions: set directly.
            let big = rng.next() % 5_000_000_000;
            if let Some((last, _)) = whole.recorded().last() {
                whole.add_at(last, big);
            }
            whole.add_at(0, big / 3);
            summary_agrees(&whole, &whole.histogram(), &format!("{what}, billions"));
        }
        whole_empty.record_ns(5);
        summary_agrees(&whole_empty, &whole_empty.histogram(), "one value");
    }

    #[test]
    fn no_counts_make_the_empty_growing_histogram() {
        // Goal: a component that recorded nothing reports what it reported before: an empty
        // histogram of the first bucket, with no figures.
        let made = LatencyCounts::default().into_histogram();
        assert!(made.is_empty());
        assert_eq!(
            made.distinct_values(),
            new_latency_histogram().distinct_values()
        );
        assert_eq!(LatencySummary::of(&made), None);
    }
}

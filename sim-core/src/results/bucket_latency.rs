//! The latency of one workload's requests sent in one time bucket, kept as only the values
//! recorded while that is smaller than a histogram.
//!
//! A run keeps one of these per workload and time bucket: 100 workloads × 141 buckets is
//! 14,100 of them, and a histogram each (10 KiB for latencies up to 40 ms, 18 KiB for the full
//! range) was most of the memory of a 1,000-service model whose buckets see a few requests
//! each. The timeline reads two quantiles per bucket, so the summary is worked out by building
//! the histogram for a moment: the same counts at the same indices as a histogram recorded
//! directly, so the same figures to the bit.

use super::layout::{BucketLayout, clamp, record_n};
use super::{BucketHistogram, LatencySummary, RecordNs};

/// Sparse entries are 8 bytes against a histogram's 4 per count; past this many the histogram
/// is at most twice as big, and finding an entry takes a dozen comparisons.
const MOST_SPARSE: usize = 1024;

/// A time bucket's latencies (nanoseconds, successes only).
#[derive(Clone, Debug)]
pub enum BucketLatency {
    /// (index in the histogram's counts, count) by increasing index; only indices recorded.
    /// At most [`MOST_SPARSE`] of them, or more when they were handed over at once and take
    /// no more room than the histogram (`most_handed`).
    Sparse(Vec<(u32, u32)>),
    /// Past [`MOST_SPARSE`] distinct values recorded one at a time, more handed over at once
    /// than fit the histogram's room (`most_handed`), or a count that would pass `u32::MAX`
    /// (where the histogram's own saturation rules take over): the histogram itself.
    Dense(Box<BucketHistogram>),
}

impl Default for BucketLatency {
    fn default() -> Self {
        BucketLatency::Sparse(Vec::new())
    }
}

impl BucketLatency {
    /// Records one latency, as [`RecordNs::record_ns`] records it into the histogram.
    #[inline]
    pub fn record_ns(&mut self, ns: u64) {
        match self {
            BucketLatency::Dense(h) => h.record_ns(ns),
            BucketLatency::Sparse(entries) => {
                let i = BucketLayout::index_of(clamp(ns));
                match entries.binary_search_by_key(&i, |&(k, _)| k) {
                    Ok(at) if entries[at].1 < u32::MAX => entries[at].1 += 1,
                    Err(at) if entries.len() < MOST_SPARSE => entries.insert(at, (i, 1)),
                    _ => self.turn_dense(ns),
                }
            }
        }
    }

    /// Adds `counts[i]` values at every index `i` of the histogram's counts (as many
    /// [`BucketLatency::record_ns`] of a value at that index would), leaving `counts` zero:
    /// how an [`super::OpenBucket`] hands over its latencies when it touched too many
    /// indices to list them.
    pub fn add_counts(&mut self, counts: &mut [u64]) {
        // One pass for both questions (how many, and does any pass a `u32`), without a
        // branch per count: measured cheaper than appending while walking (199 closes of
        // the M/M/1: 6.3 M instructions against 7.7 M).
        let (recorded, bits) = counts.iter().fold((0usize, 0u64), |(n, bits), &c| {
            (n + usize::from(c != 0), bits | c)
        });
        let most = if recorded > MOST_SPARSE {
            most_handed(counts)
        } else {
            MOST_SPARSE
        };
        if let Some(entries) = self.room_for(recorded, bits, most) {
            for (i, c) in counts.iter_mut().enumerate() {
                if *c != 0 {
                    entries.push((i as u32, std::mem::take(c) as u32));
                }
            }
            return;
        }
        if recorded > 0 && matches!(self, BucketLatency::Sparse(entries) if entries.is_empty()) {
            // Too many indices, or a count past a `u32`: recording them one by one would
            // insert entries until they turned dense (a binary search and a shift each,
            // 220,856 of them in the M/M/1's 200 closes of 10 s buckets), then the rest. The
            // histogram takes them in one walk instead, with the same counts, saturated the
            // same way, so the same figures.
            *self = BucketLatency::Dense(Box::new(dense_of(counts)));
            return;
        }
        for (i, c) in counts.iter_mut().enumerate() {
            if *c != 0 {
                self.record_index_n(i as u32, std::mem::take(c));
            }
        }
    }

    /// [`BucketLatency::add_counts`] when the indices with a count are known: `at`, in
    /// increasing order, each with a count. Costs what was recorded, not the width of
    /// `counts` (an open bucket of a large model sees a request or two).
    pub fn add_counts_at(&mut self, counts: &mut [u64], at: &[u16]) {
        debug_assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
        debug_assert!(at.iter().all(|&i| counts[usize::from(i)] != 0), "{at:?}");
        let bits = at
            .iter()
            .fold(0u64, |bits, &i| bits | counts[usize::from(i)]);
        let taken = at
            .iter()
            .map(|&i| (u32::from(i), std::mem::take(&mut counts[usize::from(i)])));
        if let Some(entries) = self.room_for(at.len(), bits, MOST_SPARSE) {
            entries.extend(taken.map(|(i, c)| (i, c as u32)));
            return;
        }
        for (i, c) in taken {
            self.record_index_n(i, c);
        }
    }

    /// The entries to append `recorded` counts of bitwise or `bits` to in one walk by
    /// increasing index (so sorted), room made: when these latencies are sparse and empty,
    /// `recorded` is at most `most` and the counts fit. Otherwise each index is added as
    /// values would be.
    fn room_for(
        &mut self,
        recorded: usize,
        bits: u64,
        most: usize,
    ) -> Option<&mut Vec<(u32, u32)>> {
        match self {
            BucketLatency::Sparse(entries)
                if recorded > 0
                    && entries.is_empty()
                    && recorded <= most
                    && bits <= u64::from(u32::MAX) =>
            {
                // A power of two while later values may still be inserted, so that growth
                // doubles from there and the capacity stays within `bytes_for` of the
                // distinct values (exactly `recorded` would double to 2 × 600 = 1,200
                // where 1,024 is counted); past the recording limit no entry is inserted.
                if recorded <= MOST_SPARSE {
                    entries.reserve_exact(recorded.next_power_of_two());
                } else {
                    entries.reserve_exact(recorded);
                }
                Some(entries)
            }
            _ => None,
        }
    }

    /// Adds `count` values at index `i`, as `count` calls of [`BucketLatency::record_ns`]
    /// with a value there would: sparse while the entries and their counts fit, then dense.
    fn record_index_n(&mut self, i: u32, count: u64) {
        match self {
            BucketLatency::Dense(h) => grow_and_record_n(h, BucketLayout::value_of(i), count),
            BucketLatency::Sparse(entries) => match entries.binary_search_by_key(&i, |&(k, _)| k) {
                Ok(at) if u64::from(entries[at].1) + count <= u64::from(u32::MAX) => {
                    entries[at].1 += count as u32;
                }
                Err(at) if entries.len() < MOST_SPARSE && count <= u64::from(u32::MAX) => {
                    entries.insert(at, (i, count as u32));
                }
                _ => {
                    let mut h = self.histogram();
                    grow_and_record_n(&mut h, BucketLayout::value_of(i), count);
                    *self = BucketLatency::Dense(Box::new(h));
                }
            },
        }
    }

    /// Turns sparse entries into the histogram, then records `ns` there.
    #[cold]
    #[inline(never)]
    fn turn_dense(&mut self, ns: u64) {
        let mut h = self.histogram();
        h.record_ns(ns);
        *self = BucketLatency::Dense(Box::new(h));
    }

    /// The histogram these latencies make (built for sparse ones).
    pub fn histogram(&self) -> BucketHistogram {
        match self {
            BucketLatency::Dense(h) => (**h).clone(),
            BucketLatency::Sparse(entries) => {
                let mut h = histogram_to(entries.last().map(|&(last, _)| last));
                for &(i, count) in entries {
                    let recorded = h.record_n(BucketLayout::value_of(i), count);
                    debug_assert!(recorded.is_ok(), "{recorded:?}");
                }
                h
            }
        }
    }

    /// The latency figures, as [`LatencySummary::of`] gives them for the histogram; `None`
    /// when no latency was recorded. Sparse entries are summarised as they are, by the
    /// histogram's own rules ([`LatencySummary::of_recorded`]), without building the
    /// histogram: a timeline reads 14,100 buckets at 1,000 services.
    pub fn summary(&self) -> Option<LatencySummary> {
        match self {
            BucketLatency::Dense(h) => LatencySummary::of(h),
            BucketLatency::Sparse(entries) => {
                LatencySummary::of_recorded::<7>(recorded(entries), total(entries))
            }
        }
    }

    /// The values at `quantiles` (in increasing order) in milliseconds and nothing else, as
    /// [`LatencySummary::quantiles_of`] gives them for the histogram; `None` when no latency
    /// was recorded. For the timeline, which shows p50 and p99 per bucket.
    pub fn quantiles<const N: usize>(&self, quantiles: [f64; N]) -> Option<[f64; N]> {
        match self {
            BucketLatency::Dense(h) => LatencySummary::quantiles_of(h, quantiles),
            BucketLatency::Sparse(entries) => LatencySummary::quantiles_of_recorded::<7, N>(
                recorded(entries),
                total(entries),
                quantiles,
            ),
        }
    }

    /// The most heap bytes one bucket's latencies take: a full-range histogram's counts (a
    /// boxed histogram), or the sparse entries just before they turn into one, whichever is
    /// more. What the memory estimate counts per bucket.
    pub fn most_bytes() -> u64 {
        let dense = super::full_bucket_histogram().distinct_values() as u64 * 4
            + std::mem::size_of::<BucketHistogram>() as u64;
        dense.max(MOST_SPARSE as u64 * 8)
    }

    /// The most heap bytes of a bucket that records at most `distinct` distinct values: their
    /// entries (the vector's capacity, at most twice its length), or past [`MOST_SPARSE`]
    /// the histogram.
    pub fn bytes_for(distinct: u64) -> u64 {
        if distinct > MOST_SPARSE as u64 {
            return Self::most_bytes();
        }
        (distinct.next_power_of_two().max(4) * 8).min(Self::most_bytes())
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        match self {
            BucketLatency::Sparse(entries) => entries.capacity() * 8,
            BucketLatency::Dense(h) => h.distinct_values() * 4,
        }
    }
}

/// Records `count` values `ns` (in range) into `h`, grown to hold `ns` first, as that many
/// [`RecordNs::record_ns`] would.
fn grow_and_record_n(h: &mut BucketHistogram, ns: u64, count: u64) {
    if ns > h.high() {
        super::grow_to(h, ns);
    }
    record_n(h, ns, count);
}

/// The most entries an empty bucket keeps of `counts` handed over at once: past
/// [`MOST_SPARSE`], as many as take no more room than the histogram they would make (an
/// entry is two counts' bytes). The M/M/1's 10 s buckets hand ~1,100 indices of ~2,700: one
/// push each, where the histogram took a record each, and the timeline reads their p50 and
/// p99 in one walk of the entries, not two scans of the counts. A value recorded later at
/// a new index turns them into the histogram, as past [`MOST_SPARSE`] by recording.
#[inline(never)]
fn most_handed(counts: &[u64]) -> usize {
    let last = counts.iter().rposition(|&c| c != 0).unwrap_or(0);
    let width = BucketLayout::len_for(BucketLayout::value_of(last as u32));
    MOST_SPARSE.max(width / 2)
}

/// [`super::new_bucket_histogram`] grown as recording a value at index `last` grows it (once,
/// to the largest value, before it is filled), empty.
fn histogram_to(last: Option<u32>) -> BucketHistogram {
    let mut h = super::new_bucket_histogram();
    if let Some(last) = last {
        let top = BucketLayout::value_of(last);
        if top > h.high() {
            super::grow_to(&mut h, top);
        }
    }
    h
}

/// The histogram of `counts` (`counts[i]` values at index `i`), taken, leaving them zero: as
/// recording each value into [`super::new_bucket_histogram`] would make it.
#[inline(never)]
fn dense_of(counts: &mut [u64]) -> BucketHistogram {
    let last = counts.iter().rposition(|&c| c != 0);
    let mut h = histogram_to(last.map(|i| i as u32));
    for (i, c) in counts.iter_mut().enumerate() {
        if *c != 0 {
            record_n(&mut h, BucketLayout::value_of(i as u32), std::mem::take(c));
        }
    }
    h
}

/// Sparse entries as the (index, count) pairs a summary walks.
fn recorded(entries: &[(u32, u32)]) -> impl Iterator<Item = (u32, u64)> + '_ {
    entries.iter().map(|&(i, c)| (i, u64::from(c)))
}

/// The number of latencies sparse entries hold.
fn total(entries: &[(u32, u32)]) -> u64 {
    entries.iter().map(|&(_, c)| u64::from(c)).sum()
}

//! The latencies of a workload's latest time bucket, counted in a plain array while requests
//! sent in it are still finishing, then handed to the bucket's [`BucketLatency`] at once.
//!
//! A bucket's latencies are kept sparse (one entry per distinct value, by increasing index)
//! so that 14,100 buckets of a 1,000-service model that see a few requests each stay small.
//! A bucket that sees hundreds of requests (the M/M/1 at 800 requests/s in 1 s buckets) paid
//! for that with a binary search and a shift of the entries after it per request: the most
//! expensive part of a request's bookkeeping (issue 14). Nearly every request finishes
//! in the bucket it was sent in or the next, so each workload keeps one open bucket — the
//! latest one a success was sent in — as counts indexed like the histogram's: a request is an
//! index computation and an increment. When a success sent in a later bucket finishes, the
//! open bucket is closed (its counts go to its bucket's latencies in one walk) and the later
//! one opens; a success sent in an earlier, closed bucket is recorded into that bucket's
//! latencies directly. Either way every bucket ends with the counts at the indices that
//! recording each latency there would have given, so every figure is the same to the bit.
//!
//! A close must cost what the bucket recorded, not the width of its counts: the counts grow
//! to the largest latency seen (a thousand or more indices), while a bucket of a 1,000-service
//! model sees one or two requests (walking the counts at every close was a third of an event's
//! instructions there). So the open bucket also keeps the indices it touched in a small
//! bounded list; a close with the list intact hands over just those, in increasing index
//! order (the order of the walk). A bucket that touched more distinct indices (the M/M/1's
//! hundreds per bucket) is past the bound and closes with the walk, as before, where its cost
//! is spread over the many requests it counted.

use super::WorkloadBucket;
use super::layout::Counts;

/// How many distinct indices an open bucket lists before it closes by walking its counts:
/// enough for the tens of requests per bucket of large models with short buckets, small
/// enough to sort at a close in a few dozen instructions.
const MOST_TOUCHED: usize = 32;

/// One workload's open bucket.
#[derive(Clone, Debug, Default)]
pub struct OpenBucket {
    /// The time bucket the counts belong to.
    bucket: usize,
    /// Counts in the bucket histogram's layout (2 significant figures). 64-bit, so a count
    /// never saturates here: saturation is the bucket's own business when they are handed
    /// over.
    counts: Counts<7>,
    /// The indices with a count, in the order first counted, while there are at most
    /// [`MOST_TOUCHED`] of them (every index of a bucket histogram fits a `u16`: a full-range
    /// one has under 5,000).
    touched: Touched,
}

/// The indices an open bucket counted at, up to [`MOST_TOUCHED`]; past it, only that there
/// were more (`len` one past the bound).
#[derive(Clone, Debug, Default)]
struct Touched {
    len: u8,
    indices: [u16; MOST_TOUCHED],
}

impl Touched {
    /// Notes the first count at index `i`.
    #[inline]
    fn note(&mut self, i: usize) {
        let len = usize::from(self.len);
        if len < MOST_TOUCHED
            && let Ok(i) = u16::try_from(i)
        {
            self.indices[len] = i;
            self.len += 1;
        } else {
            self.len = MOST_TOUCHED as u8 + 1;
        }
    }

    /// The indices noted, in increasing order, or `None` past the bound.
    fn sorted(&mut self) -> Option<&[u16]> {
        let listed = self.indices.get_mut(..usize::from(self.len))?;
        listed.sort_unstable();
        Some(listed)
    }
}

impl OpenBucket {
    /// Records the latency `ns` of a success sent in time bucket `bucket` of `buckets`
    /// (which holds it). Always inlined: a success sent in the open bucket, nearly every
    /// one, is an index and an increment; another bucket's is out of line.
    #[inline(always)]
    pub fn record_ns(&mut self, bucket: usize, ns: u64, buckets: &mut [WorkloadBucket]) {
        if bucket != self.bucket {
            return self.record_ns_elsewhere(bucket, ns, buckets);
        }
        self.count(ns);
    }

    /// `record_ns` of a success sent in another bucket than the open one: an earlier,
    /// closed bucket's latencies take it directly; a later bucket opens.
    #[cold]
    #[inline(never)]
    fn record_ns_elsewhere(&mut self, bucket: usize, ns: u64, buckets: &mut [WorkloadBucket]) {
        if bucket < self.bucket {
            buckets[bucket].latency.record_ns(ns);
            return;
        }
        self.close(buckets);
        self.bucket = bucket;
        self.count(ns);
    }

    /// Counts `ns` in the open bucket.
    #[inline(always)]
    fn count(&mut self, ns: u64) {
        if let Some(i) = self.counts.record_ns_first(ns) {
            self.touched.note(i);
        }
    }

    /// Hands the counts to the open bucket's latencies, leaving them zero. Called when a
    /// later bucket opens and once at the end of the run.
    pub fn close(&mut self, buckets: &mut [WorkloadBucket]) {
        let Some(b) = buckets.get_mut(self.bucket) else {
            return;
        };
        let counts = self.counts.as_mut_slice();
        match self.touched.sorted() {
            Some(indices) => b.latency.add_counts_at(counts, indices),
            None => b.latency.add_counts(counts),
        }
        self.touched.len = 0;
    }

    /// The most bytes one open bucket takes: itself (with its list of touched indices) and
    /// on the heap a 64-bit count for every index of a full-range bucket histogram (counts
    /// grow exactly, like the histogram's). What the memory estimate counts per workload.
    pub fn most_bytes() -> u64 {
        super::full_bucket_histogram().distinct_values() as u64 * 8
            + std::mem::size_of::<OpenBucket>() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::layout::{BucketLayout, Scatter};
    use crate::results::{BucketLatency, HISTOGRAM_TOP_NS};

    /// Every count at every index, the total, and the figures the reports read.
    fn same(a: &BucketLatency, b: &BucketLatency, what: &str) {
        let (ha, hb) = (a.histogram(), b.histogram());
        assert_eq!(ha.len(), hb.len(), "{what}: total");
        let recorded = |h: &crate::results::BucketHistogram| -> Vec<(u64, u32)> {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect()
        };
        assert_eq!(recorded(&ha), recorded(&hb), "{what}: counts");
        assert_eq!(ha.max(), hb.max(), "{what}: max");
        assert_eq!(ha.min_nz(), hb.min_nz(), "{what}: min");
        assert_eq!(a.summary(), b.summary(), "{what}: summary");
        assert_eq!(
            a.quantiles([0.0, 0.5, 0.99, 1.0]),
            b.quantiles([0.0, 0.5, 0.99, 1.0]),
            "{what}: quantiles"
        );
        assert_eq!(
            a.summary().map(|s| s.mean.to_bits()),
            LatencySummaryBits::of(&hb),
            "{what}: mean against the histogram's own"
        );
    }

    /// The mean bits of the crate's own `mean()`, the outside truth for the summaries.
    struct LatencySummaryBits;
    impl LatencySummaryBits {
        fn of(h: &crate::results::BucketHistogram) -> Option<u64> {
            (!h.is_empty()).then(|| (h.mean() / 1e6).to_bits())
        }
    }

    #[test]
    fn an_open_bucket_gives_every_bucket_the_counts_of_recording_there() {
        // Goal: latencies counted through the open bucket — mostly in the latest bucket,
        // some in later ones (which close it), some in earlier, closed ones — leave every
        // bucket with exactly the counts, total and figures of recording each latency into
        // that bucket directly: sparse buckets, buckets past the sparse limit, values of 0,
        // past the histogram's top, and many repeats of a few values.
        for seed in 1..40u64 {
            let mut rng = Scatter(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let buckets = 1 + (rng.next() % 8) as usize;
            let mut direct = vec![BucketLatency::default(); buckets];
            let mut through = vec![crate::results::WorkloadBucket::default(); buckets];
            let mut open = OpenBucket::default();
            let mut latest = 0usize;
            let requests = rng.next() % 6000;
            for _ in 0..requests {
                let r = rng.next();
                let bucket = match r % 16 {
                    0 => (rng.next() % buckets as u64) as usize,
                    1 => (latest + 1).min(buckets - 1),
                    _ => latest,
                };
                latest = latest.max(bucket);
                let ns = match (r >> 8) % 10 {
                    0 => 0,
                    1 => HISTOGRAM_TOP_NS + rng.next() % 1000,
                    2 => u64::MAX - rng.next() % 3,
                    3 | 4 => 1000 + rng.next() % 4,
                    5 => rng.next() % 300,
                    _ => rng.next() >> (rng.next() % 64),
                };
                direct[bucket].record_ns(ns);
                open.record_ns(bucket, ns, &mut through);
            }
            open.close(&mut through);
            for (i, (d, t)) in direct.iter().zip(&through).enumerate() {
                same(d, &t.latency, &format!("seed {seed}, bucket {i}"));
            }
        }
    }

    #[test]
    fn a_close_by_the_listed_indices_gives_the_counts_of_recording_there() {
        // Goal: around the bound of listed indices (none, one, up to it, one past it, far
        // past it), a bucket closed by its list — or by the walk once past it — ends with
        // exactly the counts, total and figures of recording each latency there directly,
        // in whatever order the values came: repeats, 0, the histogram's top and past it,
        // values in the first bucket and the widest, a latest bucket reopened after a later
        // one closed it (recorded directly), and a bucket already holding entries.
        let extremes = [
            0,
            1,
            255,
            256,
            HISTOGRAM_TOP_NS,
            HISTOGRAM_TOP_NS + 1,
            u64::MAX,
        ];
        for distinct in 0..=(MOST_TOUCHED + 3) {
            for seed in 1..12u64 {
                let mut rng = Scatter((seed * 1000 + distinct as u64) | 1);
                let values: Vec<u64> = (0..distinct)
                    .map(|k| match rng.next() % 4 {
                        0 => extremes[k % extremes.len()],
                        1 => rng.next() % 3000,
                        _ => rng.next() >> (rng.next() % 64),
                    })
                    .collect();
                let buckets = 4;
                let mut direct = vec![BucketLatency::default(); buckets];
                let mut through = vec![crate::results::WorkloadBucket::default(); buckets];
                let mut open = OpenBucket::default();
                for bucket in 0..buckets {
                    let repeats = 1 + rng.next() % 3;
                    for _ in 0..repeats * distinct as u64 {
                        let ns = values[(rng.next() % distinct as u64) as usize];
                        direct[bucket].record_ns(ns);
                        open.record_ns(bucket, ns, &mut through);
                        if rng.next() % 8 == 0 && bucket > 0 {
                            // A late success of an earlier, closed bucket.
                            let early = (rng.next() % bucket as u64) as usize;
                            direct[early].record_ns(ns);
                            open.record_ns(early, ns, &mut through);
                        }
                    }
                }
                open.close(&mut through);
                for (i, (d, t)) in direct.iter().zip(&through).enumerate() {
                    same(
                        d,
                        &t.latency,
                        &format!("{distinct} values, seed {seed}, bucket {i}"),
                    );
                }
            }
        }
    }

    #[test]
    fn listed_counts_past_a_u32_saturate_as_one_at_a_time() {
        // Goal: counts handed by their indices end as the walk's do when one passes a `u32`
        // (the count saturated, the total going on), and are taken either way, into an empty
        // bucket and into one holding entries already.
        for held in [0u64, 1] {
            let mut counts = vec![0u64; 300];
            counts[200] = u64::from(u32::MAX) + 5;
            counts[7] = 3;
            let mut walked = BucketLatency::default();
            let mut listed = BucketLatency::default();
            for _ in 0..held {
                walked.record_ns(9);
                listed.record_ns(9);
            }
            walked.add_counts(&mut counts.clone());
            listed.add_counts_at(&mut counts, &[7, 200]);
            assert!(counts.iter().all(|&c| c == 0), "the counts are taken");
            same(&walked, &listed, &format!("{held} held"));
            assert_eq!(listed.histogram().count_at(200), u32::MAX);
        }
    }

    #[test]
    fn counts_past_the_sparse_limit_into_an_empty_bucket_give_the_values_recorded() {
        // Goal: counts at more indices than a bucket keeps sparse when recording, handed to
        // an empty bucket (kept as entries while they take no more room than the histogram,
        // else taken into the histogram in one walk), or to one already holding entries
        // (each index added as values are), end with exactly the counts, total and figures
        // of recording every value there one at a time, and stay so through late values
        // after: just under, at and past the limit, past the room of the histogram, at
        // every index of a full-range bucket histogram (0 and the top included).
        let full = crate::results::full_bucket_histogram().distinct_values();
        let most_sparse = 1024;
        for distinct in [
            most_sparse - 1,
            most_sparse,
            most_sparse + 1,
            2000,
            3000,
            full,
        ] {
            for (seed, held) in [(1u64, 0u64), (2, 0), (3, 1), (4, 40)] {
                let mut rng = Scatter(seed * 7919 + distinct as u64);
                let mut indices: Vec<usize> = (0..full).collect();
                for k in (1..full).rev() {
                    indices.swap(k, (rng.next() % (k as u64 + 1)) as usize);
                }
                let mut counts = vec![0u64; full];
                for &i in &indices[..distinct] {
                    counts[i] = 1 + rng.next() % 5;
                }
                let mut direct = BucketLatency::default();
                let mut handed = BucketLatency::default();
                for _ in 0..held {
                    let ns = rng.next() >> (rng.next() % 64);
                    direct.record_ns(ns);
                    handed.record_ns(ns);
                }
                for (i, &c) in counts.iter().enumerate() {
                    let ns = BucketLayout::value_of(i as u32);
                    (0..c).for_each(|_| direct.record_ns(ns));
                }
                handed.add_counts(&mut counts);
                assert!(counts.iter().all(|&c| c == 0), "the counts are taken");
                if held == 0 {
                    // Which form the close took: entries up to half the histogram's width
                    // (their bytes are two counts'), past the recording limit too; beyond
                    // that the histogram.
                    let kept = match &handed {
                        BucketLatency::Sparse(e) => Some(e.len()),
                        BucketLatency::Dense(_) => None,
                    };
                    let sparse = distinct <= 2000;
                    assert_eq!(kept, sparse.then_some(distinct), "{distinct} indices");
                }
                same(
                    &direct,
                    &handed,
                    &format!("{distinct} indices, {held} held"),
                );
                // Late successes after the close: at an index held, and at new ones.
                for late in [BucketLayout::value_of(indices[0] as u32), 0, u64::MAX, 777] {
                    direct.record_ns(late);
                    handed.record_ns(late);
                    same(
                        &direct,
                        &handed,
                        &format!("{distinct} indices, late {late}"),
                    );
                }
            }
        }
    }

    #[test]
    fn a_bucket_handed_counts_then_values_stays_within_its_estimate() {
        // Goal: a bucket handed the counts of `handed` distinct indices at a close, then
        // recorded values at new indices (late successes) up to `distinct` in all, holds no
        // more heap bytes than the memory estimate counts for `distinct` distinct values, at
        // every step: the entries' capacity grows by doubling from a power of two.
        for handed in [1usize, 3, 600, 700, 1000, 1024] {
            let mut counts = vec![0u64; 2 * 1024 + 8];
            (0..handed).for_each(|i| counts[2 * i] = 1);
            let mut b = BucketLatency::default();
            b.add_counts(&mut counts);
            assert!(b.heap_bytes() as u64 <= BucketLatency::bytes_for(handed as u64));
            for distinct in handed + 1..=1024 {
                let odd = 2 * (distinct - handed) - 1;
                b.record_ns(crate::results::layout::BucketLayout::value_of(odd as u32));
                let bytes = b.heap_bytes() as u64;
                let counted = BucketLatency::bytes_for(distinct as u64);
                assert!(
                    bytes <= counted,
                    "{handed} handed, {distinct}: {bytes} > {counted}"
                );
            }
        }
    }

    #[test]
    fn counts_past_a_u32_saturate_as_one_at_a_time() {
        // Goal: a bucket handed a count larger than its `u32` counts hold ends as recording
        // one value at a time would: the count saturated, the total going on.
        let mut counts = vec![0u64; 300];
        counts[200] = u64::from(u32::MAX) + 5;
        counts[7] = 3;
        let mut handed = BucketLatency::default();
        handed.add_counts(&mut counts);
        assert!(counts.iter().all(|&c| c == 0), "the counts are taken");
        let h = handed.histogram();
        assert_eq!(h.len(), u64::from(u32::MAX) + 8);
        // Below 256 an index is its value.
        assert_eq!(h.count_at(200), u32::MAX);
        assert_eq!(h.count_at(7), 3);
    }
}

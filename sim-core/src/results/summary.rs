//! The latency figures of a histogram, each computed once, in one walk over its buckets.
//!
//! A report prints the mean, p50, p90, p99, p99.9 and max of every latency histogram of a
//! run. The `hdrhistogram` crate answers each with its own walk: `mean()` iterates every
//! recorded bucket, and each `value_at_quantile` scans the counts from the first bucket
//! again. With a 264 KiB histogram per endpoint, five walks per histogram are five trips
//! through memory that no longer fits in a cache (issue 14: at 1,000 services, computing
//! report percentiles was 45% of a run). [`Pass`] takes every figure from one walk over the
//! recorded buckets, with the crate's own formulas, so every figure — and every output byte —
//! is the one `mean()` and `value_at_quantile` give (checked against them below over many
//! random histograms).
//!
//! The formulas reproduced, from hdrhistogram 7.5.4:
//! - `value_at_quantile(q)`: with `q` capped at 1, the target count is
//!   `max(1, ceil(q × total))`; the value is the highest value equivalent to the first bucket
//!   at which the running sum of counts reaches it (the lowest one for `q = 0`), or 0 when
//!   the sum never does (a `u32` count saturated while the total went on).
//! - `mean()`: the sum, over recorded buckets in increasing order, of
//!   `median_equivalent(value) × count / total`, added term by term from 0 in `f64`.
//!
//! The running sum only grows at recorded buckets, so the first bucket that reaches a target
//! is a recorded one: walking only those (`iter_recorded`, as `mean()` does) finds the same
//! bucket as the crate's scan of every count.

use hdrhistogram::{Counter, Histogram};

use super::layout::Layout;

/// The quantiles of a [`LatencySummary`], in increasing order: p50, p90, p99, p99.9.
const SUMMARY_QUANTILES: [f64; 4] = [0.50, 0.90, 0.99, 0.999];

/// The latency figures every report prints, in milliseconds. Only a non-empty histogram has
/// them: a latency of no request is absent, never 0 (a 0 ms p99 would read as "fast").
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LatencySummary {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl LatencySummary {
    /// Summarises a histogram of nanoseconds in one walk over its recorded buckets; `None`
    /// when it is empty (nothing was measured). Every figure is exactly the one of
    /// `h.mean()`, `h.value_at_quantile(q)` and `h.max()`.
    pub fn of<T: Counter>(h: &Histogram<T>) -> Option<LatencySummary> {
        if h.is_empty() {
            return None;
        }
        let pass = Pass::over(h, SUMMARY_QUANTILES);
        let [p50, p90, p99, p999] = pass.values.map(ms);
        Some(LatencySummary {
            mean: pass.mean / 1e6,
            p50,
            p90,
            p99,
            p999,
            max: ms(h.max()),
        })
    }

    /// The figures of the histogram that counts in layout `HALF` make — `recorded`, each
    /// (index, count) with a count, by increasing index, `total` their sum — without building
    /// it: [`LatencySummary::of`] of that histogram, to the bit, by the same formulas (see
    /// the module's comment) with the layout's values for the crate's (checked against the
    /// crate below). `None` when nothing was recorded. For counts kept without a histogram
    /// (an endpoint's [`super::LatencyCounts`], a time bucket's sparse entries): a report of
    /// a 1,000-service model reads thousands of them.
    pub fn of_recorded<const HALF: u32>(
        recorded: impl Iterator<Item = (u32, u64)>,
        total: u64,
    ) -> Option<LatencySummary> {
        let pass = Pass::<4>::over_recorded::<HALF>(recorded, total, SUMMARY_QUANTILES)?;
        let [p50, p90, p99, p999] = pass.values.map(ms);
        Some(LatencySummary {
            mean: pass.mean / 1e6,
            p50,
            p90,
            p99,
            p999,
            max: ms(Layout::<HALF>::highest_of(pass.last)),
        })
    }

    /// The values at `quantiles` (in increasing order) in milliseconds, as
    /// [`LatencySummary::quantiles_of`] gives them for the histogram counts in layout `HALF`
    /// make (`recorded` and `total` as [`LatencySummary::of_recorded`] takes them); `None`
    /// when nothing was recorded.
    pub fn quantiles_of_recorded<const HALF: u32, const N: usize>(
        recorded: impl Iterator<Item = (u32, u64)>,
        total: u64,
        quantiles: [f64; N],
    ) -> Option<[f64; N]> {
        let pass = Pass::<N>::over_recorded::<HALF>(recorded, total, quantiles)?;
        Some(pass.values.map(ms))
    }

    /// The values at `quantiles`, in milliseconds, and nothing else; `None` when `h` is
    /// empty. For a figure that needs only a few quantiles (p50 and p99 per time bucket):
    /// computing a mean or a p99.9 nobody prints is left out, and each quantile is the
    /// crate's own scan of the counts (or none: [`value_at_quantile`]), which stops at the
    /// quantile's bucket and costs less
    /// per bucket than a walk through its iterator: two scans are cheaper than one walk
    /// (callgrind: 42 k against 62 k instructions for p50 and p99 of a 500-request bucket
    /// histogram).
    pub fn quantiles_of<T: Counter, const N: usize>(
        h: &Histogram<T>,
        quantiles: [f64; N],
    ) -> Option<[f64; N]> {
        if h.is_empty() {
            return None;
        }
        Some(quantiles.map(|q| ms(value_at_quantile(h, q))))
    }
}

/// As `h.value_at_quantile(q)`, without its scan when the quantile's target is every value
/// recorded — p99 of a bucket of fewer than 100 requests, as per-bucket histograms of a large
/// model with short buckets are: the running sum reaches the total exactly at the bucket of
/// the largest value, whose highest equivalent value the histogram keeps. That holds when
/// no count saturated, which the total fitting in a count proves (each count is at most the
/// total), and the total itself did not saturate.
fn value_at_quantile<T: Counter>(h: &Histogram<T>, q: f64) -> u64 {
    let total = h.len();
    let exact_total = total < u64::MAX && T::from_u64(total).is_some();
    if q > 0.0 && exact_total && count_at_quantile(q, total) == total {
        return h.highest_equivalent(h.max());
    }
    h.value_at_quantile(q)
}

/// Nanoseconds to milliseconds, as every report shows latencies.
fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// What one walk over a histogram's recorded buckets gives: its mean and its values at `N`
/// quantiles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pass<const N: usize> {
    /// As `Histogram::mean` (0 for an empty histogram).
    pub mean: f64,
    /// As `Histogram::value_at_quantile` of each quantile, in the order given.
    pub values: [u64; N],
}

impl<const N: usize> Pass<N> {
    /// One walk over `h`'s recorded buckets. `quantiles` must be in increasing order (a
    /// programmer's error otherwise: asserted), so that each target count is reached at or
    /// after the previous one's bucket.
    pub fn over<T: Counter>(h: &Histogram<T>, quantiles: [f64; N]) -> Pass<N> {
        let total = h.len();
        let mut targets = Targets::new(quantiles, total);
        let mut mean = 0.0;
        if total == 0 {
            return Pass {
                mean,
                values: targets.values,
            };
        }
        // The iterator `mean()` uses: recorded buckets in increasing order, each with its
        // highest equivalent value and its count.
        for v in h.iter_recorded() {
            let (value, count) = (v.value_iterated_to(), v.count_at_value());
            // Term by term in bucket order, the same operations as `mean()`: the same f64.
            mean += h.median_equivalent(value) as f64 * count.as_f64() / total as f64;
            targets.reached(value, count.as_u64(), || h.lowest_equivalent(value));
        }
        Pass {
            mean,
            values: targets.values,
        }
    }
}

/// [`Pass`] over counts in layout `HALF`, with the index of the last one.
struct RecordedPass<const N: usize> {
    mean: f64,
    values: [u64; N],
    /// The index of the largest value recorded.
    last: u32,
}

impl<const N: usize> Pass<N> {
    /// [`Pass::over`] the histogram that `recorded` counts in layout `HALF` make (each
    /// (index, count) with a count, by increasing index; `total` their sum), as the
    /// iterator of recorded buckets would give them: each index's highest value, its count.
    /// `None` when nothing was recorded.
    fn over_recorded<const HALF: u32>(
        recorded: impl Iterator<Item = (u32, u64)>,
        total: u64,
        quantiles: [f64; N],
    ) -> Option<RecordedPass<N>> {
        if total == 0 {
            return None;
        }
        let mut targets = Targets::new(quantiles, total);
        let mut mean = 0.0;
        let mut last = None;
        for (i, count) in recorded {
            let middle = Layout::<HALF>::value_of(i) + (Layout::<HALF>::range_of(i) >> 1);
            // `median_equivalent(value) × count / total`, term by term: `mean()`'s f64.
            mean += middle as f64 * count as f64 / total as f64;
            targets.reached(Layout::<HALF>::highest_of(i), count, || {
                Layout::<HALF>::value_of(i)
            });
            last = Some(i);
        }
        Some(RecordedPass {
            mean,
            values: targets.values,
            last: last?,
        })
    }
}

/// The quantiles being looked for in a walk: the count each must reach, the running sum of
/// counts so far, and the values found.
struct Targets<const N: usize> {
    quantiles: [f64; N],
    counts: [u64; N],
    /// The first quantile not found yet.
    next: usize,
    running: u64,
    values: [u64; N],
}

impl<const N: usize> Targets<N> {
    fn new(quantiles: [f64; N], total: u64) -> Targets<N> {
        assert!(
            quantiles.windows(2).all(|w| w[0] <= w[1]),
            "quantiles in increasing order: {quantiles:?}"
        );
        Targets {
            quantiles,
            counts: quantiles.map(|q| count_at_quantile(q, total)),
            next: 0,
            running: 0,
            // The crate's answer when the running sum never reaches a target.
            values: [0; N],
        }
    }

    /// Takes the next bucket: `value` its highest equivalent value, `count` its count,
    /// `lowest` its lowest equivalent value (asked for only by a quantile of 0).
    fn reached(&mut self, value: u64, count: u64, lowest: impl Fn() -> u64) {
        self.running = self.running.saturating_add(count);
        while self.next < N && self.running >= self.counts[self.next] {
            // A quantile above 0 reports the bucket's highest equivalent value, exactly 0
            // its lowest.
            self.values[self.next] = if self.quantiles[self.next] == 0.0 {
                lowest()
            } else {
                value
            };
            self.next += 1;
        }
    }
}

/// The count the running sum must reach for quantile `q` of `total` values, exactly as
/// `Histogram::value_at_quantile` computes it: `q` capped at 1, rounded up, at least 1.
fn count_at_quantile(q: f64, total: u64) -> u64 {
    let q = if q > 1.0 { 1.0 } else { q };
    let count = (q * total as f64).ceil() as u64;
    count.max(1)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::results::{
        HISTOGRAM_MAX_NS, RecordNs, empty_latency_histogram, full_bucket_histogram,
        full_latency_histogram,
    };
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The figures as the crate computes them, one walk each: what every report printed
    /// before the one-pass summary, and must still print byte for byte.
    pub(in crate::results) fn crate_summary<T: Counter>(
        h: &Histogram<T>,
    ) -> Option<LatencySummary> {
        if h.is_empty() {
            return None;
        }
        let ms = |ns: u64| ns as f64 / 1e6;
        Some(LatencySummary {
            mean: h.mean() / 1e6,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        })
    }

    /// Bit for bit: `==` on f64 would let a -0.0 pass for a 0.0.
    pub(in crate::results) fn bits(s: Option<LatencySummary>) -> Option<[u64; 6]> {
        s.map(|s| [s.mean, s.p50, s.p90, s.p99, s.p999, s.max].map(f64::to_bits))
    }

    /// Checks one histogram: the summary, and a pass over awkward quantiles (0, tiny, equal
    /// neighbours, 1, above 1), against the crate's functions.
    fn check<T: Counter>(h: &Histogram<T>, what: &str) {
        assert_eq!(
            bits(LatencySummary::of(h)),
            bits(crate_summary(h)),
            "{what}: {:?} vs {:?}",
            LatencySummary::of(h),
            crate_summary(h)
        );
        let quantiles = [0.0, 1e-9, 0.25, 0.25, 0.5, 0.75, 0.999_999, 1.0, 1.5];
        let pass = Pass::over(h, quantiles);
        assert_eq!(pass.mean.to_bits(), h.mean().to_bits(), "{what}: mean");
        for (q, got) in quantiles.iter().zip(pass.values) {
            assert_eq!(got, h.value_at_quantile(*q), "{what}: value at {q}");
        }
        let two = LatencySummary::quantiles_of(h, [0.5, 0.99]);
        let want = crate_summary(h).map(|s| [s.p50, s.p99]);
        assert_eq!(two, want, "{what}: p50 and p99");
        let ends = [0.0, 1e-9, 0.99, 0.999_999, 1.0, 1.5];
        let want = (!h.is_empty()).then(|| ends.map(|q| ms(h.value_at_quantile(q))));
        assert_eq!(
            LatencySummary::quantiles_of(h, ends),
            want,
            "{what}: {ends:?}"
        );
    }

    /// A random value of one of several shapes: tight clusters, a wide uniform spread,
    /// heavy tails up to the histogram's limit and past it (clamped), and the extremes.
    fn value(rng: &mut ChaCha8Rng, shape: u32) -> u64 {
        match shape {
            0 => 1_000_000 + rng.next_u64() % 1_000,
            1 => rng.next_u64() % 50_000_000,
            2 => {
                let exponent = rng.next_u64() % 42;
                (1u64 << exponent) + rng.next_u64() % (1u64 << exponent)
            }
            3 => [0, 1, 2, HISTOGRAM_MAX_NS, HISTOGRAM_MAX_NS * 4][rng.next_u64() as usize % 5],
            _ => rng.next_u64() % 3,
        }
    }

    /// Fills `h` with `n` random values of `shape`, some recorded many times at once (large
    /// counts make the mean's f64 sum round differently if terms were added in another order).
    fn fill<T: Counter>(h: &mut Histogram<T>, rng: &mut ChaCha8Rng, shape: u32, n: u32) {
        for _ in 0..n {
            let v = value(rng, shape);
            let times = match rng.next_u32() % 8 {
                0 => 1 + rng.next_u64() % 1_000_000,
                _ => 1,
            };
            let times = T::from_u64(times).expect("a million fits any counter");
            h.saturating_record_n(v, times);
        }
    }

    // Goal: the one-pass summary gives, bit for bit, what hdrhistogram's own mean(),
    // value_at_quantile() and max() give, over many random latency (u64) histograms of
    // several shapes and sizes, the empty one and a single value included.
    #[test]
    fn one_pass_equals_the_crates_functions_on_latency_histograms() {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        check(&full_latency_histogram(), "empty");
        assert_eq!(LatencySummary::of(&full_latency_histogram()), None);
        for case in 0..400 {
            let mut h = full_latency_histogram();
            let shape = case % 5;
            let n = [1, 2, 3, 10, 1_000, 20_000][case as usize % 6];
            fill(&mut h, &mut rng, shape, n);
            check(&h, &format!("case {case}: shape {shape}, {n} records"));
        }
    }

    // Goal: the same on the per-time-bucket histograms (u32 counts, 2 significant figures),
    // including counts that saturate at u32::MAX while the total goes on counting, where the
    // crate's high quantiles find no bucket and answer 0.
    #[test]
    fn one_pass_equals_the_crates_functions_on_bucket_histograms() {
        let mut rng = ChaCha8Rng::seed_from_u64(2026);
        check(&full_bucket_histogram(), "empty");
        for case in 0..400 {
            let mut h = full_bucket_histogram();
            let shape = case % 5;
            let n = [1, 2, 5, 100, 5_000][case as usize % 5];
            fill(&mut h, &mut rng, shape, n);
            check(&h, &format!("case {case}: shape {shape}, {n} records"));
        }
        let mut saturated = full_bucket_histogram();
        saturated.saturating_record_n(1_000, u32::MAX);
        saturated.saturating_record_n(1_000, u32::MAX);
        saturated.saturating_record_n(5_000_000, 7);
        check(&saturated, "saturated u32 counts");
        assert_eq!(saturated.value_at_quantile(0.99), 0, "the crate's answer");
        // The edge of the shortcut: the p99 target of 99 values is all of them (the
        // largest is p99), of 100 values the 99th.
        for (n, p99_ns) in [(99, 70_000_000), (100, 3_000)] {
            let mut h = full_bucket_histogram();
            h.saturating_record_n(3_000, n - 1);
            h.saturating_record_n(70_000_000, 1);
            check(&h, &format!("p99 of {n} values"));
            let p99 = LatencySummary::quantiles_of(&h, [0.99]);
            assert_eq!(p99, Some([ms(h.highest_equivalent(p99_ns))]), "{n} values");
        }
    }

    // Goal: the same on the histograms a run hands to the reports other than freshly recorded
    // ones: the small auto-resizing empty one, and sums of several (how a message summary
    // over every queue is built), one value alone, and only zeros.
    #[test]
    fn one_pass_equals_the_crates_functions_on_added_and_extreme_histograms() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        check(&empty_latency_histogram(), "the small empty one");
        for case in 0..50 {
            let mut total = empty_latency_histogram();
            for part in 0..(case % 4) {
                let mut h = full_latency_histogram();
                fill(&mut h, &mut rng, (case + part) % 5, 200);
                total
                    .add(&h)
                    .expect("an auto-resizing histogram takes any other");
            }
            check(&total, &format!("sum {case}"));
        }
        for v in [0, 1, 2, 2_047, 2_048, 1_000_000, HISTOGRAM_MAX_NS, u64::MAX] {
            let mut one = full_latency_histogram();
            one.record_ns(v);
            check(&one, &format!("one value {v}"));
            let mut bucket = full_bucket_histogram();
            bucket.saturating_record_n(v, 3);
            check(&bucket, &format!("bucket, one value {v} three times"));
        }
    }

    // Goal: quantiles out of order are a programmer's error, refused loudly rather than
    // answered wrongly (each target is looked for after the previous one's bucket).
    #[test]
    #[should_panic(expected = "increasing order")]
    fn quantiles_out_of_order_are_refused() {
        let mut h = full_latency_histogram();
        h.record_ns(5);
        Pass::over(&h, [0.9, 0.5]);
    }
}

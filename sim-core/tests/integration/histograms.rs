//! Latency histograms that grow with their values (`new_latency_histogram`,
//! `new_bucket_histogram`, recorded with `RecordNs::record_ns`) must answer every question a
//! report asks exactly as the full-range histograms (1 ns to an hour) they replace: same
//! quantiles, mean (to the bit), max, min and recorded values, for the same recorded values,
//! extremes included. That is what keeps every output byte of a run the same while an
//! endpoint's histogram takes a fraction of the memory.

use hdrhistogram::{Counter, Histogram};
use rand::{Rng, RngExt};
use sim_core::results::{
    BucketLatency, HISTOGRAM_MAX_NS, HISTOGRAM_TOP_NS, LatencySummary, RecordNs,
    full_bucket_histogram, full_latency_histogram, new_bucket_histogram, new_latency_histogram,
};

/// Values at every edge: zero, the first bucket's end, one hour, the end of the full range's
/// counts and past it, the largest u64.
const EXTREMES: [u64; 14] = [
    0,
    1,
    2,
    255,
    256,
    2047,
    2048,
    2049,
    1_000_000_000,
    HISTOGRAM_MAX_NS,
    HISTOGRAM_MAX_NS + 1,
    HISTOGRAM_TOP_NS,
    HISTOGRAM_TOP_NS + 1,
    u64::MAX,
];

/// Random values: exponential around several means, and log-uniform over 0..2^50 (which
/// crosses the clamp).
fn random_values(seed: u64, n: usize) -> Vec<u64> {
    let mut rng = sim_core::rng::stream(seed, "test/histograms");
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let v = match i % 4 {
            0 => (-(1.0 - rng.random::<f64>()).ln() * 500_000.0) as u64,
            1 => (-(1.0 - rng.random::<f64>()).ln() * 2_000.0) as u64,
            2 => (-(1.0 - rng.random::<f64>()).ln() * 3e9) as u64,
            _ => {
                let bits = rng.random_range(0..50u32);
                rng.next_u64() >> (64 - bits.max(1))
            }
        };
        out.push(v);
    }
    out
}

/// Every figure the reports read, compared field by field (mean by its bits).
fn assert_same<T: Counter + std::fmt::Debug>(
    full: &Histogram<T>,
    grown: &Histogram<T>,
    what: &str,
) {
    assert_eq!(full.len(), grown.len(), "{what}: count");
    assert_eq!(full.max(), grown.max(), "{what}: max");
    assert_eq!(full.min(), grown.min(), "{what}: min");
    assert_eq!(full.min_nz(), grown.min_nz(), "{what}: min_nz");
    assert_eq!(
        full.mean().to_bits(),
        grown.mean().to_bits(),
        "{what}: mean"
    );
    for q in [0.0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0] {
        assert_eq!(
            full.value_at_quantile(q),
            grown.value_at_quantile(q),
            "{what}: quantile {q}"
        );
    }
    let recorded = |h: &Histogram<T>| -> Vec<(u64, u64)> {
        h.iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value().as_u64()))
            .collect()
    };
    assert_eq!(recorded(full), recorded(grown), "{what}: recorded values");
    assert_eq!(
        LatencySummary::of(full),
        LatencySummary::of(grown),
        "{what}: summary"
    );
}

#[allow(clippy::disallowed_methods)] // the full-range histogram is the reference
fn record_both<T: Counter>(full: &mut Histogram<T>, grown: &mut Histogram<T>, values: &[u64]) {
    for &v in values {
        full.saturating_record(v);
        grown.record_ns(v);
    }
}

#[test]
fn growing_latency_histograms_answer_like_full_range_ones() {
    // Goal: same answers for random data and every extreme, one value at a time too (the
    // growth happens while values arrive, in any order).
    for seed in 0..8 {
        let mut full = full_latency_histogram();
        let mut grown = new_latency_histogram();
        let mut values = random_values(seed, 20_000);
        if seed % 2 == 1 {
            values.extend(EXTREMES);
        }
        record_both(&mut full, &mut grown, &values);
        assert_same(&full, &grown, &format!("latency, seed {seed}"));
    }
    for &v in &EXTREMES {
        let (mut full, mut grown) = (full_latency_histogram(), new_latency_histogram());
        record_both(&mut full, &mut grown, &[v]);
        assert_same(&full, &grown, &format!("latency, only {v}"));
    }
}

#[test]
fn growing_bucket_histograms_answer_like_full_range_ones() {
    // Goal: the same for the per-time-bucket histograms (2 significant figures, u32 counts).
    for seed in 0..8 {
        let mut full = full_bucket_histogram();
        let mut grown = new_bucket_histogram();
        let mut values = random_values(100 + seed, 5_000);
        values.extend(EXTREMES);
        record_both(&mut full, &mut grown, &values);
        assert_same(&full, &grown, &format!("bucket, seed {seed}"));
    }
}

#[test]
fn growing_histograms_add_up_like_full_range_ones() {
    // Goal: a version's latency (endpoint histograms added into a new one) and a base
    // endpoint's (its versions' copies added in) are the same as with full-range histograms,
    // whichever of the two is wider.
    let mut full_sum = full_latency_histogram();
    let mut grown_sum = new_latency_histogram();
    for seed in 0..4 {
        let mut full = full_latency_histogram();
        let mut grown = new_latency_histogram();
        let values: Vec<u64> = random_values(200 + seed, 3_000)
            .into_iter()
            .map(|v| v >> (seed * 12))
            .collect();
        record_both(&mut full, &mut grown, &values);
        full_sum.add(&full).unwrap();
        grown_sum.add(&grown).unwrap();
        assert_same(&full_sum, &grown_sum, &format!("sum after {seed}"));
    }
}

#[test]
fn growing_histograms_take_only_the_range_recorded() {
    // Goal: the memory claim. Latencies under 10 ms keep under half the counts of the full
    // range; one value past an hour grows it to exactly the full range, never past it.
    let mut h = new_latency_histogram();
    for v in random_values(7, 10_000) {
        h.record_ns(v.min(10_000_000));
    }
    let full = full_latency_histogram().distinct_values();
    assert!(
        h.distinct_values() * 2 < full,
        "{} of {full} counts",
        h.distinct_values()
    );
    h.record_ns(u64::MAX);
    assert_eq!(h.distinct_values(), full);
    let mut b = new_bucket_histogram();
    b.record_ns(5_000_000);
    assert!(b.distinct_values() * 2 < full_bucket_histogram().distinct_values());
    b.record_ns(HISTOGRAM_TOP_NS);
    assert_eq!(
        b.distinct_values(),
        full_bucket_histogram().distinct_values()
    );
}

#[test]
fn bucket_latencies_answer_like_full_range_histograms() {
    // Goal: a time bucket's latencies, kept sparse while few and as a histogram past 1,024
    // distinct values, give the same histogram and summary as a full-range bucket histogram
    // of the same values: a handful, thousands (turned dense on the way), extremes.
    for (seed, n) in [(0, 1), (1, 7), (2, 100), (3, 1_500), (4, 40_000)] {
        let mut full = full_bucket_histogram();
        let mut sparse = BucketLatency::default();
        let mut values = random_values(300 + seed, n);
        if seed % 2 == 0 {
            values.extend(EXTREMES);
        }
        #[allow(clippy::disallowed_methods)] // the full-range histogram is the reference
        for &v in &values {
            full.saturating_record(v);
            sparse.record_ns(v);
        }
        assert_same(&full, &sparse.histogram(), &format!("{n} values"));
        assert_eq!(
            matches!(sparse, BucketLatency::Dense(_)),
            n > 1_024,
            "{n} values"
        );
        assert_eq!(LatencySummary::of(&full), sparse.summary(), "{n} values");
    }
    assert_eq!(BucketLatency::default().summary(), None);
}

#[test]
fn few_bucket_latencies_take_few_bytes() {
    // Goal: the memory claim for a bucket that saw a few requests (a workload of 15
    // requests/s in 0.5 s buckets): bytes per value recorded, not a histogram's 10 KiB.
    let mut b = BucketLatency::default();
    for v in random_values(9, 8) {
        b.record_ns(v);
    }
    assert!(b.heap_bytes() <= 8 * 8, "{} bytes", b.heap_bytes());
    assert!(std::mem::size_of::<BucketLatency>() <= 32);
}

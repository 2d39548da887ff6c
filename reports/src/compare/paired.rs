//! Paired differences: every variant against the baseline, seed by seed.
//!
//! The variants share their seeds and every random stream is derived from the seed and its
//! component's name (common random numbers), so on one seed two variants see the same
//! arrivals and the same dice: most of the noise is common to both and cancels in their
//! difference. The test is on the per-seed differences d_i = x_variant,i − x_baseline,i: their
//! mean ± t(0.975, m−1) · s_d / √m over the m seeds where both have a value. That interval is
//! much narrower than either variant's own when the runs are correlated, so a small but
//! consistent difference is seen where the two intervals overlap. A seed where either side
//! has no value (a statistic of an empty set) drops that pair; fewer than two pairs give no
//! interval and no judgement, so a missing value is never ranked.

use super::metrics::{Better, MetricInfo};
use crate::many::stats::Summary;

/// What a paired difference says about a variant against the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// The interval excludes 0 on the metric's good side.
    Better,
    /// The interval excludes 0 on the metric's bad side.
    Worse,
    /// The interval is above 0, for a metric without a known direction.
    Higher,
    /// The interval is below 0, for a metric without a known direction.
    Lower,
    /// The interval covers 0.
    NoClearDifference,
}

impl Judgement {
    /// The word in the JSON, CSV and tables.
    pub fn word(self) -> &'static str {
        match self {
            Judgement::Better => "better",
            Judgement::Worse => "worse",
            Judgement::Higher => "higher",
            Judgement::Lower => "lower",
            Judgement::NoClearDifference => "no clear difference",
        }
    }

    /// Whether the difference is clearly not 0.
    pub fn is_clear(self) -> bool {
        self != Judgement::NoClearDifference
    }
}

/// One variant against the baseline on one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    /// Seeds where both had a value.
    pub pairs: usize,
    /// Mean of the per-seed differences (variant − baseline) and the half-width of its 95%
    /// interval (`None` with fewer than two pairs).
    pub diff: Summary,
    /// `None` with fewer than two pairs: nothing is judged without an interval.
    pub judgement: Option<Judgement>,
    /// The means of the variant and of the baseline over the same pairs.
    pub mean: f64,
    pub baseline_mean: f64,
}

impl Paired {
    /// Equal on every seed: a difference of exactly 0 with an interval of exactly 0.
    pub fn is_same(&self) -> bool {
        self.diff.mean == 0.0 && self.diff.ci95 == Some(0.0)
    }

    /// The paired difference of `variant` against `baseline` (per seed, in seed order, `None`
    /// where a run has no value); `None` when no seed has both.
    pub fn of(
        info: &MetricInfo,
        variant: &[Option<f64>],
        baseline: &[Option<f64>],
    ) -> Option<Paired> {
        let (mut diffs, mut ours, mut theirs) = (Vec::new(), 0.0, 0.0);
        for (v, b) in variant.iter().zip(baseline) {
            if let (Some(v), Some(b)) = (v, b) {
                diffs.push(v - b);
                ours += v;
                theirs += b;
            }
        }
        if diffs.is_empty() {
            return None;
        }
        let pairs = diffs.len();
        let diff = Summary::of(&diffs);
        let judgement = diff.ci95.map(|_| judge(info.better(), diff.interval()));
        Some(Paired {
            pairs,
            diff,
            judgement,
            mean: ours / pairs as f64,
            baseline_mean: theirs / pairs as f64,
        })
    }
}

/// The judgement of an interval `(low, high)` of differences, for a metric that improves in
/// direction `better` (if known).
fn judge(better: Option<Better>, (low, high): (f64, f64)) -> Judgement {
    let side = if low > 0.0 {
        Better::Higher
    } else if high < 0.0 {
        Better::Lower
    } else {
        return Judgement::NoClearDifference;
    };
    match better {
        Some(b) if b == side => Judgement::Better,
        Some(_) => Judgement::Worse,
        None if side == Better::Higher => Judgement::Higher,
        None => Judgement::Lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::describe;

    // Goal: the interval is that of the per-seed differences (worked by hand), a seed missing
    // on either side drops its pair, one pair is not judged, and the judgement follows the
    // metric's direction (a p99 that rises is worse, a throughput that rises is better, a
    // `--metric` path only higher).
    #[test]
    fn paired_differences_by_hand() {
        let p99 = describe("workloads.w.latency_ms.p99");
        let base = [Some(10.0), Some(12.0), Some(14.0), Some(16.0), None];
        let ours = [Some(11.0), Some(13.5), Some(15.0), Some(17.5), Some(1.0)];
        let p = Paired::of(&p99, &ours, &base).unwrap();
        assert_eq!(p.pairs, 4, "the fifth seed has no baseline value");
        // Differences 1, 1.5, 1, 1.5: mean 1.25, s = 0.288675, t(3) = 3.182446.
        assert!((p.diff.mean - 1.25).abs() < 1e-12);
        let want = 3.182446 * 0.288675 / 2.0;
        assert!((p.diff.ci95.unwrap() - want).abs() < 1e-5, "{p:?}");
        assert_eq!(p.judgement, Some(Judgement::Worse));
        assert_eq!((p.mean, p.baseline_mean), (14.25, 13.0));
        let rps = describe("workloads.w.throughput_rps");
        let p = Paired::of(&rps, &ours, &base).unwrap();
        assert_eq!(p.judgement, Some(Judgement::Better));
        let picked = describe("services.a.utilization");
        let p = Paired::of(&picked, &ours, &base).unwrap();
        assert_eq!(p.judgement, Some(Judgement::Higher));
        let one = Paired::of(&p99, &[Some(1.0), None], &[Some(2.0), Some(3.0)]).unwrap();
        assert_eq!((one.pairs, one.judgement), (1, None));
        assert_eq!(Paired::of(&p99, &[None], &[Some(2.0)]), None);
        let noisy = Paired::of(&p99, &[Some(1.0), Some(3.0)], &[Some(2.0), Some(2.0)]).unwrap();
        assert_eq!(noisy.judgement, Some(Judgement::NoClearDifference));
    }
}

//! Mean and 95% confidence interval of a metric over seeds.
//!
//! Each seed is one independent replication, so the mean's interval is the Student t
//! interval: mean ± t(0.975, n−1) · s / √n, with s the sample standard deviation (n−1 in the
//! denominator). One seed has no interval. The t quantile comes from `statrs` (inverse of the
//! regularised incomplete beta function), exact for every n, not a table.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Confidence level of the intervals.
pub const CONFIDENCE: f64 = 0.95;

/// A metric over seeds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the mean; `None` with one seed.
    pub ci95: Option<f64>,
}

impl Summary {
    /// Summarises `values` (in seed order; the sums run in that order, so the result does not
    /// depend on how the runs were scheduled). `values` must not be empty.
    pub fn of(values: &[f64]) -> Summary {
        assert!(!values.is_empty(), "a summary needs at least one value");
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let ci95 = t_quantile(n).map(|t| {
            let ss: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
            let sd = (ss / (n - 1) as f64).sqrt();
            t * sd / (n as f64).sqrt()
        });
        Summary { n, mean, ci95 }
    }

    /// The interval `(low, high)`; a point with one seed.
    pub fn interval(&self) -> (f64, f64) {
        let h = self.ci95.unwrap_or(0.0);
        (self.mean - h, self.mean + h)
    }
}

/// t(0.975, n−1), the factor of the 95% interval for `n` seeds; `None` for fewer than two.
pub fn t_quantile(n: usize) -> Option<f64> {
    if n < 2 {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).expect("degrees of freedom >= 1");
    Some(t.inverse_cdf(0.5 + CONFIDENCE / 2.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: the quantiles match the printed t table (two-sided 95%) and tend to the normal's.
    #[test]
    fn t_quantiles_match_the_table() {
        for (n, want) in [
            (2, 12.706),
            (3, 4.303),
            (4, 3.182),
            (8, 2.365),
            (16, 2.131),
            (31, 2.042),
            (121, 1.980),
        ] {
            let t = t_quantile(n).unwrap();
            assert!((t - want).abs() < 5e-4, "n = {n}: {t}");
        }
        assert!((t_quantile(100_000).unwrap() - 1.95996).abs() < 1e-3);
        assert_eq!(t_quantile(1), None);
    }

    // Goal: the interval is t · s / √n, worked by hand for 2, 4, 6, 8 (mean 5, s = 2.582).
    #[test]
    fn interval_by_hand() {
        let s = Summary::of(&[2.0, 4.0, 6.0, 8.0]);
        assert_eq!(s.mean, 5.0);
        let want = 3.182446 * (20.0f64 / 3.0).sqrt() / 2.0;
        assert!((s.ci95.unwrap() - want).abs() < 1e-5, "{s:?}");
        let one = Summary::of(&[3.0]);
        assert_eq!((one.mean, one.ci95), (3.0, None));
        assert_eq!(Summary::of(&[1.0, 1.0]).ci95, Some(0.0));
    }
}

//! Distributions of durations: service times, link latencies, think times.
//!
//! Written in scenario files as `"5ms"` (constant), `"exp(MEAN)"`, `"uniform(LO, HI)"`,
//! `"normal(MEAN, SD)"` (cut at zero), `"lognormal(P50, P99)"` and `"pareto(SCALE, SHAPE)"`.
//! Samples are rounded to whole nanoseconds.

use std::fmt;

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};

use crate::time::{SimDuration, parse_duration};

/// z-score of the 99th percentile of the standard normal: lognormal(P50, P99) puts P99 here.
const Z_P99: f64 = 2.326_347_874_040_841;

/// A distribution of non-negative durations, ready to sample.
#[derive(Clone, Debug)]
pub enum Dist {
    Const(SimDuration),
    /// Exponential with the given mean (memoryless: M/M/c service and Poisson gaps).
    Exp {
        mean_ns: f64,
        exp: Exp<f64>,
    },
    /// Uniform between `lo` and `hi`, in nanoseconds.
    Uniform {
        lo_ns: f64,
        hi_ns: f64,
    },
    /// Normal, with negative samples cut to zero.
    Normal {
        mean_ns: f64,
        sd_ns: f64,
        normal: Normal<f64>,
    },
    /// Lognormal given by its median and 99th percentile: a long tail from two numbers.
    LogNormal {
        p50_ns: f64,
        p99_ns: f64,
        lognormal: LogNormal<f64>,
    },
    /// Pareto with minimum `scale` and tail index `shape`: heavy tails.
    Pareto {
        scale_ns: f64,
        shape: f64,
        pareto: Pareto<f64>,
    },
}

impl Dist {
    /// A constant zero: the default link latency.
    pub fn zero() -> Dist {
        Dist::Const(SimDuration::ZERO)
    }

    /// An exponential distribution with the given mean.
    pub fn exp(mean: SimDuration) -> Dist {
        let mean_ns = mean.as_nanos() as f64;
        let exp = Exp::new(1.0 / mean_ns.max(f64::MIN_POSITIVE)).expect("positive rate");
        Dist::Exp { mean_ns, exp }
    }

    /// Draws one duration.
    ///
    /// Inlined at every draw (a service's work, a hop's latency, a gap between arrivals): a
    /// constant and an exponential, the draws of most scenarios, then cost no call; the
    /// other shapes are drawn out of line by [`Dist::sample_shaped`], which keeps this small.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        match self {
            Dist::Const(d) => *d,
            Dist::Exp { exp, mean_ns } => {
                if *mean_ns == 0.0 {
                    return SimDuration::ZERO;
                }
                Dist::exp_draw(exp, rng)
            }
            _ => self.sample_shaped(rng),
        }
    }

    /// One exponential draw, rounded to whole nanoseconds: what `sample` draws for an
    /// exponential of nonzero mean, shared with the plain path's inlined link crossing
    /// (`plain::LinkPath::Exp`), so the two cannot draw differently.
    #[inline(always)]
    pub(crate) fn exp_draw<R: Rng + ?Sized>(exp: &Exp<f64>, rng: &mut R) -> SimDuration {
        SimDuration::from_nanos_f64(exp.sample(rng))
    }

    /// The exponential `sample` draws with [`Dist::exp_draw`], when this is an exponential
    /// of nonzero mean: a plain path decided at build then draws it without deciding the
    /// distribution again, and draws what `sample` draws.
    pub(crate) fn nonzero_exp(&self) -> Option<Exp<f64>> {
        match self {
            Dist::Exp { mean_ns, exp } if *mean_ns != 0.0 => Some(*exp),
            _ => None,
        }
    }

    /// A draw of a uniform, normal, lognormal or Pareto distribution.
    #[inline(never)]
    fn sample_shaped<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        let ns = match self {
            Dist::Const(d) => return *d,
            Dist::Exp { exp, .. } => exp.sample(rng),
            Dist::Uniform { lo_ns, hi_ns } => {
                let u: f64 = rand::RngExt::random(rng);
                lo_ns + (hi_ns - lo_ns) * u
            }
            Dist::Normal { normal, .. } => normal.sample(rng),
            Dist::LogNormal { lognormal, .. } => lognormal.sample(rng),
            Dist::Pareto { pareto, .. } => pareto.sample(rng),
        };
        SimDuration::from_nanos_f64(ns)
    }

    /// The mean in nanoseconds (for normal, of the uncut distribution; for Pareto with
    /// shape <= 1, infinite).
    pub fn mean_ns(&self) -> f64 {
        match self {
            Dist::Const(d) => d.as_nanos() as f64,
            Dist::Exp { mean_ns, .. } => *mean_ns,
            Dist::Uniform { lo_ns, hi_ns } => (lo_ns + hi_ns) / 2.0,
            Dist::Normal { mean_ns, .. } => *mean_ns,
            Dist::LogNormal { p50_ns, p99_ns, .. } => {
                let sigma = (p99_ns / p50_ns).ln() / Z_P99;
                p50_ns * (sigma * sigma / 2.0).exp()
            }
            Dist::Pareto {
                scale_ns, shape, ..
            } => {
                if *shape <= 1.0 {
                    f64::INFINITY
                } else {
                    shape * scale_ns / (shape - 1.0)
                }
            }
        }
    }

    /// True when every sample is exactly zero (lets the kernel skip scheduling a hop).
    pub fn is_zero(&self) -> bool {
        matches!(self, Dist::Const(d) if d.as_nanos() == 0)
    }
}

fn ns(d: SimDuration) -> f64 {
    d.as_nanos() as f64
}

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |x: f64| SimDuration::from_nanos_f64(x);
        match self {
            Dist::Const(c) => write!(f, "{c}"),
            Dist::Exp { mean_ns, .. } => write!(f, "exp({})", d(*mean_ns)),
            Dist::Uniform { lo_ns, hi_ns } => write!(f, "uniform({}, {})", d(*lo_ns), d(*hi_ns)),
            Dist::Normal { mean_ns, sd_ns, .. } => {
                write!(f, "normal({}, {})", d(*mean_ns), d(*sd_ns))
            }
            Dist::LogNormal { p50_ns, p99_ns, .. } => {
                write!(f, "lognormal({}, {})", d(*p50_ns), d(*p99_ns))
            }
            Dist::Pareto {
                scale_ns, shape, ..
            } => write!(f, "pareto({}, {shape})", d(*scale_ns)),
        }
    }
}

const ALLOWED: &str = "allowed: \"5ms\", \"exp(MEAN)\", \"uniform(LO, HI)\", \"normal(MEAN, SD)\", \
                       \"lognormal(P50, P99)\", \"pareto(SCALE, SHAPE)\"";

/// Parses a distribution string. The error says what was wrong and what is allowed.
pub fn parse_dist(text: &str) -> Result<Dist, String> {
    let t = text.trim();
    let Some(open) = t.find('(') else {
        return parse_duration(t)
            .map(Dist::Const)
            .map_err(|e| format!("{e}; or a distribution, {ALLOWED}"));
    };
    if !t.ends_with(')') {
        return Err(format!(
            "distribution \"{text}\" is missing its closing ')'; {ALLOWED}"
        ));
    }
    let name = t[..open].trim();
    let args: Vec<&str> = t[open + 1..t.len() - 1].split(',').map(str::trim).collect();
    let want = |n: usize| -> Result<(), String> {
        if args.len() == n && args.iter().all(|a| !a.is_empty()) {
            Ok(())
        } else {
            Err(format!(
                "{name}(…) takes {n} argument(s), got \"{text}\"; {ALLOWED}"
            ))
        }
    };
    let dur = |a: &str| parse_duration(a).map_err(|e| format!("in \"{text}\": {e}"));
    match name {
        "exp" => {
            want(1)?;
            let mean = dur(args[0])?;
            Ok(Dist::exp(mean))
        }
        "uniform" => {
            want(2)?;
            let (lo, hi) = (dur(args[0])?, dur(args[1])?);
            if lo > hi {
                return Err(format!("in \"{text}\": LO must not exceed HI"));
            }
            Ok(Dist::Uniform {
                lo_ns: ns(lo),
                hi_ns: ns(hi),
            })
        }
        "normal" => {
            want(2)?;
            let (mean, sd) = (dur(args[0])?, dur(args[1])?);
            let normal =
                Normal::new(ns(mean), ns(sd)).map_err(|e| format!("in \"{text}\": {e}"))?;
            Ok(Dist::Normal {
                mean_ns: ns(mean),
                sd_ns: ns(sd),
                normal,
            })
        }
        "lognormal" => {
            want(2)?;
            let (p50, p99) = (dur(args[0])?, dur(args[1])?);
            if p50.as_nanos() == 0 || p99 < p50 {
                return Err(format!("in \"{text}\": need 0 < P50 <= P99"));
            }
            let sigma = (ns(p99) / ns(p50)).ln() / Z_P99;
            let lognormal =
                LogNormal::new(ns(p50).ln(), sigma).map_err(|e| format!("in \"{text}\": {e}"))?;
            Ok(Dist::LogNormal {
                p50_ns: ns(p50),
                p99_ns: ns(p99),
                lognormal,
            })
        }
        "pareto" => {
            want(2)?;
            let scale = dur(args[0])?;
            let shape: f64 = args[1].parse().map_err(|_| {
                format!("in \"{text}\": SHAPE must be a plain number > 0, like 1.5")
            })?;
            if scale.as_nanos() == 0 || !shape.is_finite() || shape <= 0.0 {
                return Err(format!(
                    "in \"{text}\": need SCALE > 0 and a finite SHAPE > 0"
                ));
            }
            let pareto =
                Pareto::new(ns(scale), shape).map_err(|e| format!("in \"{text}\": {e}"))?;
            Ok(Dist::Pareto {
                scale_ns: ns(scale),
                shape,
                pareto,
            })
        }
        other => Err(format!(
            "unknown distribution \"{other}\" in \"{text}\"; {ALLOWED}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn mean_of(d: &Dist, n: usize) -> f64 {
        let mut rng = stream(1, "test");
        (0..n)
            .map(|_| d.sample(&mut rng).as_nanos() as f64)
            .sum::<f64>()
            / n as f64
    }

    /// Checks 100,000 draws of `d` against `raw`, the same draws unrounded from the same
    /// stream, rounded as before the short path; returns how many raw draws reached `long_ns`.
    fn rounded_draws<D: Distribution<f64>>(d: &Dist, raw: &D, seed: u64, long_ns: f64) -> usize {
        let (mut a, mut b) = (stream(seed, "test"), stream(seed, "test"));
        let mut long = 0;
        for _ in 0..100_000 {
            let x = raw.sample(&mut b);
            long += usize::from(x >= long_ns);
            let want = SimDuration::from_nanos_f64_general(x);
            assert_eq!(d.sample(&mut a), want, "{x}");
        }
        long
    }

    // Goal: a draw is its raw sample rounded half up, for the inlined exponential (a mean of
    // microseconds and one whose tail passes 2^62 ns, saturating at u64::MAX) and for a
    // shape drawn out of line (a Pareto whose tail passes u64::MAX).
    #[test]
    fn draws_round_half_up_and_saturate() {
        for mean_ns in [1_500u64, 2_000_000, 3_000_000_000_000_000_000] {
            let d = Dist::exp(SimDuration::from_nanos(mean_ns));
            let Dist::Exp { exp, .. } = &d else {
                panic!("an exponential");
            };
            let long = rounded_draws(&d, exp, 5, (1u64 << 62) as f64);
            assert_eq!(long > 0, mean_ns > 1 << 60, "the huge mean's tail is tried");
        }
        let d = parse_dist("pareto(1ms, 0.3)").unwrap();
        let Dist::Pareto { pareto, .. } = &d else {
            panic!("a Pareto");
        };
        let saturated = rounded_draws(&d, pareto, 6, u64::MAX as f64);
        assert!(saturated > 0, "the tail past u64::MAX is tried");
    }

    #[test]
    fn sample_means_match_the_stated_means() {
        // Goal: each distribution's sample mean lands within 1% of its analytic mean.
        for text in [
            "exp(2ms)",
            "uniform(1ms, 3ms)",
            "normal(10ms, 1ms)",
            "lognormal(2ms, 20ms)",
            "pareto(1ms, 3)",
        ] {
            let d = parse_dist(text).unwrap();
            let m = mean_of(&d, 400_000);
            let rel = (m - d.mean_ns()).abs() / d.mean_ns();
            assert!(rel < 0.01, "{text}: sample mean {m} vs {}", d.mean_ns());
        }
    }

    #[test]
    fn lognormal_p99_is_where_it_was_asked_for() {
        let d = parse_dist("lognormal(2ms, 20ms)").unwrap();
        let mut rng = stream(3, "test");
        let mut v: Vec<u64> = (0..200_000)
            .map(|_| d.sample(&mut rng).as_nanos())
            .collect();
        v.sort_unstable();
        let p50 = v[100_000] as f64;
        let p99 = v[198_000] as f64;
        assert!((p50 / 2e6 - 1.0).abs() < 0.02, "p50 {p50}");
        assert!((p99 / 20e6 - 1.0).abs() < 0.05, "p99 {p99}");
    }

    #[test]
    fn rejects_nonsense_with_what_is_allowed() {
        for bad in [
            "exp()",
            "exp(1ms, 2ms)",
            "gauss(1ms)",
            "uniform(3ms, 1ms)",
            "exp(1ms",
            "pareto(1ms, -2)",
            "lognormal(5ms, 1ms)",
            "fast",
        ] {
            let err = parse_dist(bad).unwrap_err();
            assert!(
                err.contains("allowed") || err.contains("need") || err.contains("must"),
                "{bad}: {err}"
            );
        }
    }
}

//! A workload's arrival rate as a function of time, and the exact arrival times it implies.
//!
//! Arrivals of an open-loop workload form a non-homogeneous Poisson process with intensity
//! λ(t). They are drawn by inversion: with Λ(t) = ∫₀ᵗ λ, the next arrival after `t` is the `x`
//! where Λ(x) − Λ(t) equals a unit exponential draw. Inversion uses exactly one random number
//! per arrival, so a variant that changes the curve (a bigger spike, say) moves arrival times
//! smoothly instead of reshuffling every later draw, which keeps common random numbers strong.
//! `arrival = "constant"` follows the curve deterministically: the same inversion with a draw
//! of exactly 1, so the k-th arrival is where Λ reaches k.
//!
//! The curve is a sequence of pieces that tile [0, ∞): each piece is linear (the points of a
//! schedule, flat after the last) or a sine, times a factor (the product of the spikes that
//! cover it). Both integrate in closed form; a linear piece also inverts in closed form and a
//! sine piece by a safeguarded Newton iteration on its monotone integral.

use std::f64::consts::TAU;

/// The shape of the rate on one piece, in requests per second, as a function of absolute time.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    /// `rate + slope × (t − start)`.
    Linear { rate: f64, slope: f64 },
    /// `mean + amplitude × sin(2π t / period + phase)`.
    Sine {
        mean: f64,
        amplitude: f64,
        omega: f64,
        phase: f64,
    },
}

/// One stretch of the curve: `factor × shape` on [start_s, end_s).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Piece {
    start_s: f64,
    /// `f64::INFINITY` for the last piece.
    end_s: f64,
    shape: Shape,
    factor: f64,
}

/// A temporary multiplier on top of a curve: `factor` on [at_s, at_s + for_s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spike {
    pub at_s: f64,
    pub for_s: f64,
    pub factor: f64,
}

/// An arrival rate over time (requests per second), λ(t) ≥ 0 everywhere.
#[derive(Clone, Debug, PartialEq)]
pub struct RateCurve {
    /// Contiguous, in time order, the first starting at 0 and the last ending at infinity.
    pieces: Vec<Piece>,
}

impl RateCurve {
    /// A constant rate.
    pub fn constant(rate_per_s: f64) -> RateCurve {
        RateCurve::from_points(&[(0.0, rate_per_s)])
    }

    /// `(time_s, rate)` points, linear in between, equal times making a step, the first rate
    /// holding before the first point and the last after the last. The caller validates: times
    /// finite, ≥ 0 and non-decreasing, rates finite and ≥ 0, at least one point.
    pub fn from_points(points: &[(f64, f64)]) -> RateCurve {
        let mut pieces = Vec::with_capacity(points.len() + 1);
        let (first_t, first_r) = points[0];
        if first_t > 0.0 {
            pieces.push(Piece::flat(0.0, first_t, first_r));
        }
        for pair in points.windows(2) {
            let ((t0, r0), (t1, r1)) = (pair[0], pair[1]);
            if t1 > t0 {
                let slope = (r1 - r0) / (t1 - t0);
                let shape = Shape::Linear { rate: r0, slope };
                pieces.push(Piece::new(t0, t1, shape));
            }
        }
        let (last_t, last_r) = points[points.len() - 1];
        pieces.push(Piece::flat(last_t, f64::INFINITY, last_r));
        RateCurve { pieces }
    }

    /// `mean + amplitude × sin(2π t / period + phase)`; the caller validates
    /// 0 ≤ amplitude ≤ mean and period > 0.
    pub fn sine(mean: f64, amplitude: f64, period_s: f64, phase: f64) -> RateCurve {
        let shape = Shape::Sine {
            mean,
            amplitude,
            omega: TAU / period_s,
            phase,
        };
        RateCurve {
            pieces: vec![Piece::new(0.0, f64::INFINITY, shape)],
        }
    }

    /// The curve with `spike`'s factor applied on its window (spikes that overlap multiply).
    pub fn with_spike(mut self, spike: Spike) -> RateCurve {
        let (from, to) = (spike.at_s, spike.at_s + spike.for_s);
        self.split_at(from);
        self.split_at(to);
        for piece in &mut self.pieces {
            if piece.start_s >= from && piece.end_s <= to {
                piece.factor *= spike.factor;
            }
        }
        self
    }

    /// What the curve holds on the heap, for the memory estimate.
    pub fn heap_bytes(&self) -> u64 {
        (self.pieces.len() * size_of::<Piece>()) as u64
    }

    /// λ(t) in requests per second.
    pub fn rate_at(&self, t_s: f64) -> f64 {
        self.pieces[self.piece_index(t_s)].rate_at(t_s)
    }

    /// ∫ λ over [a_s, b_s]: the expected number of arrivals in that window.
    pub fn integral(&self, a_s: f64, b_s: f64) -> f64 {
        if b_s <= a_s {
            return 0.0;
        }
        let mut total = 0.0;
        for piece in &self.pieces[self.piece_index(a_s)..] {
            if piece.start_s >= b_s {
                break;
            }
            total += piece.integral(a_s.max(piece.start_s), b_s.min(piece.end_s));
        }
        total
    }

    /// The largest rate the curve reaches on [0, until_s] (an upper bound for sizing checks).
    pub fn max_rate(&self, until_s: f64) -> f64 {
        self.pieces
            .iter()
            .take_while(|p| p.start_s < until_s)
            .map(|p| p.max_rate(until_s))
            .fold(0.0, f64::max)
    }

    /// The time `x > t_s` where ∫ₜˣ λ = `mass`, or `None` when the curve never accumulates that
    /// much more (it is 0 from some point on). `mass` > 0.
    pub fn advance(&self, t_s: f64, mass: f64) -> Option<f64> {
        let mut left = mass;
        let mut from = t_s;
        for piece in &self.pieces[self.piece_index(t_s)..] {
            let here = piece.integral(from, piece.end_s);
            if here >= left {
                return Some(piece.invert(from, left));
            }
            left -= here;
            from = piece.end_s;
        }
        None
    }

    /// Index of the piece holding `t_s` (the first for times before 0).
    fn piece_index(&self, t_s: f64) -> usize {
        self.pieces
            .partition_point(|p| p.end_s <= t_s)
            .min(self.pieces.len() - 1)
    }

    /// Splits the piece holding `t_s` in two at `t_s` (nothing if a piece starts there).
    fn split_at(&mut self, t_s: f64) {
        if t_s <= 0.0 || !t_s.is_finite() {
            return;
        }
        let i = self.piece_index(t_s);
        let piece = self.pieces[i];
        if piece.start_s == t_s {
            return;
        }
        let mut right = piece;
        right.start_s = t_s;
        if let Shape::Linear { rate, slope } = piece.shape {
            right.shape = Shape::Linear {
                rate: rate + slope * (t_s - piece.start_s),
                slope,
            };
        }
        self.pieces[i].end_s = t_s;
        self.pieces.insert(i + 1, right);
    }
}

impl Piece {
    fn new(start_s: f64, end_s: f64, shape: Shape) -> Piece {
        Piece {
            start_s,
            end_s,
            shape,
            factor: 1.0,
        }
    }

    fn flat(start_s: f64, end_s: f64, rate: f64) -> Piece {
        Piece::new(start_s, end_s, Shape::Linear { rate, slope: 0.0 })
    }

    fn rate_at(&self, t_s: f64) -> f64 {
        let raw = match self.shape {
            Shape::Linear { rate, slope } => rate + slope * (t_s - self.start_s),
            Shape::Sine {
                mean,
                amplitude,
                omega,
                phase,
            } => mean + amplitude * (omega * t_s + phase).sin(),
        };
        (self.factor * raw).max(0.0)
    }

    fn max_rate(&self, until_s: f64) -> f64 {
        match self.shape {
            Shape::Linear { .. } => {
                let end = self.end_s.min(until_s);
                self.rate_at(self.start_s).max(self.rate_at(end))
            }
            Shape::Sine {
                mean, amplitude, ..
            } => self.factor * (mean + amplitude),
        }
    }

    /// ∫ over [a, b] ⊆ this piece (b may be infinite).
    fn integral(&self, a: f64, b: f64) -> f64 {
        if b <= a {
            return 0.0;
        }
        let raw = match self.shape {
            Shape::Linear { rate, slope } => {
                if b.is_infinite() {
                    return if rate > 0.0 || slope > 0.0 {
                        f64::INFINITY
                    } else {
                        0.0
                    };
                }
                let (da, db) = (a - self.start_s, b - self.start_s);
                rate * (db - da) + 0.5 * slope * (db * db - da * da)
            }
            Shape::Sine {
                mean,
                amplitude,
                omega,
                phase,
            } => {
                if b.is_infinite() {
                    return if mean > 0.0 { f64::INFINITY } else { 0.0 };
                }
                mean * (b - a)
                    - amplitude / omega * ((omega * b + phase).cos() - (omega * a + phase).cos())
            }
        };
        (self.factor * raw).max(0.0)
    }

    /// The `x` in [a, end] with ∫ₐˣ = mass, given that the piece holds at least that much.
    fn invert(&self, a: f64, mass: f64) -> f64 {
        let x = match self.shape {
            Shape::Linear { rate, slope } => {
                let r_a = rate + slope * (a - self.start_s);
                let m = mass / self.factor;
                if slope == 0.0 {
                    a + m / r_a
                } else {
                    // s/2 d² + r_a d − m = 0, in the form that does not cancel for small s.
                    let disc = (r_a * r_a + 2.0 * slope * m).max(0.0);
                    a + 2.0 * m / (r_a + disc.sqrt())
                }
            }
            Shape::Sine { mean, .. } => self.invert_sine(a, mass, mean),
        };
        x.clamp(a, self.end_s)
    }

    /// Newton's method on the monotone integral, kept inside a shrinking bracket.
    fn invert_sine(&self, a: f64, mass: f64, mean: f64) -> f64 {
        let f = |x: f64| self.integral(a, x) - mass;
        // Bracket: the integral over any interval of length L is at least factor·(mean − amp)·L
        // and at most factor·(mean + amp)·L; widen from the mean's guess until it holds.
        let mut lo = a;
        let mut hi = if self.end_s.is_finite() {
            self.end_s
        } else {
            let mut step = mass / (self.factor * mean);
            while f(a + step) < 0.0 {
                step *= 2.0;
            }
            a + step
        };
        let mut x = (a + mass / (self.factor * mean)).clamp(lo, hi);
        for _ in 0..100 {
            let fx = f(x);
            if fx.abs() <= 1e-12 * mass.max(1.0) {
                break;
            }
            if fx < 0.0 {
                lo = x;
            } else {
                hi = x;
            }
            let slope = self.rate_at(x);
            let newton = x - fx / slope;
            x = if slope > 0.0 && newton > lo && newton < hi {
                newton
            } else {
                0.5 * (lo + hi)
            };
            if hi - lo <= 1e-12 * hi.abs().max(1.0) {
                break;
            }
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn points_are_linear_in_between_step_at_equal_times_and_flat_after() {
        // Goal: the schedule's documented meaning, point by point.
        let c = RateCurve::from_points(&[
            (0.0, 200.0),
            (60.0, 200.0),
            (60.0, 1000.0),
            (120.0, 1000.0),
            (150.0, 200.0),
        ]);
        assert_eq!(c.rate_at(30.0), 200.0);
        assert_eq!(c.rate_at(59.999), 200.0);
        assert_eq!(c.rate_at(60.0), 1000.0);
        assert!(close(c.rate_at(135.0), 600.0));
        assert_eq!(c.rate_at(1e6), 200.0);
        // Area: 60 s at 200 + 60 s at 1000 + a 30 s ramp from 1000 to 200.
        assert!(close(
            c.integral(0.0, 150.0),
            12_000.0 + 60_000.0 + 18_000.0
        ));
    }

    #[test]
    fn a_first_point_after_zero_holds_its_rate_before_it() {
        let c = RateCurve::from_points(&[(10.0, 5.0), (20.0, 15.0)]);
        assert_eq!(c.rate_at(0.0), 5.0);
        assert!(close(c.integral(0.0, 20.0), 50.0 + 100.0));
    }

    #[test]
    fn advance_inverts_the_integral() {
        // Goal: for every shape, the time `advance` returns accumulates exactly the mass asked.
        let curves = [
            RateCurve::from_points(&[
                (0.0, 0.0),
                (10.0, 100.0),
                (20.0, 0.0),
                (30.0, 0.0),
                (31.0, 50.0),
            ]),
            RateCurve::sine(500.0, 300.0, 86_400.0, 0.0),
            RateCurve::sine(10.0, 10.0, 7.0, 1.3),
            RateCurve::constant(3.0).with_spike(Spike {
                at_s: 2.0,
                for_s: 1.5,
                factor: 5.0,
            }),
        ];
        for c in &curves {
            for &(t, mass) in &[
                (0.0, 0.3),
                (0.5, 1.0),
                (9.9, 7.0),
                (19.0, 40.0),
                (25.0, 3.0),
                (100.0, 1000.0),
            ] {
                let x = c.advance(t, mass).expect("the curve keeps a positive rate");
                assert!(x >= t, "{x} < {t}");
                assert!(
                    close(c.integral(t, x), mass),
                    "{c:?} from {t} by {mass}: {x} holds {}",
                    c.integral(t, x)
                );
            }
        }
    }

    #[test]
    fn a_curve_that_falls_to_zero_forever_ends_its_arrivals() {
        let c = RateCurve::from_points(&[(0.0, 10.0), (1.0, 0.0)]);
        assert!(close(c.integral(0.0, 1e9), 5.0));
        assert!(c.advance(0.0, 4.9).is_some());
        assert_eq!(c.advance(0.0, 5.1), None);
    }

    #[test]
    fn spikes_multiply_their_window_only_and_overlaps_multiply() {
        let c = RateCurve::constant(10.0)
            .with_spike(Spike {
                at_s: 5.0,
                for_s: 10.0,
                factor: 5.0,
            })
            .with_spike(Spike {
                at_s: 10.0,
                for_s: 10.0,
                factor: 2.0,
            });
        assert_eq!(c.rate_at(4.0), 10.0);
        assert_eq!(c.rate_at(7.0), 50.0);
        assert_eq!(c.rate_at(12.0), 100.0);
        assert_eq!(c.rate_at(17.0), 20.0);
        assert_eq!(c.rate_at(21.0), 10.0);
        assert!(close(
            c.integral(0.0, 25.0),
            50.0 + 250.0 + 500.0 + 100.0 + 50.0
        ));
    }

    #[test]
    fn a_spike_on_a_ramp_keeps_the_ramp() {
        let c = RateCurve::from_points(&[(0.0, 0.0), (100.0, 100.0)]).with_spike(Spike {
            at_s: 40.0,
            for_s: 20.0,
            factor: 3.0,
        });
        assert!(close(c.rate_at(50.0), 150.0));
        assert!(close(c.rate_at(70.0), 70.0));
        assert!(close(c.integral(40.0, 60.0), 3.0 * 1000.0));
    }

    #[test]
    fn the_sine_integrates_to_its_mean_over_whole_periods() {
        let c = RateCurve::sine(500.0, 300.0, 60.0, 0.7);
        assert!(close(c.integral(13.0, 13.0 + 600.0), 500.0 * 600.0));
        assert_eq!(c.max_rate(1e9), 800.0);
    }
}

/// A closed loop's number of users over time: `(time_s, users)` points, linear in between and
/// rounded to the nearest whole user, equal times making a step, flat before the first point
/// and after the last.
#[derive(Clone, Debug, PartialEq)]
pub struct UserCurve {
    /// Non-decreasing times, users ≥ 0 (validated by the parser).
    points: Vec<(f64, f64)>,
}

impl UserCurve {
    pub fn from_points(points: &[(f64, f64)]) -> UserCurve {
        UserCurve {
            points: points.to_vec(),
        }
    }

    /// What the curve holds on the heap, for the memory estimate.
    pub fn heap_bytes(&self) -> u64 {
        (self.points.len() * size_of::<(f64, f64)>()) as u64
    }

    /// The most users at any time.
    pub fn max_users(&self) -> u32 {
        self.points
            .iter()
            .map(|&(_, u)| round_users(u))
            .max()
            .unwrap_or(0)
    }

    /// Users wanted at `t_s`.
    pub fn users_at(&self, t_s: f64) -> u32 {
        round_users(self.exact_at(t_s))
    }

    /// The first time after `t_s` at which [`users_at`](Self::users_at) differs from its
    /// value at `t_s`, or `None` if it never changes again.
    pub fn next_change(&self, t_s: f64) -> Option<f64> {
        let now = self.users_at(t_s);
        // The last point at or before t (the last of equal times: a step has happened).
        let mut i = self.points.partition_point(|&(t, _)| t <= t_s);
        if i == 0 {
            // Before the first point the first value holds; it may step there.
            let (t0, _) = self.points[0];
            if self.users_at(t0) != now {
                return Some(t0);
            }
            i = 1;
        }
        let mut from = t_s;
        for k in i - 1..self.points.len() - 1 {
            let ((t0, u0), (t1, u1)) = (self.points[k], self.points[k + 1]);
            if t1 <= from {
                continue;
            }
            // Where the line crosses the next rounding threshold (floor(u + 0.5) changes).
            let threshold = if u1 > u0 {
                f64::from(now) + 0.5
            } else {
                f64::from(now) - 0.5
            };
            if u1 != u0 && (threshold - u0) / (u1 - u0) < 1.0 {
                let mut at = t0 + (threshold - u0) / (u1 - u0) * (t1 - t0);
                if u1 < u0 {
                    // Rounding half up keeps the higher count at the crossing itself: the
                    // count drops just after it (one nanosecond, the clock's resolution).
                    at += 1e-9;
                }
                if at > from {
                    return Some(at);
                }
            }
            if self.users_at(t1) != now {
                return Some(t1);
            }
            from = t1;
        }
        None
    }

    fn exact_at(&self, t_s: f64) -> f64 {
        let i = self.points.partition_point(|&(t, _)| t <= t_s);
        if i == 0 {
            return self.points[0].1;
        }
        if i == self.points.len() {
            return self.points[i - 1].1;
        }
        let ((t0, u0), (t1, u1)) = (self.points[i - 1], self.points[i]);
        u0 + (u1 - u0) * (t_s - t0) / (t1 - t0)
    }
}

fn round_users(u: f64) -> u32 {
    (u + 0.5).floor().clamp(0.0, f64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod user_tests {
    use super::*;

    #[test]
    fn user_counts_ramp_step_and_change_one_at_a_time() {
        // Goal: a ramp 10 -> 14 over 4 s changes by one user at each half-user crossing; a step
        // (equal times) changes at once.
        let c = UserCurve::from_points(&[(0.0, 10.0), (4.0, 14.0), (6.0, 14.0), (6.0, 2.0)]);
        assert_eq!(c.users_at(0.0), 10);
        assert_eq!(c.users_at(0.49), 10);
        assert_eq!(c.users_at(0.5), 11);
        assert_eq!(c.users_at(5.0), 14);
        assert_eq!(c.users_at(6.0), 2);
        let mut t = 0.0;
        let mut seen = vec![c.users_at(t)];
        while let Some(next) = c.next_change(t) {
            assert!(next > t);
            t = next;
            seen.push(c.users_at(t));
        }
        assert_eq!(seen, vec![10, 11, 12, 13, 14, 2]);
    }

    #[test]
    fn a_ramp_down_and_a_first_point_after_zero() {
        let c = UserCurve::from_points(&[(2.0, 3.0), (5.0, 0.0)]);
        assert_eq!(c.users_at(0.0), 3);
        let mut t = 0.0;
        let mut seen = vec![c.users_at(t)];
        while let Some(next) = c.next_change(t) {
            t = next;
            seen.push(c.users_at(t));
        }
        assert_eq!(seen, vec![3, 2, 1, 0]);
        assert_eq!(c.max_users(), 3);
    }
}

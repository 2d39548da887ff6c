//! Time averages of a service's state: busy workers, requests in system, requests queued.
//!
//! Each change of a level adds `value * elapsed` to an area, so a time average costs a few
//! integer operations per change and no memory per request. Snapshots of the areas at the end
//! of warmup, at the end of arrivals and at every bucket boundary give the measured-window
//! averages (for Little's law and utilization) and the per-bucket averages (for plots).

use crate::model::Model;
use crate::time::SimTime;

/// Which level: index into the arrays below.
pub const BUSY: usize = 0;
pub const IN_SYSTEM: usize = 1;
pub const QUEUED: usize = 2;

/// Boundaries shared by every service's levels.
#[derive(Clone, Copy, Debug)]
pub struct Marks {
    pub warmup: SimTime,
    pub end_of_arrivals: SimTime,
    pub bucket_ns: u64,
    pub buckets: usize,
}

impl Marks {
    /// The boundaries of a run of `model`: warmup, end of arrivals, and the time buckets over
    /// duration + drain. The memory estimate (`footprint`) counts buckets from here too, so
    /// it sizes exactly what the run keeps.
    pub fn of(model: &Model) -> Marks {
        let end_of_arrivals = SimTime::ZERO + model.duration;
        let horizon = end_of_arrivals + model.drain;
        let bucket_ns = model.bucket.as_nanos().max(1);
        Marks {
            warmup: SimTime::ZERO + model.warmup,
            end_of_arrivals,
            bucket_ns,
            buckets: horizon.0.div_ceil(bucket_ns).max(1) as usize,
        }
    }
}

/// A service's levels: in system is busy + queued at every instant, so its area is the sum
/// of theirs (exactly: integer areas) and only two levels advance per change. Written by
/// changing `value[BUSY]` and `value[QUEUED]` alone; `value[IN_SYSTEM]` stays 0.
pub type ServiceLevels = Levels<true>;

/// Three levels, each with its own area; with `SUM`, the in-system level is not kept but
/// derived as busy + queued (`ServiceLevels`). A broker's depth or an autoscaler's replica
/// counts are levels of their own (`SUM = false`).
#[derive(Clone, Debug)]
pub struct Levels<const SUM: bool = false> {
    last: SimTime,
    pub value: [u64; 3],
    area: [u128; 3],
    /// Earliest time at which `advance` must take a snapshot.
    next_mark: SimTime,
    at_warmup: Option<[u128; 3]>,
    at_end: Option<[u128; 3]>,
    /// Cumulative in-system area at each bucket boundary crossed so far.
    in_system_at_boundary: Vec<u128>,
}

impl<const SUM: bool> Levels<SUM> {
    /// The levels advanced per change: all three, or busy and queued when in system is
    /// their sum.
    const KEPT: &'static [usize] = if SUM {
        &[BUSY, QUEUED]
    } else {
        &[BUSY, IN_SYSTEM, QUEUED]
    };

    pub fn new(marks: &Marks) -> Levels<SUM> {
        let mut l = Levels {
            last: SimTime::ZERO,
            value: [0; 3],
            area: [0; 3],
            next_mark: SimTime::ZERO,
            at_warmup: None,
            at_end: None,
            in_system_at_boundary: Vec::with_capacity(marks.buckets),
        };
        l.next_mark = l.compute_next_mark(marks);
        l
    }

    /// Accounts for the time since the last change, up to `now`. Call before every change.
    /// Always inlined (a few integer operations; the marks are crossed out of line): it runs
    /// twice per request, and a call costs as much as the work.
    #[inline(always)]
    pub fn advance(&mut self, now: SimTime, marks: &Marks) {
        if now >= self.next_mark {
            self.cross_marks(now, marks);
        }
        let dt = u128::from(now.0 - self.last.0);
        for &i in Self::KEPT {
            self.area[i] += u128::from(self.value[i]) * dt;
        }
        self.last = now;
    }

    #[cold]
    #[inline(never)]
    fn cross_marks(&mut self, now: SimTime, marks: &Marks) {
        while now >= self.next_mark && self.next_mark != SimTime::MAX {
            let mark = self.next_mark;
            let at_mark = self.area_at(mark);
            if self.at_warmup.is_none() && mark == marks.warmup {
                self.at_warmup = Some(at_mark);
            }
            if self.at_end.is_none() && mark == marks.end_of_arrivals {
                self.at_end = Some(at_mark);
            }
            let boundary = (self.in_system_at_boundary.len() as u64 + 1) * marks.bucket_ns;
            if mark.0 == boundary && self.in_system_at_boundary.len() < marks.buckets {
                self.in_system_at_boundary.push(at_mark[IN_SYSTEM]);
            }
            self.next_mark = self.compute_next_mark(marks);
        }
    }

    /// The areas up to the last `advance`: integrals of the levels since t = 0 (level × ns).
    pub fn area_now(&self) -> [u128; 3] {
        Self::summed(self.area)
    }

    fn area_at(&self, t: SimTime) -> [u128; 3] {
        let dt = u128::from(t.0.saturating_sub(self.last.0));
        let mut a = self.area;
        for &i in Self::KEPT {
            a[i] += u128::from(self.value[i]) * dt;
        }
        Self::summed(a)
    }

    /// The areas with in system filled in as busy + queued, when it is their sum.
    #[inline]
    fn summed(mut area: [u128; 3]) -> [u128; 3] {
        if SUM {
            area[IN_SYSTEM] = area[BUSY] + area[QUEUED];
        }
        area
    }

    fn compute_next_mark(&self, marks: &Marks) -> SimTime {
        let mut next = SimTime::MAX;
        if self.at_warmup.is_none() {
            next = next.min(marks.warmup);
        }
        if self.at_end.is_none() {
            next = next.min(marks.end_of_arrivals);
        }
        if self.in_system_at_boundary.len() < marks.buckets {
            next = next.min(SimTime(
                (self.in_system_at_boundary.len() as u64 + 1) * marks.bucket_ns,
            ));
        }
        next
    }

    /// Time averages of the three levels over [warmup, end of arrivals]; call after advancing
    /// past the end of arrivals.
    pub fn window_means(&self, marks: &Marks) -> [f64; 3] {
        let (Some(w), Some(e)) = (self.at_warmup, self.at_end) else {
            return [0.0; 3];
        };
        let span = marks.end_of_arrivals.0.saturating_sub(marks.warmup.0);
        if span == 0 {
            return [0.0; 3];
        }
        let mut out = [0.0; 3];
        for i in 0..3 {
            out[i] = (e[i] - w[i]) as f64 / span as f64;
        }
        out
    }

    /// Mean requests in system per bucket, for every bucket whose end was reached.
    pub fn in_system_per_bucket(&self, marks: &Marks) -> Vec<f64> {
        let mut prev = 0u128;
        self.in_system_at_boundary
            .iter()
            .map(|&cum| {
                let mean = (cum - prev) as f64 / marks.bucket_ns as f64;
                prev = cum;
                mean
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_a_known_step_function() {
        // Goal: a level of 2 from t=0..10 and 4 from t=10..20 averages 3 over [0,20]
        // and 4 over [10,20], and per-bucket means follow the steps.
        let marks = Marks {
            warmup: SimTime(10),
            end_of_arrivals: SimTime(20),
            bucket_ns: 5,
            buckets: 4,
        };
        let mut l = Levels::<false>::new(&marks);
        l.advance(SimTime(0), &marks);
        l.value[IN_SYSTEM] = 2;
        l.advance(SimTime(10), &marks);
        l.value[IN_SYSTEM] = 4;
        l.advance(SimTime(25), &marks);
        assert_eq!(l.window_means(&marks)[IN_SYSTEM], 4.0);
        assert_eq!(l.in_system_per_bucket(&marks), vec![2.0, 2.0, 4.0, 4.0]);
    }

    // Goal: a service's levels, which keep busy and queued only, give exactly the in-system
    // averages (window and per bucket) and areas of three levels kept apart with in system
    // set to busy + queued at every change: the same f64 bits, across warmup, the end of
    // arrivals and bucket boundaries crossed between changes.
    #[test]
    fn derived_in_system_equals_the_kept_sum() {
        let marks = Marks {
            warmup: SimTime(1_000),
            end_of_arrivals: SimTime(9_000),
            bucket_ns: 700,
            buckets: 15,
        };
        let mut kept = Levels::<false>::new(&marks);
        let mut derived = ServiceLevels::new(&marks);
        let (mut busy, mut queued) = (0u64, 0u64);
        // A deterministic walk of arrivals and departures at uneven times.
        let mut x = 12_345u64;
        let mut t = 0u64;
        for _ in 0..400 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            t += (x >> 33) % 61;
            kept.advance(SimTime(t), &marks);
            derived.advance(SimTime(t), &marks);
            match (x >> 20) % 4 {
                0 | 1 if busy < 3 => busy += 1,
                0 | 1 => queued += 1,
                2 if queued > 0 => queued -= 1,
                _ => busy = busy.saturating_sub(1),
            }
            kept.value = [busy, busy + queued, queued];
            derived.value[BUSY] = busy;
            derived.value[QUEUED] = queued;
        }
        let end = SimTime(t.max(11_000) + 1);
        kept.advance(end, &marks);
        derived.advance(end, &marks);
        assert!(t > 9_000, "the walk crosses every mark");
        assert_eq!(kept.area_now(), derived.area_now());
        let (k, d) = (kept.window_means(&marks), derived.window_means(&marks));
        assert_eq!(k.map(f64::to_bits), d.map(f64::to_bits));
        assert!(d[IN_SYSTEM] > 0.0);
        assert_eq!(
            kept.in_system_per_bucket(&marks),
            derived.in_system_per_bucket(&marks)
        );
        assert_eq!(derived.in_system_per_bucket(&marks).len(), 15);
    }
}

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

#[derive(Clone, Debug)]
pub struct Levels {
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

impl Levels {
    pub fn new(marks: &Marks) -> Levels {
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
        for i in 0..3 {
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
        self.area
    }

    fn area_at(&self, t: SimTime) -> [u128; 3] {
        let dt = u128::from(t.0.saturating_sub(self.last.0));
        let mut a = self.area;
        for (i, v) in a.iter_mut().enumerate() {
            *v += u128::from(self.value[i]) * dt;
        }
        a
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
        let mut l = Levels::new(&marks);
        l.advance(SimTime(0), &marks);
        l.value[IN_SYSTEM] = 2;
        l.advance(SimTime(10), &marks);
        l.value[IN_SYSTEM] = 4;
        l.advance(SimTime(25), &marks);
        assert_eq!(l.window_means(&marks)[IN_SYSTEM], 4.0);
        assert_eq!(l.in_system_per_bucket(&marks), vec![2.0, 2.0, 4.0, 4.0]);
    }
}

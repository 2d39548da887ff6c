//! Versions at run time: which version a request goes to (by weight), the weights' steps
//! over time (`rollout`), and the automatic rollback when a version fails too often.
//!
//! Built only for a model with versions: without any, `Versions` is empty and nothing here
//! runs. The weight draw comes from the service's own `version/NAME` stream, so the other
//! streams (the load balancer's included) keep their numbers. The rollback window is a ring
//! of [`ROLLBACK_SLICES`] slices of counts: each outcome costs O(1).

use rand::RngExt;

use super::{Event, World};
use crate::model::{EndpointId, Model, ROLLBACK_SLICES, Rollback};
use crate::rng::{Stream, stream};
use crate::time::{SimDuration, SimTime};

/// Run state of every version, and per service with versions, its draw.
#[derive(Default)]
pub(super) struct Versions {
    /// Per service: the index of its first version in `list` (versions of one service are
    /// consecutive), and its `version/NAME` stream; `None` for a service without versions.
    by_service: Vec<Option<(u32, Stream)>>,
    pub(super) list: Vec<VersionRun>,
    /// Per endpoint of a service with versions: its copy in each version (empty for the
    /// others, and all empty without versions).
    variants: Vec<Vec<EndpointId>>,
    /// Some version has a rollback: only then are outcomes looked at.
    pub(super) watching: bool,
}

/// One version's state.
pub(super) struct VersionRun {
    service: u32,
    index: u16,
    /// The weight now, in percent (0 after a rollback).
    pub(super) weight: f64,
    /// The next `rollout` step.
    step: u32,
    pub(super) rolled_back_at: Option<SimTime>,
    window: Option<Window>,
}

/// The outcomes of the last window, by slice.
struct Window {
    spec: Rollback,
    slice_ns: u64,
    /// The slice the latest outcome fell in (time / slice_ns).
    current: u64,
    ended: [u32; ROLLBACK_SLICES],
    failed: [u32; ROLLBACK_SLICES],
    ended_total: u64,
    failed_total: u64,
}

impl Window {
    fn new(spec: Rollback) -> Window {
        Window {
            spec,
            slice_ns: (spec.window.as_nanos() / ROLLBACK_SLICES as u64).max(1),
            current: 0,
            ended: [0; ROLLBACK_SLICES],
            failed: [0; ROLLBACK_SLICES],
            ended_total: 0,
            failed_total: 0,
        }
    }

    /// Counts one outcome at `now`; whether the failure ratio is now over the bound. The
    /// slices older than the window are emptied first (at most all of them: O(1)).
    fn record(&mut self, now: SimTime, failed: bool) -> bool {
        let slice = now.0 / self.slice_ns;
        let gone = slice
            .saturating_sub(self.current)
            .min(ROLLBACK_SLICES as u64);
        for k in 1..=gone {
            let i = ((self.current + k) % ROLLBACK_SLICES as u64) as usize;
            self.ended_total -= u64::from(self.ended[i]);
            self.failed_total -= u64::from(self.failed[i]);
            self.ended[i] = 0;
            self.failed[i] = 0;
        }
        self.current = self.current.max(slice);
        let i = (self.current % ROLLBACK_SLICES as u64) as usize;
        self.ended[i] = self.ended[i].saturating_add(1);
        self.ended_total += 1;
        if failed {
            self.failed[i] = self.failed[i].saturating_add(1);
            self.failed_total += 1;
        }
        self.ended_total >= u64::from(self.spec.min_requests)
            && self.failed_total as f64 > self.spec.error_rate * self.ended_total as f64
    }
}

impl Versions {
    pub(super) fn new(model: &Model, seed: u64) -> Versions {
        if model.services.iter().all(|s| s.versions.is_empty()) {
            return Versions::default();
        }
        let mut out = Versions::default();
        for s in &model.services {
            if s.versions.is_empty() {
                out.by_service.push(None);
                continue;
            }
            let first = out.list.len() as u32;
            out.by_service
                .push(Some((first, stream(seed, &format!("version/{}", s.name)))));
            for v in &s.versions {
                out.watching |= v.rollback.is_some();
                out.list.push(VersionRun {
                    service: out.by_service.len() as u32 - 1,
                    index: out.list.len() as u16 - first as u16,
                    weight: v.weight,
                    step: 0,
                    rolled_back_at: None,
                    window: v.rollback.map(Window::new),
                });
            }
        }
        out.variants = vec![Vec::new(); model.endpoints.len()];
        for s in &model.services {
            for (k, &e) in s.endpoints.iter().enumerate() {
                out.variants[e.0 as usize] = s
                    .versions
                    .iter()
                    .map(|v| v.endpoints.get(k).copied().unwrap_or(e))
                    .collect();
            }
        }
        out
    }

    /// The first version of service `s` in `list`.
    pub(super) fn first(&self, s: usize) -> Option<u32> {
        self.by_service
            .get(s)
            .and_then(|v| v.as_ref().map(|(f, _)| *f))
    }
}

/// Bytes of run state per version, for the memory estimate.
pub(in crate::engine) const VERSION_BYTES: u64 = std::mem::size_of::<VersionRun>() as u64
    + std::mem::size_of::<Window>() as u64
    + 2 * std::mem::size_of::<super::balancer::Balancer>() as u64;

impl<'m> World<'m> {
    /// The pool a request to service `s` goes to: a version, by the weights now, or the base.
    pub(super) fn pick_version(&mut self, s: usize) -> usize {
        let services = self.model.services.len();
        let Some(Some((first, rng))) = self.versions.by_service.get_mut(s) else {
            return s;
        };
        let u = rng.random::<f64>() * 100.0;
        let first = *first as usize;
        let mut acc = 0.0;
        for k in 0..self.model.services[s].versions.len() {
            acc += self.versions.list[first + k].weight;
            if u < acc {
                return services + first + k;
            }
        }
        s
    }

    /// The version pools of service `s`.
    pub(super) fn version_pools(&self, s: usize) -> std::ops::Range<usize> {
        let services = self.model.services.len();
        match self.versions.first(s) {
            Some(f) => {
                let f = services + f as usize;
                f..f + self.model.services[s].versions.len()
            }
            None => 0..0,
        }
    }

    /// The endpoint a request for `e` runs at replica `r`: the copy of `e` of the replica's
    /// version, or `e` itself on a base replica.
    #[inline]
    pub(super) fn endpoint_at(&self, e: EndpointId, r: u32) -> EndpointId {
        let pool = self.replicas[r as usize].pool as usize;
        let services = self.model.services.len();
        if pool < services {
            return e;
        }
        let s = self.model.endpoints[e.0 as usize].service.0 as usize;
        let first = self.versions.first(s).unwrap_or(0) as usize;
        let v = pool - services - first;
        self.versions.variants[e.0 as usize]
            .get(v)
            .copied()
            .unwrap_or(e)
    }

    /// Schedules the first `rollout` step of every version that has one.
    pub(super) fn schedule_rollouts(&mut self) {
        let model = self.model;
        let mut k = 0u32;
        for s in &model.services {
            for v in &s.versions {
                if let Some(&(at, _)) = v.rollout.first() {
                    self.schedule_step(k, at);
                }
                k += 1;
            }
        }
    }

    fn schedule_step(&mut self, k: u32, at: SimDuration) {
        let at = SimTime::ZERO + at;
        if at <= self.horizon {
            self.q.schedule_at(at, Event::VersionStep(k));
        }
    }

    /// Version `k`'s next rollout step is due: its weight changes, unless it was rolled back.
    pub(super) fn version_step(&mut self, k: u32) {
        let (s, v) = self.version_of(k);
        let version = &self.model.services[s].versions[v];
        let run = &mut self.versions.list[k as usize];
        let Some(&(_, weight)) = version.rollout.get(run.step as usize) else {
            return;
        };
        if run.rolled_back_at.is_none() {
            run.weight = weight;
        }
        run.step += 1;
        if let Some(&(at, _)) = version.rollout.get(run.step as usize) {
            self.schedule_step(k, at);
        }
    }

    /// Service and index of version `k` of `list`.
    fn version_of(&self, k: u32) -> (usize, usize) {
        let run = &self.versions.list[k as usize];
        (run.service as usize, run.index as usize)
    }

    /// A request at endpoint `e` ended (`failed` or not): a version with a rollback counts
    /// it, and rolls back when its window's failure ratio passes the bound.
    #[cold]
    pub(super) fn version_outcome(&mut self, e: EndpointId, failed: bool) {
        let ep = &self.model.endpoints[e.0 as usize];
        let Some((_, v)) = ep.version_of else {
            return;
        };
        let Some(first) = self.versions.first(ep.service.0 as usize) else {
            return;
        };
        let now = self.q.now();
        let run = &mut self.versions.list[(first + u32::from(v)) as usize];
        if run.rolled_back_at.is_some() {
            return;
        }
        if let Some(w) = &mut run.window
            && w.record(now, failed)
        {
            run.weight = 0.0;
            run.rolled_back_at = Some(now);
        }
    }

    /// Every version's weight now and rollback time, in model order, for the report.
    pub(in crate::engine) fn version_runs(&self) -> Vec<(f64, Option<SimTime>)> {
        self.versions
            .list
            .iter()
            .map(|r| (r.weight, r.rolled_back_at))
            .collect()
    }
}

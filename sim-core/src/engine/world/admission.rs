//! Admission control at a replica and at a client: token-bucket rate limits (`rate_limit`)
//! and shedding of work that waited too long (`shed`). Everything here is reached only for
//! services and workloads that have these keys; the bucket layout is decided when the world
//! is built.

use super::{Job, Outcome, World};
use crate::engine::levels::QUEUED;
use crate::engine::slab::Handle;
use crate::engine::token_bucket::{TokenBucket, reserve};
use crate::model::{AdaptiveLimit, Admission, Model, RateLimit, Shed, WorkloadId};
use crate::results::Cause;

/// No rate limit on this service or workload.
pub(super) const NO_BUCKET: u32 = u32::MAX;

/// The buckets of every rate limit: one per limited service (or one per replica with
/// `per = "replica"`), then one per limited workload; and each owner's first bucket.
pub(super) fn buckets(model: &Model) -> (Vec<TokenBucket>, Vec<u32>, Vec<u32>) {
    let mut buckets = Vec::new();
    let mut add = |spec: Option<&RateLimit>, count: u32| match spec {
        None => NO_BUCKET,
        Some(spec) => {
            let base = buckets.len() as u32;
            buckets.extend((0..count).map(|_| TokenBucket::new(spec)));
            base
        }
    };
    let services = model
        .services
        .iter()
        .map(|s| {
            let spec = s.admission.as_ref().and_then(|a| a.rate_limit.as_ref());
            let count = if spec.is_some_and(|r| r.per_replica) {
                s.replicas
            } else {
                1
            };
            add(spec, count)
        })
        .collect();
    let workloads = model
        .workloads
        .iter()
        .map(|w| add(w.rate_limit.as_ref(), 1))
        .collect();
    (buckets, services, workloads)
}

/// Per replica, its adaptive concurrency limit (`shed.concurrency = "adaptive"`); empty when
/// no service has one.
pub(super) fn concurrency_limits(model: &Model) -> Vec<u32> {
    if !model
        .services
        .iter()
        .any(|s| s.admission.is_some_and(|a| a.adaptive.is_some()))
    {
        return Vec::new();
    }
    model
        .services
        .iter()
        .flat_map(|s| {
            let initial = s
                .admission
                .and_then(|a| a.adaptive)
                .map_or(0, |a| a.initial);
            std::iter::repeat_n(initial, s.replicas as usize)
        })
        .collect()
}

impl<'m> World<'m> {
    /// Why replica `r` refuses a request that just arrived, if it does: no token
    /// (`rate_limited`), or the adaptive concurrency limit reached (`shed`).
    pub(super) fn refusal(
        &mut self,
        admission: &Admission,
        job: Handle,
        r: usize,
    ) -> Option<Cause> {
        let sheddable = self.jobs.get(job).expect("live job").sheddable;
        if let Some(limit) = &admission.rate_limit
            && !self.rate_admits(limit, r, sheddable)
        {
            return Some(Cause::RateLimited);
        }
        if admission.adaptive.is_some() {
            let rep = &self.replicas[r];
            let in_system = rep.busy + rep.queue.len() as u32;
            if !AdaptiveLimit::admits(self.concurrency[r], in_system, sheddable) {
                return Some(Cause::Shed);
            }
        }
        None
    }

    /// A request job at replica `r` finished with `outcome`: its time there feeds the
    /// adaptive limit, and the freed worker first sheds the stale head of the queue.
    pub(super) fn after_job(&mut self, admission: &Admission, j: &Job, outcome: Outcome, r: usize) {
        if let Some(a) = &admission.adaptive
            && j.msg == Handle::NONE
        {
            let rep = &self.replicas[r];
            let in_system = rep.busy + rep.queue.len() as u32;
            let slow = self.q.now().since(j.arrived) > a.timeout;
            self.concurrency[r] =
                a.update(self.concurrency[r], in_system, slow || outcome.is_failure());
        }
        if let Some(shed) = admission.shed {
            self.shed_stale(r, shed);
        }
    }

    /// Whether replica `r`'s service (or the replica's own bucket) has a token for this job.
    fn rate_admits(&mut self, spec: &RateLimit, r: usize, sheddable: bool) -> bool {
        let service = self.replicas[r].service.0 as usize;
        let mut b = self.service_bucket[service] as usize;
        if spec.per_replica {
            b += r - self.replica_base[service] as usize;
        }
        let reserve = if sheddable { reserve(spec) } else { 0 };
        self.buckets[b].take(spec, self.q.now(), reserve)
    }

    /// Whether a workload's client-side bucket has a token for its next request.
    #[inline(never)]
    pub(super) fn client_admits(&mut self, w: WorkloadId) -> bool {
        let b = self.workload_bucket[w.0 as usize];
        if b == NO_BUCKET {
            return true;
        }
        let wl = &self.model.workloads[w.0 as usize];
        let spec = wl.rate_limit.as_ref().expect("a bucket has a rate limit");
        let reserve = if wl.priority == crate::model::Priority::Sheddable {
            reserve(spec)
        } else {
            0
        };
        let now = self.q.now();
        self.buckets[b as usize].take(spec, now, reserve)
    }

    /// Drops the requests at the head of replica `r`'s queue that waited longer than the
    /// shedding bound of their priority, before a freed worker takes the next one. The queue
    /// is in arrival order, so the head is the longest wait; a sheddable request behind a
    /// fresher critical one is checked when it reaches the head. Each job is shed at most
    /// once, so the work is bounded by the jobs that arrived.
    pub(super) fn shed_stale(&mut self, r: usize, shed: Shed) {
        let now = self.q.now();
        while let Some(front) = self.replicas[r].queue.front() {
            let j = self.jobs.get(front).expect("queued job is live");
            // Deliveries are bounded by their consumer's prefetch and are never shed.
            if j.msg != Handle::NONE || now.since(j.arrived) <= shed.bound(j.sheddable) {
                return;
            }
            self.replicas[r].queue.pop_front();
            let service = self.replicas[r].service;
            let levels = &mut self.levels[service.0 as usize];
            levels.advance(now, &self.marks);
            levels.value[QUEUED] -= 1;
            self.turn_away(front, r, Cause::Shed);
        }
    }

    /// A request that a replica will not serve (full queue, no token, shed) fails at once:
    /// counted at the service when it arrived after warmup, and answered with `cause`.
    #[cold]
    #[inline(never)]
    pub(super) fn turn_away(&mut self, job: Handle, r: usize, cause: Cause) {
        let replica = &mut self.replicas[r];
        replica.outstanding -= 1;
        let service = replica.service;
        self.load_changed(r);
        let j = self.jobs.get(job).expect("live job");
        if j.arrived >= self.warmup {
            let s = &mut self.stats.services[service.0 as usize];
            match cause {
                Cause::RateLimited => s.rate_limited += 1,
                Cause::Shed => s.shed += 1,
                _ => self.stats.rejection(service, j.endpoint),
            }
            if matches!(cause, Cause::RateLimited | Cause::Shed) {
                self.stats.refused(j.endpoint);
            }
        }
        if self.tracer.is_some() {
            self.trace_turned_away(job, r, cause);
            self.trace_job_gone(job);
        }
        let j = self.jobs.remove(job).expect("live job");
        if self.versions.watching {
            self.version_outcome(j.endpoint, true);
        }
        self.respond(&j, Outcome::Failed(cause), false);
        self.flow_job_gone(&j, false);
    }
}

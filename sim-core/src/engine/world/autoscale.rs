//! The autoscaler in the run: decisions every `interval`, replicas provisioned after their
//! delay, scale-in by draining or killing.
//!
//! A slot without a replica (free, or provisioning) is held down like a crashed replica
//! (one crash hold, blamed on no fault), so balancers, brokers and faults treat it as they
//! treat a crashed replica, at no cost per event. A replica joins the balancer at once when
//! it is ready and leaves it at once when it is scaled in (readiness and endpoint removal
//! in Kubernetes), whatever the health checks' period; crashes of pooled replicas are still
//! learned by the health checks. Only the scale-in of a killed replica looks at the jobs it
//! holds (one scan of the live jobs per kill, at a decision, never per request).

use super::{Event, Outcome, World};
use crate::dist::Dist;
use crate::engine::autoscaler::{self, Autoscaler, ScaleEvent, Slot};
use crate::engine::levels::{BUSY, QUEUED};
use crate::engine::slab::Handle;
use crate::model::{Autoscale, ScaleIn, ServiceId};
use crate::results::Cause;
use crate::rng::stream;

/// No autoscaler for this service.
pub(super) const NO_AUTOSCALER: u32 = u32::MAX;

/// The autoscalers of a model, and per service the index of its own (`NO_AUTOSCALER`).
pub(super) fn autoscalers(
    model: &crate::model::Model,
    marks: &crate::engine::levels::Marks,
) -> (Vec<Autoscaler>, Vec<u32>) {
    let mut all = Vec::new();
    let of = model
        .services
        .iter()
        .enumerate()
        .map(|(s, svc)| match &svc.autoscale {
            Some(a) => {
                all.push(Autoscaler::new(ServiceId(s as u32), a, marks));
                all.len() as u32 - 1
            }
            None => NO_AUTOSCALER,
        })
        .collect();
    (all, of)
}

impl<'m> World<'m> {
    fn autoscale_of(&self, s: usize) -> &'m Autoscale {
        self.model.services[s]
            .autoscale
            .as_deref()
            .expect("an autoscaled service")
    }

    /// At build: the slots beyond the starting replicas hold no replica yet.
    pub(super) fn autoscale_init(&mut self) {
        for k in 0..self.autoscalers.len() {
            let s = self.autoscalers[k].service.0 as usize;
            let a = self.autoscale_of(s);
            for i in a.start..a.max {
                let r = (self.replica_base[s] + i) as usize;
                self.replicas[r].pooled = false;
                self.crash(r, self.no_fault);
                self.pool_changed(r, false);
            }
        }
    }

    /// The first decision of every autoscaler, one interval after the start.
    pub(super) fn schedule_autoscalers(&mut self) {
        for k in 0..self.autoscalers.len() {
            let s = self.autoscalers[k].service;
            let every = self.autoscale_of(s.0 as usize).interval;
            if self.q.now() + every < self.horizon {
                self.q.schedule(every, Event::Autoscale(s));
            }
        }
    }

    /// A decision: sample the metric, recommend, stabilize, and act on the difference.
    #[cold]
    #[inline(never)]
    pub(super) fn autoscale_tick(&mut self, s: ServiceId) {
        let i = s.0 as usize;
        let k = self.autoscaler_of[i] as usize;
        let a = self.autoscale_of(i);
        let now = self.q.now();
        self.levels[i].advance(now, &self.marks);
        let levels = self.levels[i].area_now();
        let workers = self.model.services[i].workers;
        let sc = &mut self.autoscalers[k];
        let metric = sc.sample_metric(a, levels, now, &self.marks, workers);
        if let Some((metric, ready_mean)) = metric
            && sc.ready > 0
        {
            let to = sc.decide(a, metric, ready_mean, now);
            if to != sc.desired {
                sc.record(ScaleEvent {
                    at: now,
                    from: sc.desired,
                    to,
                    metric,
                    ready: sc.ready,
                    ready_mean,
                });
                sc.desired = to;
                sc.update_levels(now, &self.marks);
                self.reconcile(k);
            }
        }
        if now + a.interval < self.horizon {
            self.q.schedule(a.interval, Event::Autoscale(s));
        }
    }

    /// Adds or removes replicas until as many are provisioning or pooled as desired (as far
    /// as free slots allow: a draining replica keeps its slot until it is gone). A loop, and
    /// a drain that ends inside it only adds (`fill`), so nothing here recurses.
    fn reconcile(&mut self, k: usize) {
        while self.autoscalers[k].active.len() as u32 > self.autoscalers[k].desired {
            self.remove_newest(k);
        }
        self.fill(k);
    }

    /// Provisions replicas into free slots while fewer are active than desired.
    fn fill(&mut self, k: usize) {
        loop {
            let sc = &self.autoscalers[k];
            if sc.active.len() as u32 >= sc.desired {
                break;
            }
            let Some(slot) = sc.free.next_cyclic(0) else {
                break;
            };
            self.provision(k, slot);
        }
        let now = self.q.now();
        self.autoscalers[k].update_levels(now, &self.marks);
    }

    fn provision(&mut self, k: usize, slot: u32) {
        let s = self.autoscalers[k].service.0 as usize;
        let a = self.autoscale_of(s);
        let name = &self.model.services[s].name;
        let sc = &mut self.autoscalers[k];
        sc.generation = sc.generation.wrapping_add(1);
        let generation = sc.generation;
        sc.slots[slot as usize] = Slot::Provisioning(generation);
        sc.free.set(slot, false);
        sc.active.push(slot);
        let delay = match &a.provision {
            Dist::Const(d) => *d,
            dist => {
                if sc.streams.is_empty() {
                    sc.streams = (0..a.max).map(|_| None).collect();
                }
                let rng = sc.streams[slot as usize]
                    .get_or_insert_with(|| stream(self.seed, &autoscaler::stream_name(name, slot)));
                dist.sample(rng)
            }
        };
        let r = self.replica_base[s] + slot;
        self.q.schedule(delay, Event::Provisioned(r, generation));
    }

    /// A provisioning finished: the replica is ready and joins the balancer (unless the
    /// provisioning was cancelled by a scale-in since).
    #[cold]
    #[inline(never)]
    pub(super) fn provisioned(&mut self, r: u32, generation: u32) {
        let r = r as usize;
        let s = self.replicas[r].service.0 as usize;
        let k = self.autoscaler_of[s] as usize;
        let slot = r as u32 - self.replica_base[s];
        let sc = &mut self.autoscalers[k];
        if sc.slots[slot as usize] != Slot::Provisioning(generation) {
            return;
        }
        sc.slots[slot as usize] = Slot::Pooled;
        sc.running += 1;
        self.replicas[r].pooled = true;
        self.fresh_admission(s, slot, r);
        // Releases the slot's hold: up unless a fault holds it down too (then it joins the
        // ready ones when that ends).
        self.restart(r);
        self.pool_changed(r, true);
        let now = self.q.now();
        self.autoscalers[k].update_levels(now, &self.marks);
    }

    /// A new replica in a reused slot starts as one that was never there: its own token
    /// bucket (`per = "replica"`) full, its adaptive concurrency limit at its start.
    fn fresh_admission(&mut self, s: usize, slot: u32, r: usize) {
        let Some(admission) = self.model.services[s].admission else {
            return;
        };
        if let Some(a) = admission.adaptive
            && !self.concurrency.is_empty()
        {
            self.concurrency[r] = a.initial;
        }
        if let Some(spec) = admission.rate_limit
            && spec.per_replica
        {
            let b = (self.service_bucket[s] + slot) as usize;
            self.buckets[b] = crate::engine::token_bucket::TokenBucket::new(&spec);
        }
    }

    /// Scale-in of one replica: the newest, a provisioning one first.
    fn remove_newest(&mut self, k: usize) {
        let s = self.autoscalers[k].service.0 as usize;
        let a = self.autoscale_of(s);
        let sc = &mut self.autoscalers[k];
        let Some(slot) = sc.active.pop() else { return };
        let r = (self.replica_base[s] + slot) as usize;
        if let Slot::Provisioning(_) = sc.slots[slot as usize] {
            sc.slots[slot as usize] = Slot::Free;
            sc.free.set(slot, true);
            return;
        }
        sc.running -= 1;
        if self.replicas[r].is_up() {
            sc.ready -= 1;
        }
        self.replicas[r].pooled = false;
        self.pool_changed(r, false);
        self.consumer_changed(r);
        match a.scale_in {
            ScaleIn::Drain => {
                self.autoscalers[k].slots[slot as usize] = Slot::Draining;
                self.replicas[r].draining = true;
                self.draining += 1;
                if self.replicas[r].outstanding == 0 {
                    self.drained(r);
                }
            }
            ScaleIn::Kill => {
                self.kill_work(r);
                self.autoscalers[k].slots[slot as usize] = Slot::Free;
                self.autoscalers[k].free.set(slot, true);
                self.crash(r, self.no_fault);
            }
        }
    }

    /// A draining replica holds no more work: it is gone and its slot is free.
    #[cold]
    #[inline(never)]
    pub(super) fn drained(&mut self, r: usize) {
        let rep = &mut self.replicas[r];
        if !rep.draining {
            return;
        }
        rep.draining = false;
        self.draining -= 1;
        let s = rep.service.0 as usize;
        let k = self.autoscaler_of[s] as usize;
        let slot = r as u32 - self.replica_base[s];
        self.autoscalers[k].slots[slot as usize] = Slot::Free;
        self.autoscalers[k].free.set(slot, true);
        self.crash(r, self.no_fault);
        // A slot came free: the autoscaler may be waiting for one.
        self.fill(k);
    }

    /// Every request the replica holds (in transit to it, queued, in service) fails at once
    /// with `unavailable`, as when a pod is killed and its connections reset; message
    /// deliveries are lost and redelivered after their visibility timeout, as in a crash.
    fn kill_work(&mut self, r: usize) {
        let victims: Vec<Handle> = self
            .jobs
            .handles()
            .filter(|&h| self.jobs.get(h).is_some_and(|j| j.replica as usize == r))
            .collect();
        let now = self.q.now();
        let rep = &mut self.replicas[r];
        let (busy, queued) = (u64::from(rep.busy), rep.queue.len() as u64);
        rep.busy = 0;
        rep.queue.clear();
        rep.outstanding = 0;
        rep.epoch = rep.epoch.wrapping_add(1);
        let levels = &mut self.levels[rep.service.0 as usize];
        levels.advance(now, &self.marks);
        levels.value[BUSY] -= busy;
        levels.value[QUEUED] -= queued;
        self.load_changed(r);
        for h in victims {
            if self.tracer.is_some() {
                self.trace_job_gone(h);
            }
            let j = self.jobs.remove(h).expect("live job");
            if j.msg != Handle::NONE {
                self.release_origin(j.origin);
            } else {
                self.respond(&j, Outcome::Failed(Cause::Unavailable), false);
            }
            self.flow_job_gone(&j, false);
        }
    }

    /// A pooled replica of an autoscaled service crashed (`up == false`) or came back.
    #[cold]
    #[inline(never)]
    pub(super) fn ready_changed(&mut self, r: usize, up: bool) {
        let s = self.replicas[r].service.0 as usize;
        let k = self.autoscaler_of[s] as usize;
        let sc = &mut self.autoscalers[k];
        if up {
            sc.ready += 1;
        } else {
            sc.ready -= 1;
        }
        let now = self.q.now();
        sc.update_levels(now, &self.marks);
    }

    /// Whether slot `r` holds no replica (free or provisioning): chaos has nothing to crash.
    pub(super) fn holds_no_replica(&self, r: usize) -> bool {
        let rep = &self.replicas[r];
        !rep.pooled && !rep.draining
    }
}

impl World<'_> {
    /// Fills in the autoscaled services' reports: their replicas over time, their decisions,
    /// and utilization over the replicas that were ready (not over the slots).
    pub(in crate::engine) fn autoscale_results(
        &self,
        services: &mut [crate::results::ServiceStats],
    ) {
        use crate::engine::autoscaler::{READY, RUNNING, SHORT};
        for sc in &self.autoscalers {
            let s = sc.service.0 as usize;
            let a = self.autoscale_of(s);
            let out = &mut services[s];
            let ready_s = sc.window_seconds(READY, &self.marks);
            let span_s = self
                .marks
                .end_of_arrivals
                .since(self.marks.warmup)
                .as_secs_f64();
            out.replicas = a.start;
            out.replicas_max = sc.running_max;
            out.replica_seconds = sc.window_seconds(RUNNING, &self.marks);
            out.scale_events = sc.scale_events;
            out.utilization = if ready_s > 0.0 {
                out.utilization * f64::from(a.max) * span_s / ready_s
            } else {
                0.0
            };
            out.autoscale = Some(crate::results::AutoscaleStats {
                metric: a.metric.name(),
                target: a.target,
                decisions: sc
                    .listed
                    .iter()
                    .map(|e| crate::results::ScaleDecision {
                        at: e.at,
                        from: e.from,
                        to: e.to,
                        metric: e.metric,
                        ready: e.ready,
                        ready_mean: e.ready_mean,
                    })
                    .collect(),
                under_provisioned_s: sc.window_seconds(SHORT, &self.marks),
                replicas_buckets: sc.fleet.in_system_per_bucket(&self.marks),
                desired_buckets: sc.wanted.in_system_per_bucket(&self.marks),
            });
        }
    }
}

//! What breaks: scheduled faults switch on at `at` and off after `for`; chaos crashes
//! replicas at random (MTBF/MTTR); health checks let load balancers learn who is up.

use rand::RngExt;

use super::{Event, World};
use crate::dist::Dist;
use crate::engine::levels::{BUSY, QUEUED};
use crate::model::{FaultKind, ReplicaRef, ServiceId};
use crate::time::{SimDuration, SimTime};

impl<'m> World<'m> {
    /// Schedules every fault window, the first chaos crash of each chaos replica, and the
    /// health checks of services that have them.
    pub(super) fn schedule_faults(&mut self) {
        for (i, f) in self.model.faults.iter().enumerate() {
            let at = SimTime::ZERO + f.at;
            if at > self.horizon {
                continue;
            }
            self.q.schedule_at(at, Event::FaultStart(i as u32));
            if let Some(d) = f.duration {
                self.q.schedule_at(at + d, Event::FaultEnd(i as u32));
            }
        }
        if let Some(c) = &self.model.chaos {
            for k in 0..c.replicas.len() {
                let t = self.exp_sample(c.mtbf, k);
                self.q.schedule(t, Event::ChaosCrash(k as u32));
            }
        }
        for (s, svc) in self.model.services.iter().enumerate() {
            if let Some(every) = svc.health_check {
                // A random phase: checks are not aligned with t = 0 (nor with faults
                // scheduled at round times), as real checkers started at random times are.
                let u: f64 = self.rng.health[s].random();
                let phase = SimDuration::from_nanos_f64(every.as_nanos() as f64 * u);
                self.q
                    .schedule(phase, Event::HealthCheck(ServiceId(s as u32)));
            }
        }
    }

    fn replica_index(&self, r: ReplicaRef) -> usize {
        (self.replica_base[r.service.0 as usize] + r.index) as usize
    }

    pub(super) fn fault_start(&mut self, i: u32) {
        let model = self.model;
        match &model.faults[i as usize].kind {
            FaultKind::Crash { replicas } => {
                for &r in replicas {
                    let r = self.replica_index(r);
                    self.crash(r, i);
                }
            }
            FaultKind::Slow { replicas, factor } => {
                for &r in replicas {
                    let r = self.replica_index(r);
                    let rep = &mut self.replicas[r];
                    rep.slow_faults.push(i);
                    rep.slow_factor *= factor;
                }
            }
            FaultKind::Error { service, .. } => self.error_faults[service.0 as usize].push(i),
            FaultKind::Loss { .. } | FaultKind::SlowLink { .. } | FaultKind::Partition { .. } => {
                for l in model.faults[i as usize].kind.links() {
                    self.link_faults[l.0 as usize].push(i);
                }
            }
            FaultKind::BrokerDown { broker } => self.broker_down(broker.0 as usize, i),
            FaultKind::Duplicate { to, .. } => {
                for ch in self.duplicate_channels(*to) {
                    self.brokers.channels[ch as usize].duplicate_faults.push(i);
                }
            }
        }
    }

    pub(super) fn fault_end(&mut self, i: u32) {
        let model = self.model;
        match &model.faults[i as usize].kind {
            FaultKind::Crash { replicas } => {
                for &r in replicas {
                    let r = self.replica_index(r);
                    self.restart(r);
                }
            }
            FaultKind::Slow { replicas, .. } => {
                for &r in replicas {
                    let r = self.replica_index(r);
                    let rep = &mut self.replicas[r];
                    rep.slow_faults.retain(|&f| f != i);
                    // Recomputed rather than divided, so the factor returns to exactly 1.
                    rep.slow_factor = rep
                        .slow_faults
                        .iter()
                        .map(|&f| match &model.faults[f as usize].kind {
                            FaultKind::Slow { factor, .. } => *factor,
                            _ => 1.0,
                        })
                        .product();
                }
            }
            FaultKind::Error { service, .. } => {
                self.error_faults[service.0 as usize].retain(|&f| f != i)
            }
            FaultKind::Loss { links, .. }
            | FaultKind::SlowLink { links, .. }
            | FaultKind::Partition { links } => {
                for l in links {
                    self.link_faults[l.0 as usize].retain(|&f| f != i);
                }
            }
            FaultKind::BrokerDown { broker } => self.broker_up(broker.0 as usize),
            FaultKind::Duplicate { to, .. } => {
                for ch in self.duplicate_channels(*to) {
                    self.brokers.channels[ch as usize]
                        .duplicate_faults
                        .retain(|&f| f != i);
                }
            }
        }
    }

    /// Takes replica `r` down (if it was up): queued and in-service work is lost. `by` is
    /// the index in the fault stats that gets the blame.
    pub(super) fn crash(&mut self, r: usize, by: u32) {
        let now = self.q.now();
        let rep = &mut self.replicas[r];
        rep.crashes += 1;
        if rep.crashes > 1 {
            return;
        }
        let (pooled, service) = (rep.pooled, rep.service);
        if pooled && !self.autoscalers.is_empty() && self.is_autoscaled(service) {
            self.ready_changed(r, false);
        }
        if self.tracer.is_some() {
            self.trace_crash(r);
        }
        let rep = &mut self.replicas[r];
        rep.down_by = by;
        rep.epoch = rep.epoch.wrapping_add(1);
        let (busy, queued) = (rep.busy, rep.queue.len() as u64);
        self.affected[by as usize] += u64::from(busy) + queued;
        let service = rep.service.0 as usize;
        let levels = &mut self.levels[service];
        levels.advance(now, &self.marks);
        levels.value[BUSY] -= u64::from(busy);
        levels.value[QUEUED] -= queued;
        rep.outstanding -= busy + queued as u32;
        rep.busy = 0;
        self.load_changed(r);
        self.replica_changed(r, false);
        self.consumer_changed(r);
        // Queued jobs go now; jobs in service vanish when their next event finds the epoch
        // changed (they hold no worker any more).
        while let Some(job) = self.replicas[r].queue.pop_front() {
            self.drop_job(job);
        }
    }

    /// Brings replica `r` back (empty) once no crash holds it down.
    pub(super) fn restart(&mut self, r: usize) {
        let rep = &mut self.replicas[r];
        let was_down = rep.crashes > 0;
        rep.crashes = rep.crashes.saturating_sub(1);
        if rep.crashes == 0 {
            if was_down {
                let (pooled, service) = (rep.pooled, rep.service);
                if pooled && !self.autoscalers.is_empty() && self.is_autoscaled(service) {
                    self.ready_changed(r, true);
                }
                self.replica_changed(r, true);
            }
            self.consumer_back(r);
        }
    }

    fn is_autoscaled(&self, s: ServiceId) -> bool {
        self.autoscaler_of[s.0 as usize] != super::autoscale::NO_AUTOSCALER
    }

    fn exp_sample(&mut self, mean: SimDuration, k: usize) -> SimDuration {
        Dist::exp(mean).sample(&mut self.rng.chaos[k])
    }

    pub(super) fn chaos_crash(&mut self, k: u32) {
        let Some(c) = &self.model.chaos else { return };
        let target = self.chaos_target[k as usize] as usize;
        let by = (self.model.faults.len() + target) as u32;
        self.chaos_crashes[target] += 1;
        let r = self.replica_index(c.replicas[k as usize]);
        if !self.autoscalers.is_empty() && self.holds_no_replica(r) {
            // An autoscaled slot without a replica: nothing to crash; the next try later.
            self.chaos_crashes[target] -= 1;
            let up = self.exp_sample(c.mtbf, k as usize);
            if self.q.now() + up < self.horizon {
                self.q.schedule(up, Event::ChaosCrash(k));
            }
            return;
        }
        self.crash(r, by);
        let down = self.exp_sample(c.mttr, k as usize);
        self.q.schedule(down, Event::ChaosRestart(k));
    }

    pub(super) fn chaos_restart(&mut self, k: u32) {
        let Some(c) = &self.model.chaos else { return };
        let r = self.replica_index(c.replicas[k as usize]);
        self.restart(r);
        let up = self.exp_sample(c.mtbf, k as usize);
        if self.q.now() + up < self.horizon {
            self.q.schedule(up, Event::ChaosCrash(k));
        }
    }
}

/// Per chaos replica, which `[chaos] targets` entry it came from (`payment#1` before
/// `payment`; the first of equal entries): looked up once here, not at every crash.
pub(super) fn chaos_targets(model: &crate::model::Model) -> Vec<u32> {
    let Some(c) = &model.chaos else {
        return Vec::new();
    };
    let mut first = std::collections::BTreeMap::new();
    for (t, name) in c.targets.iter().enumerate() {
        first.entry(name.as_str()).or_insert(t as u32);
    }
    c.replicas
        .iter()
        .map(|r| {
            let name = &model.service(r.service).name;
            let exact = format!("{name}#{}", r.index);
            first
                .get(exact.as_str())
                .or_else(|| first.get(name.as_str()))
                .copied()
                .unwrap_or(0)
        })
        .collect()
}

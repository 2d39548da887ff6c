//! The replica's side of a call: the load balancer's pick, the hop, the accept queue, the
//! work, the downstream calls, and the reply.

use rand::RngExt;

use super::plain::LinkPath;
use super::{CallRef, Caller, Event, Outcome, PendingCall, World};
use crate::dist::Dist;
use crate::engine::levels::{BUSY, QUEUED};
use crate::engine::slab::Handle;
use crate::model::{EndpointId, FaultKind, LinkId, ServiceId};
use crate::results::Cause;
use crate::time::{SimDuration, SimTime};

/// What a job's arrival at its replica goes on with (`World::arrived`).
#[derive(Clone, Copy)]
pub(super) struct Landing {
    /// When the request was sent (for a trace's hop).
    pub sent: SimTime,
    pub endpoint: EndpointId,
    pub replica: usize,
    /// The replica's service and whether it is up, read with its epoch where the job was
    /// placed, so the arrival does not index the replica again for them.
    pub service: ServiceId,
    pub up: bool,
    /// The pending call to answer (`Handle::NONE` for a delivery).
    pub reply_to: Handle,
    /// A message delivery (waits for a worker whatever the queue's bound).
    pub delivery: bool,
    /// Counted at its endpoint and service (`Job::counted`).
    pub counted: bool,
}

impl<'m> World<'m> {
    /// One crossing of `link`: `None` if the message is lost, else its delay. An instant
    /// link (decided at build: no latency, no loss, no fault names it) is `extra` at once
    /// and an exponential one a single draw, both inlined, reading no fault list; any other
    /// crossing draws out of line, as it always did. Both give `hop_drawn`'s delay, from the
    /// same draws.
    #[inline(always)]
    pub(super) fn hop(&mut self, link: LinkId, extra: SimDuration) -> Option<SimDuration> {
        let d = &mut self.rng.link_latency[link.0 as usize];
        match d.plan {
            LinkPath::Instant => Some(extra),
            LinkPath::Exp(exp) => Some(Dist::exp_draw(&exp, &mut d.stream) + extra),
            LinkPath::Drawn => self.hop_drawn(link, extra),
        }
    }

    #[inline(never)]
    pub(super) fn hop_drawn(&mut self, link: LinkId, extra: SimDuration) -> Option<SimDuration> {
        let i = link.0 as usize;
        let l = &self.model.links[i];
        if l.loss > 0.0 && self.rng.link_loss[i].random::<f64>() < l.loss {
            return None;
        }
        let mut factor = 1.0;
        if !self.link_faults[i].is_empty() {
            factor = self.link_fault_factor(i)?;
        }
        if l.latency.is_zero() {
            return Some(extra);
        }
        let latency = l.latency.sample(&mut self.rng.link_latency[i].stream);
        if factor == 1.0 {
            Some(latency + extra)
        } else {
            Some(SimDuration::from_nanos_f64(latency.as_nanos() as f64 * factor) + extra)
        }
    }

    /// Active faults on a link: `None` if one of them drops the message, else the latency
    /// factor of the slow ones. Each fault counts what it hit.
    #[cold]
    fn link_fault_factor(&mut self, link: usize) -> Option<f64> {
        let mut factor = 1.0;
        for k in 0..self.link_faults[link].len() {
            let f = self.link_faults[link][k] as usize;
            match &self.model.faults[f].kind {
                FaultKind::Partition { .. } => {
                    self.affected[f] += 1;
                    return None;
                }
                FaultKind::Loss { rate, .. } if self.rng.fault[f].random::<f64>() < *rate => {
                    self.affected[f] += 1;
                    return None;
                }
                FaultKind::SlowLink { factor: x, .. } => {
                    self.affected[f] += 1;
                    factor *= x;
                }
                _ => {}
            }
        }
        Some(factor)
    }

    /// A request reaches its replica: start, queue, or reject it; a crashed replica refuses.
    /// Inlined into its two callers (a request's hop event, a zero-latency hop at once).
    #[inline(always)]
    pub(super) fn arrive(&mut self, job: Handle) {
        let now = self.q.now();
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        let sent = j.arrived;
        j.arrived = now;
        // A message delivery waits for a worker whatever the accept queue's bound: what
        // bounds deliveries is the consumer's prefetch, not the queue.
        let delivery = j.msg != Handle::NONE;
        let r = j.replica as usize;
        let replica = &self.replicas[r];
        j.epoch = replica.epoch;
        // A delivery counts with its message (whenever it arrives); other work from warmup on.
        if !delivery {
            j.counted = now >= self.warmup;
        }
        let landing = Landing {
            sent,
            endpoint: j.endpoint,
            replica: r,
            service: replica.service,
            up: replica.is_up(),
            reply_to: j.reply_to,
            delivery,
            counted: j.counted,
        };
        self.arrived(job, landing);
    }

    /// The rest of `arrive` once job `job`'s record says it is here (`arrived`, `epoch` and
    /// `counted` set, as in `landing`). Also the zero-latency hop's, whose job is made with
    /// them set: the new record is not looked up again. Inlined into both.
    #[inline(always)]
    pub(super) fn arrived(&mut self, job: Handle, landing: Landing) {
        let now = self.q.now();
        let Landing {
            sent,
            endpoint,
            replica: r,
            service,
            up,
            reply_to,
            delivery: is_delivery,
            counted,
        } = landing;
        if self.tracer.is_some()
            && let Some(&pc) = self.calls.get(reply_to)
        {
            let link = self.call_spec(pc.call).link;
            self.trace_arrived(job, sent, link);
        }
        if self.tracer.is_some() && is_delivery {
            self.trace_delivered(job);
        }
        if counted {
            self.stats.arrival(service, endpoint);
        }
        // The service's model entry is read only by the features that need it.
        if !self.autoscalers.is_empty()
            && self.model.services[service.0 as usize].autoscale.is_some()
        {
            let k = self.autoscaler_of[service.0 as usize] as usize;
            self.autoscalers[k].arrivals += 1;
        }
        if !up {
            return self.refuse_down(job, r, counted);
        }
        if self.admitting
            && let Some(admission) = &self.model.services[service.0 as usize].admission
            && !is_delivery
            && let Some(cause) = self.refusal(admission, job, r)
        {
            return self.turn_away(job, r, cause);
        }
        let levels = &mut self.levels[service.0 as usize];
        levels.advance(now, &self.marks);
        let replica = &mut self.replicas[r];
        if replica.busy < replica.workers {
            replica.busy += 1;
            levels.value[BUSY] += 1;
            let factor = replica.slow_factor;
            self.start_work(job, endpoint, r, factor);
        } else if replica
            .queue_cap
            .is_none_or(|cap| replica.queue.len() < cap as usize)
            || is_delivery
        {
            replica.queue.push_back(job);
            levels.value[QUEUED] += 1;
        } else {
            self.turn_away(job, r, Cause::Rejected);
        }
    }

    /// A crashed replica refuses job `job` (connection refused): the caller hears of it at
    /// once. Out of line: an arrival at an up replica pays nothing for it.
    #[cold]
    #[inline(never)]
    fn refuse_down(&mut self, job: Handle, r: usize, counted: bool) {
        let replica = &mut self.replicas[r];
        replica.outstanding -= 1;
        self.affected[replica.down_by as usize] += 1;
        self.load_changed(r);
        if self.tracer.is_some() {
            self.trace_job_gone(job);
        }
        let j = self.jobs.remove(job).expect("live job");
        if counted {
            self.stats.refused(j.endpoint);
        }
        if self.versions.watching {
            self.version_outcome(j.endpoint, true);
        }
        self.respond(&j, Outcome::Failed(Cause::Unavailable), false);
        self.flow_job_gone(&j, false);
    }

    /// Inlined into its two callers (an arrival to an idle worker, a finish that takes the
    /// next queued job): the plain path then makes no call for it. `factor` is the replica's
    /// `slow_factor`, read by the caller where it took the worker.
    #[inline(always)]
    fn start_work(&mut self, job: Handle, endpoint: EndpointId, replica: usize, factor: f64) {
        if self.tracer.is_some() {
            self.trace_work_started(job);
        }
        let e = endpoint.0 as usize;
        // An exponential work (decided at build) is drawn as `Dist::sample` draws it.
        let d = &mut self.rng.work[e];
        let mut work = match &d.plan {
            Some(exp) => Dist::exp_draw(exp, &mut d.stream),
            None => self.model.endpoints[e].work.sample(&mut d.stream),
        };
        if factor != 1.0 {
            work = SimDuration::from_nanos_f64(work.as_nanos() as f64 * factor);
            for &f in &self.replicas[replica].slow_faults {
                self.affected[f as usize] += 1;
            }
        }
        self.q.schedule(work, Event::WorkDone(job));
    }

    /// Whether a job still exists and its replica has not crashed since it arrived.
    pub(super) fn job_alive(&self, job: Handle) -> bool {
        self.jobs
            .get(job)
            .is_some_and(|j| self.replicas[j.replica as usize].epoch == j.epoch)
    }

    /// The endpoint of a job that is still alive. A job whose replica crashed vanishes here
    /// without a reply (its caller times out), and so does one already gone: `None`.
    #[inline]
    pub(super) fn live_endpoint(&mut self, job: Handle) -> Option<EndpointId> {
        let j = self.jobs.get(job)?;
        if self.replicas[j.replica as usize].epoch == j.epoch {
            return Some(j.endpoint);
        }
        self.vanish(job);
        None
    }

    /// A job whose replica crashed since it arrived vanishes without a reply.
    #[cold]
    #[inline(never)]
    fn vanish(&mut self, job: Handle) {
        if self.tracer.is_some() {
            self.trace_job_gone(job);
        }
        self.drop_job(job);
    }

    /// Removes a job that ends without an answer (its replica crashed).
    pub(super) fn drop_job(&mut self, job: Handle) {
        if let Some(j) = self.jobs.remove(job) {
            if j.msg != Handle::NONE {
                self.release_origin(j.origin);
            }
            self.flow_job_gone(&j, false);
        }
    }

    /// Answers whoever is waiting for a job: its caller, or for a message, the broker.
    /// Inlined, so a finish answers its caller without a call of its own.
    #[inline(always)]
    pub(super) fn respond(&mut self, j: &super::Job, outcome: Outcome, processed: bool) {
        if j.msg == Handle::NONE {
            self.reply(j.reply_to, outcome);
        } else {
            self.message_processed(j, outcome, processed);
        }
    }

    /// The work is done: fail, reply, or make the downstream calls. Out of line, so that
    /// `handle` stays a bare dispatch: inlined there, its saved registers were paid by every
    /// event, an open arrival's included (~14 instructions per M/M/1 customer).
    #[inline(never)]
    pub(super) fn work_done(&mut self, job: Handle) {
        let Some(&j) = self.jobs.get(job) else {
            return;
        };
        let replica = &self.replicas[j.replica as usize];
        if replica.epoch != j.epoch {
            return self.vanish(job);
        }
        let service = replica.service;
        let e = j.endpoint;
        if self.tracer.is_some() {
            self.trace_work_done(job);
        }
        if self.plain.leaf[e.0 as usize] {
            // No calls, no messages, no flow, no failure possible: the answer is now, from
            // the record just read (tracing reads jobs, never changes them). Inlined here,
            // the plain leaf's finish, the commonest, saves a call of its own.
            return self.finish_read_inline(job, j, Outcome::Ok, service);
        }
        if self.plain.caller[e.0 as usize] {
            // Nothing to fail, no flow, a first call without a draw (decided at build): what
            // the general path below does for it, without asking each feature. (Every job is
            // made with `next_call` 0 and makes its calls after its work: nothing to write.)
            debug_assert_eq!(j.next_call, 0);
            return self.start_call(Caller::Job(job), CallRef::Endpoint(e, 0));
        }
        let ep = &self.model.endpoints[e.0 as usize];
        let own_error = ep.fail > 0.0 && self.rng.fail[e.0 as usize].random::<f64>() < ep.fail;
        if own_error
            || self.injected_error(ep.service, job)
            || (!self.flow_accs.is_empty()
                && self.flow_rejects(self.jobs.get(job).expect("live job")))
        {
            self.finish(job, Outcome::Failed(Cause::Error));
        } else if let Some((f, style)) = self.flow_entry[e.0 as usize] {
            self.flow_entry(job, f, style);
        } else if ep.calls.is_empty() {
            self.after_calls(job, e);
        } else if ep.parallel {
            let j = self.jobs.get_mut(job).expect("live job");
            j.outstanding = ep.calls.len() as u16;
            for i in 0..ep.calls.len() {
                // A call that fails at once (a breaker refusal, or a rejection over a
                // zero-latency hop) finishes the job; the remaining calls are then not made.
                if self.jobs.get(job).is_none() || self.stop.is_some() {
                    break;
                }
                match self.draw_site(e, i as u16) {
                    Some(k) => self.start_call(Caller::Job(job), CallRef::Endpoint(e, k)),
                    None => self.parallel_skipped(job, e),
                }
            }
        } else if ep.calls[0].route.is_none() {
            self.jobs.get_mut(job).expect("live job").next_call = 0;
            self.start_call(Caller::Job(job), CallRef::Endpoint(e, 0));
        } else {
            self.next_sequential(job, e, 0);
        }
    }

    /// An active `error` fault on the service (on all its replicas, or on the job's replica
    /// among those it targets) fails this request.
    fn injected_error(&mut self, service: ServiceId, job: Handle) -> bool {
        let s = service.0 as usize;
        if self.error_faults[s].is_empty() {
            return false;
        }
        let r = self.jobs.get(job).map_or(0, |j| j.replica) - self.replica_base[s];
        for k in 0..self.error_faults[s].len() {
            let f = self.error_faults[s][k] as usize;
            if let crate::model::FaultKind::Error { rate, replicas, .. } = self.model.faults[f].kind
                && replicas.is_none_or(|(first, n)| (first..first + n).contains(&r))
                && self.rng.fault[f].random::<f64>() < rate
            {
                self.affected[f] += 1;
                return true;
            }
        }
        false
    }

    /// One of a job's downstream calls ended (after its retries and fallback). A plain
    /// sequence (decided at build) goes on from the one lookup that finds the job alive.
    pub(super) fn call_done(&mut self, job: Handle, outcome: Outcome) {
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        let replica = &self.replicas[j.replica as usize];
        if replica.epoch != j.epoch {
            return self.vanish(job);
        }
        let service = replica.service;
        let e = j.endpoint;
        let sites = self.plain.sequence[e.0 as usize];
        if sites != 0 {
            // What the general path below does for a sequential endpoint without draws,
            // flows or messages: stop at a failure, note a degraded answer, make the next
            // call or finish.
            match outcome {
                Outcome::Failed(_) => {
                    let j = *j;
                    return self.finish_read(job, j, outcome, service);
                }
                Outcome::Degraded => j.degraded = true,
                Outcome::Ok => {}
            }
            j.next_call += 1;
            let next = j.next_call;
            if next < sites {
                return self.start_call(Caller::Job(job), CallRef::Endpoint(e, next));
            }
            let j = *j;
            return self.finish_read(job, j, Outcome::Ok, service);
        }
        self.call_done_general(job, e, outcome);
    }

    /// `call_done` of live job `job` at endpoint `e` outside a plain sequence.
    #[inline(never)]
    fn call_done_general(&mut self, job: Handle, e: EndpointId, outcome: Outcome) {
        if !self.flow_accs.is_empty() && self.is_coordinator(e) {
            return self.coordinator_call_done(job, outcome);
        }
        let j = self.jobs.get_mut(job).expect("live job");
        match outcome {
            Outcome::Failed(_) => {
                // Sequential calls stop at the first failure; parallel ones fail fast.
                self.finish(job, outcome);
                return;
            }
            Outcome::Degraded => j.degraded = true,
            Outcome::Ok => {}
        }
        let e = j.endpoint;
        let ep = &self.model.endpoints[e.0 as usize];
        if ep.parallel {
            j.outstanding -= 1;
            if j.outstanding == 0 {
                self.after_calls(job, e);
            }
        } else {
            j.next_call += 1;
            let next = j.next_call;
            match ep.calls.get(next as usize) {
                // The common case, decided by the model: a call without a draw.
                Some(c) if c.route.is_none() => {
                    self.start_call(Caller::Job(job), CallRef::Endpoint(e, next));
                }
                Some(_) => self.next_sequential(job, e, next),
                None => self.after_calls(job, e),
            }
        }
    }

    /// Which call site `i` of endpoint `e` makes for this request: itself (the common case,
    /// no draw), another target of its `one_of`, or none when its `p` skips it.
    #[inline]
    fn draw_site(&mut self, e: EndpointId, i: u16) -> Option<u16> {
        let Some(route) = self.model.endpoints[e.0 as usize].calls[i as usize]
            .route
            .as_deref()
        else {
            return Some(i);
        };
        let u: f64 = self.rng.route[route.stream as usize].random();
        route.pick(u).map(|other| other.unwrap_or(i))
    }

    /// Starts the first of the job's sequential calls from site `from` on that its draw
    /// makes; with none left, the job goes on after its calls. A loop, not a recursion, so
    /// a long run of skipped sites costs no stack. Only for a site with a draw: a plain
    /// site is started directly, at the cost it always had.
    #[inline(never)]
    fn next_sequential(&mut self, job: Handle, e: EndpointId, from: u16) {
        let sites = self.model.endpoints[e.0 as usize].calls.len();
        let mut i = from;
        while (i as usize) < sites {
            if let Some(k) = self.draw_site(e, i) {
                self.jobs.get_mut(job).expect("live job").next_call = i;
                return self.start_call(Caller::Job(job), CallRef::Endpoint(e, k));
            }
            i += 1;
        }
        if let Some(j) = self.jobs.get_mut(job) {
            j.next_call = i;
        }
        self.after_calls(job, e);
    }

    /// A parallel call site that its `p` skipped counts as done at once.
    fn parallel_skipped(&mut self, job: Handle, e: EndpointId) {
        let j = self.jobs.get_mut(job).expect("live job");
        j.outstanding -= 1;
        if j.outstanding == 0 {
            self.after_calls(job, e);
        }
    }

    /// A job ends: free its worker (starting the next queued job) and reply.
    #[inline]
    pub(super) fn finish(&mut self, job: Handle, outcome: Outcome) {
        // One copy of the record, its slot freed after (`remove` would move it twice).
        let j = *self.jobs.get(job).expect("finishing a live job");
        let service = self.replicas[j.replica as usize].service;
        self.finish_read(job, j, outcome, service);
    }

    /// `finish` of live job `job` whose record `j` the caller has just read (a plain
    /// sequence's `call_done`), with its replica's `service`, read there with the epoch: the
    /// job is looked up once per event, and its replica indexed once before its worker is
    /// freed.
    #[inline(never)]
    fn finish_read(&mut self, job: Handle, j: super::Job, outcome: Outcome, service: ServiceId) {
        self.finish_read_inline(job, j, outcome, service);
    }

    /// `finish_read`'s body, inlined into it and into a plain leaf's `work_done`.
    #[inline(always)]
    fn finish_read_inline(
        &mut self,
        job: Handle,
        j: super::Job,
        outcome: Outcome,
        service: ServiceId,
    ) {
        let now = self.q.now();
        // The abandoned count below is decided by the reply's lookup; tests check it against
        // the lookup at the job's end, which it replaced (see the comment there).
        #[cfg(debug_assertions)]
        let gave_up_at_end = self.caller_gave_up(&j);
        if self.tracer.is_some() {
            self.trace_job_outcome(job, outcome);
            self.trace_job_gone(job);
        }
        // Found live by the caller (its record is `j`), and tracing frees nothing.
        self.jobs.discard_live(job);
        let outcome = if outcome == Outcome::Ok && j.degraded {
            Outcome::Degraded
        } else {
            outcome
        };
        let r = j.replica as usize;
        if j.counted {
            self.stats
                .job_done(j.endpoint, now.since(j.arrived), outcome);
        }
        // The replica is indexed once, here, unless admission's own work (which sees the job
        // gone from its count) comes first.
        let replica = if self.admitting
            && let Some(admission) = &self.model.services[service.0 as usize].admission
        {
            self.replicas[r].outstanding -= 1;
            self.after_job(admission, &j, outcome, r);
            &mut self.replicas[r]
        } else {
            let replica = &mut self.replicas[r];
            replica.outstanding -= 1;
            replica
        };
        // Advanced here, just before its change, not at the job's end above: nothing in
        // between changes the levels without advancing them first (a shed of stale jobs
        // advances them itself), so the areas are the same and the levels are indexed once.
        // (In system is busy + queued: it falls with the one of them that falls below.)
        let levels = &mut self.levels[service.0 as usize];
        levels.advance(now, &self.marks);
        if let Some(next) = replica.queue.pop_front() {
            levels.value[QUEUED] -= 1;
            let factor = replica.slow_factor;
            let endpoint = self.jobs.get(next).expect("queued job is live").endpoint;
            self.start_work(next, endpoint, r, factor);
        } else {
            replica.busy -= 1;
            levels.value[BUSY] -= 1;
        }
        self.load_changed(r);
        if self.versions.watching {
            self.version_outcome(j.endpoint, outcome.is_failure());
        }
        if j.flow != Handle::NONE && !outcome.is_failure() {
            self.flow_effect(&j);
        }
        if j.msg == Handle::NONE {
            // The waiting call is looked up once, by the reply. Not there: its caller gave
            // up (the attempt timed out: the call ended, or was renewed for a retry), and
            // the request counts as abandoned. The answer is the same as at the job's end
            // above: what ran since (the next queued job's start, a shed of stale queued
            // jobs, a drained replica's retirement, a version's count, a flow's effect)
            // ends only calls whose attempts it answers, and this call's one attempt is this
            // job; a timeout or a retry is an event of its own, never in between.
            let waited = self.reply(j.reply_to, outcome);
            #[cfg(debug_assertions)]
            debug_assert_eq!(!waited && j.reply_to != Handle::NONE, gave_up_at_end);
            if !waited && j.counted && j.reply_to != Handle::NONE {
                self.stats.abandoned(j.endpoint);
            }
        } else {
            self.message_processed(&j, outcome, true);
        }
        self.flow_job_gone(&j, true);
    }

    /// Whether a request job's caller has given up on it: its attempt timed out (the call
    /// ended, or was renewed for a retry). Message deliveries and flow coordinators have no
    /// waiting caller.
    #[inline]
    fn caller_gave_up(&self, j: &super::Job) -> bool {
        j.msg == Handle::NONE && j.reply_to != Handle::NONE && self.calls.get(j.reply_to).is_none()
    }

    /// Counts the requests still at a replica (queued or in service) when the run ends whose
    /// caller gave up. Once, after the run: a scan of the jobs left, never per event. A request
    /// still on the network has not reached a replica: `counted` is set only on arrival after
    /// warmup, as for the jobs `finish` counts.
    pub(in crate::engine) fn count_abandoned_left(&mut self) {
        let left: Vec<Handle> = self.jobs.handles().collect();
        for h in left {
            let j = self.jobs.get(h).expect("live job");
            let alive = self.replicas[j.replica as usize].epoch == j.epoch;
            if alive && j.counted && self.caller_gave_up(j) {
                let e = j.endpoint;
                self.stats.abandoned(e);
            }
        }
    }

    /// Sends a reply back across the reverse link, unless the caller has already given up:
    /// whether it still waited. Inlined into `respond` and `finish`, so a finished job's
    /// reply on the plain path is one function.
    #[inline(always)]
    pub(super) fn reply(&mut self, call: Handle, outcome: Outcome) -> bool {
        let Some(&PendingCall { call: site, .. }) = self.calls.get(call) else {
            return false;
        };
        let spec = self.call_spec(site);
        if self.tracer.is_some() {
            self.trace_reply_sent(call);
        }
        let mut extra = self.overhead(spec.protocol);
        if self.mesh {
            extra = extra + self.reply_crossings(call, spec.to);
        }
        let Some(delay) = self.hop(spec.reply_link, extra) else {
            return true; // lost reply: the caller will time out (or wait forever without one)
        };
        if delay == SimDuration::ZERO {
            // The call is still there (a crossing ends no call). Its record is read now,
            // not before the crossing, around whose draw it was copied whole.
            let pc = *self.calls.get_live(call);
            self.attempt_ended(call, pc, spec, outcome, false);
        } else {
            self.q.schedule(delay, Event::Reply(call, outcome));
        }
        true
    }
}

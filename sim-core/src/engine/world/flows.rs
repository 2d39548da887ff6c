//! Flows: starting an instance, driving it in its style, recording the effects its steps
//! leave, and judging it once it has settled.
//!
//! - `sync` / `orchestration`: the entry job is the coordinator. It calls each step's `do`
//!   (directly, or via the broker), and on a failure the `undo` of every step it saw succeed,
//!   in reverse. An orchestration's progress lives in the instance (durable): when its
//!   coordinator is lost in a crash, a new one resumes on the entry service after `recovery`
//!   and re-sends the command in progress (at least once — a step may run twice).
//! - `async`: the entry publishes one event; each step's group processes it on its own.
//! - `choreography`: each step's success sends the next step's command; a business refusal
//!   sends the compensation of the step before, and so on down. A step's service sends its
//!   follow-up command through an outbox: if the broker is down or the message is lost, it
//!   tries again a second later.
//!
//! Effects are recorded where they happen — when a step's job succeeds at the step's service —
//! never from what a caller saw; that difference is what the consistency report shows.

use rand::RngExt;

use super::{CallRef, Caller, Event, Job, Outcome, PendingCall, World};
use crate::engine::broker::Origin;
use crate::engine::flows::{Instance, NO_STEP, Phase, Told, UNDO};
use crate::engine::slab::Handle;
use crate::model::{Destination, EndpointId, FlowStyle, LinkId};
use crate::results::{FlowStats, RecordNs};
use crate::time::{SimDuration, SimTime};

/// The outbox of a choreography step retries a follow-up command after this long.
const OUTBOX_RETRY: SimDuration = SimDuration::from_secs(1);

fn bit(step: u16) -> u32 {
    1u32 << (step & !UNDO)
}

impl<'m> World<'m> {
    /// The entry job of flow `f` has done its work: start an instance (or, for a resumed
    /// coordinator, continue the one it carries) and drive it.
    pub(super) fn flow_entry(&mut self, job: Handle, f: u32, style: FlowStyle) {
        let now = self.q.now();
        let flow = &self.model.flows[f as usize];
        let j = self.jobs.get(job).expect("live job");
        if j.flow == Handle::NONE {
            let mut rejected = 0u32;
            for (i, s) in flow.steps.iter().enumerate() {
                if s.reject > 0.0 && self.rng.reject[f as usize].random::<f64>() < s.reject {
                    rejected |= 1 << i;
                }
            }
            let counted = now >= self.warmup;
            let mut inst = Instance::new(f, now, counted, rejected);
            inst.refs = 1; // this job
            let h = self.instances.insert(inst);
            self.flow_accs[f as usize].started += u64::from(counted);
            let reply_to = j.reply_to;
            let j = self.jobs.get_mut(job).expect("live job");
            j.flow = h;
            j.flow_step = NO_STEP;
            if self.tracer.is_some() {
                self.trace_instance_started(job, h);
            }
            if self.finder.is_some() {
                self.find_instance_started(h, reply_to, counted);
            }
            if let Some(pc) = self.calls.get_mut(reply_to) {
                let old = std::mem::replace(&mut pc.flow, h);
                self.instances.get_mut(h).expect("new").refs += 1;
                if old != Handle::NONE {
                    // The client retried: the earlier instance's answer never reached it.
                    if let Some(o) = self.instances.get_mut(old)
                        && o.told == Told::Nothing
                    {
                        o.told = Told::Failed;
                    }
                    self.flow_unref(old);
                }
            }
            if flow.reply_early && matches!(style, FlowStyle::Sync | FlowStyle::Orchestration) {
                let j = self.jobs.get_mut(job).expect("live job");
                let reply_to = std::mem::replace(&mut j.reply_to, Handle::NONE);
                self.reply(reply_to, Outcome::Ok);
            }
        }
        match style {
            FlowStyle::Sync | FlowStyle::Orchestration => self.coordinator_next(job),
            FlowStyle::Async | FlowStyle::Choreography => {
                let entry = self.model.flows[f as usize].entry_endpoint;
                self.after_calls(job, entry);
            }
        }
    }

    /// Makes the coordinator's next call, or ends the saga.
    fn coordinator_next(&mut self, job: Handle) {
        let now = self.q.now();
        let j = self.jobs.get(job).expect("live coordinator");
        let (h, entry) = (j.flow, j.endpoint);
        let inst = self.instances.get_mut(h).expect("coordinator's instance");
        let flow = &self.model.flows[inst.flow as usize];
        match inst.phase {
            Phase::Forward => {
                if (inst.next as usize) < flow.steps.len() {
                    let call = flow.steps[inst.next as usize].do_call;
                    self.start_call(Caller::Job(job), CallRef::Endpoint(entry, call));
                    return;
                }
                inst.settled = Some(now);
                self.finish(job, Outcome::Ok);
            }
            Phase::Compensating => {
                let mut k = inst.cursor;
                while k > 0 {
                    k -= 1;
                    if inst.seen & (1 << k) != 0
                        && let Some(call) = flow.steps[k as usize].undo_call
                    {
                        inst.cursor = k + 1; // re-sent if a resumed coordinator finds it open
                        self.start_call(Caller::Job(job), CallRef::Endpoint(entry, call));
                        return;
                    }
                }
                inst.cursor = 0;
                inst.settled = Some(now);
                let cause = inst.cause;
                self.finish(job, Outcome::Failed(cause));
            }
        }
    }

    /// A coordinator's call ended (after its retries).
    pub(super) fn coordinator_call_done(&mut self, job: Handle, outcome: Outcome) {
        let h = self.jobs.get(job).expect("live coordinator").flow;
        let inst = self.instances.get_mut(h).expect("coordinator's instance");
        match (inst.phase, outcome) {
            (Phase::Forward, Outcome::Failed(cause)) => {
                inst.phase = Phase::Compensating;
                inst.cursor = inst.next;
                inst.cause = cause;
            }
            (Phase::Forward, _) => {
                inst.seen |= 1 << inst.next;
                inst.next += 1;
            }
            // An undo ended; a failed one leaves its effect in place (inconsistent).
            (Phase::Compensating, _) => inst.cursor -= 1,
        }
        self.coordinator_next(job);
    }

    /// Whether a step's job must refuse: its business rule rejects this instance.
    pub(super) fn flow_rejects(&self, j: &Job) -> bool {
        j.flow_step != NO_STEP
            && j.flow_step & UNDO == 0
            && self
                .instances
                .get(j.flow)
                .is_some_and(|i| i.rejected & bit(j.flow_step) != 0)
    }

    /// A step's job succeeded at its service: its effect is applied (or compensated).
    pub(super) fn flow_effect(&mut self, j: &Job) {
        if j.flow_step == NO_STEP {
            return;
        }
        let now = self.q.now();
        let idempotent = self.model.endpoints[j.endpoint.0 as usize].idempotent;
        let b = bit(j.flow_step);
        let inst = self
            .instances
            .get_mut(j.flow)
            .expect("a step job holds its instance");
        if j.flow_step & UNDO != 0 {
            if inst.applied & b != 0 && inst.undone & b == 0 {
                inst.undone |= b;
                inst.last_effect = Some(now);
            }
        } else if inst.applied & b == 0 {
            inst.applied |= b;
            inst.last_effect = Some(now);
        } else if !idempotent {
            // Applied again: once more than the instance asked for, and back in place if it
            // had been compensated meanwhile.
            if inst.counted {
                self.flow_accs[inst.flow as usize].duplicate_effects += 1;
            }
            inst.undone &= !b;
            inst.last_effect = Some(now);
        }
    }

    /// The flow context a call's request carries to its callee: the coordinator's instance
    /// and which step (or undo) the call is. Without flows in the model, none (decided
    /// here, inlined, so a model without flows never calls out for it).
    #[inline]
    pub(super) fn call_flow_ctx(&self, pc: &PendingCall) -> (Handle, u16) {
        if self.flow_accs.is_empty() {
            return (Handle::NONE, NO_STEP);
        }
        self.flow_ctx_of(pc)
    }

    fn flow_ctx_of(&self, pc: &PendingCall) -> (Handle, u16) {
        let cj = match pc.caller {
            Caller::Job(cj) => cj,
            Caller::Client(_) => return (Handle::NONE, NO_STEP),
            // A sidecar's attempt carries the context of the application's call it makes
            // (the same call site).
            Caller::Mesh(app) => match self.calls.get(app).map(|p| p.caller) {
                Some(Caller::Job(cj)) => cj,
                _ => return (Handle::NONE, NO_STEP),
            },
        };
        let CallRef::Endpoint(e, i) = pc.call else {
            return (Handle::NONE, NO_STEP);
        };
        let Some((f, _)) = self.flow_entry[e.0 as usize] else {
            return (Handle::NONE, NO_STEP);
        };
        let Some(j) = self.jobs.get(cj) else {
            return (Handle::NONE, NO_STEP);
        };
        let code = self.flow_call_steps[f as usize]
            .get(i as usize)
            .copied()
            .unwrap_or(NO_STEP);
        if j.flow == Handle::NONE || code == NO_STEP {
            return (Handle::NONE, NO_STEP);
        }
        (j.flow, code)
    }

    /// The flow context of a message the job publishes (`k`-th publish): an entry job's first
    /// command or event.
    pub(super) fn publish_flow_ctx(&self, j: &Job) -> (Handle, u16) {
        match self.flow_entry[j.endpoint.0 as usize] {
            Some(_) if j.flow != Handle::NONE => (j.flow, 0),
            _ => (Handle::NONE, NO_STEP),
        }
    }

    pub(super) fn flow_ref(&mut self, h: Handle) {
        if let Some(i) = self.instances.get_mut(h) {
            i.refs += 1;
        }
    }

    /// Lets go of an instance; a settled instance nothing refers to is judged and freed.
    pub(super) fn flow_unref(&mut self, h: Handle) {
        let Some(i) = self.instances.get_mut(h) else {
            return;
        };
        i.refs -= 1;
        if i.refs == 0 && i.settled.is_some() {
            let i = self.instances.remove(h).expect("live");
            let f = i.flow as usize;
            let all = (1u32 << self.model.flows[f].steps.len()) - 1;
            if self.finder.is_some() {
                self.find_instance_judged(h, i.inconsistent(all));
            }
            self.flow_accs[f].judge(&i, all);
        }
    }

    fn settle(&mut self, h: Handle) {
        let now = self.q.now();
        if let Some(i) = self.instances.get_mut(h)
            && i.settled.is_none()
        {
            i.settled = Some(now);
        }
    }

    /// The client of an instance heard its outcome.
    pub(super) fn flow_told(&mut self, h: Handle, outcome: Outcome, started: SimTime) {
        let now = self.q.now();
        let Some(i) = self.instances.get_mut(h) else {
            return;
        };
        let ok = !outcome.is_failure();
        i.told = if ok { Told::Ok } else { Told::Failed };
        if ok && started >= self.warmup {
            self.flow_accs[i.flow as usize]
                .latency
                .record_ns(now.since(started).as_nanos());
        }
        self.flow_unref(h);
    }

    /// A job working for an instance is gone. A lost coordinator (crash) abandons a `sync`
    /// saga where it stands; an orchestration resumes after `recovery`; an entry job lost
    /// before its first message left ends the instance there.
    /// (Inlined: a job outside any flow, the common case, pays one comparison.)
    #[inline]
    pub(super) fn flow_job_gone(&mut self, j: &Job, finished: bool) {
        if j.flow != Handle::NONE {
            self.flow_instance_job_gone(j, finished);
        }
    }

    fn flow_instance_job_gone(&mut self, j: &Job, finished: bool) {
        if j.flow_step == NO_STEP
            && let Some((f, style)) = self.flow_entry[j.endpoint.0 as usize]
        {
            match style {
                FlowStyle::Orchestration if !finished => {
                    self.flow_ref(j.flow);
                    let recovery = self.model.flows[f as usize].recovery;
                    self.flow_timers += 1;
                    self.q.schedule(recovery, Event::FlowResume(j.flow));
                }
                FlowStyle::Sync if !finished => self.settle(j.flow),
                // Nothing reached the broker (a failed publish, a crash): nothing will ever
                // drive this instance.
                FlowStyle::Async | FlowStyle::Choreography
                    if self.instances.get(j.flow).is_some_and(|i| !i.launched) =>
                {
                    self.settle(j.flow);
                }
                _ => {}
            }
        }
        self.flow_unref(j.flow);
    }

    /// A lost orchestration coordinator comes back on a replica of the entry service.
    pub(super) fn flow_resume(&mut self, h: Handle) {
        let Some(i) = self.instances.get(h) else {
            return;
        };
        let flow = &self.model.flows[i.flow as usize];
        let endpoint = flow.entry_endpoint;
        let replica = self.pick_replica(flow.entry);
        self.replicas[replica as usize].outstanding += 1;
        self.load_changed(replica as usize);
        let now = self.q.now();
        // The resume's reference passes to the new coordinator job.
        let job = self.jobs.insert(Job {
            endpoint,
            replica,
            reply_to: Handle::NONE,
            msg: Handle::NONE,
            origin: Handle::NONE,
            flow: h,
            flow_step: NO_STEP,
            arrived: now,
            op_sent: now,
            epoch: 0,
            next_call: 0,
            outstanding: 0,
            degraded: false,
            counted: false,
            sheddable: false,
        });
        self.job_added();
        if self.tracer.is_some() {
            self.trace_resumed(h, job);
        }
        self.q
            .schedule(SimDuration::ZERO, Event::RequestArrive(job));
    }

    /// A flow message was processed (or refused before processing): drive the flow. Returns
    /// whether the message is done with (acked) even though it failed: a business refusal is
    /// final, redelivering it would meet the same answer.
    pub(super) fn flow_message(
        &mut self,
        o: &Origin,
        outcome: Outcome,
        processed: bool,
        link: LinkId,
    ) -> bool {
        let Some(inst) = self.instances.get(o.flow) else {
            return false;
        };
        let f = inst.flow as usize;
        let flow = &self.model.flows[f];
        let code = o.flow_step;
        let b = bit(code);
        let refused = code & UNDO == 0 && inst.rejected & b != 0;
        let ok = !outcome.is_failure();
        if !(ok || (processed && refused)) {
            return false; // a technical failure: redelivered
        }
        match flow.style {
            FlowStyle::Async => {
                let all = (1u32 << flow.steps.len()) - 1;
                let inst = self.instances.get_mut(o.flow).expect("live");
                inst.done |= b;
                if inst.done == all {
                    self.settle(o.flow);
                }
            }
            FlowStyle::Choreography => {
                let step = code & !UNDO;
                if code & UNDO == 0 && ok && (step as usize) + 1 < flow.steps.len() {
                    self.flow_send(o.flow, step + 1, link);
                } else if code & UNDO == 0 && ok {
                    self.settle(o.flow);
                } else {
                    self.compensate_below(o.flow, step, link);
                }
            }
            FlowStyle::Sync | FlowStyle::Orchestration => {}
        }
        true
    }

    /// Choreography: the compensation of the highest step below `step` that has one.
    fn compensate_below(&mut self, h: Handle, step: u16, link: LinkId) {
        let f = self.instances.get(h).expect("live").flow as usize;
        let steps = &self.model.flows[f].steps;
        match (0..step)
            .rev()
            .find(|&k| steps[k as usize].undo_queue.is_some())
        {
            Some(k) => self.flow_send(h, k | UNDO, link),
            None => self.settle(h),
        }
    }

    /// A flow message that exhausted its deliveries: an `async` step ends unapplied; a
    /// `choreography` chain stops where it is.
    pub(super) fn flow_dead_lettered(&mut self, o: &Origin) {
        let Some(inst) = self.instances.get_mut(o.flow) else {
            return;
        };
        let flow = &self.model.flows[inst.flow as usize];
        if flow.style == FlowStyle::Async {
            let all = (1u32 << flow.steps.len()) - 1;
            inst.done |= bit(o.flow_step);
            if inst.done == all {
                self.settle(o.flow);
            }
        } else {
            self.settle(o.flow);
        }
    }

    /// Choreography: a step's service sends the next command (through its outbox).
    fn flow_send(&mut self, h: Handle, code: u16, link: LinkId) {
        self.flow_ref(h);
        let delay = self.hop(link, SimDuration::ZERO).unwrap_or(OUTBOX_RETRY);
        self.flow_timers += 1;
        self.q.schedule(delay, Event::FlowCommand(h, code));
    }

    /// A choreography command reaches the broker, or its outbox tries again.
    pub(super) fn flow_command(&mut self, h: Handle, code: u16) {
        let Some(inst) = self.instances.get(h) else {
            return;
        };
        let step = &self.model.flows[inst.flow as usize].steps[(code & !UNDO) as usize];
        let queue = if code & UNDO != 0 {
            step.undo_queue
        } else {
            step.do_queue
        };
        let Some(q) = queue else {
            self.flow_unref(h);
            return;
        };
        let b = self.model.queue(q).broker.0 as usize;
        if self.brokers.brokers[b].down > 0 {
            self.flow_timers += 1;
            self.q.schedule(OUTBOX_RETRY, Event::FlowCommand(h, code));
            return;
        }
        self.brokers.brokers[b].published += 1;
        let now = self.q.now();
        if self.tracer.is_some() {
            self.trace_enqueuing_for_instance(h);
        }
        self.enqueue(Destination::Queue(q), now, Handle::NONE, h, code);
        if self.tracer.is_some() {
            self.trace_enqueued();
        }
        self.flow_unref(h);
    }

    /// Marks that an instance has put its first message into a broker.
    pub(super) fn flow_launched(&mut self, h: Handle) {
        if let Some(i) = self.instances.get_mut(h) {
            i.launched = true;
        }
    }

    /// Whether `e` is the coordinator of a `sync` or `orchestration` flow.
    pub(super) fn is_coordinator(&self, e: EndpointId) -> bool {
        matches!(
            self.flow_entry[e.0 as usize],
            Some((_, FlowStyle::Sync | FlowStyle::Orchestration))
        )
    }

    /// Every flow's consistency report; instances still unsettled are pending.
    pub(super) fn flow_results(&mut self) -> Vec<FlowStats> {
        let live: Vec<Handle> = self.instances.handles().collect();
        for h in live {
            let i = self.instances.remove(h).expect("live");
            let f = i.flow as usize;
            if i.settled.is_some() {
                let all = (1u32 << self.model.flows[f].steps.len()) - 1;
                if self.finder.is_some() {
                    self.find_instance_judged(h, i.inconsistent(all));
                }
                self.flow_accs[f].judge(&i, all);
            } else if i.counted {
                self.flow_accs[f].pending += 1;
            }
        }
        let model = self.model;
        (0..model.flows.len())
            .map(|f| self.flow_accs[f].results(model, f))
            .collect()
    }
}

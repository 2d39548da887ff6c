//! The caller's side of a call: breaker and bulkhead at the start, one attempt at a time on
//! the wire, retries with backoff after a retryable failure, the fallback at the end, and the
//! outcome handed to whoever waits (a client or a job).

use rand::RngExt;

use super::mesh::Wire;
use super::plain::Target;
use super::serve::Landing;
use super::{CallRef, Caller, Event, Job, NO_GUARD, Outcome, PendingCall, World};
use crate::engine::guard::{Admit, backoff};
use crate::engine::slab::Handle;
use crate::model::{Arrival, Call, Protocol};
use crate::results::Cause;
use crate::time::{SimDuration, SimTime};

impl<'m> World<'m> {
    /// Whether the work a caller asks for is sheddable: a client's by its workload's
    /// priority, a job's by the request it serves.
    fn is_sheddable(&self, caller: Caller) -> bool {
        match caller {
            Caller::Client(w) => {
                self.model.workloads[w.0 as usize].priority == crate::model::Priority::Sheddable
            }
            Caller::Job(j) => self.jobs.get(j).is_some_and(|j| j.sheddable),
            Caller::Mesh(c) => self.calls.get(c).is_some_and(|c| c.sheddable),
        }
    }

    pub(super) fn call_spec(&self, call: CallRef) -> &'m Call {
        let model = self.model;
        match call {
            CallRef::Workload(w) => &model.workloads[w.0 as usize].call,
            CallRef::Endpoint(e, i) => model.endpoints[e.0 as usize].call(i),
        }
    }

    /// The guard of this caller on this call site, if the call has one.
    fn guard_of(&self, caller: Caller, call: CallRef) -> u32 {
        match (call, caller) {
            (CallRef::Workload(w), _) => self.workload_guard[w.0 as usize],
            (CallRef::Endpoint(e, i), Caller::Job(job)) => {
                let base = self.call_guard[e.0 as usize][i as usize];
                if base == NO_GUARD {
                    return NO_GUARD;
                }
                let Some(j) = self.jobs.get(job) else {
                    return NO_GUARD;
                };
                let service = self.model.endpoints[e.0 as usize].service;
                base + (j.replica - self.replica_base[service.0 as usize])
            }
            (CallRef::Endpoint(..), Caller::Client(_) | Caller::Mesh(_)) => NO_GUARD,
        }
    }

    /// Starts a logical call: the breaker and the bulkhead may refuse it at once; otherwise
    /// the first attempt goes out. A job's calls come here; a client's request inlines the
    /// same body (`start_call_inline`, one source for both) into `send_request`.
    #[inline(never)]
    pub(super) fn start_call(&mut self, caller: Caller, call: CallRef) {
        self.start_call_inline(caller, call);
    }

    /// `start_call`'s body, inlined into it and into `send_request`.
    #[inline(always)]
    pub(super) fn start_call_inline(&mut self, caller: Caller, call: CallRef) {
        let now = self.q.now();
        if self.over_in_flight(self.calls.live()) {
            return;
        }
        let spec = self.call_spec(call);
        if let CallRef::Workload(w) = call
            && self.client_limits
            && !self.client_admits(w)
        {
            return self.refuse(caller, spec, Cause::RateLimited);
        }
        // A plain site (decided at build) has no guard to ask.
        let plain = self.plain.site(call);
        let (guard, probe) = if plain {
            #[cfg(test)]
            {
                self.paths.plain_starts += 1;
            }
            (NO_GUARD, false)
        } else {
            #[cfg(test)]
            {
                self.paths.general_starts += 1;
            }
            match self.pass_guard(caller, call, spec) {
                Some(passed) => passed,
                None => return,
            }
        };
        let handle = self.calls.insert(PendingCall {
            caller,
            call,
            started: now,
            attempt: 0,
            guard,
            probe,
            // A traced call ends on the general path, which traces it.
            plain: plain && self.tracer.is_none(),
            request: self.current_request() as u32,
            flow: Handle::NONE,
            sheddable: self.priorities && self.is_sheddable(caller),
        });
        if self.tracer.is_some() {
            self.trace_call_started(handle, caller, self.current_request());
        }
        // (A sidecar's mesh call is started by `hand_to_sidecar`, never here.)
        self.put_on_wire(handle, matches!(caller, Caller::Job(_)), spec);
    }

    /// The caller's guard on a site that may have one (breaker, bulkhead, retry budget):
    /// `(guard, probe)` when the call may go, `None` when it was refused (and answered).
    fn pass_guard(&mut self, caller: Caller, call: CallRef, spec: &'m Call) -> Option<(u32, bool)> {
        let guard = self.guard_of(caller, call);
        if guard == NO_GUARD {
            return Some((guard, false));
        }
        match self.admit_guard(guard, &spec.resilience) {
            Ok(probe) => Some((guard, probe)),
            Err(cause) => {
                self.refuse(caller, spec, cause);
                None
            }
        }
    }

    /// Guard `guard` (not `NO_GUARD`) takes a first attempt under policy `r`: its breaker
    /// admits it (`Ok(probe)`, whether it is the half-open probe), its bulkhead counts it and
    /// its retry budget gets the deposit; or the breaker (`CircuitOpen`) or the full bulkhead
    /// (`Unavailable`) refuses it, and nothing is counted. The callers answer a refusal each
    /// their way (an application's call, a sidecar's mesh call).
    #[inline]
    pub(super) fn admit_guard(
        &mut self,
        guard: u32,
        r: &crate::model::Resilience,
    ) -> Result<bool, Cause> {
        let now = self.q.now();
        let g = &mut self.guards[guard as usize];
        let mut probe = false;
        if let Some(b) = g.breaker.as_mut() {
            match b.admit(now, &mut self.transitions_room) {
                Admit::Pass { probe: p } => probe = p,
                Admit::Refuse => return Err(Cause::CircuitOpen),
            }
        }
        if let Some(limit) = r.bulkhead {
            if g.in_flight >= limit {
                return Err(Cause::Unavailable);
            }
            g.in_flight += 1;
        }
        if let Some(ratio) = r.retry.budget {
            g.deposit(ratio);
        }
        Ok(probe)
    }

    /// Index of the client request being sent now (the last one counted by `send_request`).
    fn current_request(&self) -> u64 {
        self.requests_sent.wrapping_sub(1)
    }

    /// The caller's own breaker (`CircuitOpen`), bulkhead (`Unavailable`) or client-side rate
    /// limit (`RateLimited`) refuses the call before any attempt: counted, and answered at once.
    /// Out of line: the start of a call that is not refused pays nothing for it.
    #[cold]
    #[inline(never)]
    fn refuse(&mut self, caller: Caller, spec: &Call, cause: Cause) {
        let now = self.q.now();
        if now >= self.warmup {
            match cause {
                Cause::CircuitOpen => self.stats.calls.circuit_open += 1,
                Cause::RateLimited => {}
                _ => self.stats.calls.bulkhead_full += 1,
            }
        }
        if self.tracer.is_some() {
            self.trace_call_refused(caller, spec, cause, self.current_request());
        }
        let request = self.current_request() as u32;
        self.deliver(caller, spec, now, Outcome::Failed(cause), request);
    }

    /// A retry's backoff is over: make the next attempt, unless its caller died meanwhile.
    pub(super) fn send_attempt(&mut self, handle: Handle) {
        let Some(&pc) = self.calls.get(handle) else {
            return;
        };
        let spec = self.call_spec(pc.call);
        match pc.caller {
            Caller::Job(job) if !self.job_alive(job) => {
                // The caller died (its replica crashed) while this call waited for a retry.
                return self.end_for_dead_caller(handle, pc, spec, job);
            }
            Caller::Mesh(app) if !self.mesh_owner_live(app) => {
                return self.mesh_abandon(handle, app);
            }
            _ => {}
        }
        self.put_on_wire(handle, !matches!(pc.caller, Caller::Client(_)), spec);
    }

    /// Ends call `handle` whose caller, `job`, died with its replica: the call ends, and so
    /// does the dead job (a lost coordinator's saga may resume).
    pub(super) fn end_for_dead_caller(
        &mut self,
        handle: Handle,
        pc: PendingCall,
        spec: &Call,
        job: Handle,
    ) {
        self.calls.remove(handle);
        self.release(pc, spec);
        if self.jobs.get(job).is_some() {
            if self.tracer.is_some() {
                self.trace_job_gone(job);
            }
            self.drop_job(job);
        }
    }

    /// Puts one attempt on the wire: the timeout, the replica, the request's hop. With
    /// sidecars in the model, the mesh decides first (and may take the attempt over).
    /// Inlined into its two callers (a call's first attempt, a retry).
    #[inline(always)]
    pub(super) fn put_on_wire(&mut self, handle: Handle, by_service: bool, spec: &'m Call) {
        if self.mesh {
            return self.put_on_wire_meshed(handle, by_service, spec);
        }
        self.wire(handle, by_service, spec, spec.timeout, SimDuration::ZERO);
    }

    #[inline(never)]
    fn put_on_wire_meshed(&mut self, handle: Handle, by_service: bool, spec: &'m Call) {
        match self.mesh_wire(handle, spec) {
            // The sidecar makes the attempts on the wire (and counts them).
            Wire::Handed => {}
            Wire::Send { timeout, extra } => self.wire(handle, by_service, spec, timeout, extra),
        }
    }

    /// The attempt on the wire with this timeout, its request delayed by `sidecars` on top of
    /// the link and the protocol. Inlined into both callers, so the plain one adds nothing.
    #[inline(always)]
    fn wire(
        &mut self,
        handle: Handle,
        by_service: bool,
        spec: &'m Call,
        timeout: Option<SimDuration>,
        sidecars: SimDuration,
    ) {
        let now = self.q.now();
        if now >= self.warmup {
            self.stats.call_attempt(by_service);
        }
        if let Some(timeout) = timeout {
            self.schedule_timeout(timeout, handle);
        }
        if let Some(queue) = spec.via {
            return self.send_via(handle, queue, spec.link);
        }
        // An endpoint with one fixed replica, or a fixed pool under round-robin or
        // least-outstanding (decided at build), is picked inline: what its balancer would
        // pick, without reading its service or its policy.
        let (replica, endpoint) = match self.plain.targets[spec.to.0 as usize] {
            Target::Only(r) => (r, spec.to),
            Target::RoundRobin(p) => (self.pick_round_robin(p as usize), spec.to),
            Target::Least(p) => (self.pick_least(p as usize), spec.to),
            Target::Balanced => self.pick_target(spec.to),
        };
        let extra = self.overhead(spec.protocol) + sidecars;
        let Some(delay) = self.hop(spec.link, extra) else {
            if self.tracer.is_some() {
                self.trace_attempt_sent(handle, None);
            }
            return; // lost on the way: the caller learns of it only by its timeout
        };
        // A zero-latency hop arrives now: its job is made arrived (`arrive`'s fields set),
        // from what is read of its replica here, with the count.
        let at_once = delay == SimDuration::ZERO;
        let (epoch, service, up) = {
            let rep = &mut self.replicas[replica as usize];
            rep.outstanding += 1;
            if at_once {
                (rep.epoch, rep.service, rep.is_up())
            } else {
                (0, rep.service, true)
            }
        };
        self.load_changed(replica as usize);
        // Without flows and priorities (decided at build) the call has nothing to pass on.
        // (Tested before the lookup, so a plain run looks nothing up.)
        let passes_on = !self.flow_accs.is_empty() || self.priorities;
        let pc = if passes_on {
            self.calls.get(handle)
        } else {
            None
        };
        let (flow, flow_step, sheddable) = match pc {
            Some(pc) => {
                let (flow, step) = self.call_flow_ctx(pc);
                (flow, step, pc.sheddable)
            }
            None => (Handle::NONE, crate::engine::flows::NO_STEP, false),
        };
        if flow != Handle::NONE {
            self.flow_ref(flow);
        }
        let counted = at_once && now >= self.warmup;
        let job = self.jobs.insert(Job {
            endpoint,
            replica,
            reply_to: handle,
            msg: Handle::NONE,
            origin: Handle::NONE,
            flow,
            flow_step,
            arrived: now,
            op_sent: now,
            epoch,
            next_call: 0,
            outstanding: 0,
            degraded: false,
            counted,
            sheddable,
        });
        self.job_added();
        if self.tracer.is_some() {
            self.trace_attempt_sent(handle, Some(job));
        }
        if at_once {
            let landing = Landing {
                sent: now,
                endpoint,
                replica: replica as usize,
                service,
                up,
                reply_to: handle,
                delivery: false,
                counted,
            };
            self.arrived(job, landing);
        } else {
            self.q.schedule(delay, Event::RequestArrive(job));
        }
    }

    /// The replica an attempt to endpoint `to` goes to, by its service's balancer, and the
    /// endpoint it serves there (a version's replica serves the version's copy).
    #[inline]
    fn pick_target(&mut self, to: crate::model::EndpointId) -> (u32, crate::model::EndpointId) {
        let service = self.model.endpoints[to.0 as usize].service;
        let replica = self.pick_replica(service);
        let endpoint =
            if !self.versioned || self.model.services[service.0 as usize].versions.is_empty() {
                to
            } else {
                self.endpoint_at(to, replica)
            };
        (replica, endpoint)
    }

    /// A caller's own timeout fired (not a timeout cause propagated up from further down).
    /// Out of line (see `World::handle`).
    #[inline(never)]
    pub(super) fn time_out(&mut self, call: Handle) {
        let Some(caller) = self.calls.get(call).map(|pc| pc.caller) else {
            return; // the reply came first
        };
        if self.mesh
            && let Caller::Mesh(app) = caller
            && !self.mesh_owner_live(app)
        {
            // The application gave up first (or the replica crashed): the sidecar's bound
            // ends its call without a timeout of its own to count.
            return self.mesh_abandon(call, app);
        }
        if self.q.now() >= self.warmup {
            self.stats.calls.timeouts += 1;
        }
        self.attempt_done(call, Outcome::Failed(Cause::Timeout), true);
    }

    /// An attempt ended, by reply or by timeout, whichever came first; the other finds the
    /// handle stale and is ignored. Retry, or end the logical call. Out of line (see
    /// `World::handle`).
    #[inline(never)]
    pub(super) fn attempt_done(&mut self, call: Handle, outcome: Outcome, by_timeout: bool) {
        let Some(&pc) = self.calls.get(call) else {
            return;
        };
        let spec = self.call_spec(pc.call);
        self.attempt_ended(call, pc, spec, outcome, by_timeout);
    }

    /// `attempt_done` for live call `call`, whose record `pc` and its site's `spec` the
    /// caller has looked up (a reply has both at hand). A plain call (one attempt, no guard,
    /// no sidecar) ends at once: nothing to record in a breaker, nothing to retry, no
    /// bulkhead slot to give back.
    #[inline(always)]
    pub(super) fn attempt_ended(
        &mut self,
        call: Handle,
        pc: PendingCall,
        spec: &'m Call,
        outcome: Outcome,
        by_timeout: bool,
    ) {
        if pc.plain {
            #[cfg(test)]
            {
                self.paths.plain_ends += 1;
            }
            // The caller passed the record it has just read: free the slot without moving it
            // out or checking its handle again.
            self.calls.discard_live(call);
            self.deliver(pc.caller, spec, pc.started, outcome, pc.request);
            if pc.flow != Handle::NONE {
                self.flow_told(pc.flow, outcome, pc.started);
            }
            return;
        }
        #[cfg(test)]
        {
            self.paths.general_ends += 1;
        }
        self.attempt_general(call, pc, outcome, by_timeout);
    }

    #[inline(never)]
    fn attempt_general(
        &mut self,
        call: Handle,
        pc: PendingCall,
        outcome: Outcome,
        by_timeout: bool,
    ) {
        let now = self.q.now();
        let spec = self.call_spec(pc.call);
        let mut r = &spec.resilience;
        if self.mesh
            && let Caller::Mesh(app) = pc.caller
        {
            match self.mesh_layer(call, app, pc.call) {
                Some(policy) => r = policy,
                None => return,
            }
        }
        if self.tracer.is_some() {
            self.trace_attempt_ended(call, by_timeout, spec.reply_link);
        }
        if pc.guard != NO_GUARD
            && let (Some(b), Some(bs)) = (
                self.guards[pc.guard as usize].breaker.as_mut(),
                r.breaker.as_ref(),
            )
        {
            let room = &mut self.transitions_room;
            b.record(now, outcome.is_failure(), pc.probe, bs, room);
        }
        if let Outcome::Failed(cause) = outcome
            && retryable(cause)
            && u32::from(pc.attempt) < r.retry.retries
        {
            let allowed = match r.retry.budget {
                Some(_) => self.guards[pc.guard as usize].withdraw(),
                None => true,
            };
            if allowed {
                let retry = u32::from(pc.attempt) + 1;
                let stream = self.jitter_stream(pc.caller, pc.call);
                let u: f64 = self.rng.jitter[stream].random();
                let delay = backoff(&r.retry, retry, u);
                let next = self.calls.renew(call).expect("live pending call");
                if self.tracer.is_some() {
                    self.trace_renewed(call, next);
                }
                let p = self.calls.get_mut(next).expect("renewed");
                p.attempt += 1;
                p.probe = false;
                // A mesh retry is counted when it goes on the wire (see `mesh_wire`): a
                // crash of its replica during the backoff means it is never made.
                let mesh = matches!(pc.caller, Caller::Mesh(_));
                if now >= self.warmup && !mesh {
                    self.stats.calls.retries += 1;
                }
                // A mesh retry always waits for an event, even without backoff: the two
                // layers' retries then never nest on the stack ((1 + 100)² frames).
                if delay == SimDuration::ZERO && !mesh {
                    self.send_attempt(next);
                } else {
                    self.q.schedule(delay, Event::Retry(next));
                }
                return;
            }
            if now >= self.warmup {
                self.stats.calls.budget_exhausted += 1;
            }
        }
        self.calls.remove(call);
        self.release(pc, spec);
        if self.tracer.is_some() {
            let name = self.call_name(pc.caller, pc.call);
            self.trace_call_done(call, name, pc.started, outcome);
        }
        self.deliver(pc.caller, spec, pc.started, outcome, pc.request);
        if pc.flow != Handle::NONE {
            self.flow_told(pc.flow, outcome, pc.started);
        }
    }

    /// The protocol's cost for one message crossing: a built-in constant, or a draw from a
    /// `[protocol.NAME]` profile's distribution. The default protocol, nearly every call's,
    /// is one test of the value at hand, ahead of the jump table on the protocol: in every
    /// model, not only one whose calls all use it.
    #[inline]
    pub(super) fn overhead(&mut self, protocol: Protocol) -> SimDuration {
        if protocol == Protocol::None {
            return SimDuration::ZERO;
        }
        match protocol.per_message() {
            Some(d) => d,
            None => self.user_overhead(protocol),
        }
    }

    #[cold]
    fn user_overhead(&mut self, protocol: Protocol) -> SimDuration {
        let Protocol::User(i) = protocol else {
            return SimDuration::ZERO;
        };
        let i = i as usize;
        self.model.protocols[i]
            .overhead
            .sample(&mut self.rng.protocol[i])
    }

    /// The backoff jitter stream of a call site owner: an endpoint, a workload, or (after
    /// them) the sidecar making a mesh call.
    fn jitter_stream(&self, caller: Caller, call: CallRef) -> usize {
        match (caller, call) {
            (Caller::Mesh(_), _) => {
                let m = self.model;
                m.endpoints.len() + m.workloads.len() + self.mesh_policy(call).0
            }
            (_, CallRef::Endpoint(e, _)) => e.0 as usize,
            (_, CallRef::Workload(w)) => self.model.endpoints.len() + w.0 as usize,
        }
    }

    /// Gives back the bulkhead slot of a finished logical call.
    fn release(&mut self, pc: PendingCall, spec: &Call) {
        // A mesh call's guard is the sidecar's, which has no bulkhead.
        if pc.guard != NO_GUARD
            && spec.resilience.bulkhead.is_some()
            && !matches!(pc.caller, Caller::Mesh(_))
        {
            let g = &mut self.guards[pc.guard as usize];
            g.in_flight = g.in_flight.saturating_sub(1);
        }
    }

    /// `caller -> target` for a trace (`client:checkout -> gateway/checkout`).
    fn call_name(&self, caller: Caller, call: CallRef) -> String {
        let target = self.model.endpoint_name(self.call_spec(call).to);
        match (caller, call) {
            (_, CallRef::Workload(w)) => {
                format!(
                    "client:{} -> {target}",
                    self.model.workloads[w.0 as usize].name
                )
            }
            (Caller::Mesh(_), CallRef::Endpoint(e, _)) => {
                format!("{} -> {target} (sidecar)", self.model.endpoint_name(e))
            }
            (_, CallRef::Endpoint(e, i)) => {
                // Only when tracing: which of the endpoint's calls names this one its fallback.
                let ep = &self.model.endpoints[e.0 as usize];
                let fallback = if ep.all_calls().any(|c| c.fallback_call == Some(i)) {
                    " (fallback)"
                } else {
                    ""
                };
                format!("{} -> {target}{fallback}", self.model.endpoint_name(e))
            }
        }
    }

    /// A logical call failed for good: its fallback call goes out instead (`None`: the
    /// fallback's outcome is the one the job will see), a sidecar hands the failure to the
    /// application's layer (`None`), a `fallback = true` call is degraded, or the failure
    /// stands. Out of line: a successful call (the common case) pays nothing for fallbacks.
    #[cold]
    #[inline(never)]
    fn failed_for_good(
        &mut self,
        caller: Caller,
        spec: &Call,
        outcome: Outcome,
    ) -> Option<Outcome> {
        let now = self.q.now();
        if let Some(k) = spec.fallback_call
            && let Caller::Job(job) = caller
            && self.job_alive(job)
        {
            // The call failed for good: its endpoint makes the fallback call instead, whose
            // outcome is the one the job sees. (A job whose replica crashed makes no more
            // calls: it hears the failure and vanishes.)
            if now >= self.warmup {
                self.stats.calls.fallbacks += 1;
            }
            let e = self.jobs.get(job).expect("live job").endpoint;
            self.start_call(caller, CallRef::Endpoint(e, k));
            return None;
        }
        if !spec.resilience.fallback {
            return Some(outcome);
        }
        if let Caller::Mesh(app) = caller {
            // A sidecar answers for nobody: the application's fallback is the
            // application's, after its own retries.
            self.attempt_done(app, outcome, false);
            return None;
        }
        if now >= self.warmup {
            self.stats.calls.fallbacks += 1;
        }
        Some(Outcome::Degraded)
    }

    /// The logical call's final outcome, after the fallback, to whoever waits for it.
    /// Inlined, so a plain call's end hands its outcome over without another call.
    #[inline(always)]
    fn deliver(
        &mut self,
        caller: Caller,
        spec: &Call,
        started: SimTime,
        outcome: Outcome,
        request: u32,
    ) {
        let now = self.q.now();
        let outcome = if outcome.is_failure() {
            match self.failed_for_good(caller, spec, outcome) {
                Some(outcome) => outcome,
                None => return,
            }
        } else {
            outcome
        };
        match caller {
            Caller::Client(w) => {
                let in_window = now >= self.warmup && now < self.end_of_arrivals;
                let measured = started >= self.warmup;
                self.stats
                    .request_done(w, started, now, outcome, in_window, measured);
                if measured && let Some(f) = self.finder.as_mut() {
                    f.saw(u64::from(request), now.since(started), outcome);
                }
                if self.is_closed_loop(w)
                    && let Arrival::Closed { think, .. } | Arrival::ClosedVarying { think, .. } =
                        &self.model.workloads[w.0 as usize].arrival
                    && now < self.end_of_arrivals
                {
                    let t = think.sample(&mut self.rng.workload[w.0 as usize]);
                    self.q.schedule(t, Event::UserSend(w));
                }
            }
            Caller::Job(job) => self.call_done(job, outcome),
            // The mesh's last outcome is the application attempt's: its own retries, breaker
            // and fallback come next, at the application's layer.
            Caller::Mesh(app) => self.attempt_done(app, outcome, false),
        }
    }
}

/// Failures worth another attempt. A breaker's refusal is local and immediate: retrying it
/// only adds load, so it is not retried.
fn retryable(cause: Cause) -> bool {
    !matches!(cause, Cause::CircuitOpen)
}

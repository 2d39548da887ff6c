//! The sidecar's side of a call (`[service.NAME.sidecar]`, see `model::sidecar` for the
//! crossings): the application's attempt is handed to its replica's sidecar, which makes the
//! mesh attempts itself, with its own timeout, retries and breaker, and hands the last
//! outcome back as the application attempt's.
//!
//! A mesh call is a [`PendingCall`] like any other, whose caller is `Caller::Mesh` (the
//! application's pending call) and whose policy is the sidecar's, so the attempt, timeout,
//! reply and retry machinery of `calls` serves both layers. Everything here is reached only
//! when the model has a sidecar (`World::mesh`, decided when the world is built): a model
//! without one pays a single predictable branch per attempt and per reply.

use super::{CallRef, Caller, NO_GUARD, Outcome, PendingCall, World};
use crate::engine::guard::Guard;
use crate::engine::slab::Handle;
use crate::model::{Call, EndpointId, Model, Sidecar};
use crate::results::Cause;
use crate::time::SimDuration;

/// No sidecar on this service.
pub(super) const NO_SIDECAR: u32 = u32::MAX;

/// What the mesh makes of an attempt about to go on the wire.
pub(super) enum Wire {
    /// The application's attempt went to its sidecar, which makes the attempts itself.
    Handed,
    /// The attempt goes on the wire with this timeout, its request delayed by `extra` (the
    /// overheads of the sidecars it crosses).
    Send {
        timeout: Option<crate::time::SimDuration>,
        extra: SimDuration,
    },
}

/// Per service, the index of its sidecar in `Model::sidecars` (`NO_SIDECAR` if none).
pub(super) fn sidecar_index(model: &Model) -> Vec<u32> {
    let mut of = vec![NO_SIDECAR; model.services.len()];
    for (k, s) in model.sidecars.iter().enumerate() {
        of[s.service.0 as usize] = k as u32;
    }
    of
}

/// Guards of the mesh: one per replica and outbound call site of a service whose sidecar has
/// a breaker or a retry budget, appended to `guards`; per endpoint and call, the first
/// replica's guard (`NO_GUARD` if none). Empty without sidecars.
pub(super) fn mesh_guards(model: &Model, guards: &mut Vec<Guard>) -> Vec<Vec<u32>> {
    if model.sidecars.is_empty() {
        return Vec::new();
    }
    let of = model.sidecars_by_service();
    model
        .endpoints
        .iter()
        .map(|ep| {
            let service = model.service(ep.service);
            let policy = of[ep.service.0 as usize].map(|s| &s.resilience);
            let needs = policy.is_some_and(|r| r.breaker.is_some() || r.retry.budget.is_some());
            ep.all_calls()
                .map(|_| {
                    if !needs {
                        return NO_GUARD;
                    }
                    let base = guards.len() as u32;
                    for _ in 0..service.replicas {
                        guards.push(Guard::new(policy.and_then(|r| r.breaker.as_ref())));
                    }
                    base
                })
                .collect()
        })
        .collect()
}

impl<'m> World<'m> {
    /// The sidecar of the service that owns endpoint `e`, if it has one.
    #[inline]
    fn sidecar_at(&self, e: EndpointId) -> u32 {
        let service = self.model.endpoints[e.0 as usize].service;
        self.sidecar_of[service.0 as usize]
    }

    /// The sidecar making a mesh call (the caller endpoint's).
    pub(super) fn mesh_policy(&self, call: CallRef) -> (usize, &'m Sidecar) {
        let CallRef::Endpoint(e, _) = call else {
            unreachable!("clients have no sidecar");
        };
        let k = self.sidecar_at(e) as usize;
        (k, &self.model.sidecars[k])
    }

    /// One crossing of sidecar `k`: a draw of its overhead.
    fn crossing(&mut self, k: u32) -> SimDuration {
        if k == NO_SIDECAR {
            return SimDuration::ZERO;
        }
        let k = k as usize;
        self.model.sidecars[k]
            .overhead
            .sample(&mut self.rng.sidecar[k])
    }

    /// The sidecars a message of this call crosses, one way: the caller's when the call is
    /// the mesh's (a caller without a sidecar, or a client, has none to cross), and the
    /// callee's. The same for the request and for its reply.
    pub(super) fn crossings(
        &mut self,
        caller: Caller,
        call: CallRef,
        to: EndpointId,
    ) -> SimDuration {
        let own = match (caller, call) {
            (Caller::Mesh(_), CallRef::Endpoint(e, _)) => self.crossing(self.sidecar_at(e)),
            _ => SimDuration::ZERO,
        };
        own + self.crossing(self.sidecar_at(to))
    }

    /// The sidecars the reply to pending call `call` crosses (as its request did).
    #[inline(never)]
    pub(super) fn reply_crossings(&mut self, call: Handle, to: EndpointId) -> SimDuration {
        match self.calls.get(call).map(|pc| (pc.caller, pc.call)) {
            Some((caller, call_ref)) => self.crossings(caller, call_ref, to),
            None => SimDuration::ZERO,
        }
    }

    /// Decides, for an attempt about to go on the wire, what the mesh does with it. Only
    /// called when the model has sidecars.
    #[inline(never)]
    pub(super) fn mesh_wire(&mut self, handle: Handle, spec: &'m Call) -> Wire {
        // A call already ended, or one through a broker (no sidecar on the way, see
        // `model::sidecar`), goes as it is.
        let pc = match self.calls.get(handle) {
            Some(&pc) if spec.via.is_none() => pc,
            _ => {
                return Wire::Send {
                    timeout: spec.timeout,
                    extra: SimDuration::ZERO,
                };
            }
        };
        match (pc.caller, pc.call) {
            (Caller::Mesh(_), _) => {
                if pc.attempt > 0 && self.q.now() >= self.warmup {
                    self.stats.calls.mesh_retries += 1;
                }
                // Without a timeout of its own, a mesh attempt waits at most the application's:
                // a proxy cannot know when its application gives up (it resets the upstream
                // request then), so this bound ends a mesh call nobody waits for, whose
                // message was lost, instead of holding it for good.
                let timeout = self.mesh_policy(pc.call).1.timeout.or(spec.timeout);
                let extra = self.crossings(pc.caller, pc.call, spec.to);
                Wire::Send { timeout, extra }
            }
            (Caller::Job(_), CallRef::Endpoint(e, _)) if self.sidecar_at(e) != NO_SIDECAR => {
                self.hand_to_sidecar(handle, pc, spec);
                Wire::Handed
            }
            _ => Wire::Send {
                timeout: spec.timeout,
                extra: self.crossings(pc.caller, pc.call, spec.to),
            },
        }
    }

    /// The application's attempt `app` reaches its sidecar: the application's timeout starts,
    /// the mesh's breaker may refuse at once, otherwise the mesh call makes its first attempt.
    fn hand_to_sidecar(&mut self, app: Handle, pc: PendingCall, spec: &'m Call) {
        let now = self.q.now();
        if let Some(timeout) = spec.timeout {
            self.schedule_timeout(timeout, app);
        }
        if self.tracer.is_some() {
            self.trace_attempt_sent(app, None);
        }
        if self.over_in_flight(self.calls.live()) {
            return;
        }
        let guard = self.mesh_guard_of(pc);
        let mut probe = false;
        if guard != NO_GUARD {
            // The sidecar has no bulkhead (see `model::sidecar`): only its breaker refuses.
            let policy = &self.mesh_policy(pc.call).1.resilience;
            debug_assert!(policy.bulkhead.is_none(), "a sidecar has no bulkhead");
            match self.admit_guard(guard, policy) {
                Ok(p) => probe = p,
                Err(cause) => {
                    if now >= self.warmup && cause == Cause::CircuitOpen {
                        self.stats.calls.circuit_open += 1;
                    }
                    return self.attempt_done(app, Outcome::Failed(cause), false);
                }
            }
        }
        let caller = Caller::Mesh(app);
        let mesh = self.calls.insert(PendingCall {
            caller,
            started: now,
            attempt: 0,
            guard,
            probe,
            flow: Handle::NONE,
            ..pc
        });
        if self.tracer.is_some() {
            self.trace_call_started(mesh, caller, u64::from(pc.request));
        }
        self.put_on_wire(mesh, true, spec);
    }

    /// The mesh guard of the replica making the application's call `pc`, if its sidecar has one.
    fn mesh_guard_of(&self, pc: PendingCall) -> u32 {
        let (CallRef::Endpoint(e, i), Caller::Job(job)) = (pc.call, pc.caller) else {
            return NO_GUARD;
        };
        let base = self.mesh_guard[e.0 as usize][i as usize];
        let Some(j) = self.jobs.get(job).filter(|_| base != NO_GUARD) else {
            return NO_GUARD;
        };
        let service = self.model.endpoints[e.0 as usize].service;
        base + (j.replica - self.replica_base[service.0 as usize])
    }

    /// Whether the application attempt a mesh call serves still waits for it: it has not
    /// timed out (its handle is current) and its replica, which the sidecar shares, is up.
    pub(super) fn mesh_owner_live(&self, app: Handle) -> bool {
        match self.calls.get(app).map(|p| p.caller) {
            Some(Caller::Job(job)) => self.job_alive(job),
            Some(_) => true,
            None => false,
        }
    }

    /// The policy for a mesh call's ended attempt: the sidecar's, or `None` when its
    /// application attempt no longer waits (the mesh call is then ended here).
    #[inline(never)]
    pub(super) fn mesh_layer(
        &mut self,
        mesh: Handle,
        app: Handle,
        call: CallRef,
    ) -> Option<&'m crate::model::Resilience> {
        if !self.mesh_owner_live(app) {
            self.mesh_abandon(mesh, app);
            return None;
        }
        Some(&self.mesh_policy(call).1.resilience)
    }

    /// Ends mesh call `mesh` whose application attempt `app` no longer waits: after an
    /// application timeout nothing more is sent (a proxy resets the upstream request when the
    /// downstream one goes away), and after a crash of the replica the proxy died with it, so
    /// the application's call ends and its job vanishes with the crash.
    pub(super) fn mesh_abandon(&mut self, mesh: Handle, app: Handle) {
        self.calls.remove(mesh);
        let Some(&ap) = self.calls.get(app) else {
            return;
        };
        if let Caller::Job(job) = ap.caller {
            let spec = self.call_spec(ap.call);
            self.end_for_dead_caller(app, ap, spec, job);
        }
    }
}

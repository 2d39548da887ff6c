//! Why the traced request (or one of its calls) was turned away: the replica's full queue, a
//! rate limit without a token, shedding, the caller's open breaker or full bulkhead, or the
//! client's own rate limit. Each refusal is an instant span carrying the meshsim cause and
//! the reason in words, so a rejected request no longer shows as two hops and nothing else.

use super::{NewSpan, Parent, RequestEnd, key, outcome_name};
use crate::engine::slab::Handle;
use crate::engine::world::{Caller, Outcome, World};
use crate::model::Call;
use crate::results::Cause;
use crate::trace::SpanKind;

fn millis(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

impl<'m> World<'m> {
    /// Why replica `r` turns away `job` with `cause`, in words (read before the job leaves).
    fn refusal_reason(&self, job: Handle, r: usize, cause: Cause) -> String {
        let replica = &self.replicas[r];
        let svc = &self.model.services[replica.service.0 as usize];
        let admission = svc.admission.as_ref();
        let j = self.jobs.get(job).expect("live job");
        let now = self.q.now();
        match cause {
            Cause::RateLimited => match admission.and_then(|a| a.rate_limit.as_ref()) {
                Some(l) => format!(
                    "no token in {}'s rate limit ({} per s, burst {}{})",
                    svc.name,
                    l.rate_milli_per_s as f64 / 1000.0,
                    l.burst,
                    if l.per_replica { ", per replica" } else { "" }
                ),
                None => "no rate-limit token".to_string(),
            },
            Cause::Shed if now > j.arrived => {
                let bound = admission
                    .and_then(|a| a.shed)
                    .map_or(0, |s| s.bound(j.sheddable).as_nanos());
                format!(
                    "shed after waiting {} in the queue (bound {}{})",
                    millis(now.since(j.arrived).as_nanos()),
                    millis(bound),
                    if j.sheddable {
                        ", half of shed.queue_time for sheddable work"
                    } else {
                        ""
                    }
                )
            }
            Cause::Shed => format!(
                "shed: the adaptive concurrency limit ({}) was reached with {} in the replica",
                self.concurrency.get(r).copied().unwrap_or(0),
                replica.busy + replica.queue.len() as u32
            ),
            _ => format!(
                "queue full: {} waiting, {} of {} workers busy",
                replica.queue.len(),
                replica.busy,
                svc.workers
            ),
        }
    }

    /// Replica `r` turns away traced `job` with `cause`: an instant under its serving span.
    pub(in crate::engine::world) fn trace_turned_away(
        &mut self,
        job: Handle,
        r: usize,
        cause: Cause,
    ) {
        let Some(at) = self.traced_job(job) else {
            return;
        };
        let reason = self.refusal_reason(job, r, cause);
        let Some(j) = self.jobs.get(job) else { return };
        let (arrived, endpoint) = (j.arrived, j.endpoint);
        let track = self.replica_track(r as u32);
        if arrived < self.q.now() {
            // Shed from the queue: its wait there, up to now.
            let name = self.model.endpoint_name(endpoint);
            self.leaf(SpanKind::Queue, name, track.clone(), at, arrived);
        }
        if let Some(jt) = self.tracer.as_mut().and_then(|t| t.jobs.get_mut(&key(job))) {
            jt.outcome = Some(cause.name().to_string());
            jt.attributes
                .push(("meshsim.cause", cause.name().to_string()));
            jt.attributes.push(("meshsim.reason", reason.clone()));
            // A request shed from the queue had arrived; one refused at the door too.
            if jt.arrived.is_none() {
                jt.arrived = Some(self.q.now());
            }
        }
        self.refused_instant(at, track, cause, reason);
    }

    fn refused_instant(&mut self, at: Parent, track: String, cause: Cause, reason: String) {
        let now = self.q.now();
        self.record(NewSpan {
            kind: SpanKind::Refused,
            name: reason.clone(),
            track,
            depth: at.depth,
            start: now,
            end: now,
            outcome: Some(cause.name().to_string()),
            id: None,
            parent: Some(at.span),
            attributes: vec![
                ("meshsim.cause", cause.name().to_string()),
                ("meshsim.reason", reason),
            ],
        });
    }

    /// The caller's breaker, bulkhead or client-side rate limit refuses a call to
    /// `spec.to` before any attempt. For the traced request itself this is its whole life:
    /// its own span (of no length) and the refusal under it.
    pub(in crate::engine::world) fn trace_call_refused(
        &mut self,
        caller: Caller,
        spec: &Call,
        cause: Cause,
        request: u64,
    ) {
        let target = self.model.endpoint_name(spec.to);
        let reason = match cause {
            Cause::CircuitOpen => format!("the caller's breaker on {target} is open"),
            Cause::RateLimited => "no token in the client's rate limit".to_string(),
            _ => format!(
                "the caller's bulkhead on {target} is full ({} in flight)",
                spec.resilience.bulkhead.unwrap_or(0)
            ),
        };
        let now = self.q.now();
        let (track, at) = match caller {
            Caller::Client(w) => {
                let Some(t) = self.tracer.as_mut() else {
                    return;
                };
                if request != t.target {
                    return;
                }
                let span = t.take_id();
                let workload = self.model.workloads[w.0 as usize].name.clone();
                let track = format!("client:{workload}");
                let name = format!("{track} -> {target}");
                t.end = Some(RequestEnd {
                    workload,
                    outcome: cause.name().to_string(),
                    start: now,
                    end: now,
                });
                self.record(NewSpan {
                    kind: SpanKind::Request,
                    name,
                    track: track.clone(),
                    depth: 0,
                    start: now,
                    end: now,
                    outcome: Some(outcome_name(Outcome::Failed(cause))),
                    id: Some(span),
                    parent: None,
                    attributes: Vec::new(),
                });
                (track, Parent { span, depth: 1 })
            }
            Caller::Job(job) => {
                let Some(at) = self.traced_job(job) else {
                    return;
                };
                let Some(j) = self.jobs.get(job) else { return };
                let (replica, endpoint) = (j.replica, j.endpoint);
                let track = self.replica_track(replica);
                let name = format!("{} -> {target}", self.model.endpoint_name(endpoint));
                // The call, of no length, and its refusal under it.
                let span = self.tracer.as_mut().map_or(0, |t| t.take_id());
                self.record(NewSpan {
                    kind: SpanKind::Call,
                    name,
                    track: track.clone(),
                    depth: at.depth,
                    start: now,
                    end: now,
                    outcome: Some(cause.name().to_string()),
                    id: Some(span),
                    parent: Some(at.span),
                    attributes: vec![("meshsim.cause", cause.name().to_string())],
                });
                (
                    track,
                    Parent {
                        span,
                        depth: at.depth + 1,
                    },
                )
            }
            // A sidecar's breaker refuses inside the application's attempt, which ends
            // `circuit_open` (see `mesh::hand_to_sidecar`): never a call refused here.
            Caller::Mesh(_) => return,
        };
        self.refused_instant(at, track, cause, reason);
    }
}

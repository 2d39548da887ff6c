//! Recording one request's spans (`meshsim trace`), and finding which request that is.
//!
//! Every hook is called only when `World::tracer` is set, behind a single `is_some` branch,
//! so an ordinary run pays one predictable branch per hook and records nothing. Traced calls
//! and jobs are recognised by their slab handles; only the traced request's descendants are
//! ever in these maps.

use std::collections::BTreeMap;

use super::{Caller, Outcome, World};
use crate::engine::slab::Handle;
use crate::model::LinkId;
use crate::time::{SimDuration, SimTime};
use crate::trace::{MAX_TRACE_SPANS, Span, SpanKind};

fn key(h: Handle) -> (u32, u32) {
    (h.index, h.generation)
}

pub(in crate::engine) struct CallTrace {
    depth: u32,
    track: String,
    attempt_sent: SimTime,
    reply_sent: Option<SimTime>,
}

pub(in crate::engine) struct JobTrace {
    depth: u32,
    work_started: SimTime,
}

/// The traced request's outcome, once known.
pub(in crate::engine) struct RequestEnd {
    pub workload: String,
    pub outcome: String,
    pub start: SimTime,
    pub end: SimTime,
}

pub(in crate::engine) struct Tracer {
    /// 0-based index of the request to trace.
    target: u64,
    calls: BTreeMap<(u32, u32), CallTrace>,
    jobs: BTreeMap<(u32, u32), JobTrace>,
    pub spans: Vec<Span>,
    pub end: Option<RequestEnd>,
    /// Spans were dropped at [`MAX_TRACE_SPANS`].
    pub truncated: bool,
}

impl Tracer {
    pub fn new(target: u64) -> Tracer {
        Tracer {
            target,
            calls: BTreeMap::new(),
            jobs: BTreeMap::new(),
            spans: Vec::new(),
            end: None,
            truncated: false,
        }
    }

    /// At the cap, nothing new is followed: no new call or job enters the maps, no span but
    /// the request's own is kept.
    fn full(&self) -> bool {
        self.spans.len() >= MAX_TRACE_SPANS
    }
}

/// Watches every counted client request to find the slowest success and the first failure.
#[derive(Default)]
pub(in crate::engine) struct Finder {
    pub slowest: Option<(SimDuration, u64)>,
    pub first_failed: Option<u64>,
}

impl Finder {
    /// A counted client request ended.
    pub fn saw(&mut self, request: u64, latency: SimDuration, outcome: Outcome) {
        match outcome {
            Outcome::Ok => {
                if self.slowest.is_none_or(|(l, _)| latency > l) {
                    self.slowest = Some((latency, request));
                }
            }
            Outcome::Failed(_) => {
                if self.first_failed.is_none() {
                    self.first_failed = Some(request);
                }
            }
            Outcome::Degraded => {}
        }
    }
}

pub(super) fn outcome_name(o: Outcome) -> String {
    match o {
        Outcome::Ok => "ok".to_string(),
        Outcome::Degraded => "degraded".to_string(),
        Outcome::Failed(c) => c.name().to_string(),
    }
}

impl<'m> World<'m> {
    fn replica_track(&self, replica: u32) -> String {
        let s = self.replicas[replica as usize].service;
        let i = replica - self.replica_base[s.0 as usize];
        format!("{}#{i}", self.model.service(s).name)
    }

    /// Nesting depth of a traced job; `None` when the job is not traced.
    fn traced_depth(&self, job: Handle) -> Option<u32> {
        self.tracer
            .as_ref()
            .and_then(|t| t.jobs.get(&key(job)))
            .map(|j| j.depth)
    }

    /// A logical call was created; trace it if it is the target request or comes from a
    /// traced job.
    pub(super) fn trace_call_started(&mut self, handle: Handle, caller: Caller, request: u64) {
        let (depth, track) = match caller {
            Caller::Client(w) => {
                let Some(t) = self.tracer.as_ref() else {
                    return;
                };
                if request != t.target {
                    return;
                }
                (
                    0,
                    format!("client:{}", self.model.workloads[w.0 as usize].name),
                )
            }
            Caller::Job(job) => {
                let Some(depth) = self.traced_depth(job) else {
                    return;
                };
                if let Some(t) = self.tracer.as_mut()
                    && t.full()
                {
                    t.truncated = true;
                    return;
                }
                let replica = self.jobs.get(job).map_or(0, |j| j.replica);
                (depth, self.replica_track(replica))
            }
            Caller::Mesh(app) => {
                // A sidecar's mesh call nests under the application's call it serves, on
                // the replica's track marked `sidecar`.
                let Some(t) = self.tracer.as_mut() else {
                    return;
                };
                let Some(c) = t.calls.get(&key(app)) else {
                    return;
                };
                let (depth, track) = (c.depth + 1, format!("{} sidecar", c.track));
                if t.full() {
                    t.truncated = true;
                    return;
                }
                (depth, track)
            }
        };
        let now = self.q.now();
        if let Some(t) = self.tracer.as_mut() {
            t.calls.insert(
                key(handle),
                CallTrace {
                    depth,
                    track,
                    attempt_sent: now,
                    reply_sent: None,
                },
            );
        }
    }

    /// An attempt went on the wire; its job (if the request was not lost) is traced too.
    pub(super) fn trace_attempt_sent(&mut self, handle: Handle, job: Option<Handle>) {
        let now = self.q.now();
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let Some(c) = t.calls.get_mut(&key(handle)) else {
            return;
        };
        c.attempt_sent = now;
        c.reply_sent = None;
        let depth = c.depth + 1;
        if let Some(job) = job
            && !t.full()
        {
            t.jobs.insert(
                key(job),
                JobTrace {
                    depth,
                    work_started: now,
                },
            );
        }
    }

    /// A retry renews the pending call's handle.
    pub(super) fn trace_renewed(&mut self, old: Handle, new: Handle) {
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        if let Some(c) = t.calls.remove(&key(old)) {
            t.calls.insert(key(new), c);
        }
    }

    fn push(
        &mut self,
        kind: SpanKind,
        name: String,
        track: String,
        depth: u32,
        start: SimTime,
        outcome: Option<String>,
    ) {
        let end = self.q.now();
        if let Some(t) = self.tracer.as_mut() {
            if t.full() && kind != SpanKind::Request {
                t.truncated = true;
                return;
            }
            t.spans.push(Span {
                kind,
                name,
                track,
                depth,
                start,
                end,
                outcome,
            });
        }
    }

    /// A traced job's request reached its replica after crossing `link`, sent at `sent`.
    pub(super) fn trace_arrived(&mut self, job: Handle, sent: SimTime, link: LinkId) {
        let Some(depth) = self.traced_depth(job) else {
            return;
        };
        let name = self.model.link_name(link);
        self.push(SpanKind::Network, name.clone(), name, depth, sent, None);
    }

    /// A traced job got its worker: the queue wait ends, the work begins.
    pub(super) fn trace_work_started(&mut self, job: Handle) {
        let Some(depth) = self.traced_depth(job) else {
            return;
        };
        let Some(j) = self.jobs.get(job) else { return };
        let (arrived, replica, endpoint) = (j.arrived, j.replica, j.endpoint);
        let name = self.model.endpoint_name(endpoint);
        let track = self.replica_track(replica);
        self.push(SpanKind::Queue, name, track, depth, arrived, None);
        let now = self.q.now();
        if let Some(jt) = self.tracer.as_mut().and_then(|t| t.jobs.get_mut(&key(job))) {
            jt.work_started = now;
        }
    }

    /// A traced job's work is done.
    pub(super) fn trace_work_done(&mut self, job: Handle) {
        let Some((depth, started)) = self
            .tracer
            .as_ref()
            .and_then(|t| t.jobs.get(&key(job)))
            .map(|j| (j.depth, j.work_started))
        else {
            return;
        };
        let Some(j) = self.jobs.get(job) else { return };
        let (replica, endpoint) = (j.replica, j.endpoint);
        let name = self.model.endpoint_name(endpoint);
        let track = self.replica_track(replica);
        self.push(SpanKind::Work, name, track, depth, started, None);
    }

    /// A traced job is gone (finished, rejected, refused, or lost in a crash).
    pub(super) fn trace_job_gone(&mut self, job: Handle) {
        if let Some(t) = self.tracer.as_mut() {
            t.jobs.remove(&key(job));
        }
    }

    /// The reply to a traced call left the callee.
    pub(super) fn trace_reply_sent(&mut self, call: Handle) {
        let now = self.q.now();
        if let Some(c) = self
            .tracer
            .as_mut()
            .and_then(|t| t.calls.get_mut(&key(call)))
        {
            c.reply_sent = Some(now);
        }
    }

    /// An attempt of a traced call ended: the reply's hop, or the timeout.
    pub(super) fn trace_attempt_ended(
        &mut self,
        call: Handle,
        timed_out: bool,
        reply_link: LinkId,
    ) {
        let Some((depth, sent, reply_sent, track)) = self
            .tracer
            .as_ref()
            .and_then(|t| t.calls.get(&key(call)))
            .map(|c| (c.depth, c.attempt_sent, c.reply_sent, c.track.clone()))
        else {
            return;
        };
        if timed_out {
            self.push(
                SpanKind::Timeout,
                "timeout".to_string(),
                track,
                depth + 1,
                sent,
                None,
            );
        } else if let Some(reply_sent) = reply_sent {
            let name = self.model.link_name(reply_link);
            self.push(
                SpanKind::Network,
                name.clone(),
                name,
                depth + 1,
                reply_sent,
                None,
            );
        }
    }

    /// A traced logical call ended with `outcome` (after retries and fallback).
    pub(super) fn trace_call_done(
        &mut self,
        call: Handle,
        name: String,
        started: SimTime,
        outcome: Outcome,
    ) {
        let Some(c) = self
            .tracer
            .as_mut()
            .and_then(|t| t.calls.remove(&key(call)))
        else {
            return;
        };
        let now = self.q.now();
        let kind = if c.depth == 0 {
            SpanKind::Request
        } else {
            SpanKind::Call
        };
        let workload = c.track.trim_start_matches("client:").to_string();
        self.push(
            kind,
            name,
            c.track,
            c.depth,
            started,
            Some(outcome_name(outcome)),
        );
        if kind == SpanKind::Request
            && let Some(t) = self.tracer.as_mut()
        {
            t.end = Some(RequestEnd {
                workload,
                outcome: outcome_name(outcome),
                start: started,
                end: now,
            });
        }
    }
}

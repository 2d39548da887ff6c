//! Recording one request's spans (`meshsim trace`), and finding which request that is.
//!
//! Every hook is called only when `World::tracer` is set, behind a single `is_some` branch,
//! so an ordinary run pays one predictable branch per hook and records nothing. Traced calls
//! and jobs are recognised by their slab handles; only the traced request's descendants are
//! ever in these maps.
//!
//! Each span takes its id when it starts (a call, a job's serving, a publish) or when it is
//! kept (a leaf), and names its parent, so the trace is one tree. Messages, flows and
//! refusals are followed in `tracing/`.

mod crashes;
mod messages;
mod refusals;

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use super::{Caller, Outcome, World};
use crate::engine::slab::Handle;
use crate::model::LinkId;
use crate::time::{SimDuration, SimTime};
use crate::trace::{MAX_TRACE_SPANS, Span, SpanKind};

fn key(h: Handle) -> (u32, u32) {
    (h.index, h.generation)
}

/// A traced span that others hang from: its id and the depth its children are drawn at.
#[derive(Clone, Copy)]
pub(in crate::engine) struct Parent {
    span: u32,
    depth: u32,
}

pub(in crate::engine) struct CallTrace {
    span: u32,
    /// The job making the call; `None` for the client's request (the root).
    parent: Option<u32>,
    depth: u32,
    track: String,
    attempt_sent: SimTime,
    reply_sent: Option<SimTime>,
    /// Attempts sent so far (retries count; a flow step's retried call too): the
    /// `meshsim.attempt` of each attempt's spans.
    attempts: u32,
}

pub(in crate::engine) struct JobTrace {
    /// Its serving span ([`SpanKind::Serve`], or [`SpanKind::Consume`] for a delivery).
    span: u32,
    /// The call it answers, or the publish (or call) whose message it consumes.
    parent: u32,
    depth: u32,
    work_started: SimTime,
    /// Holding a worker (between work start and work done): what a crash cuts short.
    working: bool,
    /// When it reached its replica; a job that never did has no serving span.
    arrived: Option<SimTime>,
    /// For a delivery: when it left the broker (after the broker's capacity let it go).
    departed: SimTime,
    delivery: bool,
    /// Set when the job is turned away or its outcome known.
    outcome: Option<String>,
    attributes: Vec<(&'static str, String)>,
    /// A publish in progress: its span id and start.
    publish: Option<(u32, SimTime)>,
}

impl JobTrace {
    /// Its serving span, as what its work, hops and calls hang from.
    fn at(&self) -> Parent {
        Parent {
            span: self.span,
            depth: self.depth,
        }
    }
}

impl CallTrace {
    /// Its span, as what hangs one level under it (its attempt's hops, its message).
    fn below(&self) -> Parent {
        Parent {
            span: self.span,
            depth: self.depth + 1,
        }
    }
}

/// A span to keep: [`World::push`]'s arguments and what a parent-aware hook adds.
pub(in crate::engine) struct NewSpan {
    pub kind: SpanKind,
    pub name: String,
    pub track: String,
    pub depth: u32,
    pub start: SimTime,
    pub end: SimTime,
    pub outcome: Option<String>,
    /// Taken at its start; `None` takes the next id now.
    pub id: Option<u32>,
    pub parent: Option<u32>,
    pub attributes: Vec<(&'static str, String)>,
}

/// What a leaf span is, where, under what and since when (it ends now).
pub(in crate::engine) struct Leaf {
    pub kind: SpanKind,
    pub name: String,
    pub track: String,
    pub at: Parent,
    pub start: SimTime,
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
    next_id: u32,
    calls: BTreeMap<(u32, u32), CallTrace>,
    jobs: BTreeMap<(u32, u32), JobTrace>,
    /// Messages the request caused, by origin: where their copies hang in the tree.
    origins: BTreeMap<(u32, u32), messages::OriginTrace>,
    /// Flow instances the request started: what their next command or resumed coordinator
    /// hangs from.
    instances: BTreeMap<(u32, u32), Parent>,
    /// Set while a traced publish, request-reply call or flow command puts its message into
    /// the broker: the copies made meanwhile are followed.
    enqueuing: Option<Parent>,
    pub spans: Vec<Span>,
    pub end: Option<RequestEnd>,
    /// Spans were dropped at [`MAX_TRACE_SPANS`].
    pub truncated: bool,
}

impl Tracer {
    pub fn new(target: u64) -> Tracer {
        Tracer {
            target,
            next_id: 0,
            calls: BTreeMap::new(),
            jobs: BTreeMap::new(),
            origins: BTreeMap::new(),
            instances: BTreeMap::new(),
            enqueuing: None,
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

    fn take_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    /// A traced job: its serving span's id, at `depth`, under `parent`; its entry, for the
    /// caller to add what it knows.
    fn add_job(&mut self, job: Handle, parent: u32, depth: u32, now: SimTime) -> &mut JobTrace {
        let span = self.take_id();
        let new = JobTrace {
            span,
            parent,
            depth,
            work_started: now,
            working: false,
            arrived: None,
            departed: now,
            delivery: false,
            outcome: None,
            attributes: Vec::new(),
            publish: None,
        };
        // (A handle is traced once per generation: the entry is new, but an old one would
        // be replaced, as `insert` did.)
        match self.jobs.entry(key(job)) {
            Entry::Vacant(slot) => slot.insert(new),
            Entry::Occupied(slot) => {
                let old = slot.into_mut();
                *old = new;
                old
            }
        }
    }
}

/// Watches every counted client request to find the slowest success and the first failure.
#[derive(Default)]
pub(in crate::engine) struct Finder {
    pub slowest: Option<(SimDuration, u64)>,
    pub first_failed: Option<u64>,
    /// `--flow-instance K`: K, then (K, the request that started it) once found.
    pub instance_wanted: Option<u64>,
    pub instance: Option<(u64, u64)>,
    /// Flow instances started so far.
    instances_started: u64,
    /// Instances in flight that a client request started (after warmup): their number
    /// and request, for `--inconsistent`. Only in the finding run, and only while they live.
    live: BTreeMap<(u32, u32), (u64, u64)>,
    /// The earliest started instance judged inconsistent: (instance, request).
    pub inconsistent: Option<(u64, u64)>,
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

/// A job's part in its flow: `entry` (the coordinator or the first publisher), `do N` or
/// `undo N` (steps counted from 1).
fn flow_step_name(code: u16) -> String {
    use crate::engine::flows::{NO_STEP, UNDO};
    match code {
        NO_STEP => "entry".to_string(),
        c if c & UNDO != 0 => format!("undo {}", (c & !UNDO) + 1),
        c => format!("do {}", c + 1),
    }
}

impl<'m> World<'m> {
    /// The finding run saw flow instance `h` start for the job answering `reply_to`.
    pub(super) fn find_instance_started(&mut self, h: Handle, reply_to: Handle, counted: bool) {
        let request = match self.calls.get(reply_to) {
            Some(pc) if matches!(pc.caller, Caller::Client(_)) => Some(u64::from(pc.request)),
            _ => None,
        };
        let Some(f) = self.finder.as_mut() else {
            return;
        };
        f.instances_started += 1;
        let number = f.instances_started;
        let Some(request) = request else { return };
        if f.instance_wanted == Some(number) {
            f.instance = Some((number, request));
        }
        if counted {
            f.live.insert(key(h), (number, request));
        }
    }

    /// The finding run judges flow instance `h`.
    pub(super) fn find_instance_judged(&mut self, h: Handle, inconsistent: bool) {
        let Some(f) = self.finder.as_mut() else {
            return;
        };
        let Some(found) = f.live.remove(&key(h)) else {
            return;
        };
        if inconsistent && f.inconsistent.is_none_or(|(n, _)| found.0 < n) {
            f.inconsistent = Some(found);
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

    /// A traced job's serving span and depth; `None` when the job is not traced.
    fn traced_job(&self, job: Handle) -> Option<Parent> {
        self.tracer
            .as_ref()
            .and_then(|t| t.jobs.get(&key(job)))
            .map(JobTrace::at)
    }

    /// A logical call was created; trace it if it is the target request or comes from a
    /// traced job.
    pub(super) fn trace_call_started(&mut self, handle: Handle, caller: Caller, request: u64) {
        let (depth, track, parent) = match caller {
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
                    None,
                )
            }
            Caller::Job(job) => {
                let Some(Parent { span, depth }) = self.traced_job(job) else {
                    return;
                };
                if let Some(t) = self.tracer.as_mut()
                    && t.full()
                {
                    t.truncated = true;
                    return;
                }
                let replica = self.jobs.get(job).map_or(0, |j| j.replica);
                (depth, self.replica_track(replica), Some(span))
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
                let (depth, track, span) = (c.depth + 1, format!("{} sidecar", c.track), c.span);
                if t.full() {
                    t.truncated = true;
                    return;
                }
                (depth, track, Some(span))
            }
        };
        let now = self.q.now();
        if let Some(t) = self.tracer.as_mut() {
            let span = t.take_id();
            t.calls.insert(
                key(handle),
                CallTrace {
                    span,
                    parent,
                    depth,
                    track,
                    attempt_sent: now,
                    reply_sent: None,
                    attempts: 0,
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
        c.attempts = c.attempts.saturating_add(1);
        let (depth, parent, attempt) = (c.depth + 1, c.span, c.attempts);
        if let Some(job) = job
            && !t.full()
        {
            let jt = t.add_job(job, parent, depth, now);
            jt.attributes.push(("meshsim.attempt", attempt.to_string()));
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

    /// Keeps a span (past the cap, only the request's own).
    fn record(&mut self, s: NewSpan) {
        if let Some(t) = self.tracer.as_mut() {
            if t.full() && s.kind != SpanKind::Request {
                t.truncated = true;
                return;
            }
            let id = match s.id {
                Some(id) => id,
                None => t.take_id(),
            };
            t.spans.push(Span {
                kind: s.kind,
                name: s.name,
                track: s.track,
                depth: s.depth,
                start: s.start,
                end: s.end,
                outcome: s.outcome,
                id,
                parent: s.parent,
                attributes: s.attributes,
            });
        }
    }

    /// A leaf span ending now under `parent`.
    fn leaf(&mut self, kind: SpanKind, name: String, track: String, at: Parent, start: SimTime) {
        self.leaf_with(
            Leaf {
                kind,
                name,
                track,
                at,
                start,
            },
            None,
            Vec::new(),
        );
    }

    /// [`World::leaf`] with an outcome and attributes (an attempt's number, a crash).
    fn leaf_with(
        &mut self,
        l: Leaf,
        outcome: Option<String>,
        attributes: Vec<(&'static str, String)>,
    ) {
        let end = self.q.now();
        self.record(NewSpan {
            kind: l.kind,
            name: l.name,
            track: l.track,
            depth: l.at.depth,
            start: l.start,
            end,
            outcome,
            id: None,
            parent: Some(l.at.span),
            attributes,
        });
    }

    /// The call a traced job answers (for its hops), as a parent one level up.
    fn job_parent(&self, job: Handle) -> Option<Parent> {
        self.tracer
            .as_ref()
            .and_then(|t| t.jobs.get(&key(job)))
            .map(|j| Parent {
                span: j.parent,
                depth: j.depth,
            })
    }

    /// A traced job's request reached its replica after crossing `link`, sent at `sent`.
    pub(super) fn trace_arrived(&mut self, job: Handle, sent: SimTime, link: LinkId) {
        let Some(at) = self.job_parent(job) else {
            return;
        };
        self.mark_arrived(job);
        let name = self.model.link_name(link);
        // The hop is part of the attempt its job serves.
        let attributes: Vec<(&'static str, String)> = self
            .tracer
            .as_ref()
            .and_then(|t| t.jobs.get(&key(job)))
            .into_iter()
            .flat_map(|jt| jt.attributes.iter())
            .filter(|(k, _)| *k == "meshsim.attempt")
            .cloned()
            .collect();
        let hop = Leaf {
            kind: SpanKind::Network,
            name: name.clone(),
            track: name,
            at,
            start: sent,
        };
        self.leaf_with(hop, None, attributes);
    }

    fn mark_arrived(&mut self, job: Handle) {
        let now = self.q.now();
        if let Some(jt) = self.tracer.as_mut().and_then(|t| t.jobs.get_mut(&key(job))) {
            jt.arrived = Some(now);
        }
    }

    /// A traced job got its worker: the queue wait ends, the work begins.
    pub(super) fn trace_work_started(&mut self, job: Handle) {
        let Some(at) = self.traced_job(job) else {
            return;
        };
        let Some(j) = self.jobs.get(job) else { return };
        let (arrived, replica, endpoint) = (j.arrived, j.replica, j.endpoint);
        let name = self.model.endpoint_name(endpoint);
        let track = self.replica_track(replica);
        self.leaf(SpanKind::Queue, name, track, at, arrived);
        let now = self.q.now();
        if let Some(jt) = self.tracer.as_mut().and_then(|t| t.jobs.get_mut(&key(job))) {
            jt.work_started = now;
            jt.working = true;
        }
    }

    /// A traced job's work is done.
    pub(super) fn trace_work_done(&mut self, job: Handle) {
        let Some((at, started)) = self
            .tracer
            .as_ref()
            .and_then(|t| t.jobs.get(&key(job)))
            .map(|j| (j.at(), j.work_started))
        else {
            return;
        };
        let Some(j) = self.jobs.get(job) else { return };
        let (replica, endpoint) = (j.replica, j.endpoint);
        let name = self.model.endpoint_name(endpoint);
        let track = self.replica_track(replica);
        self.leaf(SpanKind::Work, name, track, at, started);
    }

    /// A traced job is gone (finished, rejected, refused, or lost in a crash): its serving
    /// span ends, and a flow instance it worked for hangs its next move from it.
    pub(super) fn trace_job_gone(&mut self, job: Handle) {
        let Some(jt) = self.tracer.as_mut().and_then(|t| t.jobs.remove(&key(job))) else {
            return;
        };
        let Some(j) = self.jobs.get(job) else { return };
        let (replica, endpoint, flow, step) = (j.replica, j.endpoint, j.flow, j.flow_step);
        let at = jt.at();
        if flow != Handle::NONE
            && let Some(p) = self
                .tracer
                .as_mut()
                .and_then(|t| t.instances.get_mut(&key(flow)))
        {
            *p = at;
        }
        let Some(arrived) = jt.arrived else { return };
        let mut attributes = jt.attributes;
        if flow != Handle::NONE
            && let Some(i) = self.instances.get(flow)
        {
            attributes.push((
                "meshsim.flow",
                self.model.flows[i.flow as usize].name.clone(),
            ));
            attributes.push(("meshsim.flow.step", flow_step_name(step)));
        }
        let kind = if jt.delivery {
            SpanKind::Consume
        } else {
            SpanKind::Serve
        };
        let end = self.q.now();
        self.record(NewSpan {
            kind,
            name: self.model.endpoint_name(endpoint),
            track: self.replica_track(replica),
            depth: jt.depth,
            start: arrived,
            end,
            outcome: jt.outcome,
            id: Some(jt.span),
            parent: Some(jt.parent),
            attributes,
        });
    }

    /// A traced job ends with `outcome` (its serving span says so).
    pub(super) fn trace_job_outcome(&mut self, job: Handle, outcome: Outcome) {
        let degraded = self.jobs.get(job).is_some_and(|j| j.degraded);
        let outcome = if outcome == Outcome::Ok && degraded {
            Outcome::Degraded
        } else {
            outcome
        };
        if let Some(jt) = self.tracer.as_mut().and_then(|t| t.jobs.get_mut(&key(job))) {
            jt.outcome = Some(outcome_name(outcome));
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
        let Some((at, sent, reply_sent, track, attempt)) = self
            .tracer
            .as_ref()
            .and_then(|t| t.calls.get(&key(call)))
            .map(|c| {
                (
                    c.below(),
                    c.attempt_sent,
                    c.reply_sent,
                    c.track.clone(),
                    c.attempts,
                )
            })
        else {
            return;
        };
        let (kind, name, track, start) = if timed_out {
            (SpanKind::Timeout, "timeout".to_string(), track, sent)
        } else if let Some(reply_sent) = reply_sent {
            let name = self.model.link_name(reply_link);
            (SpanKind::Network, name.clone(), name, reply_sent)
        } else {
            return;
        };
        let l = Leaf {
            kind,
            name,
            track,
            at,
            start,
        };
        self.leaf_with(l, None, vec![("meshsim.attempt", attempt.to_string())]);
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
        self.record(NewSpan {
            kind,
            name,
            track: c.track,
            depth: c.depth,
            start: started,
            end: now,
            outcome: Some(outcome_name(outcome)),
            id: Some(c.span),
            parent: c.parent,
            attributes: Vec::new(),
        });
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

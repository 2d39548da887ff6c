//! A crash takes the traced jobs on its replica: their serving (or consuming) spans end at
//! the crash with the outcome `crashed`, after the queue wait or work it cut short. Without
//! this a lost delivery's consume span ended whenever the job's next event found it gone,
//! with no outcome, and a queued job's never ended at all.

use super::{Leaf, key};
use crate::engine::slab::Handle;
use crate::engine::world::World;
use crate::trace::SpanKind;

/// The outcome (and `meshsim.cause`) of a span a crash ended.
const CRASHED: &str = "crashed";

impl<'m> World<'m> {
    /// Replica `r` is crashing (called before its queue is emptied). Looks only through the
    /// traced jobs (a handful, and only in a traced run), never the replica's queue.
    pub(in crate::engine::world) fn trace_crash(&mut self, r: usize) {
        let Some(t) = self.tracer.as_ref() else {
            return;
        };
        let lost: Vec<Handle> = t
            .jobs
            .iter()
            .filter(|(_, jt)| jt.arrived.is_some())
            .map(|(&(index, generation), _)| Handle { index, generation })
            .filter(|&h| self.jobs.get(h).is_some_and(|j| j.replica as usize == r))
            .collect();
        let now = self.q.now();
        for job in lost {
            let Some(j) = self.jobs.get(job) else {
                continue;
            };
            let name = self.model.endpoint_name(j.endpoint);
            let track = self.replica_track(j.replica);
            let Some(jt) = self.tracer.as_mut().and_then(|t| t.jobs.get_mut(&key(job))) else {
                continue;
            };
            let (kind, start) = if jt.working {
                (SpanKind::Work, jt.work_started)
            } else {
                (SpanKind::Queue, jt.arrived.unwrap_or(now))
            };
            jt.working = false;
            jt.outcome = Some(CRASHED.to_string());
            let cut = Leaf {
                at: jt.at(),
                kind,
                start,
                name,
                track,
            };
            self.leaf_with(cut, Some(CRASHED.to_string()), Vec::new());
            self.trace_job_gone(job);
        }
    }
}

//! Following the traced request's messages: the publish's round trip, each copy's wait in
//! its queue or partition, every delivery and its consumer, the ack or nack, redeliveries,
//! dead-lettering; request-reply calls over a broker; and flow instances (their commands and
//! resumed coordinators).
//!
//! A message is followed by its origin (one per copy a publish makes; duplicates share it).
//! Which copies are the request's is decided where they enter the broker: the caller sets
//! `enqueuing` for the time of the `enqueue`, and every copy made meanwhile is followed.

use super::{CallTrace, NewSpan, Parent, key};
use crate::engine::slab::Handle;
use crate::engine::world::{Outcome, World};
use crate::time::SimTime;
use crate::trace::SpanKind;

/// A followed message.
pub(in crate::engine) struct OriginTrace {
    /// What its copies hang from: the publish, or the request-reply call, or the step that
    /// sent a flow command.
    at: Parent,
    /// Since when the copy has been waiting for a consumer.
    ready_since: SimTime,
    /// Its latest consumer's serving span (the ack's parent).
    consumer: Option<Parent>,
    ack_sent: SimTime,
    /// Its latest delivery was nacked (so a redelivery follows a nack, not a timeout).
    nacked: bool,
    /// Why it is waiting again, for the next wait's attributes.
    redelivered: Option<&'static str>,
}

impl<'m> World<'m> {
    /// The name of channel `ch` for a trace track: `broker/queue`, or
    /// `broker/topic[partition]/group`.
    fn channel_track(&self, ch: u32) -> String {
        let model = self.model;
        let broker = &model.brokers[self.brokers.channels[ch as usize].broker as usize].name;
        if (ch as usize) < model.queues.len() {
            return format!("{broker}/{}", model.queues[ch as usize].name);
        }
        for (t, topic) in model.topics.iter().enumerate() {
            let base = self.brokers.topic_base[t];
            let n = topic.groups.len() as u32 * topic.partitions;
            if ch >= base && ch < base + n {
                let (g, p) = (
                    (ch - base) / topic.partitions,
                    (ch - base) % topic.partitions,
                );
                let group = &topic.groups[g as usize].name;
                return format!("{broker}/{}[{p}]/{group}", topic.name);
            }
        }
        broker.clone()
    }

    /// A traced job's `k`-th publish leaves for the broker: its span starts.
    pub(in crate::engine::world) fn trace_publish_started(&mut self, job: Handle) {
        let now = self.q.now();
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        if t.full() || !t.jobs.contains_key(&key(job)) {
            return;
        }
        let id = t.take_id();
        if let Some(jt) = t.jobs.get_mut(&key(job)) {
            jt.publish = Some((id, now));
        }
    }

    /// The broker's answer to a traced job's publish of `to` (or its timeout) came back.
    pub(in crate::engine::world) fn trace_publish_done(
        &mut self,
        job: Handle,
        to: &str,
        outcome: Outcome,
    ) {
        let Some(jt) = self.tracer.as_mut().and_then(|t| t.jobs.get_mut(&key(job))) else {
            return;
        };
        let Some((id, start)) = jt.publish.take() else {
            return;
        };
        let (parent, depth) = (jt.span, jt.depth);
        let Some(j) = self.jobs.get(job) else { return };
        let (endpoint, replica) = (j.endpoint, j.replica);
        let end = self.q.now();
        self.record(NewSpan {
            kind: SpanKind::Publish,
            name: format!("{} -> {to}", self.model.endpoint_name(endpoint)),
            track: self.replica_track(replica),
            depth,
            start,
            end,
            outcome: Some(super::outcome_name(outcome)),
            id: Some(id),
            parent: Some(parent),
            attributes: vec![("meshsim.destination", to.to_string())],
        });
    }

    /// A traced job's publish is about to put its message into the broker.
    pub(in crate::engine::world) fn trace_enqueuing_for_job(&mut self, job: Handle) {
        if let Some(t) = self.tracer.as_mut() {
            t.enqueuing = t.jobs.get(&key(job)).and_then(|jt| {
                jt.publish.map(|(span, _)| Parent {
                    span,
                    depth: jt.depth + 1,
                })
            });
        }
    }

    /// A traced request-reply call's request is about to enter its queue.
    pub(in crate::engine::world) fn trace_enqueuing_for_call(&mut self, call: Handle) {
        if let Some(t) = self.tracer.as_mut() {
            t.enqueuing = t.calls.get(&key(call)).map(CallTrace::below);
        }
    }

    /// A traced flow instance's command is about to enter its queue.
    pub(in crate::engine::world) fn trace_enqueuing_for_instance(&mut self, instance: Handle) {
        if let Some(t) = self.tracer.as_mut() {
            t.enqueuing = t.instances.get(&key(instance)).map(|p| Parent {
                span: p.span,
                depth: p.depth + 1,
            });
        }
    }

    /// The message is in the broker: what enters it next is not followed unless said.
    pub(in crate::engine::world) fn trace_enqueued(&mut self) {
        if let Some(t) = self.tracer.as_mut() {
            t.enqueuing = None;
        }
    }

    /// A copy with a new origin entered a channel: followed if it is the request's.
    pub(in crate::engine::world) fn trace_copy_added(&mut self, origin: Handle) {
        let now = self.q.now();
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let Some(at) = t.enqueuing else { return };
        if t.full() {
            t.truncated = true;
            return;
        }
        t.origins.insert(
            key(origin),
            OriginTrace {
                at,
                ready_since: now,
                consumer: None,
                ack_sent: now,
                nacked: false,
                redelivered: None,
            },
        );
    }

    /// A followed copy of channel `ch` leaves the broker at `departs` for its `deliveries`-th
    /// delivery: its wait ends.
    pub(in crate::engine::world) fn trace_copy_departs(
        &mut self,
        origin: Handle,
        ch: u32,
        deliveries: u32,
        departs: SimTime,
    ) {
        let Some(o) = self
            .tracer
            .as_mut()
            .and_then(|t| t.origins.get_mut(&key(origin)))
        else {
            return;
        };
        let (at, start) = (o.at, o.ready_since);
        let mut attributes = vec![("meshsim.delivery", deliveries.to_string())];
        if let Some(why) = o.redelivered.take() {
            attributes.push(("meshsim.redelivered_after", why.to_string()));
        }
        let track = self.channel_track(ch);
        self.record(NewSpan {
            kind: SpanKind::Wait,
            name: format!("wait in {track}"),
            track,
            depth: at.depth,
            start,
            end: departs,
            outcome: None,
            id: None,
            parent: Some(at.span),
            attributes,
        });
    }

    /// The job that will consume a followed copy (its delivery is on the wire).
    pub(in crate::engine::world) fn trace_delivery_job(
        &mut self,
        origin: Handle,
        job: Handle,
        deliveries: u32,
        departs: SimTime,
    ) {
        let now = self.q.now();
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let Some(at) = t.origins.get(&key(origin)).map(|o| o.at) else {
            return;
        };
        if t.full() {
            t.truncated = true;
            return;
        }
        let jt = t.add_job(job, at.span, at.depth, now);
        jt.delivery = true;
        jt.departed = departs;
        jt.attributes
            .push(("meshsim.delivery", deliveries.to_string()));
        let consumer = jt.at();
        if let Some(o) = t.origins.get_mut(&key(origin)) {
            o.consumer = Some(consumer);
        }
    }

    /// A traced delivery reached its consumer's replica: the hop from the broker.
    pub(in crate::engine::world) fn trace_delivered(&mut self, job: Handle) {
        let Some(at) = self.job_parent(job) else {
            return;
        };
        let Some(departed) = self
            .tracer
            .as_ref()
            .and_then(|t| t.jobs.get(&key(job)))
            .map(|jt| jt.departed)
        else {
            return;
        };
        self.mark_arrived(job);
        let Some(j) = self.jobs.get(job) else { return };
        let Some(o) = self.origins.get(j.origin) else {
            return;
        };
        let Some(consumer) = self.brokers.channels[o.channel as usize].consumer else {
            return;
        };
        let name = self.model.link_name(consumer.deliver_link);
        self.leaf(SpanKind::Network, name.clone(), name, at, departed);
    }

    /// A followed message's consumer answers the broker: ack (`ok`) or nack.
    pub(in crate::engine::world) fn trace_acking(&mut self, origin: Handle, ok: bool) {
        let now = self.q.now();
        if let Some(o) = self
            .tracer
            .as_mut()
            .and_then(|t| t.origins.get_mut(&key(origin)))
        {
            o.ack_sent = now;
            o.nacked = !ok;
        }
    }

    /// The ack (or nack) of a followed copy of channel `ch` reached the broker.
    pub(in crate::engine::world) fn trace_acked(&mut self, origin: Handle, ch: u32, ok: bool) {
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let Some(o) = t.origins.get(&key(origin)) else {
            return;
        };
        let (Some(at), start) = (o.consumer, o.ack_sent) else {
            return;
        };
        if ok {
            t.origins.remove(&key(origin));
        }
        let Some(consumer) = self.brokers.channels[ch as usize].consumer else {
            return;
        };
        let link = self.model.link_name(consumer.ack_link);
        let what = if ok { "ack" } else { "nack" };
        self.leaf(SpanKind::Ack, format!("{link} {what}"), link, at, start);
    }

    /// A followed copy goes back to the tail of its channel for another delivery.
    pub(in crate::engine::world) fn trace_requeued(&mut self, origin: Handle) {
        let now = self.q.now();
        if let Some(o) = self
            .tracer
            .as_mut()
            .and_then(|t| t.origins.get_mut(&key(origin)))
        {
            o.ready_since = now;
            o.redelivered = Some(if o.nacked {
                "nack"
            } else {
                "visibility timeout"
            });
            o.nacked = false;
        }
    }

    /// A followed copy of channel `ch` used up its `deliveries`: it moves to dead-letter
    /// channel `dlq` (an instant), and the dead letter is followed there.
    pub(in crate::engine::world) fn trace_dead_lettered(
        &mut self,
        origin: Handle,
        ch: u32,
        deliveries: u32,
        dlq: u32,
    ) {
        let Some(at) = self
            .tracer
            .as_mut()
            .and_then(|t| t.origins.remove(&key(origin)))
            .map(|o| o.at)
        else {
            return;
        };
        let track = self.channel_track(ch);
        let to = self.channel_track(dlq);
        let now = self.q.now();
        let id = self.tracer.as_mut().map(|t| t.take_id());
        self.record(NewSpan {
            kind: SpanKind::DeadLetter,
            name: format!("dead-lettered to {to} after {deliveries} deliveries"),
            track,
            depth: at.depth,
            start: now,
            end: now,
            outcome: None,
            id,
            parent: Some(at.span),
            attributes: vec![
                ("meshsim.delivery", deliveries.to_string()),
                ("meshsim.dead_letter", to),
            ],
        });
        if let (Some(t), Some(span)) = (self.tracer.as_mut(), id) {
            t.enqueuing = Some(Parent {
                span,
                depth: at.depth,
            });
        }
    }

    /// A traced job started flow instance `h`: the instance's later moves hang from it.
    pub(in crate::engine::world) fn trace_instance_started(&mut self, job: Handle, h: Handle) {
        let Some(at) = self.traced_job(job) else {
            return;
        };
        if let Some(t) = self.tracer.as_mut() {
            t.instances.insert(key(h), at);
        }
    }

    /// A lost coordinator of traced instance `h` comes back as `job`.
    pub(in crate::engine::world) fn trace_resumed(&mut self, h: Handle, job: Handle) {
        let now = self.q.now();
        let Some(t) = self.tracer.as_mut() else {
            return;
        };
        let Some(at) = t.instances.get(&key(h)).copied() else {
            return;
        };
        if t.full() {
            t.truncated = true;
            return;
        }
        let jt = t.add_job(job, at.span, at.depth + 1, now);
        jt.arrived = Some(now);
        jt.attributes
            .push(("meshsim.resumed", "coordinator".to_string()));
    }
}

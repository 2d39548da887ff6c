//! Asynchronous messaging: publishing, the broker's dispatch, consumers' acks, redelivery,
//! dead letters, duplicates, request-reply, and broker outages.
//!
//! A message's life: the publisher's endpoint, after its work and calls, sends it to the
//! broker (one hop, then the broker's own latency to persist it) and waits for the broker's
//! ack (one hop back) while holding its worker. The broker puts one copy in the queue, or one
//! per consumer group in the partition its key chooses. When a consumer slot is free, the
//! broker dispatches the copy at the head (no faster than its capacity), starts its visibility
//! timer, and the copy crosses a hop to the consumer's replica, where it is served like any
//! request (accept queue, worker, work, calls, publishes). Success acks the copy; failure
//! nacks it; either crosses a hop back. A nack or an expired visibility timer puts the copy
//! back at the tail — or, after `max_deliveries`, into the dead-letter queue.

use rand::RngExt;

use super::{Event, Job, Outcome, World};
use crate::engine::broker::{Copy, NO_KEY, Origin};
use crate::engine::flows::NO_STEP;
use crate::engine::slab::Handle;
use crate::model::{Destination, EndpointId, FaultKind, QueueId};
use crate::results::{
    BrokerStats, Cause, ChannelStats, MessageStats, RecordNs, TopicStats, empty_latency_histogram,
};
use crate::time::{SimDuration, SimTime};

impl<'m> World<'m> {
    /// The job (at endpoint `e`) has made its calls: publish its messages, one after another,
    /// then finish. The callers hold the endpoint already, so the job is not looked up again.
    pub(super) fn after_calls(&mut self, job: Handle, e: EndpointId) {
        if self.model.endpoints[e.0 as usize].publish.is_empty() {
            self.finish(job, Outcome::Ok);
        } else {
            self.start_publish(job, 0);
        }
    }

    /// Sends the job's `k`-th message to its broker.
    fn start_publish(&mut self, job: Handle, k: u16) {
        let now = self.q.now();
        let j = self.jobs.get_mut(job).expect("live job");
        let ep = &self.model.endpoints[j.endpoint.0 as usize];
        j.next_call = (ep.calls.len() + k as usize) as u16;
        j.op_sent = now;
        let p = &ep.publish[k as usize];
        let b = self.model.destination_broker(p.to);
        let timeout = self.model.brokers[b.0 as usize].publish_timeout;
        if self.tracer.is_some() {
            self.trace_publish_started(job);
        }
        match self.hop(p.link, SimDuration::ZERO) {
            None => self.q.schedule(
                timeout,
                Event::PublishDone(job, k, Outcome::Failed(Cause::Timeout)),
            ),
            Some(d) => {
                let persist = self.broker_latency(b.0);
                self.q.schedule(d + persist, Event::PublishArrive(job, k));
            }
        }
    }

    fn broker_latency(&mut self, b: u32) -> SimDuration {
        let latency = &self.model.brokers[b as usize].latency;
        if latency.is_zero() {
            SimDuration::ZERO
        } else {
            latency.sample(&mut self.rng.broker[b as usize])
        }
    }

    /// A published message reaches the broker (persisted): accept it and ack, or refuse it
    /// when the broker is down.
    pub(super) fn publish_arrive(&mut self, job: Handle, k: u16) {
        let Some(j) = self.jobs.get(job) else { return };
        let sent = j.op_sent;
        let p = &self.model.endpoints[j.endpoint.0 as usize].publish[k as usize];
        let (to, ack_link) = (p.to, p.ack_link);
        let b = self.model.destination_broker(to).0 as usize;
        let counted = sent >= self.warmup;
        let outcome = if self.brokers.brokers[b].down > 0 {
            let bs = &mut self.brokers.brokers[b];
            bs.publish_failed += u64::from(counted);
            self.affected[bs.down_by as usize] += 1;
            Outcome::Failed(Cause::Unavailable)
        } else {
            self.brokers.brokers[b].published += u64::from(counted);
            let (flow, code) = self.publish_flow_ctx(self.jobs.get(job).expect("live job"));
            // Lag runs from the moment the publisher sent the message.
            if self.tracer.is_some() {
                self.trace_enqueuing_for_job(job);
            }
            self.enqueue(to, sent, Handle::NONE, flow, code);
            if self.tracer.is_some() {
                self.trace_enqueued();
            }
            Outcome::Ok
        };
        match self.hop(ack_link, SimDuration::ZERO) {
            Some(d) => self.q.schedule(d, Event::PublishDone(job, k, outcome)),
            None => {
                let timeout = self.model.brokers[b].publish_timeout;
                let at = (sent + timeout).max(self.q.now());
                self.q.schedule_at(
                    at,
                    Event::PublishDone(job, k, Outcome::Failed(Cause::Timeout)),
                );
            }
        }
    }

    /// The broker's answer to the job's `k`-th publish (or the publisher's timeout).
    pub(super) fn publish_done(&mut self, job: Handle, k: u16, outcome: Outcome) {
        let Some(e) = self.live_endpoint(job) else {
            return;
        };
        let ep = &self.model.endpoints[e.0 as usize];
        let j = self.jobs.get(job).expect("live job");
        if j.next_call as usize != ep.calls.len() + k as usize {
            return;
        }
        if self.tracer.is_some() {
            let to = self.model.destination_name(ep.publish[k as usize].to);
            self.trace_publish_done(job, to, outcome);
        }
        if outcome.is_failure() {
            self.finish(job, outcome);
        } else if (k as usize) + 1 < ep.publish.len() {
            self.start_publish(job, k + 1);
        } else {
            self.finish(job, Outcome::Ok);
        }
    }

    /// A request-reply call's request leaves the caller for the broker.
    pub(super) fn send_via(&mut self, call: Handle, queue: QueueId, link: crate::model::LinkId) {
        let b = self.model.queue(queue).broker.0;
        if self.tracer.is_some() {
            self.trace_attempt_sent(call, None);
        }
        if let Some(d) = self.hop(link, SimDuration::ZERO) {
            let persist = self.broker_latency(b);
            self.q
                .schedule(d + persist, Event::ViaArrive(call, queue.0));
        }
    }

    /// A request reaches the broker: queue it for the callee, or refuse it (broker down).
    pub(super) fn via_arrive(&mut self, call: Handle, queue: u32) {
        let b = self.model.queues[queue as usize].broker.0 as usize;
        let counted = self.q.now() >= self.warmup;
        if self.brokers.brokers[b].down > 0 {
            let bs = &mut self.brokers.brokers[b];
            bs.publish_failed += u64::from(counted);
            self.affected[bs.down_by as usize] += 1;
            if let Some(&pc) = self.calls.get(call) {
                let reply_link = self.call_spec(pc.call).reply_link;
                if let Some(d) = self.hop(reply_link, SimDuration::ZERO) {
                    let failed = Outcome::Failed(Cause::Unavailable);
                    self.q.schedule(d, Event::Reply(call, failed));
                }
            }
            return;
        }
        self.brokers.brokers[b].published += u64::from(counted);
        let (flow, code) = match self.calls.get(call) {
            Some(pc) => self.call_flow_ctx(pc),
            None => (Handle::NONE, NO_STEP),
        };
        if self.tracer.is_some() {
            self.trace_enqueuing_for_call(call);
        }
        self.enqueue(
            Destination::Queue(QueueId(queue)),
            self.q.now(),
            call,
            flow,
            code,
        );
        if self.tracer.is_some() {
            self.trace_enqueued();
        }
    }

    /// Puts a published message into its queue, or into one partition per group of its
    /// topic, and dispatches what it can.
    pub(super) fn enqueue(
        &mut self,
        to: Destination,
        published: SimTime,
        reply_to: Handle,
        flow: Handle,
        code: u16,
    ) {
        if self.over_in_flight(self.copies.live()) {
            return;
        }
        let (keys_index, keys) = match to {
            Destination::Queue(q) => (q.0 as usize, self.model.queue(q).keys),
            Destination::Topic(t) => (
                self.model.queues.len() + t.0 as usize,
                self.model.topic(t).keys,
            ),
        };
        let (key, seq) = match keys {
            Some(n) => {
                let key = self.rng.keys[keys_index].random_range(0..n);
                let next = &mut self.brokers.next_seq[keys_index][key as usize];
                let seq = *next;
                *next = next.wrapping_add(1);
                (key, seq)
            }
            None => (NO_KEY, 0),
        };
        let counted = published >= self.warmup;
        match to {
            Destination::Queue(q) => {
                let msg = (published, counted);
                self.add_copy(q.0, msg, (key, seq), reply_to, (flow, code));
            }
            Destination::Topic(t) => {
                let ti = t.0 as usize;
                let topic = self.model.topic(t);
                let partitions = topic.partitions;
                let part = if key == NO_KEY {
                    let p = self.brokers.topic_next[ti];
                    self.brokers.topic_next[ti] = (p + 1) % partitions;
                    p
                } else {
                    key % partitions
                };
                self.brokers.topic_published[ti] += u64::from(counted);
                let base = self.brokers.topic_base[ti];
                for g in 0..topic.groups.len() as u32 {
                    let ch = base + g * partitions + part;
                    // A flow's event: group g is step g.
                    let code = if flow == Handle::NONE {
                        NO_STEP
                    } else {
                        g as u16
                    };
                    let msg = (published, counted);
                    self.add_copy(ch, msg, (key, seq), Handle::NONE, (flow, code));
                }
            }
        }
    }

    /// A new copy (with a new origin) at the tail of channel `ch`, published at `published`;
    /// `counted` says whether it enters the counters (see `Origin::counted`).
    fn add_copy(
        &mut self,
        ch: u32,
        (published, counted): (SimTime, bool),
        (key, seq): (u32, u32),
        reply_to: Handle,
        (flow, flow_step): (Handle, u16),
    ) {
        if flow != Handle::NONE {
            self.flow_ref(flow);
            self.flow_launched(flow);
        }
        let origin = self.origins.insert(Origin {
            published,
            key,
            seq,
            refs: 1,
            applied: false,
            dispatched: false,
            reply_to,
            channel: ch,
            flow,
            flow_step,
            counted,
        });
        let copy = self.copies.insert(Copy {
            origin,
            channel: ch,
            deliveries: 0,
            slot: 0,
            duplicate: false,
            counted,
        });
        if self.tracer.is_some() {
            self.trace_copy_added(origin);
        }
        let now = self.q.now();
        let c = &mut self.brokers.channels[ch as usize];
        c.ready.push_back(copy);
        let consumer = c.consumer;
        let acc = &mut self.brokers.stats[c.stat as usize];
        acc.published += u64::from(counted);
        acc.shift(now, &self.marks, 1, 1);
        if let Some(c) = consumer {
            self.blame_consumer_crash(c.service);
        }
        self.dispatch(ch);
    }

    /// Dispatches waiting copies of channel `ch` while a consumer slot is free.
    pub(super) fn dispatch(&mut self, ch: u32) {
        loop {
            let c = &self.brokers.channels[ch as usize];
            let Some(consumer) = c.consumer else { return };
            if c.ready.is_empty() || self.brokers.brokers[c.broker as usize].down > 0 {
                return;
            }
            let Some((slot, replica)) = self.free_slot(ch, consumer.service.0 as usize) else {
                return;
            };
            let copy = self.brokers.channels[ch as usize]
                .ready
                .pop_front()
                .expect("not empty");
            self.dispatch_copy(ch, copy, slot, replica);
            if self.stop.is_some() {
                return;
            }
        }
    }

    /// Sends copy `h` of channel `ch` to `replica`, holding consumer slot `slot`.
    fn dispatch_copy(&mut self, ch: u32, h: Handle, slot: u32, replica: u32) {
        let now = self.q.now();
        if !self.brokers.channels[ch as usize]
            .duplicate_faults
            .is_empty()
            && !self.copies.get(h).expect("waiting copy").duplicate
        {
            self.maybe_duplicate(ch, h);
        }
        let h2 = self.copies.renew(h).expect("waiting copy is live");
        let copy = self.copies.get_mut(h2).expect("renewed");
        copy.deliveries += 1;
        copy.slot = slot;
        let (origin, deliveries, counted) = (copy.origin, copy.deliveries, copy.counted);
        let c = &mut self.brokers.channels[ch as usize];
        c.unacked[slot as usize] += 1;
        let (stat, broker, visibility) = (c.stat as usize, c.broker as usize, c.visibility);
        let consumer = c.consumer.expect("dispatch needs a consumer");
        self.slot_changed(ch, slot);
        self.brokers.dispatched += 1;
        let acc = &mut self.brokers.stats[stat];
        if counted {
            acc.delivered += 1;
            acc.redelivered += u64::from(deliveries > 1);
        }
        acc.shift(now, &self.marks, 0, -1);
        let bs = &mut self.brokers.brokers[broker];
        bs.delivered += u64::from(counted);
        if now >= self.warmup && now < self.end_of_arrivals {
            bs.delivered_in_window += 1;
        }
        let mut lead = SimDuration::ZERO;
        if bs.gap_ns > 0 {
            // Saturating: a tiny capacity makes the gap near u64::MAX, and a wrapped sum
            // would make the broker free again at once (the limit would vanish).
            let depart = bs.next_free.max(now);
            bs.next_free = SimTime(depart.0.saturating_add(bs.gap_ns));
            lead = depart.since(now);
        }
        let o = self.origins.get_mut(origin).expect("copy's origin");
        if !o.dispatched {
            o.dispatched = true;
            if o.published >= self.warmup {
                // The wait runs to the copy's departure, which the broker's capacity may
                // put later than this dispatch decision.
                self.brokers.stats[stat]
                    .wait
                    .record_ns((now + lead).since(o.published).as_nanos());
            }
        }
        self.start_visibility(ch, now + lead + visibility, h2);
        if self.tracer.is_some() {
            self.trace_copy_departs(origin, ch, deliveries, now + lead);
        }
        let Some(d) = self.hop(consumer.deliver_link, SimDuration::ZERO) else {
            return; // lost on the way: the visibility timer redelivers it
        };
        let o = self.origins.get_mut(origin).expect("copy's origin");
        o.refs += 1;
        let (flow, flow_step) = (o.flow, o.flow_step);
        if flow != Handle::NONE {
            self.flow_ref(flow);
        }
        self.replicas[replica as usize].outstanding += 1;
        self.load_changed(replica as usize);
        let job = self.jobs.insert(Job {
            endpoint: consumer.endpoint,
            replica,
            reply_to: Handle::NONE,
            msg: h2,
            origin,
            flow,
            flow_step,
            arrived: now,
            op_sent: now,
            epoch: 0,
            next_call: 0,
            outstanding: 0,
            degraded: false,
            counted,
            sheddable: false,
        });
        self.job_added();
        if self.tracer.is_some() {
            self.trace_delivery_job(origin, job, deliveries, now + lead);
        }
        self.q.schedule(lead + d, Event::RequestArrive(job));
    }

    /// Active `duplicate` faults may put a second copy of the message at the head.
    #[cold]
    fn maybe_duplicate(&mut self, ch: u32, h: Handle) {
        let now = self.q.now();
        for k in 0..self.brokers.channels[ch as usize].duplicate_faults.len() {
            let f = self.brokers.channels[ch as usize].duplicate_faults[k] as usize;
            let FaultKind::Duplicate { rate, .. } = self.model.faults[f].kind else {
                continue;
            };
            if self.rng.fault[f].random::<f64>() >= rate {
                continue;
            }
            self.affected[f] += 1;
            let Copy {
                origin, counted, ..
            } = *self.copies.get(h).expect("live copy");
            self.origins.get_mut(origin).expect("live origin").refs += 1;
            let dup = self.copies.insert(Copy {
                origin,
                channel: ch,
                deliveries: 0,
                slot: 0,
                duplicate: true,
                counted,
            });
            let c = &mut self.brokers.channels[ch as usize];
            c.ready.push_front(dup);
            let acc = &mut self.brokers.stats[c.stat as usize];
            acc.duplicates += u64::from(counted);
            acc.shift(now, &self.marks, 1, 1);
        }
    }

    /// A consumer job ended (or was refused before processing): account for the effect,
    /// answer the broker, and for a request, the caller.
    pub(super) fn message_processed(&mut self, j: &Job, outcome: Outcome, processed: bool) {
        let now = self.q.now();
        let ok = !outcome.is_failure();
        let o = *self
            .origins
            .get(j.origin)
            .expect("a consumer job holds its origin");
        let c = &self.brokers.channels[o.channel as usize];
        let (stat, requests) = (c.stat as usize, c.requests);
        let consumer = c.consumer.expect("consumed channel");
        if processed && ok {
            let ep = &self.model.endpoints[j.endpoint.0 as usize];
            let acc = &mut self.brokers.stats[stat];
            let counted = u64::from(o.counted);
            if !o.applied {
                self.origins.get_mut(j.origin).expect("live").applied = true;
                if o.counted {
                    acc.lag.record_ns(now.since(o.published).as_nanos());
                }
                if let Some(last) = acc.last_seq.get_mut(o.key as usize) {
                    if o.seq + 1 < *last {
                        acc.out_of_order += counted;
                    } else {
                        *last = o.seq + 1;
                    }
                }
            } else if ep.idempotent {
                acc.deduplicated += counted;
            } else if ep.effect {
                acc.duplicate_effects += counted;
            }
        }
        if requests {
            self.reply_via(o, consumer.ack_link, outcome);
        }
        let mut ack = ok || requests;
        if o.flow != Handle::NONE && !requests {
            ack |= self.flow_message(&o, outcome, processed, consumer.ack_link);
        }
        if self.tracer.is_some() {
            self.trace_acking(j.origin, ack);
        }
        if let Some(d) = self.hop(consumer.ack_link, SimDuration::ZERO) {
            if d == SimDuration::ZERO {
                self.message_ack(j.msg, ack);
            } else {
                self.q.schedule(d, Event::MessageAck(j.msg, ack));
            }
        }
        self.release_origin(j.origin);
    }

    /// The reply of a request-reply call: consumer -> broker -> caller.
    fn reply_via(&mut self, o: Origin, ack_link: crate::model::LinkId, outcome: Outcome) {
        let Some(&pc) = self.calls.get(o.reply_to) else {
            return; // the caller gave up or moved on to another attempt
        };
        let b = self.brokers.channels[o.channel as usize].broker as usize;
        if self.brokers.brokers[b].down > 0 {
            self.affected[self.brokers.brokers[b].down_by as usize] += 1;
            return;
        }
        let reply_link = self.call_spec(pc.call).reply_link;
        if self.tracer.is_some() {
            self.trace_reply_sent(o.reply_to);
        }
        let Some(d1) = self.hop(ack_link, SimDuration::ZERO) else {
            return;
        };
        let Some(d2) = self.hop(reply_link, SimDuration::ZERO) else {
            return;
        };
        self.q.schedule(d1 + d2, Event::Reply(o.reply_to, outcome));
    }

    /// A consumer job that vanished (its replica crashed) lets go of its origin.
    pub(super) fn release_origin(&mut self, h: Handle) {
        let o = self.origins.get_mut(h).expect("live origin");
        o.refs -= 1;
        if o.refs == 0 {
            let o = self.origins.remove(h).expect("live origin");
            if o.flow != Handle::NONE {
                self.flow_unref(o.flow);
            }
        }
    }

    /// An ack (or nack) reaches the broker.
    pub(super) fn message_ack(&mut self, h: Handle, ok: bool) {
        let Some(&copy) = self.copies.get(h) else {
            return; // redelivered meanwhile (visibility timeout), or lost with the broker
        };
        let ch = copy.channel as usize;
        let b = self.brokers.channels[ch].broker as usize;
        if self.brokers.brokers[b].down > 0 {
            self.affected[self.brokers.brokers[b].down_by as usize] += 1;
            return; // the ack is lost; the visibility timer will redeliver
        }
        self.unhold(&copy);
        if self.tracer.is_some() {
            self.trace_acked(copy.origin, ch as u32, ok);
        }
        if ok {
            let now = self.q.now();
            self.copies.remove(h);
            let acc = &mut self.brokers.stats[self.brokers.channels[ch].stat as usize];
            acc.acknowledged += u64::from(copy.counted);
            acc.shift(now, &self.marks, -1, 0);
            self.release_origin(copy.origin);
        } else {
            self.requeue(h);
        }
        self.dispatch(ch as u32);
    }

    /// Starts the visibility timer of copy `h` (at this delivery's generation).
    fn start_visibility(&mut self, ch: u32, deadline: SimTime, h: Handle) {
        let c = &mut self.brokers.channels[ch as usize];
        while let Some(&(_, old)) = c.deadlines.front() {
            if self.copies.get(old).is_some() {
                break;
            }
            c.deadlines.pop_front(); // acked or redelivered already
            self.brokers.deadline_entries -= 1;
        }
        c.deadlines.push_back((deadline, h));
        self.brokers.deadline_entries += 1;
        if !c.timer_pending {
            c.timer_pending = true;
            let head = c.deadlines.front().expect("just pushed").0;
            self.q.schedule_at(head, Event::VisibilityCheck(ch));
        }
    }

    /// Channel `ch`'s earliest visibility deadline is due: every copy whose deadline has
    /// passed and that is still unacked is redelivered.
    pub(super) fn visibility_check(&mut self, ch: u32) {
        let now = self.q.now();
        self.brokers.channels[ch as usize].timer_pending = false;
        while let Some(&(deadline, h)) = self.brokers.channels[ch as usize].deadlines.front() {
            let Some(&copy) = self.copies.get(h) else {
                self.brokers.channels[ch as usize].deadlines.pop_front();
                self.brokers.deadline_entries -= 1;
                continue;
            };
            if deadline > now {
                break;
            }
            self.brokers.channels[ch as usize].deadlines.pop_front();
            self.brokers.deadline_entries -= 1;
            self.unhold(&copy);
            self.requeue(h);
        }
        self.dispatch(ch);
        let c = &mut self.brokers.channels[ch as usize];
        if !c.timer_pending
            && let Some(&(head, _)) = c.deadlines.front()
        {
            c.timer_pending = true;
            self.q.schedule_at(head, Event::VisibilityCheck(ch));
        }
    }

    /// Frees the consumer slot a dispatched copy held.
    fn unhold(&mut self, copy: &Copy) {
        let c = &mut self.brokers.channels[copy.channel as usize];
        c.unacked[copy.slot as usize] -= 1;
        self.brokers.dispatched -= 1;
        self.slot_changed(copy.channel, copy.slot);
    }

    /// Back to the tail of its channel, or to the dead-letter queue after `max_deliveries`.
    fn requeue(&mut self, h: Handle) {
        let now = self.q.now();
        let copy = *self.copies.get(h).expect("live copy");
        let c = &self.brokers.channels[copy.channel as usize];
        let stat = c.stat as usize;
        if let (Some(max), Some(dlq)) = (c.max_deliveries, c.dead_letter)
            && copy.deliveries >= max
        {
            let acc = &mut self.brokers.stats[stat];
            acc.dead_lettered += u64::from(copy.counted);
            acc.shift(now, &self.marks, -1, 0);
            self.copies.remove(h);
            if let Some(&o) = self.origins.get(copy.origin)
                && o.flow != Handle::NONE
            {
                self.flow_dead_lettered(&o);
            }
            if self.tracer.is_some() {
                self.trace_dead_lettered(copy.origin, copy.channel, copy.deliveries, dlq);
            }
            self.release_origin(copy.origin);
            // The dead letter is counted with its original, so both queues balance.
            let msg = (now, copy.counted);
            self.add_copy(dlq, msg, (NO_KEY, 0), Handle::NONE, (Handle::NONE, NO_STEP));
            if self.tracer.is_some() {
                self.trace_enqueued();
            }
            return;
        }
        if self.tracer.is_some() {
            self.trace_requeued(copy.origin);
        }
        let h3 = self.copies.renew(h).expect("live copy");
        let c = &mut self.brokers.channels[copy.channel as usize];
        c.ready.push_back(h3);
        self.brokers.stats[stat].shift(now, &self.marks, 0, 1);
    }

    /// `broker-down` begins: a non-durable broker loses everything it holds.
    pub(super) fn broker_down(&mut self, b: usize, fault: u32) {
        let now = self.q.now();
        let bs = &mut self.brokers.brokers[b];
        bs.down += 1;
        if bs.down > 1 {
            return;
        }
        bs.down_by = fault;
        if self.model.brokers[b].durable {
            return;
        }
        let channels = bs.channels.clone();
        // Counted copies lost (the accounts), and every copy lost (what the fault hit).
        let (mut lost, mut hit) = (0u64, 0u64);
        for &ch in &channels {
            let c = &mut self.brokers.channels[ch as usize];
            let stat = c.stat as usize;
            let ready: Vec<Handle> = c.ready.drain(..).collect();
            let held: u32 = c.unacked.iter().sum();
            c.unacked.iter_mut().for_each(|u| *u = 0);
            self.brokers.dispatched -= u64::from(held);
            let n = ready.len() as i64;
            let mut counted = 0u64;
            for h in ready {
                let copy = self.copies.remove(h).expect("waiting copy");
                counted += u64::from(copy.counted);
                self.release_origin(copy.origin);
            }
            let acc = &mut self.brokers.stats[stat];
            acc.lost += counted;
            acc.shift(now, &self.marks, -n - i64::from(held), -n);
            lost += counted;
            hit += n as u64;
            for slot in 0..self.brokers.channels[ch as usize].unacked.len() {
                self.slot_changed(ch, slot as u32);
            }
        }
        // Copies out with consumers: the broker forgets them (their acks will find nothing).
        let out: Vec<Handle> = self
            .copies
            .handles()
            .filter(|&h| {
                let ch = self.copies.get(h).expect("live").channel;
                self.brokers.channels[ch as usize].broker as usize == b
            })
            .collect();
        for h in out {
            let copy = self.copies.remove(h).expect("live copy");
            hit += 1;
            if copy.counted {
                let stat = self.brokers.channels[copy.channel as usize].stat as usize;
                self.brokers.stats[stat].lost += 1;
                lost += 1;
            }
            self.release_origin(copy.origin);
        }
        self.brokers.brokers[b].lost += lost;
        self.affected[fault as usize] += hit;
    }

    /// `broker-down` ends: dispatching resumes.
    pub(super) fn broker_up(&mut self, b: usize) {
        let now = self.q.now();
        let bs = &mut self.brokers.brokers[b];
        bs.down = bs.down.saturating_sub(1);
        if bs.down > 0 {
            return;
        }
        bs.next_free = bs.next_free.max(now);
        for ch in bs.channels.clone() {
            self.dispatch(ch);
        }
    }

    /// The channels a `duplicate` fault acts on.
    pub(super) fn duplicate_channels(&self, to: Destination) -> Vec<u32> {
        match to {
            Destination::Queue(q) => vec![q.0],
            Destination::Topic(t) => {
                let topic = self.model.topic(t);
                let base = self.brokers.topic_base[t.0 as usize];
                (0..topic.groups.len() as u32 * topic.partitions)
                    .map(|k| base + k)
                    .collect()
            }
        }
    }

    /// What the brokers counted, in model order.
    pub(super) fn message_results(&mut self) -> MessageStats {
        let model = self.model;
        let end = self.q.now().max(self.end_of_arrivals);
        let window_s = self.end_of_arrivals.since(self.warmup).as_secs_f64();
        // Counted copies still live: waiting in a channel, or else out with a consumer.
        let mut queued = vec![0u64; self.brokers.stats.len()];
        let mut in_flight = vec![0u64; self.brokers.stats.len()];
        for h in self.copies.handles() {
            let copy = self.copies.get(h).expect("live copy");
            if copy.counted {
                in_flight[self.brokers.channels[copy.channel as usize].stat as usize] += 1;
            }
        }
        for c in &self.brokers.channels {
            let waiting = c
                .ready
                .iter()
                .filter(|&&h| self.copies.get(h).is_some_and(|copy| copy.counted));
            let n = waiting.count() as u64;
            queued[c.stat as usize] += n;
            in_flight[c.stat as usize] -= n;
        }
        let marks = self.marks;
        let mut channel = |i: usize, name: String, consumer: Option<String>| {
            let acc = &mut self.brokers.stats[i];
            acc.levels.advance(end, &marks);
            let means = acc.levels.window_means(&marks);
            ChannelStats {
                name,
                consumer,
                published: acc.published,
                delivered: acc.delivered,
                redelivered: acc.redelivered,
                duplicates: acc.duplicates,
                acknowledged: acc.acknowledged,
                dead_lettered: acc.dead_lettered,
                queued: queued[i],
                in_flight: in_flight[i],
                lost: acc.lost,
                deduplicated: acc.deduplicated,
                duplicate_effects: acc.duplicate_effects,
                out_of_order: acc.out_of_order,
                lag: std::mem::replace(&mut acc.lag, empty_latency_histogram()),
                wait: std::mem::replace(&mut acc.wait, empty_latency_histogram()),
                mean_depth: means[crate::engine::levels::IN_SYSTEM],
                max_depth: acc.max_depth,
                depth_buckets: acc.levels.in_system_per_bucket(&marks),
            }
        };
        let queues: Vec<ChannelStats> = model
            .queues
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let consumer = q.consumer.as_ref().map(|c| model.endpoint_name(c.endpoint));
                channel(i, q.name.clone(), consumer)
            })
            .collect();
        let mut topics = Vec::new();
        for (t, topic) in model.topics.iter().enumerate() {
            let base = self.brokers.topic_stat_base[t] as usize;
            let groups = topic
                .groups
                .iter()
                .enumerate()
                .map(|(g, group)| {
                    let consumer = Some(model.endpoint_name(group.consumer.endpoint));
                    channel(base + g, group.name.clone(), consumer)
                })
                .collect();
            topics.push(TopicStats {
                name: topic.name.clone(),
                published: self.brokers.topic_published[t],
                partitions: topic.partitions,
                groups,
            });
        }
        let brokers = model
            .brokers
            .iter()
            .zip(&self.brokers.brokers)
            .map(|(b, s)| BrokerStats {
                name: b.name.clone(),
                published: s.published,
                publish_failed: s.publish_failed,
                delivered: s.delivered,
                lost: s.lost,
                capacity_per_s: b.capacity_per_s,
                utilization: match b.capacity_per_s {
                    Some(cap) if window_s > 0.0 => {
                        Some(s.delivered_in_window as f64 / (cap * window_s))
                    }
                    _ => None,
                },
            })
            .collect();
        MessageStats {
            brokers,
            queues,
            topics,
        }
    }
}

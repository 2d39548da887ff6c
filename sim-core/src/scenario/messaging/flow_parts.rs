//! The queues and topics of flows: `flow:NAME` (the topic of an `async` flow, one consumer
//! group per step) and `flow:NAME/do:K`, `flow:NAME/undo:K` (a `choreography` flow's step
//! queues). They are ordinary queues and topics — consumers linked in `connect`, dead letters
//! resolved with every other — added after the declared ones and before any dead letter.

use std::ops::Range;

use super::Messaging;
use super::dead_letters::{DeadLetterRef, Owner};
use crate::model::{
    BrokerId, DEFAULT_PREFETCH, EndpointId, Queue, QueueId, QueueRole, Topic, TopicId,
};
use crate::scenario::flows::FLOW_PREFIX;
use crate::scenario::validate::id32;
use crate::time::SimDuration;

/// What every queue or topic of one flow shares.
pub(in crate::scenario) struct FlowChannel<'a> {
    /// The flow's name.
    pub flow: &'a str,
    /// `flow.NAME`, for messages.
    pub path: &'a str,
    pub broker: BrokerId,
    pub visibility: SimDuration,
    /// `max_deliveries` and where it is written: failing messages then go to the queue
    /// `flow:NAME-dlq`.
    pub max_deliveries: Option<(u32, Range<usize>)>,
}

impl Messaging {
    /// The topic `flow:NAME` of an `async` flow: group `stepK` consumes step K's `do`.
    pub(in crate::scenario) fn flow_topic(
        &mut self,
        channel: &FlowChannel,
        partitions: u32,
        steps: &[EndpointId],
    ) -> TopicId {
        let index = self.topics.len();
        self.topics.push(Topic {
            name: format!("{FLOW_PREFIX}{}", channel.flow),
            broker: channel.broker,
            partitions,
            keys: None,
            groups: Vec::new(),
            visibility: channel.visibility,
            max_deliveries: channel.max_deliveries.as_ref().map(|(n, _)| *n),
            dead_letter: None,
        });
        let groups = steps.iter().enumerate();
        let groups = groups.map(|(i, ep)| (format!("step{}", i + 1), *ep));
        self.groups.push(groups.collect());
        self.flow_dead_letter(channel, Owner::Topic(index));
        TopicId(id32(index))
    }

    /// One step queue of a `choreography` flow (`name` is `flow:NAME/do:K` or
    /// `flow:NAME/undo:K`), consumed by `consumer`.
    pub(in crate::scenario) fn flow_queue(
        &mut self,
        channel: &FlowChannel,
        name: String,
        prefetch: Option<u32>,
        consumer: EndpointId,
    ) -> QueueId {
        let index = self.queues.len();
        self.queues.push(Queue {
            name,
            broker: channel.broker,
            // An ordinary queue with a consumer; the flow's steps know it by id.
            role: QueueRole::Declared,
            consumer: None,
            prefetch: prefetch.unwrap_or(DEFAULT_PREFETCH),
            visibility: channel.visibility,
            max_deliveries: channel.max_deliveries.as_ref().map(|(n, _)| *n),
            dead_letter: None,
            keys: None,
        });
        self.consumers.push(Some(consumer));
        self.flow_dead_letter(channel, Owner::Queue(index));
        QueueId(id32(index))
    }

    /// With `max_deliveries`, the dead letter `flow:NAME-dlq`, shared by the flow's queues.
    fn flow_dead_letter(&mut self, channel: &FlowChannel, owner: Owner) {
        let Some((_, span)) = &channel.max_deliveries else {
            return;
        };
        self.dead_letters.push(DeadLetterRef {
            owner,
            path: channel.path.to_string(),
            name: format!("{FLOW_PREFIX}{}-dlq", channel.flow),
            span: span.clone(),
            explicit: false,
        });
    }
}

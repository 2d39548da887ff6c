//! Brokers, queues and topics: what asynchronous messages travel through.
//!
//! Delivery is at-least-once. A published message waits in its queue (or, for a topic, in one
//! partition per consumer group) until the broker dispatches it to a consumer; the consumer
//! acknowledges after processing it successfully. A failed processing (a negative ack) or a
//! visibility timeout (the consumer crashed, or its ack was lost) puts the message back at the
//! *tail* of its queue or partition, as SQS and RabbitMQ with competing consumers do — which is
//! how redelivery can break per-key order. After `max_deliveries` the message moves to the
//! dead-letter queue, a real queue that may have a consumer of its own.

use crate::dist::Dist;
use crate::time::SimDuration;

use super::{EndpointId, LinkId};

/// Index of a broker in [`super::Model::brokers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerId(pub u32);
/// Index of a queue in [`super::Model::queues`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub u32);
/// Index of a topic in [`super::Model::topics`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicId(pub u32);

/// A message broker: it accepts published messages, keeps them, and dispatches them.
#[derive(Clone, Debug)]
pub struct Broker {
    pub name: String,
    /// Time the broker takes to accept (persist) a published message, before it acks the
    /// publisher and the message can be dispatched.
    pub latency: Dist,
    /// Deliveries per second the broker can dispatch, over all its queues and topics
    /// (redeliveries and duplicates included). Beyond it, messages wait in the broker: queue
    /// depth and lag grow, publishers are not slowed. `None`: unlimited.
    pub capacity_per_s: Option<f64>,
    /// A durable broker keeps its messages through a `broker-down` fault; a non-durable one
    /// loses every message it held (counted as `lost`).
    pub durable: bool,
    /// How long a publisher waits for the broker's ack before the publish fails with
    /// `timeout` (the message or its ack was lost on the way).
    pub publish_timeout: SimDuration,
}

/// An endpoint that consumes from a queue or a topic's consumer group, with the hops its
/// deliveries and acks cross.
#[derive(Clone, Debug)]
pub struct Consumer {
    pub endpoint: EndpointId,
    /// broker -> consumer service: deliveries.
    pub deliver_link: LinkId,
    /// consumer service -> broker: acks (and, for request queues, replies).
    pub ack_link: LinkId,
}

/// Why a queue exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueRole {
    /// Declared with `[queue.NAME]`, or a `choreography` flow's step queue
    /// (`flow:NAME/do:K`, `flow:NAME/undo:K`): an ordinary queue with a consumer.
    Declared,
    /// Named as some queue's or topic's `dead_letter` but not declared: it has no consumer.
    DeadLetter,
    /// The request queue of a call made `via` a broker (request-reply): its consumer is the
    /// call's target endpoint, every processing is acked, and the outcome goes back to the
    /// caller as the reply. Named `requests:service/endpoint`.
    Requests,
}

/// A point-to-point queue: each message goes to one of the competing consumers.
#[derive(Clone, Debug)]
pub struct Queue {
    pub name: String,
    pub broker: BrokerId,
    pub role: QueueRole,
    /// `None`: messages accumulate (a dead-letter queue nobody reads).
    pub consumer: Option<Consumer>,
    /// Unacknowledged messages each consumer (one worker of one replica) may hold.
    pub prefetch: u32,
    /// After a dispatch, how long the message stays invisible before the broker redelivers it
    /// unless acked.
    pub visibility: SimDuration,
    /// Deliveries before a failing message moves to `dead_letter`; `None`: unlimited.
    pub max_deliveries: Option<u32>,
    pub dead_letter: Option<QueueId>,
    /// Distinct message keys (messages get a key drawn uniformly); `None`: unkeyed.
    pub keys: Option<u32>,
}

/// A publish-subscribe topic: every consumer group receives every message.
#[derive(Clone, Debug)]
pub struct Topic {
    pub name: String,
    pub broker: BrokerId,
    /// Each group's copy of a message goes to partition `key % partitions` (round-robin when
    /// unkeyed). A partition is consumed by one replica of the group's service at a time, one
    /// message at a time, so order holds within a partition unless a redelivery breaks it.
    pub partitions: u32,
    /// Distinct message keys; `None`: unkeyed.
    pub keys: Option<u32>,
    /// Consumer groups, in file order.
    pub groups: Vec<Group>,
    pub visibility: SimDuration,
    pub max_deliveries: Option<u32>,
    pub dead_letter: Option<QueueId>,
}

/// One consumer group of a topic.
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub consumer: Consumer,
}

/// Where a published message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    Topic(TopicId),
    Queue(QueueId),
}

/// One message an endpoint publishes (to a topic) or sends (to a queue) after its work and
/// calls: a round trip to the broker that holds the endpoint's worker until the broker acks.
#[derive(Clone, Debug)]
pub struct Publish {
    pub to: Destination,
    /// publisher service -> broker.
    pub link: LinkId,
    /// broker -> publisher service (the broker's ack).
    pub ack_link: LinkId,
}

/// Defaults for keys a queue or topic may leave out.
pub const DEFAULT_PREFETCH: u32 = 1;
pub const DEFAULT_VISIBILITY: SimDuration = SimDuration::from_secs(30);
pub const DEFAULT_PUBLISH_TIMEOUT: SimDuration = SimDuration::from_secs(5);
pub const DEFAULT_PARTITIONS: u32 = 1;

//! The broker's state during a run: channels of waiting messages, the copies in them, and the
//! per-queue and per-group accounts.
//!
//! A *channel* is one FIFO the broker dispatches from: a queue, or one partition of one
//! consumer group of a topic. A *copy* is one message in one channel (a topic's message has
//! one copy per group; a `duplicate` fault adds copies). Copies that are duplicates of each
//! other share an *origin*, which remembers whether the message was applied already — that is
//! the message id an idempotent consumer deduplicates on. Origins are reference-counted by the
//! copies and the consumer jobs that hold them, so memory follows messages in flight.
//!
//! Channels are numbered queues first (channel `q` is queue `q`), then every topic's groups'
//! partitions; accounts ("stats") queues first, then every topic's groups.

use std::collections::VecDeque;

use super::bit_index::BitIndex;
use super::levels::{IN_SYSTEM, Levels, Marks, QUEUED};
use super::slab::Handle;
use crate::model::{EndpointId, LinkId, Model, QueueRole, ServiceId};
use crate::results::{LatencyHistogram, new_latency_histogram};
use crate::time::{SimDuration, SimTime};

/// A message without a key.
pub const NO_KEY: u32 = u32::MAX;

/// One message as one queue or group sees it; shared by its duplicates.
#[derive(Clone, Copy)]
pub struct Origin {
    pub published: SimTime,
    pub key: u32,
    /// Order of publication among messages of the same key and destination.
    pub seq: u32,
    /// Copies and consumer jobs holding this origin.
    pub refs: u32,
    /// A consumer has processed it successfully (the effect is applied).
    pub applied: bool,
    /// It has been dispatched once (its wait in the broker is recorded).
    pub dispatched: bool,
    /// For a request queue: the caller's pending call (the correlation id).
    pub reply_to: Handle,
    /// The channel its copies live in.
    pub channel: u32,
    /// The flow instance it belongs to and which step it commands (see `flows`).
    pub flow: Handle,
    pub flow_step: u16,
    /// Published at or after warmup (a dead letter: its original was): only such messages
    /// enter the counters and histograms, so every balance holds over what is counted.
    pub counted: bool,
}

/// One copy of a message in one channel, waiting or dispatched.
#[derive(Clone, Copy)]
pub struct Copy {
    pub origin: Handle,
    pub channel: u32,
    /// Dispatches so far.
    pub deliveries: u32,
    /// While dispatched: the consumer slot it holds (replica index within the service, or 0
    /// for a partition).
    pub slot: u32,
    /// Made by a `duplicate` fault (which does not duplicate its own duplicates).
    pub duplicate: bool,
    /// Its origin's `counted`, kept here so an ack needs no origin lookup.
    pub counted: bool,
}

/// Who consumes a channel and over which hops.
#[derive(Clone, Copy)]
pub struct ChannelConsumer {
    pub endpoint: EndpointId,
    pub service: ServiceId,
    pub deliver_link: LinkId,
    pub ack_link: LinkId,
}

pub struct Channel {
    pub broker: u32,
    pub stat: u32,
    pub consumer: Option<ChannelConsumer>,
    /// For a topic partition: its index (it pins one consumer replica at a time).
    pub partition: Option<u32>,
    pub ready: VecDeque<Handle>,
    /// Dispatched, unresolved copies per consumer slot.
    pub unacked: Vec<u32>,
    /// Unresolved copies a slot may hold (workers × prefetch for a queue, 1 for a partition).
    pub cap: u32,
    /// Round-robin cursor over the consumer replicas.
    pub next: u32,
    /// For a queue: the slots with room (replica up, fewer than `cap` unacked), so that the
    /// next one is found without a scan. Empty for a partition.
    pub open: BitIndex,
    pub visibility: SimDuration,
    pub max_deliveries: Option<u32>,
    /// The dead-letter queue's channel.
    pub dead_letter: Option<u32>,
    /// A request queue: every processing is acked, and its outcome is the caller's reply.
    pub requests: bool,
    /// Active `duplicate` faults on this channel.
    pub duplicate_faults: Vec<u32>,
    /// Visibility deadlines of dispatched copies, in dispatch order — which is deadline order,
    /// since a channel's visibility is fixed and a broker's dispatch times never go back. One
    /// timer event per channel (for the head) replaces a heap entry per delivery; entries of
    /// copies acked meanwhile are skipped when they reach the head.
    pub deadlines: VecDeque<(SimTime, Handle)>,
    /// A `VisibilityCheck` event for this channel is scheduled.
    pub timer_pending: bool,
}

pub struct BrokerState {
    /// `broker-down` faults holding it down; up when zero.
    pub down: u32,
    /// The fault that took it down, for `affected`.
    pub down_by: u32,
    /// Dispatch capacity: nanoseconds per delivery (0: unlimited), and when the broker is
    /// next free to dispatch.
    pub gap_ns: u64,
    pub next_free: SimTime,
    pub channels: Vec<u32>,
    pub published: u64,
    pub publish_failed: u64,
    pub delivered: u64,
    pub delivered_in_window: u64,
    pub lost: u64,
}

/// The account of one queue or one topic group.
pub struct ChannelAcc {
    pub published: u64,
    pub delivered: u64,
    pub redelivered: u64,
    pub duplicates: u64,
    pub acknowledged: u64,
    pub dead_lettered: u64,
    pub lost: u64,
    pub deduplicated: u64,
    pub duplicate_effects: u64,
    pub out_of_order: u64,
    pub lag: LatencyHistogram,
    pub wait: LatencyHistogram,
    /// IN_SYSTEM: copies queued or dispatched (the depth); QUEUED: copies waiting.
    pub levels: Levels,
    pub max_depth: u64,
    /// Per key: 1 + the highest sequence number processed so far (0: none yet).
    pub last_seq: Vec<u32>,
}

impl ChannelAcc {
    fn new(marks: &Marks, keys: Option<u32>) -> ChannelAcc {
        ChannelAcc {
            published: 0,
            delivered: 0,
            redelivered: 0,
            duplicates: 0,
            acknowledged: 0,
            dead_lettered: 0,
            lost: 0,
            deduplicated: 0,
            duplicate_effects: 0,
            out_of_order: 0,
            lag: new_latency_histogram(),
            wait: new_latency_histogram(),
            levels: Levels::new(marks),
            max_depth: 0,
            last_seq: vec![0; keys.unwrap_or(0) as usize],
        }
    }

    /// Changes the depth (queued + dispatched) and the waiting count.
    #[inline]
    pub fn shift(&mut self, now: SimTime, marks: &Marks, depth: i64, queued: i64) {
        self.levels.advance(now, marks);
        let l = &mut self.levels.value;
        l[IN_SYSTEM] = l[IN_SYSTEM].wrapping_add_signed(depth);
        l[QUEUED] = l[QUEUED].wrapping_add_signed(queued);
        self.max_depth = self.max_depth.max(l[IN_SYSTEM]);
    }
}

/// All broker-side state of a run.
pub struct Brokers {
    pub brokers: Vec<BrokerState>,
    pub channels: Vec<Channel>,
    pub stats: Vec<ChannelAcc>,
    /// First channel of each topic; a group's partitions follow one another.
    pub topic_base: Vec<u32>,
    /// First account of each topic's groups.
    pub topic_stat_base: Vec<u32>,
    /// Per queue then per topic: the next sequence number of each key.
    pub next_seq: Vec<Vec<u32>>,
    /// Per topic: round-robin partition cursor for unkeyed messages.
    pub topic_next: Vec<u32>,
    /// Messages published per topic.
    pub topic_published: Vec<u64>,
    /// Copies dispatched and not yet resolved, over every channel.
    pub dispatched: u64,
    /// Per service: the channels it consumes, in channel order.
    pub consumed: Vec<Vec<u32>>,
    /// Per service that consumes a topic partition: its replicas that are up (a partition
    /// goes to the first one up from its own).
    pub up: Vec<Option<BitIndex>>,
    /// Visibility deadlines held over every channel, stale ones (of copies acked since)
    /// included: timers like the event queue's, counted with them against the pending limit.
    pub deadline_entries: u64,
}

fn consumer_of(model: &Model, c: &crate::model::Consumer) -> ChannelConsumer {
    ChannelConsumer {
        endpoint: c.endpoint,
        service: model.endpoint(c.endpoint).service,
        deliver_link: c.deliver_link,
        ack_link: c.ack_link,
    }
}

impl Brokers {
    pub fn new(model: &Model, marks: &Marks) -> Brokers {
        let mut brokers: Vec<BrokerState> = model
            .brokers
            .iter()
            .map(|b| BrokerState {
                down: 0,
                down_by: 0,
                gap_ns: b
                    .capacity_per_s
                    .map_or(0, |c| (1e9 / c).round().max(1.0) as u64),
                next_free: SimTime::ZERO,
                channels: Vec::new(),
                published: 0,
                publish_failed: 0,
                delivered: 0,
                delivered_in_window: 0,
                lost: 0,
            })
            .collect();
        let mut channels = Vec::new();
        let mut stats = Vec::new();
        let replicas_of = |c: &Option<ChannelConsumer>| {
            c.map_or(1, |c| model.service(c.service).replicas as usize)
        };
        for (q, queue) in model.queues.iter().enumerate() {
            let consumer = queue.consumer.as_ref().map(|c| consumer_of(model, c));
            let workers = consumer.map_or(1, |c| model.service(c.service).workers);
            brokers[queue.broker.0 as usize].channels.push(q as u32);
            channels.push(Channel {
                broker: queue.broker.0,
                stat: q as u32,
                consumer,
                partition: None,
                ready: VecDeque::new(),
                unacked: vec![0; replicas_of(&consumer)],
                cap: workers.saturating_mul(queue.prefetch),
                next: 0,
                open: BitIndex::new(
                    replicas_of(&consumer) as u32,
                    workers.saturating_mul(queue.prefetch) > 0,
                ),
                visibility: queue.visibility,
                max_deliveries: queue.max_deliveries,
                dead_letter: queue.dead_letter.map(|d| d.0),
                requests: queue.role == QueueRole::Requests,
                duplicate_faults: Vec::new(),
                deadlines: VecDeque::new(),
                timer_pending: false,
            });
            stats.push(ChannelAcc::new(marks, queue.keys));
        }
        let mut topic_base = Vec::new();
        let mut topic_stat_base = Vec::new();
        for topic in &model.topics {
            topic_base.push(channels.len() as u32);
            topic_stat_base.push(stats.len() as u32);
            for group in &topic.groups {
                let stat = stats.len() as u32;
                let consumer = Some(consumer_of(model, &group.consumer));
                for p in 0..topic.partitions {
                    brokers[topic.broker.0 as usize]
                        .channels
                        .push(channels.len() as u32);
                    channels.push(Channel {
                        broker: topic.broker.0,
                        stat,
                        consumer,
                        partition: Some(p),
                        ready: VecDeque::new(),
                        unacked: vec![0],
                        cap: 1,
                        next: 0,
                        open: BitIndex::new(0, false),
                        visibility: topic.visibility,
                        max_deliveries: topic.max_deliveries,
                        dead_letter: topic.dead_letter.map(|d| d.0),
                        requests: false,
                        duplicate_faults: Vec::new(),
                        deadlines: VecDeque::new(),
                        timer_pending: false,
                    });
                }
                stats.push(ChannelAcc::new(marks, topic.keys));
            }
        }
        let next_seq = model
            .queues
            .iter()
            .map(|q| q.keys)
            .chain(model.topics.iter().map(|t| t.keys))
            .map(|k| vec![0; k.unwrap_or(0) as usize])
            .collect();
        let mut consumed = vec![Vec::new(); model.services.len()];
        let mut up: Vec<Option<BitIndex>> = model.services.iter().map(|_| None).collect();
        for (ch, c) in channels.iter().enumerate() {
            if let Some(consumer) = c.consumer {
                let s = consumer.service.0 as usize;
                consumed[s].push(ch as u32);
                if c.partition.is_some() && up[s].is_none() {
                    up[s] = Some(BitIndex::new(model.services[s].replicas, true));
                }
            }
        }
        Brokers {
            brokers,
            channels,
            consumed,
            up,
            stats,
            topic_base,
            topic_stat_base,
            next_seq,
            topic_next: vec![0; model.topics.len()],
            topic_published: vec![0; model.topics.len()],
            dispatched: 0,
            deadline_entries: 0,
        }
    }

    /// Whether a waiting copy could still be dispatched: some channel with a consumer holds
    /// one. (Copies in a queue nobody reads wait for good and do not keep a run going.)
    pub fn consumable_waiting(&self) -> bool {
        self.channels
            .iter()
            .any(|c| c.consumer.is_some() && !c.ready.is_empty())
    }
}

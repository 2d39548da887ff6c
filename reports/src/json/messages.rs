//! The `messages` section of the JSON report: totals over the run, then per broker, per queue
//! and per topic with its consumer groups.
//!
//! Every queue and every consumer group is a [`ChannelReport`] with the same fields, so a
//! script (or an `[[expect]]`) reads a queue and a group the same way. Totals are sums over
//! the parts, except `published`, `publish_failed` and `lost`, which count messages at the
//! brokers: a message published to a topic with two groups is one publish but two copies, and
//! a dead-lettered message enters a second queue without being published again.

use serde::Serialize;
use sim_core::results::{
    BrokerStats, ChannelStats, LatencyHistogram, LatencySummary, MessageStats, TopicStats,
    new_latency_histogram,
};

use super::{LatencyMs, Named, round};

/// Messaging: the messages published at or after warmup (every queue's counts balance over
/// them); depths are time averages over the window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MessagesReport {
    /// Messages the brokers accepted (request-reply requests included).
    pub published: u64,
    /// Dispatches to consumers, redeliveries and duplicates included.
    pub delivered: u64,
    pub redelivered: u64,
    /// Extra copies made by `duplicate` faults.
    pub duplicates: u64,
    pub deduplicated: u64,
    pub duplicate_effects: u64,
    pub dead_lettered: u64,
    pub out_of_order: u64,
    /// Publish to first successful processing, over every queue and group.
    pub lag_ms: LatencyMs,
    /// Copies acked after processing.
    pub acknowledged: u64,
    /// Messages lost when a non-durable broker went down.
    pub lost: u64,
    /// Publishes refused because the broker was down.
    pub publish_failed: u64,
    /// Copies still waiting for a dispatch when the run ended.
    pub queued: u64,
    /// Copies dispatched and not acked when the run ended.
    pub in_flight: u64,
    /// Publish to first dispatch: time spent waiting in the broker.
    pub wait_ms: LatencyMs,
    pub brokers: Named<BrokerReport>,
    /// Declared queues, then undeclared dead-letter queues, then request queues
    /// (`requests:service/endpoint`).
    pub queues: Named<ChannelReport>,
    pub topics: Named<TopicReport>,
}

/// One broker.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BrokerReport {
    pub published: u64,
    pub publish_failed: u64,
    pub delivered: u64,
    pub lost: u64,
    /// Dispatch capacity in use, 0–1; `None` (`null`) when the capacity is unlimited.
    pub utilization: Option<f64>,
    /// Deliveries per second the broker can dispatch; 0 when unlimited.
    pub capacity_per_s: f64,
}

/// One topic and its consumer groups.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TopicReport {
    /// Messages published to the topic; each group gets its own copy of each.
    pub published: u64,
    pub partitions: u32,
    pub groups: Named<ChannelReport>,
}

/// One queue, or one consumer group of a topic. Its counts balance:
/// `published + duplicates = acknowledged + dead_lettered + queued + in_flight + lost`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ChannelReport {
    /// `service/endpoint` of the consumer; `""` for a queue nobody reads.
    pub consumer: String,
    pub published: u64,
    pub delivered: u64,
    pub redelivered: u64,
    pub duplicates: u64,
    pub acknowledged: u64,
    pub dead_lettered: u64,
    pub queued: u64,
    pub in_flight: u64,
    pub lost: u64,
    pub deduplicated: u64,
    pub duplicate_effects: u64,
    pub out_of_order: u64,
    pub lag_ms: LatencyMs,
    pub wait_ms: LatencyMs,
    /// Time-average of copies queued or in flight (consumer lag, in messages), from warmup.
    pub depth_mean: f64,
    /// Most copies queued or in flight at once.
    pub depth_max: u64,
}

impl ChannelReport {
    fn of(c: &ChannelStats) -> ChannelReport {
        ChannelReport {
            consumer: c.consumer.clone().unwrap_or_default(),
            published: c.published,
            delivered: c.delivered,
            redelivered: c.redelivered,
            duplicates: c.duplicates,
            acknowledged: c.acknowledged,
            dead_lettered: c.dead_lettered,
            queued: c.queued,
            in_flight: c.in_flight,
            lost: c.lost,
            deduplicated: c.deduplicated,
            duplicate_effects: c.duplicate_effects,
            out_of_order: c.out_of_order,
            lag_ms: LatencySummary::of(&c.lag).into(),
            wait_ms: LatencySummary::of(&c.wait).into(),
            depth_mean: round(c.mean_depth),
            depth_max: c.max_depth,
        }
    }
}

impl BrokerReport {
    fn of(b: &BrokerStats) -> BrokerReport {
        BrokerReport {
            published: b.published,
            publish_failed: b.publish_failed,
            delivered: b.delivered,
            lost: b.lost,
            utilization: b.utilization.map(round),
            capacity_per_s: b.capacity_per_s.unwrap_or(0.0),
        }
    }
}

impl TopicReport {
    fn of(t: &TopicStats) -> TopicReport {
        TopicReport {
            published: t.published,
            partitions: t.partitions,
            groups: Named(
                t.groups
                    .iter()
                    .map(|g| (g.name.clone(), ChannelReport::of(g)))
                    .collect(),
            ),
        }
    }
}

impl MessagesReport {
    /// Summarises a run's messaging; all zeros and empty sections when it had no broker.
    pub fn of(m: &MessageStats) -> MessagesReport {
        let channels: Vec<&ChannelStats> = channels(m).map(|(_, c)| c).collect();
        let sum = |f: fn(&ChannelStats) -> u64| channels.iter().map(|c| f(c)).sum::<u64>();
        let merged = |f: fn(&ChannelStats) -> &LatencyHistogram| {
            let mut total = new_latency_histogram();
            // Resizes instead of failing should a histogram have been built wider.
            total.auto(true);
            for c in &channels {
                total
                    .add(f(c))
                    .expect("an auto-resizing histogram takes any other");
            }
            LatencySummary::of(&total).into()
        };
        MessagesReport {
            published: m.brokers.iter().map(|b| b.published).sum(),
            delivered: sum(|c| c.delivered),
            redelivered: sum(|c| c.redelivered),
            duplicates: sum(|c| c.duplicates),
            deduplicated: sum(|c| c.deduplicated),
            duplicate_effects: sum(|c| c.duplicate_effects),
            dead_lettered: sum(|c| c.dead_lettered),
            out_of_order: sum(|c| c.out_of_order),
            lag_ms: merged(|c| &c.lag),
            acknowledged: sum(|c| c.acknowledged),
            lost: m.brokers.iter().map(|b| b.lost).sum(),
            publish_failed: m.brokers.iter().map(|b| b.publish_failed).sum(),
            queued: sum(|c| c.queued),
            in_flight: sum(|c| c.in_flight),
            wait_ms: merged(|c| &c.wait),
            brokers: Named(
                m.brokers
                    .iter()
                    .map(|b| (b.name.clone(), BrokerReport::of(b)))
                    .collect(),
            ),
            queues: Named(
                m.queues
                    .iter()
                    .map(|q| (q.name.clone(), ChannelReport::of(q)))
                    .collect(),
            ),
            topics: Named(
                m.topics
                    .iter()
                    .map(|t| (t.name.clone(), TopicReport::of(t)))
                    .collect(),
            ),
        }
    }

    /// Whether the run had a broker: the reports then show messaging.
    pub fn any(&self) -> bool {
        !self.brokers.is_empty()
    }

    /// Every queue, then every group of every topic, in model order, each with its
    /// [`ChannelName`].
    pub fn channels(&self) -> impl Iterator<Item = (ChannelName<'_>, &ChannelReport)> {
        let queues = self
            .queues
            .iter()
            .map(|(name, q)| (ChannelName { name, group: None }, q));
        let groups = self.topics.iter().flat_map(|(topic, t)| {
            t.groups.iter().map(move |(group, g)| {
                let name = ChannelName {
                    name: topic,
                    group: Some(group),
                };
                (name, g)
            })
        });
        queues.chain(groups)
    }
}

/// Where a [`ChannelReport`] sits: a queue, or a group of a topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelName<'a> {
    /// The queue's or the topic's name.
    pub name: &'a str,
    /// The group's name, for a group of a topic.
    pub group: Option<&'a str>,
}

impl ChannelName<'_> {
    /// `queue` or `group`.
    pub fn kind(&self) -> &'static str {
        if self.group.is_some() {
            "group"
        } else {
            "queue"
        }
    }
}

impl std::fmt::Display for ChannelName<'_> {
    /// `email-jobs` for a queue, `order.placed/inventory` for a group.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.group {
            Some(group) => write!(f, "{}/{group}", self.name),
            None => f.write_str(self.name),
        }
    }
}

/// Every queue, then every group of every topic, in model order, as measured.
pub(crate) fn channels(m: &MessageStats) -> impl Iterator<Item = (ChannelName<'_>, &ChannelStats)> {
    let queues = m.queues.iter().map(|q| {
        let name = ChannelName {
            name: &q.name,
            group: None,
        };
        (name, q)
    });
    let groups = m.topics.iter().flat_map(|t| {
        t.groups.iter().map(move |g| {
            let name = ChannelName {
                name: &t.name,
                group: Some(&g.name),
            };
            (name, g)
        })
    });
    queues.chain(groups)
}

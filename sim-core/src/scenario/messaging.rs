//! `[broker.NAME]`, `[queue.NAME]` and `[topic.NAME]`: what asynchronous messages travel
//! through, checked and numbered, and what endpoints (`publish`, `send`) and calls (`via`)
//! refer to.
//!
//! Queues are numbered: declared queues in file order, then the step queues of
//! `choreography` flows (`flow_parts`), then dead-letter queues named but not declared (in the
//! order the file first names them), then the request queues of calls made `via` a broker, in
//! order of first use. Topics: declared ones, then those of `async` flows. A queue or topic
//! with `max_deliveries` but no `dead_letter` dead-letters to the queue `NAME-dlq` (declared,
//! or created like any other undeclared dead letter); dead letters are resolved
//! ([`Messaging::resolve_dead_letters`]) once the flows' queues and topics exist. Consumers get
//! their links last ([`Messaging::connect`]), after the calls' and the publishes', so link ids
//! keep the order documented in `scenario`.

mod dead_letters;
mod flow_parts;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ops::Range;

use toml::{Spanned, Value};

use super::Sink;
use super::flows::FLOW_PREFIX;
use super::links::LinkTable;
use super::raw::{RawFile, RawQueue, RawTopic, Val};
use super::validate::{Names, check_name, closest, id32, resolve_endpoint, val_span};
use super::values::{seg, show};
use crate::dist::Dist;
use crate::model::{
    Broker, BrokerId, Consumer, DEFAULT_PARTITIONS, DEFAULT_PREFETCH, DEFAULT_PUBLISH_TIMEOUT,
    DEFAULT_VISIBILITY, Destination, Endpoint, EndpointId, Group, Node, Queue, QueueId, QueueRole,
    Topic, TopicId,
};
use crate::time::SimDuration;

use dead_letters::{DeadLetterRef, Owner};
pub(super) use flow_parts::FlowChannel;

const MAX_CAPACITY_PER_S: f64 = 1e9;
pub(super) const MAX_PREFETCH: i64 = 100_000;
pub(super) const MAX_DELIVERIES: i64 = 10_000;
const MAX_KEYS: i64 = 1_000_000;
pub(super) const MAX_PARTITIONS: i64 = 10_000;
/// How request queues' names start; declared and dead-letter queues may not.
const REQUESTS_PREFIX: &str = "requests:";
/// The broker of a queue or topic whose `broker` could not be resolved (already reported):
/// never looked up, since a model with a problem is never handed out.
const NO_BROKER: BrokerId = BrokerId(u32::MAX);

/// Brokers, queues and topics as read, with their consumers still to be linked.
pub(super) struct Messaging {
    brokers: Vec<Broker>,
    broker_ids: BTreeMap<String, BrokerId>,
    queues: Vec<Queue>,
    topics: Vec<Topic>,
    /// The consumer endpoint of each queue (same index as `queues`), linked in `connect`.
    consumers: Vec<Option<EndpointId>>,
    /// Each topic's groups (same index as `topics`): name and endpoint, linked in `connect`.
    groups: Vec<Vec<(String, EndpointId)>>,
    /// Request queues by broker and target endpoint.
    requests: BTreeMap<(BrokerId, EndpointId), QueueId>,
    /// Dead letters named (or implied) so far, resolved by `resolve_dead_letters`.
    dead_letters: Vec<DeadLetterRef>,
}

/// The keys queues and topics share.
struct Redelivery {
    visibility: SimDuration,
    max_deliveries: Option<u32>,
    keys: Option<u32>,
}

/// Reads every broker, queue and topic; endpoints are resolved against `names`. Dead letters
/// are resolved later, by [`Messaging::resolve_dead_letters`].
pub(super) fn read_messaging(sink: &mut Sink, raw: &RawFile, names: &Names) -> Messaging {
    let mut m = Messaging {
        brokers: Vec::new(),
        broker_ids: BTreeMap::new(),
        queues: Vec::new(),
        topics: Vec::new(),
        consumers: Vec::new(),
        groups: Vec::new(),
        requests: BTreeMap::new(),
        dead_letters: Vec::new(),
    };
    check_names(sink, raw, names);
    for (key, b) in &raw.broker.0 {
        let path = format!("broker.{}", seg(key.get_ref()));
        let latency = sink.dist(&b.latency, &format!("{path}.latency"));
        let capacity_per_s = sink.number(
            &b.capacity,
            &format!("{path}.capacity"),
            0.0,
            MAX_CAPACITY_PER_S,
            true,
        );
        let durable = sink.boolean(&b.durable, &format!("{path}.durable"));
        let timeout =
            positive_duration(sink, &b.publish_timeout, &format!("{path}.publish_timeout"));
        let id = BrokerId(id32(m.brokers.len()));
        m.broker_ids.entry(key.get_ref().clone()).or_insert(id);
        m.brokers.push(Broker {
            name: key.get_ref().clone(),
            latency: latency.unwrap_or_else(Dist::zero),
            capacity_per_s,
            durable: durable.unwrap_or(true),
            publish_timeout: timeout.unwrap_or(DEFAULT_PUBLISH_TIMEOUT),
        });
    }
    for (key, q) in &raw.queue.0 {
        m.read_queue(sink, key, q, names);
    }
    for (key, t) in &raw.topic.0 {
        m.read_topic(sink, key, t, names);
    }
    m
}

/// Broker, queue and topic names: usable in links and fault targets, and not ambiguous there.
fn check_names(sink: &mut Sink, raw: &RawFile, names: &Names) {
    for (key, _) in &raw.broker.0 {
        check_name(sink, key, "broker");
        let name = key.get_ref();
        if names.services.contains_key(name) {
            let msg = format!(
                "broker name \"{name}\" is also a service's name; links name both (as in \
                 \"{name}->…\"), so a broker and a service must not share a name"
            );
            sink.error(key.span(), msg);
        }
    }
    for (key, _) in &raw.queue.0 {
        check_name(sink, key, "queue");
        let name = key.get_ref();
        if name.starts_with(REQUESTS_PREFIX) {
            let msg = format!(
                "queue name \"{name}\" must not start with \"{REQUESTS_PREFIX}\" (the request \
                 queues of calls made via a broker are named so)"
            );
            sink.error(key.span(), msg);
        }
        reserved(sink, key, "queue");
        if raw.topic.0.iter().any(|(t, _)| t.get_ref() == name) {
            let msg = format!(
                "queue name \"{name}\" is also a topic's name; a duplicate fault's target names \
                 either, so a queue and a topic must not share a name"
            );
            sink.error(key.span(), msg);
        }
    }
    for (key, _) in &raw.topic.0 {
        check_name(sink, key, "topic");
        reserved(sink, key, "topic");
    }
}

/// Names starting with `flow:` belong to flows' implicit queues and topics.
fn reserved(sink: &mut Sink, key: &Spanned<String>, what: &str) {
    let name = key.get_ref();
    if name.starts_with(FLOW_PREFIX) {
        let msg = format!(
            "{what} name \"{name}\" must not start with \"{FLOW_PREFIX}\" (flows' own queues and \
             topics are named so)"
        );
        sink.error(key.span(), msg);
    }
}

/// A duration > 0.
pub(super) fn positive_duration(sink: &mut Sink, v: &Val, path: &str) -> Option<SimDuration> {
    let d = sink.duration(v, path)?;
    if d == SimDuration::ZERO {
        sink.error(
            val_span(v),
            format!("{path} = \"0s\": allowed: a duration > 0"),
        );
        return None;
    }
    Some(d)
}

/// An integer in `lo..=hi` as a `u32`.
pub(super) fn count(sink: &mut Sink, v: &Val, path: &str, lo: i64, hi: i64) -> Option<u32> {
    sink.int(v, path, lo, hi)
        .and_then(|n| u32::try_from(n).ok())
}

/// "unknown WHAT \"name\" in PATH; known: …; did you mean …?"
pub(super) fn unknown(
    what: &str,
    name: &str,
    path: &str,
    known: &[String],
    declare: &str,
) -> String {
    let hint = closest(name, known).map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
    let known = if known.is_empty() {
        format!("none (declare {declare})")
    } else {
        known.join(", ")
    };
    format!("unknown {what} \"{name}\" in {path}; known: {known}{hint}")
}

impl Messaging {
    /// Brokers by name, for link names.
    pub(super) fn broker_ids(&self) -> &BTreeMap<String, BrokerId> {
        &self.broker_ids
    }

    fn broker_names(&self) -> Vec<String> {
        self.brokers.iter().map(|b| b.name.clone()).collect()
    }

    /// A broker named by the string at `v` (present), or reported.
    pub(super) fn broker_named(&self, sink: &mut Sink, v: &Val, path: &str) -> Option<BrokerId> {
        let name = sink.string(v, path)?;
        if let Some(id) = self.broker_ids.get(&name) {
            return Some(*id);
        }
        let msg = unknown("broker", &name, path, &self.broker_names(), "[broker.NAME]");
        sink.error(val_span(v), msg);
        None
    }

    /// The `broker` of the queue or topic at `path`: as given, or the only broker declared.
    fn broker_of(&self, sink: &mut Sink, v: &Val, path: &str, at: Range<usize>) -> BrokerId {
        if v.is_some() {
            let found = self.broker_named(sink, v, &format!("{path}.broker"));
            return found.unwrap_or(NO_BROKER);
        }
        match self.brokers.len() {
            1 => BrokerId(0),
            0 => {
                let msg = format!("{path} needs a broker, but no [broker.NAME] is declared");
                sink.error(at, msg);
                NO_BROKER
            }
            _ => {
                let msg = format!(
                    "missing required key {path}.broker (several brokers are declared: {})",
                    self.broker_names().join(", ")
                );
                sink.error(at, msg);
                NO_BROKER
            }
        }
    }

    /// `visibility`, `max_deliveries`, `dead_letter` (noted for later) and `keys`.
    fn read_redelivery(
        &mut self,
        sink: &mut Sink,
        raw: [&Val; 4],
        path: &str,
        owner: Owner,
        owner_name: &str,
    ) -> Redelivery {
        let [visibility, max_deliveries, dead_letter, keys] = raw;
        let max_path = format!("{path}.max_deliveries");
        let max = count(sink, max_deliveries, &max_path, 1, MAX_DELIVERIES);
        let dl_path = format!("{path}.dead_letter");
        let named = sink.string(dead_letter, &dl_path);
        let reference = match named {
            Some(_) if max_deliveries.is_none() => {
                let msg = format!(
                    "{dl_path} needs max_deliveries (the number of deliveries before a message \
                     is dead-lettered)"
                );
                sink.error(val_span(dead_letter), msg);
                None
            }
            Some(name) => Some((name, val_span(dead_letter), true)),
            None if dead_letter.is_none() && max.is_some() => {
                Some((format!("{owner_name}-dlq"), val_span(max_deliveries), false))
            }
            None => None,
        };
        if let Some((name, span, explicit)) = reference {
            self.dead_letters.push(DeadLetterRef {
                owner,
                path: path.to_string(),
                name,
                span,
                explicit,
            });
        }
        Redelivery {
            visibility: positive_duration(sink, visibility, &format!("{path}.visibility"))
                .unwrap_or(DEFAULT_VISIBILITY),
            max_deliveries: max,
            keys: count(sink, keys, &format!("{path}.keys"), 1, MAX_KEYS),
        }
    }

    fn read_queue(&mut self, sink: &mut Sink, key: &Spanned<String>, q: &RawQueue, names: &Names) {
        let name = key.get_ref();
        let path = format!("queue.{}", seg(name));
        let broker = self.broker_of(sink, &q.broker, &path, key.span());
        let consumer = resolve_endpoint(sink, &q.consumer, &format!("{path}.consumer"), names);
        let prefetch = count(
            sink,
            &q.prefetch,
            &format!("{path}.prefetch"),
            1,
            MAX_PREFETCH,
        );
        let raw = [&q.visibility, &q.max_deliveries, &q.dead_letter, &q.keys];
        let owner = Owner::Queue(self.queues.len());
        let r = self.read_redelivery(sink, raw, &path, owner, name);
        self.queues.push(Queue {
            name: name.clone(),
            broker,
            role: QueueRole::Declared,
            consumer: None,
            prefetch: prefetch.unwrap_or(DEFAULT_PREFETCH),
            visibility: r.visibility,
            max_deliveries: r.max_deliveries,
            dead_letter: None,
            keys: r.keys,
        });
        self.consumers.push(consumer);
    }

    fn read_topic(&mut self, sink: &mut Sink, key: &Spanned<String>, t: &RawTopic, names: &Names) {
        let name = key.get_ref();
        let path = format!("topic.{}", seg(name));
        let broker = self.broker_of(sink, &t.broker, &path, key.span());
        let partitions_path = format!("{path}.partitions");
        let partitions = count(sink, &t.partitions, &partitions_path, 1, MAX_PARTITIONS);
        let mut groups = Vec::new();
        let subscribers = t.subscribers.as_ref().map(|s| s.get_ref().0.as_slice());
        for (group, endpoint) in subscribers.unwrap_or(&[]) {
            let g = group.get_ref();
            let group_path = format!("{path}.subscribers.{}", seg(g));
            if g.is_empty() || g.contains('/') {
                let msg = format!(
                    "consumer group name \"{g}\" in {path}.subscribers must be non-empty and \
                     must not contain '/'"
                );
                sink.error(group.span(), msg);
            }
            let v = Some(endpoint.clone());
            if let Some(ep) = resolve_endpoint(sink, &v, &group_path, names) {
                groups.push((g.clone(), ep));
            }
        }
        let raw = [&t.visibility, &t.max_deliveries, &t.dead_letter, &t.keys];
        let owner = Owner::Topic(self.topics.len());
        let r = self.read_redelivery(sink, raw, &path, owner, name);
        self.topics.push(Topic {
            name: name.clone(),
            broker,
            partitions: partitions.unwrap_or(DEFAULT_PARTITIONS),
            keys: r.keys,
            groups: Vec::new(),
            visibility: r.visibility,
            max_deliveries: r.max_deliveries,
            dead_letter: None,
        });
        self.groups.push(groups);
    }

    fn broker_name(&self, id: BrokerId) -> &str {
        self.brokers.get(id.0 as usize).map_or("?", |b| &b.name)
    }

    /// The request queue of calls `via` `broker` to `to`, created on first use.
    pub(super) fn request_queue(&mut self, broker: BrokerId, to: EndpointId) -> QueueId {
        if let Some(id) = self.requests.get(&(broker, to)) {
            return *id;
        }
        let id = QueueId(id32(self.queues.len()));
        self.queues.push(Queue {
            // Named in `connect`, once every endpoint and broker using it is known.
            name: String::new(),
            broker,
            role: QueueRole::Requests,
            consumer: None,
            prefetch: DEFAULT_PREFETCH,
            visibility: DEFAULT_VISIBILITY,
            max_deliveries: None,
            dead_letter: None,
            keys: None,
        });
        self.consumers.push(Some(to));
        self.requests.insert((broker, to), id);
        id
    }

    /// Resolves `publish` (`topics`) or `send` (queues) of the endpoint at `path`.
    pub(super) fn destinations(
        &self,
        sink: &mut Sink,
        raw: Option<&Spanned<Vec<Spanned<Value>>>>,
        path: &str,
        topics: bool,
    ) -> Vec<Destination> {
        let mut out = Vec::new();
        let items = raw.map_or(&[][..], |a| a.get_ref().as_slice());
        for (i, item) in items.iter().enumerate() {
            let Value::String(name) = item.get_ref() else {
                let want = if topics {
                    "a topic name"
                } else {
                    "a queue name"
                };
                let msg = format!(
                    "{path}[{i}] = {}: expected {want} (a string)",
                    show(item.get_ref())
                );
                sink.error(item.span(), msg);
                continue;
            };
            match self.destination(name, path, topics) {
                Ok(d) => out.push(d),
                Err(msg) => sink.error(item.span(), msg),
            }
        }
        out
    }

    fn destination(&self, name: &str, path: &str, topics: bool) -> Result<Destination, String> {
        if name.starts_with(FLOW_PREFIX) {
            return Err(format!(
                "\"{name}\" in {path} names a flow's own queue or topic (\"{FLOW_PREFIX}…\"); only \
                 its flow sends to it"
            ));
        }
        let topic = self.topics.iter().position(|t| t.name == name);
        let queue = self
            .queues
            .iter()
            .position(|q| q.name == name && q.role != QueueRole::Requests);
        match (topics, topic, queue) {
            (true, Some(t), _) => Ok(Destination::Topic(TopicId(id32(t)))),
            (false, _, Some(q)) => Ok(Destination::Queue(QueueId(id32(q)))),
            (true, None, Some(_)) => Err(format!(
                "\"{name}\" in {path} is a queue, not a topic; send to it with \
                 send = [\"{name}\"]"
            )),
            (false, Some(_), None) => Err(format!(
                "\"{name}\" in {path} is a topic, not a queue; publish to it with \
                 publish = [\"{name}\"]"
            )),
            (true, None, None) => {
                let known: Vec<String> = self
                    .topics
                    .iter()
                    .filter(|t| !t.name.starts_with(FLOW_PREFIX))
                    .map(|t| t.name.clone())
                    .collect();
                Err(unknown("topic", name, path, &known, "[topic.NAME]"))
            }
            (false, None, None) => {
                let known: Vec<String> = self
                    .queues
                    .iter()
                    .filter(|q| q.role != QueueRole::Requests && !q.name.starts_with(FLOW_PREFIX))
                    .map(|q| q.name.clone())
                    .collect();
                Err(unknown("queue", name, path, &known, "[queue.NAME]"))
            }
        }
    }

    /// The broker a destination lives on.
    pub(super) fn destination_broker(&self, d: Destination) -> BrokerId {
        match d {
            Destination::Topic(t) => self.topics.get(t.0 as usize).map(|t| t.broker),
            Destination::Queue(q) => self.queues.get(q.0 as usize).map(|q| q.broker),
        }
        .unwrap_or(NO_BROKER)
    }

    /// Names the request queues, links every consumer (queues in id order, then each topic's
    /// groups: broker -> consumer, then consumer -> broker) and hands out the model's lists.
    pub(super) fn connect(
        mut self,
        links: &mut LinkTable,
        endpoints: &[Endpoint],
        endpoint_names: &[String],
    ) -> (Vec<Broker>, Vec<Queue>, Vec<Topic>) {
        self.name_request_queues(endpoint_names);
        let mut consumer = |ep: EndpointId, broker: BrokerId| {
            let service = endpoints.get(ep.0 as usize)?.service;
            let (b, s) = (Node::Broker(broker), Node::Service(service));
            Some(Consumer {
                endpoint: ep,
                deliver_link: links.get(b, s),
                ack_link: links.get(s, b),
            })
        };
        for (q, ep) in self.queues.iter_mut().zip(&self.consumers) {
            q.consumer = ep.and_then(|ep| consumer(ep, q.broker));
        }
        for (t, groups) in self.topics.iter_mut().zip(self.groups) {
            t.groups = groups
                .into_iter()
                .filter_map(|(name, ep)| {
                    let consumer = consumer(ep, t.broker)?;
                    Some(Group { name, consumer })
                })
                .collect();
        }
        (self.brokers, self.queues, self.topics)
    }

    /// `requests:service/endpoint`, or `requests:service/endpoint@broker` when the endpoint
    /// is called via more than one broker (so that names stay unique).
    fn name_request_queues(&mut self, endpoint_names: &[String]) {
        let mut brokers_per_endpoint: BTreeMap<EndpointId, usize> = BTreeMap::new();
        for (_, ep) in self.requests.keys() {
            *brokers_per_endpoint.entry(*ep).or_default() += 1;
        }
        for (&(broker, ep), id) in &self.requests {
            let endpoint = endpoint_names
                .get(ep.0 as usize)
                .map_or("?", String::as_str);
            let mut name = format!("{REQUESTS_PREFIX}{endpoint}");
            if brokers_per_endpoint.get(&ep).copied().unwrap_or(0) > 1 {
                name = format!("{name}@{}", self.broker_name(broker));
            }
            if let Some(q) = self.queues.get_mut(id.0 as usize) {
                q.name = name;
            }
        }
    }
}

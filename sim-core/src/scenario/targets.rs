//! Fault and chaos targets: services, replicas `service#i`, links `a->b` (whose ends are
//! `client`, services or brokers), brokers, topics and queues, resolved against the model's
//! lists and the links in use.

use std::collections::BTreeMap;

use super::links::LinkTable;
use super::validate::closest;
use crate::model::{
    Broker, BrokerId, Destination, LinkId, Node, Queue, QueueId, ReplicaRef, Service, ServiceId,
    Topic, TopicId,
};
use crate::time::SimDuration;

/// What fault targets are resolved against.
pub(super) struct Topology<'a> {
    pub services: &'a [Service],
    pub ids: &'a BTreeMap<String, ServiceId>,
    pub brokers: &'a [Broker],
    /// Every queue: declared, dead-letter and request queues.
    pub queues: &'a [Queue],
    pub topics: &'a [Topic],
    pub links: &'a LinkTable,
    /// The end of the run (duration + drain): a fault must start before it.
    pub end: SimDuration,
}

/// A resolved `target`.
pub(super) enum Target {
    Service(ServiceId),
    Replica(ReplicaRef),
    /// `service@version`: the version's replicas, `first` and on (indices in the service).
    Version {
        service: ServiceId,
        first: u32,
        count: u32,
    },
    Link(Node, Node),
}

impl Topology<'_> {
    pub(super) fn node_name(&self, node: Node) -> &str {
        match node {
            Node::Client => "client",
            Node::Service(s) => self.services.get(s.0 as usize).map_or("?", |s| &s.name),
            Node::Broker(b) => self.brokers.get(b.0 as usize).map_or("?", |b| &b.name),
        }
    }

    fn service_names(&self) -> Vec<String> {
        self.services.iter().map(|s| s.name.clone()).collect()
    }

    fn broker_names(&self) -> Vec<String> {
        self.brokers.iter().map(|b| b.name.clone()).collect()
    }

    fn broker_id(&self, name: &str) -> Option<BrokerId> {
        let i = self.brokers.iter().position(|b| b.name == name)?;
        Some(BrokerId(u32::try_from(i).ok()?))
    }

    /// A broker, for `broker-down`.
    pub(super) fn broker(&self, name: &str) -> Result<BrokerId, String> {
        self.broker_id(name)
            .ok_or_else(|| unknown("broker", name, &self.broker_names()))
    }

    /// A topic or a queue (any queue, request queues included), for `duplicate`.
    pub(super) fn destination(&self, name: &str) -> Result<Destination, String> {
        let id = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        if let Some(t) = self.topics.iter().position(|t| t.name == name) {
            return Ok(Destination::Topic(TopicId(id(t))));
        }
        if let Some(q) = self.queues.iter().position(|q| q.name == name) {
            return Ok(Destination::Queue(QueueId(id(q))));
        }
        let topics = self.topics.iter().map(|t| t.name.clone());
        let known: Vec<String> = topics
            .chain(self.queues.iter().map(|q| q.name.clone()))
            .collect();
        Err(unknown("topic or queue", name, &known))
    }

    /// Every replica of `service`.
    pub(super) fn replicas(&self, service: ServiceId) -> Vec<ReplicaRef> {
        let n = self
            .services
            .get(service.0 as usize)
            .map_or(0, |s| s.replicas);
        (0..n).map(|index| ReplicaRef { service, index }).collect()
    }

    /// The pairs in use, each once (in the direction first used), for messages.
    pub(super) fn links_in_use(&self) -> String {
        let pairs = self.links.pairs();
        let names: Vec<String> = pairs
            .iter()
            .enumerate()
            .filter(|(i, (f, t))| !pairs[..*i].contains(&(*t, *f)))
            .map(|(_, (f, t))| format!("{}->{}", self.node_name(*f), self.node_name(*t)))
            .collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    }

    /// Both directions of the pair `a`-`b` that exist, in id order.
    pub(super) fn pair_links(&self, a: Node, b: Node) -> Result<Vec<LinkId>, String> {
        let mut links: Vec<LinkId> = [self.links.existing(a, b), self.links.existing(b, a)]
            .into_iter()
            .flatten()
            .collect();
        links.sort();
        if links.is_empty() {
            return Err(format!(
                "no call or message uses link {}->{}; links in use: {}",
                self.node_name(a),
                self.node_name(b),
                self.links_in_use()
            ));
        }
        Ok(links)
    }

    /// `client`, a service or a broker: a link end.
    pub(super) fn node(&self, name: &str) -> Result<Node, String> {
        if name == "client" {
            return Ok(Node::Client);
        }
        if let Some(id) = self.ids.get(name) {
            return Ok(Node::Service(*id));
        }
        if let Some(id) = self.broker_id(name) {
            return Ok(Node::Broker(id));
        }
        let mut known = vec!["client".to_string()];
        known.extend(self.service_names());
        let brokers = self.broker_names().into_iter();
        known.extend(brokers.filter(|b| !self.ids.contains_key(b)));
        let what = if self.brokers.is_empty() {
            "service"
        } else {
            "service or broker"
        };
        Err(unknown(what, name, &known))
    }

    /// `service@version`: the version's replicas.
    fn version(&self, text: &str) -> Result<Target, String> {
        let (name, version) = text.split_once('@').expect("has @");
        let (name, version) = (name.trim(), version.trim());
        let Some(&id) = self.ids.get(name) else {
            return Err(unknown("service", name, &self.service_names()));
        };
        let service = &self.services[id.0 as usize];
        if let Some(v) = service.versions.iter().find(|v| v.name == version) {
            return Ok(Target::Version {
                service: id,
                first: v.first,
                count: v.replicas,
            });
        }
        if service.versions.is_empty() {
            return Err(format!(
                "service {name} has no versions (declare [service.{name}.version.NAME])"
            ));
        }
        let known: Vec<String> = service.versions.iter().map(|v| v.name.clone()).collect();
        Err(unknown(&format!("version of {name}"), version, &known))
    }

    /// A service, `service#i` or `service@version`.
    pub(super) fn service_or_replica(&self, text: &str) -> Result<Target, String> {
        if text.contains('@') {
            return self.version(text);
        }
        let (name, index) = match text.split_once('#') {
            Some((name, index)) => (name.trim(), Some(index.trim())),
            None => (text, None),
        };
        let Some(&id) = self.ids.get(name) else {
            if self.broker_id(name).is_some() {
                return Err(format!(
                    "\"{name}\" is a broker, not a service (a fault with kind = \"broker-down\" \
                     stops a broker)"
                ));
            }
            return Err(unknown("service", name, &self.service_names()));
        };
        let Some(index) = index else {
            return Ok(Target::Service(id));
        };
        let replicas = self.services.get(id.0 as usize).map_or(0, |s| s.replicas);
        match index.parse::<u32>() {
            Ok(i) if i < replicas => Ok(Target::Replica(ReplicaRef {
                service: id,
                index: i,
            })),
            Ok(i) => Err(format!(
                "replica {name}#{i} does not exist: {name} has {replicas} replica(s), \
                 {name}#0 to {name}#{}",
                replicas.saturating_sub(1)
            )),
            Err(_) => Err(format!(
                "replica index \"{index}\" is not a whole number; write e.g. \"{name}#0\""
            )),
        }
    }

    /// A service, `service#i` or a link `a->b`.
    pub(super) fn target(&self, text: &str) -> Result<Target, String> {
        match text.split_once("->") {
            Some((a, b)) => Ok(Target::Link(self.node(a.trim())?, self.node(b.trim())?)),
            None => self.service_or_replica(text),
        }
    }
}

/// "unknown WHAT" with the known names and a suggestion.
fn unknown(what: &str, name: &str, known: &[String]) -> String {
    let hint = closest(name, known).map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
    let known = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    format!("unknown {what} \"{name}\"; known: {known}{hint}")
}

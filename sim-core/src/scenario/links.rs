//! `[network]`: default hop latency and loss, per-pair overrides, and the directed links the
//! model actually uses.

use std::collections::BTreeMap;

use toml::Spanned;

use super::Sink;
use super::raw::RawNetwork;
use super::validate::closest;
use super::values::seg;
use crate::dist::Dist;
use crate::model::{BrokerId, Link, LinkId, Node, ServiceId};

/// Latency and loss given for one `[network.link."a->b"]`; unset fields inherit the defaults.
struct PairOverride {
    latency: Option<Dist>,
    loss: Option<f64>,
}

/// The network settings, checked.
pub(super) struct Network {
    latency: Dist,
    loss: f64,
    /// Overrides by directed pair, as written. "a->b" also covers b->a unless that is given.
    overrides: BTreeMap<(Node, Node), PairOverride>,
}

/// Reads `[network]`; link names must name `client`, a service or a broker.
pub(super) fn read_network(
    sink: &mut Sink,
    raw: Option<&Spanned<RawNetwork>>,
    services: &BTreeMap<String, ServiceId>,
    brokers: &BTreeMap<String, BrokerId>,
) -> Network {
    let mut net = Network {
        latency: Dist::zero(),
        loss: 0.0,
        overrides: BTreeMap::new(),
    };
    let Some(raw) = raw else { return net };
    let raw = raw.get_ref();
    net.latency = sink
        .dist(&raw.latency, "network.latency")
        .unwrap_or_else(Dist::zero);
    net.loss = sink.probability(&raw.loss, "network.loss").unwrap_or(0.0);
    for (key, link) in &raw.link.0 {
        let path = format!("network.link.{}", seg(key.get_ref()));
        let latency = sink.dist(&link.latency, &format!("{path}.latency"));
        let loss = sink.probability(&link.loss, &format!("{path}.loss"));
        let Some(pair) = link_pair(sink, key, &path, services, brokers) else {
            continue;
        };
        if net.overrides.contains_key(&pair) {
            let msg = format!("{path} names the same link as an earlier override");
            sink.error(key.span(), msg);
            continue;
        }
        net.overrides.insert(pair, PairOverride { latency, loss });
    }
    net
}

/// Resolves `"from->to"` to a pair of nodes, reporting what is wrong with it.
fn link_pair(
    sink: &mut Sink,
    key: &Spanned<String>,
    path: &str,
    services: &BTreeMap<String, ServiceId>,
    brokers: &BTreeMap<String, BrokerId>,
) -> Option<(Node, Node)> {
    let name = key.get_ref();
    let mut known = vec!["client".to_string()];
    known.extend(services.keys().cloned());
    // A broker named like a service is reported with the brokers; list the name once here.
    known.extend(
        brokers
            .keys()
            .filter(|b| !services.contains_key(*b))
            .cloned(),
    );
    let what = if brokers.is_empty() {
        "service"
    } else {
        "service or broker"
    };
    let Some((from, to)) = name.split_once("->") else {
        let msg =
            format!("link name \"{name}\" in {path} must be \"FROM->TO\", e.g. \"order->payment\"");
        sink.error(key.span(), msg);
        return None;
    };
    let mut node = |n: &str| -> Option<Node> {
        let n = n.trim();
        if n == "client" {
            return Some(Node::Client);
        }
        if let Some(id) = services.get(n) {
            return Some(Node::Service(*id));
        }
        if let Some(id) = brokers.get(n) {
            return Some(Node::Broker(*id));
        }
        let hint = closest(n, &known).map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
        let msg = format!(
            "unknown {what} \"{n}\" in link {path}; known: {}{hint}",
            known.join(", ")
        );
        sink.error(key.span(), msg);
        None
    };
    let (from, to) = (node(from), node(to));
    let (from, to) = (from?, to?);
    if from == Node::Client && to == Node::Client {
        sink.error(key.span(), format!("{path}: client->client is not a link"));
        return None;
    }
    Some((from, to))
}

/// The directed links in use, numbered in order of first use.
#[derive(Default)]
pub(super) struct LinkTable {
    ids: BTreeMap<(Node, Node), LinkId>,
    order: Vec<(Node, Node)>,
}

impl LinkTable {
    /// The id of the hop `from -> to`, created on first use.
    pub(super) fn get(&mut self, from: Node, to: Node) -> LinkId {
        if let Some(id) = self.ids.get(&(from, to)) {
            return *id;
        }
        let id = LinkId(u32::try_from(self.order.len()).unwrap_or(u32::MAX));
        self.ids.insert((from, to), id);
        self.order.push((from, to));
        id
    }

    /// The id of the hop `from -> to` if some call or workload uses it.
    pub(super) fn existing(&self, from: Node, to: Node) -> Option<LinkId> {
        self.ids.get(&(from, to)).copied()
    }

    /// The hops in use, by id.
    pub(super) fn pairs(&self) -> &[(Node, Node)] {
        &self.order
    }

    /// The ids of the hops `from -> to` for which `cuts(from, to)` holds, in id order.
    pub(super) fn cut(&self, cuts: impl Fn(Node, Node) -> bool) -> Vec<LinkId> {
        let ids = self.order.iter().enumerate();
        ids.filter(|(_, (f, t))| cuts(*f, *t))
            .map(|(i, _)| LinkId(u32::try_from(i).unwrap_or(u32::MAX)))
            .collect()
    }

    /// Each link's latency and loss: its own override, else the reverse pair's, else defaults.
    pub(super) fn resolve(self, net: &Network) -> Vec<Link> {
        let links = self.order.into_iter().map(|(from, to)| {
            let o = net
                .overrides
                .get(&(from, to))
                .or_else(|| net.overrides.get(&(to, from)));
            let latency = o
                .and_then(|o| o.latency.clone())
                .unwrap_or_else(|| net.latency.clone());
            let loss = o.and_then(|o| o.loss).unwrap_or(net.loss);
            Link {
                from,
                to,
                latency,
                loss,
            }
        });
        links.collect()
    }
}

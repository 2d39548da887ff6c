//! `[flow.NAME]`: business transactions of ordered steps, checked and compiled into ordinary
//! model parts exactly as `model::flow` describes, and the flows workloads start.
//!
//! Reading ([`read_flows`]) runs right after brokers, queues and topics are read, because a
//! flow adds queues and topics of its own: the topic `flow:NAME` of an `async` flow (after the
//! declared topics) and the step queues of a `choreography` flow (`flow:NAME/do:K`, then
//! `flow:NAME/undo:K`, after the declared queues and before any dead letter). Building
//! ([`Flows::build`]) runs after the declared services: each flow's entry endpoint
//! `ENTRY/flow:NAME` is appended after every declared endpoint (flows in file order), with
//! its step calls (`sync`: direct; `orchestration`: `via` the flow's broker, through request
//! queues like any `via` call), whose links come after every declared call's.
//!
//! The style decides which keys apply; a key given for a style it does not apply to is an
//! error, never ignored.

mod build;
#[cfg(test)]
mod tests;

pub(super) use build::Parts;

use std::ops::Range;

use toml::Spanned;

use super::Sink;
use super::messaging::{
    FlowChannel, MAX_DELIVERIES, MAX_PARTITIONS, MAX_PREFETCH, Messaging, count, positive_duration,
    unknown,
};
use super::raw::{RawFile, RawFlow, Val};
use super::resilience::read_resilience;
use super::routing::read_protocol;
use super::validate::{Names, check_name, closest, id32, read_timeout, resolve_endpoint, val_span};
use super::values::seg;
use crate::model::{
    BrokerId, DEFAULT_PARTITIONS, DEFAULT_VISIBILITY, EndpointId, FlowId, FlowStyle,
    MAX_FLOW_STEPS, Protocol, QueueId, Resilience, ServiceId, TopicId,
};
use crate::time::SimDuration;

/// How the names of flows' entry endpoints, queues and topics start; declared endpoints,
/// queues and topics may not.
pub(super) const FLOW_PREFIX: &str = "flow:";
/// `recovery` when not given.
pub(super) const DEFAULT_RECOVERY: SimDuration = SimDuration::from_secs(1);

/// The settings of a `sync` or `orchestration` flow's step calls (every `do` and `undo`).
struct StepCalls {
    protocol: Protocol,
    timeout: Option<SimDuration>,
    resilience: Resilience,
}

/// One step as read.
struct StepDraft {
    action: EndpointId,
    undo: Option<EndpointId>,
    reject: f64,
    /// Where `do` and `undo` are written (for sync-cycle messages).
    do_span: Range<usize>,
    undo_span: Range<usize>,
    do_queue: Option<QueueId>,
    undo_queue: Option<QueueId>,
}

/// A flow read without a problem that would keep it from being built.
struct FlowDraft {
    name: String,
    style: FlowStyle,
    entry: ServiceId,
    /// The id its entry endpoint will get: after every declared endpoint and the entry
    /// endpoints of the flows before it.
    entry_endpoint: EndpointId,
    /// `None` for `sync`.
    broker: Option<BrokerId>,
    steps: Vec<StepDraft>,
    reply_early: bool,
    recovery: SimDuration,
    calls: StepCalls,
    topic: Option<TopicId>,
}

/// Every flow of the file, read.
pub(super) struct Flows {
    /// Every flow's name, in file order.
    names: Vec<String>,
    /// Same index: the flow, unless a problem (already reported) keeps it from being built.
    drafts: Vec<Option<FlowDraft>>,
}

/// Reads every `[flow.NAME]`, adding the queues and topics of `async` and `choreography`
/// flows to `messaging`.
pub(super) fn read_flows(
    sink: &mut Sink,
    raw: &RawFile,
    names: &Names,
    messaging: &mut Messaging,
) -> Flows {
    let mut flows = Flows {
        names: Vec::new(),
        drafts: Vec::new(),
    };
    let mut next_endpoint = names.endpoint_names.len();
    for (key, f) in &raw.flow.0 {
        check_name(sink, key, "flow");
        let entry_endpoint = EndpointId(id32(next_endpoint));
        let draft = read_flow(sink, key, f, names, messaging, entry_endpoint);
        if draft.is_some() {
            next_endpoint += 1;
        }
        flows.names.push(key.get_ref().clone());
        flows.drafts.push(draft);
    }
    flows
}

/// One flow: every key is checked (so all problems are reported) before the flow's queues or
/// topic are added.
fn read_flow(
    sink: &mut Sink,
    key: &Spanned<String>,
    f: &RawFlow,
    names: &Names,
    messaging: &mut Messaging,
    entry_endpoint: EndpointId,
) -> Option<FlowDraft> {
    let name = key.get_ref();
    let path = format!("flow.{}", seg(name));
    // Keys of other styles (a sync flow's `via`, an async flow's `timeout`) are checked but
    // unused, so that one file can be compared across styles with `--vary …style=…`.
    let style = read_style(sink, key, f, &path);
    if let Some(v) = &f.fallback {
        let msg = format!(
            "{path}.fallback is not allowed on a flow: a step's failure must reach the flow \
             (which compensates or reports it), not be replaced by a fallback"
        );
        sink.error(v.span(), msg);
    }
    let entry = read_entry(sink, key, &f.entry, &path, names);
    let broker = match style {
        Some(s) if s.uses_broker() => read_via(sink, key, f, &path, s, messaging).map(Some),
        Some(s) if f.via.is_some() => {
            // A sync flow calls its steps directly; its `via` is still checked.
            read_via(sink, key, f, &path, s, messaging);
            Some(None)
        }
        _ => Some(None),
    };
    let steps = read_steps(sink, key, f, &path, names);
    let reply_early = read_reply(sink, &f.reply, &path);
    let recovery = positive_duration(sink, &f.recovery, &format!("{path}.recovery"));
    let calls = StepCalls {
        protocol: read_protocol(sink, &f.protocol, &format!("{path}.protocol"), names),
        timeout: read_timeout(sink, &f.timeout, &format!("{path}.timeout")),
        resilience: read_resilience(sink, f.into(), &path),
    };
    let keys = read_message_keys(sink, f, &path);
    let (style, entry, broker, steps) = (style?, entry?, broker?, steps?);
    let mut draft = FlowDraft {
        name: name.clone(),
        style,
        entry,
        entry_endpoint,
        broker,
        steps,
        reply_early,
        recovery: recovery.unwrap_or(DEFAULT_RECOVERY),
        calls,
        topic: None,
    };
    if let Some(broker) = broker {
        let channel = FlowChannel {
            flow: name,
            path: &path,
            broker,
            visibility: keys.visibility,
            max_deliveries: keys.max_deliveries,
        };
        draft.add_messaging(messaging, &channel, keys.partitions, keys.prefetch);
    }
    Some(draft)
}

/// `style`: required.
fn read_style(
    sink: &mut Sink,
    key: &Spanned<String>,
    f: &RawFlow,
    path: &str,
) -> Option<FlowStyle> {
    if f.style.is_none() {
        let msg = format!(
            "missing required key {path}.style; allowed: {}",
            FlowStyle::ALLOWED
        );
        sink.error(key.span(), msg);
        return None;
    }
    let text = sink.string(&f.style, &format!("{path}.style"))?;
    let style = FlowStyle::parse(&text);
    if style.is_none() {
        let known: Vec<String> = FlowStyle::ALLOWED.split(", ").map(String::from).collect();
        let hint =
            closest(&text, &known).map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
        let msg = format!(
            "unknown flow style \"{text}\" in {path}.style; allowed: {}{hint}",
            FlowStyle::ALLOWED
        );
        sink.error(val_span(&f.style), msg);
    }
    style
}

/// `entry`: required, a service.
fn read_entry(
    sink: &mut Sink,
    key: &Spanned<String>,
    v: &Val,
    path: &str,
    names: &Names,
) -> Option<ServiceId> {
    if v.is_none() {
        let msg = format!(
            "missing required key {path}.entry (the service that starts the flow; it \
             coordinates sync and orchestration flows)"
        );
        sink.error(key.span(), msg);
        return None;
    }
    let entry_path = format!("{path}.entry");
    let text = sink.string(v, &entry_path)?;
    if let Some(id) = names.services.get(&text) {
        return Some(*id);
    }
    let mut known: Vec<(&ServiceId, &String)> =
        names.services.iter().map(|(n, id)| (id, n)).collect();
    known.sort();
    let known: Vec<String> = known.into_iter().map(|(_, n)| n.clone()).collect();
    let mut msg = unknown("service", &text, &entry_path, &known, "[service.NAME]");
    if text.contains('/') {
        msg.push_str(
            "; entry names a service, not an endpoint (the flow gets an entry endpoint of its \
             own there)",
        );
    }
    sink.error(val_span(v), msg);
    None
}

/// `via` of a flow that travels through a broker: as given, or the only broker declared.
fn read_via(
    sink: &mut Sink,
    key: &Spanned<String>,
    f: &RawFlow,
    path: &str,
    style: FlowStyle,
    messaging: &Messaging,
) -> Option<BrokerId> {
    if f.via.is_some() {
        return messaging.broker_named(sink, &f.via, &format!("{path}.via"));
    }
    let brokers = messaging.broker_ids();
    let style = style.name();
    match brokers.len() {
        1 => brokers.values().next().copied(),
        0 => {
            let msg = format!(
                "{path} ({style} flow) needs a broker for its messages, but no [broker.NAME] is \
                 declared"
            );
            sink.error(key.span(), msg);
            None
        }
        _ => {
            let known: Vec<&str> = brokers.keys().map(String::as_str).collect();
            let msg = format!(
                "missing required key {path}.via (the broker carrying the flow's messages; \
                 several brokers are declared: {})",
                known.join(", ")
            );
            sink.error(key.span(), msg);
            None
        }
    }
}

/// `steps`: 1 to [`MAX_FLOW_STEPS`], each with a `do`; `None` if any step is unusable.
fn read_steps(
    sink: &mut Sink,
    key: &Spanned<String>,
    f: &RawFlow,
    path: &str,
    names: &Names,
) -> Option<Vec<StepDraft>> {
    let Some(raw) = &f.steps else {
        let msg = format!(
            "missing required key {path}.steps (the flow's steps in order, e.g. \
             [{{ do = \"inventory/reserve\", undo = \"inventory/release\" }}])"
        );
        sink.error(key.span(), msg);
        return None;
    };
    let items = raw.get_ref();
    let mut usable = !items.is_empty() && items.len() <= MAX_FLOW_STEPS;
    if !usable {
        let msg = format!(
            "{path}.steps has {} step(s); allowed: 1 to {MAX_FLOW_STEPS}",
            items.len()
        );
        sink.error(raw.span(), msg);
    }
    let mut steps = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (span, step) = (item.span(), item.get_ref());
        let step_path = format!("{path}.steps[{i}]");
        let reject = sink.probability(&step.reject, &format!("{step_path}.reject"));
        let undo = resolve_endpoint(sink, &step.undo, &format!("{step_path}.undo"), names);
        if step.do_.is_none() {
            let msg = format!("{step_path} is missing its action: add do = \"service/endpoint\"");
            sink.error(span, msg);
            usable = false;
            continue;
        }
        let action = resolve_endpoint(sink, &step.do_, &format!("{step_path}.do"), names);
        let (Some(action), true) = (action, step.undo.is_none() || undo.is_some()) else {
            usable = false;
            continue;
        };
        steps.push(StepDraft {
            action,
            undo,
            reject: reject.unwrap_or(0.0),
            do_span: val_span(&step.do_),
            undo_span: val_span(&step.undo),
            do_queue: None,
            undo_queue: None,
        });
    }
    usable.then_some(steps)
}

/// `reply`: `"outcome"` (default) or `"accepted"` (answer once the saga has started).
fn read_reply(sink: &mut Sink, v: &Val, path: &str) -> bool {
    let reply_path = format!("{path}.reply");
    match sink.string(v, &reply_path).as_deref() {
        None | Some("outcome") => false,
        Some("accepted") => true,
        Some(other) => {
            let msg =
                format!("unknown reply \"{other}\" in {reply_path}; allowed: outcome, accepted");
            sink.error(val_span(v), msg);
            false
        }
    }
}

/// The settings of the flow's topic or queues.
struct MessageKeys {
    partitions: Option<u32>,
    prefetch: Option<u32>,
    visibility: SimDuration,
    max_deliveries: Option<(u32, Range<usize>)>,
}

fn read_message_keys(sink: &mut Sink, f: &RawFlow, path: &str) -> MessageKeys {
    let p = |key: &str| format!("{path}.{key}");
    let max = count(
        sink,
        &f.max_deliveries,
        &p("max_deliveries"),
        1,
        MAX_DELIVERIES,
    );
    MessageKeys {
        partitions: count(sink, &f.partitions, &p("partitions"), 1, MAX_PARTITIONS),
        prefetch: count(sink, &f.prefetch, &p("prefetch"), 1, MAX_PREFETCH),
        visibility: positive_duration(sink, &f.visibility, &p("visibility"))
            .unwrap_or(DEFAULT_VISIBILITY),
        max_deliveries: max.map(|n| (n, val_span(&f.max_deliveries))),
    }
}

impl FlowDraft {
    /// The topic of an `async` flow, or the step queues of a `choreography` flow (every
    /// `do` queue in step order, then every `undo` queue).
    fn add_messaging(
        &mut self,
        messaging: &mut Messaging,
        channel: &FlowChannel,
        partitions: Option<u32>,
        prefetch: Option<u32>,
    ) {
        match self.style {
            FlowStyle::Async => {
                let actions: Vec<EndpointId> = self.steps.iter().map(|s| s.action).collect();
                let partitions = partitions.unwrap_or(DEFAULT_PARTITIONS);
                self.topic = Some(messaging.flow_topic(channel, partitions, &actions));
            }
            FlowStyle::Choreography => {
                let name = |what: &str, k: usize| format!("{FLOW_PREFIX}{}/{what}:{k}", self.name);
                for (i, step) in self.steps.iter_mut().enumerate() {
                    let queue = name("do", i + 1);
                    step.do_queue =
                        Some(messaging.flow_queue(channel, queue, prefetch, step.action));
                }
                for (i, step) in self.steps.iter_mut().enumerate() {
                    let Some(undo) = step.undo else { continue };
                    let queue = name("undo", i + 1);
                    step.undo_queue = Some(messaging.flow_queue(channel, queue, prefetch, undo));
                }
            }
            FlowStyle::Sync | FlowStyle::Orchestration => {}
        }
    }
}

impl Flows {
    /// The flow a workload's `flow` names: its id, entry service and entry endpoint. `None`
    /// when the name is unknown (reported here) or the flow has a problem (reported already).
    pub(super) fn resolve(
        &self,
        sink: &mut Sink,
        v: &Val,
        path: &str,
    ) -> Option<(FlowId, ServiceId, EndpointId)> {
        let text = sink.string(v, path)?;
        let Some(i) = self.names.iter().position(|n| *n == text) else {
            let msg = unknown("flow", &text, path, &self.names, "[flow.NAME]");
            sink.error(val_span(v), msg);
            return None;
        };
        let draft = self.drafts.get(i)?.as_ref()?;
        let built_before = self.drafts[..i].iter().filter(|d| d.is_some()).count();
        Some((
            FlowId(id32(built_before)),
            draft.entry,
            draft.entry_endpoint,
        ))
    }
}

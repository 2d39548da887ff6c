//! Building flows: each flow's entry endpoint, appended after the declared endpoints, with
//! the step calls of `sync` and `orchestration` flows and the first publish of `async` and
//! `choreography` ones.

use std::ops::Range;

use super::{FLOW_PREFIX, FlowDraft, Flows, StepDraft};
use crate::dist::Dist;
use crate::model::{
    Call, Destination, Endpoint, EndpointId, Flow, FlowStep, FlowStyle, Node, Service,
};
use crate::scenario::cycles::CallEdge;
use crate::scenario::links::LinkTable;
use crate::scenario::messaging::Messaging;
use crate::scenario::validate::id32;

/// What [`Flows::build`] appends to.
pub(in crate::scenario) struct Parts<'a> {
    pub services: &'a mut [Service],
    pub endpoints: &'a mut Vec<Endpoint>,
    /// Each endpoint's `publish`/`send` destinations (same index), linked later.
    pub sends: &'a mut Vec<Vec<Destination>>,
    pub links: &'a mut LinkTable,
    pub messaging: &'a mut Messaging,
    pub edges: &'a mut Vec<CallEdge>,
}

impl Flows {
    /// Appends each flow's entry endpoint (to `endpoints`, to its service's endpoints, and its
    /// destinations to `sends`), with its step calls and their sync-cycle edges; returns the
    /// model's flows.
    pub(in crate::scenario) fn build(self, parts: Parts) -> Vec<Flow> {
        let Parts {
            services,
            endpoints,
            sends,
            links,
            messaging,
            edges,
        } = parts;
        let mut flows = Vec::new();
        for draft in self.drafts.into_iter().flatten() {
            let id = EndpointId(id32(endpoints.len()));
            debug_assert_eq!(
                id, draft.entry_endpoint,
                "entry endpoints follow the declared"
            );
            let mut endpoint = Endpoint {
                name: format!("{FLOW_PREFIX}{}", draft.name),
                service: draft.entry,
                work: Dist::zero(),
                fail: 0.0,
                parallel: false,
                calls: Vec::new(),
                routed: Vec::new(),
                publish: Vec::new(),
                effect: false,
                idempotent: false,
                version_of: None,
            };
            let steps = match draft.style {
                FlowStyle::Sync | FlowStyle::Orchestration => {
                    let caller = StepCaller {
                        draft: &draft,
                        endpoints,
                        links,
                        messaging,
                    };
                    let (calls, steps, step_edges) = caller.calls(id);
                    endpoint.calls = calls;
                    edges.extend(step_edges);
                    steps
                }
                FlowStyle::Async | FlowStyle::Choreography => {
                    draft.steps.iter().map(message_step).collect()
                }
            };
            let first = match (draft.topic, draft.steps.first().and_then(|s| s.do_queue)) {
                (Some(topic), _) => vec![Destination::Topic(topic)],
                (None, Some(queue)) => vec![Destination::Queue(queue)],
                (None, None) => Vec::new(),
            };
            sends.push(first);
            endpoints.push(endpoint);
            if let Some(service) = services.get_mut(draft.entry.0 as usize) {
                service.endpoints.push(id);
            }
            flows.push(Flow {
                name: draft.name,
                style: draft.style,
                entry: draft.entry,
                entry_endpoint: id,
                steps,
                reply_early: draft.reply_early,
                recovery: draft.recovery,
                topic: draft.topic,
            });
        }
        flows
    }
}

/// A step of an `async` or `choreography` flow: no calls (`do_call` 0, never read).
fn message_step(s: &StepDraft) -> FlowStep {
    FlowStep {
        action: s.action,
        undo: s.undo,
        reject: s.reject,
        do_call: 0,
        undo_call: None,
        do_queue: s.do_queue,
        undo_queue: s.undo_queue,
    }
}

/// Builds the step calls of a `sync` or `orchestration` flow's coordinator.
struct StepCaller<'a> {
    draft: &'a FlowDraft,
    endpoints: &'a [Endpoint],
    links: &'a mut LinkTable,
    messaging: &'a mut Messaging,
}

impl StepCaller<'_> {
    /// Every step's `do`, then the `undo` of each step that has one, in step order; the
    /// steps with the indices of their calls; and a sync-cycle edge per call.
    fn calls(mut self, from: EndpointId) -> (Vec<Call>, Vec<FlowStep>, Vec<CallEdge>) {
        let mut calls = Vec::new();
        let mut edges = Vec::new();
        let draft = self.draft;
        for s in &draft.steps {
            calls.push(self.call(s.action));
            edges.push(edge(from, s.action, &s.do_span));
        }
        let mut steps = Vec::new();
        for (i, s) in draft.steps.iter().enumerate() {
            let undo_call = s.undo.map(|undo| {
                calls.push(self.call(undo));
                edges.push(edge(from, undo, &s.undo_span));
                call_index(calls.len() - 1)
            });
            steps.push(FlowStep {
                action: s.action,
                undo: s.undo,
                reject: s.reject,
                do_call: call_index(i),
                undo_call,
                do_queue: None,
                undo_queue: None,
            });
        }
        (calls, steps, edges)
    }

    /// One call from the entry service to `to`: direct (`sync`) or via the flow's broker
    /// (`orchestration`), with the flow's call settings.
    fn call(&mut self, to: EndpointId) -> Call {
        let d = self.draft;
        let target = self
            .endpoints
            .get(to.0 as usize)
            .map_or(d.entry, |e| e.service);
        let broker = d.broker.filter(|_| d.style == FlowStyle::Orchestration);
        let (callee, via) = match broker {
            Some(b) => (Node::Broker(b), Some(self.messaging.request_queue(b, to))),
            None => (Node::Service(target), None),
        };
        let caller = Node::Service(d.entry);
        Call {
            to,
            link: self.links.get(caller, callee),
            reply_link: self.links.get(callee, caller),
            protocol: d.calls.protocol,
            timeout: d.calls.timeout,
            resilience: d.calls.resilience,
            via,
            route: None,
            fallback_call: None,
        }
    }
}

fn edge(from: EndpointId, to: EndpointId, span: &Range<usize>) -> CallEdge {
    CallEdge {
        from: from.0,
        to: to.0,
        span: span.clone(),
    }
}

/// A call's index in the entry endpoint's calls: at most 2 × [`MAX_FLOW_STEPS`](crate::model::MAX_FLOW_STEPS).
fn call_index(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

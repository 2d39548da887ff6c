//! What a flow's entry endpoint sets off, for `explain`: its steps are reached only while no
//! earlier step refuses the instance (`reject`), and a step's undo runs only when it applied
//! and a later step refused. The parser compiles a flow into calls (`sync`, `orchestration`:
//! every `do`, then every `undo`, made one at a time by the engine's flow logic) or queues
//! (`choreography`: each step's success sends the next command), so the plain call walk would
//! count every step and every undo once per request. `async` is a topic with a group per
//! step, which the message walk counts as it is (no coordination, no compensation).

use sim_core::Model;
use sim_core::model::{BrokerId, EndpointId, FlowStyle};

/// A flow entry endpoint's visits, in place of the plain walk's.
#[derive(Clone, Debug, Default)]
pub(super) struct FlowEntry {
    /// Probability each of the endpoint's calls (by index into `calls`) is made; empty for
    /// endpoints that are not a `sync` or `orchestration` coordinator.
    pub call_weights: Vec<f64>,
    /// `choreography`: the commands after the first (which the entry sends itself), as the
    /// consumer, its broker and the probability per instance.
    pub messages: Vec<(EndpointId, BrokerId, f64)>,
}

/// Per endpoint, what it sets off as a flow's entry (default: nothing special).
pub(super) fn flow_entries(m: &Model) -> Vec<FlowEntry> {
    let mut entries = vec![FlowEntry::default(); m.endpoints.len()];
    for flow in &m.flows {
        let refuse: Vec<f64> = flow.steps.iter().map(|s| s.reject).collect();
        // reach[k]: no step before k refused; undo[j]: j applied and a later step refused.
        let mut reach = Vec::with_capacity(refuse.len());
        let mut p = 1.0;
        for r in &refuse {
            reach.push(p);
            p *= 1.0 - r;
        }
        let undo: Vec<f64> = (0..refuse.len())
            .map(|j| {
                let later: f64 = refuse[j + 1..].iter().map(|r| 1.0 - r).product();
                reach[j] * (1.0 - refuse[j]) * (1.0 - later)
            })
            .collect();
        let entry = &mut entries[flow.entry_endpoint.0 as usize];
        match flow.style {
            FlowStyle::Sync | FlowStyle::Orchestration => {
                let e = m.endpoint(flow.entry_endpoint);
                entry.call_weights = vec![0.0; e.calls.len()];
                for (k, step) in flow.steps.iter().enumerate() {
                    entry.call_weights[step.do_call as usize] = reach[k];
                    if let Some(u) = step.undo_call {
                        entry.call_weights[u as usize] = undo[k];
                    }
                }
            }
            FlowStyle::Choreography => {
                for (k, step) in flow.steps.iter().enumerate() {
                    let queued = |q: Option<sim_core::model::QueueId>, p: f64| {
                        q.and_then(|q| {
                            let q = m.queue(q);
                            q.consumer.as_ref().map(|c| (c.endpoint, q.broker, p))
                        })
                    };
                    if k > 0 {
                        entry.messages.extend(queued(step.do_queue, reach[k]));
                    }
                    entry.messages.extend(queued(step.undo_queue, undo[k]));
                }
            }
            FlowStyle::Async => {}
        }
    }
    entries
}

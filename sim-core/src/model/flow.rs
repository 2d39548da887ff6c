//! Flows: one business transaction of ordered steps, each with a compensation, run in one of
//! four communication styles.
//!
//! The parser compiles a flow into ordinary model parts, so the engine's calls, messaging,
//! resilience, faults and tracing all apply to it unchanged:
//!
//! - an **entry endpoint** `ENTRY/flow:NAME` on the entry service, which workloads call. For
//!   `sync` and `orchestration` it is the coordinator: its `calls` are every step's `do`, then
//!   every step's `undo` (direct calls for `sync`, calls `via` the broker for
//!   `orchestration`), made one at a time by the engine's flow logic, not in sequence. For
//!   `async` it publishes the flow's one event to the flow's topic; for `choreography` it sends
//!   the first step's command to that step's queue.
//! - for `async`, a topic `flow:NAME` with one consumer group per step (`step1`, `step2`, …);
//! - for `choreography`, a queue per step for its `do` (`flow:NAME/do:1`) and one per step
//!   with an `undo` (`flow:NAME/undo:1`).
//!
//! A step's `do` succeeding at the step's service *applies* its effect; its `undo` succeeding
//! *compensates* it. What the flow's instance ends as is judged from those effects, not from
//! what any caller saw.

use crate::time::SimDuration;

use super::{EndpointId, QueueId, ServiceId, TopicId};

/// Index of a flow in [`super::Model::flows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowId(pub u32);

/// Most steps a flow may have (step sets are kept as bit masks).
pub const MAX_FLOW_STEPS: usize = 32;

/// How the steps of a flow are driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowStyle {
    /// The entry service calls each step in turn and, on a failure, calls the undos of the
    /// steps it saw applied, in reverse. The client waits for the outcome.
    Sync,
    /// The entry publishes one event; every step reacts on its own. No coordination, no
    /// compensation. The client is answered once the event is published.
    Async,
    /// Each step's success sends the next step's command; a failure sends the compensation of
    /// the step before, which sends the one before it, and so on. No coordinator. The client
    /// is answered once the first command is sent.
    Choreography,
    /// A coordinator commands each step over request-reply and compensates in reverse on a
    /// failure; its saga state is durable, so a coordinator crash resumes the saga (after
    /// `recovery`) instead of abandoning it. The client waits for the outcome.
    Orchestration,
}

impl FlowStyle {
    pub const ALLOWED: &'static str = "sync, async, choreography, orchestration";

    pub fn parse(text: &str) -> Option<FlowStyle> {
        match text {
            "sync" => Some(FlowStyle::Sync),
            "async" => Some(FlowStyle::Async),
            "choreography" => Some(FlowStyle::Choreography),
            "orchestration" => Some(FlowStyle::Orchestration),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FlowStyle::Sync => "sync",
            FlowStyle::Async => "async",
            FlowStyle::Choreography => "choreography",
            FlowStyle::Orchestration => "orchestration",
        }
    }

    /// Whether the steps travel as messages through a broker (`via` is required).
    pub fn uses_broker(self) -> bool {
        !matches!(self, FlowStyle::Sync)
    }
}

/// A flow, compiled.
#[derive(Clone, Debug)]
pub struct Flow {
    pub name: String,
    pub style: FlowStyle,
    pub entry: ServiceId,
    /// `ENTRY/flow:NAME`: what workloads with `flow = "NAME"` call.
    pub entry_endpoint: EndpointId,
    pub steps: Vec<FlowStep>,
    /// `sync` and `orchestration` only: answer the client "accepted" as soon as the saga has
    /// started, instead of its outcome (`reply = "accepted"`; default `"outcome"`).
    pub reply_early: bool,
    /// `orchestration`: how long after the coordinator's crash the saga resumes (from its
    /// durable state) on a replica of the entry service that is up.
    pub recovery: SimDuration,
    /// `async`: the topic carrying the flow's event (group `i` is step `i`).
    pub topic: Option<TopicId>,
}

/// One step of a flow.
#[derive(Clone, Debug)]
pub struct FlowStep {
    /// The step's action: success applies its effect.
    pub action: EndpointId,
    /// Its compensation, if it has one.
    pub undo: Option<EndpointId>,
    /// Probability that this step's business rule refuses a flow instance (card declined,
    /// out of stock): drawn once per instance, so retries and redeliveries meet the same
    /// answer. The refusal is an `error` at the step, and nothing is applied.
    pub reject: f64,
    /// `sync`/`orchestration`: index of the `do` call and of the `undo` call among the entry
    /// endpoint's calls.
    pub do_call: u16,
    pub undo_call: Option<u16>,
    /// `choreography`: the queues that carry the step's command and its compensation.
    pub do_queue: Option<QueueId>,
    pub undo_queue: Option<QueueId>,
}

//! One request's life, span by span: what `meshsim trace` shows.
//!
//! A trace is recorded by re-running the scenario with the same seed and marking one client
//! request; everything that request causes (hops, queue waits, work, downstream calls,
//! retries, timeouts) is recorded as spans. The run itself is unchanged by tracing.
//!
//! Messages are followed too: a publish (its round trip to the broker), each copy's wait in
//! its queue or partition, every delivery to a consumer and the consumer's work, the ack or
//! nack, redeliveries and dead-lettering; a request-reply call over a broker; and a flow
//! instance through every step and compensation its request set going, whatever the style.
//!
//! Every span has an id and, but for the request's own, the id of the span it belongs to, so
//! a trace is one tree (what OpenTelemetry viewers draw); the depth is that tree's depth.

use crate::time::{SimDuration, SimTime};

/// Most spans one trace keeps. A request whose retries multiply down a call chain can cause
/// millions of attempts (retries 15 on five hops: 16^5); past this cap the trace stops
/// recording new spans (the request's own span is still recorded) and says it is
/// truncated, so memory stays near 100,000 spans' worth (~30 MB) instead of gigabytes.
pub const MAX_TRACE_SPANS: usize = 100_000;

/// Which request to trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceTarget {
    /// The K-th client request of the run (1-based, in the order requests were sent, over
    /// all workloads, warmup included).
    Request(u64),
    /// The successful request (sent after warmup) with the highest latency.
    Slowest,
    /// The first request (sent after warmup) that failed.
    Failed,
    /// The client request that started the K-th flow instance (1-based, in start order over
    /// all flows, warmup included): the trace follows the instance through every step and
    /// compensation.
    FlowInstance(u64),
    /// The client request that started the earliest flow instance (after warmup) judged
    /// `inconsistent`.
    Inconsistent,
}

/// What a span is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// The client's whole request, first attempt to outcome.
    Request,
    /// A downstream call as its caller sees it, retries included.
    Call,
    /// A message crossing a link (request or reply).
    Network,
    /// Waiting in a replica's accept queue.
    Queue,
    /// Holding a worker for the endpoint's work.
    Work,
    /// An attempt that ended by its timeout.
    Timeout,
    /// A replica serving one request, arrival to answer: the parent of its queue wait, work,
    /// calls and publishes. Only the OTLP export shows it (the waterfall and Chrome's rows
    /// show its parts).
    Serve,
    /// A replica serving one delivery of a message (a consumer), arrival to ack or nack.
    /// Like [`SpanKind::Serve`], only the OTLP export shows it.
    Consume,
    /// A publish: the message's hop to the broker, its persisting, and the broker's ack
    /// back, while the publisher holds its worker.
    Publish,
    /// A consumer's ack or nack crossing back to the broker.
    Ack,
    /// A message copy waiting in its queue or partition for a consumer (once per delivery).
    Wait,
    /// A message copy that used up its deliveries, moved to the dead-letter queue (an
    /// instant).
    DeadLetter,
    /// Why a request or call was turned away (an instant): full queue, no rate-limit token,
    /// shed, open breaker, full bulkhead; the cause is in the outcome and the reason in the
    /// name.
    Refused,
}

impl SpanKind {
    pub fn name(self) -> &'static str {
        match self {
            SpanKind::Request => "request",
            SpanKind::Call => "call",
            SpanKind::Network => "network",
            SpanKind::Queue => "queue",
            SpanKind::Work => "work",
            SpanKind::Timeout => "timeout",
            SpanKind::Serve => "serve",
            SpanKind::Consume => "consume",
            SpanKind::Publish => "publish",
            SpanKind::Ack => "ack",
            SpanKind::Wait => "wait",
            SpanKind::DeadLetter => "dead-letter",
            SpanKind::Refused => "refused",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub kind: SpanKind,
    /// What: `gateway/checkout`, `client->gateway`, `gateway/checkout -> order/place`.
    pub name: String,
    /// Where: `client:checkout`, `gateway#1`, or the link for network spans.
    pub track: String,
    /// Nesting: 0 for the request, 1 for what its first hop causes, and so on down.
    pub depth: u32,
    pub start: SimTime,
    pub end: SimTime,
    /// `ok`, `degraded` or the failure cause, for requests and calls.
    pub outcome: Option<String>,
    /// Unique within the trace (not an index into `spans`: ids are taken when a span
    /// starts, spans are kept when they end).
    pub id: u32,
    /// The span this one belongs to: `None` for the request's own span (the root); every
    /// other span is recorded with its parent.
    pub parent: Option<u32>,
    /// What the name does not say, as `meshsim.*` attributes of the OTLP export: the
    /// delivery number, the flow step, the reason for a refusal.
    pub attributes: Vec<(&'static str, String)>,
}

impl Span {
    pub fn duration(&self) -> SimDuration {
        self.end.since(self.start)
    }

    /// The value of the `meshsim.*` attribute `key`, if the span has it.
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A traced request.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub scenario: String,
    pub seed: u64,
    /// 1-based index of the request in send order.
    pub request: u64,
    /// For `--flow-instance` and `--inconsistent`: the instance's number (1-based, in start
    /// order over all flows, warmup included).
    pub flow_instance: Option<u64>,
    pub workload: String,
    /// `ok`, `degraded`, a failure cause, or `in flight` if it had none when the run ended.
    pub outcome: String,
    pub start: SimTime,
    pub latency: SimDuration,
    /// In the order they ended.
    pub spans: Vec<Span>,
    /// The request caused more than [`MAX_TRACE_SPANS`] spans: only the first ones (and the
    /// request's own) were kept.
    pub truncated: bool,
}

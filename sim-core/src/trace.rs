//! One request's life, span by span: what `meshsim trace` shows.
//!
//! A trace is recorded by re-running the scenario with the same seed and marking one client
//! request; everything that request causes (hops, queue waits, work, downstream calls,
//! retries, timeouts) is recorded as spans. The run itself is unchanged by tracing.

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
}

impl Span {
    pub fn duration(&self) -> SimDuration {
        self.end.since(self.start)
    }
}

/// A traced request.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub scenario: String,
    pub seed: u64,
    /// 1-based index of the request in send order.
    pub request: u64,
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

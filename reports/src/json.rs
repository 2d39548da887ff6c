//! The JSON report (`meshsim run --json`), as specified in CONTRACT.md.
//!
//! [`Report`] is the plain data every printer reads: the run's numbers already summarised
//! (latencies in milliseconds, rates per second) and rounded, plus the evaluated
//! `[[expect]]`s. Its fields serialise in declaration order, which is the order of the
//! contract; per-name sections (`workloads`, `endpoints`, `services`, `flows`, and the
//! brokers, queues and topics of `messages`) are [`Named`] lists that serialise as JSON objects
//! in model order. The `messages`, `flows` and `timeline` sections live in `json/`.
//!
//! Determinism: floats are rounded to [`DECIMALS`] decimals and non-finite values become 0
//! before serialisation, and no `HashMap` is involved, so the same results give the same bytes.
//! `serde_json` is built with `preserve_order`, so a [`serde_json::Value`] made from a report
//! keeps model order too (and prints exactly like [`write_json_report`]).

use std::io;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use sim_core::Model;
use sim_core::model::{Arrival, FaultKind};
use sim_core::results::{
    BreakerStats, Cause, FailureCounts, FaultStats, LatencySummary, RunResults,
};

use crate::expect::{ExpectResult, evaluate};

mod flows;
mod messages;
mod timeline;

pub use flows::{FlowReport, step_label, step_labels, step_set};
pub use messages::{BrokerReport, ChannelName, ChannelReport, MessagesReport, TopicReport};
pub use timeline::{
    DepthTimeline, ServiceTimeline, TimelineReport, TopicTimeline, WorkloadTimeline,
};

/// Decimals kept for every float in the report.
pub const DECIMALS: i32 = 6;

/// Rounds to [`DECIMALS`] decimals; NaN and infinities become 0 (JSON cannot carry them, and
/// a figure that could not be measured is reported as 0).
pub fn round(x: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    let scale = 10f64.powi(DECIMALS);
    let r = (x * scale).round() / scale;
    // Avoid printing "-0.0".
    if r == 0.0 { 0.0 } else { r }
}

/// A list of `(name, value)` pairs that serialises as a JSON object in list order.
#[derive(Clone, Debug, PartialEq)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named(Vec::new())
    }
}

impl<T> Named<T> {
    /// The entry called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// The whole JSON report. Field order is the contract's order.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Version of meshsim that produced the report: a run is reproduced from seed + version.
    pub meshsim: String,
    pub scenario: String,
    pub seed: u64,
    /// When the run stopped, in seconds of simulated time.
    pub sim_time_s: f64,
    /// Events the kernel handled.
    pub events: u64,
    pub workloads: Named<WorkloadReport>,
    /// Keyed `service/endpoint`.
    pub endpoints: Named<EndpointReport>,
    pub services: Named<ServiceReport>,
    pub calls: CallsReport,
    pub messages: MessagesReport,
    pub flows: Named<FlowReport>,
    pub faults: Vec<FaultReport>,
    /// Every circuit breaker that changed state.
    pub breakers: Vec<BreakerReport>,
    /// Counts and latencies per time bucket: where a fault window shows in numbers.
    pub timeline: TimelineReport,
    pub expect: Vec<ExpectResult>,
    /// The `--set` arguments the run applied to the file, as typed; not part of the JSON.
    /// With them, the expectations are the lesson of the file as written, not of this variant,
    /// and the text report says so when one fails.
    #[serde(skip)]
    pub overrides: Vec<String>,
    /// The scenario's `description`; not part of the JSON (which reports numbers), shown under
    /// the title of report.html so a page opened on its own says what was simulated.
    #[serde(skip)]
    pub description: String,
}

/// Latency figures in milliseconds. Every field is `None` (`null` in the JSON, `-` in the
/// text) when nothing was measured: the latency of no request is absent, not 0 ms. The keys
/// stay, so a path such as `latency_ms.p99` always exists and an `[[expect]]` on it can say
/// "no samples" rather than "no such key".
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencyMs {
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

impl LatencyMs {
    /// Whether anything was measured.
    pub fn measured(&self) -> bool {
        self.max.is_some()
    }
}

impl From<Option<LatencySummary>> for LatencyMs {
    fn from(s: Option<LatencySummary>) -> Self {
        let Some(s) = s else {
            return LatencyMs::default();
        };
        LatencyMs {
            mean: Some(round(s.mean)),
            p50: Some(round(s.p50)),
            p90: Some(round(s.p90)),
            p99: Some(round(s.p99)),
            p999: Some(round(s.p999)),
            max: Some(round(s.max)),
        }
    }
}

/// Failures of a workload's requests, by root cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FailedBy {
    pub timeout: u64,
    pub rejected: u64,
    pub circuit_open: u64,
    pub unavailable: u64,
    pub error: u64,
    /// Refused by a token bucket (`rate_limit`), the service's or the client's.
    pub rate_limited: u64,
    /// Dropped by a service's load shedding (`shed`) before it started.
    pub shed: u64,
}

impl From<FailureCounts> for FailedBy {
    fn from(f: FailureCounts) -> Self {
        FailedBy {
            timeout: f.get(Cause::Timeout),
            rejected: f.get(Cause::Rejected),
            circuit_open: f.get(Cause::CircuitOpen),
            unavailable: f.get(Cause::Unavailable),
            error: f.get(Cause::Error),
            rate_limited: f.get(Cause::RateLimited),
            shed: f.get(Cause::Shed),
        }
    }
}

impl FailedBy {
    /// `(cause name, count)` in the fixed order of [`Cause::ALL`].
    pub fn by_cause(&self) -> [(&'static str, u64); 7] {
        [
            (Cause::Timeout.name(), self.timeout),
            (Cause::Rejected.name(), self.rejected),
            (Cause::CircuitOpen.name(), self.circuit_open),
            (Cause::Unavailable.name(), self.unavailable),
            (Cause::Error.name(), self.error),
            (Cause::RateLimited.name(), self.rate_limited),
            (Cause::Shed.name(), self.shed),
        ]
    }
}

/// One workload, seen from its clients. `sent = ok + degraded + failed + in_flight`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkloadReport {
    pub sent: u64,
    pub ok: u64,
    /// Successes that a fallback answered somewhere along the way (not counted in `ok`).
    pub degraded: u64,
    pub failed: u64,
    pub failed_by: FailedBy,
    pub in_flight: u64,
    /// Successful requests that ended inside the measured window [warmup, duration), per
    /// second of it: never more than the window served.
    pub throughput_rps: f64,
    /// Of successful requests only.
    pub latency_ms: LatencyMs,
}

/// One endpoint, counted at the replicas serving it. `completed` has one meaning here and in
/// every table: requests a replica finished, whatever the answer, so `completed = ok +
/// failed`; a rejected request never completed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointReport {
    pub arrivals: u64,
    pub completed: u64,
    pub rejected: u64,
    /// Completed with a success (a fallback's degraded answer included).
    pub ok: u64,
    /// Completed with an error (its own `fail`, or a failed downstream call).
    pub failed: u64,
    pub latency_ms: LatencyMs,
    /// Requests served, or still at a replica at the end, after their caller gave up.
    pub abandoned: u64,
}

/// One service over all its replicas.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceReport {
    pub arrivals: u64,
    pub rejected: u64,
    /// Requests refused by the service's token bucket (`rate_limit`).
    pub rate_limited: u64,
    /// Requests dropped by the service's load shedding (`shed`).
    pub shed: u64,
    pub utilization: f64,
    pub mean_in_system: f64,
    pub mean_queued: f64,
    /// Abandoned requests over the service's endpoints.
    pub abandoned: u64,
    /// The most replicas in the pool at once (a fixed service: its `replicas`).
    pub replicas_max: u32,
    /// Replicas in the pool × seconds over the measured window: what the fleet cost.
    pub replica_seconds: f64,
    /// Autoscaler decisions that changed the desired count.
    pub scale_events: u64,
    /// What the autoscaler did; only for an autoscaled service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<AutoscaleReport>,
    /// With versions: `base`, then each version (absent for a service without versions).
    #[serde(skip_serializing_if = "Named::is_empty")]
    pub versions: Named<VersionReport>,
    /// Configuration, for the text report; not part of the JSON.
    #[serde(skip)]
    pub replicas: u32,
    #[serde(skip)]
    pub workers: u32,
    /// Which of `replicas` and `workers` the file left at 1, for a warning; not in the JSON.
    #[serde(skip)]
    pub default_keys: Vec<&'static str>,
}

/// One version of a service (`services.NAME.versions.V`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VersionReport {
    pub replicas: u32,
    /// Percent of the service's traffic at the end of the run (0 after a rollback).
    pub weight: f64,
    /// Requests that reached its replicas, retries included.
    pub arrivals: u64,
    /// Arrivals not answered with a success: an error (its own or downstream), a full queue,
    /// a rate limit or shedding, a refusal by a crashed replica.
    pub failed: u64,
    /// At its replicas, of the requests it answered successfully.
    pub latency_ms: LatencyMs,
    /// When the automatic rollback set its weight to 0; `null` if it did not.
    pub rolled_back_at_s: Option<f64>,
}

impl VersionReport {
    fn of(v: &sim_core::results::VersionStats) -> VersionReport {
        VersionReport {
            replicas: v.replicas,
            weight: round(v.weight),
            arrivals: v.arrivals,
            failed: v.failed,
            latency_ms: LatencySummary::of(&v.latency).into(),
            rolled_back_at_s: v.rolled_back_at.map(|t| round(t.as_secs_f64())),
        }
    }
}

/// An autoscaled service's decisions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AutoscaleReport {
    pub metric: &'static str,
    pub target: f64,
    /// Time in the measured window with fewer replicas ready than desired.
    pub under_provisioned_s: f64,
    /// Every decision that changed the desired count (the first 10,000).
    pub decisions: Vec<ScaleDecisionReport>,
}

/// One scale decision: when, from and to how many replicas, and the metric that drove it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScaleDecisionReport {
    pub at_s: f64,
    pub from: u32,
    pub to: u32,
    /// The metric per ready replica averaged over the window.
    pub metric: f64,
    /// Replicas ready when it was taken.
    pub ready: u32,
    /// Replicas ready on average over the window (what the formula multiplies).
    pub ready_mean: f64,
}

/// Call attempts over the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CallsReport {
    pub attempts: u64,
    pub retries: u64,
    /// Retries made by sidecars, apart from the applications' `retries` (both in `attempts`).
    pub mesh_retries: u64,
    pub timeouts: u64,
    pub circuit_open: u64,
    /// Of `attempts`, those made by clients (their requests and retries) and by services.
    pub client_attempts: u64,
    pub service_attempts: u64,
    /// Every attempt below the client (client attempts, retries included, and every
    /// service-to-service attempt) per client request sent; 1.0 = one attempt per request.
    pub amplification: f64,
    /// Calls refused by a full bulkhead.
    pub bulkhead_full: u64,
    /// Failed calls answered by a fallback.
    pub fallbacks: u64,
    /// Retries not made because the retry budget was empty.
    pub budget_exhausted: u64,
}

/// One injected fault and what it hit: scheduled faults in file order, then one `chaos`
/// entry per chaos target.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FaultReport {
    /// `crash`, `slow`, `error`, `loss`, `partition`, `broker-down`, `duplicate`, or `chaos`.
    pub kind: String,
    /// As written in the scenario.
    pub target: String,
    pub at_s: f64,
    /// How long it was active; an open-ended fault runs to the end of the run
    /// (`sim_time_s - at_s`), so this is never missing.
    pub for_s: f64,
    /// What it actually hit; 0 means the fault missed.
    pub affected: u64,
    /// Crashes that happened (chaos entries); 0 for scheduled faults.
    pub crashes: u64,
    /// The fault's strength as the text report prints it (`×10`, `rate 0.2`), from the model;
    /// not part of the JSON.
    #[serde(skip)]
    pub detail: String,
    /// True when the fault had no `for` (active to the end of the run); not part of the JSON.
    #[serde(skip)]
    pub open_ended: bool,
}

impl FaultReport {
    fn of(f: &FaultStats, sim_time_s: f64) -> FaultReport {
        let at_s = round(f.at.as_secs_f64());
        let for_s = match f.duration {
            Some(d) => d.as_secs_f64(),
            None => (sim_time_s - at_s).max(0.0),
        };
        FaultReport {
            kind: f.kind.clone(),
            target: f.target.clone(),
            at_s,
            for_s: round(for_s),
            affected: f.affected,
            crashes: f.crashes,
            detail: String::new(),
            open_ended: f.duration.is_none(),
        }
    }

    /// Whether the fault was active at some time in `[from_s, to_s)`.
    pub fn active_during(&self, from_s: f64, to_s: f64) -> bool {
        self.at_s < to_s && self.at_s + self.for_s > from_s
    }
}

/// The strength of a scheduled fault as the text report prints it.
fn fault_detail(kind: &FaultKind) -> String {
    match kind {
        FaultKind::Slow { factor, .. } | FaultKind::SlowLink { factor, .. } => {
            format!("×{}", short(*factor))
        }
        FaultKind::Error { rate, .. }
        | FaultKind::Loss { rate, .. }
        | FaultKind::Duplicate { rate, .. } => {
            format!("rate {}", short(*rate))
        }
        FaultKind::Crash { .. } | FaultKind::Partition { .. } | FaultKind::BrokerDown { .. } => {
            String::new()
        }
    }
}

/// A number without trailing zeros (`10`, `0.25`).
fn short(x: f64) -> String {
    let text = format!("{:.6}", round(x));
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One circuit breaker's history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakerReport {
    /// `caller -> target`, e.g. `gateway/checkout -> payment/charge`.
    pub site: String,
    /// The caller replica (`gateway#0`), or the workload for a client's breaker.
    pub owner: String,
    /// Transitions to `open`.
    pub opened: u64,
    /// Every state change, in time order.
    pub transitions: Vec<TransitionReport>,
}

/// One state change of a circuit breaker.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransitionReport {
    pub t_s: f64,
    /// `open`, `half-open` or `closed`.
    pub state: String,
}

impl BreakerReport {
    fn of(b: &BreakerStats) -> BreakerReport {
        BreakerReport {
            site: b.site.clone(),
            owner: b.owner.clone(),
            opened: b.opened,
            transitions: b
                .transitions
                .iter()
                .map(|(t, s)| TransitionReport {
                    t_s: round(t.as_secs_f64()),
                    state: s.name().to_string(),
                })
                .collect(),
        }
    }
}

impl Report {
    /// Whether some workload's load changes over time (a rate schedule, a sine, a rate file,
    /// spikes, a users schedule): read from the timeline's own mark, not kept twice. The text
    /// then shows the run over time, where a spike and what outlives it can be read.
    pub fn load_varies(&self) -> bool {
        self.timeline.workloads.iter().any(|(_, t)| t.varying)
    }

    /// Summarises `results` and evaluates `model.expects` against the summary. The report
    /// is serialised to a JSON value only when there are expectations to look up in it: for
    /// a model of 1,000 services that value is a tree of every figure of the run.
    pub fn build(results: &RunResults, model: &Model) -> Report {
        let mut report = Report::described(results, model);
        if !model.expects.is_empty() {
            report.expect = evaluate(&model.expects, &report.to_value());
        }
        report
    }

    /// [`Report::build`] and the report's JSON value (what [`Report::to_value`] gives), from
    /// one serialisation: the value the expectations are evaluated against becomes the
    /// returned one once their results are put in its (so far empty) `expect` section, which
    /// keeps its place. For `compare` and `sweep`, which read metrics from the value.
    pub fn build_with_value(results: &RunResults, model: &Model) -> (Report, serde_json::Value) {
        let mut report = Report::described(results, model);
        let mut value = report.to_value();
        if !model.expects.is_empty() {
            report.expect = evaluate(&model.expects, &value);
            value["expect"] = serde_json::to_value(&report.expect).expect("results serialise");
        }
        (report, value)
    }

    /// The measured numbers with what the model adds for the printers (the faults'
    /// strength, the description, which workloads' load varies); no expectations yet.
    fn described(results: &RunResults, model: &Model) -> Report {
        let mut report = Report::measured(results);
        // Scheduled faults come first, in file order: take their strength from the model.
        for (fault, spec) in report.faults.iter_mut().zip(&model.faults) {
            if fault.kind == spec.kind.name() && fault.target == spec.target {
                fault.detail = fault_detail(&spec.kind);
            }
        }
        report.description = model.description.clone();
        for ((_, t), w) in report.timeline.workloads.0.iter_mut().zip(&model.workloads) {
            t.varying = matches!(
                w.arrival,
                Arrival::Varying { .. } | Arrival::ClosedVarying { .. }
            );
        }
        report
    }

    /// The measured numbers only, with an empty `expect` section.
    pub fn measured(results: &RunResults) -> Report {
        let window_s = results.window_s();
        let workloads = results
            .workloads
            .iter()
            .map(|w| {
                let rps = if window_s > 0.0 {
                    w.ok_in_window as f64 / window_s
                } else {
                    0.0
                };
                let report = WorkloadReport {
                    sent: w.sent,
                    ok: w.ok,
                    degraded: w.degraded,
                    failed: w.failed.total(),
                    failed_by: w.failed.into(),
                    in_flight: w.in_flight,
                    throughput_rps: round(rps),
                    latency_ms: LatencySummary::of(&w.latency).into(),
                };
                (w.name.clone(), report)
            })
            .collect();
        let endpoints = results
            .endpoints
            .iter()
            .map(|e| {
                let report = EndpointReport {
                    arrivals: e.arrivals,
                    completed: e.completed,
                    rejected: e.rejected,
                    ok: e.completed - e.failed,
                    failed: e.failed,
                    latency_ms: e.latency.summary().into(),
                    abandoned: e.abandoned,
                };
                (e.name.clone(), report)
            })
            .collect();
        let services = results
            .services
            .iter()
            .map(|s| {
                let report = ServiceReport {
                    arrivals: s.arrivals,
                    rejected: s.rejected,
                    rate_limited: s.rate_limited,
                    shed: s.shed,
                    utilization: round(s.utilization),
                    mean_in_system: round(s.mean_in_system),
                    mean_queued: round(s.mean_queued),
                    abandoned: s.abandoned,
                    replicas_max: s.replicas_max,
                    replica_seconds: round(s.replica_seconds),
                    scale_events: s.scale_events,
                    autoscale: s.autoscale.as_ref().map(|a| AutoscaleReport {
                        metric: a.metric,
                        target: a.target,
                        under_provisioned_s: round(a.under_provisioned_s),
                        decisions: a
                            .decisions
                            .iter()
                            .map(|d| ScaleDecisionReport {
                                at_s: round(d.at.as_secs_f64()),
                                from: d.from,
                                to: d.to,
                                metric: round(d.metric),
                                ready: d.ready,
                                ready_mean: round(d.ready_mean),
                            })
                            .collect(),
                    }),
                    versions: Named(
                        s.versions
                            .iter()
                            .map(|v| (v.name.clone(), VersionReport::of(v)))
                            .collect(),
                    ),
                    replicas: s.replicas,
                    workers: s.workers,
                    default_keys: s.default_keys.clone(),
                };
                (s.name.clone(), report)
            })
            .collect();
        let c = &results.calls;
        let sim_time_s = round(results.sim_time.as_secs_f64());
        let timeline = TimelineReport::of(results, sim_time_s);
        Report {
            meshsim: env!("CARGO_PKG_VERSION").to_string(),
            scenario: results.scenario.clone(),
            seed: results.seed,
            sim_time_s,
            events: results.events,
            workloads: Named(workloads),
            endpoints: Named(endpoints),
            services: Named(services),
            calls: CallsReport {
                attempts: c.attempts,
                retries: c.retries,
                mesh_retries: c.mesh_retries,
                timeouts: c.timeouts,
                circuit_open: c.circuit_open,
                client_attempts: c.attempts - c.service_attempts,
                service_attempts: c.service_attempts,
                amplification: round(c.amplification),
                bulkhead_full: c.bulkhead_full,
                fallbacks: c.fallbacks,
                budget_exhausted: c.budget_exhausted,
            },
            messages: MessagesReport::of(&results.messages),
            flows: flows::flows(&results.flows),
            faults: results
                .faults
                .iter()
                .map(|f| FaultReport::of(f, sim_time_s))
                .collect(),
            breakers: results.breakers.iter().map(BreakerReport::of).collect(),
            timeline,
            expect: Vec::new(),
            overrides: Vec::new(),
            description: String::new(),
        }
    }

    /// True when every `[[expect]]` held (also when there are none).
    pub fn all_passed(&self) -> bool {
        self.expect.iter().all(|e| e.passed)
    }

    /// The expectations that did not hold, in scenario order.
    pub fn failed_expectations(&self) -> impl Iterator<Item = &ExpectResult> {
        self.expect.iter().filter(|e| !e.passed)
    }

    /// The report as a JSON value, keys in report order.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a report always serialises")
    }
}

/// The JSON report of a run as a value (keys in report order), expectations evaluated.
pub fn to_json_value(results: &RunResults, model: &Model) -> serde_json::Value {
    Report::build_with_value(results, model).1
}

/// Writes the JSON report of a run, pretty-printed, with a trailing newline.
pub fn write_json<W: io::Write>(w: W, results: &RunResults, model: &Model) -> io::Result<()> {
    write_json_report(w, &Report::build(results, model))
}

/// Writes an already built report as pretty-printed JSON with a trailing newline.
pub fn write_json_report<W: io::Write>(mut w: W, report: &Report) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut w, report).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

//! Flow instances during a run: the effects each step left, the saga's driving state, and the
//! per-flow consistency accounts.
//!
//! An instance is referenced by everything that can still change it or judge it: jobs working
//! for it, messages carrying it, a pending coordinator resume or choreography command, and
//! the client call waiting for its outcome. When it has *settled* (nothing drives it any more)
//! and nothing references it, it is judged and freed — so memory follows instances in flight.
//! Whatever is left when the run ends is judged then (unsettled ones as `pending`).

use std::collections::BTreeMap;

use crate::model::{FlowStyle, Model};
use crate::results::{
    Cause, FlowStats, LatencyHistogram, RecordNs, empty_latency_histogram, new_latency_histogram,
};
use crate::time::SimTime;

/// A step code with this bit refers to the step's `undo`, without it to its `do`.
pub const UNDO: u16 = 0x8000;
/// No step: the job or message is not part of a flow.
pub const NO_STEP: u16 = u16::MAX;

/// What the client heard of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Told {
    /// Nothing yet (or its call was retried, which starts another instance).
    Nothing,
    Ok,
    Failed,
}

/// A coordinator's progress (`sync`, `orchestration`), kept with the instance: for an
/// orchestration, this is the durable saga state a resumed coordinator continues from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Next, the `do` of step `next`.
    Forward,
    /// Undoing, downwards from below step `cursor`.
    Compensating,
}

pub struct Instance {
    pub flow: u32,
    pub started: SimTime,
    /// Started at or after warmup: counted in every figure of its flow (the warmup rule,
    /// decided once at the start like a job's or a message's).
    pub counted: bool,
    /// Steps whose business rule refuses this instance (drawn at the start).
    pub rejected: u32,
    /// Steps whose effect was applied, and those whose effect was compensated.
    pub applied: u32,
    pub undone: u32,
    /// `async`: steps whose message has been processed to an end.
    pub done: u32,
    pub last_effect: Option<SimTime>,
    /// Nothing drives it any more: what remains is judged.
    pub settled: Option<SimTime>,
    pub refs: u32,
    pub told: Told,
    pub phase: Phase,
    pub next: u16,
    pub cursor: u16,
    /// Steps the coordinator saw succeed (what it will compensate).
    pub seen: u32,
    /// Why the coordinator's forward run failed: what its client is told.
    pub cause: Cause,
    /// A message of this instance has reached a broker (`async`, `choreography`).
    pub launched: bool,
}

impl Instance {
    pub fn new(flow: u32, started: SimTime, counted: bool, rejected: u32) -> Instance {
        Instance {
            flow,
            started,
            counted,
            rejected,
            applied: 0,
            undone: 0,
            done: 0,
            last_effect: None,
            settled: None,
            refs: 0,
            told: Told::Nothing,
            phase: Phase::Forward,
            next: 0,
            cursor: 0,
            seen: 0,
            cause: Cause::Error,
            launched: false,
        }
    }

    /// Effects that remain: applied and not compensated.
    pub fn remaining(&self) -> u32 {
        self.applied & !self.undone
    }

    /// Judged `inconsistent`: some effects left in place, but not every step's (`all`), or
    /// all of them with one compensated and applied again.
    pub fn inconsistent(&self, all: u32) -> bool {
        let remaining = self.remaining();
        let completed = remaining == all && self.undone == 0;
        !completed && remaining != 0
    }
}

/// One flow's running account.
pub struct FlowAcc {
    pub started: u64,
    pub completed: u64,
    pub compensated: u64,
    pub inconsistent: u64,
    pub pending: u64,
    pub duplicate_effects: u64,
    pub client_mismatch: u64,
    pub latency: LatencyHistogram,
    pub consistency: LatencyHistogram,
    pub left_applied: BTreeMap<u32, u64>,
}

impl FlowAcc {
    pub fn new() -> FlowAcc {
        FlowAcc {
            started: 0,
            completed: 0,
            compensated: 0,
            inconsistent: 0,
            pending: 0,
            duplicate_effects: 0,
            client_mismatch: 0,
            latency: new_latency_histogram(),
            consistency: new_latency_histogram(),
            left_applied: BTreeMap::new(),
        }
    }

    /// Judges a settled instance by the effects it left; `all` is every step's bit. An
    /// instance started before warmup is not counted (nor was its start).
    pub fn judge(&mut self, i: &Instance, all: u32) {
        if !i.counted {
            return;
        }
        let remaining = i.remaining();
        let completed = remaining == all && i.undone == 0;
        if completed {
            self.completed += 1;
        } else if !i.inconsistent(all) {
            self.compensated += 1;
        } else {
            self.inconsistent += 1;
            *self.left_applied.entry(remaining).or_insert(0) += 1;
        }
        let told_ok = i.told == Told::Ok;
        if (told_ok && !completed) || (!told_ok && remaining != 0) {
            self.client_mismatch += 1;
        }
        let end = i.last_effect.or(i.settled).unwrap_or(i.started);
        self.consistency
            .record_ns(end.since(i.started).as_nanos().max(1));
    }

    pub fn results(&mut self, model: &Model, f: usize) -> FlowStats {
        let flow = &model.flows[f];
        FlowStats {
            name: flow.name.clone(),
            style: flow.style.name().to_string(),
            steps: flow
                .steps
                .iter()
                .map(|s| model.endpoint_name(s.action))
                .collect(),
            started: self.started,
            completed: self.completed,
            compensated: self.compensated,
            inconsistent: self.inconsistent,
            pending: self.pending,
            duplicate_effects: self.duplicate_effects,
            client_mismatch: self.client_mismatch,
            latency: std::mem::replace(&mut self.latency, empty_latency_histogram()),
            consistency: std::mem::replace(&mut self.consistency, empty_latency_histogram()),
            left_applied: self.left_applied.iter().map(|(&m, &c)| (m, c)).collect(),
        }
    }
}

/// Per endpoint: the flow whose entry (coordinator) it is, and that flow's style.
pub fn entries(model: &Model) -> Vec<Option<(u32, FlowStyle)>> {
    let mut out = vec![None; model.endpoints.len()];
    for (f, flow) in model.flows.iter().enumerate() {
        out[flow.entry_endpoint.0 as usize] = Some((f as u32, flow.style));
    }
    out
}

/// Per flow: the step code of each of the entry endpoint's calls (`do` of step i, or
/// `undo` of step i with the `UNDO` bit).
pub fn call_steps(model: &Model) -> Vec<Vec<u16>> {
    model
        .flows
        .iter()
        .map(|flow| {
            let n = model.endpoint(flow.entry_endpoint).calls.len();
            let mut codes = vec![NO_STEP; n];
            for (i, s) in flow.steps.iter().enumerate() {
                if let Some(c) = codes.get_mut(s.do_call as usize) {
                    *c = i as u16;
                }
                if let Some(u) = s.undo_call
                    && let Some(c) = codes.get_mut(u as usize)
                {
                    *c = i as u16 | UNDO;
                }
            }
            codes
        })
        .collect()
}

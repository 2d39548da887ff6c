//! The `flows` section of the JSON report: per flow, what its instances ended as (judged from
//! the effects at the steps' services after the drain), next to what the clients saw.
//!
//! `left_applied` names each set of steps an inconsistent instance left applied by the steps'
//! action endpoints (`inventory/reserve + shipping/ship`), so a script or an `[[expect]]` reads
//! the breakdown without decoding bit masks; the sets keep increasing mask order.

use serde::Serialize;
use sim_core::results::{FlowStats, LatencySummary};

use super::{LatencyMs, Named, round};

/// One flow's consistency report. `started = completed + compensated + inconsistent +
/// pending`, over the instances started at or after warmup (those started before are not
/// counted in any figure).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FlowReport {
    /// `sync`, `async`, `choreography` or `orchestration`.
    pub style: String,
    /// The steps' action endpoints (`inventory/reserve`), in step order.
    pub steps: Vec<String>,
    pub started: u64,
    /// Every step applied, none compensated.
    pub completed: u64,
    /// Rolled back: no step's effect remains (every applied step undone, or none applied).
    pub compensated: u64,
    /// Some steps' effects remain and others do not.
    pub inconsistent: u64,
    /// Still moving when the run ended.
    pub pending: u64,
    /// Effects applied a second time for the same instance.
    pub duplicate_effects: u64,
    /// Clients told ok for an instance that did not complete, or told failed (or timed out)
    /// while effects remain.
    pub client_mismatch: u64,
    /// The client's latency, for requests answered ok.
    pub latency_ms: LatencyMs,
    /// From an instance's start to its last effect or compensation, for instances that
    /// settled (completed, compensated or inconsistent).
    pub consistency_ms: LatencyMs,
    /// `inconsistent / started`; `None` (`null`) when nothing started.
    pub inconsistent_rate: Option<f64>,
    /// Inconsistent instances by the set of steps left applied, keyed by [`step_set`], in
    /// increasing mask order.
    pub left_applied: Named<u64>,
    /// The same breakdown by bit mask (bit `i` = step `i`), for the printers that say which
    /// steps were *not* applied; not part of the JSON.
    #[serde(skip)]
    pub left_applied_masks: Vec<(u32, u64)>,
}

impl FlowReport {
    pub(super) fn of(f: &FlowStats) -> FlowReport {
        let mut masks = f.left_applied.clone();
        // The engine gives them in increasing mask order; the report does not rely on it.
        masks.sort_by_key(|&(mask, _)| mask);
        let labels = step_labels(&f.steps);
        let left_applied = masks
            .iter()
            .map(|&(mask, n)| (step_set(&labels, mask), n))
            .collect();
        // A share of no instance is absent, not 0.
        let rate = (f.started > 0).then(|| round(f.inconsistent as f64 / f.started as f64));
        FlowReport {
            style: f.style.clone(),
            steps: f.steps.clone(),
            started: f.started,
            completed: f.completed,
            compensated: f.compensated,
            inconsistent: f.inconsistent,
            pending: f.pending,
            duplicate_effects: f.duplicate_effects,
            client_mismatch: f.client_mismatch,
            latency_ms: LatencySummary::of(&f.latency).into(),
            consistency_ms: LatencySummary::of(&f.consistency).into(),
            inconsistent_rate: rate,
            left_applied: Named(left_applied),
            left_applied_masks: masks,
        }
    }

    /// Whether any client was answered ok (the client latency was measured).
    pub fn latency_measured(&self) -> bool {
        self.latency_ms.measured()
    }

    /// Whether any instance started after warmup settled (the consistency time was measured).
    pub fn consistency_measured(&self) -> bool {
        self.consistency_ms.measured()
    }

    /// The name of each step, as [`step_set`] prints it.
    pub fn step_labels(&self) -> Vec<String> {
        step_labels(&self.steps)
    }
}

/// Every flow of a run, in model order.
pub(super) fn flows(flows: &[FlowStats]) -> Named<FlowReport> {
    Named(
        flows
            .iter()
            .map(|f| (f.name.clone(), FlowReport::of(f)))
            .collect(),
    )
}

/// Each step's name: its action endpoint, with ` (step N)` added when two steps share an
/// endpoint, so that every set of steps has its own name.
pub fn step_labels(steps: &[String]) -> Vec<String> {
    steps
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if steps.iter().filter(|s| *s == name).count() > 1 {
                format!("{name} (step {})", i + 1)
            } else {
                name.clone()
            }
        })
        .collect()
}

/// The steps in `mask` (bit `i` = step `i`), in step order, joined by ` + `:
/// `inventory/reserve + shipping/ship`. A bit past the named steps is `step N`; the empty set
/// is `none`.
pub fn step_set(labels: &[String], mask: u32) -> String {
    let names: Vec<String> = (0..32)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| step_label(labels, i))
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(" + ")
    }
}

/// Step `i`'s label, or `step N` (from 1) when the flow names fewer steps.
pub fn step_label(labels: &[String], i: usize) -> String {
    labels
        .get(i)
        .cloned()
        .unwrap_or_else(|| format!("step {}", i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        step_labels(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    // Goal: a set names its steps in step order, a bit past the steps and the empty set still
    // get a name, and two steps on the same endpoint stay apart.
    #[test]
    fn step_sets_are_named_in_step_order() {
        let l = labels(&["inventory/reserve", "payment/charge", "shipping/ship"]);
        assert_eq!(step_set(&l, 0b101), "inventory/reserve + shipping/ship");
        assert_eq!(step_set(&l, 0b010), "payment/charge");
        assert_eq!(step_set(&l, 0b1001), "inventory/reserve + step 4");
        assert_eq!(step_set(&l, 0), "none");
        let l = labels(&["a/x", "b/y", "a/x"]);
        assert_eq!(step_set(&l, 0b101), "a/x (step 1) + a/x (step 3)");
        assert_eq!(step_set(&l, 0b010), "b/y");
    }
}

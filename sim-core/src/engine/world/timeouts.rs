//! Call timeouts in the kernel's timer lanes (docs/design-timers.md): one lane per distinct
//! timeout duration of the model, so a timeout — nearly always outlived by its reply — costs a
//! ring-buffer append and pop instead of a push and pop in the big event heap. The order of
//! events, and so every output byte, is the single heap's (the argument is in `kernel.rs`).

use super::{Event, World};
use crate::engine::slab::Handle;
use crate::kernel::{EventQueue, TimerLane};
use crate::model::Model;
use crate::time::SimDuration;

/// Every timeout duration the model's call sites and sidecars can set, sorted and distinct
/// (a sorted list, not a hash map: lanes are made in one fixed order).
pub(in crate::engine) fn timeout_durations(model: &Model) -> Vec<SimDuration> {
    let mut ds: Vec<SimDuration> = model
        .workloads
        .iter()
        .map(|w| &w.call)
        .chain(model.endpoints.iter().flat_map(|e| e.all_calls()))
        .filter_map(|c| c.timeout)
        .chain(model.sidecars.iter().filter_map(|s| s.timeout))
        .collect();
    ds.sort_unstable();
    ds.dedup();
    ds
}

/// The lanes of the model's timeout durations, sorted by duration for a binary search.
pub(super) fn timeout_lanes(
    model: &Model,
    q: &mut EventQueue<Event>,
) -> Vec<(SimDuration, TimerLane)> {
    timeout_durations(model)
        .into_iter()
        .map(|d| (d, q.timer_lane(d)))
        .collect()
}

impl World<'_> {
    /// Schedules call `call`'s timeout `timeout` from now in its duration's lane. A duration
    /// without a lane (none is expected) goes into the heap: the order stays right either way,
    /// since lanes and heap share one sequence counter.
    #[inline]
    pub(super) fn schedule_timeout(&mut self, timeout: SimDuration, call: Handle) {
        match self
            .timeout_lanes
            .binary_search_by_key(&timeout, |&(d, _)| d)
        {
            Ok(i) => self
                .q
                .schedule_in_lane(self.timeout_lanes[i].1, Event::Timeout(call)),
            Err(_) => self.q.schedule(timeout, Event::Timeout(call)),
        }
    }
}

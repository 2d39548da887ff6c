//! Call timeouts in the kernel's timer lanes (docs/design-timers.md): one lane per distinct
//! timeout duration of the model, so a timeout — nearly always outlived by its reply — costs a
//! ring-buffer append and pop instead of a push and pop in the big event heap. The order of
//! events, and so every output byte, is the single heap's (the argument is in `kernel.rs`).

use super::{Event, World};
use crate::engine::slab::Handle;
use crate::kernel::{EventQueue, Next, TimerLane};
use crate::model::Model;
use crate::time::{SimDuration, SimTime};

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
    #[inline(always)]
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

impl World<'_> {
    /// The next event for the run loop (its time and place), after dropping the cancelled timeouts due
    /// first (their call answered, or renewed for a retry: the handle's slab generation is
    /// stale), which `time_out` would have ignored. Each still counts in `events` (the popped
    /// count) and moves the clock, so the loop's checks see the same numbers; one is dropped
    /// only where none of them could act:
    /// - not at or after `next_check`, the loop's next check of the popped count (a progress
    ///   report at a multiple of 65,536, `max_events`): that event goes through the loop,
    ///   which reports or stops as before;
    /// - not at or after `before` (the end of arrivals, or the horizon if sooner): the early
    ///   end needs `now >= end_of_arrivals`, and an event past the horizon ends the run;
    /// - `max_pending` only shrinks with a dropped event, and `stop` is set only by handling.
    #[inline(always)]
    pub(super) fn peek_skipping_stale(&mut self, next_check: u64, before: SimTime) -> Option<Next> {
        let calls = &self.calls;
        self.q.peek_dropping(|time, popped, e| {
            time < before
                && popped < next_check
                && matches!(*e, Event::Timeout(call) if calls.get(call).is_none())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Progress, World};
    use crate::engine::RunError;
    use crate::model::Model;
    use crate::scenario::parse_scenario;

    /// A chain with timeouts of two durations, a slow tail that makes some of them fire,
    /// retries (renewed handles leave their old timeout stale) and a drain in which stale
    /// timeouts are all that is left; so light (30/s) that it is often idle when arrivals
    /// end, and the early end then comes at a stale timeout; `max_events` as given.
    fn model(max_events: u64) -> Model {
        let toml = format!(
            r#"[scenario]
name = "t"
duration = "60s"
warmup = "1s"
drain = "5s"
max_events = {max_events}
[workload.w]
endpoint = "a/x"
rate = 30
timeout = "400ms"
[service.a]
workers = 8
[service.a.endpoint.x]
work = "exp(1ms)"
calls = [{{ to = "b/y", timeout = "30ms", retries = 2 }}]
[service.b]
replicas = 2
workers = 4
[service.b.endpoint.y]
work = "lognormal(2ms, 40ms)"
"#
        );
        match parse_scenario("t.toml", &toml, &[]) {
            Ok(m) => m,
            Err(d) => panic!("should parse:\n{d}"),
        }
    }

    /// What the loop shows the outside: the end (or the limit's error), the clock, the
    /// popped count and every progress report (clock, events).
    type Seen = (Result<(), RunError>, u64, u64, Vec<(u64, u64)>);

    fn observe(m: &Model, skip: bool, seed: u64) -> Seen {
        let mut w = World::new(m, seed);
        w.skip_stale = skip;
        let mut reports = Vec::new();
        let end = w.run(&mut |p: Progress| reports.push((p.now.0, p.events)));
        (end, w.now().0, w.events(), reports)
    }

    #[test]
    fn dropping_cancelled_timeouts_changes_nothing_the_loop_shows() {
        // Goal: with cancelled timeouts dropped in the kernel, the run ends at the same
        // clock with the same `events` and progress reports as when every timeout goes to
        // `time_out`; and `max_events` stops it at the same event with the same message, for
        // limits falling anywhere (most of them on or next to a dropped timeout, since a
        // third of the events are timeouts, nearly all cancelled).
        let m = model(2_000_000_000);
        for seed in 1..=20 {
            let full = observe(&m, false, seed);
            assert!(full.0.is_ok());
            assert_eq!(observe(&m, true, seed), full, "seed {seed}");
        }
        let full = observe(&m, false, 3);
        assert!(full.2 > 5_000, "events {}", full.2);
        for limit in (1..full.2).step_by(499).chain([full.2 - 1, full.2]) {
            let m = model(limit);
            let (plain, skipped) = (observe(&m, false, 3), observe(&m, true, 3));
            assert!(plain.0.is_err() || limit == full.2, "limit {limit}");
            assert_eq!(skipped, plain, "limit {limit}");
        }
    }
}

//! The plain path (issue 14, goal 3): what a call site, an endpoint and a link do *not* use,
//! decided once when the world is built, so the hot functions take the plain path with one
//! test instead of asking every feature in turn per event.
//!
//! - A **plain call site** has no resilience setting (no retries, breaker, bulkhead, retry
//!   budget or fallback of any kind), goes straight to its target (no request queue), and
//!   the run has no sidecars: its logical call is its single attempt, so it skips the
//!   guards at the start and ends without looking at breakers or retries.
//! - A **plain leaf** endpoint makes no calls, publishes nothing, starts no flow, never fails
//!   on its own, in a run without flows or injected errors: its finished work replies at
//!   once.
//! - An **instant link** has no latency and loses nothing: a crossing draws nothing and is
//!   free unless a fault is active on it (checked at run time, one length test).
//!
//! Everything else keeps the general path, unchanged; both paths give the same bytes.

use crate::model::{FaultKind, Model};

use super::CallRef;

/// The plain-path flags of a model's call sites, endpoints and links.
pub(super) struct Plain {
    /// Per endpoint, per call index (`Endpoint::call`): the site is plain.
    sites: Vec<Vec<bool>>,
    /// Per workload: its client call is plain.
    workloads: Vec<bool>,
    /// Per endpoint: it is a plain leaf.
    pub(super) leaf: Vec<bool>,
    /// Per link: no latency, no loss.
    pub(super) instant: Vec<bool>,
}

impl Plain {
    pub(super) fn of(model: &Model) -> Plain {
        // Sidecars take attempts over (`mesh`): no site is plain in a meshed run.
        let meshed = !model.sidecars.is_empty();
        let site = |c: &crate::model::Call| !meshed && c.is_plain();
        let injected_errors = model
            .faults
            .iter()
            .any(|f| matches!(f.kind, FaultKind::Error { .. }));
        let no_flows = model.flows.is_empty();
        Plain {
            sites: model
                .endpoints
                .iter()
                .map(|ep| ep.all_calls().map(site).collect())
                .collect(),
            workloads: model.workloads.iter().map(|w| site(&w.call)).collect(),
            leaf: model
                .endpoints
                .iter()
                .map(|ep| {
                    ep.calls.is_empty()
                        && ep.publish.is_empty()
                        && (ep.fail <= 0.0 || ep.fail.is_nan())
                        && no_flows
                        && !injected_errors
                })
                .collect(),
            instant: model.links.iter().map(|l| l.is_instant()).collect(),
        }
    }

    /// Whether call `call` is made at a plain site.
    #[inline]
    pub(super) fn site(&self, call: CallRef) -> bool {
        match call {
            CallRef::Workload(w) => self.workloads[w.0 as usize],
            CallRef::Endpoint(e, i) => self.sites[e.0 as usize][i as usize],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::world::World;
    use crate::model::{EndpointId, WorkloadId};
    use crate::scenario::parse_scenario;

    fn model(text: &str) -> Model {
        parse_scenario("test.toml", text, &[]).expect("a valid scenario")
    }

    const CHAIN: &str = r#"
        [scenario]
        name = "plain"
        duration = "20s"
        [workload.load]
        endpoint = "front/get"
        rate = 200
        [service.front]
        [service.front.endpoint.get]
        work = "exp(1ms)"
        calls = [
            { to = "back/read", timeout = "50ms" },
            { to = "back/read", timeout = "50ms", retries = 2 },
        ]
        [service.back]
        [service.back.endpoint.read]
        work = "exp(1ms)"
    "#;

    fn endpoint(m: &Model, name: &str) -> EndpointId {
        let e = (0..m.endpoints.len())
            .find(|&e| m.endpoint_name(EndpointId(e as u32)) == name)
            .expect("endpoint exists");
        EndpointId(e as u32)
    }

    // Goal: the builder marks a call site without resilience settings plain (a timeout
    // alone keeps it plain: timer lanes handle it) and one with retries not, and only a leaf
    // that makes no calls and cannot fail is a plain leaf.
    #[test]
    fn builder_marks_plain_sites_and_leaves() {
        let m = model(CHAIN);
        let p = Plain::of(&m);
        let front = endpoint(&m, "front/get");
        let back = endpoint(&m, "back/read");
        assert!(p.site(CallRef::Workload(WorkloadId(0))));
        assert!(p.site(CallRef::Endpoint(front, 0)));
        assert!(
            !p.site(CallRef::Endpoint(front, 1)),
            "retries are resilience"
        );
        assert!(!p.leaf[front.0 as usize], "it makes calls");
        assert!(p.leaf[back.0 as usize]);
        let failing = model(&CHAIN.replace(
            "[service.back.endpoint.read]",
            "[service.back.endpoint.read]\nfail = 0.1",
        ));
        assert!(!Plain::of(&failing).leaf[back.0 as usize], "it may fail");
    }

    // Goal: a sidecar anywhere makes every site general (the mesh decides each attempt), and
    // a link with latency or loss is not instant while the default ideal one is.
    #[test]
    fn sidecars_and_real_links_keep_the_general_path() {
        let meshed = model(&format!(
            "{CHAIN}\n[service.back.sidecar]\noverhead = \"0.1ms\"\n"
        ));
        let p = Plain::of(&meshed);
        assert!(!p.site(CallRef::Workload(WorkloadId(0))));
        let m = model(CHAIN);
        assert!(
            Plain::of(&m).instant.iter().all(|&i| i),
            "default network: 0 ms"
        );
        let slow = model(&format!("{CHAIN}\n[network]\nlatency = \"1ms\"\n"));
        assert!(Plain::of(&slow).instant.iter().all(|&i| !i));
        let lossy = model(&format!("{CHAIN}\n[network]\nloss = 0.01\n"));
        assert!(Plain::of(&lossy).instant.iter().all(|&i| !i));
    }

    // Goal: in a run whose call sites are all plain, every attempt ends on the plain path
    // and none ever reaches the resilience code (guards, breakers, retries); with one site
    // that retries, that site's attempts take the general path. Counted by test-only
    // counters, so a plain path that silently fell back to the general one fails here.
    #[test]
    fn a_plain_run_never_touches_resilience_state() {
        let plain = model(&CHAIN.replace(", retries = 2", ""));
        let mut w = World::new(&plain, 1);
        w.run(&mut |_| {}).expect("runs");
        assert!(w.guards.is_empty());
        assert!(
            w.paths.plain_ends > 2 * 3_000,
            "two calls per request at 200/s"
        );
        assert_eq!(w.paths.general_ends, 0);
        assert_eq!(w.paths.general_starts, 0);
        assert_eq!(w.stats.calls.retries, 0);
        // Conservation: every attempt ended on one path or the other, or is in flight.
        assert!(w.calls.live() == 0);

        let mixed = model(CHAIN);
        let mut w = World::new(&mixed, 1);
        w.run(&mut |_| {}).expect("runs");
        assert!(w.paths.general_ends > 3_000, "the retrying site's calls");
        assert!(
            w.paths.plain_ends > 2 * 3_000,
            "the client's and the first site's"
        );
    }
}

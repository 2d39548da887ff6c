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
//! - A **plain caller** endpoint makes its calls one after another, its first without a
//!   draw (`p`, `one_of`), never fails on its own, in a run without flows or injected
//!   errors: its finished work starts its first call at once.
//! - A **plain sequence** is a plain caller all of whose calls are made without a draw and
//!   that publishes nothing: a call's end starts the next site or finishes the job, from
//!   the one lookup of the job that checks it is alive (`Plain::sequence`).
//! - An **instant link** has no latency, loses nothing and is named by no link fault
//!   (partition, loss, slow link) of the scenario: a crossing draws nothing and is free.
//! - An **exponential link** loses nothing, is named by no link fault and has an
//!   `exp(MEAN)` latency (the generated DAG's every hop): a crossing is one draw from its
//!   stream, inlined, without reading the model's link or deciding its distribution again
//!   (`LinkPath::Exp`).
//!
//!   A link that a fault names takes the general crossing all run long, active fault or
//!   not: the faults of a scenario are fixed, so a plain link's hop reads no fault list.
//!
//! - An endpoint with **one fixed replica** (its service has one replica, no versions, no
//!   autoscaler) is served by that replica: an attempt to it takes it without asking the
//!   service's balancer, whose pick of a one-replica pool is that replica (`Target::Only`).
//! - An endpoint of a **fixed pool** (several replicas, no versions, no autoscaler, no
//!   health checks: the pool and the callers' belief that all of it is up never change)
//!   under `round-robin` or `least-outstanding` is picked inline, by the policy decided at
//!   build (`Target::RoundRobin`, `Target::Least`): the pick the balancer would make, from
//!   the same state, without reading the service, its versions or its policy.
//!
//! Everything else keeps the general path, unchanged; both paths give the same bytes.

use rand_distr::Exp;

use crate::model::{FaultKind, LbPolicy, Link, Model};

use super::CallRef;

/// The plain-path flags of a model's call sites, endpoints and links.
pub(super) struct Plain {
    /// Per call site, endpoint after endpoint (`site_base[e] + i` for `Endpoint::call(i)`):
    /// the site is plain. Two dense vectors, not a vector per endpoint, so the test reads
    /// no endpoint's own allocation.
    sites: Vec<bool>,
    site_base: Vec<u32>,
    /// Per workload: its client call is plain.
    workloads: Vec<bool>,
    /// Per endpoint: it is a plain leaf.
    pub(super) leaf: Vec<bool>,
    /// Per endpoint: it is a plain caller.
    pub(super) caller: Vec<bool>,
    /// Per endpoint: its number of call sites when it is a plain sequence, else 0.
    pub(super) sequence: Vec<u16>,
    /// Per endpoint: how an attempt to it picks its replica. Set by `World::new` from its
    /// replica layout (`targets`).
    pub(super) targets: Vec<Target>,
}

/// How the plain path draws, decided at build and kept by the world beside the streams they
/// draw from (`World::new`), so a draw reads one entry.
pub(super) struct Draws {
    /// Per link: how a crossing without an active fault is drawn (16 bytes a link), instead of
    /// the model's link and its `Dist`.
    pub(super) links: Vec<LinkPath>,
    /// Per endpoint: its work, when it is an exponential of nonzero mean (the M/M/1's and the
    /// generated DAG's), drawn inline from its stream; `None`: `Dist::sample`.
    pub(super) work: Vec<Option<Exp<f64>>>,
}

impl Draws {
    pub(super) fn of(model: &Model) -> Draws {
        let faulted = faulted_links(model);
        Draws {
            links: model
                .links
                .iter()
                .zip(faulted)
                .map(|(l, f)| LinkPath::of(l, f))
                .collect(),
            work: model
                .endpoints
                .iter()
                .map(|ep| ep.work.nonzero_exp())
                .collect(),
        }
    }
}

/// How an attempt to an endpoint picks its replica, decided at build. 8 bytes an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// Always this replica (a global index): the service is one replica for good.
    Only(u32),
    /// Round-robin over the fixed pool of this service (its pool's index is the service's).
    RoundRobin(u32),
    /// The least-outstanding replica of the fixed pool of this service.
    Least(u32),
    /// The service's balancer picks (another policy, health checks, versions, autoscaling).
    Balanced,
}

/// Per endpoint, its `Target` (see `Plain::targets`), given each service's first replica as
/// `World::new` laid them out.
pub(super) fn targets(model: &Model, replica_base: &[u32]) -> Vec<Target> {
    model
        .endpoints
        .iter()
        .map(|ep| {
            let i = ep.service.0;
            let s = model.service(ep.service);
            // The pool and what the callers believe of it never change in the run.
            let fixed = s.versions.is_empty() && s.autoscale.is_none();
            if fixed && s.replicas == 1 {
                return Target::Only(replica_base[i as usize]);
            }
            if !fixed || s.health_check.is_some() {
                return Target::Balanced;
            }
            match s.lb {
                LbPolicy::RoundRobin => Target::RoundRobin(i),
                LbPolicy::LeastOutstanding => Target::Least(i),
                LbPolicy::Random | LbPolicy::PowerOfTwo => Target::Balanced,
            }
        })
        .collect()
}

/// How a crossing of a link is drawn, decided at build.
#[derive(Clone, Copy, Debug)]
pub(super) enum LinkPath {
    /// No latency, no loss: the crossing is free and draws nothing.
    Instant,
    /// No loss, exponential latency with a positive mean: one draw of this distribution
    /// from the link's latency stream, rounded as `Dist::sample` rounds it.
    Exp(Exp<f64>),
    /// Anything else (loss, another distribution, a fault that names the link):
    /// `hop_drawn`, the general crossing.
    Drawn,
}

impl LinkPath {
    /// The path of `link`; `faulted` when a fault of the scenario names it.
    fn of(link: &Link, faulted: bool) -> LinkPath {
        if faulted {
            return LinkPath::Drawn;
        }
        if link.is_instant() {
            return LinkPath::Instant;
        }
        let lossless = link.loss <= 0.0 || link.loss.is_nan();
        // `Dist::sample` of an exp with mean 0 draws nothing: that one stays general.
        match link.latency.nonzero_exp() {
            Some(exp) if lossless => LinkPath::Exp(exp),
            _ => LinkPath::Drawn,
        }
    }
}

/// Per link: some fault of the scenario (partition, loss, slow link) names it.
fn faulted_links(model: &Model) -> Vec<bool> {
    let mut faulted = vec![false; model.links.len()];
    for l in model.faults.iter().flat_map(|f| f.kind.links()) {
        faulted[l.0 as usize] = true;
    }
    faulted
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
        let mut site_base = Vec::with_capacity(model.endpoints.len());
        let mut sites = Vec::new();
        for ep in &model.endpoints {
            site_base.push(sites.len() as u32);
            sites.extend(ep.all_calls().map(site));
        }
        let caller: Vec<bool> = model
            .endpoints
            .iter()
            .map(|ep| {
                ep.calls.first().is_some_and(|c| c.route.is_none())
                    && !ep.parallel
                    && (ep.fail <= 0.0 || ep.fail.is_nan())
                    && no_flows
                    && !injected_errors
            })
            .collect();
        let sequence = model
            .endpoints
            .iter()
            .zip(&caller)
            .map(|(ep, &plain_caller)| {
                let sequence = plain_caller
                    && ep.calls.iter().all(|c| c.route.is_none())
                    && ep.publish.is_empty();
                // A site index is a u16 (`CallRef::Endpoint`): a count past it stays general.
                match u16::try_from(ep.calls.len()) {
                    Ok(n) if sequence => n,
                    _ => 0,
                }
            })
            .collect();
        Plain {
            sites,
            site_base,
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
            caller,
            sequence,
            targets: Vec::new(),
        }
    }

    /// Whether call `call` is made at a plain site.
    #[inline]
    pub(super) fn site(&self, call: CallRef) -> bool {
        match call {
            CallRef::Workload(w) => self.workloads[w.0 as usize],
            CallRef::Endpoint(e, i) => {
                self.sites[(self.site_base[e.0 as usize] + u32::from(i)) as usize]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Dist;
    use crate::engine::world::World;
    use crate::model::{EndpointId, WorkloadId};
    use crate::scenario::parse_scenario;
    use crate::time::SimDuration;

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
    // alone keeps it plain: timer lanes handle it) and one with retries not, only a leaf
    // that makes no calls and cannot fail is a plain leaf, and only sequential calls make
    // a plain caller.
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
        assert!(p.caller[front.0 as usize], "its first call has no draw");
        assert!(!p.caller[back.0 as usize], "it makes no calls");
        let parallel = model(&CHAIN.replace(
            "[service.front.endpoint.get]",
            "[service.front.endpoint.get]\nparallel = true",
        ));
        assert!(!Plain::of(&parallel).caller[front.0 as usize]);
        let failing = model(&CHAIN.replace(
            "[service.back.endpoint.read]",
            "[service.back.endpoint.read]\nfail = 0.1",
        ));
        assert!(!Plain::of(&failing).leaf[back.0 as usize], "it may fail");
    }

    // Goal: a plain caller whose every site is made without a draw and that publishes
    // nothing is a plain sequence of its sites' count; a `p` on a later site, a publish or
    // an endpoint without calls is not.
    #[test]
    fn builder_marks_plain_sequences() {
        let m = model(CHAIN);
        let p = Plain::of(&m);
        let (front, back) = (endpoint(&m, "front/get"), endpoint(&m, "back/read"));
        assert_eq!(p.sequence[front.0 as usize], 2);
        assert_eq!(p.sequence[back.0 as usize], 0, "it makes no calls");
        let drawn = model(&CHAIN.replace("retries = 2", "retries = 2, p = 0.5"));
        assert!(Plain::of(&drawn).caller[front.0 as usize]);
        assert_eq!(Plain::of(&drawn).sequence[front.0 as usize], 0, "a draw");
    }

    // Goal: a plain sequence stops at its first failed call, as sequential calls do: with
    // every call to the back end failing, each front job makes one call, not two, so the
    // back end sees as many requests as the front end; with none failing, twice as many.
    // (Counted at the endpoints, so a sequence that went on past a failure fails here.)
    #[test]
    fn a_plain_sequence_stops_at_a_failure() {
        let arrivals = |text: &str| {
            let m = model(text);
            let mut w = World::new(&m, 1);
            let (front, back) = (endpoint(&m, "front/get"), endpoint(&m, "back/read"));
            assert_eq!(w.plain.sequence[front.0 as usize], 2);
            w.run(&mut |_| {}).expect("runs");
            let at = |e: EndpointId| w.stats.endpoints[e.0 as usize].arrivals;
            (at(front), at(back))
        };
        let plain = CHAIN.replace(", retries = 2", "");
        let (front, back) = arrivals(&plain);
        assert!(front > 3_000);
        assert_eq!(back, 2 * front);
        let failing = plain.replace(
            "[service.back.endpoint.read]",
            "[service.back.endpoint.read]\nfail = 1.0",
        );
        let (front, back) = arrivals(&failing);
        assert!(front > 3_000);
        assert_eq!(back, front);
    }

    // Goal: a sidecar anywhere makes every site general (the mesh decides each attempt), and
    // a link with latency or loss is not instant while the default ideal one is, and a
    // lossless exponential one is drawn inline.
    #[test]
    fn sidecars_and_real_links_keep_the_general_path() {
        let meshed = model(&format!(
            "{CHAIN}\n[service.back.sidecar]\noverhead = \"0.1ms\"\n"
        ));
        let p = Plain::of(&meshed);
        assert!(!p.site(CallRef::Workload(WorkloadId(0))));
        // The plan of every link of CHAIN under this `[network]` table.
        let plans = |network: &str| -> Vec<LinkPath> {
            Draws::of(&model(&format!("{CHAIN}\n[network]\n{network}\n"))).links
        };
        let instant = |l: &LinkPath| matches!(l, LinkPath::Instant);
        let drawn = |l: &LinkPath| matches!(l, LinkPath::Drawn);
        assert!(plans("").iter().all(instant), "default network: 0 ms");
        assert!(plans("latency = \"1ms\"").iter().all(drawn));
        assert!(plans("loss = 0.01").iter().all(drawn));
        let exp = plans("latency = \"exp(0.5ms)\"");
        assert!(exp.iter().all(|l| matches!(l, LinkPath::Exp(_))));
        let lossy_exp = plans("latency = \"exp(0.5ms)\"\nloss = 0.01");
        assert!(
            lossy_exp.iter().all(drawn),
            "a lossy link draws its loss first"
        );
    }

    // Goal: a link that a fault names (here a partition between the two services) takes
    // the general crossing for the whole run, so a plain hop need not read the active
    // faults; a link no fault names keeps its plain path.
    #[test]
    fn a_link_a_fault_names_is_drawn() {
        let m = model(&format!(
            "{CHAIN}\n[[fault]]\nkind = \"partition\"\ngroups = [[\"front\"], [\"back\"]]\n\
             at = \"5s\"\nfor = \"1s\"\n"
        ));
        let FaultKind::Partition { links } = &m.faults[0].kind else {
            panic!("a partition");
        };
        assert!(!links.is_empty() && links.len() < m.links.len());
        let p = Draws::of(&m);
        for (l, path) in p.links.iter().enumerate() {
            let named = links.iter().any(|n| n.0 as usize == l);
            if named {
                assert!(matches!(path, LinkPath::Drawn), "link {l} is named");
            } else {
                assert!(matches!(path, LinkPath::Instant), "link {l} is not");
            }
        }
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

    // Goal: an exponential link's inlined crossing is the general one's, draw for draw: over
    // many crossings the delays are equal and the link's stream ends at the same place (a
    // different stream position would change every later delay of the run), with and without
    // a protocol's extra delay on top.
    #[test]
    fn an_exponential_crossing_draws_what_the_general_one_draws() {
        let m = model(&format!("{CHAIN}\n[network]\nlatency = \"exp(0.5ms)\"\n"));
        let mut w = World::new(&m, 7);
        for l in 0..m.links.len() {
            assert!(matches!(w.rng.link_latency[l].plan, LinkPath::Exp(_)));
            let link = crate::model::LinkId(l as u32);
            for k in 0..5_000u64 {
                let extra = SimDuration::from_nanos(k % 3 * 1_000);
                let before = w.rng.link_latency[l].stream.clone();
                let fast = w.hop(link, extra);
                let after_fast = w.rng.link_latency[l].stream.clone();
                w.rng.link_latency[l].stream = before;
                let general = w.hop_drawn(link, extra);
                assert_eq!(fast, general, "link {l}, crossing {k}");
                assert!(fast.is_some_and(|d| d >= extra));
                assert!(
                    after_fast == w.rng.link_latency[l].stream,
                    "same stream position"
                );
            }
        }
    }

    // Goal: only an endpoint whose service is one replica for good (no versions, no
    // autoscaler) has a fixed replica, and it is the replica the balancer would pick; a
    // pool of two replicas is picked by its policy inline, and a service with a version
    // leaves the pick to its balancer.
    #[test]
    fn only_a_one_replica_service_fixes_its_replica() {
        let m = model(&CHAIN.replace("[service.back]", "[service.back]\nreplicas = 2"));
        let mut w = World::new(&m, 1);
        let (front, back) = (endpoint(&m, "front/get"), endpoint(&m, "back/read"));
        let Target::Only(fixed) = w.plain.targets[front.0 as usize] else {
            panic!("one replica");
        };
        assert_eq!(fixed, w.pick_replica(m.endpoints[front.0 as usize].service));
        let back_service = m.endpoints[back.0 as usize].service.0;
        assert_eq!(
            w.plain.targets[back.0 as usize],
            Target::RoundRobin(back_service)
        );
        let versioned = model(&format!(
            "{CHAIN}\n[service.front.version.canary]\nweight = 5\nreplicas = 1\n"
        ));
        let w = World::new(&versioned, 1);
        let front = endpoint(&versioned, "front/get");
        assert_eq!(w.plain.targets[front.0 as usize], Target::Balanced);
    }

    // Goal: a fixed pool's inline pick is the balancer's, pick for pick: round-robin and
    // least-outstanding over three replicas whose loads change between picks give the
    // replica `pick_replica` gives from the same state; random and p2c, health checks and
    // autoscaling keep the balancer's pick (their pool or their draws are its own).
    #[test]
    fn a_fixed_pool_picks_what_its_balancer_picks() {
        for lb in ["round-robin", "least-outstanding"] {
            let text = CHAIN.replace(
                "[service.back]",
                &format!("[service.back]\nreplicas = 3\nlb = \"{lb}\""),
            );
            let m = model(&text);
            let back = endpoint(&m, "back/read");
            let service = m.endpoints[back.0 as usize].service;
            let mut fast = World::new(&m, 1);
            let mut general = World::new(&m, 1);
            let target = fast.plain.targets[back.0 as usize];
            assert!(
                matches!(target, Target::RoundRobin(_) | Target::Least(_)),
                "{lb}"
            );
            for k in 0..200u32 {
                let p = service.0 as usize;
                let picked = match target {
                    Target::RoundRobin(_) => fast.pick_round_robin(p),
                    _ => fast.pick_least(p),
                };
                assert_eq!(picked, general.pick_replica(service), "{lb}, pick {k}");
                // Loads move as requests come and go, the same in both worlds.
                for w in [&mut fast, &mut general] {
                    let r = picked as usize;
                    if k % 3 == 2 && w.replicas[r].outstanding > 0 {
                        w.replicas[r].outstanding -= 1;
                    } else {
                        w.replicas[r].outstanding += 1;
                    }
                    w.load_changed(r);
                }
            }
        }
        for extra in ["lb = \"random\"", "lb = \"p2c\"", "health_check = \"1s\""] {
            let text = CHAIN.replace(
                "[service.back]",
                &format!("[service.back]\nreplicas = 3\n{extra}"),
            );
            let m = model(&text);
            let w = World::new(&m, 1);
            let back = endpoint(&m, "back/read");
            assert_eq!(
                w.plain.targets[back.0 as usize],
                Target::Balanced,
                "{extra}"
            );
        }
    }

    // Goal: an exponential work (decided at build, `Plain::work`) and a Poisson workload's
    // gap (`NextGap::Poisson`) are drawn inline as `Dist::sample` draws them, draw for draw:
    // the same durations and the streams at the same place after; a constant work keeps
    // `Dist::sample`.
    #[test]
    fn exponential_work_and_gaps_draw_what_the_general_draw_gives() {
        use crate::engine::world::NextGap;
        use crate::time::SimTime;
        let m = model(CHAIN);
        let mut w = World::new(&m, 7);
        for e in 0..m.endpoints.len() {
            let exp = w.rng.work[e].plan.expect("exp(1ms) work is drawn inline");
            for k in 0..2_000 {
                let mut general = w.rng.work[e].stream.clone();
                let fast = Dist::exp_draw(&exp, &mut w.rng.work[e].stream);
                assert_eq!(fast, m.endpoints[e].work.sample(&mut general), "{e}, {k}");
                assert!(general == w.rng.work[e].stream, "same stream position");
            }
        }
        assert!(matches!(w.next_gap[0], NextGap::Poisson(_)));
        let gap = Dist::exp(SimDuration::from_nanos_f64(1e9 / 200.0));
        let mut at = SimTime::ZERO;
        for k in 0..2_000 {
            let mut general = w.rng.workload[0].clone();
            let next = w.next_arrival(WorkloadId(0), at).expect("an open workload");
            assert_eq!(next, at + gap.sample(&mut general), "gap {k}");
            assert!(general == w.rng.workload[0], "same stream position");
            at = next;
        }
        let fixed = model(&CHAIN.replace("work = \"exp(1ms)\"", "work = \"1ms\""));
        assert!(Draws::of(&fixed).work.iter().all(Option::is_none));
    }

    // Goal: the default protocol's early return in `overhead` gives its zero, in a model
    // without protocols and in one where a call names `protocol = "rest"`, which keeps its
    // 120 µs.
    #[test]
    fn the_default_protocol_costs_nothing_beside_others() {
        use crate::model::Protocol;
        let m = model(CHAIN);
        let mut w = World::new(&m, 1);
        assert_eq!(w.overhead(Protocol::None), SimDuration::ZERO);
        let rest = model(&CHAIN.replace(
            "{ to = \"back/read\", timeout = \"50ms\" },",
            "{ to = \"back/read\", timeout = \"50ms\", protocol = \"rest\" },",
        ));
        let mut w = World::new(&rest, 1);
        assert_eq!(w.overhead(Protocol::Rest), SimDuration::from_micros(120));
        assert_eq!(w.overhead(Protocol::None), SimDuration::ZERO);
    }
}

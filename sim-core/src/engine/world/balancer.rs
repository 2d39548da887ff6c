//! The callers' load balancer: which replica a request goes to, and what the callers believe
//! about which replicas are up.
//!
//! Nothing here scans a service's replicas per event. What a pick needs is kept indexed: the
//! believed-up replicas by rank (`UpSet`, for round-robin, random and p2c while some are
//! believed down), the least-loaded replica (`MinTree`, for `least-outstanding`), and the
//! replicas whose real state changed since the last health check, so that a check costs
//! O(changes) rather than O(replicas). Each is built only for a service that uses it.

use rand::RngExt;

use super::{Event, World};
use crate::engine::min_tree::MinTree;
use crate::engine::up_set::UpSet;
use crate::model::{LbPolicy, Service, ServiceId};

/// One pool's load-balancer state: a service's base version (pool `s` for service `s`), or
/// one of its versions (pools after the services', see `versions`).
pub(super) struct Balancer {
    /// The pool's first replica (a global replica index) and its number of replicas.
    first: u32,
    len: u32,
    /// The replicas the callers believe up: only for a service with health checks (without
    /// them every replica is believed up for good) and more than one replica.
    up: Option<UpSet>,
    /// Outstanding requests per replica, for `least-outstanding` with more than one replica.
    least: Option<MinTree>,
    /// Replicas (index within the pool) that crashed or restarted since the last health
    /// check, when `up` is kept. May name a replica twice; the check reads its state once.
    changed: Vec<u32>,
    /// Replicas really down now (what the broker sees at once).
    pub(super) crashed: u32,
    round_robin: u32,
    /// The service has health checks: crashes and restarts wait in `changed` for them.
    checked: bool,
}

impl Balancer {
    /// The pool of `len` replicas of `s` from global replica `first` on.
    pub(super) fn new(s: &Service, first: u32, len: u32) -> Balancer {
        let many = len > 1;
        // An autoscaled service's pool changes at run time: its members are always kept.
        let pool = s.health_check.is_some() || s.autoscale.is_some();
        Balancer {
            first,
            len,
            up: (many && pool).then(|| UpSet::full(len)),
            least: (many && s.lb == LbPolicy::LeastOutstanding).then(|| MinTree::new(len)),
            changed: Vec::new(),
            crashed: 0,
            round_robin: 0,
            checked: s.health_check.is_some(),
        }
    }
}

impl Balancer {
    /// This pool keeps its replicas' loads (`least-outstanding` over more than one).
    pub(super) fn watches_load(&self) -> bool {
        self.least.is_some()
    }
}

impl<'m> World<'m> {
    /// The replica a request to `service` goes to: a version by weight, when the service has
    /// versions (decided at model build), then a replica of it by the service's policy.
    /// Inlined, with the pick of a pool's only replica: a one-replica service (the M/M/1)
    /// makes no call here; a pool of several picks out of line.
    #[inline(always)]
    pub(super) fn pick_replica(&mut self, service: ServiceId) -> u32 {
        let s = service.0 as usize;
        if !self.versioned || self.model.services[s].versions.is_empty() {
            let b = &self.balancers[s];
            if b.len == 1 {
                return b.first;
            }
            self.pick_in_pool(s, s)
        } else {
            let p = self.pick_version(s);
            self.pick_in_pool(s, p)
        }
    }

    /// The next replica of fixed pool `p` (`Target::RoundRobin`: several replicas, a pool
    /// that never changes) in round-robin order: `pick_in_pool`'s pick, inlined. The count
    /// stays below the pool's fixed size, so it wraps by a comparison, not a division.
    #[inline(always)]
    pub(super) fn pick_round_robin(&mut self, p: usize) -> u32 {
        let b = &mut self.balancers[p];
        let k = b.round_robin;
        debug_assert!(k < b.len && b.up.is_none());
        b.round_robin = if k + 1 == b.len { 0 } else { k + 1 };
        b.first + k
    }

    /// The least-outstanding replica of fixed pool `p` (`Target::Least`): `pick_in_pool`'s
    /// pick, inlined.
    #[inline(always)]
    pub(super) fn pick_least(&self, p: usize) -> u32 {
        let b = &self.balancers[p];
        debug_assert!(b.len > 1 && b.up.is_none());
        b.first
            + b.least
                .as_ref()
                .expect("kept for least-outstanding")
                .least()
    }

    /// A replica of pool `p` of service `s`.
    #[inline(never)]
    fn pick_in_pool(&mut self, s: usize, p: usize) -> u32 {
        let b = &mut self.balancers[p];
        let (base, n) = (b.first, b.len);
        if n == 1 {
            return base;
        }
        if let Some(up) = &b.up
            && up.len() > 0
            && up.len() < n
        {
            return base + self.pick_among_believed_up(s, p);
        }
        let load = |r: u32, w: &Self| w.replicas[r as usize].outstanding;
        match self.model.services[s].lb {
            LbPolicy::RoundRobin => {
                let k = b.round_robin;
                b.round_robin = (k + 1) % n;
                base + k
            }
            LbPolicy::Random => base + self.rng.lb[s].random_range(0..n),
            LbPolicy::LeastOutstanding => {
                base + b
                    .least
                    .as_ref()
                    .expect("kept for least-outstanding")
                    .least()
            }
            LbPolicy::PowerOfTwo => {
                let a = self.rng.lb[s].random_range(0..n);
                let b = (a + 1 + self.rng.lb[s].random_range(0..n - 1)) % n;
                let (ra, rb) = (base + a, base + b);
                if load(rb, self) < load(ra, self) {
                    rb
                } else {
                    ra
                }
            }
        }
    }

    /// The same policies over the replicas a health check last saw up, by rank in index
    /// order (as a list of them would hold them). Returns the index within the pool.
    fn pick_among_believed_up(&mut self, s: usize, p: usize) -> u32 {
        let b = &mut self.balancers[p];
        let base = b.first;
        let up = b.up.as_ref().expect("kept with health checks");
        let m = up.len();
        let load = |r: u32| self.replicas[(base + r) as usize].outstanding;
        match self.model.services[s].lb {
            LbPolicy::RoundRobin => {
                let k = b.round_robin % m;
                b.round_robin = (k + 1) % m;
                up.select(k)
            }
            LbPolicy::Random => up.select(self.rng.lb[s].random_range(0..m)),
            LbPolicy::LeastOutstanding => b.least.as_ref().expect("kept").least(),
            LbPolicy::PowerOfTwo => {
                if m == 1 {
                    return up.select(0);
                }
                let a = self.rng.lb[s].random_range(0..m);
                let c = (a + 1 + self.rng.lb[s].random_range(0..m - 1)) % m;
                let (ra, rc) = (up.select(a), up.select(c));
                if load(rc) < load(ra) { rc } else { ra }
            }
        }
    }

    /// Replica `r`'s outstanding count changed: a `least-outstanding` balancer learns it.
    /// Only a run with a load-keeping pool or a draining replica looks further: decided at
    /// build (`load_watched`), so a plain run pays one test.
    #[inline]
    pub(super) fn load_changed(&mut self, r: usize) {
        if self.load_watched || self.draining > 0 {
            self.load_changed_watched(r);
        }
    }

    #[inline]
    fn load_changed_watched(&mut self, r: usize) {
        let rep = &self.replicas[r];
        let b = &mut self.balancers[rep.pool as usize];
        if let Some(tree) = &mut b.least {
            tree.set_load(r as u32 - b.first, rep.outstanding);
        }
        if self.draining > 0 && rep.draining && rep.outstanding == 0 {
            self.drained(r);
        }
    }

    /// Replica `r` joined (`true`) or left its autoscaled service's pool: the callers see it
    /// at once (readiness), believing it up if the health checks would.
    pub(super) fn pool_changed(&mut self, r: usize, member: bool) {
        let b = &mut self.balancers[self.replicas[r].pool as usize];
        let i = r as u32 - b.first;
        let believed = member && (!b.checked || self.replicas[r].is_up());
        if let Some(up) = &mut b.up {
            up.set(i, believed);
        }
        if let Some(tree) = &mut b.least {
            tree.set_excluded(i, !believed);
        }
    }

    /// Replica `r` really went down (`up == false`) or came back; the next health check
    /// will tell the callers.
    pub(super) fn replica_changed(&mut self, r: usize, up: bool) {
        let b = &mut self.balancers[self.replicas[r].pool as usize];
        if up {
            b.crashed -= 1;
        } else {
            b.crashed += 1;
        }
        if b.up.is_some() && b.checked {
            b.changed.push(r as u32 - b.first);
        }
    }

    /// Callers of service `s` learn which replicas are up now; the next check follows. Only
    /// the replicas that crashed or restarted since the last check can have changed.
    pub(super) fn health_check(&mut self, s: ServiceId) {
        let i = s.0 as usize;
        self.pool_health_check(i);
        for p in self.version_pools(i) {
            self.pool_health_check(p);
        }
        if let Some(every) = self.model.services[i].health_check
            && self.q.now() + every < self.horizon
        {
            self.q.schedule(every, Event::HealthCheck(s));
        }
    }

    fn pool_health_check(&mut self, p: usize) {
        let b = &mut self.balancers[p];
        let base = b.first as usize;
        for &r in &b.changed {
            let rep = &self.replicas[base + r as usize];
            let up_now = rep.is_up() && rep.pooled;
            if let Some(up) = &mut b.up {
                up.set(r, up_now);
            }
            if let Some(tree) = &mut b.least {
                tree.set_excluded(r, !up_now);
            }
        }
        b.changed.clear();
    }
}

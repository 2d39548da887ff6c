//! Counters and histograms filled while a run goes, turned into [`RunResults`] at the end.
//!
//! Only requests that started after warmup are counted; the world checks that before calling.

use crate::model::{EndpointId, Model, ServiceId, WorkloadId};
use crate::results::{
    CallStats, EndpointStats, FailureCounts, LatencyCounts, OpenBucket, ServiceStats, VersionStats,
    WorkloadBucket, WorkloadStats, new_latency_histogram,
};
use crate::time::{SimDuration, SimTime};

use super::world::Outcome;

pub struct WorkloadAcc {
    pub sent: u64,
    pub ok: u64,
    /// Successes that ended inside [warmup, duration), whenever they were sent.
    pub ok_in_window: u64,
    pub degraded: u64,
    pub failed: FailureCounts,
    /// Counts, made into the histogram at the end (see [`LatencyCounts`]).
    pub latency: LatencyCounts,
    /// The buckets' latencies are not all in `buckets[..].latency` while the run goes: the
    /// latest bucket's are in `open`, handed over at the end ([`Stats::workload_results`]).
    pub buckets: Vec<WorkloadBucket>,
    pub open: OpenBucket,
}

pub struct EndpointAcc {
    pub arrivals: u64,
    pub completed: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Requests served, or left at a replica at the end, after their caller gave up.
    pub abandoned: u64,
    /// Arrivals refused before a worker took them other than by a full queue: by a crashed
    /// replica (`unavailable`), a rate limit or load shedding. Only in versions' `failed`.
    pub refused: u64,
    /// Counts, made into the histogram at the end (see [`LatencyCounts`]); they take no room
    /// before the first success, so an endpoint that never answers costs no histogram.
    pub latency: LatencyCounts,
}

#[derive(Default)]
pub struct ServiceAcc {
    pub arrivals: u64,
    pub rejected: u64,
    pub rate_limited: u64,
    pub shed: u64,
}

pub struct Stats {
    bucket_ns: u64,
    /// The bucket of the latest `now` seen, `[start, end)`: most lookups hit it, which
    /// saves a 64-bit division per request on the hot path.
    current: (u64, u64, usize),
    /// The last bucket's index (every workload has as many), where later times go.
    last_bucket: usize,
    pub workloads: Vec<WorkloadAcc>,
    pub endpoints: Vec<EndpointAcc>,
    pub services: Vec<ServiceAcc>,
    pub calls: CallStats,
    /// Call attempts made by services (not by clients), for amplification.
    pub service_call_attempts: u64,
}

impl Stats {
    pub fn new(model: &Model, buckets: usize) -> Stats {
        Stats {
            bucket_ns: model.bucket.as_nanos().max(1),
            current: (0, model.bucket.as_nanos().max(1), 0),
            last_bucket: buckets.saturating_sub(1),
            workloads: model
                .workloads
                .iter()
                .map(|_| WorkloadAcc {
                    sent: 0,
                    ok: 0,
                    ok_in_window: 0,
                    degraded: 0,
                    failed: FailureCounts::default(),
                    latency: LatencyCounts::default(),
                    buckets: vec![WorkloadBucket::default(); buckets],
                    open: OpenBucket::default(),
                })
                .collect(),
            endpoints: model
                .endpoints
                .iter()
                .map(|_| EndpointAcc {
                    arrivals: 0,
                    completed: 0,
                    rejected: 0,
                    failed: 0,
                    abandoned: 0,
                    refused: 0,
                    latency: LatencyCounts::default(),
                })
                .collect(),
            services: model
                .services
                .iter()
                .map(|_| ServiceAcc::default())
                .collect(),
            calls: CallStats::default(),
            service_call_attempts: 0,
        }
    }

    /// The index of the bucket `at` falls in (the last one for anything past it). Always
    /// inlined: at a request's end LLVM kept it a call (~8 instructions a request).
    #[inline(always)]
    fn bucket_index(&mut self, at: SimTime) -> usize {
        let (start, end, current) = self.current;
        let i = if at.0 >= start && at.0 < end {
            current
        } else {
            let i = (at.0 / self.bucket_ns) as usize;
            if at.0 >= end {
                let start = i as u64 * self.bucket_ns;
                self.current = (start, start + self.bucket_ns, i);
            }
            i
        };
        i.min(self.last_bucket)
    }

    #[inline]
    pub fn request_sent(&mut self, w: WorkloadId, now: SimTime) {
        let i = self.bucket_index(now);
        let acc = &mut self.workloads[w.0 as usize];
        acc.sent += 1;
        acc.buckets[i].sent += 1;
    }

    /// A client request of workload `w`, sent at `started`, ended now. A success that ends
    /// in the measured window (`in_window`) counts there, whenever it was sent; the rest only
    /// for a request sent after warmup (`measured`). One call, so the workload is indexed
    /// once per request.
    #[inline(always)]
    pub fn request_done(
        &mut self,
        w: WorkloadId,
        started: SimTime,
        now: SimTime,
        outcome: Outcome,
        in_window: bool,
        measured: bool,
    ) {
        let i = if measured {
            self.bucket_index(started)
        } else {
            0
        };
        let acc = &mut self.workloads[w.0 as usize];
        if in_window && outcome == Outcome::Ok {
            acc.ok_in_window += 1;
        }
        if !measured {
            return;
        }
        let latency_ns = now.since(started).as_nanos();
        match outcome {
            Outcome::Ok => {
                acc.ok += 1;
                acc.latency.record_ns(latency_ns);
                acc.buckets[i].ok += 1;
                acc.open.record_ns(i, latency_ns, &mut acc.buckets);
            }
            Outcome::Degraded => {
                acc.degraded += 1;
                acc.buckets[i].degraded += 1;
            }
            Outcome::Failed(cause) => {
                acc.failed.add(cause);
                acc.buckets[i].failed.add(cause);
            }
        }
    }

    #[inline]
    pub fn call_attempt(&mut self, by_service: bool) {
        self.calls.attempts += 1;
        if by_service {
            self.service_call_attempts += 1;
        }
    }

    /// Always inlined: LLVM kept it a call at an arrival once the client's start was
    /// inlined into `send_request`.
    #[inline(always)]
    pub fn arrival(&mut self, s: ServiceId, e: EndpointId) {
        self.services[s.0 as usize].arrivals += 1;
        self.endpoints[e.0 as usize].arrivals += 1;
    }

    pub fn rejection(&mut self, s: ServiceId, e: EndpointId) {
        self.services[s.0 as usize].rejected += 1;
        self.endpoints[e.0 as usize].rejected += 1;
    }

    #[inline]
    pub fn job_done(&mut self, e: EndpointId, latency: SimDuration, outcome: Outcome) {
        let acc = &mut self.endpoints[e.0 as usize];
        acc.completed += 1;
        match outcome {
            Outcome::Ok | Outcome::Degraded => acc.latency.record_ns(latency.as_nanos()),
            Outcome::Failed(_) => acc.failed += 1,
        }
    }

    /// An arrival refused by a crashed replica, a rate limit or shedding.
    #[cold]
    pub fn refused(&mut self, e: EndpointId) {
        self.endpoints[e.0 as usize].refused += 1;
    }

    /// A request served (or left at a replica) after its caller had given up on it.
    #[inline]
    pub fn abandoned(&mut self, e: EndpointId) {
        self.endpoints[e.0 as usize].abandoned += 1;
    }

    pub fn workload_results(&mut self, model: &Model) -> Vec<WorkloadStats> {
        self.workloads
            .iter_mut()
            .zip(&model.workloads)
            .map(|(acc, w)| {
                std::mem::take(&mut acc.open).close(&mut acc.buckets);
                WorkloadStats {
                    name: w.name.clone(),
                    sent: acc.sent,
                    ok: acc.ok,
                    ok_in_window: acc.ok_in_window,
                    degraded: acc.degraded,
                    failed: acc.failed,
                    in_flight: acc.sent - acc.ok - acc.degraded - acc.failed.total(),
                    latency: std::mem::take(&mut acc.latency).into_histogram(),
                    buckets: std::mem::take(&mut acc.buckets),
                }
            })
            .collect()
    }

    /// Per service, its versions' accounts (the base's first), from the endpoints' before
    /// [`Stats::endpoint_results`] adds the copies into their base endpoints. `runs` has
    /// every version's final weight and rollback time, in model order.
    pub fn version_results(
        &self,
        model: &Model,
        runs: &[(f64, Option<SimTime>)],
    ) -> Vec<Vec<VersionStats>> {
        let mut runs = runs.iter();
        model
            .services
            .iter()
            .map(|s| {
                if s.versions.is_empty() {
                    return Vec::new();
                }
                let taken: Vec<(f64, Option<SimTime>)> =
                    runs.by_ref().take(s.versions.len()).copied().collect();
                let left = 100.0 - taken.iter().map(|(w, _)| w).sum::<f64>();
                let base = self.version_stats(
                    crate::model::BASE_VERSION,
                    s.base_replicas(),
                    (left.max(0.0), None),
                    &s.endpoints,
                );
                let versions = s
                    .versions
                    .iter()
                    .zip(taken)
                    .map(|(v, run)| self.version_stats(&v.name, v.replicas, run, &v.endpoints));
                std::iter::once(base).chain(versions).collect()
            })
            .collect()
    }

    fn version_stats(
        &self,
        name: &str,
        replicas: u32,
        (weight, rolled_back_at): (f64, Option<SimTime>),
        endpoints: &[EndpointId],
    ) -> VersionStats {
        let mut latency = new_latency_histogram();
        let (mut arrivals, mut failed) = (0, 0);
        for e in endpoints {
            let acc = &self.endpoints[e.0 as usize];
            arrivals += acc.arrivals;
            failed += acc.failed + acc.rejected + acc.refused;
            acc.latency.record_into(&mut latency);
        }
        VersionStats {
            name: name.to_string(),
            replicas,
            weight,
            arrivals,
            failed,
            latency,
            rolled_back_at,
        }
    }

    /// Every endpoint the file declares or flows derive; a version's copy of an endpoint is
    /// added into its base endpoint (the service's endpoint, over all its versions).
    pub fn endpoint_results(&mut self, model: &Model) -> Vec<EndpointStats> {
        let own = model.own_endpoints();
        for copy in own..self.endpoints.len() {
            let Some((base, _)) = model.endpoints[copy].version_of else {
                continue;
            };
            let (head, tail) = self.endpoints.split_at_mut(copy);
            let (to, from) = (&mut head[base.0 as usize], &mut tail[0]);
            to.arrivals += from.arrivals;
            to.completed += from.completed;
            to.rejected += from.rejected;
            to.failed += from.failed;
            to.abandoned += from.abandoned;
            to.latency.add(&std::mem::take(&mut from.latency));
        }
        self.endpoints.truncate(own);
        self.endpoints
            .iter_mut()
            .enumerate()
            .map(|(i, acc)| EndpointStats {
                name: model.endpoint_name(EndpointId(i as u32)),
                arrivals: acc.arrivals,
                completed: acc.completed,
                rejected: acc.rejected,
                failed: acc.failed,
                abandoned: acc.abandoned,
                // The counts themselves: their figures are read from them, with no
                // histogram built (see `EndpointStats::latency`).
                latency: std::mem::take(&mut acc.latency),
            })
            .collect()
    }

    pub fn service_results(
        &self,
        model: &Model,
        means: &[[f64; 3]],
        buckets: Vec<Vec<f64>>,
    ) -> Vec<ServiceStats> {
        use super::levels::{BUSY, IN_SYSTEM, QUEUED};
        let window_s = model.duration.as_secs_f64()
            - model.warmup.as_secs_f64().min(model.duration.as_secs_f64());
        model
            .services
            .iter()
            .zip(&self.services)
            .zip(means)
            .zip(buckets)
            .map(|(((s, acc), m), in_system_buckets)| ServiceStats {
                name: s.name.clone(),
                abandoned: s
                    .endpoints
                    .iter()
                    .map(|e| self.endpoints[e.0 as usize].abandoned)
                    .sum(),
                replicas: s.replicas,
                workers: s.workers,
                default_keys: s.default_keys.clone(),
                arrivals: acc.arrivals,
                rejected: acc.rejected,
                rate_limited: acc.rate_limited,
                shed: acc.shed,
                // 64-bit: 100,000 replicas × 1,000,000 workers does not fit in 32 bits.
                utilization: m[BUSY] / s.worker_slots() as f64,
                mean_in_system: m[IN_SYSTEM],
                mean_queued: m[QUEUED],
                in_system_buckets,
                versions: Vec::new(),
                replicas_max: s.replicas,
                replica_seconds: f64::from(s.replicas) * window_s,
                scale_events: 0,
                autoscale: None,
            })
            .collect()
    }
}

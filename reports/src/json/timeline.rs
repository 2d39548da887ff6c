//! The `timeline` section of the JSON report: figures per time bucket, one number per bucket
//! in every array, so a fault window (and whether the system recovered after it) shows in
//! numbers.

use serde::Serialize;
use sim_core::results::{RunResults, WorkloadStats};

use super::messages::ChannelName;
use super::{Named, round};

/// Figures per time bucket. Bucket `i` covers `[i * bucket_s, (i + 1) * bucket_s)` of
/// simulated time; a request is counted in the bucket in which it was sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TimelineReport {
    pub bucket_s: f64,
    pub workloads: Named<WorkloadTimeline>,
    pub services: Named<ServiceTimeline>,
    /// Per queue (model order, as in `messages.queues`).
    pub queues: Named<DepthTimeline>,
    /// Per topic, its groups (model order, as in `messages.topics`).
    pub topics: Named<TopicTimeline>,
    /// End of warmup, for the text report; not part of the JSON.
    #[serde(skip)]
    pub warmup_s: f64,
    /// End of arrivals, for the text report; not part of the JSON.
    #[serde(skip)]
    pub duration_s: f64,
}

impl TimelineReport {
    /// The timeline of `results`, every array of the same length (see [`Self::uniform`]).
    pub(super) fn of(results: &RunResults, sim_time_s: f64) -> TimelineReport {
        let depth = |buckets: &[f64]| DepthTimeline {
            depth: buckets.iter().map(|&x| round(x)).collect(),
        };
        let m = &results.messages;
        TimelineReport {
            bucket_s: round(results.bucket.as_secs_f64()),
            workloads: Named(
                results
                    .workloads
                    .iter()
                    .map(|w| (w.name.clone(), WorkloadTimeline::of(w)))
                    .collect(),
            ),
            services: Named(
                results
                    .services
                    .iter()
                    .map(|s| {
                        let in_system = s.in_system_buckets.iter().map(|&x| round(x)).collect();
                        let rounded = |v: &[f64]| v.iter().map(|&x| round(x)).collect();
                        let a = s.autoscale.as_ref();
                        let timeline = ServiceTimeline {
                            in_system,
                            replicas: a.map(|a| rounded(&a.replicas_buckets)),
                            desired: a.map(|a| rounded(&a.desired_buckets)),
                        };
                        (s.name.clone(), timeline)
                    })
                    .collect(),
            ),
            queues: Named(
                m.queues
                    .iter()
                    .map(|q| (q.name.clone(), depth(&q.depth_buckets)))
                    .collect(),
            ),
            topics: Named(
                m.topics
                    .iter()
                    .map(|t| {
                        let groups = t
                            .groups
                            .iter()
                            .map(|g| (g.name.clone(), depth(&g.depth_buckets)))
                            .collect();
                        let groups = Named(groups);
                        (t.name.clone(), TopicTimeline { groups })
                    })
                    .collect(),
            ),
            warmup_s: round(results.warmup.as_secs_f64()),
            duration_s: round(results.duration.as_secs_f64()),
        }
        .uniform(sim_time_s)
    }

    /// Every queue's, then every topic group's depth per bucket, in model order.
    pub fn depths(&self) -> impl Iterator<Item = (ChannelName<'_>, &[f64])> {
        let queues = self
            .queues
            .iter()
            .map(|(name, q)| (ChannelName { name, group: None }, q.depth.as_slice()));
        let groups = self.topics.iter().flat_map(|(topic, t)| {
            t.groups.iter().map(move |(group, g)| {
                let name = ChannelName {
                    name: topic,
                    group: Some(group),
                };
                (name, g.depth.as_slice())
            })
        });
        queues.chain(groups)
    }

    /// Gives every array the same length: the buckets that overlap the run
    /// (`ceil(sim_time_s / bucket_s)`), or more if some array has data beyond them. Missing
    /// buckets are 0 (not measured, e.g. a last partial bucket); trailing buckets past that
    /// length are dropped only when they hold nothing. When the run kept no bucket at all,
    /// the arrays stay empty.
    fn uniform(mut self, sim_time_s: f64) -> TimelineReport {
        let kept_none = self.workloads.iter().all(|(_, w)| w.is_empty())
            && self.services.iter().all(|(_, s)| s.in_system.is_empty())
            && self.depths().all(|(_, d)| d.is_empty());
        if kept_none {
            return self;
        }
        let overlapping = if self.bucket_s > 0.0 {
            (sim_time_s / self.bucket_s - 1e-9).ceil().max(0.0) as usize
        } else {
            0
        };
        let used = |len: usize, empty: &dyn Fn(usize) -> bool| {
            (0..len).rev().find(|&i| !empty(i)).map_or(0, |i| i + 1)
        };
        let mut n = overlapping;
        for (_, w) in self.workloads.iter() {
            n = n.max(used(w.len(), &|i| {
                w.sent[i] == 0 && w.ok[i] == 0 && w.degraded[i] == 0 && w.failed[i] == 0
            }));
        }
        for (_, s) in self.services.iter() {
            n = n.max(used(s.in_system.len(), &|i| s.in_system[i] == 0.0));
        }
        for (_, d) in self.depths() {
            n = n.max(used(d.len(), &|i| d[i] == 0.0));
        }
        for (_, w) in &mut self.workloads.0 {
            for v in [&mut w.sent, &mut w.ok, &mut w.degraded, &mut w.failed] {
                v.resize(n, 0);
            }
            w.p50_ms.resize(n, None);
            w.p99_ms.resize(n, None);
        }
        for (_, s) in &mut self.services.0 {
            s.in_system.resize(n, 0.0);
            for v in [&mut s.replicas, &mut s.desired].into_iter().flatten() {
                v.resize(n, 0.0);
            }
        }
        for (_, q) in &mut self.queues.0 {
            q.depth.resize(n, 0.0);
        }
        for (_, t) in &mut self.topics.0 {
            for (_, g) in &mut t.groups.0 {
                g.depth.resize(n, 0.0);
            }
        }
        self
    }
}

/// One workload's figures per time bucket: one number per bucket in every array.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkloadTimeline {
    pub sent: Vec<u64>,
    pub ok: Vec<u64>,
    pub degraded: Vec<u64>,
    pub failed: Vec<u64>,
    /// Of the successful requests sent in the bucket; `None` (`null`) when there were none.
    pub p50_ms: Vec<Option<f64>>,
    pub p99_ms: Vec<Option<f64>>,
    /// The workload's rate changes over time (a schedule, a sine, a file, spikes): the
    /// throughput plot draws its arrival rate behind. For the plots; not in the JSON.
    #[serde(skip)]
    pub varying: bool,
}

impl WorkloadTimeline {
    fn of(w: &WorkloadStats) -> WorkloadTimeline {
        let mut t = WorkloadTimeline::default();
        for b in &w.buckets {
            t.sent.push(b.sent);
            t.ok.push(b.ok);
            t.degraded.push(b.degraded);
            t.failed.push(b.failed.total());
            // Only the two figures the timeline shows: no mean, p90 or p99.9 per bucket.
            let p50_p99 = b.latency.quantiles([0.50, 0.99]);
            t.p50_ms.push(p50_p99.map(|[p50, _]| round(p50)));
            t.p99_ms.push(p50_p99.map(|[_, p99]| round(p99)));
        }
        t
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.sent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }
}

/// One service's figures per time bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServiceTimeline {
    /// Time-average of requests queued or in service during the bucket.
    pub in_system: Vec<f64>,
    /// An autoscaled service's mean replicas in the pool during the bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<f64>>,
    /// An autoscaled service's mean desired replicas during the bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<Vec<f64>>,
}

/// One queue's or consumer group's figures per time bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DepthTimeline {
    /// Time-average of copies queued or in flight during the bucket (consumer lag, in
    /// messages); 0 for a bucket the run did not finish.
    pub depth: Vec<f64>,
}

/// One topic's figures per time bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TopicTimeline {
    /// Per consumer group, in model order.
    pub groups: Named<DepthTimeline>,
}

//! The World: all state of a run, changed by one event at a time.
//!
//! A request's life, synchronously: the caller picks a replica (load balancer), the request
//! crosses a link (it may be lost), waits in the replica's accept queue (or is rejected when
//! the queue is full), holds a worker for its `work`, answers with an error with probability
//! `fail`, otherwise makes its downstream calls — one after another or all at once — while
//! still holding the worker, and finally replies across the reverse link. A caller waits for
//! the reply or its timeout, whichever comes first; the other is then ignored.
//!
//! Every call, whether a client's request or a service's call to another, goes through one
//! path (`send_call` -> `complete_call`), which is where retries, breakers and bulkheads hook
//! in: a `PendingCall` is the caller's record of one outstanding call.

use std::collections::VecDeque;

use rand::RngExt;

use super::RunError;
use super::levels::{BUSY, IN_SYSTEM, Levels, Marks, QUEUED};
use super::slab::{Handle, Slab};
use super::stats::Stats;
use crate::dist::Dist;
use crate::kernel::EventQueue;
use crate::model::{Arrival, Call, EndpointId, LbPolicy, LinkId, Model, ServiceId, WorkloadId};
use crate::results::Cause;
use crate::rng::{Stream, stream};
use crate::time::{SimDuration, SimTime};

/// `None` is success; `Some(cause)` a failure and why.
pub type Outcome = Option<Cause>;

/// Everything that can happen. Small and `Copy`: the heap holds values, not boxes.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// An open-loop workload's next request.
    OpenArrival(WorkloadId),
    /// A closed-loop user has finished thinking.
    UserSend(WorkloadId),
    /// A request message reaches its replica.
    RequestArrive(Handle),
    /// A job's work is done.
    WorkDone(Handle),
    /// A reply reaches the caller of a pending call.
    Reply(Handle, Outcome),
    /// A pending call's timeout fires.
    Timeout(Handle),
}

/// Which model call a pending call is making.
#[derive(Clone, Copy, Debug)]
enum CallRef {
    Workload(WorkloadId),
    Endpoint(EndpointId, u16),
}

/// Who waits for a pending call's outcome.
#[derive(Clone, Copy, Debug)]
enum Caller {
    Client(WorkloadId),
    Job(Handle),
}

/// The caller's record of one outstanding call.
struct PendingCall {
    caller: Caller,
    call: CallRef,
    started: SimTime,
}

/// One request being served by one replica: in transit, queued, working or calling.
struct Job {
    endpoint: EndpointId,
    replica: u32,
    reply_to: Handle,
    arrived: SimTime,
    next_call: u16,
    outstanding: u16,
}

struct Replica {
    service: ServiceId,
    busy: u32,
    /// Jobs assigned to this replica (in transit, queued or in service): what a load balancer
    /// that counts its outstanding requests sees.
    outstanding: u32,
    queue: VecDeque<Handle>,
}

/// Random streams, one per component and purpose (see `crate::rng`).
struct Streams {
    workload: Vec<Stream>,
    work: Vec<Stream>,
    fail: Vec<Stream>,
    link_latency: Vec<Stream>,
    link_loss: Vec<Stream>,
    lb: Vec<Stream>,
}

pub struct World<'m> {
    model: &'m Model,
    q: EventQueue<Event>,
    end_of_arrivals: SimTime,
    warmup: SimTime,
    replica_base: Vec<u32>,
    replicas: Vec<Replica>,
    round_robin: Vec<u32>,
    jobs: Slab<Job>,
    calls: Slab<PendingCall>,
    rng: Streams,
    /// Inter-arrival distribution per workload (open loop, Poisson).
    gaps: Vec<Dist>,
    marks: Marks,
    levels: Vec<Levels>,
    pub(super) stats: Stats,
    stop: Option<RunError>,
}

impl<'m> World<'m> {
    pub fn new(model: &'m Model, seed: u64) -> World<'m> {
        let end_of_arrivals = SimTime::ZERO + model.duration;
        let horizon = model.duration + model.drain;
        let bucket_ns = model.bucket.as_nanos().max(1);
        let marks = Marks {
            warmup: SimTime::ZERO + model.warmup,
            end_of_arrivals,
            bucket_ns,
            buckets: horizon.as_nanos().div_ceil(bucket_ns).max(1) as usize,
        };
        let mut replica_base = Vec::with_capacity(model.services.len());
        let mut replicas = Vec::with_capacity(model.replica_count());
        for (i, s) in model.services.iter().enumerate() {
            replica_base.push(replicas.len() as u32);
            for _ in 0..s.replicas {
                replicas.push(Replica {
                    service: ServiceId(i as u32),
                    busy: 0,
                    outstanding: 0,
                    queue: VecDeque::new(),
                });
            }
        }
        let rng = Streams {
            workload: model
                .workloads
                .iter()
                .map(|w| stream(seed, &format!("workload/{}", w.name)))
                .collect(),
            work: (0..model.endpoints.len())
                .map(|e| {
                    stream(
                        seed,
                        &format!(
                            "endpoint/{}/work",
                            model.endpoint_name(EndpointId(e as u32))
                        ),
                    )
                })
                .collect(),
            fail: (0..model.endpoints.len())
                .map(|e| {
                    stream(
                        seed,
                        &format!(
                            "endpoint/{}/fail",
                            model.endpoint_name(EndpointId(e as u32))
                        ),
                    )
                })
                .collect(),
            link_latency: (0..model.links.len())
                .map(|l| {
                    stream(
                        seed,
                        &format!("link/{}/latency", model.link_name(LinkId(l as u32))),
                    )
                })
                .collect(),
            link_loss: (0..model.links.len())
                .map(|l| {
                    stream(
                        seed,
                        &format!("link/{}/loss", model.link_name(LinkId(l as u32))),
                    )
                })
                .collect(),
            lb: model
                .services
                .iter()
                .map(|s| stream(seed, &format!("service/{}/lb", s.name)))
                .collect(),
        };
        World {
            model,
            q: EventQueue::new(),
            end_of_arrivals,
            warmup: marks.warmup,
            replica_base,
            replicas,
            round_robin: vec![0; model.services.len()],
            jobs: Slab::new(),
            calls: Slab::new(),
            rng,
            gaps: model
                .workloads
                .iter()
                .map(|w| match w.arrival {
                    Arrival::Open { rate_per_s, .. } => {
                        Dist::exp(SimDuration::from_nanos_f64(1e9 / rate_per_s))
                    }
                    Arrival::Closed { .. } => Dist::zero(),
                })
                .collect(),
            levels: model.services.iter().map(|_| Levels::new(&marks)).collect(),
            stats: Stats::new(model, marks.buckets),
            marks,
            stop: None,
        }
    }

    /// Runs to the end of the drain period, or until a limit stops the run.
    pub fn run(&mut self) -> Result<(), RunError> {
        self.start();
        let horizon = self.end_of_arrivals + self.model.drain;
        let max_events = self.model.limits.max_events;
        while let Some(t) = self.q.peek_time() {
            if t > horizon {
                break;
            }
            if self.q.popped() >= max_events {
                return Err(RunError::TooManyEvents {
                    limit: max_events,
                    at_s: self.q.now().to_string(),
                });
            }
            let (_, event) = self.q.pop().expect("peeked");
            self.handle(event);
            if let Some(err) = self.stop.take() {
                return Err(err);
            }
            // Arrivals have stopped and nothing is in flight: what remains in the queue is
            // stale (timeouts of calls that were answered), so the run is over. (Orphans, jobs
            // whose caller gave up, still count: their replicas are busy with them.)
            if self.calls.live() == 0
                && self.jobs.live() == 0
                && self.q.now() >= self.end_of_arrivals
            {
                break;
            }
        }
        let end = self.q.now().max(self.end_of_arrivals);
        for l in &mut self.levels {
            l.advance(end, &self.marks);
        }
        Ok(())
    }

    fn start(&mut self) {
        for (i, w) in self.model.workloads.iter().enumerate() {
            let id = WorkloadId(i as u32);
            match &w.arrival {
                Arrival::Open { .. } => {
                    let gap = self.arrival_gap(id);
                    self.schedule_arrival(id, SimTime::ZERO + gap);
                }
                Arrival::Closed { users, think } => {
                    for _ in 0..*users {
                        let t = think.sample(&mut self.rng.workload[i]);
                        self.q.schedule(t, Event::UserSend(id));
                    }
                }
            }
        }
    }

    #[inline]
    fn handle(&mut self, event: Event) {
        match event {
            Event::OpenArrival(w) => {
                self.send_request(w);
                let gap = self.arrival_gap(w);
                self.schedule_arrival(w, self.q.now() + gap);
            }
            Event::UserSend(w) => {
                if self.q.now() < self.end_of_arrivals {
                    self.send_request(w);
                }
            }
            Event::RequestArrive(job) => self.arrive(job),
            Event::WorkDone(job) => self.work_done(job),
            Event::Reply(call, outcome) => self.complete_call(call, outcome),
            Event::Timeout(call) => self.time_out(call),
        }
    }

    fn arrival_gap(&mut self, w: WorkloadId) -> SimDuration {
        let Arrival::Open {
            rate_per_s,
            poisson,
        } = self.model.workloads[w.0 as usize].arrival
        else {
            return SimDuration::ZERO;
        };
        if poisson {
            // Exponential gaps (ziggurat sampling: no logarithm on the common path).
            self.gaps[w.0 as usize].sample(&mut self.rng.workload[w.0 as usize])
        } else {
            SimDuration::from_nanos_f64(1e9 / rate_per_s)
        }
    }

    fn schedule_arrival(&mut self, w: WorkloadId, at: SimTime) {
        if at < self.end_of_arrivals {
            self.q.schedule_at(at, Event::OpenArrival(w));
        }
    }

    fn send_request(&mut self, w: WorkloadId) {
        let now = self.q.now();
        if now >= self.warmup {
            self.stats.request_sent(w, now);
        }
        self.send_call(Caller::Client(w), CallRef::Workload(w));
    }

    fn call_spec(&self, call: CallRef) -> &'m Call {
        let model = self.model;
        match call {
            CallRef::Workload(w) => &model.workloads[w.0 as usize].call,
            CallRef::Endpoint(e, i) => &model.endpoints[e.0 as usize].calls[i as usize],
        }
    }

    /// Starts one call attempt: the caller's record, its timeout, the request on the wire.
    fn send_call(&mut self, caller: Caller, call: CallRef) {
        let now = self.q.now();
        if self.calls.live() >= self.model.limits.max_in_flight {
            self.stop = Some(RunError::TooManyInFlight {
                limit: self.model.limits.max_in_flight,
                at_s: now.to_string(),
            });
            return;
        }
        let spec = self.call_spec(call);
        if now >= self.warmup {
            self.stats.call_attempt(matches!(caller, Caller::Job(_)));
        }
        let handle = self.calls.insert(PendingCall {
            caller,
            call,
            started: now,
        });
        if let Some(timeout) = spec.timeout {
            self.q.schedule(timeout, Event::Timeout(handle));
        }
        let service = self.model.endpoints[spec.to.0 as usize].service;
        let replica = self.pick_replica(service);
        let Some(delay) = self.hop(spec.link, spec.protocol.per_message()) else {
            return; // lost on the way: the caller learns of it only by its timeout
        };
        self.replicas[replica as usize].outstanding += 1;
        let job = self.jobs.insert(Job {
            endpoint: spec.to,
            replica,
            reply_to: handle,
            arrived: now,
            next_call: 0,
            outstanding: 0,
        });
        if delay == SimDuration::ZERO {
            self.arrive(job);
        } else {
            self.q.schedule(delay, Event::RequestArrive(job));
        }
    }

    /// One crossing of `link`: `None` if the message is lost, else its delay.
    #[inline]
    fn hop(&mut self, link: LinkId, extra: SimDuration) -> Option<SimDuration> {
        let l = &self.model.links[link.0 as usize];
        let i = link.0 as usize;
        if l.loss > 0.0 && self.rng.link_loss[i].random::<f64>() < l.loss {
            return None;
        }
        if l.latency.is_zero() {
            return Some(extra);
        }
        Some(l.latency.sample(&mut self.rng.link_latency[i]) + extra)
    }

    fn pick_replica(&mut self, service: ServiceId) -> u32 {
        let s = service.0 as usize;
        let base = self.replica_base[s];
        let n = self.model.services[s].replicas;
        if n == 1 {
            return base;
        }
        let load = |r: u32, reps: &[Replica]| reps[r as usize].outstanding;
        match self.model.services[s].lb {
            LbPolicy::RoundRobin => {
                let k = self.round_robin[s];
                self.round_robin[s] = (k + 1) % n;
                base + k
            }
            LbPolicy::Random => base + self.rng.lb[s].random_range(0..n),
            LbPolicy::LeastOutstanding => (base..base + n)
                .min_by_key(|&r| (load(r, &self.replicas), r))
                .unwrap_or(base),
            LbPolicy::PowerOfTwo => {
                let a = self.rng.lb[s].random_range(0..n);
                let b = (a + 1 + self.rng.lb[s].random_range(0..n - 1)) % n;
                let (ra, rb) = (base + a, base + b);
                if load(rb, &self.replicas) < load(ra, &self.replicas) {
                    rb
                } else {
                    ra
                }
            }
        }
    }

    /// A request reaches its replica: start, queue, or reject it.
    fn arrive(&mut self, job: Handle) {
        let now = self.q.now();
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        j.arrived = now;
        let (endpoint, r) = (j.endpoint, j.replica as usize);
        let service = self.replicas[r].service;
        let svc = &self.model.services[service.0 as usize];
        let counted = now >= self.warmup;
        if counted {
            self.stats.arrival(service, endpoint);
        }
        let levels = &mut self.levels[service.0 as usize];
        levels.advance(now, &self.marks);
        let replica = &mut self.replicas[r];
        if replica.busy < svc.workers {
            replica.busy += 1;
            levels.value[BUSY] += 1;
            levels.value[IN_SYSTEM] += 1;
            self.start_work(job, endpoint);
        } else if svc
            .queue
            .is_none_or(|cap| replica.queue.len() < cap as usize)
        {
            replica.queue.push_back(job);
            levels.value[IN_SYSTEM] += 1;
            levels.value[QUEUED] += 1;
        } else {
            replica.outstanding -= 1;
            if counted {
                self.stats.rejection(service, endpoint);
            }
            let j = self.jobs.remove(job).expect("live job");
            self.reply(j.reply_to, Some(Cause::Rejected));
        }
    }

    fn start_work(&mut self, job: Handle, endpoint: EndpointId) {
        let e = endpoint.0 as usize;
        let work = self.model.endpoints[e].work.sample(&mut self.rng.work[e]);
        self.q.schedule(work, Event::WorkDone(job));
    }

    /// The work is done: fail, reply, or make the downstream calls.
    fn work_done(&mut self, job: Handle) {
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        let e = j.endpoint;
        let ep = &self.model.endpoints[e.0 as usize];
        if ep.fail > 0.0 && self.rng.fail[e.0 as usize].random::<f64>() < ep.fail {
            self.finish(job, Some(Cause::Error));
        } else if ep.calls.is_empty() {
            self.finish(job, None);
        } else if ep.parallel {
            j.outstanding = ep.calls.len() as u16;
            for i in 0..ep.calls.len() {
                // A call that fails at once (rejected over a zero-latency hop) finishes the
                // job; the remaining calls are then not made.
                if self.jobs.get(job).is_none() || self.stop.is_some() {
                    break;
                }
                self.send_call(Caller::Job(job), CallRef::Endpoint(e, i as u16));
            }
        } else {
            j.next_call = 0;
            self.send_call(Caller::Job(job), CallRef::Endpoint(e, 0));
        }
    }

    /// A call ends, by reply or by timeout, whichever came first; the other finds the
    /// pending call gone and is ignored.
    fn complete_call(&mut self, call: Handle, outcome: Outcome) {
        let Some(pc) = self.calls.remove(call) else {
            return;
        };
        let now = self.q.now();
        match pc.caller {
            Caller::Client(w) => {
                if pc.started >= self.warmup {
                    self.stats.request_done(w, pc.started, now, outcome);
                }
                if let Arrival::Closed { think, .. } = &self.model.workloads[w.0 as usize].arrival
                    && now < self.end_of_arrivals
                {
                    let t = think.sample(&mut self.rng.workload[w.0 as usize]);
                    self.q.schedule(t, Event::UserSend(w));
                }
            }
            Caller::Job(job) => self.call_done(job, outcome),
        }
    }

    /// A caller's own timeout fired (not a timeout cause propagated up from further down).
    fn time_out(&mut self, call: Handle) {
        if self.calls.get(call).is_none() {
            return; // the reply came first
        }
        if self.q.now() >= self.warmup {
            self.stats.calls.timeouts += 1;
        }
        self.complete_call(call, Some(Cause::Timeout));
    }

    /// One of a job's downstream calls ended.
    fn call_done(&mut self, job: Handle, outcome: Outcome) {
        let Some(j) = self.jobs.get_mut(job) else {
            return;
        };
        if outcome.is_some() {
            // Sequential calls stop at the first failure; parallel ones fail fast.
            self.finish(job, outcome);
            return;
        }
        let e = j.endpoint;
        let ep = &self.model.endpoints[e.0 as usize];
        if ep.parallel {
            j.outstanding -= 1;
            if j.outstanding == 0 {
                self.finish(job, None);
            }
        } else {
            j.next_call += 1;
            let next = j.next_call;
            if (next as usize) < ep.calls.len() {
                self.send_call(Caller::Job(job), CallRef::Endpoint(e, next));
            } else {
                self.finish(job, None);
            }
        }
    }

    /// A job ends: free its worker (starting the next queued job) and reply.
    fn finish(&mut self, job: Handle, outcome: Outcome) {
        let now = self.q.now();
        let j = self.jobs.remove(job).expect("finishing a live job");
        let r = j.replica as usize;
        let service = self.replicas[r].service;
        if j.arrived >= self.warmup {
            self.stats
                .job_done(j.endpoint, now.since(j.arrived), outcome);
        }
        let levels = &mut self.levels[service.0 as usize];
        levels.advance(now, &self.marks);
        levels.value[IN_SYSTEM] -= 1;
        let replica = &mut self.replicas[r];
        replica.outstanding -= 1;
        if let Some(next) = replica.queue.pop_front() {
            levels.value[QUEUED] -= 1;
            let endpoint = self.jobs.get(next).expect("queued job is live").endpoint;
            self.start_work(next, endpoint);
        } else {
            replica.busy -= 1;
            levels.value[BUSY] -= 1;
        }
        self.reply(j.reply_to, outcome);
    }

    /// Sends a reply back across the reverse link, unless the caller has already given up.
    fn reply(&mut self, call: Handle, outcome: Outcome) {
        let Some(pc) = self.calls.get(call) else {
            return;
        };
        let spec = self.call_spec(pc.call);
        let Some(delay) = self.hop(spec.reply_link, spec.protocol.per_message()) else {
            return; // lost reply: the caller will time out (or wait forever without a timeout)
        };
        if delay == SimDuration::ZERO {
            self.complete_call(call, outcome);
        } else {
            self.q.schedule(delay, Event::Reply(call, outcome));
        }
    }

    pub fn now(&self) -> SimTime {
        self.q.now()
    }

    pub fn events(&self) -> u64 {
        self.q.popped()
    }

    pub(super) fn levels(&self) -> (&[Levels], &Marks) {
        (&self.levels, &self.marks)
    }
}

//! The M/M/1 of the README's peer table (benches/peers/run.sh) written for NeXosim 1.0 the
//! way its documentation writes models: a `Source` that schedules its own next arrival and
//! sends each customer through an output port to a `Server`, which keeps the customers in a
//! FIFO queue and schedules the departure of the one in service. The same model as
//! benches/mm1_limit.rs (the bare loop) and benches/mm1-800.toml (meshsim): λ = 800/s,
//! exponential service of 1 ms mean, one server, ChaCha8 random numbers, `rand_distr`
//! exponential sampling, a running mean of the time in system. The simulation runs on one
//! thread (`SimInit::with_num_threads(1)`), as meshsim does.
//!
//! Usage: `nexosim-mm1 [SIMULATED_SECONDS]` (default 2000, ~1.6 M customers). It prints the
//! customers served and the mean time in system beside M/M/1 theory, W = 1 / (μ − λ) = 5 ms,
//! so that a model doing less work cannot pass for a fast one.

use std::collections::VecDeque;
use std::time::Duration;

use nexosim::model::{Context, Model, schedulable};
use nexosim::ports::{Output, QuerySource};
use nexosim::simulation::{Mailbox, SimInit};
use nexosim::time::MonotonicTime;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};
use serde::{Deserialize, Serialize};

const LAMBDA_PER_S: f64 = 800.0;
const MU_PER_S: f64 = 1000.0;
const NS_PER_S: f64 = 1e9;

/// An exponential delay in whole nanoseconds, as meshsim and the bare loop draw them. NeXosim
/// refuses to schedule an event at the current time, so a draw below 1 ns (about one in a
/// million at these rates) becomes 1 ns: a bias of under 1e-15 s on a 5 ms mean.
fn draw(dist: &Exp<f64>, rng: &mut ChaCha8Rng) -> Duration {
    Duration::from_nanos(((dist.sample(rng) * NS_PER_S) as u64).max(1))
}

/// The Poisson arrivals: one event per customer, each scheduling the next.
#[derive(Serialize, Deserialize)]
pub struct Source {
    /// A customer arrives — output port.
    pub arrival: Output<()>,
    rng: ChaCha8Rng,
    gap: Exp<f64>,
}

#[Model]
impl Source {
    fn new(seed: u64) -> Self {
        Self {
            arrival: Output::default(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            gap: Exp::new(LAMBDA_PER_S).expect("positive rate"),
        }
    }

    /// Schedules the first arrival when the simulation starts.
    #[nexosim(init)]
    async fn init(&mut self, cx: &Context<Self>) {
        let gap = draw(&self.gap, &mut self.rng);
        cx.schedule_event(gap, schedulable!(Self::arrive), ())
            .expect("a gap of at least 1 ns is in the future");
    }

    /// Sends one customer to the server and schedules the next arrival.
    #[nexosim(schedulable)]
    async fn arrive(&mut self, _: (), cx: &Context<Self>) {
        self.arrival.send(()).await;
        let gap = draw(&self.gap, &mut self.rng);
        cx.schedule_event(gap, schedulable!(Self::arrive), ())
            .expect("a gap of at least 1 ns is in the future");
    }
}

/// One server, FIFO: the arrival times of the customers in the system, the one in service
/// first, and the running mean of the time in system of those served.
#[derive(Serialize, Deserialize)]
pub struct Server {
    rng: ChaCha8Rng,
    service: Exp<f64>,
    waiting: VecDeque<MonotonicTime>,
    customers: u64,
    mean_s: f64,
}

#[Model]
impl Server {
    fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            service: Exp::new(MU_PER_S).expect("positive rate"),
            waiting: VecDeque::with_capacity(1024),
            customers: 0,
            mean_s: 0.0,
        }
    }

    /// A customer arrives — input port; an idle server starts serving it at once.
    pub async fn arrive(&mut self, _: (), cx: &Context<Self>) {
        self.waiting.push_back(cx.time());
        if self.waiting.len() == 1 {
            self.start_service(cx);
        }
    }

    /// The customer in service leaves; the next one, if any, starts.
    #[nexosim(schedulable)]
    async fn depart(&mut self, _: (), cx: &Context<Self>) {
        let arrived = self
            .waiting
            .pop_front()
            .expect("a departure has a customer");
        self.customers += 1;
        let sojourn_s = cx.time().duration_since(arrived).as_secs_f64();
        self.mean_s += (sojourn_s - self.mean_s) / self.customers as f64;
        if !self.waiting.is_empty() {
            self.start_service(cx);
        }
    }

    fn start_service(&mut self, cx: &Context<Self>) {
        let service = draw(&self.service, &mut self.rng);
        cx.schedule_event(service, schedulable!(Self::depart), ())
            .expect("a service of at least 1 ns is in the future");
    }

    /// Customers served and their mean time in system in seconds — replier port.
    pub async fn stats(&mut self, _: ()) -> (u64, f64) {
        (self.customers, self.mean_s)
    }
}

fn main() {
    let seconds = std::env::args()
        .nth(1)
        .map(|a| a.parse::<f64>().expect("SIMULATED_SECONDS is a number"))
        .unwrap_or(2000.0);
    let mut source = Source::new(1);
    let server = Server::new(2);
    let (source_mbox, server_mbox) = (Mailbox::new(), Mailbox::new());
    source.arrival.connect(Server::arrive, &server_mbox);

    let mut bench = SimInit::with_num_threads(1);
    let stats = QuerySource::new()
        .connect(Server::stats, &server_mbox)
        .register(&mut bench);
    let t0 = MonotonicTime::EPOCH;
    let mut simu = bench
        .add_model(source, source_mbox, "source")
        .add_model(server, server_mbox, "server")
        .init(t0)
        .expect("the bench assembles");
    simu.step_until(t0 + Duration::from_secs_f64(seconds))
        .expect("the simulation runs");
    let (customers, mean_s) = simu.process_query(&stats, ()).expect("the server replies");

    // The mean of no customers is absent, not 0.
    let mean_ms = match customers {
        0 => "-".to_string(),
        _ => format!("{:.3}", mean_s * 1e3),
    };
    let theory_ms = 1e3 / (MU_PER_S - LAMBDA_PER_S);
    println!("nexosim=1.0.0 customers={customers} mean_ms={mean_ms} theory_ms={theory_ms:.3}");
}

//! Queueing theory: the engine's single-station numbers against closed-form results.
//!
//! M/M/1 and M/M/c (Erlang C) give exact steady-state means and sojourn-time distributions.
//! The runs are long (millions of customers) so the tolerances are about the model, not the
//! dice: at rho = 0.8 the standard error of the mean sojourn over ~4 million customers is
//! well under 1%.

use crate::support::{rel, run};
use sim_core::results::LatencySummary;

/// A single service with `workers` workers, exp(1/mu) work, Poisson arrivals at `lambda`.
fn station(lambda: f64, workers: u32, mean_work_us: u64, duration_s: u64) -> String {
    format!(
        r#"
[scenario]
name = "station"
duration = "{duration_s}s"
warmup = "50s"
drain = "60s"

[workload.load]
endpoint = "server/serve"
rate = {lambda}

[service.server]
workers = {workers}

[service.server.endpoint.serve]
work = "exp({mean_work_us}us)"
"#
    )
}

/// P(sojourn > t) in an M/M/c queue: no wait with probability 1 - C, else an
/// Exp(c*mu - lambda) wait, followed by Exp(mu) service.
fn mmc_sojourn_tail(t: f64, c: f64, mu: f64, lambda: f64) -> f64 {
    let erlang_c = erlang_c(c, lambda / mu);
    let theta = c * mu - lambda;
    let with_wait = if (theta - mu).abs() < 1e-12 {
        (1.0 + mu * t) * (-mu * t).exp()
    } else {
        (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    (1.0 - erlang_c) * (-mu * t).exp() + erlang_c * with_wait
}

/// Erlang C: the probability an arrival waits, for c servers and offered load a = lambda/mu.
pub(super) fn erlang_c(c: f64, a: f64) -> f64 {
    let n = c as u32;
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..n {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / c; // a^c / c!
    let top = last * c / (c - a);
    top / (sum + top)
}

/// The quantile q of the sojourn time, by bisection on the tail function.
fn mmc_sojourn_quantile(q: f64, c: f64, mu: f64, lambda: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 100.0 / (c * mu - lambda).min(mu));
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if mmc_sojourn_tail(mid, c, mu, lambda) > 1.0 - q {
            lo = mid
        } else {
            hi = mid
        }
    }
    (lo + hi) / 2.0
}

struct Check {
    lambda: f64,
    mu: f64,
    c: u32,
}

impl Check {
    fn verify(&self, duration_s: u64) {
        let Check { lambda, mu, c } = *self;
        let cf = f64::from(c);
        let text = station(lambda, c, (1e6 / mu).round() as u64, duration_s);
        let r = run(&text, 11);
        let w = &r.workloads[0];
        let s = &r.services[0];
        let lat = LatencySummary::of(&w.latency).expect("requests succeeded");
        assert_eq!(
            w.sent,
            w.ok + w.in_flight,
            "nothing fails in an unbounded M/M/c"
        );
        assert_eq!(w.in_flight, 0, "the drain empties the queue");

        let mean_s = 1.0 / mu + erlang_c(cf, lambda / mu) / (cf * mu - lambda);
        let p50_s = mmc_sojourn_quantile(0.50, cf, mu, lambda);
        let p99_s = mmc_sojourn_quantile(0.99, cf, mu, lambda);
        let rho = lambda / (cf * mu);
        let mean_ms = lat.mean;
        let label = format!("M/M/{c} lambda={lambda} mu={mu}");
        println!(
            "{label}: mean {mean_ms:.4} ms (theory {:.4}), p50 {:.4} ({:.4}), p99 {:.4} ({:.4}), \
             utilization {:.4} ({rho:.4}), customers {}",
            mean_s * 1e3,
            lat.p50,
            p50_s * 1e3,
            lat.p99,
            p99_s * 1e3,
            s.utilization,
            w.sent
        );
        assert!(
            rel(mean_ms, mean_s * 1e3) < 0.03,
            "{label}: mean sojourn {mean_ms} ms vs {}",
            mean_s * 1e3
        );
        assert!(
            rel(lat.p50, p50_s * 1e3) < 0.06,
            "{label}: p50 {} vs {}",
            lat.p50,
            p50_s * 1e3
        );
        assert!(
            rel(lat.p99, p99_s * 1e3) < 0.06,
            "{label}: p99 {} vs {}",
            lat.p99,
            p99_s * 1e3
        );
        assert!(
            rel(s.utilization, rho) < 0.01,
            "{label}: utilization {} vs {rho}",
            s.utilization
        );

        // Little's law: time-average number in system = arrival rate * mean time in system,
        // with both sides measured by the run (arrival rate from the count of arrivals).
        let measured_lambda = s.arrivals as f64 / r.window_s();
        let little = measured_lambda * mean_ms / 1e3;
        assert!(
            rel(s.mean_in_system, little) < 0.03,
            "{label}: L {} vs lambda*W {little}",
            s.mean_in_system
        );
        // And against theory.
        assert!(
            rel(s.mean_in_system, lambda * mean_s) < 0.03,
            "{label}: L {} vs {}",
            s.mean_in_system,
            lambda * mean_s
        );
    }
}

#[test]
fn mm1_at_rho_08_matches_theory() {
    // Goal: M/M/1 at rho = 0.8 (mu = 800/s): mean sojourn 1/(mu - lambda) = 6.25 ms within 3%,
    // p50 and p99 of the exponential sojourn within 6%, utilization within 1 point,
    // Little's law within 3%. ~3.2 million customers.
    Check {
        lambda: 640.0,
        mu: 800.0,
        c: 1,
    }
    .verify(5_050);
}

#[test]
fn mm4_at_rho_08_matches_erlang_c() {
    // Goal: an M/M/4 pool at rho = 0.8 matches Erlang C: mean sojourn, p50/p99 of the
    // mixed sojourn distribution, utilization and Little's law. ~3.2 million customers.
    Check {
        lambda: 2560.0,
        mu: 800.0,
        c: 4,
    }
    .verify(1_300);
}

#[test]
fn theory_helpers_agree_with_known_values() {
    // Goal: guard the oracle itself. Erlang C for c=1 is rho; for c=2, a=1 it is 1/3.
    assert!((erlang_c(1.0, 0.8) - 0.8).abs() < 1e-12);
    assert!((erlang_c(2.0, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // M/M/1 sojourn is Exp(mu - lambda): median ln 2 / (mu - lambda).
    let p50 = mmc_sojourn_quantile(0.5, 1.0, 800.0, 640.0);
    assert!((p50 - std::f64::consts::LN_2 / 160.0).abs() < 1e-9);
}

//! Load that changes over time: a schedule of points, a sine and spikes drive an exact
//! non-homogeneous Poisson process. Checked against probability, not against the code: the
//! count in every window is Poisson with mean = the integral of the rate over the window.

use sim_core::parse_scenario;
use sim_core::rate::{RateCurve, Spike};

/// A workload with `rate` (TOML) and optional extra workload keys into a server that never
/// queues, over 100 s in 1 s buckets, no warmup.
fn scenario(rate: &str, extra: &str) -> String {
    scenario_with(&format!("rate = {rate}"), extra)
}

/// [`scenario`] with `load` as the workload's rate keys (`rate = …` or `rate_file = …`, on
/// line 9).
pub(crate) fn scenario_with(load: &str, extra: &str) -> String {
    format!(
        r#"
[scenario]
name = "load"
duration = "100s"
drain = "1s"
bucket = "1s"
[workload.w]
endpoint = "api/get"
{load}
{extra}
[service.api]
workers = 100000
queue = "unbounded"
[service.api.endpoint.get]
work = "1us"
"#
    )
}

/// Requests sent in each 1 s bucket over the first 100 s.
fn counts(text: &str, seed: u64) -> Vec<u64> {
    let model = parse_scenario("load.toml", text, &[]).unwrap_or_else(|d| panic!("{d}"));
    let results = sim_core::run(&model, seed).unwrap_or_else(|e| panic!("{e}"));
    results.workloads[0]
        .buckets
        .iter()
        .take(100)
        .map(|b| b.sent)
        .collect()
}

/// Asserts the counts are Poisson with the curve's window means: the sum of squared
/// standardised residuals is a χ² with one degree of freedom per window (kept within 4 of its
/// standard deviations), and the total within 4 σ of the curve's integral. The residuals'
/// variance being ≈ 1 is the Poisson dispersion (variance = mean).
fn assert_poisson(what: &str, counts: &[u64], curve: &RateCurve) {
    let mut chi2 = 0.0;
    let mut windows: f64 = 0.0;
    let (mut total, mut expected) = (0.0, 0.0);
    for (k, &n) in counts.iter().enumerate() {
        let mean = curve.integral(k as f64, k as f64 + 1.0);
        total += n as f64;
        expected += mean;
        if mean > 0.0 {
            chi2 += (n as f64 - mean).powi(2) / mean;
            windows += 1.0;
        } else {
            assert_eq!(
                n, 0,
                "{what}: {n} arrivals in window {k}, where the rate is 0"
            );
        }
    }
    let sd = (2.0 * windows).sqrt();
    println!(
        "{what}: {total} arrivals, expected {expected:.1}; chi2 {chi2:.1} over {windows} windows"
    );
    assert!(
        (chi2 - windows).abs() < 4.0 * sd,
        "{what}: chi2 {chi2:.1} for {windows} windows (sd {sd:.1}): not Poisson dispersion"
    );
    assert!(
        (total - expected).abs() < 4.0 * expected.sqrt(),
        "{what}: {total} arrivals against the integral {expected:.1}"
    );
}

#[test]
fn a_ramp_gives_poisson_counts_with_the_integral_as_mean() {
    // Goal: a rate ramping 0 → 1,000/s over 50 s and back down, then 0 for 20 s.
    let rate = r#"[["0s", 0], ["50s", 1000], ["80s", 0]]"#;
    let curve = RateCurve::from_points(&[(0.0, 0.0), (50.0, 1000.0), (80.0, 0.0)]);
    for seed in 1..=3 {
        assert_poisson("ramp", &counts(&scenario(rate, ""), seed), &curve);
    }
}

#[test]
fn a_sine_gives_poisson_counts_with_the_integral_as_mean() {
    // Goal: a daily cycle compressed to 40 s: mean 500/s, amplitude 400/s.
    let curve = RateCurve::sine(500.0, 400.0, 40.0, 0.0);
    for seed in 1..=3 {
        let text = scenario(r#""sine(500, 400, 40s)""#, "");
        assert_poisson("sine", &counts(&text, seed), &curve);
    }
}

#[test]
fn a_spike_multiplies_its_window_only() {
    // Goal: 200/s with a 5x spike from 40 s for 20 s: 1,000/s inside, 200/s outside.
    let spike = "[[workload.w.spike]]\nat = \"40s\"\nfor = \"20s\"\nfactor = 5";
    let curve = RateCurve::constant(200.0).with_spike(Spike {
        at_s: 40.0,
        for_s: 20.0,
        factor: 5.0,
    });
    for seed in 1..=3 {
        let c = counts(&scenario("200", spike), seed);
        assert_poisson("spike", &c, &curve);
        let inside: u64 = c[40..60].iter().sum();
        let before: u64 = c[20..40].iter().sum();
        let ratio = inside as f64 / before as f64;
        assert!((4.5..5.5).contains(&ratio), "spike/base = {ratio:.2}");
    }
}

#[test]
fn constant_arrivals_follow_the_curve_exactly() {
    // Goal: `arrival = "constant"` puts the k-th arrival where the integrated rate reaches k,
    // so every window holds its integral to within one arrival.
    let rate = r#"[["0s", 10], ["100s", 1010]]"#;
    let curve = RateCurve::from_points(&[(0.0, 10.0), (100.0, 1010.0)]);
    let c = counts(&scenario(rate, "arrival = \"constant\""), 1);
    let mut cumulative = 0;
    for (k, n) in c.iter().enumerate() {
        cumulative += n;
        let want = curve.integral(0.0, k as f64 + 1.0);
        assert!(
            (cumulative as f64 - want).abs() <= 1.0,
            "by {}: {cumulative} arrivals, integral {want}",
            k + 1
        );
    }
}

#[test]
fn schedules_and_spikes_are_validated_with_locations() {
    // Goal: every malformed schedule gets a located message saying what is allowed.
    let cases = [
        (r#"[["10s", 5], ["5s", 5]]"#, "", "must not decrease"),
        (r#"[["0s", -1]]"#, "", "rate -1 is not allowed"),
        (r#"[]"#, "", "at least one point"),
        (r#"[["0s"]]"#, "", "expected a [\"TIME\", RATE] pair"),
        (r#"[[0, 5]]"#, "", "expected a duration string"),
        (
            r#""sine(100, 200, 1h)""#,
            "",
            "AMPLITUDE must be from 0 to MEAN",
        ),
        (r#""sine(100, 20)""#, "", "2 arguments"),
        (r#""sine(100, 20, 0s)""#, "", "PERIOD must be longer than 0"),
        (r#""cosine(1, 1, 1s)""#, "", "not a rate"),
        ("true", "", "expected a number (requests/s), a schedule"),
        (
            "10",
            "[[workload.w.spike]]\nat = \"1s\"\nfactor = 2",
            "missing required key workload.w.spike[0].for",
        ),
        (
            "10",
            "[[workload.w.spike]]\nat = \"1s\"\nfor = \"1s\"\nfactor = -2",
            "workload.w.spike[0].factor = -2 is out of range",
        ),
        (
            "10",
            "[[workload.w.spike]]\nat = \"1s\"\nfor = \"1s\"\nfactor = 2\nsize = 3",
            "unknown key \"size\"; known keys here: at, for, factor",
        ),
        (
            "1e9",
            "[[workload.w.spike]]\nat = \"1s\"\nfor = \"1s\"\nfactor = 2",
            "at most 1000000000 is allowed",
        ),
    ];
    for (rate, extra, want) in cases {
        let text = scenario(rate, extra);
        let err = parse_scenario("load.toml", &text, &[])
            .expect_err(rate)
            .to_string();
        assert!(err.contains(want), "rate = {rate} {extra}: {err}");
        assert!(err.contains("load.toml:"), "not located: {err}");
    }
}

#[test]
fn a_rate_of_zero_in_a_schedule_sends_nothing_there() {
    // Goal: a schedule may pause the load: 0 between 30 s and 60 s (a step down and up).
    let rate = r#"[["0s", 100], ["30s", 100], ["30s", 0], ["60s", 0], ["60s", 100]]"#;
    let c = counts(&scenario(rate, ""), 7);
    assert!(c[30..60].iter().all(|&n| n == 0), "{:?}", &c[30..60]);
    assert!(c[..30].iter().all(|&n| n > 50) && c[60..].iter().all(|&n| n > 50));
}

#[test]
fn a_user_schedule_sets_a_closed_loops_throughput() {
    // Goal: by the interactive response-time law X = N / (R + Z), a closed loop of N users
    // thinking Z = 100 ms against a server that answers in ~1 µs sends ~10 N requests/s: 100/s
    // with 10 users, 500/s after a step to 50 at 40 s, then a ramp down to 0 users by 80 s
    // leaves nothing to send.
    let text = scenario("0", "")
        .replace(
            "rate = 0\n",
            "users = [[\"0s\", 10], [\"40s\", 10], [\"40s\", 50], [\"60s\", 50], [\"80s\", 0]]\nthink = \"100ms\"\n",
        );
    let c = counts(&text, 1);
    for k in [5, 20, 35] {
        assert!(
            (98..=101).contains(&c[k]),
            "10 users in second {k}: {}",
            c[k]
        );
    }
    for k in [42, 50, 58] {
        assert!(
            (495..=501).contains(&c[k]),
            "50 users in second {k}: {}",
            c[k]
        );
    }
    // Halfway down the ramp (70 s) about 25 users remain.
    assert!((230..=270).contains(&c[70]), "second 70: {}", c[70]);
    assert!(
        c[81..].iter().all(|&n| n == 0),
        "users left after 80 s: {:?}",
        &c[81..]
    );
}

#[test]
fn user_schedules_are_validated() {
    let text = scenario("0", "").replace("rate = 0\n", "users = [[\"0s\", -1]]\n");
    let err = parse_scenario("load.toml", &text, &[])
        .expect_err("negative users")
        .to_string();
    assert!(
        err.contains("workload.w.users[0]: users -1 is not allowed"),
        "{err}"
    );
}

#[test]
fn rounding_to_nanoseconds_never_accumulates_at_high_rates() {
    // Goal: at 30 million requests/s (33 ns apart) over 1 ms, constant arrivals that follow a
    // schedule send exactly the integral, 30,000 (within one): each arrival is drawn from the
    // exact time of the last one, not from its time rounded to the nanosecond (which lost 2%).
    let text = r#"
[scenario]
name = "fast"
duration = "1ms"
drain = "1ms"
[workload.w]
endpoint = "api/get"
rate = [["0s", 30000000], ["1s", 30000000]]
arrival = "constant"
[service.api]
workers = 100000
queue = "unbounded"
[service.api.endpoint.get]
work = "1ns"
"#;
    let model = parse_scenario("fast.toml", text, &[]).unwrap_or_else(|d| panic!("{d}"));
    let sent = sim_core::run(&model, 1)
        .unwrap_or_else(|e| panic!("{e}"))
        .workloads[0]
        .sent;
    assert!(
        (29_999..=30_001).contains(&sent),
        "{sent} arrivals in 1 ms at 3e7/s"
    );
}

//! The autoscaling lessons (issue #12, items 6 and 7): conservation of every request, the
//! replica-seconds of a fixed fleet as the outside truth of the accounting, arrivals that no
//! autoscaler setting perturbs, and the same bytes for the same seed.

use sim_core::results::Cause;

use crate::support::{meshsim, root};

const SPIKE: &str = "scenarios/spike-autoscale.toml";
const DIURNAL: &str = "scenarios/diurnal.toml";

fn lesson(path: &str, sets: &[&str]) -> sim_core::RunResults {
    let text = std::fs::read_to_string(root().join(path)).expect("the lesson exists");
    let sets: Vec<sim_core::Override> = sets
        .iter()
        .map(|s| sim_core::Override::parse(s).expect("PATH=VALUE"))
        .collect();
    let model = sim_core::parse_scenario(path, &text, &sets).expect("the lesson parses");
    sim_core::run(&model, model.seed).expect("the lesson runs")
}

fn conserved(r: &sim_core::RunResults) {
    for w in &r.workloads {
        let by_cause: u64 = Cause::ALL.iter().map(|&c| w.failed.get(c)).sum();
        assert_eq!(
            w.sent,
            w.ok + w.degraded + by_cause + w.in_flight,
            "{}",
            w.name
        );
        assert_eq!(
            w.in_flight, 0,
            "{}: the drain lets every request end",
            w.name
        );
    }
}

fn service<'r>(r: &'r sim_core::RunResults, name: &str) -> &'r sim_core::results::ServiceStats {
    r.services.iter().find(|s| s.name == name).expect("service")
}

#[test]
fn every_request_of_the_lessons_is_accounted_for() {
    // Goal: sent = ok + degraded + failed by every cause + in flight for every workload of
    // both lessons, and of the spike lesson with killing scale-in (where replicas removed
    // after the spike take their requests with them).
    conserved(&lesson(SPIKE, &[]));
    conserved(&lesson(DIURNAL, &[]));
    let killed = lesson(
        SPIKE,
        &[
            "service.quick.autoscale.scale_in=\"kill\"",
            "service.quick.endpoint.handle.work=\"exp(2s)\"",
            "service.quick.workers=100",
        ],
    );
    conserved(&killed);
    let quick = killed.workloads.iter().find(|w| w.name == "quick").unwrap();
    assert!(
        quick.failed.get(Cause::Unavailable) > 0,
        "the kills failed requests"
    );
}

#[test]
fn a_fixed_fleet_costs_its_replicas_times_the_window() {
    // Goal: the outside truth of replica_seconds: a fixed fleet of n replicas over the
    // measured window (duration − warmup) costs exactly n × that; an autoscaled fleet lies
    // between min × window and max × window, and its largest fleet within [min, max].
    let r = lesson(SPIKE, &[]);
    assert_eq!(service(&r, "fixed").replica_seconds, 4.0 * 420.0);
    assert_eq!(service(&r, "fixed").replicas_max, 4);
    for name in ["slow", "quick"] {
        let s = service(&r, name);
        assert!(
            (4.0 * 420.0..=30.0 * 420.0).contains(&s.replica_seconds),
            "{name}"
        );
        assert!((4..=30).contains(&s.replicas_max), "{name}");
    }
    let d = lesson(DIURNAL, &[]);
    assert_eq!(service(&d, "peak").replica_seconds, 8.0 * 1440.0);
    let elastic = service(&d, "elastic").replica_seconds;
    assert!(elastic < 0.7 * 8.0 * 1440.0, "elastic {elastic}");
}

#[test]
fn the_lag_is_the_outage() {
    // Goal: the lesson's claim, as an ordering on the same arrivals: the fixed fleet fails
    // more than the slow autoscaler, which fails more than the quick one; the slow one is
    // under-provisioned for longer.
    let r = lesson(SPIKE, &[]);
    let failed = |n: &str| {
        r.workloads
            .iter()
            .find(|w| w.name == n)
            .unwrap()
            .failed
            .total()
    };
    assert!(failed("fixed") > failed("slow") && failed("slow") > 3 * failed("quick"));
    let short = |n: &str| {
        service(&r, n)
            .autoscale
            .as_ref()
            .unwrap()
            .under_provisioned_s
    };
    assert!(short("slow") > 4.0 * short("quick"));
}

#[test]
fn autoscaler_settings_do_not_perturb_other_arrivals() {
    // Goal: common random numbers: changing one service's autoscaler (provisioning, metric,
    // scale-in) leaves every workload's arrivals as they were — the same number sent in
    // every time bucket — for the workloads of the other services, and its own.
    let base = lesson(SPIKE, &[]);
    let changed = lesson(
        SPIKE,
        &[
            "service.quick.autoscale.provision=\"exp(20s)\"",
            "service.slow.autoscale.metric=\"utilization\"",
            "service.slow.autoscale.target=0.5",
        ],
    );
    for (a, b) in base.workloads.iter().zip(&changed.workloads) {
        let sent = |w: &sim_core::results::WorkloadStats| -> Vec<u64> {
            w.buckets.iter().map(|b| b.sent).collect()
        };
        assert_eq!(sent(a), sent(b), "{}", a.name);
    }
    let fixed = |r: &sim_core::RunResults| {
        let w = r.workloads.iter().find(|w| w.name == "fixed").unwrap();
        (w.ok, w.failed.total(), w.latency.mean())
    };
    assert_eq!(
        fixed(&base),
        fixed(&changed),
        "the fixed fleet's run is untouched"
    );
}

#[test]
fn the_lessons_give_the_same_bytes_for_the_same_seed() {
    // Goal: determinism with autoscaling (random provisioning times included).
    for args in [
        vec!["run", SPIKE, "--json"],
        vec![
            "run",
            DIURNAL,
            "--json",
            "--no-expect",
            "--set",
            "service.elastic.autoscale.provision=\"exp(20s)\"",
        ],
    ] {
        let a = meshsim(&args);
        let b = meshsim(&args);
        assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
        assert_eq!(a.stdout, b.stdout);
    }
}

#[test]
fn out_writes_the_replicas_plot_for_autoscaled_runs_only() {
    // Goal: `run --out` writes replicas.svg (in service and desired per autoscaled service)
    // when a service autoscales, and the throughput plot draws the arrival rate of a
    // workload whose rate varies; a fixed scenario with a constant rate has neither.
    let base = std::env::temp_dir().join(format!("meshsim-autoscale-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let scaled = base.join("scaled");
    let out = meshsim(&["run", DIURNAL, "--out", scaled.to_str().unwrap(), "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(scaled.join("replicas.svg")).expect("replicas.svg");
    assert!(svg.contains("elastic in service") && svg.contains("elastic desired"));
    assert!(
        !svg.contains("peak in service"),
        "only autoscaled services are drawn"
    );
    let throughput = std::fs::read_to_string(scaled.join("throughput.svg")).unwrap();
    assert!(throughput.contains("elastic arrivals"));
    let fixed = base.join("fixed");
    let out = meshsim(&[
        "run",
        "scenarios/mm1.toml",
        "--out",
        fixed.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!fixed.join("replicas.svg").exists());
    let throughput = std::fs::read_to_string(fixed.join("throughput.svg")).unwrap();
    assert!(!throughput.contains("arrivals"));
    let _ = std::fs::remove_dir_all(&base);
}

//! The load-shedding lesson (issue #12): conservation of every request, capacity as the
//! ceiling of goodput, and the same bytes for the same seed.

use crate::support::{meshsim, root};

const LESSON: &str = "scenarios/load-shedding.toml";

fn lesson() -> sim_core::RunResults {
    let text = std::fs::read_to_string(root().join(LESSON)).expect("the lesson exists");
    let model = sim_core::parse_scenario(LESSON, &text, &[]).expect("the lesson parses");
    sim_core::run(&model, model.seed).expect("the lesson runs")
}

#[test]
fn every_request_of_the_lesson_is_accounted_for() {
    // Goal: conservation: sent = ok + degraded + failed by every cause + in flight, for each
    // workload, with shed requests among the causes; and the service's shed count is the
    // shed failures of the workloads that call it.
    let r = lesson();
    for w in &r.workloads {
        let by_cause: u64 = sim_core::results::Cause::ALL
            .iter()
            .map(|&c| w.failed.get(c))
            .sum();
        assert_eq!(
            w.sent,
            w.ok + w.degraded + by_cause + w.in_flight,
            "{}",
            w.name
        );
    }
    let shed_failures: u64 = r
        .workloads
        .iter()
        .filter(|w| w.name.starts_with("shed-"))
        .map(|w| w.failed.get(sim_core::results::Cause::Shed))
        .sum();
    let service = r.services.iter().find(|s| s.name == "shedding").unwrap();
    assert_eq!(service.shed, shed_failures);
}

#[test]
fn shedding_keeps_goodput_near_capacity_and_fifo_collapses() {
    // Goal: the outside truth is the capacity, 4 workers / 10 ms = 400 requests/s. Goodput
    // (successes inside the window, per second) cannot exceed it; with shedding it stays
    // within 5% of it, while the FIFO service's is under 5% of it.
    let r = lesson();
    let window_s = r.window_s();
    let goodput = |prefix: &str| -> f64 {
        let ok: u64 = r
            .workloads
            .iter()
            .filter(|w| w.name.starts_with(prefix))
            .map(|w| w.ok_in_window)
            .sum();
        ok as f64 / window_s
    };
    let (shed, fifo) = (goodput("shed-"), goodput("fifo-"));
    assert!(
        (380.0..=400.0 * 1.02).contains(&shed),
        "shedding goodput {shed:.1}/s"
    );
    assert!(fifo < 20.0, "fifo goodput {fifo:.1}/s");
}

#[test]
fn the_lesson_gives_the_same_bytes_for_the_same_seed() {
    // Goal: determinism with shedding and priorities in play.
    let a = meshsim(&["run", LESSON, "--json"]);
    let b = meshsim(&["run", LESSON, "--json"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn the_text_report_shows_admission_control_only_when_it_acted() {
    // Goal: the Admission control table lists the services that turned work away (the
    // shedding one, with its shed count as in the JSON) and is absent when nothing did.
    let r = lesson();
    let shed = r
        .services
        .iter()
        .find(|s| s.name == "shedding")
        .unwrap()
        .shed;
    let out = meshsim(&["run", LESSON, "-q"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let table = text
        .split("Admission control (refused by a rate limit, dropped by load shedding)\n")
        .nth(1)
        .expect("the table is there");
    let row = table.lines().nth(1).expect("a row");
    assert!(row.trim_start().starts_with("shedding"), "{row}");
    assert!(row.trim_end().ends_with(&format!(" {shed}")), "{row}");
    assert_eq!(
        table.lines().nth(2),
        Some(""),
        "one row only: fifo sheds nothing"
    );
    let quiet = meshsim(&["run", "scenarios/checkout-sync.toml", "-q"]);
    assert!(!String::from_utf8_lossy(&quiet.stdout).contains("Admission control"));
}

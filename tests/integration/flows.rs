//! Flows: the same business transaction in four styles, judged by the effects it leaves —
//! business failures, duplicates, crashes mid-saga, clients told "ok" too early.

use sim_core::results::{FlowStats, LatencySummary, RunResults};

use crate::support::{root, run};

/// Three steps (reserve, charge, ship); the charge refuses `reject` of the instances.
fn checkout(style: &str, reject: f64, extra_flow_keys: &str, extra: &str) -> String {
    format!(
        r#"
[scenario]
name = "flow-test"
duration = "60s"
warmup = "5s"
drain = "30s"

[network]
latency = "exp(300us)"

[workload.checkout]
flow = "place-order"
rate = 100
timeout = "10s"

[broker.kafka]
latency = "exp(1ms)"

[flow.place-order]
style = "{style}"
entry = "order"
via = "kafka"
{extra_flow_keys}
steps = [
  {{ do = "inventory/reserve", undo = "inventory/release" }},
  {{ do = "payment/charge", undo = "payment/refund", reject = {reject} }},
  {{ do = "shipping/ship" }},
]

[service.order]
replicas = 2
workers = 64

[service.inventory]
replicas = 2
workers = 16
[service.inventory.endpoint.reserve]
work = "exp(3ms)"
[service.inventory.endpoint.release]
work = "exp(2ms)"

[service.payment]
replicas = 2
workers = 16
[service.payment.endpoint.charge]
work = "exp(5ms)"
[service.payment.endpoint.refund]
work = "exp(3ms)"

[service.shipping]
replicas = 2
workers = 16
[service.shipping.endpoint.ship]
work = "exp(4ms)"
{extra}
"#
    )
}

/// A flow's outcome shares, in percent of the instances started.
fn pct(f: &FlowStats, n: u64) -> f64 {
    100.0 * n as f64 / f.started as f64
}

fn flow(r: &RunResults) -> &FlowStats {
    &r.flows[0]
}

/// Every instance is counted exactly once.
fn assert_accounted(what: &str, f: &FlowStats) {
    assert_eq!(
        f.started,
        f.completed + f.compensated + f.inconsistent + f.pending,
        "{what}: started {} != completed {} + compensated {} + inconsistent {} + pending {}",
        f.started,
        f.completed,
        f.compensated,
        f.inconsistent,
        f.pending
    );
}

const STYLES: [&str; 4] = ["sync", "async", "choreography", "orchestration"];

#[test]
fn a_business_failure_is_compensated_by_sagas_and_left_half_done_by_async() {
    // Goal (acceptance 1): with a 10% business failure on one step and no faults, sync,
    // choreography and orchestration end with inconsistent = 0, pending = 0 and compensated
    // within 1.5 points of 10%; async ends with inconsistent within 1.5 points of 10% and no
    // compensation. Async answers its client faster than sync, yet the system agrees later
    // than the async client was answered.
    let mut client_p50 = Vec::new();
    for style in STYLES {
        let r = run(&checkout(style, 0.1, "", ""), 3);
        let f = flow(&r);
        assert_accounted(style, f);
        assert!(f.started > 5_000, "{style}: {}", f.started);
        assert_eq!(
            f.pending, 0,
            "{style}: nothing still moving after the drain"
        );
        assert_eq!(f.duplicate_effects, 0, "{style}");
        if style == "async" {
            assert!(
                (pct(f, f.inconsistent) - 10.0).abs() < 1.5,
                "async: {:.2}% inconsistent",
                pct(f, f.inconsistent)
            );
            assert_eq!(f.compensated, 0, "async compensates nothing");
            // The declined charge leaves reserve + ship applied: bits 0 and 2.
            assert_eq!(f.left_applied, vec![(0b101, f.inconsistent)]);
        } else {
            assert_eq!(f.inconsistent, 0, "{style}");
            assert!(
                (pct(f, f.compensated) - 10.0).abs() < 1.5,
                "{style}: {:.2}% compensated",
                pct(f, f.compensated)
            );
        }
        let latency = LatencySummary::of(&f.latency).expect("some client answered ok");
        let consistency = LatencySummary::of(&f.consistency).expect("some instance settled");
        client_p50.push((style, latency.p50, consistency.p50));
    }
    let (_, sync_client, _) = client_p50[0];
    let (_, async_client, async_consistency) = client_p50[1];
    assert!(
        async_client < sync_client,
        "async client p50 {async_client} ms vs sync {sync_client} ms"
    );
    assert!(
        async_consistency > async_client,
        "async agrees at p50 {async_consistency} ms, after its client was answered ({async_client} ms)"
    );
}

#[test]
fn duplicate_deliveries_apply_non_idempotent_steps_twice_and_idempotent_ones_once() {
    // Goal (acceptance 2): duplicate delivery on the flow's messages shows duplicate_effects
    // > 0 with non-idempotent steps and exactly 0 with idempotent ones.
    let fault =
        "[[fault]]\nkind = \"duplicate\"\ntarget = \"flow:place-order\"\nat = \"0s\"\nrate = 0.2\n";
    let naive = checkout("async", 0.0, "", fault);
    let r = run(&naive, 1);
    let f = flow(&r);
    assert_accounted("naive", f);
    let expected = 0.2 * 3.0 * f.started as f64;
    assert!(
        f.duplicate_effects as f64 > 0.8 * expected
            && (f.duplicate_effects as f64) < 1.2 * expected,
        "{} duplicate effects, about {expected} expected (3 steps, rate 0.2)",
        f.duplicate_effects
    );
    let idempotent = naive
        .replace(
            "work = \"exp(3ms)\"\n[service.inventory.endpoint.release]",
            "work = \"exp(3ms)\"\nidempotent = true\n[service.inventory.endpoint.release]",
        )
        .replace(
            "work = \"exp(5ms)\"",
            "work = \"exp(5ms)\"\nidempotent = true",
        )
        .replace(
            "work = \"exp(4ms)\"",
            "work = \"exp(4ms)\"\nidempotent = true",
        );
    let r = run(&idempotent, 1);
    let f = flow(&r);
    assert_eq!(
        f.duplicate_effects, 0,
        "idempotent steps apply each message once"
    );
    assert_eq!(f.completed, f.started, "and every order completes");
    let copies: u64 = r.messages.topics[0]
        .groups
        .iter()
        .map(|g| g.duplicates)
        .sum();
    assert!(
        copies > 1_000,
        "the fault did duplicate deliveries: {copies}"
    );
}

#[test]
fn a_durable_orchestration_ends_consistent_after_a_step_crash() {
    // Goal (acceptance 3): a crash of a step's service mid-saga — orchestration with durable
    // state and retries ends consistent after the drain; every style's leftovers are
    // accounted for and the run shows what each left behind.
    let path = root().join("scenarios/saga-crash.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let r = run(&text, 1);
    let f = flow(&r);
    assert_accounted("orchestration", f);
    assert_eq!(f.inconsistent, 0);
    assert_eq!(f.pending, 0);
    assert!(f.compensated > 100 && f.completed > 2_000, "{f:?}");
    assert!(r.faults[0].affected > 0, "the crash hit something");
    for style in ["sync", "async", "choreography"] {
        let other = text.replace("style = \"orchestration\"", &format!("style = \"{style}\""));
        let r = run(&other, 1);
        let f = flow(&r);
        assert_accounted(style, f);
        if style == "async" {
            assert!(
                pct(f, f.inconsistent) > 5.0,
                "async leaves declined orders half-done"
            );
        }
    }
}

#[test]
fn a_coordinator_crash_abandons_sync_sagas_but_orchestration_resumes_them() {
    // Goal: durability is what separates the two coordinated styles. The entry service
    // crashes for 3 s; sync sagas in progress are abandoned half-done (inconsistent > 0),
    // orchestrated ones resume from their saved state and end consistent.
    let path = root().join("scenarios/choreography-vs-orchestration.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let r = run(&text, 1);
    let f = flow(&r);
    assert_accounted("orchestration", f);
    assert_eq!(f.inconsistent + f.pending, 0, "{f:?}");
    let sync = text.replace("style = \"orchestration\"", "style = \"sync\"");
    let r = run(&sync, 1);
    let f = flow(&r);
    assert_accounted("sync", f);
    assert!(
        f.inconsistent > 0,
        "abandoned sync sagas stay half-done: {f:?}"
    );
}

#[test]
fn clients_told_ok_early_are_counted_when_the_saga_later_compensates() {
    // Goal (acceptance 4): with reply = "accepted", the client hears "ok" as soon as the saga
    // starts; every instance that then compensates is a client-visible mismatch. With
    // reply = "outcome" (and no timeouts) there is none.
    let early = run(
        &checkout("orchestration", 0.1, "reply = \"accepted\"", ""),
        1,
    );
    let f = flow(&early);
    assert_accounted("early", f);
    assert!(f.compensated > 300, "{f:?}");
    assert_eq!(f.client_mismatch, f.compensated + f.inconsistent);
    let outcome = run(&checkout("orchestration", 0.1, "", ""), 1);
    assert_eq!(flow(&outcome).client_mismatch, 0);
    let early_p50 = LatencySummary::of(&f.latency).expect("answered").p50;
    let outcome_p50 = LatencySummary::of(&flow(&outcome).latency)
        .expect("answered")
        .p50;
    assert!(
        early_p50 < outcome_p50,
        "answering early is faster: {early_p50} vs {outcome_p50} ms"
    );
}

#[test]
fn every_flow_instance_is_accounted_for_in_every_scenario() {
    // Goal: conservation for flows, over every flow scenario and several seeds and styles:
    // started = completed + compensated + inconsistent + pending.
    let mut with_flows = 0;
    for file in crate::support::scenario_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        if crate::support::model(&text).flows.is_empty() {
            continue;
        }
        with_flows += 1;
        for seed in [1, 2] {
            let r = run(&text, seed);
            for f in &r.flows {
                assert_accounted(&format!("{} seed {seed} {}", file.display(), f.name), f);
                assert!(f.started > 0);
            }
        }
    }
    assert!(with_flows >= 3, "the flow lessons are in scenarios/");
}

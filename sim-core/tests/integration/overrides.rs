//! `--set` may change what the file declares and add keys to its tables, but may not invent
//! a named service, endpoint, workload, broker, queue, topic, consumer group or flow.

use sim_core::{Diagnostics, Override, parse_scenario};

/// A bank behind a gateway, a broker with a queue and a topic, and a flow: one of every kind
/// of name. `ledger` has no `[service.ledger]` table: only its endpoint's table declares it.
const FILE: &str = r#"
[scenario]
name = "bank"
duration = "2s"

[workload.shop]
endpoint = "gateway/pay"
rate = 50

[service.gateway.endpoint.pay]
work = "1ms"
calls = [{ to = "bank/charge" }]

[service.bank]
workers = 2

[service.bank.endpoint.charge]
work = "2ms"
calls = [{ to = "ledger/write" }]
publish = ["charged"]

[broker.mq]

[topic.charged]
broker = "mq"
subscribers = { audit = "audit/record" }

[service.audit.endpoint.record]
work = "1ms"

[service.ledger.endpoint.write]
work = "1ms"
"#;

fn parse(sets: &[&str]) -> Result<sim_core::Model, Diagnostics> {
    let overrides: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
    parse_scenario("bank.toml", FILE, &overrides)
}

fn refused(sets: &[&str]) -> String {
    match parse(sets) {
        Ok(_) => panic!("{sets:?} should be refused"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn a_typo_in_a_service_name_is_refused_with_did_you_mean() {
    // Goal: `service.bnak.workers=4` (a typo of bank) used to add a service and run ok; now
    // it names the override, says the file has no such service, lists them and suggests bank.
    let text = refused(&["service.bnak.workers=4"]);
    assert!(
        text.contains("--set service.bnak.workers=4: the file declares no service \"bnak\""),
        "{text}"
    );
    assert!(text.contains("did you mean \"bank\"?"), "{text}");
    assert!(
        text.contains("known: gateway, bank, audit, ledger"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "one problem, one line: {text}");
}

#[test]
fn every_kind_of_name_is_protected() {
    // Goal: a new endpoint, workload, broker, topic, group or queue is refused, each naming
    // its kind and the override to blame.
    for (set, kind) in [
        (
            "service.bank.endpoint.chrage.work=\"1ms\"",
            "endpoint \"bank/chrage\"",
        ),
        ("broker.qm.latency=\"1ms\"", "broker \"qm\""),
        ("topic.chargd.broker=\"mq\"", "topic \"chargd\""),
        (
            "topic.charged.subscribers.audti=\"audit/record\"",
            "consumer group \"charged/audti\"",
        ),
        ("queue.jobs.broker=\"mq\"", "queue \"jobs\""),
    ] {
        let text = refused(&[set]);
        assert!(
            text.contains(&format!("the file declares no {kind}")),
            "{set}: {text}"
        );
        assert!(text.contains(&format!("--set {set}:")), "{set}: {text}");
    }
    let text = refused(&[
        "workload.shpo.endpoint=\"gateway/pay\"",
        "workload.shpo.rate=5",
    ]);
    assert!(
        text.contains(
            "--set workload.shpo.endpoint=\"gateway/pay\": the file declares no workload \"shpo\""
        ),
        "{text}"
    );
    assert!(text.contains("did you mean \"shop\"?"), "{text}");
}

#[test]
fn what_the_file_declares_may_still_be_changed() {
    // Goal: keys may be added to the file's tables and values changed, including a service
    // that only its endpoint's table declares (ledger), and a link between known services.
    let model = parse(&[
        "service.bank.replicas=3",
        "service.ledger.workers=8",
        "service.gateway.endpoint.pay.fail=0.1",
        "workload.shop.rate=100",
        "network.link.\"bank->ledger\".latency=\"5ms\"",
    ])
    .unwrap_or_else(|d| panic!("{d}"));
    let ledger = model.services.iter().find(|s| s.name == "ledger").unwrap();
    assert_eq!(ledger.workers, 8);
}

#[test]
fn an_expectation_added_by_set_is_located_at_the_set() {
    // Goal: an `[[expect]]` that only `--set` wrote is located as `(from --set …)` (it used
    // to read `file:1:11`, a place in the file that holds no such thing); the file's own keep
    // their line.
    let with_expect = format!("{FILE}\n[[expect]]\nmetric = \"workloads.shop.ok\"\nabove = 1\n");
    let model = parse_scenario("bank.toml", &with_expect, &[]).unwrap();
    assert_eq!(model.expects[0].location, "bank.toml:34:1");
    let set = "expect=[{ metric = \"workloads.shop.ok\", above = 1 }]";
    let model = parse(&[set]).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(model.expects[0].location, format!("(from --set {set})"));
}

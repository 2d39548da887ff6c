//! `[[fault]]` and `[chaos]` become the expected model: replica expansion, both directions of
//! a link, partition link sets, targets as written, and `--set` reaching fault keys.

use sim_core::model::{Chaos, FaultKind, LinkId, Node, ReplicaRef, ServiceId};
use sim_core::{Model, Override, SimDuration, parse_scenario};

/// client -> gateway -> order -> payment -> bank; gateway has 2 replicas, payment 3.
pub const FAULTS: &str = r#"[scenario]
name = "faults"
duration = "60s"
drain = "10s"

[workload.w]
endpoint = "gateway/in"
rate = 10
timeout = "1s"
retries = 1

[service.gateway]
replicas = 2
[service.gateway.endpoint.in]
calls = [{ to = "order/place", timeout = "500ms", retries = 2, backoff = "10ms", jitter = "full" }]

[service.order]
[service.order.endpoint.place]
calls = [{ to = "payment/charge", breaker = { window = 10 }, bulkhead = 4, fallback = true }]

[service.payment]
replicas = 3
health_check = "2s"
[service.payment.endpoint.charge]
calls = [{ to = "bank/debit", retries = 3, retry_budget = 0.2 }]

[service.bank.endpoint.debit]
work = "1ms"

[[fault]]
kind = "crash"
target = "payment"
at = "10s"
for = "5s"

[[fault]]
kind = "crash"
target = " payment#2 "
at = "20s"

[[fault]]
kind = "slow"
target = "gateway#1"
at = "1s"
factor = 10

[[fault]]
kind = "slow"
target = "order->payment"
at = "2s"
factor = 3.5

[[fault]]
kind = "error"
target = "bank"
at = "3s"
rate = 0.25

[[fault]]
kind = "loss"
target = "payment->order"
at = "4s"
for = "1s"
rate = 1

[[fault]]
kind = "partition"
groups = [["order"], ["payment", "bank"]]
at = "5s"

[[fault]]
kind = "partition"
from = ["order"]
to = ["payment"]
at = "6s"

[[fault]]
kind = "partition"
target = "the gateway island"
groups = [["client", "gateway"], ["order"]]
at = "69s"

[chaos]
targets = ["payment#1", "gateway", "payment#1"]
mtbf = "120s"
mttr = "10s"
"#;

fn parse(text: &str, sets: &[&str]) -> Model {
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::parse(s).expect("PATH=VALUE"))
        .collect();
    match parse_scenario("faults.toml", text, &overrides) {
        Ok(m) => m,
        Err(d) => panic!("should parse:\n{d}"),
    }
}

fn svc(m: &Model, name: &str) -> ServiceId {
    let i = m.services.iter().position(|s| s.name == name).expect(name);
    ServiceId(i as u32)
}

fn link(m: &Model, name: &str) -> LinkId {
    let i = (0..m.links.len()).find(|i| m.link_name(LinkId(*i as u32)) == name);
    LinkId(i.unwrap_or_else(|| panic!("no link {name}")) as u32)
}

fn links(m: &Model, names: &[&str]) -> Vec<LinkId> {
    let mut ids: Vec<LinkId> = names.iter().map(|n| link(m, n)).collect();
    ids.sort();
    ids
}

fn replica(service: ServiceId, index: u32) -> ReplicaRef {
    ReplicaRef { service, index }
}

#[test]
fn replica_targets_expand_and_keep_their_text() {
    // Goal: a service target lists every replica, `service#i` one; target text is trimmed;
    // `for` left out means until the end.
    let m = parse(FAULTS, &[]);
    let pay = svc(&m, "payment");
    assert_eq!(m.faults.len(), 9);
    let f = &m.faults[0];
    assert_eq!(
        f.kind,
        FaultKind::Crash {
            replicas: vec![replica(pay, 0), replica(pay, 1), replica(pay, 2)]
        }
    );
    assert_eq!(
        (f.at, f.duration),
        (SimDuration::from_secs(10), Some(SimDuration::from_secs(5)))
    );
    assert_eq!(f.target, "payment");
    let f = &m.faults[1];
    assert_eq!(
        f.kind,
        FaultKind::Crash {
            replicas: vec![replica(pay, 2)]
        }
    );
    assert_eq!((f.target.as_str(), f.duration), ("payment#2", None));
    assert_eq!(
        m.faults[2].kind,
        FaultKind::Slow {
            replicas: vec![replica(svc(&m, "gateway"), 1)],
            factor: 10.0
        }
    );
    assert_eq!(
        m.faults[4].kind,
        FaultKind::Error {
            service: svc(&m, "bank"),
            rate: 0.25,
            replicas: None
        }
    );
}

#[test]
fn link_faults_cover_both_directions() {
    // Goal: a link target hits the pair both ways, whichever direction is written.
    let m = parse(FAULTS, &[]);
    let pair = links(&m, &["order->payment", "payment->order"]);
    assert_eq!(
        m.faults[3].kind,
        FaultKind::SlowLink {
            links: pair.clone(),
            factor: 3.5
        }
    );
    assert_eq!(m.faults[3].kind.name(), "slow");
    assert_eq!(
        m.faults[5].kind,
        FaultKind::Loss {
            links: pair,
            rate: 1.0
        }
    );
    assert_eq!(m.faults[5].target, "payment->order");
}

#[test]
fn partitions_cut_the_links_between_sides() {
    // Goal: groups cut every link in use between different groups, both ways; from/to cut
    // one direction only; the target describes the cut unless one is written.
    let m = parse(FAULTS, &[]);
    let f = &m.faults[6];
    assert_eq!(
        f.kind,
        FaultKind::Partition {
            links: links(&m, &["order->payment", "payment->order"])
        }
    );
    assert_eq!(f.target, "order|payment,bank");
    let f = &m.faults[7];
    assert_eq!(
        f.kind,
        FaultKind::Partition {
            links: links(&m, &["order->payment"])
        }
    );
    assert_eq!(f.target, "order->payment");
    let f = &m.faults[8];
    assert_eq!(
        f.kind,
        FaultKind::Partition {
            links: links(&m, &["gateway->order", "order->gateway"])
        }
    );
    assert_eq!(f.target, "the gateway island");
    assert_eq!(f.at, SimDuration::from_secs(69));
}

#[test]
fn chaos_targets_expand_to_sorted_distinct_replicas() {
    // Goal: services expand to all replicas, duplicates collapse, order is by replica.
    let m = parse(FAULTS, &[]);
    let Some(Chaos {
        targets,
        replicas,
        mtbf,
        mttr,
    }) = &m.chaos
    else {
        panic!("no chaos");
    };
    let (gw, pay) = (svc(&m, "gateway"), svc(&m, "payment"));
    assert_eq!(targets, &["payment#1", "gateway", "payment#1"]);
    assert_eq!(replicas, &[replica(gw, 0), replica(gw, 1), replica(pay, 1)]);
    assert_eq!(
        (*mtbf, *mttr),
        (SimDuration::from_secs(120), SimDuration::from_secs(10))
    );
    assert!(parse(crate::parse::FULL, &[]).chaos.is_none());
}

#[test]
fn set_reaches_fault_and_chaos_keys() {
    // Goal: `[[fault]]` entries are indexed like `[[expect]]`; chaos keys like any table.
    let m = parse(
        FAULTS,
        &[
            "fault.2.factor=20",
            "fault.0.at=30s",
            "fault.6.groups=[[\"gateway\"], [\"order\"]]",
            "chaos.mttr=1s",
            "service.order.health_check=500ms",
        ],
    );
    assert!(matches!(m.faults[2].kind, FaultKind::Slow { factor, .. } if factor == 20.0));
    assert_eq!(m.faults[0].at, SimDuration::from_secs(30));
    assert_eq!(m.faults[6].target, "gateway|order");
    assert_eq!(
        m.chaos.as_ref().map(|c| c.mttr),
        Some(SimDuration::from_secs(1))
    );
    assert_eq!(
        m.services[svc(&m, "order").0 as usize].health_check,
        Some(SimDuration::from_millis(500))
    );
    assert_eq!(
        m.services[svc(&m, "payment").0 as usize].health_check,
        Some(SimDuration::from_secs(2))
    );
    assert_eq!(m.services[svc(&m, "bank").0 as usize].health_check, None);
    let err = parse_scenario(
        "f.toml",
        FAULTS,
        &[Override::parse("fault.2.factor=0.5").unwrap()],
    )
    .expect_err("factor below 1");
    assert!(
        err.to_string()
            .contains("fault[2].factor = 0.5 is out of range"),
        "{err}"
    );
    assert!(
        err.to_string().contains("(from --set fault.2.factor=0.5)"),
        "{err}"
    );
}

#[test]
fn fault_problems_are_all_reported() {
    // Goal: several bad faults in one file give one located message each, naming what is
    // allowed or known.
    let text = format!(
        "{FAULTS}{}",
        r#"
[[fault]]
kind = "crash"
target = "paymnt"
at = "1s"

[[fault]]
kind = "slow"
target = "payment"
at = "1s"

[[fault]]
kind = "loss"
target = "gateway"
rate = 0.5
at = "1s"

[[fault]]
kind = "error"
target = "bank#7"
rate = 0.5
at = "90s"

[[fault]]
kind = "partition"
groups = [["order", "bank"], ["bank"]]
at = "1s"

[[fault]]
kind = "partition"
groups = [["order"]]
from = ["order"]
to = ["bank"]
at = "1s"

[[fault]]
kind = "crash"
target = "client->gateway"
at = "1s"
for = "0s"

[[fault]]
kind = "duplicate"
target = "gateway"
at = "1s"
"#
    );
    let diags = parse_scenario("f.toml", &text, &[]).expect_err("bad faults");
    let all = diags.to_string();
    for want in [
        "fault[9].target = \"paymnt\": unknown service \"paymnt\"; known: gateway, order, payment, bank; did you mean \"payment\"?",
        "fault[10] needs factor",
        "fault[11].target = \"gateway\": a loss fault hits a link \"FROM->TO\"; links in use: client->gateway, gateway->order, order->payment, payment->bank",
        "fault[12].at = \"90s\" is not before the end of the run (duration + drain = 70s)",
        "fault[12].target = \"bank#7\": replica bank#7 does not exist: bank has 1 replica(s)",
        "\"bank\" is in more than one group of fault[13].groups",
        "fault[14] has both groups (two-way) and from/to (one-way)",
        "fault[15].for = \"0s\" would do nothing",
        "fault[15].target = \"client->gateway\": a crash hits a service or a replica",
        "fault[16] needs rate, the probability in (0, 1] that a delivery is duplicated",
        "fault[16].target = \"gateway\": unknown topic or queue \"gateway\"; known: none",
    ] {
        assert!(all.contains(want), "missing \"{want}\" in:\n{all}");
    }
    assert_eq!(diags.0.len(), 11, "{all}");
    let _ = Node::Client;
}

//! Valid scenarios become the expected model: ids in file order, links both ways with
//! overrides, defaults, and `--set` overrides.

use sim_core::model::{Arrival, Bound, EndpointId, LbPolicy, LinkId, Node, Protocol, ServiceId};
use sim_core::{Model, Override, SimDuration, parse_scenario};

pub const FULL: &str = r#"# A small checkout system.
[scenario]
name = "checkout"
description = "client -> gateway -> order -> payment"
seed = 7
duration = "60s"
warmup = "5s"

[network]
latency = "1ms"
loss = 0.001
[network.link."order->payment"]
latency = "exp(2ms)"
[network.link."payment->order"]
loss = 0.5
[network.link."client->gateway"]
loss = 0.02

[workload.checkout]
endpoint = "gateway/checkout"
rate = 200
arrival = "constant"
timeout = "2s"
protocol = "rest"

[workload.browse]
endpoint = "gateway/browse"
users = 10
think = "exp(1s)"

[service.gateway]
replicas = 2
workers = 32
queue = 128
lb = "p2c"
[service.gateway.endpoint.checkout]
work = "exp(2ms)"
calls = [{ to = "order/place", protocol = "grpc", timeout = "1s" }]
[service.gateway.endpoint.browse]
work = "1ms"

[service.order]
[service.order.endpoint.place]
work = "3ms"
fail = 0.01
parallel = true
calls = [{ to = "payment/charge" }, { to = "order/audit" }]
[service.order.endpoint.audit]

[service.payment]
queue = "unbounded"
[service.payment.endpoint.charge]
work = "lognormal(2ms, 20ms)"

[[expect]]
metric = "workloads.checkout.failed"
below = 10
why = "nothing is broken"
"#;

fn parse(text: &str, sets: &[&str]) -> Model {
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::parse(s).expect("PATH=VALUE"))
        .collect();
    match parse_scenario("full.toml", text, &overrides) {
        Ok(m) => m,
        Err(d) => panic!("should parse:\n{d}"),
    }
}

fn link(m: &Model, from: &str, to: &str) -> LinkId {
    let name = format!("{from}->{to}");
    let i = (0..m.links.len()).find(|i| m.link_name(LinkId(*i as u32)) == name);
    LinkId(i.unwrap_or_else(|| panic!("no link {name}")) as u32)
}

#[test]
fn full_scenario_builds_the_expected_model() {
    // Goal: names become dense ids in file order, settings and defaults land where expected.
    let m = parse(FULL, &[]);
    assert_eq!((m.name.as_str(), m.seed), ("checkout", 7));
    assert_eq!(m.duration, SimDuration::from_secs(60));
    assert_eq!(m.warmup, SimDuration::from_secs(5));
    assert_eq!(m.drain, SimDuration::from_secs(30));
    // 90 s / 300 buckets = 300 ms -> the next round width is 500 ms.
    assert_eq!(m.bucket, SimDuration::from_millis(500));
    assert_eq!(m.limits, sim_core::model::Limits::default());
    let services: Vec<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(services, ["gateway", "order", "payment"]);
    let endpoints: Vec<String> = (0..m.endpoints.len())
        .map(|i| m.endpoint_name(EndpointId(i as u32)))
        .collect();
    assert_eq!(
        endpoints,
        [
            "gateway/checkout",
            "gateway/browse",
            "order/place",
            "order/audit",
            "payment/charge"
        ]
    );
    let gw = &m.services[0];
    assert_eq!(
        (gw.replicas, gw.workers, gw.queue, gw.lb),
        (2, 32, Some(128), LbPolicy::PowerOfTwo)
    );
    assert_eq!(gw.endpoints, [EndpointId(0), EndpointId(1)]);
    let order = &m.services[1];
    assert_eq!(
        (order.replicas, order.workers, order.queue, order.lb),
        (1, 1, None, LbPolicy::RoundRobin)
    );
    let place = &m.endpoints[2];
    assert_eq!(
        (place.service, place.fail, place.parallel),
        (ServiceId(1), 0.01, true)
    );
    assert_eq!(
        place.calls.iter().map(|c| c.to).collect::<Vec<_>>(),
        [EndpointId(4), EndpointId(3)]
    );
    assert_eq!(place.calls[0].protocol, Protocol::None);
    assert_eq!(place.calls[0].timeout, None);
    let audit = &m.endpoints[3];
    assert!(audit.work.is_zero() && audit.calls.is_empty() && audit.fail == 0.0 && !audit.parallel);
    let to_order = &m.endpoints[0].calls[0];
    assert_eq!(
        (to_order.protocol, to_order.timeout),
        (Protocol::Grpc, Some(SimDuration::from_secs(1)))
    );

    let checkout = &m.workloads[0];
    assert_eq!(checkout.name, "checkout");
    assert!(
        matches!(checkout.arrival, Arrival::Open { rate_per_s, poisson: false } if rate_per_s == 200.0)
    );
    assert_eq!(
        (checkout.call.to, checkout.call.protocol),
        (EndpointId(0), Protocol::Rest)
    );
    assert_eq!(checkout.call.timeout, Some(SimDuration::from_secs(2)));
    assert!(
        matches!(&m.workloads[1].arrival, Arrival::Closed { users: 10, think } if think.mean_ns() == 1e9)
    );
    assert_eq!(m.workloads[1].call.timeout, None);

    assert_eq!(m.expects.len(), 1);
    assert_eq!(m.expects[0].bound, Bound::Below(10.0));
    assert_eq!(m.expects[0].location, "full.toml:55:1");
}

#[test]
fn links_exist_both_ways_and_overrides_apply_to_both_directions() {
    // Goal: one link per used direction, in first-use order; "a->b" covers b->a unless that
    // is overridden itself; unset override fields inherit the defaults.
    let m = parse(FULL, &[]);
    let names: Vec<String> = (0..m.links.len())
        .map(|i| m.link_name(LinkId(i as u32)))
        .collect();
    assert_eq!(
        names,
        [
            "client->gateway",
            "gateway->client",
            "gateway->order",
            "order->gateway",
            "order->payment",
            "payment->order",
            "order->order",
        ]
    );
    let l = |from, to| &m.links[link(&m, from, to).0 as usize];
    // Explicit both ways: each has its own, the other field from the defaults.
    assert_eq!(
        (
            l("order", "payment").latency.to_string(),
            l("order", "payment").loss
        ),
        ("exp(2ms)".into(), 0.001)
    );
    assert_eq!(
        (
            l("payment", "order").latency.to_string(),
            l("payment", "order").loss
        ),
        ("1ms".into(), 0.5)
    );
    // One direction given: applies to the reply as well.
    assert_eq!(l("gateway", "client").loss, 0.02);
    assert_eq!(l("client", "gateway").loss, 0.02);
    // No override: defaults.
    assert_eq!(
        (
            l("gateway", "order").latency.to_string(),
            l("gateway", "order").loss
        ),
        ("1ms".into(), 0.001)
    );
    let call = &m.workloads[0].call;
    assert_eq!(m.links[call.link.0 as usize].from, Node::Client);
    assert_eq!(m.links[call.reply_link.0 as usize].to, Node::Client);
    let to_payment = &m.endpoints[2].calls[0];
    assert_eq!(m.link_name(to_payment.link), "order->payment");
    assert_eq!(m.link_name(to_payment.reply_link), "payment->order");
}

#[test]
fn set_overrides_numbers_strings_bare_words_quoted_paths_and_new_keys() {
    // Goal: `--set` reaches any key by its dotted path, creating what is missing.
    let m = parse(
        FULL,
        &[
            "workload.checkout.rate=500",
            "service.payment.endpoint.charge.work=\"exp(9ms)\"",
            "service.order.lb=least-outstanding",
            "network.link.\"order->payment\".loss=0.25",
            "network.link.\"gateway->order\".latency=7ms",
            "scenario.seed=99",
            "service.gateway.endpoint.checkout.calls.0.timeout=3s",
        ],
    );
    assert!(
        matches!(m.workloads[0].arrival, Arrival::Open { rate_per_s, .. } if rate_per_s == 500.0)
    );
    assert_eq!(m.endpoints[4].work.to_string(), "exp(9ms)");
    assert_eq!(m.services[1].lb, LbPolicy::LeastOutstanding);
    assert_eq!(m.links[link(&m, "order", "payment").0 as usize].loss, 0.25);
    // The override of gateway->order covers the reply order->gateway as well.
    assert_eq!(
        m.links[link(&m, "order", "gateway").0 as usize]
            .latency
            .to_string(),
        "7ms"
    );
    assert_eq!(m.seed, 99);
    assert_eq!(
        m.endpoints[0].calls[0].timeout,
        Some(SimDuration::from_secs(3))
    );
}

#[test]
fn set_errors_are_reported_with_the_override() {
    // Goal: a --set that cannot apply says so at line 0 naming it; a --set that creates an
    // incomplete workload is reported like a file problem, marked as coming from --set.
    let bad = Override::parse("scenario.name.first=x").expect("PATH=VALUE");
    let nope = Override::parse("workload.nope.rate=5").expect("PATH=VALUE");
    let diags = parse_scenario("full.toml", FULL, &[bad, nope]).expect_err("bad overrides");
    let text = diags.to_string();
    assert_eq!((diags.0[0].line, diags.0[0].column), (0, 0), "{text}");
    assert!(
        text.contains(
            "full.toml: --set scenario.name.first=x: scenario.name is string, not a table"
        ),
        "{text}"
    );
    assert!(
        text.contains("missing required key workload.nope.endpoint"),
        "{text}"
    );
    let bad_value = Override::parse("service.gateway.replicas=-1").expect("PATH=VALUE");
    let diags = parse_scenario("full.toml", FULL, &[bad_value]).expect_err("negative replicas");
    assert!(
        diags.to_string().contains("full.toml:32:12: service.gateway.replicas = -1 is out of range; allowed: an integer from 1 to 100000 (from --set service.gateway.replicas=-1)"),
        "{diags}"
    );
}

#[test]
fn locations_after_a_set_that_adds_a_line_still_name_the_file_lines() {
    // Goal: `--set` adding a key shifts the document's lines; diagnostics below it still
    // point at the line in the file on disk, and the added line itself reports line 0.
    let sets = ["workload.checkout.users=5", "service.gateway.replicas=0"];
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::parse(s).expect("PATH=VALUE"))
        .collect();
    let diags = parse_scenario("full.toml", FULL, &overrides).expect_err("rate and users");
    let got: Vec<(u32, u32)> = diags.0.iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(got, vec![(0, 0), (32, 12)], "{diags}");
    assert!(
        diags.0[0].message.contains("both rate and users"),
        "{diags}"
    );
    assert!(
        diags.0[0]
            .message
            .contains("(from --set workload.checkout.users=5)"),
        "{diags}"
    );
}

#[test]
fn bucket_and_limits_can_be_set() {
    // Goal: explicit bucket widths and run budgets are read, with the bucket count bounded.
    let m = parse(
        FULL,
        &[
            "scenario.bucket=1s",
            "scenario.max_events=1000",
            "scenario.max_in_flight=50",
        ],
    );
    assert_eq!(m.bucket, SimDuration::from_secs(1));
    assert_eq!((m.limits.max_events, m.limits.max_in_flight), (1000, 50));
    let too_fine = Override::parse("scenario.bucket=1ms").expect("PATH=VALUE");
    let diags = parse_scenario("full.toml", FULL, &[too_fine]).expect_err("90000 buckets");
    assert!(diags.to_string().contains("gives 90000 buckets"), "{diags}");
}

#[test]
fn any_u64_seed_is_accepted_and_the_range_is_stated() {
    // Goal: a seed above i64::MAX (which TOML integers cannot hold) is read from a quoted
    // string of digits; a negative or non-numeric seed is refused naming the allowed range.
    let file = |seed: &str| {
        format!(
            "[scenario]\nname = \"s\"\nduration = \"1s\"\nseed = {seed}\n[workload.w]\nendpoint = \"a/b\"\nrate = 1\n[service.a.endpoint.b]\nwork = \"1ms\"\n"
        )
    };
    let parse = |seed: &str| parse_scenario("s.toml", &file(seed), &[]);
    assert_eq!(parse("\"18446744073709551615\"").unwrap().seed, u64::MAX);
    assert_eq!(parse("9223372036854775807").unwrap().seed, i64::MAX as u64);
    assert_eq!(parse("\"42\"").unwrap().seed, 42);
    for bad in ["-1", "\"18446744073709551616\"", "\"0x10\"", "1.5"] {
        let text = parse(bad).unwrap_err().to_string();
        assert!(text.contains("s.toml:4:8: scenario.seed"), "{bad}: {text}");
        assert!(
            text.contains("an integer from 0 to 18446744073709551615"),
            "{bad}: {text}"
        );
        assert!(text.contains("in quotes"), "{bad}: {text}");
    }
}

#[test]
fn an_unknown_key_close_to_a_known_one_gets_a_did_you_mean() {
    // Goal: a one-letter typo of a key is named with the key it probably meant.
    let text = "[scenario]\nname = \"x\"\nduration = \"1s\"\n[workload.w]\nendpoint = \"a/b\"\nrate = 1\n[service.a.endpoint.b]\nfial = 0.1\n";
    let err = sim_core::parse_scenario("t.toml", text, &[])
        .expect_err("typo")
        .to_string();
    assert!(
        err.contains("unknown key \"fial\"") && err.contains("did you mean \"fail\"?"),
        "{err}"
    );
}

/// A valid scenario with a workload, a sidecar, a call and a flow: every table that takes
/// the call-resilience keys. `{w}`, `{s}`, `{c}` and `{f}` put a key into one of them.
const RESILIENT_TABLES: &str = r#"[scenario]
name = "keys"
seed = 1
duration = "1s"

[workload.w]
endpoint = "front/a"
rate = 10
{w}
[service.front.sidecar]
overhead = "0ms"
{s}
[service.front.endpoint.a]
calls = [{ to = "back/b"{c} }]

[service.back.endpoint.b]
work = "1ms"

[flow.f]
style = "sync"
entry = "front"
steps = [{ do = "back/b" }]
{f}
"#;

#[test]
fn unknown_keys_among_the_resilience_keys_are_reported_where_written_in_file_order() {
    // Goal: a misspelt resilience key and an unknown key in a workload, a sidecar, a call
    // and a flow give exactly the located message of before the shared fields were written
    // once (captured from main's binary): the known keys in the table's own order, and a
    // did-you-mean for the misspelling.
    let fill = |w: &str, s: &str, c: &str, f: &str| {
        RESILIENT_TABLES
            .replace("{w}", w)
            .replace("{s}", s)
            .replace("{c}", c)
            .replace("{f}", f)
    };
    assert!(parse_scenario("k.toml", &fill("", "", "", ""), &[]).is_ok());
    let workload = "endpoint, flow, rate, rate_file, arrival, users, think, timeout, protocol, \
                    retries, backoff, backoff_max, jitter, retry_budget, breaker, bulkhead, \
                    fallback, spike, rate_limit, priority";
    let sidecar = "overhead, timeout, retries, backoff, backoff_max, jitter, retry_budget, breaker";
    let call = "to, protocol, timeout, retries, backoff, backoff_max, jitter, retry_budget, \
                breaker, bulkhead, fallback, via, p, one_of";
    let flow = "style, entry, via, steps, reply, recovery, protocol, timeout, retries, backoff, \
                backoff_max, jitter, retry_budget, breaker, bulkhead, fallback, partitions, \
                prefetch, visibility, max_deliveries";
    for (key, hint) in [
        ("retrys = 2", "; did you mean \"retries\"?"),
        ("colour = 1", ""),
    ] {
        let name = key.split(' ').next().expect("a key");
        let cases = [
            (fill(key, "", "", ""), "9:1", workload),
            (fill("", key, "", ""), "12:1", sidecar),
            (fill("", "", &format!(", {key}"), ""), "14:27", call),
            (fill("", "", "", key), "23:1", flow),
        ];
        for (text, at, known) in cases {
            let err = parse_scenario("k.toml", &text, &[])
                .expect_err("an unknown key")
                .to_string();
            let want =
                format!("k.toml:{at}: unknown key \"{name}\"; known keys here: {known}{hint}");
            assert_eq!(err.lines().next(), Some(want.as_str()), "{err}");
        }
    }
}

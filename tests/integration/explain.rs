//! `meshsim explain`: the bottleneck and maximum rate from the model alone, checked on cases
//! computed by hand and against what the simulation itself reports for M/M/1.

use serde_json::Value;

use crate::support::{meshsim, model};

/// The analysis of scenario text, as its JSON.
fn explain(text: &str) -> Value {
    let e = reports::explain::explain(&model(text)).expect("no cycle");
    serde_json::to_value(&e).expect("serialisable")
}

fn close(got: &Value, want: f64) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {got}"));
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "got {got}, want {want}"
    );
}

const HEAD: &str = r#"
[scenario]
name = "t"
duration = "10s"
"#;

#[test]
fn a_worker_waiting_on_a_call_is_held() {
    // Goal: a chain api (work 2 ms) -> db (work 5 ms) over 0.5 ms links holds api's worker for
    // 2 + 0.5 + 5 + 0.5 = 8 ms, not its 2 ms of work: with 1 worker api saturates at 125/s
    // (work alone would say 500/s), before db's 4 workers (800/s).
    let e = explain(&format!(
        r#"{HEAD}
[network]
latency = "0.5ms"
[workload.w]
endpoint = "api/get"
rate = 100
[service.api]
workers = 1
[service.api.endpoint.get]
work = "2ms"
calls = [{{ to = "db/read" }}]
[service.db]
workers = 4
[service.db.endpoint.read]
work = "5ms"
"#
    ));
    close(&e["services"]["api"]["held_ms"], 8.0);
    close(&e["services"]["db"]["held_ms"], 5.0);
    close(&e["bottleneck_utilization"], 100.0 * 0.008);
    assert_eq!(e["bottleneck"], "api");
    close(&e["max_rate_rps"], 125.0);
    close(&e["services"]["db"]["max_rate_rps"], 800.0);
    // The client's no-queueing response: its own two crossings around api's 8 ms.
    close(&e["workloads"]["w"]["response_ms"], 9.0);
    close(
        &e["workloads"]["w"]["utilization"]["db"],
        100.0 * 0.005 / 4.0,
    );
}

#[test]
fn parallel_calls_cost_the_max_of_their_means() {
    // Goal: a gateway (work 1 ms) calling a (3 ms) and b (5 ms) at once holds its worker
    // 1 + max(3, 5) = 6 ms (one after another it would be 9 ms); each callee gets one visit.
    let fan = |parallel: bool| {
        explain(&format!(
            r#"{HEAD}
[workload.w]
endpoint = "gw/all"
rate = 10
[service.gw.endpoint.all]
work = "1ms"
parallel = {parallel}
calls = [{{ to = "a/x" }}, {{ to = "b/y" }}]
[service.a.endpoint.x]
work = "3ms"
[service.b.endpoint.y]
work = "5ms"
"#
        ))
    };
    let e = fan(true);
    close(&e["services"]["gw"]["held_ms"], 6.0);
    close(&e["services"]["a"]["visits"], 1.0);
    close(&e["services"]["b"]["visits"], 1.0);
    assert_eq!(e["bottleneck"], "gw");
    close(&e["max_rate_rps"], 1000.0 / 6.0);
    close(&fan(false)["services"]["gw"]["held_ms"], 9.0);
}

#[test]
fn p_and_one_of_scale_the_visits() {
    // Goal: a call made with p = 0.1 to db (10 ms, 1 worker) visits it 0.1 times per request,
    // so db holds 1 ms per request and saturates at 1000/s; api's held time is
    // 1 + 0.1 × 10 = 2 ms. A one_of with weights 3 : 1 splits its visits 0.75 / 0.25.
    let e = explain(&format!(
        r#"{HEAD}
[workload.w]
endpoint = "api/get"
rate = 100
[service.api]
workers = 8
[service.api.endpoint.get]
work = "1ms"
calls = [
  {{ to = "db/read", p = 0.1 }},
  {{ one_of = [{{ to = "x/a", weight = 3 }}, {{ to = "y/b", weight = 1 }}] }},
]
[service.db.endpoint.read]
work = "10ms"
[service.x.endpoint.a]
work = "0ms"
[service.y.endpoint.b]
work = "4ms"
"#
    ));
    close(&e["services"]["db"]["visits"], 0.1);
    close(&e["services"]["db"]["held_ms_per_request"], 1.0);
    close(&e["services"]["x"]["visits"], 0.75);
    close(&e["services"]["y"]["visits"], 0.25);
    close(&e["services"]["api"]["held_ms"], 1.0 + 1.0 + 0.25 * 4.0);
    assert_eq!(e["bottleneck"], "db");
    close(&e["max_rate_rps"], 1000.0);
}

#[test]
fn a_closed_loop_saturates_at_n_star() {
    // Goal: users thinking 90 ms on a 2-worker service of 5 ms work: Dmax = 5 / 2 = 2.5 ms,
    // N* = (R0 + Z) / Dmax = (5 + 90) / 2.5 = 38 users; 10 users send 10 / 95 ms = 105.3/s.
    let e = explain(&format!(
        r#"{HEAD}
[workload.users]
endpoint = "s/e"
users = 10
think = "90ms"
[service.s]
workers = 2
[service.s.endpoint.e]
work = "5ms"
"#
    ));
    let w = &e["workloads"]["users"];
    assert_eq!(w["rate_basis"], "closed");
    close(&w["saturation_users"], 38.0);
    close(&w["rate_rps"], 10.0 / 0.095);
    close(&w["max_rate_rps"], 400.0);
}

#[test]
fn a_broker_capacity_can_be_the_bottleneck() {
    // Goal: the shop sends one message per request through a broker dispatching 100/s to 4
    // consumers of 5 ms (800/s): the broker limits at 100/s. The consumer holds a worker for
    // its own held time per delivery; the shop holds its worker for the round trip to the
    // broker (1 ms work + 0.5 ms broker latency).
    let e = explain(&format!(
        r#"{HEAD}
[workload.orders]
endpoint = "shop/order"
rate = 150
[service.shop]
workers = 64
[service.shop.endpoint.order]
work = "1ms"
send = ["jobs"]
[broker.mq]
latency = "0.5ms"
capacity = 100
[queue.jobs]
broker = "mq"
consumer = "worker/do"
[service.worker]
replicas = 4
[service.worker.endpoint.do]
work = "5ms"
"#
    ));
    assert_eq!(e["bottleneck"], "broker:mq");
    close(&e["max_rate_rps"], 100.0);
    close(&e["bottleneck_utilization"], 1.5);
    close(&e["brokers"]["mq"]["deliveries"], 1.0);
    close(&e["services"]["shop"]["held_ms"], 1.5);
    close(&e["services"]["worker"]["visits"], 1.0);
    close(&e["services"]["worker"]["max_rate_rps"], 800.0);
}

#[test]
fn mm1_bound_matches_the_simulation() {
    // Goal: for scenarios/mm1.toml explain gives mu = 800/s and utilization 0.8 at 640/s, and
    // the simulation of the same file reports that utilization (within 2%).
    let out = meshsim(&["explain", "scenarios/mm1.toml", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(e["bottleneck"], "server");
    close(&e["max_rate_rps"], 800.0);
    close(&e["services"]["server"]["utilization"], 0.8);
    let out = meshsim(&["run", "scenarios/mm1.toml", "--json"]);
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let simulated = r["services"]["server"]["utilization"].as_f64().unwrap();
    assert!((simulated - 0.8).abs() < 0.016, "simulated {simulated}");
    let text = meshsim(&["explain", "scenarios/mm1.toml"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with("bottleneck: server at 80% for 640 rps; max sustainable rate ≈ 800 rps\n"),
        "{text}"
    );
}

#[test]
fn a_message_cycle_is_refused_with_its_place() {
    // Goal: a consumer that sends to its own queue has unbounded visits: exit 2, naming it.
    let dir = crate::support::scratch_dir("explain-cycle");
    let file = dir.join("cycle.toml");
    std::fs::write(
        &file,
        format!(
            r#"{HEAD}
[workload.w]
endpoint = "a/in"
rate = 1
[service.a.endpoint.in]
work = "1ms"
send = ["loop"]
[broker.mq]
[queue.loop]
broker = "mq"
consumer = "b/again"
[service.b.endpoint.again]
work = "1ms"
send = ["loop"]
"#
        ),
    )
    .unwrap();
    let out = meshsim(&["explain", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("b/again is on a cycle"), "{err}");
}

#[test]
fn a_flow_counts_steps_and_undos_as_often_as_they_run() {
    // Goal: steps reserve, charge (refused 1 time in 10), ship: reserve runs once, its undo
    // 0.1 times (applied, then a later refusal), charge once, its undo never (no later step
    // refuses), ship 0.9 times — in every style that coordinates or chains the steps. A sync
    // coordinator holds its worker for the calls it makes: 2 + 0.1 × 2 + 4 + 0.9 × 8 ms.
    let flow = |style: &str| {
        explain(&format!(
            r#"{HEAD}
[workload.w]
flow = "f"
rate = 10
[broker.mq]
[flow.f]
style = "{style}"
entry = "order"
via = "mq"
steps = [
  {{ do = "inventory/reserve", undo = "inventory/release" }},
  {{ do = "payment/charge", undo = "payment/refund", reject = 0.1 }},
  {{ do = "shipping/ship" }},
]
[service.order]
[service.inventory.endpoint.reserve]
work = "2ms"
[service.inventory.endpoint.release]
work = "2ms"
[service.payment.endpoint.charge]
work = "4ms"
[service.payment.endpoint.refund]
work = "4ms"
[service.shipping.endpoint.ship]
work = "8ms"
"#
        ))
    };
    for style in ["sync", "orchestration", "choreography"] {
        let e = flow(style);
        let s = &e["services"];
        close(&s["inventory"]["visits"], 1.1);
        close(&s["payment"]["visits"], 1.0);
        close(&s["shipping"]["visits"], 0.9);
        close(&s["inventory"]["held_ms_per_request"], 1.1 * 2.0);
    }
    // A sync flow's coordinator: no work of its own, the calls it waits on.
    close(
        &flow("sync")["services"]["order"]["held_ms"],
        2.0 + 0.1 * 2.0 + 4.0 + 0.9 * 8.0,
    );
    // async: every group reacts to the one event, refusals or not.
    close(&flow("async")["services"]["shipping"]["visits"], 1.0);
}

#[test]
fn run_says_when_throughput_falls_short_of_the_bound() {
    // Goal: retry-storm's naive API serves far less than its offered 1400/s that the model
    // sustains (its retries and timeouts collapse it): `run` says so on stderr, naming both
    // numbers; M/M/1 at 80% serves its offered rate and gets no such line.
    let out = meshsim(&["run", "scenarios/retry-storm.toml", "--quiet"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rps succeeded") && err.contains("below the 1400.0 rps the model sustains"),
        "{err}"
    );
    let out = meshsim(&["run", "scenarios/mm1.toml", "--quiet"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("cross-check"), "{err}");
}

#[test]
fn a_deep_chain_is_explained_without_recursion() {
    // Goal: 3000 services in a chain (each 1 ms of work, 1 worker) cannot overflow the stack:
    // the head holds its worker for the whole chain, 3000 ms, so it sustains 1/3 rps, and the
    // headline says so rather than "0 rps".
    let mut text = format!("{HEAD}[workload.w]\nendpoint = \"s0/e\"\nrate = 1\n");
    for i in 0..3000 {
        text += &format!("[service.s{i}.endpoint.e]\nwork = \"1ms\"\n");
        if i + 1 < 3000 {
            text += &format!("calls = [{{ to = \"s{}/e\" }}]\n", i + 1);
        }
    }
    let m = model(&text);
    let e = reports::explain::explain(&m).expect("a chain has no cycle");
    assert_eq!(e.bottleneck.as_deref(), Some("s0"));
    close(&serde_json::json!(e.max_rate_rps), 1.0 / 3.0);
    let mut out = Vec::new();
    reports::explain::write_explain_text(&mut out, &e).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with("bottleneck: s0 at 300% for 1.0 rps; max sustainable rate ≈ 0.333 rps"),
        "{out}"
    );
}

#[test]
fn a_closed_loop_past_n_star_runs_at_the_bound() {
    // Goal: the asymptotic bounds of a closed loop hold in the simulation: with 4 × N* users
    // the throughput is the bottleneck's 1 / Dmax (2 workers of exp(5 ms): 400/s) within 3%,
    // and with N* / 4 users it is N / (R0 + Z) within 3% (nobody queues much).
    let text = |users: u32| {
        format!(
            r#"[scenario]
name = "t"
duration = "60s"
warmup = "5s"
[workload.users]
endpoint = "s/e"
users = {users}
think = "exp(90ms)"
[service.s]
workers = 2
[service.s.endpoint.e]
work = "exp(5ms)"
"#
        )
    };
    let e = explain(&text(10));
    let n_star = e["workloads"]["users"]["saturation_users"]
        .as_f64()
        .unwrap();
    close(&e["workloads"]["users"]["saturation_users"], 38.0);
    for (users, want) in [(152, 400.0), (9, 9.0 / 0.095)] {
        let m = model(&text(users));
        let results = sim_core::run(&m, 3).expect("runs");
        let report = reports::Report::build(&results, &m);
        let got = report.workloads.get("users").unwrap().throughput_rps;
        assert!(
            (got / want - 1.0).abs() < 0.03,
            "{users} users (N* = {n_star}): {got} rps, want {want}"
        );
    }
}

//! Flows compile into the parts `model::flow` describes, and their rules are enforced.

use crate::model::{
    DEFAULT_PREFETCH, DEFAULT_VISIBILITY, Destination, EndpointId, FaultKind, FlowId, FlowStyle,
    LinkId, Model, Protocol, QueueId, QueueRole, ServiceId, TopicId,
};
use crate::scenario::flows::DEFAULT_RECOVERY;
use crate::scenario::{Diagnostics, parse_scenario};
use crate::time::SimDuration;

/// Endpoints 0 `order/place`, 1 `inventory/reserve`, 2 `inventory/release`,
/// 3 `payment/charge`, 4 `payment/refund`, 5 `shipping/ship`; broker `kafka`; workload `w`
/// starts `place-order`, which `extra` declares. `extra` starts inside `order/place`'s table,
/// so it may begin with that endpoint's keys.
fn scenario(extra: &str) -> String {
    format!(
        r#"[scenario]
name = "f"
duration = "10s"
[workload.w]
flow = "place-order"
rate = 10
timeout = "5s"
[service.order]
[service.inventory.endpoint.reserve]
[service.inventory.endpoint.release]
[service.payment.endpoint.charge]
[service.payment.endpoint.refund]
[service.shipping.endpoint.ship]
[broker.kafka]
[service.order.endpoint.place]
{extra}"#
    )
}

/// The three steps of `place-order`: two with an undo, the last without.
const STEPS: &str = r#"steps = [
  { do = "inventory/reserve", undo = "inventory/release" },
  { do = "payment/charge", undo = "payment/refund", reject = 0.1 },
  { do = "shipping/ship" },
]"#;

fn model(extra: &str) -> Model {
    match parse_scenario("f.toml", &scenario(extra), &[]) {
        Ok(m) => m,
        Err(d) => panic!("should parse:\n{d}"),
    }
}

fn problems(extra: &str) -> Diagnostics {
    match parse_scenario("f.toml", &scenario(extra), &[]) {
        Ok(_) => panic!("should fail:\n{extra}"),
        Err(d) => d,
    }
}

fn assert_says(d: &Diagnostics, want: &str) {
    assert!(d.to_string().contains(want), "missing \"{want}\" in:\n{d}");
}

fn flow(style: &str, keys: &str) -> String {
    format!("[flow.place-order]\nstyle = \"{style}\"\nentry = \"order\"\n{keys}\n{STEPS}\n")
}

fn link(m: &Model, id: LinkId) -> String {
    m.link_name(id)
}

fn queue_names(m: &Model) -> Vec<&str> {
    m.queues.iter().map(|q| q.name.as_str()).collect()
}

const ENTRY: EndpointId = EndpointId(6);

#[test]
fn sync_flow_is_an_entry_endpoint_calling_every_do_then_every_undo() {
    // Goal: `order/flow:place-order` follows the declared endpoints, belongs to order, calls
    // each step's `do` then each `undo` directly with the flow's call settings, and the steps
    // know their calls' indices; the workload calls the entry endpoint.
    let m = model(&flow(
        "sync",
        "timeout = \"1s\"\nretries = 2\nprotocol = \"grpc\"",
    ));
    assert_eq!(m.endpoints.len(), 7);
    assert_eq!(m.endpoint_name(ENTRY), "order/flow:place-order");
    assert_eq!(m.services[0].endpoints, [EndpointId(0), ENTRY]);
    let e = m.endpoint(ENTRY);
    assert_eq!(
        (e.fail, e.parallel, e.effect, e.idempotent),
        (0.0, false, false, false)
    );
    assert_eq!(e.work.to_string(), "0ns");
    assert!(e.publish.is_empty());
    let to: Vec<u32> = e.calls.iter().map(|c| c.to.0).collect();
    assert_eq!(to, [1, 3, 5, 2, 4]);
    for c in &e.calls {
        assert_eq!(c.via, None);
        assert_eq!(c.timeout, Some(SimDuration::from_secs(1)));
        assert_eq!(c.protocol, Protocol::Grpc);
        assert_eq!(c.resilience.retry.retries, 2);
    }
    let first = &e.calls[0];
    assert_eq!(link(&m, first.link), "order->inventory");
    assert_eq!(link(&m, first.reply_link), "inventory->order");
    let f = &m.flows[0];
    assert_eq!((f.name.as_str(), f.style), ("place-order", FlowStyle::Sync));
    assert_eq!((f.entry, f.entry_endpoint), (ServiceId(0), ENTRY));
    assert_eq!(
        (f.reply_early, f.recovery, f.topic),
        (false, DEFAULT_RECOVERY, None)
    );
    let calls: Vec<(u16, Option<u16>)> = f.steps.iter().map(|s| (s.do_call, s.undo_call)).collect();
    assert_eq!(calls, [(0, Some(3)), (1, Some(4)), (2, None)]);
    let s = &f.steps[1];
    assert_eq!(
        (s.action, s.undo, s.reject),
        (EndpointId(3), Some(EndpointId(4)), 0.1)
    );
    assert_eq!((s.do_queue, s.undo_queue), (None, None));
    let w = &m.workloads[0];
    assert_eq!((w.flow, w.call.to), (Some(FlowId(0)), ENTRY));
    assert_eq!(link(&m, w.call.link), "client->order");
    assert_eq!(link(&m, w.call.reply_link), "order->client");
    assert_eq!(w.call.timeout, Some(SimDuration::from_secs(5)));
    assert!(m.queues.is_empty() && m.topics.is_empty());
}

#[test]
fn orchestration_calls_go_via_request_queues_of_the_flows_broker() {
    // Goal: the same calls as sync, each via the broker through the request queue of its
    // target (shared with a declared call via the same broker), after the declared calls'
    // queues; `reply` and `recovery` are read.
    let m = model(&format!(
        "calls = [{{ to = \"payment/charge\", via = \"kafka\" }}]\n{}",
        flow(
            "orchestration",
            "via = \"kafka\"\nreply = \"accepted\"\nrecovery = \"3s\""
        )
    ));
    assert_eq!(
        queue_names(&m),
        [
            "requests:payment/charge",
            "requests:inventory/reserve",
            "requests:shipping/ship",
            "requests:inventory/release",
            "requests:payment/refund",
        ]
    );
    assert!(m.queues.iter().all(|q| q.role == QueueRole::Requests));
    let e = m.endpoint(ENTRY);
    let via: Vec<Option<u32>> = e.calls.iter().map(|c| c.via.map(|q| q.0)).collect();
    assert_eq!(via, [Some(1), Some(0), Some(2), Some(3), Some(4)]);
    assert_eq!(link(&m, e.calls[0].link), "order->kafka");
    assert_eq!(link(&m, e.calls[0].reply_link), "kafka->order");
    let consumer = m.queues[3].consumer.as_ref().unwrap();
    assert_eq!(consumer.endpoint, EndpointId(2));
    assert_eq!(link(&m, consumer.deliver_link), "kafka->inventory");
    let f = &m.flows[0];
    assert_eq!(f.style, FlowStyle::Orchestration);
    assert_eq!(
        (f.reply_early, f.recovery),
        (true, SimDuration::from_secs(3))
    );
    assert_eq!(f.steps[0].undo_call, Some(3));
}

#[test]
fn async_flow_publishes_to_its_topic_with_a_group_per_step() {
    // Goal: topic `flow:place-order` after the declared topic, groups step1..3 consuming the
    // steps' `do`, the flow's message keys, `flow:place-order-dlq` as dead letter; the entry
    // endpoint publishes to it, with no calls.
    let m = model(&format!(
        "[topic.audit]\n{}",
        flow(
            "async",
            "partitions = 4\nvisibility = \"2s\"\nmax_deliveries = 5"
        )
    ));
    let names: Vec<&str> = m.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["audit", "flow:place-order"]);
    let t = &m.topics[1];
    assert_eq!((t.partitions, t.keys), (4, None));
    assert_eq!(
        (t.visibility, t.max_deliveries),
        (SimDuration::from_secs(2), Some(5))
    );
    let groups: Vec<(&str, u32)> = t
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.consumer.endpoint.0))
        .collect();
    assert_eq!(groups, [("step1", 1), ("step2", 3), ("step3", 5)]);
    assert_eq!(
        link(&m, t.groups[2].consumer.deliver_link),
        "kafka->shipping"
    );
    assert_eq!(queue_names(&m), ["flow:place-order-dlq"]);
    assert_eq!(m.queues[0].role, QueueRole::DeadLetter);
    assert_eq!(t.dead_letter, Some(QueueId(0)));
    let e = m.endpoint(ENTRY);
    assert!(e.calls.is_empty());
    let to: Vec<Destination> = e.publish.iter().map(|p| p.to).collect();
    assert_eq!(to, [Destination::Topic(TopicId(1))]);
    assert_eq!(link(&m, e.publish[0].link), "order->kafka");
    let f = &m.flows[0];
    assert_eq!(f.topic, Some(TopicId(1)));
    assert_eq!(f.steps[0].undo, Some(EndpointId(2)), "kept as written");
    assert!(
        f.steps
            .iter()
            .all(|s| s.undo_call.is_none() && s.do_queue.is_none())
    );
}

#[test]
fn choreography_flow_has_a_queue_per_do_and_per_undo() {
    // Goal: queues `flow:place-order/do:K` then `/undo:K` after the declared queue and before
    // dead letters and request queues; their settings from the flow; the steps know them; the
    // entry endpoint sends to `do:1`.
    let m = model(&format!(
        "calls = [{{ to = \"payment/charge\", via = \"kafka\" }}]\n\
         [queue.jobs]\nmax_deliveries = 2\n{}",
        flow("choreography", "prefetch = 4\nmax_deliveries = 3")
    ));
    assert_eq!(
        queue_names(&m),
        [
            "jobs",
            "flow:place-order/do:1",
            "flow:place-order/do:2",
            "flow:place-order/do:3",
            "flow:place-order/undo:1",
            "flow:place-order/undo:2",
            "jobs-dlq",
            "flow:place-order-dlq",
            "requests:payment/charge",
        ]
    );
    let q = &m.queues[5];
    assert_eq!(q.role, QueueRole::Declared);
    assert_eq!((q.prefetch, q.visibility), (4, DEFAULT_VISIBILITY));
    assert_eq!(
        (q.max_deliveries, q.dead_letter),
        (Some(3), Some(QueueId(7)))
    );
    let consumer = q.consumer.as_ref().unwrap();
    assert_eq!(consumer.endpoint, EndpointId(4));
    assert_eq!(link(&m, consumer.ack_link), "payment->kafka");
    let queues: Vec<(Option<u32>, Option<u32>)> = m.flows[0]
        .steps
        .iter()
        .map(|s| (s.do_queue.map(|q| q.0), s.undo_queue.map(|q| q.0)))
        .collect();
    assert_eq!(
        queues,
        [(Some(1), Some(4)), (Some(2), Some(5)), (Some(3), None)]
    );
    let e = m.endpoint(ENTRY);
    let to: Vec<Destination> = e.publish.iter().map(|p| p.to).collect();
    assert_eq!(to, [Destination::Queue(QueueId(1))]);
    assert_eq!(m.flows[0].topic, None);
}

#[test]
fn defaults_and_the_only_broker() {
    // Goal: `via` defaults to the only broker; partitions 1, prefetch and visibility default;
    // without max_deliveries there is no dead letter; `undo` equal to `do` is allowed.
    let m = model(
        "[flow.place-order]\nstyle = \"choreography\"\nentry = \"order\"\n\
         steps = [{ do = \"payment/charge\", undo = \"payment/charge\" }]\n",
    );
    let q = &m.queues[0];
    assert_eq!(
        (q.broker.0, q.prefetch, q.max_deliveries),
        (0, DEFAULT_PREFETCH, None)
    );
    assert_eq!(q.dead_letter, None);
    assert_eq!(m.flows[0].steps[0].undo, Some(EndpointId(3)));
    let m = model(&flow("async", ""));
    assert_eq!(m.topics[0].partitions, 1);
    assert!(m.queues.is_empty());
}

#[test]
fn flows_follow_the_declared_endpoints_in_file_order() {
    // Goal: two flows get entry endpoints 6 and 7 and flow ids 0 and 1, in file order, and a
    // second workload starts the second flow.
    let m = model(&format!(
        "{}[flow.restock]\nstyle = \"sync\"\nentry = \"inventory\"\n\
         steps = [{{ do = \"inventory/reserve\" }}]\n\
         [workload.v]\nflow = \"restock\"\nusers = 1\n",
        flow("sync", "")
    ));
    assert_eq!(m.endpoint_name(EndpointId(7)), "inventory/flow:restock");
    assert_eq!(
        m.services[1].endpoints,
        [EndpointId(1), EndpointId(2), EndpointId(7)]
    );
    let flows: Vec<(Option<FlowId>, u32)> =
        m.workloads.iter().map(|w| (w.flow, w.call.to.0)).collect();
    assert_eq!(flows, [(Some(FlowId(0)), 6), (Some(FlowId(1)), 7)]);
}

#[test]
fn keys_for_another_style_are_checked_and_unused() {
    // Goal: one file can be compared across styles (`--vary flow.X.style=…`), so a key of
    // another style is accepted — but still checked: a bad value is reported. `fallback`
    // never applies.
    for style in ["sync", "async", "choreography", "orchestration"] {
        let text = flow(
            style,
            "via = \"kafka\"\npartitions = 2\nrecovery = \"1s\"\nreply = \"accepted\"\n\
             timeout = \"1s\"\nprefetch = 2\nretries = 1\nvisibility = \"1s\"\nmax_deliveries = 2",
        );
        let m = model(&text);
        assert_eq!(m.flows[0].style.name(), style);
    }
    let d = problems(&flow("sync", "via = \"kafak\""));
    assert_says(&d, "kafak");
    let d = problems(&flow("async", "timeout = \"0s\""));
    assert_says(&d, "flow.place-order.timeout");
    let d = problems(&flow("sync", "fallback = true"));
    assert_says(&d, "flow.place-order.fallback is not allowed on a flow");
    assert_eq!(d.0[0].line, 19, "{d}");
}

#[test]
fn style_entry_steps_and_via_are_checked() {
    // Goal: the required keys are required; typos get suggestions; endpoints must exist;
    // step counts and reject are in range; a broker style needs a broker.
    let d = problems("[flow.place-order]\nentry = \"order\"\nsteps = [{ do = \"shipping/ship\" }]");
    assert_says(
        &d,
        "missing required key flow.place-order.style; allowed: sync, async",
    );
    let d = problems(&flow("orchestraton", ""));
    assert_says(
        &d,
        "unknown flow style \"orchestraton\" in flow.place-order.style",
    );
    assert_says(&d, "did you mean \"orchestration\"?");
    let d = problems("[flow.place-order]\nstyle = \"sync\"\nentry = \"ordr\"\nsteps = []\n");
    assert_says(
        &d,
        "unknown service \"ordr\" in flow.place-order.entry; known: order, inventory, payment, \
         shipping; did you mean \"order\"?",
    );
    assert_says(&d, "flow.place-order.steps has 0 step(s); allowed: 1 to 32");
    let many = vec!["{ do = \"shipping/ship\" }"; 33].join(", ");
    let d = problems(&format!(
        "[flow.place-order]\nstyle = \"sync\"\nentry = \"order\"\nsteps = [{many}]\n"
    ));
    assert_says(&d, "steps has 33 step(s); allowed: 1 to 32");
    let d = problems(
        "[flow.place-order]\nstyle = \"sync\"\nentry = \"order\"\n\
         steps = [{ undo = \"payment/refund\" }, { do = \"payment/charge\", undo = \"payment/refnd\", reject = 1.5 }]\n",
    );
    assert_says(
        &d,
        "flow.place-order.steps[0] is missing its action: add do = ",
    );
    assert_says(
        &d,
        "unknown endpoint \"payment/refnd\" in flow.place-order.steps[1].undo",
    );
    assert_says(&d, "did you mean \"payment/refund\"?");
    assert_says(&d, "flow.place-order.steps[1].reject = 1.5 is out of range");
    let d = problems(&format!("[broker.rabbit]\n{}", flow("async", "")));
    assert_says(
        &d,
        "missing required key flow.place-order.via (the broker carrying",
    );
    assert_says(&d, "several brokers are declared: kafka, rabbit");
    let d = problems(&flow("orchestration", "via = \"kafak\""));
    assert_says(&d, "unknown broker \"kafak\" in flow.place-order.via");
    let d = problems(&flow("sync", "reply = \"later\""));
    assert_says(
        &d,
        "unknown reply \"later\" in flow.place-order.reply; allowed: outcome",
    );
    let d = problems(&flow("orchestration", "recovery = \"0s\""));
    assert_says(
        &d,
        "flow.place-order.recovery = \"0s\": allowed: a duration > 0",
    );
}

#[test]
fn workloads_name_one_target() {
    // Goal: endpoint and flow together, or neither, are errors; an unknown flow gets a
    // suggestion; a flow with a problem of its own gives no second error at the workload.
    let d = problems(&format!(
        "{}[workload.both]\nendpoint = \"order/place\"\nflow = \"place-order\"\nrate = 1\n\
         [workload.none]\nrate = 1\n[workload.typo]\nflow = \"place-ordr\"\nrate = 1\n",
        flow("sync", "")
    ));
    assert_says(&d, "workload.both has both endpoint and flow");
    assert_says(
        &d,
        "missing required key workload.none.endpoint (the target, \"service/endpoint\") or workload.none.flow",
    );
    assert_says(
        &d,
        "unknown flow \"place-ordr\" in workload.typo.flow; known: place-order; did you mean \
         \"place-order\"?",
    );
    assert_eq!(d.0.len(), 3, "{d}");
    let d = problems("");
    assert_says(
        &d,
        "unknown flow \"place-order\" in workload.w.flow; known: none (declare [flow.NAME])",
    );
    let d = problems(
        "[flow.place-order]\nstyle = \"sync\"\nentry = \"nobody\"\nsteps = [{ do = \"shipping/ship\" }]\n",
    );
    assert_eq!(d.0.len(), 1, "{d}");
}

#[test]
fn flow_names_are_reserved() {
    // Goal: declared endpoints, queues, topics and dead letters may not take a flow's
    // `flow:` names; flow names follow the common rules; only a flow sends to its queues.
    let d = problems(&format!(
        "[service.order.endpoint.\"flow:x\"]\n[queue.\"flow:q\"]\n[topic.\"flow:t\"]\n\
         [queue.jobs]\nmax_deliveries = 1\ndead_letter = \"flow:d\"\n{}",
        flow("sync", "")
    ));
    assert_says(&d, "endpoint name \"flow:x\" must not start with \"flow:\"");
    assert_says(&d, "queue name \"flow:q\" must not start with \"flow:\"");
    assert_says(&d, "topic name \"flow:t\" must not start with \"flow:\"");
    assert_says(
        &d,
        "queue.jobs.dead_letter = \"flow:d\" must not start with \"flow:\"",
    );
    let d = problems(
        "[flow.\"a/b\"]\nstyle = \"sync\"\nentry = \"order\"\nsteps = [{ do = \"shipping/ship\" }]\n[flow.client]\n",
    );
    assert_says(&d, "flow name \"a/b\" must not contain '/'");
    assert_says(&d, "flow name \"client\" must not be \"client\"");
    let d = problems(&format!(
        "send = [\"flow:place-order/do:1\"]\n{}",
        flow("choreography", "")
    ));
    assert_says(
        &d,
        "\"flow:place-order/do:1\" in service.order.endpoint.place.send names a flow's own queue or topic",
    );
    let d = problems(&format!(
        "calls = [{{ to = \"order/flow:place-order\" }}]\n{}",
        flow("sync", "")
    ));
    assert_says(&d, "a flow's entry endpoint is not called by name");
}

#[test]
fn two_flows_may_not_share_a_name() {
    // Goal: the TOML layer already refuses a second `[flow.NAME]` with the same name.
    let d = problems(&format!("{}{}", flow("sync", ""), flow("async", "")));
    assert_says(&d, "duplicate key");
}

#[test]
fn faults_can_target_a_flows_topic_queues_and_links() {
    // Goal: the flow's implicit topic and queues are ordinary duplicate targets, and the
    // links only its consumers use are ordinary link targets.
    let faults = "[[fault]]\nkind = \"duplicate\"\ntarget = \"flow:place-order/do:2\"\nat = \"1s\"\nrate = 0.5\n\
                  [[fault]]\nkind = \"loss\"\ntarget = \"kafka->shipping\"\nat = \"1s\"\nrate = 0.5\n";
    let m = model(&format!("{}{faults}", flow("choreography", "")));
    assert!(matches!(
        m.faults[0].kind,
        FaultKind::Duplicate {
            to: Destination::Queue(QueueId(1)),
            ..
        }
    ));
    assert!(matches!(&m.faults[1].kind, FaultKind::Loss { links, .. } if links.len() == 2));
    let faults =
        "[[fault]]\nkind = \"duplicate\"\ntarget = \"flow:place-order\"\nat = \"1s\"\nrate = 1\n";
    let m = model(&format!("{}{faults}", flow("async", "")));
    assert!(matches!(
        m.faults[0].kind,
        FaultKind::Duplicate {
            to: Destination::Topic(TopicId(0)),
            ..
        }
    ));
}

#[test]
fn a_step_on_the_entry_service_is_no_cycle_but_a_steps_own_cycle_is() {
    // Goal: the entry endpoint's calls join the sync-cycle check: a step at another endpoint
    // of the entry service, which calls on, is fine (no endpoint waits for itself), and a
    // cycle in a step's own calls is reported once.
    let steps = "steps = [{ do = \"order/place\" }, { do = \"shipping/ship\" }]";
    let sync = format!("[flow.place-order]\nstyle = \"sync\"\nentry = \"order\"\n{steps}\n");
    let m = model(&format!("calls = [{{ to = \"payment/charge\" }}]\n{sync}"));
    let to: Vec<u32> = m.endpoint(ENTRY).calls.iter().map(|c| c.to.0).collect();
    assert_eq!(to, [0, 5]);
    let d = problems(&format!("calls = [{{ to = \"order/place\" }}]\n{sync}"));
    assert_says(&d, "sync call cycle: order/place -> order/place");
    assert_eq!(d.0.len(), 1, "{d}");
}

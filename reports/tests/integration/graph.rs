//! The topology as Graphviz DOT.

use reports::to_dot;

use crate::support::{model, model_with_flows, model_with_messaging};

#[test]
fn dot_has_the_client_every_service_and_every_edge() {
    // Goal: the DOT names the client and each service, and draws workloads and calls as
    // labelled edges with protocol and timeout.
    let dot = to_dot(&model());
    assert!(dot.starts_with("digraph \"checkout-sync\" {\n"), "{dot}");
    assert!(dot.ends_with("}\n"), "{dot}");
    assert!(dot.contains("\"client\" [shape=ellipse"), "{dot}");
    assert!(dot.contains("\"service:gateway\" [shape=box, label=\"gateway\\n2 x 32 workers\\nqueue 128, round-robin"), "{dot}");
    assert!(dot.contains("queue unbounded, p2c"), "{dot}");
    assert!(dot.contains("\"client\" -> \"service:gateway\" [label=\"checkout: 200 rps poisson\\ngateway/checkout, grpc, timeout 2s\"]"), "{dot}");
    assert!(dot.contains("\"service:gateway\" -> \"service:order\" [label=\"checkout ->\\norder/place, rest, timeout 1s\"]"), "{dot}");
    assert!(
        dot.contains("gateway/checkout, none, no timeout\", style=bold]"),
        "{dot}"
    );
}

#[test]
fn dot_is_well_formed_and_deterministic() {
    // Goal: braces and quotes balance, every statement line ends with ';', and two renderings
    // are identical.
    let dot = to_dot(&model());
    assert_eq!(dot, to_dot(&model()));
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    let unescaped_quotes = dot.replace("\\\"", "").matches('"').count();
    assert_eq!(unescaped_quotes % 2, 0);
    for line in dot.lines().skip(1).filter(|l| *l != "}") {
        assert!(line.ends_with(';'), "{line}");
    }
}

#[test]
fn quotes_in_names_are_escaped() {
    // Goal: a name with a quote cannot break the DOT string it sits in.
    let mut m = model();
    m.name = "say \"hi\"".to_string();
    assert!(to_dot(&m).starts_with("digraph \"say \\\"hi\\\"\" {"));
}

#[test]
fn brokers_queues_and_topics_are_nodes_with_their_edges() {
    // Goal: the broker is a 3-D box joined to its queues (cylinders) and topic; publishers
    // point at what they publish or send to, queues and topics at their consumers' services
    // (a group's edge names the group), a dead-letter queue hangs off a dashed edge, and a call
    // `via` the broker is the call edge labelled with it (its request queue is not a node).
    let dot = to_dot(&model_with_messaging());
    for line in [
        "\"broker:kafka\" [shape=box3d, label=\"kafka\\nbroker, latency exp(1ms)\\ncapacity 50000/s, durable\"];",
        "\"queue:email-jobs\" [shape=cylinder, label=\"email-jobs\\nqueue, prefetch 1, visibility 30s\\nmax 3 deliveries\"];",
        "\"queue:email-dlq\" [shape=cylinder, label=\"email-dlq\\ndead-letter queue\"];",
        "\"topic:order.placed\" [shape=cds, label=\"order.placed\\ntopic, 6 partitions\\n100 keys\"];",
        "\"broker:kafka\" -> \"queue:email-jobs\" [style=dotted, arrowhead=none];",
        "\"broker:kafka\" -> \"topic:order.placed\" [style=dotted, arrowhead=none];",
        "\"service:order\" -> \"topic:order.placed\" [label=\"place ->\\npublish\"];",
        "\"service:order\" -> \"queue:email-jobs\" [label=\"place ->\\nsend\"];",
        "\"queue:email-jobs\" -> \"service:email\" [label=\"email/send\"];",
        "\"queue:email-jobs\" -> \"queue:email-dlq\" [label=\"dead letter after 3\", style=dashed];",
        "\"topic:order.placed\" -> \"service:inventory\" [label=\"group inventory:\\ninventory/reserve\"];",
        "\"topic:order.placed\" -> \"service:email\" [label=\"group notify:\\nemail/notify\"];",
        "\"service:gateway\" -> \"service:pricing\" [label=\"checkout ->\\npricing/quote, none, timeout 2s\\nvia kafka\"];",
    ] {
        assert!(
            dot.contains(&format!("\n  {line}\n")),
            "missing {line}\n{dot}"
        );
    }
    assert!(!dot.contains("requests:"), "{dot}");
    assert_eq!(dot, to_dot(&model_with_messaging()));
    for line in dot.lines().skip(1).filter(|l| *l != "}") {
        assert!(line.ends_with(';'), "{line}");
    }
}

#[test]
fn without_messaging_nothing_about_brokers_is_drawn() {
    // Goal: a model without brokers gets no broker, queue or topic line (its DOT is the
    // reviewed snapshot, byte for byte).
    let dot = to_dot(&model());
    for word in ["broker:", "queue:", "topic:", "via "] {
        assert!(!dot.contains(word), "{word}\n{dot}");
    }
}

#[test]
fn a_flow_is_a_dashed_path_from_its_entry_through_its_steps() {
    // Goal: each flow is drawn as a dashed path in its own colour, entry service -> step 1's
    // service -> step 2's …; the first edge names the flow and its style, each edge its step
    // and undo; a model without flows has no such edge.
    let dot = to_dot(&model_with_flows());
    for line in [
        "\"service:order\" -> \"service:inventory\" [label=\"place-order (orchestration)\\n1. inventory/reserve\\nundo inventory/release\", style=dashed, color=\"#0072B2\", fontcolor=\"#0072B2\"];",
        "\"service:inventory\" -> \"service:payment\" [label=\"place-order\\n2. payment/charge\\nundo payment/refund\", style=dashed, color=\"#0072B2\", fontcolor=\"#0072B2\"];",
        "\"service:payment\" -> \"service:shipping\" [label=\"place-order\\n3. shipping/ship\", style=dashed, color=\"#0072B2\", fontcolor=\"#0072B2\"];",
        "\"service:order\" -> \"service:shipping\" [label=\"cancel-order (sync)\\n1. shipping/cancel\", style=dashed, color=\"#E69F00\", fontcolor=\"#E69F00\"];",
        "\"service:shipping\" -> \"service:payment\" [label=\"cancel-order\\n2. payment/refund\", style=dashed, color=\"#E69F00\", fontcolor=\"#E69F00\"];",
    ] {
        assert!(
            dot.contains(&format!("\n  {line}\n")),
            "missing {line}\n{dot}"
        );
    }
    assert_eq!(dot.matches("style=dashed").count(), 5, "{dot}");
    assert_eq!(dot, to_dot(&model_with_flows()));
    for line in dot.lines().skip(1).filter(|l| *l != "}") {
        assert!(line.ends_with(';'), "{line}");
    }
    assert!(!to_dot(&model()).contains("style=dashed"));
}

//! The topology as Graphviz DOT.

use reports::to_dot;

use crate::support::model;

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

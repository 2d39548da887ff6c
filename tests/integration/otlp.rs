//! `meshsim trace --format otlp`: OpenTelemetry's OTLP JSON, read back with OpenTelemetry's
//! own protobuf definitions (the `opentelemetry-proto` crate's JSON form), not ours.

use std::collections::BTreeMap;

use crate::support::meshsim;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

fn otlp(args: &[&str]) -> (Vec<u8>, ExportTraceServiceRequest) {
    let mut all = vec!["trace"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "otlp"]);
    let out = meshsim(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded = serde_json::from_slice(&out.stdout).expect("OTLP JSON decodes");
    (out.stdout, decoded)
}

fn string_attr(
    attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
    key: &str,
) -> Option<String> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        }
    })
}

/// Checks what every trace must satisfy and returns (service, span kind, name) per span.
fn one_tree(req: &ExportTraceServiceRequest) -> Vec<(String, SpanKind, String)> {
    let mut parents: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut trace_ids = std::collections::BTreeSet::new();
    let mut seen = Vec::new();
    for rs in &req.resource_spans {
        let resource = rs.resource.as_ref().expect("a resource");
        let service = string_attr(&resource.attributes, "service.name").expect("service.name");
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                assert_eq!(s.trace_id.len(), 16, "128-bit trace id");
                assert!(
                    s.trace_id.iter().any(|&b| b != 0),
                    "a trace id is never zero"
                );
                assert_eq!(s.span_id.len(), 8, "64-bit span id");
                assert!(s.span_id.iter().any(|&b| b != 0), "a span id is never zero");
                assert!(s.parent_span_id.is_empty() || s.parent_span_id.len() == 8);
                assert!(s.start_time_unix_nano <= s.end_time_unix_nano, "{}", s.name);
                assert!(!s.name.is_empty());
                let kind = SpanKind::try_from(s.kind).expect("a known span kind");
                assert_ne!(kind, SpanKind::Unspecified, "{}", s.name);
                assert!(string_attr(&s.attributes, "meshsim.kind").is_some());
                trace_ids.insert(s.trace_id.clone());
                let dup = parents.insert(s.span_id.clone(), s.parent_span_id.clone());
                assert!(dup.is_none(), "span ids are unique");
                seen.push((service.clone(), kind, s.name.clone()));
            }
        }
    }
    assert_eq!(trace_ids.len(), 1, "one trace id");
    let roots: Vec<_> = parents.iter().filter(|(_, p)| p.is_empty()).collect();
    assert_eq!(roots.len(), 1, "exactly one root");
    // Every span reaches the root through known parents, without a cycle.
    for id in parents.keys() {
        let mut cur = id.clone();
        for step in 0.. {
            assert!(step <= parents.len(), "a cycle through {id:?}");
            let p = &parents[&cur];
            if p.is_empty() {
                break;
            }
            assert!(
                parents.contains_key(p),
                "parent {p:?} of {cur:?} is a span of the trace"
            );
            cur = p.clone();
        }
    }
    seen
}

#[test]
fn otlp_of_a_call_chain_decodes_and_forms_one_tree_of_clients_and_servers() {
    // Goal: the slowest request of the synchronous checkout chain, exported as OTLP JSON,
    // decodes with OpenTelemetry's own definitions, has one trace id, unique non-zero span
    // ids, parent links that form one tree, one resource per service named by
    // `service.name`, the request and calls as CLIENT spans and each service's serving as a
    // SERVER span; the same seed writes the same bytes.
    let (bytes, req) = otlp(&["scenarios/checkout-sync.toml", "--slowest"]);
    let (again, _) = otlp(&["scenarios/checkout-sync.toml", "--slowest"]);
    assert_eq!(bytes, again, "same seed, same bytes");
    let spans = one_tree(&req);
    let services: Vec<String> = req
        .resource_spans
        .iter()
        .filter_map(|rs| string_attr(&rs.resource.as_ref()?.attributes, "service.name"))
        .collect();
    assert_eq!(services[0], "client", "{services:?}");
    let servers: Vec<&String> = spans
        .iter()
        .filter(|(_, k, _)| *k == SpanKind::Server)
        .map(|(svc, _, _)| svc)
        .collect();
    // Four services serve the request once each, each under its own resource.
    assert_eq!(servers.len(), 4, "{spans:?}");
    for s in servers {
        assert!(services.contains(s), "{s} has its own resource");
    }
    let clients = spans
        .iter()
        .filter(|(_, k, _)| *k == SpanKind::Client)
        .count();
    assert_eq!(clients, 4, "the request and its three calls");
}

#[test]
fn otlp_of_a_publish_has_a_producer_and_a_consumer_per_group_and_is_one_tree() {
    // Goal: a request whose endpoint publishes to a topic with three consumer groups gives
    // one PRODUCER span and three CONSUMER spans (one per group, each under the consuming
    // service's resource), in one tree.
    let (_, req) = otlp(&["scenarios/pubsub-fanout.toml", "--request", "5"]);
    let spans = one_tree(&req);
    let producers = spans
        .iter()
        .filter(|(_, k, _)| *k == SpanKind::Producer)
        .count();
    assert_eq!(producers, 1, "{spans:?}");
    let mut consumers: Vec<&str> = spans
        .iter()
        .filter(|(_, k, _)| *k == SpanKind::Consumer)
        .map(|(svc, _, _)| svc.as_str())
        .collect();
    consumers.sort();
    assert_eq!(consumers, ["analytics", "email", "inventory"]);
}

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

/// Every span of the request, in the order written (service by service).
fn all_spans(req: &ExportTraceServiceRequest) -> Vec<&opentelemetry_proto::tonic::trace::v1::Span> {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .collect()
}

#[test]
fn otlp_siblings_have_distinct_names_matching_the_waterfall() {
    // Goal: a viewer's tree shows names only, so no two children of one parent may share a
    // name where the text waterfall tells them apart: a serving span's queue wait and work
    // are `NAME queue wait` and `NAME work`, under a serve span named `NAME`; a timeout
    // names the track it fired on. Checked on the checkout chain and on a request that
    // timed out (retry-storm).
    for args in [
        ["scenarios/checkout-sync.toml", "--slowest"],
        ["scenarios/retry-storm.toml", "--failed"],
    ] {
        let (_, req) = otlp(&args);
        one_tree(&req);
        let spans = all_spans(&req);
        let mut children: BTreeMap<(&[u8], &str), usize> = BTreeMap::new();
        for s in &spans {
            if !s.parent_span_id.is_empty() {
                *children
                    .entry((&s.parent_span_id, s.name.as_str()))
                    .or_default() += 1;
            }
        }
        let shared: Vec<_> = children.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            shared.is_empty(),
            "{args:?}: siblings share a name: {shared:?}"
        );
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        if args[0].contains("checkout") {
            for n in [
                "gateway/checkout",
                "gateway/checkout queue wait",
                "gateway/checkout work",
            ] {
                assert!(names.contains(&n), "{n} in {names:?}");
            }
        } else {
            assert!(
                names.contains(&"timeout (client:budgeted)"),
                "the client's timeout names its track: {names:?}"
            );
        }
    }
}

#[test]
fn otlp_spans_at_one_instant_put_the_parent_first_and_the_queue_wait_before_work() {
    // Goal: within a service's spans, written in start order, a span that starts at the
    // same instant as its parent comes after it, and a serving span's zero-length queue
    // wait comes before its work (the order a viewer without its own sort shows). The
    // checkout chain's servers all start work the instant the request arrives.
    let (_, req) = otlp(&["scenarios/checkout-sync.toml", "--slowest"]);
    for rs in &req.resource_spans {
        for ss in &rs.scope_spans {
            let pos = |id: &[u8]| ss.spans.iter().position(|s| s.span_id == id);
            for (i, s) in ss.spans.iter().enumerate() {
                if let Some(p) = pos(&s.parent_span_id) {
                    let parent = &ss.spans[p];
                    if parent.start_time_unix_nano == s.start_time_unix_nano {
                        assert!(p < i, "{} precedes its child {}", parent.name, s.name);
                    }
                }
            }
            let names: Vec<&str> = ss.spans.iter().map(|s| s.name.as_str()).collect();
            for (i, n) in names.iter().enumerate() {
                if let Some(base) = n.strip_suffix(" work") {
                    let wait = format!("{base} queue wait");
                    let w = names.iter().position(|m| *m == wait).expect("a queue wait");
                    assert!(w < i, "{wait} before {n}: {names:?}");
                    let serve = names.iter().position(|m| *m == base).expect("a serve");
                    assert!(serve < w, "{base} before {wait}: {names:?}");
                }
            }
        }
    }
}

#[test]
fn otlp_refusal_status_carries_the_human_reason() {
    // Goal: a viewer shows a span's status message as its error, so a refusal's is the
    // human reason (`meshsim.reason`), not the bare cause, which stays in
    // `meshsim.cause`. cascade-contained's first failure is a full bulkhead.
    let (_, req) = otlp(&["scenarios/cascade-contained.toml", "--failed"]);
    one_tree(&req);
    let refused: Vec<_> = all_spans(&req)
        .into_iter()
        .filter(|s| string_attr(&s.attributes, "meshsim.kind").as_deref() == Some("refused"))
        .collect();
    assert!(!refused.is_empty());
    for s in refused {
        let reason = string_attr(&s.attributes, "meshsim.reason").expect("a reason");
        let status = s.status.as_ref().expect("a status");
        assert_eq!(status.code, 2, "ERROR");
        assert_eq!(status.message, reason);
        assert!(reason.contains("bulkhead"), "{reason}");
        assert_eq!(
            string_attr(&s.attributes, "meshsim.cause").as_deref(),
            Some("unavailable")
        );
    }
}

#[test]
fn otlp_epoch_shifts_every_time_by_the_anchor_and_nothing_else() {
    // Goal: `--epoch` anchors simulated time 0 at the given instant (2026-12-01T09:00:00Z is
    // Unix 1796115600 s, from `date -u -d ... +%s`): every span's start and end move by
    // exactly that much, nothing else changes, the RFC 3339 and nanosecond forms agree, and
    // the output stays the same bytes run to run. A bad instant, or `--epoch` with a format
    // whose times are relative, is refused with exit 2 and what is allowed.
    let anchor: u64 = 1_796_115_600_000_000_000;
    let (_, plain) = otlp(&["scenarios/checkout-sync.toml", "--slowest"]);
    let (bytes, shifted) = otlp(&[
        "scenarios/checkout-sync.toml",
        "--slowest",
        "--epoch",
        "2026-12-01T09:00:00Z",
    ]);
    let (again, _) = otlp(&[
        "scenarios/checkout-sync.toml",
        "--slowest",
        "--epoch",
        "1796115600000000000",
    ]);
    assert_eq!(bytes, again, "both forms of one instant, same bytes");
    let (a, b) = (all_spans(&plain), all_spans(&shifted));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(y.start_time_unix_nano, x.start_time_unix_nano + anchor);
        assert_eq!(y.end_time_unix_nano, x.end_time_unix_nano + anchor);
        assert_eq!(
            (&x.name, &x.span_id, &x.attributes),
            (&y.name, &y.span_id, &y.attributes)
        );
    }
    for (epoch, format, says) in [
        ("2026-02-30T00:00:00Z", "otlp", "day 30 is outside 1..=28"),
        ("2300-01-01T00:00:00Z", "otlp", "year 2300 is outside"),
        (
            "2026-12-01T09:00:00Z",
            "text",
            "--epoch applies to --format otlp only",
        ),
    ] {
        let out = meshsim(&[
            "trace",
            "scenarios/checkout-sync.toml",
            "--slowest",
            "--format",
            format,
            "--epoch",
            epoch,
        ]);
        assert_eq!(out.status.code(), Some(2), "{epoch} {format}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{epoch}: {err}");
    }
}

fn attr_of(s: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<String> {
    string_attr(&s.attributes, key)
}

#[test]
fn otlp_numbers_a_retried_calls_attempts() {
    // Goal: each attempt of a retried call is told apart by `meshsim.attempt` (1, 2, …) and
    // by its name (`… (attempt N)` from the second on). saga-crash's first failure is the
    // saga's payment call, which fails after using all its `retries = 8`: so exactly 9
    // attempts, numbered 1..=9 once each, under that call.
    let (_, req) = otlp(&["scenarios/saga-crash.toml", "--failed"]);
    one_tree(&req);
    let spans = all_spans(&req);
    let call = spans
        .iter()
        .find(|s| s.name.ends_with("-> payment/charge") && s.status.is_some())
        .expect("the failed payment call");
    let mut attempts: Vec<u32> = spans
        .iter()
        .filter(|s| s.parent_span_id == call.span_id)
        .filter_map(|s| attr_of(s, "meshsim.attempt")?.parse().ok())
        .collect();
    attempts.sort();
    assert_eq!(attempts, (1..=9).collect::<Vec<u32>>(), "1 + retries");
    for s in spans.iter().filter(|s| s.parent_span_id == call.span_id) {
        match attr_of(s, "meshsim.attempt").as_deref() {
            Some("1") | None => assert!(!s.name.contains("(attempt"), "{}", s.name),
            Some(n) => assert!(s.name.ends_with(&format!("(attempt {n})")), "{}", s.name),
        }
    }
}

#[test]
fn otlp_delivery_lost_to_a_crash_ends_at_the_crash_with_status_crashed() {
    // Goal: in request-reply, pricing crashes at 20 s (its `[[fault]]`) while the traced
    // request's quote is being worked on; that delivery's CONSUMER span and the work it was
    // doing end at the crash instant with outcome and ERROR status `crashed`, and the
    // redelivery after the visibility timeout is a second, successful consume span.
    let (_, req) = otlp(&["scenarios/request-reply.toml", "--failed"]);
    one_tree(&req);
    let spans = all_spans(&req);
    let consumes: Vec<_> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Consumer as i32 && s.name == "pricing/quote")
        .collect();
    assert_eq!(
        consumes.len(),
        2,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let crash_ns = 20_000_000_000;
    let lost = consumes[0];
    assert_eq!(lost.end_time_unix_nano, crash_ns);
    let status = lost.status.as_ref().expect("a status");
    assert_eq!((status.code, status.message.as_str()), (2, "crashed"));
    assert_eq!(attr_of(lost, "meshsim.cause").as_deref(), Some("crashed"));
    let work = spans
        .iter()
        .find(|s| s.parent_span_id == lost.span_id && s.name == "pricing/quote work")
        .expect("the work the crash cut short");
    assert_eq!(work.end_time_unix_nano, crash_ns);
    assert_eq!(attr_of(work, "meshsim.outcome").as_deref(), Some("crashed"));
    let again = consumes[1];
    assert!(again.start_time_unix_nano > crash_ns);
    assert!(again.status.is_none(), "the redelivery succeeds");
}

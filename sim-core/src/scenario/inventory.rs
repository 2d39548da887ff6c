//! The names a model declares, and the rule that `--set` (and `--vary`, which `compare` and
//! `sweep` apply as overrides) may change what a file declares but never invent a name.
//!
//! A typo in a `--set` path (`service.bnak.workers=4` for `bank`) would otherwise validate: a
//! table of a new service is a valid scenario, so the run reports ok and a comparison a tie.
//! So the model after the overrides is compared with the model of the file alone: every
//! service, endpoint, workload, broker, queue, topic, consumer group or flow that only the
//! overrides brought in is refused, naming the override, the names the file has and the
//! closest one. Comparing models rather than TOML tables catches every way of inventing a
//! name (a new table, or a value naming a new `service/endpoint`) and allows every way the
//! file has of declaring one (a service that only an endpoint reference declares may still
//! be given `workers`). New links need no check here: links are named by their services,
//! and validation already refuses a link between services that do not exist. A fault or an
//! expectation is addressed by index, and an index past the end is refused while editing.

use crate::model::{Model, QueueRole};

use super::Override;
use super::validate::closest;

/// Prefixes of the names meshsim derives rather than the file declares: a flow's entry
/// endpoint and topic (`flow:NAME`), a choreography's step queues (`flow:NAME/do:1`), the
/// request queues of calls made `via` a broker (`requests:service/endpoint`). Changing a
/// flow's `style` or a call's `via` legitimately changes them.
const DERIVED: [&str; 2] = ["flow:", "requests:"];

fn declared(name: &str) -> bool {
    !name
        .split('/')
        .any(|part| DERIVED.iter().any(|p| part.starts_with(p)))
}

/// `(kind, names in model order)` for every kind of named thing the file declares, so that
/// one name reads as `service "bank"` in messages. Endpoints are `service/endpoint`, groups
/// `topic/group`. Derived names ([`DERIVED`]) and dead-letter queues that are only named by a
/// `dead_letter` value (any new name there is a deliberate value, not a table) are left out.
fn names(model: &Model) -> Vec<(&'static str, Vec<String>)> {
    let mut all = names_with_derived(model);
    for (_, names) in &mut all {
        names.retain(|n| declared(n));
    }
    all
}

fn names_with_derived(model: &Model) -> Vec<(&'static str, Vec<String>)> {
    // A version's copies of endpoints are named like their base: listed once, by the base.
    let endpoints = model
        .endpoints
        .iter()
        .filter(|e| e.version_of.is_none())
        .map(|e| format!("{}/{}", model.services[e.service.0 as usize].name, e.name))
        .collect();
    let groups = model
        .topics
        .iter()
        .flat_map(|t| {
            t.groups
                .iter()
                .map(move |g| format!("{}/{}", t.name, g.name))
        })
        .collect();
    let of = |names: Vec<&String>| names.into_iter().cloned().collect::<Vec<String>>();
    vec![
        (
            "service",
            of(model.services.iter().map(|s| &s.name).collect()),
        ),
        ("endpoint", endpoints),
        (
            "version",
            model
                .services
                .iter()
                .flat_map(|s| {
                    s.versions
                        .iter()
                        .map(move |v| format!("{}@{}", s.name, v.name))
                })
                .collect(),
        ),
        (
            "workload",
            of(model.workloads.iter().map(|w| &w.name).collect()),
        ),
        (
            "broker",
            of(model.brokers.iter().map(|b| &b.name).collect()),
        ),
        (
            "queue",
            of(model
                .queues
                .iter()
                .filter(|q| q.role != QueueRole::DeadLetter)
                .map(|q| &q.name)
                .collect()),
        ),
        ("topic", of(model.topics.iter().map(|t| &t.name).collect())),
        ("consumer group", groups),
        ("flow", of(model.flows.iter().map(|f| &f.name).collect())),
    ]
}

/// One message per name that `edited` (the file with `overrides`) has and `file` (the file
/// alone) does not. The names inside an invented one (the endpoints of an invented service,
/// the groups of an invented topic) are not reported again.
pub(super) fn invented(file: &Model, edited: &Model, overrides: &[Override]) -> Vec<String> {
    let before = names(file);
    let mut invented: Vec<String> = Vec::new();
    let mut messages = Vec::new();
    for ((kind, known), (_, now)) in before.iter().zip(names(edited)) {
        for name in now.iter().filter(|n| !known.contains(n)) {
            let inside_invented = name
                .split_once('/')
                .is_some_and(|(outer, _)| invented.iter().any(|i| i == outer));
            if !inside_invented {
                messages.push(message(kind, name, known, overrides));
            }
            invented.push(name.clone());
        }
    }
    messages
}

fn message(kind: &str, name: &str, known: &[String], overrides: &[Override]) -> String {
    let culprit = overrides
        .iter()
        .find(|o| mentions(o, name))
        .or(overrides.last())
        .map(|o| format!("--set {}={}", o.path, o.value))
        .unwrap_or_default();
    let listed = if known.is_empty() {
        format!("the file declares no {kind}")
    } else {
        format!("known: {}", known.join(", "))
    };
    let hint = closest(name, known).map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
    format!(
        "{culprit}: the file declares no {kind} \"{name}\"; --set and --vary may change what \
         the file declares but not add a {kind} ({listed}){hint}"
    )
}

/// Whether the override's value names `name`, or its path a part of it (`bnak` of
/// `bnak/pay`).
fn mentions(o: &Override, name: &str) -> bool {
    let path_has = |part: &str| o.path.split('.').any(|s| s.trim_matches('"') == part);
    o.value.contains(name) || name.split('/').any(path_has)
}

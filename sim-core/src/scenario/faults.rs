//! `[[fault]]` and `[chaos]`: kinds, time windows, and targets resolved to replicas, to the
//! links calls and messages use, to brokers, and to topics and queues (`targets`).
//!
//! A fault that names a link (or a partition) must hit at least one link that some call or
//! workload uses, so that a fault can never silently miss.

use std::ops::Range;

use toml::{Spanned, Value};

use super::Sink;
use super::raw::{RawChaos, RawFault, Val};
use super::targets::{Target, Topology};
use super::validate::{closest, val_span};
use super::values::show;
use crate::model::{Chaos, Fault, FaultKind, Node, ReplicaRef};
use crate::time::SimDuration;

const MAX_SLOW_FACTOR: f64 = 10_000.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Crash,
    Slow,
    Error,
    Loss,
    Partition,
    BrokerDown,
    Duplicate,
}

const KINDS: &str = "crash, slow, error, loss, partition, broker-down, duplicate";

/// Every `[[fault]]`, in file order.
pub(super) fn read_faults(
    sink: &mut Sink,
    raw: &[Spanned<RawFault>],
    topo: &Topology,
) -> Vec<Fault> {
    let faults = raw.iter().enumerate();
    faults
        .filter_map(|(i, f)| {
            let path = format!("fault[{i}]");
            let on = enabled(sink, &f.get_ref().enabled, &path);
            // Validated even when switched off, so switching it on cannot reveal an error.
            read_fault(sink, &path, f, topo).filter(|_| on)
        })
        .collect()
}

/// `enabled` of a `[[fault]]`, `[chaos]` or `[[expect]]`: a what-if switch, default true. A
/// switched-off entry is validated and then left out of the model, as if not written.
pub(super) fn enabled(sink: &mut Sink, v: &Val, path: &str) -> bool {
    sink.boolean(v, &format!("{path}.enabled")).unwrap_or(true)
}

fn read_kind(sink: &mut Sink, v: &Val, path: &str, span: Range<usize>) -> Option<Kind> {
    if v.is_none() {
        let msg = format!("missing required key {path}.kind; allowed: {KINDS}");
        sink.error(span, msg);
        return None;
    }
    let text = sink.string(v, &format!("{path}.kind"))?;
    let kind = match text.as_str() {
        "crash" => Kind::Crash,
        "slow" => Kind::Slow,
        "error" => Kind::Error,
        "loss" => Kind::Loss,
        "partition" => Kind::Partition,
        "broker-down" => Kind::BrokerDown,
        "duplicate" => Kind::Duplicate,
        _ => {
            let known: Vec<String> = KINDS.split(", ").map(String::from).collect();
            let hint = closest(&text, &known)
                .map_or(String::new(), |b| format!("; did you mean \"{b}\"?"));
            let msg =
                format!("unknown fault kind \"{text}\" in {path}.kind; allowed: {KINDS}{hint}");
            sink.error(val_span(v), msg);
            return None;
        }
    };
    Some(kind)
}

/// Reports a key given on a fault kind it does not apply to.
fn only(sink: &mut Sink, v: &Val, path: &str, applies_to: &str) {
    if v.is_some() {
        let msg = format!("{path} applies to {applies_to} faults only");
        sink.error(val_span(v), msg);
    }
}

/// `at` (required, before the end of the run) and `for` (> 0, default: to the end).
fn read_window(
    sink: &mut Sink,
    raw: &RawFault,
    path: &str,
    span: Range<usize>,
    end: SimDuration,
) -> (Option<SimDuration>, Option<SimDuration>) {
    if raw.at.is_none() {
        let msg = format!("missing required key {path}.at (when the fault starts, e.g. \"20s\")");
        sink.error(span, msg);
    }
    let mut at = sink.duration(&raw.at, &format!("{path}.at"));
    if let Some(t) = at.filter(|t| *t >= end) {
        let msg = format!(
            "{path}.at = \"{t}\" is not before the end of the run (duration + drain = {end}); \
             allowed: a duration < {end}"
        );
        sink.error(val_span(&raw.at), msg);
        at = None;
    }
    let mut duration = sink.duration(&raw.for_, &format!("{path}.for"));
    if duration == Some(SimDuration::ZERO) {
        let msg = format!(
            "{path}.for = \"0s\" would do nothing; allowed: a duration > 0, or leave it out \
             (until the end of the run)"
        );
        sink.error(val_span(&raw.for_), msg);
        duration = None;
    }
    (at, duration)
}

fn read_fault(
    sink: &mut Sink,
    path: &str,
    fault: &Spanned<RawFault>,
    topo: &Topology,
) -> Option<Fault> {
    let (span, raw) = (fault.span(), fault.get_ref());
    let kind = read_kind(sink, &raw.kind, path, span.clone());
    let (at, duration) = read_window(sink, raw, path, span.clone(), topo.end);
    let factor_path = format!("{path}.factor");
    let factor = sink.number(&raw.factor, &factor_path, 1.0, MAX_SLOW_FACTOR, false);
    let rate = sink.number(&raw.rate, &format!("{path}.rate"), 0.0, 1.0, true);
    let target = sink.string(&raw.target, &format!("{path}.target"));
    let kind = kind?;
    if kind != Kind::Slow {
        only(sink, &raw.factor, &factor_path, "slow");
    }
    if !matches!(kind, Kind::Error | Kind::Loss | Kind::Duplicate) {
        only(
            sink,
            &raw.rate,
            &format!("{path}.rate"),
            "error, loss and duplicate",
        );
    }
    if kind == Kind::Partition {
        let (fault_kind, label) = read_partition(sink, raw, path, span, topo)?;
        let target = target.map_or(label, |t| t.trim().to_string());
        return Some(Fault {
            kind: fault_kind,
            at: at?,
            duration,
            target,
        });
    }
    for (v, key) in [
        (&raw.groups, "groups"),
        (&raw.from, "from"),
        (&raw.to, "to"),
    ] {
        only(sink, v, &format!("{path}.{key}"), "partition");
    }
    let missing = |what: &str| format!("{path} needs {what}");
    let needed = match kind {
        Kind::Slow if raw.factor.is_none() => Some("factor, how many times slower (a number >= 1)"),
        Kind::Error | Kind::Loss if raw.rate.is_none() => {
            Some("rate, the probability in (0, 1] that a request fails or a message is lost")
        }
        Kind::Duplicate if raw.rate.is_none() => {
            Some("rate, the probability in (0, 1] that a delivery is duplicated")
        }
        _ => None,
    };
    if let Some(what) = needed {
        sink.error(span.clone(), missing(what));
    }
    if raw.target.is_none() {
        let what = match kind {
            Kind::BrokerDown => "target: a broker",
            Kind::Duplicate => "target: a topic or a queue",
            _ => "target: a service, a replica \"service#i\" or a link \"a->b\"",
        };
        sink.error(span, missing(what));
        return None;
    }
    let text = target?.trim().to_string();
    let tpath = format!("{path}.target");
    let kind = fault_kind(kind, &text, factor, rate, topo)
        .map_err(|e| sink.error(val_span(&raw.target), format!("{tpath} = \"{text}\": {e}")))
        .ok()??;
    Some(Fault {
        kind,
        at: at?,
        duration,
        target: text,
    })
}

/// Resolves the target of any fault but a partition (`None`: a value was bad and has been
/// reported already).
fn fault_kind(
    kind: Kind,
    text: &str,
    factor: Option<f64>,
    rate: Option<f64>,
    topo: &Topology,
) -> Result<Option<FaultKind>, String> {
    match kind {
        Kind::BrokerDown => {
            let broker = topo.broker(text)?;
            return Ok(Some(FaultKind::BrokerDown { broker }));
        }
        Kind::Duplicate => {
            let to = topo.destination(text)?;
            return Ok(rate.map(|rate| FaultKind::Duplicate { to, rate }));
        }
        _ => {}
    }
    let target = topo.target(text)?;
    let replicas = |t: &Target| match t {
        Target::Service(s) => topo.replicas(*s),
        Target::Replica(r) => vec![*r],
        Target::Version {
            service,
            first,
            count,
        } => (*first..first + count)
            .map(|index| ReplicaRef {
                service: *service,
                index,
            })
            .collect(),
        Target::Link(..) => Vec::new(),
    };
    Ok(match (kind, &target) {
        (Kind::Crash, Target::Link(..)) => {
            return Err(
                "a crash hits a service or a replica (\"payment\", \"payment#1\"), \
                        not a link"
                    .into(),
            );
        }
        (Kind::Crash, t) => Some(FaultKind::Crash {
            replicas: replicas(t),
        }),
        (Kind::Slow, Target::Link(a, b)) => {
            let links = topo.pair_links(*a, *b)?;
            factor.map(|factor| FaultKind::SlowLink { links, factor })
        }
        (Kind::Slow, t) => factor.map(|factor| FaultKind::Slow {
            replicas: replicas(t),
            factor,
        }),
        (Kind::Error, Target::Service(service)) => rate.map(|rate| FaultKind::Error {
            service: *service,
            rate,
            replicas: None,
        }),
        (Kind::Error, Target::Replica(r)) => rate.map(|rate| FaultKind::Error {
            service: r.service,
            rate,
            replicas: Some((r.index, 1)),
        }),
        (
            Kind::Error,
            Target::Version {
                service,
                first,
                count,
            },
        ) => rate.map(|rate| FaultKind::Error {
            service: *service,
            rate,
            replicas: Some((*first, *count)),
        }),
        (Kind::Error, Target::Link(..)) => {
            return Err(
                "an error fault hits a service, a replica or a version (\"payment\", \
                 \"payment#1\", \"payment@canary\"), not a link"
                    .into(),
            );
        }
        (Kind::Loss, Target::Link(a, b)) => {
            let links = topo.pair_links(*a, *b)?;
            rate.map(|rate| FaultKind::Loss { links, rate })
        }
        (Kind::Loss, _) => {
            return Err(format!(
                "a loss fault hits a link \"FROM->TO\"; links in use: {}",
                topo.links_in_use()
            ));
        }
        (Kind::Partition | Kind::BrokerDown | Kind::Duplicate, _) => None,
    })
}

/// A partition's `groups` (two-way) or `from` + `to` (one-way): the links it cuts and a
/// readable description for the report.
fn read_partition(
    sink: &mut Sink,
    raw: &RawFault,
    path: &str,
    span: Range<usize>,
    topo: &Topology,
) -> Option<(FaultKind, String)> {
    let one_way = raw.from.is_some() || raw.to.is_some();
    if raw.groups.is_some() && one_way {
        let msg =
            format!("{path} has both groups (two-way) and from/to (one-way); give one of them");
        sink.error(val_span(&raw.groups), msg);
        return None;
    }
    let (links, label, at) = if raw.groups.is_some() {
        let groups = read_groups(sink, &raw.groups, &format!("{path}.groups"), topo)?;
        let side = |n: Node| groups.iter().position(|(_, nodes)| nodes.contains(&n));
        let cut = topo.links.cut(|f, t| match (side(f), side(t)) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        });
        let label: Vec<String> = groups.iter().map(|(names, _)| names.join(",")).collect();
        (cut, label.join("|"), val_span(&raw.groups))
    } else if one_way {
        for (v, key, other) in [(&raw.from, "from", "to"), (&raw.to, "to", "from")] {
            if v.is_none() {
                let msg =
                    format!("{path} has {other} but not {key}; a one-way partition needs both");
                sink.error(span.clone(), msg);
            }
        }
        let from = read_nodes(sink, &raw.from, &format!("{path}.from"), topo);
        let to = read_nodes(sink, &raw.to, &format!("{path}.to"), topo);
        let ((from_names, from), (to_names, to)) = (from?, to?);
        let cut = topo.links.cut(|f, t| from.contains(&f) && to.contains(&t));
        let label = format!("{}->{}", from_names.join(","), to_names.join(","));
        (cut, label, val_span(&raw.from))
    } else {
        let msg = format!(
            "{path} (partition) needs groups = [[\"a\"], [\"b\", \"c\"]] (two-way) or \
             from = [\"a\"] and to = [\"b\"] (one-way)"
        );
        sink.error(span, msg);
        return None;
    };
    if links.is_empty() {
        let msg = format!(
            "{path} partition cuts no link in use; links in use: {}",
            topo.links_in_use()
        );
        sink.error(at, msg);
        return None;
    }
    Some((FaultKind::Partition { links }, label))
}

/// The groups of a two-way partition: at least two, each name in one group only.
fn read_groups(
    sink: &mut Sink,
    v: &Val,
    path: &str,
    topo: &Topology,
) -> Option<Vec<(Vec<String>, Vec<Node>)>> {
    let spanned = v.as_ref()?;
    let bad = |sink: &mut Sink| {
        let msg = format!(
            "{path} = {}: expected an array of groups, e.g. [[\"order\"], [\"payment\", \"bank\"]]",
            show(spanned.get_ref())
        );
        sink.error(spanned.span(), msg);
    };
    let Value::Array(items) = spanned.get_ref() else {
        bad(sink);
        return None;
    };
    let mut groups = Vec::new();
    for item in items {
        let Some(names) = strings(item) else {
            bad(sink);
            return None;
        };
        let nodes = resolve_nodes(sink, &names, path, spanned.span(), topo)?;
        groups.push((names, nodes));
    }
    if groups.len() < 2 || groups.iter().any(|(names, _)| names.is_empty()) {
        let msg = format!(
            "{path} needs at least 2 non-empty groups (the sides of the partition), e.g. \
             [[\"order\"], [\"payment\"]]"
        );
        sink.error(spanned.span(), msg);
        return None;
    }
    for (i, (names, nodes)) in groups.iter().enumerate() {
        let later = &groups[i + 1..];
        if let Some(n) =
            (0..nodes.len()).find(|k| later.iter().any(|(_, o)| o.contains(&nodes[*k])))
        {
            let msg = format!(
                "\"{}\" is in more than one group of {path}; a name may be in one group only",
                names[n]
            );
            sink.error(spanned.span(), msg);
            return None;
        }
    }
    Some(groups)
}

/// A non-empty array of `client`, service or broker names (`from`, `to`).
fn read_nodes(
    sink: &mut Sink,
    v: &Val,
    path: &str,
    topo: &Topology,
) -> Option<(Vec<String>, Vec<Node>)> {
    let spanned = v.as_ref()?;
    let names = strings(spanned.get_ref()).filter(|n| !n.is_empty());
    let Some(names) = names else {
        let msg = format!(
            "{path} = {}: expected a non-empty array of names, e.g. [\"order\"]",
            show(spanned.get_ref())
        );
        sink.error(spanned.span(), msg);
        return None;
    };
    let nodes = resolve_nodes(sink, &names, path, spanned.span(), topo)?;
    Some((names, nodes))
}

fn resolve_nodes(
    sink: &mut Sink,
    names: &[String],
    path: &str,
    span: Range<usize>,
    topo: &Topology,
) -> Option<Vec<Node>> {
    let mut nodes = Vec::new();
    let mut ok = true;
    for name in names {
        match topo.node(name) {
            Ok(n) => nodes.push(n),
            Err(e) => {
                sink.error(span.clone(), format!("{path}: {e}"));
                ok = false;
            }
        }
    }
    ok.then_some(nodes)
}

/// The strings of an array of strings (trimmed), or `None` if it is anything else.
fn strings(v: &Value) -> Option<Vec<String>> {
    let Value::Array(items) = v else { return None };
    items
        .iter()
        .map(|i| i.as_str().map(|s| s.trim().to_string()))
        .collect()
}

/// `[chaos]`: random crashes of the target replicas.
pub(super) fn read_chaos(
    sink: &mut Sink,
    raw: Option<&Spanned<RawChaos>>,
    topo: &Topology,
) -> Option<Chaos> {
    let raw = raw?;
    let (span, c) = (raw.span(), raw.get_ref());
    let mut times = [
        (&c.mtbf, "mtbf", "mean time between failures"),
        (&c.mttr, "mttr", "mean time to repair"),
    ]
    .map(|(v, key, what)| {
        let path = format!("chaos.{key}");
        if v.is_none() {
            let msg = format!("missing required key {path} ({what}, e.g. \"60s\")");
            sink.error(span.clone(), msg);
        }
        let d = sink.duration(v, &path);
        if d == Some(SimDuration::ZERO) {
            let msg = format!("{path} = \"0s\": allowed: a duration > 0");
            sink.error(val_span(v), msg);
            return None;
        }
        d
    });
    let targets = read_chaos_targets(sink, &c.targets, span, topo);
    let on = enabled(sink, &c.enabled, "chaos");
    let (mtbf, mttr) = (times[0].take()?, times[1].take()?);
    let (targets, replicas) = targets?;
    if !on {
        return None;
    }
    Some(Chaos {
        targets,
        replicas,
        mtbf,
        mttr,
    })
}

/// `chaos.targets`: services or replicas, expanded to a sorted set of replicas.
fn read_chaos_targets(
    sink: &mut Sink,
    v: &Val,
    span: Range<usize>,
    topo: &Topology,
) -> Option<(Vec<String>, Vec<ReplicaRef>)> {
    let path = "chaos.targets";
    let Some(spanned) = v.as_ref() else {
        let msg = format!("missing required key {path} (services or replicas, e.g. [\"payment\"])");
        sink.error(span, msg);
        return None;
    };
    let names = strings(spanned.get_ref()).filter(|n| !n.is_empty());
    let Some(names) = names else {
        let msg = format!(
            "{path} = {}: expected a non-empty array of services or replicas, e.g. \
             [\"payment\", \"inventory#0\"]",
            show(spanned.get_ref())
        );
        sink.error(spanned.span(), msg);
        return None;
    };
    let mut replicas = Vec::new();
    let mut ok = true;
    for name in &names {
        let resolved = match topo.target(name) {
            Ok(Target::Service(s)) => Ok(topo.replicas(s)),
            Ok(Target::Replica(r)) => Ok(vec![r]),
            Ok(Target::Version {
                service,
                first,
                count,
            }) => Ok((first..first + count)
                .map(|index| ReplicaRef { service, index })
                .collect()),
            Ok(Target::Link(..)) => Err("chaos crashes services or replicas, not links".into()),
            Err(e) => Err(e),
        };
        match resolved {
            Ok(r) => replicas.extend(r),
            Err(e) => {
                sink.error(spanned.span(), format!("{path}: \"{name}\": {e}"));
                ok = false;
            }
        }
    }
    replicas.sort();
    replicas.dedup();
    ok.then_some((names, replicas))
}

//! The raw layer: serde structs that mirror the scenario file.
//!
//! Only the *shape* is checked here: which keys exist in which table (`deny_unknown_fields`)
//! and which keys hold tables or arrays. Every leaf is kept as a spanned [`toml::Value`], so
//! types and ranges are checked in validation, where all problems are collected at once.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use toml::Spanned;

use super::unknown_keys;

/// A leaf value, located; `None` when the key is absent.
pub(super) type Val = Option<Spanned<toml::Value>>;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub scenario: Option<Spanned<RawScenario>>,
    pub network: Option<Spanned<RawNetwork>>,
    #[serde(default)]
    pub workload: Table<RawWorkload>,
    #[serde(default)]
    pub service: Table<RawService>,
    #[serde(default)]
    pub expect: Vec<Spanned<RawExpect>>,
    #[serde(default)]
    pub broker: Table<RawBroker>,
    #[serde(default)]
    pub topic: Table<RawTopic>,
    #[serde(default)]
    pub queue: Table<RawQueue>,
    #[serde(default)]
    pub flow: Table<RawFlow>,
    #[serde(default)]
    pub fault: Vec<Spanned<RawFault>>,
    pub chaos: Option<Spanned<RawChaos>>,
    #[serde(default)]
    pub protocol: Table<RawProtocol>,
}

/// `[protocol.NAME]`: a user-defined protocol profile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProtocol {
    pub overhead: Val,
}

/// `[scenario]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub name: Val,
    pub description: Val,
    pub seed: Val,
    pub duration: Val,
    pub warmup: Val,
    pub drain: Val,
    pub bucket: Val,
    pub max_events: Val,
    pub max_in_flight: Val,
    pub max_memory: Val,
}

/// `[network]` and its `[network.link."a->b"]` overrides.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    pub latency: Val,
    pub loss: Val,
    #[serde(default)]
    pub link: Table<RawLink>,
}

/// `[network.link."a->b"]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLink {
    pub latency: Val,
    pub loss: Val,
}

/// Writes a raw table that takes the call-resilience keys shared by workloads, calls, flows
/// and sidecars (`retries`, `backoff`, `backoff_max`, `jitter`, `retry_budget`, `breaker`)
/// between its own `before` and `after` fields. The shared keys are written once here
/// because serde's `flatten` does not work with `deny_unknown_fields`; they stay in each
/// table's own place, so the known keys an unknown-key message lists keep their order.
macro_rules! with_resilience {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            before { $($before:tt)* }
            after { $($after:tt)* }
        }
    ) => {
        $(#[$meta])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $($before)*
            pub retries: Val,
            pub backoff: Val,
            pub backoff_max: Val,
            pub jitter: Val,
            pub retry_budget: Val,
            pub breaker: Option<Spanned<RawBreaker>>,
            $($after)*
        }
    };
}

with_resilience! {
    /// `[workload.NAME]`.
    pub(super) struct RawWorkload {
        before {
            pub endpoint: Val,
            pub flow: Val,
            pub rate: Val,
            /// `rate_file = "traffic.csv"`: the rate as CSV rows, instead of `rate`.
            pub rate_file: Val,
            pub arrival: Val,
            pub users: Val,
            pub think: Val,
            pub timeout: Val,
            pub protocol: Val,
        }
        after {
            pub bulkhead: Val,
            pub fallback: Val,
            /// `[[workload.NAME.spike]]`: temporary multipliers on the rate.
            #[serde(default)]
            pub spike: Vec<Spanned<RawSpike>>,
            pub rate_limit: Option<Spanned<RawRateLimit>>,
            pub priority: Val,
        }
    }
}

/// One `[[workload.NAME.spike]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpike {
    pub at: Val,
    #[serde(rename = "for")]
    pub for_: Val,
    pub factor: Val,
}

/// `rate_limit = { rate, burst, per }` on a service or a workload.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub rate: Val,
    pub burst: Val,
    pub per: Val,
}

/// A service's `shed = { queue_time }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawShed {
    pub queue_time: Val,
    pub concurrency: Val,
    pub timeout: Val,
}

/// `[service.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub replicas: Val,
    pub workers: Val,
    pub queue: Val,
    pub lb: Val,
    pub health_check: Val,
    pub rate_limit: Option<Spanned<RawRateLimit>>,
    pub shed: Option<Spanned<RawShed>>,
    pub autoscale: Option<Spanned<RawAutoscale>>,
    pub sidecar: Option<Spanned<RawSidecar>>,
    #[serde(default)]
    pub endpoint: Table<RawEndpoint>,
    /// `[service.NAME.version.V]`: subsets with their own replicas and endpoint overrides.
    #[serde(default)]
    pub version: Table<RawVersion>,
}

/// `[service.NAME.version.V]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVersion {
    pub weight: Val,
    pub replicas: Val,
    pub workers: Val,
    pub queue: Val,
    /// `[[time, weight], …]` steps.
    pub rollout: Val,
    pub rollback: Option<Spanned<RawRollback>>,
    /// Overrides of the base version's endpoints, key by key.
    #[serde(default)]
    pub endpoint: Table<RawEndpoint>,
}

/// A version's `rollback = { error_rate, window, min_requests }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRollback {
    pub error_rate: Val,
    pub window: Val,
    pub min_requests: Val,
}

/// `[service.NAME.autoscale]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAutoscale {
    pub metric: Val,
    pub target: Val,
    pub min: Val,
    pub max: Val,
    pub interval: Val,
    pub window: Val,
    pub tolerance: Val,
    pub stabilization: Val,
    pub provision: Val,
    pub scale_in: Val,
    pub max_step_up: Val,
}

with_resilience! {
    /// `[service.NAME.sidecar]`: the proxy's cost per crossing and the mesh's policy.
    pub(super) struct RawSidecar {
        before {
            pub overhead: Val,
            pub timeout: Val,
        }
        after {}
    }
}

/// `[service.NAME.endpoint.EP]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEndpoint {
    pub work: Val,
    pub fail: Val,
    pub parallel: Val,
    pub calls: Option<Spanned<Vec<Spanned<RawCall>>>>,
    /// Topic names, each located.
    pub publish: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    /// Queue names, each located.
    pub send: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub effect: Val,
    pub idempotent: Val,
}

with_resilience! {
    /// One entry of an endpoint's `calls`.
    pub(super) struct RawCall {
        before {
            pub to: Val,
            pub protocol: Val,
            pub timeout: Val,
        }
        after {
            pub bulkhead: Val,
            /// `true`/`false` (a degraded success), or a call table made instead on failure.
            pub fallback: Option<Spanned<RawFallback>>,
            pub via: Val,
            /// Probability the call is made.
            pub p: Val,
            /// Weighted targets, one chosen per request (instead of `to`).
            pub one_of: Option<Spanned<Vec<Spanned<RawTarget>>>>,
        }
    }
}

/// One entry of a call's `one_of`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub to: Val,
    pub weight: Val,
}

/// A call's `fallback`: a flag (degraded success) or another call.
pub(super) enum RawFallback {
    Flag(bool),
    Call(Box<RawCall>),
    /// Neither a boolean nor a table: what it was, for the message.
    Other(String),
}

impl<'de> Deserialize<'de> for RawFallback {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FallbackVisitor;
        impl<'de> Visitor<'de> for FallbackVisitor {
            type Value = RawFallback;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a call table { to = \"service/endpoint\", … }")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawFallback, E> {
                Ok(RawFallback::Flag(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawFallback, E> {
                Ok(RawFallback::Other(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RawFallback, E> {
                Ok(RawFallback::Other(v.to_string()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawFallback, E> {
                Ok(RawFallback::Other(format!("{v:?}")))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawFallback, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(RawFallback::Other("an array".to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawFallback, A::Error> {
                // The fields are read by the toml deserializer itself, so they keep their spans.
                let call = RawCall::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RawFallback::Call(Box::new(call)))
            }
        }
        deserializer.deserialize_any(FallbackVisitor)
    }
}

/// A call's `breaker = { threshold, window, cooldown }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBreaker {
    pub threshold: Val,
    pub window: Val,
    pub cooldown: Val,
}

/// `[broker.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBroker {
    pub latency: Val,
    pub capacity: Val,
    pub durable: Val,
    pub publish_timeout: Val,
}

/// `[queue.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub broker: Val,
    pub consumer: Val,
    pub prefetch: Val,
    pub visibility: Val,
    pub max_deliveries: Val,
    pub dead_letter: Val,
    pub keys: Val,
}

/// `[topic.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTopic {
    pub broker: Val,
    pub partitions: Val,
    pub keys: Val,
    /// Group name -> endpoint, in file order (an inline table or a sub-table).
    pub subscribers: Option<Spanned<Table<Spanned<toml::Value>>>>,
    pub visibility: Val,
    pub max_deliveries: Val,
    pub dead_letter: Val,
}

with_resilience! {
    /// `[flow.NAME]`. Which keys apply to which style is checked in validation.
    pub(super) struct RawFlow {
        before {
            pub style: Val,
            pub entry: Val,
            pub via: Val,
            pub steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
            pub reply: Val,
            pub recovery: Val,
            pub protocol: Val,
            pub timeout: Val,
        }
        after {
            pub bulkhead: Val,
            /// Never allowed on a flow; accepted here to say why.
            pub fallback: Val,
            pub partitions: Val,
            pub prefetch: Val,
            pub visibility: Val,
            pub max_deliveries: Val,
        }
    }
}

/// One entry of a flow's `steps`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    #[serde(rename = "do")]
    pub do_: Val,
    pub undo: Val,
    pub reject: Val,
}

/// One `[[fault]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFault {
    pub kind: Val,
    pub target: Val,
    pub at: Val,
    #[serde(rename = "for")]
    pub for_: Val,
    pub factor: Val,
    pub rate: Val,
    pub groups: Val,
    pub from: Val,
    pub to: Val,
    pub enabled: Val,
}

/// `[chaos]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChaos {
    pub targets: Val,
    pub mtbf: Val,
    pub mttr: Val,
    pub enabled: Val,
}

/// One `[[expect]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpect {
    pub metric: Val,
    pub below: Val,
    pub above: Val,
    pub equals: Val,
    pub why: Val,
    pub enabled: Val,
}

/// A table keyed by user-chosen names, in file order (by the position of each name's first
/// appearance), with each name's location. `toml` itself hands tables over sorted.
pub(super) struct Table<T>(pub Vec<(Spanned<String>, T)>);

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TableVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for TableVisitor<T> {
            type Value = Table<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of named entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Table<T>, A::Error> {
                let mut entries: Vec<(Spanned<String>, T)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<Spanned<String>, T>()? {
                    entries.push((key, value));
                }
                entries.sort_by_key(|(k, _)| k.span().start);
                Ok(Table(entries))
            }
        }
        deserializer.deserialize_map(TableVisitor(PhantomData))
    }
}

/// A syntax or structure error, located.
pub(super) struct RawError {
    pub span: Range<usize>,
    pub message: String,
}

/// Parses the text into the raw structs, with every problem found; each error names what is
/// allowed. Unknown keys are all reported at once (see `unknown_keys`): when they were the
/// only problems, the raw structs of the file without them come back too, so validation can
/// report the rest in the same run. Any other syntax or structure error stops the parse.
pub(super) fn parse(text: &str) -> (Option<RawFile>, Vec<RawError>) {
    if let Some(e) = binary(text) {
        return (None, vec![e]);
    }
    let mut errors = Vec::new();
    let mut current = text.to_string();
    loop {
        let e = match toml::from_str::<RawFile>(&current) {
            Ok(raw) => return (Some(raw), errors),
            Err(e) => e,
        };
        let span = e.span().unwrap_or(0..0);
        let unknown = e.message().trim().starts_with("unknown field ");
        errors.push(RawError {
            message: explain(text, e.message(), &span),
            span: span.clone(),
        });
        let next = (unknown && errors.len() < unknown_keys::MAX_UNKNOWN_KEYS)
            .then(|| unknown_keys::blank_entry(&current, span.start))
            .flatten();
        match next {
            Some(blanked) => current = blanked,
            None => return (None, errors),
        }
    }
}

/// A scenario is text: control characters (other than tab and line breaks) or replaced
/// invalid bytes mean a binary or corrupted file, which deserves a plainer message than
/// the TOML parser's.
fn binary(text: &str) -> Option<RawError> {
    let (at, c) = text
        .char_indices()
        .find(|(_, c)| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || *c == '\u{fffd}')?;
    let message = format!(
        "invalid TOML: the file holds a control character or invalid byte (U+{:04X}); a scenario \
         is a UTF-8 text file",
        u32::from(c)
    );
    Some(RawError {
        span: at..at + c.len_utf8(),
        message,
    })
}

/// Replaces serde's "struct RawThing" and "struct RawThing with N elements" with "a table":
/// users write tables, not our struct names.
fn tidy_struct_names(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find("struct Raw") {
        out.push_str(&rest[..at]);
        out.push_str("a table");
        let after = &rest[at + "struct Raw".len()..];
        let name_end = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        rest = &after[name_end..];
        if let Some(tail) = rest.strip_prefix(" with ") {
            if let Some(i) = tail.find(" elements") {
                rest = &tail[i + " elements".len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Rewrites serde's and toml's wording into the scenario's terms.
fn explain(text: &str, message: &str, span: &Range<usize>) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (key, known) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let key = key.trim_matches('`');
        let known = known.strip_prefix("one of ").unwrap_or(known);
        let known: Vec<&str> = known
            .split([',', ' '])
            .map(|k| k.trim_matches('`'))
            .filter(|k| !k.is_empty() && *k != "or")
            .collect();
        return if known.is_empty() {
            format!("unknown key \"{key}\"; this table takes no keys")
        } else {
            let owned: Vec<String> = known.iter().map(|k| k.to_string()).collect();
            let hint = super::validate::closest(key, &owned)
                .map(|k| format!("; did you mean \"{k}\"?"))
                .unwrap_or_default();
            format!(
                "unknown key \"{key}\"; known keys here: {}{hint}",
                known.join(", ")
            )
        };
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("missing required key \"{}\"", rest.trim_matches('`'));
    }
    if message == "duplicate key" {
        let key = text.get(span.clone()).unwrap_or("").trim();
        return format!("duplicate key \"{key}\"; each key may be given once per table");
    }
    let message = tidy_struct_names(message);
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let rest = rest
            .replace("expected a sequence", "expected an array")
            .replace("expected a table of named entries", "expected a table");
        if rest.starts_with("map, expected an array") {
            // `[fault]` where `[[fault]]` was meant.
            return "wrong type: found a table, expected an array of tables; write [[…]] (double \
                    brackets) for each entry, e.g. [[fault]]"
                .to_string();
        }
        return format!("wrong type: found {rest}");
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        let (n, expected) = rest.split_once(", ").unwrap_or((rest, "expected a table"));
        return format!("wrong type: found an array of {n} item(s), {expected}");
    }
    format!("invalid TOML: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first problem of a text that has one.
    fn first_error(text: &str) -> RawError {
        parse(text).1.into_iter().next().expect("a problem")
    }

    #[test]
    fn unknown_keys_list_the_known_ones() {
        // Goal: an unknown key's message names it and every key the table accepts.
        let e = first_error("[scenario]\nnme = \"x\"\n");
        assert_eq!(e.span.start, 11);
        assert!(e.message.contains("unknown key \"nme\""), "{}", e.message);
        assert!(
            e.message.contains("name, description, seed, duration"),
            "{}",
            e.message
        );
    }

    #[test]
    fn named_tables_keep_file_order() {
        // Goal: `[service.b]` before `[service.a]` stays in that order.
        let f = parse("[service.b]\n[service.a]\n[service.c]\n").0.unwrap();
        let names: Vec<&str> = f
            .service
            .0
            .iter()
            .map(|(k, _)| k.get_ref().as_str())
            .collect();
        assert_eq!(names, ["b", "a", "c"]);
    }

    #[test]
    fn struct_names_become_tables() {
        // Goal: internal type names never reach users.
        let e = first_error("scenario = 5\n");
        assert_eq!(e.message, "wrong type: found integer `5`, expected a table");
        let e = first_error("[[scenario]]\nname = 'x'\n");
        assert!(
            e.message
                .starts_with("wrong type: found an array of 1 item(s), expected a table"),
            "{}",
            e.message
        );
    }

    #[test]
    fn single_brackets_for_an_array_of_tables_are_explained() {
        // Goal: `[fault]` instead of `[[fault]]` says to double the brackets.
        let e = first_error("[fault]\nkind = \"crash\"\n");
        assert!(
            e.message.contains("write [[…]] (double brackets)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn duplicate_keys_are_named() {
        // Goal: toml's bare "duplicate key" gains the key's name.
        let e = first_error("[scenario]\nname = \"a\"\nname = \"b\"\n");
        assert!(
            e.message.contains("duplicate key \"name\""),
            "{}",
            e.message
        );
    }

    // Goal: every unknown key is reported at once, at its place in the file, wherever it
    // sits (a key, a table header with keys below it, an array-of-tables entry, an inline
    // table), and the rest of the file still parses for validation.
    #[test]
    fn every_unknown_key_at_once() {
        let text = "[scenario]\nnme = \"x\"\nduration = \"1s\"\n\n[scenario.extra]\na = 1\nb = 2\n\n\
                    [[fault]]\nkind = \"crash\"\ntarget = \"a\"\nat = \"1s\"\nfactr = 2\n\n\
                    [workload.w]\nendpoint = \"a/b\"\nrate = 1\ntimeuot = \"1s\"\n\
                    [service.a.endpoint.b]\ncalls = [{ to = \"c/d\", retires = 2 }]\n";
        let (raw, mut errors) = parse(text);
        errors.sort_by_key(|e| e.span.start);
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (&text[e.span.clone()], e.message.split(';').next().unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                ("nme", "unknown key \"nme\""),
                ("extra", "unknown key \"extra\""),
                ("factr", "unknown key \"factr\""),
                ("timeuot", "unknown key \"timeuot\""),
                ("retires", "unknown key \"retires\""),
            ]
        );
        let raw = raw.expect("the file without its unknown keys parses");
        assert!(raw.scenario.is_some() && raw.fault.len() == 1);
    }

    // Goal: a structure error (not an unknown key) is reported and stops the parse.
    #[test]
    fn a_structure_error_stops_the_parse() {
        let (raw, errors) = parse("[scenario]\nnme = 1\n[fault]\nkind = \"crash\"\n");
        assert!(raw.is_none());
        let last = &errors.last().unwrap().message;
        assert!(last.contains("double brackets"), "{last}");
    }
}

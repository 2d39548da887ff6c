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

/// `[workload.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkload {
    pub endpoint: Val,
    pub flow: Val,
    pub rate: Val,
    pub arrival: Val,
    pub users: Val,
    pub think: Val,
    pub timeout: Val,
    pub protocol: Val,
    pub retries: Val,
    pub backoff: Val,
    pub backoff_max: Val,
    pub jitter: Val,
    pub retry_budget: Val,
    pub breaker: Option<Spanned<RawBreaker>>,
    pub bulkhead: Val,
    pub fallback: Val,
    pub rate_limit: Option<Spanned<RawRateLimit>>,
    pub priority: Val,
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
    #[serde(default)]
    pub endpoint: Table<RawEndpoint>,
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

/// One entry of an endpoint's `calls`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCall {
    pub to: Val,
    pub protocol: Val,
    pub timeout: Val,
    pub retries: Val,
    pub backoff: Val,
    pub backoff_max: Val,
    pub jitter: Val,
    pub retry_budget: Val,
    pub breaker: Option<Spanned<RawBreaker>>,
    pub bulkhead: Val,
    pub fallback: Val,
    pub via: Val,
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

/// `[flow.NAME]`. Which keys apply to which style is checked in validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFlow {
    pub style: Val,
    pub entry: Val,
    pub via: Val,
    pub steps: Option<Spanned<Vec<Spanned<RawStep>>>>,
    pub reply: Val,
    pub recovery: Val,
    pub protocol: Val,
    pub timeout: Val,
    pub retries: Val,
    pub backoff: Val,
    pub backoff_max: Val,
    pub jitter: Val,
    pub retry_budget: Val,
    pub breaker: Option<Spanned<RawBreaker>>,
    pub bulkhead: Val,
    /// Never allowed on a flow; accepted here to say why.
    pub fallback: Val,
    pub partitions: Val,
    pub prefetch: Val,
    pub visibility: Val,
    pub max_deliveries: Val,
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
}

/// `[chaos]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChaos {
    pub targets: Val,
    pub mtbf: Val,
    pub mttr: Val,
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

/// Parses the text into the raw structs; the error names what is allowed.
pub(super) fn parse(text: &str) -> Result<RawFile, RawError> {
    if let Some(e) = binary(text) {
        return Err(e);
    }
    toml::from_str::<RawFile>(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let message = explain(text, e.message(), &span);
        RawError { span, message }
    })
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
            format!(
                "unknown key \"{key}\"; known keys here: {}",
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

    #[test]
    fn unknown_keys_list_the_known_ones() {
        // Goal: an unknown key's message names it and every key the table accepts.
        let e = parse("[scenario]\nnme = \"x\"\n").err().unwrap();
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
        let f = parse("[service.b]\n[service.a]\n[service.c]\n")
            .ok()
            .unwrap();
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
        let e = parse("scenario = 5\n").err().unwrap();
        assert_eq!(e.message, "wrong type: found integer `5`, expected a table");
        let e = parse("[[scenario]]\nname = 'x'\n").err().unwrap();
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
        let e = parse("[fault]\nkind = \"crash\"\n").err().unwrap();
        assert!(
            e.message.contains("write [[…]] (double brackets)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn duplicate_keys_are_named() {
        // Goal: toml's bare "duplicate key" gains the key's name.
        let e = parse("[scenario]\nname = \"a\"\nname = \"b\"\n")
            .err()
            .unwrap();
        assert!(
            e.message.contains("duplicate key \"name\""),
            "{}",
            e.message
        );
    }
}

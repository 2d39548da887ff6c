//! `[[expect]]` evaluation: a scenario's lesson, checked against the JSON report.
//!
//! A metric is a dotted path into the report (`workloads.checkout.latency_ms.p99`). Keys may
//! contain `/` and `-` (`endpoints.order/place.arrivals`), and may even contain dots (a topic
//! called `order.placed`): at each level the longest run of segments that names a key wins.
//! A segment that is a whole number indexes an array (`faults.0.affected`).

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;
use sim_core::Model;
use sim_core::model::{Bound, Expect};

use crate::json::round;

/// The outcome of one `[[expect]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectResult {
    /// The dotted path, as written in the scenario.
    pub metric: String,
    /// The value found; `None` when the path does not lead to a number.
    pub value: Option<f64>,
    pub passed: bool,
    pub bound: Bound,
    pub why: String,
    /// `file:line:column` of the `[[expect]]` entry (not serialised: the report must not
    /// depend on the path the file was given by).
    pub location: String,
    /// Why the metric could not be read, listing what is available there.
    pub error: Option<String>,
}

/// `("below", 10.0)` for `Bound::Below(10.0)`: the scenario key and its number.
pub fn bound_parts(bound: Bound) -> (&'static str, f64) {
    match bound {
        Bound::Below(x) => ("below", x),
        Bound::Above(x) => ("above", x),
        Bound::Equals(x) => ("equals", x),
    }
}

impl ExpectResult {
    /// One line for people: `workloads.checkout.failed = 12, want < 10 (why)`.
    pub fn describe(&self) -> String {
        let why = if self.why.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.why)
        };
        match self.value {
            Some(_) => format!(
                "{} = {}, want {}{why}",
                self.metric,
                self.found(),
                self.want()
            ),
            None => format!("{}: {}{why}", self.metric, self.found()),
        }
    }

    /// The value found (`12`), or why there is none.
    pub fn found(&self) -> String {
        match (&self.value, &self.error) {
            (Some(v), _) => num(*v),
            (None, Some(e)) => e.clone(),
            (None, None) => "no value".to_string(),
        }
    }

    /// The bound as an operator and its number: `< 10`, `> 0.5`, `= 0`.
    pub fn want(&self) -> String {
        let (op, limit) = match self.bound {
            Bound::Below(x) => ("<", x),
            Bound::Above(x) => (">", x),
            Bound::Equals(x) => ("=", x),
        };
        format!("{op} {}", num(limit))
    }
}

/// A number for people: whole numbers without `.0`, others with 6 significant digits and no
/// trailing zeros (`16.2775`, `0.8125`), enough to see which side of a bound it is on.
pub(crate) fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let magnitude = if x == 0.0 {
        0
    } else {
        x.abs().log10().floor() as i32
    };
    let decimals = (5 - magnitude).clamp(0, 9) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

impl Serialize for ExpectResult {
    /// `{ metric, value, passed, below|above|equals, why, error? }`: the bound under the same
    /// key the scenario uses; `value` is null and `error` says why when the path is missing.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (key, limit) = bound_parts(self.bound);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("metric", &self.metric)?;
        map.serialize_entry("value", &self.value.map(round))?;
        map.serialize_entry("passed", &self.passed)?;
        map.serialize_entry(key, &limit)?;
        map.serialize_entry("why", &self.why)?;
        if let Some(error) = &self.error {
            map.serialize_entry("error", error)?;
        }
        map.end()
    }
}

/// Evaluates every expectation against `report` (the JSON report as a value), in order.
/// A metric that cannot be read fails, with the reason in `error`; so does a statistic with
/// no samples (`null` in the report): an empty set is neither below nor above a bound.
pub fn evaluate(expects: &[Expect], report: &Value) -> Vec<ExpectResult> {
    expects
        .iter()
        .map(|e| {
            let (value, error) = match lookup(report, &e.metric) {
                Ok(v) => (Some(v), None),
                Err(msg) => (None, Some(msg)),
            };
            ExpectResult {
                metric: e.metric.clone(),
                value,
                passed: value.is_some_and(|v| e.bound.holds(v)),
                bound: e.bound,
                why: e.why.clone(),
                location: e.location.clone(),
                error,
            }
        })
        .collect()
}

/// Sections of the report whose entries only the run decides: the circuit breakers that
/// changed state, and the timeline's buckets (their number follows when the run stopped).
/// `check` cannot know their paths in advance, so it leaves paths into them to the run.
pub(crate) const DECIDED_BY_THE_RUN: [&str; 2] = ["breakers", "timeline"];

/// The JSON report `model` will produce, with every section and key but nothing measured:
/// the model run for 1 ns of simulated time (no warmup, no drain), so that `check` can test
/// `[[expect]]` paths against the real report's shape. `None` if even that run fails.
pub fn report_skeleton(model: &Model) -> Option<Value> {
    let mut brief = model.clone();
    brief.warmup = sim_core::SimDuration::ZERO;
    brief.drain = sim_core::SimDuration::ZERO;
    brief.duration = sim_core::SimDuration::from_nanos(1);
    let results = sim_core::run(&brief, model.seed).ok()?;
    Some(crate::json::Report::measured(&results).to_value())
}

/// One message per `[[expect]]` whose metric the report (its [`report_skeleton`]) does not
/// have, located at the expectation, with the keys available and a did-you-mean. A path to a
/// statistic (`null` in a skeleton) is fine; paths into [`DECIDED_BY_THE_RUN`] are left to
/// the run.
pub fn check_paths(expects: &[Expect], skeleton: &Value) -> Vec<String> {
    expects
        .iter()
        .filter(|e| {
            !DECIDED_BY_THE_RUN
                .iter()
                .any(|s| e.metric.split('.').next() == Some(*s))
        })
        .filter_map(|e| {
            let error = lookup_statistic(skeleton, &e.metric).err()?;
            Some(format!(
                "{}: [[expect]] metric is not in the report this scenario produces: {error}",
                e.location
            ))
        })
        .collect()
}

/// The number at dotted path `metric` in `report`. Booleans read as 1 and 0.
///
/// At each level the longest run of segments naming a key is tried first; if the rest of the
/// path fails below it, shorter keys are tried. The error comes from the longest attempt and
/// names the level where lookup failed and the keys available there.
pub fn lookup(report: &Value, metric: &str) -> Result<f64, String> {
    lookup_statistic(report, metric)?.ok_or_else(|| {
        format!(
            "\"{metric}\" has no value in this run: there were no samples \
             (nothing succeeded or arrived to measure)"
        )
    })
}

/// Like [`lookup`], but a statistic of an empty set (`null` in the report) is `Ok(None)`:
/// the path exists and names a statistic that has no value in this run.
pub fn lookup_statistic(report: &Value, metric: &str) -> Result<Option<f64>, String> {
    if let Some(why) = sim_core::model::metric_path_too_long(metric) {
        return Err(why);
    }
    let segments: Vec<&str> = metric.split('.').collect();
    if metric.trim().is_empty() || segments.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "\"{metric}\" is not a dotted path like workloads.NAME.ok"
        ));
    }
    find(report, &segments, "", &|n| number(n, metric))
}

/// The section or value at dotted path `path` in `report` (keys matched as [`lookup`]
/// matches them: longest first); the error names where lookup failed and what is there.
pub fn lookup_node<'v>(report: &'v Value, path: &str) -> Result<&'v Value, String> {
    if let Some(why) = sim_core::model::metric_path_too_long(path) {
        return Err(why);
    }
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!(
            "\"{path}\" is not a dotted path like services.NAME"
        ));
    }
    find(report, &segments, "", &Ok)
}

/// Walks `segments` down from `node` (longest key first, backing off when the rest fails
/// below it) and applies `leaf` where they end; the error comes from the longest attempt.
fn find<'v, T>(
    node: &'v Value,
    segments: &[&str],
    at: &str,
    leaf: &dyn Fn(&'v Value) -> Result<T, String>,
) -> Result<T, String> {
    if segments.is_empty() {
        return leaf(node);
    }
    let mut first_error = None;
    for (child, used) in children(node, segments) {
        let key = segments[..used].join(".");
        let here = if at.is_empty() {
            key
        } else {
            format!("{at}.{key}")
        };
        match find(child, &segments[used..], &here, leaf) {
            Ok(v) => return Ok(v),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| missing(node, at, segments[0])))
}

fn number(node: &Value, metric: &str) -> Result<Option<f64>, String> {
    match node {
        Value::Number(n) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("\"{metric}\" is not a finite number")),
        Value::Bool(b) => Ok(Some(if *b { 1.0 } else { 0.0 })),
        // A statistic of an empty set: there is nothing to compare with a bound, so an
        // expectation on it fails rather than pass on a made-up 0.
        Value::Null => Ok(None),
        Value::Object(map) => Err(format!(
            "\"{metric}\" is a section, not a number; it has: {}",
            list(map.keys().map(String::as_str))
        )),
        Value::Array(items) => Err(format!(
            "\"{metric}\" is a list of {} entries, not a number; add .0, .1, …",
            items.len()
        )),
        other => Err(format!("\"{metric}\" is {other}, not a number")),
    }
}

/// The children of `node` named by a prefix of `segments` (an object key, longest first, or an
/// array index), with how many segments each used. Only prefixes as long as the object's
/// longest key (in segments) are tried, so a long path costs linear, not quadratic, work.
fn children<'v>(node: &'v Value, segments: &[&str]) -> Vec<(&'v Value, usize)> {
    match node {
        Value::Object(map) => (1..=segments.len().min(widest_key(map)))
            .rev()
            .filter_map(|n| map.get(&segments[..n].join(".")).map(|v| (v, n)))
            .collect(),
        Value::Array(items) => segments[0]
            .parse::<usize>()
            .ok()
            .and_then(|i| items.get(i))
            .map(|v| vec![(v, 1)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// How many dotted segments the longest key of `map` has (`order.placed` has 2).
fn widest_key(map: &serde_json::Map<String, Value>) -> usize {
    map.keys()
        .map(|k| k.matches('.').count() + 1)
        .max()
        .unwrap_or(0)
}

/// The message for a segment that names nothing under `at`.
fn missing(node: &Value, at: &str, segment: &str) -> String {
    let place = if at.is_empty() {
        "at the top of the report".to_string()
    } else {
        format!("under \"{at}\"")
    };
    match node {
        Value::Object(map) if map.is_empty() => {
            format!("no \"{segment}\" {place}: that section is empty in this run")
        }
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let hint = sim_core::closest(segment, &keys)
                .map_or(String::new(), |k| format!("; did you mean \"{k}\"?"));
            format!(
                "no \"{segment}\" {place}; available: {}{hint}",
                list(map.keys().map(String::as_str))
            )
        }
        Value::Array(items) if items.is_empty() => {
            format!("no entry \"{segment}\" {place}: that list is empty in this run")
        }
        Value::Array(items) => format!(
            "no entry \"{segment}\" {place}: it is a list indexed 0 to {}",
            items.len() - 1
        ),
        _ => format!("\"{at}\" is a number, it has no \"{segment}\""),
    }
}

fn list<'a>(keys: impl Iterator<Item = &'a str>) -> String {
    keys.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_line_and_the_pages_cells_say_the_same() {
        // Goal: the stderr line (`describe`) and the HTML page's value and want cells
        // (`found`, `want`) are one text: `x = 12, want < 10 (why)`, a bound's operator per
        // kind, the reason when there is no value, with the numbers written the same way.
        let result = |value: Option<f64>, bound: Bound, error: Option<&str>| ExpectResult {
            metric: "x".to_string(),
            value,
            passed: false,
            bound,
            why: "why".to_string(),
            location: String::new(),
            error: error.map(str::to_string),
        };
        let below = result(Some(12.0), Bound::Below(10.0), None);
        assert_eq!(below.describe(), "x = 12, want < 10 (why)");
        assert_eq!((below.found(), below.want()), ("12".into(), "< 10".into()));
        let above = result(Some(0.25), Bound::Above(0.5), None);
        assert_eq!(above.describe(), "x = 0.25, want > 0.5 (why)");
        assert_eq!(result(Some(1.0), Bound::Equals(0.0), None).want(), "= 0");
        let missing = result(None, Bound::Below(1.0), Some("no such key; there: a, b"));
        assert_eq!(missing.describe(), "x: no such key; there: a, b (why)");
        assert_eq!(missing.found(), "no such key; there: a, b");
        assert_eq!(result(None, Bound::Below(1.0), None).found(), "no value");
    }

    fn topics() -> Value {
        json!({"messages": {"topics": {
            "order.placed": {"groups": {"inventory": {"lag_ms": {"p99": 34.5}}}},
            "order": {"groups": {"audit": {"lag_ms": {"p99": 1.0}}}},
            "a.b.c": {"n": 3}
        }}})
    }

    // Goal: a key containing dots is read whole, wherever it sits in the path.
    #[test]
    fn a_dotted_key_is_one_level() {
        let v = topics();
        assert_eq!(
            lookup(
                &v,
                "messages.topics.order.placed.groups.inventory.lag_ms.p99"
            ),
            Ok(34.5)
        );
        assert_eq!(lookup(&v, "messages.topics.a.b.c.n"), Ok(3.0));
    }

    // Goal: the longest run of segments that is a key is tried first; when the rest of the
    // path leads nowhere below it, shorter keys are tried ("order", then "placed"…).
    #[test]
    fn longest_key_first_then_shorter() {
        let v = topics();
        assert_eq!(
            lookup(&v, "messages.topics.order.groups.audit.lag_ms.p99"),
            Ok(1.0)
        );
        let v = json!({"t": {"x.y": {"z": 1}, "x": {"y": {"w": 2}}}});
        assert_eq!(lookup(&v, "t.x.y.z"), Ok(1.0));
        assert_eq!(lookup(&v, "t.x.y.w"), Ok(2.0), "falls back to x, then y");
    }

    // Goal: a missing key names itself, where lookup stopped (with the dotted key whole), the
    // keys available there and the closest of them.
    #[test]
    fn a_missing_key_names_the_level_and_the_known_keys() {
        let v = topics();
        let err = lookup(
            &v,
            "messages.topics.order.placed.groups.inventry.lag_ms.p99",
        )
        .unwrap_err();
        assert_eq!(
            err,
            "no \"inventry\" under \"messages.topics.order.placed.groups\"; available: inventory; \
             did you mean \"inventory\"?"
        );
        let err = lookup(&v, "messages.topics.order.placd.groups").unwrap_err();
        assert_eq!(
            err,
            "no \"placd\" under \"messages.topics.order\"; available: groups"
        );
        let err = lookup(&v, "messages.topic.order.placed").unwrap_err();
        assert_eq!(
            err,
            "no \"topic\" under \"messages\"; available: topics; did you mean \"topics\"?"
        );
    }

    // Goal: when both a dotted key and a shorter one match but neither leads to a number, the
    // error comes from the longest attempt (the one the user most likely meant).
    #[test]
    fn the_error_comes_from_the_longest_attempt() {
        let v = topics();
        let err = lookup(&v, "messages.topics.order.placed.groups.nope").unwrap_err();
        assert!(
            err.contains("under \"messages.topics.order.placed.groups\""),
            "{err}"
        );
    }

    // Goal: an empty section says so instead of listing nothing.
    #[test]
    fn an_empty_section_says_it_is_empty() {
        let v = json!({"messages": {"topics": {}}});
        let err = lookup(&v, "messages.topics.order.placed.published").unwrap_err();
        assert_eq!(
            err,
            "no \"order\" under \"messages.topics\": that section is empty in this run"
        );
    }

    // Goal: a path past the cap is refused by its size (never walked); one at the cap is
    // looked up as usual, finding a key with dots deep down.
    #[test]
    fn paths_past_the_cap_are_refused_by_size() {
        let long = vec!["a"; 65].join(".");
        let err = lookup(&topics(), &long).unwrap_err();
        assert_eq!(
            err,
            "the metric path has 65 segments; at most 64 are allowed"
        );
        let mut v = json!({"x.y": 7});
        for _ in 0..62 {
            v = json!({ "a": v });
        }
        let at_cap = format!("{}.x.y", vec!["a"; 62].join("."));
        assert_eq!(at_cap.split('.').count(), 64);
        assert_eq!(lookup(&v, &at_cap), Ok(7.0));
        let err = lookup(&json!({}), &"x".repeat(1025)).unwrap_err();
        assert!(err.contains("1025 bytes; at most 1024"), "{err}");
    }

    // Goal: `check_paths` flags a path the report does not have, with its location and a
    // did-you-mean; a null statistic is a fine path; paths into breakers and timeline
    // buckets are left to the run.
    #[test]
    fn paths_are_checked_against_the_skeleton() {
        let skeleton = json!({
            "workloads": {"shop": {"ok": 0, "latency_ms": {"p99": null}}},
            "breakers": [],
            "timeline": {"workloads": {"shop": {"sent": []}}}
        });
        let expect = |metric: &str| Expect {
            metric: metric.into(),
            bound: Bound::Below(1.0),
            why: String::new(),
            location: format!("f.toml:{}:1", metric.len()),
        };
        let expects = [
            expect("workloads.shop.latency_ms.p99"),
            expect("workloads.shpo.ok"),
            expect("breakers.0.opened"),
            expect("timeline.workloads.shop.sent.25"),
        ];
        let problems = check_paths(&expects, &skeleton);
        assert_eq!(
            problems,
            [
                "f.toml:17:1: [[expect]] metric is not in the report this scenario produces: no \
              \"shpo\" under \"workloads\"; available: shop; did you mean \"shop\"?"
            ]
        );
    }
}

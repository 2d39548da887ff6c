//! `--set PATH=VALUE`: edits the scenario's TOML document before it is read.
//!
//! `toml_edit` keeps the file's formatting, so a replaced value stays on its line and every
//! other line keeps its number. A key that did not exist is appended to its table, which moves
//! the lines after it down by one; new tables go to the end of the file. [`line_map`] maps the
//! edited text's lines back to the file's, so locations still name lines of the file on disk.

use std::ops::Range;

use toml_edit::{DocumentMut, Item, Key, Table, TableLike, Value};

use super::Override;

/// The document after overrides.
pub(super) struct Edited {
    pub text: String,
    /// Overrides that could not be applied, as messages naming `--set PATH=VALUE`.
    pub errors: Vec<String>,
    /// Where each applied override's value now sits in `text`, with the override as typed.
    pub set_spans: Vec<(Range<usize>, String)>,
    /// For each line of `text` (0-based), the 1-based line of the original file it came
    /// from, or 0 for a line that only `--set` wrote; `None` when lines map one to one.
    pub line_map: Option<Vec<u32>>,
}

/// Applies `overrides` in order. If the text is not valid TOML, it is returned unchanged: the
/// raw layer reports the syntax error, which must be fixed first.
pub(super) fn apply(text: &str, overrides: &[Override]) -> Edited {
    let unchanged = || Edited {
        text: text.to_string(),
        errors: Vec::new(),
        set_spans: Vec::new(),
        line_map: None,
    };
    if overrides.is_empty() {
        return unchanged();
    }
    let Ok(mut doc) = text.parse::<DocumentMut>() else {
        return unchanged();
    };
    let mut errors = Vec::new();
    let mut applied = Vec::new();
    for o in overrides {
        let arg = format!("{}={}", o.path, o.value);
        match set(&mut doc, o) {
            Ok(keys) => applied.push((keys, arg)),
            Err(e) => errors.push(format!("--set {arg}: {e}")),
        }
    }
    let edited = doc.to_string();
    let set_spans = locate(&edited, &applied);
    let line_map = line_map(text, &edited);
    Edited {
        text: edited,
        errors,
        set_spans,
        line_map,
    }
}

/// Largest (original lines x edited lines) table the line alignment may build.
const MAX_ALIGN_CELLS: usize = 1_000_000;

/// Aligns the edited text's lines with the original's (longest common subsequence: toml_edit
/// leaves untouched lines byte-identical). A changed line maps to the original line it
/// replaced; a line only `--set` added maps to 0. `None` if the texts are too big to align.
pub(super) fn line_map(original: &str, edited: &str) -> Option<Vec<u32>> {
    let a: Vec<&str> = original.split('\n').collect();
    let b: Vec<&str> = edited.split('\n').collect();
    let (n, m) = (a.len(), b.len());
    if (n + 1).checked_mul(m + 1)? > MAX_ALIGN_CELLS {
        return None;
    }
    // lcs[i * (m + 1) + j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * (m + 1) + j] = if a[i] == b[j] {
                lcs[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
            };
        }
    }
    let line = |i: usize| u32::try_from(i + 1).unwrap_or(u32::MAX);
    let mut map = Vec::with_capacity(m);
    let mut replaced = std::collections::VecDeque::new();
    let (mut i, mut j) = (0, 0);
    while j < m {
        if i < n && a[i] == b[j] {
            map.push(line(i));
            replaced.clear();
            (i, j) = (i + 1, j + 1);
        } else if i < n && lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1] {
            replaced.push_back(line(i));
            i += 1;
        } else {
            map.push(replaced.pop_front().unwrap_or(0));
            j += 1;
        }
    }
    Some(map)
}

/// The path's segments; quoted segments may hold dots and `->`.
pub(super) fn segments(path: &str) -> Result<Vec<String>, String> {
    let keys = Key::parse(path).map_err(|_| {
        format!(
            "\"{path}\" is not a dotted key path; quote segments that hold other characters \
             than letters, digits, '-' and '_', e.g. network.link.\"order->payment\".loss"
        )
    })?;
    Ok(keys.iter().map(|k| k.get().to_string()).collect())
}

/// The value as TOML (`500`, `"exp(9ms)"`, `true`, `[1, 2]`), or else the text as a string.
fn parse_value(text: &str) -> Value {
    match text.parse::<Value>() {
        Ok(mut v) => {
            v.decor_mut().clear();
            v
        }
        Err(_) => Value::from(text),
    }
}

fn set(doc: &mut DocumentMut, o: &Override) -> Result<Vec<String>, String> {
    let keys = segments(&o.path)?;
    set_in_table(doc.as_table_mut(), &keys, parse_value(&o.value), "")?;
    Ok(keys)
}

fn join(done: &str, key: &str) -> String {
    if done.is_empty() {
        key.to_string()
    } else {
        format!("{done}.{key}")
    }
}

fn index(key: &str, len: usize, here: &str) -> Result<usize, String> {
    match key.parse::<usize>() {
        Ok(i) if i < len => Ok(i),
        Ok(i) => Err(format!(
            "{here} has {len} entries; index {i} is out of range"
        )),
        Err(_) => Err(format!(
            "{here} is an array; index it with a number, not \"{key}\""
        )),
    }
}

fn replace(old: &mut Value, value: Value) {
    let decor = old.decor().clone();
    *old = value;
    *old.decor_mut() = decor;
}

fn set_in_table(
    t: &mut dyn TableLike,
    keys: &[String],
    value: Value,
    done: &str,
) -> Result<(), String> {
    let Some((first, rest)) = keys.split_first() else {
        return Err("empty key path".into());
    };
    let here = join(done, first);
    if rest.is_empty() {
        return match t.get_mut(first) {
            Some(Item::Value(old)) => {
                replace(old, value);
                Ok(())
            }
            Some(Item::None) | None => {
                t.insert(first, Item::Value(value));
                Ok(())
            }
            Some(_) => Err(format!("{here} is a table; set one of its keys instead")),
        };
    }
    if t.get(first).is_none() {
        let mut table = Table::new();
        table.set_implicit(true);
        t.insert(first, Item::Table(table));
    }
    let child = t
        .get_mut(first)
        .ok_or_else(|| format!("cannot create {here}"))?;
    set_in_item(child, rest, value, &here)
}

fn set_in_item(item: &mut Item, keys: &[String], value: Value, done: &str) -> Result<(), String> {
    let Some((first, rest)) = keys.split_first() else {
        return Err("empty key path".into());
    };
    match item {
        Item::ArrayOfTables(aot) => {
            let i = index(first, aot.len(), done)?;
            let table = aot
                .get_mut(i)
                .ok_or_else(|| format!("{done} has no entry {i}"))?;
            if rest.is_empty() {
                return Err(format!(
                    "{done}.{i} is a table; set one of its keys instead"
                ));
            }
            set_in_table(table, rest, value, &join(done, first))
        }
        Item::Value(Value::Array(_)) | Item::Value(Value::InlineTable(_)) => match item {
            Item::Value(v) => set_in_value(v, keys, value, done),
            _ => Err(format!("{done} cannot be changed")),
        },
        Item::Table(t) => set_in_table(t, keys, value, done),
        Item::Value(v) => Err(format!("{done} is {}, not a table", v.type_name())),
        Item::None => Err(format!("{done} does not exist")),
    }
}

/// Sets `keys` inside an array or inline table value.
fn set_in_value(v: &mut Value, keys: &[String], value: Value, done: &str) -> Result<(), String> {
    let Some((first, rest)) = keys.split_first() else {
        replace(v, value);
        return Ok(());
    };
    match v {
        Value::Array(a) => {
            let i = index(first, a.len(), done)?;
            let elem = a
                .get_mut(i)
                .ok_or_else(|| format!("{done} has no entry {i}"))?;
            set_in_value(elem, rest, value, &join(done, first))
        }
        Value::InlineTable(t) => set_in_table(t, keys, value, done),
        other => Err(format!("{done} is {}, not a table", other.type_name())),
    }
}

/// Finds where each applied override's value sits in the edited text.
fn locate(text: &str, applied: &[(Vec<String>, String)]) -> Vec<(Range<usize>, String)> {
    let Ok(doc) = toml_edit::Document::parse(text.to_string()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (keys, arg) in applied {
        if let Some(span) = span_in_table(doc.as_table(), keys) {
            out.push((span, arg.clone()));
        }
    }
    out
}

fn span_in_table(t: &dyn TableLike, keys: &[String]) -> Option<Range<usize>> {
    let (first, rest) = keys.split_first()?;
    span_in_item(t.get(first)?, rest)
}

fn span_in_item(item: &Item, keys: &[String]) -> Option<Range<usize>> {
    let Some((first, rest)) = keys.split_first() else {
        return item.span();
    };
    match item {
        Item::ArrayOfTables(aot) => span_in_table(aot.get(first.parse().ok()?)?, rest),
        Item::Value(v) => span_in_value(v, keys),
        Item::Table(t) => span_in_table(t, keys),
        Item::None => None,
    }
}

fn span_in_value(v: &Value, keys: &[String]) -> Option<Range<usize>> {
    let Some((first, rest)) = keys.split_first() else {
        return v.span();
    };
    match v {
        Value::Array(a) => span_in_value(a.get(first.parse().ok()?)?, rest),
        Value::InlineTable(t) => span_in_table(t, keys),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ov(path: &str, value: &str) -> Override {
        Override {
            path: path.into(),
            value: value.into(),
        }
    }

    #[test]
    fn replaces_in_place_keeping_comments_and_lines() {
        // Goal: a replaced value stays on its line with its comment.
        let text = "[workload.w]\nrate = 200 # per second\n\n[service.a]\nreplicas = 1\n";
        let e = apply(text, &[ov("workload.w.rate", "500")]);
        assert!(e.errors.is_empty());
        assert_eq!(
            e.text,
            "[workload.w]\nrate = 500 # per second\n\n[service.a]\nreplicas = 1\n"
        );
        assert_eq!(e.set_spans.len(), 1);
        assert_eq!(&e.text[e.set_spans[0].0.clone()], "500");
    }

    #[test]
    fn edited_lines_map_back_to_the_file() {
        // Goal: after a key is inserted, lines below it still report their original number;
        // a replaced line maps to itself and an added one to 0.
        let original = "[a]\nx = 1\n[b]\ny = 2\n";
        let edited = "[a]\nx = 5\nz = 3\n[b]\ny = 2\n";
        assert_eq!(line_map(original, edited), Some(vec![1, 2, 0, 3, 4, 5]));
        assert_eq!(line_map("", ""), Some(vec![1]));
    }

    #[test]
    fn quoted_segments_bare_words_and_new_tables() {
        // Goal: quoted segments hold '->' and dots; bare words become strings; tables appear.
        let text = "[network]\nloss = 0.0\n";
        let e = apply(
            text,
            &[
                ov("network.link.\"a->b.c\".loss", "0.1"),
                ov("scenario.name", "demo"),
            ],
        );
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        let doc: toml::Table = toml::from_str(&e.text).unwrap();
        assert_eq!(
            doc["network"]["link"]["a->b.c"]["loss"].as_float(),
            Some(0.1)
        );
        assert_eq!(doc["scenario"]["name"].as_str(), Some("demo"));
    }

    #[test]
    fn paths_through_values_and_bad_paths_are_errors() {
        // Goal: setting below a scalar or with a malformed path says so, naming the path.
        let text = "[scenario]\nname = \"x\"\n[[expect]]\nmetric = \"m\"\n";
        let e = apply(
            text,
            &[
                ov("scenario.name.first", "1"),
                ov("a..b", "1"),
                ov("expect.5.below", "1"),
            ],
        );
        assert_eq!(e.errors.len(), 3, "{:?}", e.errors);
        assert!(
            e.errors[0].contains("scenario.name is string, not a table"),
            "{}",
            e.errors[0]
        );
        assert!(
            e.errors[1].contains("not a dotted key path"),
            "{}",
            e.errors[1]
        );
        assert!(
            e.errors[2].contains("index 5 is out of range"),
            "{}",
            e.errors[2]
        );
        let e = apply(text, &[ov("expect.0.below", "3")]);
        assert!(
            e.errors.is_empty() && e.text.contains("below = 3"),
            "{}",
            e.text
        );
    }
}

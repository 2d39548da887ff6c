//! Every unknown key of a file at once.
//!
//! serde's `deny_unknown_fields` stops at the first unknown key, so a file with four typos
//! would take four runs to fix. Instead, after each unknown key the raw layer blanks that
//! entry out of the text (its key, its value and, for a table, its header and every entry
//! below it, each byte replaced by a space, line breaks kept) and parses again. Blanking
//! keeps every byte offset, so every later error and every span of the final parse still
//! point into the file as written. The number of passes is bounded by
//! [`MAX_UNKNOWN_KEYS`].

use std::ops::Range;

use toml_edit::{Item, TableLike, Value};

/// Most unknown keys reported for one file (each costs one more parse of the text).
pub(super) const MAX_UNKNOWN_KEYS: usize = 50;

/// `text` with the entry whose key starts at `key_at` blanked out, or `None` if no entry's
/// key starts there (the error then stands alone).
pub(super) fn blank_entry(text: &str, key_at: usize) -> Option<String> {
    let doc = toml_edit::Document::parse(text.to_string()).ok()?;
    let mut ranges = Vec::new();
    if !find_in_table(doc.as_table(), key_at, &mut ranges) || ranges.is_empty() {
        return None;
    }
    let mut bytes = text.as_bytes().to_vec();
    for r in ranges {
        for b in bytes.get_mut(r)? {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Only ASCII bytes were written over whole ranges of the text, so it stays UTF-8 unless a
    // range cut a character, which spans from the parser never do.
    String::from_utf8(bytes).ok()
}

/// Looks for the entry keyed at `key_at` under `t`; on success fills `ranges` with what to
/// blank.
fn find_in_table(t: &dyn TableLike, key_at: usize, ranges: &mut Vec<Range<usize>>) -> bool {
    for (name, _) in t.iter() {
        let Some((key, item)) = t.get_key_value(name) else {
            continue;
        };
        if key.span().is_some_and(|s| s.start == key_at) {
            spans_of_entry(key.span(), item, ranges);
            return true;
        }
        if find_in_item(item, key_at, ranges) {
            return true;
        }
    }
    false
}

fn find_in_item(item: &Item, key_at: usize, ranges: &mut Vec<Range<usize>>) -> bool {
    match item {
        Item::Table(t) => find_in_table(t, key_at, ranges),
        Item::ArrayOfTables(a) => a.iter().any(|t| find_in_table(t, key_at, ranges)),
        Item::Value(Value::InlineTable(t)) => find_in_table(t, key_at, ranges),
        Item::Value(Value::Array(a)) => a.iter().any(|v| match v {
            Value::InlineTable(t) => find_in_table(t, key_at, ranges),
            _ => false,
        }),
        Item::Value(_) | Item::None => false,
    }
}

/// Every span an entry occupies: `key = value` from the key to the end of the value, or a
/// table's header and all its entries.
fn spans_of_entry(key: Option<Range<usize>>, item: &Item, ranges: &mut Vec<Range<usize>>) {
    match item {
        Item::Value(v) => match (key, v.span()) {
            (Some(k), Some(v)) => ranges.push(k.start..v.end),
            (k, v) => ranges.extend(k.into_iter().chain(v)),
        },
        Item::Table(t) => {
            ranges.extend(key);
            spans_of_table(t, t.span(), ranges);
        }
        Item::ArrayOfTables(a) => {
            for t in a.iter() {
                spans_of_table(t, t.span(), ranges);
            }
        }
        Item::None => {}
    }
}

fn spans_of_table(t: &dyn TableLike, header: Option<Range<usize>>, ranges: &mut Vec<Range<usize>>) {
    ranges.extend(header);
    for (name, _) in t.iter() {
        if let Some((key, item)) = t.get_key_value(name) {
            spans_of_entry(key.span(), item, ranges);
        }
    }
}

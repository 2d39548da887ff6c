//! Scenario files: TOML text -> validated [`Model`], with `--set` overrides and located errors.
//!
//! Two phases, as ripgrep parses arguments: a raw serde layer that mirrors the file and rejects
//! unknown keys, then validation into the typed model, collecting every problem at once, each
//! with file:line:column, the bad value and what is allowed.
//!
//! - `overrides`: `--set PATH=VALUE` edits the TOML document (format-preserving) first;
//! - `raw`: serde structs mirroring the file (`deny_unknown_fields`, spans on every value);
//! - `validate`: raw -> [`Model`]: `[scenario]` (`header`), types and ranges (`values`),
//!   references, brokers, queues and topics (`messaging`), flows compiled into endpoints,
//!   calls, queues and topics (`flows`), workloads (`workloads`), network links (`links`),
//!   sync call cycles (`cycles`), call resilience (`resilience`), sidecars (`sidecar`),
//!   `[[fault]]` and `[chaos]` (`faults`, with targets resolved in `targets`).
//!
//! Ids follow file order: services in the order their tables first appear, endpoints dense
//! across services (all of the first service's, then the next's), then one entry endpoint
//! `flow:NAME` per flow (flows in file order); workloads, brokers and flows in file order.
//! Topics: declared ones in file order, then those of `async` flows. Queues: declared ones in
//! file order, then the step queues of `choreography` flows (per flow: every `do:K`, then
//! every `undo:K`), then dead-letter queues named or implied but not declared (in the order
//! the file first names them), then the request queues of calls made `via` a broker (in order
//! of first use: declared endpoints' calls, then `orchestration` flows' step calls).
//!
//! Links are numbered by first use, all in file order: workloads (client->service, then the
//! reply); each service's endpoints' calls (caller->callee, then the reply; a call `via` a
//! broker goes caller->broker, then broker->caller), then the flows' entry endpoints' step
//! calls; each endpoint's publishes then sends, flows' entry endpoints last
//! (publisher->broker, then the broker's ack back); the consumers of queues in queue id order
//! (broker->consumer, then consumer->broker); then each topic's consumer groups, likewise.
//!
//! A `--set` that adds a key inserts a line into the document; locations are mapped back to
//! the file's lines, and a problem in a line only `--set` wrote has line 0 (no place in the
//! file) and says so.

mod admission;
mod autoscale;
mod cycles;
mod faults;
mod flows;
mod header;
mod inventory;
mod links;
mod messaging;
mod overrides;
mod rate_file;
mod raw;
mod resilience;
mod routing;
mod schedule;
mod side_files;
mod sidecar;
mod targets;
mod unknown_keys;
mod validate;
mod values;
mod versions;
mod workloads;

use std::fmt;
use std::ops::Range;

pub use side_files::{NoSideFiles, SideFiles};
pub use validate::closest;

use crate::model::Model;

/// A `--set PATH=VALUE` override, applied to the file's TOML before validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// Dotted key path, e.g. `workload.checkout.rate`.
    pub path: String,
    /// A TOML value (`500`, `"exp(9ms)"`, `true`); a bare word is taken as a string.
    pub value: String,
}

impl Override {
    /// Parses `PATH=VALUE` as typed on the command line.
    pub fn parse(arg: &str) -> Result<Override, String> {
        let (path, value) = arg.split_once('=').ok_or_else(|| {
            format!("--set {arg}: expected PATH=VALUE, e.g. workload.checkout.rate=500")
        })?;
        Ok(Override {
            path: path.trim().to_string(),
            value: value.trim().to_string(),
        })
    }

    /// The path's keys, unquoted. Compare these, never the text: `workload."shop".rate` and
    /// `workload.shop.rate` name the same key.
    pub fn keys(&self) -> Result<Vec<String>, String> {
        key_path(&self.path)
    }
}

/// A dotted key path's keys, unquoted (`network.link."order->payment".loss` has four); an
/// error for text that is not a TOML dotted key.
pub fn key_path(path: &str) -> Result<Vec<String>, String> {
    overrides::segments(path)
}

/// One problem in a scenario, located in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line and column; 0 when the problem has no place in the file (a `--set`).
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Every problem found in a scenario, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Parses and validates scenario `text` (read from `file`, used in messages), after applying
/// `overrides` in order.
///
/// Never panics. On failure, every problem found is returned, sorted by line and column;
/// problems with an override itself have line 0. Unknown keys are all reported, together with
/// the problems of the rest of the file; any other TOML syntax or structure error (wrong kind
/// of table) stops at that error, since nothing after it can be trusted.
///
/// A scenario that names another file (`rate_file`) is refused here: text alone has no
/// directory; see [`parse_scenario_with`].
pub fn parse_scenario(
    file: &str,
    text: &str,
    overrides: &[Override],
) -> Result<Model, Diagnostics> {
    parse_scenario_with(file, text, overrides, &NoSideFiles)
}

/// [`parse_scenario`], reading the files the scenario names (`rate_file`) through
/// `side_files`, which resolves their paths (the CLI: against the scenario's directory).
pub fn parse_scenario_with(
    file: &str,
    text: &str,
    overrides: &[Override],
    side_files: &dyn SideFiles,
) -> Result<Model, Diagnostics> {
    let edited = overrides::apply(text, overrides);
    let mut sink = Sink::new(file, &edited.text, edited.set_spans);
    sink.side_files = side_files;
    sink.line_map = edited.line_map;
    for message in edited.errors {
        sink.unplaced(message);
    }
    let (file_raw, raw_errors) = raw::parse(&edited.text);
    for e in raw_errors {
        sink.error(e.span, e.message);
    }
    let model = file_raw.and_then(|file_raw| validate::validate(&mut sink, &file_raw));
    match model {
        Some(model) if sink.diags.is_empty() => {
            check_no_invented_names((file, text, side_files), overrides, &model, sink)?;
            Ok(model)
        }
        _ => Err(sink.finish()),
    }
}

/// Refuses a model whose overrides brought in a name the file alone does not declare (see
/// `inventory`). When the file alone does not validate, there is nothing to compare with and
/// the overrides stand.
fn check_no_invented_names(
    (file, text, side_files): (&str, &str, &dyn SideFiles),
    overrides: &[Override],
    edited: &Model,
    mut sink: Sink,
) -> Result<(), Diagnostics> {
    if overrides.is_empty() {
        return Ok(());
    }
    let Ok(alone) = parse_scenario_with(file, text, &[], side_files) else {
        return Ok(());
    };
    let messages = inventory::invented(&alone, edited, overrides);
    if messages.is_empty() {
        return Ok(());
    }
    for m in messages {
        sink.unplaced(m);
    }
    Err(sink.finish())
}

/// 1-based line and column (in characters) of `byte_offset` in `text`.
///
/// Offsets past the end point just after the last character; offsets inside a multi-byte
/// character count as that character. Never panics.
pub fn line_col(text: &str, byte_offset: usize) -> (u32, u32) {
    let mut offset = byte_offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (to_u32(line), to_u32(column))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Collects diagnostics while the scenario is checked.
pub(crate) struct Sink<'a> {
    file: &'a str,
    text: &'a str,
    /// Byte ranges of values written by `--set`, with the override as typed.
    set_spans: Vec<(Range<usize>, String)>,
    /// Edited-text line (0-based) -> file line (1-based; 0 if only `--set` wrote it).
    line_map: Option<Vec<u32>>,
    /// Reads the files the scenario names (`rate_file`).
    side_files: &'a dyn SideFiles,
    diags: Vec<Diagnostic>,
}

impl<'a> Sink<'a> {
    fn new(file: &'a str, text: &'a str, set_spans: Vec<(Range<usize>, String)>) -> Self {
        Sink {
            file,
            text,
            set_spans,
            line_map: None,
            side_files: &NoSideFiles,
            diags: Vec::new(),
        }
    }

    /// The `--set` argument that wrote the value at `span`, if one did.
    fn set_arg_at(&self, span: &Range<usize>) -> Option<&str> {
        self.set_spans
            .iter()
            .find(|(r, _)| r.contains(&span.start) || r == span)
            .map(|(_, arg)| arg.as_str())
    }

    /// Line and column in the file on disk of byte `span.start` of the edited text; line 0
    /// (and column 0) for a line that only `--set` wrote.
    fn file_line_col(&self, span: &Range<usize>) -> (u32, u32) {
        let (line, column) = line_col(self.text, span.start);
        let Some(map) = &self.line_map else {
            return (line, column);
        };
        match map.get((line as usize).saturating_sub(1)).copied() {
            Some(0) => (0, 0),
            Some(mapped) => (mapped, column),
            None => (line, column),
        }
    }

    /// Where the text at `span` came from, for messages that are not diagnostics (an
    /// `[[expect]]`'s location): `file:line:column`, or `(from --set ARG)` when an override
    /// wrote it, or `(added by --set)` for a line only overrides wrote.
    pub(crate) fn location(&self, span: &Range<usize>) -> String {
        if let Some(arg) = self.set_arg_at(span) {
            return format!("(from --set {arg})");
        }
        match self.file_line_col(span) {
            (0, _) => "(added by --set)".to_string(),
            (line, column) => format!("{}:{line}:{column}", self.file),
        }
    }

    /// A problem at byte `span` of the (overridden) text.
    pub(crate) fn error(&mut self, span: Range<usize>, message: String) {
        let (line, column) = self.file_line_col(&span);
        let from_set = self.set_arg_at(&span);
        let mut message = match from_set {
            Some(arg) => format!("{message} (from --set {arg})"),
            None => message,
        };
        if line == 0 && from_set.is_none() {
            message.push_str(" (in keys added by --set)");
        }
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            message,
        });
    }

    /// A problem with no place in the file (a bad `--set`).
    pub(crate) fn unplaced(&mut self, message: String) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line: 0,
            column: 0,
            message,
        });
    }

    fn finish(mut self) -> Diagnostics {
        self.diags
            .sort_by(|a, b| (a.line, a.column, &a.message).cmp(&(b.line, b.column, &b.message)));
        self.diags.dedup();
        Diagnostics(self.diags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_chars() {
        // Goal: 1-based positions, columns in characters, odd offsets clamped, no panic.
        let t = "ab\nçd\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 1), (1, 2));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 5), (2, 2)); // after 'ç' (2 bytes)
        assert_eq!(line_col(t, 4), (2, 1)); // inside 'ç'
        assert_eq!(line_col(t, 999), (3, 1));
        assert_eq!(line_col("", 5), (1, 1));
    }

    #[test]
    fn override_parse_splits_at_the_first_equals() {
        // Goal: `PATH=VALUE` splits once, so values may contain '='.
        let o = Override::parse("scenario.description=a=b").unwrap();
        assert_eq!(
            (o.path.as_str(), o.value.as_str()),
            ("scenario.description", "a=b")
        );
        assert!(Override::parse("novalue").is_err());
    }

    #[test]
    fn quoted_and_bare_segments_are_the_same_key() {
        // Goal: a path's keys do not depend on how its segments were quoted, and a quoted
        // segment keeps its dots.
        let keys = |p: &str| key_path(p).unwrap();
        assert_eq!(keys("workload.\"shop\".rate"), keys("workload.shop.rate"));
        assert_eq!(keys("'workload'.shop.'rate'"), ["workload", "shop", "rate"]);
        assert_eq!(keys("network.link.\"a.b\".loss").len(), 4);
        assert!(key_path("a..b").is_err());
    }
}

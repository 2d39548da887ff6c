//! The docs show what the tool prints: every example command in README.md and docs/*.md whose
//! output is shown (a fenced block whose first line is `$ meshsim …` or `$ cargo run
//! --release -- …`) is run, and the block must be its output (stdout, then stderr) byte for
//! byte. A block preceded by `<!-- abridged -->` shows only some lines (`…` for the rest):
//! those must appear in the real output, in order.
//!
//! The report text changes on purpose now and then: `MESHSIM_UPDATE_DOCS=1 cargo test -p
//! meshsim --test integration docs` rewrites every shown output from the real one (in an
//! abridged block, each shown line is replaced by the next real line that starts the same way,
//! up to its first number; a line with no such match is left for a person to fix, and the
//! next plain run names it), then review the diff.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{doc_files, root};

/// Marks a block whose output is shown in part.
const ABRIDGED: &str = "<!-- abridged -->";
/// A line standing for the lines an abridged block leaves out.
const ELLIPSIS: &str = "…";

/// One example: where its block is, the command, and the lines it shows.
struct Example {
    file: PathBuf,
    /// Line index (0-based) of the `$ …` line; the shown output follows it.
    command_line: usize,
    command: String,
    shown: Vec<String>,
    abridged: bool,
}

/// Every fenced block of `file` that starts with a `$ ` command line.
fn examples(file: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("```") {
            i += 1;
            continue;
        }
        let close = (i + 1..lines.len())
            .find(|&k| lines[k].starts_with("```"))
            .unwrap_or_else(|| panic!("{}:{}: unclosed code block", file.display(), i + 1));
        if let Some(command) = lines.get(i + 1).and_then(|l| l.strip_prefix("$ ")) {
            let before = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
            out.push(Example {
                file: file.to_path_buf(),
                command_line: i + 1,
                command: command.to_string(),
                shown: lines[i + 2..close].iter().map(|l| l.to_string()).collect(),
                abridged: before.is_some_and(|l| l.trim() == ABRIDGED),
            });
        }
        i = close + 1;
    }
    out
}

/// The arguments of an example command after `meshsim` (or `cargo run --release --`), split
/// as a shell would for the quoting the docs use ('…' and "…").
fn arguments(command: &str) -> Vec<String> {
    let rest = command
        .strip_prefix("meshsim ")
        .or_else(|| command.strip_prefix("cargo run --release -- "))
        .unwrap_or_else(|| panic!("an example command starts with meshsim: {command}"));
    let mut args = Vec::new();
    let mut word = String::new();
    let (mut quote, mut in_word) = (None, false);
    for c in rest.chars() {
        match (quote, c) {
            (None, '\'' | '"') => (quote, in_word) = (Some(c), true),
            (Some(q), _) if c == q => quote = None,
            (None, ' ') => {
                if in_word {
                    args.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "unbalanced quote in {command}");
    if in_word {
        args.push(word);
    }
    args
}

/// What an abridged line is matched on when updating: its text up to the first number (a
/// digit not inside a word, so `p50` is part of the key and `seed=7` is not).
fn key(line: &str) -> &str {
    let mut prev = ' ';
    let end = line
        .char_indices()
        .find(|&(_, c)| {
            let starts_number = c.is_ascii_digit() && !(prev.is_alphanumeric() || prev == '_');
            prev = c;
            starts_number
        })
        .map_or(line.len(), |(i, _)| i);
    line[..end].trim_end()
}

/// Checks one example against the real output; `Err` says what differs. With `update`,
/// returns the lines the block should show instead.
fn compare(example: &Example, real: &[String], update: bool) -> Result<(), Vec<String>> {
    if !example.abridged {
        return if example.shown == real {
            Ok(())
        } else {
            Err(real.to_vec())
        };
    }
    let mut fresh = Vec::new();
    let mut at = 0;
    let mut stale = false;
    for line in &example.shown {
        if line.trim() == ELLIPSIS {
            fresh.push(line.clone());
            continue;
        }
        if let Some(k) = real[at..].iter().position(|r| r == line) {
            at += k + 1;
            fresh.push(line.clone());
            continue;
        }
        stale = true;
        let k = key(line);
        let found = (!k.is_empty() && update)
            .then(|| real[at..].iter().position(|r| key(r) == k))
            .flatten();
        match found {
            Some(p) => {
                fresh.push(real[at + p].clone());
                at += p + 1;
            }
            None => fresh.push(line.clone()),
        }
    }
    if stale { Err(fresh) } else { Ok(()) }
}

/// Runs every distinct command at once (as child processes of the test-profile binary) and
/// returns each one's stdout followed by its stderr, as lines.
fn outputs(commands: &[String]) -> Vec<Vec<String>> {
    let children: Vec<_> = commands
        .iter()
        .map(|c| {
            Command::new(env!("CARGO_BIN_EXE_meshsim"))
                .current_dir(root())
                .args(arguments(c))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("meshsim starts")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().expect("meshsim runs");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            text.lines().map(str::to_string).collect()
        })
        .collect()
}

#[test]
fn every_example_in_the_readme_and_docs_is_the_real_output() {
    // Goal (acceptance 6): every example command the README and docs show with its output
    // prints exactly that today (or, abridged, at least those lines in that order), so a
    // reader never sees numbers or wording the tool no longer produces.
    let update = std::env::var_os("MESHSIM_UPDATE_DOCS").is_some();
    let all: Vec<Example> = doc_files().iter().flat_map(|f| examples(f)).collect();
    assert!(
        all.len() >= 7,
        "the docs show their examples: {}",
        all.len()
    );
    let mut commands: Vec<String> = all.iter().map(|e| e.command.clone()).collect();
    commands.sort();
    commands.dedup();
    let real = outputs(&commands);
    let output_of = |c: &str| &real[commands.binary_search_by(|x| x.as_str().cmp(c)).unwrap()];
    let mut stale = Vec::new();
    for example in &all {
        let Err(fresh) = compare(example, output_of(&example.command), update) else {
            continue;
        };
        let place = format!(
            "{}:{}: $ {}",
            example.file.strip_prefix(root()).unwrap().display(),
            example.command_line + 1,
            example.command
        );
        stale.push((place, example, fresh));
    }
    if update {
        rewrite(&stale);
        return;
    }
    let report: Vec<String> = stale
        .iter()
        .map(|(place, e, _)| {
            format!(
                "{place}\n--- shown ---\n{}\n--- real ---\n{}",
                e.shown.join("\n"),
                output_of(&e.command).join("\n")
            )
        })
        .collect();
    assert!(
        stale.is_empty(),
        "{} example(s) out of date; MESHSIM_UPDATE_DOCS=1 rewrites them:\n\n{}",
        stale.len(),
        report.join("\n\n")
    );
}

/// Replaces each stale example's shown lines by `fresh`, file by file, from the last block up
/// so that earlier line numbers stay valid.
fn rewrite(stale: &[(String, &Example, Vec<String>)]) {
    let mut files: Vec<&Path> = stale.iter().map(|(_, e, _)| e.file.as_path()).collect();
    files.dedup();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut here: Vec<&(String, &Example, Vec<String>)> =
            stale.iter().filter(|(_, e, _)| e.file == file).collect();
        here.sort_by_key(|(_, e, _)| std::cmp::Reverse(e.command_line));
        for (place, e, fresh) in here {
            let start = e.command_line + 1;
            lines.splice(start..start + e.shown.len(), fresh.iter().cloned());
            eprintln!("updated {place}");
        }
        let mut out = lines.join("\n");
        out.push('\n');
        std::fs::write(file, out).unwrap();
    }
}

#[test]
fn example_commands_split_like_a_shell() {
    // Goal: the docs' quoting reaches meshsim as the shell would pass it.
    assert_eq!(
        arguments("meshsim hunt a.toml --until 'x > 5' --set \"b=c d\""),
        ["hunt", "a.toml", "--until", "x > 5", "--set", "b=c d"]
    );
    assert_eq!(
        arguments("cargo run --release -- run scenarios/mm1.toml"),
        ["run", "scenarios/mm1.toml"]
    );
    assert_eq!(key("  load p50 ms   2.90 ± 0.02"), "  load p50 ms");
    assert_eq!(key("seed=7 scenario=x"), "seed=");
}

//! The docs' links lead somewhere: every relative inline Markdown link (`[text](target)`;
//! the docs write no reference-style links) in README.md and docs/*.md
//! names a file that exists, and a `#anchor` names a heading of the file it points to (by
//! GitHub's slug rule: lower case, punctuation but `-` and `_` dropped, spaces to `-`, a
//! repeated heading numbered `-1`, `-2`, …). A reader who follows a link from the README to a
//! design note must land on the paragraph it promises; moving text between files breaks
//! links silently, so this test reads them all.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{doc_files, root};

/// The lines of `text` outside fenced code blocks, with their 0-based numbers (a link or
/// heading in a code block is text, not a link).
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_code = false;
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                return false;
            }
            !in_code
        })
        .collect()
}

/// GitHub's anchor for a heading text.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of every heading in `text`, repeated headings numbered as GitHub does.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if hashes == 0 || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(line[hashes..].trim_end_matches('#'));
        let mut anchor = base.clone();
        let mut n = 0;
        while !seen.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        out.insert(anchor);
    }
    out
}

/// The targets of the inline links `](target)` on `line`.
fn link_targets(line: &str) -> Vec<&str> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        let target = &after[..end];
        if !target.is_empty() && !target.contains(char::is_whitespace) {
            targets.push(target);
        }
        rest = &after[end..];
    }
    targets
}

/// Whether `target` leaves the repository (`https:`, `mailto:`, …).
fn is_external(target: &str) -> bool {
    target.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic())
    })
}

/// What is wrong with the link `target` written in `file`, if anything.
fn broken(file: &Path, target: &str) -> Option<String> {
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    let dest = if path.is_empty() {
        file.to_path_buf()
    } else {
        file.parent().expect("a file in a directory").join(path)
    };
    if !dest.exists() {
        return Some(format!("{target}: no such file"));
    }
    if anchor.is_empty() || dest.extension().is_none_or(|e| e != "md") {
        return None;
    }
    let text = std::fs::read_to_string(&dest).expect("a readable Markdown file");
    (!anchors(&text).contains(anchor)).then(|| format!("{target}: no heading #{anchor}"))
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    // Goal: a link to a missing file or heading fails here, naming the file, line and link.
    let mut bad = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        let text = std::fs::read_to_string(&file).expect("a readable Markdown file");
        let name = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        for (i, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if is_external(target) {
                    continue;
                }
                checked += 1;
                if let Some(why) = broken(&file, target) {
                    bad.push(format!("{name}:{}: {why}", i + 1));
                }
            }
        }
    }
    // The docs link to each other many times; finding none means the reader above broke.
    assert!(checked > 50, "only {checked} relative links found");
    assert!(bad.is_empty(), "broken links:\n{}", bad.join("\n"));
}

#[test]
fn anchors_follow_the_github_slug_rule() {
    // Goal: the slug rule itself is right on the cases the docs use, so the test above
    // neither passes a wrong anchor nor fails a right one.
    let text = "# Performance\n## Where it stands (measured)\n## The `plain` path\n\
                ```\n# not a heading\n```\n## Performance\n";
    let got = anchors(text);
    let want: BTreeSet<String> = [
        "performance",
        "where-it-stands-measured",
        "the-plain-path",
        "performance-1",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(got, want);
}

//! Broken scenarios (`tests/bad/*.toml` at the workspace root) are rejected with the
//! expected message at the expected place, and independent problems are all reported.

use sim_core::parse_scenario;

use crate::toml_files;

/// The `# expect: …` fragment and `# at: LINE:COL` of a bad scenario file.
fn header(text: &str) -> Option<(String, u32, u32)> {
    let mut lines = text.lines();
    let expect = lines.next()?.strip_prefix("# expect: ")?.trim().to_string();
    let at = lines.next()?.strip_prefix("# at: ")?.trim();
    let (line, col) = at.split_once(':')?;
    Some((expect, line.parse().ok()?, col.parse().ok()?))
}

#[test]
fn every_bad_scenario_fails_with_its_message_at_its_place() {
    // Goal: each file in tests/bad/ fails; its first diagnostic is at `# at:` and contains
    // the `# expect:` fragment.
    let files = toml_files("tests/bad");
    assert!(files.len() >= 18, "only {} bad scenarios", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let bytes = std::fs::read(path).expect("readable test file");
        let text = String::from_utf8_lossy(&bytes);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((expect, line, col)) = header(&text) else {
            failures.push(format!(
                "{name}: first lines must be `# expect: …` and `# at: L:C`"
            ));
            continue;
        };
        match parse_scenario(&name, &text, &[]) {
            Ok(_) => failures.push(format!("{name}: parsed, but should fail with \"{expect}\"")),
            Err(diags) => {
                let first = &diags.0[0];
                if (first.line, first.column) != (line, col) || !first.message.contains(&expect) {
                    failures.push(format!(
                        "{name}: wanted {line}:{col} containing \"{expect}\"; got:\n{diags}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn independent_problems_are_all_reported_in_file_order() {
    // Goal: three unrelated mistakes give three diagnostics, sorted by line, not just the first.
    let text = r#"[scenario]
name = "three"
duration = "10x"

[workload.w]
endpoint = "a/b"
rate = -5

[service.a]
lb = "fastest"
[service.a.endpoint.b]
"#;
    let diags = parse_scenario("three.toml", text, &[]).expect_err("three problems");
    let got: Vec<(u32, u32)> = diags.0.iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(got, vec![(3, 12), (7, 8), (10, 6)], "{diags}");
    assert!(
        diags.0[0].message.contains("unknown time unit \"x\""),
        "{diags}"
    );
    assert!(
        diags.0[1]
            .message
            .contains("workload.w.rate = -5 is out of range"),
        "{diags}"
    );
    assert!(
        diags.0[2].message.contains("unknown lb policy \"fastest\""),
        "{diags}"
    );
    assert!(
        diags.to_string().starts_with("three.toml:3:12: "),
        "{diags}"
    );
}

#[test]
fn empty_and_whitespace_files_say_what_is_missing() {
    // Goal: an empty file is not a panic or a silent default: it needs [scenario].
    for text in ["", "\n\n  \n", "# only a comment\n"] {
        let diags = parse_scenario("empty.toml", text, &[]).expect_err("empty file");
        assert!(
            diags.0[0].message.contains("missing [scenario] table"),
            "{diags}"
        );
        assert_eq!((diags.0[0].line, diags.0[0].column), (1, 1));
    }
}

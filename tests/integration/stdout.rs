//! stdout is where the report goes: when it cannot get there — stdout closed by the shell
//! (`>&-`) or a full device — every command exits 2 with a message on stderr, never 0 with
//! the report silently lost (issue C8). Discarding it on purpose (`>/dev/null`) stays fine.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::scratch_dir;

/// A scenario small enough that every command on it takes milliseconds.
const TINY: &str = r#"
[scenario]
name = "tiny"
seed = 1
duration = "2s"
drain = "1s"

[workload.load]
endpoint = "server/work"
rate = 50

[service.server]
[service.server.endpoint.work]
work = "exp(1ms)"
"#;

/// Runs meshsim in `dir` through `sh`, with `redirect` applied to its stdout.
fn with_stdout(dir: &Path, redirect: &str, args: &[&str]) -> Output {
    let script = format!("exec \"$0\" \"$@\" {redirect}");
    Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_meshsim"))
        .args(args)
        .output()
        .expect("sh runs")
}

/// Every command that prints to stdout, on the tiny scenario (merge on one shard of it).
fn commands(dir: &Path) -> Vec<Vec<&'static str>> {
    std::fs::write(dir.join("tiny.toml"), TINY).unwrap();
    let part = with_stdout(
        dir,
        "",
        &[
            "compare",
            "tiny.toml",
            "--seeds",
            "2",
            "--shard",
            "1/1",
            "--out",
            "parts",
        ],
    );
    assert!(
        part.status.success(),
        "{}",
        String::from_utf8_lossy(&part.stderr)
    );
    vec![
        vec!["run", "tiny.toml"],
        vec!["run", "tiny.toml", "--json"],
        vec!["check", "tiny.toml"],
        vec!["graph", "tiny.toml"],
        vec!["trace", "tiny.toml", "--request", "1"],
        vec!["compare", "tiny.toml", "--seeds", "2"],
        vec![
            "sweep",
            "tiny.toml",
            "--vary",
            "workload.load.rate=20,40",
            "--seeds",
            "2",
        ],
        vec![
            "hunt",
            "tiny.toml",
            "--seeds",
            "1..2",
            "--until",
            "workloads.load.sent > 0",
        ],
        vec!["merge", "parts/compare.part-1-of-1.json"],
    ]
}

#[test]
fn a_closed_stdout_is_exit_2_with_a_message_for_every_command() {
    // Goal: with stdout closed (`>&-`) every command exits 2 and says on stderr that stdout
    // is closed; on the old code `run` and `check` exited 0 with no report and no message.
    let dir = scratch_dir("stdout-closed");
    for args in commands(&dir) {
        let out = with_stdout(&dir, ">&-", &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("stdout: cannot write: it is closed"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_full_stdout_is_exit_2_and_dev_null_is_fine() {
    // Goal: a write that fails (/dev/full: no space left) is exit 2 naming stdout and the
    // reason; sending the report to /dev/null on purpose is exit 0 with nothing on stderr,
    // write-only (`>`) or read-write (`1<>`, as a daemon's stdout) alike.
    let dir = scratch_dir("stdout-full");
    for args in commands(&dir) {
        let out = with_stdout(&dir, ">/dev/full", &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("stdout: cannot write: No space left on device"),
            "{args:?}: {stderr}"
        );
        for null in [">/dev/null", "1<>/dev/null"] {
            let out = with_stdout(&dir, null, &args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{null} {args:?}: {stderr}");
            assert!(out.stderr.is_empty(), "{null} {args:?}: {stderr}");
        }
    }
}

#[test]
fn a_closed_stdout_leaves_no_out_directory() {
    // Goal: stdout is written before the --out files are put in place, so a report that
    // cannot be printed leaves no --out directory (and no staging directory) behind: all or
    // nothing covers stdout too.
    let dir = scratch_dir("stdout-closed-out");
    std::fs::write(dir.join("tiny.toml"), TINY).unwrap();
    let out = with_stdout(&dir, ">&-", &["run", "tiny.toml", "--out", "out"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(crate::support::names(&dir), ["tiny.toml"]);
}

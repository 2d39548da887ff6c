//! The fixed caps ("Limits" in docs/cli.md): input file size, grid size, hunt's seed range
//! and expression nesting, metric path length. Each observed case that used to exhaust
//! memory, overflow the stack or never end now exits 2 with the count and the cap.

use std::process::Output;

use crate::support::{meshsim_in, scratch_dir};

const SERVER: &str = r#"
[scenario]
name = "server"
duration = "1s"
[workload.load]
endpoint = "server/serve"
rate = 10
[service.server.endpoint.serve]
work = "1ms"
"#;

/// Exit 2, nothing on stdout, and stderr saying `says`.
fn refused(out: &Output, says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
}

fn setup(name: &str) -> std::path::PathBuf {
    let dir = scratch_dir(name);
    std::fs::write(dir.join("server.toml"), SERVER).unwrap();
    dir
}

#[test]
fn endless_and_oversized_inputs_are_refused_without_reading_them() {
    // Goal: `check /dev/zero` (endless) and a 100 MB file stop at the 16 MiB scenario cap;
    // a file of newlines one byte over the cap is refused too; files read together stop at
    // a shared budget; a partial past its 64 MiB cap is refused by merge. Each message names
    // the file, its size and the cap.
    let dir = setup("caps-input");
    refused(
        &meshsim_in(&dir, &["check", "/dev/zero"]),
        "/dev/zero: more than 16777216 bytes; a scenario file may have at most 16777216 bytes \
         (16 MiB)",
    );
    let big = std::fs::File::create(dir.join("big.toml")).unwrap();
    big.set_len(100_000_000).unwrap();
    refused(
        &meshsim_in(&dir, &["run", "big.toml"]),
        "big.toml: 100000000 bytes; a scenario file may have at most 16777216 bytes",
    );
    std::fs::write(dir.join("newlines.toml"), vec![b'\n'; 16 * 1024 * 1024 + 1]).unwrap();
    refused(
        &meshsim_in(&dir, &["compare", "newlines.toml"]),
        "newlines.toml: 16777217 bytes; a scenario file may have at most 16777216 bytes",
    );
    // Files read together share a 64 MiB budget: five of 15 MiB are refused at the fifth.
    let mut five = vec!["compare"];
    for name in ["f1.toml", "f2.toml", "f3.toml", "f4.toml", "f5.toml"] {
        let f = std::fs::File::create(dir.join(name)).unwrap();
        f.set_len(15 * 1024 * 1024).unwrap();
        five.push(name);
    }
    refused(
        &meshsim_in(&dir, &five),
        "f5.toml: 15728640 bytes after the 62914560 bytes of the files before it; the files of \
         one command may hold at most 67108864 bytes together (64 MiB)",
    );
    let part = std::fs::File::create(dir.join("part.json")).unwrap();
    part.set_len(65 * 1024 * 1024).unwrap();
    refused(
        &meshsim_in(&dir, &["merge", "part.json"]),
        "part.json: 68157440 bytes; a partial result may have at most 67108864 bytes (64 MiB)",
    );
}

#[test]
fn grids_are_capped_before_any_variant_is_built() {
    // Goal: two --vary ranges of 10,000 points (10^8 variants, which used to be built and
    // abort) are refused by arithmetic with the count and the cap; so is a grid within the
    // variant cap whose runs (variants × seeds) pass the run cap, for compare and sweep.
    let dir = setup("caps-grid");
    let huge = [
        "--vary",
        "workload.load.rate=1..10000:1",
        "--vary",
        "service.server.workers=1..10000:1",
    ];
    refused(
        &meshsim_in(&dir, &[&["compare", "server.toml"][..], &huge].concat()),
        "1 file × the --vary values (10000 × 10000) make 100000000 variants; a plan may have \
         at most 10000",
    );
    refused(
        &meshsim_in(&dir, &[&["sweep", "server.toml"][..], &huge].concat()),
        "make 100000000 variants",
    );
    refused(
        &meshsim_in(
            &dir,
            &[
                "compare",
                "server.toml",
                "--vary",
                "workload.load.rate=1..1000:1",
                "--seeds",
                "1001",
            ],
        ),
        "1000 variants × 1001 seeds = 1001000 runs; compare and sweep run at most 1000000",
    );
}

#[test]
fn hunt_caps_its_seed_range_and_its_expression() {
    // Goal: `--seeds 0..18446744073709551615` (2^64 seeds, which wrapped to 0 and never
    // ended) is refused with the true count; 15,000 parentheses and 30,000 `not`s (which
    // overflowed the stack) are refused at the column past the depth cap, in a short line.
    let dir = setup("caps-hunt");
    let hunt = |seeds: &str, until: &str| {
        meshsim_in(
            &dir,
            &["hunt", "server.toml", "--seeds", seeds, "--until", until],
        )
    };
    refused(
        &hunt("0..18446744073709551615", "workloads.load.sent > 0"),
        "--seeds 0..18446744073709551615: 18446744073709551616 seeds; a hunt searches at most \
         10000000",
    );
    let parens = format!(
        "{}workloads.load.sent > 0{}",
        "(".repeat(15_000),
        ")".repeat(15_000)
    );
    let out = hunt("1..2", &parens);
    refused(&out, "column 65: nested more than 64 deep");
    assert!(out.stderr.len() < 400, "the expression is echoed cut short");
    let nots = format!("{}workloads.load.sent > 0", "not ".repeat(30_000));
    refused(&hunt("1..2", &nots), "column 257: nested more than 64 deep");
}

#[test]
fn a_huge_expect_metric_path_is_a_located_error() {
    // Goal: an [[expect]] metric of 50,000 segments (which took 25 s to look up) is refused
    // by `check` at the metric's line and column, with the count and the cap.
    let dir = setup("caps-metric");
    let metric = vec!["a"; 50_000].join(".");
    let text = format!("{SERVER}[[expect]]\nmetric = \"{metric}\"\nbelow = 1\n");
    std::fs::write(dir.join("long.toml"), text).unwrap();
    refused(
        &meshsim_in(&dir, &["check", "long.toml"]),
        "long.toml:11:10: expect[0].metric: the metric path has 50000 segments; at most 64 are \
         allowed",
    );
}

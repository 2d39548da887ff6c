//! `hunt --shrink`: which settings it may touch (never one a `--set` overrides, however the
//! path is quoted) and where it writes (only into `--out`, by default the current directory;
//! never through a symlink, never beside a non-regular input).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::hunt::{CHAOS, UNTIL};
use crate::support::{meshsim_in, scratch_dir};

fn setup(name: &str) -> PathBuf {
    let dir = scratch_dir(name);
    std::fs::write(dir.join("chaos.toml"), CHAOS).unwrap();
    dir
}

/// `hunt chaos.toml --seeds 1..60 --until UNTIL --shrink` with `extra` flags, in `dir`.
fn shrink(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["hunt", "chaos.toml", "--seeds", "1..60", "--until", UNTIL];
    args.push("--shrink");
    args.extend_from_slice(extra);
    meshsim_in(dir, &args)
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_quoted_set_path_is_left_alone_like_a_bare_one() {
    // Goal (C7): a setting a `--set` overrides is never shrunk, however its path is quoted:
    // `workload."shop".rate` is `workload.shop.rate`, so the report does not claim a rate
    // change the `--set` undoes on replay, and the written file keeps the file's rate. On the
    // old code the quoted path did not match and shrink "halved" the rate 16 times.
    let dir = setup("shrink-quoted-set");
    for set in ["workload.\"shop\".rate=200", "'workload'.shop.'rate'=200"] {
        let out = shrink(&dir, &["--set", set]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{set}: {stderr}");
        assert!(
            !stdout.contains("workload.shop.rate"),
            "{set}: shrink reports a change --set undoes:\n{stdout}"
        );
        let file = stdout
            .lines()
            .find_map(|l| l.strip_prefix("wrote "))
            .unwrap_or_else(|| panic!("no file written:\n{stdout}"));
        let shrunk: toml_edit::DocumentMut = std::fs::read_to_string(dir.join(file))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            shrunk["workload"]["shop"]["rate"].as_integer(),
            Some(200),
            "{set}: the written file's rate was changed"
        );
    }
}

//! `hunt --shrink`: which settings it may touch (never one a `--set` overrides, however the
//! path is quoted) and where it writes (only into `--out`, by default the current directory;
//! never through a symlink, never beside a non-regular input).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::hunt::{CHAOS, UNTIL};
use crate::support::{meshsim_in, names, scratch_dir};

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
        let file = shrunk_file(&stdout);
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

/// The file a shrink says it wrote (`wrote PATH`).
fn shrunk_file(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("wrote "))
        .unwrap_or_else(|| panic!("no file written:\n{stdout}"))
        .to_string()
}

#[test]
fn the_shrunk_file_goes_into_the_current_directory_not_beside_the_input() {
    // Goal: without --out the shrunk scenario is written into the current directory — not
    // beside the input in another directory — and the replay command names it there; with
    // --out DIR it goes into DIR (created); no temporary file is left anywhere.
    let dir = scratch_dir("shrink-where");
    std::fs::create_dir_all(dir.join("lessons")).unwrap();
    std::fs::create_dir_all(dir.join("work")).unwrap();
    std::fs::write(dir.join("lessons/chaos.toml"), CHAOS).unwrap();
    let work = dir.join("work");
    let args = [
        "hunt",
        "../lessons/chaos.toml",
        "--seeds",
        "1..60",
        "--until",
        UNTIL,
    ];
    let out = meshsim_in(&work, &[&args[..], &["--shrink"]].concat());
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let file = shrunk_file(&stdout);
    assert!(file.starts_with("chaos-shrunk-seed"), "{stdout}");
    assert!(
        stdout.contains(&format!("replay: meshsim run {file} --seed")),
        "{stdout}"
    );
    assert_eq!(names(&work), [file.as_str()]);
    assert_eq!(
        names(&dir.join("lessons")),
        ["chaos.toml"],
        "nothing beside the input"
    );

    let out = meshsim_in(
        &work,
        &[&args[..], &["--shrink", "--out", "shrunk/here"]].concat(),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(shrunk_file(&stdout), format!("shrunk/here/{file}"));
    assert_eq!(names(&work.join("shrunk/here")), [file]);
}

#[test]
fn a_non_regular_input_gets_its_shrunk_file_in_the_current_directory() {
    // Goal: `hunt /dev/stdin --shrink` writes stdin-shrunk-seedN.toml into the current
    // directory; on the old code it tried /dev/stdin-shrunk-seedN.toml, beside the device.
    let dir = scratch_dir("shrink-stdin");
    let input = std::fs::File::open(setup("shrink-stdin-input").join("chaos.toml")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshsim"))
        .current_dir(&dir)
        .args([
            "hunt",
            "/dev/stdin",
            "--seeds",
            "1..60",
            "--until",
            UNTIL,
            "--shrink",
        ])
        .stdin(input)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let file = shrunk_file(&stdout);
    assert!(file.starts_with("stdin-shrunk-seed"), "{stdout}");
    assert_eq!(names(&dir), [file.as_str()]);
    assert!(
        !Path::new("/dev").join(&file).exists(),
        "nothing written into /dev"
    );
}

#[test]
fn a_symlinked_shrunk_file_name_is_refused_and_the_input_kept() {
    // Goal: when the shrunk file's name is a symlink (here to the input scenario), shrink
    // refuses to write (exit 2, naming the link) and the input keeps its bytes; on the old
    // code the write went through the link and overwrote the input. A --out that is a file
    // is refused before the hunt.
    let dir = setup("shrink-symlink");
    let first = shrink(&dir, &[]);
    let file = shrunk_file(&text(&first).0);
    std::fs::remove_file(dir.join(&file)).unwrap();
    std::os::unix::fs::symlink("chaos.toml", dir.join(&file)).unwrap();
    let out = shrink(&dir, &[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{file} (hunt --shrink")),
        "{stderr}"
    );
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("chaos.toml")).unwrap(),
        CHAOS
    );
    assert_eq!(
        names(&dir),
        [file.as_str(), "chaos.toml"],
        "no temporary file left"
    );

    let out = shrink(&dir, &["--out", "chaos.toml"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--out chaos.toml: exists and is not a directory"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "refused before the hunt: {stdout}");
}

//! `--out DIR` is all or nothing (issue D1, D2): a symlink is never followed, an unwritable
//! or wrong place is refused before the run, an earlier meshsim output is replaced whole (no
//! old file next to a new report), and a write that fails midway leaves nothing new and the
//! old output untouched. Shard parts get the same care.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{meshsim_in, names, root, scratch_dir};

/// Every entry below `dir` (relative path -> bytes, or `->target` for a symlink, `/` for a
/// directory), to show that a failed command changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let key = path.strip_prefix(dir).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&path).unwrap();
            let value = if meta.file_type().is_symlink() {
                format!("->{}", fs::read_link(&path).unwrap().display()).into_bytes()
            } else if meta.is_dir() {
                todo.push(path);
                b"/".to_vec()
            } else {
                fs::read(&path).unwrap()
            };
            all.insert(key, value);
        }
    }
    all
}

fn scenario(name: &str) -> String {
    root().join("scenarios").join(name).display().to_string()
}

/// `run SCENARIO --out OUT` in `dir` with extra flags.
fn run(dir: &Path, name: &str, out: &str, extra: &[&str]) -> Output {
    let file = scenario(name);
    let mut args = vec!["run", &file, "--quiet", "--out", out];
    args.extend_from_slice(extra);
    meshsim_in(dir, &args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A run that, if it ran, would stop at its event budget with exit 3: exit 2 from it shows
/// that the output place was refused before the run.
const WOULD_HIT_A_LIMIT: [&str; 2] = ["--set", "scenario.max_events=100"];

/// Asserts a refusal: exit 2, `says` on stderr, nothing on stdout.
fn refused(out: &Output, says: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(says), "expected {says:?} in: {err}");
    assert!(out.stdout.is_empty(), "a refused run prints no report");
}

#[test]
fn a_symlink_inside_or_as_the_target_is_refused_and_never_followed() {
    // Goal: an earlier output whose report.json was replaced by a symlink to a file outside
    // is refused (exit 2, naming the link): the outside file keeps its bytes and the
    // directory is as it was. `--out LINK` to a directory is refused too, its target left
    // empty. On the old code the symlink was followed and the outside file overwritten.
    let dir = scratch_dir("out-symlink");
    assert!(run(&dir, "mm1.toml", "out", &[]).status.success());
    fs::write(dir.join("precious.txt"), "keep me").unwrap();
    fs::remove_file(dir.join("out/report.json")).unwrap();
    std::os::unix::fs::symlink("../precious.txt", dir.join("out/report.json")).unwrap();
    let before = snapshot(&dir);
    refused(
        &run(&dir, "mm1.toml", "out", &WOULD_HIT_A_LIMIT),
        "--out out: holds report.json, a symbolic link",
    );
    assert_eq!(
        snapshot(&dir),
        before,
        "nothing changed, nothing left behind"
    );

    fs::create_dir(dir.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink("elsewhere", dir.join("link")).unwrap();
    refused(
        &run(&dir, "mm1.toml", "link", &WOULD_HIT_A_LIMIT),
        "--out link: is a symbolic link",
    );
    assert!(names(&dir.join("elsewhere")).is_empty());
    assert_eq!(
        snapshot(&dir).len(),
        before.len() + 2,
        "only the two test entries added"
    );
}

#[test]
fn a_file_where_the_directory_should_be_is_refused_before_the_run() {
    // Goal: `--out F` where F is a file, and `--out F/sub` below it, exit 2 before the run
    // (not 3 at the event budget), naming the path; the file is untouched, nothing is left.
    let dir = scratch_dir("out-file-in-the-way");
    fs::write(dir.join("report"), "a file").unwrap();
    let before = snapshot(&dir);
    refused(
        &run(&dir, "mm1.toml", "report", &WOULD_HIT_A_LIMIT),
        "--out report: exists and is not a directory",
    );
    refused(
        &run(&dir, "mm1.toml", "report/sub", &WOULD_HIT_A_LIMIT),
        "--out report/sub: report is not a directory",
    );
    refused(
        &run(&dir, "mm1.toml", ".", &WOULD_HIT_A_LIMIT),
        "--out .: name a directory",
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn a_directory_meshsim_did_not_write_is_refused_and_kept() {
    // Goal: a non-empty directory that is not an earlier meshsim output (no marker), an
    // earlier output with a file of the user's added, or one where a directory stands where
    // an output file goes, is refused before the run and kept.
    let dir = scratch_dir("out-not-ours");
    fs::create_dir(dir.join("mine")).unwrap();
    fs::write(dir.join("mine/thesis.tex"), "years of work").unwrap();
    assert!(run(&dir, "mm1.toml", "out", &[]).status.success());
    assert!(
        run(&dir, "mm1.toml", "dir-in-the-way", &[])
            .status
            .success()
    );
    fs::write(dir.join("out/notes.txt"), "mine").unwrap();
    fs::remove_file(dir.join("dir-in-the-way/report.md")).unwrap();
    fs::create_dir(dir.join("dir-in-the-way/report.md")).unwrap();
    let before = snapshot(&dir);
    refused(
        &run(&dir, "mm1.toml", "dir-in-the-way", &WOULD_HIT_A_LIMIT),
        "--out dir-in-the-way: holds report.md, which is not a regular file",
    );
    refused(
        &run(&dir, "mm1.toml", "mine", &WOULD_HIT_A_LIMIT),
        "--out mine: is not empty and not an earlier meshsim output",
    );
    refused(
        &run(&dir, "mm1.toml", "out", &WOULD_HIT_A_LIMIT),
        "--out out: holds notes.txt, which meshsim did not write",
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn an_earlier_output_is_replaced_whole() {
    // Goal: a run with a broker (messages.csv, queue-depth.*) and then a plain run into the
    // same directory leaves exactly what the plain run writes into a fresh one, byte for
    // byte: no file of the earlier run stays; the same holds across commands (a compare
    // output replaced by a run) and for an empty directory; nothing is left beside it.
    let dir = scratch_dir("out-replace");
    assert!(run(&dir, "queue-workers.toml", "out", &[]).status.success());
    assert!(dir.join("out/messages.csv").exists() && dir.join("out/queue-depth.csv").exists());
    assert!(run(&dir, "mm1.toml", "out", &[]).status.success());
    assert!(run(&dir, "mm1.toml", "fresh", &[]).status.success());
    assert_eq!(snapshot(&dir.join("out")), snapshot(&dir.join("fresh")));
    assert!(!dir.join("out/messages.csv").exists());

    let file = scenario("mm1.toml");
    let compare = ["compare", &file, "--seeds", "2", "--quiet", "--out", "many"];
    assert!(meshsim_in(&dir, &compare).status.success());
    assert!(dir.join("many/compare.csv").exists());
    assert!(run(&dir, "mm1.toml", "many", &[]).status.success());
    assert_eq!(snapshot(&dir.join("many")), snapshot(&dir.join("fresh")));

    fs::create_dir(dir.join("empty")).unwrap();
    assert!(run(&dir, "mm1.toml", "empty", &[]).status.success());
    assert_eq!(snapshot(&dir.join("empty")), snapshot(&dir.join("fresh")));
    assert_eq!(
        names(&dir),
        ["empty", "fresh", "many", "out"],
        "no staging left"
    );
}

#[test]
fn a_write_that_fails_midway_leaves_nothing_and_the_old_output_untouched() {
    // Goal: with the child's file size capped at 40,000 bytes (setrlimit RLIMIT_FSIZE, so
    // report.json and the smaller files are written and throughput.svg, ~70 kB, fails), a
    // run into a directory holding an earlier output exits 2 naming the file and the reason;
    // the earlier output is byte-identical, with nothing new beside it. On the old code 5
    // files were written and one truncated.
    let dir = scratch_dir("out-midway");
    assert!(run(&dir, "queue-workers.toml", "out", &[]).status.success());
    let before = snapshot(&dir);
    let file = scenario("circuit-breaker.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshsim"));
    cmd.current_dir(&dir)
        .args(["run", &file, "--quiet", "--out", "out"]);
    // SAFETY: between fork and exec the closure only makes two async-signal-safe calls.
    unsafe {
        cmd.pre_exec(|| {
            // Ignored, SIGXFSZ stays ignored across exec: a write past the cap fails (EFBIG).
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let cap = libc::rlimit {
                rlim_cur: 40_000,
                rlim_max: 40_000,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &cap) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("meshsim runs");
    refused(
        &out,
        "--out out: cannot write throughput.svg: File too large",
    );
    assert_eq!(
        snapshot(&dir),
        before,
        "old output untouched, nothing partial left"
    );
}

/// Runs `script` with `sh` in `dir` inside a private mount namespace (`unshare --mount`), so
/// a tmpfs it mounts vanishes with it and the host never sees it; `$MESHSIM` is the binary.
/// The script writes what the test checks into files in `dir` (outside the mount). `None`,
/// with the reason printed, where this machine does not allow it (no unshare, no privilege).
fn with_private_tmpfs(dir: &Path, size: &str, script: &str) -> Option<()> {
    let full =
        format!("mkdir -p mnt && mount -t tmpfs -o size={size} tmpfs mnt || exit 77\n{script}");
    let out = Command::new("unshare")
        .args(["--mount", "sh", "-c", &full])
        .current_dir(dir)
        .env("MESHSIM", env!("CARGO_BIN_EXE_meshsim"))
        .output();
    match out {
        Ok(o) if o.status.success() => Some(()),
        Ok(o) if o.status.code() == Some(77) || o.status.code() == Some(1) => {
            println!(
                "skipped: cannot mount a tmpfs in a private mount namespace here: {}",
                stderr(&o)
            );
            None
        }
        Ok(o) => panic!("the test script failed: {}", stderr(&o)),
        Err(e) => {
            println!("skipped: unshare is not available: {e}");
            None
        }
    }
}

/// What the script's meshsim call left: exit code, stderr, and `ls -A` of a directory.
fn recorded(dir: &Path, name: &str) -> (i32, String, String) {
    let read = |f: &str| fs::read_to_string(dir.join(format!("{name}.{f}"))).unwrap();
    (
        read("rc").trim().parse().unwrap(),
        read("stderr"),
        read("listing"),
    )
}

/// Shell: the names in the current directory, then the checksum of each regular file.
const LIST_FILES: &str = "ls -A; for f in $(ls -A); do [ -f \"$f\" ] && cksum \"$f\"; done";

/// Shell lines that run meshsim with `args`, recording its exit code, stderr and stdout
/// size, and then `ls -A` of `list` and the checksums of what is in it.
fn record(name: &str, args: &str, list: &str) -> String {
    format!(
        "\"$MESHSIM\" {args} > {name}.stdout 2> {name}.stderr; echo $? > {name}.rc\n\
         (cd {list} && {LIST_FILES}) > {name}.listing\n"
    )
}

#[test]
fn a_read_only_directory_is_refused_before_the_run() {
    // Goal: on a read-only mount (a tmpfs remounted read-only), `--out` to a new directory
    // in it and to an earlier output in it both exit 2 before the run (not 3 at the event
    // budget), naming the place and the OS's reason; the earlier output is unchanged. Under
    // /proc, where nothing may be created either, the same, on any Linux.
    let dir = scratch_dir("out-read-only");
    fs::write(dir.join("s.toml"), fs::read(scenario("mm1.toml")).unwrap()).unwrap();
    let limit = WOULD_HIT_A_LIMIT.join(" ");
    let script = format!(
        "\"$MESHSIM\" run s.toml -q --out mnt/old > /dev/null || exit 90\n\
         (cd mnt/old && {LIST_FILES}) > before.listing\n\
         mount -o remount,ro mnt || exit 77\n{}{}",
        record("new", &format!("run s.toml {limit} --out mnt/new"), "mnt"),
        record(
            "old",
            &format!("run s.toml {limit} --out mnt/old"),
            "mnt/old"
        ),
    );
    if with_private_tmpfs(&dir, "4m", &script).is_some() {
        let (rc, err, listing) = recorded(&dir, "new");
        assert_eq!(rc, 2, "{err}");
        assert!(
            err.contains("--out mnt/new: cannot write in mnt: Read-only file system"),
            "{err}"
        );
        assert_eq!(listing.trim(), "old", "nothing created on the mount");
        let (rc, err, listing) = recorded(&dir, "old");
        assert_eq!(rc, 2, "{err}");
        assert!(err.contains("Read-only file system"), "{err}");
        let before = fs::read_to_string(dir.join("before.listing")).unwrap();
        assert_eq!(listing, before, "the earlier output is unchanged");
    }
    let file = scenario("mm1.toml");
    let args = ["run", &file, "--out", "/proc/meshsim-out"];
    let out = meshsim_in(&dir, &[&args[..], &WOULD_HIT_A_LIMIT].concat());
    refused(&out, "--out /proc/meshsim-out: cannot write in /proc");
}

#[test]
fn a_full_disk_midway_leaves_the_old_output_untouched() {
    // Goal: on a 512 KiB tmpfs holding an earlier output (~360 KiB), a run whose files do not
    // fit beside it fails midway with "No space left on device": exit 2, and the mount holds
    // exactly the earlier output, byte for byte (no staging directory, no truncated SVG).
    let dir = scratch_dir("out-full-disk");
    fs::write(
        dir.join("small.toml"),
        fs::read(scenario("mm1.toml")).unwrap(),
    )
    .unwrap();
    let big = scenario("circuit-breaker.toml");
    let script = format!(
        "\"$MESHSIM\" run small.toml -q --out mnt/out > /dev/null || exit 90\n\
         (cd mnt/out && {LIST_FILES}) > before.listing\n{}",
        record("full", &format!("run {big} -q --out mnt/out"), "mnt/out"),
    );
    let script = format!("{script}ls -A mnt > mnt.listing\n");
    if with_private_tmpfs(&dir, "512k", &script).is_none() {
        return;
    }
    let (rc, err, listing) = recorded(&dir, "full");
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    let before = fs::read_to_string(dir.join("before.listing")).unwrap();
    let mount = fs::read_to_string(dir.join("mnt.listing")).unwrap();
    assert_eq!(mount.trim(), "out", "only the earlier output on the mount");
    assert_eq!(listing, before, "the earlier output is unchanged");
}

#[test]
fn shard_parts_are_renamed_into_place_and_never_written_through_a_symlink() {
    // Goal: shards share their --out directory (other files in it are fine); each part is
    // renamed into place, replacing an earlier part of the same shard and leaving no
    // temporary file; a part name that is a symlink is refused before the run (exit 2)
    // and the file it points to keeps its bytes.
    let dir = scratch_dir("out-shards");
    let file = scenario("mm1.toml");
    let shard = |i: &str, extra: &[&str]| {
        let args = [
            "compare", &file, "--seeds", "2", "--quiet", "--shard", i, "--out", "parts",
        ];
        meshsim_in(&dir, &[&args[..], extra].concat())
    };
    fs::create_dir(dir.join("parts")).unwrap();
    fs::write(dir.join("parts/README"), "shared").unwrap();
    for i in ["1/2", "2/2", "1/2"] {
        let out = shard(i, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(
        names(&dir.join("parts")),
        [
            "README",
            "compare.part-1-of-2.json",
            "compare.part-2-of-2.json"
        ]
    );
    fs::write(dir.join("precious.txt"), "keep me").unwrap();
    let part = dir.join("parts/compare.part-2-of-2.json");
    fs::remove_file(&part).unwrap();
    std::os::unix::fs::symlink("../precious.txt", &part).unwrap();
    let before = snapshot(&dir);
    refused(
        &shard("2/2", &WOULD_HIT_A_LIMIT),
        "parts/compare.part-2-of-2.json (--out parts): is a symbolic link",
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn run_help_names_every_file_out_writes() {
    // Goal: `run --help` lists every file `run --out` writes (it once named only report.json
    // and report.txt): each name written by scenarios with breakers, a broker and flows
    // appears in the help's --out text (PNGs are the --png flag's).
    let dir = scratch_dir("out-help");
    let help = meshsim_in(&dir, &["run", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout).replace('\n', " ");
    for (i, name) in [
        "circuit-breaker.toml",
        "queue-workers.toml",
        "checkout-flow.toml",
    ]
    .iter()
    .enumerate()
    {
        let out = format!("out{i}");
        assert!(run(&dir, name, &out, &[]).status.success(), "{name}");
        for file in names(&dir.join(&out)) {
            assert!(
                help.contains(&file),
                "{file} (from {name}) missing in run --help"
            );
        }
    }
}

#[test]
fn stdout_is_the_printed_file_with_and_without_out() {
    // Goal: what run, compare and sweep print is the same bytes whether or not --out is
    // given, and is the file of that format in DIR (report.json for --json, report.txt
    // otherwise): stdout is taken from the rendered files, so a printer picked for the wrong
    // format, or a file rendered differently from stdout, shows here.
    let dir = crate::compare::setup("out-stdout-is-file");
    let vary = ["--vary", "workload.load.rate=200,400", "--seeds", "2"];
    let commands: [(&str, Vec<&str>); 3] = [
        ("report", vec!["run", "server.toml"]),
        ("compare", [&["compare", "server.toml"][..], &vary].concat()),
        ("sweep", [&["sweep", "server.toml"][..], &vary].concat()),
    ];
    for (stem, args) in &commands {
        for (format, flag) in [("txt", None), ("json", Some("--json"))] {
            let args: Vec<&str> = args.iter().copied().chain(flag).collect();
            let alone = meshsim_in(&dir, &args);
            assert_eq!(alone.status.code(), Some(0), "{args:?}");
            let out = meshsim_in(&dir, &[&args[..], &["--out", "out"]].concat());
            assert_eq!(out.status.code(), Some(0), "{args:?} --out out");
            let file = fs::read(dir.join("out").join(format!("{stem}.{format}"))).unwrap();
            assert!(
                out.stdout == file,
                "{args:?} --out: stdout is {stem}.{format}"
            );
            assert!(
                alone.stdout == file,
                "{args:?}: stdout without --out is {stem}.{format}"
            );
        }
    }
}

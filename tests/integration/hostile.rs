//! Hostile input: files, flags and partial results made to crash meshsim, exhaust its memory
//! or hang it. Each case runs the real binary as a child process under an address-space limit
//! of 1 GiB (`setrlimit(RLIMIT_AS)`, set in the child before `exec`) and a wall-clock limit.
//! Whatever the input, meshsim must end by itself with 0, 1, 2 or 3 and say something: never a
//! signal, an abort, a panic (exit 101) or a time-out. Cases that the issue observed crashing or
//! growing without bound also pin the exit code they must get now.
//!
//! Every scenario file here is under 64 KiB and uses the default limits (no `max_memory`,
//! `max_in_flight` or `max_events` of its own), so together they show that the defaults keep a
//! run of such a file within 1 GiB.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::scratch_dir;

/// The address-space limit every case runs under.
const MEMORY_LIMIT_BYTES: u64 = 1 << 30;
/// No case may take longer than this, on a loaded two-core machine.
const WALL_LIMIT: Duration = Duration::from_secs(90);

/// What a finished case printed and how it ended.
struct Ended {
    code: i32,
    stdout: String,
    stderr: String,
    seconds: f64,
}

/// Runs `meshsim ARGS` in `dir` with `stdin` under the memory and wall-clock limits, failing the
/// test on a signal, a panic, an exit code outside 0..=3, a time-out or silence.
fn run_limited(case: &str, dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Ended {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meshsim"));
    cmd.current_dir(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::from(
            std::fs::File::create(dir.join("stdout")).unwrap(),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("stderr")).unwrap(),
        ));
    crate::support::limit_address_space(&mut cmd, MEMORY_LIMIT_BYTES);
    let shown = shorten(&format!("{args:?}"));
    // The wall clock bounds the child process from outside; it never reaches a run.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    // Reaped by `reap` (wait4, for its rusage) or waited for after a kill.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd.spawn().expect("meshsim starts");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        // The child may refuse the input before reading it all: a broken pipe is fine here.
        let _ = pipe.write_all(bytes);
    }
    let (status, peak_rss_kib) = loop {
        if let Some(ended) = reap(child.id()) {
            break ended;
        }
        if started.elapsed() > WALL_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{case}: still running after {WALL_LIMIT:?} (meshsim {shown})");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seconds = started.elapsed().as_secs_f64();
    let read =
        |name: &str| String::from_utf8_lossy(&std::fs::read(dir.join(name)).unwrap()).into_owned();
    let (stdout, stderr) = (read("stdout"), read("stderr"));
    let tail = |s: &str| {
        s.chars()
            .rev()
            .take(600)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
    };
    if let Some(signal) = status.signal() {
        panic!(
            "{case}: killed by signal {signal} (meshsim {shown}); stderr: {}",
            tail(&stderr)
        );
    }
    let code = status.code().expect("an exit code when there is no signal");
    assert!(
        (0..=3).contains(&code),
        "{case}: exit code {code} (meshsim {shown}); stderr: {}",
        tail(&stderr)
    );
    // A refusal or a limit explains itself on stderr; a finished run prints its report,
    // unless it wrote it with --out.
    let said = if code >= 2 { &stderr } else { &stdout };
    assert!(
        args.contains(&"--out") || !said.trim().is_empty(),
        "{case}: exit {code} with nothing said (meshsim {shown})"
    );
    assert!(
        stderr.len() < 64 * 1024,
        "{case}: a {} byte error message (meshsim {shown})",
        stderr.len()
    );
    println!(
        "{case}: exit {code} in {seconds:.2} s, peak RSS {:.1} MiB",
        peak_rss_kib as f64 / 1024.0
    );
    Ended {
        code,
        stdout,
        stderr,
        seconds,
    }
}

/// The exit status and peak resident memory (KiB) of child `pid` if it has ended: `wait4`
/// gives the rusage of that one child, so cases running in parallel do not mix.
fn reap(pid: u32) -> Option<(std::process::ExitStatus, i64)> {
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: plain syscall on our own child, with valid pointers.
    let got = unsafe { libc::wait4(pid as i32, &mut status, libc::WNOHANG, &mut usage) };
    assert!(got >= 0, "wait4: {}", std::io::Error::last_os_error());
    (got != 0).then(|| (std::process::ExitStatus::from_raw(status), usage.ru_maxrss))
}

/// At most 300 characters of `text`, for messages about cases with huge arguments.
fn shorten(text: &str) -> String {
    let n = text.chars().count();
    if n <= 300 {
        return text.to_string();
    }
    format!("{} ({n} characters)", reports::clip(text, 300))
}

/// A fresh directory holding `files`, for one case.
fn case_dir(case: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = scratch_dir(&format!("hostile-{case}"));
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    dir
}

/// [`scenario_case`] for a file under 64 KiB: these cases show that with the default limits
/// no such file makes a run exceed 1 GiB.
fn small_case(case: &str, text: &str, args: &[&str], codes: &[i32]) -> Ended {
    assert!(
        text.len() < 64 * 1024,
        "{case}: the file must stay under 64 KiB"
    );
    scenario_case(case, text, args, codes)
}

/// Runs one case whose scenario is `text` (written as `s.toml`), asserting the exit code is one
/// of `codes`, and returns what it printed.
fn scenario_case(case: &str, text: &str, args: &[&str], codes: &[i32]) -> Ended {
    let dir = case_dir(case, &[("s.toml", text.as_bytes())]);
    let ended = run_limited(case, &dir, args, None);
    assert!(
        codes.contains(&ended.code),
        "{case}: exit {} where {codes:?} was expected; stderr: {}",
        ended.code,
        shorten(&ended.stderr)
    );
    ended
}

const ONE_SERVICE: &str = r#"
[scenario]
name = "hostile"
duration = "10s"
[workload.w]
endpoint = "api/get"
rate = 100
[service.api]
replicas = 2
workers = 4
[service.api.endpoint.get]
work = "exp(1ms)"
"#;

// ---------------------------------------------------------------------------------------------
// A. Memory and time bounded by the run limits.

#[test]
fn a1_abandoned_work_is_bounded() {
    // Goal: a client that gives up after 1 ns at 1,000,000/s into one unbounded endpoint leaves
    // all its work queued (observed: 2.46 GiB, exit 0 with "in flight 0"); abandoned work counts
    // toward max_in_flight, so the run stops at the limit with exit 3.
    let text = r#"
[scenario]
name = "abandon"
duration = "60s"
[workload.flood]
endpoint = "api/get"
rate = 1000000
timeout = "1ns"
[service.api]
queue = "unbounded"
[service.api.endpoint.get]
work = "1ms"
"#;
    let ended = small_case("a1-timeout-1ns", text, &["run", "s.toml"], &[3]);
    assert!(ended.stderr.contains("max_in_flight"), "{}", ended.stderr);
}

#[test]
fn a1_redeliveries_are_bounded() {
    // Goal: a 1 ns visibility timeout redelivers every message at once and forever (observed:
    // abort at 2.8 GiB); message copies and redeliveries count toward the limits.
    let text = r#"
[scenario]
name = "redeliver"
duration = "30s"
[workload.w]
endpoint = "api/put"
rate = 2000
[service.api]
workers = 64
[service.api.endpoint.put]
work = "10us"
send = ["jobs"]
[broker.mq]
latency = "10us"
[queue.jobs]
broker = "mq"
consumer = "worker/do"
visibility = "1ns"
max_deliveries = 10000
[service.worker]
workers = 1
[service.worker.endpoint.do]
work = "5ms"
"#;
    small_case("a1-visibility-1ns", text, &["run", "s.toml"], &[0, 1, 3]);
}

#[test]
fn a1_long_retry_storm_is_bounded() {
    // Goal: the retry-storm lesson run 25x longer (observed: 466 MiB) ends within the limits.
    let text =
        std::fs::read_to_string(crate::support::root().join("scenarios/retry-storm.toml")).unwrap();
    small_case(
        "a1-retry-storm-3000s",
        &text,
        &["run", "s.toml", "--set", "scenario.duration=\"3000s\""],
        &[0, 1, 3],
    );
}

use crate::footprint::{breakers, many_endpoints, many_replicas};

#[test]
fn a2_breaker_windows_on_many_replicas_are_bounded() {
    // Goal: 100,000 caller replicas x 3 call sites x a 10,000-call breaker window (observed: a
    // 242-byte file took 2.8 GiB) run within 1 GiB or are refused before allocating (exit 3).
    let text = breakers();
    assert!(text.len() < 600);
    small_case("a2-breaker-windows", &text, &["run", "s.toml"], &[0, 3]);
}

#[test]
fn a2_four_thousand_endpoints_fit() {
    // Goal: 4,000 endpoints (observed: 2.0 GiB, histograms allocated twice) run within 1 GiB or
    // are refused with the estimate.
    let text = many_endpoints(4_000);
    scenario_case("a2-4000-endpoints", &text, &["run", "s.toml"], &[0, 3]);
}

#[test]
fn a2_ten_thousand_endpoints_fit() {
    // Goal: 10,000 endpoints (observed: abort) run within 1 GiB or are refused (exit 3).
    let text = many_endpoints(10_000);
    let ended = scenario_case("a2-10000-endpoints", &text, &["run", "s.toml"], &[0, 3]);
    if ended.code == 3 {
        assert!(ended.stderr.contains("max_memory"), "{}", ended.stderr);
    }
}

#[test]
fn a2_huge_fleet_is_refused_before_allocating() {
    // Goal: 220 services x 100,000 replicas (observed: 2.1 GiB) is refused with exit 3 naming
    // scenario.max_memory, or runs within 1 GiB.
    let text = many_replicas(220);
    let ended = small_case("a2-220x100000-replicas", &text, &["run", "s.toml"], &[0, 3]);
    if ended.code == 3 {
        assert!(ended.stderr.contains("max_memory"), "{}", ended.stderr);
    }
}

#[test]
fn a2_extreme_sizes_are_refused_or_bounded() {
    // Goal: the largest numbers each size key accepts never allocate past the limit.
    for (case, set) in [
        ("a2-replicas-max", "service.api.replicas=4294967295"),
        ("a2-workers-max", "service.api.workers=4294967295"),
        ("a2-queue-max", "service.api.queue=4294967295"),
        ("a2-replicas-times-workers", "service.api.workers=65536"),
        ("a2-duration-long", "scenario.duration=\"100000h\""),
        ("a2-warmup-drain-long", "scenario.drain=\"100000h\""),
    ] {
        let args = ["check", "s.toml", "--set", set];
        small_case(case, ONE_SERVICE, &args, &[0, 2]);
        let args = [
            "run",
            "s.toml",
            "--set",
            set,
            "--set",
            "scenario.max_events=2000000",
        ];
        small_case(case, ONE_SERVICE, &args, &[0, 1, 2, 3]);
    }
}

#[test]
fn a3_trace_of_a_retry_chain_is_bounded() {
    // Goal: `trace --failed` on a retry chain (observed: abort at 3.7 GiB where `run` took
    // 92 MiB) stays within the limits.
    let text = r#"
[scenario]
name = "retry-chain"
duration = "60s"
[workload.w]
endpoint = "a/x"
rate = 2000
timeout = "50ms"
retries = 5
[service.a]
workers = 64
[service.a.endpoint.x]
calls = [{ to = "b/y", timeout = "20ms", retries = 5 }]
[service.b]
workers = 64
[service.b.endpoint.y]
calls = [{ to = "c/z", timeout = "10ms", retries = 5 }]
[service.c]
workers = 2
[service.c.endpoint.z]
work = "exp(5ms)"
"#;
    for target in ["--failed", "--slowest"] {
        small_case("a3-trace", text, &["trace", "s.toml", target], &[0, 1, 3]);
    }
    small_case(
        "a3-trace-request",
        text,
        &["trace", "s.toml", "--request", "18446744073709551615"],
        &[0, 1, 2, 3],
    );
}

#[test]
fn a4_grids_are_capped_before_any_variant_is_built() {
    // Goal: the product of --vary ranges (observed: 1e8 variants built before anything ran,
    // then abort) is refused with exit 2 at once.
    let vary_a = "service.api.workers=1..10000:1";
    let vary_b = "service.api.replicas=1..10000:1";
    for command in ["compare", "sweep"] {
        let ended = small_case(
            "a4-grid",
            ONE_SERVICE,
            &[command, "s.toml", "--vary", vary_a, "--vary", vary_b],
            &[2],
        );
        assert!(
            ended.seconds < 30.0,
            "refused only after {:.1} s",
            ended.seconds
        );
    }
    small_case(
        "a4-seeds",
        ONE_SERVICE,
        &["compare", "s.toml", "--seeds", "18446744073709551615"],
        &[2],
    );
}

#[test]
fn a5_unbounded_input_is_refused() {
    // Goal: `check /dev/zero` (observed: reads until memory runs out) and a 100 MB file of
    // newlines (observed: abort) are refused with exit 2, without reading them whole.
    let dir = case_dir("a5-dev-zero", &[]);
    let ended = run_limited("a5-dev-zero", &dir, &["check", "/dev/zero"], None);
    assert_eq!(ended.code, 2, "{}", ended.stderr);
    let dir = case_dir("a5-newlines", &[]);
    let file = std::fs::File::create(dir.join("s.toml")).unwrap();
    file.set_len(0).unwrap();
    let mut w = std::io::BufWriter::new(file);
    let line = vec![b'\n'; 1 << 20];
    for _ in 0..100 {
        w.write_all(&line).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    for command in ["check", "run", "graph"] {
        let ended = run_limited("a5-newlines", &dir, &[command, "s.toml"], None);
        assert_eq!(ended.code, 2, "{}", ended.stderr);
    }
    let _ = std::fs::remove_file(dir.join("s.toml"));
    // The same through a pipe.
    let dir = case_dir("a5-stdin", &[]);
    let big = vec![b'#'; 40 << 20];
    let ended = run_limited("a5-stdin", &dir, &["check", "/dev/stdin"], Some(&big));
    assert_eq!(ended.code, 2, "{}", ended.stderr);
}

#[test]
fn a5_deeply_nested_toml_is_refused() {
    // Goal: TOML nesting deep enough to overflow a recursive parser gets a message, not a
    // stack overflow.
    let depth = 20_000;
    let arrays = format!("x = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    small_case("a5-nested-arrays", &arrays, &["check", "s.toml"], &[2]);
    let mut tables = String::from("x = ");
    for _ in 0..5_000 {
        tables.push_str("{ a = ");
    }
    tables.push('1');
    for _ in 0..5_000 {
        tables.push_str(" }");
    }
    small_case("a5-nested-tables", &tables, &["check", "s.toml"], &[2]);
    let dotted = format!("{} = 1\n", vec!["a"; 20_000].join("."));
    small_case("a5-dotted-key", &dotted, &["check", "s.toml"], &[2]);
}

#[test]
fn a6_hunt_expressions_and_seed_ranges_are_bounded() {
    // Goal: 15,000 nested parentheses or 30,000 `not` (observed: stack overflow, exit 134) and a
    // seed range of 2^64 (observed: the count wraps to 0 and the run never ends) are refused.
    let parens = format!(
        "{}workloads.w.failed > 0{}",
        "(".repeat(15_000),
        ")".repeat(15_000)
    );
    let nots = format!("{}workloads.w.failed > 0", "not ".repeat(30_000));
    for (case, until) in [("a6-parens", parens), ("a6-nots", nots)] {
        small_case(
            case,
            ONE_SERVICE,
            &["hunt", "s.toml", "--seeds", "1..2", "--until", &until],
            &[2],
        );
    }
    let ended = small_case(
        "a6-seed-range",
        ONE_SERVICE,
        &[
            "hunt",
            "s.toml",
            "--seeds",
            "0..18446744073709551615",
            "--until",
            "workloads.w.failed > 1000000",
        ],
        &[2, 3],
    );
    assert!(ended.seconds < 30.0, "took {:.1} s", ended.seconds);
}

#[test]
fn a7_per_event_cost_does_not_grow_with_replicas() {
    // Goal: 100,000 replicas behind health checks and least-outstanding (observed: ~0.67 ms per
    // event, past 60 s for 1 s of simulated time) finish well inside the wall-clock limit (the
    // fixed engine takes about a second; the scanning one took minutes).
    let text = r#"
[scenario]
name = "fleet"
duration = "10s"
[workload.w]
endpoint = "front/get"
rate = 20000
[service.front]
replicas = 10
workers = 64
[service.front.endpoint.get]
calls = [{ to = "back/get", timeout = "1s" }]
[service.back]
replicas = 100000
workers = 1
lb = "least-outstanding"
health_check = "100ms"
[service.back.endpoint.get]
work = "exp(1ms)"
"#;
    let ended = small_case("a7-least-outstanding", text, &["run", "s.toml"], &[0, 3]);
    assert!(ended.seconds < 30.0, "took {:.1} s", ended.seconds);
}

#[test]
fn a8_long_metric_paths_are_refused_quickly() {
    // Goal: an [[expect]] metric of 50,000 path segments (observed: 25 s, quadratic lookup) is
    // refused or judged at once.
    let metric = vec!["workloads"; 50_000].join(".");
    let text = format!("{ONE_SERVICE}\n[[expect]]\nmetric = \"{metric}\"\nbelow = 1\n");
    for command in ["check", "run"] {
        let ended = scenario_case("a8-metric-path", &text, &[command, "s.toml"], &[1, 2]);
        assert!(ended.seconds < 10.0, "took {:.1} s", ended.seconds);
    }
}

// ---------------------------------------------------------------------------------------------
// B. Files meshsim itself writes, edited by hand.

/// Two partial results of a small `compare` (shards 1/2 and 2/2) as JSON values.
fn partials() -> (PathBuf, serde_json::Value, serde_json::Value) {
    let dir = case_dir("b-source", &[("s.toml", ONE_SERVICE.as_bytes())]);
    for shard in ["1/2", "2/2"] {
        let ended = run_limited(
            "b-source",
            &dir,
            &[
                "compare",
                "s.toml",
                "--seeds",
                "3",
                "--shard",
                shard,
                "--out",
                &format!("parts{}", &shard[..1]),
            ],
            None,
        );
        assert_eq!(ended.code, 0, "{}", ended.stderr);
    }
    let load = |p: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(p)).unwrap()).unwrap()
    };
    let one = load("parts1/compare.part-1-of-2.json");
    let two = load("parts2/compare.part-2-of-2.json");
    (dir, one, two)
}

#[test]
fn b_hand_edited_partials_never_crash_merge() {
    // Goal: shard index 0, an index above the count, count 0, count 2^32-1, count 10^7, an empty
    // seed list, a missing metric, infinite cells and duplicate labels (observed: panics, a
    // 206 GB allocation, a 179 MB error line, wrong means) are refused with exit 2 naming the file.
    let (_, one, two) = partials();
    type Edit = fn(&mut serde_json::Value);
    let edits: Vec<(&str, Edit)> = vec![
        ("b-index-0", |p| p["shard"]["index"] = 0.into()),
        ("b-index-above-count", |p| p["shard"]["index"] = 7.into()),
        ("b-count-0", |p| p["shard"]["count"] = 0.into()),
        ("b-count-u32-max", |p| {
            p["shard"]["count"] = 4_294_967_295u64.into()
        }),
        ("b-count-1e7", |p| p["shard"]["count"] = 10_000_000.into()),
        ("b-no-seeds", |p| p["plan"]["seeds"] = serde_json::json!([])),
        ("b-missing-metric", |p| {
            let metrics = p["jobs"][0]["metrics"].as_object_mut().unwrap();
            let key = metrics.keys().next().unwrap().clone();
            metrics.remove(&key);
        }),
        ("b-infinite-cell", |p| {
            let metrics = p["jobs"][0]["metrics"].as_object_mut().unwrap();
            let key = metrics.keys().next().unwrap().clone();
            metrics.insert(key, serde_json::json!(1e308));
            p["jobs"][0]["metrics"]["workloads.w.latency_ms.p99"] = serde_json::json!(-1e308);
        }),
        ("b-duplicate-label", |p| {
            let variants = p["plan"]["variants"].as_array_mut().unwrap();
            let first = variants[0].clone();
            variants.push(first);
        }),
        ("b-no-jobs", |p| p["jobs"] = serde_json::json!([])),
        ("b-wrong-types", |p| p["shard"] = serde_json::json!("1/2")),
    ];
    for (case, edit) in edits {
        let mut damaged = one.clone();
        edit(&mut damaged);
        let dir = case_dir(
            case,
            &[
                (
                    "a.json",
                    serde_json::to_string(&damaged).unwrap().as_bytes(),
                ),
                ("b.json", serde_json::to_string(&two).unwrap().as_bytes()),
            ],
        );
        for args in [
            &["merge", "a.json", "b.json"][..],
            &["merge", "a.json"],
            &["merge", "a.json", "b.json", "--json"],
        ] {
            let ended = run_limited(case, &dir, args, None);
            assert_eq!(
                ended.code, 2,
                "{case}: {args:?} exit {}; stdout: {}",
                ended.code, ended.stdout
            );
            assert!(
                ended.stderr.contains("a.json"),
                "{case}: the file is not named: {}",
                ended.stderr
            );
        }
    }
}

#[test]
fn b_garbage_partials_are_refused() {
    // Goal: files that are not partials at all — empty, binary, deeply nested, huge — get exit 2.
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for (case, bytes) in [
        ("b-empty", Vec::new()),
        ("b-binary", (0..=255u8).cycle().take(4096).collect()),
        ("b-nested", nested.into_bytes()),
        ("b-scalar", b"42".to_vec()),
    ] {
        let dir = case_dir(case, &[("a.json", &bytes)]);
        let ended = run_limited(case, &dir, &["merge", "a.json"], None);
        assert_eq!(ended.code, 2, "{case}: {}", ended.stderr);
    }
    let dir = case_dir("b-dev-zero", &[]);
    let ended = run_limited("b-dev-zero", &dir, &["merge", "/dev/zero"], None);
    assert_eq!(ended.code, 2, "{}", ended.stderr);
}

// ---------------------------------------------------------------------------------------------
// D. Files written where they should not be, or partly.

#[test]
fn d_out_never_writes_through_a_symlink() {
    // Goal: `--out DIR` where DIR/report.json is a symlink to a file outside DIR (observed: the
    // outside file was overwritten) leaves the outside file as it was.
    let dir = case_dir(
        "d-symlink",
        &[("s.toml", ONE_SERVICE.as_bytes()), ("precious", b"keep me")],
    );
    std::fs::create_dir(dir.join("out")).unwrap();
    std::os::unix::fs::symlink(dir.join("precious"), dir.join("out/report.json")).unwrap();
    let ended = run_limited("d-symlink", &dir, &["run", "s.toml", "--out", "out"], None);
    assert!(matches!(ended.code, 0 | 2), "{}", ended.stderr);
    assert_eq!(std::fs::read(dir.join("precious")).unwrap(), b"keep me");
    // The target itself a symlink to a directory elsewhere.
    std::fs::create_dir(dir.join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join("linked")).unwrap();
    let ended = run_limited(
        "d-symlink-dir",
        &dir,
        &["run", "s.toml", "--out", "linked"],
        None,
    );
    assert!(matches!(ended.code, 0 | 2), "{}", ended.stderr);
    assert_eq!(
        std::fs::read_dir(dir.join("elsewhere")).unwrap().count(),
        0,
        "wrote through the link"
    );
}

#[test]
fn d_out_in_impossible_places_is_refused_before_the_run() {
    // Goal: an --out that cannot be written — a file where the directory should be, a path
    // inside /proc — exits 2 before the run and leaves nothing behind.
    let dir = case_dir(
        "d-file-as-dir",
        &[("s.toml", ONE_SERVICE.as_bytes()), ("out", b"a file")],
    );
    let ended = run_limited(
        "d-file-as-dir",
        &dir,
        &["run", "s.toml", "--out", "out"],
        None,
    );
    assert_eq!(ended.code, 2, "{}", ended.stderr);
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), b"a file");
    let ended = run_limited(
        "d-proc",
        &dir,
        &["run", "s.toml", "--out", "/proc/meshsim-out"],
        None,
    );
    assert_eq!(ended.code, 2, "{}", ended.stderr);
    let ended = run_limited(
        "d-compare-proc",
        &dir,
        &["compare", "s.toml", "--seeds", "2", "--out", "/proc/x"],
        None,
    );
    assert_eq!(ended.code, 2, "{}", ended.stderr);
}

#[test]
fn d_shrink_never_writes_beside_a_non_regular_input() {
    // Goal: `hunt /dev/stdin --shrink` (observed: created /dev/stdin-shrunk-seed5.toml) writes
    // only into --out or the current directory.
    let dir = case_dir("d-shrink-stdin", &[]);
    let ended = run_limited(
        "d-shrink-stdin",
        &dir,
        &[
            "hunt",
            "/dev/stdin",
            "--seeds",
            "1..3",
            "--until",
            "workloads.w.sent > 0",
            "--shrink",
        ],
        Some(ONE_SERVICE.as_bytes()),
    );
    assert!(matches!(ended.code, 0..=2), "{}", ended.stderr);
    let stray: Vec<_> = std::fs::read_dir("/dev")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("stdin-shrunk"))
        .collect();
    assert!(stray.is_empty(), "wrote into /dev: {stray:?}");
    let here: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert!(
        ended.code != 0
            || here
                .iter()
                .any(|e| e.file_name().to_string_lossy().contains("shrunk")),
        "a shrink that succeeded wrote no file in the current directory"
    );
}

#[test]
fn d_closed_stdout_is_an_error() {
    // Goal: `run` and `check` with stdout closed (observed: exit 0, no report, no message) exit
    // 2 and say why on stderr.
    let dir = case_dir("d-closed-stdout", &[("s.toml", ONE_SERVICE.as_bytes())]);
    for command in ["run", "check"] {
        let out = Command::new("sh")
            .current_dir(&dir)
            .arg("-c")
            .arg(format!("exec \"$0\" {command} s.toml >&-"))
            .arg(env!("CARGO_BIN_EXE_meshsim"))
            .output()
            .expect("sh runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty(), "{command}: no message");
    }
}

// ---------------------------------------------------------------------------------------------
// Flags and numbers at their extremes.

#[test]
fn extreme_numbers_and_flags_get_an_answer() {
    // Goal: the largest and strangest numbers a user can type are refused or run within the
    // limits: never a panic or an overflow.
    let cases: &[(&str, &[&str])] = &[
        (
            "x-seed-overflow",
            &["run", "s.toml", "--seed", "99999999999999999999"],
        ),
        (
            "x-seed-max",
            &["run", "s.toml", "--seed", "18446744073709551615"],
        ),
        (
            "x-rate-huge",
            &["run", "s.toml", "--set", "workload.w.rate=1e308"],
        ),
        (
            "x-rate-inf",
            &["run", "s.toml", "--set", "workload.w.rate=inf"],
        ),
        (
            "x-rate-nan",
            &["run", "s.toml", "--set", "workload.w.rate=nan"],
        ),
        (
            "x-duration-overflow",
            &["run", "s.toml", "--set", "scenario.duration=\"1e30s\""],
        ),
        (
            "x-duration-ns-max",
            &[
                "run",
                "s.toml",
                "--set",
                "scenario.duration=\"18446744073709551615ns\"",
            ],
        ),
        (
            "x-work-huge",
            &[
                "run",
                "s.toml",
                "--set",
                "service.api.endpoint.get.work=\"exp(1e20s)\"",
            ],
        ),
        (
            "x-pareto-heavy",
            &[
                "run",
                "s.toml",
                "--set",
                "service.api.endpoint.get.work=\"pareto(1ms, 0.01)\"",
            ],
        ),
        (
            "x-set-deep-path",
            &["run", "s.toml", "--set", &"a.".repeat(10_000)],
        ),
        (
            "x-max-events-1",
            &["run", "s.toml", "--set", "scenario.max_events=1"],
        ),
        (
            "x-max-in-flight-1",
            &["run", "s.toml", "--set", "scenario.max_in_flight=1"],
        ),
        (
            "x-sweep-tiny-step",
            &[
                "sweep",
                "s.toml",
                "--vary",
                "workload.w.rate=1..2:0.0000001",
            ],
        ),
        (
            "x-jobs-huge",
            &["compare", "s.toml", "--seeds", "2", "--jobs", "100000"],
        ),
        (
            "x-shard-zero",
            &["compare", "s.toml", "--seeds", "2", "--shard", "0/0"],
        ),
    ];
    for (case, args) in cases {
        let args: Vec<&str> = args.to_vec();
        let set_max_events = ["--set", "scenario.max_events=3000000"];
        let mut all = args.clone();
        if args[0] == "run" && !args.iter().any(|a| a.contains("max_events")) {
            all.extend(set_max_events);
        }
        small_case(case, ONE_SERVICE, &all, &[0, 1, 2, 3]);
    }
}

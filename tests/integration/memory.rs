//! Memory follows work in flight, not work done: latencies stream into histograms and fixed
//! time buckets, and finished requests free their slots.

use crate::support::meshsim;

/// Peak RSS in KiB of `meshsim run scenarios/mm1.toml` with the given duration.
fn peak_rss_kib(duration_s: u64) -> u64 {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshsim"))
        .current_dir(crate::support::root())
        .env("MESHSIM_REPORT_PEAK_RSS", "1")
        .args([
            "run",
            "scenarios/mm1.toml",
            "--json",
            "--set",
            &format!("scenario.duration=\"{duration_s}s\""),
        ])
        .output()
        .expect("meshsim runs");
    // Exit 1 is fine here: a shorter run may miss the lesson's tolerances; the run finished.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak_rss_kib in stderr: {stderr}"))
}

#[test]
#[cfg(target_os = "linux")]
fn twenty_times_more_requests_grow_peak_rss_less_than_30_percent() {
    // Goal: the same M/M/1 system run for 20x longer simulates 20x more requests (about
    // 19,000 vs 380,000 after warmup) at the same work in flight; peak RSS grows by less
    // than 1.3x.
    let _ = meshsim(&["check", "scenarios/mm1.toml"]);
    let small = peak_rss_kib(50);
    let large = peak_rss_kib(1_000);
    let ratio = large as f64 / small as f64;
    println!("peak RSS: {small} KiB for 50 s, {large} KiB for 1000 s: ratio {ratio:.3}");
    assert!(
        ratio < 1.3,
        "peak RSS grew {ratio:.2}x for 20x the requests ({small} -> {large} KiB)"
    );
}

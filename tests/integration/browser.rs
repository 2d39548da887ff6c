//! `report.html` in a real browser: headless Chromium (Debian's `chromium` package, which
//! `.ci/run` installs when it is missing) loads the page of a run with six plots and of a
//! sweep. Skipped, saying why, only where no Chromium can be found; `MESHSIM_CHROMIUM=PATH`
//! names another binary.
//!
//! Two checks, each of which a broken page fails:
//! - the page as written loads with nothing on the browser's console: Chromium logs every
//!   console message — a script error, and a refused load under the page's
//!   Content-Security-Policy, such as an image from the network — as a `:CONSOLE` line on
//!   stderr with `--enable-logging=stderr`; and its screenshot (1280 × 4000) is saved under
//!   the target dir, for a person to look at;
//! - a copy of the page with a probe script appended (the one change: the policy also allows
//!   that inline script) measures every `<svg>` as laid out and writes the figures into the
//!   DOM, which `--dump-dom` prints: every plot must be displayed, visible, with a non-zero
//!   size, the aspect ratio of its file, and within the page's width.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::html::{lesson_out, svg_files, sweep_out};
use crate::support::scratch_dir;

/// Longest one browser run may take before the test fails (it takes about a second).
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);
/// How often a running browser is checked on.
const POLL: Duration = Duration::from_millis(50);

/// The page's policy, and the same with the probe script allowed.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";
const PROBE_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

/// Measures every inline SVG after layout and writes one line per SVG into the DOM:
/// `display visibility width height attrWidth attrHeight right pageWidth`.
const PROBE: &str = r#"<script>
(function () {
  var lines = [];
  var page = document.documentElement.clientWidth;
  document.querySelectorAll("svg").forEach(function (svg) {
    var r = svg.getBoundingClientRect();
    var s = getComputedStyle(svg);
    lines.push([s.display, s.visibility, r.width.toFixed(1), r.height.toFixed(1),
      svg.getAttribute("width"), svg.getAttribute("height"), r.right.toFixed(1), page].join(" "));
  });
  var pre = document.createElement("pre");
  pre.id = "meshsim-probe";
  pre.textContent = "PROBE-BEGIN\n" + lines.join("\n") + "\nPROBE-END";
  document.body.appendChild(pre);
})();
</script>
"#;

/// The Chromium to use: `MESHSIM_CHROMIUM`, or Debian's, or one on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MESHSIM_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let names = ["chromium", "chromium-browser"];
    std::iter::once(PathBuf::from("/usr/bin/chromium"))
        .chain(
            on_path
                .iter()
                .flat_map(|d| names.iter().map(move |n| d.join(n))),
        )
        .find(|p| p.is_file())
}

/// Runs Chromium headless on `page` with `flags`, its own profile in `dir`, output to files
/// (a pipe would fill and block it), killed past [`BROWSER_TIMEOUT`]; gives (stdout, stderr).
fn browse(chromium: &Path, dir: &Path, page: &Path, flags: &[&str]) -> (String, String) {
    let (out_path, err_path) = (dir.join("chromium.out"), dir.join("chromium.err"));
    let profile = dir.join("profile");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(flags)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("chromium starts");
    // Polled: the wall clock is off limits in this workspace, and a count of short sleeps
    // bounds the wait as well.
    let mut polls = BROWSER_TIMEOUT.as_millis() / POLL.as_millis();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if polls == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium took more than {BROWSER_TIMEOUT:?} on {}",
                page.display()
            );
        }
        polls -= 1;
        std::thread::sleep(POLL);
    };
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed on {}: {stderr}",
        page.display()
    );
    (stdout, stderr)
}

/// Loads `page` as written: no console line at all, and a screenshot in `dir`.
fn check_loads_cleanly(chromium: &Path, dir: &Path, page: &Path) -> PathBuf {
    let shot = dir.join("screenshot.png");
    let (_, stderr) = browse(
        chromium,
        dir,
        page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,4000",
        ],
    );
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "{}: the browser's console is not empty:\n{}",
        page.display(),
        console.join("\n")
    );
    let png = fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "an empty screenshot"
    );
    shot
}

/// Loads a probed copy of `page`: every one of its `plots` SVGs is laid out visibly.
fn check_plots_visible(chromium: &Path, dir: &Path, page: &Path, plots: usize) {
    let html = fs::read_to_string(page).unwrap();
    assert!(
        html.contains(POLICY),
        "the page's policy changed: update the probe"
    );
    let probed =
        html.replacen(POLICY, PROBE_POLICY, 1)
            .replacen("</body>", &format!("{PROBE}</body>"), 1);
    let copy = dir.join("probed.html");
    fs::write(&copy, probed).unwrap();
    let (dom, stderr) = browse(chromium, dir, &copy, &["--dump-dom"]);
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "the probe failed:\n{}",
        console.join("\n")
    );
    let probe = dom
        .split("PROBE-BEGIN\n")
        .nth(1)
        .and_then(|s| s.split("\nPROBE-END").next())
        .unwrap_or_else(|| panic!("no probe output in the DOM:\n{stderr}"));
    let lines: Vec<&str> = probe.lines().collect();
    assert_eq!(lines.len(), plots, "one laid-out <svg> per plot:\n{probe}");
    for line in lines {
        let f: Vec<&str> = line.split(' ').collect();
        let num = |i: usize| f[i].parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
        assert_eq!((f[0], f[1]), ("block", "visible"), "{line}");
        let (width, height, right, page_width) = (num(2), num(3), num(6), num(7));
        assert!(
            width >= 400.0 && height >= 100.0,
            "a plot too small to see: {line}"
        );
        let aspect = num(4) / num(5);
        assert!(
            (width / height - aspect).abs() < 0.02 * aspect,
            "a plot is stretched: {line}"
        );
        assert!(
            right <= page_width + 0.5,
            "a plot runs off the page: {line}"
        );
    }
}

#[test]
fn report_html_renders_in_a_headless_browser() {
    // Goal: the pages of a run (six plots: flows and a broker) and of a sweep load in
    // Chromium with an empty console, and every plot is displayed at its proportions within
    // the page; the run page's screenshot is kept for a person to look at.
    let Some(chromium) = chromium() else {
        eprintln!(
            "skipped report_html_renders_in_a_headless_browser: no Chromium found \
             (/usr/bin/chromium, chromium on PATH, or MESHSIM_CHROMIUM); \
             install it with `apt-get install chromium`"
        );
        return;
    };
    let run = lesson_out("browser-run", "scenarios/checkout-flow.toml", "7");
    let plots = svg_files(&run).len();
    assert_eq!(plots, 6);
    let page = run.join("report.html");
    let dir = scratch_dir("browser-run-chromium");
    let shot = check_loads_cleanly(&chromium, &dir, &page);
    check_plots_visible(&chromium, &dir, &page, plots);
    eprintln!("report.html screenshot: {}", shot.display());

    let dir = sweep_out("browser-sweep");
    let page = dir.join("s/report.html");
    check_loads_cleanly(&chromium, &dir, &page);
    check_plots_visible(&chromium, &dir, &page, 1);
}

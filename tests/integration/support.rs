//! Shared helpers: parse scenario text, run it, call the built `meshsim` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sim_core::{Model, RunResults, SideFiles, parse_scenario_with};

/// Reads the files a scenario names (`rate_file`) from `scenarios/`, where the lessons keep
/// theirs, so a lesson's text parses here as it does from its file.
pub struct LessonFiles;

impl SideFiles for LessonFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(root().join("scenarios").join(path))
            .map_err(|e| format!("scenarios/{path}: {e}"))
    }
}

/// Parses scenario text (side files from `scenarios/`), failing the test with every
/// diagnostic if it is invalid.
pub fn model(text: &str) -> Model {
    parse_scenario_with("test.toml", text, &[], &LessonFiles)
        .unwrap_or_else(|d| panic!("invalid test scenario:\n{d}"))
}

/// Parses and runs scenario text with `seed`.
pub fn run(text: &str, seed: u64) -> RunResults {
    sim_core::run(&model(text), seed).unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// The workspace root (where `scenarios/` lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scenario file in `scenarios/`, sorted.
pub fn scenario_files() -> Vec<PathBuf> {
    files_in("scenarios", "toml")
}

/// The project's Markdown docs, whose examples and links are checked: README.md, then
/// docs/*.md sorted.
pub fn doc_files() -> Vec<PathBuf> {
    std::iter::once(root().join("README.md"))
        .chain(files_in("docs", "md"))
        .collect()
}

/// Every file of the workspace directory `dir` whose name ends in `.ext`, sorted.
pub fn files_in(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}/: {e}"))
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// Runs the `meshsim` binary in `dir` with `args`.
pub fn meshsim_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meshsim"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("meshsim runs")
}

/// Runs the `meshsim` binary in the workspace root.
pub fn meshsim(args: &[&str]) -> Output {
    meshsim_in(&root(), args)
}

/// A fresh empty directory under the target dir, for tests that check what gets written.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The names of the entries in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Relative difference |got - want| / want.
pub fn rel(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs()
}

/// Limits `cmd`'s address space to `bytes` (RLIMIT_AS) and turns off core dumps: an
/// allocation past the limit fails and Rust aborts — a signal, never a silent success.
pub fn limit_address_space(cmd: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only setrlimit, which is async-signal-safe, runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            Ok(())
        });
    }
}

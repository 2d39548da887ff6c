//! sim-core's integration tests, one module per concern.

mod admission;
mod autoscale;
mod bad_input;
mod balancer;
mod faults;
mod flows;
mod growth;
mod histograms;
mod load;
mod messaging;
mod mutation;
mod numbers;
mod overrides;
mod parse;
mod rate_file;
mod resilience;
mod routing;
mod sidecar;
mod versions;

use std::path::PathBuf;

/// The workspace root (parent of `sim-core/`), where `tests/bad/` and `scenarios/` live.
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Every `*.toml` file in `dir` (relative to the workspace root), sorted by name.
pub fn toml_files(dir: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(workspace_root().join(dir)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Reads the files a scenario names (`rate_file`) from `scenarios/`, where the lessons keep
/// theirs, so a lesson's text parses here as it does from its file.
pub struct LessonFiles;

impl sim_core::SideFiles for LessonFiles {
    fn read(&self, path: &str) -> Result<String, String> {
        // Bounded: mutants may name any path (a device would otherwise never end).
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(workspace_root().join("scenarios").join(path))
            .and_then(|f| f.take(1 << 24).read_to_string(&mut text))
            .map_err(|e| format!("scenarios/{path}: {e}"))?;
        Ok(text)
    }
}

/// The model of scenario `text` with `--set` overrides `sets`; panics with the diagnostics.
pub fn model_with(text: &str, sets: &[&str]) -> sim_core::Model {
    let overrides: Vec<sim_core::Override> = sets
        .iter()
        .map(|s| sim_core::Override::parse(s).expect("PATH=VALUE"))
        .collect();
    match sim_core::parse_scenario("test.toml", text, &overrides) {
        Ok(m) => m,
        Err(d) => panic!("should parse:\n{d}"),
    }
}

//! Every file meshsim reads comes through [`read_text`], with a size cap for its kind: a
//! scenario, a partial result of `--shard` (and any input added later, e.g. a rate file,
//! gets its own [`Input`] here). The cap is enforced while reading — at most one byte past it
//! is ever read — so `/dev/zero`, a FIFO or a 100 GB file is refused with its name, its size
//! and the cap instead of filling memory.

use std::cell::Cell;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sim_core::SideFiles;

use crate::commands::io_reason;

/// A kind of input file: what it is called in messages and the most bytes it may have.
#[derive(Clone, Copy, Debug)]
pub struct Input {
    /// `a scenario file`, for "… may have at most …".
    pub what: &'static str,
    /// What its text is, for the UTF-8 message.
    pub format: &'static str,
    pub max_bytes: u64,
}

const MIB: u64 = 1024 * 1024;

/// Scenario files: the largest lesson is a few KiB; 16 MiB is far beyond any hand-written
/// model and small next to `scenario.max_memory`.
pub const SCENARIO: Input = Input {
    what: "a scenario file",
    format: "scenario files are UTF-8 TOML",
    max_bytes: 16 * MIB,
};

/// Partial results of `compare`/`sweep --shard`: about 360 bytes a run, so 64 MiB holds some
/// 180,000 runs; a bigger grid is split into more shards.
pub const PARTIAL: Input = Input {
    what: "a partial result",
    format: "partial results are UTF-8 JSON",
    max_bytes: 64 * MIB,
};

/// Rate files (`rate_file`): CSV of `time_s,rate`; a day at one row a second is about
/// 1.5 MiB, and a schedule has at most 100,000 points anyway.
pub const RATE_FILE: Input = Input {
    what: "a rate file",
    format: "rate files are UTF-8 CSV of time_s,rate",
    max_bytes: 16 * MIB,
};

/// Scenario files one command (`compare a.toml b.toml …`) may read together.
pub const SCENARIOS_TOTAL_BYTES: u64 = 64 * MIB;

/// Partial results one `merge` may read together: a million runs (the run cap) take about
/// 360 MiB.
pub const PARTIALS_TOTAL_BYTES: u64 = 512 * MIB;

/// Reads the files a scenario names (`rate_file`) relative to the scenario's directory, each
/// through [`read_text`] with its own cap.
pub struct ScenarioDir {
    dir: PathBuf,
}

impl ScenarioDir {
    /// The reader for the scenario at `scenario` (a bare file name: the current directory).
    pub fn of(scenario: &Path) -> ScenarioDir {
        let dir = scenario.parent().map(Path::to_path_buf).unwrap_or_default();
        ScenarioDir { dir }
    }
}

impl SideFiles for ScenarioDir {
    fn read(&self, path: &str) -> Result<String, String> {
        read_text(&self.dir.join(path), RATE_FILE)
    }
}

/// Reads `path` as UTF-8 text of kind `input`; the error is one line naming the file and the
/// reason (unreadable, over the cap with its size, or not UTF-8 with the offset).
pub fn read_text(path: &Path, input: Input) -> Result<String, String> {
    read_within(path, input, input.max_bytes, &|name, size| {
        too_big(name, size, input)
    })
}

/// Files of one kind read by one command, together at most `total_bytes` (each also within
/// its own cap), read one at a time so a caller can drop each text once parsed.
pub struct Budget {
    input: Input,
    total_bytes: u64,
    left: u64,
    /// A file passed the total: nothing more is read.
    spent: bool,
}

impl Budget {
    pub fn new(input: Input, total_bytes: u64) -> Budget {
        Budget {
            input,
            total_bytes,
            left: total_bytes,
            spent: false,
        }
    }

    /// Whether a file passed the total (then the caller stops reading).
    pub fn spent(&self) -> bool {
        self.spent
    }

    /// Reads `path` within its own cap and what is left of the total.
    pub fn read(&mut self, path: &Path) -> Result<String, String> {
        if self.left >= self.input.max_bytes {
            let text = read_text(path, self.input)?;
            self.left -= text.len() as u64;
            return Ok(text);
        }
        let (total, before) = (self.total_bytes, self.total_bytes - self.left);
        let passed = Cell::new(false);
        let past_total = |name: &str, size: &str| {
            passed.set(true);
            format!(
                "{name}: {size} after the {before} bytes of the files before it; the files of \
                 one command may hold at most {total} bytes together{}, see \"Limits\" in \
                 docs/cli.md",
                in_mib(total)
            )
        };
        let read = read_within(path, self.input, self.left, &past_total);
        self.spent = passed.get();
        let text = read?;
        self.left -= text.len() as u64;
        Ok(text)
    }
}

/// Reads every file of kind `input` within one [`Budget`] of `total_bytes`. Every file that
/// cannot be read is reported at once; reading stops at the first that passes the total.
pub fn read_all(
    paths: &[PathBuf],
    input: Input,
    total_bytes: u64,
) -> Result<Vec<String>, Vec<String>> {
    let mut budget = Budget::new(input, total_bytes);
    let mut texts = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match budget.read(path) {
            Ok(text) => texts.push(text),
            Err(line) => problems.push(line),
        }
        if budget.spent() {
            break;
        }
    }
    if problems.is_empty() {
        Ok(texts)
    } else {
        Err(problems)
    }
}

/// Reads `path` as UTF-8, refused with `too_big(name, size)` past `cap` bytes; never reads
/// more than one byte past the cap.
fn read_within(
    path: &Path,
    input: Input,
    cap: u64,
    too_big: &dyn Fn(&str, &str) -> String,
) -> Result<String, String> {
    let name = path.display().to_string();
    let cannot = |e: std::io::Error| format!("{name}: cannot read the file: {}", io_reason(&e));
    let file = File::open(path).map_err(cannot)?;
    // The size a regular file says it has; devices and pipes say 0 and are measured by reading.
    let stated = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(size) = stated.filter(|&s| s > cap) {
        return Err(too_big(&name, &format!("{size} bytes")));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(too_big(&name, &format!("more than {cap} bytes")));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!(
            "{name}: not a UTF-8 text file (invalid byte at offset {at}); {}",
            input.format
        )
    })
}

fn too_big(name: &str, size: &str, input: Input) -> String {
    let cap = input.max_bytes;
    format!(
        "{name}: {size}; {} may have at most {cap} bytes{}, see \"Limits\" in docs/cli.md",
        input.what,
        in_mib(cap)
    )
}

/// ` (16 MiB)` for a whole number of MiB, else nothing.
fn in_mib(bytes: u64) -> String {
    if bytes >= MIB && bytes % MIB == 0 {
        format!(" ({} MiB)", bytes / MIB)
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory for one test, and an input kind of 8 bytes.
    fn scratch(name: &str) -> (PathBuf, Input) {
        let dir = std::env::temp_dir().join(format!("meshsim-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let small = Input {
            what: "a test file",
            format: "test files are text",
            max_bytes: 8,
        };
        (dir, small)
    }

    // Goal: a file at the cap is read whole; one byte more is refused with the size and the
    // cap; an endless device is refused after reading just past the cap.
    #[test]
    fn the_cap_is_exact_and_devices_are_measured_by_reading() {
        let (dir, small) = scratch("input");
        let at_cap = dir.join("at-cap");
        std::fs::write(&at_cap, "12345678").unwrap();
        assert_eq!(read_text(&at_cap, small).unwrap(), "12345678");
        let over = dir.join("over");
        std::fs::write(&over, "123456789").unwrap();
        let err = read_text(&over, small).unwrap_err();
        assert!(
            err.ends_with(
                "over: 9 bytes; a test file may have at most 8 bytes, see \"Limits\" in docs/cli.md"
            ),
            "{err}"
        );
        let err = read_text(Path::new("/dev/zero"), small).unwrap_err();
        assert!(err.contains("/dev/zero: more than 8 bytes"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // Goal: files read together share one budget: the file that passes it is refused with
    // what came before it, and nothing after it is read.
    #[test]
    fn files_read_together_share_one_budget() {
        let (dir, each) = scratch("input-all");
        let paths: Vec<PathBuf> = ["a", "b", "c"].iter().map(|n| dir.join(n)).collect();
        for p in &paths {
            std::fs::write(p, "123456").unwrap();
        }
        assert_eq!(read_all(&paths, each, 18).unwrap().len(), 3);
        let err = read_all(&paths, each, 10).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(err[0].contains("b: 6 bytes after the 6 bytes of the files before it; the files of one command may hold at most 10 bytes together, see"), "{err:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

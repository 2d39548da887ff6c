//! Every file meshsim reads comes through [`read_text`], with a size cap for its kind: a
//! scenario, a partial result of `--shard` (and any input added later, e.g. a rate file,
//! gets its own [`Input`] here). The cap is enforced while reading — at most one byte past it
//! is ever read — so `/dev/zero`, a FIFO or a 100 GB file is refused with its name, its size
//! and the cap instead of filling memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

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

/// Partial results of `compare`/`sweep --shard`: about 400 bytes a run, so 64 MiB holds some
/// 150,000 runs; a bigger grid is split into more shards.
pub const PARTIAL: Input = Input {
    what: "a partial result",
    format: "partial results are UTF-8 JSON",
    max_bytes: 64 * MIB,
};

/// Reads `path` as UTF-8 text of kind `input`; the error is one line naming the file and the
/// reason (unreadable, over the cap with its size, or not UTF-8 with the offset).
pub fn read_text(path: &Path, input: Input) -> Result<String, String> {
    let name = path.display().to_string();
    let cannot = |e: std::io::Error| format!("{name}: cannot read the file: {}", io_reason(&e));
    let file = File::open(path).map_err(cannot)?;
    // The size a regular file says it has; devices and pipes say 0 and are measured by reading.
    let stated = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let cap = input.max_bytes;
    if let Some(size) = stated.filter(|&s| s > cap) {
        return Err(too_big(&name, &format!("{size} bytes"), input));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > cap {
        return Err(too_big(&name, &format!("more than {cap} bytes"), input));
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
    let mib = if cap >= MIB && cap % MIB == 0 {
        format!(" ({} MiB)", cap / MIB)
    } else {
        String::new()
    };
    format!(
        "{name}: {size}; {} may have at most {cap} bytes{mib}, see \"Limits\" in docs/cli.md",
        input.what
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Goal: a file at the cap is read whole; one byte more is refused with the size and the
    // cap; an endless device is refused after reading just past the cap.
    #[test]
    fn the_cap_is_exact_and_devices_are_measured_by_reading() {
        let dir = std::env::temp_dir().join(format!("meshsim-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let small = Input {
            what: "a test file",
            format: "test files are text",
            max_bytes: 8,
        };
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
}

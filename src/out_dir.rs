//! `--out DIR` of run, compare, sweep and merge: all or nothing. The files go into a fresh
//! staging directory beside DIR, made before the run (so an unwritable place is refused before
//! any work), and the staging directory is renamed onto DIR once every file is in it. A
//! failure at any point removes it and leaves DIR as it was.
//!
//! DIR may be missing, empty, or an earlier meshsim output — recognised by the marker file
//! listing the files that output wrote, and holding nothing else — which is replaced whole,
//! so no file of an earlier run (`messages.csv` of a run with a broker) stays next to a new
//! report. Anything else is refused (exit 2): a symlink, a file, a mount point, a directory
//! holding a file meshsim did not write or a symlink.

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::commands::{Failure, io_reason, output_error, print};
use crate::staging::{
    Staging, final_name, new_file, parent_of, refuse, refuse_symlink, sibling_name,
};

/// The marker file in every `--out` directory: its first line, then one file name a line.
pub(crate) const MARKER: &str = ".meshsim-output";
const MARKER_HEADER: &str = "meshsim output: the next `meshsim … --out` into this directory \
                             replaces it whole; the files it wrote:";
/// Largest marker read (it lists a few dozen names).
const MAX_MARKER_BYTES: u64 = 64 * 1024;

/// Output files by name, rendered in memory, in the order they are listed in the marker.
pub(crate) type Files = Vec<(String, Vec<u8>)>;

/// A command's output on stdout and, with `--out`, its files. Each output is rendered once:
/// with `--out`, stdout is the copy of the file `STEM.json` (with `--json`) or `STEM.txt`
/// (so `report.json` is the bytes of `run --json`, `compare.txt` those of `compare`: the one
/// place that names the printed file); without, only what is printed is rendered (`alone`).
/// The files are staged first, stdout written, and only then the files put in place: a
/// failure at any step writes nothing.
pub(crate) fn emit(
    out: Option<OutDir>,
    stem: &str,
    json: bool,
    files: impl FnOnce() -> std::io::Result<Files>,
    alone: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let printed = format!("{stem}.{}", if json { "json" } else { "txt" });
    let in_memory = |e: std::io::Error| output_error("<memory>", &e);
    let stdout = match &out {
        Some(dir) => {
            let files = files().map_err(in_memory)?;
            dir.stage(&files)?;
            let file = files.into_iter().find(|(name, _)| *name == printed);
            file.unwrap_or_else(|| panic!("the output files include {printed}"))
                .1
        }
        None => {
            let mut bytes = Vec::new();
            alone(&mut bytes).map_err(in_memory)?;
            bytes
        }
    };
    // stdout before the rename: if the output cannot be printed, no files appear either.
    print(&stdout)?;
    match out {
        Some(dir) => dir.commit(),
        None => Ok(()),
    }
}

/// An `--out` directory being written: the staging directory beside the target.
pub(crate) struct OutDir {
    /// `--out DIR`, for messages.
    what: String,
    target: PathBuf,
    name: String,
    staging: Staging,
}

impl OutDir {
    /// Checks that `target` may be replaced and creates the staging directory beside it.
    pub(crate) fn prepare(target: &Path) -> Result<OutDir, Failure> {
        let what = format!("--out {}", target.display());
        let name = final_name(&what, target)?;
        check_replaceable(&what, target)?;
        let staging = Staging::dir(&what, parent_of(target), &name)?;
        Ok(OutDir {
            what,
            target: target.to_path_buf(),
            name,
            staging,
        })
    }

    /// Writes `files` (simple names, in order) and the marker into the staging directory.
    pub(crate) fn stage(&self, files: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        let mut marker = format!("{MARKER_HEADER}\n");
        for (name, _) in files {
            debug_assert!(!name.contains('/') && name != MARKER, "{name}");
            marker.push_str(name);
            marker.push('\n');
        }
        let marker = (MARKER.to_string(), marker.into_bytes());
        for (name, bytes) in files.iter().chain(std::iter::once(&marker)) {
            let path = self.staging.path().join(name);
            new_file(&path)
                .and_then(|mut f| f.write_all(bytes))
                .map_err(|e| {
                    refuse(
                        &self.what,
                        format!(
                            "cannot write {name}: {}; nothing was written",
                            io_reason(&e)
                        ),
                    )
                })?;
        }
        Ok(())
    }

    /// Puts the staged directory in place of the target: a rename when there is none (or an
    /// empty one); otherwise the earlier output is moved aside, the new one renamed in, and
    /// the earlier one removed — moved back if the rename fails.
    pub(crate) fn commit(mut self) -> Result<(), Failure> {
        // The target is checked again: the run may have taken hours.
        let existing = check_replaceable(&self.what, &self.target)?;
        let failed = |e: std::io::Error| {
            refuse(
                &self.what,
                format!("cannot put the output in place: {}", io_reason(&e)),
            )
        };
        let aside = match existing {
            Some(perms) => {
                let _ = fs::set_permissions(self.staging.path(), perms);
                self.move_aside().map_err(failed)?
            }
            None => None,
        };
        if let Err(e) = fs::rename(self.staging.path(), &self.target) {
            if let Some(old) = &aside {
                let _ = fs::rename(old, &self.target);
            }
            return Err(failed(e));
        }
        self.staging.keep();
        if let Some(old) = aside {
            // The new output is in place; a leftover of the old one is only untidy.
            let _ = fs::remove_dir_all(old);
        }
        Ok(())
    }

    /// Renames a non-empty target to a fresh hidden name beside it (an empty one is replaced
    /// by the rename itself).
    fn move_aside(&self) -> std::io::Result<Option<PathBuf>> {
        if fs::read_dir(&self.target)?.next().is_none() {
            return Ok(None);
        }
        let parent = parent_of(&self.target);
        let free = (0..1000)
            .map(|n| parent.join(sibling_name(&self.name, "old", n)))
            .find(|p| fs::symlink_metadata(p).is_err())
            .ok_or_else(|| std::io::Error::other("no free name to move the earlier output to"))?;
        fs::rename(&self.target, &free)?;
        Ok(Some(free))
    }
}

/// `None` if `target` does not exist; its permissions if it is a directory meshsim may
/// replace (empty, or only an earlier meshsim output); otherwise the refusal.
fn check_replaceable(what: &str, target: &Path) -> Result<Option<fs::Permissions>, Failure> {
    let meta = match fs::symlink_metadata(target) {
        Ok(meta) => meta,
        // Missing, or below a file (`--out file/sub`): making it will say why it cannot be.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(refuse(what, format!("cannot be read: {}", io_reason(&e)))),
    };
    refuse_symlink(what, &meta)?;
    if !meta.is_dir() {
        return Err(refuse(what, "exists and is not a directory".into()));
    }
    refuse_mount_point(what, target, &meta)?;
    let unreadable = |e: std::io::Error| refuse(what, format!("cannot be read: {}", io_reason(&e)));
    let mut entries = fs::read_dir(target).map_err(unreadable)?.peekable();
    if entries.peek().is_none() {
        return Ok(Some(meta.permissions()));
    }
    let listed = read_marker(what, target)?;
    for entry in entries {
        let entry = entry.map_err(unreadable)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(unreadable)?;
        let theirs = |what_it_is: &str| {
            refuse(
                what,
                format!(
                    "holds {name}, {what_it_is}; meshsim replaces only an empty directory or \
                     an earlier meshsim output, whole: choose another --out or move it away"
                ),
            )
        };
        if kind.is_symlink() {
            return Err(theirs("a symbolic link"));
        }
        if name != MARKER && !listed.contains(&name) {
            return Err(theirs("which meshsim did not write"));
        }
        if !kind.is_file() {
            return Err(theirs("which is not a regular file"));
        }
    }
    Ok(Some(meta.permissions()))
}

/// The names an earlier output's marker lists; a refusal if there is no valid marker.
fn read_marker(what: &str, dir: &Path) -> Result<BTreeSet<String>, Failure> {
    let not_ours = || {
        refuse(
            what,
            format!(
                "is not empty and not an earlier meshsim output (no valid {MARKER} in it); \
                 meshsim replaces only those, whole: choose another --out or empty it"
            ),
        )
    };
    let path = dir.join(MARKER);
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => {}
        _ => return Err(not_ours()),
    }
    let mut text = String::new();
    fs::File::open(&path)
        .and_then(|f| f.take(MAX_MARKER_BYTES).read_to_string(&mut text))
        .map_err(|_| not_ours())?;
    let mut lines = text.lines();
    if lines.next() != Some(MARKER_HEADER) {
        return Err(not_ours());
    }
    Ok(lines.map(String::from).collect())
}

/// A mount point cannot be renamed: say so before the run, not after.
#[cfg(unix)]
fn refuse_mount_point(what: &str, target: &Path, meta: &fs::Metadata) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt;
    let parent = fs::metadata(parent_of(target));
    if parent.is_ok_and(|p| p.dev() != meta.dev() || p.ino() == meta.ino()) {
        return Err(refuse(
            what,
            "is a mount point, which meshsim cannot replace; give a directory inside it, \
             e.g. --out DIR/out"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_mount_point(_: &str, _: &Path, _: &fs::Metadata) -> Result<(), Failure> {
    Ok(())
}

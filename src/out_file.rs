//! One file written into a directory others share: a shard's partial result in `--out DIR`
//! (every shard of a job array writes there), or the scenario `hunt --shrink` writes. It is
//! written under a temporary name in that directory, made before the run, and renamed onto
//! its name at the end: a reader never sees half a file, a failure leaves nothing, and an
//! existing symlink or non-file of that name is refused, never written through.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::commands::{Failure, io_reason};
use crate::staging::{Staging, refuse, refuse_symlink};

/// A file being written into `dir`.
pub(crate) struct OutFile {
    /// Where, for messages: `--out DIR`, or a sentence for the current directory.
    what: String,
    /// The directory as the user gave it (empty: the current directory).
    dir: PathBuf,
    file: File,
    staging: Staging,
}

impl OutFile {
    /// Creates `dir` if missing and a temporary file in it, named after `hint`. `dir` may not
    /// be a symlink or a file. An empty `dir` is the current directory.
    pub(crate) fn prepare(what: String, dir: &Path, hint: &str) -> Result<OutFile, Failure> {
        let real = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        match fs::symlink_metadata(real) {
            Ok(meta) => {
                refuse_symlink(&what, &meta)?;
                if !meta.is_dir() {
                    return Err(refuse(&what, "exists and is not a directory".into()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(refuse(&what, format!("cannot be read: {}", io_reason(&e)))),
        }
        let (staging, file) = Staging::file(&what, real, hint)?;
        Ok(OutFile {
            what,
            dir: dir.to_path_buf(),
            file,
            staging,
        })
    }

    /// Where `name` goes, as shown to the user (`DIR/NAME`, or `NAME` in the current
    /// directory).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Refuses a `name` that exists as anything but a regular file (a symlink, a directory):
    /// an earlier file of that name is replaced, nothing else is.
    pub(crate) fn check_name(&self, name: &str) -> Result<(), Failure> {
        let path = self.path(name);
        let what = format!("{} ({})", path.display(), self.what);
        match fs::symlink_metadata(&path) {
            Ok(meta) => {
                refuse_symlink(&what, &meta)?;
                if !meta.is_file() {
                    return Err(refuse(&what, "exists and is not a regular file".into()));
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(refuse(&what, format!("cannot be read: {}", io_reason(&e)))),
        }
    }

    /// Writes `bytes` and renames the file onto `name`; returns the path as shown.
    pub(crate) fn commit(mut self, name: &str, bytes: &[u8]) -> Result<PathBuf, Failure> {
        let path = self.path(name);
        let failed = |e: std::io::Error| {
            refuse(
                &format!("{} ({})", path.display(), self.what),
                format!("cannot write: {}; nothing was written", io_reason(&e)),
            )
        };
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.flush())
            .map_err(failed)?;
        self.check_name(name)?;
        fs::rename(self.staging.path(), &path).map_err(failed)?;
        self.staging.keep();
        Ok(path)
    }
}

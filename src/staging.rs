//! What every output path shares: a temporary directory or file created beside the place it
//! is for (same parent, so the final rename is atomic), removed again — with any parent
//! directories made for it — unless it is kept. Writes never follow a symlink.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::commands::{Failure, io_reason};

/// How many temporary names are tried before giving up (another process holding them all).
const MAX_TRIES: u32 = 1000;

/// A temporary directory or file that is removed on drop unless [`Staging::keep`] is called.
pub(crate) struct Staging {
    path: PathBuf,
    is_dir: bool,
    /// Parent directories created for it, deepest first; removed with it if they are empty.
    made: Vec<PathBuf>,
    kept: bool,
}

impl Staging {
    /// A fresh directory `.NAME.meshsim-tmp-PID-N` in `parent` (created if missing).
    pub(crate) fn dir(what: &str, parent: &Path, name: &str) -> Result<Staging, Failure> {
        let (staging, ()) = Self::fresh(what, parent, name, true, |p| fs::create_dir(p))?;
        Ok(staging)
    }

    /// A fresh empty file `.NAME.meshsim-tmp-PID-N` in `parent` (created if missing), open
    /// for writing.
    pub(crate) fn file(what: &str, parent: &Path, name: &str) -> Result<(Staging, File), Failure> {
        Self::fresh(what, parent, name, false, new_file)
    }

    fn fresh<T>(
        what: &str,
        parent: &Path,
        name: &str,
        is_dir: bool,
        create: impl Fn(&Path) -> io::Result<T>,
    ) -> Result<(Staging, T), Failure> {
        let mut made = make_parents(what, parent)?;
        for n in 0..MAX_TRIES {
            let path = parent.join(sibling_name(name, "tmp", n));
            match create(&path) {
                Ok(created) => {
                    let staging = Staging {
                        path,
                        is_dir,
                        made,
                        kept: false,
                    };
                    return Ok((staging, created));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    remove_made(&mut made);
                    return Err(refuse(
                        what,
                        format!("cannot write in {}: {}", shown_dir(parent), io_reason(&e)),
                    ));
                }
            }
        }
        remove_made(&mut made);
        Err(refuse(
            what,
            format!("no free temporary name in {}", shown_dir(parent)),
        ))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary has become the output: it is no longer removed.
    pub(crate) fn keep(&mut self) {
        self.kept = true;
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        // Best effort: nothing better is left to do if the cleanup itself fails.
        let _ = if self.is_dir {
            fs::remove_dir_all(&self.path)
        } else {
            fs::remove_file(&self.path)
        };
        remove_made(&mut self.made);
    }
}

/// `.NAME.meshsim-ROLE-PID-N`: hidden, beside NAME, and telling whose it is if a killed run
/// leaves it behind.
pub(crate) fn sibling_name(name: &str, role: &str, n: u32) -> String {
    format!(".{name}.meshsim-{role}-{}-{n}", std::process::id())
}

/// Creates a file that did not exist. `create_new` (O_EXCL) fails on an existing name,
/// a symlink included, so nothing is written through a link; O_NOFOLLOW says it twice.
pub(crate) fn new_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// The directory a path is in: `.` for a bare name.
pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The last component of `path`, which meshsim creates or replaces; `.`, `..` and `/` have
/// none (meshsim cannot replace the directory it runs in).
pub(crate) fn final_name(what: &str, path: &Path) -> Result<String, Failure> {
    match path.file_name() {
        // Lossy is fine: the name only seeds the staging directory's name.
        Some(name) if path.components().next_back().is_some_and(is_normal) => {
            Ok(name.to_string_lossy().into_owned())
        }
        _ => Err(refuse(
            what,
            "name a directory meshsim may create or replace, e.g. --out out; not ., .. or /".into(),
        )),
    }
}

fn is_normal(c: std::path::Component<'_>) -> bool {
    matches!(c, std::path::Component::Normal(_))
}

/// `DIR: reason` as the one line for stderr (exit 2).
pub(crate) fn refuse(what: &str, reason: String) -> Failure {
    Failure::BadInput(vec![format!("{what}: {reason}")])
}

/// Refuses a path that is a symbolic link: meshsim writes nothing through one.
pub(crate) fn refuse_symlink(what: &str, meta: &fs::Metadata) -> Result<(), Failure> {
    if meta.file_type().is_symlink() {
        return Err(refuse(
            what,
            "is a symbolic link; meshsim writes no file through a symlink (give the real path)"
                .into(),
        ));
    }
    Ok(())
}

fn shown_dir(dir: &Path) -> String {
    if dir == Path::new(".") {
        "the current directory".into()
    } else {
        dir.display().to_string()
    }
}

/// Creates `dir` and its missing parents; returns those it created, deepest first.
fn make_parents(what: &str, dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(meta) = fs::metadata(d) {
            if !meta.is_dir() {
                return Err(refuse(what, format!("{} is not a directory", d.display())));
            }
            break;
        }
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    if missing.is_empty() {
        return Ok(missing);
    }
    match fs::create_dir_all(dir) {
        Ok(()) => Ok(missing),
        Err(e) => {
            remove_made(&mut missing);
            Err(refuse(
                what,
                format!("cannot create {}: {}", dir.display(), io_reason(&e)),
            ))
        }
    }
}

/// Removes the directories meshsim created, deepest first, as long as they are empty.
fn remove_made(made: &mut Vec<PathBuf>) {
    for dir in made.drain(..) {
        if fs::remove_dir(&dir).is_err() {
            break;
        }
    }
}

//! The report's way out. A report that cannot be written is an error (exit 2 with a message on
//! stderr), never a silent success: that includes a stdout the shell closed (`>&-`).

use std::io::{self, Write};

use crate::commands::{Failure, output_error};

/// Writes the report to stdout. A closed pipe (`meshsim run x | head`) is not an error: the
/// reader took what it wanted and left.
pub(crate) fn print(bytes: &[u8]) -> Result<(), Failure> {
    if closed() {
        return Err(Failure::BadInput(vec![
            "stdout: cannot write: it is closed; redirect it to a file (or to /dev/null to \
             discard the report)"
                .to_string(),
        ]));
    }
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(output_error("stdout", &e)),
        _ => Ok(()),
    }
}

/// Whether meshsim was started with stdout closed. Rust's runtime reopens a closed stdout on
/// /dev/null before `main`, so writes would "succeed" into nothing; on Linux a function in
/// `.init_array`, which the loader runs before Rust's runtime starts, looks first.
#[cfg(target_os = "linux")]
fn closed() -> bool {
    STDOUT_CLOSED_AT_START.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(target_os = "linux")]
static STDOUT_CLOSED_AT_START: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Runs before `main` (the loader calls every function in `.init_array`), while fd 1 is still
/// as the shell left it.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static PROBE_STDOUT: extern "C" fn() = probe_stdout;

#[cfg(target_os = "linux")]
extern "C" fn probe_stdout() {
    // SAFETY: F_GETFD only asks whether fd 1 is open; it touches no memory.
    let closed = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFD) } == -1;
    STDOUT_CLOSED_AT_START.store(closed, std::sync::atomic::Ordering::Relaxed);
}

/// Elsewhere, what gives a closed stdout away is the mode: the runtime opens /dev/null
/// read-write in its place, while `>/dev/null` opens it write-only (`1<>/dev/null` and a
/// daemon's read-write /dev/null look the same, and are taken as closed).
#[cfg(all(unix, not(target_os = "linux")))]
fn closed() -> bool {
    use std::os::fd::{AsFd, AsRawFd};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    let stdout = io::stdout();
    // SAFETY: F_GETFL only reads the descriptor's flags; fd 1 is owned by `stdout`.
    let flags = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return true;
    }
    if flags & libc::O_ACCMODE != libc::O_RDWR {
        return false;
    }
    let same_as_null = || -> io::Result<bool> {
        let fd = std::fs::File::from(stdout.as_fd().try_clone_to_owned()?).metadata()?;
        let null = std::fs::metadata("/dev/null")?;
        Ok(fd.file_type().is_char_device() && fd.rdev() == null.rdev())
    };
    same_as_null().unwrap_or(false)
}

#[cfg(not(unix))]
fn closed() -> bool {
    false
}

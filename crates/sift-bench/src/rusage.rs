//! Reaping a child with `wait4(2)` to read its own resource usage.
//!
//! This is the only module with `unsafe`: libc has no safe wrapper for
//! `wait4`, and `std::process::Child::wait` discards the child's rusage.
//! `getrusage(RUSAGE_CHILDREN)` would report the maximum over *all* waited
//! children, so per-run peak RSS needs `wait4` on the one pid.
#![allow(unsafe_code)]

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};

pub struct Reaped {
    pub status: ExitStatus,
    /// Peak resident set size of the child, in KiB.
    pub max_rss_kib: u64,
    /// User plus system CPU time of the child, in ms: less sensitive than
    /// wall time to other load on a shared machine.
    pub cpu_ms: f64,
}

/// Waits for `child` and returns its status and peak RSS. The child is reaped:
/// do not call `child.wait()` afterwards.
pub fn wait_with_rusage(child: &Child) -> io::Result<Reaped> {
    let pid =
        libc::pid_t::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the right type.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if reaped == -1 && error.kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return Err(error);
    }
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    // Linux reports KiB; macOS reports bytes.
    let max_rss_kib = if cfg!(target_os = "macos") {
        max_rss / 1024
    } else {
        max_rss
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let cpu_ms = (seconds(usage.ru_utime) + seconds(usage.ru_stime)) * 1000.0;
    Ok(Reaped {
        status: ExitStatus::from_raw(status),
        max_rss_kib,
        cpu_ms,
    })
}

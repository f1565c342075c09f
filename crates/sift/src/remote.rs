//! Hands `sift cache`, `sift pipeline`, `sift history` and
//! `sift plan --record` (everything that talks to a store or a CI service)
//! to the `sift-remote` executable.
//!
//! The same arguments go over unchanged and `sift-remote` parses them with
//! the same command-line definition, so help, errors and exit codes are the
//! ones a single binary would give. On Unix the process is replaced (exec):
//! signals such as Ctrl-C reach `sift-remote` directly and its exit status is
//! sift's.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use crate::error::CliError;

/// The executable's file name on this platform.
fn file_name() -> OsString {
    format!("sift-remote{}", std::env::consts::EXE_SUFFIX).into()
}

/// `sift-remote` beside the running `sift` (how both are installed), else
/// whatever `PATH` finds.
fn locate() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let sibling = exe.parent()?.join(file_name());
            sibling.is_file().then_some(sibling)
        })
        .unwrap_or_else(|| PathBuf::from(file_name()))
}

/// Runs `sift-remote` with this process's arguments; returns only on failure
/// (Unix) or with its exit code (elsewhere).
pub fn delegate() -> Result<u8, CliError> {
    let program = locate();
    let error = run(Command::new(&program).args(std::env::args_os().skip(1)));
    let what = format!(
        "cannot run `{}`, which runs sift cache, history, pipeline and plan --record",
        program.display()
    );
    if error.kind() == std::io::ErrorKind::NotFound {
        return Err(CliError::Usage {
            message: format!("{what}: it is not next to sift nor on PATH"),
            hint: Some(
                "install sift-remote together with sift (installing the sift package installs both)"
                    .to_owned(),
            ),
        });
    }
    Err(CliError::io(what, error))
}

#[cfg(unix)]
fn run(command: &mut Command) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    command.exec()
}

#[cfg(not(unix))]
fn run(command: &mut Command) -> std::io::Error {
    match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(crate::exit::INTERNAL as i32)),
        Err(error) => error,
    }
}

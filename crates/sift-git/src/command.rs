//! Running the `git` binary: one place that fixes its environment, captures
//! its output as bytes and turns failures into [`GitError`]s.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use crate::error::{CommandFailure, GitError};

/// git in one repository.
pub(crate) struct Git<'a> {
    repo: &'a Path,
}

/// What a finished git command left behind.
pub(crate) struct Output {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// A git command that has been started and not yet waited for; lets two
/// independent commands run side by side.
pub(crate) struct Running {
    command: String,
    child: Child,
    /// Writing stdin failed; reported only if git itself did not fail, since
    /// git's own error is more telling than a broken pipe.
    input_error: Option<io::Error>,
}

impl<'a> Git<'a> {
    pub fn new(repo: &'a Path) -> Self {
        Git { repo }
    }

    pub fn repo(&self) -> &'a Path {
        self.repo
    }

    /// Starts `git -C <repo> <args>`, feeding it `input` on stdin if given.
    ///
    /// `-C` rather than a working directory: a missing directory then becomes an
    /// error message from git instead of a spawn error indistinguishable from
    /// git itself being missing. `LC_ALL=C` keeps git's messages stable for the
    /// few places that classify them; `GIT_OPTIONAL_LOCKS=0` keeps read-only
    /// commands from refreshing the index, which could contend with the user's
    /// own git commands. Without input, stdin is closed, so git can never wait
    /// for a terminal.
    ///
    /// The input is written in full before any output is read, so it must stay
    /// small (a few revision names): a command that answered more than a pipe
    /// buffer before reading all its input would block.
    pub fn spawn(&self, args: &[&str], input: Option<&[u8]>) -> Result<Running, GitError> {
        let command = self.display(args);
        let child = Command::new("git")
            .arg("-C")
            .arg(self.repo)
            .args(args)
            .env("LC_ALL", "C")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(GitError::GitNotFound),
            Err(source) => return Err(GitError::Run { command, source }),
        };
        // Dropping stdin closes it, which tells git the input is complete.
        let input_error = match (input, child.stdin.take()) {
            (Some(input), Some(mut stdin)) => stdin.write_all(input).err(),
            _ => None,
        };
        Ok(Running {
            command,
            child,
            input_error,
        })
    }

    /// Runs a command to completion, whatever its exit status.
    pub fn output(&self, args: &[&str]) -> Result<Output, GitError> {
        self.spawn(args, None)?.wait()
    }

    /// Runs a command and returns its stdout, or the error it failed with.
    pub fn run(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        self.output(args)?.into_stdout(self)
    }

    /// Classifies a failed command. "Not a repository" gets its own error because
    /// the remedy (pass the files another way) differs from every other failure.
    pub fn failure(&self, output: Output) -> GitError {
        let failure = CommandFailure {
            command: output.command,
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        };
        // "cannot change to" is `-C` on a directory that does not exist.
        let stderr = &failure.stderr;
        if stderr.contains("not a git repository") || stderr.contains("cannot change to") {
            GitError::NotARepository {
                path: self.repo.to_path_buf(),
                failure,
            }
        } else {
            GitError::Command(failure)
        }
    }

    /// Whether the repository is a shallow clone. Asked only after something went
    /// wrong, since the answer only changes how a failure is reported.
    pub fn is_shallow(&self) -> Result<bool, GitError> {
        let stdout = self.run(&["rev-parse", "--is-shallow-repository"])?;
        Ok(stdout.trim_ascii() == b"true")
    }

    /// The command line as a user could paste it into a shell.
    fn display(&self, args: &[&str]) -> String {
        let repo = self.repo.to_string_lossy();
        let mut line = String::from("git -C ");
        line.push_str(&shell_quote(&repo));
        for arg in args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        line
    }
}

impl Running {
    /// Waits for the command, collecting stdout and stderr concurrently so that
    /// neither pipe can fill up and stall git.
    pub fn wait(self) -> Result<Output, GitError> {
        let Running {
            command,
            child,
            input_error,
        } = self;
        match (child.wait_with_output(), input_error) {
            (Ok(output), Some(source)) if output.status.success() => {
                Err(GitError::Run { command, source })
            }
            (Ok(output), _) => Ok(Output {
                command,
                status: output.status,
                stdout: output.stdout,
                stderr: output.stderr,
            }),
            (Err(source), _) => Err(GitError::Run { command, source }),
        }
    }
}

impl Output {
    /// stdout of a successful command, or the classified failure.
    pub fn into_stdout(self, git: &Git<'_>) -> Result<Vec<u8>, GitError> {
        if self.status.success() {
            Ok(self.stdout)
        } else {
            Err(git.failure(self))
        }
    }

    /// git's non-empty stderr lines; successful commands print warnings there.
    pub fn stderr_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.stderr
            .split(|&b| b == b'\n')
            .map(<[u8]>::trim_ascii)
            .filter(|line| !line.is_empty())
            .map(|line| String::from_utf8_lossy(line).into_owned())
    }
}

/// Quotes an argument for display only: plain words stay readable, anything
/// else is single-quoted.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@^{}~+,%".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Splits NUL-terminated git output (`-z`) into fields. A trailing terminator
/// does not produce an empty last field.
pub(crate) fn nul_fields(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    bytes.split(|&b| b == 0).filter(move |_| !bytes.is_empty())
}

/// A path printed by git, as an `OsString`: exact bytes on Unix, where paths
/// need not be UTF-8; lossy elsewhere, where git prints UTF-8 anyway.
pub(crate) fn os_string(bytes: &[u8]) -> OsString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(bytes).to_owned()
    }
    #[cfg(not(unix))]
    {
        OsString::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_plain_words_and_quotes_the_rest() {
        assert_eq!(
            shell_quote("main^{commit}...HEAD~2"),
            "main^{commit}...HEAD~2"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn nul_fields_ignore_only_the_final_terminator() {
        let fields: Vec<&[u8]> = nul_fields(b"M\0a b\0\0").collect();
        assert_eq!(fields, [&b"M"[..], b"a b", b""]);
        assert_eq!(nul_fields(b"").count(), 0);
        assert_eq!(nul_fields(b"x").collect::<Vec<_>>(), [b"x"]);
    }
}

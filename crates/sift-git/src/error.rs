//! Errors of the git change source. Each carries a hint, because the person
//! reading it is usually in CI and needs the next step, not just the symptom.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why sift could not learn the change from git.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// Spawning `git` failed because no such program is on `PATH`.
    #[error("`git` was not found on PATH")]
    GitNotFound,

    /// Spawning or talking to git failed for another reason (permissions,
    /// resource limits); the command did not get to report anything itself.
    #[error("could not run `{command}`: {source}")]
    Run {
        command: String,
        #[source]
        source: io::Error,
    },

    /// The directory is not inside a git work tree.
    #[error("`{}` is not inside a git repository ({failure})", path.display())]
    NotARepository {
        path: PathBuf,
        failure: CommandFailure,
    },

    /// The repository could not be opened in-process (`sift replay`, `sift quality`).
    #[error("cannot open the repository at `{}`: {detail}", path.display())]
    Open { path: PathBuf, detail: String },

    /// A git command failed in a way sift has no better explanation for.
    #[error(transparent)]
    Command(CommandFailure),

    /// git printed something sift does not understand; never guessed around,
    /// since a misread diff could silently skip tasks.
    #[error("unexpected output from `{command}`: {detail}")]
    UnexpectedOutput { command: String, detail: String },

    /// A revision name that sift refuses to hand to git (it would be read as
    /// an option, or cannot be passed on one line).
    #[error("invalid revision `{rev}`: {reason}")]
    InvalidRevision { rev: String, reason: &'static str },

    /// A revision that does not name a commit in a complete (non-shallow) clone.
    #[error("unknown revision `{rev}`")]
    UnknownRevision { rev: String },

    /// No base was given and none of the usual default branches exists.
    #[error(
        "no base revision: none of `origin/HEAD`, `origin/main`, `origin/master`, `main` \
         or `master` exists"
    )]
    NoDefaultBase,

    /// Base and head share no history, so there is no fork point to compare from.
    #[error("`{base}` and `{head}` have no common ancestor")]
    NoMergeBase { base: String, head: String },

    /// The base (or the fork point) is missing from a shallow clone and the
    /// caller asked not to fall back to scheduling everything.
    #[error("base `{base}` is not in this shallow clone")]
    ShallowBase { base: String },

    /// `uncommitted` compares the working tree, which belongs to the checked-out
    /// commit; combining it with another head would mix two different changes.
    #[error("head `{head}` is not the checked-out commit, but uncommitted changes were requested")]
    HeadNotCheckedOut { head: String },
}

/// The advice for a base that a shallow clone lacks.
pub(crate) const SHALLOW_HINT: &str =
    "fetch more history, e.g. `git fetch --deepen=N` or `git fetch --unshallow`";

impl GitError {
    /// One line of advice on what to do next, if there is something better
    /// than re-reading the message.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            GitError::GitNotFound => {
                "install git, or use --files-from to pass the changed files".to_owned()
            }
            GitError::Run { .. } | GitError::Command(_) => return None,
            GitError::NotARepository { .. } => {
                "run sift inside a git checkout, or use --files-from to pass the changed files"
                    .to_owned()
            }
            GitError::Open { .. } => {
                "run sift inside a git checkout (with its full history for the pushes to read)"
                    .to_owned()
            }
            GitError::UnexpectedOutput { .. } => {
                "this is a bug in sift; please report it together with `git --version`".to_owned()
            }
            GitError::InvalidRevision { .. } => "pass a branch, tag or commit".to_owned(),
            GitError::UnknownRevision { rev } => format!(
                "check the name, or fetch it first (e.g. `git fetch origin {rev}`) if it only \
                 exists on the remote"
            ),
            GitError::NoDefaultBase => "pass --base REV".to_owned(),
            GitError::NoMergeBase { .. } => {
                "the histories are unrelated; pass a --base that shares history with the head"
                    .to_owned()
            }
            GitError::ShallowBase { .. } => SHALLOW_HINT.to_owned(),
            GitError::HeadNotCheckedOut { head } => {
                format!("check out `{head}` first, or leave out the uncommitted changes")
            }
        };
        Some(hint)
    }
}

/// A git command that ran and failed: what was run, how it ended, and what git
/// said, so that the failure can be reproduced by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandFailure {
    /// The command line, shell-quoted.
    pub command: String,
    /// The exit code; `None` if git was killed by a signal.
    pub code: Option<i32>,
    /// git's standard error, trimmed.
    pub stderr: String,
}

impl fmt::Display for CommandFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` failed", self.command)?;
        match self.code {
            Some(code) => write!(f, " with exit code {code}")?,
            None => f.write_str(", killed by a signal")?,
        }
        if !self.stderr.is_empty() {
            write!(f, ": {}", self.stderr)?;
        }
        Ok(())
    }
}

impl std::error::Error for CommandFailure {}

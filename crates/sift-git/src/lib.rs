//! sift-git: the change between two git revisions, as a [`sift_core::Change`].
//!
//! The `git` command line is the reference: its answer matches what the
//! user's own `git diff` says, in every repository format and configuration
//! git supports, and it produces every error message. Committed changes that
//! provably need no rename detection are read in-process with gix instead
//! (see `in_process`), because two git processes cost more than planning a
//! small change; anything else falls back to the command line.
//!
//! A change is measured the way code review sees it, like `git diff base...head`:
//! from the fork point (merge-base) of base and head, so work that landed on
//! the base branch after the fork does not count as part of the change.
//!
//! Cost matters (this runs before any CI work can start; the budget is about
//! 1.2× a plain `git diff --name-status base...head`), so lookups are batched
//! into few git processes, and independent ones run side by side: a typical
//! run is one `rev-parse` (both revisions and their merge-base) alongside the
//! `diff` itself, preceded, when no base is given, by `symbolic-ref` alongside
//! one `cat-file` probing the fallback branches. Extra commands run only to
//! explain a failure.

mod blob;
mod command;
mod commits;
mod error;
mod in_process;
#[cfg(test)]
mod in_process_tests;
mod name_status;
mod objects;

use std::path::{Path, PathBuf};

use sift_core::{Change, ChangeOrigin, ChangeStatus, ChangedFile};

use crate::command::{Git, nul_fields, os_string};
use crate::error::SHALLOW_HINT;

pub use crate::blob::read_files_at;
pub use crate::commits::{CommitFiles, CommitReader};
pub use crate::error::{CommandFailure, GitError};

/// Which change to detect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitOptions {
    /// The revision the change is compared against; `None` picks the remote's
    /// default branch (see [`detect_change`]).
    pub base: Option<String>,
    /// The revision holding the change; `None` means `HEAD`.
    pub head: Option<String>,
    /// Also count staged, unstaged and untracked (not ignored) files, for runs
    /// on a developer's machine before committing.
    pub uncommitted: bool,
    /// In a shallow clone that lacks the base, fail instead of scheduling
    /// every task.
    pub strict_base: bool,
}

/// A detected change, plus anything the user should know about how it was
/// obtained (printed by the caller, never fatal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitChange {
    pub change: Change,
    pub warnings: Vec<String>,
}

/// The head used when none is given.
const DEFAULT_HEAD: &str = "HEAD";

/// The remote's default branch, as recorded by `git clone`.
const ORIGIN_HEAD: &str = "refs/remotes/origin/HEAD";

/// Bases tried, in order, when `origin/HEAD` is not set (e.g. in CI checkouts
/// that fetched a single branch, or repositories without a remote): the
/// display name and the full ref, so that a tag or branch that happens to
/// share a short name cannot be picked by accident.
const FALLBACK_BASES: [(&str, &str); 4] = [
    ("origin/main", "refs/remotes/origin/main"),
    ("origin/master", "refs/remotes/origin/master"),
    ("main", "refs/heads/main"),
    ("master", "refs/heads/master"),
];

/// The top directory of the work tree containing `dir`.
pub fn repo_root(dir: &Path) -> Result<PathBuf, GitError> {
    let git = Git::new(dir);
    let stdout = git.run(&["rev-parse", "--show-toplevel"])?;
    // Only the line terminator goes: a directory name may end in spaces.
    let root = stdout.strip_suffix(b"\n").unwrap_or(&stdout);
    if root.is_empty() {
        return Err(GitError::UnexpectedOutput {
            command: "git rev-parse --show-toplevel".to_owned(),
            detail: "no path printed".to_owned(),
        });
    }
    Ok(PathBuf::from(os_string(root)))
}

/// The checked-out branch's short name (`feature/x`); `None` on a detached
/// HEAD (as CI checkouts often are).
pub fn current_branch(repo: &Path) -> Result<Option<String>, GitError> {
    let git = Git::new(repo);
    let output = git.output(&["symbolic-ref", "--quiet", "--short", "HEAD"])?;
    if !output.status.success() {
        // Exit 1 with no message: HEAD is detached. Anything else is a failure.
        if output.status.code() == Some(1) && output.stderr.is_empty() {
            return Ok(None);
        }
        return Err(git.failure(output));
    }
    let name = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok((!name.is_empty()).then_some(name))
}

/// Every file git tracks, repository-relative with `/` separators, sorted and
/// deduplicated (a file with a merge conflict is listed by git once per stage).
/// Works from any directory of the work tree and always lists the whole tree.
pub fn tracked_files(repo: &Path) -> Result<Vec<String>, GitError> {
    let git = Git::new(repo);
    let stdout = git.run(&[
        "-c",
        "core.quotepath=false",
        "ls-files",
        "-z",
        "--full-name",
        "--",
        ":/",
    ])?;
    let mut files: Vec<String> = paths(&stdout).collect();
    files.sort_unstable();
    files.dedup();
    Ok(files)
}

/// Detects the change from the merge-base of `opts.base` and `opts.head` to
/// the head (and, with `opts.uncommitted`, to the working tree).
///
/// Without a base, the remote's default branch (`origin/HEAD`) is used, then
/// the first of `origin/main`, `origin/master`, `main` and `master` that
/// exists. How the base was chosen is recorded in
/// [`ChangeOrigin::base_description`].
///
/// A shallow clone may lack the base or the fork point. Guessing would risk
/// skipping needed work, so unless `opts.strict_base` makes that an error,
/// the result has no files and a [`ChangeOrigin::schedule_all_reason`]
/// instead, plus a warning.
pub fn detect_change(repo: &Path, opts: &GitOptions) -> Result<GitChange, GitError> {
    detect_change_with(repo, opts, true)
}

/// [`detect_change`], optionally without the in-process fast path (so that
/// tests can compare the two).
fn detect_change_with(
    repo: &Path,
    opts: &GitOptions,
    in_process: bool,
) -> Result<GitChange, GitError> {
    let git = Git::new(repo);
    let head = opts.head.as_deref().unwrap_or(DEFAULT_HEAD);
    check_revision(head)?;
    if let Some(base) = &opts.base {
        check_revision(base)?;
    }
    // Committed changes are read in-process when possible; see `in_process`.
    let gix_repo = (in_process && !opts.uncommitted)
        .then(|| in_process::open(repo))
        .flatten();
    let base = match opts.base.as_deref() {
        Some(base) => BaseRev {
            name: base.to_owned(),
            rev: base.to_owned(),
        },
        None => match read_loose_origin_head(repo) {
            Some(target) => BaseRev::origin_head(target),
            None => match gix_repo.as_ref().and_then(in_process::default_base) {
                Some(base) => base,
                None => default_base(&git)?,
            },
        },
    };
    let mut description = format!("merge-base of {} and {head}", base.name);
    if opts.uncommitted {
        description.push_str(", plus uncommitted and untracked files in the working tree");
    }
    if let Some(committed) = gix_repo
        .as_ref()
        .and_then(|gix_repo| in_process::committed_change(gix_repo, &base.rev, head))
    {
        let origin = ChangeOrigin {
            base: Some(committed.merge_base),
            head: Some(committed.head),
            base_description: Some(description),
            base_name: Some(base.name.clone()),
            schedule_all_reason: None,
        };
        return Ok(GitChange {
            change: Change::new(origin, committed.files),
            warnings: Vec::new(),
        });
    }

    // `..` inside a name would split the range at the wrong place; such names
    // take the slow path below.
    let symmetric = (!base.rev.contains("..") && !head.contains(".."))
        .then(|| format!("{}...{}", as_commit(&base.rev), as_commit(head)));
    // For committed changes, the diff starts right away, alongside the lookup
    // of the revisions: `git diff base...head` diffs from the same merge-base
    // that `git rev-parse base...head` reports, so nothing waits for anything.
    let early_diff = match &symmetric {
        Some(range) if !opts.uncommitted => Some(git.spawn(&diff_args(range, None), None)?),
        _ => None,
    };
    let range = resolve_range(&git, &base.rev, head, symmetric.as_deref());
    // Reaped before any early return, and only trusted if the revisions were
    // resolved the same way it resolved them.
    let early_diff = early_diff.map(command::Running::wait);
    let range = range?;
    let early_diff = early_diff.filter(|_| range.from_symmetric);

    if opts.uncommitted && head != DEFAULT_HEAD {
        let [checked_out] = resolve_commits(&git, [DEFAULT_HEAD])?;
        if checked_out.as_deref() != Some(range.head.as_str()) {
            return Err(GitError::HeadNotCheckedOut {
                head: head.to_owned(),
            });
        }
    }
    let mut origin = ChangeOrigin {
        base: None,
        head: Some(range.head.clone()),
        base_description: Some(description),
        base_name: Some(base.name.clone()),
        schedule_all_reason: None,
    };
    let mut warnings = Vec::new();

    let Some(merge_base) = range.merge_bases.first() else {
        if !git.is_shallow()? {
            return Err(match range.base {
                None => GitError::UnknownRevision { rev: base.name },
                Some(_) => GitError::NoMergeBase {
                    base: base.name,
                    head: head.to_owned(),
                },
            });
        }
        if opts.strict_base {
            return Err(GitError::ShallowBase { base: base.name });
        }
        let reason = format!(
            "base {} not in this shallow clone (fetch more history)",
            base.name
        );
        warnings.push(format!(
            "{reason}; scheduling every task (hint: {SHALLOW_HINT})"
        ));
        origin.schedule_all_reason = Some(reason);
        return Ok(GitChange {
            change: Change::new(origin, Vec::new()),
            warnings,
        });
    };
    if range.merge_bases.len() > 1 {
        // The same choice `git diff base...head` makes.
        warnings.push(format!(
            "{} and {head} have {} merge-bases; comparing from the first, {merge_base}",
            base.name,
            range.merge_bases.len()
        ));
    }
    origin.base = Some(merge_base.clone());

    let files = match early_diff {
        Some(diff) => parse_diff(&git, diff?, &mut warnings)?,
        None if opts.uncommitted => working_tree_files(&git, merge_base, &mut warnings)?,
        None => {
            let diff = git.output(&diff_args(merge_base, Some(&range.head)))?;
            parse_diff(&git, diff, &mut warnings)?
        }
    };
    Ok(GitChange {
        change: Change::new(origin, files),
        warnings,
    })
}

/// A base revision: how humans called it, and what is handed to git.
struct BaseRev {
    name: String,
    rev: String,
}

impl BaseRev {
    /// The base `origin/HEAD` points to (`target`, a full ref name), named
    /// without its `refs/remotes/` prefix.
    fn origin_head(target: String) -> Self {
        let name = target
            .strip_prefix("refs/remotes/")
            .unwrap_or(&target)
            .to_owned();
        BaseRev { name, rev: target }
    }
}

/// Rejects revisions that git would misread: a leading `-` would be taken as
/// an option, and a line break could not be passed to `git cat-file --batch-check`.
fn check_revision(rev: &str) -> Result<(), GitError> {
    let reason = if rev.trim().is_empty() {
        "it is empty"
    } else if rev.starts_with('-') {
        "it starts with `-`"
    } else if rev.contains(['\n', '\r', '\0']) {
        "it contains a line break or NUL"
    } else {
        return Ok(());
    };
    Err(GitError::InvalidRevision {
        rev: rev.to_owned(),
        reason,
    })
}

/// `rev` peeled to the commit it names, so that an annotated tag yields its
/// commit's id rather than the tag object's. A `:/message` search already
/// yields a commit, and would take the suffix as part of its pattern.
fn as_commit(rev: &str) -> String {
    if rev.starts_with(":/") {
        rev.to_owned()
    } else {
        format!("{rev}^{{commit}}")
    }
}

/// `origin/HEAD` read straight from a plain `.git` directory, sparing one git
/// process on every default-base plan (the 1.2x-of-`git diff` budget has no
/// room for it on small ranges). Symbolic refs are always loose files in the
/// files ref backend; any other layout (worktrees, reftable, a `.git` file)
/// returns `None` and git is asked instead.
fn read_loose_origin_head(repo: &Path) -> Option<String> {
    let text = std::fs::read_to_string(repo.join(".git").join(ORIGIN_HEAD)).ok()?;
    let target = text.strip_prefix("ref: ")?.trim_end();
    (target.starts_with("refs/remotes/") && !target.contains(char::is_whitespace))
        .then(|| target.to_owned())
}

/// The base to use when the user named none; see [`detect_change`].
///
/// `origin/HEAD` is taken even if the branch it names is missing (a
/// single-branch or shallow fetch): that is still the right base, and the
/// caller reports it as missing rather than silently diffing against a stale
/// local branch. The fallbacks are probed at the same time, because CI
/// checkouts often have no `origin/HEAD` and waiting for that answer first
/// would put one more git process on the critical path.
fn default_base(git: &Git<'_>) -> Result<BaseRev, GitError> {
    if let Some(target) = read_loose_origin_head(git.repo()) {
        return Ok(BaseRev::origin_head(target));
    }
    let origin_head = git.spawn(&["symbolic-ref", "-q", ORIGIN_HEAD], None)?;
    let fallbacks = spawn_resolve_commits(git, &FALLBACK_BASES.map(|(_, rev)| rev));
    let origin_head = origin_head.wait();
    let fallbacks = fallbacks.and_then(command::Running::wait);

    let origin_head = origin_head?;
    match origin_head.status.code() {
        Some(0) => {
            let target = String::from_utf8_lossy(origin_head.stdout.trim_ascii()).into_owned();
            if !target.is_empty() {
                return Ok(BaseRev::origin_head(target));
            }
        }
        // Exit code 1: origin/HEAD is not set, which is common.
        Some(1) => {}
        _ => return Err(git.failure(origin_head)),
    }
    let found: [Option<String>; 4] = parse_resolved_commits(git, fallbacks?)?;
    FALLBACK_BASES
        .iter()
        .zip(found)
        .find(|(_, sha)| sha.is_some())
        .map(|((name, rev), _)| BaseRev {
            name: (*name).to_owned(),
            rev: (*rev).to_owned(),
        })
        .ok_or(GitError::NoDefaultBase)
}

/// Head and base resolved to commits, with their merge-bases (best first).
struct Range {
    head: String,
    /// `None` if the base does not name a commit in this repository.
    base: Option<String>,
    merge_bases: Vec<String>,
    /// Resolved from the `base...head` expression (and so consistent with a
    /// diff of that expression).
    from_symmetric: bool,
}

/// Resolves head, base and their merge-bases.
///
/// The common case takes one process: `git rev-parse base...head` prints both
/// ends and then every merge-base. Only if that fails (or `symmetric` is
/// `None`) are the revisions resolved one by one, which also tells which one
/// is missing.
fn resolve_range(
    git: &Git<'_>,
    base: &str,
    head: &str,
    symmetric: Option<&str>,
) -> Result<Range, GitError> {
    if let Some(symmetric) = symmetric {
        // The trailing `--` makes git reject an unknown revision instead of
        // trying it as a file name.
        let output = git.output(&["rev-parse", symmetric, "--"])?;
        if output.status.success() {
            return parse_range(&output.stdout).ok_or_else(|| GitError::UnexpectedOutput {
                detail: format!(
                    "expected two commits and their merge-bases, got `{}`",
                    String::from_utf8_lossy(output.stdout.trim_ascii())
                ),
                command: output.command,
            });
        }
        if let error @ GitError::NotARepository { .. } = git.failure(output) {
            return Err(error);
        }
    }

    let [base_sha, head_sha] = resolve_commits(git, [base, head])?;
    let head_sha = head_sha.ok_or_else(|| GitError::UnknownRevision {
        rev: head.to_owned(),
    })?;
    let merge_bases = match &base_sha {
        Some(base_sha) => merge_base(git, base_sha, &head_sha)?.into_iter().collect(),
        None => Vec::new(),
    };
    Ok(Range {
        head: head_sha,
        base: base_sha,
        merge_bases,
        from_symmetric: false,
    })
}

/// Reads `git rev-parse base...head --`: head, base, `^merge-base`..., `--`.
fn parse_range(stdout: &[u8]) -> Option<Range> {
    let text = std::str::from_utf8(stdout).ok()?;
    let mut ends = Vec::new();
    let mut merge_bases = Vec::new();
    for line in text.lines().filter(|line| *line != "--") {
        match line.strip_prefix('^') {
            Some(merge_base) => merge_bases.push(object_id(merge_base)?),
            None => ends.push(object_id(line)?),
        }
    }
    let [head, base] = <[String; 2]>::try_from(ends).ok()?;
    Some(Range {
        head,
        base: Some(base),
        merge_bases,
        from_symmetric: true,
    })
}

/// Resolves revisions to commit ids in one process; `None` for a revision
/// that names no commit.
fn resolve_commits<const N: usize>(
    git: &Git<'_>,
    revs: [&str; N],
) -> Result<[Option<String>; N], GitError> {
    let output = spawn_resolve_commits(git, &revs)?.wait()?;
    parse_resolved_commits(git, output)
}

/// Starts resolving revisions with `git cat-file --batch-check`, which, unlike
/// `git rev-parse`, keeps going past names that do not resolve.
fn spawn_resolve_commits(git: &Git<'_>, revs: &[&str]) -> Result<command::Running, GitError> {
    let input: String = revs
        .iter()
        .map(|rev| format!("{}\n", as_commit(rev)))
        .collect();
    git.spawn(
        &["cat-file", "--batch-check=%(objectname)"],
        Some(input.as_bytes()),
    )
}

/// Reads `git cat-file --batch-check=%(objectname)`: one line per revision,
/// the id if it resolved, "<name> missing" (or "ambiguous") if not.
fn parse_resolved_commits<const N: usize>(
    git: &Git<'_>,
    output: command::Output,
) -> Result<[Option<String>; N], GitError> {
    let command = output.command.clone();
    let stdout = output.into_stdout(git)?;
    let ids: Vec<Option<String>> = String::from_utf8_lossy(&stdout)
        .lines()
        .map(object_id)
        .collect();
    <[Option<String>; N]>::try_from(ids).map_err(|ids| GitError::UnexpectedOutput {
        command,
        detail: format!("expected {N} lines, got {}", ids.len()),
    })
}

/// The best merge-base of two commits, if they share history.
fn merge_base(git: &Git<'_>, base: &str, head: &str) -> Result<Option<String>, GitError> {
    let output = git.output(&["merge-base", base, head])?;
    match output.status.code() {
        Some(0) => {
            let text = String::from_utf8_lossy(output.stdout.trim_ascii()).into_owned();
            object_id(&text)
                .map(Some)
                .ok_or_else(|| GitError::UnexpectedOutput {
                    command: output.command,
                    detail: format!("expected a commit id, got `{text}`"),
                })
        }
        // Exit code 1 without a message: no common ancestor.
        Some(1) if output.stderr.trim_ascii().is_empty() => Ok(None),
        _ => Err(git.failure(output)),
    }
}

/// A full object id (SHA-1 or SHA-256), or `None` if `text` is not one.
fn object_id(text: &str) -> Option<String> {
    let valid = matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| text.to_owned())
}

/// `git diff --name-status` arguments, pinned so that user configuration
/// cannot change the file list: renames are always detected (whatever
/// `diff.renames` says), paths are never made relative to a subdirectory,
/// and no external diff driver, text conversion or colour can run or
/// interfere. Submodule changes are always reported.
fn diff_args<'a>(from: &'a str, to: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec![
        "-c",
        "core.quotepath=false",
        "diff",
        "--name-status",
        "-z",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-relative",
        "--find-renames",
        "--ignore-submodules=none",
        from,
    ];
    args.extend(to);
    args.push("--");
    args
}

/// Parses a diff's file list. Warnings git prints on success (for example
/// that rename detection was skipped on a huge change) are passed on, except
/// the one about several merge-bases, which sift reports itself.
fn parse_diff(
    git: &Git<'_>,
    output: command::Output,
    warnings: &mut Vec<String>,
) -> Result<Vec<ChangedFile>, GitError> {
    let command = output.command.clone();
    let stderr: Vec<String> = output
        .stderr_lines()
        .filter(|line| !line.contains("multiple merge bases"))
        .collect();
    let stdout = output.into_stdout(git)?;
    warnings.extend(stderr);
    name_status::parse(&stdout).map_err(|detail| GitError::UnexpectedOutput { command, detail })
}

/// Changes from `merge_base` to the working tree: committed, staged and
/// unstaged changes in one `git diff <merge-base>` (which compares with the
/// work tree through the index), plus untracked files that are not ignored.
/// The two commands are independent, so they run concurrently.
fn working_tree_files(
    git: &Git<'_>,
    merge_base: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<ChangedFile>, GitError> {
    let diff = git.spawn(&diff_args(merge_base, None), None)?;
    let untracked = git.spawn(
        &[
            "-c",
            "core.quotepath=false",
            "ls-files",
            "-z",
            "--others",
            "--exclude-standard",
            "--full-name",
            "--",
            ":/",
        ],
        None,
    );
    // Always reap the diff, even if the second command could not start.
    let diff = diff.wait();
    let untracked = untracked.and_then(command::Running::wait);
    let mut files = parse_diff(git, diff?, warnings)?;
    let untracked = untracked?.into_stdout(git)?;
    // A nested repository is listed as `dir/`; it counts as the path `dir`.
    files.extend(paths(&untracked).map(|path| {
        let path = path.strip_suffix('/').map(str::to_owned).unwrap_or(path);
        ChangedFile::new(path, ChangeStatus::Added)
    }));
    Ok(files)
}

/// Paths from NUL-separated git output. Paths that are not UTF-8 are converted
/// lossily: rules match on text, and a replacement character still matches
/// directory patterns.
fn paths(stdout: &[u8]) -> impl Iterator<Item = String> + '_ {
    nul_fields(stdout).map(|path| String::from_utf8_lossy(path).into_owned())
}

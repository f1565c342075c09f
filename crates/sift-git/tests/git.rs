//! End-to-end tests against real repositories built with the `git` binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sift_core::{ChangeStatus, ChangedFile};
use sift_git::{GitChange, GitError, GitOptions, detect_change, repo_root, tracked_files};
use tempfile::TempDir;

const SHALLOW_HINT: &str =
    "fetch more history, e.g. `git fetch --deepen=N` or `git fetch --unshallow`";

/// A scratch directory whose git commands see no user or system configuration
/// and produce the same commits on every machine.
struct Sandbox {
    root: TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("create temp dir");
        fs::create_dir(root.path().join("home")).expect("create home");
        Sandbox { root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Runs git in `dir` and returns its trimmed stdout; panics with git's
    /// stderr on failure.
    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.path("home"))
            .env("GIT_AUTHOR_NAME", "Sift Test")
            .env("GIT_AUTHOR_EMAIL", "sift@example.invalid")
            .env("GIT_COMMITTER_NAME", "Sift Test")
            .env("GIT_COMMITTER_EMAIL", "sift@example.invalid")
            .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
            .env("LC_ALL", "C")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("utf-8 output")
            .trim()
            .to_owned()
    }

    /// A new repository on branch `branch`.
    fn init(&self, name: &str, branch: &str) -> PathBuf {
        let dir = self.path(name);
        fs::create_dir_all(&dir).expect("create repo dir");
        self.git(&dir, &["init", "-q", "-b", branch]);
        dir
    }

    /// Stages everything and commits; returns the new commit's id.
    fn commit(&self, repo: &Path, message: &str) -> String {
        self.git(repo, &["add", "-A"]);
        self.git(repo, &["commit", "-q", "--allow-empty", "-m", message]);
        self.git(repo, &["rev-parse", "HEAD"])
    }
}

fn write(repo: &Path, path: &str, contents: &str) {
    let path = repo.join(path);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent dir");
    }
    fs::write(path, contents).expect("write file");
}

fn opts(base: Option<&str>, head: Option<&str>) -> GitOptions {
    GitOptions {
        base: base.map(str::to_owned),
        head: head.map(str::to_owned),
        ..GitOptions::default()
    }
}

fn file(path: &str, status: ChangeStatus) -> ChangedFile {
    ChangedFile::new(path, status)
}

fn detect(repo: &Path, opts: &GitOptions) -> GitChange {
    detect_change(repo, opts).unwrap_or_else(|err| panic!("detect_change failed: {err}"))
}

/// Enough text that an edited copy still counts as a rename.
const BODY: &str = "fn main() {\n    println!(\"one\");\n    println!(\"two\");\n}\n";

#[cfg(unix)]
#[test]
fn reports_added_modified_deleted_and_typechanged_files() {
    let sb = Sandbox::new();
    let repo = sb.init("repo", "main");
    for name in ["keep.txt", "mod.txt", "del.txt", "link.txt"] {
        write(&repo, name, name);
    }
    let fork = sb.commit(&repo, "base");
    sb.git(&repo, &["checkout", "-q", "-b", "feature"]);
    write(&repo, "new.txt", "new");
    write(&repo, "mod.txt", "changed");
    fs::remove_file(repo.join("del.txt")).unwrap();
    fs::remove_file(repo.join("link.txt")).unwrap();
    std::os::unix::fs::symlink("keep.txt", repo.join("link.txt")).unwrap();
    let head = sb.commit(&repo, "feature");

    let result = detect(&repo, &opts(Some("main"), None));
    assert_eq!(
        result.change.files,
        [
            file("del.txt", ChangeStatus::Deleted),
            file("link.txt", ChangeStatus::TypeChange),
            file("mod.txt", ChangeStatus::Modified),
            file("new.txt", ChangeStatus::Added),
        ]
    );
    let origin = &result.change.origin;
    assert_eq!(origin.base.as_deref(), Some(fork.as_str()));
    assert_eq!(origin.head.as_deref(), Some(head.as_str()));
    assert_eq!(
        origin.base_description.as_deref(),
        Some("merge-base of main and HEAD")
    );
    assert_eq!(origin.schedule_all_reason, None);
    assert_eq!(result.warnings, Vec::<String>::new());
}

#[test]
fn a_rename_is_one_entry_even_if_config_disables_renames() {
    let sb = Sandbox::new();
    let repo = sb.init("repo", "main");
    write(&repo, "src/old_name.rs", BODY);
    sb.commit(&repo, "base");
    sb.git(&repo, &["config", "diff.renames", "false"]);
    sb.git(&repo, &["checkout", "-q", "-b", "feature"]);
    sb.git(&repo, &["mv", "src/old_name.rs", "src/new_name.rs"]);
    write(&repo, "src/new_name.rs", &format!("{BODY}// edited\n"));
    sb.commit(&repo, "rename");

    let result = detect(&repo, &opts(Some("main"), Some("feature")));
    assert_eq!(
        result.change.files,
        [ChangedFile::renamed("src/old_name.rs", "src/new_name.rs")]
    );
}

#[test]
fn compares_from_the_merge_base_like_three_dot_diff() {
    let sb = Sandbox::new();
    let repo = sb.init("repo", "main");
    write(&repo, "a.txt", "a");
    write(&repo, "b.txt", "b");
    let fork = sb.commit(&repo, "fork point");
    sb.git(&repo, &["tag", "-a", "-m", "release", "v1"]);
    sb.git(&repo, &["checkout", "-q", "-b", "feature"]);
    write(&repo, "b.txt", "feature");
    let head = sb.commit(&repo, "feature work");
    sb.git(&repo, &["checkout", "-q", "main"]);
    write(&repo, "a.txt", "main moved on");
    write(&repo, "main_only.txt", "main");
    let main = sb.commit(&repo, "later work on main");

    let result = detect(&repo, &opts(Some("main"), Some("feature")));
    assert_eq!(result.change.files, [file("b.txt", ChangeStatus::Modified)]);
    let origin = &result.change.origin;
    assert_eq!(origin.base.as_deref(), Some(fork.as_str()));
    assert_ne!(fork, main);
    assert_eq!(origin.head.as_deref(), Some(head.as_str()));
    assert_eq!(
        origin.base_description.as_deref(),
        Some("merge-base of main and feature")
    );

    // An annotated tag and a raw commit id work as base and head; the origin
    // records commits, not the tag object.
    let result = detect(&repo, &opts(Some("v1"), Some(&head)));
    assert_eq!(result.change.files, [file("b.txt", ChangeStatus::Modified)]);
    assert_eq!(result.change.origin.base.as_deref(), Some(fork.as_str()));
    assert_eq!(result.change.origin.head.as_deref(), Some(head.as_str()));

    // So do commit-message searches, even ones containing `..`.
    for base in [":/fork point", ":/fork..oint"] {
        let result = detect(&repo, &opts(Some(base), Some("feature")));
        assert_eq!(result.change.files, [file("b.txt", ChangeStatus::Modified)]);
        assert_eq!(result.change.origin.base.as_deref(), Some(fork.as_str()));
    }
}

#[test]
fn several_merge_bases_diff_from_the_one_git_diff_uses() {
    let sb = Sandbox::new();
    let repo = sb.init("repo", "main");
    write(&repo, "base.txt", "base");
    sb.commit(&repo, "base");
    // A criss-cross history: `a` and `b` each merged the other's first commit.
    sb.git(&repo, &["checkout", "-q", "-b", "a"]);
    write(&repo, "a.txt", "a");
    let a1 = sb.commit(&repo, "a1");
    sb.git(&repo, &["checkout", "-q", "-b", "b", "main"]);
    write(&repo, "b.txt", "b");
    let b1 = sb.commit(&repo, "b1");
    sb.git(&repo, &["merge", "-q", "--no-ff", "--no-edit", &a1]);
    write(&repo, "y.txt", "y");
    let head = sb.commit(&repo, "b2");
    sb.git(&repo, &["checkout", "-q", "a"]);
    sb.git(&repo, &["merge", "-q", "--no-ff", "--no-edit", &b1]);
    write(&repo, "x.txt", "x");
    sb.commit(&repo, "a2");
    assert_eq!(
        sb.git(&repo, &["merge-base", "--all", "a", "b"])
            .lines()
            .count(),
        2
    );

    let result = detect(&repo, &opts(Some("a"), Some("b")));
    let merge_base = sb.git(&repo, &["merge-base", "a", "b"]);
    let origin = &result.change.origin;
    assert_eq!(origin.base.as_deref(), Some(merge_base.as_str()));
    assert_eq!(origin.head.as_deref(), Some(head.as_str()));
    let paths: Vec<&str> = result
        .change
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    let expected = sb.git(&repo, &["diff", "--name-only", "a...b"]);
    assert_eq!(paths, expected.lines().collect::<Vec<_>>());
    assert_eq!(
        result.warnings,
        [format!(
            "a and b have 2 merge-bases; comparing from the first, {merge_base}"
        )]
    );
}

#[test]
fn default_base_is_the_remote_default_branch() {
    let sb = Sandbox::new();
    let remote = sb.path("remote.git");
    sb.git(
        sb.root.path(),
        &["init", "-q", "--bare", "-b", "trunk", "remote.git"],
    );
    let seed = sb.init("seed", "trunk");
    write(&seed, "README", "hello");
    let trunk = sb.commit(&seed, "initial");
    sb.git(&seed, &["push", "-q", remote.to_str().unwrap(), "trunk"]);
    sb.git(
        sb.root.path(),
        &["clone", "-q", remote.to_str().unwrap(), "clone"],
    );
    let clone = sb.path("clone");
    assert_eq!(
        sb.git(&clone, &["symbolic-ref", "refs/remotes/origin/HEAD"]),
        "refs/remotes/origin/trunk"
    );
    sb.git(&clone, &["checkout", "-q", "-b", "feature"]);
    write(&clone, "feature.txt", "feature");
    sb.commit(&clone, "feature");
    // A local `main` at the head must not win over the remote's default branch.
    sb.git(&clone, &["branch", "main"]);

    let result = detect(&clone, &GitOptions::default());
    assert_eq!(
        result.change.files,
        [file("feature.txt", ChangeStatus::Added)]
    );
    let origin = &result.change.origin;
    assert_eq!(origin.base.as_deref(), Some(trunk.as_str()));
    assert_eq!(
        origin.base_description.as_deref(),
        Some("merge-base of origin/trunk and HEAD")
    );
}

#[test]
fn default_base_falls_back_to_local_main_or_master() {
    let sb = Sandbox::new();
    for branch in ["main", "master"] {
        let repo = sb.init(branch, branch);
        write(&repo, "a.txt", "a");
        let fork = sb.commit(&repo, "base");
        sb.git(&repo, &["checkout", "-q", "-b", "feature"]);
        write(&repo, "b.txt", "b");
        sb.commit(&repo, "feature");

        let result = detect(&repo, &GitOptions::default());
        assert_eq!(result.change.files, [file("b.txt", ChangeStatus::Added)]);
        let origin = &result.change.origin;
        assert_eq!(origin.base.as_deref(), Some(fork.as_str()));
        let description = format!("merge-base of {branch} and HEAD");
        assert_eq!(
            origin.base_description.as_deref(),
            Some(description.as_str())
        );
    }
}

#[test]
fn no_default_base_is_an_error_suggesting_base() {
    let sb = Sandbox::new();
    let repo = sb.init("repo", "trunk");
    sb.commit(&repo, "initial");
    // A tag called `main` is not the branch `main`.
    sb.git(&repo, &["tag", "main"]);

    let err = detect_change(&repo, &GitOptions::default()).unwrap_err();
    assert!(matches!(err, GitError::NoDefaultBase), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no base revision: none of `origin/HEAD`, `origin/main`, `origin/master`, `main` or \
         `master` exists"
    );
    assert_eq!(err.hint().as_deref(), Some("pass --base REV"));
}

#[test]
fn uncommitted_adds_staged_unstaged_and_untracked_but_not_ignored_files() {
    let sb = Sandbox::new();
    let repo = sb.init("repo", "main");
    write(&repo, ".gitignore", "*.log\nbuild/\n");
    for name in ["committed.txt", "staged.txt", "unstaged.txt", "gone.txt"] {
        write(&repo, name, name);
    }
    let fork = sb.commit(&repo, "base");
    sb.git(&repo, &["checkout", "-q", "-b", "feature"]);
    write(&repo, "committed.txt", "committed change");
    let head = sb.commit(&repo, "feature");
    write(&repo, "staged.txt", "staged change");
    write(&repo, "new_staged.txt", "new");
    sb.git(&repo, &["add", "staged.txt", "new_staged.txt"]);
    write(&repo, "unstaged.txt", "unstaged change");
    fs::remove_file(repo.join("gone.txt")).unwrap();
    write(&repo, "dir/untracked ü.txt", "untracked");
    write(&repo, "debug.log", "ignored");
    write(&repo, "build/out.bin", "ignored");

    let committed = detect(&repo, &opts(Some("main"), None));
    assert_eq!(
        committed.change.files,
        [file("committed.txt", ChangeStatus::Modified)]
    );

    let options = GitOptions {
        uncommitted: true,
        ..opts(Some("main"), None)
    };
    let result = detect(&repo, &options);
    assert_eq!(
        result.change.files,
        [
            file("committed.txt", ChangeStatus::Modified),
            file("dir/untracked ü.txt", ChangeStatus::Added),
            file("gone.txt", ChangeStatus::Deleted),
            file("new_staged.txt", ChangeStatus::Added),
            file("staged.txt", ChangeStatus::Modified),
            file("unstaged.txt", ChangeStatus::Modified),
        ]
    );
    let origin = &result.change.origin;
    assert_eq!(origin.base.as_deref(), Some(fork.as_str()));
    assert_eq!(origin.head.as_deref(), Some(head.as_str()));
    assert_eq!(
        origin.base_description.as_deref(),
        Some(
            "merge-base of main and HEAD, plus uncommitted and untracked files in the working tree"
        )
    );

    // Run from a subdirectory, paths stay repository-relative and cover the
    // whole tree.
    let from_subdir = detect(&repo.join("dir"), &options);
    assert_eq!(from_subdir.change.files, result.change.files);
}

#[test]
fn uncommitted_requires_the_checked_out_head() {
    let sb = Sandbox::new();
    let repo = sb.init("repo", "main");
    sb.commit(&repo, "base");
    sb.git(&repo, &["branch", "other"]);
    sb.commit(&repo, "main moves");

    let options = GitOptions {
        uncommitted: true,
        ..opts(Some("main"), Some("other"))
    };
    let err = detect_change(&repo, &options).unwrap_err();
    assert!(
        matches!(&err, GitError::HeadNotCheckedOut { head } if head == "other"),
        "{err:?}"
    );

    // Naming the checked-out branch explicitly is fine.
    let options = GitOptions {
        uncommitted: true,
        ..opts(Some("main"), Some("main"))
    };
    assert_eq!(detect(&repo, &options).change.files, []);
}

#[test]
fn paths_with_spaces_newlines_and_unicode_survive() {
    let sb = Sandbox::new();
    let repo = sb.init("repo", "main");
    write(&repo, "a b.txt", BODY);
    write(&repo, "plain.txt", "plain");
    sb.commit(&repo, "base");
    sb.git(&repo, &["checkout", "-q", "-b", "feature"]);
    write(&repo, "dir with space/file name.txt", "x");
    write(&repo, "日本語/ñandú.rs", "x");
    if cfg!(unix) {
        write(&repo, "line\nbreak.txt", "x");
    }
    sb.git(&repo, &["mv", "a b.txt", "c d.txt"]);
    sb.commit(&repo, "odd names");

    let result = detect(&repo, &opts(Some("main"), None));
    let mut expected = vec![
        ChangedFile::renamed("a b.txt", "c d.txt"),
        file("dir with space/file name.txt", ChangeStatus::Added),
        file("日本語/ñandú.rs", ChangeStatus::Added),
    ];
    if cfg!(unix) {
        expected.insert(2, file("line\nbreak.txt", ChangeStatus::Added));
    }
    assert_eq!(result.change.files, expected);

    let mut tracked = vec![
        "c d.txt",
        "dir with space/file name.txt",
        "plain.txt",
        "日本語/ñandú.rs",
    ];
    if cfg!(unix) {
        tracked.insert(2, "line\nbreak.txt");
    }
    assert_eq!(tracked_files(&repo).unwrap(), tracked);
}

/// A repository with `commits` commits on `main`, each touching `n.txt`;
/// returns the commit ids, oldest first.
fn repo_with_history(sb: &Sandbox, name: &str, commits: usize) -> (PathBuf, Vec<String>) {
    let repo = sb.init(name, "main");
    let ids = (0..commits)
        .map(|n| {
            write(&repo, &format!("{n}.txt"), "x");
            sb.commit(&repo, &format!("commit {n}"))
        })
        .collect();
    (repo, ids)
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

#[test]
fn shallow_clone_missing_the_base_schedules_everything() {
    let sb = Sandbox::new();
    let (source, ids) = repo_with_history(&sb, "source", 8);
    sb.git(
        sb.root.path(),
        &["clone", "-q", "--depth", "1", &file_url(&source), "shallow"],
    );
    let shallow = sb.path("shallow");
    let tip = ids.last().unwrap();

    for base in ["HEAD~5", ids[1].as_str()] {
        let result = detect(&shallow, &opts(Some(base), None));
        let reason = format!("base {base} not in this shallow clone (fetch more history)");
        assert_eq!(result.change.files, []);
        let origin = &result.change.origin;
        assert_eq!(origin.schedule_all_reason.as_deref(), Some(reason.as_str()));
        assert_eq!(origin.base, None);
        assert_eq!(origin.head.as_deref(), Some(tip.as_str()));
        let description = format!("merge-base of {base} and HEAD");
        assert_eq!(
            origin.base_description.as_deref(),
            Some(description.as_str())
        );
        assert_eq!(
            result.warnings,
            [format!(
                "{reason}; scheduling every task (hint: {SHALLOW_HINT})"
            )]
        );

        let strict = GitOptions {
            strict_base: true,
            ..opts(Some(base), None)
        };
        let err = detect_change(&shallow, &strict).unwrap_err();
        assert!(
            matches!(&err, GitError::ShallowBase { base: b } if b == base),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("base `{base}` is not in this shallow clone")
        );
        assert_eq!(err.hint().as_deref(), Some(SHALLOW_HINT));
    }
}

#[test]
fn shallow_clone_without_a_merge_base_schedules_everything() {
    let sb = Sandbox::new();
    let (source, _) = repo_with_history(&sb, "source", 3);
    sb.git(&source, &["checkout", "-q", "-b", "feature", "HEAD~1"]);
    write(&source, "feature.txt", "feature");
    let feature = sb.commit(&source, "feature");
    sb.git(&source, &["checkout", "-q", "main"]);
    sb.git(
        sb.root.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            &file_url(&source),
            "shallow",
        ],
    );
    let shallow = sb.path("shallow");
    sb.git(&shallow, &["checkout", "-q", "feature"]);

    let result = detect(&shallow, &GitOptions::default());
    assert_eq!(result.change.files, []);
    let origin = &result.change.origin;
    assert_eq!(
        origin.schedule_all_reason.as_deref(),
        Some("base origin/main not in this shallow clone (fetch more history)")
    );
    assert_eq!(origin.head.as_deref(), Some(feature.as_str()));
    assert_eq!(
        origin.base_description.as_deref(),
        Some("merge-base of origin/main and HEAD")
    );
    assert_eq!(result.warnings.len(), 1);
}

#[test]
fn unknown_revisions_in_a_full_clone_are_errors() {
    let sb = Sandbox::new();
    let (repo, _) = repo_with_history(&sb, "repo", 2);

    for (options, rev) in [
        (opts(Some("no-such-branch"), None), "no-such-branch"),
        (opts(Some("main"), Some("no/such/head")), "no/such/head"),
        (opts(Some("HEAD~7"), None), "HEAD~7"),
    ] {
        let err = detect_change(&repo, &options).unwrap_err();
        assert!(
            matches!(&err, GitError::UnknownRevision { rev: r } if r == rev),
            "{err:?}"
        );
        assert_eq!(err.to_string(), format!("unknown revision `{rev}`"));
        assert!(err.hint().is_some());
    }
}

#[test]
fn unrelated_histories_are_an_error() {
    let sb = Sandbox::new();
    let (repo, _) = repo_with_history(&sb, "repo", 2);
    sb.git(&repo, &["checkout", "-q", "--orphan", "orphan"]);
    sb.commit(&repo, "unrelated");

    let err = detect_change(&repo, &opts(Some("main"), Some("orphan"))).unwrap_err();
    assert!(
        matches!(&err, GitError::NoMergeBase { base, head } if base == "main" && head == "orphan"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "`main` and `orphan` have no common ancestor"
    );
}

#[test]
fn revisions_that_look_like_options_are_rejected() {
    let sb = Sandbox::new();
    let (repo, _) = repo_with_history(&sb, "repo", 1);
    let err = detect_change(&repo, &opts(Some("--output=/tmp/x"), None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid revision `--output=/tmp/x`: it starts with `-`"
    );
}

#[test]
fn outside_a_repository_every_entry_point_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let check = |err: GitError| {
        let GitError::NotARepository { path, failure } = &err else {
            panic!("expected NotARepository, got {err:?}");
        };
        assert_eq!(path, dir.path());
        assert!(failure.command.starts_with("git -C "), "{failure:?}");
        assert!(
            failure.stderr.contains("not a git repository"),
            "{failure:?}"
        );
        assert!(
            err.to_string().contains("is not inside a git repository"),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("--files-from"));
    };
    check(detect_change(dir.path(), &GitOptions::default()).unwrap_err());
    check(detect_change(dir.path(), &opts(Some("main"), None)).unwrap_err());
    check(repo_root(dir.path()).unwrap_err());
    check(tracked_files(dir.path()).unwrap_err());

    let missing = dir.path().join("missing");
    let err = detect_change(&missing, &opts(Some("main"), None)).unwrap_err();
    let GitError::NotARepository { path, failure } = &err else {
        panic!("expected NotARepository, got {err:?}");
    };
    assert_eq!(path, &missing);
    assert!(failure.stderr.contains("cannot change to"), "{failure:?}");
}

#[test]
fn failures_name_the_command_and_quote_git() {
    let sb = Sandbox::new();
    sb.git(sb.root.path(), &["init", "-q", "--bare", "bare.git"]);
    let err = repo_root(&sb.path("bare.git")).unwrap_err();
    let GitError::Command(failure) = &err else {
        panic!("expected Command, got {err:?}")
    };
    assert!(failure.command.starts_with("git -C "), "{failure:?}");
    assert!(
        failure
            .command
            .ends_with("bare.git rev-parse --show-toplevel"),
        "{failure:?}"
    );
    assert_eq!(failure.code, Some(128));
    assert_eq!(
        failure.stderr,
        "fatal: this operation must be run in a work tree"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` failed with exit code 128: {}",
            failure.command, failure.stderr
        )
    );
}

#[test]
fn repo_root_and_tracked_files_work_from_a_subdirectory() {
    let sb = Sandbox::new();
    let repo = sb.init("repo", "main");
    write(&repo, "top.txt", "x");
    write(&repo, "sub/inner.txt", "x");
    sb.commit(&repo, "files");
    write(&repo, "untracked.txt", "x");

    let root = repo_root(&repo.join("sub")).unwrap();
    assert_eq!(root.canonicalize().unwrap(), repo.canonicalize().unwrap());
    assert_eq!(
        tracked_files(&repo.join("sub")).unwrap(),
        ["sub/inner.txt", "top.txt"]
    );
}

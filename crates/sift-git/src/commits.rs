//! Past commits read straight from git objects, for `sift replay` and
//! `sift quality`: a commit's files (its `sift.toml`, included task files,
//! nested rule files) and the change between two commits, without a
//! checkout. The repository is opened once; a thousand pushes then cost
//! milliseconds each.
//!
//! gix's repository handles are neither `Send` nor `Sync` in this build (no
//! `parallel` feature), while rule files are read from several threads at
//! once. So one reader thread owns the repository and answers requests over
//! a channel; [`CommitFiles`] and [`CommitReader`] only hold the sending end.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use gix::ObjectId;
use gix::bstr::ByteSlice;
use sift_core::config::FileSource;
use sift_core::{Change, ChangeOrigin};

use crate::{GitError, GitOptions};

enum Request {
    /// The tree of a commit (full hex SHA).
    Tree(String, mpsc::Sender<Option<ObjectId>>),
    /// A file of a tree: its blob id and text.
    Read(
        ObjectId,
        String,
        mpsc::Sender<Option<(ObjectId, Option<String>)>>,
    ),
    /// The files at or below a path of a tree.
    Walk(ObjectId, String, mpsc::Sender<Vec<String>>),
    /// The change between two commits, if the in-process path is sure.
    Change(
        String,
        String,
        mpsc::Sender<Option<crate::in_process::Committed>>,
    ),
}

/// A repository opened once for reading many commits.
#[derive(Clone)]
pub struct CommitReader {
    root: PathBuf,
    requests: mpsc::Sender<Request>,
}

impl std::fmt::Debug for CommitReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitReader")
            .field("root", &self.root)
            .finish()
    }
}

impl CommitReader {
    /// Opens the repository whose work tree (or `.git`) contains `root`.
    pub fn open(root: &Path) -> Result<CommitReader, GitError> {
        let (requests, inbox) = mpsc::channel::<Request>();
        let (opened, ready) = mpsc::channel::<Result<(), String>>();
        let dir = root.to_owned();
        std::thread::Builder::new()
            .name("sift-git-reader".to_owned())
            .spawn(move || {
                let repo = match gix::discover(&dir) {
                    Ok(repo) => {
                        let _ = opened.send(Ok(()));
                        repo
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e.to_string()));
                        return;
                    }
                };
                // Ends when every sender is gone.
                for request in inbox {
                    serve(&repo, request);
                }
            })
            .map_err(|e| GitError::Open {
                path: root.to_owned(),
                detail: e.to_string(),
            })?;
        match ready.recv() {
            Ok(Ok(())) => Ok(CommitReader {
                root: root.to_owned(),
                requests,
            }),
            Ok(Err(detail)) => Err(GitError::Open {
                path: root.to_owned(),
                detail,
            }),
            Err(_) => Err(GitError::Open {
                path: root.to_owned(),
                detail: "the reader thread stopped".to_owned(),
            }),
        }
    }

    fn ask<T>(&self, request: impl FnOnce(mpsc::Sender<T>) -> Request) -> Option<T> {
        let (reply, answer) = mpsc::channel();
        self.requests.send(request(reply)).ok()?;
        answer.recv().ok()
    }

    /// The files of `commit`'s tree; `None` if there is no such commit here.
    pub fn files_at(&self, commit: &str) -> Option<CommitFiles> {
        let tree = self.ask(|reply| Request::Tree(commit.to_owned(), reply))??;
        Some(CommitFiles {
            commit: commit.to_owned(),
            tree,
            reader: self.clone(),
        })
    }

    /// The change from `base` to `head` (full SHAs), as `sift plan --base
    /// BASE --head HEAD` sees it: in-process when that is sure to match
    /// git, else through the git command line (possible renames).
    pub fn change(&self, base: &str, head: &str) -> Result<Change, GitError> {
        let committed = self
            .ask(|reply| Request::Change(base.to_owned(), head.to_owned(), reply))
            .flatten();
        if let Some(committed) = committed {
            let origin = ChangeOrigin {
                base: Some(committed.merge_base),
                head: Some(committed.head),
                base_description: None,
                base_name: Some(base.to_owned()),
                schedule_all_reason: None,
            };
            return Ok(Change::new(origin, committed.files));
        }
        let options = GitOptions {
            base: Some(base.to_owned()),
            head: Some(head.to_owned()),
            uncommitted: false,
            strict_base: true,
        };
        Ok(crate::detect_change(&self.root, &options)?.change)
    }
}

fn serve(repo: &gix::Repository, request: Request) {
    match request {
        Request::Tree(commit, reply) => {
            let tree = ObjectId::from_hex(commit.as_bytes())
                .ok()
                .and_then(|id| repo.find_commit(id).ok())
                .and_then(|c| c.tree_id().ok())
                .map(|id| id.detach());
            let _ = reply.send(tree);
        }
        Request::Read(tree, path, reply) => {
            let _ = reply.send(read(repo, tree, &path));
        }
        Request::Walk(tree, dir, reply) => {
            let _ = reply.send(walk(repo, tree, &dir));
        }
        Request::Change(base, head, reply) => {
            let _ = reply.send(crate::in_process::committed_change(repo, &base, &head));
        }
    }
}

/// The blob id of `path` in `tree`, and its text if it is UTF-8.
fn read(repo: &gix::Repository, tree: ObjectId, path: &str) -> Option<(ObjectId, Option<String>)> {
    let tree = repo.find_tree(tree).ok()?;
    let entry = tree.lookup_entry_by_path(path).ok()??;
    if !entry.mode().is_blob() {
        return None;
    }
    let id = entry.object_id();
    let blob = entry.object().ok()?;
    Some((id, String::from_utf8(blob.data.clone()).ok()))
}

fn walk(repo: &gix::Repository, tree: ObjectId, dir: &str) -> Vec<String> {
    let Ok(root) = repo.find_tree(tree) else {
        return Vec::new();
    };
    let (tree, prefix) = if dir.is_empty() {
        (root, String::new())
    } else {
        let Ok(Some(entry)) = root.lookup_entry_by_path(dir) else {
            return Vec::new();
        };
        if entry.mode().is_blob() {
            return vec![dir.to_owned()];
        }
        let Some(tree) = entry.object().ok().and_then(|o| o.try_into_tree().ok()) else {
            return Vec::new();
        };
        (tree, format!("{dir}/"))
    };
    let Ok(entries) = tree.traverse().breadthfirst.files() else {
        return Vec::new();
    };
    let mut paths: Vec<String> = entries
        .into_iter()
        .filter(|e| e.mode.is_blob())
        .filter_map(|e| e.filepath.to_str().ok().map(|p| format!("{prefix}{p}")))
        .collect();
    paths.sort_unstable();
    paths
}

/// One commit's files, read on demand.
#[derive(Clone)]
pub struct CommitFiles {
    commit: String,
    tree: ObjectId,
    reader: CommitReader,
}

impl std::fmt::Debug for CommitFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitFiles")
            .field("commit", &self.commit)
            .finish()
    }
}

impl CommitFiles {
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// The blob id of `path` in this commit, if it is a file: two commits
    /// whose `sift.toml` has the same id have the same configuration file.
    pub fn blob_id(&self, path: &str) -> Option<String> {
        self.reader
            .ask(|reply| Request::Read(self.tree, path.to_owned(), reply))?
            .map(|(id, _)| id.to_string())
    }
}

impl FileSource for CommitFiles {
    fn read(&self, path: &str) -> Option<String> {
        self.reader
            .ask(|reply| Request::Read(self.tree, path.to_owned(), reply))??
            .1
    }

    fn walk(&self, dir: &str, visit: &mut dyn FnMut(&str)) {
        let paths = self
            .reader
            .ask(|reply| Request::Walk(self.tree, dir.to_owned(), reply))
            .unwrap_or_default();
        for path in paths {
            visit(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "T")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "T")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    #[test]
    fn files_and_changes_of_past_commits() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("sift.toml"), "one").unwrap();
        std::fs::write(root.join("a/b/sift.toml"), "nested").unwrap();
        std::fs::write(root.join("a/x.txt"), "x").unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "one"]);
        let first = git(root, &["rev-parse", "HEAD"]);
        std::fs::write(root.join("sift.toml"), "two").unwrap();
        std::fs::remove_file(root.join("a/x.txt")).unwrap();
        std::fs::write(root.join("a/y.txt"), "y").unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "two"]);
        let second = git(root, &["rev-parse", "HEAD"]);
        // The work tree moves on; the commits do not.
        std::fs::write(root.join("sift.toml"), "three").unwrap();

        let reader = CommitReader::open(root).unwrap();
        let files = reader.files_at(&first).unwrap();
        assert_eq!(files.read("sift.toml").as_deref(), Some("one"));
        assert_eq!(files.read("a/b/sift.toml").as_deref(), Some("nested"));
        assert_eq!(files.read("a/nope"), None);
        assert_eq!(files.read("a"), None, "a folder is not a file");
        let mut seen = Vec::new();
        files.walk("a", &mut |p| seen.push(p.to_owned()));
        assert_eq!(seen, ["a/b/sift.toml", "a/x.txt"]);
        let later = reader.files_at(&second).unwrap();
        assert_eq!(later.read("sift.toml").as_deref(), Some("two"));
        assert_ne!(later.blob_id("sift.toml"), files.blob_id("sift.toml"));
        assert_eq!(
            later.blob_id("a/b/sift.toml"),
            files.blob_id("a/b/sift.toml")
        );
        assert!(reader.files_at(&"0".repeat(40)).is_none());

        // A deletion and an addition: possibly a rename, so git decides.
        let change = reader.change(&first, &second).unwrap();
        let paths: Vec<&str> = change.all_paths();
        assert_eq!(paths, ["a/x.txt", "a/y.txt", "sift.toml"]);
        assert_eq!(change.origin.base.as_deref(), Some(first.as_str()));
        // Used from several threads at once, as rule files are.
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| assert_eq!(later.read("a/y.txt").as_deref(), Some("y")));
            }
        });
    }
}

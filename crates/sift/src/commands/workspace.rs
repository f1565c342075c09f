//! The adapters `lockfile`/`manifest` rules and `sift init` need: the
//! checkout as a [`Tree`], and both versions of a changed file (the base
//! from git's objects) as [`Revisions`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sift_core::Change;
use sift_core::select::plan::Plan;
use sift_core::workspace::Tree;
use sift_core::workspace::resolve::{Outcome, Revisions};

use crate::cli::ChangeArgs;
use crate::output;

/// The checkout on disk.
pub struct DiskTree {
    pub root: PathBuf,
}

impl Tree for DiskTree {
    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(path)).ok()
    }

    fn list(&self, dir: &str) -> Vec<(String, bool)> {
        let Ok(entries) = std::fs::read_dir(self.root.join(dir)) else {
            return Vec::new();
        };
        let mut out: Vec<(String, bool)> = entries
            .filter_map(Result::ok)
            .map(|e| {
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                (e.file_name().to_string_lossy().into_owned(), is_dir)
            })
            .collect();
        out.sort();
        out
    }
}

/// A file at one side of the change: its text, absent, or why it cannot be read.
type FileAt = Result<Option<String>, String>;

/// The change's two sides: git objects for committed revisions, the
/// working tree for `--uncommitted` heads and `--files-from` lists (which
/// have no base).
pub struct GitRevisions {
    tree: DiskTree,
    base: Result<String, String>,
    /// `None`: the working tree.
    head: Option<String>,
    cache: RefCell<HashMap<(bool, String), FileAt>>,
}

impl GitRevisions {
    pub fn new(root: &Path, change: &Change, args: &ChangeArgs) -> GitRevisions {
        let base = if args.files_from.is_some() {
            Err("the change came from --files-from, so there is no base version to compare (let sift read the change from git to narrow lockfile changes)".to_owned())
        } else {
            change
                .origin
                .base
                .clone()
                .ok_or_else(|| "the change has no base commit".to_owned())
        };
        let head = if args.files_from.is_some() || args.uncommitted {
            None
        } else {
            change.origin.head.clone()
        };
        GitRevisions {
            tree: DiskTree {
                root: root.to_owned(),
            },
            base,
            head,
            cache: RefCell::new(HashMap::new()),
        }
    }

    fn at(&self, rev: &str, path: &str) -> Result<Option<String>, String> {
        match sift_git::read_files_at(&self.tree.root, &[(rev, path)]) {
            Ok(mut files) => match files.pop().flatten() {
                None => Ok(None),
                Some(bytes) => String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| "it is not UTF-8 text".to_owned()),
            },
            Err(e) => Err(e.to_string()),
        }
    }

    fn cached(
        &self,
        base: bool,
        path: &str,
        read: impl FnOnce() -> Result<Option<String>, String>,
    ) -> Result<Option<String>, String> {
        let key = (base, path.to_owned());
        if let Some(hit) = self.cache.borrow().get(&key) {
            return hit.clone();
        }
        let value = read();
        self.cache.borrow_mut().insert(key, value.clone());
        value
    }
}

impl Revisions for GitRevisions {
    fn base(&self, path: &str) -> Result<Option<String>, String> {
        self.cached(true, path, || match &self.base {
            Ok(rev) => self.at(rev, path),
            Err(reason) => Err(reason.clone()),
        })
    }

    fn head(&self, path: &str) -> Result<Option<String>, String> {
        self.cached(false, path, || match &self.head {
            Some(rev) => self.at(rev, path),
            None => Ok(self.tree.read(path)),
        })
    }

    fn checkout(&self) -> &dyn Tree {
        &self.tree
    }
}

/// Warns, on stderr, about changed lockfiles and manifests sift could not
/// attribute: the plan treats them as affecting every component.
pub fn report(plan: &Plan) {
    for attribution in &plan.analysis.workspace {
        if let Outcome::Everything(reason) = &attribution.outcome {
            output::warning(&format!(
                "{} ({}): every component is affected: {reason}",
                attribution.path,
                attribution.rule.describe()
            ));
        }
    }
}

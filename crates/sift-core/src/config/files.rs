//! Where a configuration's other files come from: included task files and
//! nested rule files. Normally the work tree; `sift replay` reads them from
//! a past commit's tree instead (an adapter in sift-git), so a push is
//! re-planned with the rule files it had, without a checkout.

use std::path::{Path, PathBuf};

/// Repository files by repository-relative, `/`-separated path.
pub trait FileSource: Send + Sync + std::fmt::Debug {
    /// The text of a file, if it exists and is UTF-8.
    fn read(&self, path: &str) -> Option<String>;
    /// Every file at or below `dir` (`""`: the whole tree), in sorted order;
    /// `dir` itself when it names a file. `.git` is never visited.
    fn walk(&self, dir: &str, visit: &mut dyn FnMut(&str));
}

/// The files of a directory on disk (the work tree).
#[derive(Debug, Clone)]
pub struct WorkTree {
    root: PathBuf,
}

impl WorkTree {
    pub fn new(root: &Path) -> WorkTree {
        WorkTree {
            root: root.to_owned(),
        }
    }
}

impl FileSource for WorkTree {
    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(path)).ok()
    }

    fn walk(&self, dir: &str, visit: &mut dyn FnMut(&str)) {
        walk_files(&self.root, dir, visit);
    }
}

fn walk_files(root: &Path, rel_dir: &str, visit: &mut dyn FnMut(&str)) {
    let dir = if rel_dir.is_empty() {
        root.to_owned()
    } else {
        root.join(rel_dir)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        // The literal part may itself name a file.
        if dir.is_file() {
            visit(rel_dir);
        }
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".git" {
            continue;
        }
        let rel = if rel_dir.is_empty() {
            name
        } else {
            format!("{rel_dir}/{name}")
        };
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk_files(root, &rel, visit),
            Ok(t) if t.is_file() => visit(&rel),
            _ => {}
        }
    }
}

//! The change model: which files a change touched, however they were found
//! (git, a file list handed over by a CI system, a test).

use serde::Serialize;

/// How a file changed. A rename is reported once, with its old path in
/// [`ChangedFile::from`]; both paths count for scheduling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
    #[serde(rename = "typechange")]
    TypeChange,
}

/// One changed file, by repository-relative path with `/` separators.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ChangedFile {
    pub path: String,
    pub status: ChangeStatus,
    /// The old path of a rename; `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl ChangedFile {
    pub fn new(path: impl Into<String>, status: ChangeStatus) -> Self {
        ChangedFile {
            path: path.into(),
            status,
            from: None,
        }
    }

    pub fn renamed(from: impl Into<String>, to: impl Into<String>) -> Self {
        ChangedFile {
            path: to.into(),
            status: ChangeStatus::Renamed,
            from: Some(from.into()),
        }
    }

    /// Every path this change touches: the path, and the old path of a rename.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.path.as_str()).chain(self.from.as_deref())
    }
}

/// Where the change came from, for the plan's header and JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeOrigin {
    /// The commit the change is measured from (the merge-base of base and head), if known.
    pub base: Option<String>,
    /// The head commit, if known.
    pub head: Option<String>,
    /// How the base was chosen, for humans: "merge-base of origin/main and HEAD".
    pub base_description: Option<String>,
    /// The base revision as named (`origin/main`, `main`, `HEAD~1`), if any:
    /// `sift run` reads the base branch's history by it.
    pub base_name: Option<String>,
    /// Set when the change cannot be known (e.g. the base is missing from a
    /// shallow clone): every task must be scheduled, with this reason.
    pub schedule_all_reason: Option<String>,
}

/// A change: its files (sorted by path, deduplicated) and where it came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub origin: ChangeOrigin,
    pub files: Vec<ChangedFile>,
}

impl Change {
    /// Builds a change, sorting and deduplicating the files so that results never
    /// depend on the order a source listed them in.
    pub fn new(origin: ChangeOrigin, mut files: Vec<ChangedFile>) -> Self {
        // git lists files in tree order, which is byte order of the full
        // paths: checking costs one pass, sorting 100,000 strings much more.
        if !files.is_sorted() {
            files.sort();
        }
        files.dedup_by(|a, b| a.path == b.path && a.from == b.from);
        Change { origin, files }
    }

    /// Parses a newline-separated path list (`--files-from`). Blank lines and
    /// surrounding whitespace are ignored, `\` becomes `/`, a leading `./` is
    /// dropped. Status is unknown for such lists, so every path counts as modified.
    pub fn from_path_list(text: &str) -> Self {
        let files = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| ChangedFile::new(normalize_path(line), ChangeStatus::Modified))
            .collect();
        Change::new(ChangeOrigin::default(), files)
    }

    /// Every path the change touches (renames count twice), sorted, deduplicated.
    pub fn all_paths(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = Vec::with_capacity(self.files.len());
        let mut renames = false;
        for file in &self.files {
            paths.push(&file.path);
            if let Some(from) = &file.from {
                paths.push(from);
                renames = true;
            }
        }
        // `files` is sorted by path; only the old paths of renames can be out
        // of order, so large rename-free changes skip the sort.
        if renames {
            paths.sort_unstable();
        }
        paths.dedup();
        paths
    }
}

/// Normalizes a user-supplied repository path: `/` separators, no `./` prefix,
/// no trailing or doubled slashes.
pub fn normalize_path(path: &str) -> String {
    // Nearly every path is already clean; only the others pay for rebuilding.
    if is_normalized(path) {
        return path.to_owned();
    }
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." {
            continue;
        }
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(segment);
    }
    out
}

/// Whether [`normalize_path`] would return `path` unchanged.
fn is_normalized(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.contains("//")
        && !path.starts_with('/')
        && !path.ends_with('/')
        && path.split('/').all(|segment| segment != ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_list_is_normalized_sorted_and_deduplicated() {
        let change = Change::from_path_list("./b/x.py\n\n a\\y.rs \nb/x.py\nc//d/\n");
        let paths: Vec<_> = change.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["a/y.rs", "b/x.py", "c/d"]);
    }

    proptest::proptest! {
        /// The shortcut for clean paths never changes the result.
        #[test]
        fn clean_paths_need_no_rebuilding(path in "[a./\\\\]{0,8}") {
            if is_normalized(&path) {
                let mut rebuilt = String::new();
                for segment in path.split('/').filter(|s| !s.is_empty() && *s != ".") {
                    if !rebuilt.is_empty() { rebuilt.push('/'); }
                    rebuilt.push_str(segment);
                }
                proptest::prop_assert_eq!(normalize_path(&path), rebuilt);
            }
        }
    }

    #[test]
    fn renames_count_both_paths() {
        let change = Change::new(
            ChangeOrigin::default(),
            vec![
                ChangedFile::renamed("old/a.py", "new/a.py"),
                ChangedFile::new("z", ChangeStatus::Added),
            ],
        );
        assert_eq!(change.all_paths(), ["new/a.py", "old/a.py", "z"]);
    }
}

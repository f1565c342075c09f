//! The in-process fast path: a committed change read with gix instead of git
//! processes.
//!
//! Starting `git rev-parse` and `git diff` costs more than planning a small
//! change, so the 1.2x-of-`git diff` budget cannot be met with processes on
//! small ranges. This path opens the repository in-process, resolves the
//! revisions, finds the merge-base and diffs its tree against the head's
//! tree.
//!
//! It only answers when its answer is the one the git command line would
//! give; everything else returns `None` and the caller takes the command line
//! path, which also produces every user-facing error. In particular:
//!
//! * Renames. `git diff --find-renames` pairs deleted and added files by
//!   content similarity. gix can do that only with its `blob-diff` feature
//!   (attributes, filters, a blob diff), which is heavy, and its similarity
//!   scoring is not guaranteed to match git's to the byte. So a change with
//!   both an addition and a deletion is handed to git (the diff stops at the
//!   first such pair); without both, there is nothing to pair, and git's
//!   output has no renames either.
//! * Anything that could make gix and git see a different repository or
//!   revision: git's discovery and object environment variables, a repository
//!   git would not trust (`safe.directory`), a shallow clone, several
//!   merge-bases (git warns and picks one), revision syntax whose semantics
//!   gix may implement differently (`:/regex`, `^{/regex}`, `@{...}`), or a
//!   hash or ref format this build of gix does not read.
//! * Any gix error.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::Path;

use gix::bstr::{BStr, BString, ByteSlice, ByteVec};
use gix::diff::tree::{Visit, visit};
use gix::objs::tree::EntryMode;
use sift_core::{ChangeStatus, ChangedFile};

use crate::{BaseRev, FALLBACK_BASES, ORIGIN_HEAD};

/// Environment variables that change which repository, objects or refs git
/// uses. gix honours some of them differently or not at all, so with any of
/// them set the command line decides.
const GIT_ENVIRONMENT: [&str; 16] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_NAMESPACE",
    "GIT_REPLACE_REF_BASE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_GRAFT_FILE",
    "GIT_SHALLOW_FILE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_DEFAULT_HASH",
];

/// The repository containing `dir`, if gix can open it and git would use it
/// as is.
pub(crate) fn open(dir: &Path) -> Option<gix::Repository> {
    if GIT_ENVIRONMENT
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        return None;
    }
    let repo = gix::discover(dir).ok()?;
    // git refuses repositories owned by someone else unless configured
    // otherwise; its error message is the one to show.
    (repo.git_dir_trust() == gix::sec::Trust::Full).then_some(repo)
}

/// The default base, resolved like the command line path does it: the
/// target of `origin/HEAD` if that is a symbolic ref, else the first of the
/// fallback branches that names a commit. `None` when unsure.
pub(crate) fn default_base(repo: &gix::Repository) -> Option<BaseRev> {
    if let Some(origin_head) = repo.try_find_reference(ORIGIN_HEAD).ok()? {
        let gix::refs::TargetRef::Symbolic(target) = origin_head.target() else {
            return None;
        };
        let target = target.as_bstr().to_str().ok()?.to_owned();
        return Some(BaseRev::origin_head(target));
    }
    for (name, rev) in FALLBACK_BASES {
        if let Some(mut reference) = repo.try_find_reference(rev).ok()? {
            // A ref that does not lead to a commit is skipped by the command
            // line path; rare enough to leave to it.
            reference.peel_to_commit().ok()?;
            return Some(BaseRev {
                name: name.to_owned(),
                rev: rev.to_owned(),
            });
        }
    }
    None
}

/// A committed change: the head, the merge-base and the files between them.
pub(crate) struct Committed {
    pub head: String,
    pub merge_base: String,
    pub files: Vec<ChangedFile>,
}

/// The change from the merge-base of `base` and `head` to `head`, or `None`
/// if this path cannot be sure to match `git diff --name-status -M base...head`.
pub(crate) fn committed_change(
    repo: &gix::Repository,
    base: &str,
    head: &str,
) -> Option<Committed> {
    if repo.is_shallow().ok()? {
        return None;
    }
    let base = resolve_commit(repo, base)?;
    let head = resolve_commit(repo, head)?;
    let merge_bases = repo.merge_bases_many(base, &[head]).ok()?;
    let [merge_base] = merge_bases.as_slice() else {
        return None;
    };
    let merge_base = merge_base.detach();

    let old_tree = repo.find_commit(merge_base).ok()?.tree().ok()?;
    let new_tree = repo.find_commit(head).ok()?.tree().ok()?;
    let mut files = Files::default();
    gix::diff::tree(
        gix::objs::TreeRefIter::from_bytes(&old_tree.data, repo.object_hash()),
        gix::objs::TreeRefIter::from_bytes(&new_tree.data, repo.object_hash()),
        gix::diff::tree::State::default(),
        &repo.objects,
        &mut files,
    )
    .ok()?;
    // Stopped early, or (defensively) finished with a possible rename.
    if files.added && files.deleted {
        return None;
    }
    Some(Committed {
        head: head.to_string(),
        merge_base: merge_base.to_string(),
        files: files.files,
    })
}

/// `rev` peeled to a commit, if gix resolves it the way git would.
fn resolve_commit(repo: &gix::Repository, rev: &str) -> Option<gix::ObjectId> {
    // Ranges are not single revisions; message searches are regexes in git;
    // reflog selectors take git's approximate dates.
    if rev.contains("..") || rev.contains(':') || rev.contains("{/") || rev.contains("@{") {
        return None;
    }
    let id = repo.rev_parse_single(rev).ok()?;
    let commit = id.object().ok()?.peel_to_commit().ok()?;
    Some(commit.id)
}

/// git's notion of a file's type (`S_IFMT`): a change between types is a
/// type change (`T`), the executable bit is not a type.
fn file_type(mode: EntryMode) -> u8 {
    if mode.is_tree() {
        0
    } else if mode.is_link() {
        1
    } else if mode.is_commit() {
        2
    } else {
        3
    }
}

/// Collects changed files (never directories) with their full paths; stops
/// once the change has both an addition and a deletion.
#[derive(Default)]
struct Files {
    path: BString,
    queued_paths: VecDeque<BString>,
    files: Vec<ChangedFile>,
    added: bool,
    deleted: bool,
}

impl Files {
    fn push(&mut self, status: ChangeStatus) {
        // Lossy like the command line path, which gets the same bytes.
        let path = match std::str::from_utf8(&self.path) {
            Ok(path) => path.to_owned(),
            Err(_) => String::from_utf8_lossy(&self.path).into_owned(),
        };
        self.files.push(ChangedFile::new(path, status));
    }

    fn push_element(&mut self, name: &BStr) {
        if name.is_empty() {
            return;
        }
        if !self.path.is_empty() {
            self.path.push(b'/');
        }
        self.path.push_str(name);
    }
}

impl Visit for Files {
    fn pop_front_tracked_path_and_set_current(&mut self) {
        self.path = self.queued_paths.pop_front().unwrap_or_default();
    }

    fn push_back_tracked_path_component(&mut self, component: &BStr) {
        self.push_element(component);
        self.queued_paths.push_back(self.path.clone());
    }

    fn push_path_component(&mut self, component: &BStr) {
        self.push_element(component);
    }

    fn pop_path_component(&mut self) {
        match self.path.rfind_byte(b'/') {
            Some(pos) => self.path.truncate(pos),
            None => self.path.clear(),
        }
    }

    fn visit(&mut self, change: visit::Change) -> visit::Action {
        match change {
            visit::Change::Addition { entry_mode, .. } => {
                if !entry_mode.is_tree() {
                    self.added = true;
                    self.push(ChangeStatus::Added);
                }
            }
            visit::Change::Deletion { entry_mode, .. } => {
                if !entry_mode.is_tree() {
                    self.deleted = true;
                    self.push(ChangeStatus::Deleted);
                }
            }
            visit::Change::Modification {
                previous_entry_mode,
                previous_oid,
                entry_mode,
                oid,
            } => {
                let (before, after) = (file_type(previous_entry_mode), file_type(entry_mode));
                if before != after {
                    self.push(ChangeStatus::TypeChange);
                } else if before != 0
                    && (previous_oid != oid
                        || previous_entry_mode.is_executable() != entry_mode.is_executable())
                {
                    // Modes git considers equal (e.g. the legacy 100664 and
                    // 100644) with the same content are no change.
                    self.push(ChangeStatus::Modified);
                }
            }
        }
        if self.added && self.deleted {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

//! The in-process fast path: a committed change read with gix instead of git
//! processes.
//!
//! Starting `git rev-parse` and `git diff` costs more than planning a small
//! change, so the 1.2x-of-`git diff` budget cannot be met with processes on
//! small ranges. This path opens the repository in-process, resolves the
//! revisions, finds the merge-base and diffs its tree against the head's
//! tree.
//!
//! Objects are read through the light store of `objects` when the repository
//! has the plain layout it reads and the revisions have the common forms
//! `resolve_commit_light` resolves: gix's own store validates each pack
//! index as a whole when it opens it, which on a large repository costs more
//! than the rest of the plan. Otherwise gix's store is used.
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

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice, ByteVec};
use gix::diff::tree::{Visit, visit};
use gix::objs::tree::EntryMode;
use sift_core::{ChangeStatus, ChangedFile};

use crate::objects::{self, Objects};
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
    // The repository's own configuration only: nothing this path reads
    // (objects, refs, the trees between two commits) depends on the system
    // or user configuration, which gix would otherwise parse at every
    // start. `safe.directory`, which lives there, is not consulted, so a
    // repository owned by someone else is left to git (below).
    let repo = gix::discover_opts(
        dir,
        gix::discover::upwards::Options::default(),
        gix::open::Options::isolated(),
    )
    .ok()?;
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
    // git honours grafts (deprecated, but still read); gix does not.
    if repo.common_dir().join("info").join("grafts").exists() {
        return None;
    }
    if let Some(objects) = Objects::open(repo)
        && let Some(answer) = committed_change_light(repo, &objects, base, head)
    {
        return answer;
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

/// [`committed_change`] through the light object store: `None` if it cannot
/// tell (a revision form it does not resolve, an object it cannot read), so
/// that gix's own store is tried, `Some(None)` if the command line must decide.
pub(crate) fn committed_change_light(
    repo: &gix::Repository,
    objects: &Objects,
    base: &str,
    head: &str,
) -> Option<Option<Committed>> {
    let base = resolve_commit_light(repo, objects, base)?;
    let head = resolve_commit_light(repo, objects, head)?;
    let tree_of = |commit: ObjectId, buffer: &mut Vec<u8>| -> Option<ObjectId> {
        let data = objects::find_kind(objects, &commit, gix::objs::Kind::Commit, buffer)?;
        gix::objs::CommitRefIter::from_bytes(data, gix::hash::Kind::Sha1)
            .tree_id()
            .ok()
    };
    let (mut old_buffer, mut new_buffer) = (Vec::new(), Vec::new());
    let new_tree = tree_of(head, &mut new_buffer)?;
    // The usual push: the base is the head or one of its parents, so it is
    // an ancestor of the head and their only merge base, with no walk.
    let parent = base == head
        || gix::objs::CommitRefIter::from_bytes(&new_buffer, gix::hash::Kind::Sha1)
            .parent_ids()
            .any(|p| p == base);
    let merge_base = if parent {
        base
    } else {
        // The commit-graph file, when git may use it, as `merge_bases_many`
        // does; object replacements, which would disable it, rule this store
        // out.
        let cache = repo.commit_graph_if_enabled().ok()?;
        let mut graph = gix::revwalk::Graph::new(objects, cache.as_ref());
        let merge_bases = repo
            .merge_bases_many_with_graph(base, &[head], &mut graph)
            .ok()?;
        let [merge_base] = merge_bases.as_slice() else {
            return Some(None);
        };
        merge_base.detach()
    };
    let old_tree = tree_of(merge_base, &mut old_buffer)?;
    let old_tree = objects::find_kind(objects, &old_tree, gix::objs::Kind::Tree, &mut old_buffer)?;
    let new_tree = objects::find_kind(objects, &new_tree, gix::objs::Kind::Tree, &mut new_buffer)?;
    let mut files = Files::default();
    let diff = gix::diff::tree(
        gix::objs::TreeRefIter::from_bytes(old_tree, gix::hash::Kind::Sha1),
        gix::objs::TreeRefIter::from_bytes(new_tree, gix::hash::Kind::Sha1),
        gix::diff::tree::State::default(),
        objects,
        &mut files,
    );
    // Stopped at a possible rename (the diff reports that as cancelled).
    if files.added && files.deleted {
        return Some(None);
    }
    diff.ok()?;
    Some(Some(Committed {
        head: head.to_string(),
        merge_base: merge_base.to_string(),
        files: files.files,
    }))
}

/// `rev` peeled to a commit without gix's object store, for the forms git
/// users pass most: a full object name or a ref name (as git abbreviates
/// them: `main`, `origin/main`, `v1`, `HEAD`), followed by any number of
/// `^`, `^N`, `~` and `~N`. Anything else (abbreviated object names, which
/// git only tries after refs, `^{...}`, `@{...}`, ...) is `None`, as is any
/// lookup that fails.
fn resolve_commit_light(repo: &gix::Repository, objects: &Objects, rev: &str) -> Option<ObjectId> {
    let split = rev.find(['^', '~']).unwrap_or(rev.len());
    let (name, mut suffix) = rev.split_at(split);
    let id = if name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        // git takes a full object name as one, even if a ref has that name.
        ObjectId::from_hex(name.as_bytes()).ok()?
    } else {
        if name.is_empty() || name.contains(['@', ':', '{', '}', '\\']) {
            return None;
        }
        let mut reference = repo.try_find_reference(name).ok()??;
        let mut depth = 0;
        loop {
            match reference.target() {
                gix::refs::TargetRef::Object(id) => break id.to_owned(),
                gix::refs::TargetRef::Symbolic(target) => {
                    depth += 1;
                    if depth > 5 {
                        return None;
                    }
                    let target = target.as_bstr().to_owned();
                    reference = repo.find_reference(target.as_bstr()).ok()?;
                }
            }
        }
    };
    let mut id = objects::peel_to_commit(objects, id)?;
    let mut buffer = Vec::new();
    while let Some(&operator) = suffix.as_bytes().first() {
        if operator != b'^' && operator != b'~' {
            return None;
        }
        // One ASCII byte: a character boundary.
        let rest = &suffix[1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, rest) = rest.split_at(digits);
        let number: usize = if number.is_empty() {
            1
        } else {
            number.parse().ok()?
        };
        suffix = rest;
        let parents = |id: ObjectId, buffer: &mut Vec<u8>| -> Option<Vec<ObjectId>> {
            let data = objects::find_kind(objects, &id, gix::objs::Kind::Commit, buffer)?;
            Some(
                gix::objs::CommitRefIter::from_bytes(data, gix::hash::Kind::Sha1)
                    .parent_ids()
                    .collect(),
            )
        };
        match operator {
            b'^' if number == 0 => {}
            b'^' => id = *parents(id, &mut buffer)?.get(number - 1)?,
            _ => {
                for _ in 0..number {
                    id = *parents(id, &mut buffer)?.first()?;
                }
            }
        }
    }
    Some(id)
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

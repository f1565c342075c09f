//! moz.build files on demand, and what they say about a path: mozbuild's
//! `files_info` for one file (reference §3.1, §3.4).

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};

use super::{BlockSchedules, MOZBUILD, MozbuildFile, Parsed, compile_with};
use crate::config::{FileSource, WorkTree};
use crate::diagnostic::{Diagnostics, SourceFile};
use crate::mozilla::mozpath::files_pattern_selects;
use crate::mozilla::schedules::MozSchedules;
use crate::select::components::{ComponentSet, Components};

/// A block that applied to a path, for explanations.
#[derive(Clone, Debug)]
pub struct MatchedBlock {
    pub file: Arc<MozbuildFile>,
    pub block: usize,
    /// The pattern that matched (`None`: unreadable patterns).
    pub pattern: Option<String>,
}

impl MatchedBlock {
    /// `dir/moz.build:LINE`, or the included file's name and line.
    pub fn location(&self) -> String {
        self.file.blocks[self.block].location()
    }
}

/// What the moz.build files say about one path.
#[derive(Clone, Debug, Default)]
pub struct PathAnnotations {
    /// The combined SCHEDULES; `None` when no applying block set it (the
    /// default: every exclusive component, no inclusive one).
    pub schedules: Option<MozSchedules>,
    /// Why the answer is not certain (`moz.build:LINE: why`); then the path
    /// keeps every exclusive component.
    pub uncertain: Vec<String>,
    /// Applying blocks that touch SCHEDULES, root first (when explained).
    pub matched: Vec<MatchedBlock>,
}

impl PathAnnotations {
    pub fn inclusive(&self) -> ComponentSet {
        self.schedules
            .as_ref()
            .map(MozSchedules::inclusive_set)
            .unwrap_or_default()
    }

    /// The explicit exclusive set; `None` for every exclusive component
    /// (the default, or an uncertain answer).
    pub fn exclusive(&self) -> Option<ComponentSet> {
        if !self.uncertain.is_empty() {
            return None;
        }
        self.schedules
            .as_ref()
            .and_then(MozSchedules::exclusive_set)
    }

    /// `SCHEDULES.components`, all exclusive components when uncertain.
    pub fn components(&self, components: &Components) -> ComponentSet {
        let mut set = self.inclusive();
        match self.exclusive() {
            Some(exclusive) => set.union_with(&exclusive),
            None => set.union_with(components.all_exclusive()),
        }
        set
    }
}

/// Reads moz.build files on the ancestor directories of the paths asked
/// about, once each, so cost grows with the change, not the tree.
pub struct MozbuildTree {
    /// The work tree, or a past commit's tree (`sift replay`).
    source: Arc<dyn FileSource>,
    /// Directory → its moz.build, once looked for.
    files: FxHashMap<String, Option<Arc<MozbuildFile>>>,
    /// Directory → the moz.build files that apply inside it, root first.
    chains: FxHashMap<String, Arc<[Arc<MozbuildFile>]>>,
    /// Files `include()` reads, parsed once.
    included: Included,
    diagnostics: Diagnostics,
}

fn read(
    source: &dyn FileSource,
    included: &Included,
    dir: &str,
    components: &Components,
) -> (Option<Arc<MozbuildFile>>, Diagnostics) {
    let name = if dir.is_empty() {
        MOZBUILD.to_owned()
    } else {
        format!("{dir}/{MOZBUILD}")
    };
    match source.read(&name) {
        Some(text) => {
            let (file, diags) =
                compile_with(dir, SourceFile::new(name, text), components, &|name| {
                    included.get(source, name)
                });
            (Some(Arc::new(file)), diags)
        }
        None => (None, Diagnostics::default()),
    }
}

/// One directory's moz.build as [`MozbuildTree::reader`] read it (none if
/// it has none), with what compiling it found.
pub struct Loaded(Option<Arc<MozbuildFile>>, Diagnostics);

/// Files read by `include()`, parsed once per tree and shared by every
/// moz.build that includes them (on every thread that reads them).
#[derive(Default)]
struct Included {
    parsed: Mutex<FxHashMap<String, Arc<Slot>>>,
}

/// One included file: filled once, by the first thread that asks.
type Slot = OnceLock<Option<Arc<Parsed>>>;

impl Included {
    fn get(&self, source: &dyn FileSource, name: &str) -> Option<Arc<Parsed>> {
        let slot = {
            // A panic while holding the lock leaves a map that is still whole.
            let mut map = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(map.entry(name.to_owned()).or_default())
        };
        // One thread reads and parses; others asking meanwhile wait for it.
        slot.get_or_init(|| {
            source
                .read(name)
                .map(|text| Parsed::new(SourceFile::new(name, text)))
        })
        .clone()
    }
}

impl MozbuildTree {
    /// The moz.build files of the work tree at `root`.
    pub fn new(root: &Path) -> MozbuildTree {
        MozbuildTree::with_files(Arc::new(WorkTree::new(root)))
    }

    /// The moz.build files of `source` (e.g. a past commit's tree).
    pub fn with_files(source: Arc<dyn FileSource>) -> MozbuildTree {
        MozbuildTree {
            source,
            files: FxHashMap::default(),
            chains: FxHashMap::default(),
            included: Included::default(),
            diagnostics: Diagnostics::default(),
        }
    }

    /// Warnings (unreadable syntax) and errors (unknown components, `=` on
    /// inclusive, `+=` on exclusive) of the files read so far.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// Moves the problems found so far out (for a caller that reports them).
    pub fn take_diagnostics(&mut self) -> Diagnostics {
        std::mem::take(&mut self.diagnostics)
    }

    /// Every moz.build read so far.
    pub fn files(&self) -> impl Iterator<Item = &Arc<MozbuildFile>> {
        self.files.values().flatten()
    }

    /// The moz.build in `dir`, if there is one.
    pub fn file(&mut self, dir: &str, components: &Components) -> Option<Arc<MozbuildFile>> {
        if let Some(known) = self.files.get(dir) {
            return known.clone();
        }
        let (file, diags) = read(self.source.as_ref(), &self.included, dir, components);
        self.diagnostics.extend(diags);
        self.files.insert(dir.to_owned(), file.clone());
        file
    }

    /// Reads the moz.build files of every ancestor directory of `paths` on
    /// all cores.
    pub fn preload<'p>(
        &mut self,
        paths: impl IntoIterator<Item = &'p str>,
        components: &Components,
    ) {
        let mut dirs: FxHashSet<&str> = FxHashSet::default();
        for path in paths {
            let mut dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            loop {
                if self.files.contains_key(dir) || !dirs.insert(dir) {
                    break;
                }
                match dir.rsplit_once('/') {
                    Some((up, _)) => dir = up,
                    None if dir.is_empty() => break,
                    None => dir = "",
                }
            }
        }
        self.preload_dirs(dirs, components);
    }

    /// Reads the moz.build files of these directories on all cores.
    pub fn preload_dirs<'p>(
        &mut self,
        dirs: impl IntoIterator<Item = &'p str>,
        components: &Components,
    ) {
        let mut dirs: Vec<&str> = dirs.into_iter().filter(|d| !self.has_read(d)).collect();
        dirs.sort_unstable();
        dirs.dedup();
        let loaded = {
            let read = self.reader(components);
            crate::parallel::map(&dirs, 32, |dir| read(dir))
        };
        for (dir, loaded) in dirs.into_iter().zip(loaded) {
            self.keep(dir, loaded);
        }
    }

    /// Whether `dir`'s moz.build has been looked for.
    pub fn has_read(&self, dir: &str) -> bool {
        self.files.contains_key(dir)
    }

    /// Reads and compiles one directory's moz.build, on any thread; what
    /// it returns goes to [`MozbuildTree::keep`]. (For a caller that reads
    /// other files of the same directories in the same map.)
    pub fn reader<'t>(&'t self, components: &'t Components) -> impl Fn(&str) -> Loaded + Sync + 't {
        let (source, included) = (self.source.as_ref(), &self.included);
        move |dir| {
            let (file, diags) = read(source, included, dir, components);
            Loaded(file, diags)
        }
    }

    /// Keeps what [`MozbuildTree::reader`] read for `dir`.
    pub fn keep(&mut self, dir: &str, Loaded(file, diags): Loaded) {
        self.diagnostics.extend(diags);
        self.files.insert(dir.to_owned(), file);
    }

    /// The moz.build files that apply to paths directly inside `dir`, root first.
    fn chain(&mut self, dir: &str, components: &Components) -> Arc<[Arc<MozbuildFile>]> {
        if let Some(chain) = self.chains.get(dir) {
            return Arc::clone(chain);
        }
        let parent: Arc<[Arc<MozbuildFile>]> = if dir.is_empty() {
            Arc::from(Vec::new())
        } else {
            let up = dir.rsplit_once('/').map_or("", |(up, _)| up);
            self.chain(up, components)
        };
        let chain: Arc<[Arc<MozbuildFile>]> = match self.file(dir, components) {
            Some(file) => parent
                .iter()
                .cloned()
                .chain(std::iter::once(file))
                .collect(),
            None => parent,
        };
        self.chains.insert(dir.to_owned(), Arc::clone(&chain));
        chain
    }

    /// `files_info(path)["SCHEDULES"]`: every applying block, root first,
    /// in source order, merged as `Files.__iadd__` merges them.
    pub fn annotations(
        &mut self,
        path: &str,
        components: &Components,
        explain: bool,
    ) -> PathAnnotations {
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let chain = self.chain(dir, components);
        let mut out = PathAnnotations::default();
        // SCHEDULES frozen by a `FINAL` that came before it (reference §3.5).
        let mut frozen = false;
        for file in chain.iter() {
            if let Some(why) = &file.unreadable {
                out.uncertain.push(why.clone());
                continue;
            }
            for (index, block) in file.blocks.iter().enumerate() {
                if matches!(block.schedules, BlockSchedules::Untouched) {
                    continue;
                }
                // Patterns are relative to the directory of the file the
                // block is written in; for a block of an included file in
                // another directory, mozbuild asserts that the path is below
                // that directory (reference §3.2) and stops otherwise.
                let relative = if block.dir.is_empty() {
                    path
                } else if let Some(rest) = path
                    .strip_prefix(block.dir.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
                {
                    rest
                } else {
                    out.uncertain.push(format!(
                        "{}: a block of a file included from `{}` applies only below `{}` (mozbuild stops here)",
                        block.location(),
                        file.source.name,
                        block.dir
                    ));
                    continue;
                };
                let pattern = match &block.patterns {
                    None => None,
                    Some(patterns) => {
                        match patterns.iter().find(|p| files_pattern_selects(p, relative)) {
                            Some(p) => Some(p.as_str().to_owned()),
                            None => continue,
                        }
                    }
                };
                if block.patterns.is_none() {
                    out.uncertain.push(format!(
                        "{}: `Files()` arguments that are not string literals",
                        block.location()
                    ));
                }
                if explain {
                    out.matched.push(MatchedBlock {
                        file: Arc::clone(file),
                        block: index,
                        pattern,
                    });
                }
                match &block.schedules {
                    BlockSchedules::Untouched => {}
                    BlockSchedules::Unknown(why) => out.uncertain.push(why.clone()),
                    BlockSchedules::Set { value, final_first } => {
                        out.schedules = match out.schedules.take() {
                            Some(accumulated) => Some(accumulated.or(value, components)),
                            None if frozen => None,
                            None if *final_first => {
                                frozen = true;
                                None
                            }
                            None => Some(value.clone()),
                        };
                    }
                }
            }
        }
        out
    }
}

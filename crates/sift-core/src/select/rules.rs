//! Rule files and how they combine for a path (Mozilla's `Files()`/SCHEDULES).
//!
//! For a path, the rule files of its ancestor directories apply root first,
//! then deeper, each in file order. Every matching rule adds its `inclusive`
//! components; a matching rule's `exclusive` replaces any earlier one (last
//! wins); a path no rule gives an `exclusive` keeps all exclusive components.

use std::sync::{Arc, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::config::{FileSource, compile_nested};
use crate::diagnostic::{Diagnostics, SourceFile};
use crate::pattern::{IndexScratch, ListDecision, PatternIndex, PatternList};
use crate::select::components::{ComponentSet, Components};

/// Rule files with at least this many patterns are matched through a
/// [`PatternIndex`]; below it, trying each rule is as fast.
const INDEX_AT_PATTERNS: usize = 24;

/// The name of every rule file.
pub const RULE_FILE: &str = "sift.toml";

/// One `[[rules]]` entry.
#[derive(Debug)]
pub struct Rule {
    /// 1-based line of the rule in its file.
    pub line: usize,
    pub files: PatternList,
    /// Byte spans of each pattern in [`RuleFile::source`], for diagnostics.
    pub pattern_spans: Vec<std::ops::Range<usize>>,
    pub inclusive: ComponentSet,
    /// `None` when the rule does not set `exclusive`.
    pub exclusive: Option<ComponentSet>,
    /// `lockfile = "..."` / `manifest = "..."`: the exclusive components
    /// come from the file's diff at plan time.
    pub workspace: Option<WorkspaceRule>,
}

/// A rule whose exclusive components a change's lockfile or root manifest
/// diff decides (see [`crate::workspace::resolve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkspaceRule {
    Lockfile(crate::workspace::Ecosystem),
    Manifest(crate::workspace::Ecosystem),
}

impl WorkspaceRule {
    pub fn ecosystem(self) -> crate::workspace::Ecosystem {
        match self {
            WorkspaceRule::Lockfile(e) | WorkspaceRule::Manifest(e) => e,
        }
    }

    /// `lockfile = "cargo"`.
    pub fn describe(self) -> String {
        match self {
            WorkspaceRule::Lockfile(e) => format!("lockfile = \"{}\"", e.key()),
            WorkspaceRule::Manifest(e) => format!("manifest = \"{}\"", e.key()),
        }
    }
}

/// The rules of one `sift.toml`.
#[derive(Debug)]
pub struct RuleFile {
    /// The directory holding the file, repository-relative (`""` for the root).
    pub dir: String,
    /// Segments in `dir`: how many leading path segments to strip.
    depth: usize,
    pub source: Arc<SourceFile>,
    pub rules: Vec<Rule>,
    /// The rules' patterns in one index (list id = rule index), for large files.
    index: OnceLock<Option<PatternIndex>>,
    /// Whether any rule is a `lockfile`/`manifest` rule.
    has_workspace: bool,
    /// Those rules' indexes, in file order.
    workspace_rules: Vec<usize>,
}

impl RuleFile {
    pub fn new(dir: String, source: Arc<SourceFile>, rules: Vec<Rule>) -> Self {
        let depth = if dir.is_empty() {
            0
        } else {
            dir.split('/').count()
        };
        let workspace_rules: Vec<usize> = (0..rules.len())
            .filter(|&i| rules[i].workspace.is_some())
            .collect();
        let has_workspace = !workspace_rules.is_empty();
        RuleFile {
            dir,
            depth,
            source,
            rules,
            index: OnceLock::new(),
            has_workspace,
            workspace_rules,
        }
    }

    /// The index of a file with many patterns, made on first use.
    fn index(&self) -> Option<&PatternIndex> {
        self.index
            .get_or_init(|| {
                let patterns: usize = self.rules.iter().map(|r| r.files.patterns().count()).sum();
                (patterns >= INDEX_AT_PATTERNS)
                    .then(|| PatternIndex::new(self.rules.iter().map(|r| &r.files)))
            })
            .as_ref()
    }
}

/// A rule that matched a path, for explanations.
#[derive(Clone, Debug)]
pub struct MatchedRule {
    pub file: Arc<RuleFile>,
    pub index: usize,
    /// The pattern that decided the match, as written.
    pub pattern: String,
}

impl MatchedRule {
    pub fn rule(&self) -> &Rule {
        &self.file.rules[self.index]
    }

    /// `path/to/sift.toml:LINE`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.source.name, self.rule().line)
    }
}

/// Reads and compiles `dir/sift.toml`; `None` when there is no such file.
fn read_rule_file(
    files: &dyn FileSource,
    dir: &str,
    components: &Components,
) -> (Option<Arc<RuleFile>>, Diagnostics) {
    let name = format!("{dir}/{RULE_FILE}");
    match files.read(&name) {
        Some(text) => {
            let (file, diagnostics) = compile_nested(dir, SourceFile::new(name, text), components);
            (Some(Arc::new(file)), diagnostics)
        }
        None => (None, Diagnostics::default()),
    }
}

/// What the rules say about one path.
#[derive(Clone, Debug, Default)]
pub struct PathSchedules {
    pub inclusive: ComponentSet,
    /// `None`: no rule set `exclusive`, so every exclusive component applies.
    pub exclusive: Option<ComponentSet>,
    /// Filled only when explanations were asked for.
    pub matched: Vec<MatchedRule>,
    /// What moz.build files said, applied before the rules (`[mozbuild]`).
    pub mozbuild: Option<crate::mozilla::mozbuild::PathAnnotations>,
}

impl PathSchedules {
    /// The components this path affects.
    pub fn components(&self, components: &Components) -> ComponentSet {
        let mut set = self.inclusive.clone();
        set.union_with(
            self.exclusive
                .as_ref()
                .unwrap_or(components.all_exclusive()),
        );
        set
    }
}

/// Loads rule files on demand and answers "what does this path affect?".
///
/// Only the rule files on the ancestor directories of the paths asked about are
/// read, so the cost of a plan grows with the change, not with the repository.
pub struct RuleTree<'c> {
    source: Arc<dyn FileSource>,
    components: &'c Components,
    root_rules: Arc<RuleFile>,
    /// Directory → its own rule file, once looked for (`None`: it has none).
    files: FxHashMap<String, Option<Arc<RuleFile>>>,
    /// Directory → the rule files that apply to paths directly inside it, root first.
    chains: FxHashMap<String, Arc<[Arc<RuleFile>]>>,
    /// The last directory asked about and its chain.
    last_chain: Option<(String, Arc<[Arc<RuleFile>]>)>,
    diagnostics: Diagnostics,
    scratch: IndexScratch,
    decisions: Vec<ListDecision>,
    /// Changed lockfiles and root manifests → the exclusive components their
    /// diff gave (set by the planner before it matches the change).
    resolved: FxHashMap<String, ComponentSet>,
    /// moz.build files: a layer applied before the rule files, with
    /// Mozilla's own semantics (`[mozbuild] enabled = true`).
    mozbuild: Option<crate::mozilla::mozbuild::MozbuildTree>,
}

impl<'c> RuleTree<'c> {
    /// A tree over the nested rule files in `files` (the work tree, or a
    /// commit's tree).
    pub fn new(
        files: Arc<dyn FileSource>,
        components: &'c Components,
        root_rules: Arc<RuleFile>,
    ) -> Self {
        let mut chains = FxHashMap::default();
        chains.insert(String::new(), Arc::from(vec![Arc::clone(&root_rules)]));
        RuleTree {
            source: files,
            components,
            root_rules,
            files: FxHashMap::default(),
            chains,
            last_chain: None,
            diagnostics: Diagnostics::default(),
            scratch: IndexScratch::default(),
            decisions: Vec::new(),
            resolved: FxHashMap::default(),
            mozbuild: None,
        }
    }

    /// Whether the root rule file or any rule file read so far has a
    /// `lockfile`/`manifest` rule.
    pub fn any_workspace_rules(&self) -> bool {
        self.root_rules.has_workspace || self.files.values().flatten().any(|f| f.has_workspace)
    }

    /// Records what a workspace rule's diff decided for `path`.
    pub fn set_resolved(&mut self, path: &str, exclusive: ComponentSet) {
        self.resolved.insert(path.to_owned(), exclusive);
    }

    /// The last `lockfile`/`manifest` rule that selects `path`, with the
    /// directory of its rule file: `None` for nearly every path, at the
    /// cost of matching only the (few) workspace rules.
    pub fn workspace_rule(&mut self, path: &str) -> Option<(WorkspaceRule, String)> {
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let chain = self.chain(dir);
        if !chain.iter().any(|f| f.has_workspace) {
            return None;
        }
        crate::pattern::with_segments(path, |segments| {
            let mut found = None;
            for file in chain.iter().filter(|f| f.has_workspace) {
                let relative = &segments[file.depth.min(segments.len())..];
                for &index in &file.workspace_rules {
                    let rule = &file.rules[index];
                    if let Some(kind) = rule.workspace
                        && rule.files.selects(relative)
                    {
                        found = Some((kind, file.dir.clone()));
                    }
                }
            }
            found
        })
    }

    /// The exclusive components `path` gets from the rules, `lockfile` and
    /// `manifest` rules left out: what a workspace package's manifest maps
    /// to, for a lockfile change that affects the package.
    pub fn exclusive_ignoring_workspace_rules(&mut self, path: &str) -> ComponentSet {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        let chain = self.chain(dir);
        let mut exclusive: Option<&ComponentSet> = None;
        for file in chain.iter() {
            let relative = &segments[file.depth.min(segments.len())..];
            for rule in &file.rules {
                if rule.workspace.is_none()
                    && let Some(e) = &rule.exclusive
                    && rule.files.selects(relative)
                {
                    exclusive = Some(e);
                }
            }
        }
        exclusive.unwrap_or(self.components.all_exclusive()).clone()
    }

    /// Applies the moz.build files of the tree before the rule files.
    pub fn enable_mozbuild(&mut self) {
        self.mozbuild = Some(crate::mozilla::mozbuild::MozbuildTree::with_files(
            Arc::clone(&self.source),
        ));
    }

    /// The moz.build layer, when enabled.
    pub fn mozbuild(&mut self) -> Option<&mut crate::mozilla::mozbuild::MozbuildTree> {
        self.mozbuild.as_mut()
    }

    /// What the moz.build layer says about `path`, its problems moved into
    /// this tree's diagnostics.
    fn annotations(
        &mut self,
        path: &str,
        explain: bool,
    ) -> Option<crate::mozilla::mozbuild::PathAnnotations> {
        let tree = self.mozbuild.as_mut()?;
        let annotations = tree.annotations(path, self.components, explain);
        self.diagnostics.extend(tree.take_diagnostics());
        Some(annotations)
    }

    /// Problems found in nested rule files read so far.
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    pub fn root_rules(&self) -> &Arc<RuleFile> {
        &self.root_rules
    }

    /// The rule files that apply inside `dir`, root first.
    pub fn chain(&mut self, dir: &str) -> Arc<[Arc<RuleFile>]> {
        if let Some(chain) = self.chains.get(dir) {
            return Arc::clone(chain);
        }
        let parent = dir.rsplit_once('/').map_or("", |(parent, _)| parent);
        let parent_chain = self.chain(parent);
        let chain: Arc<[Arc<RuleFile>]> = match self.load(dir) {
            Some(file) => parent_chain
                .iter()
                .cloned()
                .chain(std::iter::once(file))
                .collect(),
            None => parent_chain,
        };
        self.chains.insert(dir.to_owned(), Arc::clone(&chain));
        chain
    }

    /// Reads and compiles `dir/sift.toml` if it exists. A file that fails to
    /// parse contributes no rules; its diagnostics are kept for the caller.
    fn load(&mut self, dir: &str) -> Option<Arc<RuleFile>> {
        if let Some(known) = self.files.get(dir) {
            return known.clone();
        }
        let (file, diagnostics) = read_rule_file(self.source.as_ref(), dir, self.components);
        self.diagnostics.extend(diagnostics);
        self.files.insert(dir.to_owned(), file.clone());
        file
    }

    /// Reads the rule files of every ancestor directory of `paths` on all
    /// cores. Only directories on the change's paths are visited, so the cost
    /// follows the change, not the repository; a large change touches
    /// thousands of rule files, and reading them one by one would leave a
    /// core idle.
    pub fn preload<'p>(&mut self, paths: impl IntoIterator<Item = &'p str>) {
        let mut parents: FxHashSet<&str> = FxHashSet::default();
        for path in paths {
            parents.insert(path.rsplit_once('/').map_or("", |(dir, _)| dir));
        }
        let mut dirs: FxHashSet<&str> = FxHashSet::default();
        for parent in parents {
            let mut dir = parent;
            while !dir.is_empty() && !self.files.contains_key(dir) && dirs.insert(dir) {
                dir = dir.rsplit_once('/').map_or("", |(up, _)| up);
            }
        }
        let mut dirs: Vec<&str> = dirs.into_iter().collect();
        dirs.sort_unstable();
        // Each directory: (its path, look for its rule file, read its
        // moz.build). With moz.build files on, the root has one too (the
        // same walk), and one map reads both kinds, a directory at a time:
        // one helper thread to start instead of two (a thread start costs
        // 100-200 us here), and the directory's path walked twice in a row.
        // Most probed directories hold no rule file (a failed open is a few
        // microseconds), so a thread only pays off with dozens of them.
        let unread = |dir: &str| self.mozbuild.as_ref().is_some_and(|t| !t.has_read(dir));
        let mut wanted: Vec<(&str, bool, bool)> =
            dirs.iter().map(|&d| (d, true, unread(d))).collect();
        if unread("") {
            wanted.push(("", false, true));
        }
        let (source, components) = (self.source.as_ref(), self.components);
        let loaded = {
            let read_mozbuild = self.mozbuild.as_ref().map(|tree| tree.reader(components));
            crate::parallel::map(&wanted, 32, |&(dir, rules, mozbuild)| {
                (
                    read_mozbuild
                        .as_ref()
                        .filter(|_| mozbuild)
                        .map(|read| read(dir)),
                    rules.then(|| read_rule_file(source, dir, components)),
                )
            })
        };
        // The moz.build files' findings first, then the rule files', as
        // when they were read one kind after the other.
        let mut rule_diagnostics = Diagnostics::default();
        for (&(dir, _, _), (mozbuild, rules)) in wanted.iter().zip(loaded) {
            if let (Some(loaded), Some(tree)) = (mozbuild, self.mozbuild.as_mut()) {
                tree.keep(dir, loaded);
            }
            if let Some((file, diagnostics)) = rules {
                rule_diagnostics.extend(diagnostics);
                self.files.insert(dir.to_owned(), file);
            }
        }
        if let Some(tree) = self.mozbuild.as_mut() {
            self.diagnostics.extend(tree.take_diagnostics());
        }
        self.diagnostics.extend(rule_diagnostics);
    }

    /// The rule file in `dir` itself, if there is one (loading it if needed).
    pub fn file(&mut self, dir: &str) -> Option<Arc<RuleFile>> {
        self.chain(dir).last().filter(|f| f.dir == dir).cloned()
    }

    /// Combines the rules for `path` (repository-relative, `/`-separated).
    /// The components `path` affects, written into `out` (cleared first).
    /// The planner's hot loop: no component sets are cloned, and consecutive paths in
    /// one directory (changes are sorted) reuse the directory's rule chain.
    pub fn components_into(&mut self, path: &str, out: &mut ComponentSet) {
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        if self.last_chain.as_ref().is_none_or(|(last, _)| last != dir) {
            let chain = self.chain(dir);
            self.last_chain = Some((dir.to_owned(), chain));
        }
        out.clear();
        let base = self.annotations(path, false);
        let base_exclusive = base.as_ref().and_then(|a| {
            out.union_with(&a.inclusive());
            a.exclusive()
        });
        let (_, chain) = self.last_chain.as_ref().expect("set above");
        let (scratch, decisions) = (&mut self.scratch, &mut self.decisions);
        let (resolved, all_exclusive) = (&self.resolved, self.components.all_exclusive());
        let exclusive = crate::pattern::with_segments(path, |segments| {
            let mut exclusive: Option<&ComponentSet> = base_exclusive.as_ref();
            for file in chain.iter() {
                let relative = &segments[file.depth.min(segments.len())..];
                // Decisions come sorted by rule, so the last exclusive still wins.
                let selected: &mut dyn Iterator<Item = &Rule> = match file.index() {
                    Some(index) => {
                        index.decide(relative, scratch, decisions);
                        &mut decisions
                            .iter()
                            .filter(|d| d.selects)
                            .map(|d| &file.rules[d.list as usize])
                    }
                    None => &mut file
                        .rules
                        .iter()
                        .filter(|rule| rule.files.selects(relative)),
                };
                for rule in selected {
                    out.union_with(&rule.inclusive);
                    if let Some(e) = &rule.exclusive {
                        exclusive = Some(e);
                    } else if rule.workspace.is_some() {
                        // Unresolved (no diff was asked for): every component.
                        exclusive = Some(resolved.get(path).unwrap_or(all_exclusive));
                    }
                }
            }
            exclusive
        });
        out.union_with(exclusive.unwrap_or(self.components.all_exclusive()));
    }

    pub fn schedules(&mut self, path: &str, explain: bool) -> PathSchedules {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let dir = match path.rsplit_once('/') {
            Some((dir, _)) => dir,
            None => "",
        };
        let chain = self.chain(dir);
        let mut result = PathSchedules::default();
        if let Some(annotations) = self.annotations(path, explain) {
            result.inclusive = annotations.inclusive();
            result.exclusive = annotations.exclusive();
            result.mozbuild = Some(annotations);
        }
        for file in chain.iter() {
            let relative = &segments[file.depth.min(segments.len())..];
            for (index, rule) in file.rules.iter().enumerate() {
                let Some((pattern, true)) = rule.files.decide(relative) else {
                    continue;
                };
                result.inclusive.union_with(&rule.inclusive);
                if let Some(exclusive) = &rule.exclusive {
                    result.exclusive = Some(exclusive.clone());
                } else if rule.workspace.is_some() {
                    result.exclusive = Some(
                        self.resolved
                            .get(path)
                            .unwrap_or(self.components.all_exclusive())
                            .clone(),
                    );
                }
                if explain {
                    result.matched.push(MatchedRule {
                        file: Arc::clone(file),
                        index,
                        pattern: rule.files.describe(pattern),
                    });
                }
            }
        }
        result
    }
}

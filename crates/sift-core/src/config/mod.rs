//! Loading and validating `sift.toml`: the root file (components, rules, tasks,
//! includes, cache settings), included task files and nested rule files.
//!
//! Loading collects every problem before failing, each with `file:line:col`
//! and a hint, so that one run of `sift check` shows every mistake.

mod fast;
mod files;
mod history;
mod mozilla;
mod raw;
mod schema;

pub use files::{FileSource, WorkTree};

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;

use crate::diagnostic::{ConfigDiagnostic, ConfigError, Diagnostics, SourceFile};
use crate::pattern::{Pattern, PatternList};
use crate::select::components::{ComponentKind, ComponentSet, Components, suggest};
use crate::select::rules::{RULE_FILE, Rule, RuleFile, WorkspaceRule};
use crate::select::task::{Strategy, Task};
use raw::{ComponentList, Names, RawRoot, RawRule, RawStrategy, RawTask};

/// A loaded, validated configuration.
#[derive(Debug)]
pub struct Config {
    /// The repository root (the directory holding the root `sift.toml`).
    pub root: PathBuf,
    /// `[taskgraph.strategies]`: a project's own composite strategies for
    /// `sift plan --graph`, registered after the built-in ones.
    pub taskgraph_strategies: Vec<crate::mozilla::taskgraph::UserStrategy>,
    pub components: Components,
    pub root_rules: Arc<RuleFile>,
    /// Sorted by name (byte order): [`Config::task`] searches them.
    pub tasks: Vec<Task>,
    /// The store for history and caches: `[store] url`, else its alias
    /// `[cache] store`, if set.
    pub cache_store: Option<String>,
    /// `[backstop]`: which pushes run everything.
    pub cadence: crate::history::Cadence,
    /// `[ci.gitlab]`, `[ci.buildkite]`: what generated pipelines inherit.
    pub ci: crate::ci::CiConfig,
    /// `[init] keep`: names of hand-written tasks and components that
    /// `sift init --force` keeps.
    pub init_keep: Vec<String>,
    /// `[mozbuild] enabled = true`: moz.build SCHEDULES annotations apply
    /// before the rule files (see [`crate::mozilla`]).
    pub mozbuild: bool,
    /// `[plan] mode`: enforce (default) or shadow.
    pub plan_mode: crate::history::PlanMode,
    /// The root file and included task files.
    pub sources: Vec<Arc<SourceFile>>,
    /// Where included files were read and nested rule files are read.
    pub files: Arc<dyn FileSource>,
    /// Non-fatal findings while loading.
    pub warnings: Diagnostics,
}

impl Config {
    /// Loads `root/sift.toml` and the files it includes. Nested rule files are
    /// read later, on demand, by [`crate::select::rules::RuleTree`].
    pub fn load(root: &Path) -> Result<Config, ConfigLoadError> {
        let path = root.join(RULE_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ConfigLoadError::Read { path, source })?;
        Config::from_root_text(root, text)
    }

    /// [`Config::load`] with the root file's text already read.
    pub fn from_root_text(root: &Path, text: String) -> Result<Config, ConfigLoadError> {
        Config::from_source(root, SourceFile::new(RULE_FILE, text))
            .map_err(ConfigLoadError::Invalid)
    }

    /// Validates a root file whose text is already in memory; included files are
    /// still read from `root`.
    pub fn from_source(root: &Path, source: Arc<SourceFile>) -> Result<Config, ConfigError> {
        Config::from_source_in(root, source, Arc::new(WorkTree::new(root)))
    }

    /// Validates a root file whose included files (and, later, nested rule
    /// files) come from `files`, e.g. a past commit's tree.
    pub fn from_source_in(
        root: &Path,
        source: Arc<SourceFile>,
        files: Arc<dyn FileSource>,
    ) -> Result<Config, ConfigError> {
        let mut diags = Diagnostics::default();
        let raw: Option<RawRoot> = parse(&source, &mut diags);
        let Some(mut raw) = raw else {
            return Err(ConfigError(diags));
        };

        let components =
            mozilla::compile_components_spec(raw.components.take(), &source, &mut diags);
        let mozbuild = mozilla::compile_mozbuild(raw.mozbuild.take());
        let taskgraph_strategies =
            mozilla::compile_strategies(raw.taskgraph.take(), &source, &mut diags);
        let rules = compile_rules(
            std::mem::take(&mut raw.rules),
            &source,
            &components,
            &mut diags,
        );
        let root_rules = Arc::new(RuleFile::new(String::new(), Arc::clone(&source), rules));

        let mut sources = vec![Arc::clone(&source)];
        let mut raw_tasks: Vec<SourcedTask> = take_tasks(std::mem::take(&mut raw.tasks), &source);
        let included = resolve_includes(files.as_ref(), &raw.include, &source, &mut diags);
        // Large repositories split thousands of tasks over many files: parse them on every core.
        let parsed = crate::parallel::map(&included, 4, |file| {
            let mut file_diags = Diagnostics::default();
            let include = parse::<raw::RawInclude>(file, &mut file_diags);
            (include, file_diags)
        });
        for (file, (include, file_diags)) in included.into_iter().zip(parsed) {
            diags.extend(file_diags);
            if let Some(include) = include {
                raw_tasks.extend(take_tasks(include.tasks, &file));
            }
            sources.push(file);
        }
        let tasks = compile_tasks(raw_tasks, &components, &mut diags);

        let cache_store =
            history::compile_store(raw.store.take(), raw.cache.take(), &source, &mut diags);
        let cadence = history::compile_cadence(raw.backstop.take(), &source, &mut diags);
        let ci = crate::ci::CiConfig::compile(raw.ci, &source, &mut diags);
        let init_keep = compile_keep(raw.init.take(), &source, &components, &tasks, &mut diags);
        let plan_mode = history::compile_plan_mode(raw.plan.take(), &source, &mut diags);
        if diags.has_errors() {
            diags.sort();
            return Err(ConfigError(diags));
        }
        diags.sort();
        Ok(Config {
            root: root.to_owned(),
            components,
            root_rules,
            tasks,
            cache_store,
            cadence,
            ci,
            init_keep,
            mozbuild,
            taskgraph_strategies,
            plan_mode,
            sources,
            files,
            warnings: diags,
        })
    }

    pub fn task(&self, name: &str) -> Option<&Task> {
        // In name order (compile_tasks): a search, and no index of
        // copied names to build at every load.
        self.tasks
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tasks[i])
    }

    /// The closest task name, for "did you mean" hints.
    pub fn suggest_task(&self, unknown: &str) -> Option<&str> {
        suggest(unknown, self.tasks.iter().map(|t| t.name.as_str()))
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigLoadError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(ConfigError),
}

fn parse<T: schema::Schema>(source: &Arc<SourceFile>, diags: &mut Diagnostics) -> Option<T> {
    if let Some(value) = schema::read::<T>(&source.text) {
        return Some(value);
    }
    if let Some(value) = fast::from_str::<T>(&source.text) {
        return Some(value);
    }
    match toml::from_str::<T>(&source.text) {
        Ok(value) => Some(value),
        Err(error) => {
            let message = error.message().trim().to_owned();
            let mut diagnostic =
                ConfigDiagnostic::error(source, error.span(), "invalid TOML", message.clone());
            if let Some(hint) = raw::hint_for_toml_error(&message) {
                diagnostic = diagnostic.with_help(hint);
            }
            if source.name.contains('/') && message.contains("unknown field") {
                let is_root_key = [
                    "components",
                    "tasks",
                    "include",
                    "cache",
                    "store",
                    "backstop",
                    "ci",
                    "init",
                    "mozbuild",
                    "plan",
                    "taskgraph",
                ]
                .iter()
                .any(|key| message.contains(&format!("`{key}`")));
                if is_root_key {
                    diagnostic = diagnostic.with_help(
                        "a nested sift.toml holds only [[rules]]; components, tasks, include, cache, store, backstop and ci belong in the root sift.toml (included task files hold only [tasks.NAME])",
                    );
                }
            }
            diags.push(diagnostic);
            None
        }
    }
}

/// Compiles a nested rule file (rules only). Problems are returned, not fatal:
/// the planner reports them and fails, `sift check` lists them.
pub(crate) fn compile_nested(
    dir: &str,
    source: Arc<SourceFile>,
    components: &Components,
) -> (RuleFile, Diagnostics) {
    let mut diags = Diagnostics::default();
    let rules = match parse::<raw::RawNested>(&source, &mut diags) {
        Some(nested) => compile_rules(nested.rules, &source, components, &mut diags),
        None => Vec::new(),
    };
    (RuleFile::new(dir.to_owned(), source, rules), diags)
}

pub(super) fn compile_components(
    raw: Option<raw::RawComponents>,
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Components {
    let mut declared: Vec<(Spanned<String>, ComponentKind, Option<String>)> = Vec::new();
    if let Some(raw) = raw {
        if let Some(exclusive) = raw.exclusive {
            match exclusive.into_inner() {
                ComponentList::Flat(names) => {
                    declared.extend(
                        names
                            .into_iter()
                            .map(|n| (n, ComponentKind::Exclusive, None)),
                    );
                }
                ComponentList::Families(families) => {
                    for (family, names) in families {
                        let family = family.into_inner();
                        declared.extend(
                            names
                                .into_iter()
                                .map(|n| (n, ComponentKind::Exclusive, Some(family.clone()))),
                        );
                    }
                }
            }
        }
        if let Some(inclusive) = raw.inclusive {
            declared.extend(
                inclusive
                    .into_inner()
                    .into_iter()
                    .map(|n| (n, ComponentKind::Inclusive, None)),
            );
        }
    }
    let mut seen: HashMap<String, std::ops::Range<usize>> = HashMap::new();
    let mut unique = Vec::new();
    for (name, kind, family) in declared {
        let span = name.span();
        let name = name.into_inner();
        if !valid_name(&name) {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(span),
                    format!("invalid component name `{name}`"),
                    "here",
                )
                .with_help("component names are non-empty and hold no whitespace or `!`"),
            );
            continue;
        }
        if let Some(first) = seen.get(&name) {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(span),
                    format!("component `{name}` is declared twice"),
                    "again here",
                )
                .with_related(source, first.clone(), "first declared here")
                .with_help("each component is either exclusive or inclusive, and declared once"),
            );
            continue;
        }
        seen.insert(name.clone(), span);
        unique.push((name, kind, family));
    }
    Components::new(unique)
}

fn valid_name(name: &str) -> bool {
    let spaced = if name.is_ascii() {
        // ASCII whitespace and control characters are all at or below
        // the space, or DEL.
        name.bytes().any(|b| b <= b' ' || b == 0x7f)
    } else {
        name.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    !name.is_empty() && !name.starts_with('!') && !spaced
}

/// Which components a list may name.
#[derive(Clone, Copy, PartialEq)]
enum Allowed {
    Any,
    InclusiveOnly,
}

fn resolve_components(
    names: Names,
    allowed: Allowed,
    source: &Arc<SourceFile>,
    components: &Components,
    diags: &mut Diagnostics,
) -> (ComponentSet, Vec<String>) {
    let mut set = ComponentSet::new();
    let names = names.into_inner();
    let mut ordered = Vec::with_capacity(names.len());
    for name in names {
        let span = name.span();
        let name = name.into_inner();
        match components.get(&name) {
            Some(id)
                if allowed == Allowed::InclusiveOnly
                    && components.kind(id) == ComponentKind::Exclusive =>
            {
                diags.push(
                    ConfigDiagnostic::error(
                        source,
                        Some(span),
                        format!("`{name}` is an exclusive component"),
                        "`inclusive` may name only inclusive components",
                    )
                    .with_help(format!(
                        "to make matching files affect only `{name}`, write `exclusive = [\"{name}\"]`"
                    )),
                );
            }
            Some(id) => {
                set.insert(id);
                ordered.push(name);
            }
            None => {
                let help = match components.suggest(&name) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "declare it under [components] in the root sift.toml".to_owned(),
                };
                diags.push(
                    ConfigDiagnostic::error(
                        source,
                        Some(span),
                        format!("unknown component `{name}`"),
                        "not declared in [components]",
                    )
                    .with_help(help),
                );
            }
        }
    }
    (set, ordered)
}

/// Compiles a list of patterns, keeping their strings.
fn compile_patterns(
    names: Names,
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Option<PatternList> {
    let mut span = 0..0;
    let patterns = names.into_inner().into_iter().map(|name| {
        span = name.span();
        name.into_inner()
    });
    match PatternList::from_strings(patterns) {
        Ok(list) => Some(list),
        Err((_, error, written)) => {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(span),
                    format!("invalid pattern `{written}`"),
                    error.to_string(),
                )
                .with_help("patterns use `*`, `?`, `**`, `[a-z]`, `{a,b}` and a leading `!` to exclude; see the README"),
            );
            None
        }
    }
}

fn compile_rules(
    raw: Vec<Spanned<RawRule>>,
    source: &Arc<SourceFile>,
    components: &Components,
    diags: &mut Diagnostics,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    for rule in raw {
        let line = source.line(rule.span().start);
        let rule = rule.into_inner();
        if rule.files.get_ref().is_empty() {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(rule.files.span()),
                    "empty `files` list",
                    "matches nothing",
                )
                .with_help("list at least one pattern, e.g. `files = [\"**/*.py\"]`"),
            );
        }
        let workspace = compile_workspace_rule(&rule, source, diags);
        if rule.inclusive.is_none() && rule.exclusive.is_none() && workspace.is_none() {
            diags.push(
                ConfigDiagnostic::warning(
                    source,
                    Some(rule.files.span()),
                    "rule sets neither `inclusive` nor `exclusive`",
                    "has no effect",
                )
                .with_help("add `inclusive = [...]` and/or `exclusive = [...]`"),
            );
        }
        let pattern_spans = rule.files.get_ref().iter().map(Spanned::span).collect();
        let files = compile_patterns(rule.files, source, diags);
        let inclusive = rule
            .inclusive
            .map(|names| {
                resolve_components(names, Allowed::InclusiveOnly, source, components, diags).0
            })
            .unwrap_or_default();
        let exclusive = rule
            .exclusive
            .map(|names| resolve_components(names, Allowed::Any, source, components, diags).0);
        if let Some(files) = files {
            rules.push(Rule {
                line,
                files,
                pattern_spans,
                inclusive,
                exclusive,
                workspace,
            });
        }
    }
    rules
}

/// `lockfile = "..."` / `manifest = "..."` on a rule.
fn compile_workspace_rule(
    rule: &RawRule,
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Option<WorkspaceRule> {
    use crate::workspace::Ecosystem;
    let (key, value, lockfile) = match (&rule.lockfile, &rule.manifest) {
        (None, None) => return None,
        (Some(l), Some(m)) => {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(m.span()),
                    "a rule has either `lockfile` or `manifest`",
                    "second here",
                )
                .with_related(source, l.span(), "first here")
                .with_help("write one rule for the lockfile and one for the root manifest"),
            );
            return None;
        }
        (Some(l), None) => ("lockfile", l, true),
        (None, Some(m)) => ("manifest", m, false),
    };
    let Some(ecosystem) = Ecosystem::from_key(value.get_ref()) else {
        let known: Vec<&str> = Ecosystem::ALL.iter().map(|e| e.key()).collect();
        let help = match suggest(value.get_ref(), known.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "one of {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        diags.push(
            ConfigDiagnostic::error(
                source,
                Some(value.span()),
                format!("unknown {key} kind `{}`", value.get_ref()),
                "not a package manager sift reads",
            )
            .with_help(help),
        );
        return None;
    };
    if let Some(exclusive) = &rule.exclusive {
        diags.push(
            ConfigDiagnostic::error(source, Some(exclusive.span()), format!("a `{key}` rule computes its exclusive components"), "remove this")
                .with_help(format!("the {key}'s diff says which packages a change affects; their components are what rules give their manifests")),
        );
        return None;
    }
    Some(if lockfile {
        WorkspaceRule::Lockfile(ecosystem)
    } else {
        WorkspaceRule::Manifest(ecosystem)
    })
}

/// `[init] keep`: each name must be a task or a component.
fn compile_keep(
    raw: Option<raw::RawInit>,
    source: &Arc<SourceFile>,
    components: &Components,
    tasks: &[Task],
    diags: &mut Diagnostics,
) -> Vec<String> {
    let Some(names) = raw.and_then(|r| r.keep) else {
        return Vec::new();
    };
    let mut keep = Vec::new();
    for name in names.into_inner() {
        let known = components.get(name.get_ref()).is_some()
            || tasks
                .binary_search_by(|t| t.name.as_str().cmp(name.get_ref()))
                .is_ok();
        if !known {
            let candidates = tasks
                .iter()
                .map(|t| t.name.as_str())
                .chain(components.ids().map(|id| components.name(id)));
            let help = match suggest(name.get_ref(), candidates) {
                Some(close) => format!("did you mean `{close}`?"),
                None => {
                    "list the hand-written tasks and components `sift init --force` should keep"
                        .to_owned()
                }
            };
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(name.span()),
                    format!(
                        "`[init] keep` names `{}`, which is neither a task nor a component",
                        name.get_ref()
                    ),
                    "unknown",
                )
                .with_help(help),
            );
            continue;
        }
        keep.push(name.into_inner());
    }
    keep
}

/// A task table as read, with the file it was read from. The table is
/// boxed: tables are large (about 500 bytes) and move through several
/// vectors on their way to a task, which then copy a pointer.
type SourcedTask = (Arc<SourceFile>, Spanned<String>, Spanned<Box<RawTask>>);

fn take_tasks(
    tasks: Vec<(Spanned<String>, Spanned<Box<RawTask>>)>,
    source: &Arc<SourceFile>,
) -> Vec<SourcedTask> {
    tasks
        .into_iter()
        .map(|(name, task)| (Arc::clone(source), name, task))
        .collect()
}

/// Expands `include = [...]` globs (relative to the root) into files, sorted.
fn resolve_includes(
    files: &dyn FileSource,
    include: &[Spanned<String>],
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Vec<Arc<SourceFile>> {
    let mut found: BTreeMap<String, ()> = BTreeMap::new();
    for entry in include {
        let pattern = match Pattern::new(entry.get_ref()) {
            Ok(p) => p,
            Err(error) => {
                diags.push(
                    ConfigDiagnostic::error(source, Some(entry.span()), format!("invalid include pattern `{}`", entry.get_ref()), error.to_string())
                        .with_help("include patterns are relative to the repository root, e.g. `ci/tasks/*.toml`"),
                );
                continue;
            }
        };
        // Walk only below the pattern's literal leading directories.
        let literal_dirs: Vec<&str> = entry
            .get_ref()
            .split('/')
            .take_while(|s| !s.contains(['*', '?', '[', '{', '\\']))
            .collect();
        let start = literal_dirs.join("/");
        let mut matches = Vec::new();
        files.walk(&start, &mut |rel| {
            if pattern.matches(rel) && rel.split('/').count() >= pattern_min_depth(entry.get_ref())
            {
                matches.push(rel.to_owned());
            }
        });
        if matches.is_empty() {
            diags.push(
                ConfigDiagnostic::error(source, Some(entry.span()), format!("`{}` matches no file", entry.get_ref()), "nothing to include")
                    .with_help("include patterns are relative to the repository root; remove the entry or fix the path"),
            );
        }
        for m in matches {
            found.insert(m, ());
        }
    }
    let mut found_files = Vec::new();
    for name in found.into_keys() {
        if name == RULE_FILE {
            continue;
        }
        match files.read(&name) {
            Some(text) => found_files.push(SourceFile::new(name, text)),
            None => diags.push(ConfigDiagnostic::error(
                source,
                None,
                format!("cannot read included file `{name}` (missing, or not UTF-8)"),
                "",
            )),
        }
    }
    found_files
}

/// A pattern names files at least as deep as its segments; this keeps
/// "matches a parent directory" from including unrelated files below it.
fn pattern_min_depth(pattern: &str) -> usize {
    pattern
        .split('/')
        .filter(|s| *s != "**" && !s.is_empty())
        .count()
}

/// A task compiled on its own: everything that does not depend on the
/// other tasks (its strategy's patterns are most of the work).
struct PreparedTask {
    source: Arc<SourceFile>,
    name_span: std::ops::Range<usize>,
    /// The task, or its name if that is invalid (reported, not compiled).
    /// Boxed: prepared tasks are collected from the threads, put in name
    /// order and taken out again, and each move of a whole task copied
    /// 280 bytes (tens of megabytes for a 20,000-task configuration).
    task: Result<Box<Task>, String>,
    /// This task's own diagnostics; dropped if the task is a duplicate, as
    /// only the duplicate definition itself is reported then.
    diags: Diagnostics,
}

fn prepare_task(
    source: Arc<SourceFile>,
    name: Spanned<String>,
    task: Spanned<Box<RawTask>>,
    components: &Components,
) -> PreparedTask {
    let name_span = name.span();
    let name = name.into_inner();
    let mut diags = Diagnostics::default();
    if !valid_name(&name) {
        return PreparedTask {
            source,
            name_span,
            task: Err(name),
            diags,
        };
    }
    let line = source.line(name_span.start);
    let table_span = task.span();
    let mut task = task.into_inner();
    let raw_strategy = task.strategy();
    let strategy = compile_strategy(
        raw_strategy,
        table_span,
        true,
        &source,
        components,
        &mut diags,
    );
    let mut needs = task.needs.map(Spanned::into_inner).unwrap_or_default();
    needs.sort_by(|a, b| a.get_ref().cmp(b.get_ref()));
    needs.dedup_by(|a, b| a.get_ref() == b.get_ref());
    let need_spans = needs.iter().map(Spanned::span).collect();
    let needs = needs.into_iter().map(Spanned::into_inner).collect();
    let timeout_s = task.timeout.and_then(|timeout| {
        let span = timeout.span();
        let text = timeout.into_inner();
        let parsed = crate::select::task::parse_duration(&text);
        if parsed.is_none() {
            diags.push(
                ConfigDiagnostic::error(
                    &source,
                    Some(span),
                    format!("invalid timeout `{text}`"),
                    "here",
                )
                .with_help("write a duration above 0 such as \"90s\", \"10m\" or \"1h30m\""),
            );
        }
        parsed
    });
    if let Some(cwd) = &task.cwd {
        let path = std::path::Path::new(cwd.get_ref());
        if path.is_absolute()
            || path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            diags.push(
                ConfigDiagnostic::error(
                    &source,
                    Some(cwd.span()),
                    format!("invalid cwd `{}`", cwd.get_ref()),
                    "here",
                )
                .with_help(
                    "cwd is a directory inside the repository, relative to its root, without `..`",
                ),
            );
        }
    }
    PreparedTask {
        task: Ok(Box::new(Task {
            name,
            strategy: strategy.unwrap_or(None),
            needs,
            need_spans,
            need_ids: Vec::new(),
            run: task.run.map(Spanned::into_inner),
            description: task.description,
            env: task
                .env
                .map(|env| env.into_inner().into_iter().collect())
                .unwrap_or_default(),
            cwd: task.cwd.map(Spanned::into_inner),
            timeout_s,
            backstop: task.backstop.is_none_or(Spanned::into_inner),
            source: Arc::clone(&source),
            line,
        })),
        source,
        name_span,
        diags,
    }
}

fn compile_tasks(
    raw: Vec<SourcedTask>,
    components: &Components,
    diags: &mut Diagnostics,
) -> Vec<Task> {
    // Tasks compile independently, on every core (a large repository has
    // thousands); names and needs are then checked across all of them.
    let prepared = crate::parallel::map_vec(raw, 256, |(source, name, task)| {
        prepare_task(source, name, task, components)
    });
    // Sorted by name, each name's definitions in the order they were read
    // (root file first): the first is kept, the others are duplicates.
    // Each name leads with its first 16 bytes as a number: most comparisons
    // of a large sort end there.
    let mut order: Vec<(u128, &str, usize)> = prepared
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.task
                .as_ref()
                .ok()
                .map(|t| (name_key(&t.name), t.name.as_str(), i))
        })
        .collect();
    order.sort_unstable();
    let order: Vec<(&str, usize)> = order.into_iter().map(|(_, name, i)| (name, i)).collect();
    // Per duplicate: the definition that was kept.
    let mut first_of: Vec<Option<usize>> = vec![None; prepared.len()];
    for pair in order.windows(2) {
        if pair[0].0 == pair[1].0 {
            first_of[pair[1].1] = Some(first_of[pair[0].1].unwrap_or(pair[0].1));
        }
    }
    let order: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    for (i, p) in prepared.iter().enumerate() {
        match &p.task {
            Err(name) => diags.push(
                ConfigDiagnostic::error(
                    &p.source,
                    Some(p.name_span.clone()),
                    format!("invalid task name `{name}`"),
                    "here",
                )
                .with_help("task names are non-empty and hold no whitespace or `!`"),
            ),
            Ok(task) if first_of[i].is_some() => {
                let first = &prepared[first_of[i].unwrap_or(i)];
                diags.push(
                    ConfigDiagnostic::error(
                        &p.source,
                        Some(p.name_span.clone()),
                        format!("task `{}` is defined twice", task.name),
                        "again here",
                    )
                    .with_related(&first.source, first.name_span.clone(), "first defined here")
                    .with_help("task names are unique across sift.toml and its included files"),
                );
            }
            Ok(_) => {}
        }
    }
    let mut slots: Vec<Option<PreparedTask>> = prepared.into_iter().map(Some).collect();
    let mut tasks: Vec<Task> = Vec::with_capacity(order.len());
    for i in order {
        let prepared = slots[i].take().expect("each task once");
        if first_of[i].is_some() {
            continue;
        }
        diags.extend(prepared.diags);
        tasks.push(*prepared.task.expect("only valid names are ordered"));
    }

    // Every need looked up once: its task's index, or None for a name no
    // task has. The unknown-needs check, the cycle search and the planner's
    // edges all read these (three lookups per need cost 10,000 tasks 3 ms).
    let known: FxHashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let resolved: Vec<Vec<Option<usize>>> = tasks
        .iter()
        .map(|t| {
            t.needs
                .iter()
                .map(|n| known.get(n.as_str()).copied())
                .collect()
        })
        .collect();
    drop(known);

    // Unknown needs.
    let mut unknown = Vec::new();
    for (task, ids) in tasks.iter().zip(&resolved) {
        for ((need, span), id) in task.needs.iter().zip(&task.need_spans).zip(ids) {
            if id.is_none() {
                let file = &task.source;
                let help = match suggest(need, tasks.iter().map(|t| t.name.as_str())) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "define it under [tasks.NAME] or remove it from `needs`".to_owned(),
                };
                unknown.push(
                    ConfigDiagnostic::error(
                        file,
                        Some(span.clone()),
                        format!("task `{}` needs unknown task `{need}`", task.name),
                        "no such task",
                    )
                    .with_help(help),
                );
            }
        }
    }
    for d in unknown {
        diags.push(d);
    }

    // Cycles, found by a deterministic depth-first search in name order.
    for cycle in find_cycles(&resolved) {
        let first = &tasks[cycle[0]];
        let second = &tasks[cycle[1 % cycle.len()]];
        let (file, span) = match first.needs.iter().position(|n| *n == second.name) {
            Some(index) => (&first.source, &first.need_spans[index]),
            None => unreachable!("a cycle follows needs"),
        };
        let path: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&cycle[0]))
            .map(|&i| tasks[i].name.as_str())
            .collect();
        diags.push(
            ConfigDiagnostic::error(file, Some(span.clone()), format!("dependency cycle: {}", path.join(" → ")), "this need closes the cycle")
                .with_help("a task cannot need itself, directly or through other tasks; remove one of these `needs`"),
        );
    }
    // So the planner never looks names up.
    for (task, ids) in tasks.iter_mut().zip(resolved) {
        task.need_ids = ids.into_iter().flatten().collect();
    }
    tasks
}

/// The first 16 bytes of a name, zero-padded, as a big-endian number: its
/// order agrees with the names' order wherever the two differ.
fn name_key(name: &str) -> u128 {
    let mut key = [0u8; 16];
    let n = name.len().min(16);
    key[..n].copy_from_slice(&name.as_bytes()[..n]);
    u128::from_be_bytes(key)
}

/// Every elementary cycle found by DFS (one per back edge), each rotated to
/// start at its smallest task, reported once. `needs[i]` holds task `i`'s
/// needs, resolved (`None`: unknown, no edge).
fn find_cycles(needs: &[Vec<Option<usize>>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Active,
        Done,
    }
    let mut state = vec![State::New; needs.len()];
    let mut cycles: Vec<Vec<usize>> = Vec::new();
    for start in 0..needs.len() {
        if state[start] != State::New {
            continue;
        }
        // Iterative DFS: (node, next edge index).
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = State::Active;
        while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
            let edges = &needs[node];
            if *edge < edges.len() {
                let next = edges[*edge];
                *edge += 1;
                let Some(next) = next else {
                    continue;
                };
                match state[next] {
                    State::New => {
                        state[next] = State::Active;
                        stack.push((next, 0));
                    }
                    State::Active => {
                        let pos = stack
                            .iter()
                            .position(|&(n, _)| n == next)
                            .expect("active nodes are on the stack");
                        let mut cycle: Vec<usize> = stack[pos..].iter().map(|&(n, _)| n).collect();
                        let min = cycle
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, n)| **n)
                            .map(|(i, _)| i)
                            .unwrap_or(0);
                        cycle.rotate_left(min);
                        if !cycles.contains(&cycle) {
                            cycles.push(cycle);
                        }
                    }
                    State::Done => {}
                }
            } else {
                state[node] = State::Done;
                stack.pop();
            }
        }
    }
    cycles.sort();
    cycles
}

/// Compiles the strategy keys of a task (`top_level`) or of a composite member.
/// `Ok(None)` is "no strategy"; `Err(())` means a diagnostic was pushed.
fn compile_strategy(
    raw: RawStrategy,
    span: std::ops::Range<usize>,
    top_level: bool,
    source: &Arc<SourceFile>,
    components: &Components,
    diags: &mut Diagnostics,
) -> Result<Option<Strategy>, ()> {
    let keys = [
        ("schedules", raw.schedules.as_ref().map(Spanned::span)),
        ("changed", raw.changed.as_ref().map(Spanned::span)),
        ("always", raw.always.as_ref().map(Spanned::span)),
        ("any", raw.any.as_ref().map(Spanned::span)),
        ("all", raw.all.as_ref().map(Spanned::span)),
        ("not", raw.not.as_ref().map(Spanned::span)),
        ("on_backstop", raw.on_backstop.as_ref().map(Spanned::span)),
        ("on_expanded", raw.on_expanded.as_ref().map(Spanned::span)),
    ];
    let given_count = keys.iter().filter(|(_, span)| span.is_some()).count();
    if given_count > 1 {
        let given: Vec<(&str, std::ops::Range<usize>)> = keys
            .into_iter()
            .filter_map(|(key, span)| Some((key, span?)))
            .collect();
        let keys: Vec<String> = given.iter().map(|(k, _)| format!("`{k}`")).collect();
        diags.push(
            ConfigDiagnostic::error(source, Some(given[1].1.clone()), format!("conflicting strategies {}", keys.join(" and ")), "second strategy here")
                .with_help(format!(
                    "a task has one strategy; combine them explicitly, e.g. `any = [{{ {} = ... }}, {{ {} = ... }}]`",
                    given[0].0, given[1].0
                )),
        );
        return Err(());
    }
    if given_count == 0 {
        if top_level {
            return Ok(None);
        }
        diags.push(
            ConfigDiagnostic::error(
                source,
                Some(span),
                "empty strategy",
                "needs one of `schedules`, `changed`, `always`, `on_backstop`, `on_expanded`, `any`, `all`, `not`",
            )
            .with_help("write e.g. `{ schedules = [\"linux\"] }`"),
        );
        return Err(());
    }
    if let Some(names) = raw.schedules {
        let before = diags.errors().count();
        let (set, ordered) = resolve_components(names, Allowed::Any, source, components, diags);
        if diags.errors().count() > before {
            return Err(());
        }
        return Ok(Some(Strategy::Schedules {
            components: set,
            names: ordered,
        }));
    }
    if let Some(patterns) = raw.changed {
        return compile_patterns(patterns, source, diags)
            .map(|p| Some(Strategy::Changed(p)))
            .ok_or(());
    }
    if let Some(always) = raw.always {
        if !*always.get_ref() {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(always.span()),
                    "`always = false` has no meaning",
                    "remove this",
                )
                .with_help(
                    "omit `always` and give the task a strategy such as `schedules` or `changed`",
                ),
            );
            return Err(());
        }
        return Ok(Some(Strategy::Always));
    }
    for (key, flag, strategy) in [
        ("on_backstop", raw.on_backstop, Strategy::OnBackstop),
        ("on_expanded", raw.on_expanded, Strategy::OnExpanded),
    ] {
        let Some(flag) = flag else { continue };
        if !*flag.get_ref() {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(flag.span()),
                    format!("`{key} = false` has no meaning"),
                    "remove this",
                )
                .with_help(format!(
                    "to skip a task on such pushes write `not = {{ {key} = true }}`"
                )),
            );
            return Err(());
        }
        return Ok(Some(strategy));
    }
    if let Some(not) = raw.not {
        let member_span = not.span();
        let member = compile_strategy(
            *not.into_inner(),
            member_span,
            false,
            source,
            components,
            diags,
        )?;
        return Ok(member.map(|m| Strategy::Not(Box::new(m))));
    }
    let (key, list) = match (raw.any, raw.all) {
        (Some(any), _) => ("any", any),
        (_, Some(all)) => ("all", all),
        _ => unreachable!("one strategy key is present"),
    };
    if list.get_ref().is_empty() {
        diags.push(
            ConfigDiagnostic::error(source, Some(list.span()), format!("empty `{key}` list"), "needs at least one member")
                .with_help(format!("an empty `{key}` has no sensible meaning; list strategies such as `{{ schedules = [\"linux\"] }}`")),
        );
        return Err(());
    }
    let mut members = Vec::new();
    let mut failed = false;
    for member in list.into_inner() {
        let member_span = member.span();
        match compile_strategy(
            member.into_inner(),
            member_span,
            false,
            source,
            components,
            diags,
        ) {
            Ok(Some(m)) => members.push(m),
            _ => failed = true,
        }
    }
    if failed {
        return Err(());
    }
    Ok(Some(if key == "any" {
        Strategy::Any(members)
    } else {
        Strategy::All(members)
    }))
}

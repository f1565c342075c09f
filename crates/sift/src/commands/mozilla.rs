//! Mozilla's own inputs on the command line: `sift plan --graph` (taskgraph's
//! full task graph), `sift plan --mozbuild`, `sift files --mozbuild` (like
//! `mach file-info schedules`) and `sift check --mozbuild`.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use sift_core::mozilla::mozbuild::{MOZBUILD, MozbuildTree, PathAnnotations};
use sift_core::mozilla::taskgraph::{self, GraphError, Params, Registry, TargetGraph, TaskGraph};
use sift_core::select::change::normalize_path;
use sift_core::select::plan::{Decision, DecisionKind, leaf};
use sift_core::select::render;
use sift_core::{Change, Config, Plan, Planner};

use crate::cli::{FilesArgs, PlanArgs, PlanFormat};
use crate::error::CliError;
use crate::{exit, output};

/// The configuration, with moz.build reading on when asked. A tree with
/// moz.build files but no sift.toml gets Mozilla's component lists.
pub(crate) fn load_config(root: &Path, mozbuild: bool) -> Result<Config, CliError> {
    if mozbuild && !root.join("sift.toml").exists() {
        return Ok(Config::mozilla_default(root));
    }
    let mut config = super::load_config(root)?;
    config.mozbuild |= mozbuild;
    Ok(config)
}

/// A companion file that cannot be read: `FILE:LINE:COL: what: message`
/// where the error has a place, `` `FILE`: what: message `` otherwise.
fn input_error(path: &Path, what: &str, error: GraphError, hint: &str) -> CliError {
    let message = match error {
        GraphError::Json {
            line,
            column,
            message,
        } => format!("{}:{line}:{column}: {what}: {message}", path.display()),
        error => format!("`{}`: {what}: {error}", path.display()),
    };
    CliError::Input {
        message,
        hint: Some(hint.to_owned()),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::io(format!("cannot read `{}`", path.display()), e))
}

/// A file's bytes, mapped into memory or read.
enum Bytes {
    /// Mapped for the rest of the process: never unmapped, so that its
    /// pages can be given back on another thread (see [`PageRelease`]).
    Mapped(&'static [u8]),
    Read(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Read(bytes) => bytes,
        }
    }
}

/// A task graph (tens of megabytes): mapped, which costs neither a copy nor
/// fresh pages (reading 52 MB into memory measured about 95 ms of CPU here,
/// mapping it and touching every page about 25); read when it cannot be
/// mapped (a pipe, an empty file).
fn map_or_read(path: &Path) -> Result<Bytes, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::io(format!("cannot read `{}`", path.display()), e))?;
    let regular = file.metadata().is_ok_and(|m| m.is_file() && m.len() > 0);
    if regular && let Ok(map) = map(&file) {
        return Ok(Bytes::Mapped(map));
    }
    read(path).map(Bytes::Read)
}

#[allow(unsafe_code)]
fn map(file: &std::fs::File) -> std::io::Result<&'static [u8]> {
    // SAFETY: the mapping is only ever read, through bounds-checked slices
    // of the length it had when it was made, and never unmapped (it is
    // forgotten: the process ends soon after reading it), so the slice is
    // valid for the rest of the process. The graph is an artifact its
    // decision task has finished writing; were it truncated while sift
    // reads it, the process would stop on SIGBUS rather than read past the
    // end, and were it rewritten in place, both readers check every byte
    // they use (a torn file is invalid JSON or a different graph, as with
    // any reader racing a writer).
    let map = unsafe { memmap2::Mmap::map(file)? };
    // SAFETY: as above; `map` is forgotten, so its pages stay mapped.
    let bytes = unsafe { std::slice::from_raw_parts(map.as_ptr(), map.len()) };
    std::mem::forget(map);
    Ok(bytes)
}

/// Gives a mapped graph's pages back to the system on a thread that runs
/// only when a core is otherwise idle, once the readers are done with them.
///
/// Unmapping a 72 MB graph's 17,500 pages costs 2.3-3.2 ms of kernel time
/// on this VM, and the process's exit waits for it: done at exit, or on a
/// thread started once the graph is built, it came after the output in
/// most runs. The readers copy what they keep, so the pages are unused
/// once the graph is built; but both cores are busy then (building the
/// graph, analysing the change). This thread is started with the mapping,
/// waits, and once told, drops the pages a megabyte at a time
/// (`MADV_DONTNEED`) at `SCHED_IDLE` priority, in whatever time the other
/// threads leave, typically while the graph is optimized and written; what
/// it has not reached when the process ends, the exit unmaps. Dropping
/// the pages of a read-only file mapping leaves its contents as they were
/// (the file's): a later read maps them again from the page cache.
struct PageRelease {
    waiting: Option<(
        std::thread::Thread,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
    )>,
}

impl PageRelease {
    /// Starts the thread for `bytes` if they are mapped.
    fn start(bytes: &Bytes) -> PageRelease {
        use std::sync::atomic::{AtomicBool, Ordering};
        let &Bytes::Mapped(map) = bytes else {
            return PageRelease { waiting: None };
        };
        let told = std::sync::Arc::new(AtomicBool::new(false));
        let flag = told.clone();
        let spawned = std::thread::Builder::new()
            .name("page-release".to_owned())
            .stack_size(64 << 10)
            .spawn(move || {
                idle_priority();
                while !flag.load(Ordering::Acquire) {
                    std::thread::park();
                }
                release_pages(map);
            });
        PageRelease {
            waiting: spawned.ok().map(|handle| (handle.thread().clone(), told)),
        }
    }

    /// The readers are done with the pages.
    fn now(&self) {
        if let Some((thread, told)) = &self.waiting {
            told.store(true, std::sync::atomic::Ordering::Release);
            thread.unpark();
        }
    }
}

/// Makes the calling thread run only when nothing else wants a core (if
/// the system refuses, it runs at its usual priority).
#[allow(unsafe_code)]
fn idle_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: changes the calling thread's scheduling policy (pid 0),
        // with a parameter valid for SCHED_IDLE.
        unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    }
}

/// Drops the pages of `map`, a megabyte at a time (so that the exit never
/// waits long for a call under way).
#[allow(unsafe_code)]
fn release_pages(map: &'static [u8]) {
    #[cfg(unix)]
    for step in map.chunks(1 << 20) {
        // SAFETY: `step` lies inside a read-only file mapping (shared, as
        // memmap2 maps) that is never unmapped (`map`); dropping its pages
        // changes no byte a reader sees, which are the file's, mapped again
        // if read. The mapping starts on a page and steps are a megabyte,
        // so each starts on a page; the last one's end is rounded up by the
        // kernel within the mapping.
        unsafe {
            libc::madvise(
                step.as_ptr().cast_mut().cast(),
                step.len(),
                libc::MADV_DONTNEED,
            )
        };
    }
    #[cfg(not(unix))]
    let _ = map;
}

/// `sift plan --graph FILE`.
pub fn plan_graph(root: &Path, args: &PlanArgs) -> Result<u8, CliError> {
    let prepared = GraphPlan::prepare(root, args)?;
    if args.format == PlanFormat::Taskgraph && args.report.is_none() && !prepared.shadow(args) {
        // The labels are all this format prints: no per-task plan to build.
        let outcome = prepared.optimize(args, None)?;
        let graph = &prepared.graph;
        let text = taskgraph_json(
            (0..graph.len() as u32)
                .map(|i| (graph.label(i), outcome.is_kept(i), outcome.reason(i))),
            args.mozilla.removed,
        );
        return prepared.print(text);
    }
    let plan = prepared.plan(args, None)?;
    prepared.emit(plan, args)
}

/// A taskgraph graph read with everything its optimization needs, so that
/// `sift plan --record --graph` can plan it under the recorded push.
pub struct GraphPlan {
    pub config: Config,
    change: Change,
    graph: TaskGraph,
    /// The requested tasks and the target task graph, or why not (a
    /// target task that is not in the graph).
    targets: Result<TargetGraph, taskgraph::OptimizeError>,
    params: Params,
    analysis: sift_core::select::plan::ChangeAnalysis,
    files: Vec<String>,
    registry: Registry,
    warnings: sift_core::Diagnostics,
    notes: std::cell::RefCell<Vec<String>>,
}

impl GraphPlan {
    pub fn prepare(root: &Path, args: &PlanArgs) -> Result<GraphPlan, CliError> {
        let m = &args.mozilla;
        let graph_path = m.graph.as_deref().expect("called with --graph");
        if !matches!(
            args.format,
            PlanFormat::Text | PlanFormat::Json | PlanFormat::Taskgraph
        ) {
            return Err(CliError::Usage {
                message: "--graph writes text, json or taskgraph".to_owned(),
                hint: Some(
                    "use --format taskgraph to hand the kept labels to a decision task".to_owned(),
                ),
            });
        }
        if args.select.all || !args.select.target.is_empty() {
            return Err(CliError::Usage {
                message: "--all and --target do not apply to --graph".to_owned(),
                hint: Some(
                    "pass the requested tasks as --target-tasks target-tasks.json".to_owned(),
                ),
            });
        }
        let graph_bytes = map_or_read(graph_path)?;
        let release = PageRelease::start(&graph_bytes);
        // The graph is read on two threads; the other inputs are read here
        // meanwhile, the change is analysed (it needs no graph) while the
        // graph is built, and the requested tasks are read here once it is
        // built (the analysis takes longer than the building).
        let first = || -> Result<_, CliError> {
            let params = match &m.params {
                Some(path) => {
                    let text = String::from_utf8_lossy(&read(path)?).into_owned();
                    Params::parse(&text).map_err(|e| {
                        input_error(
                            path,
                            "invalid parameters",
                            e,
                            "expected taskgraph's parameters.yml or a JSON object",
                        )
                    })?
                }
                None => Params::defaults(),
            };
            let config = load_config(root, true)?;
            // The parameters' files_changed is what taskgraph optimizes for;
            // an explicit change (--files-from, --base) or git decides
            // otherwise.
            let explicit = args.change.files_from.is_some() || args.change.base.is_some();
            let change = match &params.files_changed {
                Some(files) if !explicit => Change::from_path_list(&files.join("\n")),
                _ => super::load_change(root, &args.change)?,
            };
            Ok((params, config, change))
        };
        // The requested tasks and the target task graph need the graph but
        // not the change: made here while the other thread analyses it.
        let target_graph =
            |(params, _, _): &(Params, _, _), graph: Option<&TaskGraph>| -> Result<_, CliError> {
                // The graph is built: nothing reads the mapped text again.
                release.now();
                let text = (m.target_tasks.as_ref())
                    .map(|path| read(path).map(|text| (path, text)))
                    .transpose()?;
                // Borrowed from the text: 20,000 labels, no copies.
                let labels = match &text {
                    Some((path, text)) => {
                        Some(taskgraph::target_tasks_from_json(text).map_err(|e| {
                            input_error(
                                path,
                                "invalid target tasks",
                                e,
                                "expected target-tasks.json: a JSON list of labels",
                            )
                        })?)
                    }
                    None => None,
                };
                Ok(graph.map(|graph| TargetGraph::new(graph, labels.as_deref(), params)))
            };
        let (graph, (params, config, change), analysed, targets) =
            TaskGraph::from_json_around_then(
                &graph_bytes,
                first,
                |(_, config, change)| {
                    let mut planner = Planner::new(config);
                    let analysis = planner.analyze(change).map_err(super::plan_error)?;
                    let warnings = planner.rules().diagnostics().clone();
                    Ok::<_, CliError>((analysis, warnings))
                },
                target_graph,
            )?;
        let graph = graph.map_err(|e| {
            input_error(graph_path, "invalid task graph", e, "expected taskgraph's full-task-graph.json: {label: {\"dependencies\", \"optimization\", \"attributes\", ...}}")
        })?;
        let (analysis, warnings) = analysed?;
        let targets = targets?.expect("the graph was read");
        let mut files: Vec<String> = change.all_paths().iter().map(|p| (*p).to_owned()).collect();
        files.sort();
        files.dedup();
        let autoland = params
            .optimize_strategies
            .as_deref()
            .is_some_and(|s| s.ends_with("project.autoland"));
        // Gecko's strategies, then the project's own ([taskgraph.strategies]).
        let registry = Registry::gecko(autoland).with_user(&config.taskgraph_strategies);
        Ok(GraphPlan {
            config,
            change,
            graph,
            targets,
            params,
            analysis,
            files,
            registry,
            warnings,
            notes: std::cell::RefCell::new(Vec::new()),
        })
    }

    /// The head commit to record: the parameters' `head_rev`, else the change's.
    pub fn head(&self) -> Option<&str> {
        self.params
            .head_rev
            .as_deref()
            .or(self.change.origin.head.as_deref())
    }

    /// Optimizes the graph; a recorded push decides the backstop strategies.
    fn optimize(
        &self,
        args: &PlanArgs,
        push: Option<&sift_core::history::PushContext>,
    ) -> Result<taskgraph::Outcome, CliError> {
        let backstop = match push {
            Some(push) => push.decision.backstop,
            None => args.record.backstop || self.params.backstop.unwrap_or(false),
        };
        let expanded = match push {
            Some(push) => Some(push.decision.expanded),
            None => args.record.expanded.then_some(true),
        };
        let targets = self.targets.as_ref().map_err(|e| CliError::Input {
            message: e.to_string(),
            hint: Some(
                "taskgraph fails the same way: every label in target-tasks.json must be a task of the full graph"
                    .to_owned(),
            ),
        })?;
        let inputs = taskgraph::Inputs {
            targets,
            params: &self.params,
            registry: &self.registry,
            files: &self.files,
            components: &self.config.components,
            analysis: &self.analysis,
            backstop,
            expanded,
        };
        let mut outcome = taskgraph::optimize(&self.graph, &inputs).map_err(|e| {
            CliError::Input {
            message: e.to_string(),
            hint: Some(
                "taskgraph fails the same way: a task that is kept depends on one that was removed"
                    .to_owned(),
            ),
        }
        })?;
        *self.notes.borrow_mut() = std::mem::take(&mut outcome.notes);
        Ok(outcome)
    }

    /// Shadow mode (`--shadow`, `[plan] mode = "shadow"`): the target task
    /// graph runs unoptimized, and the plan (and a recorded push) keeps what
    /// the optimizer would have removed and why, so `sift quality` can
    /// measure it before it decides anything.
    fn shadow(&self, args: &PlanArgs) -> bool {
        args.select.shadow || self.config.plan_mode == sift_core::history::PlanMode::Shadow
    }

    /// The graph's plan: every task's decision and reason.
    pub fn plan(
        &self,
        args: &PlanArgs,
        push: Option<&sift_core::history::PushContext>,
    ) -> Result<Plan, CliError> {
        let outcome = self.optimize(args, push)?;
        let decisions = outcome.decisions(&self.graph);
        let shadow = self.shadow(args);
        // Explanations need each task's dependencies (the report draws them).
        let graph = (args.explain || args.report.is_some()).then(|| {
            let source = args
                .mozilla
                .graph
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let needs = (0..self.graph.len() as u32)
                .map(|i| {
                    let mut labels: Vec<String> = self
                        .graph
                        .dependencies(i)
                        .iter()
                        .map(|&d| self.graph.label(d).to_owned())
                        .collect();
                    labels.sort();
                    labels
                })
                .collect();
            sift_core::select::plan::GraphTasks { source, needs }
        });
        let mut plan = Plan {
            origin: self.change.origin.clone(),
            changed_files: self.change.files.clone(),
            components: self.config.components.names_of(&self.analysis.components),
            analysis: self.analysis.clone(),
            tasks: decisions
                .into_iter()
                .enumerate()
                .map(|(i, d)| {
                    // The task's optimization as the graph writes it:
                    // `{"test": ["linux"]}` reads `test: ["linux"]`.
                    let optimization = self.graph.optimization(i as u32);
                    let strategy = optimization.map(|(name, arg)| format!("{name}: {arg}"));
                    let mut evaluation = leaf(
                        d.kept,
                        strategy.as_deref().unwrap_or("taskgraph"),
                        &d.reason,
                    );
                    // A component list: the ones the change affects, which
                    // explanations follow back to files and moz.build lines.
                    if let Some((name, serde_json::Value::Array(items))) = optimization
                        && self.registry.lists_components(name)
                    {
                        evaluation.affected = items
                            .iter()
                            .filter_map(|item| self.config.components.get(item.as_str()?))
                            .filter(|&id| self.analysis.components.contains(id))
                            .collect();
                    }
                    decision(d, evaluation)
                })
                .collect(),
            push: push.cloned(),
            warnings: sift_core::Diagnostics {
                items: self.warnings.warnings().cloned().collect(),
            },
            would_skip: Default::default(),
            shadow: false,
            graph,
        };
        if shadow {
            for (i, d) in plan.tasks.iter_mut().enumerate() {
                if !d.run && outcome.in_target_graph(i as u32) {
                    plan.would_skip.insert(d.name.clone(), d.reason.clone());
                    d.run = true;
                    d.reason = format!("shadow: would skip: {}", d.reason);
                }
            }
            plan.shadow = true;
        }
        Ok(plan)
    }

    /// Prints the plan as `--format` asks.
    pub fn emit(self, plan: Plan, args: &PlanArgs) -> Result<u8, CliError> {
        // As `sift plan` explains its own tasks: the graph's dependencies,
        // each decision, and per push component the files and the moz.build
        // blocks or rules behind it.
        let explained = (args.explain || args.report.is_some())
            .then(|| render::plan_json_explained(&plan, &mut Planner::new(&self.config)));
        if let Some(path) = &args.report {
            super::report::write(
                path,
                &sift_core::report::Inputs {
                    plan: explained.as_deref(),
                    ..Default::default()
                },
            )?;
        }
        let text = match args.format {
            PlanFormat::Json if args.explain => explained.expect("made above for --explain"),
            PlanFormat::Taskgraph => taskgraph_json(
                plan.tasks
                    .iter()
                    .map(|d| (d.name.as_str(), d.run, d.reason.as_str())),
                args.mozilla.removed,
            ),
            PlanFormat::Json => render::plan_json(&plan, &self.config),
            _ => render::plan_text(&plan),
        };
        // Freeing a large graph piece by piece would only cost time.
        std::mem::forget(plan);
        self.print(text)
    }

    /// Prints the strategies' notes and the warnings, then `text`.
    fn print(self, text: String) -> Result<u8, CliError> {
        for note in self.notes.borrow().iter() {
            output::note(note);
        }
        if !self.warnings.items.is_empty() {
            output::print_diagnostics(&self.warnings);
        }
        std::mem::forget(self);
        super::plan::print_stdout(&text)?;
        Ok(exit::OK)
    }
}

fn decision(
    d: taskgraph::TaskDecision,
    evaluation: sift_core::select::plan::Evaluation,
) -> Decision {
    let kind = if d.needed_by.is_empty() {
        DecisionKind::Strategy(evaluation)
    } else {
        let mut names = d.needed_by;
        names.sort();
        DecisionKind::NeededBy(names)
    };
    let reason = match &kind {
        DecisionKind::NeededBy(names) if names.len() == 1 => {
            format!("{} (needed by {})", d.reason, names[0])
        }
        DecisionKind::NeededBy(names) => format!(
            "{} (needed by {} and {} more)",
            d.reason,
            names[0],
            names.len() - 1
        ),
        _ => d.reason,
    };
    Decision {
        name: d.label,
        run: d.kept,
        reason,
        kind,
    }
}

/// The kept labels, as taskgraph's optimized graph holds them; with
/// `removed`, also the removed ones with their reasons. `tasks` are
/// (label, kept, reason) in label order.
fn taskgraph_json<'a>(
    tasks: impl Iterator<Item = (&'a str, bool, &'a str)>,
    removed: bool,
) -> String {
    let mut kept = Vec::new();
    let mut gone = std::collections::BTreeMap::new();
    for (label, run, reason) in tasks {
        if run {
            kept.push(label);
        } else if removed {
            gone.insert(label, reason);
        }
    }
    if !removed {
        return render::string_list_json(&kept);
    }
    let mut out = serde_json::to_string_pretty(&serde_json::json!({"kept": kept, "removed": gone}))
        .expect("plain data serializes");
    out.push('\n');
    out
}

#[derive(Serialize)]
struct PathJson {
    path: String,
    /// The blocks that applied, root first: `dir/moz.build:LINE` and the pattern.
    blocks: Vec<BlockJson>,
    inclusive: Vec<String>,
    /// `null`: every exclusive component (the default, or an uncertain answer).
    exclusive: Option<Vec<String>>,
    components: Vec<String>,
    /// Why the answer is conservative, if it is.
    uncertain: Vec<String>,
}

#[derive(Serialize)]
struct BlockJson {
    location: String,
    pattern: Option<String>,
}

/// `sift files --mozbuild PATH...`.
pub fn files(root: &Path, args: &FilesArgs) -> Result<u8, CliError> {
    let config = load_config(root, true)?;
    let components = &config.components;
    let mut tree = MozbuildTree::new(root);
    let mut union = sift_core::select::components::ComponentSet::new();
    let mut per_path = Vec::new();
    for path in expand_wildcards(root, &args.paths) {
        let a: PathAnnotations = tree.annotations(&path, components, true);
        let set = a.components(components);
        union.union_with(&set);
        per_path.push(PathJson {
            blocks: a
                .matched
                .iter()
                .map(|m| BlockJson {
                    location: m.location(),
                    pattern: m.pattern.clone(),
                })
                .collect(),
            inclusive: components.names_of(&a.inclusive()),
            exclusive: a.exclusive().map(|e| components.names_of(&e)),
            components: components.names_of(&set),
            uncertain: a.uncertain.clone(),
            path,
        });
    }
    let diagnostics = tree.take_diagnostics();
    if diagnostics.has_errors() {
        return Err(CliError::Config(diagnostics));
    }
    if !diagnostics.items.is_empty() {
        output::print_diagnostics(&diagnostics);
    }
    let out = if args.json {
        let doc = serde_json::json!({"components": components.names_of(&union), "paths": per_path});
        let mut json = serde_json::to_string_pretty(&doc).expect("plain data serializes");
        json.push('\n');
        json
    } else {
        // mach prints `", ".join(set)`: the same names, here sorted.
        let mut out = components.names_of(&union).join(", ");
        out.push('\n');
        out
    };
    super::plan::print_stdout(&out)?;
    Ok(exit::OK)
}

/// The paths as mach's `file-info` takes them: each once, in order, and a
/// path with a `*` replaced by the work tree's files it matches
/// (`mozpath.match`, which includes everything below a matched directory),
/// leaving out dotfiles and dot-directories as mach's file finder does
/// unless the pattern itself names a dot path (`.github/*`). Paths without
/// a `*` are kept whether or not they exist (a deleted file is matched by
/// name; mach skips it).
fn expand_wildcards(root: &Path, raw: &[String]) -> Vec<String> {
    let mut files: Option<Vec<String>> = None;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for raw in raw {
        let path = normalize_path(raw);
        if !path.contains('*') {
            if seen.insert(path.clone()) {
                out.push(path);
            }
            continue;
        }
        let files = files.get_or_insert_with(|| {
            // Tracked files deleted from the work tree are not in it.
            let mut files = super::check::tracked_files(root);
            files.retain(|f| root.join(f).exists());
            files.extend(super::check::work_tree_files(root));
            files.sort();
            files.dedup();
            files
        });
        let dots = path.starts_with('.') || path.contains("/.");
        let pattern = sift_core::mozilla::mozpath::MozPattern::new(&path);
        let before = out.len();
        let found = files.iter().filter(|f| {
            (dots || !f.split('/').any(|part| part.starts_with('.'))) && pattern.matches(f)
        });
        for file in found {
            if seen.insert(file.clone()) {
                out.push(file.clone());
            }
        }
        if out.len() == before {
            output::note(&format!("`{path}` matches no file in the work tree"));
        }
    }
    out
}

/// `sift check --mozbuild`: every moz.build in the tree, read as a plan
/// would read it. Returns the report and whether it found errors.
pub fn check(root: &Path, config: &Config) -> (sift_core::Diagnostics, String, usize) {
    let mut tree = MozbuildTree::new(root);
    let mut dirs = Vec::new();
    let walker = ignore::WalkBuilder::new(root).hidden(false).build();
    for entry in walker.flatten() {
        if entry.file_name() == MOZBUILD
            && entry.file_type().is_some_and(|t| t.is_file())
            && let Ok(relative) = entry.path().strip_prefix(root)
        {
            let dir = relative
                .parent()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            dirs.push(dir);
        }
    }
    dirs.sort();
    tree.preload_dirs(dirs.iter().map(String::as_str), &config.components);
    let mut report = String::new();
    let mut files: Vec<_> = tree.files().cloned().collect();
    files.sort_by(|a, b| a.dir.cmp(&b.dir));
    for file in &files {
        for place in &file.conditional {
            let _ = writeln!(
                report,
                "{place}: `with Files` under a condition or in a function: not read (sift reads top-level blocks only)"
            );
        }
        for place in &file.conditional_includes {
            let _ = writeln!(
                report,
                "{place}: `include()` under a condition or in a function: not read (sift reads top-level statements only)"
            );
        }
        for place in &file.hidden {
            let _ = writeln!(
                report,
                "{place}: `with Files` after an empty block: mozbuild does not record it either"
            );
        }
    }
    (tree.take_diagnostics(), report, files.len())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Resident bytes of this process's mapping that starts at `start`.
    fn resident(start: usize) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let header = format!("{start:08x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&header));
        assert!(lines.next().is_some(), "no mapping at {header}");
        let rss = lines.find_map(|l| l.strip_prefix("Rss:")).unwrap();
        rss.trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<usize>()
            .unwrap()
            * 1024
    }

    #[test]
    fn released_pages_leave_the_mapped_text_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full-task-graph.json");
        let text: Vec<u8> = (0..3_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        std::fs::write(&path, &text).unwrap();
        let bytes = map_or_read(&path).unwrap();
        let Bytes::Mapped(map) = bytes else {
            panic!("a regular file is mapped")
        };
        assert_eq!(map, &text[..], "mapped as written");
        let start = map.as_ptr() as usize;
        assert!(resident(start) >= text.len() / 2, "read, so resident");
        let release = PageRelease::start(&bytes);
        // Nothing happens before it is told.
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(resident(start) >= text.len() / 2, "released before told");
        release.now();
        // At idle priority it waits for a free core: give it time.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while resident(start) > 0 {
            assert!(std::time::Instant::now() < deadline, "never released");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // The same bytes, mapped again from the file as they are read.
        assert_eq!(map, &text[..]);
        assert!(resident(start) >= text.len() / 2);
    }

    #[test]
    fn what_cannot_be_mapped_is_read_and_has_nothing_to_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.json");
        std::fs::write(&path, b"").unwrap();
        let bytes = map_or_read(&path).unwrap();
        assert!(matches!(&bytes, Bytes::Read(b) if b.is_empty()));
        let release = PageRelease::start(&bytes);
        assert!(release.waiting.is_none());
        release.now();
    }
}

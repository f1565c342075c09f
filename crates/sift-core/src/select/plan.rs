//! The planner: which tasks a change needs, and why (taskgraph's removal phase
//! over sift's strategies).
//!
//! Tasks are decided dependents first. A task that a kept task needs is kept;
//! a task outside the requested set (`--target`) is skipped once no kept task
//! needs it; otherwise its strategy decides. Every decision carries a reason,
//! and nothing depends on hash or iteration order.

use std::cell::OnceCell;
use std::collections::VecDeque;

use crate::config::Config;
use crate::diagnostic::Diagnostics;
use crate::pattern::{IndexScratch, NameGlob, PatternIndex, PatternList};
use crate::select::change::{Change, ChangeOrigin, ChangedFile};
use crate::select::components::{ComponentId, ComponentSet};
use crate::select::rules::{PathSchedules, RuleTree};
use crate::select::task::Strategy;
use crate::workspace::resolve::{Attribution, Outcome, Revisions};

/// How many files to remember per component as evidence.
pub(crate) const EVIDENCE_PER_COMPONENT: usize = 3;

/// What the user asked to plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// `--target`: globs over task names; empty means every task is requested.
    pub targets: Vec<NameGlob>,
    /// `--all`: keep every task.
    pub all: bool,
    /// `--record`: the push this plan is for (a backstop keeps every task).
    pub push: Option<crate::history::PushContext>,
    /// Shadow mode (`--shadow`, `[plan] mode = "shadow"`): every requested
    /// task is kept, with what it needs; those the selection would have
    /// skipped say so in their reason and in [`Plan::would_skip`].
    pub shadow: bool,
}

/// The components a change affects, with evidence.
#[derive(Clone, Debug, Default)]
pub struct ChangeAnalysis {
    pub components: ComponentSet,
    /// Per component id: the first changed paths (sorted) that affect it.
    pub evidence: Vec<Vec<String>>,
    /// Changed lockfiles and root manifests matched by `lockfile`/`manifest`
    /// rules: what their diff affects, and why.
    pub workspace: Vec<Attribution>,
}

impl ChangeAnalysis {
    pub fn evidence(&self, id: ComponentId) -> &[String] {
        self.evidence.get(id.0 as usize).map_or(&[], Vec::as_slice)
    }

    /// The lockfile or root manifest attribution of a changed path.
    pub fn attribution(&self, path: &str) -> Option<&Attribution> {
        self.workspace.iter().find(|a| a.path == path)
    }

    /// Why `path` (a lockfile or root manifest) affects `component`: the
    /// first reason of the first package that maps to it.
    pub fn workspace_reason(&self, path: &str, component: &str) -> Option<String> {
        match &self.attribution(path)?.outcome {
            Outcome::Packages { packages, .. } => packages
                .iter()
                .find(|p| p.components.iter().any(|c| c == component))
                .and_then(|p| {
                    p.because
                        .first()
                        .map(|b| format!("{b} → used by {}", p.name))
                }),
            Outcome::Everything(reason) => Some(format!("every component: {reason}")),
        }
    }
}

/// How one strategy (or composite member) decided.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub keep: bool,
    /// The strategy as configured, e.g. `schedules = ["linux"]`.
    pub strategy: String,
    /// One line: why.
    pub summary: String,
    /// Composite members that were evaluated (composites short-circuit).
    pub children: Vec<Evaluation>,
    /// For `schedules`: the listed components that the change affects.
    pub affected: Vec<ComponentId>,
    /// For `changed`: the first changed path that matched, and the pattern.
    pub matched: Option<(String, String)>,
}

/// Why a task runs or not.
#[derive(Clone, Debug)]
pub enum DecisionKind {
    /// `--all`.
    All,
    /// The change could not be known (e.g. shallow clone): everything runs.
    ScheduleAll(String),
    /// Kept tasks need it (sorted names).
    NeededBy(Vec<String>),
    /// Not matched by `--target`, and no kept task needs it.
    NotRequested,
    /// The task has no strategy.
    NoStrategy,
    /// A backstop push keeps every task (but `backstop = false` ones); the
    /// push's reason.
    Backstop(String),
    /// Its strategy decided.
    Strategy(Evaluation),
}

/// The decision for one task.
#[derive(Clone, Debug)]
pub struct Decision {
    pub name: String,
    pub run: bool,
    pub reason: String,
    pub kind: DecisionKind,
}

/// A plan: the change, its components and a decision per task (sorted by name).
#[derive(Debug)]
pub struct Plan {
    pub origin: ChangeOrigin,
    pub changed_files: Vec<ChangedFile>,
    pub components: Vec<String>,
    pub analysis: ChangeAnalysis,
    pub tasks: Vec<Decision>,
    /// The recorded push (`--record`), if any.
    pub push: Option<crate::history::PushContext>,
    /// Warnings about inputs the plan read (e.g. a moz.build sift could not
    /// read, whose paths were answered conservatively).
    pub warnings: Diagnostics,
    /// Kept tasks that the selection alone — without a backstop's forcing
    /// and without shadow mode — would have skipped, with its reason. Empty
    /// when the plan runs exactly what the selection keeps.
    pub would_skip: std::collections::BTreeMap<String, String>,
    /// Shadow mode: every requested task runs.
    pub shadow: bool,
    /// A plan of a taskgraph graph (`sift plan --graph`), explained: its
    /// tasks' dependencies and where they are defined, which the
    /// configuration's tasks give otherwise.
    pub graph: Option<GraphTasks>,
}

/// The graph side of an explained `sift plan --graph`.
#[derive(Clone, Debug, Default)]
pub struct GraphTasks {
    /// The graph file, as named on the command line.
    pub source: String,
    /// Per task, in the plan's order: the labels it depends on, sorted.
    pub needs: Vec<Vec<String>>,
}

impl Plan {
    pub fn kept(&self) -> impl Iterator<Item = &Decision> {
        self.tasks.iter().filter(|d| d.run)
    }

    pub fn decision(&self, name: &str) -> Option<&Decision> {
        self.tasks
            .binary_search_by(|d| d.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tasks[i])
    }
}

/// Errors that stop a plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Nested rule files read for this change are invalid.
    #[error("invalid rule files")]
    InvalidRules(Diagnostics),
    #[error("--target `{pattern}` matches no task")]
    UnknownTarget {
        pattern: String,
        suggestion: Option<String>,
    },
}

/// Plans changes against one configuration; rule files read for one change are
/// reused for the next.
pub struct Planner<'c> {
    config: &'c Config,
    tree: RuleTree<'c>,
    /// Every `changed` list of every task, indexed on first use.
    changed: OnceCell<ChangedIndex>,
    /// Both versions of changed files, for `lockfile`/`manifest` rules.
    revisions: Option<&'c dyn Revisions>,
}

/// The `changed` pattern lists of a configuration in one [`PatternIndex`],
/// so a plan looks each changed path up once instead of trying every list.
struct ChangedIndex {
    index: PatternIndex,
    /// Per task: the id of its first list; its lists follow in the order
    /// [`Strategy::changed_lists`] gives them.
    first_list: Vec<u32>,
}

impl ChangedIndex {
    fn new(config: &Config) -> ChangedIndex {
        let mut lists = Vec::new();
        let mut first_list = Vec::with_capacity(config.tasks.len());
        for task in &config.tasks {
            first_list.push(lists.len() as u32);
            if let Some(strategy) = &task.strategy {
                strategy.changed_lists(&mut lists);
            }
        }
        ChangedIndex {
            index: PatternIndex::new(lists.iter().copied()),
            first_list,
        }
    }

    /// For every list, the first of `paths` (in order) it selects and the
    /// pattern that decided: what [`PatternList::decide`] over the paths one
    /// by one gives, with each path looked up once.
    fn first_selected(&self, paths: &[&str]) -> Vec<Option<(u32, u32)>> {
        let index = &self.index;
        let lists = index.lists();
        let mut first: Vec<Option<(u32, u32)>> = vec![None; lists];
        // Per alternative: how many undecided lists hold it; at zero it can
        // no longer change an answer and is not run.
        let mut live = vec![0u32; index.alternatives()];
        for list in 0..lists as u32 {
            for &alternative in index.alternatives_of(list) {
                live[alternative as usize] += 1;
            }
        }
        let mut undecided = lists;
        let mut scratch = IndexScratch::default();
        let (mut matched, mut decisions) = (Vec::new(), Vec::new());
        for (position, path) in paths.iter().enumerate() {
            if undecided == 0 {
                break;
            }
            crate::pattern::with_segments(path, |segments| {
                index.matching_alternatives(
                    segments,
                    &mut scratch,
                    |a| live[a as usize] > 0,
                    &mut matched,
                );
                index.decisions(
                    &matched,
                    &mut scratch,
                    |l| first[l as usize].is_none(),
                    &mut decisions,
                );
            });
            for decision in &decisions {
                if !decision.selects {
                    continue;
                }
                first[decision.list as usize] = Some((position as u32, decision.pattern));
                undecided -= 1;
                for &alternative in index.alternatives_of(decision.list) {
                    live[alternative as usize] -= 1;
                }
            }
        }
        first
    }
}

/// How many `changed` lists a strategy holds: where the lists of the
/// members after it start.
fn changed_lists_in(strategy: &Strategy) -> u32 {
    match strategy {
        Strategy::Changed(_) => 1,
        Strategy::Any(members) | Strategy::All(members) => {
            members.iter().map(changed_lists_in).sum()
        }
        Strategy::Not(member) => changed_lists_in(member),
        Strategy::Schedules { .. }
        | Strategy::Always
        | Strategy::OnBackstop
        | Strategy::OnExpanded => 0,
    }
}

impl<'c> Planner<'c> {
    pub fn new(config: &'c Config) -> Self {
        Planner::with_files(config, std::sync::Arc::clone(&config.files))
    }

    /// A planner that reads nested rule files from `files` instead of where
    /// the configuration was loaded: `sift replay` plans a past push with a
    /// candidate configuration and the rule files of that push's commit.
    pub fn with_files(
        config: &'c Config,
        files: std::sync::Arc<dyn crate::config::FileSource>,
    ) -> Self {
        let mut tree = RuleTree::new(
            files,
            &config.components,
            std::sync::Arc::clone(&config.root_rules),
        );
        if config.mozbuild {
            tree.enable_mozbuild();
        }
        Planner {
            config,
            tree,
            changed: OnceCell::new(),
            revisions: None,
        }
    }

    /// Gives `lockfile`/`manifest` rules the files' two versions. Without
    /// them such a rule affects every exclusive component, with that reason.
    pub fn with_revisions(mut self, revisions: &'c dyn Revisions) -> Self {
        self.revisions = Some(revisions);
        self
    }

    /// Attributes the changed lockfiles and root manifests (only those a
    /// `lockfile`/`manifest` rule selects; a plan without any pays one check).
    fn attribute_workspace_files(&mut self, paths: &[&str]) -> Vec<Attribution> {
        if !self.tree.any_workspace_rules() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for &path in paths {
            let Some((rule, _)) = self.tree.workspace_rule(path) else {
                continue;
            };
            let mut attribution = match self.revisions {
                Some(revisions) => crate::workspace::resolve::attribute(path, rule, revisions),
                None => Attribution {
                    path: path.to_owned(),
                    rule,
                    outcome: Outcome::Everything(format!(
                        "{path}: no base and head versions to compare"
                    )),
                },
            };
            let set = match &mut attribution.outcome {
                Outcome::Packages { packages, .. } => {
                    let mut set = ComponentSet::new();
                    for package in packages {
                        let components = self
                            .tree
                            .exclusive_ignoring_workspace_rules(&package.manifest);
                        package.components = self.config.components.names_of(&components);
                        set.union_with(&components);
                    }
                    set
                }
                Outcome::Everything(_) => self.config.components.all_exclusive().clone(),
            };
            self.tree.set_resolved(path, set);
            out.push(attribution);
        }
        out
    }

    pub fn config(&self) -> &'c Config {
        self.config
    }

    pub fn rules(&mut self) -> &mut RuleTree<'c> {
        &mut self.tree
    }

    /// What the rules say about one path (for `sift files` and `sift why`).
    pub fn path_schedules(&mut self, path: &str, explain: bool) -> PathSchedules {
        self.tree.schedules(path, explain)
    }

    /// The components of a change: the union over its paths.
    fn analyze_paths(&mut self, paths: &[&str]) -> Result<ChangeAnalysis, PlanError> {
        let components = &self.config.components;
        let mut analysis = ChangeAnalysis {
            evidence: vec![Vec::new(); components.len()],
            ..ChangeAnalysis::default()
        };
        self.tree.preload(paths.iter().copied());
        analysis.workspace = self.attribute_workspace_files(paths);
        // Components that still want examples; once all have theirs, a path
        // costs only its rule matching and one union.
        let mut wanting: ComponentSet = components.ids().collect();
        let mut set = ComponentSet::new();
        for &path in paths {
            self.tree.components_into(path, &mut set);
            analysis.components.union_with(&set);
            if !set.intersects(&wanting) {
                continue;
            }
            let needed: Vec<ComponentId> = set.iter().filter(|id| wanting.contains(*id)).collect();
            for id in needed {
                let evidence = &mut analysis.evidence[id.0 as usize];
                evidence.push(path.to_owned());
                if evidence.len() == EVIDENCE_PER_COMPONENT {
                    wanting.remove(id);
                }
            }
        }
        if self.tree.diagnostics().has_errors() {
            let mut diagnostics = self.tree.diagnostics().clone();
            diagnostics.sort();
            return Err(PlanError::InvalidRules(diagnostics));
        }
        Ok(analysis)
    }

    /// The components of a change, with evidence (for strategies outside
    /// this configuration's tasks, e.g. a taskgraph graph).
    pub fn analyze(&mut self, change: &Change) -> Result<ChangeAnalysis, PlanError> {
        let paths = change.all_paths();
        self.analyze_paths(&paths)
    }

    /// Decides every task for `change`.
    ///
    /// On a backstop push and in shadow mode the plan keeps tasks the rules
    /// would skip; the selection is then planned too (a second pass without
    /// the forcing), and [`Plan::would_skip`] says what it would have
    /// skipped, which is what selection quality is measured against.
    pub fn plan(&mut self, change: Change, options: &PlanOptions) -> Result<Plan, PlanError> {
        let backstop = options.push.as_ref().is_some_and(|p| p.decision.backstop);
        let shadow = options.shadow || self.config.plan_mode == crate::history::PlanMode::Shadow;
        if options.all || !(shadow || backstop) {
            // `--all` keeps everything anyway; a shadow configuration still
            // says so (the push is recorded as a shadow push).
            let mut plan = self.plan_once(change, options, true)?;
            plan.shadow = shadow;
            return Ok(plan);
        }
        let selection = self.plan_once(change.clone(), options, false)?;
        if shadow {
            return Ok(self.shadow(selection, options));
        }
        let mut plan = self.plan_once(change, options, true)?;
        plan.would_skip = plan
            .tasks
            .iter()
            .zip(&selection.tasks)
            .filter(|(forced, chosen)| forced.run && !chosen.run)
            .map(|(_, chosen)| (chosen.name.clone(), chosen.reason.clone()))
            .collect();
        Ok(plan)
    }

    /// Shadow mode over the selection's plan: every requested task and what
    /// it needs is kept; the ones the selection skipped keep their kind (so
    /// `why` explains the selection) and say `shadow: would skip: …`.
    fn shadow(&self, mut plan: Plan, options: &PlanOptions) -> Plan {
        let tasks = &self.config.tasks;
        let mut keep: Vec<bool> = tasks
            .iter()
            .map(|t| {
                options.targets.is_empty() || options.targets.iter().any(|g| g.matches(&t.name))
            })
            .collect();
        let mut stack: Vec<usize> = (0..tasks.len()).filter(|&i| keep[i]).collect();
        while let Some(i) = stack.pop() {
            for &need in &tasks[i].need_ids {
                if !keep[need] {
                    keep[need] = true;
                    stack.push(need);
                }
            }
        }
        for (decision, keep) in plan.tasks.iter_mut().zip(keep) {
            if keep && !decision.run {
                plan.would_skip
                    .insert(decision.name.clone(), decision.reason.clone());
                decision.run = true;
                decision.reason = format!("shadow: would skip: {}", decision.reason);
            }
        }
        plan.shadow = true;
        plan
    }

    /// One planning pass; `force` applies a backstop push's forcing.
    fn plan_once(
        &mut self,
        change: Change,
        options: &PlanOptions,
        force: bool,
    ) -> Result<Plan, PlanError> {
        let config = self.config;
        for target in &options.targets {
            if !config.tasks.iter().any(|t| target.matches(&t.name)) {
                return Err(PlanError::UnknownTarget {
                    pattern: target.as_str().to_owned(),
                    suggestion: config.suggest_task(target.as_str()).map(str::to_owned),
                });
            }
        }
        let paths = change.all_paths();
        let analysis = self.analyze_paths(&paths)?;
        let tasks = &config.tasks;
        let requested: Vec<bool> = tasks
            .iter()
            .map(|t| {
                options.targets.is_empty() || options.targets.iter().any(|g| g.matches(&t.name))
            })
            .collect();

        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
        for (index, task) in tasks.iter().enumerate() {
            for &j in &task.need_ids {
                dependents[j].push(index);
            }
        }
        // Kahn's algorithm over reverse edges: dependents before dependencies.
        let mut remaining: Vec<usize> = dependents.iter().map(Vec::len).collect();
        let mut queue: VecDeque<usize> = (0..tasks.len()).filter(|&i| remaining[i] == 0).collect();
        let mut decisions: Vec<Option<Decision>> = vec![None; tasks.len()];
        let mut evaluator = Evaluator::new(config, &analysis, &paths, &self.changed);
        evaluator.push = options.push.as_ref();
        let backstop = options
            .push
            .as_ref()
            .filter(|p| force && p.decision.backstop)
            .map(|p| format!("{} #{}: {}", p.branch, p.number, p.decision.reason));
        while let Some(index) = queue.pop_front() {
            let task = &tasks[index];
            let kept_by: Vec<String> = dependents[index]
                .iter()
                .filter(|&&d| decisions[d].as_ref().is_some_and(|d| d.run))
                .map(|&d| tasks[d].name.clone())
                .collect();
            let (run, kind) = if options.all {
                (true, DecisionKind::All)
            } else if let Some(reason) = &change.origin.schedule_all_reason {
                (true, DecisionKind::ScheduleAll(reason.clone()))
            } else if let Some(reason) = backstop
                .as_ref()
                .filter(|_| task.backstop && requested[index])
            {
                (true, DecisionKind::Backstop(reason.clone()))
            } else if !kept_by.is_empty() {
                (true, DecisionKind::NeededBy(kept_by))
            } else if !requested[index] {
                (false, DecisionKind::NotRequested)
            } else {
                match &task.strategy {
                    None => (true, DecisionKind::NoStrategy),
                    Some(strategy) => {
                        let evaluation = evaluator.evaluate(strategy, index, 0);
                        (evaluation.keep, DecisionKind::Strategy(evaluation))
                    }
                }
            };
            let reason = reason_line(&kind, !dependents[index].is_empty());
            decisions[index] = Some(Decision {
                name: task.name.clone(),
                run,
                reason,
                kind,
            });
            for &j in &task.need_ids {
                remaining[j] -= 1;
                if remaining[j] == 0 {
                    queue.push_back(j);
                }
            }
        }
        let tasks = decisions
            .into_iter()
            .map(|d| d.expect("the task graph is acyclic"))
            .collect();
        Ok(Plan {
            origin: change.origin,
            changed_files: change.files,
            components: config.components.names_of(&analysis.components),
            analysis,
            tasks,
            push: options.push.clone(),
            warnings: Diagnostics {
                items: self.tree.diagnostics().warnings().cloned().collect(),
            },
            would_skip: std::collections::BTreeMap::new(),
            shadow: false,
            graph: None,
        })
    }
}

fn reason_line(kind: &DecisionKind, has_dependents: bool) -> String {
    match kind {
        DecisionKind::All => "--all: every task runs".to_owned(),
        DecisionKind::ScheduleAll(reason) => reason.clone(),
        DecisionKind::NeededBy(names) => match names.len() {
            1 => format!("needed by {}", names[0]),
            n => format!("needed by {} and {} more", names[0], n - 1),
        },
        DecisionKind::NotRequested if has_dependents => {
            "not requested (--target), and no kept task needs it".to_owned()
        }
        DecisionKind::NotRequested => "not requested (--target)".to_owned(),
        DecisionKind::NoStrategy => "no strategy: always runs".to_owned(),
        DecisionKind::Backstop(reason) => reason.clone(),
        DecisionKind::Strategy(evaluation) => evaluation.summary.clone(),
    }
}

/// Evaluates strategies against one change. `changed` lists are answered
/// from one pass of the change's paths through the configuration's
/// [`ChangedIndex`], made the first time a task needs it.
struct Evaluator<'a> {
    config: &'a Config,
    analysis: &'a ChangeAnalysis,
    /// Every path of the change (renames twice), sorted.
    paths: &'a [&'a str],
    index: &'a OnceCell<ChangedIndex>,
    /// Per list id: the first selected path and the deciding pattern.
    first_selected: Option<Vec<Option<(u32, u32)>>>,
    /// The recorded push, for `on_backstop`/`on_expanded`.
    push: Option<&'a crate::history::PushContext>,
}

impl<'a> Evaluator<'a> {
    fn new(
        config: &'a Config,
        analysis: &'a ChangeAnalysis,
        paths: &'a [&'a str],
        index: &'a OnceCell<ChangedIndex>,
    ) -> Self {
        Evaluator {
            config,
            analysis,
            paths,
            index,
            first_selected: None,
            push: None,
        }
    }

    /// The first changed path (sorted) that list `local` of `task`'s
    /// strategy selects, with the deciding pattern.
    fn first_selected(
        &mut self,
        patterns: &PatternList,
        task: usize,
        local: u32,
    ) -> Option<(String, String)> {
        let index = self.index.get_or_init(|| ChangedIndex::new(self.config));
        let paths = self.paths;
        let first = self
            .first_selected
            .get_or_insert_with(|| index.first_selected(paths));
        let id = index.first_list[task] + local;
        first[id as usize].map(|(path, pattern)| {
            (
                paths[path as usize].to_owned(),
                patterns.describe(pattern as usize),
            )
        })
    }

    /// Evaluates `strategy`, part of `task`'s, whose `changed` lists are
    /// that task's from number `list` on.
    fn evaluate(&mut self, strategy: &Strategy, task: usize, list: u32) -> Evaluation {
        match strategy {
            Strategy::Schedules { components, names } => {
                let affected: Vec<ComponentId> = components
                    .iter()
                    .filter(|id| self.analysis.components.contains(*id))
                    .collect();
                let configured = quoted(names);
                let summary = if names.is_empty() {
                    "schedules: an empty list never keeps a task".to_owned()
                } else if affected.is_empty() {
                    let mut summary = "schedules: none of ".to_owned();
                    list_short_into(&mut summary, names);
                    summary.push_str(" affected");
                    summary
                } else {
                    let components = &self.config.components;
                    let affected_names: Vec<&str> =
                        affected.iter().map(|id| components.name(*id)).collect();
                    let example = self
                        .analysis
                        .evidence(affected[0])
                        .first()
                        .map_or("", String::as_str);
                    let mut summary = "schedules: ".to_owned();
                    list_short_into(&mut summary, &affected_names);
                    summary.push_str(" affected (by ");
                    summary.push_str(example);
                    // A lockfile or root manifest names what changed in it.
                    if !self.analysis.workspace.is_empty()
                        && let Some(why) =
                            self.analysis.workspace_reason(example, affected_names[0])
                    {
                        summary.push_str(": ");
                        summary.push_str(&why);
                    }
                    summary.push(')');
                    summary
                };
                Evaluation {
                    keep: !affected.is_empty(),
                    strategy: configured,
                    summary,
                    children: Vec::new(),
                    affected,
                    matched: None,
                }
            }
            Strategy::Changed(patterns) => {
                let matched = self.first_selected(patterns, task, list);
                let summary = match &matched {
                    Some((path, pattern)) => {
                        concat(&["changed: ", path, " matches `", pattern, "`"])
                    }
                    None => concat(&[
                        "changed: no changed file matches ",
                        &short_patterns(patterns),
                    ]),
                };
                Evaluation {
                    keep: matched.is_some(),
                    strategy: changed_strategy(patterns),
                    summary,
                    children: Vec::new(),
                    affected: Vec::new(),
                    matched,
                }
            }
            Strategy::Always => leaf(true, "always = true", "always"),
            Strategy::Not(member) => {
                let child = self.evaluate(member, task, list);
                Evaluation {
                    keep: !child.keep,
                    strategy: "not".to_owned(),
                    summary: format!("not: {}", child.summary),
                    children: vec![child],
                    affected: Vec::new(),
                    matched: None,
                }
            }
            Strategy::OnBackstop => crate::history::evaluate_on_push(self.push, false),
            Strategy::OnExpanded => crate::history::evaluate_on_push(self.push, true),
            Strategy::Any(members) => self.composite("any", members, true, task, list),
            Strategy::All(members) => self.composite("all", members, false, task, list),
        }
    }

    /// `any` (decisive when a member keeps) and `all` (decisive when a member
    /// skips). Members are evaluated in order and stop at the first decisive
    /// one, as taskgraph's lazy composites do, so explanations show exactly
    /// the members that were consulted.
    fn composite(
        &mut self,
        key: &str,
        members: &[Strategy],
        decisive: bool,
        task: usize,
        mut list: u32,
    ) -> Evaluation {
        let mut children = Vec::new();
        for member in members {
            let child = self.evaluate(member, task, list);
            list += changed_lists_in(member);
            let stop = child.keep == decisive;
            children.push(child);
            if stop {
                break;
            }
        }
        let last = children
            .last()
            .map(|c| c.summary.clone())
            .unwrap_or_default();
        let (keep, summary) = if decisive {
            let keep = children.last().is_some_and(|c| c.keep);
            (
                keep,
                if keep {
                    format!("any: {last}")
                } else {
                    "any: no member keeps it".to_owned()
                },
            )
        } else {
            let keep = children.iter().all(|c| c.keep);
            let all: Vec<&str> = children.iter().map(|c| c.summary.as_str()).collect();
            (
                keep,
                if keep {
                    format!("all: {}", all.join("; "))
                } else {
                    format!("all: {last}")
                },
            )
        };
        Evaluation {
            keep,
            strategy: key.to_owned(),
            summary,
            children,
            affected: Vec::new(),
            matched: None,
        }
    }
}

/// `changed = ["a/**", "!b"]`, written once per task without a list of strings.
fn changed_strategy(patterns: &PatternList) -> String {
    let mut out = String::with_capacity(16 + 16 * patterns.len());
    out.push_str("changed = [");
    for (i, (negated, pattern)) in patterns.patterns().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('"');
        if negated {
            out.push('!');
        }
        out.push_str(pattern.as_str());
        out.push('"');
    }
    out.push(']');
    out
}

/// The pieces, in one allocation.
fn concat(pieces: &[&str]) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for piece in pieces {
        out.push_str(piece);
    }
    out
}

/// [`list_short`] over a pattern list, as written (with `!`).
fn short_patterns(patterns: &PatternList) -> String {
    let described: Vec<String> = (0..patterns.len()).map(|i| patterns.describe(i)).collect();
    list_short(&described)
}

pub fn leaf(keep: bool, strategy: &str, summary: &str) -> Evaluation {
    Evaluation {
        keep,
        strategy: strategy.to_owned(),
        summary: summary.to_owned(),
        children: Vec::new(),
        affected: Vec::new(),
        matched: None,
    }
}

/// `schedules = ["a", "b"]`.
fn quoted(names: &[String]) -> String {
    let mut out = String::with_capacity(16 + names.iter().map(|n| n.len() + 4).sum::<usize>());
    out.push_str("schedules = [");
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('"');
        out.push_str(name);
        out.push('"');
    }
    out.push(']');
    out
}

/// `a, b, c` or `a, b, c and 4 more`.
fn list_short(names: &[String]) -> String {
    let mut out = String::new();
    list_short_into(&mut out, names);
    out
}

/// [`list_short`], appended to `out`.
fn list_short_into<S: AsRef<str>>(out: &mut String, names: &[S]) {
    const SHOWN: usize = 3;
    let shown = if names.len() <= SHOWN + 1 {
        names.len()
    } else {
        SHOWN
    };
    for (i, name) in names[..shown].iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name.as_ref());
    }
    if shown < names.len() {
        out.push_str(" and ");
        out.push_str(&(names.len() - shown).to_string());
        out.push_str(" more");
    }
}

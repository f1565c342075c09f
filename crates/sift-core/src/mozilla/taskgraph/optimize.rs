//! taskgraph's `optimize_task_graph` over a full graph, without the calls to
//! Taskcluster: the removal phase exactly (`remove_tasks`, reference §5.3),
//! and the replacement phase's removals (`should_replace_task` returning
//! `True`). Replacement by a cached task (index-search) needs the
//! Taskcluster index: such tasks are kept, and said so once.
//!
//! Deterministic: tasks are visited in a fixed order, and where taskgraph's
//! own answer depends on Python's hash seed (an `if_dependencies` chain as
//! in taskgraph issue #711), the conservative answer is taken: a task a kept
//! task depends on is never removed.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::graph::TaskGraph;
use super::params::{AlwaysTarget, Params, PushlogId};
use super::strategies::{Answer, Registered, Registry, Strategy, split};
use crate::mozilla::mozpath::MozPattern;
use crate::select::components::Components;
use crate::select::plan::ChangeAnalysis;

/// What the optimizer needs besides the graph.
pub struct Inputs<'a> {
    /// The requested tasks and the target task graph ([`TargetGraph::new`]).
    pub targets: &'a TargetGraph,
    pub params: &'a Params,
    pub registry: &'a Registry,
    /// The changed files, sorted and deduplicated.
    pub files: &'a [String],
    pub components: &'a Components,
    /// The change's components (moz.build and rule files) with evidence.
    pub analysis: &'a ChangeAnalysis,
    /// Whether this push is a backstop (`--backstop`, the recorded push, or
    /// the parameters' `backstop`).
    pub backstop: bool,
    /// Whether it is expanded (`--expanded`, the recorded push); `None`:
    /// taskgraph's rule from the parameters (`pushlog_id % 10 == 0`).
    pub expanded: Option<bool>,
}

/// The decision for one task.
#[derive(Clone, Debug)]
pub struct TaskDecision {
    pub label: String,
    pub kept: bool,
    /// In taskgraph's words first (`test (skip-unless-schedules)`,
    /// `dependent tasks`, `dependents optimized`, `if-dependencies pruning`),
    /// then what sift found.
    pub reason: String,
    /// For "dependent tasks": the kept dependents.
    pub needed_by: Vec<String>,
}

/// The optimizer's answer: per task, kept or not and why, kept compact
/// (a 20,000-task graph shares a few dozen reasons); [`Outcome::decisions`]
/// spells them out.
#[derive(Debug)]
pub struct Outcome {
    kept: Vec<bool>,
    why: Vec<Why>,
    /// Reasons given by strategies (shared by the tasks whose optimization
    /// reads the same) and by the replacement phase.
    texts: Vec<String>,
    /// The kept dependents behind each "dependent tasks".
    needs: Vec<Vec<u32>>,
    /// Strategies sift could not evaluate, each once, with a task count.
    pub notes: Vec<String>,
}

/// Why a task was kept or removed, in an [`Outcome`].
#[derive(Clone, Copy, Debug)]
enum Why {
    NotInGraph,
    DoNotOptimize,
    /// Index in `Outcome::needs`.
    Dependents(u32),
    DependentsOptimized,
    Pruned,
    /// Index in `Outcome::texts`.
    Text(u32),
}

impl Outcome {
    /// Whether task `i` is kept.
    pub fn is_kept(&self, i: u32) -> bool {
        self.kept[i as usize]
    }

    /// Whether task `i` is in the target task graph (a target task, an
    /// `always_target` one, or what they depend on): what runs unoptimized.
    pub fn in_target_graph(&self, i: u32) -> bool {
        !matches!(self.why[i as usize], Why::NotInGraph)
    }

    /// The kept tasks, in label order.
    pub fn kept(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.kept.len() as u32).filter(|&i| self.kept[i as usize])
    }

    /// Task `i`'s reason, in taskgraph's words first.
    pub fn reason(&self, i: u32) -> &str {
        match self.why[i as usize] {
            Why::NotInGraph => "not in the target task graph",
            Why::DoNotOptimize => "do not optimize",
            Why::Dependents(_) => "dependent tasks",
            Why::DependentsOptimized => "dependents optimized",
            Why::Pruned => "if-dependencies pruning",
            Why::Text(t) => &self.texts[t as usize],
        }
    }

    /// For "dependent tasks": the kept dependents of task `i`.
    pub fn needed_by(&self, i: u32) -> &[u32] {
        match self.why[i as usize] {
            Why::Dependents(n) => &self.needs[n as usize],
            _ => &[],
        }
    }

    /// Every task of the graph, sorted by label, with its reason spelled out.
    pub fn decisions(&self, graph: &TaskGraph) -> Vec<TaskDecision> {
        (0..graph.len() as u32)
            .map(|i| TaskDecision {
                label: graph.label(i).to_owned(),
                kept: self.is_kept(i),
                reason: self.reason(i).to_owned(),
                needed_by: self
                    .needed_by(i)
                    .iter()
                    .map(|&d| graph.label(d).to_owned())
                    .collect(),
            })
            .collect()
    }
}

/// Why the graph cannot be optimized.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptimizeError {
    #[error("target task `{0}` is not in the graph")]
    UnknownTarget(String),
    /// taskgraph's own error when a kept task depends on a removed one.
    #[error("Optimization error: {0}")]
    BadEdges(String),
}

struct Evaluator<'a> {
    inputs: &'a Inputs<'a>,
    /// Pattern → the first changed file it matches (`mozpath.match`), as
    /// an index in the changed files.
    patterns: rustc_hash::FxHashMap<String, Option<u32>>,
    /// Changed files' directories (for skip-unless-has-relevant-tests).
    dirs: Vec<String>,
    /// Strategy name → tasks it was consulted for but could not answer.
    unanswered: BTreeMap<String, usize>,
    /// The names noted during the evaluation under way (replayed for the
    /// tasks that share its answer).
    noted: Vec<String>,
}

impl<'a> Evaluator<'a> {
    fn new(inputs: &'a Inputs<'a>) -> Self {
        let mut dirs: Vec<String> = inputs
            .files
            .iter()
            .filter_map(|f| f.rsplit_once('/').map(|(d, _)| d.to_owned()))
            .filter(|d| !d.is_empty())
            .collect();
        dirs.sort();
        dirs.dedup();
        Evaluator {
            inputs,
            patterns: rustc_hash::FxHashMap::default(),
            dirs,
            unanswered: BTreeMap::new(),
            noted: Vec::new(),
        }
    }

    /// The first changed file `pattern` matches, looked up once per pattern:
    /// only files starting with the pattern's literal prefix are tried.
    fn first_match(&mut self, pattern: &str) -> Option<&'a str> {
        let files = self.inputs.files;
        let found = match self.patterns.get(pattern) {
            Some(&known) => known,
            None => {
                let compiled = MozPattern::new(pattern);
                let prefix = compiled.literal_prefix();
                let start = files.partition_point(|f| f.as_str() < prefix);
                let found = files[start..]
                    .iter()
                    .take_while(|f| f.starts_with(prefix))
                    .position(|f| compiled.matches(f))
                    .map(|at| (start + at) as u32);
                self.patterns.insert(pattern.to_owned(), found);
                found
            }
        };
        found.map(|i| files[i as usize].as_str())
    }

    fn pushlog(&self) -> Option<&PushlogId> {
        self.inputs.params.pushlog_id.as_ref()
    }

    /// `should_remove_task`, with a detail for the reason.
    fn remove(
        &mut self,
        reg: &Registered,
        graph: &TaskGraph,
        task: u32,
        arg: &Value,
    ) -> (Answer, String) {
        let yes_no = |b: bool| if b { Answer::Yes } else { Answer::No };
        match &reg.strategy {
            Strategy::Never | Strategy::IndexSearch => (Answer::No, String::new()),
            Strategy::Always => (Answer::Yes, String::new()),
            Strategy::Changed => {
                let params = self.inputs.params;
                if params.base_rev.is_some() && params.base_rev == params.head_rev {
                    return (Answer::No, "base_rev equals head_rev".to_owned());
                }
                if params.repository_type.as_deref() == Some("hg")
                    && self.pushlog() == Some(&PushlogId::Int(-1))
                {
                    return (Answer::No, "pushlog_id is -1".to_owned());
                }
                let Some(patterns) = arg
                    .as_array()
                    .filter(|items| items.iter().all(Value::is_string))
                else {
                    self.note(&reg.name);
                    return (
                        Answer::Unknown,
                        "its argument is not a list of patterns".to_owned(),
                    );
                };
                let patterns = || patterns.iter().filter_map(Value::as_str);
                for pattern in patterns() {
                    if let Some(file) = self.first_match(pattern) {
                        return (Answer::No, format!("{file} matches `{pattern}`"));
                    }
                }
                let all: Vec<&str> = patterns().collect();
                (
                    Answer::Yes,
                    format!("no changed file matches {}", short(&all)),
                )
            }
            Strategy::Schedules => {
                if self.pushlog() == Some(&PushlogId::Int(-1)) {
                    return (Answer::No, "pushlog_id is -1".to_owned());
                }
                let Some(names) = string_list(arg) else {
                    self.note(&reg.name);
                    return (
                        Answer::Unknown,
                        "its argument is not a list of components".to_owned(),
                    );
                };
                let affected: Vec<&String> = names
                    .iter()
                    .filter(|n| {
                        self.inputs
                            .components
                            .get(n)
                            .is_some_and(|id| self.inputs.analysis.components.contains(id))
                    })
                    .collect();
                match affected.first() {
                    Some(first) => {
                        let id = self.inputs.components.get(first).expect("affected");
                        let by = self
                            .inputs
                            .analysis
                            .evidence(id)
                            .first()
                            .cloned()
                            .unwrap_or_default();
                        let shown: Vec<String> = affected.iter().map(|s| (*s).clone()).collect();
                        (Answer::No, format!("{} affected (by {by})", short(&shown)))
                    }
                    None if names.is_empty() => (Answer::Yes, "an empty list".to_owned()),
                    None => (Answer::Yes, format!("none of {} affected", short(&names))),
                }
            }
            Strategy::RelevantTests => {
                let manifests: Vec<&str> =
                    graph.test_manifests(task).into_iter().flatten().collect();
                if manifests.is_empty() {
                    return (Answer::Yes, "no test manifests".to_owned());
                }
                for dir in &self.dirs {
                    if let Some(m) = manifests.iter().find(|m| m.starts_with(dir.as_str())) {
                        return (Answer::No, format!("{m} is under {dir}"));
                    }
                }
                (
                    Answer::Yes,
                    "no test manifest under a changed directory".to_owned(),
                )
            }
            Strategy::Backstop => (
                yes_no(!self.inputs.backstop),
                if self.inputs.backstop {
                    "a backstop push"
                } else {
                    "not a backstop push"
                }
                .to_owned(),
            ),
            Strategy::Expanded => {
                if self.inputs.backstop {
                    return (Answer::No, "a backstop push".to_owned());
                }
                if let Some(expanded) = self.inputs.expanded {
                    return (
                        yes_no(!expanded),
                        if expanded {
                            "an expanded push"
                        } else {
                            "not an expanded push"
                        }
                        .to_owned(),
                    );
                }
                match self.pushlog().and_then(PushlogId::as_int) {
                    Some(id) => (
                        yes_no(id % 10 != 0),
                        format!(
                            "pushlog_id {id} {} a multiple of 10",
                            if id % 10 == 0 { "is" } else { "is not" }
                        ),
                    ),
                    None => {
                        self.note(&reg.name);
                        (
                            Answer::Unknown,
                            "no pushlog_id in the parameters".to_owned(),
                        )
                    }
                }
            }
            Strategy::PlatformDebug => match graph.build_type(task) {
                Some(t) if t != "debug" => (Answer::Yes, format!("build_type {t}")),
                _ => (Answer::No, String::new()),
            },
            Strategy::Service => {
                self.note(&reg.name);
                (
                    Answer::Unknown,
                    format!("{} needs Mozilla's services: kept", reg.name),
                )
            }
            Strategy::Alias(sub) => self.remove(&sub.clone(), graph, task, arg),
            Strategy::Not(sub) => {
                let (answer, detail) = self.remove(&sub.clone(), graph, task, arg);
                (not(answer), format!("not: {detail}"))
            }
            Strategy::Any(subs) | Strategy::All(subs) => {
                let any = matches!(reg.strategy, Strategy::Any(_));
                let args = split(reg, arg, subs.len());
                let subs = subs.clone();
                let mut unknown = None;
                let mut last = String::new();
                for (sub, arg) in subs.iter().zip(args) {
                    let (answer, detail) = self.remove(sub, graph, task, arg);
                    last = detail;
                    match answer {
                        Answer::Yes if any => return (Answer::Yes, last),
                        Answer::No if !any => return (Answer::No, last),
                        Answer::Unknown => unknown = Some(last.clone()),
                        _ => {}
                    }
                }
                match unknown {
                    Some(detail) => (Answer::Unknown, detail),
                    None => (if any { Answer::No } else { Answer::Yes }, last),
                }
            }
        }
    }

    /// `should_replace_task`: `Yes` means "replace with nothing" (remove).
    fn replace(&mut self, reg: &Registered, arg: &Value) -> Answer {
        match &reg.strategy {
            Strategy::IndexSearch => Answer::Unknown,
            Strategy::Alias(sub) => self.replace(&sub.clone(), arg),
            Strategy::Not(sub) => not(self.replace(&sub.clone(), arg)),
            Strategy::Any(subs) | Strategy::All(subs) => {
                let any = matches!(reg.strategy, Strategy::Any(_));
                let args = split(reg, arg, subs.len());
                let mut unknown = false;
                for (sub, arg) in subs.clone().iter().zip(args) {
                    match self.replace(sub, arg) {
                        Answer::Yes if any => return Answer::Yes,
                        Answer::No if !any => return Answer::No,
                        Answer::Unknown => unknown = true,
                        _ => {}
                    }
                }
                if unknown {
                    Answer::Unknown
                } else if any {
                    Answer::No
                } else {
                    Answer::Yes
                }
            }
            _ => Answer::No,
        }
    }

    fn note(&mut self, name: &str) {
        *self.unanswered.entry(name.to_owned()).or_default() += 1;
        self.noted.push(name.to_owned());
    }
}

fn not(answer: Answer) -> Answer {
    match answer {
        Answer::Yes => Answer::No,
        Answer::No => Answer::Yes,
        Answer::Unknown => Answer::Unknown,
    }
}

fn string_list(arg: &Value) -> Option<Vec<String>> {
    arg.as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn short<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    if items.len() <= 4 {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..3].join(", "), items.len() - 3)
    }
}

/// What the optimization needs of the graph, the target tasks and the
/// parameters, none of which depend on the change: the requested tasks
/// (target tasks and `always_target` ones), the target task graph (their
/// closure), the tasks not to optimize, and the order the removal walks.
/// Made apart from [`optimize`] so that it can be made while the change is
/// still being analysed.
#[derive(Debug)]
pub struct TargetGraph {
    requested: Vec<bool>,
    in_graph: Vec<bool>,
    do_not_optimize: Vec<bool>,
    /// The target task graph's tasks, dependents first.
    order: Vec<u32>,
}

impl TargetGraph {
    /// `target_tasks`: `target-tasks.json`; `None`: every task is a target.
    /// A target that is not in the graph is an error, as in taskgraph.
    pub fn new<S: AsRef<str>>(
        graph: &TaskGraph,
        target_tasks: Option<&[S]>,
        params: &Params,
    ) -> Result<TargetGraph, OptimizeError> {
        let n = graph.len();
        // requested = target tasks + always_target; the target graph is their closure.
        let mut target = vec![target_tasks.is_none(); n];
        for label in target_tasks.unwrap_or_default() {
            let label = label.as_ref();
            let i = graph
                .get(label)
                .ok_or_else(|| OptimizeError::UnknownTarget(label.to_owned()))?;
            target[i as usize] = true;
        }
        let mut requested = target.clone();
        for i in 0..n as u32 {
            let always = match &params.enable_always_target {
                AlwaysTarget::All => graph.always_target(i),
                AlwaysTarget::None => false,
                AlwaysTarget::Kinds(kinds) => {
                    graph.always_target(i) && kinds.iter().any(|k| k == graph.kind(i))
                }
            };
            requested[i as usize] |= always;
        }
        let mut in_graph = requested.clone();
        let mut stack: Vec<u32> = (0..n as u32).filter(|&i| in_graph[i as usize]).collect();
        while let Some(i) = stack.pop() {
            for &dep in graph.dependencies(i) {
                if !in_graph[dep as usize] {
                    in_graph[dep as usize] = true;
                    stack.push(dep);
                }
            }
        }
        let mut do_not_optimize = vec![false; n];
        for label in &params.do_not_optimize {
            if let Some(i) = graph.get(label) {
                do_not_optimize[i as usize] = true;
            }
        }
        if !params.optimize_target_tasks {
            for i in 0..n {
                do_not_optimize[i] |= target[i];
            }
        }
        let order: Vec<u32> = graph
            .preorder()
            .into_iter()
            .filter(|&i| in_graph[i as usize])
            .collect();
        Ok(TargetGraph {
            requested,
            in_graph,
            do_not_optimize,
            order,
        })
    }
}

/// Runs taskgraph's optimization over `graph`, whose target task graph is
/// `inputs.targets` (made for this graph and `inputs.params`).
pub fn optimize(graph: &TaskGraph, inputs: &Inputs) -> Result<Outcome, OptimizeError> {
    let n = graph.len();
    let TargetGraph {
        requested,
        in_graph,
        do_not_optimize,
        order,
    } = inputs.targets;
    assert_eq!(in_graph.len(), n, "the target graph is made for this graph");
    let dependents = |i: u32| {
        graph
            .dependents(i)
            .iter()
            .copied()
            .filter(|&d| in_graph[d as usize])
    };

    let mut evaluator = Evaluator::new(inputs);
    let mut removed = vec![false; n];
    let mut candidate = vec![false; n];
    let mut why = vec![Why::NotInGraph; n];
    let mut texts: Vec<String> = Vec::new();
    let mut needs: Vec<Vec<u32>> = Vec::new();
    let mut unknown_names: BTreeMap<String, usize> = BTreeMap::new();
    // Per distinct optimization: its registered strategy, and what it
    // answered where the answer does not depend on the task.
    let mut strategies: Vec<Option<Option<Arc<Registered>>>> =
        vec![None; graph.optimization_count()];
    let mut answers: Vec<Option<Memo>> = vec![None; graph.optimization_count()];
    let mut never: Option<Memo> = None;
    for &t in order {
        let ti = t as usize;
        let prune_deps: Vec<u32> = dependents(t)
            .filter(|&l| {
                candidate[l as usize]
                    && (graph.if_dependencies(l).is_empty()
                        || graph.if_dependencies(l).contains(&t))
            })
            .collect();
        enum Step {
            Keep(Why),
            Remove(Why),
            Candidate(Why),
        }
        let step = if do_not_optimize[ti] {
            Step::Keep(Why::DoNotOptimize)
        } else {
            let needing: Vec<u32> = dependents(t)
                .filter(|&l| !removed[l as usize] && !prune_deps.contains(&l))
                .collect();
            if !needing.is_empty() {
                needs.push(needing);
                Step::Keep(Why::Dependents(needs.len() as u32 - 1))
            } else if !requested[ti] {
                Step::Remove(Why::DependentsOptimized)
            } else {
                let memo = match graph.optimization_id(t) {
                    None => never
                        .get_or_insert_with(|| {
                            Memo::text(Answer::No, "never".to_owned(), &mut texts)
                        })
                        .clone(),
                    Some(id) => match &answers[id as usize] {
                        Some(memo) => memo.clone(),
                        None => {
                            let (name, arg) = graph.optimization(t).expect("has an optimization");
                            let registered = strategies[id as usize]
                                .get_or_insert_with(|| inputs.registry.get(name))
                                .clone();
                            let memo = match registered {
                                None => {
                                    let mut memo = Memo::text(
                                        Answer::Unknown,
                                        format!("{name}: not a strategy sift knows: kept"),
                                        &mut texts,
                                    );
                                    memo.unknown = Some(name.to_owned());
                                    memo
                                }
                                Some(reg) => {
                                    evaluator.noted.clear();
                                    let (answer, detail) = evaluator.remove(&reg, graph, t, arg);
                                    let reason = if detail.is_empty() {
                                        format!("{name} ({})", reg.description())
                                    } else {
                                        format!("{name} ({}): {detail}", reg.description())
                                    };
                                    let mut memo = Memo::text(answer, reason, &mut texts);
                                    memo.noted = std::mem::take(&mut evaluator.noted);
                                    if !uses_the_task(&reg) {
                                        // Later tasks replay its notes.
                                        answers[id as usize] = Some(memo.replay());
                                    }
                                    memo
                                }
                            };
                            if memo.unknown.is_some() {
                                answers[id as usize] = Some(memo.replay());
                            }
                            memo
                        }
                    },
                };
                if memo.replayed {
                    for name in &memo.noted {
                        *evaluator.unanswered.entry(name.clone()).or_default() += 1;
                    }
                }
                if let Some(name) = &memo.unknown {
                    *unknown_names.entry(name.clone()).or_default() += 1;
                }
                match memo.answer {
                    Answer::Yes => Step::Remove(memo.why),
                    _ if !graph.if_dependencies(t).is_empty() => Step::Candidate(memo.why),
                    _ => Step::Keep(memo.why),
                }
            }
        };
        match step {
            Step::Keep(reason) => {
                why[ti] = reason;
                // Release the prune candidates this task's keep justifies.
                let mut queue = prune_deps;
                while let Some(l) = queue.pop() {
                    let li = l as usize;
                    if !candidate[li] || graph.if_dependencies(l).is_empty() {
                        continue;
                    }
                    candidate[li] = false;
                    queue.extend(dependents(l).filter(|&r| candidate[r as usize]));
                }
            }
            Step::Remove(reason) => {
                if prune_deps.is_empty() {
                    removed[ti] = true;
                } else {
                    candidate[ti] = true;
                }
                why[ti] = reason;
            }
            Step::Candidate(reason) => {
                candidate[ti] = true;
                why[ti] = reason;
            }
        }
    }
    // Remaining prune candidates go, unless something kept depends on them;
    // dependents first, so a candidate kept here protects its own
    // dependencies (taskgraph would remove those and then fail, or not,
    // depending on the hash seed).
    let mut final_kept = vec![false; n];
    for &t in order {
        let ti = t as usize;
        if !candidate[ti] {
            continue;
        }
        let needing: Vec<u32> = dependents(t)
            .filter(|&d| !removed[d as usize] && (!candidate[d as usize] || final_kept[d as usize]))
            .collect();
        if needing.is_empty() {
            removed[ti] = true;
            why[ti] = Why::Pruned;
        } else {
            final_kept[ti] = true;
            needs.push(needing);
            why[ti] = Why::Dependents(needs.len() as u32 - 1);
        }
    }
    // The replacement phase, dependencies first: "replace with nothing".
    let mut maybe_replaced = 0usize;
    let mut replacements: Vec<Option<Answer>> = vec![None; graph.optimization_count()];
    for &t in order.iter().rev() {
        let ti = t as usize;
        if removed[ti] || do_not_optimize[ti] {
            continue;
        }
        if graph.dependencies(t).iter().any(|&d| !removed[d as usize]) {
            continue;
        }
        let (Some(id), Some((name, arg))) = (graph.optimization_id(t), graph.optimization(t))
        else {
            continue;
        };
        let Some(reg) = strategies[id as usize]
            .get_or_insert_with(|| inputs.registry.get(name))
            .clone()
        else {
            continue;
        };
        let answer = *replacements[id as usize].get_or_insert_with(|| evaluator.replace(&reg, arg));
        match answer {
            Answer::Yes => {
                removed[ti] = true;
                texts.push(format!(
                    "{name} ({}): replaced with nothing",
                    reg.description()
                ));
                why[ti] = Why::Text(texts.len() as u32 - 1);
            }
            Answer::Unknown => maybe_replaced += 1,
            Answer::No => {}
        }
    }
    // taskgraph's get_subgraph refuses a kept task that depends on a removed one.
    let mut bad = Vec::new();
    for &t in order {
        let ti = t as usize;
        if removed[ti] {
            continue;
        }
        for &d in graph.dependencies(t) {
            if removed[d as usize] {
                bad.push(format!(
                    "{} depends on {} but it has been removed",
                    graph.label(t),
                    graph.label(d)
                ));
            }
        }
    }
    if !bad.is_empty() {
        return Err(OptimizeError::BadEdges(bad.join(", ")));
    }
    let mut notes = Vec::new();
    for (name, count) in &evaluator.unanswered {
        notes.push(format!(
            "`{name}` could not be evaluated for {count} task(s) (it needs Mozilla's services or other parameters); they are kept"
        ));
    }
    for (name, count) in &unknown_names {
        notes.push(format!(
            "`{name}` is not an optimization strategy sift knows ({count} task(s)); they are kept"
        ));
    }
    if maybe_replaced > 0 {
        notes.push(format!(
            "{maybe_replaced} task(s) use index-search: Taskcluster could replace them with cached tasks; sift keeps them"
        ));
    }
    let kept = (0..n).map(|i| in_graph[i] && !removed[i]).collect();
    Ok(Outcome {
        kept,
        why,
        texts,
        needs,
        notes,
    })
}

/// What a strategy answered for a task: shared, where it does not depend
/// on the task, by every task with the same optimization.
#[derive(Clone, Debug)]
struct Memo {
    answer: Answer,
    why: Why,
    /// Strategies that could not answer (counted once per task).
    noted: Vec<String>,
    /// A strategy sift does not know (counted once per task).
    unknown: Option<String>,
    /// Whether this is a later task's copy, whose notes are still to count.
    replayed: bool,
}

impl Memo {
    fn text(answer: Answer, reason: String, texts: &mut Vec<String>) -> Memo {
        texts.push(reason);
        Memo {
            answer,
            why: Why::Text(texts.len() as u32 - 1),
            noted: Vec::new(),
            unknown: None,
            replayed: false,
        }
    }

    fn replay(&self) -> Memo {
        Memo {
            replayed: true,
            ..self.clone()
        }
    }
}

/// Whether a strategy's answer depends on the task beyond its argument
/// (its `test_manifests` or `build_type`).
fn uses_the_task(registered: &Registered) -> bool {
    match &registered.strategy {
        Strategy::RelevantTests | Strategy::PlatformDebug => true,
        Strategy::Alias(sub) | Strategy::Not(sub) => uses_the_task(sub),
        Strategy::Any(subs) | Strategy::All(subs) => subs.iter().any(|s| uses_the_task(s)),
        _ => false,
    }
}

/// Whether a push is treated as a backstop: forced, recorded, else the
/// parameters' `backstop`.
pub fn backstop_from(params: &Params, forced: Option<bool>) -> bool {
    forced.or(params.backstop).unwrap_or(false)
}

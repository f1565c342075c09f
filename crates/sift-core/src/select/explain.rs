//! The full chain behind a decision, as data: which changed files brought a
//! component and through which rules (`file:line` and pattern), and which
//! kept dependent pulled a task in. `sift why` prints it as text, and
//! `sift plan --format json --explain` (the report's source) writes the same
//! data as JSON: one explainer, two renderers.
//!
//! The strategy side of the chain is the planner's own
//! [`Evaluation`](crate::select::plan::Evaluation) tree; this module adds
//! what the plan does not keep because a plan does not need it: the rule
//! matches of each component's evidence files (matched again, with
//! explanations on, only for the few files kept as evidence).

use serde::Serialize;

use crate::select::components::{ComponentId, ComponentKind};
use crate::select::plan::{DecisionKind, Plan, Planner};

/// How a matching rule brings a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The rule's `inclusive` lists the component.
    Inclusive,
    /// The rule's `exclusive` lists the component (the last such rule wins).
    Exclusive,
}

/// One rule that matched an evidence file, for one component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleHit {
    /// The rule file, repository-relative (`sift.toml`, `gfx/sift.toml`).
    pub file: String,
    /// The line of the rule's `[[rules]]` header.
    pub line: usize,
    /// The pattern that decided the match, as written.
    pub pattern: String,
    pub effect: Effect,
}

impl RuleHit {
    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// One changed file that affects a component, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileEvidence {
    pub path: String,
    /// The rules that matched the file and list the component.
    pub rules: Vec<RuleHit>,
    /// No rule listed the component and no rule sets `exclusive` for the
    /// file, so every exclusive component applies (this one among them).
    pub every_exclusive: bool,
}

/// Why a component is affected by the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ComponentEvidence {
    /// The first changed files (in path order) that affect it.
    pub files: Vec<FileEvidence>,
    /// The plan keeps only the first few files per component: more may exist.
    pub more_may_exist: bool,
}

/// The evidence for component `id`: its first changed files and the rules
/// that made each one affect it.
pub fn component_evidence(
    planner: &mut Planner,
    plan: &Plan,
    id: ComponentId,
) -> ComponentEvidence {
    let config = planner.config();
    let kind = config.components.kind(id);
    let evidence = plan.analysis.evidence(id);
    let mut files = Vec::with_capacity(evidence.len());
    for path in evidence {
        let schedules = planner.path_schedules(path, true);
        let mut rules = Vec::new();
        // moz.build blocks (`[mozbuild]`, `--graph`) apply before the rules.
        for block in schedules.mozbuild.iter().flat_map(|a| &a.matched) {
            let files_block = &block.file.blocks[block.block];
            let crate::mozilla::mozbuild::BlockSchedules::Set { value, .. } =
                &files_block.schedules
            else {
                continue;
            };
            let hit = |effect| RuleHit {
                file: files_block.source.name.clone(),
                line: files_block.line,
                pattern: block
                    .pattern
                    .clone()
                    .unwrap_or_else(|| "(not a literal)".to_owned()),
                effect,
            };
            if value.inclusive.contains(&id) {
                rules.push(hit(Effect::Inclusive));
            }
            if value.exclusive.as_ref().is_some_and(|e| e.contains(&id)) {
                rules.push(hit(Effect::Exclusive));
            }
        }
        for matched in &schedules.matched {
            let rule = matched.rule();
            let hit = |effect| RuleHit {
                file: matched.file.source.name.clone(),
                line: rule.line,
                pattern: matched.pattern.clone(),
                effect,
            };
            if rule.inclusive.contains(id) {
                rules.push(hit(Effect::Inclusive));
            }
            if rule.exclusive.as_ref().is_some_and(|e| e.contains(id)) {
                rules.push(hit(Effect::Exclusive));
            }
        }
        let every_exclusive =
            rules.is_empty() && schedules.exclusive.is_none() && kind == ComponentKind::Exclusive;
        files.push(FileEvidence {
            path: path.clone(),
            rules,
            every_exclusive,
        });
    }
    ComponentEvidence {
        more_may_exist: evidence.len() == crate::select::plan::EVIDENCE_PER_COMPONENT,
        files,
    }
}

/// For every task kept because kept tasks need it: the nearest dependent
/// (fewest `needs` hops, then the first by name at each hop) that was kept
/// for a reason of its own. Computed for all tasks at once, in time linear
/// in the plan's `needs` edges (a search per task would be quadratic on a
/// graph where thousands of tasks are kept for one dependent).
pub struct NearestKept {
    /// Per task (the plan's order): the next hop towards that dependent.
    next: Vec<Option<usize>>,
}

impl NearestKept {
    pub fn new(plan: &Plan) -> NearestKept {
        let n = plan.tasks.len();
        let index = |name: &str| {
            plan.tasks
                .binary_search_by(|d| d.name.as_str().cmp(name))
                .ok()
        };
        // Hops to a self-kept dependent, once known; dependents are done
        // before the task (an explicit stack: chains can be long).
        let mut hops: Vec<Option<u32>> = vec![None; n];
        let mut next = vec![None; n];
        let mut state = vec![State::New; n];
        for start in 0..n {
            let mut stack = vec![start];
            while let Some(&task) = stack.last() {
                let DecisionKind::NeededBy(dependents) = &plan.tasks[task].kind else {
                    hops[task] = Some(0);
                    state[task] = State::Done;
                    stack.pop();
                    continue;
                };
                match state[task] {
                    State::Done => {
                        stack.pop();
                    }
                    State::New => {
                        state[task] = State::Open;
                        stack.extend(
                            dependents
                                .iter()
                                .filter_map(|name| index(name))
                                .filter(|&d| state[d] == State::New),
                        );
                    }
                    State::Open => {
                        // Dependents are sorted by name: the first of the
                        // nearest wins.
                        let mut best: Option<(u32, usize)> = None;
                        for d in dependents.iter().filter_map(|name| index(name)) {
                            if let Some(h) = hops[d]
                                && best.is_none_or(|(b, _)| h < b)
                            {
                                best = Some((h, d));
                            }
                        }
                        hops[task] = best.map(|(h, _)| h + 1);
                        next[task] = best.map(|(_, d)| d);
                        state[task] = State::Done;
                        stack.pop();
                    }
                }
            }
        }
        NearestKept { next }
    }

    /// For the task at `index` (kept because kept tasks need it): the
    /// nearest self-kept dependent, then the tasks between, as
    /// `[that, …, a direct dependent]`. `None` for other tasks.
    pub fn chain(&self, plan: &Plan, index: usize) -> Option<Vec<String>> {
        let mut path = Vec::new();
        let mut at = self.next.get(index).copied().flatten()?;
        loop {
            path.push(plan.tasks[at].name.clone());
            match self.next[at] {
                Some(hop) => at = hop,
                None => break,
            }
        }
        path.reverse();
        Some(path)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    New,
    Open,
    Done,
}

/// The name of a decision's kind in JSON (`why.kind`).
pub fn kind_name(kind: &DecisionKind) -> &'static str {
    match kind {
        DecisionKind::All => "all",
        DecisionKind::ScheduleAll(_) => "schedule_all",
        DecisionKind::NeededBy(_) => "needed_by",
        DecisionKind::NotRequested => "not_requested",
        DecisionKind::NoStrategy => "no_strategy",
        DecisionKind::Backstop(_) => "backstop",
        DecisionKind::Strategy(_) => "strategy",
    }
}

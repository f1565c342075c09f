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

use std::collections::VecDeque;

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

/// For a task kept because kept tasks need it (`direct`, its dependents):
/// the nearest dependent (fewest `needs` hops, then by name) that was kept
/// for a reason of its own, with the tasks between, as
/// `[that, …, one of direct]`. `None` when there is none (cannot happen in
/// a plan the planner made: every chain of dependents ends somewhere).
pub fn nearest_self_kept(plan: &Plan, direct: &[String]) -> Option<Vec<String>> {
    let mut queue: VecDeque<Vec<&str>> = direct.iter().map(|n| vec![n.as_str()]).collect();
    let mut seen: Vec<&str> = direct.iter().map(String::as_str).collect();
    while let Some(path) = queue.pop_front() {
        let decision = plan.decision(path.last()?)?;
        match &decision.kind {
            DecisionKind::NeededBy(next) => {
                for name in next {
                    if !seen.contains(&name.as_str()) {
                        seen.push(name);
                        let mut longer = path.clone();
                        longer.push(name);
                        queue.push_back(longer);
                    }
                }
            }
            _ => return Some(path.into_iter().rev().map(str::to_owned).collect()),
        }
    }
    None
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

//! `sift why TASK`: the full chain behind one decision.

use std::fmt::Write as _;
use std::path::Path;

use sift_core::history::PushContext;
use sift_core::select::components::ComponentId;
use sift_core::select::explain::{self, Effect};
use sift_core::select::plan::{DecisionKind, Evaluation, Plan};
use sift_core::workspace::resolve::{Attribution, Outcome};
use sift_core::{Change, Planner};

use crate::cli::WhyArgs;
use crate::error::CliError;
use crate::exit;

pub fn run(root: &Path, args: WhyArgs) -> Result<u8, CliError> {
    if args.push {
        return Err(CliError::Usage {
            message: "`sift why --push` runs in the sift-remote executable".to_owned(),
            hint: None,
        });
    }
    if args.mozilla.graph.is_some() {
        return graph(root, args);
    }
    run_with(root, args, |_, _| Ok(None))
}

/// `sift why LABEL --graph full-task-graph.json`: a graph task's chain, as
/// `sift plan --graph --explain` has it.
fn graph(root: &Path, args: WhyArgs) -> Result<u8, CliError> {
    let plan_args = crate::cli::PlanArgs {
        change: args.change.clone(),
        select: args.select.clone(),
        format: crate::cli::PlanFormat::Json,
        group_by_needs: false,
        summary: None,
        explain: true,
        report: None,
        record: Default::default(),
        mozilla: args.mozilla.clone(),
    };
    let prepared = super::mozilla::GraphPlan::prepare(root, &plan_args)?;
    let plan = prepared.plan(&plan_args, None)?;
    let Ok(index) = plan
        .tasks
        .binary_search_by(|d| d.name.as_str().cmp(&args.task))
    else {
        return Err(CliError::Usage {
            message: format!("no task labelled `{}` in the graph", args.task),
            hint: Some(
                "`sift plan --graph FILE --format taskgraph --removed` lists every label"
                    .to_owned(),
            ),
        });
    };
    let graph = plan
        .graph
        .as_ref()
        .expect("explained graph plans carry their needs");
    let defined_at = format!("{}: {}", graph.source, args.task);
    let needs = graph.needs[index].clone();
    let mut planner = Planner::new(&prepared.config);
    let out = render(&mut planner, &plan, index, &defined_at, &needs);
    super::plan::print_stdout(&out)?;
    Ok(exit::OK)
}

/// `sift why`, with the push to explain under (`--push`, looked up by the
/// caller, which alone may reach the store).
pub fn run_with(
    root: &Path,
    args: WhyArgs,
    push_for: impl FnOnce(&Change, &WhyArgs) -> Result<Option<PushContext>, CliError>,
) -> Result<u8, CliError> {
    if args.mozilla.graph.is_some() {
        return Err(CliError::Usage {
            message: "--push does not work with --graph yet".to_owned(),
            hint: Some(
                "`sift history` shows a recorded graph push's kept and removed labels with reasons"
                    .to_owned(),
            ),
        });
    }
    let config = super::mozilla::load_config(root, args.mozilla.mozbuild)?;
    let Some(task) = config.task(&args.task) else {
        return Err(CliError::Usage {
            message: format!("no task named `{}`", args.task),
            hint: Some(match config.suggest_task(&args.task) {
                Some(name) => format!("did you mean `{name}`?"),
                None => "`sift plan --all` lists every task".to_owned(),
            }),
        });
    };
    let mut options = super::plan_options(&args.select)?;
    let change = super::load_change(root, &args.change)?;
    options.push = push_for(&change, &args)?;
    let revisions = super::workspace::GitRevisions::new(root, &change, &args.change);
    let mut planner = Planner::new(&config).with_revisions(&revisions);
    let plan = planner.plan(change, &options).map_err(super::plan_error)?;
    super::workspace::report(&plan);
    let index = plan
        .tasks
        .iter()
        .position(|d| d.name == task.name)
        .expect("every task has a decision");
    let out = render(&mut planner, &plan, index, &task.location(), &task.needs);
    super::plan::print_stdout(&out)?;
    Ok(exit::OK)
}

/// The chain behind task `index`'s decision, as text.
fn render(
    planner: &mut Planner,
    plan: &Plan,
    index: usize,
    defined_at: &str,
    needs: &[String],
) -> String {
    let decision = &plan.tasks[index];
    let mut out = String::new();
    let verdict = if decision.run { "runs" } else { "skipped" };
    let _ = writeln!(out, "{}: {verdict}", decision.name);
    let _ = writeln!(out, "  defined at: {defined_at}");
    let _ = writeln!(out, "  reason: {}", decision.reason);
    if !needs.is_empty() {
        let _ = writeln!(out, "  needs: {}", needs.join(", "));
    }
    match &decision.kind {
        DecisionKind::Strategy(evaluation) => {
            let _ = writeln!(out, "  strategy:");
            write_evaluation(&mut out, planner, plan, evaluation, &decision.name, 2);
        }
        DecisionKind::NeededBy(names) => {
            let _ = writeln!(
                out,
                "  pulled in by kept dependents (its own strategy is not consulted):"
            );
            write_dependents(&mut out, plan, names, 2, &mut Vec::new());
            if let Some(chain) = explain::NearestKept::new(plan).chain(plan, index) {
                write_nearest(&mut out, planner, plan, &chain);
            }
        }
        DecisionKind::NoStrategy => {
            let _ = writeln!(
                out,
                "  strategy: none (a task without a strategy always runs)"
            );
        }
        DecisionKind::NotRequested => {
            let _ = writeln!(out, "  requested: no (--target does not match it)");
        }
        DecisionKind::Backstop(_) => {
            let _ = writeln!(
                out,
                "  backstop: every task runs on a backstop push, except `backstop = false` ones"
            );
        }
        DecisionKind::All | DecisionKind::ScheduleAll(_) => {}
    }
    let _ = writeln!(
        out,
        "  change: {} file(s), components: {}",
        plan.changed_files.len(),
        list_or_none(&plan.components)
    );
    out
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth)
}

fn write_evaluation(
    out: &mut String,
    planner: &mut Planner,
    plan: &Plan,
    evaluation: &Evaluation,
    task: &str,
    depth: usize,
) {
    let verdict = if evaluation.keep { "keep" } else { "skip" };
    let _ = writeln!(
        out,
        "{}{} → {verdict}: {}",
        indent(depth),
        evaluation.strategy,
        evaluation.summary
    );
    for &id in &evaluation.affected {
        write_component(out, planner, plan, id, task, depth + 1);
    }
    for child in &evaluation.children {
        write_evaluation(out, planner, plan, child, task, depth + 1);
    }
}

/// Which changed files bring a component, and which rules made them do so.
fn write_component(
    out: &mut String,
    planner: &mut Planner,
    plan: &Plan,
    id: ComponentId,
    task: &str,
    depth: usize,
) {
    let name = planner.config().components.name(id);
    let evidence = explain::component_evidence(planner, plan, id);
    let _ = writeln!(out, "{}component `{name}` affected by:", indent(depth));
    for file in &evidence.files {
        let _ = writeln!(out, "{}{}", indent(depth + 1), file.path);
        if let Some(attribution) = plan.analysis.attribution(&file.path) {
            write_attribution(out, attribution, name, task, depth + 2);
        }
        for hit in &file.rules {
            let effect = match hit.effect {
                Effect::Inclusive => "inclusive +=",
                Effect::Exclusive => "exclusive includes",
            };
            let _ = writeln!(
                out,
                "{}{} `{}` → {effect} {name}",
                indent(depth + 2),
                hit.location(),
                hit.pattern
            );
        }
        if file.every_exclusive {
            let _ = writeln!(
                out,
                "{}no rule sets `exclusive` for it: every exclusive component applies",
                indent(depth + 2)
            );
        }
    }
    if evidence.more_may_exist {
        let _ = writeln!(
            out,
            "{}(first {} files shown)",
            indent(depth + 1),
            evidence.files.len()
        );
    }
}

/// A changed lockfile or root manifest, down to the package that maps to
/// the component: `Cargo.lock: serde 1.0.219 → 1.0.228 → used by sift-core → test-sift-core`.
fn write_attribution(
    out: &mut String,
    attribution: &Attribution,
    component: &str,
    task: &str,
    depth: usize,
) {
    let rule = attribution.rule.describe();
    match &attribution.outcome {
        Outcome::Everything(reason) => {
            let _ = writeln!(
                out,
                "{}{rule}: every component is affected: {reason}",
                indent(depth)
            );
        }
        Outcome::Packages { packages, .. } => {
            for package in packages
                .iter()
                .filter(|p| p.components.iter().any(|c| c == component))
            {
                for because in &package.because {
                    let _ = writeln!(
                        out,
                        "{}{}: {because} → used by {} → {task}",
                        indent(depth),
                        attribution.path,
                        package.name
                    );
                }
            }
        }
    }
}

/// The self-kept dependent's own explanation, down to files and rule lines.
fn write_nearest(out: &mut String, planner: &mut Planner, plan: &Plan, chain: &[String]) {
    let name = &chain[0];
    let Some(decision) = plan.decision(name) else {
        return;
    };
    let path = if chain.len() > 1 {
        format!(" (through {})", chain[1..].join(" → "))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  nearest dependent kept by its own decision: {name}{path}"
    );
    match &decision.kind {
        DecisionKind::Strategy(evaluation) => {
            write_evaluation(out, planner, plan, evaluation, name, 2);
        }
        _ => {
            let _ = writeln!(out, "    {}", decision.reason);
        }
    }
}

fn write_dependents(
    out: &mut String,
    plan: &Plan,
    names: &[String],
    depth: usize,
    seen: &mut Vec<String>,
) {
    for name in names {
        let Some(decision) = plan.decision(name) else {
            continue;
        };
        let _ = writeln!(out, "{}{name}: {}", indent(depth), decision.reason);
        if seen.contains(name) {
            continue;
        }
        seen.push(name.clone());
        if let DecisionKind::NeededBy(next) = &decision.kind {
            write_dependents(out, plan, next, depth + 1, seen);
        }
    }
}

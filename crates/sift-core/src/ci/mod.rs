//! CI pipelines generated from a plan, the Markdown summary CI pages show,
//! and the verdict a required check reports.
//!
//! One renderer per format, all over the same [`CiTask`] list (the kept
//! tasks, their `run` commands and their kept needs):
//!
//! - [`github`]: `$GITHUB_OUTPUT` lines (`matrix=`, `any=`, `tasks=`, and
//!   per dependency level `level0=`… with `levels=N`).
//! - [`gitlab`]: a child-pipeline YAML: a stage-free DAG of jobs with
//!   `needs:`, plus an always-present no-op job.
//! - [`buildkite`]: a pipeline YAML for `buildkite-agent pipeline upload`.
//! - [`azure`]: `##vso[task.setvariable]` logging commands carrying a matrix,
//!   and a jobs-template YAML with `dependsOn`.
//!
//! Task names are made valid for each CI by [`names`]; [`summary`] renders
//! the Markdown job summary and [`verdict`] decides the aggregator check.
//! Nothing here does I/O: the CLI writes the files.

pub mod azure;
pub mod buildkite;
mod config;
pub mod github;
pub mod gitlab;
pub mod names;
pub mod summary;
pub mod verdict;
pub mod yaml;

#[cfg(test)]
mod tests;

pub use config::CiConfig;
pub(crate) use config::RawCi;

use crate::config::Config;
use crate::select::plan::Plan;

/// One kept task, as every CI renderer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiTask<'a> {
    pub name: &'a str,
    /// The task's `run` command.
    pub command: Option<&'a str>,
    /// The kept tasks it needs, sorted.
    pub needs: Vec<&'a str>,
}

/// The kept tasks of a plan in the plan's (name) order.
pub fn kept_tasks<'a>(plan: &'a Plan, config: &'a Config) -> Vec<CiTask<'a>> {
    plan.kept()
        .map(|decision| {
            let task = config.task(&decision.name);
            CiTask {
                name: &decision.name,
                command: task.and_then(|t| t.run.as_deref()),
                needs: task
                    .map(|t| {
                        t.needs
                            .iter()
                            .filter(|n| plan.decision(n).is_some_and(|d| d.run))
                            .map(String::as_str)
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Each task's dependency level: 0 without needs, else one more than the
/// highest level among its needs. `tasks[i]` has level `result[i]`.
pub fn levels(tasks: &[CiTask]) -> Vec<usize> {
    let index: std::collections::HashMap<&str, usize> =
        tasks.iter().enumerate().map(|(i, t)| (t.name, i)).collect();
    let mut level: Vec<Option<usize>> = vec![None; tasks.len()];
    // Needs form a DAG (the configuration rejects cycles); an explicit stack
    // keeps long chains from overflowing the call stack. Each task pushes its
    // unresolved needs at most once (they are resolved before it is looked
    // at again), so this is linear in the number of needs.
    for start in 0..tasks.len() {
        let mut stack = vec![start];
        while let Some(&current) = stack.last() {
            if level[current].is_some() {
                stack.pop();
                continue;
            }
            let pending: Vec<usize> = tasks[current]
                .needs
                .iter()
                .filter_map(|n| index.get(n).copied())
                .filter(|&n| level[n].is_none())
                .collect();
            if pending.is_empty() {
                let own = tasks[current]
                    .needs
                    .iter()
                    .filter_map(|n| index.get(n).and_then(|&i| level[i]))
                    .map(|l| l + 1)
                    .max()
                    .unwrap_or(0);
                level[current] = Some(own);
                stack.pop();
            } else {
                stack.extend(pending);
            }
        }
    }
    level.into_iter().map(|l| l.unwrap_or(0)).collect()
}

/// Why a pipeline could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CiError {
    /// A task name that the CI's naming rule cannot make valid.
    #[error("task `{task}` cannot be {what}: {reason}")]
    Name {
        task: String,
        what: &'static str,
        reason: String,
    },
    /// A kept task has no command and the CI's settings supply none.
    #[error("task `{task}` has no `run` command for {ci}")]
    NoCommand {
        task: String,
        ci: &'static str,
        hint: String,
    },
}

impl CiError {
    pub fn hint(&self) -> String {
        match self {
            CiError::Name { .. } => {
                "rename the task in sift.toml; the naming rules are in the README (CI pipelines)"
                    .to_owned()
            }
            CiError::NoCommand { hint, .. } => hint.clone(),
        }
    }
}

/// A task name's CI name: `names[i]` is the CI name of `tasks[i]`.
pub(crate) fn lookup<'n>(
    tasks: &[CiTask],
    names: &'n [String],
) -> impl Fn(&str) -> Option<String> + 'n {
    let index: std::collections::HashMap<String, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.to_owned(), i))
        .collect();
    move |name| index.get(name).map(|&i| names[i].clone())
}

/// The header of every generated YAML file.
pub(crate) fn header(format: &str) -> String {
    format!("# Generated by `sift plan --format {format}`; do not edit.\n")
}

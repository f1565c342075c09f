//! Plan output: the stable, versioned JSON document and the human table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::change::ChangedFile;
use crate::plan::Plan;

/// Bumped only for incompatible changes; new fields may appear without a bump.
pub const FORMAT_VERSION: u32 = 1;

/// The JSON document of `sift plan --format json`.
#[derive(Debug, Serialize)]
pub struct PlanJson<'a> {
    pub format_version: u32,
    pub base: Option<&'a str>,
    pub head: Option<&'a str>,
    pub changed_files: &'a [ChangedFile],
    pub components: &'a [String],
    pub tasks: Vec<TaskJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct TaskJson<'a> {
    pub name: &'a str,
    pub run: bool,
    pub reason: &'a str,
}

pub fn plan_json(plan: &Plan) -> String {
    let doc = PlanJson {
        format_version: FORMAT_VERSION,
        base: plan.origin.base.as_deref(),
        head: plan.origin.head.as_deref(),
        changed_files: &plan.changed_files,
        components: &plan.components,
        tasks: plan
            .tasks
            .iter()
            .map(|d| TaskJson {
                name: &d.name,
                run: d.run,
                reason: &d.reason,
            })
            .collect(),
    };
    let mut out = serde_json::to_string_pretty(&doc).expect("plain data serializes");
    out.push('\n');
    out
}

/// The kept task names as a JSON array, for GitHub's `fromJSON` fan-out.
pub fn matrix_json(plan: &Plan) -> String {
    let names: Vec<&str> = plan.kept().map(|d| d.name.as_str()).collect();
    serde_json::to_string(&names).expect("strings serialize")
}

/// The human table: change summary, then kept tasks, then skipped ones.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let files = plan.changed_files.len();
    let _ = writeln!(out, "changed files: {files}");
    if plan.components.is_empty() {
        let _ = writeln!(out, "components: (none)");
    } else {
        let _ = writeln!(out, "components: {}", plan.components.join(", "));
    }
    let width = plan
        .tasks
        .iter()
        .map(|d| d.name.chars().count())
        .max()
        .unwrap_or(0);
    let kept = plan.kept().count();
    for run in [true, false] {
        let rows: Vec<_> = plan.tasks.iter().filter(|d| d.run == run).collect();
        if rows.is_empty() {
            continue;
        }
        out.push('\n');
        for d in rows {
            let mark = if run { "run " } else { "skip" };
            let _ = writeln!(out, "{mark}  {:width$}  {}", d.name, d.reason);
        }
    }
    let _ = writeln!(out, "\n{kept} of {} tasks run", plan.tasks.len());
    out
}

//! Plan output: the stable, versioned JSON document and the human table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::select::plan::Plan;

/// Bumped only for incompatible changes; new fields may appear without a bump.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct TaskJson<'a> {
    pub name: &'a str,
    pub run: bool,
    pub reason: &'a str,
    /// Kept, but the selection alone would have skipped it (a backstop push
    /// or shadow mode); only written when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub would_skip: bool,
}

/// `"push"`: the recorded push (`sift plan --record`), else null.
#[derive(Debug, Serialize)]
pub struct PushJson<'a> {
    pub branch: &'a str,
    pub number: u64,
    pub backstop: bool,
    pub expanded: bool,
    pub reason: &'a str,
}

impl<'a> PushJson<'a> {
    fn of(push: &'a crate::history::PushContext) -> PushJson<'a> {
        PushJson {
            branch: &push.branch,
            number: push.number,
            backstop: push.decision.backstop,
            expanded: push.decision.expanded,
            reason: &push.decision.reason,
        }
    }
}

/// The plan as JSON: one changed file and one task per line. Plans of large
/// changes list 100,000 files, and serde's pretty printer costs several times
/// more than this while the result is no easier to read.
pub fn plan_json(plan: &Plan) -> String {
    let tasks: Vec<TaskJson> = plan
        .tasks
        .iter()
        .map(|d| TaskJson {
            name: &d.name,
            run: d.run,
            reason: &d.reason,
            would_skip: plan.would_skip.contains_key(&d.name),
        })
        .collect();
    let mut out = Vec::with_capacity(64 * (plan.changed_files.len() + tasks.len()) + 256);
    out.extend_from_slice(
        format!("{{\n  \"format_version\": {FORMAT_VERSION},\n  \"base\": ").as_bytes(),
    );
    write_value(&mut out, &plan.origin.base.as_deref());
    out.extend_from_slice(b",\n  \"head\": ");
    write_value(&mut out, &plan.origin.head.as_deref());
    out.extend_from_slice(b",\n  \"changed_files\": ");
    write_lines(&mut out, &plan.changed_files);
    out.extend_from_slice(b",\n  \"components\": ");
    write_value(&mut out, &plan.components);
    out.extend_from_slice(b",\n  \"push\": ");
    write_value(&mut out, &plan.push.as_ref().map(PushJson::of));
    out.extend_from_slice(b",\n  \"tasks\": ");
    write_lines(&mut out, &tasks);
    out.extend_from_slice(b"\n}\n");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// `[` + one compact element per line + `]`, indented for the top level.
fn write_lines<T: Serialize>(out: &mut Vec<u8>, items: &[T]) {
    if items.is_empty() {
        out.extend_from_slice(b"[]");
        return;
    }
    out.extend_from_slice(b"[");
    for (index, item) in items.iter().enumerate() {
        out.extend_from_slice(if index == 0 { b"\n    " } else { b",\n    " });
        serde_json::to_writer(&mut *out, item).expect("plain data serializes");
    }
    out.extend_from_slice(b"\n  ]");
}

fn write_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("plain data serializes");
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
    if !plan.would_skip.is_empty() {
        let why = if plan.shadow {
            "shadow mode"
        } else {
            "backstop push"
        };
        let _ = writeln!(
            out,
            "{why}: {} of them the selection alone would skip",
            plan.would_skip.len()
        );
    }
    out
}

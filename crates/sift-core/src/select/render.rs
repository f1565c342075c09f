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
/// changes list 100,000 files and large configurations 20,000 tasks, so the
/// lines are written directly, byte for byte what serde_json writes for
/// [`TaskJson`] and [`crate::ChangedFile`] (a test checks).
pub fn plan_json(plan: &Plan) -> String {
    let mut out = Vec::with_capacity(
        64 * (plan.changed_files.len() + plan.tasks.len())
            + plan
                .tasks
                .iter()
                .map(|d| d.name.len() + d.reason.len())
                .sum::<usize>()
            + 256,
    );
    out.extend_from_slice(
        format!("{{\n  \"format_version\": {FORMAT_VERSION},\n  \"base\": ").as_bytes(),
    );
    write_value(&mut out, &plan.origin.base.as_deref());
    out.extend_from_slice(b",\n  \"head\": ");
    write_value(&mut out, &plan.origin.head.as_deref());
    out.extend_from_slice(b",\n  \"changed_files\": ");
    write_each(&mut out, &plan.changed_files, write_file);
    out.extend_from_slice(b",\n  \"components\": ");
    write_value(&mut out, &plan.components);
    out.extend_from_slice(b",\n  \"push\": ");
    write_value(&mut out, &plan.push.as_ref().map(PushJson::of));
    out.extend_from_slice(b",\n  \"tasks\": ");
    write_each(&mut out, &plan.tasks, |out, decision| {
        write_task(
            out,
            &TaskJson {
                name: &decision.name,
                run: decision.run,
                reason: &decision.reason,
            },
        );
    });
    out.extend_from_slice(b"\n}\n");
    String::from_utf8(out).expect("only UTF-8 is written")
}

/// `[` + one element per line + `]`, indented for the top level.
fn write_each<T>(out: &mut Vec<u8>, items: &[T], mut write: impl FnMut(&mut Vec<u8>, &T)) {
    if items.is_empty() {
        out.extend_from_slice(b"[]");
        return;
    }
    out.extend_from_slice(b"[");
    for (index, item) in items.iter().enumerate() {
        out.extend_from_slice(if index == 0 { b"\n    " } else { b",\n    " });
        write(out, item);
    }
    out.extend_from_slice(b"\n  ]");
}

/// `{"name":…,"run":…,"reason":…}`.
fn write_task(out: &mut Vec<u8>, task: &TaskJson) {
    out.extend_from_slice(b"{\"name\":");
    json_string(out, task.name);
    out.extend_from_slice(if task.run {
        b",\"run\":true,\"reason\":"
    } else {
        b",\"run\":false,\"reason\":"
    });
    json_string(out, task.reason);
    out.push(b'}');
}

/// `{"path":…,"status":…}`, with `"from"` for a rename.
fn write_file(out: &mut Vec<u8>, file: &crate::ChangedFile) {
    out.extend_from_slice(b"{\"path\":");
    json_string(out, &file.path);
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(status_name(file.status).as_bytes());
    out.push(b'"');
    if let Some(from) = &file.from {
        out.extend_from_slice(b",\"from\":");
        json_string(out, from);
    }
    out.push(b'}');
}

/// The name serde gives a status.
fn status_name(status: crate::ChangeStatus) -> &'static str {
    match status {
        crate::ChangeStatus::Added => "added",
        crate::ChangeStatus::Modified => "modified",
        crate::ChangeStatus::Deleted => "deleted",
        crate::ChangeStatus::Renamed => "renamed",
        crate::ChangeStatus::TypeChange => "typechange",
    }
}

/// A JSON string as serde_json writes it: `"` and `\\` escaped, control
/// characters as `\n`-style or `\u00XX` escapes, everything else as is.
fn json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    // Nearly every string needs no escape: check that first, a word at a time.
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChangeStatus, ChangedFile};
    use proptest::prelude::*;

    fn by_serde<T: Serialize>(items: &[T]) -> Vec<u8> {
        let mut out = Vec::new();
        if items.is_empty() {
            out.extend_from_slice(b"[]");
            return out;
        }
        out.extend_from_slice(b"[");
        for (index, item) in items.iter().enumerate() {
            out.extend_from_slice(if index == 0 { b"\n    " } else { b",\n    " });
            serde_json::to_writer(&mut out, item).unwrap();
        }
        out.extend_from_slice(b"\n  ]");
        out
    }

    proptest! {
        /// The hand-written lines are byte for byte serde_json's.
        #[test]
        fn lines_match_serde_json(
            texts in proptest::collection::vec("(\\PC|[\u{0}-\u{1f}\u{7f}\"\\\\/])*", 0..6),
            run in any::<bool>(),
        ) {
            let tasks: Vec<TaskJson> = texts
                .iter()
                .map(|t| TaskJson { name: t, run, reason: t })
                .collect();
            let mut ours = Vec::new();
            write_each(&mut ours, &tasks, write_task);
            prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(by_serde(&tasks)).unwrap());

            let statuses = [
                ChangeStatus::Added,
                ChangeStatus::Modified,
                ChangeStatus::Deleted,
                ChangeStatus::Renamed,
                ChangeStatus::TypeChange,
            ];
            let files: Vec<ChangedFile> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| ChangedFile {
                    path: t.clone(),
                    status: statuses[i % statuses.len()],
                    from: (i % 2 == 1).then(|| format!("{t}-old")),
                })
                .collect();
            let mut ours = Vec::new();
            write_each(&mut ours, &files, write_file);
            prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(by_serde(&files)).unwrap());
        }
    }
}

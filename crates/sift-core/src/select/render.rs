//! Plan output: the stable, versioned JSON document and the human table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::Config;
use crate::select::explain::{self, ComponentEvidence};
use crate::select::plan::{DecisionKind, Evaluation, Plan, Planner};
use crate::select::task::Task;

/// Bumped only for incompatible changes; new fields may appear without a bump.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct TaskJson<'a> {
    pub name: &'a str,
    pub run: bool,
    pub reason: &'a str,
    /// `--explain`: the tasks it `needs`, sorted (the graph's edges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<&'a [String]>,
    /// `--explain`: the full chain behind the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<WhyJson<'a>>,
    /// Kept, but the selection alone would have skipped it (a backstop push
    /// or shadow mode); only written when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub would_skip: bool,
}

/// A task's `why` (`sift plan --format json --explain`): what `sift why`
/// prints, as data. Components are named; their evidence (files and rule
/// lines) is in the plan's `component_evidence`, once per component.
#[derive(Debug, Serialize)]
pub struct WhyJson<'a> {
    /// `file:line` of the task's definition.
    pub defined_at: String,
    /// `strategy`, `needed_by`, `no_strategy`, `not_requested`, `all`,
    /// `schedule_all` or `backstop`.
    pub kind: &'static str,
    /// kind `strategy`: how the strategy decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<EvaluationJson<'a>>,
    /// kind `needed_by`: the kept tasks that need it (sorted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needed_by: Option<&'a [String]>,
    /// kind `needed_by`: the nearest dependent kept by its own decision,
    /// then the tasks between it and this one: `[that, …, a direct dependent]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest: Option<Vec<String>>,
}

/// One strategy (or composite member) as it decided.
#[derive(Debug, Serialize)]
pub struct EvaluationJson<'a> {
    /// As configured, e.g. `schedules = ["linux"]`, `any`.
    pub strategy: &'a str,
    pub keep: bool,
    pub summary: &'a str,
    /// `schedules`: the listed components the change affects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<&'a str>,
    /// `changed`: the first changed file that matched, and the pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<MatchedJson<'a>>,
    /// Composite members, as far as they were evaluated.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<EvaluationJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct MatchedJson<'a> {
    pub path: &'a str,
    pub pattern: &'a str,
}

impl<'a> EvaluationJson<'a> {
    fn of(evaluation: &'a Evaluation, config: &'a Config) -> Self {
        EvaluationJson {
            strategy: &evaluation.strategy,
            keep: evaluation.keep,
            summary: &evaluation.summary,
            affected: evaluation
                .affected
                .iter()
                .map(|&id| config.components.name(id))
                .collect(),
            matched: evaluation
                .matched
                .as_ref()
                .map(|(path, pattern)| MatchedJson { path, pattern }),
            children: evaluation
                .children
                .iter()
                .map(|c| EvaluationJson::of(c, config))
                .collect(),
        }
    }
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

/// `"workspace"`: a changed lockfile or root manifest and what its diff affects.
#[derive(Debug, Serialize)]
pub struct WorkspaceJson<'a> {
    pub path: &'a str,
    pub rule: String,
    /// Every change found, one line each.
    pub changes: &'a [String],
    pub packages: Vec<WorkspacePackageJson<'a>>,
    /// Set when sift could not attribute the change: every component is affected.
    pub everything: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct WorkspacePackageJson<'a> {
    pub name: &'a str,
    pub components: &'a [String],
    pub because: &'a [String],
}

impl<'a> WorkspaceJson<'a> {
    fn of(a: &'a crate::workspace::resolve::Attribution) -> WorkspaceJson<'a> {
        use crate::workspace::resolve::Outcome;
        let (changes, packages, everything): (&[String], _, _) = match &a.outcome {
            Outcome::Packages { changes, packages } => (
                changes,
                packages
                    .iter()
                    .map(|p| WorkspacePackageJson {
                        name: &p.name,
                        components: &p.components,
                        because: &p.because,
                    })
                    .collect(),
                None,
            ),
            Outcome::Everything(reason) => (&[], Vec::new(), Some(reason.as_str())),
        };
        WorkspaceJson {
            path: &a.path,
            rule: a.rule.describe(),
            changes,
            packages,
            everything,
        }
    }
}

/// The plan as JSON: one changed file and one task per line. Plans of large
/// changes list 100,000 files, and serde's pretty printer costs several times
/// more than this while the result is no easier to read.
pub fn plan_json(plan: &Plan, config: &Config) -> String {
    write_plan_json(plan, config, None)
}

/// [`plan_json`] with each task's `needs` and `why` and the plan's
/// `component_evidence` (`sift plan --format json --explain`, and what
/// `sift report` draws): the graph, and the chain `sift why` prints for every
/// task. It costs a second rule match of each component's evidence files and
/// a document several times larger, so plain JSON leaves it out.
pub fn plan_json_explained(plan: &Plan, planner: &mut Planner) -> String {
    let config = planner.config();
    let evidence: Vec<(&str, ComponentEvidence)> = plan
        .analysis
        .components
        .iter()
        .map(|id| {
            (
                config.components.name(id),
                explain::component_evidence(planner, plan, id),
            )
        })
        .collect();
    write_plan_json(plan, config, Some(&evidence))
}

fn write_plan_json(
    plan: &Plan,
    config: &Config,
    evidence: Option<&[(&str, ComponentEvidence)]>,
) -> String {
    // Plain plans (the hot path: 20,000 tasks) are written directly; only
    // explained ones build their tasks' `why` first.
    let nearest = evidence.map(|_| explain::NearestKept::new(plan));
    let explained: Option<Vec<TaskJson>> = nearest.as_ref().map(|nearest| {
        plan.tasks
            .iter()
            .enumerate()
            .map(|(index, d)| {
                // The plan's tasks are the configuration's, in the same (name)
                // order, or a taskgraph graph's.
                let task: Option<&Task> = config
                    .tasks
                    .get(index)
                    .filter(|t| t.name == d.name)
                    .or_else(|| config.task(&d.name));
                let (needs, defined_at) = match &plan.graph {
                    Some(graph) => (
                        graph.needs.get(index).map_or(&[][..], Vec::as_slice),
                        format!("{}: {}", graph.source, d.name),
                    ),
                    None => (
                        task.map_or(&[][..], |t| t.needs.as_slice()),
                        task.map(Task::location).unwrap_or_default(),
                    ),
                };
                let why = Some(WhyJson {
                    defined_at,
                    kind: explain::kind_name(&d.kind),
                    evaluation: match &d.kind {
                        DecisionKind::Strategy(evaluation) => {
                            Some(EvaluationJson::of(evaluation, config))
                        }
                        _ => None,
                    },
                    needed_by: match &d.kind {
                        DecisionKind::NeededBy(names) => Some(names.as_slice()),
                        _ => None,
                    },
                    nearest: nearest.chain(plan, index),
                });
                TaskJson {
                    name: &d.name,
                    run: d.run,
                    reason: &d.reason,
                    needs: Some(needs),
                    why,
                    would_skip: plan.would_skip.contains_key(&d.name),
                }
            })
            .collect()
    });
    let mut out = Vec::with_capacity(
        80 * (plan.changed_files.len() + plan.tasks.len())
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
    if !plan.analysis.workspace.is_empty() {
        let workspace: Vec<WorkspaceJson> = plan
            .analysis
            .workspace
            .iter()
            .map(WorkspaceJson::of)
            .collect();
        out.extend_from_slice(b",\n  \"workspace\": ");
        write_each(&mut out, &workspace, write_value);
    }
    if let Some(evidence) = evidence {
        out.extend_from_slice(b",\n  \"component_evidence\": ");
        write_map_lines(&mut out, evidence);
    }
    out.extend_from_slice(b",\n  \"push\": ");
    write_value(&mut out, &plan.push.as_ref().map(PushJson::of));
    if !plan.warnings.items.is_empty() {
        // Inputs read conservatively (e.g. a moz.build sift could not read).
        let warnings: Vec<String> = plan.warnings.items.iter().map(|d| d.to_plain()).collect();
        out.extend_from_slice(b",\n  \"warnings\": ");
        write_value(&mut out, &warnings);
    }
    out.extend_from_slice(b",\n  \"tasks\": ");
    match &explained {
        Some(tasks) => write_each(&mut out, tasks, write_value),
        None => write_each(&mut out, &plan.tasks, |out, decision| {
            let would_skip =
                !plan.would_skip.is_empty() && plan.would_skip.contains_key(&decision.name);
            write_task(
                out,
                decision.name.as_str(),
                decision.run,
                &decision.reason,
                would_skip,
            );
        }),
    }
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

/// `{"name":…,"run":…,"reason":…}` (and `"would_skip":true` when it is):
/// a plain task, as serde_json writes [`TaskJson`] without `needs` and `why`.
fn write_task(out: &mut Vec<u8>, name: &str, run: bool, reason: &str, would_skip: bool) {
    out.extend_from_slice(b"{\"name\":");
    json_string(out, name);
    out.extend_from_slice(if run {
        b",\"run\":true,\"reason\":"
    } else {
        b",\"run\":false,\"reason\":"
    });
    json_string(out, reason);
    if would_skip {
        out.extend_from_slice(b",\"would_skip\":true");
    }
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

/// `items` as `serde_json::to_string_pretty` writes a list of strings, and
/// a line feed: written directly (taskgraph's optimized graph, `sift plan
/// --graph --format taskgraph`, lists tens of thousands of labels).
pub fn string_list_json(items: &[&str]) -> String {
    if items.is_empty() {
        return "[]\n".to_owned();
    }
    let mut out = Vec::with_capacity(items.iter().map(|i| i.len() + 6).sum::<usize>() + 4);
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n  " } else { b",\n  " });
        json_string(&mut out, item);
    }
    out.extend_from_slice(b"\n]\n");
    String::from_utf8(out).expect("JSON strings of UTF-8 text are UTF-8")
}

/// A JSON string as serde_json writes it: `"` and `\\` escaped, control
/// characters as `\n`-style or `\u00XX` escapes, everything else as is.
fn json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    // Nearly every string needs no escape: check that first.
    if !needs_escape(bytes) {
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

/// Whether `bytes` holds a byte that a JSON string escapes. Sixteen bytes
/// at a time without an early exit inside a block, which the compiler turns
/// into vector compares: a plan writes tens of thousands of names and
/// reasons, and the byte-by-byte test was most of a 10,000-task plan's
/// output time.
fn needs_escape(bytes: &[u8]) -> bool {
    let special = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | special(b)) {
            return true;
        }
    }
    blocks.remainder().iter().any(|&b| special(b))
}

/// `{` + one compact `"key": value` per line + `}`, indented for the top level.
fn write_map_lines<T: Serialize>(out: &mut Vec<u8>, entries: &[(&str, T)]) {
    if entries.is_empty() {
        out.extend_from_slice(b"{}");
        return;
    }
    out.extend_from_slice(b"{");
    for (index, (key, value)) in entries.iter().enumerate() {
        out.extend_from_slice(if index == 0 { b"\n    " } else { b",\n    " });
        write_value(out, key);
        out.extend_from_slice(b": ");
        write_value(out, value);
    }
    out.extend_from_slice(b"\n  }");
}

fn write_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value).expect("plain data serializes");
}

/// The human table: change summary, then kept tasks, then skipped ones.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    for warning in &plan.warnings.items {
        let _ = writeln!(out, "{}", warning.to_plain());
    }
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

    /// Every byte value at every position of byte strings up to three
    /// blocks long, against the byte-by-byte definition.
    #[test]
    fn needs_escape_sees_every_byte_at_every_position() {
        for len in 1..50 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut text = vec![b'a'; len];
                    text[at] = byte;
                    let want = byte < 0x20 || byte == b'"' || byte == b'\\';
                    assert_eq!(needs_escape(&text), want, "{len} bytes, {byte:#x} at {at}");
                }
            }
        }
        assert!(!needs_escape(b""));
        assert!(!needs_escape("ünïcödé/ü".repeat(9).as_bytes()));
    }

    proptest! {
        /// A list of strings is written as serde_json's pretty printer writes it.
        #[test]
        fn string_lists_match_serde_json(
            items in proptest::collection::vec("([a-z0-9/_-]|\"|\\\\|\t|\u{1}|é|\u{2028}){0,12}", 0..5)
        ) {
            let items: Vec<&str> = items.iter().map(String::as_str).collect();
            let mut expected = serde_json::to_string_pretty(&items).unwrap();
            expected.push('\n');
            prop_assert_eq!(string_list_json(&items), expected);
        }
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
                .enumerate()
                .map(|(i, t)| TaskJson { name: t, run, reason: t, needs: None, why: None, would_skip: i % 2 == 0 })
                .collect();
            let mut ours = Vec::new();
            write_each(&mut ours, &tasks, |out, t| write_task(out, t.name, t.run, t.reason, t.would_skip));
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

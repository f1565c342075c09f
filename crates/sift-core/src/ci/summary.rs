//! The Markdown job summary: what GitHub shows on the run page
//! (`$GITHUB_STEP_SUMMARY`), Azure on the run's Extensions tab
//! (`##vso[task.uploadsummary]`) and Buildkite as an annotation.
//!
//! Plans: kept and skipped counts, the change's components, and a table of
//! tasks with their reasons, kept first. Shards: a row per shard with its
//! expected seconds and a bar. Tables of more than [`COLLAPSE_ABOVE`] rows
//! are folded into a `<details>` block so the page stays short.

use std::fmt::Write as _;

use crate::select::plan::Plan;

/// Tables with more rows than this are collapsed.
pub const COLLAPSE_ABOVE: usize = 50;

/// Width of the shard bars, in characters.
const BAR_WIDTH: usize = 20;

/// The summary of a plan.
pub fn plan_markdown(plan: &Plan) -> String {
    let kept = plan.kept().count();
    let skipped = plan.tasks.len() - kept;
    let mut out = format!(
        "### sift plan: {kept} of {} tasks run\n\n",
        plan.tasks.len()
    );
    let files = plan.changed_files.len();
    let _ = write!(
        out,
        "{kept} kept, {skipped} skipped; {files} changed file(s)"
    );
    match (&plan.origin.base, &plan.origin.head) {
        (Some(base), Some(head)) => {
            let _ = write!(out, " between `{}` and `{}`", short(base), short(head));
        }
        (None, Some(head)) => {
            let _ = write!(out, " at `{}`", short(head));
        }
        _ => {}
    }
    out.push_str(".\n\n");
    if let Some(push) = &plan.push {
        let kind = if push.decision.backstop {
            "a backstop: every task runs"
        } else if push.decision.expanded {
            "an expanded push"
        } else {
            "not a backstop"
        };
        let _ = writeln!(
            out,
            "Push {} #{}: {kind} ({}).\n",
            code(&push.branch),
            push.number,
            cell(&push.decision.reason)
        );
    }
    if plan.components.is_empty() {
        out.push_str("Components: none.\n\n");
    } else {
        let names: Vec<String> = plan.components.iter().map(|c| code(c)).collect();
        let _ = writeln!(out, "Components: {}.\n", names.join(", "));
    }
    if plan.tasks.is_empty() {
        out.push_str("No tasks are configured.\n");
        return out;
    }
    let mut table = String::from("| Task | Decision | Reason |\n|---|---|---|\n");
    for run in [true, false] {
        for decision in plan.tasks.iter().filter(|d| d.run == run) {
            let _ = writeln!(
                table,
                "| {} | {} | {} |",
                code(&decision.name),
                if run { "run" } else { "skip" },
                cell(&decision.reason)
            );
        }
    }
    out.push_str(&collapse(&table, plan.tasks.len(), "tasks"));
    out
}

/// The summary of a `sift run`: counts, failures first, then every task with
/// its result, duration and reason.
pub fn run_markdown(report: &crate::run::report::RunReport) -> String {
    use crate::run::report::Outcome;
    let count = |o: Outcome| report.tasks.iter().filter(|t| t.result == o).count();
    let failed = count(Outcome::Failed) + count(Outcome::TimedOut) + count(Outcome::Interrupted);
    let executed = report.tasks.iter().filter(|t| t.run).count();
    let mut out = format!(
        "### sift run: {}\n\n",
        if failed == 0 {
            "every executed task succeeded".to_owned()
        } else {
            format!("{failed} task(s) failed")
        }
    );
    let _ = write!(
        out,
        "{executed} of {} tasks kept: {} succeeded, {} failed, {} timed out, {} interrupted, {} skipped, {} with nothing to run; {} not run by the plan",
        report.tasks.len(),
        count(Outcome::Succeeded),
        count(Outcome::Failed),
        count(Outcome::TimedOut),
        count(Outcome::Interrupted),
        count(Outcome::Skipped),
        count(Outcome::NothingToRun),
        count(Outcome::NotRun),
    );
    match (&report.base, &report.head) {
        (Some(base), Some(head)) => {
            let _ = write!(out, " (`{}`..`{}`)", short(base), short(head));
        }
        (None, Some(head)) => {
            let _ = write!(out, " (at `{}`)", short(head));
        }
        _ => {}
    }
    out.push_str(".\n\n");
    if report.tasks.is_empty() {
        out.push_str("No tasks are configured.\n");
        return out;
    }
    let rank = |o: Outcome| match o {
        Outcome::Failed | Outcome::TimedOut | Outcome::Interrupted => 0,
        Outcome::Skipped => 1,
        Outcome::Succeeded | Outcome::NothingToRun => 2,
        Outcome::NotRun => 3,
    };
    let mut rows: Vec<&crate::run::report::TaskResult> = report.tasks.iter().collect();
    rows.sort_by_key(|t| rank(t.result));
    let mut table = String::from("| Task | Result | Duration | Reason |\n|---|---|---:|---|\n");
    for task in &rows {
        let duration = task
            .duration_s
            .map_or_else(String::new, |d| format!("{d:.1} s"));
        let _ = writeln!(
            table,
            "| {} | {} | {duration} | {} |",
            code(&task.name),
            task.result.as_str(),
            cell(&task.reason)
        );
    }
    out.push_str(&collapse(&table, rows.len(), "tasks"));
    out
}

/// One shard, as the shard summary shows it.
#[derive(Debug, Clone, Copy)]
pub struct ShardRow {
    pub index: usize,
    pub expected_seconds: f64,
    pub tests: usize,
}

/// The summary of a sharding: a row and a bar per shard.
pub fn shard_markdown(shards: &[ShardRow], lower_bound: f64, unknown: usize) -> String {
    let slowest = shards
        .iter()
        .map(|s| s.expected_seconds)
        .fold(0.0_f64, f64::max);
    let tests: usize = shards.iter().map(|s| s.tests).sum();
    let mut out = format!(
        "### sift shard: {} shard(s), slowest {slowest:.1} s\n\n{tests} test(s); lower bound {lower_bound:.1} s",
        shards.len()
    );
    if unknown > 0 {
        let _ = write!(out, "; {unknown} test(s) without a recorded time");
    }
    out.push_str(".\n\n");
    let mut table = String::from("| Shard | Expected | Tests | |\n|---:|---:|---:|---|\n");
    for shard in shards {
        let filled = if slowest > 0.0 {
            ((shard.expected_seconds / slowest) * BAR_WIDTH as f64).round() as usize
        } else {
            0
        };
        let filled = filled.min(BAR_WIDTH);
        let _ = writeln!(
            table,
            "| {} | {:.1} s | {} | `{}{}` |",
            shard.index,
            shard.expected_seconds,
            shard.tests,
            "█".repeat(filled),
            "░".repeat(BAR_WIDTH - filled)
        );
    }
    out.push_str(&collapse(&table, shards.len(), "shards"));
    out
}

fn collapse(table: &str, rows: usize, what: &str) -> String {
    if rows > COLLAPSE_ABOVE {
        format!("<details><summary>All {rows} {what}</summary>\n\n{table}\n</details>\n")
    } else {
        table.to_owned()
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Text in a table cell: no line breaks, no column separators, no HTML.
fn cell(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A code span that holds any name (backticks included).
fn code(name: &str) -> String {
    let name = cell(name);
    if name.contains('`') {
        format!("`` {name} ``")
    } else {
        format!("`{name}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PlanOptions;
    use crate::select::tests::{Repo, plan as plan_paths};

    fn repo(tasks: usize) -> Repo {
        let mut text = String::from(
            "[components]\nexclusive = [\"docs\"]\n[[rules]]\nfiles = [\"docs/**\"]\nexclusive = [\"docs\"]\n",
        );
        for i in 0..tasks {
            let strategy = if i % 2 == 0 {
                "schedules = [\"docs\"]"
            } else {
                "changed = [\"src/**\"]"
            };
            let _ = write!(text, "[tasks.\"t{i:02}|x\"]\n{strategy}\n");
        }
        Repo::new(&[("sift.toml", &text)])
    }

    #[test]
    fn small_plans_show_a_table() {
        let repo = repo(3);
        let config = repo.config();
        let plan = plan_paths(&config, &["docs/a.md"], &PlanOptions::default());
        insta::assert_snapshot!("plan_summary", plan_markdown(&plan));
    }

    #[test]
    fn large_plans_collapse() {
        let repo = repo(COLLAPSE_ABOVE + 1);
        let config = repo.config();
        let plan = plan_paths(&config, &["docs/a.md"], &PlanOptions::default());
        let text = plan_markdown(&plan);
        assert!(
            text.contains("<details><summary>All 51 tasks</summary>\n\n| Task |"),
            "{text}"
        );
        assert!(text.ends_with("</details>\n"));
        let repo = repo_exactly_50();
        let config = repo.config();
        let plan = plan_paths(&config, &["docs/a.md"], &PlanOptions::default());
        assert!(!plan_markdown(&plan).contains("<details>"));
    }

    #[test]
    fn recorded_pushes_show_their_backstop_status() {
        let repo = repo(2);
        let config = repo.config();
        let mut plan = plan_paths(&config, &["docs/a.md"], &PlanOptions::default());
        assert!(!plan_markdown(&plan).contains("Push "));
        plan.push = Some(crate::history::PushContext {
            branch: "main".to_owned(),
            number: 21,
            decision: crate::history::PushDecision {
                backstop: true,
                expanded: true,
                reason: "backstop push (20 pushes / 4.0 hours since push 1)".to_owned(),
            },
        });
        let text = plan_markdown(&plan);
        assert!(
            text.contains("Push `main` #21: a backstop: every task runs (backstop push (20 pushes / 4.0 hours since push 1)).\n"),
            "{text}"
        );
    }

    #[test]
    fn run_summaries_put_failures_first() {
        use crate::run::report::{Outcome, RunReport, TaskResult};
        let task = |name: &str, result: Outcome, duration: Option<f64>| TaskResult {
            name: name.to_owned(),
            run: result != Outcome::NotRun,
            reason: format!("why {name}"),
            result,
            exit_code: None,
            started_at: None,
            finished_at: None,
            duration_s: duration,
            start_s: None,
            needs: Vec::new(),
        };
        let report = RunReport::new(
            Some("a".repeat(40)),
            Some("b".repeat(40)),
            vec![
                task("a-ok", Outcome::Succeeded, Some(1.25)),
                task("b-bad", Outcome::Failed, Some(2.0)),
                task("c-off", Outcome::NotRun, None),
            ],
        );
        let text = run_markdown(&report);
        assert!(
            text.starts_with(
                "### sift run: 1 task(s) failed\n\n2 of 3 tasks kept: 1 succeeded, 1 failed"
            ),
            "{text}"
        );
        let bad = text
            .find("| `b-bad` | failed | 2.0 s | why b-bad |")
            .expect("failed row");
        let ok = text
            .find("| `a-ok` | succeeded | 1.2 s | why a-ok |")
            .expect("succeeded row");
        assert!(bad < ok, "failures come first:\n{text}");
    }

    fn repo_exactly_50() -> Repo {
        repo(COLLAPSE_ABOVE)
    }

    #[test]
    fn shards_have_bars() {
        let rows = [
            ShardRow {
                index: 1,
                expected_seconds: 100.0,
                tests: 3,
            },
            ShardRow {
                index: 2,
                expected_seconds: 50.0,
                tests: 1,
            },
        ];
        insta::assert_snapshot!("shard_summary", shard_markdown(&rows, 75.0, 1));
    }
}

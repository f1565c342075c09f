//! `sift verdict`: one required check that passes iff every task the plan
//! kept succeeded.
//!
//! Path filters and skipped jobs leave GitHub's required checks pending
//! forever; an aggregator job (`needs: [plan, run]`, `if: always()`) that
//! runs `sift verdict` is one stable check instead. It reads the plan
//! (`sift plan --format json`) and the results, in one of two shapes:
//!
//! - a GitHub `needs` context (`${{ toJSON(needs) }}`):
//!   `{"JOB": {"result": "success|failure|cancelled|skipped", "outputs": {…}}}`.
//!   A job whose id is a kept task's name is that task's result. Matrix jobs
//!   cover many tasks: any `failure` or `cancelled` job fails the verdict,
//!   and when the plan kept tasks that no job is named after, at least one
//!   job other than the plan job must have succeeded (all of them skipped
//!   means nothing ran them). If the plan job has a `levels` output
//!   (`--group-by-needs`), jobs `level0` … `level{N-1}` must all succeed.
//! - a run report: `{"tasks": [{"name": "…", "result": "success|failure|…"}]}`
//!   (what `sift run` writes). Every kept task must be listed with `success`;
//!   a kept task missing from it failed to run.
//!
//! Tasks the plan skipped need no result; if one ran anyway, its result is
//! reported but does not count.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A report's result that counts as success: `success` (any CI's word), or
/// `sift run --format json`'s `succeeded` and `nothing_to_run`.
fn succeeded(result: &str) -> bool {
    matches!(result, "success" | "succeeded" | "nothing_to_run")
}

/// The results a verdict reads.
#[derive(Debug, Clone, Copy)]
pub enum Results<'a> {
    /// A GitHub `needs` context as JSON, and the id of the job that planned
    /// (it must succeed, but runs no task).
    GithubNeeds { needs: &'a str, plan_job: &'a str },
    /// A run report as JSON.
    Report(&'a str),
}

/// The outcome: passed or not, and why, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passed: bool,
    /// Failures first, then notes; the last line sums up.
    pub lines: Vec<String>,
}

/// Input that cannot be read as a plan or as results.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    #[error("the plan is not a `sift plan --format json` document: {0}")]
    Plan(String),
    #[error("the results are not {expected}: {message}")]
    Results {
        expected: &'static str,
        message: String,
    },
}

#[derive(Deserialize)]
struct PlanDoc {
    tasks: Vec<PlanTask>,
}

#[derive(Deserialize)]
struct PlanTask {
    name: String,
    run: bool,
}

#[derive(Deserialize)]
struct NeedsJob {
    result: String,
    #[serde(default)]
    outputs: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct ReportDoc {
    tasks: Vec<ReportTask>,
}

#[derive(Deserialize)]
struct ReportTask {
    name: String,
    result: String,
}

/// Decides the verdict.
pub fn decide(plan_json: &str, results: Results) -> Result<Verdict, VerdictError> {
    let plan: PlanDoc =
        serde_json::from_str(plan_json).map_err(|e| VerdictError::Plan(e.to_string()))?;
    let kept: Vec<&str> = plan
        .tasks
        .iter()
        .filter(|t| t.run)
        .map(|t| t.name.as_str())
        .collect();
    let skipped: Vec<&str> = plan
        .tasks
        .iter()
        .filter(|t| !t.run)
        .map(|t| t.name.as_str())
        .collect();
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    match results {
        Results::Report(text) => {
            let report: ReportDoc =
                serde_json::from_str(text).map_err(|e| VerdictError::Results {
                    expected: "a run report (`{\"tasks\": [{\"name\", \"result\"}]}`)",
                    message: e.to_string(),
                })?;
            let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
            for task in &report.tasks {
                by_name.insert(&task.name, &task.result);
            }
            for name in &kept {
                match by_name.get(name) {
                    Some(result) if succeeded(result) => {}
                    Some(result) => failures.push(format!("task `{name}`: {result}")),
                    None => failures.push(format!(
                        "task `{name}`: no result (the plan kept it, but it did not run)"
                    )),
                }
            }
            for (name, result) in &by_name {
                if skipped.contains(name) && !succeeded(result) && *result != "not_run" {
                    notes.push(format!(
                        "task `{name}`: {result}, but the plan skipped it, so it does not count"
                    ));
                } else if !kept.contains(name) && !skipped.contains(name) {
                    notes.push(format!(
                        "task `{name}` is not in the plan; its result ({result}) does not count"
                    ));
                }
            }
        }
        Results::GithubNeeds {
            needs: text,
            plan_job,
        } => {
            let needs: BTreeMap<String, NeedsJob> =
                serde_json::from_str(text).map_err(|e| VerdictError::Results {
                    expected: "a GitHub `needs` context (`${{ toJSON(needs) }}`)",
                    message: e.to_string(),
                })?;
            let mut covered_by_matrix = Vec::new();
            for name in &kept {
                match needs.get(*name) {
                    Some(job) if job.result == "success" => {}
                    Some(job) => failures.push(format!("task `{name}`: job {}", job.result)),
                    None => covered_by_matrix.push(*name),
                }
            }
            let others: Vec<(&String, &NeedsJob)> = needs
                .iter()
                .filter(|(id, _)| !kept.contains(&id.as_str()))
                .collect();
            for (id, job) in &others {
                match job.result.as_str() {
                    "success" | "skipped" => {}
                    result => failures.push(format!("job `{id}`: {result}")),
                }
            }
            // `--group-by-needs`: the plan job's `levels=N` output says which
            // level jobs (`level0` … `level{N-1}`) must have run.
            let levels = needs
                .get(plan_job)
                .and_then(|job| job.outputs.get("levels"))
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_u64().map(|n| n.to_string()))
                })
                .and_then(|v| v.parse::<usize>().ok());
            for level in 0..levels.unwrap_or(0) {
                let id = format!("level{level}");
                match needs.get(&id) {
                    Some(job) if job.result == "success" => {}
                    Some(job) if job.result == "skipped" => failures.push(format!(
                        "job `{id}`: skipped, but the plan has {} dependency level(s)",
                        levels.unwrap_or(0)
                    )),
                    Some(_) => {}
                    None => failures.push(format!(
                        "no job `{id}` in the results, but the plan has {} dependency level(s): add level jobs up to `level{}`",
                        levels.unwrap_or(0),
                        levels.unwrap_or(1) - 1
                    )),
                }
            }
            let task_job_ran = others
                .iter()
                .any(|(id, j)| id.as_str() != plan_job && j.result == "success");
            if !covered_by_matrix.is_empty() && !task_job_ran {
                failures.push(format!(
                    "the plan kept {} task(s) that no job ran ({}): every other job was skipped or failed",
                    covered_by_matrix.len(),
                    list(&covered_by_matrix)
                ));
            }
        }
    }
    let passed = failures.is_empty();
    let summary = if passed {
        format!(
            "verdict: passed: {} kept task(s) succeeded, {} skipped by the plan",
            kept.len(),
            skipped.len()
        )
    } else {
        format!(
            "verdict: failed: {} problem(s) among {} kept task(s)",
            failures.len(),
            kept.len()
        )
    };
    let mut lines = failures;
    lines.extend(notes);
    lines.push(summary);
    Ok(Verdict { passed, lines })
}

fn list(names: &[&str]) -> String {
    let shown: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
    let mut text = shown.join(", ");
    if names.len() > 5 {
        text.push_str(&format!(" and {} more", names.len() - 5));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"{"format_version": 1, "tasks": [
        {"name": "build", "run": true, "reason": "r"},
        {"name": "docs", "run": false, "reason": "r"},
        {"name": "test", "run": true, "reason": "r"}]}"#;

    fn report(entries: &[(&str, &str)]) -> String {
        let tasks: Vec<_> = entries
            .iter()
            .map(|(n, r)| serde_json::json!({"name": n, "result": r}))
            .collect();
        serde_json::json!({ "tasks": tasks }).to_string()
    }

    #[test]
    fn all_passed() {
        let text = report(&[("build", "success"), ("test", "success")]);
        let verdict = decide(PLAN, Results::Report(&text)).unwrap();
        assert!(verdict.passed);
        assert_eq!(
            verdict.lines,
            ["verdict: passed: 2 kept task(s) succeeded, 1 skipped by the plan"]
        );
    }

    /// `sift run --format json` reports are read as they are.
    #[test]
    fn sift_run_reports() {
        let text = report(&[
            ("build", "succeeded"),
            ("docs", "not_run"),
            ("test", "nothing_to_run"),
        ]);
        let verdict = decide(PLAN, Results::Report(&text)).unwrap();
        assert!(verdict.passed, "{:?}", verdict.lines);
        for bad in ["failed", "timed_out", "interrupted", "skipped"] {
            let text = report(&[("build", "succeeded"), ("test", bad)]);
            let verdict = decide(PLAN, Results::Report(&text)).unwrap();
            assert!(!verdict.passed, "{bad}");
            assert_eq!(verdict.lines[0], format!("task `test`: {bad}"));
        }
    }

    #[test]
    fn one_failed() {
        let text = report(&[("build", "success"), ("test", "failure")]);
        let verdict = decide(PLAN, Results::Report(&text)).unwrap();
        assert!(!verdict.passed);
        assert_eq!(verdict.lines[0], "task `test`: failure");
    }

    #[test]
    fn skipped_by_plan_needs_no_result_and_does_not_count() {
        let text = report(&[
            ("build", "success"),
            ("test", "success"),
            ("docs", "failure"),
        ]);
        let verdict = decide(PLAN, Results::Report(&text)).unwrap();
        assert!(verdict.passed, "{:?}", verdict.lines);
        assert_eq!(
            verdict.lines[0],
            "task `docs`: failure, but the plan skipped it, so it does not count"
        );
    }

    #[test]
    fn missing_task_fails() {
        let text = report(&[("build", "success")]);
        let verdict = decide(PLAN, Results::Report(&text)).unwrap();
        assert!(!verdict.passed);
        assert_eq!(
            verdict.lines[0],
            "task `test`: no result (the plan kept it, but it did not run)"
        );
    }

    #[test]
    fn github_needs_context() {
        let needs = r#"{"plan": {"result": "success", "outputs": {}}, "run": {"result": "success", "outputs": {}}}"#;
        assert!(
            decide(
                PLAN,
                Results::GithubNeeds {
                    needs,
                    plan_job: "plan"
                }
            )
            .unwrap()
            .passed
        );
        let needs = r#"{"plan": {"result": "success"}, "run": {"result": "failure"}}"#;
        let verdict = decide(
            PLAN,
            Results::GithubNeeds {
                needs,
                plan_job: "plan",
            },
        )
        .unwrap();
        assert!(!verdict.passed);
        assert_eq!(verdict.lines[0], "job `run`: failure");
        // Kept tasks, but the matrix job was skipped: nothing ran them.
        let needs = r#"{"plan": {"result": "success"}, "run": {"result": "skipped"}}"#;
        let verdict = decide(
            PLAN,
            Results::GithubNeeds {
                needs,
                plan_job: "plan",
            },
        )
        .unwrap();
        assert!(!verdict.passed);
        // Per-task jobs.
        let needs = r#"{"build": {"result": "success"}, "test": {"result": "cancelled"}}"#;
        let verdict = decide(
            PLAN,
            Results::GithubNeeds {
                needs,
                plan_job: "plan",
            },
        )
        .unwrap();
        assert_eq!(verdict.lines[0], "task `test`: job cancelled");
        // Dependency levels: the plan has 3, the workflow only 2 level jobs.
        let needs = r#"{"plan": {"result": "success", "outputs": {"levels": "3"}},
            "level0": {"result": "success"}, "level1": {"result": "success"}}"#;
        let verdict = decide(
            PLAN,
            Results::GithubNeeds {
                needs,
                plan_job: "plan",
            },
        )
        .unwrap();
        assert!(!verdict.passed);
        assert_eq!(
            verdict.lines[0],
            "no job `level2` in the results, but the plan has 3 dependency level(s): add level jobs up to `level2`"
        );
        let needs = r#"{"plan": {"result": "success", "outputs": {"levels": "1"}},
            "level0": {"result": "success"}, "level1": {"result": "skipped"}}"#;
        assert!(
            decide(
                PLAN,
                Results::GithubNeeds {
                    needs,
                    plan_job: "plan"
                }
            )
            .unwrap()
            .passed
        );
        // Nothing kept: skipped jobs are fine.
        let empty = r#"{"tasks": [{"name": "docs", "run": false, "reason": "r"}]}"#;
        let needs = r#"{"plan": {"result": "success"}, "run": {"result": "skipped"}}"#;
        assert!(
            decide(
                empty,
                Results::GithubNeeds {
                    needs,
                    plan_job: "plan"
                }
            )
            .unwrap()
            .passed
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(matches!(
            decide("{}", Results::Report("{}")),
            Err(VerdictError::Plan(_))
        ));
        assert!(matches!(
            decide(
                PLAN,
                Results::GithubNeeds {
                    needs: "[]",
                    plan_job: "plan"
                }
            ),
            Err(VerdictError::Results { .. })
        ));
    }
}

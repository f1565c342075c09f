//! Task outcomes in the push history: how the tasks of a recorded push ended.
//!
//! Outcomes are appended, never rewritten. Every report — one `sift run`
//! (one shard of it), one `sift history report`, one `sift record --push` —
//! is one small immutable object stored under its push, named by the
//! reporter's clock in milliseconds and a random suffix
//! ([`object_name`]), so concurrent reporters never write the same key and
//! need nothing but create-if-absent from the store.
//!
//! Which outcome counts, when a task is reported more than once on a push
//! (a retry, a re-run of the job): reports are taken in the order of their
//! object names (the reporters' clocks, then the random suffix), and
//! - for `sift run`'s order ("failed last time", durations) the **latest**
//!   attempt wins ([`PushOutcomes::latest`]);
//! - for `sift quality` all attempts count ([`PushOutcomes::verdict`]): a
//!   task that both failed and succeeded on one push is *flaky* there, not
//!   failing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::record::RecordError;
use super::time::{format_rfc3339, parse_rfc3339};

/// `format` of an outcome report; readers skip reports of other formats.
pub const OUTCOMES_FORMAT: &str = "sift-outcomes-1";

/// How a task that ran ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskResult {
    Succeeded,
    Failed,
    TimedOut,
}

impl TaskResult {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskResult::Succeeded => "succeeded",
            TaskResult::Failed => "failed",
            TaskResult::TimedOut => "timed_out",
        }
    }

    pub fn parse(text: &str) -> Option<TaskResult> {
        match text {
            "succeeded" | "success" | "passed" => Some(TaskResult::Succeeded),
            "failed" | "failure" => Some(TaskResult::Failed),
            "timed_out" => Some(TaskResult::TimedOut),
            _ => None,
        }
    }

    /// Failed or timed out.
    pub fn failed(self) -> bool {
        self != TaskResult::Succeeded
    }
}

/// One task's attempt, as reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskOutcome {
    pub name: String,
    pub result: TaskResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// How one test ended (from JUnit, `sift record --push`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestResult {
    Passed,
    Failed,
    Skipped,
}

/// One test of a task, in the order the test run reported it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestOutcome {
    pub name: String,
    pub result: TestResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
}

/// The tests one report holds for one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskTests {
    pub task: String,
    pub tests: Vec<TestOutcome>,
}

/// One stored report: outcomes of some tasks of one push.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeReport {
    pub branch: String,
    pub push: u64,
    /// The push's head SHA (a report names the push it belongs to twice).
    pub head: String,
    /// Who reported: `sift run`, `sift history report`, `sift record`.
    pub source: String,
    /// Unix seconds (the reporter's clock).
    pub reported_at: i64,
    pub tasks: Vec<TaskOutcome>,
    pub tests: Vec<TaskTests>,
}

#[derive(Serialize, Deserialize)]
struct ReportJson {
    format: String,
    branch: String,
    push: u64,
    head: String,
    source: String,
    reported_at: String,
    #[serde(default)]
    tasks: Vec<TaskOutcome>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tests: Vec<TaskTests>,
}

impl OutcomeReport {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&ReportJson {
            format: OUTCOMES_FORMAT.to_owned(),
            branch: self.branch.clone(),
            push: self.push,
            head: self.head.clone(),
            source: self.source.clone(),
            reported_at: format_rfc3339(self.reported_at),
            tasks: self.tasks.clone(),
            tests: self.tests.clone(),
        })
        .expect("plain data serializes")
    }

    /// Reads a stored report, checking it belongs to push `push` of `branch`.
    pub fn from_json(bytes: &[u8], branch: &str, push: u64) -> Result<OutcomeReport, RecordError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| RecordError::CorruptReport(e.to_string()))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(OUTCOMES_FORMAT) => {}
            Some(other) => return Err(RecordError::Foreign(other.to_owned())),
            None => return Err(RecordError::CorruptReport("no `format` field".to_owned())),
        }
        let json: ReportJson =
            serde_json::from_value(value).map_err(|e| RecordError::CorruptReport(e.to_string()))?;
        if json.branch != branch || json.push != push {
            return Err(RecordError::Misplaced {
                expected: format!("outcomes of push {push} of `{branch}`"),
                found: format!("outcomes of push {} of `{}`", json.push, json.branch),
            });
        }
        let reported_at = parse_rfc3339(&json.reported_at).ok_or_else(|| {
            RecordError::CorruptReport(format!("invalid time `{}`", json.reported_at))
        })?;
        for task in &json.tasks {
            if let Some(d) = task.duration_s
                && !(d.is_finite() && d >= 0.0)
            {
                return Err(RecordError::CorruptReport(format!(
                    "task `{}` has the duration {d}",
                    task.name
                )));
            }
        }
        Ok(OutcomeReport {
            branch: json.branch,
            push: json.push,
            head: json.head,
            source: json.source,
            reported_at,
            tasks: json.tasks,
            tests: json.tests,
        })
    }
}

/// The object name of a report: `<milliseconds, 13 digits>-<16 hex
/// digits>.json`. Names sort by the reporter's clock; the random part makes
/// two reporters in the same millisecond write different objects.
pub fn object_name(unix_millis: u64, random: u64) -> String {
    format!("{unix_millis:013}-{random:016x}.json")
}

/// One attempt of a task on a push.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub result: TaskResult,
    pub duration_s: Option<f64>,
}

/// A task's outcome on one push, over all its attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every attempt succeeded.
    Passed,
    /// Every attempt failed or timed out.
    Failed,
    /// Attempts disagree: it failed and succeeded on the same push.
    Flaky,
}

/// Everything reported for one push, reports in object-name order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PushOutcomes {
    pub push: u64,
    /// Per task, its attempts in report order (oldest first).
    pub tasks: BTreeMap<String, Vec<Attempt>>,
    /// Per task, the tests of its latest report that has any.
    pub tests: BTreeMap<String, Vec<TestOutcome>>,
}

impl PushOutcomes {
    /// Gathers the reports of push `push`; `reports` are `(object name,
    /// report)` in any order.
    pub fn new(push: u64, mut reports: Vec<(String, OutcomeReport)>) -> PushOutcomes {
        reports.sort_by(|a, b| a.0.cmp(&b.0));
        let mut outcomes = PushOutcomes {
            push,
            ..PushOutcomes::default()
        };
        for (_, report) in reports {
            for task in report.tasks {
                outcomes.tasks.entry(task.name).or_default().push(Attempt {
                    result: task.result,
                    duration_s: task.duration_s,
                });
            }
            for tests in report.tests {
                if !tests.tests.is_empty() {
                    outcomes.tests.insert(tests.task, tests.tests);
                }
            }
        }
        outcomes
    }

    /// The task's latest attempt on this push.
    pub fn latest(&self, task: &str) -> Option<&Attempt> {
        self.tasks.get(task)?.last()
    }

    /// The task's outcome over all its attempts on this push.
    pub fn verdict(&self, task: &str) -> Option<Verdict> {
        let attempts = self.tasks.get(task)?;
        let failed = attempts.iter().filter(|a| a.result.failed()).count();
        Some(if failed == 0 {
            Verdict::Passed
        } else if failed == attempts.len() {
            Verdict::Failed
        } else {
            Verdict::Flaky
        })
    }

    /// The latest recorded duration of the task on this push.
    pub fn duration(&self, task: &str) -> Option<f64> {
        self.tasks
            .get(task)?
            .iter()
            .rev()
            .find_map(|a| a.duration_s)
    }
}

/// What `sift run` knows about a task from earlier runs.
#[derive(Clone, Debug, PartialEq)]
pub struct LastRun {
    /// Its most recent attempt's result.
    pub result: TaskResult,
    /// Its most recent known duration.
    pub duration_s: Option<f64>,
    /// Where that most recent attempt was reported.
    pub branch: String,
    pub push: u64,
}

/// Each task's most recent run: from `own` (this branch's pushes, newest
/// first), else from `base` (the base branch's, newest first). A branch's
/// own runs win because they ran its own code; the base fills in tasks the
/// branch has not run yet. Durations come from the same place as the
/// result when known there, else from the next older run that has one.
pub fn last_runs(
    own: (&str, &[PushOutcomes]),
    base: Option<(&str, &[PushOutcomes])>,
) -> BTreeMap<String, LastRun> {
    let mut out: BTreeMap<String, LastRun> = BTreeMap::new();
    for (branch, pushes) in std::iter::once(own).chain(base) {
        for push in pushes {
            for (task, attempts) in &push.tasks {
                let Some(latest) = attempts.last() else {
                    continue;
                };
                match out.get_mut(task) {
                    None => {
                        out.insert(
                            task.clone(),
                            LastRun {
                                result: latest.result,
                                duration_s: push.duration(task),
                                branch: branch.to_owned(),
                                push: push.push,
                            },
                        );
                    }
                    Some(known) if known.duration_s.is_none() && known.branch == branch => {
                        known.duration_s = push.duration(task);
                    }
                    Some(_) => {}
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(name: &str, result: TaskResult, duration_s: Option<f64>) -> TaskOutcome {
        TaskOutcome {
            name: name.to_owned(),
            result,
            duration_s,
            started_at: None,
            finished_at: None,
        }
    }

    fn report(push: u64, tasks: Vec<TaskOutcome>) -> OutcomeReport {
        OutcomeReport {
            branch: "main".into(),
            push,
            head: "abc".into(),
            source: "sift run".into(),
            reported_at: 1_800_000_000,
            tasks,
            tests: Vec::new(),
        }
    }

    #[test]
    fn reports_round_trip_and_say_what_is_wrong() {
        let mut r = report(4, vec![outcome("build", TaskResult::Failed, Some(1.5))]);
        r.tests.push(TaskTests {
            task: "build".into(),
            tests: vec![TestOutcome {
                name: "t::a".into(),
                result: TestResult::Failed,
                duration_s: Some(0.1),
            }],
        });
        let bytes = r.to_json();
        assert_eq!(OutcomeReport::from_json(&bytes, "main", 4), Ok(r.clone()));
        assert!(matches!(
            OutcomeReport::from_json(&bytes, "main", 5),
            Err(RecordError::Misplaced { .. })
        ));
        assert!(matches!(
            OutcomeReport::from_json(b"[1,2]", "main", 4),
            Err(RecordError::CorruptReport(_))
        ));
        assert!(matches!(
            OutcomeReport::from_json(br#"{"format":"sift-push-1"}"#, "main", 4),
            Err(RecordError::Foreign(_))
        ));
        let text = String::from_utf8(bytes).unwrap();
        let bad = text.replace("\"failed\"", "\"exploded\"");
        assert!(matches!(
            OutcomeReport::from_json(bad.as_bytes(), "main", 4),
            Err(RecordError::CorruptReport(_))
        ));
        let negative = text.replace("1.5", "-1.5");
        assert!(matches!(
            OutcomeReport::from_json(negative.as_bytes(), "main", 4),
            Err(RecordError::CorruptReport(m)) if m.contains("duration")
        ));
    }

    #[test]
    fn object_names_sort_by_time() {
        let a = object_name(999, u64::MAX);
        let b = object_name(1_000, 0);
        assert!(a < b, "{a} {b}");
        assert_eq!(b, "0000000001000-0000000000000000.json");
    }

    #[test]
    fn latest_attempt_and_verdict() {
        let push = PushOutcomes::new(
            3,
            vec![
                (
                    object_name(2, 0),
                    report(3, vec![outcome("a", TaskResult::Succeeded, None)]),
                ),
                (
                    object_name(1, 0),
                    report(
                        3,
                        vec![
                            outcome("a", TaskResult::Failed, Some(2.0)),
                            outcome("b", TaskResult::TimedOut, Some(9.0)),
                        ],
                    ),
                ),
            ],
        );
        assert_eq!(push.latest("a").unwrap().result, TaskResult::Succeeded);
        assert_eq!(push.verdict("a"), Some(Verdict::Flaky));
        assert_eq!(push.verdict("b"), Some(Verdict::Failed));
        assert_eq!(push.verdict("c"), None);
        assert_eq!(push.duration("a"), Some(2.0));
    }

    #[test]
    fn the_branch_wins_over_its_base_and_durations_fill_in() {
        let own = vec![
            PushOutcomes::new(
                9,
                vec![(
                    object_name(5, 0),
                    report(9, vec![outcome("a", TaskResult::Succeeded, None)]),
                )],
            ),
            PushOutcomes::new(
                8,
                vec![(
                    object_name(4, 0),
                    report(8, vec![outcome("a", TaskResult::Failed, Some(3.0))]),
                )],
            ),
        ];
        let base = vec![PushOutcomes::new(
            40,
            vec![(
                object_name(9, 0),
                report(
                    40,
                    vec![
                        outcome("a", TaskResult::Failed, Some(7.0)),
                        outcome("b", TaskResult::Failed, Some(1.0)),
                    ],
                ),
            )],
        )];
        let last = last_runs(("feature", &own), Some(("main", &base)));
        let a = &last["a"];
        assert_eq!(
            (a.result, a.duration_s, a.branch.as_str(), a.push),
            (TaskResult::Succeeded, Some(3.0), "feature", 9)
        );
        let b = &last["b"];
        assert_eq!((b.result, b.branch.as_str()), (TaskResult::Failed, "main"));
    }
}

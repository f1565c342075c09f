//! What `sift run` reports: one result per task of the plan, rendered as the
//! summary table, the versioned JSON report (`--format json`) and JUnit XML
//! (`--junit FILE`). One structure, one renderer per format.

use serde::Serialize;

/// How a task of the plan ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    TimedOut,
    Interrupted,
    /// Kept by the plan, never started: a need failed or the run stopped.
    Skipped,
    /// The plan did not keep it.
    NotRun,
    /// Kept, but it has no `run` command (counts as success).
    NothingToRun,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed_out",
            Outcome::Interrupted => "interrupted",
            Outcome::Skipped => "skipped",
            Outcome::NotRun => "not_run",
            Outcome::NothingToRun => "nothing_to_run",
        }
    }

    /// Failed or timed out: what makes `sift run` exit 12.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::TimedOut)
    }
}

/// One task's line in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskResult {
    pub name: String,
    /// The plan's decision.
    pub run: bool,
    /// Why: the plan's reason, or why it failed or was skipped.
    pub reason: String,
    pub result: Outcome,
    pub exit_code: Option<i32>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_s: Option<f64>,
    /// When it started, in seconds after the run started (millisecond
    /// precision, unlike `started_at`): what a Gantt chart needs.
    pub start_s: Option<f64>,
    /// The tasks it needs (sorted), for the critical path.
    pub needs: Vec<String>,
}

/// A finished run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    pub base: Option<String>,
    pub head: Option<String>,
    /// Sorted by name.
    pub tasks: Vec<TaskResult>,
    /// How many tasks could run at once (`-j`), if known.
    pub jobs: Option<usize>,
    /// Seconds from the run's start to its end, if known.
    pub wall_s: Option<f64>,
}

const OUTCOMES: [Outcome; 7] = [
    Outcome::Succeeded,
    Outcome::Failed,
    Outcome::TimedOut,
    Outcome::Interrupted,
    Outcome::Skipped,
    Outcome::NotRun,
    Outcome::NothingToRun,
];

impl RunReport {
    pub fn new(base: Option<String>, head: Option<String>, mut tasks: Vec<TaskResult>) -> Self {
        tasks.sort_by(|a, b| a.name.cmp(&b.name));
        RunReport {
            base,
            head,
            tasks,
            jobs: None,
            wall_s: None,
        }
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.tasks.iter().filter(|t| t.result == outcome).count()
    }

    pub fn any_failure(&self) -> bool {
        self.tasks.iter().any(|t| t.result.is_failure())
    }

    /// The `--format json` report, format_version 1.
    pub fn json(&self) -> String {
        let mut summary = serde_json::Map::new();
        for outcome in OUTCOMES {
            summary.insert(outcome.as_str().to_owned(), self.count(outcome).into());
        }
        let value = serde_json::json!({
            "format_version": 1,
            "base": self.base,
            "head": self.head,
            "jobs": self.jobs,
            "wall_s": self.wall_s,
            "tasks": self.tasks,
            "summary": summary,
        });
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The summary table: task, result, duration, reason (kept tasks only;
    /// the plan's own output lists the others).
    pub fn table(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .tasks
            .iter()
            .filter(|t| t.run)
            .map(|t| {
                [
                    t.name.clone(),
                    t.result.as_str().replace('_', " "),
                    t.duration_s.map_or_else(|| "-".to_owned(), format_seconds),
                    t.reason.clone(),
                ]
            })
            .collect();
        let header = ["task", "result", "duration", "reason"].map(str::to_owned);
        let mut widths = [0; 3];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let line = format!(
                "{:<w0$}  {:<w1$}  {:>w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let kept = rows.len();
        out.push_str(&format!(
            "{} of {kept} kept tasks succeeded, {} failed, {} timed out, {} skipped, {} interrupted, {} with nothing to run\n",
            self.count(Outcome::Succeeded),
            self.count(Outcome::Failed),
            self.count(Outcome::TimedOut),
            self.count(Outcome::Skipped),
            self.count(Outcome::Interrupted),
            self.count(Outcome::NothingToRun),
        ));
        out
    }

    /// JUnit XML: one testsuite `sift run`, one testcase per kept task.
    pub fn junit(&self) -> String {
        let kept: Vec<&TaskResult> = self.tasks.iter().filter(|t| t.run).collect();
        let failures = kept.iter().filter(|t| t.result.is_failure()).count();
        let skipped = kept
            .iter()
            .filter(|t| matches!(t.result, Outcome::Skipped | Outcome::Interrupted))
            .count();
        let time: f64 = kept.iter().filter_map(|t| t.duration_s).sum();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(&format!(
            "<testsuites><testsuite name=\"sift run\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\">\n",
            kept.len()
        ));
        for task in kept {
            out.push_str(&format!(
                "  <testcase classname=\"sift.run\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(&task.name),
                task.duration_s.unwrap_or(0.0)
            ));
            let reason = xml_escape(&task.reason);
            match task.result {
                Outcome::Failed | Outcome::TimedOut => out.push_str(&format!(
                    "><failure type=\"{}\" message=\"{reason}\"/></testcase>\n",
                    task.result.as_str()
                )),
                Outcome::Skipped | Outcome::Interrupted => {
                    out.push_str(&format!("><skipped message=\"{reason}\"/></testcase>\n"));
                }
                _ => out.push_str("/>\n"),
            }
        }
        out.push_str("</testsuite></testsuites>\n");
        out
    }
}

/// `0.4s`, `12.3s`, `2m05s`.
pub fn format_seconds(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let whole = seconds.round() as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry other control characters at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

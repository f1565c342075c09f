//! What `sift run` remembers for the next run: each task's most recent
//! result and duration. The CLI keeps it in one local file,
//! `.sift/run/results.json` (format_version 1); this module only reads and
//! writes its text.
//!
//! ```json
//! {"format_version": 1, "tasks": {"build": {"result": "succeeded", "duration_s": 12.5, "finished_at": "…"}}}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::report::{Outcome, RunReport};

/// One task's most recent finished attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    /// `succeeded`, `failed` or `timed_out`.
    pub result: String,
    pub duration_s: f64,
    #[serde(default)]
    pub finished_at: Option<String>,
}

impl LastRun {
    pub fn failed(&self) -> bool {
        matches!(self.result.as_str(), "failed" | "timed_out")
    }
}

/// Every task's last run, by name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecords {
    pub format_version: u32,
    pub tasks: BTreeMap<String, LastRun>,
}

/// The file is not what sift writes.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RecordsError {
    #[error("invalid run records: {0}")]
    Invalid(String),
    #[error("run records have format_version {0}; this sift reads version 1")]
    Version(u32),
}

impl RunRecords {
    pub fn parse(text: &str) -> Result<RunRecords, RecordsError> {
        let records: RunRecords =
            serde_json::from_str(text).map_err(|e| RecordsError::Invalid(e.to_string()))?;
        if records.format_version != 1 {
            return Err(RecordsError::Version(records.format_version));
        }
        Ok(records)
    }

    /// Takes in every task of `report` that finished (succeeded, failed or
    /// timed out); interrupted and skipped tasks keep their older record.
    pub fn update(&mut self, report: &RunReport) {
        self.format_version = 1;
        for task in &report.tasks {
            let finished = matches!(
                task.result,
                Outcome::Succeeded | Outcome::Failed | Outcome::TimedOut
            );
            if let (true, Some(duration_s)) = (finished, task.duration_s) {
                self.tasks.insert(
                    task.name.clone(),
                    LastRun {
                        result: task.result.as_str().to_owned(),
                        duration_s,
                        finished_at: task.finished_at.clone(),
                    },
                );
            }
        }
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

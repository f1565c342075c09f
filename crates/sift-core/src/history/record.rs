//! One recorded push, as stored (one JSON object per push).
//!
//! Records written before the plan's details were kept (reasons, shadow
//! mode, what the selection alone would have skipped) have no `plan` object
//! and are still read: their [`PushRecord::plan`] is `None`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cadence::{PushDecision, marks_after};
use super::time::{format_rfc3339, parse_rfc3339};

/// `format` of a push record; readers skip records of other formats.
pub const RECORD_FORMAT: &str = "sift-push-1";

/// A push that a later decision counts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    pub number: u64,
    /// Unix seconds.
    pub time: i64,
}

/// A recorded push: what `sift history` lists and what the next push's
/// decision reads.
#[derive(Clone, Debug, PartialEq)]
pub struct PushRecord {
    pub branch: String,
    pub number: u64,
    pub head: String,
    pub base: Option<String>,
    /// Unix seconds (the recording job's clock).
    pub time: i64,
    pub backstop: bool,
    pub expanded: bool,
    pub reason: String,
    /// Task names, sorted: what the plan ran and what it skipped.
    pub kept: Vec<String>,
    pub skipped: Vec<String>,
    /// The plan's details; `None` in records of older versions of sift.
    pub plan: Option<PlanDetail>,
    /// The latest backstop up to and including this push.
    pub last_backstop: Option<Mark>,
    /// The latest expanded push up to and including this push.
    pub last_expanded: Option<Mark>,
}

/// How the plan of a push was applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlanMode {
    /// The plan's decisions were applied: skipped tasks did not run.
    #[default]
    Enforce,
    /// Every task ran; the plan only recorded what it would have skipped
    /// (`sift plan --shadow`, `[plan] mode = "shadow"`).
    Shadow,
}

impl PlanMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanMode::Enforce => "enforce",
            PlanMode::Shadow => "shadow",
        }
    }
}

/// What a push's plan decided beyond the kept and skipped names: enough to
/// explain every decision later and to replay the push.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanDetail {
    pub mode: PlanMode,
    /// `--target` globs the plan was made with (empty: every task).
    pub targets: Vec<String>,
    /// `--all`.
    pub all: bool,
    /// Every task's reason, by name.
    pub reasons: BTreeMap<String, String>,
    /// Tasks that ran although the selection alone (no backstop forcing, no
    /// shadow mode) would have skipped them, with the selection's reason.
    /// `None` when the plan ran exactly what the selection kept (then the
    /// skipped tasks are what it would have skipped).
    pub would_skip: Option<BTreeMap<String, String>>,
    /// How many paths the change touched.
    pub changed_files: usize,
}

/// What a plan gives a push record: the names, plus the details.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordedPlan {
    pub kept: Vec<String>,
    pub skipped: Vec<String>,
    pub detail: Option<PlanDetail>,
}

impl PushRecord {
    /// Whether the selection alone would have skipped `task` on this push:
    /// `Some(reason)` if so, `None` if it would have run it (or the record
    /// does not say, as older records on backstop pushes do not).
    pub fn would_skip(&self, task: &str) -> Option<&str> {
        let detail = self.plan.as_ref();
        if let Some(reason) = detail
            .and_then(|d| d.would_skip.as_ref())
            .and_then(|w| w.get(task))
        {
            return Some(reason);
        }
        self.skipped
            .binary_search_by(|name| name.as_str().cmp(task))
            .ok()
            .map(|_| {
                detail
                    .and_then(|d| d.reasons.get(task))
                    .map_or("skipped", String::as_str)
            })
    }

    /// Whether `task` ran on this push (the plan kept it).
    pub fn kept(&self, task: &str) -> bool {
        self.kept
            .binary_search_by(|name| name.as_str().cmp(task))
            .is_ok()
    }

    /// The plan's reason for `task`, when recorded.
    pub fn reason(&self, task: &str) -> Option<&str> {
        self.plan
            .as_ref()
            .and_then(|d| d.reasons.get(task))
            .map(String::as_str)
    }

    pub fn mode(&self) -> PlanMode {
        self.plan.as_ref().map(|d| d.mode).unwrap_or_default()
    }
}

/// Why stored bytes are not a push record of the expected branch and number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not a push record: {0}")]
    Corrupt(String),
    #[error("not an outcome report: {0}")]
    CorruptReport(String),
    #[error("a record of another format (`{0}`)")]
    Foreign(String),
    #[error("a record of {found}, stored where {expected} belongs")]
    Misplaced { expected: String, found: String },
}

#[derive(Serialize, Deserialize)]
struct MarkJson {
    number: u64,
    time: String,
}

#[derive(Serialize, Deserialize)]
struct RecordJson {
    format: String,
    branch: String,
    number: u64,
    head: String,
    base: Option<String>,
    time: String,
    backstop: bool,
    #[serde(default)]
    expanded: bool,
    reason: String,
    kept: Vec<String>,
    skipped: Vec<String>,
    last_backstop: Option<MarkJson>,
    last_expanded: Option<MarkJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan: Option<PlanJson>,
}

/// The plan's details, compactly: reasons are stored once each and referred
/// to by index from arrays aligned with `kept` and `skipped`, so a record of
/// thousands of tasks stays small (most tasks share a handful of reasons).
#[derive(Serialize, Deserialize, Default)]
struct PlanJson {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    mode: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    targets: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    all: bool,
    #[serde(default)]
    changed_files: usize,
    /// Distinct reasons.
    #[serde(default)]
    reasons: Vec<String>,
    /// Per kept task (same order): its reason's index.
    #[serde(default)]
    kept_reasons: Vec<u32>,
    #[serde(default)]
    skipped_reasons: Vec<u32>,
    /// Kept tasks the selection alone would have skipped, and the index of
    /// that reason; absent when the plan ran what the selection kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    would_skip: Option<Vec<(String, u32)>>,
}

impl PlanJson {
    fn new(detail: &PlanDetail, kept: &[String], skipped: &[String]) -> PlanJson {
        let mut texts: Vec<String> = Vec::new();
        let mut ids: BTreeMap<String, u32> = BTreeMap::new();
        let mut id = |text: &str, texts: &mut Vec<String>| -> u32 {
            *ids.entry(text.to_owned()).or_insert_with(|| {
                texts.push(text.to_owned());
                texts.len() as u32 - 1
            })
        };
        let reason = |name: &String| detail.reasons.get(name).map_or("", String::as_str);
        let kept_reasons = kept.iter().map(|n| id(reason(n), &mut texts)).collect();
        let skipped_reasons = skipped.iter().map(|n| id(reason(n), &mut texts)).collect();
        let would_skip = detail.would_skip.as_ref().map(|w| {
            w.iter()
                .map(|(name, text)| (name.clone(), id(text, &mut texts)))
                .collect()
        });
        PlanJson {
            mode: match detail.mode {
                PlanMode::Enforce => String::new(),
                PlanMode::Shadow => "shadow".to_owned(),
            },
            targets: detail.targets.clone(),
            all: detail.all,
            changed_files: detail.changed_files,
            reasons: texts,
            kept_reasons,
            skipped_reasons,
            would_skip,
        }
    }

    fn detail(self, kept: &[String], skipped: &[String]) -> Result<PlanDetail, RecordError> {
        let text = |i: u32| -> Result<String, RecordError> {
            self.reasons
                .get(i as usize)
                .cloned()
                .ok_or_else(|| RecordError::Corrupt(format!("reason index {i} out of range")))
        };
        let aligned = |names: &[String], ids: &[u32], what: &str| {
            if names.len() != ids.len() {
                return Err(RecordError::Corrupt(format!(
                    "{} {what} reasons for {} {what} tasks",
                    ids.len(),
                    names.len()
                )));
            }
            names
                .iter()
                .zip(ids)
                .map(|(name, &i)| Ok((name.clone(), text(i)?)))
                .collect::<Result<Vec<_>, RecordError>>()
        };
        let mut reasons: BTreeMap<String, String> = BTreeMap::new();
        reasons.extend(aligned(kept, &self.kept_reasons, "kept")?);
        reasons.extend(aligned(skipped, &self.skipped_reasons, "skipped")?);
        let would_skip = match &self.would_skip {
            Some(list) => Some(
                list.iter()
                    .map(|(name, i)| Ok((name.clone(), text(*i)?)))
                    .collect::<Result<BTreeMap<_, _>, RecordError>>()?,
            ),
            None => None,
        };
        let mode = match self.mode.as_str() {
            "" | "enforce" => PlanMode::Enforce,
            "shadow" => PlanMode::Shadow,
            other => return Err(RecordError::Corrupt(format!("unknown plan mode `{other}`"))),
        };
        Ok(PlanDetail {
            mode,
            targets: self.targets,
            all: self.all,
            reasons,
            would_skip,
            changed_files: self.changed_files,
        })
    }
}

impl PushRecord {
    /// Push `number` with its decision; `previous` is the record the decision
    /// was made from, whose marks carry forward.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        branch: &str,
        number: u64,
        head: &str,
        base: Option<&str>,
        time: i64,
        decision: PushDecision,
        previous: Option<&PushRecord>,
        plan: RecordedPlan,
    ) -> PushRecord {
        let (last_backstop, last_expanded) = marks_after(number, time, &decision, previous);
        PushRecord {
            branch: branch.to_owned(),
            number,
            head: head.to_owned(),
            base: base.map(str::to_owned),
            time,
            backstop: decision.backstop,
            expanded: decision.expanded,
            reason: decision.reason,
            kept: plan.kept,
            skipped: plan.skipped,
            plan: plan.detail,
            last_backstop,
            last_expanded,
        }
    }

    pub fn decision(&self) -> PushDecision {
        PushDecision {
            backstop: self.backstop,
            expanded: self.expanded,
            reason: self.reason.clone(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mark = |m: &Option<Mark>| {
            m.as_ref().map(|m| MarkJson {
                number: m.number,
                time: format_rfc3339(m.time),
            })
        };
        let json = RecordJson {
            format: RECORD_FORMAT.to_owned(),
            branch: self.branch.clone(),
            number: self.number,
            head: self.head.clone(),
            base: self.base.clone(),
            time: format_rfc3339(self.time),
            backstop: self.backstop,
            expanded: self.expanded,
            reason: self.reason.clone(),
            kept: self.kept.clone(),
            skipped: self.skipped.clone(),
            last_backstop: mark(&self.last_backstop),
            last_expanded: mark(&self.last_expanded),
            plan: self
                .plan
                .as_ref()
                .map(|d| PlanJson::new(d, &self.kept, &self.skipped)),
        };
        serde_json::to_vec(&json).expect("plain data serializes")
    }

    /// Reads a stored record, checking it is push `number` of `branch`.
    pub fn from_json(bytes: &[u8], branch: &str, number: u64) -> Result<PushRecord, RecordError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| RecordError::Corrupt(e.to_string()))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(RECORD_FORMAT) => {}
            Some(other) => return Err(RecordError::Foreign(other.to_owned())),
            None => return Err(RecordError::Corrupt("no `format` field".to_owned())),
        }
        let json: RecordJson =
            serde_json::from_value(value).map_err(|e| RecordError::Corrupt(e.to_string()))?;
        if json.branch != branch || json.number != number {
            return Err(RecordError::Misplaced {
                expected: format!("push {number} of `{branch}`"),
                found: format!("push {} of `{}`", json.number, json.branch),
            });
        }
        let time = |t: &str| {
            parse_rfc3339(t).ok_or_else(|| RecordError::Corrupt(format!("invalid time `{t}`")))
        };
        let mark = |m: Option<MarkJson>| -> Result<Option<Mark>, RecordError> {
            m.map(|m| {
                Ok(Mark {
                    number: m.number,
                    time: time(&m.time)?,
                })
            })
            .transpose()
        };
        let plan = match json.plan {
            Some(plan) => Some(plan.detail(&json.kept, &json.skipped)?),
            None => None,
        };
        Ok(PushRecord {
            plan,
            time: time(&json.time)?,
            last_backstop: mark(json.last_backstop)?,
            last_expanded: mark(json.last_expanded)?,
            branch: json.branch,
            number: json.number,
            head: json.head,
            base: json.base,
            backstop: json.backstop,
            expanded: json.expanded,
            reason: json.reason,
            kept: json.kept,
            skipped: json.skipped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PushRecord {
        let decision = PushDecision {
            backstop: true,
            expanded: true,
            reason: "backstop push (first recorded push of main)".to_owned(),
        };
        PushRecord::new(
            "main",
            1,
            "abc",
            Some("def"),
            1_796_170_973,
            decision,
            None,
            RecordedPlan {
                kept: vec!["a".into()],
                skipped: vec!["b".into()],
                detail: None,
            },
        )
    }

    fn detailed() -> PushRecord {
        let mut record = sample();
        record.kept = vec!["a".into(), "c".into(), "d".into()];
        record.skipped = vec!["b".into()];
        let reasons = [
            ("a", "schedules: linux affected (by x.c)"),
            ("b", "changed: no changed file matches `docs/**`"),
            (
                "c",
                "shadow: would skip: schedules: none of macosx affected",
            ),
            (
                "d",
                "shadow: would skip: schedules: none of macosx affected",
            ),
        ];
        record.plan = Some(PlanDetail {
            mode: PlanMode::Shadow,
            targets: vec!["*".into()],
            all: false,
            reasons: reasons
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            would_skip: Some(
                [
                    ("c", "schedules: none of macosx affected"),
                    ("d", "schedules: none of macosx affected"),
                ]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ),
            changed_files: 3,
        });
        record
    }

    #[test]
    fn plan_details_round_trip_compactly() {
        let record = detailed();
        let bytes = record.to_json();
        assert_eq!(PushRecord::from_json(&bytes, "main", 1), Ok(record.clone()));
        let text = String::from_utf8(bytes).unwrap();
        // Each distinct reason is stored once.
        assert_eq!(text.matches("none of macosx affected").count(), 2, "{text}");
        assert_eq!(
            record.would_skip("c"),
            Some("schedules: none of macosx affected")
        );
        assert_eq!(
            record.would_skip("b"),
            Some("changed: no changed file matches `docs/**`")
        );
        assert_eq!(record.would_skip("a"), None);
        assert!(record.kept("d") && !record.kept("b"));
        assert_eq!(record.mode(), PlanMode::Shadow);
    }

    #[test]
    fn records_without_plan_details_are_read() {
        // As sift wrote them before plans carried their reasons.
        let old = br#"{"format":"sift-push-1","branch":"main","number":3,"head":"h","base":null,"time":"2026-12-02T00:22:53Z","backstop":false,"expanded":false,"reason":"r","kept":["a"],"skipped":["b"],"last_backstop":null,"last_expanded":null}"#;
        let record = PushRecord::from_json(old, "main", 3).unwrap();
        assert_eq!(record.plan, None);
        assert_eq!(record.would_skip("b"), Some("skipped"));
        assert_eq!(record.reason("a"), None);
        assert_eq!(record.mode(), PlanMode::Enforce);
    }

    #[test]
    fn inconsistent_plan_details_are_corrupt() {
        let text = String::from_utf8(detailed().to_json()).unwrap();
        for (from, to) in [
            ("\"kept_reasons\":[0,", "\"kept_reasons\":["),
            ("\"skipped_reasons\":[", "\"skipped_reasons\":[99,"),
            ("\"mode\":\"shadow\"", "\"mode\":\"sometimes\""),
        ] {
            assert!(text.contains(from), "{from} in {text}");
            let bad = text.replacen(from, to, 1);
            assert!(
                matches!(
                    PushRecord::from_json(bad.as_bytes(), "main", 1),
                    Err(RecordError::Corrupt(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn round_trip() {
        let record = sample();
        let bytes = record.to_json();
        assert_eq!(PushRecord::from_json(&bytes, "main", 1), Ok(record.clone()));
        assert_eq!(
            record.last_backstop,
            Some(Mark {
                number: 1,
                time: 1_796_170_973
            })
        );
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("\"time\":\"2026-12-02T00:22:53Z\""), "{text}");
    }

    #[test]
    fn bad_bytes_say_what_they_are() {
        let bytes = sample().to_json();
        assert!(matches!(
            PushRecord::from_json(b"{nope", "main", 1),
            Err(RecordError::Corrupt(_))
        ));
        assert!(matches!(
            PushRecord::from_json(br#"{"format":"other-9"}"#, "main", 1),
            Err(RecordError::Foreign(f)) if f == "other-9"
        ));
        assert_eq!(
            PushRecord::from_json(&bytes, "main", 2)
                .unwrap_err()
                .to_string(),
            "a record of push 1 of `main`, stored where push 2 of `main` belongs"
        );
        let text = String::from_utf8(bytes)
            .unwrap()
            .replace("2026-12-02T00:22:53Z", "yesterday");
        assert!(matches!(
            PushRecord::from_json(text.as_bytes(), "main", 1),
            Err(RecordError::Corrupt(m)) if m.contains("yesterday")
        ));
    }
}

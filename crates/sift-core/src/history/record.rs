//! One recorded push, as stored (one JSON object per push).

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
    /// Task names, sorted.
    pub kept: Vec<String>,
    pub skipped: Vec<String>,
    /// The latest backstop up to and including this push.
    pub last_backstop: Option<Mark>,
    /// The latest expanded push up to and including this push.
    pub last_expanded: Option<Mark>,
}

/// Why stored bytes are not a push record of the expected branch and number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not a push record: {0}")]
    Corrupt(String),
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
        kept: Vec<String>,
        skipped: Vec<String>,
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
            kept,
            skipped,
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
        Ok(PushRecord {
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
            vec!["a".into()],
            vec!["b".into()],
        )
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

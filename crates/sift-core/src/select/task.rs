//! Tasks and the strategies that decide whether a change needs them.

use std::sync::Arc;

use crate::diagnostic::SourceFile;
use crate::pattern::PatternList;
use crate::select::components::ComponentSet;

/// When a task is kept. taskgraph's strategies answer "remove?", ours answer
/// "keep?", so taskgraph's `Any(a, b)` (remove if any says remove) is sift's
/// `all = [a, b]`.
#[derive(Debug, Clone)]
pub enum Strategy {
    /// Kept iff one of these components is affected (skip-unless-schedules).
    /// `names` keeps the configured order for messages.
    Schedules {
        components: ComponentSet,
        names: Vec<String>,
    },
    /// Kept iff a changed file matches (skip-unless-changed). Patterns are
    /// anchored at the repository root.
    Changed(PatternList),
    /// Never skipped.
    Always,
    /// Kept if any member keeps it.
    Any(Vec<Strategy>),
    /// Kept only if every member keeps it.
    All(Vec<Strategy>),
    /// Kept iff the member would skip it.
    Not(Box<Strategy>),
    /// Kept iff the push is a backstop (skip-unless-backstop).
    OnBackstop,
    /// Kept iff the push is expanded or a backstop (skip-unless-expanded).
    OnExpanded,
}

impl Strategy {
    /// Every `changed` list in this strategy, composites included, in order.
    pub fn changed_lists<'a>(&'a self, out: &mut Vec<&'a PatternList>) {
        match self {
            Strategy::Changed(list) => out.push(list),
            Strategy::Any(members) | Strategy::All(members) => {
                members.iter().for_each(|m| m.changed_lists(out));
            }
            Strategy::Not(member) => member.changed_lists(out),
            Strategy::Schedules { .. }
            | Strategy::Always
            | Strategy::OnBackstop
            | Strategy::OnExpanded => {}
        }
    }
}

/// A task from `[tasks.NAME]`.
#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    /// `None`: the task has no strategy and always runs.
    pub strategy: Option<Strategy>,
    /// Names of the tasks this one needs, sorted and deduplicated.
    pub needs: Vec<String>,
    /// Byte spans of `needs` in `source`, for diagnostics.
    pub need_spans: Vec<std::ops::Range<usize>>,
    /// Indices of `needs` in [`crate::Config::tasks`].
    pub need_ids: Vec<usize>,
    pub run: Option<String>,
    pub description: Option<String>,
    /// `env = { K = "v" }`: extra environment for `run` (`sift run`).
    pub env: Vec<(String, String)>,
    /// `cwd = "sub/dir"`: where `run` starts, relative to the repository root.
    pub cwd: Option<String>,
    /// `timeout = "10m"`, in seconds: `sift run` kills the task after it.
    pub timeout_s: Option<f64>,
    /// `false` (`backstop = false`): a backstop push does not force this
    /// task; it keeps its own decision.
    pub backstop: bool,
    /// Where the task is defined.
    pub source: Arc<SourceFile>,
    pub line: usize,
}

impl Task {
    /// `file:line` of the definition.
    pub fn location(&self) -> String {
        format!("{}:{}", self.source.name, self.line)
    }
}

/// Parses a duration such as `90`, `30s`, `10m`, `1h`, `1h30m`, `1.5m`.
/// Returns seconds, or `None` when the text is not such a duration or is 0.
pub fn parse_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(plain) = text.parse::<f64>() {
        return (plain.is_finite() && plain > 0.0).then_some(plain);
    }
    let mut total = 0.0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => return None,
        };
        let value: f64 = number.parse().ok()?;
        total += value * unit;
        number.clear();
    }
    if !number.is_empty() {
        return None;
    }
    (total.is_finite() && total > 0.0).then_some(total)
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(90.0));
        assert_eq!(parse_duration("30s"), Some(30.0));
        assert_eq!(parse_duration("10m"), Some(600.0));
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("0.5s"), Some(0.5));
        for bad in ["", "0", "10x", "m", "10m5", "-1", "1.2.3s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}

//! Tasks and the strategies that decide whether a change needs them.

use std::sync::Arc;

use crate::components::ComponentSet;
use crate::diagnostic::SourceFile;
use crate::pattern::PatternList;

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

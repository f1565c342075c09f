//! Diagnostics for configuration files: every error and warning points at
//! `file:line:col` and says what to do about it.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceSpan};

/// A configuration file's text, shared by all diagnostics about it.
#[derive(Debug)]
pub struct SourceFile {
    /// Path relative to the repository root, `/`-separated (`sift.toml`,
    /// `widget/cocoa/sift.toml`).
    pub name: String,
    pub text: String,
    /// Byte offsets where lines start, computed on first use: every task and
    /// rule records its line, and a 500-task file must not be rescanned 500 times.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
            line_starts: std::sync::OnceLock::new(),
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line(offset);
        let starts = self.line_starts();
        let col = self.text[starts[line - 1]..offset].chars().count() + 1;
        (line, col)
    }

    /// 1-based line of a byte offset: what every task and rule records.
    pub fn line(&self, offset: usize) -> usize {
        self.line_starts().partition_point(|&start| start <= offset)
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut starts = Vec::with_capacity(self.text.len() / 16 + 1);
            starts.push(0);
            starts.extend(memchr_newlines(self.text.as_bytes()));
            starts
        })
    }
}

/// Offsets just past each `\n`.
fn memchr_newlines(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'\n', text).map(|i| i + 1)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One problem in a configuration file.
#[derive(Debug, Clone)]
pub struct ConfigDiagnostic {
    pub severity: Severity,
    pub message: String,
    pub file: Arc<SourceFile>,
    pub span: Option<std::ops::Range<usize>>,
    pub label: String,
    pub help: Option<String>,
    /// A second place worth showing (e.g. the first definition of a duplicate).
    pub related: Option<(Arc<SourceFile>, std::ops::Range<usize>, String)>,
}

impl ConfigDiagnostic {
    pub fn error(
        file: &Arc<SourceFile>,
        span: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        ConfigDiagnostic {
            severity: Severity::Error,
            message: message.into(),
            file: Arc::clone(file),
            span,
            label: label.into(),
            help: None,
            related: None,
        }
    }

    pub fn warning(
        file: &Arc<SourceFile>,
        span: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        ConfigDiagnostic {
            severity: Severity::Warning,
            ..Self::error(file, span, message, label)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(
        mut self,
        file: &Arc<SourceFile>,
        span: std::ops::Range<usize>,
        label: impl Into<String>,
    ) -> Self {
        self.related = Some((Arc::clone(file), span, label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col` of the primary span (`file` alone without one).
    pub fn location(&self) -> String {
        match &self.span {
            Some(span) => {
                let (line, col) = self.file.line_col(span.start);
                format!("{}:{line}:{col}", self.file.name)
            }
            None => self.file.name.clone(),
        }
    }

    /// Renders to one plain line plus a hint line: for logs and tests where the
    /// graphical report is too much.
    pub fn to_plain(&self) -> String {
        let kind = if self.is_error() { "error" } else { "warning" };
        let mut out = format!("{kind}: {}: {}", self.location(), self.message);
        if !self.label.is_empty() {
            out.push_str(&format!(" ({})", self.label));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("\n  hint: {help}"));
        }
        out
    }

    /// A copy that miette can render with the source snippet.
    pub fn report(&self) -> Report {
        Report {
            inner: self.clone(),
            source: NamedSource::new(self.file.name.clone(), self.file.text.clone()),
            related: self
                .related
                .as_ref()
                .map(|(file, span, label)| RelatedReport {
                    source: NamedSource::new(file.name.clone(), file.text.clone()),
                    span: span.clone(),
                    label: label.clone(),
                }),
        }
    }
}

impl fmt::Display for ConfigDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A [`ConfigDiagnostic`] ready for miette's graphical renderer.
#[derive(Debug)]
pub struct Report {
    inner: ConfigDiagnostic,
    source: NamedSource<String>,
    related: Option<RelatedReport>,
}

#[derive(Debug)]
struct RelatedReport {
    source: NamedSource<String>,
    span: std::ops::Range<usize>,
    label: String,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner.message)
    }
}

impl std::error::Error for Report {}

impl fmt::Display for RelatedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl std::error::Error for RelatedReport {}

impl Diagnostic for RelatedReport {
    fn severity(&self) -> Option<Severity> {
        Some(Severity::Advice)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label.clone()),
            SourceSpan::from(self.span.clone()),
        ))))
    }
}

impl Diagnostic for Report {
    fn severity(&self) -> Option<Severity> {
        Some(self.inner.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.inner.span.clone()?;
        let label = (!self.inner.label.is_empty()).then(|| self.inner.label.clone());
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            label,
            SourceSpan::from(span),
        ))))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.related
            .as_ref()
            .map(|r| Box::new(std::iter::once(r as &dyn Diagnostic)) as Box<_>)
    }
}

/// Every problem found in a set of configuration files. Loading collects them
/// all, so one CI run shows every mistake.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    pub items: Vec<ConfigDiagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: ConfigDiagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(ConfigDiagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &ConfigDiagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &ConfigDiagnostic> {
        self.items.iter().filter(|d| !d.is_error())
    }

    /// Sorts by file and position so output is stable.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            (&a.file.name, a.span.as_ref().map(|s| s.start), &a.message).cmp(&(
                &b.file.name,
                b.span.as_ref().map(|s| s.start),
                &b.message,
            ))
        });
    }
}

/// The error of a failed configuration load: at least one error diagnostic.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid configuration: {} error(s)", .0.errors().count())]
pub struct ConfigError(pub Diagnostics);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based_and_counts_characters() {
        let f = SourceFile::new("x.toml", "ab\ncé d\n");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(7), (2, 4));
        assert_eq!(f.line_col(999), (3, 1));
    }

    #[test]
    fn plain_rendering_has_location_and_hint() {
        let f = SourceFile::new("a/sift.toml", "x = 1\n[tasks.y]\n");
        let d = ConfigDiagnostic::error(&f, Some(8..13), "unknown component `y`", "not declared")
            .with_help("declare it under [components]");
        assert_eq!(
            d.to_plain(),
            "error: a/sift.toml:2:3: unknown component `y` (not declared)\n  hint: declare it under [components]"
        );
    }
}

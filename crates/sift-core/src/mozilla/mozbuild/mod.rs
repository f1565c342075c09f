//! Reading moz.build files statically: `Files()` blocks and their
//! `SCHEDULES` (mozbuild's `files_info`, reference §2–§3).
//!
//! A small recursive-descent reader of the subset ([`lexer`], [`parser`])
//! rather than a full Python parser crate: it builds in about a second,
//! adds nothing to the binary's dependencies, and reads only what sift
//! uses (see the README's "Coming from Mozilla" for the measurements).
//! Nothing is ever executed. What cannot be read is a warning with
//! `moz.build:LINE`, and the paths it could affect keep every exclusive
//! component, so the answer errs on the side of running.

pub mod lexer;
pub mod parser;
mod tree;

use std::sync::Arc;

pub use tree::{MatchedBlock, MozbuildTree, PathAnnotations};

use crate::diagnostic::{ConfigDiagnostic, Diagnostics, SourceFile};
use crate::mozilla::mozpath::MozPattern;
use crate::mozilla::schedules::MozSchedules;
use crate::select::components::{ComponentKind, Components};
use parser::Value;

/// The name of every moz.build file.
pub const MOZBUILD: &str = "moz.build";

/// One read moz.build.
#[derive(Debug)]
pub struct MozbuildFile {
    /// Its directory, repository-relative (`""` for the root).
    pub dir: String,
    pub source: Arc<SourceFile>,
    /// The recorded `Files` blocks, in source order.
    pub blocks: Vec<FilesBlock>,
    /// `moz.build:LINE: why`, when the file could not be read at all.
    pub unreadable: Option<String>,
    /// Lines of `with Files` blocks under conditions or in functions (not read).
    pub conditional: Vec<usize>,
    /// Lines of blocks mozbuild itself drops (an earlier empty block, §3.5).
    pub hidden: Vec<usize>,
}

/// One `with Files(...)` block.
#[derive(Debug)]
pub struct FilesBlock {
    pub line: usize,
    /// `None` when the arguments are not string literals.
    pub patterns: Option<Vec<MozPattern>>,
    pub schedules: BlockSchedules,
}

/// What a block does to SCHEDULES.
#[derive(Debug)]
pub enum BlockSchedules {
    /// It does not touch SCHEDULES.
    Untouched,
    /// Its value; `final_first`: `FINAL` was touched before SCHEDULES.
    Set {
        value: MozSchedules,
        final_first: bool,
    },
    /// It sets SCHEDULES in a way sift cannot read: `moz.build:LINE: why`.
    Unknown(String),
}

/// Reads and checks one moz.build against the declared components.
pub fn compile(
    dir: &str,
    source: Arc<SourceFile>,
    components: &Components,
) -> (MozbuildFile, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut file = MozbuildFile {
        dir: dir.to_owned(),
        source: Arc::clone(&source),
        blocks: Vec::new(),
        unreadable: None,
        conditional: Vec::new(),
        hidden: Vec::new(),
    };
    let outline = lexer::tokenize(&source.text)
        .map_err(|e| (e.offset, e.message))
        .and_then(|tokens| parser::parse(&source.text, &tokens).map_err(|e| (e.offset, e.message)));
    let outline = match outline {
        Ok(outline) => outline,
        Err((offset, message)) => {
            let line = source.line(offset.min(source.text.len()));
            file.unreadable = Some(format!("{}:{line}: {message}", source.name));
            diags.push(
                ConfigDiagnostic::warning(
                    &source,
                    Some(offset..offset),
                    format!("cannot read `{}`: {message}", source.name),
                    "here",
                )
                .with_help("sift reads moz.build files without running them; paths below this directory keep every exclusive component"),
            );
            return (file, diags);
        }
    };
    file.conditional = outline
        .conditional
        .iter()
        .map(|s| source.line(s.start))
        .collect();
    file.hidden = outline
        .hidden
        .iter()
        .map(|s| source.line(s.start))
        .collect();
    for block in outline.blocks {
        let line = source.line(block.span.start);
        if block.patterns.is_none() && block.touches_schedules {
            diags.push(
                ConfigDiagnostic::warning(
                    &source,
                    Some(block.span.clone()),
                    "`Files()` arguments that are not string literals",
                    "here",
                )
                .with_help("every path below this directory keeps every exclusive component"),
            );
        }
        let patterns = block
            .patterns
            .map(|list| list.iter().map(|p| MozPattern::new(p)).collect());
        let schedules = if let Some((span, why)) = &block.unknown {
            diags.push(
                ConfigDiagnostic::warning(
                    &source,
                    Some(span.clone()),
                    format!("cannot read SCHEDULES: {why}"),
                    "here",
                )
                .with_help("paths this block matches keep every exclusive component"),
            );
            BlockSchedules::Unknown(format!(
                "{}:{}: {why}",
                source.name,
                source.line(span.start)
            ))
        } else if block.touches_schedules {
            match block_value(&block.statements, &source, components, &mut diags) {
                Some(value) => BlockSchedules::Set {
                    value,
                    final_first: block.final_first,
                },
                None => BlockSchedules::Untouched,
            }
        } else {
            BlockSchedules::Untouched
        };
        file.blocks.push(FilesBlock {
            line,
            patterns,
            schedules,
        });
    }
    (file, diags)
}

/// The SCHEDULES value of a block's statements, checked as mozbuild checks
/// it; `None` after an error.
fn block_value(
    statements: &[parser::SchedulesStatement],
    source: &Arc<SourceFile>,
    components: &Components,
    diags: &mut Diagnostics,
) -> Option<MozSchedules> {
    let mut value = MozSchedules::default();
    let before = diags.errors().count();
    for statement in statements {
        let span = Some(statement.span.clone());
        match (statement.exclusive, statement.augmented) {
            (false, false) => diags.push(
                ConfigDiagnostic::error(
                    source,
                    span,
                    "cannot assign to `SCHEDULES.inclusive`",
                    "mozbuild: \"Cannot assign to this value - use += instead\"",
                )
                .with_help("write `SCHEDULES.inclusive += [...]`"),
            ),
            (true, true) => diags.push(
                ConfigDiagnostic::error(
                    source,
                    span,
                    "`+=` on `SCHEDULES.exclusive`",
                    "mozbuild: \"cannot use += on this type\"",
                )
                .with_help("assign the whole list: `SCHEDULES.exclusive = [...]`"),
            ),
            (exclusive, _) => {
                let Value::List(items) = &statement.value else {
                    diags.push(
                        ConfigDiagnostic::error(
                            source,
                            span,
                            "expected a list or tuple of component names",
                            "a single string",
                        )
                        .with_help(
                            "write `['name']` or `('name',)`: `('name')` is a string in Python",
                        ),
                    );
                    continue;
                };
                let mut ids = Vec::with_capacity(items.len());
                for (name, name_span) in items {
                    match components.get(name) {
                        Some(id)
                            if !exclusive && components.kind(id) != ComponentKind::Inclusive =>
                        {
                            diags.push(
                                ConfigDiagnostic::error(source, Some(name_span.clone()), format!("`{name}` is not an inclusive component"), "in SCHEDULES.inclusive")
                                    .with_help(format!("to make these files affect only `{name}`, write `SCHEDULES.exclusive = ['{name}']`")),
                            );
                        }
                        Some(id) => ids.push(id),
                        None => {
                            let help = match components.suggest(name) {
                                Some(close) => format!("did you mean `{close}`?"),
                                None => "declare it in sift.toml's [components], or use `components = \"gecko\"` for mozilla-central's lists".to_owned(),
                            };
                            diags.push(
                                ConfigDiagnostic::error(
                                    source,
                                    Some(name_span.clone()),
                                    format!("unknown component `{name}`"),
                                    "not a declared component",
                                )
                                .with_help(help),
                            );
                        }
                    }
                }
                if exclusive {
                    ids.sort();
                    value.exclusive = Some(ids);
                } else {
                    value.inclusive.extend(ids);
                }
            }
        }
    }
    (diags.errors().count() == before).then_some(value)
}

#[cfg(test)]
mod tests;

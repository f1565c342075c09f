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

/// One read moz.build, with the files it includes.
#[derive(Debug)]
pub struct MozbuildFile {
    /// Its directory, repository-relative (`""` for the root).
    pub dir: String,
    pub source: Arc<SourceFile>,
    /// The recorded `Files` blocks, in order of entry (the moz.build's own
    /// and its included files').
    pub blocks: Vec<FilesBlock>,
    /// `file:LINE: why`, when the file (or one it includes) could not be
    /// read at all.
    pub unreadable: Option<String>,
    /// `with Files` blocks under conditions or in functions (not read).
    pub conditional: Vec<Place>,
    /// `include()` under conditions or in functions (not read).
    pub conditional_includes: Vec<Place>,
    /// Blocks mozbuild itself drops (an earlier empty block, §3.5).
    pub hidden: Vec<Place>,
}

/// A line of a moz.build or of a file it includes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One `with Files(...)` block.
#[derive(Debug)]
pub struct FilesBlock {
    /// The file it is written in: the moz.build or a file it includes.
    pub source: Arc<SourceFile>,
    /// That file's directory: patterns are relative to it (reference §3.2).
    pub dir: String,
    pub line: usize,
    /// `None` when the arguments are not string literals.
    pub patterns: Option<Vec<MozPattern>>,
    pub schedules: BlockSchedules,
}

impl FilesBlock {
    /// `file:LINE`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.source.name, self.line)
    }
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

/// Reads and checks one moz.build against the declared components, with
/// no way to read the files it includes (an `include()` is then a file
/// that cannot be found).
pub fn compile(
    dir: &str,
    source: Arc<SourceFile>,
    components: &Components,
) -> (MozbuildFile, Diagnostics) {
    compile_with(dir, source, components, &|_| None)
}

/// Nested `include()`s deeper than this are an error (mozbuild recurses
/// until Python's stack runs out).
const MAX_INCLUDE_DEPTH: usize = 32;
/// More `include()`s than this in one moz.build (counting those of the
/// files it includes) make it unreadable: a file that includes another
/// twice, which does the same, and so on, would otherwise be read an
/// exponential number of times.
const MAX_INCLUDES: usize = 1_000;

/// A block and the file it was read from, before compiling.
struct Entered {
    source: Arc<SourceFile>,
    dir: String,
    block: parser::RawBlock,
}

/// A moz.build or an included file, tokenized and parsed once: a file
/// that many moz.build files include (`/ipc/chromium/chromium-config.mozbuild`
/// in hundreds of them) is parsed once per tree, not once per includer.
#[derive(Debug)]
pub struct Parsed {
    pub source: Arc<SourceFile>,
    /// The outline, or where and why the text cannot be read.
    outline: Result<parser::Outline, (usize, String)>,
}

impl Parsed {
    pub fn new(source: Arc<SourceFile>) -> Arc<Parsed> {
        let outline = lexer::tokenize(&source.text)
            .map_err(|e| (e.offset, e.message))
            .and_then(|tokens| {
                parser::parse(&source.text, &tokens).map_err(|e| (e.offset, e.message))
            });
        Arc::new(Parsed { source, outline })
    }
}

/// Why a moz.build cannot be read: at `offset` of `source`.
struct Unreadable {
    source: Arc<SourceFile>,
    offset: usize,
    message: String,
}

/// Reads and checks one moz.build against the declared components.
/// `include('path')` is followed as mozbuild follows it: `path` relative
/// to the including file's directory, or to the top of the tree when it
/// starts with `/`, read with `read` (a repository-relative name → the
/// file parsed, `None` if there is none); its blocks are entered where the
/// call stands, with their patterns relative to their own file's directory.
pub fn compile_with(
    dir: &str,
    source: Arc<SourceFile>,
    components: &Components,
    read: &dyn Fn(&str) -> Option<Arc<Parsed>>,
) -> (MozbuildFile, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut file = MozbuildFile {
        dir: dir.to_owned(),
        source: Arc::clone(&source),
        blocks: Vec::new(),
        unreadable: None,
        conditional: Vec::new(),
        conditional_includes: Vec::new(),
        hidden: Vec::new(),
    };
    let mut entered = Vec::new();
    let mut stack = Vec::new();
    let mut includes = 0;
    if let Err(e) = enter(
        &Parsed::new(Arc::clone(&source)),
        dir,
        read,
        &mut stack,
        &mut includes,
        &mut entered,
        &mut file,
    ) {
        let offset = e.offset.min(e.source.text.len());
        file.unreadable = Some(format!(
            "{}:{}: {}",
            e.source.name,
            e.source.line(offset),
            e.message
        ));
        let what = if Arc::ptr_eq(&e.source, &source) {
            format!("cannot read `{}`: {}", source.name, e.message)
        } else {
            format!(
                "cannot read `{}` (included by `{}`): {}",
                e.source.name, source.name, e.message
            )
        };
        diags.push(
            ConfigDiagnostic::warning(&e.source, Some(offset..offset), what, "here")
                .with_help("sift reads moz.build files without running them; paths below this directory keep every exclusive component"),
        );
        file.blocks.clear();
        file.conditional.clear();
        file.conditional_includes.clear();
        return (file, diags);
    }
    let keep = parser::recorded(entered.iter().map(|e| e.block.nonempty));
    for (Entered { source, dir, block }, keep) in entered.into_iter().zip(keep) {
        let line = source.line(block.span.start);
        if !keep {
            file.hidden.push(Place {
                file: source.name.clone(),
                line,
            });
            continue;
        }
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
            source,
            dir,
            line,
            patterns,
            schedules,
        });
    }
    (file, diags)
}

/// Enters `parsed` (in directory `dir`) and, depth first, the files it
/// includes, appending their blocks in order of entry.
fn enter(
    parsed: &Parsed,
    dir: &str,
    read: &dyn Fn(&str) -> Option<Arc<Parsed>>,
    stack: &mut Vec<String>,
    includes: &mut usize,
    entered: &mut Vec<Entered>,
    file: &mut MozbuildFile,
) -> Result<(), Unreadable> {
    let source = &parsed.source;
    let unreadable = |offset: usize, message: String| Unreadable {
        source: Arc::clone(source),
        offset,
        message,
    };
    let outline = match &parsed.outline {
        Ok(outline) => outline,
        Err((offset, message)) => return Err(unreadable(*offset, message.clone())),
    };
    let place = |span: &std::ops::Range<usize>| Place {
        file: source.name.clone(),
        line: source.line(span.start),
    };
    file.conditional
        .extend(outline.conditional.iter().map(place));
    file.conditional_includes
        .extend(outline.conditional_includes.iter().map(place));
    stack.push(source.name.clone());
    for item in &outline.items {
        match item {
            parser::Item::Block(block) => entered.push(Entered {
                source: Arc::clone(source),
                dir: dir.to_owned(),
                block: block.clone(),
            }),
            parser::Item::Include { span, path } => {
                let Some(path) = path.as_deref() else {
                    return Err(unreadable(
                        span.start,
                        "`include()` of a path that is not one string literal".to_owned(),
                    ));
                };
                let Some(name) = include_target(dir, path) else {
                    return Err(unreadable(
                        span.start,
                        format!("`include('{path}')` leaves the tree"),
                    ));
                };
                if stack.contains(&name) {
                    return Err(unreadable(
                        span.start,
                        format!("`include('{path}')` includes itself"),
                    ));
                }
                *includes += 1;
                if *includes > MAX_INCLUDES {
                    return Err(unreadable(
                        span.start,
                        format!("more than {MAX_INCLUDES} `include()` calls"),
                    ));
                }
                if stack.len() > MAX_INCLUDE_DEPTH {
                    return Err(unreadable(
                        span.start,
                        format!(
                            "`include('{path}')` nests includes deeper than {MAX_INCLUDE_DEPTH}"
                        ),
                    ));
                }
                let Some(included) = read(&name) else {
                    return Err(unreadable(
                        span.start,
                        format!("`include('{path}')`: `{name}` not found"),
                    ));
                };
                let included_dir = name.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
                enter(
                    &included,
                    &included_dir,
                    read,
                    stack,
                    includes,
                    entered,
                    file,
                )?;
            }
        }
    }
    stack.pop();
    Ok(())
}

/// The repository-relative name `include(path)` reads from a file in
/// `dir`; `None` if `..` leaves the tree.
fn include_target(dir: &str, path: &str) -> Option<String> {
    let (base, rest) = match path.strip_prefix('/') {
        Some(rest) => ("", rest),
        None => (dir, path),
    };
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
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

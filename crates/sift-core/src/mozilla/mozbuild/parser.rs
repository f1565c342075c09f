//! The moz.build subset sift reads, from tokens: top-level `with Files(...):`
//! blocks and, inside them, `SCHEDULES.inclusive += [...]` and
//! `SCHEDULES.exclusive = [...]` (lists or tuples of string literals), and
//! top-level `include(...)` calls, in source order. Every other statement is skipped by its extent (logical
//! line, or header and indented suite). `Files` blocks under `if`, `for`,
//! `def` and other compound statements are not read, only listed.
//!
//! Nothing is executed; what cannot be read is reported with its location
//! and makes the answer conservative, never silently wrong.

use std::ops::Range;

use super::lexer::{Kind, Token};

/// A `SCHEDULES.inclusive`/`exclusive` statement's right-hand side.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A list or tuple of strings, each with its span.
    List(Vec<(String, Range<usize>)>),
    /// A single string (e.g. `('windows')`, which is not a tuple).
    Str(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SchedulesStatement {
    /// `inclusive` or `exclusive`.
    pub exclusive: bool,
    /// `+=` rather than `=`.
    pub augmented: bool,
    pub value: Value,
    pub span: Range<usize>,
}

/// One top-level `with Files(...)` block.
#[derive(Clone, Debug, Default)]
pub struct RawBlock {
    /// The `with` keyword.
    pub span: Range<usize>,
    /// `None` when the arguments are not string literals.
    pub patterns: Option<Vec<String>>,
    pub statements: Vec<SchedulesStatement>,
    /// Whether the block touches SCHEDULES, and whether `FINAL` was touched
    /// before it (mozbuild then freezes SCHEDULES; reference §3.5).
    pub touches_schedules: bool,
    pub final_first: bool,
    /// A SCHEDULES statement sift cannot read.
    pub unknown: Option<(Range<usize>, String)>,
    /// Whether any variable of the block was touched (see [`Outline`]).
    pub nonempty: bool,
}

/// A top-level statement sift reads.
#[derive(Clone, Debug)]
pub enum Item {
    Block(RawBlock),
    /// `include(path)`: `path` is `None` when it is not one string literal.
    Include {
        span: Range<usize>,
        path: Option<String>,
    },
}

/// What a moz.build holds for sift.
#[derive(Clone, Debug, Default)]
pub struct Outline {
    /// Top-level `with Files` blocks and `include()` calls, in source
    /// order. Which blocks mozbuild records is decided over the included
    /// files too ([`recorded`]).
    pub items: Vec<Item>,
    /// `with Files` under a condition or in a function: not read.
    pub conditional: Vec<Range<usize>>,
    /// `include()` under a condition or in a function: not read.
    pub conditional_includes: Vec<Range<usize>>,
}

/// mozbuild's recording rule (reference §3.5): a block entered while an
/// earlier recorded block is still empty compares equal to it and is not
/// recorded. Given whether each block in order of entry is non-empty,
/// whether each is recorded.
pub fn recorded(nonempty: impl IntoIterator<Item = bool>) -> Vec<bool> {
    let mut recorded_empty = false;
    nonempty
        .into_iter()
        .map(|nonempty| {
            let recorded = !recorded_empty;
            recorded_empty |= recorded && !nonempty;
            recorded
        })
        .collect()
}

#[derive(Debug)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

const COMPOUND: &[&str] = &[
    "if", "elif", "else", "for", "while", "def", "class", "try", "except", "finally", "async",
];

struct Parser<'a> {
    source: &'a str,
    tokens: &'a [Token],
    pos: usize,
}

pub fn parse(source: &str, tokens: &[Token]) -> Result<Outline, ParseError> {
    let mut parser = Parser {
        source,
        tokens,
        pos: 0,
    };
    let mut outline = Outline::default();
    parser.suite(false, &mut outline)?;
    Ok(outline)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &'a Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn at_end(&self) -> bool {
        self.peek().kind == Kind::End
    }

    fn text(&self, token: &Token) -> &'a str {
        &self.source[token.span.clone()]
    }

    fn error<T>(&self, message: &str) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.peek().span.start,
            message: message.to_owned(),
        })
    }

    /// Statements until the end of the current indented block (or file).
    fn suite(&mut self, conditional: bool, out: &mut Outline) -> Result<(), ParseError> {
        loop {
            let token = self.peek();
            match token.kind {
                Kind::End | Kind::Dedent => return Ok(()),
                Kind::Newline => self.pos += 1,
                Kind::Indent => return self.error("unexpected indent"),
                _ => self.statement(conditional, out)?,
            }
        }
    }

    fn statement(&mut self, conditional: bool, out: &mut Outline) -> Result<(), ParseError> {
        let token = self.peek();
        if token.is_name("with", self.source) {
            let start = self.pos;
            if let Some(patterns) = self.files_header()? {
                let span = self.tokens[start].span.clone();
                if conditional {
                    out.conditional.push(span);
                    return self.body(true, out);
                }
                let mut block = RawBlock {
                    span,
                    patterns,
                    ..RawBlock::default()
                };
                self.files_body(&mut block)?;
                out.items.push(Item::Block(block));
                return Ok(());
            }
            self.pos = start;
        }
        if token.is_name("include", self.source)
            && self
                .tokens
                .get(self.pos + 1)
                .is_some_and(|t| t.is_op("(", self.source))
        {
            let span = token.span.clone();
            let path = match &self.tokens[self.pos + 2..] {
                [
                    Token {
                        kind: Kind::Str { value, plain: true },
                        ..
                    },
                    close,
                    end,
                    ..,
                ] if close.is_op(")", self.source)
                    && matches!(end.kind, Kind::Newline | Kind::End) =>
                {
                    Some(value.clone())
                }
                _ => None,
            };
            if conditional {
                out.conditional_includes.push(span);
            } else {
                out.items.push(Item::Include { span, path });
            }
            return self.skip_line();
        }
        if self.is_compound() {
            self.header()?;
            return self.body(true, out);
        }
        self.skip_line()
    }

    /// Whether the statement here is compound (header, `:`, suite).
    fn is_compound(&self) -> bool {
        let token = self.peek();
        if token.kind != Kind::Name {
            return false;
        }
        let word = self.text(token);
        if COMPOUND.contains(&word) || word == "with" {
            return true;
        }
        // `match`/`case` are soft keywords: compound only when the line
        // ends with `:`.
        if word == "match" || word == "case" {
            let mut i = self.pos;
            while i < self.tokens.len() && self.tokens[i].kind != Kind::Newline {
                i += 1;
            }
            return i > self.pos && self.tokens[i - 1].is_op(":", self.source);
        }
        false
    }

    /// Consumes `with Files(<strings>):` if that is what follows. Returns
    /// `Some(None)` for a Files header whose arguments are not readable.
    fn files_header(&mut self) -> Result<Option<Option<Vec<String>>>, ParseError> {
        let with = self.pos;
        if !self
            .tokens
            .get(with + 1)
            .is_some_and(|t| t.is_name("Files", self.source))
            || !self
                .tokens
                .get(with + 2)
                .is_some_and(|t| t.is_op("(", self.source))
        {
            return Ok(None);
        }
        self.pos = with + 3;
        let mut patterns = Some(Vec::new());
        let mut current: Option<String> = None;
        let mut depth = 0usize;
        loop {
            let token = self.peek();
            match &token.kind {
                Kind::End | Kind::Newline => return self.error("unexpected end of `with Files(`"),
                Kind::Str { value, plain } if depth == 0 && *plain => {
                    current.get_or_insert_with(String::new).push_str(value);
                }
                Kind::Op if self.text(token) == ")" && depth == 0 => {
                    self.pos += 1;
                    break;
                }
                Kind::Op if self.text(token) == "," && depth == 0 => match current.take() {
                    Some(p) => {
                        if let Some(list) = patterns.as_mut() {
                            list.push(p);
                        }
                    }
                    None => patterns = None,
                },
                Kind::Op if matches!(self.text(token), "(" | "[" | "{") => {
                    depth += 1;
                    patterns = None;
                }
                Kind::Op if matches!(self.text(token), ")" | "]" | "}") => {
                    depth = depth.saturating_sub(1);
                    patterns = None;
                }
                _ => patterns = None,
            }
            self.pos += 1;
        }
        if let Some(p) = current.take()
            && let Some(list) = patterns.as_mut()
        {
            list.push(p);
        }
        if !self.peek().is_op(":", self.source) {
            // `with Files(...) as x:` or several items: read the rest of the
            // header, and the block's patterns are not known.
            patterns = None;
        }
        self.header()?;
        Ok(Some(patterns))
    }

    /// Skips a compound statement's header through its `:`.
    fn header(&mut self) -> Result<(), ParseError> {
        let mut depth = 0usize;
        loop {
            let token = self.peek();
            match token.kind {
                Kind::End | Kind::Newline => return self.error("expected `:`"),
                Kind::Op => {
                    let text = self.text(token);
                    match text {
                        "(" | "[" | "{" => depth += 1,
                        ")" | "]" | "}" => depth = depth.saturating_sub(1),
                        ":" if depth == 0 => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// A compound statement's suite: an indented block or the rest of the line.
    fn body(&mut self, conditional: bool, out: &mut Outline) -> Result<(), ParseError> {
        if self.peek().kind != Kind::Newline {
            return self.skip_line();
        }
        self.pos += 1;
        if self.peek().kind != Kind::Indent {
            return self.error("expected an indented block");
        }
        self.pos += 1;
        self.suite(conditional, out)?;
        if self.peek().kind == Kind::Dedent {
            self.pos += 1;
        }
        Ok(())
    }

    fn skip_line(&mut self) -> Result<(), ParseError> {
        while !matches!(self.peek().kind, Kind::Newline | Kind::End) {
            if matches!(self.peek().kind, Kind::Indent | Kind::Dedent) {
                return self.error("unexpected indentation");
            }
            self.pos += 1;
        }
        if !self.at_end() {
            self.pos += 1;
        }
        Ok(())
    }

    /// The statements of a top-level Files block.
    fn files_body(&mut self, block: &mut RawBlock) -> Result<(), ParseError> {
        if self.peek().kind != Kind::Newline {
            return self.files_simple_line(block);
        }
        self.pos += 1;
        if self.peek().kind != Kind::Indent {
            return self.error("expected an indented block");
        }
        self.pos += 1;
        loop {
            match self.peek().kind {
                Kind::End => return Ok(()),
                Kind::Dedent => {
                    self.pos += 1;
                    return Ok(());
                }
                Kind::Newline => self.pos += 1,
                Kind::Indent => return self.error("unexpected indent"),
                _ if self.is_compound() => {
                    // A condition or loop inside the block: its SCHEDULES
                    // statements, if any, cannot be known.
                    let start = self.pos;
                    self.header()?;
                    self.body(true, &mut Outline::default())?;
                    block.nonempty = true;
                    let mentions = self.tokens[start..self.pos]
                        .iter()
                        .find(|t| t.is_name("SCHEDULES", self.source));
                    if let Some(token) = mentions {
                        touch_schedules(block);
                        block.unknown.get_or_insert((
                            token.span.clone(),
                            "SCHEDULES is set inside a condition or loop".to_owned(),
                        ));
                    }
                }
                _ => self.files_simple_line(block)?,
            }
        }
    }

    /// Simple statements up to the end of the line, separated by `;`.
    fn files_simple_line(&mut self, block: &mut RawBlock) -> Result<(), ParseError> {
        loop {
            let start = self.pos;
            while !matches!(self.peek().kind, Kind::Newline | Kind::End)
                && !self.peek().is_op(";", self.source)
            {
                if matches!(self.peek().kind, Kind::Indent | Kind::Dedent) {
                    return self.error("unexpected indentation");
                }
                self.pos += 1;
            }
            let statement = &self.tokens[start..self.pos];
            self.files_statement(statement, block);
            if self.peek().is_op(";", self.source) {
                self.pos += 1;
                if !matches!(self.peek().kind, Kind::Newline | Kind::End) {
                    continue;
                }
            }
            if self.peek().kind == Kind::Newline {
                self.pos += 1;
            }
            return Ok(());
        }
    }

    fn files_statement(&self, tokens: &[Token], block: &mut RawBlock) {
        let Some(first) = tokens.first() else { return };
        if first.kind != Kind::Name {
            return; // a docstring or other expression
        }
        let word = self.text(first);
        match word {
            "pass" => {}
            "FINAL" => {
                if !block.touches_schedules {
                    block.final_first = true;
                }
                block.nonempty = true;
            }
            "SCHEDULES" => {
                touch_schedules(block);
                block.nonempty = true;
                let span = first.span.start..tokens.last().map_or(first.span.end, |t| t.span.end);
                match self.schedules_statement(tokens, span.clone()) {
                    Some(statement) => block.statements.push(statement),
                    None => {
                        block.unknown.get_or_insert((
                            span,
                            "sift reads only `SCHEDULES.inclusive += [...]` and `SCHEDULES.exclusive = [...]` with string literals".to_owned(),
                        ));
                    }
                }
            }
            // An included file could set SCHEDULES for this block.
            "include" if tokens.get(1).is_some_and(|t| t.is_op("(", self.source)) => {
                touch_schedules(block);
                block.nonempty = true;
                let span = first.span.start..tokens.last().map_or(first.span.end, |t| t.span.end);
                block
                    .unknown
                    .get_or_insert((span, "`include()` inside a `Files` block".to_owned()));
            }
            _ => block.nonempty = true,
        }
    }

    fn schedules_statement(
        &self,
        tokens: &[Token],
        span: Range<usize>,
    ) -> Option<SchedulesStatement> {
        if tokens.len() < 5 || !tokens[1].is_op(".", self.source) {
            return None;
        }
        let exclusive = match self.text(&tokens[2]) {
            "inclusive" if tokens[2].kind == Kind::Name => false,
            "exclusive" if tokens[2].kind == Kind::Name => true,
            _ => return None,
        };
        let augmented = match self.text(&tokens[3]) {
            "+=" => true,
            "=" => false,
            _ => return None,
        };
        let value = self.value(&tokens[4..])?;
        Some(SchedulesStatement {
            exclusive,
            augmented,
            value,
            span,
        })
    }

    /// `[...]`, `(...)` or a string: string literals only.
    fn value(&self, tokens: &[Token]) -> Option<Value> {
        let (first, last) = (tokens.first()?, tokens.last()?);
        let bracketed = (first.is_op("[", self.source) && last.is_op("]", self.source))
            || (first.is_op("(", self.source) && last.is_op(")", self.source));
        if !bracketed {
            return self.strings(tokens).map(|(s, _)| Value::Str(s));
        }
        let inner = &tokens[1..tokens.len() - 1];
        let list = first.is_op("[", self.source);
        let mut items = Vec::new();
        let mut commas = 0;
        for part in inner.split(|t| t.is_op(",", self.source)) {
            commas += 1;
            if part.is_empty() {
                continue;
            }
            items.push(self.strings(part)?);
        }
        commas -= 1;
        // Empty elements are allowed only as a trailing comma or `[]`/`()`.
        let parts = inner.split(|t| t.is_op(",", self.source)).count();
        let empty_parts = inner
            .split(|t| t.is_op(",", self.source))
            .filter(|p| p.is_empty())
            .count();
        let allowed_empty = usize::from(
            inner.is_empty() || inner.last().is_some_and(|t| t.is_op(",", self.source)),
        );
        if empty_parts > allowed_empty || parts == 0 {
            return None;
        }
        if !list && commas == 0 && items.len() == 1 {
            return Some(Value::Str(items.pop().expect("one").0));
        }
        Some(Value::List(items))
    }

    /// Adjacent plain string literals, concatenated.
    fn strings(&self, tokens: &[Token]) -> Option<(String, Range<usize>)> {
        let mut out = String::new();
        for token in tokens {
            match &token.kind {
                Kind::Str { value, plain: true } => out.push_str(value),
                _ => return None,
            }
        }
        let span = tokens.first()?.span.start..tokens.last()?.span.end;
        Some((out, span))
    }
}

fn touch_schedules(block: &mut RawBlock) {
    block.touches_schedules = true;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mozilla::mozbuild::lexer::tokenize;

    /// The blocks mozbuild records and the ones it drops, of a file
    /// without includes.
    struct Read {
        blocks: Vec<RawBlock>,
        hidden: Vec<RawBlock>,
        conditional: Vec<Range<usize>>,
    }

    fn outline(source: &str) -> Read {
        let o = parse(source, &tokenize(source).unwrap()).unwrap();
        let blocks: Vec<RawBlock> = o
            .items
            .into_iter()
            .map(|item| match item {
                Item::Block(block) => block,
                Item::Include { .. } => panic!("no includes here"),
            })
            .collect();
        let keep = recorded(blocks.iter().map(|b| b.nonempty));
        let (blocks, hidden) = blocks.into_iter().zip(keep).partition(|(_, keep)| *keep);
        let strip = |v: Vec<(RawBlock, bool)>| v.into_iter().map(|(b, _)| b).collect();
        Read {
            blocks: strip(blocks),
            hidden: strip(hidden),
            conditional: o.conditional,
        }
    }

    #[test]
    fn includes_are_read_in_order_and_computed_ones_marked() {
        let source = "include('sources.mozbuild')\nwith Files('a'):\n    SCHEDULES.exclusive = ['linux']\ninclude(\"/build/x.mozbuild\")\ninclude(CONFIG['X'])\ninclude('a'); y = 1\nif X:\n    include('w.mozbuild')\ninclude = 3\n";
        let o = parse(source, &tokenize(source).unwrap()).unwrap();
        let kinds: Vec<String> = o
            .items
            .iter()
            .map(|item| match item {
                Item::Block(b) => format!("block {:?}", b.patterns),
                Item::Include { path, .. } => format!("include {path:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "include Some(\"sources.mozbuild\")",
                "block Some([\"a\"])",
                "include Some(\"/build/x.mozbuild\")",
                "include None",
                "include None",
            ]
        );
        assert_eq!(o.conditional_includes.len(), 1);
    }

    #[test]
    fn include_inside_a_files_block_is_unknown() {
        let o = outline("with Files('*'):\n    include('sched.mozbuild')\n");
        assert!(o.blocks[0].touches_schedules);
        assert_eq!(
            o.blocks[0].unknown.as_ref().map(|(_, why)| why.as_str()),
            Some("`include()` inside a `Files` block")
        );
    }

    #[test]
    fn the_recording_rule() {
        assert_eq!(
            recorded([true, false, true, false]),
            [true, true, false, false]
        );
        assert_eq!(recorded([true, true]), [true, true]);
        assert_eq!(recorded([]), Vec::<bool>::new());
    }

    #[test]
    fn reads_blocks_in_order_and_skips_the_rest() {
        let o = outline(
            "DIRS += ['a']\n\
             if CONFIG['OS'] == 'WINNT':\n    with Files('w'):\n        SCHEDULES.exclusive = ['windows']\n\
             with Files('**/*.py', 'x' 'y'):\n    BUG_COMPONENT = ('a', 'b')\n    SCHEDULES.inclusive += ['py-lint',]\n\
             def f():\n    pass\n\
             with Files('z'): SCHEDULES.exclusive = ('linux', 'macosx'); FINAL = True\n",
        );
        assert_eq!(o.conditional.len(), 1);
        assert_eq!(o.blocks.len(), 2);
        assert_eq!(
            o.blocks[0].patterns,
            Some(vec!["**/*.py".to_owned(), "xy".to_owned()])
        );
        assert_eq!(o.blocks[0].statements.len(), 1);
        assert!(!o.blocks[0].statements[0].exclusive);
        assert!(o.blocks[1].statements[0].exclusive);
        assert!(!o.blocks[1].final_first);
        match &o.blocks[1].statements[0].value {
            Value::List(items) => assert_eq!(items.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn single_parenthesized_string_is_not_a_tuple() {
        let o = outline("with Files('a'):\n    SCHEDULES.exclusive = ('windows')\n");
        assert_eq!(
            o.blocks[0].statements[0].value,
            Value::Str("windows".into())
        );
        let o = outline("with Files('a'):\n    SCHEDULES.exclusive = ('windows',)\n");
        assert!(matches!(o.blocks[0].statements[0].value, Value::List(_)));
    }

    #[test]
    fn unreadable_values_and_patterns_are_marked() {
        let o = outline("with Files(PATTERN):\n    SCHEDULES.exclusive = LIST\n");
        assert_eq!(o.blocks[0].patterns, None);
        assert!(o.blocks[0].unknown.is_some());
        let o = outline("with Files('a'):\n    if X:\n        SCHEDULES.exclusive = ['linux']\n");
        assert!(o.blocks[0].unknown.is_some());
    }

    #[test]
    fn empty_block_hides_later_blocks_and_final_order_is_kept() {
        let o = outline(
            "with Files('a'):\n    pass\nwith Files('b'):\n    SCHEDULES.exclusive = ['linux']\n",
        );
        assert_eq!(o.blocks.len(), 1);
        assert_eq!(o.hidden.len(), 1);
        let o =
            outline("with Files('a'):\n    FINAL = True\n    SCHEDULES.exclusive = ['linux']\n");
        assert!(o.blocks[0].final_first);
    }
}

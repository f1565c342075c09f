//! Path patterns: the glob dialect of rule files and `changed` strategies.
//!
//! Syntax, matched against `/`-separated paths relative to the rule file's
//! directory, case-sensitively:
//!
//! | pattern        | matches                                                     |
//! |----------------|-------------------------------------------------------------|
//! | `*`            | any run of characters within one path segment (maybe none)  |
//! | `?`            | one character other than `/`                                |
//! | `[abc]`, `[a-z]`, `[!a-z]` | one character in (or, with `!`/`^`, not in) the set |
//! | `{a,b}`        | either alternative; alternatives may hold `/` and nest      |
//! | `**`           | as a whole segment: zero or more segments                   |
//! | `\*`           | a literal `*` (any character can be escaped)                |
//!
//! A pattern that matches a directory also matches everything below it: `docs`
//! matches `docs/index.md`, and `src/*` matches `src/a/b.rs`. This is the
//! conservative choice (Mozilla's `mozpath.match` does the same): a rule meant
//! for a directory can never under-schedule the files inside it.
//!
//! We compile patterns to a small segment program instead of regular
//! expressions: compiling is free, which matters because a plan reads only the
//! rule files on the changed paths' ancestors and must not pay for the rest.

use std::fmt;
use std::sync::OnceLock;

mod index;

pub use index::{IndexScratch, ListDecision, PatternIndex};

/// Why a pattern is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternError {
    #[error("the pattern is empty")]
    Empty,
    #[error("unclosed character class; missing `]`")]
    UnclosedClass,
    #[error("empty character class `[]`")]
    EmptyClass,
    #[error("unclosed alternative; missing `}}`")]
    UnclosedBrace,
    #[error("unmatched `}}`")]
    UnmatchedBrace,
    #[error("dangling `\\` at the end of the pattern")]
    DanglingEscape,
    #[error("`**` must be a whole path segment (write `**/*.py`, not `**.py`)")]
    StarStarInSegment,
    #[error("the pattern must be relative (no leading `/`)")]
    Absolute,
    #[error("`..` and `.` segments are not allowed in patterns")]
    DotSegment,
    #[error("too many `{{...}}` alternatives (more than {0})")]
    TooManyAlternatives(usize),
}

const MAX_ALTERNATIVES: usize = 256;

/// A compiled pattern.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    /// The compiled alternatives of a pattern with `{`, `[` or `\`; empty for
    /// a simple pattern, which is matched from its text (see
    /// [`is_simple`]): configurations hold tens of thousands of patterns, and
    /// most plans try few of them.
    alternatives: Vec<Box<[Segment]>>,
    /// A simple pattern's segments, compiled the first time it is matched:
    /// patterns that are matched often (rule files, against every changed
    /// path) are split once, patterns that never are cost nothing.
    compiled: OnceLock<Box<[Segment]>>,
}

/// One alternative of a pattern: its text (a simple pattern) or its
/// compiled segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Alternative<'a> {
    Text(&'a str),
    Segments(&'a [Segment]),
}

/// The compiled segments of a simple pattern's text.
pub(crate) fn compile_text(text: &str) -> Box<[Segment]> {
    with_text_segments(text, |segments| {
        segments
            .iter()
            .map(|segment| match segment.kind {
                TextKind::AnyDepth => Segment::AnyDepth,
                TextKind::Literal => Segment::Literal(segment.text.into()),
                TextKind::Wild => Segment::Wild(
                    segment
                        .text
                        .chars()
                        .map(|c| match c {
                            '*' => Token::Star,
                            '?' => Token::AnyChar,
                            c => Token::Char(c),
                        })
                        .collect(),
                ),
            })
            .collect()
    })
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// `**`: zero or more whole segments.
    AnyDepth,
    /// A segment without wildcards: compared as bytes.
    Literal(Box<str>),
    /// A segment with `*`, `?` or classes.
    Wild(Box<[Token]>),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Token {
    Char(char),
    AnyChar,
    Star,
    Class {
        negated: bool,
        ranges: Box<[(char, char)]>,
    },
}

impl Pattern {
    /// Compiles a pattern.
    pub fn new(source: &str) -> Result<Pattern, PatternError> {
        Pattern::from_string(source.to_owned())
    }

    /// [`Pattern::new`] for a pattern already in a `String`, which it keeps.
    pub fn from_string(source: String) -> Result<Pattern, PatternError> {
        Pattern::compile(source).map_err(|(error, _)| error)
    }

    /// Compiles `source`, handing it back with the error.
    fn compile(source: String) -> Result<Pattern, (PatternError, String)> {
        if source.is_empty() {
            return Err((PatternError::Empty, source));
        }
        if source.starts_with('/') {
            return Err((PatternError::Absolute, source));
        }
        if is_simple(&source) {
            return Ok(Pattern {
                source,
                alternatives: Vec::new(),
                compiled: OnceLock::new(),
            });
        }
        let compiled = expand_braces(&source).and_then(|expanded| {
            expanded
                .iter()
                .map(|alternative| compile_alternative(alternative).map(Vec::into_boxed_slice))
                .collect::<Result<Vec<_>, _>>()
        });
        match compiled {
            Ok(alternatives) => Ok(Pattern {
                source,
                alternatives,
                compiled: OnceLock::new(),
            }),
            Err(error) => Err((error, source)),
        }
    }

    /// Its alternatives: the text of a simple pattern, else each compiled one.
    pub(crate) fn alternatives(&self) -> impl Iterator<Item = Alternative<'_>> {
        let text = self
            .alternatives
            .is_empty()
            .then_some(Alternative::Text(&self.source));
        text.into_iter().chain(
            self.alternatives
                .iter()
                .map(|segments| Alternative::Segments(segments)),
        )
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `path` (relative, `/`-separated) or one of its ancestor
    /// directories matches.
    pub fn matches(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.matches_segments(&segments)
    }

    /// As [`Pattern::matches`], for a path already split into segments; the hot
    /// loop of the planner splits each path once and tries many patterns.
    pub fn matches_segments(&self, path: &[&str]) -> bool {
        if path.is_empty() {
            return false;
        }
        if self.alternatives.is_empty() {
            let compiled = self.compiled.get_or_init(|| compile_text(&self.source));
            return match_prefix(compiled, path);
        }
        self.alternatives.iter().any(|alt| match_prefix(alt, path))
    }

    /// Whether `path` itself matches, not merely one of its ancestors: the
    /// glob semantics of package managers' workspace member lists, where
    /// `packages/*` names `packages/a` but not `packages/a/fixtures`.
    pub fn matches_exactly(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.is_empty() {
            return false;
        }
        if self.alternatives.is_empty() {
            // A simple pattern, compiled on first use.
            let compiled = self.compiled.get_or_init(|| compile_text(&self.source));
            return match_whole(compiled, &segments);
        }
        self.alternatives
            .iter()
            .any(|alt| match_whole(alt, &segments))
    }
}

/// As [`match_prefix`], but the whole path must be consumed (a trailing `**`
/// still matches zero or more segments).
fn match_whole(pattern: &[Segment], path: &[&str]) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        if p == pattern.len() && s == path.len() {
            return true;
        }
        if p < pattern.len() {
            if let Segment::AnyDepth = pattern[p] {
                backtrack = Some((p, s));
                p += 1;
                continue;
            }
            if s < path.len() && segment_matches(&pattern[p], path[s]) {
                p += 1;
                s += 1;
                continue;
            }
        }
        match backtrack {
            Some((bp, bs)) if bs < path.len() => {
                backtrack = Some((bp, bs + 1));
                p = bp + 1;
                s = bs + 1;
            }
            _ => return false,
        }
    }
}

/// Calls `f` with `path` split into its non-empty segments, in a stack buffer
/// for the usual depths: the planner splits every changed path, and a heap
/// allocation per path shows up in large plans.
pub fn with_segments<R>(path: &str, f: impl FnOnce(&[&str]) -> R) -> R {
    let mut buffer: [&str; 32] = [""; 32];
    let mut len = 0;
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        if len == buffer.len() {
            let all: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            return f(&all);
        }
        buffer[len] = segment;
        len += 1;
    }
    f(&buffer[..len])
}

/// A pattern segment, compiled ([`Segment`]) or read from a simple
/// pattern's text ([`TextSegment`]).
trait SegmentLike {
    /// `**`.
    fn any_depth(&self) -> bool;
    /// Whether it matches one path segment (never called for `**`).
    fn matches(&self, text: &str) -> bool;
}

impl SegmentLike for Segment {
    fn any_depth(&self) -> bool {
        matches!(self, Segment::AnyDepth)
    }
    fn matches(&self, text: &str) -> bool {
        segment_matches(self, text)
    }
}

/// A segment of a simple pattern: `**`, a literal, or text with `*` and `?`.
#[derive(Clone, Copy)]
pub(crate) struct TextSegment<'a> {
    text: &'a str,
    kind: TextKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    AnyDepth,
    Literal,
    Wild,
}

impl<'a> TextSegment<'a> {
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }
    pub(crate) fn kind(&self) -> TextKind {
        self.kind
    }
}

impl SegmentLike for TextSegment<'_> {
    fn any_depth(&self) -> bool {
        self.kind == TextKind::AnyDepth
    }
    fn matches(&self, text: &str) -> bool {
        match self.kind {
            TextKind::Literal => self.text == text,
            TextKind::Wild => wild_text_matches(self.text, text),
            TextKind::AnyDepth => true,
        }
    }
}

/// Calls `f` with the segments of a simple pattern, as its compiled form
/// would have them: empty segments skipped, runs of `**` as one.
pub(crate) fn with_text_segments<R>(pattern: &str, f: impl FnOnce(&[TextSegment<'_>]) -> R) -> R {
    let mut buffer = [TextSegment {
        text: "",
        kind: TextKind::Literal,
    }; 32];
    let mut len = 0usize;
    let mut overflow: Vec<TextSegment<'_>> = Vec::new();
    for text in pattern.split('/').filter(|s| !s.is_empty()) {
        let kind = if text == "**" {
            TextKind::AnyDepth
        } else if text.contains(['*', '?']) {
            TextKind::Wild
        } else {
            TextKind::Literal
        };
        let segment = TextSegment { text, kind };
        let last = if overflow.is_empty() {
            len.checked_sub(1).map(|i| buffer[i].kind)
        } else {
            overflow.last().map(|s| s.kind)
        };
        if kind == TextKind::AnyDepth && last == Some(TextKind::AnyDepth) {
            continue;
        }
        if !overflow.is_empty() {
            overflow.push(segment);
        } else if len == buffer.len() {
            overflow.extend_from_slice(&buffer);
            overflow.push(segment);
        } else {
            buffer[len] = segment;
            len += 1;
        }
    }
    if overflow.is_empty() {
        f(&buffer[..len])
    } else {
        f(&overflow)
    }
}

/// `*` and `?` matching within one segment, for simple patterns: bytes when
/// both sides are ASCII (nearly always), characters otherwise.
fn wild_text_matches(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        star_matches(pattern.as_bytes(), text.as_bytes(), b'*', b'?')
    } else {
        let pattern: Vec<char> = pattern.chars().collect();
        let text: Vec<char> = text.chars().collect();
        star_matches(&pattern, &text, '*', '?')
    }
}

/// The classic single-star-backtracking wildcard match.
fn star_matches<C: Copy + Eq>(pattern: &[C], text: &[C], star: C, one: C) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(&c) if c == star => {
                backtrack = Some((p, t));
                p += 1;
                continue;
            }
            Some(&c) if c == one || c == text[t] => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((bp, bt)) => {
                backtrack = Some((bp, bt + 1));
                p = bp + 1;
                t = bt + 1;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == star)
}

/// Matches `pattern` against a prefix of `path` (whole segments). This is the
/// classic wildcard algorithm with `**` as the star and every other segment as a
/// single-unit token, with an implicit trailing `**` that gives the "matches
/// everything below a matched directory" rule. Backtracking only to the last
/// `**` keeps it O(len(pattern) * len(path)).
fn match_prefix<S: SegmentLike>(pattern: &[S], path: &[&str]) -> bool {
    let (mut p, mut s) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        if p == pattern.len() {
            // Pattern consumed: whatever remains of the path lies below a match.
            return true;
        }
        if pattern[p].any_depth() {
            backtrack = Some((p, s));
            p += 1;
            continue;
        }
        if s < path.len() && pattern[p].matches(path[s]) {
            p += 1;
            s += 1;
            continue;
        }
        match backtrack {
            Some((bp, bs)) if bs < path.len() => {
                backtrack = Some((bp, bs + 1));
                p = bp + 1;
                s = bs + 1;
            }
            _ => return false,
        }
    }
}

fn segment_matches(segment: &Segment, text: &str) -> bool {
    match segment {
        Segment::AnyDepth => true,
        Segment::Literal(lit) => **lit == *text,
        Segment::Wild(tokens) => wild_matches(tokens, text),
    }
}

/// Classic single-star-backtracking wildcard match within one segment. Paths
/// are nearly always ASCII, so bytes are matched directly; only other text
/// pays for decoding into characters.
fn wild_matches(tokens: &[Token], text: &str) -> bool {
    if text.is_ascii() {
        wild_matches_units(tokens, text.as_bytes())
    } else {
        wild_matches_units(tokens, &text.chars().collect::<Vec<char>>())
    }
}

fn wild_matches_units<C: Copy + Into<char>>(tokens: &[Token], text: &[C]) -> bool {
    let (mut t, mut c) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while c < text.len() {
        let ch: char = text[c].into();
        let advanced = match tokens.get(t) {
            Some(Token::Star) => {
                backtrack = Some((t, c));
                t += 1;
                continue;
            }
            Some(Token::Char(expected)) => *expected == ch,
            Some(Token::AnyChar) => true,
            Some(Token::Class { negated, ranges }) => {
                let inside = ranges.iter().any(|&(lo, hi)| lo <= ch && ch <= hi);
                inside != *negated
            }
            None => false,
        };
        if advanced {
            t += 1;
            c += 1;
        } else if let Some((bt, bc)) = backtrack {
            backtrack = Some((bt, bc + 1));
            t = bt + 1;
            c = bc + 1;
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|tok| matches!(tok, Token::Star))
}

/// Expands `{a,b}` alternatives (nested, possibly spanning `/`) into plain
/// patterns. Escapes are preserved for the compiler; braces inside `[...]` are
/// literal.
fn expand_braces(source: &str) -> Result<Vec<String>, PatternError> {
    let chars: Vec<char> = source.chars().collect();
    let (alts, end) = expand_sequence(&chars, 0, false)?;
    debug_assert_eq!(end, chars.len());
    Ok(alts)
}

/// Expands from `start` until the end (top level) or an unnested `,`/`}`
/// (inside braces). Returns the alternatives and the index where it stopped.
fn expand_sequence(
    chars: &[char],
    mut i: usize,
    in_brace: bool,
) -> Result<(Vec<String>, usize), PatternError> {
    let mut results = vec![String::new()];
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let next = *chars.get(i + 1).ok_or(PatternError::DanglingEscape)?;
                for r in &mut results {
                    r.push('\\');
                    r.push(next);
                }
                i += 2;
            }
            '[' => {
                let end = class_end(chars, i).ok_or(PatternError::UnclosedClass)?;
                let class: String = chars[i..=end].iter().collect();
                for r in &mut results {
                    r.push_str(&class);
                }
                i = end + 1;
            }
            '{' => {
                let mut options = Vec::new();
                let mut j = i + 1;
                loop {
                    let (alts, stop) = expand_sequence(chars, j, true)?;
                    options.extend(alts);
                    match chars.get(stop) {
                        Some(',') => j = stop + 1,
                        Some('}') => {
                            i = stop + 1;
                            break;
                        }
                        _ => return Err(PatternError::UnclosedBrace),
                    }
                }
                let mut combined = Vec::with_capacity(results.len() * options.len());
                for r in &results {
                    for o in &options {
                        combined.push(format!("{r}{o}"));
                    }
                }
                if combined.len() > MAX_ALTERNATIVES {
                    return Err(PatternError::TooManyAlternatives(MAX_ALTERNATIVES));
                }
                results = combined;
            }
            ',' | '}' if in_brace => return Ok((results, i)),
            '}' => return Err(PatternError::UnmatchedBrace),
            c => {
                for r in &mut results {
                    r.push(c);
                }
                i += 1;
            }
        }
    }
    if in_brace {
        return Err(PatternError::UnclosedBrace);
    }
    Ok((results, i))
}

/// The index of the `]` closing the class that opens at `start`, if any. A `]`
/// right after `[`, `[!` or `[^` is a member, as in POSIX.
fn class_end(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if matches!(chars.get(i), Some('!' | '^')) {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            ']' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Whether a pattern is simple: no `{`, `[` or `\`, and valid (no `.` or
/// `..` segment, `**` only as a whole segment, some segment). Such a pattern
/// is its own single alternative and is matched from its text; every other
/// pattern, including every invalid one, goes through the general compiler,
/// which reports the errors.
fn is_simple(source: &str) -> bool {
    let mut any = false;
    for segment in source.as_bytes().split(|&b| b == b'/') {
        match segment {
            b"" => {}
            b"**" => any = true,
            b"." | b".." => return false,
            _ => {
                let special = segment
                    .iter()
                    .any(|&b| matches!(b, b'{' | b'}' | b'[' | b'\\'));
                if special || segment.windows(2).any(|pair| pair == b"**") {
                    return false;
                }
                any = true;
            }
        }
    }
    any
}

fn compile_alternative(source: &str) -> Result<Vec<Segment>, PatternError> {
    let mut segments = Vec::new();
    for raw in split_segments(source) {
        if raw.is_empty() {
            // `a//b` or a trailing `/`: harmless, ignore like paths do.
            continue;
        }
        if raw == "**" {
            if !matches!(segments.last(), Some(Segment::AnyDepth)) {
                segments.push(Segment::AnyDepth);
            }
            continue;
        }
        if raw == "." || raw == ".." {
            return Err(PatternError::DotSegment);
        }
        segments.push(compile_segment(&raw)?);
    }
    if segments.is_empty() {
        return Err(PatternError::Empty);
    }
    Ok(segments)
}

/// Splits on `/` outside classes and escapes.
fn split_segments(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = vec![String::new()];
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                let cur = out.last_mut().expect("never empty");
                cur.push('\\');
                cur.push(chars[i + 1]);
                i += 2;
            }
            '[' => {
                let end = class_end(&chars, i).unwrap_or(chars.len() - 1);
                out.last_mut().expect("never empty").extend(&chars[i..=end]);
                i = end + 1;
            }
            '/' => {
                out.push(String::new());
                i += 1;
            }
            c => {
                out.last_mut().expect("never empty").push(c);
                i += 1;
            }
        }
    }
    out
}

fn compile_segment(raw: &str) -> Result<Segment, PatternError> {
    let chars: Vec<char> = raw.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let next = *chars.get(i + 1).ok_or(PatternError::DanglingEscape)?;
                tokens.push(Token::Char(next));
                i += 2;
            }
            '*' => {
                if chars.get(i + 1) == Some(&'*') {
                    return Err(PatternError::StarStarInSegment);
                }
                tokens.push(Token::Star);
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                i += 1;
            }
            '[' => {
                let end = class_end(&chars, i).ok_or(PatternError::UnclosedClass)?;
                tokens.push(compile_class(&chars[i + 1..end])?);
                i = end + 1;
            }
            c => {
                tokens.push(Token::Char(c));
                i += 1;
            }
        }
    }
    if tokens.iter().all(|t| matches!(t, Token::Char(_))) {
        let literal: String = tokens
            .iter()
            .map(|t| match t {
                Token::Char(c) => *c,
                _ => unreachable!("checked above"),
            })
            .collect();
        return Ok(Segment::Literal(literal.into()));
    }
    Ok(Segment::Wild(tokens.into()))
}

fn compile_class(body: &[char]) -> Result<Token, PatternError> {
    let (negated, body) = match body.first() {
        Some('!' | '^') => (true, &body[1..]),
        _ => (false, body),
    };
    if body.is_empty() {
        return Err(PatternError::EmptyClass);
    }
    let mut members = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let c = if body[i] == '\\' && i + 1 < body.len() {
            i += 1;
            body[i]
        } else {
            body[i]
        };
        i += 1;
        if i + 1 < body.len() && body[i] == '-' {
            let hi = if body[i + 1] == '\\' && i + 2 < body.len() {
                i += 1;
                body[i + 1]
            } else {
                body[i + 1]
            };
            i += 2;
            members.push(if c <= hi { (c, hi) } else { (hi, c) });
        } else {
            members.push((c, c));
        }
    }
    Ok(Token::Class {
        negated,
        ranges: members.into(),
    })
}

/// An ordered list of patterns where `!pattern` negates and the last pattern
/// that matches a path decides (gitignore style). `["**/*.py", "!third_party/**"]`
/// selects Python files outside `third_party`.
#[derive(Clone, Debug)]
pub struct PatternList {
    entries: Vec<(bool, Pattern)>,
}

impl PatternList {
    /// Compiles `patterns`; a leading `!` negates. Errors carry the index of the
    /// offending pattern.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<PatternList, (usize, PatternError)> {
        let mut entries = Vec::with_capacity(patterns.len());
        for (index, raw) in patterns.iter().enumerate() {
            let raw = raw.as_ref();
            let (negated, body) = match raw.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            entries.push((negated, Pattern::new(body).map_err(|e| (index, e))?));
        }
        Ok(PatternList { entries })
    }

    /// [`PatternList::new`] over owned strings, which the patterns keep. On
    /// an error, the offending pattern comes back as written.
    pub fn from_strings<I>(patterns: I) -> Result<PatternList, (usize, PatternError, String)>
    where
        I: IntoIterator<Item = String>,
        I::IntoIter: ExactSizeIterator,
    {
        let patterns = patterns.into_iter();
        let mut entries = Vec::with_capacity(patterns.len());
        for (index, mut raw) in patterns.enumerate() {
            let negated = raw.starts_with('!');
            if negated {
                raw.remove(0);
            }
            match Pattern::compile(raw) {
                Ok(pattern) => entries.push((negated, pattern)),
                Err((error, mut written)) => {
                    if negated {
                        written.insert(0, '!');
                    }
                    return Err((index, error, written));
                }
            }
        }
        Ok(PatternList { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many patterns the list holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The index of the pattern that decides `path`, and whether it selects it:
    /// `None` if no pattern matches.
    pub fn decide(&self, path: &[&str]) -> Option<(usize, bool)> {
        self.entries
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (_, pattern))| pattern.matches_segments(path))
            .map(|(index, (negated, _))| (index, !negated))
    }

    /// Whether the list selects `path`.
    pub fn selects(&self, path: &[&str]) -> bool {
        matches!(self.decide(path), Some((_, true)))
    }

    /// The pattern at `index` as written (with its `!`).
    pub fn describe(&self, index: usize) -> String {
        let (negated, pattern) = &self.entries[index];
        let mut out = String::with_capacity(pattern.source.len() + 1);
        if *negated {
            out.push('!');
        }
        out.push_str(&pattern.source);
        out
    }

    /// The positive patterns, for diagnostics such as "matches no tracked file".
    pub fn patterns(&self) -> impl Iterator<Item = (bool, &Pattern)> {
        self.entries.iter().map(|(negated, p)| (*negated, p))
    }
}

/// A glob over names that are not paths (task names for `--target`): `*`
/// matches any run of characters, `?` one, plus `[...]` and `{a,b}`; the whole
/// name must match.
#[derive(Clone, Debug)]
pub struct NameGlob {
    source: String,
    alternatives: Vec<Box<[Token]>>,
}

impl NameGlob {
    pub fn new(source: &str) -> Result<NameGlob, PatternError> {
        if source.is_empty() {
            return Err(PatternError::Empty);
        }
        let mut alternatives = Vec::new();
        for expanded in expand_braces(source)? {
            // `**` means the same as `*` here: names have no segments.
            let collapsed = expanded.replace("**", "*");
            let tokens = match compile_segment(&collapsed)? {
                Segment::Literal(lit) => lit.chars().map(Token::Char).collect(),
                Segment::Wild(tokens) => tokens,
                Segment::AnyDepth => unreachable!("compile_segment never returns AnyDepth"),
            };
            alternatives.push(tokens);
        }
        Ok(NameGlob {
            source: source.to_owned(),
            alternatives,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, name: &str) -> bool {
        self.alternatives
            .iter()
            .any(|tokens| wild_matches(tokens, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .matches(path)
    }

    #[test]
    fn star_stays_within_a_segment() {
        assert!(m("*.py", "a.py"));
        assert!(!m("*.py", "dir/a.py"));
        assert!(m("src/*.rs", "src/main.rs"));
        assert!(!m("src/*.rs", "src/a/main.rs"));
        assert!(m("a*b", "ab"));
        assert!(m("a*b", "axxb"));
        assert!(!m("a*b", "axxbc"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(m("a?.txt", "ab.txt"));
        assert!(!m("a?.txt", "a.txt"));
        assert!(!m("a?b", "a/b"));
        assert!(m("?", "é"));
    }

    #[test]
    fn double_star_spans_zero_or_more_segments() {
        assert!(m("**/x", "x"));
        assert!(m("**/x", "a/b/x"));
        assert!(m("**/*.py", "a.py"));
        assert!(m("**/*.py", "a/b/c.py"));
        assert!(m("a/**/b", "a/b"));
        assert!(m("a/**/b", "a/x/y/b"));
        assert!(!m("a/**/b", "b"));
        assert!(m("**", "anything/at/all"));
        assert!(m("a/**/**/b", "a/b"));
    }

    #[test]
    fn dir_star_star_matches_everything_below_and_the_dir() {
        assert!(m("dir/**", "dir/a"));
        assert!(m("dir/**", "dir/a/b/c"));
        assert!(m("dir/**", "dir"));
        assert!(!m("dir/**", "dirx/a"));
        assert!(!m("dir/**", "other/dir/a"));
    }

    #[test]
    fn exact_matching_names_the_path_itself() {
        let p = Pattern::new("packages/*").unwrap();
        assert!(p.matches_exactly("packages/a"));
        assert!(!p.matches_exactly("packages/a/fixtures"));
        assert!(!p.matches_exactly("packages"));
        let deep = Pattern::new("apps/**").unwrap();
        assert!(deep.matches_exactly("apps/a/b") && deep.matches_exactly("apps"));
        let mid = Pattern::new("a/**/pkg").unwrap();
        assert!(mid.matches_exactly("a/pkg") && mid.matches_exactly("a/x/y/pkg"));
        assert!(!mid.matches_exactly("a/x/pkg/z"));
    }

    #[test]
    fn a_matched_directory_matches_everything_below() {
        assert!(m("docs", "docs/index.md"));
        assert!(m("docs", "docs"));
        assert!(!m("docs", "docsx"));
        assert!(m("src/*", "src/a/b.rs"));
        assert!(m("*", "a/b/c"));
        assert!(m("third_party", "third_party/lib/x.py"));
    }

    #[test]
    fn classes_and_negated_classes() {
        assert!(m("[ab].txt", "a.txt"));
        assert!(!m("[ab].txt", "c.txt"));
        assert!(m("[a-c]x", "bx"));
        assert!(m("[!a-c]x", "dx"));
        assert!(!m("[!a-c]x", "ax"));
        assert!(m("[^a]x", "bx"));
        assert!(m("[]]", "]"));
        assert!(m("[*]", "*"));
        assert!(!m("[*]", "a"));
    }

    #[test]
    fn braces_expand_and_may_cross_segments() {
        assert!(m("*.{py,pyi}", "a.pyi"));
        assert!(m("*.{py,pyi}", "a.py"));
        assert!(!m("*.{py,pyi}", "a.pyc"));
        assert!(m("{src,lib/inner}/x", "lib/inner/x"));
        assert!(m("a{b,{c,d}}e", "ade"));
        assert!(m("x{,y}", "x"));
    }

    #[test]
    fn escapes_make_wildcards_literal() {
        assert!(m(r"a\*b", "a*b"));
        assert!(!m(r"a\*b", "axb"));
        assert!(m(r"\{x\}", "{x}"));
    }

    #[test]
    fn case_sensitive() {
        assert!(!m("README.md", "readme.md"));
        assert!(!m("*.PY", "a.py"));
    }

    #[test]
    fn invalid_patterns_have_reasons() {
        assert_eq!(Pattern::new("").unwrap_err(), PatternError::Empty);
        assert_eq!(
            Pattern::new("a/[b").unwrap_err(),
            PatternError::UnclosedClass
        );
        assert_eq!(
            Pattern::new("a{b").unwrap_err(),
            PatternError::UnclosedBrace
        );
        assert_eq!(
            Pattern::new("a}b").unwrap_err(),
            PatternError::UnmatchedBrace
        );
        assert_eq!(
            Pattern::new("a\\").unwrap_err(),
            PatternError::DanglingEscape
        );
        assert_eq!(
            Pattern::new("**.py").unwrap_err(),
            PatternError::StarStarInSegment
        );
        assert_eq!(Pattern::new("/abs").unwrap_err(), PatternError::Absolute);
        assert_eq!(
            Pattern::new("a/../b").unwrap_err(),
            PatternError::DotSegment
        );
        assert_eq!(
            Pattern::new("[!]").unwrap_err(),
            PatternError::UnclosedClass
        );
        let bomb = "{a,b}".repeat(10);
        assert_eq!(
            Pattern::new(&bomb).unwrap_err(),
            PatternError::TooManyAlternatives(256)
        );
    }

    #[test]
    fn segments_on_the_stack_and_beyond() {
        assert_eq!(with_segments("a//b/c/", |s| s.join("|")), "a|b|c");
        let deep = vec!["x"; 40].join("/");
        assert_eq!(with_segments(&deep, |s| s.len()), 40);
        assert_eq!(with_segments("", |s| s.len()), 0);
    }

    #[test]
    fn name_globs_match_whole_names() {
        let g = NameGlob::new("test-*").unwrap();
        assert!(g.matches("test-linux/opt"));
        assert!(!g.matches("build-test-x"));
        assert!(NameGlob::new("{build,lint}-*").unwrap().matches("lint-py"));
        assert!(NameGlob::new("exact").unwrap().matches("exact"));
        assert!(!NameGlob::new("exact").unwrap().matches("exactly"));
    }

    #[test]
    fn pattern_list_last_match_decides() {
        let list =
            PatternList::new(&["**/*.py", "!third_party/**", "third_party/ours/**"]).unwrap();
        let sel = |p: &str| list.selects(&p.split('/').collect::<Vec<_>>());
        assert!(sel("a/b.py"));
        assert!(!sel("third_party/x/b.py"));
        assert!(sel("third_party/ours/b.py"));
        assert!(
            sel("third_party/ours/b.txt"),
            "the last matching pattern decides"
        );
        assert!(!sel("a/b.rs"));
        assert_eq!(list.describe(1), "!third_party/**");
        assert_eq!(PatternList::new(&["ok", "[bad"]).unwrap_err().0, 1);
    }

    /// A slow, obviously-correct reference: recursive matching over segments,
    /// with the "everything below a match" rule as "some prefix matches".
    fn reference(pattern: &str, path: &str) -> bool {
        fn seg_ok(p: &[char], s: &[char]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some(('*', rest)) => (0..=s.len()).any(|k| seg_ok(rest, &s[k..])),
                Some(('?', rest)) => !s.is_empty() && seg_ok(rest, &s[1..]),
                Some((c, rest)) => s.first() == Some(c) && seg_ok(rest, &s[1..]),
            }
        }
        fn full(p: &[&str], s: &[&str]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some((&"**", rest)) => (0..=s.len()).any(|k| full(rest, &s[k..])),
                Some((seg, rest)) => {
                    !s.is_empty()
                        && seg_ok(
                            &seg.chars().collect::<Vec<_>>(),
                            &s[0].chars().collect::<Vec<_>>(),
                        )
                        && full(rest, &s[1..])
                }
            }
        }
        let p: Vec<&str> = pattern.split('/').collect();
        let s: Vec<&str> = path.split('/').collect();
        (1..=s.len()).any(|k| full(&p, &s[..k]))
    }

    proptest! {
        #[test]
        fn agrees_with_reference(
            pattern in proptest::collection::vec(
                prop_oneof![Just("**".to_string()), "[ab*?]{1,3}"], 1..5),
            path in proptest::collection::vec("[ab]{1,3}", 1..6),
        ) {
            let pattern = pattern.join("/");
            let path = path.join("/");
            prop_assume!(!pattern.split('/').any(|s| s != "**" && s.contains("**")));
            prop_assert_eq!(Pattern::new(&pattern).unwrap().matches(&path), reference(&pattern, &path),
                "pattern {} path {}", pattern, path);
        }

        /// Simple patterns are exactly the valid ones without `{`, `[` or
        /// `\`, and matching one from its text answers what its compiled
        /// form answers.
        #[test]
        fn simple_patterns_agree(
            pattern in "[ab*?/.é]{1,12}",
            paths in proptest::collection::vec("[ab.é]{1,3}(/[ab.é]{1,3}){0,4}", 1..8),
        ) {
            // Absolute patterns are refused before either compiler runs.
            prop_assume!(!pattern.starts_with('/'));
            let general = expand_braces(&pattern)
                .and_then(|alts| alts.iter().map(|a| compile_alternative(a)).collect::<Result<Vec<_>, _>>());
            prop_assert_eq!(is_simple(&pattern), general.is_ok(), "{}", pattern);
            if let Ok(alternatives) = general {
                let simple = Pattern::new(&pattern).unwrap();
                prop_assert!(simple.alternatives.is_empty());
                prop_assert_eq!(&alternatives, &vec![compile_text(&pattern).into_vec()]);
                for path in &paths {
                    let segments: Vec<&str> = path.split('/').collect();
                    let compiled = alternatives.iter().any(|alt| match_prefix(alt, &segments));
                    prop_assert_eq!(simple.matches(path), compiled, "{} {}", pattern, path);
                }
            }
        }

        #[test]
        fn never_panics(pattern in "\\PC{0,24}", path in "\\PC{0,24}") {
            if let Ok(p) = Pattern::new(&pattern) {
                let _ = p.matches(&path);
            }
        }
    }
}

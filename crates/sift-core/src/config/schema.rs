//! A reader for sift.toml's own schema: the `[tasks.NAME]` and `[[rules]]`
//! tables that make up nearly all of a large configuration, read straight
//! from the bytes into the same `Raw*` structures, spans included, with no
//! token vector, no document tree and no serde.
//!
//! Everything else in a file (the root keys, `[components]`, `[store]`,
//! `[ci.*]`, and any section added later) is the *rest*: it is handed to the
//! general path ([`super::fast`], then `toml`) as text with the tables this
//! reader took blanked out, so byte offsets, and with them every span and
//! error position, stay those of the original file.
//!
//! The reader answers only when it is certain to answer what `toml::from_str`
//! answers, and declines (`None`) otherwise; the caller then reads the whole
//! file the general way, which also produces every error message. It declines
//! on anything outside the shapes sift's own tables take: a key it does not
//! know (so a key added to `raw.rs` is read the general way until it is added
//! here), a value of another type, a dotted key in a task or rule, a
//! duplicate key or table, a number or date in a task or rule, a
//! multi-line inline table, a carriage return inside a multi-line string,
//! nesting deeper than [`MAX_DEPTH`], a byte-order mark, or anything that is
//! not well-formed. Property tests check that whenever it answers, `toml`
//! answers the same.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use rustc_hash::FxHashSet;
use serde::de::DeserializeOwned;
use toml::Spanned;

use super::raw::{Names, RawInclude, RawNested, RawRoot, RawRule, RawStrategy, RawTask};

/// Composite strategies nest at most this deep here (toml allows 80).
const MAX_DEPTH: usize = 32;

pub(crate) type Tasks = Vec<(Spanned<String>, Spanned<Box<RawTask>>)>;
pub(crate) type Rules = Vec<Spanned<RawRule>>;

/// A file shape the reader knows: which of its tables it reads itself.
pub(crate) trait Schema: DeserializeOwned {
    /// `[tasks.NAME]` tables are read here.
    const TASKS: bool;
    /// `[[rules]]` tables are read here.
    const RULES: bool;
    /// Adds the tables read here to the rest; `false` if the rest already
    /// holds some (then they were written in a form this reader leaves alone).
    fn fill(&mut self, tasks: Tasks, rules: Rules) -> bool;
}

impl Schema for RawRoot {
    const TASKS: bool = true;
    const RULES: bool = true;
    fn fill(&mut self, tasks: Tasks, rules: Rules) -> bool {
        let empty = self.tasks.is_empty() && self.rules.is_empty();
        self.tasks = tasks;
        self.rules = rules;
        empty
    }
}

impl Schema for RawInclude {
    const TASKS: bool = true;
    const RULES: bool = false;
    fn fill(&mut self, tasks: Tasks, _rules: Rules) -> bool {
        let empty = self.tasks.is_empty();
        self.tasks = tasks;
        empty
    }
}

impl Schema for RawNested {
    const TASKS: bool = false;
    const RULES: bool = true;
    fn fill(&mut self, _tasks: Tasks, rules: Rules) -> bool {
        let empty = self.rules.is_empty();
        self.rules = rules;
        empty
    }
}

/// Texts at least this long are read in two halves, one per core.
const SPLIT_AT: usize = 256 * 1024;

/// Reads `text` as `T`, or `None` when unsure (see the module docs).
pub(crate) fn read<T: Schema>(text: &str) -> Option<T> {
    if text.starts_with('\u{feff}') {
        return None;
    }
    let reader = |start, stop| {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: start,
            tasks: T::TASKS,
            rules: T::RULES,
            scratch: Vec::new(),
        }
        .document(stop)
    };
    let read = match split_point(text) {
        Some(split) if crate::parallel::cores() > 1 => {
            let (first, second) = std::thread::scope(|scope| {
                let second = scope.spawn(move || reader(split, None));
                let first = reader(0, Some(split));
                (first, second.join().expect("the reader does not panic"))
            });
            let first = first?;
            if first.end == split {
                first.join(second?)
            } else {
                // The split fell inside a value: the first half read on.
                first
            }
        }
        _ => reader(0, None)?,
    };
    if !unique_names(&read.tasks) {
        return None;
    }
    let rest: Cow<'_, str> = match read.rest() {
        Rest::Prefix(end) => Cow::Borrowed(&text[..end]),
        Rest::Blanked(taken) => Cow::Owned(blank(text, taken)),
    };
    let mut value: T = super::fast::from_str(&rest).or_else(|| toml::from_str(&rest).ok())?;
    let rules = read
        .rules
        .into_iter()
        .map(RuleParts::finish)
        .collect::<Option<Rules>>()?;
    value.fill(read.tasks, rules).then_some(value)
}

/// Where a long text may be cut in two: the start of a line that looks
/// like a task or rule header, near the middle. Whether it is one is only
/// known once the first half has been read up to it.
fn split_point(text: &str) -> Option<usize> {
    if text.len() < SPLIT_AT {
        return None;
    }
    let middle = text.len() / 2;
    let after = &text.as_bytes()[middle..];
    let found = memchr::memmem::find(after, b"\n[tasks.")
        .into_iter()
        .chain(memchr::memmem::find(after, b"\n[[rules]]"))
        .min()?;
    Some(middle + found + 1)
}

/// TOML rejects a table defined twice; so does this reader.
fn unique_names(tasks: &Tasks) -> bool {
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    seen.reserve(tasks.len());
    tasks.iter().all(|(name, _)| seen.insert(name.get_ref()))
}

/// `text` with the `taken` ranges turned into spaces: the rest of the file
/// at its original offsets.
fn blank(text: &str, taken: &[Range<usize>]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for range in taken {
        bytes[range.clone()].fill(b' ');
    }
    // Whole tables (from a header to the next) are blanked, and tables start
    // and end on character boundaries, so the text stays UTF-8.
    String::from_utf8(bytes).expect("blanked whole tables")
}

/// What a document holds besides the tables read here.
enum Rest<'a> {
    /// Everything before this offset; no other table follows a read one.
    Prefix(usize),
    /// The whole text but these ranges (the tables read here).
    Blanked(&'a [Range<usize>]),
}

/// What a reader found, from where it started to `end`.
struct Read {
    tasks: Tasks,
    rules: Vec<RuleParts>,
    /// The ranges of the tables read here, header to next header.
    taken: Vec<Range<usize>>,
    /// Where each other table starts.
    others: Vec<usize>,
    end: usize,
}

impl Read {
    /// This reading followed by `next`, which starts where this one ends.
    fn join(mut self, next: Read) -> Read {
        self.tasks.extend(next.tasks);
        self.rules.extend(next.rules);
        self.taken.extend(next.taken);
        self.others.extend(next.others);
        self.end = next.end;
        self
    }

    fn rest(&self) -> Rest<'_> {
        match self.taken.first() {
            None => Rest::Prefix(self.end),
            Some(first) if self.others.iter().all(|&start| start < first.start) => {
                Rest::Prefix(first.start)
            }
            Some(_) => Rest::Blanked(&self.taken),
        }
    }
}

/// The table that key/value lines go into.
#[derive(Clone, Copy)]
enum Section {
    /// Root keys, before any header: the rest.
    Root,
    /// Another table: the rest.
    Other,
    Task(usize),
    Rule(usize),
}

/// A `[[rules]]` entry while its keys are read (`files` is required).
struct RuleParts {
    span: Range<usize>,
    files: Option<Names>,
    inclusive: Option<Names>,
    exclusive: Option<Names>,
    lockfile: Option<Spanned<String>>,
    manifest: Option<Spanned<String>>,
}

impl RuleParts {
    fn finish(self) -> Option<Spanned<RawRule>> {
        Some(Spanned::new(
            self.span,
            RawRule {
                files: self.files?,
                inclusive: self.inclusive,
                exclusive: self.exclusive,
                lockfile: self.lockfile,
                manifest: self.manifest,
            },
        ))
    }
}

/// The strategy keys of a task or of a composite member.
struct Slots<'a> {
    schedules: &'a mut Option<Names>,
    changed: &'a mut Option<Names>,
    always: &'a mut Option<Spanned<bool>>,
    any: &'a mut Option<Spanned<Vec<Spanned<RawStrategy>>>>,
    all: &'a mut Option<Spanned<Vec<Spanned<RawStrategy>>>>,
    not: &'a mut Option<Spanned<Box<RawStrategy>>>,
    on_backstop: &'a mut Option<Spanned<bool>>,
    on_expanded: &'a mut Option<Spanned<bool>>,
}

impl<'a> Slots<'a> {
    fn of_task(task: &'a mut RawTask) -> Self {
        Slots {
            schedules: &mut task.schedules,
            changed: &mut task.changed,
            always: &mut task.always,
            any: &mut task.any,
            all: &mut task.all,
            not: &mut task.not,
            on_backstop: &mut task.on_backstop,
            on_expanded: &mut task.on_expanded,
        }
    }

    fn of_member(member: &'a mut RawStrategy) -> Self {
        Slots {
            schedules: &mut member.schedules,
            changed: &mut member.changed,
            always: &mut member.always,
            any: &mut member.any,
            all: &mut member.all,
            not: &mut member.not,
            on_backstop: &mut member.on_backstop,
            on_expanded: &mut member.on_expanded,
        }
    }
}

/// Stores a key's value, declining a key given twice.
fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// How a header's first key classifies it.
enum HeaderKind<'s> {
    Task {
        name: Cow<'s, str>,
        name_span: Range<usize>,
    },
    Rule,
    Other,
}

/// Byte classes, as bits of [`CLASSES`]: which bytes each context takes
/// as they are (anything else ends the run or needs a closer look).
const BASIC: u8 = 1; // in "basic": tab, printable but `"` and `\`, non-ASCII
const LITERAL: u8 = 2; // in 'literal': tab, printable but `'`, non-ASCII
const ML_BASIC: u8 = 4; // BASIC and newline
const ML_LITERAL: u8 = 8; // LITERAL and newline
const COMMENT: u8 = 16; // tab, printable, non-ASCII
const BARE: u8 = 32; // bare keys: A-Z a-z 0-9 - _

const CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        let printable = matches!(byte, b'\t' | 0x20..=0x7e | 0x80..=0xff);
        let mut class = 0;
        if printable {
            class |= COMMENT;
            if byte != b'"' && byte != b'\\' {
                class |= BASIC | ML_BASIC;
            }
            if byte != b'\'' {
                class |= LITERAL | ML_LITERAL;
            }
        }
        if byte == b'\n' {
            class |= ML_BASIC | ML_LITERAL;
        }
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            class |= BARE;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Where the first byte of `bytes` that `class` does not take as plain is
/// (`bytes.len()` if there is none). COMMENT, BASIC and LITERAL runs (most
/// of a large file: comments and names) are tested sixteen bytes at a time
/// with SSE2 where the target has it (eight bytes at a time by hand cost
/// about 130 instructions per name); other classes, other targets and the
/// last few bytes of the text byte by byte, from [`CLASSES`].
fn plain_len(bytes: &[u8], class: u8) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // What ends each run besides a control character other than tab
        // and DEL (as in `CLASSES`): the class's closers.
        let closers = match class {
            BASIC => Some([b'"', b'\\']),
            LITERAL => Some([b'\'', b'\'']),
            COMMENT => Some([0x7f, 0x7f]),
            _ => None,
        };
        if let Some(closers) = closers {
            return first_stop_sse2(bytes, closers, class);
        }
    }
    by_table(bytes, class)
}

fn by_table(bytes: &[u8], class: u8) -> usize {
    bytes
        .iter()
        .position(|&b| CLASSES[b as usize] & class == 0)
        .unwrap_or(bytes.len())
}

/// [`plain_len`] of a run that ends at a control character other than tab,
/// at DEL, or at one of `closers`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn first_stop_sse2(bytes: &[u8], closers: [u8; 2], class: u8) -> usize {
    use safe_arch::{
        bitandnot_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i,
        move_mask_i8_m128i, set_splat_i8_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let (below_space, tab, del) = (splat(0x1f), splat(b'\t'), splat(0x7f));
    let (first, second) = (splat(closers[0]), splat(closers[1]));
    let mut pos = 0;
    while let Some(chunk) = bytes.get(pos..pos + 16) {
        let v = load_unaligned_m128i(chunk.try_into().expect("16 bytes"));
        let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, below_space), v);
        let closing = bitor_m128i(
            cmp_eq_mask_i8_m128i(v, first),
            cmp_eq_mask_i8_m128i(v, second),
        );
        let stops = bitor_m128i(
            bitandnot_m128i(cmp_eq_mask_i8_m128i(v, tab), control),
            bitor_m128i(cmp_eq_mask_i8_m128i(v, del), closing),
        );
        let mask = move_mask_i8_m128i(stops);
        if mask != 0 {
            return pos + mask.trailing_zeros() as usize;
        }
        pos += 16;
    }
    pos + by_table(&bytes[pos..], class)
}

struct Reader<'s> {
    text: &'s str,
    bytes: &'s [u8],
    pos: usize,
    /// Which tables this file shape reads here.
    tasks: bool,
    rules: bool,
    /// Where [`Reader::names`] collects a list before copying it out.
    scratch: Vec<Spanned<String>>,
}

impl<'s> Reader<'s> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    /// Reads from the current position, which is the start of the text or
    /// of a header line, to the end, or to `stop` if a header starts there.
    fn document(&mut self, stop: Option<usize>) -> Option<Read> {
        // Task tables are large: room for all of them up front (one
        // counting pass), not a doubling vector copied and faulted in again.
        let end = stop.unwrap_or(self.bytes.len());
        let headers = if self.tasks {
            memchr::memmem::find_iter(&self.bytes[self.pos..end], b"\n[tasks.").count() + 1
        } else {
            0
        };
        let mut read = Read {
            tasks: Vec::with_capacity(headers),
            rules: Vec::new(),
            taken: Vec::new(),
            others: Vec::new(),
            end: self.bytes.len(),
        };
        let mut section = Section::Root;
        let mut section_start = self.pos;
        loop {
            self.blank_lines()?;
            let Some(byte) = self.peek() else { break };
            if byte != b'[' {
                match section {
                    Section::Root => self.skip_key_value(true)?,
                    Section::Other => self.skip_key_value(false)?,
                    Section::Task(index) => self.task_key_value(&mut read.tasks[index].1)?,
                    Section::Rule(index) => self.rule_key_value(&mut read.rules[index])?,
                }
                self.line_end()?;
                continue;
            }
            let start = self.pos;
            if matches!(section, Section::Task(_) | Section::Rule(_)) {
                read.taken.push(section_start..start);
            }
            if stop == Some(start) {
                read.end = start;
                return Some(read);
            }
            let (kind, span) = self.header()?;
            self.line_end()?;
            section_start = start;
            section = match kind {
                HeaderKind::Task { name, name_span } => {
                    read.tasks.push((
                        Spanned::new(name_span, name.into_owned()),
                        Spanned::new(span, Box::default()),
                    ));
                    Section::Task(read.tasks.len() - 1)
                }
                HeaderKind::Rule => {
                    read.rules.push(RuleParts {
                        span,
                        files: None,
                        inclusive: None,
                        exclusive: None,
                        lockfile: None,
                        manifest: None,
                    });
                    Section::Rule(read.rules.len() - 1)
                }
                HeaderKind::Other => {
                    read.others.push(start);
                    Section::Other
                }
            };
        }
        if matches!(section, Section::Task(_) | Section::Rule(_)) {
            read.taken.push(section_start..self.bytes.len());
        }
        Some(read)
    }

    // ---- whitespace, comments, line ends ----

    /// Spaces and tabs.
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A `#` comment up to (not including) its line end; TOML allows tabs
    /// and printable characters only.
    fn comment(&mut self) -> Option<()> {
        self.pos += 1;
        self.skip_class(COMMENT);
        match self.peek() {
            None | Some(b'\n' | b'\r') => Some(()),
            _ => None,
        }
    }

    /// A newline (`\n` or `\r\n`) at the current position, if any.
    fn newline(&mut self) -> Option<bool> {
        match self.peek() {
            Some(b'\n') => {
                self.pos += 1;
                Some(true)
            }
            Some(b'\r') => {
                self.pos += 1;
                self.expect(b'\n')?;
                Some(true)
            }
            _ => Some(false),
        }
    }

    /// The end of a line holding a header or key/value: spaces, an optional
    /// comment, then a newline or the end of the text.
    fn line_end(&mut self) -> Option<()> {
        self.ws();
        if self.peek() == Some(b'#') {
            self.comment()?;
        }
        if self.peek().is_none() || self.newline()? {
            Some(())
        } else {
            None
        }
    }

    /// Blank and comment-only lines.
    fn blank_lines(&mut self) -> Option<()> {
        loop {
            self.ws();
            match self.peek() {
                Some(b'#') => self.comment()?,
                Some(b'\n' | b'\r') => {
                    self.newline()?;
                }
                _ => return Some(()),
            }
        }
    }

    /// Whitespace, newlines and comments, as allowed inside arrays.
    fn array_space(&mut self) -> Option<()> {
        self.blank_lines()
    }

    // ---- keys and headers ----

    /// One key: bare, or a single-line quoted string.
    fn key(&mut self) -> Option<(Cow<'s, str>, Range<usize>)> {
        let start = self.pos;
        match self.peek()? {
            quote @ (b'"' | b'\'') => {
                // `""` is the empty key; `"""` cannot start one.
                if self.bytes[start..].starts_with(&[quote; 3]) {
                    return None;
                }
                self.single_line_string()
            }
            _ => {
                self.skip_class(BARE);
                (self.pos > start)
                    .then(|| (Cow::Borrowed(&self.text[start..self.pos]), start..self.pos))
            }
        }
    }

    /// `[a.b]` or `[[a.b]]` at the current position, classified.
    fn header(&mut self) -> Option<(HeaderKind<'s>, Range<usize>)> {
        let start = self.pos;
        self.pos += 1;
        let array = self.peek() == Some(b'[');
        if array {
            self.pos += 1;
        }
        let mut count = 0;
        let mut first: Option<Cow<'s, str>> = None;
        let mut second: Option<(Cow<'s, str>, Range<usize>)> = None;
        loop {
            self.ws();
            let (key, span) = self.key()?;
            count += 1;
            match count {
                1 => first = Some(key),
                2 => second = Some((key, span)),
                _ => {}
            }
            self.ws();
            match self.peek()? {
                b'.' => self.pos += 1,
                b']' => break,
                _ => return None,
            }
        }
        self.pos += 1;
        if array {
            self.expect(b']')?;
        }
        let span = start..self.pos;
        let kind = match first.as_deref() {
            Some("tasks") => match second {
                Some((name, name_span)) if self.tasks && !array && count == 2 => {
                    HeaderKind::Task { name, name_span }
                }
                _ => return None,
            },
            Some("rules") if self.rules && array && count == 1 => HeaderKind::Rule,
            Some("rules") => return None,
            _ => HeaderKind::Other,
        };
        Some((kind, span))
    }

    /// `key =` of a task or rule line: one simple key.
    fn simple_key_eq(&mut self) -> Option<Cow<'s, str>> {
        let (key, _) = self.key()?;
        self.ws();
        self.expect(b'=')?;
        self.ws();
        Some(key)
    }

    // ---- the tables read here ----

    fn task_key_value(&mut self, task: &mut Spanned<Box<RawTask>>) -> Option<()> {
        let key = self.simple_key_eq()?;
        let task = task.get_mut();
        if self.strategy_key(&key, Slots::of_task(task), 0)? {
            return Some(());
        }
        match &*key {
            "needs" => set(&mut task.needs, self.names()?),
            "backstop" => set(&mut task.backstop, self.boolean()?),
            "run" => set(&mut task.run, self.string_value()?),
            "cwd" => set(&mut task.cwd, self.string_value()?),
            "timeout" => set(&mut task.timeout, self.string_value()?),
            "description" => set(&mut task.description, self.string_value()?.into_inner()),
            "env" => set(&mut task.env, self.string_table()?),
            _ => None,
        }
    }

    fn rule_key_value(&mut self, rule: &mut RuleParts) -> Option<()> {
        let key = self.simple_key_eq()?;
        match &*key {
            "files" => set(&mut rule.files, self.names()?),
            "inclusive" => set(&mut rule.inclusive, self.names()?),
            "exclusive" => set(&mut rule.exclusive, self.names()?),
            "lockfile" => set(&mut rule.lockfile, self.string_value()?),
            "manifest" => set(&mut rule.manifest, self.string_value()?),
            _ => None,
        }
    }

    /// Reads the value of a strategy key into its slot: `Some(false)` when
    /// `key` is not a strategy key.
    fn strategy_key(&mut self, key: &str, slots: Slots<'_>, depth: usize) -> Option<bool> {
        match key {
            "schedules" => set(slots.schedules, self.names()?)?,
            "changed" => set(slots.changed, self.names()?)?,
            "always" => set(slots.always, self.boolean()?)?,
            "on_backstop" => set(slots.on_backstop, self.boolean()?)?,
            "on_expanded" => set(slots.on_expanded, self.boolean()?)?,
            "any" => set(slots.any, self.members(depth + 1)?)?,
            "all" => set(slots.all, self.members(depth + 1)?)?,
            "not" => {
                let member = self.member(depth + 1)?;
                let span = member.span();
                set(slots.not, Spanned::new(span, Box::new(member.into_inner())))?;
            }
            _ => return Some(false),
        }
        Some(true)
    }

    /// `{ key = value, ... }` holding strategy keys.
    fn member(&mut self, depth: usize) -> Option<Spanned<RawStrategy>> {
        if depth > MAX_DEPTH || self.peek() != Some(b'{') {
            return None;
        }
        let start = self.pos;
        let mut member = RawStrategy::default();
        self.inline_table(|reader| {
            let key = reader.simple_key_eq()?;
            reader
                .strategy_key(&key, Slots::of_member(&mut member), depth)?
                .then_some(())
        })?;
        Some(Spanned::new(start..self.pos, member))
    }

    /// `[{ ... }, ...]`: composite members.
    fn members(&mut self, depth: usize) -> Option<Spanned<Vec<Spanned<RawStrategy>>>> {
        let start = self.pos;
        let mut members = Vec::new();
        self.array(|reader| {
            members.push(reader.member(depth)?);
            Some(())
        })?;
        Some(Spanned::new(start..self.pos, members))
    }

    /// `{ KEY = "value", ... }`.
    fn string_table(&mut self) -> Option<Spanned<BTreeMap<String, String>>> {
        if self.peek() != Some(b'{') {
            return None;
        }
        let start = self.pos;
        let mut map = BTreeMap::new();
        self.inline_table(|reader| {
            let key = reader.simple_key_eq()?.into_owned();
            let value = reader.string_value()?.into_inner();
            map.insert(key, value).is_none().then_some(())
        })?;
        Some(Spanned::new(start..self.pos, map))
    }

    /// A single-line inline table (TOML 1.0's form: no newlines, no
    /// trailing comma), each entry read by `entry`.
    fn inline_table(&mut self, mut entry: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Some(());
        }
        loop {
            entry(self)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    self.ws();
                }
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `[a, b, ...]` with newlines, comments and a trailing comma allowed,
    /// each element read by `element`.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        loop {
            self.array_space()?;
            if self.peek()? == b']' {
                self.pos += 1;
                return Some(());
            }
            element(self)?;
            self.array_space()?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array of strings.
    fn names(&mut self) -> Option<Names> {
        let start = self.pos;
        // Collected in a vector kept for the purpose, then copied into one
        // of the exact size: a configuration lists hundreds of names, and
        // a vector doubling for each list leaves every outgrown copy
        // behind in fresh memory.
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let read = self.array(|reader| {
            scratch.push(reader.string_value()?);
            Some(())
        });
        let mut names = Vec::with_capacity(scratch.len());
        names.append(&mut scratch);
        self.scratch = scratch;
        read?;
        Some(Spanned::new(start..self.pos, names))
    }

    fn boolean(&mut self) -> Option<Spanned<bool>> {
        let start = self.pos;
        let rest = &self.bytes[start..];
        let (value, len) = if rest.starts_with(b"true") {
            (true, 4)
        } else if rest.starts_with(b"false") {
            (false, 5)
        } else {
            return None;
        };
        self.pos += len;
        // `trueish` is not a boolean: what follows must end the value.
        match self.peek() {
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'#' | b',' | b']' | b'}') => {
                Some(Spanned::new(start..self.pos, value))
            }
            _ => None,
        }
    }

    // ---- strings ----

    /// Any of TOML's four string forms, as an owned value with its span.
    fn string_value(&mut self) -> Option<Spanned<String>> {
        let start = self.pos;
        let value = match self.peek()? {
            b'"' if self.bytes[start..].starts_with(b"\"\"\"") => self.ml_basic()?,
            b'\'' if self.bytes[start..].starts_with(b"'''") => self.ml_literal()?,
            b'"' | b'\'' => self.single_line_string()?.0,
            _ => return None,
        };
        Some(Spanned::new(start..self.pos, value.into_owned()))
    }

    /// Steps over the bytes that `class` marks as plain.
    fn skip_class(&mut self, class: u8) {
        self.pos += plain_len(&self.bytes[self.pos..], class);
    }

    /// `"basic"` or `'literal'` on one line.
    fn single_line_string(&mut self) -> Option<(Cow<'s, str>, Range<usize>)> {
        let start = self.pos;
        let quote = self.bytes[start];
        self.pos += 1;
        let body = self.pos;
        self.skip_class(if quote == b'"' { BASIC } else { LITERAL });
        match self.peek()? {
            b if b == quote => {
                let value = &self.text[body..self.pos];
                self.pos += 1;
                Some((Cow::Borrowed(value), start..self.pos))
            }
            b'\\' if quote == b'"' => {
                let mut out = String::from(&self.text[body..self.pos]);
                self.basic_rest(&mut out)?;
                Some((Cow::Owned(out), start..self.pos))
            }
            _ => None,
        }
    }

    /// The rest of a basic string from an escape on, into `out`, through the
    /// closing quote.
    fn basic_rest(&mut self, out: &mut String) -> Option<()> {
        loop {
            let run = self.pos;
            self.skip_class(BASIC);
            out.push_str(&self.text[run..self.pos]);
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                b'\\' => out.push(self.escape()?),
                _ => return None,
            }
        }
    }

    /// An escape sequence after `\` (at the backslash).
    fn escape(&mut self) -> Option<char> {
        self.pos += 1;
        let id = self.peek()?;
        self.pos += 1;
        let digits = match id {
            b'b' => return Some('\u{8}'),
            b'e' => return Some('\u{1b}'),
            b'f' => return Some('\u{c}'),
            b'n' => return Some('\n'),
            b'r' => return Some('\r'),
            b't' => return Some('\t'),
            b'\\' => return Some('\\'),
            b'"' => return Some('"'),
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => return None,
        };
        let hex = self.bytes.get(self.pos..self.pos + digits)?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        self.pos += digits;
        let value = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
        char::from_u32(value)
    }

    /// `"""multi-line basic"""`.
    fn ml_basic(&mut self) -> Option<Cow<'s, str>> {
        self.pos += 3;
        if self.peek() == Some(b'\n') {
            self.pos += 1;
        }
        let mut out = String::new();
        loop {
            let run = self.pos;
            self.skip_class(ML_BASIC);
            out.push_str(&self.text[run..self.pos]);
            match self.peek()? {
                b'"' => {
                    if self.closing_quotes(b'"', &mut out)? {
                        return Some(Cow::Owned(out));
                    }
                }
                b'\\' => {
                    if matches!(
                        self.bytes.get(self.pos + 1),
                        Some(b' ' | b'\t' | b'\n' | b'\r')
                    ) {
                        // A line-ending backslash: drop the line break and
                        // the whitespace after it.
                        self.pos += 1;
                        self.ws();
                        if self.peek()? != b'\n' {
                            return None;
                        }
                        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n')) {
                            self.pos += 1;
                        }
                    } else {
                        out.push(self.escape()?);
                    }
                }
                _ => return None,
            }
        }
    }

    /// `'''multi-line literal'''`.
    fn ml_literal(&mut self) -> Option<Cow<'s, str>> {
        self.pos += 3;
        if self.peek() == Some(b'\n') {
            self.pos += 1;
        }
        let mut out = String::new();
        loop {
            let run = self.pos;
            self.skip_class(ML_LITERAL);
            out.push_str(&self.text[run..self.pos]);
            match self.peek()? {
                b'\'' => {
                    if self.closing_quotes(b'\'', &mut out)? {
                        return Some(Cow::Owned(out));
                    }
                }
                _ => return None,
            }
        }
    }

    /// A run of quotes inside a multi-line string: three or more close it
    /// (up to two more belong to the content), fewer are content.
    fn closing_quotes(&mut self, quote: u8, out: &mut String) -> Option<bool> {
        let run = self.bytes[self.pos..]
            .iter()
            .take_while(|&&b| b == quote)
            .count();
        let (content, closes) = match run {
            0..=2 => (run, false),
            3..=5 => (run - 3, true),
            _ => return None,
        };
        out.extend(std::iter::repeat_n(quote as char, content));
        self.pos += run;
        Some(closes)
    }

    // ---- the rest: skipped, checked by the general path ----

    /// `a.b = value` outside the tables read here. At the root, a first key
    /// naming those tables (`tasks = ...`) is left to the general path.
    fn skip_key_value(&mut self, root: bool) -> Option<()> {
        let mut first = true;
        loop {
            let (key, _) = self.key()?;
            if root && first && matches!(&*key, "tasks" | "rules") {
                return None;
            }
            first = false;
            self.ws();
            if self.peek()? != b'.' {
                break;
            }
            self.pos += 1;
            self.ws();
        }
        self.expect(b'=')?;
        self.ws();
        self.skip_value(0)
    }

    /// Steps over one value of any type; the general path checks it.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' | b'\'' => self.string_value().map(drop),
            b'[' => self.array(|reader| reader.skip_value(depth + 1)),
            b'{' => {
                // Lenient (newlines, trailing commas): only where it ends matters here.
                self.pos += 1;
                loop {
                    self.array_space()?;
                    if self.peek()? == b'}' {
                        self.pos += 1;
                        return Some(());
                    }
                    loop {
                        self.key()?;
                        self.ws();
                        if self.peek()? != b'.' {
                            break;
                        }
                        self.pos += 1;
                        self.ws();
                    }
                    self.expect(b'=')?;
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.array_space()?;
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b'}' => {
                            self.pos += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            _ => {
                // Numbers, booleans, dates: one bare token.
                let start = self.pos;
                while matches!(
                    self.peek(),
                    Some(
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'-' | b'_' | b'.' | b':',
                    )
                ) {
                    self.pos += 1;
                }
                (self.pos > start).then_some(())
            }
        }
    }
}

#[cfg(test)]
mod tests;

//! The general fast path for reading configuration text: TOML's own lexer
//! and parser (`toml_parser`, the crate under `toml`) feeding a lean borrowed
//! tree, read through serde into the same `Raw*` structures, spans included.
//! [`super::schema`] reads sift's own large tables before this; this path
//! reads what it leaves (the rest of a root file, and files it declines).
//!
//! `toml::from_str` builds a general document (`DeTable`: a map per table,
//! a `Cow` per key) and then deserializes it; on a 2 MB file with 20,000
//! tasks that costs several times the lexing and parsing itself. This path
//! keeps the parsing and replaces the rest with one flat vector of nodes.
//!
//! It answers only when it is sure to answer what `toml::from_str` answers.
//! On anything else it declines (`None`) and the caller takes the `toml`
//! path, which then also produces every error message: a syntax error, a
//! duplicate key or table, a dotted key outside a table header, a date-time,
//! an integer out of range, a header that would extend an inline table or a
//! value, or any serde error (an unknown field, a wrong type). Valid
//! configurations, the case that must be fast, never hit these; a property
//! test checks that whenever this path answers, `toml` answers the same,
//! spans and all.

use std::borrow::Cow;
use std::ops::Range;

use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use toml_parser::decoder::{Encoding, ScalarKind};
use toml_parser::parser::EventReceiver;
use toml_parser::{ErrorSink, ParseError, Raw, Source, Span};

/// toml's own nesting limit.
const RECURSION_LIMIT: u32 = 80;
/// Tables with more entries than this find duplicates through a hash map.
const HASHED_ABOVE: usize = 16;

/// Deserializes `text` like `toml::from_str`, or `None` when unsure.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    let doc = Doc::parse(text)?;
    T::deserialize(Value {
        doc: &doc,
        node: ROOT,
    })
    .ok()
}

const ROOT: u32 = 0;

struct Doc<'s> {
    nodes: Vec<Node<'s>>,
}

struct Node<'s> {
    span: Range<usize>,
    kind: Kind<'s>,
}

enum Kind<'s> {
    Str(Cow<'s, str>),
    Bool(bool),
    Int(i64),
    Float(f64),
    Array { items: Vec<u32>, of_tables: bool },
    Table(Table<'s>),
}

#[derive(Default)]
struct Table<'s> {
    entries: Vec<Entry<'s>>,
    /// Key → entry, for large tables.
    hashed: Option<FxHashMap<Cow<'s, str>, u32>>,
    /// Created by a header path (`[a.b]` creates `a`), not defined itself yet.
    implicit: bool,
    inline: bool,
}

struct Entry<'s> {
    key: Cow<'s, str>,
    key_span: Range<usize>,
    value: u32,
}

impl<'s> Table<'s> {
    fn find(&self, key: &str) -> Option<u32> {
        match &self.hashed {
            Some(map) => map.get(key).map(|&i| self.entries[i as usize].value),
            None => self.entries.iter().find(|e| e.key == key).map(|e| e.value),
        }
    }

    fn insert(&mut self, key: Cow<'s, str>, key_span: Range<usize>, value: u32) {
        if let Some(map) = &mut self.hashed {
            map.insert(key.clone(), self.entries.len() as u32);
        } else if self.entries.len() == HASHED_ABOVE {
            let mut map: FxHashMap<Cow<'s, str>, u32> = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.key.clone(), i as u32))
                .collect();
            map.insert(key.clone(), self.entries.len() as u32);
            self.hashed = Some(map);
        }
        self.entries.push(Entry {
            key,
            key_span,
            value,
        });
    }
}

impl<'s> Doc<'s> {
    fn parse(text: &'s str) -> Option<Doc<'s>> {
        let source = Source::new(text);
        let tokens = source.lex().into_vec();
        let mut builder = Builder {
            source,
            doc: Doc {
                nodes: vec![Node {
                    span: 0..0,
                    kind: Kind::Table(Table::default()),
                }],
            },
            current: ROOT,
            keys: Vec::new(),
            header: None,
            pending: None,
            open: Vec::new(),
            declined: false,
        };
        let mut errors: Option<ParseError> = None;
        // The builder validates comments and newlines and limits nesting
        // itself, as toml's `ValidateWhitespace` and `RecursionGuard`
        // wrappers do: two fewer dynamic calls per event.
        toml_parser::parser::parse_document(&tokens, &mut builder, &mut errors);
        (errors.is_none() && !builder.declined).then_some(builder.doc)
    }

    fn push(&mut self, span: Range<usize>, kind: Kind<'s>) -> u32 {
        self.nodes.push(Node { span, kind });
        (self.nodes.len() - 1) as u32
    }

    fn table_mut(&mut self, node: u32) -> Option<&mut Table<'s>> {
        match &mut self.nodes[node as usize].kind {
            Kind::Table(table) => Some(table),
            _ => None,
        }
    }
}

/// Builds the tree from parser events. Any doubt sets `declined`.
struct Builder<'s> {
    source: Source<'s>,
    doc: Doc<'s>,
    /// The table that key/value pairs go into.
    current: u32,
    /// Simple keys since the last header open or key/value separator.
    keys: Vec<(Cow<'s, str>, Range<usize>)>,
    /// `Some(is_array)` while inside a table header.
    header: Option<(bool, usize)>,
    /// The key waiting for its value.
    pending: Option<(Cow<'s, str>, Range<usize>)>,
    /// Open arrays and inline tables, innermost last, with the key each
    /// inline table's next value goes under.
    open: Vec<u32>,
    declined: bool,
}

fn range(span: Span) -> Range<usize> {
    span.start()..span.end()
}

impl<'s> Builder<'s> {
    fn decline(&mut self) {
        self.declined = true;
    }

    /// Declines when toml's own check of a comment or newline token would
    /// report an error.
    fn validate(&mut self, span: Span, check: fn(&Raw<'s>, &mut dyn ErrorSink)) {
        let mut error: Option<ParseError> = None;
        match self.raw(span, None) {
            Some(raw) => check(&raw, &mut error),
            None => return self.decline(),
        }
        if error.is_some() {
            self.decline();
        }
    }

    /// toml refuses values nested deeper than its limit; so does this path.
    fn within_depth(&mut self) -> bool {
        if self.open.len() > RECURSION_LIMIT as usize {
            self.decline();
            return false;
        }
        true
    }

    /// Enters `[path]` or `[[path]]`.
    fn open_header(&mut self, is_array: bool, span: Range<usize>) {
        let keys = std::mem::take(&mut self.keys);
        let Some(((last, last_span), parents)) = keys.split_last() else {
            return self.decline();
        };
        let mut table = ROOT;
        for (key, key_span) in parents {
            let found = self.doc.table_mut(table).and_then(|t| t.find(key));
            table = match found {
                None => {
                    let child = self.doc.push(
                        key_span.clone(),
                        Kind::Table(Table {
                            implicit: true,
                            ..Table::default()
                        }),
                    );
                    self.insert_into(table, key.clone(), key_span.clone(), child);
                    child
                }
                Some(existing) => match &self.doc.nodes[existing as usize].kind {
                    Kind::Table(t) if !t.inline => existing,
                    Kind::Array {
                        items,
                        of_tables: true,
                    } => *items.last().expect("arrays of tables are never empty"),
                    _ => return self.decline(),
                },
            };
        }
        let found = self.doc.table_mut(table).and_then(|t| t.find(last));
        self.current = match (found, is_array) {
            (None, false) => {
                let child = self.doc.push(span, Kind::Table(Table::default()));
                self.insert_into(table, last.clone(), last_span.clone(), child);
                child
            }
            (None, true) => {
                let element = self.doc.push(span.clone(), Kind::Table(Table::default()));
                let array = self.doc.push(
                    span,
                    Kind::Array {
                        items: vec![element],
                        of_tables: true,
                    },
                );
                self.insert_into(table, last.clone(), last_span.clone(), array);
                element
            }
            (Some(existing), false) => {
                let node = &mut self.doc.nodes[existing as usize];
                match &mut node.kind {
                    Kind::Table(t) if t.implicit && !t.inline => {
                        t.implicit = false;
                        node.span = span;
                        existing
                    }
                    _ => return self.decline(),
                }
            }
            (Some(existing), true) => {
                let element = self.doc.push(span, Kind::Table(Table::default()));
                match &mut self.doc.nodes[existing as usize].kind {
                    Kind::Array {
                        items,
                        of_tables: true,
                    } => {
                        items.push(element);
                        element
                    }
                    _ => return self.decline(),
                }
            }
        };
    }

    fn insert_into(&mut self, table: u32, key: Cow<'s, str>, key_span: Range<usize>, value: u32) {
        match self.doc.table_mut(table) {
            Some(t) if t.find(&key).is_none() => t.insert(key, key_span, value),
            _ => self.decline(),
        }
    }

    /// Puts a finished value where it belongs: into the innermost open
    /// array, else under the pending key of the innermost inline table or
    /// the current table.
    fn place(&mut self, value: u32) {
        if let Some(&container) = self.open.last()
            && let Kind::Array { items, .. } = &mut self.doc.nodes[container as usize].kind
        {
            items.push(value);
            return;
        }
        let Some((key, key_span)) = self.pending.take() else {
            return self.decline();
        };
        let table = self.open.last().copied().unwrap_or(self.current);
        self.insert_into(table, key, key_span, value);
    }

    /// The source text of a token, with its encoding (quotes) for decoding.
    fn raw(&self, span: Span, encoding: Option<Encoding>) -> Option<Raw<'s>> {
        let text = self.source.input().get(span.start()..span.end())?;
        Some(Raw::new_unchecked(text, encoding, span))
    }

    fn scalar_kind(&mut self, span: Span, encoding: Option<Encoding>) -> Option<Kind<'s>> {
        let raw = self.raw(span, encoding)?;
        let mut decoded: Cow<'s, str> = Cow::Borrowed("");
        let mut error: Option<ParseError> = None;
        let kind = raw.decode_scalar(&mut decoded, &mut error);
        if error.is_some() {
            return None;
        }
        Some(match kind {
            ScalarKind::String => Kind::Str(decoded),
            ScalarKind::Boolean(b) => Kind::Bool(b),
            ScalarKind::Integer(radix) => {
                Kind::Int(i64::from_str_radix(&decoded, radix.value()).ok()?)
            }
            ScalarKind::Float => Kind::Float(decoded.parse().ok()?),
            ScalarKind::DateTime => return None,
        })
    }
}

impl<'s> EventReceiver for Builder<'s> {
    fn std_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.keys.clear();
        self.header = Some((false, span.start()));
    }

    fn std_table_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        match self.header.take() {
            Some((false, start)) => self.open_header(false, start..span.end()),
            _ => self.decline(),
        }
    }

    fn array_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.keys.clear();
        self.header = Some((true, span.start()));
    }

    fn array_table_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        match self.header.take() {
            Some((true, start)) => self.open_header(true, start..span.end()),
            _ => self.decline(),
        }
    }

    fn inline_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        let table = self.doc.push(
            range(span),
            Kind::Table(Table {
                inline: true,
                ..Table::default()
            }),
        );
        self.place(table);
        self.open.push(table);
        self.within_depth()
    }

    fn inline_table_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        match self.open.pop() {
            Some(table) => self.doc.nodes[table as usize].span.end = span.end(),
            None => self.decline(),
        }
    }

    fn array_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        let array = self.doc.push(
            range(span),
            Kind::Array {
                items: Vec::new(),
                of_tables: false,
            },
        );
        self.place(array);
        self.open.push(array);
        self.within_depth()
    }

    fn array_close(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        match self.open.pop() {
            Some(array) => self.doc.nodes[array as usize].span.end = span.end(),
            None => self.decline(),
        }
    }

    fn simple_key(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        let Some(raw) = self.raw(span, encoding) else {
            return self.decline();
        };
        let mut key: Cow<'s, str> = Cow::Borrowed("");
        let mut error: Option<ParseError> = None;
        raw.decode_key(&mut key, &mut error);
        if error.is_some() {
            return self.decline();
        }
        self.keys.push((key, range(span)));
    }

    fn key_val_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        // Dotted keys outside headers are left to toml.
        if self.keys.len() != 1 || self.pending.is_some() {
            return self.decline();
        }
        self.pending = self.keys.pop();
    }

    fn scalar(&mut self, span: Span, encoding: Option<Encoding>, _error: &mut dyn ErrorSink) {
        match self.scalar_kind(span, encoding) {
            Some(kind) => {
                let node = self.doc.push(range(span), kind);
                self.place(node);
            }
            None => self.decline(),
        }
    }

    fn comment(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.validate(span, Raw::decode_comment);
    }

    fn newline(&mut self, span: Span, _error: &mut dyn ErrorSink) {
        self.validate(span, Raw::decode_newline);
    }

    fn error(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.decline();
    }
}

/// A serde deserializer over one node.
#[derive(Clone, Copy)]
struct Value<'a, 's> {
    doc: &'a Doc<'s>,
    node: u32,
}

/// Any serde error: the caller declines and lets toml report it.
#[derive(Debug)]
pub(crate) struct Declined;

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("declined")
    }
}

impl std::error::Error for Declined {}

impl de::Error for Declined {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        Declined
    }
}

impl<'a, 's> Value<'a, 's> {
    fn node(&self) -> &'a Node<'s> {
        &self.doc.nodes[self.node as usize]
    }
}

impl<'de, 'a, 's> de::Deserializer<'de> for Value<'a, 's> {
    type Error = Declined;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        match &self.node().kind {
            Kind::Str(s) => visitor.visit_str(s),
            Kind::Bool(b) => visitor.visit_bool(*b),
            Kind::Int(i) => visitor.visit_i64(*i),
            Kind::Float(f) => visitor.visit_f64(*f),
            Kind::Array { items, .. } => visitor.visit_seq(Seq {
                doc: self.doc,
                items: items.iter(),
            }),
            Kind::Table(table) => {
                // toml's tables are sorted maps: visit keys in the same order.
                let mut order: Vec<&'a Entry<'s>> = table.entries.iter().collect();
                order.sort_unstable_by(|a, b| a.key.cmp(&b.key));
                visitor.visit_map(Map {
                    doc: self.doc,
                    entries: order.into_iter(),
                    value: None,
                })
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Declined> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Declined> {
        if serde_spanned::de::is_spanned(name) {
            let span = self.node().span.clone();
            return visitor.visit_map(serde_spanned::de::SpannedDeserializer::new(self, span));
        }
        let _ = fields;
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Declined> {
        Err(Declined)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

impl<'de, 'a, 's> IntoDeserializer<'de, Declined> for Value<'a, 's> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

struct Seq<'a, 's> {
    doc: &'a Doc<'s>,
    items: std::slice::Iter<'a, u32>,
}

impl<'de, 'a, 's> de::SeqAccess<'de> for Seq<'a, 's> {
    type Error = Declined;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Declined> {
        match self.items.next() {
            Some(&node) => seed
                .deserialize(Value {
                    doc: self.doc,
                    node,
                })
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a, 's> {
    doc: &'a Doc<'s>,
    entries: std::vec::IntoIter<&'a Entry<'s>>,
    value: Option<u32>,
}

impl<'de, 'a, 's> de::MapAccess<'de> for Map<'a, 's> {
    type Error = Declined;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Declined> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(entry.value);
        seed.deserialize(Key {
            key: &entry.key,
            span: entry.key_span.clone(),
        })
        .map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Declined> {
        let node = self.value.take().ok_or(Declined)?;
        seed.deserialize(Value {
            doc: self.doc,
            node,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A table key: a string, or a `Spanned` string with the key's span.
struct Key<'a> {
    key: &'a str,
    span: Range<usize>,
}

impl<'de, 'a> de::Deserializer<'de> for Key<'a> {
    type Error = Declined;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Declined> {
        visitor.visit_str(self.key)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Declined> {
        if serde_spanned::de::is_spanned(name) {
            let span = self.span.clone();
            return visitor.visit_map(serde_spanned::de::SpannedDeserializer::new(self, span));
        }
        Err(Declined)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Declined> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

impl<'de, 'a> IntoDeserializer<'de, Declined> for Key<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::{RawInclude, RawNested, RawRoot};
    use proptest::prelude::*;

    /// Whenever the fast path answers, toml answers the same, spans included.
    fn agrees<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> bool {
        let fast = from_str::<T>(text);
        if let Some(fast) = &fast {
            let slow: T = toml::from_str(text)
                .unwrap_or_else(|e| panic!("fast path accepted what toml rejects: {e}\n{text}"));
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "text:\n{text}");
        }
        fast.is_some()
    }

    #[test]
    fn answers_real_configurations_exactly() {
        let text = r#"# a comment
include = ["ci/*.toml"]

[components]
exclusive = { platform = ["linux", 'mac'], kind = ["build"] }
inclusive = ["docs"]

[[rules]]
files = ["**/*.md", "docs/**"] # trailing
inclusive = ["docs"]

[[rules]]
files = [
  "src/**",
  "!src/gen/**",
]
exclusive = ["linux"]

[tasks.build]
schedules = ["linux"]
run = """
make \
  all"""
description = "say \"hi\" \u00e9"

[tasks."quoted name"]
any = [{ changed = ["a/**"] }, { not = { schedules = ["docs"] } }]
needs = ["build"]

[tasks.always]
always = true

[cache]
store = 's3://bucket/path'
"#;
        assert!(agrees::<RawRoot>(text));
        assert!(agrees::<RawNested>(
            "[[rules]]\nfiles = [\"x\"]\nexclusive = [\"a\"]\n"
        ));
        assert!(agrees::<RawInclude>(
            "[tasks.a]\nrun = \"x\"\n[tasks.b]\nneeds = [\"a\"]\n"
        ));
        assert!(agrees::<RawRoot>(""));
    }

    /// Every section sift reads takes the fast path (a new section that
    /// declined would silently make large configurations slow again).
    #[test]
    fn answers_every_section() {
        let text = r#"
[store]
url = "s3://ci-bucket/sift"

[backstop]
branches = ["main", "release/*"]
every_pushes = 20
every_hours = 4.5
every_pushes_expanded = 10

[ci.gitlab]
extends = ".sift-task"
include = ["examples/gitlab/sift-task.yml"]

[ci.buildkite]
agents = { queue = "linux" }
plugins = [{ "docker#v5.12.0" = { image = "rust:1.95" } }]
retry = { automatic = [{ exit_status = -1, limit = 2 }] }
command = "ci/run-task \"$SIFT_TASK\""

[tasks.talos]
schedules = ["linux"]
backstop = false

[tasks.fuzz]
on_backstop = true

[tasks.extra]
on_expanded = true
"#;
        let text = text.replace(
            "[tasks.talos]",
            "[components]\nexclusive = [\"linux\"]\n\n[tasks.talos]",
        );
        assert!(agrees::<RawRoot>(&text));
        let own = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sift.toml"))
            .expect("the repository's own sift.toml");
        assert!(agrees::<RawRoot>(&own));
    }

    #[test]
    fn declines_what_toml_reports() {
        for text in [
            "[tasks.a]\nrun = \"x\"\n[tasks.a]\nrun = \"y\"\n",
            "[tasks.a]\nrun = \"x\"\nrun = \"y\"\n",
            "[tasks.a]\nunknown = 1\n",
            "[tasks.a]\nrun = 1\n",
            "tasks.a.run = \"x\"\n",
            "[components\n",
            "[tasks.a]\nrun = 1979-05-27\n",
            "[tasks]\na = { run = \"x\" }\n[tasks.a.b]\n",
            "include = [\"a\"]\n[include]\n",
        ] {
            assert!(!agrees::<RawRoot>(text), "{text}");
        }
    }

    #[test]
    fn declines_nesting_beyond_toml_limit_and_bad_comments() {
        let deep = format!("[tasks.a]\nrun = {}{}\n", "[".repeat(100), "]".repeat(100));
        assert!(toml::from_str::<toml::Table>(&deep).is_err());
        assert!(from_str::<RawRoot>(&deep).is_none());
        let control = "# bad \u{7} comment\n[tasks.a]\nrun = \"x\"\n";
        assert!(toml::from_str::<toml::Table>(control).is_err());
        assert!(from_str::<RawRoot>(control).is_none());
        let cr = "[tasks.a]\rrun = \"x\"\n";
        assert_eq!(
            toml::from_str::<RawRoot>(cr).is_ok(),
            from_str::<RawRoot>(cr).is_some()
        );
    }

    #[test]
    fn large_tables_find_duplicates() {
        let mut text: String = (0..40)
            .map(|i| format!("[tasks.t{i}]\nrun = \"x\"\n"))
            .collect();
        assert!(agrees::<RawRoot>(&text));
        text.push_str("[tasks.t7]\nrun = \"y\"\n");
        assert!(!agrees::<RawRoot>(&text));
    }

    proptest! {
        #[test]
        fn agrees_with_toml_on_arbitrary_text(text in "(\\PC|\n|\\[|\\]|=|\"|'|\\{|\\}|,|\\.|#){0,120}") {
            agrees::<RawRoot>(&text);
            agrees::<RawNested>(&text);
        }

        #[test]
        fn agrees_with_toml_on_structured_text(
            parts in proptest::collection::vec(prop_oneof![
                Just("[components]\n".to_owned()),
                Just("exclusive = [\"a\", \"b\"]\n".to_owned()),
                Just("exclusive = { f = [\"a\"] }\n".to_owned()),
                Just("inclusive = [\"c\"]\n".to_owned()),
                Just("[[rules]]\n".to_owned()),
                Just("files = [\"x/**\", 'y']\n".to_owned()),
                Just("[tasks.t]\n".to_owned()),
                Just("[tasks.u]\n".to_owned()),
                Just("[tasks]\n".to_owned()),
                Just("schedules = [\"a\"]\n".to_owned()),
                Just("any = [{ changed = [\"z\"] }, { always = true }]\n".to_owned()),
                Just("not = { schedules = [] }\n".to_owned()),
                Just("needs = [\"t\"]\n".to_owned()),
                Just("run = \"r\"\n".to_owned()),
                Just("run = '''\nr'''\n".to_owned()),
                Just("always = false\n".to_owned()),
                Just("include = [\"i\"]\n".to_owned()),
                Just("[cache]\nstore = \"s\"\n".to_owned()),
                Just("# c\n".to_owned()),
                Just("\n".to_owned()),
                Just("x.y = 1\n".to_owned()),
                Just("n = 1_000\n".to_owned()),
                Just("f = 1.5e3\n".to_owned()),
            ], 0..12),
        ) {
            let text: String = parts.concat();
            agrees::<RawRoot>(&text);
            agrees::<RawNested>(&text);
            agrees::<RawInclude>(&text);
        }
    }
}

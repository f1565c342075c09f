//! A small YAML tree over `saphyr-parser`'s events, for lockfiles and
//! workspace files: scalars as text, sequences, mappings with scalar keys.
//!
//! Built with an explicit stack (no recursion), with a depth limit (so
//! dropping the tree cannot overflow the stack either) and a node budget for
//! aliases (so a "billion laughs" document is an error, not an out-of-memory).

use saphyr_parser::{Event, Parser};

use super::ParseError;

/// Deeper documents are refused; no lockfile comes close.
const MAX_DEPTH: usize = 128;
/// Nodes an alias may copy, in total, per document.
const ALIAS_BUDGET: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Yaml {
    Null,
    Scalar(String),
    /// A quoted scalar (`'12'`, `"true"`): text, never a number or boolean.
    Quoted(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(s) | Yaml::Quoted(s) => Some(s),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Yaml)] {
        match self {
            Yaml::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Yaml] {
        match self {
            Yaml::Seq(items) => items,
            _ => &[],
        }
    }

    fn size(&self) -> usize {
        let mut total = 0;
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            total += 1;
            match node {
                Yaml::Seq(items) => stack.extend(items),
                Yaml::Map(entries) => stack.extend(entries.iter().map(|(_, v)| v)),
                _ => {}
            }
        }
        total
    }
}

enum Open {
    Seq(Vec<Yaml>, usize),
    /// Entries, the key waiting for its value, the anchor.
    Map(Vec<(String, Yaml)>, Option<String>, usize),
}

/// Every document of `text`.
pub fn parse_documents(path: &str, text: &str) -> Result<Vec<Yaml>, ParseError> {
    let mut documents = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: Vec<(usize, Yaml)> = Vec::new();
    let mut budget = ALIAS_BUDGET;
    let mut root: Option<Yaml> = None;
    let error_at = |line: usize, col: usize, message: String| {
        ParseError::line(path, line.max(1), col + 1, message)
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(event) => event,
            Err(e) => {
                return Err(error_at(
                    e.marker().line(),
                    e.marker().col(),
                    e.info().to_owned(),
                ));
            }
        };
        let at = |message: &str| error_at(span.start.line(), span.start.col(), message.to_owned());
        let value = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                root = None;
                continue;
            }
            Event::DocumentEnd => {
                documents.push(root.take().unwrap_or(Yaml::Null));
                anchors.clear();
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at("nested too deeply"));
                }
                stack.push(Open::Seq(Vec::new(), anchor));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at("nested too deeply"));
                }
                stack.push(Open::Map(Vec::new(), None, anchor));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(items, anchor)) => remember(&mut anchors, anchor, Yaml::Seq(items)),
                _ => return Err(at("unbalanced sequence")),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(entries, None, anchor)) => {
                    remember(&mut anchors, anchor, Yaml::Map(entries))
                }
                _ => return Err(at("unbalanced mapping")),
            },
            Event::Scalar(text, style, anchor, _) => {
                let plain = matches!(style, saphyr_parser::ScalarStyle::Plain);
                let value = if plain && matches!(&*text, "~" | "null" | "Null" | "NULL" | "") {
                    Yaml::Null
                } else if plain
                    || matches!(
                        style,
                        saphyr_parser::ScalarStyle::Literal | saphyr_parser::ScalarStyle::Folded
                    )
                {
                    Yaml::Scalar(text.into_owned())
                } else {
                    Yaml::Quoted(text.into_owned())
                };
                remember(&mut anchors, anchor, value)
            }
            Event::Alias(id) => {
                let Some((_, target)) = anchors.iter().rev().find(|(a, _)| *a == id) else {
                    return Err(at("alias to an unknown anchor"));
                };
                let size = target.size();
                if size > budget {
                    return Err(at("aliases expand to too many nodes"));
                }
                budget -= size;
                target.clone()
            }
        };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Open::Seq(items, _)) => items.push(value),
            Some(Open::Map(entries, pending, _)) => match pending.take() {
                Some(key) => entries.push((key, value)),
                None => match value {
                    Yaml::Scalar(key) | Yaml::Quoted(key) => *pending = Some(key),
                    Yaml::Null => *pending = Some(String::new()),
                    _ => return Err(at("a mapping key must be a plain value")),
                },
            },
        }
    }
    if let Some(root) = root {
        documents.push(root);
    }
    Ok(documents)
}

fn remember(anchors: &mut Vec<(usize, Yaml)>, anchor: usize, value: Yaml) -> Yaml {
    if anchor != 0 {
        anchors.push((anchor, value.clone()));
    }
    value
}

/// The first document (`Null` for an empty file).
pub fn parse(path: &str, text: &str) -> Result<Yaml, ParseError> {
    Ok(parse_documents(path, text)?
        .into_iter()
        .next()
        .unwrap_or(Yaml::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_maps_sequences_and_scalars() {
        let doc = parse(
            "x.yaml",
            "packages:\n  - 'apps/*'\n  - libs/**\nn: 1\nz: ~\n",
        )
        .unwrap();
        let items: Vec<_> = doc
            .get("packages")
            .unwrap()
            .items()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        assert_eq!(items, ["apps/*", "libs/**"]);
        assert_eq!(doc.get("n").and_then(Yaml::as_str), Some("1"));
        assert_eq!(doc.get("z"), Some(&Yaml::Null));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("x.yaml", "a: [1, 2\nb: c\n").unwrap_err();
        assert_eq!(e.path, "x.yaml");
        assert!(e.line >= 1, "{e}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        let e = parse("bomb.yaml", &text).unwrap_err();
        assert!(e.message.contains("too many"), "{e}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(10_000);
        assert!(parse("deep.yaml", &text).is_err());
        let block: String = (0..500).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(parse("deep.yaml", &block).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse("p.yaml", &text);
        }

        #[test]
        fn never_panics_on_yaml_like_text(text in "([a-z:\\-\\[\\]{},&*'\" \\n]|  ){0,120}") {
            let _ = parse("p.yaml", &text);
        }
    }
}

//! A tokenizer for Python source, enough to find statements, blocks and
//! literals in moz.build files: names, string literals (all quote forms and
//! prefixes), numbers, operators, logical newlines, indentation. Brackets
//! join lines as in Python; comments and `\` continuations are skipped.

use std::ops::Range;

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Name,
    /// A string literal's value; `plain` is false for f-strings and bytes,
    /// whose value is not known statically.
    Str {
        value: String,
        plain: bool,
    },
    Number,
    Op,
    Newline,
    Indent,
    Dedent,
    End,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub kind: Kind,
    /// Byte span in the source.
    pub span: Range<usize>,
}

impl Token {
    pub fn is_op(&self, text: &str, source: &str) -> bool {
        self.kind == Kind::Op && &source[self.span.clone()] == text
    }

    pub fn is_name(&self, text: &str, source: &str) -> bool {
        self.kind == Kind::Name && &source[self.span.clone()] == text
    }
}

/// A tokenizing error: where, and what.
#[derive(Clone, Debug)]
pub struct LexError {
    pub offset: usize,
    pub message: String,
}

const OPS3: &[&str] = &["**=", "//=", ">>=", "<<=", "..."];
const OPS2: &[&str] = &[
    "->", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "==", "!=", "<=", ">=", "**", "//", "<<",
    ">>", ":=", "@=",
];
const OPS1: &str = "()[]{},:.;@=+-*/%&|^~<>!";
/// The second bytes of [`OPS3`] and [`OPS2`]: after any other byte, an
/// operator is one byte long.
const LONGER_SECOND: &[u8] = b"=>*/<.";

pub fn tokenize(source: &str) -> Result<Vec<Token>, LexError> {
    let bytes = source.as_bytes();
    // About one token per eight bytes in moz.build files: sized once, not
    // grown by doubling.
    let mut tokens = Vec::with_capacity(bytes.len() / 8 + 4);
    let mut indents = vec![0usize];
    let mut depth: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    let mut at_line_start = true;
    let mut line_has_tokens = false;
    let err = |offset: usize, message: &str| LexError {
        offset,
        message: message.to_owned(),
    };
    while i < bytes.len() {
        if at_line_start && depth.is_empty() {
            // Measure indentation; blank and comment-only lines do not count.
            let mut col = 0;
            let mut j = i;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t' || bytes[j] == 0x0c) {
                col = match bytes[j] {
                    b'\t' => (col / 8 + 1) * 8,
                    0x0c => 0,
                    _ => col + 1,
                };
                j += 1;
            }
            at_line_start = false;
            let blank = j >= bytes.len()
                || bytes[j] == b'\n'
                || bytes[j] == b'\r'
                || bytes[j] == b'#'
                || (bytes[j] == b'\\' && matches!(bytes.get(j + 1), Some(b'\n' | b'\r')));
            i = j;
            if !blank {
                let current = *indents.last().expect("never empty");
                if col > current {
                    indents.push(col);
                    tokens.push(Token {
                        kind: Kind::Indent,
                        span: i..i,
                    });
                } else {
                    while col < *indents.last().expect("never empty") {
                        indents.pop();
                        tokens.push(Token {
                            kind: Kind::Dedent,
                            span: i..i,
                        });
                    }
                    if col != *indents.last().expect("never empty") {
                        return Err(err(
                            i,
                            "unindent does not match any outer indentation level",
                        ));
                    }
                }
            }
            continue;
        }
        let c = bytes[i];
        match c {
            b' ' | b'\t' | 0x0c => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'\\' => match bytes.get(i + 1) {
                Some(b'\n') => i += 2,
                Some(b'\r') if bytes.get(i + 2) == Some(&b'\n') => i += 3,
                _ => return Err(err(i, "unexpected `\\` outside a string")),
            },
            b'\n' | b'\r' => {
                if depth.is_empty() && line_has_tokens {
                    tokens.push(Token {
                        kind: Kind::Newline,
                        span: i..i + 1,
                    });
                    line_has_tokens = false;
                }
                i += 1;
                if c == b'\r' && bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            _ => {
                line_has_tokens = true;
                let start = i;
                if let Some(end) = string_start(bytes, i) {
                    let (value, plain, after) = read_string(source, i, end)?;
                    tokens.push(Token {
                        kind: Kind::Str { value, plain },
                        span: start..after,
                    });
                    i = after;
                } else if c.is_ascii_digit()
                    || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
                {
                    while i < bytes.len()
                        && (bytes[i].is_ascii_alphanumeric()
                            || bytes[i] == b'_'
                            || bytes[i] == b'.')
                    {
                        i += 1;
                    }
                    tokens.push(Token {
                        kind: Kind::Number,
                        span: start..i,
                    });
                } else if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 {
                    // ASCII names byte by byte; from a non-ASCII byte on,
                    // by character.
                    let mut j = i;
                    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_')
                    {
                        j += 1;
                    }
                    if j < bytes.len() && bytes[j] >= 0x80 {
                        let rest = &source[j..];
                        j += rest
                            .char_indices()
                            .find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_'))
                            .map_or(rest.len(), |(n, _)| n);
                    }
                    let len = j - i;
                    if len == 0 {
                        return Err(err(i, "unexpected character"));
                    }
                    i += len;
                    tokens.push(Token {
                        kind: Kind::Name,
                        span: start..i,
                    });
                } else {
                    let rest = &source[i..];
                    // Most operators are one byte: the longer ones are
                    // tried only before one of their second bytes.
                    let longer = bytes.get(i + 1).is_some_and(|b| LONGER_SECOND.contains(b));
                    let len = if longer && OPS3.iter().any(|op| rest.starts_with(op)) {
                        3
                    } else if longer && OPS2.iter().any(|op| rest.starts_with(op)) {
                        2
                    } else if OPS1.as_bytes().contains(&c) {
                        1
                    } else {
                        return Err(err(i, "unexpected character"));
                    };
                    match c {
                        b'(' | b'[' | b'{' if len == 1 => depth.push((c, i)),
                        b')' | b']' | b'}' => {
                            let open = match c {
                                b')' => b'(',
                                b']' => b'[',
                                _ => b'{',
                            };
                            if depth.pop().map(|(b, _)| b) != Some(open) {
                                return Err(err(i, "unmatched closing bracket"));
                            }
                        }
                        _ => {}
                    }
                    i += len;
                    tokens.push(Token {
                        kind: Kind::Op,
                        span: start..i,
                    });
                }
            }
        }
    }
    if let Some(&(_, offset)) = depth.last() {
        return Err(err(offset, "this bracket is never closed"));
    }
    if line_has_tokens {
        tokens.push(Token {
            kind: Kind::Newline,
            span: bytes.len()..bytes.len(),
        });
    }
    for _ in 1..indents.len() {
        tokens.push(Token {
            kind: Kind::Dedent,
            span: bytes.len()..bytes.len(),
        });
    }
    tokens.push(Token {
        kind: Kind::End,
        span: bytes.len()..bytes.len(),
    });
    Ok(tokens)
}

/// If a string literal starts at `i` (after an optional prefix such as `r`,
/// `b`, `u`, `f`, `rb`), the offset of its opening quote.
fn string_start(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j < bytes.len() && j - i < 2 && b"rRbBuUfF".contains(&bytes[j]) {
        j += 1;
    }
    matches!(bytes.get(j), Some(b'\'' | b'"')).then_some(j)
}

/// Reads the literal whose prefix starts at `start` and quote at `quote`:
/// its value, whether it is a plain string, and the offset after it.
fn read_string(
    source: &str,
    start: usize,
    quote: usize,
) -> Result<(String, bool, usize), LexError> {
    let bytes = source.as_bytes();
    let prefix = source[start..quote].to_ascii_lowercase();
    let raw = prefix.contains('r');
    let plain = !prefix.contains('f') && !prefix.contains('b');
    let q = bytes[quote];
    let triple = bytes.get(quote + 1) == Some(&q) && bytes.get(quote + 2) == Some(&q);
    let mut i = quote + if triple { 3 } else { 1 };
    let mut value = String::new();
    loop {
        let Some(&c) = bytes.get(i) else {
            return Err(LexError {
                offset: start,
                message: "unterminated string literal".to_owned(),
            });
        };
        if c == q && (!triple || (bytes.get(i + 1) == Some(&q) && bytes.get(i + 2) == Some(&q))) {
            i += if triple { 3 } else { 1 };
            return Ok((value, plain, i));
        }
        if (c == b'\n' || c == b'\r') && !triple {
            return Err(LexError {
                offset: start,
                message: "unterminated string literal".to_owned(),
            });
        }
        if c == b'\\' && i + 1 < bytes.len() {
            let next = source[i + 1..].chars().next().expect("in bounds");
            if raw {
                value.push('\\');
                value.push(next);
                i += 1 + next.len_utf8();
                continue;
            }
            i += 1 + next.len_utf8();
            match next {
                '\n' => {}
                '\r' => {
                    if bytes.get(i) == Some(&b'\n') {
                        i += 1;
                    }
                }
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                '0' => value.push('\0'),
                '\\' | '\'' | '"' => value.push(next),
                'x' => {
                    let hex = source
                        .get(i..i + 2)
                        .and_then(|h| u32::from_str_radix(h, 16).ok());
                    match hex.and_then(char::from_u32) {
                        Some(ch) => {
                            value.push(ch);
                            i += 2;
                        }
                        None => {
                            return Err(LexError {
                                offset: i - 2,
                                message: "invalid \\x escape".to_owned(),
                            });
                        }
                    }
                }
                other => {
                    // Python keeps unknown escapes as written.
                    value.push('\\');
                    value.push(other);
                }
            }
            continue;
        }
        // A run of bytes with nothing to interpret, copied at once: it ends
        // at an ASCII byte (or the end), so on a character boundary.
        let run = bytes[i..]
            .iter()
            .position(|&b| b == q || b == b'\\' || b == b'\n' || b == b'\r')
            .map_or(bytes.len(), |n| i + n);
        if run > i {
            value.push_str(&source[i..run]);
            i = run;
            continue;
        }
        let ch = source[i..].chars().next().expect("in bounds");
        value.push(ch);
        i += ch.len_utf8();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<String> {
        tokenize(source)
            .unwrap()
            .iter()
            .map(|t| match &t.kind {
                Kind::Str { value, .. } => format!("s:{value}"),
                Kind::Name | Kind::Op | Kind::Number => source[t.span.clone()].to_owned(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn every_longer_operator_has_a_second_byte_the_lexer_looks_for() {
        for op in OPS3.iter().chain(OPS2) {
            assert!(LONGER_SECOND.contains(&op.as_bytes()[1]), "{op}");
        }
        let text = "a **= b // c >> d -> e ... f @= g != h";
        let ops: Vec<&str> = tokenize(text)
            .unwrap()
            .iter()
            .filter(|t| t.kind == Kind::Op)
            .map(|t| &text[t.span.clone()])
            .collect();
        assert_eq!(ops, ["**=", "//", ">>", "->", "...", "@=", "!="]);
        let names: Vec<&str> = tokenize("ab_1 é_x x2é")
            .unwrap()
            .iter()
            .filter(|t| t.kind == Kind::Name)
            .map(|t| &"ab_1 é_x x2é"[t.span.clone()])
            .collect();
        assert_eq!(names, ["ab_1", "é_x", "x2é"]);
        let strings: Vec<Kind> = tokenize("'a\\tb' '''x'y''' 'é\\x41z'")
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .filter(|k| matches!(k, Kind::Str { .. }))
            .collect();
        let value = |v: &str| Kind::Str {
            value: v.to_owned(),
            plain: true,
        };
        assert_eq!(strings, [value("a\tb"), value("x'y"), value("éAz")]);
    }

    #[test]
    fn blocks_strings_and_joined_lines() {
        let source = "with Files('a', \"b\"):\n    # c\n    X += [\n        'y',  # z\n    ]\n\nZ = r'\\d' '''t\nu'''\n";
        assert_eq!(
            kinds(source),
            [
                "with", "Files", "(", "s:a", ",", "s:b", ")", ":", "Newline", "Indent", "X", "+=",
                "[", "s:y", ",", "]", "Newline", "Dedent", "Z", "=", "s:\\d", "s:t\nu", "Newline",
                "End"
            ]
        );
    }

    #[test]
    fn errors_have_offsets() {
        assert!(tokenize("x = 'abc\n").is_err());
        assert!(tokenize("x = (1,\n").is_err());
        assert!(tokenize("if x:\n    a\n  b\n").is_err());
        assert!(tokenize("x = ]").is_err());
    }
}

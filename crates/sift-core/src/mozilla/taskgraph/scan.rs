//! The structure of a full task graph, found without parsing what the
//! optimizer never reads.
//!
//! Almost all of a `full-task-graph.json` is task definitions (`"task":
//! {...}`), 1–2 KB each. They are skipped by structure: strings (to their
//! closing quote, escapes honoured) and brackets, nothing decoded. Every
//! other field of a task is parsed with serde_json from its own slice, so
//! its errors are serde's. A graph that is not JSON is still an error with
//! its line and column; only malformed *contents* of a skipped `task`
//! (e.g. a bad escape inside one of its strings) go unnoticed, as they
//! would if sift never looked at them at all.

use super::graph::GraphError;

/// One task entry: its label and the byte ranges of the fields sift reads.
pub(crate) struct RawEntry<'a> {
    pub label: std::borrow::Cow<'a, str>,
    pub fields: Vec<(&'a [u8], &'a [u8])>,
}

fn error(text: &[u8], at: usize, message: &str) -> GraphError {
    let at = at.min(text.len());
    let line = text[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let column = at
        - text[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    GraphError::Json {
        line,
        column,
        message: message.to_owned(),
    }
}

fn ws(text: &[u8], mut i: usize) -> usize {
    while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// From just after an opening quote to just after the closing one.
fn string_end(text: &[u8], mut i: usize) -> Result<usize, GraphError> {
    loop {
        match text[i..].iter().position(|&b| b == b'"' || b == b'\\') {
            Some(p) if text[i + p] == b'"' => return Ok(i + p + 1),
            Some(p) => i += p + 2,
            None => return Err(error(text, text.len(), "EOF while parsing a string")),
        }
        if i > text.len() {
            return Err(error(text, text.len(), "EOF while parsing a string"));
        }
    }
}

/// The end of the value starting at `i`.
fn value_end(text: &[u8], i: usize) -> Result<usize, GraphError> {
    match text.get(i) {
        Some(b'"') => string_end(text, i + 1),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match text.get(j) {
                    None => return Err(error(text, j, "EOF while parsing a value")),
                    Some(b'"') => {
                        j = string_end(text, j + 1)?;
                        continue;
                    }
                    Some(b'{' | b'[') => depth += 1,
                    Some(b'}' | b']') => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        Some(_) => {
            let mut j = i;
            while j < text.len()
                && !matches!(text[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            if j == i {
                return Err(error(text, i, "expected value"));
            }
            Ok(j)
        }
        None => Err(error(text, i, "EOF while parsing a value")),
    }
}

fn key<'a>(text: &'a [u8], i: usize) -> Result<(std::borrow::Cow<'a, str>, usize), GraphError> {
    if text.get(i) != Some(&b'"') {
        return Err(error(text, i, "key must be a string"));
    }
    let end = string_end(text, i + 1)?;
    let raw = &text[i + 1..end - 1];
    let key = if raw.contains(&b'\\') {
        std::borrow::Cow::Owned(
            serde_json::from_slice::<String>(&text[i..end])
                .map_err(|e| error(text, i + e.column(), &e.to_string()))?,
        )
    } else {
        std::borrow::Cow::Borrowed(
            std::str::from_utf8(raw).map_err(|_| error(text, i, "invalid UTF-8 in a key"))?,
        )
    };
    Ok((key, end))
}

/// Iterates `{ "key": value, ... }` from `i` (at the `{`), calling `each`
/// with the key and the value's range; returns the end of the object.
fn object<'a>(
    text: &'a [u8],
    i: usize,
    mut each: impl FnMut(std::borrow::Cow<'a, str>, usize, usize) -> Result<(), GraphError>,
) -> Result<usize, GraphError> {
    if text.get(i) != Some(&b'{') {
        return Err(error(text, i, "expected an object"));
    }
    let mut j = ws(text, i + 1);
    if text.get(j) == Some(&b'}') {
        return Ok(j + 1);
    }
    loop {
        let (name, after) = key(text, j)?;
        j = ws(text, after);
        if text.get(j) != Some(&b':') {
            return Err(error(text, j, "expected `:`"));
        }
        j = ws(text, j + 1);
        let end = value_end(text, j)?;
        each(name, j, end)?;
        j = ws(text, end);
        match text.get(j) {
            Some(b',') => j = ws(text, j + 1),
            Some(b'}') => return Ok(j + 1),
            _ => return Err(error(text, j, "expected `,` or `}`")),
        }
    }
}

/// The graph's entries with the byte slices of the fields sift reads.
pub(crate) fn entries<'a>(
    text: &'a [u8],
    wanted: &[&'static str],
) -> Result<Vec<RawEntry<'a>>, GraphError> {
    let mut out = Vec::with_capacity(text.len() / 1500);
    let start = ws(text, 0);
    let end = object(text, start, |label, i, end| {
        let mut fields = Vec::with_capacity(wanted.len());
        object(text, i, |name, vi, ve| {
            if let Some(w) = wanted.iter().find(|w| **w == name) {
                fields.push((w.as_bytes(), &text[vi..ve]));
            }
            Ok(())
        })
        .and_then(|task_end| {
            (task_end == end)
                .then_some(())
                .ok_or_else(|| error(text, task_end, "trailing characters in a task"))
        })?;
        out.push(RawEntry { label, fields });
        Ok(())
    })?;
    let rest = ws(text, end);
    if rest != text.len() {
        return Err(error(text, rest, "trailing characters"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fields_and_skips_the_rest() {
        let text = br#" {"a\"b": {"task": {"x": ["}", "\\", {"y": 1e5}]}, "kind": "k"},
            "c": {}} "#;
        let entries = entries(text, &["kind"]).unwrap();
        assert_eq!(entries[0].label, "a\"b");
        assert_eq!(entries[0].fields, vec![(&b"kind"[..], &br#""k""#[..])]);
        assert_eq!(entries[1].label, "c");
        for bad in [
            &b"{\"a\": {\"task\": [}"[..],
            b"{\"a\": 1",
            b"{\"a\": {}} x",
            b"[1]",
            b"{\"a\": {\"t\": \"x}}",
        ] {
            assert!(
                super::entries(bad, &[]).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

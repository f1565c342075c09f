//! `mozpath.match(path, pattern)` (mozpack/path.py, copied into taskgraph's
//! `taskgraph/util/path.py`), which differs from sift's native patterns:
//!
//! - a pattern also matches everything below a path it matches (`*` matches
//!   every file at any depth, `foo/bar/*` matches `foo/bar/x/y`);
//! - `**/` at the start or after `/` stands for zero or more directories;
//!   `**` at the end (at the start or after `/`) for "anything below";
//!   any other `*`, including a `**` that does not touch `/` (`**.py`), is
//!   a run of non-`/` characters, so `**.py` behaves like `*.py`;
//! - `?`, `[` and `]` are literal, and an empty pattern matches everything.
//!
//! mozpath builds a regular expression by textual substitution; this module
//! performs the same substitutions into a token list and matches it with a
//! linear sweep per token (no backtracking, so no pattern is slow).
//! Paths are assumed to hold no newline (Python's `.` would stop there).

/// A compiled `mozpath.match` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MozPattern {
    source: String,
    tokens: Vec<Token>,
    /// The longest literal token, if any (the last of equal ones): a path
    /// that does not hold it anywhere cannot match, which most paths show
    /// in a short scan before the automaton runs.
    required: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// Literal text.
    Literal(String),
    /// `*`: any run of non-`/` characters (`[^/]*`).
    Star,
    /// `**/` at the start or after `/`: `(?:.+/)?`.
    AnyDirs,
    /// `**` at the end: `(?:/.+)?` after a `/`, `(?:.+)?` at the start.
    AnyBelow { slash: bool },
}

impl MozPattern {
    pub fn new(pattern: &str) -> MozPattern {
        // 1. `(^|/)**/` → `\1(?:.+/)?`, left to right without overlaps: the
        //    `/` before a `**/` belongs to the match, so `a/**/**/b` turns only
        //    its first `**/` into directories.
        let bytes = pattern.as_bytes();
        let mut pieces: Vec<Piece> = vec![Piece::Text(String::new())];
        let mut i = 0;
        while i < bytes.len() {
            let at_start = i == 0;
            if bytes[i..].starts_with(b"**/") && at_start {
                pieces.push(Piece::AnyDirs);
                pieces.push(Piece::Text(String::new()));
                i += 3;
                continue;
            }
            if bytes[i] == b'/' && bytes[i + 1..].starts_with(b"**/") {
                push_text(&mut pieces, "/");
                pieces.push(Piece::AnyDirs);
                pieces.push(Piece::Text(String::new()));
                i += 4;
                continue;
            }
            let c = pattern[i..].chars().next().expect("inside the string");
            let mut buf = [0u8; 4];
            push_text(&mut pieces, c.encode_utf8(&mut buf));
            i += c.len_utf8();
        }
        // 2. `(^|/)**$` on the result → `(?:\1.+)?`. "The start" is the
        //    start of the whole substituted text, so a trailing `**` right
        //    after a `**/` replacement (`**/**`) is not converted.
        let mut below = None;
        let only_piece = pieces.len() == 1;
        if let Some(Piece::Text(last)) = pieces.last_mut()
            && last.ends_with("**")
        {
            let head = &last[..last.len() - 2];
            if head.ends_with('/') {
                let cut = last.len() - 3;
                last.truncate(cut);
                below = Some(true);
            } else if head.is_empty() && only_piece {
                last.clear();
                below = Some(false);
            }
        }
        // 3. Every remaining `*` → `[^/]*`.
        let mut tokens = Vec::new();
        for piece in pieces {
            match piece {
                Piece::AnyDirs => tokens.push(Token::AnyDirs),
                Piece::Text(text) => {
                    for (n, part) in text.split('*').enumerate() {
                        if n > 0 {
                            tokens.push(Token::Star);
                        }
                        if !part.is_empty() {
                            tokens.push(Token::Literal(part.to_owned()));
                        }
                    }
                }
            }
        }
        if let Some(slash) = below {
            tokens.push(Token::AnyBelow { slash });
        }
        let required = tokens
            .iter()
            .enumerate()
            .filter_map(|(i, token)| match token {
                Token::Literal(text) => Some((text.len(), i)),
                _ => None,
            })
            .max()
            .map(|(_, i)| i);
        MozPattern {
            source: pattern.to_owned(),
            tokens,
            required,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The literal text every matching path starts with.
    pub fn literal_prefix(&self) -> &str {
        match self.tokens.first() {
            Some(Token::Literal(text)) => text,
            _ => "",
        }
    }

    /// `mozpath.match(path, pattern)`.
    pub fn matches(&self, path: &str) -> bool {
        if self.source.is_empty() {
            return true;
        }
        let path = path.as_bytes();
        if !has_at(path, 0, self.literal_prefix().as_bytes()) {
            return false;
        }
        // `dir` and `dir/**` (most patterns): the path or anything below it.
        if let [Token::Literal(text)] | [Token::Literal(text), Token::AnyBelow { slash: true }] =
            self.tokens.as_slice()
        {
            return path.len() == text.len() || path[text.len()] == b'/';
        }
        if let Some(Token::Literal(text)) = self.required.map(|i| &self.tokens[i])
            && !holds(path, text.as_bytes())
        {
            return false;
        }
        if path.len() < 128 {
            self.matches_bits(path)
        } else {
            self.matches_rows(path)
        }
    }

    /// The pattern's regular expression run as an automaton over the
    /// positions `0..=n` of the path: after each token, the positions
    /// where the text matched so far can end. Each token's step is a
    /// handful of operations on all positions at once, held as the bits
    /// of one integer (so paths up to 127 bytes, nearly all of them).
    fn matches_bits(&self, path: &[u8]) -> bool {
        let n = path.len();
        debug_assert!(n < 128);
        // Positions `k..` and `..=k`, within `0..=n`.
        let from = |k: usize| if k > 127 { 0 } else { u128::MAX << k };
        let upto = |k: usize| {
            if k >= 127 {
                u128::MAX
            } else {
                (1u128 << (k + 1)) - 1
            }
        };
        let all = upto(n);
        let slashes = path
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'/')
            .fold(0u128, |bits, (i, _)| bits | 1 << i);
        let mut cur: u128 = 1;
        for token in &self.tokens {
            cur = match token {
                Token::Literal(text) => {
                    let text = text.as_bytes();
                    let mut next = 0;
                    let mut starts = cur;
                    while starts != 0 {
                        let p = starts.trailing_zeros() as usize;
                        starts &= starts - 1;
                        if has_at(path, p, text) {
                            next |= 1 << (p + text.len());
                        }
                    }
                    next
                }
                // `[^/]*`: from p up to the first `/` at or after it.
                Token::Star => {
                    let mut next = 0;
                    let mut starts = cur;
                    while starts != 0 {
                        let p = starts.trailing_zeros() as usize;
                        let beyond = slashes & from(p);
                        let end = if beyond == 0 {
                            n
                        } else {
                            beyond.trailing_zeros() as usize
                        };
                        next |= from(p) & upto(end);
                        starts &= !upto(end);
                    }
                    next
                }
                // `(?:.+/)?`: or just after a `/` at least two past the first start.
                Token::AnyDirs => cur | (slashes << 1 & from(cur.trailing_zeros() as usize + 2)),
                // `(?:/.+)?` or `(?:.+)?`: or anywhere `skip` past the first start.
                Token::AnyBelow { slash } => {
                    let starts = if *slash {
                        cur & slashes
                    } else {
                        cur & !(1 << n)
                    };
                    let skip = if *slash { 2 } else { 1 };
                    match starts {
                        0 => cur,
                        _ => cur | from(starts.trailing_zeros() as usize + skip),
                    }
                }
            } & all;
            if cur == 0 {
                return false;
            }
        }
        // `(?:/.*)?$`
        cur & 1 << n != 0 || cur & slashes != 0
    }

    /// [`MozPattern::matches_bits`] for paths of any length, a row of
    /// booleans per step (and the reference the bits are tested against).
    fn matches_rows(&self, path: &[u8]) -> bool {
        let n = path.len();
        let mut cur = vec![false; n + 1];
        let mut next = vec![false; n + 1];
        cur[0] = true;
        for token in &self.tokens {
            next.iter_mut().for_each(|b| *b = false);
            match token {
                Token::Literal(text) => {
                    let text = text.as_bytes();
                    for p in 0..=n {
                        if cur[p] && path[p..].starts_with(text) {
                            next[p + text.len()] = true;
                        }
                    }
                }
                Token::Star => {
                    for q in 0..=n {
                        next[q] = cur[q] || (q > 0 && next[q - 1] && path[q - 1] != b'/');
                    }
                }
                Token::AnyDirs => {
                    // Empty, or `.+/`: from p, at least one character, ending in `/`.
                    let mut started = false; // some p < q-1 with cur[p]
                    for q in 0..=n {
                        next[q] = cur[q] || (q >= 2 && started && path[q - 1] == b'/');
                        if q >= 1 && cur[q - 1] {
                            started = true;
                        }
                    }
                }
                Token::AnyBelow { slash } => {
                    // Empty, or (`/`)`.+`: anywhere at least one character
                    // (after the `/`) beyond the earliest start.
                    let skip = if *slash { 2 } else { 1 };
                    let start = (0..n).find(|&p| cur[p] && (!slash || path[p] == b'/'));
                    for q in 0..=n {
                        next[q] = cur[q] || start.is_some_and(|p| q >= p + skip);
                    }
                }
            }
            std::mem::swap(&mut cur, &mut next);
            if !cur.iter().any(|b| *b) {
                return false;
            }
        }
        // `(?:/.*)?$`
        cur[n] || (0..n).any(|p| cur[p] && path[p] == b'/')
    }
}

enum Piece {
    Text(String),
    AnyDirs,
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    match pieces.last_mut() {
        Some(Piece::Text(last)) => last.push_str(text),
        _ => pieces.push(Piece::Text(text.to_owned())),
    }
}

/// Whether `text` is in `path` at `p` (`p <= path.len()`). A loop of
/// its own: the literals are short and nearly always differ at their first
/// byte, where a call to `memcmp` (as `starts_with` makes) cost more than
/// the comparison; matching `Files()` patterns for a 1,000-file change
/// spent 14% of `sift files --mozbuild` in such calls.
#[inline]
fn has_at(path: &[u8], p: usize, text: &[u8]) -> bool {
    let Some(rest) = path.get(p..) else {
        return false;
    };
    if rest.len() < text.len() {
        return false;
    }
    let mut i = 0;
    while i < text.len() {
        if rest[i] != text[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `text` (not empty) occurs anywhere in `path`.
#[inline]
fn holds(path: &[u8], text: &[u8]) -> bool {
    memchr::memchr_iter(text[0], path).any(|p| has_at(path, p, text))
}

/// `mozpath.match(path, pattern)` for a one-off pattern.
pub fn matches(path: &str, pattern: &str) -> bool {
    MozPattern::new(pattern).matches(path)
}

/// How a `Files()` pattern selects a path relative to its moz.build
/// directory: equal to it, or, only when the pattern holds a `*`, by
/// `mozpath.match`. So `Files('foo')` never applies to `foo/baz`.
pub fn files_pattern_selects(pattern: &MozPattern, relpath: &str) -> bool {
    pattern.as_str() == relpath || (pattern.as_str().contains('*') && pattern.matches(relpath))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn yes(path: &str, pattern: &str) {
        assert!(matches(path, pattern), "{path} should match {pattern}");
    }

    #[track_caller]
    fn no(path: &str, pattern: &str) {
        assert!(!matches(path, pattern), "{path} should not match {pattern}");
    }

    /// The cases of mozpack's `test_path.py::test_match` and the reference.
    #[test]
    fn mozpack_match_cases() {
        yes("foo", "");
        yes("foo/bar/baz.qux", "foo/bar");
        yes("foo/bar/baz.qux", "foo");
        yes("foo", "*");
        yes("foo/bar/baz.qux", "foo/bar/*");
        yes("foo/bar/baz.qux", "foo/bar/*");
        yes("foo/bar/baz.qux", "foo/bar/*");
        yes("foo/bar/baz.qux", "foo/bar/*");
        yes("foo/bar/baz.qux", "foo/*/baz.qux");
        yes("foo/bar/baz.qux", "*/bar/baz.qux");
        yes("foo/bar/baz.qux", "*/*/baz.qux");
        yes("foo/bar/baz.qux", "*/*/*");
        yes("foo/bar/baz.qux", "foo/*/*");
        yes("foo/bar/baz.qux", "foo/*/*.qux");
        yes("foo/bar/baz.qux", "foo/b*/*z.qux");
        yes("foo/bar/baz.qux", "foo/b*r/ba*z.qux");
        no("foo/bar/baz.qux", "foo/b*z/ba*r.qux");
        yes("foo/bar/baz.qux", "**");
        yes("foo/bar/baz.qux", "**/baz.qux");
        yes("foo/bar/baz.qux", "**/bar/baz.qux");
        yes("foo/bar/baz.qux", "foo/**/baz.qux");
        yes("foo/bar/baz.qux", "foo/**/*.qux");
        yes("foo/bar/baz.qux", "**/foo/bar/baz.qux");
        yes("foo/bar/baz.qux", "foo/**/bar/baz.qux");
        yes("foo/bar/baz.qux", "foo/**/bar/*.qux");
        yes("foo/bar/baz.qux", "foo/**/*.qux");
        yes("foo/bar/baz.qux", "**/*.qux");
        no("foo/bar/baz.qux", "**.qux");
        no("foo/bar", "foo/*/bar");
        yes("foo/bar/baz.qux", "foo/**");
        no("foo/nobar/baz.qux", "foo/**/bar/**");
        yes("foo/bar", "foo/**/bar/**");
    }

    #[test]
    fn reference_consequences() {
        yes("a/b/c", "*");
        yes("foo/bar/x/y", "foo/bar/*");
        yes("gradle/wrapper/x", "*gradle*");
        no("foo/bar", "foo/*/bar");
        yes("subd/a.py", "subd/**.py");
        no("subd/x/a.py", "subd/**.py");
        yes("a?b", "a?b");
        no("axb", "a?b");
        yes("a[b]", "a[b]");
        yes("docs", "docs/**");
        yes("docs/a/b", "docs/**");
        no("docsx/a", "docs/**");
        yes("taskcluster/a/b.py", "taskcluster");
        no("Docs/a", "docs/**");
        // `**/**`: the trailing `**` follows a replacement, not a `/`.
        yes("a/b", "**/**");
        // Only the first of two adjacent `**/` becomes directories.
        yes("a/x/y/b", "a/**/**/b");
        no("a/b", "a/**/**/b");
        yes("a/x/b", "a/**/**/b");
    }

    #[test]
    fn files_patterns_without_star_are_exact() {
        let foo = MozPattern::new("foo");
        assert!(files_pattern_selects(&foo, "foo"));
        assert!(!files_pattern_selects(&foo, "foo/baz"));
        let star = MozPattern::new("foo/*");
        assert!(files_pattern_selects(&star, "foo/baz/qux"));
    }

    #[test]
    fn has_at_agrees_with_starts_with() {
        let path = b"ab/cab";
        for p in 0..=path.len() + 1 {
            for text in [&b""[..], b"a", b"ab", b"cab", b"b/c", b"abx", b"cabc"] {
                let expected = path.get(p..).is_some_and(|rest| rest.starts_with(text));
                assert_eq!(has_at(path, p, text), expected, "{p} {text:?}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The bit automaton answers as the rows do, on patterns and paths
        /// dense in `*`, `**` and `/`.
        #[test]
        fn bits_agree_with_rows(
            pattern in "([ab./]|\\*|\\*\\*|\\*\\*/){0,8}",
            path in "[ab./]{0,24}",
            long in "[ab/]{100,140}",
        ) {
            let compiled = MozPattern::new(&pattern);
            for path in [path.as_str(), long.as_str()] {
                let bytes = path.as_bytes();
                if bytes.len() < 128 {
                    proptest::prop_assert_eq!(
                        compiled.matches_bits(bytes),
                        compiled.matches_rows(bytes),
                        "{:?} against {:?}", path, pattern
                    );
                }
            }
        }

        /// `matches` with its shortcuts (the literal prefix, `dir/**`, the
        /// required literal) answers as the rows alone do.
        #[test]
        fn shortcuts_agree_with_rows(
            pattern in "([ab./]|ab|ba|\\*|\\*\\*|\\*\\*/){0,8}",
            path in "[ab./]{0,24}",
        ) {
            let compiled = MozPattern::new(&pattern);
            proptest::prop_assert_eq!(
                compiled.matches(&path),
                pattern.is_empty() || compiled.matches_rows(path.as_bytes()),
                "{:?} against {:?}", path, pattern
            );
        }
    }
}

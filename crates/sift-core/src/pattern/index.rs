//! One index over many pattern lists: each changed path is looked up once,
//! instead of being tried against every pattern of every list.
//!
//! The idea is `globset`'s: most patterns name something literal that a path
//! must contain, so they can be found through a hash map instead of being run.
//! Every alternative of every pattern (after `{a,b}` expansion) is
//! deduplicated and filed in exactly one bucket:
//!
//! | bucket   | alternatives                                  | a path looks up           |
//! |----------|-----------------------------------------------|---------------------------|
//! | prefix   | leading literal segments (`dir/sub/**`, `dir/*.rs`, `tools/x/**/*.py`) | each of its leading segment prefixes |
//! | name     | no literal start, last segment literal (`**/Makefile`, `a_*/sub/deep/**`) | each of its segments |
//! | ext      | no literal start, last segment `*.ext`-like (`**/*.py`, `*/*.tar.gz`)    | each segment's extension |
//! | residue  | everything else (`*`, `**/x*`, `[ab]/**`)     | always                    |
//!
//! A bucket only proposes candidates; each is then checked with the real
//! matcher, so the index answers exactly what trying every pattern answers.
//! Why each bucket cannot miss a match: a pattern matches a path when it
//! matches some leading run of its segments (a matched directory matches
//! everything below it). Leading literal segments can only meet the path's
//! first segments, since nothing before them can absorb a segment; the last
//! segment of a pattern that does not end in `**` meets the last segment of
//! that run, which is one of the path's segments, and a segment matched by a
//! segment pattern ending in `.ext` (no wildcard after its last `.`) has that
//! extension. A trailing `**` changes nothing (it matches zero segments, and
//! everything below a match matches anyway), so it is ignored for filing.

use std::borrow::Cow;
use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};

use super::{
    Alternative, PatternList, Segment, TextKind, Token, compile_text, match_prefix,
    with_text_segments,
};

/// No entry (the end of a chain).
const NONE: u32 = u32::MAX;

/// A compiled set of pattern lists (list ids are their positions in the
/// iterator given to [`PatternIndex::new`]).
///
/// Built for speed of construction as much as of look-up, since a plan
/// builds it cold: buckets are keyed by a hash of their key (a collision only
/// adds a candidate, which the matcher then rejects), the alternatives of a
/// bucket form a chain through [`Entry::next`], the text of simple patterns
/// is copied into one string, and per-list and per-alternative lists are
/// slices of shared vectors.
#[derive(Debug, Default)]
pub struct PatternIndex {
    entries: Vec<Entry>,
    /// The text of every simple alternative, back to back.
    texts: String,
    /// The compiled alternatives of other patterns.
    compiled: Vec<Box<[Segment]>>,
    /// `(list, pattern)` owners, chained per alternative.
    owners: Vec<Owner>,
    /// Per list: its patterns' negation flags, at `negated_start[list]..`.
    negated: Vec<bool>,
    negated_start: Vec<u32>,
    /// Per list: the alternatives it owns, at `owned_start[list]..`.
    owned: Vec<u32>,
    owned_start: Vec<u32>,
    by_prefix: FxHashMap<u64, u32>,
    by_name: FxHashMap<u64, u32>,
    by_ext: FxHashMap<u64, u32>,
    residue: Vec<u32>,
    /// The longest literal prefix filed, in segments: a path's deeper
    /// prefixes cannot be keys.
    max_prefix: usize,
}

/// One distinct alternative.
#[derive(Debug)]
struct Entry {
    body: Body,
    /// A text alternative's segments, compiled when it is first a candidate.
    compiled: std::sync::OnceLock<Box<[Segment]>>,
    /// The first of its owners in [`PatternIndex::owners`].
    first_owner: u32,
    /// The next alternative in the same bucket.
    next: u32,
}

#[derive(Debug, Clone, Copy)]
enum Body {
    /// `texts[start..end]`.
    Text(u32, u32),
    /// `compiled[i]`.
    Compiled(u32),
}

#[derive(Debug)]
struct Owner {
    list: u32,
    pattern: u32,
    next: u32,
}

/// How one list decides a path: the index of the pattern that decides
/// (the last one that matches) and whether it selects the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListDecision {
    pub list: u32,
    pub pattern: u32,
    pub selects: bool,
}

/// Reusable buffers for [`PatternIndex`] look-ups.
#[derive(Debug, Default)]
pub struct IndexScratch {
    candidates: Vec<u32>,
    /// Per alternative: the look-up that last proposed it.
    proposed: Vec<u32>,
    lookup: u32,
    /// Per list: the path generation of `best`, and the highest matching pattern.
    stamp: Vec<u32>,
    best: Vec<u32>,
    generation: u32,
    touched: Vec<u32>,
    matched: Vec<u32>,
}

/// Where an alternative is filed (see the module docs), by key hash.
#[derive(Debug, PartialEq, Eq)]
enum Bucket {
    Prefix(u64, usize),
    Name(u64),
    Ext(u64),
    Residue,
}

fn hash_str(text: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(text.as_bytes());
    hasher.finish()
}

/// The key of a literal prefix, one segment at a time: a path's prefixes
/// are hashed incrementally as they are looked up.
const PREFIX_SEED: u64 = 0x2545_f491_4f6c_dd1d;

fn extend_prefix(hash: u64, segment: &str) -> u64 {
    (hash.rotate_left(26) ^ hash_str(segment)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl PatternIndex {
    /// Indexes every pattern of every list.
    pub fn new<'a>(lists: impl IntoIterator<Item = &'a PatternList>) -> PatternIndex {
        let mut index = PatternIndex::default();
        let mut ids: FxHashMap<Alternative<'a>, u32> = FxHashMap::default();
        let mut owned: Vec<u32> = Vec::new();
        for (list_id, list) in lists.into_iter().enumerate() {
            let list_id = u32::try_from(list_id).expect("fewer than 2^32 lists");
            index.negated_start.push(index.negated.len() as u32);
            index.owned_start.push(index.owned.len() as u32);
            owned.clear();
            for (pattern_id, (is_negated, pattern)) in list.entries.iter().enumerate() {
                index.negated.push(*is_negated);
                let pattern_id = u32::try_from(pattern_id).expect("fewer than 2^32 patterns");
                for alternative in pattern.alternatives() {
                    let id = *ids
                        .entry(alternative)
                        .or_insert_with(|| index.add(alternative));
                    let entry = &mut index.entries[id as usize];
                    let first = entry.first_owner;
                    let repeated = first != NONE && {
                        let owner = &index.owners[first as usize];
                        (owner.list, owner.pattern) == (list_id, pattern_id)
                    };
                    if !repeated {
                        entry.first_owner = index.owners.len() as u32;
                        index.owners.push(Owner {
                            list: list_id,
                            pattern: pattern_id,
                            next: first,
                        });
                    }
                    owned.push(id);
                }
            }
            owned.sort_unstable();
            owned.dedup();
            index.owned.extend_from_slice(&owned);
        }
        index.negated_start.push(index.negated.len() as u32);
        index.owned_start.push(index.owned.len() as u32);
        index
    }

    /// Adds a new alternative and files it in its bucket.
    fn add(&mut self, alternative: Alternative<'_>) -> u32 {
        let id = u32::try_from(self.entries.len()).expect("fewer than 2^32 alternatives");
        let (body, bucket) = match alternative {
            Alternative::Text(text) => {
                let start = self.texts.len() as u32;
                self.texts.push_str(text);
                let body = Body::Text(start, self.texts.len() as u32);
                (body, with_text_segments(text, |segments| bucket(segments)))
            }
            Alternative::Segments(segments) => {
                self.compiled.push(segments.into());
                let body = Body::Compiled(self.compiled.len() as u32 - 1);
                (body, bucket(segments))
            }
        };
        let chain = match bucket {
            Bucket::Prefix(key, depth) => {
                self.max_prefix = self.max_prefix.max(depth);
                self.by_prefix.insert(key, id)
            }
            Bucket::Name(key) => self.by_name.insert(key, id),
            Bucket::Ext(key) => self.by_ext.insert(key, id),
            Bucket::Residue => {
                self.residue.push(id);
                None
            }
        };
        self.entries.push(Entry {
            body,
            compiled: std::sync::OnceLock::new(),
            first_owner: NONE,
            next: chain.unwrap_or(NONE),
        });
        id
    }

    /// How many lists were indexed.
    pub fn lists(&self) -> usize {
        self.owned_start.len().saturating_sub(1)
    }

    /// How many distinct alternatives the lists hold.
    pub fn alternatives(&self) -> usize {
        self.entries.len()
    }

    /// The alternatives `list` owns.
    pub fn alternatives_of(&self, list: u32) -> &[u32] {
        let l = list as usize;
        &self.owned[self.owned_start[l] as usize..self.owned_start[l + 1] as usize]
    }

    /// The `(list, pattern)` pairs that hold `alternative`.
    pub fn owners(&self, alternative: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut next = self.entries[alternative as usize].first_owner;
        std::iter::from_fn(move || {
            let owner = self.owners.get(next as usize)?;
            next = owner.next;
            Some((owner.list, owner.pattern))
        })
    }

    fn negated(&self, list: u32, pattern: u32) -> bool {
        self.negated[(self.negated_start[list as usize] + pattern) as usize]
    }

    fn matches(&self, id: u32, path: &[&str]) -> bool {
        let entry = &self.entries[id as usize];
        let segments = match entry.body {
            Body::Text(start, end) => entry
                .compiled
                .get_or_init(|| compile_text(&self.texts[start as usize..end as usize])),
            Body::Compiled(i) => &self.compiled[i as usize],
        };
        match_prefix(segments, path)
    }

    /// Appends the chain starting at `head` to `out`, each alternative once
    /// per look-up (it may be proposed twice: its name is two segments of the
    /// path, or two keys share a hash), and only those `live` accepts.
    fn chain(
        &self,
        head: Option<&u32>,
        proposed: &mut [u32],
        lookup: u32,
        live: &mut impl FnMut(u32) -> bool,
        out: &mut Vec<u32>,
    ) {
        let mut next = head.copied().unwrap_or(NONE);
        while next != NONE {
            let seen = &mut proposed[next as usize];
            if *seen != lookup {
                *seen = lookup;
                if live(next) {
                    out.push(next);
                }
            }
            next = self.entries[next as usize].next;
        }
    }

    /// The alternatives that match `path` (split into non-empty segments),
    /// each once, in no particular order; `live` filters candidates before
    /// they are run (callers skip alternatives whose lists are all decided).
    pub fn matching_alternatives(
        &self,
        path: &[&str],
        scratch: &mut IndexScratch,
        mut live: impl FnMut(u32) -> bool,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        if path.is_empty() {
            return;
        }
        let mut candidates = std::mem::take(&mut scratch.candidates);
        candidates.clear();
        let mut proposed = std::mem::take(&mut scratch.proposed);
        if proposed.len() < self.entries.len() {
            proposed.resize(self.entries.len(), 0);
        }
        scratch.lookup = scratch.lookup.wrapping_add(1);
        if scratch.lookup == 0 {
            proposed.fill(0);
            scratch.lookup = 1;
        }
        let lookup = scratch.lookup;
        if !self.by_prefix.is_empty() {
            let mut key = PREFIX_SEED;
            for segment in path.iter().take(self.max_prefix) {
                key = extend_prefix(key, segment);
                let head = self.by_prefix.get(&key);
                self.chain(head, &mut proposed, lookup, &mut live, &mut candidates);
            }
        }
        if !self.by_name.is_empty() || !self.by_ext.is_empty() {
            for segment in path {
                if !self.by_name.is_empty() {
                    let head = self.by_name.get(&hash_str(segment));
                    self.chain(head, &mut proposed, lookup, &mut live, &mut candidates);
                }
                if !self.by_ext.is_empty()
                    && let Some((_, ext)) = segment.rsplit_once('.')
                {
                    let head = self.by_ext.get(&hash_str(ext));
                    self.chain(head, &mut proposed, lookup, &mut live, &mut candidates);
                }
            }
        }
        for &id in &self.residue {
            if live(id) {
                candidates.push(id);
            }
        }
        for &id in &candidates {
            if self.matches(id, path) {
                out.push(id);
            }
        }
        scratch.candidates = candidates;
        scratch.proposed = proposed;
    }

    /// Per list and pattern: whether the pattern matches at least one of
    /// `paths` (for "matches no tracked file" warnings). Alternatives stop
    /// being run once they have matched, and the scan stops once all have.
    pub fn matched_patterns<'p>(&self, paths: impl IntoIterator<Item = &'p str>) -> Vec<Vec<bool>> {
        let mut seen = vec![false; self.entries.len()];
        let mut unseen = self.entries.len();
        let mut scratch = IndexScratch::default();
        let mut matched = Vec::new();
        for path in paths {
            if unseen == 0 {
                break;
            }
            super::with_segments(path, |segments| {
                self.matching_alternatives(
                    segments,
                    &mut scratch,
                    |a| !seen[a as usize],
                    &mut matched,
                );
            });
            for &alternative in &matched {
                seen[alternative as usize] = true;
                unseen -= 1;
            }
        }
        let mut result: Vec<Vec<bool>> = self
            .negated_start
            .windows(2)
            .map(|w| vec![false; (w[1] - w[0]) as usize])
            .collect();
        for (alternative, seen) in seen.into_iter().enumerate() {
            if seen {
                for (list, pattern) in self.owners(alternative as u32) {
                    result[list as usize][pattern as usize] = true;
                }
            }
        }
        result
    }

    /// How every list that some pattern matches decides `path`, sorted by
    /// list: the same answer as [`PatternList::decide`] on each list.
    pub fn decide(&self, path: &[&str], scratch: &mut IndexScratch, out: &mut Vec<ListDecision>) {
        let mut matched = std::mem::take(&mut scratch.matched);
        self.matching_alternatives(path, scratch, |_| true, &mut matched);
        self.decisions(&matched, scratch, |_| true, out);
        scratch.matched = matched;
    }

    /// The decisions implied by `matched` alternatives, for lists `wanted` accepts.
    pub fn decisions(
        &self,
        matched: &[u32],
        scratch: &mut IndexScratch,
        mut wanted: impl FnMut(u32) -> bool,
        out: &mut Vec<ListDecision>,
    ) {
        out.clear();
        if scratch.stamp.len() < self.lists() {
            scratch.stamp.resize(self.lists(), 0);
            scratch.best.resize(self.lists(), 0);
        }
        scratch.generation = scratch.generation.wrapping_add(1);
        if scratch.generation == 0 {
            scratch.stamp.fill(0);
            scratch.generation = 1;
        }
        let generation = scratch.generation;
        scratch.touched.clear();
        for &id in matched {
            for (list, pattern) in self.owners(id) {
                let l = list as usize;
                if scratch.stamp[l] != generation {
                    if !wanted(list) {
                        continue;
                    }
                    scratch.stamp[l] = generation;
                    scratch.best[l] = pattern;
                    scratch.touched.push(list);
                } else if pattern > scratch.best[l] {
                    scratch.best[l] = pattern;
                }
            }
        }
        scratch.touched.sort_unstable();
        for &list in &scratch.touched {
            let pattern = scratch.best[list as usize];
            out.push(ListDecision {
                list,
                pattern,
                selects: !self.negated(list, pattern),
            });
        }
    }
}

/// A segment as the bucketing sees it: compiled, or from a simple
/// pattern's text.
trait Filed {
    fn any_depth(&self) -> bool;
    fn literal(&self) -> Option<&str>;
    /// The extension every segment it matches must have.
    fn required_extension(&self) -> Option<Cow<'_, str>>;
}

impl Filed for Segment {
    fn any_depth(&self) -> bool {
        matches!(self, Segment::AnyDepth)
    }
    fn literal(&self) -> Option<&str> {
        match self {
            Segment::Literal(lit) => Some(lit),
            _ => None,
        }
    }
    fn required_extension(&self) -> Option<Cow<'_, str>> {
        match self {
            Segment::Wild(tokens) => required_extension(tokens).map(Cow::Owned),
            _ => None,
        }
    }
}

impl Filed for super::TextSegment<'_> {
    fn any_depth(&self) -> bool {
        self.kind() == TextKind::AnyDepth
    }
    fn literal(&self) -> Option<&str> {
        (self.kind() == TextKind::Literal).then_some(self.text())
    }
    fn required_extension(&self) -> Option<Cow<'_, str>> {
        if self.kind() != TextKind::Wild {
            return None;
        }
        // `*.py` → `py`: literal characters after the last `.`.
        let (_, ext) = self.text().rsplit_once('.')?;
        (!ext.is_empty() && !ext.contains(['*', '?'])).then_some(Cow::Borrowed(ext))
    }
}

/// Where an alternative is filed (see the module docs).
fn bucket<S: Filed>(segments: &[S]) -> Bucket {
    let mut end = segments.len();
    while end > 0 && segments[end - 1].any_depth() {
        end -= 1;
    }
    let segments = &segments[..end];
    let mut key = PREFIX_SEED;
    let mut depth = 0;
    for segment in segments {
        let Some(literal) = segment.literal() else {
            break;
        };
        key = extend_prefix(key, literal);
        depth += 1;
    }
    if depth > 0 {
        return Bucket::Prefix(key, depth);
    }
    let Some(last) = segments.last() else {
        return Bucket::Residue;
    };
    if let Some(name) = last.literal() {
        return Bucket::Name(hash_str(name));
    }
    match last.required_extension() {
        Some(ext) => Bucket::Ext(hash_str(&ext)),
        None => Bucket::Residue,
    }
}

/// `*.py` → `py`, `test_*.tar.gz` → `gz`: the extension every segment this
/// segment pattern matches must have (the text after its last `.`), when the
/// pattern ends in `.` and literal characters without another `.`.
fn required_extension(tokens: &[Token]) -> Option<String> {
    let mut ext = Vec::new();
    for token in tokens.iter().rev() {
        match token {
            Token::Char('.') => {
                if ext.is_empty() {
                    return None;
                }
                ext.reverse();
                return Some(ext.into_iter().collect());
            }
            Token::Char(c) => ext.push(*c),
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::with_segments;
    use proptest::prelude::*;

    fn lists(specs: &[&[&str]]) -> Vec<PatternList> {
        specs.iter().map(|s| PatternList::new(s).unwrap()).collect()
    }

    /// Every list's decision through the index, against `PatternList::decide`.
    fn assert_same(lists: &[PatternList], paths: &[String]) {
        let index = PatternIndex::new(lists);
        let mut scratch = IndexScratch::default();
        let mut out = Vec::new();
        for path in paths {
            with_segments(path, |segments| {
                index.decide(segments, &mut scratch, &mut out);
                let expected: Vec<ListDecision> = lists
                    .iter()
                    .enumerate()
                    .filter_map(|(i, list)| {
                        list.decide(segments)
                            .map(|(pattern, selects)| ListDecision {
                                list: i as u32,
                                pattern: pattern as u32,
                                selects,
                            })
                    })
                    .collect();
                assert_eq!(out, expected, "path {path}");
            });
        }
    }

    fn prefix(segments: &[&str]) -> Bucket {
        let key = segments
            .iter()
            .fold(PREFIX_SEED, |k, s| extend_prefix(k, s));
        Bucket::Prefix(key, segments.len())
    }

    /// The bucket of a simple pattern from its text, checked against the
    /// bucket of its compiled form.
    fn filed(pattern: &str) -> Bucket {
        let text = with_text_segments(pattern, |segments| bucket(segments));
        let compiled = crate::pattern::compile_alternative(pattern).unwrap();
        assert_eq!(text, bucket(&compiled), "{pattern}");
        text
    }

    #[test]
    fn buckets() {
        assert_eq!(filed("dir/**"), prefix(&["dir"]));
        assert_eq!(filed("dir//sub/*.rs"), prefix(&["dir", "sub"]));
        assert_eq!(filed("tools/x/**/*.py"), prefix(&["tools", "x"]));
        assert_eq!(filed("**/*.py"), Bucket::Ext(hash_str("py")));
        assert_eq!(filed("*.tar.gz"), Bucket::Ext(hash_str("gz")));
        assert_eq!(filed("dir_*/sub/deep/**"), Bucket::Name(hash_str("deep")));
        assert_eq!(filed("**/Makefile"), Bucket::Name(hash_str("Makefile")));
        for residue in ["**/x*", "*", "**", "*.", "*.p?", "**/**"] {
            assert_eq!(filed(residue), Bucket::Residue, "{residue}");
        }
        let class = crate::pattern::compile_alternative("**/[ab].rs").unwrap();
        assert_eq!(bucket(&class), Bucket::Ext(hash_str("rs")));
    }

    proptest! {
        #[test]
        fn text_and_compiled_forms_file_alike(pattern in "[ab*?/.]{1,12}") {
            if crate::pattern::is_simple(&pattern) {
                filed(&pattern);
            }
        }
    }

    #[test]
    fn same_decisions_as_each_list() {
        let lists = lists(&[
            &["dir/**"],
            &["dir/sub/**", "!dir/sub/gen/**"],
            &["**/*.py", "!third_party/**", "third_party/ours/**"],
            &["dir_*/sub/deep/**"],
            &["*.{md,rst}", "docs"],
            &["**/Makefile", "[ab]*/x"],
            &["**"],
            &["dir/**"],
        ]);
        let paths: Vec<String> = [
            "dir",
            "dir/a.py",
            "dir/sub/gen/x.py",
            "dir/sub/keep.rs",
            "third_party/lib/x.py",
            "third_party/ours/x.txt",
            "dir_2/sub/deep/f",
            "dir_2/sub/deeper/f",
            "README.md",
            "docs/a/b",
            "a/b/Makefile",
            "b1/x/y",
            "x.py/inner",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_same(&lists, &paths);
    }

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[ab]{1,2}",
            1 => Just("*".to_owned()),
            1 => Just("**".to_owned()),
            1 => Just("a*".to_owned()),
            1 => Just("*.py".to_owned()),
            1 => Just("?b".to_owned()),
            1 => Just("[!a]".to_owned()),
            1 => Just("{a,b/a}".to_owned()),
            1 => Just("x.{py,rs}".to_owned()),
        ]
    }

    fn pattern() -> impl Strategy<Value = String> {
        (any::<bool>(), proptest::collection::vec(segment(), 1..4))
            .prop_map(|(neg, segs)| format!("{}{}", if neg { "!" } else { "" }, segs.join("/")))
    }

    fn path() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                "[ab]{1,2}",
                Just("x.py".to_owned()),
                Just("b.rs".to_owned())
            ],
            1..5,
        )
        .prop_map(|segs| segs.join("/"))
    }

    #[test]
    fn matched_patterns_per_list() {
        let lists = lists(&[&["src/**", "docs/*.md", "!gen/**"], &["**/*.py", "[xy]z"]]);
        let index = PatternIndex::new(&lists);
        let found = index.matched_patterns(["src/a.rs", "gen/x.txt", "t/b.py"]);
        assert_eq!(found, vec![vec![true, false, true], vec![true, false]]);
    }

    proptest! {
        #[test]
        fn matched_patterns_agree(
            specs in proptest::collection::vec(proptest::collection::vec(pattern(), 1..4), 1..6),
            paths in proptest::collection::vec(path(), 0..10),
        ) {
            let lists: Vec<PatternList> = specs
                .iter()
                .filter_map(|s| PatternList::new(s).ok())
                .collect();
            let index = PatternIndex::new(&lists);
            let found = index.matched_patterns(paths.iter().map(String::as_str));
            for (list, flags) in lists.iter().zip(&found) {
                for ((_, pattern), &flag) in list.patterns().zip(flags) {
                    let expected = paths.iter().any(|p| pattern.matches(p));
                    prop_assert_eq!(flag, expected, "pattern {}", pattern);
                }
            }
        }

        #[test]
        fn index_agrees_with_plain_matching(
            specs in proptest::collection::vec(proptest::collection::vec(pattern(), 1..4), 1..8),
            paths in proptest::collection::vec(path(), 1..12),
        ) {
            let lists: Vec<PatternList> = specs
                .iter()
                .filter_map(|s| PatternList::new(s).ok())
                .collect();
            assert_same(&lists, &paths);
        }
    }
}

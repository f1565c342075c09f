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

use rustc_hash::FxHashMap;

use super::{PatternList, Segment, Token, match_prefix};

/// A compiled set of pattern lists (list ids are their positions in the
/// iterator given to [`PatternIndex::new`]).
#[derive(Debug, Default)]
pub struct PatternIndex {
    alternatives: Vec<Alternative>,
    /// Per list: whether each of its patterns is negated (`!`).
    negated: Vec<Box<[bool]>>,
    /// Per list: the alternatives it owns, deduplicated.
    alternatives_of: Vec<Box<[u32]>>,
    by_prefix: FxHashMap<Box<str>, Vec<u32>>,
    by_name: FxHashMap<Box<str>, Vec<u32>>,
    by_ext: FxHashMap<Box<str>, Vec<u32>>,
    residue: Vec<u32>,
    /// The longest literal prefix filed, in segments: a path's deeper
    /// prefixes cannot be keys.
    max_prefix: usize,
}

#[derive(Debug)]
struct Alternative {
    segments: std::sync::Arc<[Segment]>,
    /// `(list, pattern index in the list)` for every pattern with this alternative.
    owners: Vec<(u32, u32)>,
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
    key: String,
    candidates: Vec<u32>,
    /// Per list: the path generation of `best`, and the highest matching pattern.
    stamp: Vec<u32>,
    best: Vec<u32>,
    generation: u32,
    touched: Vec<u32>,
    matched: Vec<u32>,
}

enum Bucket {
    Prefix(String),
    Name(String),
    Ext(String),
    Residue,
}

impl PatternIndex {
    /// Indexes every pattern of every list.
    pub fn new<'a>(lists: impl IntoIterator<Item = &'a PatternList>) -> PatternIndex {
        let mut index = PatternIndex::default();
        let mut ids: FxHashMap<&'a [Segment], u32> = FxHashMap::default();
        for (list_id, list) in lists.into_iter().enumerate() {
            let list_id = u32::try_from(list_id).expect("fewer than 2^32 lists");
            let mut owned: Vec<u32> = Vec::new();
            let mut negated = Vec::with_capacity(list.entries.len());
            for (pattern_id, (is_negated, pattern)) in list.entries.iter().enumerate() {
                negated.push(*is_negated);
                let pattern_id = u32::try_from(pattern_id).expect("fewer than 2^32 patterns");
                for segments in &pattern.alternatives {
                    let id = *ids.entry(&segments[..]).or_insert_with(|| {
                        let id = u32::try_from(index.alternatives.len())
                            .expect("fewer than 2^32 alternatives");
                        index.file(id, segments);
                        index.alternatives.push(Alternative {
                            segments: std::sync::Arc::clone(segments),
                            owners: Vec::new(),
                        });
                        id
                    });
                    let owners = &mut index.alternatives[id as usize].owners;
                    if owners.last() != Some(&(list_id, pattern_id)) {
                        owners.push((list_id, pattern_id));
                    }
                    owned.push(id);
                }
            }
            owned.sort_unstable();
            owned.dedup();
            index.negated.push(negated.into_boxed_slice());
            index.alternatives_of.push(owned.into_boxed_slice());
        }
        index
    }

    /// How many lists were indexed.
    pub fn lists(&self) -> usize {
        self.negated.len()
    }

    /// How many distinct alternatives the lists hold.
    pub fn alternatives(&self) -> usize {
        self.alternatives.len()
    }

    /// The alternatives `list` owns.
    pub fn alternatives_of(&self, list: u32) -> &[u32] {
        &self.alternatives_of[list as usize]
    }

    /// The `(list, pattern)` pairs that hold `alternative`.
    pub fn owners(&self, alternative: u32) -> &[(u32, u32)] {
        &self.alternatives[alternative as usize].owners
    }

    fn file(&mut self, id: u32, segments: &[Segment]) {
        let bucket = bucket(segments);
        let list = match bucket {
            Bucket::Prefix(key) => {
                self.max_prefix = self.max_prefix.max(key.split('/').count());
                self.by_prefix.entry(key.into()).or_default()
            }
            Bucket::Name(name) => self.by_name.entry(name.into()).or_default(),
            Bucket::Ext(ext) => self.by_ext.entry(ext.into()).or_default(),
            Bucket::Residue => &mut self.residue,
        };
        list.push(id);
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
        let candidates = &mut scratch.candidates;
        candidates.clear();
        if !self.by_prefix.is_empty() {
            let key = &mut scratch.key;
            key.clear();
            for segment in path.iter().take(self.max_prefix) {
                if !key.is_empty() {
                    key.push('/');
                }
                key.push_str(segment);
                if let Some(ids) = self.by_prefix.get(key.as_str()) {
                    candidates.extend_from_slice(ids);
                }
            }
        }
        if !self.by_name.is_empty() || !self.by_ext.is_empty() {
            for segment in path {
                if let Some(ids) = self.by_name.get(*segment) {
                    candidates.extend_from_slice(ids);
                }
                if let Some((_, ext)) = segment.rsplit_once('.')
                    && let Some(ids) = self.by_ext.get(ext)
                {
                    candidates.extend_from_slice(ids);
                }
            }
        }
        candidates.extend_from_slice(&self.residue);
        // One alternative can be proposed twice (its name is two segments of
        // the path): check each once.
        candidates.sort_unstable();
        candidates.dedup();
        for &id in candidates.iter() {
            if live(id) && match_prefix(&self.alternatives[id as usize].segments, path) {
                out.push(id);
            }
        }
    }

    /// Per list and pattern: whether the pattern matches at least one of
    /// `paths` (for "matches no tracked file" warnings). Alternatives stop
    /// being run once they have matched, and the scan stops once all have.
    pub fn matched_patterns<'p>(&self, paths: impl IntoIterator<Item = &'p str>) -> Vec<Vec<bool>> {
        let mut seen = vec![false; self.alternatives.len()];
        let mut unseen = self.alternatives.len();
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
        let mut result: Vec<Vec<bool>> =
            self.negated.iter().map(|n| vec![false; n.len()]).collect();
        for (alternative, seen) in self.alternatives.iter().zip(seen) {
            if seen {
                for &(list, pattern) in &alternative.owners {
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
            for &(list, pattern) in &self.alternatives[id as usize].owners {
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
                selects: !self.negated[list as usize][pattern as usize],
            });
        }
    }
}

/// Where an alternative is filed (see the module docs).
fn bucket(segments: &[Segment]) -> Bucket {
    let mut end = segments.len();
    while end > 0 && matches!(segments[end - 1], Segment::AnyDepth) {
        end -= 1;
    }
    let segments = &segments[..end];
    let literals: Vec<&str> = segments
        .iter()
        .map_while(|s| match s {
            Segment::Literal(lit) => Some(&**lit),
            _ => None,
        })
        .collect();
    if !literals.is_empty() {
        return Bucket::Prefix(literals.join("/"));
    }
    match segments.last() {
        Some(Segment::Literal(name)) => Bucket::Name(name.to_string()),
        Some(Segment::Wild(tokens)) => match required_extension(tokens) {
            Some(ext) => Bucket::Ext(ext),
            None => Bucket::Residue,
        },
        _ => Bucket::Residue,
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

    #[test]
    fn buckets() {
        let b = |p: &str| {
            let pattern = crate::pattern::Pattern::new(p).unwrap();
            match bucket(&pattern.alternatives[0]) {
                Bucket::Prefix(k) => format!("prefix {k}"),
                Bucket::Name(k) => format!("name {k}"),
                Bucket::Ext(k) => format!("ext {k}"),
                Bucket::Residue => "residue".to_owned(),
            }
        };
        assert_eq!(b("dir/**"), "prefix dir");
        assert_eq!(b("dir/sub/*.rs"), "prefix dir/sub");
        assert_eq!(b("tools/x/**/*.py"), "prefix tools/x");
        assert_eq!(b("**/*.py"), "ext py");
        assert_eq!(b("*.tar.gz"), "ext gz");
        assert_eq!(b("dir_*/sub/deep/**"), "name deep");
        assert_eq!(b("**/Makefile"), "name Makefile");
        assert_eq!(b("**/x*"), "residue");
        assert_eq!(b("*"), "residue");
        assert_eq!(b("**"), "residue");
        assert_eq!(b("*."), "residue");
        assert_eq!(b("*.p?"), "residue");
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

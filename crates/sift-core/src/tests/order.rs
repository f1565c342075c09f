//! Ordering tests so that the likely failures run first, after PyTorch's
//! target determination (its newest, score-based model): every heuristic
//! gives each candidate a score, the scores add up, and candidates are
//! sorted by total score descending, then by name.
//!
//! | heuristic | score | from |
//! |---|---|---|
//! | `previously_failed` | 1.0 | `lastfailed` keys containing `::`, and the names in `previous_failures_additional.json` |
//! | `edited_by_change` | 1.0 | a changed file that is the candidate's own file |
//! | `related_by_path` | 0.125 ‥ 0.25 | keywords of the changed files' folders and file stems found in the candidate's name |
//! | `historical_correlation` | 0 ‥ 0.25 | a ratings file `{changed file: {test: rating}}`, summed over changed files |
//!
//! Candidates, failures, changed files and ratings are matched through
//! [`crate::tests::test_id`]: `test/test_nn.py`, `test_nn` and
//! `test/test_nn.py::TestNN::test_add` are the same file; a node id matches
//! only failures (or ratings) inside it, a file matches all of its own.
//!
//! `related_by_path` differs from PyTorch's `Filepath` heuristic on purpose:
//! a keyword matches a whole word of the candidate (words split at `/`, `_`,
//! `-`, `.`, `:` and brackets) or, for keywords of 3+ letters, the start of
//! one, instead of any substring. PyTorch needs hand-written exceptions so
//! that `nn` does not match `onnx`; word matching needs none. PyTorch's
//! synonym table (amp/mixed_precision, …) is specific to PyTorch and left out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::tests::pytest_cache::{CacheSnapshot, node_file};
use crate::tests::test_id::{overlap, test_key};

/// Score of a previously failed or edited test.
pub const CERTAIN: f64 = 1.0;
/// Range of `related_by_path` scores (PyTorch's `normalize_ratings(…, 0.25, 0.125)`).
pub const RELATED_MIN: f64 = 0.125;
pub const RELATED_MAX: f64 = 0.25;
/// Maximum `historical_correlation` score.
pub const HISTORY_MAX: f64 = 0.25;

/// Words that say nothing about which tests a file affects: PyTorch's list
/// (`torch`, `test`, `tests`, `util`, `utils`, `func`, `src`, `c`, `ns`,
/// `tools`, `internal`) plus generic layout names.
pub const STOP_WORDS: &[&str] = &[
    "c", "func", "index", "init", "internal", "lib", "main", "mod", "ns", "py", "src", "test",
    "tests", "tools", "torch", "util", "utils",
];

/// `{changed file: {test: rating}}`, as PyTorch's `test-file-ratings.json`.
pub type Ratings = BTreeMap<String, BTreeMap<String, f64>>;

/// Why a ratings file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum RatingsError {
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("at `{path}`: {message}")]
    Shape { path: String, message: String },
}

/// Parses `{changed file: {test: rating}}`; ratings are finite numbers.
pub fn parse_ratings(text: &str) -> Result<Ratings, RatingsError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| RatingsError::Json {
        line: e.line(),
        column: e.column(),
        message: crate::tests::test_times::strip_position(&e.to_string()),
    })?;
    let shape = |path: String, message: &str| RatingsError::Shape {
        path,
        message: message.to_owned(),
    };
    let serde_json::Value::Object(files) = value else {
        return Err(shape(
            "$".into(),
            "expected an object {changed file: {test: rating}}",
        ));
    };
    let mut ratings = Ratings::new();
    for (file, tests) in files {
        let serde_json::Value::Object(tests) = tests else {
            return Err(shape(
                format!("[{file:?}]"),
                "expected an object {test: rating}",
            ));
        };
        let mut by_test = BTreeMap::new();
        for (test, rating) in tests {
            let Some(r) = rating.as_f64().filter(|r| r.is_finite()) else {
                return Err(shape(
                    format!("[{file:?}][{test:?}]"),
                    "expected a rating (a number)",
                ));
            };
            by_test.insert(test, r);
        }
        ratings.insert(crate::select::change::normalize_path(&file), by_test);
    }
    Ok(ratings)
}

/// Candidates from a list: one per line, surrounding whitespace trimmed,
/// blank lines and `#` comments skipped, duplicates dropped (first kept).
pub fn parse_candidates(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter(|line| seen.insert(*line))
        .map(str::to_owned)
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Heuristic {
    PreviouslyFailed,
    EditedByChange,
    RelatedByPath,
    HistoricalCorrelation,
}

impl Heuristic {
    pub fn name(self) -> &'static str {
        match self {
            Heuristic::PreviouslyFailed => "previously_failed",
            Heuristic::EditedByChange => "edited_by_change",
            Heuristic::RelatedByPath => "related_by_path",
            Heuristic::HistoricalCorrelation => "historical_correlation",
        }
    }
}

/// Why a heuristic scored a candidate.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Evidence {
    /// A recorded failure: a node id from `lastfailed`, or a test name from
    /// `previous_failures_additional.json`.
    Failure {
        failure: String,
        source: &'static str,
    },
    /// A changed file that is the candidate's own file.
    Edited { changed_file: String },
    /// A keyword shared with changed files, and how often it occurred.
    Keyword {
        keyword: String,
        changed_files: Vec<String>,
    },
    /// A rating of the candidate for a changed file.
    Rating {
        changed_file: String,
        test: String,
        rating: f64,
    },
}

/// One heuristic's contribution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeuristicScore {
    pub heuristic: Heuristic,
    pub score: f64,
    pub evidence: Vec<Evidence>,
}

/// A candidate in the final order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ranked {
    pub name: String,
    /// 1-based position in the order.
    pub position: usize,
    pub score: f64,
    pub heuristics: Vec<HeuristicScore>,
}

/// The inputs of the heuristics.
#[derive(Clone, Debug, Default)]
pub struct OrderInputs<'a> {
    /// Every path the change touched (renames count both paths).
    pub changed_files: Vec<&'a str>,
    pub cache: Option<&'a CacheSnapshot>,
    pub ratings: Option<&'a Ratings>,
}

/// Candidates by file key, to match references without comparing each pair.
struct Index<'a> {
    candidates: &'a [String],
    by_key: BTreeMap<String, Vec<usize>>,
}

impl<'a> Index<'a> {
    fn new(candidates: &'a [String]) -> Self {
        let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, c) in candidates.iter().enumerate() {
            by_key.entry(test_key(c)).or_default().push(i);
        }
        Index { candidates, by_key }
    }

    fn matching(&self, reference: &str) -> impl Iterator<Item = usize> + '_ {
        let reference = reference.to_owned();
        self.by_key
            .get(&test_key(&reference))
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&i| overlap(&self.candidates[i], &reference))
    }
}

/// Scores and orders `candidates` (deduplicated by the caller, see
/// [`parse_candidates`]).
pub fn order(candidates: &[String], inputs: &OrderInputs<'_>) -> Vec<Ranked> {
    let index = Index::new(candidates);
    let mut scores: Vec<Vec<HeuristicScore>> = vec![Vec::new(); candidates.len()];
    let mut add = |i: usize, heuristic: Heuristic, score: f64, evidence: Vec<Evidence>| {
        scores[i].push(HeuristicScore {
            heuristic,
            score: round(score),
            evidence,
        });
    };

    // Previously failed.
    let mut failures: BTreeMap<usize, Vec<Evidence>> = BTreeMap::new();
    if let Some(cache) = inputs.cache {
        for id in cache.failed_node_ids() {
            // Keys without `::` (collection errors, the session node) name no
            // test reliably; PyTorch ignores them too.
            if node_file(id).is_none() {
                continue;
            }
            for i in index.matching(id) {
                failures.entry(i).or_default().push(Evidence::Failure {
                    failure: id.to_owned(),
                    source: "lastfailed",
                });
            }
        }
        for name in cache.previous_failures.iter().flatten() {
            for i in index.matching(name) {
                failures.entry(i).or_default().push(Evidence::Failure {
                    failure: name.clone(),
                    source: "previous_failures_additional.json",
                });
            }
        }
    }
    for (i, evidence) in failures {
        add(i, Heuristic::PreviouslyFailed, CERTAIN, evidence);
    }

    // Edited by the change: the candidate's own file changed.
    let mut edited: BTreeMap<usize, Vec<Evidence>> = BTreeMap::new();
    for path in &inputs.changed_files {
        if let Some(list) = index.by_key.get(&test_key(path)) {
            for &i in list {
                edited.entry(i).or_default().push(Evidence::Edited {
                    changed_file: (*path).to_owned(),
                });
            }
        }
    }
    for (i, evidence) in edited {
        add(i, Heuristic::EditedByChange, CERTAIN, evidence);
    }

    // Related by path.
    let keywords = changed_keywords(&inputs.changed_files);
    let mut related: Vec<(usize, f64, Vec<Evidence>)> = Vec::new();
    for (i, candidate) in candidates.iter().enumerate() {
        let words = candidate_words(candidate);
        let mut raw = 0.0;
        let mut evidence = Vec::new();
        for (keyword, files) in &keywords {
            if words.iter().any(|w| word_matches(keyword, w)) {
                raw += files.len() as f64;
                evidence.push(Evidence::Keyword {
                    keyword: keyword.clone(),
                    changed_files: files.iter().map(|f| (*f).to_owned()).collect(),
                });
            }
        }
        if raw > 0.0 {
            related.push((i, raw, evidence));
        }
    }
    let max = related.iter().map(|(_, raw, _)| *raw).fold(0.0, f64::max);
    for (i, raw, evidence) in related {
        let score = RELATED_MIN + (RELATED_MAX - RELATED_MIN) * raw / max;
        add(i, Heuristic::RelatedByPath, score, evidence);
    }

    // Historical correlation.
    if let Some(ratings) = inputs.ratings {
        let mut sums: BTreeMap<usize, (f64, Vec<Evidence>)> = BTreeMap::new();
        for path in &inputs.changed_files {
            for (test, &rating) in ratings.get(*path).into_iter().flatten() {
                for i in index.matching(test) {
                    let entry = sums.entry(i).or_default();
                    entry.0 += rating;
                    entry.1.push(Evidence::Rating {
                        changed_file: (*path).to_owned(),
                        test: test.clone(),
                        rating,
                    });
                }
            }
        }
        // Like PyTorch's normalize_ratings, only positive totals count.
        sums.retain(|_, (sum, _)| *sum > 0.0);
        let max = sums.values().map(|(sum, _)| *sum).fold(0.0, f64::max);
        for (i, (sum, evidence)) in sums {
            add(
                i,
                Heuristic::HistoricalCorrelation,
                HISTORY_MAX * sum / max,
                evidence,
            );
        }
    }

    let mut ranked: Vec<Ranked> = candidates
        .iter()
        .zip(scores)
        .map(|(name, mut heuristics)| {
            heuristics.sort_by_key(|h| h.heuristic);
            Ranked {
                name: name.clone(),
                position: 0,
                score: round(heuristics.iter().map(|h| h.score).sum()),
                heuristics,
            }
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.name.cmp(&b.name))
    });
    for (i, r) in ranked.iter_mut().enumerate() {
        r.position = i + 1;
    }
    ranked
}

/// How many of `k` ordered tests `--top percent` keeps: ⌊percent·k/100⌋ + 1
/// (PyTorch's newest `get_top_per_tests`), at most k.
pub fn top_count(k: usize, percent: u8) -> usize {
    if k == 0 {
        return 0;
    }
    (usize::from(percent) * k / 100 + 1).min(k)
}

/// Keywords of the changed files → the files that gave them.
fn changed_keywords<'a>(paths: &[&'a str]) -> BTreeMap<String, BTreeSet<&'a str>> {
    let mut keywords: BTreeMap<String, BTreeSet<&'a str>> = BTreeMap::new();
    for path in paths {
        let mut segments: Vec<&str> = path.split('/').collect();
        let file = segments.pop().unwrap_or_default();
        let stem = stem(file);
        let words = segments
            .into_iter()
            .map(sanitize)
            .chain(stem.split(['_', '-', '.']).map(sanitize));
        for word in words {
            if word.len() >= 2
                && !word.chars().all(|c| c.is_ascii_digit())
                && !STOP_WORDS.contains(&word.as_str())
            {
                keywords.entry(word).or_default().insert(path);
            }
        }
    }
    keywords
}

/// The words of a candidate's name: its file part without the extension,
/// and its node part.
fn candidate_words(candidate: &str) -> Vec<String> {
    let (file, node) = candidate.split_once("::").unwrap_or((candidate, ""));
    let file = match file.rsplit_once('/') {
        Some((dir, last)) => format!("{dir}/{}", stem(last)),
        None => stem(file).to_owned(),
    };
    file.split(|c: char| !c.is_alphanumeric())
        .chain(node.split(|c: char| !c.is_alphanumeric()))
        .map(sanitize)
        .filter(|w| !w.is_empty())
        .collect()
}

fn word_matches(keyword: &str, word: &str) -> bool {
    word == keyword || (keyword.len() >= 3 && word.starts_with(keyword))
}

fn stem(file: &str) -> &str {
    match file.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => file,
    }
}

/// Lowercase, without leading underscores (`_inductor` → `inductor`).
fn sanitize(word: &str) -> String {
    word.trim_start_matches('_').to_lowercase()
}

/// Scores are shown and summed at a fixed precision, so the totals shown add
/// up and the order never depends on float noise.
fn round(score: f64) -> f64 {
    // `+ 0.0` turns the -0.0 of an empty sum into 0.0.
    (score * 1e6).round() / 1e6 + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        #[test]
        fn ratings_parse_never_panics(text in "[{}\\[\\]\":,0-9a-c. -]{0,40}") {
            let _ = parse_ratings(&text);
        }

        /// Any candidates and changes: each candidate exactly once, scores
        /// sorted descending (then names), in whatever order they were listed.
        #[test]
        fn order_is_a_sorted_permutation(
            names in proptest::collection::btree_set("(test/)?test_[a-c]{1,2}(\\.py)?(::T::t[12])?", 0..12),
            changed in proptest::collection::vec("(test|torch)/[a-c_]{1,4}(\\.py)?", 0..4),
            failed in proptest::collection::vec("test/test_[a-c]{1,2}\\.py(::T::t[12])?", 0..3),
        ) {
            let list: Vec<String> = names.into_iter().collect();
            let cache = CacheSnapshot {
                lastfailed: Some(failed.iter().map(|f| (f.clone(), json!(true))).collect()),
                lastfailed_sources: 1,
                ..CacheSnapshot::default()
            };
            let inputs = OrderInputs {
                changed_files: changed.iter().map(String::as_str).collect(),
                cache: Some(&cache),
                ratings: None,
            };
            let ranked = order(&list, &inputs);
            let mut got: Vec<&str> = ranked.iter().map(|r| r.name.as_str()).collect();
            for pair in ranked.windows(2) {
                prop_assert!(
                    pair[0].score > pair[1].score
                        || (pair[0].score == pair[1].score && pair[0].name < pair[1].name)
                );
            }
            for r in &ranked {
                let sum: f64 = r.heuristics.iter().map(|h| h.score).sum();
                prop_assert!((sum - r.score).abs() < 1e-9);
                prop_assert!(r.score <= 2.5 + 1e-9);
            }
            let mut reversed = list.clone();
            reversed.reverse();
            prop_assert_eq!(&order(&reversed, &inputs), &ranked);
            got.sort_unstable();
            let want: Vec<&str> = list.iter().map(String::as_str).collect();
            prop_assert_eq!(got, want);
        }
    }

    fn names(ranked: &[Ranked]) -> Vec<&str> {
        ranked.iter().map(|r| r.name.as_str()).collect()
    }

    fn cache(lastfailed: &[&str], additional: &[&str]) -> CacheSnapshot {
        CacheSnapshot {
            lastfailed: Some(
                lastfailed
                    .iter()
                    .map(|k| (k.to_string(), json!(true)))
                    .collect(),
            ),
            previous_failures: Some(additional.iter().map(|s| s.to_string()).collect()),
            lastfailed_sources: 1,
            ..CacheSnapshot::default()
        }
    }

    fn candidates(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn score_of(ranked: &[Ranked], name: &str, heuristic: Heuristic) -> Option<f64> {
        ranked
            .iter()
            .find(|r| r.name == name)?
            .heuristics
            .iter()
            .find(|h| h.heuristic == heuristic)
            .map(|h| h.score)
    }

    #[test]
    fn previously_failed_ignores_keys_without_double_colon() {
        let cache = cache(
            &[
                "test/test_nn.py::TestNN::test_add",
                "test/test_broken.py",
                "",
                "tools/test/x.py::t",
            ],
            &["distributed/test_c10d"],
        );
        let list = candidates(&[
            "test_broken",
            "test_nn",
            "test_torch",
            "test/distributed/test_c10d.py",
            "tools/test/x.py",
        ]);
        let inputs = OrderInputs {
            cache: Some(&cache),
            ..OrderInputs::default()
        };
        let ranked = order(&list, &inputs);
        assert_eq!(
            names(&ranked),
            [
                "test/distributed/test_c10d.py",
                "test_nn",
                "tools/test/x.py",
                "test_broken",
                "test_torch"
            ]
        );
        assert_eq!(ranked[0].score, 1.0);
        assert_eq!(
            ranked[1].heuristics[0].evidence,
            [Evidence::Failure {
                failure: "test/test_nn.py::TestNN::test_add".into(),
                source: "lastfailed"
            }]
        );
        assert_eq!(ranked[3].score, 0.0, "a collection error names no test");
    }

    #[test]
    fn node_candidates_match_only_their_own_failures() {
        let cache = cache(&["test/test_nn.py::TestNN::test_add[1]"], &[]);
        let list = candidates(&[
            "test/test_nn.py::TestNN::test_add",
            "test/test_nn.py::TestNN::test_sub",
            "test/test_nn.py::TestConv",
        ]);
        let ranked = order(
            &list,
            &OrderInputs {
                cache: Some(&cache),
                ..OrderInputs::default()
            },
        );
        assert_eq!(ranked[0].name, "test/test_nn.py::TestNN::test_add");
        assert_eq!(ranked[0].score, 1.0);
        assert_eq!(ranked[1].score, 0.0);
    }

    #[test]
    fn edited_and_related() {
        let list = candidates(&["test_nn", "test_onnx", "test_conv_nd", "test_torch"]);
        let inputs = OrderInputs {
            changed_files: vec!["test/test_nn.py", "torch/nn/modules/conv.py"],
            ..OrderInputs::default()
        };
        let ranked = order(&list, &inputs);
        // test_nn: edited (1.0) + related via `nn` from two files (max → 0.25).
        assert_eq!(
            score_of(&ranked, "test_nn", Heuristic::EditedByChange),
            Some(1.0)
        );
        assert_eq!(
            score_of(&ranked, "test_nn", Heuristic::RelatedByPath),
            Some(0.25)
        );
        // test_conv_nd: `conv` (one file) → 0.125 + 0.125 · 1/2.
        assert_eq!(
            score_of(&ranked, "test_conv_nd", Heuristic::RelatedByPath),
            Some(0.1875)
        );
        // `nn` is a word of test_nn, not of test_onnx; `torch` is a stop word.
        assert_eq!(
            score_of(&ranked, "test_onnx", Heuristic::RelatedByPath),
            None
        );
        assert_eq!(
            score_of(&ranked, "test_torch", Heuristic::RelatedByPath),
            None
        );
        assert_eq!(
            names(&ranked),
            ["test_nn", "test_conv_nd", "test_onnx", "test_torch"]
        );
        let evidence = &ranked[0].heuristics[1].evidence;
        assert_eq!(
            evidence[0],
            Evidence::Keyword {
                keyword: "nn".into(),
                changed_files: vec!["test/test_nn.py".into(), "torch/nn/modules/conv.py".into()]
            }
        );
    }

    #[test]
    fn prefix_matching_needs_three_letters() {
        let keywords = changed_keywords(&["src/quant/qconv.py", "ab/x.rs"]);
        let words = candidate_words("test/test_quantization.py::TestQ::test_ab_x");
        assert!(words.iter().any(|w| word_matches("quant", w)));
        assert!(!words.iter().any(|w| word_matches("qconv", w)));
        assert!(keywords.contains_key("ab"));
        assert!(words.iter().any(|w| word_matches("ab", w)), "exact word");
        assert!(
            !candidate_words("test_abc")
                .iter()
                .any(|w| word_matches("ab", w))
        );
    }

    #[test]
    fn ratings_are_summed_and_normalized() {
        let ratings = parse_ratings(
            r#"{"torch/a.py": {"test_nn": 2, "test_jit": 1, "test_neg": -3},
                "torch/b.py": {"test_nn": 2, "test_x::TestY": 4},
                "torch/unchanged.py": {"test_jit": 100}}"#,
        )
        .unwrap();
        let list = candidates(&["test_jit", "test_nn", "test_neg", "test/test_x.py"]);
        let inputs = OrderInputs {
            changed_files: vec!["torch/a.py", "torch/b.py"],
            ratings: Some(&ratings),
            ..OrderInputs::default()
        };
        let ranked = order(&list, &inputs);
        let history = |name| score_of(&ranked, name, Heuristic::HistoricalCorrelation);
        assert_eq!(history("test_nn"), Some(0.25));
        assert_eq!(
            history("test/test_x.py"),
            Some(0.25),
            "class ratings reach their file"
        );
        assert_eq!(history("test_jit"), Some(0.0625));
        assert_eq!(history("test_neg"), None);
        assert!(parse_ratings(r#"{"a": {"t": "x"}}"#).is_err());
        assert!(parse_ratings("[]").is_err());
    }

    #[test]
    fn scores_add_up_and_ties_go_by_name() {
        let cache = cache(&["test/test_b.py::t"], &[]);
        let list = candidates(&["test_c", "test_b", "test_a"]);
        let inputs = OrderInputs {
            changed_files: vec!["test/test_b.py", "test/test_a.py"],
            cache: Some(&cache),
            ..OrderInputs::default()
        };
        let ranked = order(&list, &inputs);
        assert_eq!(names(&ranked), ["test_b", "test_a", "test_c"]);
        assert_eq!(ranked[0].score, 2.0);
        assert_eq!(ranked[1].score, 1.0);
        assert_eq!(
            ranked.iter().map(|r| r.position).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        // Same input in another order: same output.
        let mut reversed = list.clone();
        reversed.reverse();
        assert_eq!(order(&reversed, &inputs), ranked);
    }

    #[test]
    fn top_rounding() {
        // ⌊P·k/100⌋ + 1, capped at k.
        assert_eq!(top_count(10, 25), 3);
        assert_eq!(top_count(4, 25), 2);
        assert_eq!(top_count(3, 25), 1);
        assert_eq!(top_count(100, 25), 26);
        assert_eq!(top_count(10, 0), 1);
        assert_eq!(top_count(10, 100), 10);
        assert_eq!(top_count(10, 99), 10);
        assert_eq!(top_count(0, 50), 0);
    }

    #[test]
    fn candidate_lists() {
        assert_eq!(
            parse_candidates("  test_a \n\n# comment\ntest_b\ntest_a\n"),
            ["test_a", "test_b"]
        );
    }
}

//! Test durations in PyTorch's `test-times.json` format, how they are looked
//! up for a job, and how a new run is blended into them.
//!
//! Two shapes are accepted:
//! - nested, as PyTorch publishes it: `{job: {config: {test: seconds}}}`;
//! - flat: `{test: seconds}`, for projects with one kind of job.
//!
//! A table maps tests to seconds. File-level keys use the key of
//! [`crate::tests::test_id`] (`test_nn`, `tools/test/x.py`); keys containing `::` are
//! per test case (node ids). Both live in the same table: sharding by files
//! reads the former, sharding by node ids the latter, and PyTorch's own tools
//! only ever look up file names, so the extra keys do not disturb them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::tests::test_id::test_key;

/// Test → seconds.
pub type TimesTable = BTreeMap<String, f64>;

/// The job and config used when none is given (PyTorch's fallback names).
pub const DEFAULT: &str = "default";

/// Weight of a new run in the blend: `new = old + ALPHA · (run − old)`.
///
/// An exponential moving average: a test that suddenly takes ten times as
/// long moves its estimate by a quarter of the jump, so one slow runner does
/// not wreck the next balance, while a lasting change is mostly absorbed
/// after five runs (1 − 0.75⁵ ≈ 76 %).
pub const ALPHA: f64 = 0.25;

/// A parsed durations file.
#[derive(Clone, Debug, PartialEq)]
pub enum TestTimes {
    Flat(TimesTable),
    Nested(BTreeMap<String, BTreeMap<String, TimesTable>>),
}

/// Why a durations file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum TimesError {
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("at `{path}`: {message}")]
    Shape { path: String, message: String },
}

/// Which table a lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimesSource {
    /// The file is a flat `{test: seconds}` map.
    Flat,
    /// `[job][config]` of a nested file.
    Table { job: String, config: String },
    /// Nothing matched; every test is unknown.
    Missing,
}

impl std::fmt::Display for TimesSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimesSource::Flat => f.write_str("flat map"),
            TimesSource::Table { job, config } => write!(f, "{job}/{config}"),
            TimesSource::Missing => f.write_str("none"),
        }
    }
}

/// The result of looking up the table for a job and config.
#[derive(Debug)]
pub struct TimesLookup<'a> {
    pub table: Option<&'a TimesTable>,
    pub source: TimesSource,
    /// The tables tried before the one used, for a warning (PyTorch warns too).
    pub tried: Vec<String>,
}

impl TestTimes {
    /// Parses either shape. Every value must be a finite number ≥ 0; errors
    /// name the JSON path of the first bad value.
    pub fn parse(text: &str) -> Result<TestTimes, TimesError> {
        let value: Value = serde_json::from_str(text).map_err(|e| TimesError::Json {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        let Value::Object(top) = value else {
            return Err(shape(
                "$",
                format!(
                    "expected an object ({{test: seconds}} or {{job: {{config: {{test: seconds}}}}}}), found {}",
                    kind(&value)
                ),
            ));
        };
        let nested = top.values().any(Value::is_object);
        if !nested {
            let mut table = TimesTable::new();
            for (test, value) in &top {
                table.insert(test.clone(), seconds(&[test], value)?);
            }
            return Ok(TestTimes::Flat(table));
        }
        let mut jobs = BTreeMap::new();
        for (job, configs) in &top {
            let Value::Object(configs) = configs else {
                return Err(shape(
                    &path(&[job]),
                    format!(
                        "expected {{config: {{test: seconds}}}} like the other jobs, found {}",
                        kind(configs)
                    ),
                ));
            };
            let mut by_config = BTreeMap::new();
            for (config, tests) in configs {
                let Value::Object(tests) = tests else {
                    return Err(shape(
                        &path(&[job, config]),
                        format!("expected {{test: seconds}}, found {}", kind(tests)),
                    ));
                };
                let mut table = TimesTable::new();
                for (test, value) in tests {
                    table.insert(test.clone(), seconds(&[job, config, test], value)?);
                }
                by_config.insert(config.clone(), table);
            }
            jobs.insert(job.clone(), by_config);
        }
        Ok(TestTimes::Nested(jobs))
    }

    /// The table for `job`/`config` (both default to `default`), falling back
    /// like PyTorch's `run_test.py`: `[job][config]`, then
    /// `["default"][config]`, then `["default"]["default"]`. A flat file is
    /// its own table whatever the job.
    pub fn lookup(&self, job: Option<&str>, config: Option<&str>) -> TimesLookup<'_> {
        let jobs = match self {
            TestTimes::Flat(table) => {
                return TimesLookup {
                    table: Some(table),
                    source: TimesSource::Flat,
                    tried: Vec::new(),
                };
            }
            TestTimes::Nested(jobs) => jobs,
        };
        let job = job.unwrap_or(DEFAULT);
        let config = config.unwrap_or(DEFAULT);
        let mut candidates = vec![(job, config)];
        for fallback in [(DEFAULT, config), (DEFAULT, DEFAULT)] {
            if !candidates.contains(&fallback) {
                candidates.push(fallback);
            }
        }
        let mut tried = Vec::new();
        for (job, config) in candidates {
            if let Some(table) = jobs.get(job).and_then(|configs| configs.get(config)) {
                return TimesLookup {
                    table: Some(table),
                    source: TimesSource::Table {
                        job: job.to_owned(),
                        config: config.to_owned(),
                    },
                    tried,
                };
            }
            tried.push(format!("{job}/{config}"));
        }
        TimesLookup {
            table: None,
            source: TimesSource::Missing,
            tried,
        }
    }

    /// The table a run is recorded into: the flat map, or `[job][config]`
    /// (created if missing; both default to `default`). A flat file cannot
    /// take a job or config: that would silently mix jobs.
    pub fn table_mut(
        &mut self,
        job: Option<&str>,
        config: Option<&str>,
    ) -> Result<&mut TimesTable, TimesError> {
        match self {
            TestTimes::Flat(table) if job.is_none() && config.is_none() => Ok(table),
            TestTimes::Flat(_) => Err(shape(
                "$",
                "the file is a flat {test: seconds} map, so --job/--config cannot select a table in it"
                    .to_owned(),
            )),
            TestTimes::Nested(jobs) => Ok(jobs
                .entry(job.unwrap_or(DEFAULT).to_owned())
                .or_default()
                .entry(config.unwrap_or(DEFAULT).to_owned())
                .or_default()),
        }
    }

    /// Pretty JSON with sorted keys (as PyTorch writes it: indent 2,
    /// `sort_keys=True`), plus a final newline.
    pub fn to_json(&self) -> String {
        let mut text = match self {
            TestTimes::Flat(table) => serde_json::to_string_pretty(table),
            TestTimes::Nested(jobs) => serde_json::to_string_pretty(jobs),
        }
        .expect("finite numbers serialize");
        text.push('\n');
        text
    }
}

/// Looks tests up in a table by any of their names: the exact string first,
/// then (for test files and PyTorch-style names) the file key, so
/// `test/test_nn.py` finds `test_nn` and the other way round.
#[derive(Debug, Default)]
pub struct TimesIndex<'a> {
    exact: BTreeMap<&'a str, f64>,
    by_key: BTreeMap<String, f64>,
}

impl<'a> TimesIndex<'a> {
    pub fn new(table: Option<&'a TimesTable>) -> Self {
        let mut index = TimesIndex::default();
        for (test, &seconds) in table.into_iter().flatten() {
            index.exact.insert(test, seconds);
            if !test.contains("::") {
                // Sorted iteration: on a collision the first key wins, always the same one.
                index.by_key.entry(test_key(test)).or_insert(seconds);
            }
        }
        index
    }

    pub fn get(&self, test: &str) -> Option<f64> {
        if let Some(&seconds) = self.exact.get(test) {
            return Some(seconds);
        }
        if test.contains("::") {
            return None;
        }
        self.by_key.get(&test_key(test)).copied()
    }

    /// The file-level tests of the table (keys without `::`), sorted.
    pub fn files(&self) -> impl Iterator<Item = (&'a str, f64)> + '_ {
        self.exact
            .iter()
            .filter(|(test, _)| !test.contains("::"))
            .map(|(test, seconds)| (*test, *seconds))
    }
}

/// Blends one run's duration into the recorded one (see [`ALPHA`]); a test
/// seen for the first time takes the run's value. Rounded to microseconds so
/// the file stays readable and byte-stable.
pub fn blend(old: Option<f64>, run: f64) -> f64 {
    let value = match old {
        Some(old) => old + ALPHA * (run - old),
        None => run,
    };
    (value * 1e6).round() / 1e6
}

/// What [`record_run`] did, for files or for cases.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TimesUpdate {
    pub added: usize,
    pub updated: usize,
}

/// Records one run's per-case durations (node ids) and keeps each file's
/// total consistent with them; returns what changed for files and for cases.
///
/// A run may cover only part of a file (a pytest-shard piece, a `--lf`
/// rerun). Blending that partial sum into the file's total would shrink it,
/// and the next `sift shard` would under-split the file. So when the table
/// already knows cases of a file, the file's total moves by exactly what its
/// re-run cases moved, plus any new cases; only a file with no recorded cases
/// (e.g. from PyTorch's file-level times) gets the run's sum blended in.
pub fn record_run(
    table: &mut TimesTable,
    cases: &BTreeMap<String, f64>,
) -> (TimesUpdate, TimesUpdate) {
    let mut files_with_cases: std::collections::BTreeSet<String> =
        std::collections::BTreeSet::new();
    for key in table.keys().filter(|k| k.contains("::")) {
        files_with_cases.insert(crate::tests::test_id::test_key(key));
    }
    let mut by_file: BTreeMap<String, Vec<(&String, f64)>> = BTreeMap::new();
    for (id, &seconds) in cases {
        by_file
            .entry(crate::tests::test_id::test_key(id))
            .or_default()
            .push((id, seconds));
    }
    let (mut file_update, mut case_update) = (TimesUpdate::default(), TimesUpdate::default());
    for (file, run_cases) in by_file {
        let (mut moved, mut run_total) = (0.0, 0.0);
        for (id, seconds) in run_cases {
            let old = table.get(id).copied();
            let new = blend(old, seconds);
            moved += new - old.unwrap_or(0.0);
            run_total += seconds;
            count(&mut case_update, old.is_some());
            table.insert(id.clone(), new);
        }
        let old = table.get(&file).copied();
        let new = match old {
            Some(old) if files_with_cases.contains(&file) => {
                ((old + moved).max(0.0) * 1e6).round() / 1e6
            }
            _ => blend(old, run_total),
        };
        count(&mut file_update, old.is_some());
        table.insert(file, new);
    }
    (file_update, case_update)
}

fn count(update: &mut TimesUpdate, existed: bool) {
    if existed {
        update.updated += 1;
    } else {
        update.added += 1;
    }
}

fn seconds(at: &[&String], value: &Value) -> Result<f64, TimesError> {
    match value.as_f64() {
        Some(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(shape(
            &path(at),
            format!("expected seconds (a number ≥ 0), found {}", kind(value)),
        )),
    }
}

fn shape(path: &str, message: String) -> TimesError {
    TimesError::Shape {
        path: path.to_owned(),
        message,
    }
}

fn path(parts: &[&String]) -> String {
    parts
        .iter()
        .map(|p| format!("[{}]", serde_json::to_string(p).expect("strings serialize")))
        .collect()
}

fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// serde_json appends " at line L column C"; the error carries those already.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod record_run_tests {
    use super::*;

    #[test]
    fn a_partial_run_does_not_shrink_the_file() {
        let mut table = TimesTable::new();
        let full: BTreeMap<String, f64> = [
            ("test/test_a.py::t1", 100.0),
            ("test/test_a.py::t2", 100.0),
            ("test/test_a.py::t3", 100.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        record_run(&mut table, &full);
        assert_eq!(table.get("test_a"), Some(&300.0));
        // A rerun of one case, now slower: the file moves by that case's move only.
        let partial: BTreeMap<String, f64> = [("test/test_a.py::t1".to_owned(), 140.0)]
            .into_iter()
            .collect();
        let (files, cases) = record_run(&mut table, &partial);
        assert_eq!(table.get("test/test_a.py::t1"), Some(&110.0));
        assert_eq!(table.get("test_a"), Some(&310.0));
        assert_eq!((files.updated, cases.updated), (1, 1));
    }

    #[test]
    fn file_level_times_blend_with_the_run() {
        // PyTorch's files hold file totals only.
        let mut table = TimesTable::new();
        table.insert("test_b".to_owned(), 400.0);
        let run: BTreeMap<String, f64> = [("test/test_b.py::x".to_owned(), 200.0)]
            .into_iter()
            .collect();
        record_run(&mut table, &run);
        assert_eq!(table.get("test_b"), Some(&350.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text gives times or an error, never a panic; whatever parses
        /// survives a round trip through `to_json`.
        #[test]
        fn parse_never_panics(text in "[{}\\[\\]\":,0-9a-c. -]{0,40}") {
            if let Ok(times) = TestTimes::parse(&text) {
                prop_assert_eq!(TestTimes::parse(&times.to_json()).unwrap(), times);
            }
        }

        /// Blending moves toward the run and never overshoots it.
        #[test]
        fn blend_stays_between(old in 0.0..1e6_f64, run in 0.0..1e6_f64) {
            let new = blend(Some(old), run);
            prop_assert!(new >= old.min(run) - 1e-6 && new <= old.max(run) + 1e-6);
        }
    }

    const NESTED: &str = r#"{
        "default": {"default": {"test_a": 1.0, "test_b": 2}, "slow": {"test_a": 10}},
        "linux-py3": {"default": {"test_a": 3.5}, "": {"test_c": 4}}
    }"#;

    fn source(times: &TestTimes, job: Option<&str>, config: Option<&str>) -> String {
        times.lookup(job, config).source.to_string()
    }

    #[test]
    fn lookup_falls_back_like_pytorch() {
        let times = TestTimes::parse(NESTED).unwrap();
        assert_eq!(
            source(&times, Some("linux-py3"), Some("default")),
            "linux-py3/default"
        );
        // Job known, config not: default/config.
        let lookup = times.lookup(Some("linux-py3"), Some("slow"));
        assert_eq!(lookup.source.to_string(), "default/slow");
        assert_eq!(lookup.tried, ["linux-py3/slow"]);
        // Neither: default/default.
        let lookup = times.lookup(Some("mac"), Some("mps"));
        assert_eq!(lookup.source.to_string(), "default/default");
        assert_eq!(lookup.tried, ["mac/mps", "default/mps"]);
        // Nothing given: default/default, no fallback.
        assert!(times.lookup(None, None).tried.is_empty());
        // The empty config name is a real key.
        assert_eq!(source(&times, Some("linux-py3"), Some("")), "linux-py3/");
        // No default at all: missing.
        let bare = TestTimes::parse(r#"{"j": {"c": {"t": 1}}}"#).unwrap();
        let lookup = bare.lookup(Some("x"), None);
        assert_eq!(lookup.source, TimesSource::Missing);
        assert!(lookup.table.is_none());
        assert_eq!(lookup.tried, ["x/default", "default/default"]);
    }

    #[test]
    fn flat_maps_are_their_own_table() {
        let times = TestTimes::parse(r#"{"test_a": 1, "b.py::t": 0.5}"#).unwrap();
        let lookup = times.lookup(Some("any"), Some("thing"));
        assert_eq!(lookup.source, TimesSource::Flat);
        assert_eq!(lookup.table.unwrap().len(), 2);
        assert_eq!(
            TestTimes::parse("{}").unwrap(),
            TestTimes::Flat(TimesTable::new())
        );
    }

    #[test]
    fn bad_shapes_name_the_path() {
        let err = TestTimes::parse(r#"{"j": {"c": {"t": "slow"}}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"at `["j"]["c"]["t"]`: expected seconds (a number ≥ 0), found the string "slow""#
        );
        let err = TestTimes::parse(r#"{"a": 1, "j": {"c": 2}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"at `["a"]`: expected {config: {test: seconds}} like the other jobs, found `1`"#
        );
        let err = TestTimes::parse(r#"{"t": -1}"#).unwrap_err();
        assert!(err.to_string().contains("≥ 0"), "{err}");
        let err = TestTimes::parse("[1]").unwrap_err();
        assert!(
            err.to_string().starts_with("at `$`: expected an object"),
            "{err}"
        );
        let err = TestTimes::parse("{\n  \"a\": 1,\n}").unwrap_err();
        assert_eq!(
            err,
            TimesError::Json {
                line: 3,
                column: 1,
                message: "trailing comma".to_owned()
            }
        );
    }

    #[test]
    fn index_finds_any_form() {
        let times = TestTimes::parse(
            r#"{"test_nn": 5, "test/test_jit.py": 7, "test/test_nn.py::T::a": 1}"#,
        )
        .unwrap();
        let index = TimesIndex::new(times.lookup(None, None).table);
        assert_eq!(index.get("test_nn"), Some(5.0));
        assert_eq!(index.get("test/test_nn.py"), Some(5.0));
        assert_eq!(index.get("test_jit"), Some(7.0));
        assert_eq!(index.get("test/test_nn.py::T::a"), Some(1.0));
        assert_eq!(
            index.get("test/test_nn.py::T::b"),
            None,
            "cases need their own time"
        );
        assert_eq!(index.get("test_new"), None);
        let files: Vec<_> = index.files().map(|(t, _)| t).collect();
        assert_eq!(files, ["test/test_jit.py", "test_nn"]);
    }

    #[test]
    fn blend_is_an_ema() {
        assert_eq!(blend(None, 8.0), 8.0);
        assert_eq!(blend(Some(10.0), 50.0), 20.0);
        assert_eq!(blend(Some(10.0), 10.0), 10.0);
        let mut table: TimesTable =
            [("t.py::a".to_owned(), 4.0), ("t.py::kept".to_owned(), 1.0)].into();
        let run = [("t.py::a".to_owned(), 8.0), ("t.py::new".to_owned(), 2.0)].into();
        let (_, cases) = record_run(&mut table, &run);
        assert_eq!(
            cases,
            TimesUpdate {
                added: 1,
                updated: 1
            }
        );
        assert_eq!(table["t.py::a"], 5.0);
        assert_eq!(table["t.py::new"], 2.0);
        assert_eq!(
            table["t.py::kept"], 1.0,
            "tests not in this run keep their time"
        );
    }

    #[test]
    fn table_mut_and_round_trip() {
        let mut times = TestTimes::parse(NESTED).unwrap();
        times
            .table_mut(Some("new-job"), None)
            .unwrap()
            .insert("t".into(), 1.5);
        let again = TestTimes::parse(&times.to_json()).unwrap();
        assert_eq!(again, times);
        assert!(times.to_json().ends_with("}\n"));
        let mut flat = TestTimes::Flat(TimesTable::new());
        assert!(flat.table_mut(None, None).is_ok());
        assert!(flat.table_mut(Some("j"), None).is_err());
    }
}

//! What one test run teaches sift: failures for the pytest cache, durations
//! for the test-times file.
//!
//! Failures follow pytest's own cache plugin, so `sift record` leaves the
//! same `lastfailed` pytest would have: a failed test is added, a passed or
//! skipped one is removed (a flaky one passed in the end, so it is removed
//! too), tests that did not run keep their entry, and a file whose tests
//! were collected loses a file-level (collection error) entry.
//!
//! Durations: per test case, the run's time (the mean if a report lists a
//! case twice), skipped cases left out (a skip's near-zero time says
//! nothing about the test); per file (by [`crate::tests::test_id::test_key`]), the total follows
//! its recorded cases (see [`crate::tests::test_times::record_run`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::tests::junit::{JunitReport, Outcome, node_id};
use crate::tests::pytest_cache::LastFailed;

/// The files pytest puts in a new cache directory (pytest 9), written when
/// `sift record` creates one, so the directory is ignored by git and
/// recognized as a cache exactly like pytest's own.
pub const PYTEST_CACHE_SKELETON: [(&str, &str); 3] = [
    (".gitignore", "# Created by pytest automatically.\n*\n"),
    (
        "CACHEDIR.TAG",
        "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by pytest.\n# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/spec.html\n",
    ),
    (
        "README.md",
        "# pytest cache directory #\n\nThis directory contains data from the pytest's cache plugin,\nwhich provides the `--lf` and `--ff` options, as well as the `cache` fixture.\n\n**Do not** commit this to version control.\n\nSee [the docs](https://docs.pytest.org/en/stable/how-to/cache.html) for more information.\n",
    ),
];

/// One test case's result in a run.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    pub outcome: Outcome,
    /// Sum of the known times over the occurrences that had one.
    seconds_sum: f64,
    timed: u32,
}

impl CaseResult {
    /// The case's time in this run, if the report gave one.
    pub fn seconds(&self) -> Option<f64> {
        (self.timed > 0).then(|| self.seconds_sum / f64::from(self.timed))
    }
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub flaky: usize,
}

/// The results of a run, from one or more reports, keyed by node id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecord {
    pub cases: BTreeMap<String, CaseResult>,
}

impl RunRecord {
    /// Adds every case of a report. `module_exists` helps map pytest's
    /// dotted class names to files (see [`node_id`]).
    pub fn add_report(&mut self, report: &JunitReport, module_exists: &dyn Fn(&str) -> bool) {
        for case in &report.cases {
            let id = node_id(report.flavor, case, module_exists).id;
            self.add(id, case.outcome, case.seconds);
        }
    }

    /// Adds one occurrence. A case listed twice keeps its worst outcome
    /// (failed over flaky over passed over skipped) and its mean time.
    pub fn add(&mut self, id: String, outcome: Outcome, seconds: Option<f64>) {
        let entry = self.cases.entry(id).or_insert(CaseResult {
            outcome,
            seconds_sum: 0.0,
            timed: 0,
        });
        entry.outcome = entry.outcome.max(outcome);
        if let Some(s) = seconds {
            entry.seconds_sum += s;
            entry.timed += 1;
        }
    }

    pub fn counts(&self) -> RunCounts {
        let mut counts = RunCounts::default();
        for case in self.cases.values() {
            match case.outcome {
                Outcome::Passed => counts.passed += 1,
                Outcome::Failed => counts.failed += 1,
                Outcome::Skipped => counts.skipped += 1,
                Outcome::Flaky => counts.flaky += 1,
            }
        }
        counts
    }

    /// Node ids of failed tests, sorted.
    pub fn failures(&self) -> impl Iterator<Item = &str> {
        self.cases
            .iter()
            .filter(|(_, c)| c.outcome.failed())
            .map(|(id, _)| id.as_str())
    }

    /// Per-case durations: node ids (with `::`) that ran, with a time.
    pub fn case_seconds(&self) -> BTreeMap<String, f64> {
        self.cases
            .iter()
            .filter(|(id, c)| id.contains("::") && c.outcome != Outcome::Skipped)
            .filter_map(|(id, c)| c.seconds().map(|s| (id.clone(), s)))
            .collect()
    }

    /// `lastfailed` after this run, from the one before (see the module docs).
    pub fn update_lastfailed(&self, before: Option<&LastFailed>) -> LastFailed {
        let mut after = before.cloned().unwrap_or_default();
        let mut collected: BTreeSet<&str> = BTreeSet::new();
        for (id, case) in &self.cases {
            if let Some((file, _)) = id.split_once("::") {
                collected.insert(file);
            }
            if case.outcome.failed() {
                after.insert(id.clone(), Value::Bool(true));
            } else {
                after.remove(id);
            }
        }
        for file in collected {
            if !self.cases.get(file).is_some_and(|c| c.outcome.failed()) {
                after.remove(file);
            }
        }
        after
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(cases: &[(&str, Outcome, Option<f64>)]) -> RunRecord {
        let mut record = RunRecord::default();
        for (id, outcome, seconds) in cases {
            record.add((*id).to_owned(), *outcome, *seconds);
        }
        record
    }

    #[test]
    fn lastfailed_follows_pytest() {
        let before: LastFailed = [
            ("test/test_a.py::t_fixed".to_owned(), json!(true)),
            ("test/test_a.py::t_not_run".to_owned(), json!(true)),
            ("test/test_broken.py".to_owned(), json!(true)),
            ("test/test_gone.py".to_owned(), json!(true)),
            ("test/test_a.py::t_skipped_now".to_owned(), json!(true)),
            ("test/test_a.py::t_flaky".to_owned(), json!(true)),
        ]
        .into();
        let record = run(&[
            ("test/test_a.py::t_fixed", Outcome::Passed, Some(1.0)),
            ("test/test_a.py::t_new_fail", Outcome::Failed, Some(2.0)),
            ("test/test_a.py::t_skipped_now", Outcome::Skipped, None),
            ("test/test_a.py::t_flaky", Outcome::Flaky, Some(1.0)),
            ("test/test_broken.py::t", Outcome::Passed, Some(0.1)),
            ("test/test_c.py", Outcome::Failed, None),
        ]);
        let after = record.update_lastfailed(Some(&before));
        let keys: Vec<&str> = after.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "test/test_a.py::t_new_fail",
                "test/test_a.py::t_not_run",
                "test/test_c.py",
                "test/test_gone.py",
            ]
        );
        assert_eq!(record.update_lastfailed(None).len(), 2);
    }

    #[test]
    fn durations_per_case_and_file() {
        let record = run(&[
            ("test/test_nn.py::A::t1", Outcome::Passed, Some(1.0)),
            ("test/test_nn.py::A::t1", Outcome::Failed, Some(3.0)),
            ("test/test_nn.py::t2", Outcome::Skipped, Some(0.5)),
            ("test/test_nn.py::t3", Outcome::Passed, None),
            ("test/test_broken.py", Outcome::Failed, Some(0.2)),
            ("sift-core::x::y", Outcome::Passed, Some(4.0)),
        ]);
        assert_eq!(
            record.cases["test/test_nn.py::A::t1"].outcome,
            Outcome::Failed
        );
        let cases = record.case_seconds();
        assert_eq!(
            cases,
            [
                ("sift-core::x::y".to_owned(), 4.0),
                ("test/test_nn.py::A::t1".to_owned(), 2.0)
            ]
            .into()
        );
        let mut table = crate::tests::test_times::TimesTable::new();
        crate::tests::test_times::record_run(&mut table, &cases);
        assert_eq!(table["sift-core"], 4.0);
        assert_eq!(
            table["test_nn"], 2.0,
            "skipped cases add nothing to the file"
        );
        assert_eq!(
            record.counts(),
            RunCounts {
                passed: 2,
                failed: 2,
                skipped: 1,
                flaky: 0
            }
        );
    }
}

//! Test order quality, from the test results kept in the history
//! (`sift record --push`): how soon a failure shows with sift's order and
//! without it.
//!
//! For every task run with at least one failing test, the tests that ran
//! (skipped ones excluded) are put in two orders:
//! - **baseline**: by name, what a test runner does unordered;
//! - **sift**: what `sift order` would have given before that push: tests
//!   that failed on the task's earlier pushes first, then tests the change
//!   edits or names ([`crate::tests::order`]), ties by name.
//!
//! and measured by APFD (average percentage of faults detected: `1 −
//! ΣTFᵢ/(n·m) + 1/(2n)` for n tests, m failing, TFᵢ the position of the i-th
//! failing test; 1 is best) and the time to the first failure (the
//! durations of the tests up to and including the first failing one;
//! unknown durations count as the run's median).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Observed;
use crate::history::outcome::{TestOutcome, TestResult};
use crate::tests::order::{OrderInputs, order};
use crate::tests::pytest_cache::CacheSnapshot;

/// How many earlier pushes' failures sift's order remembers.
pub const FAILURE_MEMORY: usize = 20;

/// A measure with and without sift's order.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Pair {
    pub sift: f64,
    pub baseline: f64,
}

/// Means over the task runs with failing tests.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TestOrder {
    /// Task runs (push × task) with test results.
    pub runs: usize,
    /// Of those, the ones with at least one failing test (the ones measured).
    pub failing_runs: usize,
    pub apfd: Pair,
    pub time_to_first_failure_s: Pair,
}

/// APFD of an order, given the 1-based positions of the failing tests among
/// `n` tests.
pub fn apfd(failing_positions: &[usize], n: usize) -> Option<f64> {
    let m = failing_positions.len();
    if n == 0 || m == 0 {
        return None;
    }
    let sum: usize = failing_positions.iter().sum();
    Some(1.0 - sum as f64 / (n as f64 * m as f64) + 1.0 / (2.0 * n as f64))
}

/// Seconds until the first failing test of `ordered` has run.
fn time_to_first_failure(ordered: &[&TestOutcome], fallback: f64) -> f64 {
    let mut total = 0.0;
    for test in ordered {
        total += test.duration_s.unwrap_or(fallback);
        if test.result == TestResult::Failed {
            break;
        }
    }
    total
}

fn measure(ordered: &[&TestOutcome], fallback: f64) -> (f64, f64) {
    let positions: Vec<usize> = ordered
        .iter()
        .enumerate()
        .filter(|(_, t)| t.result == TestResult::Failed)
        .map(|(i, _)| i + 1)
        .collect();
    (
        apfd(&positions, ordered.len()).unwrap_or(0.0),
        time_to_first_failure(ordered, fallback),
    )
}

/// Both orders over every task run with test results; `changed(i)` gives
/// push i's changed paths (empty when unknown). `None` without any failing
/// run to measure.
pub fn evaluate(
    pushes: &[Observed],
    changed: &mut dyn FnMut(usize) -> Vec<String>,
) -> Option<TestOrder> {
    // Per task: the failing tests of its earlier pushes, newest last.
    let mut memory: BTreeMap<&str, Vec<BTreeSet<String>>> = BTreeMap::new();
    let (mut runs, mut failing_runs) = (0, 0);
    let (mut sift, mut baseline) = ((0.0, 0.0), (0.0, 0.0));
    for (i, push) in pushes.iter().enumerate() {
        let mut paths: Option<Vec<String>> = None;
        for (task, tests) in &push.outcomes.tests {
            let ran: Vec<&TestOutcome> = tests
                .iter()
                .filter(|t| t.result != TestResult::Skipped)
                .collect();
            if ran.is_empty() {
                continue;
            }
            runs += 1;
            let failed_now: BTreeSet<String> = ran
                .iter()
                .filter(|t| t.result == TestResult::Failed)
                .map(|t| t.name.clone())
                .collect();
            let earlier = memory.entry(task).or_default();
            if !failed_now.is_empty() {
                failing_runs += 1;
                let known: Vec<f64> = ran.iter().filter_map(|t| t.duration_s).collect();
                let fallback = crate::run::median(known).unwrap_or(1.0);
                let mut by_name = ran.clone();
                by_name.sort_by(|a, b| a.name.cmp(&b.name));
                let b = measure(&by_name, fallback);
                let previous: BTreeSet<String> = earlier.iter().flatten().cloned().collect();
                let cache = CacheSnapshot {
                    previous_failures: Some(previous),
                    ..CacheSnapshot::default()
                };
                let paths = paths.get_or_insert_with(|| changed(i));
                let names: Vec<String> = by_name.iter().map(|t| t.name.clone()).collect();
                let inputs = OrderInputs {
                    changed_files: paths.iter().map(String::as_str).collect(),
                    cache: Some(&cache),
                    ratings: None,
                };
                let index: BTreeMap<&str, &TestOutcome> =
                    ran.iter().map(|t| (t.name.as_str(), *t)).collect();
                let ordered: Vec<&TestOutcome> = order(&names, &inputs)
                    .iter()
                    .filter_map(|r| index.get(r.name.as_str()).copied())
                    .collect();
                let s = measure(&ordered, fallback);
                sift = (sift.0 + s.0, sift.1 + s.1);
                baseline = (baseline.0 + b.0, baseline.1 + b.1);
            }
            earlier.push(failed_now);
            if earlier.len() > FAILURE_MEMORY {
                earlier.remove(0);
            }
        }
    }
    if failing_runs == 0 {
        return None;
    }
    let mean = |x: f64| (x / failing_runs as f64 * 1000.0).round() / 1000.0;
    Some(TestOrder {
        runs,
        failing_runs,
        apfd: Pair {
            sift: mean(sift.0),
            baseline: mean(baseline.0),
        },
        time_to_first_failure_s: Pair {
            sift: mean(sift.1),
            baseline: mean(baseline.1),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apfd_of_known_orders() {
        // 10 tests, failing at 1 and 2: 1 - 3/20 + 1/20 = 0.9.
        assert!((apfd(&[1, 2], 10).unwrap() - 0.9).abs() < 1e-12);
        // Failing last: 1 - 10/10 + 1/20 = 0.05.
        assert!((apfd(&[10], 10).unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(apfd(&[], 10), None);
    }
}

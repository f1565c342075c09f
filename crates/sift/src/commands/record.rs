//! `sift record`: failures and durations from JUnit XML reports.
//!
//! Everything is read and computed before anything is written, and each file
//! is replaced atomically, so a malformed report or times file leaves the
//! cache and the times exactly as they were.

use std::path::Path;

use sift_core::history::outcome::{TestOutcome, TestResult};
use sift_core::tests::junit::{self, JunitError};
use sift_core::tests::pytest_cache::{self, LASTFAILED};
use sift_core::tests::record::{PYTEST_CACHE_SKELETON, RunRecord};
use sift_core::tests::test_times::{self, TestTimes, TimesTable};

use super::inputs;
use crate::cli::RecordArgs;
use crate::error::CliError;
use crate::{exit, output};

pub fn run(root: &Path, args: RecordArgs) -> Result<u8, CliError> {
    if args.push.is_some() {
        return Err(CliError::Usage {
            message: "`sift record --push` runs in the sift-remote executable".to_owned(),
            hint: None,
        });
    }
    record(root, &args).map(|(code, _)| code)
}

/// Records the reports into the cache and times file; returns the exit code
/// and every test in the order the reports list them (a test listed twice
/// keeps its first place and its worst result), for the push history.
pub(crate) fn record(root: &Path, args: &RecordArgs) -> Result<(u8, Vec<TestOutcome>), CliError> {
    let mut run = RunRecord::default();
    let mut tests: Vec<TestOutcome> = Vec::new();
    let mut position: std::collections::HashMap<String, usize> = Default::default();
    // pytest's dotted class names map back to files that exist under the root.
    let exists = |path: &str| root.join(path).is_file();
    for path in &args.junit {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::io(format!("cannot read `{}`", path.display()), e))?;
        let report = junit::parse_bytes(&bytes).map_err(|e| junit_error(path, e))?;
        if report.cases.is_empty() {
            output::warning(&format!("`{}` holds no test cases", path.display()));
        }
        run.add_report(&report, &exists);
        for case in &report.cases {
            let name = junit::node_id(report.flavor, case, &exists).id;
            let result = match case.outcome {
                junit::Outcome::Failed => TestResult::Failed,
                junit::Outcome::Skipped => TestResult::Skipped,
                // Flaky: failed, then passed on a retry.
                junit::Outcome::Passed | junit::Outcome::Flaky => TestResult::Passed,
            };
            match position.get(&name) {
                Some(&i) => {
                    if result == TestResult::Failed {
                        tests[i].result = TestResult::Failed;
                    }
                }
                None => {
                    position.insert(name.clone(), tests.len());
                    tests.push(TestOutcome {
                        name,
                        result,
                        duration_s: case.seconds.filter(|s| s.is_finite() && *s >= 0.0),
                    });
                }
            }
        }
    }

    let cache_dir = inputs::cache_dir(root, args.cache_dir.as_deref());
    let cache_existed = cache_dir.is_dir();
    let before = inputs::read_cache(&cache_dir)?.lastfailed;
    let after = run.update_lastfailed(before.as_ref());
    // Like pytest: write only when something changed (no file for a clean first run).
    let write_lastfailed = match &before {
        Some(before) => *before != after,
        None => !after.is_empty(),
    };

    let times_update = match &args.times {
        Some(path) => Some(update_times(path, args, &run)?),
        None => None,
    };

    if let Some((path, times, _)) = &times_update {
        pytest_cache::write_atomic(path, times.to_json().as_bytes())
            .map_err(|e| write_error(path, e))?;
    }
    if write_lastfailed {
        if !cache_existed {
            for (name, text) in PYTEST_CACHE_SKELETON {
                let path = cache_dir.join(name);
                pytest_cache::write_atomic(&path, text.as_bytes())
                    .map_err(|e| write_error(&path, e))?;
            }
        }
        pytest_cache::write_lastfailed(&cache_dir, &after)
            .map_err(|e| write_error(&cache_dir.join(LASTFAILED), e))?;
    }

    let counts = run.counts();
    output::note(&format!(
        "recorded {} test(s) from {} report(s): {} passed, {} failed, {} skipped, {} flaky",
        run.cases.len(),
        args.junit.len(),
        counts.passed,
        counts.failed,
        counts.skipped,
        counts.flaky
    ));
    output::note(&format!(
        "{} `{}`: {} failure(s) known",
        if write_lastfailed {
            "wrote"
        } else {
            "unchanged"
        },
        cache_dir.join(LASTFAILED).display(),
        after.len()
    ));
    if let Some((path, _, summary)) = &times_update {
        output::note(&format!("updated `{}`{summary}", path.display()));
    }
    Ok((exit::OK, tests))
}

/// Reads (or starts) the times file and blends this run in; returns the
/// path, the new contents and a summary.
fn update_times(
    path: &Path,
    args: &RecordArgs,
    run: &RunRecord,
) -> Result<(std::path::PathBuf, TestTimes, String), CliError> {
    let nested = args.job.is_some() || args.config.is_some();
    let mut times = match std::fs::read_to_string(path) {
        Ok(text) => inputs::parse_times(path, &text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if nested {
                TestTimes::Nested(Default::default())
            } else {
                TestTimes::Flat(TimesTable::new())
            }
        }
        Err(e) => {
            return Err(CliError::io(format!("cannot read `{}`", path.display()), e));
        }
    };
    let table = times
        .table_mut(args.job.as_deref(), args.config.as_deref())
        .map_err(|_| CliError::Usage {
            message: format!(
                "`{}` is a flat {{test: seconds}} map, so --job/--config cannot select a table in it",
                path.display()
            ),
            hint: Some("drop --job/--config, or record into a new file".to_owned()),
        })?;
    let (files, cases) = test_times::record_run(table, &run.case_seconds());
    let where_ = if nested {
        format!(
            " [{}/{}]",
            args.job.as_deref().unwrap_or(test_times::DEFAULT),
            args.config.as_deref().unwrap_or(test_times::DEFAULT)
        )
    } else {
        match times {
            TestTimes::Flat(_) => String::new(),
            TestTimes::Nested(_) => format!(" [{0}/{0}]", test_times::DEFAULT),
        }
    };
    let summary = format!(
        "{where_}: {} file(s) ({} new), {} test case(s) ({} new); new = old + {} × (run − old)",
        files.added + files.updated,
        files.added,
        cases.added + cases.updated,
        cases.added,
        test_times::ALPHA
    );
    Ok((path.to_owned(), times, summary))
}

fn junit_error(path: &Path, error: JunitError) -> CliError {
    let hint = match &error {
        JunitError::Malformed { .. } => {
            "the report is not well-formed XML (was the test run interrupted while writing it?)"
        }
        _ => {
            "expected JUnit XML as written by pytest --junitxml, cargo-nextest, jest-junit, go-junit-report or Maven Surefire"
        }
    };
    CliError::Input {
        message: format!("`{}`:{error}", path.display()),
        hint: Some(format!("{hint}; nothing was written")),
    }
}

fn write_error(path: &Path, error: pytest_cache::CacheError) -> CliError {
    match error {
        pytest_cache::CacheError::Write { source, .. } => {
            CliError::io(format!("cannot write `{}`", path.display()), source)
        }
        other => CliError::io(
            format!("cannot write `{}`", path.display()),
            std::io::Error::other(other.to_string()),
        ),
    }
}

//! Reading the data files of `order`, `shard` and `record`, with errors that
//! name the file (and line) and exit with the documented codes: 5 when a
//! file cannot be read, 11 when its contents are malformed.

use std::io::Read;
use std::path::{Path, PathBuf};

use sift_core::tests::order::RatingsError;
use sift_core::tests::pytest_cache::{CacheError, CacheSnapshot};
use sift_core::tests::test_times::{TestTimes, TimesError};

use crate::error::CliError;

/// The text of FILE, or of stdin for `-`.
pub fn read_text(source: &str, what: &str) -> Result<String, CliError> {
    if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::io(format!("cannot read {what} from stdin"), e))?;
        return Ok(text);
    }
    std::fs::read_to_string(source).map_err(|e| CliError::io(format!("cannot read `{source}`"), e))
}

/// The pytest cache directory: `--cache-dir`, else `.pytest_cache` under the root.
pub fn cache_dir(root: &Path, explicit: Option<&Path>) -> PathBuf {
    explicit.map_or_else(|| root.join(".pytest_cache"), Path::to_owned)
}

pub fn read_cache(dir: &Path) -> Result<CacheSnapshot, CliError> {
    CacheSnapshot::read_dir(dir).map_err(|e| match e {
        CacheError::Read { path, source } => {
            CliError::io(format!("cannot read `{}`", path.display()), source)
        }
        other => CliError::Input {
            message: format!("pytest cache `{}`: {other}", dir.display()),
            hint: Some(
                "the file is not what pytest writes; delete it (pytest recreates it) or fix it"
                    .to_owned(),
            ),
        },
    })
}

pub fn parse_times(path: &Path, text: &str) -> Result<TestTimes, CliError> {
    TestTimes::parse(text).map_err(|e| times_error(path, e))
}

pub fn times_error(path: &Path, error: TimesError) -> CliError {
    let message = match &error {
        TimesError::Json {
            line,
            column,
            message,
        } => format!(
            "`{}`:{line}:{column}: not valid JSON: {message}",
            path.display()
        ),
        other => format!("`{}`: {other}", path.display()),
    };
    CliError::Input {
        message,
        hint: Some(
            "expected PyTorch's test-times.json ({job: {config: {test: seconds}}}) or a flat {test: seconds} map"
                .to_owned(),
        ),
    }
}

pub fn ratings_error(path: &Path, error: RatingsError) -> CliError {
    let message = match &error {
        RatingsError::Json {
            line,
            column,
            message,
        } => format!(
            "`{}`:{line}:{column}: not valid JSON: {message}",
            path.display()
        ),
        other => format!("`{}`: {other}", path.display()),
    };
    CliError::Input {
        message,
        hint: Some("expected PyTorch's ratings format: {changed file: {test: rating}}".to_owned()),
    }
}

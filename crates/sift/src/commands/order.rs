//! `sift order`: the candidate tests, likely failures first.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use sift_core::tests::order::{self, Evidence, Heuristic, OrderInputs, Ranked};
use sift_core::tests::test_id::pytest_arg;

use super::inputs;
use super::plan::print_stdout;
use crate::cli::{OrderArgs, OrderFormat};
use crate::error::CliError;
use crate::{exit, output};

/// `--format json`: stable, versioned like `sift plan`'s.
#[derive(Serialize)]
struct OrderJson<'a> {
    format_version: u32,
    candidates: usize,
    kept: usize,
    left_out: usize,
    tests: &'a [Ranked],
    left_out_tests: &'a [Ranked],
}

pub fn run(root: &Path, args: OrderArgs) -> Result<u8, CliError> {
    if args.tests == "-" && args.change.files_from.as_deref() == Some("-") {
        return Err(CliError::Usage {
            message: "--tests and --files-from cannot both read stdin".to_owned(),
            hint: Some("write one of the lists to a file".to_owned()),
        });
    }
    let candidates = order::parse_candidates(&inputs::read_text(&args.tests, "the tests")?);
    let change = super::load_change(root, &args.change)?;
    let cache_dir = inputs::cache_dir(root, args.cache_dir.as_deref());
    if args.cache_dir.is_some() && !cache_dir.is_dir() {
        output::warning(&format!(
            "the cache directory `{}` does not exist: no earlier failures are known",
            cache_dir.display()
        ));
    }
    let cache = inputs::read_cache(&cache_dir)?;
    let ratings = match &args.ratings {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::io(format!("cannot read `{}`", path.display()), e))?;
            Some(order::parse_ratings(&text).map_err(|e| inputs::ratings_error(path, e))?)
        }
        None => None,
    };
    let changed_files = change.all_paths();
    let ranked = order::order(
        &candidates,
        &OrderInputs {
            changed_files,
            cache: Some(&cache),
            ratings: ratings.as_ref(),
        },
    );
    let kept = args
        .top
        .map_or(ranked.len(), |p| order::top_count(ranked.len(), p));
    let (shown, left_out) = ranked.split_at(kept);
    if let Some(percent) = args.top {
        output::note(&format!(
            "--top {percent}: kept {kept} of {} tests, left out {}",
            ranked.len(),
            left_out.len()
        ));
    }
    let text = match args.format {
        OrderFormat::Text => text(shown),
        OrderFormat::Json => {
            let mut json = serde_json::to_string_pretty(&OrderJson {
                format_version: 1,
                candidates: ranked.len(),
                kept,
                left_out: left_out.len(),
                tests: shown,
                left_out_tests: left_out,
            })
            .expect("the order serializes");
            json.push('\n');
            json
        }
        OrderFormat::Pytest => {
            // `test_nn` and `test/test_nn.py` are one pytest argument: print it once.
            let mut seen = BTreeSet::new();
            let mut out = String::new();
            for test in shown {
                let arg = pytest_arg(&test.name);
                if seen.insert(arg.clone()) {
                    out.push_str(&arg);
                    out.push('\n');
                }
            }
            out
        }
    };
    print_stdout(&text)?;
    Ok(exit::OK)
}

/// `score  name  reasons`, one test per line.
fn text(ranked: &[Ranked]) -> String {
    let width = ranked
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let mut out = String::new();
    for test in ranked {
        let reasons: Vec<String> = test.heuristics.iter().map(reason).collect();
        let line = format!(
            "{:>6.3}  {:<width$}  {}",
            test.score,
            test.name,
            reasons.join("; ")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn reason(score: &sift_core::tests::order::HeuristicScore) -> String {
    let mut items: Vec<String> = score
        .evidence
        .iter()
        .map(|e| match e {
            Evidence::Failure { failure, .. } => failure.clone(),
            Evidence::Edited { changed_file } => changed_file.clone(),
            Evidence::Keyword {
                keyword,
                changed_files,
            } => format!("`{keyword}` ×{}", changed_files.len()),
            Evidence::Rating {
                changed_file,
                rating,
                ..
            } => format!("{changed_file} ({rating})"),
        })
        .collect();
    let more = items.len().saturating_sub(3);
    items.truncate(3);
    if more > 0 {
        items.push(format!("{more} more"));
    }
    let label = match score.heuristic {
        Heuristic::PreviouslyFailed => "failed before",
        Heuristic::EditedByChange => "edited",
        Heuristic::RelatedByPath => "related",
        Heuristic::HistoricalCorrelation => "history",
    };
    format!("{label} +{:.3}: {}", score.score, items.join(", "))
}

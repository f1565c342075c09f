//! `sift shard`: tests split into shards of equal expected duration.

use std::fmt::Write as _;

use serde::Serialize;
use sift_core::ci::summary::{self, ShardRow};
use sift_core::tests::shard::{self, Shard, ShardInput, ShardPlan, ShardedTest};
use sift_core::tests::test_times::{TimesIndex, TimesSource};

use super::inputs;
use super::plan::print_stdout;
use crate::cli::{ShardArgs, ShardFormat};
use crate::error::CliError;
use crate::{exit, output};

#[derive(Serialize)]
struct ShardJson<'a> {
    format_version: u32,
    /// The times table used: `job/config`, `flat map` or `none`.
    times: String,
    total_seconds: f64,
    lower_bound_seconds: f64,
    split_factor: u32,
    shards: Vec<Shard>,
    unknown: &'a [String],
}

pub fn run(args: ShardArgs) -> Result<u8, CliError> {
    let shards = args.shards as usize;
    if let Some(index) = args.index
        && index > args.shards
    {
        return Err(CliError::Usage {
            message: format!("--index {index} is past the last shard ({shards})"),
            hint: Some("--index counts from 1 to --shards".to_owned()),
        });
    }
    let text = std::fs::read_to_string(&args.times)
        .map_err(|e| CliError::io(format!("cannot read `{}`", args.times.display()), e))?;
    let times = inputs::parse_times(&args.times, &text)?;
    let lookup = times.lookup(args.job.as_deref(), args.config.as_deref());
    match &lookup.source {
        TimesSource::Missing => output::warning(&format!(
            "`{}` has no times for {} (nor a default): every test is dealt round-robin",
            args.times.display(),
            lookup.tried.join(", ")
        )),
        source if !lookup.tried.is_empty() => output::warning(&format!(
            "no times for {}; using {source}",
            lookup.tried.join(", ")
        )),
        _ => {}
    }
    let index = TimesIndex::new(lookup.table);
    let tests: Vec<ShardInput> = match &args.tests {
        Some(source) => {
            sift_core::tests::order::parse_candidates(&inputs::read_text(source, "the tests")?)
                .into_iter()
                .map(|name| ShardInput {
                    seconds: index.get(&name),
                    name,
                })
                .collect()
        }
        None => {
            // Longest first, so each shard starts with its slowest test.
            let mut all: Vec<ShardInput> = index
                .files()
                .map(|(name, seconds)| ShardInput {
                    name: name.to_owned(),
                    seconds: Some(seconds),
                })
                .collect();
            all.sort_by(|a, b| {
                b.seconds
                    .unwrap_or(0.0)
                    .total_cmp(&a.seconds.unwrap_or(0.0))
                    .then_with(|| a.name.cmp(&b.name))
            });
            all
        }
    };
    let plan = shard::shard_with(&tests, shards, args.split_above, args.max_split_factor).map_err(
        |e| CliError::Usage {
            message: e.to_string(),
            hint: None,
        },
    )?;
    report(&plan, shards);
    let selected: Vec<Shard> = plan
        .shards
        .iter()
        .filter(|s| args.index.is_none_or(|i| s.index == i as usize))
        .cloned()
        .collect();
    if let Some(i) = args.index
        && selected.iter().all(|s| s.tests.is_empty())
    {
        output::warning(&format!(
            "shard {i} of {shards} is empty: there are fewer tests than shards"
        ));
    }
    let json_of = |shards: Vec<Shard>| {
        let mut json = serde_json::to_string_pretty(&ShardJson {
            format_version: 1,
            times: lookup.source.to_string(),
            total_seconds: round(plan.total_seconds),
            lower_bound_seconds: round(plan.lower_bound),
            split_factor: plan.split_factor,
            shards: shards.into_iter().map(rounded).collect(),
            unknown: &plan.unknown,
        })
        .expect("shards serialize");
        json.push('\n');
        json
    };
    if let Some(path) = &args.report {
        // Every shard, whatever --index prints: the page compares them.
        let json = json_of(plan.shards.clone());
        super::report::write(
            path,
            &sift_core::report::Inputs {
                shards: Some(&json),
                ..Default::default()
            },
        )?;
    }
    let mut out = match args.format {
        ShardFormat::Json => json_of(selected),
        ShardFormat::Text if args.index.is_some() => {
            let mut out = String::new();
            for test in selected.iter().flat_map(|s| &s.tests) {
                let _ = writeln!(out, "{}", label(test));
            }
            out
        }
        ShardFormat::Text => {
            let mut out = String::new();
            for shard in &selected {
                let _ = writeln!(
                    out,
                    "shard {}/{shards}: {:.1} s expected, {} test(s)",
                    shard.index,
                    shard.expected_seconds,
                    shard.tests.len()
                );
                for test in &shard.tests {
                    let _ = writeln!(out, "  {}", label(test));
                }
            }
            out
        }
    };
    if let Some(file) = &args.summary {
        let rows: Vec<ShardRow> = plan
            .shards
            .iter()
            .map(|s| ShardRow {
                index: s.index,
                expected_seconds: s.expected_seconds,
                tests: s.tests.len(),
            })
            .collect();
        let markdown = summary::shard_markdown(&rows, plan.lower_bound, plan.unknown.len());
        let data = args.format == ShardFormat::Json;
        out.push_str(&crate::summary::publish(
            &markdown,
            "shard",
            file.as_deref(),
            data,
        )?);
    }
    print_stdout(&out)?;
    Ok(exit::OK)
}

/// `name`, or `name i/n` for a piece of a split test.
fn label(test: &ShardedTest) -> String {
    match test.piece {
        [1, 1] => test.name.clone(),
        [i, n] => format!("{} {i}/{n}", test.name),
    }
}

/// The balance and the unknown tests, on stderr.
fn report(plan: &ShardPlan, shards: usize) {
    if !plan.unknown.is_empty() {
        let mut names = plan.unknown[..plan.unknown.len().min(5)].join(", ");
        if plan.unknown.len() > 5 {
            let _ = write!(names, " and {} more", plan.unknown.len() - 5);
        }
        output::warning(&format!(
            "{} test(s) have no recorded time and were dealt round-robin: {names}",
            plan.unknown.len()
        ));
    }
    let mut note = format!(
        "slowest shard {:.1} s; lower bound {:.1} s (max of total {:.1} s / {shards} and the longest piece)",
        plan.makespan(),
        plan.lower_bound,
        plan.total_seconds
    );
    if plan.split_factor > 1 {
        let _ = write!(
            note,
            "; split tests cut {}× finer to balance",
            plan.split_factor
        );
    }
    output::note(&note);
}

fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

fn rounded(mut shard: Shard) -> Shard {
    shard.expected_seconds = round(shard.expected_seconds);
    for test in &mut shard.tests {
        test.seconds = test.seconds.map(round);
    }
    shard
}

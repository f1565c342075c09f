//! `sift quality`: how well selection did on a branch, from the push
//! history (records and outcomes) and, for the details of each false green,
//! the git history (changed files, the rules at that commit). The numbers
//! are sift-core's [`sift_core::quality`]; this module loads and prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use sift_core::config::FileSource;
use sift_core::diagnostic::SourceFile;
use sift_core::history::outcome::PushOutcomes;
use sift_core::history::{PushRecord, parse_rfc3339};
use sift_core::quality::{self, CHANGED_SHOWN, Observed, QualityReport, suggest};
use sift_core::{Config, Planner};
use sift_git::CommitReader;
use sift_store::Store;
use sift_store::history::History;

use super::history::{report, resolve_branch, runtime};
use crate::cli::{QualityArgs, StoreArgs};
use crate::error::CliError;
use crate::{exit, output};

/// Pushes read when no range is given.
pub const DEFAULT_LAST: u64 = 1000;

/// Which recorded pushes to read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Selector {
    Last(u64),
    /// Recorded at or after this Unix time.
    Since(i64),
    /// Numbers A to B, inclusive.
    Range(u64, u64),
}

/// The pushes of a branch with their outcomes, oldest first.
pub(crate) struct Loaded {
    pub branch: String,
    pub records: Vec<PushRecord>,
    pub outcomes: Vec<PushOutcomes>,
}

/// `2026-05-01` or an RFC 3339 time.
pub(crate) fn parse_since(text: &str) -> Result<i64, CliError> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    parse_rfc3339(&full).ok_or_else(|| CliError::Usage {
        message: format!("invalid --since `{text}`"),
        hint: Some("write a date (`2026-05-01`) or a time (`2026-05-01T12:00:00Z`)".to_owned()),
    })
}

/// Reads the selected pushes and their outcomes: O(selected pushes).
pub(crate) fn load(
    root: &Path,
    branch: Option<&str>,
    store: &StoreArgs,
    selector: Selector,
) -> Result<Loaded, CliError> {
    let branch = resolve_branch(root, branch)?;
    let url = super::cache::resolve_store(root, store)?;
    let history = History::new(Store::open(&url, false)?, &branch)?;
    let runtime = runtime()?;
    let mut problems = Vec::new();
    let latest = runtime.block_on(history.latest_number(&mut problems))?;
    report(&problems);
    let mut records: Vec<PushRecord> = Vec::new();
    match selector {
        Selector::Last(n) => {
            let numbers: Vec<u64> = (latest.saturating_sub(n) + 1..=latest).collect();
            let (found, problems) = runtime.block_on(history.read_many(&numbers))?;
            report(&problems);
            records = found;
        }
        Selector::Range(a, b) => {
            let numbers: Vec<u64> = (a.max(1)..=b.min(latest)).collect();
            let (found, problems) = runtime.block_on(history.read_many(&numbers))?;
            report(&problems);
            records = found;
        }
        Selector::Since(time) => {
            // Newest first, in batches, until a push is older than `time`.
            let mut next = latest;
            'walk: while next > 0 {
                let low = next.saturating_sub(256);
                let numbers: Vec<u64> = (low + 1..=next).rev().collect();
                let (found, problems) = runtime.block_on(history.read_many(&numbers))?;
                report(&problems);
                for record in found {
                    if record.time < time {
                        break 'walk;
                    }
                    records.push(record);
                }
                next = low;
            }
            records.reverse();
        }
    }
    let numbers: Vec<u64> = records.iter().map(|r| r.number).collect();
    let (outcomes, problems) = runtime.block_on(history.outcomes_of(&numbers))?;
    report(&problems);
    Ok(Loaded {
        branch,
        records,
        outcomes,
    })
}

/// Changed paths of recorded pushes, from git, each read once.
pub(crate) struct Changes {
    reader: Option<CommitReader>,
    cache: BTreeMap<u64, Option<Vec<String>>>,
}

impl Changes {
    pub fn new(root: &Path) -> Changes {
        let reader = match CommitReader::open(root) {
            Ok(reader) => Some(reader),
            Err(e) => {
                output::note(&format!(
                    "changed files, rule chains and test order use the git history, which cannot be read: {e}"
                ));
                None
            }
        };
        Changes {
            reader,
            cache: BTreeMap::new(),
        }
    }

    pub fn reader(&self) -> Option<&CommitReader> {
        self.reader.as_ref()
    }

    /// The paths push `number` changed (both sides of renames), if known.
    pub fn of(&mut self, push: &Observed) -> Option<Vec<String>> {
        if let Some(known) = self.cache.get(&push.number) {
            return known.clone();
        }
        let paths = match (&self.reader, &push.base) {
            (Some(reader), Some(base)) => reader.change(base, &push.head).ok().map(|c| {
                c.all_paths()
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            }),
            _ => None,
        };
        self.cache.insert(push.number, paths.clone());
        paths
    }
}

/// The configuration as it was at `commit` (its sift.toml, included and
/// nested files from the commit's tree).
pub(crate) fn config_at(root: &Path, reader: &CommitReader, commit: &str) -> Option<Config> {
    let files = reader.files_at(commit)?;
    let text = files.read(sift_core::select::rules::RULE_FILE)?;
    let source = SourceFile::new(sift_core::select::rules::RULE_FILE, text);
    Config::from_source_in(root, source, Arc::new(files)).ok()
}

/// Fills in the false greens' changed files, rule chains and suggestions.
fn explain(root: &Path, report: &mut QualityReport, pushes: &[Observed], changes: &mut Changes) {
    let current = super::load_config(root).ok();
    let index: BTreeMap<u64, usize> = pushes
        .iter()
        .enumerate()
        .map(|(i, p)| (p.number, i))
        .collect();
    for green in &mut report.false_greens {
        for skipped in &mut green.skipped_pushes {
            let Some(&i) = index.get(&skipped.number) else {
                continue;
            };
            if let Some(paths) = changes.of(&pushes[i]) {
                skipped.changed_count = Some(paths.len());
                skipped.changed_files = paths.iter().take(CHANGED_SHOWN).cloned().collect();
            }
        }
        // The push it is attributed to: its changes, the rules it had then,
        // and what to change in today's rules.
        let Some(&attributed) = index.get(&green.push) else {
            continue;
        };
        let Some(paths) = changes.of(&pushes[attributed]) else {
            continue;
        };
        if let Some(reader) = changes.reader()
            && let Some(config) = config_at(root, reader, &pushes[attributed].head)
        {
            let mut planner = Planner::new(&config);
            let shown: Vec<String> = paths.iter().take(CHANGED_SHOWN).cloned().collect();
            green.chain = suggest::chain(&mut planner, &config, &shown);
        }
        if let Some(config) = &current {
            let mut planner = Planner::new(config);
            green.suggestion = Some(suggest::suggest(&mut planner, config, &green.task, &paths));
        }
    }
}

pub fn run(root: &Path, args: QualityArgs) -> Result<u8, CliError> {
    let selector = match (&args.since, args.last) {
        (Some(since), _) => Selector::Since(parse_since(since)?),
        (None, Some(0)) => {
            return Err(CliError::Usage {
                message: "--last takes a number of pushes ≥ 1".to_owned(),
                hint: None,
            });
        }
        (None, last) => Selector::Last(last.unwrap_or(DEFAULT_LAST)),
    };
    let loaded = load(root, args.branch.as_deref(), &args.store, selector)?;
    let pushes: Vec<Observed> = loaded
        .records
        .iter()
        .zip(loaded.outcomes)
        .map(|(record, outcomes)| Observed::new(record, outcomes))
        .collect();
    let mut report = quality::analyze(&loaded.branch, &pushes);
    let mut changes = Changes::new(root);
    explain(root, &mut report, &pushes, &mut changes);
    report.tests =
        quality::apfd::evaluate(&pushes, &mut |i| changes.of(&pushes[i]).unwrap_or_default());
    let json = (args.json || args.report.is_some())
        .then(|| serde_json::to_string_pretty(&report).expect("plain data serializes"));
    if let (Some(path), Some(json)) = (&args.report, &json) {
        super::report::write(
            path,
            &sift_core::report::Inputs {
                quality: Some(json),
                ..Default::default()
            },
        )?;
    }
    let text = match json {
        Some(mut text) if args.json => {
            text.push('\n');
            text
        }
        _ => render(&report),
    };
    super::plan::print_stdout(&text)?;
    Ok(exit::OK)
}

/// Task time for humans: `1.5s`, `2m05s`, `12.3 h`.
pub(crate) fn task_time(seconds: f64) -> String {
    if seconds < 3600.0 {
        sift_core::run::report::format_seconds(seconds)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_owned(), |s| format!("{:.0}%", s * 100.0))
}

/// The report for humans.
pub fn render(report: &QualityReport) -> String {
    let mut out = String::new();
    let p = &report.pushes;
    let (Some(first), Some(last)) = (p.first, p.last) else {
        let _ = writeln!(
            out,
            "no recorded pushes on {} (record them with `sift plan --record` or `sift run`)",
            report.branch
        );
        return out;
    };
    let _ = writeln!(
        out,
        "selection quality on {}: pushes #{first} to #{last} ({} to {}): {} pushes, {} backstop, {} shadow, {} with outcomes",
        report.branch,
        p.from.as_deref().unwrap_or("?"),
        p.to.as_deref().unwrap_or("?"),
        p.count,
        p.backstop,
        p.shadow,
        p.with_outcomes
    );
    let s = &report.selection;
    let _ = writeln!(
        out,
        "\nsaved: {} of {} task runs skipped ({}); {} of {} task time ({})",
        s.skipped,
        s.tasks,
        percent(s.skipped_share),
        task_time(s.skipped_seconds),
        task_time(s.task_seconds),
        percent(s.skipped_seconds_share)
    );
    if s.would_skip != s.skipped {
        let _ = writeln!(
            out,
            "the selection alone would have skipped {} (backstops and shadow mode ran the rest)",
            s.would_skip
        );
    }
    if !s.unknown_durations.is_empty() {
        let _ = writeln!(
            out,
            "no recorded duration (not in the hours): {}",
            s.unknown_durations.join(", ")
        );
    }
    let g = &report.regressions;
    let _ = writeln!(
        out,
        "regressions: {} ({} caught, {} missed){}",
        g.total,
        g.caught,
        g.missed,
        if g.unknown_start > 0 {
            format!(
                "; {} failure(s) with no earlier pass in range, not counted",
                g.unknown_start
            )
        } else {
            String::new()
        }
    );
    let r = &report.rate;
    match (r.rate, r.ci95) {
        (Some(rate), Some([lo, hi])) => {
            let _ = writeln!(
                out,
                "false-green rate: {} of {} failing pushes ({:.1}%, 95% CI {:.1}–{:.1}%), over {} pushes with outcomes",
                r.missed_failing_pushes,
                r.failing_pushes,
                rate * 100.0,
                lo * 100.0,
                hi * 100.0,
                r.truth_known_pushes
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "false-green rate: no failing pushes yet ({} pushes with outcomes)",
                r.truth_known_pushes
            );
        }
    }
    for flaky in &report.flaky {
        let pushes: Vec<String> = flaky.pushes.iter().map(|n| format!("#{n}")).collect();
        let _ = writeln!(out, "flaky: {} on {}", flaky.task, pushes.join(", "));
    }
    if !report.false_greens.is_empty() {
        let _ = writeln!(out, "\nfalse greens:");
    }
    for green in &report.false_greens {
        let _ = writeln!(
            out,
            "- {} broke in pushes #{}..#{}, skipped there, first seen failing on #{} ({} run)",
            green.task, green.window[0], green.window[1], green.detected, green.detected_by
        );
        for skipped in &green.skipped_pushes {
            let changed = match skipped.changed_count {
                Some(n) if n > skipped.changed_files.len() => format!(
                    "{} and {} more",
                    skipped.changed_files.join(", "),
                    n - skipped.changed_files.len()
                ),
                Some(_) => skipped.changed_files.join(", "),
                None => "(changed files unknown)".to_owned(),
            };
            let sha: String = skipped.head.chars().take(12).collect();
            let _ = writeln!(
                out,
                "    #{} {sha}: {}\n      changed: {changed}",
                skipped.number, skipped.reason
            );
        }
        if !green.chain.is_empty() {
            let _ = writeln!(out, "    rules on #{}:", green.push);
            for link in &green.chain {
                let rules = if link.rules.is_empty() {
                    "no rule".to_owned()
                } else {
                    link.rules.join("; ")
                };
                let _ = writeln!(
                    out,
                    "      {}: {rules} → components {}",
                    link.path,
                    if link.components.is_empty() {
                        "(none)".to_owned()
                    } else {
                        link.components.join(", ")
                    }
                );
            }
        }
        if let Some(suggestion) = &green.suggestion {
            if suggestion.toml.is_empty() {
                let _ = writeln!(out, "    no suggestion: {}", suggestion.why);
            } else {
                let _ = writeln!(out, "    suggestion ({}):", suggestion.why);
                for line in suggestion.toml.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
    }
    if let Some(tests) = &report.tests {
        let _ = writeln!(
            out,
            "\ntest order ({} task runs with failing tests, of {} with test results): APFD {:.3} with sift's order, {:.3} without; first failure after {:.1} s vs {:.1} s",
            tests.failing_runs,
            tests.runs,
            tests.apfd.sift,
            tests.apfd.baseline,
            tests.time_to_first_failure_s.sift,
            tests.time_to_first_failure_s.baseline
        );
    }
    let _ = writeln!(out, "\nverdict: {}", report.verdict);
    out
}

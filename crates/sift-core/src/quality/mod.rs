//! Selection quality: how much the plans saved, and how often a skip hid a
//! failure (a *false green*), measured from the push history.
//!
//! Definitions (the README's "Selection quality" section says the same):
//!
//! - A task's **verdict** on a push comes from every attempt reported there
//!   (see [`crate::history::outcome`]): passed, failed, or flaky when
//!   attempts disagree. Flaky pushes are neither passes nor failures.
//! - The selection **would skip** a task on a push when the plan skipped it,
//!   or — on a backstop push or in shadow mode, where it ran anyway — when
//!   the plan recorded that the selection alone would have skipped it.
//! - A **regression** of a task: a failed verdict on push `q` whose previous
//!   verdict (on push `r < q`) was a pass. It was introduced somewhere in
//!   the *window* `r+1 ..= q`. (A failure with no earlier pass in the range
//!   has an unknown start and is not counted; a failure after a failure is
//!   the same breakage still there.)
//! - It was **caught** if some push of the window would have run the task:
//!   the rules flagged a change in the window as affecting it. It is a
//!   **false green** if every push of the window would have skipped it — the
//!   rules saw nothing, and it was found only because it ran anyway (a
//!   backstop, shadow mode). With shadow mode the window is one push.
//! - Each regression is **attributed** to a push: a caught one to the first
//!   push of its window that would have run the task, a false green to the
//!   first push of its window (the earliest it can have broken). A
//!   **failing push** has at least one regression attributed to it; a
//!   **missed** failing push at least one false green. The **false-green
//!   rate** is missed failing pushes / failing pushes, with a Wilson 95%
//!   interval.

pub mod apfd;
pub mod suggest;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::history::outcome::{PushOutcomes, Verdict};
use crate::history::{PlanMode, PushRecord, format_rfc3339};

/// `format_version` of the quality report.
pub const FORMAT_VERSION: u32 = 1;

/// One push as quality sees it: what ran, what the selection would have
/// skipped, and how tasks ended.
#[derive(Clone, Debug)]
pub struct Observed {
    pub number: u64,
    pub head: String,
    pub base: Option<String>,
    /// Unix seconds.
    pub time: i64,
    pub backstop: bool,
    pub mode: PlanMode,
    /// Every task the plan decided (kept or skipped), sorted.
    pub tasks: Vec<String>,
    /// Tasks the plan did not run.
    pub skipped: BTreeSet<String>,
    /// Tasks the selection alone would not have run, with its reason.
    pub would_skip: BTreeMap<String, String>,
    pub outcomes: PushOutcomes,
}

impl Observed {
    pub fn new(record: &PushRecord, outcomes: PushOutcomes) -> Observed {
        let mut tasks: Vec<String> = record.kept.iter().chain(&record.skipped).cloned().collect();
        tasks.sort();
        let would_skip = tasks
            .iter()
            .filter_map(|t| Some((t.clone(), record.would_skip(t)?.to_owned())))
            .collect();
        Observed {
            number: record.number,
            head: record.head.clone(),
            base: record.base.clone(),
            time: record.time,
            backstop: record.backstop,
            mode: record.mode(),
            skipped: record.skipped.iter().cloned().collect(),
            tasks,
            would_skip,
            outcomes,
        }
    }

    /// Whether the selection would have run `task` here (a task the plan
    /// did not know was not run).
    fn runs(&self, task: &str) -> bool {
        self.tasks
            .binary_search_by(|t| t.as_str().cmp(task))
            .is_ok()
            && !self.would_skip.contains_key(task)
    }
}

/// One push of a false green's window, where the selection skipped the task.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SkippedPush {
    pub number: u64,
    pub head: String,
    /// Why the selection skipped the task there.
    pub reason: String,
    /// The change's paths (up to [`CHANGED_SHOWN`]), filled in by the
    /// caller from git; empty when unknown.
    pub changed_files: Vec<String>,
    /// How many paths the change had (`None` when unknown).
    pub changed_count: Option<usize>,
}

/// How many changed paths a false green shows per push.
pub const CHANGED_SHOWN: usize = 20;

/// One changed path and how the rules mapped it, for a false green.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ChainLink {
    pub path: String,
    /// The rules that matched it, as `file:line `pattern` → effect`.
    pub rules: Vec<String>,
    /// The components it affected.
    pub components: Vec<String>,
}

/// A task the selection skipped while it broke.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FalseGreen {
    pub task: String,
    /// The push it is attributed to: the first of its window.
    pub push: u64,
    /// Where it was first seen failing.
    pub detected: u64,
    /// Why it ran there: `backstop`, `shadow` or `forced` (`--all`, a
    /// dependent, another job).
    pub detected_by: &'static str,
    /// First and last push of the window.
    pub window: [u64; 2],
    pub skipped_pushes: Vec<SkippedPush>,
    /// The changed paths of the attributed push and their rules (filled in
    /// by the caller).
    pub chain: Vec<ChainLink>,
    /// The narrowest change to the rules that would have kept the task.
    pub suggestion: Option<suggest::Suggestion>,
}

/// Regression counts.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Regressions {
    pub total: usize,
    pub caught: usize,
    pub missed: usize,
    /// Failures with no earlier pass in the range (start unknown, not counted).
    pub unknown_start: usize,
}

/// The false-green rate.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Rate {
    pub failing_pushes: usize,
    pub missed_failing_pushes: usize,
    /// `None` when no push failed.
    pub rate: Option<f64>,
    /// Wilson score interval, 95%.
    pub ci95: Option<[f64; 2]>,
    /// Pushes with at least one reported outcome: where the truth is known.
    pub truth_known_pushes: usize,
}

/// One push's selection.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PushSelection {
    pub number: u64,
    pub time: String,
    pub backstop: bool,
    pub mode: &'static str,
    pub tasks: usize,
    pub kept: usize,
    pub skipped: usize,
    pub would_skip: usize,
    pub skipped_seconds: f64,
    pub would_skip_seconds: f64,
}

/// What the plans saved.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Selection {
    /// Tasks decided over all pushes (kept + skipped).
    pub tasks: usize,
    /// Tasks the plans did not run.
    pub skipped: usize,
    /// Tasks the selection alone would not have run (backstop and shadow
    /// pushes included).
    pub would_skip: usize,
    /// Seconds of every decided task whose duration is known.
    pub task_seconds: f64,
    /// Seconds of the skipped ones: the cost saved.
    pub skipped_seconds: f64,
    pub would_skip_seconds: f64,
    /// `skipped / tasks` and `skipped_seconds / task_seconds`.
    pub skipped_share: Option<f64>,
    pub skipped_seconds_share: Option<f64>,
    /// Tasks with no recorded duration: counted, but not in the seconds.
    pub unknown_durations: Vec<String>,
    pub per_push: Vec<PushSelection>,
}

/// A task that was flaky on some pushes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Flaky {
    pub task: String,
    pub pushes: Vec<u64>,
}

/// The range of pushes analysed.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct PushRange {
    pub count: usize,
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub backstop: usize,
    pub shadow: usize,
    pub with_outcomes: usize,
}

/// The whole report (`sift quality --json`, format_version 1).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct QualityReport {
    pub format_version: u32,
    pub branch: String,
    pub pushes: PushRange,
    pub selection: Selection,
    pub regressions: Regressions,
    pub false_greens: Vec<FalseGreen>,
    pub rate: Rate,
    pub flaky: Vec<Flaky>,
    pub tests: Option<apfd::TestOrder>,
    pub verdict: String,
}

/// Each task's median recorded duration over `pushes`.
pub fn durations(pushes: &[Observed]) -> BTreeMap<String, f64> {
    let mut all: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for push in pushes {
        for (task, attempts) in &push.outcomes.tasks {
            all.entry(task)
                .or_default()
                .extend(attempts.iter().filter_map(|a| a.duration_s));
        }
    }
    all.into_iter()
        .filter_map(|(task, values)| Some((task.to_owned(), crate::run::median(values)?)))
        .collect()
}

/// The selection part of the report.
pub fn selection(pushes: &[Observed], durations: &BTreeMap<String, f64>) -> Selection {
    let mut out = Selection::default();
    let mut unknown: BTreeSet<&str> = BTreeSet::new();
    for push in pushes {
        let seconds = |names: &mut dyn Iterator<Item = &String>| -> f64 {
            names.filter_map(|t| durations.get(t)).sum()
        };
        let skipped_seconds = seconds(&mut push.skipped.iter());
        let would_skip_seconds = seconds(&mut push.would_skip.keys());
        out.tasks += push.tasks.len();
        out.skipped += push.skipped.len();
        out.would_skip += push.would_skip.len();
        out.task_seconds += seconds(&mut push.tasks.iter());
        out.skipped_seconds += skipped_seconds;
        out.would_skip_seconds += would_skip_seconds;
        for task in &push.tasks {
            if !durations.contains_key(task) {
                unknown.insert(task);
            }
        }
        out.per_push.push(PushSelection {
            number: push.number,
            time: format_rfc3339(push.time),
            backstop: push.backstop,
            mode: push.mode.as_str(),
            tasks: push.tasks.len(),
            kept: push.tasks.len() - push.skipped.len(),
            skipped: push.skipped.len(),
            would_skip: push.would_skip.len(),
            skipped_seconds: round3(skipped_seconds),
            would_skip_seconds: round3(would_skip_seconds),
        });
    }
    out.task_seconds = round3(out.task_seconds);
    out.skipped_seconds = round3(out.skipped_seconds);
    out.would_skip_seconds = round3(out.would_skip_seconds);
    out.skipped_share = share(out.skipped as f64, out.tasks as f64);
    out.skipped_seconds_share = share(out.skipped_seconds, out.task_seconds);
    out.unknown_durations = unknown.into_iter().map(str::to_owned).collect();
    out
}

fn share(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| round3(part / whole * 1000.0) / 1000.0)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A regression found in the history.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    pub task: String,
    /// Index (into the pushes) of the first push of the window.
    pub start: usize,
    /// Index of the push where it was first seen failing.
    pub detected: usize,
    /// Index of the push it is attributed to.
    pub attributed: usize,
    pub missed: bool,
}

/// Regressions, unknown starts and flaky pushes, per task, pushes oldest first.
pub fn regressions(pushes: &[Observed]) -> (Vec<Regression>, usize, Vec<Flaky>) {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for push in pushes {
        names.extend(push.outcomes.tasks.keys().map(String::as_str));
    }
    let mut found = Vec::new();
    let mut unknown_start = 0;
    let mut flaky = Vec::new();
    for task in names {
        // The last pass or failure: (index, failed).
        let mut last: Option<(usize, bool)> = None;
        let mut flaky_pushes = Vec::new();
        for (i, push) in pushes.iter().enumerate() {
            match push.outcomes.verdict(task) {
                None => {}
                Some(Verdict::Flaky) => flaky_pushes.push(push.number),
                Some(Verdict::Passed) => last = Some((i, false)),
                Some(Verdict::Failed) => {
                    match last {
                        None => unknown_start += 1,
                        Some((_, true)) => {}
                        Some((r, false)) => {
                            let window = r + 1..=i;
                            let runs = window.clone().find(|&p| pushes[p].runs(task));
                            found.push(Regression {
                                task: task.to_owned(),
                                start: r + 1,
                                detected: i,
                                attributed: runs.unwrap_or(r + 1),
                                missed: runs.is_none(),
                            });
                        }
                    }
                    last = Some((i, true));
                }
            }
        }
        if !flaky_pushes.is_empty() {
            flaky.push(Flaky {
                task: task.to_owned(),
                pushes: flaky_pushes,
            });
        }
    }
    found.sort_by(|a, b| (a.attributed, &a.task).cmp(&(b.attributed, &b.task)));
    (found, unknown_start, flaky)
}

/// The Wilson score interval for `k` successes in `n` trials at 95%.
pub fn wilson(k: usize, n: usize) -> Option<[f64; 2]> {
    if n == 0 {
        return None;
    }
    let z = 1.959_963_984_540_054_f64;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2n = z * z / n;
    let centre = (p + z2n / 2.0) / (1.0 + z2n);
    let half = z * (p * (1.0 - p) / n + z2n / (4.0 * n)).sqrt() / (1.0 + z2n);
    Some([
        round6((centre - half).max(0.0)),
        round6((centre + half).min(1.0)),
    ])
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The rate over the regressions' attributed pushes.
pub fn rate(pushes: &[Observed], regressions: &[Regression]) -> Rate {
    let failing: BTreeSet<usize> = regressions.iter().map(|r| r.attributed).collect();
    let missed: BTreeSet<usize> = regressions
        .iter()
        .filter(|r| r.missed)
        .map(|r| r.attributed)
        .collect();
    let (n, k) = (failing.len(), missed.len());
    Rate {
        failing_pushes: n,
        missed_failing_pushes: k,
        rate: (n > 0).then(|| round6(k as f64 / n as f64)),
        ci95: wilson(k, n),
        truth_known_pushes: pushes
            .iter()
            .filter(|p| !p.outcomes.tasks.is_empty())
            .count(),
    }
}

/// The false greens, with their windows; changed files, chains and
/// suggestions are left for the caller to fill in.
pub fn false_greens(pushes: &[Observed], regressions: &[Regression]) -> Vec<FalseGreen> {
    regressions
        .iter()
        .filter(|r| r.missed)
        .map(|r| {
            let detected = &pushes[r.detected];
            let detected_by = if detected.mode == PlanMode::Shadow {
                "shadow"
            } else if detected.backstop {
                "backstop"
            } else {
                "forced"
            };
            FalseGreen {
                task: r.task.clone(),
                push: pushes[r.attributed].number,
                detected: detected.number,
                detected_by,
                window: [pushes[r.start].number, detected.number],
                skipped_pushes: pushes[r.start..=r.detected]
                    .iter()
                    .map(|p| SkippedPush {
                        number: p.number,
                        head: p.head.clone(),
                        reason: p.would_skip.get(&r.task).cloned().unwrap_or_default(),
                        changed_files: Vec::new(),
                        changed_count: None,
                    })
                    .collect(),
                chain: Vec::new(),
                suggestion: None,
            }
        })
        .collect()
}

/// Everything but the test order, which needs the caller's inputs.
pub fn analyze(branch: &str, pushes: &[Observed]) -> QualityReport {
    let durations = durations(pushes);
    let selection = selection(pushes, &durations);
    let (found, unknown_start, flaky) = regressions(pushes);
    let rate = rate(pushes, &found);
    let false_greens = false_greens(pushes, &found);
    let missed = found.iter().filter(|r| r.missed).count();
    let range = PushRange {
        count: pushes.len(),
        first: pushes.first().map(|p| p.number),
        last: pushes.last().map(|p| p.number),
        from: pushes.first().map(|p| format_rfc3339(p.time)),
        to: pushes.last().map(|p| format_rfc3339(p.time)),
        backstop: pushes.iter().filter(|p| p.backstop).count(),
        shadow: pushes.iter().filter(|p| p.mode == PlanMode::Shadow).count(),
        with_outcomes: rate.truth_known_pushes,
    };
    let mut report = QualityReport {
        format_version: FORMAT_VERSION,
        branch: branch.to_owned(),
        pushes: range,
        selection,
        regressions: Regressions {
            total: found.len(),
            caught: found.len() - missed,
            missed,
            unknown_start,
        },
        false_greens,
        rate,
        flaky,
        tests: None,
        verdict: String::new(),
    };
    report.verdict = verdict(&report);
    report
}

/// The one line a CI engineer pastes.
pub fn verdict(report: &QualityReport) -> String {
    let s = &report.selection;
    let saved = match s.skipped_seconds_share {
        Some(share) => format!("skipped {} of task-hours", percent(share)),
        None => match s.skipped_share {
            Some(share) => format!("skipped {} of tasks", percent(share)),
            None => "skipped nothing".to_owned(),
        },
    };
    let pushes = thousands(report.pushes.count as u64);
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            one.to_owned()
        } else {
            many.to_owned()
        }
    };
    let r = &report.rate;
    let greens = report.regressions.missed;
    let tail = match (r.rate, r.ci95) {
        (Some(rate), Some([lo, hi])) => format!(
            "{greens} false {} in {} failing {} ({}, 95% CI {}–{})",
            plural(greens, "green", "greens"),
            thousands(r.failing_pushes as u64),
            plural(r.failing_pushes, "push", "pushes"),
            percent(rate),
            percent(lo).trim_end_matches('%'),
            percent(hi)
        ),
        _ => "no failing pushes to measure false greens against".to_owned(),
    };
    format!(
        "{saved} over {pushes} {}; {tail}",
        plural(report.pushes.count, "push", "pushes")
    )
}

/// `0.6%`, `61%`.
fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p != 0.0 && p < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// `1,240`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;

//! `sift replay`: re-plans recorded pushes with a candidate configuration
//! (or, without one, with each push's own configuration at its commit) and
//! compares with what the history says happened: tasks and task-seconds
//! saved, false greens the candidate adds or removes, and per changed rule
//! its effect.
//!
//! Nothing is checked out: changes and rule files are read from git objects
//! ([`sift_git::CommitReader`]), and configurations are parsed once per
//! distinct `sift.toml`, so a thousand pushes take seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use sift_core::config::{FileSource, WorkTree};
use sift_core::diagnostic::SourceFile;
use sift_core::history::{PlanMode, PushContext, PushRecord};
use sift_core::pattern::NameGlob;
use sift_core::quality::{self, Observed, QualityReport};
use sift_core::select::rules::{RULE_FILE, Rule};
use sift_core::{Config, PlanOptions, Planner};
use sift_git::CommitReader;

use super::quality::{DEFAULT_LAST, Selector, load};
use crate::cli::ReplayArgs;
use crate::error::CliError;
use crate::{exit, output};

/// A push that could not be replayed, and why.
#[derive(Serialize)]
struct NotReplayed {
    number: u64,
    why: String,
}

/// One side's totals.
#[derive(Serialize)]
struct Side {
    skipped: usize,
    skipped_seconds: f64,
    would_skip: usize,
    false_greens: usize,
    failing_pushes: usize,
    rate: Option<f64>,
    ci95: Option<[f64; 2]>,
}

impl Side {
    fn of(report: &QualityReport) -> Side {
        Side {
            skipped: report.selection.skipped,
            skipped_seconds: report.selection.skipped_seconds,
            would_skip: report.selection.would_skip,
            false_greens: report.regressions.missed,
            failing_pushes: report.rate.failing_pushes,
            rate: report.rate.rate,
            ci95: report.rate.ci95,
        }
    }
}

#[derive(Serialize, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct GreenKey {
    task: String,
    push: u64,
    detected: u64,
}

#[derive(Serialize, Default)]
struct TaskEffect {
    task: String,
    /// Pushes where the candidate runs it and the recorded plan did not.
    runs_added: usize,
    /// Pushes where the recorded plan ran it and the candidate does not.
    runs_removed: usize,
}

#[derive(Serialize)]
struct RuleEffect {
    /// `file:line` and the rule as written.
    rule: String,
    /// `added` (only in the candidate) or `removed` (only in the recorded one).
    status: &'static str,
    /// Pushes where it matched a changed path.
    pushes_matched: usize,
    /// On those pushes: task runs the candidate adds and removes.
    runs_added: usize,
    runs_removed: usize,
    false_greens_added: usize,
    false_greens_removed: usize,
}

#[derive(Serialize)]
struct ReplayJson {
    format_version: u32,
    branch: String,
    /// The candidate file, or null: each push's own configuration.
    candidate: Option<String>,
    pushes: usize,
    replayed: usize,
    not_replayed: Vec<NotReplayed>,
    /// Pushes where the candidate decides every task as recorded
    /// (kept/skipped and, when recorded, the reasons).
    identical: usize,
    /// Pushes where some decision differs.
    different: Vec<u64>,
    recorded: Side,
    replay: Side,
    false_greens_added: Vec<GreenKey>,
    false_greens_removed: Vec<GreenKey>,
    tasks: Vec<TaskEffect>,
    rules: Vec<RuleEffect>,
    seconds: f64,
}

/// The files a parsed configuration came from: `(path, blob id)`, the root
/// `sift.toml` first.
type ConfigKey = Vec<(String, String)>;

/// A configuration at a commit, parsed once per distinct root file and
/// included files.
struct Configs {
    cache: Vec<(ConfigKey, Arc<Config>)>,
}

impl Configs {
    fn at(&mut self, root: &Path, files: &sift_git::CommitFiles) -> Option<Arc<Config>> {
        let id = files.blob_id(RULE_FILE)?;
        for (key, config) in &self.cache {
            if key[0].1 == id
                && key[1..]
                    .iter()
                    .all(|(name, blob)| files.blob_id(name).as_deref() == Some(blob))
            {
                return Some(Arc::clone(config));
            }
        }
        let text = files.read(RULE_FILE)?;
        let config = Config::from_source_in(
            root,
            SourceFile::new(RULE_FILE, text),
            Arc::new(files.clone()),
        )
        .ok()?;
        let mut key = vec![(RULE_FILE.to_owned(), id)];
        for source in config.sources.iter().skip(1) {
            key.push((source.name.clone(), files.blob_id(&source.name)?));
        }
        let config = Arc::new(config);
        self.cache.push((key, Arc::clone(&config)));
        Some(config)
    }
}

/// A rule's text, for matching rules between two configurations.
fn signature(config: &Config, rule: &Rule) -> String {
    let patterns: Vec<String> = (0..rule.files.len())
        .map(|i| rule.files.describe(i))
        .collect();
    let mut text = format!("files = {patterns:?}");
    if !rule.inclusive.is_empty() {
        let _ = write!(
            text,
            ", inclusive = {:?}",
            config.components.names_of(&rule.inclusive)
        );
    }
    if let Some(e) = &rule.exclusive {
        let _ = write!(text, ", exclusive = {:?}", config.components.names_of(e));
    }
    text
}

fn root_rules(config: &Config) -> BTreeMap<String, (String, &Rule)> {
    config
        .root_rules
        .rules
        .iter()
        .map(|rule| {
            (
                signature(config, rule),
                (
                    format!("{}:{}", config.root_rules.source.name, rule.line),
                    rule,
                ),
            )
        })
        .collect()
}

fn matches(rule: &Rule, path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    rule.files.selects(&segments)
}

/// One replayed push: the candidate's view, and what changed.
struct Replayed {
    observed: Observed,
    paths: Vec<String>,
    identical: bool,
    /// The recorded configuration (with a candidate: for the rule diff).
    recorded_config: Option<Arc<Config>>,
}

fn options_of(record: &PushRecord, branch: &str) -> PlanOptions {
    let detail = record.plan.as_ref();
    PlanOptions {
        targets: detail
            .map(|d| {
                d.targets
                    .iter()
                    .filter_map(|t| NameGlob::new(t).ok())
                    .collect()
            })
            .unwrap_or_default(),
        all: detail.is_some_and(|d| d.all),
        push: Some(PushContext {
            branch: branch.to_owned(),
            number: record.number,
            decision: record.decision(),
        }),
        // As recorded: a shadow push ran everything.
        shadow: record.mode() == PlanMode::Shadow,
    }
}

pub fn run(root: &Path, args: ReplayArgs) -> Result<u8, CliError> {
    let selector = match (&args.range, args.last) {
        (Some(range), _) => {
            let parsed = range.split_once("..").and_then(|(a, b)| {
                Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?))
            });
            match parsed {
                Some((a, b)) if a <= b => Selector::Range(a, b),
                _ => {
                    return Err(CliError::Usage {
                        message: format!("invalid --range `{range}`"),
                        hint: Some("write two push numbers, e.g. `--range 120..180`".to_owned()),
                    });
                }
            }
        }
        (None, Some(0)) => {
            return Err(CliError::Usage {
                message: "--last takes a number of pushes ≥ 1".to_owned(),
                hint: None,
            });
        }
        (None, last) => Selector::Last(last.unwrap_or(DEFAULT_LAST)),
    };
    let candidate = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::io(format!("cannot read `{}`", path.display()), e))?;
            let name = path.display().to_string();
            let config = Config::from_source_in(
                root,
                SourceFile::new(name, text),
                Arc::new(WorkTree::new(root)),
            )
            .map_err(|e| CliError::Config(e.0))?;
            Some(Arc::new(config))
        }
        None => None,
    };
    let loaded = load(root, args.branch.as_deref(), &args.store, selector)?;
    let reader = CommitReader::open(root)?;
    let started = Instant::now();
    let mut configs = Configs { cache: Vec::new() };
    let mut not_replayed = Vec::new();
    let mut recorded: Vec<Observed> = Vec::new();
    let mut replayed: Vec<Replayed> = Vec::new();
    for (record, outcomes) in loaded.records.iter().zip(loaded.outcomes) {
        let skip = |why: &str| NotReplayed {
            number: record.number,
            why: why.to_owned(),
        };
        let Some(base) = &record.base else {
            not_replayed.push(skip("no base commit recorded (planned from a file list)"));
            continue;
        };
        let Some(files) = reader.files_at(&record.head) else {
            not_replayed.push(skip("its head commit is not in this repository"));
            continue;
        };
        let change = match reader.change(base, &record.head) {
            Ok(change) => change,
            Err(e) => {
                not_replayed.push(skip(&format!("its change cannot be read: {e}")));
                continue;
            }
        };
        let recorded_config = match &candidate {
            Some(_) => configs.at(root, &files),
            None => None,
        };
        let config = match &candidate {
            Some(config) => Arc::clone(config),
            None => match configs.at(root, &files) {
                Some(config) => config,
                None => {
                    not_replayed.push(skip("its sift.toml is missing or invalid at that commit"));
                    continue;
                }
            },
        };
        let paths: Vec<String> = change.all_paths().into_iter().map(str::to_owned).collect();
        let mut planner = Planner::with_files(&config, Arc::new(files));
        let plan = match planner.plan(change, &options_of(record, &loaded.branch)) {
            Ok(plan) => plan,
            Err(e) => {
                not_replayed.push(skip(&format!("it cannot be planned: {e}")));
                continue;
            }
        };
        let observed = Observed::new(record, outcomes);
        let mut would_skip: BTreeMap<String, String> = plan.would_skip.clone();
        let mut skipped = BTreeSet::new();
        for decision in &plan.tasks {
            if !decision.run {
                skipped.insert(decision.name.clone());
                would_skip.insert(decision.name.clone(), decision.reason.clone());
            }
        }
        let kept: Vec<&str> = plan
            .tasks
            .iter()
            .filter(|d| d.run)
            .map(|d| d.name.as_str())
            .collect();
        let reasons_match = record.plan.as_ref().is_none_or(|detail| {
            plan.tasks
                .iter()
                .all(|d| detail.reasons.get(&d.name) == Some(&d.reason))
        });
        let identical = kept == record.kept.iter().map(String::as_str).collect::<Vec<_>>()
            && skipped.iter().eq(record.skipped.iter())
            && observed.would_skip.keys().eq(would_skip.keys())
            && reasons_match;
        let mut tasks: Vec<String> = plan.tasks.iter().map(|d| d.name.clone()).collect();
        tasks.sort();
        replayed.push(Replayed {
            observed: Observed {
                tasks,
                skipped,
                would_skip,
                ..observed.clone()
            },
            paths,
            identical,
            recorded_config,
        });
        recorded.push(observed);
    }
    let candidate_pushes: Vec<Observed> = replayed.iter().map(|r| r.observed.clone()).collect();
    let before = quality::analyze(&loaded.branch, &recorded);
    let after = quality::analyze(&loaded.branch, &candidate_pushes);
    let key = |g: &quality::FalseGreen| GreenKey {
        task: g.task.clone(),
        push: g.push,
        detected: g.detected,
    };
    let old: BTreeSet<GreenKey> = before.false_greens.iter().map(key).collect();
    let new: BTreeSet<GreenKey> = after.false_greens.iter().map(key).collect();
    let added: Vec<GreenKey> = new.difference(&old).cloned().collect();
    let removed: Vec<GreenKey> = old.difference(&new).cloned().collect();

    // Per task: runs the candidate adds and removes.
    let mut tasks: BTreeMap<String, TaskEffect> = BTreeMap::new();
    // Per push (index): runs added/removed there.
    let mut flips: Vec<(usize, usize)> = Vec::with_capacity(replayed.len());
    for (was, now) in recorded.iter().zip(&candidate_pushes) {
        let mut flip = (0, 0);
        for task in was.tasks.iter().chain(&now.tasks).collect::<BTreeSet<_>>() {
            let ran = was.tasks.contains(task) && !was.would_skip.contains_key(task);
            let runs = now.tasks.contains(task) && !now.would_skip.contains_key(task);
            let effect = tasks.entry(task.clone()).or_insert_with(|| TaskEffect {
                task: task.clone(),
                ..TaskEffect::default()
            });
            if runs && !ran {
                effect.runs_added += 1;
                flip.0 += 1;
            } else if ran && !runs {
                effect.runs_removed += 1;
                flip.1 += 1;
            }
        }
        flips.push(flip);
    }
    let tasks: Vec<TaskEffect> = tasks
        .into_values()
        .filter(|t| t.runs_added + t.runs_removed > 0)
        .collect();

    // Per root rule that only one of the configurations has.
    let mut rules: BTreeMap<(String, &'static str), RuleEffect> = BTreeMap::new();
    if let Some(candidate) = &candidate {
        let new_rules = root_rules(candidate);
        for (i, push) in replayed.iter().enumerate() {
            let Some(old_config) = &push.recorded_config else {
                continue;
            };
            let old_rules = root_rules(old_config);
            let only = |a: &BTreeMap<String, (String, &Rule)>,
                        b: &BTreeMap<String, (String, &Rule)>|
             -> Vec<(String, String, bool)> {
                a.iter()
                    .filter(|(sig, _)| !b.contains_key(*sig))
                    .map(|(sig, (location, rule))| {
                        let hit = push.paths.iter().any(|p| matches(rule, p));
                        (format!("{location} {sig}"), sig.clone(), hit)
                    })
                    .collect()
            };
            let number = push.observed.number;
            for (status, list) in [
                ("added", only(&new_rules, &old_rules)),
                ("removed", only(&old_rules, &new_rules)),
            ] {
                for (rule, sig, hit) in list {
                    let effect = rules.entry((sig, status)).or_insert(RuleEffect {
                        rule,
                        status,
                        pushes_matched: 0,
                        runs_added: 0,
                        runs_removed: 0,
                        false_greens_added: 0,
                        false_greens_removed: 0,
                    });
                    if hit {
                        effect.pushes_matched += 1;
                        effect.runs_added += flips[i].0;
                        effect.runs_removed += flips[i].1;
                        effect.false_greens_added +=
                            added.iter().filter(|g| g.push == number).count();
                        effect.false_greens_removed +=
                            removed.iter().filter(|g| g.push == number).count();
                    }
                }
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let json = ReplayJson {
        format_version: 1,
        branch: loaded.branch.clone(),
        candidate: args.config.as_ref().map(|p| p.display().to_string()),
        pushes: loaded.records.len(),
        replayed: replayed.len(),
        not_replayed,
        identical: replayed.iter().filter(|r| r.identical).count(),
        different: replayed
            .iter()
            .filter(|r| !r.identical)
            .map(|r| r.observed.number)
            .collect(),
        recorded: Side::of(&before),
        replay: Side::of(&after),
        false_greens_added: added,
        false_greens_removed: removed,
        tasks,
        rules: rules.into_values().collect(),
        seconds: (seconds * 1000.0).round() / 1000.0,
    };
    for skipped in &json.not_replayed {
        output::warning(&format!(
            "push #{} not replayed: {}",
            skipped.number, skipped.why
        ));
    }
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&json).expect("plain data serializes");
        text.push('\n');
        text
    } else {
        render(&json)
    };
    super::plan::print_stdout(&text)?;
    Ok(exit::OK)
}

fn render(r: &ReplayJson) -> String {
    let mut out = String::new();
    let what = match &r.candidate {
        Some(path) => format!("`{path}`"),
        None => "each push's own configuration".to_owned(),
    };
    let _ = writeln!(
        out,
        "replayed {} of {} pushes on {} with {what} in {:.2} s",
        r.replayed, r.pushes, r.branch, r.seconds
    );
    let _ = writeln!(
        out,
        "decisions: {} pushes as recorded, {} different",
        r.identical,
        r.different.len()
    );
    let side = |name: &str, s: &Side| {
        format!(
            "{name:9} skips {} task runs ({}); {} false green(s) in {} failing pushes{}",
            s.skipped,
            super::quality::task_time(s.skipped_seconds),
            s.false_greens,
            s.failing_pushes,
            s.rate
                .map_or(String::new(), |rate| format!(" ({:.1}%)", rate * 100.0))
        )
    };
    let _ = writeln!(out, "{}", side("recorded:", &r.recorded));
    let _ = writeln!(out, "{}", side("replay:", &r.replay));
    for (label, list) in [
        ("false green added", &r.false_greens_added),
        ("false green removed", &r.false_greens_removed),
    ] {
        for g in list.iter() {
            let _ = writeln!(
                out,
                "{label}: {} on #{} (seen failing on #{})",
                g.task, g.push, g.detected
            );
        }
    }
    if !r.tasks.is_empty() {
        let _ = writeln!(out, "\nper task (pushes where it runs / no longer runs):");
        for t in &r.tasks {
            let _ = writeln!(out, "  {}: +{} -{}", t.task, t.runs_added, t.runs_removed);
        }
    }
    if !r.rules.is_empty() {
        let _ = writeln!(
            out,
            "\nper changed rule (on the pushes where it matched a changed path):"
        );
        for rule in &r.rules {
            let _ = writeln!(
                out,
                "  {} {}: matched {} pushes; task runs +{} -{}; false greens +{} -{}",
                rule.status,
                rule.rule,
                rule.pushes_matched,
                rule.runs_added,
                rule.runs_removed,
                rule.false_greens_added,
                rule.false_greens_removed
            );
        }
    }
    out
}

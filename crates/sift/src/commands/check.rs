//! `sift check`: validate every rule file, and warn about rules that match no
//! tracked file and components no task uses.

use std::path::Path;
use std::sync::Arc;

use sift_core::diagnostic::{ConfigDiagnostic, Diagnostics, SourceFile};
use sift_core::pattern::PatternIndex;
use sift_core::select::components::ComponentSet;
use sift_core::select::rules::{RULE_FILE, RuleTree};
use sift_core::select::task::Strategy;
use sift_core::{Config, ConfigLoadError};

use crate::cli::CheckArgs;
use crate::error::CliError;
use crate::{exit, output};

pub fn run(root: &Path, args: CheckArgs) -> Result<u8, CliError> {
    let loaded = if args.mozbuild && !root.join(RULE_FILE).exists() {
        Ok(Config::mozilla_default(root))
    } else {
        Config::load(root)
    };
    let config = match loaded {
        Ok(config) => config,
        Err(ConfigLoadError::Invalid(error)) => {
            // Root errors stop here: nested files need the root's components.
            output::print_diagnostics(&error.0);
            summarize(&error.0, 1);
            return Err(CliError::Reported(exit::CONFIG));
        }
        Err(_) => return super::load_config(root).map(|_| exit::CONFIG),
    };
    let mut diagnostics = config.warnings.clone();
    let mut tree = RuleTree::new(
        Arc::clone(&config.files),
        &config.components,
        Arc::clone(&config.root_rules),
    );
    let mut rule_files = vec![Arc::clone(&config.root_rules)];
    for dir in nested_rule_dirs(root) {
        if let Some(file) = tree.file(&dir) {
            rule_files.push(file);
        }
    }
    diagnostics.extend(tree.diagnostics().clone());

    let tracked = tracked_files(root);
    for file in &rule_files {
        dead_patterns(file, &tracked, &mut diagnostics);
    }
    dead_task_patterns(&config, &tracked, &mut diagnostics);
    unused_components(&config, &mut diagnostics);
    if args.mozbuild || config.mozbuild {
        let (found, report, files) = super::mozilla::check(root, &config);
        diagnostics.extend(found);
        eprint!("{report}");
        eprintln!("read {files} moz.build file(s)");
    }

    diagnostics.sort();
    output::print_diagnostics(&diagnostics);
    summarize(&diagnostics, rule_files.len());
    let warnings = diagnostics.warnings().count();
    if diagnostics.has_errors() || (args.deny_warnings && warnings > 0) {
        return Err(CliError::Reported(exit::CONFIG));
    }
    Ok(exit::OK)
}

fn summarize(diagnostics: &Diagnostics, files: usize) {
    let errors = diagnostics.errors().count();
    let warnings = diagnostics.warnings().count();
    eprintln!("checked {files} rule file(s): {errors} error(s), {warnings} warning(s)");
}

/// Directories (repository-relative) holding a nested `sift.toml`, found by a
/// walk that respects `.gitignore`, sorted.
fn nested_rule_dirs(root: &Path) -> Vec<String> {
    let mut dirs = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .build();
    for entry in walker.flatten() {
        if entry.file_name() != RULE_FILE || !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(root) else {
            continue;
        };
        let Some(dir) = relative.parent() else {
            continue;
        };
        let dir = dir.to_string_lossy().replace('\\', "/");
        if !dir.is_empty() && !dir.split('/').any(|s| s == ".git") {
            dirs.push(dir);
        }
    }
    dirs.sort();
    dirs
}

/// Tracked files from git, else every non-ignored file; sorted.
pub(crate) fn tracked_files(root: &Path) -> Vec<String> {
    let mut files = sift_git::tracked_files(root).unwrap_or_else(|_| work_tree_files(root));
    files.sort();
    files
}

/// The work tree's files that `.gitignore` does not exclude, repository-
/// relative with `/`, `.git/` left out; unsorted.
pub(crate) fn work_tree_files(root: &Path) -> Vec<String> {
    ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| {
            e.path()
                .strip_prefix(root)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
        })
        .filter(|p| !p.starts_with(".git/"))
        .collect()
}

/// The tracked files below `dir` ("" for all), relative to it.
fn files_below<'a>(tracked: &'a [String], dir: &str) -> impl Iterator<Item = &'a str> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let start = tracked.partition_point(|f| f.as_str() < prefix.as_str());
    let len = prefix.len();
    tracked[start..]
        .iter()
        .take_while(move |f| f.starts_with(&prefix))
        .map(move |f| &f[len..])
}

/// Warns about the positive patterns of a rule file that match no tracked file
/// below its directory. Every pattern of the file goes into one index, so the
/// tracked files are read once, not once per pattern.
fn dead_patterns(
    file: &sift_core::select::rules::RuleFile,
    tracked: &[String],
    diagnostics: &mut Diagnostics,
) {
    let index = PatternIndex::new(file.rules.iter().map(|rule| &rule.files));
    let matched = index.matched_patterns(files_below(tracked, &file.dir));
    for (rule, matched) in file.rules.iter().zip(matched) {
        for (index, ((negated, pattern), matched)) in rule.files.patterns().zip(matched).enumerate()
        {
            if negated || matched {
                continue;
            }
            diagnostics.push(
                ConfigDiagnostic::warning(
                    &file.source,
                    rule.pattern_spans.get(index).cloned(),
                    format!("pattern `{pattern}` matches no tracked file"),
                    "dead pattern",
                )
                .with_help(
                    "patterns are relative to the directory of their sift.toml; fix or remove it",
                ),
            );
        }
    }
}

fn dead_task_patterns(config: &Config, tracked: &[String], diagnostics: &mut Diagnostics) {
    let mut lists = Vec::new();
    for task in &config.tasks {
        if let Some(strategy) = &task.strategy {
            let mut own = Vec::new();
            strategy.changed_lists(&mut own);
            lists.extend(own.into_iter().map(|list| (task, list)));
        }
    }
    let index = PatternIndex::new(lists.iter().map(|(_, list)| *list));
    let matched = index.matched_patterns(tracked.iter().map(String::as_str));
    for ((task, list), matched) in lists.iter().zip(matched) {
        for ((negated, pattern), matched) in list.patterns().zip(matched) {
            if negated || matched {
                continue;
            }
            diagnostics.push(
                ConfigDiagnostic::warning(
                    &task.source,
                    line_span(&task.source, task.line),
                    format!(
                        "task `{}`: `changed` pattern `{pattern}` matches no tracked file",
                        task.name
                    ),
                    "dead pattern",
                )
                .with_help("`changed` patterns are relative to the repository root"),
            );
        }
    }
}

fn collect_schedules(strategy: &Strategy, out: &mut ComponentSet) {
    match strategy {
        Strategy::Schedules { components, .. } => out.union_with(components),
        Strategy::Any(members) | Strategy::All(members) => {
            members.iter().for_each(|m| collect_schedules(m, out))
        }
        Strategy::Not(member) => collect_schedules(member, out),
        Strategy::Changed(_) | Strategy::Always | Strategy::OnBackstop | Strategy::OnExpanded => {}
    }
}

fn unused_components(config: &Config, diagnostics: &mut Diagnostics) {
    let mut used = ComponentSet::new();
    for task in &config.tasks {
        if let Some(strategy) = &task.strategy {
            collect_schedules(strategy, &mut used);
        }
    }
    let root = &config.sources[0];
    for id in config.components.ids() {
        if used.contains(id) {
            continue;
        }
        let name = config.components.name(id);
        let quoted = format!("\"{name}\"");
        let span = root
            .text
            .find(&quoted)
            .map(|start| start..start + quoted.len());
        diagnostics.push(
            ConfigDiagnostic::warning(
                root,
                span,
                format!("component `{name}` is not used by any task"),
                "unused",
            )
            .with_help("add it to a task's `schedules`, or remove it"),
        );
    }
}

fn line_span(source: &Arc<SourceFile>, line: usize) -> Option<std::ops::Range<usize>> {
    let start: usize = source
        .text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let len = source.text[start..]
        .find('\n')
        .unwrap_or(source.text.len() - start);
    Some(start..start + len)
}

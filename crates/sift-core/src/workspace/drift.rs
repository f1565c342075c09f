//! `sift init --check`: how a committed configuration differs from the one
//! `sift init` would generate now (both compiled, so formatting and
//! comments never count): packages without a component, dependency edges
//! the test tasks do not reflect, rules that map files differently, tasks
//! that changed or are no longer derived from the workspace.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::config::Config;
use crate::select::components::{ComponentKind, ComponentSet};
use crate::select::rules::RuleTree;
use crate::select::task::Strategy;

/// At most this many files are listed per kind of rule difference.
const FILES_SHOWN: usize = 5;

fn describe(strategy: Option<&Strategy>) -> String {
    match strategy {
        None => "no strategy".to_owned(),
        Some(Strategy::Schedules { names, .. }) => {
            let mut sorted = names.clone();
            sorted.sort();
            format!("schedules = {sorted:?}")
        }
        Some(Strategy::Changed(list)) => {
            let patterns: Vec<String> = (0..list.len()).map(|i| list.describe(i)).collect();
            format!("changed = {patterns:?}")
        }
        Some(Strategy::Always) => "always".to_owned(),
        Some(Strategy::OnBackstop) => "on_backstop".to_owned(),
        Some(Strategy::OnExpanded) => "on_expanded".to_owned(),
        Some(Strategy::Not(m)) => format!("not {}", describe(Some(m))),
        Some(Strategy::Any(ms)) => format!(
            "any {:?}",
            ms.iter().map(|m| describe(Some(m))).collect::<Vec<_>>()
        ),
        Some(Strategy::All(ms)) => format!(
            "all {:?}",
            ms.iter().map(|m| describe(Some(m))).collect::<Vec<_>>()
        ),
    }
}

fn scheduled(strategy: Option<&Strategy>) -> Option<BTreeSet<String>> {
    match strategy {
        Some(Strategy::Schedules { names, .. }) => Some(names.iter().cloned().collect()),
        _ => None,
    }
}

/// Every difference, one line each, sorted by kind; empty when none.
pub fn drift(generated: &Config, committed: &Config, files: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let kept: BTreeSet<&str> = committed.init_keep.iter().map(String::as_str).collect();
    let hint = "(run `sift init --force`, or name it in `[init] keep`)";

    // Components.
    for id in generated.components.ids() {
        let name = generated.components.name(id);
        match committed.components.get(name) {
            None => out.push(format!("component `{name}` is missing {hint}")),
            Some(other) if committed.components.kind(other) != generated.components.kind(id) => {
                let kind = |k| {
                    if k == ComponentKind::Exclusive {
                        "exclusive"
                    } else {
                        "inclusive"
                    }
                };
                out.push(format!(
                    "component `{name}` is {}, but the workspace makes it {}",
                    kind(committed.components.kind(other)),
                    kind(generated.components.kind(id))
                ));
            }
            Some(_) => {}
        }
    }
    for id in committed.components.ids() {
        let name = committed.components.name(id);
        if generated.components.get(name).is_none() && !kept.contains(name) {
            out.push(format!("component `{name}` is not derived from the workspace (a package was removed or renamed?) {hint}"));
        }
    }

    // Tasks.
    for task in &generated.tasks {
        let Some(other) = committed.task(&task.name) else {
            out.push(format!("task `{}` is missing {hint}", task.name));
            continue;
        };
        let (want, have) = (
            scheduled(task.strategy.as_ref()),
            scheduled(other.strategy.as_ref()),
        );
        match (want, have) {
            (Some(want), Some(have)) => {
                let package = task.name.strip_prefix("test-").unwrap_or(&task.name);
                for missing in want.difference(&have) {
                    if missing == package {
                        out.push(format!(
                            "task `{}` does not schedule its own package `{missing}`",
                            task.name
                        ));
                    } else {
                        out.push(format!(
                            "task `{}` does not schedule `{missing}`, which `{package}` depends on",
                            task.name
                        ));
                    }
                }
                for extra in have.difference(&want) {
                    out.push(format!(
                        "task `{}` schedules `{extra}`, which `{package}` does not depend on",
                        task.name
                    ));
                }
            }
            _ if describe(task.strategy.as_ref()) != describe(other.strategy.as_ref()) => {
                out.push(format!(
                    "task `{}`: {} differs from the generated {}",
                    task.name,
                    describe(other.strategy.as_ref()),
                    describe(task.strategy.as_ref())
                ))
            }
            _ => {}
        }
        if task.run != other.run {
            out.push(format!(
                "task `{}` runs {:?}; sift init writes {:?} {hint}",
                task.name,
                other.run.as_deref().unwrap_or(""),
                task.run.as_deref().unwrap_or("")
            ));
        }
        if task.needs != other.needs {
            out.push(format!(
                "task `{}` needs {:?}; sift init writes {:?} {hint}",
                task.name, other.needs, task.needs
            ));
        }
    }
    for task in &committed.tasks {
        if generated.task(&task.name).is_none() && !kept.contains(task.name.as_str()) {
            out.push(format!(
                "task `{}` is not derived from the workspace {hint}",
                task.name
            ));
        }
    }

    // Rules: what every file maps to, and which files have lockfile rules.
    let mut tree_g = RuleTree::new(
        Arc::clone(&committed.files),
        &generated.components,
        Arc::clone(&generated.root_rules),
    );
    let mut tree_c = RuleTree::new(
        Arc::clone(&committed.files),
        &committed.components,
        Arc::clone(&committed.root_rules),
    );
    let (mut set_g, mut set_c) = (ComponentSet::new(), ComponentSet::new());
    let mut mapped = Vec::new();
    let mut workspace = Vec::new();
    for file in files {
        let (rule_g, rule_c) = (
            tree_g.workspace_rule(file).map(|r| r.0),
            tree_c.workspace_rule(file).map(|r| r.0),
        );
        if rule_g != rule_c {
            let says = |r: Option<crate::select::rules::WorkspaceRule>| {
                r.map_or_else(
                    || "no lockfile or manifest rule".to_owned(),
                    |r| format!("a `{}` rule", r.describe()),
                )
            };
            workspace.push(format!(
                "{file} has {} in sift.toml; sift init writes {}",
                says(rule_c),
                says(rule_g)
            ));
            continue;
        }
        if rule_g.is_some() {
            continue;
        }
        tree_g.components_into(file, &mut set_g);
        tree_c.components_into(file, &mut set_c);
        let (g, c) = (
            generated.components.names_of(&set_g),
            committed.components.names_of(&set_c),
        );
        // Components kept by hand are the user's business.
        let visible = |names: Vec<String>| -> Vec<String> {
            names
                .into_iter()
                .filter(|n| !kept.contains(n.as_str()))
                .collect()
        };
        let (g, c) = (visible(g), visible(c));
        if g != c {
            mapped.push(format!(
                "{file} affects [{}] in sift.toml; the workspace says [{}]",
                c.join(", "),
                g.join(", ")
            ));
        }
    }
    let shown = mapped.len().min(FILES_SHOWN);
    let more = mapped.len() - shown;
    out.extend(workspace);
    out.extend(mapped.into_iter().take(shown));
    if more > 0 {
        out.push(format!(
            "... and {more} more file(s) whose components differ"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::SourceFile;

    fn config(text: &str) -> Config {
        Config::from_source(
            std::path::Path::new("/nonexistent"),
            SourceFile::new("sift.toml", text.to_owned()),
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
    }

    const GENERATED: &str = r#"
[components]
exclusive = ["a", "b"]
[[rules]]
files = ["a/**"]
exclusive = ["a"]
[[rules]]
files = ["b/**"]
exclusive = ["b"]
[[rules]]
files = ["Cargo.lock"]
lockfile = "cargo"
[tasks.test-a]
schedules = ["a", "b"]
run = "cargo test -p a"
[tasks.test-b]
schedules = ["b"]
run = "cargo test -p b"
"#;

    #[test]
    fn no_drift_against_itself() {
        let files = vec![
            "a/x.rs".to_owned(),
            "b/y.rs".to_owned(),
            "Cargo.lock".to_owned(),
        ];
        assert!(drift(&config(GENERATED), &config(GENERATED), &files).is_empty());
    }

    #[test]
    fn a_missing_edge_a_missing_package_and_a_lost_lockfile_rule() {
        let files = vec![
            "a/x.rs".to_owned(),
            "b/y.rs".to_owned(),
            "Cargo.lock".to_owned(),
        ];
        let committed = config(
            r#"
[components]
exclusive = ["a"]
[[rules]]
files = ["a/**"]
exclusive = ["a"]
[tasks.test-a]
schedules = ["a"]
run = "cargo test -p a"
[tasks.extra]
always = true
"#,
        );
        let lines = drift(&config(GENERATED), &committed, &files);
        let text = lines.join("\n");
        assert!(text.contains("component `b` is missing"), "{text}");
        assert!(
            text.contains("task `test-a` does not schedule `b`, which `a` depends on"),
            "{text}"
        );
        assert!(text.contains("task `test-b` is missing"), "{text}");
        assert!(
            text.contains("task `extra` is not derived from the workspace"),
            "{text}"
        );
        assert!(
            text.contains("Cargo.lock has no lockfile or manifest rule in sift.toml"),
            "{text}"
        );
        assert!(
            text.contains("b/y.rs affects [a] in sift.toml; the workspace says [b]"),
            "{text}"
        );
    }
}

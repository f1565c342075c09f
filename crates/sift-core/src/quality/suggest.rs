//! For a false green: the narrowest change to the configuration that would
//! have kept the task, and the chain of rules that made sift skip it.
//!
//! The pattern is the narrowest one covering the changed paths of the push
//! the false green is attributed to (the first of its window): the path
//! itself for one path, their deepest common folder (`a/b/**`) for several,
//! else their shared extension (`**/*.yaml`), else the paths themselves (up
//! to [`MAX_PATHS`]). With shadow mode the window is that one push.
//!
//! How the pattern is used depends on the task's strategy:
//! - `schedules = [C, ...]`: a new `[[rules]]` entry giving those paths
//!   component C: `inclusive = ["C"]` for an inclusive C; for an exclusive
//!   C, `exclusive` = the exclusive components those paths have now, plus C,
//!   so nothing else stops being scheduled;
//! - `changed = [...]`: the pattern appended to the list;
//! - `any = [...]`: a `{ changed = [pattern] }` member appended;
//! - anything else (`always`, `all`, `not`, `on_backstop`, ...): no single
//!   rule change is safe to suggest, and the suggestion says why.

use serde::Serialize;

use super::ChainLink;
use crate::config::Config;
use crate::select::components::{ComponentKind, ComponentSet};
use crate::select::plan::Planner;
use crate::select::task::Strategy;

/// More paths than this in a pattern list become `**` (no narrow rule).
pub const MAX_PATHS: usize = 8;

/// What to change, as TOML to paste, and why.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Suggestion {
    /// `rule`, `changed`, `any` or `none`.
    pub kind: &'static str,
    /// TOML to add (empty for `none`).
    pub toml: String,
    pub why: String,
}

/// The narrowest patterns covering `paths` (sorted, deduplicated).
pub fn narrowest(paths: &[String]) -> Vec<String> {
    let mut paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    paths.sort_unstable();
    paths.dedup();
    match paths.as_slice() {
        [] => return Vec::new(),
        [one] => return vec![(*one).to_owned()],
        _ => {}
    }
    let dirs: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| {
            let mut segments: Vec<&str> = p.split('/').collect();
            segments.pop();
            segments
        })
        .collect();
    let mut common = dirs[0].clone();
    for dir in &dirs[1..] {
        let shared = common.iter().zip(dir).take_while(|(a, b)| a == b).count();
        common.truncate(shared);
    }
    if !common.is_empty() {
        return vec![format!("{}/**", common.join("/"))];
    }
    let extension = |p: &str| {
        p.rsplit('/')
            .next()
            .and_then(|name| name.rsplit_once('.'))
            .map(|(_, ext)| ext.to_owned())
    };
    let first = extension(paths[0]);
    if first.is_some() && paths.iter().all(|p| extension(p) == first) {
        return vec![format!("**/*.{}", first.unwrap_or_default())];
    }
    if paths.len() <= MAX_PATHS {
        return paths.iter().map(|p| (*p).to_owned()).collect();
    }
    vec!["**".to_owned()]
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| serde_json::to_string(i).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the rules mapped each path: the chain that made sift skip a task.
pub fn chain(planner: &mut Planner<'_>, config: &Config, paths: &[String]) -> Vec<ChainLink> {
    paths
        .iter()
        .map(|path| {
            let schedules = planner.path_schedules(path, true);
            let rules = schedules
                .matched
                .iter()
                .map(|m| {
                    let rule = m.rule();
                    let mut effect = Vec::new();
                    if !rule.inclusive.is_empty() {
                        effect.push(format!(
                            "inclusive {}",
                            config.components.names_of(&rule.inclusive).join(", ")
                        ));
                    }
                    if let Some(e) = &rule.exclusive {
                        effect.push(format!(
                            "exclusive {}",
                            config.components.names_of(e).join(", ")
                        ));
                    }
                    format!("{} `{}` → {}", m.location(), m.pattern, effect.join("; "))
                })
                .collect();
            ChainLink {
                path: path.clone(),
                rules,
                components: config
                    .components
                    .names_of(&schedules.components(&config.components)),
            }
        })
        .collect()
}

/// The suggestion for `task`, given the changed paths of the push it broke on.
pub fn suggest(
    planner: &mut Planner<'_>,
    config: &Config,
    task: &str,
    paths: &[String],
) -> Suggestion {
    let none = |why: String| Suggestion {
        kind: "none",
        toml: String::new(),
        why,
    };
    let Some(definition) = config.task(task) else {
        return none(format!("`{task}` is not in the current configuration"));
    };
    let patterns = narrowest(paths);
    if patterns.is_empty() {
        return none("the push's changed files are not known".to_owned());
    }
    if patterns == ["**"] {
        return none(format!(
            "the push changed {} unrelated paths; no narrow rule covers them",
            paths.len()
        ));
    }
    let list = quoted(&patterns);
    match &definition.strategy {
        Some(Strategy::Schedules { names, .. }) => {
            let Some(name) = names.first() else {
                return none("its `schedules` list is empty".to_owned());
            };
            let Some(id) = config.components.get(name) else {
                return none(format!("component `{name}` is not declared"));
            };
            match config.components.kind(id) {
                ComponentKind::Inclusive => Suggestion {
                    kind: "rule",
                    toml: format!("[[rules]]\nfiles = [{list}]\ninclusive = [\"{name}\"]\n"),
                    why: format!("these paths would affect `{name}`, which `{task}` schedules on"),
                },
                ComponentKind::Exclusive => {
                    // The exclusive components the paths have now, plus C.
                    let mut now = ComponentSet::new();
                    for path in paths {
                        let s = planner.path_schedules(path, false);
                        now.union_with(
                            s.exclusive
                                .as_ref()
                                .unwrap_or(config.components.all_exclusive()),
                        );
                    }
                    now.insert(id);
                    let names = config.components.names_of(&now);
                    Suggestion {
                        kind: "rule",
                        toml: format!(
                            "[[rules]]\nfiles = [{list}]\nexclusive = [{}]\n",
                            quoted(&names)
                        ),
                        why: format!(
                            "these paths would affect `{name}` (which `{task}` schedules on) as well as what they affect now; put it last in the root sift.toml"
                        ),
                    }
                }
            }
        }
        Some(Strategy::Changed(existing)) => {
            let mut all: Vec<String> = (0..existing.len()).map(|i| existing.describe(i)).collect();
            all.extend(patterns);
            Suggestion {
                kind: "changed",
                toml: format!("[tasks.{task}]\nchanged = [{}]\n", quoted(&all)),
                why: format!("`{task}` would run when these paths change"),
            }
        }
        Some(Strategy::Any(_)) => Suggestion {
            kind: "any",
            toml: format!("# add to `any` of [tasks.{task}]:\n{{ changed = [{list}] }}\n"),
            why: format!("a member that keeps `{task}` when these paths change"),
        },
        Some(other) => none(format!(
            "its strategy ({}) cannot be widened by one rule safely; consider `any = [..., {{ changed = [{list}] }}]`",
            strategy_name(other)
        )),
        None => none(format!(
            "`{task}` has no strategy and always runs; it was skipped by --target"
        )),
    }
}

fn strategy_name(strategy: &Strategy) -> &'static str {
    match strategy {
        Strategy::Schedules { .. } => "schedules",
        Strategy::Changed(_) => "changed",
        Strategy::Always => "always",
        Strategy::Any(_) => "any",
        Strategy::All(_) => "all",
        Strategy::Not(_) => "not",
        Strategy::OnBackstop => "on_backstop",
        Strategy::OnExpanded => "on_expanded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn narrowest_patterns() {
        assert_eq!(narrowest(&paths(&["a/b/c.rs"])), ["a/b/c.rs"]);
        assert_eq!(narrowest(&paths(&["a/b/c.rs", "a/b/d/e.rs"])), ["a/b/**"]);
        assert_eq!(narrowest(&paths(&["x/c.yaml", "y/d.yaml"])), ["**/*.yaml"]);
        assert_eq!(
            narrowest(&paths(&["x/c.yaml", "README"])),
            ["README", "x/c.yaml"]
        );
        let many: Vec<String> = (0..20).map(|i| format!("d{i}/f{i}.{i}")).collect();
        assert_eq!(narrowest(&many), ["**"]);
        assert!(narrowest(&[]).is_empty());
    }
}

//! `components = "gecko"` and `[mozbuild]`: the configuration of Mozilla's
//! own inputs (see [`crate::mozilla`]).

use std::path::Path;
use std::sync::Arc;

use toml::Spanned;

use super::raw::{RawComponentsSpec, RawMozbuild, RawTaskgraph};
use super::{Config, compile_components};
use crate::diagnostic::{ConfigDiagnostic, ConfigError, Diagnostics, SourceFile};
use crate::mozilla::gecko;
use crate::mozilla::taskgraph::{Registry, UserKind, UserStrategy};
use crate::select::components::Components;

/// A `[components]` table, or a built-in preset by name.
pub(super) fn compile_components_spec(
    raw: Option<Spanned<RawComponentsSpec>>,
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Components {
    let Some(raw) = raw else {
        return compile_components(None, source, diags);
    };
    let span = raw.span();
    match raw.into_inner() {
        RawComponentsSpec::Table(table) => compile_components(Some(table), source, diags),
        RawComponentsSpec::Preset(name) if name == gecko::PRESET => {
            Components::new(gecko::declarations())
        }
        RawComponentsSpec::Preset(name) => {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(span),
                    format!("unknown component preset `{name}`"),
                    "here",
                )
                .with_help("the built-in preset is `gecko` (mozilla-central's schedules.py); otherwise declare a [components] table"),
            );
            Components::default()
        }
    }
}

/// `[mozbuild] enabled = true`.
pub(super) fn compile_mozbuild(raw: Option<RawMozbuild>) -> bool {
    raw.and_then(|m| m.enabled).is_some_and(Spanned::into_inner)
}

/// `[taskgraph.strategies]`: a project's own composite strategies, checked
/// against the built-in ones (taskgraph's and gecko's) and each other.
pub(super) fn compile_strategies(
    raw: Option<RawTaskgraph>,
    source: &Arc<SourceFile>,
    diags: &mut Diagnostics,
) -> Vec<UserStrategy> {
    let Some(raw) = raw else {
        return Vec::new();
    };
    let builtin: Vec<String> = Registry::gecko(false)
        .names()
        .chain(Registry::gecko(true).names())
        .map(str::to_owned)
        .collect();
    let user: Vec<&str> = raw
        .strategies
        .iter()
        .map(|(n, _)| n.get_ref().as_str())
        .collect();
    let mut out = Vec::new();
    for (name, def) in &raw.strategies {
        let error = |span: std::ops::Range<usize>, message: String, label: &str, help: &str| {
            ConfigDiagnostic::error(source, Some(span), message, label).with_help(help)
        };
        if builtin.iter().any(|b| b == name.get_ref()) {
            diags.push(error(
                name.span(),
                format!("`{}` is already a strategy", name.get_ref()),
                "built in",
                "taskgraph ignores a second registration of a name (the first wins): pick another name",
            ));
            continue;
        }
        let d = def.get_ref();
        let set = [
            d.any.is_some(),
            d.all.is_some(),
            d.not.is_some(),
            d.alias.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            diags.push(error(
                def.span(),
                format!("strategy `{}` needs exactly one of `any`, `all`, `not` or `alias`", name.get_ref()),
                "here",
                "e.g. `{ any = [\"skip-unless-schedules\", \"skip-unless-changed\"], split_args = true }`",
            ));
            continue;
        }
        let split_args = d.split_args.as_ref().is_some_and(|s| *s.get_ref());
        if split_args && d.any.is_none() && d.all.is_none() {
            let span = d.split_args.as_ref().map_or(def.span(), |s| s.span());
            diags.push(error(
                span,
                "`split_args` applies to `any` and `all` only".to_owned(),
                "here",
                "remove it",
            ));
            continue;
        }
        let (kind, members): (UserKind, Vec<(String, std::ops::Range<usize>)>) =
            if let Some(list) = d.any.as_ref().or(d.all.as_ref()) {
                let members: Vec<(String, std::ops::Range<usize>)> = list
                    .get_ref()
                    .iter()
                    .map(|m| (m.get_ref().clone(), m.span()))
                    .collect();
                if members.is_empty() {
                    diags.push(error(
                        list.span(),
                        "an empty list of strategies".to_owned(),
                        "here",
                        "name the strategies it combines",
                    ));
                    continue;
                }
                let names = members.iter().map(|(n, _)| n.clone()).collect();
                (
                    if d.any.is_some() {
                        UserKind::Any(names)
                    } else {
                        UserKind::All(names)
                    },
                    members,
                )
            } else {
                let one = d
                    .not
                    .as_ref()
                    .or(d.alias.as_ref())
                    .expect("one of the four is set");
                let member = vec![(one.get_ref().clone(), one.span())];
                if d.not.is_some() {
                    (UserKind::Not(one.get_ref().clone()), member)
                } else {
                    (UserKind::Alias(one.get_ref().clone()), member)
                }
            };
        let mut known = true;
        for (member, span) in &members {
            if !builtin.iter().any(|b| b == member) && !user.contains(&member.as_str()) {
                let candidates = builtin
                    .iter()
                    .map(String::as_str)
                    .chain(user.iter().copied());
                let help = match crate::select::components::suggest(member, candidates) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => "name a built-in strategy (e.g. `skip-unless-schedules`) or another in [taskgraph.strategies]".to_owned(),
                };
                diags.push(error(
                    span.clone(),
                    format!("unknown strategy `{member}`"),
                    "not registered",
                    &help,
                ));
                known = false;
            }
        }
        if known {
            out.push(UserStrategy {
                name: name.get_ref().clone(),
                kind,
                split_args,
            });
        }
    }
    // Strategies that name each other in a cycle can never be registered.
    for (name, _) in &raw.strategies {
        if let Some(cycle) = cycle_from(name.get_ref(), &out) {
            diags.push(
                ConfigDiagnostic::error(
                    source,
                    Some(name.span()),
                    format!(
                        "strategies name each other in a cycle: {}",
                        cycle.join(" → ")
                    ),
                    "here",
                )
                .with_help("a composite can only combine strategies that exist before it"),
            );
            out.clear();
            break;
        }
    }
    out
}

/// A cycle through `start` among `strategies`, as names, if there is one.
fn cycle_from(start: &str, strategies: &[UserStrategy]) -> Option<Vec<String>> {
    fn walk(at: &str, start: &str, path: &mut Vec<String>, strategies: &[UserStrategy]) -> bool {
        let Some(strategy) = strategies.iter().find(|s| s.name == at) else {
            return false;
        };
        for member in strategy.kind.members() {
            if member == start {
                path.push(member.to_owned());
                return true;
            }
            if path.iter().any(|p| p == member) {
                continue;
            }
            path.push(member.to_owned());
            if walk(member, start, path, strategies) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.to_owned()];
    walk(start, start, &mut path, strategies).then_some(path)
}

/// What a Gecko tree without a sift.toml gets for `--mozbuild` and
/// `--graph`: mozilla-central's components and its moz.build files.
pub const MOZILLA_DEFAULT: &str = "components = \"gecko\"\n\n[mozbuild]\nenabled = true\n";

impl Config {
    /// The configuration of a tree that has moz.build files but no
    /// sift.toml ([`MOZILLA_DEFAULT`]).
    pub fn mozilla_default(root: &Path) -> Config {
        Config::from_source(
            root,
            SourceFile::new("(built-in gecko defaults)", MOZILLA_DEFAULT),
        )
        .map_err(|ConfigError(d)| d)
        .expect("the built-in configuration is valid")
    }
}

//! `[ci.gitlab]` and `[ci.buildkite]` in the root `sift.toml`: what the
//! generated pipelines inherit.
//!
//! ```toml
//! [ci.gitlab]
//! extends = ".sift-task"          # every job: `extends: .sift-task`
//! include = ["ci/gitlab/sift-task.yml"]  # where `.sift-task` is defined
//!
//! [ci.buildkite]                  # merged into every command step
//! agents = { queue = "linux" }
//! plugins = [{ "docker#v5.12.0" = { image = "rust:1.95" } }]
//! command = "ci/run-task"         # for tasks without `run`
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::yaml::Yaml;
use crate::diagnostic::{ConfigDiagnostic, Diagnostics, SourceFile};
use crate::select::components::suggest;

/// The TOML shape of `[ci]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCi {
    pub gitlab: Option<RawGitlab>,
    pub buildkite: Option<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGitlab {
    pub extends: Option<Spanned<String>>,
    pub include: Option<Vec<Spanned<String>>>,
}

/// The validated `[ci]` settings.
#[derive(Debug, Clone, Default)]
pub struct CiConfig {
    /// `[ci.gitlab] extends`: the job template every generated job extends.
    pub gitlab_extends: Option<String>,
    /// `[ci.gitlab] include`: repository files the child pipeline includes
    /// (`include: - local:`), e.g. the file defining the `extends` template.
    pub gitlab_include: Vec<String>,
    /// `[ci.buildkite]`: step keys merged into every command step, sorted.
    pub buildkite_defaults: Vec<(String, Yaml)>,
}

/// Command-step keys `[ci.buildkite]` may set (Buildkite's schema, less
/// what sift sets per task).
const BUILDKITE_STEP_KEYS: &[&str] = &[
    "agents",
    "allow_dependency_failure",
    "artifact_paths",
    "branches",
    "cache",
    "cancel_on_build_failing",
    "command",
    "commands",
    "concurrency",
    "concurrency_group",
    "concurrency_method",
    "env",
    "if",
    "image",
    "notify",
    "parallelism",
    "plugins",
    "priority",
    "retry",
    "secrets",
    "skip",
    "soft_fail",
    "timeout_in_minutes",
];

/// Keys sift writes for each task.
const BUILDKITE_SIFT_KEYS: &[&str] = &["key", "label", "depends_on", "identifier", "id", "name"];

impl CiConfig {
    pub(crate) fn compile(
        raw: Option<RawCi>,
        source: &Arc<SourceFile>,
        diags: &mut Diagnostics,
    ) -> CiConfig {
        let Some(raw) = raw else {
            return CiConfig::default();
        };
        let mut config = CiConfig::default();
        let (extends, include) = match raw.gitlab {
            Some(gitlab) => (gitlab.extends, gitlab.include.unwrap_or_default()),
            None => (None, Vec::new()),
        };
        for path in include {
            let span = path.span();
            let path = path.into_inner();
            let clean = !path.is_empty()
                && !path.starts_with('/')
                && !path.contains('\\')
                && path
                    .split('/')
                    .all(|s| !s.is_empty() && s != "." && s != "..");
            if clean {
                config.gitlab_include.push(path);
            } else {
                diags.push(
                    ConfigDiagnostic::error(
                        source,
                        Some(span),
                        format!("invalid include path `{path}`"),
                        "not a path in the repository",
                    )
                    .with_help("give a `/`-separated path relative to the repository root, e.g. `ci/gitlab/sift-task.yml`"),
                );
            }
        }
        if let Some(extends) = extends {
            let span = extends.span();
            let name = extends.into_inner();
            if name.trim().is_empty() || name.chars().any(char::is_control) {
                diags.push(
                    ConfigDiagnostic::error(
                        source,
                        Some(span),
                        "invalid `extends` template name",
                        "names no job template",
                    )
                    .with_help("name a job template the child pipeline includes, e.g. `extends = \".sift-task\"`"),
                );
            } else {
                config.gitlab_extends = Some(name);
            }
        }
        for (key, value) in raw.buildkite.unwrap_or_default() {
            let span = key.span();
            let key = key.into_inner();
            if BUILDKITE_SIFT_KEYS.contains(&key.as_str()) {
                diags.push(
                    ConfigDiagnostic::error(
                        source,
                        Some(span),
                        format!("`{key}` cannot be a Buildkite step default"),
                        "sift sets it for each task",
                    )
                    .with_help("sift writes `key`, `label` and `depends_on` from the task's name and needs; remove this key"),
                );
                continue;
            }
            if !BUILDKITE_STEP_KEYS.contains(&key.as_str()) {
                let help = match suggest(&key, BUILDKITE_STEP_KEYS.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "[ci.buildkite] takes command-step keys: {}",
                        BUILDKITE_STEP_KEYS.join(", ")
                    ),
                };
                diags.push(
                    ConfigDiagnostic::error(
                        source,
                        Some(span),
                        format!("unknown Buildkite step key `{key}`"),
                        "not a command-step key",
                    )
                    .with_help(help),
                );
                continue;
            }
            if matches!(
                key.as_str(),
                "command" | "commands" | "if" | "concurrency_group"
            ) && !matches!(value.get_ref(), toml::Value::String(_))
                && !(key == "commands" && is_string_list(value.get_ref()))
            {
                diags.push(
                    ConfigDiagnostic::error(
                        source,
                        Some(value.span()),
                        format!("`{key}` must be a string"),
                        "not a string",
                    )
                    .with_help(format!("write e.g. `{key} = \"ci/run-task\"`")),
                );
                continue;
            }
            config
                .buildkite_defaults
                .push((key, Yaml::from_toml(value.get_ref())));
        }
        config
    }
}

fn is_string_list(value: &toml::Value) -> bool {
    matches!(value, toml::Value::Array(items) if items.iter().all(|i| matches!(i, toml::Value::String(_))))
}

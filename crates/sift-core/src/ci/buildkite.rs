//! Buildkite: a pipeline for `buildkite-agent pipeline upload`.
//!
//! One command step per kept task: `key` (made valid by
//! [`super::names::BUILDKITE`]), `label` (the task's name), `command` (its
//! `run`, else `[ci.buildkite] command`), `depends_on` (its kept needs) and
//! `env: SIFT_TASK`, then the `[ci.buildkite]` defaults (a task's own `run`
//! wins over a default `command`; an `env` default is merged with `SIFT_TASK`). A plan that keeps nothing is
//! a pipeline with no steps, which Buildkite accepts.

use super::names::BUILDKITE;
use super::yaml::Yaml;
use super::{CiConfig, CiError, CiTask, header};

/// The pipeline's YAML.
pub fn pipeline(tasks: &[CiTask], settings: &CiConfig) -> Result<String, CiError> {
    let keys = BUILDKITE.assign(&tasks.iter().map(|t| t.name).collect::<Vec<_>>())?;
    let key_of = super::lookup(tasks, &keys);
    let has_default_command = settings
        .buildkite_defaults
        .iter()
        .any(|(k, _)| k == "command" || k == "commands");
    let mut steps = Vec::new();
    for (task, key) in tasks.iter().zip(&keys) {
        let mut step = Yaml::map();
        step.insert("key", key.as_str()).insert("label", task.name);
        match task.command {
            Some(command) => {
                step.insert("command", command);
            }
            None if has_default_command => {}
            None => {
                return Err(CiError::NoCommand {
                    task: task.name.to_owned(),
                    ci: "Buildkite",
                    hint: "give the task `run = \"…\"`, or set `[ci.buildkite] command` to a command that runs \"$SIFT_TASK\"".to_owned(),
                });
            }
        }
        let needs: Vec<String> = task.needs.iter().filter_map(|n| key_of(n)).collect();
        step.insert("depends_on", Yaml::strings(&needs));
        for (name, value) in &settings.buildkite_defaults {
            let is_command = name == "command" || name == "commands";
            if !(is_command && task.command.is_some()) {
                step.insert(name.clone(), value.clone());
            }
        }
        let mut env = match step.get("env") {
            Some(Yaml::Map(entries)) => Yaml::Map(entries.clone()),
            _ => Yaml::map(),
        };
        env.insert("SIFT_TASK", task.name);
        step.insert("env", env);
        steps.push(step);
    }
    let mut doc = Yaml::map();
    doc.insert("steps", Yaml::List(steps));
    Ok(header("buildkite") + &doc.to_document())
}

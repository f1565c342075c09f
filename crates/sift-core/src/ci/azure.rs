//! Azure Pipelines: output variables for a matrix, and a jobs template.
//!
//! [`logging_commands`] is what the planning step prints (its step `name:`
//! must be `sift`, its job `plan`):
//!
//! - `matrix`: `{"test_unit": {"SIFT_TASK": "test:unit"}}`, keys made valid by
//!   [`super::names::AZURE`], for
//!   `strategy: matrix: $[ dependencies.plan.outputs['sift.matrix'] ]`;
//! - `any`: `true` or `false`, to skip the matrix job when nothing is kept;
//! - `run_<key>`: `true` for each kept task, which the jobs template's
//!   conditions read.
//!
//! [`jobs_template`] is a `jobs:` template with one job per task: `dependsOn`
//! the `plan` job and the task's needs, run only if the plan kept it. Azure
//! expands templates before a run starts, so this file is generated ahead
//! (`sift plan --all --format azure-jobs`) and committed; each run's plan
//! then decides which of its jobs run.

use super::names::AZURE;
use super::yaml::Yaml;
use super::{CiError, CiTask, header};

/// Escapes a logging command's value (the agent turns these back).
fn escape(value: &str) -> String {
    value
        .replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn set_output(name: &str, value: &str) -> String {
    format!(
        "##vso[task.setvariable variable={name};isOutput=true]{}\n",
        escape(value)
    )
}

/// The `##vso[task.setvariable]` lines for the kept tasks.
pub fn logging_commands(tasks: &[CiTask]) -> Result<String, CiError> {
    let keys = AZURE.assign(&tasks.iter().map(|t| t.name).collect::<Vec<_>>())?;
    let mut matrix = serde_json::Map::new();
    for (task, key) in tasks.iter().zip(&keys) {
        matrix.insert(key.clone(), serde_json::json!({ "SIFT_TASK": task.name }));
    }
    let mut out = set_output(
        "matrix",
        &serde_json::to_string(&matrix).expect("JSON serializes"),
    );
    out.push_str(&set_output(
        "any",
        if tasks.is_empty() { "false" } else { "true" },
    ));
    for key in &keys {
        out.push_str(&set_output(&format!("run_{key}"), "true"));
    }
    Ok(out)
}

/// The jobs template's YAML.
pub fn jobs_template(tasks: &[CiTask]) -> Result<String, CiError> {
    let keys = AZURE.assign(&tasks.iter().map(|t| t.name).collect::<Vec<_>>())?;
    let key_of = super::lookup(tasks, &keys);
    let mut jobs = Vec::new();
    for (task, key) in tasks.iter().zip(&keys) {
        let Some(command) = task.command else {
            return Err(CiError::NoCommand {
                task: task.name.to_owned(),
                ci: "Azure Pipelines",
                hint: "give the task `run = \"…\"` in sift.toml".to_owned(),
            });
        };
        let mut depends = vec!["plan".to_owned()];
        depends.extend(task.needs.iter().filter_map(|n| key_of(n)));
        let mut variables = Yaml::map();
        variables.insert("SIFT_TASK", task.name);
        let mut step = Yaml::map();
        step.insert("script", command)
            .insert("displayName", task.name);
        let mut job = Yaml::map();
        job.insert("job", key.as_str())
            .insert("displayName", task.name)
            .insert("dependsOn", Yaml::strings(&depends))
            .insert(
                "condition",
                format!(
                    "and(succeeded(), eq(dependencies.plan.outputs['sift.run_{key}'], 'true'))"
                ),
            )
            .insert("variables", variables)
            .insert("steps", Yaml::List(vec![step]));
        jobs.push(job);
    }
    let mut doc = Yaml::map();
    doc.insert("jobs", Yaml::List(jobs));
    Ok(header("azure-jobs") + &doc.to_document())
}

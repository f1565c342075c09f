//! GitLab CI: a child pipeline for `trigger: include: - artifact:`.
//!
//! One job per kept task: `script` from its `run`, `needs:` from its kept
//! needs (`needs: []` for none, so it starts at once), no `stage:` (a DAG
//! ordered by `needs` alone), `variables: SIFT_TASK` with the task's name,
//! and `extends:` the template named by `[ci.gitlab] extends`, which a file
//! listed in `[ci.gitlab] include` defines (`include: - local:`). The job
//! [`super::names::GITLAB_NOOP`] is always present, so a plan that keeps
//! nothing is still a valid pipeline. Job names follow [`super::names::GITLAB`].

use super::names::{GITLAB, GITLAB_NOOP};
use super::yaml::Yaml;
use super::{CiConfig, CiError, CiTask, header};

/// The child pipeline's YAML.
pub fn pipeline(tasks: &[CiTask], settings: &CiConfig) -> Result<String, CiError> {
    let names = GITLAB.assign(&tasks.iter().map(|t| t.name).collect::<Vec<_>>())?;
    let job_of = super::lookup(tasks, &names);
    let mut doc = Yaml::map();
    if !settings.gitlab_include.is_empty() {
        let includes = settings
            .gitlab_include
            .iter()
            .map(|path| {
                let mut entry = Yaml::map();
                entry.insert("local", path.as_str());
                entry
            })
            .collect();
        doc.insert("include", Yaml::List(includes));
    }
    let mut noop = Yaml::map();
    noop.insert("variables", {
        let mut v = Yaml::map();
        v.insert("GIT_STRATEGY", "none");
        v
    })
    .insert("needs", Yaml::List(vec![]))
    .insert(
        "script",
        Yaml::strings(&[format!("echo \"sift: {} task(s) planned\"", tasks.len())]),
    );
    doc.insert(GITLAB_NOOP, noop);
    for (task, name) in tasks.iter().zip(&names) {
        let mut job = Yaml::map();
        if let Some(template) = &settings.gitlab_extends {
            job.insert("extends", template.as_str());
        }
        let needs: Vec<String> = task.needs.iter().filter_map(|n| job_of(n)).collect();
        job.insert("needs", Yaml::strings(&needs));
        job.insert("variables", {
            let mut v = Yaml::map();
            v.insert("SIFT_TASK", task.name);
            v
        });
        match task.command {
            Some(command) => {
                job.insert("script", Yaml::strings(&[command]));
            }
            None if settings.gitlab_extends.is_some() => {}
            None => {
                return Err(CiError::NoCommand {
                    task: task.name.to_owned(),
                    ci: "GitLab",
                    hint: "give the task `run = \"…\"`, or set `[ci.gitlab] extends` to a job template whose `script` runs \"$SIFT_TASK\"".to_owned(),
                });
            }
        }
        // Job names are distinct (names::GITLAB) and none is the no-op's.
        doc.push(name.clone(), job);
    }
    Ok(header("gitlab") + &doc.to_document())
}

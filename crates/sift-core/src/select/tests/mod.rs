//! Engine tests over real files in temporary directories: the combination rules
//! (including Mozilla's documented cases), nested rule files, strategies, the
//! optimizer and every configuration error.

mod config_errors;
mod history;
mod planning;
mod properties;

use std::path::Path;

use crate::{Change, Config, Plan, PlanOptions, Planner};

/// A temporary repository tree holding configuration files.
pub(crate) struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new(files: &[(&str, &str)]) -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            write(dir.path(), path, text);
        }
        Repo { dir }
    }

    pub fn config(&self) -> Config {
        match Config::load(self.dir.path()) {
            Ok(config) => config,
            Err(crate::ConfigLoadError::Invalid(e)) => {
                panic!(
                    "invalid config:\n{}",
                    e.0.items
                        .iter()
                        .map(|d| d.to_plain())
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// The plain-text diagnostics of a configuration expected to be invalid.
    pub fn errors(&self) -> Vec<String> {
        match Config::load(self.dir.path()) {
            Ok(_) => panic!("expected the configuration to be invalid"),
            Err(crate::ConfigLoadError::Invalid(e)) => e.0.errors().map(|d| d.to_plain()).collect(),
            Err(e) => panic!("{e}"),
        }
    }
}

pub(crate) fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().expect("has parent")).expect("mkdir");
    std::fs::write(full, text).expect("write");
}

pub(crate) fn plan(config: &Config, paths: &[&str], options: &PlanOptions) -> Plan {
    let change = Change::from_path_list(&paths.join("\n"));
    Planner::new(config).plan(change, options).expect("plan")
}

/// `name` for kept tasks, `-name` for skipped ones.
pub(crate) fn outcome(plan: &Plan) -> Vec<String> {
    plan.tasks
        .iter()
        .map(|d| {
            if d.run {
                d.name.clone()
            } else {
                format!("-{}", d.name)
            }
        })
        .collect()
}

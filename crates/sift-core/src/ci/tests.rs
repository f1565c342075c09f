//! Every renderer on three plans: one with dependencies, one that keeps
//! nothing, and one whose names each CI must rewrite. The integration tests
//! validate the same outputs against the CIs' published schemas.

use super::*;
use crate::PlanOptions;
use crate::select::tests::{Repo, plan as plan_paths};

const DEPENDENCIES: &str = r#"
[tasks.build]
changed = ["src/**"]
run = "make build"

[tasks."test:unit"]
changed = ["src/**"]
needs = ["build"]
run = "make test"

[tasks.package]
changed = ["src/**"]
needs = ["build", "test:unit"]
run = "make package"

[tasks.docs]
changed = ["docs/**"]
run = "make docs"

[ci.gitlab]
extends = ".sift-task"
include = ["ci/gitlab/sift-task.yml"]

[ci.buildkite]
agents = { queue = "linux" }
plugins = [{ "docker#v5.12.0" = { image = "rust:1.95" } }]
env = { CARGO_TERM_COLOR = "always" }
timeout_in_minutes = 30
"#;

const REWRITES: &str = r#"
[tasks."test:unit"]
always = true
run = "make test-unit"

[tasks."test.unit"]
always = true
run = "make test.unit"

[tasks.test_unit]
always = true
needs = ["test:unit", "test.unit"]
run = "echo 'on: no'"

[tasks.".hidden"]
always = true
run = "true"

[tasks.pages]
always = true
run = "make pages"

[tasks."3d/render"]
always = true
run = "make 3d"
"#;

struct Rendered {
    github: String,
    levels: String,
    gitlab: String,
    buildkite: String,
    azure: String,
    azure_jobs: String,
}

fn render_all(config_text: &str, paths: &[&str]) -> Rendered {
    let repo = Repo::new(&[("sift.toml", config_text)]);
    let config = repo.config();
    let plan = plan_paths(&config, paths, &PlanOptions::default());
    let tasks = kept_tasks(&plan, &config);
    Rendered {
        github: github::outputs(&tasks, false),
        levels: github::outputs(&tasks, true),
        gitlab: gitlab::pipeline(&tasks, &config.ci).expect("gitlab"),
        buildkite: buildkite::pipeline(&tasks, &config.ci).expect("buildkite"),
        azure: azure::logging_commands(&tasks).expect("azure"),
        azure_jobs: azure::jobs_template(&tasks).expect("azure jobs"),
    }
}

fn snapshot_all(prefix: &str, rendered: &Rendered) {
    insta::assert_snapshot!(format!("{prefix}_github"), rendered.github);
    insta::assert_snapshot!(format!("{prefix}_github_levels"), rendered.levels);
    insta::assert_snapshot!(format!("{prefix}_gitlab"), rendered.gitlab);
    insta::assert_snapshot!(format!("{prefix}_buildkite"), rendered.buildkite);
    insta::assert_snapshot!(format!("{prefix}_azure"), rendered.azure);
    insta::assert_snapshot!(format!("{prefix}_azure_jobs"), rendered.azure_jobs);
}

#[test]
fn plan_with_dependencies() {
    let rendered = render_all(DEPENDENCIES, &["src/main.rs"]);
    snapshot_all("dependencies", &rendered);
    assert!(
        rendered.levels.ends_with(
            "levels=3\nlevel0=[\"build\"]\nlevel1=[\"test:unit\"]\nlevel2=[\"package\"]\n"
        ),
        "{}",
        rendered.levels
    );
}

#[test]
fn empty_plan() {
    let rendered = render_all(DEPENDENCIES, &["README.md"]);
    snapshot_all("empty", &rendered);
    assert!(
        rendered
            .github
            .starts_with("matrix=[]\nany=false\ntasks=[]\n")
    );
    assert!(rendered.gitlab.contains("sift-noop:"));
}

#[test]
fn names_needing_rewriting() {
    let rendered = render_all(REWRITES, &["x"]);
    snapshot_all("rewrites", &rendered);
}

#[test]
fn levels_follow_the_longest_chain() {
    let task = |name, needs: Vec<&'static str>| CiTask {
        name,
        command: None,
        needs,
    };
    let tasks = [
        task("a", vec![]),
        task("b", vec!["a"]),
        task("c", vec!["a", "b"]),
        task("d", vec![]),
        task("e", vec!["d", "c"]),
    ];
    assert_eq!(levels(&tasks), [0, 1, 2, 0, 3]);
    // A need that is also a need of a sibling pushed before it.
    let tasks = [
        task("a", vec!["x", "y"]),
        task("x", vec![]),
        task("y", vec!["x"]),
    ];
    assert_eq!(levels(&tasks), [2, 0, 1]);
}

#[test]
fn tasks_without_run_need_a_template_or_default_command() {
    let text = "[tasks.lint]\nalways = true\n";
    let repo = Repo::new(&[("sift.toml", text)]);
    let config = repo.config();
    let plan = plan_paths(&config, &["x"], &PlanOptions::default());
    let tasks = kept_tasks(&plan, &config);
    assert!(
        github::outputs(&tasks, false)
            .contains(r#"tasks=[{"name":"lint","command":null,"needs":[]}]"#)
    );
    let error = gitlab::pipeline(&tasks, &config.ci).unwrap_err();
    assert_eq!(
        error.to_string(),
        "task `lint` has no `run` command for GitLab"
    );
    assert!(
        error.hint().contains("[ci.gitlab] extends"),
        "{}",
        error.hint()
    );
    assert!(buildkite::pipeline(&tasks, &config.ci).is_err());
    assert!(azure::jobs_template(&tasks).is_err());

    let text = "[tasks.lint]\nalways = true\n[ci.gitlab]\nextends = \".t\"\n[ci.buildkite]\ncommand = \"ci/run\"\n";
    let repo = Repo::new(&[("sift.toml", text)]);
    let config = repo.config();
    let plan = plan_paths(&config, &["x"], &PlanOptions::default());
    let tasks = kept_tasks(&plan, &config);
    let gitlab = gitlab::pipeline(&tasks, &config.ci).unwrap();
    assert!(gitlab.contains("lint:\n  extends: \".t\"\n"), "{gitlab}");
    assert!(!gitlab.contains("script:\n    - \"make"), "{gitlab}");
    let buildkite = buildkite::pipeline(&tasks, &config.ci).unwrap();
    assert!(buildkite.contains("command: \"ci/run\""), "{buildkite}");
}

#[test]
fn unmakeable_name_is_an_error_naming_the_task() {
    let text = "[tasks.\"+++\"]\nalways = true\nrun = \"x\"\n";
    let repo = Repo::new(&[("sift.toml", text)]);
    let config = repo.config();
    let plan = plan_paths(&config, &["x"], &PlanOptions::default());
    let tasks = kept_tasks(&plan, &config);
    let error = azure::logging_commands(&tasks).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("task `+++` cannot be an Azure job name"),
        "{error}"
    );
    let error = buildkite::pipeline(&tasks, &config.ci).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("task `+++` cannot be a Buildkite step key"),
        "{error}"
    );
    // GitLab accepts the name as it is.
    assert!(
        gitlab::pipeline(&tasks, &config.ci)
            .unwrap()
            .contains("\"+++\":")
    );
}

#[test]
fn ci_settings_errors_point_at_the_key() {
    let repo = Repo::new(&[(
        "sift.toml",
        "[ci.buildkite]\nagent = { queue = \"x\" }\nkey = \"k\"\ncommand = 3\n\n[ci.gitlab]\nextends = \"\"\ninclude = [\"../x.yml\"]\n",
    )]);
    let errors = repo.errors();
    assert_eq!(
        errors,
        [
            "error: sift.toml:2:1: unknown Buildkite step key `agent` (not a command-step key)\n  hint: did you mean `agents`?",
            "error: sift.toml:3:1: `key` cannot be a Buildkite step default (sift sets it for each task)\n  hint: sift writes `key`, `label` and `depends_on` from the task's name and needs; remove this key",
            "error: sift.toml:4:11: `command` must be a string (not a string)\n  hint: write e.g. `command = \"ci/run-task\"`",
            "error: sift.toml:7:11: invalid `extends` template name (names no job template)\n  hint: name a job template the child pipeline includes, e.g. `extends = \".sift-task\"`",
            "error: sift.toml:8:12: invalid include path `../x.yml` (not a path in the repository)\n  hint: give a `/`-separated path relative to the repository root, e.g. `ci/gitlab/sift-task.yml`",
        ]
    );
    let repo = Repo::new(&[("sift.toml", "[ci.jenkins]\nx = 1\n")]);
    let errors = repo.errors();
    assert!(
        errors[0].starts_with("error: sift.toml:1:5: invalid TOML"),
        "{errors:?}"
    );
}

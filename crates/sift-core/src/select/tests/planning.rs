use super::*;
use crate::pattern::NameGlob;

const MOZ_LIKE: &str = r#"
[components]
exclusive = { platform = ["linux", "macosx", "windows", "android"], suite = ["mochitest", "reftest", "xpcshell"] }
inclusive = ["py-lint", "docs", "js-lint"]

[[rules]]
files = ["**/*.py", "!third_party/**"]
inclusive = ["py-lint"]

[[rules]]
files = ["widget/cocoa/**"]
exclusive = ["macosx"]

[[rules]]
files = ["docs/**"]
exclusive = ["docs"]

[[rules]]
files = ["lint-only/**"]
exclusive = []
inclusive = ["py-lint"]
"#;

fn components_of(config: &Config, path: &str) -> Vec<String> {
    let mut planner = Planner::new(config);
    let s = planner.path_schedules(path, false);
    config
        .components
        .names_of(&s.components(&config.components))
}

#[test]
fn unannotated_files_get_all_exclusive_components() {
    let repo = Repo::new(&[("sift.toml", MOZ_LIKE)]);
    let config = repo.config();
    assert_eq!(
        components_of(&config, "dom/base/x.cpp"),
        [
            "android",
            "linux",
            "macosx",
            "mochitest",
            "reftest",
            "windows",
            "xpcshell"
        ]
    );
}

#[test]
fn inclusive_accumulates_and_negation_excludes() {
    let repo = Repo::new(&[("sift.toml", MOZ_LIKE)]);
    let config = repo.config();
    assert!(components_of(&config, "tools/x.py").contains(&"py-lint".to_string()));
    assert!(!components_of(&config, "third_party/x.py").contains(&"py-lint".to_string()));
}

#[test]
fn explicit_exclusive_replaces_and_inclusive_survives_it() {
    let repo = Repo::new(&[("sift.toml", MOZ_LIKE)]);
    let config = repo.config();
    // Mozilla's `subd/win.js` case: inclusive from an earlier rule survives a later exclusive.
    assert_eq!(
        components_of(&config, "widget/cocoa/x.py"),
        ["macosx", "py-lint"]
    );
    assert_eq!(components_of(&config, "widget/cocoa/x.mm"), ["macosx"]);
    // An exclusive list may name inclusive components, and may be empty.
    assert_eq!(components_of(&config, "docs/index.md"), ["docs"]);
    assert_eq!(components_of(&config, "lint-only/a.txt"), ["py-lint"]);
}

#[test]
fn later_explicit_exclusive_wins_and_defaults_never_override() {
    let repo = Repo::new(&[(
        "sift.toml",
        r#"
[components]
exclusive = ["linux", "macosx", "windows"]
inclusive = ["docs"]

[[rules]]
files = ["a/**"]
exclusive = ["linux"]

[[rules]]
files = ["a/b/**"]
exclusive = ["windows"]

[[rules]]
files = ["a/**"]
inclusive = ["docs"]
"#,
    )]);
    let config = repo.config();
    assert_eq!(
        components_of(&config, "a/b/c"),
        ["docs", "windows"],
        "later explicit wins"
    );
    assert_eq!(
        components_of(&config, "a/x"),
        ["docs", "linux"],
        "a rule without exclusive keeps the explicit value"
    );
}

#[test]
fn nested_rule_files_apply_root_first_and_are_relative() {
    let repo = Repo::new(&[
        ("sift.toml", MOZ_LIKE),
        (
            "mobile/sift.toml",
            "[[rules]]\nfiles = [\"**\"]\nexclusive = [\"android\"]\n",
        ),
        (
            "mobile/android/sift.toml",
            "[[rules]]\nfiles = [\"docs/**\"]\nexclusive = [\"docs\"]\n\n[[rules]]\nfiles = [\"*.py\"]\ninclusive = [\"py-lint\"]\n",
        ),
    ]);
    let config = repo.config();
    assert_eq!(components_of(&config, "mobile/x.java"), ["android"]);
    assert_eq!(components_of(&config, "mobile/android/docs/a.md"), ["docs"]);
    assert_eq!(
        components_of(&config, "mobile/android/setup.py"),
        ["android", "py-lint"]
    );
    // Patterns in mobile/android/sift.toml are anchored there, not at the root.
    assert_eq!(components_of(&config, "docs/mobile/android/x"), ["docs"]);
    let mut planner = Planner::new(&config);
    let s = planner.path_schedules("mobile/android/docs/a.md", true);
    let locations: Vec<String> = s.matched.iter().map(|m| m.location()).collect();
    assert_eq!(
        locations,
        ["mobile/sift.toml:1", "mobile/android/sift.toml:1"]
    );
}

const TASKS: &str = r#"
[tasks.build-linux]
schedules = ["linux"]

[tasks.build-macosx]
schedules = ["macosx"]

[tasks.test-linux-reftest]
schedules = ["linux", "reftest"]
needs = ["build-linux"]

[tasks.lint-py]
changed = ["**/*.py", "!third_party/**"]

[tasks.nightly-audit]
always = true

[tasks.plain]

[tasks.docs]
schedules = ["docs"]

[tasks.never]
schedules = []

[tasks.py-not-docs]
all = [{ schedules = ["py-lint"] }, { not = { schedules = ["docs"] } }]

[tasks.docs-or-py]
any = [{ changed = ["docs/**"] }, { changed = ["**/*.py"] }]
"#;

fn repo_with_tasks() -> Repo {
    Repo::new(&[("sift.toml", &format!("{MOZ_LIKE}\n{TASKS}"))])
}

#[test]
fn strategies_decide_for_a_docs_change() {
    let repo = repo_with_tasks();
    let config = repo.config();
    let p = plan(&config, &["docs/index.md"], &PlanOptions::default());
    assert_eq!(
        outcome(&p),
        [
            "-build-linux",
            "-build-macosx",
            "docs",
            "docs-or-py",
            "-lint-py",
            "-never",
            "nightly-audit",
            "plain",
            "-py-not-docs",
            "-test-linux-reftest"
        ]
    );
    assert_eq!(p.components, ["docs"]);
    let reason = |n: &str| p.decision(n).unwrap().reason.clone();
    assert_eq!(
        reason("docs"),
        "schedules: docs affected (by docs/index.md)"
    );
    assert_eq!(reason("build-linux"), "schedules: none of linux affected");
    assert_eq!(
        reason("never"),
        "schedules: an empty list never keeps a task"
    );
    assert_eq!(reason("plain"), "no strategy: always runs");
    assert_eq!(reason("nightly-audit"), "always");
    assert_eq!(
        reason("docs-or-py"),
        "any: changed: docs/index.md matches `docs/**`"
    );
    assert_eq!(
        reason("lint-py"),
        "changed: no changed file matches **/*.py, !third_party/**"
    );
}

#[test]
fn strategies_decide_for_a_python_change_and_needs_pull_dependencies() {
    let repo = repo_with_tasks();
    let config = repo.config();
    let p = plan(&config, &["tools/a.py"], &PlanOptions::default());
    assert_eq!(
        outcome(&p),
        [
            "build-linux",
            "build-macosx",
            "-docs",
            "docs-or-py",
            "lint-py",
            "-never",
            "nightly-audit",
            "plain",
            "py-not-docs",
            "test-linux-reftest"
        ]
    );
    let reason = |n: &str| p.decision(n).unwrap().reason.clone();
    assert_eq!(reason("build-linux"), "needed by test-linux-reftest");
    assert_eq!(
        reason("py-not-docs"),
        "all: schedules: py-lint affected (by tools/a.py); not: schedules: none of docs affected"
    );
    assert_eq!(reason("lint-py"), "changed: tools/a.py matches `**/*.py`");
}

#[test]
fn negation_in_changed_patterns() {
    let repo = repo_with_tasks();
    let config = repo.config();
    let p = plan(&config, &["third_party/x.py"], &PlanOptions::default());
    assert!(!p.decision("lint-py").unwrap().run);
    assert!(!p.decision("py-not-docs").unwrap().run);
}

#[test]
fn empty_change_skips_schedules_tasks() {
    let repo = repo_with_tasks();
    let config = repo.config();
    let p = plan(&config, &[], &PlanOptions::default());
    assert_eq!(
        p.kept().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["nightly-audit", "plain"]
    );
}

#[test]
fn target_narrows_requests_but_keeps_needed_dependencies() {
    let repo = repo_with_tasks();
    let config = repo.config();
    let options = PlanOptions {
        targets: vec![NameGlob::new("test-*").unwrap()],
        all: false,
        push: None,
        shadow: false,
    };
    let p = plan(&config, &["dom/a.cpp"], &options);
    assert_eq!(
        p.kept().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["build-linux", "test-linux-reftest"]
    );
    assert_eq!(
        p.decision("nightly-audit").unwrap().reason,
        "not requested (--target)"
    );
    assert_eq!(
        p.decision("build-linux").unwrap().reason,
        "needed by test-linux-reftest"
    );

    // A requested dependent that is skipped does not keep its non-requested dependency.
    let p = plan(&config, &["docs/a.md"], &options);
    assert_eq!(p.kept().count(), 0);
    assert_eq!(
        p.decision("build-linux").unwrap().reason,
        "not requested (--target), and no kept task needs it"
    );
}

#[test]
fn unknown_target_is_an_error_with_suggestion() {
    let repo = repo_with_tasks();
    let config = repo.config();
    let options = PlanOptions {
        targets: vec![NameGlob::new("build-linx").unwrap()],
        all: false,
        push: None,
        shadow: false,
    };
    let change = Change::from_path_list("a");
    match Planner::new(&config).plan(change, &options) {
        Err(crate::PlanError::UnknownTarget {
            pattern,
            suggestion,
        }) => {
            assert_eq!(pattern, "build-linx");
            assert_eq!(suggestion.as_deref(), Some("build-linux"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn all_and_schedule_all_keep_everything_with_reason() {
    let repo = repo_with_tasks();
    let config = repo.config();
    let p = plan(
        &config,
        &[],
        &PlanOptions {
            targets: vec![],
            all: true,
            push: None,
            shadow: false,
        },
    );
    assert!(
        p.tasks
            .iter()
            .all(|d| d.run && d.reason == "--all: every task runs")
    );

    let mut change = Change::from_path_list("");
    change.origin.schedule_all_reason =
        Some("base abc not in this shallow clone (fetch more history)".into());
    let p = Planner::new(&config)
        .plan(change, &PlanOptions::default())
        .unwrap();
    assert!(
        p.tasks
            .iter()
            .all(|d| d.run && d.reason.starts_with("base abc not in this shallow clone"))
    );
}

#[test]
fn a_chain_of_needs_is_kept_transitively_in_any_definition_order() {
    let repo = Repo::new(&[(
        "sift.toml",
        r#"
[components]
exclusive = ["x"]
inclusive = ["special"]

[[rules]]
files = ["special/**"]
exclusive = ["special"]

[tasks.c]
schedules = ["special"]
needs = ["b"]
[tasks.a]
schedules = ["x"]
[tasks.b]
schedules = ["x"]
needs = ["a"]
[tasks.d]
schedules = ["x"]
needs = ["c", "a"]
"#,
    )]);
    let config = repo.config();
    let p = plan(&config, &["special/file"], &PlanOptions::default());
    assert_eq!(outcome(&p), ["a", "b", "c", "-d"]);
    assert_eq!(p.decision("a").unwrap().reason, "needed by b");
    let p = plan(&config, &["src/file"], &PlanOptions::default());
    assert_eq!(
        outcome(&p),
        ["a", "b", "c", "d"],
        "d is kept and needs c, whose strategy would skip it"
    );
    assert_eq!(p.decision("c").unwrap().reason, "needed by d");
    assert_eq!(p.decision("a").unwrap().reason, "needed by b and 1 more");
}

#[test]
fn renamed_and_deleted_paths_count() {
    let repo = repo_with_tasks();
    let config = repo.config();
    let change = Change::new(
        crate::ChangeOrigin::default(),
        vec![crate::ChangedFile::renamed(
            "docs/old.md",
            "widget/cocoa/new.mm",
        )],
    );
    let p = Planner::new(&config)
        .plan(change, &PlanOptions::default())
        .unwrap();
    assert_eq!(p.components, ["docs", "macosx"]);
}

#[test]
fn include_files_add_tasks() {
    let repo = Repo::new(&[
        (
            "sift.toml",
            "include = [\"ci/tasks/*.toml\"]\n[components]\nexclusive = [\"x\"]\n[tasks.root]\n",
        ),
        (
            "ci/tasks/a.toml",
            "[tasks.from-a]\nschedules = [\"x\"]\nneeds = [\"from-b\"]\n",
        ),
        ("ci/tasks/b.toml", "[tasks.from-b]\n"),
        ("ci/tasks/notes.txt", "not toml"),
    ]);
    let config = repo.config();
    let names: Vec<&str> = config.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["from-a", "from-b", "root"]);
    assert_eq!(
        config.task("from-a").unwrap().location(),
        "ci/tasks/a.toml:1"
    );
}

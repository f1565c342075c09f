use super::*;

#[test]
fn why_shows_files_rules_components_and_strategy() {
    let repo = feature_repo();
    let run = repo.sift_stdin(&["why", "lint-py", "--files-from", "-"], "tools/a.py\n");
    insta::assert_snapshot!("why_changed", run.ok());
    let run = repo.sift_stdin(
        &["why", "build-macosx", "--files-from", "-"],
        "widget/cocoa/x.mm\nwidget/gtk/y.cpp\n",
    );
    insta::assert_snapshot!("why_schedules", run.ok());
}

#[test]
fn why_follows_dependents() {
    let repo = feature_repo();
    let run = repo.sift_stdin(
        &[
            "why",
            "build-linux",
            "--files-from",
            "-",
            "--target",
            "test-*",
        ],
        "widget/gtk/y.cpp\n",
    );
    let out = run.ok();
    assert!(out.contains("build-linux: runs"), "{out}");
    assert!(
        out.contains("reason: needed by test-linux-reftest"),
        "{out}"
    );
    assert!(
        out.contains(
            "test-linux-reftest: schedules: linux, reftest affected (by widget/gtk/y.cpp)"
        ),
        "{out}"
    );
}

#[test]
fn why_shows_the_nearest_self_kept_dependents_own_chain() {
    let repo = TestRepo::plain();
    repo.write(
        "sift.toml",
        r#"[components]
exclusive = ["linux", "macosx"]

[[rules]]
files = ["kernel/**"]
exclusive = ["linux"]

[tasks.toolchain]
schedules = ["macosx"]

[tasks.build-linux]
schedules = ["macosx"]
needs = ["toolchain"]

[tasks.test-linux]
schedules = ["linux"]
needs = ["build-linux"]
"#,
    );
    let run = repo.sift_stdin(&["why", "toolchain", "--files-from", "-"], "kernel/a.c\n");
    let out = run.ok();
    assert!(out.contains("reason: needed by build-linux"), "{out}");
    assert!(
        out.contains(
            "  nearest dependent kept by its own decision: test-linux (through build-linux)\n    schedules = [\"linux\"] → keep: schedules: linux affected (by kernel/a.c)\n      component `linux` affected by:\n        kernel/a.c\n          sift.toml:4 `kernel/**` → exclusive includes linux\n"
        ),
        "{out}"
    );
}

#[test]
fn why_unknown_task() {
    let repo = feature_repo();
    let run = repo.sift_stdin(&["why", "lint-pyy", "--files-from", "-"], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no task named `lint-pyy`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `lint-py`?"),
        "{}",
        run.stderr
    );
}

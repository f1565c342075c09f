use super::*;

#[test]
fn check_passes_a_clean_repository() {
    let repo = feature_repo();
    repo.write(
        "widget/sift.toml",
        "[[rules]]\nfiles = [\"gtk/**\"]\nexclusive = [\"linux\"]\n",
    );
    repo.commit("nested");
    let run = repo.sift(&["check"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Every pattern matches a tracked file; `mochitest`, `windows` and
    // `py-lint` (lint-py uses `changed`, not `schedules`) serve no task.
    assert!(
        run.stderr
            .contains("component `mochitest` is not used by any task"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("component `windows` is not used by any task"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("component `py-lint` is not used by any task"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("checked 2 rule file(s): 0 error(s), 3 warning(s)"),
        "{}",
        run.stderr
    );
    let run = repo.sift(&["check", "--deny-warnings"]);
    assert_eq!(run.code, 3);
}

#[test]
fn check_reports_every_error_in_every_file() {
    let repo = feature_repo();
    repo.write(
        "a/sift.toml",
        "[[rules]]\nfiles = [\"[\"]\ninclusive = [\"py-lint\"]\n",
    )
    .write(
        "b/c/sift.toml",
        "[[rules]]\nfiles = [\"x\"]\nexclusive = [\"nope\"]\n",
    )
    .write("ignored/sift.toml", "garbage [[[")
    .write(".gitignore", "ignored/\n");
    repo.commit("bad rules");
    let run = repo.sift(&["check"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("╭─[a/sift.toml:2:10]"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("invalid pattern `[`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("╭─[b/c/sift.toml:3:14]"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("ignored/sift.toml"),
        "gitignored files are not walked: {}",
        run.stderr
    );
    assert!(run.stderr.contains("2 error(s)"), "{}", run.stderr);
}

#[test]
fn check_warns_about_dead_patterns() {
    let repo = feature_repo();
    repo.write(
        "sift.toml",
        &CONFIG.replace("widget/cocoa/**", "widget/cocoaa/**"),
    );
    repo.commit("typo");
    let run = repo.sift(&["check"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("pattern `widget/cocoaa/**` matches no tracked file"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("╭─[sift.toml:"), "{}", run.stderr);
}

//! Change detection through the CLI, in real repositories.

use super::*;

fn changed(plan: &serde_json::Value) -> Vec<String> {
    plan["changed_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| match f.get("from") {
            Some(from) => format!(
                "{} {} <- {}",
                f["status"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                from.as_str().unwrap()
            ),
            None => format!(
                "{} {}",
                f["status"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            ),
        })
        .collect()
}

#[test]
fn added_modified_deleted_and_renamed() {
    let repo = feature_repo();
    repo.write("widget/gtk/b.cpp", "changed")
        .write("new/file.txt", "n")
        .remove("tools/x.py");
    std::fs::rename(
        repo.path().join("docs/index.md"),
        repo.path().join("widget/cocoa/index.md"),
    )
    .unwrap();
    repo.commit("all kinds");
    let plan = repo
        .sift(&["plan", "--base", "main", "--format", "json"])
        .json();
    assert_eq!(
        changed(&plan),
        [
            "added new/file.txt",
            "deleted tools/x.py",
            "renamed widget/cocoa/index.md <- docs/index.md",
            "modified widget/gtk/b.cpp"
        ]
    );
    // The rename's old path (docs/) counts: docs is scheduled. The deleted .py counts too.
    let kept = kept(&plan);
    assert!(kept.contains(&"docs".to_string()), "{kept:?}");
    assert!(kept.contains(&"lint-py".to_string()), "{kept:?}");
}

#[test]
fn typechange_counts() {
    let repo = feature_repo();
    repo.remove("widget/gtk/b.cpp");
    std::os::unix::fs::symlink("../cocoa/a.mm", repo.path().join("widget/gtk/b.cpp")).unwrap();
    repo.commit("symlink");
    let plan = repo
        .sift(&["plan", "--base", "main", "--format", "json"])
        .json();
    assert_eq!(changed(&plan), ["typechange widget/gtk/b.cpp"]);
}

#[test]
fn merge_base_excludes_changes_on_the_base_branch() {
    let repo = feature_repo();
    repo.write("docs/feature.md", "f");
    repo.commit("feature work");
    repo.git_ok(&["checkout", "-q", "main"]);
    repo.write("widget/cocoa/main-only.mm", "m");
    repo.commit("main moves on");
    repo.git_ok(&["checkout", "-q", "feature"]);
    let plan = repo
        .sift(&["plan", "--base", "main", "--format", "json"])
        .json();
    assert_eq!(changed(&plan), ["added docs/feature.md"]);
}

#[test]
fn default_base_is_the_remote_default_branch() {
    let upstream = feature_repo();
    upstream.git_ok(&["checkout", "-q", "main"]);
    let clone_parent = TestRepo::plain();
    let url = format!("file://{}", upstream.path().display());
    let run = upstream.git_in(clone_parent.path(), &["clone", "-q", &url, "clone"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let clone = clone_parent.path().join("clone");
    upstream.git_in(&clone, &["checkout", "-q", "-b", "topic"]);
    std::fs::write(clone.join("docs/topic.md"), "t").unwrap();
    upstream.git_in(&clone, &["add", "-A"]);
    upstream.git_in(&clone, &["commit", "-q", "-m", "topic"]);
    let run = upstream.sift_in(&clone, &["plan", "--format", "json"], None);
    assert!(
        run.stderr.contains("(merge-base of origin/main and HEAD)"),
        "{}",
        run.stderr
    );
    assert_eq!(changed(&run.json()), ["added docs/topic.md"]);
}

#[test]
fn default_base_falls_back_to_main() {
    let repo = feature_repo();
    repo.write("docs/x.md", "x");
    repo.commit("x");
    let run = repo.sift(&["plan", "--format", "json"]);
    assert!(
        run.stderr.contains("(merge-base of main and HEAD)"),
        "{}",
        run.stderr
    );
    assert_eq!(changed(&run.json()), ["added docs/x.md"]);
}

#[test]
fn uncommitted_adds_staged_unstaged_and_untracked_but_not_ignored() {
    let repo = feature_repo();
    repo.write(".gitignore", "*.log\n");
    repo.commit("ignore logs");
    repo.write("staged.txt", "s");
    repo.git_ok(&["add", "staged.txt"]);
    repo.write("tools/x.py", "unstaged edit")
        .write("untracked.md", "u")
        .write("build.log", "ignored");
    let plan = repo
        .sift(&[
            "plan",
            "--base",
            "main",
            "--uncommitted",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(
        changed(&plan),
        [
            "added .gitignore",
            "added staged.txt",
            "modified tools/x.py",
            "added untracked.md"
        ]
    );
    // Without the flag only the commit counts.
    let plan = repo
        .sift(&["plan", "--base", "main", "--format", "json"])
        .json();
    assert_eq!(changed(&plan), ["added .gitignore"]);
}

#[test]
fn shallow_clone_without_the_base_schedules_everything() {
    let upstream = feature_repo();
    let old = upstream.git_ok(&["rev-parse", "HEAD"]);
    for i in 0..3 {
        upstream.write("docs/index.md", &format!("v{i}"));
        upstream.commit(&format!("c{i}"));
    }
    let parent = TestRepo::plain();
    let url = format!("file://{}", upstream.path().display());
    let run = upstream.git_in(
        parent.path(),
        &[
            "clone", "-q", "--depth", "1", "--branch", "feature", &url, "shallow",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let shallow = parent.path().join("shallow");

    let run = upstream.sift_in(
        &shallow,
        &["plan", "--base", &old, "--format", "json"],
        None,
    );
    let plan = run.json();
    assert_eq!(kept(&plan).len(), 6, "every task is scheduled");
    let reason = format!("base {old} not in this shallow clone (fetch more history)");
    assert!(
        plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["reason"] == reason.as_str()),
        "{plan}"
    );
    assert!(run.stderr.contains("warning:"), "{}", run.stderr);

    let run = upstream.sift_in(&shallow, &["plan", "--base", &old, "--strict-base"], None);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
}

#[test]
fn unknown_revision_and_not_a_repository() {
    let repo = feature_repo();
    let run = repo.sift(&["plan", "--base", "no-such-branch"]);
    assert_eq!(run.code, 4);
    assert!(run.stderr.contains("no-such-branch"), "{}", run.stderr);

    let plain = TestRepo::plain();
    plain.write("sift.toml", CONFIG);
    let run = plain.sift(&["plan"]);
    assert_eq!(run.code, 4);
    assert!(
        run.stderr.contains("--files-from"),
        "the hint names the alternative: {}",
        run.stderr
    );
}

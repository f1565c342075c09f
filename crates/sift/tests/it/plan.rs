use super::*;

#[test]
fn json_plan_snapshot() {
    let repo = feature_repo();
    repo.write("widget/cocoa/a.mm", "changed")
        .write("tools/new.py", "new");
    repo.commit("change");
    let run = repo.sift(&["plan", "--base", "main", "--format", "json"]);
    let plan = run.json();
    // The raw output, so the snapshot pins key order too; shas are redacted.
    let text = run
        .stdout
        .replace(plan["base"].as_str().unwrap(), "<base sha>")
        .replace(plan["head"].as_str().unwrap(), "<head sha>");
    insta::assert_snapshot!("json_plan", text);
    assert!(
        run.stderr.contains("note: base "),
        "the base is always printed: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(merge-base of main and HEAD)"),
        "{}",
        run.stderr
    );
}

#[test]
fn json_has_real_shas() {
    let repo = feature_repo();
    let base = repo.git_ok(&["rev-parse", "main"]);
    repo.write("docs/index.md", "v2");
    let head = repo.commit("docs");
    let plan = repo
        .sift(&["plan", "--base", "main", "--format", "json"])
        .json();
    assert_eq!(plan["base"], base.as_str());
    assert_eq!(plan["head"], head.as_str());
    assert_eq!(plan["format_version"], 1);
    assert_eq!(kept(&plan), ["docs", "nightly-audit"]);
}

#[test]
fn text_plan_lists_kept_then_skipped_with_reasons() {
    let repo = feature_repo();
    let run = repo.sift_stdin(&["plan", "--files-from", "-"], "widget/gtk/b.cpp\n");
    insta::assert_snapshot!("text_plan", run.ok());
}

#[test]
fn github_format_appends_outputs() {
    let repo = feature_repo();
    let out = repo.path().join("gh-output");
    std::fs::write(&out, "existing=1\n").unwrap();
    let run = repo.sift_env(
        repo.path(),
        &["plan", "--files-from", "-", "--format", "github"],
        Some("docs/a.md\n"),
        &[("GITHUB_OUTPUT", out.to_str().unwrap())],
    );
    let lines = "matrix=[\"docs\",\"nightly-audit\"]\nany=true\ntasks=[{\"name\":\"docs\",\"command\":null,\"needs\":[]},{\"name\":\"nightly-audit\",\"command\":null,\"needs\":[]}]\n";
    assert_eq!(run.ok(), lines);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("existing=1\n{lines}")
    );

    let run = repo.sift_env(
        repo.path(),
        &[
            "plan",
            "--files-from",
            "-",
            "--format",
            "github",
            "--target",
            "build-*",
        ],
        Some("docs/a.md\n"),
        &[],
    );
    assert_eq!(run.ok(), "matrix=[]\nany=false\ntasks=[]\n");
    assert!(
        run.stderr.contains("$GITHUB_OUTPUT is not set"),
        "{}",
        run.stderr
    );
}

#[test]
fn target_and_all() {
    let repo = feature_repo();
    let plan = repo
        .sift_stdin(
            &[
                "plan",
                "--files-from",
                "-",
                "--format",
                "json",
                "--target",
                "test-*",
            ],
            "a.cpp\n",
        )
        .json();
    assert_eq!(kept(&plan), ["build-linux", "test-linux-reftest"]);
    let audit = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "nightly-audit")
        .unwrap();
    assert_eq!(audit["reason"], "not requested (--target)");

    let plan = repo
        .sift_stdin(
            &["plan", "--files-from", "-", "--format", "json", "--all"],
            "",
        )
        .json();
    assert_eq!(kept(&plan).len(), 6);
    assert!(
        plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["reason"] == "--all: every task runs")
    );

    let run = repo.sift_stdin(
        &["plan", "--files-from", "-", "--target", "biuld-linux"],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("--target `biuld-linux` matches no task"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: did you mean `build-linux`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn files_from_a_file_with_absolute_paths() {
    let repo = TestRepo::plain();
    repo.write("sift.toml", CONFIG);
    let root = repo.path().canonicalize().unwrap();
    let list = repo.path().join("changed.txt");
    std::fs::write(&list, format!("{}/docs/x.md\n\n", root.display())).unwrap();
    let plan = repo
        .sift(&[
            "plan",
            "--files-from",
            list.to_str().unwrap(),
            "--format",
            "json",
        ])
        .json();
    assert_eq!(plan["changed_files"][0]["path"], "docs/x.md");
    assert_eq!(plan["base"], serde_json::Value::Null);
    assert_eq!(kept(&plan), ["docs", "nightly-audit"]);
}

#[test]
fn config_errors_exit_3_with_location_and_hint() {
    let repo = TestRepo::plain();
    repo.write(
        "sift.toml",
        "[components]\nexclusive = [\"linux\"]\n[tasks.a]\nschedules = [\"linx\"]\n",
    );
    let run = repo.sift_stdin(&["plan", "--files-from", "-"], "");
    assert_eq!(run.code, 3);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("× unknown component `linx`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("╭─[sift.toml:4:14]"), "{}", run.stderr);
    assert!(
        run.stderr.contains("help: did you mean `linux`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn broken_nested_rule_file_on_a_changed_path_fails_the_plan() {
    let repo = feature_repo();
    repo.write(
        "widget/sift.toml",
        "[[rules]]\nfiles = [\"gtk/**\"]\nexclusive = [\"gtk\"]\n",
    );
    let run = repo.sift_stdin(&["plan", "--files-from", "-"], "widget/gtk/b.cpp\n");
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("╭─[widget/sift.toml:3:14]"),
        "{}",
        run.stderr
    );
    // A change elsewhere never reads it.
    repo.sift_stdin(&["plan", "--files-from", "-"], "docs/a.md\n")
        .ok();
}

#[test]
fn missing_config_is_explained() {
    let repo = TestRepo::plain();
    let run = repo.sift_stdin(&["plan", "--files-from", "-"], "");
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("error: no sift.toml at"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: create a sift.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn nested_rule_files_and_includes_through_the_cli() {
    let repo = TestRepo::plain();
    repo.write("sift.toml", &format!("include = [\"ci/*.toml\"]\n{CONFIG}"))
        .write(
            "ci/extra.toml",
            "[tasks.mobile-tests]\nschedules = [\"mochitest\"]\nneeds = [\"build-linux\"]\n",
        )
        .write(
            "mobile/sift.toml",
            "[[rules]]\nfiles = [\"**\"]\nexclusive = [\"mochitest\"]\n",
        );
    let plan = repo
        .sift_stdin(
            &["plan", "--files-from", "-", "--format", "json"],
            "mobile/app/x.java\n",
        )
        .json();
    assert_eq!(plan["components"], serde_json::json!(["mochitest"]));
    assert_eq!(
        kept(&plan),
        ["build-linux", "mobile-tests", "nightly-audit"]
    );
}

//! `sift verdict` on a real plan: all passed, one failed, one skipped by the
//! plan, a task missing from the results, GitHub's `needs` context, bad input.

use super::*;

/// The plan for a docs change: `docs` and `nightly-audit` kept, the rest skipped.
fn plan_file(repo: &TestRepo) -> PathBuf {
    let run = repo.sift_stdin(
        &["plan", "--files-from", "-", "--format", "json"],
        "docs/a.md\n",
    );
    let path = repo.path().join("plan.json");
    std::fs::write(&path, run.ok()).unwrap();
    path
}

fn report(repo: &TestRepo, entries: &[(&str, &str)]) -> PathBuf {
    let tasks: Vec<_> = entries
        .iter()
        .map(|(name, result)| serde_json::json!({"name": name, "result": result}))
        .collect();
    let path = repo.path().join("report.json");
    std::fs::write(&path, serde_json::json!({ "tasks": tasks }).to_string()).unwrap();
    path
}

fn verdict(repo: &TestRepo, plan: &Path, flag: &str, results: &Path) -> Run {
    repo.sift(&[
        "verdict",
        "--plan",
        plan.to_str().unwrap(),
        flag,
        results.to_str().unwrap(),
    ])
}

fn repo() -> TestRepo {
    let repo = TestRepo::plain();
    repo.write("sift.toml", CONFIG);
    repo
}

#[test]
fn all_passed() {
    let repo = repo();
    let plan = plan_file(&repo);
    let results = report(&repo, &[("docs", "success"), ("nightly-audit", "success")]);
    let run = verdict(&repo, &plan, "--report", &results);
    assert_eq!(
        run.ok(),
        "verdict: passed: 2 kept task(s) succeeded, 4 skipped by the plan\n"
    );
}

#[test]
fn one_failed() {
    let repo = repo();
    let plan = plan_file(&repo);
    let results = report(&repo, &[("docs", "failure"), ("nightly-audit", "success")]);
    let run = verdict(&repo, &plan, "--report", &results);
    assert_eq!(run.code, 13, "{run:?}");
    assert_eq!(
        run.stdout,
        "task `docs`: failure\nverdict: failed: 1 problem(s) among 2 kept task(s)\n"
    );
}

#[test]
fn one_skipped_by_plan() {
    let repo = repo();
    let plan = plan_file(&repo);
    // `lint-py` was skipped by the plan: no result needed, and a result does not count.
    let results = report(
        &repo,
        &[
            ("docs", "success"),
            ("nightly-audit", "success"),
            ("lint-py", "failure"),
        ],
    );
    let run = verdict(&repo, &plan, "--report", &results);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("task `lint-py`: failure, but the plan skipped it, so it does not count"),
        "{}",
        run.stdout
    );
}

#[test]
fn task_missing_from_results() {
    let repo = repo();
    let plan = plan_file(&repo);
    let results = report(&repo, &[("docs", "success")]);
    let run = verdict(&repo, &plan, "--report", &results);
    assert_eq!(run.code, 13, "{run:?}");
    assert!(
        run.stdout.starts_with(
            "task `nightly-audit`: no result (the plan kept it, but it did not run)\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn github_needs_context() {
    let repo = repo();
    let plan = plan_file(&repo);
    let needs = repo.path().join("needs.json");
    std::fs::write(
        &needs,
        r#"{"plan": {"result": "success", "outputs": {"any": "true"}}, "run": {"result": "failure", "outputs": {}}}"#,
    )
    .unwrap();
    let run = verdict(&repo, &plan, "--needs", &needs);
    assert_eq!(run.code, 13, "{run:?}");
    assert!(
        run.stdout.starts_with("job `run`: failure\n"),
        "{}",
        run.stdout
    );

    std::fs::write(
        &needs,
        r#"{"plan": {"result": "success", "outputs": {}}, "run": {"result": "success", "outputs": {}}}"#,
    )
    .unwrap();
    verdict(&repo, &plan, "--needs", &needs).ok();
}

#[test]
fn malformed_input_exits_11_naming_the_file() {
    let repo = repo();
    let plan = plan_file(&repo);
    let bad = repo.path().join("bad.json");
    std::fs::write(&bad, "{\"tasks\": 3}").unwrap();
    let run = verdict(&repo, &plan, "--report", &bad);
    assert_eq!(run.code, 11, "{run:?}");
    assert!(run.stderr.contains("bad.json"), "{}", run.stderr);
    let run = verdict(&repo, &bad, "--report", &bad);
    assert_eq!(run.code, 11, "{run:?}");
    assert!(
        run.stderr
            .contains("is not a `sift plan --format json` document"),
        "{}",
        run.stderr
    );
    let run = repo.sift(&["verdict", "--plan", plan.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run:?}");
}

//! `--summary`: the Markdown job summary with each CI's environment set:
//! GitHub's summary file, Azure's logging command, a fake `buildkite-agent`
//! on `PATH` that records its arguments and input, and a plain FILE.

use super::*;

fn summary_repo() -> TestRepo {
    let repo = TestRepo::plain();
    repo.write(
        "sift.toml",
        "[components]\nexclusive = [\"docs\"]\n[[rules]]\nfiles = [\"docs/**\"]\nexclusive = [\"docs\"]\n\
         [tasks.docs]\nschedules = [\"docs\"]\nrun = \"make docs\"\n\
         [tasks.build]\nchanged = [\"src/**\"]\nrun = \"make\"\n",
    );
    repo
}

fn plan_summary(repo: &TestRepo, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec!["plan", "--files-from", "-"];
    args.extend_from_slice(extra);
    repo.sift_env(repo.path(), &args, Some("docs/a.md\n"), env)
}

fn assert_plan_markdown(text: &str) {
    assert!(
        text.starts_with("### sift plan: 1 of 2 tasks run\n"),
        "{text}"
    );
    assert!(text.contains("Components: `docs`."), "{text}");
    assert!(
        text.contains("| `docs` | run | schedules: docs affected (by docs/a.md) |"),
        "{text}"
    );
    assert!(text.contains("| `build` | skip |"), "{text}");
}

#[test]
fn github_appends_to_the_step_summary() {
    let repo = summary_repo();
    let summary = repo.path().join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let run = plan_summary(
        &repo,
        &["--summary", "--format", "json"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    run.json();
    let text = std::fs::read_to_string(&summary).unwrap();
    let ours = text.strip_prefix("earlier step\n").expect("appended");
    assert_plan_markdown(ours);
    assert!(!run.stderr.contains("no CI detected"), "{}", run.stderr);
}

#[test]
fn azure_uploads_the_summary_with_a_logging_command() {
    let repo = summary_repo();
    let temp = tempfile::tempdir().unwrap();
    let env = [
        ("TF_BUILD", "True"),
        ("AGENT_TEMPDIRECTORY", temp.path().to_str().unwrap()),
    ];
    let run = plan_summary(&repo, &["--summary"], &env);
    let expected = temp.path().join("sift-plan-summary.md");
    let line = format!("##vso[task.uploadsummary]{}\n", expected.display());
    assert!(run.ok().ends_with(&line), "{}", run.stdout);
    assert_plan_markdown(&std::fs::read_to_string(&expected).unwrap());

    // With data on stdout the command goes to stderr, and the data stays valid.
    let run = plan_summary(&repo, &["--summary", "--format", "json"], &env);
    run.json();
    assert!(run.stderr.contains(&line), "{}", run.stderr);

    // A FILE given is the one uploaded.
    let run = plan_summary(&repo, &["--format", "azure", "--summary", "mine.md"], &env);
    let mine = repo.path().join("mine.md");
    assert!(
        run.ok().contains(&format!(
            "##vso[task.uploadsummary]{}\n",
            std::path::absolute(&mine).unwrap().display()
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .starts_with("##vso[task.setvariable variable=matrix;isOutput=true]")
    );
    assert_plan_markdown(&std::fs::read_to_string(&mine).unwrap());
}

/// A `buildkite-agent` that records its arguments and stdin.
fn fake_buildkite_agent(dir: &Path, exit: i32) -> String {
    let script = dir.join("buildkite-agent");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"{0}/args\"\ncat > \"{0}/stdin\"\nexit {exit}\n",
            dir.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn buildkite_annotates_with_the_agent() {
    let repo = summary_repo();
    let bin = tempfile::tempdir().unwrap();
    let path = fake_buildkite_agent(bin.path(), 0);
    let run = plan_summary(
        &repo,
        &["--summary"],
        &[("BUILDKITE", "true"), ("PATH", &path)],
    );
    run.ok();
    assert_eq!(
        std::fs::read_to_string(bin.path().join("args")).unwrap(),
        "annotate\n--style\ninfo\n--context\nsift-plan\n"
    );
    assert_plan_markdown(&std::fs::read_to_string(bin.path().join("stdin")).unwrap());
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);

    // A failing agent is a warning, not a failed plan.
    let failing = tempfile::tempdir().unwrap();
    let path = fake_buildkite_agent(failing.path(), 3);
    let run = plan_summary(
        &repo,
        &["--summary"],
        &[("BUILDKITE", "true"), ("PATH", &path)],
    );
    run.ok();
    assert!(
        run.stderr.contains(
            "no Buildkite annotation: buildkite-agent annotate exited with exit status: 3"
        ),
        "{}",
        run.stderr
    );

    // Without the agent on PATH: a warning says so.
    let empty = tempfile::tempdir().unwrap();
    let run = plan_summary(
        &repo,
        &["--summary"],
        &[
            ("BUILDKITE", "true"),
            ("PATH", empty.path().to_str().unwrap()),
        ],
    );
    run.ok();
    assert!(
        run.stderr.contains("buildkite-agent is not on PATH"),
        "{}",
        run.stderr
    );
}

#[test]
fn without_a_ci_the_summary_goes_to_the_file_given() {
    let repo = summary_repo();
    let run = plan_summary(&repo, &["--summary", "out.md"], &[]);
    run.ok();
    assert_plan_markdown(&std::fs::read_to_string(repo.path().join("out.md")).unwrap());
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);

    let run = plan_summary(&repo, &["--summary"], &[]);
    run.ok();
    assert!(
        run.stderr.contains("--summary: no CI detected"),
        "{}",
        run.stderr
    );
}

#[test]
fn shard_summary_has_a_bar_per_shard() {
    let repo = TestRepo::plain();
    repo.write("times.json", r#"{"a.py": 100, "b.py": 60, "c.py": 40}"#);
    let summary = repo.path().join("step-summary.md");
    let run = repo.sift_env(
        repo.path(),
        &[
            "shard",
            "--shards",
            "2",
            "--times",
            "times.json",
            "--summary",
        ],
        None,
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    run.ok();
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("### sift shard: 2 shard(s), slowest 100.0 s\n"),
        "{text}"
    );
    assert!(
        text.contains("| 1 | 100.0 s | 1 | `████████████████████` |"),
        "{text}"
    );
    assert!(
        text.contains("| 2 | 100.0 s | 2 | `████████████████████` |"),
        "{text}"
    );
}

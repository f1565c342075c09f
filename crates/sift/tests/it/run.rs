//! `sift run`: tasks really run, in real git repositories.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Run, TestRepo};

/// A repository with `config` as sift.toml, committed.
fn repo(config: &str) -> TestRepo {
    let repo = TestRepo::git();
    repo.write("sift.toml", config).write("src/a.txt", "a");
    repo.commit("initial");
    repo
}

fn read(repo: &TestRepo, path: &str) -> String {
    std::fs::read_to_string(repo.path().join(path)).unwrap_or_default()
}

fn lines(repo: &TestRepo, path: &str) -> Vec<String> {
    read(repo, path).lines().map(str::to_owned).collect()
}

fn task<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name} in {report:#}"))
}

fn json(run: &Run) -> serde_json::Value {
    run.json_any()
}

#[test]
fn needs_run_first_and_the_environment_is_set() {
    let repo = TestRepo::git();
    repo.write(
        "sift.toml",
        r#"
[tasks.build]
run = "echo $SIFT_TASK >> order.txt"

[tasks.test]
needs = ["build"]
cwd = "sub"
env = { GREETING = "hello world" }
run = '''echo $SIFT_TASK >> ../order.txt
printf '%s\n' "$SIFT_BASE" "$SIFT_HEAD" "$SIFT_TASK" "$GREETING" "$(pwd)" > ../env.txt
cp "$SIFT_CHANGED_FILES" ../changed.txt'''
"#,
    )
    .write("sub/keep", "")
    .write(
        "old.txt",
        "some content that stays the same\n".repeat(5).as_str(),
    );
    let base = repo.commit("initial");
    repo.git_ok(&["mv", "old.txt", "new.txt"]);
    repo.write("other.txt", "x");
    let head = repo.commit("rename");
    let run = repo.sift(&[
        "run", "--base", "HEAD~1", "--all", "-j", "4", "--format", "json",
    ]);
    let report = json(&run);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(lines(&repo, "order.txt"), ["build", "test"]);
    let env = lines(&repo, "env.txt");
    assert_eq!(env[0], base);
    assert_eq!(env[1], head);
    assert_eq!(env[2], "test");
    assert_eq!(env[3], "hello world");
    assert!(env[4].ends_with("/sub"), "{env:?}");
    let changed = lines(&repo, "changed.txt");
    for path in ["new.txt", "old.txt", "other.txt"] {
        assert!(changed.contains(&path.to_owned()), "{changed:?}");
    }
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["base"], base.as_str());
    assert_eq!(task(&report, "test")["result"], "succeeded");
    assert_eq!(task(&report, "test")["exit_code"], 0);
    assert!(task(&report, "test")["duration_s"].is_f64());
    assert!(
        task(&report, "test")["started_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}

#[test]
fn tasks_overlap_with_two_slots() {
    // Each task waits until both have started: they pass only in parallel.
    let wait = r#"touch started-$SIFT_TASK; i=0; while [ "$(ls started-* | wc -l)" -lt 2 ]; do sleep 0.05; i=$((i+1)); [ $i -gt 100 ] && exit 1; done; true"#;
    let repo = repo(&format!(
        "[tasks.a]\nrun = '{wait}'\n[tasks.b]\nrun = '{wait}'\n"
    ));
    let run = repo.sift(&["run", "--all", "-j", "2"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // With one slot the first waits for the second forever (its limit).
    std::fs::remove_file(repo.path().join("started-a")).unwrap();
    std::fs::remove_file(repo.path().join("started-b")).unwrap();
    let run = repo.sift(&["run", "--all", "-j", "1"]);
    assert_eq!(run.code, 12, "{}", run.stdout);
}

const FAILING: &str = r#"
[tasks.build]
run = "echo build >> ran.txt; echo 'compile error' >&2; exit 3"

[tasks.test]
needs = ["build"]
run = "echo test >> ran.txt"

[tasks.deploy]
needs = ["test"]
run = "echo deploy >> ran.txt"

[tasks.lint]
run = "echo lint >> ran.txt"
"#;

#[test]
fn a_failure_skips_its_dependents_and_stops_the_run() {
    let repo = repo(FAILING);
    let run = repo.sift(&["run", "--all", "-j", "1", "--format", "json"]);
    assert_eq!(run.code, 12, "{}", run.stderr);
    let report = json(&run);
    assert_eq!(lines(&repo, "ran.txt"), ["build"]);
    assert_eq!(task(&report, "build")["result"], "failed");
    assert_eq!(task(&report, "build")["exit_code"], 3);
    assert_eq!(task(&report, "test")["result"], "skipped");
    assert_eq!(task(&report, "test")["reason"], "needs build, which failed");
    assert_eq!(task(&report, "deploy")["result"], "skipped");
    assert_eq!(task(&report, "lint")["result"], "skipped");
    assert_eq!(report["summary"]["failed"], 1);
    assert_eq!(report["summary"]["skipped"], 3);
    // The failed task's output is shown (on stderr with --format json).
    assert!(run.stderr.contains("compile error"), "{}", run.stderr);
}

#[test]
fn keep_going_runs_what_a_failure_does_not_block() {
    let repo = repo(FAILING);
    let run = repo.sift(&[
        "run",
        "--all",
        "-j",
        "1",
        "--keep-going",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 12);
    let report = json(&run);
    assert_eq!(lines(&repo, "ran.txt"), ["build", "lint"]);
    assert_eq!(task(&report, "lint")["result"], "succeeded");
    assert_eq!(task(&report, "deploy")["result"], "skipped");
    assert_eq!(
        task(&report, "deploy")["reason"],
        "needs test, which was skipped (build failed)"
    );
}

#[test]
fn tasks_without_run_and_tasks_the_plan_skips() {
    let repo = repo(
        r#"
[tasks.gate]
[tasks.after]
needs = ["gate"]
run = "echo after >> ran.txt"
[tasks.docs]
changed = ["docs/**"]
run = "echo docs >> ran.txt"
"#,
    );
    let run = repo.sift(&["run", "--target", "after", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run);
    assert_eq!(task(&report, "gate")["result"], "nothing_to_run");
    assert_eq!(task(&report, "after")["result"], "succeeded");
    assert_eq!(task(&report, "docs")["result"], "not_run");
    assert_eq!(task(&report, "docs")["run"], false);
    assert_eq!(lines(&repo, "ran.txt"), ["after"]);
}

/// Task logs are named by the task's place in the run, so without cleaning
/// they would pile up run after run: a run keeps only its own.
#[test]
fn a_run_keeps_only_its_own_logs() {
    let repo = repo("[tasks.a]\nrun = \"echo a-out\"\n[tasks.b]\nrun = \"echo b-out\"\n");
    repo.sift(&["run", "--all", "--no-record"]).ok();
    let dir = repo.path().join(".sift/run/logs");
    let logs = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        logs().iter().filter(|n| n.ends_with(".log")).count(),
        2,
        "{:?}",
        logs()
    );
    std::fs::write(dir.join("notes.txt"), "not a log").unwrap();
    repo.sift(&["run", "--target", "b", "--no-record"]).ok();
    let after = logs();
    let kept: Vec<&String> = after.iter().filter(|n| n.ends_with(".log")).collect();
    assert_eq!(kept.len(), 1, "{after:?}");
    assert!(
        std::fs::read_to_string(dir.join(kept[0]))
            .unwrap()
            .contains("b-out")
    );
    assert!(after.contains(&"notes.txt".to_owned()), "{after:?}");
}

#[test]
fn a_timeout_kills_the_task() {
    let repo = repo("[tasks.slow]\ntimeout = \"1s\"\nrun = \"sleep 30\"\n");
    let start = Instant::now();
    let run = repo.sift(&["run", "--all", "--grace", "1", "--format", "json"]);
    assert!(start.elapsed() < Duration::from_secs(15));
    assert_eq!(run.code, 12);
    let report = json(&run);
    assert_eq!(task(&report, "slow")["result"], "timed_out");
    assert_eq!(task(&report, "slow")["reason"], "timed out after 1.0s");
}

#[test]
fn an_invalid_timeout_is_a_configuration_error() {
    let repo = repo("[tasks.slow]\ntimeout = \"soon\"\nrun = \"true\"\n");
    let run = repo.sift(&["run", "--all"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("invalid timeout `soon`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("sift.toml:2:11"), "{}", run.stderr);
    let up = self::repo("[tasks.up]\ncwd = \"../elsewhere\"\nrun = \"true\"\n");
    let run = up.sift(&["run", "--all"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("invalid cwd `../elsewhere`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("sift.toml:2:7"), "{}", run.stderr);
}

fn alive(pid: &str) -> bool {
    // A zombie waiting for its parent to reap it is not running.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn sigterm_stops_every_task_and_its_grandchildren() {
    stops_every_task_and_its_grandchildren("TERM", "sleep 300");
}

/// Ctrl-C: SIGINT to sift. Here the grandchild even ignores SIGTERM; it is
/// killed with the rest of its process group once the task's shell exits.
#[test]
fn ctrl_c_stops_every_task_and_its_grandchildren() {
    stops_every_task_and_its_grandchildren("INT", "sh -c 'trap \\\"\\\" TERM; sleep 300'");
}

fn stops_every_task_and_its_grandchildren(signal: &str, grandchild: &str) {
    let repo = repo(&format!(
        r#"
[tasks.server]
run = "{grandchild} & echo $! > grandchild.pid; wait"
[tasks.later]
needs = ["server"]
run = "echo later >> ran.txt"
"#
    ));
    let mut command = Command::new(crate::sift_bin());
    command
        .args(["run", "--all", "--grace", "2", "--format", "json"])
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let pid_file = repo.path().join("grandchild.pid");
    let start = Instant::now();
    while read(&repo, "grandchild.pid").trim().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "task never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let grandchild = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    assert!(alive(&grandchild));
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(task(&report, "server")["result"], "interrupted");
    assert_eq!(task(&report, "later")["result"], "skipped");
    let start = Instant::now();
    while alive(&grandchild) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "grandchild {grandchild} still runs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(read(&repo, "ran.txt").is_empty());
}

#[test]
fn junit_and_json_reports_parse_back() {
    let repo = repo(FAILING);
    let junit = repo.path().join("report.xml");
    let run = repo.sift(&[
        "run",
        "--all",
        "--keep-going",
        "--format",
        "json",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 12);
    let report = json(&run);
    let names: Vec<&str> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["build", "deploy", "lint", "test"], "sorted by name");
    let parsed = sift_core::tests::junit::parse(&std::fs::read_to_string(&junit).unwrap())
        .expect("valid JUnit");
    assert_eq!(parsed.cases.len(), 4);
    let build = parsed.cases.iter().find(|c| c.name == "build").unwrap();
    assert!(build.outcome.failed());
    let lint = parsed.cases.iter().find(|c| c.name == "lint").unwrap();
    assert!(!lint.outcome.failed());
}

#[test]
fn a_task_that_failed_last_time_starts_first() {
    let repo = repo(
        r#"
[tasks.a]
run = "echo a >> order.txt"
[tasks.z]
run = "echo z >> order.txt; test -f fixed"
"#,
    );
    let first = repo.sift(&["run", "--all", "-j", "1", "--keep-going"]);
    assert_eq!(first.code, 12);
    assert_eq!(lines(&repo, "order.txt"), ["a", "z"]);
    let history = repo.sift(&["run", "--history"]);
    assert!(
        history
            .ok()
            .lines()
            .any(|l| l.starts_with("z ") && l.contains("failed")),
        "{}",
        history.stdout
    );
    std::fs::remove_file(repo.path().join("order.txt")).unwrap();
    let dry = repo.sift(&["run", "--all", "-j", "1", "--dry-run"]);
    assert!(dry.ok().contains("z  (failed last time)"), "{}", dry.stdout);
    assert!(
        !repo.path().join("order.txt").exists(),
        "--dry-run runs nothing"
    );
    repo.write("fixed", "");
    let second = repo.sift(&["run", "--all", "-j", "1"]);
    assert_eq!(second.code, 0);
    assert_eq!(lines(&repo, "order.txt"), ["z", "a"]);
    let history = repo.sift(&["run", "--history"]);
    let z = history.ok().lines().find(|l| l.starts_with("z ")).unwrap();
    assert!(z.contains("succeeded"), "{}", history.stdout);
}

#[test]
fn shards_run_every_task_once_with_its_needs() {
    let repo = repo(
        r#"
[tasks.build]
run = "echo build >> ran.txt"
[tasks.test]
needs = ["build"]
run = "test \"$(cat ran.txt)\" != '' && echo test >> ran.txt"
[tasks.lint]
run = "echo lint >> ran.txt"
[tasks.docs]
run = "echo docs >> ran.txt"
[tasks.fmt]
run = "echo fmt >> ran.txt"
"#,
    );
    let mut all: Vec<String> = Vec::new();
    for shard in ["1/2", "2/2"] {
        // Each shard is another machine: same plan, same (here: no) records.
        let _ = std::fs::remove_file(repo.path().join("ran.txt"));
        let _ = std::fs::remove_dir_all(repo.path().join(".sift"));
        let run = repo.sift(&["run", "--all", "--shard", shard, "--format", "json"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let ran = lines(&repo, "ran.txt");
        assert!(!ran.is_empty(), "shard {shard} ran nothing");
        if ran.contains(&"test".to_owned()) {
            assert!(
                ran.contains(&"build".to_owned()),
                "test without build on {shard}"
            );
        }
        let report = json(&run);
        for name in ["build", "test", "lint", "docs", "fmt"] {
            let t = task(&report, name);
            let here = ran.contains(&name.to_owned());
            assert_eq!(t["result"] == "succeeded", here, "{name} on {shard}");
            if !here {
                assert!(t["reason"].as_str().unwrap().starts_with("runs on shard"));
            }
        }
        all.extend(ran);
    }
    all.sort();
    assert_eq!(all, ["build", "docs", "fmt", "lint", "test"]);
    let bad = repo.sift(&["run", "--all", "--shard", "3/2"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn plain_output_without_a_terminal_and_github_groups() {
    let repo = repo(FAILING);
    let run = repo.sift(&["run", "--all", "-j", "1", "--show-output"]);
    assert_eq!(run.code, 12);
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains('\x1b'), "control codes in {text:?}");
        assert!(!text.contains('\r'), "carriage return in {text:?}");
    }
    assert!(
        run.stdout.contains("--- output of build ---"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("compile error"));
    assert!(
        run.stdout.contains("needs build, which failed"),
        "summary table"
    );
    let github = repo.sift_env(
        repo.path(),
        &["run", "--all", "-j", "1"],
        None,
        &[("GITHUB_ACTIONS", "true"), ("CI", "true")],
    );
    assert!(
        github.stdout.contains("::group::build (FAIL)"),
        "{}",
        github.stdout
    );
    assert!(github.stdout.contains("::endgroup::"));
}

#[test]
fn stream_prefixes_each_line() {
    let repo = repo("[tasks.talk]\nrun = \"echo one; echo two; printf three\"\n");
    let run = repo.sift(&["run", "--all", "--stream"]);
    let out = run.ok();
    for line in ["[talk] one", "[talk] two", "[talk] three"] {
        assert!(out.lines().any(|l| l == line), "{line} in {out}");
    }
}

/// `--summary FILE` writes the run's Markdown; its report still verdicts.
#[test]
fn summary_and_verdict_of_a_run() {
    let repo = repo(FAILING);
    let run = repo.sift(&[
        "run",
        "--all",
        "-j",
        "1",
        "--format",
        "json",
        "--summary",
        "summary.md",
    ]);
    assert_eq!(run.code, 12, "{}", run.stderr);
    let summary = read(&repo, "summary.md");
    assert!(
        summary.starts_with("### sift run: 1 task(s) failed"),
        "{summary}"
    );
    assert!(summary.contains("| `build` | failed |"), "{summary}");
    assert!(summary.contains("| `test` | skipped |"), "{summary}");
    std::fs::write(repo.path().join("report.json"), &run.stdout).unwrap();
    let plan = repo.sift(&["plan", "--all", "--format", "json"]);
    std::fs::write(repo.path().join("plan.json"), &plan.stdout).unwrap();
    let verdict = repo.sift(&["verdict", "--plan", "plan.json", "--report", "report.json"]);
    assert_eq!(verdict.code, 13, "{}{}", verdict.stdout, verdict.stderr);
    assert!(
        format!("{}{}", verdict.stdout, verdict.stderr).contains("task `build`: failed"),
        "{}{}",
        verdict.stdout,
        verdict.stderr
    );
}

/// Each task's results on each push, from `sift history --tasks --json`.
fn recorded(repo: &TestRepo, branch: &str) -> Vec<(u64, Vec<(String, String)>)> {
    let history = repo
        .sift(&["history", "--tasks", "--json", "--branch", branch])
        .json();
    history["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let tasks = p["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["name"].as_str().unwrap().to_owned(),
                        t["result"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (p["number"].as_u64().unwrap(), tasks)
        })
        .collect()
}

const TWO_TASKS: &str = r#"
[tasks.a]
run = "echo a >> order.txt; echo $SIFT_BRANCH $SIFT_PUSH > push.txt"
[tasks.z]
run = "echo z >> order.txt; test -f fixed"
"#;

#[test]
fn results_go_to_the_push_history_and_order_the_next_push() {
    let repo = repo(TWO_TASKS);
    let first = repo.sift(&["run", "--all", "-j", "1", "--keep-going"]);
    assert_eq!(first.code, 12, "{}", first.stderr);
    assert!(
        first.stderr.contains("note: push main #1: "),
        "{}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains("note: recorded the results in push main #1"),
        "{}",
        first.stderr
    );
    assert_eq!(read(&repo, "push.txt").trim(), "main 1");
    assert_eq!(lines(&repo, "order.txt"), ["a", "z"]);
    // Results live in the store, one object per report under the push.
    let outcomes = repo
        .path()
        .join(".sift/store/history/v1/main/outcomes/000000000001");
    assert_eq!(std::fs::read_dir(&outcomes).unwrap().count(), 1);
    assert_eq!(
        recorded(&repo, "main"),
        [(
            1,
            vec![
                ("a".to_owned(), "succeeded".to_owned()),
                ("z".to_owned(), "failed".to_owned())
            ]
        )]
    );
    // The next commit is push 2; z failed last time, so it starts first,
    // and its recorded duration is what the dry run expects.
    repo.write("fixed", "");
    repo.commit("fix z");
    std::fs::remove_file(repo.path().join("order.txt")).unwrap();
    let dry = repo.sift(&["run", "--all", "-j", "1", "--dry-run"]);
    let text = dry.ok();
    assert!(text.contains("z  (failed last time)"), "{text}");
    assert!(!text.contains("no recorded duration"), "{text}");
    let second = repo.sift(&["run", "--all", "-j", "1"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(lines(&repo, "order.txt"), ["z", "a"]);
    assert_eq!(read(&repo, "push.txt").trim(), "main 2");
    let history = recorded(&repo, "main");
    assert_eq!(history[0].0, 2);
    assert_eq!(history[0].1[1], ("z".to_owned(), "succeeded".to_owned()));
    // `sift run --history` is the same table as `sift history --tasks`.
    let table = repo.sift(&["run", "--history"]);
    let out = table.ok();
    assert!(out.contains("task results on pushes #2 to #1"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("z ") && l.contains("PF")),
        "{out}"
    );
}

#[test]
fn a_branch_orders_by_its_base_until_it_has_runs_of_its_own() {
    let repo = repo(TWO_TASKS);
    assert_eq!(
        repo.sift(&["run", "--all", "-j", "1", "--keep-going"]).code,
        12
    );
    repo.git_ok(&["checkout", "-q", "-b", "feature"]);
    repo.write("src/b.txt", "b");
    repo.commit("feature work");
    std::fs::remove_file(repo.path().join("order.txt")).unwrap();
    // The base is `main`: its push 1 says z failed.
    let run = repo.sift(&["run", "--all", "-j", "1", "--keep-going", "--base", "main"]);
    assert_eq!(run.code, 12);
    assert_eq!(lines(&repo, "order.txt"), ["z", "a"]);
    assert!(run.stderr.contains("push feature #1"), "{}", run.stderr);
    // The feature branch's own run now counts: z failed there too, and a
    // base where z passed does not change that.
    std::fs::remove_file(repo.path().join("order.txt")).unwrap();
    let dry = repo.sift(&[
        "run",
        "--all",
        "-j",
        "1",
        "--dry-run",
        "--base-branch",
        "nowhere",
    ]);
    assert!(dry.ok().contains("z  (failed last time)"), "{}", dry.stdout);
}

#[test]
fn no_record_writes_nothing_and_an_unreachable_store_only_warns() {
    let repo = repo(TWO_TASKS);
    repo.write("fixed", "");
    let run = repo.sift(&["run", "--all", "--no-record"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!repo.path().join(".sift/store").exists());
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert_eq!(
        read(&repo, "push.txt").trim(),
        "",
        "no SIFT_PUSH unrecorded"
    );
    std::fs::remove_file(repo.path().join("order.txt")).unwrap();
    // Nothing listens on port 9 of 127.0.0.1.
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "sift-test-secret-value"),
    ];
    let args = ["run", "--all", "--store", "s3://nowhere/sift"];
    let run = repo.sift_env(repo.path(), &args, None, &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: this run's results are not recorded"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("sift-test-secret-value"));
    assert_eq!(lines(&repo, "order.txt").len(), 2, "the tasks ran");
    // --record: the store is required, and nothing runs without it.
    std::fs::remove_file(repo.path().join("order.txt")).unwrap();
    let mut strict = args.to_vec();
    strict.push("--record");
    let run = repo.sift_env(repo.path(), &strict, None, &env);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(read(&repo, "order.txt").is_empty());
}

#[test]
fn shards_record_into_the_push_the_decision_job_recorded() {
    let repo =
        repo("[tasks.a]\nrun = \"true\"\n[tasks.b]\nrun = \"true\"\n[tasks.c]\nrun = \"false\"\n");
    // Without a recorded push a shard does not record one of its own.
    let run = repo.sift(&["run", "--all", "--shard", "1/2"]);
    assert!(
        run.stderr.contains("record it first (`sift plan --record`"),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join(".sift/store/history").exists());
    repo.sift(&["plan", "--record", "--all"]).ok();
    for shard in ["1/2", "2/2"] {
        let run = repo.sift(&["run", "--all", "--keep-going", "--shard", shard]);
        assert!(
            run.stderr.contains("push main #1 (recorded before)"),
            "{}",
            run.stderr
        );
    }
    let history = recorded(&repo, "main");
    assert_eq!(history.len(), 1);
    let outcomes = repo
        .path()
        .join(".sift/store/history/v1/main/outcomes/000000000001");
    assert_eq!(
        std::fs::read_dir(&outcomes).unwrap().count(),
        2,
        "one report per shard"
    );
    assert_eq!(
        history[0].1,
        [
            ("a".to_owned(), "succeeded".to_owned()),
            ("b".to_owned(), "succeeded".to_owned()),
            ("c".to_owned(), "failed".to_owned())
        ]
    );
}

/// Shards start at different times: a later shard sees the durations an
/// earlier one recorded into the same push, which change how tasks weigh.
/// Each shard still runs its share of one split, the one the first shard
/// stored, so every task runs exactly once (and a re-run of a shard runs the
/// same tasks again).
#[test]
fn shards_that_start_later_run_the_split_the_first_one_stored() {
    let mut config = String::new();
    for (name, seconds) in [("a", "0.8"), ("b", "0"), ("c", "0"), ("d", "0"), ("e", "0")] {
        config.push_str(&format!(
            "[tasks.{name}]\nrun = \"sleep {seconds}; echo {name} >> ran.txt\"\n"
        ));
    }
    let repo = repo(&config);
    repo.write(".gitignore", ".sift/\nran.txt\n");
    repo.commit("ignore");
    repo.sift(&["plan", "--record", "--all"]).ok();
    let ran = |repo: &TestRepo| -> Vec<String> {
        let text = std::fs::read_to_string(repo.path().join("ran.txt")).unwrap_or_default();
        let mut names: Vec<String> = text.lines().map(str::to_owned).collect();
        names.sort();
        std::fs::remove_file(repo.path().join("ran.txt")).ok();
        names
    };
    let mut per_shard = Vec::new();
    for shard in ["1/2", "2/2"] {
        repo.sift(&["run", "--all", "-j", "1", "--shard", shard])
            .ok();
        per_shard.push(ran(&repo));
    }
    let mut all: Vec<String> = per_shard.concat();
    all.sort();
    assert_eq!(all, ["a", "b", "c", "d", "e"], "shards ran {per_shard:?}");
    let splits = repo
        .path()
        .join(".sift/store/history/v1/main/shards/000000000001");
    let stored: Vec<_> = std::fs::read_dir(&splits)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].starts_with("2-") && stored[0].ends_with(".json"));
    // A re-run of shard 2, with every duration now known, runs the same.
    repo.sift(&["run", "--all", "-j", "1", "--shard", "2/2"])
        .ok();
    assert_eq!(ran(&repo), per_shard[1]);
    // A corrupt stored split is reported with its key and not used.
    std::fs::write(splits.join(&stored[0]), "{").unwrap();
    let run = repo.sift(&["run", "--all", "-j", "1", "--shard", "1/2"]);
    assert!(
        run.stderr.contains("skipping the stored split"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&stored[0]), "{}", run.stderr);
}

/// Runs `args` under a pseudo-terminal (`script`), so stdout and stderr are
/// a terminal; returns everything it printed.
fn on_a_terminal(repo: &TestRepo, args: &str, env: &[(&str, &str)]) -> Option<String> {
    if Command::new("script").arg("--version").output().is_err() {
        crate::skip_or_fail("`script` (util-linux), for a pseudo-terminal");
        return None;
    }
    let mut command = Command::new("script");
    command
        .args([
            "-qec",
            &format!("{} {args}", crate::sift_bin().display()),
            "/dev/null",
        ])
        .current_dir(repo.path())
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("TERM", "xterm")
        .env("COLUMNS", "100")
        .env("LINES", "30")
        .stdin(Stdio::null());
    command.envs(env.iter().copied());
    let output = command.output().expect("script runs");
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn a_terminal_gets_a_live_status_area_and_ci_never_does() {
    let repo = repo(
        "[tasks.slow]\nrun = \"sleep 0.6; echo slow-done\"\n[tasks.other]\nrun = \"sleep 0.4\"\n",
    );
    let Some(live) = on_a_terminal(&repo, "run --all -j 2 --no-record", &[]) else {
        return;
    };
    // The area: running tasks with elapsed times, the counts and a bar.
    assert!(live.contains('\x1b'), "{live:?}");
    assert!(live.contains(" running · "), "{live:?}");
    assert!(live.contains("left"), "{live:?}");
    assert!(live.contains("[="), "a progress bar: {live:?}");
    // Then the plain summary table.
    assert!(live.contains("2 of 2 kept tasks succeeded"), "{live:?}");
    for env in [("CI", "true"), ("NO_COLOR", "1"), ("TERM", "dumb")] {
        let plain = on_a_terminal(&repo, "run --all -j 2 --no-record", &[env]).unwrap();
        assert!(!plain.contains('\x1b'), "{env:?}: {plain:?}");
        assert!(plain.contains("2 of 2 kept tasks succeeded"), "{plain:?}");
    }
}

/// The allocator's tuning reaches the real process: from its first 2 MiB
/// boundary on, sift's heap is advised to use transparent huge pages, so a
/// large plan takes one page fault per 2 MiB there. The task reads the
/// flags of its parent's heap mappings. This runs the test profile's build;
/// the release build once lost the advice when the optimizer removed the
/// probe allocation it needs (a 20,000-task plan took 5,800 page faults, not
/// 1,330), which a volatile write now prevents in any build.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_heap_is_advised_to_use_huge_pages() {
    if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
        eprintln!("this kernel has no transparent huge pages: nothing to advise");
        return;
    }
    let repo = repo(
        r#"
[tasks.look]
run = '''awk '/^[0-9a-f]+-[0-9a-f]+ /{heap=($NF=="[heap]")} heap&&/^VmFlags/{print}' /proc/$PPID/smaps > flags.txt'''
"#,
    );
    let run = repo.sift(&["run", "--base", "HEAD", "--all"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let flags = read(&repo, "flags.txt");
    assert!(
        flags
            .lines()
            .any(|l| l.split_whitespace().any(|f| f == "hg")),
        "no heap mapping of sift is advised `hg`:\n{flags}"
    );
}

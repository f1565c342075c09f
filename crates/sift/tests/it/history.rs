//! `sift plan --record` and `sift history`: numbering, the backstop cadence,
//! idempotent re-runs, unreachable stores, and 50 concurrent recorders (one
//! process each) against the local store and the S3-compatible server.

use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::cache::{azure_env, azurite, new_bucket, new_container, s3_endpoint, s3_env};
use super::*;

const HISTORY_CONFIG: &str = r#"
[components]
exclusive = ["linux", "macosx"]

[[rules]]
files = ["mac/**"]
exclusive = ["macosx"]

[backstop]
branches = ["main"]
every_pushes = 5
every_pushes_expanded = 2

[tasks.build-linux]
schedules = ["linux"]

[tasks.build-macosx]
schedules = ["macosx"]

[tasks.talos]
schedules = ["linux"]
backstop = false

[tasks.full-fuzz]
on_backstop = true

[tasks.extra]
on_expanded = true
"#;

fn history_repo() -> TestRepo {
    let repo = TestRepo::plain();
    repo.write("sift.toml", HISTORY_CONFIG)
        .write("files.txt", "mac/a.mm\n");
    repo
}

fn sha(i: usize) -> String {
    format!("{i:040x}")
}

fn record_args<'a>(head: &'a str, store: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "plan",
        "--record",
        "--branch",
        "main",
        "--files-from",
        "files.txt",
        "--head",
        head,
        "--store",
        store,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn pushes_are_numbered_and_backstops_keep_everything() {
    let repo = history_repo();
    let store = repo.path().join("store");
    let store = store.to_str().unwrap();
    let mut backstops = Vec::new();
    for i in 1..=7 {
        let head = sha(i);
        let plan = repo.sift(&record_args(&head, store, &[])).json();
        assert_eq!(plan["push"]["number"], i as u64, "{plan}");
        assert_eq!(plan["push"]["branch"], "main");
        if plan["push"]["backstop"] == true {
            backstops.push(i);
            // Everything runs but talos (backstop = false), whose own
            // strategy skips a macOS-only change.
            assert_eq!(
                kept(&plan),
                ["build-linux", "build-macosx", "extra", "full-fuzz"]
            );
        } else {
            assert!(!kept(&plan).contains(&"full-fuzz".to_owned()), "{plan}");
        }
        assert_eq!(
            plan["push"]["expanded"] == true,
            kept(&plan).contains(&"extra".to_owned()),
            "{plan}"
        );
    }
    assert_eq!(backstops, [1, 6]);

    // The decision job of push 6 runs again: the same record comes back.
    let again = repo.sift(&record_args(&sha(6), store, &[]));
    let plan = again.json();
    assert_eq!(plan["push"]["number"], 6);
    assert_eq!(plan["push"]["backstop"], true);
    assert!(
        again.stderr.contains("this head SHA is already push 6"),
        "{}",
        again.stderr
    );
    let reason = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "full-fuzz")
        .unwrap()["reason"]
        .clone();
    assert_eq!(
        reason,
        "main #6: backstop push (5 pushes / 0.0 hours since push 1)"
    );

    // --backstop forces one; --no-backstop forbids it.
    let forced = repo
        .sift(&record_args(&sha(8), store, &["--backstop"]))
        .json();
    assert_eq!(forced["push"]["backstop"], true);
    assert_eq!(forced["push"]["reason"], "backstop push (--backstop)");
    let forbidden = repo
        .sift(&record_args(&sha(9), store, &["--no-backstop"]))
        .json();
    assert_eq!(forbidden["push"]["backstop"], false);

    let history = repo
        .sift(&[
            "history", "--branch", "main", "--limit", "3", "--json", "--store", store,
        ])
        .json();
    assert_eq!(history["format_version"], 1);
    assert_eq!(history["branch"], "main");
    let pushes = history["pushes"].as_array().unwrap();
    let numbers: Vec<u64> = pushes
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [9, 8, 7]);
    assert_eq!(pushes[1]["backstop"], true);
    assert_eq!(pushes[1]["head"], sha(8));
    assert_eq!(pushes[1]["kept"].as_array().unwrap().len(), 4);
    assert_eq!(pushes[1]["skipped"], serde_json::json!(["talos"]));
    for key in ["base", "time", "reason", "expanded"] {
        assert!(pushes[0].get(key).is_some(), "{key}: {}", pushes[0]);
    }
    let text = repo
        .sift(&["history", "--branch", "main", "--store", store])
        .ok()
        .to_owned();
    assert!(
        text.starts_with("pushes on main, newest first:\n#9 "),
        "{text}"
    );
    assert!(text.contains("backstop  4 kept, 1 skipped"), "{text}");

    // A plan that fails records nothing.
    let head = sha(10);
    let run = repo.sift(&record_args(&head, store, &["--target", "nope"]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    let history = repo
        .sift(&[
            "history", "--branch", "main", "--limit", "1", "--json", "--store", store,
        ])
        .json();
    assert_eq!(history["pushes"][0]["number"], 9);

    // Push options without --record are usage errors, not silently ignored.
    let run = repo.sift(&["plan", "--files-from", "files.txt", "--backstop"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--record"), "{}", run.stderr);

    // Without --record the plan has `"push": null`, and on_backstop skips.
    let plain = repo
        .sift(&["plan", "--files-from", "files.txt", "--format", "json"])
        .json();
    assert_eq!(plain["push"], serde_json::Value::Null);
}

#[test]
fn the_branch_comes_from_ci_variables_then_git() {
    let repo = TestRepo::git();
    repo.write("sift.toml", HISTORY_CONFIG).write("a.txt", "a");
    repo.commit("one");
    repo.git_ok(&["checkout", "-q", "-b", "release/2"]);
    let store = repo.path().join(".store");
    let store = store.to_str().unwrap();
    let base = ["plan", "--record", "--format", "json", "--store", store];
    let plan = repo.sift(&base).json();
    assert_eq!(plan["push"]["branch"], "release/2");
    // An unlisted branch is never a backstop.
    assert_eq!(plan["push"]["backstop"], false);
    assert_eq!(
        plan["push"]["reason"],
        "not a backstop: `release/2` is not in [backstop] branches"
    );
    for var in [
        "GITHUB_REF_NAME",
        "BUILD_SOURCEBRANCHNAME",
        "CI_COMMIT_BRANCH",
        "BUILDKITE_BRANCH",
    ] {
        let run = repo.sift_env(repo.path(), &base, None, &[(var, "main")]);
        assert_eq!(run.json()["push"]["branch"], "main", "{var}");
    }
    // The head SHA of the change is recorded: the same commit is one push.
    let history = repo
        .sift(&["history", "--json", "--branch", "main", "--store", store])
        .json();
    assert_eq!(history["pushes"].as_array().unwrap().len(), 1);
    assert_eq!(
        history["pushes"][0]["head"],
        repo.git_ok(&["rev-parse", "HEAD"])
    );
    // Detached HEAD without --branch: a clear usage error.
    repo.git_ok(&["checkout", "-q", "--detach"]);
    let run = repo.sift(&base);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("pass --branch BRANCH"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unreachable_store_is_exit_6_unless_optional() {
    let repo = history_repo();
    // Nothing listens on port 9 of 127.0.0.1 (discard, never run in tests).
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "sift-test-secret-value"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ];
    let head = sha(1);
    let args = record_args(&head, "s3://nowhere/sift", &[]);
    let run = repo.sift_env(repo.path(), &args, None, &env);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(!run.stderr.contains("sift-test-secret-value"));
    let mut optional = args.clone();
    optional[1] = "--record-optional";
    let run = repo.sift_env(repo.path(), &optional, None, &env);
    let plan = run.json();
    assert_eq!(plan["push"], serde_json::Value::Null);
    assert!(
        run.stderr
            .contains("warning: the push was not recorded (--record-optional)"),
        "{}",
        run.stderr
    );
}

#[test]
fn corrupt_records_are_reported_with_their_key() {
    let repo = history_repo();
    let store = repo.path().join("store");
    let store_arg = store.to_str().unwrap();
    for i in 1..=2 {
        repo.sift(&record_args(&sha(i), store_arg, &[])).ok();
    }
    let key = "history/v1/main/pushes/000000000002.json";
    std::fs::write(store.join(key), "{not json").unwrap();
    let run = repo.sift(&record_args(&sha(3), store_arg, &[]));
    assert_eq!(run.json()["push"]["number"], 3);
    assert!(
        run.stderr.contains(&format!(
            "skipped `{key}` in the history: not a push record"
        )),
        "{}",
        run.stderr
    );
    let run = repo.sift(&[
        "history", "--branch", "main", "--json", "--store", store_arg,
    ]);
    let numbers: Vec<u64> = run.json()["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 1]);
    assert!(run.stderr.contains(key), "{}", run.stderr);
}

/// Starts sift in `repo` without waiting for it (output piped).
fn spawn_sift(repo: &TestRepo, args: &[&str], env: &[(&str, String)]) -> Child {
    let mut command = Command::new(sift_bin());
    command
        .args(args)
        .current_dir(repo.path())
        .env_remove("SIFT_STORE")
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.spawn().expect("sift runs")
}

/// Starts `count` recorders at once, each its own process, and checks the
/// outcome through `sift history`.
fn concurrent_recorders(repo: &TestRepo, store: &str, env: &[(&str, String)], label: &str) {
    const COUNT: usize = 50;
    let heads: Vec<String> = (1..=COUNT).map(|i| sha(1000 + i)).collect();
    let started = Instant::now();
    let children: Vec<Child> = heads
        .iter()
        .map(|head| spawn_sift(repo, &record_args(head, store, &[]), env))
        .collect();
    let mut numbers: Vec<(u64, String)> = Vec::new();
    for (child, head) in children.into_iter().zip(&heads) {
        let output = child.wait_with_output().expect("sift finishes");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        numbers.push((run.json()["push"]["number"].as_u64().unwrap(), head.clone()));
    }
    let elapsed = started.elapsed();
    eprintln!("{COUNT} concurrent recorders ({label}): {elapsed:.2?} wall time");
    let mut sorted: Vec<u64> = numbers.iter().map(|(n, _)| *n).collect();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=COUNT as u64).collect::<Vec<_>>(),
        "distinct numbers 1..{COUNT}"
    );

    let args = [
        "history", "--branch", "main", "--limit", "100", "--json", "--store", store,
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let history = repo.sift_env(repo.path(), &args, None, &env).json();
    let pushes = history["pushes"].as_array().unwrap();
    assert_eq!(pushes.len(), COUNT, "no record lost");
    for push in pushes {
        let number = push["number"].as_u64().unwrap();
        let head = push["head"].as_str().unwrap();
        assert!(
            numbers.contains(&(number, head.to_owned())),
            "push {number} ({head}) is the one its recorder reported"
        );
        assert_eq!(
            push["backstop"] == true,
            (number - 1) % 5 == 0,
            "push {number}: {push}"
        );
        assert_eq!(
            push["expanded"] == true,
            (number - 1) % 5 == 0 || (number - 1) % 5 % 2 == 0,
            "push {number}: {push}"
        );
    }
}

#[test]
fn fifty_concurrent_recorders_local() {
    let repo = history_repo();
    let store = repo.path().join("store");
    concurrent_recorders(&repo, store.to_str().unwrap(), &[], "local store");
}

#[test]
fn fifty_concurrent_recorders_s3() {
    let Some(endpoint) = s3_endpoint("fifty_concurrent_recorders_s3") else {
        return;
    };
    let repo = history_repo();
    let bucket = new_bucket(&endpoint, "history");
    let store = format!("s3://{bucket}/ci");
    concurrent_recorders(&repo, &store, &s3_env(&endpoint), "S3 (moto)");
}

#[test]
fn fifty_concurrent_recorders_azure() {
    let Some(url) = azurite("fifty_concurrent_recorders_azure") else {
        return;
    };
    let repo = history_repo();
    let container = new_container(&url, "history");
    let store = format!("az://{container}/ci");
    concurrent_recorders(&repo, &store, &azure_env(&url), "Azure (Azurite)");
}

/// Writes a branch with `count` pushes straight into a local store: the
/// newest is a real record (push `count`, last backstop `count - 3`); the
/// others are empty files, since deciding a push must never read them (only
/// their existence is probed, by `HEAD`): reading one would be reported as
/// a corrupt record, which the timing test rules out.
fn long_history(store: &Path, count: u64, hint: bool) {
    let dir = store.join("history/v1/main/pushes");
    std::fs::create_dir_all(&dir).unwrap();
    let record = |n: u64, last_backstop: u64| {
        format!(
            r#"{{"format":"sift-push-1","branch":"main","number":{n},"head":"{}","base":null,"time":"2026-12-01T00:00:00Z","backstop":false,"expanded":false,"reason":"r","kept":[],"skipped":[],"last_backstop":{{"number":{last_backstop},"time":"2026-12-01T00:00:00Z"}},"last_expanded":null}}"#,
            sha(n as usize)
        )
    };
    let file = |n: u64| dir.join(format!("{n:012}.json"));
    for n in 1..count {
        std::fs::File::create(file(n)).unwrap();
    }
    std::fs::write(file(count), record(count, count - 3)).unwrap();
    if hint {
        std::fs::write(
            store.join("history/v1/main/head.json"),
            format!(r#"{{"format":"sift-head-1","number":{count}}}"#),
        )
        .unwrap();
    }
}

/// The median wall time of recording one more push, over `runs` fresh copies.
fn time_next_push(count: u64, hint: bool, runs: usize) -> std::time::Duration {
    let repo = history_repo();
    let store = repo.path().join("store");
    long_history(&store, count, hint);
    let store = store.to_str().unwrap();
    let mut times = Vec::new();
    for run in 0..runs {
        let head = sha(10_000_000 + run);
        let started = Instant::now();
        let run_output = repo.sift(&record_args(&head, store, &[]));
        times.push(started.elapsed());
        assert!(
            !run_output.stderr.contains("skipped"),
            "{}",
            run_output.stderr
        );
        let plan = run_output.json();
        let number = count + 1 + run as u64;
        assert_eq!(plan["push"]["number"], number);
        // Push count+1 is 4 pushes after the backstop at count-3; count+2 is 5.
        assert_eq!(plan["push"]["backstop"], run == 1, "{}", plan["push"]);
    }
    times.sort();
    times[runs / 2]
}

#[test]
fn deciding_a_push_costs_the_same_after_100000_pushes() {
    let runs = 3;
    let short = time_next_push(10, true, runs);
    let long = time_next_push(100_000, true, runs);
    let long_no_hint = time_next_push(100_000, false, runs);
    eprintln!(
        "record one push: 10 pushes {short:.2?}, 100,000 pushes {long:.2?}, 100,000 without head hint {long_no_hint:.2?} (median of {runs})"
    );
}

#[test]
fn why_explains_under_the_recorded_push() {
    let repo = history_repo();
    let store = repo.path().join("store");
    let store = store.to_str().unwrap();
    for i in 1..=2 {
        repo.sift(&record_args(&sha(i), store, &[])).ok();
    }
    let why = |task: &str, i: usize| {
        let head = sha(i);
        repo.sift(&[
            "why",
            task,
            "--push",
            "--branch",
            "main",
            "--store",
            store,
            "--files-from",
            "files.txt",
            "--head",
            &head,
        ])
    };
    let out = why("full-fuzz", 1).ok().to_owned();
    assert!(
        out.contains("reason: main #1: backstop push (first recorded push of main)\n  backstop: every task runs on a backstop push, except `backstop = false` ones\n"),
        "{out}"
    );
    let out = why("full-fuzz", 2).ok().to_owned();
    assert!(
        out.contains("on_backstop = true → skip: on_backstop: main #2 is not a backstop push (not a backstop (1 push / 0.0 hours since push 1))"),
        "{out}"
    );
    let out = why("talos", 1).ok().to_owned();
    assert!(out.contains("schedules = [\"linux\"] → skip"), "{out}");
    let run = why("talos", 3);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not a recorded push of main"),
        "{}",
        run.stderr
    );
}

#[test]
fn ci_systems_and_junit_reports_add_outcomes_to_a_push() {
    let repo = history_repo();
    let store = repo.path().join("store");
    let store_arg = store.to_str().unwrap();
    let head = sha(1);
    repo.sift(&record_args(&head, store_arg, &[])).ok();
    let report = |extra: &[&str]| {
        let mut args = vec![
            "history", "report", "--branch", "main", "--store", store_arg,
        ];
        args.extend_from_slice(extra);
        repo.sift(&args)
    };
    let run = report(&[
        "--push",
        "1",
        "--task",
        "build-linux",
        "--result",
        "failed",
        "--duration",
        "3.5",
    ]);
    run.ok();
    assert!(
        run.stderr
            .contains("recorded `build-linux` failed on main #1"),
        "{}",
        run.stderr
    );
    report(&["--head", &head, "--task", "talos", "--result", "succeeded"]).ok();
    // A retry that passes makes build-linux flaky on this push.
    report(&[
        "--push",
        "1",
        "--task",
        "build-linux",
        "--result",
        "succeeded",
    ])
    .ok();
    let unknown = report(&["--push", "1", "--task", "nope", "--result", "failed"]);
    unknown.ok();
    assert!(
        unknown
            .stderr
            .contains("`nope` is not a task of push main #1's plan"),
        "{}",
        unknown.stderr
    );
    let missing = report(&["--push", "9", "--task", "talos", "--result", "failed"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("push 9 is not a recorded push of main"),
        "{}",
        missing.stderr
    );
    let bad = report(&[
        "--push",
        "1",
        "--task",
        "t",
        "--result",
        "failed",
        "--duration",
        "-1",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);

    // JUnit results are kept under the task, in report order.
    let junit = junit_sample("pytest.xml");
    let run = repo.sift(&[
        "record",
        "--junit",
        junit.to_str().unwrap(),
        "--push",
        "1",
        "--task",
        "build-linux",
        "--branch",
        "main",
        "--store",
        store_arg,
        "--cache-dir",
        "cache",
    ]);
    run.ok();
    assert!(
        run.stderr
            .contains("test result(s) of `build-linux` in main #1"),
        "{}",
        run.stderr
    );
    let dir = store.join("history/v1/main/outcomes/000000000001");
    let reports: Vec<serde_json::Value> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert_eq!(reports.len(), 5);
    let tests = reports
        .iter()
        .find(|r| r["source"] == "sift record")
        .expect("the JUnit report");
    assert_eq!(tests["tests"][0]["task"], "build-linux");
    assert!(!tests["tests"][0]["tests"].as_array().unwrap().is_empty());

    let history = repo
        .sift(&[
            "history", "--tasks", "--json", "--branch", "main", "--store", store_arg,
        ])
        .json();
    let tasks = &history["pushes"][0]["tasks"];
    let find = |name: &str| {
        tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {tasks}"))
            .clone()
    };
    assert_eq!(find("build-linux")["verdict"], "flaky");
    assert_eq!(find("build-linux")["result"], "succeeded");
    assert_eq!(find("build-linux")["attempts"], 2);
    assert_eq!(find("build-linux")["duration_s"], 3.5);
    assert_eq!(find("talos")["verdict"], "passed");

    // A corrupt report is named and skipped; the others still count.
    std::fs::write(dir.join("0000000000001-0000000000000000.json"), "{oops").unwrap();
    let run = repo.sift(&[
        "history", "--tasks", "--branch", "main", "--store", store_arg,
    ]);
    let text = run.ok();
    assert!(
        run.stderr
            .contains("0000000000001-0000000000000000.json` in the history: not an outcome report"),
        "{}",
        run.stderr
    );
    assert!(
        text.contains("build-linux  ~  last: succeeded on #1, 3.5s"),
        "{text}"
    );
}

/// 30 reporters at once (one process each) on one push: every outcome is
/// kept, none overwrites another.
fn concurrent_reporters(store: &str, env: &[(&str, String)], label: &str) {
    const COUNT: usize = 30;
    let repo = history_repo();
    let head = sha(7);
    let record = repo.sift_env(
        repo.path(),
        &record_args(&head, store, &[]),
        None,
        &env.iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    );
    record.ok();
    let started = Instant::now();
    let children: Vec<Child> = (0..COUNT)
        .map(|i| {
            let task = format!("task-{i:02}");
            let result = if i % 3 == 0 { "failed" } else { "succeeded" };
            let args = [
                "history", "report", "--branch", "main", "--store", store, "--push", "1", "--task",
                &task, "--result", result,
            ];
            spawn_sift(&repo, &args, env)
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("sift finishes");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    eprintln!(
        "{COUNT} concurrent reporters ({label}): {:.2?} wall time",
        started.elapsed()
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = [
        "history", "--branch", "main", "--tasks", "--json", "--store", store,
    ];
    let history = repo.sift_env(repo.path(), &args, None, &env).json();
    let tasks = history["pushes"][0]["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), COUNT, "every report kept: {history}");
    let failed = tasks.iter().filter(|t| t["result"] == "failed").count();
    assert_eq!(failed, COUNT.div_ceil(3));
}

#[test]
fn concurrent_reporters_local() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_reporters(dir.path().to_str().unwrap(), &[], "local store");
}

#[test]
fn concurrent_reporters_s3() {
    let Some(endpoint) = s3_endpoint("concurrent_reporters_s3") else {
        return;
    };
    let bucket = new_bucket(&endpoint, "reports");
    concurrent_reporters(
        &format!("s3://{bucket}/ci"),
        &s3_env(&endpoint),
        "S3 (moto)",
    );
}

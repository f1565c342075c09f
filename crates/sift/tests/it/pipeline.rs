//! `sift pipeline run`: the real binary against the scripted fake CI
//! services in `fake_ci.rs`, with sub-second intervals.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::Run;
use super::fake_ci::*;

const TOKEN: &str = "pat-s3cret-TOKEN-value";
/// `Basic base64(":" + TOKEN)`: an empty user name and the PAT as password.
const BASIC: &str = "Basic OnBhdC1zM2NyZXQtVE9LRU4tdmFsdWU=";

fn command(args: &[String], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(super::sift_bin());
    // A clean environment: no CI variables, tokens or proxies from the host.
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for sift, killing it if it hangs, and checks it never printed the token.
fn finish(child: Child) -> Run {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => output.expect("sift runs"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("sift did not finish within 60 s");
        }
    };
    let run = Run::from(output);
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(TOKEN), "the token leaked:\n{text}");
        assert!(
            !text.contains(BASIC.trim_start_matches("Basic ")),
            "the token leaked:\n{text}"
        );
    }
    run
}

fn sift(args: &[String], env: &[(&str, &str)]) -> Run {
    finish(command(args, env).spawn().expect("sift starts"))
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn azure_args(server: &FakeServer, extra: &[&str]) -> Vec<String> {
    let mut all = args(&["pipeline", "run", "azure", "--org-url"]);
    all.push(format!("{}/org", server.url()));
    all.extend(args(&[
        "--project",
        "proj",
        "--definition",
        "12",
        "--poll-interval",
        "0.05",
        "--retry-delay",
        "0.05",
    ]));
    all.extend(args(extra));
    all
}

fn run_azure(server: &FakeServer, extra: &[&str]) -> Run {
    let mut extra = extra.to_vec();
    if !extra.contains(&"--branch") {
        extra.extend(["--branch", "main"]);
    }
    sift(
        &azure_args(server, &extra),
        &[("AZURE_DEVOPS_EXT_PAT", TOKEN)],
    )
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

fn queues(server: &FakeServer) -> usize {
    server.matching("POST", AZURE_PREFIX).len()
}

#[test]
fn azure_failed_run_is_requeued_and_logs_stream_once_in_order() {
    let mut ahead = azure_log(1, "Build", 4);
    // The listed lineCount lags behind the content: sift must count what it got.
    ahead.listed = Some(3);
    let server = azure(vec![
        vec![
            snap("notStarted", None, vec![]),
            snap("inProgress", None, vec![azure_log(1, "Build", 2)]),
            snap("inProgress", None, vec![ahead, azure_log(2, "Test", 1)]),
            snap(
                "completed",
                Some("failed"),
                vec![
                    azure_log(1, "Build", 5),
                    azure_log(2, "Test", 2),
                    azure_log(3, "Publish", 1),
                ],
            ),
        ],
        vec![
            snap("inProgress", None, vec![azure_log(1, "Build", 1)]),
            snap(
                "completed",
                Some("succeeded"),
                vec![azure_log(1, "Build", 2)],
            ),
        ],
    ]);
    let run = run_azure(&server, &["--param", "a=1", "--variable", "v=x y"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        lines(&run.stdout),
        [
            "[Build #1] Build line 1",
            "[Build #1] Build line 2",
            "[Build #1] Build line 3",
            "[Build #1] Build line 4",
            "[Test #2] Test line 1",
            "[Build #1] Build line 5",
            "[Test #2] Test line 2",
            "[Publish #3] Publish line 1",
            "[Build #1] Build line 1",
            "[Build #1] Build line 2",
        ]
    );
    assert_eq!(queues(&server), 2);
    let base = server.url();
    assert!(
        run.stderr.contains(&format!(
            "note: queued build 101 on Azure DevOps (attempt 1 of 2): {base}/org/proj/_build/results?buildId=101&view=results"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("build 101 finished: failed (attempt 1 of 2)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("queueing attempt 2 in 0.05s"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("build 102 succeeded (attempt 2"),
        "{}",
        run.stderr
    );
    // The API link is never shown as the build's page.
    assert!(
        !run.stderr.contains("_apis/build/builds/101"),
        "{}",
        run.stderr
    );

    // Each log is read from the line after the last one received.
    let starts: Vec<String> = server
        .matching("GET", "/101/logs/1")
        .iter()
        .map(|r| r.query("startLine").unwrap_or("").to_owned())
        .collect();
    assert_eq!(starts, ["1", "3", "5"]);
    let queue = &server.matching("POST", AZURE_PREFIX)[0];
    assert_eq!(
        queue.json(),
        json!({
            "definition": {"id": 12},
            "sourceBranch": "refs/heads/main",
            "templateParameters": {"a": "1"},
            "parameters": "{\"v\":\"x y\"}",
        })
    );
    for request in server.requests() {
        assert_eq!(request.header("authorization"), Some(BASIC), "{request:?}");
        assert_eq!(request.query("api-version"), Some("7.1"));
    }
}

#[test]
fn azure_straight_to_completed_drains_every_log_and_prints_json() {
    let server = azure(vec![vec![
        snap("notStarted", None, vec![]),
        snap(
            "completed",
            Some("succeeded"),
            vec![azure_log(1, "Build", 3), azure_log(2, "Test", 2)],
        ),
    ]]);
    let run = run_azure(&server, &["--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = run.json();
    assert_eq!(summary["run_id"], "101");
    assert_eq!(
        summary["web_url"],
        format!(
            "{}/org/proj/_build/results?buildId=101&view=results",
            server.url()
        )
    );
    assert_eq!(summary["attempts"], 1);
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["result"], "succeeded");
    assert_eq!(summary["outcome"], "succeeded");
    assert!(summary["duration_seconds"].as_f64().unwrap() > 0.0);
    // With --json the logs go to stderr, in order, once.
    let logs: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(
        logs,
        [
            "[Build #1] Build line 1",
            "[Build #1] Build line 2",
            "[Build #1] Build line 3",
            "[Test #2] Test line 1",
            "[Test #2] Test line 2",
        ]
    );
    assert_eq!(queues(&server), 1);
}

#[test]
fn azure_failure_after_the_last_attempt_exits_7() {
    let server = azure(vec![vec![snap(
        "completed",
        Some("failed"),
        vec![azure_log(1, "Build", 1)],
    )]]);
    let run = run_azure(&server, &["--attempts", "3", "--json"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(queues(&server), 3);
    assert_eq!(run.json_any()["outcome"], "failed");
    assert_eq!(run.json_any()["attempts"], 3);
    assert!(
        run.stderr
            .contains("error: the pipeline failed: build 103 ended `failed` after 3 attempt(s)"),
        "{}",
        run.stderr
    );
}

#[test]
fn azure_partially_succeeded_needs_allow_partial() {
    let script = vec![vec![snap("completed", Some("partiallySucceeded"), vec![])]];
    let server = azure(script.clone());
    assert_eq!(run_azure(&server, &["--attempts", "1"]).code, 7);
    let server = azure(script);
    let run = run_azure(
        &server,
        &["--attempts", "1", "--allow-partial", "--no-logs"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        server.matching("GET", "/logs").is_empty(),
        "--no-logs reads no log"
    );
}

#[test]
fn azure_cancelling_then_canceled() {
    let server = azure(vec![vec![
        snap("inProgress", None, vec![azure_log(1, "Build", 1)]),
        snap("cancelling", None, vec![azure_log(1, "Build", 2)]),
        snap("cancelling", None, vec![azure_log(1, "Build", 2)]),
        snap(
            "completed",
            Some("canceled"),
            vec![azure_log(1, "Build", 3)],
        ),
    ]]);
    let run = run_azure(&server, &["--attempts", "1"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(
        lines(&run.stdout),
        [
            "[Build #1] Build line 1",
            "[Build #1] Build line 2",
            "[Build #1] Build line 3"
        ]
    );
    assert!(
        run.stderr.contains("build 101: cancelling ("),
        "{}",
        run.stderr
    );
    // Printed once although two polls saw it.
    assert_eq!(
        run.stderr.matches("build 101: cancelling").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("build 101: completed, canceled"),
        "{}",
        run.stderr
    );
    assert!(
        server.matching("PATCH", "/101").is_empty(),
        "sift did not cancel it"
    );
}

#[test]
fn azure_unknown_status_is_a_warning_not_a_crash() {
    let server = azure(vec![vec![
        snap("paused", None, vec![]),
        snap("paused", None, vec![]),
        snap("completed", Some("succeeded"), vec![]),
    ]]);
    let run = run_azure(&server, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr
            .matches("reported status `paused`, which sift does not know")
            .count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn azure_203_sign_in_page_is_an_auth_failure_at_once() {
    let server = azure(vec![vec![snap("completed", Some("succeeded"), vec![])]]);
    server.fault("POST", AZURE_PREFIX, 10, Response::sign_in_page(203));
    let run = run_azure(&server, &[]);
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(
        run.stderr.contains("203 with a sign-in page"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: set AZURE_DEVOPS_EXT_PAT"),
        "{}",
        run.stderr
    );
    assert_eq!(queues(&server), 1, "never retried");
}

#[test]
fn azure_html_with_200_is_an_auth_failure() {
    let server = azure(vec![vec![snap("completed", Some("succeeded"), vec![])]]);
    server.fault("GET", "/101", 10, Response::sign_in_page(200));
    let run = run_azure(&server, &["--json"]);
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(
        run.stderr.contains("HTML page (a sign-in page)"),
        "{}",
        run.stderr
    );
    assert_eq!(server.matching("GET", "/101").len(), 1, "never retried");
    assert_eq!(run.json_any()["outcome"], "auth_failed");
}

#[test]
fn azure_401_is_an_auth_failure_at_once() {
    let server = azure(vec![vec![snap("inProgress", None, vec![])]]);
    server.fault(
        "GET",
        "/101",
        10,
        Response::json(401, json!({"message": "TF400813: not authorized"}))
            .header("WWW-Authenticate", "Basic realm=\"https://dev.azure.com\""),
    );
    let run = run_azure(&server, &[]);
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the service rejected the token (401): TF400813"),
        "{}",
        run.stderr
    );
    assert_eq!(server.matching("GET", "/101").len(), 1);
}

#[test]
fn azure_missing_token_exits_9_before_any_request() {
    let server = azure(vec![vec![snap("completed", Some("succeeded"), vec![])]]);
    let run = sift(
        &azure_args(&server, &["--branch", "main"]),
        &[("AZURE_DEVOPS_EXT_PAT", " ")],
    );
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("AZURE_DEVOPS_EXT_PAT or SIFT_AZURE_PAT"),
        "{}",
        run.stderr
    );
    assert!(server.requests().is_empty());
    // SIFT_AZURE_PAT works too.
    let run = sift(
        &azure_args(&server, &["--branch", "main"]),
        &[("SIFT_AZURE_PAT", TOKEN)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn azure_500_then_recovery() {
    let server = azure(vec![vec![
        snap("inProgress", None, vec![azure_log(1, "Build", 2)]),
        snap(
            "completed",
            Some("succeeded"),
            vec![azure_log(1, "Build", 3)],
        ),
    ]]);
    server.fault(
        "GET",
        "/101",
        2,
        Response::json(500, json!({"message": "boom"})),
    );
    server.fault(
        "GET",
        "/101/logs/1",
        1,
        Response::json(503, json!({"message": "busy"})),
    );
    let run = run_azure(&server, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        lines(&run.stdout),
        [
            "[Build #1] Build line 1",
            "[Build #1] Build line 2",
            "[Build #1] Build line 3"
        ]
    );
    assert!(
        run.stderr
            .contains("server error (500): boom; trying again in"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("unavailable (503): busy"),
        "{}",
        run.stderr
    );
    assert_eq!(queues(&server), 1);
}

#[test]
fn azure_polls_that_keep_failing_do_not_end_the_wait() {
    let server = azure(vec![vec![snap("completed", Some("succeeded"), vec![])]]);
    // More failures than one poll's retries: the poll fails, the next one works.
    server.fault(
        "GET",
        "/101",
        7,
        Response::json(500, json!({"message": "down"})),
    );
    let run = run_azure(&server, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("still waiting for the run (next poll in 0.05s)"),
        "{}",
        run.stderr
    );
}

#[test]
fn azure_queue_500_is_not_retried_so_nothing_is_queued_twice() {
    let server = azure(vec![vec![snap("completed", Some("succeeded"), vec![])]]);
    server.fault(
        "POST",
        AZURE_PREFIX,
        1,
        Response::json(500, json!({"message": "oops"})),
    );
    let run = run_azure(&server, &[]);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert_eq!(queues(&server), 1);
    assert!(
        run.stderr
            .contains("error: cannot queue the build: server error (500): oops"),
        "{}",
        run.stderr
    );
}

#[test]
fn azure_429_honors_retry_after() {
    let server = azure(vec![vec![snap(
        "completed",
        Some("succeeded"),
        vec![azure_log(1, "Build", 1)],
    )]]);
    server.fault(
        "GET",
        "/101",
        1,
        Response::json(429, json!({"message": "slow down"})).header("Retry-After", "1"),
    );
    let run = run_azure(&server, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rate limited (429): slow down; trying again in 1s (2 of 5)"),
        "{}",
        run.stderr
    );
    let polls = server.matching("GET", "/101");
    assert_eq!(polls.len(), 2);
    let waited = polls[1].at - polls[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert_eq!(lines(&run.stdout), ["[Build #1] Build line 1"]);
}

#[test]
fn azure_slow_answers_time_out_and_are_retried() {
    let server = azure(vec![vec![snap("completed", Some("succeeded"), vec![])]]);
    server.fault(
        "GET",
        "/101",
        1,
        Response::json(200, json!({})).delayed(Duration::from_secs(2)),
    );
    let run = run_azure(&server, &["--request-timeout", "0.3"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cannot get build 101: no answer within 0.3s"),
        "{}",
        run.stderr
    );
}

#[test]
fn azure_timeout_bounds_everything_and_cancels_the_run() {
    let server = azure(vec![vec![snap("inProgress", None, vec![])]]);
    server.fault(
        "GET",
        "/101",
        1000,
        Response::json(200, json!({})).delayed(Duration::from_secs(3)),
    );
    let started = Instant::now();
    let run = run_azure(
        &server,
        &["--timeout", "1", "--request-timeout", "0.4", "--json"],
    );
    assert_eq!(run.code, 10, "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        run.stderr.contains("error: timed out after 1s (--timeout)"),
        "{}",
        run.stderr
    );
    let cancels = server.matching("PATCH", "/101");
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0].json(), json!({"status": "cancelling"}));
    assert_eq!(run.json_any()["outcome"], "timed_out");
}

fn interrupt(signal: &str) {
    let server = azure(vec![vec![snap(
        "inProgress",
        None,
        vec![azure_log(1, "Build", 1)],
    )]]);
    let mut all = azure_args(&server, &["--branch", "main"]);
    all.push("--json".into());
    let child = command(&all, &[("AZURE_DEVOPS_EXT_PAT", TOKEN)])
        .spawn()
        .expect("sift starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.matching("GET", "/101").len() < 3 {
        assert!(Instant::now() < deadline, "sift never polled");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let run = finish(child);
    assert_eq!(run.code, 130, "{}", run.stderr);
    let cancels = server.matching("PATCH", "/101");
    assert_eq!(cancels.len(), 1, "the fake saw the cancel request");
    assert_eq!(cancels[0].json(), json!({"status": "cancelling"}));
    assert_eq!(cancels[0].header("authorization"), Some(BASIC));
    assert!(
        run.stderr
            .contains("note: asked Azure DevOps to cancel build 101"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("error: interrupted while following build 101"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json_any()["outcome"], "interrupted");
    assert_eq!(run.json_any()["run_id"], "101");
    assert_eq!(queues(&server), 1);
}

#[test]
fn azure_sigint_cancels_the_build_and_exits_130() {
    interrupt("-INT");
}

#[test]
fn azure_sigterm_cancels_the_build_and_exits_130() {
    interrupt("-TERM");
}

#[test]
fn azure_branch_from_the_ci_environment() {
    let server = azure(vec![vec![snap("completed", Some("succeeded"), vec![])]]);
    let run = sift(
        &azure_args(&server, &[]),
        &[
            ("AZURE_DEVOPS_EXT_PAT", TOKEN),
            ("CIRCLE_BRANCH", "pull/42"),
            ("CIRCLE_SHA1", "c0ffee"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("building refs/pull/42/head (from CIRCLE_BRANCH (CircleCI))"),
        "{}",
        run.stderr
    );
    let body = server.matching("POST", AZURE_PREFIX)[0].json();
    assert_eq!(body["sourceBranch"], "refs/pull/42/head");
    assert_eq!(body["sourceVersion"], "c0ffee");

    let run = sift(
        &azure_args(&server, &[]),
        &[("AZURE_DEVOPS_EXT_PAT", TOKEN)],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("pass --branch BRANCH"),
        "{}",
        run.stderr
    );
}

// ------------------------------------------------------------------- GitHub

fn github_args(server: &FakeServer, extra: &[&str]) -> Vec<String> {
    let mut all = args(&[
        "pipeline",
        "run",
        "github",
        "--repo",
        "o/r",
        "--workflow",
        "ci.yml",
        "--ref",
        "main",
        "--poll-interval",
        "0.05",
        "--retry-delay",
        "0.05",
        "--api-url",
    ]);
    all.push(server.url());
    all.extend(args(extra));
    all
}

fn run_github(server: &FakeServer, extra: &[&str]) -> Run {
    sift(&github_args(server, extra), &[("GITHUB_TOKEN", TOKEN)])
}

fn job(
    id: u64,
    name: &'static str,
    status: &'static str,
    conclusion: Option<&'static str>,
    steps: Vec<(&'static str, &'static str, Option<&'static str>)>,
) -> GhJob {
    GhJob {
        id,
        name,
        status,
        conclusion,
        steps,
        log: log_lines(name, 3),
    }
}

fn failing_run() -> Vec<GhSnapshot> {
    vec![
        GhSnapshot {
            status: "queued",
            conclusion: None,
            jobs: vec![],
        },
        GhSnapshot {
            status: "in_progress",
            conclusion: None,
            jobs: vec![
                job(
                    11,
                    "build",
                    "in_progress",
                    None,
                    vec![
                        ("Checkout", "completed", Some("success")),
                        ("Test", "in_progress", None),
                    ],
                ),
                job(12, "lint", "queued", None, vec![]),
            ],
        },
        GhSnapshot {
            status: "completed",
            conclusion: Some("failure"),
            jobs: vec![
                job(
                    11,
                    "build",
                    "completed",
                    Some("failure"),
                    vec![
                        ("Checkout", "completed", Some("success")),
                        ("Test", "completed", Some("failure")),
                    ],
                ),
                job(12, "lint", "completed", Some("success"), vec![]),
            ],
        },
    ]
}

fn passing_run() -> Vec<GhSnapshot> {
    vec![
        GhSnapshot {
            status: "in_progress",
            conclusion: None,
            jobs: vec![job(
                21,
                "build",
                "in_progress",
                None,
                vec![("Test", "in_progress", None)],
            )],
        },
        GhSnapshot {
            status: "completed",
            conclusion: Some("success"),
            jobs: vec![job(
                21,
                "build",
                "completed",
                Some("success"),
                vec![("Test", "completed", Some("success"))],
            )],
        },
    ]
}

#[test]
fn github_dispatch_follow_and_print_failed_job_logs() {
    let server = github(vec![failing_run()], DispatchMode::RunDetails, false);
    let run = run_github(&server, &["--attempts", "1", "--input", "suite=all"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    // Only the failed job's log, every line once, in order.
    assert_eq!(
        lines(&run.stdout),
        [
            "[build] build line 1",
            "[build] build line 2",
            "[build] build line 3"
        ]
    );
    assert!(
        run.stderr.contains(
            "note: queued run 1001 on GitHub Actions (attempt 1 of 1): https://github.example/o/r/actions/runs/1001"
        ),
        "{}",
        run.stderr
    );
    for progress in [
        "  job `build`: step 2/2 `Test`",
        "  job `lint`: queued",
        "  job `build`: failure (step `Test`)",
        "  job `lint`: success",
    ] {
        assert!(
            run.stderr.contains(progress),
            "missing {progress:?}:\n{}",
            run.stderr
        );
    }
    let dispatch = &server.matching("POST", "/dispatches")[0];
    assert_eq!(
        dispatch.json(),
        json!({"ref": "main", "inputs": {"suite": "all"}, "return_run_details": true})
    );
    for request in server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/repos/"))
    {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
    }
    assert!(
        server.matching("GET", "/jobs/12/logs").is_empty(),
        "a passing job's log is not printed"
    );
}

#[test]
fn github_failed_run_is_dispatched_again_and_succeeds() {
    let server = github(
        vec![failing_run(), passing_run()],
        DispatchMode::RunDetails,
        false,
    );
    let run = run_github(&server, &["--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.matching("POST", "/dispatches").len(), 2);
    let summary = run.json();
    assert_eq!(summary["run_id"], "1002");
    assert_eq!(summary["attempts"], 2);
    assert_eq!(summary["result"], "success");
    assert_eq!(summary["provider"], "github");
}

#[test]
fn github_without_run_details_finds_the_new_run_by_commit() {
    let server = github(vec![passing_run()], DispatchMode::NoContent, false);
    let run = run_github(&server, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("looking for its run"), "{}", run.stderr);
    // Run 1000 existed before the dispatch; 1001 is new.
    assert!(
        run.stderr.contains("queued run 1001 on GitHub Actions"),
        "{}",
        run.stderr
    );
    let lists = server.matching("GET", "/actions/workflows/ci.yml/runs");
    assert!(
        lists.len() >= 3,
        "listed before, then until found: {}",
        lists.len()
    );
    assert!(
        lists
            .iter()
            .skip(1)
            .all(|r| r.query("head_sha") == Some(GH_SHA))
    );
}

#[test]
fn github_correlation_input_tells_simultaneous_dispatches_apart() {
    let server = github(vec![passing_run()], DispatchMode::NoContent, true);
    let run = run_github(&server, &["--correlation-input", "sift_id"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // 1001 is someone else's dispatch on the same commit; ours is 1002.
    assert!(
        run.stderr.contains("queued run 1002 on GitHub Actions"),
        "{}",
        run.stderr
    );
    let dispatch = server.matching("POST", "/dispatches")[0].json();
    assert!(
        dispatch["inputs"]["sift_id"]
            .as_str()
            .is_some_and(|v| v.starts_with("sift-")),
        "{dispatch}"
    );
}

#[test]
fn github_401_and_missing_token() {
    let server = github(vec![passing_run()], DispatchMode::RunDetails, false);
    server.fault(
        "GET",
        "/actions/workflows/ci.yml/runs",
        10,
        Response::json(401, json!({"message": "Bad credentials"})),
    );
    let run = run_github(&server, &[]);
    assert_eq!(run.code, 9, "{}", run.stderr);
    assert!(
        run.stderr.contains("(401): Bad credentials"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: set GITHUB_TOKEN"),
        "{}",
        run.stderr
    );
    assert!(server.matching("POST", "/dispatches").is_empty());
    let run = sift(&github_args(&server, &[]), &[]);
    assert_eq!(run.code, 9);
    assert!(
        run.stderr.contains("GITHUB_TOKEN or GH_TOKEN"),
        "{}",
        run.stderr
    );
    let run = sift(&github_args(&server, &[]), &[("GH_TOKEN", TOKEN)]);
    assert_eq!(run.code, 9, "GH_TOKEN is used (and rejected by the fault)");
}

#[test]
fn github_unknown_workflow_is_a_service_error_with_a_hint() {
    let server = github(vec![passing_run()], DispatchMode::RunDetails, false);
    let mut all = github_args(&server, &[]);
    let at = all.iter().position(|a| a == "ci.yml").unwrap();
    all[at] = "nope.yml".into();
    let run = sift(&all, &[("GITHUB_TOKEN", TOKEN)]);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(
        run.stderr.contains("answered 404: Not Found"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: check"), "{}", run.stderr);
}

#[test]
fn github_sigint_cancels_the_run() {
    let server = github(
        vec![vec![GhSnapshot {
            status: "in_progress",
            conclusion: None,
            jobs: vec![],
        }]],
        DispatchMode::RunDetails,
        false,
    );
    let child = command(&github_args(&server, &[]), &[("GITHUB_TOKEN", TOKEN)])
        .spawn()
        .expect("sift starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.matching("GET", "/actions/runs/1001").len() < 2 {
        assert!(Instant::now() < deadline, "sift never polled");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let run = finish(child);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert_eq!(
        server.matching("POST", "/actions/runs/1001/cancel").len(),
        1
    );
}

#[test]
fn github_rate_limit_403_is_waited_out_not_an_auth_failure() {
    let server = github(vec![passing_run()], DispatchMode::RunDetails, false);
    server.fault(
        "GET",
        "/actions/runs/1001",
        1,
        Response::json(403, json!({"message": "API rate limit exceeded"}))
            .header("x-ratelimit-remaining", "0")
            .header("retry-after", "0.2"),
    );
    let run = run_github(&server, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rate limited (403): API rate limit exceeded; trying again in 0.2s"),
        "{}",
        run.stderr
    );
}

/// A run that vanished (404 on every poll) ends the wait with exit 8 after a
/// few polls instead of polling forever when no --timeout is given.
#[test]
fn azure_run_that_keeps_answering_404_ends_the_wait() {
    let server = azure(vec![vec![snap("inProgress", None, vec![])]]);
    server.fault(
        "GET",
        "/101",
        1000,
        Response::json(404, json!({"message": "build not found"})),
    );
    let run = run_azure(&server, &["--no-logs", "--attempts", "1"]);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(run.stderr.contains("build not found"), "{}", run.stderr);
    let polls = server.matching("GET", "/101").len();
    assert_eq!(polls, 5, "five fatal polls in a row end the wait");
}

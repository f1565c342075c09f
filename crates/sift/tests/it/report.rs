//! `sift report` and `--report FILE` on `plan`, `run` and `shard`: pages
//! written from the commands' real JSON, opened in a real browser (Debian's
//! Chromium, driven by playwright-core from Node: `tests/browser/report.mjs`)
//! that checks what a reader sees. Screenshots go to
//! `target/report-screenshots/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::*;

/// A configuration with rules, strategies of every kind and a `needs` chain.
const CONFIG: &str = r#"[components]
exclusive = ["linux", "macosx"]
inclusive = ["py-lint", "docs"]

[[rules]]
files = ["**/*.py", "!third_party/**"]
inclusive = ["py-lint"]

[[rules]]
files = ["kernel/**"]
exclusive = ["linux"]

[[rules]]
files = ["docs/**"]
inclusive = ["docs"]
exclusive = []

[[rules]]
files = ["tools/**"]
exclusive = []

[tasks.toolchain]
schedules = ["macosx"]

[tasks.build-linux]
schedules = ["macosx"]
needs = ["toolchain"]

[tasks.build-macosx]
schedules = ["macosx"]
needs = ["toolchain"]

[tasks.test-linux]
schedules = ["linux"]
needs = ["build-linux"]

[tasks.lint-py]
changed = ["**/*.py", "!third_party/**"]

[tasks.docs]
any = [{ schedules = ["docs"] }, { changed = ["README.md"] }]

[tasks.nightly]
always = true
"#;

/// The 1-based line of the `[[rules]]` header right before `files_line`.
fn rule_line(config: &str, files_line: &str) -> usize {
    let lines: Vec<&str> = config.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == files_line)
        .expect("files line");
    (0..at)
        .rev()
        .find(|&i| lines[i] == "[[rules]]")
        .expect("rules header")
        + 1
}

/// The 1-based line of `text` in `config`.
fn line_of(config: &str, text: &str) -> usize {
    config.lines().position(|l| l == text).expect("line") + 1
}

/// How to reach a browser: Node, playwright-core and Chromium. `None` (after
/// a note, or a panic in CI) when one is missing.
pub(crate) struct Browser {
    playwright: PathBuf,
    chromium: PathBuf,
}

fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

pub(crate) fn browser() -> Option<Browser> {
    let playwright = std::env::var_os("SIFT_TEST_PLAYWRIGHT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_target().join("npm/node_modules/playwright-core"));
    let chromium = std::env::var_os("SIFT_TEST_CHROMIUM")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        skip_or_fail("Node.js (`node`; scripts/test installs Debian's nodejs)");
        return None;
    }
    if !playwright.join("index.js").is_file() {
        skip_or_fail(&format!(
            "playwright-core at `{}` (set SIFT_TEST_PLAYWRIGHT; scripts/test installs it from npm)",
            playwright.display()
        ));
        return None;
    }
    if !chromium.is_file() {
        skip_or_fail(&format!(
            "Chromium at `{}` (set SIFT_TEST_CHROMIUM; scripts/test installs Debian's chromium)",
            chromium.display()
        ));
        return None;
    }
    Some(Browser {
        playwright,
        chromium,
    })
}

/// Runs the browser driver over `report` with `steps`; fails the test with
/// every problem it found. Returns the facts it measured.
pub(crate) fn drive(browser: &Browser, report: &Path, steps: Value) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("spec.json");
    let report = report.canonicalize().expect("the report exists");
    std::fs::write(
        &spec,
        json!({"report": report.display().to_string(), "steps": steps}).to_string(),
    )
    .expect("write spec");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/report.mjs");
    let output = Command::new("node")
        .arg(&script)
        .arg(&spec)
        .env("SIFT_TEST_PLAYWRIGHT", &browser.playwright)
        .env("SIFT_TEST_CHROMIUM", &browser.chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "the browser driver said nothing readable\nstdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let problems = result["problems"].as_array().cloned().unwrap_or_default();
    assert!(
        output.status.success() && problems.is_empty(),
        "in the browser, {}:\n{}\nstderr:\n{}",
        report.display(),
        problems
            .iter()
            .map(|p| format!("- {}", p.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    result["facts"].clone()
}

pub(crate) fn screenshot(name: &str) -> String {
    workspace_target()
        .join("report-screenshots")
        .join(format!("{name}.png"))
        .display()
        .to_string()
}

fn names_where(plan: &Value, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    plan["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| keep(t))
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

/// `sift plan --base main --format json --explain --report REPORT`.
fn explained_plan_with_report(repo: &TestRepo, report: &str) -> Value {
    repo.sift(&[
        "plan",
        "--base",
        "main",
        "--format",
        "json",
        "--explain",
        "--report",
        report,
    ])
    .json()
}

/// A repository with `config` on main and a branch that changes `changes`.
fn changed_repo(config: &str, changes: &[&str]) -> TestRepo {
    let repo = TestRepo::git();
    repo.write("sift.toml", config).write("README.md", "sift");
    repo.commit("initial");
    repo.git_ok(&["checkout", "-q", "-b", "feature"]);
    for path in changes {
        repo.write(path, "changed");
    }
    repo.commit("change");
    repo
}

#[test]
fn explain_adds_the_needs_and_the_why_of_every_task_to_the_plan_json() {
    let repo = changed_repo(CONFIG, &["kernel/a.c", "tools/x.py"]);
    let plain = repo
        .sift(&["plan", "--base", "main", "--format", "json"])
        .json();
    let task = |plan: &Value, name: &str| {
        plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap()
    };
    // Plain JSON stays as it was: small and fast for decision jobs.
    for t in plain["tasks"].as_array().unwrap() {
        assert_eq!(
            t.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["name", "reason", "run"]
        );
    }
    assert!(plain.get("component_evidence").is_none());

    let explained = repo
        .sift(&["plan", "--base", "main", "--format", "json", "--explain"])
        .json();
    // The same decisions, with the chain added.
    for (a, b) in plain["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(explained["tasks"].as_array().unwrap())
    {
        assert_eq!(
            (&a["name"], &a["run"], &a["reason"]),
            (&b["name"], &b["run"], &b["reason"])
        );
    }
    assert_eq!(
        task(&explained, "build-linux")["needs"],
        json!(["toolchain"])
    );
    assert_eq!(task(&explained, "lint-py")["needs"], json!([]));
    let kernel = rule_line(CONFIG, r#"files = ["kernel/**"]"#);
    assert_eq!(
        explained["component_evidence"]["linux"],
        json!({"files": [
            {"path": "kernel/a.c", "rules": [{"file": "sift.toml", "line": kernel, "pattern": "kernel/**", "effect": "exclusive"}], "every_exclusive": false}
        ], "more_may_exist": false})
    );
    assert_eq!(
        explained["component_evidence"]["py-lint"]["files"][0]["rules"][0]["effect"],
        "inclusive"
    );
    assert_eq!(
        task(&explained, "test-linux")["why"],
        json!({"defined_at": format!("sift.toml:{}", line_of(CONFIG, "[tasks.test-linux]")),
               "kind": "strategy", "evaluation": {
            "strategy": "schedules = [\"linux\"]", "keep": true,
            "summary": "schedules: linux affected (by kernel/a.c)", "affected": ["linux"]}})
    );
    assert_eq!(
        task(&explained, "toolchain")["why"],
        json!({"defined_at": format!("sift.toml:{}", line_of(CONFIG, "[tasks.toolchain]")),
               "kind": "needed_by",
               "needed_by": ["build-linux"],
               "nearest": ["test-linux", "build-linux"]})
    );
    assert_eq!(task(&explained, "build-macosx")["run"], false);
    let lint = &task(&explained, "lint-py")["why"]["evaluation"];
    assert_eq!(
        lint["matched"],
        json!({"path": "tools/x.py", "pattern": "**/*.py"})
    );
    // `docs`: a composite, evaluated up to its first keeping member.
    let docs = &task(&explained, "docs")["why"]["evaluation"];
    assert_eq!(docs["strategy"], "any");
    assert_eq!(docs["children"].as_array().unwrap().len(), 2);

    let run = repo.sift(&["plan", "--base", "main", "--explain"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--explain needs --format json"),
        "{}",
        run.stderr
    );
}

#[test]
fn report_checks_its_inputs_and_writes_one_file() {
    let repo = changed_repo(CONFIG, &["kernel/a.c"]);
    let plan = repo
        .sift(&["plan", "--base", "main", "--format", "json", "--explain"])
        .ok()
        .to_owned();
    repo.write("plan.json", &plan);

    let run = repo.sift(&["report", "--out", "r.html"]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    repo.write("broken.json", "{\"format_version\": 1,\n \"tasks\": [}");
    let run = repo.sift(&["report", "--plan", "broken.json", "--out", "r.html"]);
    assert_eq!(run.code, 11, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the plan is not a `sift plan --format json` document"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    assert!(!repo.path().join("r.html").exists());

    let run = repo.sift(&["report", "--run", "plan.json", "--out", "r.html"]);
    assert_eq!(run.code, 11, "{}", run.stderr);
    assert!(run.stderr.contains("pass it with --plan"), "{}", run.stderr);

    let run = repo.sift(&["report", "--plan", "missing.json", "--out", "r.html"]);
    assert_eq!(run.code, 5, "{}", run.stderr);

    // From stdin, and the same page as `plan --report`.
    let run = repo.sift_stdin(&["report", "--plan", "-", "--out", "r.html"], &plan);
    run.ok();
    assert!(run.stderr.contains("wrote `r.html`"), "{}", run.stderr);
    repo.sift(&[
        "plan",
        "--base",
        "main",
        "--report",
        "direct.html",
        "--format",
        "json",
    ])
    .ok();
    let html = std::fs::read_to_string(repo.path().join("r.html")).unwrap();
    let direct = std::fs::read_to_string(repo.path().join("direct.html")).unwrap();
    assert_eq!(html, direct);
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("\"test-linux\""));

    // A plan without explanations draws, with a note saying what is missing.
    let bare = repo
        .sift(&["plan", "--base", "main", "--format", "json"])
        .ok()
        .to_owned();
    repo.write("bare.json", &bare);
    let run = repo.sift(&["report", "--plan", "bare.json", "--out", "bare.html"]);
    run.ok();
    assert!(run.stderr.contains("--explain"), "{}", run.stderr);
}

#[test]
fn small_plan_in_a_browser() {
    let repo = changed_repo(CONFIG, &["kernel/a.c", "tools/x.py", "docs/a.md"]);
    let plan = explained_plan_with_report(&repo, "plan.html");
    let Some(browser) = browser() else { return };
    let kept = names_where(&plan, |t| t["run"] == true);
    let skipped = names_where(&plan, |t| t["run"] == false);
    assert!(!kept.is_empty() && !skipped.is_empty(), "{plan:#}");
    let kernel = rule_line(CONFIG, r#"files = ["kernel/**"]"#);
    let steps = json!([
        {"op": "counts", "expect": {
            "changed-files": plan["changed_files"].as_array().unwrap().len().to_string(),
            "components": plan["components"].as_array().unwrap().len().to_string(),
            "kept": kept.len().to_string(),
            "skipped": skipped.len().to_string(),
            "backstop": "not"}},
        {"op": "title", "contains": [&plan["base"].as_str().unwrap()[..12], &plan["head"].as_str().unwrap()[..12]]},
        {"op": "graph", "grouped": false, "nodes": 7, "edges": 3},
        {"op": "screenshot", "path": screenshot("plan"), "full_page": true},
        {"op": "panzoom"},
        {"op": "select", "task": "lint-py", "why_contains": [
            "changed = [\"**/*.py\", \"!third_party/**\"]", "changed file tools/x.py matches **/*.py",
            format!("sift.toml:{}", line_of(CONFIG, "[tasks.lint-py]"))]},
        {"op": "select", "task": "test-linux", "why_contains": [
            "strategy schedules = [\"linux\"] → keep: schedules: linux affected (by kernel/a.c)",
            "component linux affected by:", "changed file kernel/a.c",
            format!("rule sift.toml:{kernel} kernel/** → exclusive includes linux")]},
        {"op": "select", "task": "docs", "via": "list", "why_contains": [
            "strategy any → keep", "changed file docs/a.md",
            format!("rule sift.toml:{} docs/** → inclusive += docs", rule_line(CONFIG, r#"files = ["docs/**"]"#))]},
        {"op": "select", "task": "build-linux", "why_contains": [
            "Pulled in by kept tasks that need it", "test-linux: schedules: linux affected",
            "Nearest dependent kept by its own decision: test-linux",
            format!("rule sift.toml:{kernel} kernel/** → exclusive includes linux")]},
        {"op": "screenshot", "path": screenshot("plan-why"), "full_page": true},
        {"op": "filter", "q": "build-*", "rows": ["build-linux", "build-macosx"], "nodes": ["build-linux", "build-macosx"], "count": "2 of 7"},
        {"op": "filter", "q": "", "decision": "skipped", "rows": skipped, "nodes": skipped},
        {"op": "filter", "q": "lint, test-*", "decision": "kept", "rows": ["lint-py", "test-linux"]},
        {"op": "fragment", "fragment": "task=lint-py&q=lint", "task": "lint-py", "q": "lint", "rows": ["lint-py"]},
        {"op": "open"},
        {"op": "keyboard", "down": 6, "expect": "toolchain", "graph_right": ["build-linux", "build-macosx"]},
        {"op": "open", "dark": true},
        {"op": "select", "task": "toolchain", "why_contains": [
            "Nearest dependent kept by its own decision: test-linux (through build-linux)",
            format!("rule sift.toml:{kernel} kernel/** → exclusive includes linux")]},
        {"op": "screenshot", "path": screenshot("plan-dark"), "full_page": true},
        {"op": "safe"}
    ]);
    drive(&browser, &repo.path().join("plan.html"), steps);
}

/// A taskgraph graph's plan (`sift plan --graph --report`): the graph's
/// dependencies drawn, each task's decision in taskgraph's words, and the
/// moz.build block behind each push component in the why panel.
#[test]
fn graph_plan_in_a_browser() {
    let repo = TestRepo::plain();
    repo.write(
        "moz.build",
        "with Files('docs/**'):\n    SCHEDULES.exclusive = ['docs']\n",
    )
    .write(
        "graph.json",
        r#"{"build-linux": {"optimization": {"build": ["linux", "firefox"]}},
            "docs": {"optimization": {"skip-unless-schedules": ["docs"]}, "dependencies": {"toolchain": "toolchain"}},
            "test-linux": {"optimization": {"test": ["linux"]}, "dependencies": {"build": "build-linux"}},
            "toolchain": {"optimization": null}}"#,
    )
    .write("params.yml", "files_changed:\n- docs/a.md\n");
    let plan = crate::mozilla::graph_plan(
        &repo,
        "params.yml",
        &["--format", "json", "--explain", "--report", "graph.html"],
    )
    .json();
    let Some(browser) = browser() else { return };
    assert_eq!(
        names_where(&plan, |t| t["run"] == true),
        ["docs", "toolchain"]
    );
    let steps = json!([
        {"op": "counts", "expect": {"changed-files": "1", "components": "1", "kept": "2", "skipped": "2", "backstop": "not"}},
        {"op": "graph", "grouped": false, "nodes": 4, "edges": 2},
        {"op": "select", "task": "docs", "why_contains": [
            "graph.json: docs",
            "skip-unless-schedules (skip-unless-schedules): docs affected (by docs/a.md)",
            "changed file docs/a.md", "moz.build:1"]},
        {"op": "select", "task": "toolchain", "why_contains": [
            "Pulled in by kept tasks that need it", "Nearest dependent kept by its own decision: docs"]},
        {"op": "select", "task": "test-linux", "via": "list", "why_contains": [
            "test (skip-unless-schedules): none of linux affected"]},
        {"op": "screenshot", "path": screenshot("graph-plan"), "full_page": true},
        {"op": "safe"}
    ]);
    drive(&browser, &repo.path().join("graph.html"), steps);
}

/// Seconds as the page writes them (`seconds()` in report.js).
fn page_seconds(s: f64) -> String {
    if s < 60.0 {
        if s < 10.0 {
            format!("{s:.2} s")
        } else {
            format!("{s:.1} s")
        }
    } else {
        let whole = s.round() as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[test]
fn failed_run_in_a_browser() {
    let config = r#"
[tasks.toolchain]
run = "sleep 0.3"

[tasks.build]
needs = ["toolchain"]
run = "sleep 0.5"

[tasks.test]
needs = ["build"]
run = "sleep 0.4; exit 3"

[tasks.package]
needs = ["test"]
run = "true"

[tasks.lint]
run = "sleep 0.2"

[tasks.audit]
run = "sleep 0.6"

[tasks.docs]
changed = ["docs/**"]
run = "true"
"#;
    let repo = changed_repo(config, &["src/a.rs"]);
    let run = repo.sift(&[
        "run", "--base", "main", "-j", "2", "--format", "json", "--report", "run.html",
    ]);
    assert_eq!(run.code, 12, "{}", run.stderr);
    let report = run.json_any();
    assert_eq!(report["jobs"], 2);
    assert!(report["wall_s"].as_f64().unwrap() >= 1.2, "{report:#}");
    let task = |name: &str| {
        report["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(task("build")["needs"], json!(["toolchain"]));
    // Started after its need ended, and measured to the millisecond.
    let start = |name: &str| task(name)["start_s"].as_f64().unwrap();
    assert!(start("build") >= start("toolchain") + 0.29, "{report:#}");
    assert!(task("package")["start_s"].is_null());
    let Some(browser) = browser() else { return };
    let started = names_where(&report, |t| t["start_s"].is_number());
    let count = |result: &str| names_where(&report, |t| t["result"] == result);
    let steps = json!([
        {"op": "counts", "expect": {
            "kept": "6", "skipped": "1",
            "succeeded": (count("succeeded").len() + count("nothing_to_run").len()).to_string(),
            "failed": "1", "run-skipped": "1",
            "wall": page_seconds(report["wall_s"].as_f64().unwrap()).split(' ').next().unwrap()}},
        {"op": "gantt", "bars": started.len(), "slots": 2, "failed": ["test"],
         "critical": ["toolchain", "build", "test"], "failed_first": ["test"],
         "note_contains": ["Critical path (◆, outlined): toolchain → build → test", "1 kept task never started"]},
        {"op": "graph", "grouped": false, "nodes": 7, "edges": 3},
        {"op": "screenshot", "path": screenshot("run"), "full_page": true},
        {"op": "select", "task": "test", "why_contains": ["failed, exit code 3", "Nearest dependent kept by its own decision: package", "none: a task without a strategy always runs"]},
        {"op": "select", "task": "package", "via": "list", "why_contains": ["need failed", "needs test, which failed"]},
        {"op": "filter", "result": "failed", "rows": ["test"], "nodes": ["test"]},
        {"op": "filter", "result": "skipped", "rows": ["package"]},
        {"op": "filter", "result": "", "decision": "skipped", "rows": ["docs"]},
        {"op": "safe"}
    ]);
    drive(&browser, &repo.path().join("run.html"), steps);

    // The dry run draws the expected schedule from the durations just recorded.
    repo.sift(&[
        "run",
        "--base",
        "main",
        "-j",
        "2",
        "--dry-run",
        "--report",
        "dry.html",
    ])
    .ok();
    let steps = json!([
        {"op": "counts", "expect": {"kept": "6"}},
        {"op": "gantt", "bars": 6, "slots": 2, "failed": [],
         "critical": ["toolchain", "build", "test", "package"],
         "note_contains": ["Expected", "toolchain → build → test → package"]},
        {"op": "title", "contains": ["dry run"]},
        {"op": "screenshot", "path": screenshot("dry-run"), "full_page": true},
        {"op": "safe"}
    ]);
    drive(&browser, &repo.path().join("dry.html"), steps);
}

#[test]
fn shards_in_a_browser() {
    let repo = TestRepo::plain();
    let mut times = serde_json::Map::new();
    for i in 0..40 {
        times.insert(format!("test_{i:02}"), json!(f64::from(i * 37 % 97 + 3)));
    }
    times.insert("test_slow".to_owned(), json!(1300.0));
    repo.write("times.json", &Value::Object(times).to_string());
    let run = repo.sift(&[
        "shard",
        "--shards",
        "4",
        "--times",
        "times.json",
        "--format",
        "json",
        "--report",
        "shards.html",
    ]);
    let shards = run.json();
    // `sift report --shards` draws the same page.
    repo.write("shards.json", run.ok());
    repo.sift(&["report", "--shards", "shards.json", "--out", "again.html"])
        .ok();
    assert_eq!(
        std::fs::read(repo.path().join("shards.html")).unwrap(),
        std::fs::read(repo.path().join("again.html")).unwrap()
    );
    let Some(browser) = browser() else { return };
    let bound = shards["lower_bound_seconds"].as_f64().unwrap();
    let slowest = shards["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["expected_seconds"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let steps = json!([
        {"op": "counts", "expect": {"shards": "4", "lower-bound": page_seconds(bound).split(' ').next().unwrap(),
                                    "slowest-shard": page_seconds(slowest).split(' ').next().unwrap()}},
        {"op": "shards", "bars": 4, "bound": format!("lower bound {}", page_seconds(bound))},
        {"op": "text", "contains": ["Each bar is one shard's expected seconds"]},
        {"op": "screenshot", "path": screenshot("shards"), "full_page": true},
        {"op": "safe"}
    ]);
    drive(&browser, &repo.path().join("shards.html"), steps);
}

#[test]
fn hostile_names_are_text_in_a_browser() {
    let config = r#"[components]
inclusive = ["docs"]

[[rules]]
files = ["docs/**"]
inclusive = ["docs"]

[tasks."</script><img/src=x/onerror=alert(1)>"]
schedules = ["docs"]

[tasks."\"quoted'&amp;"]
needs = ["</script><img/src=x/onerror=alert(1)>"]
changed = ["docs/**"]

[tasks."<!--x-->"]
changed = ["nothing/**"]
"#;
    let repo = changed_repo(config, &["docs/<svg onload=alert(1)>.md"]);
    let plan = explained_plan_with_report(&repo, "plan.html");
    assert_eq!(plan["tasks"].as_array().unwrap().len(), 3);
    // A hand-written document may hold what sift.toml cannot (spaces).
    let hand = json!({"format_version": 1, "base": "<b>base</b>", "head": null,
        "changed_files": [{"path": "<img src=x onerror=alert(2)>", "status": "modified"}],
        "components": ["<i>c</i>"], "push": null,
        "component_evidence": {"<i>c</i>": {"files": [{"path": "<img src=x onerror=alert(2)>",
            "rules": [{"file": "</script>", "line": 1, "pattern": "<script>alert(3)</script>", "effect": "inclusive"}],
            "every_exclusive": false}], "more_may_exist": false}},
        "tasks": [{"name": "<img src=x onerror=alert(1)>", "run": true, "reason": "<b>bold</b>", "needs": [],
            "why": {"defined_at": "<!-- x", "kind": "strategy", "evaluation": {"strategy": "<script>", "keep": true,
                "summary": "</script>", "affected": ["<i>c</i>"]}}}]});
    repo.write("hand.json", &hand.to_string());
    repo.sift(&["report", "--plan", "hand.json", "--out", "hand.html"])
        .ok();
    let Some(browser) = browser() else { return };
    let hostile = "</script><img/src=x/onerror=alert(1)>";
    drive(
        &browser,
        &repo.path().join("plan.html"),
        json!([
            {"op": "safe"},
            {"op": "text", "contains": [hostile, "\"quoted'&amp;", "<!--x-->"]},
            {"op": "select", "task": hostile, "why_contains": ["changed file docs/<svg onload=alert(1)>.md"]},
            {"op": "select", "task": "\"quoted'&amp;", "via": "list", "why_contains": [hostile]},
            {"op": "filter", "q": "<!--*", "rows": ["<!--x-->"], "nodes": ["<!--x-->"]},
            {"op": "fragment", "fragment": format!("task={}", urlencode(hostile)), "task": hostile},
            {"op": "screenshot", "path": screenshot("hostile"), "full_page": true},
            {"op": "safe"}
        ]),
    );
    drive(
        &browser,
        &repo.path().join("hand.html"),
        json!([
            {"op": "safe"},
            {"op": "select", "task": "<img src=x onerror=alert(1)>", "why_contains": [
                "<b>bold</b>", "<!-- x", "strategy <script> → keep: </script>",
                "component <i>c</i> affected by:", "changed file <img src=x onerror=alert(2)>",
                "rule </script>:1 <script>alert(3)</script> → inclusive += <i>c</i>"]},
            {"op": "text", "contains": ["<b>base</b>"]},
            {"op": "safe"}
        ]),
    );
}

/// `application/x-www-form-urlencoded`, as URLSearchParams writes it.
fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(byte as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `levels` levels of `width` tasks; each task past the first level needs
/// two of the level before. Tasks whose index ends in 7 or 42 (mod 100) are
/// kept by a change to `src/m7/` and `src/m42/`; every 50th schedules `core`,
/// which a rule gives to `src/m7/**`.
fn layered_config(levels: usize, width: usize, run: Option<&str>) -> String {
    let mut config = String::from(
        "[components]\ninclusive = [\"core\"]\n\n[[rules]]\nfiles = [\"src/m7/**\"]\ninclusive = [\"core\"]\n",
    );
    for level in 0..levels {
        for i in 0..width {
            config.push_str(&format!("\n[tasks.l{level}-t{i:04}]\n"));
            if i % 50 == 0 {
                config.push_str("schedules = [\"core\"]\n");
            } else {
                config.push_str(&format!("changed = [\"src/m{}/**\"]\n", i % 100));
            }
            if level > 0 {
                let other = (i * 7 + 3) % width;
                let mut needs = vec![format!("l{}-t{i:04}", level - 1)];
                if other != i {
                    needs.push(format!("l{}-t{other:04}", level - 1));
                }
                config.push_str(&format!("needs = {needs:?}\n"));
            }
            if let Some(run) = run {
                config.push_str(&format!("run = \"{run}\"\n"));
            }
        }
    }
    config
}

#[test]
fn ten_thousand_tasks_in_a_browser() {
    let config = layered_config(10, 1000, None);
    let repo = TestRepo::plain();
    repo.write("sift.toml", &config);
    let run = repo.sift_stdin(
        &[
            "plan",
            "--files-from",
            "-",
            "--format",
            "json",
            "--explain",
            "--report",
            "big.html",
        ],
        "src/m7/a.rs\nsrc/m42/b.rs\n",
    );
    let plan = run.json();
    let kept = names_where(&plan, |t| t["run"] == true);
    let total = plan["tasks"].as_array().unwrap().len();
    assert_eq!(total, 10_000);
    let size = std::fs::metadata(repo.path().join("big.html"))
        .unwrap()
        .len();
    let Some(browser) = browser() else { return };
    let core = rule_line(&config, "files = [\"src/m7/**\"]");
    let facts = drive(
        &browser,
        &repo.path().join("big.html"),
        json!([
            {"op": "timing"},
            {"op": "counts", "expect": {"kept": format_thousands(kept.len()),
                "skipped": format_thousands(total - kept.len())}},
            {"op": "graph", "grouped": true, "note": "are too many to draw one by one"},
            {"op": "screenshot", "path": screenshot("ten-thousand"), "full_page": false},
            {"op": "select", "task": "l9-t0050", "via": "list", "why_contains": [
                "strategy schedules = [\"core\"] → keep", format!("rule sift.toml:{core} src/m7/** → inclusive += core")]},
            {"op": "filter", "q": "l9-t004*", "rows": (0..10).map(|i| format!("l9-t004{i}")).collect::<Vec<_>>(), "count": "10 of 10,000"},
            {"op": "open"},
            {"op": "open_group", "max_nodes": 1000},
            {"op": "screenshot", "path": screenshot("ten-thousand-group"), "full_page": false},
            {"op": "safe"}
        ]),
    );
    // A benchmark, not an assertion: shown with `--nocapture`.
    println!(
        "report benchmark: 10,000 tasks ({} kept), page {} KB: first contentful paint {} ms, drawn (interactive) {} ms, first frame painted with everything drawn {} ms",
        kept.len(),
        size / 1024,
        facts["first_contentful_paint_ms"],
        facts["drawn_ms"],
        facts["painted_ms"]
    );
}

fn format_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn a_thousand_tasks_and_their_run_fit_in_a_megabyte() {
    let config = layered_config(10, 100, Some("true"));
    let repo = TestRepo::git();
    repo.write("sift.toml", &config);
    repo.commit("initial");
    let run = repo.sift(&[
        "run", "--all", "-j", "2", "--format", "json", "--report", "run.html",
    ]);
    let report = run.json();
    assert_eq!(
        names_where(&report, |t| t["result"] == "succeeded").len(),
        1000
    );
    let size = std::fs::metadata(repo.path().join("run.html"))
        .unwrap()
        .len();
    println!("report size: 1,000 tasks and their run: {} KB", size / 1024);
    assert!(size < 1024 * 1024, "{size} bytes");
    let Some(browser) = browser() else { return };
    let facts = drive(
        &browser,
        &repo.path().join("run.html"),
        json!([
            {"op": "timing"},
            {"op": "graph", "grouped": false, "nodes": 1000},
            {"op": "gantt", "bars": 1000, "slots": 2},
            {"op": "screenshot", "path": screenshot("thousand-run"), "full_page": false},
            {"op": "safe"}
        ]),
    );
    println!(
        "report benchmark: 1,000 tasks and their run: first contentful paint {} ms, drawn (interactive) {} ms, first frame painted with everything drawn {} ms",
        facts["first_contentful_paint_ms"], facts["drawn_ms"], facts["painted_ms"]
    );
}

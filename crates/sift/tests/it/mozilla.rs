//! Mozilla's own inputs: moz.build files (`sift files --mozbuild`, `sift plan
//! --mozbuild`, `sift check --mozbuild`) and taskgraph graphs (`sift plan
//! --graph`), the latter checked against taskgraph's real optimizer.

use std::process::Command;

use crate::{TestRepo, kept, python, skip_or_fail};

const ROOT_MOZBUILD: &str = r#"
with Files("docs/**"):
    SCHEDULES.exclusive = ["docs"]

with Files("**/*.py"):
    SCHEDULES.inclusive += ["py-lint"]

with Files("*gradle*"):
    SCHEDULES.exclusive = ["android"]

if CONFIG["OS_TARGET"] == "WINNT":
    with Files("widget/windows/**"):
        SCHEDULES.exclusive = ["windows"]
"#;

fn gecko_tree() -> TestRepo {
    let repo = TestRepo::plain();
    repo.write("moz.build", ROOT_MOZBUILD).write(
        "widget/cocoa/moz.build",
        "with Files('**'):\n    SCHEDULES.exclusive = ['macosx']\n",
    );
    repo
}

#[test]
fn files_mozbuild_prints_machs_union() {
    let repo = gecko_tree();
    let out = repo.sift(&["files", "--mozbuild", "docs/a.md", "widget/cocoa/x.py"]);
    assert_eq!(out.ok(), "docs, macosx, py-lint\n");
    let json = repo
        .sift(&["files", "--mozbuild", "--json", "build.gradle", "dom/a.cpp"])
        .json();
    assert_eq!(
        json["paths"][0]["components"],
        serde_json::json!(["android"])
    );
    assert_eq!(json["paths"][0]["blocks"][0]["location"], "moz.build:8");
    assert_eq!(json["paths"][1]["exclusive"], serde_json::Value::Null);
    assert_eq!(json["components"].as_array().unwrap().len(), 37);
    // Wildcards are expanded against the work tree as mach's finder does:
    // everything below a matched directory, no dotfiles, each path once.
    repo.write("widget/cocoa/a.mm", "")
        .write("widget/cocoa/sub/b.py", "")
        .write("widget/cocoa/.hidden/c.py", "")
        .write("widget/cocoa/.dotfile", "")
        .write("docs/index.rst", "");
    let json = repo
        .sift(&[
            "files",
            "--mozbuild",
            "--json",
            "widget/cocoa/*",
            "widget/cocoa/a.mm",
            "**/*.rst",
            "**.md",
        ])
        .json();
    let paths: Vec<&str> = json["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "widget/cocoa/a.mm",
            "widget/cocoa/moz.build",
            "widget/cocoa/sub/b.py",
            "docs/index.rst"
        ]
    );
    assert_eq!(
        json["paths"][2]["components"],
        serde_json::json!(["macosx", "py-lint"])
    );
    // A pattern that names a dot path finds dot paths.
    let json = repo
        .sift(&["files", "--mozbuild", "--json", "widget/cocoa/.hidden/*"])
        .json();
    assert_eq!(
        json["paths"][0]["path"], "widget/cocoa/.hidden/c.py",
        "{json}"
    );
    let out = repo.sift(&["files", "--mozbuild", "nothing/*"]);
    assert_eq!(out.ok(), "\n");
    assert!(
        out.stderr.contains("`nothing/*` matches no file"),
        "{}",
        out.stderr
    );
}

#[test]
fn moz_build_errors_and_unreadable_files() {
    let repo = gecko_tree();
    repo.write(
        "dom/moz.build",
        "with Files('*'):\n    SCHEDULES.exclusive = ['linx']\n",
    );
    let out = repo.sift(&["files", "--mozbuild", "dom/a.cpp"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("dom/moz.build:2"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did you mean `linux`"),
        "{}",
        out.stderr
    );
    repo.write("dom/moz.build", "with Files('*':\n");
    let out = repo.sift(&["files", "--mozbuild", "--json", "dom/a.cpp"]);
    let json = out.json();
    assert!(
        out.stderr.contains("cannot read `dom/moz.build`"),
        "{}",
        out.stderr
    );
    assert!(
        json["paths"][0]["uncertain"][0]
            .as_str()
            .unwrap()
            .starts_with("dom/moz.build:1")
    );
    assert_eq!(json["components"].as_array().unwrap().len(), 37);
}

#[test]
fn plan_reads_moz_build_before_rule_files() {
    let repo = gecko_tree();
    repo.write(
        "sift.toml",
        r#"components = "gecko"

[mozbuild]
enabled = true

[[rules]]
files = ["widget/cocoa/generated/**"]
exclusive = ["linux"]

[tasks.build-macosx]
schedules = ["macosx", "firefox"]

[tasks.build-linux]
schedules = ["linux"]

[tasks.docs]
schedules = ["docs"]
"#,
    );
    let plan = repo
        .sift_stdin(
            &["plan", "--files-from", "-", "--format", "json"],
            "widget/cocoa/a.mm\ndocs/x.rst\n",
        )
        .json();
    assert_eq!(kept(&plan), ["build-macosx", "docs"]);
    assert_eq!(plan["components"], serde_json::json!(["docs", "macosx"]));
    // A sift.toml rule applies after moz.build: its exclusive wins.
    let plan = repo
        .sift_stdin(
            &["plan", "--files-from", "-", "--format", "json"],
            "widget/cocoa/generated/a.h\n",
        )
        .json();
    assert_eq!(kept(&plan), ["build-linux"]);
    // `sift files` shows the moz.build blocks before the rules.
    let out = repo.sift(&["files", "widget/cocoa/generated/a.h"]);
    assert!(
        out.ok()
            .contains("  moz.build widget/cocoa/moz.build:1 `**`\n  rule sift.toml:"),
        "{}",
        out.stdout
    );
    // An unreadable moz.build: a warning in the plan, every exclusive component.
    repo.write("widget/cocoa/moz.build", "with Files('**':\n");
    let out = repo.sift_stdin(
        &["plan", "--files-from", "-", "--format", "json"],
        "widget/cocoa/a.mm\n",
    );
    let plan = out.json();
    assert_eq!(kept(&plan), ["build-linux", "build-macosx"]);
    assert!(
        plan["warnings"][0]
            .as_str()
            .unwrap()
            .contains("widget/cocoa/moz.build:1"),
        "{plan}"
    );
    // An unknown preset is a configuration error with its location.
    repo.write("sift.toml", "components = \"geko\"\n");
    let out = repo.sift(&["plan", "--files-from", "/dev/null"]);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("sift.toml:1:14"), "{}", out.stderr);
}

#[test]
fn check_lists_conditional_blocks() {
    let repo = gecko_tree();
    let out = repo.sift(&["check", "--mozbuild"]);
    assert!(
        out.stderr
            .contains("moz.build:12: `with Files` under a condition"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("read 2 moz.build file(s)"),
        "{}",
        out.stderr
    );
    // include(): followed where it stands, listed under a condition.
    repo.write(
        "gfx/moz.build",
        "include('gfx.mozbuild')\nif CONFIG['OS'] == 'WINNT':\n    include('win.mozbuild')\n",
    )
    .write(
        "gfx/gfx.mozbuild",
        "\nwith Files('**'):\n    SCHEDULES.exclusive = ['windows']\n",
    );
    let out = repo.sift(&["check", "--mozbuild"]);
    assert!(
        out.stderr
            .contains("gfx/moz.build:3: `include()` under a condition"),
        "{}",
        out.stderr
    );
    let json = repo
        .sift(&["files", "--mozbuild", "--json", "gfx/a.cpp"])
        .json();
    assert_eq!(json["components"], serde_json::json!(["windows"]), "{json}");
    assert_eq!(
        json["paths"][0]["blocks"][0]["location"], "gfx/gfx.mozbuild:2",
        "{json}"
    );
    repo.write("gfx/moz.build", "include('missing.mozbuild')\n");
    let out = repo.sift(&["files", "--mozbuild", "--json", "gfx/a.cpp"]);
    assert!(
        out.stderr.contains("`gfx/missing.mozbuild` not found"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["components"].as_array().unwrap().len(), 37);
}

/// (label, dependencies, optimization, if_dependencies, always_target)
type GraphTaskSpec = (String, Vec<String>, serde_json::Value, Vec<String>, bool);

/// `sift plan --graph graph.json --params PARAMS REST...` in `repo`.
pub(crate) fn graph_plan(repo: &TestRepo, params: &str, rest: &[&str]) -> crate::Run {
    let mut args = vec!["plan", "--graph", "graph.json", "--params", params];
    args.extend_from_slice(rest);
    repo.sift(&args)
}

/// [`graph_plan`] with `params.json`, recorded as a push of `autoland` in
/// `store`.
fn recorded_graph_plan(repo: &TestRepo, store: &str, rest: &[&str]) -> crate::Run {
    let record = ["--record", "--branch", "autoland", "--store", store];
    graph_plan(repo, "params.json", &[&record[..], rest].concat())
}

fn graph_json(tasks: &[GraphTaskSpec]) -> String {
    let mut doc = serde_json::Map::new();
    for (label, deps, optimization, if_deps, always_target) in tasks {
        let deps: serde_json::Map<String, serde_json::Value> = deps
            .iter()
            .map(|d| (format!("dep-{d}"), serde_json::json!(d)))
            .collect();
        doc.insert(
            label.clone(),
            serde_json::json!({
                "kind": "test", "label": label, "description": "",
                "attributes": {"always_target": always_target},
                "task": {"metadata": {"name": label}, "deadline": {"relative-datestamp": "1 day"}, "payload": {"command": ["true"]}},
                "dependencies": deps, "soft_dependencies": [],
                "if_dependencies": if_deps, "optimization": optimization,
            }),
        );
    }
    serde_json::to_string(&doc).unwrap()
}

/// taskgraph's real `optimize_task_graph` on the same inputs, under a hash
/// seed; `Err` when taskgraph itself fails (e.g. "Optimization error").
const TASKGRAPH_OPTIMIZE: &str = r#"
import json, sys
from taskgraph.graph import Graph
from taskgraph.optimize.base import OptimizationStrategy, Alias, register_strategy, optimize_task_graph
from taskgraph.taskgraph import TaskGraph

push = set()

class SkipUnlessSchedules(OptimizationStrategy):
    # gecko_taskgraph's rule (reference 4.1); the push components come from
    # `sift files --mozbuild` (mozbuild is not on PyPI).
    def should_remove_task(self, task, params, conditions):
        if params.get("pushlog_id") == -1:
            return False
        return not (set(conditions) & push)

register_strategy("skip-unless-schedules")(SkipUnlessSchedules)
for alias in ("test", "build"):
    register_strategy(alias, args=("skip-unless-schedules",))(Alias)

answers = []
for case in json.load(open(sys.argv[1])):
    push.clear()
    push.update(case["components"])
    _, full = TaskGraph.from_json(case["graph"])
    params = case["params"]
    targets = set(case["targets"])
    always = {t.label for t in full.tasks.values() if t.attributes.get("always_target")}
    requested = targets | always
    target_graph = full.graph.transitive_closure(requested)
    target_task_graph = TaskGraph({l: full.tasks[l] for l in target_graph.nodes}, target_graph)
    try:
        optimized, _ = optimize_task_graph(target_task_graph, requested, params, set(params.get("do_not_optimize", [])), "DECISION")
        answers.append({"kept": sorted(t.label for t in optimized.tasks.values())})
    except Exception as e:
        answers.append({"error": str(e)})
print(json.dumps(answers))
"#;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }
}

fn taskgraph_available() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import taskgraph.optimize.base"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip_or_fail(&format!("taskcluster-taskgraph in `{}`", python()));
    }
    ok
}

/// Random graphs of every feature sift reads (dependencies, targets,
/// always_target, do_not_optimize, if_dependencies, skip-unless-changed with
/// mozpath patterns, skip-unless-schedules and its aliases, always/never),
/// optimized by taskgraph under four hash seeds and by `sift plan --graph`.
/// Where taskgraph agrees with itself, sift must give the same kept set;
/// where its answer depends on the seed or it fails, sift keeps a superset.
#[test]
fn graph_plans_match_taskgraphs_optimizer() {
    if !taskgraph_available() {
        return;
    }
    let repo = gecko_tree();
    repo.write("opt.py", TASKGRAPH_OPTIMIZE);
    let patterns = [
        "docs/**",
        "**/*.py",
        "**.py",
        "*gradle*",
        "widget/*/bar",
        "widget",
        "taskcluster/scripts",
        "dom/**/test/**",
        "*",
        "dom/base/*.cpp",
        "third_party/rust/**",
        "",
    ];
    let files = [
        "docs/index.rst",
        "a.py",
        "dom/base/x.py",
        "build.gradle",
        "widget/cocoa/bar",
        "widget/bar",
        "taskcluster/scripts/run.sh",
        "dom/base/test/t.html",
        "dom/base/a.cpp",
        "third_party/rust/x/lib.rs",
        "widget/cocoa/x.mm",
    ];
    let components = [
        "linux",
        "macosx",
        "windows",
        "android",
        "docs",
        "py-lint",
        "firefox",
        "mochitest",
    ];
    let mut rng = Lcg(7);
    let mut cases = Vec::new();
    let mut sift_answers = Vec::new();
    for case in 0..200 {
        let n = 3 + rng.next() as usize % 9;
        let mut tasks = Vec::new();
        if case == 0 {
            // taskgraph issue #711: its answer depends on the hash seed.
            let none = serde_json::Value::Null;
            let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
            tasks = vec![
                (
                    "task-a".to_owned(),
                    vec![],
                    serde_json::json!({"skip-unless-changed": ["world"]}),
                    vec![],
                    false,
                ),
                (
                    "task-apush-a".to_owned(),
                    s(&["task-a"]),
                    none.clone(),
                    s(&["task-a"]),
                    false,
                ),
                ("task-b".to_owned(), vec![], none.clone(), vec![], false),
                (
                    "final".to_owned(),
                    s(&["task-apush-a", "task-b"]),
                    none,
                    s(&["task-apush-a", "task-b"]),
                    false,
                ),
            ];
        }
        for i in 0..n {
            let label = format!("t{i}");
            let deps: Vec<String> = (0..i)
                .filter(|_| rng.next().is_multiple_of(4))
                .map(|j| format!("t{j}"))
                .collect();
            let optimization = match rng.next() % 9 {
                0 => serde_json::Value::Null,
                1 => serde_json::json!({"never": null}),
                2 => serde_json::json!({"always": null}),
                3 | 4 => {
                    let count = rng.next() as usize % 3;
                    let list: Vec<&str> = (0..count).map(|_| *rng.pick(&patterns)).collect();
                    serde_json::json!({"skip-unless-changed": list})
                }
                5 => serde_json::json!({"test": [rng.pick(&components), rng.pick(&components)]}),
                6 => serde_json::json!({"build": [rng.pick(&components)]}),
                _ => serde_json::json!({"skip-unless-schedules": [rng.pick(&components)]}),
            };
            let if_deps: Vec<String> = deps
                .iter()
                .filter(|_| rng.next().is_multiple_of(3))
                .cloned()
                .collect();
            tasks.push((
                label,
                deps,
                optimization,
                if_deps,
                rng.next().is_multiple_of(10),
            ));
        }
        let mut targets: Vec<String> = (0..n)
            .filter(|_| !rng.next().is_multiple_of(3))
            .map(|i| format!("t{i}"))
            .collect();
        if case == 0 {
            targets = tasks.iter().map(|t| t.0.clone()).collect();
        }
        let mut changed: Vec<&str> = (0..1 + rng.next() as usize % 3)
            .map(|_| *rng.pick(&files))
            .collect();
        if case == 0 {
            changed = vec!["hello"];
        }
        let mut params = serde_json::json!({"files_changed": changed, "pushlog_id": "42"});
        if case > 0 && rng.next().is_multiple_of(6) {
            params["do_not_optimize"] =
                serde_json::json!([format!("t{}", rng.next() as usize % n)]);
        }
        let graph = graph_json(&tasks);
        repo.write("graph.json", &graph)
            .write("targets.json", &serde_json::to_string(&targets).unwrap())
            .write("params.json", &params.to_string());
        let mut args = vec!["files", "--mozbuild", "--json"];
        args.extend(changed.iter().copied());
        let union = repo.sift(&args).json()["components"].clone();
        let out = graph_plan(
            &repo,
            "params.json",
            &["--target-tasks", "targets.json", "--format", "taskgraph"],
        );
        let sift: Vec<String> = serde_json::from_str(out.ok()).unwrap();
        sift_answers.push(sift);
        cases.push(serde_json::json!({
            "graph": serde_json::from_str::<serde_json::Value>(&graph).unwrap(),
            "targets": targets, "params": params, "components": union,
        }));
    }
    repo.write(
        "cases.json",
        &serde_json::Value::from(cases.clone()).to_string(),
    );
    let mut by_seed = Vec::new();
    for seed in ["0", "1", "2", "3"] {
        let run = Command::new(python())
            .args(["opt.py", "cases.json"])
            .current_dir(repo.path())
            .env("PYTHONHASHSEED", seed)
            .output()
            .expect("python runs");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let answers: Vec<serde_json::Value> = serde_json::from_slice(&run.stdout).unwrap();
        by_seed.push(answers);
    }
    let (mut exact, mut conservative) = (0, 0);
    for (case, sift) in sift_answers.iter().enumerate() {
        let answers: Vec<&serde_json::Value> = by_seed.iter().map(|a| &a[case]).collect();
        let all_same = answers.iter().all(|a| *a == answers[0]);
        let context = format!(
            "case {case}: {}\nsift {sift:?}\ntaskgraph {answers:?}",
            cases[case]
        );
        if all_same && answers[0].get("kept").is_some() {
            let expected: Vec<String> = serde_json::from_value(answers[0]["kept"].clone()).unwrap();
            assert_eq!(*sift, expected, "{context}");
            exact += 1;
        } else {
            for answer in &answers {
                if let Some(kept) = answer.get("kept") {
                    let kept: Vec<String> = serde_json::from_value(kept.clone()).unwrap();
                    assert!(kept.iter().all(|k| sift.contains(k)), "{context}");
                }
            }
            conservative += 1;
        }
    }
    eprintln!(
        "{exact} graphs identical to taskgraph, {conservative} where taskgraph depends on the hash seed or fails"
    );
    assert!(exact >= 150, "too few comparable cases: {exact}");
    assert!(
        conservative >= 1,
        "issue #711's graph should depend on the hash seed"
    );
}

#[test]
fn graph_inputs_errors_and_formats() {
    let repo = gecko_tree();
    repo.write(
        "graph.json",
        "{\"a\": {\"optimization\": {\"always\": null}},\n \"b\": ",
    );
    let out = repo.sift(&["plan", "--graph", "graph.json", "--files-from", "/dev/null"]);
    assert_eq!(out.code, 11, "{out:?}");
    assert!(
        out.stderr
            .contains("graph.json:2:6: invalid task graph: EOF while parsing a value"),
        "{}",
        out.stderr
    );
    let out = repo.sift(&["plan", "--format", "taskgraph", "--files-from", "/dev/null"]);
    assert_eq!(out.code, 2);
    let out = repo.sift(&["plan", "--backstop", "--files-from", "/dev/null"]);
    assert_eq!(out.code, 2);
    repo.write(
        "graph.json",
        r#"{"lint": {"optimization": {"skip-unless-changed": ["**/*.py"]}, "dependencies": {}},
            "backstop-only": {"optimization": {"skip-unless-backstop": null}},
            "expanded-only": {"optimization": {"skip-unless-expanded": null}},
            "bugbug": {"optimization": {"bugbug-low": {}}},
            "test-linux": {"optimization": {"test": ["linux", "firefox"]}, "dependencies": {"build": "build-linux"}},
            "build-linux": {"optimization": {"build": ["linux", "firefox"]}}}"#,
    );
    repo.write(
        "params.yml",
        "files_changed:\n- docs/a.md\npushlog_id: '41'\nbackstop: false\n",
    );
    let out = graph_plan(&repo, "params.yml", &["--format", "taskgraph", "--removed"]);
    let json: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(json["kept"], serde_json::json!(["bugbug"]));
    assert_eq!(
        json["removed"]["test-linux"],
        "test (skip-unless-schedules): none of linux, firefox affected"
    );
    assert_eq!(
        json["removed"]["build-linux"],
        "build (skip-unless-schedules): none of linux, firefox affected"
    );
    assert!(
        out.stderr.contains("`bugbug-low` could not be evaluated"),
        "{}",
        out.stderr
    );
    let out = graph_plan(
        &repo,
        "params.yml",
        &["--format", "taskgraph", "--expanded"],
    );
    assert_eq!(out.json(), serde_json::json!(["bugbug", "expanded-only"]));
    let out = graph_plan(&repo, "params.yml", &["--backstop"]);
    assert!(out.ok().contains("run   backstop-only"), "{}", out.stdout);
    // Explained as `sift plan` explains its own tasks: the graph's
    // dependencies, each decision, and the moz.build block behind each push
    // component.
    let out = graph_plan(&repo, "params.yml", &["--format", "json", "--explain"]);
    let json = out.json();
    let task = |name: &str| {
        json["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {json}"))
            .clone()
    };
    let test = task("test-linux");
    assert_eq!(test["needs"], serde_json::json!(["build-linux"]), "{test}");
    assert_eq!(test["why"]["defined_at"], "graph.json: test-linux");
    assert_eq!(test["why"]["kind"], "strategy");
    assert_eq!(
        test["why"]["evaluation"]["strategy"],
        "test: [\"linux\",\"firefox\"]"
    );
    assert_eq!(
        test["why"]["evaluation"]["summary"],
        "test (skip-unless-schedules): none of linux, firefox affected"
    );
    assert_eq!(json["components"], serde_json::json!(["docs"]));
    let docs = &json["component_evidence"]["docs"]["files"][0];
    assert_eq!(docs["path"], "docs/a.md", "{json}");
    assert_eq!(docs["rules"][0]["file"], "moz.build", "{json}");
    assert_eq!(docs["rules"][0]["line"], 2, "{json}");
    assert_eq!(docs["rules"][0]["pattern"], "docs/**", "{json}");
    // The same in the report, beside the kept labels.
    let out = graph_plan(
        &repo,
        "params.yml",
        &["--format", "taskgraph", "--report", "graph-report.html"],
    );
    assert_eq!(out.json(), serde_json::json!(["bugbug"]));
    let html = std::fs::read_to_string(repo.path().join("graph-report.html")).unwrap();
    assert!(
        html.contains("graph.json: test-linux"),
        "the report embeds the explained plan"
    );
    // `sift why` for a graph task: the same chain, as text.
    let out = repo.sift(&[
        "why",
        "build-linux",
        "--graph",
        "graph.json",
        "--params",
        "params.yml",
    ]);
    let text = out.ok();
    assert!(
        text.starts_with("build-linux: skipped\n  defined at: graph.json: build-linux\n"),
        "{text}"
    );
    assert!(
        text.contains("build: [\"linux\",\"firefox\"] → skip: build (skip-unless-schedules): none of linux, firefox affected"),
        "{text}"
    );
    let out = repo.sift(&[
        "why",
        "lint",
        "--graph",
        "graph.json",
        "--params",
        "params.yml",
    ]);
    assert!(out.ok().contains("lint: skipped"), "{}", out.stdout);
    let out = repo.sift(&[
        "why",
        "nope",
        "--graph",
        "graph.json",
        "--params",
        "params.yml",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("no task labelled `nope` in the graph"),
        "{}",
        out.stderr
    );
    // Shadow mode: the target task graph runs unoptimized, and the plan
    // keeps what the optimizer would have removed, and why.
    let json = graph_plan(&repo, "params.yml", &["--format", "json", "--shadow"]).json();
    let test = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "test-linux")
        .unwrap();
    assert_eq!(test["run"], true, "{json}");
    assert_eq!(test["would_skip"], true, "{json}");
    assert_eq!(
        test["reason"],
        "shadow: would skip: test (skip-unless-schedules): none of linux, firefox affected"
    );
    let out = graph_plan(&repo, "params.yml", &["--format", "taskgraph", "--shadow"]);
    assert_eq!(
        out.json(),
        serde_json::json!([
            "backstop-only",
            "bugbug",
            "build-linux",
            "expanded-only",
            "lint",
            "test-linux"
        ])
    );
    // Only the target task graph: a task outside it stays out.
    repo.write("targets.json", r#"["test-linux"]"#);
    let out = graph_plan(
        &repo,
        "params.yml",
        &[
            "--target-tasks",
            "targets.json",
            "--format",
            "taskgraph",
            "--shadow",
        ],
    );
    assert_eq!(out.json(), serde_json::json!(["build-linux", "test-linux"]));
    // A target task the graph does not have fails, as taskgraph fails, in
    // every format.
    repo.write("targets.json", r#"["test-linux", "test-mac"]"#);
    for format in ["taskgraph", "json"] {
        let out = graph_plan(
            &repo,
            "params.yml",
            &["--target-tasks", "targets.json", "--format", format],
        );
        assert_eq!(out.code, 11, "{out:?}");
        assert!(
            out.stderr
                .contains("target task `test-mac` is not in the graph"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("every label in target-tasks.json"),
            "{}",
            out.stderr
        );
    }
}

/// `sift plan --record --graph`: the recorded push's backstop and expanded
/// decisions drive skip-unless-backstop and skip-unless-expanded.
#[test]
fn recorded_pushes_drive_graph_backstops() {
    let repo = gecko_tree();
    repo.write(
        "sift.toml",
        "components = \"gecko\"\n\n[backstop]\nbranches = [\"autoland\"]\nevery_pushes = 3\nevery_pushes_expanded = 2\n",
    )
    .write(
        "graph.json",
        r#"{"backstop-only": {"optimization": {"skip-unless-backstop": null}},
            "expanded-only": {"optimization": {"skip-unless-expanded": null}},
            "docs": {"optimization": {"skip-unless-schedules": ["docs"]}}}"#,
    );
    let store = repo.path().join("store");
    let store = store.to_str().unwrap();
    let mut kept_per_push = Vec::new();
    for push in 1..=4 {
        let params = format!(
            "{{\"files_changed\": [\"dom/a.cpp\"], \"head_rev\": \"{push:040x}\", \"pushlog_id\": \"{push}\"}}"
        );
        repo.write("params.json", &params);
        let out = recorded_graph_plan(&repo, store, &["--format", "json"]);
        let plan = out.json();
        assert_eq!(plan["push"]["number"], push, "{plan}");
        kept_per_push.push(kept(&plan));
    }
    // Push 1 is a backstop (the first), 3 is expanded, 4 a backstop again.
    assert_eq!(
        kept_per_push,
        [
            vec!["backstop-only", "expanded-only"],
            vec![],
            vec!["expanded-only"],
            vec!["backstop-only", "expanded-only"],
        ]
    );
    // A recorded push in taskgraph's format: push 5 is neither kind.
    repo.write(
        "params.json",
        &format!("{{\"files_changed\": [\"dom/a.cpp\"], \"head_rev\": \"{:040x}\", \"pushlog_id\": \"5\"}}", 5),
    );
    let out = recorded_graph_plan(&repo, store, &["--format", "taskgraph", "--removed"]);
    let json = out.json();
    assert_eq!(json["kept"], serde_json::json!([]), "{json}");
    assert_eq!(
        json["removed"]["expanded-only"],
        "skip-unless-expanded (skip-unless-expanded): not an expanded push",
        "{json}"
    );
    assert_eq!(json["removed"].as_object().unwrap().len(), 3, "{json}");
}

/// A project's own composite strategies (`[taskgraph.strategies]`), as it
/// registers them with taskgraph's `Any`/`All`/`Not` and aliases; and the
/// mistakes taskgraph would only find at run time, found at load time.
#[test]
fn project_strategies_from_sift_toml() {
    let repo = gecko_tree();
    repo.write(
        "sift.toml",
        "components = \"gecko\"\n\n[mozbuild]\nenabled = true\n\n[taskgraph.strategies]\n\
         docs-or-py = { any = [\"skip-unless-schedules\", \"skip-unless-changed\"], split_args = true }\n\
         my-test = { alias = \"docs-or-py\" }\n\
         both = { all = [\"skip-unless-backstop\", \"my-test\"], split_args = true }\n",
    )
    .write(
        "graph.json",
        r#"{"kept": {"optimization": {"docs-or-py": [["docs"], ["**/*.md"]]}},
            "removed": {"optimization": {"my-test": [["docs"], ["**/*.rs"]]}},
            "all-kept": {"optimization": {"both": [null, [["docs"], ["**/*.md"]]]}},
            "all-removed": {"optimization": {"both": [null, [["linux"], ["**/*.rs"]]]}}}"#,
    )
    .write("params.yml", "files_changed:\n- docs/a.md\n");
    let out = graph_plan(&repo, "params.yml", &["--format", "taskgraph", "--removed"]);
    let json = out.json();
    // Any removes when one member would, All only when every member would
    // (skip-unless-backstop would on this push, which is no backstop).
    assert_eq!(
        json["kept"],
        serde_json::json!(["all-kept", "kept"]),
        "{json}"
    );
    assert!(json["removed"]["all-removed"].is_string(), "{json}");
    assert_eq!(
        json["removed"]["removed"],
        "my-test (skip-unless-schedules-or-skip-unless-changed): no changed file matches **/*.rs"
    );
    repo.write(
        "sift.toml",
        "components = \"gecko\"\n\n[taskgraph.strategies]\ntest = { alias = \"never\" }\n\
         x = { any = [\"skip-unless-schedule\"] }\ny = { any = [\"z\"] }\nz = { not = \"y\" }\n",
    );
    let out = graph_plan(&repo, "params.yml", &[]);
    assert_eq!(out.code, 3, "{out:?}");
    for expected in [
        "`test` is already a strategy",
        "sift.toml:4:1",
        "unknown strategy `skip-unless-schedule`",
        "did you mean `skip-unless-schedules`?",
        "strategies name each other in a cycle: y → z → y",
    ] {
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
    }
}

/// Adopting sift as a Gecko tree's optimizer without risk: graph pushes
/// recorded in shadow mode run the whole target graph, keep what the
/// optimizer would have removed, and `sift quality` finds the task it would
/// have wrongly skipped once the CI reports its failure.
#[test]
fn shadow_graph_pushes_measure_false_greens() {
    let repo = gecko_tree();
    repo.write(
        "graph.json",
        r#"{"docs": {"optimization": {"skip-unless-schedules": ["docs"]}},
            "test-linux": {"optimization": {"test": ["linux"]}}}"#,
    );
    let store = repo.path().join("store");
    let store = store.to_str().unwrap();
    for (push, file) in [(1, "dom/a.cpp"), (2, "docs/a.md")] {
        repo.write(
            "params.json",
            &format!("{{\"files_changed\": [\"{file}\"], \"head_rev\": \"{push:040x}\", \"pushlog_id\": \"{push}\"}}"),
        );
        let out = recorded_graph_plan(&repo, store, &["--shadow", "--format", "taskgraph"]);
        assert_eq!(
            out.json(),
            serde_json::json!(["docs", "test-linux"]),
            "{}",
            out.stderr
        );
    }
    // Push 2 changed only docs: test-linux would have been removed, and it
    // failed where it had passed on push 1.
    for (push, task, result) in [
        ("1", "docs", "succeeded"),
        ("1", "test-linux", "succeeded"),
        ("2", "docs", "succeeded"),
        ("2", "test-linux", "failed"),
    ] {
        repo.sift(&[
            "history", "report", "--branch", "autoland", "--store", store, "--push", push,
            "--task", task, "--result", result,
        ])
        .ok();
    }
    let report = repo
        .sift(&[
            "quality", "--branch", "autoland", "--store", store, "--json",
        ])
        .json();
    assert_eq!(report["pushes"]["shadow"], 2, "{report}");
    let greens = report["false_greens"].as_array().unwrap();
    assert_eq!(greens.len(), 1, "{report}");
    assert_eq!(greens[0]["task"], "test-linux");
    assert_eq!(greens[0]["window"], serde_json::json!([2, 2]));
    assert_eq!(greens[0]["detected_by"], "shadow");
}

/// `mozpath.match` against taskgraph's own (`taskgraph.util.path.match`) on
/// random patterns and paths: one `skip-unless-changed` task per pattern,
/// one changed path per round, so a task is kept iff its pattern matches.
#[test]
fn mozpath_matches_taskgraphs_on_random_patterns() {
    if !taskgraph_available() {
        return;
    }
    let repo = TestRepo::plain();
    repo.write("sift.toml", "[components]\nexclusive = [\"x\"]\n");
    let pieces = ["a", "b", "ab", "*", "**", "/", "/", ".py", "?", "[a]", "x"];
    let mut rng = Lcg(11);
    let patterns: Vec<String> = (0..250)
        .map(|_| {
            (0..1 + rng.next() as usize % 6)
                .map(|_| *rng.pick(&pieces))
                .collect::<String>()
        })
        .collect();
    let tasks: Vec<GraphTaskSpec> = patterns
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                format!("p{i}"),
                vec![],
                serde_json::json!({"skip-unless-changed": [p]}),
                vec![],
                false,
            )
        })
        .collect();
    repo.write("graph.json", &graph_json(&tasks));
    let segments = ["a", "b", "ab", "x.py", "a.py", "?", "[a]", "b.txt"];
    let script = r#"
import json, sys
from taskgraph.util.path import match
patterns = json.load(open("patterns.json"))
paths = json.load(open("paths.json"))
print(json.dumps([[i for i, p in enumerate(patterns) if match(path, p)] for path in paths]))
"#;
    repo.write("match.py", script)
        .write("patterns.json", &serde_json::to_string(&patterns).unwrap());
    let paths: Vec<String> = (0..40)
        .map(|_| {
            (0..1 + rng.next() as usize % 4)
                .map(|_| *rng.pick(&segments))
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    repo.write("paths.json", &serde_json::to_string(&paths).unwrap());
    let run = Command::new(python())
        .arg("match.py")
        .current_dir(repo.path())
        .output()
        .expect("python runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let expected: Vec<Vec<usize>> = serde_json::from_slice(&run.stdout).unwrap();
    let mut matches = 0;
    for (path, expected) in paths.iter().zip(expected) {
        repo.write(
            "params.json",
            &serde_json::json!({"files_changed": [path]}).to_string(),
        );
        let out = graph_plan(&repo, "params.json", &["--format", "taskgraph"]);
        let kept: Vec<String> = serde_json::from_str(out.ok()).unwrap();
        let mut kept: Vec<usize> = kept.iter().map(|l| l[1..].parse().unwrap()).collect();
        kept.sort_unstable();
        let wrong: Vec<(&String, bool)> = (0..patterns.len())
            .filter(|i| kept.contains(i) != expected.contains(i))
            .map(|i| (&patterns[i], expected.contains(&i)))
            .collect();
        assert!(
            wrong.is_empty(),
            "{path}: (pattern, taskgraph matches) differ: {wrong:?}"
        );
        matches += expected.len();
    }
    assert!(matches > 100, "too few matches to mean much: {matches}");
}

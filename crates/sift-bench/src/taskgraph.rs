//! `sift-bench taskgraph`: taskgraph's real `optimize_task_graph` against
//! `sift plan --graph` on the same generated full task graphs.
//!
//! `gen` writes, per size and strategy, a Gecko-shaped full task graph
//! (docker images, fetches, toolchains, builds, source tests and a test
//! matrix, each with a realistic task definition of about 1.5 KB), its
//! target tasks, parameters with the changed files, and a moz.build tree.
//! `run` times `sift plan --graph ... --format taskgraph` as a whole process
//! and taskgraph's optimize call alone (in a Python that has
//! taskcluster-taskgraph), checks that both keep the same tasks, and prints
//! CPU and wall times.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::rng::Rng;
use crate::rusage::wait_with_rusage;

const TOPS: &[&str] = &[
    "accessible",
    "browser",
    "build",
    "devtools",
    "docs",
    "dom",
    "gfx",
    "intl",
    "js",
    "layout",
    "media",
    "mobile/android",
    "netwerk",
    "python",
    "security",
    "servo",
    "taskcluster",
    "testing",
    "toolkit",
    "tools",
    "widget/cocoa",
    "widget/gtk",
    "widget/windows",
    "xpcom",
];
const SUBS: &[&str] = &[
    "base",
    "src",
    "public",
    "ipc",
    "tests",
    "test",
    "components",
    "content",
    "events",
    "style",
    "workers",
    "bindings",
    "system",
    "mochitest",
    "xpcshell",
    "reftests",
    "generic",
    "util",
];
const EXTS: &[&str] = &[
    ".cpp", ".h", ".js", ".py", ".rs", ".html", ".toml", ".md", ".mm", ".java",
];
const PLATFORMS: &[(&str, &str)] = &[
    ("linux64", "linux"),
    ("linux64-asan", "linux"),
    ("linux64-tsan", "linux"),
    ("windows11-64", "windows"),
    ("windows11-aarch64", "windows"),
    ("macosx1500-64", "macosx"),
    ("macosx1500-aarch64", "macosx"),
    ("android-em-14-x86_64", "android"),
    ("android-hw-a55", "android"),
];
const SUITES: &[&str] = &[
    "mochitest-plain",
    "mochitest-browser-chrome",
    "mochitest-chrome",
    "mochitest-a11y",
    "xpcshell",
    "reftest",
    "crashtest",
    "web-platform-tests",
    "web-platform-tests-reftest",
    "gtest",
    "cppunittest",
    "marionette",
    "talos",
    "raptor",
    "firefox-ui",
    "jittest",
];

pub struct GenOptions {
    pub out: PathBuf,
    pub tasks: usize,
    pub files: usize,
    /// `changed` or `schedules`.
    pub strategy: String,
    pub seed: u64,
}

fn task_body(label: &str, kind: &str, rng: &mut Rng) -> String {
    let mut env = String::new();
    for i in 0..8 {
        let _ = write!(env, "\"MOZ_VAR_{i}\": \"value-{}\", ", rng.below(100_000));
    }
    format!(
        r#"{{"provisionerId": "gecko-3", "workerType": "b-linux-gcp", "schedulerId": "gecko-level-3", "taskGroupId": {{"task-reference": "<decision>"}}, "priority": "low", "retries": 5, "created": {{"relative-datestamp": "0 seconds"}}, "deadline": {{"relative-datestamp": "1 day"}}, "expires": {{"relative-datestamp": "28 days"}}, "metadata": {{"name": "{label}", "description": "{kind} task {label} ([Treeherder push](https://treeherder.mozilla.org/jobs?repo=autoland&revision=abcdef0123456789))", "owner": "someone@mozilla.com", "source": "https://hg.mozilla.org/integration/autoland/file/abcdef0123456789/taskcluster/kinds/{kind}"}}, "tags": {{"kind": "{kind}", "label": "{label}", "createdForUser": "someone@mozilla.com", "worker-implementation": "docker-worker", "os": "linux"}}, "routes": ["tc-treeherder.v2.autoland.abcdef0123456789.{n}", "index.gecko.v2.autoland.revision.abcdef0123456789.{kind}.{n}", "checks"], "scopes": ["secrets:get:project/releng/gecko/build/level-3/*", "docker-worker:cache:gecko-level-3-checkouts-v3"], "payload": {{"image": {image}, "maxRunTime": 7200, "command": ["/builds/worker/bin/run-task", "--gecko-checkout=/builds/worker/checkouts/gecko", "--", "/builds/worker/checkouts/gecko/taskcluster/scripts/{kind}.sh"], "env": {{{env}"GECKO_HEAD_REV": "abcdef0123456789"}}, "artifacts": {{"public/build": {{"type": "directory", "path": "/builds/worker/artifacts/", "expires": {{"relative-datestamp": "28 days"}}}}}}, "cache": {{"gecko-level-3-checkouts-v3": "/builds/worker/checkouts"}}}}, "extra": {{"index": {{"rank": 0}}, "treeherder": {{"machine": {{"platform": "linux64"}}, "symbol": "S{n}", "groupSymbol": "{kind}", "collection": {{"opt": true}}, "tier": 1}}}}}}"#,
        n = rng.below(1000),
        image = if kind == "docker-image" {
            "\"ubuntu:24.04\""
        } else {
            r#"{"taskId": {"task-reference": "<docker-image>"}, "path": "public/image.tar.zst", "type": "task-image"}"#
        },
    )
}

struct Task {
    label: String,
    kind: &'static str,
    deps: Vec<usize>,
    optimization: String,
    attributes: String,
    target: bool,
}

/// Writes one benchmark case into `out`.
pub fn generate(options: &GenOptions) -> Result<(), String> {
    let out = &options.out;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut rng = Rng::new(options.seed);
    let changed_mode = match options.strategy.as_str() {
        "changed" => true,
        "schedules" => false,
        other => {
            return Err(format!(
                "--strategy must be `changed` or `schedules`, not `{other}`"
            ));
        }
    };
    let n = options.tasks.max(50);
    let mut tasks: Vec<Task> = Vec::with_capacity(n);
    let count = |share: f64| ((n as f64 * share) as usize).max(1);
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for i in 0..count(0.01) {
        tasks.push(Task {
            label: format!("docker-image-image{i}"),
            kind: "docker-image",
            deps: vec![],
            optimization: "{\"never\": null}".to_owned(),
            attributes: "{}".to_owned(),
            target: false,
        });
    }
    let docker = tasks.len();
    for i in 0..count(0.02) {
        tasks.push(Task {
            label: format!("fetch-source{i}"),
            kind: "fetch",
            deps: vec![rng.below(docker)],
            optimization: "{\"never\": null}".to_owned(),
            attributes: "{}".to_owned(),
            target: false,
        });
    }
    let fetches = docker..tasks.len();
    for i in 0..count(0.03) {
        let deps = vec![rng.below(docker), fetches.start + rng.below(fetches.len())];
        tasks.push(Task {
            label: format!("toolchain-tool{i}"),
            kind: "toolchain",
            deps,
            optimization: "{\"never\": null}".to_owned(),
            attributes: "{}".to_owned(),
            target: false,
        });
    }
    let toolchains = fetches.end..tasks.len();
    let builds_n = count(0.05);
    let mut builds = Vec::new();
    for i in 0..builds_n {
        let (platform, family) = PLATFORMS[i % PLATFORMS.len()];
        let mut deps = vec![rng.below(docker)];
        for _ in 0..3 {
            deps.push(toolchains.start + rng.below(toolchains.len()));
        }
        let top = TOPS[rng.below(TOPS.len())];
        let optimization = if changed_mode {
            format!(
                "{{\"skip-unless-changed\": [\"{top}/**\", \"build/{platform}/**\", \"taskcluster/kinds/build/**\"]}}"
            )
        } else {
            let mut comps = vec![family.to_owned()];
            if !family.contains("android") {
                comps.push("firefox".to_owned());
            }
            format!("{{\"build\": [{}]}}", quoted(&comps))
        };
        builds.push((tasks.len(), platform, family));
        tasks.push(Task {
            label: format!("build-{platform}/opt-{i}"),
            kind: "build",
            deps,
            optimization,
            attributes: format!("{{\"build_platform\": \"{platform}\", \"build_type\": \"opt\"}}"),
            target: true,
        });
    }
    for i in 0..count(0.05) {
        let top = TOPS[rng.below(TOPS.len())];
        let optimization = if changed_mode {
            format!("{{\"skip-unless-changed\": [\"{top}/**/*.py\", \"tools/lint/**\"]}}")
        } else {
            let comp = ["py-lint", "js-lint", "docs", "yaml-lint"][i % 4];
            format!("{{\"skip-unless-schedules\": [\"{comp}\"]}}")
        };
        tasks.push(Task {
            label: format!("source-test-lint-{i}"),
            kind: "source-test",
            deps: vec![rng.below(docker)],
            optimization,
            attributes: "{}".to_owned(),
            target: true,
        });
    }
    let mut i = 0;
    while tasks.len() < n {
        let (build, platform, family) = builds[rng.below(builds.len())];
        let suite = SUITES[rng.below(SUITES.len())];
        let top = TOPS[rng.below(TOPS.len())];
        let sub = SUBS[rng.below(SUBS.len())];
        let manifests: Vec<String> = (0..3)
            .map(|k| format!("{top}/{}/{suite}-{k}.toml", SUBS[rng.below(SUBS.len())]))
            .collect();
        let optimization = if changed_mode {
            format!(
                "{{\"skip-unless-changed\": [\"{top}/{sub}/**\", \"testing/{suite}/**\", \"{top}/**/{suite}.toml\"]}}"
            )
        } else if suite == "jittest" {
            "{\"test-inclusive\": [\"jittest\"]}".to_owned()
        } else {
            let mut comps = vec![suite.to_owned(), family.to_owned()];
            comps.push("firefox".to_owned());
            comps.sort();
            format!("{{\"test\": [{}]}}", quoted(&comps))
        };
        tasks.push(Task {
            label: format!("test-{platform}/opt-{suite}-{}", i),
            kind: "test",
            deps: vec![build, rng.below(docker)],
            optimization,
            attributes: format!(
                "{{\"test_platform\": \"{platform}\", \"unittest_suite\": \"{suite}\", \"test_manifests\": [{}]}}",
                quoted(&manifests)
            ),
            target: true,
        });
        i += 1;
    }
    let mut graph = String::with_capacity(n * 2200);
    graph.push('{');
    let mut targets = String::from("[");
    for (index, task) in tasks.iter().enumerate() {
        if index > 0 {
            graph.push_str(",\n");
        }
        let mut dep_ids = task.deps.clone();
        dep_ids.sort_unstable();
        dep_ids.dedup();
        // `<docker-image>` in the payload refers to the dependency of that name.
        let deps: Vec<String> = dep_ids
            .iter()
            .map(|&d| {
                let name = if tasks[d].kind == "docker-image" {
                    "docker-image".to_owned()
                } else {
                    format!("{}{d}", tasks[d].kind)
                };
                format!("\"{name}\": \"{}\"", tasks[d].label)
            })
            .collect();
        let body = task_body(&task.label, task.kind, &mut rng);
        let _ = write!(
            graph,
            "\"{label}\": {{\"kind\": \"{kind}\", \"label\": \"{label}\", \"description\": \"\", \"attributes\": {attrs}, \"dependencies\": {{{deps}}}, \"soft_dependencies\": [], \"if_dependencies\": [], \"optimization\": {opt}, \"task\": {body}}}",
            label = task.label,
            kind = task.kind,
            attrs = task.attributes,
            deps = deps.join(", "),
            opt = task.optimization,
        );
        if task.target {
            if targets.len() > 1 {
                targets.push_str(", ");
            }
            let _ = write!(targets, "\"{}\"", task.label);
        }
    }
    graph.push_str("}\n");
    targets.push_str("]\n");
    // Changed files: a random sample over the tree.
    let mut files = std::collections::BTreeSet::new();
    while files.len() < options.files {
        let top = TOPS[rng.below(TOPS.len())];
        let sub = SUBS[rng.below(SUBS.len())];
        let ext = EXTS[rng.below(EXTS.len())];
        files.insert(format!("{top}/{sub}/file{}{ext}", rng.below(400)));
    }
    let files_json: Vec<String> = files.iter().map(|f| format!("\"{f}\"")).collect();
    let params = format!(
        "{{\"base_rev\": \"0123\", \"head_rev\": \"4567\", \"project\": \"autoland\", \"pushlog_id\": \"42\", \"backstop\": false, \"do_not_optimize\": [], \"files_changed\": [{}]}}\n",
        files_json.join(", ")
    );
    write(out, "full-task-graph.json", &as_taskgraph_writes(&graph)?)?;
    write(out, "target-tasks.json", &targets)?;
    write(out, "parameters.json", &params)?;
    write(
        out,
        "changed.txt",
        &(files.iter().cloned().collect::<Vec<_>>().join("\n") + "\n"),
    )?;
    // moz.build files: the root's real annotations, one per directory.
    write(out, "moz.build", ROOT_MOZBUILD)?;
    for top in TOPS {
        let exclusive = match *top {
            "widget/cocoa" => Some("'macosx'"),
            "widget/gtk" => Some("'linux'"),
            "widget/windows" => Some("'windows'"),
            "mobile/android" => Some("'android', 'fenix', 'focus-android'"),
            "docs" => Some("'docs'"),
            _ => None,
        };
        let mut text = format!(
            "DIRS += [{}]\n\n",
            SUBS.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(list) = exclusive {
            let _ = write!(
                text,
                "with Files('**'):\n    BUG_COMPONENT = ('Core', '{top}')\n    SCHEDULES.exclusive = [{list}]\n"
            );
        }
        write(out, &format!("{top}/moz.build"), &text)?;
        for sub in SUBS {
            let mut text = format!(
                "with Files('**'):\n    BUG_COMPONENT = ('Core', '{top}: {sub}')\n\nUNIFIED_SOURCES += ['a.cpp', 'b.cpp']\n"
            );
            if sub.contains("test") || sub.contains("mochitest") {
                text.push_str("\nwith Files('**'):\n    SCHEDULES.inclusive += ['test-verify']\n");
            }
            write(out, &format!("{top}/{sub}/moz.build"), &text)?;
        }
    }
    write(out, "optimize.py", OPTIMIZE_PY)?;
    Ok(())
}

const ROOT_MOZBUILD: &str = r#"with Files("docs/**"):
    SCHEDULES.exclusive = ["docs"]

with Files("*gradle*"):
    SCHEDULES.exclusive = ["android"]

with Files("**/*.rst"):
    SCHEDULES.inclusive += ["docs"]

with Files("**/*.md"):
    SCHEDULES.inclusive += ["docs"]

with Files("**/*.rs"):
    SCHEDULES.inclusive += ["rusttests"]

with Files("**/*.py"):
    SCHEDULES.inclusive += ["py-lint"]

with Files("**/*.js"):
    SCHEDULES.inclusive += ["js-lint"]

with Files("**/reftest.list"):
    SCHEDULES.inclusive += ["test-verify", "test-verify-gpu"]
    SCHEDULES.exclusive = ["reftest"]

with Files("**/mochitest.toml"):
    SCHEDULES.inclusive += ["test-verify", "test-verify-gpu"]
    SCHEDULES.exclusive = ["mochitest-plain"]

with Files("**/xpcshell.toml"):
    SCHEDULES.inclusive += ["test-verify"]
    SCHEDULES.exclusive = ["xpcshell"]

with Files("**/tests/**"):
    SCHEDULES.inclusive += ["test-verify", "test-verify-gpu"]
"#;

/// taskgraph's optimizer on the case in argv[1], timed alone.
///
/// gecko's `skip-unless-schedules` is not in standalone taskgraph: it is
/// registered here as gecko's `gecko_taskgraph/optimize/strategies.py`
/// has it, per-task work included. Each call builds
/// `frozenset(params["files_changed"])` and looks the push's components
/// up through `mozbuild.util.memoize` (a wrapper made at each attribute
/// access, a dict keyed by the arguments on the instance, looked up
/// twice), which is most of the strategy's cost on a 1,000-file push.
/// Only mozbuild's reader is left out: the components are handed over
/// from `sift files --mozbuild` (mozbuild is not on PyPI), where gecko
/// reads the moz.build files inside the call. With `--simple` as argv[2],
/// the rule alone (`set(conditions) & push`), as this benchmark had it
/// until it was found to leave gecko's per-task work out.
const OPTIMIZE_PY: &str = r#"import functools, json, sys, time
from taskgraph.optimize.base import OptimizationStrategy, Alias, register_strategy, optimize_task_graph
from taskgraph.taskgraph import TaskGraph

d = sys.argv[1]
simple = sys.argv[2:] == ["--simple"]
push = set(json.load(open(d + "/components.json")))

class memoize(dict):
    # What mozbuild.util.memoize does on a method: a fresh partial wrapped
    # with update_wrapper at each attribute access, then the arguments
    # looked up in a dict kept on the instance (twice on a hit).
    def __init__(self, func):
        self.func = func
        functools.update_wrapper(self, func)

    def method_call(self, instance, *args):
        name = "_" + self.func.__name__
        if not hasattr(instance, name):
            setattr(instance, name, {})
        cache = getattr(instance, name)
        if args not in cache:
            cache[args] = self.func(instance, *args)
        return cache[args]

    def __get__(self, instance, cls):
        return functools.update_wrapper(functools.partial(self.method_call, instance), self.func)

class SkipUnlessSchedules(OptimizationStrategy):
    # gecko's, with mozbuild's reader replaced by the precomputed components.
    @memoize
    def scheduled_by_push(self, files_changed):
        return set(push)

    def should_remove_task(self, task, params, conditions):
        if params.get("pushlog_id") == -1:
            return False
        scheduled = self.scheduled_by_push(frozenset(params["files_changed"]))
        conditions = set(conditions)
        if conditions & scheduled:
            return False
        return True

class SimpleSkipUnlessSchedules(OptimizationStrategy):
    def should_remove_task(self, task, params, conditions):
        if params.get("pushlog_id") == -1:
            return False
        return not (set(conditions) & push)

register_strategy("skip-unless-schedules")(SimpleSkipUnlessSchedules if simple else SkipUnlessSchedules)
for alias in ("build", "test", "test-inclusive", "test-verify"):
    register_strategy(alias, args=("skip-unless-schedules",))(Alias)

_, full = TaskGraph.from_json(json.load(open(d + "/full-task-graph.json")))
params = json.load(open(d + "/parameters.json"))
targets = set(json.load(open(d + "/target-tasks.json")))
always = {t.label for t in full.tasks.values() if t.attributes.get("always_target")}
requested = targets | always
target_graph = full.graph.transitive_closure(requested)
target_task_graph = TaskGraph({l: full.tasks[l] for l in target_graph.nodes}, target_graph)
cpu, wall = time.process_time(), time.perf_counter()
optimized, _ = optimize_task_graph(target_task_graph, requested, params, set(), "DECISION")
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
with open(d + "/taskgraph-kept.txt", "w") as f:
    f.write("".join(l + "\n" for l in sorted(t.label for t in optimized.tasks.values())))
print(json.dumps({"cpu_ms": cpu * 1000, "wall_ms": wall * 1000}))
"#;

/// The graph as a decision task writes it (taskgraph's `write_artifact`:
/// `json.dump(data, f, sort_keys=True, indent=2)`): labels and keys sorted,
/// two-space indents, a line per value, which makes it about a third larger
/// than compact JSON.
fn as_taskgraph_writes(compact: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(compact).map_err(|e| format!("the generated graph: {e}"))?;
    // serde_json's `Map` is sorted (no `preserve_order` in this workspace).
    serde_json::to_string_pretty(&value).map_err(|e| format!("the generated graph: {e}"))
}

/// Writes `text` 8 KiB at a time, as a decision task writes its artifacts
/// (`json.dump` through Python's 8 KiB file buffer). How a file was written
/// decides how the system caches it, and so what reading it costs: on
/// this kernel (6.18, ext4 with large folios) one 72 MB `write` is mostly
/// cached in 2 MiB pages, which a reader maps a whole page at a time (the
/// graph mapped and read in about 3 ms), and 8 KiB writes in small pages,
/// mapped at about 0.45 µs each (9 ms, and 3 more to unmap). Benchmarking
/// on the first would flatter sift by several milliseconds.
fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    use std::io::Write;
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let mut file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.as_bytes()
        .chunks(8 << 10)
        .try_for_each(|chunk| file.write_all(chunk))
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub struct RunOptions {
    pub dir: PathBuf,
    pub sift: PathBuf,
    pub python: String,
    pub runs: usize,
    /// taskgraph with the simplified `skip-unless-schedules` (see `OPTIMIZE_PY`).
    pub simple: bool,
}

/// One comparison: sift's median CPU and wall time (whole process),
/// taskgraph's (optimize call alone, median of as many runs), and whether
/// the kept sets agree.
pub fn run(options: &RunOptions) -> Result<String, String> {
    let dir = &options.dir;
    // The push components for the Python side, from the same moz.build tree.
    let changed = std::fs::read_to_string(dir.join("changed.txt")).map_err(|e| e.to_string())?;
    let mut command = Command::new(&options.sift);
    command
        .arg("--root")
        .arg(dir)
        .args(["files", "--mozbuild", "--json"]);
    command.args(changed.lines());
    let out = command.output().map_err(|e| format!("sift: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "sift files failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text
        .find("\"components\": [")
        .ok_or("no components in sift files --json")?;
    let end = text[start..].find(']').ok_or("unterminated components")? + start + 1;
    write(
        dir,
        "components.json",
        &text[start + "\"components\": ".len()..end],
    )?;

    // The inputs on disk first: a graph still being written back (it was
    // just generated) costs its first readers 10-20 ms more here, which
    // measures the writeback rather than the reader.
    for name in [
        "full-task-graph.json",
        "target-tasks.json",
        "parameters.json",
    ] {
        let path = dir.join(name);
        std::fs::File::open(&path)
            .and_then(|file| file.sync_all())
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    let (mut py_cpu, mut py_wall) = (Vec::new(), Vec::new());
    let mut sift_kept = String::new();
    // sift and taskgraph by turns, each a fresh process, so that both see
    // the same minutes of this VM, whose speed drifts. Each timed sift run
    // follows an untimed one: the first process after a taskgraph run (a
    // Python that held the graph, over a gigabyte) took 34-48 ms here
    // where the next ones took 20-26, the machine's state rather than
    // sift's; and the first reader of a freshly written file also pays for
    // its pages' first mapping.
    for _ in 0..options.runs.max(1) {
        sift_once(options)?;
        let (elapsed, cpu_ms, kept) = sift_once(options)?;
        sift_kept = kept;
        wall.push(elapsed);
        cpu.push(cpu_ms);
        let (cpu_ms, wall_ms) = taskgraph_once(options)?;
        py_cpu.push(cpu_ms);
        py_wall.push(wall_ms);
    }
    let sift_labels: Vec<&str> = sift_kept.split('"').skip(1).step_by(2).collect();
    let tg_kept =
        std::fs::read_to_string(dir.join("taskgraph-kept.txt")).map_err(|e| e.to_string())?;
    let tg_labels: Vec<&str> = tg_kept.lines().collect();
    let same = sift_labels == tg_labels;
    let (cpu_med, wall_med) = (median(&mut cpu), median(&mut wall));
    let (py_cpu, py_wall) = (median(&mut py_cpu), median(&mut py_wall));
    Ok(format!(
        "| {} | {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0}x | {:.0}x | {} ({} kept) |",
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::fs::metadata(dir.join("full-task-graph.json"))
            .map(|m| format!("{:.1} MB", m.len() as f64 / 1e6))
            .unwrap_or_default(),
        cpu_med,
        wall_med,
        py_cpu,
        py_wall,
        py_cpu / cpu_med,
        py_wall / wall_med,
        if same { "identical" } else { "DIFFERENT" },
        sift_labels.len(),
    ))
}

/// The middle value (the upper of the two middle ones).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One `sift plan --graph ... --format taskgraph`, as a whole process:
/// wall ms, CPU ms (from `wait4`) and what it printed.
fn sift_once(options: &RunOptions) -> Result<(f64, f64, String), String> {
    let dir = &options.dir;
    let started = Instant::now();
    let mut child = Command::new(&options.sift)
        .arg("--root")
        .arg(dir)
        .args(["plan", "--graph"])
        .arg(dir.join("full-task-graph.json"))
        .arg("--target-tasks")
        .arg(dir.join("target-tasks.json"))
        .arg("--params")
        .arg(dir.join("parameters.json"))
        .args(["--format", "taskgraph"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("sift: {e}"))?;
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        use std::io::Read;
        pipe.read_to_string(&mut stdout)
            .map_err(|e| e.to_string())?;
    }
    let reaped = wait_with_rusage(&child).map_err(|e| e.to_string())?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    if !reaped.status.success() {
        return Err("sift plan --graph failed".to_owned());
    }
    Ok((elapsed, reaped.cpu_ms, stdout))
}

/// One run of `optimize.py` (which writes `taskgraph-kept.txt`): the
/// optimize call's CPU and wall ms.
fn taskgraph_once(options: &RunOptions) -> Result<(f64, f64), String> {
    let dir = &options.dir;
    let mut command = Command::new(&options.python);
    command.arg(dir.join("optimize.py")).arg(dir);
    if options.simple {
        command.arg("--simple");
    }
    let py = command
        .output()
        .map_err(|e| format!("{}: {e}", options.python))?;
    if !py.status.success() {
        return Err(format!(
            "taskgraph failed: {}",
            String::from_utf8_lossy(&py.stderr)
        ));
    }
    let timing = String::from_utf8_lossy(&py.stdout);
    let value: serde_json::Value = serde_json::from_str(timing.trim())
        .map_err(|e| format!("optimize.py's output `{timing}`: {e}"))?;
    let number = |key: &str| -> Result<f64, String> {
        value[key]
            .as_f64()
            .ok_or_else(|| format!("no {key} in optimize.py's output: {timing}"))
    };
    Ok((number("cpu_ms")?, number("wall_ms")?))
}

pub const TABLE_HEADER: &str = "| case | graph | sift CPU ms | sift wall ms | taskgraph CPU ms | taskgraph wall ms | CPU ratio | wall ratio | kept sets |\n|---|---|---|---|---|---|---|---|---|";

pub struct MatrixOptions {
    pub out: PathBuf,
    pub sift: PathBuf,
    pub python: String,
    pub runs: usize,
    pub tasks: Vec<usize>,
    pub files: Vec<usize>,
    pub simple: bool,
}

/// Every size × change × strategy: generate, then compare.
pub fn matrix(options: &MatrixOptions) -> Result<bool, String> {
    println!("{TABLE_HEADER}");
    let mut all_same = true;
    for strategy in ["changed", "schedules"] {
        for &tasks in &options.tasks {
            for &files in &options.files {
                let dir = options.out.join(format!("{strategy}-{tasks}-{files}"));
                generate(&GenOptions {
                    out: dir.clone(),
                    tasks,
                    files,
                    strategy: strategy.to_owned(),
                    seed: 1,
                })?;
                let row = run(&RunOptions {
                    dir,
                    sift: options.sift.clone(),
                    python: options.python.clone(),
                    runs: options.runs,
                    simple: options.simple,
                })?;
                all_same &= !row.contains("DIFFERENT");
                println!("{row}");
            }
        }
    }
    Ok(all_same)
}

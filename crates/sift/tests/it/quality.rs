//! Selection quality on a real history: a git repository built push by
//! push (200 commits over a realistic tree), every push going through the
//! whole loop — `sift plan --record` (backstops every 10 pushes, a stretch
//! in shadow mode), `sift run` with a retry of failed tasks, `sift record
//! --push` for a task's JUnit results — with three injected failures:
//!
//! - one the rules predict (`ui/src/broken.ts` breaks `test-ui`, a ui task);
//! - one they cannot (`mode: strict` in `shared/config.yaml` breaks
//!   `test-core`, but the rules map `shared/**` to ui only), twice: caught by
//!   a backstop, and later by shadow mode on the very push;
//! - a flaky task (`test-net` fails its first attempt on some pushes, then
//!   passes on the retry).
//!
//! Then `sift quality --json` must report exactly those false greens, the
//! rate, the skipped task runs a model of the rules predicts, and the saved
//! task-seconds the stored outcomes add up to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::cache::{new_bucket, s3_endpoint, s3_env};
use crate::{Run, TestRepo};

pub(crate) const CONFIG: &str = r#"
[components]
exclusive = ["core", "net", "ui"]
inclusive = ["docs"]

[[rules]]
files = ["core/**"]
exclusive = ["core"]

[[rules]]
files = ["net/**"]
exclusive = ["net"]

[[rules]]
files = ["ui/**", "shared/**"]
exclusive = ["ui"]

[[rules]]
files = ["docs/**"]
exclusive = []
inclusive = ["docs"]

[backstop]
branches = ["main"]
every_pushes = 10

[tasks.build]
schedules = ["core", "net", "ui"]
run = "true"

[tasks.test-core]
schedules = ["core"]
needs = ["build"]
run = '''
strict=0; grep -q 'mode: strict' shared/config.yaml && strict=1
{ echo '<testsuite name="pytest">'
  for t in test_alloc test_hash test_io test_parse; do
    echo "<testcase classname=\"tests.test_core\" name=\"$t\" time=\"0.4\"/>"
  done
  if [ $strict = 1 ]; then
    echo '<testcase classname="tests.test_strict_config" name="test_mode" time="0.2"><failure message="strict mode"/></testcase>'
  else
    echo '<testcase classname="tests.test_strict_config" name="test_mode" time="0.2"/>'
  fi
  echo '</testsuite>'; } > core-junit.xml
test $strict = 0
'''

[tasks.test-net]
schedules = ["net"]
needs = ["build"]
run = '''
case " $FLAKY " in *" $SIFT_PUSH "*)
  if [ ! -e "$STATE/net-$SIFT_PUSH" ]; then : > "$STATE/net-$SIFT_PUSH"; echo flaky >&2; exit 1; fi;;
esac
'''

[tasks.test-ui]
schedules = ["ui"]
needs = ["build"]
run = "test ! -e ui/src/broken.ts"

[tasks.docs]
schedules = ["docs"]
run = "true"
"#;

const PUSHES: u64 = 200;
const FLAKY: &str = "11 41 71 155";
/// Pushes recorded in shadow mode.
const SHADOW: std::ops::RangeInclusive<u64> = 150..=165;

/// The areas a push can touch, and the files in each.
const AREAS: [(&str, &[&str]); 5] = [
    (
        "core",
        &[
            "core/src/alloc.rs",
            "core/src/hash.rs",
            "core/src/io.rs",
            "core/src/parse.rs",
        ],
    ),
    (
        "net",
        &["net/src/http.rs", "net/src/tls.rs", "net/src/dns.rs"],
    ),
    (
        "ui",
        &["ui/src/app.ts", "ui/src/menu.ts", "ui/src/theme.ts"],
    ),
    ("docs", &["docs/guide.md", "docs/api.md", "docs/faq.md"]),
    ("tools", &["tools/release.sh", "tools/lint.sh"]),
];

/// What push `n` changes: scripted around the injected failures, seeded
/// randomness elsewhere.
fn areas_of(n: u64, rng: &mut u64) -> Vec<&'static str> {
    match n {
        30 => vec!["ui-broken"],
        32 => vec!["ui-fixed"],
        56 | 158 => vec!["core"],
        57 | 160 => vec!["config-strict"],
        58..=62 => vec!["docs"],
        63 | 161 => vec!["config-normal"],
        _ => {
            // xorshift: the same history every run.
            let mut next = || {
                *rng ^= *rng << 13;
                *rng ^= *rng >> 7;
                *rng ^= *rng << 17;
                *rng
            };
            let count = 1 + next() % 2;
            let mut picked: Vec<&str> = (0..count)
                .map(|_| {
                    let roll = next() % 100;
                    match roll {
                        0..25 => "core",
                        25..40 => "net",
                        40..60 => "ui",
                        60..90 => "docs",
                        _ => "tools",
                    }
                })
                .collect();
            picked.sort_unstable();
            picked.dedup();
            picked
        }
    }
}

/// The tasks the rules keep for a push touching `areas` (a model of CONFIG,
/// written independently of sift).
fn model_keeps(areas: &[&str]) -> BTreeSet<&'static str> {
    let mut components: BTreeSet<&str> = BTreeSet::new();
    for area in areas {
        match *area {
            "core" => {
                components.insert("core");
            }
            "net" => {
                components.insert("net");
            }
            "ui" | "ui-broken" | "ui-fixed" | "config-strict" | "config-normal" => {
                components.insert("ui");
            }
            "docs" => {
                components.insert("docs");
            }
            // No rule: every exclusive component.
            _ => components.extend(["core", "net", "ui"]),
        }
    }
    let mut kept = BTreeSet::new();
    for (task, component) in [
        ("test-core", "core"),
        ("test-net", "net"),
        ("test-ui", "ui"),
        ("docs", "docs"),
    ] {
        if components.contains(component) {
            kept.insert(task);
        }
    }
    if ["core", "net", "ui"].iter().any(|c| components.contains(c)) {
        kept.insert("build");
    }
    kept
}

const TASKS: [&str; 5] = ["build", "docs", "test-core", "test-net", "test-ui"];

pub(crate) fn apply(repo: &TestRepo, n: u64, areas: &[&str]) {
    for area in areas {
        match *area {
            "ui-broken" => {
                repo.write("ui/src/broken.ts", "export const broken = true;\n");
            }
            "ui-fixed" => {
                repo.remove("ui/src/broken.ts");
            }
            "config-strict" => {
                repo.write("shared/config.yaml", "mode: strict\n");
            }
            "config-normal" => {
                repo.write("shared/config.yaml", "mode: normal\n");
            }
            name => {
                let files = AREAS.iter().find(|(a, _)| *a == name).unwrap().1;
                let file = files[n as usize % files.len()];
                repo.write(file, &format!("// change {n}\n"));
            }
        }
    }
}

/// The whole loop for one push; returns the names of tasks that failed on
/// the first attempt.
pub(crate) struct Loop<'a> {
    pub(crate) repo: &'a TestRepo,
    pub(crate) store: String,
    pub(crate) env: Vec<(&'static str, String)>,
    pub(crate) state: PathBuf,
}

impl Loop<'_> {
    pub(crate) fn sift(&self, args: &[&str]) -> Run {
        let mut env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let state = self.state.to_str().unwrap();
        env.extend([("FLAKY", FLAKY), ("STATE", state)]);
        let mut all = args.to_vec();
        all.extend(["--store", &self.store]);
        self.repo.sift_env(self.repo.path(), &all, None, &env)
    }

    pub(crate) fn push(&self, n: u64) {
        let mut plan = vec![
            "plan", "--record", "--branch", "main", "--base", "HEAD~1", "--format", "json",
        ];
        if n == 1 {
            plan.retain(|a| *a != "--base" && *a != "HEAD~1");
            plan.push("--all");
        }
        if SHADOW.contains(&n) {
            plan.push("--shadow");
        }
        let planned = self.sift(&plan);
        let json = planned.json();
        assert_eq!(json["push"]["number"], n, "{}", planned.stderr);
        let junit = self.repo.path().join("core-junit.xml");
        let _ = std::fs::remove_file(&junit);
        let mut run = vec![
            "run",
            "--branch",
            "main",
            "--keep-going",
            "-j",
            "2",
            "--format",
            "json",
        ];
        if n == 1 {
            run.push("--all");
        } else {
            run.extend(["--base", "HEAD~1"]);
        }
        let first = self.sift(&run);
        assert!(matches!(first.code, 0 | 12), "push {n}: {}", first.stderr);
        // CI retries failed tasks once.
        let report = first.json_any();
        for task in report["tasks"].as_array().unwrap() {
            if task["result"] == "failed" {
                let name = task["name"].as_str().unwrap();
                let mut retry = run.clone();
                retry.extend(["--target", name]);
                let again = self.sift(&retry);
                assert!(matches!(again.code, 0 | 12), "{}", again.stderr);
            }
        }
        if junit.exists() {
            self.sift(&[
                "record",
                "--junit",
                junit.to_str().unwrap(),
                "--push",
                &n.to_string(),
                "--task",
                "test-core",
                "--branch",
                "main",
                "--cache-dir",
                self.state.join("pytest-cache").to_str().unwrap(),
            ])
            .ok();
        }
    }
}

/// The first commit: `config` as sift.toml and every area's files.
pub(crate) fn initial_tree(repo: &TestRepo, config: &str) {
    repo.write(".gitignore", ".sift/\ncore-junit.xml\n")
        .write("sift.toml", config)
        .write("shared/config.yaml", "mode: normal\n")
        .write("tests/test_core.py", "")
        .write("tests/test_strict_config.py", "");
    for (_, files) in AREAS {
        for file in files {
            repo.write(file, "// initial\n");
        }
    }
    repo.commit("initial");
}

fn build_history(
    repo: &TestRepo,
    looper: &Loop<'_>,
    pushes: u64,
) -> BTreeMap<u64, Vec<&'static str>> {
    initial_tree(repo, CONFIG);
    looper.push(1);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut history = BTreeMap::new();
    history.insert(1, vec!["everything"]);
    for n in 2..=pushes {
        let areas = areas_of(n, &mut rng);
        apply(repo, n, &areas);
        repo.commit(&format!("push {n}: {}", areas.join(" ")));
        looper.push(n);
        history.insert(n, areas);
    }
    history
}

/// Every attempt's duration per task, read straight from the stored reports.
fn stored_durations(store: &Path) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let dir = store.join("history/v1/main/outcomes");
    for push in std::fs::read_dir(dir).unwrap() {
        for report in std::fs::read_dir(push.unwrap().path()).unwrap() {
            let json: serde_json::Value =
                serde_json::from_slice(&std::fs::read(report.unwrap().path()).unwrap()).unwrap();
            for task in json["tasks"].as_array().unwrap() {
                if let Some(d) = task["duration_s"].as_f64() {
                    out.entry(task["name"].as_str().unwrap().to_owned())
                        .or_default()
                        .push(d);
                }
            }
        }
    }
    out
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

#[test]
fn a_real_history_gives_exact_false_greens_rate_and_savings() {
    let repo = TestRepo::git();
    let state = tempfile::tempdir().unwrap();
    let store = repo.path().join(".sift/store");
    let looper = Loop {
        repo: &repo,
        store: store.to_str().unwrap().to_owned(),
        env: Vec::new(),
        state: state.path().to_owned(),
    };
    let started = std::time::Instant::now();
    let history = build_history(&repo, &looper, PUSHES);
    eprintln!("built and ran {PUSHES} pushes in {:.1?}", started.elapsed());

    let quality = looper.sift(&["quality", "--branch", "main", "--json"]);
    let report = quality.json();
    eprintln!("{}", report["verdict"]);

    // The pushes.
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["pushes"]["count"], PUSHES);
    assert_eq!(report["pushes"]["backstop"], PUSHES / 10);
    assert_eq!(report["pushes"]["shadow"], 16);

    // Exactly two false greens, both test-core's unpredictable breakage.
    let greens = report["false_greens"].as_array().unwrap();
    let summary: Vec<(String, u64, u64, String, Vec<u64>)> = greens
        .iter()
        .map(|g| {
            (
                g["task"].as_str().unwrap().to_owned(),
                g["push"].as_u64().unwrap(),
                g["detected"].as_u64().unwrap(),
                g["detected_by"].as_str().unwrap().to_owned(),
                g["window"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "test-core".to_owned(),
                57,
                61,
                "backstop".to_owned(),
                vec![57, 61]
            ),
            (
                "test-core".to_owned(),
                160,
                160,
                "shadow".to_owned(),
                vec![160, 160]
            ),
        ]
    );
    let first = &greens[0];
    assert_eq!(first["skipped_pushes"].as_array().unwrap().len(), 5);
    assert_eq!(
        first["skipped_pushes"][0]["reason"],
        "schedules: none of core affected"
    );
    assert_eq!(
        first["skipped_pushes"][0]["changed_files"],
        serde_json::json!(["shared/config.yaml"])
    );
    assert_eq!(
        first["chain"][0]["rules"],
        serde_json::json!(["sift.toml:14 `shared/**` → exclusive ui"])
    );
    assert_eq!(first["chain"][0]["components"], serde_json::json!(["ui"]));
    assert_eq!(
        first["suggestion"]["toml"],
        "[[rules]]\nfiles = [\"shared/config.yaml\"]\nexclusive = [\"core\", \"ui\"]\n"
    );

    // The predictable failure was caught; the flaky task is flaky, not failing.
    assert_eq!(
        report["regressions"],
        serde_json::json!({"total": 3, "caught": 1, "missed": 2, "unknown_start": 0})
    );
    assert_eq!(
        report["flaky"],
        serde_json::json!([{"task": "test-net", "pushes": [11, 41, 71, 155]}])
    );
    // Failing pushes 30 (caught), 57 and 160 (missed).
    let rate = &report["rate"];
    assert_eq!(rate["failing_pushes"], 3);
    assert_eq!(rate["missed_failing_pushes"], 2);
    assert_eq!(rate["rate"], 0.666667);
    assert_eq!(rate["ci95"], serde_json::json!([0.20766, 0.938508]));
    assert_eq!(rate["truth_known_pushes"], PUSHES);

    // Savings: the skipped task runs are what a model of the rules says,
    // and the seconds what the stored durations add up to.
    let durations: BTreeMap<String, f64> = stored_durations(&store)
        .into_iter()
        .map(|(task, values)| (task, median(values)))
        .collect();
    let (mut skipped, mut would_skip, mut seconds) = (0usize, 0usize, 0.0f64);
    for (&n, areas) in &history {
        let keeps = if n == 1 {
            TASKS.iter().copied().collect()
        } else {
            model_keeps(areas)
        };
        let not_kept = TASKS.iter().filter(|t| !keeps.contains(*t));
        let backstop = n % 10 == 1;
        for task in not_kept {
            would_skip += 1;
            if !backstop && !SHADOW.contains(&n) {
                skipped += 1;
                seconds += durations[*task];
            }
        }
    }
    let selection = &report["selection"];
    assert_eq!(selection["tasks"], PUSHES * 5);
    assert_eq!(selection["skipped"], skipped);
    assert_eq!(selection["would_skip"], would_skip);
    let reported = selection["skipped_seconds"].as_f64().unwrap();
    assert!(
        (reported - seconds).abs() < 0.01,
        "saved {reported} s, the stored durations add up to {seconds} s"
    );
    eprintln!(
        "skipped {skipped} of {} task runs ({would_skip} by the selection alone), {reported:.3} task-seconds",
        PUSHES * 5
    );

    // Test order: test-core's JUnit results on the two pushes where a test
    // failed; sift's order puts the config test (named by the change) first.
    let tests = &report["tests"];
    eprintln!("test order: {tests}");
    assert_eq!(tests["failing_runs"], 2, "{tests}");
    assert!(
        tests["apfd"]["sift"].as_f64().unwrap() > tests["apfd"]["baseline"].as_f64().unwrap(),
        "{tests}"
    );

    // The text report says the same.
    let text = looper.sift(&["quality", "--branch", "main"]);
    let out = text.ok();
    eprintln!("{out}");
    assert!(
        out.contains("false greens:\n- test-core broke in pushes #57..#61"),
        "{out}"
    );
    assert!(
        out.contains(&format!("verdict: {}", report["verdict"].as_str().unwrap())),
        "{out}"
    );

    // The HTML report draws the same document (`--report`, and `sift report
    // --quality` from the JSON), checked in a real browser.
    looper
        .sift(&["quality", "--branch", "main", "--report", "quality.html"])
        .ok();
    repo.write("quality.json", quality.ok());
    repo.sift(&["report", "--quality", "quality.json", "--out", "again.html"])
        .ok();
    let page = std::fs::read_to_string(repo.path().join("quality.html")).unwrap();
    assert_eq!(
        page,
        std::fs::read_to_string(repo.path().join("again.html")).unwrap()
    );
    if let Some(browser) = super::report::browser() {
        let steps = serde_json::json!([
            {"op": "counts", "expect": {"pushes": "200", "false-greens": "2", "false-green-rate": "66.7%",
                                        "skipped-runs": selection["skipped"].to_string(),
                                        "saved": format!("{:.0}%", selection["skipped_seconds_share"].as_f64().unwrap() * 100.0)}},
            {"op": "title", "contains": ["selection quality on main: pushes #1 to #200"]},
            {"op": "quality", "columns": PUSHES, "backstops": PUSHES / 10, "windows": 2,
             "greens": ["test-core", "test-core"]},
            {"op": "text", "contains": [
                report["verdict"].as_str().unwrap(),
                "test-core broke on #57, skipped there, first seen failing on #61 (backstop run)",
                "#57 ", "schedules: none of core affected", "changed: shared/config.yaml",
                "sift.toml:14 `shared/**` → exclusive ui → components ui",
                "exclusive = [\"core\", \"ui\"]",
                "test-net failed, then passed on a retry, on #11, #41, #71, #155",
                "95% CI 20.8%–93.9%"]},
            {"op": "screenshot", "path": super::report::screenshot("quality"), "full_page": true},
            {"op": "safe"}
        ]);
        super::report::drive(&browser, &repo.path().join("quality.html"), steps);
    }

    let last = looper
        .sift(&["quality", "--branch", "main", "--last", "50", "--json"])
        .json();
    assert_eq!(last["pushes"]["first"], PUSHES - 49);
    let greens = last["false_greens"].as_array().unwrap();
    assert_eq!(greens.len(), 1, "only the shadow one is in the last 50");
    assert_eq!(greens[0]["push"], 160);
}

/// Shadow mode end to end against the S3-compatible server: every task
/// runs, the plan records what it would have skipped, and quality reads it
/// back from the bucket.
#[test]
fn shadow_mode_against_the_s3_server() {
    let Some(endpoint) = s3_endpoint("shadow_mode_against_the_s3_server") else {
        return;
    };
    let bucket = new_bucket(&endpoint, "shadow");
    let repo = TestRepo::git();
    let state = tempfile::tempdir().unwrap();
    let looper = Loop {
        repo: &repo,
        store: format!("s3://{bucket}/sift"),
        env: s3_env(&endpoint),
        state: state.path().to_owned(),
    };
    // Shadow mode for the whole branch, from the configuration.
    initial_tree(&repo, &format!("[plan]\nmode = \"shadow\"\n{CONFIG}"));
    looper.push(1);
    for (n, areas) in [
        (2, vec!["core"]),
        (3, vec!["docs"]),
        (4, vec!["config-strict"]),
        (5, vec!["config-normal"]),
        (6, vec!["ui"]),
    ] {
        apply(&repo, n, &areas);
        repo.commit(&format!("push {n}"));
        looper.push(n);
    }
    let history = looper
        .sift(&["history", "--branch", "main", "--tasks", "--json"])
        .json();
    let pushes = history["pushes"].as_array().unwrap();
    assert_eq!(pushes.len(), 6);
    for push in pushes {
        assert_eq!(push["mode"], "shadow", "{push}");
        assert!(push["skipped"].as_array().unwrap().is_empty(), "{push}");
        // Every task ran and reported.
        assert_eq!(push["tasks"].as_array().unwrap().len(), 5, "{push}");
    }
    let report = looper
        .sift(&["quality", "--branch", "main", "--json"])
        .json();
    assert_eq!(report["pushes"]["shadow"], 6);
    assert_eq!(report["selection"]["skipped"], 0);
    // Push 3 (docs): the selection would skip everything but docs.
    assert_eq!(report["selection"]["per_push"][2]["would_skip"], 4);
    let greens = report["false_greens"].as_array().unwrap();
    assert_eq!(greens.len(), 1, "{report}");
    assert_eq!(greens[0]["task"], "test-core");
    assert_eq!(greens[0]["window"], serde_json::json!([4, 4]));
    assert_eq!(greens[0]["detected_by"], "shadow");
    assert_eq!(report["rate"]["rate"], 1.0);
}

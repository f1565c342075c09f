//! `sift replay`: re-planning recorded pushes from git objects, with a
//! candidate configuration or with each push's own, compared with what the
//! history says happened.

use proptest::prelude::*;

use super::quality::{CONFIG, Loop, apply, initial_tree};
use crate::TestRepo;

/// 30 pushes through the whole loop, `test-core` broken by
/// `shared/config.yaml` on push 12 (caught by the backstop on 21).
fn short_history(repo: &TestRepo, looper: &Loop<'_>) {
    initial_tree(repo, CONFIG);
    looper.push(1);
    for n in 2..=30u64 {
        let areas: Vec<&str> = match n {
            11 => vec!["core"],
            12 => vec!["config-strict"],
            13..=21 => vec![["docs", "ui", "net"][n as usize % 3]],
            22 => vec!["config-normal"],
            _ => vec![["core", "docs", "ui", "net", "tools"][n as usize % 5]],
        };
        apply(repo, n, &areas);
        repo.commit(&format!("push {n}"));
        looper.push(n);
    }
}

#[test]
fn a_candidate_that_maps_the_shared_config_to_core_removes_the_false_green() {
    let repo = TestRepo::git();
    let state = tempfile::tempdir().unwrap();
    let looper = Loop {
        repo: &repo,
        store: repo.path().join(".sift/store").to_str().unwrap().to_owned(),
        env: Vec::new(),
        state: state.path().to_owned(),
    };
    short_history(&repo, &looper);
    let quality = looper
        .sift(&["quality", "--branch", "main", "--json"])
        .json();
    assert_eq!(quality["false_greens"][0]["push"], 12, "{quality}");
    let suggestion = quality["false_greens"][0]["suggestion"]["toml"]
        .as_str()
        .unwrap()
        .to_owned();

    // The recorded configuration reproduces every recorded decision.
    let same = looper
        .sift(&["replay", "--branch", "main", "--json"])
        .json();
    assert_eq!(same["replayed"], 30, "{same}");
    assert_eq!(same["identical"], 30, "{same}");
    assert_eq!(same["different"], serde_json::json!([]));
    assert_eq!(same["false_greens_added"], serde_json::json!([]));
    assert_eq!(same["false_greens_removed"], serde_json::json!([]));

    // The candidate: today's configuration plus the suggested rule.
    repo.write("candidate.toml", &format!("{CONFIG}\n{suggestion}"));
    let replay = looper
        .sift(&[
            "replay",
            "--branch",
            "main",
            "--config",
            "candidate.toml",
            "--json",
        ])
        .json();
    assert_eq!(replay["format_version"], 1);
    assert_eq!(replay["candidate"], "candidate.toml");
    assert_eq!(
        replay["false_greens_removed"],
        serde_json::json!([{"task": "test-core", "push": 12, "detected": 21}])
    );
    assert_eq!(replay["false_greens_added"], serde_json::json!([]));
    assert_eq!(replay["recorded"]["false_greens"], 1);
    assert_eq!(replay["replay"]["false_greens"], 0);
    // The config changed on pushes 12 and 22: test-core (and build, which
    // it needs, but ran anyway for ui) would run there.
    assert_eq!(replay["different"], serde_json::json!([12, 22]));
    let tasks = replay["tasks"].as_array().unwrap();
    assert_eq!(
        tasks,
        &[serde_json::json!({"task": "test-core", "runs_added": 2, "runs_removed": 0})]
    );
    let rules = replay["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{replay}");
    assert_eq!(rules[0]["status"], "added");
    assert!(
        rules[0]["rule"]
            .as_str()
            .unwrap()
            .contains("files = [\"shared/config.yaml\"], exclusive = [\"core\", \"ui\"]"),
        "{}",
        rules[0]
    );
    assert_eq!(rules[0]["pushes_matched"], 2);
    assert_eq!(rules[0]["runs_added"], 2);
    assert_eq!(rules[0]["false_greens_removed"], 1);
    assert!(replay["replay"]["skipped"].as_u64() < replay["recorded"]["skipped"].as_u64());

    // The text report and a range.
    let text = looper.sift(&["replay", "--branch", "main", "--config", "candidate.toml"]);
    let out = text.ok();
    eprintln!("{out}");
    assert!(
        out.contains("false green removed: test-core on #12 (seen failing on #21)"),
        "{out}"
    );
    let range = looper
        .sift(&["replay", "--branch", "main", "--range", "20..25", "--json"])
        .json();
    assert_eq!(range["pushes"], 6);
    let bad = looper.sift(&["replay", "--branch", "main", "--range", "9..2"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

/// A random history: the root sift.toml, a nested rule file and an included
/// task file change along the way; some pushes are shadow, targeted or
/// forced backstops.
#[derive(Debug, Clone)]
struct Step {
    files: Vec<usize>,
    /// Rewrites the root rules with this variant.
    root_variant: Option<usize>,
    nested_variant: Option<usize>,
    include_variant: Option<usize>,
    flag: usize,
}

const TREE: [&str; 10] = [
    "a/x.c",
    "a/y.c",
    "b/x.py",
    "b/deep/z.py",
    "c/docs.md",
    "c/logo.png",
    "d/main.rs",
    "d/sub/lib.rs",
    "e.txt",
    "b/deep/w.txt",
];

fn root_config(variant: usize) -> String {
    let rules = [
        "[[rules]]\nfiles = [\"a/**\"]\nexclusive = [\"linux\"]\n",
        "[[rules]]\nfiles = [\"a/**\", \"d/**\"]\nexclusive = [\"mac\"]\ninclusive = [\"lint\"]\n",
        "[[rules]]\nfiles = [\"**/*.md\"]\nexclusive = []\ninclusive = [\"docs\"]\n[[rules]]\nfiles = [\"d/**\", \"!d/sub/**\"]\nexclusive = [\"linux\", \"win\"]\n",
    ];
    format!(
        r#"include = ["ci/*.toml"]

[components]
exclusive = ["linux", "mac", "win"]
inclusive = ["docs", "lint"]

{}
[backstop]
branches = ["main"]
every_pushes = 4

[tasks.build]
schedules = ["linux", "mac", "win"]

[tasks.test-linux]
schedules = ["linux"]
needs = ["build"]

[tasks.lint]
any = [{{ schedules = ["lint"] }}, {{ changed = ["**/*.py"] }}]

[tasks.docs]
all = [{{ schedules = ["docs"] }}, {{ not = {{ changed = ["c/logo.png"] }} }}]

[tasks.fuzz]
on_backstop = true

[tasks.talos]
schedules = ["mac"]
backstop = false
"#,
        rules[variant % rules.len()]
    )
}

fn nested_config(variant: usize) -> &'static str {
    [
        "[[rules]]\nfiles = [\"deep/**\"]\nexclusive = [\"win\"]\n",
        "[[rules]]\nfiles = [\"*.py\"]\ninclusive = [\"lint\"]\nexclusive = [\"mac\", \"linux\"]\n",
    ][variant % 2]
}

fn include_config(variant: usize) -> &'static str {
    [
        "[tasks.test-win]\nschedules = [\"win\"]\nneeds = [\"build\"]\n",
        "[tasks.test-win]\nchanged = [\"b/**\", \"!**/*.txt\"]\nneeds = [\"build\"]\n",
    ][variant % 2]
}

fn step() -> impl Strategy<Value = Step> {
    (
        proptest::collection::vec(0..TREE.len(), 1..4),
        proptest::option::weighted(0.25, 0..3usize),
        proptest::option::weighted(0.2, 0..2usize),
        proptest::option::weighted(0.15, 0..2usize),
        0..10usize,
    )
        .prop_map(|(files, root, nested, include, flag)| Step {
            files,
            root_variant: root,
            nested_variant: nested,
            include_variant: include,
            flag,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// Replaying each push with the configuration it had reproduces the
    /// recorded decisions exactly: kept and skipped tasks, every reason,
    /// and what the selection alone would have skipped.
    #[test]
    fn replaying_the_recorded_configuration_reproduces_the_decisions(
        steps in proptest::collection::vec(step(), 4..10)
    ) {
        let repo = TestRepo::git();
        // The store lives in the work tree; it is not part of the pushes.
        repo.write(".gitignore", ".sift/\n")
            .write("sift.toml", &root_config(0))
            .write("b/sift.toml", nested_config(0))
            .write("ci/more.toml", include_config(0));
        for path in TREE {
            repo.write(path, "0\n");
        }
        repo.commit("initial");
        let record = |extra: &[&str]| {
            let mut args = vec!["plan", "--record", "--branch", "main", "--base", "HEAD~1", "--format", "json"];
            args.extend_from_slice(extra);
            repo.sift(&args)
        };
        repo.sift(&["plan", "--record", "--branch", "main", "--all", "--format", "json"]).ok();
        for (i, step) in steps.iter().enumerate() {
            for &f in &step.files {
                repo.write(TREE[f], &format!("{i}\n"));
            }
            if let Some(v) = step.root_variant {
                repo.write("sift.toml", &root_config(v));
            }
            if let Some(v) = step.nested_variant {
                repo.write("b/sift.toml", nested_config(v));
            }
            if let Some(v) = step.include_variant {
                repo.write("ci/more.toml", include_config(v));
            }
            repo.commit(&format!("step {i}"));
            let run = match step.flag {
                0 => record(&["--shadow"]),
                1 => record(&["--target", "test-*"]),
                2 => record(&["--backstop"]),
                _ => record(&[]),
            };
            prop_assert_eq!(run.code, 0, "{}", run.stderr);
        }
        let replay = repo.sift(&["replay", "--branch", "main", "--json"]);
        let json = replay.json();
        prop_assert_eq!(&json["replayed"], &json["pushes"], "{}", json);
        prop_assert_eq!(&json["identical"], &json["replayed"], "{}\n{}", json, replay.stderr);
        prop_assert_eq!(&json["not_replayed"], &serde_json::json!([]));
    }
}

//! Generates small repositories with the real binary and checks them: against
//! the format (parsed with `toml`) and against sift-core's own loader and
//! planner, so that a benchmark never measures a configuration sift rejects.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sift_core::pattern::PatternList;
use sift_core::{Change, Config, PlanOptions, Planner};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sift-bench-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn generate(out: &Path, seed: u64, scale: f64) {
    let status = Command::new(env!("CARGO_BIN_EXE_sift-bench"))
        .args(["gen", "--out"])
        .arg(out)
        .args(["--seed", &seed.to_string(), "--scale", &scale.to_string()])
        .status()
        .expect("run sift-bench gen");
    assert!(status.success(), "sift-bench gen failed");
}

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn strings(value: &toml::Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

struct Components {
    inclusive: BTreeSet<String>,
    all: BTreeSet<String>,
}

fn check_rules(file: &str, table: &toml::Table, components: &Components) -> usize {
    let mut patterns = 0;
    for rule in table["rules"].as_array().expect("[[rules]]") {
        let rule = rule.as_table().unwrap();
        for key in rule.keys() {
            assert!(
                ["files", "inclusive", "exclusive"].contains(&key.as_str()),
                "{file}: unexpected key {key}"
            );
        }
        let files = strings(&rule["files"]);
        assert!(!files.is_empty(), "{file}: empty files");
        PatternList::new(&files)
            .unwrap_or_else(|(i, e)| panic!("{file}: pattern `{}`: {e}", files[i]));
        patterns += files.len();
        assert!(
            rule.contains_key("inclusive") || rule.contains_key("exclusive"),
            "{file}: rule without effect"
        );
        for c in rule.get("inclusive").map(strings).unwrap_or_default() {
            assert!(
                components.inclusive.contains(&c),
                "{file}: inclusive names `{c}`"
            );
        }
        for c in rule.get("exclusive").map(strings).unwrap_or_default() {
            assert!(
                components.all.contains(&c),
                "{file}: unknown component `{c}`"
            );
        }
    }
    patterns
}

fn check_strategy(task: &str, table: &toml::Table, components: &Components) {
    let keys: Vec<&String> = table
        .keys()
        .filter(|k| ["schedules", "changed", "always", "any", "all", "not"].contains(&k.as_str()))
        .collect();
    assert!(keys.len() <= 1, "{task}: several strategies {keys:?}");
    if let Some(s) = table.get("schedules") {
        for c in strings(s) {
            assert!(
                components.all.contains(&c),
                "{task}: unknown component `{c}`"
            );
        }
    }
    if let Some(c) = table.get("changed") {
        PatternList::new(&strings(c)).unwrap_or_else(|(_, e)| panic!("{task}: {e}"));
    }
    if let Some(a) = table.get("always") {
        assert_eq!(a.as_bool(), Some(true));
    }
    for key in ["any", "all"] {
        if let Some(list) = table.get(key) {
            let list = list.as_array().unwrap();
            assert!(!list.is_empty());
            for member in list {
                let member = member.as_table().unwrap();
                assert_eq!(
                    member.len(),
                    1,
                    "{task}: composite members are one-key tables"
                );
                check_strategy(task, member, components);
            }
        }
    }
    if let Some(member) = table.get("not") {
        let member = member.as_table().unwrap();
        assert_eq!(member.len(), 1);
        check_strategy(task, member, components);
    }
}

/// Checks the generated repository by hand; returns (rule files, patterns, tasks).
fn check_format(dir: &Path) -> (usize, usize, usize) {
    let root: toml::Table = std::fs::read_to_string(dir.join("sift.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        root.keys().collect::<BTreeSet<_>>(),
        ["components", "include", "rules"]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .iter()
            .collect()
    );
    let comps = root["components"].as_table().unwrap();
    let mut all = BTreeSet::new();
    let mut n_exclusive = 0;
    for (_, names) in comps["exclusive"].as_table().unwrap() {
        for n in strings(names) {
            assert!(all.insert(n.clone()), "component {n} declared twice");
            n_exclusive += 1;
        }
    }
    let inclusive: BTreeSet<String> = strings(&comps["inclusive"]).into_iter().collect();
    for n in &inclusive {
        assert!(all.insert(n.clone()), "component {n} declared twice");
    }
    assert_eq!((n_exclusive, inclusive.len()), (40, 15));
    let components = Components { inclusive, all };
    let mut patterns = check_rules("sift.toml", &root, &components);

    let paths = std::fs::read_to_string(dir.join("paths.txt")).unwrap();
    let mut dirs = BTreeSet::new();
    for p in paths.lines() {
        let segments = p.split('/').count();
        assert!((2..=8).contains(&segments), "{p}");
        let mut d = p;
        while let Some((parent, _)) = d.rsplit_once('/') {
            dirs.insert(parent.to_owned());
            d = parent;
        }
    }

    let mut rule_files = 0;
    let mut tasks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files(dir) {
        if let Some(rule_dir) = file.strip_suffix("/sift.toml") {
            assert!(dirs.contains(rule_dir), "{file} is not in the path tree");
            let table: toml::Table = std::fs::read_to_string(dir.join(&file))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(table.keys().collect::<Vec<_>>(), ["rules"], "{file}");
            patterns += check_rules(&file, &table, &components);
            rule_files += 1;
        } else if file.starts_with("ci/tasks/") {
            let table: toml::Table = std::fs::read_to_string(dir.join(&file))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(
                table.keys().collect::<Vec<_>>(),
                ["tasks"],
                "{file} holds only tasks"
            );
            for (name, task) in table["tasks"].as_table().unwrap() {
                let task = task.as_table().unwrap();
                for key in task.keys() {
                    assert!(
                        [
                            "schedules",
                            "changed",
                            "always",
                            "any",
                            "all",
                            "not",
                            "needs",
                            "run"
                        ]
                        .contains(&key.as_str()),
                        "{name}: {key}"
                    );
                }
                check_strategy(name, task, &components);
                let needs = task.get("needs").map(strings).unwrap_or_default();
                assert!(
                    tasks.insert(name.clone(), needs).is_none(),
                    "task {name} defined twice"
                );
            }
        }
    }
    // needs exist, no cycles (Kahn).
    let mut indegree: HashMap<&str, usize> = tasks.keys().map(|k| (k.as_str(), 0)).collect();
    let mut dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, needs) in &tasks {
        for need in needs {
            assert!(tasks.contains_key(need), "{name} needs unknown {need}");
            *indegree.get_mut(name.as_str()).unwrap() += 1;
            dependents.entry(need.as_str()).or_default().push(name);
        }
    }
    let mut ready: Vec<&str> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut done = 0;
    while let Some(t) = ready.pop() {
        done += 1;
        for d in dependents.get(t).map(Vec::as_slice).unwrap_or_default() {
            let e = indegree.get_mut(d).unwrap();
            *e -= 1;
            if *e == 0 {
                ready.push(d);
            }
        }
    }
    assert_eq!(done, tasks.len(), "needs cycle");
    (rule_files, patterns, tasks.len())
}

/// Loads with sift-core, reads every nested rule file and plans every change.
fn check_with_sift_core(dir: &Path) {
    let config =
        Config::load(dir).unwrap_or_else(|e| panic!("sift-core rejects the config: {e:?}"));
    assert_eq!(
        config.warnings.warnings().count(),
        0,
        "{:?}",
        config.warnings
    );
    let mut planner = Planner::new(&config);
    for file in files(dir) {
        if let Some(rule_dir) = file.strip_suffix("/sift.toml") {
            planner.rules().chain(rule_dir);
        }
    }
    let diagnostics = planner.rules().diagnostics();
    assert!(
        !diagnostics.has_errors() && diagnostics.warnings().count() == 0,
        "{diagnostics:?}"
    );
    for size in [10, 1000, 100_000] {
        let text = std::fs::read_to_string(dir.join(format!("change-{size}.txt"))).unwrap();
        let plan = planner
            .plan(Change::from_path_list(&text), &PlanOptions::default())
            .expect("plan");
        assert!(plan.kept().count() > 0);
    }
}

#[test]
fn small_repository_is_valid_and_deterministic() {
    let (a, b, c) = (temp_dir("a"), temp_dir("b"), temp_dir("c"));
    generate(&a, 7, 0.05);
    generate(&b, 7, 0.05);
    generate(&c, 8, 0.05);

    let listing = files(&a);
    assert_eq!(listing, files(&b));
    for f in &listing {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    assert_ne!(
        std::fs::read(a.join("paths.txt")).unwrap(),
        std::fs::read(c.join("paths.txt")).unwrap()
    );

    let paths = std::fs::read_to_string(a.join("paths.txt")).unwrap();
    assert_eq!(paths.lines().count(), 15_000);
    let (rule_files, patterns, tasks) = check_format(&a);
    assert_eq!((rule_files, patterns, tasks), (150, 1000, 500));
    let all_paths: BTreeSet<&str> = paths.lines().collect();
    for (size, expected) in [(10, 10), (1000, 1000), (100_000, 15_000)] {
        let change = std::fs::read_to_string(a.join(format!("change-{size}.txt"))).unwrap();
        let lines: BTreeSet<&str> = change.lines().collect();
        assert_eq!(
            lines.len(),
            expected,
            "change-{size}.txt holds distinct paths"
        );
        assert!(
            lines.is_subset(&all_paths),
            "change-{size}.txt holds paths of paths.txt"
        );
    }
    check_with_sift_core(&a);

    // Refuses to wipe a directory it did not write.
    let foreign = temp_dir("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "x").unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_sift-bench"))
        .args(["gen", "--out"])
        .arg(&foreign)
        .status()
        .unwrap();
    assert!(!status.success());
    assert!(foreign.join("keep.txt").exists());

    for d in [a, b, c, foreign] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Full scale, in process: checks the real thing and prints sift-core's own
/// planning time (no CLI, no process start-up). Slow in debug builds:
/// `cargo test --release -p sift-bench -- --ignored --nocapture`.
#[test]
#[ignore]
fn full_scale_repository_is_valid() {
    let dir = temp_dir("full");
    let started = Instant::now();
    generate(&dir, 1, 1.0);
    println!("gen: {:.2}s", started.elapsed().as_secs_f64());
    let (rule_files, patterns, tasks) = check_format(&dir);
    assert_eq!((rule_files, patterns, tasks), (3000, 20_000, 10_000));
    check_with_sift_core(&dir);
    for size in [10, 1000, 100_000] {
        let text = std::fs::read_to_string(dir.join(format!("change-{size}.txt"))).unwrap();
        let started = Instant::now();
        let config = Config::load(&dir).unwrap();
        let loaded = started.elapsed();
        let plan = Planner::new(&config)
            .plan(Change::from_path_list(&text), &PlanOptions::default())
            .unwrap();
        println!(
            "sift-core in process, change-{size}: load {:.1} ms, load+plan {:.1} ms, {} of {} tasks kept",
            loaded.as_secs_f64() * 1000.0,
            started.elapsed().as_secs_f64() * 1000.0,
            plan.kept().count(),
            plan.tasks.len()
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

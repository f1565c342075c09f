//! taskgraph's `remove_tasks` cases (reference §5.3) and the strategies.

use serde_json::json;

use super::*;
use crate::select::components::Components;
use crate::select::plan::ChangeAnalysis;

/// `tasks`: (label, deps, optimization, if_deps).
fn graph(tasks: &[(&str, &[&str], serde_json::Value, &[&str])]) -> TaskGraph {
    let mut doc = serde_json::Map::new();
    for (label, deps, optimization, if_deps) in tasks {
        let deps: serde_json::Map<String, serde_json::Value> =
            deps.iter().map(|d| ((*d).to_owned(), json!(d))).collect();
        doc.insert(
            (*label).to_owned(),
            json!({"kind": "test", "label": label, "attributes": {}, "task": {"x": [1, {"y": null}]},
                   "dependencies": deps, "optimization": optimization, "if_dependencies": if_deps}),
        );
    }
    TaskGraph::from_json(serde_json::to_string(&doc).unwrap().as_bytes()).unwrap()
}

fn removed(graph: &TaskGraph, params: &Params, targets: Option<&[String]>) -> Vec<String> {
    let components = Components::default();
    let analysis = ChangeAnalysis::default();
    let registry = Registry::gecko(false);
    let files: Vec<String> = params.files_changed.clone().unwrap_or_default();
    let inputs = Inputs {
        target_tasks: targets,
        params,
        registry: &registry,
        files: &files,
        components: &components,
        analysis: &analysis,
        backstop: false,
        expanded: None,
    };
    optimize(graph, &inputs)
        .unwrap()
        .decisions
        .into_iter()
        .filter(|d| !d.kept)
        .map(|d| d.label)
        .collect()
}

#[test]
fn remove_tasks_cases() {
    let params = Params::defaults();
    // t1 <- t2 <- t3: removing t3 lets t2 and t1 go ("dependents optimized").
    let g = graph(&[
        ("t1", &[], json!({"always": null}), &[]),
        ("t2", &["t1"], json!({"always": null}), &[]),
        ("t3", &["t2"], json!({"always": null}), &[]),
    ]);
    assert_eq!(removed(&g, &params, None), ["t1", "t2", "t3"]);
    // A kept dependent keeps its dependencies whatever their strategy.
    let g = graph(&[
        ("t1", &[], json!({"always": null}), &[]),
        ("t2", &["t1"], json!({"never": null}), &[]),
    ]);
    assert!(removed(&g, &params, None).is_empty());
    // Not requested: removed once no dependent needs it.
    let g = graph(&[
        ("t1", &[], json!({"never": null}), &[]),
        ("t2", &["t1"], json!({"always": null}), &[]),
    ]);
    let targets = vec!["t2".to_owned()];
    assert_eq!(removed(&g, &params, Some(&targets)), ["t1", "t2"]);
    // do_not_optimize.
    let mut dno = Params::defaults();
    dno.do_not_optimize = vec!["t2".into()];
    assert!(removed(&g, &dno, Some(&targets)).is_empty());
}

#[test]
fn if_dependencies_pruning() {
    let params = Params::defaults();
    // t2 runs only if t1 runs; t1 is removed, so t2 is pruned.
    let g = graph(&[
        ("t1", &[], json!({"always": null}), &[]),
        ("t2", &["t1"], json!({"never": null}), &["t1"]),
    ]);
    assert_eq!(removed(&g, &params, None), ["t1", "t2"]);
    // t1 kept: t2 stays.
    let g = graph(&[
        ("t1", &[], json!({"never": null}), &[]),
        ("t2", &["t1"], json!({"never": null}), &["t1"]),
    ]);
    assert!(removed(&g, &params, None).is_empty());
}

#[test]
fn issue_711_is_conservative() {
    // taskgraph gives [] or [task-a] depending on PYTHONHASHSEED; the second
    // leaves task-apush-a depending on a removed task. sift keeps both.
    let mut params = Params::defaults();
    params.files_changed = Some(vec!["hello".into()]);
    let g = graph(&[
        (
            "task-a",
            &[],
            json!({"skip-unless-changed": ["world"]}),
            &[],
        ),
        (
            "task-apush-a",
            &["task-a"],
            serde_json::Value::Null,
            &["task-a"],
        ),
        ("task-b", &[], serde_json::Value::Null, &[]),
        (
            "final",
            &["task-apush-a", "task-b"],
            serde_json::Value::Null,
            &["task-apush-a", "task-b"],
        ),
    ]);
    assert!(removed(&g, &params, None).is_empty());
}

#[test]
fn strategies_keep_taskgraphs_meanings() {
    let mut params = Params::defaults();
    params.files_changed = Some(vec!["docs/a.md".into(), "src/x.rs".into()]);
    let g = graph(&[
        ("always", &[], json!({"always": null}), &[]),
        ("never", &[], json!({"never": null}), &[]),
        (
            "changed-yes",
            &[],
            json!({"skip-unless-changed": ["docs/**"]}),
            &[],
        ),
        (
            "changed-no",
            &[],
            json!({"skip-unless-changed": ["taskcluster"]}),
            &[],
        ),
        (
            "any",
            &[],
            json!({"skip-unless-missing-or-changed": [["index.x"], ["src"]]}),
            &[],
        ),
        ("bugbug", &[], json!({"bugbug-low": {}}), &[]),
        ("unknown", &[], json!({"my-strategy": null}), &[]),
        ("symbols", &[], json!({"upload-symbols": null}), &[]),
    ]);
    assert_eq!(removed(&g, &params, None), ["always", "changed-no"]);
    // base_rev == head_rev: skip-unless-changed does not apply.
    params.base_rev = Some("abc".into());
    params.head_rev = Some("abc".into());
    assert_eq!(removed(&g, &params, None), ["always"]);
}

#[test]
fn not_of_never_is_removed_in_the_replacement_phase() {
    let registry = Registry::gecko(true);
    assert!(registry.get("test").is_some());
    let params = Params::defaults();
    let g = graph(&[("t", &[], json!({"skip-unless-expanded": null}), &[])]);
    // No pushlog_id: unknown, kept.
    assert!(removed(&g, &params, None).is_empty());
}

#[test]
fn only_the_first_optimization_entry_counts() {
    let g = TaskGraph::from_json(br#"{"a": {"optimization": {"never": null, "always": null}}}"#)
        .unwrap();
    assert_eq!(g.tasks[0].optimization.as_ref().unwrap().0, "never");
}

#[test]
fn graph_errors_are_reported() {
    assert!(TaskGraph::from_json(b"{\"a\": ").is_err());
    let cyclic = br#"{"a": {"dependencies": {"x": "b"}}, "b": {"dependencies": {"y": "a"}}}"#;
    assert!(matches!(
        TaskGraph::from_json(cyclic),
        Err(GraphError::Cycle(_))
    ));
    // Dependencies outside the graph are dropped, as taskgraph drops them.
    let g =
        TaskGraph::from_json(br#"{"a": {"dependencies": {"x": "gone"}, "optimization": null}}"#)
            .unwrap();
    assert!(g.tasks[0].dependencies.is_empty());
}

proptest::proptest! {
    #[test]
    fn arbitrary_json_never_panics(text in "\\PC{0,120}") {
        let _ = TaskGraph::from_json(text.as_bytes());
        let _ = Params::parse(&text);
    }
}

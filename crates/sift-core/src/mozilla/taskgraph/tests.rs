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
    let targets = TargetGraph::new(graph, targets, params).unwrap();
    let inputs = Inputs {
        targets: &targets,
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
        .decisions(graph)
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
fn relevant_tests_are_manifests_under_a_changed_files_directory() {
    // Mozilla's `relevant_tests`: a plain string prefix, so `dom/base/test`
    // also covers `dom/base/testing`; a file at the top has no directory.
    let mut params = Params::defaults();
    params.files_changed = Some(vec!["dom/base/test/foo.js".into(), "README".into()]);
    let mut doc = serde_json::Map::new();
    let cases = [
        (
            "hit",
            json!(["layout/a.toml", "dom/base/test/mochitest.toml"]),
        ),
        ("prefix", json!(["dom/base/testing/x.toml"])),
        ("miss", json!(["layout/x.toml", "dom"])),
        ("empty", json!([])),
        ("not-a-list", json!("dom/base/test/m.toml")),
        ("escaped", json!(["dom/base/test/\u{e9}\"q\".toml"])),
    ];
    // Forty of each, so that a read in two parts has them in both.
    for k in 0..40 {
        for (name, manifests) in &cases {
            doc.insert(
                format!("{name}-{k:02}"),
                json!({"attributes": {"test_manifests": manifests},
                       "optimization": {"skip-unless-has-relevant-tests": null},
                       "task": {"payload": {"command": ["run", k]}}}),
            );
        }
        doc.insert(
            format!("none-{k:02}"),
            json!({"optimization": {"skip-unless-has-relevant-tests": null}}),
        );
    }
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(doc)).unwrap();
    let one_piece = TaskGraph::from_json(text.as_bytes()).unwrap();
    let (split, (), ()) =
        TaskGraph::from_json_around_from(text.as_bytes(), 0, || Ok::<_, ()>(()), |()| ()).unwrap();
    let split = split.unwrap();
    for graph in [&one_piece, &split] {
        let manifests = |label: &str| -> Option<Vec<String>> {
            let i = graph.get(label).unwrap();
            graph
                .test_manifests(i)
                .map(|items| items.map(str::to_owned).collect())
        };
        assert_eq!(
            manifests("hit-39").unwrap(),
            ["layout/a.toml", "dom/base/test/mochitest.toml"]
        );
        assert_eq!(
            manifests("escaped-00").unwrap(),
            ["dom/base/test/\u{e9}\"q\".toml"]
        );
        assert_eq!(manifests("empty-07"), Some(vec![]));
        assert_eq!(manifests("not-a-list-07"), None);
        assert_eq!(manifests("none-07"), None);
        let removed = removed(graph, &params, None);
        let kinds: std::collections::BTreeSet<&str> = removed
            .iter()
            .map(|label| label.rsplit_once('-').unwrap().0)
            .collect();
        assert_eq!(removed.len(), 4 * 40);
        assert_eq!(
            kinds,
            std::collections::BTreeSet::from(["empty", "miss", "none", "not-a-list"])
        );
    }
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
    assert_eq!(g.optimization(0).unwrap().0, "never");
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
    assert!(g.dependencies(0).is_empty());
}

proptest::proptest! {
    #[test]
    fn arbitrary_json_never_panics(text in "\\PC{0,120}") {
        let _ = TaskGraph::from_json(text.as_bytes());
        let _ = Params::parse(&text);
    }
}

/// The fast reader (`fast.rs` over `scan.rs`) against serde_json's: where
/// the fast one answers, it answers as serde_json does for the text with
/// the task definitions it skipped by their brackets replaced by `null`
/// (which serde_json must accept), and so as serde_json does for the text
/// itself wherever the definitions are valid JSON.
mod fast_reader {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::super::fast;
    use super::super::graph::{RawEntry, RawGraph, read_serde};

    /// serde reads `dependencies` into a hash map: compare them sorted.
    fn sorted(graph: RawGraph) -> Vec<RawEntry> {
        let mut entries = graph.entries();
        entries.iter_mut().for_each(|e| e.dependencies.sort());
        entries
    }

    /// Agreement on `text`; returns whether the fast reader answered.
    fn agree(text: &[u8]) -> Result<bool, TestCaseError> {
        let slow = read_serde(text).map(sorted);
        let fast = fast::read(text).map(sorted);
        // Read in two parts wherever a line may start a label: the same answer.
        let split = fast::read_split_from(text, 0).map(sorted);
        prop_assert_eq!(
            fast.as_ref().ok(),
            split.as_ref().ok(),
            "{}",
            String::from_utf8_lossy(text)
        );
        // And split at any line start, the right guess or a wrong one.
        for at in memchr::memchr_iter(b'\n', text).take(12) {
            let split = fast::read_split_at(text, at + 1).map(sorted);
            prop_assert_eq!(
                fast.as_ref().ok(),
                split.as_ref().ok(),
                "split at {}: {}",
                at + 1,
                String::from_utf8_lossy(text)
            );
        }
        let Ok(entries) = fast else {
            return Ok(false);
        };
        let (whole, definitions) = fast::read_definitions(text)
            .map_err(|_| TestCaseError::fail("read answered, read_definitions declined"))?;
        prop_assert_eq!(&sorted(whole), &entries);
        let mut nulled = Vec::with_capacity(text.len());
        let mut from = 0;
        for definition in &definitions {
            nulled.extend_from_slice(&text[from..definition.start]);
            nulled.extend_from_slice(b"null");
            from = definition.end;
        }
        nulled.extend_from_slice(&text[from..]);
        let lenient = read_serde(&nulled).map(sorted).map_err(|e| {
            TestCaseError::fail(format!(
                "fast accepted what serde_json rejects outside the definitions ({e}): {}",
                String::from_utf8_lossy(text)
            ))
        })?;
        prop_assert_eq!(&entries, &lenient, "{}", String::from_utf8_lossy(text));
        if let Ok(slow) = slow {
            prop_assert_eq!(&entries, &slow, "{}", String::from_utf8_lossy(text));
        }
        Ok(true)
    }

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9/_.-]{0,12}",
            Just("kind".to_owned()),
            Just("task".to_owned()),
            Just("label".to_owned()),
            "\\PC{0,6}",
            "[a-z\"\\\\/\u{e9}\u{1F600}\t\n\u{1}]{0,6}",
        ]
    }

    /// Any JSON value, nested a few levels.
    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e300f64..1e300).prop_map(Value::from),
            word().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((word(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    /// A field of a task: mostly the shapes taskgraph writes, sometimes not.
    fn task_value(labels: Vec<String>) -> impl Strategy<Value = Value> {
        let label = proptest::sample::select(labels);
        let deps = prop::collection::vec((word(), label.clone()), 0..4).prop_map(|kv| {
            Value::Object(kv.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
        });
        let if_deps = prop::collection::vec(label.clone().prop_map(Value::String), 0..3)
            .prop_map(Value::Array);
        let optimization = prop_oneof![
            Just(Value::Null),
            Just(json!({})),
            (word(), any_value(), any_value()).prop_map(|(k, a, b)| json!({k: a, "zz-second": b})),
            prop::collection::vec(word().prop_map(Value::String), 0..4)
                .prop_map(|l| json!({"skip-unless-changed": l})),
        ];
        let attributes = prop_oneof![
            Just(Value::Null),
            (any_value(), any_value(), any_value(), any_value()).prop_map(|(a, t, b, o)| {
                json!({"always_target": a, "test_manifests": t, "build_type": b, "other": o})
            }),
            prop::collection::vec(word().prop_map(Value::String), 0..3)
                .prop_map(|m| json!({"test_manifests": m, "build_type": "opt"})),
        ];
        let fields = (
            prop_oneof![
                Just(Value::Null),
                word().prop_map(Value::String),
                any_value()
            ],
            prop_oneof![4 => deps, 1 => any_value()],
            prop_oneof![4 => optimization, 1 => any_value()],
            prop_oneof![4 => if_deps, 1 => Just(Value::Null), 1 => any_value()],
            prop_oneof![4 => attributes, 1 => any_value()],
            (any_value(), proptest::bool::weighted(0.3)),
            prop::collection::vec((word(), any_value()), 0..3),
            any::<u8>(),
        );
        fields.prop_map(|(kind, deps, opt, if_deps, attrs, task, extra, omit)| {
            let task = match task {
                // Now and then a definition longer than the scanner's batch.
                (task, true) => Value::Array(vec![task; 60]),
                (task, _) => task,
            };
            let mut object = Map::new();
            for (i, (key, value)) in [
                ("kind", kind),
                ("dependencies", deps),
                ("optimization", opt),
                ("if_dependencies", if_deps),
                ("attributes", attrs),
                ("task", task),
            ]
            .into_iter()
            .enumerate()
            {
                if omit & (1 << i) == 0 {
                    object.insert(key.to_owned(), value);
                }
            }
            for (key, value) in extra {
                object.entry(key).or_insert(value);
            }
            Value::Object(object)
        })
    }

    fn graph_text() -> impl Strategy<Value = String> {
        prop::collection::vec(word(), 1..8)
            .prop_flat_map(|labels| {
                let tasks = prop::collection::vec(
                    (
                        proptest::sample::select(labels.clone()),
                        task_value(labels.clone()),
                    ),
                    0..6,
                );
                (tasks, any::<bool>())
            })
            .prop_map(|(tasks, pretty)| {
                let doc = Value::Object(tasks.into_iter().collect());
                if pretty {
                    serde_json::to_string_pretty(&doc).unwrap()
                } else {
                    serde_json::to_string(&doc).unwrap()
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn fast_and_serde_agree_on_arbitrary_graphs(text in graph_text()) {
            agree(text.as_bytes())?;
        }

        /// Damaged graphs: a byte replaced, inserted or removed.
        #[test]
        fn fast_accepts_only_what_serde_accepts_outside_definitions(
            text in graph_text(),
            at in any::<prop::sample::Index>(),
            byte in proptest::sample::select(b"{}[]:,\"\\ \t\n0-.eE+tfnulx\x01\x7f\xc3\xa9\xff".to_vec()),
            how in 0..3u8,
        ) {
            let mut bytes = text.into_bytes();
            let i = at.index(bytes.len() + 1);
            match how {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => bytes.push(byte),
            }
            agree(&bytes)?;
        }

        /// `target-tasks.json`: where the fast list reader answers, it
        /// answers as serde_json does; it answers for every list without
        /// escapes; and the public reader agrees with serde_json always.
        #[test]
        fn target_lists_read_as_serde_reads_them(
            labels in prop::collection::vec(word(), 0..12),
            pretty in any::<bool>(),
            at in any::<prop::sample::Index>(),
            byte in proptest::sample::select(b"[]{},:\" \n0x\\\x01\xff".to_vec()),
            damage in any::<bool>(),
        ) {
            let text = if pretty {
                serde_json::to_string_pretty(&labels).unwrap()
            } else {
                serde_json::to_string(&labels).unwrap()
            };
            let mut bytes = text.into_bytes();
            if damage {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let slow = serde_json::from_slice::<Vec<String>>(&bytes).ok();
            let owned = |labels: Vec<std::borrow::Cow<'_, str>>| -> Vec<String> {
                labels.into_iter().map(|l| l.into_owned()).collect()
            };
            let fast = fast::read_strings(&bytes).ok().map(owned);
            if fast.is_some() {
                prop_assert_eq!(&fast, &slow, "{}", String::from_utf8_lossy(&bytes));
            } else if !damage {
                prop_assert!(bytes.contains(&b'\\'), "declined: {}", String::from_utf8_lossy(&bytes));
            }
            let public = super::super::graph::target_tasks_from_json(&bytes).ok().map(owned);
            prop_assert_eq!(public, slow);
        }

        /// Arbitrary whitespace between tokens; escapes in labels and keys.
        #[test]
        fn layout_does_not_matter(
            labels in prop::collection::vec("[a-z\u{e9}\"\\\\/\n]{1,8}", 1..5),
            spaces in prop::collection::vec("[ \t\r\n]{0,3}", 64),
        ) {
            let mut doc = Map::new();
            for (i, label) in labels.iter().enumerate() {
                doc.insert(label.clone(), json!({
                    "kind": "test",
                    "dependencies": {"dep": labels[0], "dep2": labels[labels.len() - 1]},
                    "optimization": {"skip-unless-changed": [label, "a/**"]},
                    "attributes": {"test_manifests": [label], "always_target": i % 2 == 0},
                    "task": {"payload": {"command": [label, 1.5e3, -0, true, null, [], {}]}},
                }));
            }
            let compact = serde_json::to_string(&Value::Object(doc)).unwrap();
            // Whitespace after every structural byte outside strings.
            let mut spaced = String::new();
            let mut inside = false;
            let mut escaped = false;
            for (n, c) in compact.chars().enumerate() {
                spaced.push(c);
                if inside {
                    if escaped { escaped = false; } else if c == '\\' { escaped = true; } else if c == '"' { inside = false; }
                } else if c == '"' {
                    inside = true;
                } else if "{}[]:,".contains(c) {
                    spaced.push_str(&spaces[n % spaces.len()]);
                }
            }
            prop_assert!(agree(spaced.as_bytes())?, "the fast reader declined {}", spaced);
        }
    }

    /// A graph as taskgraph writes it (one key per line, indented) splits
    /// at a top-level label near its middle, and both parts are read.
    #[test]
    fn large_graphs_are_read_in_two_parts() {
        let mut doc = Map::new();
        for i in 0..40 {
            doc.insert(
                format!("task-{i:02}"),
                json!({
                    "kind": "test",
                    "dependencies": {"build": "task-00"},
                    "optimization": {"skip-unless-changed": [format!("dir{}/**", i % 3)]},
                    "attributes": {"test_manifests": [format!("m{i}.toml")]},
                    "task": {"payload": {"command": ["run", i]}},
                }),
            );
        }
        let text = serde_json::to_string_pretty(&Value::Object(doc)).unwrap();
        let at = fast::split_point(text.as_bytes()).expect("a split point");
        assert!(
            at > text.len() / 2 && text[at..].starts_with("  \"task-"),
            "{}",
            &text[at..]
        );
        let (head, tail) = text.as_bytes().split_at(at);
        assert!(fast::read_part(head, fast::Part::Head).is_ok());
        assert!(fast::read_part(tail, fast::Part::Tail).is_ok());
        let whole = fast::read_split_from(text.as_bytes(), usize::MAX)
            .map(sorted)
            .unwrap();
        let split = fast::read_split_from(text.as_bytes(), 0)
            .map(sorted)
            .unwrap();
        assert_eq!(whole, split);
        // Shared optimizations stay shared across the parts.
        let graph = fast::read_split_from(text.as_bytes(), 0).unwrap();
        assert_eq!(graph.optimizations.len(), 3);
        // Compact JSON has no line to split at.
        let compact =
            serde_json::to_string(&serde_json::from_str::<Value>(&text).unwrap()).unwrap();
        assert_eq!(fast::split_point(compact.as_bytes()), None);
    }

    #[test]
    fn the_fast_reader_answers_for_graphs_as_taskgraph_writes_them() {
        let doc = json!({
            "build-linux64/opt": {
                "attributes": {"build_platform": "linux64", "build_type": "opt", "always_target": true},
                "dependencies": {"docker-image": "docker-image-x", "toolchain": "tc"},
                "description": "a build",
                "if_dependencies": [],
                "kind": "build",
                "label": "build-linux64/opt",
                "optimization": {"build": ["linux", "firefox"]},
                "soft_dependencies": [],
                "task": {"payload": {"env": {"A": "\"quoted\" \\ \u{e9}"}, "maxRunTime": 7200, "retries": -1.5e-3}},
                "task_id": null
            },
            "docker-image-x": {"kind": "docker-image", "optimization": null, "dependencies": {}, "task": {}},
            "tc": {"kind": "toolchain", "optimization": {"index-search": ["a.b"], "never": null}, "task": []}
        });
        for text in [
            serde_json::to_string(&doc).unwrap(),
            serde_json::to_string_pretty(&doc).unwrap(),
        ] {
            assert!(agree(text.as_bytes()).unwrap(), "declined: {text}");
        }
        // What the fast reader declines is read by serde_json, as before.
        let deep = format!(
            "{{\"a\": {{\"task\": {}{}}}}}",
            "[".repeat(70),
            "]".repeat(70)
        );
        for (text, kind) in [
            (r#"{"a": ["x"]}"#, Some("x")),
            (r#"{"a": {"ki\u006ed": "x"}}"#, Some("x")),
            (
                r#"{"a": {"kind": "x", "dependencies": {"d": "b", "d": "c"}}, "b": {}, "c": {}}"#,
                Some("x"),
            ),
            (&deep, None),
        ] {
            assert!(!agree(text.as_bytes()).unwrap(), "answered: {text}");
            let graph = super::TaskGraph::from_json(text.as_bytes()).unwrap();
            assert_eq!(graph.kind(0), kind.unwrap_or_default());
        }
        let err = super::TaskGraph::from_json(br#"{"a": {"kind": "x", "kind": "y"}}"#).unwrap_err();
        assert_eq!(err.to_string(), "line 1, column 26: duplicate field `kind`");
        // serde_json does not check the UTF-8 of strings it skips; the fast
        // reader declines them, and serde_json reads the graph.
        let text = b"{\"a\": {\"task\": \"\xff\"}}";
        assert!(!agree(text).unwrap());
        assert!(super::TaskGraph::from_json(text).is_ok());
        // Numbers beyond f64: serde_json rejects them in the values it
        // builds (`test_manifests`, `build_type`), and the fast reader too,
        // but not in the ones both skip (`task`).
        for text in [
            r#"{"a": {"attributes": {"test_manifests": ["x", 1e400]}}}"#,
            r#"{"a": {"attributes": {"test_manifests": {"k": -1e999}}}}"#,
            r#"{"a": {"attributes": {"build_type": [2e308]}}}"#,
        ] {
            assert!(!agree(text.as_bytes()).unwrap(), "answered: {text}");
            let err = super::TaskGraph::from_json(text.as_bytes()).unwrap_err();
            assert!(err.to_string().contains("number out of range"), "{err}");
        }
        let text = r#"{"a": {"task": {"retries": 1e400}, "attributes": {"other": -1e999}}}"#;
        assert!(agree(text.as_bytes()).unwrap(), "declined: {text}");
        // A definition broken only in the order of its tokens is read:
        // nothing reads it, and the plan does not depend on it.
        let text = br#"{"a": {"task": {"x" [1,]}, "kind": "k"}}"#;
        assert!(agree(text).unwrap());
        assert_eq!(super::TaskGraph::from_json(text).unwrap().kind(0), "k");
        // Its brackets must pair, and every other field is checked. Errors
        // come from serde_json, with its line and column.
        for (text, error) in [
            (
                r#"{"a": {"task": [1}}"#,
                "line 1, column 18: expected `,` or `]`",
            ),
            (
                r#"{"a": {"task": [1], "description": [1,]}}"#,
                "line 1, column 39: expected value",
            ),
            (
                r#"{"a": {"task": [], "kind": "k",}}"#,
                "line 1, column 32: trailing comma",
            ),
        ] {
            assert!(!agree(text.as_bytes()).unwrap(), "answered: {text}");
            let err = super::TaskGraph::from_json(text.as_bytes()).unwrap_err();
            assert_eq!(err.to_string(), error);
        }
    }
}

#[test]
fn work_alongside_the_build_runs_on_other_threads() {
    let text = br#"{"b": {"dependencies": {"x": "a"}}, "a": {"optimization": null}}"#;
    let caller = std::thread::current().id();
    let (graph, first, threads) = TaskGraph::from_json_around(
        text,
        || Ok::<_, ()>(std::thread::current().id()),
        |first| {
            assert_eq!(*first, caller);
            crate::parallel::map(&[1, 2, 3, 4], 1, |_| std::thread::current().id())
        },
    )
    .unwrap();
    let graph = graph.unwrap();
    assert_eq!(graph.len(), 2);
    assert_eq!(
        graph.dependencies(graph.get("b").unwrap()),
        [graph.get("a").unwrap()]
    );
    assert_eq!(first, caller, "`first` runs on the calling thread");
    // The second thread, and perhaps a helper on the core this one lends
    // once the graph is built; never this thread.
    assert!(threads.iter().all(|&t| t != caller), "{threads:?}");
    // It runs, and its result comes back, when the graph cannot be read.
    let (graph, (), ran) =
        TaskGraph::from_json_around(b"{\"a\": [", || Ok::<_, ()>(()), |()| true).unwrap();
    assert!(graph.is_err() && ran);
}

#[test]
fn when_the_work_before_fails_nothing_after_it_runs() {
    // Small (read here) and split (read on two threads): the error comes
    // back, `alongside` never runs, and nothing waits forever.
    let mut doc = serde_json::Map::new();
    for i in 0..40 {
        doc.insert(format!("task-{i:02}"), json!({"optimization": null}));
    }
    let big = serde_json::to_string_pretty(&serde_json::Value::Object(doc)).unwrap();
    for (text, split_from) in [(&b"{}"[..], usize::MAX), (big.as_bytes(), 0)] {
        let ran = std::sync::atomic::AtomicBool::new(false);
        let outcome = TaskGraph::from_json_around_with(
            text,
            split_from,
            || Err::<(), _>("no config"),
            |()| ran.store(true, std::sync::atomic::Ordering::Relaxed),
            |(), _| ran.store(true, std::sync::atomic::Ordering::Relaxed),
        );
        assert_eq!(outcome.err(), Some("no config"));
        assert!(!ran.load(std::sync::atomic::Ordering::Relaxed));
        // When it succeeds, the work after the building runs once, here,
        // on its result and the graph built.
        let caller = std::thread::current().id();
        let (graph, (), (), after) = TaskGraph::from_json_around_with(
            text,
            split_from,
            || Ok::<_, ()>(()),
            |()| (),
            |(), graph: Option<&TaskGraph>| {
                (std::thread::current().id(), graph.map(TaskGraph::len))
            },
        )
        .unwrap();
        assert_eq!(after, (caller, Some(graph.unwrap().len())));
    }
    // A graph that cannot be read: the work after it still runs, without one.
    let broken = &big.as_bytes()[..big.len() / 2];
    for split_from in [usize::MAX, 0] {
        let (graph, (), (), after) = TaskGraph::from_json_around_with(
            broken,
            split_from,
            || Ok::<_, ()>(()),
            |()| (),
            |(), graph: Option<&TaskGraph>| graph.is_some(),
        )
        .unwrap();
        assert!(graph.is_err());
        assert!(!after);
    }
}

#[test]
fn work_alongside_a_split_read_runs_on_the_thread_that_finishes_first() {
    let mut doc = serde_json::Map::new();
    for i in 0..40 {
        doc.insert(
            format!("task-{i:02}"),
            json!({"dependencies": if i > 0 { json!({"up": format!("task-{:02}", i - 1)}) } else { json!({}) },
                   "optimization": {"skip-unless-changed": [format!("dir{}/**", i % 3)]},
                   "task": {"payload": {"command": ["run", i]}}}),
        );
    }
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(doc)).unwrap();
    let caller = std::thread::current().id();
    let one_piece = TaskGraph::from_json(text.as_bytes()).unwrap();
    // The second part (half of 40 small tasks) is read long before the
    // inputs are: its thread runs the work.
    let (graph, (), thread) = TaskGraph::from_json_around_from(
        text.as_bytes(),
        0,
        || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok::<_, ()>(())
        },
        |()| std::thread::current().id(),
    )
    .unwrap();
    let graph = graph.unwrap();
    assert_ne!(thread, caller);
    assert_eq!(graph.len(), 40);
    for i in 0..40u32 {
        assert_eq!(graph.label(i), one_piece.label(i));
        assert_eq!(graph.dependencies(i), one_piece.dependencies(i));
        assert_eq!(graph.optimization(i), one_piece.optimization(i));
    }
    // A split that is not a top-level boundary: read again in one piece,
    // and the work alongside still runs once.
    let inside = text.find("\"payload\"").unwrap();
    let at = inside
        - text[..inside]
            .chars()
            .rev()
            .take_while(|&c| c == ' ')
            .count();
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let (graph, ()) = split_read(
        &text,
        at,
        || (),
        || {
            runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        },
    );
    assert_eq!(graph.unwrap().tasks.len(), 40);
    assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[test]
fn the_first_part_read_first_runs_the_work_alongside_while_it_waits() {
    // A first part of one task and a second of one task with a long
    // definition: no chunk of the second part to take, so the calling
    // thread, done long before the other, runs the work meanwhile.
    let mut text = String::from("{\n  \"a\": {\n    \"optimization\": null\n  },\n");
    text.push_str("  \"t\": {\n    \"task\": [\n");
    for i in 0..200_000 {
        text.push_str(&format!("      [\"x\", {i}],\n"));
    }
    text.push_str("      null\n    ]\n  }\n}\n");
    let at = text.find("  \"t\"").unwrap();
    let caller = std::thread::current().id();
    let ran = std::sync::Mutex::new(Vec::new());
    let (graph, ()) = split_read(
        &text,
        at,
        || ran.lock().unwrap().push(std::thread::current().id()),
        || (),
    );
    assert_eq!(graph.unwrap().tasks.len(), 2);
    assert_eq!(*ran.lock().unwrap(), [caller]);
}

#[test]
fn a_thread_done_with_its_part_takes_the_other_parts_last_chunks() {
    // 20,000 tasks split in the middle: whichever chunks of either part the
    // other part's thread takes, from none to all, the graph is the
    // one-piece graph (optimizations first seen in any chunk shared by
    // index, lists and names in order).
    let mut text = String::from("{\n  \"a\": {\n    \"optimization\": null\n  },\n");
    for i in 0..20_000u32 {
        let optimization = if i % 7 == 0 {
            format!("{{\"skip-unless-changed\": [\"d{}/**\"]}}", i / 2_500)
        } else {
            "{\"skip-unless-schedules\": null}".to_owned()
        };
        text.push_str(&format!(
            "  \"t{i:05}\": {{\n    \"attributes\": {{\"test_manifests\": [\"m{}\"]}},\n    \"dependencies\": {{\"up\": \"{}\"}},\n    \"kind\": \"k{}\",\n    \"optimization\": {optimization},\n    \"task\": {{\n      \"payload\": [\"x\", {i}]\n    }}\n  }},\n",
            i % 13,
            if i == 0 { "a".to_owned() } else { format!("t{:05}", i - 1) },
            i % 3,
        ));
    }
    text.push_str("  \"z\": {}\n}\n");
    let at = fast::split_point(text.as_bytes()).unwrap();
    let whole = fast::read_whole(text.as_bytes()).unwrap();
    let one = TaskGraph::from_raw(fast::read_whole(text.as_bytes()).unwrap()).unwrap();
    let ((heads, tails), _) = fast::read_split_taking(text.as_bytes(), at, 1, 1);
    assert!(heads >= 6 && tails >= 6, "{heads} and {tails} chunks");
    // What each thread took, as it can happen: one side's chunks only.
    let outcomes = (1..=heads)
        .map(|h| (h, tails))
        .chain((1..tails).map(|t| (heads, t)));
    for (head_from, tail_from) in outcomes {
        let (_, raw) = fast::read_split_taking(text.as_bytes(), at, head_from, tail_from);
        let taken = format!("chunks from {head_from} and {tail_from} taken");
        let raw = raw.unwrap_or_else(|_| panic!("{taken}: declined"));
        assert_eq!(raw.entries(), whole.entries(), "{taken}");
        let graph = TaskGraph::from_raw(raw).unwrap();
        assert_eq!(
            graph.optimization_count(),
            one.optimization_count(),
            "{taken}"
        );
        for i in [0u32, 1, 5_000, 10_000, 19_999, 20_001] {
            assert_eq!(graph.optimization_id(i), one.optimization_id(i), "{taken}");
            assert_eq!(graph.kind(i), one.kind(i));
            assert_eq!(graph.dependencies(i), one.dependencies(i));
        }
    }
    // Both at once, which the threads cannot do, reads the same too.
    let (_, raw) = fast::read_split_taking(text.as_bytes(), at, 3, 4);
    assert_eq!(raw.unwrap().entries(), whole.entries());
    // Racing for real, the same graph.
    let (graph, ()) = split_read(&text, at, || (), || ());
    assert_eq!(graph.unwrap().entries(), whole.entries());
}

/// `text` read in two parts split at `at`, with `meanwhile` and `then` as
/// `fast::read_split_at_then` runs them; the graph and `then`'s result.
fn split_read<R: Send>(
    text: &str,
    at: usize,
    meanwhile: impl FnOnce(),
    then: impl FnOnce() -> R + Send,
) -> (Result<super::graph::RawGraph, super::scan::Invalid>, R) {
    std::thread::scope(|scope| {
        let (raw, other) =
            fast::read_split_at_then(scope, text.as_bytes(), at, || true, meanwhile, then);
        (raw, other.join().unwrap())
    })
}

#[test]
fn labels_in_any_order_give_one_graph_and_a_label_twice_is_an_error() {
    // Sorted as taskgraph writes them, shuffled, and sorted but for the
    // last (the one-pass copy stops there and sorts).
    let tasks = [
        ("a", r#"{"dependencies": {"x": "b"}}"#),
        ("b", "{}"),
        ("c", r#"{"dependencies": {"y": "a", "z": "b"}}"#),
    ];
    for order in [[0, 1, 2], [2, 0, 1], [0, 2, 1], [1, 0, 2]] {
        let text = format!(
            "{{{}}}",
            order
                .iter()
                .map(|&i| format!("\"{}\": {}", tasks[i].0, tasks[i].1))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let graph = TaskGraph::from_json(text.as_bytes()).unwrap();
        let labels: Vec<&str> = (0..graph.len() as u32).map(|i| graph.label(i)).collect();
        assert_eq!(labels, ["a", "b", "c"], "{text}");
        let deps = |label: &str| -> Vec<&str> {
            let i = graph.get(label).unwrap();
            graph
                .dependencies(i)
                .iter()
                .map(|&d| graph.label(d))
                .collect()
        };
        assert_eq!(deps("a"), ["b"], "{text}");
        assert!(deps("b").is_empty(), "{text}");
        assert_eq!(deps("c"), ["a", "b"], "{text}");
    }
    for text in [
        r#"{"a": {}, "b": {}, "b": {}}"#,
        r#"{"b": {}, "a": {}, "b": {}}"#,
    ] {
        let error = TaskGraph::from_json(text.as_bytes()).err();
        assert!(
            error
                .as_ref()
                .is_some_and(|e| e.to_string().contains("`b` appears twice")),
            "{text}: {error:?}"
        );
    }
}

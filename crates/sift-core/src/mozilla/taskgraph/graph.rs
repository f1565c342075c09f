//! taskgraph's `full-task-graph.json`, `target-tasks.json` and
//! `parameters.yml|json`, read as they are.
//!
//! A full graph of 20,000 tasks is tens of megabytes, almost all of it task
//! definitions (`"task": {...}`) that the optimizer never reads: they are
//! skipped unparsed, and labels are borrowed from the input where they hold
//! no escapes.

use std::borrow::Cow;
use std::fmt;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};

/// One task of the graph, as the optimizer sees it.
#[derive(Clone, Debug, Default)]
pub struct GraphTask {
    pub label: String,
    pub kind: String,
    /// Indices of the tasks this one depends on (labels outside the graph
    /// are dropped, as taskgraph's `TaskGraph.from_json` drops them).
    pub dependencies: Vec<u32>,
    /// The first entry of `optimization`: (strategy name, argument).
    pub optimization: Option<(String, serde_json::Value)>,
    /// `if_dependencies`, as indices.
    pub if_dependencies: Vec<u32>,
    pub always_target: bool,
    pub test_manifests: Option<Vec<String>>,
    pub build_type: Option<String>,
}

/// A full task graph: tasks sorted by label.
#[derive(Clone, Debug, Default)]
pub struct TaskGraph {
    pub tasks: Vec<GraphTask>,
    index: FxHashMap<String, u32>,
    /// Per task, the tasks that depend on it.
    pub dependents: Vec<Vec<u32>>,
}

/// Why a graph or its companion files could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    #[error("line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("dependency cycle involving `{0}`")]
    Cycle(String),
    #[error("{0}")]
    Invalid(String),
}

impl GraphError {
    pub(crate) fn json(error: &serde_json::Error) -> GraphError {
        GraphError::Json {
            line: error.line(),
            column: error.column(),
            message: error
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct RawTask<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    dependencies: Option<FxHashMap<Cow<'a, str>, Cow<'a, str>>>,
    #[serde(default, deserialize_with = "first_entry")]
    optimization: Option<(String, serde_json::Value)>,
    #[serde(borrow, default)]
    if_dependencies: Option<Vec<Cow<'a, str>>>,
    #[serde(default)]
    attributes: Option<RawAttributes>,
    #[serde(default, rename = "task")]
    _task: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawAttributes {
    #[serde(default)]
    always_target: Option<serde_json::Value>,
    #[serde(default)]
    test_manifests: Option<serde_json::Value>,
    #[serde(default)]
    build_type: Option<serde_json::Value>,
}

/// `{name: arg, ...}` or null: the first entry, in document order (taskgraph
/// uses only `list(optimization.items())[0]`).
fn first_entry<'de, D: de::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<(String, serde_json::Value)>, D::Error> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<(String, serde_json::Value)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object {strategy: argument} or null")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(First)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let first = map.next_entry::<String, serde_json::Value>()?;
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    deserializer.deserialize_option(First)
}

struct Entries<'a>(Vec<(Cow<'a, str>, RawTask<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of tasks keyed by label")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(1024));
                while let Some((label, task)) = map.next_entry::<Cow<'a, str>, RawTask<'a>>()? {
                    out.push((label, task));
                }
                Ok(Entries(out))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

fn truthy(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
        serde_json::Value::String(s) => !s.is_empty(),
        serde_json::Value::Array(a) => !a.is_empty(),
        serde_json::Value::Object(o) => !o.is_empty(),
    }
}

impl TaskGraph {
    /// Reads `full-task-graph.json` (or any graph in its format).
    pub fn from_json(text: &[u8]) -> Result<TaskGraph, GraphError> {
        let Entries(mut raw) = serde_json::from_slice(text).map_err(|e| GraphError::json(&e))?;
        raw.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(pair) = raw.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(GraphError::Invalid(format!(
                "task `{}` appears twice",
                pair[0].0
            )));
        }
        let index: FxHashMap<String, u32> = raw
            .iter()
            .enumerate()
            .map(|(i, (label, _))| (label.to_string(), i as u32))
            .collect();
        let mut tasks = Vec::with_capacity(raw.len());
        for (label, task) in raw {
            let lookup = |name: &str| index.get(name).copied();
            let mut dependencies: Vec<u32> = task
                .dependencies
                .iter()
                .flatten()
                .filter_map(|(_, dep)| lookup(dep))
                .collect();
            dependencies.sort_unstable();
            dependencies.dedup();
            let mut if_dependencies: Vec<u32> = task
                .if_dependencies
                .iter()
                .flatten()
                .filter_map(|dep| lookup(dep))
                .collect();
            if_dependencies.sort_unstable();
            if_dependencies.dedup();
            let attributes = task.attributes;
            let always_target = attributes
                .as_ref()
                .and_then(|a| a.always_target.as_ref())
                .is_some_and(truthy);
            let test_manifests = attributes
                .as_ref()
                .and_then(|a| a.test_manifests.as_ref())
                .and_then(|v| v.as_array())
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect()
                });
            let build_type = attributes
                .as_ref()
                .and_then(|a| a.build_type.as_ref())
                .and_then(|v| v.as_str().map(str::to_owned));
            tasks.push(GraphTask {
                label: label.into_owned(),
                kind: task.kind.map(Cow::into_owned).unwrap_or_default(),
                dependencies,
                optimization: task.optimization,
                if_dependencies,
                always_target,
                test_manifests,
                build_type,
            });
        }
        let mut dependents: Vec<Vec<u32>> = vec![Vec::new(); tasks.len()];
        for (i, task) in tasks.iter().enumerate() {
            for &dep in &task.dependencies {
                dependents[dep as usize].push(i as u32);
            }
        }
        let graph = TaskGraph {
            tasks,
            index,
            dependents,
        };
        graph.check_acyclic()?;
        Ok(graph)
    }

    pub fn get(&self, label: &str) -> Option<u32> {
        self.index.get(label).copied()
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Dependents before dependencies (taskgraph's `visit_preorder`), in a
    /// fixed order: Kahn's algorithm over reverse edges, ties by label.
    pub fn preorder(&self) -> Vec<u32> {
        let mut remaining: Vec<usize> = self.dependents.iter().map(Vec::len).collect();
        let mut queue: std::collections::VecDeque<u32> = (0..self.tasks.len() as u32)
            .filter(|&i| remaining[i as usize] == 0)
            .collect();
        let mut order = Vec::with_capacity(self.tasks.len());
        while let Some(i) = queue.pop_front() {
            order.push(i);
            for &dep in &self.tasks[i as usize].dependencies {
                remaining[dep as usize] -= 1;
                if remaining[dep as usize] == 0 {
                    queue.push_back(dep);
                }
            }
        }
        order
    }

    fn check_acyclic(&self) -> Result<(), GraphError> {
        let order = self.preorder();
        if order.len() == self.tasks.len() {
            return Ok(());
        }
        let mut seen = vec![false; self.tasks.len()];
        order.iter().for_each(|&i| seen[i as usize] = true);
        let stuck = seen
            .iter()
            .position(|s| !s)
            .expect("some task is not ordered");
        Err(GraphError::Cycle(self.tasks[stuck].label.clone()))
    }
}

/// `target-tasks.json`: a JSON list of labels.
pub fn target_tasks_from_json(text: &[u8]) -> Result<Vec<String>, GraphError> {
    serde_json::from_slice(text).map_err(|e| GraphError::json(&e))
}

//! taskgraph's `full-task-graph.json`, `target-tasks.json` and
//! `parameters.yml|json`, read as they are.
//!
//! A full graph of 20,000 tasks is tens of megabytes, almost all of it task
//! definitions (`"task": {...}`) that the optimizer never reads. The fast
//! reader (`scan.rs`, `fast.rs`) skips them by their brackets, checking
//! their strings and the pairing of their brackets but not the order of
//! their tokens, and builds nothing; serde_json reads whatever it
//! declines, and gives the errors. Both produce a [`RawGraph`]: borrowed labels and flat lists,
//! which [`TaskGraph::from_raw`] turns into indices. The graph itself holds
//! its labels in one string and its edges in flat arrays: a handful of
//! allocations, whatever the number of tasks.

use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// "No such entry" in the graph's `u32` indices.
const NONE: u32 = u32::MAX;

/// One task of the graph, as the optimizer sees it; its lists and strings
/// live in the [`TaskGraph`] (see its accessors).
#[derive(Clone, Copy, Debug)]
pub struct GraphTask {
    /// `[start, end)` in the graph's edge list: dependencies, then `if_dependencies`.
    deps: (u32, u32),
    if_deps: (u32, u32),
    optimization: u32,
    kind: u32,
    /// `[start, end)` in the graph's `items`; `NONE` start: no list.
    manifests: (u32, u32),
    build_type: u32,
    pub always_target: bool,
}

/// A full task graph: tasks sorted by label.
#[derive(Clone, Debug, Default)]
pub struct TaskGraph {
    /// Every label, in order; task `i`'s is `labels[label_ends[i]..label_ends[i + 1]]`.
    labels: String,
    label_ends: Vec<u32>,
    index: HashTable<u32>,
    tasks: Vec<GraphTask>,
    /// Dependencies and `if_dependencies` of every task, as task indices.
    edges: Vec<u32>,
    /// Per task, the tasks that depend on it: `dependents[dependent_ends[i]..dependent_ends[i + 1]]`.
    dependents: Vec<u32>,
    dependent_ends: Vec<u32>,
    /// Distinct first entries of `optimization`.
    optimizations: Vec<(String, Value)>,
    /// Kinds and build types: string `i` is
    /// `strings[string_ends[i]..string_ends[i + 1]]`.
    strings: String,
    string_ends: Vec<u32>,
    /// The items of `test_manifests` lists, as the reader packed them (a
    /// megabyte or more for 20,000 tasks, which only
    /// `skip-unless-has-relevant-tests` reads: not copied again). Each is
    /// UTF-8, as a JSON string's text is.
    items: Packed,
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
struct SerdeTask<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    dependencies: Option<FxHashMap<Cow<'a, str>, Cow<'a, str>>>,
    #[serde(default, deserialize_with = "first_entry")]
    optimization: Option<(String, serde_json::Value)>,
    #[serde(borrow, default)]
    if_dependencies: Option<Vec<Cow<'a, str>>>,
    #[serde(default)]
    attributes: Option<SerdeAttributes>,
    #[serde(default, rename = "task")]
    _task: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct SerdeAttributes {
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

struct Entries<'a>(Vec<(Cow<'a, str>, SerdeTask<'a>)>);

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
                while let Some((label, task)) = map.next_entry::<Cow<'a, str>, SerdeTask<'a>>()? {
                    out.push((label, task));
                }
                Ok(Entries(out))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

/// One task as a reader found it. Its strings are indices in
/// [`RawGraph::names`].
#[derive(Clone, Debug)]
pub(crate) struct ReadTask {
    pub label: u32,
    pub kind: Option<u32>,
    /// `[start, end)` in [`RawGraph::refs`]: the values of `dependencies`.
    pub dependencies: (u32, u32),
    /// `[start, end)` in [`RawGraph::refs`].
    pub if_dependencies: (u32, u32),
    /// Index in [`RawGraph::optimizations`].
    pub optimization: Option<u32>,
    pub always_target: bool,
    /// `[start, end)` in [`RawGraph::items`]: the strings of a
    /// `test_manifests` list.
    pub test_manifests: Option<(u32, u32)>,
    pub build_type: Option<u32>,
}

impl ReadTask {
    pub(crate) fn new(label: u32) -> ReadTask {
        ReadTask {
            label,
            kind: None,
            dependencies: (0, 0),
            if_dependencies: (0, 0),
            optimization: None,
            always_target: false,
            test_manifests: None,
            build_type: None,
        }
    }
}

/// Byte strings packed end to end. The readers copy the strings they keep
/// into these while the text is in cache: building the graph then reads a
/// few compact megabytes in order, instead of tens of thousands of places
/// scattered over a mapped text of tens of megabytes (a cache and TLB miss
/// each, which measured 8 ms for 20,000 tasks).
///
/// A list read in two parts keeps the second part's list as it is
/// ([`Packed::append`]): copying megabytes to merge them cost a core its
/// time while the other waited.
#[derive(Clone, Debug, Default)]
pub(crate) struct Packed {
    bytes: Vec<u8>,
    /// Where each string ends in `bytes`.
    ends: Vec<u32>,
    /// The strings after these.
    more: Option<Box<Packed>>,
}

impl Packed {
    /// Adds a string; only to a list nothing was appended to.
    pub(crate) fn push(&mut self, string: &[u8]) {
        debug_assert!(self.more.is_none(), "push before append");
        self.bytes.extend_from_slice(string);
        self.ends.push(len32(self.bytes.len()));
    }

    /// Room for `count` more strings of `bytes` bytes in all.
    pub(crate) fn reserve(&mut self, bytes: usize, count: usize) {
        self.bytes.reserve(bytes);
        self.ends.reserve(count);
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len() + self.more.as_ref().map_or(0, |more| more.len())
    }

    /// The bytes of all its strings together.
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len() + self.more.as_ref().map_or(0, |more| more.byte_len())
    }

    /// String `i`.
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        match self.ends.get(i) {
            Some(&end) => {
                let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
                &self.bytes[start..end as usize]
            }
            None => self
                .more
                .as_ref()
                .expect("an index within the list")
                .get(i - self.ends.len()),
        }
    }

    /// Strings `[start, end)`.
    pub(crate) fn range(&self, (start, end): (u32, u32)) -> impl Iterator<Item = &[u8]> {
        (start as usize..end as usize).map(|i| self.get(i))
    }

    /// `other`'s strings after these.
    pub(crate) fn append(&mut self, other: Packed) {
        match &mut self.more {
            Some(more) => more.append(other),
            None => self.more = Some(Box::new(other)),
        }
    }
}

/// What a reader produces: the tasks in document order, with the strings
/// the optimizer uses copied out of the text, and their lists flat.
/// Strings are bytes: the fast reader checks the text's UTF-8 as a whole.
#[derive(Debug, Default)]
pub(crate) struct RawGraph {
    pub tasks: Vec<ReadTask>,
    /// Labels, kinds and build types.
    pub names: Packed,
    /// Labels of dependencies and `if_dependencies`.
    pub refs: Packed,
    /// Items of `test_manifests` lists.
    pub items: Packed,
    /// First entries of `optimization`, shared by tasks with the same one.
    pub optimizations: Vec<(String, Value)>,
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).expect("graphs are read only below 4 GiB")
}

impl RawGraph {
    /// Adds `string` to [`RawGraph::names`], returning its index.
    pub(crate) fn name(&mut self, string: &[u8]) -> u32 {
        self.names.push(string);
        len32(self.names.len() - 1)
    }

    /// Task `t`'s label.
    pub(crate) fn label(&self, t: usize) -> &[u8] {
        self.names.get(self.tasks[t].label as usize)
    }

    fn from_serde(label: Cow<'_, str>, task: SerdeTask<'_>, graph: &mut RawGraph) {
        let mut read = ReadTask::new(graph.name(label.as_bytes()));
        read.kind = task.kind.map(|kind| graph.name(kind.as_bytes()));
        let start = len32(graph.refs.len());
        for (_, dep) in task.dependencies.into_iter().flatten() {
            graph.refs.push(dep.as_bytes());
        }
        read.dependencies = (start, len32(graph.refs.len()));
        let start = len32(graph.refs.len());
        for dep in task.if_dependencies.into_iter().flatten() {
            graph.refs.push(dep.as_bytes());
        }
        read.if_dependencies = (start, len32(graph.refs.len()));
        if let Some(optimization) = task.optimization {
            read.optimization = Some(len32(graph.optimizations.len()));
            graph.optimizations.push(optimization);
        }
        if let Some(attributes) = task.attributes {
            read.always_target = attributes.always_target.as_ref().is_some_and(truthy);
            if let Some(Value::Array(items)) = attributes.test_manifests {
                let start = len32(graph.items.len());
                for item in items {
                    if let Value::String(s) = item {
                        graph.items.push(s.as_bytes());
                    }
                }
                read.test_manifests = Some((start, len32(graph.items.len())));
            }
            if let Some(Value::String(s)) = attributes.build_type {
                read.build_type = Some(graph.name(s.as_bytes()));
            }
        }
        graph.tasks.push(read);
    }

    /// Each task with its lists, for comparing the two readers.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> Vec<RawEntry> {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let refs =
            |range: (u32, u32)| -> Vec<String> { self.refs.range(range).map(text).collect() };
        self.tasks
            .iter()
            .map(|t| RawEntry {
                label: text(self.names.get(t.label as usize)),
                kind: t.kind.map(|k| text(self.names.get(k as usize))),
                dependencies: refs(t.dependencies),
                optimization: t
                    .optimization
                    .map(|o| self.optimizations[o as usize].clone()),
                if_dependencies: refs(t.if_dependencies),
                always_target: t.always_target,
                test_manifests: t
                    .test_manifests
                    .map(|range| self.items.range(range).map(text).collect()),
                build_type: t.build_type.map(|b| text(self.names.get(b as usize))),
            })
            .collect()
    }
}

/// One task with its lists (for tests).
#[cfg(test)]
#[derive(Debug, PartialEq)]
pub(crate) struct RawEntry {
    pub label: String,
    pub kind: Option<String>,
    pub dependencies: Vec<String>,
    pub optimization: Option<(String, Value)>,
    pub if_dependencies: Vec<String>,
    pub always_target: bool,
    pub test_manifests: Option<Vec<String>>,
    pub build_type: Option<String>,
}

/// Python's truth value of an attribute (`always_target`).
pub(crate) fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The graph as serde_json reads it: the reference, and the reader of
/// anything the fast path declines (with serde_json's error messages).
pub(crate) fn read_serde(text: &[u8]) -> Result<RawGraph, GraphError> {
    let Entries(entries) = serde_json::from_slice(text).map_err(|e| GraphError::json(&e))?;
    let mut graph = RawGraph::default();
    for (label, task) in entries {
        RawGraph::from_serde(label, task, &mut graph);
    }
    Ok(graph)
}

/// Sorts `order` by the bytes `text` gives each element, from `depth` on:
/// sixteen bytes at a time as one integer (and how many bytes are left, to
/// order a prefix first), then each run that ties on them, further on.
/// Labels share long prefixes (`test-linux64/opt-mochitest-...`), where
/// comparing strings costs a call to `memcmp` per comparison.
fn sort_by_text<'t>(order: &mut [u32], text: &dyn Fn(u32) -> &'t [u8], depth: usize) {
    if order.len() < 2 {
        return;
    }
    if order.len() <= 8 {
        order.sort_by(|&a, &b| text(a)[depth..].cmp(&text(b)[depth..]));
        return;
    }
    let mut keyed: Vec<(u128, u8, u32)> = order
        .iter()
        .map(|&i| {
            let rest = &text(i)[depth..];
            let mut window = [0u8; 16];
            let n = rest.len().min(16);
            window[..n].copy_from_slice(&rest[..n]);
            (u128::from_be_bytes(window), rest.len().min(17) as u8, i)
        })
        .collect();
    keyed.sort_unstable();
    for (slot, key) in order.iter_mut().zip(&keyed) {
        *slot = key.2;
    }
    let mut start = 0;
    while start < keyed.len() {
        let (window, left, _) = keyed[start];
        let end = start
            + keyed[start..]
                .iter()
                .take_while(|k| k.0 == window && k.1 == left)
                .count();
        // Ties with more than sixteen bytes left go on; shorter ones are equal.
        if end - start > 1 && left == 17 {
            sort_by_text(&mut order[start..end], text, depth + 16);
        }
        start = end;
    }
}

pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let mut hasher = FxBuildHasher.build_hasher();
    hasher.write(bytes);
    hasher.finish()
}

impl TaskGraph {
    /// Reads `full-task-graph.json` (or any graph in its format): the fast
    /// reader where it answers, else serde_json.
    pub fn from_json(text: &[u8]) -> Result<TaskGraph, GraphError> {
        TaskGraph::from_read(text, super::fast::read(text))
    }

    /// The graph from the fast reader's answer on `text`, or from serde_json
    /// where it declined.
    fn from_read(
        text: &[u8],
        fast: Result<RawGraph, super::scan::Invalid>,
    ) -> Result<TaskGraph, GraphError> {
        match fast {
            Ok(raw) => TaskGraph::from_raw(raw),
            Err(_) => read_serde(text).and_then(TaskGraph::from_raw),
        }
    }

    /// [`TaskGraph::from_json`] with the work around it spread over two
    /// threads. A second thread starts on the graph at once (the second
    /// part of a large graph), while this one runs `first` (reading the
    /// other inputs), then reads the first part, merges the parts and
    /// builds the graph. Once `first` has succeeded, `alongside` runs on its
    /// result (work that needs no graph: analysing the change), alone
    /// ([`crate::parallel::alone_beside`] this thread, which lends it its
    /// core once it has nothing left but to wait), once: on the second
    /// thread after its part, while this one merges and builds, or on this
    /// one while it waits, when its part is read and more than a quarter
    /// of the second is left and could not be cut
    /// ([`super::fast::read_split_at_then`]).
    /// A graph too small to split
    /// is read here, and the second thread only runs `alongside`. When
    /// `first` fails, its error is returned, and neither the first part nor
    /// `alongside` runs.
    pub fn from_json_around<A: Send + Sync, E, R: Send>(
        text: &[u8],
        first: impl FnOnce() -> Result<A, E>,
        alongside: impl FnOnce(&A) -> R + Send,
    ) -> Result<(Result<TaskGraph, GraphError>, A, R), E> {
        TaskGraph::from_json_around_from(text, super::fast::SPLIT_FROM, first, alongside)
    }

    /// [`TaskGraph::from_json_around`], then `after` on this thread once
    /// the graph is built (with the graph, `None` if it could not be read),
    /// while the other may still run `alongside` (work that needs no
    /// analysis of the change and takes less time than `alongside`).
    pub fn from_json_around_then<A: Send + Sync, E, R: Send, T>(
        text: &[u8],
        first: impl FnOnce() -> Result<A, E>,
        alongside: impl FnOnce(&A) -> R + Send,
        after: impl FnOnce(&A, Option<&TaskGraph>) -> T,
    ) -> Result<(Result<TaskGraph, GraphError>, A, R, T), E> {
        TaskGraph::from_json_around_with(text, super::fast::SPLIT_FROM, first, alongside, after)
    }

    /// [`TaskGraph::from_json_around`], splitting graphs of at least
    /// `split_from` bytes.
    pub(crate) fn from_json_around_from<A: Send + Sync, E, R: Send>(
        text: &[u8],
        split_from: usize,
        first: impl FnOnce() -> Result<A, E>,
        alongside: impl FnOnce(&A) -> R + Send,
    ) -> Result<(Result<TaskGraph, GraphError>, A, R), E> {
        TaskGraph::from_json_around_with(text, split_from, first, alongside, |_, _| ())
            .map(|(graph, prepared, result, ())| (graph, prepared, result))
    }

    /// [`TaskGraph::from_json_around_then`], splitting graphs of at least
    /// `split_from` bytes.
    pub(crate) fn from_json_around_with<A: Send + Sync, E, R: Send, T>(
        text: &[u8],
        split_from: usize,
        first: impl FnOnce() -> Result<A, E>,
        alongside: impl FnOnce(&A) -> R + Send,
        after: impl FnOnce(&A, Option<&TaskGraph>) -> T,
    ) -> Result<(Result<TaskGraph, GraphError>, A, R, T), E> {
        use std::sync::{Mutex, OnceLock};
        let done = OnceLock::new();
        // `alongside`, until a thread takes it, and its result.
        let job = Mutex::new(Some(alongside));
        let result = Mutex::new(None);
        // The core of the thread that builds the graph, once it only waits.
        let lender = &crate::parallel::Lender::default();
        // Runs `alongside` here unless `first` has not succeeded or another
        // thread took it.
        let claim = || {
            let Some(prepared) = done.get() else {
                return;
            };
            let taken = job.lock().map(|mut job| job.take());
            if let Ok(Some(alongside)) = taken {
                let r = crate::parallel::alone_beside(lender, || alongside(prepared));
                if let Ok(mut slot) = result.lock() {
                    *slot = Some(r);
                }
            }
        };
        let (ready, wait) = std::sync::mpsc::sync_channel::<()>(1);
        let graph = std::thread::scope(|scope| {
            let (done, claim) = (&done, &claim);
            // After the second part, once `first` has succeeded (a dropped
            // sender: it failed or panicked, and nothing runs).
            let then = move || {
                if wait.recv().is_ok() {
                    claim();
                }
            };
            let mut failed = None;
            let failed_slot = &mut failed;
            // Consumed by its one call, which drops `ready`: the second
            // thread then stops waiting whether or not `first` succeeded.
            let before = move || match first() {
                Ok(prepared) => {
                    let _ = done.set(prepared);
                    let _ = ready.send(());
                    true
                }
                Err(error) => {
                    *failed_slot = Some(error);
                    false
                }
            };
            let (raw, other) = match super::fast::split_point_from(text, split_from) {
                Some(at) => super::fast::read_split_at_then(scope, text, at, before, claim, then),
                None => {
                    let other = scope.spawn(then);
                    let raw = if before() {
                        super::fast::read_whole(text)
                    } else {
                        Err(super::scan::Invalid)
                    };
                    (raw, other)
                }
            };
            let graph = match failed {
                Some(error) => Err(error),
                None => Ok(TaskGraph::from_read(text, raw)),
            };
            // `first` succeeded when `failed` is empty.
            let built = graph.as_ref().ok().and_then(|graph| graph.as_ref().ok());
            let after = done.get().map(|prepared| after(prepared, built));
            // Nothing left here: this core goes to the other thread's
            // maps (the analysis's files) while it waits.
            if let Err(panic) = lender.lend(|| other.join()) {
                std::panic::resume_unwind(panic);
            }
            graph.map(|graph| (graph, after))
        })?;
        let prepared = done.into_inner().expect("`first` succeeded");
        let result = result
            .into_inner()
            .ok()
            .flatten()
            .expect("`alongside` ran after `first` succeeded");
        let (graph, after) = graph;
        Ok((
            graph,
            prepared,
            result,
            after.expect("`after` ran after `first` succeeded"),
        ))
    }

    /// Labels become indices (in label order), lists become flat arrays.
    pub(crate) fn from_raw(raw: RawGraph) -> Result<TaskGraph, GraphError> {
        let n = raw.tasks.len();
        if n >= NONE as usize / 2 {
            return Err(GraphError::Invalid("too many tasks".to_owned()));
        }
        // taskgraph writes its labels sorted: they are copied in one pass
        // that checks they are strictly increasing (sorted, no label twice),
        // and sorted first only when they are not. (The labels are most of
        // the names, which bound their size.)
        let mut order: Vec<u32> = (0..len32(n)).collect();
        let mut labels = Vec::with_capacity(raw.names.byte_len());
        let mut label_ends = Vec::with_capacity(n + 1);
        label_ends.push(0);
        let mut previous: Option<&[u8]> = None;
        for t in 0..n {
            let label = raw.label(t);
            if previous.is_some_and(|previous| previous >= label) {
                break;
            }
            labels.extend_from_slice(label);
            label_ends.push(len32(labels.len()));
            previous = Some(label);
        }
        if label_ends.len() <= n {
            sort_by_text(&mut order, &|i| raw.label(i as usize), 0);
            if let Some(pair) = order
                .windows(2)
                .find(|w| raw.label(w[0] as usize) == raw.label(w[1] as usize))
            {
                return Err(GraphError::Invalid(format!(
                    "task `{}` appears twice",
                    String::from_utf8_lossy(raw.label(pair[0] as usize))
                )));
            }
            labels.clear();
            label_ends.truncate(1);
            for &i in &order {
                labels.extend_from_slice(raw.label(i as usize));
                label_ends.push(len32(labels.len()));
            }
        }
        let labels = String::from_utf8(labels)
            .map_err(|_| GraphError::Invalid("a label is not UTF-8".to_owned()))?;
        let label = |i: u32| {
            &labels.as_bytes()[label_ends[i as usize] as usize..label_ends[i as usize + 1] as usize]
        };
        let mut index = HashTable::with_capacity(n);
        for i in 0..len32(n) {
            index.insert_unique(hash(label(i)), i, |&j| hash(label(j)));
        }
        let lookup = |name: &[u8]| index.find(hash(name), |&j| label(j) == name).copied();

        // Kinds and build types are few: interned. Manifests stay where
        // the reader packed them.
        let mut text: Vec<u8> = Vec::new();
        let mut string_ends: Vec<u32> = vec![0];
        let mut push = |bytes: &[u8], text: &mut Vec<u8>| {
            text.extend_from_slice(bytes);
            string_ends.push(len32(text.len()));
            len32(string_ends.len() - 2)
        };
        let mut interned: FxHashMap<&[u8], u32> = FxHashMap::default();
        let mut edges = Vec::with_capacity(raw.refs.len());
        let mut tasks = Vec::with_capacity(n);
        for &i in &order {
            let read = &raw.tasks[i as usize];
            let mut list = |(start, end): (u32, u32)| {
                let from = edges.len();
                edges.extend(raw.refs.range((start, end)).filter_map(lookup));
                edges[from..].sort_unstable();
                let mut kept = from;
                for j in from..edges.len() {
                    if j == from || edges[j] != edges[kept - 1] {
                        edges[kept] = edges[j];
                        kept += 1;
                    }
                }
                edges.truncate(kept);
                (len32(from), len32(kept))
            };
            let deps = list(read.dependencies);
            let if_deps = list(read.if_dependencies);
            let manifest_range = read.test_manifests.unwrap_or((NONE, NONE));
            tasks.push(GraphTask {
                deps,
                if_deps,
                optimization: read.optimization.unwrap_or(NONE),
                kind: *interned
                    .entry(read.kind.map_or(&[][..], |k| raw.names.get(k as usize)))
                    .or_insert_with_key(|k| push(k, &mut text)),
                manifests: manifest_range,
                build_type: match read.build_type {
                    Some(b) => *interned
                        .entry(raw.names.get(b as usize))
                        .or_insert_with_key(|k| push(k, &mut text)),
                    None => NONE,
                },
                always_target: read.always_target,
            });
        }
        let mut dependent_ends = vec![0u32; n + 1];
        for task in &tasks {
            for &dep in &edges[task.deps.0 as usize..task.deps.1 as usize] {
                dependent_ends[dep as usize + 1] += 1;
            }
        }
        for i in 0..n {
            dependent_ends[i + 1] += dependent_ends[i];
        }
        let mut fill = dependent_ends.clone();
        let mut dependents = vec![0u32; dependent_ends[n] as usize];
        for (i, task) in tasks.iter().enumerate() {
            for &dep in &edges[task.deps.0 as usize..task.deps.1 as usize] {
                dependents[fill[dep as usize] as usize] = i as u32;
                fill[dep as usize] += 1;
            }
        }
        let strings = String::from_utf8(text)
            .map_err(|_| GraphError::Invalid("an attribute is not UTF-8".to_owned()))?;
        let graph = TaskGraph {
            labels,
            label_ends,
            index,
            tasks,
            edges,
            dependents,
            dependent_ends,
            optimizations: raw.optimizations,
            strings,
            string_ends,
            items: raw.items,
        };
        graph.check_acyclic()?;
        Ok(graph)
    }

    pub fn get(&self, label: &str) -> Option<u32> {
        let bytes = label.as_bytes();
        self.index
            .find(hash(bytes), |&j| self.label(j).as_bytes() == bytes)
            .copied()
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Task `i`'s label.
    pub fn label(&self, i: u32) -> &str {
        &self.labels[self.label_ends[i as usize] as usize..self.label_ends[i as usize + 1] as usize]
    }

    /// Task `i`'s kind (empty when the graph gives none).
    pub fn kind(&self, i: u32) -> &str {
        self.string(self.tasks[i as usize].kind)
    }

    fn string(&self, id: u32) -> &str {
        &self.strings
            [self.string_ends[id as usize] as usize..self.string_ends[id as usize + 1] as usize]
    }

    /// The tasks task `i` depends on (those in the graph), ascending.
    pub fn dependencies(&self, i: u32) -> &[u32] {
        let (start, end) = self.tasks[i as usize].deps;
        &self.edges[start as usize..end as usize]
    }

    /// Task `i`'s `if_dependencies` (those in the graph), ascending.
    pub fn if_dependencies(&self, i: u32) -> &[u32] {
        let (start, end) = self.tasks[i as usize].if_deps;
        &self.edges[start as usize..end as usize]
    }

    /// The tasks that depend on task `i`, ascending.
    pub fn dependents(&self, i: u32) -> &[u32] {
        &self.dependents
            [self.dependent_ends[i as usize] as usize..self.dependent_ends[i as usize + 1] as usize]
    }

    /// The first entry of task `i`'s `optimization`: (strategy, argument).
    pub fn optimization(&self, i: u32) -> Option<(&str, &Value)> {
        self.optimization_id(i).map(|o| {
            let (name, arg) = &self.optimizations[o as usize];
            (name.as_str(), arg)
        })
    }

    /// An id shared by the tasks whose optimization reads the same.
    pub fn optimization_id(&self, i: u32) -> Option<u32> {
        let o = self.tasks[i as usize].optimization;
        (o != NONE).then_some(o)
    }

    /// How many distinct optimizations the graph's tasks use (ids are below it).
    pub fn optimization_count(&self) -> usize {
        self.optimizations.len()
    }

    /// Whether task `i`'s `always_target` attribute is true.
    pub fn always_target(&self, i: u32) -> bool {
        self.tasks[i as usize].always_target
    }

    /// The strings of task `i`'s `test_manifests` attribute, if it is a list.
    pub fn test_manifests(&self, i: u32) -> Option<impl Iterator<Item = &str>> {
        let (start, end) = self.tasks[i as usize].manifests;
        (start != NONE).then(|| {
            self.items
                .range((start, end))
                .map(|item| std::str::from_utf8(item).unwrap_or_default())
        })
    }

    /// Task `i`'s `build_type` attribute, if it is a string.
    pub fn build_type(&self, i: u32) -> Option<&str> {
        let id = self.tasks[i as usize].build_type;
        (id != NONE).then(|| self.string(id))
    }

    /// Dependents before dependencies (taskgraph's `visit_preorder`), in a
    /// fixed order: Kahn's algorithm over reverse edges, ties by label.
    pub fn preorder(&self) -> Vec<u32> {
        let n = self.tasks.len();
        let mut remaining: Vec<u32> = (0..n)
            .map(|i| self.dependent_ends[i + 1] - self.dependent_ends[i])
            .collect();
        let mut order: Vec<u32> = Vec::with_capacity(n);
        order.extend((0..len32(n)).filter(|&i| remaining[i as usize] == 0));
        let mut next = 0;
        while next < order.len() {
            let i = order[next];
            next += 1;
            for &dep in self.dependencies(i) {
                remaining[dep as usize] -= 1;
                if remaining[dep as usize] == 0 {
                    order.push(dep);
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
        Err(GraphError::Cycle(self.label(stuck as u32).to_owned()))
    }
}

/// `target-tasks.json`: a JSON list of labels (20,000 labels are about
/// 800 KB: read with the graph's structural index, and by serde_json where
/// that declines). The labels are borrowed from `text` (a label with
/// escapes, or one serde_json read, is owned).
pub fn target_tasks_from_json(text: &[u8]) -> Result<Vec<Cow<'_, str>>, GraphError> {
    super::fast::read_strings(text).or_else(|_| {
        serde_json::from_slice::<Vec<String>>(text)
            .map(|labels| labels.into_iter().map(Cow::Owned).collect())
            .map_err(|e| GraphError::json(&e))
    })
}

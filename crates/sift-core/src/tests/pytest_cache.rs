//! The mergeable part of a pytest cache directory (`.pytest_cache`), and
//! PyTorch's rules for merging caches from many shards.
//!
//! Files merged (everything else is left alone):
//! - `.gitignore`, `CACHEDIR.TAG`, `README.md`: copied only if absent;
//! - `v/cache/lastfailed` (node id → value): keys missing from the destination
//!   are added, existing keys keep the destination's value; afterwards, if keys
//!   were added and more than one key remains, the `""` key (pytest's session
//!   node) is dropped;
//! - `previous_failures_additional.json` (test names): de-duplicated union,
//!   written sorted.
//!
//! Merging is split in two so the result never depends on the order caches
//! arrive in: sources are first combined into a [`CacheSnapshot`] with a
//! commutative union (ties between sources broken by value, not by order),
//! then that union is applied to the destination once, where the
//! destination's values win.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub const LASTFAILED: &str = "v/cache/lastfailed";
pub const PREVIOUS_FAILURES: &str = "previous_failures_additional.json";
pub const STATIC_FILES: [&str; 3] = [".gitignore", "CACHEDIR.TAG", "README.md"];

/// Node id → value, as in `v/cache/lastfailed`.
pub type LastFailed = BTreeMap<String, Value>;

/// Why a cache (or one of its files) cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    #[error("`{file}` is not valid JSON: {detail}")]
    InvalidJson { file: String, detail: String },
    #[error("`{file}` holds {found}, expected {expected}")]
    WrongType {
        file: String,
        found: &'static str,
        expected: &'static str,
    },
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The mergeable contents of one cache, or the union of several.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheSnapshot {
    pub static_files: BTreeMap<String, Vec<u8>>,
    pub lastfailed: Option<LastFailed>,
    pub previous_failures: Option<BTreeSet<String>>,
    /// How many sources contributed a `lastfailed` (decides the `""` rule when
    /// the destination has none).
    pub lastfailed_sources: usize,
}

impl CacheSnapshot {
    /// Parses the mergeable files from `(relative path, bytes)` pairs, such as
    /// the entries of a zip. Unknown files are ignored.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, CacheError> {
        let mut snapshot = CacheSnapshot::default();
        for (path, bytes) in files {
            let path = path.trim_start_matches("./");
            if STATIC_FILES.contains(&path) {
                snapshot
                    .static_files
                    .insert(path.to_owned(), bytes.to_vec());
            } else if path == LASTFAILED {
                snapshot.lastfailed = Some(parse_lastfailed(path, bytes)?);
                snapshot.lastfailed_sources = 1;
            } else if path == PREVIOUS_FAILURES {
                snapshot.previous_failures = Some(parse_previous_failures(path, bytes)?);
            }
        }
        Ok(snapshot)
    }

    /// Reads the mergeable files of a cache directory; a missing directory is
    /// an empty snapshot.
    pub fn read_dir(dir: &Path) -> Result<Self, CacheError> {
        let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
        for name in STATIC_FILES
            .into_iter()
            .chain([LASTFAILED, PREVIOUS_FAILURES])
        {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => files.push((name, bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(CacheError::Read { path, source }),
            }
        }
        CacheSnapshot::from_files(files.iter().map(|(n, b)| (*n, b.as_slice())))
    }

    /// Adds another source. Commutative and associative: any order of the same
    /// sources gives the same union. Where sources disagree on a value, the
    /// greater value in canonical JSON wins (`true` over `false`).
    pub fn union_with(&mut self, other: &CacheSnapshot) {
        for (name, bytes) in &other.static_files {
            match self.static_files.get(name) {
                Some(existing) if existing <= bytes => {}
                _ => {
                    self.static_files.insert(name.clone(), bytes.clone());
                }
            }
        }
        if let Some(theirs) = &other.lastfailed {
            let mine = self.lastfailed.get_or_insert_with(BTreeMap::new);
            for (key, value) in theirs {
                match mine.get(key) {
                    Some(existing) if canonical(existing) >= canonical(value) => {}
                    _ => {
                        mine.insert(key.clone(), value.clone());
                    }
                }
            }
            self.lastfailed_sources += other.lastfailed_sources;
        }
        if let Some(theirs) = &other.previous_failures {
            self.previous_failures
                .get_or_insert_with(BTreeSet::new)
                .extend(theirs.iter().cloned());
        }
    }

    /// Node ids of failures (keys of `lastfailed`), sorted.
    pub fn failed_node_ids(&self) -> Vec<&str> {
        self.lastfailed
            .iter()
            .flat_map(|m| m.keys().map(String::as_str))
            .collect()
    }
}

fn canonical(value: &Value) -> String {
    value.to_string()
}

fn parse_lastfailed(file: &str, bytes: &[u8]) -> Result<LastFailed, CacheError> {
    match parse_json(file, bytes)? {
        Value::Object(map) => Ok(map.into_iter().collect()),
        other => Err(CacheError::WrongType {
            file: file.to_owned(),
            found: type_name(&other),
            expected: "an object",
        }),
    }
}

fn parse_previous_failures(file: &str, bytes: &[u8]) -> Result<BTreeSet<String>, CacheError> {
    match parse_json(file, bytes)? {
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                other => Err(CacheError::WrongType {
                    file: file.to_owned(),
                    found: type_name(&other),
                    expected: "a list of strings",
                }),
            })
            .collect(),
        other => Err(CacheError::WrongType {
            file: file.to_owned(),
            found: type_name(&other),
            expected: "a list",
        }),
    }
}

fn parse_json(file: &str, bytes: &[u8]) -> Result<Value, CacheError> {
    serde_json::from_slice(bytes).map_err(|e| CacheError::InvalidJson {
        file: file.to_owned(),
        detail: e.to_string(),
    })
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// What applying a union to a directory changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    /// Files written, relative to the cache directory.
    pub written: Vec<String>,
    /// Failures in `lastfailed` after the merge.
    pub lastfailed_count: usize,
}

/// The destination's `lastfailed` after merging `union` into `dest`; `None`
/// when nothing changes.
pub fn merged_lastfailed(dest: Option<&LastFailed>, union: &CacheSnapshot) -> Option<LastFailed> {
    let incoming = union.lastfailed.as_ref()?;
    let mut result = match dest {
        None => {
            let mut copy = incoming.clone();
            if union.lastfailed_sources > 1 && copy.len() > 1 {
                copy.remove("");
            }
            return Some(copy);
        }
        Some(dest) => dest.clone(),
    };
    let before = result.len();
    for (key, value) in incoming {
        result.entry(key.clone()).or_insert_with(|| value.clone());
    }
    if result.len() == before {
        return None;
    }
    if result.len() > 1 {
        result.remove("");
    }
    Some(result)
}

/// Merges `union` into the cache directory `dest` (created if missing). Each
/// file is written atomically (temporary file, then rename), so an
/// interrupted merge never leaves a half-written file. If the destination's
/// own files are corrupt, nothing is written and the error says which.
pub fn merge_into_dir(dest: &Path, union: &CacheSnapshot) -> Result<MergeOutcome, CacheError> {
    let current = CacheSnapshot::read_dir(dest)?;
    let mut outcome = MergeOutcome::default();
    for (name, bytes) in &union.static_files {
        if !current.static_files.contains_key(name) {
            write_atomic(&dest.join(name), bytes)?;
            outcome.written.push(name.clone());
        }
    }
    let lastfailed = merged_lastfailed(current.lastfailed.as_ref(), union);
    if let Some(map) = &lastfailed {
        write_lastfailed(dest, map)?;
        outcome.written.push(LASTFAILED.to_owned());
    }
    outcome.lastfailed_count = lastfailed
        .as_ref()
        .or(current.lastfailed.as_ref())
        .map_or(0, BTreeMap::len);
    if let Some(incoming) = &union.previous_failures {
        let mut merged = current.previous_failures.clone().unwrap_or_default();
        merged.extend(incoming.iter().cloned());
        if current.previous_failures.as_ref() != Some(&merged) {
            write_previous_failures(dest, &merged)?;
            outcome.written.push(PREVIOUS_FAILURES.to_owned());
        }
    }
    Ok(outcome)
}

/// Writes `v/cache/lastfailed` as pytest does (indent 2, UTF-8 unescaped), with
/// keys sorted so the bytes are the same whatever order caches merged in.
pub fn write_lastfailed(dir: &Path, map: &LastFailed) -> Result<(), CacheError> {
    let text = serde_json::to_string_pretty(map).expect("JSON values serialize");
    write_atomic(&dir.join(LASTFAILED), text.as_bytes())
}

pub fn write_previous_failures(dir: &Path, names: &BTreeSet<String>) -> Result<(), CacheError> {
    let text = serde_json::to_string_pretty(names).expect("strings serialize");
    write_atomic(&dir.join(PREVIOUS_FAILURES), text.as_bytes())
}

/// Writes through a temporary file in the same directory and renames it over
/// the target, so readers see the old or the new file, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let err = |source| CacheError::Write {
        path: path.to_owned(),
        source,
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(err)?;
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy().into_owned());
    let temp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(err)
}

/// The test file of a node id (`test/test_nn.py::TestNN::test_x` →
/// `test/test_nn.py`); `None` for keys without `::` (collection errors and
/// the session node), which PyTorch's heuristic ignores.
pub fn node_file(node_id: &str) -> Option<&str> {
    node_id.split_once("::").map(|(file, _)| file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn lf(pairs: &[(&str, Value)]) -> CacheSnapshot {
        CacheSnapshot {
            lastfailed: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ),
            lastfailed_sources: 1,
            ..CacheSnapshot::default()
        }
    }

    fn keys(map: &LastFailed) -> Vec<&str> {
        map.keys().map(String::as_str).collect()
    }

    #[test]
    fn lastfailed_rules() {
        // Absent in source: nothing.
        assert_eq!(
            merged_lastfailed(Some(&BTreeMap::new()), &CacheSnapshot::default()),
            None
        );
        // Absent in destination: copied.
        let copied = merged_lastfailed(None, &lf(&[("a::t", json!(true))])).unwrap();
        assert_eq!(keys(&copied), ["a::t"]);
        // Both: new keys added, existing keep the destination's value.
        let dest: LastFailed = [
            ("a::t".to_string(), json!("dest")),
            ("b::t".to_string(), json!(true)),
        ]
        .into();
        let merged = merged_lastfailed(
            Some(&dest),
            &lf(&[("a::t", json!("src")), ("c::t", json!(true))]),
        )
        .unwrap();
        assert_eq!(merged["a::t"], json!("dest"));
        assert_eq!(keys(&merged), ["a::t", "b::t", "c::t"]);
        // Nothing new: unchanged.
        assert_eq!(
            merged_lastfailed(Some(&dest), &lf(&[("a::t", json!(true))])),
            None
        );
    }

    #[test]
    fn the_empty_key_rule() {
        let root_only: LastFailed = [(String::new(), json!(true))].into();
        // {"": true} with {"": true} or {} stays.
        assert_eq!(
            merged_lastfailed(Some(&root_only), &lf(&[("", json!(true))])),
            None
        );
        assert_eq!(merged_lastfailed(Some(&root_only), &lf(&[])), None);
        // More than one key: "" goes.
        let merged = merged_lastfailed(Some(&root_only), &lf(&[("x::t", json!(true))])).unwrap();
        assert_eq!(keys(&merged), ["x::t"]);
        // Into an empty destination from two sources.
        let mut union = lf(&[("", json!(true))]);
        union.union_with(&lf(&[("y::t", json!(true))]));
        assert_eq!(keys(&merged_lastfailed(None, &union).unwrap()), ["y::t"]);
        // A single source is copied as is.
        let single = lf(&[("", json!(true)), ("z::t", json!(true))]);
        assert_eq!(
            keys(&merged_lastfailed(None, &single).unwrap()),
            ["", "z::t"]
        );
    }

    #[test]
    fn parse_errors_name_the_file() {
        let err = CacheSnapshot::from_files([(LASTFAILED, b"{not json".as_slice())]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`v/cache/lastfailed` is not valid JSON"),
            "{err}"
        );
        let err = CacheSnapshot::from_files([(LASTFAILED, b"[1]".as_slice())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`v/cache/lastfailed` holds a list, expected an object"
        );
        let err =
            CacheSnapshot::from_files([(PREVIOUS_FAILURES, b"[\"a\", 3]".as_slice())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`previous_failures_additional.json` holds a number, expected a list of strings"
        );
    }

    #[test]
    fn directory_merge_writes_sorted_files_atomically_and_keeps_dest() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join(".pytest_cache");
        std::fs::create_dir_all(dest.join("v/cache")).unwrap();
        std::fs::write(dest.join("README.md"), "mine").unwrap();
        std::fs::write(dest.join(LASTFAILED), "{\n  \"t.py::b\": true\n}").unwrap();
        std::fs::write(dest.join("v/cache/nodeids"), "[]").unwrap();
        let src = CacheSnapshot::from_files([
            ("README.md", b"theirs".as_slice()),
            (".gitignore", b"*\n".as_slice()),
            (LASTFAILED, b"{\"t.py::a\": true}".as_slice()),
            (
                PREVIOUS_FAILURES,
                b"[\"test_nn\", \"test_a\", \"test_nn\"]".as_slice(),
            ),
            ("v/cache/nodeids", b"[\"x\"]".as_slice()),
        ])
        .unwrap();
        let outcome = merge_into_dir(&dest, &src).unwrap();
        assert_eq!(
            outcome.written,
            [".gitignore", LASTFAILED, PREVIOUS_FAILURES]
        );
        assert_eq!(outcome.lastfailed_count, 2);
        assert_eq!(
            std::fs::read_to_string(dest.join("README.md")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_to_string(dest.join("v/cache/nodeids")).unwrap(),
            "[]",
            "other files are not merged"
        );
        assert_eq!(
            std::fs::read_to_string(dest.join(LASTFAILED)).unwrap(),
            "{\n  \"t.py::a\": true,\n  \"t.py::b\": true\n}"
        );
        assert_eq!(
            std::fs::read_to_string(dest.join(PREVIOUS_FAILURES)).unwrap(),
            "[\n  \"test_a\",\n  \"test_nn\"\n]"
        );
        // Merging the same again changes nothing.
        assert_eq!(
            merge_into_dir(&dest, &src).unwrap().written,
            Vec::<String>::new()
        );
        // No temporary files are left behind.
        let leftovers: Vec<_> = std::fs::read_dir(dest.join("v/cache"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn corrupt_destination_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("v/cache")).unwrap();
        std::fs::write(dir.path().join(LASTFAILED), "garbage").unwrap();
        assert!(merge_into_dir(dir.path(), &lf(&[("a::t", json!(true))])).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LASTFAILED)).unwrap(),
            "garbage"
        );
    }

    #[test]
    fn node_files() {
        assert_eq!(
            node_file("test/test_nn.py::TestNN::test_x[1]"),
            Some("test/test_nn.py")
        );
        assert_eq!(node_file("test/test_broken.py"), None);
        assert_eq!(node_file(""), None);
    }

    fn arb_snapshot() -> impl Strategy<Value = CacheSnapshot> {
        (
            proptest::option::of(proptest::collection::btree_map(
                "(|[ab]{1,2}(::t[12])?)",
                prop_oneof![Just(json!(true)), Just(json!(false)), Just(json!(1))],
                0..5,
            )),
            proptest::option::of(proptest::collection::btree_set("test_[a-c]", 0..3)),
            proptest::option::of(prop_oneof![Just(b"x".to_vec()), Just(b"y".to_vec())]),
        )
            .prop_map(|(lastfailed, previous, readme)| CacheSnapshot {
                lastfailed_sources: usize::from(lastfailed.is_some()),
                lastfailed,
                previous_failures: previous,
                static_files: readme
                    .map(|r| [("README.md".to_string(), r)].into())
                    .unwrap_or_default(),
            })
    }

    proptest! {
        /// Any order of sources gives the same union, and so the same merge.
        #[test]
        fn union_is_order_independent(sources in proptest::collection::vec(arb_snapshot(), 0..6), seed in any::<u64>()) {
            let mut forward = CacheSnapshot::default();
            for s in &sources { forward.union_with(s); }
            let mut shuffled = sources.clone();
            // A deterministic shuffle from the seed.
            let n = shuffled.len();
            for i in (1..n).rev() {
                let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            let mut backward = CacheSnapshot::default();
            for s in &shuffled { backward.union_with(s); }
            prop_assert_eq!(&forward, &backward);
        }

        /// Merging a cache into itself changes nothing.
        #[test]
        fn self_merge_is_a_no_op(cache in arb_snapshot()) {
            let dir = tempfile::tempdir().unwrap();
            // Materialize the cache, then merge it into itself.
            merge_into_dir(dir.path(), &cache).unwrap();
            let on_disk = CacheSnapshot::read_dir(dir.path()).unwrap();
            let outcome = merge_into_dir(dir.path(), &on_disk).unwrap();
            prop_assert!(outcome.written.is_empty(), "{:?}", outcome.written);
        }

        /// Nothing already in the destination is lost.
        #[test]
        fn destination_keys_survive(dest in arb_snapshot(), src in arb_snapshot()) {
            let merged = merged_lastfailed(dest.lastfailed.as_ref(), &src);
            if let (Some(dest), Some(merged)) = (dest.lastfailed.as_ref(), merged) {
                for (key, value) in dest {
                    if key.is_empty() { continue; }
                    prop_assert_eq!(merged.get(key), Some(value));
                }
            }
        }
    }
}

//! `uv.lock`: `[[package]]` entries with `name`, `version`, `source` (a
//! table: `registry`, `git`, `url`, `path`, `directory`, `editable` or
//! `virtual`) and `dependencies` (plus `optional-dependencies` and
//! `dev-dependencies` tables of lists) referring to other entries by name,
//! and by version and source where a name is ambiguous. Workspace packages
//! are the `editable` and `virtual` sources.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::{LockGraph, Node};
use crate::workspace::{ParseError, normalize_join};

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<Dep>,
    #[serde(default, rename = "optional-dependencies")]
    optional: BTreeMap<String, Vec<Dep>>,
    #[serde(default, rename = "dev-dependencies")]
    dev: BTreeMap<String, Vec<Dep>>,
    sdist: Option<toml::Value>,
    #[serde(default)]
    wheels: Vec<toml::Value>,
}

#[derive(Deserialize)]
struct Dep {
    name: String,
    version: Option<String>,
    source: Option<BTreeMap<String, toml::Value>>,
}

fn source_text(source: &BTreeMap<String, toml::Value>) -> String {
    source
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.as_str().map_or_else(|| format!("{v:?}"), str::to_owned)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// PEP 503 normalization: `Foo_Bar.baz` → `foo-bar-baz`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !out.is_empty() {
                out.push('-');
            }
            separator = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `members`: workspace directory (relative to the lockfile's) → name.
pub fn parse(
    path: &str,
    text: &str,
    members: &BTreeMap<String, String>,
) -> Result<LockGraph, ParseError> {
    let lock: Lock = toml::from_str(text).map_err(|e| ParseError::toml(path, text, &e))?;
    let member_names: BTreeSet<String> = members.values().map(|n| normalize_name(n)).collect();
    let mut graph = LockGraph::default();
    let mut index = FxHashMap::default();
    let mut ids = Vec::new();
    for package in &lock.package {
        let local = ["editable", "virtual"]
            .iter()
            .find_map(|k| package.source.get(*k).and_then(toml::Value::as_str));
        let name = normalize_name(&package.name);
        let member = match local {
            Some(dir) => {
                let dir = normalize_join("", dir).unwrap_or_default();
                members
                    .get(&dir)
                    .cloned()
                    .or_else(|| member_names.contains(&name).then(|| name.clone()))
            }
            None => None,
        };
        let root = local.is_some_and(|d| normalize_join("", d).is_some_and(|d| d.is_empty()))
            && member.is_none();
        let digest = package
            .sdist
            .as_ref()
            .and_then(|s| s.get("hash"))
            .or_else(|| package.wheels.first().and_then(|w| w.get("hash")))
            .and_then(toml::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = graph.add(
            &mut index,
            Node {
                name,
                version: package.version.clone().unwrap_or_default(),
                source: source_text(&package.source),
                digest,
                deps: Vec::new(),
                member: member
                    .or_else(|| (local.is_some() && !root).then(|| normalize_name(&package.name))),
                root,
            },
        );
        ids.push(id);
    }
    let mut by_name: FxHashMap<String, Vec<usize>> = FxHashMap::default();
    for (i, package) in lock.package.iter().enumerate() {
        by_name
            .entry(normalize_name(&package.name))
            .or_default()
            .push(i);
    }
    for (i, package) in lock.package.iter().enumerate() {
        let all = package
            .dependencies
            .iter()
            .chain(package.optional.values().flatten())
            .chain(package.dev.values().flatten());
        for dep in all {
            let candidates = by_name
                .get(&normalize_name(&dep.name))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let found: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&c| {
                    dep.version
                        .as_ref()
                        .is_none_or(|v| lock.package[c].version.as_ref() == Some(v))
                })
                .filter(|&c| {
                    dep.source
                        .as_ref()
                        .is_none_or(|s| &lock.package[c].source == s)
                })
                .collect();
            let target = match found.as_slice() {
                [one] => ids[*one],
                [] => {
                    return Err(ParseError::at(
                        path,
                        text,
                        0,
                        format!(
                            "`{}` depends on `{}`, which the lockfile does not list",
                            package.name, dep.name
                        ),
                    ));
                }
                // Several versions for different markers: depend on all.
                several => {
                    let many: Vec<usize> = several.iter().map(|&c| ids[c]).collect();
                    graph.nodes[ids[i]].deps.extend(many);
                    continue;
                }
            };
            graph.nodes[ids[i]].deps.push(target);
        }
    }
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::super::{diff, testing::summary};
    use super::*;

    const LOCK: &str = r#"version = 1
requires-python = ">=3.11"

[manifest]
members = ["api", "lib", "shop"]

[[package]]
name = "api"
version = "0.1.0"
source = { editable = "packages/api" }
dependencies = [
    { name = "lib" },
    { name = "requests" },
]

[[package]]
name = "lib"
version = "0.1.0"
source = { editable = "packages/lib" }
dependencies = [{ name = "attrs" }]

[package.optional-dependencies]
fast = [{ name = "orjson" }]

[[package]]
name = "shop"
version = "0.1.0"
source = { virtual = "." }

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "attrs"
version = "23.2.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/attrs.tar.gz", hash = "sha256:a1", size = 1 }

[[package]]
name = "orjson"
version = "3.10.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/orjson.tar.gz", hash = "sha256:o1", size = 1 }

[[package]]
name = "pytest"
version = "8.2.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/pytest.tar.gz", hash = "sha256:p1", size = 1 }

[[package]]
name = "requests"
version = "2.31.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "urllib3" }]
sdist = { url = "https://x/requests.tar.gz", hash = "sha256:r1", size = 1 }

[[package]]
name = "urllib3"
version = "2.2.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/urllib3.tar.gz", hash = "sha256:u1", size = 1 }
"#;

    fn members() -> BTreeMap<String, String> {
        [("packages/api", "api"), ("packages/lib", "lib")]
            .into_iter()
            .map(|(d, n)| (d.to_owned(), n.to_owned()))
            .collect()
    }

    fn run(head: &str) -> (Vec<String>, Vec<String>) {
        summary(&diff(
            &parse("uv.lock", LOCK, &members()).unwrap(),
            &parse("uv.lock", head, &members()).unwrap(),
        ))
    }

    #[test]
    fn transitive_and_optional_dependencies_are_attributed() {
        let head = LOCK
            .replace("2.2.0", "2.2.1")
            .replace("sha256:u1", "sha256:u2");
        assert_eq!(
            run(&head),
            (
                vec!["api".to_owned()],
                vec!["urllib3 2.2.0 → 2.2.1".to_owned()]
            )
        );
        let head = LOCK
            .replace("3.10.0", "3.10.1")
            .replace("sha256:o1", "sha256:o2");
        assert_eq!(run(&head).0, ["lib"]);
    }

    #[test]
    fn the_virtual_root_alone_is_unattributed() {
        let head = LOCK
            .replace("8.2.0", "8.3.0")
            .replace("sha256:p1", "sha256:p2");
        let d = diff(
            &parse("uv.lock", LOCK, &members()).unwrap(),
            &parse("uv.lock", &head, &members()).unwrap(),
        );
        assert!(d.affected.is_empty());
        assert_eq!(d.unattributed, ["pytest"]);
    }

    #[test]
    fn names_normalize() {
        assert_eq!(normalize_name("Foo_Bar.baz"), "foo-bar-baz");
        assert_eq!(normalize_name("a--b"), "a-b");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse("uv.lock", &text, &members());
        }

        #[test]
        fn never_panics_on_edited_locks(cut in 0usize..1500, insert in "[\\[\\]{}\"=, a-z0-9\\n]{0,12}") {
            let mut text = LOCK.to_owned();
            let at = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.insert_str(at, &insert);
            let _ = parse("uv.lock", &text, &members());
        }
    }
}

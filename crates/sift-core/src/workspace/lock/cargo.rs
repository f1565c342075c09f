//! `Cargo.lock` (versions 1 to 4): `[[package]]` entries with `name`,
//! `version`, `source`, `checksum` and `dependencies` (`"name"`, or
//! `"name version"` / `"name version (source)"` where a name is ambiguous).
//! Workspace packages are the entries without a source whose name is a
//! workspace member.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::{LockGraph, Node};
use crate::workspace::ParseError;

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

pub fn parse(path: &str, text: &str, members: &BTreeSet<String>) -> Result<LockGraph, ParseError> {
    let lock: Lock = toml::from_str(text).map_err(|e| ParseError::toml(path, text, &e))?;
    let mut graph = LockGraph::default();
    let mut index = FxHashMap::default();
    let mut ids = Vec::with_capacity(lock.package.len());
    for package in &lock.package {
        let member = (package.source.is_none() && members.contains(&package.name))
            .then(|| package.name.clone());
        let id = graph.add(
            &mut index,
            Node {
                name: package.name.clone(),
                version: package.version.clone(),
                source: package.source.clone().unwrap_or_else(|| "path".to_owned()),
                digest: package.checksum.clone().unwrap_or_default(),
                deps: Vec::new(),
                member,
                root: false,
            },
        );
        ids.push(id);
    }
    // name → candidates (id, version, source) for resolving references.
    let mut by_name: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, package) in lock.package.iter().enumerate() {
        by_name.entry(package.name.as_str()).or_default().push(i);
    }
    for (i, package) in lock.package.iter().enumerate() {
        let mut deps = Vec::new();
        for reference in &package.dependencies {
            let mut parts = reference.splitn(3, ' ');
            let name = parts.next().unwrap_or_default();
            let version = parts.next();
            let source = parts
                .next()
                .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
            let candidates = by_name.get(name).map(Vec::as_slice).unwrap_or_default();
            let found: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&c| version.is_none_or(|v| lock.package[c].version == v))
                .filter(|&c| source.is_none_or(|s| lock.package[c].source.as_deref() == Some(s)))
                .collect();
            match found.as_slice() {
                [one] => deps.push(ids[*one]),
                [] => {
                    return Err(ParseError::at(
                        path,
                        text,
                        text.find(&format!("\"{reference}\"")).unwrap_or(0),
                        format!(
                            "`{}` depends on `{reference}`, which the lockfile does not list",
                            package.name
                        ),
                    ));
                }
                _ => {
                    return Err(ParseError::at(
                        path,
                        text,
                        text.find(&format!("\"{reference}\"")).unwrap_or(0),
                        format!("`{reference}` is ambiguous: the lockfile lists several versions"),
                    ));
                }
            }
        }
        let id = ids[i];
        graph.nodes[id].deps.extend(deps);
    }
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::super::{diff, testing::summary};
    use super::*;

    const BASE: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["core", "clap"]

[[package]]
name = "core"
version = "0.1.0"
dependencies = ["tokio", "syn 2.0.1"]

[[package]]
name = "tool"
version = "0.1.0"
dependencies = ["syn 1.0.109"]

[[package]]
name = "clap"
version = "4.5.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aa"

[[package]]
name = "tokio"
version = "1.40.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bb"
dependencies = ["serde"]

[[package]]
name = "serde"
version = "1.0.219"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "cc"

[[package]]
name = "syn"
version = "1.0.109"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "dd"

[[package]]
name = "syn"
version = "2.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "ee"
"#;

    fn members() -> BTreeSet<String> {
        ["app", "core", "tool"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn a_transitive_bump_affects_only_its_users() {
        let head = BASE
            .replace("version = \"1.0.219\"", "version = \"1.0.228\"")
            .replace("\"cc\"", "\"cc2\"");
        let d = diff(
            &parse("Cargo.lock", BASE, &members()).unwrap(),
            &parse("Cargo.lock", &head, &members()).unwrap(),
        );
        assert_eq!(
            summary(&d),
            (
                vec!["core".to_owned()],
                vec!["serde 1.0.219 → 1.0.228".to_owned()]
            )
        );
        assert_eq!(d.affected["core"][0].through, ["tokio"]);
    }

    #[test]
    fn ambiguous_names_resolve_by_version() {
        let head = BASE
            .replace("version = \"1.0.109\"", "version = \"1.0.110\"")
            .replace("syn 1.0.109", "syn 1.0.110");
        let d = diff(
            &parse("Cargo.lock", BASE, &members()).unwrap(),
            &parse("Cargo.lock", &head, &members()).unwrap(),
        );
        assert_eq!(summary(&d).0, ["tool"]);
    }

    #[test]
    fn a_reference_to_nothing_is_an_error_with_its_line() {
        let bad = BASE.replace("\"clap\"]", "\"clop\"]");
        let e = parse("Cargo.lock", &bad, &members()).unwrap_err();
        assert_eq!(e.line, 7, "{e}");
        assert!(parse("Cargo.lock", "[[package]]\nname = 3\n", &members()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse("Cargo.lock", &text, &members());
        }

        #[test]
        fn never_panics_on_edited_locks(cut in 0usize..900, insert in "[\\[\\]\"= a-z0-9\\n]{0,12}") {
            let mut text = BASE.to_owned();
            let at = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.insert_str(at, &insert);
            let _ = parse("Cargo.lock", &text, &members());
        }
    }
}

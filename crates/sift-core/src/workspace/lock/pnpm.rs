//! `pnpm-lock.yaml` (lockfile versions 5.x, 6.x and 9.x): `importers` (one
//! per workspace directory, `.` for the root) list their dependencies with
//! the resolved version; `packages` (and, from 9.0, `snapshots`) list each
//! resolved package's own dependencies. A `link:` version is a workspace
//! package.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::{LockGraph, Node};
use crate::workspace::yaml::{self, Yaml};
use crate::workspace::{ParseError, normalize_join};

const DEP_SECTIONS: [&str; 3] = ["dependencies", "devDependencies", "optionalDependencies"];

/// `name@1.2.3(peer@4)` → (`name`, `1.2.3`), for keys with or without the
/// leading `/` of lockfile 6, and `/name/1.2.3` of lockfile 5.
fn split_key(key: &str) -> Option<(String, String)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let bare = key.split('(').next().unwrap_or(key);
    let at = bare
        .char_indices()
        .skip(1)
        .filter(|(_, c)| *c == '@')
        .map(|(i, _)| i)
        .last();
    if let Some(at) = at {
        return Some((bare[..at].to_owned(), key[at + 1..].to_owned()));
    }
    // Lockfile 5: name/version, with a scope: @s/name/version.
    let (name, version) = bare.rsplit_once('/')?;
    Some((name.to_owned(), version.to_owned()))
}

fn normalize_key(key: &str) -> String {
    match split_key(key) {
        Some((name, version)) => format!("{name}@{version}"),
        None => key.to_owned(),
    }
}

/// `members`: workspace directory (relative to the lockfile's) → name.
pub fn parse(
    path: &str,
    text: &str,
    members: &BTreeMap<String, String>,
) -> Result<LockGraph, ParseError> {
    let documents = yaml::parse_documents(path, text)?;
    // pnpm 10 may put its configuration dependencies in a first document.
    let doc = documents
        .iter()
        .rev()
        .find(|d| {
            d.get("packages").is_some()
                || d.get("importers").is_some()
                || d.get("lockfileVersion").is_some()
        })
        .ok_or_else(|| ParseError::line(path, 1, 1, "no lockfileVersion, importers or packages"))?;
    let mut graph = LockGraph::default();
    let mut index = FxHashMap::default();
    let mut by_key: FxHashMap<String, usize> = FxHashMap::default();
    // packages (integrity) and snapshots (dependencies, from 9.0).
    let snapshots = doc.get("snapshots");
    let mut entries: Vec<(String, &Yaml, Option<&Yaml>)> = Vec::new();
    for (key, entry) in doc.get("packages").map(Yaml::entries).unwrap_or_default() {
        entries.push((normalize_key(key), entry, None));
    }
    if let Some(snapshots) = snapshots {
        let resolution: FxHashMap<String, &Yaml> =
            entries.drain(..).map(|(k, e, _)| (k, e)).collect();
        for (key, snapshot) in snapshots.entries() {
            let key = normalize_key(key);
            let bare = key.split('(').next().unwrap_or(&key).to_owned();
            let package = resolution.get(&bare).copied().unwrap_or(&Yaml::Null);
            entries.push((key, package, Some(snapshot)));
        }
    }
    for (key, package, _) in &entries {
        let Some((name, version)) = split_key(key) else {
            return Err(ParseError::line(
                path,
                1,
                1,
                format!("cannot read the package key `{key}`"),
            ));
        };
        let digest = package
            .get("resolution")
            .and_then(|r| {
                r.get("integrity")
                    .or_else(|| r.get("tarball"))
                    .or_else(|| r.get("commit"))
            })
            .and_then(Yaml::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = graph.add(
            &mut index,
            Node {
                name,
                version,
                source: "registry".into(),
                digest,
                deps: Vec::new(),
                member: None,
                root: false,
            },
        );
        by_key.insert(key.clone(), id);
    }
    // Importers: the workspace packages.
    let mut importer_ids: FxHashMap<String, usize> = FxHashMap::default();
    let importers: Vec<(String, &Yaml)> = match doc.get("importers") {
        Some(importers) => importers
            .entries()
            .iter()
            .map(|(k, v)| (k.clone(), v))
            .collect(),
        // A single project: the document is its importer.
        None => vec![(".".to_owned(), doc)],
    };
    for (dir, _) in &importers {
        let dir = normalize_join("", dir).unwrap_or_default();
        let member = members.get(&dir).cloned();
        let root = dir.is_empty() && member.is_none();
        let id = graph.add(
            &mut index,
            Node {
                name: member.clone().unwrap_or_else(|| {
                    if dir.is_empty() {
                        "(workspace root)".into()
                    } else {
                        dir.clone()
                    }
                }),
                version: String::new(),
                source: "workspace".into(),
                digest: String::new(),
                deps: Vec::new(),
                member: member.or_else(|| (!root).then(|| dir.clone())),
                root,
            },
        );
        importer_ids.insert(dir, id);
    }
    for (dir, importer) in &importers {
        let dir = normalize_join("", dir).unwrap_or_default();
        let from = importer_ids[&dir];
        let specifiers = importer.get("specifiers");
        for section in DEP_SECTIONS {
            for (dep, value) in importer.get(section).map(Yaml::entries).unwrap_or_default() {
                // 6.x/9.x: { specifier, version }; 5.x: version, with `specifiers` beside.
                let version = value
                    .get("version")
                    .and_then(Yaml::as_str)
                    .or_else(|| value.as_str())
                    .unwrap_or_default();
                let _ = specifiers;
                match resolve(&dir, dep, version, &by_key, &importer_ids) {
                    Some(id) => graph.nodes[from].deps.push(id),
                    None => {
                        let who = graph.nodes[from].name.clone();
                        graph.unresolved.push((who, format!("{dep}@{version}")));
                    }
                }
            }
        }
    }
    for (key, package, snapshot) in &entries {
        let from = by_key[key];
        let source = snapshot.unwrap_or(package);
        for section in ["dependencies", "optionalDependencies"] {
            for (dep, value) in source.get(section).map(Yaml::entries).unwrap_or_default() {
                let version = value.as_str().unwrap_or_default();
                if let Some(id) = resolve("", dep, version, &by_key, &importer_ids) {
                    graph.nodes[from].deps.push(id);
                } else if section == "dependencies" {
                    return Err(ParseError::line(
                        path,
                        1,
                        1,
                        format!(
                            "`{key}` depends on `{dep}@{version}`, which the lockfile does not list"
                        ),
                    ));
                }
            }
        }
    }
    Ok(graph)
}

fn resolve(
    dir: &str,
    dep: &str,
    version: &str,
    by_key: &FxHashMap<String, usize>,
    importers: &FxHashMap<String, usize>,
) -> Option<usize> {
    if let Some(link) = version.strip_prefix("link:") {
        return normalize_join(dir, link).and_then(|d| importers.get(&d).copied());
    }
    by_key
        .get(&format!("{dep}@{version}"))
        .or_else(|| by_key.get(&normalize_key(version)))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::super::{diff, testing::summary};
    use super::*;

    const V9: &str = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true

importers:

  .:
    devDependencies:
      typescript:
        specifier: ^5.4.0
        version: 5.4.5

  packages/api:
    dependencies:
      lib:
        specifier: workspace:*
        version: link:../lib
      express:
        specifier: ^4.19.0
        version: 4.19.2

  packages/lib:
    dependencies:
      lodash:
        specifier: ^4.17.0
        version: 4.17.21

packages:

  express@4.19.2:
    resolution: {integrity: sha512-e}

  lodash@4.17.21:
    resolution: {integrity: sha512-l}

  qs@6.11.0:
    resolution: {integrity: sha512-q}

  typescript@5.4.5:
    resolution: {integrity: sha512-t}

snapshots:

  express@4.19.2:
    dependencies:
      qs: 6.11.0

  lodash@4.17.21: {}

  qs@6.11.0: {}

  typescript@5.4.5: {}
"#;

    fn members() -> BTreeMap<String, String> {
        [("packages/api", "api"), ("packages/lib", "lib")]
            .into_iter()
            .map(|(d, n)| (d.to_owned(), n.to_owned()))
            .collect()
    }

    fn run(base: &str, head: &str) -> (Vec<String>, Vec<String>) {
        summary(&diff(
            &parse("pnpm-lock.yaml", base, &members()).unwrap(),
            &parse("pnpm-lock.yaml", head, &members()).unwrap(),
        ))
    }

    #[test]
    fn a_transitive_bump_affects_its_importer() {
        let head = V9
            .replace("qs@6.11.0", "qs@6.12.1")
            .replace("qs: 6.11.0", "qs: 6.12.1")
            .replace("sha512-q", "sha512-q2");
        assert_eq!(
            run(V9, &head),
            (
                vec!["api".to_owned()],
                vec!["qs 6.11.0 → 6.12.1".to_owned()]
            )
        );
        let head = V9
            .replace("4.17.21", "4.17.22")
            .replace("sha512-l", "sha512-l2");
        assert_eq!(run(V9, &head).0, ["lib"]);
    }

    #[test]
    fn lockfile_6_keys_read_the_same() {
        let v6 = "lockfileVersion: '6.0'\nimporters:\n  packages/lib:\n    dependencies:\n      lodash:\n        specifier: ^4\n        version: 4.17.21\npackages:\n  /lodash@4.17.21:\n    resolution: {integrity: sha512-l}\n    dev: false\n";
        let head = v6.replace("4.17.21", "4.17.22");
        assert_eq!(run(v6, &head).0, ["lib"]);
    }

    #[test]
    fn keys_split_at_the_version() {
        assert_eq!(
            split_key("/@babel/core@7.24.0(supports-color@8)"),
            Some(("@babel/core".into(), "7.24.0(supports-color@8)".into()))
        );
        assert_eq!(
            split_key("/@types/node/20.1.0"),
            Some(("@types/node".into(), "20.1.0".into()))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse("pnpm-lock.yaml", &text, &members());
        }

        #[test]
        fn never_panics_on_edited_locks(cut in 0usize..900, insert in "[{}\\[\\]:, a-z0-9/@'\\n-]{0,12}") {
            let mut text = V9.to_owned();
            let at = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.insert_str(at, &insert);
            let _ = parse("pnpm-lock.yaml", &text, &members());
        }
    }
}

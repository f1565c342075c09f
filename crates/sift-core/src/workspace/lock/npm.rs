//! `package-lock.json` (lockfileVersion 2 and 3): the `packages` map from
//! install locations (`node_modules/a`, `packages/web`,
//! `node_modules/a/node_modules/b`) to entries. Workspace packages are the
//! locations that `link` entries point to; dependencies resolve the way
//! Node does, from the nearest `node_modules` up.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::{LockGraph, Node};
use crate::workspace::ParseError;

#[derive(Deserialize)]
struct Lock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<u32>,
    #[serde(default)]
    packages: BTreeMap<String, Entry>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    integrity: Option<String>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, serde_json::Value>,
}

/// The package name installed at a `node_modules` location.
fn installed_name(location: &str) -> Option<&str> {
    let (_, name) = location.rsplit_once("node_modules/")?;
    Some(name)
}

/// `members`: workspace package directory (relative to the lockfile's
/// directory) → name; the root (`""`) is a member only when listed.
pub fn parse(
    path: &str,
    text: &str,
    members: &BTreeMap<String, String>,
) -> Result<LockGraph, ParseError> {
    let lock: Lock = serde_json::from_str(text).map_err(|e| ParseError::json(path, &e))?;
    match lock.lockfile_version {
        Some(2 | 3) => {}
        Some(other) => {
            return Err(ParseError::line(
                path,
                1,
                1,
                format!(
                    "lockfileVersion {other} is not supported (npm 7 and later write version 2 or 3)"
                ),
            ));
        }
        None => return Err(ParseError::line(path, 1, 1, "no lockfileVersion")),
    }
    let mut graph = LockGraph::default();
    let mut index = FxHashMap::default();
    let mut ids: FxHashMap<&str, usize> = FxHashMap::default();
    for (location, entry) in &lock.packages {
        if entry.link {
            continue;
        }
        let member = members.get(location.as_str()).cloned();
        let is_root = location.is_empty() && member.is_none();
        let name = match (&entry.name, installed_name(location)) {
            (_, Some(installed)) if !location.is_empty() && location.contains("node_modules/") => {
                installed.to_owned()
            }
            (Some(name), _) => name.clone(),
            _ => location.clone(),
        };
        let id = graph.add(
            &mut index,
            Node {
                name,
                version: entry.version.clone().unwrap_or_default(),
                source: if member.is_some() || !location.contains("node_modules/") {
                    "workspace".to_owned()
                } else {
                    "registry".to_owned()
                },
                digest: entry
                    .integrity
                    .clone()
                    .or_else(|| entry.resolved.clone())
                    .unwrap_or_default(),
                deps: Vec::new(),
                member,
                root: is_root,
            },
        );
        ids.insert(location.as_str(), id);
    }
    // Links: node_modules/web → packages/web.
    for (location, entry) in &lock.packages {
        if entry.link
            && let Some(target) = entry.resolved.as_deref().and_then(|t| ids.get(t).copied())
        {
            ids.insert(location.as_str(), target);
        }
    }
    for (location, entry) in &lock.packages {
        if entry.link {
            continue;
        }
        let from = ids[location.as_str()];
        let optional: Vec<&String> = entry.optional_dependencies.keys().collect();
        let declared = entry
            .dependencies
            .keys()
            .chain(entry.dev_dependencies.keys())
            .chain(entry.peer_dependencies.keys())
            .chain(entry.optional_dependencies.keys());
        let mut deps = Vec::new();
        for dep in declared {
            match resolve(location, dep, &ids) {
                Some(id) => deps.push(id),
                // Optional and peer dependencies may be absent by design;
                // devDependencies of installed packages are never installed.
                None if optional.contains(&dep)
                    || entry.peer_dependencies.contains_key(dep)
                    || location.contains("node_modules/") => {}
                None => {
                    let who = graph.nodes[from]
                        .member
                        .clone()
                        .unwrap_or_else(|| graph.nodes[from].name.clone());
                    graph.unresolved.push((who, dep.clone()));
                }
            }
        }
        deps.sort_unstable();
        deps.dedup();
        graph.nodes[from].deps.extend(deps);
    }
    Ok(graph)
}

/// Node's lookup: `<location>/node_modules/<dep>`, then each ancestor's.
fn resolve(location: &str, dep: &str, ids: &FxHashMap<&str, usize>) -> Option<usize> {
    let mut dir = location;
    loop {
        let candidate = if dir.is_empty() {
            format!("node_modules/{dep}")
        } else {
            format!("{dir}/node_modules/{dep}")
        };
        if let Some(&id) = ids.get(candidate.as_str()) {
            return Some(id);
        }
        if dir.is_empty() {
            return None;
        }
        dir = dir.rsplit_once('/').map_or("", |(up, _)| up);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{diff, testing::summary};
    use super::*;

    pub(crate) const BASE: &str = r#"{
  "name": "shop",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": { "name": "shop", "workspaces": ["packages/*"], "devDependencies": { "prettier": "^3.0.0" } },
    "node_modules/prettier": { "version": "3.0.0", "integrity": "sha512-p" },
    "node_modules/web": { "resolved": "packages/web", "link": true },
    "node_modules/lib": { "resolved": "packages/lib", "link": true },
    "node_modules/leftpad": { "version": "1.0.0", "integrity": "sha512-l1" },
    "node_modules/wrap": { "version": "2.0.0", "integrity": "sha512-w", "dependencies": { "leftpad": "^1.0.0" } },
    "packages/lib": { "name": "lib", "version": "1.0.0", "dependencies": { "wrap": "^2.0.0" } },
    "packages/web": { "name": "web", "version": "1.0.0", "dependencies": { "lib": "^1.0.0", "leftpad": "^2.0.0" } },
    "packages/web/node_modules/leftpad": { "version": "2.0.0", "integrity": "sha512-l2" }
  }
}"#;

    fn members() -> BTreeMap<String, String> {
        [("packages/web", "web"), ("packages/lib", "lib")]
            .into_iter()
            .map(|(d, n)| (d.to_owned(), n.to_owned()))
            .collect()
    }

    fn run(head: &str) -> (Vec<String>, Vec<String>) {
        let base = parse("package-lock.json", BASE, &members()).unwrap();
        let head = parse("package-lock.json", head, &members()).unwrap();
        summary(&diff(&base, &head))
    }

    #[test]
    fn nested_installs_resolve_nearest_first() {
        // web's own leftpad 2 is nested; lib reaches leftpad 1 through wrap.
        let head = BASE.replace(
            "\"version\": \"1.0.0\", \"integrity\": \"sha512-l1\"",
            "\"version\": \"1.0.1\", \"integrity\": \"sha512-l1b\"",
        );
        assert_eq!(
            run(&head),
            (
                vec!["lib".to_owned()],
                vec!["leftpad 1.0.0 → 1.0.1".to_owned()]
            )
        );
        let head = BASE.replace(
            "\"version\": \"2.0.0\", \"integrity\": \"sha512-l2\"",
            "\"version\": \"2.0.1\", \"integrity\": \"sha512-l2b\"",
        );
        assert_eq!(run(&head).0, ["web"]);
    }

    #[test]
    fn a_root_only_tool_is_unattributed() {
        let head = BASE.replace(
            "\"version\": \"3.0.0\", \"integrity\": \"sha512-p\"",
            "\"version\": \"3.1.0\", \"integrity\": \"sha512-q\"",
        );
        let base = parse("package-lock.json", BASE, &members()).unwrap();
        let d = diff(
            &base,
            &parse("package-lock.json", &head, &members()).unwrap(),
        );
        assert!(d.affected.is_empty());
        assert_eq!(d.unattributed, ["prettier"]);
    }

    #[test]
    fn old_lockfiles_are_refused_with_the_reason() {
        let e = parse(
            "package-lock.json",
            r#"{"lockfileVersion": 1, "dependencies": {}}"#,
            &members(),
        )
        .unwrap_err();
        assert!(e.message.contains("lockfileVersion 1"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse("package-lock.json", &text, &members());
        }

        #[test]
        fn never_panics_on_edited_locks(cut in 0usize..1200, insert in "[{}\\[\\]\":, a-z0-9/]{0,12}") {
            let mut text = BASE.to_owned();
            let at = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.insert_str(at, &insert);
            let _ = parse("package-lock.json", &text, &members());
        }
    }
}

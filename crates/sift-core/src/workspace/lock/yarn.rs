//! `yarn.lock`, both formats:
//! - Yarn 1 ("classic") writes its own format, which is not YAML: entries
//!   keyed by comma-separated descriptors (`lodash@^4.17.0, lodash@^4.17.21:`),
//!   indented `key value` lines and `dependencies:` blocks. Workspace
//!   packages are not in it: their declared dependencies (from their
//!   `package.json`) are looked up by descriptor.
//! - Yarn 2+ ("berry") writes YAML with a `__metadata` entry; workspace
//!   packages appear as `name@workspace:dir` entries.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::{LockGraph, Node};
use crate::workspace::yaml::{self, Yaml};
use crate::workspace::{ParseError, normalize_join};

/// Whether a `yarn.lock` is Yarn 2+ (YAML).
pub fn is_berry(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("__metadata:"))
}

/// An open block: its indentation (`usize::MAX` until its first line), entries and key.
type Block = (usize, Vec<(String, Yaml)>, Option<String>);

/// Yarn 1's format as a tree of the same shape as YAML's.
pub fn parse_v1(path: &str, text: &str) -> Result<Yaml, ParseError> {
    // (indent, entries) of open blocks.
    let mut stack: Vec<Block> = vec![(0, Vec::new(), None)];
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_end();
        let content = trimmed.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = trimmed.len() - content.len();
        if line[..indent].contains('\t') {
            return Err(ParseError::line(
                path,
                number,
                1,
                "tabs are not allowed for indentation",
            ));
        }
        // A block just opened takes this line's indentation if it is deeper;
        // blocks deeper than this line are closed.
        loop {
            let len = stack.len();
            let top = stack[len - 1].0;
            if top == usize::MAX && indent > stack[len - 2].0 {
                stack[len - 1].0 = indent;
                break;
            }
            if len > 1 && indent < top {
                let (_, entries, key) = stack.pop().expect("more than one open block");
                let parent = stack.last_mut().expect("the root block stays");
                parent.1.push((key.unwrap_or_default(), Yaml::Map(entries)));
                continue;
            }
            break;
        }
        let expected = stack.last().map_or(0, |b| b.0);
        if indent != expected {
            return Err(ParseError::line(
                path,
                number,
                indent + 1,
                "unexpected indentation",
            ));
        }
        if let Some(key) = content.strip_suffix(':') {
            let key =
                unquote_list(key).map_err(|m| ParseError::line(path, number, indent + 1, m))?;
            // The block's entries are indented further; the next line says how far.
            stack.push((usize::MAX, Vec::new(), Some(key)));
            continue;
        }
        let (key, value) =
            split_pair(content).map_err(|m| ParseError::line(path, number, indent + 1, m))?;
        let block = stack.last_mut().expect("the root block stays");
        block.1.push((key, Yaml::Scalar(value)));
    }
    while stack.len() > 1 {
        let (_, entries, key) = stack.pop().expect("more than one open block");
        stack
            .last_mut()
            .expect("root")
            .1
            .push((key.unwrap_or_default(), Yaml::Map(entries)));
    }
    Ok(Yaml::Map(stack.pop().map(|b| b.1).unwrap_or_default()))
}

/// `"a@1", b@2` → `a@1, b@2` (keys keep their list form; split later).
fn unquote_list(key: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for part in key.split(", ") {
        parts.push(unquote(part.trim())?);
    }
    Ok(parts.join(", "))
}

fn unquote(text: &str) -> Result<String, String> {
    if let Some(inner) = text.strip_prefix('"') {
        let inner = inner.strip_suffix('"').ok_or("unterminated string")?;
        Ok(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
    } else {
        Ok(text.to_owned())
    }
}

fn split_pair(content: &str) -> Result<(String, String), String> {
    let (key, rest) = if let Some(inner) = content.strip_prefix('"') {
        let end = inner.find('"').ok_or("unterminated string")?;
        (inner[..end].to_owned(), inner[end + 1..].trim_start())
    } else {
        match content.split_once(' ') {
            Some((k, v)) => (k.to_owned(), v.trim_start()),
            None => return Err(format!("`{content}` has no value")),
        }
    };
    Ok((key, unquote(rest)?))
}

/// A workspace package as Yarn 1 needs it: its declared dependencies.
pub struct V1Member {
    pub name: String,
    /// (dependency, range) from its `package.json`.
    pub deps: Vec<(String, String)>,
}

/// Yarn 1: the graph from the lockfile and the members' declarations.
pub fn parse_v1_graph(
    path: &str,
    text: &str,
    members: &[V1Member],
) -> Result<LockGraph, ParseError> {
    let tree = parse_v1(path, text)?;
    let mut graph = LockGraph::default();
    let mut index = FxHashMap::default();
    let mut by_descriptor: FxHashMap<String, usize> = FxHashMap::default();
    let mut entries = Vec::new();
    for (key, entry) in tree.entries() {
        let Some(version) = entry.get("version").and_then(Yaml::as_str) else {
            return Err(ParseError::line(
                path,
                1,
                1,
                format!("`{key}` has no version"),
            ));
        };
        let name = descriptor_name(key.split(", ").next().unwrap_or(key)).to_owned();
        let digest = entry
            .get("integrity")
            .or_else(|| entry.get("resolved"))
            .and_then(Yaml::as_str)
            .unwrap_or_default();
        let id = graph.add(
            &mut index,
            Node {
                name,
                version: version.to_owned(),
                source: "registry".into(),
                digest: digest.to_owned(),
                deps: Vec::new(),
                member: None,
                root: false,
            },
        );
        for descriptor in key.split(", ") {
            by_descriptor.insert(descriptor.to_owned(), id);
        }
        entries.push((id, entry));
    }
    let member_ids: FxHashMap<&str, usize> = members
        .iter()
        .map(|m| {
            let id = graph.add(
                &mut index,
                Node {
                    name: m.name.clone(),
                    version: String::new(),
                    source: "workspace".into(),
                    digest: String::new(),
                    deps: Vec::new(),
                    member: Some(m.name.clone()),
                    root: false,
                },
            );
            (m.name.as_str(), id)
        })
        .collect();
    for (id, entry) in entries {
        for section in ["dependencies", "optionalDependencies"] {
            for (dep, range) in entry.get(section).map(Yaml::entries).unwrap_or_default() {
                let range = range.as_str().unwrap_or_default();
                match by_descriptor.get(&format!("{dep}@{range}")) {
                    Some(&target) => graph.nodes[id].deps.push(target),
                    None if section == "optionalDependencies" => {}
                    None => {
                        return Err(ParseError::line(
                            path,
                            1,
                            1,
                            format!("`{dep}@{range}` is a dependency the lockfile does not list"),
                        ));
                    }
                }
            }
        }
    }
    for member in members {
        let id = member_ids[member.name.as_str()];
        for (dep, range) in &member.deps {
            if let Some(&target) = member_ids.get(dep.as_str()) {
                graph.nodes[id].deps.push(target);
            } else if let Some(&target) = by_descriptor.get(&format!("{dep}@{range}")) {
                graph.nodes[id].deps.push(target);
            } else {
                graph
                    .unresolved
                    .push((member.name.clone(), format!("{dep}@{range}")));
            }
        }
    }
    Ok(graph)
}

/// `@scope/name@range` → `@scope/name`.
fn descriptor_name(descriptor: &str) -> &str {
    match descriptor.char_indices().skip(1).find(|(_, c)| *c == '@') {
        Some((at, _)) => &descriptor[..at],
        None => descriptor,
    }
}

/// Yarn 2+: `members` maps workspace directories (relative to the lockfile's) to names.
pub fn parse_berry(
    path: &str,
    text: &str,
    members: &BTreeMap<String, String>,
) -> Result<LockGraph, ParseError> {
    let doc = yaml::parse(path, text)?;
    let mut graph = LockGraph::default();
    let mut index = FxHashMap::default();
    let mut by_descriptor: FxHashMap<String, usize> = FxHashMap::default();
    let mut entries = Vec::new();
    for (key, entry) in doc.entries() {
        if key == "__metadata" {
            continue;
        }
        let resolution = entry
            .get("resolution")
            .and_then(Yaml::as_str)
            .unwrap_or(key.as_str());
        let name = descriptor_name(resolution).to_owned();
        let reference = resolution.get(name.len() + 1..).unwrap_or_default();
        let (member, root) = match reference.strip_prefix("workspace:") {
            Some(dir) => {
                let dir = normalize_join("", dir).unwrap_or_default();
                match members.get(&dir) {
                    Some(member) => (Some(member.clone()), false),
                    None if dir.is_empty() => (None, true),
                    None => (Some(name.clone()), false),
                }
            }
            None => (None, false),
        };
        let version = entry
            .get("version")
            .and_then(Yaml::as_str)
            .unwrap_or_default()
            .to_owned();
        let digest = entry
            .get("checksum")
            .and_then(Yaml::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = graph.add(
            &mut index,
            Node {
                name,
                version,
                source: reference.split(':').next().unwrap_or_default().to_owned(),
                digest,
                deps: Vec::new(),
                member,
                root,
            },
        );
        for descriptor in key.split(", ") {
            by_descriptor.insert(descriptor.trim().to_owned(), id);
        }
        entries.push((id, entry));
    }
    for (id, entry) in entries {
        for section in ["dependencies", "optionalDependencies"] {
            for (dep, range) in entry.get(section).map(Yaml::entries).unwrap_or_default() {
                let range = range.as_str().unwrap_or_default();
                let target = by_descriptor
                    .get(&format!("{dep}@{range}"))
                    .or_else(|| by_descriptor.get(&format!("{dep}@npm:{range}")));
                match target {
                    Some(&target) => graph.nodes[id].deps.push(target),
                    None if section == "optionalDependencies" => {}
                    None => {
                        let who = graph.nodes[id].name.clone();
                        graph.unresolved.push((who, format!("{dep}@{range}")));
                    }
                }
            }
        }
    }
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::super::{diff, testing::summary};
    use super::*;

    const V1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@types/node@^20.0.0":
  version "20.1.0"
  resolved "https://registry.yarnpkg.com/@types/node/-/node-20.1.0.tgz#abc"
  integrity sha512-n

chalk@^4.0.0, chalk@^4.1.2:
  version "4.1.2"
  resolved "https://registry.yarnpkg.com/chalk/-/chalk-4.1.2.tgz#def"
  integrity sha512-c
  dependencies:
    supports-color "^7.1.0"

supports-color@^7.1.0:
  version "7.2.0"
  integrity sha512-s
"#;

    fn v1_members() -> Vec<V1Member> {
        vec![
            V1Member {
                name: "cli".into(),
                deps: vec![
                    ("chalk".into(), "^4.1.2".into()),
                    ("core".into(), "1.0.0".into()),
                ],
            },
            V1Member {
                name: "core".into(),
                deps: vec![("@types/node".into(), "^20.0.0".into())],
            },
        ]
    }

    #[test]
    fn yarn_1_reads_its_own_format() {
        let tree = parse_v1("yarn.lock", V1).unwrap();
        let chalk = tree.get("chalk@^4.0.0, chalk@^4.1.2").unwrap();
        assert_eq!(chalk.get("version").and_then(Yaml::as_str), Some("4.1.2"));
        assert_eq!(
            chalk
                .get("dependencies")
                .unwrap()
                .get("supports-color")
                .and_then(Yaml::as_str),
            Some("^7.1.0")
        );
        assert_eq!(
            tree.get("@types/node@^20.0.0")
                .unwrap()
                .get("version")
                .and_then(Yaml::as_str),
            Some("20.1.0")
        );
    }

    #[test]
    fn yarn_1_attributes_through_declared_dependencies() {
        let head = V1
            .replace("7.2.0", "7.3.0")
            .replace("sha512-s", "sha512-s2");
        let base = parse_v1_graph("yarn.lock", V1, &v1_members()).unwrap();
        let head = parse_v1_graph("yarn.lock", &head, &v1_members()).unwrap();
        let d = diff(&base, &head);
        assert_eq!(
            summary(&d),
            (
                vec!["cli".to_owned()],
                vec!["supports-color 7.2.0 → 7.3.0".to_owned()]
            )
        );
        assert_eq!(d.affected["cli"][0].through, ["chalk"]);
    }

    #[test]
    fn yarn_1_errors_name_the_line() {
        let e = parse_v1("yarn.lock", "a@1:\n  version \"1\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse_v1("yarn.lock", "a@1:\n  version \"1\"\n     x y\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
    }

    const BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.

__metadata:
  version: 8
  cacheKey: 10c0

"chalk@npm:^4.1.2":
  version: 4.1.2
  resolution: "chalk@npm:4.1.2"
  dependencies:
    supports-color: "npm:^7.1.0"
  checksum: 10c0/aaa
  languageName: node
  linkType: hard

"cli@workspace:packages/cli":
  version: 0.0.0-use.local
  resolution: "cli@workspace:packages/cli"
  dependencies:
    chalk: "npm:^4.1.2"
    core: "workspace:*"
  languageName: unknown
  linkType: soft

"core@workspace:*, core@workspace:packages/core":
  version: 0.0.0-use.local
  resolution: "core@workspace:packages/core"
  languageName: unknown
  linkType: soft

"shop@workspace:.":
  version: 0.0.0-use.local
  resolution: "shop@workspace:."
  languageName: unknown
  linkType: soft

"supports-color@npm:^7.1.0":
  version: 7.2.0
  resolution: "supports-color@npm:7.2.0"
  checksum: 10c0/bbb
  languageName: node
  linkType: hard
"#;

    #[test]
    fn berry_attributes_through_its_graph() {
        let members: BTreeMap<String, String> =
            [("packages/cli", "cli"), ("packages/core", "core")]
                .into_iter()
                .map(|(d, n)| (d.to_owned(), n.to_owned()))
                .collect();
        assert!(is_berry(BERRY) && !is_berry(V1));
        let head = BERRY
            .replace("7.2.0", "7.3.0")
            .replace("10c0/bbb", "10c0/ccc");
        let d = diff(
            &parse_berry("yarn.lock", BERRY, &members).unwrap(),
            &parse_berry("yarn.lock", &head, &members).unwrap(),
        );
        assert_eq!(
            summary(&d),
            (
                vec!["cli".to_owned()],
                vec!["supports-color 7.2.0 → 7.3.0".to_owned()]
            )
        );
        assert!(d.unresolved.is_empty(), "{:?}", d.unresolved);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse_v1("yarn.lock", &text);
            let _ = parse_v1_graph("yarn.lock", &text, &v1_members());
            let _ = parse_berry("yarn.lock", &text, &BTreeMap::new());
        }

        #[test]
        fn never_panics_on_edited_locks(cut in 0usize..600, insert in "[\" :,@^a-z0-9\\n]{0,10}") {
            let mut text = V1.to_owned();
            let at = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.insert_str(at, &insert);
            let _ = parse_v1_graph("yarn.lock", &text, &v1_members());
        }
    }
}

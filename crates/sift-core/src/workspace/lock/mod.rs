//! Lockfiles as one model: a graph of resolved packages, some of which are
//! the workspace's own packages, and the diff of two versions of it.
//!
//! A workspace package is affected by a lockfile change when its resolved
//! dependency set changed: when it reaches, through the graph of either
//! version, a resolved package that is new, gone, or different (another
//! checksum or other dependencies). Reaching is computed backwards from the
//! changed packages, so the cost follows the lockfile, once, not the number
//! of workspace packages times its size.

pub mod cargo;
pub mod npm;
pub mod pnpm;
pub mod uv;
pub mod yarn;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rustc_hash::FxHashMap;

/// One resolved package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub version: String,
    /// Where it comes from (registry, git, path); part of its identity.
    pub source: String,
    /// Its checksum or integrity: a change with the same version still counts.
    pub digest: String,
    pub deps: Vec<usize>,
    /// `Some` for a workspace package: its name.
    pub member: Option<String>,
    /// The workspace root that is not itself a package (a private npm root):
    /// what only it reaches is attributed to no package.
    pub root: bool,
}

/// A lockfile's resolved graph.
#[derive(Clone, Debug, Default)]
pub struct LockGraph {
    pub nodes: Vec<Node>,
    /// Dependencies a workspace package declares that the lockfile does not
    /// resolve (an out-of-date lockfile): (member, dependency).
    pub unresolved: Vec<(String, String)>,
}

impl LockGraph {
    /// Adds a node, or returns the one with the same identity.
    pub fn add(&mut self, index: &mut FxHashMap<String, usize>, node: Node) -> usize {
        let key = match &node.member {
            Some(member) => format!("member\0{member}"),
            None if node.root => "root\0".to_owned(),
            None => format!("{}\0{}\0{}", node.name, node.version, node.source),
        };
        *index.entry(key).or_insert_with(|| {
            self.nodes.push(node);
            self.nodes.len() - 1
        })
    }

    fn key(&self, id: usize) -> String {
        let n = &self.nodes[id];
        match &n.member {
            Some(member) => format!("member\0{member}"),
            None if n.root => "root\0".to_owned(),
            None => format!("{}\0{}\0{}", n.name, n.version, n.source),
        }
    }

    /// Every node's identity, computed once per diff.
    fn keys(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|id| self.key(id)).collect()
    }

    /// Identity → (digest, sorted dependency identities), merged over
    /// duplicates (npm lists one version at several places).
    fn signatures<'k>(
        &self,
        keys: &'k [String],
    ) -> BTreeMap<&'k str, (BTreeSet<&str>, BTreeSet<&'k str>)> {
        let mut out: BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
        for (id, node) in self.nodes.iter().enumerate() {
            let entry = out.entry(keys[id].as_str()).or_default();
            entry.0.insert(node.digest.as_str());
            // A workspace package's identity is its name: its version (a
            // release bump) is part of what changed.
            entry.0.insert(node.version.as_str());
            entry.1.extend(node.deps.iter().map(|&d| keys[d].as_str()));
        }
        out
    }

    /// Who depends on each node.
    fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.nodes.len()];
        for (id, node) in self.nodes.iter().enumerate() {
            for &dep in &node.deps {
                if dep != id {
                    out[dep].push(id);
                }
            }
        }
        out
    }
}

/// One changed external package, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepChange {
    pub name: String,
    /// Versions before and after (sorted); equal when only its checksum or
    /// its dependencies changed.
    pub before: Vec<String>,
    pub after: Vec<String>,
}

impl DepChange {
    /// `serde 1.0.219 → 1.0.228`, `serde 1.0.228 (added)`, ...
    pub fn describe(&self) -> String {
        let list = |v: &[String]| v.join(", ");
        match (self.before.is_empty(), self.after.is_empty()) {
            (true, _) => format!("{} {} (added)", self.name, list(&self.after)),
            (_, true) => format!("{} {} (removed)", self.name, list(&self.before)),
            _ if self.before == self.after => {
                format!(
                    "{} {} (checksum or dependencies changed)",
                    self.name,
                    list(&self.after)
                )
            }
            _ => format!(
                "{} {} → {}",
                self.name,
                list(&self.before),
                list(&self.after)
            ),
        }
    }
}

/// Why one workspace package is affected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    /// Index into [`LockDiff::changes`]; `None` when the package's own
    /// entry changed (its declared dependencies).
    pub change: Option<usize>,
    /// The packages between it and the change, nearest first (empty: a
    /// direct dependency).
    pub through: Vec<String>,
}

/// The difference between two versions of a lockfile.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockDiff {
    pub changes: Vec<DepChange>,
    /// Affected workspace packages (sorted), with up to three reasons each.
    pub affected: BTreeMap<String, Vec<Reach>>,
    /// Changed packages no workspace package reaches (only the workspace
    /// root, or nothing): sift cannot say whom they affect.
    pub unattributed: Vec<String>,
    /// Declared dependencies a version of the lockfile does not resolve.
    pub unresolved: Vec<(String, String)>,
}

const REASONS_PER_PACKAGE: usize = 3;

/// Diffs two versions of one lockfile's graph.
pub fn diff(base: &LockGraph, head: &LockGraph) -> LockDiff {
    let (keys_base, keys_head) = (base.keys(), head.keys());
    let (sig_base, sig_head) = (base.signatures(&keys_base), head.signatures(&keys_head));
    let differs: BTreeSet<&str> = sig_base
        .iter()
        .filter(|(k, v)| sig_head.get(*k) != Some(*v))
        .map(|(k, _)| *k)
        .chain(
            sig_head
                .iter()
                .filter(|(k, v)| sig_base.get(*k) != Some(*v))
                .map(|(k, _)| *k),
        )
        .collect();
    // A package whose entry differs only because a dependency's version
    // changed (that dependency is itself new or gone) is not a change of
    // its own: the dependency's change reaches its users already. One that
    // switched to another, unchanged, version of a dependency is.
    let changed_keys: BTreeSet<&str> = differs
        .iter()
        .copied()
        .filter(|key| match (sig_base.get(*key), sig_head.get(*key)) {
            (Some((digest_b, deps_b)), Some((digest_h, deps_h))) => {
                digest_b != digest_h
                    || deps_b
                        .symmetric_difference(deps_h)
                        .any(|dep| sig_base.contains_key(dep) && sig_head.contains_key(dep))
            }
            _ => true,
        })
        .collect();

    // Changes by name, with the versions on each side.
    let mut by_name: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut member_changed: BTreeSet<String> = BTreeSet::new();
    for (graph, keys, after) in [(base, &keys_base, false), (head, &keys_head, true)] {
        for (id, node) in graph.nodes.iter().enumerate() {
            if !changed_keys.contains(keys[id].as_str()) {
                continue;
            }
            if let Some(member) = &node.member {
                member_changed.insert(member.clone());
                continue;
            }
            if node.root {
                continue;
            }
            let entry = by_name.entry(node.name.clone()).or_default();
            if after { &mut entry.1 } else { &mut entry.0 }.insert(node.version.clone());
        }
    }
    let changes: Vec<DepChange> = by_name
        .into_iter()
        .map(|(name, (before, after))| DepChange {
            name,
            before: before.into_iter().collect(),
            after: after.into_iter().collect(),
        })
        .collect();
    let change_of: FxHashMap<&str, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();

    let mut affected: BTreeMap<String, Vec<Reach>> = BTreeMap::new();
    for member in &member_changed {
        affected.entry(member.clone()).or_default().push(Reach {
            change: None,
            through: Vec::new(),
        });
    }
    let mut attributed: BTreeSet<String> = BTreeSet::new();
    for (graph, keys) in [(head, &keys_head), (base, &keys_base)] {
        let dependents = graph.dependents();
        for (id, node) in graph.nodes.iter().enumerate() {
            if node.member.is_some() || node.root || !changed_keys.contains(keys[id].as_str()) {
                continue;
            }
            let change = change_of.get(node.name.as_str()).copied();
            // Breadth-first towards dependents: the nearest chain to each member.
            let mut previous: FxHashMap<usize, usize> = FxHashMap::default();
            let mut queue = VecDeque::from([id]);
            previous.insert(id, id);
            while let Some(current) = queue.pop_front() {
                let current_node = &graph.nodes[current];
                if let Some(member) = &current_node.member {
                    attributed.insert(node.name.clone());
                    let mut through = Vec::new();
                    let mut step = previous[&current];
                    while step != id {
                        through.push(graph.nodes[step].name.clone());
                        step = previous[&step];
                    }
                    let reasons = affected.entry(member.clone()).or_default();
                    let reach = Reach { change, through };
                    if reasons.len() < REASONS_PER_PACKAGE && !reasons.contains(&reach) {
                        reasons.push(reach);
                    }
                    // A member's own dependents are reached through the
                    // tasks, not through the lockfile.
                    continue;
                }
                for &next in &dependents[current] {
                    if let std::collections::hash_map::Entry::Vacant(slot) = previous.entry(next) {
                        slot.insert(current);
                        queue.push_back(next);
                    }
                }
            }
        }
    }
    let unattributed = changes
        .iter()
        .filter(|c| !attributed.contains(&c.name))
        .map(|c| c.name.clone())
        .collect();
    let mut unresolved: Vec<(String, String)> = base
        .unresolved
        .iter()
        .chain(&head.unresolved)
        .cloned()
        .collect();
    unresolved.sort();
    unresolved.dedup();
    LockDiff {
        changes,
        affected,
        unattributed,
        unresolved,
    }
}

/// Test helpers shared by the format modules.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The affected members of a diff, and its one-line changes.
    pub fn summary(d: &LockDiff) -> (Vec<String>, Vec<String>) {
        (
            d.affected.keys().cloned().collect(),
            d.changes.iter().map(DepChange::describe).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(spec: &[(&str, &str, &[usize], bool)]) -> LockGraph {
        let mut g = LockGraph::default();
        let mut index = FxHashMap::default();
        for (name, version, _, member) in spec {
            g.add(
                &mut index,
                Node {
                    name: (*name).to_owned(),
                    version: (*version).to_owned(),
                    source: "registry".into(),
                    digest: String::new(),
                    deps: Vec::new(),
                    member: member.then(|| (*name).to_owned()),
                    root: false,
                },
            );
        }
        for (i, (_, _, deps, _)) in spec.iter().enumerate() {
            g.nodes[i].deps = deps.to_vec();
        }
        g
    }

    #[test]
    fn a_bump_reaches_the_members_that_use_it_with_the_chain() {
        // core -> tokio -> serde; cli -> core; tool -> (nothing)
        let base = graph(&[
            ("core", "0.1.0", &[2], true),
            ("tool", "0.1.0", &[], true),
            ("tokio", "1.0.0", &[3], false),
            ("serde", "1.0.219", &[], false),
            ("cli", "0.1.0", &[0], true),
        ]);
        let mut head = base.clone();
        head.nodes[3].version = "1.0.228".into();
        let d = diff(&base, &head);
        assert_eq!(d.changes[0].describe(), "serde 1.0.219 → 1.0.228");
        assert_eq!(d.affected.keys().collect::<Vec<_>>(), ["core"]);
        assert_eq!(d.affected["core"][0].through, ["tokio"]);
        assert!(d.unattributed.is_empty());
    }

    #[test]
    fn identical_graphs_affect_nothing() {
        let g = graph(&[("a", "1", &[1], true), ("x", "2", &[], false)]);
        assert_eq!(diff(&g, &g), LockDiff::default());
    }

    #[test]
    fn a_removed_dependency_affects_its_former_users() {
        let base = graph(&[
            ("a", "1", &[1], true),
            ("x", "2", &[], false),
            ("b", "1", &[], true),
        ]);
        let head = graph(&[("a", "1", &[], true), ("b", "1", &[], true)]);
        let d = diff(&base, &head);
        assert_eq!(d.affected.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(d.changes[0].describe(), "x 2 (removed)");
    }

    #[test]
    fn a_workspace_package_version_bump_affects_it() {
        let base = graph(&[("a", "0.1.0", &[1], true), ("b", "1.0.0", &[], true)]);
        let mut head = base.clone();
        head.nodes[1].version = "1.1.0".into();
        let d = diff(&base, &head);
        assert_eq!(d.affected.keys().collect::<Vec<_>>(), ["b"]);
        assert!(d.changes.is_empty() && d.unattributed.is_empty());
    }

    #[test]
    fn changes_nobody_reaches_are_unattributed() {
        let base = graph(&[("a", "1", &[], true), ("x", "2", &[], false)]);
        let head = graph(&[("a", "1", &[], true), ("x", "3", &[], false)]);
        let d = diff(&base, &head);
        assert_eq!(d.unattributed, ["x"]);
        assert!(d.affected.is_empty());
    }
}

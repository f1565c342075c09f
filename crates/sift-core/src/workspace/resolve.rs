//! What the planner asks for a changed lockfile or root manifest matched by
//! a `lockfile = "..."` / `manifest = "..."` rule: which workspace packages
//! the change affects, and why; or, when sift cannot tell, that it affects
//! everything, with the reason.
//!
//! Both versions of the file come from [`Revisions`] (the base from git's
//! objects); the workspace layout (which packages exist, where) is read
//! from the checkout, like nested rule files.

use std::collections::{BTreeMap, BTreeSet};

use super::gomod::{GoMod, GoWork, go_sum};
use super::lock::{self, LockDiff, LockGraph, yarn::V1Member};
use super::{
    Ecosystem, Package, ParseError, Tree, Workspace, discover, join, normalize_join, parent,
};
use crate::select::rules::WorkspaceRule;

/// The two versions of changed files, and the checkout.
pub trait Revisions {
    /// The file before the change: `Ok(None)` when it did not exist, `Err`
    /// when it cannot be known (the reason, for humans).
    fn base(&self, path: &str) -> Result<Option<String>, String>;
    /// The file after the change.
    fn head(&self, path: &str) -> Result<Option<String>, String>;
    /// The checkout, for the workspace layout.
    fn checkout(&self) -> &dyn Tree;
}

/// A package a change affects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Affected {
    pub name: String,
    /// Its manifest: its components are what the rules give this path.
    pub manifest: String,
    /// Why, one line each: `serde 1.0.219 → 1.0.228 (through tokio)`.
    pub because: Vec<String>,
    /// The components the rules give its manifest (filled by the planner).
    pub components: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exactly these packages (possibly none).
    Packages {
        /// Every change found, one line each.
        changes: Vec<String>,
        packages: Vec<Affected>,
    },
    /// sift cannot attribute the change: every exclusive component.
    Everything(String),
}

/// What one changed file affects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribution {
    pub path: String,
    pub rule: WorkspaceRule,
    pub outcome: Outcome,
}

/// Attributes the change of `path` (matched by `rule`).
pub fn attribute(path: &str, rule: WorkspaceRule, revisions: &dyn Revisions) -> Attribution {
    let outcome = match rule {
        WorkspaceRule::Lockfile(Ecosystem::Go) | WorkspaceRule::Manifest(Ecosystem::Go) => {
            go(path, revisions)
        }
        WorkspaceRule::Lockfile(ecosystem) => lockfile(path, ecosystem, revisions),
        WorkspaceRule::Manifest(ecosystem) => {
            super::manifest::attribute(path, ecosystem, revisions)
        }
    }
    .unwrap_or_else(Outcome::Everything);
    Attribution {
        path: path.to_owned(),
        rule,
        outcome,
    }
}

/// Both versions of a file, or why not.
pub(crate) fn versions(path: &str, revisions: &dyn Revisions) -> Result<(String, String), String> {
    let base = revisions.base(path).map_err(|e| format!("{path}: {e}"))?;
    let head = revisions.head(path).map_err(|e| format!("{path}: {e}"))?;
    match (base, head) {
        (Some(base), Some(head)) => Ok((base, head)),
        (None, _) => Err(format!(
            "{path} was added, so every package's dependencies are new"
        )),
        (_, None) => Err(format!("{path} was deleted")),
    }
}

fn side_error(side: &str, error: &ParseError) -> String {
    format!("cannot read the {side} version of {error}")
}

/// The workspace whose root is `dir`, from the checkout.
pub(crate) fn layout(
    tree: &dyn Tree,
    dir: &str,
    ecosystem: Ecosystem,
) -> Result<Workspace, String> {
    let found = match ecosystem {
        Ecosystem::Cargo => {
            discover::cargo_from_manifests(tree, dir).map(|w| w.into_iter().collect())
        }
        _ => discover::discover(tree, dir),
    }
    .map_err(|e| format!("cannot read the workspace: {e}"))?;
    let wanted = |e: Ecosystem| match ecosystem {
        Ecosystem::Npm | Ecosystem::Pnpm | Ecosystem::Yarn => {
            matches!(e, Ecosystem::Npm | Ecosystem::Pnpm | Ecosystem::Yarn)
        }
        other => e == other,
    };
    found
        .into_iter()
        .find(|w| wanted(w.ecosystem))
        .ok_or_else(|| {
            format!(
                "no {} workspace at `{}`",
                ecosystem.title(),
                if dir.is_empty() { "." } else { dir }
            )
        })
}

/// Package directories relative to the workspace root → names.
fn members_by_dir(ws: &Workspace) -> BTreeMap<String, String> {
    ws.packages
        .iter()
        .map(|p| {
            let relative = if ws.root.is_empty() {
                p.dir.clone()
            } else {
                p.dir.strip_prefix(&format!("{}/", ws.root)).map_or_else(
                    || {
                        if p.dir == ws.root {
                            String::new()
                        } else {
                            p.dir.clone()
                        }
                    },
                    str::to_owned,
                )
            };
            (relative, p.name.clone())
        })
        .collect()
}

/// A lockfile's graph for one side.
pub(crate) fn lock_graph(
    path: &str,
    text: &str,
    ecosystem: Ecosystem,
    ws: &Workspace,
    manifests: &dyn Fn(&str) -> Option<String>,
) -> Result<LockGraph, ParseError> {
    match ecosystem {
        Ecosystem::Cargo => {
            let names: BTreeSet<String> = ws.packages.iter().map(|p| p.name.clone()).collect();
            lock::cargo::parse(path, text, &names)
        }
        Ecosystem::Npm => lock::npm::parse(path, text, &members_by_dir(ws)),
        Ecosystem::Pnpm => lock::pnpm::parse(path, text, &members_by_dir(ws)),
        Ecosystem::Uv => lock::uv::parse(path, text, &members_by_dir(ws)),
        Ecosystem::Yarn if lock::yarn::is_berry(text) => {
            lock::yarn::parse_berry(path, text, &members_by_dir(ws))
        }
        Ecosystem::Yarn => {
            let mut members = Vec::new();
            for package in &ws.packages {
                let Some(manifest) = manifests(&package.manifest) else {
                    continue;
                };
                let manifest: serde_json::Value = serde_json::from_str(&manifest)
                    .map_err(|e| ParseError::json(&package.manifest, &e))?;
                members.push(V1Member {
                    name: package.name.clone(),
                    deps: discover::package_json_deps(&manifest),
                });
            }
            lock::yarn::parse_v1_graph(path, text, &members)
        }
        Ecosystem::Go => Err(ParseError::line(path, 1, 1, "Go has no lockfile graph")),
    }
}

fn lockfile(
    path: &str,
    ecosystem: Ecosystem,
    revisions: &dyn Revisions,
) -> Result<Outcome, String> {
    let (base, head) = versions(path, revisions)?;
    let ws = layout(revisions.checkout(), parent(path), ecosystem)?;
    let base_manifest = |p: &str| revisions.base(p).ok().flatten();
    let head_manifest = |p: &str| revisions.head(p).ok().flatten();
    let base_graph = lock_graph(path, &base, ecosystem, &ws, &base_manifest)
        .map_err(|e| side_error("base", &e))?;
    let head_graph = lock_graph(path, &head, ecosystem, &ws, &head_manifest)
        .map_err(|e| side_error("head", &e))?;
    let diff = lock::diff(&base_graph, &head_graph);
    outcome_of(path, &diff, &ws)
}

/// Turns a lockfile diff into packages, or the reason it cannot.
fn outcome_of(path: &str, diff: &LockDiff, ws: &Workspace) -> Result<Outcome, String> {
    if let Some(name) = diff.unattributed.first() {
        let change = diff
            .changes
            .iter()
            .find(|c| &c.name == name)
            .map_or_else(|| name.clone(), lock::DepChange::describe);
        return Err(format!(
            "{path}: {change} is used by no workspace package, only by the workspace root (which any package may use) or by nothing sift can see; declare it in the packages that use it to narrow this"
        ));
    }
    let mut packages: BTreeMap<String, Affected> = BTreeMap::new();
    for (member, reaches) in &diff.affected {
        let package = find_package(ws, member).ok_or_else(|| {
            format!(
                "{path}: `{member}` is in the lockfile but is not a workspace package sift found"
            )
        })?;
        let because = reaches
            .iter()
            .map(|reach| {
                let what = match reach.change {
                    Some(i) => diff.changes[i].describe(),
                    None => "its own dependencies changed".to_owned(),
                };
                if reach.through.is_empty() {
                    what
                } else {
                    format!("{what} (through {})", reach.through.join(" → "))
                }
            })
            .collect();
        packages.insert(
            package.name.clone(),
            Affected {
                name: package.name.clone(),
                manifest: package.manifest.clone(),
                because,
                components: Vec::new(),
            },
        );
    }
    for (member, dep) in &diff.unresolved {
        let Some(package) = find_package(ws, member) else {
            return Err(format!(
                "{path}: `{member}` depends on `{dep}`, which the lockfile does not resolve"
            ));
        };
        packages
            .entry(package.name.clone())
            .or_insert_with(|| Affected {
                name: package.name.clone(),
                manifest: package.manifest.clone(),
                because: Vec::new(),
                components: Vec::new(),
            })
            .because
            .push(format!(
                "{dep} is not resolved by one version of the lockfile"
            ));
    }
    Ok(Outcome::Packages {
        changes: diff.changes.iter().map(lock::DepChange::describe).collect(),
        packages: packages.into_values().collect(),
    })
}

/// A workspace package by name (normalized for Python), or by directory.
pub(crate) fn find_package<'w>(ws: &'w Workspace, member: &str) -> Option<&'w Package> {
    let normal = lock::uv::normalize_name(member);
    ws.packages
        .iter()
        .find(|p| p.name == member)
        .or_else(|| {
            ws.packages
                .iter()
                .find(|p| lock::uv::normalize_name(&p.name) == normal)
        })
        .or_else(|| ws.packages.iter().find(|p| p.dir == join(&ws.root, member)))
}

/// Go: `go.mod`, `go.sum` and `go.work.sum` (lockfile), `go.work` (manifest).
fn go(path: &str, revisions: &dyn Revisions) -> Result<Outcome, String> {
    let tree = revisions.checkout();
    let dir = parent(path);
    // The workspace: the nearest go.work at or above the file, else its module alone.
    let mut root = Some(dir);
    let mut ws = None;
    while let Some(candidate) = root {
        if tree.read(&join(candidate, "go.work")).is_some() {
            ws = Some(layout(tree, candidate, Ecosystem::Go)?);
            break;
        }
        root = (!candidate.is_empty()).then(|| parent(candidate));
    }
    let ws = match ws {
        Some(ws) => ws,
        None => layout(tree, dir, Ecosystem::Go)?,
    };
    let requires: Vec<(&Package, GoMod)> = ws
        .packages
        .iter()
        .filter_map(|p| Some((p, GoMod::parse(&p.manifest, &tree.read(&p.manifest)?).ok()?)))
        .collect();
    let users = |module: &str| -> Vec<&Package> {
        requires
            .iter()
            .filter(|(_, m)| m.requires(module).is_some())
            .map(|(p, _)| *p)
            .collect()
    };
    let owner = ws.packages.iter().find(|p| p.dir == dir);
    let file = path.rsplit('/').next().unwrap_or(path);
    let (base, head) = versions(path, revisions)?;
    let mut changed: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut owner_changed = false;
    match file {
        "go.mod" => {
            let before = GoMod::parse(path, &base).map_err(|e| side_error("base", &e))?;
            let after = GoMod::parse(path, &head).map_err(|e| side_error("head", &e))?;
            for r in before
                .requires
                .iter()
                .filter(|r| !after.requires.contains(r))
            {
                changed
                    .entry(r.path.clone())
                    .or_default()
                    .0
                    .insert(r.version.clone());
            }
            for r in after
                .requires
                .iter()
                .filter(|r| !before.requires.contains(r))
            {
                changed
                    .entry(r.path.clone())
                    .or_default()
                    .1
                    .insert(r.version.clone());
            }
            for r in before
                .replaces
                .iter()
                .filter(|r| !after.replaces.contains(r))
                .chain(
                    after
                        .replaces
                        .iter()
                        .filter(|r| !before.replaces.contains(r)),
                )
            {
                changed.entry(r.from.clone()).or_default();
            }
            owner_changed = before != after;
        }
        "go.work" => {
            let before = GoWork::parse(path, &base).map_err(|e| side_error("base", &e))?;
            let after = GoWork::parse(path, &head).map_err(|e| side_error("head", &e))?;
            if before.other != after.other {
                return Err(format!(
                    "{path}: a directive other than `use` and `replace` changed, which applies to every module"
                ));
            }
            let mut packages = Vec::new();
            for used in before
                .uses
                .iter()
                .filter(|u| !after.uses.contains(u))
                .chain(after.uses.iter().filter(|u| !before.uses.contains(u)))
            {
                let used_dir = normalize_join(dir, used).unwrap_or_default();
                match ws.packages.iter().find(|p| p.dir == used_dir) {
                    Some(p) => packages.push(Affected {
                        name: p.name.clone(),
                        manifest: p.manifest.clone(),
                        because: vec![format!("`use {used}` changed")],
                        components: Vec::new(),
                    }),
                    None => {
                        return Err(format!(
                            "{path}: `use {used}` changed and names no module in the checkout"
                        ));
                    }
                }
            }
            for r in before
                .replaces
                .iter()
                .filter(|r| !after.replaces.contains(r))
                .chain(
                    after
                        .replaces
                        .iter()
                        .filter(|r| !before.replaces.contains(r)),
                )
            {
                let using = users(&r.from);
                if using.is_empty() {
                    return Err(format!(
                        "{path}: the replacement of {} is used by no module sift can see",
                        r.from
                    ));
                }
                packages.extend(using.into_iter().map(|p| Affected {
                    name: p.name.clone(),
                    manifest: p.manifest.clone(),
                    because: vec![format!("replace {} changed", r.from)],
                    components: Vec::new(),
                }));
            }
            packages.sort_by(|a, b| a.name.cmp(&b.name));
            packages.dedup_by(|a, b| a.name == b.name);
            return Ok(Outcome::Packages {
                changes: Vec::new(),
                packages,
            });
        }
        _ => {
            let before = go_sum(path, &base).map_err(|e| side_error("base", &e))?;
            let after = go_sum(path, &head).map_err(|e| side_error("head", &e))?;
            for (m, v, _) in before.iter().filter(|e| !after.contains(e)) {
                changed.entry(m.clone()).or_default().0.insert(v.clone());
            }
            for (m, v, _) in after.iter().filter(|e| !before.contains(e)) {
                changed.entry(m.clone()).or_default().1.insert(v.clone());
            }
        }
    }
    let mut packages: BTreeMap<String, Affected> = BTreeMap::new();
    let mut changes = Vec::new();
    for (module, (before, after)) in &changed {
        // A version both sides list only moved between lines.
        let before: Vec<String> = before.difference(after).cloned().collect();
        let after_only: Vec<String> = after
            .difference(&before.iter().cloned().collect())
            .cloned()
            .collect();
        let change = lock::DepChange {
            name: module.clone(),
            before,
            after: after_only,
        };
        let line = if change.before.is_empty() && change.after.is_empty() {
            format!("{module} (replacement changed)")
        } else {
            change.describe()
        };
        changes.push(line.clone());
        let mut using = users(module);
        if using.is_empty() {
            match owner {
                Some(owner) => using.push(owner),
                None => {
                    return Err(format!(
                        "{path}: {line} is required by no module of the workspace"
                    ));
                }
            }
        }
        for p in using {
            let entry = packages.entry(p.name.clone()).or_insert_with(|| Affected {
                name: p.name.clone(),
                manifest: p.manifest.clone(),
                because: Vec::new(),
                components: Vec::new(),
            });
            if entry.because.len() < 3 {
                entry.because.push(line.clone());
            }
        }
    }
    if owner_changed && let Some(owner) = owner {
        packages
            .entry(owner.name.clone())
            .or_insert_with(|| Affected {
                name: owner.name.clone(),
                manifest: owner.manifest.clone(),
                because: vec!["its go.mod changed".to_owned()],
                components: Vec::new(),
            });
    }
    Ok(Outcome::Packages {
        changes,
        packages: packages.into_values().collect(),
    })
}

/// Revisions over two in-memory trees, for tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::workspace::discover::testing::MemTree;

    pub struct TwoTrees {
        pub base: MemTree,
        pub head: MemTree,
    }

    impl Revisions for TwoTrees {
        fn base(&self, path: &str) -> Result<Option<String>, String> {
            Ok(self.base.read(path))
        }
        fn head(&self, path: &str) -> Result<Option<String>, String> {
            Ok(self.head.read(path))
        }
        fn checkout(&self) -> &dyn Tree {
            &self.head
        }
    }

    /// Affected package names, or the fallback reason.
    pub fn affected(a: &Attribution) -> Result<Vec<String>, String> {
        match &a.outcome {
            Outcome::Packages { packages, .. } => {
                Ok(packages.iter().map(|p| p.name.clone()).collect())
            }
            Outcome::Everything(reason) => Err(reason.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{TwoTrees, affected};
    use super::*;
    use crate::workspace::discover::testing::MemTree;

    fn cargo_tree(serde: &str) -> MemTree {
        let lock = format!(
            "version = 4\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\ndependencies = [\"serde\"]\n[[package]]\nname = \"b\"\nversion = \"0.1.0\"\ndependencies = [\"a\"]\n[[package]]\nname = \"serde\"\nversion = \"{serde}\"\nsource = \"registry+x\"\nchecksum = \"{serde}\"\n"
        );
        MemTree(
            [
                (
                    "Cargo.toml",
                    "[workspace]\nmembers = [\"crates/*\"]\n".to_owned(),
                ),
                (
                    "crates/a/Cargo.toml",
                    "[package]\nname = \"a\"\n".to_owned(),
                ),
                (
                    "crates/b/Cargo.toml",
                    "[package]\nname = \"b\"\n[dependencies]\na = { path = \"../a\" }\n".to_owned(),
                ),
                ("Cargo.lock", lock),
            ]
            .into_iter()
            .map(|(p, t)| (p.to_owned(), t))
            .collect(),
        )
    }

    #[test]
    fn a_cargo_lock_bump_affects_the_package_using_it() {
        let revs = TwoTrees {
            base: cargo_tree("1.0.219"),
            head: cargo_tree("1.0.228"),
        };
        let a = attribute(
            "Cargo.lock",
            WorkspaceRule::Lockfile(Ecosystem::Cargo),
            &revs,
        );
        assert_eq!(affected(&a), Ok(vec!["a".to_owned()]));
        let Outcome::Packages { packages, changes } = &a.outcome else {
            unreachable!()
        };
        assert_eq!(changes, &["serde 1.0.219 → 1.0.228"]);
        assert_eq!(packages[0].manifest, "crates/a/Cargo.toml");
        assert_eq!(packages[0].because, ["serde 1.0.219 → 1.0.228"]);
    }

    #[test]
    fn unreadable_or_new_lockfiles_affect_everything_with_the_reason() {
        let mut broken = cargo_tree("1.0.228");
        broken.0.insert("Cargo.lock".into(), "[[package]\n".into());
        let revs = TwoTrees {
            base: cargo_tree("1.0.219"),
            head: broken,
        };
        let reason = affected(&attribute(
            "Cargo.lock",
            WorkspaceRule::Lockfile(Ecosystem::Cargo),
            &revs,
        ))
        .unwrap_err();
        assert!(
            reason.starts_with("cannot read the head version of Cargo.lock:1:"),
            "{reason}"
        );
        let mut none = cargo_tree("1.0.219");
        none.0.remove("Cargo.lock");
        let revs = TwoTrees {
            base: none,
            head: cargo_tree("1.0.228"),
        };
        let reason = affected(&attribute(
            "Cargo.lock",
            WorkspaceRule::Lockfile(Ecosystem::Cargo),
            &revs,
        ))
        .unwrap_err();
        assert!(reason.contains("was added"), "{reason}");
    }

    fn go_tree(text_version: &str, sum: &str) -> MemTree {
        MemTree::new(&[
            ("go.work", "go 1.22\nuse (\n\t./api\n\t./lib\n\t./cli\n)\n"),
            (
                "api/go.mod",
                &format!(
                    "module ex.com/api\n\ngo 1.22\n\nrequire (\n\tex.com/lib v0.0.0\n\tgolang.org/x/text {text_version} // indirect\n)\n"
                ),
            ),
            ("api/go.sum", sum),
            ("lib/go.mod", "module ex.com/lib\n\ngo 1.22\n"),
            (
                "cli/go.mod",
                "module ex.com/cli\n\ngo 1.22\n\nrequire golang.org/x/text v0.14.0\n",
            ),
        ])
    }

    #[test]
    fn go_mod_bumps_affect_every_module_requiring_the_dependency() {
        let revs = TwoTrees {
            base: go_tree("v0.13.0", "golang.org/x/text v0.13.0 h1:a=\n"),
            head: go_tree("v0.14.0", "golang.org/x/text v0.14.0 h1:b=\n"),
        };
        let a = attribute("api/go.mod", WorkspaceRule::Lockfile(Ecosystem::Go), &revs);
        assert_eq!(
            affected(&a),
            Ok(vec!["ex.com/api".to_owned(), "ex.com/cli".to_owned()])
        );
        let a = attribute("api/go.sum", WorkspaceRule::Lockfile(Ecosystem::Go), &revs);
        assert_eq!(
            affected(&a),
            Ok(vec!["ex.com/api".to_owned(), "ex.com/cli".to_owned()])
        );
        let Outcome::Packages { changes, .. } = &a.outcome else {
            unreachable!()
        };
        assert_eq!(changes, &["golang.org/x/text v0.13.0 → v0.14.0"]);
    }
}

//! Root manifests' workspace-wide sections: a change affects the packages
//! that use the changed entries (`[workspace.dependencies]` entries that
//! members inherit, root `package.json` dependencies the packages declare,
//! pnpm catalogs, `[tool.uv.sources]`); a change to anything that applies to
//! every package (profiles, scripts, the member list) affects everything.

use std::collections::BTreeSet;

use super::resolve::{Affected, Outcome, Revisions, find_package, layout, versions};
use super::{Ecosystem, Package, ParseError, Workspace, discover, parent};

/// Attributes a changed root manifest.
pub fn attribute(
    path: &str,
    ecosystem: Ecosystem,
    revisions: &dyn Revisions,
) -> Result<Outcome, String> {
    let (base, head) = versions(path, revisions)?;
    let dir = parent(path);
    let ws = layout(revisions.checkout(), dir, ecosystem)?;
    let file = path.rsplit('/').next().unwrap_or(path);
    let mut found = Found::default();
    match (ecosystem, file) {
        (Ecosystem::Cargo, "Cargo.toml") => cargo(path, &base, &head, &ws, revisions, &mut found)?,
        (Ecosystem::Npm | Ecosystem::Pnpm | Ecosystem::Yarn, "package.json") => {
            package_json(path, &base, &head, &ws, revisions, &mut found)?
        }
        (Ecosystem::Pnpm, "pnpm-workspace.yaml") => {
            pnpm_workspace(path, &base, &head, &ws, revisions, &mut found)?
        }
        (Ecosystem::Uv, "pyproject.toml") => {
            pyproject(path, &base, &head, &ws, revisions, &mut found)?
        }
        _ => {
            return Err(format!(
                "{path} is not a {} root manifest sift reads",
                ecosystem.title()
            ));
        }
    }
    Ok(Outcome::Packages {
        changes: found.changes,
        packages: found.packages,
    })
}

#[derive(Default)]
struct Found {
    changes: Vec<String>,
    packages: Vec<Affected>,
}

impl Found {
    fn add(&mut self, package: &Package, because: String) {
        match self.packages.iter_mut().find(|a| a.name == package.name) {
            Some(a) if a.because.len() < 3 => a.because.push(because),
            Some(_) => {}
            None => {
                self.packages.push(Affected {
                    name: package.name.clone(),
                    manifest: package.manifest.clone(),
                    because: vec![because],
                    components: Vec::new(),
                });
                self.packages.sort_by(|a, b| a.name.cmp(&b.name));
            }
        }
    }
}

fn parse_toml(path: &str, side: &str, text: &str) -> Result<toml::Table, String> {
    text.parse::<toml::Table>().map_err(|e| {
        format!(
            "cannot read the {side} version of {}",
            ParseError::toml(path, text, &e)
        )
    })
}

fn parse_json(path: &str, side: &str, text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "cannot read the {side} version of {}",
            ParseError::json(path, &e)
        )
    })
}

/// Keys whose values differ between two tables (either may be absent).
fn changed_keys<'a, V: PartialEq + 'a>(
    before: impl IntoIterator<Item = (&'a String, &'a V)>,
    after: impl IntoIterator<Item = (&'a String, &'a V)>,
) -> Vec<String> {
    let before: Vec<(&String, &V)> = before.into_iter().collect();
    let after: Vec<(&String, &V)> = after.into_iter().collect();
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for (k, v) in &before {
        if after.iter().find(|(a, _)| a == k).map(|(_, w)| w) != Some(v) {
            keys.insert((*k).clone());
        }
    }
    for (k, _) in &after {
        if !before.iter().any(|(b, _)| b == k) {
            keys.insert((*k).clone());
        }
    }
    keys.into_iter().collect()
}

fn toml_entries(value: Option<&toml::Value>) -> Vec<(&String, &toml::Value)> {
    value
        .and_then(toml::Value::as_table)
        .map(|t| t.iter().collect())
        .unwrap_or_default()
}

fn json_entries(value: Option<&serde_json::Value>) -> Vec<(&String, &serde_json::Value)> {
    value
        .and_then(serde_json::Value::as_object)
        .map(|o| o.iter().collect())
        .unwrap_or_default()
}

/// The package at the workspace root, if the root is one.
fn root_package(ws: &Workspace) -> Option<&Package> {
    ws.packages.iter().find(|p| p.dir == ws.root)
}

fn cargo(
    path: &str,
    base: &str,
    head: &str,
    ws: &Workspace,
    revisions: &dyn Revisions,
    found: &mut Found,
) -> Result<(), String> {
    let (before, after) = (
        parse_toml(path, "base", base)?,
        parse_toml(path, "head", head)?,
    );
    let tree = revisions.checkout();
    let members: Vec<(&Package, toml::Table)> = ws
        .packages
        .iter()
        .filter_map(|p| Some((p, tree.read(&p.manifest)?.parse::<toml::Table>().ok()?)))
        .collect();
    for key in changed_keys(&before, &after) {
        match key.as_str() {
            "workspace" => {
                let (wb, wa) = (before.get("workspace"), after.get("workspace"));
                for sub in changed_keys(toml_entries(wb), toml_entries(wa)) {
                    match sub.as_str() {
                        "dependencies" => {
                            let deps = changed_keys(
                                toml_entries(wb.and_then(|w| w.get("dependencies"))),
                                toml_entries(wa.and_then(|w| w.get("dependencies"))),
                            );
                            for dep in deps {
                                let line = format!("[workspace.dependencies] {dep} changed");
                                found.changes.push(line.clone());
                                for (package, table) in &members {
                                    let inherits = discover::cargo_dependencies(table).iter().any(
                                        |(name, spec)| {
                                            *name == dep
                                                && spec
                                                    .get("workspace")
                                                    .and_then(toml::Value::as_bool)
                                                    == Some(true)
                                        },
                                    );
                                    if inherits {
                                        found.add(package, line.clone());
                                    }
                                }
                            }
                        }
                        "package" | "lints" => {
                            let keys = if sub == "lints" {
                                vec!["lints".to_owned()]
                            } else {
                                changed_keys(
                                    toml_entries(wb.and_then(|w| w.get("package"))),
                                    toml_entries(wa.and_then(|w| w.get("package"))),
                                )
                            };
                            for inherited in keys {
                                let line = format!("[workspace.{sub}] {inherited} changed");
                                found.changes.push(line.clone());
                                for (package, table) in &members {
                                    let section = if sub == "lints" {
                                        table.get("lints")
                                    } else {
                                        table.get("package").and_then(|p| p.get(&inherited))
                                    };
                                    if section
                                        .and_then(|s| s.get("workspace"))
                                        .and_then(toml::Value::as_bool)
                                        == Some(true)
                                    {
                                        found.add(package, line.clone());
                                    }
                                }
                            }
                        }
                        "metadata" => found
                            .changes
                            .push("[workspace.metadata] changed (cargo ignores it)".to_owned()),
                        other => {
                            return Err(format!(
                                "{path}: [workspace] `{other}` changed, which applies to every package"
                            ));
                        }
                    }
                }
            }
            "profile" | "patch" | "replace" => {
                return Err(format!(
                    "{path}: [{key}] changed, which applies to every package"
                ));
            }
            "package" | "dependencies" | "dev-dependencies" | "build-dependencies" | "target"
            | "features" | "lib" | "bin" | "test" | "bench" | "example" | "lints" | "badges" => {
                let Some(package) = root_package(ws) else {
                    return Err(format!(
                        "{path}: [{key}] changed, but the workspace root is not a package"
                    ));
                };
                let line = format!("root package [{key}] changed");
                found.changes.push(line.clone());
                found.add(package, line);
            }
            other => {
                return Err(format!(
                    "{path}: `{other}` changed, which sift cannot attribute to packages"
                ));
            }
        }
    }
    Ok(())
}

const METADATA_KEYS: [&str; 13] = [
    "name",
    "version",
    "description",
    "keywords",
    "author",
    "contributors",
    "license",
    "repository",
    "homepage",
    "bugs",
    "funding",
    "private",
    "$schema",
];
const DEP_SECTIONS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// Packages that declare `dep` in their own `package.json`.
fn declaring<'w>(ws: &'w Workspace, revisions: &dyn Revisions, dep: &str) -> Vec<&'w Package> {
    let tree = revisions.checkout();
    ws.packages
        .iter()
        .filter(|p| p.dir != ws.root)
        .filter(|p| {
            tree.read(&p.manifest)
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|m| {
                    discover::package_json_deps(&m)
                        .iter()
                        .any(|(n, _)| n == dep)
                })
        })
        .collect()
}

/// Packages that reach `dep` in the head lockfile, if there is one sift reads.
fn reaching<'w>(ws: &'w Workspace, revisions: &dyn Revisions, dep: &str) -> Vec<&'w Package> {
    let mut out = Vec::new();
    for lockfile in &ws.lockfiles {
        let Ok(Some(text)) = revisions.head(lockfile) else {
            continue;
        };
        let head_manifest = |p: &str| revisions.head(p).ok().flatten();
        let Ok(graph) =
            super::resolve::lock_graph(lockfile, &text, ws.ecosystem, ws, &head_manifest)
        else {
            continue;
        };
        // Everything but `dep`'s nodes, as a base: the diff says who reaches them.
        let mut without = graph.clone();
        for node in &mut without.nodes {
            if node.name == dep {
                node.version.push_str(" (before)");
            }
        }
        let diff = super::lock::diff(&without, &graph);
        out.extend(diff.affected.keys().filter_map(|m| find_package(ws, m)));
    }
    out
}

fn package_json(
    path: &str,
    base: &str,
    head: &str,
    ws: &Workspace,
    revisions: &dyn Revisions,
    found: &mut Found,
) -> Result<(), String> {
    let (before, after) = (
        parse_json(path, "base", base)?,
        parse_json(path, "head", head)?,
    );
    let single = ws.root_manifest.is_none();
    for key in changed_keys(json_entries(Some(&before)), json_entries(Some(&after))) {
        if METADATA_KEYS.contains(&key.as_str()) {
            continue;
        }
        let overrides = matches!(key.as_str(), "overrides" | "resolutions" | "pnpm");
        if !DEP_SECTIONS.contains(&key.as_str()) && !overrides {
            return Err(format!(
                "{path}: `{key}` changed, which applies to every package"
            ));
        }
        if single {
            let Some(package) = root_package(ws) else {
                return Err(format!(
                    "{path}: `{key}` changed and the root is no package"
                ));
            };
            found.changes.push(format!("`{key}` changed"));
            found.add(package, format!("`{key}` changed"));
            continue;
        }
        let (b, a) = if key == "pnpm" {
            (
                before.get("pnpm").and_then(|p| p.get("overrides")),
                after.get("pnpm").and_then(|p| p.get("overrides")),
            )
        } else {
            (before.get(&key), after.get(&key))
        };
        if key == "pnpm"
            && json_entries(before.get("pnpm"))
                .into_iter()
                .filter(|(k, _)| *k != "overrides")
                .collect::<Vec<_>>()
                != json_entries(after.get("pnpm"))
                    .into_iter()
                    .filter(|(k, _)| *k != "overrides")
                    .collect::<Vec<_>>()
        {
            return Err(format!(
                "{path}: `pnpm` settings other than `overrides` changed, which apply to every package"
            ));
        }
        for dep in changed_keys(json_entries(b), json_entries(a)) {
            let line = format!("root `{key}` {dep} changed");
            found.changes.push(line.clone());
            let mut users = declaring(ws, revisions, &dep);
            if overrides {
                users.extend(reaching(ws, revisions, &dep));
            }
            if users.is_empty() {
                return Err(format!(
                    "{path}: {line}; no workspace package declares it, and any package may use what the root installs (declare it in the packages that use it to narrow this)"
                ));
            }
            for package in users {
                found.add(package, line.clone());
            }
        }
    }
    Ok(())
}

fn pnpm_workspace(
    path: &str,
    base: &str,
    head: &str,
    ws: &Workspace,
    revisions: &dyn Revisions,
    found: &mut Found,
) -> Result<(), String> {
    use super::yaml::{self, Yaml};
    let read = |side: &str, text: &str| {
        yaml::parse(path, text).map_err(|e| format!("cannot read the {side} version of {e}"))
    };
    let (before, after) = (read("base", base)?, read("head", head)?);
    let tree = revisions.checkout();
    for key in changed_keys(
        before.entries().iter().map(|(k, v)| (k, v)),
        after.entries().iter().map(|(k, v)| (k, v)),
    ) {
        let catalogs: Vec<(String, String)> = match key.as_str() {
            "catalog" => changed_keys(
                entries(before.get("catalog")),
                entries(after.get("catalog")),
            )
            .into_iter()
            .map(|d| (d, "catalog:".to_owned()))
            .collect(),
            "catalogs" => {
                let mut out = Vec::new();
                for name in changed_keys(
                    entries(before.get("catalogs")),
                    entries(after.get("catalogs")),
                ) {
                    let b = before.get("catalogs").and_then(|c| c.get(&name));
                    let a = after.get("catalogs").and_then(|c| c.get(&name));
                    out.extend(
                        changed_keys(entries(b), entries(a))
                            .into_iter()
                            .map(|d| (d, format!("catalog:{name}"))),
                    );
                }
                out
            }
            "overrides" => {
                for dep in changed_keys(
                    entries(before.get("overrides")),
                    entries(after.get("overrides")),
                ) {
                    let line = format!("overrides {dep} changed");
                    found.changes.push(line.clone());
                    let mut users = declaring(ws, revisions, &dep);
                    users.extend(reaching(ws, revisions, &dep));
                    if users.is_empty() {
                        return Err(format!("{path}: {line}, and no workspace package uses it"));
                    }
                    for p in users {
                        found.add(p, line.clone());
                    }
                }
                continue;
            }
            other => {
                return Err(format!(
                    "{path}: `{other}` changed, which applies to every package"
                ));
            }
        };
        for (dep, protocol) in catalogs {
            let line = format!("{protocol} {dep} changed");
            found.changes.push(line.clone());
            for package in ws.packages.iter() {
                let uses = tree
                    .read(&package.manifest)
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .is_some_and(|m| {
                        discover::package_json_deps(&m).iter().any(|(n, r)| {
                            *n == dep
                                && (r == &protocol
                                    || (protocol == "catalog:" && r == "catalog:default"))
                        })
                    });
                if uses {
                    found.add(package, line.clone());
                }
            }
        }
    }
    fn entries(value: Option<&Yaml>) -> Vec<(&String, &Yaml)> {
        value
            .map(|v| v.entries().iter().map(|(k, v)| (k, v)).collect())
            .unwrap_or_default()
    }
    Ok(())
}

fn pyproject(
    path: &str,
    base: &str,
    head: &str,
    ws: &Workspace,
    revisions: &dyn Revisions,
    found: &mut Found,
) -> Result<(), String> {
    let (before, after) = (
        parse_toml(path, "base", base)?,
        parse_toml(path, "head", head)?,
    );
    let tree = revisions.checkout();
    let declaring = |dep: &str| -> Vec<&Package> {
        let wanted = super::lock::uv::normalize_name(dep);
        ws.packages
            .iter()
            .filter(|p| {
                tree.read(&p.manifest)
                    .and_then(|t| t.parse::<toml::Table>().ok())
                    .is_some_and(|t| {
                        discover::pyproject_requirements(&t).iter().any(|r| {
                            super::lock::uv::normalize_name(discover::requirement_name(r)) == wanted
                        })
                    })
            })
            .collect()
    };
    for key in changed_keys(&before, &after) {
        match key.as_str() {
            "project" | "dependency-groups" | "build-system" => {
                let Some(package) = root_package(ws) else {
                    return Err(format!(
                        "{path}: [{key}] changed and the workspace root is no package"
                    ));
                };
                let line = format!("root [{key}] changed");
                found.changes.push(line.clone());
                found.add(package, line);
            }
            "tool" => {
                let (tb, ta) = (before.get("tool"), after.get("tool"));
                for tool in changed_keys(toml_entries(tb), toml_entries(ta)) {
                    match tool.as_str() {
                        "ruff" | "black" | "isort" => {}
                        "uv" => {
                            let (ub, ua) =
                                (tb.and_then(|t| t.get("uv")), ta.and_then(|t| t.get("uv")));
                            for setting in changed_keys(toml_entries(ub), toml_entries(ua)) {
                                match setting.as_str() {
                                    "sources"
                                    | "constraint-dependencies"
                                    | "override-dependencies" => {
                                        let names: Vec<String> = if setting == "sources" {
                                            changed_keys(
                                                toml_entries(ub.and_then(|u| u.get("sources"))),
                                                toml_entries(ua.and_then(|u| u.get("sources"))),
                                            )
                                        } else {
                                            let list =
                                                |u: Option<&toml::Value>| -> BTreeSet<String> {
                                                    u.and_then(|u| u.get(&setting))
                                                        .and_then(toml::Value::as_array)
                                                        .into_iter()
                                                        .flatten()
                                                        .filter_map(|v| {
                                                            v.as_str().map(str::to_owned)
                                                        })
                                                        .collect()
                                                };
                                            let (lb, la) = (list(ub), list(ua));
                                            lb.symmetric_difference(&la)
                                                .map(|r| discover::requirement_name(r).to_owned())
                                                .collect()
                                        };
                                        for dep in names {
                                            let line = format!("[tool.uv] {setting} {dep} changed");
                                            found.changes.push(line.clone());
                                            let users = declaring(&dep);
                                            if users.is_empty() && setting == "sources" {
                                                return Err(format!(
                                                    "{path}: {line}, and no workspace package declares it"
                                                ));
                                            }
                                            for p in users {
                                                found.add(p, line.clone());
                                            }
                                        }
                                    }
                                    other => {
                                        return Err(format!(
                                            "{path}: [tool.uv] `{other}` changed, which applies to every package"
                                        ));
                                    }
                                }
                            }
                        }
                        other => {
                            return Err(format!(
                                "{path}: [tool.{other}] changed, which may apply to every package"
                            ));
                        }
                    }
                }
            }
            other => {
                return Err(format!(
                    "{path}: `{other}` changed, which sift cannot attribute to packages"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::resolve::testing::{TwoTrees, affected};
    use super::super::resolve::{Outcome, attribute as resolve};
    use super::*;
    use crate::select::rules::WorkspaceRule;
    use crate::workspace::discover::testing::MemTree;

    fn cargo(root: &str) -> MemTree {
        MemTree::new(&[
            ("Cargo.toml", root),
            (
                "crates/a/Cargo.toml",
                "[package]\nname = \"a\"\nedition.workspace = true\n[dependencies]\nserde = { workspace = true }\n",
            ),
            (
                "crates/b/Cargo.toml",
                "[package]\nname = \"b\"\n[dependencies]\ntokio.workspace = true\n",
            ),
        ])
    }

    const ROOT: &str = "[workspace]\nmembers = [\"crates/*\"]\n[workspace.package]\nedition = \"2021\"\n[workspace.dependencies]\nserde = \"1.0.219\"\ntokio = \"1\"\n";

    #[test]
    fn workspace_dependencies_affect_their_users_only() {
        let revs = TwoTrees {
            base: cargo(ROOT),
            head: cargo(&ROOT.replace("1.0.219", "1.0.228")),
        };
        let a = resolve(
            "Cargo.toml",
            WorkspaceRule::Manifest(Ecosystem::Cargo),
            &revs,
        );
        assert_eq!(affected(&a), Ok(vec!["a".to_owned()]));
        let revs = TwoTrees {
            base: cargo(ROOT),
            head: cargo(&ROOT.replace("2021", "2024")),
        };
        assert_eq!(
            affected(&resolve(
                "Cargo.toml",
                WorkspaceRule::Manifest(Ecosystem::Cargo),
                &revs
            )),
            Ok(vec!["a".to_owned()])
        );
        let revs = TwoTrees {
            base: cargo(ROOT),
            head: cargo(&format!("{ROOT}[profile.release]\ndebug = true\n")),
        };
        let reason = affected(&resolve(
            "Cargo.toml",
            WorkspaceRule::Manifest(Ecosystem::Cargo),
            &revs,
        ))
        .unwrap_err();
        assert!(reason.contains("[profile]"), "{reason}");
    }

    fn npm(root: &str) -> MemTree {
        MemTree::new(&[
            ("package.json", root),
            (
                "packages/web/package.json",
                r#"{"name": "web", "devDependencies": {"typescript": "^5"}}"#,
            ),
            ("packages/lib/package.json", r#"{"name": "lib"}"#),
        ])
    }

    #[test]
    fn root_dev_dependencies_affect_the_packages_declaring_them() {
        let root = r#"{"name": "r", "workspaces": ["packages/*"], "devDependencies": {"typescript": "5.4.0", "prettier": "3.0.0"}}"#;
        let revs = TwoTrees {
            base: npm(root),
            head: npm(&root.replace("5.4.0", "5.5.0")),
        };
        let a = resolve(
            "package.json",
            WorkspaceRule::Manifest(Ecosystem::Npm),
            &revs,
        );
        assert_eq!(affected(&a), Ok(vec!["web".to_owned()]));
        let Outcome::Packages { changes, .. } = &a.outcome else {
            unreachable!()
        };
        assert_eq!(changes, &["root `devDependencies` typescript changed"]);
        // Nobody declares prettier: any package may use it.
        let revs = TwoTrees {
            base: npm(root),
            head: npm(&root.replace("3.0.0", "3.1.0")),
        };
        assert!(
            affected(&resolve(
                "package.json",
                WorkspaceRule::Manifest(Ecosystem::Npm),
                &revs
            ))
            .unwrap_err()
            .contains("no workspace package declares it")
        );
        // Metadata changes nothing; scripts change everything.
        let revs = TwoTrees {
            base: npm(root),
            head: npm(&root.replace("\"name\": \"r\"", "\"name\": \"r2\"")),
        };
        assert_eq!(
            affected(&resolve(
                "package.json",
                WorkspaceRule::Manifest(Ecosystem::Npm),
                &revs
            )),
            Ok(vec![])
        );
        let revs = TwoTrees {
            base: npm(root),
            head: npm(&root.replace(
                "\"name\": \"r\"",
                "\"scripts\": {\"t\": \"x\"}, \"name\": \"r\"",
            )),
        };
        assert!(
            affected(&resolve(
                "package.json",
                WorkspaceRule::Manifest(Ecosystem::Npm),
                &revs
            ))
            .is_err()
        );
    }

    #[test]
    fn pnpm_catalog_entries_affect_their_users() {
        let tree = |react: &str| {
            MemTree::new(&[
                ("package.json", r#"{"name": "r"}"#),
                (
                    "pnpm-workspace.yaml",
                    &format!("packages:\n  - apps/*\ncatalog:\n  react: {react}\n  vue: ^3\n"),
                ),
                (
                    "apps/a/package.json",
                    r#"{"name": "a", "dependencies": {"react": "catalog:"}}"#,
                ),
                (
                    "apps/b/package.json",
                    r#"{"name": "b", "dependencies": {"vue": "catalog:"}}"#,
                ),
            ])
        };
        let revs = TwoTrees {
            base: tree("^18.2.0"),
            head: tree("^18.3.0"),
        };
        assert_eq!(
            affected(&resolve(
                "pnpm-workspace.yaml",
                WorkspaceRule::Manifest(Ecosystem::Pnpm),
                &revs
            )),
            Ok(vec!["a".to_owned()])
        );
    }

    proptest::proptest! {
        /// Whatever the two versions of a root manifest hold, attributing
        /// the change answers (packages or everything), never panics.
        #[test]
        fn attribution_never_panics(base in "\\PC{0,120}", head in "\\PC{0,120}", pick in 0usize..5) {
            let (file, kind) = [
                ("Cargo.toml", Ecosystem::Cargo),
                ("package.json", Ecosystem::Npm),
                ("pnpm-workspace.yaml", Ecosystem::Pnpm),
                ("pyproject.toml", Ecosystem::Uv),
                ("go.work", Ecosystem::Go),
            ][pick];
            let revs = TwoTrees { base: MemTree::new(&[(file, &base)]), head: MemTree::new(&[(file, &head)]) };
            let _ = resolve(file, WorkspaceRule::Manifest(kind), &revs);
            let _ = resolve(file, WorkspaceRule::Lockfile(kind), &revs);
        }

        /// Mutated versions of a real root manifest: same.
        #[test]
        fn attribution_never_panics_on_edited_manifests(cut in 0usize..120, insert in "[\\[\\]{}\"=, a-z0-9.\\n]{0,12}") {
            let mut head = ROOT.to_owned();
            let at = (0..=cut.min(head.len())).rev().find(|&i| head.is_char_boundary(i)).unwrap_or(0);
            head.insert_str(at, &insert);
            let revs = TwoTrees { base: cargo(ROOT), head: cargo(&head) };
            let _ = resolve("Cargo.toml", WorkspaceRule::Manifest(Ecosystem::Cargo), &revs);
        }
    }

    #[test]
    fn uv_sources_affect_their_users() {
        let tree = |rev: &str| {
            MemTree::new(&[
                (
                    "pyproject.toml",
                    &format!(
                        "[tool.uv.workspace]\nmembers = [\"p/*\"]\n[tool.uv.sources]\nhttpx = {{ git = \"https://x\", rev = \"{rev}\" }}\n[tool.ruff]\nline-length = 90\n"
                    ),
                ),
                (
                    "p/a/pyproject.toml",
                    "[project]\nname = \"a\"\ndependencies = [\"httpx>=0.27\"]\n",
                ),
                ("p/b/pyproject.toml", "[project]\nname = \"b\"\n"),
            ])
        };
        let revs = TwoTrees {
            base: tree("v1"),
            head: tree("v2"),
        };
        assert_eq!(
            affected(&resolve(
                "pyproject.toml",
                WorkspaceRule::Manifest(Ecosystem::Uv),
                &revs
            )),
            Ok(vec!["a".to_owned()])
        );
    }
}

//! The workspace layout: which packages a repository has, where, and which
//! of them depend on each other, read from the package managers' own
//! manifests (`package.json` `workspaces`, `pnpm-workspace.yaml`,
//! `[tool.uv.workspace]`, `go.work`, `Cargo.toml` `[workspace]`) or, for
//! Cargo, from `cargo metadata --format-version 1 --no-deps`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::gomod::{GoMod, GoWork};
use super::lock::uv::normalize_name;
use super::yaml::{self, Yaml};
use super::{Ecosystem, Package, ParseError, Tree, Workspace, join, normalize_join};
use crate::pattern::Pattern;

/// Directories never searched for workspace members.
const SKIPPED_DIRS: [&str; 4] = ["node_modules", ".git", "target", ".venv"];

/// Every workspace at `dir` (repository-relative, `""` for the root) but
/// Cargo's, which [`cargo_from_metadata`] or [`cargo_from_manifests`] reads.
pub fn discover(tree: &dyn Tree, dir: &str) -> Result<Vec<Workspace>, ParseError> {
    let mut found = Vec::new();
    if let Some(ws) = javascript(tree, dir)? {
        found.push(ws);
    }
    if let Some(ws) = uv(tree, dir)? {
        found.push(ws);
    }
    if let Some(ws) = go(tree, dir)? {
        found.push(ws);
    }
    Ok(found)
}

/// Reads a manifest, or `None` when absent.
fn read(tree: &dyn Tree, path: &str) -> Option<String> {
    tree.read(path)
}

fn read_json(tree: &dyn Tree, path: &str) -> Result<Option<serde_json::Value>, ParseError> {
    match read(tree, path) {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ParseError::json(path, &e)),
    }
}

fn read_toml(tree: &dyn Tree, path: &str) -> Result<Option<toml::Table>, ParseError> {
    match read(tree, path) {
        None => Ok(None),
        Some(text) => text
            .parse::<toml::Table>()
            .map(Some)
            .map_err(|e| ParseError::toml(path, &text, &e)),
    }
}

/// Directories below `dir` matching the workspace globs (relative to `dir`),
/// that hold `marker`; `!`-prefixed globs exclude. Sorted, repository-relative.
pub fn expand_members(
    tree: &dyn Tree,
    dir: &str,
    globs: &[String],
    excludes: &[String],
    marker: &str,
    manifest_path: &str,
) -> Result<Vec<String>, ParseError> {
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for glob in globs
        .iter()
        .map(|g| (g, false))
        .chain(excludes.iter().map(|g| (g, true)))
    {
        let (text, negated) = match glob.0.strip_prefix('!') {
            Some(rest) => (rest, true),
            None => (glob.0.as_str(), glob.1),
        };
        let text = text.trim_start_matches("./").trim_end_matches('/');
        if text.is_empty() || text == "." {
            continue;
        }
        let pattern = Pattern::new(text).map_err(|e| {
            ParseError::line(
                manifest_path,
                1,
                1,
                format!("workspace pattern `{}`: {e}", glob.0),
            )
        })?;
        let literal: Vec<&str> = text
            .split('/')
            .take_while(|s| !s.contains(['*', '?', '[', '{', '\\']))
            .collect();
        if negated {
            exclude.push(pattern);
        } else {
            include.push((pattern, literal.join("/"), text.contains("**")));
        }
    }
    let mut members = BTreeSet::new();
    for (pattern, start, deep) in &include {
        let mut stack = vec![start.clone()];
        let max_depth = if *deep {
            16
        } else {
            pattern.as_str().split('/').count()
        };
        while let Some(relative) = stack.pop() {
            let depth = relative.split('/').filter(|s| !s.is_empty()).count();
            if !relative.is_empty()
                && pattern.matches_exactly(&relative)
                && !exclude.iter().any(|e| e.matches_exactly(&relative))
                && tree.read(&join(&join(dir, &relative), marker)).is_some()
            {
                members.insert(join(dir, &relative));
            }
            if depth >= max_depth {
                continue;
            }
            for (name, is_dir) in tree.list(&join(dir, &relative)) {
                if is_dir && !SKIPPED_DIRS.contains(&name.as_str()) && !name.starts_with('.') {
                    stack.push(join(&relative, &name));
                }
            }
        }
    }
    Ok(members.into_iter().collect())
}

fn strings(value: Option<&serde_json::Value>) -> Vec<String> {
    value
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn keys(value: Option<&serde_json::Value>) -> Vec<String> {
    value
        .and_then(serde_json::Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Dependency names a `package.json` declares, any kind.
pub fn package_json_deps(manifest: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for section in [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ] {
        if let Some(map) = manifest.get(section).and_then(serde_json::Value::as_object) {
            for (name, range) in map {
                out.push((name.clone(), range.as_str().unwrap_or_default().to_owned()));
            }
        }
    }
    out
}

fn lockfiles(tree: &dyn Tree, dir: &str, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| join(dir, n))
        .filter(|p| tree.read(p).is_some())
        .collect()
}

/// Fills `deps` with the workspace packages each one declares.
fn link(packages: &mut [Package], declared: &[Vec<String>], normalize: fn(&str) -> String) {
    let names: BTreeSet<String> = packages.iter().map(|p| normalize(&p.name)).collect();
    let by_normal: BTreeMap<String, String> = packages
        .iter()
        .map(|p| (normalize(&p.name), p.name.clone()))
        .collect();
    for (package, declared) in packages.iter_mut().zip(declared) {
        let mut deps: Vec<String> = declared
            .iter()
            .map(|d| normalize(d))
            .filter(|d| names.contains(d) && *d != normalize(&package.name))
            .filter_map(|d| by_normal.get(&d).cloned())
            .collect();
        deps.sort();
        deps.dedup();
        package.deps = deps;
    }
}

fn identity(name: &str) -> String {
    name.to_owned()
}

/// npm, pnpm or Yarn workspaces (or a single package).
fn javascript(tree: &dyn Tree, dir: &str) -> Result<Option<Workspace>, ParseError> {
    let manifest_path = join(dir, "package.json");
    let Some(root) = read_json(tree, &manifest_path)? else {
        return Ok(None);
    };
    let pnpm_path = join(dir, "pnpm-workspace.yaml");
    let pnpm_globs = match read(tree, &pnpm_path) {
        Some(text) => {
            let doc = yaml::parse(&pnpm_path, &text)?;
            Some(
                doc.get("packages")
                    .map(Yaml::items)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Yaml::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let package_manager = root
        .get("packageManager")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let has = |name: &str| tree.read(&join(dir, name)).is_some();
    let ecosystem =
        if pnpm_globs.is_some() || has("pnpm-lock.yaml") || package_manager.starts_with("pnpm@") {
            Ecosystem::Pnpm
        } else if has("yarn.lock") || package_manager.starts_with("yarn@") {
            Ecosystem::Yarn
        } else {
            Ecosystem::Npm
        };
    let (globs, detected_from) = match (&pnpm_globs, root.get("workspaces")) {
        (Some(globs), _) => (globs.clone(), "pnpm-workspace.yaml `packages`".to_owned()),
        (None, Some(w)) if w.is_array() => {
            (strings(Some(w)), "package.json `workspaces`".to_owned())
        }
        (None, Some(w)) => (
            strings(w.get("packages")),
            "package.json `workspaces.packages`".to_owned(),
        ),
        (None, None) => (Vec::new(), "package.json (a single package)".to_owned()),
    };
    let mut dirs = expand_members(tree, dir, &globs, &[], "package.json", &manifest_path)?;
    let single = globs.is_empty();
    if single {
        dirs = vec![dir.to_owned()];
    }
    let mut packages = Vec::new();
    let mut declared = Vec::new();
    for member_dir in dirs {
        let path = join(&member_dir, "package.json");
        let manifest = if member_dir == dir {
            Some(root.clone())
        } else {
            read_json(tree, &path)?
        };
        let Some(manifest) = manifest else { continue };
        let Some(name) = manifest.get("name").and_then(|n| n.as_str()) else {
            if single {
                return Ok(None);
            }
            return Err(ParseError::line(
                &path,
                1,
                1,
                "a workspace package needs a `name`",
            ));
        };
        declared.push(
            package_json_deps(&manifest)
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
        );
        packages.push(Package {
            ecosystem,
            name: name.to_owned(),
            dir: member_dir,
            manifest: path,
            deps: Vec::new(),
            path_deps: Vec::new(),
            scripts: keys(manifest.get("scripts")),
        });
    }
    link(&mut packages, &declared, identity);
    let mut order: Vec<usize> = (0..packages.len()).collect();
    order.sort_by(|&a, &b| packages[a].name.cmp(&packages[b].name));
    let packages: Vec<Package> = order.into_iter().map(|i| packages[i].clone()).collect();
    let lock_names: &[&str] = match ecosystem {
        Ecosystem::Pnpm => &["pnpm-lock.yaml"],
        Ecosystem::Yarn => &["yarn.lock"],
        _ => &["package-lock.json"],
    };
    let mut flags = Vec::new();
    if ecosystem == Ecosystem::Yarn
        && let Some(text) = tree.read(&join(dir, "yarn.lock"))
        && super::lock::yarn::is_berry(&text)
    {
        flags.push("berry".to_owned());
    }
    Ok(Some(Workspace {
        ecosystem,
        root: dir.to_owned(),
        detected_from,
        lockfiles: lockfiles(tree, dir, lock_names),
        root_manifest: (!single).then_some(manifest_path),
        packages,
        root_scripts: keys(root.get("scripts")),
        flags,
    }))
}

/// The name of a PEP 508 requirement: `requests[socks] >=2; python_version<"3.12"` → `requests`.
pub fn requirement_name(requirement: &str) -> &str {
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    &requirement[..end]
}

/// Every requirement string a `pyproject.toml` declares.
pub fn pyproject_requirements(table: &toml::Table) -> Vec<String> {
    let mut out = Vec::new();
    let mut push_list = |value: Option<&toml::Value>| {
        for item in value.and_then(toml::Value::as_array).into_iter().flatten() {
            if let Some(text) = item.as_str() {
                out.push(text.to_owned());
            }
        }
    };
    let project = table.get("project");
    push_list(project.and_then(|p| p.get("dependencies")));
    if let Some(optional) = project
        .and_then(|p| p.get("optional-dependencies"))
        .and_then(toml::Value::as_table)
    {
        for list in optional.values() {
            push_list(Some(list));
        }
    }
    if let Some(groups) = table
        .get("dependency-groups")
        .and_then(toml::Value::as_table)
    {
        for list in groups.values() {
            push_list(Some(list));
        }
    }
    push_list(
        table
            .get("tool")
            .and_then(|t| t.get("uv"))
            .and_then(|u| u.get("dev-dependencies")),
    );
    out
}

fn toml_strings(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A uv workspace (`[tool.uv.workspace]`), or a single uv project (`uv.lock`).
fn uv(tree: &dyn Tree, dir: &str) -> Result<Option<Workspace>, ParseError> {
    let manifest_path = join(dir, "pyproject.toml");
    let Some(root) = read_toml(tree, &manifest_path)? else {
        return Ok(None);
    };
    let tool_uv = root.get("tool").and_then(|t| t.get("uv"));
    let workspace = tool_uv.and_then(|u| u.get("workspace"));
    let lock = lockfiles(tree, dir, &["uv.lock"]);
    if workspace.is_none() && lock.is_empty() {
        return Ok(None);
    }
    let globs = toml_strings(workspace.and_then(|w| w.get("members")));
    let excludes = toml_strings(workspace.and_then(|w| w.get("exclude")));
    let mut dirs = expand_members(
        tree,
        dir,
        &globs,
        &excludes,
        "pyproject.toml",
        &manifest_path,
    )?;
    if root.get("project").is_some() {
        dirs.insert(0, dir.to_owned());
    }
    let mut packages = Vec::new();
    let mut declared = Vec::new();
    for member_dir in dirs {
        let path = join(&member_dir, "pyproject.toml");
        let table = if member_dir == dir {
            Some(root.clone())
        } else {
            read_toml(tree, &path)?
        };
        let Some(table) = table else { continue };
        let Some(name) = table
            .get("project")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
        else {
            return Err(ParseError::line(
                &path,
                1,
                1,
                "a uv workspace member needs `[project] name`",
            ));
        };
        declared.push(
            pyproject_requirements(&table)
                .iter()
                .map(|r| requirement_name(r).to_owned())
                .collect(),
        );
        packages.push(Package {
            ecosystem: Ecosystem::Uv,
            name: name.to_owned(),
            dir: member_dir,
            manifest: path,
            deps: Vec::new(),
            path_deps: Vec::new(),
            scripts: Vec::new(),
        });
    }
    link(&mut packages, &declared, normalize_name);
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let mut flags = Vec::new();
    let ruff_config = root.get("tool").and_then(|t| t.get("ruff")).is_some()
        || tree.read(&join(dir, "ruff.toml")).is_some()
        || tree.read(&join(dir, ".ruff.toml")).is_some();
    let ruff_dep = pyproject_requirements(&root)
        .iter()
        .any(|r| normalize_name(requirement_name(r)) == "ruff");
    if ruff_config || ruff_dep {
        flags.push("ruff".to_owned());
    }
    Ok(Some(Workspace {
        ecosystem: Ecosystem::Uv,
        root: dir.to_owned(),
        detected_from: if workspace.is_some() {
            "pyproject.toml `[tool.uv.workspace]`".to_owned()
        } else {
            "pyproject.toml and uv.lock (a single project)".to_owned()
        },
        lockfiles: lock,
        root_manifest: workspace.is_some().then_some(manifest_path),
        packages,
        root_scripts: Vec::new(),
        flags,
    }))
}

/// A Go workspace (`go.work`), or a single module (`go.mod`).
fn go(tree: &dyn Tree, dir: &str) -> Result<Option<Workspace>, ParseError> {
    let work_path = join(dir, "go.work");
    let (dirs, detected_from, root_manifest) = match read(tree, &work_path) {
        Some(text) => {
            let work = GoWork::parse(&work_path, &text)?;
            let mut dirs = Vec::new();
            for used in &work.uses {
                let Some(used_dir) = normalize_join(dir, used) else {
                    return Err(ParseError::line(
                        &work_path,
                        1,
                        1,
                        format!("`use {used}` leaves the repository"),
                    ));
                };
                dirs.push(used_dir);
            }
            (dirs, "go.work `use`".to_owned(), Some(work_path.clone()))
        }
        None if tree.read(&join(dir, "go.mod")).is_some() => (
            vec![dir.to_owned()],
            "go.mod (a single module)".to_owned(),
            None,
        ),
        None => return Ok(None),
    };
    let mut packages = Vec::new();
    let mut declared = Vec::new();
    for module_dir in dirs {
        let path = join(&module_dir, "go.mod");
        let Some(text) = read(tree, &path) else {
            return Err(ParseError::line(
                &work_path,
                1,
                1,
                format!("`{module_dir}` is used but has no go.mod"),
            ));
        };
        let module = GoMod::parse(&path, &text)?;
        let Some(name) = module.module.clone() else {
            return Err(ParseError::line(&path, 1, 1, "no `module` directive"));
        };
        declared.push(module.requires.iter().map(|r| r.path.clone()).collect());
        packages.push(Package {
            ecosystem: Ecosystem::Go,
            name,
            dir: module_dir,
            manifest: path,
            deps: Vec::new(),
            path_deps: Vec::new(),
            scripts: Vec::new(),
        });
    }
    link(&mut packages, &declared, identity);
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let mut lock = lockfiles(tree, dir, &["go.work.sum"]);
    for package in &packages {
        lock.extend(lockfiles(tree, &package.dir, &["go.sum"]));
    }
    lock.sort();
    Ok(Some(Workspace {
        ecosystem: Ecosystem::Go,
        root: dir.to_owned(),
        detected_from,
        lockfiles: lock,
        root_manifest,
        packages,
        root_scripts: Vec::new(),
        flags: Vec::new(),
    }))
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
    workspace_members: Vec<String>,
    workspace_root: String,
}

#[derive(Deserialize)]
struct MetaPackage {
    name: String,
    id: String,
    manifest_path: String,
    #[serde(default)]
    dependencies: Vec<MetaDep>,
}

#[derive(Deserialize)]
struct MetaDep {
    path: Option<String>,
}

/// A Cargo workspace from `cargo metadata --format-version 1 --no-deps`;
/// `repo_root` is the repository's absolute path, to make paths relative.
pub fn cargo_from_metadata(
    json: &str,
    repo_root: &str,
    tree: &dyn Tree,
) -> Result<Workspace, ParseError> {
    let metadata: Metadata =
        serde_json::from_str(json).map_err(|e| ParseError::json("cargo metadata", &e))?;
    let repo_root = repo_root.trim_end_matches('/');
    let relative = |absolute: &str| -> Result<String, ParseError> {
        let absolute = absolute.replace('\\', "/");
        match absolute.strip_prefix(repo_root) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                Ok(rest.trim_start_matches('/').to_owned())
            }
            _ => Err(ParseError::line(
                "cargo metadata",
                1,
                1,
                format!("`{absolute}` is outside the repository"),
            )),
        }
    };
    let members: BTreeSet<&str> = metadata
        .workspace_members
        .iter()
        .map(String::as_str)
        .collect();
    let mut packages = Vec::new();
    let mut member_dirs = BTreeMap::new();
    for package in metadata
        .packages
        .iter()
        .filter(|p| members.contains(p.id.as_str()))
    {
        let manifest = relative(&package.manifest_path)?;
        member_dirs.insert(super::parent(&manifest).to_owned(), package.name.clone());
    }
    for package in metadata
        .packages
        .iter()
        .filter(|p| members.contains(p.id.as_str()))
    {
        let manifest = relative(&package.manifest_path)?;
        let dir = super::parent(&manifest).to_owned();
        let mut deps = Vec::new();
        let mut path_deps = Vec::new();
        for dep in &package.dependencies {
            let Some(path) = &dep.path else { continue };
            let dep_dir = relative(path)?;
            match member_dirs.get(&dep_dir) {
                Some(name) if *name != package.name => deps.push(name.clone()),
                Some(_) => {}
                None => path_deps.push(dep_dir),
            }
        }
        deps.sort();
        deps.dedup();
        path_deps.sort();
        path_deps.dedup();
        packages.push(Package {
            ecosystem: Ecosystem::Cargo,
            name: package.name.clone(),
            dir,
            manifest,
            deps,
            path_deps,
            scripts: Vec::new(),
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let root = relative(&metadata.workspace_root)?;
    Ok(Workspace {
        ecosystem: Ecosystem::Cargo,
        lockfiles: lockfiles(tree, &root, &["Cargo.lock"]),
        root_manifest: tree
            .read(&join(&root, "Cargo.toml"))
            .map(|_| join(&root, "Cargo.toml")),
        root,
        detected_from: "`cargo metadata --format-version 1 --no-deps`".to_owned(),
        packages,
        root_scripts: Vec::new(),
        flags: Vec::new(),
    })
}

/// A Cargo workspace from its manifests alone (what the planner reads; `sift
/// init` prefers `cargo metadata`): `[workspace] members`/`exclude` globs,
/// a root `[package]`, and path dependencies (also through
/// `[workspace.dependencies]`).
pub fn cargo_from_manifests(tree: &dyn Tree, dir: &str) -> Result<Option<Workspace>, ParseError> {
    let manifest_path = join(dir, "Cargo.toml");
    let Some(root) = read_toml(tree, &manifest_path)? else {
        return Ok(None);
    };
    let workspace = root.get("workspace");
    let globs = toml_strings(workspace.and_then(|w| w.get("members")));
    let excludes = toml_strings(workspace.and_then(|w| w.get("exclude")));
    let mut dirs = expand_members(tree, dir, &globs, &excludes, "Cargo.toml", &manifest_path)?;
    if root.get("package").is_some() {
        dirs.insert(0, dir.to_owned());
    }
    let shared = workspace
        .and_then(|w| w.get("dependencies"))
        .and_then(toml::Value::as_table);
    let mut manifests = Vec::new();
    for member_dir in &dirs {
        let path = join(member_dir, "Cargo.toml");
        let table = if member_dir == dir {
            Some(root.clone())
        } else {
            read_toml(tree, &path)?
        };
        let Some(table) = table else { continue };
        let Some(name) = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
        else {
            return Err(ParseError::line(
                &path,
                1,
                1,
                "a workspace member needs `[package] name`",
            ));
        };
        manifests.push((member_dir.clone(), path, name.to_owned(), table));
    }
    let by_dir: BTreeMap<&str, &str> = manifests
        .iter()
        .map(|(d, _, n, _)| (d.as_str(), n.as_str()))
        .collect();
    let mut packages = Vec::new();
    for (member_dir, path, name, table) in &manifests {
        let mut deps = Vec::new();
        let mut path_deps = Vec::new();
        for (_, spec) in cargo_dependencies(table) {
            let (base, dep_path) = match spec.get("path").and_then(toml::Value::as_str) {
                Some(p) => (member_dir.as_str(), Some(p)),
                None if spec.get("workspace").and_then(toml::Value::as_bool) == Some(true) => {
                    let key = spec
                        .get("__name")
                        .and_then(toml::Value::as_str)
                        .unwrap_or_default();
                    (
                        dir,
                        shared
                            .and_then(|s| s.get(key))
                            .and_then(|d| d.get("path"))
                            .and_then(toml::Value::as_str),
                    )
                }
                None => (member_dir.as_str(), None),
            };
            let Some(dep_path) = dep_path else { continue };
            let Some(dep_dir) = normalize_join(base, dep_path) else {
                continue;
            };
            match by_dir.get(dep_dir.as_str()) {
                Some(dep) if *dep != name => deps.push((*dep).to_owned()),
                Some(_) => {}
                None => path_deps.push(dep_dir),
            }
        }
        deps.sort();
        deps.dedup();
        path_deps.sort();
        path_deps.dedup();
        packages.push(Package {
            ecosystem: Ecosystem::Cargo,
            name: name.clone(),
            dir: member_dir.clone(),
            manifest: path.clone(),
            deps,
            path_deps,
            scripts: Vec::new(),
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(Workspace {
        ecosystem: Ecosystem::Cargo,
        root: dir.to_owned(),
        detected_from: "Cargo.toml `[workspace]`".to_owned(),
        lockfiles: lockfiles(tree, dir, &["Cargo.lock"]),
        root_manifest: Some(manifest_path),
        packages,
        root_scripts: Vec::new(),
        flags: Vec::new(),
    }))
}

/// Every dependency table entry of a Cargo manifest, target-specific ones
/// included: (name, spec as a table with `__name` added).
pub fn cargo_dependencies(table: &toml::Table) -> Vec<(String, toml::Table)> {
    let mut out = Vec::new();
    let mut sections: Vec<&toml::Table> = Vec::new();
    for key in [
        "dependencies",
        "dev-dependencies",
        "build-dependencies",
        "dev_dependencies",
        "build_dependencies",
    ] {
        if let Some(t) = table.get(key).and_then(toml::Value::as_table) {
            sections.push(t);
        }
    }
    if let Some(targets) = table.get("target").and_then(toml::Value::as_table) {
        for target in targets.values().filter_map(toml::Value::as_table) {
            for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
                if let Some(t) = target.get(key).and_then(toml::Value::as_table) {
                    sections.push(t);
                }
            }
        }
    }
    for section in sections {
        for (name, spec) in section {
            let mut spec = match spec {
                toml::Value::Table(t) => t.clone(),
                other => {
                    let mut t = toml::Table::new();
                    t.insert("version".into(), other.clone());
                    t
                }
            };
            spec.insert("__name".into(), toml::Value::String(name.clone()));
            out.push((name.clone(), spec));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A tree in memory.
    #[derive(Default)]
    pub struct MemTree(pub BTreeMap<String, String>);

    impl MemTree {
        pub fn new(files: &[(&str, &str)]) -> MemTree {
            MemTree(
                files
                    .iter()
                    .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
                    .collect(),
            )
        }
    }

    impl Tree for MemTree {
        fn read(&self, path: &str) -> Option<String> {
            self.0.get(path).cloned()
        }

        fn list(&self, dir: &str) -> Vec<(String, bool)> {
            let prefix = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            let mut out: BTreeMap<String, bool> = BTreeMap::new();
            for path in self.0.keys() {
                if let Some(rest) = path.strip_prefix(&prefix) {
                    match rest.split_once('/') {
                        Some((first, _)) => {
                            out.insert(first.to_owned(), true);
                        }
                        None => {
                            out.entry(rest.to_owned()).or_insert(false);
                        }
                    }
                }
            }
            out.into_iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::MemTree;
    use super::*;

    fn names(ws: &Workspace) -> Vec<(String, String, Vec<String>)> {
        ws.packages
            .iter()
            .map(|p| (p.name.clone(), p.dir.clone(), p.deps.clone()))
            .collect()
    }

    #[test]
    fn npm_workspaces_with_dependencies_between_packages() {
        let tree = MemTree::new(&[
            (
                "package.json",
                r#"{"name": "shop", "private": true, "workspaces": ["packages/*", "!packages/skip"], "scripts": {"lint": "eslint ."}}"#,
            ),
            ("package-lock.json", "{}"),
            (
                "packages/web/package.json",
                r#"{"name": "@shop/web", "dependencies": {"@shop/lib": "^1.0.0", "react": "^18"}, "scripts": {"test": "node --test"}}"#,
            ),
            (
                "packages/lib/package.json",
                r#"{"name": "@shop/lib", "devDependencies": {"typescript": "^5"}}"#,
            ),
            (
                "packages/lib/fixtures/x/package.json",
                r#"{"name": "fixture"}"#,
            ),
            ("packages/skip/package.json", r#"{"name": "skip"}"#),
            (
                "packages/web/node_modules/dep/package.json",
                r#"{"name": "dep"}"#,
            ),
        ]);
        let ws = discover(&tree, "").unwrap();
        assert_eq!(ws.len(), 1);
        let ws = &ws[0];
        assert_eq!(ws.ecosystem, Ecosystem::Npm);
        assert_eq!(
            names(ws),
            [
                ("@shop/lib".to_owned(), "packages/lib".to_owned(), vec![]),
                (
                    "@shop/web".to_owned(),
                    "packages/web".to_owned(),
                    vec!["@shop/lib".to_owned()]
                ),
            ]
        );
        assert_eq!(ws.lockfiles, ["package-lock.json"]);
        assert_eq!(ws.root_scripts, ["lint"]);
        assert_eq!(ws.packages[1].scripts, ["test"]);
    }

    #[test]
    fn pnpm_and_yarn_are_told_apart() {
        let tree = MemTree::new(&[
            ("package.json", r#"{"name": "r"}"#),
            ("pnpm-workspace.yaml", "packages:\n  - 'apps/**'\n"),
            (
                "apps/a/package.json",
                r#"{"name": "a", "dependencies": {"b": "workspace:*"}}"#,
            ),
            ("apps/group/b/package.json", r#"{"name": "b"}"#),
        ]);
        let ws = &discover(&tree, "").unwrap()[0];
        assert_eq!(ws.ecosystem, Ecosystem::Pnpm);
        assert_eq!(
            names(ws)[0],
            ("a".to_owned(), "apps/a".to_owned(), vec!["b".to_owned()])
        );
        let tree = MemTree::new(&[
            (
                "package.json",
                r#"{"name": "r", "workspaces": {"packages": ["libs/*"]}}"#,
            ),
            ("yarn.lock", "__metadata:\n  version: 8\n"),
            ("libs/x/package.json", r#"{"name": "x"}"#),
        ]);
        let ws = &discover(&tree, "").unwrap()[0];
        assert_eq!(
            (ws.ecosystem, ws.flags.clone()),
            (Ecosystem::Yarn, vec!["berry".to_owned()])
        );
    }

    #[test]
    fn uv_workspace_members_and_their_workspace_dependencies() {
        let tree = MemTree::new(&[
            (
                "pyproject.toml",
                "[project]\nname = \"shop\"\nversion = \"0\"\n[tool.uv.workspace]\nmembers = [\"packages/*\"]\nexclude = [\"packages/old\"]\n[tool.ruff]\n",
            ),
            (
                "packages/api/pyproject.toml",
                "[project]\nname = \"Shop_API\"\ndependencies = [\"shop-lib>=0.1 ; python_version>'3'\", \"requests\"]\n[tool.uv.sources]\nshop-lib = { workspace = true }\n",
            ),
            (
                "packages/lib/pyproject.toml",
                "[project]\nname = \"shop-lib\"\n",
            ),
            ("packages/old/pyproject.toml", "[project]\nname = \"old\"\n"),
        ]);
        let ws = &discover(&tree, "").unwrap()[0];
        assert_eq!(
            names(ws),
            [
                (
                    "Shop_API".to_owned(),
                    "packages/api".to_owned(),
                    vec!["shop-lib".to_owned()]
                ),
                ("shop".to_owned(), String::new(), vec![]),
                ("shop-lib".to_owned(), "packages/lib".to_owned(), vec![]),
            ]
        );
        assert_eq!(ws.flags, ["ruff"]);
    }

    #[test]
    fn go_work_modules_and_their_requires() {
        let tree = MemTree::new(&[
            ("go.work", "go 1.22\nuse (\n\t./api\n\t./lib\n)\n"),
            (
                "api/go.mod",
                "module example.com/shop/api\n\ngo 1.22\n\nrequire example.com/shop/lib v0.0.0\n",
            ),
            ("lib/go.mod", "module example.com/shop/lib\n\ngo 1.22\n"),
            ("lib/go.sum", ""),
        ]);
        let ws = &discover(&tree, "").unwrap()[0];
        assert_eq!(
            names(ws)[0],
            (
                "example.com/shop/api".to_owned(),
                "api".to_owned(),
                vec!["example.com/shop/lib".to_owned()]
            )
        );
        assert_eq!(ws.lockfiles, ["lib/go.sum"]);
    }

    #[test]
    fn cargo_manifests_and_metadata_agree() {
        let tree = MemTree::new(&[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"crates/*\"]\n[workspace.dependencies]\ncore = { path = \"crates/core\" }\n",
            ),
            (
                "crates/core/Cargo.toml",
                "[package]\nname = \"core\"\n[dependencies]\nvendored = { path = \"../../vendor/v\" }\n",
            ),
            (
                "crates/app/Cargo.toml",
                "[package]\nname = \"app\"\n[dependencies]\ncore.workspace = true\n[target.'cfg(unix)'.dev-dependencies]\ncore = { path = \"../core\" }\n",
            ),
        ]);
        let from_manifests = cargo_from_manifests(&tree, "").unwrap().unwrap();
        assert_eq!(
            names(&from_manifests),
            [
                (
                    "app".to_owned(),
                    "crates/app".to_owned(),
                    vec!["core".to_owned()]
                ),
                ("core".to_owned(), "crates/core".to_owned(), vec![]),
            ]
        );
        assert_eq!(from_manifests.packages[1].path_deps, ["vendor/v"]);
        let json = r#"{"packages": [
            {"name": "app", "id": "app 0.1.0", "manifest_path": "/r/crates/app/Cargo.toml", "dependencies": [{"name": "core", "path": "/r/crates/core"}, {"name": "serde"}]},
            {"name": "core", "id": "core 0.1.0", "manifest_path": "/r/crates/core/Cargo.toml", "dependencies": [{"name": "v", "path": "/r/vendor/v"}]}
        ], "workspace_members": ["app 0.1.0", "core 0.1.0"], "workspace_root": "/r"}"#;
        let from_metadata = cargo_from_metadata(json, "/r", &tree).unwrap();
        assert_eq!(names(&from_metadata), names(&from_manifests));
        assert_eq!(from_metadata.packages[1].path_deps, ["vendor/v"]);
        assert!(cargo_from_metadata(r#"{"packages": []"#, "/r", &tree).is_err());
    }

    #[test]
    fn a_broken_manifest_is_an_error_with_its_position() {
        let tree = MemTree::new(&[("package.json", "{\"name\": \"x\",\n  \"workspaces\": [}\n")]);
        let e = discover(&tree, "").unwrap_err();
        assert_eq!((e.path.as_str(), e.line), ("package.json", 2), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn discovery_never_panics(manifest in "\\PC{0,120}", member in "\\PC{0,80}") {
            for (root, file) in [("package.json", "packages/a/package.json"), ("pyproject.toml", "packages/a/pyproject.toml"), ("go.work", "a/go.mod"), ("Cargo.toml", "crates/a/Cargo.toml")] {
                let tree = MemTree::new(&[(root, &manifest), (file, &member)]);
                let _ = discover(&tree, "");
                let _ = cargo_from_manifests(&tree, "");
            }
        }
    }
}

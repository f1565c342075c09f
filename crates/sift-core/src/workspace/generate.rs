//! `sift init`: a `sift.toml` from the workspaces, with comments saying what
//! was detected and why each rule exists.
//!
//! One exclusive component per package and a rule mapping its directory to
//! it; a `test-<package>` task that schedules the package and every package
//! it depends on, transitively (so a change keeps the tests of its
//! dependents); `lockfile`/`manifest` rules for lockfiles and root
//! manifests; inclusive components by file type for linters and formatters;
//! docs. Only patterns that match a file are written, so the result passes
//! `sift check --deny-warnings`.
//!
//! Hand additions survive regeneration through `[init] keep`: the tasks and
//! components it names (and the rules naming those components) are copied
//! as written, as are the sections init never writes (`include`, `[store]`,
//! `[cache]`, `[backstop]`, `[ci.*]`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{Ecosystem, Package, Workspace};
use crate::pattern::Pattern;

/// What `sift init` produced.
#[derive(Debug)]
pub struct Generated {
    pub text: String,
    /// Hand-written tasks and components of the previous file that were not
    /// kept (not named in `[init] keep`), for a warning.
    pub dropped: Vec<String>,
    pub packages: usize,
    pub tasks: usize,
}

/// A package with the component it gets.
struct Unit<'a> {
    ws: &'a Workspace,
    package: &'a Package,
    component: String,
    /// Its test task, if it gets one.
    test: Option<String>,
}

const RESERVED: [&str; 5] = ["docs", "rust-format", "rust-lint", "js-lint", "python-lint"];

fn short_name(package: &Package) -> String {
    match package.ecosystem {
        Ecosystem::Go => package
            .name
            .rsplit('/')
            .find(|s| {
                !(s.len() > 1 && s.starts_with('v') && s[1..].chars().all(|c| c.is_ascii_digit()))
            })
            .unwrap_or(&package.name)
            .to_owned(),
        _ => package.name.clone(),
    }
}

fn quoted(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| toml_string(i)).collect();
    format!("[{}]", inner.join(", "))
}

fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, quoted otherwise.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

/// The parts of a dotted header key: `tasks."a.b".env` → `tasks`, `a.b`, `env`.
fn key_parts(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = key.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (None, '.') => parts.push(std::mem::take(&mut current).trim().to_owned()),
            (None, c) if c.is_whitespace() => {}
            (_, c) => current.push(c),
        }
    }
    parts.push(current.trim().to_owned());
    parts
}

/// A glob-safe directory pattern: `dir/**`, `**` for the root.
fn dir_pattern(dir: &str) -> String {
    if dir.is_empty() {
        return "**".to_owned();
    }
    let mut out = String::new();
    for c in dir.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("/**");
    out
}

/// The patterns that match at least one file.
fn matching(patterns: &[&str], files: &[String]) -> Vec<String> {
    patterns
        .iter()
        .filter(|p| Pattern::new(p).is_ok_and(|pattern| files.iter().any(|f| pattern.matches(f))))
        .map(|p| (*p).to_owned())
        .collect()
}

fn test_command(package: &Package, ws: &Workspace) -> Option<String> {
    let at_root = package.dir == ws.root;
    let name = &package.name;
    let js_has_test = package.scripts.iter().any(|s| s == "test");
    Some(match package.ecosystem {
        Ecosystem::Cargo => format!("cargo test -p {name}"),
        Ecosystem::Npm if !js_has_test => return None,
        Ecosystem::Pnpm if !js_has_test => return None,
        Ecosystem::Yarn if !js_has_test => return None,
        Ecosystem::Npm if at_root => "npm test".to_owned(),
        Ecosystem::Pnpm if at_root => "pnpm test".to_owned(),
        Ecosystem::Yarn if at_root => "yarn test".to_owned(),
        Ecosystem::Npm => format!("npm test --workspace {}", shell_word(name)),
        Ecosystem::Pnpm => format!("pnpm --filter {} test", shell_word(name)),
        Ecosystem::Yarn => format!("yarn workspace {} test", shell_word(name)),
        Ecosystem::Uv => format!("uv run --package {} pytest", shell_word(name)),
        Ecosystem::Go if package.dir.is_empty() => "go test ./...".to_owned(),
        Ecosystem::Go => format!("go test ./{}/...", shell_word(&package.dir)),
    })
}

/// A word for `sh -c`, quoted when it needs to be.
fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "@/._-+=:,".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The hand-written parts of an existing `sift.toml` that are kept.
#[derive(Default)]
struct Kept {
    names: BTreeSet<String>,
    /// Kept components with their kind (true: exclusive).
    components: Vec<(String, bool)>,
    /// `[tasks.NAME]` text by name.
    tasks: BTreeMap<String, String>,
    /// `[[rules]]` naming a kept component, as written.
    rules: Vec<String>,
    /// `[store]`, `[cache]`, `[backstop]`, `[ci.*]`, as written.
    sections: Vec<String>,
    include: Option<String>,
    /// Tasks and components of the old file that are neither kept nor generated.
    dropped: Vec<String>,
}

/// Top-level sections: (header key, text from its leading comments to the
/// next section's). Headers are found by the TOML parser, so a `[` inside a
/// multi-line string is never one.
fn sections(text: &str) -> Vec<(String, String)> {
    use toml_parser::parser::{Event, EventKind};
    let source = toml_parser::Source::new(text);
    let tokens = source.lex().into_vec();
    let mut headers: Vec<(usize, usize)> = Vec::new();
    let mut open: Option<usize> = None;
    let mut receiver = |event: Event| match event.kind() {
        EventKind::StdTableOpen | EventKind::ArrayTableOpen => open = Some(event.span().start()),
        EventKind::StdTableClose | EventKind::ArrayTableClose => {
            if let Some(start) = open.take() {
                headers.push((start, event.span().end()));
            }
        }
        _ => {}
    };
    let mut errors: Option<toml_parser::ParseError> = None;
    toml_parser::parser::parse_document(&tokens, &mut receiver, &mut errors);
    // Each section starts at the comment lines right above its header.
    let starts: Vec<usize> = headers
        .iter()
        .map(|&(start, _)| {
            let mut begin = text[..start].rfind('\n').map_or(0, |i| i + 1);
            while begin > 0 {
                let previous = text[..begin - 1].rfind('\n').map_or(0, |i| i + 1);
                if text[previous..begin].trim_start().starts_with('#') {
                    begin = previous;
                } else {
                    break;
                }
            }
            begin
        })
        .collect();
    headers
        .iter()
        .enumerate()
        .map(|(i, &(start, end))| {
            let key = text[start..end]
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned();
            let until = starts.get(i + 1).copied().unwrap_or(text.len());
            let body = text[starts[i]..until].trim_end().to_owned();
            (key, body)
        })
        .collect()
}

fn toml_list(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn kept(
    existing: &str,
    generated_tasks: &BTreeSet<String>,
    generated_components: &BTreeSet<String>,
) -> Result<Kept, String> {
    let table: toml::Table = existing.parse().map_err(|e: toml::de::Error| {
        format!(
            "the existing sift.toml is not valid TOML: {}",
            e.message().trim()
        )
    })?;
    let mut kept = Kept {
        names: toml_list(table.get("init").and_then(|i| i.get("keep")))
            .into_iter()
            .collect(),
        ..Kept::default()
    };
    let components = table.get("components");
    let exclusive: Vec<String> = match components.and_then(|c| c.get("exclusive")) {
        Some(toml::Value::Table(families)) => {
            families.values().flat_map(|v| toml_list(Some(v))).collect()
        }
        other => toml_list(other),
    };
    let inclusive = toml_list(components.and_then(|c| c.get("inclusive")));
    for (name, is_exclusive) in exclusive
        .iter()
        .map(|n| (n, true))
        .chain(inclusive.iter().map(|n| (n, false)))
    {
        if kept.names.contains(name) {
            kept.components.push((name.clone(), is_exclusive));
        } else if !generated_components.contains(name) {
            kept.dropped.push(format!("component `{name}`"));
        }
    }
    let task_names: Vec<String> = table
        .get("tasks")
        .and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    for name in &task_names {
        if !kept.names.contains(name) && !generated_tasks.contains(name) {
            kept.dropped.push(format!("task `{name}`"));
        }
    }
    let kept_components: BTreeSet<&String> = kept.components.iter().map(|(n, _)| n).collect();
    for (key, body) in sections(existing) {
        let parts = key_parts(&key);
        match parts[0].as_str() {
            "tasks" => {
                let name = parts.get(1).map(String::as_str).unwrap_or_default();
                if kept.names.contains(name) {
                    let entry = kept.tasks.entry(name.to_owned()).or_default();
                    if !entry.is_empty() {
                        entry.push_str("\n\n");
                    }
                    entry.push_str(&body);
                }
            }
            "rules" => {
                let header_end = body.find("[[rules]]").map_or(0, |i| i + "[[rules]]".len());
                let rule: toml::Table = body[header_end..].parse().unwrap_or_default();
                let names = toml_list(rule.get("exclusive"))
                    .into_iter()
                    .chain(toml_list(rule.get("inclusive")));
                if names.into_iter().any(|n| kept_components.contains(&n)) {
                    kept.rules.push(body);
                }
            }
            "store" | "cache" | "backstop" | "ci" => kept.sections.push(body),
            _ => {}
        }
    }
    if let Some(include) = table.get("include") {
        kept.include = Some(format!("include = {}", quoted(&toml_list(Some(include)))));
    }
    for name in &kept.names {
        if !kept.tasks.contains_key(name)
            && !kept_components.contains(name)
            && task_names.contains(name)
        {
            return Err(format!(
                "`[init] keep` names task `{name}`, which is not written as its own [tasks.{name}] table"
            ));
        }
    }
    Ok(kept)
}

/// Builds the file. `files` are the repository's tracked files (patterns
/// that match none are left out); `existing` is the current `sift.toml`.
pub fn generate(
    workspaces: &[Workspace],
    files: &[String],
    existing: Option<&str>,
) -> Result<Generated, String> {
    // Components, one per package, unique across ecosystems.
    let mut units: Vec<Unit> = Vec::new();
    let mut base_count: BTreeMap<String, usize> = BTreeMap::new();
    for ws in workspaces {
        for package in &ws.packages {
            *base_count.entry(short_name(package)).or_default() += 1;
        }
    }
    let mut taken: BTreeSet<String> = RESERVED.iter().map(|s| (*s).to_owned()).collect();
    for ws in workspaces {
        for package in &ws.packages {
            let base = short_name(package);
            let mut name = if base_count[&base] > 1 || taken.contains(&base) {
                format!("{base}-{}", package.ecosystem.key())
            } else {
                base.clone()
            };
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}-{}-{n}", package.ecosystem.key());
                n += 1;
            }
            name = name
                .chars()
                .map(|c| {
                    if c.is_whitespace() || c.is_control() {
                        '-'
                    } else {
                        c
                    }
                })
                .collect();
            taken.insert(name.clone());
            units.push(Unit {
                ws,
                package,
                component: name,
                test: None,
            });
        }
    }
    let component_of = |ws: &Workspace, name: &str, units: &[Unit]| -> Option<String> {
        units
            .iter()
            .find(|u| std::ptr::eq(u.ws, ws) && u.package.name == name)
            .map(|u| u.component.clone())
    };
    // Test tasks and what they schedule.
    let mut tests: BTreeMap<String, (Vec<String>, String, String)> = BTreeMap::new();
    for i in 0..units.len() {
        let (ws, package) = (units[i].ws, units[i].package);
        let Some(run) = test_command(package, ws) else {
            continue;
        };
        let mut schedules = vec![units[i].component.clone()];
        let deps = ws.transitive_deps(&package.name);
        schedules.extend(deps.iter().filter_map(|d| component_of(ws, d, &units)));
        schedules.sort();
        schedules.dedup();
        let task = format!("test-{}", units[i].component);
        let comment = if deps.is_empty() {
            format!(
                "{} package `{}`: its own tests.",
                ws.ecosystem.title(),
                package.name
            )
        } else {
            format!(
                "{} package `{}` and what it depends on: {}.",
                ws.ecosystem.title(),
                package.name,
                deps.join(", ")
            )
        };
        units[i].test = Some(task.clone());
        tests.insert(task, (schedules, run, comment));
    }
    let used: BTreeSet<&String> = tests.values().flat_map(|(s, _, _)| s).collect();

    // Linters, formatters and docs by file type.
    let has = |e: Ecosystem| workspaces.iter().any(|w| w.ecosystem == e);
    let js = workspaces.iter().find(|w| {
        matches!(
            w.ecosystem,
            Ecosystem::Npm | Ecosystem::Pnpm | Ecosystem::Yarn
        )
    });
    let uv = workspaces.iter().find(|w| w.ecosystem == Ecosystem::Uv);
    let go = workspaces.iter().find(|w| w.ecosystem == Ecosystem::Go);
    // (component, patterns, comment), (task, component, run, comment)
    let mut inclusive: Vec<(String, Vec<String>, String)> = Vec::new();
    let mut extra_tasks: Vec<(String, String, String, String)> = Vec::new();
    let mut add = |component: &str,
                   patterns: Vec<String>,
                   comment: &str,
                   tasks: Vec<(&str, String, &str)>| {
        if patterns.is_empty() {
            return;
        }
        inclusive.push((component.to_owned(), patterns, comment.to_owned()));
        for (task, run, task_comment) in tasks {
            extra_tasks.push((
                task.to_owned(),
                component.to_owned(),
                run,
                task_comment.to_owned(),
            ));
        }
    };
    if has(Ecosystem::Cargo) {
        add(
            "rust-format",
            matching(&["**/*.rs", "rustfmt.toml", ".rustfmt.toml"], files),
            "Rust sources and rustfmt's settings: the formatter's inputs.",
            vec![(
                "format-rust",
                "cargo fmt --all --check".into(),
                "Formatting of every Rust file.",
            )],
        );
        add(
            "rust-lint",
            matching(
                &[
                    "**/*.rs",
                    "**/Cargo.toml",
                    "Cargo.lock",
                    "clippy.toml",
                    ".clippy.toml",
                ],
                files,
            ),
            "Rust sources, manifests and clippy's settings: the linter's inputs.",
            vec![(
                "lint-rust",
                "cargo clippy --workspace --all-targets -- -D warnings".into(),
                "Clippy over the whole workspace.",
            )],
        );
    }
    if let Some(ws) = js.filter(|w| w.root_scripts.iter().any(|s| s == "lint")) {
        let run = match ws.ecosystem {
            Ecosystem::Pnpm => "pnpm run lint",
            Ecosystem::Yarn => "yarn lint",
            _ => "npm run lint",
        };
        add(
            "js-lint",
            matching(
                &[
                    "**/*.{js,jsx,ts,tsx,mjs,cjs,mts,cts}",
                    "eslint.config.*",
                    ".eslintrc*",
                    "tsconfig*.json",
                ],
                files,
            ),
            "JavaScript and TypeScript sources and the linter's settings.",
            vec![(
                "lint-js",
                run.into(),
                "The root package.json's `lint` script.",
            )],
        );
    }
    if let Some(_ws) = uv.filter(|w| w.flags.iter().any(|f| f == "ruff")) {
        add(
            "python-lint",
            matching(&["**/*.py", "**/*.pyi", "ruff.toml", ".ruff.toml"], files),
            "Python sources and ruff's settings.",
            vec![
                (
                    "lint-python",
                    "uv run ruff check".into(),
                    "ruff's linter (configured in this repository).",
                ),
                (
                    "format-python",
                    "uv run ruff format --check".into(),
                    "ruff's formatter.",
                ),
            ],
        );
    }
    if let Some(ws) = go {
        let dirs: Vec<String> = ws
            .packages
            .iter()
            .map(|p| {
                if p.dir.is_empty() {
                    "./...".to_owned()
                } else {
                    format!("./{}/...", shell_word(&p.dir))
                }
            })
            .collect();
        add(
            "go-lint",
            matching(&["**/*.go", "**/go.mod"], files),
            "Go sources and modules: gofmt's and go vet's inputs.",
            vec![
                (
                    "format-go",
                    "test -z \"$(gofmt -l .)\"".into(),
                    "gofmt lists no file to reformat.",
                ),
                (
                    "lint-go",
                    format!("go vet {}", dirs.join(" ")),
                    "go vet over every module.",
                ),
            ],
        );
    }
    let docs_run = if has(Ecosystem::Cargo) {
        Some("cargo doc --workspace --no-deps".to_owned())
    } else {
        js.filter(|w| w.root_scripts.iter().any(|s| s == "docs"))
            .map(|w| match w.ecosystem {
                Ecosystem::Pnpm => "pnpm run docs".to_owned(),
                Ecosystem::Yarn => "yarn docs".to_owned(),
                _ => "npm run docs".to_owned(),
            })
    };
    let docs_patterns = matching(&["**/*.md", "**/*.rst"], files);
    let docs = docs_run.filter(|_| !docs_patterns.is_empty());

    // Hand additions.
    let mut generated_tasks: BTreeSet<String> = tests.keys().cloned().collect();
    generated_tasks.extend(extra_tasks.iter().map(|t| t.0.clone()));
    if docs.is_some() {
        generated_tasks.insert("docs".into());
    }
    let mut generated_components: BTreeSet<String> =
        units.iter().map(|u| u.component.clone()).collect();
    generated_components.extend(inclusive.iter().map(|c| c.0.clone()));
    generated_components.insert("docs".into());
    let kept = match existing_text(existing) {
        Some(text) => kept(text, &generated_tasks, &generated_components)?,
        None => Kept::default(),
    };

    let mut out = String::new();
    let packages: usize = workspaces.iter().map(|w| w.packages.len()).sum();
    let _ = writeln!(
        out,
        "# sift.toml, generated by `sift init` from the package managers' own"
    );
    let _ = writeln!(out, "# workspace graphs:");
    for ws in workspaces {
        let lock = if ws.lockfiles.is_empty() {
            "no lockfile".to_owned()
        } else {
            ws.lockfiles.join(", ")
        };
        let _ = writeln!(
            out,
            "#   {} ({}): {} package(s); {}",
            ws.ecosystem.title(),
            ws.detected_from,
            ws.packages.len(),
            lock
        );
    }
    let _ = writeln!(out, "#");
    let _ = writeln!(
        out,
        "# Regenerate it with `sift init --force` when packages come and go;"
    );
    let _ = writeln!(
        out,
        "# `sift init --check` (in CI) fails when it no longer matches the workspaces."
    );
    let _ = writeln!(
        out,
        "# Hand-written tasks and components are kept across regeneration when"
    );
    let _ = writeln!(out, "# `[init] keep` names them (see the README).");
    if let Some(include) = &kept.include {
        let _ = writeln!(out, "\n{include}");
    }
    if !kept.names.is_empty() {
        let names: Vec<String> = kept.names.iter().cloned().collect();
        let _ = writeln!(
            out,
            "\n[init]\n# Kept as written by `sift init --force`: these hand-written tasks and\n# components, and the rules naming the components.\nkeep = {}",
            quoted(&names)
        );
    }

    let mut exclusive: Vec<String> = units
        .iter()
        .filter(|u| used.contains(&u.component))
        .map(|u| u.component.clone())
        .collect();
    exclusive.extend(
        kept.components
            .iter()
            .filter(|(_, e)| *e)
            .map(|(n, _)| n.clone()),
    );
    exclusive.sort();
    exclusive.dedup();
    let mut inclusive_names: Vec<String> = inclusive.iter().map(|c| c.0.clone()).collect();
    if docs.is_some() {
        inclusive_names.push("docs".into());
    }
    inclusive_names.extend(
        kept.components
            .iter()
            .filter(|(_, e)| !*e)
            .map(|(n, _)| n.clone()),
    );
    inclusive_names.sort();
    inclusive_names.dedup();
    let _ = writeln!(out, "\n[components]");
    let _ = writeln!(
        out,
        "# One exclusive component per package: a file in a package's directory"
    );
    let _ = writeln!(
        out,
        "# affects that package only (and its dependents, through their tests)."
    );
    let _ = writeln!(out, "exclusive = {}", quoted(&exclusive));
    if !inclusive_names.is_empty() {
        let _ = writeln!(
            out,
            "# Inclusive components: only the files a rule names affect them (linters,"
        );
        let _ = writeln!(out, "# formatters and docs, by file type).");
        let _ = writeln!(out, "inclusive = {}", quoted(&inclusive_names));
    }

    if !docs_patterns.is_empty() {
        let _ = writeln!(out);
        match &docs {
            Some(_) => {
                let _ = writeln!(
                    out,
                    "# Documentation outside the packages affects only the docs; inside a"
                );
                let _ = writeln!(
                    out,
                    "# package it also affects the package (a later rule), as it may be compiled in."
                );
                let _ = writeln!(
                    out,
                    "[[rules]]\nfiles = {}\ninclusive = [\"docs\"]\nexclusive = []",
                    quoted(&docs_patterns)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "# Documentation outside the packages affects no task (no docs build was"
                );
                let _ = writeln!(
                    out,
                    "# detected); inside a package it affects the package (a later rule)."
                );
                let _ = writeln!(
                    out,
                    "[[rules]]\nfiles = {}\nexclusive = []",
                    quoted(&docs_patterns)
                );
            }
        }
    }
    // Package directories, shallow first so deeper packages win.
    let mut by_dir: BTreeMap<(usize, String), Vec<&Unit>> = BTreeMap::new();
    for unit in &units {
        let depth = if unit.package.dir.is_empty() {
            0
        } else {
            unit.package.dir.split('/').count()
        };
        by_dir
            .entry((depth, unit.package.dir.clone()))
            .or_default()
            .push(unit);
    }
    let mut path_deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for unit in &units {
        for dir in &unit.package.path_deps {
            if used.contains(&unit.component) {
                path_deps
                    .entry(dir.clone())
                    .or_default()
                    .push(unit.component.clone());
            }
        }
    }
    for dir in path_deps.keys() {
        let depth = dir.split('/').count();
        by_dir.entry((depth, dir.clone())).or_default();
    }
    for ((_, dir), group) in &by_dir {
        let pattern = dir_pattern(dir);
        if matching(&[&pattern], files).is_empty() {
            continue;
        }
        let _ = writeln!(out);
        let mut components: Vec<String> = Vec::new();
        if group.is_empty() {
            let users = &path_deps[dir];
            let _ = writeln!(
                out,
                "# `{dir}`: a path dependency of {}, not a workspace package.",
                users.join(", ")
            );
            components.extend(users.iter().cloned());
        }
        for unit in group {
            let label = format!(
                "{} package `{}`",
                unit.ws.ecosystem.title(),
                unit.package.name
            );
            if used.contains(&unit.component) {
                let _ = writeln!(
                    out,
                    "# {label} ({}).",
                    if dir.is_empty() {
                        "the repository root"
                    } else {
                        dir
                    }
                );
                components.push(unit.component.clone());
            } else {
                let _ = writeln!(
                    out,
                    "# {label} has no `test` script and no package depends on it: its files affect no test."
                );
            }
        }
        components.sort();
        components.dedup();
        let _ = writeln!(
            out,
            "[[rules]]\nfiles = [{}]\nexclusive = {}",
            toml_string(&pattern),
            quoted(&components)
        );
    }
    for ws in workspaces {
        if !ws.lockfiles.is_empty() {
            let mut files_list = ws.lockfiles.clone();
            if ws.ecosystem == Ecosystem::Go {
                files_list.extend(ws.packages.iter().map(|p| p.manifest.clone()));
                files_list.sort();
            }
            let _ = writeln!(
                out,
                "\n# {} lockfile: a change affects only the packages whose resolved",
                ws.ecosystem.title()
            );
            let _ = writeln!(
                out,
                "# dependencies changed (sift diffs both versions; what it cannot read or"
            );
            let _ = writeln!(out, "# attribute affects everything, with the reason).");
            let _ = writeln!(
                out,
                "[[rules]]\nfiles = {}\nlockfile = \"{}\"",
                quoted(&files_list),
                ws.ecosystem.key()
            );
        }
        if let Some(manifest) = &ws.root_manifest {
            let mut manifests = vec![manifest.clone()];
            let pnpm_yaml = super::join(&ws.root, "pnpm-workspace.yaml");
            if ws.ecosystem == Ecosystem::Pnpm && files.contains(&pnpm_yaml) {
                manifests.push(pnpm_yaml);
            }
            if matching(
                &manifests.iter().map(String::as_str).collect::<Vec<_>>(),
                files,
            )
            .is_empty()
            {
                continue;
            }
            let sections = match ws.ecosystem {
                Ecosystem::Cargo => {
                    "[workspace.dependencies], [workspace.package] and [workspace.lints]"
                }
                Ecosystem::Uv => "[tool.uv.sources] and its constraints",
                Ecosystem::Go => "`use` and `replace`",
                Ecosystem::Pnpm => "dependencies, overrides and catalogs",
                _ => "dependencies and overrides",
            };
            let _ = writeln!(out, "\n# The root manifest: a change to {sections}");
            let _ = writeln!(
                out,
                "# affects only the packages using the changed entries; other changes"
            );
            let _ = writeln!(out, "# affect everything.");
            let _ = writeln!(
                out,
                "[[rules]]\nfiles = {}\nmanifest = \"{}\"",
                quoted(&manifests),
                ws.ecosystem.key()
            );
        }
    }
    for (component, patterns, comment) in &inclusive {
        let _ = writeln!(
            out,
            "\n# {comment}\n[[rules]]\nfiles = {}\ninclusive = [\"{component}\"]",
            quoted(patterns)
        );
    }
    for rule in &kept.rules {
        let _ = writeln!(out, "\n{rule}");
    }

    let mut task_count = 0;
    let mut write_task = |out: &mut String, name: &str, body: String| {
        task_count += 1;
        match kept.tasks.get(name) {
            Some(text) => {
                let _ = writeln!(out, "\n{text}");
            }
            None => {
                let _ = writeln!(out, "\n{body}");
            }
        }
    };
    for (name, (schedules, run, comment)) in &tests {
        write_task(
            &mut out,
            name,
            format!(
                "# {comment}\n[tasks.{}]\nschedules = {}\nrun = {}",
                toml_key(name),
                quoted(schedules),
                toml_string(run)
            ),
        );
    }
    for (name, component, run, comment) in &extra_tasks {
        write_task(
            &mut out,
            name,
            format!(
                "# {comment}\n[tasks.{name}]\nschedules = [\"{component}\"]\nrun = {}",
                toml_string(run)
            ),
        );
    }
    if let Some(run) = &docs {
        write_task(
            &mut out,
            "docs",
            format!(
                "# The documentation build.\n[tasks.docs]\nschedules = [\"docs\"]\nrun = {}",
                toml_string(run)
            ),
        );
    }
    for (name, text) in &kept.tasks {
        if !generated_tasks.contains(name) {
            task_count += 1;
            let _ = writeln!(out, "\n{text}");
        }
    }
    for section in &kept.sections {
        let _ = writeln!(out, "\n{section}");
    }
    Ok(Generated {
        text: out,
        dropped: kept.dropped,
        packages,
        tasks: task_count,
    })
}

fn existing_text(existing: Option<&str>) -> Option<&str> {
    existing.filter(|t| !t.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::discover::testing::MemTree;
    use crate::workspace::discover::{cargo_from_manifests, discover};

    fn cargo_workspace() -> (MemTree, Vec<String>) {
        let tree = MemTree::new(&[
            ("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\n"),
            ("Cargo.lock", "version = 4\n"),
            ("README.md", "hi"),
            ("crates/core/Cargo.toml", "[package]\nname = \"core\"\n"),
            ("crates/core/src/lib.rs", ""),
            (
                "crates/io/Cargo.toml",
                "[package]\nname = \"io\"\n[dependencies]\ncore = { path = \"../core\" }\n",
            ),
            ("crates/io/src/lib.rs", ""),
            (
                "crates/cli/Cargo.toml",
                "[package]\nname = \"cli\"\n[dependencies]\nio = { path = \"../io\" }\n",
            ),
            ("crates/cli/src/main.rs", ""),
        ]);
        let files = tree.0.keys().cloned().collect();
        (tree, files)
    }

    #[test]
    fn test_tasks_schedule_their_package_and_its_dependencies_transitively() {
        let (tree, files) = cargo_workspace();
        let ws = cargo_from_manifests(&tree, "").unwrap().unwrap();
        let g = generate(&[ws], &files, None).unwrap();
        let table: toml::Table = g.text.parse().unwrap();
        let schedules = |task: &str| toml_list(table["tasks"][task].get("schedules"));
        assert_eq!(schedules("test-cli"), ["cli", "core", "io"]);
        assert_eq!(schedules("test-io"), ["core", "io"]);
        assert_eq!(schedules("test-core"), ["core"]);
        assert_eq!(
            table["tasks"]["test-io"]["run"].as_str(),
            Some("cargo test -p io")
        );
        assert_eq!(
            toml_list(table["components"].get("exclusive")),
            ["cli", "core", "io"]
        );
        assert!(g.text.contains("lockfile = \"cargo\""));
        assert!(g.text.contains("manifest = \"cargo\""));
        assert!(
            !g.text.contains("rustfmt.toml"),
            "only patterns that match a file"
        );
        assert_eq!((g.packages, g.tasks), (3, 6));
    }

    #[test]
    fn hand_additions_named_in_keep_survive_and_the_rest_is_reported() {
        let (tree, files) = cargo_workspace();
        let ws = cargo_from_manifests(&tree, "").unwrap().unwrap();
        let old = r#"include = ["ci/*.toml"]

[init]
keep = ["build", "ci-config", "test-cli"]

[components]
exclusive = { crates = ["core", "io", "cli", "old"] }
inclusive = ["ci-config"]

# CI files.
[[rules]]
files = [".ci/**"]
inclusive = ["ci-config"]

[[rules]]
files = ["crates/core/**"]
exclusive = ["core"]

# Build first.
[tasks.build]
schedules = ["core"]
run = '''
[ -d target ] || cargo build
'''

[tasks.build.env]
X = "1"

[tasks.test-cli]
schedules = ["cli"]
run = "bash scripts/test -p cli"

[tasks.gone]
always = true

[ci.gitlab]
extends = ".x"
"#;
        let g = generate(&[ws], &files, Some(old)).unwrap();
        let table: toml::Table = g.text.parse().unwrap_or_else(|e| panic!("{e}\n{}", g.text));
        assert_eq!(
            table["tasks"]["test-cli"]["run"].as_str(),
            Some("bash scripts/test -p cli")
        );
        assert_eq!(table["tasks"]["build"]["env"]["X"].as_str(), Some("1"));
        assert!(g.text.contains("# Build first.\n[tasks.build]"));
        assert!(
            g.text
                .contains("# CI files.\n[[rules]]\nfiles = [\".ci/**\"]")
        );
        assert!(
            !g.text
                .contains("crates/core/**\"]\nexclusive = [\"core\"]\n\n# Build")
        );
        assert_eq!(
            toml_list(table["components"].get("inclusive")),
            ["ci-config", "docs", "rust-format", "rust-lint"]
        );
        assert_eq!(toml_list(table.get("include")), ["ci/*.toml"]);
        assert_eq!(table["ci"]["gitlab"]["extends"].as_str(), Some(".x"));
        assert_eq!(g.dropped, ["component `old`", "task `gone`"]);
    }

    #[test]
    fn javascript_packages_without_tests_and_dependents_affect_no_test() {
        let tree = MemTree::new(&[
            (
                "package.json",
                r#"{"name": "r", "workspaces": ["p/*"], "scripts": {"lint": "eslint ."}}"#,
            ),
            (
                "p/a/package.json",
                r#"{"name": "a", "scripts": {"test": "node --test"}, "dependencies": {"b": "*"}}"#,
            ),
            ("p/a/index.js", ""),
            ("p/b/package.json", r#"{"name": "b"}"#),
            ("p/c/package.json", r#"{"name": "c"}"#),
        ]);
        let files: Vec<String> = tree.0.keys().cloned().collect();
        let g = generate(&discover(&tree, "").unwrap(), &files, None).unwrap();
        let table: toml::Table = g.text.parse().unwrap();
        assert_eq!(
            toml_list(table["tasks"]["test-a"].get("schedules")),
            ["a", "b"]
        );
        assert_eq!(
            table["tasks"]["test-a"]["run"].as_str(),
            Some("npm test --workspace a")
        );
        assert_eq!(toml_list(table["components"].get("exclusive")), ["a", "b"]);
        assert!(
            g.text
                .contains("# npm package `c` has no `test` script and no package depends on it")
        );
        assert_eq!(
            table["tasks"]["lint-js"]["run"].as_str(),
            Some("npm run lint")
        );
    }

    #[test]
    fn header_keys_split_outside_quotes() {
        assert_eq!(
            key_parts("tasks.\"test-@a/b.c\".env"),
            ["tasks", "test-@a/b.c", "env"]
        );
        assert_eq!(key_parts(" ci . gitlab "), ["ci", "gitlab"]);
        assert_eq!(toml_key("test-@a/b"), "\"test-@a/b\"");
    }

    #[test]
    fn names_that_collide_across_ecosystems_get_their_ecosystem() {
        let tree = MemTree::new(&[
            (
                "package.json",
                r#"{"name": "web", "scripts": {"test": "x"}}"#,
            ),
            ("go.mod", "module example.com/web/v2\n"),
            ("main.go", ""),
        ]);
        let files: Vec<String> = tree.0.keys().cloned().collect();
        let g = generate(&discover(&tree, "").unwrap(), &files, None).unwrap();
        let table: toml::Table = g.text.parse().unwrap();
        assert_eq!(
            toml_list(table["components"].get("exclusive")),
            ["web-go", "web-npm"]
        );
        assert_eq!(
            table["tasks"]["test-web-go"]["run"].as_str(),
            Some("go test ./...")
        );
    }
}

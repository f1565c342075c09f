//! Package-manager workspaces: the packages of a repository and how they
//! depend on each other, as Cargo, npm, pnpm, Yarn, uv and Go record them.
//!
//! - [`discover`] reads the workspace layout from the manifests (and, for
//!   Cargo, from `cargo metadata`'s JSON, which the CLI runs);
//! - [`generate`] turns it into a `sift.toml` (`sift init`), and [`drift`]
//!   compares a committed configuration with what it would generate
//!   (`sift init --check`);
//! - [`lock`] parses lockfiles into one resolved-dependency graph model and
//!   diffs two versions of one; [`manifest`] diffs root manifests'
//!   workspace-wide sections;
//! - [`resolve`] is what the planner calls for a changed lockfile or root
//!   manifest: which packages the change affects, and why.
//!
//! Pure: every file comes through [`Tree`] or [`resolve::Revisions`],
//! which the adapters implement. Every parser here is property-tested not to
//! panic, and a file it cannot read is an error the caller turns into
//! "affects every component", never a silent wrong answer.

pub mod discover;
pub mod drift;
pub mod generate;
pub mod gomod;
pub mod lock;
pub mod manifest;
pub mod resolve;
pub(crate) mod yaml;

use std::fmt;

/// A package manager sift understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecosystem {
    Cargo,
    Npm,
    Pnpm,
    Yarn,
    Uv,
    Go,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 6] = [
        Ecosystem::Cargo,
        Ecosystem::Npm,
        Ecosystem::Pnpm,
        Ecosystem::Yarn,
        Ecosystem::Uv,
        Ecosystem::Go,
    ];

    /// The name used in `sift.toml` (`lockfile = "cargo"`).
    pub fn key(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::Pnpm => "pnpm",
            Ecosystem::Yarn => "yarn",
            Ecosystem::Uv => "uv",
            Ecosystem::Go => "go",
        }
    }

    pub fn from_key(key: &str) -> Option<Ecosystem> {
        Ecosystem::ALL.into_iter().find(|e| e.key() == key)
    }

    /// For humans: `Cargo`, `npm`, ...
    pub fn title(self) -> &'static str {
        match self {
            Ecosystem::Cargo => "Cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::Pnpm => "pnpm",
            Ecosystem::Yarn => "Yarn",
            Ecosystem::Uv => "uv",
            Ecosystem::Go => "Go",
        }
    }

    /// The lockfile names this ecosystem writes (relative to the workspace root).
    pub fn lockfiles(self) -> &'static [&'static str] {
        match self {
            Ecosystem::Cargo => &["Cargo.lock"],
            Ecosystem::Npm => &["package-lock.json"],
            Ecosystem::Pnpm => &["pnpm-lock.yaml"],
            Ecosystem::Yarn => &["yarn.lock"],
            Ecosystem::Uv => &["uv.lock"],
            Ecosystem::Go => &["go.sum", "go.work.sum", "go.mod"],
        }
    }

    /// The root manifest names whose workspace-wide sections sift diffs.
    pub fn manifests(self) -> &'static [&'static str] {
        match self {
            Ecosystem::Cargo => &["Cargo.toml"],
            Ecosystem::Npm | Ecosystem::Yarn => &["package.json"],
            Ecosystem::Pnpm => &["package.json", "pnpm-workspace.yaml"],
            Ecosystem::Uv => &["pyproject.toml"],
            Ecosystem::Go => &["go.work"],
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// One package of a workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// The package manager's name for it (a Go module's path).
    pub name: String,
    /// Its directory, repository-relative (`""` for the root).
    pub dir: String,
    /// Its manifest, repository-relative (`crates/a/Cargo.toml`).
    pub manifest: String,
    /// The workspace packages it depends on (any kind of dependency), by
    /// name, sorted.
    pub deps: Vec<String>,
    /// Directories of path dependencies that are not workspace packages
    /// (Cargo), repository-relative: their files affect this package too.
    pub path_deps: Vec<String>,
    /// Its scripts (npm, pnpm, Yarn): a `test` task runs only if it has one.
    pub scripts: Vec<String>,
}

/// The packages of one package manager's workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    pub ecosystem: Ecosystem,
    /// The workspace's directory, repository-relative (`""` for the root).
    pub root: String,
    /// How it was found, for the generated file's comments.
    pub detected_from: String,
    /// Lockfiles present, repository-relative.
    pub lockfiles: Vec<String>,
    /// The root manifest, when it has workspace-wide sections sift diffs.
    pub root_manifest: Option<String>,
    /// Sorted by name.
    pub packages: Vec<Package>,
    /// The root manifest's scripts (npm, pnpm, Yarn).
    pub root_scripts: Vec<String>,
    /// Python: whether ruff is configured; Yarn: whether the lockfile is berry.
    pub flags: Vec<String>,
}

impl Workspace {
    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Every package `name` depends on, transitively, sorted (not itself).
    pub fn transitive_deps(&self, name: &str) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let mut stack: Vec<&str> = vec![name];
        while let Some(current) = stack.pop() {
            let Some(package) = self.package(current) else {
                continue;
            };
            for dep in &package.deps {
                if dep != name && !seen.contains(dep) {
                    seen.push(dep.clone());
                    stack.push(dep);
                }
            }
        }
        seen.sort();
        seen
    }
}

/// Read access to a directory tree (the repository's checkout), handed to
/// the core by an adapter. Paths are repository-relative, `/`-separated.
pub trait Tree {
    /// A file's text; `None` when it does not exist or cannot be read as text.
    fn read(&self, path: &str) -> Option<String>;
    /// A directory's entries: (name, is a directory). Empty when it does not exist.
    fn list(&self, dir: &str) -> Vec<(String, bool)>;
}

/// A file sift could not read as its format says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ParseError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    /// An error at byte `offset` of `text`.
    pub fn at(path: &str, text: &str, offset: usize, message: impl Into<String>) -> ParseError {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ParseError {
            path: path.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    pub fn line(path: &str, line: usize, column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            path: path.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    pub(crate) fn toml(path: &str, text: &str, error: &toml::de::Error) -> ParseError {
        let offset = error.span().map_or(0, |s| s.start);
        ParseError::at(path, text, offset, error.message().trim())
    }

    pub(crate) fn json(path: &str, error: &serde_json::Error) -> ParseError {
        ParseError::line(path, error.line(), error.column(), error.to_string())
    }
}

/// `dir/name`, or `name` at the root.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else if name.is_empty() {
        dir.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The directory of a repository path (`""` at the root).
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Joins a relative path (with `.` and `..`) onto `dir`; `None` when it
/// leaves the repository.
pub(crate) fn normalize_join(dir: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = if relative.starts_with('/') {
        return None;
    } else {
        dir.split('/').filter(|s| !s.is_empty()).collect()
    };
    for segment in relative.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_stay_inside_the_repository() {
        assert_eq!(normalize_join("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(normalize_join("", "./x/"), Some("x".to_owned()));
        assert_eq!(normalize_join("a", "../.."), None);
        assert_eq!(normalize_join("a", "/etc"), None);
    }

    #[test]
    fn error_positions_count_lines_and_columns() {
        let e = ParseError::at("f", "ab\ncd", 4, "bad");
        assert_eq!((e.line, e.column), (2, 2));
        assert_eq!(e.to_string(), "f:2:2: bad");
    }
}

//! `sift init`: a sift.toml from the package managers' workspaces at the
//! root. Cargo's is read with `cargo metadata` (the manifests alone when
//! cargo is not installed); the others from their manifests. `--check`
//! compares the committed file with what would be generated.

use std::path::Path;
use std::process::Command;

use sift_core::diagnostic::SourceFile;
use sift_core::select::rules::RULE_FILE;
use sift_core::workspace::generate::generate;
use sift_core::workspace::{Workspace, discover, drift};
use sift_core::{Config, ConfigLoadError};

use super::workspace::DiskTree;
use crate::cli::InitArgs;
use crate::error::CliError;
use crate::{exit, output};

pub fn run(root: &Path, args: InitArgs) -> Result<u8, CliError> {
    let tree = DiskTree {
        root: root.to_owned(),
    };
    let mut workspaces = Vec::new();
    if let Some(cargo) = cargo_workspace(root, &tree)? {
        workspaces.push(cargo);
    }
    workspaces.extend(discover::discover(&tree, "").map_err(|e| CliError::Input {
        message: format!("cannot read the workspace: {e}"),
        hint: Some("fix the manifest, then run `sift init` again".to_owned()),
    })?);
    if workspaces.iter().all(|w| w.packages.is_empty()) {
        return Err(CliError::Usage {
            message: format!("no Cargo, npm, pnpm, Yarn, uv or Go workspace at `{}`", root.display()),
            hint: Some("run `sift init` at the repository root, or write a sift.toml by hand (see the README)".to_owned()),
        });
    }
    let files = work_tree_files(root);
    let path = root.join(RULE_FILE);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(CliError::io(format!("cannot read `{}`", path.display()), e)),
    };
    let generated =
        generate(&workspaces, &files, existing.as_deref()).map_err(|message| CliError::Usage {
            message,
            hint: Some("fix sift.toml, or move it away and run `sift init` again".to_owned()),
        })?;
    // What init writes must load: anything else is a bug, or a kept task
    // that names a component the workspace no longer has.
    let config = Config::from_source(root, SourceFile::new(RULE_FILE, generated.text.clone()))
        .map_err(|e| {
            output::print_diagnostics(&e.0);
            CliError::Usage {
                message: "the generated sift.toml is invalid (see above)".to_owned(),
                hint: Some(
                    "a task kept by `[init] keep` may name a component that no longer exists"
                        .to_owned(),
                ),
            }
        })?;
    if args.check {
        let Some(_) = &existing else {
            return Err(CliError::ConfigMissing {
                message: format!("no sift.toml at `{}`", root.display()),
                hint: "run `sift init` to write one".to_owned(),
            });
        };
        let committed = match Config::load(root) {
            Ok(config) => config,
            Err(ConfigLoadError::Invalid(e)) => return Err(CliError::Config(e.0)),
            Err(other) => {
                return Err(CliError::Usage {
                    message: other.to_string(),
                    hint: None,
                });
            }
        };
        let lines = drift::drift(&config, &committed, &files);
        if lines.is_empty() {
            eprintln!(
                "sift.toml matches the workspaces ({} packages, {} tasks)",
                generated.packages, generated.tasks
            );
            return Ok(exit::OK);
        }
        let mut out = String::new();
        for line in &lines {
            out.push_str(line);
            out.push('\n');
        }
        super::plan::print_stdout(&out)?;
        eprintln!(
            "sift.toml has drifted from the workspaces: {} difference(s); `sift init --force` regenerates it",
            lines.len()
        );
        return Err(CliError::Reported(exit::DRIFT));
    }
    if args.print {
        super::plan::print_stdout(&generated.text)?;
        return Ok(exit::OK);
    }
    if existing.is_some() && !args.force {
        return Err(CliError::Usage {
            message: format!("`{}` exists", path.display()),
            hint: Some("pass --force to regenerate it (tasks and components named in `[init] keep` are kept), or --print to see the result".to_owned()),
        });
    }
    for dropped in &generated.dropped {
        output::warning(&format!(
            "dropping hand-written {dropped}: name it in `[init] keep` to keep it"
        ));
    }
    std::fs::write(&path, &generated.text)
        .map_err(|e| CliError::io(format!("cannot write `{}`", path.display()), e))?;
    let summary: Vec<String> = workspaces
        .iter()
        .map(|w| format!("{} {}", w.ecosystem.title(), w.packages.len()))
        .collect();
    eprintln!(
        "wrote {RULE_FILE}: {} package(s) ({}), {} task(s); check it with `sift check --deny-warnings`",
        generated.packages,
        summary.join(", "),
        generated.tasks
    );
    Ok(exit::OK)
}

/// The Cargo workspace at the root, from `cargo metadata`, else from the
/// manifests (with a note) when cargo is not installed.
fn cargo_workspace(root: &Path, tree: &DiskTree) -> Result<Option<Workspace>, CliError> {
    if !root.join("Cargo.toml").is_file() {
        return Ok(None);
    }
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            output::note("cargo is not installed: reading the Cargo workspace from its manifests");
            return discover::cargo_from_manifests(tree, "").map_err(|e| CliError::Input {
                message: format!("cannot read the Cargo workspace: {e}"),
                hint: None,
            });
        }
        Err(e) => return Err(CliError::io("cannot run `cargo metadata`", e)),
    };
    if !output.status.success() {
        return Err(CliError::Input {
            message: format!(
                "`cargo metadata --format-version 1 --no-deps` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            hint: Some("fix the Cargo workspace, then run `sift init` again".to_owned()),
        });
    }
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    let json = String::from_utf8_lossy(&output.stdout);
    discover::cargo_from_metadata(&json, &canonical.to_string_lossy(), tree)
        .map(Some)
        .map_err(|e| CliError::Input {
            message: format!("cannot read `cargo metadata`'s output: {e}"),
            hint: None,
        })
}

/// The files a generated rule may cover: the tracked ones and the work
/// tree's files that are not ignored. A new repository (nothing committed
/// yet) or a package added but not yet committed gets its rules too; from
/// tracked files alone, every package directory would look empty, get no
/// rule, and every change would then affect every package.
fn work_tree_files(root: &Path) -> Vec<String> {
    let mut files = super::check::tracked_files(root);
    files.extend(
        super::check::work_tree_files(root)
            .into_iter()
            .filter(|p| !p.starts_with(".sift/")),
    );
    files.sort();
    files.dedup();
    files
}

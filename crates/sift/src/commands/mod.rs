//! One module per subcommand, plus what they share: finding the repository
//! root, loading the configuration and the change.

mod cache;
mod check;
mod files;
mod history;
mod init;
mod inputs;
mod mozilla;
mod order;
mod pipeline;
mod plan;
mod quality;
mod record;
mod replay;
mod report;
mod run;
mod run_store;
mod shard;
mod verdict;
mod why;
mod workspace;

use std::io::Read;
use std::path::{Path, PathBuf};

use sift_core::pattern::NameGlob;
use sift_core::{Change, Config, ConfigLoadError, PlanError, PlanOptions};

use crate::cli::{ChangeArgs, Cli, Command, SelectArgs};
use crate::error::CliError;
use crate::output;

/// Runs any command (the `sift-remote` executable).
pub fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Pipeline(args) => pipeline::run(args),
        Command::Cache(args) => cache::run(&find_root(cli.global.root.as_deref())?, args),
        Command::History(args) => history::list(&find_root(cli.global.root.as_deref())?, args),
        Command::Why(args) if args.push => {
            let root = find_root(cli.global.root.as_deref())?;
            why::run_with(&root, args, |change, args| {
                history::recorded_push(&root, change, args)
            })
        }
        Command::Plan(args) if args.record.wanted() => {
            history::plan_and_record(&find_root(cli.global.root.as_deref())?, args)
        }
        Command::Run(args) => run::run(&find_root(cli.global.root.as_deref())?, args),
        Command::Quality(args) => quality::run(&find_root(cli.global.root.as_deref())?, args),
        Command::Replay(args) => replay::run(&find_root(cli.global.root.as_deref())?, args),
        Command::Record(args) if args.push.is_some() => {
            history::record_with_push(&find_root(cli.global.root.as_deref())?, args)
        }
        _ => run_local(cli),
    }
}

/// Runs a command that needs no network (the `sift` executable). It must not
/// reach the network commands' code, or the linker keeps all of it.
pub fn run_local(cli: Cli) -> Result<u8, CliError> {
    let root = find_root(cli.global.root.as_deref())?;
    match cli.command {
        Command::Plan(args) => plan::run(&root, args),
        Command::Why(args) => why::run(&root, args),
        Command::Files(args) => files::run(&root, args),
        Command::Check(args) => check::run(&root, args),
        Command::Init(args) => init::run(&root, args),
        Command::Order(args) => order::run(&root, args),
        Command::Shard(args) => shard::run(args),
        Command::Record(args) => record::run(&root, args),
        Command::Verdict(args) => verdict::run(args),
        Command::Report(args) => report::run(args),
        Command::Pipeline(_)
        | Command::Cache(_)
        | Command::History(_)
        | Command::Run(_)
        | Command::Quality(_)
        | Command::Replay(_) => Err(CliError::Usage {
            message: "`sift cache`, `history`, `pipeline`, `run`, `quality` and `replay` run in the sift-remote executable"
                .to_owned(),
            hint: None,
        }),
    }
}

/// Keeps sift's own folder out of git: once `.sift/` exists at the root (run
/// logs, the default store), it gets a `.gitignore` of `*`, as pytest does
/// for its cache, so `git add -A` never commits it.
pub(crate) fn ignore_sift_dir(root: &Path) {
    let dir = root.join(".sift");
    let ignore = dir.join(".gitignore");
    if dir.is_dir() && !ignore.exists() {
        let _ = std::fs::write(
            ignore,
            "# Created by sift: nothing here belongs in git.\n*\n",
        );
    }
}

/// `--root`, else the nearest ancestor of the current directory that is a git
/// work tree's top level, else the current directory. Found without running
/// git, so planning from a file list costs no process.
fn find_root(explicit: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(root) = explicit {
        return Ok(root.to_owned());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::io("cannot read the current directory", e))?;
    Ok(cwd
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(&cwd)
        .to_owned())
}

pub(crate) fn load_config(root: &Path) -> Result<Config, CliError> {
    report_config(Config::load(root))
}

/// A loaded configuration with its warnings printed, or the error to exit with.
fn report_config(loaded: Result<Config, ConfigLoadError>) -> Result<Config, CliError> {
    match loaded {
        Ok(config) => {
            if !config.warnings.items.is_empty() {
                output::print_diagnostics(&config.warnings);
            }
            Ok(config)
        }
        Err(ConfigLoadError::Read { path, source })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Err(CliError::ConfigMissing {
                message: format!(
                    "no sift.toml at `{}`",
                    path.parent().unwrap_or(&path).display()
                ),
                hint:
                    "create a sift.toml at the repository root (see the README), or pass --root DIR"
                        .to_owned(),
            })
        }
        Err(ConfigLoadError::Read { path, source }) => Err(CliError::io(
            format!("cannot read `{}`", path.display()),
            source,
        )),
        Err(ConfigLoadError::Invalid(error)) => Err(CliError::Config(error.0)),
        Err(other) => Err(CliError::Usage {
            message: other.to_string(),
            hint: None,
        }),
    }
}

/// The change to plan: a file list, or git's view of base...head.
pub(crate) fn load_change(root: &Path, args: &ChangeArgs) -> Result<Change, CliError> {
    report_change(detect_change(root, args)?)
}

/// The configuration and the change, found side by side: reading git
/// objects (opening a large pack's index, diffing trees) and parsing the
/// configuration are independent, and on a real repository each takes a
/// good part of a plan's time. Errors and notes come out in the same order
/// as when they are done one after the other: configuration first.
pub(crate) fn load_config_and_change(
    root: &Path,
    args: &ChangeArgs,
) -> Result<(Config, Change), CliError> {
    if args.files_from.is_some() {
        let config = load_config(root)?;
        return Ok((config, load_change(root, args)?));
    }
    if let Some(text) = small_config(root) {
        let config = report_config(Config::from_root_text(root, text))?;
        return Ok((config, load_change(root, args)?));
    }
    std::thread::scope(|scope| {
        let detection = scope.spawn(|| detect_change(root, args));
        let config = load_config(root);
        let detected = match detection.join() {
            Ok(detected) => detected,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let config = config?;
        Ok((config, report_change(detected?)?))
    })
}

/// The configuration's text if it is one small file (no `include`), which
/// loads in less time than starting a thread to read git beside it takes.
/// Measured on astral-sh/ruff's 42 KB configuration (52 tasks, 52 rules;
/// `sift-bench history`, three alternating rounds of 200 pushes): loaded
/// first, 1.21-1.24x `git diff`; beside git on a thread, 1.25-1.30x.
/// Its text is returned, so that it is read once.
fn small_config(root: &Path) -> Option<String> {
    const SMALL: u64 = 64 << 10;
    let path = root.join(sift_core::select::rules::RULE_FILE);
    if std::fs::metadata(&path).ok()?.len() >= SMALL {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    (memchr::memmem::find(text.as_bytes(), b"include").is_none()).then_some(text)
}

/// A change as detected, with what the user should be told about it.
pub(crate) enum Detected {
    Listed(Change),
    Git(sift_git::GitChange),
}

fn detect_change(root: &Path, args: &ChangeArgs) -> Result<Detected, CliError> {
    if let Some(source) = &args.files_from {
        let text = if source == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::io("cannot read the file list from stdin", e))?;
            text
        } else {
            std::fs::read_to_string(source)
                .map_err(|e| CliError::io(format!("cannot read `{source}`"), e))?
        };
        return Ok(Detected::Listed(Change::from_path_list(&relative_to_root(
            root, &text,
        ))));
    }
    let options = sift_git::GitOptions {
        base: args.base.clone(),
        head: Some(args.head.clone()),
        uncommitted: args.uncommitted,
        strict_base: args.strict_base,
    };
    Ok(Detected::Git(sift_git::detect_change(root, &options)?))
}

/// Prints the warnings and the base note of a detected change.
fn report_change(detected: Detected) -> Result<Change, CliError> {
    let detected = match detected {
        Detected::Listed(change) => return Ok(change),
        Detected::Git(detected) => detected,
    };
    for warning in &detected.warnings {
        output::warning(warning);
    }
    let origin = &detected.change.origin;
    if let Some(description) = &origin.base_description {
        let base = origin.base.as_deref().map_or("?".to_owned(), short_sha);
        output::note(&format!("base {base} ({description})"));
    }
    Ok(detected.change)
}

fn short_sha(sha: &str) -> String {
    sha.chars().take(12).collect()
}

/// Absolute paths in a file list are made relative to the root when they lie
/// inside it; CI systems hand over either form.
fn relative_to_root(root: &Path, text: &str) -> String {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    let root = root.to_string_lossy().trim_end_matches('/').to_owned();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim();
        let relative = line
            .strip_prefix(&root)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(line);
        out.push_str(relative);
        out.push('\n');
    }
    out
}

pub(crate) fn plan_options(select: &SelectArgs) -> Result<PlanOptions, CliError> {
    let mut globs = Vec::new();
    for target in &select.target {
        globs.push(NameGlob::new(target).map_err(|e| CliError::Usage {
            message: format!("invalid --target `{target}`: {e}"),
            hint: Some("--target takes a glob over task names, e.g. `test-*`".to_owned()),
        })?);
    }
    Ok(PlanOptions {
        targets: globs,
        all: select.all,
        push: None,
        shadow: select.shadow,
    })
}

pub(crate) fn plan_error(error: PlanError) -> CliError {
    match error {
        PlanError::InvalidRules(diagnostics) => CliError::Config(diagnostics),
        PlanError::UnknownTarget {
            pattern,
            suggestion,
        } => CliError::Usage {
            message: format!("--target `{pattern}` matches no task"),
            hint: Some(match suggestion {
                Some(name) => format!("did you mean `{name}`?"),
                None => "run `sift plan --all` to list every task".to_owned(),
            }),
        },
        other => CliError::Usage {
            message: other.to_string(),
            hint: None,
        },
    }
}

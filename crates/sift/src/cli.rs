//! Command-line types. The doc comments are the `--help` text. Nothing here
//! leaks into the core: commands turn these into core options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sift",
    version,
    about = "Decide what CI work a change needs, and why.",
    after_help = "Exit codes: 0 success, 2 usage, 3 invalid configuration, 4 git error, 5 file error, 101 internal error.\nDocs: README.md in the sift repository."
)]
pub struct Cli {
    /// The repository root holding the root `sift.toml` [default: the git top-level, else the current directory].
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide which tasks a change needs, with a reason for each.
    Plan(PlanArgs),
    /// Explain one task's decision: changed files, matching rules, components, strategy, dependents.
    Why(WhyArgs),
    /// Show which rules match paths and the components they affect (like `mach file-info schedules`).
    Files(FilesArgs),
    /// Validate every sift.toml in the repository and warn about dead rules and unused components.
    Check(CheckArgs),
}

/// How to find the change.
#[derive(Debug, Args, Clone, Default)]
pub struct ChangeArgs {
    /// The base revision. Default: the remote default branch (origin/HEAD), else main/master.
    /// The change is measured from the merge-base of base and head, like `git diff base...head`.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// The head revision.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub head: String,

    /// Also count staged, unstaged and untracked (not ignored) files.
    #[arg(long)]
    pub uncommitted: bool,

    /// Read newline-separated repository paths from FILE (`-` for stdin) instead of asking git.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["base", "uncommitted", "strict_base"])]
    pub files_from: Option<String>,

    /// Fail (exit 4) instead of scheduling everything when the base is missing from a shallow clone.
    #[arg(long)]
    pub strict_base: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum PlanFormat {
    /// A readable table.
    Text,
    /// A stable, versioned JSON document (format_version 1).
    Json,
    /// Write `matrix=<JSON list of kept tasks>` and `any=<true|false>` to $GITHUB_OUTPUT.
    Github,
}

/// Which tasks are requested.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Only request tasks whose name matches this glob (repeatable), e.g. `test-*`.
    /// Tasks they need are still kept.
    #[arg(long, value_name = "PATTERN")]
    pub target: Vec<String>,

    /// Keep every task (a backstop run).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub change: ChangeArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The task to explain.
    pub task: String,

    #[command(flatten)]
    pub change: ChangeArgs,

    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    /// Repository-relative paths (they need not exist).
    #[arg(required = true)]
    pub paths: Vec<String>,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

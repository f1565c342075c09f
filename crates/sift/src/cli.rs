//! Command-line types. The doc comments are the `--help` text. Nothing here
//! leaks into the core: commands turn these into core options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sift",
    version,
    about = "Decide what CI work a change needs, and why.",
    after_help = "Exit codes: 0 success, 2 usage, 3 invalid configuration, 4 git error, 5 file error, 11 invalid input data, 101 internal error.\nDocs: README.md in the sift repository."
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
    /// Order tests so that likely failures run first, explaining every score.
    Order(OrderArgs),
    /// Split tests into shards of equal expected duration.
    Shard(ShardArgs),
    /// Learn failures and durations from JUnit XML reports of any test runner.
    Record(RecordArgs),
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

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub change: ChangeArgs,

    /// Only request tasks whose name matches this glob (repeatable), e.g. `test-*`.
    /// Tasks they need are still kept.
    #[arg(long, value_name = "PATTERN")]
    pub target: Vec<String>,

    /// Keep every task (a backstop run).
    #[arg(long)]
    pub all: bool,

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

    /// As for `sift plan`.
    #[arg(long, value_name = "PATTERN")]
    pub target: Vec<String>,

    /// As for `sift plan`.
    #[arg(long)]
    pub all: bool,
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

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum OrderFormat {
    /// One test per line: score, name and the reasons.
    #[default]
    Text,
    /// Every test with its total and per-heuristic scores and their evidence.
    Json,
    /// Arguments pytest accepts as is (files or node ids), one per line.
    Pytest,
}

#[derive(Debug, Args)]
pub struct OrderArgs {
    /// The candidate tests, one per line (`-` for stdin): test files (`test/test_nn.py`),
    /// PyTorch-style names (`test_nn`) or node ids (`test/test_nn.py::TestNN::test_add`).
    #[arg(long, value_name = "FILE|-")]
    pub tests: String,

    #[command(flatten)]
    pub change: ChangeArgs,

    /// The pytest cache holding earlier failures [default: .pytest_cache under the root].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Historical correlations in PyTorch's format: `{changed file: {test: rating}}`.
    #[arg(long, value_name = "FILE")]
    pub ratings: Option<PathBuf>,

    /// Keep only the first ⌊PERCENT·k/100⌋+1 of the k tests (PyTorch's rule); says how many were left out.
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub top: Option<u8>,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OrderFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum ShardFormat {
    /// Shards with their expected seconds; with --index, that shard's tests, one per line.
    #[default]
    Text,
    /// `{"shards": [{"index", "expected_seconds", "tests": [{"name", "piece": [i, n]}]}], "unknown": [...]}`.
    Json,
}

#[derive(Debug, Args)]
pub struct ShardArgs {
    /// The number of shards.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub shards: u32,

    /// Print only shard I (1-based).
    #[arg(long, value_name = "I", value_parser = clap::value_parser!(u32).range(1..))]
    pub index: Option<u32>,

    /// Test durations: PyTorch's test-times.json (`{job: {config: {test: seconds}}}`) or a flat
    /// `{test: seconds}` map.
    #[arg(long, value_name = "FILE")]
    pub times: PathBuf,

    /// The job whose times to use; falls back to `default`.
    #[arg(long, value_name = "J")]
    pub job: Option<String>,

    /// The test config whose times to use; falls back to `default`.
    #[arg(long, value_name = "C")]
    pub config: Option<String>,

    /// The tests to shard, one per line (`-` for stdin) [default: every test file in the times].
    #[arg(long, value_name = "FILE|-")]
    pub tests: Option<String>,

    /// Split tests longer than this into pieces of at most this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600.0)]
    pub split_above: f64,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ShardFormat,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// JUnit XML reports (pytest, cargo-nextest, jest-junit, go-junit-report, Maven Surefire, ...).
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    pub junit: Vec<PathBuf>,

    /// The pytest cache to write failures into [default: .pytest_cache under the root].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// A durations file to update (created if missing), in the test-times format.
    #[arg(long, value_name = "FILE")]
    pub times: Option<PathBuf>,

    /// The job to record the durations under (nested format); falls back to `default`.
    #[arg(long, value_name = "J", requires = "times")]
    pub job: Option<String>,

    /// The test config to record the durations under (nested format); falls back to `default`.
    #[arg(long, value_name = "C", requires = "times")]
    pub config: Option<String>,
}

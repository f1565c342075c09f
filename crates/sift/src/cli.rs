//! Command-line types. The doc comments are the `--help` text. Nothing here
//! leaks into the core: commands turn these into core options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sift",
    version,
    about = "Decide what CI work a change needs, and why.",
    after_help = "Exit codes: 0 success, 2 usage, 3 invalid configuration, 4 git error, 5 file error, 6 object store or network error, 101 internal error.\nDocs: README.md in the sift repository."
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
    /// Share pytest failure caches across shards and runs through an object store (PyTorch's layout).
    Cache(CacheArgs),
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

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Zip a pytest cache directory and store it under this shard's key:
    /// `pytest_cache/{owner}/{name}/{md5(REF)}/{JOB}/{SHA}/{CFG}/{N}.zip`.
    Push(CachePushArgs),
    /// Fetch every cache of a job in a pull request (all shas, configs and shards) and merge them into DIR.
    Pull(CachePullArgs),
    /// Merge local cache directories into DEST.
    Merge(CacheMergeArgs),
    /// List the failures a cache directory holds: node ids and test files.
    Show(CacheShowArgs),
}

/// Where caches are stored.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// The store: a path, `file:///abs/path`, `s3://bucket/prefix`, `gs://bucket/prefix` or
    /// `az://container/prefix`. Default: $SIFT_STORE, else `[cache] store` in sift.toml, else
    /// `.sift/store` at the repository root. S3 credentials and endpoint come from the standard
    /// AWS environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

/// Which pull request's caches.
#[derive(Debug, Args, Clone)]
pub struct PrArgs {
    /// The repository, as OWNER/NAME.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: String,

    /// The pull request's ref, e.g. `$GITHUB_REF` (`refs/pull/123/merge`); stored as its MD5.
    #[arg(long = "pr", value_name = "REF")]
    pub pr_ref: String,
}

#[derive(Debug, Args)]
pub struct CachePushArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub pr: PrArgs,

    /// The job all shards share, e.g. `pull_linux-jammy-py3.10-gcc11`.
    #[arg(long, value_name = "JOB")]
    pub job: String,

    /// The commit the tests ran on.
    #[arg(long, value_name = "SHA")]
    pub sha: String,

    /// The test configuration.
    #[arg(long = "config", value_name = "CFG", default_value = "default")]
    pub test_config: String,

    /// The shard number.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub shard: u32,

    /// The pytest cache directory to push.
    #[arg(long, value_name = "DIR", default_value = ".pytest_cache")]
    pub cache_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CachePullArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub pr: PrArgs,

    /// Pull this job's caches (exactly this job: `pull_gcc11` does not pull `pull_gcc11-debug`).
    #[arg(long, value_name = "JOB", required_unless_present = "job_prefix")]
    pub job: Option<String>,

    /// Pull the caches of every job whose sanitized name starts with PREFIX (e.g. the workflow name).
    #[arg(long, value_name = "PREFIX", conflicts_with = "job")]
    pub job_prefix: Option<String>,

    /// The pytest cache directory to merge into (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".pytest_cache")]
    pub cache_dir: PathBuf,

    /// Fail (exit 6, writing nothing) if any object is corrupt or hostile, instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct CacheMergeArgs {
    /// The cache directory to merge into (created if missing).
    #[arg(long, value_name = "DEST")]
    pub into: PathBuf,

    /// Cache directories to merge from.
    #[arg(required = true, value_name = "SRC")]
    pub sources: Vec<PathBuf>,

    /// Fail (writing nothing) if a source is missing or corrupt, instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
pub struct CacheShowArgs {
    /// The pytest cache directory.
    #[arg(long, value_name = "DIR", default_value = ".pytest_cache")]
    pub cache_dir: PathBuf,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

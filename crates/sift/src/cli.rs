//! Command-line types. The doc comments are the `--help` text. Nothing here
//! leaks into the core: commands turn these into core options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sift",
    version,
    about = "Decide what CI work a change needs, and why.",
    after_help = "Exit codes: 0 success, 2 usage, 3 invalid configuration, 4 git error, 5 file error, 6 object store or network error, 11 invalid input data, 101 internal error; sift run: 12 a task failed or timed out; sift verdict: 13 a kept task did not succeed; sift pipeline: 7 pipeline failed, 8 CI service unreachable, 9 authentication, 10 timeout, 130 interrupted.\nDocs: README.md in the sift repository."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command.
#[derive(Debug, Args)]
pub struct Global {
    /// The repository root holding the root `sift.toml` [default: the git top-level, else the current directory].
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

impl Cli {
    /// Parses `args` (the program name first) as [`clap::Parser::try_parse_from`]
    /// does. When the first argument after the global options (`--root
    /// DIR`) names a command and no argument asks for help or the version,
    /// only that command's arguments are built: clap otherwise builds every
    /// command's (about half a million instructions, a fifth of a small
    /// plan) before it parses. Help, version, errors and anything else go
    /// through the whole command tree, so their output is unchanged.
    pub fn parse_args(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
        use clap::FromArgMatches;
        let wants_help = args.iter().skip(1).any(|a| {
            matches!(
                a.to_str(),
                Some("-h" | "--help" | "-V" | "--version" | "help") | None
            )
        });
        let sub = match command_name(&args) {
            Some(name) if !wants_help => command_args(name),
            _ => None,
        };
        let Some(sub) = sub else {
            return Cli::try_parse_from(args);
        };
        let root = Global::augment_args(clap::Command::new("sift"))
            .subcommand(sub)
            .subcommand_required(true);
        // An error (usage, or a help page clap shows for a missing command)
        // is reported from the whole tree, as before, texts and all.
        match root.try_get_matches_from(args.iter()) {
            Ok(matches) => match Cli::from_arg_matches(&matches) {
                Ok(cli) => Ok(cli),
                Err(_) => Cli::try_parse_from(args),
            },
            Err(_) => Cli::try_parse_from(args),
        }
    }
}

/// The argument that names the command, if it comes after nothing but
/// global options ([`Global`]'s, spelt `--name VALUE` or `--name=VALUE`).
/// Only a guess for building one command rather than all of them: clap
/// still parses everything, and where the guess is wrong, parsing with that
/// one command fails and the whole tree parses instead.
fn command_name(args: &[std::ffi::OsString]) -> Option<&str> {
    let global = Global::augment_args(clap::Command::new("sift"));
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        let Some(option) = arg.strip_prefix("--") else {
            return Some(arg);
        };
        let (name, inline_value) = match option.split_once('=') {
            Some((name, _)) => (name, true),
            None => (option, false),
        };
        let takes_value = global
            .get_arguments()
            .find(|a| a.get_long() == Some(name))?
            .get_action()
            .takes_values();
        if takes_value && !inline_value {
            rest.next()?;
        }
    }
    None
}

/// The one command `name`, with its arguments, as the whole tree builds it
/// (checked by a test against [`clap::CommandFactory::command`]).
fn command_args(name: &str) -> Option<clap::Command> {
    macro_rules! one_of {
        ($($name:literal => $args:ty),* $(,)?) => {
            match name {
                $($name => Some(<$args>::augment_args(clap::Command::new($name))),)*
                _ => None,
            }
        };
    }
    one_of! {
        "plan" => PlanArgs,
        "run" => RunArgs,
        "why" => WhyArgs,
        "files" => FilesArgs,
        "check" => CheckArgs,
        "init" => InitArgs,
        "pipeline" => PipelineArgs,
        "order" => OrderArgs,
        "shard" => ShardArgs,
        "record" => RecordArgs,
        "cache" => CacheArgs,
        "history" => HistoryArgs,
        "quality" => QualityArgs,
        "replay" => ReplayArgs,
        "verdict" => VerdictArgs,
        "report" => ReportArgs,
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide which tasks a change needs, with a reason for each.
    Plan(PlanArgs),
    /// Plan, then run the kept tasks' `run` commands here: needs first, in parallel,
    /// likely failures and the critical path first; results are recorded for next time.
    Run(RunArgs),
    /// Explain one task's decision: changed files, matching rules, components, strategy, dependents.
    Why(WhyArgs),
    /// Show which rules match paths and the components they affect (like `mach file-info schedules`).
    Files(FilesArgs),
    /// Validate every sift.toml in the repository and warn about dead rules and unused components.
    Check(CheckArgs),
    /// Write a sift.toml derived from the Cargo, npm/pnpm/Yarn, uv and Go workspaces at the root;
    /// `--check` reports how the committed one has drifted from them.
    Init(InitArgs),
    /// Queue a pipeline on a remote CI service, follow it with live logs, retry it, exit with its result.
    Pipeline(PipelineArgs),
    /// Order tests so that likely failures run first, explaining every score.
    Order(OrderArgs),
    /// Split tests into shards of equal expected duration.
    Shard(ShardArgs),
    /// Learn failures and durations from JUnit XML reports of any test runner.
    Record(RecordArgs),
    /// Share pytest failure caches across shards and runs through an object store (PyTorch's layout).
    Cache(CacheArgs),
    /// List a branch's recorded pushes (`sift plan --record`), newest first; `report` adds an outcome.
    History(HistoryArgs),
    /// How well selection did: task-hours saved, false greens with their rule chains, the
    /// false-green rate with a confidence interval, and test-order quality.
    Quality(QualityArgs),
    /// Re-plan recorded pushes with a candidate configuration and compare with what happened.
    Replay(ReplayArgs),
    /// One required check: exit 0 iff every task the plan kept succeeded (exit 13 otherwise).
    Verdict(VerdictArgs),
    /// Write one self-contained HTML page: the task graph, the why of every task, the run, the
    /// shards, selection quality.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("documents").required(true).multiple(true)))]
pub struct ReportArgs {
    /// The plan: `sift plan --format json --explain` output (`-` for stdin).
    #[arg(long, value_name = "FILE|-", group = "documents")]
    pub plan: Option<String>,

    /// The run: `sift run --format json` output (`--dry-run` too; `-` for stdin).
    #[arg(long, value_name = "FILE|-", group = "documents")]
    pub run: Option<String>,

    /// The shards: `sift shard --format json` output without --index (`-` for stdin).
    #[arg(long, value_name = "FILE|-", group = "documents")]
    pub shards: Option<String>,

    /// Selection quality: `sift quality --json` output (`-` for stdin).
    #[arg(long, value_name = "FILE|-", group = "documents")]
    pub quality: Option<String>,

    /// Where to write the HTML page.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerdictArgs {
    /// The plan: `sift plan --format json` output (`-` for stdin).
    #[arg(long, value_name = "FILE|-")]
    pub plan: String,

    /// The results as GitHub's `needs` context: `${{ toJSON(needs) }}` saved to FILE.
    #[arg(
        long,
        value_name = "FILE|-",
        required_unless_present = "report",
        conflicts_with = "report"
    )]
    pub needs: Option<String>,

    /// The results as a run report: `{"tasks": [{"name": "...", "result": "success|failure|..."}]}`.
    #[arg(long, value_name = "FILE|-")]
    pub report: Option<String>,

    /// With --needs: the id of the job that ran `sift plan` (it must succeed but runs no task).
    #[arg(long, value_name = "JOB", default_value = "plan")]
    pub plan_job: String,
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
    /// Write `matrix=<JSON list of kept tasks>`, `any=<true|false>` and `tasks=<JSON objects>`
    /// to $GITHUB_OUTPUT.
    Github,
    /// A GitLab child pipeline (YAML) for `trigger: include: artifact:`.
    Gitlab,
    /// A Buildkite pipeline (YAML) for `buildkite-agent pipeline upload`.
    Buildkite,
    /// Azure Pipelines `##vso[task.setvariable]` output variables: `matrix`, `any`, `run_<job>`.
    Azure,
    /// An Azure Pipelines jobs template (YAML) with `dependsOn`; generate it with `--all`.
    AzureJobs,
    /// With --graph: the kept labels as a JSON list, as taskgraph's optimized graph holds them
    /// (`--removed` adds the removed ones with reasons).
    Taskgraph,
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

    /// Shadow mode: keep every task, and say (and, when recorded, record) which ones the
    /// plan would have skipped. Also `[plan] mode = "shadow"` in sift.toml.
    #[arg(long)]
    pub shadow: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub change: ChangeArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Run up to N tasks at once. Default: the number of CPUs.
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,

    /// Go on after a failure: start every task whose needs succeeded.
    #[arg(long)]
    pub keep_going: bool,

    /// Print the order and the expected schedule (from recorded durations); run nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Run only shard I of N (1-based): a task and everything it needs go to one shard.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,

    /// Stream each task's output line by line, prefixed with `[task]`, instead of one block at its end.
    #[arg(long)]
    pub stream: bool,

    /// Also print the output of tasks that succeeded (failed tasks' output is always printed).
    #[arg(long)]
    pub show_output: bool,

    /// `json`: a versioned report on stdout once the run ends (task output goes to stderr).
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub format: RunFormat,

    /// Also write a JUnit XML file with one testcase per kept task.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Show the results of recent runs on this branch (like `sift history --tasks`); run nothing.
    #[arg(long)]
    pub history: bool,

    /// Fail (exit 6) if the results cannot be recorded, instead of warning. By default the
    /// results are recorded when the store can be reached.
    #[arg(long, conflicts_with = "no_record")]
    pub record: bool,

    /// Do not record this run's results (the store is still read for the order and durations).
    #[arg(long)]
    pub no_record: bool,

    /// The branch pushed to. Default: as for `sift plan --record`.
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// The branch whose history fills in tasks this branch has not run yet. Default: the CI's
    /// pull-request target branch ($GITHUB_BASE_REF, ...), else the --base branch.
    #[arg(long, value_name = "BRANCH")]
    pub base_branch: Option<String>,

    /// If sift run records the push itself (no `sift plan --record` before it): make it a backstop.
    #[arg(long, conflicts_with = "no_backstop")]
    pub backstop: bool,

    /// If sift run records the push itself: never make it a backstop or expanded push.
    #[arg(long)]
    pub no_backstop: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Seconds between SIGTERM and SIGKILL when a task times out or the run is interrupted.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub grace: f64,

    /// Write a Markdown summary of the run: to $GITHUB_STEP_SUMMARY (GitHub), as
    /// `##vso[task.uploadsummary]` (Azure, TF_BUILD), with `buildkite-agent annotate`
    /// (Buildkite), and to FILE if given.
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub summary: Option<Option<PathBuf>>,

    /// Also write a self-contained HTML page to FILE: the plan with the why of every task,
    /// and the run (or with --dry-run the expected schedule) as a Gantt chart (see `sift report`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    Text,
    Json,
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

    /// With `--format github`: also write `levels=N` and `level0=` … `level{N-1}=`, the kept
    /// tasks per dependency level, for N jobs chained by `needs:`.
    #[arg(long)]
    pub group_by_needs: bool,

    /// Write a Markdown summary: to $GITHUB_STEP_SUMMARY (GitHub), as `##vso[task.uploadsummary]`
    /// (Azure, TF_BUILD), with `buildkite-agent annotate` (Buildkite), and to FILE if given.
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub summary: Option<Option<PathBuf>>,

    /// With `--format json`: add each task's `needs` and `why` (the chain `sift why` prints) and the
    /// change's `component_evidence` (files and rule lines), as `sift report` draws them.
    #[arg(long)]
    pub explain: bool,

    /// Also write the plan as a self-contained HTML page to FILE (see `sift report`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    #[command(flatten)]
    pub record: PushRecordArgs,

    #[command(flatten)]
    pub mozilla: MozillaArgs,
}

/// Mozilla's own inputs: moz.build files and taskgraph graphs.
#[derive(Debug, Args, Clone, Default)]
pub struct MozillaArgs {
    /// Also read moz.build SCHEDULES annotations on the changed paths' ancestors
    /// (as `[mozbuild] enabled = true`); without a sift.toml, Mozilla's component lists apply.
    #[arg(long)]
    pub mozbuild: bool,

    /// Optimize taskgraph's full task graph (full-task-graph.json) with taskgraph's strategies
    /// and removal semantics, instead of sift.toml's tasks.
    #[arg(long, value_name = "FILE")]
    pub graph: Option<PathBuf>,

    /// With --graph: the target tasks (target-tasks.json) [default: every task].
    #[arg(long, value_name = "FILE", requires = "graph")]
    pub target_tasks: Option<PathBuf>,

    /// With --graph: taskgraph's parameters (parameters.yml or JSON): files_changed,
    /// pushlog_id, backstop, do_not_optimize, optimize_strategies, ...
    #[arg(long, value_name = "FILE", requires = "graph")]
    pub params: Option<PathBuf>,

    /// With --format taskgraph: `{"kept": [...], "removed": {label: reason}}` instead of a list.
    #[arg(long, requires = "graph")]
    pub removed: bool,
}

/// `sift plan --record`: remember the push in the store, decide backstops.
#[derive(Debug, Args, Clone, Default)]
#[command(group(clap::ArgGroup::new("recording").multiple(true)))]
pub struct PushRecordArgs {
    /// Record this push in the store's history: it gets the branch's next push number and a
    /// backstop decision ([backstop] in sift.toml); the plan JSON's `push` shows both.
    #[arg(long, group = "recording")]
    pub record: bool,

    /// Like --record, but an unreachable store only warns and the plan goes on unrecorded.
    #[arg(long, group = "recording")]
    pub record_optional: bool,

    /// The branch pushed to. Default: $GITHUB_REF_NAME, $BUILD_SOURCEBRANCHNAME,
    /// $CI_COMMIT_BRANCH, $BUILDKITE_BRANCH, else the checked-out branch.
    #[arg(long, value_name = "BRANCH", requires = "recording")]
    pub branch: Option<String>,

    /// Make this push a backstop (every task runs, except `backstop = false` ones; with --graph,
    /// skip-unless-backstop and skip-unless-expanded keep their tasks).
    #[arg(long, conflicts_with = "no_backstop")]
    pub backstop: bool,

    /// Make this push an expanded push (`on_expanded` / skip-unless-expanded tasks run).
    #[arg(long, conflicts_with = "no_backstop")]
    pub expanded: bool,

    /// Never make this push a backstop or expanded push (e.g. preview branches).
    #[arg(long, requires = "recording")]
    pub no_backstop: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

impl PushRecordArgs {
    /// Whether the push is to be recorded (then `sift` hands over to sift-remote).
    pub fn wanted(&self) -> bool {
        self.record || self.record_optional
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,

    /// The branch [default: as for `sift plan --record`].
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// How many pushes to show.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,

    /// Print JSON (format_version 1).
    #[arg(long)]
    pub json: bool,

    /// Also show the tasks' recorded results and durations on each push.
    #[arg(long)]
    pub tasks: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Record how a task ended on a recorded push, for CI systems that run tasks themselves.
    Report(HistoryReportArgs),
}

#[derive(Debug, Args)]
pub struct HistoryReportArgs {
    /// The push number (`"push"` in `sift plan --record --format json`; $SIFT_PUSH in `sift run`).
    #[arg(long, value_name = "N", required_unless_present = "head")]
    pub push: Option<u64>,

    /// Instead of --push: the push recorded for this head commit.
    #[arg(long, value_name = "SHA", conflicts_with = "push")]
    pub head: Option<String>,

    /// The task.
    #[arg(long, value_name = "TASK")]
    pub task: String,

    /// How it ended.
    #[arg(long, value_enum)]
    pub result: ReportResult,

    /// How long it took, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,

    /// The branch [default: as for `sift plan --record`].
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportResult {
    Succeeded,
    Failed,
    TimedOut,
}

#[derive(Debug, Args)]
pub struct QualityArgs {
    /// The branch [default: as for `sift plan --record`].
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// Only pushes recorded at or after this date (`2026-05-01` or RFC 3339).
    #[arg(long, value_name = "DATE", conflicts_with = "last")]
    pub since: Option<String>,

    /// Only the newest N pushes [default: 1000].
    #[arg(long, value_name = "N")]
    pub last: Option<u64>,

    /// Print the report as JSON (format_version 1).
    #[arg(long)]
    pub json: bool,

    /// Also write the report as a self-contained HTML page (see `sift report`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The candidate configuration (a root sift.toml); nested rule files come from each
    /// push's commit. Without it, each push's own sift.toml at its commit is replayed.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Replay the pushes numbered A to B (inclusive), e.g. `120..180`.
    #[arg(long, value_name = "A..B", conflicts_with = "last")]
    pub range: Option<String>,

    /// Replay the newest N pushes [default: 1000].
    #[arg(long, value_name = "N")]
    pub last: Option<u64>,

    /// The branch [default: as for `sift plan --record`].
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// Print the comparison as JSON (format_version 1).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The task to explain.
    pub task: String,

    /// Explain under the push recorded for the head SHA (`sift plan --record`): backstop,
    /// on_backstop and on_expanded as that push decided them. Reads the store.
    #[arg(long)]
    pub push: bool,

    /// With --push: the branch [default: as for `sift plan --record`].
    #[arg(long, value_name = "BRANCH", requires = "push")]
    pub branch: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub change: ChangeArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// A taskgraph graph's task (`--graph`), or moz.build files read too.
    #[command(flatten)]
    pub mozilla: MozillaArgs,
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    /// Repository-relative paths (they need not exist).
    #[arg(required = true)]
    pub paths: Vec<String>,

    /// Print JSON.
    #[arg(long)]
    pub json: bool,

    /// What moz.build files alone say, as `mach file-info schedules PATH...` prints it (the
    /// union of the paths' components); with --json, per path.
    #[arg(long)]
    pub mozbuild: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing sift.toml (tasks and components named in `[init] keep` are kept).
    #[arg(long)]
    pub force: bool,

    /// Print the file on stdout instead of writing it.
    #[arg(long, conflicts_with = "check")]
    pub print: bool,

    /// Write nothing: regenerate in memory and report how the committed sift.toml differs
    /// (exit 14 on drift). For CI.
    #[arg(long, conflicts_with = "force")]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,

    /// Also read every moz.build: errors, syntax sift cannot read, and `Files()` blocks under
    /// conditions (not read), each with file:line.
    #[arg(long)]
    pub mozbuild: bool,
}

#[derive(Debug, Args)]
pub struct PipelineArgs {
    #[command(subcommand)]
    pub command: PipelineCommand,
}

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Queue a run, stream its logs, re-queue it if it fails, and exit 0 only if it succeeded.
    Run(PipelineRunArgs),
}

#[derive(Debug, Args)]
pub struct PipelineRunArgs {
    #[command(subcommand)]
    pub service: PipelineService,
}

#[derive(Debug, Subcommand)]
pub enum PipelineService {
    /// Azure DevOps Pipelines. Token: $AZURE_DEVOPS_EXT_PAT or $SIFT_AZURE_PAT (a PAT with Build: Read & execute).
    Azure(AzureArgs),
    /// GitHub Actions (workflow_dispatch). Token: $GITHUB_TOKEN or $GH_TOKEN (actions: write).
    Github(GithubArgs),
}

/// How to follow a run: shared by every CI service.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// Runs to queue at most: a run that does not succeed is queued again until this many ran.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub attempts: u32,

    /// Seconds between status polls (fractions allowed).
    #[arg(long, value_name = "S", default_value = "10", value_parser = parse_seconds)]
    pub poll_interval: std::time::Duration,

    /// Seconds to wait before re-queueing, multiplied by the attempt number.
    #[arg(long, value_name = "S", default_value = "120", value_parser = parse_seconds)]
    pub retry_delay: std::time::Duration,

    /// Give up after this many seconds in total (exit 10) and ask the service to cancel the run [default: no limit].
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub timeout: Option<std::time::Duration>,

    /// Seconds one HTTP request may take before it counts as failed (and is retried).
    #[arg(long, value_name = "S", default_value = "30", value_parser = parse_seconds)]
    pub request_timeout: std::time::Duration,

    /// Count a partially successful run (Azure `partiallySucceeded`) as a success.
    #[arg(long)]
    pub allow_partial: bool,

    /// Do not print the run's logs.
    #[arg(long)]
    pub no_logs: bool,

    /// Print a JSON summary on stdout at the end (logs then go to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AzureArgs {
    /// The organization URL, e.g. https://dev.azure.com/my-org.
    #[arg(long, value_name = "URL")]
    pub org_url: String,

    /// The project name or id.
    #[arg(long, value_name = "PROJECT")]
    pub project: String,

    /// The pipeline (build definition) id.
    #[arg(long, value_name = "ID")]
    pub definition: u64,

    /// The branch to build: `pull/<n>` anywhere in it means refs/pull/<n>/head, `refs/...` is used
    /// as is, anything else is refs/heads/<BRANCH>. Default: $BUILD_SOURCEBRANCH, $GITHUB_REF or
    /// $CIRCLE_BRANCH.
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// The commit to build [default: the branch's head, or $CIRCLE_SHA1 etc. with a branch from the environment].
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,

    /// A pipeline (template) parameter, repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub params: Vec<(String, String)>,

    /// A queue-time variable, repeatable.
    #[arg(long = "variable", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub variables: Vec<(String, String)>,

    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Debug, Args)]
pub struct GithubArgs {
    /// The repository, OWNER/NAME.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: String,

    /// The workflow's file name (e.g. ci.yml) or id. It must have a `workflow_dispatch` trigger.
    #[arg(long, value_name = "FILE|ID")]
    pub workflow: String,

    /// The branch or tag to run the workflow on.
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: String,

    /// A workflow input, repeatable.
    #[arg(long = "input", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub inputs: Vec<(String, String)>,

    /// A workflow input that receives a unique id per dispatch; with `run-name: ${{ inputs.NAME }}`
    /// in the workflow, sift finds its own run even among simultaneous dispatches. Only needed on
    /// servers that do not return the run id.
    #[arg(long, value_name = "NAME")]
    pub correlation_input: Option<String>,

    /// The API root (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(long, value_name = "URL", default_value = sift_pipeline::github::DEFAULT_API_URL)]
    pub api_url: String,

    #[command(flatten)]
    pub follow: FollowArgs,
}

/// Seconds as a decimal number (`10`, `0.05`), optionally with an `s`.
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let number = text.trim().trim_end_matches('s');
    number
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("`{text}` is not a number of seconds"))
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
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

    /// Cut split tests into up to K times more pieces than ⌈d/S⌉ when that is needed to
    /// balance the shards; 1 keeps exactly PyTorch's pieces (each piece re-collects its file).
    #[arg(long, value_name = "K", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub max_split_factor: u32,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ShardFormat,

    /// Write a Markdown summary: to $GITHUB_STEP_SUMMARY (GitHub), as `##vso[task.uploadsummary]`
    /// (Azure, TF_BUILD), with `buildkite-agent annotate` (Buildkite), and to FILE if given.
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    pub summary: Option<Option<PathBuf>>,

    /// Also write every shard as a self-contained HTML page to FILE, one bar per shard
    /// against the lower bound (see `sift report`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
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

    /// Also keep the test results in the push history, under this recorded push and --task.
    #[arg(long, value_name = "N", requires = "task")]
    pub push: Option<u64>,

    /// With --push: the task that ran these tests.
    #[arg(long, value_name = "TASK", requires = "push")]
    pub task: Option<String>,

    /// With --push: the branch [default: as for `sift plan --record`].
    #[arg(long, value_name = "BRANCH", requires = "push")]
    pub branch: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
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

/// Where caches and push history are stored.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreArgs {
    /// The store: a path, `file:///abs/path`, `s3://bucket/prefix`, `gs://bucket/prefix` or
    /// `az://container/prefix`. Default: $SIFT_STORE, else `[store] url` in sift.toml, else
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    /// Everything about a command but its own about text, recursively.
    fn shape(command: &clap::Command) -> String {
        let mut out = format!("{}\n", command.get_name());
        for arg in command.get_arguments() {
            out.push_str(&format!("  {arg:?}\n"));
        }
        for group in command.get_groups() {
            out.push_str(&format!("  {group:?}\n"));
        }
        for sub in command.get_subcommands() {
            out.push_str(&format!(
                "  {:?} {:?}\n",
                sub.get_about(),
                sub.get_long_about()
            ));
            out.push_str(&shape(sub));
        }
        out
    }

    #[test]
    fn each_command_alone_is_built_as_in_the_whole_tree() {
        let full = Cli::command();
        let mut names = Vec::new();
        for sub in full.get_subcommands() {
            let alone = command_args(sub.get_name())
                .unwrap_or_else(|| panic!("`{}` is missing from command_args", sub.get_name()));
            assert_eq!(shape(&alone), shape(sub), "{}", sub.get_name());
            // Only about texts (shown by --help, which takes the whole tree) may differ.
            assert!(sub.get_aliases().next().is_none() && sub.get_all_aliases().next().is_none());
            names.push(sub.get_name().to_owned());
        }
        assert_eq!(names.len(), 16);
        let root = Global::augment_args(clap::Command::new("sift"));
        let root_args: Vec<String> = root.get_arguments().map(|a| format!("{a:?}")).collect();
        let full_args: Vec<String> = full.get_arguments().map(|a| format!("{a:?}")).collect();
        assert_eq!(root_args, full_args);
    }

    #[test]
    fn the_command_is_found_after_global_options() {
        let name = |case: &[&str]| {
            let args: Vec<std::ffi::OsString> = std::iter::once("sift")
                .chain(case.iter().copied())
                .map(Into::into)
                .collect();
            command_name(&args).map(str::to_owned)
        };
        assert_eq!(name(&["plan", "--root", "r"]).as_deref(), Some("plan"));
        assert_eq!(name(&["--root", "r", "plan"]).as_deref(), Some("plan"));
        assert_eq!(name(&["--root=r", "why", "t"]).as_deref(), Some("why"));
        assert_eq!(name(&["--root", "plan", "run"]).as_deref(), Some("run"));
        // No command, or an option that is not global: no guess.
        assert_eq!(name(&["--root", "r"]), None);
        assert_eq!(name(&["--root"]), None);
        assert_eq!(name(&["--format", "json", "plan"]), None);
        assert_eq!(name(&[]), None);
    }

    #[test]
    fn one_command_parses_as_the_whole_tree() {
        let cases: &[&[&str]] = &[
            &["plan"],
            &[
                "plan",
                "--base",
                "main",
                "--format",
                "json",
                "--explain",
                "--root",
                "x",
            ],
            &["plan", "--bogus"],
            &["plan", "--format", "yaml"],
            &["plan", "extra"],
            &["run", "-j", "3", "--target", "a", "--target", "b"],
            &["why", "task-a", "--base", "HEAD~1"],
            &["why"],
            &["files", "a.txt", "b/c.rs", "--json"],
            &["check", "--mozbuild"],
            &["init", "--check"],
            &["order", "--junit", "x.xml"],
            &["shard", "--total", "2", "--index", "0"],
            &["record", "--junit", "r.xml"],
            &["cache", "pull", "--store", "s3://b/p"],
            &["cache"],
            &["history", "--json"],
            &[
                "history", "report", "--push", "3", "--task", "t", "--result", "failed",
            ],
            &["quality", "--last", "5"],
            &["replay", "--config", "c.toml", "--last", "3"],
            &["verdict", "--plan", "p.json"],
            &["report", "--out", "r.html"],
            &["report", "--plan", "p.json", "--out", "r.html"],
            &["pipeline", "run", "--help"],
            &["pipeline"],
            &["nosuch"],
            &["--root", "r", "plan"],
            &[
                "--root",
                "r",
                "plan",
                "--graph",
                "g.json",
                "--format",
                "taskgraph",
            ],
            &["--root=r", "plan", "--base", "main"],
            &["--root", "r", "--root", "s", "plan"],
            &["--root", "plan"],
            &["--root", "plan", "why", "t"],
            &["--root"],
            &["--root=r"],
            &["--rot", "r", "plan"],
            &["--root", "r", "nosuch"],
            &["--root", "r", "plan", "--help"],
            &["plan", "--help"],
            &["--version"],
        ];
        for case in cases {
            let args: Vec<std::ffi::OsString> = std::iter::once("sift")
                .chain(case.iter().copied())
                .map(Into::into)
                .collect();
            let whole = Cli::try_parse_from(args.clone());
            let alone = Cli::parse_args(args);
            match (whole, alone) {
                (Ok(whole), Ok(alone)) => {
                    assert_eq!(format!("{whole:?}"), format!("{alone:?}"), "{case:?}")
                }
                (Err(whole), Err(alone)) => {
                    assert_eq!(whole.kind(), alone.kind(), "{case:?}");
                    assert_eq!(
                        whole.render().to_string(),
                        alone.render().to_string(),
                        "{case:?}"
                    );
                }
                (whole, alone) => panic!("{case:?}: {whole:?} against {alone:?}"),
            }
        }
    }
}

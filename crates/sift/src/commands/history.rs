//! `sift plan --record`, `sift history` and `sift history report`: the push
//! history in the store. They run in `sift-remote` (they talk to the store);
//! plain `sift plan` never reaches this module.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sift_core::history::outcome::{
    OutcomeReport, PushOutcomes, TaskOutcome, TaskResult, TaskTests, Verdict,
};
use sift_core::history::{
    Force, PlanDetail, PlanMode, PushContext, PushRecord, RecordedPlan, format_rfc3339,
};
use sift_core::{Change, Plan, PlanOptions, Planner};
use sift_store::history::{History, Problem, PushRequest, Recorded};
use sift_store::{Store, StoreError};

use crate::cli::{
    HistoryArgs, HistoryCommand, HistoryReportArgs, PlanArgs, RecordArgs, ReportResult, StoreArgs,
    WhyArgs,
};
use crate::error::CliError;
use crate::{exit, output};

/// CI variables that name the branch of a push, in the order they are tried.
pub const BRANCH_VARIABLES: &[&str] = &[
    "GITHUB_REF_NAME",
    "BUILD_SOURCEBRANCHNAME",
    "CI_COMMIT_BRANCH",
    "BUILDKITE_BRANCH",
];

/// `--branch`, else the CI environment, else the checked-out branch.
pub(crate) fn resolve_branch(root: &Path, explicit: Option<&str>) -> Result<String, CliError> {
    if let Some(branch) = explicit.filter(|b| !b.trim().is_empty()) {
        return Ok(branch.to_owned());
    }
    for name in BRANCH_VARIABLES {
        if let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            return Ok(value);
        }
    }
    let missing = || CliError::Usage {
        message: "cannot tell which branch this push is on".to_owned(),
        hint: Some(format!(
            "pass --branch BRANCH (or set one of {}); HEAD is detached or this is not a git repository",
            BRANCH_VARIABLES.join(", ")
        )),
    };
    match sift_git::current_branch(root) {
        Ok(Some(branch)) => Ok(branch),
        Ok(None) | Err(_) => Err(missing()),
    }
}

pub(crate) fn report(problems: &[Problem]) {
    for problem in problems {
        output::warning(&format!(
            "skipped `{}` in the history: {}",
            problem.key, problem.detail
        ));
    }
}

/// A head SHA to record: the change's, else `--head` if it is a commit id.
pub(crate) fn head_of(
    plan_head: Option<&str>,
    given: &str,
    what: &str,
) -> Result<String, CliError> {
    if let Some(head) = plan_head {
        return Ok(head.to_owned());
    }
    if given.len() >= 7 && given.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(given.to_ascii_lowercase());
    }
    Err(CliError::Usage {
        message: format!("{what} needs the head commit of the push"),
        hint: Some(
            "with --files-from, pass the pushed commit as --head SHA (e.g. $GITHUB_SHA)".to_owned(),
        ),
    })
}

/// What a push record keeps of a plan: names, reasons, the mode and what
/// the selection alone would have skipped.
pub(crate) fn recorded_plan(plan: &Plan, options: &PlanOptions) -> RecordedPlan {
    let (kept, skipped) = split_names(plan);
    let forced = plan.shadow || plan.push.as_ref().is_some_and(|p| p.decision.backstop);
    RecordedPlan {
        kept,
        skipped,
        detail: Some(PlanDetail {
            mode: if plan.shadow {
                PlanMode::Shadow
            } else {
                PlanMode::Enforce
            },
            targets: options
                .targets
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            all: options.all,
            reasons: plan
                .tasks
                .iter()
                .map(|d| (d.name.clone(), d.reason.clone()))
                .collect(),
            would_skip: forced.then(|| plan.would_skip.clone()),
            changed_files: plan.changed_files.len(),
        }),
    }
}

/// A push to record, planned: the plan made under the push's decision and
/// what the store did.
pub(crate) struct PlannedPush {
    pub plan: Plan,
    pub recorded: Recorded,
}

/// Records the push of `request` in `history`, planning with `plan_for`
/// under the decision it gets (a re-run of a recorded head SHA plans under
/// the existing record). Shared by `sift plan --record` (task graphs too)
/// and `sift run`.
pub(crate) fn record_push(
    runtime: &sift_store::Runtime,
    history: &History,
    request: &PushRequest<'_>,
    options: &PlanOptions,
    mut plan_for: impl FnMut(&PlanOptions) -> Result<Plan, CliError>,
) -> Result<Result<PlannedPush, CliError>, StoreError> {
    let mut planned: Option<Plan> = None;
    let recorded = runtime.block_on(history.record(request, |context| {
        let options = PlanOptions {
            push: Some(context.clone()),
            ..options.clone()
        };
        let plan = plan_for(&options)?;
        let recorded = recorded_plan(&plan, &options);
        planned = Some(plan);
        Ok(recorded)
    }))?;
    Ok(recorded.map(|recorded| PlannedPush {
        plan: planned.take().expect("a recorded push was planned"),
        recorded,
    }))
}

/// One line on stderr about the push a plan was recorded as.
pub(crate) fn announce(recorded: &Recorded) {
    report(&recorded.problems);
    let r = &recorded.record;
    let again = if recorded.existing {
        format!(
            " (recorded before: this head SHA is already push {})",
            r.number
        )
    } else {
        String::new()
    };
    let shadow = if r.mode() == PlanMode::Shadow {
        " [shadow mode]"
    } else {
        ""
    };
    output::note(&format!(
        "push {} #{}{again}{shadow}: {}",
        r.branch, r.number, r.reason
    ));
}

/// `sift plan --record`: decide the push, plan under that decision, record.
pub fn plan_and_record(root: &Path, args: PlanArgs) -> Result<u8, CliError> {
    super::plan::check_format_args(&args)?;
    let options = super::plan_options(&args.select)?;
    if args.mozilla.graph.is_some() {
        // A taskgraph graph: its backstop strategies follow the recorded push.
        let prepared = super::mozilla::GraphPlan::prepare(root, &args)?;
        let head = head_of(prepared.head(), &args.change.head, "--record")?;
        let plan = record_and_plan(root, &args, &prepared.config, &head, None, &options, |o| {
            prepared.plan(&args, o.push.as_ref())
        })?;
        return prepared.emit(plan, &args);
    }
    let config = super::load_config(root)?;
    let change = super::load_change(root, &args.change)?;
    let head = head_of(change.origin.head.as_deref(), &args.change.head, "--record")?;
    let base = change.origin.base.clone();
    let revisions = super::workspace::GitRevisions::new(root, &change, &args.change);
    let mut planner = Planner::new(&config).with_revisions(&revisions);
    let plan = record_and_plan(
        root,
        &args,
        &config,
        &head,
        base.as_deref(),
        &options,
        |options| {
            planner
                .plan(change.clone(), options)
                .map_err(super::plan_error)
        },
    )?;
    super::ignore_sift_dir(root);
    super::plan::emit(&plan, &mut planner, &args)?;
    Ok(exit::OK)
}

/// Takes the branch's next push number, decides it, plans under that
/// decision with `plan_for` and records the push; `--record-optional`
/// plans unrecorded when the store cannot be reached.
#[allow(clippy::too_many_arguments)]
fn record_and_plan(
    root: &Path,
    args: &PlanArgs,
    config: &sift_core::Config,
    head: &str,
    base: Option<&str>,
    options: &PlanOptions,
    mut plan_for: impl FnMut(&PlanOptions) -> Result<Plan, CliError>,
) -> Result<Plan, CliError> {
    let record = &args.record;
    let branch = resolve_branch(root, record.branch.as_deref())?;
    let force = match (record.backstop, record.expanded, record.no_backstop) {
        (true, _, _) => Force::Backstop,
        (_, true, _) => Force::Expanded,
        (_, _, true) => Force::NoBackstop,
        _ => Force::Auto,
    };
    // A wrong URL is a usage error, not a store hiccup: --record-optional
    // does not excuse it.
    let url = super::cache::resolve_store_with(root, &record.store, Some(config))?;
    let recorded = (|| -> Result<_, StoreError> {
        let runtime = runtime()?;
        let store = Store::open(&url, true)?;
        let history = History::new(store, &branch)?;
        let request = PushRequest {
            head,
            base,
            time: now(),
            cadence: &config.cadence,
            force,
        };
        record_push(&runtime, &history, &request, options, &mut plan_for)
    })();
    match recorded {
        Ok(planned) => {
            let planned = planned?;
            announce(&planned.recorded);
            Ok(planned.plan)
        }
        Err(error) if record.record_optional => {
            output::warning(&format!(
                "the push was not recorded (--record-optional): {error}"
            ));
            if let Some(hint) = error.hint() {
                output::note(&hint);
            }
            plan_for(options)
        }
        Err(error) => Err(error.into()),
    }
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A runtime for a command's store work.
pub(crate) fn runtime() -> Result<sift_store::Runtime, StoreError> {
    sift_store::runtime().map_err(|source| StoreError::LocalIo {
        what: "cannot start the async runtime".to_owned(),
        source,
    })
}

fn runtime_block_on<T>(work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    runtime()?.block_on(work)
}

fn split_names(plan: &Plan) -> (Vec<String>, Vec<String>) {
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for decision in &plan.tasks {
        if decision.run {
            kept.push(decision.name.clone());
        } else {
            skipped.push(decision.name.clone());
        }
    }
    (kept, skipped)
}

#[derive(Serialize)]
struct HistoryJson<'a> {
    format_version: u32,
    branch: &'a str,
    pushes: Vec<PushJson<'a>>,
}

#[derive(Serialize)]
struct PushJson<'a> {
    number: u64,
    head: &'a str,
    base: Option<&'a str>,
    time: String,
    backstop: bool,
    expanded: bool,
    /// `enforce` or `shadow`.
    mode: &'static str,
    reason: &'a str,
    kept: &'a [String],
    skipped: &'a [String],
    /// With `--tasks`: the tasks' recorded results on this push.
    #[serde(skip_serializing_if = "Option::is_none")]
    tasks: Option<Vec<TaskJson<'a>>>,
}

/// One task's results on one push.
#[derive(Serialize)]
struct TaskJson<'a> {
    name: &'a str,
    /// The latest attempt: `succeeded`, `failed` or `timed_out`.
    result: &'static str,
    /// Over all attempts: `passed`, `failed` or `flaky`.
    verdict: &'static str,
    attempts: usize,
    duration_s: Option<f64>,
}

fn verdict_str(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::Flaky => "flaky",
    }
}

/// `sift why --push`: the push recorded for the change's head SHA.
pub fn recorded_push(
    root: &Path,
    change: &Change,
    args: &WhyArgs,
) -> Result<Option<PushContext>, CliError> {
    let branch = resolve_branch(root, args.branch.as_deref())?;
    let head = head_of(change.origin.head.as_deref(), &args.change.head, "--push")?;
    let url = super::cache::resolve_store(root, &args.store)?;
    let history = History::new(Store::open(&url, false)?, &branch)?;
    let (record, problems) = runtime_block_on(history.recorded(&head))?;
    report(&problems);
    match record {
        Some(record) => Ok(Some(PushContext {
            branch,
            number: record.number,
            decision: record.decision(),
        })),
        None => Err(CliError::Usage {
            message: format!("{head} is not a recorded push of {branch}"),
            hint: Some(
                "record it with `sift plan --record`, or check --branch and --store".to_owned(),
            ),
        }),
    }
}

/// `sift history`: recent pushes, newest first (with `--tasks`, their
/// tasks' results); `sift history report`: add an outcome.
pub fn list(root: &Path, args: HistoryArgs) -> Result<u8, CliError> {
    if let Some(HistoryCommand::Report(report)) = args.command {
        return report_outcome(root, report);
    }
    show(
        root,
        args.branch.as_deref(),
        &args.store,
        args.limit,
        args.json,
        args.tasks,
    )
}

/// The newest `limit` pushes of a branch, optionally with their tasks'
/// results (`sift history --tasks`, `sift run --history`).
pub(crate) fn show(
    root: &Path,
    branch: Option<&str>,
    store: &StoreArgs,
    limit: usize,
    json: bool,
    tasks: bool,
) -> Result<u8, CliError> {
    let branch = resolve_branch(root, branch)?;
    let url = super::cache::resolve_store(root, store)?;
    let history = History::new(Store::open(&url, false)?, &branch)?;
    let runtime = runtime()?;
    let (pushes, problems) = runtime.block_on(history.recent(limit))?;
    report(&problems);
    let outcomes = if tasks {
        let numbers: Vec<u64> = pushes.iter().map(|p| p.number).collect();
        let (outcomes, problems) = runtime.block_on(history.outcomes_of(&numbers))?;
        report(&problems);
        Some(outcomes)
    } else {
        None
    };
    let text = if json {
        let json = HistoryJson {
            format_version: 1,
            branch: &branch,
            pushes: pushes
                .iter()
                .enumerate()
                .map(|(i, p)| push_json(p, outcomes.as_ref().map(|o| &o[i])))
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&json).expect("plain data serializes");
        text.push('\n');
        text
    } else {
        let mut text = history_text(&branch, &pushes);
        if let Some(outcomes) = &outcomes {
            text.push_str(&tasks_text(&pushes, outcomes));
        }
        text
    };
    super::plan::print_stdout(&text)?;
    Ok(exit::OK)
}

fn push_json<'a>(record: &'a PushRecord, outcomes: Option<&'a PushOutcomes>) -> PushJson<'a> {
    PushJson {
        number: record.number,
        head: &record.head,
        base: record.base.as_deref(),
        time: format_rfc3339(record.time),
        backstop: record.backstop,
        expanded: record.expanded,
        mode: record.mode().as_str(),
        reason: &record.reason,
        kept: &record.kept,
        skipped: &record.skipped,
        tasks: outcomes.map(|o| {
            o.tasks
                .iter()
                .filter_map(|(name, attempts)| {
                    let latest = attempts.last()?;
                    Some(TaskJson {
                        name,
                        result: latest.result.as_str(),
                        verdict: verdict_str(o.verdict(name)?),
                        attempts: attempts.len(),
                        duration_s: o.duration(name),
                    })
                })
                .collect()
        }),
    }
}

fn history_text(branch: &str, pushes: &[PushRecord]) -> String {
    let mut out = String::new();
    if pushes.is_empty() {
        let _ = writeln!(
            out,
            "no recorded pushes on {branch} (record them with `sift plan --record` or `sift run`)"
        );
        return out;
    }
    let _ = writeln!(out, "pushes on {branch}, newest first:");
    for r in pushes {
        let kind = if r.backstop {
            "backstop"
        } else if r.expanded {
            "expanded"
        } else if r.mode() == PlanMode::Shadow {
            "shadow"
        } else {
            "-"
        };
        let sha: String = r.head.chars().take(12).collect();
        let _ = writeln!(
            out,
            "#{:<6} {sha:12}  {}  {kind:8}  {} kept, {} skipped  {}",
            r.number,
            format_rfc3339(r.time),
            r.kept.len(),
            r.skipped.len(),
            r.reason
        );
    }
    out
}

/// Per task: one mark per push (newest first), its latest result and duration.
fn tasks_text(pushes: &[PushRecord], outcomes: &[PushOutcomes]) -> String {
    let mut out = String::new();
    let mut names: Vec<&str> = outcomes
        .iter()
        .flat_map(|o| o.tasks.keys().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        let _ = writeln!(
            out,
            "\nno task results recorded on these pushes (`sift run` records them; CI systems use `sift history report`)"
        );
        return out;
    }
    let (Some(newest), Some(oldest)) = (pushes.first(), pushes.last()) else {
        return out;
    };
    let _ = writeln!(
        out,
        "\ntask results on pushes #{} to #{}, newest first (P passed, F failed or timed out, ~ flaky, . none):",
        newest.number, oldest.number
    );
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(4);
    for name in names {
        let marks: String = outcomes
            .iter()
            .map(|o| match o.verdict(name) {
                Some(Verdict::Passed) => 'P',
                Some(Verdict::Failed) => 'F',
                Some(Verdict::Flaky) => '~',
                None => '.',
            })
            .collect();
        let latest = outcomes
            .iter()
            .find_map(|o| Some((o.push, o.latest(name)?, o.duration(name))));
        let last = match latest {
            Some((push, attempt, duration)) => format!(
                "last: {} on #{push}{}",
                attempt.result.as_str().replace('_', " "),
                duration.map_or_else(String::new, |d| format!(
                    ", {}",
                    sift_core::run::report::format_seconds(d)
                ))
            ),
            None => String::new(),
        };
        let _ = writeln!(out, "{name:<width$}  {marks}  {last}");
    }
    out
}

/// `sift history report`: one task's outcome on a recorded push.
fn report_outcome(root: &Path, args: HistoryReportArgs) -> Result<u8, CliError> {
    if args.task.trim().is_empty() {
        return Err(CliError::Usage {
            message: "--task is empty".to_owned(),
            hint: None,
        });
    }
    if let Some(d) = args.duration
        && !(d.is_finite() && d >= 0.0)
    {
        return Err(CliError::Usage {
            message: format!("--duration {d} is not a number of seconds ≥ 0"),
            hint: None,
        });
    }
    let branch = resolve_branch(root, args.branch.as_deref())?;
    let url = super::cache::resolve_store(root, &args.store)?;
    let history = History::new(Store::open(&url, false)?, &branch)?;
    let runtime = runtime()?;
    let record = find_push(&runtime, &history, args.push, args.head.as_deref())?;
    if !record.kept(&args.task) && record.would_skip(&args.task).is_none() {
        output::warning(&format!(
            "`{}` is not a task of push {branch} #{}'s plan; recording it anyway",
            args.task, record.number
        ));
    }
    let result = match args.result {
        ReportResult::Succeeded => TaskResult::Succeeded,
        ReportResult::Failed => TaskResult::Failed,
        ReportResult::TimedOut => TaskResult::TimedOut,
    };
    let report = OutcomeReport {
        branch: branch.clone(),
        push: record.number,
        head: record.head.clone(),
        source: "sift history report".to_owned(),
        reported_at: now(),
        tasks: vec![TaskOutcome {
            name: args.task.clone(),
            result,
            duration_s: args.duration,
            started_at: None,
            finished_at: None,
        }],
        tests: Vec::new(),
    };
    let key = runtime.block_on(history.report(&report))?;
    output::note(&format!(
        "recorded `{}` {} on {branch} #{} ({key})",
        args.task,
        result.as_str().replace('_', " "),
        record.number
    ));
    Ok(exit::OK)
}

/// The recorded push `number`, or the one recorded for `head`.
pub(crate) fn find_push(
    runtime: &sift_store::Runtime,
    history: &History,
    number: Option<u64>,
    head: Option<&str>,
) -> Result<PushRecord, CliError> {
    let branch = history.branch().to_owned();
    let not_recorded = |what: String| CliError::Usage {
        message: format!("{what} is not a recorded push of {branch}"),
        hint: Some(
            "record pushes with `sift plan --record` (or `sift run`); check --branch and --store"
                .to_owned(),
        ),
    };
    match (number, head) {
        (Some(n), _) => match runtime.block_on(history.read(n))? {
            Some(Ok(record)) => Ok(record),
            Some(Err(problem)) => Err(CliError::Input {
                message: format!(
                    "push {n} is unreadable: `{}`: {}",
                    problem.key, problem.detail
                ),
                hint: None,
            }),
            None => Err(not_recorded(format!("push {n}"))),
        },
        (None, Some(head)) => {
            let (record, problems) = runtime.block_on(history.recorded(head))?;
            report(&problems);
            record.ok_or_else(|| not_recorded(head.to_owned()))
        }
        (None, None) => Err(CliError::Usage {
            message: "which push? pass --push N or --head SHA".to_owned(),
            hint: None,
        }),
    }
}

/// `sift record --push N --task T`: the cache and times as `sift record`,
/// then the tests as one outcome report of push N, under task T.
pub fn record_with_push(root: &Path, args: RecordArgs) -> Result<u8, CliError> {
    let (Some(number), Some(task)) = (args.push, args.task.clone()) else {
        return Err(CliError::Usage {
            message: "--push needs --task".to_owned(),
            hint: None,
        });
    };
    let branch = resolve_branch(root, args.branch.as_deref())?;
    let url = super::cache::resolve_store(root, &args.store)?;
    let history = History::new(Store::open(&url, false)?, &branch)?;
    let runtime = runtime()?;
    // The push is checked first: nothing is written for a push that is not there.
    let record = find_push(&runtime, &history, Some(number), None)?;
    let (code, tests) = super::record::record(root, &args)?;
    let count = tests.len();
    let report = OutcomeReport {
        branch: branch.clone(),
        push: record.number,
        head: record.head.clone(),
        source: "sift record".to_owned(),
        reported_at: now(),
        tasks: Vec::new(),
        tests: vec![TaskTests {
            task: task.clone(),
            tests,
        }],
    };
    let key = runtime.block_on(history.report(&report))?;
    output::note(&format!(
        "kept {count} test result(s) of `{task}` in {branch} #{number} ({key})"
    ));
    Ok(code)
}

//! `sift plan --record` and `sift history`: the push history in the store.
//! Both run in `sift-remote` (they talk to the store); plain `sift plan` never
//! reaches this module.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sift_core::history::{Force, PushContext, PushRecord, format_rfc3339};
use sift_core::{Change, Plan, PlanOptions, Planner};
use sift_store::history::{History, Problem, PushRequest};
use sift_store::{Store, StoreError};

use crate::cli::{HistoryArgs, PlanArgs, WhyArgs};
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
fn resolve_branch(root: &Path, explicit: Option<&str>) -> Result<String, CliError> {
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

fn report(problems: &[Problem]) {
    for problem in problems {
        output::warning(&format!(
            "skipped `{}` in the history: {}",
            problem.key, problem.detail
        ));
    }
}

/// A head SHA to record: the change's, else `--head` if it is a commit id.
fn head_of(plan_head: Option<&str>, args: &PlanArgs) -> Result<String, CliError> {
    if let Some(head) = plan_head {
        return Ok(head.to_owned());
    }
    let given = args.change.head.as_str();
    if given.len() >= 7 && given.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(given.to_ascii_lowercase());
    }
    Err(CliError::Usage {
        message: "--record needs the head commit of the push".to_owned(),
        hint: Some(
            "with --files-from, pass the pushed commit as --head SHA (e.g. $GITHUB_SHA)".to_owned(),
        ),
    })
}

/// `sift plan --record`: decide the push, plan under that decision, record.
pub fn plan_and_record(root: &Path, args: PlanArgs) -> Result<u8, CliError> {
    super::plan::check_format_args(&args)?;
    if args.mozilla.graph.is_some() {
        // A taskgraph graph: its backstop strategies follow the recorded push.
        let prepared = super::mozilla::GraphPlan::prepare(root, &args)?;
        let head = head_of(prepared.head(), &args)?;
        let plan = record_and_plan(root, &args, &prepared.config, &head, None, |push| {
            prepared.plan(&args, push.as_ref())
        })?;
        return prepared.emit(plan, &args);
    }
    let config = super::load_config(root)?;
    let options = super::plan_options(&args.select)?;
    let change = super::load_change(root, &args.change)?;
    let head = head_of(change.origin.head.as_deref(), &args)?;
    let base = change.origin.base.clone();
    let revisions = super::workspace::GitRevisions::new(root, &change, &args.change);
    let mut planner = Planner::new(&config).with_revisions(&revisions);
    let plan = record_and_plan(root, &args, &config, &head, base.as_deref(), |push| {
        let options = PlanOptions {
            push,
            ..options.clone()
        };
        planner
            .plan(change.clone(), &options)
            .map_err(super::plan_error)
    })?;
    super::plan::emit(&plan, &mut planner, &args)?;
    Ok(exit::OK)
}

/// Takes the branch's next push number, decides it, plans under that
/// decision with `plan_for` and records the push; `--record-optional`
/// plans unrecorded when the store cannot be reached.
fn record_and_plan(
    root: &Path,
    args: &PlanArgs,
    config: &sift_core::Config,
    head: &str,
    base: Option<&str>,
    mut plan_for: impl FnMut(Option<PushContext>) -> Result<Plan, CliError>,
) -> Result<Plan, CliError> {
    let record = &args.record;
    let branch = resolve_branch(root, record.branch.as_deref())?;
    let force = match (record.backstop, record.expanded, record.no_backstop) {
        (true, _, _) => Force::Backstop,
        (_, true, _) => Force::Expanded,
        (_, _, true) => Force::NoBackstop,
        _ => Force::Auto,
    };
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut planned: Option<Plan> = None;
    // A wrong URL is a usage error, not a store hiccup: --record-optional
    // does not excuse it.
    let url = super::cache::resolve_store(root, &record.store)?;
    let recorded = (|| -> Result<_, StoreError> {
        let store = Store::open(&url, true)?;
        let history = History::new(store, &branch)?;
        let request = PushRequest {
            head,
            base,
            time,
            cadence: &config.cadence,
            force,
        };
        runtime_block_on(history.record(&request, |context| {
            let plan = plan_for(Some(context.clone()))?;
            let names = split_names(&plan);
            planned = Some(plan);
            Ok(names)
        }))
    })();
    let plan = match recorded {
        Ok(Err(error)) => return Err(error),
        Ok(Ok(recorded)) => {
            report(&recorded.problems);
            let plan = planned.take().expect("a recorded push was planned");
            let r = &recorded.record;
            let again = if recorded.existing {
                format!(
                    " (recorded before: this head SHA is already push {})",
                    r.number
                )
            } else {
                String::new()
            };
            output::note(&format!(
                "push {} #{}{again}: {}",
                r.branch, r.number, r.reason
            ));
            plan
        }
        Err(error) if record.record_optional => {
            output::warning(&format!(
                "the push was not recorded (--record-optional): {error}"
            ));
            if let Some(hint) = error.hint() {
                output::note(&hint);
            }
            drop(planned.take());
            plan_for(None)?
        }
        Err(error) => return Err(error.into()),
    };
    Ok(plan)
}

fn runtime_block_on<T>(work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    let runtime = sift_store::runtime().map_err(|source| StoreError::LocalIo {
        what: "cannot start the async runtime".to_owned(),
        source,
    })?;
    runtime.block_on(work)
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
    reason: &'a str,
    kept: &'a [String],
    skipped: &'a [String],
}

/// `sift why --push`: the push recorded for the change's head SHA.
pub fn recorded_push(
    root: &Path,
    change: &Change,
    args: &WhyArgs,
) -> Result<Option<PushContext>, CliError> {
    let branch = resolve_branch(root, args.branch.as_deref())?;
    let head = change.origin.head.clone().map_or_else(
        || {
            let given = args.change.head.as_str();
            if given.len() >= 7 && given.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(given.to_ascii_lowercase())
            } else {
                Err(CliError::Usage {
                    message: "--push needs the head commit of the push".to_owned(),
                    hint: Some(
                        "with --files-from, pass the pushed commit as --head SHA".to_owned(),
                    ),
                })
            }
        },
        Ok,
    )?;
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

/// `sift history`: recent pushes, newest first.
pub fn list(root: &Path, args: HistoryArgs) -> Result<u8, CliError> {
    let branch = resolve_branch(root, args.branch.as_deref())?;
    let url = super::cache::resolve_store(root, &args.store)?;
    let history = History::new(Store::open(&url, false)?, &branch)?;
    let (pushes, problems) = runtime_block_on(history.recent(args.limit))?;
    report(&problems);
    let text = if args.json {
        let json = HistoryJson {
            format_version: 1,
            branch: &branch,
            pushes: pushes.iter().map(push_json).collect(),
        };
        let mut text = serde_json::to_string_pretty(&json).expect("plain data serializes");
        text.push('\n');
        text
    } else {
        history_text(&branch, &pushes)
    };
    super::plan::print_stdout(&text)?;
    Ok(exit::OK)
}

fn push_json(record: &PushRecord) -> PushJson<'_> {
    PushJson {
        number: record.number,
        head: &record.head,
        base: record.base.as_deref(),
        time: format_rfc3339(record.time),
        backstop: record.backstop,
        expanded: record.expanded,
        reason: &record.reason,
        kept: &record.kept,
        skipped: &record.skipped,
    }
}

fn history_text(branch: &str, pushes: &[PushRecord]) -> String {
    let mut out = String::new();
    if pushes.is_empty() {
        let _ = writeln!(
            out,
            "no recorded pushes on {branch} (record them with `sift plan --record`)"
        );
        return out;
    }
    let _ = writeln!(out, "pushes on {branch}, newest first:");
    for r in pushes {
        let kind = if r.backstop {
            "backstop"
        } else if r.expanded {
            "expanded"
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

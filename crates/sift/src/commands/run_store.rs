//! `sift run` and the push history: which recorded push a run belongs to
//! (planning under its backstop decision, or recording it), what earlier runs
//! on this branch and its base say about the order (failed last time,
//! durations), and recording this run's results as one outcome report.
//!
//! Recording is on by default, into the configured store or `.sift/store`.
//! A store that cannot be reached only warns (the tasks still run, in an
//! order without history), unless `--record` asks for a failure (exit 6).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sift_core::history::outcome::{LastRun, OutcomeReport, TaskOutcome, TaskResult, last_runs};
use sift_core::history::{Force, PlanMode, PushContext, PushRecord};
use sift_core::run::report::{Outcome, RunReport};
use sift_core::run::shard;
use sift_core::{Change, Config, Plan, PlanOptions, Planner};
use sift_store::history::{History, PushRequest};
use sift_store::{Store, StoreError};

use super::history::{announce, head_of, now, record_push, report, resolve_branch, runtime};
use crate::cli::RunArgs;
use crate::error::CliError;
use crate::output;

/// How many pushes back a run looks for each task's last result.
pub const MAX_PUSHES_BACK: u64 = 50;

/// CI variables naming a pull request's target branch, in the order tried.
const TARGET_BRANCH_VARIABLES: &[&str] = &[
    "GITHUB_BASE_REF",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "SYSTEM_PULLREQUEST_TARGETBRANCH",
    "BUILDKITE_PULL_REQUEST_BASE_BRANCH",
];

/// The store as one run uses it.
pub(crate) struct RunStore {
    runtime: sift_store::Runtime,
    /// This branch's history; `None` when there is none to use (warned).
    history: Option<History>,
    /// The base branch's history, for tasks this branch has not run.
    base: Option<History>,
    /// `--record`: failures are errors, not warnings.
    strict: bool,
    /// Whether this run writes (not `--no-record`, not `--dry-run`).
    write: bool,
}

impl RunStore {
    /// Resolves the store, the branch and the base branch. A wrong store URL
    /// is always an error; a branch that cannot be told is one only with
    /// `--record`.
    pub fn open(
        root: &Path,
        args: &RunArgs,
        config: &Config,
        change: &Change,
    ) -> Result<RunStore, CliError> {
        let runtime = runtime()?;
        let strict = args.record;
        let write = !args.no_record && !args.dry_run;
        let mut store = RunStore {
            runtime,
            history: None,
            base: None,
            strict,
            write,
        };
        let url = super::cache::resolve_store_with(root, &args.store, Some(config))?;
        let branch = match resolve_branch(root, args.branch.as_deref()) {
            Ok(branch) => branch,
            Err(error) if !strict => {
                store.give_up(&format!("cannot tell the branch ({error})"));
                return Ok(store);
            }
            Err(error) => return Err(error),
        };
        let opened = Store::open(&url, write).and_then(|s| {
            let base = base_branch(args, change, &branch)
                .map(|b| History::new(s.clone(), &b))
                .transpose()?;
            Ok((History::new(s, &branch)?, base))
        });
        match opened {
            Ok((history, base)) => {
                store.history = Some(history);
                store.base = base;
            }
            Err(error) => store.store_failed(error)?,
        }
        Ok(store)
    }

    /// Without `--record`, a store problem turns recording off with a
    /// warning; with it, the problem is the command's error.
    fn store_failed(&mut self, error: StoreError) -> Result<(), CliError> {
        if self.strict {
            return Err(error.into());
        }
        self.give_up(&error.to_string());
        if let Some(hint) = error.hint() {
            output::note(&hint);
        }
        Ok(())
    }

    fn give_up(&mut self, why: &str) {
        if self.write {
            output::warning(&format!(
                "this run's results are not recorded: {why} (--no-record silences this)"
            ));
        }
        self.history = None;
        self.base = None;
        self.write = false;
    }

    pub fn branch(&self) -> Option<&str> {
        self.history.as_ref().map(History::branch)
    }

    /// Plans the change: under the push recorded for its head SHA if there
    /// is one, else (when this run records) under a push it records now.
    /// Returns the plan and its push record.
    pub fn plan(
        &mut self,
        args: &RunArgs,
        config: &Config,
        planner: &mut Planner,
        change: Change,
        options: &PlanOptions,
    ) -> Result<(Plan, Option<PushRecord>), CliError> {
        let mut plain = |change: Change, options: &PlanOptions| {
            planner.plan(change, options).map_err(super::plan_error)
        };
        let Some(history) = self.history.clone() else {
            return Ok((plain(change, options)?, None));
        };
        let head = match head_of(
            change.origin.head.as_deref(),
            &args.change.head,
            "recording",
        ) {
            Ok(head) => head,
            Err(error) if !self.strict => {
                if self.write {
                    output::warning(&format!(
                        "this run's results are not recorded: {error} (with --files-from, pass --head SHA)"
                    ));
                }
                self.write = false;
                return Ok((plain(change, options)?, None));
            }
            Err(error) => return Err(error),
        };
        let found = match self.runtime.block_on(history.recorded(&head)) {
            Ok((found, problems)) => {
                report(&problems);
                found
            }
            Err(error) => {
                self.store_failed(error)?;
                return Ok((plain(change, options)?, None));
            }
        };
        if let Some(record) = found {
            let options = PlanOptions {
                push: Some(PushContext {
                    branch: history.branch().to_owned(),
                    number: record.number,
                    decision: record.decision(),
                }),
                shadow: options.shadow || record.mode() == PlanMode::Shadow,
                ..options.clone()
            };
            output::note(&format!(
                "push {} #{} (recorded before): {}",
                record.branch, record.number, record.reason
            ));
            return Ok((plain(change, &options)?, Some(record)));
        }
        if !self.write {
            return Ok((plain(change, options)?, None));
        }
        if args.shard.is_some() {
            // Every shard must plan the same push; racing to record it from
            // N machines could give one SHA two pushes.
            output::warning(&format!(
                "{head} is not a recorded push of {}: record it first (`sift plan --record` in the decision job) so every shard plans the same push; this shard's results are not recorded",
                history.branch()
            ));
            self.write = false;
            return Ok((plain(change, options)?, None));
        }
        let force = match (args.backstop, args.no_backstop) {
            (true, _) => Force::Backstop,
            (_, true) => Force::NoBackstop,
            _ => Force::Auto,
        };
        let request = PushRequest {
            head: &head,
            base: change.origin.base.as_deref(),
            time: now(),
            cadence: &config.cadence,
            force,
        };
        let planned = record_push(&self.runtime, &history, &request, options, |options| {
            plain(change.clone(), options)
        });
        match planned {
            Ok(planned) => {
                let planned = planned?;
                announce(&planned.recorded);
                Ok((planned.plan, Some(planned.recorded.record)))
            }
            Err(error) => {
                self.store_failed(error)?;
                Ok((plain(change, options)?, None))
            }
        }
    }

    /// The split of recorded push `push` over `count` shards that all its
    /// shards use: the one its first shard stored, else `assigned` (what this
    /// shard computed), stored for the others. Without a history, or when
    /// the store fails, this shard's own split, with a warning: shards that
    /// start at different times weigh tasks by different durations and may
    /// disagree.
    pub fn fix_split(
        &mut self,
        push: &PushRecord,
        count: usize,
        names: &[&str],
        assigned: Vec<usize>,
    ) -> Result<Vec<usize>, CliError> {
        let Some(history) = self.history.clone() else {
            output::warning(
                "no push history: this shard's split is its own, and shards that start at different times may split differently",
            );
            return Ok(assigned);
        };
        let digest = sift_store::key::md5_hex(&names.join("\n"));
        let computed = shard::split_to_json(push.number, count, names, &assigned);
        let fixed = self.runtime.block_on(history.fix_split(
            push.number,
            count,
            &digest,
            computed,
            self.write,
        ));
        match fixed {
            Ok((_, true)) => Ok(assigned),
            Ok((bytes, false)) => match shard::split_from_json(&bytes, push.number, count, names) {
                Ok(stored) => Ok(stored),
                Err(why) => {
                    let key =
                        history
                            .store()
                            .full_key(&history.split_key(push.number, count, &digest));
                    output::warning(&format!(
                        "skipping the stored split `{key}`: {why}; this shard's split is its own"
                    ));
                    Ok(assigned)
                }
            },
            Err(error) => {
                self.store_failed(error)?;
                Ok(assigned)
            }
        }
    }

    /// Each of `tasks`' most recent run: this branch's newest pushes first,
    /// then its base branch's, at most [`MAX_PUSHES_BACK`] pushes each.
    pub fn last_runs(&mut self, tasks: &BTreeSet<String>) -> BTreeMap<String, LastRun> {
        let Some(history) = self.history.clone() else {
            return BTreeMap::new();
        };
        let read = |history: &History, wanted: &BTreeSet<String>| {
            self.runtime
                .block_on(history.recent_outcomes(wanted, None, MAX_PUSHES_BACK))
        };
        let own = match read(&history, tasks) {
            Ok((own, problems)) => {
                report(&problems);
                own
            }
            Err(error) => {
                output::warning(&format!(
                    "cannot read earlier results; ordering without them: {error}"
                ));
                return BTreeMap::new();
            }
        };
        let missing: BTreeSet<String> = tasks
            .iter()
            .filter(|t| !own.iter().any(|p| p.tasks.contains_key(*t)))
            .cloned()
            .collect();
        let base = match &self.base {
            Some(base) if !missing.is_empty() => match read(base, &missing) {
                Ok((pushes, problems)) => {
                    report(&problems);
                    Some((base.branch().to_owned(), pushes))
                }
                Err(error) => {
                    output::warning(&format!(
                        "cannot read the results of {}: {error}",
                        base.branch()
                    ));
                    None
                }
            },
            _ => None,
        };
        last_runs(
            (history.branch(), &own),
            base.as_ref().map(|(b, p)| (b.as_str(), p.as_slice())),
        )
    }

    /// Stores this run's results under `push`: one outcome report holding
    /// every task that ran to an end (succeeded, failed, timed out). Returns
    /// whether it was recorded; a failure is a warning, or with `--record`
    /// an error.
    pub fn record(&self, push: &PushRecord, run: &RunReport) -> Result<bool, CliError> {
        let Some(history) = self.history.as_ref().filter(|_| self.write) else {
            return Ok(false);
        };
        let tasks: Vec<TaskOutcome> = run
            .tasks
            .iter()
            .filter_map(|t| {
                let result = match t.result {
                    Outcome::Succeeded => TaskResult::Succeeded,
                    Outcome::Failed => TaskResult::Failed,
                    Outcome::TimedOut => TaskResult::TimedOut,
                    _ => return None,
                };
                Some(TaskOutcome {
                    name: t.name.clone(),
                    result,
                    duration_s: t.duration_s,
                    started_at: t.started_at.clone(),
                    finished_at: t.finished_at.clone(),
                })
            })
            .collect();
        if tasks.is_empty() {
            return Ok(false);
        }
        let report = OutcomeReport {
            branch: history.branch().to_owned(),
            push: push.number,
            head: push.head.clone(),
            source: "sift run".to_owned(),
            reported_at: now(),
            tasks,
            tests: Vec::new(),
        };
        match self.runtime.block_on(history.report(&report)) {
            Ok(_) => Ok(true),
            Err(error) if self.strict => Err(error.into()),
            Err(error) => {
                output::warning(&format!("this run's results were not recorded: {error}"));
                Ok(false)
            }
        }
    }
}

/// The base branch whose history fills in: `--base-branch`, else the CI's
/// pull-request target, else the `--base` revision when it names a branch
/// (`origin/main`, `main`); never the branch itself.
fn base_branch(args: &RunArgs, change: &Change, own: &str) -> Option<String> {
    let from_ci = || {
        TARGET_BRANCH_VARIABLES.iter().find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty() && v != "false")
        })
    };
    args.base_branch
        .clone()
        .or_else(from_ci)
        .or_else(|| change.origin.base_name.as_deref().and_then(branch_of_rev))
        .map(|b| {
            b.strip_prefix("refs/heads/")
                .map(str::to_owned)
                .unwrap_or(b)
        })
        .filter(|b| b != own && !b.trim().is_empty())
}

/// The branch a revision names, if it plainly names one: `main`,
/// `origin/main`, `refs/heads/main`, `refs/remotes/origin/main`; not
/// `HEAD~1`, a SHA or anything with revision syntax.
fn branch_of_rev(rev: &str) -> Option<String> {
    if rev.contains(['~', '^', ':', '@', '{', '}', '\\', ' '])
        || rev == "HEAD"
        || (rev.len() >= 7 && rev.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return None;
    }
    let name = if let Some(rest) = rev.strip_prefix("refs/heads/") {
        rest
    } else if let Some(rest) = rev.strip_prefix("refs/remotes/") {
        rest.split_once('/')?.1
    } else if let Some(rest) = rev.strip_prefix("origin/") {
        rest
    } else {
        rev
    };
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::branch_of_rev;

    #[test]
    fn branches_of_revisions() {
        for (rev, branch) in [
            ("main", Some("main")),
            ("origin/main", Some("main")),
            ("refs/remotes/upstream/release/2", Some("release/2")),
            ("refs/heads/feature/x", Some("feature/x")),
            ("HEAD~1", None),
            ("HEAD", None),
            ("main@{1}", None),
            ("0123456789abcdef0123456789abcdef01234567", None),
        ] {
            assert_eq!(branch_of_rev(rev).as_deref(), branch, "{rev}");
        }
    }
}

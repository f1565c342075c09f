//! `sift run`: plan exactly as `sift plan`, then run the kept tasks here.
//! The order and failure handling are sift-core's [`sift_core::run`]; the
//! processes are [`crate::runner`]'s; the push a run belongs to, the earlier
//! results that order it and the recording of its own results are
//! [`super::run_store`]'s (the push history in the store). It runs in
//! `sift-remote`, which has the store code.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sift_core::ci;
use sift_core::history::format_rfc3339;
use sift_core::history::outcome::LastRun;
use sift_core::run::report::{Outcome, RunReport, TaskResult, format_seconds};
use sift_core::run::{Ended, Graph, RunTask, State, shard, simulate, skip_reason};
use sift_core::{Config, Planner};

use super::run_store::RunStore;
use crate::cli::{RunArgs, RunFormat};
use crate::error::CliError;
use crate::runner::{self, Job, Settings};
use crate::{exit, output};

/// Where `sift run` keeps its files, relative to the root.
const RUN_DIR: &str = ".sift/run";

/// Exit code: 0 when every executed task succeeded, 12 when one failed or
/// timed out, 130 when interrupted.
pub fn run(root: &Path, args: RunArgs) -> Result<u8, CliError> {
    let shard_arg = args.shard.as_deref().map(parse_shard).transpose()?;
    if !(args.grace.is_finite() && args.grace >= 0.0) {
        return Err(usage("--grace takes a number of seconds ≥ 0"));
    }
    if args.jobs == Some(0) {
        return Err(usage("-j takes a number of tasks ≥ 1"));
    }
    if args.history {
        let json = args.format == RunFormat::Json;
        return super::history::show(root, args.branch.as_deref(), &args.store, 20, json, true);
    }
    let (config, change) = super::load_config_and_change(root, &args.change)?;
    let options = super::plan_options(&args.select)?;
    let revisions = super::workspace::GitRevisions::new(root, &change, &args.change);
    let mut planner = Planner::new(&config).with_revisions(&revisions);
    let mut store = RunStore::open(root, &args, &config, &change)?;
    let (plan, push) = store.plan(&args, &config, &mut planner, change, &options)?;
    super::workspace::report(&plan);
    let run_dir = root.join(RUN_DIR);

    // The kept tasks as the scheduler sees them.
    let kept = ci::kept_tasks(&plan, &config);
    let names: BTreeSet<String> = kept.iter().map(|t| t.name.to_owned()).collect();
    let last = store.last_runs(&names);
    let all = build_graph(&kept, &last)?;
    let (graph, shard_of) = match shard_arg {
        None => (all, None),
        Some((index, count)) => {
            let mut assigned = shard::assign(&all, count).map_err(|e| usage(&e.to_string()))?;
            if let Some(push) = &push {
                let names: Vec<&str> = all.tasks.iter().map(|t| t.name.as_str()).collect();
                assigned = store.fix_split(push, count, &names, assigned)?;
            }
            let mine: Vec<bool> = assigned.iter().map(|&s| s == index - 1).collect();
            let shard_of: HashMap<String, usize> = all
                .tasks
                .iter()
                .zip(&assigned)
                .map(|(t, &s)| (t.name.clone(), s + 1))
                .collect();
            (subgraph(&all, &mine)?, Some((shard_of, index, count)))
        }
    };
    let jobs_n = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let out_to_stderr = args.format == RunFormat::Json;

    if args.dry_run {
        let (text, json) = dry_run(&graph, jobs_n, args.format);
        if let Some(path) = &args.report {
            write_report(path, &plan, &mut planner, &json)?;
        }
        super::plan::print_stdout(&text)?;
        return Ok(exit::OK);
    }

    let jobs: Vec<Option<Job>> = graph
        .tasks
        .iter()
        .map(|t| job_for(root, &config, &t.name))
        .collect();
    std::fs::create_dir_all(&run_dir)
        .map_err(|e| CliError::io(format!("cannot create `{}`", run_dir.display()), e))?;
    super::ignore_sift_dir(root);
    let changed_path = run_dir.join("changed-files.txt");
    let mut changed = String::new();
    for file in &plan.changed_files {
        for path in file.paths() {
            changed.push_str(path);
            changed.push('\n');
        }
    }
    std::fs::write(&changed_path, changed)
        .map_err(|e| CliError::io(format!("cannot write `{}`", changed_path.display()), e))?;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let mut common_env = vec![
        (
            "SIFT_BASE".to_owned(),
            plan.origin.base.clone().unwrap_or_default(),
        ),
        (
            "SIFT_HEAD".to_owned(),
            plan.origin.head.clone().unwrap_or_default(),
        ),
        (
            "SIFT_CHANGED_FILES".to_owned(),
            absolute(&changed_path).to_string_lossy().into_owned(),
        ),
    ];
    if let (Some(push), Some(branch)) = (&push, store.branch()) {
        common_env.push(("SIFT_PUSH".to_owned(), push.number.to_string()));
        common_env.push(("SIFT_BRANCH".to_owned(), branch.to_owned()));
    }
    let settings = Settings {
        jobs: jobs_n,
        keep_going: args.keep_going,
        stream: args.stream,
        show_output: args.show_output,
        grace: Duration::from_secs_f64(args.grace),
        github: std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| !v.is_empty()),
        to_stderr: out_to_stderr,
        log_dir: run_dir.join("logs"),
    };
    {
        let line = format!(
            "sift run: {} of {} tasks to run, up to {jobs_n} at once{}\n",
            graph.len(),
            plan.tasks.len(),
            match &shard_of {
                Some((_, i, n)) => format!(", shard {i}/{n}"),
                None => String::new(),
            }
        );
        write_out(&line, out_to_stderr);
    }
    let run_started = SystemTime::now();
    let outcome = runner::execute(&graph, &jobs, &common_env, &settings)?;
    let wall_s = run_started.elapsed().map_or(0.0, |d| d.as_secs_f64());

    // One result per task of the plan.
    let index: HashMap<&str, usize> = graph
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let mut results = Vec::with_capacity(plan.tasks.len());
    for decision in &plan.tasks {
        let mut result = TaskResult {
            name: decision.name.clone(),
            run: decision.run,
            reason: decision.reason.clone(),
            result: Outcome::NotRun,
            exit_code: None,
            started_at: None,
            finished_at: None,
            duration_s: None,
            start_s: None,
            needs: config
                .task(&decision.name)
                .map(|t| t.needs.clone())
                .unwrap_or_default(),
        };
        match index.get(decision.name.as_str()) {
            None if decision.run => {
                if let Some((shard_of, _, n)) = &shard_of {
                    let s = shard_of.get(&decision.name).copied().unwrap_or(0);
                    result.reason = format!("runs on shard {s}/{n}");
                }
            }
            None => {}
            Some(&i) => match (&outcome.states[i], &outcome.finished[i]) {
                (State::Skipped(cause), _) => {
                    result.result = Outcome::Skipped;
                    result.reason = skip_reason(&graph, cause);
                }
                (State::Ended(_), Some(done)) => {
                    result.result = match (done.ended, jobs[i].is_some()) {
                        (Ended::Succeeded, false) => Outcome::NothingToRun,
                        (Ended::Succeeded, true) => Outcome::Succeeded,
                        (Ended::Failed, _) => Outcome::Failed,
                        (Ended::TimedOut, _) => Outcome::TimedOut,
                        (Ended::Interrupted, _) => Outcome::Interrupted,
                    };
                    if result.result != Outcome::Succeeded {
                        result.reason = done.reason.clone();
                    }
                    result.exit_code = done.exit_code;
                    if jobs[i].is_some() {
                        let start = unix_seconds(done.started);
                        result.started_at = Some(format_rfc3339(start));
                        result.finished_at =
                            Some(format_rfc3339(start + done.seconds.round() as i64));
                        result.duration_s = Some(millis(done.seconds));
                        result.start_s = Some(millis(
                            done.started
                                .duration_since(run_started)
                                .map_or(0.0, |d| d.as_secs_f64()),
                        ));
                    }
                }
                _ => {
                    result.result = Outcome::Skipped;
                    result.reason = "not started".to_owned();
                }
            },
        }
        results.push(result);
    }
    let mut report = RunReport::new(plan.origin.base.clone(), plan.origin.head.clone(), results);
    report.jobs = Some(jobs_n);
    report.wall_s = Some(millis(wall_s));

    let mut code = if outcome.interrupted || runner::signal_received() {
        exit::INTERRUPTED
    } else if report.any_failure() {
        exit::TASK_FAILED
    } else {
        exit::OK
    };
    if let Some(push) = &push {
        match store.record(push, &report) {
            Ok(true) => output::note(&format!(
                "recorded the results in push {} #{}",
                push.branch, push.number
            )),
            Ok(false) => {}
            // --record: the tasks' own failure still decides the code.
            Err(error) if code == exit::OK => {
                code = error.report();
            }
            Err(error) => {
                error.report();
            }
        }
    }
    if let Some(path) = &args.report {
        write_report(path, &plan, &mut planner, &report.json())?;
    }
    if let Some(file) = &args.junit {
        std::fs::write(file, report.junit())
            .map_err(|e| CliError::io(format!("cannot write `{}`", file.display()), e))?;
    }
    write_out(&format!("\n{}", report.table()), out_to_stderr);
    let mut stdout = String::new();
    if args.format == RunFormat::Json {
        stdout.push_str(&report.json());
    }
    if let Some(file) = &args.summary {
        let markdown = sift_core::ci::summary::run_markdown(&report);
        let published = crate::summary::publish(
            &markdown,
            "run",
            file.as_deref(),
            args.format == RunFormat::Json,
        )?;
        if args.format == RunFormat::Json {
            stdout.push_str(&published);
        } else {
            write_out(&published, false);
        }
    }
    if !stdout.is_empty() {
        super::plan::print_stdout(&stdout)?;
    }
    Ok(code)
}

fn usage(message: &str) -> CliError {
    CliError::Usage {
        message: message.to_owned(),
        hint: None,
    }
}

/// `I/N`, 1 ≤ I ≤ N.
fn parse_shard(text: &str) -> Result<(usize, usize), CliError> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if (1..=n).contains(&i) => Ok((i, n)),
        _ => Err(CliError::Usage {
            message: format!("invalid --shard `{text}`"),
            hint: Some("write I/N with 1 ≤ I ≤ N, e.g. `--shard 2/4`".to_owned()),
        }),
    }
}

fn build_graph(kept: &[ci::CiTask], last: &BTreeMap<String, LastRun>) -> Result<Graph, CliError> {
    let index: HashMap<&str, usize> = kept.iter().enumerate().map(|(i, t)| (t.name, i)).collect();
    let tasks = kept
        .iter()
        .map(|t| {
            let last = last.get(t.name);
            RunTask {
                name: t.name.to_owned(),
                needs: t
                    .needs
                    .iter()
                    .filter_map(|n| index.get(n).copied())
                    .collect(),
                seconds: last.and_then(|r| r.duration_s),
                failed_last_time: last.is_some_and(|r| r.result.failed()),
            }
        })
        .collect();
    Graph::new(tasks).map_err(|e| CliError::Usage {
        message: e.to_string(),
        hint: None,
    })
}

/// The tasks marked in `keep`, with their needs renumbered (a shard holds
/// every need of its tasks).
fn subgraph(graph: &Graph, keep: &[bool]) -> Result<Graph, CliError> {
    let mut new_index = vec![usize::MAX; graph.len()];
    let mut next = 0;
    for (i, &k) in keep.iter().enumerate() {
        if k {
            new_index[i] = next;
            next += 1;
        }
    }
    let tasks = graph
        .tasks
        .iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(t, _)| RunTask {
            needs: t.needs.iter().map(|&n| new_index[n]).collect(),
            ..t.clone()
        })
        .collect();
    // Unknown durations count as the whole plan's median, as they did when
    // the shards were split.
    Graph::with_fallback(tasks, graph.fallback).map_err(|e| usage(&e.to_string()))
}

fn job_for(root: &Path, config: &Config, name: &str) -> Option<Job> {
    let task = config.task(name)?;
    let command = task.run.clone()?;
    Some(Job {
        command,
        cwd: match &task.cwd {
            Some(dir) => root.join(dir),
            None => root.to_owned(),
        },
        env: task.env.clone(),
        timeout: task.timeout_s.map(Duration::from_secs_f64),
    })
}

/// The expected schedule: as `format` asks, and as JSON (for `--report`).
fn dry_run(graph: &Graph, jobs: usize, format: RunFormat) -> (String, String) {
    let schedule = simulate(graph, jobs);
    let makespan = schedule.iter().map(|e| e.finish).fold(0.0, f64::max);
    let tasks: Vec<serde_json::Value> = schedule
        .iter()
        .map(|e| {
            let task = &graph.tasks[e.task];
            let mut needs: Vec<&str> = task
                .needs
                .iter()
                .map(|&n| graph.tasks[n].name.as_str())
                .collect();
            needs.sort_unstable();
            serde_json::json!({
                "name": task.name,
                "slot": e.slot + 1,
                "expected_start_s": e.start,
                "expected_finish_s": e.finish,
                "failed_last_time": task.failed_last_time,
                "recorded_duration_s": task.seconds,
                "needs": needs,
            })
        })
        .collect();
    let mut json = serde_json::to_string_pretty(&serde_json::json!({
        "format_version": 1,
        "dry_run": true,
        "jobs": jobs,
        "expected_makespan_s": makespan,
        "tasks": tasks,
    }))
    .unwrap_or_default();
    json.push('\n');
    let text = match format {
        RunFormat::Json => json.clone(),
        RunFormat::Text => {
            let mut text = format!(
                "sift run --dry-run: {} tasks on {jobs} slots, expected {} (durations from the last recorded run; unknown ones count as the median)\n",
                graph.len(),
                format_seconds(makespan)
            );
            text.push_str("  #  slot    start   finish  task\n");
            for (n, e) in schedule.iter().enumerate() {
                let task = &graph.tasks[e.task];
                let mut note = String::new();
                if task.failed_last_time {
                    note.push_str("  (failed last time)");
                }
                if task.seconds.is_none() {
                    note.push_str("  (no recorded duration)");
                }
                text.push_str(&format!(
                    "{:>3}  {:>4}  {:>7}  {:>7}  {}{note}\n",
                    n + 1,
                    e.slot + 1,
                    format_seconds(e.start),
                    format_seconds(e.finish),
                    task.name
                ));
            }
            text
        }
    };
    (text, json)
}

/// `--report FILE`: the explained plan and the run (or the dry run).
fn write_report(
    path: &Path,
    plan: &sift_core::Plan,
    planner: &mut Planner,
    run_json: &str,
) -> Result<(), CliError> {
    let plan_json = sift_core::select::render::plan_json_explained(plan, planner);
    super::report::write(
        path,
        &sift_core::report::Inputs {
            plan: Some(&plan_json),
            run: Some(run_json),
            ..Default::default()
        },
    )
}

fn write_out(text: &str, to_stderr: bool) {
    if to_stderr {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    } else {
        let _ = super::plan::print_stdout(text);
    }
}

/// Seconds rounded to the millisecond.
fn millis(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

fn unix_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

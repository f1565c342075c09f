//! `sift plan`: which tasks the change needs.

use std::io::Write;
use std::path::Path;

use sift_core::ci::{self, azure, buildkite, github, gitlab};
use sift_core::{Config, Plan, Planner, select::render};

use crate::cli::{PlanArgs, PlanFormat};
use crate::error::CliError;
use crate::{exit, output};

pub fn run(root: &Path, args: PlanArgs) -> Result<u8, CliError> {
    if args.record.wanted() {
        return Err(CliError::Usage {
            message: "`sift plan --record` runs in the sift-remote executable".to_owned(),
            hint: None,
        });
    }
    check_format_args(&args)?;
    if args.mozilla.graph.is_some() {
        return super::mozilla::plan_graph(root, &args);
    }
    let (config, change) = if args.mozilla.mozbuild {
        let config = super::mozilla::load_config(root, true)?;
        (config, super::load_change(root, &args.change)?)
    } else {
        super::load_config_and_change(root, &args.change)?
    };
    let options = super::plan_options(&args.select)?;
    let revisions = super::workspace::GitRevisions::new(root, &change, &args.change);
    let mut planner = Planner::new(&config).with_revisions(&revisions);
    let plan = planner.plan(change, &options).map_err(super::plan_error)?;
    super::workspace::report(&plan);
    emit(&plan, &mut planner, &args)?;
    // The process ends here: freeing a large configuration piece by piece
    // (tens of thousands of patterns and strings) would only cost time.
    std::mem::forget(plan);
    std::mem::forget(planner);
    std::mem::forget(config);
    Ok(exit::OK)
}

/// Usage errors of the output options, before any work is done.
pub(crate) fn check_format_args(args: &PlanArgs) -> Result<(), CliError> {
    let forced = args.record.backstop || args.record.expanded || args.record.no_backstop;
    if forced && !args.record.wanted() && args.mozilla.graph.is_none() {
        return Err(CliError::Usage {
            message: "--backstop, --expanded and --no-backstop need --record or --graph".to_owned(),
            hint: Some("they decide a recorded push (sift plan --record) or a taskgraph graph's backstop strategies".to_owned()),
        });
    }
    if args.format == PlanFormat::Taskgraph && args.mozilla.graph.is_none() {
        return Err(CliError::Usage {
            message: "--format taskgraph needs --graph".to_owned(),
            hint: Some("pass taskgraph's full-task-graph.json with --graph FILE".to_owned()),
        });
    }

    if args.group_by_needs && args.format != PlanFormat::Github {
        return Err(CliError::Usage {
            message: "--group-by-needs needs --format github".to_owned(),
            hint: Some(
                "GitLab, Buildkite and Azure order jobs by their needs themselves".to_owned(),
            ),
        });
    }
    if args.explain && args.format != PlanFormat::Json {
        return Err(CliError::Usage {
            message: "--explain needs --format json".to_owned(),
            hint: Some("`sift why TASK` explains one task as text".to_owned()),
        });
    }
    Ok(())
}

/// Prints a plan as `args` ask (format, `--summary`, `--report`); `sift plan`
/// and `sift plan --record` share it.
pub(crate) fn emit(plan: &Plan, planner: &mut Planner, args: &PlanArgs) -> Result<(), CliError> {
    let config: &Config = planner.config();
    // Only the CI formats need the kept tasks with their commands and needs.
    let tasks = || ci::kept_tasks(plan, config);
    // The report draws the explained plan; made once when both want it.
    let explained =
        (args.explain || args.report.is_some()).then(|| render::plan_json_explained(plan, planner));
    if let Some(path) = &args.report {
        let json = explained.as_deref().expect("made above for --report");
        super::report::write(
            path,
            &sift_core::report::Inputs {
                plan: Some(json),
                ..Default::default()
            },
        )?;
    }
    let mut text = match args.format {
        PlanFormat::Text => render::plan_text(plan),
        PlanFormat::Json if args.explain => explained.expect("made above for --explain"),
        PlanFormat::Json => render::plan_json(plan, config),
        PlanFormat::Gitlab => gitlab::pipeline(&tasks(), &config.ci)?,
        PlanFormat::Buildkite => buildkite::pipeline(&tasks(), &config.ci)?,
        PlanFormat::Azure => azure::logging_commands(&tasks())?,
        PlanFormat::AzureJobs => azure::jobs_template(&tasks())?,
        PlanFormat::Taskgraph => unreachable!("--format taskgraph needs --graph"),
        PlanFormat::Github => {
            let tasks = tasks();
            if tasks.len() > github::MATRIX_LIMIT {
                output::warning(&format!(
                    "{} tasks are kept, but a GitHub matrix runs at most {} jobs; split them over several matrix jobs",
                    tasks.len(),
                    github::MATRIX_LIMIT
                ));
            }
            let lines = github::outputs(&tasks, args.group_by_needs);
            match std::env::var_os("GITHUB_OUTPUT").filter(|v| !v.is_empty()) {
                Some(path) => {
                    let mut file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .map_err(|e| {
                            CliError::io(
                                format!("cannot open $GITHUB_OUTPUT `{}`", path.to_string_lossy()),
                                e,
                            )
                        })?;
                    file.write_all(lines.as_bytes())
                        .map_err(|e| CliError::io("cannot write $GITHUB_OUTPUT", e))?;
                }
                None => output::warning("$GITHUB_OUTPUT is not set; printing the outputs only"),
            }
            lines
        }
    };
    if let Some(file) = &args.summary {
        let markdown = ci::summary::plan_markdown(plan);
        let data = !matches!(
            args.format,
            PlanFormat::Text | PlanFormat::Github | PlanFormat::Azure
        );
        text.push_str(&crate::summary::publish(
            &markdown,
            "plan",
            file.as_deref(),
            data,
        )?);
    }
    print_stdout(&text)
}

/// Writes data to stdout; a closed pipe (`sift plan | head`) is not an error.
pub(crate) fn print_stdout(text: &str) -> Result<(), CliError> {
    make_room_in_pipe(text.len());
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::io("cannot write to stdout", e))
        }
        _ => Ok(()),
    }
}

/// A pipe holds 64 KiB by default, so a larger output waits for its reader
/// to drain it a chunk at a time: a 20,000-task graph's 800 KB of labels
/// took about 13 round trips between the two processes before sift could
/// exit. When stdout is a smaller pipe than `len`, this grows it to hold
/// `len` (up to the system's limit for users, 1 MiB by default); where that
/// fails, the pipe stays as it was.
#[cfg(target_os = "linux")]
fn make_room_in_pipe(len: usize) {
    const DEFAULT: usize = 64 << 10;
    const USER_LIMIT: usize = 1 << 20;
    if len <= DEFAULT {
        return;
    }
    #[allow(unsafe_code)]
    // SAFETY: `fcntl` with integer arguments on this process's own
    // standard output; it changes nothing but the pipe's capacity, and on
    // anything other than a pipe it fails and is ignored.
    unsafe {
        let size = libc::fcntl(libc::STDOUT_FILENO, libc::F_GETPIPE_SZ);
        if size >= 0 && (size as usize) < len {
            libc::fcntl(
                libc::STDOUT_FILENO,
                libc::F_SETPIPE_SZ,
                len.min(USER_LIMIT) as libc::c_int,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn make_room_in_pipe(_len: usize) {}

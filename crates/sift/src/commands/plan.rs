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
    let (config, change) = super::load_config_and_change(root, &args.change)?;
    let options = super::plan_options(&args.select)?;
    let revisions = super::workspace::GitRevisions::new(root, &change, &args.change);
    let plan = Planner::new(&config)
        .with_revisions(&revisions)
        .plan(change, &options)
        .map_err(super::plan_error)?;
    super::workspace::report(&plan);
    emit(&plan, &config, &args)?;
    // The process ends here: freeing a large configuration piece by piece
    // (tens of thousands of patterns and strings) would only cost time.
    std::mem::forget(plan);
    std::mem::forget(config);
    Ok(exit::OK)
}

/// Usage errors of the output options, before any work is done.
pub(crate) fn check_format_args(args: &PlanArgs) -> Result<(), CliError> {
    if args.group_by_needs && args.format != PlanFormat::Github {
        return Err(CliError::Usage {
            message: "--group-by-needs needs --format github".to_owned(),
            hint: Some(
                "GitLab, Buildkite and Azure order jobs by their needs themselves".to_owned(),
            ),
        });
    }
    Ok(())
}

/// Prints a plan as `args` ask (format and `--summary`); `sift plan` and
/// `sift plan --record` share it.
pub(crate) fn emit(plan: &Plan, config: &Config, args: &PlanArgs) -> Result<(), CliError> {
    // Only the CI formats need the kept tasks with their commands and needs.
    let tasks = || ci::kept_tasks(plan, config);
    let mut text = match args.format {
        PlanFormat::Text => render::plan_text(plan),
        PlanFormat::Json => render::plan_json(plan),
        PlanFormat::Gitlab => gitlab::pipeline(&tasks(), &config.ci)?,
        PlanFormat::Buildkite => buildkite::pipeline(&tasks(), &config.ci)?,
        PlanFormat::Azure => azure::logging_commands(&tasks())?,
        PlanFormat::AzureJobs => azure::jobs_template(&tasks())?,
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

//! `--summary [FILE]`: the Markdown job summary, published where each CI
//! shows it.
//!
//! - GitHub (`$GITHUB_STEP_SUMMARY` set): appended to that file.
//! - Azure Pipelines (`TF_BUILD` set): written to FILE, else to
//!   `$AGENT_TEMPDIRECTORY/sift-<command>-summary.md`, and uploaded with
//!   `##vso[task.uploadsummary]`. The agent reads logging commands from a
//!   step's output: the line goes to stdout, or to stderr when stdout holds
//!   data (`--format json` and the pipeline formats), so that data stays valid.
//! - Buildkite (`BUILDKITE=true`): `buildkite-agent annotate --context
//!   sift-<command> --style info`, if `buildkite-agent` is on `PATH`.
//! - FILE, when given, is written in every case.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::CliError;
use crate::output;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Publishes `markdown`; returns what belongs on stdout (Azure's command).
/// `file` is `None` for a bare `--summary`.
pub fn publish(
    markdown: &str,
    command: &str,
    file: Option<&Path>,
    stdout_is_data: bool,
) -> Result<String, CliError> {
    let mut published = false;
    let mut stdout = String::new();
    if let Some(file) = file {
        std::fs::write(file, markdown).map_err(|e| {
            CliError::io(
                format!("cannot write the summary to `{}`", file.display()),
                e,
            )
        })?;
        published = true;
    }
    if let Some(path) = env("GITHUB_STEP_SUMMARY") {
        let mut handle = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| CliError::io(format!("cannot open $GITHUB_STEP_SUMMARY `{path}`"), e))?;
        handle
            .write_all(format!("{markdown}\n").as_bytes())
            .map_err(|e| CliError::io("cannot write $GITHUB_STEP_SUMMARY", e))?;
        published = true;
    }
    if env("TF_BUILD").is_some() {
        let path = match file {
            Some(file) => std::path::absolute(file)
                .map_err(|e| CliError::io("cannot resolve the summary path", e))?,
            None => {
                let dir = env("AGENT_TEMPDIRECTORY")
                    .map(PathBuf::from)
                    .unwrap_or_else(std::env::temp_dir);
                let path = dir.join(format!("sift-{command}-summary.md"));
                std::fs::write(&path, markdown).map_err(|e| {
                    CliError::io(
                        format!("cannot write the summary to `{}`", path.display()),
                        e,
                    )
                })?;
                path
            }
        };
        let line = format!("##vso[task.uploadsummary]{}\n", path.display());
        if stdout_is_data {
            eprint!("{line}");
        } else {
            stdout.push_str(&line);
        }
        published = true;
    }
    if env("BUILDKITE").is_some_and(|v| v == "true") {
        match annotate(markdown, command) {
            Ok(()) => published = true,
            Err(problem) => output::warning(&format!("no Buildkite annotation: {problem}")),
        }
    }
    if !published {
        output::warning(
            "--summary: no CI detected ($GITHUB_STEP_SUMMARY, TF_BUILD, BUILDKITE); give --summary FILE to write it to a file",
        );
    }
    Ok(stdout)
}

fn annotate(markdown: &str, command: &str) -> Result<(), String> {
    let mut child = Command::new("buildkite-agent")
        .args(["annotate", "--style", "info", "--context"])
        .arg(format!("sift-{command}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "buildkite-agent is not on PATH".to_owned(),
            _ => format!("cannot run buildkite-agent: {e}"),
        })?;
    let written = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(markdown.as_bytes());
    let status = child
        .wait()
        .map_err(|e| format!("buildkite-agent failed: {e}"))?;
    written.map_err(|e| format!("cannot pass the summary to buildkite-agent: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("buildkite-agent annotate exited with {status}"))
    }
}

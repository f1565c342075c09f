//! `sift pipeline run azure|github`: build the provider from the flags and
//! the environment, run the shared follow loop, show what happens, and turn
//! the end into a documented exit code. All policy lives in sift-pipeline.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use sift_pipeline::azure::{self, Azure, AzureConfig};
use sift_pipeline::github::{self, GitHub, GitHubConfig};
use sift_pipeline::{
    Event, EventSink, FollowOptions, Outcome, Phase, Provider, Report, RetryPolicy, RunRef, Secret,
    seconds,
};

use crate::cli::{
    AzureArgs, FollowArgs, GithubArgs, PipelineArgs, PipelineCommand, PipelineService,
};
use crate::error::CliError;
use crate::{exit, output};

pub fn run(args: PipelineArgs) -> Result<u8, CliError> {
    let PipelineCommand::Run(run) = args.command;
    match run.service {
        PipelineService::Azure(args) => run_azure(args),
        PipelineService::Github(args) => run_github(args),
    }
}

fn run_azure(args: AzureArgs) -> Result<u8, CliError> {
    let token = token(
        &azure::TOKEN_VARIABLES,
        "a personal access token with the Build (Read & execute) scope",
    )?;
    let (branch, commit, from) =
        azure::source_branch(args.branch.as_deref(), args.commit.as_deref(), |name| {
            std::env::var(name).ok()
        })
        .map_err(|message| CliError::Usage {
            message,
            hint: None,
        })?;
    if from != "--branch" {
        output::note(&format!("building {branch} (from {from})"));
    }
    let provider = Azure::new(AzureConfig {
        org_url: args.org_url,
        project: args.project,
        definition: args.definition,
        source_branch: branch,
        commit,
        parameters: args.params,
        variables: args.variables,
        token,
        request_timeout: args.follow.request_timeout,
    })
    .map_err(usage)?;
    follow(&provider, &args.follow, "build")
}

fn run_github(args: GithubArgs) -> Result<u8, CliError> {
    let token = token(
        &github::TOKEN_VARIABLES,
        "a token that may run workflows (actions: write)",
    )?;
    let provider = GitHub::new(GitHubConfig {
        api_url: args.api_url,
        repo: args.repo,
        workflow: args.workflow,
        git_ref: args.git_ref,
        inputs: args.inputs,
        correlation_input: args.correlation_input,
        token,
        request_timeout: args.follow.request_timeout,
    })
    .map_err(usage)?;
    follow(&provider, &args.follow, "run")
}

fn usage(message: String) -> CliError {
    CliError::Usage {
        message,
        hint: None,
    }
}

/// The first non-empty variable of `names`. A missing token is an
/// authentication failure (exit 9), reported before anything is sent.
fn token(names: &[&str], what: &str) -> Result<Secret, CliError> {
    for name in names {
        if let Ok(value) = std::env::var(name) {
            let secret = Secret::new(value);
            if !secret.is_empty() {
                return Ok(secret);
            }
        }
    }
    output::error(
        &format!("no token: {} is not set", names.join(" or ")),
        Some(&format!("set {} to {what}", names[0])),
    );
    Err(CliError::Reported(exit::AUTH))
}

fn follow<P: Provider>(
    provider: &P,
    args: &FollowArgs,
    noun: &'static str,
) -> Result<u8, CliError> {
    let options = FollowOptions {
        attempts: args.attempts,
        poll_interval: args.poll_interval,
        retry_delay: args.retry_delay,
        timeout: args.timeout,
        allow_partial: args.allow_partial,
        logs: !args.no_logs,
        retry: RetryPolicy::for_poll_interval(args.poll_interval),
        find_timeout: Duration::from_secs(120),
    };
    let mut printer = Printer::new(provider.service(), noun, args.json);
    let report = sift_pipeline::block_on(sift_pipeline::follow(provider, &options, &mut printer))
        .map_err(|e| CliError::io("cannot start the network runtime", e))?;
    printer.clear_live();
    let code = conclude(&report, noun, args.timeout);
    if args.json {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{:#}", report.to_json());
    }
    Ok(code)
}

/// Says how it ended and picks the exit code.
fn conclude(report: &Report, noun: &str, timeout: Option<Duration>) -> u8 {
    let run = report
        .run
        .as_ref()
        .map(|r| format!("{noun} {}", r.id))
        .unwrap_or_else(|| format!("the {noun}"));
    let page = report.run.as_ref().map(|r| format!("see {}", r.web_url));
    match report.outcome {
        Outcome::Succeeded => {
            output::note(&format!(
                "{run} succeeded (attempt {}, {} in total)",
                report.attempts,
                seconds(report.duration)
            ));
            exit::OK
        }
        Outcome::Failed => {
            output::error(
                &format!(
                    "the pipeline failed: {run} ended `{}` after {} attempt(s)",
                    report.result.as_deref().unwrap_or("none"),
                    report.attempts
                ),
                page.as_deref(),
            );
            exit::PIPELINE_FAILED
        }
        Outcome::AuthFailed | Outcome::ServiceError => {
            let (message, hint) = match &report.error {
                Some(error) => (
                    error.to_string(),
                    error.hint().map(str::to_owned).or_else(|| {
                        Some("check the URL and the network; the service may be down (transient faults were retried)".to_owned())
                    }),
                ),
                None => ("cannot talk to the CI service".to_owned(), None),
            };
            output::error(&message, hint.as_deref());
            if report.outcome == Outcome::AuthFailed {
                exit::AUTH
            } else {
                exit::SERVICE
            }
        }
        Outcome::TimedOut => {
            output::error(
                &format!(
                    "timed out after {} (--timeout)",
                    seconds(timeout.unwrap_or(report.duration))
                ),
                page.as_deref(),
            );
            exit::TIMEOUT
        }
        Outcome::Interrupted => {
            output::error(
                &format!("interrupted while following {run}"),
                page.as_deref(),
            );
            exit::INTERRUPTED
        }
    }
}

/// Shows events: log lines on stdout (stderr with `--json`, which keeps
/// stdout for the summary), everything else on stderr. On a terminal a
/// live line shows the current status and elapsed time, redrawn every poll
/// and erased before anything else is printed.
struct Printer {
    service: &'static str,
    noun: &'static str,
    json: bool,
    terminal: bool,
    live: bool,
    run: Option<RunRef>,
}

impl Printer {
    fn new(service: &'static str, noun: &'static str, json: bool) -> Printer {
        Printer {
            service,
            noun,
            json,
            terminal: std::io::stderr().is_terminal(),
            live: false,
            run: None,
        }
    }

    fn clear_live(&mut self) {
        if self.live {
            eprint!("\r\x1b[K");
            self.live = false;
        }
    }

    fn run_name(&self) -> String {
        match &self.run {
            Some(run) => format!("{} {}", self.noun, run.id),
            None => self.noun.to_owned(),
        }
    }
}

impl EventSink for Printer {
    fn event(&mut self, event: Event) {
        if !matches!(event, Event::Status { changed: false, .. }) {
            self.clear_live();
        }
        match event {
            Event::Queued {
                attempt,
                attempts,
                run,
            } => {
                output::note(&format!(
                    "queued {} {} on {} (attempt {attempt} of {attempts}): {}",
                    self.noun, run.id, self.service, run.web_url
                ));
                self.run = Some(run);
            }
            Event::Dispatched { attempt, attempts } => output::note(&format!(
                "dispatched the workflow (attempt {attempt} of {attempts}); looking for its run"
            )),
            Event::Status {
                state,
                elapsed,
                changed,
            } => {
                let mut text = format!("{}: {}", self.run_name(), state.status);
                if let Some(result) = &state.result {
                    text.push_str(&format!(", {result}"));
                }
                text.push_str(&format!(" ({})", seconds(elapsed)));
                if changed {
                    self.clear_live();
                    eprintln!("{text}");
                } else if self.terminal && state.phase != Phase::Completed {
                    eprint!("\r\x1b[K{text}");
                    let _ = std::io::stderr().flush();
                    self.live = true;
                }
            }
            Event::Progress(line) => eprintln!("  {line}"),
            Event::Log { label, line } => {
                if self.json {
                    eprintln!("[{label}] {line}");
                } else {
                    let mut stdout = std::io::stdout().lock();
                    let _ = writeln!(stdout, "[{label}] {line}");
                }
            }
            Event::Warning(message) => output::warning(&message),
            Event::Retrying {
                message,
                delay,
                next_try,
                tries,
            } => output::warning(&format!(
                "{message}; trying again in {} ({next_try} of {tries})",
                seconds(delay)
            )),
            Event::Finished {
                attempt,
                attempts,
                run,
                state,
                success,
            } => {
                let result = state.result.as_deref().unwrap_or("none");
                if success {
                    output::note(&format!("{} {} finished: {result}", self.noun, run.id));
                } else {
                    output::warning(&format!(
                        "{} {} finished: {result} (attempt {attempt} of {attempts})",
                        self.noun, run.id
                    ));
                }
            }
            Event::Requeue {
                next_attempt,
                delay,
            } => output::note(&format!(
                "queueing attempt {next_attempt} in {}",
                seconds(delay)
            )),
            Event::Cancel { run, error } => match error {
                None => output::note(&format!(
                    "asked {} to cancel {} {}",
                    self.service, self.noun, run.id
                )),
                Some(error) => output::warning(&format!(
                    "could not cancel {} {}: {error}; cancel it at {}",
                    self.noun, run.id, run.web_url
                )),
            },
        }
    }
}

//! The `sift` command line: parses arguments, calls the core and the adapters,
//! prints results and maps errors to the documented exit codes.

pub mod alloc;
pub mod cli;
mod commands;
mod error;
pub mod exit;
mod output;
mod remote;
mod runner;
mod status;
mod summary;

use std::process::ExitCode;

pub use error::CliError;

/// The `sift` executable: every command that works on the repository alone.
///
/// `sift cache`, `sift pipeline`, `sift history`, `sift run`,
/// `sift quality`, `sift replay`, `sift plan --record` and
/// `sift record --push` are handed to the `sift-remote`
/// executable installed beside it. Those two carry an async runtime, TLS and
/// three cloud SDKs; keeping them out of this binary is what lets `sift plan`
/// start in about a millisecond (fewer pages to map and relocate, no TLS
/// library initialisers), which matters because it runs on every CI job.
pub fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = match &cli.command {
        cli::Command::Cache(_)
        | cli::Command::Pipeline(_)
        | cli::Command::History(_)
        | cli::Command::Quality(_)
        | cli::Command::Replay(_) => remote::delegate(),
        // `sift run` reads and records the push history (start-up cost does
        // not matter next to the tasks it runs).
        cli::Command::Run(_) => remote::delegate(),
        // `sift record --push` also keeps the results in the history.
        cli::Command::Record(args) if args.push.is_some() => remote::delegate(),
        // Recording talks to the store: sift-remote does it, so plain
        // `sift plan` keeps its start-up cost.
        cli::Command::Plan(args) if args.record.wanted() => remote::delegate(),
        cli::Command::Why(args) if args.push => remote::delegate(),
        _ => commands::run_local(cli),
    };
    finish(result)
}

/// The `sift-remote` executable: every command, including the network ones.
pub fn main_remote() -> ExitCode {
    match parse() {
        Ok(cli) => finish(commands::run(cli)),
        Err(code) => code,
    }
}

fn parse() -> Result<cli::Cli, ExitCode> {
    cli::Cli::parse_args(std::env::args_os().collect()).map_err(|error| {
        // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
        let _ = error.print();
        ExitCode::from(if error.use_stderr() {
            exit::USAGE
        } else {
            exit::OK
        })
    })
}

fn finish(result: Result<u8, CliError>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => ExitCode::from(error.report()),
    }
}

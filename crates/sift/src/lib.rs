//! The `sift` command line: parses arguments, calls the core and the adapters,
//! prints results and maps errors to the documented exit codes.

pub mod cli;
mod commands;
mod error;
pub mod exit;
mod output;

use std::process::ExitCode;

use clap::Parser;

pub use error::CliError;

/// Runs sift with the process's arguments.
pub fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => ExitCode::from(error.report()),
    }
}

//! The binary's one error type: each variant knows its exit code and how to
//! explain itself.

use sift_core::Diagnostics;

use crate::exit;
use crate::output;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Configuration errors, rendered with their source snippets.
    #[error("invalid configuration")]
    Config(Diagnostics),
    /// No root sift.toml, or it cannot be read.
    #[error("{message}")]
    ConfigMissing { message: String, hint: String },
    #[error(transparent)]
    Git(#[from] sift_git::GitError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// A data file (JUnit XML, test times, ratings, pytest cache) is malformed.
    #[error("{message}")]
    Input {
        message: String,
        hint: Option<String>,
    },
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A pipeline cannot be generated for a CI (`sift plan --format gitlab` etc.).
    #[error(transparent)]
    Ci(#[from] sift_core::ci::CiError),
    /// An object-store operation (`sift cache`).
    #[error(transparent)]
    Store(#[from] sift_store::StoreError),
    /// Already reported in full (e.g. by `sift check`); only the code remains.
    #[error("failed")]
    Reported(u8),
}

impl CliError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        CliError::Io {
            what: what.into(),
            source,
        }
    }

    pub fn code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::ConfigMissing { .. } | CliError::Ci(_) => exit::CONFIG,
            CliError::Git(_) => exit::GIT,
            CliError::Io { .. } => exit::IO,
            CliError::Input { .. } => exit::INPUT,
            CliError::Usage { .. } => exit::USAGE,
            CliError::Store(error) => match error.fault() {
                sift_store::Fault::Usage => exit::USAGE,
                sift_store::Fault::Local => exit::IO,
                _ => exit::STORE,
            },
            CliError::Reported(code) => *code,
        }
    }

    /// Prints the error to stderr and returns the exit code.
    pub fn report(&self) -> u8 {
        match self {
            CliError::Config(diagnostics) => {
                output::print_diagnostics(diagnostics);
                let errors = diagnostics.errors().count();
                output::error(&format!("{errors} error(s) in the configuration"), None);
            }
            CliError::ConfigMissing { message, hint } => output::error(message, Some(hint)),
            CliError::Git(error) => output::error(&error.to_string(), error.hint().as_deref()),
            CliError::Io { .. } => output::error(&self.to_string(), None),
            CliError::Input { message, hint } | CliError::Usage { message, hint } => {
                output::error(message, hint.as_deref())
            }
            CliError::Store(error) => output::error(&error.to_string(), error.hint().as_deref()),
            CliError::Ci(error) => output::error(&error.to_string(), Some(&error.hint())),
            CliError::Reported(_) => {}
        }
        self.code()
    }
}

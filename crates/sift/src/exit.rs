//! sift's exit codes, in one place. The README's table and the tests assert
//! these numbers; change them only with a major version.

/// Success: the command did what was asked (a plan that keeps nothing is a success).
pub const OK: u8 = 0;
/// Bad command-line usage (clap's own code).
pub const USAGE: u8 = 2;
/// A `sift.toml` (or included/nested file) is invalid; `sift check` found errors.
pub const CONFIG: u8 = 3;
/// git failed: not a repository, unknown revision, shallow base with `--strict-base`.
pub const GIT: u8 = 4;
/// Reading or writing a local file failed (e.g. `--files-from`, `$GITHUB_OUTPUT`).
pub const IO: u8 = 5;
/// An object store or the network failed (after retries), or `--strict` refused a bad cache.
pub const STORE: u8 = 6;
/// `sift pipeline`: the remote pipeline ran and did not succeed, after every attempt.
pub const PIPELINE_FAILED: u8 = 7;
/// `sift pipeline`: the CI service could not be reached or answered nonsense.
pub const SERVICE: u8 = 8;
/// `sift pipeline`: the token is missing or was rejected (401, 403, a 203 sign-in page).
pub const AUTH: u8 = 9;
/// `sift pipeline`: `--timeout` passed first (the run was asked to cancel).
pub const TIMEOUT: u8 = 10;
/// A JUnit report, test-times file, ratings file or pytest cache sift was
/// asked to read is malformed; the message names the file (and line).
pub const INPUT: u8 = 11;
/// `sift run`: a task failed or timed out (never the task's own exit code,
/// which could collide with sift's).
pub const TASK_FAILED: u8 = 12;
/// `sift verdict`: a task the plan kept failed, was cancelled or has no result.
/// (12 is taken by `sift run` for its own task failures; the verdict, which
/// judges results other tools report, gets its own code.)
pub const VERDICT_FAILED: u8 = 13;
/// `sift init --check`: `sift.toml` no longer matches the package managers' workspaces.
pub const DRIFT: u8 = 14;
/// A bug in sift: please report it.
pub const INTERNAL: u8 = 101;
/// `sift pipeline`, `sift run`: Ctrl-C or SIGTERM (the run was asked to cancel); 128 + SIGINT, as shells report it.
pub const INTERRUPTED: u8 = 130;

/// Every code with its meaning, for `sift --help` and the README.
pub const TABLE: &[(u8, &str)] = &[
    (OK, "success"),
    (USAGE, "invalid command-line usage"),
    (
        CONFIG,
        "invalid configuration (sift.toml), or `sift check` found errors",
    ),
    (
        GIT,
        "git failed (not a repository, unknown revision, base missing with --strict-base)",
    ),
    (IO, "reading or writing a local file failed"),
    (STORE, "object store or network error"),
    (
        PIPELINE_FAILED,
        "the remote pipeline failed (its result was not success)",
    ),
    (
        SERVICE,
        "cannot talk to the CI service (network, server errors, unexpected responses)",
    ),
    (
        AUTH,
        "authentication failed (token missing, rejected, or a sign-in page)",
    ),
    (TIMEOUT, "timed out (--timeout)"),
    (INPUT, "invalid input data (JUnit XML, test times, ratings)"),
    (TASK_FAILED, "`sift run`: a task failed or timed out"),
    (
        VERDICT_FAILED,
        "`sift verdict`: a kept task failed, was cancelled or has no result",
    ),
    (
        DRIFT,
        "`sift init --check`: sift.toml no longer matches the workspaces",
    ),
    (INTERNAL, "internal error (a bug in sift)"),
    (
        INTERRUPTED,
        "interrupted (Ctrl-C/SIGTERM), the run was asked to cancel",
    ),
];

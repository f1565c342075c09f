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
/// A bug in sift: please report it.
pub const INTERNAL: u8 = 101;

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
    (INTERNAL, "internal error (a bug in sift)"),
];

//! The documented exit codes, asserted against the constants and the README.

use super::*;

#[test]
fn exit_code_constants_are_stable() {
    use sift::exit;
    assert_eq!(
        exit::TABLE
            .iter()
            .map(|(code, _)| *code)
            .collect::<Vec<_>>(),
        [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 101, 130]
    );
    assert_eq!(
        (
            exit::OK,
            exit::USAGE,
            exit::CONFIG,
            exit::GIT,
            exit::IO,
            exit::STORE,
            exit::INPUT,
            exit::INTERNAL
        ),
        (0, 2, 3, 4, 5, 6, 11, 101)
    );
    assert_eq!(
        (
            exit::PIPELINE_FAILED,
            exit::SERVICE,
            exit::AUTH,
            exit::TIMEOUT,
            exit::TASK_FAILED,
            exit::VERDICT_FAILED,
            exit::INTERRUPTED
        ),
        (7, 8, 9, 10, 12, 13, 130)
    );
    assert_eq!(exit::DRIFT, 14);
}

#[test]
fn readme_documents_every_exit_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    for (code, meaning) in sift::exit::TABLE {
        let row = format!("| {code} | {meaning} |");
        assert!(readme.contains(&row), "README lacks the row `{row}`");
    }
}

#[test]
fn usage_and_io_errors() {
    let repo = TestRepo::plain();
    repo.write("sift.toml", CONFIG);
    let run = repo.sift(&["plan", "--format", "yaml"]);
    assert_eq!(run.code, 2);
    let run = repo.sift(&["plan", "--files-from", "does-not-exist.txt"]);
    assert_eq!(run.code, 5);
    assert!(
        run.stderr.contains("cannot read `does-not-exist.txt`"),
        "{}",
        run.stderr
    );
    let run = repo.sift(&["plan", "--files-from", "-", "--base", "x"]);
    assert_eq!(run.code, 2, "--files-from conflicts with --base");
    let run = repo.sift(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Exit codes:"), "{}", run.stdout);
}

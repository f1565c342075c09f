//! `sift` hands `cache` and `pipeline` to the `sift-remote` executable beside
//! it; everything else runs in `sift` itself.

use super::*;

const TASKS: &str =
    "[tasks.lint]\nchanged = [\"**/*.py\"]\n\n[tasks.docs]\nchanged = [\"docs/**\"]\n";

/// Runs `program` in `repo` with the tests' hermetic environment.
fn run_program(repo: &TestRepo, program: &Path, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let mut command = Command::new(program);
    command.args(args).current_dir(repo.path());
    repo.hermetic(&mut command);
    command.envs(env.iter().copied());
    Run::from(command.output().expect("runs"))
}

#[test]
fn network_commands_reach_sift_remote_with_their_arguments() {
    let repo = TestRepo::plain();
    repo.write("sift.toml", TASKS);
    let help = repo.sift(&["cache", "--help"]);
    assert!(help.ok().contains("push"), "{}", help.stdout);
    // A usage error is reported by sift-remote with sift's name and exit code.
    let run = repo.sift(&["pipeline", "run", "azure"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("Usage: sift pipeline run azure"),
        "{}",
        run.stderr
    );
}

#[test]
fn sift_remote_runs_the_local_commands_too() {
    let repo = TestRepo::plain();
    repo.write("sift.toml", TASKS);
    let args = ["plan", "--files-from", "changes.txt", "--format", "json"];
    repo.write("changes.txt", "a.py\n");
    let remote = PathBuf::from(env!("CARGO_BIN_EXE_sift-remote"));
    let from_remote = run_program(&repo, &remote, &args, &[]);
    assert_eq!(from_remote.ok(), repo.sift(&args).ok());
}

#[test]
fn a_missing_sift_remote_is_a_clear_error_and_local_commands_still_work() {
    // A copy of `sift` alone in a directory, with nothing on PATH.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let lonely = dir.path().join("sift");
    std::fs::copy(sift_bin(), &lonely).expect("copy sift");
    let empty_path = dir.path().join("empty");
    std::fs::create_dir(&empty_path).expect("mkdir");
    let repo = TestRepo::plain();
    repo.write("sift.toml", TASKS)
        .write("changes.txt", "docs/x.md\n");
    let env = [("PATH", empty_path.as_path())];

    let run = run_program(&repo, &lonely, &["cache", "show"], &env);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("sift-remote") && run.stderr.contains("not next to sift nor on PATH"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("install sift-remote together with sift"),
        "{}",
        run.stderr
    );

    let plan = run_program(
        &repo,
        &lonely,
        &["plan", "--files-from", "changes.txt"],
        &env,
    );
    assert!(plan.ok().contains("docs"), "{}", plan.stdout);
}

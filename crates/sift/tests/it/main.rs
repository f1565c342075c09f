//! sift's integration tests: one binary, one module per area. Every test runs
//! the real `sift` binary against real files and real git repositories built
//! in a hermetic environment (no user or system git config, fixed dates).

mod cache;
mod check;
mod ci;
mod ci_summary;
mod exit_codes;
mod fake_ci;
mod files;
mod gcs;
mod git_changes;
mod history;
mod init;
mod mozilla;
mod order;
mod pipeline;
mod plan;
mod quality;
mod record;
mod remote;
mod replay;
mod report;
mod run;
mod shard;
mod verdict;
mod why;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary repository for one test.
pub struct TestRepo {
    pub dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }

    /// stdout as JSON, whatever the exit code.
    pub fn json_any(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

impl TestRepo {
    /// An empty directory (not a git repository).
    pub fn plain() -> TestRepo {
        TestRepo {
            dir: tempfile::tempdir().expect("tempdir"),
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A git repository on branch `main`.
    pub fn git() -> TestRepo {
        let repo = TestRepo::plain();
        repo.git_ok(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, path: &str, text: &str) -> &Self {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
        self
    }

    pub fn remove(&self, path: &str) -> &Self {
        std::fs::remove_file(self.path().join(path)).expect("remove");
        self
    }

    /// The environment every process gets: no user or system git config,
    /// fixed identities and dates, no color, no GitHub output file.
    fn hermetic(&self, command: &mut Command) {
        command
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("TF_BUILD")
            .env_remove("AGENT_TEMPDIRECTORY")
            .env_remove("BUILDKITE")
            .env_remove("SIFT_STORE")
            .env_remove("GITHUB_REF_NAME")
            .env_remove("BUILD_SOURCEBRANCHNAME")
            .env_remove("CI_COMMIT_BRANCH")
            .env_remove("BUILDKITE_BRANCH")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "Test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("NO_COLOR", "1");
    }

    pub fn git_in(&self, dir: &Path, args: &[&str]) -> Run {
        let mut command = Command::new("git");
        command.args(args).current_dir(dir);
        self.hermetic(&mut command);
        Run::from(command.output().expect("git runs"))
    }

    #[track_caller]
    pub fn git_ok(&self, args: &[&str]) -> String {
        let run = self.git_in(self.path(), args);
        assert_eq!(run.code, 0, "git {args:?} failed: {}", run.stderr);
        run.stdout.trim().to_owned()
    }

    /// Stages everything and commits; returns the new sha.
    pub fn commit(&self, message: &str) -> String {
        self.git_ok(&["add", "-A"]);
        self.git_ok(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git_ok(&["rev-parse", "HEAD"])
    }

    /// Runs sift in the repository.
    pub fn sift(&self, args: &[&str]) -> Run {
        self.sift_in(self.path(), args, None)
    }

    pub fn sift_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.sift_in(self.path(), args, Some(stdin))
    }

    pub fn sift_in(&self, dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
        self.sift_env(dir, args, stdin, &[])
    }

    pub fn sift_env(
        &self,
        dir: &Path,
        args: &[&str],
        stdin: Option<&str>,
        env: &[(&str, &str)],
    ) -> Run {
        let mut command = Command::new(sift_bin());
        command.args(args).current_dir(dir);
        self.hermetic(&mut command);
        command.envs(env.iter().copied());
        command.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("sift runs");
        if let Some(text) = stdin {
            use std::io::Write;
            // A sift that exits before reading its input closes the pipe;
            // its output and exit code then say why, so that is not the
            // harness's failure to report.
            match child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
            {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                result => result.expect("write stdin"),
            }
        }
        Run::from(child.wait_with_output().expect("sift finishes"))
    }
}

pub fn sift_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sift"))
}

/// A configuration in the spirit of Mozilla's, used across modules.
pub const CONFIG: &str = r#"
[components]
exclusive = { platform = ["linux", "macosx", "windows"], suite = ["mochitest", "reftest"] }
inclusive = ["py-lint", "docs"]

[[rules]]
files = ["**/*.py", "!third_party/**"]
inclusive = ["py-lint"]

[[rules]]
files = ["widget/cocoa/**"]
exclusive = ["macosx"]

[[rules]]
files = ["docs/**"]
exclusive = ["docs"]

[tasks.build-linux]
schedules = ["linux"]
run = "make build PLATFORM=linux"

[tasks.build-macosx]
schedules = ["macosx"]

[tasks.test-linux-reftest]
schedules = ["linux", "reftest"]
needs = ["build-linux"]

[tasks.lint-py]
changed = ["**/*.py", "!third_party/**"]

[tasks.docs]
schedules = ["docs"]

[tasks.nightly-audit]
always = true
"#;

/// Names of kept tasks in a JSON plan.
pub fn kept(plan: &serde_json::Value) -> Vec<String> {
    plan["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["run"] == true)
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

/// A git repository with CONFIG committed on `main`, and a branch `feature`
/// checked out on top of it.
pub fn feature_repo() -> TestRepo {
    let repo = TestRepo::git();
    repo.write("sift.toml", CONFIG)
        .write("widget/cocoa/a.mm", "a")
        .write("widget/gtk/b.cpp", "b")
        .write("docs/index.md", "docs")
        .write("tools/x.py", "x")
        .write("third_party/y.py", "y");
    repo.commit("initial");
    repo.git_ok(&["checkout", "-q", "-b", "feature"]);
    repo
}

/// Whether an optional tool or data file may be missing: locally a test
/// skips with a note, but in CI (`CI=true`) a missing prerequisite fails, so
/// a green CI run never hides a skipped end-to-end test.
#[track_caller]
pub fn skip_or_fail(what: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is required in CI");
    }
    eprintln!("note: skipping: {what} is not available");
}

/// The Python the end-to-end tests use: `$SIFT_TEST_PYTHON` (the venv that
/// `scripts/test` makes, with pytest and moto), else `python3`.
pub fn python() -> String {
    std::env::var("SIFT_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// `python -m pytest`, if installed (`scripts/test` installs it).
pub fn pytest_available() -> bool {
    let ok = Command::new(python())
        .args(["-m", "pytest", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip_or_fail(&format!("`{} -m pytest`", python()));
    }
    ok
}

/// PyTorch's real test times, from `shared/data` beside the repository.
pub fn pytorch_times() -> Option<PathBuf> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pytorch-test-times.json");
    if path.is_file() {
        Some(path)
    } else {
        skip_or_fail(&format!("`{}`", path.display()));
        None
    }
}

/// A JUnit sample from sift-core's test data.
pub fn junit_sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sift-core/tests/data/junit")
        .join(name)
}

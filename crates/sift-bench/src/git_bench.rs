//! `sift-bench git`: what git change detection costs on top of git itself.
//!
//! The target: `sift plan` on a range costs at most 1.2× a plain
//! `git diff --name-status base...head` on the same range. This builds a real
//! repository (default 100,000 files) with branches changing 100, 10,000 and
//! 50,000 files, then times both commands alternately. CPU time comes from
//! `wait4`, which on Linux includes the git processes sift waits for, so the
//! comparison holds even on a loaded machine where wall time is noisy.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::rusage::wait_with_rusage;

pub struct GitOptions {
    pub dir: PathBuf,
    pub sift: PathBuf,
    pub files: usize,
    pub runs: usize,
}

const CONFIG: &str = r#"
[components]
exclusive = ["linux", "macosx", "windows"]
inclusive = ["docs"]

[[rules]]
files = ["d0*/**"]
exclusive = ["linux"]

[[rules]]
files = ["**/*.md"]
inclusive = ["docs"]

[tasks.build-linux]
schedules = ["linux"]

[tasks.build-macosx]
schedules = ["macosx"]

[tasks.test-linux]
schedules = ["linux"]
needs = ["build-linux"]

[tasks.docs]
changed = ["**/*.md"]
"#;

fn git(repo: &Path, args: &[&str]) -> Result<(), String> {
    let status = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("git {args:?} failed"))
    }
}

fn file_path(i: usize) -> String {
    format!("d{}/s{}/f{i}.txt", i % 100, (i / 100) % 10)
}

/// Creates the repository once; later runs reuse it.
fn build_repo(repo: &Path, files: usize, changes: &[usize]) -> Result<(), String> {
    if repo.join(".git").exists() {
        return Ok(());
    }
    fs::create_dir_all(repo).map_err(|e| e.to_string())?;
    git(repo, &["init", "-q", "-b", "main"])?;
    fs::write(repo.join("sift.toml"), CONFIG).map_err(|e| e.to_string())?;
    for i in 0..files {
        let path = repo.join(file_path(i));
        // The 1,000 directories first appear among the first 1,000 files.
        if i < 1000 {
            fs::create_dir_all(path.parent().expect("nested")).map_err(|e| e.to_string())?;
        }
        fs::write(&path, format!("file {i}\n")).map_err(|e| e.to_string())?;
    }
    git(repo, &["add", "-A"])?;
    git(repo, &["commit", "-q", "-m", "base"])?;
    for &count in changes {
        git(
            repo,
            &["checkout", "-q", "-b", &format!("change-{count}"), "main"],
        )?;
        // Spread the change over the tree: every (files / count)-th file.
        let step = (files / count).max(1);
        for i in (0..files).step_by(step).take(count) {
            fs::write(repo.join(file_path(i)), format!("file {i} changed\n"))
                .map_err(|e| e.to_string())?;
        }
        git(
            repo,
            &["commit", "-q", "-a", "-m", &format!("change {count} files")],
        )?;
    }
    git(repo, &["checkout", "-q", "main"])
}

/// Times a copy of the binary, written in one sequential pass the way
/// `cargo install` or unpacking a release writes it, like the installed
/// `git` it is compared with. A binary fresh from the linker sits in the page
/// cache in small pieces and costs about 40 more page faults (~0.3 ms) per
/// start than the same bytes installed.
pub fn installed_copy(sift: &Path, dir: &Path) -> Result<PathBuf, String> {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    let copy = bin.join("sift");
    // A fresh inode: overwriting in place would keep the old page-cache pieces.
    let _ = fs::remove_file(&copy);
    fs::copy(sift, &copy).map_err(|e| format!("cannot copy {}: {e}", sift.display()))?;
    Ok(copy)
}

/// One timed run of a whole process.
pub struct Sample {
    pub wall_ms: f64,
    pub cpu_ms: f64,
}

/// Runs `program args` in `dir` to completion (output discarded) and times it.
pub fn time(program: &Path, args: &[&str], dir: &Path) -> Result<Sample, String> {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir).stdout(Stdio::null());
    let (sample, status) = time_command(&mut command)?;
    if !status.success() {
        return Err(format!("{} {args:?} failed: {status}", program.display()));
    }
    Ok(sample)
}

/// Runs `command` to completion (stderr discarded; stdout as the caller set
/// it up) and times it, whatever its exit status; with the status.
pub fn time_command(command: &mut Command) -> Result<(Sample, std::process::ExitStatus), String> {
    let start = Instant::now();
    let child = command
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    let reaped = wait_with_rusage(&child).map_err(|e| e.to_string())?;
    let sample = Sample {
        wall_ms: start.elapsed().as_secs_f64() * 1000.0,
        cpu_ms: reaped.cpu_ms,
    };
    Ok((sample, reaped.status))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Returns whether every range met the 1.2× target (by CPU time).
pub fn run(options: &GitOptions) -> Result<bool, String> {
    let changes = [100, 10_000, 50_000.min(options.files)];
    let repo = options.dir.join("git-repo");
    let start = Instant::now();
    build_repo(&repo, options.files, &changes)?;
    eprintln!(
        "repository: {} ({} files, ready in {:.1} s)",
        repo.display(),
        options.files,
        start.elapsed().as_secs_f64()
    );
    let git_path = PathBuf::from("git");
    let sift = installed_copy(&options.sift, &options.dir)?;
    println!(
        "| range | changed files | git diff wall ms | sift plan wall ms | wall ratio | git diff CPU ms | sift plan CPU ms | CPU ratio | result |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut all_pass = true;
    for count in changes {
        let head = format!("change-{count}");
        let range = format!("main...{head}");
        let git_args = ["diff", "--name-status", range.as_str()];
        let sift_args = [
            "plan",
            "--base",
            "main",
            "--head",
            head.as_str(),
            "--format",
            "json",
        ];
        // Warm-up: the page cache for both binaries (a freshly built sift is
        // not all in memory yet) and for the repository's objects.
        for _ in 0..3 {
            time(&git_path, &git_args, &repo)?;
            time(&sift, &sift_args, &repo)?;
        }
        let (mut git_wall, mut git_cpu, mut sift_wall, mut sift_cpu) =
            (vec![], vec![], vec![], vec![]);
        for _ in 0..options.runs {
            let g = time(&git_path, &git_args, &repo)?;
            let s = time(&sift, &sift_args, &repo)?;
            git_wall.push(g.wall_ms);
            git_cpu.push(g.cpu_ms);
            sift_wall.push(s.wall_ms);
            sift_cpu.push(s.cpu_ms);
        }
        let (gw, gc, sw, sc) = (
            median(git_wall),
            median(git_cpu),
            median(sift_wall),
            median(sift_cpu),
        );
        let pass = sc <= gc * 1.2;
        all_pass &= pass;
        println!(
            "| {range} | {count} | {gw:.2} | {sw:.2} | {:.2}× | {gc:.2} | {sc:.2} | {:.2}× | {} |",
            sw / gw,
            sc / gc,
            if pass { "PASS" } else { "FAIL" }
        );
    }
    Ok(all_pass)
}

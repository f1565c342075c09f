//! `sift-bench replay`: how long `sift replay` takes over N recorded pushes
//! of a real repository.
//!
//! It clones REPO (`git clone --shared --no-checkout`: no work tree, the
//! objects shared), writes a `sift.toml` for it in the clone's folder (a
//! component and a test task per top-level folder of `crates/`, one per
//! other top-level folder, lint and docs tasks), and records the last N
//! first-parent commits as pushes, oldest first, with `sift plan --record
//! --base C^ --head C` into a store folder (once; kept between runs). Then
//! it times `sift replay --last N` with that configuration and with a
//! candidate that drops one rule (every run re-plans N pushes from git
//! objects, nothing is checked out), and prints wall and CPU time.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::git_bench::time_command;

pub struct ReplayOptions {
    pub dir: PathBuf,
    pub sift: PathBuf,
    pub repo: PathBuf,
    pub pushes: usize,
    pub runs: usize,
}

fn git(repo: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A configuration for a Cargo-workspace-like repository.
fn config(crates: &[String], others: &[String]) -> String {
    let mut out = String::from("[components]\nexclusive = [");
    let names: Vec<String> = crates
        .iter()
        .chain(others)
        .map(|c| format!("\"{c}\""))
        .collect();
    out.push_str(&names.join(", "));
    out.push_str("]\ninclusive = [\"docs\"]\n");
    for name in crates {
        let _ = write!(
            out,
            "\n[[rules]]\nfiles = [\"crates/{name}/**\"]\nexclusive = [\"{name}\"]\n"
        );
    }
    for name in others {
        let _ = write!(
            out,
            "\n[[rules]]\nfiles = [\"{}/**\"]\nexclusive = [\"{name}\"]\n",
            name.trim_start_matches("top-")
        );
    }
    out.push_str("\n[[rules]]\nfiles = [\"**/*.md\"]\nexclusive = []\ninclusive = [\"docs\"]\n");
    let _ = write!(
        out,
        "\n[tasks.build]\nschedules = [{}]\nrun = \"cargo build\"\n",
        names.join(", ")
    );
    for name in crates.iter().chain(others) {
        let _ = write!(
            out,
            "\n[tasks.test-{name}]\nschedules = [\"{name}\"]\nneeds = [\"build\"]\nrun = \"cargo test\"\n"
        );
    }
    out.push_str("\n[tasks.lint]\nchanged = [\"**/*.rs\", \"**/*.py\", \"!**/resources/**\"]\nrun = \"cargo clippy\"\n");
    out.push_str("\n[tasks.docs]\nschedules = [\"docs\"]\nrun = \"mkdocs build\"\n");
    out
}

/// Times `command`, with its report on stdout kept in a file (no pipe to
/// drain while waiting).
fn timed(command: &mut Command, out: &Path) -> Result<(f64, f64, String), String> {
    let file = fs::File::create(out).map_err(|e| e.to_string())?;
    let (sample, status) = time_command(command.stdout(file))?;
    if !status.success() {
        return Err(format!("{command:?} failed: {status}"));
    }
    let report = fs::read_to_string(out).map_err(|e| e.to_string())?;
    Ok((sample.wall_ms / 1000.0, sample.cpu_ms / 1000.0, report))
}

pub fn run(options: &ReplayOptions) -> Result<(), String> {
    let clone = options.dir.join("replay-repo");
    if !clone.join(".git").exists() {
        fs::create_dir_all(&options.dir).map_err(|e| e.to_string())?;
        git(
            &options.dir,
            &[
                "clone",
                "-q",
                "--shared",
                "--no-checkout",
                options.repo.to_str().ok_or("--repo is not UTF-8")?,
                clone.to_str().ok_or("--dir is not UTF-8")?,
            ],
        )?;
    }
    let tops = git(&clone, &["ls-tree", "--name-only", "-d", "HEAD"])?;
    let crates_tree =
        git(&clone, &["ls-tree", "--name-only", "-d", "HEAD:crates"]).unwrap_or_default();
    let crates: Vec<String> = crates_tree.lines().map(str::to_owned).collect();
    let others: Vec<String> = tops
        .lines()
        .filter(|t| *t != "crates" && !t.starts_with('.'))
        .filter(|t| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(|t| format!("top-{t}"))
        .collect();
    let text = config(&crates, &others);
    fs::write(clone.join("sift.toml"), &text).map_err(|e| e.to_string())?;
    // The candidate: the rule of the crate the recorded pushes change most
    // dropped (its files then affect every component).
    let touched = git(
        &clone,
        &[
            "log",
            "--first-parent",
            "--name-only",
            "--format=",
            &format!("-{}", options.pushes),
            "HEAD",
        ],
    )?;
    let busiest = crates
        .iter()
        .max_by_key(|c| {
            let prefix = format!("crates/{c}/");
            touched.lines().filter(|l| l.starts_with(&prefix)).count()
        })
        .ok_or("no crates/ folder in the repository")?;
    let first_rule =
        format!("\n[[rules]]\nfiles = [\"crates/{busiest}/**\"]\nexclusive = [\"{busiest}\"]\n");
    let candidate = options.dir.join("candidate.toml");
    fs::write(&candidate, text.replacen(&first_rule, "", 1)).map_err(|e| e.to_string())?;

    let store = options.dir.join("replay-store");
    let marker = store.join(format!("recorded-{}", options.pushes));
    let list = git(
        &clone,
        &[
            "rev-list",
            "--first-parent",
            &format!("--max-count={}", options.pushes),
            "HEAD",
        ],
    )?;
    let mut commits: Vec<&str> = list.lines().collect();
    commits.reverse();
    if !marker.exists() {
        let _ = fs::remove_dir_all(&store);
        let started = Instant::now();
        for (i, commit) in commits.iter().enumerate() {
            let parent = format!("{commit}^");
            let status = Command::new(&options.sift)
                .args([
                    "plan", "--record", "--branch", "main", "--base", &parent, "--head", commit,
                ])
                .args(["--format", "json", "--store"])
                .arg(&store)
                .current_dir(&clone)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("recording push {} ({commit}) failed", i + 1));
            }
        }
        fs::write(&marker, "").map_err(|e| e.to_string())?;
        eprintln!(
            "recorded {} pushes in {:.1} s",
            commits.len(),
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "| replay of {} pushes | wall | CPU | decisions as recorded |",
        commits.len()
    );
    println!("|---|---|---|---|");
    let pushes = commits.len().to_string();
    for (label, config) in [
        ("the recorded configuration", &clone.join("sift.toml")),
        ("a candidate (the busiest crate's rule dropped)", &candidate),
    ] {
        let mut samples = Vec::new();
        let mut last = String::new();
        for _ in 0..options.runs.max(1) {
            let (wall, cpu, out) = timed(
                Command::new(&options.sift)
                    .args([
                        "replay", "--branch", "main", "--last", &pushes, "--json", "--config",
                    ])
                    .arg(config)
                    .arg("--store")
                    .arg(&store)
                    .current_dir(&clone),
                &options.dir.join("replay-report.json"),
            )?;
            samples.push((wall, cpu));
            last = out;
        }
        samples.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (wall, cpu) = samples[samples.len() / 2];
        println!(
            "| {label} | {wall:.2} s | {cpu:.2} s | {} of {} |",
            top_number(&last, "identical"),
            top_number(&last, "replayed")
        );
    }
    Ok(())
}

/// The number after `"key": ` at the top level of a pretty-printed JSON
/// object (the benchmark has no JSON dependency).
fn top_number(text: &str, key: &str) -> String {
    let needle = format!("\n  \"{key}\": ");
    text.find(&needle)
        .map(|i| {
            text[i + needle.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect()
        })
        .unwrap_or_else(|| "?".to_owned())
}

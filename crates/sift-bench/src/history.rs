//! `sift-bench history`: `sift plan` per push on a repository with a long
//! history, against `git diff --name-status` on the same commit.
//!
//! A synthetic 100,000-file tree has few objects, which hides costs that grow
//! with the object count (pack-index scans on open, pack cache misses). This
//! builds, once and deterministically, a repository with a realistic history
//! through `git fast-import`: by default 30,000 commits on one branch over a
//! tree of 6,000 files in nested crates, each commit changing 1–12 files of one
//! or two crates (sometimes adding or deleting one), about half a million
//! objects, repacked into one pack. Or it measures any repository given with
//! `--repo` (a clone of a real project with a `sift.toml` in its work tree).
//!
//! For each of the last N first-parent commits C it runs, alternately, `git
//! diff --name-status C^ C` and `sift plan --base C^ --head C --format json`
//! as whole processes, and reports the medians and their ratio.

use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::git_bench::time;
use crate::rng::Rng;

pub struct HistoryOptions {
    pub dir: PathBuf,
    pub sift: PathBuf,
    /// Measure this repository instead of generating one.
    pub repo: Option<PathBuf>,
    pub commits: usize,
    pub pushes: usize,
    pub seed: u64,
}

const CRATES: usize = 40;
const MODULES: usize = 10;
const FILES: usize = 15;
const LINES: usize = 40;

/// The generated repository's own configuration: a component per crate, a
/// test task per crate, lint and docs tasks, like a Cargo workspace's.
fn config() -> String {
    let mut out = String::from("[components]\nexclusive = [");
    let names: Vec<String> = (0..CRATES).map(|c| format!("\"c{c}\"")).collect();
    out.push_str(&names.join(", "));
    out.push_str("]\ninclusive = [\"docs\"]\n");
    for c in 0..CRATES {
        let _ = write!(
            out,
            "\n[[rules]]\nfiles = [\"crates/c{c}/**\"]\nexclusive = [\"c{c}\"]\n"
        );
    }
    out.push_str("\n[[rules]]\nfiles = [\"**/*.md\"]\ninclusive = [\"docs\"]\n");
    for c in 0..CRATES {
        let _ = write!(
            out,
            "\n[tasks.test-c{c}]\nschedules = [\"c{c}\"]\nneeds = [\"build\"]\nrun = \"cargo test -p c{c}\"\n"
        );
    }
    out.push_str("\n[tasks.build]\nrun = \"cargo build\"\n");
    out.push_str("\n[tasks.docs]\nchanged = [\"**/*.md\", \"docs/**\"]\n");
    out.push_str("\n[tasks.fmt]\nchanged = [\"**/*.rs\"]\n");
    out
}

fn file_path(c: usize, m: usize, f: usize) -> String {
    format!("crates/c{c}/src/m{m}/f{f}.rs")
}

/// A file's text at a version: one line differs between versions, as in an
/// ordinary edit, so the pack holds realistic deltas.
fn content(id: usize, version: usize) -> String {
    let mut text = String::with_capacity(LINES * 40);
    for line in 0..LINES {
        let value = if line == version % LINES {
            version * 7919 + id
        } else {
            line * 31 + id
        };
        let _ = writeln!(text, "pub const F{id}_L{line}: u64 = {value};");
    }
    text
}

fn data(out: &mut Vec<u8>, bytes: &[u8]) {
    let _ = writeln!(out, "data {}", bytes.len());
    out.extend_from_slice(bytes);
    out.push(b'\n');
}

/// The `git fast-import` stream of the whole history.
fn stream(commits: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::fork(seed, "history");
    let mut out = Vec::with_capacity(commits * 4096);
    // Live files: (path, id, version); ids never repeat.
    let mut files: Vec<(String, usize, usize)> = Vec::new();
    for c in 0..CRATES {
        for m in 0..MODULES {
            for f in 0..FILES {
                let id = files.len();
                files.push((file_path(c, m, f), id, 0));
            }
        }
    }
    let mut next_id = files.len();
    let mut time = 1_600_000_000u64;
    for n in 0..commits {
        time += 60 + rng.below(3600) as u64;
        let _ = writeln!(out, "commit refs/heads/main");
        let _ = writeln!(out, "committer bench <bench@example.com> {time} +0000");
        data(&mut out, format!("change {n}").as_bytes());
        if n == 0 {
            let _ = writeln!(out, "M 100644 inline sift.toml");
            data(&mut out, config().as_bytes());
            let _ = writeln!(out, "M 100644 inline README.md");
            data(&mut out, b"# generated history\n");
            for (path, id, version) in &files {
                let _ = writeln!(out, "M 100644 inline {path}");
                data(&mut out, content(*id, *version).as_bytes());
            }
            continue;
        }
        let focus = rng.below(CRATES);
        let prefix = format!("crates/c{focus}/");
        let roll = rng.below(100);
        if roll < 3 {
            let (m, f) = (rng.below(MODULES), FILES + next_id);
            let path = format!("crates/c{focus}/src/m{m}/f{f}.rs");
            files.push((path.clone(), next_id, 0));
            let _ = writeln!(out, "M 100644 inline {path}");
            data(&mut out, content(next_id, 0).as_bytes());
            next_id += 1;
            continue;
        }
        if roll < 4 && files.len() > 100 {
            let victim = rng.below(files.len());
            let (path, _, _) = files.swap_remove(victim);
            let _ = writeln!(out, "D {path}");
            continue;
        }
        if roll < 6 {
            let _ = writeln!(out, "M 100644 inline README.md");
            data(
                &mut out,
                format!("# generated history\n\nrevision {n}\n").as_bytes(),
            );
        }
        let changed = rng.range(1, 12);
        let candidates: Vec<usize> = (0..files.len())
            .filter(|&i| files[i].0.starts_with(&prefix))
            .collect();
        for _ in 0..changed {
            // Mostly the focused crate, sometimes anywhere.
            let i = if !candidates.is_empty() && rng.chance(0.85) {
                candidates[rng.below(candidates.len())]
            } else {
                rng.below(files.len())
            };
            let (path, id, version) = &mut files[i];
            *version += 1;
            let _ = writeln!(out, "M 100644 inline {path}");
            data(&mut out, content(*id, *version).as_bytes());
        }
    }
    out
}

fn git(repo: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!("git {args:?} failed"));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Builds the repository once (`DIR/history-repo`); later runs reuse it.
fn build(repo: &Path, commits: usize, seed: u64) -> Result<(), String> {
    let marker = repo.join(".git").join("sift-bench-history");
    let wanted = format!("commits = {commits}\nseed = {seed}\n");
    if fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    if repo.exists() {
        fs::remove_dir_all(repo).map_err(|e| format!("cannot clear {}: {e}", repo.display()))?;
    }
    fs::create_dir_all(repo).map_err(|e| e.to_string())?;
    git(repo, &["init", "-q", "-b", "main"])?;
    let started = Instant::now();
    let stream = stream(commits, seed);
    eprintln!(
        "fast-import: {commits} commits, {} MiB stream",
        stream.len() >> 20
    );
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(repo)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git fast-import: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(&stream)
        .map_err(|e| format!("git fast-import: {e}"))?;
    if !child.wait().map_err(|e| e.to_string())?.success() {
        return Err("git fast-import failed".to_owned());
    }
    // One pack with deltas, as a long-lived clone has after `git gc`.
    git(
        repo,
        &["repack", "-a", "-d", "-q", "--window=10", "--depth=50"],
    )?;
    git(repo, &["checkout", "-q", "main"])?;
    fs::write(&marker, wanted).map_err(|e| e.to_string())?;
    let count = git(repo, &["count-objects", "-v"])?;
    eprintln!(
        "built {} in {:.0} s:\n{count}",
        repo.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

pub fn run(options: &HistoryOptions) -> Result<bool, String> {
    let repo = match &options.repo {
        Some(repo) => repo.clone(),
        None => {
            let repo = options.dir.join("history-repo");
            build(&repo, options.commits.max(2), options.seed)?;
            repo
        }
    };
    if !repo.join("sift.toml").is_file() {
        return Err(format!(
            "{} has no sift.toml in its work tree; write one first",
            repo.display()
        ));
    }
    let objects = git(&repo, &["count-objects", "-v"])?;
    let in_pack = objects
        .lines()
        .find_map(|l| l.strip_prefix("in-pack: "))
        .unwrap_or("?")
        .to_owned();
    let list = git(
        &repo,
        &[
            "rev-list",
            "--first-parent",
            "--no-merges",
            &format!("--max-count={}", options.pushes),
            "HEAD",
        ],
    )?;
    let commits: Vec<&str> = list.lines().collect();
    let sift = crate::git_bench::installed_copy(&options.sift, &options.dir)?;
    let git_path = PathBuf::from("git");
    let (mut gw, mut gc, mut sw, mut sc) = (vec![], vec![], vec![], vec![]);
    for (i, commit) in commits.iter().enumerate() {
        let parent = format!("{commit}^");
        let git_args = ["diff", "--name-status", parent.as_str(), commit];
        let sift_args = [
            "plan", "--base", &parent, "--head", commit, "--format", "json",
        ];
        if i < 3 {
            // Warm-up: page cache for both binaries and the pack.
            time(&git_path, &git_args, &repo)?;
            time(&sift, &sift_args, &repo)?;
        }
        let g = time(&git_path, &git_args, &repo)?;
        let s = time(&sift, &sift_args, &repo)?;
        gw.push(g.wall_ms);
        gc.push(g.cpu_ms);
        sw.push(s.wall_ms);
        sc.push(s.cpu_ms);
    }
    let (gw50, sw50) = (percentile(&mut gw, 0.5), percentile(&mut sw, 0.5));
    let (gc50, sc50) = (percentile(&mut gc, 0.5), percentile(&mut sc, 0.5));
    let (gw90, sw90) = (percentile(&mut gw, 0.9), percentile(&mut sw, 0.9));
    println!(
        "repository: {} ({in_pack} objects in packs), {} pushes",
        repo.display(),
        commits.len()
    );
    println!("| measure | git diff --name-status C^ C | sift plan --base C^ --head C | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| wall p50 ms | {gw50:.2} | {sw50:.2} | {:.2}× |",
        sw50 / gw50
    );
    println!(
        "| wall p90 ms | {gw90:.2} | {sw90:.2} | {:.2}× |",
        sw90 / gw90
    );
    println!(
        "| CPU p50 ms | {gc50:.2} | {sc50:.2} | {:.2}× |",
        sc50 / gc50
    );
    let pass = sw50 <= gw50 * 1.2;
    println!(
        "{} (target: median wall time at most 1.2× git's)",
        if pass { "PASS" } else { "FAIL" }
    );
    Ok(pass)
}

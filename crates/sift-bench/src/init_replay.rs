//! `sift-bench init-replay`: the generated configuration against a real Cargo
//! workspace's history. For each recent commit, it checks that `sift plan`
//! with the `sift.toml` that `sift init` writes (at HEAD) keeps every
//! `test-<package>` task whose package's files or dependencies changed,
//! judged by an oracle independent of sift: the files under the directories
//! of the package and of the workspace packages it depends on, and, when
//! `Cargo.lock` changed, real `cargo tree` at both commits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct ReplayOptions {
    pub repo: PathBuf,
    pub sift: PathBuf,
    pub commits: usize,
    pub dir: PathBuf,
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

struct Member {
    dir: String,
    deps: Vec<String>,
}

/// Workspace members (name → dir, direct path dependencies) from `cargo metadata`.
fn members(repo: &Path) -> Result<BTreeMap<String, Member>, String> {
    let json = run(
        repo,
        "cargo",
        &["metadata", "--format-version", "1", "--no-deps"],
    )?;
    let value: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
    let root = value["workspace_root"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let ids: BTreeSet<&str> = value["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    let mut by_dir = BTreeMap::new();
    let mut out = BTreeMap::new();
    let packages = value["packages"].as_array().cloned().unwrap_or_default();
    let relative = |path: &str| {
        path.strip_prefix(&root)
            .unwrap_or(path)
            .trim_start_matches('/')
            .to_owned()
    };
    for p in packages
        .iter()
        .filter(|p| ids.contains(p["id"].as_str().unwrap_or_default()))
    {
        let manifest = relative(p["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_owned());
        by_dir.insert(
            dir.clone(),
            p["name"].as_str().unwrap_or_default().to_owned(),
        );
    }
    for p in packages
        .iter()
        .filter(|p| ids.contains(p["id"].as_str().unwrap_or_default()))
    {
        let name = p["name"].as_str().unwrap_or_default().to_owned();
        let manifest = relative(p["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_owned());
        let deps = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["path"].as_str())
            .filter_map(|path| by_dir.get(&relative(path)).cloned())
            .filter(|d| *d != name)
            .collect();
        out.insert(name, Member { dir, deps });
    }
    Ok(out)
}

fn closure(members: &BTreeMap<String, Member>, name: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::from([name.to_owned()]);
    let mut stack = vec![name.to_owned()];
    while let Some(current) = stack.pop() {
        for dep in members
            .get(&current)
            .map(|m| m.deps.as_slice())
            .unwrap_or_default()
        {
            if seen.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    seen
}

/// `cargo tree` of one package at one commit: its resolved dependencies, or
/// `None` when cargo cannot say offline (the package did not exist, or a
/// crate is not in the local cache).
fn tree(worktree: &Path, package: &str) -> Option<BTreeSet<String>> {
    let out = run(
        worktree,
        "cargo",
        &[
            "tree",
            "-p",
            package,
            "--locked",
            "--offline",
            "--prefix",
            "none",
            "-e",
            "normal,build,dev",
        ],
    )
    .ok()?;
    Some(
        out.lines()
            .map(|l| l.trim_end_matches(" (*)").to_owned())
            .filter(|l| !l.contains("(/"))
            .collect(),
    )
}

pub fn replay(options: &ReplayOptions) -> Result<bool, String> {
    let _ = std::fs::remove_dir_all(&options.dir);
    std::fs::create_dir_all(&options.dir).map_err(|e| e.to_string())?;
    let repo = options.dir.join("repo");
    let repo_s = repo.to_string_lossy().into_owned();
    run(
        &options.dir,
        "git",
        &["clone", "-q", &options.repo.to_string_lossy(), &repo_s],
    )?;
    let _ = std::fs::remove_file(repo.join("sift.toml"));
    let sift = options
        .sift
        .canonicalize()
        .map_err(|e| format!("{}: {e}", options.sift.display()))?;
    let sift = sift.to_string_lossy().into_owned();
    run(&repo, &sift, &["init"])?;
    let members = members(&repo)?;
    let commits = run(
        &repo,
        "git",
        &[
            "rev-list",
            "--first-parent",
            "--no-merges",
            "-n",
            &options.commits.to_string(),
            "HEAD",
        ],
    )?;
    let (mut checked, mut kept_total, mut all_total, mut violations, mut unknown) = (0, 0, 0, 0, 0);
    let (mut lock_commits, mut lock_narrowed) = (0, 0);
    for commit in commits.lines() {
        let parent = format!("{commit}^");
        let Ok(files) = run(&repo, "git", &["diff", "--name-only", &parent, commit]) else {
            continue;
        };
        let files: Vec<&str> = files.lines().collect();
        let plan = run(
            &repo,
            &sift,
            &[
                "plan", "--base", &parent, "--head", commit, "--format", "json",
            ],
        )?;
        let plan: serde_json::Value = serde_json::from_str(&plan).map_err(|e| e.to_string())?;
        let kept: BTreeSet<String> = plan["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["run"] == true)
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect();
        let tests: Vec<&String> = members.keys().collect();
        let lock_changed = files.contains(&"Cargo.lock");
        let mut trees: BTreeMap<(bool, String), Option<BTreeSet<String>>> = BTreeMap::new();
        if lock_changed {
            lock_commits += 1;
            for (side, rev) in [(false, parent.as_str()), (true, commit)] {
                let wt = options.dir.join(if side { "head" } else { "base" });
                let wt_s = wt.to_string_lossy().into_owned();
                let _ = run(&repo, "git", &["worktree", "remove", "--force", &wt_s]);
                run(
                    &repo,
                    "git",
                    &["worktree", "add", "-q", "--detach", &wt_s, rev],
                )?;
                for name in &tests {
                    trees.insert((side, (*name).clone()), tree(&wt, name));
                }
            }
        }
        for name in &tests {
            let dirs: Vec<&str> = closure(&members, name)
                .iter()
                .filter_map(|m| members.get(m))
                .map(|m| m.dir.as_str())
                .collect::<Vec<_>>();
            let by_files = files.iter().any(|f| {
                dirs.iter()
                    .any(|d| d.is_empty() || f.starts_with(&format!("{d}/")))
            });
            let by_lock = lock_changed
                && match (
                    &trees[&(false, (*name).clone())],
                    &trees[&(true, (*name).clone())],
                ) {
                    (Some(a), Some(b)) => a != b,
                    _ => {
                        unknown += 1;
                        false
                    }
                };
            let task = format!("test-{name}");
            all_total += 1;
            if kept.contains(&task) {
                kept_total += 1;
            }
            if (by_files || by_lock) && !kept.contains(&task) {
                violations += 1;
                println!(
                    "MISSED {commit:.12} {task}: {}",
                    if by_files {
                        "its files changed"
                    } else {
                        "its resolved dependencies changed"
                    }
                );
            }
        }
        if lock_changed && tests.iter().any(|n| !kept.contains(&format!("test-{n}"))) {
            lock_narrowed += 1;
        }
        checked += 1;
    }
    println!(
        "replayed {checked} commits of {} ({} packages)",
        options.repo.display(),
        members.len()
    );
    println!(
        "test tasks kept: {kept_total} of {all_total} ({:.0}%)",
        100.0 * kept_total as f64 / all_total.max(1) as f64
    );
    println!(
        "commits changing Cargo.lock: {lock_commits}, of which {lock_narrowed} kept fewer than every test task"
    );
    println!("(package, lockfile commit) pairs cargo tree could not judge offline: {unknown}");
    println!(
        "missed tasks (a package's files or dependencies changed, its test skipped): {violations}"
    );
    Ok(violations == 0)
}

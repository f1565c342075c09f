//! `sift-bench changed`: the many-`skip-unless-changed`-tasks workload.
//!
//! One root `sift.toml` with T tasks, each with `changed = [...]` of 1–3
//! patterns of the shapes real configurations use (`dir/**`, `dir/sub/**`,
//! `dir_*/sub/deep/**`, `dir/*.ext`, `dir/**/*.ext`, `**/*.ext`,
//! `tools/x/**`), in `needs` chains toolchain → build → tests → package.
//! Changes of 100 and 1,000 files are skewed towards a few hot directories,
//! as real pushes are. Deterministic per seed.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use crate::generate::MARKER;
use crate::rng::Rng;

pub struct ChangedOptions {
    pub out: PathBuf,
    pub tasks: usize,
    pub seed: u64,
}

/// The change sizes written, and the median wall-time target for each, per
/// task count (`None`: no target at that size).
pub const CHANGE_SIZES: [usize; 2] = [100, 1000];

/// Targets from the issue: 20,000 tasks × 1,000 files ≤ 60 ms; 1,000 × 100 ≤ 5 ms.
pub fn target_ms(tasks: usize, files: usize) -> Option<f64> {
    match (tasks, files) {
        (20_000, 1000) => Some(60.0),
        (1000, 100) => Some(5.0),
        _ => None,
    }
}

const TOP_DIRS: usize = 120;
const SUBS: usize = 12;
const TOOLS: usize = 40;
const EXTS: [&str; 10] = [
    "rs", "py", "js", "cpp", "h", "toml", "md", "json", "yml", "txt",
];

/// The synthetic tree: `dNNN/sMM/...` plus `dNNN_k/sub/deep/...` and `tools/tNN/...`.
fn tree_paths(rng: &mut Rng) -> Vec<String> {
    let mut paths = Vec::new();
    for d in 0..TOP_DIRS {
        for s in 0..SUBS {
            for f in 0..rng.range(4, 12) {
                let ext = EXTS[rng.below(EXTS.len())];
                let depth = rng.range(0, 2);
                let mut path = format!("d{d:03}/s{s:02}");
                for k in 0..depth {
                    let _ = write!(path, "/n{k}");
                }
                let _ = write!(path, "/f{f}.{ext}");
                paths.push(path);
            }
        }
        for k in 0..2 {
            paths.push(format!("d{d:03}_{k}/sub/deep/x{k}.{}", EXTS[rng.below(4)]));
        }
    }
    for t in 0..TOOLS {
        for f in 0..rng.range(2, 6) {
            paths.push(format!("tools/t{t:02}/bin/f{f}.py"));
        }
    }
    paths.sort();
    paths.dedup();
    paths
}

fn pattern(rng: &mut Rng) -> String {
    let d = rng.below(TOP_DIRS);
    let s = rng.below(SUBS);
    let ext = EXTS[rng.below(EXTS.len())];
    match rng.below(100) {
        0..=24 => format!("d{d:03}/**"),
        25..=49 => format!("d{d:03}/s{s:02}/**"),
        50..=57 => format!("d{d:03}_*/sub/deep/**"),
        58..=72 => format!("d{d:03}/s{s:02}/*.{ext}"),
        73..=89 => format!("d{d:03}/**/*.{ext}"),
        90..=92 => format!("**/*.{ext}"),
        _ => format!("tools/t{:02}/**", rng.below(TOOLS)),
    }
}

fn patterns(rng: &mut Rng) -> Vec<String> {
    let n = rng.range(1, 3);
    let mut list: Vec<String> = (0..n).map(|_| pattern(rng)).collect();
    // A few lists exclude what they would otherwise match (gitignore style).
    if rng.chance(0.03) {
        list.push(format!("!d{:03}/s00/**", rng.below(TOP_DIRS)));
    }
    list
}

fn quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The root `sift.toml`: chains of four tasks (toolchain → build → test →
/// package), every task with its own `changed` list.
fn config(rng: &mut Rng, tasks: usize) -> String {
    let mut out = format!(
        "# `sift-bench changed --tasks {tasks}`: every task is skip-unless-changed.\n\
         [components]\nexclusive = [\"all\"]\n"
    );
    let stages = ["toolchain", "build", "test", "package"];
    for i in 0..tasks {
        let chain = i / stages.len();
        let stage = i % stages.len();
        let _ = writeln!(out, "\n[tasks.{}-{chain:05}]", stages[stage]);
        let mut list = patterns(rng);
        if stage == 0 {
            list[0] = format!("tools/t{:02}/**", chain % TOOLS);
        }
        let _ = writeln!(out, "changed = {}", quote_list(&list));
        if stage > 0 {
            let _ = writeln!(out, "needs = [\"{}-{chain:05}\"]", stages[stage - 1]);
        }
        let _ = writeln!(out, "run = \"make {}-{chain}\"", stages[stage]);
    }
    out
}

/// `size` distinct paths, 80% from a few hot top-level directories.
fn change(rng: &mut Rng, paths: &[String], size: usize) -> Vec<String> {
    let hot: Vec<String> = (0..6)
        .map(|_| format!("d{:03}/", rng.below(TOP_DIRS)))
        .collect();
    let hot_paths: Vec<&String> = paths
        .iter()
        .filter(|p| hot.iter().any(|h| p.starts_with(h.as_str())))
        .collect();
    let mut picked = std::collections::BTreeSet::new();
    let size = size.min(paths.len());
    let mut attempts = 0;
    while picked.len() < size && attempts < size * 100 {
        attempts += 1;
        let path = if rng.chance(0.8) && !hot_paths.is_empty() {
            hot_paths[rng.below(hot_paths.len())]
        } else {
            &paths[rng.below(paths.len())]
        };
        picked.insert(path.clone());
    }
    picked.into_iter().collect()
}

pub fn run(options: &ChangedOptions) -> Result<(), String> {
    let ChangedOptions { out, tasks, seed } = options;
    if *tasks == 0 {
        return Err("--tasks must be at least 1".to_owned());
    }
    prepare(out)?;
    let mut rng = Rng::fork(*seed, "changed-tree");
    let paths = tree_paths(&mut rng);
    let mut rng = Rng::fork(*seed, "changed-config");
    let text = config(&mut rng, *tasks);
    write(&out.join("sift.toml"), &text)?;
    write(&out.join("paths.txt"), &(paths.join("\n") + "\n"))?;
    for size in CHANGE_SIZES {
        let mut rng = Rng::fork(*seed, &format!("changed-{size}"));
        let picked = change(&mut rng, &paths, size);
        write(
            &out.join(crate::generate::change_file(size)),
            &(picked.join("\n") + "\n"),
        )?;
    }
    let targets: String = CHANGE_SIZES
        .iter()
        .filter_map(|&files| target_ms(*tasks, files).map(|ms| format!("{files} {ms}\n")))
        .collect();
    write(&out.join(TARGETS), &targets)?;
    write(
        &out.join(MARKER),
        &format!("seed = {seed}\nworkload = changed\ntasks = {tasks}\n"),
    )?;
    println!(
        "generated {}: {tasks} tasks, {} KiB sift.toml, {} paths, changes of {:?} files",
        out.display(),
        text.len() / 1024,
        paths.len(),
        CHANGE_SIZES
    );
    Ok(())
}

/// Per-directory wall-time targets, `FILES MILLISECONDS` per line, read by `run`.
pub const TARGETS: &str = "targets.txt";

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn prepare(out: &Path) -> Result<(), String> {
    if out.exists()
        && fs::read_dir(out)
            .map_err(|e| e.to_string())?
            .next()
            .is_some()
    {
        if !out.join(MARKER).exists() {
            return Err(format!(
                "{} is not empty and was not written by sift-bench; choose another --out",
                out.display()
            ));
        }
        fs::remove_dir_all(out).map_err(|e| format!("cannot clear {}: {e}", out.display()))?;
    }
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_chained() {
        let a = config(&mut Rng::fork(7, "changed-config"), 40);
        let b = config(&mut Rng::fork(7, "changed-config"), 40);
        assert_eq!(a, b);
        assert!(a.contains("[tasks.package-00009]\n"));
        assert!(a.contains("needs = [\"test-00009\"]"));
        let paths = tree_paths(&mut Rng::new(1));
        let picked = change(&mut Rng::new(2), &paths, 1000);
        assert_eq!(picked.len(), 1000);
        assert!(picked.windows(2).all(|w| w[0] < w[1]));
    }
}

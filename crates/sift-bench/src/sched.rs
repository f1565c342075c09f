//! `sift-bench sched`: what `sift run` costs on top of the work it runs.
//!
//! 1. Scheduling overhead: 5,000 tasks whose `run` is `true`, in a wide
//!    graph (5 levels; every task below the first needs 3 tasks of the level
//!    above), run by `sift run -j 2`, against `xargs -P 2` running the same
//!    5,000 `sh -c true`. Target: sift within 1.3x of xargs (wall time).
//! 2. Time to first task: a 10,000-task plan (skip-unless-changed tasks over
//!    200 folders in 10 included task files, a change touching all of them,
//!    needs chains 4 deep); the first task records the time it started and
//!    fails, so the run stops there. Target: under 100 ms from starting
//!    `sift` to the first task.
//!
//! Both run the `sift` given (which hands `run` to `sift-remote` beside it)
//! against a store folder of their own, recording nothing (`--no-record`).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::git_bench::time_command;
use crate::rng::Rng;

pub struct SchedOptions {
    pub dir: PathBuf,
    pub sift: PathBuf,
    pub tasks: usize,
    pub jobs: usize,
    pub runs: usize,
    pub first_tasks: usize,
}

/// Levels of the wide graph and how many tasks of the level above each
/// task below the first needs.
const LEVELS: usize = 5;
const NEEDS: usize = 3;

/// The wide graph: level k holds tasks `l{k}-{i}`, each needing `NEEDS`
/// random tasks of level k-1.
fn wide_config(tasks: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let per_level = tasks.div_ceil(LEVELS);
    let mut text = String::with_capacity(tasks * 80);
    for n in 0..tasks {
        let (level, i) = (n / per_level, n % per_level);
        let _ = writeln!(text, "[tasks.l{level}-{i:05}]\nrun = \"true\"");
        if level > 0 {
            let above = per_level.min(tasks - (level - 1) * per_level);
            let needs: Vec<String> = rng
                .sample_indices(above, NEEDS.min(above))
                .into_iter()
                .map(|j| format!("\"l{}-{j:05}\"", level - 1))
                .collect();
            let _ = writeln!(text, "needs = [{}]", needs.join(", "));
        }
    }
    text
}

/// Task files of the time-to-first-task plan, as a large configuration
/// splits its tasks (`include = ["ci/tasks/*.toml"]`, 1,000 per file).
const PER_FILE: usize = 1_000;

/// The time-to-first-task plan: skip-unless-changed tasks over 200
/// folders, in needs chains of 4; every task stamps its start and fails.
/// Returns the task files' texts (`ci/tasks/NNN.toml`).
fn first_task_files(tasks: usize) -> Vec<String> {
    (0..tasks)
        .step_by(PER_FILE)
        .map(|start| first_task_config(start, (start + PER_FILE).min(tasks)))
        .collect()
}

fn first_task_config(from: usize, to: usize) -> String {
    let mut text = String::with_capacity((to - from) * 120);
    for n in from..to {
        let _ = writeln!(
            text,
            "[tasks.t{n:05}]\nchanged = [\"src/m{:03}/**\", \"!**/*.md\"]\nrun = 'date +%s%N >> \"$STAMPS\"; exit 1'",
            n % 200
        );
        if n % 4 != 0 {
            let _ = writeln!(text, "needs = [\"t{:05}\"]", n - 1);
        }
    }
    text
}

struct Sample {
    wall_s: f64,
    cpu_s: f64,
    success: bool,
}

fn time(command: &mut Command) -> Result<Sample, String> {
    let (sample, status) = time_command(command.stdout(Stdio::null()))?;
    Ok(Sample {
        wall_s: sample.wall_ms / 1000.0,
        cpu_s: sample.cpu_ms / 1000.0,
        success: status.success(),
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn sift_run(options: &SchedOptions, dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(&options.sift);
    command
        .args(["run", "--no-record", "--files-from"])
        .arg(dir.join("change.txt"))
        .arg("--store")
        .arg(dir.join("store"))
        .args(extra)
        .current_dir(dir)
        .env_remove("CI")
        .env("NO_COLOR", "1");
    command
}

/// Returns whether both targets were met.
pub fn run(options: &SchedOptions) -> Result<bool, String> {
    let wide = options.dir.join("sched-wide");
    let first = options.dir.join("sched-first");
    for (dir, config, change) in [
        (&wide, wide_config(options.tasks, 7), String::new()),
        (
            &first,
            "include = [\"ci/tasks/*.toml\"]\n".to_owned(),
            (0..200).map(|m| format!("src/m{m:03}/x.c\n")).collect(),
        ),
    ] {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        fs::write(dir.join("sift.toml"), config).map_err(|e| e.to_string())?;
        fs::write(dir.join("change.txt"), change).map_err(|e| e.to_string())?;
    }
    let tasks_dir = first.join("ci/tasks");
    let _ = fs::remove_dir_all(&tasks_dir);
    fs::create_dir_all(&tasks_dir).map_err(|e| e.to_string())?;
    for (i, text) in first_task_files(options.first_tasks)
        .into_iter()
        .enumerate()
    {
        fs::write(tasks_dir.join(format!("{i:03}.toml")), text).map_err(|e| e.to_string())?;
    }

    let jobs = options.jobs.to_string();
    let (mut sift_wall, mut sift_cpu, mut xargs_wall, mut xargs_cpu) =
        (vec![], vec![], vec![], vec![]);
    for round in 0..=options.runs {
        let sift = time(&mut sift_run(options, &wide, &["--all", "-j", &jobs]))?;
        if !sift.success {
            return Err("sift run failed on the wide graph".to_owned());
        }
        let mut xargs = Command::new("sh");
        xargs.args([
            "-c",
            &format!("seq {} | xargs -P {jobs} -I{{}} sh -c true", options.tasks),
        ]);
        let xargs = time(&mut xargs)?;
        if round == 0 {
            continue; // warm-up
        }
        sift_wall.push(sift.wall_s);
        sift_cpu.push(sift.cpu_s);
        xargs_wall.push(xargs.wall_s);
        xargs_cpu.push(xargs.cpu_s);
    }
    let (sw, sc, xw, xc) = (
        median(sift_wall),
        median(sift_cpu),
        median(xargs_wall),
        median(xargs_cpu),
    );
    let ratio = sw / xw;
    let overhead_ok = ratio <= 1.3;

    let mut firsts = Vec::new();
    let stamps = first.join("stamps.txt");
    for round in 0..=options.runs {
        let _ = fs::remove_file(&stamps);
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_nanos();
        let sample = time(sift_run(options, &first, &["-j", &jobs]).env("STAMPS", &stamps))?;
        if sample.success {
            return Err("the first-task run was meant to fail at its first task".to_owned());
        }
        let text = fs::read_to_string(&stamps).map_err(|e| format!("no task started: {e}"))?;
        let first_ns: u128 = text
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .min()
            .ok_or("no time stamp")?;
        if round > 0 {
            firsts.push((first_ns.saturating_sub(started)) as f64 / 1e6);
        }
    }
    let first_ms = median(firsts);
    let first_ok = first_ms < 100.0;

    println!("| benchmark | sift run | baseline | ratio / target |");
    println!("|---|---|---|---|");
    println!(
        "| {} `true` tasks, {LEVELS} levels x {NEEDS} needs, -j {jobs} (wall, median of {}) | {sw:.2} s | xargs -P {jobs}: {xw:.2} s | {ratio:.2}x / ≤ 1.3x {} |",
        options.tasks,
        options.runs,
        if overhead_ok { "PASS" } else { "FAIL" }
    );
    println!(
        "| same, CPU (user+sys, with children) | {sc:.2} s | {xc:.2} s | {:.2}x |",
        sc / xc
    );
    println!(
        "| time to first task, {}-task plan (median of {}) | {first_ms:.1} ms | | < 100 ms {} |",
        options.first_tasks,
        options.runs,
        if first_ok { "PASS" } else { "FAIL" }
    );
    Ok(overhead_ok && first_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wide_graph_has_its_levels_and_needs() {
        let text = wide_config(50, 1);
        assert_eq!(text.matches("[tasks.").count(), 50);
        assert_eq!(text.matches("needs = [").count(), 40);
        assert!(text.contains("[tasks.l4-00009]"));
        let files = first_task_files(2_500);
        assert_eq!(files.len(), 3);
        assert_eq!(files[2].matches("[tasks.").count(), 500);
        assert_eq!(files[0].matches("needs = [").count(), 750);
    }
}

//! sift-bench: measures `sift plan` at Gecko scale.
//!
//! `sift-bench gen` writes a synthetic repository (rule files, task files and
//! path lists; the 300,000 source files exist only as paths), and
//! `sift-bench run` times `sift plan --files-from` on it. See README.md.

mod bench;
mod changed;
mod check;
mod generate;
mod git_bench;
mod history;
mod init_replay;
mod json;
mod names;
mod replay;
mod rng;
mod rules;
mod rusage;
mod sched;
mod taskgraph;
mod tasks;
mod tree;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
sift-bench: benchmark `sift plan` on a synthetic Gecko-scale repository

USAGE:
    sift-bench gen --out DIR [--seed N] [--scale F]
        Write DIR/sift.toml, nested rule files, DIR/ci/tasks/*.toml,
        DIR/paths.txt and DIR/change-{10,1000,100000}.txt.
        --seed N     generation seed (default 1); output is deterministic per seed
        --scale F    size factor (default 1.0: 300,000 paths, 3,000 rule files,
                     20,000 patterns, 10,000 tasks)

    sift-bench run --dir DIR --sift PATH [--runs N] [--enforce]
        Time `PATH plan --files-from DIR/change-K.txt --format json` (run in DIR)
        for K = 10, 1000, 100000: 1 warm-up, then N runs (default 5).
        Prints a markdown table with PASS/FAIL against the targets.
        Exits 1 if sift fails; with --enforce, also 3 if a target is missed.

    sift-bench changed --out DIR [--tasks T] [--seed N]
        Write the many-`changed`-tasks workload: one DIR/sift.toml with T tasks
        (default 20,000), each `changed = [...]` of 1-3 patterns, in needs
        chains toolchain -> build -> test -> package; DIR/change-{100,1000}.txt
        skewed towards hot directories; DIR/targets.txt for `run`.

    sift-bench git --dir DIR --sift PATH [--files N] [--runs N] [--enforce]
        Build DIR/git-repo (N files, default 100,000; branches changing 100,
        10,000 and 50,000 files) and compare `sift plan --base main --head B`
        with `git diff --name-status main...B` (median of --runs, default 7).
        sift runs from a fresh copy, DIR/bin/sift, as installed binaries are.
        Target: sift's CPU time at most 1.2x git's.

    sift-bench history --dir DIR --sift PATH [--repo REPO] [--commits N] [--pushes N] [--seed N] [--enforce]
        Build DIR/history-repo once with git fast-import (N commits, default
        30,000: about half a million objects in one pack), or use REPO (a real
        clone with a sift.toml in its work tree), and compare, for each of the
        last --pushes first-parent commits C (default 300),
        `sift plan --base C^ --head C --format json` with
        `git diff --name-status C^ C` as whole processes.
        Target: sift's median wall time at most 1.2x git's.

    sift-bench taskgraph --out DIR --sift PATH --python PY [--runs N] [--tasks 1000,10000,20000] [--files 100,1000] [--simple]
        For skip-unless-changed and skip-unless-schedules graphs of each size and
        change: write a Gecko-shaped full-task-graph.json, target tasks,
        parameters and a moz.build tree into DIR/<strategy>-<tasks>-<files>, then
        time `sift plan --graph ... --format taskgraph` (whole process) and
        taskgraph's optimize_task_graph call alone (PY must import taskgraph),
        by turns, --runs times each (default 5; medians), and check that both
        keep the same tasks. gecko's skip-unless-schedules runs as gecko has it
        (per-task frozenset and memoize lookup), the push components handed to
        it; --simple leaves its per-task work out.
        Target: sift at least 100x faster on the largest case.

    sift-bench init-replay --repo REPO --sift PATH [--commits N] [--dir DIR]
        Clone REPO (a Cargo workspace) into DIR (default target/bench-init-replay),
        write its sift.toml with `sift init`, and for each of the last N
        first-parent commits (default 60) check that `sift plan` keeps every
        test task whose package's files or (by real `cargo tree`, offline)
        resolved dependencies changed. Exits 1 on any miss.

    sift-bench sched --dir DIR --sift PATH [--tasks N] [--jobs J] [--runs N] [--first-tasks N] [--enforce]
        `sift run`'s own cost. Runs N `true` tasks (default 5,000) in a wide
        graph (5 levels, 3 needs each) with `sift run -j J` (default 2) and the
        same N `sh -c true` with `xargs -P J`: target sift within 1.3x of
        xargs. Then times a --first-tasks plan (default 10,000 tasks) from
        starting sift to its first task: target under 100 ms. Median of --runs
        (default 3) after a warm-up. `sift-remote` must sit beside PATH.

    sift-bench replay --dir DIR --sift PATH --repo REPO [--pushes N] [--runs N]
        Clone REPO (shared, no checkout) into DIR, write a sift.toml for it,
        record its last N first-parent commits (default 1,000) as pushes
        (once), and time `sift replay --last N` with that configuration and
        with a candidate that drops one rule (median of --runs, default 3).
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(args: &[String]) -> Result<ExitCode, String> {
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return Ok(ExitCode::from(2));
    };
    match command.as_str() {
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        "gen" => {
            let mut flags = Flags::parse(rest, &["--out", "--seed", "--scale"], &[])?;
            let options = generate::GenOptions {
                out: PathBuf::from(flags.required("--out")?),
                seed: flags.parsed("--seed", 1u64)?,
                scale: flags.parsed("--scale", 1.0f64)?,
            };
            generate::run(&options)?;
            Ok(ExitCode::SUCCESS)
        }
        "run" => {
            let mut flags = Flags::parse(rest, &["--dir", "--sift", "--runs"], &["--enforce"])?;
            let options = bench::RunOptions {
                dir: PathBuf::from(flags.required("--dir")?),
                sift: PathBuf::from(flags.required("--sift")?),
                runs: flags.parsed("--runs", 5usize)?,
                enforce: flags.switch("--enforce"),
            };
            match bench::run(&options) {
                Ok(true) => Ok(ExitCode::SUCCESS),
                Ok(false) if options.enforce => Ok(ExitCode::from(3)),
                Ok(false) => Ok(ExitCode::SUCCESS),
                Err(bench::RunError::Sift(message)) => {
                    eprintln!("error: {message}");
                    Ok(ExitCode::from(1))
                }
                Err(bench::RunError::Usage(message)) => Err(message),
            }
        }
        "init-replay" => {
            let mut flags = Flags::parse(rest, &["--repo", "--sift", "--commits", "--dir"], &[])?;
            let options = init_replay::ReplayOptions {
                repo: PathBuf::from(flags.required("--repo")?),
                sift: PathBuf::from(flags.required("--sift")?),
                commits: flags.parsed("--commits", 60usize)?,
                dir: flags
                    .take("--dir")
                    .map_or_else(|| PathBuf::from("target/bench-replay"), PathBuf::from),
            };
            Ok(if init_replay::replay(&options)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        "changed" => {
            let mut flags = Flags::parse(rest, &["--out", "--tasks", "--seed"], &[])?;
            let options = changed::ChangedOptions {
                out: PathBuf::from(flags.required("--out")?),
                tasks: flags.parsed("--tasks", 20_000usize)?,
                seed: flags.parsed("--seed", 1u64)?,
            };
            changed::run(&options)?;
            Ok(ExitCode::SUCCESS)
        }
        "history" => {
            let mut flags = Flags::parse(
                rest,
                &[
                    "--dir",
                    "--sift",
                    "--repo",
                    "--commits",
                    "--pushes",
                    "--seed",
                ],
                &["--enforce"],
            )?;
            let options = history::HistoryOptions {
                dir: PathBuf::from(flags.required("--dir")?),
                sift: PathBuf::from(flags.required("--sift")?),
                repo: flags.take("--repo").map(PathBuf::from),
                commits: flags.parsed("--commits", 30_000usize)?,
                pushes: flags.parsed("--pushes", 300usize)?,
                seed: flags.parsed("--seed", 1u64)?,
            };
            let enforce = flags.switch("--enforce");
            std::fs::create_dir_all(&options.dir).map_err(|e| format!("--dir: {e}"))?;
            match history::run(&options) {
                Ok(false) if enforce => Ok(ExitCode::from(3)),
                Ok(_) => Ok(ExitCode::SUCCESS),
                Err(message) => {
                    eprintln!("error: {message}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        "git" => {
            let mut flags = Flags::parse(
                rest,
                &["--dir", "--sift", "--files", "--runs"],
                &["--enforce"],
            )?;
            let options = git_bench::GitOptions {
                dir: PathBuf::from(flags.required("--dir")?),
                sift: PathBuf::from(flags.required("--sift")?),
                files: flags.parsed("--files", 100_000usize)?,
                runs: flags.parsed("--runs", 7usize)?,
            };
            let enforce = flags.switch("--enforce");
            let sift = options
                .sift
                .canonicalize()
                .map_err(|e| format!("--sift: {e}"))?;
            let options = git_bench::GitOptions { sift, ..options };
            match git_bench::run(&options) {
                Ok(false) if enforce => Ok(ExitCode::from(3)),
                Ok(_) => Ok(ExitCode::SUCCESS),
                Err(message) => {
                    eprintln!("error: {message}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        "taskgraph" => {
            let mut flags = Flags::parse(
                rest,
                &[
                    "--out", "--sift", "--python", "--runs", "--tasks", "--files",
                ],
                &["--simple"],
            )?;
            let list = |text: String| -> Result<Vec<usize>, String> {
                text.split(',')
                    .map(|n| n.trim().parse().map_err(|_| format!("not a number: `{n}`")))
                    .collect()
            };
            let options = taskgraph::MatrixOptions {
                out: PathBuf::from(flags.required("--out")?),
                sift: PathBuf::from(flags.required("--sift")?)
                    .canonicalize()
                    .map_err(|e| format!("--sift: {e}"))?,
                python: flags.required("--python")?,
                runs: flags.parsed("--runs", 5usize)?,
                tasks: list(
                    flags
                        .take("--tasks")
                        .unwrap_or_else(|| "1000,10000,20000".to_owned()),
                )?,
                files: list(
                    flags
                        .take("--files")
                        .unwrap_or_else(|| "100,1000".to_owned()),
                )?,
                simple: flags.switch("--simple"),
            };
            match taskgraph::matrix(&options) {
                Ok(true) => Ok(ExitCode::SUCCESS),
                Ok(false) => {
                    eprintln!("error: sift and taskgraph kept different tasks");
                    Ok(ExitCode::from(1))
                }
                Err(message) => {
                    eprintln!("error: {message}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        "sched" => {
            let mut flags = Flags::parse(
                rest,
                &[
                    "--dir",
                    "--sift",
                    "--tasks",
                    "--jobs",
                    "--runs",
                    "--first-tasks",
                ],
                &["--enforce"],
            )?;
            let options = sched::SchedOptions {
                dir: PathBuf::from(flags.required("--dir")?),
                sift: PathBuf::from(flags.required("--sift")?)
                    .canonicalize()
                    .map_err(|e| format!("--sift: {e}"))?,
                tasks: flags.parsed("--tasks", 5_000usize)?,
                jobs: flags.parsed("--jobs", 2usize)?,
                runs: flags.parsed("--runs", 3usize)?.max(1),
                first_tasks: flags.parsed("--first-tasks", 10_000usize)?,
            };
            let enforce = flags.switch("--enforce");
            match sched::run(&options) {
                Ok(false) if enforce => Ok(ExitCode::from(3)),
                Ok(_) => Ok(ExitCode::SUCCESS),
                Err(message) => {
                    eprintln!("error: {message}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        "replay" => {
            let mut flags = Flags::parse(
                rest,
                &["--dir", "--sift", "--repo", "--pushes", "--runs"],
                &[],
            )?;
            let options = replay::ReplayOptions {
                dir: PathBuf::from(flags.required("--dir")?),
                sift: PathBuf::from(flags.required("--sift")?)
                    .canonicalize()
                    .map_err(|e| format!("--sift: {e}"))?,
                repo: PathBuf::from(flags.required("--repo")?),
                pushes: flags.parsed("--pushes", 1000usize)?,
                runs: flags.parsed("--runs", 3usize)?,
            };
            match replay::run(&options) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(message) => {
                    eprintln!("error: {message}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    }
}

/// `--name value` / `--name=value` options and bare switches.
struct Flags {
    values: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Flags {
    fn parse(args: &[String], valued: &[&str], switches: &[&str]) -> Result<Flags, String> {
        let mut flags = Flags {
            values: Vec::new(),
            switches: Vec::new(),
        };
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
                _ => (arg.as_str(), None),
            };
            if switches.contains(&name) && inline.is_none() {
                flags.switches.push(name.to_owned());
            } else if valued.contains(&name) {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        args.get(i)
                            .cloned()
                            .ok_or_else(|| format!("{name} needs a value"))?
                    }
                };
                if flags.values.iter().any(|(n, _)| n == name) {
                    return Err(format!("{name} given twice"));
                }
                flags.values.push((name.to_owned(), value));
            } else {
                return Err(format!("unexpected argument `{arg}`\n\n{USAGE}"));
            }
            i += 1;
        }
        Ok(flags)
    }

    fn take(&mut self, name: &str) -> Option<String> {
        let i = self.values.iter().position(|(n, _)| n == name)?;
        Some(self.values.remove(i).1)
    }

    fn required(&mut self, name: &str) -> Result<String, String> {
        self.take(name)
            .ok_or_else(|| format!("{name} is required\n\n{USAGE}"))
    }

    fn parsed<T: std::str::FromStr>(&mut self, name: &str, default: T) -> Result<T, String> {
        match self.take(name) {
            Some(v) => v.parse().map_err(|_| format!("{name}: cannot parse `{v}`")),
            None => Ok(default),
        }
    }

    fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

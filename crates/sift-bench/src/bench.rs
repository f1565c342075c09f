//! `sift-bench run`: times `sift plan --files-from` on the generated changes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

use crate::rusage::wait_with_rusage;

pub struct RunOptions {
    pub dir: PathBuf,
    pub sift: PathBuf,
    pub runs: usize,
    /// Exit non-zero when a target is missed, not only when sift fails.
    pub enforce: bool,
}

/// Targets of the Gecko-scale workload: (change size, median wall-time limit
/// in ms). Other workloads write theirs to `targets.txt` in their directory.
const TIME_TARGETS: &[(usize, f64)] = &[(1000, 100.0), (100_000, 2000.0)];

/// The `change-N.txt` files in `dir`, smallest first.
fn change_files(dir: &Path) -> Result<Vec<(usize, String)>, RunError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| RunError::Usage(format!("cannot read {}: {e}", dir.display())))?;
    let mut found: Vec<(usize, String)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let size = name
                .strip_prefix("change-")?
                .strip_suffix(".txt")?
                .parse()
                .ok()?;
            Some((size, name))
        })
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(RunError::Usage(format!(
            "{} has no change-N.txt files; generate the workload first",
            dir.display()
        )));
    }
    Ok(found)
}

/// `targets.txt` (`FILES MILLISECONDS` per line) if the workload wrote one,
/// else the Gecko-scale targets.
fn time_targets(dir: &Path) -> Result<Vec<(usize, f64)>, RunError> {
    let path = dir.join(crate::changed::TARGETS);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(TIME_TARGETS.to_vec());
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut fields = line.split_whitespace();
            let files = fields.next().and_then(|f| f.parse().ok());
            let ms = fields.next().and_then(|f| f.parse().ok());
            files.zip(ms).ok_or_else(|| {
                RunError::Usage(format!("{}: cannot read line `{line}`", path.display()))
            })
        })
        .collect()
}
/// Peak RSS limit, in MiB (ru_maxrss KiB / 1024).
const RSS_TARGET_MIB: f64 = 200.0;

struct Sample {
    wall_ms: f64,
    cpu_ms: f64,
    max_rss_kib: u64,
    stdout_len: usize,
}

struct Row {
    name: String,
    files: usize,
    samples: Vec<Sample>,
}

/// Why `run` stopped early.
pub enum RunError {
    /// Bad arguments or environment.
    Usage(String),
    /// sift itself failed or printed something unusable.
    Sift(String),
}

/// Returns whether every target was met.
pub fn run(options: &RunOptions) -> Result<bool, RunError> {
    let dir = options
        .dir
        .canonicalize()
        .map_err(|e| RunError::Usage(format!("--dir {}: {e}", options.dir.display())))?;
    let sift = resolve_binary(&options.sift)?;
    if !dir.join("sift.toml").is_file() {
        return Err(RunError::Usage(format!(
            "{} has no sift.toml; run `sift-bench gen --out {}` first",
            dir.display(),
            dir.display()
        )));
    }
    let runs = options.runs.max(1);

    // Does `plan` want the root spelled out? Prefer finding sift.toml from the
    // current directory, as the real CLI does.
    let help = Command::new(&sift)
        .args(["plan", "--help"])
        .current_dir(&dir)
        .output();
    let mut base_args: Vec<String> = Vec::new();
    match &help {
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if !text.contains("--files-from") {
                eprintln!("warning: `sift plan --help` does not mention --files-from");
            }
            if text.contains("--root") {
                base_args.extend(["--root".to_owned(), dir.display().to_string()]);
            }
        }
        Err(e) => {
            return Err(RunError::Usage(format!(
                "cannot run {}: {e}",
                sift.display()
            )));
        }
    }
    let version = Command::new(&sift)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown version".to_owned());
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "sift: {} ({version}); {cores} cores; {runs} runs per change after 1 warm-up",
        sift.display()
    );
    println!("repository: {}", dir.display());

    let targets = time_targets(&dir)?;
    let mut rows = Vec::new();
    for (_, name) in change_files(&dir)? {
        let change = dir.join(&name);
        let text = std::fs::read_to_string(&change)
            .map_err(|e| RunError::Usage(format!("cannot read {}: {e}", change.display())))?;
        let files = text.lines().filter(|l| !l.trim().is_empty()).count();
        let mut args = vec![
            "plan".to_owned(),
            "--files-from".to_owned(),
            change.display().to_string(),
        ];
        args.extend(["--format".to_owned(), "json".to_owned()]);
        args.extend(base_args.iter().cloned());
        eprintln!(
            "running {name} ({files} files): {} {}",
            sift.display(),
            args.join(" ")
        );
        let mut samples = Vec::with_capacity(runs);
        for i in 0..=runs {
            let sample = run_once(&sift, &args, &dir)?;
            if i > 0 {
                samples.push(sample);
            }
        }
        rows.push(Row {
            name,
            files,
            samples,
        });
    }
    Ok(report(&rows, &targets))
}

fn resolve_binary(path: &Path) -> Result<PathBuf, RunError> {
    if path.components().count() == 1 && !path.exists() {
        // A bare name: let the OS search PATH.
        return Ok(path.to_owned());
    }
    path.canonicalize().map_err(|e| {
        RunError::Usage(format!(
            "--sift {}: {e} (build it with `cargo build --release -p sift`)",
            path.display()
        ))
    })
}

fn run_once(sift: &Path, args: &[String], dir: &Path) -> Result<Sample, RunError> {
    let started = Instant::now();
    let mut child = Command::new(sift)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RunError::Usage(format!("cannot start {}: {e}", sift.display())))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let reaped =
        wait_with_rusage(&child).map_err(|e| RunError::Usage(format!("wait4 failed: {e}")))?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let show_stderr = || {
        let text = String::from_utf8_lossy(&stderr);
        if text.trim().is_empty() {
            "(stderr was empty)".to_owned()
        } else {
            format!("stderr:\n{text}")
        }
    };
    if !reaped.status.success() {
        return Err(RunError::Sift(format!(
            "`sift {}` failed with {}\n{}",
            args.join(" "),
            reaped.status,
            show_stderr()
        )));
    }
    if stdout.is_empty() {
        return Err(RunError::Sift(format!(
            "`sift {}` printed nothing on stdout\n{}",
            args.join(" "),
            show_stderr()
        )));
    }
    let text = String::from_utf8_lossy(&stdout);
    if let Err(e) = crate::json::validate(&text) {
        return Err(RunError::Sift(format!(
            "`sift {}` printed invalid JSON: {e}\n{}",
            args.join(" "),
            show_stderr()
        )));
    }
    if !text.contains("\"format_version\"") {
        return Err(RunError::Sift(format!(
            "`sift {}` printed JSON without \"format_version\"",
            args.join(" ")
        )));
    }
    Ok(Sample {
        wall_ms,
        cpu_ms: reaped.cpu_ms,
        max_rss_kib: reaped.max_rss_kib,
        stdout_len: stdout.len(),
    })
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Prints the markdown table; returns whether every target was met.
fn report(rows: &[Row], time_targets: &[(usize, f64)]) -> bool {
    println!();
    println!(
        "| change | files | runs | min ms | median ms | max ms | median CPU ms | peak RSS MiB | JSON KiB | target | result |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    let mut all_ok = true;
    for row in rows {
        let mut times: Vec<f64> = row.samples.iter().map(|s| s.wall_ms).collect();
        times.sort_by(f64::total_cmp);
        let med = median(&times);
        let mut cpu: Vec<f64> = row.samples.iter().map(|s| s.cpu_ms).collect();
        cpu.sort_by(f64::total_cmp);
        let rss_mib = row.samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
        let json_kib = row.samples.last().map_or(0, |s| s.stdout_len) as f64 / 1024.0;
        let time_target = time_targets
            .iter()
            .find(|(n, _)| *n == row.files)
            .map(|(_, ms)| *ms);
        let mut target = Vec::new();
        let mut ok = rss_mib < RSS_TARGET_MIB;
        if let Some(limit) = time_target {
            target.push(format!("median < {limit:.0} ms"));
            ok &= med < limit;
        }
        target.push(format!("RSS < {RSS_TARGET_MIB:.0} MiB"));
        all_ok &= ok;
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
            row.name,
            row.files,
            row.samples.len(),
            times[0],
            med,
            times[times.len() - 1],
            median(&cpu),
            rss_mib,
            json_kib,
            target.join(", "),
            if ok { "PASS" } else { "FAIL" }
        );
    }
    println!();
    println!(
        "{}",
        if all_ok {
            "all targets met"
        } else {
            "some targets missed"
        }
    );
    all_ok
}

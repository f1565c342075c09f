//! `sift run`'s process adapter: starts each task's `run` through `sh -c`
//! in its own process group, buffers its output in a file on disk, enforces
//! `timeout`, forwards Ctrl-C/SIGTERM, and tells the core's
//! [`Scheduler`] how each task ended. The order itself is the core's.
//!
//! Killing: a task that times out, or every running task when sift gets
//! SIGINT or SIGTERM, gets SIGTERM on its whole process group, then SIGKILL
//! after the grace period. When a task's shell exits, whatever it left
//! running in its group is killed too, so no task leaves orphans behind.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use sift_core::run::{Ended, Graph, Scheduler, State};

use crate::error::CliError;
use crate::status::Status;

/// What to run for one task; `None` in the job list: the task has no `run`.
pub struct Job {
    pub command: String,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
}

pub struct Settings {
    pub jobs: usize,
    pub keep_going: bool,
    pub stream: bool,
    pub show_output: bool,
    pub grace: Duration,
    /// `::group::`/`::endgroup::` around each block (GitHub Actions).
    pub github: bool,
    /// Task output and status lines go to stderr (`--format json`).
    pub to_stderr: bool,
    pub log_dir: PathBuf,
}

/// How one started task ended.
pub struct Finished {
    pub ended: Ended,
    pub exit_code: Option<i32>,
    pub started: SystemTime,
    pub seconds: f64,
    pub reason: String,
}

pub struct Outcome {
    /// Per task: `Some` if it was started (or had nothing to run).
    pub finished: Vec<Option<Finished>>,
    pub states: Vec<State>,
    pub interrupted: bool,
}

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
}

// The workspace denies unsafe code; these two calls are the only way to
// catch signals and signal process groups without another dependency.
#[allow(unsafe_code)]
fn install_signal_handlers() {
    let handler: extern "C" fn(libc::c_int) = on_signal;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}

#[allow(unsafe_code)]
fn kill_group(pgid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals a process group; the group
    // is the task's own (process_group(0) at spawn), never sift's.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), signal);
    }
}

struct Running {
    task: usize,
    child: Child,
    log: PathBuf,
    started: SystemTime,
    clock: Instant,
    deadline: Option<Instant>,
    /// When SIGTERM was sent: SIGKILL follows after the grace period.
    terminated_at: Option<Instant>,
    timed_out: bool,
    interrupted: bool,
    /// `--stream`: the log read so far, and an unfinished line.
    reader: Option<File>,
    partial: Vec<u8>,
}

/// Runs the graph's tasks; `jobs[i]` is task i's command.
pub fn execute(
    graph: &Graph,
    jobs: &[Option<Job>],
    common_env: &[(String, String)],
    settings: &Settings,
) -> Result<Outcome, CliError> {
    install_signal_handlers();
    std::fs::create_dir_all(&settings.log_dir)
        .map_err(|e| CliError::io(format!("cannot create `{}`", settings.log_dir.display()), e))?;
    remove_old_logs(&settings.log_dir);
    let mut scheduler = Scheduler::new(graph, settings.keep_going);
    let width = graph
        .tasks
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut area = Status::new(graph.len(), width);
    let mut finished: Vec<Option<Finished>> = (0..graph.len()).map(|_| None).collect();
    let mut running: Vec<Running> = Vec::new();
    let mut interrupted = false;
    let slots = settings.jobs.max(1);
    let mut idle = Duration::from_micros(50);
    loop {
        if !interrupted && SIGNAL.load(Ordering::SeqCst) != 0 {
            interrupted = true;
            scheduler.interrupt();
            let now = Instant::now();
            for r in &mut running {
                kill_group(r.child.id(), libc::SIGTERM);
                r.interrupted = true;
                r.terminated_at.get_or_insert(now);
            }
        }
        while running.len() < slots {
            let Some(task) = scheduler.next_task() else {
                break;
            };
            let Some(job) = &jobs[task] else {
                finished[task] = Some(Finished {
                    ended: Ended::Succeeded,
                    exit_code: None,
                    started: SystemTime::now(),
                    seconds: 0.0,
                    reason: "nothing to run: the task has no `run`".to_owned(),
                });
                scheduler.finish(task, Ended::Succeeded);
                if let Some(area) = &mut area {
                    area.done_without_running();
                }
                continue;
            };
            match spawn(graph, task, job, common_env, settings) {
                Ok(r) => {
                    if let Some(area) = &mut area {
                        area.started(task, &graph.tasks[task].name);
                    }
                    running.push(r);
                }
                Err(reason) => {
                    finished[task] = Some(Finished {
                        ended: Ended::Failed,
                        exit_code: None,
                        started: SystemTime::now(),
                        seconds: 0.0,
                        reason,
                    });
                    status_line(graph, task, "FAIL", 0.0, settings, &area);
                    let skipped = scheduler.finish(task, Ended::Failed);
                    if let Some(area) = &mut area {
                        area.ended(task, true);
                        area.skipped(skipped.len());
                    }
                }
            }
        }
        if running.is_empty() && scheduler.is_done() {
            break;
        }
        let mut progressed = false;
        let mut i = 0;
        while i < running.len() {
            let r = &mut running[i];
            if settings.stream {
                pump(graph, r, settings, false, &area);
            }
            let status = r
                .child
                .try_wait()
                .map_err(|e| CliError::io("cannot wait for a task", e))?;
            let Some(status) = status else {
                let now = Instant::now();
                if r.terminated_at.is_none() && r.deadline.is_some_and(|d| now >= d) {
                    kill_group(r.child.id(), libc::SIGTERM);
                    r.timed_out = true;
                    r.terminated_at = Some(now);
                }
                if r.terminated_at.is_some_and(|t| now >= t + settings.grace) {
                    kill_group(r.child.id(), libc::SIGKILL);
                }
                i += 1;
                continue;
            };
            // The shell is gone: whatever it left in its group goes too.
            kill_group(r.child.id(), libc::SIGKILL);
            progressed = true;
            let r = running.swap_remove(i);
            let seconds = r.clock.elapsed().as_secs_f64();
            let (ended, reason) = if r.interrupted {
                (Ended::Interrupted, "interrupted".to_owned())
            } else if r.timed_out {
                let limit = jobs[r.task]
                    .as_ref()
                    .and_then(|j| j.timeout)
                    .map_or(0.0, |t| t.as_secs_f64());
                (
                    Ended::TimedOut,
                    format!(
                        "timed out after {}",
                        sift_core::run::report::format_seconds(limit)
                    ),
                )
            } else if status.success() {
                (Ended::Succeeded, "exit code 0".to_owned())
            } else if let Some(code) = status.code() {
                (Ended::Failed, format!("exit code {code}"))
            } else {
                (
                    Ended::Failed,
                    format!("killed by signal {}", status.signal().unwrap_or(0)),
                )
            };
            let (task, started) = (r.task, r.started);
            let code = status.code();
            report_end(graph, r, ended, seconds, settings, &area);
            finished[task] = Some(Finished {
                ended,
                exit_code: code,
                started,
                seconds,
                reason,
            });
            let skipped = scheduler.finish(task, ended);
            if let Some(area) = &mut area {
                area.ended(task, matches!(ended, Ended::Failed | Ended::TimedOut));
                area.skipped(skipped.len());
            }
        }
        if let Some(area) = &mut area {
            area.tick();
        }
        // Poll fast right after a task ended (short tasks end in bursts),
        // then back off to 5 ms so long tasks cost no CPU.
        if progressed {
            idle = Duration::from_micros(50);
        } else {
            std::thread::sleep(idle);
            idle = (idle * 2).min(Duration::from_millis(5));
        }
    }
    if let Some(area) = area {
        area.finish();
    }
    Ok(Outcome {
        finished,
        states: scheduler.into_states(),
        interrupted,
    })
}

fn log_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The platform shell at its POSIX place, so starting a task costs no PATH
/// search (and no shim a PATH entry puts in front of it); `sh` from PATH
/// where there is no `/bin/sh`.
fn shell() -> &'static str {
    static SHELL: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SHELL.get_or_init(|| {
        if std::path::Path::new("/bin/sh").is_file() {
            "/bin/sh"
        } else {
            "sh"
        }
    })
}

/// The previous run's task logs: a run keeps only its own, so the folder
/// does not grow with every run (the last run's logs stay for reading).
/// What cannot be removed stays; nothing else in the folder is touched.
fn remove_old_logs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log")
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn spawn(
    graph: &Graph,
    task: usize,
    job: &Job,
    common_env: &[(String, String)],
    settings: &Settings,
) -> Result<Running, String> {
    let name = &graph.tasks[task].name;
    let log = settings
        .log_dir
        .join(format!("{task}-{}.log", log_name(name)));
    let out = File::create(&log).map_err(|e| format!("cannot create `{}`: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot create `{}`: {e}", log.display()))?;
    let mut command = Command::new(shell());
    command
        .arg("-c")
        .arg(&job.command)
        .current_dir(&job.cwd)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .env("SIFT_TASK", name)
        .process_group(0);
    for (key, value) in common_env.iter().chain(&job.env) {
        command.env(key, value);
    }
    let child = command
        .spawn()
        .map_err(|e| format!("cannot start `sh -c` in `{}`: {e}", job.cwd.display()))?;
    let clock = Instant::now();
    let reader = if settings.stream {
        File::open(&log).ok()
    } else {
        None
    };
    Ok(Running {
        task,
        child,
        log,
        started: SystemTime::now(),
        clock,
        deadline: job.timeout.map(|t| clock + t),
        terminated_at: None,
        timed_out: false,
        interrupted: false,
        reader,
        partial: Vec::new(),
    })
}

fn sink(settings: &Settings) -> Box<dyn Write> {
    if settings.to_stderr {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    }
}

/// Longest unfinished line kept before it is printed anyway.
const MAX_PARTIAL: usize = 64 * 1024;

/// Prints through the live area when there is one (above it, without
/// tearing it), else straight.
fn emit<R>(area: &Option<Status>, print: impl FnOnce() -> R) -> R {
    match area {
        Some(area) => area.suspend(print),
        None => print(),
    }
}

/// `--stream`: prints the complete lines the task wrote since the last call.
fn pump(graph: &Graph, r: &mut Running, settings: &Settings, at_end: bool, area: &Option<Status>) {
    emit(area, || pump_lines(graph, r, settings, at_end));
}

fn pump_lines(graph: &Graph, r: &mut Running, settings: &Settings, at_end: bool) {
    let Some(reader) = &mut r.reader else {
        return;
    };
    let name = &graph.tasks[r.task].name;
    let mut buffer = [0u8; 16 * 1024];
    let mut out = sink(settings);
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut chunk = &buffer[..n];
        while let Some(pos) = chunk.iter().position(|&b| b == b'\n') {
            let _ = write!(out, "[{name}] ");
            let _ = out.write_all(&r.partial);
            let _ = out.write_all(&chunk[..=pos]);
            r.partial.clear();
            chunk = &chunk[pos + 1..];
        }
        r.partial.extend_from_slice(chunk);
        if r.partial.len() > MAX_PARTIAL {
            let _ = write!(out, "[{name}] ");
            let _ = out.write_all(&r.partial);
            let _ = out.write_all(b"\n");
            r.partial.clear();
        }
    }
    if at_end && !r.partial.is_empty() {
        let _ = write!(out, "[{name}] ");
        let _ = out.write_all(&r.partial);
        let _ = out.write_all(b"\n");
        r.partial.clear();
    }
    let _ = out.flush();
}

fn label(ended: Ended) -> &'static str {
    match ended {
        Ended::Succeeded => "PASS",
        Ended::Failed => "FAIL",
        Ended::TimedOut => "TIMEOUT",
        Ended::Interrupted => "INTERRUPTED",
    }
}

fn status_line(
    graph: &Graph,
    task: usize,
    label: &str,
    seconds: f64,
    settings: &Settings,
    area: &Option<Status>,
) {
    emit(area, || {
        print_status_line(graph, task, label, seconds, settings)
    });
}

fn print_status_line(graph: &Graph, task: usize, label: &str, seconds: f64, settings: &Settings) {
    let mut out = sink(settings);
    let _ = writeln!(
        out,
        "{label:>11} [{:>6}] {}",
        sift_core::run::report::format_seconds(seconds),
        graph.tasks[task].name
    );
    let _ = out.flush();
}

/// A task ended: its status line, then its output as one block (failed
/// tasks always, successful ones with `--show-output`), copied from disk.
fn report_end(
    graph: &Graph,
    r: Running,
    ended: Ended,
    seconds: f64,
    settings: &Settings,
    area: &Option<Status>,
) {
    emit(area, || print_end(graph, r, ended, seconds, settings));
}

fn print_end(graph: &Graph, mut r: Running, ended: Ended, seconds: f64, settings: &Settings) {
    if settings.stream {
        pump_lines(graph, &mut r, settings, true);
        print_status_line(graph, r.task, label(ended), seconds, settings);
        return;
    }
    print_status_line(graph, r.task, label(ended), seconds, settings);
    if ended.is_success() && !settings.show_output {
        return;
    }
    let Ok(mut log) = File::open(&r.log) else {
        return;
    };
    let name = &graph.tasks[r.task].name;
    let mut out = sink(settings);
    if settings.github {
        let _ = writeln!(out, "::group::{name} ({})", label(ended));
    } else {
        let _ = writeln!(out, "--- output of {name} ---");
    }
    let mut last = [0u8; 1];
    let mut buffer = [0u8; 64 * 1024];
    let mut any = false;
    loop {
        match log.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let _ = out.write_all(&buffer[..n]);
                last[0] = buffer[n - 1];
                any = true;
            }
        }
    }
    if any && last[0] != b'\n' {
        let _ = out.write_all(b"\n");
    }
    if settings.github {
        let _ = writeln!(out, "::endgroup::");
    } else {
        let _ = writeln!(out, "--- end of {name} ---");
    }
    let _ = out.flush();
}

/// `sift run` with Ctrl-C: the conventional exit code.
pub fn signal_received() -> bool {
    SIGNAL.load(Ordering::SeqCst) != 0
}

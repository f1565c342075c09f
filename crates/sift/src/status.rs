//! `sift run`'s live status area on a terminal: the running tasks with
//! their elapsed time, the done/failed/left counts and a progress bar,
//! redrawn in place on stderr (indicatif) while task output is printed
//! above it.
//!
//! Only on a terminal, and never in CI, with `TERM=dumb` or with `NO_COLOR`
//! set: everywhere else `sift run` prints plain lines without a single
//! control code, so logs stay readable.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Running tasks shown one per line; more are counted in the summary.
const SHOWN: usize = 8;

/// How often elapsed times and the spinner move.
const TICK: Duration = Duration::from_millis(100);

/// Whether the live area may be drawn: stderr is a terminal, and neither CI
/// nor `NO_COLOR` nor a dumb terminal says otherwise.
pub fn wanted() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal()
        && !set("CI")
        && !set("NO_COLOR")
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// The live area, or nothing (then every call is free).
pub struct Status {
    multi: MultiProgress,
    summary: ProgressBar,
    /// Task index → its line, for the running tasks on display.
    lines: BTreeMap<usize, ProgressBar>,
    /// Task index → name and start, for every running task.
    running: BTreeMap<usize, (String, Instant)>,
    width: usize,
    failed: usize,
    skipped: usize,
    last_tick: Instant,
}

impl Status {
    /// A live area for a run of `total` tasks whose longest name is
    /// `width` characters; `None` when it is not [`wanted`].
    pub fn new(total: usize, width: usize) -> Option<Status> {
        if !wanted() {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let summary = multi.add(ProgressBar::new(total as u64));
        summary.set_style(
            ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        let status = Status {
            multi,
            summary,
            lines: BTreeMap::new(),
            running: BTreeMap::new(),
            width: width.min(60),
            failed: 0,
            skipped: 0,
            last_tick: Instant::now(),
        };
        status.refresh();
        Some(status)
    }

    fn line_style(&self) -> ProgressStyle {
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{prefix:{}}} {{elapsed:>4}}",
            self.width
        ))
        .expect("a valid template")
    }

    fn refresh(&self) {
        let total = self.summary.length().unwrap_or(0) as usize;
        let done = self.summary.position() as usize;
        let left = total.saturating_sub(done + self.running.len() + self.skipped);
        let mut msg = format!(
            "done · {} running · {} failed · {} left",
            self.running.len(),
            self.failed,
            left
        );
        if self.skipped > 0 {
            msg.push_str(&format!(" · {} skipped", self.skipped));
        }
        self.summary.set_message(msg);
    }

    /// Gives free display lines to running tasks that have none.
    fn fill(&mut self) {
        while self.lines.len() < SHOWN {
            let Some((&task, (name, started))) = self
                .running
                .iter()
                .find(|(task, _)| !self.lines.contains_key(task))
            else {
                break;
            };
            let line = ProgressBar::new_spinner()
                .with_style(self.line_style())
                .with_prefix(name.clone())
                .with_elapsed(started.elapsed());
            let line = self.multi.insert_before(&self.summary, line);
            line.tick();
            self.lines.insert(task, line);
        }
    }

    pub fn started(&mut self, task: usize, name: &str) {
        self.running.insert(task, (name.to_owned(), Instant::now()));
        self.fill();
        self.refresh();
    }

    /// A started task ended (`failed`: failed or timed out).
    pub fn ended(&mut self, task: usize, failed: bool) {
        self.running.remove(&task);
        if let Some(line) = self.lines.remove(&task) {
            line.finish_and_clear();
            self.multi.remove(&line);
        }
        if failed {
            self.failed += 1;
        }
        self.summary.inc(1);
        self.fill();
        self.refresh();
    }

    /// A task with nothing to run counts as done at once.
    pub fn done_without_running(&mut self) {
        self.summary.inc(1);
        self.refresh();
    }

    pub fn skipped(&mut self, count: usize) {
        if count > 0 {
            self.skipped += count;
            self.refresh();
        }
    }

    /// Moves the spinners and elapsed times, at most every [`TICK`].
    pub fn tick(&mut self) {
        if self.last_tick.elapsed() < TICK {
            return;
        }
        self.last_tick = Instant::now();
        for line in self.lines.values() {
            line.tick();
        }
        self.summary.tick();
    }

    /// Prints above the area: hides it, runs `print`, draws it again.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        self.multi.suspend(print)
    }

    /// Removes the area before the summary table is printed.
    pub fn finish(self) {
        for line in self.lines.values() {
            line.finish_and_clear();
        }
        self.summary.finish_and_clear();
        let _ = self.multi.clear();
    }
}

